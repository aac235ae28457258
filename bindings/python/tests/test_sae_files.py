"""SAE files: SAELens and sparsify layouts read back with the `safetensors` package (numpy backend),
loading files those tools would write, and checkpoints that resume to a bit-identical model."""
from __future__ import annotations

import json

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

import lamina
from lamina.sae import SparseAutoencoder, load, load_checkpoint


def _data(n=800, d=16, seed=0):
    rng = np.random.default_rng(seed)
    D = rng.standard_normal((40, d))
    codes = (rng.random((n, 40)) < 0.15) * rng.exponential(1.0, (n, 40))
    return (codes @ D + 0.05 * rng.standard_normal((n, d))).astype(np.float32)


def _trained(arch="topk", **kw):
    X = _data()
    extra = dict(k=4) if arch in ("topk", "batchtopk") else dict(l1_coefficient=0.05)
    extra.update(kw)
    return X, SparseAutoencoder(16, 64, architecture=arch, batch_size=100, lr=5e-3, random_state=1, **extra).fit(X, epochs=2)


@pytest.mark.parametrize("arch", ["topk", "batchtopk", "relu", "jumprelu"])
def test_saelens_layout(tmp_path, arch):
    X, sae = _trained(arch)
    sae.save(tmp_path / "sae")
    tensors = load_file(str(tmp_path / "sae" / "sae_weights.safetensors"))
    expected = {"W_enc": (16, 64), "W_dec": (64, 16), "b_enc": (64,), "b_dec": (16,)}
    if arch in ("jumprelu", "batchtopk"):
        expected["threshold"] = (64,)
    assert {k: v.shape for k, v in tensors.items()} == expected
    assert all(v.dtype == np.float32 for v in tensors.values())
    np.testing.assert_array_equal(tensors["W_enc"], sae.W_enc_)
    np.testing.assert_array_equal(tensors["W_dec"], sae.W_dec_)
    np.testing.assert_array_equal(tensors["b_enc"], sae.b_enc_)
    np.testing.assert_array_equal(tensors["b_dec"], sae.b_dec_)
    if "threshold" in tensors:
        np.testing.assert_array_equal(tensors["threshold"], sae.threshold_)
    cfg = json.loads((tmp_path / "sae" / "cfg.json").read_text())
    assert cfg["d_in"] == 16 and cfg["d_sae"] == 64
    assert cfg["architecture"] == {"topk": "topk", "relu": "standard", "jumprelu": "jumprelu", "batchtopk": "jumprelu"}[arch]
    assert cfg["apply_b_dec_to_input"] is True
    if arch == "topk":
        assert cfg["k"] == 4 and cfg["activation_fn_kwargs"] == {"k": 4}
    back = load(tmp_path / "sae")
    assert back.architecture == arch and back.k == sae.k and back.n_latents == 64
    np.testing.assert_array_equal(back.encode(X), sae.encode(X))
    np.testing.assert_array_equal(back.reconstruct(X), sae.reconstruct(X))


def test_sparsify_layout(tmp_path):
    X, sae = _trained("topk")
    sae.save(tmp_path / "sp", format="sparsify")
    tensors = load_file(str(tmp_path / "sp" / "sae.safetensors"))
    assert {k: v.shape for k, v in tensors.items()} == {"encoder.weight": (64, 16), "encoder.bias": (64,),
                                                          "W_dec": (64, 16), "b_dec": (16,)}
    np.testing.assert_array_equal(tensors["encoder.weight"], sae.W_enc_.T)
    np.testing.assert_array_equal(tensors["encoder.bias"], sae.b_enc_)
    np.testing.assert_array_equal(tensors["W_dec"], sae.W_dec_)
    cfg = json.loads((tmp_path / "sp" / "cfg.json").read_text())
    assert cfg["activation"] == "topk" and cfg["num_latents"] == 64 and cfg["k"] == 4 and cfg["d_in"] == 16
    assert cfg["normalize_decoder"] is True
    back = load(tmp_path / "sp")
    np.testing.assert_array_equal(back.encode(X), sae.encode(X))
    with pytest.raises(lamina.InvalidArgumentError, match="sparsify"):
        _trained("relu")[1].save(tmp_path / "x", format="sparsify")


def test_normalized_input_is_folded_into_saved_weights(tmp_path):
    X, sae = _trained("topk", normalize_input=True)
    assert sae.input_scale_ != 1
    sae.save(tmp_path / "n")
    back = load(tmp_path / "n")
    np.testing.assert_allclose(back.reconstruct(X), sae.reconstruct(X), atol=1e-4)


def test_load_foreign_saelens_and_sparsify_files(tmp_path):
    """Directories as SAELens / sparsify write them (no Lamina fields, float16 weights)."""
    rng = np.random.default_rng(3)
    d, n = 12, 30
    W = rng.standard_normal((n, d)).astype(np.float32)
    b_enc = rng.standard_normal(n).astype(np.float32) * 0.1
    b_dec = rng.standard_normal(d).astype(np.float32)
    X = rng.standard_normal((50, d)).astype(np.float32)
    sl = tmp_path / "saelens"
    sl.mkdir()
    save_file({"W_enc": W.T.copy().astype(np.float16), "W_dec": W.astype(np.float16), "b_enc": b_enc.astype(np.float16),
               "b_dec": b_dec.astype(np.float16)}, str(sl / "sae_weights.safetensors"))
    (sl / "cfg.json").write_text(json.dumps({"architecture": "standard", "d_in": d, "d_sae": n, "dtype": "float16",
                                             "apply_b_dec_to_input": True, "normalize_activations": "none"}))
    sae = load(sl)
    assert sae.architecture == "relu"
    W16 = W.astype(np.float16).astype(np.float64)
    pre = (X - b_dec.astype(np.float16).astype(np.float64)) @ W16.T + b_enc.astype(np.float16).astype(np.float64)
    np.testing.assert_allclose(sae.encode(X), np.maximum(pre, 0), atol=1e-4)
    sp = tmp_path / "sparsify"
    sp.mkdir()
    save_file({"encoder.weight": W, "encoder.bias": b_enc, "W_dec": W, "b_dec": b_dec}, str(sp / "sae.safetensors"))
    (sp / "cfg.json").write_text(json.dumps({"activation": "topk", "expansion_factor": 32, "normalize_decoder": True,
                                             "num_latents": n, "k": 3, "multi_topk": False, "d_in": d}))
    sae = load(sp)
    assert sae.architecture == "topk" and sae.k == 3
    assert ((sae.encode(X) != 0).sum(1) <= 3).all()


@pytest.mark.parametrize("arch", ["topk", "jumprelu", "batchtopk"])
def test_checkpoint_resumes_bit_identical(tmp_path, arch):
    X = _data(1000)
    kw = dict(architecture=arch, batch_size=100, lr=5e-3, random_state=5, warmup_steps=3, decay="cosine")
    kw.update(dict(k=4, dead_tokens=150, auxk_alpha=0.1, k_aux=6) if arch != "jumprelu" else dict(l1_coefficient=0.02))
    full = SparseAutoencoder(16, 64, **kw).fit(X, epochs=3)

    part = SparseAutoencoder(16, 64, **kw)
    with pytest.raises(lamina.CancelledError):
        part.fit(X, epochs=3, callback=lambda info: info["step"] >= 13 or None)
    assert part.n_steps_ == 13
    part.save_checkpoint(tmp_path / "ck.safetensors")
    del part
    resumed = load_checkpoint(tmp_path / "ck.safetensors")
    assert resumed.n_steps_ == 13
    resumed.fit(X, epochs=3, resume=True)
    assert resumed.n_steps_ == 30
    for attr in ("W_enc_", "W_dec_", "b_enc_", "b_dec_", "threshold_"):
        assert np.array_equal(getattr(resumed, attr), getattr(full, attr)), attr
    assert np.array_equal(resumed.history_["loss"], full.history_["loss"])
    assert np.array_equal(resumed.history_["auxk"], full.history_["auxk"])


def test_checkpoint_resume_streaming_hdf5(tmp_path):
    import h5py
    X = _data(1000)
    path = tmp_path / "a.h5"
    with h5py.File(path, "w") as f:
        f["x"] = X
    kw = dict(k=4, batch_size=100, lr=5e-3, random_state=5)
    full = SparseAutoencoder(16, 64, **kw).fit(path, dataset="x", epochs=2)
    part = SparseAutoencoder(16, 64, **kw)
    with pytest.raises(lamina.CancelledError):
        part.fit(path, dataset="x", epochs=2, callback=lambda info: info["step"] >= 7 or None)
    part.save_checkpoint(tmp_path / "ck")
    resumed = load_checkpoint(tmp_path / "ck").fit(path, dataset="x", epochs=2, resume=True)
    assert np.array_equal(resumed.W_enc_, full.W_enc_)
