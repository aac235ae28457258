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
