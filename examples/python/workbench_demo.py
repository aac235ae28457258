"""The SAE workbench on the bundled activations (tour step `workbench`, issue 13's demo):

1. the layer-3 target-word activations are written into activation stores (lamina.io.ActivationStore,
   float16 as in the file, in batches of 256 rows the way a forward-hook loop appends them): the
   training rows to out/workbench_store/train, the held-out rows to out/workbench_store/heldout;
2. a Matryoshka BatchTopK SAE is trained from the training store (SparseAutoencoder.fit takes the store
   directory and reads it through the deterministic shuffled reader);
3. the held-out evaluation suite (reconstruction, shrinkage, sparsity, latent density and SAEBench-style
   k-sparse probing of the part of speech) on the rows read back from the held-out store, printed as a
   table and written in SAEBench's JSON layout;
4. the latent dashboard over all 2,400 rows with the sentences and the target word highlighted
   (out/dashboard/index.html, its path printed) and a PNG screenshot of it taken with headless Chromium
   (out/workbench_dashboard.png, next to the other plots). Without Chromium the page is still written
   and the step says why there is no screenshot (`make demo` installs the Debian package when it can).
"""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import numpy as np

from lamina import dashboard, io
from lamina.sae import SparseAutoencoder

LAYER = "/target/layer_3"
STORE_BATCH = 256


def _texts(data):
    import h5py  # noqa: PLC0415 - installed by make deps
    with h5py.File(data, "r") as f:
        sentences = [s.decode() if isinstance(s, bytes) else str(s) for s in f["/text/sentence"][()]]
        spans = f["/text/char_span"][()].astype(np.int64)
    return sentences, spans


def write_store(path: Path, rows: np.ndarray, name="layer_3"):
    """Writes rows (float16) into a fresh store at `path` in batches of STORE_BATCH rows; a previous store
    of this demo there is replaced (anything else there is refused)."""
    if path.exists():
        if not (path / "MANIFEST.json").is_file():
            raise FileExistsError(f"{path} exists and is not an activation store; remove it or pass another out dir")
        shutil.rmtree(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with io.ActivationStore(path) as store:
        for i in range(0, len(rows), STORE_BATCH):
            store.append({name: rows[i:i + STORE_BATCH]})
    return io.store_info(path, name)


def _disk_bytes(path: Path):
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def run(data: Path, out_dir: Path, seed: int = 0, epochs: int = 40):
    """Runs the four parts; returns a dict (stores, sae, report, index, png, screenshot_note)."""
    out_dir = Path(out_dir)
    X = io.read_activations(data, LAYER)            # float16 in the file, widened exactly to float32
    y = io.read_labels(data, "/labels/pos")
    n, d = X.shape
    perm = np.random.default_rng(seed).permutation(n)
    cut = int(0.8 * n)
    train, held = np.sort(perm[:cut]), np.sort(perm[cut:])

    start = time.perf_counter()
    stores = {"train": out_dir / "workbench_store" / "train", "heldout": out_dir / "workbench_store" / "heldout"}
    for part, idx in (("train", train), ("heldout", held)):
        rows, width, dtype = write_store(stores[part], X[idx].astype(np.float16))
        print(f"activation store {stores[part]}: {rows} rows x {width} ({dtype}) in {-(-rows // STORE_BATCH)} appends, "
              f"{_disk_bytes(stores[part]) / 1024:.0f} KiB on disk")
    print(f"stores written in {time.perf_counter() - start:.2f} s")

    widths = [d // 4, d, 4 * d]
    print(f"\nlayer 3: Matryoshka BatchTopK SAE, n_latents = {4 * d}, k = 16, group widths {widths}; trained from "
          f"the store {stores['train'].name} (shuffled reader, seed {seed}), {len(train)} train / {len(held)} held-out rows")
    start = time.perf_counter()
    sae = SparseAutoencoder(d, 4 * d, architecture="matryoshka_batchtopk", k=16, group_widths=widths,
                            batch_size=128, random_state=seed).fit(os.fspath(stores["train"]), dataset="layer_3",
                                                                   epochs=epochs)
    print(f"trained {sae.n_steps_} steps in {time.perf_counter() - start:.1f} s")
    X_held = io.read_store(stores["heldout"], "layer_3")
    prefix = sae.evaluate(X_held)["prefix_fvu"]
    print("FVU of each nested dictionary: " + ", ".join(f"W_dec[:{m}] {f:.3f}" for m, f in zip(widths, prefix)))
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "workbench_eval.json"
    rep = sae.evaluate_suite(X_held, y[held], random_state=seed, path=path)
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

    start = time.perf_counter()
    sentences, spans = _texts(data)
    index, png, note = dashboard.workbench_dashboard(sae, X, texts=sentences, tokens=spans, out=out_dir, top_n=10,
                                                     png_name="workbench_dashboard.png",
                                                     title="Matryoshka BatchTopK SAE on MiniLM layer 3 (WordNet sentences)")
    print(f"\nlatent dashboard over all {n} rows (top 10 sentences per latent, target word highlighted): {index}")
    if png is not None:
        print(f"dashboard screenshot saved to {png}")
    else:
        print(f"dashboard screenshot SKIPPED: {note}")
    print(f"dashboard in {time.perf_counter() - start:.1f} s")
    return {"stores": stores, "sae": sae, "report": rep, "index": index, "png": png, "screenshot_note": note,
            "train": train, "held": held}
