"""Held-out evaluation of a sparse autoencoder, streamed over row chunks (`SparseAutoencoder.evaluate_suite`).

    report = sae.evaluate_suite(X_heldout, y=labels)          # X: any 2-D array-like sliceable by rows
    report["reconstruction"]["fvu"], report["sparse_probing"]["sae_top_5_test_accuracy"]
    sae.evaluate_suite(X, y, path="out/eval.json")              # also writes SAEBench's JSON layout

One pass over X in chunks of rows (encode + reconstruct through liblamina, float64 sums in numpy), so X
may be larger than memory (an h5py dataset, a numpy memmap). Definitions (SAEBench 0.6.0's names where
SAEBench defines the metric, sae_bench/evals/core/main.py; its formulas are reproduced as written):
  fvu                          sum ||x - x_hat||^2 / sum ||x - mean(x)||^2 (sparsify)
  explained_variance           SAEBench: 1 - mean ||x - x_hat||^2 / (mean ||x||^2 - (mean over rows and
                               dimensions of x^2)^2) -- SAEBench's formula, which is not 1 - fvu
  explained_variance_legacy    SAEBench: mean over rows of 1 - ||x - x_hat||^2 / ||x - mean(x)||^2
  cossim                       SAEBench: mean over rows of cos(x, x_hat) (a zero row counts 0, not NaN)
  l2_norm_in, l2_norm_out      mean ||x||, mean ||x_hat||
  l2_ratio                     SAEBench: mean of ||x_hat|| / ||x|| (||x|| < 1e-4 divides by 1)
  relative_reconstruction_bias SAEBench / Rajamanoharan et al. eq. 10: mean ||x_hat||^2 / mean x . x_hat
  l0, l1                       mean number of non-zero codes, mean sum of codes per row
  feature_density              per latent: fraction of rows where it fires (> 0)
  frac_alive                   fraction of latents with density > 0; dead_fraction = 1 - frac_alive
  freq_over_1_percent, freq_over_10_percent  fraction of latents with density > 0.01 / > 0.1
  dense_fraction               fraction of latents with density > dense_threshold (default 0.1)
  density_histogram            counts of log10(density) of the alive latents over fixed bin edges
SAEBench computes its means per batch of 125 x 128 tokens and averages them; over one streamed pass they
are means over all rows (identical for the per-row means, the global mean for the ratio metrics).

k-sparse probing (SAEBench's sparse_probing, given labels y, one value per row): a seeded split into train
and test rows (test_size); for each class c (or the positive class of binary labels) the latents are
ranked by |mean z over train rows of c - mean z over the other train rows| (SAEBench's
get_top_k_mean_diff_mask); for k in k_values a LogisticProbe (L2, C) is fitted on the top k latents'
codes of the train rows and scored on the test rows; "llm" is the same on the input activations (top k
of its dimensions by the same rule, and all of them for llm_test_accuracy), "sae" on all the codes
(sae_test_accuracy). Multi-class labels: one probe per class (class vs rest), accuracies averaged over
the classes, as SAEBench averages over its binary datasets. Memory: the statistics pass holds one chunk;
the probing holds the probed rows' activations, the codes of the top max(k_values) latents per class, and
(for sae_test_accuracy, only when n x n_latents <= 2^27) all the codes -- otherwise sae_test_accuracy is
None. The statistics pass runs in Python (numpy float64) over liblamina's encode / reconstruct: there is
no separate C function for it."""
from __future__ import annotations

import json
import os
import time

import numpy as np

from .errors import InvalidArgumentError, ShapeMismatchError

K_VALUES = (1, 2, 5, 10, 20, 50)
DENSITY_EDGES = np.arange(-8.0, 0.0001, 0.25)   # log10 firing frequency, 1e-8 .. 1


def _rows(X):
    shape = getattr(X, "shape", None)
    if shape is None:
        X = np.asarray(X)
        shape = X.shape
    if len(shape) != 2:
        raise InvalidArgumentError(f"X has shape {tuple(shape)}; expected a 2-D array of activations (n, d_in)")
    return X, int(shape[0]), int(shape[1])


def _chunk(X, lo, hi):
    return np.ascontiguousarray(np.asarray(X[lo:hi]), dtype=np.float32)


def evaluate_suite(sae, X, y=None, *, k_values=K_VALUES, dense_threshold=0.1, test_size=0.2, C=1.0,
                   random_state=0, chunk_rows=None, path=None):
    """The report dict (see the module docstring); `path`: also write SAEBench's JSON layout there."""
    X, n, d = _rows(X)
    d_in, n_latents = sae._d_in(), sae._n_latents()
    if d != d_in:
        raise ShapeMismatchError(f"X has {d} features; this SAE has d_in = {d_in}")
    if n < 2:
        raise InvalidArgumentError(f"X has {n} rows; expected at least 2")
    if not (0 < float(dense_threshold) <= 1):
        raise InvalidArgumentError(f"dense_threshold={dense_threshold!r}; expected 0 < dense_threshold <= 1")
    labels = None
    if y is not None:
        labels = np.asarray(y)
        if labels.ndim != 1 or labels.shape[0] != n:
            raise ShapeMismatchError(f"y has shape {labels.shape}; expected one label per row of X ({n},)")
        if not (0 < float(test_size) < 1):
            raise InvalidArgumentError(f"test_size={test_size!r}; expected 0 < test_size < 1")
        ks = [int(k) for k in k_values]
        if any(k < 1 for k in ks):
            raise InvalidArgumentError(f"k_values={list(k_values)!r}; expected integers >= 1")
    if chunk_rows is None:
        chunk_rows = max(1, min(8192, (32 << 20) // max(n_latents, 1)))
    t0 = time.time()

    # -- one streamed pass: reconstruction and sparsity statistics (float64) ------------------------------
    mean = np.zeros(d)
    m2 = 0.0                # sum ||x - mean||^2 (Chan et al. merge of chunk moments)
    sum_sq_x = 0.0
    sum_sq_elems = 0.0
    rss = ev_legacy_rows = 0.0
    cos = l2_in = l2_out = l2_ratio = xhat_sq = x_dot = 0.0
    l0 = l1 = 0.0
    fired = np.zeros(n_latents, dtype=np.int64)
    seen = 0
    for lo in range(0, n, chunk_rows):
        x = _chunk(X, lo, min(n, lo + chunk_rows))
        z = sae.encode(x)
        xh = sae.reconstruct(x).astype(np.float64)
        x64 = x.astype(np.float64)
        m = x64.shape[0]
        cm = x64.mean(0)
        cm2 = ((x64 - cm) ** 2).sum()
        delta = cm - mean
        tot = seen + m
        m2 += cm2 + (delta @ delta) * seen * m / tot
        mean += delta * m / tot
        seen = tot
        r = ((x64 - xh) ** 2).sum(1)
        rss += r.sum()
        nx = np.sqrt((x64 ** 2).sum(1))
        nh = np.sqrt((xh ** 2).sum(1))
        dots = (x64 * xh).sum(1)
        sum_sq_x += (nx ** 2).sum()
        sum_sq_elems += (x64 ** 2).sum()
        ok = (nx > 0) & (nh > 0)
        cos += (dots[ok] / (nx[ok] * nh[ok])).sum()
        l2_in += nx.sum()
        l2_out += nh.sum()
        l2_ratio += (nh / np.where(np.abs(nx) < 1e-4, 1.0, nx)).sum()
        xhat_sq += (nh ** 2).sum()
        x_dot += dots.sum()
        active = z != 0
        l0 += active.sum()
        l1 += z.astype(np.float64).sum()
        fired += (z > 0).sum(0)
        # the legacy explained variance needs the global mean: a second pass below
    ev_legacy_rows = 0.0
    for lo in range(0, n, chunk_rows):
        x = _chunk(X, lo, min(n, lo + chunk_rows)).astype(np.float64)
        xh = sae.reconstruct(x.astype(np.float32)).astype(np.float64)
        tr = ((x - mean) ** 2).sum(1)
        ev_legacy_rows += (1 - ((x - xh) ** 2).sum(1) / tr).sum()

    density = fired / n
    alive = density > 0
    hist, _ = np.histogram(np.log10(density[alive]), bins=DENSITY_EDGES) if alive.any() else \
        (np.zeros(len(DENSITY_EDGES) - 1, dtype=np.int64), None)
    mean_sq = sum_sq_x / n
    mean_elem_sq = sum_sq_elems / (n * d)
    report = {
        "reconstruction": {
            "fvu": rss / m2,
            "explained_variance": 1 - (rss / n) / (mean_sq - mean_elem_sq ** 2),
            "explained_variance_legacy": ev_legacy_rows / n,
            "cossim": cos / n,
        },
        "shrinkage": {
            "l2_norm_in": l2_in / n, "l2_norm_out": l2_out / n, "l2_ratio": l2_ratio / n,
            "relative_reconstruction_bias": (xhat_sq / n) / (x_dot / n),
        },
        "sparsity": {"l0": l0 / n, "l1": l1 / n},
        "density": {
            "frac_alive": float(alive.mean()), "dead_fraction": float(1 - alive.mean()),
            "freq_over_1_percent": float((density > 0.01).mean()),
            "freq_over_10_percent": float((density > 0.1).mean()),
            "dense_fraction": float((density > dense_threshold).mean()), "dense_threshold": float(dense_threshold),
            "density_histogram": {"log10_edges": DENSITY_EDGES.tolist(), "counts": np.asarray(hist).tolist(),
                                  "n_dead": int((~alive).sum())},
            "feature_density": density,
        },
        "n_rows": n,
    }
    if labels is not None:
        report["sparse_probing"] = _sparse_probing(sae, X, n, labels, ks, test_size, C, random_state, chunk_rows)
    report["eval_seconds"] = time.time() - t0
    if path is not None:
        write_saebench_json(report, path, sae)
    return report


def _codes_of(sae, X, rows, cols, chunk_rows):
    """Codes of the given latents (cols) for the given rows (sorted), chunk by chunk."""
    out = np.empty((len(rows), len(cols)), np.float32)
    for lo in range(0, len(rows), chunk_rows):
        idx = rows[lo:lo + chunk_rows]
        x = np.ascontiguousarray(np.asarray(X[idx]), dtype=np.float32)
        out[lo:lo + len(idx)] = sae.encode(x)[:, cols]
    return out


def _sparse_probing(sae, X, n, labels, ks, test_size, C, random_state, chunk_rows):
    from .probe import LogisticProbe
    classes = np.unique(labels)
    if classes.size < 2:
        raise InvalidArgumentError(f"y has {classes.size} distinct label; k-sparse probing needs at least 2 classes")
    rng = np.random.default_rng(random_state)
    perm = rng.permutation(n)
    n_test = max(1, int(round(n * test_size)))
    test, train = np.sort(perm[:n_test]), np.sort(perm[n_test:])
    targets = classes[1:] if classes.size == 2 else classes
    n_latents = sae._n_latents()
    # Per-class sums of codes and of activations over the train rows (streamed).
    zsum = np.zeros((classes.size, n_latents))
    xsum = np.zeros((classes.size, X.shape[1]))
    count = np.zeros(classes.size)
    lab_idx = np.searchsorted(classes, labels)
    for lo in range(0, len(train), chunk_rows):
        idx = train[lo:lo + chunk_rows]
        x = np.ascontiguousarray(np.asarray(X[idx]), dtype=np.float32)
        z = sae.encode(x).astype(np.float64)
        li = lab_idx[idx]
        np.add.at(zsum, li, z)
        np.add.at(xsum, li, x.astype(np.float64))
        count += np.bincount(li, minlength=classes.size)
    kmax = max(ks)
    results = {"llm": {}, "sae": {}}
    per_class = []
    Xtr = np.ascontiguousarray(np.asarray(X[train]), dtype=np.float32)
    Xte = np.ascontiguousarray(np.asarray(X[test]), dtype=np.float32)
    # All the codes (sae_test_accuracy) when they fit in 512 MB, else None.
    Ztr_all = Zte_all = None
    if n_latents * n <= 1 << 27:
        Ztr_all = _codes_of(sae, X, train, np.arange(n_latents), chunk_rows)
        Zte_all = _codes_of(sae, X, test, np.arange(n_latents), chunk_rows)
    for c in targets:
        ci = int(np.searchsorted(classes, c))
        if count[ci] == 0 or count[ci] == len(train):
            raise InvalidArgumentError(f"class {c!r} has {int(count[ci])} of the {len(train)} train rows; every "
                                       f"probed class needs train rows in and out of it (more rows or another "
                                       f"random_state)")
        ytr, yte = (labels[train] == c).astype(np.int32), (labels[test] == c).astype(np.int32)
        rest = count.sum() - count[ci]

        def rank(sums):
            diff = np.abs(sums[ci] / count[ci] - (sums.sum(0) - sums[ci]) / rest)
            return np.argsort(-diff, kind="stable")

        zcols = rank(zsum)[:kmax]
        xcols = rank(xsum)[:kmax]
        Ztr = _codes_of(sae, X, train, zcols, chunk_rows)
        Zte = _codes_of(sae, X, test, zcols, chunk_rows)
        row = {"class": c.item() if hasattr(c, "item") else c, "sae_top_latents": zcols.tolist()}

        def acc(A, B):
            probe = LogisticProbe(C=C, max_iter=1000).fit(A, ytr)
            return float(probe.score(B, yte))
        row["llm_test_accuracy"] = acc(Xtr, Xte)
        row["sae_test_accuracy"] = acc(Ztr_all, Zte_all) if Ztr_all is not None else None
        for k in ks:
            kk = min(k, len(zcols))
            row[f"sae_top_{k}_test_accuracy"] = acc(Ztr[:, :kk], Zte[:, :kk]) if k <= n_latents else None
            row[f"llm_top_{k}_test_accuracy"] = acc(Xtr[:, xcols[:k]], Xte[:, xcols[:k]]) if k <= X.shape[1] else None
        per_class.append(row)
    keys = ["llm_test_accuracy"] + [f"llm_top_{k}_test_accuracy" for k in ks]
    skeys = ["sae_test_accuracy"] + [f"sae_top_{k}_test_accuracy" for k in ks]
    mean = {}
    for key in keys + skeys:
        vals = [r[key] for r in per_class]
        mean[key] = None if any(v is None for v in vals) else float(np.mean(vals))
    return {**mean, "k_values": list(ks), "n_train": int(len(train)), "n_test": int(len(test)), "per_class": per_class}


def write_saebench_json(report, path, sae):
    """SAEBench's result layout for the metrics it defines: {"eval_type_id": "core", "eval_result_metrics":
    {category: {metric: value}}} and, with labels, a "sparse_probing" result with its llm / sae metric groups.
    Written atomically (temporary file + rename)."""
    path = os.fspath(path)
    if os.path.isdir(path):
        raise InvalidArgumentError(f"path {path!r} is a directory; expected a JSON file path")
    core = {
        "eval_type_id": "core",
        "eval_config": {"dense_threshold": report["density"]["dense_threshold"]},
        "eval_result_metrics": {
            "reconstruction_quality": {k: report["reconstruction"][k] for k in
                                       ("explained_variance", "explained_variance_legacy", "cossim")},
            "shrinkage": dict(report["shrinkage"]),
            "sparsity": dict(report["sparsity"]),
            "misc": {k: report["density"][k] for k in ("freq_over_1_percent", "freq_over_10_percent", "frac_alive")},
        },
        "eval_result_details": [{"index": j, "feature_density": float(v)}
                                for j, v in enumerate(report["density"]["feature_density"])],
        "eval_result_unstructured": {"fvu": report["reconstruction"]["fvu"],
                                     "dead_fraction": report["density"]["dead_fraction"],
                                     "dense_fraction": report["density"]["dense_fraction"],
                                     "density_histogram": report["density"]["density_histogram"]},
        "sae_lens_id": None, "sae_lens_release_id": None, "sae_lens_version": None,
        "datetime_epoch_millis": int(time.time() * 1000),
    }
    out = {"core": core}
    sp = report.get("sparse_probing")
    if sp is not None:
        ks = sp["k_values"]
        out["sparse_probing"] = {
            "eval_type_id": "sparse_probing",
            "eval_config": {"k_values": ks, "n_train": sp["n_train"], "n_test": sp["n_test"]},
            "eval_result_metrics": {
                "llm": {k: sp[k] for k in ["llm_test_accuracy"] + [f"llm_top_{k}_test_accuracy" for k in ks]},
                "sae": {k: sp[k] for k in ["sae_test_accuracy"] + [f"sae_top_{k}_test_accuracy" for k in ks]},
            },
            "eval_result_details": [{key: v for key, v in r.items() if key != "sae_top_latents"}
                                    for r in sp["per_class"]],
            "datetime_epoch_millis": int(time.time() * 1000),
        }
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump(out, f, indent=1, default=lambda v: v.item() if hasattr(v, "item") else str(v))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return path
