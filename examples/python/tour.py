"""The Lamina tour on real activations (`make demo`).

Data: hidden states of all 7 layers (embeddings + 6 transformer blocks, 384-d) of the sentence
encoder all-MiniLM-L6-v2 on 2,400 WordNet 3.0 example sentences, at the target word of each sentence,
labelled with the word's gold part of speech (examples/data/README.md).

The tour has eight steps (`--steps` picks some; plots go to out/ when matplotlib is installed):
1. clustering: for every layer, how well the gold POS classes separate (silhouette, Davies-Bouldin,
   Calinski-Harabasz, Dunn, GDV) and how well unsupervised k-means (k = 4) recovers them (ARI, NMI);
   out/tour.png.
2. probing: POS accuracy per layer (logistic probe, 5-fold CV) with the control-task selectivity
   (Hewitt & Liang) and the online MDL codelength (Voita & Titov); examples/python/probe_demo.py.
3. structural: Hewitt & Manning distance and depth probes per layer on token activations of real
   Python functions with gold `ast` trees (examples/data/minilm_python.h5), UUAS and Spearman;
   examples/python/structural_demo.py.
4. ast: AST-Probe F1 per layer on the same functions, one decoded tree next to the gold one;
   examples/python/ast_demo.py.
5. sae: a TopK sparse autoencoder on layer 3, its metrics and the sentences that activate a few
   latents most, saved in SAELens' format, loss curve; examples/python/sae_demo.py.
6. geometry: the linear CKA matrix across the 7 layers (heatmap out/geometry_cka.png), CKA of each layer
   with the inputs (the embedding output) and with the POS labels, and the AQI separation of nouns vs
   verbs per layer and pooled over layers, then FLARE poisoned-sample detection on a backdoored digits
   MLP (precision / recall of both variants); examples/python/geometry_demo.py.
7. vlsae: a VL-SAE on stand-in image/caption pairs (digits through a small network, MiniLM captions;
   examples/data/digits_captions.npz): concept report, cross-modal agreement, zero-shot raw vs concept;
   examples/python/vlsae_demo.py.
8. workbench: layer 3 written into activation stores, a Matryoshka BatchTopK SAE trained from the store,
   the held-out evaluation table, the latent dashboard (path printed) and its screenshot
   out/workbench_dashboard.png (headless Chromium; skipped with the reason when it is missing);
   examples/python/workbench_demo.py.
"""
from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path

import numpy as np

import lamina
from lamina import io, metrics
from lamina.cluster import KMeans

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "examples" / "data" / "minilm_wordnet.h5"
CODE_DATA = ROOT / "examples" / "data" / "minilm_python.h5"

COLUMNS = [
    ("silhouette", "higher", lambda X, y: metrics.silhouette_score(X, y)),
    ("silhouette(cos)", "higher", lambda X, y: metrics.silhouette_score(X, y, metric="cosine")),
    ("davies-bouldin", "lower", metrics.davies_bouldin_score),
    ("calinski-harabasz", "higher", metrics.calinski_harabasz_score),
    ("dunn", "higher", metrics.dunn_index),
    ("dunn(avg/mean)", "higher", lambda X, y: metrics.dunn_index(X, y, linkage="average", diameter="mean_pairwise")),
    ("gdv", "lower", metrics.gdv),
]


def layer_table(path: Path, labels: np.ndarray, n_layers: int, seed: int):
    rows = []
    k = len(np.unique(labels))
    for layer in range(n_layers):
        X = io.read_activations(path, f"/target/layer_{layer}")   # float16 in the file, widened by Lamina
        row = {"layer": layer}
        for name, _, fn in COLUMNS:
            row[name] = fn(X, labels)
        km = KMeans(n_clusters=k, n_init=5, random_state=seed).fit(X)
        row["kmeans ARI"] = metrics.adjusted_rand_score(labels, km.labels_)
        row["kmeans NMI"] = metrics.normalized_mutual_info_score(labels, km.labels_)
        rows.append(row)
    return rows


def print_table(rows, title):
    keys = [k for k in rows[0] if k != "layer"]
    print(f"\n{title}")
    print("layer " + " ".join(f"{k:>17}" for k in keys))
    for row in rows:
        print(f"{row['layer']:>5} " + " ".join(f"{row[k]:>17.4f}" for k in keys))
    best = max(rows, key=lambda r: r["silhouette"])
    print(f"best-separated layer by silhouette: {best['layer']}; "
          f"by GDV: {min(rows, key=lambda r: r['gdv'])['layer']}; "
          f"by k-means ARI: {max(rows, key=lambda r: r['kmeans ARI'])['layer']}")


def plot(rows, out: Path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(matplotlib is not installed: no plot)")
        return
    layers = [r["layer"] for r in rows]
    panels = [("silhouette", "silhouette (higher = better)"), ("gdv", "GDV (lower = better)"),
              ("davies-bouldin", "Davies-Bouldin (lower = better)"), ("calinski-harabasz", "Calinski-Harabasz"),
              ("dunn", "Dunn (single / max)"), ("kmeans ARI", "k-means vs gold: ARI and NMI")]
    fig, axes = plt.subplots(2, 3, figsize=(13, 7))
    for ax, (key, title) in zip(axes.ravel(), panels):
        ax.plot(layers, [r[key] for r in rows], "o-", label=key)
        if key == "kmeans ARI":
            ax.plot(layers, [r["kmeans NMI"] for r in rows], "s--", label="kmeans NMI")
            ax.legend()
        ax.set_title(title)
        ax.set_xlabel("layer (0 = embeddings)")
        ax.grid(alpha=0.3)
    fig.suptitle("all-MiniLM-L6-v2 on WordNet example sentences: part of speech of the target word")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    print(f"plot saved to {out}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "tour.png")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", default=",".join(STEPS),
                        help=f"comma-separated steps to run, from {', '.join(STEPS)}")
    args = parser.parse_args()
    steps = [s.strip() for s in args.steps.split(",") if s.strip()]
    unknown = sorted(set(steps) - set(STEPS))
    if unknown:
        parser.error(f"unknown steps {unknown}; choose from {list(STEPS)}")

    print(f"lamina {lamina.__version__} ({lamina.library_path}), {lamina.get_num_threads()} threads")
    for step in steps:
        print(f"\n=== {step} " + "=" * (96 - len(step)))
        start = time.perf_counter()
        STEPS[step](args)
        print(f"[{step}: {time.perf_counter() - start:.1f} s]")


def clustering_step(args):
    shape, dtype = io.dataset_info(args.data, "/target/layer_0")
    pos = io.read_labels(args.data, "/labels/pos")
    n_layers = 7
    print(f"data: {args.data.name}: {n_layers} layers x {shape[0]} items x {shape[1]} dims ({dtype}), "
          f"POS counts {np.bincount(pos).tolist()} (noun, verb, adj, adv)")
    start = time.perf_counter()
    rows = layer_table(args.data, pos, n_layers, args.seed)
    print_table(rows, "Gold part of speech, target-word activations per layer")
    print(f"\n{n_layers} layers x ({len(COLUMNS)} metrics + k-means) in {time.perf_counter() - start:.2f} s")
    plot(rows, args.out)


def _demo(module):
    """Imports examples/python/<module>.py (the per-capability demos live next to this file)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    return importlib.import_module(module)


def probing_step(args):
    _demo("probe_demo").run(args.data, args.out.parent, seed=args.seed)


def structural_step(args):
    _demo("structural_demo").run(CODE_DATA, args.out.parent)


def ast_step(args):
    _demo("ast_demo").run(CODE_DATA.parent, args.out.parent)


def sae_step(args):
    _demo("sae_demo").run(args.data, args.out.parent, seed=args.seed)


def workbench_step(args):
    _demo("workbench_demo").run(args.data, args.out.parent, seed=args.seed)


def geometry_step(args):
    _demo("geometry_demo").run(args.data, args.out.parent)


def vlsae_step(args):
    _demo("vlsae_demo").run(Path(__file__).resolve().parents[1] / "data" / "digits_captions.npz", args.out.parent,
                            seed=args.seed)


STEPS = {"clustering": clustering_step, "probing": probing_step, "structural": structural_step,
         "ast": ast_step, "sae": sae_step, "geometry": geometry_step, "vlsae": vlsae_step,
         "workbench": workbench_step}


if __name__ == "__main__":
    main()
