"""lamina.geometry against direct float64 references.

CKA: a direct n x n Gram-matrix implementation in numpy float64 (HKH centring for linear and RBF CKA;
Song et al. 2012's unbiased HSIC on K, L with zeroed diagonals, from the *uncentred* data, which also
checks the invariance Lamina's feature-space form relies on). Lamina reads float32; the references are
computed in float64 on the same float32 values, so the only difference is float64 rounding: tolerance
1e-10 relative (absolute for debiased values near 0).

RSA: scipy.spatial.distance.pdist RDMs compared by scipy.stats.spearmanr / pearsonr; Kendall's tau-a
by brute force over all pairs of pairs (small n, with ties) and, for larger n, from scipy's tau-b:
tau_a = tau_b sqrt((T - ties_a)(T - ties_b)) / T, T = m (m - 1) / 2. The cosine comparison by the direct
numpy formula a.b / sqrt(a.a b.b) at 1e-12, and by rsatoolbox.rdm.compare(method="cosine") when
rsatoolbox is installed (a benchmark-only dependency: skipped otherwise).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.distance import pdist
from scipy.stats import kendalltau, pearsonr, spearmanr

import lamina
from lamina import geometry as G

DATA = Path(__file__).resolve().parents[3] / "examples" / "data" / "minilm_wordnet.h5"
LAYERS = [f"/target/layer_{i}" for i in range(7)]
REL = 1e-10


# -- references ---------------------------------------------------------------------------------------

def _center(K):
    n = K.shape[0]
    H = np.eye(n) - 1.0 / n
    return H @ K @ H


def ref_cka_gram(K, L):
    Kc, Lc = _center(K), _center(L)
    return np.sum(Kc * Lc) / (np.linalg.norm(Kc) * np.linalg.norm(Lc))


def ref_hsic_unbiased(K, L):
    n = K.shape[0]
    Kt, Lt = K.copy(), L.copy()
    np.fill_diagonal(Kt, 0)
    np.fill_diagonal(Lt, 0)
    term1 = np.sum(Kt * Lt)                               # tr(K~ L~), both symmetric
    term2 = Kt.sum() * Lt.sum() / ((n - 1) * (n - 2))
    term3 = 2.0 / (n - 2) * (Kt.sum(axis=1) @ Lt.sum(axis=1))  # 1^T K~ L~ 1
    return (term1 + term2 - term3) / (n * (n - 3))


def ref_linear_cka(X, Y, debiased=False):
    X = np.asarray(X, np.float64)
    Y = np.asarray(Y, np.float64)
    K, L = X @ X.T, Y @ Y.T
    if not debiased:
        return ref_cka_gram(K, L)
    return ref_hsic_unbiased(K, L) / np.sqrt(ref_hsic_unbiased(K, K) * ref_hsic_unbiased(L, L))


def ref_median_distance(X):
    return float(np.median(pdist(np.asarray(X, np.float64))))


def ref_rbf_cka(X, Y, factor=1.0):
    def gram(Z):
        Z = np.asarray(Z, np.float64)
        sq = np.sum((Z[:, None, :] - Z[None, :, :]) ** 2, axis=-1)
        sigma = factor * ref_median_distance(Z)
        return np.exp(-sq / (2 * sigma ** 2))
    return ref_cka_gram(gram(X), gram(Y))


def ref_tau_a_brute(a, b):
    sa = np.sign(a[:, None] - a[None, :])
    sb = np.sign(b[:, None] - b[None, :])
    m = len(a)
    return np.sum(np.triu(sa * sb, 1)) / (m * (m - 1) / 2)


def _ties(v):
    _, counts = np.unique(v, return_counts=True)
    return int(np.sum(counts * (counts - 1) // 2))


def ref_tau_a(a, b):
    m = len(a)
    total = m * (m - 1) // 2
    tau_b = kendalltau(a, b).statistic
    return tau_b * np.sqrt(float(total - _ties(a)) * float(total - _ties(b))) / total


def ref_cosine(a, b):
    """rsatoolbox's cosine comparison of two condensed RDMs: sum a_k b_k / sqrt(sum a_k^2 sum b_k^2)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(a @ b / np.sqrt((a @ a) * (b @ b)))


def ref_pdist(X, metric):
    """scipy's pdist with identical rows at exactly 0 under every metric: scipy's correlation and cosine
    leave a rounding residue (+-1e-16) on some identical pairs (8 such pairs in minilm_wordnet's first 400
    rows, 3 of them nonzero), Lamina gives them exactly 0 -- which decides ties for the rank methods."""
    Xd = np.asarray(X, np.float64)
    r = pdist(Xd, metric)
    if metric != "euclidean":
        r[pdist(Xd) == 0] = 0.0
    return r


def ref_rsa(X, Y, metric, method):
    a = ref_pdist(X, metric)
    b = ref_pdist(Y, metric)
    if method == "spearman":
        return spearmanr(a, b).statistic
    if method == "pearson":
        return pearsonr(a, b).statistic
    if method == "cosine":
        return ref_cosine(a, b)
    return ref_tau_a(a, b)


def close(got, want, rel=REL, abs_=0.0):
    assert abs(got - want) <= max(rel * abs(want), abs_), f"lamina {got!r} vs reference {want!r} (diff {got - want:.3e})"


# -- data ---------------------------------------------------------------------------------------------

def _random(seed, n=60, d1=12, d2=7, offset=1.5):
    rng = np.random.default_rng(seed)
    X = (rng.standard_normal((n, d1)) + offset).astype(np.float32)
    W = rng.standard_normal((d1, d2))
    Y = (X @ W + 0.7 * rng.standard_normal((n, d2)) - offset).astype(np.float32)
    return X, Y


@pytest.fixture(scope="module")
def real_layers():
    return [lamina.io.read_activations(str(DATA), name) for name in LAYERS]


# -- CKA ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("debiased", [False, True])
def test_linear_cka_random(seed, debiased):
    X, Y = _random(seed)
    want = ref_linear_cka(X, Y, debiased)
    close(G.linear_cka(X, Y, debiased=debiased), want, abs_=1e-10 if debiased else 0.0)
    close(G.linear_cka(X, X, debiased=debiased), 1.0)


def test_linear_cka_unrelated_debiased_can_be_negative():
    # independent noise: biased CKA is clearly positive at small n, debiased is near 0 (sign free)
    rng = np.random.default_rng(7)
    X = rng.standard_normal((40, 30)).astype(np.float32)
    Y = rng.standard_normal((40, 30)).astype(np.float32)
    biased, unbiased = G.linear_cka(X, Y), G.linear_cka(X, Y, debiased=True)
    close(biased, ref_linear_cka(X, Y))
    close(unbiased, ref_linear_cka(X, Y, True), abs_=1e-10)
    assert biased > 0.3 and abs(unbiased) < 0.1
    assert 0.0 <= biased <= 1.0 and -1.0 <= unbiased <= 1.0


def test_linear_cka_invariances():
    X, Y = _random(3)
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.standard_normal((12, 12)))
    Xr = (X.astype(np.float64) @ Q * 3.0 + 5.0).astype(np.float32)  # rotation, scale, shift
    close(G.linear_cka(Xr, Y), ref_linear_cka(Xr, Y))
    assert abs(G.linear_cka(Xr, Y) - G.linear_cka(X, Y)) < 1e-5  # float32 rounding of Xr only


@pytest.mark.parametrize("debiased", [False, True])
def test_cka_matrix_matches_pairs(debiased):
    rng = np.random.default_rng(11)
    base = rng.standard_normal((50, 6))
    layers = [(base @ rng.standard_normal((6, d)) + 0.5 * rng.standard_normal((50, d))).astype(np.float32)
              for d in (5, 9, 3, 9)]
    M = G.cka_matrix(layers, debiased=debiased)
    assert M.shape == (4, 4)
    np.testing.assert_array_equal(M, M.T)
    np.testing.assert_array_equal(np.diag(M), 1.0)
    for i in range(4):
        for j in range(4):
            if i != j:
                close(M[i, j], ref_linear_cka(layers[i], layers[j], debiased), abs_=1e-10 if debiased else 0.0)
    other = layers[:2]
    M2 = G.cka_matrix(layers, other, debiased=debiased)
    assert M2.shape == (4, 2)
    for i in range(4):
        for j in range(2):
            close(M2[i, j], ref_linear_cka(layers[i], other[j], debiased), abs_=1e-10 if debiased else 0.0)


def test_cka_matrix_real_activations(real_layers):
    n = 700  # the reference builds n x n Grams
    sub = [a[:n] for a in real_layers]
    M = G.cka_matrix(sub)
    Md = G.cka_matrix(sub, debiased=True)
    grams = [a.astype(np.float64) @ a.astype(np.float64).T for a in sub]
    for i in range(7):
        for j in range(i + 1, 7):
            close(M[i, j], ref_cka_gram(grams[i], grams[j]))
            want = ref_hsic_unbiased(grams[i], grams[j]) / np.sqrt(
                ref_hsic_unbiased(grams[i], grams[i]) * ref_hsic_unbiased(grams[j], grams[j]))
            close(Md[i, j], want, abs_=1e-10)
    # adjacent layers are more alike than distant ones
    assert M[0, 1] > M[0, 6]


@pytest.mark.parametrize("debiased", [False, True])
def test_cka_matrix_from_hdf5(real_layers, debiased):
    """(path, datasets) lists are read by the library (lamina_cka_matrix_h5); a mixed call reads the file in
    Python: the same numbers as the arrays either way."""
    h5 = str(DATA)
    M = G.cka_matrix((h5, LAYERS[:3]), debiased=debiased)
    np.testing.assert_array_equal(M, G.cka_matrix(real_layers[:3], debiased=debiased))
    want = G.cka_matrix(real_layers[:3], real_layers[4:], debiased=debiased)
    np.testing.assert_array_equal(G.cka_matrix((h5, LAYERS[:3]), (h5, LAYERS[4:]), debiased=debiased), want)
    np.testing.assert_array_equal(G.cka_matrix((h5, LAYERS[:3]), real_layers[4:], debiased=debiased), want)
    np.testing.assert_array_equal(G.cka_matrix(real_layers[:3], (h5, LAYERS[4:]), debiased=debiased), want)
    close(M[0, 2], ref_linear_cka(real_layers[0], real_layers[2], debiased), abs_=1e-10 if debiased else 0.0)


@pytest.mark.parametrize("seed", range(3))
def test_rbf_cka_random(seed):
    X, Y = _random(seed, n=45)
    close(G.median_distance(X), ref_median_distance(X))
    close(G.median_distance(X[:44]), ref_median_distance(X[:44]))  # even number of pairs? 946: even
    close(G.rbf_cka(X, Y), ref_rbf_cka(X, Y))
    close(G.rbf_cka(X, Y, sigma_factor=0.5), ref_rbf_cka(X, Y, 0.5))
    close(G.rbf_cka(X, X), 1.0)


def _grid_median(X):
    """numpy's median of the pairwise distances of integer rows, from the exact histogram of the integer
    squared distances (row blocks; no pair vector)."""
    Xi = np.asarray(X, np.int64)
    n = len(Xi)
    hist = np.zeros(int(np.sum((Xi.max(0) - Xi.min(0)) ** 2)) + 1, np.int64)
    for i0 in range(0, n, 512):
        block = Xi[i0:i0 + 512]
        sq = np.sum((block[:, None, :] - Xi[None, :, :]) ** 2, axis=-1)
        upper = np.arange(n)[None, :] > np.arange(i0, i0 + len(block))[:, None]
        hist += np.bincount(sq[upper], minlength=len(hist))
    m = n * (n - 1) // 2
    cum = np.cumsum(hist)
    lo, hi = np.searchsorted(cum, (m - 1) // 2, "right"), np.searchsorted(cum, m // 2, "right")
    return (np.sqrt(lo) + np.sqrt(hi)) / 2


@pytest.mark.parametrize("n", [3002, 3004, 11592])  # 4,504,501 pairs (odd), 4,510,506 and 67,180,236 (even)
def test_median_distance_ties(n):
    # integer rows and their negatives: the column means are exactly 0, so every squared distance is an
    # exact integer and the middle pairs sit inside huge runs of ties (the selection's full 64-bit passes)
    rng = np.random.default_rng(n)
    half = rng.integers(-2, 3, (n // 2, 3))
    X = np.concatenate([half, -half]).astype(np.float32)
    assert G.median_distance(X) == _grid_median(X)


@pytest.mark.parametrize("n", [2, 3, 301, 3000])
def test_median_distance_and_rbf_cka_continuous(n):
    # continuous rows; an even number of pairs (3000: 4,498,500) makes the two middle order statistics
    # differ: the tiled selection (collect-and-sort path, then the next value above) against numpy's
    # median of pdist
    rng = np.random.default_rng(7)
    X = (rng.standard_normal((n, 4)) + 3).astype(np.float32)
    want = float(np.median(pdist(X.astype(np.float64))))
    got = G.median_distance(X)
    close(got, want, rel=1e-12)
    Y = np.tanh(X[:, :2] * X[:, 2:]).astype(np.float32)
    # the median rule at this n equals the explicit bandwidths it selects
    assert G.rbf_cka(X, Y) == G.rbf_cka(X, Y, sigma_x=got, sigma_y=G.median_distance(Y))


def test_rbf_cka_explicit_sigma():
    X, Y = _random(5, n=30)
    sx, sy = 2.0, 3.5
    Xd, Yd = X.astype(np.float64), Y.astype(np.float64)
    K = np.exp(-np.sum((Xd[:, None] - Xd[None]) ** 2, -1) / (2 * sx ** 2))
    L = np.exp(-np.sum((Yd[:, None] - Yd[None]) ** 2, -1) / (2 * sy ** 2))
    close(G.rbf_cka(X, Y, sigma_x=sx, sigma_y=sy), ref_cka_gram(K, L))


def test_rbf_cka_real_activations(real_layers):
    X, Y = real_layers[1][:300], real_layers[5][:300]
    close(G.rbf_cka(X, Y), ref_rbf_cka(X, Y))


# -- RSA ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("metric", ["euclidean", "correlation", "cosine"])
def test_rdm_matches_pdist(metric):
    X, _ = _random(1, n=37)
    np.testing.assert_allclose(G.rdm(X, metric), pdist(X.astype(np.float64), metric), rtol=1e-12, atol=1e-13)


def test_rdm_duplicate_rows_are_exact_zero():
    X, _ = _random(2, n=20)
    X[7] = X[3]
    X[12] = X[3]
    r = G.rdm(X, "euclidean")
    ref = pdist(X.astype(np.float64))
    assert np.count_nonzero(r == 0) == np.count_nonzero(ref == 0) == 3
    # correlation and cosine too: identical rows exactly 0 (not 1 - u.u rounding), the rest as pdist
    for metric in ("correlation", "cosine"):
        r = G.rdm(X, metric)
        assert np.array_equal(r == 0, ref == 0), metric
        np.testing.assert_allclose(r, pdist(X.astype(np.float64), metric), rtol=1e-12, atol=1e-13)


def test_rdm_near_rows_are_accurate():
    # rows a relative ~3e-6 apart: correlation / cosine distances ~1e-11, where the ~1e-16 rounding of
    # 1 - u.v would leave ~1e-5 relative error; Lamina computes them as ||u - v||^2 / 2 (float64)
    rng = np.random.default_rng(5)
    base = rng.standard_normal(16)
    X = np.stack([base, base + 3e-6 * rng.standard_normal(16), rng.standard_normal(16)])
    X32 = X.astype(np.float32)
    Xd = X32.astype(np.float64)
    for metric, center in (("cosine", False), ("correlation", True)):
        U = Xd - Xd.mean(axis=1, keepdims=True) if center else Xd.copy()
        U /= np.linalg.norm(U, axis=1, keepdims=True)
        want = np.array([np.sum((U[i] - U[j]) ** 2) / 2 for i, j in ((0, 1), (0, 2), (1, 2))])
        got = G.rdm(X32, metric)
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=0)


@pytest.mark.parametrize("metric", ["euclidean", "correlation", "cosine"])
@pytest.mark.parametrize("method", ["spearman", "pearson", "kendall_tau_a", "cosine"])
def test_rsa_random(metric, method):
    X, Y = _random(4, n=80, d1=10, d2=6)
    close(G.rsa(X, Y, metric=metric, method=method), ref_rsa(X, Y, metric, method))


@pytest.mark.parametrize("method", ["spearman", "kendall_tau_a", "pearson"])
def test_rsa_with_ties(method):
    # small integer data: many exactly tied distances in both RDMs
    rng = np.random.default_rng(3)
    X = rng.integers(0, 3, (24, 3)).astype(np.float32)
    Y = (X[:, :2] + rng.integers(0, 2, (24, 2))).astype(np.float32)
    a, b = pdist(X.astype(np.float64)), pdist(Y.astype(np.float64))
    assert len(np.unique(a)) < len(a) // 10
    want = {"spearman": lambda: spearmanr(a, b).statistic, "pearson": lambda: pearsonr(a, b).statistic,
            "kendall_tau_a": lambda: ref_tau_a_brute(a, b)}[method]()
    close(G.rsa(X, Y, "euclidean", method), want, rel=1e-12)
    close(G.rdm_compare(a, b, method), want, rel=1e-12)
    if method == "kendall_tau_a":
        close(ref_tau_a(a, b), want, rel=1e-12)  # the tau-b route used below agrees with brute force


def test_rsa_real_activations(real_layers):
    X, Y = real_layers[0][:400], real_layers[6][:400]
    for metric in ("correlation", "euclidean"):
        for method in ("spearman", "pearson", "kendall_tau_a"):
            close(G.rsa(X, Y, metric, method), ref_rsa(X, Y, metric, method))


def test_pearson_streaming_matches_materialised():
    X, Y = _random(9, n=700, d1=20, d2=9)  # several tiles of 256 rows
    a, b = G.rdm(X, "cosine"), G.rdm(Y, "cosine")
    close(G.rsa(X, Y, "cosine", "pearson"), pearsonr(a, b).statistic)
    close(G.rdm_compare(a, b, "pearson"), pearsonr(a, b).statistic)


# -- RSA cosine comparison: a.b / sqrt(a.a b.b) on the condensed RDMs, streamed in lamina_rsa ----------

def _check_cosine(X, Y, metric, rel=1e-12):
    """lamina_rsa (streamed) and rdm_compare (given RDMs: scipy's and Lamina's) against the numpy formula."""
    a = ref_pdist(X, metric)
    b = ref_pdist(Y, metric)
    want = ref_cosine(a, b)
    close(G.rsa(X, Y, metric, "cosine"), want, rel=rel)
    close(G.rdm_compare(a, b, "cosine"), want, rel=rel)
    close(G.rdm_compare(G.rdm(X, metric), G.rdm(Y, metric), "cosine"), want, rel=rel)
    # not Pearson in disguise: the RDMs' means are far from 0, so the centring changes the value
    assert abs(want - pearsonr(a, b).statistic) > 1e-3
    return want


@pytest.mark.parametrize("metric", ["euclidean", "correlation", "cosine"])
@pytest.mark.parametrize("seed", range(3))
def test_rsa_cosine_random(metric, seed):
    X, Y = _random(20 + seed, n=90, d1=11, d2=5)
    _check_cosine(X, Y, metric)


@pytest.mark.parametrize("metric", ["euclidean", "correlation", "cosine"])
def test_rsa_cosine_real_activations(real_layers, metric):
    for lo, hi in ((0, 6), (2, 3)):
        _check_cosine(real_layers[lo][:400], real_layers[hi][:400], metric)


@pytest.mark.parametrize("metric", ["euclidean", "correlation", "cosine"])
@pytest.mark.parametrize("n", [513, 700])
def test_rsa_cosine_streams_several_tiles(metric, n):
    # lamina_rsa reduces row blocks of 256: 3 blocks (513: the last holds one row and no pair)
    X, Y = _random(30, n=n, d1=20, d2=9)
    _check_cosine(X, Y, metric)


def test_rdm_compare_cosine_given_vectors():
    rng = np.random.default_rng(12)
    a, b = rng.standard_normal(5000), rng.standard_normal(5000) + 0.3
    want = ref_cosine(a, b)  # signed values: any sign, not only dissimilarities
    close(G.rdm_compare(a, b, "cosine"), want, rel=1e-12)
    close(G.rdm_compare(a, -a, "cosine"), -1.0, rel=1e-15)
    close(G.rdm_compare(a, 3 * a, "cosine"), 1.0, rel=1e-15)
    # units: values near the float64 limits are scaled exactly (no overflow / underflow of a.a)
    close(G.rdm_compare(a * 1e300, b * 1e-300, "cosine"), want, rel=1e-12)
    close(G.rdm_compare(a * 1e-310, b, "cosine"), want, rel=1e-6)  # subnormal inputs: their own rounding
    close(G.rdm_compare(a * 1e300, b * 1e-300, "pearson"), pearsonr(a, b).statistic, rel=1e-12)
    close(G.rdm_compare(np.abs(a), np.abs(b), "cosine"), ref_cosine(np.abs(a), np.abs(b)), rel=1e-12)


def test_rsa_cosine_matches_rsatoolbox(real_layers):
    rsatoolbox = pytest.importorskip("rsatoolbox")
    from rsatoolbox.rdm import RDMs, compare

    cases = [_random(40, n=120, d1=10, d2=6), (real_layers[1][:300], real_layers[5][:300])]
    for X, Y in cases:
        for metric in ("euclidean", "correlation", "cosine"):
            a = ref_pdist(X, metric)
            b = ref_pdist(Y, metric)
            want = float(compare(RDMs(a[None, :]), RDMs(b[None, :]), method="cosine")[0, 0])
            close(ref_cosine(a, b), want, rel=1e-13)  # the formula above is rsatoolbox's
            close(G.rsa(X, Y, metric, "cosine"), want, rel=1e-12)
            close(G.rdm_compare(a, b, "cosine"), want, rel=1e-12)
    assert rsatoolbox is not None


# -- kernel alignment: CKA(H, X) and CKA(H, one-hot(y)) per layer -------------------------------------

def ref_alignment(layers, X, y, debiased):
    classes = np.unique(y)
    onehot = (np.asarray(y)[:, None] == classes[None, :]).astype(np.float64)
    return np.array([[ref_linear_cka(H, X, debiased), ref_linear_cka(H, onehot, debiased)] for H in layers])


@pytest.mark.parametrize("debiased", [False, True])
@pytest.mark.parametrize("seed", range(3))
def test_kernel_alignment_random(seed, debiased):
    rng = np.random.default_rng(100 + seed)
    n = 70
    X = (rng.standard_normal((n, 9)) + 2.0).astype(np.float32)
    y = rng.choice(np.array([-3, 5, 11, 40]), size=n)
    onehot = (y[:, None] == np.unique(y)[None, :]).astype(np.float64)
    layers = [np.tanh(X @ rng.standard_normal((9, w)) + 0.3 * onehot @ rng.standard_normal((4, w))).astype(np.float32)
              for w in (5, 16, 3)]
    got = G.kernel_alignment(layers, X, y, debiased=debiased)
    want = ref_alignment(layers, X, y, debiased)
    assert got.shape == (3, 2)
    for g, w in zip(got.ravel(), want.ravel()):
        close(g, w, abs_=1e-10 if debiased else 0.0)
    # the same values as separate linear_cka calls
    for l, H in enumerate(layers):
        close(got[l, 0], G.linear_cka(H, X, debiased=debiased), abs_=1e-12)
        close(got[l, 1], G.linear_cka(H, onehot, debiased=debiased), abs_=1e-12)


def test_kernel_alignment_real_layers(real_layers):
    # POS-style labels: the dataset has none here, so use a deterministic labeling from the inputs
    X = real_layers[0]
    n = 300
    hs = [h[:n] for h in real_layers]
    y = (np.arange(n) * 7919) % 5
    got = G.kernel_alignment(hs, hs[0], y)
    want = ref_alignment(hs, hs[0], y, False)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=0)
    assert abs(got[0, 0] - 1.0) < 1e-12
    assert X.shape[0] >= n


@pytest.mark.parametrize("m", [2, 3, 47, 49, 4097, 65537, 250001])
def test_rank_comparisons_radix_paths(m):
    # rdm_compare's exact radix ranking: long vectors (several top buckets, parallel inversion chunks,
    # odd merge lengths), negative values, -0.0 next to +0.0 (one tie), coarse ties, a narrow value range
    rng = np.random.default_rng(m)
    a = rng.standard_normal(m)
    a[rng.random(m) < 0.2] = 0.0
    a[rng.random(m) < 0.1] = -0.0
    b = np.round(0.5 * a + rng.standard_normal(m), 1)          # many ties
    c = 1.0 + 1e-12 * rng.integers(0, 50, m)                   # narrow range, heavy ties
    for x, y in ((a, b), (b, c), (c, a)):
        if np.all(x == x[0]) or np.all(y == y[0]):
            continue
        close(G.rdm_compare(x, y, "spearman"), spearmanr(x, y).statistic, rel=1e-12, abs_=1e-14)
        want = ref_tau_a_brute(x, y) if m < 5000 else ref_tau_a(x, y)
        close(G.rdm_compare(x, y, "kendall_tau_a"), want, rel=1e-12, abs_=1e-14)
