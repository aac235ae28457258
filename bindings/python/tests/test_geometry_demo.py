"""The tour's geometry step (examples/python/geometry_demo.py) on the bundled real activations: its figures
against direct float64 references (linear CKA from its formula, kernel alignment with a one-hot matrix,
AQI (a) and (b) from scikit-learn's Davies-Bouldin and silhouette with numpy's Dunn and Xie-Beni, the
uniform pooling as the mean of the layers), and `tour.py --steps geometry` end to end."""
from __future__ import annotations

import importlib
import os
import subprocess
import sys

import numpy as np
import pytest

from lamina import audit, io

from conftest import REPO
from test_audit_oracle import check_row, ref_row

EXAMPLES = REPO / "examples" / "python"
DATA = REPO / "examples" / "data" / "minilm_wordnet.h5"


def ref_cka(a, b):
    a = np.asarray(a, np.float64) - np.mean(a, axis=0, dtype=np.float64)
    b = np.asarray(b, np.float64) - np.mean(b, axis=0, dtype=np.float64)
    return np.linalg.norm(b.T @ a) ** 2 / (np.linalg.norm(a.T @ a) * np.linalg.norm(b.T @ b))


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    sys.path.insert(0, str(EXAMPLES))
    try:
        module = importlib.import_module("geometry_demo")
    finally:
        sys.path.remove(str(EXAMPLES))
    out = tmp_path_factory.mktemp("geometry")
    return module.run(DATA, out), out


@pytest.fixture(scope="module")
def real():
    layers = [io.read_activations(DATA, f"/target/layer_{i}") for i in range(7)]
    return layers, io.read_labels(DATA, "/labels/pos"), io.read_activations(DATA, "/sentence/layer_0")


def test_cka_matrix_and_alignment_match_their_formulas(demo, real):
    result, _ = demo
    layers, pos, sentence = real
    c = [np.asarray(h, np.float64) - np.mean(h, axis=0, dtype=np.float64) for h in layers]
    norms = [np.linalg.norm(a.T @ a) for a in c]
    want = np.ones((7, 7))
    for i in range(7):
        for j in range(i + 1, 7):
            want[i, j] = want[j, i] = np.linalg.norm(c[j].T @ c[i]) ** 2 / (norms[i] * norms[j])
    assert abs(want[0, 6] - ref_cka(layers[0], layers[6])) < 1e-12
    np.testing.assert_allclose(result["cka"], want, rtol=1e-9)
    onehot = np.eye(4)[pos]
    np.testing.assert_allclose(result["alignment_word"][:, 0], want[:, 0], rtol=1e-9)
    np.testing.assert_allclose(result["alignment_word"][:, 1], [ref_cka(h, onehot) for h in layers], rtol=1e-9)
    np.testing.assert_allclose(result["alignment_context"][:, 0], [ref_cka(h, sentence) for h in layers], rtol=1e-9)
    np.testing.assert_allclose(result["alignment_context"][:, 1], result["alignment_word"][:, 1], rtol=1e-12)


@pytest.mark.parametrize("variant, key", [("dbs_dunn", "aqi_a"), ("silhouette_xb", "aqi_b")])
def test_aqi_nouns_vs_verbs_per_layer_and_pooled(demo, real, variant, key):
    result, _ = demo
    layers, pos, _ = real
    keep = pos <= 1
    table = result[key]["table"]
    for i, h in enumerate(layers):
        check_row(table[i], ref_row(h[keep], pos[keep], variant))
    pooled = np.mean([np.asarray(h[keep], np.float64) for h in layers], axis=0)
    np.testing.assert_allclose(result[key]["weights"], np.full(7, 1 / 7), rtol=1e-12)
    check_row(table[7], ref_row(pooled, pos[keep], variant), rel=1e-5)
    assert result[key]["pooled"] == table[7, audit.COLUMNS.index("aqi")]
    learned = result[key + "_learned"]
    assert np.all(learned["weights"] >= 0) and abs(learned["weights"].sum() - 1) < 1e-9
    # the learned weights maximise the groups' Calinski-Harabasz ratio, so they separate at least as well
    # by that criterion as uniform pooling
    assert learned["table"][7, audit.COLUMNS.index("aqi")] >= table[7, audit.COLUMNS.index("aqi")]


def test_flare_rows_report_what_the_flags_give(demo):
    """The FLARE part: four settings, each backdoor learnt, and the printed precision / recall are those of
    the returned flags against the known poisoned set (the flags themselves are tested against their
    references in test_flare_oracle.py and test_flare_split_oracle.py)."""
    pytest.importorskip("sklearn")
    result, _ = demo
    rows = result["flare"]
    assert [(r["rate"], r["trigger"]) for r in rows] == [(0.05, "patch"), (0.05, "blend"), (0.1, "patch"), (0.1, "blend")]
    for r in rows:
        truth = r["truth"]
        assert truth.sum() == r["poisoned"] == round(r["rate"] * 1797)
        assert r["attack_success"] > 0.9 and r["clean_accuracy"] > 0.9
        for prefix in ("", "split_"):
            flags = r[prefix + "flags"]
            assert flags.shape == truth.shape and flags.sum() == r[prefix + "flagged"]
            tp = np.count_nonzero(flags & truth)
            assert r[prefix + "precision"] == tp / max(1, flags.sum())
            assert r[prefix + "recall"] == tp / truth.sum()


def test_heatmap_written(demo):
    pytest.importorskip("matplotlib")
    _, out = demo
    assert (out / "geometry_cka.png").stat().st_size > 10_000


def test_tour_geometry_step_runs(tmp_path):
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO / "bindings" / "python") + os.pathsep + env.get("PYTHONPATH", "")
    run = subprocess.run([sys.executable, str(EXAMPLES / "tour.py"), "--steps", "geometry",
                          "--out", str(tmp_path / "tour.png")], env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-4000:]
    for text in ("Linear CKA between layers", "Kernel alignment per layer", "AQI: nouns vs verbs", "FLARE poisoned-sample detection", "[geometry:"):
        assert text in run.stdout
