"""Data-parallel SAE training and mergeable statistics over MPI (mpi4py) [experimental].

The native library has no MPI: the SAE trainer calls a reducer (include/lamina.h, section 16) that this
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
import functools
import sys

import numpy as np

from . import _native as N
from .errors import InvalidArgumentError, LaminaError

__all__ = ["allreduce_sum", "fit", "fit_structural_probe", "save_checkpoint"]


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
        self.bytes = 0       # bytes this rank passed to the reducer (its contribution)
        self.fn = N.ReduceFn(self._reduce)

    def _reduce(self, buffer, count, dtype, user):
        import time
        t0 = time.perf_counter()
        try:
            ctype = ctypes.c_float if dtype == N.LAMINA_DTYPE_FLOAT32 else ctypes.c_double
            a = np.ctypeslib.as_array((ctype * count).from_address(buffer))
            self.bytes += a.nbytes
            allreduce_sum(self.comm, a, self.deterministic)
            return 0
        except BaseException as exc:   # a Python exception must not cross the C boundary
            self.error = exc
            return 8   # LAMINA_ERR_INTERNAL
        finally:
            self.seconds += time.perf_counter() - t0
            self.calls += 1


def _agreement(comm, state):
    """agree(error=None): every rank says whether its own preparation failed; a failure anywhere raises on
    every rank (naming the first rank that failed)."""
    def agree(error=None):
        state["agreed"] = True
        errors = comm.allgather(None if error is None else f"{type(error).__name__}: {error}")
        bad = [(r, e) for r, e in enumerate(errors) if e is not None]
        if bad:
            if error is not None:
                raise error
            r, e = bad[0]
            raise InvalidArgumentError(f"rank {r} failed before training, so no rank trains: {e}")
    return agree


def run_with_comm(model, comm, run, *, deterministic=True):
    """The one pattern behind every comm= fit: run(reducer=, prepared=) on every rank of comm, where the
    model's fit calls prepared() once its own checks passed and before its first reduction. Errors before
    training are agreed on by every rank (no rank is left waiting in a reduction; a failure elsewhere is
    named with its rank); a reducer failure is named with its rank. Sets model.reducer_seconds_ /
    reducer_calls_ / reducer_bytes_ (this rank's time in reductions, their number, the bytes it passed)."""
    state = {"agreed": False}
    rank = comm.Get_rank()
    agree = _agreement(comm, state)
    reducer = _Reducer(comm, deterministic)
    try:
        run(reducer=reducer, prepared=agree)
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
    model.reducer_seconds_ = reducer.seconds
    model.reducer_calls_ = reducer.calls
    model.reducer_bytes_ = reducer.bytes
    return model


def fit(sae, X, comm, *, epochs=1, dataset=None, callback=None, resume=False, shuffle=True, deterministic=True,
        sparse_gradients=False, **kwargs):
    """SparseAutoencoder.fit(X, comm=comm): every rank calls it with the same parameters and its own rows
    (an array) or the same file (a path with `dataset`; each rank reads only its rows of every global
    batch). sparse_gradients=True reduces only the gradient rows of the latents some rank touched in the
    step (the same result as the dense reduction; smaller when n_latents >> batch_size * k). Returns sae
    with reducer_seconds_ / reducer_calls_ / reducer_bytes_ (run_with_comm). See include/lamina.h section
    16 for the data order and the reductions per step."""
    mode = N.LAMINA_SAE_REDUCE_SPARSE_ROWS if sparse_gradients else N.LAMINA_SAE_REDUCE_DENSE

    def run(reducer, prepared):
        def prepared_and_mode():
            prepared()
            N.call("lamina_sae_set_reduce_mode", sae._handle, mode)
        if not isinstance(sparse_gradients, (bool, np.bool_)):
            raise InvalidArgumentError(f"sparse_gradients is {sparse_gradients!r}; expected True or False")
        sae._fit(X, epochs=epochs, dataset=dataset, callback=callback, resume=resume, shuffle=shuffle,
                 reducer=reducer, prepared=prepared_and_mode, **kwargs)
    return run_with_comm(sae, comm, run, deterministic=deterministic)


def fit_structural_probe(probe, activations, offsets=None, targets=None, *, comm, dev=None, callback=None,
                         deterministic=True):
    """StructuralProbe.fit(..., comm=comm): every rank passes the SAME items, targets and dev split (e.g.
    read from one shared file) and the same parameters; rank r computes its share of every batch (B / R
    items, one more for r < B % R) and one float64 reduction per step sums the gradient and the loss, so
    every rank ends with the same projection, equal to a one-process fit to float rounding (include/lamina.h
    section 16). Returns probe with reducer_seconds_ / reducer_calls_ / reducer_bytes_."""
    def run(reducer, prepared):
        probe._fit(activations, offsets, targets, dev=dev, callback=callback, reducer=reducer, prepared=prepared)
    return run_with_comm(probe, comm, run, deterministic=deterministic)


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


# ---- mergeable statistics ---------------------------------------------------------------------------------
#
# Each statistic has a partial form on one shard (plain float64 / int64 numpy arrays in a dict), `merge`
# (elementwise sums, or the top-k merge for latent rows) and a finalize step, so that shards that never
# meet can also be combined by any map-reduce. The *_score(..., comm=) functions run partial -> allreduce
# (deterministic, fixed rank order) -> finalize on every rank (ARI / NMI / AMI: the variable-length cells are
# allgathered and merged -- exact integer sums, so the order does not matter). Two passes where a one-pass form would lose
# precision by cancellation: class centroids (or column means) first, then centred sums, so the results
# equal the one-machine values to about 1e-12 relative. [experimental] Every partial, merge and finalize
# runs in C (header section 16: CH / DB, contingency cells for ARI / NMI / AMI, CKA sums; the per-latent SAE
# statistics are lamina_sae_latent_statistics, section 12a, with its merge rule); this module only moves the
# plain arrays between ranks.

def _labels(labels, n, name="labels"):
    lab = np.asarray(labels)
    if lab.shape != (n,) or not np.issubdtype(lab.dtype, np.integer) or (n and lab.min() < 0):
        raise InvalidArgumentError(f"{name} has shape {lab.shape} and dtype {lab.dtype}; expected {n} "
                                   "integers >= 0 (global cluster ids, the same on every shard)")
    return lab.astype(np.int64)


def merge(*partials):
    """Sums partial results (dicts of arrays of equal shapes) key by key; contingency partials
    (contingency_partial) are concatenated and their equal cells summed (C: lamina_contingency_merge);
    LatentStatistics partials (latent_stats_partial) are merged in the given order by LatentStatistics.merge."""
    from .dashboard import LatentStatistics
    if not partials:
        raise InvalidArgumentError("merge() got no partials; expected at least one")
    if isinstance(partials[0], LatentStatistics):
        return functools.reduce(LatentStatistics.merge, partials)
    if isinstance(partials[0], dict) and set(partials[0]) == set(_CELLS):
        return _merge_cells(partials)
    out = {}
    for key in partials[0]:
        out[key] = partials[0][key].copy()
        for p in partials[1:]:
            if p[key].shape != out[key].shape:
                raise InvalidArgumentError(f"partial '{key}' has shape {p[key].shape}; expected {out[key].shape} "
                                           "(pass the same n_clusters / sizes to every shard)")
            out[key] = out[key] + p[key]
    return out


def _reduce(comm, partial):
    """Allreduce of every array of a partial (float64 sums; exact for counts < 2^53)."""
    if comm is None:
        return partial
    out = {}
    for key, value in partial.items():
        a = np.ascontiguousarray(value, dtype=np.float64).copy()
        allreduce_sum(comm, a)
        out[key] = a.astype(value.dtype) if np.issubdtype(value.dtype, np.integer) else a
    return out


def _n_clusters(labels, comm, n_clusters):
    if n_clusters is not None:
        return int(n_clusters)
    k = np.array([labels.max() + 1 if labels.size else 0], dtype=np.float64)
    if comm is not None:
        parts = comm.allgather(float(k[0]))
        k[0] = max(parts)
    return int(k[0])


def _f32(X):
    x = np.ascontiguousarray(X, dtype=np.float32)
    if x.ndim != 2:
        raise InvalidArgumentError(f"X has shape {x.shape}; expected a 2-D array (n, d)")
    return x


def _i32(labels, n, name="labels"):
    lab = np.asarray(labels)
    if lab.shape != (n,) or not np.issubdtype(lab.dtype, np.integer):
        expected = f"{n} integers" if n >= 0 else "a 1-D array of integers"
        raise InvalidArgumentError(f"{name} has shape {lab.shape} and dtype {lab.dtype}; expected {expected}")
    if lab.size and (lab.min() < np.iinfo(np.int32).min or lab.max() > np.iinfo(np.int32).max):
        raise InvalidArgumentError(f"{name} has values in [{lab.min()}, {lab.max()}]; expected int32 values")
    return np.ascontiguousarray(lab, dtype=np.int32)


def class_sums_partial(X, labels, n_clusters):
    """Pass 1 of Calinski-Harabasz / Davies-Bouldin on a shard (C: lamina_class_sums_partial):
    {'counts': int64 (k,), 'sums': float64 (k, d)}; labels are global cluster ids 0..k-1."""
    x = _f32(X)
    lab = _i32(labels, x.shape[0])
    counts = np.zeros(int(n_clusters), dtype=np.int64)
    sums = np.zeros((int(n_clusters), x.shape[1]))
    N.call("lamina_class_sums_partial", N.fptr(x), x.shape[0], x.shape[1], N.iptr(lab), int(n_clusters),
           counts.ctypes.data_as(N.i64p), sums.ctypes.data_as(N.f64p))
    return {"counts": counts, "sums": sums}


def centroids_finalize(merged):
    """Centroids (k, d) (C: lamina_class_centroids; zeros for empty classes) and the overall mean (d,)."""
    counts = np.ascontiguousarray(merged["counts"], dtype=np.int64)
    sums = np.ascontiguousarray(merged["sums"], dtype=np.float64)
    cent = np.zeros_like(sums)
    N.call("lamina_class_centroids", sums.shape[0], sums.shape[1], counts.ctypes.data_as(N.i64p),
           sums.ctypes.data_as(N.f64p), cent.ctypes.data_as(N.f64p))
    return cent, sums.sum(axis=0) / max(counts.sum(), 1)


def class_spread_partial(X, labels, centroids):
    """Pass 2 on a shard (C: lamina_class_spread_partial): {'sq': sum ||x - c_label||^2 per class (k,),
    'dist': sum ||x - c_label|| per class (k,)}."""
    x = _f32(X)
    lab = _i32(labels, x.shape[0])
    cent = np.ascontiguousarray(centroids, dtype=np.float64)
    if cent.ndim != 2 or cent.shape[1] != x.shape[1]:
        raise InvalidArgumentError(f"centroids has shape {cent.shape}; expected (n_clusters, {x.shape[1]})")
    sq, dist = np.zeros(cent.shape[0]), np.zeros(cent.shape[0])
    N.call("lamina_class_spread_partial", N.fptr(x), x.shape[0], x.shape[1], N.iptr(lab), cent.shape[0],
           cent.ctypes.data_as(N.f64p), sq.ctypes.data_as(N.f64p), dist.ctypes.data_as(N.f64p))
    return {"sq": sq, "dist": dist}


def _finalize(name, merged1, merged2, key):
    counts = np.ascontiguousarray(merged1["counts"], dtype=np.int64)
    sums = np.ascontiguousarray(merged1["sums"], dtype=np.float64)
    extra = np.ascontiguousarray(merged2[key], dtype=np.float64)
    out = ctypes.c_double()
    N.call(name, sums.shape[0], sums.shape[1], counts.ctypes.data_as(N.i64p), sums.ctypes.data_as(N.f64p),
           extra.ctypes.data_as(N.f64p), ctypes.byref(out))
    return out.value


def calinski_harabasz_finalize(merged1, merged2):
    """CH from the merged passes (C: lamina_calinski_harabasz_finalize)."""
    return _finalize("lamina_calinski_harabasz_finalize", merged1, merged2, "sq")


def davies_bouldin_finalize(merged1, merged2):
    """DB from the merged passes (C: lamina_davies_bouldin_finalize)."""
    return _finalize("lamina_davies_bouldin_finalize", merged1, merged2, "dist")


def _two_pass(X, labels, comm, n_clusters):
    lab = _labels(labels, np.shape(X)[0])
    k = _n_clusters(lab, comm, n_clusters)
    m1 = _reduce(comm, class_sums_partial(X, lab, k))
    cent, _ = centroids_finalize(m1)
    m2 = _reduce(comm, class_spread_partial(X, lab, cent))
    return m1, m2


def calinski_harabasz_score(X, labels, comm=None, n_clusters=None):
    """Calinski-Harabasz over the union of every rank's rows (two reductions: class sums, then spreads)."""
    return calinski_harabasz_finalize(*_two_pass(X, labels, comm, n_clusters))


def davies_bouldin_score(X, labels, comm=None, n_clusters=None):
    """Davies-Bouldin over the union of every rank's rows (two reductions: class sums, then spreads)."""
    return davies_bouldin_finalize(*_two_pass(X, labels, comm, n_clusters))


_CELLS = ("label_true", "label_pred", "count")


def _cells(cells, name="cells"):
    """The three contiguous arrays of a contingency partial (int32, int32, int64) and their length."""
    if not isinstance(cells, dict) or set(cells) != set(_CELLS):
        raise InvalidArgumentError(f"{name} is {type(cells).__name__}; expected a contingency partial, a dict with "
                                   f"keys {list(_CELLS)} (contingency_partial)")
    t, p, c = (np.ascontiguousarray(cells[k], dtype=dt) for k, dt in zip(_CELLS, (np.int32, np.int32, np.int64)))
    if not (t.ndim == p.ndim == c.ndim == 1 and t.shape == p.shape == c.shape):
        raise InvalidArgumentError(f"{name} has arrays of shapes {t.shape}, {p.shape}, {c.shape}; expected three 1-D "
                                   "arrays of one length")
    return t, p, c, t.shape[0]


def _cell_ptrs(t, p, c):
    return N.iptr(t), N.iptr(p), c.ctypes.data_as(N.i64p)


def contingency_partial(labels_true, labels_pred):
    """A shard's contingency table (C: lamina_contingency_partial) as cells keyed by label VALUES:
    {'label_true': int32, 'label_pred': int32, 'count': int64} (nnz,), sorted by (label_true, label_pred), one
    cell per pair present. Labels are integers (int32 range) meaning the same on every shard; shards whose label
    sets differ merge as they are (merge)."""
    lt = _i32(labels_true, np.shape(labels_true)[0] if np.ndim(labels_true) == 1 else -1, "labels_true")
    lp = _i32(labels_pred, lt.shape[0], "labels_pred")
    n = lt.shape[0]
    t, p, c = np.empty(n, np.int32), np.empty(n, np.int32), np.empty(n, np.int64)
    nnz = ctypes.c_int64()
    N.call("lamina_contingency_partial", N.iptr(lt), N.iptr(lp), n, *_cell_ptrs(t, p, c), n, ctypes.byref(nnz))
    k = nnz.value
    return {"label_true": t[:k].copy(), "label_pred": p[:k].copy(), "count": c[:k].copy()}


def _merge_cells(partials):
    parts = [_cells(q, f"partial {i}") for i, q in enumerate(partials)]
    t, p, c = (np.ascontiguousarray(np.concatenate([q[j] for q in parts])) for j in range(3))
    nnz = ctypes.c_int64()
    N.call("lamina_contingency_merge", *_cell_ptrs(t, p, c), t.shape[0], *_cell_ptrs(t, p, c), t.shape[0],
           ctypes.byref(nnz))
    k = nnz.value
    return {"label_true": t[:k].copy(), "label_pred": p[:k].copy(), "count": c[:k].copy()}


def contingency_finalize(merged, score="ari", average_method="arithmetic"):
    """ARI, NMI or AMI (score 'ari' | 'nmi' | 'ami'; average_method as lamina.metrics) from contingency cells
    (merged or just concatenated): C lamina_adjusted_rand_finalize / lamina_normalized_mutual_info_finalize /
    lamina_adjusted_mutual_info_finalize, which rebuild the one-machine table and equal the one-machine scores."""
    from .metrics import _AVERAGES
    t, p, c, nnz = _cells(merged, "merged")
    out = ctypes.c_double()
    if score == "ari":
        N.call("lamina_adjusted_rand_finalize", *_cell_ptrs(t, p, c), nnz, ctypes.byref(out))
    elif score in ("nmi", "ami"):
        name = "lamina_normalized_mutual_info_finalize" if score == "nmi" else "lamina_adjusted_mutual_info_finalize"
        N.call(name, *_cell_ptrs(t, p, c), nnz, N.option(average_method, _AVERAGES, "average_method"),
               ctypes.byref(out))
    else:
        raise InvalidArgumentError(f"score={score!r}; expected 'ari', 'nmi' or 'ami'")
    return out.value


def _contingency(labels_true, labels_pred, comm):
    part = contingency_partial(labels_true, labels_pred)
    if comm is None:
        return part
    return _merge_cells(comm.allgather(part))   # variable-length cells: gathered, merged (order-free, exact)


def adjusted_rand_score(labels_true, labels_pred, comm=None):
    """ARI of the union of every rank's (labels_true, labels_pred) pairs: each rank's contingency cells are
    gathered to every rank and merged (C, exact integers), then finalised; equals the one-machine value."""
    return contingency_finalize(_contingency(labels_true, labels_pred, comm), "ari")


def normalized_mutual_info_score(labels_true, labels_pred, comm=None, average_method="arithmetic"):
    """NMI of the union of every rank's pairs (as adjusted_rand_score; average_method as lamina.metrics)."""
    return contingency_finalize(_contingency(labels_true, labels_pred, comm), "nmi", average_method)


def adjusted_mutual_info_score(labels_true, labels_pred, comm=None, average_method="arithmetic"):
    """AMI of the union of every rank's pairs (as adjusted_rand_score; average_method as lamina.metrics)."""
    return contingency_finalize(_contingency(labels_true, labels_pred, comm), "ami", average_method)


def _flag(debiased):
    if not isinstance(debiased, (bool, np.bool_)):
        raise InvalidArgumentError(f"debiased is {debiased!r}; expected True or False")
    return int(debiased)


def column_sums_partial(X, Y):
    """Pass 1 of CKA on a shard: {'n': int64 (1,), 'sum_x': float64 (d1,), 'sum_y': float64 (d2,)}, the
    float64 column sums (C: lamina_class_sums_partial with one class); merge adds; pass 2 shifts by sum / n."""
    x, y = _f32(X), _f32(Y)
    if x.shape[0] != y.shape[0]:
        raise InvalidArgumentError(f"X has {x.shape[0]} rows and Y {y.shape[0]}; expected the same rows")
    one = np.zeros(x.shape[0], np.int32)
    sums = [class_sums_partial(v, one, 1)["sums"][0] if v.shape[0] else np.zeros(v.shape[1]) for v in (x, y)]
    return {"n": np.array([x.shape[0]], dtype=np.int64), "sum_x": sums[0], "sum_y": sums[1]}


_CKA_PARTS = ("n", "sum_x", "sum_y", "xx", "yy", "xy")
_CKA_DEBIASED_PARTS = ("norm_products", "ax", "bx", "ay", "by")


def _cka_shapes(d1, d2, debiased):
    shapes = [(1,), (d1,), (d2,), (d1, d1), (d2, d2), (d1, d2)]
    return shapes + ([(3,), (d1,), (d1,), (d2,), (d2,)] if debiased else [])


def cka_cross_partial(X, Y, mean_x=None, mean_y=None, debiased=False):
    """Pass 2 of CKA on a shard (C: lamina_linear_cka_partial): the header's float64 layout as named arrays
    of the sums of the rows z = x - mean_x, w = y - mean_y (mean_x / mean_y: the merged column means of pass 1,
    the same on every shard; None = no shift, one pass, with cancellation): 'n' (1,), 'sum_x' (d1,), 'sum_y'
    (d2,), 'xx' = Z^T Z (d1, d1), 'yy' = W^T W (d2, d2), 'xy' = Z^T W (d1, d2), and with debiased=True
    'norm_products' = [sum a^2, sum b^2, sum a b] (a_i = ||z_i||^2, b_i = ||w_i||^2), 'ax' = sum a_i z_i,
    'bx' = sum b_i z_i (d1,), 'ay' = sum a_i w_i, 'by' = sum b_i w_i (d2,). merge adds them."""
    x, y = _f32(X), _f32(Y)
    if x.shape[0] != y.shape[0]:
        raise InvalidArgumentError(f"X has {x.shape[0]} rows and Y {y.shape[0]}; expected the same rows")
    flag = _flag(debiased)
    d1, d2 = x.shape[1], y.shape[1]
    shapes = _cka_shapes(d1, d2, flag)
    out = np.zeros(sum(int(np.prod(s)) for s in shapes))
    shifts = []
    for m, d, name in ((mean_x, d1, "mean_x"), (mean_y, d2, "mean_y")):
        if m is not None:
            m = np.ascontiguousarray(m, dtype=np.float64)
            if m.shape != (d,):
                raise InvalidArgumentError(f"{name} has shape {m.shape}; expected ({d},)")
        shifts.append(m)
    if x.shape[0] > 0:   # an empty shard adds nothing
        N.call("lamina_linear_cka_partial", N.fptr(x), x.shape[0], d1, N.fptr(y), d2,
               *[None if m is None else m.ctypes.data_as(N.f64p) for m in shifts], flag,
               out.ctypes.data_as(N.f64p), out.shape[0])
    parts, at = {}, 0
    for key, shape in zip(_CKA_PARTS + (_CKA_DEBIASED_PARTS if flag else ()), shapes):
        size = int(np.prod(shape))
        parts[key] = out[at:at + size].reshape(shape).copy()
        at += size
    parts["n"] = parts["n"].astype(np.int64)
    return parts


def linear_cka_finalize(merged):
    """Linear CKA, or debiased CKA when the partial has the debiased sums, from a merged cka_cross_partial
    (C: lamina_linear_cka_finalize): the values and errors of lamina.geometry.linear_cka on the union of the
    shards' rows."""
    if not isinstance(merged, dict) or not set(_CKA_PARTS) <= set(merged):
        raise InvalidArgumentError(f"merged is {type(merged).__name__}; expected a merged cka_cross_partial")
    flag = int(set(_CKA_DEBIASED_PARTS) <= set(merged))
    d1, d2 = np.shape(merged["sum_x"])[0], np.shape(merged["sum_y"])[0]
    keys = _CKA_PARTS + (_CKA_DEBIASED_PARTS if flag else ())
    for key, shape in zip(keys, _cka_shapes(d1, d2, flag)):
        if np.shape(merged[key]) != shape:
            raise InvalidArgumentError(f"merged '{key}' has shape {np.shape(merged[key])}; expected {shape}")
    p = np.ascontiguousarray(np.concatenate([np.asarray(merged[k], dtype=np.float64).ravel() for k in keys]))
    out = ctypes.c_double()
    N.call("lamina_linear_cka_finalize", d1, d2, flag, p.ctypes.data_as(N.f64p), p.shape[0], ctypes.byref(out))
    return out.value


def linear_cka(X, Y, comm=None, debiased=False):
    """Linear (or debiased) CKA of the union of every rank's rows: two reductions, column sums then the
    cross-product partial shifted by the global column means (header section 16), then the C finalize."""
    m1 = _reduce(comm, column_sums_partial(X, Y))
    n = max(int(m1["n"][0]), 1)
    m2 = cka_cross_partial(X, Y, m1["sum_x"] / n, m1["sum_y"] / n, debiased)
    return linear_cka_finalize(_reduce(comm, m2))


def latent_stats_partial(sae, X, row_offset=0, top=8):
    """Per-latent SAE statistics of a shard: the native one-pass lamina_sae_latent_statistics
    (sae.latent_statistics, header section 12a) with rows numbered row_offset + i (GLOBAL row ids). Returns a
    lamina.dashboard.LatentStatistics (count, sum, max, min_nonzero, histogram, top_rows / top_values: the
    `top` largest codes per latent, ties to the lower row, unused slots row -1 value 0); partials of disjoint
    shards combine with merge(...) / LatentStatistics.merge (the header's merge rule)."""
    return sae.latent_statistics(X, top_n=top, row_offset=row_offset)


def latent_stats(sae, X, comm=None, row_offset=None, top=8):
    """latent_stats_partial over the union of every rank's rows, the same LatentStatistics on every rank:
    every statistic but the float64 sum is bit-identical to one pass over all rows, and the sum is the partial
    sums added in rank order (= merging the partials in rank order). Communication: the additive parts
    (histogram, sum) through allreduce_sum (fixed rank order), the rest (n_rows, count, max, min_nonzero and the
    top lists: O(n_latents x top)) gathered and merged in rank order. row_offset defaults to the rows of the
    lower ranks."""
    if comm is None:
        return latent_stats_partial(sae, X, row_offset or 0, top)
    if row_offset is None:
        counts = comm.allgather(int(np.shape(X)[0]))
        row_offset = sum(counts[:comm.Get_rank()])
    from .dashboard import LatentStatistics
    p = latent_stats_partial(sae, X, row_offset, top)
    light = comm.allgather((p.n_rows, p.count, p.max, p.min_nonzero, p.top_rows, p.top_values))
    none = np.zeros((p.n_latents, 0), np.int64)   # the histogram travels separately, reduced
    merged = functools.reduce(LatentStatistics.merge, [LatentStatistics(n, c, np.zeros(c.shape[0]), mx, mn, none, tr, tv)
                                                       for n, c, mx, mn, tr, tv in light])
    merged.sum = allreduce_sum(comm, np.ascontiguousarray(p.sum, dtype=np.float64).copy())
    merged.histogram = allreduce_sum(comm, np.ascontiguousarray(p.histogram, dtype=np.int64).copy())
    return merged
