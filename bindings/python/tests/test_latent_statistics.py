"""Per-latent statistics (lamina_sae_latent_statistics) against a numpy reference on the dense codes,
on random data and on the bundled MiniLM activations; the merge property (shards merged in Python or
accumulated in the library equal one pass); the dashboard's generated data (no browser)."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

import lamina
from lamina import dashboard as DB
from lamina.sae import SparseAutoencoder

DATA = Path(__file__).resolve().parents[3] / "examples" / "data" / "minilm_wordnet.h5"


def reference(Z, top_n, row_offset=0):
    """The statistics from dense codes Z (n, n_latents), float64 sums, exact top-N by numpy sorting."""
    n, m = Z.shape
    fire = Z > 0
    out = {"n_rows": n, "count": fire.sum(0).astype(np.int64), "sum": Z.astype(np.float64).sum(0),
           "max": Z.max(0, initial=0).astype(np.float32),
           "min_nonzero": np.where(fire.any(0), np.where(fire, Z, np.inf).min(0), 0).astype(np.float32)}
    hist = np.zeros((m, DB.BINS), np.int64)
    rows_, cols_ = np.nonzero(fire)
    np.add.at(hist, (cols_, DB.bin_of(Z[rows_, cols_])), 1)
    out["histogram"] = hist
    tr = np.full((m, top_n), -1, np.int64)
    tv = np.zeros((m, top_n), np.float32)
    for j in range(m):
        r = np.nonzero(fire[:, j])[0]
        order = np.lexsort((r, -Z[r, j].astype(np.float64)))[:top_n]
        tr[j, :len(order)] = r[order] + row_offset
        tv[j, :len(order)] = Z[r[order], j]
    out["top_rows"], out["top_values"] = tr, tv
    return out


def check(stats, ref):
    assert stats.n_rows == ref["n_rows"]
    for k in ("count", "max", "min_nonzero", "histogram", "top_rows", "top_values"):
        np.testing.assert_array_equal(getattr(stats, k), ref[k], err_msg=k)
    np.testing.assert_allclose(stats.sum, ref["sum"], rtol=1e-6, atol=1e-9)


def check_quantiles(stats, Z, qs=(0.0, 0.1, 0.5, 0.9, 1.0)):
    est = stats.quantile(list(qs))
    edges = DB.bin_edges()
    for j in range(Z.shape[1]):
        v = Z[:, j][Z[:, j] > 0]
        if v.size == 0:
            assert np.all(np.isnan(est[j]))
            continue
        exact = np.quantile(v.astype(np.float64), qs, method="inverted_cdf")
        interior = (exact >= edges[1]) & (exact < edges[511])
        rel = np.abs(est[j] - exact) / exact
        assert np.all(rel[interior] <= 1 / 32 + 1e-12), (j, est[j], exact)
        assert np.all((est[j] >= v.min()) & (est[j] <= v.max()))


def small_sae(X, arch="topk", n_latents=96, **kw):
    params = dict(n_latents=n_latents, architecture=arch, batch_size=256, random_state=0)
    if arch in ("topk", "batchtopk"):
        params["k"] = 8
    params.update(kw)
    return SparseAutoencoder(**params).fit(X)


@pytest.fixture(scope="module")
def rand():
    rng = np.random.default_rng(1)
    X = (rng.standard_normal((2500, 24)) + 0.3 * rng.standard_normal((1, 24))).astype(np.float32)
    return X


@pytest.mark.parametrize("arch", ["topk", "relu"])
@pytest.mark.parametrize("top_n", [0, 1, 7])
def test_random_against_numpy(rand, arch, top_n):
    sae = small_sae(rand, arch)
    Z = sae.encode(rand)
    stats = sae.latent_statistics(rand, top_n=top_n)
    check(stats, reference(Z, top_n))
    check_quantiles(stats, Z)
    np.testing.assert_allclose(stats.frequency, (Z > 0).mean(0))
    np.testing.assert_allclose(stats.mean, Z.astype(np.float64).mean(0), rtol=1e-6, atol=1e-12)
    fire = (Z > 0).sum(0)
    np.testing.assert_allclose(stats.mean_firing[fire > 0], Z.astype(np.float64).sum(0)[fire > 0] / fire[fire > 0], rtol=1e-6)


def test_ties_broken_by_lower_row(rand):
    sae = small_sae(rand)
    X = np.repeat(rand[:300], 3, axis=0)   # every code appears three times: rows 3i, 3i+1, 3i+2
    stats = sae.latent_statistics(X, top_n=6)
    check(stats, reference(sae.encode(X), 6))
    used = stats.top_rows[:, :3]
    alive = stats.count >= 3
    np.testing.assert_array_equal(used[alive] - used[alive][:, :1], np.tile([0, 1, 2], (alive.sum(), 1)))


def test_merge_equals_single_pass(rand):
    sae = small_sae(rand)
    full = sae.latent_statistics(rand, top_n=5)
    # cuts on the encoder's 512-row blocks: OpenBLAS's sgemm may round a row 1 ulp differently with the
    # call's row count (seen on Zen 4), and the merge is bit-exact only on identically encoded rows
    cuts = [0, 512, 1024, 2048, len(rand)]
    parts = [sae.latent_statistics(rand[a:b], top_n=5, row_offset=a) for a, b in zip(cuts, cuts[1:])]
    merged = parts[0]
    for p in parts[1:]:
        merged = merged.merge(p)
    acc = None
    for a, b in zip(cuts, cuts[1:]):
        acc = sae.latent_statistics(rand[a:b], top_n=5, row_offset=a, accumulate=acc)
    for got in (merged, acc, parts[3].merge(parts[1]).merge(parts[0].merge(parts[2]))):
        for k in ("count", "max", "min_nonzero", "histogram", "top_rows", "top_values"):
            np.testing.assert_array_equal(getattr(got, k), getattr(full, k), err_msg=k)
        assert got.n_rows == full.n_rows
        np.testing.assert_allclose(got.sum, full.sum, rtol=1e-12)


def test_real_data_array_float16_and_h5():
    h5py = pytest.importorskip("h5py")
    with h5py.File(DATA, "r") as f:
        X16 = f["target/layer_3"][:]
        sentences = [s.decode() if isinstance(s, bytes) else s for s in f["text/sentence"][:]]
        spans = f["text/char_span"][:]
    X = X16.astype(np.float32)
    sae = small_sae(X, n_latents=256, k=16)
    Z = sae.encode(X)
    ref = reference(Z, 10)
    for s in (sae.latent_statistics(X, top_n=10), sae.latent_statistics(X16, top_n=10),
              sae.latent_statistics(str(DATA), dataset="target/layer_3", top_n=10)):
        check(s, ref)
    stats = sae.latent_statistics(X, top_n=10)
    check_quantiles(stats, Z)
    # h5 shards with offsets merge into the single pass too
    half = sae.latent_statistics(X[:1024], top_n=10)   # cut on a 512-row encoder block (see above)
    both = sae.latent_statistics(X[1024:], top_n=10, row_offset=1024, accumulate=half)
    check(both, ref)
    # the dashboard's data, written and read back without a browser
    data = DB.dashboard_data(stats, texts=sentences, tokens=spans)
    assert data["n_rows"] == 2400 and data["n_latents"] == 256
    j = int(np.argmax(stats.count))
    lat = data["latents"][j]
    assert lat["count"] == ref["count"][j]
    assert [t["row"] for t in lat["top"]] == list(ref["top_rows"][j][ref["top_rows"][j] >= 0])
    t0 = data["rows"][str(lat["top"][0]["row"])]
    a, b = spans[lat["top"][0]["row"]]
    assert t0["text"] == sentences[lat["top"][0]["row"]] and t0["span"] == [int(a), int(b)]
    assert set(data["rows"]) == {str(r) for r in stats.top_rows.ravel() if r >= 0}
    assert sum(c for _, c in lat["hist"]) == lat["count"]


def test_callback_and_cancel(rand):
    sae = small_sae(rand)
    X = np.tile(rand, (4, 1))   # 10,000 rows: 3 chunks
    seen = []
    sae.latent_statistics(X, callback=lambda info: seen.append(info["items"]) and False)
    assert seen == [4096, 8192, 10000]
    before = sae.latent_statistics(rand[:100], top_n=3)
    with pytest.raises(lamina.CancelledError):
        sae.latent_statistics(X, top_n=3, callback=lambda info: True, accumulate=before)
    assert before == sae.latent_statistics(rand[:100], top_n=3)


def read_data_js(index_html):
    text = (Path(index_html).parent / "dashboard-data.js").read_text(encoding="utf-8")
    prefix = "window.LAMINA_DASHBOARD = "
    assert text.startswith(prefix) and text.rstrip().endswith(";")
    return json.loads(text[len(prefix):].rstrip().rstrip(";"))


def test_dashboard_files(rand, tmp_path):
    sae = small_sae(rand)
    texts = [f"row {i} says <b>hi</b> & bye" for i in range(len(rand))]
    tokens = [f"{i}" for i in range(len(rand))]
    index = sae.dashboard(rand, texts=texts, tokens=tokens, path=tmp_path / "dash", top_n=4)
    assert Path(index).name == "index.html"
    assert sorted(os.listdir(tmp_path / "dash")) == ["dashboard-data.js", "index.html"]
    html = Path(index).read_text()
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "") and "https://" not in html
    data = read_data_js(index)
    stats = sae.latent_statistics(rand, top_n=4)
    assert data["n_latents"] == 96 and data["n_rows"] == len(rand)
    for j in range(96):
        lat = data["latents"][j]
        assert lat["count"] == stats.count[j]
        assert lat["max"] == pytest.approx(float(stats.max[j]))
        assert lat["mean"] == pytest.approx(float(stats.mean[j]))
        rows = [t["row"] for t in lat["top"]]
        assert rows == [int(r) for r in stats.top_rows[j] if r >= 0]
        for t in lat["top"]:
            info = data["rows"][str(t["row"])]
            assert info["text"] == texts[t["row"]] and info["token"] == tokens[t["row"]]
            a, b = info["span"]
            assert info["text"][a:b] == tokens[t["row"]]
    # rewriting replaces the previous dashboard atomically; no temporary directory is left behind
    sae.dashboard(rand[:500], path=tmp_path / "dash")
    assert read_data_js(index)["n_rows"] == 500
    assert sorted(os.listdir(tmp_path)) == ["dash"]


def test_dashboard_bad_paths_and_inputs(rand, tmp_path):
    sae = small_sae(rand)
    f = tmp_path / "afile"
    f.write_text("x")
    with pytest.raises(lamina.LaminaIOError, match="exists and is not a directory"):
        sae.dashboard(rand, path=f)
    other = tmp_path / "other"
    other.mkdir()
    (other / "keep.txt").write_text("mine")
    with pytest.raises(lamina.LaminaIOError, match="holds other files"):
        sae.dashboard(rand, path=other)
    assert (other / "keep.txt").read_text() == "mine"
    with pytest.raises(lamina.ShapeMismatchError, match="texts has 3 entries"):
        sae.dashboard(rand, texts=["a", "b", "c"], path=tmp_path / "d2")
    with pytest.raises(lamina.ShapeMismatchError, match="tokens has"):
        sae.dashboard(rand, texts=["t"] * len(rand), tokens=np.zeros((5, 2), int), path=tmp_path / "d3")
    with pytest.raises(lamina.InvalidArgumentError, match="texts is None"):
        sae.dashboard(rand, tokens=np.zeros((len(rand), 2), int), path=tmp_path / "d4")
    assert sorted(os.listdir(tmp_path)) == ["afile", "other"]
    stats = sae.latent_statistics(rand[:10], top_n=2)
    with pytest.raises(lamina.ShapeMismatchError, match="top_n"):
        sae.latent_statistics(rand[:10], top_n=3, accumulate=stats)
    with pytest.raises(lamina.InvalidArgumentError):
        stats.quantile(1.5)
