"""Bad input to the VL-SAE's input projections and alignment stage, through Python and directly through
the C API: projection shapes wrong, NaN in a projection, temperature <= 0, recon_weight < 0, batch_size
< 2, one pair, widths that do not match, zero rows (named), a row the projection maps to 0, gradient
buffers of the wrong length, unknown tensor names, cancel. Each case runs in a worker subprocess."""
from __future__ import annotations

import sys

from isolated import case_registry, crash_tests, expect, expect_status, worker_main

CASES, case = case_registry()


def _mods():
    import ctypes

    import numpy as np

    import lamina
    from lamina import _native as N
    from lamina.sae import VLAlignment, VLSparseAutoencoder
    return ctypes, np, lamina, N, VLAlignment, VLSparseAutoencoder


def _data(n=64, dv=10, dt=6, seed=0):
    _, np, *_ = _mods()
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, dv)).astype(np.float32), rng.standard_normal((n, dt)).astype(np.float32)


def _align_handle(dv=10, dt=6, dc=4, temperature=0.07, recon=0.1, lr=1e-3, batch=32, expect_ok=True):
    ctypes, np, lamina, N, *_ = _mods()
    h = ctypes.c_void_p()
    st = N.lib.lamina_vlalign_create(dv, dt, dc, temperature, recon, lr, batch, 0, ctypes.byref(h))
    if expect_ok:
        assert st == 0, N.last_error()
    return st, h


@case
def projection_shapes_wrong():
    ctypes, np, lamina, N, VA, VL = _mods()
    V, T = _data()
    Pv, Pt = np.ones((4, 10), np.float32), np.ones((4, 6), np.float32)
    expect(lambda: VL(projections=(Pv, np.ones((3, 6), np.float32))).fit(V, T, epochs=1),
           lamina.ShapeMismatchError, ValueError, "P_text", "d_common")
    expect(lambda: VL(projections=(Pv, np.ones((4, 7), np.float32))).fit(V, T, epochs=1),
           lamina.ShapeMismatchError, ValueError, "P_text", "d_text = 6")
    expect(lambda: VL(projections="identity").fit(V, T, epochs=1), lamina.InvalidArgumentError, ValueError, "projections")
    p = N.lib.lamina_vlsae_default_params()
    p.d_vision, p.d_text, p.n_latents, p.k = 10, 6, 16, 4
    h = ctypes.c_void_p()
    expect_status(2, N.lib.lamina_vlsae_create_projected(ctypes.byref(p), 4, N.fptr(Pv), Pv.size, N.fptr(Pt), Pt.size - 1,
                                                         ctypes.byref(h)), "p_text_len", "4 x 6")
    expect_status(1, N.lib.lamina_vlsae_create_projected(ctypes.byref(p), 0, N.fptr(Pv), Pv.size, N.fptr(Pt), Pt.size,
                                                         ctypes.byref(h)), "d_common is 0")
    expect_status(1, N.lib.lamina_vlsae_create_projected(ctypes.byref(p), 4, None, Pv.size, N.fptr(Pt), Pt.size,
                                                         ctypes.byref(h)), "p_vision", "NULL")
    bad = Pv.copy(); bad[2, 3] = np.nan
    expect_status(3, N.lib.lamina_vlsae_create_projected(ctypes.byref(p), 4, N.fptr(bad), bad.size, N.fptr(Pt), Pt.size,
                                                         ctypes.byref(h)), "p_vision", "row 2, column 3")
    p.k = 17
    expect_status(1, N.lib.lamina_vlsae_create_projected(ctypes.byref(p), 4, N.fptr(Pv), Pv.size, N.fptr(Pt), Pt.size,
                                                         ctypes.byref(h)), "k is 17")


@case
def unequal_widths_without_projections():
    ctypes, np, lamina, N, VA, VL = _mods()
    V, T = _data()
    expect(lambda: VL(10, 6, 16, k=4).fit(V, T, epochs=1), lamina.InvalidArgumentError, ValueError,
           "d_vision is 10 but d_text is 6", "projections")


@case
def projected_model_inputs():
    ctypes, np, lamina, N, VA, VL = _mods()
    V, T = _data()
    Pv = np.zeros((4, 10), np.float32); Pv[:, :4] = np.eye(4)     # sees only the first 4 columns
    Pt = np.ones((4, 6), np.float32)
    m = VL(n_latents=16, k=4, batch_size=32, projections=(Pv, Pt)).fit(V, T, epochs=1)
    expect(lambda: m.encode(T, "vision"), lamina.ShapeMismatchError, ValueError, "d_vision = 10")
    expect(lambda: m.project(V, "audio"), lamina.InvalidArgumentError, ValueError, "audio")
    V2 = V.copy(); V2[5, :4] = 0                                    # nonzero, but P_vision x = 0
    expect(lambda: m.encode(V2, "vision"), lamina.InvalidArgumentError, ValueError, "row 5", "vision projection")
    before = m.get_tensor("W_enc")
    expect(lambda: m.fit(V2, T, epochs=1, resume=True), lamina.InvalidArgumentError, ValueError, "vision row 5", "projection")
    assert np.array_equal(before, m.get_tensor("W_enc"))
    expect(lambda: m.concept_shift(V2, T), lamina.InvalidArgumentError, ValueError, "vision row 5")
    h = m._handle
    out = np.zeros((64, 4), np.float32)
    expect_status(2, N.lib.lamina_vlsae_project(h, 0, N.fptr(V), 64, 10, N.fptr(out), out.size - 1), "out_len", "d_common")
    expect_status(2, N.lib.lamina_vlsae_project(h, 1, N.fptr(V), 64, 10, N.fptr(out), out.size), "d_text = 6")
    expect_status(1, N.lib.lamina_vlsae_set_tensor(h, b"P_audio", N.fptr(Pv), Pv.size), "P_audio", "P_vision")
    expect_status(2, N.lib.lamina_vlsae_set_tensor(h, b"P_vision", N.fptr(Pv), Pv.size - 1), "P_vision")


@case
def alignment_parameters():
    ctypes, np, lamina, N, VA, VL = _mods()
    V, T = _data()
    expect(lambda: VA(4, temperature=0).fit(V, T), lamina.InvalidArgumentError, ValueError, "temperature")
    expect(lambda: VA(4, temperature=-1.0).fit(V, T), lamina.InvalidArgumentError, ValueError, "temperature")
    expect(lambda: VA(4, recon_weight=-0.5).fit(V, T), lamina.InvalidArgumentError, ValueError, "recon_weight")
    expect(lambda: VA(4, batch_size=1).fit(V, T), lamina.InvalidArgumentError, ValueError, "batch_size")
    expect(lambda: VA(0).fit(V, T), lamina.InvalidArgumentError, ValueError, "d_common")
    for kw, words in (({"temperature": 0.0}, ("temperature is 0.0",)), ({"temperature": float("nan")}, ("temperature",)),
                      ({"recon": -1.0}, ("recon_weight",)), ({"lr": 0.0}, ("lr",)), ({"batch": 1}, ("batch_size is 1",)),
                      ({"dc": 0}, ("d_common is 0",)), ({"dv": -3}, ("d_vision is -3",))):
        st, h = _align_handle(expect_ok=False, **kw)
        expect_status(1, st, *words)
    expect_status(1, N.lib.lamina_vlalign_create(4, 4, 4, 0.07, 0.1, 1e-3, 8, 0, None), "out")


@case
def alignment_data():
    ctypes, np, lamina, N, VA, VL = _mods()
    V, T = _data()
    expect(lambda: VA(4).fit(V, T[:50]), lamina.ShapeMismatchError, ValueError, "64", "50")
    expect(lambda: VA(4).fit(V[:1], T[:1]), lamina.InvalidArgumentError, ValueError, "n is 1")
    Vz = V.copy(); Vz[7] = 0
    expect(lambda: VA(4).fit(Vz, T), lamina.InvalidArgumentError, ValueError, "vision row 7", "norm 0")
    Tn = T.copy(); Tn[3, 2] = np.inf
    expect(lambda: VA(4).fit(V, Tn), lamina.NonFiniteError, ValueError, "row 3", "column 2")
    _, h = _align_handle()
    expect_status(2, N.lib.lamina_vlalign_train(h, V.ctypes.data_as(ctypes.c_void_p),
                                                T.ctypes.data_as(ctypes.c_void_p), 2, 64, 10, 7, 1, N.ProgressFn(), None),
                  "d = 7", "d_text = 6")
    expect_status(1, N.lib.lamina_vlalign_train(h, V.ctypes.data_as(ctypes.c_void_p), None, 2, 64, 10, 6, 1,
                                                N.ProgressFn(), None), "text", "NULL")
    expect_status(1, N.lib.lamina_vlalign_train(h, V.ctypes.data_as(ctypes.c_void_p), T.ctypes.data_as(ctypes.c_void_p),
                                                9, 64, 10, 6, 1, N.ProgressFn(), None), "dtype")
    expect_status(1, N.lib.lamina_vlalign_train(h, V.ctypes.data_as(ctypes.c_void_p), T.ctypes.data_as(ctypes.c_void_p),
                                                2, 64, 10, 6, 0, N.ProgressFn(), None), "epochs")
    terms = np.zeros(4)
    gv, gt = np.zeros((4, 10), np.float32), np.zeros((4, 6), np.float32)
    expect_status(2, N.lib.lamina_vlalign_loss_grad(h, N.fptr(V), N.fptr(T), 64, 10, 6, N.dptr(terms), N.fptr(gv), gv.size,
                                                    N.fptr(gt), gt.size + 1), "grad_text_len")
    expect_status(1, N.lib.lamina_vlalign_loss_grad(h, N.fptr(V), N.fptr(T), 64, 10, 6, N.dptr(terms), N.fptr(gv), gv.size,
                                                    None, 0), "both")
    expect_status(1, N.lib.lamina_vlalign_loss_grad(h, N.fptr(Vz), N.fptr(T), 64, 10, 6, N.dptr(terms), None, 0, None, 0),
                  "row 7")
    out = np.zeros((64, 4), np.float32)
    expect_status(1, N.lib.lamina_vlalign_transform(h, 5, N.fptr(V), 64, 10, N.fptr(out), out.size), "modality")
    expect_status(2, N.lib.lamina_vlalign_transform(h, 1, N.fptr(V), 64, 10, N.fptr(out), out.size), "d_text = 6")
    expect_status(1, N.lib.lamina_vlalign_get_tensor(h, b"W_enc", N.fptr(out), 40), "W_enc", "P_vision")
    expect_status(2, N.lib.lamina_vlalign_get_tensor(h, b"P_vision", N.fptr(out), 39), "out_len")
    nan = np.full((4, 10), np.nan, np.float32)
    before = np.zeros((4, 10), np.float32)
    N.call("lamina_vlalign_get_tensor", h, b"P_vision", N.fptr(before), 40)
    expect_status(3, N.lib.lamina_vlalign_set_tensor(h, b"P_vision", N.fptr(nan), 40), "values")
    after = np.zeros((4, 10), np.float32)
    N.call("lamina_vlalign_get_tensor", h, b"P_vision", N.fptr(after), 40)
    assert np.array_equal(before, after)
    N.lib.lamina_vlalign_free(h)
    expect_status(1, N.lib.lamina_vlalign_get_state(h, None, None), "vlalign")


@case
def alignment_cancel_keeps_the_last_step():
    _, np, lamina, N, VA, VL = _mods()
    V, T = _data(n=256)
    steps = []
    a = VA(4, batch_size=32, callback=lambda info: steps.append(info["step"]) or len(steps) == 3)
    expect(lambda: a.fit(V, T, epochs=2), lamina.CancelledError, Exception, "step 3")
    assert len(a.history_["loss"]) == 3 and steps == [1, 2, 3]


if __name__ == "__main__":
    worker_main(CASES)
    sys.exit(0)

test_vlalign_bad_input = crash_tests(__file__, CASES)
