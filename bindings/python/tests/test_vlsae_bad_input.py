"""Bad input to the VL-SAE API through Python and directly through the C API (bypassing the Python
checks): pair counts that differ, d mismatching per modality, zero rows (named), NaN/Inf, k < 1 or
> n_latents, d_vision != d_text, unknown modality, another architecture's checkpoint given to the VL
loader, unknown cfg.json fields, bad sparse indices, stale handles. Each case runs in a worker
subprocess (this file with --worker), so a Swift trap fails one case instead of killing pytest."""
from __future__ import annotations

import sys

from isolated import case_registry, crash_tests, expect, expect_status, worker_main

CASES, case = case_registry()


def _mods():
    import ctypes

    import numpy as np

    import lamina
    from lamina import _native as N
    from lamina.sae import VLSparseAutoencoder, load_vlsae
    return ctypes, np, lamina, N, VLSparseAutoencoder, load_vlsae


def _data(n=64, d=8, seed=0):
    _, np, *_ = _mods()
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)).astype(np.float32), rng.standard_normal((n, d)).astype(np.float32)


def _model(**kw):
    *_, VL, _ = _mods()
    V, T = _data()
    return VL(8, 8, 16, k=4, batch_size=32, **kw).fit(V, T, epochs=1), V, T


def _handle():
    ctypes, np, lamina, N, *_ = _mods()
    p = N.lib.lamina_vlsae_default_params()
    p.d_vision = p.d_text = 8
    p.n_latents, p.k, p.batch_size = 16, 4, 32
    h = ctypes.c_void_p()
    assert N.lib.lamina_vlsae_create(ctypes.byref(p), ctypes.byref(h)) == 0
    return h


@case
def pair_counts_differ():
    _, np, lamina, N, VL, _ = _mods()
    V, T = _data()
    expect(lambda: VL(8, 8, 16, k=4).fit(V, T[:50]), lamina.ShapeMismatchError, ValueError, "64", "50", "paired")
    h = _handle()
    T9 = np.zeros((64, 9), np.float32)  # a buffer of the declared width: the width is refused before any value is read
    expect_status(2, N.lib.lamina_vlsae_concept_shift(h, N.fptr(V), N.fptr(T9), 64, 8, 9, 0.8, 0.9, N.fptr(np.zeros((64, 9), np.float32)), 64 * 9), "text", "d = 9")
    T9[0, 0] = np.nan  # the width error comes first even when the values are bad too
    expect_status(2, N.lib.lamina_vlsae_concept_shift(h, N.fptr(V), N.fptr(T9), 64, 8, 9, 0.8, 0.9, N.fptr(np.zeros((64, 9), np.float32)), 64 * 9), "text", "d = 9")


@case
def d_mismatch_per_modality():
    _, np, lamina, N, VL, _ = _mods()
    m, V, T = _model()
    expect(lambda: m.encode(V[:, :7], "vision"), lamina.ShapeMismatchError, ValueError, "7", "d_vision")
    expect(lambda: m.encode(V[:, :7], "text"), lamina.ShapeMismatchError, ValueError, "7", "d_text")
    h = _handle()
    V2 = np.ascontiguousarray(V[:, :6])
    expect_status(2, N.lib.lamina_vlsae_train(h, V2.ctypes.data, T.ctypes.data, 2, 64, 6, 8, 1, N.ProgressFn(), None), "vision", "d_vision = 8")
    expect_status(2, N.lib.lamina_vlsae_train(h, V.ctypes.data, V2.ctypes.data, 2, 64, 8, 6, 1, N.ProgressFn(), None), "text", "d_text = 8")
    z = np.zeros((3, 15), np.float32)
    expect_status(2, N.lib.lamina_vlsae_decode(h, 1, N.fptr(z), 3, 15, N.fptr(np.zeros((3, 8), np.float32)), 24), "n_latents = 16")


@case
def zero_row_is_named():
    _, np, lamina, N, VL, _ = _mods()
    V, T = _data()
    T[17] = 0
    m = VL(8, 8, 16, k=4, batch_size=32)
    expect(lambda: m.fit(V, T), lamina.InvalidArgumentError, ValueError, "text row 17", "norm 0")
    m2, V2, _ = _model()
    before = m2.get_tensor("W_enc")
    V2 = V2.copy(); V2[5] = 0
    expect(lambda: m2.encode(V2, "vision"), lamina.InvalidArgumentError, ValueError, "row 5", "norm 0")
    expect(lambda: m2.fit(V2, T, resume=True), lamina.InvalidArgumentError, ValueError, "vision row 5")
    assert np.array_equal(before, m2.get_tensor("W_enc")), "a refused fit changed the model"


@case
def non_finite_values():
    _, np, lamina, N, VL, _ = _mods()
    V, T = _data()
    V[3, 2] = np.nan
    expect(lambda: VL(8, 8, 16, k=4).fit(V, T), lamina.NonFiniteError, ValueError, "vision", "row 3", "column 2")
    V[3, 2] = 0; T[9, 1] = np.inf
    h = _handle()
    expect_status(3, N.lib.lamina_vlsae_train(h, V.ctypes.data, T.ctypes.data, 2, 64, 8, 8, 1, N.ProgressFn(), None), "text", "row 9")
    m, V0, T0 = _model()
    expect(lambda: m.encode(T, "text"), lamina.NonFiniteError, ValueError, "row 9")
    z = m.encode(V0, "vision"); z[0, 0] = np.nan
    expect(lambda: m.decode(z, "text"), lamina.NonFiniteError, ValueError, "z")
    bad = np.full(16 * 8, np.nan, np.float32)
    expect_status(3, N.lib.lamina_vlsae_set_tensor(m._handle, b"W_enc", N.fptr(bad), bad.size), "values")


@case
def k_out_of_range_and_unequal_widths():
    ctypes, np, lamina, N, VL, _ = _mods()
    expect(lambda: VL(8, 8, 16, k=0).initialize(), lamina.InvalidArgumentError, ValueError, "k is 0", "n_latents = 16")
    expect(lambda: VL(8, 8, 16, k=17).initialize(), lamina.InvalidArgumentError, ValueError, "k is 17")
    expect(lambda: VL(8, 6, 16, k=4).initialize(), lamina.InvalidArgumentError, ValueError, "d_vision is 8", "d_text is 6")
    p = N.lib.lamina_vlsae_default_params(); p.k = -3
    expect_status(1, N.lib.lamina_vlsae_check_params(ctypes.byref(p)), "params.k")
    p = N.lib.lamina_vlsae_default_params(); p.shuffle = 2
    expect_status(1, N.lib.lamina_vlsae_check_params(ctypes.byref(p)), "params.shuffle")
    p = N.lib.lamina_vlsae_default_params(); p.weight_vision = p.weight_text = 0
    expect_status(1, N.lib.lamina_vlsae_check_params(ctypes.byref(p)), "weight_vision")
    p = N.lib.lamina_vlsae_default_params(); p.decay = 9
    expect_status(1, N.lib.lamina_vlsae_check_params(ctypes.byref(p)), "params.decay")
    p = N.lib.lamina_vlsae_default_params(); p.lr = float("nan")
    expect_status(1, N.lib.lamina_vlsae_check_params(ctypes.byref(p)), "params.lr")
    expect_status(1, N.lib.lamina_vlsae_check_params(None), "params")


@case
def unknown_modality():
    _, np, lamina, N, VL, _ = _mods()
    m, V, T = _model()
    expect(lambda: m.encode(V, "audio"), lamina.InvalidArgumentError, ValueError, "modality='audio'", "text", "vision")
    expect(lambda: m.decode(m.encode(V), "image"), lamina.InvalidArgumentError, ValueError, "modality")
    out = np.zeros((64, 16), np.float32)
    expect_status(1, N.lib.lamina_vlsae_encode(m._handle, 2, N.fptr(V), 64, 8, N.fptr(out), out.size), "modality is 2")
    expect_status(1, N.lib.lamina_vlsae_decode(m._handle, -1, N.fptr(out), 64, 16, N.fptr(V.copy()), V.size), "modality is -1")


@case
def other_architecture_given_to_vl_loader():
    _, np, lamina, N, VL, load_vlsae = _mods()
    import json, os, tempfile
    from lamina.sae import SparseAutoencoder
    d = tempfile.mkdtemp()
    X = np.random.default_rng(0).standard_normal((256, 8)).astype(np.float32)
    SparseAutoencoder(8, 16, k=4, batch_size=64).fit(X).save(os.path.join(d, "topk"))
    expect(lambda: load_vlsae(os.path.join(d, "topk")), lamina.FormatError, Exception, "not a VL-SAE", "lamina.sae.load)")
    SparseAutoencoder(8, 16, k=4, batch_size=64).fit(X).save(os.path.join(d, "sp"), format="sparsify")
    expect(lambda: load_vlsae(os.path.join(d, "sp")), lamina.FormatError, Exception, "architecture", "not a VL-SAE",
           "lamina.sae.load)")
    m, V, T = _model()
    m.save(os.path.join(d, "vl"))
    cfg = os.path.join(d, "vl", "cfg.json")
    c = json.load(open(cfg)); c["tied_encoder"] = True; json.dump(c, open(cfg, "w"))
    expect(lambda: load_vlsae(os.path.join(d, "vl")), lamina.FormatError, Exception, "tied_encoder")
    c.pop("tied_encoder"); c["k"] = 99; json.dump(c, open(cfg, "w"))
    expect(lambda: load_vlsae(os.path.join(d, "vl")), lamina.FormatError, Exception, "k is 99")
    c["k"] = 4; c["d_sae"] = 32; json.dump(c, open(cfg, "w"))
    expect(lambda: load_vlsae(os.path.join(d, "vl")), lamina.FormatError, Exception, "W_enc", "shape")
    expect(lambda: load_vlsae(os.path.join(d, "missing")), lamina.LaminaIOError, OSError, "missing")
    # the regular SAE loader names the VL-SAE loader (by the weights file, or by cfg.json alone)
    c["d_sae"] = 16; json.dump(c, open(cfg, "w"))
    from lamina.sae import load
    expect(lambda: load(os.path.join(d, "vl")), lamina.FormatError, OSError, "is a VL-SAE directory", "lamina.sae.load_vlsae")
    os.remove(os.path.join(d, "vl", "vlsae_weights.safetensors"))
    expect(lambda: load(os.path.join(d, "vl")), lamina.FormatError, OSError, "is a VL-SAE directory", "lamina_vlsae_load")
    os.remove(cfg)
    expect(lambda: load(os.path.join(d, "vl")), lamina.LaminaIOError, OSError, "holds neither sae_weights.safetensors")


@case
def save_failure_keeps_the_old_files():
    _, np, lamina, N, VL, load_vlsae = _mods()
    import os, tempfile
    m, V, T = _model()
    d = tempfile.mkdtemp()
    m.save(os.path.join(d, "vl"))
    blocker = os.path.join(d, "file")
    open(blocker, "w").write("x")
    expect(lambda: m.save(os.path.join(blocker, "sub")), lamina.LaminaIOError, OSError)
    assert np.array_equal(load_vlsae(os.path.join(d, "vl")).get_tensor("W_enc"), m.get_tensor("W_enc"))


@case
def sparse_codes_and_tensors():
    ctypes, np, lamina, N, VL, _ = _mods()
    m, V, T = _model()
    idx, val = m.encode(V, "vision", sparse=True)
    idx[4, 1] = 16
    expect(lambda: m.decode((idx, val), "text"), lamina.InvalidArgumentError, ValueError, "row 4", "n_latents = 16")
    idx[4, 1] = -2
    expect(lambda: m.decode((idx, val), "text"), lamina.InvalidArgumentError, ValueError, "-2")
    expect_status(1, N.lib.lamina_vlsae_encode_sparse(m._handle, 0, N.fptr(V), 64, 8, 0, N.iptr(idx), N.fptr(val)), "width is 0")
    out = np.zeros(5, np.float32)
    expect_status(1, N.lib.lamina_vlsae_get_tensor(m._handle, b"W_skip", N.fptr(out), 5), "W_skip", "W_enc")
    expect_status(2, N.lib.lamina_vlsae_get_tensor(m._handle, b"b_dec_text", N.fptr(out), 5), "out_len")
    expect_status(1, N.lib.lamina_vlsae_get_tensor(m._handle, None, N.fptr(out), 5), "name")


@case
def bad_shift_arguments_and_epochs():
    _, np, lamina, N, VL, _ = _mods()
    m, V, T = _model()
    expect(lambda: m.concept_shift(V, T, beta=1.5), lamina.InvalidArgumentError, ValueError, "beta is 1.5")
    expect(lambda: m.concept_shift(V, T, alpha=float("inf")), lamina.InvalidArgumentError, ValueError, "alpha")
    expect(lambda: m.fit(V, T, epochs=0), lamina.InvalidArgumentError, ValueError, "epochs")
    expect_status(1, N.lib.lamina_vlsae_train(m._handle, V.ctypes.data, T.ctypes.data, 2, 64, 8, 8, 0, N.ProgressFn(), None), "epochs is 0")
    expect_status(1, N.lib.lamina_vlsae_train(m._handle, V.ctypes.data, T.ctypes.data, 7, 64, 8, 8, 1, N.ProgressFn(), None), "dtype is 7")
    expect_status(1, N.lib.lamina_vlsae_train(m._handle, None, T.ctypes.data, 2, 64, 8, 8, 1, N.ProgressFn(), None), "vision is NULL")
    expect(lambda: m.zero_shot(V, T[:3], np.array([0, 5] * 32)), lamina.InvalidArgumentError, ValueError, "labels")


@case
def stale_and_null_handles():
    ctypes, np, lamina, N, VL, _ = _mods()
    h = _handle()
    N.lib.lamina_vlsae_free(h)
    N.lib.lamina_vlsae_free(h)        # double free: a no-op
    N.lib.lamina_vlsae_free(None)
    V, _ = _data()
    out = np.zeros((64, 16), np.float32)
    expect_status(1, N.lib.lamina_vlsae_encode(h, 0, N.fptr(V), 64, 8, N.fptr(out), out.size), "vlsae")
    expect_status(1, N.lib.lamina_vlsae_save(None, b"/tmp/x"), "vlsae")
    expect_status(1, N.lib.lamina_vlsae_create(None, None), "NULL")


@case
def cancel_keeps_the_last_step():
    _, np, lamina, N, VL, _ = _mods()
    V, T = _data(n=256)
    steps = []
    m = VL(8, 8, 16, k=4, batch_size=32, callback=lambda info: steps.append(info["step"]) or len(steps) == 3)
    expect(lambda: m.fit(V, T, epochs=2), lamina.CancelledError, Exception, "step 3")
    assert len(m.history_["loss"]) == 3 and steps == [1, 2, 3]


@case
def files_checkpoints_and_reducer_arguments():
    import os
    import tempfile
    ctypes, np, lamina, N, VL, _ = _mods()
    m, V, T = _model()
    tmp = tempfile.mkdtemp()
    out = ctypes.c_void_p()
    expect_status(1, N.lib.lamina_vlsae_train_h5(m._handle, None, b"v", b"t", 1, N.ProgressFn(), None), "path")
    expect_status(1, N.lib.lamina_vlsae_train_h5(m._handle, b"/x.h5", None, b"t", 1, N.ProgressFn(), None), "vision_dataset")
    expect_status(1, N.lib.lamina_vlsae_train_h5(m._handle, b"/x.h5", b"v", b"t", 0, N.ProgressFn(), None), "epochs is 0")
    expect_status(4, N.lib.lamina_vlsae_train_h5(m._handle, os.path.join(tmp, "none.h5").encode(), b"v", b"t", 1,
                                                 N.ProgressFn(), None), "none.h5")
    garbage = os.path.join(tmp, "garbage.h5")
    with open(garbage, "wb") as f:
        f.write(b"not hdf5 at all" * 10)
    expect_status(5, N.lib.lamina_vlsae_train_h5(m._handle, garbage.encode(), b"v", b"t", 1, N.ProgressFn(), None))
    expect_status(5, N.lib.lamina_vlsae_load_checkpoint(garbage.encode(), ctypes.byref(out)))
    assert out.value is None
    expect_status(1, N.lib.lamina_vlsae_load_checkpoint(None, ctypes.byref(out)), "path")
    expect_status(1, N.lib.lamina_vlsae_load_checkpoint(garbage.encode(), None), "out")
    expect_status(1, N.lib.lamina_vlsae_save_checkpoint(m._handle, None), "path")
    expect_status(1, N.lib.lamina_vlsae_save_checkpoint(None, b"/tmp/x"), "vlsae")
    ckpt = os.path.join(tmp, "c")
    m.save_checkpoint(ckpt)
    data = open(ckpt, "rb").read()
    for cut in (8, 100, len(data) // 2, len(data) - 1):
        with open(ckpt + ".cut", "wb") as f:
            f.write(data[:cut])
        expect(lambda: lamina.sae.load_vlsae_checkpoint(ckpt + ".cut"), lamina.FormatError, Exception)
    # a cfg directory (lamina_vlsae_save) is not a checkpoint
    m.save(os.path.join(tmp, "dir"))
    expect(lambda: lamina.sae.load_vlsae_checkpoint(os.path.join(tmp, "dir")), lamina.LaminaError, Exception)
    expect_status(1, N.lib.lamina_vlsae_set_reducer(m._handle, N.ReduceFn(), None, 0, 2), "fn is NULL")
    fn = N.ReduceFn(lambda buf, count, dtype, user: 0)
    expect_status(1, N.lib.lamina_vlsae_set_reducer(m._handle, fn, None, -1, 2), "rank is -1")
    expect_status(1, N.lib.lamina_vlsae_set_reducer(m._handle, fn, None, 0, 0), "world_size is 0")
    expect_status(1, N.lib.lamina_vlsae_set_reducer(None, fn, None, 0, 1), "vlsae")
    for bad in (dict(k_aux=17), dict(auxk_alpha=-1.0), dict(auxk_alpha=float("nan"))):
        expect(lambda: VL(8, 8, 16, k=4, **bad).fit(V, T), lamina.InvalidArgumentError, ValueError, next(iter(bad)))


@case
def projected_checkpoints_files_and_auxk_params():
    import os
    import tempfile
    ctypes, np, lamina, N, VL, _ = _mods()
    rng = np.random.default_rng(2)
    V, T = rng.standard_normal((64, 8)).astype(np.float32), rng.standard_normal((64, 5)).astype(np.float32)
    Pv, Pt = rng.standard_normal((4, 8)).astype(np.float32), rng.standard_normal((4, 5)).astype(np.float32)
    m = VL(n_latents=16, k=4, batch_size=32, projections=(Pv, Pt)).fit(V, T, epochs=1)
    tmp = tempfile.mkdtemp()
    ckpt = os.path.join(tmp, "c")
    m.save_checkpoint(ckpt)
    data = open(ckpt, "rb").read()
    for cut in (8, 100, len(data) // 2, len(data) - 1):      # truncated projected checkpoints
        with open(ckpt + ".cut", "wb") as f:
            f.write(data[:cut])
        expect(lambda: lamina.sae.load_vlsae_checkpoint(ckpt + ".cut"), lamina.FormatError, Exception)
    # P_text's bytes set to NaN in place: refused naming it, no handle
    from safetensors import safe_open
    with safe_open(ckpt, framework="numpy") as f:
        meta, tensors = f.metadata(), {k: f.get_tensor(k) for k in f.keys()}
    from safetensors.numpy import save_file
    tensors["P_text"] = np.full_like(tensors["P_text"], np.nan)
    save_file(tensors, ckpt + ".nan", metadata=meta)
    expect(lambda: lamina.sae.load_vlsae_checkpoint(ckpt + ".nan"), lamina.FormatError, Exception, "P_text")
    del tensors["P_vision"]                                  # a projected checkpoint without P_vision
    tensors["P_text"] = Pt
    save_file(tensors, ckpt + ".missing", metadata=meta)
    expect(lambda: lamina.sae.load_vlsae_checkpoint(ckpt + ".missing"), lamina.FormatError, Exception, "P_vision")
    # bad AuxK fields through lamina_vlsae_create_projected (with unequal widths)
    for bad in (dict(k_aux=17), dict(auxk_alpha=-1.0), dict(auxk_alpha=float("nan"))):
        expect(lambda: VL(n_latents=16, k=4, projections=(Pv, Pt), **bad).fit(V, T), lamina.InvalidArgumentError,
               ValueError, next(iter(bad)))
    # a file whose text rows the projection maps to zero: refused before the first step
    Pz = Pt.copy()
    Pz[:, 4] = 0
    Tz = T.copy()
    Tz[9] = 0
    Tz[9, 4] = 2.0
    import h5py
    f5 = os.path.join(tmp, "p.h5")
    with h5py.File(f5, "w") as h:
        h["v"], h["t"] = V, Tz
    z = VL(n_latents=16, k=4, batch_size=32, projections=(Pv, Pz))
    expect(lambda: z.fit(f5, vision_dataset="v", text_dataset="t"), lamina.InvalidArgumentError, ValueError,
           "text row 9 has norm 0 after the text projection")
    assert len(z.history_["loss"]) == 0


if __name__ == "__main__":
    worker_main(CASES)
    sys.exit(0)

test_vlsae_bad_input = crash_tests(__file__, CASES)
