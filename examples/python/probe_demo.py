#!/usr/bin/env python3
"""Linear probing on the bundled MiniLM activations: which layer encodes part of speech?

For each of the 7 hidden layers of all-MiniLM-L6-v2 (at the target word of 2,400 WordNet example
sentences): 5-fold cross-validated accuracy of a logistic probe for the POS of the word, the same for
Hewitt & Liang control labels (one random label per word type), selectivity = task - control, and the
online MDL codelength of the POS labels (Voita & Titov) with its compression over the uniform code.
Saves a plot if matplotlib is installed.

    PYTHONPATH=bindings/python python3 examples/python/probe_demo.py [h5_path] [out_dir]
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

import lamina
from lamina import probe as P

REPO = Path(__file__).resolve().parents[2]
DEFAULT_H5 = REPO / "examples" / "data" / "minilm_wordnet.h5"


def _words(h5_path):
    """Word types of the samples: /text/target_word when h5py is available, else the lemma-free
    fallback of one type per sample (control labels are then token-level)."""
    try:
        import h5py
        with h5py.File(h5_path, "r") as f:
            return np.array([w.decode() if isinstance(w, bytes) else str(w) for w in f["text/target_word"][:]])
    except Exception:  # noqa: BLE001
        return None


def run(h5_path=DEFAULT_H5, out_dir=None, n_splits=5, seed=0):
    """Runs the probing demo; returns a dict of per-layer figures (and writes probe_layers.png to
    out_dir when matplotlib is available)."""
    h5_path = str(h5_path)
    y = lamina.io.read_labels(h5_path, "/labels/pos")
    datasets = [f"/target/layer_{i}" for i in range(7)]
    words = _words(h5_path)
    if words is None:
        words = np.arange(len(y))
    t = time.perf_counter()
    sweep = P.layer_sweep(h5_path, y, datasets=datasets, n_splits=n_splits, random_state=seed, control_types=words)
    t_sweep = time.perf_counter() - t
    t = time.perf_counter()
    mdl = [P.mdl_online_codelength(lamina.io.read_activations(h5_path, name), y, random_state=seed) for name in datasets]
    t_mdl = time.perf_counter() - t
    print(f"POS probe on {len(y)} words ({len(np.unique(words))} word types), {n_splits}-fold CV, "
          f"7 layers: sweep + control {t_sweep:.1f} s, MDL {t_mdl:.1f} s")
    print(f"{'layer':>5s} {'accuracy':>14s} {'control':>8s} {'selectivity':>11s} {'MDL (kbit)':>10s} {'compression':>11s}")
    for i in range(7):
        print(f"{i:5d} {sweep.mean[i]:8.4f}+-{sweep.std[i]:.3f} {sweep.control_mean[i]:8.4f} {sweep.selectivity[i]:11.4f} "
              f"{mdl[i].online_bits / 1000:10.2f} {mdl[i].compression:11.2f}")
    result = {
        "accuracy_mean": sweep.mean, "accuracy_std": sweep.std, "control_mean": sweep.control_mean,
        "selectivity": sweep.selectivity, "mdl_bits": np.array([m.online_bits for m in mdl]),
        "compression": np.array([m.compression for m in mdl]), "uniform_bits": mdl[0].uniform_bits,
    }
    if out_dir is not None:
        try:
            import matplotlib
            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            print("matplotlib is not installed: no plot")
            return result
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        layers = np.arange(7)
        fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
        a.errorbar(layers, sweep.mean, yerr=sweep.std, marker="o", label="POS accuracy")
        a.plot(layers, sweep.control_mean, marker="s", label="control task")
        a.plot(layers, sweep.selectivity, marker="^", label="selectivity")
        a.set_xlabel("layer")
        a.set_ylabel("accuracy")
        a.set_title("Linear probe, all-MiniLM-L6-v2")
        a.legend(loc="center right")
        b.plot(layers, result["compression"], marker="o", color="C3")
        b.set_xlabel("layer")
        b.set_ylabel("compression (uniform / online codelength)")
        b.set_title("Online MDL (Voita & Titov 2020)")
        fig.tight_layout()
        path = out / "probe_layers.png"
        fig.savefig(path, dpi=120)
        plt.close(fig)
        print(f"plot: {path}")
        result["plot"] = str(path)
    return result


if __name__ == "__main__":
    run(sys.argv[1] if len(sys.argv) > 1 else DEFAULT_H5, sys.argv[2] if len(sys.argv) > 2 else None)
