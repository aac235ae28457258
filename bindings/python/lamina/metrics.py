"""Clustering metrics with scikit-learn's names, signatures and values.

Switch from scikit-learn by changing the import::

    from lamina.metrics import silhouette_score, adjusted_rand_score

Internal indices take the data ``X`` (n_samples x n_features) and ``labels``; as in scikit-learn,
float32 data are computed in float32 and anything else (float64, integers) in float64 (the `_f64`
functions of the C API), converted once to C-contiguous if needed -- except the silhouette, which
computes float32 data in float64 as well (float64 working copy, dgemm tiles: scikit-learn also upcasts
float32 rows for its distances), so its values are float64-accurate for any input; external indices take two labelings. Labels may be any values
(integers, strings, ...). All arithmetic is float64; pair counts are exact integers. Every function
raises a ``lamina.LaminaError`` subclass (also a ``ValueError`` for bad arguments) with the library's
message on bad input; none can crash the interpreter.

Formulas (see include/lamina.h for the full statements):

- silhouette: s(i) = (b(i) - a(i)) / max(a(i), b(i)) (Rousseeuw 1987); a(i) mean intra-cluster
  distance, b(i) smallest mean distance to another cluster; 0 for singleton clusters.
- Davies-Bouldin: (1/k) sum_i max_{j != i} (s_i + s_j) / ||c_i - c_j||.
- Calinski-Harabasz: [B / (k - 1)] / [W / (n - k)].
- Dunn (generalized, Bezdek & Pal 1998): min_{A != B} delta(A, B) / max_C Delta(C); linkage
  "single" | "complete" | "average" | "centroid", diameter "max" | "mean_pairwise" | "centroid".
- Xie-Beni: W / (n * separation); separation "centroid" (min squared centroid distance, Xie & Beni
  1991) or "point_pair" (min squared distance between points of different clusters, clusterCrit).
- GDV (Schilling et al. 2021): z-score each dimension with 0.5/std, then (mean intra-class distance -
  mean inter-class distance) / sqrt(D).
- ARI, Rand, MI, NMI, AMI, homogeneity, completeness, V-measure, Fowlkes-Mallows: as in
  scikit-learn, natural logarithms.
"""
from __future__ import annotations

import ctypes
import warnings

import numpy as np

from . import _native as N
from . import _sparse
from .errors import NonFiniteError

__all__ = [
    "silhouette_score", "silhouette_samples", "davies_bouldin_score", "calinski_harabasz_score",
    "dunn_index", "xie_beni_index", "gdv",
    "adjusted_rand_score", "rand_score", "mutual_info_score", "normalized_mutual_info_score",
    "adjusted_mutual_info_score", "homogeneity_score", "completeness_score", "v_measure_score",
    "homogeneity_completeness_v_measure", "fowlkes_mallows_score", "contingency_matrix",
]

_DISTANCES = {"euclidean": 0, "l2": 0, "sqeuclidean": 1, "cosine": 2, "manhattan": 3, "l1": 3, "cityblock": 3,
              "chebyshev": 4, "correlation": 5}
_LINKAGES = {"single": 0, "complete": 1, "average": 2, "centroid": 3}
_DIAMETERS = {"max": 0, "mean_pairwise": 1, "centroid": 2}
_XIE_BENI = {"centroid": 0, "point_pair": 1}
_AVERAGES = {"min": 0, "geometric": 1, "arithmetic": 2, "max": 3}


def _finite_labels(arr, input_name, name):
    """scikit-learn's check on label values (check_array / _assert_all_finite): NaN and infinity are
    refused with its wording ("Input contains NaN." / "Input y contains infinity or a value too large
    for dtype('float64').") followed by Lamina's detail."""
    if arr.dtype.kind not in "fc" or arr.size == 0:
        return
    nan = np.isnan(arr)
    bad = nan if nan.any() else ~np.isfinite(arr)
    if not bad.any():
        return
    padded = input_name + " " if input_name else ""
    where = tuple(int(i) for i in np.argwhere(bad)[0])
    index = where[0] if len(where) == 1 else where
    what = "NaN" if nan.any() else f"infinity or a value too large for {np.dtype('float64')!r}"
    raise NonFiniteError(f"Input {padded}contains {what}. ({name}[{index}] is {arr[where]}; labels must be finite values)")


def _data_and_labels(X, labels):
    x = N.as_matrix_typed(X)
    raw = np.asarray(labels)
    _finite_labels(raw, "y", "labels")   # scikit-learn's check_X_y: X's own check, then y's, then lengths
    lab = N.as_labels(raw)
    N.check_consistent_length(x, lab)
    return x, lab


def _scalar(name, x, lab, *extra):
    out = ctypes.c_double()
    name, data = N.typed(name, x)
    N.call(name, data, x.shape[0], x.shape[1], N.iptr(lab), *extra, ctypes.byref(out))
    return float(out.value)


# -- internal indices -------------------------------------------------------------------------------

def _check_metric(metric):
    if callable(metric):
        raise N.InvalidArgumentError(
            f"metric={metric!r}: a callable metric is not supported (Lamina's distance kernels are compiled). "
            "Compute the distances yourself, e.g. D = sklearn.metrics.pairwise_distances(X, metric=your_function), "
            "and pass them with metric='precomputed'")


def _minkowski_p(metric, kwds, fn):
    """The Minkowski exponent when metric="minkowski" (keyword p, scikit-learn's default 2), else None;
    keyword arguments a metric does not take are refused (never ignored)."""
    kwds = dict(kwds)
    p = None
    if isinstance(metric, str) and metric == "minkowski":
        p = kwds.pop("p", 2)
        if isinstance(p, bool) or not isinstance(p, (int, float, np.integer, np.floating)) or not p > 0:
            raise N.InvalidArgumentError(f"p={p!r}; expected a number > 0 (the Minkowski exponent; 1 manhattan, "
                                         "2 euclidean, inf chebyshev)")
        p = float(p)
    if kwds:
        raise N.InvalidArgumentError(f"{fn} got keyword arguments {sorted(kwds)} that metric={metric!r} does not take"
                                     + (" (metric='minkowski' takes p)" if "p" in kwds else ""))
    return p


def _silhouette_minkowski(x, lab, p, samples):
    out = np.empty(x.shape[0] if samples else 1, dtype=np.float64)
    name, data = N.typed("lamina_silhouette_samples_minkowski" if samples else "lamina_silhouette_score_minkowski", x)
    N.call(name, data, x.shape[0], x.shape[1], N.iptr(lab), ctypes.c_double(p), N.dptr(out))
    return out if samples else float(out[0])


def _silhouette_precomputed(X, labels, name):
    d, lab = _data_and_labels(X, labels)
    out = np.empty(d.shape[0], dtype=np.float64)
    fn, data = N.typed(name, d)
    N.call(fn, data, d.shape[0], d.shape[1], N.iptr(lab), N.dptr(out))
    return out


def silhouette_samples(X, labels, *, metric="euclidean", **kwds):
    """Silhouette coefficient of each sample (sklearn.metrics.silhouette_samples).

    metric: "euclidean" (alias "l2"), "sqeuclidean", "cosine", "manhattan" (aliases "l1", "cityblock"),
    "chebyshev", "correlation", "minkowski" (keyword p > 0, default 2: (sum |x - y|^p)^(1/p), pair by
    pair in float64), or "precomputed" (X is then the square
    matrix of distances between the samples: zero diagonal, non-negative, scikit-learn's checks and
    messages). Callables are refused (pass their distances with "precomputed"). Returns float64 array
    (n_samples,). Tiled: never builds the n x n distance matrix. Computed in float64 for float32 X
    too, so dense, sparse, float32 and float64 forms of the same values agree to ~1e-12."""
    _check_metric(metric)
    p = _minkowski_p(metric, kwds, "silhouette_samples")
    if _sparse.is_sparse(X):   # scipy.sparse X: computed on CSR (below), never densified
        return _sparse_silhouette(X, labels, metric, None, None, samples=True)
    if isinstance(metric, str) and metric == "precomputed":
        return _silhouette_precomputed(X, labels, "lamina_silhouette_samples_precomputed")
    x, lab = _data_and_labels(X, labels)
    if p is not None:
        return _silhouette_minkowski(x, lab, p, samples=True)
    out = np.empty(x.shape[0], dtype=np.float64)
    name, data = N.typed("lamina_silhouette_samples", x)
    N.call(name, data, x.shape[0], x.shape[1], N.iptr(lab),
           N.option(metric, _DISTANCES, "metric"), N.dptr(out))
    return out


def silhouette_score(X, labels, *, metric="euclidean", sample_size=None, random_state=None, **kwds):
    """Mean silhouette coefficient (sklearn.metrics.silhouette_score).

    With sample_size, scores the same random subset scikit-learn would draw for the same
    random_state (``check_random_state(random_state).permutation(n)[:sample_size]``). With
    metric="precomputed", X is the distance matrix and the subset takes its rows and columns."""
    _check_metric(metric)
    p = _minkowski_p(metric, kwds, "silhouette_score")
    if _sparse.is_sparse(X):
        return _sparse_silhouette(X, labels, metric, sample_size, random_state, samples=False)
    precomputed = isinstance(metric, str) and metric == "precomputed"
    x, lab = _data_and_labels(X, labels)
    if sample_size is not None:
        if isinstance(sample_size, bool) or not isinstance(sample_size, (int, np.integer)) or sample_size < 1:
            raise N.InvalidArgumentError(f"sample_size={sample_size!r}; expected None or an integer >= 1")
        if isinstance(random_state, np.random.RandomState):
            rng = random_state
        else:
            rng = np.random.RandomState(random_state)
        idx = rng.permutation(x.shape[0])[:sample_size]
        if precomputed:
            x = x[idx][:, idx] if x.shape[0] == x.shape[1] else x[idx]
        else:
            x = x[idx]
        x, lab = np.ascontiguousarray(x), np.ascontiguousarray(lab[idx])
    if precomputed:
        return float(np.mean(_silhouette_precomputed(x, lab, "lamina_silhouette_samples_precomputed")))
    if p is not None:
        return _silhouette_minkowski(x, lab, p, samples=False)
    return _scalar("lamina_silhouette_score", x, lab, N.option(metric, _DISTANCES, "metric"))


def davies_bouldin_score(X, labels):
    """Davies-Bouldin index (sklearn.metrics.davies_bouldin_score); lower is better."""
    if _sparse.is_sparse(X):
        return _sparse_scalar("lamina_davies_bouldin_score", X, labels)
    return _scalar("lamina_davies_bouldin_score", *_data_and_labels(X, labels))


def calinski_harabasz_score(X, labels):
    """Calinski-Harabasz variance ratio (sklearn.metrics.calinski_harabasz_score); higher is better."""
    if _sparse.is_sparse(X):
        return _sparse_scalar("lamina_calinski_harabasz_score", X, labels)
    return _scalar("lamina_calinski_harabasz_score", *_data_and_labels(X, labels))


def dunn_index(X, labels, *, linkage="single", diameter="max"):
    """Generalized Dunn index (Bezdek & Pal 1998), Euclidean distances; higher is better.

    D = min_{A != B} delta(A, B) / max_C Delta(C).
    linkage (delta): "single" (min pair distance; classic), "complete" (max), "average" (mean),
    "centroid" (centroid distance). diameter (Delta): "max" (max pair distance; classic),
    "mean_pairwise" (mean distance between distinct members), "centroid" (2 x mean distance to the
    centroid). +inf if every diameter is 0."""
    x, lab = _data_and_labels(X, labels)
    return _scalar("lamina_dunn_index", x, lab, N.option(linkage, _LINKAGES, "linkage"),
                   N.option(diameter, _DIAMETERS, "diameter"))


def xie_beni_index(X, labels, *, separation="centroid"):
    """Xie-Beni index XB = W / (n * separation), W the within-cluster sum of squares; lower is better.

    separation="centroid": min squared distance between centroids (Xie & Beni 1991, hard memberships);
    separation="point_pair": min squared distance between points of different clusters (R clusterCrit)."""
    if _sparse.is_sparse(X):   # centroid separation only ("point_pair" is refused for sparse X by the library)
        return _sparse_scalar("lamina_xie_beni_index", X, labels, N.option(separation, _XIE_BENI, "separation"))
    x, lab = _data_and_labels(X, labels)
    return _scalar("lamina_xie_beni_index", x, lab, N.option(separation, _XIE_BENI, "separation"))


def gdv(X, labels):
    """Generalized discrimination value (Schilling et al. 2021); more negative = better separated.

    s = 0.5 (x - mean) / std per dimension; GDV = (mean intra-class distance - mean inter-class
    distance) / sqrt(D), class means averaged over classes and class pairs. Needs >= 2 classes with
    >= 2 samples each."""
    return _scalar("lamina_gdv", *_data_and_labels(X, labels))


# -- sparse X (scipy.sparse: converted once to canonical CSR, computed on it by the *_csr functions) ---

def _sparse_data_and_labels(X, labels, name="X"):
    x = _sparse.as_csr(X, name)
    lab = N.as_labels(labels)
    N.check_consistent_length(range(x.shape[0]), lab)
    return x, lab


def _sparse_scalar(name, X, labels, *extra):
    x, lab = _sparse_data_and_labels(X, labels)
    out = ctypes.c_double()
    N.call(*x.args(name), N.iptr(lab), *extra, ctypes.byref(out))
    return float(out.value)


def _sparse_silhouette(X, labels, metric, sample_size, random_state, *, samples):
    """Silhouette of sparse X: metric "euclidean", "sqeuclidean", "cosine" on the CSR rows, or
    "precomputed" with X the sparse n x n distance matrix (absent entries are distances of 0)."""
    precomputed = isinstance(metric, str) and metric == "precomputed"
    x, lab = _sparse_data_and_labels(X, labels)
    if sample_size is not None:
        if isinstance(sample_size, bool) or not isinstance(sample_size, (int, np.integer)) or sample_size < 1:
            raise N.InvalidArgumentError(f"sample_size={sample_size!r}; expected None or an integer >= 1")
        rng = random_state if isinstance(random_state, np.random.RandomState) else np.random.RandomState(random_state)
        idx = rng.permutation(x.shape[0])[:sample_size]
        x = x.rows_and_columns(idx) if precomputed and x.shape[0] == x.shape[1] else x.rows(idx)
        lab = np.ascontiguousarray(lab[idx])
    name = "lamina_silhouette_" + ("samples" if samples else "score") + ("_precomputed" if precomputed else "")
    extra = () if precomputed else (N.option(metric, _DISTANCES, "metric"),)
    if samples:
        out = np.empty(x.shape[0], dtype=np.float64)
        N.call(*x.args(name), N.iptr(lab), *extra, N.dptr(out))
        return out
    out = ctypes.c_double()
    N.call(*x.args(name), N.iptr(lab), *extra, ctypes.byref(out))
    return float(out.value)


# -- external indices -------------------------------------------------------------------------------

def _target_type(arr):
    """scikit-learn's type_of_target for the cases its clustering check tells apart."""
    if arr.ndim == 1 and arr.dtype.kind == "f" and arr.size and np.any(arr != np.floor(arr)):
        return "continuous"
    if arr.ndim == 2 and arr.shape[1] > 1:
        return "multiclass-multioutput"
    return "binary" if np.unique(arr).size <= 2 else "multiclass"


def _labelings(labels_true, labels_pred):
    """scikit-learn's check_clusterings, in its order and with its messages: values finite ("Input
    contains NaN." / infinity), a UserWarning for continuous values, 1D ("labels_true must be 1D: shape
    is (...)"; a column vector is accepted as its labels), equal lengths ("Found input variables with inconsistent numbers of samples: [2, 3]")."""
    t_raw, p_raw = np.asarray(labels_true), np.asarray(labels_pred)
    # A column vector (n, 1) is read as its n labels (Lamina's convenience; scikit-learn refuses it);
    # any other 2-D shape gets scikit-learn's message.
    t_raw = t_raw.ravel() if t_raw.ndim == 2 and t_raw.shape[1] == 1 else t_raw
    p_raw = p_raw.ravel() if p_raw.ndim == 2 and p_raw.shape[1] == 1 else p_raw
    _finite_labels(t_raw, "", "labels_true")
    _finite_labels(p_raw, "", "labels_pred")
    if t_raw.ndim >= 1 and p_raw.ndim >= 1 and t_raw.size and p_raw.size:
        type_true, type_pred = _target_type(t_raw), _target_type(p_raw)
        if "continuous" in (type_true, type_pred):
            warnings.warn(f"Clustering metrics expects discrete values but received {type_true} values for label, "
                          f"and {type_pred} values for target", UserWarning, stacklevel=3)
    for arr, name in ((t_raw, "labels_true"), (p_raw, "labels_pred")):
        if arr.ndim != 1:
            raise N.InvalidArgumentError(f"{name} must be 1D: shape is {arr.shape!r} (expected a 1-D array of labels)")
    if t_raw.shape[0] != p_raw.shape[0]:
        raise N.ShapeMismatchError(f"Found input variables with inconsistent numbers of samples: "
                                   f"[{t_raw.shape[0]}, {p_raw.shape[0]}] (labels_true and labels_pred must have "
                                   f"the same size)")
    return N.as_labels(t_raw, "labels_true"), N.as_labels(p_raw, "labels_pred")


def _external(name, labels_true, labels_pred, *extra):
    t, p = _labelings(labels_true, labels_pred)
    out = ctypes.c_double()
    N.call(name, N.iptr(t), N.iptr(p), t.shape[0], *extra, ctypes.byref(out))
    return float(out.value)


def contingency_matrix(labels_true, labels_pred, *, eps=None, sparse=False, dtype=np.int64):
    """Contingency table, rows = sorted true classes, columns = sorted predicted clusters
    (sklearn.metrics.cluster.contingency_matrix). sparse=True returns a scipy.sparse CSR matrix."""
    t, p = _labelings(labels_true, labels_pred)
    rows, cols = ctypes.c_int64(), ctypes.c_int64()
    N.call("lamina_contingency_shape", N.iptr(t), N.iptr(p), t.shape[0], ctypes.byref(rows), ctypes.byref(cols))
    out = np.empty((rows.value, cols.value), dtype=np.int64)
    N.call("lamina_contingency_matrix", N.iptr(t), N.iptr(p), t.shape[0], N.lptr(out), out.size)
    if eps is not None:
        out = out.astype(np.float64) + eps
    elif dtype is not np.int64:
        out = out.astype(dtype)
    if sparse:
        if eps is not None:
            raise N.InvalidArgumentError("Cannot set 'eps' when sparse=True")
        import scipy.sparse as sp
        return sp.csr_matrix(out)
    return out


def rand_score(labels_true, labels_pred):
    """Rand index (sklearn.metrics.rand_score)."""
    return _external("lamina_rand_score", labels_true, labels_pred)


def adjusted_rand_score(labels_true, labels_pred):
    """Adjusted Rand index (Hubert & Arabie 1985; sklearn.metrics.adjusted_rand_score)."""
    return _external("lamina_adjusted_rand_score", labels_true, labels_pred)


def _contingency_cells(contingency):
    """(rows, cols, counts, shape) of a dense or scipy.sparse contingency table, counts as int64
    (scikit-learn's check_array(contingency, accept_sparse=["csr", "csc", "coo"], dtype=int))."""
    if hasattr(contingency, "tocoo") and hasattr(contingency, "nnz"):
        fmt = getattr(contingency, "format", None)
        if fmt not in ("csr", "csc", "coo"):
            raise N.InvalidArgumentError(f"contingency is a sparse matrix in {fmt!r} format; expected csr, csc or coo "
                                         "(scikit-learn's accept_sparse), e.g. contingency.tocsr()")
        coo = contingency.tocoo()
        if coo.ndim != 2:
            raise N.InvalidArgumentError(f"contingency must be 2D; got shape {coo.shape}")
        values = np.asarray(coo.data)
        rows, cols, shape = np.asarray(coo.row), np.asarray(coo.col), coo.shape
    else:
        dense = np.asarray(contingency)
        if dense.ndim != 2:
            raise N.InvalidArgumentError(f"Expected 2D array, got {dense.ndim}D array instead (contingency has shape "
                                         f"{dense.shape}); expected an (n_classes, n_clusters) table of counts")
        rows, cols = np.nonzero(dense)
        values, shape = dense[rows, cols], dense.shape
    if values.dtype.kind not in "iub":
        if values.dtype.kind != "f":
            raise N.InvalidArgumentError(f"contingency has dtype {values.dtype}; expected integer counts")
        _finite_labels(values, "", "contingency")
        if np.any(values != np.floor(values)):
            raise N.InvalidArgumentError("contingency has non-integer counts; expected integer counts")
    if values.dtype.kind == "u" and values.size and values.max() > np.iinfo(np.int64).max:
        raise N.InvalidArgumentError("contingency has counts beyond int64; expected counts <= 3e9 in total")
    return (np.ascontiguousarray(rows, dtype=np.int64), np.ascontiguousarray(cols, dtype=np.int64),
            np.ascontiguousarray(values, dtype=np.int64), shape)


def mutual_info_score(labels_true, labels_pred, *, contingency=None):
    """Mutual information in nats (sklearn.metrics.mutual_info_score). With `contingency` (an
    (n_classes, n_clusters) table of counts: numpy array, or scipy.sparse csr/csc/coo), the labelings
    are ignored and the MI of the table is returned (lamina_mutual_info_score_contingency; 0 for a
    table of one row or one column)."""
    if contingency is None:
        return _external("lamina_mutual_info_score", labels_true, labels_pred)
    rows, cols, counts, shape = _contingency_cells(contingency)
    out = ctypes.c_double()
    N.call("lamina_mutual_info_score_contingency", N.lptr(rows), N.lptr(cols), N.lptr(counts), counts.size,
           shape[0], shape[1], ctypes.byref(out))
    return float(out.value)


def normalized_mutual_info_score(labels_true, labels_pred, *, average_method="arithmetic"):
    """NMI = MI / mean(H(true), H(pred)), average_method "min" | "geometric" | "arithmetic" | "max"
    (sklearn.metrics.normalized_mutual_info_score)."""
    return _external("lamina_normalized_mutual_info_score", labels_true, labels_pred,
                     N.option(average_method, _AVERAGES, "average_method"))


def adjusted_mutual_info_score(labels_true, labels_pred, *, average_method="arithmetic"):
    """AMI = (MI - E[MI]) / (mean(H(true), H(pred)) - E[MI]) (Vinh et al. 2010;
    sklearn.metrics.adjusted_mutual_info_score)."""
    return _external("lamina_adjusted_mutual_info_score", labels_true, labels_pred,
                     N.option(average_method, _AVERAGES, "average_method"))


def homogeneity_completeness_v_measure(labels_true, labels_pred, *, beta=1.0):
    """(homogeneity, completeness, V-measure) (Rosenberg & Hirschberg 2007)."""
    t, p = _labelings(labels_true, labels_pred)
    h, c, v = ctypes.c_double(), ctypes.c_double(), ctypes.c_double()
    N.call("lamina_homogeneity_completeness_v_measure", N.iptr(t), N.iptr(p), t.shape[0], float(beta),
           ctypes.byref(h), ctypes.byref(c), ctypes.byref(v))
    return float(h.value), float(c.value), float(v.value)


def homogeneity_score(labels_true, labels_pred):
    """MI / H(true) (sklearn.metrics.homogeneity_score)."""
    return homogeneity_completeness_v_measure(labels_true, labels_pred)[0]


def completeness_score(labels_true, labels_pred):
    """MI / H(pred) (sklearn.metrics.completeness_score)."""
    return homogeneity_completeness_v_measure(labels_true, labels_pred)[1]


def v_measure_score(labels_true, labels_pred, *, beta=1.0):
    """(1 + beta) h c / (beta h + c) (sklearn.metrics.v_measure_score)."""
    return homogeneity_completeness_v_measure(labels_true, labels_pred, beta=beta)[2]


def fowlkes_mallows_score(labels_true, labels_pred, *, sparse=False):
    """Fowlkes-Mallows index (sklearn.metrics.fowlkes_mallows_score)."""
    return _external("lamina_fowlkes_mallows_score", labels_true, labels_pred)
