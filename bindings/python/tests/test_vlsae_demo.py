"""The tour's vlsae step (examples/python/vlsae_demo.py) on the bundled stand-in pairs: it prints the
concept report of a few latents (top images and captions), draws them into a PNG, prints the agreement
against shuffled pairs and the zero-shot accuracies; the raw-cosine accuracy is checked against numpy
and the concept-level ones against chance."""
from __future__ import annotations

import importlib
import re
import sys

import numpy as np
import pytest

from conftest import REPO

EXAMPLES = REPO / "examples" / "python"
DATA = REPO / "examples" / "data" / "digits_captions.npz"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    sys.path.insert(0, str(EXAMPLES))
    try:
        module = importlib.import_module("vlsae_demo")
    finally:
        sys.path.remove(str(EXAMPLES))
    out = tmp_path_factory.mktemp("vlsae")
    import contextlib
    import io
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        result = module.run(DATA, out)
    return result, buf.getvalue(), out


def test_demo_prints_the_concept_report_agreement_and_zero_shot(demo):
    result, text, out = demo
    assert "stand-in pairs" in text
    latents = re.findall(r"^latent \d+: fires on", text, flags=re.M)
    assert len(latents) >= 2, text                       # concept report of a few latents
    assert text.count("top images (digit, activation):") == len(latents)
    assert re.search(r"cross-modal agreement .*: paired ([\d.]+), shuffled ([\d.]+)", text)
    assert result["agreement"] > result["agreement_shuffled"] + 0.02, result
    assert "zero-shot accuracy on held-out digits" in text
    if importlib.util.find_spec("matplotlib") is not None:
        png = out / "vlsae_concepts.png"
        assert png.exists() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_demo_zero_shot_raw_matches_numpy_and_concepts_beat_chance(demo):
    result = demo[0]
    D = np.load(DATA)
    held = ~D["train"]
    V = D["vision"][held].astype(np.float64)
    P = D["prompt_embeddings"].astype(np.float64)
    cos = (V / np.linalg.norm(V, axis=1, keepdims=True)) @ (P / np.linalg.norm(P, axis=1, keepdims=True)).T
    raw = np.mean(np.argmax(cos, axis=1) == D["labels"][held])
    assert result["raw"] == pytest.approx(raw, abs=1e-12)
    for name in ("concept", "mixed"):
        assert 0.3 < result[name] <= 1.0, result           # chance is 0.1 (10 digits)
