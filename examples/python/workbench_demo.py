"""The SAE workbench on the bundled activations (tour step `workbench`): a Matryoshka BatchTopK SAE on
the layer-3 target-word activations, then the held-out evaluation suite (reconstruction, shrinkage,
sparsity, latent density and SAEBench-style k-sparse probing of the part of speech), printed as a table
and written in SAEBench's JSON layout. (The activation store and the dashboard parts of the workbench
come with their own steps.)"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from lamina import io
from lamina.sae import SparseAutoencoder


def run(data: Path, out_dir: Path, seed: int = 0):
    X = io.read_activations(data, "/target/layer_3")
    y = io.read_labels(data, "/labels/pos")
    n, d = X.shape
    perm = np.random.default_rng(seed).permutation(n)
    cut = int(0.8 * n)
    train, held = np.sort(perm[:cut]), np.sort(perm[cut:])
    widths = [d // 4, d, 4 * d]
    print(f"layer 3: {n} x {d}; Matryoshka BatchTopK SAE, n_latents = {4 * d}, k = 16, group widths {widths}; "
          f"{len(train)} train / {len(held)} held-out rows")
    start = time.perf_counter()
    sae = SparseAutoencoder(d, 4 * d, architecture="matryoshka_batchtopk", k=16, group_widths=widths,
                            batch_size=128, random_state=seed).fit(X[train], epochs=40)
    print(f"trained {sae.n_steps_} steps in {time.perf_counter() - start:.1f} s")
    prefix = sae.evaluate(X[held])["prefix_fvu"]
    print("FVU of each nested dictionary: " + ", ".join(f"W_dec[:{m}] {f:.3f}" for m, f in zip(widths, prefix)))
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "workbench_eval.json"
    rep = sae.evaluate_suite(X[held], y[held], random_state=seed, path=path)
    rows = [("fvu", rep["reconstruction"]["fvu"]),
            ("explained_variance (SAEBench)", rep["reconstruction"]["explained_variance"]),
            ("cossim", rep["reconstruction"]["cossim"]),
            ("l2_ratio", rep["shrinkage"]["l2_ratio"]),
            ("relative_reconstruction_bias", rep["shrinkage"]["relative_reconstruction_bias"]),
            ("l0", rep["sparsity"]["l0"]),
            ("dead_fraction", rep["density"]["dead_fraction"]),
            ("dense_fraction (> 0.1)", rep["density"]["dense_fraction"])]
    print(f"\n{'held-out metric':<32}{'value':>10}")
    for name, v in rows:
        print(f"{name:<32}{v:>10.4f}")
    sp = rep["sparse_probing"]
    print(f"\nk-sparse probing of the part of speech (one class vs rest, mean over {len(sp['per_class'])} classes):")
    print(f"{'k':>6}{'SAE latents':>14}{'activations':>14}")
    for k in sp["k_values"]:
        llm = sp[f"llm_top_{k}_test_accuracy"]
        print(f"{k:>6}{sp[f'sae_top_{k}_test_accuracy']:>14.3f}{llm if llm is None else format(llm, '.3f'):>14}")
    sae_all = sp["sae_test_accuracy"]
    print(f"{'all':>6}{'-' if sae_all is None else format(sae_all, '.3f'):>14}{sp['llm_test_accuracy']:>14.3f}")
    hist = rep["density"]["density_histogram"]
    print(f"latent density: {hist['n_dead']} dead; latents per log10-frequency bin from -4 to 0 (width 0.25): "
          f"{hist['counts'][16:]} ({sum(hist['counts'][:16])} below 1e-4)")
    print(f"evaluation written in SAEBench's layout to {path}")
