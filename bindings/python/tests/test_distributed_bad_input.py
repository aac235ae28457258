"""Bad input for the distributed SAE hooks and the mergeable cluster indices, straight through the C API;
every case runs in a worker subprocess (isolated.py), so a crash fails one case instead of killing pytest."""
from __future__ import annotations

import sys

from isolated import case_registry, crash_tests, expect_status, worker_main

CASES, case = case_registry()


def _lazy():
    import ctypes

    import numpy as np

    from lamina import _native as N
    return ctypes, np, N


@case
def mergeable_indices_bad_input():
    ctypes, np, N = _lazy()
    lib = N.lib
    x = np.random.default_rng(0).standard_normal((10, 3)).astype(np.float32)
    lab = (np.arange(10) % 3).astype(np.int32)
    counts, sums = np.zeros(3, np.int64), np.zeros((3, 3))
    cp, sp = counts.ctypes.data_as(N.i64p), sums.ctypes.data_as(N.f64p)
    expect_status(1, lib.lamina_class_sums_partial(None, 10, 3, N.iptr(lab), 3, cp, sp), "x is NULL")
    expect_status(1, lib.lamina_class_sums_partial(N.fptr(x), 10, 3, N.iptr(lab), 2, cp, sp), "labels[2] is 2")
    expect_status(1, lib.lamina_class_sums_partial(N.fptr(x), 10, 3, N.iptr(lab), 0, cp, sp), "n_clusters is 0")
    expect_status(1, lib.lamina_class_sums_partial(N.fptr(x), 10, 3, N.iptr(lab), 3, None, sp), "counts is NULL")
    bad = x.copy()
    bad[4, 1] = np.nan
    expect_status(3, lib.lamina_class_sums_partial(N.fptr(bad), 10, 3, N.iptr(lab), 3, cp, sp), "row 4")
    neg = np.array([-1, 2, 3], np.int64)
    out = ctypes.c_double()
    expect_status(1, lib.lamina_calinski_harabasz_finalize(3, 3, neg.ctypes.data_as(N.i64p), sp, sp,
                                                           ctypes.byref(out)), "counts[0] is -1")
    one = np.array([5, 0, 0], np.int64)
    expect_status(1, lib.lamina_davies_bouldin_finalize(3, 3, one.ctypes.data_as(N.i64p), sp, sp, ctypes.byref(out)),
                  "1 non-empty clusters")
    expect_status(1, lib.lamina_class_spread_partial(N.fptr(x), 10, 3, N.iptr(lab), 3, None, sp, sp), "centroids is NULL")
    expect_status(1, lib.lamina_class_centroids(3, 0, cp, sp, sp), "d is 0")


@case
def mergeable_contingency_bad_input():
    ctypes, np, N = _lazy()
    lib = N.lib
    t, p = np.array([0, 1, 1], np.int32), np.array([2, 2, 2], np.int32)
    c = np.array([1, 2, -4], np.int64)
    cp = c.ctypes.data_as(N.i64p)
    out, nnz = ctypes.c_double(), ctypes.c_int64()
    expect_status(1, lib.lamina_adjusted_rand_finalize(N.iptr(t), N.iptr(p), cp, 3, ctypes.byref(out)),
                  "cell_count[2] is -4")
    expect_status(1, lib.lamina_adjusted_mutual_info_finalize(None, N.iptr(p), cp, 2, 2, ctypes.byref(out)),
                  "cell_true is NULL")
    expect_status(1, lib.lamina_normalized_mutual_info_finalize(N.iptr(t), N.iptr(p), cp, 2, -1, ctypes.byref(out)),
                  "average is -1")
    expect_status(2, lib.lamina_contingency_merge(N.iptr(t), N.iptr(p), cp, 2, N.iptr(t), N.iptr(p), cp, 1,
                                                  ctypes.byref(nnz)), "capacity is 1")
    assert nnz.value == 2
    expect_status(1, lib.lamina_contingency_partial(N.iptr(t), None, 3, N.iptr(t), N.iptr(p), cp, 3,
                                                    ctypes.byref(nnz)), "labels_pred is NULL")
    expect_status(1, lib.lamina_contingency_partial(N.iptr(t), N.iptr(p), 3, N.iptr(t), N.iptr(p), cp, -1,
                                                    ctypes.byref(nnz)), "capacity is -1")


@case
def mergeable_cka_bad_input():
    ctypes, np, N = _lazy()
    lib = N.lib
    x = np.random.default_rng(0).standard_normal((10, 3)).astype(np.float32)
    part = np.zeros(1 + 3 + 3 + 9 + 9 + 9)
    pp, out = part.ctypes.data_as(N.f64p), ctypes.c_double()
    bad = x.copy()
    bad[7, 2] = np.inf
    expect_status(3, lib.lamina_linear_cka_partial(N.fptr(x), 10, 3, N.fptr(bad), 3, None, None, 0, pp, 34),
                  "row 7, column 2")
    expect_status(2, lib.lamina_linear_cka_partial(N.fptr(x), 10, 3, N.fptr(x), 3, None, None, 1, pp, 34),
                  "partial_len is 34; expected 49")
    expect_status(1, lib.lamina_linear_cka_partial(N.fptr(x), 10, 3, N.fptr(x), 3, None, None, 0, None, 34),
                  "partial is NULL")
    # the widths are checked against partial_len before x and y are read (x holds 30 values: reading a
    # declared 2^33 x 3 or a wrong width first would run past it)
    expect_status(2, lib.lamina_linear_cka_partial(N.fptr(x), 1 << 33, 3, N.fptr(x), 3, None, None, 0, pp, 33),
                  "partial_len is 33; expected 34")
    expect_status(2, lib.lamina_linear_cka_partial(N.fptr(x), 1 << 33, 5, N.fptr(x), 3, None, None, 0, pp, 34),
                  "partial_len is 34; expected 58")
    expect_status(1, lib.lamina_linear_cka_finalize(3, 3, 0, pp, 34, ctypes.byref(out)), "n is 0")
    expect_status(1, lib.lamina_linear_cka_finalize(3, -3, 0, pp, 34, ctypes.byref(out)), "d2 is -3")
    expect_status(1, lib.lamina_linear_cka_finalize(3, 3, 0, None, 34, ctypes.byref(out)), "partial is NULL")
    expect_status(0, lib.lamina_linear_cka_partial(N.fptr(x), 10, 3, N.fptr(x), 3, None, None, 0, pp, 34))
    part[0] = -1
    expect_status(1, lib.lamina_linear_cka_finalize(3, 3, 0, pp, 34, ctypes.byref(out)), "element 0")


@case
def reducer_bad_input():
    ctypes, np, N = _lazy()
    lib = N.lib
    fn = N.ReduceFn(lambda *a: 0)
    expect_status(1, lib.lamina_sae_set_reducer(None, fn, None, 0, 1), "sae")
    expect_status(1, lib.lamina_sae_set_shuffle(None, 1), "sae")


if __name__ == "__main__":
    worker_main(CASES)
    sys.exit(0)

test_distributed_bad_input = crash_tests(__file__, CASES)
