"""Interop with the real peer packages (`make test-interop`; skipped when they are not installed).

SAELens (sae-lens 6.x) and sparsify (eai-sparsify 1.3) save small random SAEs in every configuration
they can save for the architectures Lamina runs; Lamina loads each one and must give the same codes and
reconstructions (max abs difference <= 1e-5, relative to the largest value when that exceeds 1), or
refuse the file with a FormatError naming the field. The reverse: Lamina's exports load in the real
packages, without a warning, and give the same numbers."""
from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import warnings

import numpy as np
import pytest

# sparsify's Triton decoder needs a GPU; on CPU it must use its eager decoder (the same sum).
os.environ.setdefault("SPARSIFY_DISABLE_TRITON", "1")

torch = pytest.importorskip("torch", reason="torch is not installed (run `make test-interop`)")
sae_lens = pytest.importorskip("sae_lens", reason="sae-lens is not installed (run `make test-interop`)")
sparsify = pytest.importorskip("sparsify", reason="eai-sparsify is not installed (run `make test-interop`)")

import lamina  # noqa: E402
from lamina.sae import SparseAutoencoder, load  # noqa: E402
from sae_lens.saes.jumprelu_sae import JumpReLUSAE, JumpReLUSAEConfig  # noqa: E402
from sae_lens.saes.standard_sae import StandardSAE, StandardSAEConfig  # noqa: E402
from sae_lens.saes.topk_sae import TopKSAE, TopKSAEConfig  # noqa: E402
from sparsify import SparseCoder, SparseCoderConfig  # noqa: E402

D, N, ROWS = 12, 40, 64
TOL = 1e-5


def close(got, want, what):
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    assert got.shape == want.shape, f"{what}: shape {got.shape} vs {want.shape}"
    err = float(np.max(np.abs(got - want))) if got.size else 0.0
    scale = max(1.0, float(np.max(np.abs(want))) if want.size else 1.0)
    assert err <= TOL * scale, f"{what}: max abs difference {err:.3g} (scale {scale:.3g})"


def data(seed=0, d=D):
    return np.random.default_rng(seed).standard_normal((ROWS, d)).astype(np.float32) * 2 + 0.5


@contextlib.contextmanager
def no_warnings():
    """Fails on any Python warning, logging record or text printed to stdout/stderr."""
    out, err = io.StringIO(), io.StringIO()
    records = []

    class Catch(logging.Handler):
        def emit(self, record):
            records.append(record.getMessage())

    handler = Catch(logging.WARNING)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                yield
    finally:
        root.removeHandler(handler)
    msgs = [str(w.message) for w in caught] + records
    text = (out.getvalue() + err.getvalue()).strip()
    assert not msgs and not text, f"warnings: {msgs}; output: {text!r}"


def randomize(sae, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in sae.named_parameters():
            p.copy_(torch.randn(p.shape, generator=g) * (0.3 if p.ndim > 1 else 0.5))
        if hasattr(sae, "threshold"):
            sae.threshold.copy_(torch.rand(sae.threshold.shape, generator=g) * 0.5)


# -- SAELens -> Lamina ------------------------------------------------------------------------------

SAELENS = {"standard": (StandardSAE, StandardSAEConfig), "topk": (TopKSAE, TopKSAEConfig),
           "jumprelu": (JumpReLUSAE, JumpReLUSAEConfig)}
NORMS = ["none", "constant_norm_rescale", "layer_norm"]


def saelens_cases():
    for arch in SAELENS:
        for apply_b_dec in (True, False):
            for norm in NORMS:
                for rescale in ((False, True) if arch == "topk" else (None,)):
                    yield arch, apply_b_dec, norm, rescale


@pytest.mark.parametrize("arch,apply_b_dec,norm,rescale", list(saelens_cases()))
def test_saelens_file_loads_equal(tmp_path, arch, apply_b_dec, norm, rescale):
    cls, cfg_cls = SAELENS[arch]
    kw = dict(d_in=D, d_sae=N, apply_b_dec_to_input=apply_b_dec, normalize_activations=norm)
    if arch == "topk":
        kw.update(k=5, rescale_acts_by_decoder_norm=rescale)
    sae = cls(cfg_cls(**kw))
    randomize(sae, 1)
    sae.save_model(str(tmp_path / "m"))
    X = data()
    with torch.no_grad():
        z = sae.encode(torch.from_numpy(X))
        xhat = sae.decode(z)
    ours = load(tmp_path / "m")
    close(ours.encode(X), z.numpy(), "codes")
    close(ours.reconstruct(X), xhat.numpy(), "reconstruction")
    m = ours.evaluate(X)
    fvu = float(((X - xhat.numpy()) ** 2).sum() / ((X - X.mean(0)) ** 2).sum())
    assert abs(m["fvu"] - fvu) <= 1e-5 * max(1, fvu), (m["fvu"], fvu)
    # Saving what was loaded round-trips through SAELens (the folds give an equal model).
    ours.save(tmp_path / "back")
    with no_warnings():
        again = SAELENS[arch][0].load_from_disk(str(tmp_path / "back"))
    with torch.no_grad():
        z2 = again.encode(torch.from_numpy(X))
        close(z2.numpy(), z.numpy(), "codes after Lamina's re-save")
        close(again.decode(z2).numpy(), xhat.numpy(), "reconstruction after Lamina's re-save")
    if norm != "none":
        with pytest.raises(lamina.InvalidArgumentError, match="normalize_activations"):
            ours.decode(np.zeros((1, N), np.float32))
        with pytest.raises(lamina.LaminaError, match="normalize_activations"):
            ours.fit(X, resume=True)


def test_saelens_batchtopk_saved_as_jumprelu_loads_equal(tmp_path):
    from sae_lens.saes.batchtopk_sae import BatchTopKTrainingSAE, BatchTopKTrainingSAEConfig
    t = BatchTopKTrainingSAE(BatchTopKTrainingSAEConfig(d_in=D, d_sae=N, k=5))
    randomize(t, 2)
    with torch.no_grad():
        t.topk_threshold.fill_(0.4) if hasattr(t, "topk_threshold") else None
    t.save_inference_model(str(tmp_path / "b"))
    cfg = json.loads((tmp_path / "b" / "cfg.json").read_text())
    assert cfg["architecture"] == "jumprelu"
    inf = JumpReLUSAE.load_from_disk(str(tmp_path / "b"))
    X = data(3)
    with torch.no_grad():
        z = inf.encode(torch.from_numpy(X))
        xhat = inf.decode(z)
    ours = load(tmp_path / "b")
    close(ours.encode(X), z.numpy(), "codes")
    close(ours.reconstruct(X), xhat.numpy(), "reconstruction")


@pytest.mark.parametrize("field,value", [("normalize_activations", "expected_average_only_in"),
                                         ("normalize_activations", "covariance_whitening"),
                                         ("architecture", "gated"), ("finetuning_scaling_factor", True),
                                         ("some_future_field", 3), ("activation_fn_str", "tanh-relu")])
def test_saelens_unsupported_fields_are_refused_by_name(tmp_path, field, value):
    sae = StandardSAE(StandardSAEConfig(d_in=D, d_sae=N))
    randomize(sae, 4)
    sae.save_model(str(tmp_path / "m"))
    cfg = json.loads((tmp_path / "m" / "cfg.json").read_text())
    cfg[field] = value
    (tmp_path / "m" / "cfg.json").write_text(json.dumps(cfg))
    with pytest.raises(lamina.FormatError, match=field):
        load(tmp_path / "m")


def test_saelens_hook_z_reshape_is_accepted(tmp_path):
    sae = StandardSAE(StandardSAEConfig(d_in=D, d_sae=N, reshape_activations="hook_z"))
    randomize(sae, 5)
    sae.save_model(str(tmp_path / "m"))
    X = data(5)
    with torch.no_grad():
        z = sae.encode(torch.from_numpy(X).reshape(ROWS, 3, 4))
        xhat = sae.decode(z).reshape(ROWS, D)
    ours = load(tmp_path / "m")
    close(ours.encode(X), z.numpy(), "codes")
    close(ours.reconstruct(X), xhat.numpy(), "reconstruction")


# -- sparsify -> Lamina -----------------------------------------------------------------------------

def sparsify_cases():
    for skip in (False, True):
        for multi in (False, True):
            for normdec in (True, False):
                for sizing in ("num_latents", "expansion_factor"):
                    yield skip, multi, normdec, sizing


def sparsify_forward(sae, X):
    with torch.no_grad():
        x = torch.from_numpy(X)
        acts, idx, _ = sae.encode(x)
        z = torch.zeros(len(X), sae.num_latents).scatter_(-1, idx, acts)
        out = sae.decode(acts, idx)
        if sae.W_skip is not None:
            out = out + x @ sae.W_skip.mT
    return z.numpy(), out.numpy()


@pytest.mark.parametrize("skip,multi,normdec,sizing", list(sparsify_cases()))
def test_sparsify_file_loads_equal(tmp_path, skip, multi, normdec, sizing):
    kw = dict(k=4, skip_connection=skip, multi_topk=multi, normalize_decoder=normdec)
    kw.update(num_latents=N) if sizing == "num_latents" else kw.update(expansion_factor=3)
    sae = SparseCoder(D, SparseCoderConfig(**kw))
    randomize(sae, 6)
    sae.save_to_disk(tmp_path / "s")
    X = data(6)
    z, xhat = sparsify_forward(sae, X)
    ours = load(tmp_path / "s")
    assert ours.n_latents == sae.num_latents and ours.k == 4
    close(ours.encode(X), z, "codes")
    close(ours.reconstruct(X), xhat, "reconstruction")
    ours.save(tmp_path / "back", format="sparsify")
    with no_warnings():
        again = SparseCoder.load_from_disk(tmp_path / "back")
    z2, xhat2 = sparsify_forward(again, X)
    close(z2, z, "codes after Lamina's re-save")
    close(xhat2, xhat, "reconstruction after Lamina's re-save")
    if skip:
        with pytest.raises(lamina.InvalidArgumentError, match="skip connection"):
            ours.save(tmp_path / "x")  # SAELens' layout has no skip connection


@pytest.mark.parametrize("field,value", [("activation", "groupmax"), ("transcode", True), ("some_future_field", 1)])
def test_sparsify_unsupported_fields_are_refused_by_name(tmp_path, field, value):
    kw = dict(k=4, num_latents=N)
    if field == "activation":
        kw["activation"] = value
    if field == "transcode":
        kw["transcode"] = True
    sae = SparseCoder(D, SparseCoderConfig(**kw))
    sae.save_to_disk(tmp_path / "s")
    cfg = json.loads((tmp_path / "s" / "cfg.json").read_text())
    cfg[field] = value
    (tmp_path / "s" / "cfg.json").write_text(json.dumps(cfg))
    with pytest.raises(lamina.FormatError, match=field):
        load(tmp_path / "s")


# -- Lamina -> SAELens / sparsify -------------------------------------------------------------------

def trained(arch):
    rng = np.random.default_rng(7)
    Dict = rng.standard_normal((30, D))
    codes = (rng.random((600, 30)) < 0.15) * rng.exponential(1.0, (600, 30))
    X = (codes @ Dict + 0.05 * rng.standard_normal((600, D))).astype(np.float32)
    extra = dict(k=4) if arch in ("topk", "batchtopk") else dict(l1_coefficient=0.05)
    sae = SparseAutoencoder(D, N, architecture=arch, batch_size=100, lr=5e-3, random_state=1, **extra)
    return X, sae.fit(X, epochs=2)


@pytest.mark.parametrize("arch", ["topk", "batchtopk", "relu", "jumprelu"])
def test_lamina_export_loads_in_saelens(tmp_path, arch):
    X, sae = trained(arch)
    sae.save(tmp_path / "e")
    with no_warnings():
        theirs = sae_lens.SAE.load_from_disk(str(tmp_path / "e"))
    with torch.no_grad():
        z = theirs.encode(torch.from_numpy(X))
        xhat = theirs.decode(z)
    close(sae.encode(X), z.numpy(), "codes")
    close(sae.reconstruct(X), xhat.numpy(), "reconstruction")


def test_lamina_export_loads_in_sparsify(tmp_path):
    X, sae = trained("topk")
    sae.save(tmp_path / "e", format="sparsify")
    with no_warnings():
        theirs = SparseCoder.load_from_disk(tmp_path / "e")
    z, xhat = sparsify_forward(theirs, X)
    close(sae.encode(X), z, "codes")
    close(sae.reconstruct(X), xhat, "reconstruction")
    # Lamina's own parameters survive next to cfg.json.
    back = load(tmp_path / "e")
    assert back.k == 4 and back.batch_size == 100
