"""Bad input at every entry point: the Python API and, through ``lamina._native.lib``, the C API itself
(bypassing the Python-side checks).

The library's rule (include/lamina.h): every argument is validated before any work; a failure returns a
status and a message naming the argument; no input can crash the process. A Swift trap would kill the
interpreter (SIGILL/SIGTRAP), so every case runs in a worker subprocess: this file is also the worker
(``python test_bad_input.py --worker NAME...``). The worker prints a result line per case; when it dies,
the case it was running is reported as a crash (with the signal and stderr) and a new worker continues
with the remaining cases. Each pytest item is one case.

Every error assertion checks the Lamina exception class (or the C status), the builtin it must also be
(ValueError, OSError, MemoryError) and the words of the message that name the argument.
"""
from __future__ import annotations

import math
import sys
import tempfile
from pathlib import Path

from isolated import case_registry, crash_tests, expect, expect_status, worker_main


CASES, case = case_registry()


def register(name, fn):
    assert name not in CASES, name
    CASES[name] = fn


# ==================================================================================================
# Helpers used inside the worker
# ==================================================================================================

def _lazy():
    import ctypes

    import numpy as np

    import lamina
    from lamina import _native as N
    return ctypes, np, lamina, N


# A single size beyond what can be addressed (n = 2**62): lamina.h lists "n*d overflow" under
# LAMINA_ERR_OUT_OF_MEMORY and "size <= 0" under INVALID_ARGUMENT, so either status is accepted as
# long as the message names the argument. A product n*d that overflows while each factor is fine must
# be OUT_OF_MEMORY.
HUGE = (1, 6)


def two_blobs():
    """6 x 2 float32, two well separated clusters, and their labels."""
    _, np, _, _ = _lazy()
    x = np.array([[0, 0], [0, 1], [1, 0], [10, 10], [10, 11], [11, 10]], dtype=np.float32)
    y = np.array([0, 0, 0, 1, 1, 1], dtype=np.int32)
    return x, y


# ==================================================================================================
# Direct C calls: internal indices
# ==================================================================================================

# name -> list of (enum argument name, valid value) in argument order between labels and out
INTERNAL = {
    "lamina_silhouette_samples": [("metric", 0)],
    "lamina_silhouette_score": [("metric", 0)],
    "lamina_davies_bouldin_score": [],
    "lamina_calinski_harabasz_score": [],
    "lamina_dunn_index": [("linkage", 0), ("diameter", 0)],
    "lamina_xie_beni_index": [("separation", 0)],
    "lamina_gdv": [],
}
# the float64 twins: the same cases on float64 data
INTERNAL.update({name + "_f64": enums for name, enums in list(INTERNAL.items())})


def _internal_call(name, x=..., n=None, d=None, labels=..., out=..., enums=None):
    """Calls an internal index with the two-blob data, overriding any argument; returns the status."""
    ctypes, np, _, N = _lazy()
    x0, y0 = two_blobs()
    xa = x0 if x is ... else x
    ya = y0 if labels is ... else labels
    if n is None:
        n = xa.shape[0] if xa is not None else 6
    if d is None:
        d = xa.shape[1] if xa is not None else 2
    outbuf = np.zeros(max(xa.shape[0] if xa is not None else 6, 6), dtype=np.float64)
    if name.endswith("_f64") and xa is not None:
        xa = np.ascontiguousarray(xa, dtype=np.float64)
    xp = None if xa is None else (N.dptr(xa) if name.endswith("_f64") else N.fptr(xa))
    yp = None if ya is None else N.iptr(ya)
    op = None if out is None else N.dptr(outbuf)
    vals = [v for _, v in INTERNAL[name]]
    for k, v in (enums or {}).items():
        vals[[a for a, _ in INTERNAL[name]].index(k)] = v
    # keep the arrays alive across the call
    _keep = (xa, ya, outbuf)
    status = getattr(N.lib, name)(xp, n, d, yp, *vals, op)
    del _keep
    return status, outbuf


def _register_internal():
    for fname, enums in INTERNAL.items():
        short = fname[len("lamina_"):]

        def mk(fn_name, body):
            return lambda: body(fn_name)

        def c_ok(f):
            status, out = _internal_call(f)
            expect_status(0, status)
            assert all(math.isfinite(v) for v in out[:1]), out

        def c_null_x(f):
            expect_status(1, _internal_call(f, x=None, n=6, d=2)[0], "x is NULL")

        def c_null_labels(f):
            expect_status(1, _internal_call(f, labels=None)[0], "labels is NULL")

        def c_null_out(f):
            expect_status(1, _internal_call(f, out=None)[0], "out is NULL")

        def c_n_zero(f):
            expect_status(1, _internal_call(f, n=0)[0], "n is 0")

        def c_n_negative(f):
            expect_status(1, _internal_call(f, n=-1)[0], "n is -1")

        def c_d_zero(f):
            expect_status(1, _internal_call(f, d=0)[0], "d is 0")

        def c_d_negative(f):
            expect_status(1, _internal_call(f, d=-7)[0], "d is -7")

        def c_n_huge(f):
            expect_status(HUGE, _internal_call(f, n=2**62)[0], "n is 4611686018427387904")

        def c_d_huge(f):
            expect_status(HUGE, _internal_call(f, d=2**63 - 1)[0], "d is 9223372036854775807")

        def c_nd_overflow(f):
            # each size alone is addressable, the product is not: must fail before touching x
            expect_status(6, _internal_call(f, n=2**31, d=2**33)[0], "x", "overflows")

        def c_nan(f):
            _, np, _, _ = _lazy()
            x, _y = two_blobs()
            x = x.copy()
            x[3, 1] = np.nan
            expect_status(3, _internal_call(f, x=x)[0], "nan", "row 3", "column 1")

        def c_posinf(f):
            _, np, _, _ = _lazy()
            x, _y = two_blobs()
            x = x.copy()
            x[0, 0] = np.inf
            expect_status(3, _internal_call(f, x=x)[0], "inf", "row 0", "column 0")

        def c_neginf(f):
            _, np, _, _ = _lazy()
            x, _y = two_blobs()
            x = x.copy()
            x[5, 1] = -np.inf
            x[5, 0] = -np.inf  # the first bad one in row-major order is (5, 0)
            expect_status(3, _internal_call(f, x=x)[0], "-inf", "row 5", "column 0")

        def c_nan_simd_path(f):
            # > 16 values so the vectorised scan runs; NaN far from the start
            _, np, _, _ = _lazy()
            rng = np.random.default_rng(0)
            x = rng.normal(size=(40, 3)).astype(np.float32)
            y = (np.arange(40) % 3).astype(np.int32)
            x[37, 2] = np.nan
            x[38, 0] = np.inf
            expect_status(3, _internal_call(f, x=x, labels=y)[0], "row 37", "column 2")

        def c_one_label(f):
            _, np, _, _ = _lazy()
            y = np.zeros(6, dtype=np.int32)
            if f.startswith("lamina_gdv"):
                expect_status(1, _internal_call(f, labels=y)[0], "1 distinct class")
            else:
                expect_status(1, _internal_call(f, labels=y)[0],
                              "Number of labels is 1. Valid values are 2 to n_samples - 1 (inclusive)")

        def c_n_labels(f):
            _, np, _, _ = _lazy()
            y = (np.arange(6, dtype=np.int64) * 1000 - 2**31 + 1).astype(np.int32)
            if f.startswith("lamina_gdv"):
                expect_status(1, _internal_call(f, labels=y)[0], "has 1 sample")
            else:
                expect_status(1, _internal_call(f, labels=y)[0], "Number of labels is 6")

        for tag, body in [("ok", c_ok), ("null_x", c_null_x), ("null_labels", c_null_labels),
                          ("null_out", c_null_out), ("n_zero", c_n_zero), ("n_negative", c_n_negative),
                          ("d_zero", c_d_zero), ("d_negative", c_d_negative), ("n_huge", c_n_huge),
                          ("d_huge", c_d_huge), ("nd_overflow", c_nd_overflow), ("nan", c_nan),
                          ("posinf", c_posinf), ("neginf", c_neginf), ("nan_simd_path", c_nan_simd_path),
                          ("one_label", c_one_label), ("n_distinct_labels", c_n_labels)]:
            register(f"c_{short}_{tag}", mk(fname, body))

        for enum_name, _ in enums:
            for bad in (-1, 99, 2**31 - 1, -2**31):
                def c_enum(f, enum_name=enum_name, bad=bad):
                    expect_status(1, _internal_call(f, enums={enum_name: bad})[0], f"{enum_name} is {bad}")
                register(f"c_{short}_{enum_name}_{bad}".replace("-", "m"), mk(fname, c_enum))


_register_internal()


# ==================================================================================================
# Direct C calls: external indices
# ==================================================================================================

SCALAR_EXTERNAL = ["lamina_rand_score", "lamina_adjusted_rand_score", "lamina_mutual_info_score",
                   "lamina_normalized_mutual_info_score", "lamina_adjusted_mutual_info_score",
                   "lamina_fowlkes_mallows_score"]
WITH_AVERAGE = {"lamina_normalized_mutual_info_score", "lamina_adjusted_mutual_info_score"}
EMPTY_VALUES = {"lamina_rand_score": 1.0, "lamina_adjusted_rand_score": 1.0, "lamina_mutual_info_score": 0.0,
                "lamina_normalized_mutual_info_score": 1.0, "lamina_adjusted_mutual_info_score": 1.0,
                "lamina_fowlkes_mallows_score": 0.0}


def _external_call(name, t=..., p=..., n=None, out=True, average=2):
    ctypes, np, _, N = _lazy()
    t0 = np.array([0, 0, 1, 1, 2], dtype=np.int32)
    p0 = np.array([5, 5, 6, 6, 6], dtype=np.int32)
    ta = t0 if t is ... else t
    pa = p0 if p is ... else p
    if n is None:
        n = 5
    o = ctypes.c_double(-12345.0)
    args = [None if ta is None else N.iptr(ta), None if pa is None else N.iptr(pa), n]
    if name in WITH_AVERAGE:
        args.append(average)
    args.append(ctypes.byref(o) if out else None)
    return getattr(N.lib, name)(*args), o.value


def _register_external():
    for fname in SCALAR_EXTERNAL:
        short = fname[len("lamina_"):]

        def mk(fn_name, body):
            return lambda: body(fn_name)

        def e_ok(f):
            status, v = _external_call(f)
            expect_status(0, status)
            assert math.isfinite(v) and v != -12345.0

        def e_null_true(f):
            expect_status(1, _external_call(f, t=None)[0], "labels_true is NULL")

        def e_null_pred(f):
            expect_status(1, _external_call(f, p=None)[0], "labels_pred is NULL")

        def e_null_out(f):
            expect_status(1, _external_call(f, out=False)[0], "out is NULL")

        def e_n_negative(f):
            expect_status(1, _external_call(f, n=-1)[0], "n is -1")

        def e_n_min(f):
            expect_status(1, _external_call(f, n=-2**63)[0], "n is -9223372036854775808")

        def e_n_huge(f):
            expect_status(HUGE, _external_call(f, n=2**62)[0], "n is 4611686018427387904")

        def e_empty(f):
            status, v = _external_call(f, t=None, p=None, n=0)
            expect_status(0, status)
            assert v == EMPTY_VALUES[f], (v, EMPTY_VALUES[f])

        for tag, body in [("ok", e_ok), ("null_labels_true", e_null_true), ("null_labels_pred", e_null_pred),
                          ("null_out", e_null_out), ("n_negative", e_n_negative), ("n_int64_min", e_n_min),
                          ("n_huge", e_n_huge), ("empty_null_pointers", e_empty)]:
            register(f"c_{short}_{tag}", mk(fname, body))

        if fname in WITH_AVERAGE:
            for bad in (-1, 4, 99):
                def e_avg(f, bad=bad):
                    expect_status(1, _external_call(f, average=bad)[0], f"average is {bad}")
                register(f"c_{short}_average_{bad}".replace("-", "m"), mk(fname, e_avg))


_register_external()


@case
def c_contingency_shape_errors():
    ctypes, np, _, N = _lazy()
    t = np.array([0, 0, 1, 1], dtype=np.int32)
    p = np.array([0, 1, 1, 1], dtype=np.int32)
    r, c = ctypes.c_int64(-1), ctypes.c_int64(-1)
    f = N.lib.lamina_contingency_shape
    expect_status(1, f(None, N.iptr(p), 4, ctypes.byref(r), ctypes.byref(c)), "labels_true is NULL")
    expect_status(1, f(N.iptr(t), None, 4, ctypes.byref(r), ctypes.byref(c)), "labels_pred is NULL")
    expect_status(1, f(N.iptr(t), N.iptr(p), 4, None, ctypes.byref(c)), "n_classes is NULL")
    expect_status(1, f(N.iptr(t), N.iptr(p), 4, ctypes.byref(r), None), "n_clusters is NULL")
    expect_status(1, f(N.iptr(t), N.iptr(p), -3, ctypes.byref(r), ctypes.byref(c)), "n is -3")
    expect_status(HUGE, f(N.iptr(t), N.iptr(p), 2**62, ctypes.byref(r), ctypes.byref(c)), "n is")
    expect_status(0, f(None, None, 0, ctypes.byref(r), ctypes.byref(c)))
    assert (r.value, c.value) == (0, 0)
    expect_status(0, f(N.iptr(t), N.iptr(p), 4, ctypes.byref(r), ctypes.byref(c)))
    assert (r.value, c.value) == (2, 2)


@case
def c_contingency_matrix_errors():
    ctypes, np, _, N = _lazy()
    t = np.array([0, 0, 1, 1], dtype=np.int32)
    p = np.array([0, 1, 1, 1], dtype=np.int32)
    out = np.full(16, -1, dtype=np.int64)
    f = N.lib.lamina_contingency_matrix
    for bad_len in (3, 5, 0, -1, 2**62):
        expect_status(2, f(N.iptr(t), N.iptr(p), 4, N.lptr(out), bad_len), "out_len", "2 * 2", "expected 4")
    assert (out == -1).all(), "a failed call wrote to out"
    expect_status(1, f(N.iptr(t), N.iptr(p), 4, None, 4), "out is NULL")
    expect_status(1, f(None, N.iptr(p), 4, N.lptr(out), 4), "labels_true is NULL")
    expect_status(1, f(N.iptr(t), None, 4, N.lptr(out), 4), "labels_pred is NULL")
    expect_status(1, f(N.iptr(t), N.iptr(p), -1, N.lptr(out), 4), "n is -1")
    expect_status(0, f(None, None, 0, None, 0))
    expect_status(2, f(None, None, 0, None, 1), "out_len")
    expect_status(0, f(N.iptr(t), N.iptr(p), 4, N.lptr(out), 4))
    assert out[:4].tolist() == [1, 1, 0, 2]


@case
def c_hcv_errors():
    ctypes, np, _, N = _lazy()
    t = np.array([0, 0, 1, 1], dtype=np.int32)
    p = np.array([0, 1, 1, 1], dtype=np.int32)
    h, c, v = ctypes.c_double(), ctypes.c_double(), ctypes.c_double()
    f = N.lib.lamina_homogeneity_completeness_v_measure
    for beta, word in [(-1.0, "beta is -1.0"), (-1e-300, "beta is"), (float("nan"), "beta is nan"),
                       (float("inf"), "beta is inf"), (float("-inf"), "beta is -inf")]:
        expect_status(1, f(N.iptr(t), N.iptr(p), 4, beta, ctypes.byref(h), ctypes.byref(c), ctypes.byref(v)), word)
    expect_status(1, f(None, N.iptr(p), 4, 1.0, ctypes.byref(h), ctypes.byref(c), ctypes.byref(v)),
                  "labels_true is NULL")
    expect_status(1, f(N.iptr(t), None, 4, 1.0, ctypes.byref(h), ctypes.byref(c), ctypes.byref(v)),
                  "labels_pred is NULL")
    expect_status(1, f(N.iptr(t), N.iptr(p), -1, 1.0, None, None, None), "n is -1")
    # every output may be NULL
    expect_status(0, f(N.iptr(t), N.iptr(p), 4, 1.0, None, None, None))
    expect_status(0, f(N.iptr(t), N.iptr(p), 4, 0.0, ctypes.byref(h), None, ctypes.byref(v)))
    expect_status(0, f(None, None, 0, 1.0, ctypes.byref(h), ctypes.byref(c), ctypes.byref(v)))
    assert (h.value, c.value, v.value) == (1.0, 1.0, 1.0)


@case
def c_labels_extreme_values():
    # int32 extremes: span 2**32 takes the sparse path, must not overflow
    ctypes, np, _, N = _lazy()
    t = np.array([-2**31, 2**31 - 1, -2**31, 2**31 - 1], dtype=np.int32)
    p = np.array([2**31 - 1, -2**31, 2**31 - 1, -2**31], dtype=np.int32)
    o = ctypes.c_double()
    expect_status(0, N.lib.lamina_adjusted_rand_score(N.iptr(t), N.iptr(p), 4, ctypes.byref(o)))
    assert o.value == 1.0


# ==================================================================================================
# Direct C calls: threads, status strings
# ==================================================================================================

@case
def c_threads_and_status_strings():
    _, _, _, N = _lazy()
    expect_status(1, N.lib.lamina_set_num_threads(-1), "n is -1")
    expect_status(1, N.lib.lamina_set_num_threads(-2**31), "n is -2147483648")
    before = N.lib.lamina_get_num_threads()
    assert before >= 1
    expect_status(0, N.lib.lamina_set_num_threads(0))
    expected = ["ok", "invalid argument", "shape mismatch", "non-finite input", "I/O error", "format error",
                "out of memory", "cancelled", "internal error"]
    for code, name in enumerate(expected):
        assert N.lib.lamina_status_string(code).decode() == name, (code, N.lib.lamina_status_string(code))
    for code in (-1, 9, 99, 2**31 - 1, -2**31):
        assert N.lib.lamina_status_string(code).decode() == "unknown status", code


# ==================================================================================================
# Direct C calls: k-means
# ==================================================================================================

def _params(**kw):
    _, _, _, N = _lazy()
    p = N.lib.lamina_kmeans_default_params()
    for k, v in kw.items():
        setattr(p, k, v)
    return p


def _create(**kw):
    ctypes, _, _, N = _lazy()
    p = _params(**kw)
    h = ctypes.c_void_p()
    expect_status(0, N.lib.lamina_kmeans_create(ctypes.byref(p), ctypes.byref(h)))
    assert h.value
    return h


@case
def c_kmeans_default_params():
    _, _, _, N = _lazy()
    p = N.lib.lamina_kmeans_default_params()
    assert (p.n_clusters, p.init, p.n_init, p.max_iter, p.tol, p.seed) == (8, 0, 1, 300, 1e-4, 0)


@case
def c_kmeans_params_null():
    ctypes, _, _, N = _lazy()
    expect_status(1, N.lib.lamina_kmeans_check_params(None), "params is NULL")
    h = ctypes.c_void_p()
    expect_status(1, N.lib.lamina_kmeans_create(None, ctypes.byref(h)), "params is NULL")
    assert not h.value
    p = _params()
    expect_status(1, N.lib.lamina_kmeans_create(ctypes.byref(p), None), "out is NULL")


BAD_PARAMS = [
    ("n_clusters", 0, "n_clusters is 0"), ("n_clusters", -1, "n_clusters is -1"),
    ("n_clusters", -2**31, "n_clusters is -2147483648"),
    ("init", -1, "params.init is -1"), ("init", 3, "params.init is 3"), ("init", 99, "params.init is 99"),
    ("n_init", 0, "n_init is 0"), ("n_init", -1, "n_init is -1"),
    ("max_iter", 0, "max_iter is 0"), ("max_iter", -5, "max_iter is -5"),
    ("tol", -1.0, "tol is -1.0"), ("tol", -1e-300, "tol is"), ("tol", float("nan"), "tol is nan"),
    ("tol", float("inf"), "tol is inf"), ("tol", float("-inf"), "tol is -inf"),
]

for _field, _value, _word in BAD_PARAMS:
    def _bad_param(field=_field, value=_value, word=_word):
        ctypes, _, _, N = _lazy()
        p = _params(**{field: value})
        expect_status(1, N.lib.lamina_kmeans_check_params(ctypes.byref(p)), word)
        h = ctypes.c_void_p()
        expect_status(1, N.lib.lamina_kmeans_create(ctypes.byref(p), ctypes.byref(h)), word)
        assert not h.value, "a failed create wrote a handle"
    register(f"c_kmeans_param_{_field}_{_value}".replace("-", "m").replace(".", "_"), _bad_param)


@case
def c_kmeans_fit_errors():
    ctypes, np, _, N = _lazy()
    x, _y = two_blobs()
    h = _create(n_clusters=2)
    fit = N.lib.lamina_kmeans_fit
    expect_status(1, fit(None, N.fptr(x), 6, 2, None), "model is NULL")
    expect_status(1, fit(h, None, 6, 2, None), "x is NULL")
    expect_status(1, fit(h, N.fptr(x), 0, 2, None), "n is 0")
    expect_status(1, fit(h, N.fptr(x), -1, 2, None), "n is -1")
    expect_status(1, fit(h, N.fptr(x), 6, 0, None), "d is 0")
    expect_status(HUGE, fit(h, N.fptr(x), 2**62, 2, None), "n is")
    expect_status(6, fit(h, N.fptr(x), 2**31, 2**33, None), "overflows")
    bad = x.copy()
    bad[4, 1] = np.nan
    expect_status(3, fit(h, N.fptr(bad), 6, 2, None), "row 4", "column 1")
    # init centers passed although init is not GIVEN
    centers = x[:2].copy()
    expect_status(1, fit(h, N.fptr(x), 6, 2, N.fptr(centers)), "init_centers")
    # still unfitted after all the failures
    expect_status(1, N.lib.lamina_kmeans_get_info(h, None, None, None, None, None), "not fitted")
    N.lib.lamina_kmeans_free(h)


@case
def c_kmeans_k_greater_than_n():
    _, _, _, N = _lazy()
    x, _y = two_blobs()
    for init in (0, 1):
        h = _create(n_clusters=7, init=init)
        expect_status(1, N.lib.lamina_kmeans_fit(h, N.fptr(x), 6, 2, None), "n_samples=6 should be >= n_clusters=7.")
        N.lib.lamina_kmeans_free(h)
    h = _create(n_clusters=2**31 - 1)
    expect_status(1, N.lib.lamina_kmeans_fit(h, N.fptr(x), 6, 2, None), "n_clusters=2147483647")
    N.lib.lamina_kmeans_free(h)


@case
def c_kmeans_given_init_errors():
    _, np, _, N = _lazy()
    x, _y = two_blobs()
    h = _create(n_clusters=2, init=2)
    fit = N.lib.lamina_kmeans_fit
    expect_status(1, fit(h, N.fptr(x), 6, 2, None), "init_centers is NULL")
    centers = np.array([[0, 0], [10, 10]], dtype=np.float32)
    bad = centers.copy()
    bad[1, 0] = np.inf
    expect_status(3, fit(h, N.fptr(x), 6, 2, N.fptr(bad)), "init_centers", "row 1", "column 0")
    expect_status(1, fit(h, N.fptr(x), 1, 2, N.fptr(centers)), "n_samples=1 should be >= n_clusters=2.")
    expect_status(0, fit(h, N.fptr(x), 6, 2, N.fptr(centers)))
    labels = np.empty(6, dtype=np.int32)
    expect_status(0, N.lib.lamina_kmeans_get_labels(h, N.iptr(labels), 6))
    assert labels.tolist() == [0, 0, 0, 1, 1, 1]
    N.lib.lamina_kmeans_free(h)


@case
def c_kmeans_unfitted_and_outputs():
    ctypes, np, _, N = _lazy()
    x, _y = two_blobs()
    h = _create(n_clusters=2)
    lab = np.empty(6, dtype=np.int32)
    cen = np.empty(4, dtype=np.float32)
    expect_status(1, N.lib.lamina_kmeans_predict(h, N.fptr(x), 6, 2, N.iptr(lab)), "not fitted")
    expect_status(1, N.lib.lamina_kmeans_get_info(h, None, None, None, None, None), "not fitted")
    expect_status(1, N.lib.lamina_kmeans_get_centers(h, N.fptr(cen), 4), "not fitted")
    expect_status(1, N.lib.lamina_kmeans_get_labels(h, N.iptr(lab), 6), "not fitted")
    expect_status(0, N.lib.lamina_kmeans_fit(h, N.fptr(x), 6, 2, None))
    expect_status(0, N.lib.lamina_kmeans_get_info(h, None, None, None, None, None))
    for bad_len in (3, 5, 0, -1):
        expect_status(2, N.lib.lamina_kmeans_get_centers(h, N.fptr(cen), bad_len), "out_len", "expected 4")
        expect_status(2, N.lib.lamina_kmeans_get_labels(h, N.iptr(lab), bad_len), "out_len", "expected 6")
    expect_status(1, N.lib.lamina_kmeans_get_centers(h, None, 4), "out is NULL")
    expect_status(1, N.lib.lamina_kmeans_get_labels(h, None, 6), "out is NULL")
    # predict
    expect_status(2, N.lib.lamina_kmeans_predict(h, N.fptr(x), 4, 3, N.iptr(lab)), "3 features", "fitted with 2")
    # the fitted width is refused before x is read: a NaN in a buffer of the declared (wrong) width is never seen
    wide = np.full((6, 3), np.nan, dtype=np.float32)
    expect_status(2, N.lib.lamina_kmeans_predict(h, N.fptr(wide), 6, 3, N.iptr(lab)), "3 features", "fitted with 2")
    expect_status(2, N.lib.lamina_kmeans_predict_f64(h, N.dptr(wide.astype(np.float64)), 6, 3, N.iptr(lab)), "3 features", "fitted with 2")
    expect_status(1, N.lib.lamina_kmeans_predict(h, N.fptr(x), 6, 2, None), "labels_out is NULL")
    expect_status(1, N.lib.lamina_kmeans_predict(h, None, 6, 2, N.iptr(lab)), "x is NULL")
    expect_status(1, N.lib.lamina_kmeans_predict(h, N.fptr(x), 0, 2, N.iptr(lab)), "n is 0")
    expect_status(1, N.lib.lamina_kmeans_predict(h, N.fptr(x), 6, -2, N.iptr(lab)), "d is -2")
    expect_status(HUGE, N.lib.lamina_kmeans_predict(h, N.fptr(x), 2**62, 2, N.iptr(lab)), "n is")
    expect_status(1, N.lib.lamina_kmeans_predict(None, N.fptr(x), 6, 2, N.iptr(lab)), "model is NULL")
    bad = x.copy()
    bad[2, 0] = -np.inf
    expect_status(3, N.lib.lamina_kmeans_predict(h, N.fptr(bad), 6, 2, N.iptr(lab)), "row 2", "column 0")
    # a failed fit leaves the previous fit
    n, k = ctypes.c_int64(), ctypes.c_int32()
    expect_status(3, N.lib.lamina_kmeans_fit(h, N.fptr(bad), 6, 2, None), "row 2")
    expect_status(0, N.lib.lamina_kmeans_get_info(h, ctypes.byref(n), None, ctypes.byref(k), None, None))
    assert (n.value, k.value) == (6, 2)
    N.lib.lamina_kmeans_free(h)


def _register_precomputed():
    """Every error of the precomputed silhouette (and its _f64 twin), through the C API."""
    for fname in ("lamina_silhouette_samples_precomputed", "lamina_silhouette_score_precomputed",
                  "lamina_silhouette_samples_precomputed_f64", "lamina_silhouette_score_precomputed_f64"):
        def body(f=fname):
            ctypes, np, _, N = _lazy()
            f64 = f.endswith("_f64")
            dt = np.float64 if f64 else np.float32
            ptr = N.dptr if f64 else N.fptr
            D = np.array([[0, 1, 5, 6], [1, 0, 4, 5], [5, 4, 0, 1], [6, 5, 1, 0]], dtype=dt)
            y = np.array([3, 3, 7, 7], dtype=np.int32)
            out = np.zeros(4)
            fn = getattr(N.lib, f)

            def call(d=D, n=4, m=4, labels=y, o=out):
                return fn(None if d is None else ptr(d), n, m, None if labels is None else N.iptr(labels),
                          None if o is None else N.dptr(o))
            expect_status(0, call())
            assert out[0] == pytest_approx_ref(f, out)
            expect_status(1, call(d=None), "dist is NULL")
            expect_status(1, call(labels=None), "labels is NULL")
            expect_status(1, call(o=None), "out is NULL")
            expect_status(1, call(n=0), "n is 0")
            expect_status(1, call(m=-1), "m is -1")
            expect_status(HUGE, call(n=2**62), "n is")
            expect_status(6, call(n=2**31, m=2**33), "overflows")
            bad = D.copy()
            bad[1, 2] = np.nan
            expect_status(3, call(d=bad), "row 1", "column 2")
            bad = D.copy()
            bad[2, 2] = 0.5
            expect_status(1, call(d=bad), "non-zero elements on the diagonal", "dist[2, 2]")
            bad = D.copy()
            bad[0, 3] = -2
            expect_status(1, call(d=bad), "Negative values in data passed to `pairwise_distances`", "dist[0, 3]")
            expect_status(2, call(d=np.ascontiguousarray(D[:, :3]), m=3), "Precomputed metric requires shape", "Got (4, 3)")
            expect_status(1, call(labels=np.zeros(4, np.int32)), "Number of labels is 1")
        register(f"c_{fname[len('lamina_'):]}_errors", body)


def pytest_approx_ref(f, out):
    # s(0): a = 1, b = (5 + 6) / 2 = 5.5, s = 1 - 1 / 5.5; the score is the mean of the four
    s0 = 1 - 1 / 5.5
    if "score" in f:
        s = [1 - 1 / 5.5, 1 - 1 / 4.5, 1 - 1 / 4.5, 1 - 1 / 5.5]
        assert abs(out[0] - sum(s) / 4) < 1e-12, out[0]
    else:
        assert abs(out[0] - s0) < 1e-12 and abs(out[1] - (1 - 1 / 4.5)) < 1e-12, out
    return out[0]


_register_precomputed()


@case
def c_kmeans_f64_twins():
    """The float64 twins: the same checks and messages, and the precision conversions of predict."""
    ctypes, np, _, N = _lazy()
    x32, _y = two_blobs()
    x = x32.astype(np.float64)
    h = _create(n_clusters=2)
    fit, predict = N.lib.lamina_kmeans_fit_f64, N.lib.lamina_kmeans_predict_f64
    lab = np.empty(6, dtype=np.int32)
    cen = np.empty(4, dtype=np.float64)
    prec = ctypes.c_int32()
    expect_status(1, N.lib.lamina_kmeans_get_precision(h, ctypes.byref(prec)), "not fitted")
    expect_status(1, N.lib.lamina_kmeans_get_centers_f64(h, N.dptr(cen), 4), "not fitted")
    expect_status(1, predict(h, N.dptr(x), 6, 2, N.iptr(lab)), "not fitted")
    expect_status(1, fit(None, N.dptr(x), 6, 2, None), "model is NULL")
    expect_status(1, fit(h, None, 6, 2, None), "x is NULL")
    expect_status(1, fit(h, N.dptr(x), 0, 2, None), "n is 0")
    expect_status(1, fit(h, N.dptr(x), 6, -3, None), "d is -3")
    expect_status(HUGE, fit(h, N.dptr(x), 2**62, 2, None), "n is")
    expect_status(6, fit(h, N.dptr(x), 2**31, 2**33, None), "overflows")
    bad = x.copy()
    bad[4, 1] = np.nan
    expect_status(3, fit(h, N.dptr(bad), 6, 2, None), "row 4", "column 1")
    expect_status(1, fit(h, N.dptr(x), 6, 2, N.dptr(x[:2].copy())), "init_centers")
    expect_status(0, fit(h, N.dptr(x), 6, 2, None))
    expect_status(0, N.lib.lamina_kmeans_get_precision(h, ctypes.byref(prec)))
    assert prec.value == 64
    expect_status(1, N.lib.lamina_kmeans_get_precision(h, None), "out is NULL")
    for bad_len in (3, 5, 0, -1):
        expect_status(2, N.lib.lamina_kmeans_get_centers_f64(h, N.dptr(cen), bad_len), "out_len", "expected 4")
    expect_status(1, N.lib.lamina_kmeans_get_centers_f64(h, None, 4), "out is NULL")
    expect_status(2, predict(h, N.dptr(x), 4, 3, N.iptr(lab)), "3 features", "fitted with 2")
    expect_status(1, predict(h, N.dptr(x), 6, 2, None), "labels_out is NULL")
    bad = x.copy()
    bad[2, 0] = -np.inf
    expect_status(3, predict(h, N.dptr(bad), 6, 2, N.iptr(lab)), "row 2", "column 0")
    # float32 rows on the float64 model: widened exactly
    expect_status(0, N.lib.lamina_kmeans_predict(h, N.fptr(x32), 6, 2, N.iptr(lab)))
    assert sorted(np.bincount(lab).tolist()) == [3, 3]
    # a float32 model: float64 rows beyond float32's range are refused
    h32 = _create(n_clusters=2)
    expect_status(0, N.lib.lamina_kmeans_fit(h32, N.fptr(x32), 6, 2, None))
    huge = x.copy()
    huge[5, 1] = 1e300
    expect_status(3, predict(h32, N.dptr(huge), 6, 2, N.iptr(lab)), "x[5, 1]", "float32")
    expect_status(0, predict(h32, N.dptr(x), 6, 2, N.iptr(lab)))
    # set_centers_f64
    c = np.array([[0, 0], [10, 10]], dtype=np.float64)
    expect_status(2, N.lib.lamina_kmeans_set_centers_f64(h32, N.dptr(c), 3, 2), "n_clusters is 3")
    expect_status(1, N.lib.lamina_kmeans_set_centers_f64(h32, None, 2, 2), "centers is NULL")
    c_bad = c.copy()
    c_bad[1, 1] = np.nan
    expect_status(3, N.lib.lamina_kmeans_set_centers_f64(h32, N.dptr(c_bad), 2, 2), "centers")
    expect_status(0, N.lib.lamina_kmeans_set_centers_f64(h32, N.dptr(c), 2, 2))
    expect_status(0, N.lib.lamina_kmeans_get_precision(h32, ctypes.byref(prec)))
    assert prec.value == 64
    N.lib.lamina_kmeans_free(h)
    N.lib.lamina_kmeans_free(h32)


@case
def c_kmeans_free_null_double_garbage():
    ctypes, np, _, N = _lazy()
    x, _y = two_blobs()
    lab = np.empty(6, dtype=np.int32)
    N.lib.lamina_kmeans_free(None)
    h = _create(n_clusters=2)
    expect_status(0, N.lib.lamina_kmeans_fit(h, N.fptr(x), 6, 2, None))
    N.lib.lamina_kmeans_free(h)
    N.lib.lamina_kmeans_free(h)  # double free: ignored
    for fn_call in (lambda m: N.lib.lamina_kmeans_fit(m, N.fptr(x), 6, 2, None),
                    lambda m: N.lib.lamina_kmeans_predict(m, N.fptr(x), 6, 2, N.iptr(lab)),
                    lambda m: N.lib.lamina_kmeans_get_info(m, None, None, None, None, None),
                    lambda m: N.lib.lamina_kmeans_get_labels(m, N.iptr(lab), 6)):
        expect_status(1, fn_call(h), "not a live lamina_kmeans handle")
        for garbage in (0xdeadbeef, 1, 2**64 - 8, ctypes.addressof(ctypes.c_int64(0))):
            expect_status(1, fn_call(ctypes.c_void_p(garbage)), "not a live lamina_kmeans handle")
    for garbage in (0xdeadbeef, 1, 2**64 - 8):
        N.lib.lamina_kmeans_free(ctypes.c_void_p(garbage))
    # the library still works afterwards
    h2 = _create(n_clusters=2)
    expect_status(0, N.lib.lamina_kmeans_fit(h2, N.fptr(x), 6, 2, None))
    N.lib.lamina_kmeans_free(h2)


# ==================================================================================================
# HDF5 fixtures (built once per worker process)
# ==================================================================================================

_H5 = {}


def h5files():
    if _H5:
        return _H5
    import atexit
    import shutil

    import h5py
    import numpy as np
    root = Path(tempfile.mkdtemp(prefix="lamina_bad_h5_"))
    atexit.register(shutil.rmtree, root, True)
    valid = root / "valid.h5"
    rng = np.random.default_rng(0)
    with h5py.File(valid, "w") as f:
        f["x"] = rng.normal(size=(200, 16)).astype(np.float32)
        f["labels"] = np.arange(200, dtype=np.int32) % 3
        f["cube"] = np.zeros((2, 3, 4), dtype=np.float32)
        f["scalar"] = np.float32(1.5)
        f["floats1d"] = np.arange(5, dtype=np.float64)
        f["ints2d"] = np.zeros((2, 3), dtype=np.int64)
        f["strings"] = np.array([b"ab", b"cd"], dtype="S2")
        f.create_dataset("vlen_strings", data=["hello", "world"], dtype=h5py.string_dtype())
        f.create_group("grp")
        f["compound"] = np.zeros(3, dtype=[("a", "i4"), ("b", "f4")])
    data = valid.read_bytes()
    (root / "truncated_half.h5").write_bytes(data[: len(data) // 2])
    (root / "truncated_head.h5").write_bytes(data[:100])
    (root / "empty.h5").write_bytes(b"")
    (root / "text.h5").write_text("this is not an HDF5 file\n" * 50)
    (root / "adir.h5").mkdir()
    _H5.update(root=root, valid=str(valid), truncated_half=str(root / "truncated_half.h5"),
               truncated_head=str(root / "truncated_head.h5"), empty=str(root / "empty.h5"),
               text=str(root / "text.h5"), dir=str(root / "adir.h5"), missing=str(root / "missing.h5"))
    return _H5


def _h5_info(path, ds, max_rank=8, dims=True):
    ctypes, np, _, N = _lazy()
    rank, dtype = ctypes.c_int32(-1), ctypes.c_int32(-1)
    d = np.zeros(max(max_rank, 1), dtype=np.int64)
    st = N.lib.lamina_h5_dataset_info(None if path is None else path.encode(), None if ds is None else ds.encode(),
                                      ctypes.byref(rank), N.lptr(d) if dims else None, max_rank, ctypes.byref(dtype))
    return st, rank.value, d, dtype.value


def _h5_f32(path, ds, start=0, count=1, out_len=None, out=True):
    ctypes, np, _, N = _lazy()
    buf = np.zeros(max(count * 16, 16), dtype=np.float32) if 0 <= count < 10**6 else np.zeros(16, np.float32)
    if out_len is None:
        out_len = count * 16
    return N.lib.lamina_h5_read_f32(None if path is None else path.encode(), None if ds is None else ds.encode(),
                                    start, count, N.fptr(buf) if out else None, out_len)


def _h5_i32(path, ds, out_len=200, out=True):
    ctypes, np, _, N = _lazy()
    buf = np.zeros(max(out_len, 1) if 0 <= out_len < 10**6 else 1, dtype=np.int32)
    return N.lib.lamina_h5_read_i32(None if path is None else path.encode(), None if ds is None else ds.encode(),
                                    N.iptr(buf) if out else None, out_len)


@case
def c_h5_ok():
    f = h5files()
    st, rank, dims, dtype = _h5_info(f["valid"], "x")
    expect_status(0, st)
    assert (rank, dims[:2].tolist(), dtype) == (2, [200, 16], 2)
    expect_status(0, _h5_f32(f["valid"], "x", 10, 5))
    expect_status(0, _h5_i32(f["valid"], "labels"))


@case
def c_h5_null_pointers():
    ctypes, np, _, N = _lazy()
    f = h5files()
    expect_status(1, _h5_info(None, "x")[0], "path is NULL")
    expect_status(1, _h5_info(f["valid"], None)[0], "dataset is NULL")
    expect_status(1, _h5_info(f["valid"], "x", max_rank=2, dims=False)[0], "dims is NULL")
    expect_status(1, _h5_info(f["valid"], "x", max_rank=-1)[0], "max_rank is -1")
    st, rank, _, _ = _h5_info(f["valid"], "x", max_rank=0, dims=False)  # dims may be NULL with max_rank 0
    expect_status(0, st)
    assert rank == 2
    # every output except dims may be NULL
    d = np.zeros(2, dtype=np.int64)
    expect_status(0, N.lib.lamina_h5_dataset_info(f["valid"].encode(), b"x", None, N.lptr(d), 2, None))
    assert d.tolist() == [200, 16]
    expect_status(1, _h5_f32(None, "x"), "path is NULL")
    expect_status(1, _h5_f32(f["valid"], None), "dataset is NULL")
    expect_status(1, _h5_f32(f["valid"], "x", out=False), "out is NULL")
    expect_status(1, _h5_i32(None, "labels"), "path is NULL")
    expect_status(1, _h5_i32(f["valid"], None), "dataset is NULL")
    expect_status(1, _h5_i32(f["valid"], "labels", out=False), "out is NULL")


def _register_h5_files():
    # (fixture key, expected status, words of the message; the path is always named)
    bad_files = [("missing", 4, ["cannot open"]), ("dir", 4, ["directory"]), ("empty", 5, ["not an HDF5 file"]),
                 ("text", 5, ["not an HDF5 file"]), ("truncated_half", 5, []), ("truncated_head", 5, [])]
    for key, status, words in bad_files:
        def c_file(key=key, status=status, words=words):
            f = h5files()
            path = f[key]
            expect_status(status, _h5_info(path, "x")[0], path, *words)
            expect_status(status, _h5_f32(path, "x", 0, 1), path, *words)
            expect_status(status, _h5_i32(path, "labels"), path, *words)
        register(f"c_h5_file_{key}", c_file)


_register_h5_files()


@case
def c_h5_dataset_errors():
    f = h5files()
    v = f["valid"]
    for name in ("nope", "grp/nope", "", "/x/y"):
        expect_status(1, _h5_info(v, name)[0], "not found")
        expect_status(1, _h5_f32(v, name), "not found")
        expect_status(1, _h5_i32(v, name), "not found")
    expect_status(1, _h5_info(v, "nope")[0], "dataset 'nope' not found")
    expect_status(5, _h5_info(v, "grp")[0], "'grp'", "not a dataset")
    expect_status(5, _h5_f32(v, "grp"), "not a dataset")


@case
def c_h5_rank_and_type_errors():
    f = h5files()
    v = f["valid"]
    st, rank, dims, dtype = _h5_info(v, "cube")
    expect_status(0, st)
    assert rank == 3 and dims[:3].tolist() == [2, 3, 4]
    st, rank, dims, dtype = _h5_info(v, "cube", max_rank=1)
    expect_status(0, st)
    assert rank == 3 and dims[0] == 2
    expect_status(5, _h5_f32(v, "cube", 0, 1, out_len=1), "rank 3")
    expect_status(5, _h5_f32(v, "scalar", 0, 1, out_len=1), "rank 0")
    for name in ("strings", "vlen_strings", "compound"):
        expect_status(5, _h5_info(v, name)[0], f"'{name}'", "does not hold numbers")
        expect_status(5, _h5_f32(v, name, 0, 1, out_len=1), f"'{name}'")
        expect_status(5, _h5_i32(v, name, out_len=2 if name != "compound" else 3), f"'{name}'")
    expect_status(5, _h5_i32(v, "floats1d", out_len=5), "floats1d", "integer")
    expect_status(5, _h5_i32(v, "ints2d", out_len=6), "rank 2")
    expect_status(5, _h5_i32(v, "x", out_len=3200), "'x'")


@case
def c_h5_row_start_huge():
    # row_start is an index, not a size: out of range is INVALID_ARGUMENT (lamina.h, HDF5 section:
    # "LAMINA_ERR_INVALID_ARGUMENT (... rows out of range)"), not OUT_OF_MEMORY
    f = h5files()
    expect_status(1, _h5_f32(f["valid"], "x", 2**62, 1), "row_start")


@case
def c_h5_rows_and_lengths():
    f = h5files()
    v = f["valid"]
    expect_status(1, _h5_f32(v, "x", 200, 1), "out of range", "'x'", "200 rows")
    expect_status(1, _h5_f32(v, "x", 195, 10), "out of range")
    expect_status(1, _h5_f32(v, "x", -1, 1), "row_start is -1")
    expect_status(1, _h5_f32(v, "x", 0, -1, out_len=0), "row_count is -1")
    expect_status(HUGE, _h5_f32(v, "x", 0, 2**62, out_len=16), "row_count")
    expect_status(1, _h5_f32(v, "x", 0, 2**59, out_len=16), "")  # in range of Int, out of the dataset
    expect_status(2, _h5_f32(v, "x", 0, 2, out_len=31), "out_len", "expected 32")
    expect_status(2, _h5_f32(v, "x", 0, 2, out_len=-1), "out_len")
    expect_status(2, _h5_f32(v, "floats1d", 0, 5, out_len=6), "out_len", "expected 5")
    expect_status(0, _h5_f32(v, "x", 200, 0, out_len=0))   # an empty selection at the end is fine
    expect_status(2, _h5_i32(v, "labels", out_len=199), "200")
    expect_status(2, _h5_i32(v, "labels", out_len=0), "200")
    expect_status(1, _h5_i32(v, "labels", out_len=-1), "out_len is -1")


# ==================================================================================================
# Python API: lamina.metrics
# ==================================================================================================

INTERNAL_PY = ["silhouette_samples", "silhouette_score", "davies_bouldin_score", "calinski_harabasz_score",
               "dunn_index", "xie_beni_index", "gdv"]
EXTERNAL_PY = ["adjusted_rand_score", "rand_score", "mutual_info_score", "normalized_mutual_info_score",
               "adjusted_mutual_info_score", "homogeneity_score", "completeness_score", "v_measure_score",
               "homogeneity_completeness_v_measure", "fowlkes_mallows_score", "contingency_matrix"]


def _register_python_internal():
    def mk(name, body):
        return lambda: body(name)

    def fn(name):
        from lamina import metrics
        return getattr(metrics, name)

    def py_x_none(name):
        _, y = two_blobs()
        expect(lambda: fn(name)(None, y), ValueError, ValueError, "X")

    def py_labels_none(name):
        x, _ = two_blobs()
        expect(lambda: fn(name)(x, None), ValueError, ValueError, "labels")

    def py_x_1d(name):
        x, y = two_blobs()
        expect(lambda: fn(name)(x[:, 0], y), ValueError, ValueError, "2D", "X")

    def py_x_3d(name):
        x, y = two_blobs()
        expect(lambda: fn(name)(x[:, :, None], y), ValueError, ValueError, "X")

    def py_x_strings(name):
        _, np, _, _ = _lazy()
        _, y = two_blobs()
        expect(lambda: fn(name)(np.array([["a", "b"]] * 6), y), ValueError, ValueError, "X", "dtype")

    def py_labels_2d(name):
        x, y = two_blobs()
        expect(lambda: fn(name)(x, y.reshape(2, 3)), ValueError, ValueError, "labels", "1-D")

    def py_wrong_length(name):
        x, y = two_blobs()
        expect(lambda: fn(name)(x, y[:5]), ValueError, ValueError, "inconsistent numbers of samples", "6", "5")
        expect(lambda: fn(name)(x[:4], y), ValueError, ValueError, "inconsistent numbers of samples")

    def py_empty(name):
        _, np, lamina, _ = _lazy()
        expect(lambda: fn(name)(np.zeros((0, 2), np.float32), np.zeros(0, np.int32)),
               lamina.InvalidArgumentError, ValueError, "n is 0")
        _, y = two_blobs()
        expect(lambda: fn(name)(np.zeros((6, 0), np.float32), y), lamina.InvalidArgumentError, ValueError, "d is 0")

    def py_nonfinite(name):
        _, np, lamina, _ = _lazy()
        x, y = two_blobs()
        for (r, c), v, word in [((2, 1), np.nan, "nan"), ((4, 0), np.inf, "inf"), ((5, 1), -np.inf, "-inf")]:
            bad = x.copy()
            bad[r, c] = v
            expect(lambda: fn(name)(bad, y), lamina.NonFiniteError, ValueError, word, f"row {r}", f"column {c}")
            # float64 input (the _f64 twin): the same check and position
            expect(lambda: fn(name)(bad.astype(np.float64), y), lamina.NonFiniteError, ValueError,
                   f"row {r}", f"column {c}")
        big = x.astype(np.float64)
        big[3, 1] = 1e39  # finite in float64 (inf in float32): float64 input is computed in float64
        assert np.all(np.isfinite(fn(name)(big, y)))
        expect(lambda: fn(name)(big.astype(np.float32), y), lamina.NonFiniteError, ValueError, "row 3", "column 1")

    def py_label_counts(name):
        _, np, lamina, _ = _lazy()
        x, _ = two_blobs()
        one = np.full(6, 7)
        many = np.array(["a", "b", "c", "d", "e", "f"])
        if name == "gdv":
            expect(lambda: fn(name)(x, one), lamina.InvalidArgumentError, ValueError, "1 distinct class")
            expect(lambda: fn(name)(x, many), lamina.InvalidArgumentError, ValueError, "1 sample")
        else:
            expect(lambda: fn(name)(x, one), lamina.InvalidArgumentError, ValueError,
                   "Number of labels is 1. Valid values are 2 to n_samples - 1 (inclusive)")
            expect(lambda: fn(name)(x, many), lamina.InvalidArgumentError, ValueError,
                   "Number of labels is 6. Valid values are 2 to n_samples - 1 (inclusive)")

    def py_wide_labels(name):
        # int64 labels outside int32 must not be truncated (2**32 would alias 0)
        _, np, _, _ = _lazy()
        x, _ = two_blobs()
        ref = fn(name)(x, np.array([0, 0, 0, 1, 1, 1]))
        wide = fn(name)(x, np.array([0, 0, 0, 2**32, 2**32, 2**32], dtype=np.int64))
        assert np.allclose(ref, wide), (ref, wide)

    for name in INTERNAL_PY:
        for tag, body in [("x_none", py_x_none), ("labels_none", py_labels_none), ("x_1d", py_x_1d),
                          ("x_3d", py_x_3d), ("x_strings", py_x_strings), ("labels_2d", py_labels_2d),
                          ("wrong_length", py_wrong_length), ("empty", py_empty), ("nonfinite", py_nonfinite),
                          ("label_counts", py_label_counts), ("wide_labels", py_wide_labels)]:
            register(f"py_{name}_{tag}", mk(name, body))


_register_python_internal()


@case
def py_metric_options():
    from lamina import metrics as M
    x, y = two_blobs()
    for bad in ("bogus", "", None, 0, "EUCLIDEAN"):
        expect(lambda: M.silhouette_score(x, y, metric=bad), ValueError, ValueError, "metric")
        expect(lambda: M.silhouette_samples(x, y, metric=bad), ValueError, ValueError, "metric")
    for bad in ("bogus", None, 1):
        expect(lambda: M.dunn_index(x, y, linkage=bad), ValueError, ValueError, "linkage")
        expect(lambda: M.dunn_index(x, y, diameter=bad), ValueError, ValueError, "diameter")
        expect(lambda: M.xie_beni_index(x, y, separation=bad), ValueError, ValueError, "separation")
        expect(lambda: M.normalized_mutual_info_score(y, y, average_method=bad), ValueError, ValueError,
               "average_method")
        expect(lambda: M.adjusted_mutual_info_score(y, y, average_method=bad), ValueError, ValueError,
               "average_method")


@case
def py_silhouette_sample_size():
    _, np, lamina, _ = _lazy()
    from lamina import metrics as M
    x, y = two_blobs()
    expect(lambda: M.silhouette_score(x, y, sample_size=0, random_state=0), ValueError, ValueError)
    # sklearn rejects sample_size < 1 (InvalidParameterError, a ValueError naming sample_size)
    expect(lambda: M.silhouette_score(x, y, sample_size=-1, random_state=0), ValueError, ValueError, "sample_size")


def _register_python_external():
    def mk(name, body):
        return lambda: body(name)

    def fn(name):
        from lamina import metrics
        return getattr(metrics, name)

    def py_none(name):
        _, np, _, _ = _lazy()
        y = np.array([0, 1, 1])
        expect(lambda: fn(name)(None, y), ValueError, ValueError, "labels_true")
        expect(lambda: fn(name)(y, None), ValueError, ValueError, "labels_pred")

    def py_wrong_length(name):
        expect(lambda: fn(name)([0, 1, 1], [0, 1]), ValueError, ValueError, "same size", "3", "2")

    def py_2d(name):
        _, np, _, _ = _lazy()
        expect(lambda: fn(name)(np.zeros((2, 3), int), np.zeros((2, 3), int)), ValueError, ValueError,
               "labels_true", "1-D")

    def py_empty(name):
        r = fn(name)([], [])
        assert r is not None

    def py_wide_labels(name):
        _, np, _, _ = _lazy()
        ref = fn(name)([0, 0, 1, 1, 2], [0, 1, 1, 1, 1])
        wide = fn(name)(np.array([2**40, 2**40, 2**40 + 1, 2**40 + 1, -2**40]),
                        np.array([2**32, 1, 1, 1, 1], dtype=np.uint64))
        assert np.allclose(np.asarray(ref, dtype=float), np.asarray(wide, dtype=float)) or name == "contingency_matrix"

    for name in EXTERNAL_PY:
        for tag, body in [("none", py_none), ("wrong_length", py_wrong_length), ("labels_2d", py_2d),
                          ("empty", py_empty), ("wide_labels", py_wide_labels)]:
            register(f"py_{name}_{tag}", mk(name, body))


_register_python_external()


@case
def py_beta_errors():
    _, _, lamina, _ = _lazy()
    from lamina import metrics as M
    for beta, word in [(-1, "beta is -1.0"), (float("nan"), "beta is nan"), (float("inf"), "beta is inf"),
                       (-1e-300, "beta is")]:
        expect(lambda: M.homogeneity_completeness_v_measure([0, 1], [0, 1], beta=beta),
               lamina.InvalidArgumentError, ValueError, word)
        expect(lambda: M.v_measure_score([0, 1], [0, 1], beta=beta), lamina.InvalidArgumentError, ValueError, word)
    expect(lambda: M.v_measure_score([0, 1], [0, 1], beta="x"), ValueError, ValueError)


@case
def py_contingency_options():
    from lamina import metrics as M
    expect(lambda: M.contingency_matrix([0, 1], [0, 1], eps=1.0, sparse=True), ValueError, ValueError, "eps")
    # a given table is used (the labelings are then ignored, as in scikit-learn)
    assert M.mutual_info_score([0, 0], [0, 0], contingency=[[1, 0], [0, 1]]) == M.mutual_info_score([0, 1], [0, 1])
    expect(lambda: M.mutual_info_score(None, None, contingency=[[1, -1], [0, 1]]), ValueError, ValueError, "count -1")


# ==================================================================================================
# Python API: lamina.cluster.KMeans, set_num_threads
# ==================================================================================================

def _kmeans(**kw):
    from lamina.cluster import KMeans
    return KMeans(**kw)


@case
def py_kmeans_param_errors():
    _, np, lamina, _ = _lazy()
    x, _ = two_blobs()
    E = lamina.InvalidArgumentError
    for kw, words in [(dict(n_clusters=0), ["n_clusters is 0"]), (dict(n_clusters=-1), ["n_clusters is -1"]),
                      (dict(n_clusters=2, n_init=0), ["n_init is 0"]),
                      (dict(n_clusters=2, n_init=-3), ["n_init is -3"]),
                      (dict(n_clusters=2, max_iter=0), ["max_iter is 0"]),
                      (dict(n_clusters=2, max_iter=-1), ["max_iter is -1"]),
                      (dict(n_clusters=2, tol=-1e-3), ["tol is"]),
                      (dict(n_clusters=2, tol=float("nan")), ["tol is nan"]),
                      (dict(n_clusters=2, tol=float("inf")), ["tol is inf"]),
                      (dict(n_clusters=7), ["n_samples=6 should be >= n_clusters=7."]),
                      (dict(n_clusters=7, init="random"), ["n_samples=6 should be >= n_clusters=7."])]:
        km = _kmeans(random_state=0, **kw)
        expect(lambda: km.fit(x), E, ValueError, *words)
        expect(lambda: km.fit_predict(x), E, ValueError, *words)
        assert getattr(km, "_handle", None) is None


@case
def py_kmeans_python_side_param_errors():
    x, _ = two_blobs()
    for kw, word in [(dict(n_clusters=2**40), "n_clusters"), (dict(n_clusters=1.5), "n_clusters"),
                     (dict(n_clusters=True), "n_clusters"), (dict(n_clusters=None), "n_clusters"),
                     (dict(n_clusters=2, max_iter=2**31), "max_iter"), (dict(n_clusters=2, n_init=1.0), "n_init"),
                     (dict(n_clusters=2, n_init="bogus"), "n_init"), (dict(n_clusters=2, tol="x"), "tol"),
                     (dict(n_clusters=2, tol=None), "tol"), (dict(n_clusters=2, init="bogus"), "init"),
                     (dict(n_clusters=2, random_state="x"), "random_state")]:
        km = _kmeans(**kw)
        expect(lambda: km.fit(x), ValueError, ValueError, word)


@case
def py_kmeans_data_errors():
    _, np, lamina, _ = _lazy()
    x, _ = two_blobs()
    km = _kmeans(n_clusters=2, random_state=0)
    expect(lambda: km.fit(None), ValueError, ValueError, "X")
    expect(lambda: km.fit(x[:, 0]), ValueError, ValueError, "2D")
    expect(lambda: km.fit(np.zeros((0, 2))), lamina.InvalidArgumentError, ValueError, "n is 0")
    expect(lambda: km.fit(np.zeros((6, 0))), lamina.InvalidArgumentError, ValueError, "d is 0")
    bad = x.copy()
    bad[3, 1] = np.nan
    expect(lambda: km.fit(bad), lamina.NonFiniteError, ValueError, "row 3", "column 1")
    expect(lambda: km.fit(x, sample_weight=np.ones(5)), lamina.ShapeMismatchError, ValueError, "sample_weight")
    expect(lambda: km.fit(x, sample_weight=-np.ones(6)), lamina.InvalidArgumentError, ValueError, "sample_weight")


@case
def py_kmeans_predict_errors():
    _, np, lamina, _ = _lazy()
    x, _ = two_blobs()
    km = _kmeans(n_clusters=2, random_state=0)
    expect(lambda: km.predict(x), ValueError, ValueError, "not fitted")
    km.fit(x)
    expect(lambda: km.predict(np.zeros((3, 3), np.float32)), lamina.ShapeMismatchError, ValueError,
           "3 features", "fitted with 2")
    expect(lambda: km.predict(np.zeros((3, 1), np.float32)), lamina.ShapeMismatchError, ValueError, "1 features")
    expect(lambda: km.predict(np.zeros((0, 2), np.float32)), lamina.InvalidArgumentError, ValueError, "n is 0")
    expect(lambda: km.predict(None), ValueError, ValueError, "X")
    bad = x.copy()
    bad[1, 0] = np.inf
    expect(lambda: km.predict(bad), lamina.NonFiniteError, ValueError, "row 1", "column 0")
    # a failed refit leaves the previous model usable
    expect(lambda: km.fit(bad), lamina.NonFiniteError, ValueError, "row 1")
    assert km.predict(x).tolist() == km.labels_.tolist()


@case
def py_kmeans_init_array_default_n_init():
    # KMeans(init=<array>) with the default n_init="auto" must fit (scikit-learn: n_init is 1 for an array)
    _, np, _, _ = _lazy()
    x, _ = two_blobs()
    init = np.array([[0, 0], [10, 10]], dtype=np.float32)
    km = _kmeans(n_clusters=2, init=init).fit(x)
    assert km.labels_.tolist() == [0, 0, 0, 1, 1, 1]


@case
def py_kmeans_init_array_explicit_n_init():
    _, np, _, _ = _lazy()
    x, _ = two_blobs()
    init = np.array([[10, 10], [0, 0]], dtype=np.float32)
    km = _kmeans(n_clusters=2, init=init, n_init=1).fit(x)
    assert km.labels_.tolist() == [1, 1, 1, 0, 0, 0]


@case
def py_kmeans_init_array_nan():
    _, np, lamina, _ = _lazy()
    x, _ = two_blobs()
    init = np.array([[0, 0], [np.nan, 10]], dtype=np.float32)
    expect(lambda: _kmeans(n_clusters=2, init=init, n_init=1).fit(x), lamina.NonFiniteError, ValueError,
           "init_centers", "row 1", "column 0")


@case
def py_kmeans_init_array_too_few_rows():
    # KMeans(n_clusters=3, init=<2 x 2>) must be rejected (scikit-learn: "The shape of the initial centers
    # (2, 2) does not match the number of clusters 3"), not read 3 x 2 floats from a 2 x 2 buffer.
    _, np, _, _ = _lazy()
    x, _ = two_blobs()
    init = np.array([[0, 0], [10, 10]], dtype=np.float32)
    expect(lambda: _kmeans(n_clusters=3, init=init, n_init=1).fit(x), ValueError, ValueError, "init")


@case
def py_kmeans_init_array_wrong_columns():
    # init with 3 columns for 2-feature data must be rejected, not reinterpreted as 2 x 2
    _, np, _, _ = _lazy()
    x, _ = two_blobs()
    init = np.array([[0, 0, 0], [10, 10, 10]], dtype=np.float32)
    expect(lambda: _kmeans(n_clusters=2, init=init, n_init=1).fit(x), ValueError, ValueError, "init")


@case
def py_kmeans_init_array_too_many_rows():
    _, np, _, _ = _lazy()
    x, _ = two_blobs()
    init = np.array([[0, 0], [10, 10], [5, 5]], dtype=np.float32)
    expect(lambda: _kmeans(n_clusters=2, init=init, n_init=1).fit(x), ValueError, ValueError, "init")


@case
def py_kmeans_init_array_1d():
    _, np, _, _ = _lazy()
    x, _ = two_blobs()
    expect(lambda: _kmeans(n_clusters=2, init=np.zeros(4, np.float32), n_init=1).fit(x), ValueError, ValueError, "init")


@case
def c_kmeans_near_float_max_no_crash():
    # Finite data near FLT_MAX: centring overflows float32 in the working copy. HEAD 4131bba trapped
    # (SIGILL) in greedy k-means++ (no candidate chosen, index -1). Any status is fine here, a crash is not.
    ctypes, np, _, N = _lazy()
    for x in (np.array([[3e38], [3e38], [-3e38]], np.float32),
              np.array([[3.4028235e38, 0, 1e37], [1e37, 1, 0], [-3.4028235e38, 5, 0], [0, 0, 0]], np.float32)):
        for init in (0, 1):
            for k in (1, 2, 3):
                h = _create(n_clusters=k, init=init, seed=0, max_iter=5)
                N.lib.lamina_kmeans_fit(h, N.fptr(x), x.shape[0], x.shape[1], None)
                lab = np.empty(x.shape[0], np.int32)
                N.lib.lamina_kmeans_predict(h, N.fptr(x), x.shape[0], x.shape[1], N.iptr(lab))
                N.lib.lamina_kmeans_free(h)


@case
def py_kmeans_near_float_max_finite():
    # finite input -> finite centers and inertia (or a LaminaError), never -inf centers / inf inertia
    _, np, lamina, _ = _lazy()
    x = np.array([[3e38], [3e38], [-3e38]], np.float32)
    for init in ("k-means++", "random"):
        try:
            km = _kmeans(n_clusters=2, init=init, n_init=1, random_state=0).fit(x)
        except lamina.LaminaError:
            continue
        assert np.isfinite(km.cluster_centers_).all() and np.isfinite(km.inertia_), (
            f"init={init}: centers {km.cluster_centers_.ravel().tolist()}, inertia {km.inertia_}, "
            f"labels {km.labels_.tolist()}")


@case
def py_silhouette_near_float_max_finite():
    # finite input -> silhouette in [-1, 1] (float64 accumulation is documented), not NaN
    _, np, _, _ = _lazy()
    from lamina import metrics as M
    x = np.array([[1e38, 0], [-1e38, 0], [1e38, 1], [-3e38, 5], [0, 0]], np.float32)
    s = M.silhouette_samples(x, [0, 0, 1, 1, 2])
    assert np.all((s >= -1) & (s <= 1)), s.tolist()


@case
def py_set_num_threads():
    _, _, lamina, _ = _lazy()
    expect(lambda: lamina.set_num_threads(-1), lamina.InvalidArgumentError, ValueError, "n is -1")
    lamina.set_num_threads(0)
    assert lamina.get_num_threads() >= 1


# ==================================================================================================
# Python API: lamina.io
# ==================================================================================================

@case
def py_io_bad_files():
    _, _, lamina, _ = _lazy()
    from lamina import io
    f = h5files()
    for key, cls, words in [("missing", lamina.LaminaIOError, ["cannot open"]),
                            ("dir", lamina.LaminaIOError, ["directory"]),
                            ("empty", lamina.FormatError, ["not an HDF5 file"]),
                            ("text", lamina.FormatError, ["not an HDF5 file"]),
                            ("truncated_half", lamina.FormatError, []),
                            ("truncated_head", lamina.FormatError, [])]:
        for call in (lambda: io.dataset_info(f[key], "x"), lambda: io.read_activations(f[key], "x"),
                     lambda: io.read_labels(f[key], "labels"), lambda: io.read_activations(Path(f[key]), "x")):
            expect(call, cls, OSError, f[key], *words)


@case
def py_io_dataset_errors():
    _, _, lamina, _ = _lazy()
    from lamina import io
    v = h5files()["valid"]
    expect(lambda: io.read_activations(v, "nope"), lamina.InvalidArgumentError, ValueError, "'nope'", "not found")
    expect(lambda: io.read_labels(v, "nope"), lamina.InvalidArgumentError, ValueError, "'nope'", "not found")
    expect(lambda: io.dataset_info(v, "grp"), lamina.FormatError, OSError, "not a dataset")
    expect(lambda: io.read_activations(v, "cube"), lamina.FormatError, OSError, "rank 3")
    expect(lambda: io.read_labels(v, "cube"), lamina.FormatError, OSError, "rank 3")
    expect(lambda: io.read_activations(v, "strings"), lamina.FormatError, OSError, "'strings'")
    expect(lambda: io.read_labels(v, "vlen_strings"), lamina.FormatError, OSError, "'vlen_strings'")
    expect(lambda: io.read_labels(v, "floats1d"), lamina.FormatError, OSError, "integer")
    expect(lambda: io.read_activations(v, "x", start=150, stop=250), lamina.InvalidArgumentError, ValueError,
           "out of range")
    expect(lambda: io.read_activations(v, "x", start=-1), lamina.InvalidArgumentError, ValueError, "row_start is -1")
    expect(lambda: io.read_activations(v, "x", start=300), lamina.InvalidArgumentError, ValueError, "out of range")
    assert io.read_activations(v, "x", start=10, stop=5).shape == (0, 16)


@case
def py_io_none_path():
    from lamina import io
    for call in (lambda: io.read_activations(None, "x"), lambda: io.read_labels(None, "labels"),
                 lambda: io.dataset_info(None, "x")):
        expect(call, (TypeError, ValueError), Exception)


@case
def py_io_none_dataset():
    # dataset=None must be rejected as a bad argument (TypeError/ValueError), not AttributeError from .encode()
    from lamina import io
    v = h5files()["valid"]
    for call in (lambda: io.read_activations(v, None), lambda: io.read_labels(v, None),
                 lambda: io.dataset_info(v, None)):
        expect(call, (TypeError, ValueError), Exception)


# ==================================================================================================
# Python-side validation errors are LaminaError subclasses (lamina/__init__.py and lamina/metrics.py:
# "Errors are lamina.LaminaError subclasses that also derive from the matching builtin"; "Every function
# raises a lamina.LaminaError subclass (also a ValueError for bad arguments)").
# ==================================================================================================

def _python_side_calls():
    _, np, _, _ = _lazy()
    from lamina import metrics as M
    from lamina.cluster import KMeans
    x, y = two_blobs()
    return {
        "metric_option": lambda: M.silhouette_score(x, y, metric="bogus"),
        "x_1d": lambda: M.davies_bouldin_score(x[:, 0], y),
        "labels_wrong_length": lambda: M.calinski_harabasz_score(x, y[:5]),
        "external_wrong_length": lambda: M.adjusted_rand_score([0, 1, 1], [0, 1]),
        "kmeans_predict_unfitted": lambda: KMeans(2).predict(x),
        "kmeans_init_option": lambda: KMeans(2, init="bogus").fit(x),
    }


for _key in ["metric_option", "x_1d", "labels_wrong_length", "external_wrong_length", "kmeans_predict_unfitted",
             "kmeans_init_option"]:
    def _py_side(key=_key):
        _, _, lamina, _ = _lazy()
        expect(_python_side_calls()[key], lamina.LaminaError, ValueError)
    register(f"pyside_is_lamina_error_{_key}", _py_side)


# ==================================================================================================
# Worker and pytest glue
# ==================================================================================================

if __name__ == "__main__":
    worker_main(CASES)
    sys.exit(0)

test_bad_input = crash_tests(__file__, CASES)
