"""Matryoshka BatchTopK (Bussmann et al. 2025): Lamina's training steps against a float64 numpy
reimplementation (BatchTopK codes over the whole dictionary, the weighted FVU of every prefix decoder
W_dec[:m_g], AuxK on the full decoder's residual, every gradient, torch.optim.Adam's update, decoder
renormalisation, the running threshold), evaluate()'s prefix_fvu against numpy on random and real
data, and the SAELens-layout file round trip."""
from __future__ import annotations

import json

import numpy as np
import pytest

from lamina.sae import SparseAutoencoder, load
from test_sae_oracle import F32_EPS, Adam, _data, _topk_mask


def reference_matryoshka(X, sae, steps, *, dead_tokens=10_000_000):
    """`steps` full-batch steps in float64 from the SAE's initial weights; returns params and losses."""
    X = X.astype(np.float64)
    n, d = X.shape
    nl, k = sae.n_latents, sae.k
    widths = list(sae.group_widths)
    weights = list(sae.group_weights) if sae.group_weights is not None else [1.0] * len(widths)
    p = {"W_enc": sae.W_enc_.astype(np.float64), "b_enc": sae.b_enc_.astype(np.float64),
         "W_dec": sae.W_dec_.astype(np.float64), "b_dec": X.mean(0)}
    adam = Adam({key: v.shape for key, v in p.items()}, sae.lr, sae.adam_betas[0], sae.adam_betas[1], sae.adam_eps)
    since = np.zeros(nl)
    theta = 0.0
    losses, prefix = [], []
    cols = np.arange(nl)
    for _ in range(steps):
        We, be, Wd, bd = p["W_enc"], p["b_enc"], p["W_dec"], p["b_dec"]
        xc = X - bd
        relu = np.maximum(xc @ We + be, 0)
        flat = relu.ravel()
        order = np.argsort(-flat, kind="stable")[: k * n]          # batch top-k over the whole dictionary
        mask = np.zeros(flat.shape, bool)
        mask[order] = True
        mask = mask.reshape(relu.shape) & (relu > 0)
        z = relu * mask
        V = ((X - X.mean(0)) ** 2).sum()
        loss, gWd, dz, Gsum, fvus = 0.0, np.zeros_like(Wd), np.zeros_like(z), np.zeros_like(X), []
        for m, w in zip(widths, weights):
            inside = cols < m
            xhat = z[:, :m] @ Wd[:m] + bd
            e = xhat - X
            fvus.append((e ** 2).sum() / V)
            loss += w * fvus[-1]
            P = 2 * w * e / V
            Gsum += P
            dz += (P @ Wd.T) * inside
            gWd += (z * inside).T @ P
        res = X - xhat                                             # the full decoder's residual
        dpre = dz * mask
        dead = since > dead_tokens
        if dead.any() and sae.auxk_alpha > 0:
            k_aux = sae.k_aux or d // 2
            n_dead = int(dead.sum())
            scale = min(n_dead / k_aux, 1.0)
            amask = _topk_mask(np.where(dead[None, :], relu, -np.inf), min(k_aux, n_dead))
            za = relu * amask
            ehat = za @ Wd
            Ve = ((res - res.mean(0)) ** 2).sum()
            loss += sae.auxk_alpha * scale * ((ehat - res) ** 2).sum() / Ve
            Ga = sae.auxk_alpha * scale * 2 * (ehat - res) / Ve
            gWd = gWd + za.T @ Ga
            dpre = dpre + (Ga @ Wd.T) * amask
        gWd = gWd - (gWd * Wd).sum(1, keepdims=True) * Wd
        grads = {"W_dec": gWd, "W_enc": xc.T @ dpre, "b_enc": dpre.sum(0), "b_dec": Gsum.sum(0) - dpre.sum(0) @ We.T}
        losses.append(loss)
        prefix.append(fvus)
        adam.step(p, grads)
        p["W_dec"] = p["W_dec"] / (np.linalg.norm(p["W_dec"], axis=1, keepdims=True) + F32_EPS)
        theta = (1 - sae.threshold_rate) * theta + sae.threshold_rate * z[z > 0].min()
        since = np.where((z > 0).any(0), 0, since + n)
    p["threshold"] = np.full(nl, theta)
    return p, losses, prefix


CASES = {
    "two_groups": dict(group_widths=[12, 48]),
    "weighted": dict(group_widths=[6, 20, 48], group_weights=[0.5, 2.0, 1.0]),
    "dictionary_learning_weights": dict(group_widths=[16, 32, 48], group_weights=[1 / 9] * 3),
    "one_group_is_batchtopk": dict(group_widths=[48]),
    "auxk": dict(group_widths=[8, 24, 48], auxk_alpha=0.5, k_aux=5, dead_tokens=0),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_steps_match_float64_reference(case):
    kw = dict(CASES[case])
    X = _data()
    n, d = X.shape
    steps = 3
    common = dict(architecture="matryoshka_batchtopk", k=3, batch_size=n, lr=0.05, adam_eps=1.0, random_state=3)
    init = SparseAutoencoder(d, 48, **common, **kw).initialize()
    ref, losses, _ = reference_matryoshka(X, init, steps, dead_tokens=kw.get("dead_tokens", 10_000_000))
    sae = SparseAutoencoder(d, 48, **common, **kw).fit(X, epochs=steps)
    np.testing.assert_allclose(sae.history_["loss"], losses, rtol=2e-5, atol=1e-6)
    for name, got in (("W_enc", sae.W_enc_), ("W_dec", sae.W_dec_), ("b_enc", sae.b_enc_), ("b_dec", sae.b_dec_)):
        np.testing.assert_allclose(got, ref[name], rtol=0, atol=2e-5, err_msg=f"{case}: {name}")
    np.testing.assert_allclose(sae.threshold_, ref["threshold"], rtol=2e-5, atol=1e-7)


def test_one_group_equals_batchtopk():
    X = _data()
    n, d = X.shape
    common = dict(k=3, batch_size=n, lr=0.05, adam_eps=1.0, random_state=3)
    a = SparseAutoencoder(d, 48, architecture="matryoshka_batchtopk", group_widths=[48], **common).fit(X, epochs=3)
    b = SparseAutoencoder(d, 48, architecture="batchtopk", **common).fit(X, epochs=3)
    np.testing.assert_array_equal(a.W_dec_, b.W_dec_)
    np.testing.assert_array_equal(a.threshold_, b.threshold_)


def _prefix_fvu_numpy(sae, X):
    """prefix FVUs of the JumpReLU inference codes, float64."""
    X64 = X.astype(np.float64)
    We, be, Wd, bd, th = (a.astype(np.float64) for a in (sae.W_enc_, sae.b_enc_, sae.W_dec_, sae.b_dec_, sae.threshold_))
    pre = (X64 - bd) @ We + be
    z = np.where(pre > np.maximum(th, 0), pre, 0)
    tss = ((X64 - X64.mean(0)) ** 2).sum()
    return [((z[:, :m] @ Wd[:m] + bd - X64) ** 2).sum() / tss for m in sae.group_widths]


def test_evaluate_prefix_fvu_random():
    X = _data(n=512, d=16, seed=4)
    sae = SparseAutoencoder(16, 48, architecture="matryoshka_batchtopk", group_widths=[4, 16, 48], k=4,
                            batch_size=128, random_state=1).fit(X, epochs=5)
    m = sae.evaluate(X)
    want = _prefix_fvu_numpy(sae, X)
    np.testing.assert_allclose(m["prefix_fvu"], want, rtol=1e-6)
    assert m["prefix_fvu"][-1] == pytest.approx(m["fvu"], rel=1e-12)
    assert m["prefix_fvu"][0] >= m["prefix_fvu"][1] >= m["prefix_fvu"][2] - 1e-9
    assert "prefix_fvu" not in SparseAutoencoder(16, 48, k=4, batch_size=128).fit(X).evaluate(X)


def test_matryoshka_on_real_activations(real_data):
    X = np.ascontiguousarray(real_data.layer(3), dtype=np.float32)
    d = X.shape[1]
    sae = SparseAutoencoder(d, 4 * d, architecture="matryoshka_batchtopk", group_widths=[d // 4, d, 4 * d], k=16,
                            batch_size=1024, random_state=0).fit(X, epochs=2)
    hist = sae.history_["fvu"]
    assert hist[-1] < hist[0]
    m = sae.evaluate(X)
    np.testing.assert_allclose(m["prefix_fvu"], _prefix_fvu_numpy(sae, X), rtol=1e-5)
    assert m["prefix_fvu"][0] > m["prefix_fvu"][-1]


def test_saelens_layout_round_trip(tmp_path):
    X = _data(n=256, d=16, seed=2)
    sae = SparseAutoencoder(16, 48, architecture="matryoshka_batchtopk", group_widths=[8, 24, 48],
                            group_weights=[1.0, 0.5, 2.0], k=4, batch_size=64, random_state=0).fit(X, epochs=3)
    sae.save(tmp_path / "m")
    cfg = json.loads((tmp_path / "m" / "cfg.json").read_text())
    assert cfg["architecture"] == "matryoshka_batchtopk"
    assert cfg["matryoshka_widths"] == [8, 24, 48] and cfg["k"] == 4
    assert cfg["topk_threshold_lr"] == sae.threshold_rate
    from safetensors.numpy import load_file
    w = load_file(str(tmp_path / "m" / "sae_weights.safetensors"))
    assert set(w) == {"W_enc", "W_dec", "b_enc", "b_dec", "topk_threshold"}
    assert w["topk_threshold"].shape == () and w["topk_threshold"].dtype == np.float64
    assert float(w["topk_threshold"]) == float(sae.threshold_[0])
    back = load(tmp_path / "m")
    assert back.architecture == "matryoshka_batchtopk" and back.group_widths == [8, 24, 48]
    assert back.group_weights == [1.0, 0.5, 2.0]
    np.testing.assert_array_equal(back.encode(X), sae.encode(X))
    # Without lamina.json: SAELens' own fields alone (weights default to 1 each).
    (tmp_path / "m" / "lamina.json").unlink()
    alone = load(tmp_path / "m")
    assert alone.group_widths == [8, 24, 48] and alone.group_weights is None and alone.k == 4
    np.testing.assert_array_equal(alone.encode(X), sae.encode(X))
    np.testing.assert_allclose(alone.evaluate(X)["prefix_fvu"], sae.evaluate(X)["prefix_fvu"], rtol=1e-12)


def test_pickle_and_get_params_keep_groups():
    import pickle
    X = _data(n=128, d=16)
    sae = SparseAutoencoder(16, 48, architecture="matryoshka_batchtopk", group_widths=[8, 48],
                            group_weights=[2.0, 1.0], k=4, batch_size=64).fit(X)
    again = pickle.loads(pickle.dumps(sae))
    np.testing.assert_array_equal(again.encode(X), sae.encode(X))
    assert again.evaluate(X)["prefix_fvu"] == sae.evaluate(X)["prefix_fvu"]
