"""The dashboard's screenshot helper without a real browser: with no Chromium on PATH it raises a
LaminaIOError that says so and how to install it, and workbench_dashboard still writes the page and
returns that reason; a stand-in `chromium` (a shell script first on PATH) that fails, writes nothing or
writes a PNG shows that failures are reported with the browser's exit status and stderr, that the
screenshot is taken with the documented arguments and renamed into place, and that a previous PNG is
untouched by a failed attempt."""
from __future__ import annotations

import os
import stat

import numpy as np
import pytest

from lamina import dashboard as DB
from lamina.errors import LaminaIOError
from lamina.sae import SparseAutoencoder

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 8)).astype(np.float32)
    sae = SparseAutoencoder(n_latents=16, k=2, batch_size=64, random_state=0).fit(X)
    out = tmp_path_factory.mktemp("page")
    return sae, X, DB.dashboard(sae, X, path=out / "dashboard")


def fake_browser(tmp_path, monkeypatch, body):
    """PATH = a directory holding only an executable `chromium` running the given shell body."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    exe = bindir / "chromium"
    exe.write_text("#!/bin/sh\n" + body + "\n")
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", str(bindir))
    assert DB.find_chromium() == str(exe)
    return exe


def test_missing_chromium_is_a_clear_error(page, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))   # an empty directory: no browser at all
    assert DB.find_chromium() is None
    with pytest.raises(LaminaIOError, match=r"no headless Chromium.*chromium, chromium-browser, google-chrome.*"
                                            r"apt-get install chromium"):
        DB.screenshot(page[2], tmp_path / "shot.png")
    assert not (tmp_path / "shot.png").exists()


def test_workbench_dashboard_without_chromium_writes_the_page_and_says_why(page, tmp_path, monkeypatch):
    sae, X, _ = page
    monkeypatch.setenv("PATH", str(tmp_path))
    index, png, note = DB.workbench_dashboard(sae, X, texts=[f"row {i}" for i in range(len(X))], out=tmp_path / "out")
    assert os.path.isfile(index) and index == str(tmp_path / "out" / "dashboard" / "index.html")
    assert png is None and "no headless Chromium" in note and "apt-get install chromium" in note
    assert not (tmp_path / "out" / "dashboard.png").exists()


def test_failing_browser_reports_status_and_stderr_and_keeps_the_old_png(page, tmp_path, monkeypatch):
    fake_browser(tmp_path, monkeypatch, 'echo "GPU process crashed: no display" >&2; exit 3')
    old = tmp_path / "shot.png"
    old.write_bytes(PNG + b"old")
    with pytest.raises(LaminaIOError, match=r"wrote no PNG.*exit status 3.*GPU process crashed"):
        DB.screenshot(page[2], old)
    assert old.read_bytes() == PNG + b"old"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".screenshot-")] == []


def test_browser_that_writes_no_png_is_an_error(page, tmp_path, monkeypatch):
    fake_browser(tmp_path, monkeypatch, "exit 0")
    with pytest.raises(LaminaIOError, match=r"wrote no PNG.*exit status 0"):
        DB.screenshot(page[2], tmp_path / "shot.png")
    assert not (tmp_path / "shot.png").exists()


def test_missing_page_is_an_error(tmp_path, monkeypatch):
    fake_browser(tmp_path, monkeypatch, "exit 0")
    with pytest.raises(LaminaIOError, match=r"index_html .* is not a file"):
        DB.screenshot(tmp_path / "nothing" / "index.html", tmp_path / "shot.png")


def test_screenshot_arguments_and_rename(page, tmp_path, monkeypatch):
    args = tmp_path / "args.txt"
    # the stand-in writes a PNG to the --screenshot=<file> argument and records its arguments
    fake_browser(tmp_path, monkeypatch, f'for a in "$@"; do echo "$a" >> {args}; case "$a" in --screenshot=*) '
                                        f'printf "\\211PNG\\r\\n\\032\\n0000" > "${{a#--screenshot=}}";; esac; done')
    png = DB.screenshot(page[2], tmp_path / "shot.png", width=640, height=480)
    assert png == tmp_path / "shot.png"
    assert (tmp_path / "shot.png").read_bytes() == b"\x89PNG\r\n\x1a\n0000"
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE((tmp_path / "shot.png").stat().st_mode) == 0o666 & ~mask
    got = args.read_text().splitlines()
    assert "--headless" in got and "--window-size=640,480" in got
    assert got[-1] == "file://" + os.path.abspath(page[2])
    shot = [a for a in got if a.startswith("--screenshot=")][0]
    assert os.path.dirname(shot[len("--screenshot="):]) == str(tmp_path)    # written next to the target, renamed
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".screenshot-")] == []
