"""Data-parallel SAE training on this machine: 1 rank x 2 threads against 2 ranks x 1 thread (mpirun), the
time per step spent in the reducer, and the gradient bytes per step. Usage: python3 benchmarks/bench_mpi.py
[--repeats 3] [--d 256] [--n-latents 4096] [--batch 2048] [--steps 30]. The machine has 2 cores shared with
other work: the two configurations are run alternately, best of --repeats, and the figures are noisy.

--sparse-sweep 16384,65536,131072: 2 ranks, dense against sparse gradient reduction (fit(..., comm=,
sparse_gradients=True)) at each n_latents: bytes each rank passes to the reducer per step, the union of
touched latents, seconds per step in the reducer and per step overall (alternating, best of --repeats)."""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "bindings", "python"))


def data(a):
    rng = np.random.default_rng(0)
    return rng.standard_normal((a.steps * a.batch, a.d)).astype(np.float32)


def params(a):
    return dict(n_latents=a.n_latents, architecture=a.arch, k=32, auxk_alpha=0.0, batch_size=a.batch, random_state=0,
                lr=1e-3)


def worker(a):
    import lamina
    from lamina.sae import SparseAutoencoder
    X = data(a)
    if a.mode == "single":
        lamina.set_num_threads(2)
        t0 = time.perf_counter()
        SparseAutoencoder(**params(a)).fit(X, shuffle=False)
        print(json.dumps(dict(seconds=time.perf_counter() - t0, reducer=0.0, calls=0)))
        return
    from mpi4py import MPI
    comm = MPI.COMM_WORLD
    lamina.set_num_threads(1)
    r, R = comm.Get_rank(), comm.Get_size()
    base, extra = divmod(a.batch, R)
    off, n = r * base + min(r, extra), base + (r < extra)
    local = np.concatenate([X[s * a.batch + off: s * a.batch + off + n] for s in range(a.steps)])
    comm.Barrier()
    t0 = time.perf_counter()
    s = SparseAutoencoder(**params(a)).fit(local, shuffle=False, comm=comm, deterministic=a.deterministic,
                                           sparse_gradients=a.sparse)
    secs = comm.allreduce(time.perf_counter() - t0, op=MPI.MAX)
    reducer = comm.allreduce(s.reducer_seconds_, op=MPI.MAX)
    if r == 0:
        print(json.dumps(dict(seconds=secs, reducer=reducer, calls=s.reducer_calls_, bytes=s.reducer_bytes_)))


def run(a, mode, deterministic=True, sparse=False):
    args = [sys.executable, os.path.abspath(__file__), "--worker", mode, "--d", str(a.d), "--n-latents",
            str(a.n_latents), "--batch", str(a.batch), "--steps", str(a.steps), "--arch", a.arch]
    if not deterministic:
        args.append("--mpi-allreduce")
    if sparse:
        args.append("--sparse")
    if mode == "mpi":
        args = ["mpirun", "--allow-run-as-root", "--oversubscribe", "-np", "2", "--bind-to", "none",
                sys.executable, "-m", "mpi4py"] + args[1:]
    out = subprocess.run(args, capture_output=True, text=True, check=True, timeout=1800).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--worker", choices=["single", "mpi"])
    p.add_argument("--mode", default=None)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--d", type=int, default=256)
    p.add_argument("--n-latents", type=int, default=4096)
    p.add_argument("--batch", type=int, default=2048)
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--arch", default="topk")
    p.add_argument("--mpi-allreduce", action="store_true")
    p.add_argument("--sparse", action="store_true")
    p.add_argument("--sparse-sweep", default=None)
    a = p.parse_args()
    a.deterministic = not a.mpi_allreduce
    if a.worker:
        a.mode = a.worker
        return worker(a)
    if a.sparse_sweep:
        return sweep(a)
    tokens = a.steps * a.batch
    best = {}
    for _ in range(a.repeats):
        for key, mode, det in [("1 rank x 2 threads", "single", True), ("2 ranks x 1 thread (fixed-order reducer)", "mpi", True),
                               ("2 ranks x 1 thread (MPI_Allreduce)", "mpi", False)]:
            r = run(a, mode, det)
            if key not in best or r["seconds"] < best[key]["seconds"]:
                best[key] = r
    grad_bytes = 4 * (2 * a.n_latents * a.d + 2 * a.n_latents + a.d + a.n_latents)
    print(f"d = {a.d}, n_latents = {a.n_latents}, {a.arch}, batch {a.batch}, {a.steps} steps; "
          f"reduced buffer {grad_bytes / 2**20:.1f} MiB per step; best of {a.repeats}")
    print("| configuration | tokens/s | s/step | reducer s/step | reducer share |")
    print("|---|---:|---:|---:|---:|")
    for key, r in best.items():
        steps = a.steps
        print(f"| {key} | {tokens / r['seconds']:,.0f} | {r['seconds'] / steps:.4f} | {r['reducer'] / steps:.4f} | "
              f"{r['reducer'] / r['seconds']:.0%} |")


def sweep(a):
    """Dense against sparse gradient reduction on 2 ranks at several n_latents (see the module doc)."""
    print(f"d = {a.d}, {a.arch} k = 32, global batch {a.batch} (2 ranks x 1 thread, fixed-order reducer), "
          f"{a.steps} steps; best of {a.repeats}")
    print("| n_latents | reduction | MB per step per rank | touched union | reducer s/step | s/step | reducer share |")
    print("|---:|---|---:|---:|---:|---:|---:|")
    steps = a.steps
    for n in map(int, a.sparse_sweep.split(",")):
        a.n_latents = n
        best = {}
        for _ in range(a.repeats):
            for sparse in (False, True):
                r = run(a, "mpi", True, sparse)
                if sparse not in best or r["seconds"] < best[sparse]["seconds"]:
                    best[sparse] = r
        before = 8 * (2 * 17) + 8 * (2 + a.d)   # the agreement vector and the b_dec initialisation (float64)
        for sparse, r in sorted(best.items()):
            per_step = (r["bytes"] - before) / steps
            extras = a.n_latents + 3 + a.d + 1      # firing counts, sse/active/l1, the variance sums (relu)
            if a.arch == "topk":
                per_step -= 8 * (a.d + 1)           # topk's float64 batch-variance reduction
                extras = a.n_latents + 3
            union = "" if not sparse else f"{(per_step / 4 - a.n_latents - extras - a.d) / (2 * a.d + 2):,.0f}"
            print(f"| {n:,} | {'sparse rows' if sparse else 'dense'} | {per_step / 1e6:.2f} | {union} | "
                  f"{r['reducer'] / steps:.4f} | {r['seconds'] / steps:.4f} | {r['reducer'] / r['seconds']:.0%} |")


if __name__ == "__main__":
    main()
