"""Oracle tests of Lamina's internal cluster-validity indices.

silhouette, Davies-Bouldin and Calinski-Harabasz against sklearn.metrics (given float64 copies of
the float32 data Lamina computes on, the exact reference); the generalized Dunn index (12 linkage x
diameter combinations), Xie-Beni (both separations) and GDV against the independent numpy/scipy
references of reference_indices.py. Tolerance: rtol 1e-6 with atol 1e-9 for values near 0, except:
- per-sample silhouettes: atol 1e-6 (kept from when float32 input was computed with float32 gemm
  distances; the silhouette now computes float32 input in float64, tested to ~1e-12 at the end of
  this file).
- silhouette_score and GDV: atol 1e-7 as well, for scores that are small differences of O(1) means
  (GDV = mean intra - mean inter distance; a silhouette of -0.0135 on noise).
"""
from __future__ import annotations

import functools
import math
import re

import h5py
import numpy as np
import pytest
import sklearn.metrics as skm
from numpy.testing import assert_allclose

import lamina.metrics as lm
import reference_indices as ref
from conftest import DATASET_NAMES, REAL_LABELSETS, REAL_LAYERS, RealData, make_dataset

RTOL = 1e-6
ATOL = 1e-9
SAMPLE_ATOL = 1e-6
SCORE_ATOL = 1e-7
METRICS = ("euclidean", "sqeuclidean", "cosine")
DUNN_COMBOS = [(lk, dm) for lk in ref.LINKAGES for dm in ref.DIAMETERS]


def close(actual, expected, rtol=RTOL, atol=ATOL, what=""):
    assert_allclose(actual, expected, rtol=rtol, atol=atol, err_msg=what)


def f64(X):
    return np.asarray(X, dtype=np.float64)


@functools.lru_cache(maxsize=None)
def dunn_reference(name):
    X, y = make_dataset(name)
    return ref.dunn_table(f64(X), y)


@functools.lru_cache(maxsize=None)
def sklearn_silhouette(name, metric):
    """sklearn.metrics.silhouette_samples on a named data set (silhouette_score is its mean)."""
    X, y = make_dataset(name)
    return skm.silhouette_samples(f64(X), y, metric=metric)


# -- the references themselves, on hand-computed examples ---------------------------------------------

def test_reference_dunn_hand_example():
    X, y, expected = ref.HAND_EXAMPLES["dunn"]
    table = ref.dunn_table(X, y)
    for combo, value in expected.items():
        assert table[combo] == pytest.approx(value, rel=1e-12), combo
        assert ref.dunn_index(X, y, *combo) == pytest.approx(value, rel=1e-12), combo
    assert table["single", "max"] == pytest.approx(math.sqrt(5) / 2, rel=1e-12)


def test_reference_xie_beni_hand_example():
    X, y, expected = ref.HAND_EXAMPLES["xie_beni"]
    for sep, value in expected.items():
        assert ref.xie_beni_index(X, y, sep) == pytest.approx(value, rel=1e-12), sep


@pytest.mark.parametrize("name", ["gdv_2d", "gdv_3d"])
def test_reference_gdv_hand_example(name):
    X, y, expected = ref.HAND_EXAMPLES[name]
    assert ref.gdv(X, y) == pytest.approx(expected, rel=1e-12)


def test_reference_silhouette_agrees_with_sklearn_on_hand_example():
    # Hand check of the oracle itself: s(i) of (0,0) in A = square corners, B = {(5,1),(7,1)}:
    # a = (2 + 2 + 2 sqrt 2) / 3, b = (sqrt 26 + sqrt 50) / 2, s = (b - a) / b.
    X, y, _ = ref.HAND_EXAMPLES["dunn"]
    a = (4 + 2 * math.sqrt(2)) / 3
    b = (math.sqrt(26) + math.sqrt(50)) / 2
    assert skm.silhouette_samples(X, y)[0] == pytest.approx((b - a) / b, rel=1e-12)


@pytest.mark.parametrize("name", ["duplicates", "tight_far", "offset_noise"])
def test_reference_fast_distance_matrix_is_exact(name):
    # The gemm-with-exact-fallback path used for large n agrees with scipy's direct differences.
    from scipy.spatial.distance import cdist
    X = f64(make_dataset(name)[0])
    fast, exact = ref.distance_matrix(X, direct_below=0), cdist(X, X)
    assert np.array_equal(fast == 0, exact == 0)
    assert_allclose(fast, exact, rtol=1e-9, atol=0)


# -- Lamina on the hand-computed examples ----------------------------------------------------------

@pytest.mark.parametrize("linkage,diameter", DUNN_COMBOS)
def test_dunn_hand_example(linkage, diameter):
    X, y, expected = ref.HAND_EXAMPLES["dunn"]
    close(lm.dunn_index(X.astype(np.float32), y, linkage=linkage, diameter=diameter),
          expected[linkage, diameter])


@pytest.mark.parametrize("separation", ["centroid", "point_pair"])
def test_xie_beni_hand_example(separation):
    X, y, expected = ref.HAND_EXAMPLES["xie_beni"]
    close(lm.xie_beni_index(X.astype(np.float32), y, separation=separation), expected[separation])


@pytest.mark.parametrize("name", ["gdv_2d", "gdv_3d"])
def test_gdv_hand_example(name):
    X, y, expected = ref.HAND_EXAMPLES[name]
    close(lm.gdv(X.astype(np.float32), y), expected)


def test_silhouette_hand_example():
    X, y, _ = ref.HAND_EXAMPLES["dunn"]
    for metric in METRICS:
        close(lm.silhouette_samples(X.astype(np.float32), y, metric=metric),
              skm.silhouette_samples(X, y, metric=metric), what=metric)


# -- scikit-learn oracles on the seeded data sets ---------------------------------------------------

@pytest.mark.parametrize("metric", METRICS)
def test_silhouette_samples(dataset, metric):
    name, X, y = dataset
    close(lm.silhouette_samples(X, y, metric=metric), sklearn_silhouette(name, metric), atol=SAMPLE_ATOL,
          what=f"{name}/{metric}")


@pytest.mark.parametrize("metric", METRICS)
def test_silhouette_score(dataset, metric):
    name, X, y = dataset
    want = float(np.mean(sklearn_silhouette(name, metric)))  # = skm.silhouette_score without sampling
    close(lm.silhouette_score(X, y, metric=metric), want, atol=SCORE_ATOL, what=f"{name}/{metric}")


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("sample_size,random_state", [(300, 0), (500, 12345), (999, 7), (1000, 3)])
def test_silhouette_score_sampled(metric, sample_size, random_state):
    X, y = make_dataset("noise")
    close(lm.silhouette_score(X, y, metric=metric, sample_size=sample_size, random_state=random_state),
          skm.silhouette_score(f64(X), y, metric=metric, sample_size=sample_size, random_state=random_state))


def test_silhouette_score_sampled_with_randomstate_instance():
    X, y = make_dataset("blobs")
    got = lm.silhouette_score(X, y, sample_size=400, random_state=np.random.RandomState(42))
    want = skm.silhouette_score(f64(X), y, sample_size=400, random_state=np.random.RandomState(42))
    close(got, want)


def test_davies_bouldin(dataset):
    name, X, y = dataset
    close(lm.davies_bouldin_score(X, y), skm.davies_bouldin_score(f64(X), y), what=name)


def test_calinski_harabasz(dataset):
    name, X, y = dataset
    close(lm.calinski_harabasz_score(X, y), skm.calinski_harabasz_score(f64(X), y), what=name)


# -- Dunn, Xie-Beni, GDV against reference_indices.py ------------------------------------------------

@pytest.mark.parametrize("linkage,diameter", DUNN_COMBOS)
@pytest.mark.parametrize("name", DATASET_NAMES)
def test_dunn(name, linkage, diameter):
    X, y = make_dataset(name)
    close(lm.dunn_index(X, y, linkage=linkage, diameter=diameter), dunn_reference(name)[linkage, diameter],
          what=f"{name}/{linkage}/{diameter}")


def test_dunn_defaults_are_classic():
    X, y = make_dataset("blobs")
    assert lm.dunn_index(X, y) == lm.dunn_index(X, y, linkage="single", diameter="max")


@pytest.mark.parametrize("separation", ["centroid", "point_pair"])
def test_xie_beni(dataset, separation):
    name, X, y = dataset
    close(lm.xie_beni_index(X, y, separation=separation), ref.xie_beni_index(f64(X), y, separation),
          what=f"{name}/{separation}")


def test_gdv(dataset):
    name, X, y = dataset
    values, counts = np.unique(y, return_counts=True)
    keep = np.isin(y, values[counts >= 2])  # GDV needs >= 2 samples per class
    X, y = np.ascontiguousarray(X[keep]), y[keep]
    close(lm.gdv(X, y), ref.gdv(f64(X), y), atol=SCORE_ATOL, what=name)


def test_gdv_with_constant_dimension():
    X, y = make_dataset("blobs")
    X = np.array(X)
    X[:, 3] = 7.5
    close(lm.gdv(X, y), ref.gdv(f64(X), y))


def test_gdv_allows_two_samples_per_class():
    rng = np.random.default_rng(11)
    X = rng.standard_normal((40, 5)).astype(np.float32)
    y = np.repeat(np.arange(20), 2)
    close(lm.gdv(X, y), ref.gdv(f64(X), y))


# -- edge cases with scikit-learn's semantics -------------------------------------------------------

def _internal_calls():
    return {
        "silhouette_samples": (lm.silhouette_samples, skm.silhouette_samples),
        "silhouette_score": (lm.silhouette_score, skm.silhouette_score),
        "davies_bouldin_score": (lm.davies_bouldin_score, skm.davies_bouldin_score),
        "calinski_harabasz_score": (lm.calinski_harabasz_score, skm.calinski_harabasz_score),
        "dunn_index": (lm.dunn_index, None),
        "xie_beni_index": (lm.xie_beni_index, None),
    }


@pytest.mark.parametrize("fn", list(_internal_calls()))
@pytest.mark.parametrize("n_labels", ["one", "n"])
def test_label_count_rule(fn, n_labels):
    ours, theirs = _internal_calls()[fn]
    X = np.random.default_rng(0).standard_normal((12, 3)).astype(np.float32)
    y = np.zeros(12, dtype=int) if n_labels == "one" else np.arange(12)
    k = 1 if n_labels == "one" else 12
    message = f"Number of labels is {k}. Valid values are 2 to n_samples - 1 (inclusive)"
    if theirs is not None:
        with pytest.raises(ValueError, match=re.escape(message)):
            theirs(f64(X), y)
    with pytest.raises(ValueError, match=re.escape(message)):
        ours(X, y)


def test_label_count_n_minus_one_is_valid():
    X = np.random.default_rng(1).standard_normal((12, 3)).astype(np.float32)
    y = np.concatenate([[0, 0], np.arange(1, 11)])
    close(lm.silhouette_samples(X, y), skm.silhouette_samples(f64(X), y))
    close(lm.davies_bouldin_score(X, y), skm.davies_bouldin_score(f64(X), y))
    close(lm.calinski_harabasz_score(X, y), skm.calinski_harabasz_score(f64(X), y))


def test_gdv_rejects_single_class_and_singleton_class():
    X = np.random.default_rng(2).standard_normal((10, 3)).astype(np.float32)
    with pytest.raises(ValueError):
        lm.gdv(X, np.zeros(10, dtype=int))
    with pytest.raises(ValueError):
        lm.gdv(X, np.array([0] * 9 + [1]))


_LABEL_KINDS = {
    "strings": lambda y: np.array([f"class-{v:03d}" for v in y]),
    "object_strings": lambda y: np.array([["b", "a", "c", "zz", "e", "f"][v % 6] + str(v) for v in y], dtype=object),
    "noncontiguous_ints": lambda y: np.array([-7, 3, 1_000_000, 42, -2**31, 2**31 - 1])[y % 6],
    "int64_beyond_int32": lambda y: np.array([-2**40, 5, 2**40 + 1, 2**62, -3, 2**33])[y % 6],
    "floats": lambda y: (y % 6) * 0.5 - 1.25,
    "list": lambda y: [int(v) for v in y],
}


@functools.lru_cache(maxsize=None)
def _small_blobs():
    X, y = make_dataset("blobs")  # 6 classes
    X, y = np.ascontiguousarray(X[:400]), y[:400]
    return X, y, ref.dunn_table(f64(X), y)


@pytest.mark.parametrize("kind", list(_LABEL_KINDS))
def test_label_kinds(kind):
    X, y0, table = _small_blobs()
    y = _LABEL_KINDS[kind](y0)
    X64 = f64(X)
    for metric in METRICS:
        close(lm.silhouette_samples(X, y, metric=metric), skm.silhouette_samples(X64, y, metric=metric),
              what=f"{kind}/{metric}")
        close(lm.silhouette_score(X, y, metric=metric), skm.silhouette_score(X64, y, metric=metric))
    close(lm.davies_bouldin_score(X, y), skm.davies_bouldin_score(X64, y))
    close(lm.calinski_harabasz_score(X, y), skm.calinski_harabasz_score(X64, y))
    for lk, dm in DUNN_COMBOS:
        close(lm.dunn_index(X, y, linkage=lk, diameter=dm), table[lk, dm], what=f"{kind}/{lk}/{dm}")
    for sep in ("centroid", "point_pair"):
        close(lm.xie_beni_index(X, y, separation=sep), ref.xie_beni_index(X64, y0, sep))
    close(lm.gdv(X, y), ref.gdv(X64, y0))


def _layouts(X):
    big = np.zeros((X.shape[0] * 2, X.shape[1] * 3), dtype=np.float32)
    big[::2, ::3] = X
    rng = np.random.default_rng(99)
    return {
        "float64": f64(X),
        "float64_unrounded": f64(X) + 1e-3 * rng.standard_normal(X.shape),
        "fortran": np.asfortranarray(X),
        "fortran_float64": np.asfortranarray(f64(X)),
        "strided_view": big[::2, ::3],
        "transposed_twice": np.ascontiguousarray(X.T).T,
        "float16": X.astype(np.float16),
        "int": np.rint(X * 4).astype(np.int64),
        "list_of_lists": X[:200].tolist(),
    }


@pytest.mark.parametrize("layout", ["float64", "float64_unrounded", "fortran", "fortran_float64", "strided_view",
                                    "transposed_twice", "float16", "int", "list_of_lists"])
def test_x_layouts(layout):
    X, y = make_dataset("anisotropic")
    X, y = np.ascontiguousarray(X[:400]), y[:400]
    Xv = _layouts(X)[layout]
    yv = y[:len(Xv)]
    # computed in float32 for float32 input, else in float64 (scikit-learn's dtype rule, the _f64 twins)
    computed = np.float32 if np.asarray(Xv).dtype == np.float32 else np.float64
    Xc = np.ascontiguousarray(np.asarray(Xv, dtype=computed))
    Xref = np.asarray(Xv, dtype=np.float64)
    # identical to Lamina on the C-contiguous copy in that dtype ...
    assert np.array_equal(lm.silhouette_samples(Xv, yv), lm.silhouette_samples(Xc, yv))
    assert lm.davies_bouldin_score(Xv, yv) == lm.davies_bouldin_score(Xc, yv)
    assert lm.gdv(Xv, yv) == lm.gdv(Xc, yv)
    # ... and equal to the references on the values as given
    for metric in METRICS:
        close(lm.silhouette_score(Xv, yv, metric=metric), skm.silhouette_score(Xref, yv, metric=metric),
              what=f"{layout}/{metric}")
    close(lm.davies_bouldin_score(Xv, yv), skm.davies_bouldin_score(Xref, yv))
    close(lm.calinski_harabasz_score(Xv, yv), skm.calinski_harabasz_score(Xref, yv))
    close(lm.dunn_index(Xv, yv, linkage="average", diameter="centroid"),
          ref.dunn_index(Xref, yv, "average", "centroid"))
    close(lm.xie_beni_index(Xv, yv), ref.xie_beni_index(Xref, yv))
    close(lm.gdv(Xv, yv), ref.gdv(Xref, yv))


def test_input_not_modified():
    X, y = make_dataset("blobs")
    Xw, yw = np.array(X), np.array(y)
    lm.silhouette_samples(Xw, yw)
    lm.gdv(Xw, yw)
    assert np.array_equal(Xw, X) and np.array_equal(yw, y)


# -- the bundled real data ---------------------------------------------------------------------------

def test_real_data_reader_matches_h5py(real_data_path, real_data):
    """lamina.io must return exactly the stored values (float16 widened to float32 is exact)."""
    with h5py.File(real_data_path, "r") as f:
        for layer in range(7):
            want = f[f"target/layer_{layer}"][:].astype(np.float32)
            got = real_data.layer(layer)
            assert got.dtype == np.float32 and got.shape == want.shape
            bad = np.argwhere(got != want)
            assert bad.size == 0, (f"layer {layer}: {len(bad)} of {want.size} values differ, first at "
                                   f"{tuple(bad[0])}: lamina {got[tuple(bad[0])]!r}, h5py {want[tuple(bad[0])]!r}")
        for name in REAL_LABELSETS:
            assert np.array_equal(real_data.labels(name), f[f"labels/{name}"][:])


real_cases = pytest.mark.parametrize("layer,labelset", [(k, s) for k in REAL_LAYERS for s in REAL_LABELSETS])


@functools.lru_cache(maxsize=None)
def _real_sklearn_silhouette(path, layer, labelset, metric):
    data = RealData(path)
    return skm.silhouette_samples(f64(data.layer(layer)), data.labels(labelset), metric=metric)


@real_cases
@pytest.mark.parametrize("metric", METRICS)
def test_real_silhouette_samples(real_data, layer, labelset, metric):
    X, y = real_data.layer(layer), real_data.labels(labelset)
    close(lm.silhouette_samples(X, y, metric=metric), _real_sklearn_silhouette(real_data.path, layer, labelset, metric),
          atol=SAMPLE_ATOL, what=f"layer {layer} / {labelset} / {metric}")


@real_cases
@pytest.mark.parametrize("metric", METRICS)
def test_real_silhouette_score(real_data, layer, labelset, metric):
    X, y = real_data.layer(layer), real_data.labels(labelset)
    want = float(np.mean(_real_sklearn_silhouette(real_data.path, layer, labelset, metric)))
    close(lm.silhouette_score(X, y, metric=metric), want, atol=SCORE_ATOL, what=f"layer {layer} / {labelset} / {metric}")


def test_real_silhouette_score_sampled(real_data):
    X, y = real_data.layer(6), real_data.labels("supersense")
    for metric in METRICS:
        close(lm.silhouette_score(X, y, metric=metric, sample_size=700, random_state=5),
              skm.silhouette_score(f64(X), y, metric=metric, sample_size=700, random_state=5), what=metric)


@real_cases
def test_real_davies_bouldin_calinski_harabasz(real_data, layer, labelset):
    X, y = real_data.layer(layer), real_data.labels(labelset)
    close(lm.davies_bouldin_score(X, y), skm.davies_bouldin_score(f64(X), y))
    close(lm.calinski_harabasz_score(X, y), skm.calinski_harabasz_score(f64(X), y))


@pytest.mark.parametrize("layer", REAL_LAYERS)
def test_real_dunn_xie_beni(real_data, layer):
    """All 12 Dunn variants and both Xie-Beni forms, for every label set of one layer (one shared
    reference distance matrix per layer keeps this fast)."""
    X = real_data.layer(layer)
    D = ref.distance_matrix(X)
    failures = []

    def check(what, got, want):
        if not np.isclose(got, want, rtol=RTOL, atol=ATOL):
            failures.append(f"layer {layer} / {what}: lamina {got!r} reference {want!r} "
                            f"(rel {abs(got - want) / abs(want):.2e})")

    for labelset in REAL_LABELSETS:
        y = real_data.labels(labelset)
        table = ref.dunn_table(X, y, D=D)
        for lk, dm in DUNN_COMBOS:
            check(f"{labelset} / dunn {lk}/{dm}", lm.dunn_index(X, y, linkage=lk, diameter=dm), table[lk, dm])
        for sep in ("centroid", "point_pair"):
            check(f"{labelset} / xie_beni {sep}", lm.xie_beni_index(X, y, separation=sep),
                  ref.xie_beni_index(X, y, sep, D=D))
    assert not failures, "\n".join(failures)


@real_cases
def test_real_gdv(real_data, layer, labelset):
    X, y = real_data.layer(layer), real_data.labels(labelset)
    values, counts = np.unique(y, return_counts=True)
    keep = np.isin(y, values[counts >= 2])
    X, y = np.ascontiguousarray(X[keep]), y[keep]
    close(lm.gdv(X, y), ref.gdv(f64(X), y))


# -- exact values on data with few significant bits (issue 14) --------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("metric", ["euclidean", "sqeuclidean"])
def test_silhouette_cluster_size_1_exact(dtype, metric):
    # scikit-learn's test_cluster_size_1 (and its sqeuclidean variant): integer data give exact
    # distances, so exactly scikit-learn's values, not 0.49999997 or a 1.2e-7 for identical rows.
    X = np.array([[0.0], [1.0], [1.0], [2.0], [3.0], [3.0]], dtype=dtype)
    labels = np.array([0, 1, 1, 1, 2, 2])
    ours = lm.silhouette_samples(X, labels, metric=metric)
    want = skm.silhouette_samples(X.astype(np.float64), labels, metric=metric)
    assert np.array_equal(ours, want), (ours, want)
    if metric == "euclidean":
        assert np.array_equal(ours, [0, 0.5, 0.5, 0, 1, 1])


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("offset", [0, 1000])
def test_silhouette_integer_data_exact(seed, offset):
    # Small integers (any offset): every squared distance of the gemm form is exact, so sqeuclidean
    # per-sample values are scikit-learn's float64 values to the last bits of the final division
    # (euclidean distances are square roots stored in float32: the header's 1e-6).
    rng = np.random.default_rng(seed)
    X = (rng.integers(-8, 9, size=(120, 6)) + offset).astype(np.float32)
    X[60:64] = X[10]                       # identical rows across and within classes
    labels = rng.integers(0, 4, size=120)
    for metric in ("euclidean", "sqeuclidean"):
        ours = lm.silhouette_samples(X, labels, metric=metric)
        want = skm.silhouette_samples(X.astype(np.float64), labels, metric=metric)
        assert_allclose(ours, want, rtol=1e-13 if metric == "sqeuclidean" else 0,
                        atol=1e-15 if metric == "sqeuclidean" else 1e-6, err_msg=metric)


@pytest.mark.parametrize("metric", ["euclidean", "sqeuclidean"])
def test_identical_rows_exactly_zero_on_real_valued_data(metric):
    # Real-valued data far from the origin: rows identical to another row are at distance exactly 0
    # (the near-zero recomputation), within a class and across classes.
    rng = np.random.default_rng(1)
    X = (rng.standard_normal((60, 8)) * 3 + 100.123).astype(np.float32)
    y = np.arange(60) % 3
    X[:4] = X[0]                      # a class-0 row repeated into classes 0, 1, 2 (rows 0..3)
    Z = np.concatenate([np.repeat(X[5:6], 4, 0), X[10:30]])
    yz = np.r_[[7] * 4, np.arange(20) % 2]
    s = lm.silhouette_samples(Z, yz, metric=metric)
    assert np.array_equal(s[:4], [1, 1, 1, 1])            # a(i) = 0 exactly
    assert lm.dunn_index(X, y) == 0.0                       # min inter-class distance exactly 0
    close(lm.silhouette_samples(X, y, metric=metric),
          skm.silhouette_samples(X.astype(np.float64), y, metric=metric), atol=SAMPLE_ATOL, what=metric)


# -- float64 input: the _f64 twins, computed in float64 ----------------------------------------------
# float64 (and integer) input is computed in float64 (scikit-learn's dtype rule), so the results must
# agree with scikit-learn to ~1e-12, not 1e-6. The data are made genuinely float64 (float32 values plus
# a small float64 perturbation), so a float32 path would fail these tolerances by orders of magnitude.
# References: scikit-learn on the same float64 data; for the silhouette also scikit-learn's reduction
# over scipy's direct-difference distances (cdist), exact even where the gemm form of
# euclidean_distances cancels (data far from the origin); Dunn, Xie-Beni and GDV against
# reference_indices.py on the float64 data.

F64_RTOL = 1e-12
F64_ATOL = 1e-12


def _genuinely_f64(X, seed=7):
    X = f64(X)
    scale = np.maximum(X.std(axis=0), 1e-3)
    return X + 1e-4 * scale * np.random.default_rng(seed).standard_normal(X.shape)


def _exact_silhouette(X, y, metric):
    from scipy.spatial.distance import cdist
    D = cdist(X, X, metric)
    if metric == "cosine":   # scikit-learn clips cosine distances to [0, 2] and zero rows are at 1
        D = np.clip(np.nan_to_num(D, nan=1.0), 0, 2)
    np.fill_diagonal(D, 0)
    return skm.silhouette_samples(D, y, metric="precomputed")


@pytest.mark.parametrize("metric", METRICS)
def test_f64_silhouette(dataset, metric):
    name, X, y = dataset
    X = _genuinely_f64(X)
    got = lm.silhouette_samples(X, y, metric=metric)
    close(got, _exact_silhouette(X, y, metric), rtol=F64_RTOL, atol=F64_ATOL, what=f"{name}/{metric} exact")
    close(lm.silhouette_score(X, y, metric=metric), float(np.mean(got)), rtol=1e-14, atol=1e-15)
    if name not in ("tight_far", "offset_noise"):   # where scikit-learn's own gemm form is accurate
        close(got, skm.silhouette_samples(X, y, metric=metric), rtol=F64_RTOL, atol=F64_ATOL, what=f"{name}/{metric}")


def _davies_bouldin_direct(X, y):
    """davies_bouldin_score with direct differences for the centroid distances (scikit-learn takes
    them from euclidean_distances, whose gemm form loses digits for centroids far from the origin)."""
    classes = np.unique(y)
    c = np.array([X[y == k].mean(axis=0) for k in classes])
    s = np.array([np.linalg.norm(X[y == k] - c[i], axis=1).mean() for i, k in enumerate(classes)])
    dist = np.linalg.norm(c[:, None, :] - c[None, :, :], axis=2)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = (s[:, None] + s[None, :]) / dist
    r[~np.isfinite(r)] = 0
    np.fill_diagonal(r, 0)
    return float(np.mean(r.max(axis=1)))


def test_f64_davies_bouldin_calinski_harabasz(dataset):
    name, X, y = dataset
    X = _genuinely_f64(X)
    close(lm.davies_bouldin_score(X, y), _davies_bouldin_direct(X, y), rtol=F64_RTOL, what=name)
    close(lm.davies_bouldin_score(X, y), skm.davies_bouldin_score(X, y), rtol=1e-9, what=name)
    close(lm.calinski_harabasz_score(X, y), skm.calinski_harabasz_score(X, y), rtol=F64_RTOL, what=name)


@pytest.mark.parametrize("linkage,diameter", [("single", "max"), ("average", "mean_pairwise"), ("centroid", "centroid")])
def test_f64_dunn_xie_beni_gdv(dataset, linkage, diameter):
    name, X, y = dataset
    X = _genuinely_f64(X)
    close(lm.dunn_index(X, y, linkage=linkage, diameter=diameter), ref.dunn_index(X, y, linkage, diameter),
          rtol=F64_RTOL, what=f"{name}/{linkage}/{diameter}")
    for separation in ("centroid", "point_pair"):
        close(lm.xie_beni_index(X, y, separation=separation), ref.xie_beni_index(X, y, separation),
              rtol=F64_RTOL, what=f"{name}/{separation}")
    values, counts = np.unique(y, return_counts=True)
    keep = np.isin(y, values[counts >= 2])
    close(lm.gdv(X[keep], y[keep]), ref.gdv(X[keep], y[keep]), rtol=F64_RTOL, atol=F64_ATOL, what=name)


def test_f64_integer_input_is_float64():
    # integers are computed in float64 too (scikit-learn's rule): identical to the float64 copy
    X, y = make_dataset("blobs")
    Xi = np.rint(f64(X) * 1000).astype(np.int64)
    assert np.array_equal(lm.silhouette_samples(Xi, y), lm.silhouette_samples(f64(Xi), y))
    close(lm.silhouette_samples(Xi, y), skm.silhouette_samples(Xi, y), rtol=F64_RTOL, atol=F64_ATOL)


@real_cases
def test_real_f64(real_data, layer, labelset):
    X, y = _genuinely_f64(real_data.layer(layer)), real_data.labels(labelset)
    for metric in METRICS:
        got = lm.silhouette_samples(X, y, metric=metric)
        close(got, skm.silhouette_samples(X, y, metric=metric), rtol=F64_RTOL, atol=F64_ATOL,
              what=f"layer {layer} / {labelset} / {metric}")
    close(lm.davies_bouldin_score(X, y), skm.davies_bouldin_score(X, y), rtol=F64_RTOL)
    close(lm.calinski_harabasz_score(X, y), skm.calinski_harabasz_score(X, y), rtol=F64_RTOL)


# -- silhouette from a precomputed distance matrix ---------------------------------------------------

@pytest.mark.parametrize("metric", METRICS)
def test_precomputed_silhouette(dataset, metric):
    from sklearn.metrics import pairwise_distances
    name, X, y = dataset
    D = pairwise_distances(_genuinely_f64(X), metric=metric)
    np.fill_diagonal(D, 0)
    want = skm.silhouette_samples(D, y, metric="precomputed")
    close(lm.silhouette_samples(D, y, metric="precomputed"), want, rtol=F64_RTOL, atol=F64_ATOL, what=f"{name}/{metric}")
    close(lm.silhouette_score(D, y, metric="precomputed"), float(np.mean(want)), rtol=1e-12, atol=1e-14)
    # float32 distances: float64 sums (scikit-learn sums them in float32, hence the looser bound)
    D32 = D.astype(np.float32)
    close(lm.silhouette_samples(D32, y, metric="precomputed"), skm.silhouette_samples(D32, y, metric="precomputed"),
          atol=SAMPLE_ATOL, what=f"{name}/{metric} float32")
    close(lm.silhouette_score(D, y, metric="precomputed", sample_size=300, random_state=4),
          skm.silhouette_score(D, y, metric="precomputed", sample_size=300, random_state=4), rtol=1e-12)


def test_precomputed_silhouette_real(real_data):
    from sklearn.metrics import pairwise_distances
    X, y = real_data.layer(3).astype(np.float64), real_data.labels("supersense")
    D = pairwise_distances(X)
    close(lm.silhouette_samples(D, y, metric="precomputed"), skm.silhouette_samples(D, y, metric="precomputed"),
          rtol=F64_RTOL, atol=F64_ATOL)


def test_precomputed_checks_as_sklearn():
    D = np.array([[0, 1, 2], [1, 0, 1], [2, 1, 0]], dtype=np.float64)
    y = [0, 0, 1]
    assert lm.silhouette_score(D.astype(np.int64), y, metric="precomputed") == pytest.approx(1 / 6, rel=1e-15)
    for dtype in (np.float32, np.float64):
        small = D.astype(dtype)
        small[2, 2] = np.finfo(dtype).eps * 10          # tolerated, and summed as scikit-learn sums it
        close(lm.silhouette_samples(small, y, metric="precomputed"), skm.silhouette_samples(small, y, metric="precomputed"),
              rtol=1e-6)
        small[2, 2] = np.finfo(dtype).eps * 1000
        with pytest.raises(ValueError, match="contains non-zero elements on the diagonal"):
            lm.silhouette_samples(small, y, metric="precomputed")
    neg = D.copy()
    neg[0, 1] = -1
    with pytest.raises(ValueError, match="Negative values in data passed to `pairwise_distances`"):
        lm.silhouette_samples(neg, y, metric="precomputed")
    with pytest.raises(ValueError, match=r"Precomputed metric requires shape \(n_queries, n_indexed\). Got \(3, 2\)"):
        lm.silhouette_samples(D[:, :2], y, metric="precomputed")
    with pytest.raises(ValueError, match="Number of labels is 1"):
        lm.silhouette_samples(D, [0, 0, 0], metric="precomputed")
    with pytest.raises(ValueError, match="callable metric is not supported.*metric='precomputed'"):
        lm.silhouette_score(D, y, metric=lambda a, b: 0.0)


# -- the other silhouette metrics: manhattan, chebyshev (pair by pair), correlation (row-centred cosine)

OTHER_METRICS = ("manhattan", "chebyshev", "correlation")


@pytest.mark.parametrize("metric", OTHER_METRICS)
def test_other_silhouette_metrics(dataset, metric):
    name, X, y = dataset
    if metric == "correlation" and np.any(np.ptp(X, axis=1) == 0):
        pytest.skip("a constant row: scipy's correlation is NaN there (Lamina: distance 1, documented)")
    close(lm.silhouette_samples(X, y, metric=metric), skm.silhouette_samples(f64(X), y, metric=metric),
          atol=SAMPLE_ATOL, what=f"{name}/{metric} float32")
    X64 = _genuinely_f64(X)
    close(lm.silhouette_samples(X64, y, metric=metric), skm.silhouette_samples(X64, y, metric=metric),
          rtol=F64_RTOL, atol=F64_ATOL, what=f"{name}/{metric} float64")
    close(lm.silhouette_score(X64, y, metric=metric), skm.silhouette_score(X64, y, metric=metric), rtol=1e-12, atol=1e-14)


def test_other_silhouette_metrics_real(real_data):
    X, y = real_data.layer(6)[:1500].astype(np.float64), real_data.labels("pos")[:1500]
    for metric in OTHER_METRICS + ("cityblock", "l1"):
        close(lm.silhouette_samples(X, y, metric=metric), skm.silhouette_samples(X, y, metric=metric),
              rtol=F64_RTOL, atol=F64_ATOL, what=metric)


def test_unknown_metric_names_the_options():
    X, y = make_dataset("blobs")
    with pytest.raises(ValueError, match="seuclidean.*expected one of .*chebyshev"):
        lm.silhouette_score(X, y, metric="seuclidean")   # ("minkowski" is supported: test_sklearn_options.py)


# -- float32 input computed in float64 (issue 14: the dense float32 silhouette as accurate as float64) --

SILHOUETTE_METRICS = ["euclidean", "sqeuclidean", "cosine", "correlation", "manhattan", "chebyshev", "minkowski"]


def _noise(seed=5, n=700, d=24):
    # overlapping classes: many silhouettes near 0, where b - a cancels (float32 distances would leave
    # relative errors up to ~1e-4 there)
    rng = np.random.default_rng(seed)
    X = (rng.standard_normal((n, d)) * 2.5 + 7.0).astype(np.float32)
    return X, rng.integers(0, 3, size=n)


@pytest.mark.parametrize("metric", SILHOUETTE_METRICS)
def test_float32_silhouette_is_float64_accurate(metric):
    X, y = _noise()
    kw = {"p": 3} if metric == "minkowski" else {}
    ours = lm.silhouette_samples(X, y, metric=metric, **kw)
    want = skm.silhouette_samples(X.astype(np.float64), y, metric=metric, **kw)
    assert np.min(np.abs(want)) < 1e-3          # the data do have cancelling values
    assert_allclose(ours, want, rtol=1e-9, atol=1e-13, err_msg=metric)
    # float32 X and its float64 copy: the same computation
    assert_allclose(ours, lm.silhouette_samples(X.astype(np.float64), y, metric=metric, **kw), rtol=1e-11, atol=1e-14)
    assert_allclose(lm.silhouette_score(X, y, metric=metric, **kw), np.mean(want), rtol=1e-11, atol=1e-14)


def test_float32_silhouette_dense_equals_sparse():
    import scipy.sparse as sps
    X, y = _noise(seed=6)
    X[np.random.default_rng(6).random(X.shape) < 0.6] = 0   # a genuinely sparse matrix
    dense = lm.silhouette_samples(X, y)
    for container in (sps.csr_matrix, sps.csc_array):
        assert_allclose(lm.silhouette_samples(container(X), y), dense, rtol=1e-9, atol=1e-13)
    assert_allclose(dense, skm.silhouette_samples(X.astype(np.float64), y), rtol=1e-9, atol=1e-13)


def test_float32_silhouette_of_a_distance_matrix_as_features():
    # scikit-learn's test_silhouette_samples_euclidean_sparse: the rows of a float32 distance matrix
    # as features, dense and sparse, compared at rtol 1e-7 (value -0.00332 at index 5 cancels)
    import scipy.sparse as sps
    X = np.array([[0.2, 0.1, 0.1, 0.2, 0.1, 1.6, 0.2, 0.1]], dtype=np.float32).T
    pdist = skm.pairwise_distances(X)
    y = [0, 0, 0, 0, 1, 1, 1, 1]
    dense = lm.silhouette_samples(pdist, y)
    assert_allclose(lm.silhouette_samples(sps.csr_matrix(pdist), y), dense, rtol=1e-12)
    assert_allclose(dense, skm.silhouette_samples(pdist.astype(np.float64), y), rtol=1e-12)


def _cancelling_rows(seed=11, pairs=30, d=96, offset=300.0):
    """Points whose silhouette is ~1e-6 because a(i) and b(i) agree to ~1e-6 relative: each probe p has
    own-class partners A and other-class partners B = A mirrored through the hyperplane t_0 = p_0 (exact
    in float32: 2 p_0 - A_0 with p_0 and A_0 on a coarse grid), so a(p) = b(p) exactly, and then one B
    point is moved by a few float32 ulps so that b - a ~ 1e-6 a. The data sit far from the origin
    (offset), where float32 gemm-form distances err by ~1e-6 relative or more: a silhouette computed
    from them is wrong by ~1e-6, i.e. 100% on these rows."""
    rng = np.random.default_rng(seed)
    rows, labels = [], []
    for g in range(pairs):
        p = offset + np.round(rng.standard_normal(d) * 8) / 8
        p[2] += 400 * g                      # groups far apart: B is the nearest other class of p
        A = p + np.round(rng.standard_normal((3, d)) * 64) / 16
        B = A.copy()
        B[:, 0] = 2 * p[0] - A[:, 0]
        B[0, 1] += B[0, 1] * 2.0 ** -20 * (1 if g % 2 else -1)   # b - a ~ +-1e-6 a: exact in float32
        rows += [p, *A, *B]
        labels += [2 * g] * 4 + [2 * g + 1] * 3
    return np.array(rows, dtype=np.float32), np.array(labels)


def test_float32_silhouette_recomputes_cancelling_rows():
    # The dense float32 silhouette must be float64-accurate on rows where b - a cancels: a fast float32
    # pass that did not recompute these rows in float64 would be off by ~1e-6 (the values themselves).
    X, y = _cancelling_rows()
    X64 = X.astype(np.float64)
    D = np.sqrt(((X64[:, None, :] - X64[None, :, :]) ** 2).sum(-1))    # exact differences, float64
    want = np.zeros(len(y))
    for i in range(len(y)):
        own = (y == y[i]) & (np.arange(len(y)) != i)
        a = D[i, own].mean()
        b = min(D[i, y == c].mean() for c in np.unique(y) if c != y[i])
        want[i] = (b - a) / max(a, b)
    probes = np.arange(0, len(y), 7)
    assert np.all(np.abs(want[probes]) < 5e-6) and np.all(np.abs(want[probes]) > 1e-9)   # they do cancel
    ours = lm.silhouette_samples(X, y)
    assert_allclose(ours[probes], want[probes], rtol=1e-6, atol=1e-14)   # the cancelling rows: relative
    assert_allclose(ours, want, rtol=1e-12, atol=1e-14)
    assert_allclose(lm.silhouette_samples(X64, y), want, rtol=1e-12, atol=1e-14)
