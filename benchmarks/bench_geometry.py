"""CKA and RSA: Lamina against numpy (and rsatoolbox when installed), side by side in one run.

    PYTHONPATH=bindings/python python3 benchmarks/bench_geometry.py [--n 20000] [--d 768] [--layers 7]
        [--rsa-n 5000] [--big-n 200000] [--repeats 2]

1. A layer-by-layer linear CKA matrix (L layers, n x d float32), Lamina's lamina_cka_matrix against two
   numpy implementations of the same formulas in float64 (Lamina's accumulation precision):
   "numpy per pair" (Kornblith et al.'s feature_space_linear_cka called for every pair, as public code
   does: each call centres both layers and forms X^T Y, X^T X, Y^T Y) and "numpy shared" (each layer
   centred once and each Gram formed once, the same work plan as Lamina). Values must agree to 1e-9.
2. Debiased linear CKA at a large n (default 200,000 rows) -- it runs, memory O(d^2 + n d).
   Memory of both calls (1. and 2.) is measured, not assumed: each runs again in a child process that
   loads its float32 inputs from .npy files (no temporaries), and the child's peak RSS (VmHWM) after
   the call minus its peak before it is Lamina's working memory, printed next to the inputs' size and
   the n x n float64 Gram matrix a kernel-space implementation would hold (--no-memory skips it).
3. RSA on n items (correlation-distance RDMs; Spearman, Pearson, Kendall tau-a and cosine, --rsa-methods):
   Lamina's lamina_rsa against rsatoolbox (calc_rdm + compare "spearman" / "corr" / "tau-a" / "cosine")
   when it is importable and scipy (pdist + spearmanr / pearsonr / 1 - distance.cosine; no tau-a in scipy). --only-rsa / --only-cka run
   one part.
4. HDBSCAN* (the clustering inside FLARE): lamina.audit.hdbscan against sklearn.cluster.HDBSCAN on four
   Gaussian blobs in d = 4 (--hdbscan-n rows); wall time and process CPU time (scikit-learn's Prim is
   single-threaded, Lamina's core distances use every core), and the two partitions compared (ARI).
Timings are best of --repeats, alternating the contenders (the machine may be shared).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

from lamina import geometry as G


def best(fn, repeats):
    times, value = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - t)
    return min(times), value


def np_feature_space_linear_cka(x, y):
    x = x - x.mean(0, keepdims=True)
    y = y - y.mean(0, keepdims=True)
    return np.linalg.norm(x.T @ y) ** 2 / (np.linalg.norm(x.T @ x) * np.linalg.norm(y.T @ y))


def np_cka_matrix_per_pair(layers):
    L = len(layers)
    M = np.eye(L)
    for i in range(L):
        for j in range(i + 1, L):
            M[i, j] = M[j, i] = np_feature_space_linear_cka(layers[i].astype(np.float64), layers[j].astype(np.float64))
    return M


def np_cka_matrix_shared(layers):
    c = [a.astype(np.float64) - a.astype(np.float64).mean(0, keepdims=True) for a in layers]
    norms = [np.linalg.norm(x.T @ x) for x in c]
    L = len(c)
    M = np.eye(L)
    for i in range(L):
        for j in range(i + 1, L):
            M[i, j] = M[j, i] = np.linalg.norm(c[i].T @ c[j]) ** 2 / (norms[i] * norms[j])
    return M


def memory_child(kind, folder):
    """Child process of cka_memory: loads the layers (np.load reads straight into the arrays), then runs
    the call; prints the peak RSS before and after it (KiB, ru_maxrss is a high-water mark)."""
    layers = [np.load(os.path.join(folder, f)) for f in sorted(os.listdir(folder)) if f.endswith(".npy")]
    def peak_kib():  # VmHWM of this process's memory (ru_maxrss would carry the parent's peak across exec)
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
    G.linear_cka(layers[0][:8], layers[0][:8])  # load the library and its BLAS before the baseline
    before = peak_kib()
    if kind == "matrix":
        G.cka_matrix(layers)
    else:
        G.linear_cka(layers[0], layers[1], debiased=True)
    after = peak_kib()
    print(json.dumps({"before_kib": before, "after_kib": after}))


def cka_memory(kind, layers):
    """Lamina's working memory for the CKA matrix (kind "matrix") or one debiased CKA ("debiased") of
    `layers`, measured in a child process; prints it against the inputs and an n x n float64 matrix."""
    n = layers[0].shape[0]
    with tempfile.TemporaryDirectory(prefix="lamina_cka_mem_") as folder:
        for i, a in enumerate(layers):
            np.save(os.path.join(folder, f"layer_{i:02d}.npy"), np.ascontiguousarray(a, dtype=np.float32))
        res = subprocess.run([sys.executable, os.path.abspath(__file__), "--memory-child", kind, folder],
                             capture_output=True, text=True, env=dict(os.environ))
    if res.returncode != 0:
        print(f"  memory probe failed: {res.stderr.strip()[-400:]}")
        return None
    got = json.loads(res.stdout.strip().splitlines()[-1])
    work = max(0, got["after_kib"] - got["before_kib"]) * 1024
    inputs = sum(a.size * 4 for a in layers)
    d = [a.shape[1] for a in layers]
    if kind == "matrix":  # every self-Gram and cross-product block, float64, plus the 64 MiB row chunk
        blocks = sum(d[i] * d[j] for i in range(len(d)) for j in range(i, len(d))) * 8
    else:
        blocks = (d[0] * d[0] + d[1] * d[1] + d[0] * d[1]) * 8 + 2 * n * 8
    model = blocks + (64 << 20)
    assert work < 1.5 * model, "the CKA call used more memory than its blocks and row chunk"
    print(f"  working memory {work / 2**20:8.1f} MiB (model: blocks {blocks / 2**20:.1f} MiB + row chunk 64 MiB "
          f"= {model / 2**20:.1f} MiB); inputs {inputs / 2**20:.1f} MiB; an n x n float64 Gram matrix "
          f"would be {n * n * 8 / 2**20:.1f} MiB")
    return work


def make_layers(n, d, L, seed=0):
    rng = np.random.default_rng(seed)
    h = rng.standard_normal((n, d), dtype=np.float32)
    layers = []
    for _ in range(L):
        w = (rng.standard_normal((d, d), dtype=np.float32) / np.sqrt(d)).astype(np.float32)
        h = np.tanh(h @ w + 0.1 * rng.standard_normal((n, d), dtype=np.float32)).astype(np.float32)
        layers.append(h)
    return layers


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--d", type=int, default=768)
    ap.add_argument("--layers", type=int, default=7)
    ap.add_argument("--rsa-n", type=int, default=5000)
    ap.add_argument("--big-n", type=int, default=200000)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--hdbscan-n", type=int, default=20000)
    ap.add_argument("--only-new", action="store_true",
                    help="only the kernel-alignment, AQI and information-plane timings")
    ap.add_argument("--only-hdbscan", action="store_true", help="only the HDBSCAN timing")
    ap.add_argument("--only-rsa", action="store_true", help="only the RSA timings")
    ap.add_argument("--only-cka", action="store_true", help="only the CKA matrix timing")
    ap.add_argument("--cka-float32-error", action="store_true",
                    help="only the accuracy of CKA from float32 products against the float64 Gram oracle")
    ap.add_argument("--rsa-methods", default="spearman,pearson,kendall_tau_a,cosine",
                    help="comma-separated RSA comparisons (spearman, pearson, kendall_tau_a, cosine)")
    ap.add_argument("--no-memory", action="store_true", help="skip the child-process memory probes of CKA")
    ap.add_argument("--memory-child", nargs=2, metavar=("KIND", "FOLDER"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.memory_child:
        memory_child(*args.memory_child)
        return
    if args.only_rsa:
        bench_rsa(args)
        return
    if args.cka_float32_error:
        cka_float32_error(args)
        return
    if args.only_cka:
        args.big_n = 0
    if args.only_new:
        bench_alignment_aqi_plane(args)
        return
    if args.only_hdbscan:
        bench_hdbscan(args)
        return

    print(f"CKA matrix: {args.layers} layers, n = {args.n}, d = {args.d} (float32 input, float64 arithmetic)")
    layers = make_layers(args.n, args.d, args.layers)
    t_l, t_pp, t_sh = [], [], []
    for _ in range(args.repeats):
        t = time.perf_counter(); M = G.cka_matrix(layers); t_l.append(time.perf_counter() - t)
        t = time.perf_counter(); R1 = np_cka_matrix_per_pair(layers); t_pp.append(time.perf_counter() - t)
        t = time.perf_counter(); R2 = np_cka_matrix_shared(layers); t_sh.append(time.perf_counter() - t)
    err = max(np.max(np.abs(M - R1)), np.max(np.abs(M - R2)))
    print(f"  lamina          {min(t_l):8.2f} s")
    print(f"  numpy per pair  {min(t_pp):8.2f} s   ratio {min(t_pp) / min(t_l):5.1f}x")
    print(f"  numpy shared    {min(t_sh):8.2f} s   ratio {min(t_sh) / min(t_l):5.1f}x")
    print(f"  max |difference| {err:.2e}")
    assert err < 1e-9
    if not args.no_memory:
        cka_memory("matrix", layers)
    del layers

    if args.big_n:
        rng = np.random.default_rng(1)
        x = rng.standard_normal((args.big_n, args.d), dtype=np.float32)
        y = (x[:, : args.d // 2] * 0.5 + rng.standard_normal((args.big_n, args.d // 2), dtype=np.float32)).astype(np.float32)
        t = time.perf_counter()
        v = G.linear_cka(x, y, debiased=True)
        print(f"debiased linear CKA, n = {args.big_n}, d1 = {args.d}, d2 = {args.d // 2}: {v:.6f} in "
              f"{time.perf_counter() - t:.2f} s")
        if not args.no_memory:
            cka_memory("debiased", [x, y])
        del x, y
    if args.only_cka:
        return

    bench_rsa(args)
    bench_alignment_aqi_plane(args)
    bench_hdbscan(args)
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB (the whole run)")


def cka_float32_error(args):
    """The float32 route's accuracy (not used by Lamina): CKA from sgemm cross-products on row blocks of 256
    with float64 accumulation across blocks, against the direct float64 Gram-matrix oracle (n x n, so
    n = 2,000), on random tanh data and the bundled MiniLM activations."""
    import h5py
    from pathlib import Path

    def oracle(x, y):
        x, y = x.astype(np.float64), y.astype(np.float64)
        n = len(x)
        H = np.eye(n) - 1.0 / n
        K, L = H @ (x @ x.T) @ H, H @ (y @ y.T) @ H
        return np.sum(K * L) / np.sqrt(np.sum(K * K) * np.sum(L * L))

    def f32_blocks(x, y, block=256):
        xc = (x.astype(np.float64) - x.astype(np.float64).mean(0)).astype(np.float32)
        yc = (y.astype(np.float64) - y.astype(np.float64).mean(0)).astype(np.float32)

        def prod(a, b):
            acc = np.zeros((a.shape[1], b.shape[1]))
            for s in range(0, len(a), block):
                acc += (a[s:s + block].T @ b[s:s + block]).astype(np.float64)
            return acc
        return np.sum(prod(xc, yc) ** 2) / np.sqrt(np.sum(prod(xc, xc) ** 2) * np.sum(prod(yc, yc) ** 2))

    rng = np.random.default_rng(0)
    x = rng.standard_normal((2000, 768), dtype=np.float32)
    y = np.tanh(x @ (rng.standard_normal((768, 768), dtype=np.float32) / 28) + 0.5).astype(np.float32)
    cases = [("random tanh, d 768", x, y)]
    path = Path(__file__).resolve().parent.parent / "examples" / "data" / "minilm_wordnet.h5"
    with h5py.File(path) as f:
        lay = [f[f"target/layer_{i}"][:2000].astype(np.float32) for i in (0, 3, 6)]
    cases += [("minilm_wordnet target layers 0-3", lay[0], lay[1]), ("minilm_wordnet target layers 3-6", lay[1], lay[2])]
    print("CKA from float32 products (row blocks of 256, float64 across blocks) vs the float64 Gram oracle, n = 2000")
    for name, a, b in cases:
        o = oracle(a, b)
        print(f"  {name:34s} float32 route rel. error {abs(f32_blocks(a, b) - o) / o:.1e}; "
              f"Lamina {abs(G.linear_cka(a, b) - o) / o:.1e}")


RSA_METHODS = {"spearman": "spearman", "pearson": "corr", "kendall_tau_a": "tau-a", "cosine": "cosine"}


def bench_rsa(args):
    """RSA on --rsa-n items (correlation-distance RDMs of n x 128 and n x 64 float32 data): Lamina's
    lamina_rsa against rsatoolbox (calc_rdm "correlation" twice + compare with the same method: "spearman",
    "corr", "tau-a", "cosine") and scipy (pdist "correlation" twice + spearmanr / pearsonr / 1 -
    scipy.spatial.distance.cosine; scipy has no tau-a).
    Each contender's time includes both RDMs; contenders alternate, best of --repeats."""
    rng = np.random.default_rng(2)
    a = rng.standard_normal((args.rsa_n, 128), dtype=np.float32)
    b = (a[:, :64] + rng.standard_normal((args.rsa_n, 64), dtype=np.float32)).astype(np.float32)
    from scipy.spatial.distance import cosine, pdist
    from scipy.stats import pearsonr, spearmanr
    try:
        import rsatoolbox
    except ImportError:
        rsatoolbox = None
    scipy_fns = {"spearman": lambda u, v: spearmanr(u, v).statistic, "pearson": lambda u, v: pearsonr(u, v).statistic,
                 "cosine": lambda u, v: 1 - cosine(u, v)}
    for method in args.rsa_methods.split(","):
        print(f"RSA: n = {args.rsa_n} items, correlation-distance RDMs, {method}")
        contenders = [("lamina", lambda: G.rsa(a, b, "correlation", method))]
        if rsatoolbox is not None:
            def rsatb_rsa():
                ra = rsatoolbox.rdm.calc_rdm(rsatoolbox.data.Dataset(a.astype(np.float64)), method="correlation")
                rb = rsatoolbox.rdm.calc_rdm(rsatoolbox.data.Dataset(b.astype(np.float64)), method="correlation")
                return float(rsatoolbox.rdm.compare(ra, rb, method=RSA_METHODS[method])[0, 0])
            contenders.append(("rsatoolbox", rsatb_rsa))
        if method in scipy_fns:
            contenders.append(("scipy", lambda: scipy_fns[method](pdist(a.astype(np.float64), "correlation"),
                                                                  pdist(b.astype(np.float64), "correlation"))))
        times = {name: [] for name, _ in contenders}
        values = {}
        for _ in range(args.repeats):
            for name, fn in contenders:
                t = time.perf_counter()
                values[name] = fn()
                times[name].append(time.perf_counter() - t)
        base = min(times["lamina"])
        for name, _ in contenders:
            extra = "" if name == "lamina" else (f"   ratio {min(times[name]) / base:5.1f}x   "
                                                 f"|difference| {abs(values[name] - values['lamina']):.1e}")
            print(f"  {name:12s} {min(times[name]):8.2f} s   value {values[name]:.15f}{extra}")
        if rsatoolbox is None:
            print("  (rsatoolbox not importable: pip install rsatoolbox to include it)")


def bench_hdbscan(args):
    import warnings
    from sklearn.cluster import HDBSCAN
    from sklearn.metrics import adjusted_rand_score
    from lamina import audit as A
    n = args.hdbscan_n
    rng = np.random.default_rng(4)
    X = np.concatenate([rng.normal(c, 1.0, (n // 4, 4)) for c in (0, 5, 10, 15)])
    contenders = [("lamina", lambda: A.hdbscan(X, min_cluster_size=15)),
                  ("scikit-learn", lambda: HDBSCAN(min_cluster_size=15, copy=True).fit(X).labels_)]
    wall, cpu, labels = {k: [] for k, _ in contenders}, {k: [] for k, _ in contenders}, {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(args.repeats):
            for name, fn in contenders:
                t, c = time.perf_counter(), time.process_time()
                labels[name] = fn()
                wall[name].append(time.perf_counter() - t)
                cpu[name].append(time.process_time() - c)
    ari = adjusted_rand_score(labels["lamina"], labels["scikit-learn"])
    print(f"HDBSCAN*: n = {len(X)}, d = 4, min_cluster_size 15; partitions ARI {ari:.12f}")
    for name, _ in contenders:
        print(f"  {name:12s} wall {min(wall[name]):7.2f} s   cpu {min(cpu[name]):7.2f} s")
    print(f"  ratio (scikit-learn / lamina): wall {min(wall['scikit-learn']) / min(wall['lamina']):.2f}x, "
          f"cpu {min(cpu['scikit-learn']) / min(cpu['lamina']):.2f}x")


def bench_alignment_aqi_plane(args):
    """Kernel alignment (7 layers), AQI per layer with learned pooling, and the information plane against
    numpy implementations of the same formulas (best of --repeats, side by side)."""
    from lamina import audit as A
    n, d, L = min(args.n, 5000), args.d, args.layers
    layers = make_layers(n, d, L)
    rng = np.random.default_rng(3)
    y = rng.integers(0, 5, n)
    X = layers[0]

    def np_alignment():
        def centred(a):
            a = a.astype(np.float64)
            return a - a.mean(0)
        Xc, Yc = centred(X), centred(np.eye(5)[y])
        sx, sy = np.linalg.norm(Xc.T @ Xc), np.linalg.norm(Yc.T @ Yc)
        out = []
        for h in layers:
            H = centred(h)
            sh = np.linalg.norm(H.T @ H)
            out.append([np.linalg.norm(H.T @ Xc) ** 2 / (sh * sx), np.linalg.norm(H.T @ Yc) ** 2 / (sh * sy)])
        return np.array(out)

    def timed(fn):
        best, value = np.inf, None
        for _ in range(args.repeats):
            t = time.perf_counter()
            value = fn()
            best = min(best, time.perf_counter() - t)
        return best, value

    t_l, v_l = timed(lambda: G.kernel_alignment(layers, X, y))
    t_n, v_n = timed(np_alignment)
    print(f"kernel alignment: {L} layers, n = {n}, d = {d}: lamina {t_l:.2f} s, numpy {t_n:.2f} s "
          f"(ratio {t_n / t_l:.1f}x), max |difference| {np.max(np.abs(v_l - v_n)):.1e}")
    groups = (y < 2).astype(int)
    for variant in ("dbs_dunn", "silhouette_xb", "chi_xb"):
        t, r = timed(lambda: A.aqi_layers(layers, groups, variant=variant, pooling="learned"))
        print(f"AQI {variant:13s} per layer + learned pooling ({L} x {n} x {d}): {t:.2f} s, pooled {r['pooled']:.4f}")
    ck = [np.tanh(rng.standard_normal((20000, 64)) * (0.2 + 0.2 * c)).astype(np.float32) for c in range(10)]
    yy = rng.integers(0, 10, 20000)

    def np_plane():
        lo, hi = min(c.min() for c in ck), max(c.max() for c in ck)

        def entropy(a):
            _, counts = np.unique(a, axis=0, return_counts=True)
            p = counts / counts.sum()
            return -(p * np.log2(p)).sum()
        out = []
        for c in ck:
            b = np.clip(np.floor(30 * (c.astype(np.float64) - lo) / (hi - lo)), 0, 29).astype(np.int64)
            t = np.unique(b, axis=0, return_inverse=True)[1].reshape(-1)
            out.append([entropy(t), entropy(t) + entropy(yy) - entropy(np.stack([t, yy], 1))])
        return np.array(out)

    t_l, v_l = timed(lambda: G.information_plane(ck, yy, bins=30))
    t_n, v_n = timed(np_plane)
    print(f"information plane: 10 checkpoints, n = 20000, d = 64, 30 bins: lamina {t_l * 1e3:.0f} ms, numpy "
          f"np.unique {t_n * 1e3:.0f} ms (ratio {t_n / t_l:.1f}x), max |difference| {np.max(np.abs(v_l - v_n)):.1e}")


if __name__ == "__main__":
    main()
