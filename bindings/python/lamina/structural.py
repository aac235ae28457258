"""Structural probes (Hewitt & Manning 2019) with the reference's training and evaluation semantics.

A probe is a rank-r linear map ``B`` (r x d). The *distance* probe predicts the tree distance between
tokens i and j of an item (a sentence, a function) as ``||B (h_i - h_j)||^2``; the *depth* probe
predicts the depth of token i as ``||B h_i||^2``. Training follows john-hewitt/structural-probes
(probe.py, loss.py, regimen.py): ``B ~ uniform(-0.05, 0.05)``, Adam (torch's rule), seeded shuffled
batches of items, the L1 loss of an item normalised by ``L^2`` (distance, L1DistanceLoss) or ``L``
(depth, L1DepthLoss) and averaged over the batch; with a dev split, ReduceLROnPlateau(factor 0.1,
patience 0), the best dev epoch's B kept and early stopping after 5 epochs without improvement.
Evaluation follows reporter.py: UUAS from minimum spanning trees, Spearman per row averaged per
length and then over lengths 5-50, root accuracy.

Items are ragged. Every function accepts either

* a list of per-item arrays (activations ``(L_k, d)``, gold distances ``(L_k, L_k)``, gold depths
  ``(L_k,)``), or
* the concatenated form: activations ``(n_tokens, d)`` plus ``offsets`` (``n_items + 1`` ints,
  ``offsets[0] = 0``, strictly increasing, ``offsets[-1] = n_tokens``) and targets concatenated flat
  (the L_k x L_k matrices row-major one after the other, or one depth per token).

Gold entries equal to -1 are ignored in the loss (the reference's padding value).
"""
from __future__ import annotations

import ctypes
import numbers

import numpy as np

from . import _native as N
from ._base import LaminaEstimator, check_float, check_int, check_offsets, check_seed, progress_callback
from .errors import InvalidArgumentError, NotFittedError, ShapeMismatchError

__all__ = ["StructuralProbe", "uuas", "spearman_5_50", "root_accuracy", "tree_targets", "concat_items",
           "concat_targets", "split_values"]

_KINDS = {"distance": 0, "depth": 1}


# -- ragged helpers --------------------------------------------------------------------------------

def concat_items(items):
    """A list of per-item 2-D activations (L_k, d) -> (x (n_tokens, d) float32, offsets int64)."""
    if isinstance(items, np.ndarray) or not hasattr(items, "__len__"):
        raise InvalidArgumentError("items must be a list of (L_k, d) arrays")
    if len(items) == 0:
        raise InvalidArgumentError("items is empty; expected at least one item")
    arrays = []
    for k, a in enumerate(items):
        arr = np.asarray(a)
        if arr.ndim != 2:
            raise InvalidArgumentError(f"item {k} has shape {arr.shape}; expected a 2-D (length, d) array")
        if arr.shape[0] < 1:
            raise InvalidArgumentError(f"item {k} has no tokens; expected length >= 1")
        if arr.dtype.kind not in "fiub":
            raise InvalidArgumentError(f"item {k} has dtype {arr.dtype}; expected a numeric array")
        arrays.append(arr)
    d = arrays[0].shape[1]
    for k, arr in enumerate(arrays):
        if arr.shape[1] != d:
            raise ShapeMismatchError(f"item {k} has d = {arr.shape[1]}; item 0 has d = {d}; expected the same d")
    lengths = np.array([a.shape[0] for a in arrays], dtype=np.int64)
    offsets = np.zeros(len(arrays) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    x = np.ascontiguousarray(np.concatenate(arrays, axis=0), dtype=np.float32)
    return x, offsets


def concat_targets(targets, lengths=None):
    """A list of per-item gold arrays (L_k x L_k distances or L_k depths) -> flat float32 array.
    When lengths are given each item must match them."""
    if isinstance(targets, np.ndarray) or not hasattr(targets, "__len__"):
        raise InvalidArgumentError("targets must be a list of per-item arrays")
    flat = []
    for k, t in enumerate(targets):
        arr = np.asarray(t, dtype=np.float32)
        if lengths is not None and k < len(lengths):
            L = int(lengths[k])
            if arr.ndim == 2 and arr.shape != (L, L):
                raise ShapeMismatchError(f"gold distances of item {k} have shape {arr.shape}; expected ({L}, {L})")
            if arr.ndim == 1 and arr.shape != (L,):
                raise ShapeMismatchError(f"gold depths of item {k} have shape {arr.shape}; expected ({L},)")
        if arr.ndim not in (1, 2):
            raise InvalidArgumentError(f"gold of item {k} has {arr.ndim} dimensions; expected (L, L) distances or (L,) depths")
        flat.append(arr.ravel())
    if lengths is not None and len(targets) != len(lengths):
        raise ShapeMismatchError(f"targets has {len(targets)} items; the activations have {len(lengths)}")
    if not flat:
        raise InvalidArgumentError("targets is empty")
    return np.ascontiguousarray(np.concatenate(flat), dtype=np.float32)


def split_values(values, offsets, kind):
    """Flat predictions/targets -> list of per-item arrays ((L, L) for distance, (L,) for depth)."""
    offsets = np.asarray(offsets, dtype=np.int64)
    lengths = np.diff(offsets)
    out = []
    pos = 0
    for L in lengths:
        L = int(L)
        if kind == "distance":
            out.append(values[pos:pos + L * L].reshape(L, L))
            pos += L * L
        else:
            out.append(values[pos:pos + L])
            pos += L
    return out


def _offsets(offsets):
    return check_offsets(offsets)


def _items(activations, offsets):
    """-> (x float32 (n, d), offsets int64, was_list)."""
    if isinstance(activations, (list, tuple)):
        if offsets is not None:
            raise InvalidArgumentError("offsets must be None when activations is a list of per-item arrays")
        x, off = concat_items(activations)
        return x, off, True
    x = N.as_matrix(activations, "activations")
    return x, _offsets(offsets), False


def _flat(values, name, offsets=None):
    if isinstance(values, (list, tuple)):
        lengths = np.diff(offsets) if offsets is not None else None
        return concat_targets(values, lengths)
    arr = np.asarray(values)
    if arr.dtype.kind not in "fiub":
        raise InvalidArgumentError(f"{name} has dtype {arr.dtype}; expected a numeric array")
    return np.ascontiguousarray(arr.reshape(-1), dtype=np.float32)


def _ignore(ignore, n_tokens):
    if ignore is None:
        return None
    if isinstance(ignore, (list, tuple)) and ignore and not np.isscalar(ignore[0]):
        ignore = np.concatenate([np.asarray(a).reshape(-1) for a in ignore])
    arr = np.asarray(ignore).reshape(-1)
    if arr.size != n_tokens:
        raise ShapeMismatchError(f"ignore has {arr.size} entries; expected n_tokens = {n_tokens} (one per token)")
    return np.ascontiguousarray(arr != 0, dtype=np.uint8)


def _u8(arr):
    return None if arr is None else arr.ctypes.data_as(N.u8p)


# -- metrics ---------------------------------------------------------------------------------------

def _metric_layout(predicted, gold, offsets):
    """Flat predicted/gold + offsets from either form; returns (pred, gold, offsets, kind_guess)."""
    if isinstance(predicted, (list, tuple)):
        if offsets is not None:
            raise InvalidArgumentError("offsets must be None when predicted is a list of per-item arrays")
        lengths = []
        kind = None
        for k, p in enumerate(predicted):
            a = np.asarray(p)
            if a.ndim == 2:
                if a.shape[0] != a.shape[1]:
                    raise ShapeMismatchError(f"predicted item {k} has shape {a.shape}; expected a square (L, L) matrix")
                kind_k = "distance"
            elif a.ndim == 1:
                kind_k = "depth"
            else:
                raise InvalidArgumentError(f"predicted item {k} has {a.ndim} dimensions; expected (L, L) or (L,)")
            if kind is not None and kind_k != kind:
                raise InvalidArgumentError("predicted mixes (L, L) matrices and (L,) vectors")
            kind = kind_k
            lengths.append(a.shape[0])
        if not lengths:
            raise InvalidArgumentError("predicted is empty; expected at least one item")
        off = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=off[1:])
        return _flat(predicted, "predicted", off), _flat(gold, "gold", off), off, kind
    off = _offsets(offsets)
    return _flat(predicted, "predicted"), _flat(gold, "gold"), off, None


def _check_same(pred, gold):
    if pred.size != gold.size:
        raise ShapeMismatchError(f"predicted has {pred.size} values and gold has {gold.size}; expected the same layout")


def uuas(predicted, gold, offsets=None, *, ignore=None, return_counts=False):
    """Undirected unlabelled attachment score of predicted distances against gold tree distances, as the
    reference's reporter: per item the minimum spanning tree of each L x L matrix over the tokens not
    ignored (pairs sorted by distance, ties in row-major order); UUAS = gold edges found / gold edges,
    summed over all items. ``ignore``: optional boolean per token (the reference leaves out
    punctuation). With ``return_counts``, returns (uuas, n_correct, n_total)."""
    pred, g, off, _ = _metric_layout(predicted, gold, offsets)
    _check_same(pred, g)
    ign = _ignore(ignore, int(off[-1]))
    out = ctypes.c_double()
    correct = ctypes.c_int64()
    total = ctypes.c_int64()
    N.call("lamina_structural_uuas", N.fptr(pred), N.fptr(g), pred.size, N.lptr(off), off.size - 1, _u8(ign),
           ctypes.byref(out), ctypes.byref(correct), ctypes.byref(total))
    return (out.value, correct.value, total.value) if return_counts else out.value


def _guess_kind(kind, guess, n_values, off):
    if kind is not None:
        N.option(kind, _KINDS, "kind")
        return kind
    if guess is not None:
        return guess
    n_tokens = int(off[-1])
    pairs = int(np.sum(np.diff(off) ** 2))
    if n_values == pairs:
        return "distance"
    if n_values == n_tokens:
        return "depth"
    raise ShapeMismatchError(f"predicted has {n_values} values; expected {pairs} (sum of L^2, distances) or "
                             f"{n_tokens} (n_tokens, depths)")


def spearman_5_50(predicted, gold, offsets=None, *, kind=None, min_length=5, max_length=50,
                  return_item_means=False):
    """The reference's "Spearman 5-50 mean": distance -- spearmanr of each row of each item's predicted
    and gold L x L matrices; depth -- spearmanr of each item's depths (scipy semantics: average ranks,
    NaN for a constant input). Correlations are averaged within each length, then over the lengths
    ``min_length..max_length`` present. ``kind`` is inferred from the shapes when None. With
    ``return_item_means``, also returns each item's mean correlation (float64, n_items)."""
    pred, g, off, guess = _metric_layout(predicted, gold, offsets)
    _check_same(pred, g)
    kind = _guess_kind(kind, guess, pred.size, off)
    for name, v in (("min_length", min_length), ("max_length", max_length)):
        if not isinstance(v, numbers.Integral) or isinstance(v, bool) or not -2**31 <= v < 2**31:
            raise InvalidArgumentError(f"{name}={v!r}; expected a 32-bit integer")
    out = ctypes.c_double()
    means = np.zeros(off.size - 1, dtype=np.float64)
    N.call("lamina_structural_spearman", _KINDS[kind], N.fptr(pred), N.fptr(g), pred.size, N.lptr(off),
           off.size - 1, int(min_length), int(max_length), ctypes.byref(out), N.dptr(means))
    return (out.value, means) if return_item_means else out.value


def root_accuracy(predicted, gold, offsets=None, *, ignore=None, return_counts=False):
    """Fraction of items whose gold root (first token of gold depth 0) has the least predicted depth
    among the tokens not ignored (the reference's report_root_acc / get_nopunct_argmin)."""
    pred, g, off, _ = _metric_layout(predicted, gold, offsets)
    _check_same(pred, g)
    ign = _ignore(ignore, int(off[-1]))
    out = ctypes.c_double()
    correct = ctypes.c_int64()
    total = ctypes.c_int64()
    N.call("lamina_structural_root_accuracy", N.fptr(pred), N.fptr(g), pred.size, N.lptr(off), off.size - 1,
           _u8(ign), ctypes.byref(out), ctypes.byref(correct), ctypes.byref(total))
    return (out.value, correct.value, total.value) if return_counts else out.value


def tree_targets(parents, offsets=None):
    """Gold distances and depths from trees (the reference's ParseDistanceTask / ParseDepthTask).
    ``parents``: a list of per-item int arrays (parent index within the item, -1 for the root), or
    the concatenation with ``offsets``. Returns (distances, depths): lists of (L, L) and (L,) float32
    arrays for list input, else the flat concatenations. Raises InvalidArgumentError for a parent out
    of range, a missing or second root, or a cycle."""
    was_list = isinstance(parents, (list, tuple))
    if was_list:
        if offsets is not None:
            raise InvalidArgumentError("offsets must be None when parents is a list of per-item arrays")
        arrays = [np.asarray(p).reshape(-1) for p in parents]
        if not arrays:
            raise InvalidArgumentError("parents is empty; expected at least one item")
        for k, a in enumerate(arrays):
            if a.size == 0:
                raise InvalidArgumentError(f"parents of item {k} is empty; expected length >= 1")
        off = np.zeros(len(arrays) + 1, dtype=np.int64)
        np.cumsum([a.size for a in arrays], out=off[1:])
        flat = np.concatenate(arrays)
    else:
        flat = np.asarray(parents).reshape(-1)
        off = _offsets(offsets)
    if flat.dtype.kind not in "iu" or (flat.size and (flat.min() < -2**31 or flat.max() >= 2**31)):
        raise InvalidArgumentError(f"parents has dtype {flat.dtype} or values beyond int32; expected int parent indices")
    par = np.ascontiguousarray(flat, dtype=np.int32)
    lengths = np.diff(off)
    if np.any(lengths <= 0) or off[0] != 0:
        N.call("lamina_structural_tree_targets", N.iptr(par), par.size, N.lptr(off), off.size - 1, None, 0, None, 0)
    n_pairs = int(np.sum(lengths.astype(np.int64) ** 2))
    dist = np.empty(n_pairs, dtype=np.float32)
    dep = np.empty(par.size, dtype=np.float32)
    N.call("lamina_structural_tree_targets", N.iptr(par), par.size, N.lptr(off), off.size - 1, N.fptr(dist),
           dist.size, N.fptr(dep), dep.size)
    if was_list:
        return split_values(dist, off, "distance"), split_values(dep, off, "depth")
    return dist, dep


# -- the probe -------------------------------------------------------------------------------------

class StructuralProbe(LaminaEstimator):
    """A structural probe (Hewitt & Manning 2019): ``kind="distance"`` fits ``||B (h_i - h_j)||^2`` to
    gold tree distances, ``kind="depth"`` fits ``||B h_i||^2`` to gold depths, B of shape (rank, d).

    Parameters: rank (default 64; the reference's configs use d), lr (0.001), epochs (40),
    batch_size (20 items), random_state (seed of the init and the shuffling; deterministic for any
    thread count), beta1/beta2/eps (Adam), plateau_factor (0.1; lr decay on a dev plateau),
    patience (5; early stopping on the dev loss, 0 = never), warm_start (start from the current B),
    verbose (a progress line on stderr during fit).

    Attributes after fit: projection_ (rank, d) float32, n_features_in_, n_epochs_, n_steps_,
    train_loss_ (mean item loss of the last epoch), dev_loss_ (best dev loss, NaN without dev),
    best_epoch_ (-1 without dev), lr_ (learning rate at the end).
    """

    def __init__(self, kind="distance", rank=64, *, lr=0.001, epochs=40, batch_size=20, random_state=0,
                 beta1=0.9, beta2=0.999, eps=1e-8, plateau_factor=0.1, patience=5, warm_start=False,
                 verbose=False):
        self.kind = kind
        self.rank = rank
        self.lr = lr
        self.epochs = epochs
        self.batch_size = batch_size
        self.random_state = random_state
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.plateau_factor = plateau_factor
        self.patience = patience
        self.warm_start = warm_start
        self.verbose = verbose

    def _is_fitted(self):
        return getattr(self, "_handle", None) is not None and getattr(self, "projection_", None) is not None

    def _params(self):
        p = N.lib.lamina_structural_probe_default_params()
        p.kind = N.option(self.kind, _KINDS, "kind")
        for name in ("rank", "epochs", "batch_size", "patience"):
            setattr(p, name, check_int(getattr(self, name), name, bits=32))
        for name in ("lr", "beta1", "beta2", "eps", "plateau_factor"):
            setattr(p, name, check_float(getattr(self, name), name))
        p.seed = check_seed(self.random_state)
        p.warm_start = 1 if self.warm_start else 0
        N.call("lamina_structural_probe_check_params", ctypes.byref(p))
        return p

    def _ensure_handle(self):
        p = self._params()
        key = bytes(p)
        if getattr(self, "_handle", None) is not None and key == getattr(self, "_handle_params", None):
            return
        handle = N.Handle("lamina_structural_probe_create", "lamina_structural_probe_free", ctypes.byref(p))
        old = getattr(self, "_handle", None)
        # carry a current projection over when warm starting with a new handle of the same rank
        if old is not None and self.warm_start and getattr(self, "projection_", None) is not None \
                and self.projection_.shape[0] == p.rank:
            B = np.ascontiguousarray(self.projection_, dtype=np.float32)
            N.call("lamina_structural_probe_set_projection", handle, N.fptr(B), B.shape[0], B.shape[1])
        self._handle = handle  # frees the old handle
        self._handle_params = key

    # -- pickling: the state carries projection_; the handle is rebuilt from it ----------------------

    def _native_state(self):
        return {"projection": np.array(self.projection_, dtype=np.float32)}

    def _restore_native(self, state):
        self._handle_params = None
        B = np.ascontiguousarray(state["projection"], dtype=np.float32)
        p = self._params()
        p.rank = B.shape[0]
        self._handle = N.Handle("lamina_structural_probe_create", "lamina_structural_probe_free", ctypes.byref(p))
        N.call("lamina_structural_probe_set_projection", self._handle, N.fptr(B), B.shape[0], B.shape[1])
        self._handle_params = bytes(p)

    def _targets(self, targets, off, was_list):
        if targets is None:
            raise InvalidArgumentError("targets is None; expected gold distances or depths")
        if isinstance(targets, (list, tuple)):
            return concat_targets(targets, np.diff(off))
        if was_list:
            raise InvalidArgumentError("targets must be a list of per-item arrays when activations is a list")
        return _flat(targets, "targets")

    def fit(self, activations, offsets=None, targets=None, *, dev=None, callback=None, comm=None):
        """Trains B. ``activations``: list of (L_k, d) arrays, or (n_tokens, d) with ``offsets``;
        ``targets``: the gold distances (L_k x L_k) or depths (L_k), per item or concatenated.
        ``dev``: optional (activations, offsets, targets) or (activations, targets) for lists -- enables
        the reference's lr decay, best-epoch selection and early stopping. ``callback(info)``: called
        after every batch with a dict (step, total_steps, items, loss, items_per_second, epoch, lr,
        dev_loss); returning True stops training (CancelledError, B of the last step kept).
        verbose=True (the parameter) prints a progress line on stderr.
        comm (an mpi4py communicator) makes this a data-parallel fit: every rank passes the same items,
        targets, dev split and parameters and computes its share of every batch; every rank ends with the
        same B (lamina.distributed.fit_structural_probe, include/lamina.h section 16)."""
        if comm is not None:
            from . import distributed
            return distributed.fit_structural_probe(self, activations, offsets, targets, comm=comm, dev=dev,
                                                    callback=callback)
        return self._fit(activations, offsets, targets, dev=dev, callback=callback)

    def _fit(self, activations, offsets=None, targets=None, *, dev=None, callback=None, reducer=None, prepared=None):
        x, off, was_list = _items(activations, offsets)
        t = self._targets(targets, off, was_list)
        n_dev = 0
        if dev is not None:
            if not isinstance(dev, (tuple, list)) or len(dev) not in (2, 3):
                raise InvalidArgumentError("dev must be (activations, offsets, targets) or (list_of_items, list_of_targets)")
            if len(dev) == 2:
                dx, doff, dlist = _items(dev[0], None)
                dt = self._targets(dev[1], doff, dlist)
            else:
                dx, doff, dlist = _items(dev[0], dev[1])
                dt = self._targets(dev[2], doff, dlist)
            if dx.shape[1] != x.shape[1]:
                raise ShapeMismatchError(f"dev activations have d = {dx.shape[1]}; training has d = {x.shape[1]}")
            n_dev = doff.size - 1
            x = np.concatenate([x, dx], axis=0)
            off = np.concatenate([off, doff[1:] + off[-1]])
            t = np.concatenate([t, dt])
        self._ensure_handle()
        if prepared is not None:
            prepared()   # distributed: every rank got here (no rank is left waiting in a reduction)
        if reducer is not None:
            N.call("lamina_structural_probe_set_reducer", self._handle, reducer.fn, None, reducer.rank, reducer.size)
        try:
            with progress_callback("structural probe", callback, self.verbose, extra=(("epoch", "d"), ("lr", ".3g"))) as progress:
                N.call("lamina_structural_probe_fit", self._handle, N.fptr(x), x.shape[0], x.shape[1], N.lptr(off),
                       off.size - 1, N.fptr(t), t.size, n_dev, progress.fn, None)
        finally:
            if reducer is not None:
                N.call("lamina_structural_probe_set_reducer", self._handle, N.ReduceFn(), None, 0, 1)
            self._read_result()   # a cancelled fit keeps B of the last step
        return self

    def _read_result(self):
        nf = ctypes.c_int64()
        rank = ctypes.c_int32()
        ne = ctypes.c_int32()
        ns = ctypes.c_int64()
        tl = ctypes.c_double()
        dl = ctypes.c_double()
        be = ctypes.c_int32()
        lr = ctypes.c_double()
        status = N.lib.lamina_structural_probe_get_info(self._handle, ctypes.byref(nf), ctypes.byref(rank),
                                                      ctypes.byref(ne), ctypes.byref(ns), ctypes.byref(tl),
                                                      ctypes.byref(dl), ctypes.byref(be), ctypes.byref(lr))
        if status != 0:
            return
        self.n_features_in_ = nf.value
        self.n_epochs_ = ne.value
        self.n_steps_ = ns.value
        self.train_loss_ = tl.value
        self.dev_loss_ = dl.value
        self.best_epoch_ = be.value
        self.lr_ = lr.value
        B = np.empty((rank.value, nf.value), dtype=np.float32)
        N.call("lamina_structural_probe_get_projection", self._handle, N.fptr(B), B.size)
        self.projection_ = B

    def set_projection(self, B):
        """Sets B (rank x d); predict works right away and fit with warm_start=True starts from it."""
        B = N.as_matrix(B, "B")
        self._ensure_handle()
        N.call("lamina_structural_probe_set_projection", self._handle, N.fptr(B), B.shape[0], B.shape[1])
        self.projection_ = B.copy()
        self.n_features_in_ = B.shape[1]
        return self

    def _fitted_handle(self):
        if not self._is_fitted():
            raise NotFittedError("This StructuralProbe instance is not fitted yet. Call 'fit' (or set_projection) first.")
        return self._handle

    def predict(self, activations, offsets=None):
        """Predicted squared distances (distance) or squared norms (depth). Returns a list of (L, L) /
        (L,) arrays when ``activations`` is a list, else the flat concatenation."""
        handle = self._fitted_handle()
        x, off, was_list = _items(activations, offsets)
        lengths = np.diff(off)
        n_out = int(np.sum(lengths * lengths)) if self.kind == "distance" else int(off[-1])
        out = np.empty(n_out, dtype=np.float32)
        N.call("lamina_structural_probe_predict", handle, N.fptr(x), x.shape[0], x.shape[1], N.lptr(off),
               off.size - 1, N.fptr(out), out.size)
        return split_values(out, off, self.kind) if was_list else out

    def loss(self, activations, offsets=None, targets=None, *, return_gradient=False):
        """The reference loss of all items as one batch (mean normalised L1) at the current B; with
        ``return_gradient``, also dL/dB (rank, d)."""
        handle = self._fitted_handle()
        x, off, was_list = _items(activations, offsets)
        t = self._targets(targets, off, was_list)
        out = ctypes.c_double()
        if return_gradient:
            grad = np.empty_like(self.projection_)
            N.call("lamina_structural_probe_loss", handle, N.fptr(x), x.shape[0], x.shape[1], N.lptr(off),
                   off.size - 1, N.fptr(t), t.size, ctypes.byref(out), N.fptr(grad), grad.size)
            return out.value, grad
        N.call("lamina_structural_probe_loss", handle, N.fptr(x), x.shape[0], x.shape[1], N.lptr(off),
               off.size - 1, N.fptr(t), t.size, ctypes.byref(out), None, 0)
        return out.value

    def score(self, activations, offsets=None, targets=None):
        """The Spearman 5-50 mean of the predictions against the targets (higher is better)."""
        x, off, was_list = _items(activations, offsets)
        t = self._targets(targets, off, was_list)
        pred = self.predict(x, off)
        return spearman_5_50(pred, t, off, kind=self.kind)

    def uuas(self, activations, offsets=None, targets=None, *, ignore=None):
        """UUAS of the predicted distances against gold distances (distance probes)."""
        if self.kind != "distance":
            raise InvalidArgumentError("uuas needs a distance probe (kind='distance')")
        x, off, was_list = _items(activations, offsets)
        t = self._targets(targets, off, was_list)
        return uuas(self.predict(x, off), t, off, ignore=ignore)

    def root_accuracy(self, activations, offsets=None, targets=None, *, ignore=None):
        """Root accuracy of the predicted depths against gold depths (depth probes)."""
        if self.kind != "depth":
            raise InvalidArgumentError("root_accuracy needs a depth probe (kind='depth')")
        x, off, was_list = _items(activations, offsets)
        t = self._targets(targets, off, was_list)
        return root_accuracy(self.predict(x, off), t, off, ignore=ignore)
