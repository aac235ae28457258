"""The tour's workbench step (examples/python/workbench_demo.py, issue 13's demo) on the bundled real
activations: the activation stores hold exactly the layer-3 rows of the split (float16, as in the file),
the Matryoshka SAE is trained from the training store (its step and token counts are those of the store's
rows), the printed evaluation table is the suite's result on the rows read back from the held-out store,
the dashboard is written with the sentences and the target word of each top row (the bundled character
spans), and the screenshot is a PNG when Chromium is installed or is reported as skipped with the reason
when it is not; then `tour.py --steps workbench` end to end without a browser on PATH."""
from __future__ import annotations

import importlib
import json
import os
import struct
import subprocess
import sys

import numpy as np
import pytest

from lamina import dashboard as DB
from lamina import io

from conftest import REPO

EXAMPLES = REPO / "examples" / "python"
DATA = REPO / "examples" / "data" / "minilm_wordnet.h5"
EPOCHS = 3


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    pytest.importorskip("h5py")
    sys.path.insert(0, str(EXAMPLES))
    try:
        module = importlib.import_module("workbench_demo")
    finally:
        sys.path.remove(str(EXAMPLES))
    out = tmp_path_factory.mktemp("workbench")
    return module, module.run(DATA, out, epochs=EPOCHS), out


def test_stores_hold_the_split_rows_exactly(demo):
    _, res, out = demo
    X = io.read_activations(DATA, "/target/layer_3")
    for part, idx in (("train", res["train"]), ("heldout", res["held"])):
        path = res["stores"][part]
        assert path == out / "workbench_store" / part and (path / "MANIFEST.json").is_file()
        assert io.store_info(path, "layer_3") == (len(idx), 384, "float16")
        np.testing.assert_array_equal(io.read_store(path, "layer_3"), X[idx])
    assert len(res["train"]) + len(res["held"]) == 2400 and not set(res["train"]) & set(res["held"])


def test_sae_trained_from_the_store(demo):
    _, res, _ = demo
    sae = res["sae"]
    assert sae.architecture == "matryoshka_batchtopk" and list(sae.group_widths) == [96, 384, 1536]
    assert sae.n_tokens_ == EPOCHS * len(res["train"])
    assert sae.n_steps_ == EPOCHS * -(-len(res["train"]) // 128)


def test_evaluation_is_the_suite_on_the_held_out_store(demo):
    _, res, out = demo
    X = io.read_activations(DATA, "/target/layer_3")
    m = res["sae"].evaluate(X[res["held"]])
    rep = res["report"]
    assert rep["reconstruction"]["fvu"] == pytest.approx(m["fvu"], rel=1e-5)
    assert rep["sparsity"]["l0"] == pytest.approx(m["l0"], rel=1e-5)
    saved = json.loads((out / "workbench_eval.json").read_text())
    assert saved  # SAEBench's layout is checked by test_sae_eval_suite.py


def test_dashboard_highlights_the_target_words(demo):
    _, res, out = demo
    import h5py
    with h5py.File(DATA, "r") as f:
        sentences = [s.decode() for s in f["text/sentence"][:]]
        spans = f["text/char_span"][:]
    index = res["index"]
    assert index == str(out / "dashboard" / "index.html") and os.path.isfile(index)
    js = (out / "dashboard" / "dashboard-data.js").read_text()
    data = json.loads(js[js.index("=") + 1:].rstrip().rstrip(";"))
    assert data["n_rows"] == 2400 and data["n_latents"] == 1536 and data["top_n"] == 10
    X = io.read_activations(DATA, "/target/layer_3")
    stats = res["sae"].latent_statistics(X, top_n=10)
    assert [[t["row"] for t in lat["top"]] for lat in data["latents"]] == \
        [[int(r) for r in rows if r >= 0] for rows in stats.top_rows]
    assert data["rows"]
    for row, info in data["rows"].items():
        r = int(row)
        assert info["text"] == sentences[r] and info["span"] == [int(spans[r, 0]), int(spans[r, 1])]


def test_screenshot_or_the_reason(demo):
    _, res, out = demo
    if DB.find_chromium() is None:
        assert res["png"] is None and "no headless Chromium" in res["screenshot_note"]
        return
    assert res["screenshot_note"] is None and res["png"] == str(out / "workbench_dashboard.png")
    data = (out / "workbench_dashboard.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", data[16:24]) == (1400, 1000)


def test_rerun_replaces_its_stores_and_refuses_a_foreign_directory(demo, tmp_path):
    module, _, _ = demo
    rows = np.arange(600 * 4, dtype=np.float16).reshape(600, 4)
    path = tmp_path / "s"
    assert module.write_store(path, rows) == (600, 4, "float16")
    assert module.write_store(path, rows[:300]) == (300, 4, "float16")    # replaced, not appended
    foreign = tmp_path / "notastore"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="not an activation store"):
        module.write_store(foreign, rows)
    assert (foreign / "keep.txt").read_text() == "mine"


def test_tour_workbench_step_without_a_browser(tmp_path):
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO / "bindings" / "python") + os.pathsep + env.get("PYTHONPATH", "")
    env["PATH"] = str(tmp_path)   # no chromium reachable: the step must say that the screenshot was skipped
    run = subprocess.run([sys.executable, str(EXAMPLES / "tour.py"), "--steps", "workbench",
                          "--out", str(tmp_path / "out" / "tour.png")], env=env, capture_output=True, text=True,
                         timeout=900)
    assert run.returncode == 0, run.stderr[-4000:]
    for text in ("activation store", "trained from the store", "held-out metric", "k-sparse probing",
                 f"latent dashboard over all 2400 rows (top 10 sentences per latent, target word highlighted): "
                 f"{tmp_path / 'out' / 'dashboard' / 'index.html'}",
                 "dashboard screenshot SKIPPED: no headless Chromium", "apt-get install chromium", "[workbench:"):
        assert text in run.stdout, run.stdout[-3000:]
    assert (tmp_path / "out" / "dashboard" / "index.html").is_file()
    assert not (tmp_path / "out" / "workbench_dashboard.png").exists()
