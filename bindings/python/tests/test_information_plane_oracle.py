"""lamina.geometry's information-plane estimators against a direct numpy computation: the same
equal-width binning, states from np.unique(binned rows, axis=0), plug-in entropies in bits."""
from __future__ import annotations

import numpy as np
import pytest

from lamina import geometry as G


def ref_bin(T, bins, lo, hi):
    T = np.asarray(T, np.float64)
    if hi == lo:
        return np.zeros(T.shape, np.int64)
    return np.clip(np.floor(bins * (T - lo) / (hi - lo)), 0, bins - 1).astype(np.int64)


def H(ids):
    _, counts = np.unique(ids, axis=0, return_counts=True)
    p = counts / counts.sum()
    return float(-(p * np.log2(p)).sum())


def ref_mi(T, y, bins, lo, hi, inputs=None):
    B = ref_bin(T, bins, lo, hi)
    _, t = np.unique(B, axis=0, return_inverse=True)
    t = t.reshape(-1)
    x = np.arange(len(y)) if inputs is None else np.asarray(inputs)
    ixt = H(x) + H(t) - H(np.stack([x, t], 1))
    ity = H(t) + H(y) - H(np.stack([t, y], 1))
    return ixt, ity


def trajectory(seed=0, n=400, d=6, C=4, relu=False):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 5))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int) * 4 - 1
    out = []
    for c in range(C):
        W = rng.standard_normal((5, d)) * (0.3 + c)
        a = X @ W
        out.append((np.maximum(a, 0) if relu else np.tanh(a)).astype(np.float32))
    return out, y


@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("bins", [2, 7, 30])
def test_layer_rule(relu, bins):
    ts, y = trajectory(relu=relu)
    got = G.information_plane(ts, y, bins=bins, bin_range="layer")
    lo = min(float(t.min()) for t in ts)
    hi = max(float(t.max()) for t in ts)
    for c, t in enumerate(ts):
        np.testing.assert_allclose(got[c], ref_mi(t, y, bins, lo, hi), rtol=1e-12, atol=1e-12)


def test_checkpoint_and_fixed_rules_and_inputs():
    ts, y = trajectory(seed=2, relu=True)
    got = G.information_plane(ts, y, bins=12, bin_range="checkpoint")
    for c, t in enumerate(ts):
        np.testing.assert_allclose(got[c], ref_mi(t, y, 12, float(t.min()), float(t.max())), rtol=1e-12, atol=1e-12)
    fixed = G.information_plane(ts, y, bins=12, bin_range=(-1, 1))  # the authors' range: ReLU values clip
    for c, t in enumerate(ts):
        np.testing.assert_allclose(fixed[c], ref_mi(t, y, 12, -1.0, 1.0), rtol=1e-12, atol=1e-12)
    inputs = np.arange(len(y)) // 3  # repeated inputs
    got = G.information_plane(ts, y, bins=5, inputs=inputs)
    lo = min(float(t.min()) for t in ts)
    hi = max(float(t.max()) for t in ts)
    for c, t in enumerate(ts):
        np.testing.assert_allclose(got[c], ref_mi(t, y, 5, lo, hi, inputs), rtol=1e-12, atol=1e-12)
    one = G.binned_mutual_information(ts[1], y, bins=9, bin_range="checkpoint")
    np.testing.assert_allclose(one, ref_mi(ts[1], y, 9, float(ts[1].min()), float(ts[1].max())), rtol=1e-12)


def test_bounds_and_hand_checked():
    # distinct inputs, 4 rows: T bins to 2 states {a, a, b, b}; Y = [0, 0, 1, 1] -> I(X;T) = I(T;Y) = 1 bit
    T = np.array([[0.0], [0.1], [0.9], [1.0]], np.float32)
    ixt, ity = G.binned_mutual_information(T, [0, 0, 1, 1], bins=2)
    assert ixt == pytest.approx(1.0, abs=1e-15) and ity == pytest.approx(1.0, abs=1e-15)
    # a constant layer has one state: no information
    assert G.binned_mutual_information(np.ones((6, 3), np.float32), [0, 1] * 3, bins=4) == (0.0, 0.0)
    ts, y = trajectory(seed=5)
    got = G.information_plane(ts, y, bins=30)
    assert np.all(got[:, 1] <= H(y) + 1e-12) and np.all(got[:, 1] <= got[:, 0] + 1e-12)  # data processing
    assert np.all(got[:, 0] <= np.log2(len(y)) + 1e-12)
