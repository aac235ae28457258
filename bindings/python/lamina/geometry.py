"""Representation geometry: CKA and RSA (experimental; include/lamina.h section 13).

Compare two representations of the same inputs -- ``X`` (n x d1) and ``Y`` (n x d2), rows are inputs,
widths may differ -- or every pair of layers of one or two models::

    from lamina.geometry import linear_cka, cka_matrix, rsa
    linear_cka(H1, H2)                       # Kornblith et al. 2019, in [0, 1]
    linear_cka(H1, H2, debiased=True)        # unbiased HSIC (Song et al. 2012), in [-1, 1]
    cka_matrix([L0, L1, L2])                 # 3 x 3, each layer centred once
    kernel_alignment([L0, L1, L2], X, y)     # 3 x 2: CKA(H_l, X), CKA(H_l, one-hot(y))
    rsa(H1, H2, metric="correlation", method="spearman")
    information_plane([T_epoch0, T_epoch1, ...], y, bins=30)   # (C, 2): I(X;T), I(T;Y) in bits

Formulas (full statements, ranges, memory caps and errors in the header):

- linear CKA = ||Y^T X||_F^2 / (||X^T X||_F ||Y^T Y||_F), X, Y column-centred; feature space, no n x n
  matrix. Debiased: each HSIC is Song et al.'s unbiased estimator, evaluated in feature space.
- RBF CKA: Gaussian kernels, sigma = sigma_factor * median pairwise distance (distinct pairs, exact for
  any n: sorted up to 2^26 pairs, selected from tiles beyond), tiled; no n x n matrix is kept.
- RDM: condensed upper triangle in scipy's order, "euclidean" | "correlation" | "cosine" (as
  scipy.spatial.distance.pdist). RSA compares two RDMs a, b (condensed vectors) by "spearman" (average
  ranks, as scipy.stats.spearmanr), "pearson" (streamed, any n), "kendall_tau_a" (rsatoolbox's tau-a) or
  "cosine" = sum a_k b_k / sqrt(sum a_k^2 sum b_k^2) (Pearson without the centring, rsatoolbox's "cosine";
  streamed, any n; an all-zero RDM is an error where rsatoolbox returns 0).

Inputs are converted once to C-contiguous float32 (as in the rest of Lamina); all arithmetic is float64.
Bad input raises a ``lamina.LaminaError`` subclass naming the argument.
"""
from __future__ import annotations

import ctypes
import os

import numpy as np

from . import _native as N
from ._base import check_int
from .errors import InvalidArgumentError, ShapeMismatchError

__all__ = ["linear_cka", "rbf_cka", "median_distance", "cka_matrix", "kernel_alignment", "rdm", "rdm_compare", "rsa",
           "information_plane", "binned_mutual_information"]

_PAIR_CAP = 1 << 26  # pairs an RDM may hold (include/lamina.h, lamina_rdm)
_RDM_METRICS = {"euclidean": N.LAMINA_RDM_EUCLIDEAN, "correlation": N.LAMINA_RDM_CORRELATION,
                "cosine": N.LAMINA_RDM_COSINE}
_RSA_METHODS = {"spearman": N.LAMINA_RSA_SPEARMAN, "pearson": N.LAMINA_RSA_PEARSON,
                "kendall_tau_a": N.LAMINA_RSA_KENDALL_TAU_A, "cosine": N.LAMINA_RSA_COSINE}


def _pair(X, Y):
    x = N.as_matrix(X, "X")
    y = N.as_matrix(Y, "Y")
    if x.shape[0] != y.shape[0]:
        raise ShapeMismatchError(f"X has {x.shape[0]} rows and Y has {y.shape[0]}; expected the same inputs "
                                 "(rows) in both representations")
    return x, y


def _flag(value, name):
    if not isinstance(value, (bool, np.bool_)):
        raise InvalidArgumentError(f"{name}={value!r}; expected True or False")
    return int(bool(value))


def linear_cka(X, Y, debiased=False) -> float:
    """Linear CKA of X (n x d1) and Y (n x d2); ``debiased=True`` uses the unbiased HSIC (needs n >= 4)."""
    x, y = _pair(X, Y)
    out = ctypes.c_double()
    N.call("lamina_linear_cka", N.fptr(x), x.shape[0], x.shape[1], N.fptr(y), y.shape[1],
           _flag(debiased, "debiased"), ctypes.byref(out))
    return out.value


def _sigma(value, name):
    if value is None:
        return 0.0
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not np.isfinite(value) or value <= 0:
        raise InvalidArgumentError(f"{name}={value!r}; expected None (median rule) or a finite number > 0")
    return float(value)


def rbf_cka(X, Y, sigma_factor=1.0, sigma_x=None, sigma_y=None) -> float:
    """RBF CKA with bandwidths sigma_x, sigma_y, or (None) sigma_factor * the median pairwise distance."""
    x, y = _pair(X, Y)
    if isinstance(sigma_factor, (bool, np.bool_)) or not isinstance(sigma_factor, (int, float, np.integer, np.floating)):
        raise InvalidArgumentError(f"sigma_factor={sigma_factor!r}; expected a finite number > 0")
    out = ctypes.c_double()
    N.call("lamina_rbf_cka", N.fptr(x), x.shape[0], x.shape[1], N.fptr(y), y.shape[1], float(sigma_factor),
           _sigma(sigma_x, "sigma_x"), _sigma(sigma_y, "sigma_y"), ctypes.byref(out))
    return out.value


def median_distance(X) -> float:
    """numpy's median of the n (n - 1) / 2 pairwise Euclidean distances of the rows of X."""
    x = N.as_matrix(X, "X")
    out = ctypes.c_double()
    N.call("lamina_median_distance", N.fptr(x), x.shape[0], x.shape[1], ctypes.byref(out))
    return out.value


def _h5_layers(layers, name):
    """(path, [dataset, ...]) when layers names datasets of an HDF5 file (or activation store), else None."""
    if not (isinstance(layers, tuple) and len(layers) == 2 and isinstance(layers[0], (str, os.PathLike))):
        return None
    path, datasets = layers
    if isinstance(datasets, str) or not all(isinstance(d, str) for d in datasets):
        raise InvalidArgumentError(f"{name}: the dataset names must be a list of str, got {datasets!r}")
    if len(datasets) == 0:
        raise InvalidArgumentError(f"{name}: the list of dataset names is empty; expected at least one layer")
    return path, list(datasets)


def _layers(layers, name):
    """A list of float32 matrices from a list of arrays or (path, [dataset, ...])."""
    spec = _h5_layers(layers, name)
    if spec is not None:
        from . import io
        return [io.read_activations(spec[0], d) for d in spec[1]]
    if isinstance(layers, np.ndarray) or not isinstance(layers, (list, tuple)):
        raise InvalidArgumentError(f"{name} must be a list of 2-D arrays or (hdf5_path, [dataset, ...]), "
                                   f"got {type(layers).__name__}")
    if len(layers) == 0:
        raise InvalidArgumentError(f"{name} is empty; expected at least one layer")
    return [N.as_matrix(a, f"{name}[{i}]") for i, a in enumerate(layers)]


def cka_matrix(layers, layers2=None, debiased=False):
    """CKA between every pair of layers: layers is a list of (n x d_l) arrays, or ``(path, [dataset, ...])``
    of an HDF5 file or activation store (when every list is given that way, the library reads the files:
    lamina_cka_matrix_h5). Without layers2: the symmetric L x L matrix of one model; with it: the L x L2
    matrix between two models. Each layer is centred once, each Gram/cross product computed once."""
    h5_first = _h5_layers(layers, "layers")
    h5_second = None if layers2 is None else _h5_layers(layers2, "layers2")
    if h5_first is not None and (layers2 is None or h5_second is not None):
        def names(spec):
            return (ctypes.c_char_p * len(spec[1]))(*[N.dataset_name(d) for d in spec[1]])
        cols = len(h5_first[1]) if h5_second is None else len(h5_second[1])
        out = np.empty((len(h5_first[1]), cols), dtype=np.float64)
        second = (None, None, 0) if h5_second is None else (os.fsencode(h5_second[0]), names(h5_second), cols)
        N.call("lamina_cka_matrix_h5", os.fsencode(h5_first[0]), names(h5_first), len(h5_first[1]), *second,
               _flag(debiased, "debiased"), N.dptr(out), out.size)
        return out
    first = _layers(layers, "layers")
    second = None if layers2 is None else _layers(layers2, "layers2")
    n = first[0].shape[0]
    for i, a in enumerate(first + (second or [])):
        if a.shape[0] != n:
            where = f"layers[{i}]" if i < len(first) else f"layers2[{i - len(first)}]"
            raise ShapeMismatchError(f"{where} has {a.shape[0]} rows; expected {n} (the rows of layers[0])")

    def arrays(lst):
        ptrs = (N.f32p * len(lst))(*[N.fptr(a) for a in lst])
        dims = np.array([a.shape[1] for a in lst], dtype=np.int64)
        return ptrs, dims

    p1, d1 = arrays(first)
    cols = len(first) if second is None else len(second)
    out = np.empty((len(first), cols), dtype=np.float64)
    if second is None:
        N.call("lamina_cka_matrix", p1, N.lptr(d1), len(first), None, None, 0, n, _flag(debiased, "debiased"),
               N.dptr(out), out.size)
    else:
        p2, d2 = arrays(second)
        N.call("lamina_cka_matrix", p1, N.lptr(d1), len(first), p2, N.lptr(d2), len(second), n,
               _flag(debiased, "debiased"), N.dptr(out), out.size)
    return out


def rdm(X, metric="euclidean"):
    """The condensed RDM of X (n (n - 1) / 2 float64 values, scipy.spatial.distance.pdist's order)."""
    x = N.as_matrix(X, "X")
    code = N.option(metric, _RDM_METRICS, "metric")
    n = x.shape[0]
    m = n * (n - 1) // 2
    # over the header's 2^26-pair cap the library refuses from n alone (LaminaMemoryError naming the cap)
    # before reading x or out: no m-sized buffer is allocated for it first
    out = np.empty(m if m <= _PAIR_CAP else 0, dtype=np.float64)
    N.call("lamina_rdm", N.fptr(x), n, x.shape[1], code, N.dptr(out), m)
    return out


def rdm_compare(rdm1, rdm2, method="spearman") -> float:
    """Comparison of two condensed RDMs a, b (1-D, same length, finite) by method: "spearman" (Pearson
    correlation of the average ranks), "pearson" (sum (a_k - mean a)(b_k - mean b) over the root of the
    centred sums of squares), "kendall_tau_a" ((concordant - discordant) / (m (m - 1) / 2)) or "cosine"
    (sum a_k b_k / sqrt(sum a_k^2 sum b_k^2), rsatoolbox's "cosine"). A constant RDM (spearman, pearson)
    or an all-zero RDM (cosine) raises InvalidArgumentError."""
    a = np.ascontiguousarray(np.asarray(rdm1, dtype=np.float64))
    b = np.ascontiguousarray(np.asarray(rdm2, dtype=np.float64))
    if a.ndim != 1 or b.ndim != 1:
        raise InvalidArgumentError(f"rdm1 and rdm2 must be condensed 1-D vectors; got shapes {a.shape} and {b.shape}")
    if a.size != b.size:
        raise ShapeMismatchError(f"rdm1 has {a.size} entries and rdm2 {b.size}; expected equal lengths")
    code = N.option(method, _RSA_METHODS, "method")
    out = ctypes.c_double()
    N.call("lamina_rdm_compare", N.dptr(a), N.dptr(b), a.size, code, ctypes.byref(out))
    return out.value


def rsa(X, Y, metric="correlation", method="spearman") -> float:
    """RSA: the comparison (method) of the condensed RDMs (metric: "euclidean", "correlation", "cosine") of X
    and Y over the same n inputs. method: "spearman", "pearson", "kendall_tau_a" or "cosine" -- the formulas
    of ``rdm_compare``; "pearson" and "cosine" are streamed by tiles (no pair vector, any n), the ranking
    methods are capped at 2^26 pairs (n <= 11585). An all-zero RDM (e.g. identical rows under "euclidean")
    has no cosine similarity and raises InvalidArgumentError."""
    x, y = _pair(X, Y)
    m = N.option(metric, _RDM_METRICS, "metric")
    k = N.option(method, _RSA_METHODS, "method")
    out = ctypes.c_double()
    N.call("lamina_rsa", N.fptr(x), x.shape[0], x.shape[1], N.fptr(y), y.shape[1], m, k, ctypes.byref(out))
    return out.value


def kernel_alignment(layers, X, y, debiased=False):
    """Kernel alignment of each layer with the inputs and with the targets, in one call: an (L, 2) float64
    array whose row l is [CKA(H_l, X), CKA(H_l, one-hot(y))] (linear CKA, or debiased with
    ``debiased=True``). layers: a list of (n x d_l) arrays or ``(hdf5_path, [dataset, ...])``; X: the
    (n x d_x) inputs; y: n labels (any values, >= 2 distinct). Every layer, X and the one-hot matrix are
    centred once and each Gram / cross product is computed once."""
    hs = _layers(layers, "layers")
    x = N.as_matrix(X, "X")
    labels = N.as_finite_labels(y, "y")
    n = x.shape[0]
    for i, a in enumerate(hs):
        if a.shape[0] != n:
            raise ShapeMismatchError(f"layers[{i}] has {a.shape[0]} rows; expected {n} (the rows of X)")
    if labels.shape[0] != n:
        raise ShapeMismatchError(f"y has {labels.shape[0]} entries; expected {n} (the rows of X)")
    ptrs = (N.f32p * len(hs))(*[N.fptr(a) for a in hs])
    dims = np.array([a.shape[1] for a in hs], dtype=np.int64)
    out = np.empty((len(hs), 2), dtype=np.float64)
    N.call("lamina_cka_alignment", ptrs, N.lptr(dims), len(hs), n, N.fptr(x), x.shape[1], N.iptr(labels),
           _flag(debiased, "debiased"), N.dptr(out), out.size)
    return out


_BIN_RANGES = {"layer": N.LAMINA_BIN_RANGE_LAYER, "checkpoint": N.LAMINA_BIN_RANGE_CHECKPOINT,
               "fixed": N.LAMINA_BIN_RANGE_FIXED}


def _bins_range(bins, bin_range):
    bins = check_int(bins, "bins", bits=32)  # the C range (2 <= bins <= 65536) is checked by the library
    if isinstance(bin_range, str):
        return bins, N.option(bin_range, {k: v for k, v in _BIN_RANGES.items() if k != "fixed"}, "bin_range"), 0.0, 0.0
    try:
        lo, hi = (float(v) for v in bin_range)
    except (TypeError, ValueError):
        raise InvalidArgumentError(f"bin_range={bin_range!r}; expected 'layer', 'checkpoint' or (lo, hi)") from None
    return bins, N.LAMINA_BIN_RANGE_FIXED, lo, hi


def _optional_labels(values, n, name, required=False):
    if values is None:
        if required:
            raise InvalidArgumentError(f"{name} is None; expected {n} labels (one per row)")
        return None
    lab = N.as_finite_labels(values, name)
    if lab.shape[0] != n:
        raise ShapeMismatchError(f"{name} has {lab.shape[0]} entries; expected {n} (one per row)")
    return lab


def information_plane(checkpoints, y, bins=30, bin_range="layer", inputs=None):
    """The information plane of one layer over training (Shwartz-Ziv & Tishby 2017, binning estimator):
    checkpoints is a list of (n x d) activation arrays of the same layer on the same n inputs (>= 2); y the
    n labels; inputs (optional) an id of the input of each row (default: every row its own input, so
    I(X;T) = H(T)). Each value goes into one of ``bins`` equal-width bins of [lo, hi]:
    ``bin_range="layer"`` (one range, the min/max over all checkpoints), ``"checkpoint"`` (each
    checkpoint's min/max) or ``(lo, hi)`` (fixed; the authors used (-1, 1), wrong for ReLU layers):
    b(v) = min(bins - 1, max(0, floor(bins (v - lo) / (hi - lo)))). A state T is a distinct binned row
    (counted by hashing), and with plug-in entropies in bits over the n equally weighted rows
    I(X;T) = H(X) + H(T) - H(X,T), I(T;Y) = H(T) + H(Y) - H(T,Y). Returns a (C, 2) array of
    [I(X;T), I(T;Y)] in bits."""
    if isinstance(checkpoints, np.ndarray) or not isinstance(checkpoints, (list, tuple)):
        raise InvalidArgumentError("checkpoints must be a list of 2-D arrays (one per checkpoint)")
    ts = [N.as_matrix(t, f"checkpoints[{i}]") for i, t in enumerate(checkpoints)]
    if len(ts) < 2:
        raise InvalidArgumentError(f"{len(ts)} checkpoint(s) given; the information plane of a training run needs "
                                   "at least 2 (use binned_mutual_information for one)")
    n, d = ts[0].shape
    for i, t in enumerate(ts):
        if t.shape != (n, d):
            raise ShapeMismatchError(f"checkpoints[{i}] has shape {t.shape}; expected {(n, d)} (as checkpoints[0])")
    labels = _optional_labels(y, n, "y", required=True)
    ids = _optional_labels(inputs, n, "inputs")
    b, rule, lo, hi = _bins_range(bins, bin_range)
    ptrs = (N.f32p * len(ts))(*[N.fptr(t) for t in ts])
    out = np.empty((len(ts), 2), dtype=np.float64)
    N.call("lamina_information_plane", ptrs, len(ts), n, d, N.iptr(labels), None if ids is None else N.iptr(ids),
           b, rule, lo, hi, N.dptr(out), out.size)
    return out


def binned_mutual_information(T, y, bins=30, bin_range="layer", inputs=None):
    """(I(X;T), I(T;Y)) in bits for one activation matrix T, binned as information_plane does
    ("layer" and "checkpoint" both take T's min and max)."""
    t = N.as_matrix(T, "T")
    labels = _optional_labels(y, t.shape[0], "y", required=True)
    ids = _optional_labels(inputs, t.shape[0], "inputs")
    b, rule, lo, hi = _bins_range(bins, bin_range)
    out = np.empty(2, dtype=np.float64)
    N.call("lamina_binned_mutual_information", N.fptr(t), t.shape[0], t.shape[1], N.iptr(labels),
           None if ids is None else N.iptr(ids), b, rule, lo, hi, N.dptr(out))
    return float(out[0]), float(out[1])
