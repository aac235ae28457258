#!/usr/bin/env python3
"""Lamina against scikit-learn, side by side in one process.

Times each clustering metric (and k-means) with scikit-learn and with Lamina on the same arrays,
alternating the two (best of --repeat runs), checks that both give the same value, and prints one
table: task, baseline time, Lamina time, ratio (baseline / Lamina), target, PASS/FAIL, relative
difference of the values. Lamina's peak memory for the silhouette is measured in a fresh
subprocess (peak RSS growth of the call alone). See benchmarks/README.md.

    make bench                                                  # full run (5 min idle, ~15 min under load)
    PYTHONPATH=bindings/python python3 benchmarks/bench_metrics.py --quick     # smoke run, seconds
    PYTHONPATH=bindings/python python3 benchmarks/bench_metrics.py --large     # + n = 200,000 scale check
    PYTHONPATH=bindings/python python3 benchmarks/bench_metrics.py --threads 1
"""
from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="small sizes: a smoke run in seconds (targets are not meaningful)")
    p.add_argument("--large", action="store_true",
                   help="also run the Lamina-only scale check: silhouette at n=200,000, d=768 (several minutes)")
    p.add_argument("--large-n", type=int, default=200_000, help="n of the scale check (default 200000)")
    p.add_argument("--threads", type=int, default=None,
                   help="threads for both libraries (Lamina: set_num_threads; scikit-learn/numpy: threadpoolctl "
                        "and OMP/OPENBLAS_NUM_THREADS). Default: all cores for both")
    p.add_argument("--repeat", type=int, default=3, help="timed runs per library and task (best is reported; default 3)")
    p.add_argument("--max-wait", type=float, default=None,
                   help="before each timed run, wait up to this many seconds for other processes to leave the CPUs "
                        "(< 0.25 cores busy), at most 12x this in the whole run; 0 = never wait "
                        "(default 15, 0 with --quick)")
    p.add_argument("--no-reference", action="store_true",
                   help="skip the NumPy reference passes for Dunn / Xie-Beni (point pair) / GDV (they have no "
                        "scikit-learn function; the reference is only there to check the values)")
    p.add_argument("--only", default=None,
                   help="comma-separated subset of task groups: silhouette,db,ch,kmeans,external,other,memory,large")
    p.add_argument("--json", default=None, metavar="PATH", help="also write all measurements to this JSON file")
    p.add_argument("--_child", default=None, help=argparse.SUPPRESS)   # internal: memory-measurement subprocess
    args = p.parse_args(argv)
    if args.max_wait is None:
        args.max_wait = 0.0 if args.quick else 15.0
    return args


ARGS = parse_args()
if ARGS.threads is not None:
    # Before numpy / scikit-learn load their BLAS and OpenMP runtimes (threadpoolctl is applied later too).
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(ARGS.threads)

import numpy as np  # noqa: E402

try:
    import lamina  # noqa: E402
except ImportError:
    sys.path.insert(0, str(REPO / "bindings" / "python"))
    import lamina  # noqa: E402
import lamina.cluster  # noqa: E402
import lamina.metrics as LM  # noqa: E402

try:
    import threadpoolctl  # noqa: E402
except ImportError:
    threadpoolctl = None


# -- sizes ------------------------------------------------------------------------------------------

FULL = dict(n=20_000, d=768, k=10, std=10.0, n_labels=1_000_000, n_true=100, n_pred=120)
QUICK = dict(n=2_000, d=64, k=10, std=10.0, n_labels=100_000, n_true=100, n_pred=120)
KMEANS = dict(n_init=3, max_iter=300, tol=1e-4, random_state=0)
MEMORY_TARGET_MB = 300.0


# -- machine, BLAS, load ----------------------------------------------------------------------------

def read_file(path, default=""):
    try:
        return Path(path).read_text()
    except OSError:
        return default


def cpu_model():
    for line in read_file("/proc/cpuinfo").splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def mem_total_gib():
    for line in read_file("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 2**20
    return float("nan")


def loadavg():
    try:
        return tuple(round(v, 2) for v in os.getloadavg())
    except OSError:
        return (float("nan"),) * 3


CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _cpu_snapshot():
    """(wall clock, CPU seconds used by the whole machine, CPU seconds used by this process)."""
    fields = read_file("/proc/stat").split("\n", 1)[0].split()
    if len(fields) < 8 or fields[0] != "cpu":
        busy = float("nan")
    else:
        v = [int(x) for x in fields[1:9]]   # user nice system idle iowait irq softirq steal
        busy = (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / CLK_TCK
    t = os.times()
    return time.perf_counter(), busy, t.user + t.system


def _others(s0, s1):
    """Cores kept busy by other processes between two snapshots."""
    dt = s1[0] - s0[0]
    if dt <= 0:
        return float("nan")
    return max(0.0, ((s1[1] - s0[1]) - (s1[2] - s0[2])) / dt)


QUIET_CORES = 0.25
_wait_budget = [None]


def wait_quiet(max_wait):
    """Waits (up to max_wait s, and 12 x --max-wait over the whole run) until other processes use
    < QUIET_CORES cores; returns seconds waited."""
    if _wait_budget[0] is None:
        _wait_budget[0] = 12 * ARGS.max_wait
    waited = 0.0
    while True:
        s0 = _cpu_snapshot()
        time.sleep(0.3)
        if (_others(s0, _cpu_snapshot()) < QUIET_CORES or waited >= max_wait
                or waited >= _wait_budget[0]):
            _wait_budget[0] -= waited
            return waited
        time.sleep(1.0)
        waited += 1.3


def apply_threads(n):
    """Returns the threadpoolctl limiter (kept alive for the whole run) or None."""
    if n is None:
        return None
    lamina.set_num_threads(n)
    if threadpoolctl is not None:
        return threadpoolctl.threadpool_limits(limits=n)
    return None


def build_id(path):
    """The ELF build ID of a shared library (readelf -n), or '?'."""
    try:
        out = subprocess.run(["readelf", "-n", str(path)], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return "?"
    for line in out.splitlines():
        if "Build ID:" in line:
            return line.split("Build ID:", 1)[1].strip()
    return "?"


def library_identity():
    """Which liblamina was measured: path, build ID, mtime, and the repository's HEAD and dirty files."""
    path = Path(str(lamina.library_path)).resolve()
    ident = dict(path=str(path), build_id=build_id(path))
    try:
        ident["mtime"] = datetime.datetime.fromtimestamp(path.stat().st_mtime).astimezone().isoformat(timespec="seconds")
    except OSError:
        ident["mtime"] = "?"
    try:
        git = lambda *a: subprocess.run(["git", "-C", str(REPO), *a], capture_output=True, text=True,  # noqa: E731
                                        timeout=10).stdout.strip()
        ident["git_head"] = git("log", "-1", "--format=%h %cd %s", "--date=iso")
        dirty = git("status", "--porcelain", "--", "Sources", "include", "bindings/python/lamina", "Package.swift")
        ident["git_dirty_files"] = len(dirty.splitlines())
    except (OSError, subprocess.SubprocessError):
        ident["git_head"], ident["git_dirty_files"] = "?", -1
    return ident


def environment_report():
    import scipy
    import sklearn
    lines = []
    lines.append(f"date: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}")
    aff = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    lines.append(f"machine: nproc={aff} (os.cpu_count={os.cpu_count()}), CPU: {cpu_model()}, "
                 f"RAM {mem_total_gib():.1f} GiB, {platform.system()} {platform.release()}")
    lines.append(f"load average (1/5/15 min) at start: {loadavg()}")
    lines.append(f"python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}, "
                 f"scikit-learn {sklearn.__version__}, lamina {lamina.__version__} ({lamina.library_path})")
    lib = library_identity()
    lines.append(f"liblamina: build-id {lib['build_id'][:16]}, built {lib['mtime']}; repository HEAD {lib['git_head']}; "
                 f"{lib['git_dirty_files']} uncommitted file(s) under Sources/include/bindings"
                 + (f"; LAMINA_LIBRARY={os.environ['LAMINA_LIBRARY']}" if os.environ.get("LAMINA_LIBRARY") else ""))
    env = {v: os.environ.get(v, "<unset>") for v in
           ("OPENBLAS_CORETYPE", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    lines.append("env: " + ", ".join(f"{k}={v}" for k, v in env.items()))
    lines.append(f"threads: lamina={lamina.get_num_threads()} (--threads {ARGS.threads if ARGS.threads else 'default: all cores'})")
    if threadpoolctl is not None:
        lamina_libs = set()
        try:
            ldd = subprocess.run(["ldd", str(lamina.library_path)], capture_output=True, text=True, timeout=10).stdout
            lamina_libs = {os.path.realpath(part.split()[0]) for line in ldd.splitlines() if "=>" in line
                           for part in [line.split("=>", 1)[1].strip()] if part.startswith("/")}
        except (OSError, subprocess.SubprocessError):
            pass
        for info in threadpoolctl.threadpool_info():
            path = info["filepath"]
            owner = ("liblamina" if os.path.realpath(path) in lamina_libs else
                     "numpy" if "numpy" in path else "scipy" if "scipy.libs" in path else
                     "scikit-learn" if "scikit_learn" in path or "sklearn" in path else "?")
            lines.append("  pool ({owner}): {user_api}/{internal_api} {version} arch={arch} threads={num_threads} "
                         "{filepath}".format(owner=owner, arch=info.get("architecture", "-"), **info))
    else:
        lines.append("  threadpoolctl not installed; numpy BLAS: see numpy.show_config()")
    return lines


# -- data -------------------------------------------------------------------------------------------

def blobs(n, d, k, std, seed=0):
    """Gaussian blobs (scikit-learn's make_blobs, centers in [-10, 10]^d) as float32, labels int64."""
    from sklearn.datasets import make_blobs
    X, y = make_blobs(n_samples=n, n_features=d, centers=k, cluster_std=std, random_state=seed)
    return np.ascontiguousarray(X, dtype=np.float32), y


def labelings(n, n_true, n_pred, seed=0):
    """Two correlated labelings: 70% of the predictions follow the true class, 30% are random."""
    rng = np.random.default_rng(seed)
    true = rng.integers(0, n_true, n)
    follow = (true * n_pred) // n_true
    pred = np.where(rng.random(n) < 0.7, follow, rng.integers(0, n_pred, n))
    return true, pred


# -- timing -----------------------------------------------------------------------------------------

class Sample:
    """One timed run: wall seconds per call, CPU seconds per call of this process, cores kept busy by
    other processes meanwhile, seconds waited beforehand for the machine to be quiet."""
    __slots__ = ("wall", "cpu", "others", "waited")

    def __init__(self, wall, cpu, others, waited=0.0):
        self.wall, self.cpu, self.others, self.waited = wall, cpu, others, waited


def _timed(fn, number, max_wait=0.0):
    waited = wait_quiet(max_wait) if max_wait > 0 else 0.0
    s0 = _cpu_snapshot()
    c0, t0 = time.process_time(), time.perf_counter()
    for _ in range(number):
        value = fn()
    t1, c1 = time.perf_counter(), time.process_time()
    return Sample((t1 - t0) / number, (c1 - c0) / number, _others(s0, _cpu_snapshot()), waited), value


def bench_pair(base_fn, lam_fn, repeats, base_repeats=None, min_sample=0.25):
    """Times base_fn and lam_fn alternately (order swapped each round). A first call of each calibrates
    the inner loop count for fast calls (then it is discarded as warm-up); a call >= 1 s counts as a
    sample itself. Returns (base samples, lamina samples, base value, lamina value)."""
    base_repeats = repeats if base_repeats is None else base_repeats
    fns = {"base": base_fn, "lam": lam_fn}
    want = {"base": base_repeats, "lam": repeats}
    samples = {"base": [], "lam": []}
    number, values = {}, {}
    for side in ("base", "lam"):
        s, values[side] = _timed(fns[side], 1, ARGS.max_wait)
        if s.wall >= 1.0:
            number[side] = 1
            samples[side].append(s)
        else:
            number[side] = max(1, math.ceil(min_sample / max(s.wall, 1e-6)))
    order = ["lam", "base"]
    while any(len(samples[k]) < want[k] for k in samples):
        for side in order:
            if len(samples[side]) < want[side]:
                wait = ARGS.max_wait if number[side] == 1 else min(ARGS.max_wait, 2.0)
                s, values[side] = _timed(fns[side], number[side], wait)
                samples[side].append(s)
        order.reverse()
    return samples["base"], samples["lam"], values["base"], values["lam"]


def best(samples):
    return min(s.wall for s in samples) if samples else float("nan")


def best_sample(samples):
    return min(samples, key=lambda s: s.wall) if samples else None


def rel_diff(a, b):
    a, b = float(a), float(b)
    if a == b:
        return 0.0
    if not (math.isfinite(a) and math.isfinite(b)):
        return float("inf")
    return abs(a - b) / max(abs(a), abs(b), 1e-300)


# -- NumPy references for indices without a scikit-learn function --------------------------------

def ref_pair_stats(X, y, want_sums=False):
    """Per class pair (a, b): min and max Euclidean distance (and optionally the sum) over point pairs,
    from scikit-learn's chunked pairwise distances (float32 input upcast to float64 internally)."""
    from sklearn.metrics import pairwise_distances_chunked
    order = np.argsort(y, kind="stable")
    Xs, ys = X[order], y[order]
    classes, starts = np.unique(ys, return_index=True)
    k = len(classes)
    mn = np.full((k, k), np.inf)
    mx = np.zeros((k, k))
    sm = np.zeros((k, k))
    row = 0
    for D in pairwise_distances_chunked(Xs, metric="euclidean"):
        rows = slice(row, row + D.shape[0])
        cmin = np.minimum.reduceat(D, starts, axis=1)
        cmax = np.maximum.reduceat(D, starts, axis=1)
        csum = np.add.reduceat(D, starts, axis=1, dtype=np.float64) if want_sums else None
        # Same-class minima include a point with itself (0); only cross-class minima are used.
        lab = np.searchsorted(classes, ys[rows])
        for c in np.unique(lab):
            sel = lab == c
            mn[c] = np.minimum(mn[c], cmin[sel].min(axis=0))
            mx[c] = np.maximum(mx[c], cmax[sel].max(axis=0))
            if want_sums:
                sm[c] += csum[sel].sum(axis=0)
        row += D.shape[0]
    counts = np.diff(np.append(starts, len(ys)))
    return mn, mx, sm, counts


def ref_dunn(X, y):
    mn, mx, _, _ = ref_pair_stats(X, y)
    k = mn.shape[0]
    off = ~np.eye(k, dtype=bool)
    return mn[off].min() / np.diag(mx).max()


def ref_within_ss(X, y):
    W = 0.0
    cents = []
    for c in np.unique(y):
        xc = X[y == c].astype(np.float64)
        mu = xc.mean(axis=0)
        cents.append(mu)
        W += ((xc - mu) ** 2).sum()
    return W, np.array(cents)


def ref_xie_beni_centroid(X, y):
    W, C = ref_within_ss(X, y)
    d2 = ((C[:, None, :] - C[None, :, :]) ** 2).sum(-1)
    d2[np.eye(len(C), dtype=bool)] = np.inf
    return W / (X.shape[0] * d2.min())


def ref_xie_beni_point_pair(X, y):
    W, _ = ref_within_ss(X, y)
    mn, _, _, _ = ref_pair_stats(X, y)
    off = ~np.eye(mn.shape[0], dtype=bool)
    return W / (X.shape[0] * mn[off].min() ** 2)


def ref_gdv(X, y):
    x = X.astype(np.float64)
    mu, sd = x.mean(axis=0), x.std(axis=0)
    scale = np.where(sd > 0, 0.5 / np.where(sd > 0, sd, 1), 0.0)
    s = np.ascontiguousarray(((x - mu) * scale).astype(np.float32))
    _, _, sm, counts = ref_pair_stats(s, y, want_sums=True)
    k = len(counts)
    intra = np.mean([sm[c, c] / (counts[c] * (counts[c] - 1)) for c in range(k)])
    inter = np.mean([sm[a, b] / (counts[a] * counts[b]) for a in range(k) for b in range(a + 1, k)])
    return (intra - inter) / math.sqrt(X.shape[1])


# -- peak memory in a fresh subprocess ------------------------------------------------------------

def _status_kb(field):
    for line in read_file("/proc/self/status").splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return -1


def child_main(spec):
    """Runs one silhouette call on saved data and prints JSON: time and peak RSS growth of the call."""
    spec = json.loads(spec)
    X = np.load(spec["x"])
    y = np.load(spec["y"])
    impl = spec["impl"]
    if impl == "lamina":
        fn = lambda a, b: LM.silhouette_score(a, b)  # noqa: E731
    else:
        from sklearn.metrics import silhouette_score
        fn = lambda a, b: float(silhouette_score(a, b))  # noqa: E731
    fn(X[:300], y[:300])   # warm-up: thread pools, BLAS buffers, lazy imports
    # Reset the kernel's high-water mark to the current RSS (Linux >= 4.0), else fall back to sampling.
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        hwm_reset = True
    except OSError:
        hwm_reset = False
    rss0 = _status_kb("VmRSS")
    hwm0 = _status_kb("VmHWM")
    peak = [rss0]
    done = threading.Event()

    def sampler():
        while not done.is_set():
            peak[0] = max(peak[0], _status_kb("VmRSS"))
            done.wait(0.002)

    th = threading.Thread(target=sampler, daemon=True)
    th.start()
    s0 = _cpu_snapshot()
    t0 = time.perf_counter()
    value = fn(X, y)
    wall = time.perf_counter() - t0
    others = _others(s0, _cpu_snapshot())
    done.set()
    th.join()
    hwm1 = _status_kb("VmHWM")
    out = dict(impl=impl, n=int(X.shape[0]), d=int(X.shape[1]), data_mb=X.nbytes / 2**20, wall=wall, value=value,
               others_cores=others, build_id=build_id(Path(str(lamina.library_path)).resolve()),
               rss_before_mb=rss0 / 1024, hwm_reset=hwm_reset,
               hwm_growth_mb=(hwm1 - (rss0 if hwm_reset else hwm0)) / 1024,
               sampled_growth_mb=(peak[0] - rss0) / 1024, hwm_after_mb=hwm1 / 1024)
    print("CHILD_RESULT " + json.dumps(out), flush=True)


PARENT_BUILD_ID = ["?"]


def measure_memory(X, y, impl, tmpdir):
    xp, yp = Path(tmpdir) / f"x_{X.shape[0]}.npy", Path(tmpdir) / f"y_{X.shape[0]}.npy"
    if not xp.exists():
        np.save(xp, X)
        np.save(yp, y)
    spec = json.dumps(dict(x=str(xp), y=str(yp), impl=impl))
    cmd = [sys.executable, str(Path(__file__).resolve()), "--_child", spec]
    if ARGS.threads is not None:
        cmd[2:2] = ["--threads", str(ARGS.threads)]
    env = dict(os.environ)
    env["LAMINA_LIBRARY"] = str(Path(str(lamina.library_path)).resolve())   # the library this process measured
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(lamina.__file__).resolve().parent.parent),
                                                      env.get("PYTHONPATH")]))
    if ARGS.max_wait > 0:
        wait_quiet(ARGS.max_wait)
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    for line in proc.stdout.splitlines():
        if line.startswith("CHILD_RESULT "):
            res = json.loads(line[len("CHILD_RESULT "):])
            res["peak_growth_mb"] = max(res["hwm_growth_mb"], res["sampled_growth_mb"])
            if res["build_id"] != PARENT_BUILD_ID[0]:
                print(f"  WARNING: the memory subprocess loaded liblamina {res['build_id'][:16]}, not the "
                      f"{PARENT_BUILD_ID[0][:16]} timed here (rebuilt meanwhile?)", flush=True)
            return res
    raise RuntimeError(f"memory subprocess failed ({proc.returncode}): {proc.stderr[-2000:]}")


# -- the run ------------------------------------------------------------------------------------------

def lloyd_bounds(X, centers, repeats=7):
    """Lower bounds for one full Lloyd pass over X (read X once, 2 n d k flops), from rates measured
    here with NumPy: read bandwidth = best time of np.dot(x, x) over the flattened data (X.nbytes read
    once), sgemm rate = best time of a 2048 x 768 by 768 x 2048 float32 product; also the copy rate."""
    flat = X.reshape(-1)
    dst = np.empty_like(flat)
    a = np.ascontiguousarray(X[:2048])
    bt = np.ascontiguousarray(X[:2048].T) if X.shape[0] >= 2048 else a.T.copy()

    def fastest(fn):
        fn()
        out = float("inf")
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            out = min(out, time.perf_counter() - t0)
        return out
    t_read = fastest(lambda: np.dot(flat, flat))
    t_copy = fastest(lambda: np.copyto(dst, flat))
    t_gemm = fastest(lambda: a @ bt)
    read_gb_s = X.nbytes / t_read / 1e9
    gflop_s = 2.0 * a.shape[0] * a.shape[1] * bt.shape[1] / t_gemm / 1e9
    n, d = X.shape
    k = centers.shape[0]
    read_ms = 1e3 * X.nbytes / (read_gb_s * 1e9)
    flop_ms = 1e3 * 2.0 * n * d * k / (gflop_s * 1e9)
    return dict(read_gb_s=read_gb_s, copy_gb_s=2 * X.nbytes / t_copy / 1e9, sgemm_gflop_s=gflop_s,
                read_bound_ms=read_ms, flop_bound_ms=flop_ms, pass_bound_ms=max(read_ms, flop_ms))


class Row:
    def __init__(self, task, size, baseline, base, lam, target, speed_target=None, agree=None,
                 extra_pass=True, values=None, note=""):
        self.task, self.size, self.baseline = task, size, baseline
        self.base, self.lam = base, lam
        self.target, self.speed_target = target, speed_target
        self.agree = agree
        self.extra_pass = extra_pass
        self.values = values or {}
        self.note = note
        self.load = loadavg()[0]

    @property
    def others(self):
        """Cores busy with other processes during the two reported (best) runs."""
        return "/".join(f"{best_sample(s).others:.1f}" if s else "-" for s in (self.base, self.lam))

    @property
    def ratio(self):
        b, lt = best(self.base), best(self.lam)
        return b / lt if self.base and self.lam and lt > 0 else float("nan")

    @property
    def ratio_median(self):
        if not self.base or not self.lam:
            return float("nan")
        return statistics.median(s.wall for s in self.base) / statistics.median(s.wall for s in self.lam)

    @property
    def verdict(self):
        if self.speed_target is None:
            return "info"
        return "PASS" if self.ratio >= self.speed_target and self.extra_pass else "FAIL"

    def as_dict(self):
        return dict(task=self.task, size=self.size, baseline=self.baseline,
                    base_times=[s.wall for s in self.base], lamina_times=[s.wall for s in self.lam],
                    base_cpu=[s.cpu for s in self.base], lamina_cpu=[s.cpu for s in self.lam],
                    base_others=[s.others for s in self.base], lamina_others=[s.others for s in self.lam],
                    ratio_best=self.ratio, ratio_median=self.ratio_median, target=self.target,
                    verdict=self.verdict, rel_diff=self.agree, values=self.values, note=self.note,
                    load1=self.load)


def fmt_t(samples):
    if not samples:
        return "-"
    t = best(samples)
    return f"{t * 1e3:.1f} ms" if t < 1 else f"{t:.2f} s"


def fmt_rel(r):
    if r is None:
        return "-"
    return "0" if r == 0 else f"{r:.1e}"


def print_table(rows, file=sys.stdout):
    head = ["task", "size", "baseline", "baseline time", "lamina time", "ratio", "target", "result", "rel diff",
            "others' cores"]
    body = []
    for r in rows:
        ratio = "-" if math.isnan(r.ratio) else f"{r.ratio:.1f}x"
        body.append([r.task, r.size, r.baseline, fmt_t(r.base), fmt_t(r.lam), ratio, r.target, r.verdict,
                     fmt_rel(r.agree), r.others])
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body)]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"  # noqa: E731
    print(line(head), file=file)
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|", file=file)
    for b in body:
        print(line(b), file=file)


def print_details(rows):
    print("\nDetails: every timed run as seconds@cores busy with other processes during it; cpu/wall = "
          "cores this process kept busy (median)")
    for r in rows:
        def desc(samples):
            if not samples:
                return "-"
            walls = " ".join(f"{s.wall:.4g}@{s.others:.1f}" for s in samples)
            util = statistics.median(s.cpu / s.wall for s in samples if s.wall > 0)
            waited = sum(s.waited for s in samples)
            return f"[{walls}] cpu/wall {util:.2f}" + (f", waited {waited:.0f} s for quiet" if waited else "")
        print(f"- {r.task}: baseline {desc(r.base)}; lamina {desc(r.lam)}; ratio best {r.ratio:.2f}x, "
              f"median {r.ratio_median:.2f}x")
        if r.values:
            print("    values: " + ", ".join(f"{k}={v!r}" for k, v in r.values.items()))
        if r.note:
            print("    " + r.note)


def main():
    if ARGS._child:
        apply_threads(ARGS.threads)
        child_main(ARGS._child)
        return
    limiter = apply_threads(ARGS.threads)  # noqa: F841 (kept alive for the run)
    PARENT_BUILD_ID[0] = build_id(Path(str(lamina.library_path)).resolve())
    from sklearn import metrics as SK
    from sklearn.cluster import KMeans as SKKMeans, kmeans_plusplus

    cfg = QUICK if ARGS.quick else FULL
    groups = set(ARGS.only.split(",")) if ARGS.only else {"silhouette", "db", "ch", "kmeans", "external",
                                                            "other", "memory"} | ({"large"} if ARGS.large else set())
    R = ARGS.repeat
    print("Lamina vs scikit-learn" + (" (--quick: smoke sizes, targets not meaningful)" if ARGS.quick else ""))
    for line in environment_report():
        print(line)
    n, d, k = cfg["n"], cfg["d"], cfg["k"]
    t0 = time.perf_counter()
    X, y = blobs(n, d, k, cfg["std"])
    print(f"data: make_blobs n={n} d={d} centers={k} cluster_std={cfg['std']} float32 "
          f"({X.nbytes / 2**20:.1f} MB), labels int64; made in {time.perf_counter() - t0:.1f} s")
    size = f"{n}x{d}"
    rows = []
    results = dict(config=cfg, kmeans=KMEANS, env=environment_report(), library=library_identity(), rows=[],
                   memory={}, large={})

    def add(row):
        rows.append(row)
        print(f"  done {row.task}: baseline {fmt_t(row.base)}, lamina {fmt_t(row.lam)}, ratio {row.ratio:.1f}x, "
              f"rel diff {fmt_rel(row.agree)}, others' cores {row.others}, load1 {row.load}", flush=True)

    if "silhouette" in groups:
        b, l, vb, vl = bench_pair(lambda: float(SK.silhouette_score(X, y)), lambda: LM.silhouette_score(X, y), R)
        add(Row("silhouette_score", size, "sklearn", b, l, ">=5x", 5, rel_diff(vb, vl),
                values=dict(sklearn=float(vb), lamina=vl)))
    if "db" in groups:
        b, l, vb, vl = bench_pair(lambda: SK.davies_bouldin_score(X, y), lambda: LM.davies_bouldin_score(X, y), R)
        add(Row("davies_bouldin_score", size, "sklearn", b, l, ">=5x", 5, rel_diff(vb, vl),
                values=dict(sklearn=float(vb), lamina=vl)))
    if "ch" in groups:
        b, l, vb, vl = bench_pair(lambda: SK.calinski_harabasz_score(X, y), lambda: LM.calinski_harabasz_score(X, y), R)
        add(Row("calinski_harabasz_score", size, "sklearn", b, l, ">=5x", 5, rel_diff(vb, vl),
                values=dict(sklearn=float(vb), lamina=vl)))
    if "kmeans" in groups:
        kw = KMEANS
        b, l, mb, ml = bench_pair(
            lambda: SKKMeans(n_clusters=k, init="k-means++", algorithm="lloyd", **kw).fit(X),
            lambda: lamina.cluster.KMeans(n_clusters=k, init="k-means++", **kw).fit(X), R)
        agree = rel_diff(mb.inertia_, ml.inertia_)
        ari = SK.adjusted_rand_score(mb.labels_, ml.labels_)
        add(Row("kmeans k-means++ n_init=3", size, "sklearn", b, l, ">=5x, inertia rel<=1e-4", 5, agree,
                extra_pass=agree <= 1e-4,
                values=dict(sklearn_inertia=float(mb.inertia_), lamina_inertia=ml.inertia_, sklearn_n_iter=int(mb.n_iter_),
                            lamina_n_iter=ml.n_iter_, ari_between_labelings=float(ari)),
                note=f"k={k}, n_init={kw['n_init']}, max_iter={kw['max_iter']}, tol={kw['tol']}, "
                     f"random_state={kw['random_state']} (the two libraries draw different seeds; n_iter is the "
                     f"best run's)"))
        centers, _ = kmeans_plusplus(X, k, random_state=0)
        b, l, mb, ml = bench_pair(
            lambda: SKKMeans(n_clusters=k, init=centers, n_init=1, max_iter=kw["max_iter"], tol=kw["tol"],
                             algorithm="lloyd").fit(X),
            lambda: lamina.cluster.KMeans(n_clusters=k, init=centers, n_init=1, max_iter=kw["max_iter"],
                                          tol=kw["tol"]).fit(X), R)
        # Same Lloyd iterations from the same centers: same number of iterations, same labels, and
        # Lamina's inertia_ within 1e-6 of the float64 inertia of scikit-learn's solution (its own
        # inertia_ is accumulated in float32, ~1e-6 off by itself).
        exact = float(((X.astype(np.float64) - mb.cluster_centers_.astype(np.float64)[mb.labels_]) ** 2).sum())
        same = int(mb.n_iter_) == ml.n_iter_ and np.array_equal(mb.labels_, ml.labels_)
        agree = rel_diff(exact, ml.inertia_)
        bound = lloyd_bounds(X, centers)
        it_b, it_l = best(b) / max(1, int(mb.n_iter_)), best(l) / max(1, ml.n_iter_)
        add(Row("kmeans given init (Lloyd only)", size, "sklearn", b, l,
                ">=4x per iteration, same n_iter/labels, inertia rel<=1e-6", 4, agree,
                extra_pass=same and agree <= 1e-6,
                values=dict(sklearn_inertia=float(mb.inertia_), sklearn_inertia_float64=exact, lamina_inertia=ml.inertia_,
                            sklearn_n_iter=int(mb.n_iter_), lamina_n_iter=ml.n_iter_, same_labels=bool(same),
                            sklearn_ms_per_iteration=1e3 * it_b, lamina_ms_per_iteration=1e3 * it_l,
                            per_iteration_ratio=it_b / it_l, **bound),
                note=f"same k-means++ centers (sklearn.cluster.kmeans_plusplus, random_state=0) for both, n_init=1; "
                     f"per iteration = fit / n_iter: sklearn {1e3 * it_b:.1f} ms, Lamina {1e3 * it_l:.2f} ms; bound of one "
                     f"full Lloyd pass max(read {bound['read_bound_ms']:.2f} ms at {bound['read_gb_s']:.1f} GB/s, "
                     f"gemm {bound['flop_bound_ms']:.2f} ms at {bound['sgemm_gflop_s']:.0f} GFLOP/s) = "
                     f"{bound['pass_bound_ms']:.2f} ms (Lamina's fit also includes the non-finite check and the "
                     f"statistics of the data; its later iterations skip most rows: Hamerly's bounds)"))
    if "external" in groups:
        nl = cfg["n_labels"]
        lt, lp = labelings(nl, cfg["n_true"], cfg["n_pred"])
        lsize = f"{nl} labels, {cfg['n_true']}x{cfg['n_pred']}"
        b, l, vb, vl = bench_pair(lambda: SK.adjusted_rand_score(lt, lp), lambda: LM.adjusted_rand_score(lt, lp), R)
        add(Row("adjusted_rand_score", lsize, "sklearn", b, l, ">=10x", 10, rel_diff(vb, vl),
                values=dict(sklearn=float(vb), lamina=vl)))
        b, l, vb, vl = bench_pair(lambda: SK.normalized_mutual_info_score(lt, lp),
                                  lambda: LM.normalized_mutual_info_score(lt, lp), R)
        add(Row("normalized_mutual_info_score", lsize, "sklearn", b, l, ">=10x", 10, rel_diff(vb, vl),
                values=dict(sklearn=float(vb), lamina=vl)))
        lt32, lp32 = lt.astype(np.int32), lp.astype(np.int32)
        b, l, vb, vl = bench_pair(lambda: SK.adjusted_rand_score(lt32, lp32), lambda: LM.adjusted_rand_score(lt32, lp32), R)
        add(Row("adjusted_rand_score (int32 labels)", lsize, "sklearn", b, l, "-", None, rel_diff(vb, vl),
                values=dict(sklearn=float(vb), lamina=vl), note="int32 input: no conversion in the binding"))
    if "other" in groups:
        ref = not ARGS.no_reference
        RR = R if ARGS.quick else 1
        none = lambda: float("nan")  # noqa: E731
        for task, lam_fn, ref_fn in [
            ("dunn_index single/max", lambda: LM.dunn_index(X, y), lambda: ref_dunn(X, y)),
            ("xie_beni_index centroid", lambda: LM.xie_beni_index(X, y, separation="centroid"),
             lambda: ref_xie_beni_centroid(X, y)),
            ("xie_beni_index point_pair", lambda: LM.xie_beni_index(X, y, separation="point_pair"),
             lambda: ref_xie_beni_point_pair(X, y)),
            ("gdv", lambda: LM.gdv(X, y), lambda: ref_gdv(X, y)),
        ]:
            use_ref = ref or task == "xie_beni_index centroid"
            b, l, vb, vl = bench_pair(ref_fn if use_ref else none, lam_fn, R, base_repeats=RR if use_ref else 0)
            add(Row(task, size, "numpy ref" if use_ref else "-", b, l, "-", None,
                    rel_diff(vb, vl) if use_ref else None, values=dict(reference=float(vb), lamina=vl),
                    note="reference: NumPy + sklearn.metrics.pairwise_distances_chunked (no scikit-learn "
                         f"function), {RR} run(s); it is only there to check the value"))
    tmpdir = tempfile.mkdtemp(prefix="lamina_bench_")
    if "memory" in groups:
        print("  measuring peak memory in fresh subprocesses...", flush=True)
        mem_l = measure_memory(X, y, "lamina", tmpdir)
        results["memory"]["lamina"] = mem_l
        if not ARGS.quick:
            results["memory"]["sklearn"] = measure_memory(X, y, "sklearn", tmpdir)
    if "large" in groups:
        results["large"] = run_large(cfg, tmpdir)

    # -- report --
    print(f"\nResults ({datetime.datetime.now().astimezone().isoformat(timespec='seconds')}, "
          f"load average at end {loadavg()}; best of {R}, baseline/lamina alternated; ratio = baseline/lamina):\n")
    print_table(rows)
    mem_rows = []
    if results["memory"]:
        m = results["memory"]["lamina"]
        ok = m["peak_growth_mb"] < MEMORY_TARGET_MB
        mem_rows.append(f"| silhouette peak RSS growth, lamina | {m['n']}x{m['d']} | {m['peak_growth_mb']:.1f} MB "
                        f"(data {m['data_mb']:.1f} MB; VmHWM {m['hwm_growth_mb']:.1f} MB, sampled "
                        f"{m['sampled_growth_mb']:.1f} MB) | < {MEMORY_TARGET_MB:.0f} MB above the data | "
                        f"{'PASS' if ok else 'FAIL'} | call {m['wall']:.2f} s, others' cores {m['others_cores']:.1f} |")
        if "sklearn" in results["memory"]:
            s = results["memory"]["sklearn"]
            mem_rows.append(f"| silhouette peak RSS growth, sklearn | {s['n']}x{s['d']} | {s['peak_growth_mb']:.1f} MB "
                            f"(VmHWM {s['hwm_growth_mb']:.1f} MB, sampled {s['sampled_growth_mb']:.1f} MB) | - | info | "
                            f"call {s['wall']:.2f} s, others' cores {s['others_cores']:.1f} |")
    if results["large"]:
        g = results["large"]
        mem_rows.append(f"| silhouette scale check, lamina only | {g['n']}x{g['d']} | {g['peak_growth_mb']:.1f} MB "
                        f"(data {g['data_mb']:.1f} MB) | - | info | call {g['wall']:.1f} s "
                        f"(estimated {g['estimate_s']:.0f} s), others' cores {g['others_cores']:.1f} |")
    if mem_rows:
        print("\n| memory | size | peak growth of the call | target | result | time |")
        print("|---|---|---|---|---|---|")
        for line in mem_rows:
            print(line)
    print_details(rows)
    now_id = build_id(Path(str(lamina.library_path)).resolve())
    if now_id != PARENT_BUILD_ID[0]:
        print(f"\nWARNING: {lamina.library_path} was rebuilt during the run (build-id {PARENT_BUILD_ID[0][:16]} -> "
              f"{now_id[:16]}); this process kept the library it loaded first. For stable runs while others build, "
              "copy the library and point LAMINA_LIBRARY at the copy (see README).")
    fails = [r.task for r in rows if r.verdict == "FAIL"]
    if results["memory"] and results["memory"]["lamina"]["peak_growth_mb"] >= MEMORY_TARGET_MB:
        fails.append("silhouette memory")
    print("\nTargets not met: " + (", ".join(fails) if fails else "none"))
    if ARGS.json:
        results["rows"] = [r.as_dict() for r in rows]
        Path(ARGS.json).write_text(json.dumps(results, indent=1, default=float))
        print(f"wrote {ARGS.json}")
    for f in Path(tmpdir).glob("*.npy"):
        f.unlink()
    os.rmdir(tmpdir)


def run_large(cfg, tmpdir):
    """Silhouette at n = --large-n, d = 768, Lamina only: estimate from smaller n, then one run in a fresh
    subprocess (time and peak RSS growth)."""
    n = 20_000 if ARGS.quick else ARGS.large_n
    d = cfg["d"] if ARGS.quick else 768
    print(f"  scale check: generating n={n} d={d}...", flush=True)
    X, y = blobs(n, d, cfg["k"], cfg["std"], seed=1)
    # Estimate: the silhouette is O(n^2 d); time two smaller prefixes and extrapolate quadratically.
    pts = []
    for m in (n // 20, n // 10):
        xs, ys = np.ascontiguousarray(X[:m]), y[:m]
        LM.silhouette_score(xs[:500], ys[:500])
        t0 = time.perf_counter()
        LM.silhouette_score(xs, ys)
        pts.append((m, time.perf_counter() - t0))
    est = pts[-1][1] * (n / pts[-1][0]) ** 2
    print(f"  scale check: lamina silhouette {pts[0][0]} rows {pts[0][1]:.2f} s, {pts[1][0]} rows {pts[1][1]:.2f} s "
          f"-> estimate for {n} rows: {est:.0f} s; memory estimate: one permuted float32 copy of x "
          f"({X.nbytes / 2**20:.0f} MB) + O(threads x tile)", flush=True)
    res = measure_memory(X, y, "lamina", tmpdir)
    res["estimate_s"] = est
    res["prefix_times"] = pts
    print(f"  scale check: {res['wall']:.1f} s, peak growth {res['peak_growth_mb']:.1f} MB, value {res['value']:.6f}",
          flush=True)
    return res


if __name__ == "__main__":
    main()
