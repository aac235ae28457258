"""HDBSCAN* and FLARE against scikit-learn and the numpy references (reference_hdbscan.py)."""
import warnings
from pathlib import Path

import numpy as np
import pytest

import reference_hdbscan as ref
from lamina.audit import flare_aggregate, flare_detect, hdbscan

sk = pytest.importorskip("sklearn.cluster")
from sklearn.datasets import make_blobs  # noqa: E402
from sklearn.metrics import adjusted_rand_score  # noqa: E402

DATA = Path(__file__).resolve().parents[3] / "examples" / "data" / "minilm_wordnet.h5"


def same_partition(a, b):
    """Equal up to a permutation of the cluster numbers, with the same noise."""
    a, b = np.asarray(a), np.asarray(b)
    if not np.array_equal(a == -1, b == -1):
        return False
    pairs = set(zip(a[a >= 0].tolist(), b[b >= 0].tolist()))
    return len(pairs) == len({p[0] for p in pairs}) == len({p[1] for p in pairs})


def sklearn_stable(x, mcs, ms=None):
    """scikit-learn's own pipeline (its Prim, its condensed tree, its EOM and labelling) with the MST
    edges sorted by a stable sort instead of numpy's default introsort: the one place where the order of
    tied weights is left to the sorting algorithm."""
    from sklearn.cluster._hdbscan._linkage import make_single_linkage, mst_from_data_matrix
    from sklearn.cluster._hdbscan._tree import tree_to_labels
    from sklearn.metrics._dist_metrics import DistanceMetric
    from sklearn.neighbors import NearestNeighbors
    x = np.ascontiguousarray(x, dtype=np.float64)
    k = mcs if ms is None else ms
    core = NearestNeighbors(n_neighbors=k).fit(x).kneighbors(x, k)[0][:, -1]
    mst = mst_from_data_matrix(x, np.ascontiguousarray(core), DistanceMetric.get_metric("euclidean"), 1.0)
    stable = np.argsort(mst["distance"], kind="stable")
    default_is_stable = np.array_equal(stable, np.argsort(mst["distance"]))
    slt = make_single_linkage(mst[stable])
    labels, _ = tree_to_labels(slt, mcs)
    return labels, default_is_stable


def blob_cases():
    for seed in range(6):
        rng = np.random.default_rng(seed)
        d = int(rng.integers(2, 6))
        n = int(rng.integers(200, 700))
        x, _ = make_blobs(n, centers=int(rng.integers(2, 6)), n_features=d, random_state=seed,
                          cluster_std=float(rng.uniform(0.5, 2.5)))
        mcs = int(rng.integers(5, 30))
        ms = None if seed % 2 == 0 else int(rng.integers(1, 20))
        yield x.astype(np.float32), mcs, ms


@pytest.mark.parametrize("case", list(range(6)))
def test_hdbscan_matches_sklearn(case):
    x, mcs, ms = list(blob_cases())[case]
    mine = hdbscan(x, mcs, ms)
    theirs, default_is_stable = sklearn_stable(x, mcs, ms)
    assert same_partition(mine, theirs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        public = sk.HDBSCAN(min_cluster_size=mcs, min_samples=ms).fit(x).labels_
    if default_is_stable:
        assert same_partition(mine, public)
    else:  # tied MST weights sorted in another order: at most the tied points differ
        assert adjusted_rand_score(mine, public) > 0.97
        assert np.mean((mine == -1) != (public == -1)) < 0.02


def test_hdbscan_matches_sklearn_real_data():
    h5py = pytest.importorskip("h5py")
    if not DATA.exists():
        pytest.skip("bundled data missing")
    clusters = []
    with h5py.File(DATA, "r") as f:
        for layer in ("target/layer_3", "target/layer_6"):
            h = np.asarray(f[layer][:1500], dtype=np.float64)
            h -= h.mean(0)
            _, _, vt = np.linalg.svd(h, full_matrices=False)
            x = (h @ vt[:4].T).astype(np.float32)
            for mcs in (10, 40):
                mine = hdbscan(x, mcs)
                theirs, _ = sklearn_stable(x, mcs)
                assert same_partition(mine, theirs), (layer, mcs)
                clusters.append(len(set(mine.tolist()) - {-1}))
    assert max(clusters) >= 2, clusters  # a non-trivial clustering among them


@pytest.mark.parametrize("case", list(range(6)))
def test_condensed_tree_and_stability_match_reference(case):
    x, mcs, ms = list(blob_cases())[case]
    x = x[:300]
    labels, tree = hdbscan(x, mcs, ms, return_tree=True)
    r_labels, rows, stab, _ = ref.hdbscan(x.astype(np.float64), mcs, ms)
    rows = np.array(rows, dtype=float)
    np.testing.assert_array_equal(tree["parent"], rows[:, 0])
    np.testing.assert_array_equal(tree["child"], rows[:, 1])
    np.testing.assert_array_equal(tree["size"], rows[:, 3])
    np.testing.assert_allclose(tree["lambda"], rows[:, 2], rtol=1e-12)
    np.testing.assert_allclose(tree["stability"], stab, rtol=1e-10)
    np.testing.assert_array_equal(labels, r_labels)


def test_aggregate_matches_numpy():
    rng = np.random.default_rng(3)
    n = 50
    conv = rng.normal(size=(n, 4, 3, 3)).astype(np.float32) * 2 + 1
    dense = rng.normal(size=(n, 7)).astype(np.float32)
    mu = [rng.normal(size=4), None]
    var = [rng.uniform(0.5, 2, size=4), None]
    got = flare_aggregate([conv, dense], mu, var)
    want = ref.flare_aggregate([conv.astype(np.float64), dense.astype(np.float64)], mu, var)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    got = flare_aggregate([conv, dense], eps=0.0)
    want = ref.flare_aggregate([conv.astype(np.float64), dense.astype(np.float64)], eps=0.0)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    torch = pytest.importorskip("torch")
    expect = torch.distributions.Normal(torch.tensor(mu[0]).view(1, -1, 1, 1),
                                        torch.sqrt(torch.tensor(var[0]) + 1e-5).view(1, -1, 1, 1))
    lp = expect.log_prob(torch.tensor(conv, dtype=torch.float64)).view(n, -1).min(dim=-1)[0].numpy()
    np.testing.assert_allclose(flare_aggregate([conv], [mu[0]], [var[0]])[:, 0], lp, rtol=1e-12)


def poisoned_features(seed, n_clean=600, n_bad=120, layers=4):
    """Clean samples spread over several classes; poisoned ones abnormal in the shallow layers."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(5, layers)) * 0.6
    clean = centres[rng.integers(0, 5, n_clean)] + rng.normal(size=(n_clean, layers)) * 0.5
    bad = rng.normal(size=(n_bad, layers)) * 0.3 + np.r_[[-4.0] * (layers - 1), 0.0]
    x = np.vstack([clean, bad])
    truth = np.r_[np.zeros(n_clean, bool), np.ones(n_bad, bool)]
    return x, truth


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_flare_detect_matches_reference(seed):
    x, truth = poisoned_features(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        got = flare_detect(x, min_cluster_size=50, xi=0.02, depth=3)
    want = ref.flare_detect(x, min_cluster_size=50, xi=0.02, depth=3)
    assert got["found"] == (want["excluded_layers"] >= 0)
    assert got["excluded_layers"] == want["excluded_layers"]
    if got["found"]:
        assert got["split_lambda"] == pytest.approx(want["split_lambda"], rel=1e-12)
        np.testing.assert_array_equal(got["flags"], want["flags"])
        # scores: flagged samples join the clean core at or above the cut, clean non-noise ones below
        assert np.all(got["scores"][got["flags"]] >= got["cut_distance"])
        # the planted poison is found here
        assert got["flags"][truth].mean() > 0.9 and got["flags"][~truth].mean() < 0.05


def test_walk_matches_released_transcription_on_lamina_tree():
    """The released find_first_large_drop (numpy transcription) applied to Lamina's own condensed tree
    gives the split that flare_detect uses (w = 0 when it finds one there)."""
    checked = 0
    for seed in range(6):
        x, _ = poisoned_features(seed, layers=3)
        sd = x.std(0)
        z = (x - x.mean(0)) / sd
        _, tree = hdbscan(z.astype(np.float32), 50, 51, return_tree=True)  # flare_detect's default min_samples
        for xi, depth in ((0.02, 3), (0.005, 1), (0.05, 2)):
            split = ref.find_first_large_drop(tree["parent"], tree["child"], tree["lambda"], tree["size"], xi, depth)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                got = flare_detect(z.astype(np.float32).astype(np.float64), 50, xi=xi, depth=depth)
            if split is not None:
                assert got["excluded_layers"] == 0
                assert got["split_lambda"] == pytest.approx(tree["lambda"][split], rel=1e-6)  # float32 rows in hdbscan
                checked += 1
            else:
                assert got["excluded_layers"] != 0
    assert checked >= 3


def test_no_split_is_a_documented_result():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 2))  # one Gaussian: no stable split
    with pytest.warns(RuntimeWarning, match="no stable split"):
        got = flare_detect(x, min_cluster_size=100, xi=100.0)
    assert not got["found"] and got["excluded_layers"] == -1 and not got["flags"].any()
    assert np.isnan(got["split_lambda"]) and np.all(np.isnan(got["scores"]))


def test_default_min_samples_is_the_hdbscan_package_convention():
    """The released code's HDBSCAN(min_cluster_size=m) (`hdbscan` package) takes min_samples = m without
    the point itself, i.e. m + 1 here; flare_detect's default is that (capped at n)."""
    x, _ = poisoned_features(4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        default = flare_detect(x, min_cluster_size=50)
        explicit = flare_detect(x, min_cluster_size=50, min_samples=51)
        labels = hdbscan(((x - x.mean(0)) / x.std(0)).astype(np.float32), 50, 51)
    np.testing.assert_array_equal(default["flags"], explicit["flags"])
    np.testing.assert_array_equal(default["scores"], explicit["scores"])
    if default["excluded_layers"] == 0:
        np.testing.assert_array_equal(default["labels"], labels)
    n = 60  # n = min_cluster_size + 10: min_samples 61 > n is capped at n, not an error
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        small = flare_detect(x[:n], min_cluster_size=n - 10)
        capped = flare_detect(x[:n], min_cluster_size=n - 10, min_samples=n)
    np.testing.assert_array_equal(small["flags"], capped["flags"])
