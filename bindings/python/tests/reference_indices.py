"""Independent reference implementations of the internal indices that scikit-learn does not have.

Written from the papers' definitions in plain numpy/scipy, with no shared code with Lamina: every
distance comes from ``scipy.spatial.distance.cdist`` (direct differences in float64, no
``||x||^2 + ||y||^2 - 2 x.y`` expansion), so these are O(n^2) and meant for n up to a few thousand.

- Generalized Dunn index (Dunn 1974; Bezdek & Pal 1998, "Some new indexes of cluster validity",
  IEEE SMC-B 28(3)):  D = min_{A != B} delta(A, B) / max_C Delta(C), Euclidean d, with
    linkages  delta_1 "single"   min_{a in A, b in B} d(a, b)
              delta_2 "complete" max_{a in A, b in B} d(a, b)
              delta_3 "average"  (1 / (|A||B|)) sum_{a in A, b in B} d(a, b)
              delta_4 "centroid" d(c_A, c_B)
    diameters Delta_1 "max"           max_{x, y in C} d(x, y)
              Delta_2 "mean_pairwise" (1 / (|C|(|C|-1))) sum_{x != y in C} d(x, y)
              Delta_3 "centroid"      2 * (1 / |C|) sum_{x in C} d(x, c_C)
  A singleton has diameter 0; if every diameter is 0 the index is +inf (NaN if the numerator is 0).
- Xie-Beni (Xie & Beni 1991, hard memberships): XB = W / (n * min_{A != B} ||c_A - c_B||^2),
  W = sum_x ||x - c_{k(x)}||^2. Point-pair form of R's clusterCrit (Desgraupes 2013):
  XB = W / (n * min over pairs of points in different clusters of ||a - b||^2).
- GDV (Schilling, Maier, Gerum, Metzner & Krauss 2021): s = 0.5 (x - mean) / std per dimension
  (population std, a constant dimension becomes 0), then
    GDV = (1/sqrt(D)) [ (1/L) sum_l mean_intra(C_l) - (2/(L(L-1))) sum_{l<m} mean_inter(C_l, C_m) ],
  mean_intra over pairs of distinct points of C_l, mean_inter over all cross pairs.

``HAND_EXAMPLES`` holds tiny 2-D inputs whose values are worked out by hand (in the comments) so the
references themselves are checked (tests/test_internal_oracle.py::test_reference_*_hand_example).
"""
from __future__ import annotations

import math

import numpy as np
from scipy.spatial.distance import cdist

LINKAGES = ("single", "complete", "average", "centroid")
DIAMETERS = ("max", "mean_pairwise", "centroid")


def _groups(X, labels):
    X = np.asarray(X, dtype=np.float64)
    labels = np.asarray(labels)
    values = np.unique(labels)
    return X, [np.flatnonzero(labels == v) for v in values]


def distance_matrix(X, direct_below=1500):
    """All pairwise Euclidean distances in float64.

    Up to `direct_below` rows: scipy cdist (direct differences). Above, for speed: the float64 gemm
    expansion ||z_i||^2 + ||z_j||^2 - 2 z_i.z_j on mean-centred rows z, whose absolute error is at most
    about (d + 2) eps (||z_i||^2 + ||z_j||^2); every entry below 1e-4 (||z_i||^2 + ||z_j||^2), where that
    bound could exceed ~1e-9 relative, is recomputed by direct differences. So every distance is
    within ~1e-9 relative of the exact one (three orders below the tests' rtol 1e-6), and duplicate
    rows are exactly 0 apart.
    """
    X = np.asarray(X, dtype=np.float64)
    if X.shape[0] <= direct_below:
        return cdist(X, X)
    Z = X - X.mean(axis=0)
    sq = np.einsum("ij,ij->i", Z, Z)
    scale = sq[:, None] + sq[None, :]
    D2 = scale - 2.0 * (Z @ Z.T)
    rows, cols = np.nonzero(D2 <= 1e-4 * scale)
    if len(rows) > D2.size // 8:  # mostly near-duplicate rows: direct differences everywhere
        return cdist(X, X)
    for start in range(0, len(rows), 1 << 16):
        r, c = rows[start:start + (1 << 16)], cols[start:start + (1 << 16)]
        D2[r, c] = ((Z[r] - Z[c]) ** 2).sum(axis=1)
    np.fill_diagonal(D2, 0.0)
    return np.sqrt(np.maximum(D2, 0.0))


def _linkage(X, D, ia, ib, linkage):
    if linkage == "centroid":
        return float(np.linalg.norm(X[ia].mean(axis=0) - X[ib].mean(axis=0)))
    block = D[np.ix_(ia, ib)]
    if linkage == "single":
        return float(block.min())
    if linkage == "complete":
        return float(block.max())
    if linkage == "average":
        return float(block.mean())
    raise ValueError(linkage)


def _diameter(X, D, ic, diameter):
    m = len(ic)
    if diameter == "centroid":
        C = X[ic]
        return 2.0 * float(np.linalg.norm(C - C.mean(axis=0), axis=1).mean())
    if m < 2:
        return 0.0
    block = D[np.ix_(ic, ic)]
    if diameter == "max":
        return float(block.max())
    if diameter == "mean_pairwise":
        return float(block.sum() / (m * (m - 1)))  # the diagonal of cdist is exactly 0
    raise ValueError(diameter)


def _ratio(separation, widest):
    if widest == 0:
        return math.inf if separation > 0 else math.nan
    return separation / widest


def dunn_table(X, labels, D=None):
    """All 12 (linkage, diameter) combinations: {(linkage, diameter): index}. D, if given, is
    distance_matrix(X) (to share it between calls)."""
    X, groups = _groups(X, labels)
    D = distance_matrix(X) if D is None else D
    k = len(groups)
    seps = {lk: min(_linkage(X, D, groups[a], groups[b], lk) for a in range(k) for b in range(a + 1, k))
            for lk in LINKAGES}
    wides = {dm: max(_diameter(X, D, g, dm) for g in groups) for dm in DIAMETERS}
    return {(lk, dm): _ratio(seps[lk], wides[dm]) for lk in LINKAGES for dm in DIAMETERS}


def dunn_index(X, labels, linkage="single", diameter="max", D=None):
    """Generalized Dunn index: min over cluster pairs of delta / max over clusters of Delta."""
    if linkage not in LINKAGES or diameter not in DIAMETERS:
        raise ValueError((linkage, diameter))
    return dunn_table(X, labels, D)[linkage, diameter]


def within_sum_of_squares(X, labels):
    X, groups = _groups(X, labels)
    return float(sum(((X[g] - X[g].mean(axis=0)) ** 2).sum() for g in groups))


def xie_beni_index(X, labels, separation="centroid", D=None):
    """XB = W / (n * separation); separation "centroid" or "point_pair". D, if given, is
    distance_matrix(X) (used by "point_pair")."""
    X, groups = _groups(X, labels)
    k = len(groups)
    W = within_sum_of_squares(X, labels)
    if separation == "centroid":
        sep = min(float(((X[groups[a]].mean(axis=0) - X[groups[b]].mean(axis=0)) ** 2).sum())
                  for a in range(k) for b in range(a + 1, k))
    elif separation == "point_pair":
        if D is None:
            sep = min(float(cdist(X[groups[a]], X[groups[b]], "sqeuclidean").min())
                      for a in range(k) for b in range(a + 1, k))
        else:
            sep = min(float(D[np.ix_(groups[a], groups[b])].min()) ** 2
                      for a in range(k) for b in range(a + 1, k))
    else:
        raise ValueError(separation)
    if sep == 0:
        return math.inf if W > 0 else math.nan
    return W / (X.shape[0] * sep)


def gdv_scale(X):
    """0.5 * (x - mean) / std per dimension (population std); constant dimensions become 0."""
    X = np.asarray(X, dtype=np.float64)
    mu = X.mean(axis=0)
    sigma = X.std(axis=0)  # ddof=0
    factor = np.divide(0.5, sigma, out=np.zeros_like(sigma), where=sigma > 0)
    return (X - mu) * factor


def gdv(X, labels):
    """Generalized discrimination value of Schilling et al. (2021)."""
    S = gdv_scale(X)
    _, groups = _groups(S, labels)
    if len(groups) < 2 or min(len(g) for g in groups) < 2:
        raise ValueError("GDV needs at least 2 classes with at least 2 samples each")
    D = distance_matrix(S)
    L = len(groups)
    intra = []
    for g in groups:
        m = len(g)
        intra.append(D[np.ix_(g, g)].sum() / (m * (m - 1)))  # mean over distinct pairs (diagonal is 0)
    inter = [D[np.ix_(groups[a], groups[b])].mean() for a in range(L) for b in range(a + 1, L)]
    return float((np.mean(intra) - np.mean(inter)) / math.sqrt(S.shape[1]))


# ---------------------------------------------------------------------------------------------
# Hand-computed examples
# ---------------------------------------------------------------------------------------------
#
# Dunn / Xie-Beni example: cluster A = the corners of a 2x2 square, cluster B = two points.
#   A = (0,0) (2,0) (0,2) (2,2), centroid c_A = (1,1)
#   B = (5,1) (7,1),             centroid c_B = (6,1)
# Cross distances a-b:
#   (0,0)-(5,1) = sqrt(26)   (0,0)-(7,1) = sqrt(50)
#   (2,0)-(5,1) = sqrt(10)   (2,0)-(7,1) = sqrt(26)
#   (0,2)-(5,1) = sqrt(26)   (0,2)-(7,1) = sqrt(50)
#   (2,2)-(5,1) = sqrt(10)   (2,2)-(7,1) = sqrt(26)
#   single   = sqrt(10)
#   complete = sqrt(50) = 5 sqrt(2)
#   average  = (2 sqrt(10) + 4 sqrt(26) + 2 sqrt(50)) / 8 = (sqrt(10) + 2 sqrt(26) + sqrt(50)) / 4
#   centroid = |(1,1) - (6,1)| = 5
# Diameters:
#   A: pairs = 4 sides of 2 and 2 diagonals of 2 sqrt(2)
#      max = 2 sqrt(2); mean_pairwise = (4*2 + 2*2 sqrt(2)) / 6 = (4 + 2 sqrt(2)) / 3 ~ 2.2761;
#      centroid: every corner is sqrt(2) from (1,1) -> 2 sqrt(2)
#   B: one pair of distance 2 -> max 2, mean_pairwise 2; centroid: both at 1 from (6,1) -> 2
#   max over clusters: max 2 sqrt(2), mean_pairwise (4 + 2 sqrt(2)) / 3, centroid 2 sqrt(2)
# Classic Dunn (single, max) = sqrt(10) / (2 sqrt(2)) = sqrt(5) / 2 ~ 1.1180.
# Xie-Beni: W = A: 4 * 2 = 8, B: 1 + 1 = 2 -> W = 10, n = 6
#   centroid:   min ||c_A - c_B||^2 = 25 -> XB = 10 / (6 * 25) = 1/15
#   point_pair: min ||a - b||^2 = 10     -> XB = 10 / (6 * 10)  = 1/6
_S2, _S10, _S26, _S50 = math.sqrt(2), math.sqrt(10), math.sqrt(26), math.sqrt(50)
_DUNN_X = np.array([[0, 0], [2, 0], [0, 2], [2, 2], [5, 1], [7, 1]], dtype=np.float64)
_DUNN_Y = np.array([0, 0, 0, 0, 1, 1])
_DELTA = {"single": _S10, "complete": _S50, "average": (_S10 + 2 * _S26 + _S50) / 4, "centroid": 5.0}
_BIG_DELTA = {"max": 2 * _S2, "mean_pairwise": (4 + 2 * _S2) / 3, "centroid": 2 * _S2}

# GDV example: classes {(0,0), (0,2)} and {(2,0), (2,2)} plus a constant third coordinate 5.
#   dim 1: values 0 0 2 2, mean 1, population std 1 -> s = 0.5 (x - 1) = -0.5 -0.5 0.5 0.5
#   dim 2: values 0 2 0 2, same                        -> s = -0.5 0.5 -0.5 0.5
#   dim 3: constant -> 0
#   scaled class 0: (-.5,-.5,0) (-.5,.5,0); class 1: (.5,-.5,0) (.5,.5,0)
#   intra: class 0 one pair at distance 1, class 1 likewise -> mean intra = 1
#   inter: 4 cross pairs, distances 1, sqrt(2), sqrt(2), 1 -> mean (2 + 2 sqrt(2)) / 4 = (1 + sqrt(2)) / 2
#   D = 3 -> GDV = (1 - (1 + sqrt(2)) / 2) / sqrt(3) = (1 - sqrt(2)) / (2 sqrt(3)) ~ -0.11957
# Without the constant dimension (D = 2): GDV = (1 - sqrt(2)) / (2 sqrt(2)) = (sqrt(2) - 2) / 4 ~ -0.14645
_GDV_X3 = np.array([[0, 0, 5], [0, 2, 5], [2, 0, 5], [2, 2, 5]], dtype=np.float64)
_GDV_Y = np.array([0, 0, 1, 1])

HAND_EXAMPLES = {
    "dunn": (_DUNN_X, _DUNN_Y,
             {(lk, dm): _DELTA[lk] / _BIG_DELTA[dm] for lk in LINKAGES for dm in DIAMETERS}),
    "xie_beni": (_DUNN_X, _DUNN_Y, {"centroid": 1 / 15, "point_pair": 1 / 6}),
    "gdv_3d": (_GDV_X3, _GDV_Y, (1 - _S2) / (2 * math.sqrt(3))),
    "gdv_2d": (_GDV_X3[:, :2].copy(), _GDV_Y, (_S2 - 2) / 4),
}
