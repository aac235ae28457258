"""SAE weight initialisation (params.init): the default of each architecture and the named options.

TopK and BatchTopK default to sparsify's initialisation (W_enc ~ U(-1/sqrt(d_in), 1/sqrt(d_in)) iid,
W_dec = its rows normalised to unit norm), which trains to a lower held-out FVU at equal tokens than
the tied one (benchmarks/bench_sae_curves.py, benchmarks/README.md); ReLU and JumpReLU default to the
tied initialisation at decoder norm 0.1 (Anthropic, SAELens). init="tied" keeps the previous TopK
initialisation (W_dec rows ~ N(0, I) normalised, W_enc = W_dec^T)."""
from __future__ import annotations

import ctypes
import json

import numpy as np
import pytest

import lamina
from lamina.sae import SparseAutoencoder, load


D, N = 96, 512
N_LAT = N


def _weights(sae):
    return np.ascontiguousarray(sae.W_enc_.T).astype(np.float64), sae.W_dec_.astype(np.float64)


def _check_sparsify(W_enc, W_dec, norm):
    d = W_enc.shape[1]
    bound = 1 / np.sqrt(d)
    # Uniform(-1/sqrt(d), 1/sqrt(d)): inside the bound, mean 0, variance 1/(3d), row norm ~ 1/sqrt(3).
    assert np.abs(W_enc).max() <= bound * (1 + 1e-6)
    assert np.abs(W_enc).max() > 0.99 * bound                 # the whole interval is used
    assert abs(W_enc.mean()) < 0.02 * bound
    assert W_enc.var() == pytest.approx(1 / (3 * d), rel=0.02)
    row = np.linalg.norm(W_enc, axis=1)
    assert row.mean() == pytest.approx(1 / np.sqrt(3), rel=0.02)
    assert row.std() < 0.1 * row.mean()
    # Fourth moment of a uniform variable (9/5 sigma^4), unlike a Gaussian's 3 sigma^4.
    assert (W_enc ** 4).mean() / W_enc.var() ** 2 == pytest.approx(1.8, rel=0.05)
    # W_dec = the encoder rows scaled to `norm`.
    np.testing.assert_allclose(np.linalg.norm(W_dec, axis=1), norm, rtol=1e-5)
    np.testing.assert_allclose(W_dec, W_enc * (norm / row[:, None]), rtol=1e-4, atol=1e-7)


def _check_tied(W_enc, W_dec, norm):
    np.testing.assert_array_equal(W_enc, W_dec)
    np.testing.assert_allclose(np.linalg.norm(W_dec, axis=1), norm, rtol=1e-5)
    # Directions ~ N(0, I) normalised: coordinates of variance norm^2 / d, Gaussian fourth moment.
    d = W_dec.shape[1]
    assert W_dec.var() == pytest.approx(norm ** 2 / d, rel=0.02)
    assert (W_dec ** 4).mean() / W_dec.var() ** 2 == pytest.approx(3.0, rel=0.1)


@pytest.mark.parametrize("arch", ["topk", "batchtopk"])
def test_topk_family_default_is_sparsify(arch):
    sae = SparseAutoencoder(D, N, architecture=arch, k=8, random_state=3).initialize()
    assert sae.init == "auto" and sae.get_params()["init"] == "auto"
    W_enc, W_dec = _weights(sae)
    _check_sparsify(W_enc, W_dec, 1.0)
    np.testing.assert_array_equal(sae.b_enc_, 0)
    same = SparseAutoencoder(D, N, architecture=arch, k=8, random_state=3, init="sparsify").initialize()
    np.testing.assert_array_equal(same.W_enc_, sae.W_enc_)
    np.testing.assert_array_equal(same.W_dec_, sae.W_dec_)


@pytest.mark.parametrize("arch", ["relu", "jumprelu"])
def test_penalty_default_is_tied_at_norm_0_1(arch):
    sae = SparseAutoencoder(D, N, architecture=arch, random_state=3).initialize()
    W_enc, W_dec = _weights(sae)
    _check_tied(W_enc, W_dec, 0.1)
    tied = SparseAutoencoder(D, N, architecture=arch, random_state=3, init="tied").initialize()
    np.testing.assert_array_equal(tied.W_dec_, sae.W_dec_)
    # sparsify's rule is available for them too: uniform encoder, decoder rows at norm 0.1.
    _check_sparsify(*_weights(SparseAutoencoder(D, N, architecture=arch, random_state=3, init="sparsify").initialize()), 0.1)


@pytest.mark.parametrize("arch", ["topk", "batchtopk"])
def test_tied_option_keeps_the_previous_init(arch):
    sae = SparseAutoencoder(D, N, architecture=arch, k=8, random_state=3, init="tied").initialize()
    _check_tied(*_weights(sae), 1.0)
    assert not np.array_equal(sae.W_dec_, SparseAutoencoder(D, N, architecture=arch, k=8, random_state=3).initialize().W_dec_)


def _data(n=1200, d=24, seed=0):
    rng = np.random.default_rng(seed)
    Dict = rng.standard_normal((60, d))
    codes = (rng.random((n, 60)) < 0.1) * rng.exponential(1.0, (n, 60))
    return (codes @ Dict + 0.05 * rng.standard_normal((n, d))).astype(np.float32)


@pytest.mark.parametrize("init", ["auto", "sparsify", "tied"])
def test_every_init_trains_and_is_deterministic(init):
    X = _data()
    fits = [SparseAutoencoder(24, 96, k=6, batch_size=100, lr=3e-3, random_state=5, init=init).fit(X, epochs=3)
            for _ in range(2)]
    np.testing.assert_array_equal(fits[0].W_dec_, fits[1].W_dec_)
    fvu = fits[0].history_["fvu"]
    assert fvu[-1] < 0.7 * fvu[0]
    assert fits[0].evaluate(X)["fvu"] < 0.5


def test_seed_changes_the_init():
    a = SparseAutoencoder(D, N, k=8, random_state=1).initialize().W_enc_
    b = SparseAutoencoder(D, N, k=8, random_state=2).initialize().W_enc_
    assert not np.array_equal(a, b)


def test_bad_init_is_refused_by_name():
    with pytest.raises(lamina.InvalidArgumentError, match="init"):
        SparseAutoencoder(D, N, k=8, init="kaiming").initialize()
    native = lamina._native
    p = native.lib.lamina_sae_default_params()
    assert p.init == 0                                   # LAMINA_SAE_INIT_AUTO
    p.d_in, p.n_latents, p.k = D, N_LAT, 8
    native.call("lamina_sae_check_params", ctypes.byref(p))
    p.init = 7
    with pytest.raises(lamina.InvalidArgumentError, match="params.init"):
        native.call("lamina_sae_check_params", ctypes.byref(p))


def test_init_survives_save_and_load(tmp_path):
    X = _data()
    sae = SparseAutoencoder(24, 96, k=6, batch_size=100, random_state=5, init="tied").fit(X)
    sae.save(tmp_path / "m")
    meta_path = tmp_path / "m" / "lamina.json"      # Lamina's own metadata, next to cfg.json
    meta = json.loads(meta_path.read_text())
    assert meta["init"] == "tied"
    assert load(tmp_path / "m").init == "tied"
    # A file written before the option (no "init" in Lamina's metadata) was initialised "tied".
    del meta["init"]
    meta_path.write_text(json.dumps(meta))
    assert load(tmp_path / "m").init == "tied"
    meta["init"] = "kaiming"
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(lamina.FormatError, match="init"):
        load(tmp_path / "m")
