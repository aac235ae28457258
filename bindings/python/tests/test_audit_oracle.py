"""lamina.audit (AQI) against its formulas: scikit-learn's indices (Davies-Bouldin, silhouette,
Calinski-Harabasz), numpy's classic Dunn and hard Xie-Beni, scikit-learn's PCA, numpy's percentiles for
variant (c), a hand-checked 4-point set, and the learned layer weights against the first-order (KKT)
conditions of their problem. Lamina reads float32; references run in float64 on the same values.
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import cdist
from sklearn.decomposition import PCA
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score

from lamina import audit as A

REL = 1e-6


def ref_dunn(X, y):
    X = np.asarray(X, np.float64)
    groups = [X[y == g] for g in np.unique(y)]
    sep = min(cdist(a, b).min() for i, a in enumerate(groups) for b in groups[i + 1:])
    diam = max(cdist(a, a).max() for a in groups)
    return np.inf if diam == 0 else sep / diam


def ref_xb(X, y):
    X = np.asarray(X, np.float64)
    cs = np.array([X[y == g].mean(axis=0) for g in np.unique(y)])
    within = sum(((X[y == g] - cs[i]) ** 2).sum() for i, g in enumerate(np.unique(y)))
    d2 = ((cs[:, None, :] - cs[None, :, :]) ** 2).sum(-1)
    sep = d2[np.triu_indices(len(cs), 1)].min()
    return within / (len(X) * sep)


def ref_row(X, y, variant, gamma=0.5, pca=None):
    X = np.asarray(X, np.float64)
    if pca:
        X = PCA(n_components=pca, svd_solver="full").fit_transform(X)
    r = dict.fromkeys(A.COLUMNS, np.nan)
    if variant == "dbs_dunn":
        r["dbs"], r["dunn"] = davies_bouldin_score(X, y), ref_dunn(X, y)
        di = 1.0 if np.isinf(r["dunn"]) else r["dunn"] / (1 + r["dunn"])
        r["aqi"] = gamma / (1 + r["dbs"]) + (1 - gamma) * di
    elif variant == "silhouette_xb":
        r["silhouette"], r["xie_beni"] = silhouette_score(X, y), ref_xb(X, y)
        r["aqi"] = gamma * (r["silhouette"] + 1) / 2 + (1 - gamma) / (1 + r["xie_beni"])
    else:
        r["chi"], r["xie_beni"] = calinski_harabasz_score(X, y), ref_xb(X, y)
    return r


def ref_normalise(rows, gamma):
    chi = np.array([r["chi"] for r in rows])
    xb = np.array([r["xie_beni"] for r in rows])
    fin = xb[np.isfinite(xb)]
    med = np.median(fin)
    q75, q25 = np.percentile(fin, [75, 25])
    scale = (q75 - q25) if q75 > q25 else 1.0
    for r in rows:
        r["chi_norm"] = (r["chi"] - chi.min()) / (chi.max() - chi.min()) if chi.max() > chi.min() else 0.5
        r["xb_norm"] = 0.0 if np.isinf(r["xie_beni"]) else 1 - 1 / (1 + np.exp(-(r["xie_beni"] - med) / scale))
        r["aqi"] = gamma * r["chi_norm"] + (1 - gamma) * r["xb_norm"]
    return rows


def check_row(got, want, rel=REL):
    got = dict(zip(A.COLUMNS, np.asarray(got).tolist())) if not isinstance(got, dict) else got
    for key in A.COLUMNS:
        g, w = got[key], want[key]
        if np.isnan(w):
            assert np.isnan(g), f"{key}: lamina {g}, reference NaN"
        else:
            # The header's accuracy for a silhouette near 0 is 1e-7 absolute (float32-stored distances
            # leave ~1e-9 on a mean of values of +-0.3: below 1e-6 relative of a score of 1e-3 only by luck).
            floor = 1e-7 if key == "silhouette" else 1e-12
            assert abs(g - w) <= rel * max(abs(w), 1e-12) + floor, f"{key}: lamina {g!r} vs reference {w!r}"


def data(seed, n=90, d=6, k=2, shift=1.2):
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.arange(n) % k)
    X = rng.standard_normal((n, d)) + shift * np.eye(k, d)[y] * 2
    return X.astype(np.float32), y * 3 - 7  # arbitrary label values


# -- a hand-checked set -------------------------------------------------------------------------------

def test_hand_checked_square():
    # group A at (0,0), (0,2); group B at (4,0), (4,2): centroids (0,1), (4,1)
    X = np.array([[0, 0], [0, 2], [4, 0], [4, 2]], np.float32)
    y = np.array([0, 0, 1, 1])
    a = A.aqi_row(X, y, "dbs_dunn", gamma=0.5)
    assert a["dbs"] == pytest.approx(0.5, rel=1e-12)          # (1 + 1) / 4
    assert a["dunn"] == pytest.approx(2.0, rel=1e-12)         # 4 / 2
    assert a["aqi"] == pytest.approx(2 / 3, rel=1e-12)        # 0.5/1.5 + 0.5 * 2/3
    b = A.aqi_row(X, y, "silhouette_xb", gamma=0.5)
    s = 1 - 2 / ((4 + np.sqrt(20)) / 2)                       # (b - a) / b with a = 2
    assert b["silhouette"] == pytest.approx(s, rel=1e-7)  # section 5's silhouette: float32 tile distances
    assert b["xie_beni"] == pytest.approx(4 / (4 * 16), rel=1e-12)
    assert b["aqi"] == pytest.approx(0.5 * (s + 1) / 2 + 0.5 / (1 + 1 / 16), rel=1e-7)
    # CHI = (B / 1) / (W / 2) = 16 / 2 = 8
    table = A.aqi_groups(X, y, [0, 0, 0, 0], variant="chi_xb")["table"]
    assert table[0, 4] == pytest.approx(8.0, rel=1e-12) and table[1, 4] == pytest.approx(8.0, rel=1e-12)
    # two equal rows: CHI_norm 0.5, XB at the median: XB_norm 0.5, AQI 0.5
    np.testing.assert_allclose(table[:, 5:], 0.5, rtol=0, atol=1e-15)


# -- random data against the formulas -----------------------------------------------------------------

@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("variant", ["dbs_dunn", "silhouette_xb"])
@pytest.mark.parametrize("pca", [None, 3])
def test_single_representation(seed, variant, pca):
    X, y = data(seed, k=2 + seed)
    gamma = [0.5, 0.3, 0.9][seed]
    check_row(A.aqi_row(X, y, variant, gamma=gamma, pca=pca), ref_row(X, y, variant, gamma, pca))


@pytest.mark.parametrize("variant", ["dbs_dunn", "silhouette_xb", "chi_xb"])
def test_groups(variant):
    X, y = data(5, n=150, k=2)
    rng = np.random.default_rng(1)
    groups = np.array(["harm", "privacy", "fraud"])[rng.permutation(np.arange(150) % 3)]
    res = A.aqi_groups(X, y, groups, variant=variant, gamma=0.4)
    assert list(res["groups"]) == ["fraud", "harm", "privacy"]
    rows = [ref_row(X[groups == g], y[groups == g], variant, 0.4) for g in res["groups"]]
    rows.append(ref_row(X, y, variant, 0.4))
    if variant == "chi_xb":
        rows = ref_normalise(rows, 0.4)
    for got, want in zip(res["table"], rows):
        check_row(got, want)


def test_groups_pca():
    X, y = data(6, n=120, d=8)
    groups = np.arange(120) % 2
    res = A.aqi_groups(X, y, groups, variant="chi_xb", pca=4)
    rows = [ref_row(X[groups == g], y[groups == g], "chi_xb", 0.5, 4) for g in (0, 1)] + \
        [ref_row(X, y, "chi_xb", 0.5, 4)]
    for got, want in zip(res["table"], ref_normalise(rows, 0.5)):
        check_row(got, want)


def _layers(seed=3, n=120, d=7, L=4):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    signal = np.eye(2, d)[y] * 2.0
    layers = [(rng.standard_normal((n, d)) * (1 + l) + signal * (l % 3)).astype(np.float32) for l in range(L)]
    return layers, y


def _pooled(layers, w):
    return sum(wl * h.astype(np.float64) for wl, h in zip(w, layers)).astype(np.float32)


@pytest.mark.parametrize("variant", ["dbs_dunn", "silhouette_xb", "chi_xb"])
def test_layers_uniform_range(variant):
    layers, y = _layers()
    res = A.aqi_layers(layers, y, variant=variant, gamma=0.6, pooling="uniform", layer_range=(1, 2))
    np.testing.assert_array_equal(res["weights"], [0, 0.5, 0.5, 0])
    rows = [ref_row(h, y, variant, 0.6) for h in layers] + [ref_row(_pooled(layers, [0, 0.5, 0.5, 0]), y, variant, 0.6)]
    if variant == "chi_xb":
        rows = ref_normalise(rows, 0.6)
    for got, want in zip(res["table"], rows):
        check_row(got, want)
    assert res["pooled"] == res["table"][-1, 7]


def test_layers_given_and_none():
    layers, y = _layers()
    res = A.aqi_layers(layers, y, variant="silhouette_xb", weights=[1, 0, 3, 0])
    np.testing.assert_allclose(res["weights"], [0.25, 0, 0.75, 0], rtol=0, atol=0)
    check_row(res["table"][-1], ref_row(_pooled(layers, [0.25, 0, 0.75, 0]), y, "silhouette_xb"))
    none = A.aqi_layers(layers, y, variant="chi_xb", pooling="none")
    assert np.isnan(none["table"][-1]).all() and np.isnan(none["weights"]).all()
    rows = ref_normalise([ref_row(h, y, "chi_xb") for h in layers], 0.5)
    for got, want in zip(none["table"][:-1], rows):
        check_row(got, want)


def _scatter(layers, y):
    L = len(layers)
    B, W = np.zeros((L, L)), np.zeros((L, L))
    res, dev = [], []
    for h in layers:
        h = h.astype(np.float64)
        cs = {g: h[y == g].mean(0) for g in np.unique(y)}
        res.append(h - np.array([cs[g] for g in y]))
        dev.append({g: cs[g] - h.mean(0) for g in cs})
    for i in range(L):
        for j in range(L):
            W[i, j] = np.sum(res[i] * res[j])
            B[i, j] = sum(np.sum(y == g) * dev[i][g] @ dev[j][g] for g in dev[i])
    return B, W


def test_layers_learned_weights_kkt():
    layers, y = _layers(seed=9, L=5)
    res = A.aqi_layers(layers, y, variant="chi_xb", pooling="learned")
    w = res["weights"]
    assert np.all(w >= 0) and abs(w.sum() - 1) < 1e-12
    B, W = _scatter(layers, y)
    J = lambda v: (v @ B @ v) / (v @ W @ v)  # noqa: E731
    for l in range(5):
        e = np.eye(5)[l]
        assert J(w) >= J(e) * (1 - 1e-9)
    assert J(w) >= J(np.full(5, 0.2)) * (1 - 1e-9)
    g = 2 * (B @ w - J(w) * (W @ w)) / (w @ W @ w)
    top = g[w > 0].max()
    # KKT on the simplex: equal gradients on the support, no larger gradient off it
    assert np.all(np.abs(g[w > 0] - top) <= 1e-5 * np.abs(g).max())
    assert np.all(g[w == 0] <= top + 1e-5 * np.abs(g).max())
    # the pooled CHI is J(w) (n - k) / (k - 1), and the row matches the formulas on P(w)
    n, k = len(y), 2
    assert res["table"][-1, 4] == pytest.approx(J(w) * (n - k) / (k - 1), rel=1e-5)
    assert (w == 0).any()  # sparse on this data (the noisiest layers drop out)
