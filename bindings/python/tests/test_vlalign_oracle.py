"""The VL-SAE's input projections and InfoNCE alignment stage: the native loss and gradient against a
float64 numpy reference (itself checked by finite differences), a few Adam steps against the
reference's, retrieval on misaligned pairs from chance to near 1, the full pipeline (align -> VL-SAE)
recovering planted concepts with d_vision != d_text, and projected models through encode/decode/
concept_report/zero_shot/concept_shift/save/load/pickle."""
from __future__ import annotations

import json
import os
import pickle

import numpy as np
import pytest

import reference_vlalign as R
from lamina import _native as N
from lamina.errors import FormatError, InvalidArgumentError
from lamina.sae import VLAlignment, VLSparseAutoencoder, load_vlsae


def _orth(r, d, rng):
    q, _ = np.linalg.qr(rng.standard_normal((d, r)))
    return q.T                                    # r x d, orthonormal rows


def rotated_pairs(n=512, r=8, dv=24, dt=16, seed=0, noise=0.01, gaussian=False):
    """Pairs of one latent s (n x r) seen through two different maps into different widths: random
    rotations (orthonormal embeddings) or, with gaussian=True, arbitrary Gaussian maps."""
    rng = np.random.default_rng(seed)
    s = rng.standard_normal((n, r))
    Av = rng.standard_normal((r, dv)) if gaussian else _orth(r, dv, rng)
    At = rng.standard_normal((r, dt)) if gaussian else _orth(r, dt, rng)
    V = s @ Av + noise * rng.standard_normal((n, dv))
    T = s @ At + noise * rng.standard_normal((n, dt))
    return V.astype(np.float32), T.astype(np.float32)


# -- the reference, checked by finite differences ---------------------------------------------------

def test_reference_gradient_matches_finite_differences():
    rng = np.random.default_rng(3)
    V, T = rng.standard_normal((10, 7)), rng.standard_normal((10, 5))
    Pv, Pt = rng.standard_normal((4, 7)) / 3, rng.standard_normal((4, 5)) / 3
    for tau, lam in ((0.07, 0.1), (0.5, 1.0), (1.0, 0.0)):
        gv, gt = R.grad(Pv, Pt, V, T, tau, lam)
        for P, g, which in ((Pv, gv, 0), (Pt, gt, 1)):
            fd = np.zeros_like(P)
            for idx in np.ndindex(P.shape):
                h = 1e-6
                Pp, Pm = P.copy(), P.copy()
                Pp[idx] += h
                Pm[idx] -= h
                args_p = (Pp, Pt) if which == 0 else (Pv, Pp)
                args_m = (Pm, Pt) if which == 0 else (Pv, Pm)
                fd[idx] = (R.loss(*args_p, V, T, tau, lam)[0] - R.loss(*args_m, V, T, tau, lam)[0]) / (2 * h)
            np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-7 * np.abs(fd).max())


# -- native against the reference --------------------------------------------------------------------

@pytest.mark.parametrize("tau,lam,n", [(0.07, 0.1, 48), (0.3, 1.0, 17), (1.0, 0.0, 2)])
def test_loss_and_gradient_match_the_float64_reference(tau, lam, n):
    rng = np.random.default_rng(int(tau * 100) + n)
    V = (rng.standard_normal((n, 12)) * 3).astype(np.float32)
    T = rng.standard_normal((n, 9)).astype(np.float32)
    a = VLAlignment(6, temperature=tau, recon_weight=lam, random_state=5).initialize(12, 9)
    terms, gv, gt = a.loss_grad(V, T)
    Pv, Pt = (p.astype(np.float64) for p in a.projections_)
    ref = R.loss(Pv, Pt, V.astype(np.float64), T.astype(np.float64), tau, lam)
    np.testing.assert_allclose([terms["loss"], terms["infonce"], terms["recon_vision"], terms["recon_text"]], ref, rtol=1e-5)
    rv, rt = R.grad(Pv, Pt, V.astype(np.float64), T.astype(np.float64), tau, lam)
    for g, r in ((gv, rv), (gt, rt)):
        np.testing.assert_allclose(g, r, rtol=1e-5, atol=1e-5 * np.abs(r).max())


def test_adam_steps_match_the_reference():
    """batch_size >= n: one full batch per epoch (the loss does not depend on the pair order), so three
    epochs are three Adam steps of the reference."""
    rng = np.random.default_rng(11)
    V = rng.standard_normal((40, 10)).astype(np.float32)
    T = rng.standard_normal((40, 8)).astype(np.float32)
    a = VLAlignment(5, lr=1e-2, batch_size=64, random_state=2).initialize(10, 8)
    P0 = [p.astype(np.float64) for p in a.projections_]
    a.fit(V, T, epochs=3, resume=True)
    ref = R.adam_steps(P0[0], P0[1], [(V.astype(np.float64), T.astype(np.float64))] * 3, 0.07, 0.1, 1e-2)
    for got, want in zip(a.projections_, ref):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    h = a.history_
    assert h["loss"].shape == (3,) and h["loss"][2] < h["loss"][0]


def test_transform_is_the_projection():
    V, T = rotated_pairs(n=50)
    a = VLAlignment(8, random_state=1).fit(V, T, epochs=1)
    np.testing.assert_allclose(a.transform(V, "vision"), V @ a.projection_vision_.T, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(a.transform(T, "text"), T @ a.projection_text_.T, rtol=1e-5, atol=1e-6)


def test_training_is_deterministic():
    V, T = rotated_pairs(n=300)
    a = VLAlignment(8, batch_size=64, random_state=4).fit(V, T, epochs=2)
    b = VLAlignment(8, batch_size=64, random_state=4).fit(V, T, epochs=2)
    c = VLAlignment(8, batch_size=64, random_state=5).fit(V, T, epochs=2)
    assert np.array_equal(a.projection_vision_, b.projection_vision_)
    assert np.array_equal(a.projection_text_, b.projection_text_)
    assert not np.array_equal(a.projection_vision_, c.projection_vision_)


# -- retrieval ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("gaussian", [False, True])
def test_retrieval_improves_from_chance_to_near_one(gaussian):
    V, T = rotated_pairs(gaussian=gaussian)
    a = VLAlignment(8, batch_size=128, lr=1e-2, random_state=0).initialize(24, 16)
    before = a.retrieval_accuracy(V, T)
    a.fit(V, T, epochs=40)
    after = a.retrieval_accuracy(V, T)
    assert before < 0.02, before                    # chance is 1/512
    assert after > 0.97, after
    h = a.history_
    assert h["infonce"][-1] < 0.2 * h["infonce"][0]


# -- the full pipeline -------------------------------------------------------------------------------

def planted_unaligned(n=4000, r=16, C=8, dv=40, dt=24, seed=0, gap=0.5):
    """The VL-SAE oracle's planted concepts (an aligned r-dim space, 2 concepts per pair), then each
    modality rotated into its own width: the raw concept directions are Dv Qv and Dt Qt."""
    rng = np.random.default_rng(seed)
    Dv = rng.standard_normal((C, r)); Dv /= np.linalg.norm(Dv, axis=1, keepdims=True)
    Dt = Dv + gap * rng.standard_normal((C, r)) / np.sqrt(r); Dt /= np.linalg.norm(Dt, axis=1, keepdims=True)
    S = np.zeros((n, C))
    for i in range(n):
        S[i, rng.choice(C, 2, replace=False)] = rng.uniform(0.5, 1.5, 2)
    Qv, Qt = _orth(r, dv, rng), _orth(r, dt, rng)
    V = (S @ Dv + 0.02 * rng.standard_normal((n, r))) @ Qv
    T = (S @ Dt + 0.02 * rng.standard_normal((n, r))) @ Qt
    return V.astype(np.float32), T.astype(np.float32), Dv @ Qv, Dt @ Qt


def test_pipeline_recovers_planted_concepts_with_unequal_widths():
    V, T, Dv, Dt = planted_unaligned()
    align = VLAlignment(16, batch_size=256, lr=1e-2, random_state=0).fit(V, T, epochs=20)
    vl = VLSparseAutoencoder(n_latents=32, k=2, batch_size=256, lr=1e-2, random_state=0,
                             projections=align).fit(V, T, epochs=20)
    assert vl.get_tensor("W_enc").shape == (32, 16)

    def cos(A, D):
        A = A / np.linalg.norm(A, axis=1, keepdims=True)
        D = D / np.linalg.norm(D, axis=1, keepdims=True)
        return D @ A.T
    cv, ct = cos(vl.get_tensor("W_dec_vision"), Dv), cos(vl.get_tensor("W_dec_text"), Dt)
    best = np.minimum(cv, ct).max(axis=1)
    assert np.all(best > 0.9), best
    rep = vl.concept_report(V[:1000], T[:1000], top=10)
    assert rep["agreement"] > rep["agreement_shuffled"] + 0.2, (rep["agreement"], rep["agreement_shuffled"])


# -- projected models: inference against numpy, files ------------------------------------------------

def _ref_encode(vl, X, P, k):
    W = vl.get_tensor("W_enc").astype(np.float64)
    wh = W / np.linalg.norm(W, axis=1, keepdims=True)
    y = X.astype(np.float64) @ P.astype(np.float64).T
    u = y / np.linalg.norm(y, axis=1, keepdims=True)
    a = 2 - np.sqrt(np.maximum(2 - 2 * u @ wh.T, 0))
    z = np.zeros_like(a)
    idx = np.argsort(-a, axis=1, kind="stable")[:, :k]
    np.put_along_axis(z, idx, np.take_along_axis(a, idx, axis=1), axis=1)
    return z


@pytest.fixture(scope="module")
def projected():
    rng = np.random.default_rng(8)
    V = rng.standard_normal((300, 20)).astype(np.float32)
    T = rng.standard_normal((300, 12)).astype(np.float32)
    Pv = rng.standard_normal((6, 20)).astype(np.float32)
    Pt = rng.standard_normal((6, 12)).astype(np.float32)
    vl = VLSparseAutoencoder(n_latents=24, k=4, batch_size=64, projections=(Pv, Pt), random_state=3).fit(V, T, epochs=2)
    return vl, V, T, Pv, Pt


def test_projected_encode_decode_against_numpy(projected):
    vl, V, T, Pv, Pt = projected
    for X, P, m in ((V, Pv, "vision"), (T, Pt, "text")):
        np.testing.assert_allclose(vl.encode(X, m), _ref_encode(vl, X, P, 4), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(vl.project(X, m), X @ P.T, rtol=1e-5, atol=1e-5)
    z = vl.encode(V[:10], "vision")
    want = z @ vl.get_tensor("W_dec_text") + vl.get_tensor("b_dec_text")
    np.testing.assert_allclose(vl.decode(z, "text"), want, rtol=1e-5, atol=1e-5)
    assert vl.decode(vl.encode(V[:5], "vision", sparse=True), "vision").shape == (5, 20)
    # the projections are fixed during training
    np.testing.assert_array_equal(vl.get_tensor("P_vision"), Pv)
    np.testing.assert_array_equal(vl.get_tensor("P_text"), Pt)


def test_projected_enhancement_and_report(projected):
    vl, V, T, Pv, Pt = projected
    out = vl.concept_shift(V[:20], T[:20])
    zp = 0.1 * vl.encode(T[:20], "text") + 0.9 * vl.encode(V[:20], "vision")
    tt = vl.decode(zp, "text")
    np.testing.assert_allclose(out, T[:20] + 0.8 * (tt - T[:20]), rtol=1e-4, atol=1e-4)
    labels = np.arange(20) % 4
    res = vl.zero_shot(V[:20], T[:4], labels)
    def unit(a):
        return a / np.linalg.norm(a, axis=1, keepdims=True)
    raw = unit(V[:20].astype(np.float64) @ Pv.T) @ unit(T[:4].astype(np.float64) @ Pt.T).T
    np.testing.assert_array_equal(res["raw_pred"], raw.argmax(axis=1))
    rep = vl.concept_report(V, T, top=5)
    assert rep["top_vision"].shape == (24, 5)


def test_projected_save_load_pickle(projected, tmp_path):
    vl, V, T, Pv, Pt = projected
    vl.save(tmp_path / "m")
    cfg = json.loads((tmp_path / "m" / "cfg.json").read_text())
    assert cfg["d_common"] == 6 and cfg["d_vision"] == 20 and cfg["d_text"] == 12
    back = load_vlsae(tmp_path / "m")
    np.testing.assert_array_equal(back.encode(T, "text"), vl.encode(T, "text"))
    np.testing.assert_array_equal(back.get_tensor("P_text"), Pt)
    again = pickle.loads(pickle.dumps(vl))
    np.testing.assert_array_equal(again.encode(V, "vision"), vl.encode(V, "vision"))
    # a cfg.json without d_common cannot take the weights file's projection tensors
    del cfg["d_common"]
    (tmp_path / "m" / "cfg.json").write_text(json.dumps(cfg))
    with pytest.raises(FormatError):
        load_vlsae(tmp_path / "m")


def test_unprojected_files_still_load_and_refuse_projection_names(tmp_path):
    rng = np.random.default_rng(0)
    V = rng.standard_normal((64, 8)).astype(np.float32)
    vl = VLSparseAutoencoder(8, 8, 16, k=2, batch_size=32).fit(V, V + 0.1, epochs=1)
    vl.save(tmp_path / "m")
    assert "d_common" not in json.loads((tmp_path / "m" / "cfg.json").read_text())
    back = load_vlsae(tmp_path / "m")
    np.testing.assert_array_equal(back.encode(V), vl.encode(V))
    with pytest.raises(InvalidArgumentError, match="P_vision"):
        back.get_tensor("P_vision")
    with pytest.raises(InvalidArgumentError, match="no input projections"):
        N.call("lamina_vlsae_get_tensor", back._handle, b"P_vision", None, 0)


def test_projected_training_takes_float16_and_refuses_bad_d_common(projected, tmp_path):
    vl, V, T, Pv, Pt = projected
    V16, T16 = V.astype(np.float16), T.astype(np.float16)
    a = VLSparseAutoencoder(n_latents=24, k=4, batch_size=64, projections=(Pv, Pt), random_state=3).fit(V16, T16, epochs=1)
    b = VLSparseAutoencoder(n_latents=24, k=4, batch_size=64, projections=(Pv, Pt), random_state=3).fit(
        V16.astype(np.float32), T16.astype(np.float32), epochs=1)
    np.testing.assert_array_equal(a.get_tensor("W_enc"), b.get_tensor("W_enc"))
    al = VLAlignment(6, random_state=1).fit(V16, T16, epochs=1)
    bl = VLAlignment(6, random_state=1).fit(V16.astype(np.float32), T16.astype(np.float32), epochs=1)
    np.testing.assert_array_equal(al.projection_text_, bl.projection_text_)
    vl.save(tmp_path / "m")
    cfg = json.loads((tmp_path / "m" / "cfg.json").read_text())
    for value, words in ((0, "d_common"), (-2, "d_common"), ("6", "d_common")):
        cfg["d_common"] = value
        (tmp_path / "m" / "cfg.json").write_text(json.dumps(cfg))
        with pytest.raises(FormatError, match=words):
            load_vlsae(tmp_path / "m")
    cfg["d_common"] = 5                                 # disagrees with the tensors' shapes
    (tmp_path / "m" / "cfg.json").write_text(json.dumps(cfg))
    with pytest.raises(FormatError, match="P_vision|W_enc"):
        load_vlsae(tmp_path / "m")
