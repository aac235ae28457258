"""VL-SAE against a float64 numpy reference of the model (the authors' torch code written out: forward,
loss, gradients, torch's Adam), planted shared concepts, determinism, files, the concept report, the
zero-shot scores and the concept shift against numpy."""
from __future__ import annotations

import pickle

import numpy as np
import pytest

import lamina
from lamina.sae import VLSparseAutoencoder, load_vlsae

TENSORS = ("W_enc", "W_dec_vision", "b_dec_vision", "W_dec_text", "b_dec_text")


# -- the float64 reference -----------------------------------------------------------------------------

def ref_forward(P, xv, xt, k, wv=1.0, wt=1.0):
    """Loss and everything the backward pass needs (float64)."""
    W = P["W_enc"]
    wn = np.maximum(np.linalg.norm(W, axis=1), 1e-12)
    wh = W / wn[:, None]
    out = {"wh": wh, "wn": wn}
    loss = 0.0
    for m, x, w in (("vision", xv, wv), ("text", xt, wt)):
        u = x / np.linalg.norm(x, axis=1, keepdims=True)
        s = u @ wh.T
        dist = np.sqrt(np.maximum(2 - 2 * s, 0))
        a = 2 - dist
        keep = np.zeros_like(a, dtype=bool)
        top = np.argsort(-a, axis=1, kind="stable")[:, :k]
        np.put_along_axis(keep, top, True, axis=1)
        keep &= a > 0
        z = np.where(keep, a, 0)
        xh = z @ P[f"W_dec_{m}"] + P[f"b_dec_{m}"]
        mse = np.mean((xh - x) ** 2)
        loss += w * mse
        out[m] = dict(u=u, dist=dist, keep=keep, z=z, xh=xh, x=x, w=w)
    return loss, out


def ref_grads(P, xv, xt, k):
    loss, f = ref_forward(P, xv, xt, k)
    g = {"W_enc": np.zeros_like(P["W_enc"])}
    gwh = np.zeros_like(P["W_enc"])
    for m in ("vision", "text"):
        o = f[m]
        B, d = o["x"].shape
        G = 2 * o["w"] * (o["xh"] - o["x"]) / (B * d)
        g[f"W_dec_{m}"] = o["z"].T @ G
        g[f"b_dec_{m}"] = G.sum(axis=0)
        dz = G @ P[f"W_dec_{m}"].T
        c = np.where(o["keep"] & (o["dist"] ** 2 > 1e-30), dz / np.where(o["dist"] > 0, o["dist"], 1), 0)
        gwh += c.T @ o["u"]             # d a / d w^ = u / dist (the w^ term vanishes in the projection)
    wh, wn = f["wh"], f["wn"]
    g["W_enc"] = (gwh - np.sum(gwh * wh, axis=1, keepdims=True) * wh) / wn[:, None]
    return loss, g


def ref_train(P, V, T, k, B, steps, lr, b1=0.9, b2=0.999, eps=1e-8):
    P = {n: v.astype(np.float64).copy() for n, v in P.items()}
    M = {n: np.zeros_like(v) for n, v in P.items()}
    S = {n: np.zeros_like(v) for n, v in P.items()}
    losses = []
    for t in range(1, steps + 1):
        lo = (t - 1) * B
        loss, g = ref_grads(P, V[lo:lo + B].astype(np.float64), T[lo:lo + B].astype(np.float64), k)
        losses.append(loss)
        for n in P:
            M[n] = b1 * M[n] + (1 - b1) * g[n]
            S[n] = b2 * S[n] + (1 - b2) * g[n] ** 2
            P[n] -= lr / (1 - b1 ** t) * M[n] / (np.sqrt(S[n]) / np.sqrt(1 - b2 ** t) + eps)
    return P, losses


def test_reference_gradient_matches_finite_differences():
    """The reference's analytic gradient (the backward this file checks Lamina against) is itself
    checked against central differences of its loss."""
    rng = np.random.default_rng(3)
    d, nl, k, B = 6, 10, 3, 8
    P = {"W_enc": rng.standard_normal((nl, d)), "W_dec_vision": rng.standard_normal((nl, d)) * 0.3,
         "b_dec_vision": rng.standard_normal(d) * 0.1, "W_dec_text": rng.standard_normal((nl, d)) * 0.3,
         "b_dec_text": rng.standard_normal(d) * 0.1}
    xv, xt = rng.standard_normal((B, d)), rng.standard_normal((B, d))
    _, g = ref_grads(P, xv, xt, k)
    for name in P:
        flat = P[name].reshape(-1)
        for i in rng.choice(flat.size, min(6, flat.size), replace=False):
            old = flat[i]
            flat[i] = old + 1e-6
            lp, _ = ref_forward(P, xv, xt, k)
            flat[i] = old - 1e-6
            lm, _ = ref_forward(P, xv, xt, k)
            flat[i] = old
            assert abs((lp - lm) / 2e-6 - g[name].reshape(-1)[i]) < 1e-6 * max(1, abs(g[name].reshape(-1)[i])), name


def test_training_steps_match_float64_reference():
    rng = np.random.default_rng(0)
    n, d, nl, k, B = 96, 12, 48, 6, 32
    V = rng.standard_normal((n, d)).astype(np.float32)
    T = (0.5 * V + rng.standard_normal((n, d))).astype(np.float32)
    vl = VLSparseAutoencoder(d, d, nl, k=k, batch_size=B, lr=1e-2, shuffle=False, random_state=7)
    vl.initialize()
    P0 = {name: vl.get_tensor(name) for name in TENSORS}
    vl.fit(V, T, epochs=1, resume=True)
    P, losses = ref_train(P0, V, T, k, B, steps=n // B, lr=1e-2)
    np.testing.assert_allclose(vl.history_["loss"], losses, rtol=1e-5)
    for name in TENSORS:
        got = vl.get_tensor(name).astype(np.float64)
        scale = np.abs(P[name]).max()
        np.testing.assert_allclose(got, P[name], rtol=1e-5, atol=1e-5 * scale, err_msg=name)
    # inference against the reference forward on the trained weights
    _, f = ref_forward({n_: vl.get_tensor(n_).astype(np.float64) for n_ in TENSORS}, V.astype(np.float64),
                       T.astype(np.float64), k)
    np.testing.assert_allclose(vl.encode(V, "vision"), f["vision"]["z"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(vl.encode(T, "text"), f["text"]["z"], rtol=1e-5, atol=1e-6)


def test_initialisation_matches_the_authors_distributions():
    vl = VLSparseAutoencoder(64, 64, 256, k=8, random_state=1).initialize()
    W, Wd, b = vl.get_tensor("W_enc"), vl.get_tensor("W_dec_text"), vl.get_tensor("b_dec_vision")
    assert np.abs(W).max() <= 1 / np.sqrt(64) and np.abs(W).max() > 0.95 / np.sqrt(64)
    assert np.abs(Wd).max() <= 1 / np.sqrt(256) and np.abs(b).max() <= 1 / np.sqrt(256)
    assert abs(W.std() - 1 / np.sqrt(64) / np.sqrt(3)) < 0.01 / np.sqrt(64)
    p = lamina._native.lib.lamina_vlsae_default_params()
    assert (p.n_latents, p.k, p.lr, p.batch_size) == (4096, 256, 1e-3, 512) and p.n_latents == 8 * p.d_vision
    assert VLSparseAutoencoder(16, 16)._params().k == 128   # k = 256 clamped to n_latents = 8 d = 128


# -- planted shared concepts -----------------------------------------------------------------------------

def planted(n=4000, d=32, C=8, seed=0, gap=0.5):
    """Pairs sharing C planted concepts in an aligned space (as CLIP's image and text embeddings are):
    the text concept c is the vision concept c plus a modality offset (gap); each pair mixes 2 concepts
    with the same positive weights in both modalities, plus noise."""
    rng = np.random.default_rng(seed)
    Dv = rng.standard_normal((C, d)); Dv /= np.linalg.norm(Dv, axis=1, keepdims=True)
    Dt = Dv + gap * rng.standard_normal((C, d)) / np.sqrt(d); Dt /= np.linalg.norm(Dt, axis=1, keepdims=True)
    S = np.zeros((n, C))
    for i in range(n):
        S[i, rng.choice(C, 2, replace=False)] = rng.uniform(0.5, 1.5, 2)
    V = S @ Dv + 0.02 * rng.standard_normal((n, d))
    T = S @ Dt + 0.02 * rng.standard_normal((n, d))
    return V.astype(np.float32), T.astype(np.float32), Dv, Dt


def test_planted_shared_concepts_are_recovered_in_both_decoders():
    V, T, Dv, Dt = planted()
    vl = VLSparseAutoencoder(32, 32, 32, k=2, batch_size=256, lr=1e-2, random_state=0).fit(V, T, epochs=20)
    def cos(A, D):
        A = A / np.linalg.norm(A, axis=1, keepdims=True)
        return D @ A.T                              # (C, n_latents)
    cv, ct = cos(vl.get_tensor("W_dec_vision"), Dv), cos(vl.get_tensor("W_dec_text"), Dt)
    best = np.minimum(cv, ct).max(axis=1)           # per concept: one latent matching it in both decoders
    assert np.all(best > 0.9), best
    rep = vl.concept_report(V[:1000], T[:1000], top=10)
    assert rep["agreement"] > rep["agreement_shuffled"] + 0.2, (rep["agreement"], rep["agreement_shuffled"])


# -- determinism, files --------------------------------------------------------------------------------

def _data(n=200, d=16, seed=1):
    rng = np.random.default_rng(seed)
    V = rng.standard_normal((n, d)).astype(np.float32)
    return V, (V + rng.standard_normal((n, d))).astype(np.float32)


def test_determinism_for_a_seed():
    V, T = _data()
    a = VLSparseAutoencoder(16, 16, 64, k=8, batch_size=64, random_state=5).fit(V, T, epochs=2)
    b = VLSparseAutoencoder(16, 16, 64, k=8, batch_size=64, random_state=5).fit(V, T, epochs=2)
    c = VLSparseAutoencoder(16, 16, 64, k=8, batch_size=64, random_state=6).fit(V, T, epochs=2)
    for name in TENSORS:
        assert np.array_equal(a.get_tensor(name), b.get_tensor(name)), name
    assert not np.array_equal(a.get_tensor("W_enc"), c.get_tensor("W_enc"))


def test_float16_input_trains_as_its_float32_values():
    V, T = _data()
    V16, T16 = V.astype(np.float16), T.astype(np.float16)
    a = VLSparseAutoencoder(16, 16, 64, k=8, batch_size=64).fit(V16, T16, epochs=1)
    b = VLSparseAutoencoder(16, 16, 64, k=8, batch_size=64).fit(V16.astype(np.float32), T16.astype(np.float32), epochs=1)
    for name in TENSORS:
        assert np.array_equal(a.get_tensor(name), b.get_tensor(name)), name


def test_bfloat16_input_trains_as_its_float32_values():
    """bfloat16 rows given as their uint16 bits train exactly as the float32 values they stand for."""
    V, T = _data()
    def bf16_bits(X):       # round to nearest even into the top 16 bits of float32
        u = np.ascontiguousarray(X, dtype=np.float32).view(np.uint32).astype(np.uint64)
        return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
    def widen(bits):
        return (bits.astype(np.uint32) << 16).view(np.float32)
    Vb, Tb = bf16_bits(V), bf16_bits(T)
    assert not np.array_equal(widen(Vb), V)                      # the rounding is real
    a = VLSparseAutoencoder(16, 16, 64, k=8, batch_size=64).fit(Vb, Tb, epochs=1)
    b = VLSparseAutoencoder(16, 16, 64, k=8, batch_size=64).fit(widen(Vb), widen(Tb), epochs=1)
    for name in TENSORS:
        assert np.array_equal(a.get_tensor(name), b.get_tensor(name)), name
    with pytest.raises(lamina.InvalidArgumentError, match="different dtypes"):
        VLSparseAutoencoder(16, 16, 64, k=8).fit(Vb, T.astype(np.float16))


def test_save_load_and_pickle_round_trip(tmp_path):
    V, T = _data()
    vl = VLSparseAutoencoder(16, 16, 64, k=8, batch_size=64, weight_text=0.5, decay="cosine").fit(V, T, epochs=1)
    vl.save(tmp_path / "m")
    import json
    cfg = json.loads((tmp_path / "m" / "cfg.json").read_text())
    assert cfg["architecture"] == "vl_topk" and cfg["d_sae"] == 64 and cfg["k"] == 8
    from safetensors.numpy import load_file
    w = load_file(str(tmp_path / "m" / "vlsae_weights.safetensors"))
    assert set(w) == set(TENSORS) and w["W_dec_text"].shape == (64, 16)
    for other in (load_vlsae(tmp_path / "m"), pickle.loads(pickle.dumps(vl))):
        for name in TENSORS:
            assert np.array_equal(other.get_tensor(name), vl.get_tensor(name)), name
        assert np.array_equal(other.encode(T, "text"), vl.encode(T, "text"))
        assert bytes(other._p()) == bytes(vl._p())


# -- inference, interpretation, enhancement against numpy ------------------------------------------------

@pytest.fixture(scope="module")
def fitted():
    V, T = _data(n=300, d=16, seed=2)
    return VLSparseAutoencoder(16, 16, 64, k=8, batch_size=64).fit(V, T, epochs=2), V, T


def test_sparse_encode_and_cross_modal_decode(fitted):
    vl, V, T = fitted
    z = vl.encode(V, "vision")
    idx, val = vl.encode(V, "vision", sparse=True)
    dense = np.zeros_like(z)
    np.put_along_axis(dense, idx.astype(np.int64), val, axis=1)
    assert np.array_equal(dense, z)
    assert np.all(np.diff(val, axis=1) <= 0)
    as_text = vl.decode(z, "text")
    ref = z.astype(np.float64) @ vl.get_tensor("W_dec_text") + vl.get_tensor("b_dec_text")
    np.testing.assert_allclose(as_text, ref, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(vl.decode((idx, val), "text"), as_text, rtol=1e-6, atol=1e-6)


def test_concept_report_against_numpy(fitted):
    vl, V, T = fitted
    rep = vl.concept_report(V, T, top=5, random_state=3)
    zv, zt = vl.encode(V, "vision"), vl.encode(T, "text")
    np.testing.assert_allclose(rep["frequency_vision"], (zv > 0).mean(axis=0))
    np.testing.assert_allclose(rep["frequency_text"], (zt > 0).mean(axis=0))
    Vn = V / np.linalg.norm(V.astype(np.float64), axis=1, keepdims=True)
    for j in range(64):
        col = zv[:, j]
        order = sorted(np.flatnonzero(col > 0), key=lambda r: (-col[r], r))[:5]
        got = rep["top_vision"][j]
        assert list(got[got >= 0]) == order
        np.testing.assert_allclose(rep["top_vision_activation"][j][:len(order)], col[order])
        if len(order) >= 2:
            G = Vn[order] @ Vn[order].T
            mean = (G.sum() - np.trace(G)) / (len(order) * (len(order) - 1))
            np.testing.assert_allclose(rep["consistency_vision"][j], mean - rep["random_pair_cosine_vision"], rtol=1e-9, atol=1e-12)
    jac = [len(set(np.flatnonzero(zv[i])) & set(np.flatnonzero(zt[i]))) /
           len(set(np.flatnonzero(zv[i])) | set(np.flatnonzero(zt[i]))) for i in range(len(V))]
    np.testing.assert_allclose(rep["agreement"], np.mean(jac))
    assert 0 <= rep["agreement_shuffled"] <= 1
    again = vl.concept_report(V, T, top=5, random_state=3)
    assert again["agreement_shuffled"] == rep["agreement_shuffled"]


def test_zero_shot_and_concept_shift_against_numpy(fitted):
    vl, V, T = fitted
    rng = np.random.default_rng(4)
    C = T[:6]
    labels = rng.integers(0, 6, 100)
    res = vl.zero_shot(V[:100], C, labels, mix=0.3)
    def cos(a, b):
        a = a / np.linalg.norm(a, axis=1, keepdims=True); b = b / np.linalg.norm(b, axis=1, keepdims=True)
        return a.astype(np.float64) @ b.astype(np.float64).T
    raw = cos(V[:100], C)
    con = cos(vl.encode(V[:100], "vision"), vl.encode(C, "text"))
    assert res["raw"] == np.mean(raw.argmax(1) == labels)
    assert res["concept"] == np.mean(con.argmax(1) == labels)
    assert res["mixed"] == np.mean((0.7 * raw + 0.3 * con).argmax(1) == labels)
    out = vl.concept_shift(V, T, alpha=0.8, beta=0.9)
    zp = 0.1 * vl.encode(T, "text").astype(np.float64) + 0.9 * vl.encode(V, "vision")
    tt = zp @ vl.get_tensor("W_dec_text") + vl.get_tensor("b_dec_text")
    np.testing.assert_allclose(out, T + 0.8 * (tt - T), rtol=1e-5, atol=1e-5)
