"""Bad input to the structural probes, through the Python API and straight through the C API
(bypassing the Python-side checks). Every case runs in a worker subprocess (the pattern of
test_bad_input.py): a Swift trap would kill the interpreter, and must fail only its own case. Each case
checks the Lamina exception class (or C status), the builtin it also is, and the words of the message.
"""
from __future__ import annotations

import sys

from isolated import case_registry, crash_tests, expect, expect_status, worker_main

CASES, case = case_registry()


def _lazy():
    import ctypes

    import numpy as np

    import lamina
    from lamina import _native as N
    from lamina import structural as S
    return ctypes, np, lamina, N, S


def data():
    _, np, _, _, _ = _lazy()
    rng = np.random.default_rng(0)
    lengths = [3, 5, 4]
    xs = [rng.standard_normal((L, 6)).astype(np.float32) for L in lengths]
    Ds = [np.abs(np.arange(L)[:, None] - np.arange(L)[None, :]).astype(np.float32) for L in lengths]
    deps = [np.arange(L, dtype=np.float32) for L in lengths]
    x = np.concatenate(xs)
    off = np.array([0, 3, 8, 12], dtype=np.int64)
    t = np.concatenate([D.ravel() for D in Ds])
    return xs, Ds, deps, x, off, t


# -- Python API ------------------------------------------------------------------------------------

@case
def py_rank_zero():
    _, _, lamina, _, S = _lazy()
    xs, Ds, *_ = data()
    expect(lambda: S.StructuralProbe(rank=0).fit(xs, targets=Ds), lamina.InvalidArgumentError, ValueError, "rank is 0")
    expect(lambda: S.StructuralProbe(rank=-5).fit(xs, targets=Ds), lamina.InvalidArgumentError, ValueError, "rank is -5")
    expect(lambda: S.StructuralProbe(rank=2.5).fit(xs, targets=Ds), lamina.InvalidArgumentError, ValueError, "rank")
    expect(lambda: S.StructuralProbe(rank=2**40).fit(xs, targets=Ds), lamina.InvalidArgumentError, ValueError, "rank")


@case
def py_lr_and_params():
    _, _, lamina, _, S = _lazy()
    xs, Ds, *_ = data()
    for lr, word in ((0, "lr is 0"), (-0.1, "lr is -0.1"), (float("nan"), "lr is nan"), (float("inf"), "lr is inf")):
        expect(lambda: S.StructuralProbe(lr=lr).fit(xs, targets=Ds), lamina.InvalidArgumentError, ValueError, word)
    expect(lambda: S.StructuralProbe(kind="tree").fit(xs, targets=Ds), lamina.InvalidArgumentError, ValueError, "kind")
    expect(lambda: S.StructuralProbe(batch_size=0).fit(xs, targets=Ds), lamina.InvalidArgumentError, ValueError, "batch_size is 0")
    expect(lambda: S.StructuralProbe(epochs=-1).fit(xs, targets=Ds), lamina.InvalidArgumentError, ValueError, "epochs is -1")
    expect(lambda: S.StructuralProbe(random_state=-1).fit(xs, targets=Ds), lamina.InvalidArgumentError, ValueError, "random_state")
    expect(lambda: S.StructuralProbe(plateau_factor=2).fit(xs, targets=Ds), lamina.InvalidArgumentError, ValueError, "plateau_factor")


@case
def py_offsets():
    _, np, lamina, _, S = _lazy()
    _, _, _, x, off, t = data()
    p = S.StructuralProbe(rank=2, epochs=1)
    bad = {
        "offsets[0] is 1": [1, 3, 8, 12],
        "not strictly increasing": [0, 8, 3, 12],
        "expected n_tokens = 12": [0, 3, 8, 11],
        "beyond n_tokens": [0, 3, 8, 13],
    }
    for word, o in bad.items():
        expect(lambda: p.fit(x, np.array(o), t), lamina.InvalidArgumentError, ValueError, word)
    expect(lambda: p.fit(x, np.array([0, 3, 3, 12]), t), lamina.InvalidArgumentError, ValueError, "every item needs at least one token")
    expect(lambda: p.fit(x, None, t), lamina.InvalidArgumentError, ValueError, "offsets is None")
    expect(lambda: p.fit(x, np.array([0.5, 12]), t), lamina.InvalidArgumentError, ValueError, "offsets has dtype")
    expect(lambda: p.fit(x, np.array([[0, 12]]), t), lamina.InvalidArgumentError, ValueError, "1-D")
    expect(lambda: p.fit(x, np.array([0]), t), lamina.InvalidArgumentError, ValueError, "offsets has 1 entries")


@case
def py_targets():
    _, np, lamina, _, S = _lazy()
    xs, Ds, deps, x, off, t = data()
    p = S.StructuralProbe(rank=2, epochs=1)
    expect(lambda: p.fit(x, off, t[:-1]), lamina.ShapeMismatchError, ValueError, "n_targets is 49; expected 50")
    bad = [D.copy() for D in Ds]
    bad[1] = np.zeros((4, 4), np.float32)
    expect(lambda: p.fit(xs, targets=bad), lamina.ShapeMismatchError, ValueError, "item 1", "(5, 5)")
    expect(lambda: p.fit(xs, targets=Ds[:2]), lamina.ShapeMismatchError, ValueError, "2 items")
    t2 = t.copy()
    t2[20] = np.nan
    expect(lambda: p.fit(x, off, t2), lamina.NonFiniteError, ValueError, "targets contains nan", "item 1")
    t2[20] = -4
    expect(lambda: p.fit(x, off, t2), lamina.InvalidArgumentError, ValueError, "targets contains -4.0", "expected a value >= 0")
    d = S.StructuralProbe("depth", rank=2, epochs=1)
    expect(lambda: d.fit(x, off, t), lamina.ShapeMismatchError, ValueError, "n_targets is 50; expected 12")
    expect(lambda: d.fit(xs, targets=Ds), lamina.ShapeMismatchError, ValueError, "n_targets")


@case
def py_nonfinite_activations():
    _, np, lamina, _, S = _lazy()
    xs, Ds, _, x, off, t = data()
    for v, word in ((np.nan, "nan"), (np.inf, "inf"), (-np.inf, "-inf")):
        x2 = x.copy()
        x2[4, 2] = v
        expect(lambda: S.StructuralProbe(rank=2).fit(x2, off, t), lamina.NonFiniteError, ValueError,
               f"x contains {word} at row 4, column 2")


@case
def py_lists():
    _, np, lamina, _, S = _lazy()
    xs, Ds, *_ = data()
    p = S.StructuralProbe(rank=2, epochs=1)
    expect(lambda: p.fit([], targets=[]), lamina.InvalidArgumentError, ValueError, "empty")
    expect(lambda: p.fit([xs[0], xs[1][:, :4]], targets=Ds[:2]), lamina.ShapeMismatchError, ValueError, "item 1 has d = 4")
    expect(lambda: p.fit([xs[0], np.zeros((0, 6))], targets=Ds[:2]), lamina.InvalidArgumentError, ValueError, "item 1 has no tokens")
    expect(lambda: p.fit([xs[0], xs[1].ravel()], targets=Ds[:2]), lamina.InvalidArgumentError, ValueError, "item 1 has shape")
    expect(lambda: p.fit(xs, targets=Ds, dev=(xs[:1],)), lamina.InvalidArgumentError, ValueError, "dev must be")
    expect(lambda: p.fit(xs, targets=Ds, dev=([x[:, :3] for x in xs], Ds)), lamina.ShapeMismatchError, ValueError, "dev activations have d = 3")


@case
def py_predict_unfitted_and_d():
    _, np, lamina, _, S = _lazy()
    xs, Ds, *_ = data()
    p = S.StructuralProbe(rank=2, epochs=1)
    expect(lambda: p.predict(xs), lamina.InvalidArgumentError, ValueError, "not fitted")
    p.fit(xs, targets=Ds)
    expect(lambda: p.predict([x[:, :5] for x in xs]), lamina.ShapeMismatchError, ValueError, "d = 5")
    expect(lambda: p.set_projection(np.zeros((3, 6))), lamina.ShapeMismatchError, ValueError, "rank is 3")
    expect(lambda: p.set_projection(np.full((2, 6), np.nan)), lamina.NonFiniteError, ValueError, "b contains nan")
    w = S.StructuralProbe(rank=2, epochs=1, warm_start=True)
    w.fit(xs, targets=Ds)
    expect(lambda: w.fit([x[:, :5] for x in xs], targets=Ds), lamina.ShapeMismatchError, ValueError, "warm start")


@case
def py_metrics():
    _, np, lamina, _, S = _lazy()
    xs, Ds, deps, x, off, t = data()
    expect(lambda: S.uuas(Ds, Ds[:2]), lamina.ShapeMismatchError, ValueError, "targets has 2 items")
    expect(lambda: S.uuas(t, t[:-1], off), lamina.ShapeMismatchError, ValueError, "predicted has 50 values and gold has 49")
    bad = t.copy()
    bad[0] = np.inf
    expect(lambda: S.uuas(bad, t, off), lamina.NonFiniteError, ValueError, "predicted contains inf at index 0")
    expect(lambda: S.uuas(Ds, Ds, ignore=np.ones(11, bool)), lamina.ShapeMismatchError, ValueError, "ignore has 11 entries")
    expect(lambda: S.uuas(Ds, Ds, ignore=np.ones(12, bool)), lamina.InvalidArgumentError, ValueError, "no gold edges")
    expect(lambda: S.uuas([np.zeros((2, 3))], [np.zeros((2, 3))]), lamina.ShapeMismatchError, ValueError, "square")
    expect(lambda: S.spearman_5_50(Ds, Ds, kind="tree"), lamina.InvalidArgumentError, ValueError, "kind")
    expect(lambda: S.spearman_5_50(Ds, Ds, min_length=0), lamina.InvalidArgumentError, ValueError, "min_length is 0")
    expect(lambda: S.spearman_5_50(t[:7], t[:7], off), lamina.ShapeMismatchError, ValueError, "expected 50")
    expect(lambda: S.root_accuracy(deps, [d + 1 for d in deps]), lamina.InvalidArgumentError, ValueError, "no 0")
    expect(lambda: S.root_accuracy([np.array([0, np.nan])], [np.array([0, 1])]), lamina.NonFiniteError, ValueError, "predicted contains nan")


@case
def py_callback_cancel_keeps_state():
    _, np, lamina, _, S = _lazy()
    xs, Ds, *_ = data()
    p = S.StructuralProbe(rank=2, epochs=5, batch_size=1)
    expect(lambda: p.fit(xs, targets=Ds, callback=lambda info: True), lamina.CancelledError, Exception, "after step 1")
    assert p.n_steps_ == 1
    assert p.predict(xs)[0].shape == (3, 3)


@case
def py_tree_targets():
    _, np, lamina, _, S = _lazy()
    expect(lambda: S.tree_targets([np.array([-1, 0, 5])]), lamina.InvalidArgumentError, ValueError,
           "item 0, token 2 is 5", "expected -1 (root)")
    expect(lambda: S.tree_targets([np.array([-1, 0]), np.array([-1, -1, 0])]), lamina.InvalidArgumentError, ValueError,
           "item 1 has two roots")
    expect(lambda: S.tree_targets([np.array([1, 2, 0])]), lamina.InvalidArgumentError, ValueError, "item 0 has no root")
    expect(lambda: S.tree_targets([np.array([-1, 2, 3, 1])]), lamina.InvalidArgumentError, ValueError, "cycle")
    expect(lambda: S.tree_targets([np.array([-1, 1])]), lamina.InvalidArgumentError, ValueError, "token 1 is the token itself")
    expect(lambda: S.tree_targets([np.array([-1]), np.array([], int)]), lamina.InvalidArgumentError, ValueError, "item 1 is empty")
    expect(lambda: S.tree_targets([np.array([-1.0, 0.0])]), lamina.InvalidArgumentError, ValueError, "parents has dtype")
    expect(lambda: S.tree_targets(np.array([-1, 0, -1]), np.array([0, 2, 2])), lamina.InvalidArgumentError, ValueError,
           "not strictly increasing")


# -- C API directly --------------------------------------------------------------------------------

def _handle(kind=0, rank=2):
    ctypes, _, _, N, _ = _lazy()
    p = N.lib.lamina_structural_probe_default_params()
    p.kind, p.rank, p.epochs = kind, rank, 1
    h = ctypes.c_void_p()
    assert N.lib.lamina_structural_probe_create(ctypes.byref(p), ctypes.byref(h)) == 0
    return h


@case
def c_fit_sizes_and_pointers():
    ctypes, np, _, N, _ = _lazy()
    _, _, _, x, off, t = data()
    h = _handle()
    fit = N.lib.lamina_structural_probe_fit
    null = N.ProgressFn()
    expect_status(1, fit(h, None, 12, 6, N.lptr(off), 3, N.fptr(t), 50, 0, null, None), "x is NULL")
    expect_status(1, fit(h, N.fptr(x), 12, 6, None, 3, N.fptr(t), 50, 0, null, None), "offsets is NULL")
    expect_status(1, fit(h, N.fptr(x), 12, 6, N.lptr(off), 3, None, 50, 0, null, None), "targets is NULL")
    expect_status(1, fit(h, N.fptr(x), 12, 6, N.lptr(off), -3, N.fptr(t), 50, 0, null, None), "n_items is -3")
    expect_status(1, fit(h, N.fptr(x), 12, 6, N.lptr(off), 2**62, N.fptr(t), 50, 0, null, None), "n_items is")
    expect_status(6, fit(h, N.fptr(x), 2**30, 2**31 - 1, N.lptr(off), 3, N.fptr(t), 50, 0, null, None), "overflows")
    expect_status(1, fit(h, N.fptr(x), 2**31, 6, N.lptr(off), 3, N.fptr(t), 50, 0, null, None), "n_tokens is 2147483648")
    expect_status(1, fit(h, N.fptr(x), 1, 2**40, N.lptr(off), 3, N.fptr(t), 50, 0, null, None), "d is 1099511627776")
    expect_status(2, fit(h, N.fptr(x), 12, 6, N.lptr(off), 3, N.fptr(t), 2**62, 0, null, None), "n_targets")
    expect_status(2, fit(h, N.fptr(x), 12, 6, N.lptr(off), 3, N.fptr(t), -1, 0, null, None), "n_targets is -1")
    expect_status(1, fit(h, N.fptr(x), 12, 6, N.lptr(off), 3, N.fptr(t), 50, 3, null, None), "n_dev_items is 3")
    # n_items larger than the offsets say: offsets read only up to where they stop increasing or exceed n
    big = np.array([0, 3, 8, 12, 0, 0, 0], dtype=np.int64)
    expect_status(1, fit(h, N.fptr(x), 12, 6, N.lptr(big), 6, N.fptr(t), 50, 0, null, None), "not strictly increasing")
    # a huge n_items is refused at the first bad offset, not by an allocation of n_items + 1 entries first
    # (2^40 + 1 offsets: 8 TiB, which aborted the process before any entry was checked)
    expect_status(1, fit(h, N.fptr(x), 12, 6, N.lptr(big), 2**40, N.fptr(t), 50, 0, null, None), "not strictly increasing")
    out = ctypes.c_double()
    expect_status(1, N.lib.lamina_structural_uuas(N.fptr(t), N.fptr(t), 50, N.lptr(big), 2**40, None, ctypes.byref(out),
                                                  None, None), "not strictly increasing")
    expect_status(1, fit(None, N.fptr(x), 12, 6, N.lptr(off), 3, N.fptr(t), 50, 0, null, None), "probe is NULL")
    expect_status(1, fit(ctypes.c_void_p(12345), N.fptr(x), 12, 6, N.lptr(off), 3, N.fptr(t), 50, 0, null, None),
                  "not a live lamina_structural_probe handle")
    N.lib.lamina_structural_probe_free(h)


@case
def c_huge_lengths():
    ctypes, np, _, N, _ = _lazy()
    # offsets describing a 2^40-token item: rejected (n_tokens mismatch) before any allocation
    x = np.zeros((4, 2), np.float32)
    off = np.array([0, 2**40], dtype=np.int64)
    t = np.zeros(16, np.float32)
    h = _handle()
    st = N.lib.lamina_structural_probe_fit(h, N.fptr(x), 4, 2, N.lptr(off), 1, N.fptr(t), 16, 0, N.ProgressFn(), None)
    expect_status(1, st, "beyond n_tokens")
    # metric functions take no n_tokens: the sum of L^2 must not overflow
    off2 = np.array([0, 2**40, 2**41], dtype=np.int64)
    out = ctypes.c_double()
    st = N.lib.lamina_structural_uuas(N.fptr(t), N.fptr(t), 16, N.lptr(off2), 2, None, ctypes.byref(out), None, None)
    assert st in (2, 6), (st, N.last_error())
    off3 = np.array([0, 2**62], dtype=np.int64)
    st = N.lib.lamina_structural_spearman(0, N.fptr(t), N.fptr(t), 16, N.lptr(off3), 1, 5, 50, ctypes.byref(out), None)
    assert st in (1, 6), (st, N.last_error())
    st = N.lib.lamina_structural_root_accuracy(N.fptr(t), N.fptr(t), 16, N.lptr(off3), 1, None, ctypes.byref(out), None, None)
    assert st in (1, 2), (st, N.last_error())
    N.lib.lamina_structural_probe_free(h)


@case
def c_params_struct_garbage():
    ctypes, _, _, N, _ = _lazy()
    p = N.lib.lamina_structural_probe_default_params()
    for field, value, word in (("rank", 0, "rank is 0"), ("lr", -1.0, "lr is -1"), ("eps", 0.0, "eps"),
                               ("beta2", float("nan"), "beta2"), ("patience", -1, "patience is -1"),
                               ("kind", -1, "kind is -1")):
        q = N.StructuralProbeParams.from_buffer_copy(p)
        setattr(q, field, value)
        expect_status(1, N.lib.lamina_structural_probe_check_params(ctypes.byref(q)), word)


@case
def c_loss_and_projection():
    ctypes, np, _, N, _ = _lazy()
    _, _, _, x, off, t = data()
    h = _handle()
    out = ctypes.c_double()
    expect_status(1, N.lib.lamina_structural_probe_loss(h, N.fptr(x), 12, 6, N.lptr(off), 3, N.fptr(t), 50,
                                                        ctypes.byref(out), None, 0), "not fitted")
    expect_status(1, N.lib.lamina_structural_probe_get_info(h, None, None, None, None, None, None, None, None), "not fitted")
    B = np.zeros((2, 6), np.float32)
    assert N.lib.lamina_structural_probe_set_projection(h, N.fptr(B), 2, 6) == 0
    expect_status(1, N.lib.lamina_structural_probe_loss(h, N.fptr(x), 12, 6, N.lptr(off), 3, N.fptr(t), 50,
                                                        None, None, 0), "loss is NULL")
    g = np.zeros(12, np.float32)
    expect_status(2, N.lib.lamina_structural_probe_loss(h, N.fptr(x), 12, 6, N.lptr(off), 3, N.fptr(t), 50,
                                                        ctypes.byref(out), N.fptr(g), 11), "grad_len", "is 11; expected 12")
    expect_status(2, N.lib.lamina_structural_probe_set_projection(h, N.fptr(B), 2**40, 6), "rank is")
    expect_status(1, N.lib.lamina_structural_probe_set_projection(h, N.fptr(B), 2, 0), "d is 0")
    expect_status(2, N.lib.lamina_structural_probe_get_projection(h, N.fptr(g), 13), "out_len", "is 13; expected 12")
    N.lib.lamina_structural_probe_free(h)


@case
def c_fitted_width_before_values():
    """predict, loss and a warm-start fit check d against the fitted projection before reading x: a NaN in a
    buffer of the declared (wrong) width is never reached (it was: NON_FINITE from the scan, or a read past a
    narrower buffer)."""
    ctypes, np, _, N, _ = _lazy()
    _, _, _, x, off, t = data()
    wide = np.full((12, 7), np.nan, np.float32)
    out, loss = np.zeros(50, np.float32), ctypes.c_double()
    p = N.lib.lamina_structural_probe_default_params()
    p.kind, p.rank, p.epochs, p.warm_start = 0, 2, 1, 1
    h = ctypes.c_void_p()
    assert N.lib.lamina_structural_probe_create(ctypes.byref(p), ctypes.byref(h)) == 0
    null = N.ProgressFn()
    expect_status(0, N.lib.lamina_structural_probe_fit(h, N.fptr(x), 12, 6, N.lptr(off), 3, N.fptr(t), 50, 0, null, None))
    expect_status(2, N.lib.lamina_structural_probe_predict(h, N.fptr(wide), 12, 7, N.lptr(off), 3, N.fptr(out), 50),
                  "d = 7", "fitted with d = 6")
    expect_status(2, N.lib.lamina_structural_probe_loss(h, N.fptr(wide), 12, 7, N.lptr(off), 3, N.fptr(t), 50,
                                                        ctypes.byref(loss), None, 0), "d = 7", "fitted with d = 6")
    expect_status(2, N.lib.lamina_structural_probe_fit(h, N.fptr(wide), 12, 7, N.lptr(off), 3, N.fptr(t), 50, 0, null, None),
                  "d = 7", "warm start", "d = 6")
    N.lib.lamina_structural_probe_free(h)


@case
def c_tree_targets():
    ctypes, np, _, N, _ = _lazy()
    par = np.array([-1, 0, 1, -1, 0], dtype=np.int32)
    off = np.array([0, 3, 5], dtype=np.int64)
    dist = np.zeros(13, np.float32)
    dep = np.zeros(5, np.float32)
    f = N.lib.lamina_structural_tree_targets
    assert f(N.iptr(par), 5, N.lptr(off), 2, N.fptr(dist), 13, N.fptr(dep), 5) == 0, N.last_error()
    assert dep.tolist() == [0, 1, 2, 0, 1] and dist[:9].tolist() == [0, 1, 2, 1, 0, 1, 2, 1, 0]
    expect_status(1, f(None, 5, N.lptr(off), 2, N.fptr(dist), 13, N.fptr(dep), 5), "parents is NULL")
    expect_status(1, f(N.iptr(par), 5, N.lptr(off), 2, None, 0, None, 0), "both NULL")
    expect_status(2, f(N.iptr(par), 5, N.lptr(off), 2, N.fptr(dist), 12, None, 0), "n_distances is 12")
    expect_status(2, f(N.iptr(par), 5, N.lptr(off), 2, None, 0, N.fptr(dep), 4), "n_depths is 4")
    expect_status(1, f(N.iptr(par), 4, N.lptr(off), 2, N.fptr(dist), 13, None, 0), "beyond n_tokens = 4")
    expect_status(1, f(N.iptr(par), 0, N.lptr(off), 2, N.fptr(dist), 13, None, 0), "n_tokens is 0")


# -- worker / pytest glue --------------------------------------------------------------------------

if __name__ == "__main__":
    worker_main(CASES)
    sys.exit(0)

test_structural_bad_input = crash_tests(__file__, CASES)
