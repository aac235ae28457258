"""Bad sparse (CSR) input through lamina.metrics / lamina.cluster and straight through the C API's *_csr
functions (header section 18); every case runs in a worker subprocess (isolated.py), so a crash
fails one case instead of killing pytest."""
from __future__ import annotations

import sys

from isolated import case_registry, crash_tests, expect, expect_status, worker_main

CASES, case = case_registry()


def _lazy():
    import ctypes

    import numpy as np
    import scipy.sparse as sp

    import lamina
    from lamina import _native as N
    return ctypes, np, sp, lamina, N


def _csr():
    _, np, sp, _, _ = _lazy()
    X = sp.random(20, 6, density=0.4, format="csr", random_state=0, dtype=np.float64)
    X[0, 0] = 1.0
    X.sort_indices()
    return X, np.arange(20) % 3


def _raw(data, indices, indptr, nnz, n, d, fn="lamina_silhouette_score_csr_f64", metric=0):
    ctypes, np, _, _, N = _lazy()
    out = ctypes.c_double()
    args = [None if a is None else (N.dptr(a) if a.dtype == np.float64 else N.lptr(a)) for a in (data, indices, indptr)]
    labels = np.arange(min(max(n, 1), 4), dtype=np.int32) % 2   # the CSR is checked before labels are read
    extra = (metric,) if "silhouette" in fn and "precomputed" not in fn else ()
    return getattr(N.lib, fn)(*args, nnz, n, d, N.iptr(labels), *extra, ctypes.byref(out))


@case
def c_api_every_csr_check():
    _, np, _, _, N = _lazy()
    data = np.array([1.0, 2.0, 5.0, 6.0])
    ind = np.array([2, 2, 0, 0], dtype=np.int64)
    ptr = np.array([0, 1, 2, 3, 4], dtype=np.int64)
    i64 = lambda *v: np.array(v, dtype=np.int64)  # noqa: E731
    expect_status(0, _raw(data, ind, ptr, 4, 4, 3))
    expect_status(1, _raw(data, ind, ptr, 4, 0, 3), "n is 0")
    expect_status(1, _raw(data, ind, ptr, 4, 4, -2), "d is -2")
    expect_status(1, _raw(data, ind, ptr, -5, 4, 3), "nnz is -5")
    expect_status(1, _raw(data, ind, ptr, 99, 4, 3), "n * d = 12")
    expect_status(1, _raw(data, ind, None, 4, 4, 3), "indptr is NULL")
    expect_status(1, _raw(data, ind, i64(2, 1, 2, 3, 4), 4, 4, 3), "indptr[0] is 2")
    expect_status(1, _raw(data, ind, i64(0, 3, 2, 3, 4), 4, 4, 3), "non-decreasing")
    expect_status(2, _raw(data, ind, i64(0, 1, 2, 3, 3), 4, 4, 3), "expected nnz = 4")
    expect_status(1, _raw(None, ind, ptr, 4, 4, 3), "data is NULL")
    expect_status(1, _raw(data, None, ptr, 4, 4, 3), "indices is NULL")
    expect_status(1, _raw(data, i64(2, 7, 0, 0), ptr, 4, 4, 3), "indices[1]", "is 7")
    expect_status(1, _raw(data, i64(2, 2, -9, 0), ptr, 4, 4, 3), "indices[2]", "is -9")
    expect_status(1, _raw(data, i64(2, 1, 0, 0), i64(0, 2, 2, 3, 4), 4, 4, 3), "strictly increasing")
    expect_status(1, _raw(data, i64(1, 1, 0, 0), i64(0, 2, 2, 3, 4), 4, 4, 3), "strictly increasing")
    expect_status(3, _raw(np.array([1.0, np.inf, 5, 6]), ind, ptr, 4, 4, 3), "data[1]", "inf")
    expect_status(1, _raw(data, ind, ptr, 4, 4, 3, metric=4), "sparse x supports")
    expect_status(1, _raw(data, ind, ptr, 4, 4, 3, metric=-1), "metric is -1")
    # indptr far beyond nnz, huge n: refused before any read or allocation
    expect_status(6, _raw(data, ind, ptr, 4, 2**62, 2**62), "overflow")
    for fn in ("lamina_davies_bouldin_score_csr_f64", "lamina_calinski_harabasz_score_csr_f64",
               "lamina_silhouette_samples_precomputed_csr_f64"):
        expect_status(1, _raw(data, i64(2, 5, 0, 0), ptr, 4, 4, 3, fn=fn), "indices[1]")


@case
def c_api_kmeans():
    ctypes, np, _, _, N = _lazy()
    data = np.array([1.0, 2.0, 5.0, 6.0])
    ind = np.array([2, 2, 0, 0], dtype=np.int64)
    ptr = np.array([0, 1, 2, 3, 4], dtype=np.int64)
    params = N.lib.lamina_kmeans_default_params()
    params.n_clusters = 2
    h = N.Handle("lamina_kmeans_create", "lamina_kmeans_free", ctypes.byref(params))
    labels = np.zeros(4, dtype=np.int32)
    expect_status(1, N.lib.lamina_kmeans_predict_csr_f64(h, N.dptr(data), N.lptr(ind), N.lptr(ptr), 4, 4, 3,
                                                         N.iptr(labels), None), "not fitted")
    expect_status(1, N.lib.lamina_kmeans_fit_csr_f64(h, N.dptr(data), N.lptr(ind), N.lptr(np.array([0, 1, 9, 3, 4])),
                                                     4, 4, 3, None, None), "non-decreasing")
    w = np.array([1.0, np.nan, 1, 1])
    expect_status(1, N.lib.lamina_kmeans_fit_csr_f64(h, N.dptr(data), N.lptr(ind), N.lptr(ptr), 4, 4, 3, None, N.dptr(w)),
                  "sample_weight[1]")
    expect_status(1, N.lib.lamina_kmeans_fit_csr_f64(h, N.dptr(data), N.lptr(ind), N.lptr(ptr), 4, 4, 3, None,
                                                     N.dptr(np.zeros(4))), "sums to 0")
    expect_status(1, N.lib.lamina_kmeans_fit_csr_f64(h, N.dptr(data), N.lptr(ind), N.lptr(ptr), 1, 1, 3, None, None),
                  "n_samples=1")
    expect_status(0, N.lib.lamina_kmeans_fit_csr_f64(h, N.dptr(data), N.lptr(ind), N.lptr(ptr), 4, 4, 3, None, None))
    expect_status(2, N.lib.lamina_kmeans_predict_csr_f64(h, N.dptr(data), N.lptr(ind), N.lptr(ptr), 4, 4, 5,
                                                         N.iptr(labels), None), "features")
    expect_status(1, N.lib.lamina_kmeans_predict_csr_f64(h, N.dptr(data), N.lptr(ind), N.lptr(ptr), 4, 4, 3,
                                                         None, None), "labels_out")
    expect_status(1, N.lib.lamina_kmeans_transform_csr_f64(h, N.dptr(data), N.lptr(ind), N.lptr(ptr), 4, 4, 3, None), "out")
    expect_status(1, N.lib.lamina_kmeans_transform_csr_f64(None, N.dptr(data), N.lptr(ind), N.lptr(ptr), 4, 4, 3, None))


@case
def python_metrics_bad_sparse():
    _, np, sp, lamina, _ = _lazy()
    X, y = _csr()
    M = lamina.metrics
    expect(lambda: M.silhouette_score(X, y[:-1]), lamina.ShapeMismatchError, ValueError, "inconsistent numbers of samples")
    bad = X.copy()
    bad.data[3] = np.nan
    expect(lambda: M.silhouette_score(bad, y), lamina.NonFiniteError, ValueError, "nan")
    expect(lambda: M.davies_bouldin_score(bad, y), lamina.NonFiniteError, ValueError, "nan")
    expect(lambda: M.calinski_harabasz_score(X, np.zeros(20)), lamina.InvalidArgumentError, ValueError, "Number of labels is 1")
    expect(lambda: M.silhouette_samples(X, y, metric="chebyshev"), lamina.InvalidArgumentError, ValueError, "sparse x supports")
    expect(lambda: M.silhouette_samples(sp.csr_matrix((0, 5)), []), lamina.InvalidArgumentError, ValueError, "0 sample")
    expect(lambda: M.silhouette_samples(sp.csr_matrix(np.ones((4, 4))), [0, 0, 1, 1], metric="precomputed"),
           lamina.InvalidArgumentError, ValueError, "diagonal")
    neg = sp.csr_matrix(np.array([[0, -1.0, 1, 1], [1, 0, 1, 1], [1, 1, 0, 1], [1, 1, 1, 0]]))
    expect(lambda: M.silhouette_samples(neg, [0, 0, 1, 1], metric="precomputed"), lamina.InvalidArgumentError,
           ValueError, "non-negative")
    expect(lambda: M.silhouette_samples(sp.csr_matrix(np.zeros((4, 5))), [0, 0, 1, 1], metric="precomputed"),
           lamina.ShapeMismatchError, ValueError, "(4, 5)")
    expect(lambda: M.xie_beni_index(X, y, separation="point_pair"), lamina.InvalidArgumentError, ValueError, "point_pair")
    cplx = sp.csr_matrix(np.array([[1j, 0], [0, 1]]))
    expect(lambda: M.silhouette_score(cplx, [0, 1]), lamina.InvalidArgumentError, ValueError, "dtype")


@case
def python_kmeans_bad_sparse():
    _, np, sp, lamina, _ = _lazy()
    X, _ = _csr()
    KM = lamina.cluster.KMeans
    expect(lambda: KM(3, init=np.zeros((2, 6)), n_init=1).fit(X), lamina.ShapeMismatchError, ValueError, "(2, 6)")
    expect(lambda: KM(3, init=np.zeros((3, 5)), n_init=1).fit(X), lamina.ShapeMismatchError, ValueError, "features")
    expect(lambda: KM(3).fit(X, sample_weight=np.ones(5)), lamina.ShapeMismatchError, ValueError, "sample_weight")
    expect(lambda: KM(3).fit(X, sample_weight=-np.ones(20)), lamina.InvalidArgumentError, ValueError, "sample_weight[0]")
    expect(lambda: KM(30).fit(X), lamina.InvalidArgumentError, ValueError, "n_samples=20 should be >= n_clusters=30")
    m = KM(3, random_state=0).fit(X)
    expect(lambda: m.predict(sp.csr_matrix(np.ones((2, 4)))), lamina.ShapeMismatchError, ValueError, "4 features")
    bad = X.copy()
    bad.data[0] = np.inf
    expect(lambda: m.predict(bad), lamina.NonFiniteError, ValueError, "inf")
    expect(lambda: m.transform(bad), lamina.NonFiniteError, ValueError, "inf")
    expect(lambda: KM(3).predict(X), lamina.NotFittedError, AttributeError)
    # callable init on sparse X: its result checked (shape, values), X's values checked before the call
    expect(lambda: KM(3, init=lambda X, k, random_state: np.zeros((2, 6)), n_init=1).fit(X),
           lamina.ShapeMismatchError, ValueError, "number of clusters 3")
    expect(lambda: KM(3, init=lambda X, k, random_state: np.zeros((3, 4)), n_init=1).fit(X),
           lamina.ShapeMismatchError, ValueError, "number of features of the data 6")
    expect(lambda: KM(3, init=lambda X, k, random_state: np.full((3, 6), np.nan), n_init=1).fit(X),
           lamina.NonFiniteError, ValueError, "init")
    calls = []
    expect(lambda: KM(3, init=lambda X, k, random_state: calls.append(1), n_init=1).fit(bad),
           lamina.NonFiniteError, ValueError, "row 0")
    assert not calls, "the callable ran on non-finite X"
    expect(lambda: KM(30, init=lambda X, k, random_state: X[:k].toarray(), n_init=1).fit(X),
           lamina.InvalidArgumentError, ValueError, "n_samples=20 should be >= n_clusters=30")


@case
def huge_d_refused_not_aborted():
    _, np, sp, lamina, _ = _lazy()
    d = 2**40   # valid CSR (3 entries) whose dense centroids / centers could not be allocated
    X = sp.csr_matrix((np.ones(3), np.array([0, 5, 2**39], dtype=np.int64), np.arange(4, dtype=np.int64)), shape=(3, d))
    y = [0, 1, 1]
    expect(lambda: lamina.metrics.calinski_harabasz_score(X, y), lamina.LaminaMemoryError, MemoryError, "centroids")
    expect(lambda: lamina.metrics.davies_bouldin_score(X, y), lamina.LaminaMemoryError, MemoryError, "centroids")
    expect(lambda: lamina.cluster.KMeans(2, random_state=0).fit(X), lamina.LaminaMemoryError, MemoryError, "centers")
    expect(lambda: lamina.metrics.silhouette_score(X, y), lamina.InvalidArgumentError, ValueError, "2147483647")


if __name__ == "__main__":
    worker_main(CASES)
    sys.exit(0)

test_sparse_bad_input = crash_tests(__file__, CASES)
