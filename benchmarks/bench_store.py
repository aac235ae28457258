"""Activation store speed (issue 13, "Speed and memory"), not a test.

1. Writer: float16 rows of d = 768 appended in batches through lamina.io.ActivationStore, against dd
   writing the same number of bytes sequentially to the same file system, both ways:
   - page cache: writer durable=False vs `dd bs=1M` (no sync); the writer's appends are then safe against
     the death of the process;
   - disk: writer durable=True (fsync per append) vs `dd bs=1M conv=fdatasync`.
   Runs alternate (dd, writer, dd, writer, ...) and the best of --repeat is kept (the machine is shared).
2. Reader: the TopK trainer (d = 768) fed from the store (streamed, shuffled chunks) against the same
   rows from an in-memory float16 array, same hyper-parameters, alternating, best of --repeat.

    PYTHONPATH=bindings/python python3 benchmarks/bench_store.py [--gib 1] [--repeat 3] [--dir /work/tmp]
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import time

import numpy as np

from lamina.io import ActivationStore
from lamina.sae import SparseAutoencoder


def dd(path, mib, sync):
    args = ["dd", "if=/dev/zero", f"of={path}", "bs=1M", f"count={mib}", "status=none"]
    if sync:
        args.append("conv=fdatasync")
    t = time.perf_counter()
    subprocess.run(args, check=True)
    t = time.perf_counter() - t
    os.remove(path)
    return t


def writer(path, batches, durable):
    t = time.perf_counter()
    with ActivationStore(path, durable=durable) as s:
        for b in batches:
            s.append({"layer": b})
    t = time.perf_counter() - t
    shutil.rmtree(path)
    return t


def bench_writer(args):
    d, rows_per_batch = 768, args.batch_rows
    batch_bytes = rows_per_batch * d * 2
    n_batches = max(1, int(args.gib * (1 << 30)) // batch_bytes)
    rng = np.random.default_rng(0)
    pool = [rng.standard_normal((rows_per_batch, d)).astype(np.float16) for _ in range(4)]
    batches = [pool[i % 4] for i in range(n_batches)]
    total = n_batches * batch_bytes
    mib = total >> 20
    root = tempfile.mkdtemp(dir=args.dir, prefix="bench-store-")
    print(f"writer: {n_batches} appends of {rows_per_batch} x {d} float16 ({batch_bytes / 2**20:.1f} MiB each), "
          f"{total / 2**30:.2f} GiB, in {root}")
    for sync in (False, True):
        best_dd = best_w = float("inf")
        for r in range(args.repeat):
            best_dd = min(best_dd, dd(os.path.join(root, "dd.bin"), mib, sync))
            best_w = min(best_w, writer(os.path.join(root, "store"), batches, durable=sync))
        dd_rate, w_rate = mib / best_dd, total / 2**20 / best_w
        label = "disk (fsync)" if sync else "page cache"
        print(f"  {label:13s} dd {dd_rate:8.0f} MiB/s   store writer {w_rate:8.0f} MiB/s   ratio {w_rate / dd_rate:.2f}   "
              f"target >= 0.80 {'PASS' if w_rate / dd_rate >= 0.8 else 'FAIL'}")
    shutil.rmtree(root, ignore_errors=True)


def bench_reader(args):
    d, n = 768, args.train_rows
    rng = np.random.default_rng(1)
    x = (rng.standard_normal((n, d)) * 0.5).astype(np.float16)
    root = tempfile.mkdtemp(dir=args.dir, prefix="bench-store-")
    path = os.path.join(root, "store")
    with ActivationStore(path) as s:
        for lo in range(0, n, 8192):
            s.append({"layer": x[lo:lo + 8192]})
    kw = dict(n_latents=args.latents, architecture="topk", k=32, batch_size=4096, random_state=0)
    print(f"reader: TopK SAE d {d}, n_latents {args.latents}, k 32, batch 4096, {n} rows (1 epoch, "
          f"{n // 4096} steps), store of {n // 8192} segments")
    best_mem = best_store = float("inf")
    for r in range(args.repeat):
        t = time.perf_counter(); SparseAutoencoder(**kw).fit(x); best_mem = min(best_mem, time.perf_counter() - t)
        t = time.perf_counter(); SparseAutoencoder(**kw).fit(path, dataset="layer"); best_store = min(best_store, time.perf_counter() - t)
    slow = best_store / best_mem - 1
    print(f"  in-memory array {best_mem:.2f} s   from the store {best_store:.2f} s   slower by {100 * slow:+.1f}%   "
          f"target <= 5% {'PASS' if slow <= 0.05 else 'FAIL'}")
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--gib", type=float, default=1.0)
    ap.add_argument("--batch-rows", type=int, default=8192)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--dir", default=None)
    ap.add_argument("--train-rows", type=int, default=65536)
    ap.add_argument("--latents", type=int, default=4096)
    ap.add_argument("--only", choices=["writer", "reader"])
    a = ap.parse_args()
    if a.only != "reader":
        bench_writer(a)
    if a.only != "writer":
        bench_reader(a)
