"""Oracle tests of Lamina's external indices (two labelings) against sklearn.metrics.

Random labelings of many sizes and class counts, identical / renamed / degenerate labelings, empty
and one-sample inputs, huge and non-integer label values, 10^5 samples with 1000 classes, and the
real data (lamina.cluster.KMeans clusters of a layer against the gold labels). Tolerance rtol 1e-10
(AMI: 1e-7, Lamina uses lgamma where scikit-learn mixes scipy's gammaln and lgamma), with atol 1e-13
for values that are 0 up to rounding.
"""
from __future__ import annotations

import functools
import math

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn.metrics as skm
from numpy.testing import assert_allclose
from sklearn.metrics.cluster import contingency_matrix as sk_contingency_matrix

import lamina.cluster
import lamina.metrics as lm
from conftest import REAL_LABELSETS, random_labelings

RTOL = 1e-10
RTOL_AMI = 1e-7
ATOL = 1e-13
AVERAGES = ("min", "geometric", "arithmetic", "max")
BETAS = (0.0, 0.5, 1.0, 2.0, 10.0)


def _scalar_metrics():
    """name -> (lamina function, sklearn function, rtol); one entry per metric and option."""
    m = {
        "adjusted_rand_score": (lm.adjusted_rand_score, skm.adjusted_rand_score, RTOL),
        "rand_score": (lm.rand_score, skm.rand_score, RTOL),
        "mutual_info_score": (lm.mutual_info_score, skm.mutual_info_score, RTOL),
        "homogeneity_score": (lm.homogeneity_score, skm.homogeneity_score, RTOL),
        "completeness_score": (lm.completeness_score, skm.completeness_score, RTOL),
        "fowlkes_mallows_score": (lm.fowlkes_mallows_score, skm.fowlkes_mallows_score, RTOL),
    }
    for avg in AVERAGES:
        m[f"normalized_mutual_info_score[{avg}]"] = (
            functools.partial(lm.normalized_mutual_info_score, average_method=avg),
            functools.partial(skm.normalized_mutual_info_score, average_method=avg), RTOL)
        m[f"adjusted_mutual_info_score[{avg}]"] = (
            functools.partial(lm.adjusted_mutual_info_score, average_method=avg),
            functools.partial(skm.adjusted_mutual_info_score, average_method=avg), RTOL_AMI)
    for beta in BETAS:
        m[f"v_measure_score[beta={beta}]"] = (
            functools.partial(lm.v_measure_score, beta=beta),
            functools.partial(skm.v_measure_score, beta=beta), RTOL)
    return m


SCALAR_METRICS = _scalar_metrics()
# float labels are part of the label-value tests; scikit-learn warns that they look continuous
pytestmark = pytest.mark.filterwarnings("ignore:Clustering metrics expects discrete values:UserWarning")
FAST_METRICS = [k for k in SCALAR_METRICS if not k.startswith("adjusted_mutual_info")]


def _sklearn(fn, t, p):
    """scikit-learn's value, or None where it raises ZeroDivisionError (V-measure with beta = 0 and
    completeness 0: the formula h c / c is a Python-float 0/0)."""
    try:
        return fn(t, p)
    except ZeroDivisionError:
        return None


def _entropy(labels):
    _, counts = np.unique(np.asarray(labels), return_counts=True)
    q = counts / counts.sum()
    return float(-(q * np.log(q)).sum())


def ami_is_zero_over_zero(t, p, avg):
    """True when AMI's denominator mean(H(U), H(V)) - E[MI] is 0 up to rounding (e.g. one labeling
    with all samples distinct and average "min"): AMI is then 0/0 and scikit-learn's value is the ratio
    of two rounding errors (each clamped to +-eps), not a number any other implementation can match."""
    from sklearn.metrics.cluster._expected_mutual_info_fast import expected_mutual_information
    if len(t) == 0 or len(np.unique(t)) < 2 or len(np.unique(p)) < 2:
        return False
    emi = expected_mutual_information(sk_contingency_matrix(t, p, sparse=True), len(t))
    hu, hv = _entropy(t), _entropy(p)
    normalizer = {"min": min(hu, hv), "max": max(hu, hv), "arithmetic": (hu + hv) / 2,
                  "geometric": math.sqrt(hu * hv)}[avg]
    return abs(normalizer - emi) <= 1e-10 * normalizer


def same_partition(t, p):
    return len(t) == 0 or skm.adjusted_rand_score(t, p) == 1.0


def check_all(t, p, names=SCALAR_METRICS, what=""):
    """Every metric in `names` of Lamina vs scikit-learn on (t, p); all mismatches in one message."""
    failures = []
    for name in names:
        ours, theirs, rtol = SCALAR_METRICS[name]
        got = ours(t, p)
        assert isinstance(got, float), (name, type(got))
        want = _sklearn(theirs, t, p)
        if want is None:
            # V-measure, beta = 0, completeness 0: lamina.h defines it as h, the value of h c / c for
            # every c > 0 and its limit at c = 0.
            assert name == "v_measure_score[beta=0.0]", name
            want = skm.homogeneity_score(t, p)
        if name.startswith("adjusted_mutual_info") and ami_is_zero_over_zero(t, p, theirs.keywords["average_method"]):
            # 0/0: only a perfect match has a defined value, 1 (scikit-learn: "Avoid 0.0 / 0.0 when
            # expectation equals maximum, i.e. a perfect match"); otherwise both values are noise.
            if same_partition(t, p):
                want = 1.0
                assert_allclose(want, _sklearn(theirs, t, p))
            elif math.isfinite(got):
                continue
        if not (np.isclose(got, want, rtol=rtol, atol=ATOL) or (math.isnan(got) and math.isnan(want))):
            failures.append(f"{name}: lamina {got!r} sklearn {want!r}")
    for beta in BETAS:
        got = lm.homogeneity_completeness_v_measure(t, p, beta=beta)
        want = _sklearn(functools.partial(skm.homogeneity_completeness_v_measure, beta=beta), t, p)
        if want is None:  # beta = 0 and completeness 0 (see above): V = h
            h = skm.homogeneity_score(t, p)
            want = (h, skm.completeness_score(t, p), h)
        if not np.allclose(got, want, rtol=RTOL, atol=ATOL):
            failures.append(f"homogeneity_completeness_v_measure(beta={beta}): lamina {got!r} sklearn {want!r}")
    check_contingency(t, p, failures)
    assert not failures, f"{what}\n" + "\n".join(failures)


def check_contingency(t, p, failures):
    want = sk_contingency_matrix(t, p)
    got = lm.contingency_matrix(t, p)
    if not (got.shape == want.shape and got.dtype == np.int64 and np.array_equal(got, want)):
        failures.append(f"contingency_matrix: lamina {got.shape} {got.dtype} vs sklearn {want.shape} {want.dtype}"
                        f" (equal: {got.shape == want.shape and np.array_equal(got, want)})")
    got_s = lm.contingency_matrix(t, p, sparse=True)
    want_s = sk_contingency_matrix(t, p, sparse=True)
    if not (sp.issparse(got_s) and got_s.shape == want_s.shape and (got_s != want_s).nnz == 0):
        failures.append("contingency_matrix(sparse=True) differs")


# -- random labelings of many sizes and class counts ------------------------------------------------

RANDOM_CASES = [
    # (n, classes in labels_true, classes in labels_pred, seed)
    (1, 1, 1, 0), (2, 1, 1, 1), (2, 2, 2, 2), (2, 1, 2, 3), (3, 1, 3, 4), (5, 5, 5, 5), (7, 7, 2, 6),
    (10, 2, 3, 7), (20, 20, 1, 8), (50, 5, 10, 9), (100, 1, 7, 10), (100, 100, 100, 11), (100, 100, 3, 12),
    (200, 20, 20, 13), (1000, 2, 2, 14), (1000, 50, 3, 15), (2000, 7, 300, 16), (3000, 40, 45, 17),
    (5000, 100, 100, 18),
]


@pytest.mark.parametrize("n,k_true,k_pred,seed", RANDOM_CASES)
def test_random_labelings(n, k_true, k_pred, seed):
    t, p = random_labelings(n, k_true, k_pred, seed)
    check_all(t, p, what=f"n={n} k_true={k_true} k_pred={k_pred} seed={seed}")


@pytest.mark.parametrize("n,k_true,k_pred,seed", [c for c in RANDOM_CASES if c[1] != c[2] and c[0] <= 2000])
def test_random_labelings_swapped(n, k_true, k_pred, seed):
    # the asymmetric cases with the roles exchanged (homogeneity <-> completeness, transposed table)
    t, p = random_labelings(n, k_true, k_pred, seed)
    check_all(p, t, what=f"swapped n={n} k_true={k_true} k_pred={k_pred} seed={seed}")


@pytest.mark.parametrize("seed", range(6))
def test_correlated_labelings(seed):
    # A noisy copy: most samples keep their class, so the indices are far from 0 and from 1.
    r = np.random.default_rng(100 + seed)
    n, k = int(r.integers(50, 3000)), int(r.integers(2, 40))
    t = r.integers(0, k, n)
    p = np.where(r.random(n) < 0.7, t, r.integers(0, k + 3, n))
    check_all(t, p, what=f"seed={seed}")


@pytest.mark.parametrize("n,k", [(2, 2), (3, 3), (4, 4), (10, 3), (50, 5), (100, 100), (1000, 17)])
def test_identical_labelings(n, k):
    t, _ = random_labelings(n, k, k, n + k)
    check_all(t, t.copy(), what=f"identical n={n} k={k}")


@pytest.mark.parametrize("n,k", [(10, 3), (500, 12), (100, 100)])
def test_renamed_labelings(n, k):
    # The same partition under another naming of its classes: every index is invariant.
    t, _ = random_labelings(n, k, k, 7 * n + k)
    rename = np.random.default_rng(k).permutation(k) * 10 - 35
    check_all(t, rename[t], what=f"renamed n={n} k={k}")


@pytest.mark.parametrize("n,k", [(30, 4), (1000, 30)])
def test_permuted_samples(n, k):
    # Shuffling the samples of both labelings together changes nothing; shuffling one changes the
    # agreement: both against scikit-learn.
    t, p = random_labelings(n, k, k + 1, n)
    perm = np.random.default_rng(n).permutation(n)
    check_all(t[perm], p[perm], what="jointly permuted")
    check_all(t, p[perm], what="one side permuted")
    assert lm.adjusted_rand_score(t[perm], p[perm]) == lm.adjusted_rand_score(t, p)


# -- degenerate sizes ---------------------------------------------------------------------------------

SMALL_CASES = {
    "one_sample": ([0], [0]), "one_sample_other_values": ([3], [-9]), "two_same": ([0, 0], [0, 0]),
    "two_one_vs_two": ([0, 0], [0, 1]), "two_identical_distinct": ([0, 1], [0, 1]),
    "two_swapped_distinct": ([0, 1], [1, 0]), "three_distinct_renamed": ([0, 1, 2], [2, 0, 1]),
    "one_vs_all_distinct": ([0, 0, 0], [1, 2, 3]), "one_class_both": ([5] * 20, [5] * 20),
    "all_distinct_both_20": (list(range(20)), list(range(20))), "all_distinct_vs_one": (list(range(20)), [0] * 20),
    "one_vs_all_distinct_20": ([0] * 20, list(range(20))),
}


@pytest.mark.parametrize("case", list(SMALL_CASES))
def test_small_and_degenerate(case):
    t, p = SMALL_CASES[case]
    check_all(np.array(t), np.array(p), what=f"t={t} p={p}")


def test_empty_labelings():
    names = [k for k in SCALAR_METRICS if k != "mutual_info_score"]
    for t, p in [([], []), (np.array([], dtype=int), np.array([], dtype=int)),
                 (np.array([], dtype=np.int64), np.array([], dtype=np.int32))]:
        check_all(t, p, names=names, what=f"empty {type(t)}")
    # scikit-learn's mutual_info_score raises "math domain error" (log of 0 samples) on empty input;
    # Lamina returns MI = 0 (no information). Recorded here so that a change on either side is noticed.
    with pytest.raises(ValueError):
        skm.mutual_info_score([], [])
    assert lm.mutual_info_score([], []) == 0.0


def test_inconsistent_lengths_raise():
    with pytest.raises(ValueError):
        skm.adjusted_rand_score([0, 1, 2], [0, 1])
    for name, (ours, _, _) in SCALAR_METRICS.items():
        with pytest.raises(ValueError):
            ours([0, 1, 2], [0, 1])
    with pytest.raises(ValueError):
        lm.contingency_matrix([0, 1, 2], [0, 1])


# -- label values ---------------------------------------------------------------------------------------

def _relabel(kind, y, salt):
    r = np.random.default_rng(salt)
    k = int(y.max()) + 1
    if kind == "int32_extremes":
        vals = r.choice(np.array([-2**31, 2**31 - 1, -2**31 + 1, 2**31 - 2, 0, -1, 1, 1 << 30,
                                  -(1 << 30), 77]), size=k, replace=False)
        return vals.astype(np.int32)[y]
    if kind == "int64_beyond_int32":
        return (r.permutation(k).astype(np.int64) * (1 << 40) - (1 << 62))[y]
    if kind == "uint64_huge":
        return (np.uint64(2**64 - 1) - r.permutation(k).astype(np.uint64) * np.uint64(1 << 50))[y]
    if kind == "sparse_int32":
        return (r.permutation(k).astype(np.int64) * 40_000_000 - 2_000_000_000).astype(np.int32)[y]
    if kind == "negative":
        return -1 - y * 3
    if kind == "strings":
        return np.array([f"label-{v}" for v in r.permutation(k)])[y]
    if kind == "object_mixed_case":
        return np.array([s for s in ["b", "B", "a", "A", "zz", "Z", "é", "e", "10", "9"][:k]], dtype=object)[y]
    if kind == "floats":
        return (r.permutation(k) * 0.25 - 1.0)[y]
    if kind == "bool":
        return y.astype(bool)
    raise ValueError(kind)


@pytest.mark.parametrize("kind", ["int32_extremes", "int64_beyond_int32", "uint64_huge", "sparse_int32", "negative",
                                  "strings", "object_mixed_case", "floats"])
@pytest.mark.parametrize("n", [1, 7, 150])
def test_label_values(kind, n):
    t, p = random_labelings(n, min(n, 6), min(n, 10), n)
    check_all(_relabel(kind, t, 1), _relabel(kind, p, 2), what=f"{kind} n={n}")
    # mixed kinds: the true labels in one representation, the predicted in another
    check_all(_relabel(kind, t, 3), p, what=f"{kind}/int n={n}")


def test_bool_and_list_inputs():
    t, p = random_labelings(200, 2, 2, 4)
    check_all(t.astype(bool), p.astype(bool))
    check_all(t.tolist(), p.tolist())
    check_all(tuple(t), tuple(p))


def test_column_vector_labels():
    t, p = random_labelings(100, 3, 4, 5)
    for name in FAST_METRICS:
        ours, _, _ = SCALAR_METRICS[name]
        assert ours(t.reshape(-1, 1), p) == ours(t, p), name


# -- contingency_matrix options -----------------------------------------------------------------------

@pytest.mark.parametrize("n,k_true,k_pred", [(0, 0, 0), (1, 1, 1), (50, 3, 7), (2000, 40, 5)])
def test_contingency_matrix_options(n, k_true, k_pred):
    t, p = random_labelings(n, max(k_true, 1), max(k_pred, 1), n) if n else (np.array([], int), np.array([], int))
    dense = lm.contingency_matrix(t, p)
    want = sk_contingency_matrix(t, p)
    assert dense.dtype == want.dtype == np.int64 and dense.shape == want.shape and np.array_equal(dense, want)
    got_s, want_s = lm.contingency_matrix(t, p, sparse=True), sk_contingency_matrix(t, p, sparse=True)
    assert sp.issparse(got_s) and got_s.format == want_s.format == "csr"
    assert got_s.dtype == want_s.dtype and got_s.shape == want_s.shape
    assert np.array_equal(got_s.toarray(), want_s.toarray())
    for eps in (1e-10, 0.5):
        got_e, want_e = lm.contingency_matrix(t, p, eps=eps), sk_contingency_matrix(t, p, eps=eps)
        assert got_e.dtype == want_e.dtype and np.array_equal(got_e, want_e)
    for dtype in (np.float64, np.int32, np.float32):
        got_d, want_d = lm.contingency_matrix(t, p, dtype=dtype), sk_contingency_matrix(t, p, dtype=dtype)
        assert got_d.dtype == want_d.dtype and np.array_equal(got_d, want_d)


def test_contingency_row_and_column_order():
    # rows follow the sorted true values, columns the sorted predicted values
    t = np.array([30, -5, 30, 7, 7, 7])
    p = np.array(["b", "a", "c", "b", "b", "a"])
    assert np.array_equal(lm.contingency_matrix(t, p), sk_contingency_matrix(t, p))
    assert lm.contingency_matrix(t, p).tolist() == [[1, 0, 0], [1, 2, 0], [0, 1, 1]]


# -- large inputs ---------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def _large(n, k_true, k_pred, seed):
    return random_labelings(n, k_true, k_pred, seed)


def test_1e5_samples_1000_classes():
    t, p = _large(100_000, 1000, 1000, 42)
    check_all(t, p, names=FAST_METRICS, what="1e5 samples, 1000 x 1000 classes")


def test_1e5_samples_1000_classes_correlated():
    t, _ = _large(100_000, 1000, 1000, 42)
    r = np.random.default_rng(43)
    p = np.where(r.random(t.size) < 0.5, t, r.integers(0, 1000, t.size))
    check_all(t, p, names=FAST_METRICS, what="1e5 samples, 1000 classes, half agreeing")


@pytest.mark.parametrize("avg", AVERAGES)
def test_ami_1e5_samples_1000_by_20_classes(avg):
    # AMI costs O(sum_ij min(a_i, b_j)); 1000 x 1000 classes of 10^5 samples would take ~10 s on each
    # side, so the large AMI case pairs the 1000 classes with 20 clusters.
    t, p = _large(100_000, 1000, 20, 44)
    got = lm.adjusted_mutual_info_score(t, p, average_method=avg)
    want = skm.adjusted_mutual_info_score(t, p, average_method=avg)
    assert_allclose(got, want, rtol=RTOL_AMI, atol=ATOL)


# -- the real data: k-means clusters of a layer against the gold labels --------------------------------

@functools.lru_cache(maxsize=None)
def _kmeans_labels(path, layer, k):
    from conftest import RealData
    X = RealData(path).layer(layer)
    return lamina.cluster.KMeans(n_clusters=k, n_init=1, random_state=0).fit(X).labels_


@pytest.mark.parametrize("layer,k", [(6, 4), (6, 44), (0, 4), (3, 20)])
@pytest.mark.parametrize("labelset", REAL_LABELSETS)
def test_real_kmeans_vs_gold(real_data, layer, k, labelset):
    gold = real_data.labels(labelset)
    pred = _kmeans_labels(real_data.path, layer, k)
    check_all(gold, pred, what=f"layer {layer}, k={k}, {labelset}")


def test_real_gold_vs_gold(real_data):
    check_all(real_data.labels("pos"), real_data.labels("supersense"), what="pos vs supersense")
