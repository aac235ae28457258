#!/usr/bin/env python3
"""The per-latent statistics pass (lamina_sae_latent_statistics) against encoding alone.

Target (issue 13): over 1,000,000 rows x 16,384 latents (d = 768) in memory O(n_latents x N), at >= 90%
of the speed of encoding alone. "Encoding alone" is lamina_sae_encode_sparse over the same rows (the
same streamed encoder pass, writing k codes per row); the statistics pass is the encoder pass plus the
per-latent updates. The cost of both is linear in the rows (the encoder is a gemm per 4096-row chunk),
so the ratio measured on --rows rows holds at 1,000,000 rows; the full size is 1e6 * 16384 * 768 * 2
= 25,000 GFLOP per side (minutes on 2 cores), so the default measures fewer rows (said in the output).
The two sides alternate per --block rows (default 4096, one encoder chunk: both see the same load of a
shared machine) for --rounds rounds; each block counts with its best round. Per block the statistics
side also pays its per-call setup (allocating and zeroing ~200 MiB of buffers at 16,384 latents), which
one pass over 1,000,000 rows pays once: the block figure is a lower bound of the ratio.
(--block 0: whole runs alternate, the best run of each counts.)
Memory: the statistics buffers are n_latents x (512 histogram bins x 8 bytes + top_n x 12 bytes) plus
the same again as scratch, independent of the number of rows; the peak RSS growth is printed.

--full: the target's size itself, 1,000,000 rows x 16,384 latents, d = 768. The rows are generated block by
block (--full-block rows, default 65,536, float32 standard normal from a per-block seed; generation is not
timed) and never held together, so the process memory is bounded by one block + the SAE + the statistics:
each block is encoded (encode_sparse) and passed to the statistics (rows numbered from the block's offset,
accumulated into the running result in the library, so the result is the one pass over all 1,000,000 rows),
the two sides alternating which goes first per block so that both see the same load of the shared
machine. Both the wall time and the CPU time of each side (getrusage: all threads, user + system) are
summed over the blocks: on a machine shared with other jobs the wall time mostly measures the others'
load, the CPU time the work of each side. The process's resident memory (total and anonymous) is sampled every 20 ms; its peak is
printed next to the part that depends on the rows (one block) and the part O(n_latents x top_n).

    PYTHONPATH=bindings/python python3 benchmarks/bench_latent_stats.py [--rows 40960] [--rounds 3]
    PYTHONPATH=bindings/python python3 benchmarks/bench_latent_stats.py --full
"""
from __future__ import annotations

import argparse
import datetime
import os
import resource
import threading
import time

import numpy as np

from lamina.sae import SparseAutoencoder


def _cpu():
    """CPU seconds of this process (all threads, user + system): unlike the wall time, hardly affected by
    other jobs competing for the cores of a shared machine."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _timed(fn):
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


class RssSampler:
    """Peak resident memory of this process (VmRSS and RssAnon of /proc/self/status, MiB), sampled."""

    def __init__(self, every=0.02):
        self.every, self.peak, self.peak_anon, self._stop = every, 0.0, 0.0, threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def now():
        vals = {}
        with open("/proc/self/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmRSS", "RssAnon"):
                    vals[k] = int(v.split()[0]) / 1024
        return vals.get("VmRSS", 0.0), vals.get("RssAnon", 0.0)

    def _run(self):
        while not self._stop.is_set():
            r, a = self.now()
            self.peak, self.peak_anon = max(self.peak, r), max(self.peak_anon, a)
            self._stop.wait(self.every)

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()


def full(a, sae):
    """The target's size: --full-rows rows in blocks generated on the fly, alternating the sides per block."""
    d, m, B = a.d, a.latents, a.full_block
    starts = list(range(0, a.full_rows, B))
    gen = lambda b: np.random.default_rng([a.seed, b]).standard_normal((min(B, a.full_rows - starts[b]), d),  # noqa: E731
                                                                       dtype=np.float32)
    x0 = gen(0)
    sae.encode(x0[:4096], sparse=True, width=a.k)   # warm-up
    sae.latent_statistics(x0[:4096], top_n=a.top_n)
    del x0
    rss_before, anon_before = RssSampler.now()
    te, ts, ce, cs, acc = [], [], [], [], None
    t_all = time.perf_counter()
    with RssSampler() as mem:
        for b, s0 in enumerate(starts):
            xb = gen(b)

            def enc(xb=xb):
                t, c = time.perf_counter(), _cpu()
                sae.encode(xb, sparse=True, width=a.k)
                te.append(time.perf_counter() - t); ce.append(_cpu() - c)

            def sta(xb=xb, s0=s0):
                nonlocal acc
                t, c = time.perf_counter(), _cpu()
                acc = sae.latent_statistics(xb, top_n=a.top_n, row_offset=s0, accumulate=acc)
                ts.append(time.perf_counter() - t); cs.append(_cpu() - c)
            for f in ((enc, sta) if b % 2 == 0 else (sta, enc)):
                f()
            del xb
            print(f"  block {b + 1}/{len(starts)} rows {s0:,}..{min(s0 + B, a.full_rows):,}: encode {te[-1]:.1f} s, "
                  f"statistics {ts[-1]:.1f} s, ratio {te[-1] / ts[-1]:.3f}; CPU time encode {ce[-1]:.1f} s, statistics "
                  f"{cs[-1]:.1f} s, ratio {ce[-1] / cs[-1]:.3f}; elapsed {(time.perf_counter() - t_all) / 60:.1f} min",
                  flush=True)
    e, st = sum(te), sum(ts)
    assert acc.n_rows == a.full_rows
    ratios = np.array(te) / np.array(ts)
    block_bytes = B * d * 4
    buffers = m * (512 * 8 + 8 * 3 + 4 * 2 + a.top_n * 12)
    weights = 2 * m * d * 4
    print(f"# {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, FULL SIZE: rows {a.full_rows:,}, d {d}, "
          f"n_latents {m:,}, k {a.k}, top_n {a.top_n}; {len(starts)} blocks of {B:,} rows generated on the fly, "
          f"encode and statistics alternating first per block; load average {os.getloadavg()[0]:.1f}")
    print(f"encode_sparse   {e:8.1f} s  {a.full_rows / e:10,.0f} rows/s")
    print(f"statistics      {st:8.1f} s  {a.full_rows / st:10,.0f} rows/s   (one pass over all rows, accumulated per block)")
    print(f"speed ratio statistics / encoding (wall) = {e / st:.3f} (target >= 0.90: {'PASS' if e / st >= 0.9 else 'FAIL'}); "
          f"per block: min {ratios.min():.3f}, median {np.median(ratios):.3f}, max {ratios.max():.3f}")
    cr = np.array(ce) / np.array(cs)
    print(f"CPU time: encode_sparse {sum(ce):.1f} s, statistics {sum(cs):.1f} s, ratio {sum(ce) / sum(cs):.3f} "
          f"(target >= 0.90: {'PASS' if sum(ce) / sum(cs) >= 0.9 else 'FAIL'}); per block: min {cr.min():.3f}, "
          f"median {np.median(cr):.3f}, max {cr.max():.3f}; the process had {(sum(ce) + sum(cs)) / (e + st):.2f} "
          f"of the machine's cores on average")
    print(f"memory: peak RSS {mem.peak:,.0f} MiB (anonymous {mem.peak_anon:,.0f} MiB; before the pass {rss_before:,.0f} / "
          f"{anon_before:,.0f} MiB); of which one block of rows {block_bytes / 2**20:,.0f} MiB, SAE weights "
          f"{weights / 2**20:,.0f} MiB, statistics buffers n_latents x (512 x 8 + top_n x 12 + 32) B = "
          f"{buffers / 2**20:,.0f} MiB (x 3 at most during a call: result, accumulate copy, scratch); "
          f"the {a.full_rows * d * 4 / 2**30:.1f} GiB of rows are never held")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=40960)
    ap.add_argument("--d", type=int, default=768)
    ap.add_argument("--latents", type=int, default=16384)
    ap.add_argument("--k", type=int, default=32)
    ap.add_argument("--top-n", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--block", type=int, default=4096, help="alternate the sides per block of rows (0: whole runs)")
    ap.add_argument("--full", action="store_true", help="the target's size: 1,000,000 rows generated block by block")
    ap.add_argument("--full-rows", type=int, default=1_000_000)
    ap.add_argument("--full-block", type=int, default=65536)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    d, m = a.d, a.latents
    W_dec = rng.standard_normal((m, d)).astype(np.float32)
    W_dec /= np.linalg.norm(W_dec, axis=1, keepdims=True)
    sae = SparseAutoencoder(n_latents=m, k=a.k).set_weights(W_dec.T.copy(), np.zeros(m, np.float32), W_dec,
                                                            np.zeros(d, np.float32))
    if a.full:
        full(a, sae)
        return
    X = rng.standard_normal((a.rows, d)).astype(np.float32)
    sae.encode(X[:4096], sparse=True, width=a.k)   # warm-up
    sae.latent_statistics(X[:4096], top_n=a.top_n)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    enc, stats = [], []
    cpu_e = cpu_s = 0.0
    if a.block:
        # alternate per block of rows (the sides then see the same load); per block the best of the rounds
        blocks = [X[i:i + a.block] for i in range(0, a.rows, a.block)]
        be = np.full((a.rounds, len(blocks)), np.inf)
        bs = np.full((a.rounds, len(blocks)), np.inf)
        for r in range(a.rounds):
            for b, xb in enumerate(blocks):
                t, c = time.perf_counter(), _cpu()
                sae.encode(xb, sparse=True, width=a.k)
                be[r, b] = time.perf_counter() - t; cpu_e += _cpu() - c
                t, c = time.perf_counter(), _cpu()
                sae.latent_statistics(xb, top_n=a.top_n)
                bs[r, b] = time.perf_counter() - t; cpu_s += _cpu() - c
            enc.append(be[r].sum()); stats.append(bs[r].sum())
        e, st = be.min(0).sum(), bs.min(0).sum()
        s = sae.latent_statistics(X, top_n=a.top_n)
        how = f"alternating per block of {a.block} rows, per block the best of {a.rounds} rounds"
    else:
        for _ in range(a.rounds):
            t, c = time.perf_counter(), _cpu()
            sae.encode(X, sparse=True, width=a.k)
            enc.append(time.perf_counter() - t); cpu_e += _cpu() - c
            t, c = time.perf_counter(), _cpu()
            s = sae.latent_statistics(X, top_n=a.top_n)
            stats.append(time.perf_counter() - t); cpu_s += _cpu() - c
        e, st = min(enc), min(stats)
        how = f"best of {a.rounds} alternating whole runs"
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # the fixed cost of one call (buffers allocated, zeroed, copied): a 1-row call of each side
    one_s = min(_timed(lambda: sae.latent_statistics(X[:1], top_n=a.top_n)) for _ in range(5))
    one_e = min(_timed(lambda: sae.encode(X[:1], sparse=True, width=a.k)) for _ in range(5))
    calls = len(range(0, a.rows, a.block)) if a.block else 1
    print(f"# {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, rows {a.rows:,} (not 1,000,000: "
          f"the ratio is per row), d {d}, n_latents {m:,}, k {a.k}, top_n {a.top_n}, {how}")
    print(f"encode_sparse   {e:8.2f} s  {a.rows / e:10,.0f} rows/s   runs {', '.join(f'{x:.2f}' for x in enc)}")
    print(f"statistics      {st:8.2f} s  {a.rows / st:10,.0f} rows/s   runs {', '.join(f'{x:.2f}' for x in stats)}")
    print(f"speed ratio statistics / encoding as measured ({calls} calls per side) = {e / st:.3f}")
    print(f"CPU time over all rounds: encode_sparse {cpu_e:.1f} s, statistics {cpu_s:.1f} s, ratio {cpu_e / cpu_s:.3f}")
    print(f"fixed cost of one call: statistics {one_s:.3f} s, encode_sparse {one_e:.3f} s")
    per_row_e = (e - calls * one_e) / a.rows
    per_row_s = (st - calls * one_s) / a.rows
    proj = (per_row_e * 1e6 + one_e) / (per_row_s * 1e6 + one_s)
    print(f"per-row ratio (fixed costs removed) = {per_row_e / per_row_s:.3f}; one pass over 1,000,000 rows "
          f"(per-row costs x 1e6 + one fixed cost): {proj:.3f} (target >= 0.90: {'PASS' if proj >= 0.9 else 'FAIL'})")
    buffers = m * (512 * 8 + 8 * 3 + 4 * 2 + a.top_n * 12)
    print(f"projected 1,000,000 rows: {1e6 / (a.rows / st) / 60:.1f} min; statistics buffers {buffers / 2**20:.0f} MiB "
          f"(+ the same as scratch during the pass), independent of the rows; peak RSS growth after the warm-up "
          f"{(rss1 - rss0) / 1024:.0f} MiB")
    assert s.n_rows == a.rows


if __name__ == "__main__":
    main()
