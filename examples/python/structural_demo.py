#!/usr/bin/env python3
"""Structural probes per layer on real code: which layer of MiniLM encodes the syntax tree of Python?

For each hidden layer of all-MiniLM-L6-v2 on 180 real standard-library functions
(examples/data/minilm_python.h5: token activations, gold `ast` trees), trains a distance probe
||B (h_i - h_j)||^2 and a depth probe ||B h_i||^2 (Hewitt & Manning 2019) on 144 functions and
evaluates on the other 36 with the reference's metrics: UUAS (minimum spanning trees of predicted
vs gold distances), the Spearman 5-50 mean of distances and of depths. The |i - j| line is the
sequential baseline (each token linked to its neighbours). Prints a table and, when matplotlib is
installed, writes structural_probe_layers.png to out_dir.

    PYTHONPATH=bindings/python python3 examples/python/structural_demo.py [examples/data/minilm_python.h5] [out_dir]
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

try:
    import lamina
except ImportError:  # running from a checkout without the binding installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bindings" / "python"))
    import lamina
from lamina import io
from lamina import structural as S

import h5py

RANK = 64          # probe rank
EPOCHS = 40        # the reference's configs
N_TRAIN = 144      # functions 0..143 train, the rest test


def load(h5_path):
    with h5py.File(h5_path, "r") as f:   # h5py only lists the layers; lamina.io reads the numbers
        layers = sorted((k for k in f["code"].keys() if k.startswith("layer_")), key=lambda k: int(k.split("_")[1]))
    off = io.read_labels(h5_path, "/code/offsets").astype(np.int64)
    acts = {name: io.read_activations(h5_path, f"/code/{name}") for name in layers}
    dist = io.read_activations(h5_path, "/code/distances")
    dep = io.read_activations(h5_path, "/code/depths")
    return off, acts, S.split_values(dist, off, "distance"), S.split_values(dep, off, "depth")


def run(h5_path="examples/data/minilm_python.h5", out_dir="."):
    """Trains a distance and a depth probe per layer; prints and plots UUAS / Spearman per layer.
    Returns {"layers": [...], "uuas": [...], "spearman": [...], "depth_spearman": [...],
    "baseline": {"uuas": u, "spearman": s}}."""
    t0 = time.perf_counter()
    off, acts, Ds, deps = load(h5_path)
    lengths = np.diff(off)
    n = len(lengths)
    tr, te = slice(0, N_TRAIN), slice(N_TRAIN, n)
    seq = [np.abs(np.arange(L)[:, None] - np.arange(L)[None, :]).astype(np.float32) for L in lengths[te]]
    base_u, base_s = S.uuas(seq, Ds[te]), S.spearman_5_50(seq, Ds[te])
    print(f"Structural probes (Hewitt & Manning 2019) on {n} Python functions ({int(off[-1])} tokens), "
          f"rank {RANK}, {EPOCHS} epochs; train {N_TRAIN}, test {n - N_TRAIN}")
    print(f"{'layer':<8} {'UUAS':>6} {'Spearman':>9} {'depth Spearman':>15}")
    result = {"layers": [], "uuas": [], "spearman": [], "depth_spearman": [],
              "baseline": {"uuas": base_u, "spearman": base_s}}
    for name, x in acts.items():
        xs = [x[off[k]:off[k + 1]] for k in range(n)]
        dp = S.StructuralProbe("distance", rank=RANK, epochs=EPOCHS, random_state=0).fit(xs[tr], targets=Ds[tr])
        pred = dp.predict(xs[te])
        u, s = S.uuas(pred, Ds[te]), S.spearman_5_50(pred, Ds[te])
        hp = S.StructuralProbe("depth", rank=RANK, epochs=EPOCHS, random_state=0).fit(xs[tr], targets=deps[tr])
        ds = hp.score(xs[te], targets=deps[te])
        result["layers"].append(name)
        result["uuas"].append(u)
        result["spearman"].append(s)
        result["depth_spearman"].append(ds)
        print(f"{name:<8} {u:>6.3f} {s:>9.3f} {ds:>15.3f}")
    print(f"{'|i - j|':<8} {base_u:>6.3f} {base_s:>9.3f} {'':>15}   (sequential baseline)")
    best = int(np.argmax(result["uuas"]))
    print(f"best layer by UUAS: {result['layers'][best]} ({result['uuas'][best]:.3f}); "
          f"{time.perf_counter() - t0:.1f} s in total")
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(matplotlib not installed: no plot)")
        return result
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    xs_ = np.arange(len(result["layers"]))
    fig, ax = plt.subplots(figsize=(6, 3.6))
    ax.plot(xs_, result["uuas"], "o-", label="UUAS (distance probe)")
    ax.plot(xs_, result["spearman"], "s-", label="Spearman 5-50 (distance)")
    ax.plot(xs_, result["depth_spearman"], "^-", label="Spearman 5-50 (depth)")
    ax.axhline(base_u, color="gray", ls=":", label="UUAS of |i - j|")
    ax.set_xticks(xs_)
    ax.set_xticklabels([s.replace("layer_", "") for s in result["layers"]])
    ax.set_xlabel("MiniLM layer")
    ax.set_ylim(0, 1.2)
    ax.set_title("Structural probes on Python ASTs (180 stdlib functions)")
    ax.legend(fontsize=7, loc="upper center", ncol=2)
    fig.tight_layout()
    path = out / "structural_probe_layers.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    print(f"plot: {path}")
    result["plot"] = str(path)
    return result


if __name__ == "__main__":
    run(*(sys.argv[1:3]))
