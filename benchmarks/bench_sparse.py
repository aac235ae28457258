"""Sparse input: Lamina's CSR silhouette, Davies-Bouldin / Calinski-Harabasz and KMeans against
scikit-learn on an SAE-code-like matrix (default n = 20,000, d = 16,384, ~32 non-zeros per row, 20
clusters), side by side in one process, alternating, best of `--repeats` runs each.

    PYTHONPATH=bindings/python python3 benchmarks/bench_sparse.py [--n 20000] [--d 16384] [--nnz 32]

scikit-learn's silhouette on sparse X computes the n x n distances in chunks (sparse product,
densified per chunk); Lamina's never builds a distance matrix. KMeans: both from the same given
centers, one run (Lloyd), so the work and the result are the same (labels and n_iter are checked).
Davies-Bouldin and Calinski-Harabasz: scikit-learn takes dense X only, so its time includes
X.toarray() (n x d float64, 2.6 GB at the default size: pass --dense-reference 0 to skip it).
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import scipy.sparse as sp


def codes(n, d, nnz, k, seed=0):
    """TopK-like codes: each row has `nnz` positive values, half of its columns drawn from its
    cluster's pool of 256 latents and half from all d."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    pools = rng.integers(0, d, (k, 256))
    cols = np.empty((n, nnz), dtype=np.int64)
    half = nnz // 2
    cols[:, :half] = pools[y[:, None], rng.integers(0, 256, (n, half))]
    cols[:, half:] = rng.integers(0, d, (n, nnz - half))
    vals = rng.exponential(1.0, (n, nnz)).astype(np.float32)
    X = sp.csr_matrix((vals.ravel(), cols.ravel(), np.arange(0, n * nnz + 1, nnz)), shape=(n, d))
    X.sum_duplicates()
    return X, y


def best(fn, repeats):
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--d", type=int, default=16384)
    ap.add_argument("--nnz", type=int, default=32)
    ap.add_argument("--k", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--dense-reference", type=int, default=1)
    args = ap.parse_args()
    import sklearn.cluster
    import sklearn.metrics

    import lamina.cluster
    import lamina.metrics

    X, y = codes(args.n, args.d, args.nnz, args.k)
    X64 = X.astype(np.float64)
    print(f"X: {X.shape[0]} x {X.shape[1]}, {X.nnz} non-zeros ({X.nnz / X.shape[0]:.1f} per row), {args.k} clusters")
    rows = []

    for name, x in (("float32", X), ("float64", X64)):
        t_l, s_l = best(lambda: lamina.metrics.silhouette_score(x, y), args.repeats)
        t_s, s_s = best(lambda: sklearn.metrics.silhouette_score(x, y), 1)
        rows.append((f"silhouette_score ({name})", t_l, t_s, f"{s_l:.9f} vs {s_s:.9f}"))

    t_l, v_l = best(lambda: lamina.metrics.calinski_harabasz_score(X64, y), args.repeats)
    t_d, v_d = best(lambda: lamina.metrics.davies_bouldin_score(X64, y), args.repeats)
    if args.dense_reference:
        t_s, v_s = best(lambda: sklearn.metrics.calinski_harabasz_score(X64.toarray(), y), 1)
        rows.append(("calinski_harabasz_score (sklearn: +toarray)", t_l, t_s, f"{v_l:.9g} vs {v_s:.9g}"))
        t_s, w_s = best(lambda: sklearn.metrics.davies_bouldin_score(X64.toarray(), y), 1)
        rows.append(("davies_bouldin_score (sklearn: +toarray)", t_d, t_s, f"{v_d:.9g} vs {w_s:.9g}"))

    init = X64[np.random.default_rng(1).choice(X.shape[0], args.k, replace=False)].toarray()
    for name, x in (("float32", X), ("float64", X64)):
        c = init.astype(x.dtype)
        t_l, m_l = best(lambda: lamina.cluster.KMeans(args.k, init=c, n_init=1).fit(x), args.repeats)
        t_s, m_s = best(lambda: sklearn.cluster.KMeans(args.k, init=c, n_init=1).fit(x), args.repeats)
        same = (m_l.labels_ == m_s.labels_).all() and m_l.n_iter_ == m_s.n_iter_
        rows.append((f"KMeans.fit given init ({name})", t_l, t_s,
                     f"n_iter {m_l.n_iter_}/{m_s.n_iter_}, inertia rel diff {abs(m_l.inertia_ / m_s.inertia_ - 1):.1e}, "
                     f"labels {'equal' if same else 'DIFFER'}"))
    t_l, m_l = best(lambda: lamina.cluster.KMeans(args.k, n_init=1, random_state=0).fit(X), args.repeats)
    t_s, m_s = best(lambda: sklearn.cluster.KMeans(args.k, n_init=1, random_state=0).fit(X), args.repeats)
    rows.append(("KMeans.fit k-means++ (float32)", t_l, t_s, f"inertia {m_l.inertia_:.6g} vs {m_s.inertia_:.6g}"))

    print(f"{'':48s} {'lamina s':>10s} {'sklearn s':>10s} {'speed-up':>9s}  values")
    for name, a, b, note in rows:
        print(f"{name:48s} {a:10.3f} {b:10.3f} {b / a:8.1f}x  {note}")


if __name__ == "__main__":
    main()
