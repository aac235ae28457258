#!/usr/bin/env python3
"""Linear probes: Lamina against scikit-learn, side by side in one process.

Two tasks, each timed alternately for both libraries (best of --repeat runs), with the accuracies
printed next to the times so that "faster" means "faster at equal accuracy":

  logistic  LogisticRegression(C=1, tol=1e-4, max_iter=100, lbfgs) vs lamina.probe.LogisticProbe with
            the same C, tol and max_iter, n = 20,000, d = 768, 10 classes (target >= 3x);
  sweep     the usual probing loop, cross_val_score(LogisticRegression(), X_l, y, cv=folds) over the
            7 layers of the bundled MiniLM activations (POS labels), vs one lamina.probe.layer_sweep
            call (target >= 3x); both use the same stratified 5-fold split (StratifiedKFold's fold
            sizes), so the accuracies can be compared fold by fold.

scikit-learn runs with numpy's BLAS at its default thread count and at 1 thread; the faster of the
two is the baseline (on a loaded 2-core machine 2-thread OpenBLAS can be 30x slower).

    PYTHONPATH=bindings/python python3 benchmarks/bench_probe.py            # full run, a few minutes
    PYTHONPATH=bindings/python python3 benchmarks/bench_probe.py --quick    # smoke run, seconds
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="small sizes (targets not meaningful)")
    p.add_argument("--repeat", type=int, default=2, help="timed runs per library and task (best is reported)")
    p.add_argument("--only", default=None, help="logistic or sweep")
    p.add_argument("--json", default=None, metavar="PATH", help="also write the measurements to this JSON file")
    p.add_argument("--sklearn-threads", default="best", choices=["best", "1", "default"],
                   help="numpy BLAS threads for scikit-learn: the faster of default and 1 (best), or one of them. "
                        "Under load, 2-thread OpenBLAS can take 30x longer: use 1 there")
    return p.parse_args()


ARGS = parse_args()

import numpy as np  # noqa: E402
from sklearn.datasets import make_classification  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import cross_val_score  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

try:
    import lamina  # noqa: E402
except ImportError:
    sys.path.insert(0, str(REPO / "bindings" / "python"))
    import lamina  # noqa: E402
from lamina import probe as P  # noqa: E402

warnings.filterwarnings("ignore")


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def best_sklearn(fn):
    """Best time of fn over the two BLAS thread settings (default, 1), with its result."""
    results = []
    limits = {"best": (None, 1), "1": (1,), "default": (None,)}[ARGS.sklearn_threads]
    for limit in limits:
        if limit is None:
            results.append(timed(fn) + ("default threads",))
        else:
            with threadpool_limits(limit):
                results.append(timed(fn) + ("1 thread",))
    return min(results, key=lambda r: r[0])


def bench_logistic():
    n, d, k = (4000, 128, 10) if ARGS.quick else (20000, 768, 10)
    X, y = make_classification(n_samples=n + n // 4, n_features=d, n_informative=min(d, 64), n_redundant=0,
                               n_classes=k, n_clusters_per_class=1, class_sep=1.0, random_state=0)
    X = X.astype(np.float32)
    Xtr, ytr, Xte, yte = X[:n], y[:n], X[n:], y[n:]
    X64 = Xtr.astype(np.float64)
    rows = []
    for r in range(ARGS.repeat):
        t_sk, sk_model, how = best_sklearn(lambda: LogisticRegression(C=1.0, tol=1e-4, max_iter=100).fit(X64, ytr))
        t_lm, lm_model = timed(lambda: P.LogisticProbe(C=1.0, tol=1e-4, max_iter=100).fit(Xtr, ytr))
        rows.append((t_sk, t_lm, how))
    t_sk = min(r[0] for r in rows)
    t_lm = min(r[1] for r in rows)
    res = {
        "task": f"logistic n={n} d={d} K={k}", "sklearn_s": t_sk, "lamina_s": t_lm, "ratio": t_sk / t_lm,
        "sklearn_blas": min(rows)[2],
        "sklearn_train_acc": sk_model.score(X64, ytr), "lamina_train_acc": lm_model.score(Xtr, ytr),
        "sklearn_test_acc": sk_model.score(Xte.astype(np.float64), yte), "lamina_test_acc": lm_model.score(Xte, yte),
        "sklearn_n_iter": int(sk_model.n_iter_[0]), "lamina_n_iter": int(lm_model.n_iter_[0]),
        "coef_rel_diff": float(np.abs(sk_model.coef_ - lm_model.coef_).max() / np.abs(sk_model.coef_).max()),
        "target": 3.0,
    }
    return res


def bench_sweep():
    path = REPO / "examples" / "data" / "minilm_wordnet.h5"
    y = lamina.io.read_labels(str(path), "/labels/pos")
    layer_ids = range(3) if ARGS.quick else range(7)
    k = 3 if ARGS.quick else 5
    layers = [lamina.io.read_activations(str(path), f"/target/layer_{i}") for i in layer_ids]
    layers64 = [x.astype(np.float64) for x in layers]

    # The same folds for both (Lamina's stratified_kfold: StratifiedKFold's per-class fold sizes, its
    # own shuffle), so that the accuracies can be compared fold by fold; building folds costs nothing.
    folds = P.stratified_kfold(y, k, random_state=0)
    cv = [(np.flatnonzero(folds != f), np.flatnonzero(folds == f)) for f in range(k)]

    def sk_loop():
        return np.array([cross_val_score(LogisticRegression(), x, y, cv=cv) for x in layers64])

    rows = []
    for r in range(ARGS.repeat):
        t_sk, sk_acc, how = best_sklearn(sk_loop)
        t_lm, res = timed(lambda: P.layer_sweep(layers, y, n_splits=k, random_state=0))
        rows.append((t_sk, t_lm, how))
    t_sk = min(r[0] for r in rows)
    t_lm = min(r[1] for r in rows)
    return {
        "task": f"layer sweep {len(layers)} layers x {k}-fold (n={len(y)}, d={layers[0].shape[1]})",
        "sklearn_s": t_sk, "lamina_s": t_lm, "ratio": t_sk / t_lm, "sklearn_blas": min(rows)[2],
        "sklearn_mean_acc": sk_acc.mean(axis=1).round(4).tolist(), "lamina_mean_acc": res.mean.round(4).tolist(),
        "max_layer_mean_diff": float(np.abs(sk_acc.mean(axis=1) - res.mean).max()),
        "max_fold_diff": float(np.abs(sk_acc - res.fold_accuracy).max()),
        "target": 3.0,
    }


def main():
    print(f"lamina {lamina.__version__} ({lamina.library_path}), threads {lamina.get_num_threads()}, "
          f"load average {os.getloadavg()[0]:.2f}")
    out = []
    if ARGS.only in (None, "logistic"):
        out.append(bench_logistic())
    if ARGS.only in (None, "sweep"):
        out.append(bench_sweep())
    print(f"\n{'task':55s} {'sklearn':>9s} {'lamina':>9s} {'ratio':>7s} {'target':>7s}")
    for r in out:
        ok = "PASS" if r["ratio"] >= r["target"] else "FAIL"
        print(f"{r['task']:55s} {r['sklearn_s']:8.2f}s {r['lamina_s']:8.2f}s {r['ratio']:6.1f}x {r['target']:6.1f}x {ok}"
              f"   (sklearn BLAS: {r['sklearn_blas']})")
        for key, value in r.items():
            if key not in ("task", "sklearn_s", "lamina_s", "ratio", "target", "sklearn_blas"):
                print(f"    {key}: {value}")
    print(f"load average at the end {os.getloadavg()[0]:.2f}")
    if ARGS.json:
        Path(ARGS.json).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
