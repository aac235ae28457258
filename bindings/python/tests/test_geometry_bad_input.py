"""Bad input for lamina.geometry (CKA, RSA) through Python and straight through the C API; every case
runs in a worker subprocess (isolated.py), so a crash fails one case instead of killing pytest."""
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
def cka_mismatched_n():
    _, _, lamina, _ = _lazy()
    G = lamina.geometry
    expect(lambda: G.linear_cka(_data(20), _data(19)), lamina.ShapeMismatchError, ValueError, "20", "19")
    expect(lambda: G.cka_matrix([_data(20), _data(19)]), lamina.ShapeMismatchError, ValueError, "layers[1]", "19")
    expect(lambda: G.rsa(_data(20), _data(21)), lamina.ShapeMismatchError, ValueError, "21")


@case
def cka_debiased_needs_four_rows():
    _, _, lamina, _ = _lazy()
    expect(lambda: lamina.geometry.linear_cka(_data(3), _data(3), debiased=True), lamina.InvalidArgumentError,
           ValueError, "n is 3", "n >= 4")
    assert lamina.geometry.linear_cka(_data(3), _data(3, seed=1)) >= 0  # the biased form is defined


@case
def cka_constant_representation():
    _, np, lamina, _ = _lazy()
    G = lamina.geometry
    const = np.full((20, 4), 2.5, np.float32)
    expect(lambda: G.linear_cka(_data(), const), lamina.InvalidArgumentError, ValueError, "constant")
    expect(lambda: G.linear_cka(const, _data(), debiased=True), lamina.InvalidArgumentError, ValueError, "constant")
    expect(lambda: G.cka_matrix([_data(), _data(seed=1), const]), lamina.InvalidArgumentError, ValueError,
           "layer 2 of the first list", "constant")
    expect(lambda: G.rbf_cka(_data(), const), lamina.InvalidArgumentError, ValueError, "constant")
    # a single constant feature is fine
    x = _data()
    x[:, 1] = 3.0
    assert 0 <= G.linear_cka(x, _data(seed=2)) <= 1


@case
def cka_non_finite():
    _, np, lamina, _ = _lazy()
    x = _data()
    x[5, 2] = np.nan
    expect(lambda: lamina.geometry.linear_cka(_data(), x), lamina.NonFiniteError, ValueError, "y", "row 5", "column 2")
    x[5, 2] = np.inf
    expect(lambda: lamina.geometry.cka_matrix([_data(), x]), lamina.NonFiniteError, ValueError, "layers[1]", "row 5")
    expect(lambda: lamina.geometry.rsa(x, _data()), lamina.NonFiniteError, ValueError, "row 5")


@case
def cka_bad_options():
    _, np, lamina, _ = _lazy()
    G = lamina.geometry
    expect(lambda: G.linear_cka(_data(), _data(), debiased=2), lamina.InvalidArgumentError, ValueError, "debiased")
    expect(lambda: G.rbf_cka(_data(), _data(), sigma_factor=0), lamina.InvalidArgumentError, ValueError, "sigma_factor")
    expect(lambda: G.rbf_cka(_data(), _data(), sigma_factor=float("nan")), lamina.InvalidArgumentError, ValueError,
           "sigma_factor")
    expect(lambda: G.rbf_cka(_data(), _data(), sigma_x=-1.0), lamina.InvalidArgumentError, ValueError, "sigma_x")
    expect(lambda: G.cka_matrix([]), lamina.InvalidArgumentError, ValueError, "empty")
    expect(lambda: G.cka_matrix([_data()], []), lamina.InvalidArgumentError, ValueError, "layers2", "empty")
    expect(lambda: G.cka_matrix(_data()), lamina.InvalidArgumentError, ValueError, "list")
    expect(lambda: G.linear_cka(np.zeros(5), _data()), lamina.InvalidArgumentError, ValueError, "2D")


@case
def cka_matrix_hdf5_lists():
    from pathlib import Path
    _, np, lamina, _ = _lazy()
    G = lamina.geometry
    h5 = str(Path(__file__).resolve().parents[3] / "examples" / "data" / "minilm_wordnet.h5")
    expect(lambda: G.cka_matrix((h5, [])), lamina.InvalidArgumentError, ValueError, "layers", "empty")
    expect(lambda: G.cka_matrix((h5, ["/target/layer_0"]), (h5, [])), lamina.InvalidArgumentError, ValueError,
           "layers2", "empty")
    expect(lambda: G.cka_matrix((h5, "/target/layer_0")), lamina.InvalidArgumentError, ValueError, "list of str")
    expect(lambda: G.cka_matrix((h5, ["/target/no_such_layer"])), lamina.LaminaError, Exception, "no_such_layer")
    # a layer with other rows than the rest (the sentence-level file has as many rows: cut one)
    first = G.cka_matrix((h5, ["/target/layer_0", "/target/layer_1"]))
    assert first.shape == (2, 2) and first[0, 0] == 1.0
    short = lamina.io.read_activations(h5, "/target/layer_1")[:-1]
    expect(lambda: G.cka_matrix((h5, ["/target/layer_0"]), [short]), lamina.ShapeMismatchError, ValueError,
           "layers2[0]", "rows")
    # two models with different numbers of layers are fine (an L x L2 matrix), not an error
    assert G.cka_matrix((h5, ["/target/layer_0", "/target/layer_1"]), (h5, ["/target/layer_2"])).shape == (2, 1)


@case
def cka_matrix_h5_c_api():
    """lamina_cka_matrix_h5 (the library reads the files): argument errors before any file is opened, then
    the datasets' rank, type and rows."""
    import ctypes
    from pathlib import Path
    _, np, lamina, N = _lazy()
    G = lamina.geometry
    data = Path(__file__).resolve().parents[3] / "examples" / "data"
    h5, code = str(data / "minilm_wordnet.h5"), str(data / "minilm_python.h5")

    def names(*ds):
        return (ctypes.c_char_p * len(ds))(*[d.encode() for d in ds])

    out = np.empty(4)
    two = names("/target/layer_0", "/target/layer_1")
    f = N.lib.lamina_cka_matrix_h5
    expect_status(1, f(None, two, 2, None, None, 0, 0, N.dptr(out), 4), "path")
    expect_status(1, f(b"/nonexistent.h5", None, 2, None, None, 0, 0, N.dptr(out), 4), "datasets")
    expect_status(1, f(b"/nonexistent.h5", two, 0, None, None, 0, 0, N.dptr(out), 4), "n_layers is 0")
    expect_status(1, f(b"/nonexistent.h5", two, 2, None, None, -1, 0, N.dptr(out), 4), "n_layers2 is -1")
    expect_status(1, f(b"/nonexistent.h5", two, 2, b"x.h5", None, 0, 0, N.dptr(out), 4), "path2 or datasets2", "NULL")
    expect_status(1, f(b"/nonexistent.h5", two, 2, None, None, 1, 0, N.dptr(out), 4), "datasets2")
    expect_status(1, f(b"/nonexistent.h5", two, 2, None, None, 0, 2, N.dptr(out), 4), "debiased")
    expect_status(2, f(b"/nonexistent.h5", two, 2, None, None, 0, 0, N.dptr(out), 3), "out_len", "4")
    expect_status(1, f(b"/nonexistent.h5", two, 2, None, None, 0, 0, None, 4), "out")
    assert f(b"/nonexistent.h5", two, 2, None, None, 0, 0, N.dptr(out), 4) not in (0, 1, 2)  # the file, last
    expect(lambda: G.cka_matrix((h5, ["/labels/pos"])), lamina.LaminaError, Exception, "/labels/pos", "rank")
    # an integer dataset is read as float32 (as lamina_h5_read_f32 and lamina.io do), whichever way it is given
    ints = [lamina.io.read_activations(h5, d) for d in ("/target/layer_0", "/text/char_span")]
    np.testing.assert_array_equal(G.cka_matrix((h5, ["/target/layer_0", "/text/char_span"])), G.cka_matrix(ints))
    # every dataset name is checked before a file is opened (a NULL second name on a missing file)
    expect_status(1, f(b"/nonexistent.h5", (ctypes.c_char_p * 2)(b"/target/layer_0", None), 2, None, None, 0, 0,
                       N.dptr(out), 4), "datasets[1]")
    # rows: a second file (4,199 rows) against the first list's 2,400, in either list
    expect(lambda: G.cka_matrix((h5, ["/target/layer_0"]), (code, ["/code/layer_0"])), lamina.ShapeMismatchError,
           ValueError, "/code/layer_0", "4199", "2400")
    expect(lambda: G.cka_matrix((code, ["/code/layer_0", "/code/layer_1"]), (h5, ["/target/layer_0"])),
           lamina.ShapeMismatchError, ValueError, "/target/layer_0", "2400", "4199")
    expect(lambda: G.cka_matrix((h5, ["/target/layer_0", "/code/layer_1"])), lamina.LaminaError, Exception,
           "/code/layer_1")


@case
def rbf_zero_median():
    _, np, lamina, _ = _lazy()
    x = np.zeros((20, 3), np.float32)
    x[0, 0] = 1.0  # 19 of 20 rows coincide: the median distance is 0
    expect(lambda: lamina.geometry.rbf_cka(x, _data()), lamina.InvalidArgumentError, ValueError, "bandwidth of x")


@case
def rbf_bandwidth_out_of_float64_range():
    # 2 sigma^2 underflowing gave NaN kernel diagonals and an error about "the identity"; overflowing it,
    # an error that spoke of a bandwidth "so small": each now names the bandwidth and the float64 range
    _, np, lamina, _ = _lazy()
    G = lamina.geometry
    x, y = _data(), _data(seed=1)
    expect(lambda: G.rbf_cka(x, y, sigma_x=1e-200), lamina.InvalidArgumentError, ValueError, "bandwidth of x",
           "1e-200", "underflows")
    expect(lambda: G.rbf_cka(x, y, sigma_y=1e200), lamina.InvalidArgumentError, ValueError, "bandwidth of y",
           "overflows")
    expect(lambda: G.rbf_cka(x, y, sigma_factor=1e300), lamina.InvalidArgumentError, ValueError, "bandwidth of x",
           "overflows")
    # a tiny but representable bandwidth is a kernel equal to the identity: a valid value, not an error
    assert abs(G.rbf_cka(x, y, sigma_x=1e-100, sigma_y=1e-100) - 1.0) < 1e-12


@case
def rsa_bad_options_and_rows():
    _, np, lamina, _ = _lazy()
    G = lamina.geometry
    expect(lambda: G.rsa(_data(), _data(), metric="manhattan"), lamina.InvalidArgumentError, ValueError, "metric")
    expect(lambda: G.rsa(_data(), _data(), method="kendall"), lamina.InvalidArgumentError, ValueError, "method",
           "kendall_tau_a")
    expect(lambda: G.rsa(_data(2), _data(2)), lamina.InvalidArgumentError, ValueError, "n is 2")
    x = _data()
    x[4] = 1.0
    expect(lambda: G.rsa(x, _data(), metric="correlation"), lamina.InvalidArgumentError, ValueError, "row 4", "constant")
    x[4] = 0.0
    expect(lambda: G.rdm(x, "cosine"), lamina.InvalidArgumentError, ValueError, "row 4", "zeros")
    # identical rows everywhere: a constant RDM has no correlation
    same = np.ones((10, 3), np.float32)
    expect(lambda: G.rsa(same, _data(10), metric="euclidean"), lamina.InvalidArgumentError, ValueError, "first", "constant")
    expect(lambda: G.rdm_compare([1.0, 2.0, np.nan], [1.0, 2.0, 3.0]), lamina.NonFiniteError, ValueError, "rdm1")
    expect(lambda: G.rdm_compare([1.0, 2.0], [1.0, 2.0, 3.0]), lamina.ShapeMismatchError, ValueError, "rdm2")


@case
def rsa_cosine_bad_input():
    _, np, lamina, _ = _lazy()
    G = lamina.geometry
    # an unknown method is refused with the four choices named
    err = expect(lambda: G.rsa(_data(), _data(), method="cos"), lamina.InvalidArgumentError, ValueError, "method",
                 "cos")
    for name in ("spearman", "pearson", "kendall_tau_a", "cosine"):
        assert repr(name) in str(err), str(err)
    expect(lambda: G.rdm_compare([1.0, 2.0], [2.0, 1.0], method="Cosine"), lamina.InvalidArgumentError, ValueError,
           "method", "'cosine'")
    # all rows identical: every Euclidean dissimilarity is exactly 0, the cosine similarity is 0/0
    same = np.tile(np.array([[1.5, -2.0, 0.25]], np.float32), (10, 1))
    expect(lambda: G.rsa(same, _data(10, 3), "euclidean", "cosine"), lamina.InvalidArgumentError, ValueError,
           "first RDM is all zeros", "cosine")
    expect(lambda: G.rsa(_data(10, 3), same, "euclidean", "cosine"), lamina.InvalidArgumentError, ValueError,
           "second RDM is all zeros")
    expect(lambda: G.rdm_compare(np.zeros(6), np.arange(6.0), "cosine"), lamina.InvalidArgumentError, ValueError,
           "first RDM is all zeros")
    expect(lambda: G.rdm_compare(np.arange(6.0), -0.0 * np.arange(6.0), "cosine"), lamina.InvalidArgumentError,
           ValueError, "second RDM is all zeros")
    # a constant (non-zero) RDM is fine for cosine (it is Pearson that needs spread)
    assert abs(G.rdm_compare(np.ones(6), np.ones(6), "cosine") - 1.0) < 1e-15
    # NaN / Inf: in a given RDM (named with its index) and in the data (named by row)
    expect(lambda: G.rdm_compare([1.0, np.nan, 3.0], [1.0, 2.0, 3.0], "cosine"), lamina.NonFiniteError, ValueError,
           "rdm1", "nan", "at 1")
    expect(lambda: G.rdm_compare([1.0, 2.0, 3.0], [1.0, 2.0, np.inf], "cosine"), lamina.NonFiniteError, ValueError,
           "rdm2", "at 2")
    x = _data()
    x[6, 2] = np.nan
    for metric in ("euclidean", "correlation", "cosine"):
        expect(lambda: G.rsa(x, _data(), metric, "cosine"), lamina.NonFiniteError, ValueError, "row 6")
        expect(lambda: G.rsa(_data(), x, metric, "cosine"), lamina.NonFiniteError, ValueError, "row 6")
    # a zero row under the cosine metric is the metric's own error, as for the other comparisons
    z = _data()
    z[3] = 0.0
    expect(lambda: G.rsa(z, _data(), "cosine", "cosine"), lamina.InvalidArgumentError, ValueError, "row 3", "zeros")


@case
def c_api_geometry():
    ctypes, np, lamina, N = _lazy()
    lib = N.lib
    x = _data()
    out = ctypes.c_double()
    expect_status(1, lib.lamina_linear_cka(None, 20, 4, N.fptr(x), 4, 0, ctypes.byref(out)), "x is NULL")
    expect_status(1, lib.lamina_linear_cka(N.fptr(x), 20, 4, None, 4, 0, ctypes.byref(out)), "y is NULL")
    expect_status(1, lib.lamina_linear_cka(N.fptr(x), 0, 4, N.fptr(x), 4, 0, ctypes.byref(out)), "n is 0")
    expect_status(1, lib.lamina_linear_cka(N.fptr(x), 20, -1, N.fptr(x), 4, 0, ctypes.byref(out)), "d1 is -1")
    expect_status(1, lib.lamina_linear_cka(N.fptr(x), 20, 4, N.fptr(x), 4, 7, ctypes.byref(out)), "debiased is 7")
    expect_status(1, lib.lamina_linear_cka(N.fptr(x), 20, 4, N.fptr(x), 4, 0, None), "out is NULL")
    expect_status(6, lib.lamina_linear_cka(N.fptr(x), 1 << 40, 1 << 30, N.fptr(x), 4, 0, ctypes.byref(out)), "overflows")
    expect_status(1, lib.lamina_rbf_cka(N.fptr(x), 20, 4, N.fptr(x), 4, -1.0, 0.0, 0.0, ctypes.byref(out)),
                  "sigma_factor")
    expect_status(1, lib.lamina_rbf_cka(N.fptr(x), 20, 4, N.fptr(x), 4, 1.0, float("inf"), 0.0, ctypes.byref(out)),
                  "sigma_x")
    expect_status(1, lib.lamina_median_distance(N.fptr(x), 1, 4, ctypes.byref(out)), "n is 1")
    # cka matrix: NULL lists, bad counts, out_len, stray second list
    ptrs = (N.f32p * 2)(N.fptr(x), N.fptr(x))
    dims = np.array([4, 4], np.int64)
    res = np.zeros(4)
    expect_status(1, lib.lamina_cka_matrix(None, N.lptr(dims), 2, None, None, 0, 20, 0, N.dptr(res), 4), "layers is NULL")
    expect_status(1, lib.lamina_cka_matrix(ptrs, None, 2, None, None, 0, 20, 0, N.dptr(res), 4), "dims is NULL")
    expect_status(1, lib.lamina_cka_matrix(ptrs, N.lptr(dims), 0, None, None, 0, 20, 0, N.dptr(res), 4), "n_layers is 0")
    expect_status(1, lib.lamina_cka_matrix(ptrs, N.lptr(dims), 2, None, None, -1, 20, 0, N.dptr(res), 4), "n_layers2")
    expect_status(1, lib.lamina_cka_matrix(ptrs, N.lptr(dims), 2, ptrs, None, 0, 20, 0, N.dptr(res), 4), "layers2")
    expect_status(1, lib.lamina_cka_matrix(ptrs, N.lptr(dims), 2, None, None, 1, 20, 0, N.dptr(res), 2), "layers2 is NULL")
    expect_status(2, lib.lamina_cka_matrix(ptrs, N.lptr(dims), 2, None, None, 0, 20, 0, N.dptr(res), 3), "out_len is 3")
    bad = (N.f32p * 2)(N.fptr(x), N.f32p())
    expect_status(1, lib.lamina_cka_matrix(bad, N.lptr(dims), 2, None, None, 0, 20, 0, N.dptr(res), 4), "layers[1] is NULL")
    dims[1] = 0
    expect_status(1, lib.lamina_cka_matrix(ptrs, N.lptr(dims), 2, None, None, 0, 20, 0, N.dptr(res), 4), "dims[1] is 0")
    # rdm / rsa
    r = np.zeros(190)
    expect_status(1, lib.lamina_rdm(N.fptr(x), 20, 4, 9, N.dptr(r), 190), "metric is 9")
    expect_status(2, lib.lamina_rdm(N.fptr(x), 20, 4, 0, N.dptr(r), 189), "out_len is 189")
    expect_status(1, lib.lamina_rdm(N.fptr(x), 20, 4, 0, None, 190), "out is NULL")
    expect_status(1, lib.lamina_rsa(N.fptr(x), 20, 4, N.fptr(x), 4, 0, -1, ctypes.byref(out)), "method is -1")
    expect_status(1, lib.lamina_rsa(N.fptr(x), 20, 4, N.fptr(x), 4, 0, 4, ctypes.byref(out)), "method is 4",
                  "3 (cosine)")
    expect_status(1, lib.lamina_rdm_compare(N.dptr(r), N.dptr(r), 190, 4, ctypes.byref(out)), "method is 4",
                  "3 (cosine)")
    expect_status(1, lib.lamina_rsa(N.fptr(x), 20, 4, N.fptr(x), 4, 0, 3, None), "out is NULL")
    expect_status(1, lib.lamina_rdm_compare(N.dptr(r), N.dptr(r), 190, 3, ctypes.byref(out)), "first RDM is all zeros")
    expect_status(1, lib.lamina_rsa(N.fptr(x), 20, 4, N.fptr(x), 4, 3, 0, ctypes.byref(out)), "metric is 3")
    expect_status(1, lib.lamina_rdm_compare(None, N.dptr(r), 190, 0, ctypes.byref(out)), "rdm1 is NULL")
    expect_status(1, lib.lamina_rdm_compare(N.dptr(r), N.dptr(r), 1, 0, ctypes.byref(out)), "m is 1")
    # the over-cap path refuses before allocating (a 20,000-row Spearman RSA ranks 2e8 pairs)
    big = np.zeros((20000, 1), np.float32)
    big[:, 0] = np.arange(20000)
    expect_status(6, lib.lamina_rsa(N.fptr(big), 20000, 1, N.fptr(big), 1, 0, 0, ctypes.byref(out)), "cap")


@case
def kernel_alignment_bad_input():
    ctypes, np, lamina, N = _lazy()
    G = lamina.geometry
    x = _data()
    y = np.arange(20) % 3
    expect(lambda: G.kernel_alignment([_data(seed=1)], x, np.zeros(20, int)), lamina.InvalidArgumentError, ValueError,
           "labels", "2 classes")
    expect(lambda: G.kernel_alignment([_data(19)], x, y), lamina.ShapeMismatchError, ValueError, "layers[0]", "19")
    expect(lambda: G.kernel_alignment([_data()], x, y[:19]), lamina.ShapeMismatchError, ValueError, "y", "19")
    expect(lambda: G.kernel_alignment([], x, y), lamina.InvalidArgumentError, ValueError, "empty")
    const = np.full((20, 4), 1.0, np.float32)
    expect(lambda: G.kernel_alignment([_data(), const], x, y), lamina.InvalidArgumentError, ValueError,
           "layers[1]", "constant")
    expect(lambda: G.kernel_alignment([_data()], const, y), lamina.InvalidArgumentError, ValueError, "x (the inputs)",
           "constant")
    expect(lambda: G.kernel_alignment([_data(3)], _data(3), [0, 1, 0], debiased=True), lamina.InvalidArgumentError,
           ValueError, "n >= 4")
    bad = _data()
    bad[3, 1] = np.nan
    expect(lambda: G.kernel_alignment([_data()], bad, y), lamina.NonFiniteError, ValueError, "x", "row 3")
    expect(lambda: G.kernel_alignment([bad], x, y), lamina.NonFiniteError, ValueError, "layers[0]", "row 3")
    # straight through the C API
    lib = N.lib
    ptrs = (N.f32p * 1)(N.fptr(x))
    dims = np.array([4], np.int64)
    lab = y.astype(np.int32)
    out = np.zeros(2)
    expect_status(1, lib.lamina_cka_alignment(ptrs, N.lptr(dims), 1, 20, N.fptr(x), 4, None, 0, N.dptr(out), 2),
                  "labels is NULL")
    expect_status(1, lib.lamina_cka_alignment(ptrs, N.lptr(dims), 1, 20, None, 4, N.iptr(lab), 0, N.dptr(out), 2),
                  "x is NULL")
    expect_status(1, lib.lamina_cka_alignment(ptrs, N.lptr(dims), 1, 20, N.fptr(x), 0, N.iptr(lab), 0, N.dptr(out), 2),
                  "d_x is 0")
    expect_status(2, lib.lamina_cka_alignment(ptrs, N.lptr(dims), 1, 20, N.fptr(x), 4, N.iptr(lab), 0, N.dptr(out), 3),
                  "out_len is 3")
    expect_status(1, lib.lamina_cka_alignment(ptrs, N.lptr(dims), 1, 20, N.fptr(x), 4, N.iptr(lab), 2, N.dptr(out), 2),
                  "debiased is 2")
    expect_status(1, lib.lamina_cka_alignment(ptrs, N.lptr(dims), 1, 20, N.fptr(x), 4, N.iptr(lab), 0, None, 2),
                  "out is NULL")


@case
def information_plane_bad_input():
    ctypes, np, lamina, N = _lazy()
    G = lamina.geometry
    ts = [_data(seed=s) for s in range(3)]
    y = np.arange(20) % 2
    expect(lambda: G.information_plane(ts, y, bins=1), lamina.InvalidArgumentError, ValueError, "bins is 1", "2")
    expect(lambda: G.information_plane(ts, y, bins=70000), lamina.InvalidArgumentError, ValueError, "bins")
    expect(lambda: G.binned_mutual_information(ts[0], y, bins=0), lamina.InvalidArgumentError, ValueError, "bins")
    expect(lambda: G.information_plane(ts[:1], y), lamina.InvalidArgumentError, ValueError, "at least 2")
    expect(lambda: G.information_plane([ts[0], _data(19)], y), lamina.ShapeMismatchError, ValueError, "checkpoints[1]")
    expect(lambda: G.information_plane([ts[0], _data(d=5)], y), lamina.ShapeMismatchError, ValueError, "checkpoints[1]")
    expect(lambda: G.information_plane(ts, y[:19]), lamina.ShapeMismatchError, ValueError, "y", "19")
    expect(lambda: G.information_plane(ts, y, inputs=y[:3]), lamina.ShapeMismatchError, ValueError, "inputs")
    expect(lambda: G.information_plane(ts, y, bin_range=(1, 1)), lamina.InvalidArgumentError, ValueError, "lo < hi")
    expect(lambda: G.information_plane(ts, y, bin_range=(0, float("inf"))), lamina.InvalidArgumentError, ValueError,
           "lo < hi")
    expect(lambda: G.information_plane(ts, y, bin_range="global"), lamina.InvalidArgumentError, ValueError, "bin_range")
    bad = _data()
    bad[2, 3] = np.nan
    expect(lambda: G.information_plane([ts[0], bad], y), lamina.NonFiniteError, ValueError, "checkpoints[1]", "row 2")
    expect(lambda: G.binned_mutual_information(bad, y), lamina.NonFiniteError, ValueError, "row 2", "column 3")
    lib = N.lib
    ptrs = (N.f32p * 2)(N.fptr(ts[0]), N.fptr(ts[1]))
    lab = y.astype(np.int32)
    out = np.zeros(4)
    expect_status(1, lib.lamina_information_plane(ptrs, 1, 20, 4, N.iptr(lab), None, 4, 0, 0.0, 0.0, N.dptr(out), 2),
                  "n_checkpoints is 1")
    expect_status(1, lib.lamina_information_plane(ptrs, 2, 20, 4, None, None, 4, 0, 0.0, 0.0, N.dptr(out), 4),
                  "labels is NULL")
    expect_status(1, lib.lamina_information_plane(ptrs, 2, 20, 4, N.iptr(lab), None, 4, 5, 0.0, 0.0, N.dptr(out), 4),
                  "range is 5")
    expect_status(2, lib.lamina_information_plane(ptrs, 2, 20, 4, N.iptr(lab), None, 4, 0, 0.0, 0.0, N.dptr(out), 3),
                  "out_len is 3")
    expect_status(1, lib.lamina_information_plane(None, 2, 20, 4, N.iptr(lab), None, 4, 0, 0.0, 0.0, N.dptr(out), 4),
                  "checkpoints is NULL")
    expect_status(1, lib.lamina_binned_mutual_information(N.fptr(ts[0]), 20, 4, N.iptr(lab), None, 4, 2, 2.0, 1.0,
                                                          N.dptr(out)), "lo < hi")
    expect_status(1, lib.lamina_binned_mutual_information(N.fptr(ts[0]), 20, 4, N.iptr(lab), None, 4, 0, 0.0, 0.0,
                                                          None), "out is NULL")


@case
def sizes_over_the_cap_refused_before_reading():
    # the declared n / m is checked against the pair cap before the buffers are read or copied (here they
    # hold 10 values: reading 2^33 rows would fault, copying 2^40 doubles aborted the process)
    ctypes, np, lamina, N = _lazy()
    lib = N.lib
    a = np.arange(10.0)
    x = _data(10, 1)
    out = ctypes.c_double()
    r = np.zeros(45)
    for method in (0, 2):  # spearman, kendall_tau_a
        expect_status(6, lib.lamina_rdm_compare(N.dptr(a), N.dptr(a), 1 << 40, method, ctypes.byref(out)), "m is",
                      "ranking methods")
        expect_status(6, lib.lamina_rsa(N.fptr(x), 1 << 33, 1, N.fptr(x), 1, 0, method, ctypes.byref(out)), "cap",
                      "pearson or cosine")
    expect_status(6, lib.lamina_rdm(N.fptr(x), 1 << 33, 1, 0, N.dptr(r), 45), "the RDM of n = 8589934592", "cap")
    expect_status(6, lib.lamina_rdm(N.fptr(x), 1 << 62, 1, 0, N.dptr(r), 45), "cap")
    # from Python: the library's cap error, not numpy's failure to allocate the 149 GiB RDM first
    big = np.zeros((200000, 1), np.float32)
    expect(lambda: lamina.geometry.rdm(big), lamina.LaminaMemoryError, MemoryError, "the RDM of n = 200000", "cap")
    # within the cap, the given RDMs are compared as before
    assert abs(lamina.geometry.rdm_compare(a, a[::-1].copy(), "spearman") + 1.0) < 1e-12


@case
def int32_options_and_labels():
    # Python ints beyond int32 were truncated by ctypes (bins 2**32 + 8 ran as 8), y=None raised an
    # AttributeError, NaN/Inf float labels were ranked as one more class
    _, np, lamina, _ = _lazy()
    G = lamina.geometry
    ts = [_data(seed=s) for s in range(2)]
    y = np.arange(20) % 2
    expect(lambda: G.information_plane(ts, y, bins=2**32 + 8), lamina.InvalidArgumentError, ValueError, "bins",
           "32-bit")
    expect(lambda: G.binned_mutual_information(ts[0], y, bins=np.int64(2**33 + 3)), lamina.InvalidArgumentError,
           ValueError, "bins", "32-bit")
    expect(lambda: G.information_plane(ts, y, bins=8.0), lamina.InvalidArgumentError, ValueError, "bins", "integer")
    expect(lambda: G.information_plane(ts, None), lamina.InvalidArgumentError, ValueError, "y is None")
    expect(lambda: G.binned_mutual_information(ts[0], None), lamina.InvalidArgumentError, ValueError, "y is None")
    yf = y.astype(float)
    yf[19] = np.nan
    expect(lambda: G.kernel_alignment(ts, ts[0], yf), lamina.NonFiniteError, ValueError, "y", "nan", "at 19")
    expect(lambda: G.information_plane(ts, yf), lamina.NonFiniteError, ValueError, "y", "at 19")
    yf[19] = np.inf
    expect(lambda: G.binned_mutual_information(ts[0], yf), lamina.NonFiniteError, ValueError, "y", "inf")
    ids = np.arange(20, dtype=float)
    ids[4] = np.nan
    expect(lambda: G.information_plane(ts, y, inputs=ids), lamina.NonFiniteError, ValueError, "inputs", "at 4")
    # finite float labels are still labels
    assert G.binned_mutual_information(ts[0], y.astype(float))[1] >= 0


@case
def linear_cka_names_its_arguments():
    _, np, lamina, _ = _lazy()
    const = np.full((20, 4), 0.1, np.float32)
    expect(lambda: lamina.geometry.linear_cka(const, _data()), lamina.InvalidArgumentError, ValueError,
           "x is constant")
    expect(lambda: lamina.geometry.linear_cka(_data(), const, debiased=True), lamina.InvalidArgumentError, ValueError,
           "y is constant")


if __name__ == "__main__":
    worker_main(CASES)
    sys.exit(0)

test_geometry_bad_input = crash_tests(__file__, CASES)
