"""scikit-learn's KMeans options and the metrics' scikit-learn error behaviour (issue 14), each checked
against scikit-learn itself: sample_weight (weighted means, inertia, k-means++ / random draws, relocation),
callable init, the warnings, get_feature_names_out, copy_x, score(sample_weight=),
mutual_info_score(contingency=), and the messages of the external and internal indices' input checks."""
from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")
import scipy.sparse as sp  # noqa: E402
from sklearn.cluster import KMeans as SkKMeans  # noqa: E402
from sklearn.datasets import make_blobs  # noqa: E402
from sklearn import metrics as skm  # noqa: E402

import lamina  # noqa: E402
from lamina import metrics as lm  # noqa: E402
from lamina.cluster import KMeans  # noqa: E402


def _blobs(n=300, d=5, centers=4, seed=0, dtype=np.float64):
    x, _ = make_blobs(n_samples=n, n_features=d, centers=centers, cluster_std=2.0, random_state=seed)
    return x.astype(dtype)


# -- sample_weight ------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_weighted_fit_matches_sklearn_from_same_start(dtype, seed):
    rng = np.random.RandomState(seed)
    x = _blobs(seed=seed, dtype=dtype)
    w = rng.uniform(0.1, 3.0, size=x.shape[0]).astype(dtype)
    w[rng.rand(x.shape[0]) < 0.1] = 0.0            # some zero weights too
    init = x[rng.choice(x.shape[0], 4, replace=False)].copy()
    ours = KMeans(4, init=init, n_init=1, tol=0).fit(x, sample_weight=w)
    ref = SkKMeans(4, init=init, n_init=1, tol=0, algorithm="lloyd").fit(x, sample_weight=w)
    np.testing.assert_array_equal(ours.labels_, ref.labels_)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(ours.cluster_centers_, ref.cluster_centers_, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(ours.inertia_, ref.inertia_, rtol=rtol)
    assert ours.n_iter_ == ref.n_iter_
    assert ours.cluster_centers_.dtype == ref.cluster_centers_.dtype


@pytest.mark.parametrize("init", ["k-means++", "random"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_unit_weights_are_the_unweighted_fit(init, dtype):
    x = _blobs(dtype=dtype)
    a = KMeans(4, init=init, n_init=3, random_state=7).fit(x)
    b = KMeans(4, init=init, n_init=3, random_state=7).fit(x, sample_weight=np.ones(x.shape[0]))
    c = KMeans(4, init=init, n_init=3, random_state=7).fit(x, sample_weight=1.0)
    for other in (b, c):
        np.testing.assert_array_equal(a.labels_, other.labels_)
        np.testing.assert_array_equal(a.cluster_centers_, other.cluster_centers_)
        assert a.inertia_ == other.inertia_ and a.n_iter_ == other.n_iter_


@pytest.mark.parametrize("init", ["k-means++", "random"])
def test_scaled_weights_same_clustering(init):
    x = _blobs()
    w = np.random.RandomState(3).uniform(size=x.shape[0])
    a = KMeans(4, init=init, n_init=2, random_state=5).fit(x, sample_weight=w)
    b = KMeans(4, init=init, n_init=2, random_state=5).fit(x, sample_weight=0.5 * w)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    np.testing.assert_allclose(a.cluster_centers_, b.cluster_centers_, rtol=1e-12)
    np.testing.assert_allclose(b.inertia_, 0.5 * a.inertia_, rtol=1e-12)


def test_integer_weights_are_repeated_samples():
    x = _blobs(n=200)
    w = np.random.RandomState(4).randint(1, 5, size=x.shape[0])
    init = x[:4].copy()
    a = KMeans(4, init=init, n_init=1).fit(x, sample_weight=w)
    b = KMeans(4, init=init, n_init=1).fit(np.repeat(x, w, axis=0))
    np.testing.assert_array_equal(np.repeat(a.labels_, w), b.labels_)
    np.testing.assert_allclose(a.cluster_centers_, b.cluster_centers_, rtol=1e-10)
    np.testing.assert_allclose(a.inertia_, b.inertia_, rtol=1e-10)


@pytest.mark.parametrize("init", ["k-means++", "random"])
def test_zero_weight_points_are_never_seeds(init):
    # Two far blobs; the second has weight 0: weighted seeding never picks it, and zero-weight points do
    # not move the centers, so every center stays among the first blob.
    rng = np.random.RandomState(0)
    a = rng.normal(size=(100, 3))
    b = rng.normal(size=(100, 3)) + 100.0
    x = np.vstack([a, b])
    w = np.r_[np.ones(100), np.zeros(100)]
    for seed in range(5):
        km = KMeans(3, init=init, n_init=2, random_state=seed).fit(x, sample_weight=w)
        assert np.all(km.cluster_centers_ < 50), km.cluster_centers_
        unweighted = KMeans(3, init=init, n_init=2, random_state=seed).fit(x)
        assert np.any(unweighted.cluster_centers_ > 50)


def test_weighted_plusplus_quality_like_sklearn():
    x = _blobs(n=2000, d=8, centers=10, seed=1)
    w = np.random.RandomState(1).exponential(size=x.shape[0])
    ours = np.mean([KMeans(10, n_init=1, random_state=s).fit(x, sample_weight=w).inertia_ for s in range(8)])
    ref = np.mean([SkKMeans(10, n_init=1, random_state=s).fit(x, sample_weight=w).inertia_ for s in range(8)])
    assert ours <= 1.1 * ref, (ours, ref)


def test_weighted_empty_cluster_relocated():
    # scikit-learn's test_kmeans_empty_cluster_relocated, and its relocation with weights
    x = np.array([[-1.0], [1.0]])
    km = KMeans(2, init=np.array([[-1.0], [10.0]]), n_init=1).fit(x, sample_weight=[1.9, 0.1])
    assert set(km.labels_) == {0, 1}
    np.testing.assert_allclose(km.cluster_centers_, [[-1], [1]])
    rng = np.random.RandomState(2)
    x = rng.normal(size=(60, 2))
    w = rng.uniform(0.5, 2, size=60)
    init = np.array([[0.0, 0.0], [50.0, 50.0], [-50.0, 50.0]])
    ours = KMeans(3, init=init, n_init=1).fit(x, sample_weight=w)
    ref = SkKMeans(3, init=init, n_init=1).fit(x, sample_weight=w)
    np.testing.assert_array_equal(ours.labels_, ref.labels_)
    np.testing.assert_allclose(ours.cluster_centers_, ref.cluster_centers_, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ours.inertia_, ref.inertia_, rtol=1e-12)
    assert ours.n_iter_ == ref.n_iter_


def test_sample_weight_checks_and_unchanged():
    x = np.array([[1.0], [2.0], [4.0]])
    w = np.array([0.5, 0.2, 0.3])
    KMeans(2, random_state=0).fit(x, sample_weight=w)
    np.testing.assert_array_equal(w, [0.5, 0.2, 0.3])
    with pytest.raises(ValueError, match=r"sample_weight.shape == \(2,\), expected \(3,\)"):
        KMeans(2).fit(x, sample_weight=[1, 2])
    with pytest.raises(ValueError, match="expected weights >= 0"):
        KMeans(2).fit(x, sample_weight=[1, -1, 1])
    with pytest.raises(ValueError, match="sample_weight"):
        KMeans(2).fit(x, sample_weight=[1, np.nan, 1])
    with pytest.raises(ValueError, match="at least one non-zero number"):
        KMeans(2).fit(x, sample_weight=[0, 0, 0])
    with pytest.raises(ValueError, match="only 1 samples have a positive weight"):
        KMeans(2, init="random").fit(x, sample_weight=[0, 0, 1])


def test_score_with_weights_like_sklearn():
    x = _blobs()
    w = np.random.RandomState(0).uniform(size=x.shape[0])
    init = x[:4].copy()
    ours = KMeans(4, init=init, n_init=1).fit(x)
    ref = SkKMeans(4, init=init, n_init=1).fit(x)
    np.testing.assert_allclose(ours.score(x, sample_weight=w), ref.score(x, sample_weight=w), rtol=1e-10)
    np.testing.assert_allclose(ours.score(x), ref.score(x), rtol=1e-10)


# -- other KMeans options -----------------------------------------------------------------------------

def test_callable_init_like_sklearn():
    x = _blobs()
    calls = []

    def init(X, k, random_state):
        calls.append(X.copy())
        return X[random_state.choice(X.shape[0], k, replace=False)]

    ours = KMeans(4, init=init, n_init=3, random_state=11).fit(x)
    ref = SkKMeans(4, init=init, n_init=3, random_state=11).fit(x)
    np.testing.assert_allclose(calls[0], calls[3], atol=1e-12)   # centred X, as scikit-learn passes it
    assert ours._n_init == 3
    np.testing.assert_array_equal(ours.labels_, ref.labels_)
    np.testing.assert_allclose(ours.inertia_, ref.inertia_, rtol=1e-10)
    assert KMeans(4, init=init).fit(x)._n_init == 10        # n_init="auto" with a callable: 10
    with pytest.raises(ValueError, match="does not match the number of clusters"):
        KMeans(4, init=lambda X, k, random_state: X[:2], n_init=1).fit(x)
    with pytest.raises(ValueError, match="does not match the number of features"):
        KMeans(4, init=lambda X, k, random_state: X[:4, :2], n_init=1).fit(x)


def test_warnings_like_sklearn():
    x = _blobs()
    with pytest.warns(RuntimeWarning, match="Explicit initial center position passed: performing only one init"):
        km = KMeans(4, init=x[:4], n_init=10).fit(x)
    assert km._n_init == 1
    with pytest.warns(RuntimeWarning, match="algorithm='elkan' doesn't make sense for a single cluster"):
        KMeans(1, algorithm="elkan").fit(x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        KMeans(4, init=x[:4], n_init="auto").fit(x)
        KMeans(4, init=x[:4], n_init=1).fit(x)


def test_feature_names_copy_x_fit_transform():
    x = _blobs()
    km = KMeans(3, random_state=0)
    t = km.fit_transform(x)
    np.testing.assert_allclose(t, km.transform(x), rtol=1e-12)
    np.testing.assert_array_equal(km.get_feature_names_out(), ["kmeans0", "kmeans1", "kmeans2"])
    assert km.get_feature_names_out().dtype == object
    with pytest.raises(ValueError, match="input_features should have length equal to number of features"):
        km.get_feature_names_out(["a"])
    with pytest.raises(lamina.NotFittedError):
        KMeans(3).get_feature_names_out()
    before = x.copy()
    KMeans(3, copy_x=False, random_state=0).fit(x)
    np.testing.assert_array_equal(x, before)
    with pytest.raises(ValueError, match="copy_x"):
        KMeans(3, copy_x="yes").fit(x)
    with pytest.raises(ValueError, match="verbose"):
        KMeans(3, verbose=-1).fit(x)


# -- KMeans._init_centroids (scikit-learn's private seeding method) -----------------------------------

def _weighted_inertia(x, centers, w):
    x, c = x.astype(np.float64), centers.astype(np.float64)
    d2 = ((x[:, None, :] - c[None, :, :]) ** 2).sum(-1).min(1)
    return float(d2.sum() if w is None else d2 @ w.astype(np.float64))


@pytest.mark.parametrize("init", ["k-means++", "random"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("offset", [0.0, 1e4])   # 1e4: badly scaled, the fit seeds on a centred copy
def test_init_centroids_is_the_fits_start(init, dtype, weighted, offset, capsys):
    # Structureless data, so that other seeds give another first inertia. The fit's verbose line
    # "Iteration 0, inertia v." is the inertia of the first assignment at the centers it starts from.
    rng = np.random.RandomState(3)
    x = (rng.uniform(-1, 1, size=(300, 4)) + offset).astype(dtype)
    w = rng.uniform(0.2, 2.0, size=x.shape[0]).astype(dtype) if weighted else None
    inertias = set()
    for seed in range(4):
        seeds = KMeans()._init_centroids(x, None, init, seed, w, n_centroids=6)
        assert seeds.dtype == x.dtype and seeds.shape == (6, 4)
        assert all(np.flatnonzero((x == s).all(1)).size == 1 for s in seeds)   # rows of x
        assert np.unique(seeds, axis=0).shape[0] == 6
        capsys.readouterr()
        KMeans(6, init=init, n_init=1, max_iter=1, verbose=1, random_state=seed).fit(x, sample_weight=w)
        first = float(re.search(r"^Iteration 0, inertia (\S+)\.$", capsys.readouterr().out, re.M).group(1))
        want = _weighted_inertia(x, seeds, w)
        np.testing.assert_allclose(first, want, rtol=1e-9)
        inertias.add(round(want, 6))
    assert len(inertias) == 4   # the seed matters


@pytest.mark.parametrize("init", ["k-means++", "random"])
@pytest.mark.parametrize("container", [sp.csr_matrix, sp.csc_array])
def test_init_centroids_sparse_is_the_sparse_fits_start(init, container):
    # The CSR fit seeds on its own (not the dense fit's draws); one Lloyd step from these seeds gives
    # the fit's centers with max_iter=1 (float64 labels; no ties on continuous data).
    rng = np.random.RandomState(4)
    dense = rng.uniform(0, 1, size=(200, 5)) * (rng.rand(200, 5) < 0.6)
    dense[:, 0] = rng.uniform(0.1, 1, size=200)   # distinct rows (no duplicate seeds)
    w = rng.uniform(0.2, 2.0, size=200)
    for seed in range(3):
        seeds = KMeans()._init_centroids(container(dense), None, init, seed, w, n_centroids=4)
        assert seeds.dtype == np.float64 and all(np.flatnonzero((dense == s).all(1)).size >= 1 for s in seeds)
        km = KMeans(4, init=init, n_init=1, max_iter=1, random_state=seed).fit(container(dense), sample_weight=w)
        labels = ((dense[:, None, :] - seeds[None, :, :]) ** 2).sum(-1).argmin(1)
        want = np.array([np.average(dense[labels == c], axis=0, weights=w[labels == c]) for c in range(4)])
        np.testing.assert_allclose(km.cluster_centers_, want, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("init", ["k-means++", "random"])
@pytest.mark.parametrize("sparse", [False, True])
def test_init_centroids_weights_are_used_and_zero_weights_never_drawn(init, sparse):
    # scikit-learn's test_sample_weight_init / test_sample_weight_zero, over several seeds
    x, _ = make_blobs(n_samples=100, n_features=5, centers=5, random_state=0)
    X = sp.csr_matrix(x) if sparse else x
    for seed in range(5):
        w = np.random.RandomState(seed).uniform(size=100)
        weighted = KMeans()._init_centroids(X, None, init, np.random.RandomState(seed), w, n_centroids=5)
        plain = KMeans()._init_centroids(X, None, init, np.random.RandomState(seed), np.ones(100), n_centroids=5)
        assert not np.allclose(weighted, plain)
        w[::2] = 0
        centers = KMeans()._init_centroids(X, None, init, seed, w, n_centroids=10)
        d = np.sqrt(((x[::2, None, :] - centers[None, :, :]) ** 2).sum(-1))
        assert not np.any(np.isclose(d, 0))
    # unit weights are no weights
    a = KMeans()._init_centroids(X, None, init, 3, None, n_centroids=4)
    b = KMeans()._init_centroids(X, None, init, 3, np.ones(100), n_centroids=4)
    np.testing.assert_array_equal(a, b)


def test_init_centroids_arguments_like_sklearn():
    x = _blobs(n=50, d=3, centers=2)
    km = KMeans(3)
    # random_state as fit maps it: a RandomState gives one draw, an int is the seed, None uses numpy's
    # global generator
    a = km._init_centroids(x, None, "k-means++", np.random.RandomState(5), None)
    b = km._init_centroids(x, None, "k-means++", int(np.random.RandomState(5).randint(0, 2**31 - 1)), None)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (3, 3)   # n_centroids None: n_clusters
    np.random.seed(7)
    a = km._init_centroids(x, None, "random", None, None)
    np.random.seed(7)
    np.testing.assert_array_equal(a, km._init_centroids(x, None, "random", None, None))
    # x_squared_norms accepted (not used), checked for length; init_size only when it does not subsample
    norms = (x ** 2).sum(1)
    np.testing.assert_array_equal(km._init_centroids(x, norms, "random", 1, None, init_size=50),
                                  km._init_centroids(x, None, "random", 1, None))
    with pytest.raises(ValueError, match="x_squared_norms"):
        km._init_centroids(x, norms[:3], "random", 1, None)
    with pytest.raises(ValueError, match="init_size=10.*MiniBatchKMeans"):
        km._init_centroids(x, None, "k-means++", 1, None, init_size=10)
    # an array is returned as given (X's dtype); a callable is called as scikit-learn calls it
    given = x[:3].astype(np.float32)
    out = km._init_centroids(x, None, given, 1, None)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, given)
    with pytest.raises(ValueError, match="does not match the number of clusters 3"):
        km._init_centroids(x, None, x[:2], 1, None)
    seen = {}

    def init(X, k, random_state):
        seen.update(X=X, k=k, rs=random_state)
        return X[-k:]
    out = km._init_centroids(x, None, init, 9, None, n_centroids=2)
    assert seen["X"] is x and seen["k"] == 2 and isinstance(seen["rs"], np.random.RandomState)
    np.testing.assert_array_equal(out, x[-2:])
    with pytest.raises(ValueError, match="not supported"):
        km._init_centroids(x, None, "kmeans++", 1, None)


# -- mutual_info_score(contingency=) ------------------------------------------------------------------

@pytest.mark.parametrize("form", ["dense", "csr", "csc", "coo", "float"])
def test_mutual_info_contingency(form):
    rng = np.random.RandomState(0)
    a, b = rng.randint(0, 6, 500), rng.randint(0, 4, 500)
    c = skm.cluster.contingency_matrix(a, b)
    given = {"dense": c, "csr": sp.csr_matrix(c), "csc": sp.csc_matrix(c), "coo": sp.coo_matrix(c),
             "float": c.astype(float)}[form]
    want = skm.mutual_info_score(None, None, contingency=c)
    assert abs(lm.mutual_info_score(None, None, contingency=given) - want) <= 1e-12 * abs(want)
    assert abs(lm.mutual_info_score(a, b) - want) <= 1e-12 * abs(want)
    assert lm.mutual_info_score(None, None, contingency=np.array([[3, 4, 5]])) == 0.0


def test_mutual_info_contingency_bad():
    with pytest.raises(ValueError, match="count -1"):
        lm.mutual_info_score(None, None, contingency=np.array([[1, -1], [2, 3]]))
    with pytest.raises(ValueError, match="non-integer"):
        lm.mutual_info_score(None, None, contingency=np.array([[1.5, 1], [2, 3]]))
    with pytest.raises(ValueError, match="2D"):
        lm.mutual_info_score(None, None, contingency=np.array([1, 2]))
    with pytest.raises(ValueError, match="format"):
        lm.mutual_info_score(None, None, contingency=sp.lil_matrix(np.eye(2)))


# -- the indices' input checks, with scikit-learn's messages ------------------------------------------

EXTERNAL = ["adjusted_rand_score", "rand_score", "homogeneity_score", "completeness_score", "v_measure_score",
            "adjusted_mutual_info_score", "normalized_mutual_info_score", "mutual_info_score",
            "fowlkes_mallows_score"]


@pytest.mark.parametrize("name", EXTERNAL)
def test_external_errors_like_sklearn(name):
    ours, ref = getattr(lm, name), getattr(skm, name)
    cases = [([0, 1], [1, 1, 1]), ([[0, 1], [1, 0]], [1, 1, 1]), ([0, 1, 0], [[1, 1], [0, 0]]),
             ([0, 1], [np.nan, np.inf]), ([0, 1], [np.inf, np.inf]), ([np.nan, 0], [0, 1])]
    for t, p in cases:
        with pytest.raises(ValueError) as theirs:
            ref(t, p)
        with pytest.raises(ValueError) as mine:
            ours(t, p)
        assert str(mine.value).startswith(str(theirs.value)), (str(mine.value), str(theirs.value))
    with pytest.warns(UserWarning, match="Clustering metrics expects discrete values but received continuous"):
        ours(np.linspace(0.01, 1, 20), np.arange(20) % 3)


@pytest.mark.parametrize("name", ["silhouette_score", "davies_bouldin_score", "calinski_harabasz_score"])
def test_internal_label_errors_like_sklearn(name):
    ours, ref = getattr(lm, name), getattr(skm, name)
    x = np.random.RandomState(0).randint(10, size=(4, 3))
    for labels in ([np.inf] * 4, [np.nan] * 4, [0, np.nan, 1, np.inf]):
        with pytest.raises(ValueError) as theirs:
            ref(x, labels)
        with pytest.raises(ValueError) as mine:
            ours(x, labels)
        assert str(mine.value).startswith(str(theirs.value)), (str(mine.value), str(theirs.value))
    xn = x.astype(float)
    xn[1, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        ours(xn, [0, 0, 0, 0])       # NaN in X before "Number of labels is 1"


# -- verbose ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("tol", [1e-2, 0])
def test_verbose_lines_like_sklearn(tol, capsys):
    x = np.random.RandomState(0).normal(size=(2000, 10))
    init = x[:8].copy()
    ours = KMeans(8, init=init, n_init=1, tol=tol, verbose=1).fit(x)
    mine = capsys.readouterr().out
    ref = SkKMeans(8, init=init, n_init=1, tol=tol, verbose=1).fit(x)
    theirs = capsys.readouterr().out
    assert ours.n_iter_ == ref.n_iter_
    assert mine.startswith("Initialization complete\n")
    number = r"([-+0-9.e]*[0-9])"
    ours_it = [float(v) for v in re.findall(r"Iteration \d+, inertia " + number, mine)]
    ref_it = [float(v) for v in re.findall(r"Iteration \d+, inertia " + number, theirs)]
    assert len(ours_it) == len(ref_it) == ref.n_iter_
    np.testing.assert_allclose(ours_it, ref_it, rtol=1e-10)
    if tol == 0:
        assert "strict convergence" in mine and "strict convergence" in theirs
    else:
        shift = float(re.search(r"center shift " + number + " within tolerance", mine).group(1))
        ref_shift = float(re.search(r"center shift " + number + " within tolerance", theirs).group(1))
        np.testing.assert_allclose(shift, ref_shift, rtol=1e-6)
    KMeans(8, n_init=3, random_state=0, verbose=0).fit(x)
    assert capsys.readouterr().out == ""
    KMeans(8, n_init=3, random_state=0, verbose=True).fit(x)
    assert capsys.readouterr().out.count("Initialization complete") == 3


# -- silhouette metric="minkowski" --------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("p", [1, 1.5, 2, 3, np.inf, 0.5])
def test_silhouette_minkowski_like_sklearn(dtype, p):
    rng = np.random.RandomState(1)
    x = (rng.normal(size=(700, 6)) + np.repeat(rng.normal(size=(4, 6)) * 3, 175, axis=0)).astype(dtype)
    labels = np.repeat(np.arange(4), 175)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = skm.silhouette_samples(x.astype(np.float64), labels, metric="minkowski", p=p)
    got = lm.silhouette_samples(x, labels, metric="minkowski", p=p)
    tol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
    assert abs(lm.silhouette_score(x, labels, metric="minkowski", p=p) - np.mean(want)) <= tol
    if p == 2:
        np.testing.assert_allclose(lm.silhouette_samples(x, labels, metric="minkowski"), want, rtol=tol, atol=tol)


def test_silhouette_minkowski_bad():
    x = np.random.RandomState(0).normal(size=(10, 3))
    labels = np.arange(10) % 2
    for p in (0, -1, np.nan, "2", None, True):
        with pytest.raises(ValueError, match="p="):
            lm.silhouette_score(x, labels, metric="minkowski", p=p)
    with pytest.raises(ValueError, match="does not take"):
        lm.silhouette_score(x, labels, metric="euclidean", p=3)
    with pytest.raises(ValueError, match="does not take"):
        lm.silhouette_samples(x, labels, metric="minkowski", w=np.ones(3))
