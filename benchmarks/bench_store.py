"""Activation store speed (issue 13, "Speed and memory"), not a test.

1. Writer: float16 rows of d = 768 appended in batches of --batch-rows rows through
   lamina.io.ActivationStore, against dd writing the same number of bytes sequentially (bs=1M, from
   /dev/zero) to the same file system (the directory --dir), under the same sync policy:
   - page cache: writer durable=False (no fsync; appends survive the death of the process) vs `dd` (no sync);
   - disk, synced at the end: writer durable=False, then each file of the finished store and the
     directory fsync'ed once, vs `dd conv=fsync` (one fsync at the end): the disk's sequential speed;
   - disk, synced per commit: writer durable=True (fsync of segment, manifest and directory at every commit) vs
     `dd conv=fsync` (one fsync at the end: dd's best case) and vs `dd bs=<batch> oflag=dsync` (a sync
     per batch-sized write: the same commit policy as the writer).
   Runs alternate (dd, writer, dd, writer, ...); each round's ratio is printed, then the ratio of the
   best times (the machine is shared: the best time is the least disturbed one) and the median ratio.
2. Reader: the TopK trainer (d = 768) fed from the store (its shuffled reader, with prefetch) against
   the same rows from an in-memory float16 array, same hyper-parameters, alternating in rounds; each
   round's slowdown, the slowdown of the best times and the median slowdown are printed.

    PYTHONPATH=bindings/python python3 benchmarks/bench_store.py [--gib 0.5] [--repeat 5] [--dir DIR]
        [--only writer|reader] [--latents 4096] [--train-rows 65536]
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import tempfile
import time

import numpy as np

from lamina.io import ActivationStore
from lamina.sae import SparseAutoencoder


def dd(path, mib, sync):
    """Seconds for dd to write mib MiB to path; sync: None, "fsync" (conv=fsync) or ("dsync", batch MiB)."""
    bs, count = "1M", mib
    args = ["dd", "if=/dev/zero", f"of={path}", "status=none"]
    if sync == "fsync":
        args.append("conv=fsync")
    elif sync is not None:
        per = sync[1]
        bs, count = f"{per}M", max(1, mib // per)
        args.append("oflag=dsync")
    args += [f"bs={bs}", f"count={count}"]
    c = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(args, check=True)
    t = time.perf_counter() - t
    c2 = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU.append(c2.ru_utime + c2.ru_stime - c.ru_utime - c.ru_stime)
    os.remove(path)
    return t


CPU = []   # CPU seconds (user + system) of the last dd / writer runs, less sensitive to other load


def writer(path, batches, durable):
    """durable: False (no fsync), True (fsync per commit) or "end": no fsync per append, then every file
    of the finished store and its directory fsync'ed once (a program making a finished store durable)."""
    c = time.process_time()
    t = time.perf_counter()
    with ActivationStore(path, durable=durable is True) as s:
        for b in batches:
            s.append({"layer": b})
    if durable == "end":
        for name in sorted(os.listdir(path)) + ["."]:
            fd = os.open(os.path.join(path, name), os.O_RDONLY)
            os.fsync(fd)
            os.close(fd)
    t = time.perf_counter() - t
    CPU.append(time.process_time() - c)
    shutil.rmtree(path)
    return t


def summary(label, base_name, base, mine, higher_is_better=True):
    """Per-round ratios, the ratio of the best times and the median ratio (times in seconds)."""
    rounds = [b / m for b, m in zip(base, mine)]
    best = min(base) / min(mine)
    print(f"  {label}: {base_name} best {min(base):.3f} s, store best {min(mine):.3f} s; rounds "
          + " ".join(f"{r:.2f}" for r in rounds) + f"; best/best {best:.2f}, median {statistics.median(rounds):.2f}")
    return best, statistics.median(rounds)


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
          f"{total / 2**30:.2f} GiB, in {root}; ratio = dd time / writer time (>= 0.80 wanted)")
    per = max(1, batch_bytes >> 20)
    plans = [("page cache: writer (no fsync) vs dd (no sync)", [None], False)]
    if not args.no_sync:
        plans.append(("disk: writer (no fsync per append) + fsync of every store file at the end vs dd conv=fsync",
                      ["fsync"], "end"))
        plans.append(("disk: writer durable=True (fsync per commit) vs dd conv=fsync / dd oflag=dsync bs=batch",
                      ["fsync", ("dsync", per)], True))
    for label, syncs, durable in plans:
        times = {str(s): [] for s in syncs}
        cpus = {str(s): [] for s in syncs}
        mine, mine_cpu = [], []
        for r in range(args.repeat):
            for s in syncs:
                times[str(s)].append(dd(os.path.join(root, "dd.bin"), mib, s))
                cpus[str(s)].append(CPU[-1])
            mine.append(writer(os.path.join(root, "store"), batches, durable=durable))
            mine_cpu.append(CPU[-1])
        print(label)
        for s in syncs:
            print(f"  CPU seconds (user + system, best): dd {min(cpus[str(s)]):.3f}, writer {min(mine_cpu):.3f} "
                  f"(dd / writer {min(cpus[str(s)]) / min(mine_cpu):.2f})")
        for s in syncs:
            name = {"None": "dd", "fsync": "dd conv=fsync"}.get(str(s), f"dd bs={per}M oflag=dsync")
            best, med = summary(f"{name:22s}", name, times[str(s)], mine)
            print(f"    {name}: {mib / min(times[str(s)]):.0f} MiB/s, writer {mib / min(mine):.0f} MiB/s, "
                  f"ratio {best:.2f} (median {med:.2f}) target >= 0.80 {'PASS' if best >= 0.8 else 'FAIL'}")
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
          f"{n // 4096} steps), store of {(n + 8191) // 8192} segments; slowdown = store time / in-memory time - 1 "
          f"(<= 5% wanted)")
    mem, store = [], []
    for r in range(args.repeat):
        order = ("mem", "store") if r % 2 == 0 else ("store", "mem")
        for which in order:
            t = time.perf_counter()
            if which == "mem":
                SparseAutoencoder(**kw).fit(x)
                mem.append(time.perf_counter() - t)
            else:
                SparseAutoencoder(**kw).fit(path, dataset="layer")
                store.append(time.perf_counter() - t)
        print(f"  round {r + 1}: in-memory {mem[-1]:.2f} s, store {store[-1]:.2f} s, slower by {100 * (store[-1] / mem[-1] - 1):+.1f}%",
              flush=True)
    slow = min(store) / min(mem) - 1
    med = statistics.median([s / m - 1 for s, m in zip(store, mem)])
    print(f"  best in-memory {min(mem):.2f} s, best store {min(store):.2f} s: slower by {100 * slow:+.1f}% "
          f"(median of rounds {100 * med:+.1f}%)   target <= 5% {'PASS' if slow <= 0.05 else 'FAIL'}")
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--gib", type=float, default=0.5)
    ap.add_argument("--batch-rows", type=int, default=32768)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--no-sync", action="store_true", help="skip the fsync comparison")
    ap.add_argument("--dir", default=None)
    ap.add_argument("--train-rows", type=int, default=65536)
    ap.add_argument("--latents", type=int, default=4096)
    ap.add_argument("--only", choices=["writer", "reader"])
    a = ap.parse_args()
    if a.only != "reader":
        bench_writer(a)
    if a.only != "writer":
        bench_reader(a)
