"""Bad input for issue 14's scikit-learn options, each case in a worker subprocess (a Swift trap would
kill the interpreter): lamina_kmeans_fit_weighted(_f64), lamina_kmeans_init_centers (and its _f64 and CSR
twins) and lamina_mutual_info_score_contingency
called directly through ctypes (bypassing the Python checks), and the Python API with odd types."""
from __future__ import annotations

import sys

from isolated import case_registry, crash_tests, expect, expect_status, worker_main

CASES, case = case_registry()


def _lazy():
    import ctypes

    import numpy as np

    import lamina
    from lamina import _native as N
    return ctypes, np, lamina, N


def _model(init=2, k=2):
    ctypes, _, _, N = _lazy()
    p = N.lib.lamina_kmeans_default_params()
    p.n_clusters, p.init = k, init
    h = ctypes.c_void_p()
    expect_status(0, N.lib.lamina_kmeans_create(ctypes.byref(p), ctypes.byref(h)))
    return h


@case
def c_weighted_fit_bad_weights():
    _, np, _, N = _lazy()
    x = np.array([[0, 0], [0, 1], [10, 10], [10, 11]], dtype=np.float64)
    init = np.ascontiguousarray(x[[0, 2]])
    h = _model()
    fit = N.lib.lamina_kmeans_fit_weighted_f64
    for w, status, word in [([1, np.nan, 1, 1], 3, "sample_weight[1]"), ([1, 1, -np.inf, 1], 3, "sample_weight[2]"),
                            ([1, 1, 1, -0.5], 1, "sample_weight[3]"), ([0, 0, 0, 0], 1, "sums to"),
                            ([1e308, 1e308, 1e308, 0], 1, "finite positive sum"), ([-0.0, 0, 0, 0], 1, "sums to")]:
        arr = np.array(w, dtype=np.float64)
        expect_status(status, fit(h, N.dptr(x), 4, 2, N.dptr(init), N.dptr(arr)), word)
    expect_status(0, fit(h, N.dptr(x), 4, 2, N.dptr(init), None))
    w = np.array([1, 2, 3, 4], dtype=np.float64)
    expect_status(1, fit(h, N.dptr(x), 0, 2, N.dptr(init), N.dptr(w)), "n is 0")
    expect_status(1, fit(h, N.dptr(x), 4, 2, None, N.dptr(w)), "init_centers is NULL")
    expect_status(1, fit(None, N.dptr(x), 4, 2, N.dptr(init), N.dptr(w)))
    N.lib.lamina_kmeans_free(h)


@case
def c_weighted_fit_float32_and_random_init():
    _, np, _, N = _lazy()
    x = np.array([[0, 0], [0, 1], [10, 10], [10, 11]], dtype=np.float32)
    h = _model(init=1, k=3)
    w = np.array([1, 0, 0, 1], dtype=np.float32)
    expect_status(1, N.lib.lamina_kmeans_fit_weighted(h, N.fptr(x), 4, 2, None, N.fptr(w)), "only 2 samples")
    w = np.array([1, np.float32(np.inf), 0, 1], dtype=np.float32)
    expect_status(3, N.lib.lamina_kmeans_fit_weighted(h, N.fptr(x), 4, 2, None, N.fptr(w)), "sample_weight[1]")
    w = np.array([1, 1, 1, 1], dtype=np.float32)
    expect_status(1, N.lib.lamina_kmeans_fit_weighted(h, N.fptr(x), 4, 2, N.fptr(x), N.fptr(w)), "init_centers is not NULL")
    expect_status(0, N.lib.lamina_kmeans_fit_weighted(h, N.fptr(x), 4, 2, None, N.fptr(w)))
    N.lib.lamina_kmeans_free(h)


@case
def c_init_centers_bad_arguments():
    ctypes, np, _, N = _lazy()
    x = np.array([[0, 0], [0, 1], [10, 10], [10, 11]], dtype=np.float64)
    w = np.array([1, 1, 1, 1], dtype=np.float64)
    out = np.zeros((2, 2), dtype=np.float64)
    idx = np.zeros(2, dtype=np.int64)
    h = _model(init=0)
    fn = N.lib.lamina_kmeans_init_centers_f64
    expect_status(0, fn(h, N.dptr(x), 4, 2, N.dptr(w), N.dptr(out), 4, N.lptr(idx)))
    assert sorted(idx.tolist()) in ([0, 2], [0, 3], [1, 2], [1, 3]), idx   # k-means++ picks one per blob here
    expect_status(1, fn(None, N.dptr(x), 4, 2, N.dptr(w), N.dptr(out), 4, None))
    expect_status(1, fn(h, None, 4, 2, N.dptr(w), N.dptr(out), 4, None), "x is NULL")
    expect_status(1, fn(h, N.dptr(x), -4, 2, N.dptr(w), N.dptr(out), 4, None), "n is -4")
    expect_status(1, fn(h, N.dptr(x), 1, 2, None, N.dptr(out), 4, None), "n_samples=1 should be >= n_clusters=2.")
    expect_status(2, fn(h, N.dptr(x), 4, 2, N.dptr(w), N.dptr(out), 3, None), "out_len")
    expect_status(2, fn(h, N.dptr(x), 4, 2, N.dptr(w), N.dptr(out), 2**62, None), "out_len")
    expect_status(1, fn(h, N.dptr(x), 4, 2, N.dptr(w), None, 4, None), "centers_out is NULL")
    for bad, status, word in [([1, np.nan, 1, 1], 3, "sample_weight[1]"), ([1, 1, -1, 1], 1, "sample_weight[2]"),
                              ([0, 0, 0, 0], 1, "sums to"), ([1e308, 1e308, 1, 1], 1, "finite positive sum")]:
        arr = np.array(bad, dtype=np.float64)
        expect_status(status, fn(h, N.dptr(x), 4, 2, N.dptr(arr), N.dptr(out), 4, None), word)
    xn = x.copy()
    xn[3, 1] = np.inf
    expect_status(3, fn(h, N.dptr(xn), 4, 2, None, N.dptr(out), 4, None), "row 3, column 1")
    N.lib.lamina_kmeans_free(h)
    h = _model(init=2)
    expect_status(1, fn(h, N.dptr(x), 4, 2, None, N.dptr(out), 4, None), "LAMINA_KMEANS_INIT_GIVEN")
    N.lib.lamina_kmeans_free(h)
    h = _model(init=1, k=3)
    xf = x.astype(np.float32)
    wf = np.array([1, 0, 0, 1], dtype=np.float32)
    outf = np.zeros((3, 2), dtype=np.float32)
    expect_status(1, N.lib.lamina_kmeans_init_centers(h, N.fptr(xf), 4, 2, N.fptr(wf), N.fptr(outf), 6, None),
                  "only 2 samples")
    expect_status(0, N.lib.lamina_kmeans_init_centers(h, N.fptr(xf), 4, 2, None, N.fptr(outf), 6, None))
    # CSR
    data = np.array([1, 10, 10, 10, 11], dtype=np.float64)
    indices = np.array([1, 0, 1, 0, 1], dtype=np.int64)
    indptr = np.array([0, 0, 1, 3, 5], dtype=np.int64)
    out3 = np.zeros((3, 2), dtype=np.float64)
    csr = N.lib.lamina_kmeans_init_centers_csr_f64
    expect_status(0, csr(h, N.dptr(data), N.lptr(indices), N.lptr(indptr), 5, 4, 2, None, N.dptr(out3), 6, None))
    bad_indptr = np.array([0, 2, 1, 3, 5], dtype=np.int64)
    expect_status(1, csr(h, N.dptr(data), N.lptr(indices), N.lptr(bad_indptr), 5, 4, 2, None, N.dptr(out3), 6, None),
                  "indptr[2]")
    bad_indices = np.array([1, 0, 1, 0, 7], dtype=np.int64)
    expect_status(1, csr(h, N.dptr(data), N.lptr(bad_indices), N.lptr(indptr), 5, 4, 2, None, N.dptr(out3), 6, None),
                  "indices[4]")
    expect_status(1, csr(h, N.dptr(data), N.lptr(indices), N.lptr(indptr), 5, 4, 2, N.dptr(-w), N.dptr(out3), 6, None),
                  "sample_weight[0]")
    expect_status(2, csr(h, N.dptr(data), N.lptr(indices), N.lptr(indptr), 5, 4, 2, None, N.dptr(out3), 5, None), "out_len")
    expect_status(1, csr(h, N.dptr(data), N.lptr(indices), N.lptr(indptr), 5, 2, 2, None, N.dptr(out3), 6, None))
    N.lib.lamina_kmeans_free(h)
    h = _model(init=0, k=2**31 - 1)
    expect_status(2, csr(h, N.dptr(data), N.lptr(indices), N.lptr(indptr), 5, 4, 2**40, None, N.dptr(out3), 6, None),
                  "out_len")
    N.lib.lamina_kmeans_free(h)


@case
def py_init_centroids_bad_arguments():
    _, np, lamina, _ = _lazy()
    from lamina.cluster import KMeans
    x = np.array([[0, 0], [0, 1], [10, 10], [10, 11]], dtype=np.float64)
    km = KMeans(2)
    for kwargs, words in [(dict(init="kmeans"), ("not supported",)), (dict(init_size=2), ("init_size=2", "MiniBatchKMeans")),
                          (dict(init_size=2.5), ("init_size",)), (dict(n_centroids=0), ("n_clusters is 0",)),
                          (dict(n_centroids="3"), ("n_centroids",)), (dict(x_squared_norms=[1, 2]), ("x_squared_norms",)),
                          (dict(sample_weight=[1, 2]), ("expected (4,)",)), (dict(sample_weight=[1, -1, 1, 1]), ("sample_weight[1]",)),
                          (dict(random_state="seed"), ("random_state",)), (dict(random_state=-1), ("random_state",)),
                          (dict(n_centroids=5), ("n_samples=4 should be >= n_clusters=5.",)),
                          (dict(init=np.zeros((3, 2))), ("number of clusters 2",)),
                          (dict(init=lambda X, k, random_state: X[:1]), ("number of clusters 2",))]:
        args = dict(X=x, x_squared_norms=None, init="k-means++", random_state=0, sample_weight=None)
        args.update(kwargs)
        expect(lambda a=args: km._init_centroids(**a), lamina.LaminaError, ValueError, *words)
    expect(lambda: km._init_centroids(np.array([[0.0, np.nan], [1, 1]]), None, "random", 0, None),
           lamina.LaminaError, ValueError, "NaN")
    expect(lambda: km._init_centroids("abc", None, "random", 0, None), lamina.LaminaError, ValueError)


@case
def c_contingency_bad_cells():
    ctypes, np, _, N = _lazy()
    out = ctypes.c_double()
    fn = N.lib.lamina_mutual_info_score_contingency

    def call(rows, cols, counts, nr, nc, nnz=None):
        r, c, v = (np.ascontiguousarray(a, dtype=np.int64) for a in (rows, cols, counts))
        return fn(N.lptr(r), N.lptr(c), N.lptr(v), len(v) if nnz is None else nnz, nr, nc, ctypes.byref(out))
    expect_status(0, call([0, 1], [1, 0], [3, 4], 2, 2))
    expect_status(1, call([0, 2], [1, 0], [3, 4], 2, 2), "row 2")
    expect_status(1, call([0, 1], [1, 5], [3, 4], 2, 2), "column 5")
    expect_status(1, call([0, 1], [1, 0], [3, -4], 2, 2), "count -4")
    expect_status(1, call([0, 1], [1, 0], [2**62, 2**62], 2, 2), "sum to more than")
    expect_status(1, call([0, 1], [1, 0], [2**63 - 1, 1], 2, 2), "sum to more than")
    expect_status(1, call([0], [0], [1], 0, 2), "n_rows")
    expect_status(1, call([0], [0], [1], 2**40, 2), "at most")
    expect_status(1, call([0], [0], [1], 2, 2, nnz=-3), "nnz")
    expect_status(1, fn(None, None, None, 2, 2, 2, ctypes.byref(out)), "rows is NULL")
    expect_status(0, fn(None, None, None, 0, 2, 2, ctypes.byref(out)))
    assert out.value == 0.0


@case
def py_kmeans_sample_weight_types():
    _, np, lamina, _ = _lazy()
    from lamina.cluster import KMeans
    x = np.array([[0, 0], [0, 1], [10, 10], [10, 11]], dtype=np.float64)
    for w, words in [("abc", ("dtype",)), ([[1, 2], [3, 4]], ("1D",)), ([1, 2, 3], ("expected (4,)",)),
                     ([1, None, 1, 1], ("dtype",)), (np.array([1, 2, 3, 4j]), ("dtype",)),
                     ([1, 1, np.inf, 1], ("sample_weight[2]",)), (-1.0, ("expected weights >= 0",))]:
        expect(lambda w=w: KMeans(2, random_state=0).fit(x, sample_weight=w), lamina.LaminaError, ValueError, *words)
    km = KMeans(2, random_state=0).fit(x, sample_weight=np.array([1, 2, 3, 4], dtype=np.int8))
    assert km.cluster_centers_.dtype == np.float64
    expect(lambda: km.score(x, sample_weight=[1, 2]), lamina.LaminaError, ValueError, "expected (4,)")
    expect(lambda: KMeans(2, init=lambda X, k, random_state: "no", n_init=1).fit(x), lamina.LaminaError, ValueError, "init")


@case
def py_contingency_and_labels_types():
    _, np, lamina, _ = _lazy()
    from lamina import metrics as lm
    for c, words in [(np.array([["a", "b"], ["c", "d"]]), ("dtype",)), (np.zeros((2, 2, 2)), ("2D",)),
                     (np.array([[1, np.nan], [2, 3]]), ("NaN",)), (np.array([[0, 2**63]], dtype=np.uint64), ("int64",))]:
        expect(lambda c=c: lm.mutual_info_score(None, None, contingency=c), lamina.LaminaError, ValueError, *words)
    assert lm.mutual_info_score(None, None, contingency=np.array([[True, False], [False, True]])) > 0
    expect(lambda: lm.adjusted_rand_score([0, 1], [np.nan, np.inf]), lamina.LaminaError, ValueError, "Input contains NaN")
    expect(lambda: lm.adjusted_rand_score(0, 1), lamina.LaminaError, ValueError, "must be 1D")
    expect(lambda: lm.silhouette_score(np.eye(3), [0, np.inf, 1]), lamina.LaminaError, ValueError, "Input y contains infinity")


if __name__ == "__main__":
    worker_main(CASES)
    sys.exit(0)

test_sklearn_options_bad_input = crash_tests(__file__, CASES)
