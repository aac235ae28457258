"""Sparse autoencoder demo: a TopK SAE on MiniLM activations of WordNet example sentences.

Trains lamina.sae.SparseAutoencoder straight from the HDF5 file (streamed; /target/layer_3, the
hidden state at the target word), prints its metrics on held-out rows, shows for a few latents the
sentences that activate them most (target word in [brackets]), saves the SAE in SAELens' format and
plots the loss curve (if matplotlib is installed).

    python examples/python/sae_demo.py [examples/data/minilm_wordnet.h5] [out_dir]
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np

import lamina
from lamina.sae import SparseAutoencoder, load

LAYER = "/target/layer_3"


def _texts(h5_path):
    import h5py
    with h5py.File(h5_path, "r") as f:
        sentences = [s.decode() if isinstance(s, bytes) else str(s) for s in f["/text/sentence"][()]]
        spans = f["/text/char_span"][()]
    marked = []
    for s, (a, b) in zip(sentences, spans):
        marked.append(s[:a] + "[" + s[a:b] + "]" + s[b:] if 0 <= a < b <= len(s) else s)
    return marked


def run(h5_path, out_dir, *, n_latents=768, k=16, epochs=15, show_latents=4, seed=0):
    """Trains the demo SAE, prints metrics and top-activating sentences, writes out_dir/sae (SAELens
    format) and out_dir/sae_loss.png. Returns the metrics dict."""
    h5_path, out_dir = str(h5_path), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    X = lamina.io.read_activations(h5_path, LAYER)
    n, d = X.shape
    held = np.arange(n) % 10 == 0            # every 10th sentence held out
    print(f"SAE on {LAYER} of {os.path.basename(h5_path)}: {n} rows x {d} dims; TopK k={k}, {n_latents} latents")
    sae = SparseAutoencoder(d, n_latents, k=k, batch_size=256, lr=4e-3, random_state=seed,
                            b_dec_init="geometric_median", warmup_steps=20, decay="cosine", dead_tokens=20_000)
    t0 = time.perf_counter()
    sae.set_params(verbose=True).fit(X[~held], epochs=epochs)
    seconds = time.perf_counter() - t0
    m = sae.evaluate(X[held])
    print(f"trained {sae.n_steps_} steps ({sae.n_tokens_} tokens) in {seconds:.1f} s")
    print("held-out metrics: " + ", ".join(f"{key} {m[key]:.4f}" for key in
                                             ("fvu", "explained_variance", "fve", "nmse", "mse", "cosine_similarity", "l0", "dead_fraction")))

    # The latents that fire most often, and the sentences that activate each of them most.
    texts = _texts(h5_path)
    Z = sae.encode(X)
    freq = (Z != 0).mean(0)
    order = np.argsort(-freq)
    picks = [j for j in order if 0.005 < freq[j] < 0.2][:show_latents] or list(order[:show_latents])
    for j in picks:
        top = np.argsort(-Z[:, j])[:4]
        print(f"\nlatent {j} (fires on {100 * freq[j]:.1f}% of sentences):")
        for i in top:
            if Z[i, j] > 0:
                print(f"  {Z[i, j]:6.2f}  {texts[i]}")

    sae.save(out_dir / "sae", format="saelens")
    again = load(out_dir / "sae")
    assert np.allclose(again.reconstruct(X[:8]), sae.reconstruct(X[:8]), atol=1e-4)
    print(f"\nsaved (SAELens format) to {out_dir / 'sae'}")

    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(matplotlib not installed: no loss plot)")
    else:
        h = sae.history_
        fig, ax = plt.subplots(figsize=(6, 3.5))
        ax.plot(h["fvu"], label="fvu (train batch)")
        ax.plot(h["loss"], label="loss", alpha=0.6)
        ax.set_xlabel("step")
        ax.set_yscale("log")
        ax.set_title(f"TopK SAE on MiniLM {LAYER} (k={k}, {n_latents} latents)")
        ax.legend()
        fig.tight_layout()
        fig.savefig(out_dir / "sae_loss.png", dpi=120)
        plt.close(fig)
        print(f"loss curve: {out_dir / 'sae_loss.png'}")
    return m


if __name__ == "__main__":
    repo = Path(__file__).resolve().parents[2]
    h5 = sys.argv[1] if len(sys.argv) > 1 else repo / "examples" / "data" / "minilm_wordnet.h5"
    out = sys.argv[2] if len(sys.argv) > 2 else repo / "out"
    run(h5, out)
