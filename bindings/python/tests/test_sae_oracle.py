"""Sparse autoencoders: Lamina's training steps against a float64 numpy reimplementation of the recipe
(forward, loss terms, every gradient, torch.optim.Adam's update, decoder renormalisation) for each
architecture, plus determinism, dtypes, HDF5 streaming, inference consistency and metrics formulas.

The reference follows the formulas of include/lamina.h (SAE section): sparsify's TopK objective with
AuxK (Gao et al. 2024), BatchTopK with SAELens' threshold rule, Anthropic's April 2024 ReLU-L1 and
SAELens' JumpReLU straight-through estimator. Adam's eps is large in the step tests so that the update is
close to linear in the gradient (with eps = 1e-8 the first Adam step is lr * sign(g), which would hide
gradient errors and amplify float32 noise in near-zero gradients)."""
from __future__ import annotations

import numpy as np
import pytest

import lamina
from lamina.sae import SparseAutoencoder

F32_EPS = float(np.finfo(np.float32).eps)


def _data(n=64, d=16, seed=0):
    rng = np.random.default_rng(seed)
    D = rng.standard_normal((40, d))
    codes = (rng.random((n, 40)) < 0.15) * rng.exponential(1.0, (n, 40))
    return (codes @ D + 0.3 + 0.05 * rng.standard_normal((n, d))).astype(np.float32)


class Adam:
    def __init__(self, shapes, lr, b1, b2, eps):
        self.m = {k: np.zeros(s) for k, s in shapes.items()}
        self.v = {k: np.zeros(s) for k, s in shapes.items()}
        self.t = 0
        self.lr, self.b1, self.b2, self.eps = lr, b1, b2, eps

    def step(self, params, grads):
        self.t += 1
        bc1 = 1 - self.b1 ** self.t
        bc2 = 1 - self.b2 ** self.t
        for k, g in grads.items():
            self.m[k] = self.b1 * self.m[k] + (1 - self.b1) * g
            self.v[k] = self.b2 * self.v[k] + (1 - self.b2) * g * g
            params[k] = params[k] - (self.lr / bc1) * self.m[k] / (np.sqrt(self.v[k]) / np.sqrt(bc2) + self.eps)


def _topk_mask(vals, k):
    """Per row, the k largest of vals (ties by lower index), strictly positive only."""
    n, m = vals.shape
    mask = np.zeros_like(vals, dtype=bool)
    order = np.argsort(-vals, axis=1, kind="stable")[:, :k]
    rows = np.arange(n)[:, None]
    mask[rows, order] = True
    return mask & (vals > 0)


def lr_multiplier(sae, t, total):
    m = 1.0
    W = sae.warmup_steps
    if W > 0 and t < W:
        m = t / W
    if sae.decay != "none":
        span = min(sae.decay_steps, total) if sae.decay_steps else max(1, total - W)
        start = total - span
        if t > start:
            done = (t - start - 1) / span
            m *= (1 - done) if sae.decay == "linear" else 0.5 * (1 + np.cos(np.pi * done))
    return m


def reference_train(X, sae, steps, *, dead_tokens=10_000_000):
    """Runs `steps` full-batch steps of the recipe in float64 from the SAE's initial weights."""
    arch = sae.architecture
    X = X.astype(np.float64)
    n, d = X.shape
    nl, k = sae.n_latents, sae.k
    p = {"W_enc": sae.W_enc_.astype(np.float64), "b_enc": sae.b_enc_.astype(np.float64),
         "W_dec": sae.W_dec_.astype(np.float64), "b_dec": X.mean(0)}
    if arch == "jumprelu":
        p["log_threshold"] = np.log(sae.threshold_.astype(np.float64))
    shapes = {key: v.shape for key, v in p.items()}
    adam = Adam(shapes, sae.lr, sae.adam_betas[0], sae.adam_betas[1], sae.adam_eps)
    since = np.zeros(nl)
    theta_bt = 0.0
    losses = []
    for step in range(steps):
        We, be, Wd, bd = p["W_enc"], p["b_enc"], p["W_dec"], p["b_dec"]
        xc = X - bd
        pre = xc @ We + be
        relu = np.maximum(pre, 0)
        grads = {}
        if arch in ("topk", "batchtopk"):
            if arch == "topk":
                mask = _topk_mask(relu, k)
            else:
                flat = relu.ravel()
                order = np.argsort(-flat, kind="stable")[: k * n]
                mask = np.zeros(flat.shape, bool)
                mask[order] = True
                mask = mask.reshape(relu.shape) & (relu > 0)
            z = relu * mask
            xhat = z @ Wd + bd
            e = xhat - X
            V = ((X - X.mean(0)) ** 2).sum()
            fvu = (e ** 2).sum() / V
            G = 2 * e / V
            gWd = z.T @ G
            dpre = (G @ Wd.T) * mask
            loss = fvu
            dead = since > dead_tokens
            if dead.any() and sae.auxk_alpha > 0:
                k_aux = sae.k_aux or d // 2
                n_dead = int(dead.sum())
                scale = min(n_dead / k_aux, 1.0)
                aux_vals = np.where(dead[None, :], relu, -np.inf)
                amask = _topk_mask(aux_vals, min(k_aux, n_dead))
                za = relu * amask
                res = X - xhat
                ehat = za @ Wd
                Ve = ((res - res.mean(0)) ** 2).sum()
                auxk = scale * ((ehat - res) ** 2).sum() / Ve
                Ga = sae.auxk_alpha * scale * 2 * (ehat - res) / Ve
                gWd = gWd + za.T @ Ga
                dpre = dpre + (Ga @ Wd.T) * amask
                loss = loss + sae.auxk_alpha * auxk
            gWd = gWd - (gWd * Wd).sum(1, keepdims=True) * Wd
            fired = (z > 0).any(0)
        elif arch == "relu":
            lam = sae.l1_coefficient
            z = relu
            xhat = z @ Wd + bd
            e = xhat - X
            norms = np.linalg.norm(Wd, axis=1)
            loss = (e ** 2).sum() / n + lam * (z * norms).sum() / n
            G = 2 * e / n
            dz = G @ Wd.T + lam * norms / n
            dpre = dz * (pre > 0)
            gWd = z.T @ G + (lam / n) * z.sum(0)[:, None] * Wd / norms[:, None]
            fired = (z > 0).any(0)
        else:  # jumprelu
            c = sae.l1_coefficient
            eps = sae.jumprelu_bandwidth
            theta = np.exp(p["log_threshold"])
            active = pre > theta
            z = pre * active
            xhat = z @ Wd + bd
            e = xhat - X
            loss = (e ** 2).sum() / n + c * active.sum() / n
            G = 2 * e / n
            dz = G @ Wd.T
            dpre = dz * active
            gWd = z.T @ G
            near = np.abs((pre - theta) / eps) < 0.5
            dtheta = (dz * (-(theta / eps)) * near).sum(0) + (c / n) * (-(1 / eps)) * near.sum(0)
            grads["log_threshold"] = theta * dtheta
            fired = active.any(0)
        grads["W_dec"] = gWd
        grads["W_enc"] = xc.T @ dpre
        grads["b_enc"] = dpre.sum(0)
        grads["b_dec"] = G.sum(0) - (dpre.sum(0) @ We.T)
        losses.append(loss)
        if sae.grad_clip:
            total = np.sqrt(sum((g ** 2).sum() for g in grads.values()))
            coef = sae.grad_clip / (total + 1e-6)
            if coef < 1:
                grads = {key: g * coef for key, g in grads.items()}
        adam.lr = sae.lr * lr_multiplier(sae, step + 1, steps)
        adam.step(p, grads)
        if arch in ("topk", "batchtopk"):
            norms = np.linalg.norm(p["W_dec"], axis=1, keepdims=True)
            p["W_dec"] = p["W_dec"] / (norms + F32_EPS)
        if arch == "batchtopk":
            theta_bt = (1 - sae.threshold_rate) * theta_bt + sae.threshold_rate * z[z > 0].min()
        since = np.where(fired, 0, since + n)
    if arch == "jumprelu":
        p["threshold"] = np.exp(p["log_threshold"])
    if arch == "batchtopk":
        p["threshold"] = np.full(nl, theta_bt)
    return p, losses


CASES = {
    "topk": dict(k=4),
    "relu_sparse_path": dict(architecture="relu", l1_coefficient=0.3, _path="sparse"),
    "relu_dense_path": dict(architecture="relu", l1_coefficient=0.3, _path="dense"),
    "jumprelu_sparse_path": dict(architecture="jumprelu", l1_coefficient=0.05, jumprelu_init_threshold=0.3,
                                 jumprelu_bandwidth=0.6, _path="sparse"),
    "jumprelu_dense_path": dict(architecture="jumprelu", l1_coefficient=0.05, jumprelu_init_threshold=0.3,
                                jumprelu_bandwidth=0.6, _path="dense"),
    "topk_auxk": dict(k=3, auxk_alpha=0.5, k_aux=5, dead_tokens=0),
    "topk_clip_schedule": dict(k=4, grad_clip=0.05, warmup_steps=2, decay="linear", decay_steps=2),
    "batchtopk": dict(architecture="batchtopk", k=3),
    "relu": dict(architecture="relu", l1_coefficient=0.3),
    "jumprelu": dict(architecture="jumprelu", l1_coefficient=0.05, jumprelu_init_threshold=0.3, jumprelu_bandwidth=0.6),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_training_steps_match_numpy_reference(case, monkeypatch):
    kw = dict(CASES[case])
    path = kw.pop("_path", None)
    if path:
        monkeypatch.setenv("LAMINA_SAE_PATH", path)
    X = _data()
    n, d = X.shape
    steps = 3
    init = SparseAutoencoder(d, 48, batch_size=n, lr=0.05, adam_eps=1.0, random_state=3, **kw).initialize()
    ref, losses = reference_train(X, init, steps, dead_tokens=kw.get("dead_tokens", 10_000_000))
    sae = SparseAutoencoder(d, 48, batch_size=n, lr=0.05, adam_eps=1.0, random_state=3, **kw).fit(X, epochs=steps)
    np.testing.assert_allclose(sae.history_["loss"], losses, rtol=2e-5, atol=1e-6)
    for name, got in (("W_enc", sae.W_enc_), ("W_dec", sae.W_dec_), ("b_enc", sae.b_enc_), ("b_dec", sae.b_dec_)):
        np.testing.assert_allclose(got, ref[name], rtol=0, atol=2e-5, err_msg=f"{case}: {name}")
    if "threshold" in ref:
        np.testing.assert_allclose(sae.threshold_, ref["threshold"], rtol=2e-5, atol=1e-7)


def test_default_adam_first_step_moves_by_lr():
    """With eps = 1e-8 the first Adam step moves every parameter with a clearly non-zero gradient by
    lr (torch's rule); W_dec rows stay unit norm."""
    X = _data()
    sae = SparseAutoencoder(X.shape[1], 48, k=4, batch_size=X.shape[0], lr=1e-3, random_state=1).initialize()
    before = sae.b_enc_
    sae.fit(X, epochs=1)
    moved = np.abs(sae.b_enc_ - before)
    assert np.all((moved < 1e-3 * 1.001))
    assert np.sum(np.abs(moved - 1e-3) < 1e-6) >= 1
    np.testing.assert_allclose(np.linalg.norm(sae.W_dec_, axis=1), 1.0, atol=1e-6)


def test_deterministic_across_runs_and_threads(restore_threads):
    X = _data(512, 32, seed=4)
    kw = dict(k=8, batch_size=64, random_state=11, lr=3e-3)
    lamina.set_num_threads(1)
    a = SparseAutoencoder(32, 256, **kw).fit(X, epochs=2)
    lamina.set_num_threads(2)
    b = SparseAutoencoder(32, 256, **kw).fit(X, epochs=2)
    c = SparseAutoencoder(32, 256, **kw).fit(X, epochs=2)
    for attr in ("W_enc_", "W_dec_", "b_enc_", "b_dec_"):
        assert np.array_equal(getattr(a, attr), getattr(b, attr)), attr
        assert np.array_equal(getattr(b, attr), getattr(c, attr)), attr
    d = SparseAutoencoder(32, 256, **dict(kw, random_state=12)).fit(X, epochs=2)
    assert not np.array_equal(d.W_enc_, a.W_enc_)


def test_float16_and_bfloat16_inputs_are_widened():
    X = _data(256, 16, seed=5)
    x16 = X.astype(np.float16)
    bf_bits = (X.view(np.uint32) >> 16).astype(np.uint16)
    bf_f32 = (bf_bits.astype(np.uint32) << 16).view(np.float32)
    kw = dict(k=4, batch_size=64, random_state=2)
    for raw, widened in ((x16, x16.astype(np.float32)), (bf_bits, bf_f32)):
        a = SparseAutoencoder(16, 64, **kw).fit(raw)
        b = SparseAutoencoder(16, 64, **kw).fit(widened)
        assert np.array_equal(a.W_enc_, b.W_enc_)
        assert np.array_equal(a.b_dec_, b.b_dec_)


def test_fvu_decreases_on_real_activations(real_data):
    X = np.ascontiguousarray(real_data.layer(3))
    train, held = X[:2000], X[2000:]
    sae = SparseAutoencoder(X.shape[1], 1024, k=16, batch_size=200, lr=4e-3, random_state=0)
    sae.fit(train, epochs=8)
    h = sae.history_
    assert h["fvu"][-5:].mean() < 0.6 * h["fvu"][:5].mean()
    m = sae.evaluate(held)
    assert m["fvu"] < 0.7
    assert m["l0"] <= 16
    assert 0 <= m["dead_fraction"] < 1


def test_inference_paths_agree_and_use_exported_weights():
    X = _data(300, 16, seed=6)
    for arch, kw in (("topk", dict(k=5)), ("relu", dict(l1_coefficient=0.2)), ("batchtopk", dict(k=4)),
                     ("jumprelu", dict(l1_coefficient=0.01, jumprelu_init_threshold=0.05))):
        sae = SparseAutoencoder(16, 64, architecture=arch, batch_size=50, lr=5e-3, normalize_input=True, random_state=1, **kw)
        sae.fit(X, epochs=3)
        assert sae.input_scale_ != 1.0
        We, be, Wd, bd, th = sae.W_enc_, sae.b_enc_, sae.W_dec_, sae.b_dec_, sae.threshold_
        pre = (X.astype(np.float64) - bd) @ We + be
        if arch == "topk":
            z_ref = np.maximum(pre, 0) * _topk_mask(np.maximum(pre, 0), 5)
        elif arch == "relu":
            z_ref = np.maximum(pre, 0)
        else:
            z_ref = pre * (pre > np.maximum(th, 0))
        Z = sae.encode(X)
        np.testing.assert_allclose(Z, z_ref, atol=2e-4)
        xhat = sae.reconstruct(X)
        np.testing.assert_allclose(xhat, Z @ Wd + bd, atol=2e-4)
        np.testing.assert_allclose(sae.decode(Z), xhat, atol=1e-5)
        idx, val = sae.encode(X, sparse=True)
        np.testing.assert_allclose(sae.decode((idx, val)), xhat, atol=1e-5)
        dense_from_sparse = np.zeros_like(Z)
        rows = np.repeat(np.arange(len(X))[:, None], idx.shape[1], 1)
        ok = idx >= 0
        dense_from_sparse[rows[ok], idx[ok]] = val[ok]
        assert np.array_equal(dense_from_sparse, Z)
        assert np.all(np.diff(val, axis=1) <= 0)


def test_evaluate_formulas():
    X = _data(400, 16, seed=7)
    sae = SparseAutoencoder(16, 64, k=4, batch_size=100, lr=5e-3, random_state=1).fit(X, epochs=2)
    m = sae.evaluate(X)
    x = X.astype(np.float64)
    xh = sae.reconstruct(X).astype(np.float64)
    e = x - xh
    mu = x.mean(0)
    assert m["mse"] == pytest.approx((e ** 2).mean(), rel=1e-5)
    assert m["nmse"] == pytest.approx(((e ** 2).sum(1) / (x ** 2).sum(1)).mean(), rel=1e-5)
    assert m["fvu"] == pytest.approx((e ** 2).sum() / ((x - mu) ** 2).sum(), rel=1e-5)
    assert m["explained_variance"] == pytest.approx((1 - (e ** 2).sum(1) / ((x - mu) ** 2).sum(1)).mean(), rel=1e-5)
    assert m["fve"] == pytest.approx((1 - e.var(0) / x.var(0)).mean(), rel=1e-5)
    cos = (x * xh).sum(1) / (np.linalg.norm(x, axis=1) * np.linalg.norm(xh, axis=1))
    assert m["cosine_similarity"] == pytest.approx(cos.mean(), rel=1e-5)
    Z = sae.encode(X)
    assert m["l0"] == pytest.approx((Z != 0).sum(1).mean())
    np.testing.assert_allclose(m["firing_frequency"], (Z != 0).mean(0))
    assert m["dead_fraction"] == pytest.approx(((Z != 0).sum(0) == 0).mean())


def test_progress_callback_and_cancel():
    X = _data(640, 16, seed=8)
    seen = []

    def cb(info):
        seen.append(info)
        return True if len(seen) >= 3 else None

    sae = SparseAutoencoder(16, 64, k=4, batch_size=64, random_state=1)
    with pytest.raises(lamina.CancelledError):
        sae.fit(X, epochs=1, callback=cb)
    assert sae.n_steps_ == 3
    assert [s["step"] for s in seen] == [1, 2, 3]
    assert seen[0]["total_steps"] == 10
    assert seen[-1]["tokens"] == 192
    for key in ("loss", "fvu", "auxk", "l0", "dead_fraction", "tokens_per_second", "lr"):
        assert key in seen[0]
    assert seen[0]["l0"] <= 4
    # The model is usable and resumes from its position.
    sae.partial_fit(X, epochs=1)
    assert sae.n_steps_ == 10


def test_hdf5_streaming_training(tmp_path):
    import h5py
    X = _data(1000, 16, seed=9)
    path = tmp_path / "acts.h5"
    with h5py.File(path, "w") as f:
        f["acts"] = X.astype(np.float16)
    a = SparseAutoencoder(16, 64, k=4, batch_size=100, lr=5e-3, random_state=1).fit(str(path), dataset="acts", epochs=3)
    b = SparseAutoencoder(16, 64, k=4, batch_size=100, lr=5e-3, random_state=1).fit(path, dataset="/acts", epochs=3)
    assert a.n_steps_ == 30
    assert np.array_equal(a.W_enc_, b.W_enc_)
    h = a.history_
    assert h["fvu"][-3:].mean() < h["fvu"][:3].mean()
    # b_dec starts at the mean of the (widened) rows, as in memory.
    c = SparseAutoencoder(16, 64, k=4, batch_size=100, lr=5e-3, random_state=1).fit(X.astype(np.float16), epochs=3)
    assert a.evaluate(X)["fvu"] == pytest.approx(c.evaluate(X)["fvu"], rel=0.3)


def test_geometric_median_and_input_scale():
    X = _data(300, 8, seed=12)
    sae = SparseAutoencoder(8, 32, k=2, batch_size=300, lr=1e-12, b_dec_init="geometric_median", normalize_input=True,
                            random_state=1).fit(X)
    x = X.astype(np.float64)
    s = np.sqrt(8) / np.linalg.norm(x, axis=1).mean()
    assert sae.input_scale_ == pytest.approx(s, rel=1e-6)
    xs = x * s
    y = xs.mean(0)
    for _ in range(200):  # Weiszfeld
        w = 1 / np.maximum(np.linalg.norm(xs - y, axis=1), 1e-8)
        y = (w[:, None] * xs).sum(0) / w.sum()
    # exported b_dec is b_dec / s (the scale folded back)
    np.testing.assert_allclose(sae.b_dec_ * s, y, atol=3e-4)
