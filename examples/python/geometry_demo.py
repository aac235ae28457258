#!/usr/bin/env python3
"""Representation geometry and audits on the bundled MiniLM activations.

Three views of the 7 hidden layers of all-MiniLM-L6-v2 at the target word of 2,400 WordNet example
sentences (examples/data/minilm_wordnet.h5):

1. the linear CKA matrix across the 7 layers (Kornblith et al. 2019): how similar the representations
   are, layer by layer (a heatmap goes to out_dir/geometry_cka.png when matplotlib is installed);
2. kernel alignment per layer (the Tanh/ReLU representational-geometry measure): CKA of the layer with
   the model's inputs and with the one-hot POS labels. The file has no separate input embeddings:
   /target/layer_0 *is* the embedding output (token + position + segment embeddings after LayerNorm)
   at the target word, so it stands for the word's input; /sentence/layer_0 (the embedding output
   averaged over the sentence) stands for the context's input;
3. AQI (Borah et al. 2025) separation of two label groups per layer -- nouns vs verbs -- for the
   variants (a) DBS + Dunn and (b) silhouette + Xie-Beni, with the AQI of the layers pooled uniformly
   and with weights learned to separate the groups;
4. FLARE poisoned-sample detection (Hou et al. 2025) on a real backdoor, examples/python/flare_digits.py:
   a small numpy BatchNorm MLP trained on scikit-learn's digits with 5 % / 10 % of the images carrying a
   patch or blended trigger, both FLARE variants (flare_detect, the released code; flare_detect_split, the
   paper's text), precision and recall against the known poisoned set. On this demo neither finds the
   poison; flare_digits.py's docstring has the diagnosis. Needs scikit-learn (skipped without it).

    PYTHONPATH=bindings/python python3 examples/python/geometry_demo.py [h5_path] [out_dir]
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from lamina import audit, geometry, io

REPO = Path(__file__).resolve().parents[2]
DEFAULT_H5 = REPO / "examples" / "data" / "minilm_wordnet.h5"
N_LAYERS = 7


def run(h5_path=DEFAULT_H5, out_dir=None):
    """Runs the geometry demo; returns a dict of its figures (and writes geometry_cka.png to out_dir when
    matplotlib is available)."""
    h5_path = str(h5_path)
    t0 = time.perf_counter()
    layers = [io.read_activations(h5_path, f"/target/layer_{i}") for i in range(N_LAYERS)]
    pos = io.read_labels(h5_path, "/labels/pos")            # 0 noun, 1 verb, 2 adj, 3 adv
    sentence_input = io.read_activations(h5_path, "/sentence/layer_0")
    n, d = layers[0].shape
    print(f"{N_LAYERS} layers x {n} target words x {d} dims (layer 0 = embedding output), read in "
          f"{time.perf_counter() - t0:.2f} s")

    # 1. CKA matrix: each layer centred once, d x d cross-products, no n x n Gram matrix.
    t = time.perf_counter()
    cka = geometry.cka_matrix(layers)
    t_cka = time.perf_counter() - t
    print(f"\nLinear CKA between layers ({t_cka:.2f} s; 1 = same geometry up to rotation and scale)")
    print("layer " + " ".join(f"{j:>6d}" for j in range(N_LAYERS)))
    for i in range(N_LAYERS):
        print(f"{i:>5d} " + " ".join(f"{cka[i, j]:6.3f}" for j in range(N_LAYERS)))
    neighbours = [cka[i, i + 1] for i in range(N_LAYERS - 1)]
    print(f"adjacent layers: CKA {min(neighbours):.3f} to {max(neighbours):.3f}; "
          f"first vs last: {cka[0, -1]:.3f} (debiased, unbiased HSIC: "
          f"{geometry.linear_cka(layers[0], layers[-1], debiased=True):.3f})")

    # 2. Kernel alignment: [CKA(H_l, X), CKA(H_l, one-hot(y))] per layer, in one call per input.
    t = time.perf_counter()
    word = geometry.kernel_alignment(layers, layers[0], pos)
    context = geometry.kernel_alignment(layers, sentence_input, pos)
    t_align = time.perf_counter() - t
    print(f"\nKernel alignment per layer ({t_align:.2f} s): CKA with the inputs and with the POS labels (one-hot)")
    print("  inputs: word = /target/layer_0 (embedding output at the target word, so layer 0 scores 1),")
    print("          context = /sentence/layer_0 (embedding output averaged over the sentence)")
    print(f"{'layer':>5s} {'CKA(H, word)':>13s} {'CKA(H, context)':>16s} {'CKA(H, POS)':>12s}")
    for i in range(N_LAYERS):
        print(f"{i:>5d} {word[i, 0]:13.3f} {context[i, 0]:16.3f} {word[i, 1]:12.3f}")
    best_pos = int(np.argmax(word[:, 1]))
    print(f"the word's input fades with depth ({word[1, 0]:.3f} at layer 1, {word[-1, 0]:.3f} at layer 6); "
          f"POS alignment peaks at layer {best_pos} ({word[best_pos, 1]:.3f})")

    # 3. AQI: how well nouns and verbs separate, per layer and pooled over the layers.
    keep = pos <= 1
    groups = [layer[keep] for layer in layers]
    y2 = pos[keep]                                              # 0 noun, 1 verb
    t = time.perf_counter()
    a_uniform = audit.aqi_layers(groups, y2, variant="dbs_dunn", pooling="uniform")
    b_uniform = audit.aqi_layers(groups, y2, variant="silhouette_xb", pooling="uniform")
    a_learned = audit.aqi_layers(groups, y2, variant="dbs_dunn", pooling="learned")
    b_learned = audit.aqi_layers(groups, y2, variant="silhouette_xb", pooling="learned")
    t_aqi = time.perf_counter() - t
    cols = {c: k for k, c in enumerate(audit.COLUMNS)}
    print(f"\nAQI: nouns vs verbs ({int(keep.sum())} words), gamma = 0.5, higher = better separated ({t_aqi:.2f} s)")
    print("  (a) AQI = gamma/(1 + DBS) + (1 - gamma) DI/(1 + DI)      DBS Davies-Bouldin, DI Dunn")
    print("  (b) AQI = gamma (S + 1)/2 + (1 - gamma)/(1 + XB)         S silhouette, XB Xie-Beni")
    print(f"{'layer':>7s} {'DBS':>7s} {'Dunn':>7s} {'AQI (a)':>8s} {'silh.':>7s} {'XB':>7s} {'AQI (b)':>8s}")

    def row(name, ta, tb, k):
        print(f"{name:>7s} {ta[k, cols['dbs']]:7.3f} {ta[k, cols['dunn']]:7.3f} {ta[k, cols['aqi']]:8.4f} "
              f"{tb[k, cols['silhouette']]:7.3f} {tb[k, cols['xie_beni']]:7.3f} {tb[k, cols['aqi']]:8.4f}")

    for i in range(N_LAYERS):
        row(str(i), a_uniform["table"], b_uniform["table"], i)
    row("uniform", a_uniform["table"], b_uniform["table"], N_LAYERS)
    row("learned", a_learned["table"], b_learned["table"], N_LAYERS)
    best_a = int(np.argmax(a_uniform["table"][:N_LAYERS, cols["aqi"]]))
    best_b = int(np.argmax(b_uniform["table"][:N_LAYERS, cols["aqi"]]))
    print(f"best single layer: {best_a} by (a), {best_b} by (b); pooled AQI, uniform over layers 0-6: "
          f"(a) {a_uniform['pooled']:.4f}, (b) {b_uniform['pooled']:.4f}")
    w = ", ".join(f"layer {i}: {v:.2f}" for i, v in enumerate(a_learned["weights"]) if v > 5e-3)
    print(f"learned pooling (weights on the simplex maximising the groups' Calinski-Harabasz ratio, the same for "
          f"both variants): {w}; pooled AQI (a) {a_learned['pooled']:.4f}, (b) {b_learned['pooled']:.4f}")
    if a_uniform["table"][0, cols["dunn"]] == 0.0:
        print("Dunn = 0 at layer 0: a noun and a verb with the same word form at the same position (\"the face of "
              "the leaf\" / \"the two sofas face each other\") have identical embedding outputs; context separates "
              "them from layer 1 on")

    flare = flare_step()

    result = {"cka": cka, "alignment_word": word, "alignment_context": context,
              "aqi_a": a_uniform, "aqi_b": b_uniform, "aqi_a_learned": a_learned, "aqi_b_learned": b_learned,
              "flare": flare, "seconds": {"cka": t_cka, "alignment": t_align, "aqi": t_aqi}}
    if out_dir is not None:
        path = plot(cka, Path(out_dir) / "geometry_cka.png")
        if path is not None:
            result["plot"] = str(path)
    return result


def flare_step():
    """FLARE on the backdoored digits (4 trainings of a numpy MLP, ~10-15 s); returns its rows, or None
    without scikit-learn (the digits and the diagnostics come from it)."""
    try:
        import sklearn  # noqa: F401
    except ImportError:
        print("\n(scikit-learn is not installed: no FLARE example)")
        return None
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    try:
        import flare_digits
    finally:
        sys.path.pop(0)
    print("\nFLARE poisoned-sample detection: numpy BatchNorm MLP (8 x 64) on scikit-learn's digits, a fraction of\n"
          "the images carrying a trigger and relabelled 0; precision / recall of the flagged set against the known\n"
          "poisoned set, for flare_detect (released code) and flare_detect_split (| split: the paper's text)")
    rows = flare_digits.table()
    best = max(max(r["precision"], r["split_precision"]) for r in rows)
    if best < 0.5:
        print(f"neither variant finds the poison here (best precision {best:.3f}): the poisoned images form a spread\n"
              "tail of the per-layer features, not a dense cluster of their own (examples/python/flare_digits.py explains)")
    return rows


def plot(cka, out: Path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(matplotlib is not installed: no heatmap)")
        return None
    fig, ax = plt.subplots(figsize=(5.6, 4.8))
    im = ax.imshow(cka, vmin=0.0, vmax=1.0, cmap="viridis")
    for i in range(cka.shape[0]):
        for j in range(cka.shape[1]):
            ax.text(j, i, f"{cka[i, j]:.2f}", ha="center", va="center", fontsize=8,
                    color="black" if cka[i, j] > 0.6 else "white")
    ax.set_xticks(range(cka.shape[1]))
    ax.set_yticks(range(cka.shape[0]))
    ax.set_xlabel("layer (0 = embeddings)")
    ax.set_ylabel("layer (0 = embeddings)")
    ax.set_title("Linear CKA between layers, all-MiniLM-L6-v2")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    print(f"heatmap saved to {out}")
    return out


if __name__ == "__main__":
    run(sys.argv[1] if len(sys.argv) > 1 else DEFAULT_H5, sys.argv[2] if len(sys.argv) > 2 else None)
