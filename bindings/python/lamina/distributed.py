"""Data-parallel SAE training and mergeable statistics over MPI (mpi4py) [experimental].

The native library has no MPI: the SAE trainer calls a reducer (include/lamina.h, section 15) that this
module implements with mpi4py. Any object with mpi4py's Gather / Bcast / allgather / Get_rank / Get_size
works as `comm`.

Deterministic allreduce. `allreduce_sum(comm, a)` sums in a FIXED rank order: Gather to rank 0, rank 0
adds rank 0's buffer, then rank 1's, ... (elementwise IEEE adds), then Bcast. The result does not depend on
the MPI library's reduction algorithm, so runs are reproducible bit for bit and every rank gets identical
bytes. Cost for n bytes on R ranks: rank 0 receives (R - 1) n bytes and holds R n bytes, then sends n bytes
to each rank (a tree broadcast): about R n bytes through the root against 2 n (R - 1) / R per rank for a
ring MPI_Allreduce. Fine for a few ranks; for many ranks use `deterministic=False` (MPI_Allreduce: faster,
but the summation order is the library's).

Faults: MPI's default error handler on COMM_WORLD is MPI_ERRORS_ARE_FATAL, so an MPI failure aborts the job.
Run scripts as `mpirun ... python -m mpi4py script.py`: an uncaught exception on one rank then calls
MPI_Abort, so mpirun exits non-zero instead of leaving the other ranks waiting in a collective. Before any
reduction, `fit` makes every rank agree that its own checks passed (file present, shapes, parameters): a rank
that failed is named in the error raised on every rank.
"""
import ctypes
import sys

import numpy as np

from . import _native as N
from .errors import InvalidArgumentError, LaminaError

__all__ = ["allreduce_sum", "fit", "save_checkpoint"]


def allreduce_sum(comm, a, deterministic=True):
    """Sums the contiguous numpy array `a` in place across the ranks of comm (see the module doc)."""
    size = comm.Get_size()
    if size == 1:
        return a
    if not deterministic:
        from mpi4py import MPI
        comm.Allreduce(MPI.IN_PLACE, a, op=MPI.SUM)
        return a
    rank = comm.Get_rank()
    parts = np.empty((size,) + a.shape, dtype=a.dtype) if rank == 0 else None
    comm.Gather(a, parts, root=0)
    if rank == 0:
        acc = parts[0].copy()
        for r in range(1, size):
            acc += parts[r]
        a[...] = acc
    comm.Bcast(a, root=0)
    return a


class _Reducer:
    """A lamina_reduce_fn over comm; keeps the ctypes callback alive and the first exception raised in it."""

    def __init__(self, comm, deterministic=True):
        self.comm = comm
        self.rank = comm.Get_rank()
        self.size = comm.Get_size()
        self.deterministic = deterministic
        self.error = None
        self.seconds = 0.0
        self.calls = 0
        self.fn = N.ReduceFn(self._reduce)

    def _reduce(self, buffer, count, dtype, user):
        import time
        t0 = time.perf_counter()
        try:
            ctype = ctypes.c_float if dtype == N.LAMINA_DTYPE_FLOAT32 else ctypes.c_double
            a = np.ctypeslib.as_array((ctype * count).from_address(buffer))
            allreduce_sum(self.comm, a, self.deterministic)
            return 0
        except BaseException as exc:   # a Python exception must not cross the C boundary
            self.error = exc
            return 8   # LAMINA_ERR_INTERNAL
        finally:
            self.seconds += time.perf_counter() - t0
            self.calls += 1


def fit(sae, X, comm, *, epochs=1, dataset=None, callback=None, resume=False, shuffle=True, deterministic=True,
        **kwargs):
    """SparseAutoencoder.fit(X, comm=comm): every rank calls it with the same parameters and its own rows
    (an array) or the same file (a path with `dataset`). Returns sae; sae.reducer_seconds_ is the time this
    rank spent in reductions. See include/lamina.h section 15 for the data order and what is refused."""
    state = {"agreed": False}
    rank = comm.Get_rank()

    def agree(error=None):
        state["agreed"] = True
        errors = comm.allgather(None if error is None else f"{type(error).__name__}: {error}")
        bad = [(r, e) for r, e in enumerate(errors) if e is not None]
        if bad:
            if error is not None:
                raise error
            r, e = bad[0]
            raise InvalidArgumentError(f"rank {r} failed before training, so no rank trains: {e}")

    reducer = _Reducer(comm, deterministic)
    try:
        sae._fit(X, epochs=epochs, dataset=dataset, callback=callback, resume=resume, shuffle=shuffle,
                 reducer=reducer, prepared=agree, **kwargs)
    except LaminaError as exc:
        if not state["agreed"]:
            agree(exc)
        if reducer.error is not None:
            raise type(exc)(f"{exc} (rank {rank}: {type(reducer.error).__name__}: {reducer.error})") from reducer.error
        raise
    except BaseException as exc:
        if not state["agreed"]:
            agree(exc)
        raise
    sae.reducer_seconds_ = reducer.seconds
    sae.reducer_calls_ = reducer.calls
    return sae


def save_checkpoint(sae, path, comm):
    """Rank 0 writes the checkpoint (atomically, as SparseAutoencoder.save_checkpoint); every rank waits for
    it. The checkpoint does not depend on the number of ranks: load_checkpoint(path).fit(..., resume=True,
    comm=...) resumes on any rank count (for a file, at the same global batch)."""
    error = None
    if comm.Get_rank() == 0:
        try:
            sae.save_checkpoint(path)
        except BaseException as exc:
            error = f"{type(exc).__name__}: {exc}"
    error = comm.bcast(error, root=0)
    if error is not None:
        raise InvalidArgumentError(f"rank 0 could not write the checkpoint {path!r}: {error}")
