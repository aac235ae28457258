"""Matryoshka BatchTopK interop with the real sae-lens (`make test-interop`; skipped with a message when
it is not installed): SAELens' MatryoshkaBatchTopKTrainingSAE saved with save_model (its
"matryoshka_batchtopk" training layout) loads in Lamina and encodes / reconstructs as the JumpReLU SAE
SAELens itself makes of it for inference (save_inference_model); Lamina's export loads in SAELens'
TrainingSAE.load_from_disk with the same weights, widths, k and threshold, without a warning."""
from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch is not installed (run `make test-interop`)")
sae_lens = pytest.importorskip("sae_lens", reason="sae-lens is not installed (run `make test-interop`)")
mbt = pytest.importorskip("sae_lens.saes.matryoshka_batchtopk_sae",
                          reason="this sae-lens has no matryoshka_batchtopk SAE (needs sae-lens >= 6)")

from lamina.sae import SparseAutoencoder, load  # noqa: E402
from sae_lens.saes.jumprelu_sae import JumpReLUSAE  # noqa: E402

D, N, ROWS = 12, 40, 64
TOL = 1e-5
WIDTHS = [5, 15, 40]


def close(got, want, what):
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    assert got.shape == want.shape, f"{what}: shape {got.shape} vs {want.shape}"
    err = float(np.max(np.abs(got - want))) if got.size else 0.0
    scale = max(1.0, float(np.max(np.abs(want))) if want.size else 1.0)
    assert err <= TOL * scale, f"{what}: max abs difference {err:.3g} (scale {scale:.3g})"


def data(seed=0):
    return np.random.default_rng(seed).standard_normal((ROWS, D)).astype(np.float32) * 2 + 0.5


def their_sae(rescale=True, seed=1):
    cfg = mbt.MatryoshkaBatchTopKTrainingSAEConfig(d_in=D, d_sae=N, k=4, matryoshka_widths=list(WIDTHS),
                                                   rescale_acts_by_decoder_norm=rescale)
    sae = mbt.MatryoshkaBatchTopKTrainingSAE(cfg)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for _, p in sae.named_parameters():
            p.copy_(torch.randn(p.shape, generator=g) * (0.3 if p.ndim > 1 else 0.5))
        sae.topk_threshold.fill_(0.35)
    return sae


@pytest.mark.parametrize("rescale", [True, False])
def test_saelens_matryoshka_file_loads_equal(tmp_path, rescale):
    sae = their_sae(rescale)
    sae.save_model(str(tmp_path / "train"))
    cfg = json.loads((tmp_path / "train" / "cfg.json").read_text())
    assert cfg["architecture"] == "matryoshka_batchtopk" and cfg["matryoshka_widths"] == WIDTHS
    sae.save_inference_model(str(tmp_path / "inf"))
    inf = JumpReLUSAE.load_from_disk(str(tmp_path / "inf"))
    X = data(3)
    with torch.no_grad():
        z = inf.encode(torch.from_numpy(X))
        xhat = inf.decode(z)
    ours = load(tmp_path / "train")
    assert ours.architecture == "matryoshka_batchtopk" and ours.group_widths == WIDTHS and ours.k == 4
    assert ours.threshold_rate == cfg["topk_threshold_lr"]
    close(ours.encode(X), z.numpy(), "codes")
    close(ours.reconstruct(X), xhat.numpy(), "reconstruction")


def test_lamina_matryoshka_export_loads_in_saelens(tmp_path):
    rng = np.random.default_rng(0)
    Dict = rng.standard_normal((30, D))
    codes = (rng.random((600, 30)) < 0.15) * rng.exponential(1.0, (600, 30))
    X = (codes @ Dict + 0.05 * rng.standard_normal((600, D))).astype(np.float32)
    ours = SparseAutoencoder(D, N, architecture="matryoshka_batchtopk", group_widths=WIDTHS, k=4, batch_size=100,
                             lr=5e-3, random_state=1).fit(X, epochs=2)
    ours.save(tmp_path / "e")
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        theirs = sae_lens.TrainingSAE.load_from_disk(str(tmp_path / "e"))
    assert isinstance(theirs, mbt.MatryoshkaBatchTopKTrainingSAE)
    assert theirs.cfg.matryoshka_widths == WIDTHS and theirs.cfg.k == 4
    assert theirs.cfg.topk_threshold_lr == ours.threshold_rate
    close(theirs.W_enc.detach().numpy(), ours.W_enc_, "W_enc")
    close(theirs.W_dec.detach().numpy(), ours.W_dec_, "W_dec")
    close(theirs.b_enc.detach().numpy(), ours.b_enc_, "b_enc")
    close(theirs.b_dec.detach().numpy(), ours.b_dec_, "b_dec")
    assert float(theirs.topk_threshold) == float(ours.threshold_[0])
    # SAELens' own inference form of it (JumpReLU with the threshold) gives Lamina's codes.
    theirs.save_inference_model(str(tmp_path / "inf"))
    inf = JumpReLUSAE.load_from_disk(str(tmp_path / "inf"))
    with torch.no_grad():
        z = inf.encode(torch.from_numpy(X))
        xhat = inf.decode(z)
    close(ours.encode(X), z.numpy(), "codes")
    close(ours.reconstruct(X), xhat.numpy(), "reconstruction")
    # SAELens' training loss terms on a batch, with the codes of its BatchTopK: each prefix's MSE.
    from sae_lens.saes.sae import TrainStepInput
    xb = torch.from_numpy(X[:100])
    with torch.no_grad():
        import dataclasses
        kw = dict(sae_in=xb, coefficients={}, dead_neuron_mask=None, n_training_steps=0, is_logging_step=False)
        names = {f.name for f in dataclasses.fields(TrainStepInput)}
        out = theirs.training_forward_pass(TrainStepInput(**{k: v for k, v in kw.items() if k in names}))
        acts = out.feature_acts.numpy().astype(np.float64)
    Wd, bd = ours.W_dec_.astype(np.float64), ours.b_dec_.astype(np.float64)
    for m in WIDTHS[:-1]:
        want = (((acts[:, :m] @ Wd[:m] + bd) - X[:100]) ** 2).sum(1).mean()
        assert float(out.losses[f"inner_mse_loss_{m}"]) == pytest.approx(want, rel=1e-4)
