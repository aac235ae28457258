"""Audits: the Alignment Quality Index (experimental; include/lamina.h section 14).

AQI (Borah et al. 2025) scores how well a representation separates labelled groups of prompts (safe vs
unsafe, ...) by combining cluster-validity indices computed on the groups as labelled. No official
implementation is published and the public scripts disagree, so each variant is its own formula::

    from lamina.audit import aqi, aqi_groups, aqi_layers
    aqi(H, y, variant="dbs_dunn")                 # (a) gamma/(1+DBS) + (1-gamma) DI/(1+DI)
    aqi(H, y, variant="silhouette_xb")            # (b) gamma (S+1)/2 + (1-gamma)/(1+XB)
    aqi_groups(H, y, axiom, variant="chi_xb")     # (c) over each axiom's rows + overall
    aqi_layers([L0, L1, L2], y, pooling="learned")

Definitions (the header states them in full):

- DBS Davies-Bouldin, DI classic Dunn (single linkage / max diameter), S mean Euclidean silhouette,
  CHI Calinski-Harabasz (all as scikit-learn / lamina.metrics), XB Xie-Beni with hard memberships
  W / (n min_{a != b} ||c_a - c_b||^2).
- (c) over a set of rows (groups + overall, or layers + pooled): CHI_norm = min-max of CHI over the set
  (0.5 if all equal); XB_norm = 1 - sigmoid((XB - median) / IQR) over the finite XB of the set (IQR 1 if
  0; XB = inf -> 0); AQI = gamma CHI_norm + (1 - gamma) XB_norm. The public script of this form scales
  to [0, 100], floors XB_norm at 10 and runs t-SNE first; this one does not.
- Every AQI lies in [0, 1]; higher is better separated.
- ``pca=k`` projects each representation onto its own top k principal components first (float64
  covariance + LAPACK eigenvectors in the library; no t-SNE/UMAP).
- Layer pooling: P = sum_l w_l H_l with w on the simplex: "uniform" over ``layer_range=(first, last)``
  (inclusive, default all layers), user ``weights`` (normalised to sum 1), or "learned": projected
  gradient ascent of the Calinski-Harabasz ratio of P over the simplex (sparse where the maximiser lies
  on a face), weights learned on the raw layers.

Rows of every table are ``COLUMNS`` = (dbs, dunn, silhouette, xie_beni, chi, chi_norm, xb_norm, aqi), NaN
where the variant does not use the index. Groups need >= 2 distinct labels with >= 2 members each.
"""
from __future__ import annotations

import ctypes

import numpy as np

from . import _native as N
from ._base import check_int, check_seed
from .errors import InvalidArgumentError, ShapeMismatchError

__all__ = ["COLUMNS", "aqi", "aqi_row", "aqi_groups", "aqi_layers", "hdbscan", "flare_aggregate", "flare_detect",
           "flare_detect_split"]

COLUMNS = ("dbs", "dunn", "silhouette", "xie_beni", "chi", "chi_norm", "xb_norm", "aqi")

_VARIANTS = {"dbs_dunn": N.LAMINA_AQI_DBS_DUNN, "silhouette_xb": N.LAMINA_AQI_SILHOUETTE_XB,
             "chi_xb": N.LAMINA_AQI_CHI_XB}
_POOLINGS = {"none": N.LAMINA_AQI_POOL_NONE, "uniform": N.LAMINA_AQI_POOL_UNIFORM,
             "given": N.LAMINA_AQI_POOL_GIVEN, "learned": N.LAMINA_AQI_POOL_LEARNED}


def _gamma(gamma):
    if isinstance(gamma, (bool, np.bool_)) or not isinstance(gamma, (int, float, np.integer, np.floating)) \
            or not 0 <= gamma <= 1:
        raise InvalidArgumentError(f"gamma={gamma!r}; expected a number in [0, 1]")
    return float(gamma)


def _pca(pca):
    if pca is None:
        return 0
    return check_int(pca, "pca (None: the raw representation; else the PCA components)", lo=1, bits=32)


def _labels(labels, n, name="labels"):
    lab = N.as_finite_labels(labels, name)
    if lab.shape[0] != n:
        raise ShapeMismatchError(f"{name} has {lab.shape[0]} entries; expected {n} (one per row)")
    return lab


def aqi_row(X, labels, variant="dbs_dunn", gamma=0.5, pca=None) -> dict:
    """The indices and the AQI of one representation X (n x d) for variant (a) "dbs_dunn" or (b)
    "silhouette_xb", as a dict keyed by COLUMNS (NaN for unused indices)."""
    x = N.as_matrix(X, "X")
    lab = _labels(labels, x.shape[0])
    code = N.option(variant, _VARIANTS, "variant")
    out = np.empty(N.LAMINA_AQI_COLUMNS, dtype=np.float64)
    N.call("lamina_aqi_score", N.fptr(x), x.shape[0], x.shape[1], N.iptr(lab), code, _gamma(gamma), _pca(pca),
           N.dptr(out), out.size)
    return dict(zip(COLUMNS, out.tolist()))


def aqi(X, labels, variant="dbs_dunn", gamma=0.5, pca=None) -> float:
    """AQI of one representation (variant "dbs_dunn" or "silhouette_xb"; "chi_xb" needs a set: use
    aqi_groups or aqi_layers)."""
    return aqi_row(X, labels, variant, gamma, pca)["aqi"]


def aqi_groups(X, labels, groups, variant="chi_xb", gamma=0.5, pca=None) -> dict:
    """AQI per subset of the rows (``groups``: n values, e.g. the axiom of each prompt) plus an overall
    row. Returns {"groups": the distinct group values (ascending), "table": (G + 1, 8) array (last row
    overall), "columns": COLUMNS}. Variant "chi_xb" normalises over these G + 1 rows."""
    x = N.as_matrix(X, "X")
    lab = _labels(labels, x.shape[0])
    grp_raw = np.asarray(groups)
    if grp_raw.ndim != 1 or grp_raw.shape[0] != x.shape[0]:
        raise ShapeMismatchError(f"groups has shape {grp_raw.shape}; expected ({x.shape[0]},) (one per row)")
    N.as_finite_labels(grp_raw, "groups")
    values, codes = np.unique(grp_raw, return_inverse=True)
    grp = np.ascontiguousarray(codes.reshape(-1), dtype=np.int32)
    code = N.option(variant, _VARIANTS, "variant")
    out = np.empty((len(values) + 1, N.LAMINA_AQI_COLUMNS), dtype=np.float64)
    N.call("lamina_aqi_groups", N.fptr(x), x.shape[0], x.shape[1], N.iptr(lab), N.iptr(grp), code, _gamma(gamma),
           _pca(pca), N.dptr(out), out.size)
    return {"groups": values, "table": out, "columns": COLUMNS}


def aqi_layers(layers, labels, variant="dbs_dunn", gamma=0.5, pooling="uniform", layer_range=None, weights=None,
               pca=None) -> dict:
    """AQI of every layer and of the pooled layers P = sum_l w_l H_l, in one call.

    pooling: "uniform" (over ``layer_range=(first, last)``, inclusive, default all layers), "given"
    (``weights``, >= 0, normalised to sum 1; passing weights alone selects it), "learned" (maximise the
    groups' Calinski-Harabasz ratio in P over the simplex), or "none". Returns {"table": (L + 1, 8) array
    (last row pooled), "weights": (L,) array, "pooled": the pooled AQI, "columns": COLUMNS}."""
    from .geometry import _layers
    hs = _layers(layers, "layers")
    n = hs[0].shape[0]
    for i, a in enumerate(hs):
        if a.shape[0] != n:
            raise ShapeMismatchError(f"layers[{i}] has {a.shape[0]} rows; expected {n} (the rows of layers[0])")
    lab = _labels(labels, n)
    code = N.option(variant, _VARIANTS, "variant")
    if weights is not None and pooling == "uniform":
        pooling = "given"
    pool = N.option(pooling, _POOLINGS, "pooling")
    first, last = 0, len(hs) - 1
    if layer_range is not None:
        if pooling != "uniform":
            raise InvalidArgumentError(f"layer_range is given with pooling={pooling!r}; it applies to pooling='uniform'")
        try:
            first, last = layer_range
        except (TypeError, ValueError):
            raise InvalidArgumentError(f"layer_range={layer_range!r}; expected (first, last) layer indices") from None
        first = check_int(first, "layer_range[0]", bits=32)
        last = check_int(last, "layer_range[1]", bits=32)
    w_in = None
    if pooling == "given":
        if weights is None:
            raise InvalidArgumentError("pooling='given' needs weights (one per layer)")
        w_in = np.ascontiguousarray(np.asarray(weights, dtype=np.float64))
        if w_in.ndim != 1 or w_in.shape[0] != len(hs):
            raise ShapeMismatchError(f"weights has shape {w_in.shape}; expected ({len(hs)},) (one per layer)")
    elif weights is not None:
        raise InvalidArgumentError(f"weights are given with pooling={pooling!r}; they apply to pooling='given'")
    ptrs = (N.f32p * len(hs))(*[N.fptr(a) for a in hs])
    dims = np.array([a.shape[1] for a in hs], dtype=np.int64)
    table = np.empty((len(hs) + 1, N.LAMINA_AQI_COLUMNS), dtype=np.float64)
    w_out = np.empty(len(hs), dtype=np.float64)
    N.call("lamina_aqi_layers", ptrs, N.lptr(dims), len(hs), n, N.iptr(lab), code, _gamma(gamma), _pca(pca), pool,
           first, last, None if w_in is None else N.dptr(w_in), N.dptr(table), table.size, N.dptr(w_out))
    return {"table": table, "weights": w_out, "pooled": float(table[-1, 7]), "columns": COLUMNS}


# ---------------------------------------------------------------------------------------------------
# HDBSCAN* and FLARE poisoned-sample detection [experimental]

def _positive_int(value, name, minimum):
    return check_int(value, name, lo=minimum, bits=64)  # ctypes would wrap a larger Python int silently


def _min_samples(value):
    if value is None:
        return 0
    return _positive_int(value, "min_samples", 1)


def hdbscan(X, min_cluster_size=5, min_samples=None, return_tree=False):
    """HDBSCAN* labels of X (n x d, Euclidean), as ``sklearn.cluster.HDBSCAN(min_cluster_size,
    min_samples).fit(X).labels_`` (same partition and noise, clusters numbered by condensed-tree node;
    min_samples counts the point itself, None = min_cluster_size). See lamina_hdbscan in lamina.h.

    With return_tree=True returns (labels, tree) where tree is a dict of the condensed tree's rows
    {"parent", "child", "lambda", "size"} (node ids: points 0..n-1, root n) and "stability" (one per
    cluster node n, n + 1, ..., before selection)."""
    x = N.as_matrix(X, "X")
    mcs = _positive_int(min_cluster_size, "min_cluster_size", 2)
    ms = _min_samples(min_samples)
    n = x.shape[0]
    labels = np.empty(n, dtype=np.int32)
    if not return_tree:
        N.call("lamina_hdbscan", N.fptr(x), n, x.shape[1], mcs, ms, N.iptr(labels), None, None, None, None, None, 0,
               None)
        return labels
    cap = 2 * n
    parent = np.empty(cap, dtype=np.int64)
    child = np.empty(cap, dtype=np.int64)
    lam = np.empty(cap, dtype=np.float64)
    size = np.empty(cap, dtype=np.int64)
    stab = np.empty(cap, dtype=np.float64)
    rows = np.zeros(1, dtype=np.int64)
    N.call("lamina_hdbscan", N.fptr(x), n, x.shape[1], mcs, ms, N.iptr(labels), N.lptr(parent), N.lptr(child),
           N.dptr(lam), N.lptr(size), N.dptr(stab), cap, N.lptr(rows))
    r = int(rows[0])
    clusters = 1 + int(np.count_nonzero(child[:r] >= n))
    return labels, {"parent": parent[:r].copy(), "child": child[:r].copy(), "lambda": lam[:r].copy(),
                    "size": size[:r].copy(), "stability": stab[:clusters].copy()}


def flare_aggregate(layers, means=None, variances=None, eps=1e-5):
    """FLARE's per-layer "abnormal activation" (Hou et al. 2025): for each layer (an (n, C) array, or
    (n, C, ...) with trailing positions, e.g. NCHW), the minimum over channels and positions of the
    Gaussian log-likelihood log N(h; mu_c, var_c + eps) of each sample's activation. means/variances:
    a list of per-channel arrays (BatchNorm running_mean / running_var), None entries (or None) for
    statistics from the data (mean and biased variance over samples and positions). Returns an
    (n, L) float64 array, columns in layer order (shallowest first)."""
    if isinstance(layers, np.ndarray) or not isinstance(layers, (list, tuple)) or len(layers) == 0:
        raise InvalidArgumentError("layers must be a non-empty list of arrays (n, channels[, positions...])")
    hs, chans, poss = [], [], []
    for i, a in enumerate(layers):
        arr = np.asarray(a)
        if arr.dtype.kind not in "fiub":
            raise InvalidArgumentError(f"layers[{i}] has dtype {arr.dtype}; expected a numeric array")
        if arr.ndim < 2:
            raise InvalidArgumentError(f"layers[{i}] has shape {arr.shape}; expected (n, channels[, positions...])")
        c = arr.shape[1]
        p = int(np.prod(arr.shape[2:])) if arr.ndim > 2 else 1
        hs.append(np.ascontiguousarray(arr.reshape(arr.shape[0], c * p), dtype=np.float32))
        chans.append(c)
        poss.append(p)
    n = hs[0].shape[0]
    for i, a in enumerate(hs):
        if a.shape[0] != n:
            raise ShapeMismatchError(f"layers[{i}] has {a.shape[0]} rows; expected {n} (the rows of layers[0])")
    L = len(hs)
    if (means is None) != (variances is None):
        raise InvalidArgumentError("means and variances must be both given or both None")
    mp = vp = None
    keep = []
    if means is not None:
        if len(means) != L or len(variances) != L:
            raise ShapeMismatchError(f"means has {len(means)} and variances {len(variances)} entries; expected {L} "
                                     "(one per layer, None for statistics from the data)")
        mp = (N.f64p * L)()
        vp = (N.f64p * L)()
        for i in range(L):
            if (means[i] is None) != (variances[i] is None):
                raise InvalidArgumentError(f"means[{i}] and variances[{i}] must be both given or both None")
            if means[i] is None:
                continue
            m = np.ascontiguousarray(np.asarray(means[i], dtype=np.float64).reshape(-1))
            v = np.ascontiguousarray(np.asarray(variances[i], dtype=np.float64).reshape(-1))
            for name, arr in (("means", m), ("variances", v)):
                if arr.shape[0] != chans[i]:
                    raise ShapeMismatchError(f"{name}[{i}] has {arr.shape[0]} entries; expected {chans[i]} "
                                             f"(the channels of layers[{i}])")
            keep += [m, v]
            mp[i] = N.dptr(m)
            vp[i] = N.dptr(v)
    if isinstance(eps, (bool, np.bool_)) or not isinstance(eps, (int, float, np.integer, np.floating)):
        raise InvalidArgumentError(f"eps={eps!r}; expected a number >= 0")
    ptrs = (N.f32p * L)(*[N.fptr(a) for a in hs])
    out = np.empty((n, L), dtype=np.float64)
    N.call("lamina_flare_aggregate", ptrs, N.lptr(np.array(chans, dtype=np.int64)),
           N.lptr(np.array(poss, dtype=np.int64)), L, n, mp, vp, float(eps), N.dptr(out), out.size)
    return out



def _feature_matrix(features):
    """FLARE's aggregated features as a C-contiguous float64 (n, n_layers) array, checked."""
    f = np.asarray(features)
    if f.dtype.kind not in "fiub":
        raise InvalidArgumentError(f"features has dtype {f.dtype}; expected a numeric array")
    if f.ndim != 2:
        raise InvalidArgumentError(f"features has shape {f.shape}; expected (n, n_layers)")
    return np.ascontiguousarray(f, dtype=np.float64)


def flare_detect(features, min_cluster_size=100, min_samples=None, xi=0.02, depth=3) -> dict:
    """FLARE's detection (Algorithm 1) on aggregated features (n x L, shallowest layer first, e.g.
    flare_aggregate's output). Excludes the deepest w = 0, 1, ... layers until a stable split is found
    (the paper's text; the released code stops at w = 0), runs HDBSCAN on the standardised columns
    (the released code runs it on a 2-D UMAP embedding: not part of Lamina), walks the condensed tree
    as the released find_first_large_drop, cuts the single-linkage tree at 1 / (lambda - 1e-4): the
    largest cluster is clean, the other clusters are flagged. See lamina_flare_detect in lamina.h.
    min_samples counts the point itself (as in hdbscan() here); None = min(min_cluster_size + 1, n), the
    released code's `hdbscan`-package HDBSCAN(min_cluster_size), whose min_samples excludes the point.

    Returns {"flags": (n,) bool, "scores": (n,) float (distance of joining the clean cluster's core),
    "labels": HDBSCAN labels in the chosen subspace, "found": bool, "excluded_layers": w (-1 if not
    found), "split_lambda", "cut_distance"}. No stable split for any w is a result (found False, no
    flag), with a RuntimeWarning."""
    f = _feature_matrix(features)
    mcs = _positive_int(min_cluster_size, "min_cluster_size", 2)
    ms = _min_samples(min_samples)
    if isinstance(xi, (bool, np.bool_)) or not isinstance(xi, (int, float, np.integer, np.floating)):
        raise InvalidArgumentError(f"xi={xi!r}; expected a number > 0")
    dp = _positive_int(depth, "depth", 1)
    n, L = f.shape
    flags = np.empty(n, dtype=np.int32)
    scores = np.empty(n, dtype=np.float64)
    labels = np.empty(n, dtype=np.int32)
    found = np.zeros(1, dtype=np.int32)
    w = np.zeros(1, dtype=np.int32)
    lam = np.zeros(1, dtype=np.float64)
    cut = np.zeros(1, dtype=np.float64)
    N.call("lamina_flare_detect", N.dptr(f), n, L, mcs, ms, float(xi), min(dp, 2**31 - 1), N.iptr(flags),
           N.dptr(scores), N.iptr(labels), N.iptr(found), N.iptr(w), N.dptr(lam), N.dptr(cut))
    if not found[0]:
        import warnings
        warnings.warn("FLARE found no stable split for any number of excluded layers; nothing is flagged",
                      RuntimeWarning, stacklevel=2)
    return {"flags": flags.astype(bool), "scores": scores, "labels": labels, "found": bool(found[0]),
            "excluded_layers": int(w[0]), "split_lambda": float(lam[0]), "cut_distance": float(cut[0])}


def flare_detect_split(features, n_boot=None, max_iter=300, seed=0, resamples=None) -> dict:
    """FLARE, split-and-stability variant: a reading of the paper's text (split the data in two
    in the best layer subset, flag the more stable cluster), not the released code (that is
    flare_detect, which gives different flags). See lamina_flare_detect_split in lamina.h.

    features: (n, L), shallowest layer first (e.g. flare_aggregate's output), n >= 4. For each w = 0 ..
    L - 1 the first L - w columns are z-scored and split by 2-means started from the sign of the first
    principal component (Ding & He 2004; Lloyd until no label changes, at most max_iter iterations);
    each cluster's stability is Hennig's (2007) clusterwise Jaccard bootstrap (fpc::clusterboot): the
    mean over n_boot resamples of the best multiplicity-weighted Jaccard agreement between the cluster
    (restricted to the resample) and a cluster of the resample's own split. The chosen w is the one whose
    weaker cluster is most stable (ties: smallest w); the more stable cluster is flagged (ties: the
    smaller one). The w loop follows the paper's text (the released code's loop exits at w = 0). The
    Jaccard ratio favours the larger cluster: a small group that is not cleanly separated is the less
    stable half, so the larger one is flagged (examples/python/flare_digits.py shows it).

    n_boot: resamples (default 100, or the rows of ``resamples``). seed: the resamples' generator (an
    int in [0, 2**64); the same seed gives the same result for any thread count). resamples: optional
    (n_boot, n) integer row indices that replace the generator's draws (each row one resample drawn with
    replacement), e.g. to reproduce another implementation's bootstrap.

    Returns {"flags": (n,) bool, "scores": (n,) float (squared distance to the other centre minus squared
    distance to the flagged centre, chosen subspace), "labels": (n,) int32 0 / 1, "found": bool,
    "excluded_layers": w (-1 if no w splits), "flagged_cluster": 0 / 1 (-1), "stability": (2,) float
    (clusters 0 and 1 of the chosen w), "table": (L, 2) float (each w's stabilities, NaN where w gives no
    split)}. No split for any w (e.g. constant features) is a result (found False, nothing flagged), with
    a RuntimeWarning."""
    f = _feature_matrix(features)
    n, L = f.shape
    r = None
    if resamples is not None:
        r = np.asarray(resamples)
        if r.ndim != 2 or r.shape[1] != n:
            raise ShapeMismatchError(f"resamples has shape {r.shape}; expected (n_boot, n) = (n_boot, {n})")
        if r.dtype.kind not in "iu":
            raise InvalidArgumentError(f"resamples has dtype {r.dtype}; expected integer row indices")
        if n_boot is not None and _positive_int(n_boot, "n_boot", 1) != r.shape[0]:
            raise ShapeMismatchError(f"n_boot={n_boot} but resamples has {r.shape[0]} rows; pass one or make them "
                                     "agree")
        r = np.ascontiguousarray(r, dtype=np.int64)
        boot = r.shape[0]
    else:
        boot = 100 if n_boot is None else _positive_int(n_boot, "n_boot", 1)
    if boot > 2**31 - 1:
        raise InvalidArgumentError(f"n_boot={boot}; expected an int in [1, 2**31)")
    it = _positive_int(max_iter, "max_iter", 1)
    s = check_seed(seed, "seed")
    flags = np.empty(n, dtype=np.int32)
    scores = np.empty(n, dtype=np.float64)
    labels = np.empty(n, dtype=np.int32)
    found = np.zeros(1, dtype=np.int32)
    w = np.zeros(1, dtype=np.int32)
    stab = np.empty(2, dtype=np.float64)
    table = np.empty((L, 2), dtype=np.float64)
    N.call("lamina_flare_detect_split", N.dptr(f), n, L, boot, min(it, 2**31 - 1), s,
           None if r is None else N.lptr(r), N.iptr(flags), N.dptr(scores), N.iptr(labels), N.iptr(found),
           N.iptr(w), N.dptr(stab), N.dptr(table))
    flagged = -1
    if not found[0]:
        import warnings
        warnings.warn("FLARE (split variant) found no split for any number of excluded layers; nothing is flagged",
                      RuntimeWarning, stacklevel=2)
    elif flags.any():
        flagged = int(labels[np.argmax(flags)])
    else:  # max_iter stopped Lloyd with the flagged cluster emptied by its last assignment
        flagged = 1 if not labels.any() else 0
    return {"flags": flags.astype(bool), "scores": scores, "labels": labels, "found": bool(found[0]),
            "excluded_layers": int(w[0]), "flagged_cluster": flagged, "stability": stab, "table": table}
