"""Bad input for lamina.audit (AQI) through Python and straight through the C API; every case runs in a
worker subprocess (isolated.py), so a crash fails one case instead of killing pytest."""
from __future__ import annotations

import sys

from isolated import case_registry, crash_tests, expect, expect_status, worker_main

CASES, case = case_registry()


def _lazy():
    import ctypes

    import numpy as np

    import lamina
    from lamina import _native as N
    return ctypes, np, lamina, N


def _data(n=20, d=4, seed=0):
    _, np, _, _ = _lazy()
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)).astype(np.float32)


@case
def aqi_groups_rules():
    _, np, lamina, _ = _lazy()
    A = lamina.audit
    x = _data()
    expect(lambda: A.aqi(x, np.zeros(20, int)), lamina.InvalidArgumentError, ValueError, "1 group", "at least 2 groups")
    one = np.zeros(20, int)
    one[7] = 1
    expect(lambda: A.aqi(x, one), lamina.InvalidArgumentError, ValueError, "label 1", "1 member")
    expect(lambda: A.aqi_layers([x, x], one, pooling="learned"), lamina.InvalidArgumentError, ValueError, "1 member")
    y = np.arange(20) % 2
    sub = np.zeros(20, int)
    sub[:4] = 1
    sub_y = y.copy()
    sub_y[:4] = 0  # group 1 of `groups` holds a single label
    expect(lambda: A.aqi_groups(x, sub_y, sub), lamina.InvalidArgumentError, ValueError, "group 1", "at least 2 groups")
    expect(lambda: A.aqi(x, y[:19]), lamina.ShapeMismatchError, ValueError, "19")
    expect(lambda: A.aqi_groups(x, y, sub[:5]), lamina.ShapeMismatchError, ValueError, "groups")


@case
def aqi_non_finite():
    _, np, lamina, _ = _lazy()
    A = lamina.audit
    x = _data()
    y = np.arange(20) % 2
    x[3, 2] = np.nan
    expect(lambda: A.aqi(x, y), lamina.NonFiniteError, ValueError, "row 3", "column 2")
    x[3, 2] = np.inf
    expect(lambda: A.aqi_layers([_data(), x], y), lamina.NonFiniteError, ValueError, "layers[1]", "row 3")
    expect(lambda: A.aqi_groups(x, y, y), lamina.NonFiniteError, ValueError, "row 3")
    expect(lambda: A.aqi_layers([_data(), _data(seed=1)], y, weights=[1.0, np.nan]), lamina.InvalidArgumentError,
           ValueError, "weights[1]")


@case
def aqi_bad_options():
    _, np, lamina, _ = _lazy()
    A = lamina.audit
    x = _data()
    y = np.arange(20) % 2
    expect(lambda: A.aqi(x, y, variant="dunn"), lamina.InvalidArgumentError, ValueError, "variant")
    expect(lambda: A.aqi(x, y, variant="chi_xb"), lamina.InvalidArgumentError, ValueError, "chi_xb", "lamina_aqi_groups")
    expect(lambda: A.aqi(x, y, gamma=1.5), lamina.InvalidArgumentError, ValueError, "gamma")
    expect(lambda: A.aqi(x, y, gamma=float("nan")), lamina.InvalidArgumentError, ValueError, "gamma")
    expect(lambda: A.aqi(x, y, pca=0), lamina.InvalidArgumentError, ValueError, "pca")
    expect(lambda: A.aqi(x, y, pca=5), lamina.InvalidArgumentError, ValueError, "pca_components is 5", "min(n, d) = 4")
    layers = [x, _data(seed=1), _data(seed=2)]
    expect(lambda: A.aqi_layers(layers, y, layer_range=(2, 1)), lamina.InvalidArgumentError, ValueError, "layer range")
    expect(lambda: A.aqi_layers(layers, y, layer_range=(0, 3)), lamina.InvalidArgumentError, ValueError, "layer range")
    expect(lambda: A.aqi_layers(layers, y, pooling="max"), lamina.InvalidArgumentError, ValueError, "pooling")
    expect(lambda: A.aqi_layers(layers, y, weights=[1, 2]), lamina.ShapeMismatchError, ValueError, "weights")
    expect(lambda: A.aqi_layers(layers, y, weights=[0, 0, 0]), lamina.InvalidArgumentError, ValueError, "sum")
    expect(lambda: A.aqi_layers(layers, y, weights=[1, -1, 0]), lamina.InvalidArgumentError, ValueError, "weights[1]")
    expect(lambda: A.aqi_layers(layers, y, pooling="given"), lamina.InvalidArgumentError, ValueError, "weights")
    wide = [x, _data(d=6)]
    expect(lambda: A.aqi_layers(wide, y, pooling="learned"), lamina.ShapeMismatchError, ValueError, "equal widths")
    expect(lambda: A.aqi_layers(wide, y), lamina.ShapeMismatchError, ValueError, "equal widths")
    assert A.aqi_layers(wide, y, weights=[1, 0])["pooled"] >= 0  # only the weighted layer is pooled
    assert not np.isnan(A.aqi_layers(wide, y, pooling="none")["table"][:2]).all()
    expect(lambda: A.aqi_layers([x, _data(19)], y), lamina.ShapeMismatchError, ValueError, "layers[1]")


@case
def aqi_int32_options_and_labels():
    # Python ints beyond int32 were truncated by ctypes (pca 2**32 + 2 ran as 2, layer_range (0, 2**32 + 1)
    # as (0, 1)), float layer indices were truncated, NaN float labels / groups were ranked as a group
    _, np, lamina, _ = _lazy()
    A = lamina.audit
    x = _data()
    y = np.arange(20) % 2
    layers = [x, _data(seed=1), _data(seed=2)]
    expect(lambda: A.aqi(x, y, pca=2**32 + 2), lamina.InvalidArgumentError, ValueError, "pca", "32-bit")
    expect(lambda: A.aqi_groups(x, y, y, pca=np.int64(2**33 + 2)), lamina.InvalidArgumentError, ValueError, "pca",
           "32-bit")
    expect(lambda: A.aqi_layers(layers, y, layer_range=(0, 2**32 + 1)), lamina.InvalidArgumentError, ValueError,
           "layer_range[1]", "32-bit")
    expect(lambda: A.aqi_layers(layers, y, layer_range=(-2**32, 1)), lamina.InvalidArgumentError, ValueError,
           "layer_range[0]", "32-bit")
    expect(lambda: A.aqi_layers(layers, y, layer_range=(0.7, 1.9)), lamina.InvalidArgumentError, ValueError,
           "layer_range[0]", "integer")
    assert list(A.aqi_layers(layers, y, layer_range=(np.int64(1), 2))["weights"]) == [0.0, 0.5, 0.5]
    yf = y.astype(float)
    yf[3] = np.nan
    expect(lambda: A.aqi(x, yf), lamina.NonFiniteError, ValueError, "labels", "nan", "at 3")
    expect(lambda: A.aqi_layers(layers, yf), lamina.NonFiniteError, ValueError, "labels", "at 3")
    g = (np.arange(20) // 10).astype(float)
    g[18] = np.inf
    expect(lambda: A.aqi_groups(x, y, g), lamina.NonFiniteError, ValueError, "groups", "inf", "at 18")


@case
def aqi_chi_xb_needs_two_rows():
    # variant (c) normalises over a set of rows: one layer without pooling is a set of one (it returned 0.5)
    ctypes, np, lamina, N = _lazy()
    A = lamina.audit
    x = _data()
    y = np.arange(20) % 2
    expect(lambda: A.aqi_layers([x], y, variant="chi_xb", pooling="none"), lamina.InvalidArgumentError, ValueError,
           "chi_xb", "1 layer", ">= 2 rows")
    lab = y.astype(np.int32)
    ptrs = (N.f32p * 1)(N.fptr(x))
    dims = np.array([4], np.int64)
    t = np.zeros(16)
    expect_status(1, N.lib.lamina_aqi_layers(ptrs, N.lptr(dims), 1, 20, N.iptr(lab), 2, 0.5, 0, 0, 0, 0, None,
                                             N.dptr(t), 16, None), "chi_xb", ">= 2 rows")
    # two layers without pooling, or one layer with its pooled row, are sets of two
    assert A.aqi_layers([x, _data(seed=1)], y, variant="chi_xb", pooling="none")["table"].shape == (3, 8)
    assert A.aqi_layers([x], y, variant="chi_xb")["table"].shape == (2, 8)


@case
def aqi_degenerate():
    _, np, lamina, _ = _lazy()
    A = lamina.audit
    same = np.ones((6, 3), np.float32)
    y = np.array([0, 0, 0, 1, 1, 1])
    expect(lambda: A.aqi(same, y), lamina.InvalidArgumentError, ValueError, "0/0")
    expect(lambda: A.aqi(same, y, variant="silhouette_xb"), lamina.InvalidArgumentError, ValueError, "0/0")
    # every group one repeated point, apart: DI = inf, a valid (perfect) separation
    two = np.array([[0, 0, 0]] * 3 + [[1, 0, 0]] * 3, np.float32)
    row = A.aqi_row(two, y, gamma=0.0)
    assert row["dunn"] == float("inf") and row["aqi"] == 1.0


@case
def c_api_aqi():
    ctypes, np, lamina, N = _lazy()
    lib = N.lib
    x = _data()
    y = (np.arange(20) % 2).astype(np.int32)
    out = np.zeros(8)
    expect_status(1, lib.lamina_aqi_score(None, 20, 4, N.iptr(y), 0, 0.5, 0, N.dptr(out), 8), "x is NULL")
    expect_status(1, lib.lamina_aqi_score(N.fptr(x), 20, 4, None, 0, 0.5, 0, N.dptr(out), 8), "labels is NULL")
    expect_status(1, lib.lamina_aqi_score(N.fptr(x), 20, 4, N.iptr(y), 7, 0.5, 0, N.dptr(out), 8), "variant is 7")
    expect_status(1, lib.lamina_aqi_score(N.fptr(x), 20, 4, N.iptr(y), 0, 0.5, -2, N.dptr(out), 8), "pca_components")
    expect_status(2, lib.lamina_aqi_score(N.fptr(x), 20, 4, N.iptr(y), 0, 0.5, 0, N.dptr(out), 7), "out_len is 7")
    expect_status(1, lib.lamina_aqi_score(N.fptr(x), 20, 4, N.iptr(y), 0, 0.5, 0, None, 8), "out is NULL")
    table = np.zeros(3 * 8)
    expect_status(1, lib.lamina_aqi_groups(N.fptr(x), 20, 4, N.iptr(y), None, 2, 0.5, 0, N.dptr(table), 24),
                  "groups is NULL")
    expect_status(2, lib.lamina_aqi_groups(N.fptr(x), 20, 4, N.iptr(y), N.iptr(y), 2, 0.5, 0, N.dptr(table), 16),
                  "out_len is 16")
    ptrs = (N.f32p * 2)(N.fptr(x), N.fptr(x))
    dims = np.array([4, 4], np.int64)
    t = np.zeros(24)
    w = np.zeros(2)
    args = lambda pooling, first=0, last=1, weights=None, tl=24: (  # noqa: E731
        ptrs, N.lptr(dims), 2, 20, N.iptr(y), 0, 0.5, 0, pooling, first, last, weights, N.dptr(t), tl, N.dptr(w))
    expect_status(1, lib.lamina_aqi_layers(*args(9)), "pooling is 9")
    expect_status(1, lib.lamina_aqi_layers(*args(2)), "weights is NULL")
    expect_status(1, lib.lamina_aqi_layers(*args(1, 1, 0)), "layer range")
    expect_status(2, lib.lamina_aqi_layers(*args(1, tl=16)), "table_len is 16")
    expect_status(1, lib.lamina_aqi_layers(None, N.lptr(dims), 2, 20, N.iptr(y), 0, 0.5, 0, 1, 0, 1, None,
                                           N.dptr(t), 24, None), "layers is NULL")
    expect_status(1, lib.lamina_aqi_layers(ptrs, N.lptr(dims), 0, 20, N.iptr(y), 0, 0.5, 0, 1, 0, 1, None,
                                           N.dptr(t), 24, None), "n_layers is 0")
    assert lib.lamina_aqi_layers(ptrs, N.lptr(dims), 2, 20, N.iptr(y), 0, 0.5, 0, 1, 0, 1, None, N.dptr(t), 24,
                                 None) == 0  # weights_out may be NULL


if __name__ == "__main__":
    worker_main(CASES)
    sys.exit(0)

test_audit_bad_input = crash_tests(__file__, CASES)
