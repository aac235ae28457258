"""Bad input to the SAE API (issue 4's list), each case in a fresh interpreter so that a crash fails
one test instead of killing pytest. Every case checks the Lamina exception class (or C status), the
builtin it also is, and the words of the message. Cases go through the Python API and, where the
Python layer checks first, through the C API directly (lamina._native.lib)."""
from __future__ import annotations

import textwrap

import pytest

from isolated import run_python

PRELUDE = textwrap.dedent("""
    import ctypes, os, signal, resource, sys
    import numpy as np
    import lamina
    from lamina import _native as N
    from lamina.sae import SparseAutoencoder, load, load_checkpoint

    def expect(fn, cls, builtin, *words):
        try:
            fn()
        except BaseException as exc:
            assert isinstance(exc, cls), f"{type(exc).__name__}: {exc}"
            assert builtin is None or isinstance(exc, builtin), type(exc).__mro__
            for w in words:
                assert w in str(exc), f"{w!r} not in {str(exc)!r}"
            return str(exc)
        raise AssertionError("no exception")

    def c_status(name, *args, want, word):
        status = getattr(N.lib, name)(*args)
        msg = N.last_error()
        assert status == want, (status, msg)
        assert word in msg, msg

    rng = np.random.default_rng(0)
    X = rng.standard_normal((400, 8)).astype(np.float32)
    TMP = sys.argv[1]
""")

CASES = {
    "k_zero": """
        expect(lambda: SparseAutoencoder(8, 16, k=0).initialize(), lamina.InvalidArgumentError, ValueError, "k is 0", "n_latents")
        p = N.lib.lamina_sae_default_params(); p.k = 0
        c_status("lamina_sae_check_params", ctypes.byref(p), want=1, word="params.k")
    """,
    "k_above_n_latents": """
        expect(lambda: SparseAutoencoder(8, 16, k=17).initialize(), lamina.InvalidArgumentError, ValueError, "k is 17", "1 <= k <= n_latents (16)")
    """,
    "n_latents_below_one": """
        expect(lambda: SparseAutoencoder(8, 0).initialize(), lamina.InvalidArgumentError, ValueError, "n_latents")
        p = N.lib.lamina_sae_default_params(); p.n_latents = -5
        h = ctypes.c_void_p()
        c_status("lamina_sae_create", ctypes.byref(p), ctypes.byref(h), want=1, word="n_latents is -5")
        p = N.lib.lamina_sae_default_params(); p.d_in = 0
        c_status("lamina_sae_create", ctypes.byref(p), ctypes.byref(h), want=1, word="d_in is 0")
    """,
    "lr_not_positive": """
        for lr in (0, -1e-3, float("nan"), float("inf")):
            expect(lambda: SparseAutoencoder(8, 16, k=2, lr=lr).initialize(), lamina.InvalidArgumentError, ValueError, "lr")
        p = N.lib.lamina_sae_default_params(); p.lr = -1.0
        c_status("lamina_sae_check_params", ctypes.byref(p), want=1, word="lr is -1.0")
        p = N.lib.lamina_sae_default_params(); p.lr = float("nan")
        c_status("lamina_sae_check_params", ctypes.byref(p), want=1, word="lr")
    """,
    "other_params": """
        for kw, word in ((dict(architecture="gated"), "architecture"), (dict(batch_size=0), "batch_size"),
                         (dict(adam_betas=(1.0, 0.9)), "beta1"), (dict(adam_eps=0), "eps"),
                         (dict(decay="step"), "decay"), (dict(b_dec_init="median"), "b_dec_init"),
                         (dict(grad_clip=-1), "grad_clip"), (dict(auxk_alpha=-1), "auxk_alpha"),
                         (dict(jumprelu_bandwidth=0, architecture="jumprelu"), "bandwidth")):
            expect(lambda: SparseAutoencoder(8, 16, k=2, **kw).initialize(), lamina.InvalidArgumentError, ValueError, word)
        p = N.lib.lamina_sae_default_params(); p.architecture = 9
        c_status("lamina_sae_check_params", ctypes.byref(p), want=1, word="params.architecture is 9")
        p = N.lib.lamina_sae_default_params(); p.normalize_input = 2
        c_status("lamina_sae_check_params", ctypes.byref(p), want=1, word="normalize_input")
        c_status("lamina_sae_check_params", None, want=1, word="params is NULL")
        expect(lambda: SparseAutoencoder(4096, 1 << 21, k=2).initialize(), lamina.LaminaMemoryError, MemoryError, "MiB", "n_latents = 2097152")
        expect(lambda: SparseAutoencoder(1 << 24, 1 << 10, k=2).initialize(), lamina.LaminaMemoryError, MemoryError, "too large")
    """,
    "d_mismatch": """
        sae = SparseAutoencoder(8, 16, k=2, batch_size=50)
        expect(lambda: sae.fit(X[:, :7]), lamina.ShapeMismatchError, ValueError, "7", "d_in = 8")
        sae.fit(X)
        expect(lambda: sae.encode(X[:, :5]), lamina.ShapeMismatchError, ValueError, "d_in = 8")
        expect(lambda: sae.evaluate(X[:, :5]), lamina.ShapeMismatchError, ValueError, "d_in = 8")
        expect(lambda: sae.decode(np.zeros((3, 15), np.float32)), lamina.ShapeMismatchError, ValueError, "n_latents = 16")
        x7 = np.ascontiguousarray(X[:, :7])
        c_status("lamina_sae_train", sae._handle, x7.ctypes.data_as(ctypes.c_void_p), 2, 400, 7, 1, N.ProgressFn(0), None,
                 want=2, word="d_in = 8")
        c_status("lamina_sae_encode", sae._handle, N.fptr(x7), 400, 7, N.fptr(np.zeros(400 * 16, np.float32)), 400 * 16,
                 want=2, word="d_in = 8")
        out = np.zeros(10, np.float32)
        c_status("lamina_sae_encode", sae._handle, N.fptr(X), 400, 8, N.fptr(out), 10, want=2, word="out_len")
        idx = np.array([[0, 99]], np.int32); val = np.ones((1, 2), np.float32); o = np.zeros(8, np.float32)
        c_status("lamina_sae_decode_sparse", sae._handle, N.iptr(idx), N.fptr(val), 1, 2, N.fptr(o), 8, want=1, word="99")
    """,
    "nan_in_batch_names_row_model_unchanged": """
        sae = SparseAutoencoder(8, 16, k=2, batch_size=50).fit(X)
        before = sae.W_enc_, sae.b_dec_, sae.n_steps_
        bad = X.copy(); bad[123, 4] = np.nan
        expect(lambda: sae.fit(bad, resume=True, epochs=2), lamina.NonFiniteError, ValueError, "row 123", "column 4")
        bad[123, 4] = np.inf
        expect(lambda: sae.fit(bad, resume=True, epochs=2), lamina.NonFiniteError, ValueError, "row 123")
        assert np.array_equal(sae.W_enc_, before[0]) and np.array_equal(sae.b_dec_, before[1]) and sae.n_steps_ == before[2]
        bad16 = bad.astype(np.float16)
        expect(lambda: sae.fit(bad16, resume=True, epochs=2), lamina.NonFiniteError, ValueError, "row 123")
        expect(lambda: sae.encode(bad), lamina.NonFiniteError, ValueError, "row 123")
        import h5py
        with h5py.File(os.path.join(TMP, "nan.h5"), "w") as f:
            f["x"] = bad
        expect(lambda: sae.fit(os.path.join(TMP, "nan.h5"), dataset="x", resume=True, epochs=2),
               lamina.NonFiniteError, ValueError, "row 123")
        assert np.array_equal(sae.W_enc_, before[0]) and sae.n_steps_ == before[2]
        fresh = SparseAutoencoder(8, 16, k=2, batch_size=50).initialize()
        w0 = fresh.W_enc_
        expect(lambda: fresh.fit(bad), lamina.NonFiniteError, ValueError, "row 123")
        assert np.array_equal(fresh.W_enc_, w0)
    """,
    "too_few_rows_and_bad_arrays": """
        sae = SparseAutoencoder(8, 16, k=2, batch_size=500)
        expect(lambda: sae.fit(X), lamina.InvalidArgumentError, ValueError, "400 rows", "batch_size = 500")
        expect(lambda: sae.fit(X[0]), lamina.InvalidArgumentError, ValueError, "2D")
        expect(lambda: sae.fit(X, epochs=0), lamina.InvalidArgumentError, ValueError, "epochs")
        assert not hasattr(sae, "_handle")      # every failure came before the model was allocated
        sae.initialize()
        c_status("lamina_sae_train", sae._handle, None, 2, 400, 8, 1, N.ProgressFn(0), None, want=1, word="x is NULL")
        c_status("lamina_sae_train", sae._handle, X.ctypes.data_as(ctypes.c_void_p), 7, 400, 8, 1, N.ProgressFn(0), None,
                 want=1, word="dtype is 7")
        c_status("lamina_sae_train", sae._handle, X.ctypes.data_as(ctypes.c_void_p), 2, 1 << 40, 1 << 40, 1, N.ProgressFn(0), None,
                 want=6, word="overflows")
        c_status("lamina_sae_train", ctypes.c_void_p(12345), X.ctypes.data_as(ctypes.c_void_p), 2, 400, 8, 1, N.ProgressFn(0), None,
                 want=1, word="not a live lamina_sae handle")
        N.lib.lamina_sae_free(ctypes.c_void_p(12345))
        N.lib.lamina_sae_free(None)
    """,
    "hdf5_missing_corrupt_truncated_wrong_rank_type": """
        import h5py
        sae = SparseAutoencoder(8, 16, k=2, batch_size=50)
        expect(lambda: sae.fit(os.path.join(TMP, "missing.h5"), dataset="x"), lamina.LaminaIOError, OSError, "missing.h5")
        with open(os.path.join(TMP, "junk.h5"), "wb") as f:
            f.write(b"not an hdf5 file" * 100)
        expect(lambda: sae.fit(os.path.join(TMP, "junk.h5"), dataset="x"), lamina.FormatError, OSError, "not an HDF5 file")
        good = os.path.join(TMP, "good.h5")
        with h5py.File(good, "w") as f:
            f["x"] = X
            f["cube"] = np.zeros((4, 4, 8), np.float32)
            f["labels"] = np.arange(3200).reshape(400, 8)
            f["v"] = np.zeros(400, np.float32)
        data = open(good, "rb").read()
        with open(os.path.join(TMP, "trunc.h5"), "wb") as f:
            f.write(data[: len(data) // 2])
        expect(lambda: sae.fit(os.path.join(TMP, "trunc.h5"), dataset="x"), lamina.FormatError, OSError)
        expect(lambda: sae.fit(good, dataset="cube"), lamina.FormatError, OSError, "rank 3")
        expect(lambda: sae.fit(good, dataset="v"), lamina.FormatError, OSError, "rank 1")
        expect(lambda: sae.fit(good, dataset="labels"), lamina.FormatError, OSError, "int64")
        expect(lambda: sae.fit(good, dataset="nope"), lamina.InvalidArgumentError, ValueError, "nope")
        expect(lambda: sae.fit(good), lamina.InvalidArgumentError, ValueError, "dataset=")
        assert sae.n_steps_ == 0
        sae.fit(good, dataset="x")
        assert sae.n_steps_ == 8
    """,
    "checkpoint_and_model_files_missing_corrupt_truncated": """
        sae = SparseAutoencoder(8, 16, k=2, batch_size=50).fit(X)
        ck = os.path.join(TMP, "ck")
        sae.save_checkpoint(ck)
        expect(lambda: load_checkpoint(os.path.join(TMP, "nope")), lamina.LaminaIOError, OSError, "nope")
        data = open(ck, "rb").read()
        with open(ck + ".trunc", "wb") as f:
            f.write(data[: len(data) - 100])
        expect(lambda: load_checkpoint(ck + ".trunc"), lamina.FormatError, OSError)
        with open(ck + ".junk", "wb") as f:
            f.write(b"\\xff" * 64)
        expect(lambda: load_checkpoint(ck + ".junk"), lamina.FormatError, OSError)
        corrupt = bytearray(data); corrupt[8:20] = b"{{{{{{{{{{{{"
        with open(ck + ".corrupt", "wb") as f:
            f.write(bytes(corrupt))
        expect(lambda: load_checkpoint(ck + ".corrupt"), lamina.FormatError, OSError)
        d = os.path.join(TMP, "model")
        sae.save(d)
        expect(lambda: load(os.path.join(TMP, "nodir")), lamina.LaminaIOError, OSError, "nodir")
        expect(lambda: load(ck), lamina.LaminaIOError, OSError, "not a directory")
        w = open(os.path.join(d, "sae_weights.safetensors"), "rb").read()
        with open(os.path.join(d, "sae_weights.safetensors"), "wb") as f:
            f.write(w[:-10])
        expect(lambda: load(d), lamina.FormatError, OSError)
        sae.save(d)
        with open(os.path.join(d, "cfg.json"), "w") as f:
            f.write("{not json")
        expect(lambda: load(d), lamina.FormatError, OSError, "cfg.json")
        sae.save(d)
        with open(os.path.join(d, "cfg.json"), "w") as f:
            f.write('{"architecture": "gated", "d_in": 8, "d_sae": 16}')
        expect(lambda: load(d), lamina.FormatError, OSError, "gated")
        with open(os.path.join(d, "cfg.json"), "w") as f:
            f.write('{"architecture": "topk", "d_in": 8, "d_sae": 17, "k": 2}')
        expect(lambda: load(d), lamina.FormatError, OSError, "17")  # disagrees with lamina.json
        os.remove(os.path.join(d, "lamina.json"))
        expect(lambda: load(d), lamina.FormatError, OSError, "shape")
        c_status("lamina_sae_load", None, ctypes.byref(ctypes.c_void_p()), want=1, word="directory is NULL")
    """,
    "cancelled_training_keeps_last_step": """
        sae = SparseAutoencoder(8, 16, k=2, batch_size=50)
        expect(lambda: sae.fit(X, callback=lambda info: True), lamina.CancelledError, None, "cancelled", "step 1")
        assert sae.n_steps_ == 1
        class Boom(Exception): pass
        def cb(info):
            raise Boom("from the callback")
        expect(lambda: sae.fit(X, callback=cb), Boom, None, "from the callback")
        assert sae.n_steps_ == 1
        sae.encode(X)
    """,
    "unwritable_save_keeps_old_file": """
        sae = SparseAutoencoder(8, 16, k=2, batch_size=50).fit(X)
        ck = os.path.join(TMP, "ck.safetensors")
        d = os.path.join(TMP, "m")
        sae.save_checkpoint(ck)
        sae.save(d)
        old_ck = open(ck, "rb").read()
        old_w = open(os.path.join(d, "sae_weights.safetensors"), "rb").read()
        big = SparseAutoencoder(8, 4096, k=2, batch_size=50).fit(X)
        # Writes beyond 64 KiB fail (EFBIG) from here on: the new files cannot be written.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (65536, 65536))
        expect(lambda: big.save_checkpoint(ck), lamina.LaminaIOError, OSError, "ck.safetensors")
        expect(lambda: big.save(d), lamina.LaminaIOError, OSError, "sae_weights.safetensors")
        assert open(ck, "rb").read() == old_ck
        assert open(os.path.join(d, "sae_weights.safetensors"), "rb").read() == old_w
        assert sorted(os.listdir(TMP)) == ["ck.safetensors", "m"], os.listdir(TMP)
        assert load_checkpoint(ck).n_steps_ == sae.n_steps_
        expect(lambda: sae.save("/proc/lamina/x"), lamina.LaminaIOError, OSError, "/proc/lamina/x")
        expect(lambda: sae.save(ck), lamina.LaminaIOError, OSError, "not a directory")
        expect(lambda: sae.save(d, format="onnx"), lamina.InvalidArgumentError, ValueError, "format")
    """,
    "weights_set_and_sparse_widths": """
        sae = SparseAutoencoder(8, 16, k=2, batch_size=50)
        expect(lambda: sae.set_weights(np.zeros((8, 15)), np.zeros(16), np.zeros((16, 8)), np.zeros(8)),
               lamina.ShapeMismatchError, ValueError, "W_enc")
        w = np.zeros((8, 16), np.float32); w[0, 0] = np.nan
        expect(lambda: sae.set_weights(w, np.zeros(16), np.zeros((16, 8)), np.zeros(8)), lamina.NonFiniteError, ValueError, "w_enc")
        expect(lambda: sae.encode(X, sparse=True, width=0), lamina.InvalidArgumentError, ValueError, "width")
    """,
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input(name, tmp_path):
    script = tmp_path / f"{name}.py"
    work = tmp_path / "work"
    work.mkdir()
    script.write_text(PRELUDE + textwrap.dedent(CASES[name]) + "\nprint('CASE-OK')\n")
    rc, out, err = run_python([script, work], timeout=120)
    assert rc == 0 and "CASE-OK" in out, f"rc={rc}\nstdout:\n{out}\nstderr:\n{err[-3000:]}"
