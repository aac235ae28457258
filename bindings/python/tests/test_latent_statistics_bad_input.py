"""Bad input to lamina_sae_latent_statistics[_h5] through Python and straight through the C API; every
case runs in a worker subprocess (isolated.py), so a crash fails one case instead of killing pytest."""
from __future__ import annotations

from isolated import case_registry, crash_tests, expect, expect_status, worker_main

CASES, case = case_registry()


def _setup():
    import ctypes

    import numpy as np

    import lamina
    from lamina import _native as N
    from lamina.sae import SparseAutoencoder
    rng = np.random.default_rng(0)
    X = rng.standard_normal((600, 8)).astype(np.float32)
    sae = SparseAutoencoder(n_latents=16, k=4, batch_size=128, random_state=0).fit(X)
    return ctypes, np, lamina, N, sae, X


def _outs(np, N, ctypes, m=16, t=3):
    o = {"n": ctypes.c_int64(0), "count": np.zeros(m, np.int64), "sum": np.zeros(m), "max": np.zeros(m, np.float32),
         "min": np.zeros(m, np.float32), "hist": np.zeros((m, 512), np.int64), "rows": np.full((m, t), -1, np.int64),
         "vals": np.zeros((m, t), np.float32)}
    args = [ctypes.byref(o["n"]), N.lptr(o["count"]), N.dptr(o["sum"]), N.fptr(o["max"]), N.fptr(o["min"]),
            N.lptr(o["hist"]), N.lptr(o["rows"]), N.fptr(o["vals"])]
    return o, args


def _call(N, ctypes, sae, X, args, *, dtype=2, n=None, d=None, offset=0, top_n=3, acc=0, x=True):
    ptr = X.ctypes.data_as(ctypes.c_void_p) if x else None
    return N.lib.lamina_sae_latent_statistics(sae._handle, ptr, dtype, X.shape[0] if n is None else n,
                                              X.shape[1] if d is None else d, offset, top_n, acc, *args,
                                              N.ProgressFn(), None)


@case
def c_arguments():
    ctypes, np, lamina, N, sae, X = _setup()
    o, args = _outs(np, N, ctypes)
    expect_status(1, _call(N, ctypes, sae, X, args, top_n=-1), "top_n")
    expect_status(1, _call(N, ctypes, sae, X, args, acc=2), "accumulate")
    expect_status(1, _call(N, ctypes, sae, X, args, offset=-5), "row_offset")
    expect_status(1, _call(N, ctypes, sae, X, args, offset=2**63 - 10), "row_offset")
    expect_status(1, _call(N, ctypes, sae, X, args, dtype=7), "dtype")
    expect_status(1, _call(N, ctypes, sae, X, args, x=False), "x is NULL")
    expect_status(1, _call(N, ctypes, sae, X, args, n=0), "n")
    expect_status(2, _call(N, ctypes, sae, X, args, d=4, n=1200), "d_in")
    for i, name in enumerate(["n_rows", "count", "sum", "max", "min_nonzero", "histogram", "top_rows", "top_values"]):
        bad = list(args)
        bad[i] = None
        expect_status(1, _call(N, ctypes, sae, X, bad), name)
    st = N.lib.lamina_sae_latent_statistics(None, X.ctypes.data_as(ctypes.c_void_p), 2, 600, 8, 0, 3, 0, *args,
                                            N.ProgressFn(), None)
    expect_status(1, st, "sae")
    assert o["n"].value == 0 and not o["count"].any()   # nothing written on failure


@case
def c_accumulate_checks_the_given_result():
    ctypes, np, lamina, N, sae, X = _setup()
    o, args = _outs(np, N, ctypes)
    expect_status(0, _call(N, ctypes, sae, X, args))
    keep = {k: np.array(v) for k, v in o.items() if k != "n"}
    for key, idx, val, word in [("count", 0, -1, "count[0]"), ("count", 1, 10**9, "count[1]"),
                                ("max", 2, np.nan, "latent 2"), ("rows", (3, 0), -7, "top_rows[3][0]"),
                                ("vals", (4, 0), -1.0, "top_values[4][0]")]:
        for k in keep:
            o[k][...] = keep[k]
        if o["count"][4] == 0 and key == "vals":
            continue
        o[key][idx] = val
        expect_status(1, _call(N, ctypes, sae, X, args, acc=1), word)
    for k in keep:
        o[k][...] = keep[k]
    r = o["rows"]
    j = int(np.argmax((r >= 0).sum(1)))
    if (r[j] >= 0).sum() >= 2:
        r[j, [0, 1]] = r[j, [1, 0]]
        o["vals"][j, [0, 1]] = o["vals"][j, [1, 0]]
        if o["vals"][j, 0] != o["vals"][j, 1]:
            expect_status(1, _call(N, ctypes, sae, X, args, acc=1), "not sorted")
    o["n"].value = -1
    expect_status(1, _call(N, ctypes, sae, X, args, acc=1), "n_rows")


@case
def non_finite_rows():
    ctypes, np, lamina, N, sae, X = _setup()
    Y = X.copy()
    Y[17, 3] = np.nan
    expect(lambda: sae.latent_statistics(Y), lamina.NonFiniteError, ValueError, "row 17", "column 3")
    Y16 = X.astype(np.float16)
    Y16[5, 1] = np.inf
    expect(lambda: sae.latent_statistics(Y16), lamina.NonFiniteError, ValueError, "row 5")


@case
def hdf5_inputs():
    import os
    import tempfile

    import h5py
    ctypes, np, lamina, N, sae, X = _setup()
    d = tempfile.mkdtemp()
    p = os.path.join(d, "a.h5")
    Y = X.copy()
    Y[4500 % 600, 2] = np.inf
    with h5py.File(p, "w") as f:
        f["good"] = X
        f["bad"] = np.tile(Y, (10, 1))
        f["wide"] = np.zeros((5, 9), np.float32)
        f["ints"] = np.zeros((5, 8), np.int32)
    expect(lambda: sae.latent_statistics(os.path.join(d, "missing.h5"), dataset="good"), lamina.LaminaIOError, OSError)
    expect(lambda: sae.latent_statistics(p, dataset="nope"), lamina.LaminaError, Exception, "nope")
    expect(lambda: sae.latent_statistics(p, dataset="wide"), lamina.ShapeMismatchError, ValueError, "d_in = 8")
    expect(lambda: sae.latent_statistics(p, dataset="ints"), lamina.FormatError, Exception, "int")
    expect(lambda: sae.latent_statistics(p, dataset="bad"), lamina.NonFiniteError, ValueError, "row 300")
    expect(lambda: sae.latent_statistics(p), lamina.InvalidArgumentError, ValueError, "dataset")
    with open(os.path.join(d, "trunc.h5"), "wb") as f:
        f.write(open(p, "rb").read()[:600])
    expect(lambda: sae.latent_statistics(os.path.join(d, "trunc.h5"), dataset="good"), lamina.LaminaError, Exception)
    assert sae.latent_statistics(p, dataset="good", top_n=2).n_rows == 600


@case
def python_arguments():
    ctypes, np, lamina, N, sae, X = _setup()
    expect(lambda: sae.latent_statistics(X, top_n=-1), lamina.InvalidArgumentError, ValueError, "top_n")
    expect(lambda: sae.latent_statistics(X, row_offset=-1), lamina.InvalidArgumentError, ValueError, "row_offset")
    expect(lambda: sae.latent_statistics(X[:, :5]), lamina.ShapeMismatchError, ValueError, "d_in")
    expect(lambda: sae.latent_statistics(X, accumulate="x"), lamina.InvalidArgumentError, ValueError, "accumulate")
    from lamina.sae import SparseAutoencoder
    expect(lambda: SparseAutoencoder(n_latents=4).latent_statistics(X), lamina.NotFittedError, Exception)


if __name__ == "__main__":
    worker_main(CASES)

test_latent_statistics_bad_input = crash_tests(__file__, CASES)
