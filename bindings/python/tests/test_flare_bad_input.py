"""Bad input for lamina.audit.hdbscan / flare_aggregate / flare_detect / flare_detect_split through Python
and straight through the C API; every case runs in a worker subprocess (isolated.py), so a crash fails one case instead of
killing pytest."""
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


def _data(n=40, d=3, seed=0):
    _, np, _, _ = _lazy()
    return np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32)


@case
def hdbscan_bad_input():
    _, np, lamina, _ = _lazy()
    A = lamina.audit
    x = _data()
    expect(lambda: A.hdbscan(x, 1), lamina.InvalidArgumentError, ValueError, "min_cluster_size")
    expect(lambda: A.hdbscan(x, 5.0), lamina.InvalidArgumentError, ValueError, "min_cluster_size")
    expect(lambda: A.hdbscan(x, 5, 0), lamina.InvalidArgumentError, ValueError, "min_samples")
    expect(lambda: A.hdbscan(x, 5, 41), lamina.InvalidArgumentError, ValueError, "min_samples is 41", "40 rows")
    expect(lambda: A.hdbscan(x, 50), lamina.InvalidArgumentError, ValueError, "min_samples is 50")
    expect(lambda: A.hdbscan(x[:1], 2, 1), lamina.InvalidArgumentError, ValueError, "n is 1")
    expect(lambda: A.hdbscan(x[0], 5), lamina.InvalidArgumentError, ValueError, "2D")
    bad = x.copy()
    bad[7, 1] = np.nan
    expect(lambda: A.hdbscan(bad, 5), lamina.NonFiniteError, ValueError, "row 7", "column 1")
    bad[7, 1] = np.inf
    expect(lambda: A.hdbscan(bad, 5), lamina.NonFiniteError, ValueError, "row 7")
    # duplicates (zero distances, lambda = inf) are fine
    same = np.zeros((30, 2), np.float32)
    labels, tree = A.hdbscan(same, 5, return_tree=True)
    assert labels.shape == (30,) and np.isinf(tree["lambda"]).any()


@case
def flare_detect_bad_input():
    _, np, lamina, _ = _lazy()
    A = lamina.audit
    f = np.random.default_rng(0).standard_normal((150, 3))
    expect(lambda: A.flare_detect(f, 200), lamina.InvalidArgumentError, ValueError, "n is 150",
           "min_cluster_size is 200")
    expect(lambda: A.flare_detect(f, 50, xi=0.0), lamina.InvalidArgumentError, ValueError, "xi is 0.0")
    expect(lambda: A.flare_detect(f, 50, xi=-1), lamina.InvalidArgumentError, ValueError, "xi")
    expect(lambda: A.flare_detect(f, 50, xi=float("nan")), lamina.InvalidArgumentError, ValueError, "xi")
    expect(lambda: A.flare_detect(f, 50, xi="big"), lamina.InvalidArgumentError, ValueError, "xi")
    expect(lambda: A.flare_detect(f, 50, depth=0), lamina.InvalidArgumentError, ValueError, "depth")
    expect(lambda: A.flare_detect(f, 1), lamina.InvalidArgumentError, ValueError, "min_cluster_size")
    expect(lambda: A.flare_detect(f[:, 0], 50), lamina.InvalidArgumentError, ValueError, "shape")
    expect(lambda: A.flare_detect(f[:, :0], 50), lamina.InvalidArgumentError, ValueError, "n_layers is 0")
    bad = f.copy()
    bad[9, 2] = np.nan
    expect(lambda: A.flare_detect(bad, 50), lamina.NonFiniteError, ValueError, "row 9", "column 2")
    # constant features: every column standardises to 0, no split: a documented result
    import warnings
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = A.flare_detect(np.ones((150, 2)), 50)
    assert not r["found"] and not r["flags"].any() and any("no stable split" in str(w.message) for w in caught)


@case
def hdbscan_flare_counts_beyond_int64():
    # ctypes wrapped Python ints beyond int64 silently (min_cluster_size 2**64 + 5 ran as 5)
    _, np, lamina, _ = _lazy()
    A = lamina.audit
    x = _data(60, 3)
    f = x.astype(np.float64)
    expect(lambda: A.hdbscan(x, min_cluster_size=2**64 + 5), lamina.InvalidArgumentError, ValueError,
           "min_cluster_size", "64-bit")
    expect(lambda: A.hdbscan(x, min_samples=2**64 + 3), lamina.InvalidArgumentError, ValueError, "min_samples",
           "64-bit")
    expect(lambda: A.flare_detect(f, min_cluster_size=2**64 + 10), lamina.InvalidArgumentError, ValueError,
           "min_cluster_size", "64-bit")
    expect(lambda: A.flare_detect(f, 10, min_samples=2**64 + 3), lamina.InvalidArgumentError, ValueError,
           "min_samples", "64-bit")
    expect(lambda: A.flare_detect_split(f, max_iter=2**64 + 1), lamina.InvalidArgumentError, ValueError,
           "max_iter", "64-bit")


@case
def flare_detect_split_bad_input():
    _, np, lamina, _ = _lazy()
    A = lamina.audit
    f = np.random.default_rng(0).standard_normal((60, 3))
    expect(lambda: A.flare_detect_split(f[:3]), lamina.InvalidArgumentError, ValueError, "n is 3", ">= 4")
    expect(lambda: A.flare_detect_split(f[:, :0]), lamina.InvalidArgumentError, ValueError, "n_layers is 0")
    expect(lambda: A.flare_detect_split(f[:, 0]), lamina.InvalidArgumentError, ValueError, "shape")
    expect(lambda: A.flare_detect_split(f.astype(str)), lamina.InvalidArgumentError, ValueError, "dtype")
    expect(lambda: A.flare_detect_split(f, n_boot=0), lamina.InvalidArgumentError, ValueError, "n_boot")
    expect(lambda: A.flare_detect_split(f, n_boot=2.5), lamina.InvalidArgumentError, ValueError, "n_boot")
    expect(lambda: A.flare_detect_split(f, n_boot=2**31), lamina.InvalidArgumentError, ValueError, "n_boot")
    expect(lambda: A.flare_detect_split(f, max_iter=0), lamina.InvalidArgumentError, ValueError, "max_iter")
    expect(lambda: A.flare_detect_split(f, seed=-1), lamina.InvalidArgumentError, ValueError, "seed")
    expect(lambda: A.flare_detect_split(f, seed="x"), lamina.InvalidArgumentError, ValueError, "seed")
    bad = f.copy()
    bad[9, 2] = np.nan
    expect(lambda: A.flare_detect_split(bad), lamina.NonFiniteError, ValueError, "row 9", "column 2")
    bad[9, 2] = -np.inf
    expect(lambda: A.flare_detect_split(bad), lamina.NonFiniteError, ValueError, "row 9", "column 2")
    R = np.zeros((5, 60), np.int64)
    expect(lambda: A.flare_detect_split(f, resamples=R[:, :59]), lamina.ShapeMismatchError, ValueError,
           "(n_boot, 60)")
    expect(lambda: A.flare_detect_split(f, resamples=R[0]), lamina.ShapeMismatchError, ValueError, "resamples")
    expect(lambda: A.flare_detect_split(f, resamples=R.astype(float)), lamina.InvalidArgumentError, ValueError,
           "integer")
    expect(lambda: A.flare_detect_split(f, n_boot=4, resamples=R), lamina.ShapeMismatchError, ValueError,
           "n_boot=4", "5 rows")
    R[3, 17] = 60
    expect(lambda: A.flare_detect_split(f, resamples=R), lamina.InvalidArgumentError, ValueError,
           "resamples[3][17] is 60", "[0, 60)")
    R[3, 17] = -1
    expect(lambda: A.flare_detect_split(f, resamples=R), lamina.InvalidArgumentError, ValueError,
           "resamples[3][17] is -1")
    # resamples of one repeated row (they cannot split) are valid input
    R[3, 17] = 0
    r = A.flare_detect_split(f, resamples=R)
    assert r["found"] and r["table"].shape == (3, 2)
    # constant features: no split for any w, a documented result
    import warnings
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = A.flare_detect_split(np.ones((20, 2)), n_boot=3)
    assert not r["found"] and not r["flags"].any() and any("no split" in str(w.message) for w in caught)


@case
def flare_aggregate_bad_input():
    _, np, lamina, _ = _lazy()
    A = lamina.audit
    a, b = _data(20, 4), _data(20, 6, seed=1)
    expect(lambda: A.flare_aggregate([]), lamina.InvalidArgumentError, ValueError, "non-empty")
    expect(lambda: A.flare_aggregate(a), lamina.InvalidArgumentError, ValueError, "list")
    expect(lambda: A.flare_aggregate([a, _data(19, 4)]), lamina.ShapeMismatchError, ValueError, "layers[1]", "19")
    expect(lambda: A.flare_aggregate([a[:, 0]]), lamina.InvalidArgumentError, ValueError, "layers[0]")
    expect(lambda: A.flare_aggregate([a, b], [np.zeros(4)], [np.ones(4)]), lamina.ShapeMismatchError, ValueError,
           "one per layer")
    expect(lambda: A.flare_aggregate([a, b], [np.zeros(4), np.zeros(5)], [np.ones(4), np.ones(6)]),
           lamina.ShapeMismatchError, ValueError, "means[1]", "6")
    expect(lambda: A.flare_aggregate([a], [np.zeros(4)], None), lamina.InvalidArgumentError, ValueError, "both")
    expect(lambda: A.flare_aggregate([a], [np.zeros(4)], [None]), lamina.InvalidArgumentError, ValueError,
           "means[0]")
    expect(lambda: A.flare_aggregate([a], [np.zeros(4)], [-np.ones(4)]), lamina.InvalidArgumentError, ValueError,
           "variances[0][0]")
    expect(lambda: A.flare_aggregate([a], [np.full(4, np.nan)], [np.ones(4)]), lamina.NonFiniteError, ValueError,
           "means[0][0]")
    expect(lambda: A.flare_aggregate([a], [np.zeros(4)], [np.zeros(4)], eps=0.0), lamina.InvalidArgumentError,
           ValueError, "variance + eps")
    expect(lambda: A.flare_aggregate([a], eps=-1.0), lamina.InvalidArgumentError, ValueError, "eps")
    bad = a.copy()
    bad[3, 2] = np.inf
    expect(lambda: A.flare_aggregate([b, bad]), lamina.NonFiniteError, ValueError, "layers[1]", "row 3")
    # a constant channel with statistics from the data: variance 0, eps 0 -> error; eps > 0 -> fine
    const = np.ones((20, 2), np.float32)
    expect(lambda: A.flare_aggregate([const], eps=0.0), lamina.InvalidArgumentError, ValueError, "variance + eps")
    assert np.isfinite(A.flare_aggregate([const])).all()


@case
def c_api_hdbscan_flare():
    ctypes, np, lamina, N = _lazy()
    lib = N.lib
    x = _data()
    lab = np.zeros(40, np.int32)
    expect_status(1, lib.lamina_hdbscan(None, 40, 3, 5, 0, N.iptr(lab), None, None, None, None, None, 0, None),
                  "x is NULL")
    expect_status(1, lib.lamina_hdbscan(N.fptr(x), 40, 3, 5, 0, None, None, None, None, None, None, 0, None),
                  "labels is NULL")
    expect_status(1, lib.lamina_hdbscan(N.fptr(x), 40, 3, 5, -1, N.iptr(lab), None, None, None, None, None, 0, None),
                  "min_samples is -1")
    expect_status(1, lib.lamina_hdbscan(N.fptr(x), 0, 3, 5, 0, N.iptr(lab), None, None, None, None, None, 0, None),
                  "n is 0")
    expect_status(1, lib.lamina_hdbscan(N.fptr(x), 40, 3, 1, 0, N.iptr(lab), None, None, None, None, None, 0, None),
                  "min_cluster_size is 1")
    p = np.zeros(80, np.int64)
    lam = np.zeros(80)
    expect_status(1, lib.lamina_hdbscan(N.fptr(x), 40, 3, 5, 0, N.iptr(lab), N.lptr(p), None, None, None, None, 80,
                                        None), "all NULL or all non-NULL")
    expect_status(1, lib.lamina_hdbscan(N.fptr(x), 40, 3, 5, 0, N.iptr(lab), None, None, None, None, N.dptr(lam), 79,
                                        None), "tree_capacity is 79")
    assert lib.lamina_hdbscan(N.fptr(x), 40, 3, 5, 0, N.iptr(lab), None, None, None, None, N.dptr(lam), 80, None) == 0
    f = np.random.default_rng(0).standard_normal((150, 2))
    flags = np.zeros(150, np.int32)
    expect_status(1, lib.lamina_flare_detect(None, 150, 2, 50, 0, 0.02, 3, N.iptr(flags), None, None, None, None,
                                             None, None), "features is NULL")
    expect_status(1, lib.lamina_flare_detect(N.dptr(f), 150, 2, 50, 0, 0.02, 3, None, None, None, None, None,
                                             None, None), "flags is NULL")
    expect_status(1, lib.lamina_flare_detect(N.dptr(f), 150, 2, 50, 0, 0.02, -3, N.iptr(flags), None, None, None,
                                             None, None, None), "depth is -3")
    expect_status(1, lib.lamina_flare_detect(N.dptr(f), 150, 0, 50, 0, 0.02, 3, N.iptr(flags), None, None, None,
                                             None, None, None), "n_layers is 0")
    assert lib.lamina_flare_detect(N.dptr(f), 150, 2, 50, 0, 0.02, 3, N.iptr(flags), None, None, None, None, None,
                                   None) == 0  # every optional output may be NULL
    flags = np.zeros(150, np.int32)
    split = lib.lamina_flare_detect_split
    expect_status(1, split(None, 150, 2, 10, 300, 0, None, N.iptr(flags), None, None, None, None, None, None),
                  "features is NULL")
    expect_status(1, split(N.dptr(f), 150, 2, 10, 300, 0, None, None, None, None, None, None, None, None),
                  "flags is NULL")
    expect_status(1, split(N.dptr(f), 3, 2, 10, 300, 0, None, N.iptr(flags), None, None, None, None, None, None),
                  "n is 3")
    expect_status(1, split(N.dptr(f), -5, 2, 10, 300, 0, None, N.iptr(flags), None, None, None, None, None, None),
                  "n is -5")
    expect_status(1, split(N.dptr(f), 150, -1, 10, 300, 0, None, N.iptr(flags), None, None, None, None, None, None),
                  "n_layers is -1")
    expect_status(1, split(N.dptr(f), 150, 2, -10, 300, 0, None, N.iptr(flags), None, None, None, None, None, None),
                  "n_boot is -10")
    expect_status(1, split(N.dptr(f), 150, 2, 10, -1, 0, None, N.iptr(flags), None, None, None, None, None, None),
                  "max_iter is -1")
    assert split(N.dptr(f), 150, 2, 10, 300, 2**64 - 1, None, N.iptr(flags), None, None, None, None, None,
                 None) == 0  # every optional output may be NULL; any 64-bit seed
    a = _data(20, 4)
    out = np.zeros(20)
    ptrs = (N.f32p * 1)(N.fptr(a))
    ch = np.array([4], np.int64)
    pos = np.array([1], np.int64)
    expect_status(2, lib.lamina_flare_aggregate(ptrs, N.lptr(ch), N.lptr(pos), 1, 20, None, None, 1e-5, N.dptr(out),
                                                19), "out_len is 19")
    expect_status(1, lib.lamina_flare_aggregate(ptrs, N.lptr(ch), None, 1, 20, None, None, 1e-5, N.dptr(out), 20),
                  "positions is NULL")
    bad_pos = np.array([0], np.int64)
    expect_status(1, lib.lamina_flare_aggregate(ptrs, N.lptr(ch), N.lptr(bad_pos), 1, 20, None, None, 1e-5,
                                                N.dptr(out), 20), "positions[0] is 0")
    mean = np.zeros(4)
    mp = (N.f64p * 1)(N.dptr(mean))
    expect_status(1, lib.lamina_flare_aggregate(ptrs, N.lptr(ch), N.lptr(pos), 1, 20, mp, None, 1e-5, N.dptr(out),
                                                20), "both NULL")
    assert lib.lamina_flare_aggregate(ptrs, N.lptr(ch), N.lptr(pos), 1, 20, None, None, 1e-5, N.dptr(out), 20) == 0


if __name__ == "__main__":
    worker_main(CASES)
    sys.exit(0)

test_flare_bad_input = crash_tests(__file__, CASES)
