"""Run under mpirun by test_distributed.py: python -m mpi4py mpi_worker.py SCENARIO OUTDIR [DATA]."""
import os
import sys

import numpy as np
from mpi4py import MPI

from lamina import distributed
from lamina.sae import SparseAutoencoder, load_checkpoint

comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()
scenario, out = sys.argv[1], sys.argv[2]


def params(**kw):
    p = dict(n_latents=64, architecture="topk", k=4, auxk_alpha=0.0, batch_size=64, random_state=3, lr=1e-3)
    p.update(kw)
    return p


def weights(s):
    return dict(W_enc=s.W_enc_, b_enc=s.b_enc_, W_dec=s.W_dec_, b_dec=s.b_dec_, threshold=s.threshold_)


def shard(X, B):
    """Rank's rows of every global batch (B / R each, the first B % R ranks one more)."""
    base, extra = divmod(B, size)
    off = rank * base + min(rank, extra)
    n = base + (rank < extra)
    steps = X.shape[0] // B
    return np.concatenate([X[s * B + off: s * B + off + n] for s in range(steps)])


# The in-memory runs compared with one process (test_distributed.py MEMORY_RUNS has the same list).
MEMORY_RUNS = [("topk", {}), ("relu", dict(architecture="relu")), ("jumprelu", dict(architecture="jumprelu")),
               ("odd", dict(batch_size=63)), ("batchtopk", dict(architecture="batchtopk")),
               ("batchtopk_odd", dict(architecture="batchtopk", batch_size=63)),
               ("matryoshka", dict(architecture="matryoshka_batchtopk", group_widths=[16, 64])),
               ("auxk", dict(n_latents=256, auxk_alpha=1 / 32, dead_tokens=256)),
               ("batchtopk_auxk", dict(architecture="batchtopk", n_latents=256, auxk_alpha=1 / 32, dead_tokens=256)),
               ("geometric_median", dict(b_dec_init="geometric_median"))]
if scenario == "memory":
    X = np.load(sys.argv[3])
    only = sys.argv[4].split(",") if len(sys.argv) > 4 else None
    for arch, kw in MEMORY_RUNS:
        if only and arch not in only:
            continue
        p = params(**kw)
        s = SparseAutoencoder(**p).fit(shard(X, p["batch_size"]), shuffle=False, comm=comm, epochs=2)
        if rank == 0:
            np.savez(os.path.join(out, f"memory_{arch}_{size}.npz"), calls=s.reducer_calls_, **weights(s),
                     **{f"history_{k}": v for k, v in s.history_.items()})
        # every rank holds the same model
        w = np.concatenate([v.ravel() for v in weights(s).values()])
        assert all(np.array_equal(w, o) for o in comm.allgather(w)), "ranks ended with different models"
elif scenario == "duplicate":
    # every rank passes the SAME rows: each global batch holds every row R times, so every BatchTopK
    # candidate value is tied R times (the tie rule across ranks: lower ranks first, as rows in order)
    X = np.load(sys.argv[3])
    for arch, kw in [("batchtopk", dict(architecture="batchtopk")),
                     ("matryoshka", dict(architecture="matryoshka_batchtopk", group_widths=[16, 64]))]:
        p = params(**kw)
        local = p["batch_size"] // size
        s = SparseAutoencoder(**p).fit(X[: (X.shape[0] // local) * local], shuffle=False, comm=comm)
        if rank == 0:
            np.savez(os.path.join(out, f"duplicate_{arch}_{size}.npz"), **weights(s))
elif scenario == "file":
    s = SparseAutoencoder(**params()).fit(sys.argv[3], dataset="acts", comm=comm, epochs=2)
    if rank == 0:
        np.savez(os.path.join(out, f"file_{size}.npz"), **weights(s))
    # one epoch, checkpoint by rank 0, for the resume test
    s = SparseAutoencoder(**params()).fit(sys.argv[3], dataset="acts", comm=comm, epochs=1)
    distributed.save_checkpoint(s, os.path.join(out, f"ckpt_{size}"), comm)
elif scenario == "resume":
    s = load_checkpoint(sys.argv[3]).fit(sys.argv[4], dataset="acts", comm=comm, epochs=2, resume=True)
    if rank == 0:
        np.savez(os.path.join(out, f"resume_{size}.npz"), **weights(s))
elif scenario == "disagree":
    X = np.random.default_rng(rank).standard_normal((256, 16)).astype(np.float32)
    try:
        SparseAutoencoder(**params(lr=1e-3 if rank == 0 else 2e-3)).fit(X, comm=comm)
        msg = "no error"
    except Exception as exc:   # noqa: BLE001 -- the message is the result
        msg = f"{type(exc).__name__}: {exc}"
    with open(os.path.join(out, f"disagree_{rank}.txt"), "w") as f:
        f.write(msg)
elif scenario == "missing":
    path = sys.argv[3] if rank == 0 else sys.argv[3] + ".missing"
    try:
        SparseAutoencoder(**params()).fit(path, dataset="acts", comm=comm)
        msg = "no error"
    except Exception as exc:   # noqa: BLE001
        msg = f"{type(exc).__name__}: {exc}"
    with open(os.path.join(out, f"missing_{rank}.txt"), "w") as f:
        f.write(msg)
elif scenario == "die":
    X = np.random.default_rng(rank).standard_normal((4096, 16)).astype(np.float32)

    def cb(info):
        if rank == 1 and info["step"] == 3:
            os._exit(3)   # the process dies without MPI_Finalize
    SparseAutoencoder(**params()).fit(X, comm=comm, epochs=50, callback=cb)
elif scenario == "stats":
    d = np.load(sys.argv[3])
    X, Y, lt, lp = d["X"], d["Y"], d["lt"], d["lp"]
    part = np.array_split(np.arange(X.shape[0]), size)[rank]
    sae = load_checkpoint(sys.argv[4])
    res = dict(ch=distributed.calinski_harabasz_score(X[part], lt[part], comm),
               db=distributed.davies_bouldin_score(X[part], lt[part], comm),
               ari=distributed.adjusted_rand_score(lt[part], lp[part], comm),
               nmi=distributed.normalized_mutual_info_score(lt[part], lp[part], comm),
               ami=distributed.adjusted_mutual_info_score(lt[part], lp[part], comm),
               cka=distributed.linear_cka(X[part], Y[part], comm),
               dcka=distributed.linear_cka(X[part], Y[part], comm, debiased=True),
               nmi_geo=distributed.normalized_mutual_info_score(lt[part], lp[part], comm, average_method="geometric"),
               ami_max=distributed.adjusted_mutual_info_score(lt[part], lp[part], comm, average_method="max"))
    lat = distributed.latent_stats(sae, X[part], comm, top=5)
    fields = {k: getattr(lat, k) for k in type(lat).__slots__}
    flat = np.concatenate([np.asarray(v, np.float64).ravel() for v in fields.values()])
    same = all(np.array_equal(flat, o) for o in comm.allgather(flat))
    if rank == 0:
        np.savez(os.path.join(out, "stats.npz"), **res, **fields, same_on_every_rank=same)
else:
    raise SystemExit(f"unknown scenario {scenario}")
