"""The VL-SAE's input projections (d_vision != d_text) together with its training features: checkpoints
keep P_vision/P_text and d_common (a projected run resumes bit-identically), the HDF5 path checks rows the
projection maps to zero before the first step (as the in-memory path), a reducer projects each rank's rows,
and lamina_vlsae_create_projected keeps the AuxK parameters. (Two ranks: test_vlsae_training.py.)"""
from __future__ import annotations

import ctypes

import numpy as np
import pytest

import lamina
from lamina import _native as N
from lamina.sae import VLSparseAutoencoder, load_vlsae, load_vlsae_checkpoint

from test_vlsae_oracle import TENSORS
from test_vlsae_training import FakeReducer, _reduced_fit

DV, DT, DC = 10, 7, 6


def _pairs(seed=5, n=200):
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((n, 4))
    V = (Z @ rng.standard_normal((4, DV)) + 0.3 * rng.standard_normal((n, DV))).astype(np.float32)
    T = (Z @ rng.standard_normal((4, DT)) + 0.3 * rng.standard_normal((n, DT))).astype(np.float32)
    Pv = rng.standard_normal((DC, DV)).astype(np.float32)
    Pt = rng.standard_normal((DC, DT)).astype(np.float32)
    return V, T, Pv, Pt


def _params(**kw):
    p = dict(n_latents=40, k=3, batch_size=32, lr=5e-3, random_state=11, dead_tokens=40, auxk_alpha=0.1,
             decay="cosine", warmup_steps=2)
    p.update(kw)
    return p


def _steps(vl):
    steps = ctypes.c_int64()
    N.call("lamina_vlsae_get_state", vl._handle, ctypes.byref(steps), None)
    return steps.value


@pytest.mark.parametrize("stop_at", [4, 7, 13])
def test_projected_checkpoint_resume_is_bit_identical(tmp_path, stop_at):
    V, T, Pv, Pt = _pairs()
    epochs = 3                                          # 7 batches per epoch
    full = VLSparseAutoencoder(**_params(), projections=(Pv, Pt)).fit(V, T, epochs=epochs)
    assert full.get_tensor("W_enc").shape == (40, DC)
    assert np.any(full.history_["auxk"] > 0)            # AuxK takes part in the projected run
    part = VLSparseAutoencoder(**_params(), projections=(Pv, Pt), callback=lambda info: info["step"] >= stop_at)
    with pytest.raises(lamina.CancelledError):
        part.fit(V, T, epochs=epochs)
    path = tmp_path / "proj.ckpt"
    part.save_checkpoint(path)
    resumed = load_vlsae_checkpoint(path)
    # the projections and d_common come back from the checkpoint alone
    assert resumed._d_common() == DC
    assert np.array_equal(resumed.get_tensor("P_vision"), Pv) and np.array_equal(resumed.get_tensor("P_text"), Pt)
    assert np.array_equal(resumed.projections[0], Pv) and np.array_equal(resumed.projections[1], Pt)
    assert resumed.position_ == (epochs, stop_at // 7, stop_at % 7)
    resumed.fit(V, T, epochs=epochs, resume=True)
    for name in TENSORS + ("P_vision", "P_text"):
        assert np.array_equal(resumed.get_tensor(name), full.get_tensor(name)), name
    for key, v in full.history_.items():
        assert np.array_equal(resumed.history_[key], v), key
    # the resumed model encodes as the uninterrupted one (encoder on P_m x) and saves/loads with its projections
    assert np.array_equal(resumed.encode(T[:20], "text"), full.encode(T[:20], "text"))
    resumed.save(tmp_path / "model")
    again = load_vlsae(tmp_path / "model")
    assert np.array_equal(again.get_tensor("P_text"), Pt) and again._d_common() == DC


def _null_text_row(T, Pt, row):
    """Pt with a zero last column and T with row `row` = e_last (non-zero, but P_t x = 0)."""
    Pt = Pt.copy()
    Pt[:, DT - 1] = 0
    T = T.copy()
    T[row] = 0
    T[row, DT - 1] = 1.5
    return T, Pt


def test_hdf5_projected_training_checks_projected_zero_rows_and_equals_in_memory(tmp_path):
    h5py = pytest.importorskip("h5py")
    V, T, Pv, Pt = _pairs(n=150)
    Tz, Pz = _null_text_row(T, Pt, 61)
    f = tmp_path / "pairs.h5"
    with h5py.File(f, "w") as h:
        h["v"], h["t"], h["tz"] = V, T, Tz
    # in row order the streamed batches are the in-memory ones: bit-identical projected models
    mem = VLSparseAutoencoder(**_params(shuffle=False), projections=(Pv, Pt)).fit(V, T, epochs=2)
    h5 = VLSparseAutoencoder(**_params(shuffle=False), projections=(Pv, Pt)).fit(
        str(f), vision_dataset="v", text_dataset="t", epochs=2)
    for name in TENSORS:
        assert np.array_equal(mem.get_tensor(name), h5.get_tensor(name)), name
    # a text row that is not zero but that P_text maps to zero: refused before the first step on both paths
    msg = "text row 61 has norm 0 after the text projection"
    with pytest.raises(lamina.InvalidArgumentError, match=msg):
        VLSparseAutoencoder(**_params(), projections=(Pv, Pz)).fit(V, Tz, epochs=1)
    vl = VLSparseAutoencoder(**_params(), projections=(Pv, Pz))
    with pytest.raises(lamina.InvalidArgumentError, match=msg):
        vl.fit(str(f), vision_dataset="v", text_dataset="tz", epochs=1)
    assert _steps(vl) == 0 and vl.position_ == (0, 0, 0)     # nothing trained, no run started
    # the same file trains with projections that keep the row
    VLSparseAutoencoder(**_params(), projections=(Pv, Pt)).fit(str(f), vision_dataset="v", text_dataset="tz",
                                                                epochs=1)


def test_hdf5_projected_zero_row_in_a_later_chunk_is_named_by_its_file_row(tmp_path):
    h5py = pytest.importorskip("h5py")
    rng = np.random.default_rng(1)
    n = 1000
    V = rng.standard_normal((n, DV)).astype(np.float32)
    T = rng.standard_normal((n, DT)).astype(np.float32)
    Pv = rng.standard_normal((DC, DV)).astype(np.float32)
    Tz, Pz = _null_text_row(T, rng.standard_normal((DC, DT)).astype(np.float32), 987)
    f = tmp_path / "wide.h5"
    with h5py.File(f, "w") as h:
        h["v"], h["t"] = V, Tz
    with pytest.raises(lamina.InvalidArgumentError, match="text row 987 has norm 0 after the text projection"):
        VLSparseAutoencoder(**_params(), projections=(Pv, Pz)).fit(str(f), vision_dataset="v", text_dataset="t")


def test_one_rank_reducer_with_projections_equals_plain_training():
    V, T, Pv, Pt = _pairs(n=96)
    plain = VLSparseAutoencoder(**_params(shuffle=False), projections=(Pv, Pt)).fit(V, T, epochs=2)
    r = FakeReducer(1)
    red = _reduced_fit(VLSparseAutoencoder(**_params(shuffle=False), projections=(Pv, Pt)), V, T, r, 2)
    assert red._d_common() == DC and r.calls >= 2 * 2 * 3
    np.testing.assert_allclose(red.history_["loss"], plain.history_["loss"], rtol=1e-5)
    for name in TENSORS:
        np.testing.assert_allclose(red.get_tensor(name), plain.get_tensor(name), rtol=0, atol=2e-5, err_msg=name)
    assert np.array_equal(red.get_tensor("P_vision"), Pv)
    # the reducer path checks projected rows too (before any reduction of a gradient)
    Tz, Pz = _null_text_row(T, Pt, 40)
    vl = VLSparseAutoencoder(**_params(shuffle=False), projections=(Pv, Pz))
    with pytest.raises(lamina.InvalidArgumentError, match="text row 40 has norm 0 after the text projection"):
        _reduced_fit(vl, V, Tz, FakeReducer(1), 1)
    assert _steps(vl) == 0


def test_create_projected_keeps_the_auxk_parameters():
    _, _, Pv, Pt = _pairs(n=8)
    vl = VLSparseAutoencoder(**_params(auxk_alpha=0.25, k_aux=5), projections=(Pv, Pt)).initialize()
    p = vl._p()
    assert (p.d_vision, p.d_text) == (DV, DT)
    assert p.auxk_alpha == 0.25 and p.k_aux == 5
    assert vl.get_params()["auxk_alpha"] == 0.25
    off = VLSparseAutoencoder(**_params(auxk_alpha=0.0), projections=(Pv, Pt)).initialize()
    assert off._p().auxk_alpha == 0.0 and off._p().k_aux == 0
    with pytest.raises(lamina.InvalidArgumentError, match="k_aux is 41"):
        VLSparseAutoencoder(**_params(k_aux=41), projections=(Pv, Pt)).initialize()
    with pytest.raises(lamina.InvalidArgumentError, match="auxk_alpha"):
        VLSparseAutoencoder(**_params(auxk_alpha=-1.0), projections=(Pv, Pt)).initialize()
    # through the C call itself: every params field survives (the width check's d_text swap is undone)
    q = N.lib.lamina_vlsae_default_params()
    q.d_vision, q.d_text, q.n_latents, q.k = DV, DT, 40, 3
    q.auxk_alpha, q.k_aux, q.dead_tokens = 0.5, 7, 123
    h = N.Handle("lamina_vlsae_create_projected", "lamina_vlsae_free", ctypes.byref(q), DC, N.fptr(Pv), Pv.size,
                 N.fptr(Pt), Pt.size)
    got = N.VLSAEParams()
    N.call("lamina_vlsae_get_params", h, ctypes.byref(got))
    for name, _ in N.VLSAEParams._fields_:
        if name.startswith("adam_"):                    # Adam's constants are kept as float32
            assert np.float32(getattr(got, name)) == np.float32(getattr(q, name)), name
        else:
            assert getattr(got, name) == getattr(q, name), name
