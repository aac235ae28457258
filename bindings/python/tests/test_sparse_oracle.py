"""Sparse (scipy.sparse) input for the internal indices and KMeans, against scikit-learn.

Every scipy container (CSR, CSC, COO, DOK, LIL) is converted once to canonical CSR and computed on by
the library's *_csr functions (never densified). References: scikit-learn on the same sparse matrix
where it accepts one (silhouette, KMeans), on the dense copy otherwise (Davies-Bouldin,
Calinski-Harabasz); Lamina's own dense path for Xie-Beni. Data: random sparse matrices and real SAE
codes (a TopK SAE trained on the bundled MiniLM activations, its codes taken as a sparse matrix).
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

sp = pytest.importorskip("scipy.sparse")
sklearn_metrics = pytest.importorskip("sklearn.metrics")
from sklearn.cluster import KMeans as SKKMeans  # noqa: E402

import lamina  # noqa: E402
from lamina import metrics as M  # noqa: E402
from lamina.cluster import KMeans  # noqa: E402

CONTAINERS = [sp.csr_matrix, sp.csc_matrix, sp.coo_matrix, sp.lil_matrix, sp.dok_matrix, sp.csr_array]
RTOL = {np.float32: 1e-6, np.float64: 1e-12}


def random_sparse(n=300, d=200, density=0.05, k=4, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    X = sp.random(n, d, density=density, format="csr", random_state=seed, dtype=np.float64)
    # cluster structure: each class boosts its own block of columns
    y = rng.integers(0, k, n)
    X = X.tolil()
    for i in range(n):
        X[i, (y[i] * 7) % d] = 3.0 + rng.random()
    X = X.tocsr().astype(dtype)
    X.sort_indices()
    return X, y


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("metric", ["euclidean", "sqeuclidean", "cosine"])
def test_silhouette_samples_random(dtype, metric):
    X, y = random_sparse(dtype=dtype)
    got = M.silhouette_samples(X, y, metric=metric)
    ref = X.astype(np.float64)
    want = sklearn_metrics.silhouette_samples(ref.toarray() if metric == "sqeuclidean" else ref, y, metric=metric)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6 if dtype == np.float32 else 1e-12)
    score = M.silhouette_score(X, y, metric=metric)
    assert score == pytest.approx(float(np.mean(want)), rel=RTOL[dtype], abs=1e-12)


@pytest.mark.parametrize("container", CONTAINERS)
def test_every_container_gives_the_csr_result(container):
    X, y = random_sparse(n=120, d=60, density=0.1)
    want = M.silhouette_samples(X, y)
    np.testing.assert_array_equal(M.silhouette_samples(container(X), y), want)
    assert M.davies_bouldin_score(container(X), y) == M.davies_bouldin_score(X, y)
    assert M.calinski_harabasz_score(container(X), y) == M.calinski_harabasz_score(X, y)


def test_duplicates_and_unsorted_indices_are_canonicalised():
    X, y = random_sparse(n=80, d=40, density=0.1)
    coo = X.tocoo()
    # every entry split in two halves, entries in reverse order: a non-canonical COO / CSR
    data = np.concatenate([coo.data / 2, coo.data / 2])[::-1]
    rows = np.concatenate([coo.row, coo.row])[::-1]
    cols = np.concatenate([coo.col, coo.col])[::-1]
    messy = sp.csr_matrix((data, (rows, cols)), shape=X.shape)
    messy.has_sorted_indices = False
    order = np.lexsort((-cols, rows))   # rows ascending, columns descending and repeated within a row
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=X.shape[0]))])
    raw = sp.csr_matrix((data[order], cols[order], indptr), shape=X.shape)
    assert not raw.has_canonical_format
    before = raw.copy()
    for m in (messy, raw):
        np.testing.assert_allclose(M.silhouette_samples(m, y), M.silhouette_samples(X, y), atol=1e-12)
    # the caller's matrix is not modified
    assert (raw.indices == before.indices).all() and (raw.data == before.data).all()


def test_silhouette_identical_rows_exact_zero():
    # equal rows are at distance exactly 0 (recomputed exactly), as the dense path gives
    X = sp.csr_matrix(np.array([[0, 1.0, 0, 2], [0, 1.0, 0, 2], [5, 0, 0, 0], [5, 0, 1e-9, 0]]))
    got = M.silhouette_samples(X, [0, 0, 1, 1], metric="sqeuclidean")
    want = sklearn_metrics.silhouette_samples(X.toarray(), [0, 0, 1, 1], metric="sqeuclidean")
    np.testing.assert_allclose(got, want, atol=1e-15)
    assert got[0] == 1.0 and got[1] == 1.0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_db_ch_xb_random(dtype):
    X, y = random_sparse(dtype=dtype, k=5, seed=3)
    D = X.toarray().astype(np.float64)
    assert M.davies_bouldin_score(X, y) == pytest.approx(sklearn_metrics.davies_bouldin_score(D, y), rel=RTOL[dtype])
    assert M.calinski_harabasz_score(X, y) == pytest.approx(sklearn_metrics.calinski_harabasz_score(D, y), rel=RTOL[dtype])
    assert M.xie_beni_index(X, y) == pytest.approx(M.xie_beni_index(D, y), rel=1e-12)


def test_precomputed_sparse():
    X, y = random_sparse(n=100, d=30, density=0.2)
    D = sklearn_metrics.pairwise_distances(X)
    for container in CONTAINERS:
        got = M.silhouette_samples(container(D), y, metric="precomputed")
        np.testing.assert_allclose(got, sklearn_metrics.silhouette_samples(D, y, metric="precomputed"), atol=1e-12)
    half = M.silhouette_score(sp.csr_matrix(D), y, metric="precomputed", sample_size=50, random_state=0)
    assert half == pytest.approx(sklearn_metrics.silhouette_score(D, y, metric="precomputed", sample_size=50,
                                                                  random_state=0), rel=1e-12)


def test_sample_size_matches_sklearn():
    X, y = random_sparse(n=200, d=50, density=0.1)
    for size in (None, 100):
        got = M.silhouette_score(X, y, sample_size=size, random_state=0)
        want = sklearn_metrics.silhouette_score(X, y, sample_size=size, random_state=0)
        assert got == pytest.approx(want, rel=1e-12)


def test_unsupported_sparse_options_are_refused():
    X, y = random_sparse(n=50, d=20, density=0.2)
    with pytest.raises(ValueError, match="sparse x supports 'euclidean'"):
        M.silhouette_samples(X, y, metric="manhattan")
    with pytest.raises(ValueError, match="point_pair"):
        M.xie_beni_index(X, y, separation="point_pair")
    with pytest.raises(ValueError, match="sparse"):
        M.gdv(X, y)


# -- KMeans -------------------------------------------------------------------------------------------

def _sk(X, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return SKKMeans(**kw).fit(X)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("weighted", [False, True])
def test_kmeans_same_start_same_result(dtype, weighted):
    X, _ = random_sparse(n=400, d=80, density=0.08, k=6, dtype=dtype, seed=5)
    rng = np.random.default_rng(1)
    init = X[rng.choice(X.shape[0], 6, replace=False)].toarray()
    w = rng.uniform(0.5, 2.0, X.shape[0]) if weighted else None
    ours = KMeans(6, init=init, n_init=1, max_iter=300, tol=1e-4).fit(X, sample_weight=w)
    ref = SKKMeans(6, init=init, n_init=1, max_iter=300, tol=1e-4).fit(X, sample_weight=w)
    np.testing.assert_array_equal(ours.labels_, ref.labels_)
    assert ours.n_iter_ == ref.n_iter_
    assert ours.inertia_ == pytest.approx(ref.inertia_, rel=RTOL[dtype])
    assert ours.cluster_centers_.dtype == ref.cluster_centers_.dtype
    np.testing.assert_allclose(ours.cluster_centers_, ref.cluster_centers_, rtol=1e-5 if dtype == np.float32 else 1e-12,
                               atol=1e-6 if dtype == np.float32 else 1e-13)
    # predict / transform / score on sparse and on dense rows agree with scikit-learn's fitted model
    np.testing.assert_array_equal(ours.predict(X), ref.predict(X))
    np.testing.assert_allclose(ours.transform(X), ref.transform(X), rtol=1e-5 if dtype == np.float32 else 1e-11,
                               atol=1e-5 if dtype == np.float32 else 1e-12)
    assert ours.score(X, sample_weight=w) == pytest.approx(ref.score(X, sample_weight=w), rel=RTOL[dtype] * 10)
    np.testing.assert_array_equal(ours.predict(X.toarray()), ours.predict(X))


@pytest.mark.parametrize("init", ["k-means++", "random"])
def test_kmeans_seeding_quality_and_determinism(init):
    X, _ = random_sparse(n=500, d=100, density=0.05, k=5, seed=7)
    a = KMeans(5, init=init, n_init=4, random_state=0).fit(X)
    b = KMeans(5, init=init, n_init=4, random_state=0).fit(sp.csc_matrix(X))
    np.testing.assert_array_equal(a.labels_, b.labels_)
    assert a.inertia_ == b.inertia_
    ref = _sk(X, n_clusters=5, init=init, n_init=4, random_state=0)
    assert a.inertia_ <= ref.inertia_ * 1.05
    # the inertia is the exact sum of squared distances to the centers
    D = X.toarray()
    exact = ((D - a.cluster_centers_[a.labels_]) ** 2).sum()
    assert a.inertia_ == pytest.approx(exact, rel=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_kmeans_callable_init_like_sklearn(dtype):
    # scikit-learn calls init(X, n_clusters, random_state=RandomState) once per restart on the sparse X
    # itself (never centred) and keeps the restart of least inertia: the same calls, the same result.
    X, _ = random_sparse(n=300, d=60, density=0.1, k=4, dtype=dtype, seed=9)
    seen = []

    def init(Xs, k, random_state):
        seen.append((sp.issparse(Xs), Xs.dtype, abs(Xs - X).max()))
        return Xs[random_state.choice(Xs.shape[0], k, replace=False)].toarray()

    ours = KMeans(4, init=init, n_init=3, random_state=5).fit(X)
    calls = len(seen)
    ref = SKKMeans(4, init=init, n_init=3, random_state=5).fit(X)
    assert calls == 3 and ours._n_init == 3
    assert all(s[0] and s[1] == dtype and s[2] == 0 for s in seen)
    np.testing.assert_array_equal(ours.labels_, ref.labels_)
    assert ours.n_iter_ == ref.n_iter_
    assert ours.inertia_ == pytest.approx(ref.inertia_, rel=RTOL[dtype])
    assert ours.cluster_centers_.dtype == ref.cluster_centers_.dtype


def test_kmeans_empty_cluster_relocation_matches_sklearn():
    # two far duplicates groups and a start with two centers on one group: a cluster empties
    X = sp.csr_matrix(np.array([[0, 0, 1.0]] * 5 + [[10.0, 0, 0]] * 3 + [[0, 9.0, 0]] * 2))
    init = np.array([[0, 0, 1.0], [0, 0, 1.1], [100.0, 100, 100]])
    ours = KMeans(3, init=init, n_init=1).fit(X)
    ref = _sk(X, n_clusters=3, init=init, n_init=1)
    np.testing.assert_array_equal(ours.labels_, ref.labels_)
    assert ours.n_iter_ == ref.n_iter_
    assert ours.inertia_ == pytest.approx(ref.inertia_, abs=1e-12)


# -- real SAE codes ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sae_codes(real_data):
    X = np.asarray(real_data.layer(6))[:1500]
    y = np.asarray(real_data.labels(sorted(_label_names(real_data))[0]))[:1500]
    sae = lamina.sae.SparseAutoencoder(n_latents=1024, k=16, batch_size=256, random_state=0).fit(X, epochs=2)
    idx, val = sae.encode(X, sparse=True)
    rows = np.repeat(np.arange(X.shape[0]), idx.shape[1])
    keep = idx.ravel() >= 0
    codes = sp.csr_matrix((val.ravel()[keep], (rows[keep], idx.ravel()[keep])), shape=(X.shape[0], 1024), dtype=np.float32)
    codes.eliminate_zeros()
    return codes, y


def _label_names(real_data):
    import h5py
    with h5py.File(real_data.path, "r") as f:
        return [name for name in f["labels"] if f["labels"][name].shape == f["target/layer_6"].shape[:1]]


def test_real_sae_codes(sae_codes):
    codes, y = sae_codes
    assert codes.nnz <= 16 * codes.shape[0]
    c64 = codes.astype(np.float64)
    np.testing.assert_allclose(M.silhouette_samples(c64, y), sklearn_metrics.silhouette_samples(c64, y), atol=1e-12)
    np.testing.assert_allclose(M.silhouette_samples(codes, y), sklearn_metrics.silhouette_samples(c64, y), atol=1e-6)
    D = c64.toarray()
    assert M.davies_bouldin_score(codes, y) == pytest.approx(sklearn_metrics.davies_bouldin_score(D, y), rel=1e-6)
    assert M.calinski_harabasz_score(c64, y) == pytest.approx(sklearn_metrics.calinski_harabasz_score(D, y), rel=1e-12)
    init = D[:: D.shape[0] // 8][:8]
    ours = KMeans(8, init=init, n_init=1).fit(c64)
    ref = SKKMeans(8, init=init, n_init=1).fit(c64)
    np.testing.assert_array_equal(ours.labels_, ref.labels_)
    assert ours.n_iter_ == ref.n_iter_
    assert ours.inertia_ == pytest.approx(ref.inertia_, rel=1e-12)
