"""Per-latent statistics of a sparse autoencoder and a static HTML dashboard of its latents.

    stats = sae.latent_statistics(X, top_n=20)          # one streamed pass (liblamina)
    stats.frequency, stats.mean, stats.mean_firing, stats.max, stats.quantile(0.5), stats.top_rows
    both = stats_a.merge(stats_b)                        # shards of disjoint rows (give each its row_offset)
    sae.dashboard(X, texts=sentences, tokens=spans, path="out/dashboard")

Statistics (lamina_sae_latent_statistics in include/lamina.h is the spec): a latent fires on a row when
its code z > 0. count, sum (float64), max, min_nonzero, a histogram of the positive codes with 16 linear
sub-bins per octave over [2^-16, 2^16) (512 bins; quantiles read from it are within 1/32 relative of the
exact order statistic), and the top_n rows by value (ties by lower row index). Merge rule: n_rows, count,
sum and histogram add; max is the max; min_nonzero the min where the latent fired; top is the top_n of the
union. Everything but the float64 sum is then bit-identical to one pass over all rows.

The dashboard is a directory with index.html and dashboard-data.js (the data as one JavaScript
assignment, so the page opens from disk with no server and fetches nothing): a sortable latent table
(firing frequency, max, mean), the density histogram (log10 firing frequency) and, per latent, its
activation histogram and top examples, with the text and the activating token highlighted when
texts/tokens are given. Plots are inline SVG drawn by the page's own script.
"""
from __future__ import annotations

import ctypes
import json
import math
import os
import shutil
import subprocess
import tempfile

import numpy as np

from . import _native as N
from .errors import InvalidArgumentError, LaminaIOError, ShapeMismatchError

BINS = N.LAMINA_SAE_STATS_BINS
_BIN_BASE = 1776


def bin_edges():
    """The 513 nominal bin edges (float64): bin b covers [edges[b], edges[b+1]); bin 0 also takes every
    positive value below edges[0] = 2^-16 and bin 511 every value from edges[511] up."""
    bits = ((np.arange(BINS + 1, dtype=np.uint32) + _BIN_BASE) << 19).astype(np.uint32)
    return bits.view(np.float32).astype(np.float64)


def bin_of(values):
    """The histogram bin of each positive float32 value (the library's rule, exactly)."""
    v = np.ascontiguousarray(values, dtype=np.float32)
    return np.clip((v.view(np.uint32) >> 19).astype(np.int64) - _BIN_BASE, 0, BINS - 1)


class LatentStatistics:
    """Per-latent statistics over n_rows rows (arrays of length n_latents unless noted):
    count (int64), sum (float64), max, min_nonzero (float32), histogram (n_latents, 512) int64,
    top_rows (n_latents, top_n) int64 (-1 = unused), top_values (n_latents, top_n) float32."""

    __slots__ = ("n_rows", "count", "sum", "max", "min_nonzero", "histogram", "top_rows", "top_values")

    def __init__(self, n_rows, count, sum, max, min_nonzero, histogram, top_rows, top_values):  # noqa: A002
        self.n_rows = int(n_rows)
        self.count, self.sum, self.max = count, sum, max
        self.min_nonzero, self.histogram = min_nonzero, histogram
        self.top_rows, self.top_values = top_rows, top_values

    @classmethod
    def empty(cls, n_latents, top_n):
        return cls(0, np.zeros(n_latents, np.int64), np.zeros(n_latents, np.float64), np.zeros(n_latents, np.float32),
                   np.zeros(n_latents, np.float32), np.zeros((n_latents, BINS), np.int64),
                   np.full((n_latents, top_n), -1, np.int64), np.zeros((n_latents, top_n), np.float32))

    @property
    def n_latents(self):
        return self.count.shape[0]

    @property
    def top_n(self):
        return self.top_rows.shape[1]

    @property
    def frequency(self):
        """Firing frequency count / n_rows (the latent density)."""
        return self.count / max(self.n_rows, 1)

    @property
    def mean(self):
        """Mean code over all rows (sum / n_rows)."""
        return self.sum / max(self.n_rows, 1)

    @property
    def mean_firing(self):
        """Mean code over the rows where the latent fires (sum / count; 0 for a dead latent)."""
        return np.divide(self.sum, self.count, out=np.zeros_like(self.sum), where=self.count > 0)

    def quantile(self, q):
        """Estimated q-quantiles (q scalar or 1-D, in [0, 1]) of each latent's positive codes: the order
        statistic of rank max(1, ceil(q count)) (numpy's method="inverted_cdf") read from the histogram
        as its bin's midpoint clamped to [min_nonzero, max]; within 1/32 relative of the exact value for
        values in bins 1..510. Shape (n_latents,) or (n_latents, len(q)); NaN for a dead latent."""
        qs = np.atleast_1d(np.asarray(q, dtype=np.float64))
        if qs.ndim != 1 or not np.all((qs >= 0) & (qs <= 1)):
            raise InvalidArgumentError(f"q={q!r}; expected values in [0, 1]")
        edges = bin_edges()
        mid = (edges[:-1] + edges[1:]) / 2
        cum = np.cumsum(self.histogram, axis=1)
        out = np.full((self.n_latents, qs.size), np.nan)
        alive = self.count > 0
        for i, qv in enumerate(qs):
            rank = np.maximum(1, np.ceil(qv * self.count)).astype(np.int64)
            b = np.minimum((cum < rank[:, None]).sum(axis=1), BINS - 1)   # first bin with cum >= rank
            est = np.clip(mid[b], self.min_nonzero.astype(np.float64), self.max.astype(np.float64))
            out[:, i] = np.where(alive, est, np.nan)
        return out[:, 0] if np.ndim(q) == 0 else out

    def merge(self, other):
        """The statistics of the union of two disjoint row sets (the documented merge rule)."""
        if not isinstance(other, LatentStatistics):
            raise InvalidArgumentError(f"other is {type(other).__name__}; expected LatentStatistics")
        if other.n_latents != self.n_latents or other.top_n != self.top_n:
            raise ShapeMismatchError(f"other has n_latents = {other.n_latents}, top_n = {other.top_n}; "
                                     f"expected {self.n_latents}, {self.top_n}")
        both = lambda a, b: np.where((self.count > 0) & (other.count > 0), np.minimum(a, b), np.maximum(a, b))  # noqa: E731
        rows = np.concatenate([self.top_rows, other.top_rows], axis=1)
        vals = np.concatenate([self.top_values, other.top_values], axis=1)
        # order: used slots first, value descending, row ascending
        key_rows = np.where(rows < 0, np.iinfo(np.int64).max, rows)
        order = np.lexsort((key_rows, -vals.astype(np.float64), rows < 0), axis=1)[:, :self.top_n]
        return LatentStatistics(self.n_rows + other.n_rows, self.count + other.count, self.sum + other.sum,
                                np.maximum(self.max, other.max), both(self.min_nonzero, other.min_nonzero).astype(np.float32),
                                self.histogram + other.histogram, np.take_along_axis(rows, order, axis=1),
                                np.take_along_axis(vals, order, axis=1))

    def __eq__(self, other):
        return isinstance(other, LatentStatistics) and self.n_rows == other.n_rows and all(
            np.array_equal(getattr(self, k), getattr(other, k)) for k in self.__slots__[1:])

    def __repr__(self):
        return f"LatentStatistics(n_rows={self.n_rows}, n_latents={self.n_latents}, top_n={self.top_n})"


def latent_statistics(sae, X, *, top_n=20, dataset=None, row_offset=0, accumulate=None, callback=None):
    """One streamed pass of `sae` over X (array (n, d_in) of float32/float16/bfloat16, or an HDF5 file
    path with `dataset`). Rows are numbered row_offset + i. accumulate: a LatentStatistics to merge this
    pass into (in the library; it is not modified, a new result is returned). callback(info) after each
    chunk of 4096 rows; returning True cancels (lamina.CancelledError)."""
    from .sae import _clamp32, _training_array  # noqa: PLC0415 - sae imports this module lazily
    from ._base import check_int  # noqa: PLC0415
    handle = sae._fitted()
    top_n = check_int(top_n, "top_n", 0)
    row_offset = check_int(row_offset, "row_offset", 0)
    n_latents = sae._n_latents()
    if accumulate is not None:
        if not isinstance(accumulate, LatentStatistics):
            raise InvalidArgumentError(f"accumulate is {type(accumulate).__name__}; expected LatentStatistics or None")
        if accumulate.n_latents != n_latents or accumulate.top_n != top_n:
            raise ShapeMismatchError(f"accumulate has n_latents = {accumulate.n_latents}, top_n = {accumulate.top_n}; "
                                     f"expected {n_latents}, {top_n}")
        s = LatentStatistics(accumulate.n_rows, *(np.array(getattr(accumulate, k)) for k in LatentStatistics.__slots__[1:]))
    else:
        s = LatentStatistics.empty(n_latents, _clamp32(top_n))
    n_rows = ctypes.c_int64(s.n_rows)
    fn, errors = N.progress_callback(callback, bool)
    outs = (ctypes.byref(n_rows), N.lptr(s.count), N.dptr(s.sum), N.fptr(s.max), N.fptr(s.min_nonzero),
            N.lptr(s.histogram), N.lptr(s.top_rows), N.fptr(s.top_values), fn, None)
    flag = 0 if accumulate is None else 1
    try:
        if isinstance(X, (str, os.PathLike)):
            N.call("lamina_sae_latent_statistics_h5", handle, os.fsencode(X), N.dataset_name(dataset), row_offset,
                   _clamp32(top_n), flag, *outs)
        else:
            x, code = _training_array(X)
            N.call("lamina_sae_latent_statistics", handle, x.ctypes.data_as(ctypes.c_void_p), code, x.shape[0],
                   x.shape[1], row_offset, _clamp32(top_n), flag, *outs)
    except Exception:
        N.raise_callback_error(errors)
        raise
    s.n_rows = n_rows.value
    return s


# -- the dashboard -----------------------------------------------------------------------------------

_DATA_FILE = "dashboard-data.js"


def _highlight_spans(texts, tokens, n):
    """Per row (start, end) of the activating token in its text, or None."""
    if tokens is None:
        return None
    spans = (isinstance(tokens, np.ndarray) and tokens.dtype.kind in "iu") or not all(isinstance(t, str) for t in tokens)
    if texts is None and spans:
        raise InvalidArgumentError("tokens are character spans but texts is None; pass texts= (the spans index "
                                   "into them) or tokens as strings")
    if isinstance(tokens, np.ndarray) and tokens.dtype.kind in "iu":
        if tokens.shape != (n, 2):
            raise ShapeMismatchError(f"tokens has shape {tokens.shape}; expected ({n}, 2) character spans or {n} strings")
        return tokens.astype(np.int64)
    if len(tokens) != n:
        raise ShapeMismatchError(f"tokens has {len(tokens)} entries; X has {n} rows")
    return list(tokens)


def _row_info(row, texts, spans):
    """The text of a row and the span of its activating token (or the token alone)."""
    info = {}
    if texts is not None:
        text = str(texts[row])
        info["text"] = text
        if spans is not None:
            sp = spans[row]
            if isinstance(sp, str):
                at = text.find(sp)
                if at >= 0:
                    info["span"] = [at, at + len(sp)]
                info["token"] = sp
            else:
                a, b = int(sp[0]), int(sp[1])
                if 0 <= a <= b <= len(text):
                    info["span"] = [a, b]
    elif spans is not None and isinstance(spans[row], str):
        info["token"] = spans[row]
    return info


def dashboard_data(stats, texts=None, tokens=None, title="SAE latents"):
    """The dashboard's data (a JSON-able dict) from LatentStatistics (rows of texts/tokens are the rows
    the statistics were computed on, numbered from 0): per latent its figures, "hist" ([bin, count] of
    the non-empty bins) and "top" ([{row, value}]); "rows" maps each top row (as a string) to its
    "text", "span" [start, end) of the token and/or "token", once however many latents share it."""
    n = stats.n_rows
    if texts is not None and len(texts) != n:
        raise ShapeMismatchError(f"texts has {len(texts)} entries; the statistics cover {n} rows")
    spans = _highlight_spans(texts, tokens, n)
    freq, mean, mean_f = stats.frequency, stats.mean, stats.mean_firing
    q = stats.quantile([0.5, 0.9])
    latents, rows = [], {}
    for j in range(stats.n_latents):
        h = stats.histogram[j]
        nz = np.nonzero(h)[0]
        top = [{"row": int(r), "value": float(v)} for r, v in zip(stats.top_rows[j], stats.top_values[j]) if r >= 0]
        if texts is not None or spans is not None:
            for t in top:
                if str(t["row"]) not in rows:
                    rows[str(t["row"])] = _row_info(t["row"], texts, spans)
        latents.append({
            "id": j, "count": int(stats.count[j]), "frequency": float(freq[j]), "max": float(stats.max[j]),
            "mean": float(mean[j]), "mean_firing": float(mean_f[j]),
            "median": None if math.isnan(q[j, 0]) else float(q[j, 0]),
            "p90": None if math.isnan(q[j, 1]) else float(q[j, 1]),
            "hist": [[int(b), int(h[b])] for b in nz], "top": top})
    edges = bin_edges()
    return {"title": str(title), "n_rows": int(n), "n_latents": int(stats.n_latents), "top_n": int(stats.top_n),
            "bin_edges": [float(e) for e in edges], "latents": latents, "rows": rows}


def _check_target(path):
    path = os.fspath(path)
    if os.path.isfile(path) or (os.path.exists(path) and not os.path.isdir(path)):
        raise LaminaIOError(f"dashboard path {path!r} exists and is not a directory; expected a new path or a dashboard directory")
    if os.path.isdir(path):
        entries = set(os.listdir(path))
        if entries and not {"index.html", _DATA_FILE} <= entries:
            raise LaminaIOError(f"dashboard path {path!r} is a directory that holds other files ({sorted(entries)[:5]}); "
                                "expected a new path, an empty directory or a previous dashboard")
    return path


def write_dashboard(data, path):
    """Writes index.html + dashboard-data.js into `path` atomically (a temporary directory next to it,
    then renamed; a previous dashboard there is replaced). Returns the path of index.html."""
    path = _check_target(path)
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".dashboard-", dir=parent)
    try:
        blob = json.dumps(data, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")
        with open(os.path.join(tmp, _DATA_FILE), "w", encoding="utf-8") as f:
            f.write("window.LAMINA_DASHBOARD = " + blob + ";\n")
            f.flush()
            os.fsync(f.fileno())
        with open(os.path.join(tmp, "index.html"), "w", encoding="utf-8") as f:
            f.write(_PAGE)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o755)
        old = None
        if os.path.isdir(path):
            old = tempfile.mkdtemp(prefix=".dashboard-old-", dir=parent)
            os.rename(path, os.path.join(old, "d"))
        os.rename(tmp, path)
        tmp = None
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except OSError as exc:
        raise LaminaIOError(f"cannot write the dashboard to {path!r}: {exc}") from exc
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    return os.path.join(path, "index.html")


def dashboard(sae, X, texts=None, tokens=None, path="out/dashboard", *, top_n=20, dataset=None, statistics=None,
              title="SAE latents", callback=None):
    """Computes the statistics of X (unless `statistics` is given) and writes the dashboard to `path`.
    texts: one string per row (its context); tokens: per row the activating token as a string (its first
    occurrence in the text is highlighted) or an (n, 2) int array of character spans. Returns the path of
    index.html."""
    _check_target(path)
    stats = statistics if statistics is not None else latent_statistics(sae, X, top_n=top_n, dataset=dataset,
                                                                           callback=callback)
    return write_dashboard(dashboard_data(stats, texts, tokens, title), path)


CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")


def find_chromium():
    """The path of a Chromium / Chrome on PATH (names in CHROMIUM_NAMES), or None."""
    for name in CHROMIUM_NAMES:
        p = shutil.which(name)
        if p:
            return p
    return None


def _chromium_args(url, extra, browser=None):
    return [browser or find_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--allow-file-access-from-files", "--virtual-time-budget=5000", *extra, url]


def screenshot(index_html, png, width=1400, height=1000, timeout=120):
    """Saves a PNG (width x height) of the dashboard page `index_html` with headless Chromium (Debian
    package `chromium`) and returns `png` (as given). The PNG is written next to its final name and renamed into
    place, so `png` is either the complete new image or untouched.

    Raises LaminaIOError saying why there is no screenshot: no Chromium on PATH (with how to install it),
    no page at index_html, or Chromium failing, timing out or writing no PNG (its exit status and the
    end of its stderr)."""
    browser = find_chromium()
    if browser is None:
        raise LaminaIOError(f"no headless Chromium to take the screenshot: none of {', '.join(CHROMIUM_NAMES)} is on "
                            f"PATH; install the Debian package chromium (apt-get install chromium, as root; `make demo` "
                            f"and `make test-dashboard` do it when they can)")
    given = png
    index_html, png = os.path.abspath(os.fspath(index_html)), os.path.abspath(os.fspath(png))
    if not os.path.isfile(index_html):
        raise LaminaIOError(f"index_html {index_html!r} is not a file; expected the index.html of a written dashboard")
    parent = os.path.dirname(png)
    if not os.path.isdir(parent):
        raise LaminaIOError(f"png {png!r}: its directory does not exist")
    url = "file://" + index_html
    fd, part = tempfile.mkstemp(prefix=".screenshot-", suffix=".png", dir=parent)
    os.close(fd)
    try:
        with tempfile.TemporaryDirectory() as prof:
            try:
                r = subprocess.run(_chromium_args(url, [f"--user-data-dir={prof}", f"--screenshot={part}",
                                                        f"--window-size={int(width)},{int(height)}"], browser),
                                   capture_output=True, text=True, timeout=timeout)
            except subprocess.TimeoutExpired as exc:
                raise LaminaIOError(f"{browser} did not finish the screenshot of {index_html!r} within {timeout} s") from exc
            except OSError as exc:
                raise LaminaIOError(f"cannot run {browser} for the screenshot: {exc}") from exc
        with open(part, "rb") as f:
            magic = f.read(8)
        if r.returncode != 0 or magic != b"\x89PNG\r\n\x1a\n":
            tail = " | ".join((r.stderr or "").strip().splitlines()[-3:])
            raise LaminaIOError(f"{browser} wrote no PNG screenshot of {index_html!r} (exit status {r.returncode}): {tail}")
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(part, 0o666 & ~mask)   # mkstemp made it 0600; a PNG is as readable as any new file
        os.replace(part, png)
        part = None
    finally:
        if part is not None and os.path.exists(part):
            os.unlink(part)
    return given


def workbench_dashboard(sae, X, texts=None, tokens=None, out="out", *, dataset=None, top_n=20, png_name="dashboard.png",
                        title="SAE latents"):
    """The demo's workbench step: writes <out>/dashboard (index.html + data) and a screenshot
    <out>/<png_name> with headless Chromium. Returns (path of index.html, path of the PNG or None, None or
    the reason there is no screenshot -- the LaminaIOError message of `screenshot`): the page is written
    even when no browser can take its picture, and the caller is told why."""
    index = dashboard(sae, X, texts=texts, tokens=tokens, path=os.path.join(out, "dashboard"), top_n=top_n,
                      dataset=dataset, title=title)
    try:
        return index, screenshot(index, os.path.join(out, png_name)), None
    except LaminaIOError as exc:
        return index, None, str(exc)


_PAGE = r"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Lamina SAE dashboard</title>
<style>
body{font:13px/1.4 system-ui,sans-serif;margin:12px;color:#222}
h1{font-size:18px;margin:4px 0}h2{font-size:15px;margin:10px 0 4px}
#wrap{display:flex;gap:16px;align-items:flex-start}
#left{flex:0 0 560px}#right{flex:1;min-width:300px}
table{border-collapse:collapse;width:100%}th,td{padding:2px 6px;text-align:right;border-bottom:1px solid #eee}
th{cursor:pointer;background:#f4f4f4;position:sticky;top:0}th.sorted{background:#dde}
tr.lat:hover{background:#f0f6ff;cursor:pointer}tr.sel{background:#dbe9ff}
#tablebox{max-height:560px;overflow:auto;border:1px solid #ddd}
.ex{margin:3px 0;padding:3px;border-left:4px solid #4a7;background:#fafafa}
mark{background:#fd6;padding:0 1px}.val{color:#555;font-family:monospace;margin-right:6px}
svg text{font-size:10px;fill:#444}
</style></head><body>
<h1 id="title">SAE dashboard</h1>
<div id="status">loading data...</div>
<h2>Latent density (log10 firing frequency)</h2><div id="density"></div>
<div id="wrap"><div id="left"><h2>Latents</h2>
<div>show <select id="limit"><option>200</option><option selected>1000</option><option>all</option></select>
 hide dead <input type="checkbox" id="hidedead" checked></div>
<div id="tablebox"><table id="table"><thead><tr>
<th data-k="id">latent</th><th data-k="frequency">density</th><th data-k="max">max</th><th data-k="mean_firing">mean (firing)</th><th data-k="mean">mean (all)</th><th data-k="median">median</th>
</tr></thead><tbody></tbody></table></div></div>
<div id="right"><h2 id="dtitle">Select a latent</h2><div id="dstats"></div><div id="ahist"></div><div id="examples"></div></div></div>
<script src="dashboard-data.js"></script>
<script>
"use strict";
(function(){
const D = window.LAMINA_DASHBOARD;
const st = document.getElementById("status");
if (!D) { st.textContent = "error: dashboard-data.js did not load"; document.body.dataset.loaded = "error"; return; }
const NS = "http://www.w3.org/2000/svg";
function el(tag, attrs, text){ const e = document.createElement(tag); for (const k in attrs||{}) e.setAttribute(k, attrs[k]); if (text!==undefined) e.textContent = text; return e; }
function sv(tag, attrs, text){ const e = document.createElementNS(NS, tag); for (const k in attrs||{}) e.setAttribute(k, attrs[k]); if (text!==undefined) e.textContent = text; return e; }
function fmt(v){ if (v===null||v===undefined) return "-"; if (v===0) return "0"; const a=Math.abs(v); return (a>=1e4||a<1e-3)? v.toExponential(2) : v.toPrecision(3); }
// bars: [[label, count]], draws an SVG bar chart
function bars(target, bins, xlabel, ticks){
  const W=520,H=150,L=40,B=28,T=8; const svg=sv("svg",{width:W,height:H,class:"plot"});
  const m=Math.max(1,...bins.map(b=>b[2]));
  const n=bins.length, w=(W-L-8)/Math.max(n,1);
  bins.forEach((b,i)=>{ const h=(H-B-T)*b[2]/m; const r=sv("rect",{x:L+i*w,y:H-B-h,width:Math.max(w-1,1),height:h,fill:"#4a7"}); r.appendChild(sv("title",{},b[0]+" .. "+b[1]+": "+b[2])); svg.appendChild(r); });
  svg.appendChild(sv("line",{x1:L,y1:H-B,x2:W-8,y2:H-B,stroke:"#888"}));
  svg.appendChild(sv("text",{x:L-4,y:T+8,"text-anchor":"end"},String(m)));
  svg.appendChild(sv("text",{x:L-4,y:H-B,"text-anchor":"end"},"0"));
  (ticks||[]).forEach(t=>{ const x=L+t[0]*w; svg.appendChild(sv("text",{x:x,y:H-B+12,"text-anchor":"middle"},t[1])); });
  svg.appendChild(sv("text",{x:(W+L)/2,y:H-2,"text-anchor":"middle"},xlabel));
  target.replaceChildren(svg); return svg;
}
// density histogram: log10 frequency in 0.25 steps, dead latents separately
const lat = D.latents; const dead = lat.filter(l=>l.count===0).length;
const lf = lat.filter(l=>l.count>0).map(l=>Math.log10(l.frequency));
const lo = lf.length? Math.floor(Math.min(...lf)*4)/4 : -1; const nb = Math.max(1, Math.round((0-lo)*4)+1);
const dens = []; for (let i=0;i<nb;i++) dens.push([ (lo+i/4).toFixed(2), (lo+(i+1)/4).toFixed(2), 0 ]);
lf.forEach(v=>{ let i=Math.floor((v-lo)*4+1e-9); if(i>=nb) i=nb-1; if(i<0) i=0; dens[i][2]++; });
const dticks=[]; for (let i=0;i<=nb;i+=4) dticks.push([i, String(Math.round(lo+i/4))]);
bars(document.getElementById("density"), dens, "log10 firing frequency ("+dead+" dead latents not shown)", dticks);
// table
let key="frequency", desc=true;
const tbody=document.querySelector("#table tbody");
function render(){
  const lim=document.getElementById("limit").value; const hide=document.getElementById("hidedead").checked;
  let rows=lat.filter(l=>!hide||l.count>0);
  rows.sort((a,b)=>{ const x=a[key]===null?-1:a[key], y=b[key]===null?-1:b[key]; return (desc? y-x : x-y) || a.id-b.id; });
  if (lim!=="all") rows=rows.slice(0, +lim);
  const frag=document.createDocumentFragment();
  rows.forEach(l=>{ const tr=el("tr",{class:"lat","data-id":l.id});
    [l.id, fmt(l.frequency), fmt(l.max), fmt(l.mean_firing), fmt(l.mean), fmt(l.median)].forEach(v=>tr.appendChild(el("td",{},String(v))));
    tr.addEventListener("click",()=>show(l.id)); frag.appendChild(tr); });
  tbody.replaceChildren(frag);
  document.querySelectorAll("th").forEach(th=>th.classList.toggle("sorted", th.dataset.k===key));
  document.body.dataset.rows = String(rows.length);
}
document.querySelectorAll("th").forEach(th=>th.addEventListener("click",()=>{ if (key===th.dataset.k) desc=!desc; else { key=th.dataset.k; desc=true; } render(); }));
document.getElementById("limit").addEventListener("change", render);
document.getElementById("hidedead").addEventListener("change", render);
function show(id){
  const l=lat[id]; document.querySelectorAll("tr.sel").forEach(t=>t.classList.remove("sel"));
  const tr=document.querySelector('tr[data-id="'+id+'"]'); if (tr) tr.classList.add("sel");
  document.getElementById("dtitle").textContent="Latent "+id;
  document.getElementById("dstats").textContent="fires on "+l.count+" of "+D.n_rows+" rows (density "+fmt(l.frequency)+"), max "+fmt(l.max)+", mean when firing "+fmt(l.mean_firing)+", median "+fmt(l.median)+", 90th percentile "+fmt(l.p90);
  // activation histogram: the 512 log-spaced bins grouped 4 to a bar (quarter octaves), over the used range
  const ah=document.getElementById("ahist");
  if (l.hist.length===0) { ah.replaceChildren(el("p",{},"never fires")); }
  else {
    const g=4, b0=Math.floor(l.hist[0][0]/g), b1=Math.floor(l.hist[l.hist.length-1][0]/g);
    const E=D.bin_edges, hb=[]; for (let b=b0;b<=b1;b++) hb.push([fmt(E[b*g]), fmt(E[Math.min(b*g+g,E.length-1)]), 0]);
    l.hist.forEach(h=>{ hb[Math.floor(h[0]/g)-b0][2]+=h[1]; });
    const tk=[]; const step=Math.max(1,Math.ceil(hb.length/6)); for (let i=0;i<hb.length;i+=step) tk.push([i, hb[i][0]]);
    bars(ah, hb, "activation (log scale, quarter-octave bins)", tk);
  }
  const ex=document.getElementById("examples"); const frag=document.createDocumentFragment();
  frag.appendChild(el("h2",{},"Top "+l.top.length+" activating rows"));
  l.top.forEach(t=>{ const d=el("div",{class:"ex"}); d.appendChild(el("span",{class:"val"},fmt(t.value)+"  row "+t.row));
    const R=(D.rows||{})[String(t.row)]||{};
    if (R.text!==undefined) { if (R.span) { d.appendChild(document.createTextNode(R.text.slice(0,R.span[0]))); d.appendChild(el("mark",{},R.text.slice(R.span[0],R.span[1]))); d.appendChild(document.createTextNode(R.text.slice(R.span[1]))); }
      else { d.appendChild(document.createTextNode(R.text)); if (R.token!==undefined) { d.appendChild(document.createTextNode("  token: ")); d.appendChild(el("mark",{},R.token)); } } }
    else if (R.token!==undefined) d.appendChild(el("mark",{},R.token));
    frag.appendChild(d); });
  ex.replaceChildren(frag);
  document.body.dataset.shown = String(id);
}
document.getElementById("title").textContent = D.title;
render();
const first = lat.filter(l=>l.count>0).sort((a,b)=>b.frequency-a.frequency||a.id-b.id)[0];
if (first) show(first.id);
st.textContent = "loaded "+D.n_latents+" latents over "+D.n_rows+" rows ("+(D.n_latents-dead)+" alive)";
document.body.dataset.loaded = "ok"; document.body.dataset.latents = String(D.n_latents);
})();
</script></body></html>
"""
