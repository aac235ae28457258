"""Bad input to the linear-probe API, through Python and directly through the C functions. Every case
runs in a worker subprocess (``python test_probe_linear_bad_input.py --worker NAME...``) so that a crash
fails one case instead of killing pytest; each case checks the Lamina exception class (or C status),
the builtin it must also be, and the words of the message."""
from __future__ import annotations

import sys
from pathlib import Path

from isolated import case_registry, crash_tests, expect, expect_status, worker_main

CASES, case = case_registry()


def _lazy():
    import ctypes

    import numpy as np

    import lamina
    from lamina import _native as N
    from lamina import probe as P
    return ctypes, np, lamina, N, P


def data(n=40, d=3, k=2, seed=0):
    _, np, _, _, _ = _lazy()
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)).astype(np.float32), (np.arange(n) % k).astype(np.int32)


# -- Python API ------------------------------------------------------------------------------------

@case
def one_class_labels():
    _, np, lamina, _, P = _lazy()
    X, _ = data()
    expect(lambda: P.LogisticProbe().fit(X, np.zeros(40, int)), lamina.InvalidArgumentError, ValueError, "only one class")


@case
def c_not_positive():
    _, np, lamina, _, P = _lazy()
    X, y = data()
    for C in (0.0, -1.0, float("nan"), float("inf")):
        expect(lambda: P.LogisticProbe(C=C).fit(X, y), lamina.InvalidArgumentError, ValueError, "C is")


@case
def bad_tol_and_max_iter():
    _, np, lamina, _, P = _lazy()
    X, y = data()
    expect(lambda: P.LogisticProbe(tol=-1).fit(X, y), lamina.InvalidArgumentError, ValueError, "tol is -1")
    expect(lambda: P.LogisticProbe(max_iter=0).fit(X, y), lamina.InvalidArgumentError, ValueError, "max_iter is 0")
    expect(lambda: P.LogisticProbe(max_iter=2**40).fit(X, y), lamina.InvalidArgumentError, ValueError, "max_iter")
    expect(lambda: P.LogisticProbe(class_weight="weird").fit(X, y), lamina.InvalidArgumentError, ValueError, "class_weight")


@case
def nan_and_inf_in_x():
    _, np, lamina, _, P = _lazy()
    X, y = data()
    X[5, 2] = np.nan
    expect(lambda: P.LogisticProbe().fit(X, y), lamina.NonFiniteError, ValueError, "row 5", "column 2")
    X[5, 2] = np.inf
    expect(lambda: P.layer_sweep([X], y, n_splits=2), lamina.NonFiniteError, ValueError, "row 5")
    expect(lambda: P.RidgeProbe().fit(X, np.ones(40)), lamina.NonFiniteError, ValueError, "row 5")
    expect(lambda: P.mdl_online_codelength(X, y), lamina.NonFiniteError, ValueError, "row 5")


@case
def nan_in_targets_and_weights():
    _, np, lamina, _, P = _lazy()
    X, y = data()
    t = np.ones(40)
    t[3] = np.nan
    expect(lambda: P.RidgeProbe().fit(X, t), lamina.NonFiniteError, ValueError, "y contains nan")
    w = np.ones(40)
    w[7] = -1
    expect(lambda: P.LogisticProbe().fit(X, y, sample_weight=w), lamina.InvalidArgumentError, ValueError, "sample_weight[7]")
    expect(lambda: P.LogisticProbe().fit(X, y, sample_weight=np.zeros(40)), lamina.InvalidArgumentError, ValueError, "sums to 0")
    expect(lambda: P.LogisticProbe(class_weight={0: -2.0}).fit(X, y), lamina.InvalidArgumentError, ValueError, "class_weight[0]")


@case
def wrong_lengths():
    _, np, lamina, _, P = _lazy()
    X, y = data()
    expect(lambda: P.LogisticProbe().fit(X, y[:-1]), lamina.ShapeMismatchError, ValueError, "inconsistent")
    expect(lambda: P.LogisticProbe().fit(X, y, sample_weight=np.ones(3)), lamina.ShapeMismatchError, ValueError, "sample_weight")
    m = P.LogisticProbe().fit(X, y)
    expect(lambda: m.predict(np.zeros((4, 5), np.float32)), lamina.ShapeMismatchError, ValueError, "features")
    expect(lambda: P.layer_sweep([X, X[:-2]], y, n_splits=2), lamina.ShapeMismatchError, ValueError, "rows")
    expect(lambda: P.control_task_labels(np.arange(3), y), lamina.ShapeMismatchError, ValueError, "types")
    expect(lambda: P.apply_direction(X, np.ones(7)), lamina.ShapeMismatchError, ValueError, "direction")
    expect(lambda: P.mean_difference_direction(X, np.zeros((3, 4))), lamina.ShapeMismatchError, ValueError, "features")
    expect(lambda: P.pca_direction(X, X[:5], paired=True), lamina.ShapeMismatchError, ValueError, "paired")
    expect(lambda: P.gap_at_k(np.zeros((3, 4)), np.zeros((3, 5))), lamina.ShapeMismatchError, ValueError, "shape")
    expect(lambda: P.mdl_online_codelength(X, y, order=np.arange(5)), lamina.ShapeMismatchError, ValueError, "order")


@case
def class_absent_from_a_fold():
    _, np, lamina, _, P = _lazy()
    X, y = data()
    y = y.copy()
    y[:3] = 9          # label 9 has 3 samples: cannot appear in all 5 folds
    expect(lambda: P.layer_sweep([X], y, n_splits=5), lamina.InvalidArgumentError, ValueError, "label 9", "n_splits=5")
    expect(lambda: P.stratified_kfold(y, 5), lamina.InvalidArgumentError, ValueError, "label 9")


@case
def bad_k():
    _, np, lamina, _, P = _lazy()
    X, y = data()
    expect(lambda: P.layer_sweep([X], y, n_splits=1), lamina.InvalidArgumentError, ValueError, "n_splits is 1")
    expect(lambda: P.stratified_kfold(y, 41), lamina.InvalidArgumentError, ValueError, "n_splits=41")
    expect(lambda: P.few_shot_accuracy(X, y, X, y, 0), lamina.InvalidArgumentError, ValueError, "k is 0")
    expect(lambda: P.few_shot_accuracy(X, y, X, y, 50), lamina.InvalidArgumentError, ValueError, "k = 50")
    expect(lambda: P.few_shot_accuracy(X, y, X, y, 2, n_draws=0), lamina.InvalidArgumentError, ValueError, "n_draws")
    expect(lambda: P.gap_at_k(X, X, 0), lamina.InvalidArgumentError, ValueError, "top_k is 0")
    expect(lambda: P.INLP(0).fit(X, y), lamina.InvalidArgumentError, ValueError, "n_iterations")


@case
def bad_mdl_fractions():
    _, np, lamina, _, P = _lazy()
    X, y = data()
    expect(lambda: P.mdl_online_codelength(X, y, fractions=[10, 5, 100]), lamina.InvalidArgumentError, ValueError, "increasing")
    expect(lambda: P.mdl_online_codelength(X, y, fractions=[10, 50]), lamina.InvalidArgumentError, ValueError, "100")
    expect(lambda: P.mdl_online_codelength(X, y, fractions=[0, 100]), lamina.InvalidArgumentError, ValueError, "fractions[0]")
    expect(lambda: P.mdl_online_codelength(X, y, order=np.zeros(40, int)), lamina.InvalidArgumentError, ValueError, "permutation")
    expect(lambda: P.mdl_online_codelength(X, np.zeros(40, int)), lamina.InvalidArgumentError, ValueError, "one class")


@case
def multilabel_misuse():
    _, np, lamina, _, P = _lazy()
    X, y = data()
    expect(lambda: P.LogisticProbe(multi_label=True).fit(X, y), lamina.InvalidArgumentError, ValueError, "multi_label")
    expect(lambda: P.LogisticProbe(multi_label=True, class_weight="balanced").fit(X, np.zeros((40, 2))),
           lamina.InvalidArgumentError, ValueError, "class_weight")


@case
def not_fitted():
    _, np, lamina, _, P = _lazy()
    X, _ = data()
    expect(lambda: P.LogisticProbe().predict(X), lamina.InvalidArgumentError, ValueError, "not fitted")
    expect(lambda: P.INLP().transform(X), lamina.InvalidArgumentError, ValueError, "not fitted")


@case
def ridge_singular():
    _, np, lamina, _, P = _lazy()
    X = np.ones((10, 3), np.float32)
    expect(lambda: P.RidgeProbe(alpha=0.0).fit(X, np.arange(10.0)), lamina.InvalidArgumentError, ValueError, "singular")
    expect(lambda: P.RidgeProbe(alpha=-1.0).fit(X, np.arange(10.0)), lamina.InvalidArgumentError, ValueError, "alpha is -1")


@case
def hdf5_sweep_errors():
    import os
    import tempfile
    _, np, lamina, _, P = _lazy()
    y = np.arange(40) % 2
    expect(lambda: P.layer_sweep("/nonexistent/file.h5", y, datasets=["/a"]), lamina.LaminaIOError, OSError, "cannot open")
    repo = Path(__file__).resolve().parents[3]
    path = repo / "examples" / "data" / "minilm_wordnet.h5"
    if path.exists():
        expect(lambda: P.layer_sweep(str(path), y, datasets=["/target/layer_0"]), lamina.ShapeMismatchError, ValueError, "rows")
        expect(lambda: P.layer_sweep(str(path), y, datasets=["/nope"]), lamina.InvalidArgumentError, ValueError, "not found")
    expect(lambda: P.layer_sweep(str(path), y), lamina.InvalidArgumentError, ValueError, "datasets")
    with tempfile.TemporaryDirectory() as tmp:
        junk = os.path.join(tmp, "junk.h5")
        with open(junk, "wb") as f:
            f.write(b"not hdf5" * 10)
        expect(lambda: P.layer_sweep(junk, y, datasets=["/a"]), lamina.FormatError, OSError, "not an HDF5")


# -- direct C calls -------------------------------------------------------------------------------

@case
def c_handle_misuse():
    ctypes, np, _, N, _ = _lazy()
    X, y = data()
    expect_status(1, N.lib.lamina_logistic_probe_fit(None, N.fptr(X), 40, 3, N.iptr(y), None, None, 0), "probe is NULL")
    bogus = ctypes.c_void_p(0xdeadbeef)
    expect_status(1, N.lib.lamina_logistic_probe_fit(bogus, N.fptr(X), 40, 3, N.iptr(y), None, None, 0), "not a live")
    p = N.lib.lamina_logistic_probe_default_params()
    h = ctypes.c_void_p()
    expect_status(0, N.lib.lamina_logistic_probe_create(ctypes.byref(p), ctypes.byref(h)))
    out = np.zeros(40, np.int32)
    expect_status(1, N.lib.lamina_logistic_probe_predict(h, N.fptr(X), 40, 3, N.iptr(out), 40), "not fitted")
    expect_status(0, N.lib.lamina_logistic_probe_fit(h, N.fptr(X), 40, 3, N.iptr(y), None, None, 0))
    expect_status(2, N.lib.lamina_logistic_probe_predict(h, N.fptr(X), 40, 3, N.iptr(out), 39), "out_len")
    expect_status(2, N.lib.lamina_logistic_probe_predict(h, N.fptr(X), 40, 2, N.iptr(out), 40), "features")
    expect_status(1, N.lib.lamina_logistic_probe_predict(h, None, 40, 3, N.iptr(out), 40), "x is NULL")
    expect_status(1, N.lib.lamina_logistic_probe_fit(h, N.fptr(X), 0, 3, N.iptr(y), None, None, 0), "n is 0")
    expect_status(6, N.lib.lamina_logistic_probe_fit(h, N.fptr(X), 2**31, 2**33, N.iptr(y), None, None, 0), "overflows")
    expect_status(1, N.lib.lamina_logistic_probe_fit(h, N.fptr(X), 40, 3, N.iptr(y), None, N.dptr(np.ones(2)), 2), "class_weights")
    coef = np.zeros(3)
    expect_status(2, N.lib.lamina_logistic_probe_get_coef(h, N.dptr(coef), 2, None, 0), "coef_len")
    expect_status(1, N.lib.lamina_logistic_probe_get_scaler(h, N.dptr(coef), N.dptr(coef), 3), "standardize")
    N.lib.lamina_logistic_probe_free(h)
    N.lib.lamina_logistic_probe_free(h)      # double free: ignored
    N.lib.lamina_logistic_probe_free(None)


def _guarded(np, dtype, values):
    """`values` placed at the very end of a readable page followed by an inaccessible one: a read of one
    element past them faults (so a case that reads past a declared size crashes instead of passing)."""
    import ctypes
    import mmap
    page = mmap.PAGESIZE
    buf = mmap.mmap(-1, 2 * page, prot=mmap.PROT_READ | mmap.PROT_WRITE)
    base = ctypes.addressof(ctypes.c_char.from_buffer(buf))
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    assert libc.mprotect(base + page, page, 0) == 0   # PROT_NONE
    values = np.asarray(values, dtype)
    arr = np.frombuffer(buf, dtype, count=values.size, offset=page - values.nbytes)
    arr[:] = values
    return buf, arr


@case
def c_set_coef_sizes_before_copies():
    """set_coef checks that n_classes and n_outputs agree before it copies coef (n_outputs x n_features) and
    classes (n_classes): a wrong count no longer reads past the caller's buffer (here into a guard page)."""
    ctypes, np, _, N, _ = _lazy()
    p = N.lib.lamina_logistic_probe_default_params()
    h = ctypes.c_void_p()
    expect_status(0, N.lib.lamina_logistic_probe_create(ctypes.byref(p), ctypes.byref(h)))
    keep_c, coef = _guarded(np, np.float64, [0.5, -1.0, 2.0])        # one output x 3 features
    keep_b, intercept = _guarded(np, np.float64, [0.1])
    keep_k, classes = _guarded(np, np.int32, [0, 1])                   # two classes
    # n_classes = 4096 on a buffer of 2: refused before classes is read
    expect_status(2, N.lib.lamina_logistic_probe_set_coef(h, N.dptr(coef), N.dptr(intercept), 1, 3, None, None,
                                                          N.iptr(classes), 4096), "n_outputs is 1", "4096 classes")
    # n_outputs = 1000 on a coef of 3 values and 2 classes: refused before coef is read
    expect_status(2, N.lib.lamina_logistic_probe_set_coef(h, N.dptr(coef), N.dptr(intercept), 1000, 3, None, None,
                                                          N.iptr(classes), 2), "n_outputs is 1000", "expected 1 for 2 classes")
    expect_status(1, N.lib.lamina_logistic_probe_set_coef(h, N.dptr(coef), N.dptr(intercept), 1, 3, None, None,
                                                          N.iptr(classes), 1), "n_classes is 1")
    expect_status(0, N.lib.lamina_logistic_probe_set_coef(h, N.dptr(coef), N.dptr(intercept), 1, 3, None, None,
                                                          N.iptr(classes), 2))
    N.lib.lamina_logistic_probe_free(h)
    del coef, intercept, classes
    keep_c, keep_b, keep_k = None, None, None


@case
def c_params():
    ctypes, np, _, N, _ = _lazy()
    p = N.lib.lamina_logistic_probe_default_params()
    assert p.C == 1.0 and p.max_iter == 100 and p.tol == 1e-4 and p.fit_intercept == 1
    expect_status(1, N.lib.lamina_logistic_probe_check_params(None), "params is NULL")
    for field, value, word in (("C", -1.0, "C is -1"), ("class_weight", 7, "class_weight is 7"),
                               ("standardize", 2, "standardize is 2"), ("multi_label", -1, "multi_label"),
                               ("max_iter", 0, "max_iter is 0")):
        q = N.lib.lamina_logistic_probe_default_params()
        setattr(q, field, value)
        expect_status(1, N.lib.lamina_logistic_probe_check_params(ctypes.byref(q)), word)
    q = N.lib.lamina_logistic_probe_default_params()
    q.class_weight = 2
    X, y = data()
    m, s = np.zeros(1), np.zeros(1)
    expect_status(1, N.lib.lamina_layer_sweep_h5(b"x.h5", None, 1, N.iptr(y), 40, ctypes.byref(q), 2, 0, None,
                                                 N.dptr(m), N.dptr(s)), "datasets is NULL")


@case
def c_stateless_nulls():
    ctypes, np, _, N, _ = _lazy()
    X, y = data()
    p = N.lib.lamina_logistic_probe_default_params()
    out = np.zeros(64)
    expect_status(1, N.lib.lamina_stratified_kfold(None, 40, 2, 0, N.iptr(np.zeros(40, np.int32))), "labels is NULL")
    expect_status(1, N.lib.lamina_layer_sweep(None, None, 1, 40, N.iptr(y), ctypes.byref(p), 2, 0, None,
                                              N.dptr(out), N.dptr(out)), "layers is NULL")
    ptrs = (N.f32p * 1)(N.fptr(X))
    dims = np.array([3], np.int64)
    expect_status(1, N.lib.lamina_layer_sweep(ptrs, N.lptr(dims), 0, 40, N.iptr(y), ctypes.byref(p), 2, 0, None,
                                              N.dptr(out), N.dptr(out)), "n_layers is 0")
    expect_status(1, N.lib.lamina_layer_sweep(ptrs, N.lptr(dims), 1, 40, N.iptr(y), ctypes.byref(p), 2, 0, None,
                                              None, N.dptr(out)), "mean is NULL")
    dims[0] = -3
    expect_status(1, N.lib.lamina_layer_sweep(ptrs, N.lptr(dims), 1, 40, N.iptr(y), ctypes.byref(p), 2, 0, None,
                                              N.dptr(out), N.dptr(out)), "dims[0] is -3")
    q = N.lib.lamina_logistic_probe_default_params()
    q.multi_label = 1
    dims[0] = 3
    expect_status(1, N.lib.lamina_layer_sweep(ptrs, N.lptr(dims), 1, 40, N.iptr(y), ctypes.byref(q), 2, 0, None,
                                              N.dptr(out), N.dptr(out)), "multi_label")
    o, u = ctypes.c_double(), ctypes.c_double()
    expect_status(1, N.lib.lamina_mdl_online_codelength(N.fptr(X), 40, 3, N.iptr(y), ctypes.byref(p), None, -1, None, 0,
                                                        ctypes.byref(o), ctypes.byref(u), None, None), "n_fractions")
    bad = np.arange(40, dtype=np.int64)
    bad[4] = 99
    expect_status(1, N.lib.lamina_mdl_online_codelength(N.fptr(X), 40, 3, N.iptr(y), ctypes.byref(p), None, 0, N.lptr(bad),
                                                        0, ctypes.byref(o), ctypes.byref(u), None, None), "order[4]")
    expect_status(1, N.lib.lamina_gap_at_k(None, N.fptr(X), 40, 3, 2, N.dptr(out)), "predictions is NULL")
    expect_status(1, N.lib.lamina_hit_at_1(N.fptr(X), N.fptr(X), 40, 3, None), "out is NULL")
    v = np.ones(3)
    expect_status(1, N.lib.lamina_apply_direction(N.fptr(X), 40, 3, N.dptr(v), float("nan"), 0, N.fptr(X)), "alpha")
    v[1] = np.inf
    expect_status(3, N.lib.lamina_apply_direction(N.fptr(X), 40, 3, N.dptr(v), 1.0, 0, N.fptr(X)), "direction")
    expect_status(1, N.lib.lamina_pca_direction(N.fptr(X), 40, N.fptr(X), 40, 3, 5, N.dptr(out)), "paired is 5")
    acc = np.zeros(4)
    rk = np.zeros(4, np.int32)
    P_ = np.zeros(9)
    expect_status(1, N.lib.lamina_inlp(N.fptr(X), 40, 3, N.iptr(y), N.fptr(X), 40, None, ctypes.byref(p), 4, -1.0,
                                       N.dptr(P_), N.dptr(acc), N.iptr(rk), None), "y_dev is NULL")
    expect_status(1, N.lib.lamina_inlp(N.fptr(X), 40, 3, N.iptr(y), None, 0, None, ctypes.byref(p), 4, float("nan"),
                                       N.dptr(P_), N.dptr(acc), N.iptr(rk), None), "min_accuracy")
    expect_status(1, N.lib.lamina_r2_score(N.dptr(out), N.dptr(out), 1, 1, N.dptr(out)), "n is 1")
    expect_status(1, N.lib.lamina_ridge_fit(N.fptr(X), 40, 3, N.dptr(out), 1, 1.0, 3, None, N.dptr(out), N.dptr(out)),
                  "fit_intercept is 3")


# -- worker and pytest glue -----------------------------------------------------------------------

if __name__ == "__main__":
    worker_main(CASES)
    sys.exit(0)

test_probe_bad_input = crash_tests(__file__, CASES)
