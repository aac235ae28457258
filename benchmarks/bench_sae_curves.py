#!/usr/bin/env python3
"""Held-out FVU against training tokens: Lamina's SAEs and the PyTorch references, per architecture.

For each data set and architecture, Lamina (lamina.sae.SparseAutoencoder, the documented Python API)
and the torch reference of benchmarks/sae_reference.py train with the same hyperparameters from the
same start: the reference takes the fresh initial weights of the Lamina model (``weights=``) and
Lamina's row order of every epoch (``order="lamina"``), so the curves differ only by the two
implementations' arithmetic. At each checkpoint (default after 33, 99, 330 and 990 steps) both are
evaluated on held-out rows with the same float64 code (sae_reference.evaluate_arrays): FVU and L0.
Lamina is stopped at a checkpoint by its progress callback and resumed with fit(resume=True), which
continues bit-identically. Target: Lamina's held-out FVU <= 1.02 x the reference's at every point, with
the same L0.

``--inits`` compares initialisations (each side with each init, e.g. ``--inits sparsify,tied``);
``--independent`` adds a reference curve from its own torch initialisation and torch.randperm order
(another seed and order: the run-to-run spread).

Data sets: "bundled" = examples/data/minilm_python.h5 /code/layer_3 (4,199 token activations of
MiniLM layer 3 on Python source; first 3,600 rows train, the rest held out), "tokens" =
out/minilm_wordnet_tokens.h5 /activations from benchmarks/make_sae_data.py (150,000 WordNet-sentence
tokens, layer 3; 90% train, 10% held out). ReLU and JumpReLU data are scaled so that the mean row norm
of the training rows is sqrt(d_in) (Anthropic's normalisation), the same for both sides.

    PYTHONPATH=bindings/python python3 benchmarks/bench_sae_curves.py                 # all, ~10-20 min
    PYTHONPATH=bindings/python python3 benchmarks/bench_sae_curves.py --archs topk --inits sparsify,tied
    PYTHONPATH=bindings/python python3 benchmarks/bench_sae_curves.py --quick         # smoke run

Writes a markdown table (--out .md) and a PNG of the curves (--out .png, matplotlib).
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

ARCHS = ("topk", "batchtopk", "relu", "jumprelu")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sets", default="bundled,tokens", help="data sets: bundled,tokens (default both)")
    p.add_argument("--archs", default=",".join(ARCHS), help="architectures (default all four)")
    p.add_argument("--steps", default="33,99,330,990", help="checkpoints in training steps (default 33,99,330,990)")
    p.add_argument("--inits", default="auto", help="initialisations to run, each on both sides: auto,sparsify,tied")
    p.add_argument("--independent", action="store_true",
                   help="also train the reference from its own torch init and torch.randperm order")
    p.add_argument("--data", type=Path, default=REPO / "out" / "minilm_wordnet_tokens.h5",
                   help="token activations of make_sae_data.py for the 'tokens' set")
    p.add_argument("--threads", type=int, default=2, help="threads for both sides (default 2)")
    p.add_argument("--quick", action="store_true", help="smoke run: checkpoints 5,15 and 20,000 token rows")
    p.add_argument("--out", type=Path, default=REPO / "out" / "sae_curves",
                   help="output prefix: <out>.md, <out>.png, <out>.json (default out/sae_curves)")
    p.add_argument("--target", type=float, default=1.02, help="FVU ratio target Lamina / reference (default 1.02)")
    p.add_argument("--merge", default=None, metavar="A.json,B.json",
                   help="train nothing: write <out>.md/.png/.json from the runs of earlier --out JSON files")
    args = p.parse_args(argv)
    args.sets = [s for s in args.sets.split(",") if s]
    args.archs = [a for a in args.archs.split(",") if a]
    args.inits = [i for i in args.inits.split(",") if i]
    args.steps = sorted({int(s) for s in args.steps.split(",")})
    if args.quick:
        args.steps = [5, 15]
    for a in args.archs:
        if a not in ARCHS:
            p.error(f"unknown architecture {a!r}; expected some of {ARCHS}")
    for i in args.inits:
        if i not in ("auto", "sparsify", "tied"):
            p.error(f"unknown init {i!r}; expected auto, sparsify or tied")
    return args


ARGS = parse_args()
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)

import numpy as np  # noqa: E402
import torch  # noqa: E402

import sae_reference as R  # noqa: E402

torch.set_num_threads(ARGS.threads)
try:
    import lamina  # noqa: E402
except ImportError:
    sys.path.insert(0, str(REPO / "bindings" / "python"))
    import lamina  # noqa: E402
import lamina.sae  # noqa: E402,F401
from lamina.errors import CancelledError  # noqa: E402

lamina.set_num_threads(ARGS.threads)

# Per set: SAE shape and batch (the token-level setting: n = 8 d, k = 32, batch 512).
SETS = {
    "bundled": dict(label="bundled minilm_python.h5 /code/layer_3", n_mult=4, k=16, batch=128),
    "tokens": dict(label="150k tokens (make_sae_data.py), layer 3", n_mult=8, k=32, batch=512),
}
# Sparsity coefficients for the penalty architectures (data scaled to mean row norm sqrt(d_in)).
PENALTY = {"relu": dict(l1_coefficient=5.0), "jumprelu": dict(l1_coefficient=5.0)}


def load_set(name):
    import h5py
    if name == "bundled":
        with h5py.File(REPO / "examples" / "data" / "minilm_python.h5", "r") as f:
            X = np.asarray(f["/code/layer_3"][...], dtype=np.float32)
        return X[:3600], X[3600:]
    if not ARGS.data.exists():
        return None
    with h5py.File(ARGS.data, "r") as f:
        X = np.asarray(f["/activations"][...], dtype=np.float32)
    if ARGS.quick:
        X = X[:20_000]
    cut = int(0.9 * X.shape[0])
    return X[:cut], X[cut:]


def lamina_eval(sae, X):
    X_hat = sae.reconstruct(X)
    nz, fired = [], np.zeros(sae.n_latents, dtype=bool)
    for s in range(0, X.shape[0], 4096):
        z = sae.encode(X[s:s + 4096])
        nz.append((z != 0).sum(1))
        fired |= (z != 0).any(0)
    return R.evaluate_arrays(X, X_hat, np.concatenate(nz), fired)


def lamina_curve(arch, init, Xtr, Xte, cfg, extra):
    """Trains Lamina to each checkpoint (callback stop + resume); returns (points, initial weights, sec)."""
    d = Xtr.shape[1]
    sae = lamina.sae.SparseAutoencoder(d, cfg["n"], architecture=arch, k=cfg["k"], batch_size=cfg["batch"],
                                       random_state=0, init=init, **extra).initialize()
    W_enc0 = np.ascontiguousarray(sae.W_enc_.T)
    W_dec0 = sae.W_dec_.copy()
    steps_per_epoch = Xtr.shape[0] // cfg["batch"]
    epochs = -(-ARGS.steps[-1] // steps_per_epoch)
    points, seconds = [], 0.0
    for target in ARGS.steps:
        t0 = time.perf_counter()
        try:
            sae.fit(Xtr, epochs=epochs, resume=True,
                    callback=lambda info, target=target: info["step"] >= target or None)
        except CancelledError:
            pass
        seconds += time.perf_counter() - t0
        assert sae.n_steps_ == target, (sae.n_steps_, target)
        points.append(dict(step=target, **lamina_eval(sae, Xte)))
    return points, (W_enc0, W_dec0), seconds


def reference_model(arch, d, cfg, extra, init, weights):
    n, k = cfg["n"], cfg["k"]
    kw = dict(seed=0, weights=weights)
    if init in ("sparsify", "tied"):
        kw["init"] = init
    if arch == "topk":
        return R.TopKSparse(d, n, k, **kw)
    if arch == "batchtopk":
        return R.BatchTopK(d, n, k, **kw)
    if arch == "relu":
        return R.ReluL1(d, n, l1_coefficient=extra["l1_coefficient"], **kw)
    return R.JumpReLU(d, n, l0_coefficient=extra["l1_coefficient"], **kw)


def reference_curve(arch, Xtr, Xte, cfg, extra, init, weights, order):
    d = Xtr.shape[1]
    model = reference_model(arch, d, cfg, extra, init, weights)
    points = []
    marks = set(ARGS.steps)

    def at(step, parts):
        if step in marks:
            model.eval()
            points.append(dict(step=step, **R.evaluate(model, Xte)))
            model.train()

    steps_per_epoch = Xtr.shape[0] // cfg["batch"]
    epochs = -(-ARGS.steps[-1] // steps_per_epoch)
    t0 = time.perf_counter()
    res = R.train(model, Xtr, batch_size=cfg["batch"], epochs=epochs, max_steps=ARGS.steps[-1], seed=0,
                  order=order, callback=at)
    seconds = time.perf_counter() - t0 - 0.0
    assert res.steps == ARGS.steps[-1]
    return points, seconds


def resolved(arch, init):
    if init != "auto":
        return init
    return "sparsify" if arch in ("topk", "batchtopk") else "tied"


def merge():
    parts = [json.loads(Path(f).read_text()) for f in ARGS.merge.split(",") if f]
    out = dict(parts[0], runs=[r for p in parts for r in p["runs"]],
               loadavg_start=parts[0]["loadavg_start"], loadavg_end=parts[-1]["loadavg_end"],
               date=", ".join(p["date"] for p in parts))
    write_outputs(out)
    return 0


def main():
    if ARGS.merge:
        return merge()
    out = dict(date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
               loadavg_start=os.getloadavg(), torch=torch.__version__, lamina=lamina.__version__,
               threads=ARGS.threads, steps=ARGS.steps, runs=[])
    print(f"{out['date']}  load average {out['loadavg_start']}  torch {torch.__version__}  lamina {lamina.__version__}"
          f"  threads {ARGS.threads}  checkpoints {ARGS.steps}")
    for set_name in ARGS.sets:
        data = load_set(set_name)
        if data is None:
            print(f"\n(no {ARGS.data}: run benchmarks/make_sae_data.py for the 'tokens' set)")
            continue
        Xtr0, Xte0 = data
        spec = SETS[set_name]
        d = Xtr0.shape[1]
        cfg = dict(n=spec["n_mult"] * d, k=spec["k"], batch=spec["batch"])
        for arch in ARGS.archs:
            extra = dict(PENALTY.get(arch, {}))
            Xtr, Xte = Xtr0, Xte0
            if arch in ("relu", "jumprelu"):
                scale = np.sqrt(d) / np.linalg.norm(Xtr0, axis=1).mean()
                Xtr, Xte = (Xtr0 * scale).astype(np.float32), (Xte0 * scale).astype(np.float32)
            for init in ARGS.inits:
                init_name = resolved(arch, init)
                print(f"\n== {spec['label']}: {arch}, init {init} ({init_name}); train {Xtr.shape[0]} / held-out "
                      f"{Xte.shape[0]} x {d}; n_latents {cfg['n']}, k {cfg['k']}, batch {cfg['batch']}, "
                      f"lr {R.default_lr(cfg['n']):.3g} {extra or ''}", flush=True)
                lam, weights, lam_s = lamina_curve(arch, init, Xtr, Xte, cfg, extra)
                ref, ref_s = reference_curve(arch, Xtr, Xte, cfg, extra, init_name, weights, order="lamina")
                run = dict(set=set_name, label=spec["label"], arch=arch, init=init, init_resolved=init_name,
                           config=dict(cfg, **extra), lamina=lam, reference=ref, lamina_seconds=lam_s,
                           reference_seconds=ref_s, loadavg=os.getloadavg())
                if ARGS.independent:
                    run["independent"], _ = reference_curve(arch, Xtr, Xte, cfg, extra, init_name, None, order="torch")
                print("   step   tokens   ref FVU  ref L0   Lamina FVU  Lamina L0   ratio"
                      + ("   ref (own init/order) FVU" if ARGS.independent else ""))
                for i, (a, b) in enumerate(zip(ref, lam)):
                    ratio = b["fvu"] / a["fvu"]
                    line = (f"  {a['step']:5d} {a['step'] * cfg['batch']:8d}   {a['fvu']:.4f} {a['l0']:7.1f}   "
                            f"{b['fvu']:10.4f} {b['l0']:10.1f}   {ratio:.3f}")
                    if ARGS.independent:
                        line += f"   {run['independent'][i]['fvu']:.4f}"
                    print(line, flush=True)
                run["worst_ratio"] = max(b["fvu"] / a["fvu"] for a, b in zip(ref, lam))
                print(f"  worst ratio {run['worst_ratio']:.3f} (target <= {ARGS.target})"
                      f" {'PASS' if run['worst_ratio'] <= ARGS.target else 'FAIL'};  seconds: Lamina {lam_s:.1f},"
                      f" reference {ref_s:.1f};  load average {os.getloadavg()[0]:.1f}")
                out["runs"].append(run)
    out["loadavg_end"] = os.getloadavg()
    write_outputs(out)
    return 0


def write_outputs(out):
    ARGS.out.parent.mkdir(parents=True, exist_ok=True)
    Path(str(ARGS.out) + ".json").write_text(json.dumps(out, indent=1, default=float))
    lines = [f"Held-out FVU (L0) against training steps; {out['date']}, load average "
             f"{out['loadavg_start'][0]:.1f} -> {out['loadavg_end'][0]:.1f}, {out['threads']} threads.", ""]
    for run in out["runs"]:
        c = run["config"]
        lines.append(f"**{run['label']}, {run['arch']}** (init {run['init']} = {run['init_resolved']}; "
                     f"n_latents {c['n']}, k {c['k']}, batch {c['batch']}"
                     + (f", coefficient {c['l1_coefficient']}" if "l1_coefficient" in c else "") + ")")
        lines.append("")
        head = "| steps | tokens | reference FVU (L0) | Lamina FVU (L0) | ratio |"
        sep = "| --- | --- | --- | --- | --- |"
        if "independent" in run:
            head += " reference, own init and order |"
            sep += " --- |"
        lines += [head, sep]
        for i, (a, b) in enumerate(zip(run["reference"], run["lamina"])):
            row = (f"| {a['step']} | {a['step'] * c['batch']:,} | {a['fvu']:.4f} ({a['l0']:.1f}) | "
                   f"{b['fvu']:.4f} ({b['l0']:.1f}) | {b['fvu'] / a['fvu']:.3f} |")
            if "independent" in run:
                r = run["independent"][i]
                row += f" {r['fvu']:.4f} ({r['l0']:.1f}) |"
            lines.append(row)
        lines.append("")
    Path(str(ARGS.out) + ".md").write_text("\n".join(lines))
    print(f"\nwrote {ARGS.out}.md, {ARGS.out}.json", end="")
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print(" (no matplotlib: no PNG; pip install matplotlib)")
        return
    sets = list(dict.fromkeys(r["set"] for r in out["runs"]))
    archs = list(dict.fromkeys(r["arch"] for r in out["runs"]))
    if not sets:
        print()
        return
    fig, axes = plt.subplots(len(sets), len(archs), figsize=(4 * len(archs), 3.4 * len(sets)), squeeze=False)
    for run in out["runs"]:
        ax = axes[sets.index(run["set"])][archs.index(run["arch"])]
        B = run["config"]["batch"]
        inits = {r["init_resolved"] for r in out["runs"] if r["set"] == run["set"] and r["arch"] == run["arch"]}
        tag = "" if len(inits) == 1 else f" ({run['init_resolved']})"
        x = [p["step"] * B for p in run["reference"]]
        line, = ax.plot(x, [p["fvu"] for p in run["reference"]], "o--", label=f"torch reference{tag}")
        ax.plot(x, [p["fvu"] for p in run["lamina"]], "x-", color=line.get_color(), label=f"Lamina{tag}")
        if "independent" in run:
            ax.plot(x, [p["fvu"] for p in run["independent"]], ":", color=line.get_color(),
                    label=f"reference, own init/order{tag}")
        ax.set_xscale("log")
        ax.set_title(f"{run['set']}: {run['arch']}", fontsize=10)
        ax.set_xlabel("training tokens")
        ax.set_ylabel("held-out FVU")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(str(ARGS.out) + ".png", dpi=110)
    print(f", {ARGS.out}.png")


if __name__ == "__main__":
    sys.exit(main())
