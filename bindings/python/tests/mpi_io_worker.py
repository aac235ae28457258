"""Run under mpirun by test_distributed_io.py: python -m mpi4py mpi_io_worker.py SCENARIO OUTDIR [ARGS]."""
import os
import sys

import numpy as np
from mpi4py import MPI

from lamina.sae import SparseAutoencoder
from lamina.structural import StructuralProbe

comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()
scenario, out = sys.argv[1], sys.argv[2]


def weights(s):
    return dict(W_enc=s.W_enc_, b_enc=s.b_enc_, W_dec=s.W_dec_, b_dec=s.b_dec_, threshold=s.threshold_)


def rchar():
    """Bytes this process read through read/pread system calls (Linux /proc/self/io)."""
    with open("/proc/self/io") as f:
        return int(next(line for line in f if line.startswith("rchar:")).split()[1])


def message(fn):
    try:
        fn()
        return "no error"
    except Exception as exc:   # noqa: BLE001 -- the message is the result
        return f"{type(exc).__name__}: {exc}"


def same_on_every_rank(arrays):
    w = np.concatenate([np.ravel(v) for v in arrays])
    assert all(np.array_equal(w, o) for o in comm.allgather(w)), "ranks ended with different models"


if scenario == "file":
    # ARGS: path, dataset, batch_size, epochs...: weights and the bytes read per rank for each epoch count
    path, dataset, batch = sys.argv[3], sys.argv[4], int(sys.argv[5])
    res = {}
    for epochs in map(int, sys.argv[6:]):
        comm.Barrier()
        before = rchar()
        s = SparseAutoencoder(n_latents=64, architecture="topk", k=4, auxk_alpha=0.0, batch_size=batch,
                              random_state=3, lr=1e-3).fit(path, dataset=dataset, comm=comm, epochs=epochs)
        res[f"bytes_{epochs}"] = np.array(comm.allgather(rchar() - before))
        same_on_every_rank(weights(s).values())
        for k, v in weights(s).items():
            res[f"{k}_{epochs}"] = v
    if rank == 0:
        np.savez(os.path.join(out, f"file_{size}.npz"), **res)
elif scenario == "short":
    # rank 1's file has fewer rows (named before training); rank 1's file vanishes after the check
    # (a read fails during training: named, no hang)
    path, short = sys.argv[3], sys.argv[4]
    p = dict(n_latents=32, architecture="topk", k=4, auxk_alpha=0.0, batch_size=64, random_state=0)
    msg = message(lambda: SparseAutoencoder(**p).fit(path if rank == 0 else short, dataset="acts", comm=comm))
    gone = os.path.join(out, f"gone_{rank}.h5")
    if rank == 1:
        os.link(path, gone)

    def cb(info):
        if rank == 1 and info["step"] == 2 and os.path.exists(gone):
            os.unlink(gone)

    comm.Barrier()
    msg2 = message(lambda: SparseAutoencoder(**p).fit(path if rank == 0 else gone, dataset="acts", comm=comm,
                                                      callback=cb, epochs=3))
    with open(os.path.join(out, f"short_{rank}.txt"), "w") as f:
        f.write(msg + "\n----\n" + msg2)
elif scenario == "sparse":
    # dense and sparse gradient reductions: the same model bit for bit; the bytes passed to the reducer
    X = np.load(sys.argv[3])
    res = {}
    for arch, kw in [("topk", dict(architecture="topk", k=4, auxk_alpha=0.0)), ("relu", dict(architecture="relu")),
                     ("jumprelu", dict(architecture="jumprelu"))]:
        p = dict(n_latents=1024, batch_size=64, random_state=1, lr=1e-3, **kw)
        B = p["batch_size"]
        base, extra = divmod(B, size)
        off, n = rank * base + min(rank, extra), base + (rank < extra)
        local = np.concatenate([X[s * B + off: s * B + off + n] for s in range(X.shape[0] // B)])
        dense = SparseAutoencoder(**p).fit(local, shuffle=False, comm=comm, epochs=2)
        sparse = SparseAutoencoder(**p).fit(local, shuffle=False, comm=comm, epochs=2, sparse_gradients=True)
        for k, v in weights(dense).items():
            assert np.array_equal(v, weights(sparse)[k]), f"{arch} {k}: sparse differs from dense"
        same_on_every_rank(weights(sparse).values())
        res[f"{arch}_dense_bytes"] = dense.reducer_bytes_
        res[f"{arch}_sparse_bytes"] = sparse.reducer_bytes_
        for k, v in weights(sparse).items():
            res[f"{arch}_{k}"] = v
    if rank == 0:
        np.savez(os.path.join(out, f"sparse_{size}.npz"), **res)
elif scenario == "probe":
    d = np.load(sys.argv[3])
    x, off, t = d["x"], d["off"], d["t"]
    n_dev = int(d["n_dev"])
    res = {}
    for kind, targets in [("distance", t), ("depth", d["depth"])]:
        n_train = off.size - 1 - n_dev
        cut = off[n_train]
        if kind == "distance":
            lengths = np.diff(off)
            tcut = int(np.sum(lengths[:n_train] ** 2))
        else:
            tcut = int(cut)
        dev = (x[cut:], off[n_train:] - cut, targets[tcut:])
        probe = StructuralProbe(kind=kind, rank=8, epochs=6, batch_size=5, random_state=2, lr=0.01, patience=2)
        probe.fit(x[:cut], off[:n_train + 1], targets[:tcut], dev=dev, comm=comm)
        same_on_every_rank([probe.projection_, [probe.train_loss_, probe.dev_loss_, probe.best_epoch_, probe.n_epochs_]])
        res[f"{kind}_B"] = probe.projection_
        res[f"{kind}_info"] = np.array([probe.train_loss_, probe.dev_loss_, probe.best_epoch_, probe.n_epochs_,
                                        probe.n_steps_])
    if rank == 0:
        np.savez(os.path.join(out, f"probe_{size}.npz"), **res)
elif scenario == "probe_bad":
    d = np.load(sys.argv[3])
    x, off, t = d["x"], d["off"], d["t"]
    t2 = t.copy()
    if rank == 1:
        t2[0] += 1   # rank 1 passes other targets
    msg = message(lambda: StructuralProbe(kind="distance", rank=4, epochs=1).fit(x, off, t2, comm=comm))
    msg2 = message(lambda: StructuralProbe(kind="distance", rank=4, epochs=1).fit(
        x, off, t if rank == 0 else t[:-1], comm=comm))   # rank 1's targets are short (its own check fails)
    with open(os.path.join(out, f"probe_bad_{rank}.txt"), "w") as f:
        f.write(msg + "\n----\n" + msg2)
else:
    raise SystemExit(f"unknown scenario {scenario}")
