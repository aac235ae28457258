"""The dashboard in headless Chromium (Debian package `chromium`): it opens from disk with no server,
its own data loads (the page writes data-loaded / data-latents / data-rows on <body>, read back with
--dump-dom), the table and the top examples with highlighted tokens are in the DOM, nothing is logged
to the console (--enable-logging=stderr prints console messages and uncaught errors as CONSOLE lines),
and a screenshot is taken. Skipped when Chromium is not installed, unless LAMINA_REQUIRE_CHROMIUM=1
(`make test-dashboard` installs Chromium and sets it)."""
from __future__ import annotations

import os
import re
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

from lamina import dashboard as DB
from lamina.sae import SparseAutoencoder

DATA = Path(__file__).resolve().parents[3] / "examples" / "data" / "minilm_wordnet.h5"

if DB.find_chromium() is None:
    if os.environ.get("LAMINA_REQUIRE_CHROMIUM") == "1":
        raise RuntimeError("LAMINA_REQUIRE_CHROMIUM=1 but no chromium is installed (apt-get install chromium)")
    pytest.skip("headless Chromium is not installed (make test-dashboard installs it)", allow_module_level=True)


def run_chromium(index, args, tmp_path):
    url = "file://" + str(Path(index).resolve())
    cmd = DB._chromium_args(url, [f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0", *args])
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180)


@pytest.fixture(scope="module")
def real_dashboard(tmp_path_factory):
    h5py = pytest.importorskip("h5py")
    with h5py.File(DATA, "r") as f:
        X = f["target/layer_3"][:].astype(np.float32)
        sentences = [s.decode() if isinstance(s, bytes) else s for s in f["text/sentence"][:]]
        spans = f["text/char_span"][:]
    sae = SparseAutoencoder(n_latents=256, k=16, batch_size=256, random_state=0).fit(X, epochs=2)
    out = tmp_path_factory.mktemp("dash")
    index = sae.dashboard(X, texts=sentences, tokens=spans, path=out / "dashboard", top_n=10)
    return index, sae.latent_statistics(X, top_n=10), sentences, spans


def test_page_loads_its_data(real_dashboard, tmp_path):
    index, stats, sentences, spans = real_dashboard
    r = run_chromium(index, ["--dump-dom"], tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    dom = r.stdout
    body = re.search(r"<body([^>]*)>", dom).group(1)
    attrs = dict(re.findall(r'data-([a-z]+)="([^"]*)"', body))
    assert attrs.get("loaded") == "ok", (attrs, r.stderr[-2000:])
    assert attrs["latents"] == "256"
    alive = int((stats.count > 0).sum())
    assert int(attrs["rows"]) == min(alive, 1000) == dom.count('<tr class="lat')
    assert f"loaded 256 latents over 2400 rows ({alive} alive)" in dom
    # the latent shown first is the densest; its top examples are its top rows with the token marked
    first = int(attrs["shown"])
    assert first == int(np.lexsort((np.arange(256), -stats.count))[0])
    marks = re.findall(r"<mark>([^<]*)</mark>", dom)
    want = []
    for row in stats.top_rows[first]:
        if row >= 0:
            a, b = spans[row]
            want.append(sentences[row][a:b])
    import html
    assert [html.unescape(m) for m in marks] == want
    assert dom.count("<svg") == 2 and dom.count("<rect") > 10
    console = [ln for ln in r.stderr.splitlines() if "CONSOLE" in ln]
    assert not console, console


def test_screenshot(real_dashboard, tmp_path):
    index = real_dashboard[0]
    png = tmp_path / "dashboard.png"
    assert DB.screenshot(index, png, width=1200, height=900) == png
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20000
    w, h = struct.unpack(">II", data[16:24])
    assert (w, h) == (1200, 900)


def test_missing_data_file_is_reported_by_the_page(real_dashboard, tmp_path):
    index = Path(real_dashboard[0])
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "index.html").write_text(index.read_text())
    r = run_chromium(broken / "index.html", ["--dump-dom"], tmp_path)
    assert 'data-loaded="error"' in r.stdout and "dashboard-data.js did not load" in r.stdout


def test_workbench_dashboard_writes_page_and_png(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((800, 16)).astype(np.float32)
    sae = SparseAutoencoder(n_latents=32, k=4, batch_size=128, random_state=0).fit(X)
    index, png, note = DB.workbench_dashboard(sae, X, texts=[f"row {i}" for i in range(800)], out=tmp_path / "out")
    assert note is None
    assert Path(index) == tmp_path / "out" / "dashboard" / "index.html" and Path(index).is_file()
    assert Path(png) == tmp_path / "out" / "dashboard.png" and Path(png).read_bytes()[:4] == b"\x89PNG"
