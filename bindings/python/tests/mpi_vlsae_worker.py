"""Run under mpirun by test_vlsae_training.py: python -m mpi4py mpi_vlsae_worker.py OUTDIR DATA.npz PAIRS.h5.
Trains the same VL-SAE on two ranks in memory (each rank its share of every global batch, in row order) and
from the file (every rank reads it, keeps its share), then a projected model (d_vision != d_text, fixed
P_vision, P_text: each rank projects its own rows) in memory, and saves rank 0's models. Ranks holding
different projections must both be refused before the first step."""
import os
import sys

import numpy as np
from mpi4py import MPI

import lamina

from lamina.sae import VLSparseAutoencoder

comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()
out, data, h5 = sys.argv[1], sys.argv[2], sys.argv[3]
TENSORS = ("W_enc", "W_dec_vision", "b_dec_vision", "W_dec_text", "b_dec_text")


def params(**kw):
    p = dict(n_latents=48, k=3, batch_size=32, lr=5e-3, random_state=11, dead_tokens=40, auxk_alpha=0.1)
    p.update(kw)
    return p


def shard(X, B):
    base, extra = divmod(B, size)
    off = rank * base + min(rank, extra)
    n = base + (rank < extra)
    steps = -(-X.shape[0] // B)
    return np.concatenate([X[s * B + off: min(s * B + off + n, X.shape[0])] for s in range(steps)])


def save(tag, vl):
    w = {name: vl.get_tensor(name) for name in TENSORS}
    if tag == "projected":
        w.update(P_vision=vl.get_tensor("P_vision"), P_text=vl.get_tensor("P_text"))
    flat = np.concatenate([v.ravel() for v in w.values()])
    assert all(np.array_equal(flat, o) for o in comm.allgather(flat)), "ranks ended with different models"
    if rank == 0:
        np.savez(os.path.join(out, f"{tag}_{size}.npz"), loss=vl.history_["loss"], **w)


d = np.load(data)
B = params()["batch_size"]
vl = VLSparseAutoencoder(10, 10, **params(shuffle=False)).fit(shard(d["V"], B), shard(d["T"], B), epochs=2, comm=comm)
save("memory", vl)
vl = VLSparseAutoencoder(10, 10, **params()).fit(h5, vision_dataset="v", text_dataset="t", epochs=2, comm=comm)
save("file", vl)

# projected: V (n, 10) and Tp (n, 7) through P_vision (6 x 10), P_text (6 x 7)
proj = (d["Pv"], d["Pt"])
vl = VLSparseAutoencoder(**params(shuffle=False), projections=proj).fit(shard(d["V"], B), shard(d["Tp"], B), epochs=2,
                                                                         comm=comm)
save("projected", vl)
# different projections on the ranks: refused on every rank before the first step
Pv = d["Pv"].copy()
if rank == 1:
    Pv[0, 0] += 1
vl = VLSparseAutoencoder(**params(shuffle=False), projections=(Pv, d["Pt"]))
try:
    vl.fit(shard(d["V"], B), shard(d["Tp"], B), epochs=1, comm=comm)
except lamina.LaminaError as e:
    assert "checksum of P_vision" in str(e) or "rank 1 failed" in str(e), str(e)
else:
    raise AssertionError("ranks with different projections trained")
assert len(vl.history_["loss"]) == 0
