"""The activation store (lamina.h, "Activation store"): bit-exact round trips read by h5py and by
Lamina, reopen-to-append, crash safety under SIGKILL at random points, and bad input (each case in a
worker subprocess: isolated.py)."""
from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np

from isolated import crash_tests, expect, case_registry, worker_main

HERE = os.path.dirname(os.path.abspath(__file__))
TMP = tempfile.mkdtemp(prefix="lamina-store-")
CASES, case = case_registry()


def _bf16_bits(x):
    return (np.asarray(x, np.float32).view(np.uint32) >> 16).astype(np.uint16)


def test_round_trip_every_dtype_h5py_and_lamina():
    from lamina.io import ActivationStore, read_store, store_info
    rng = np.random.default_rng(0)
    for dtype in ("float32", "float16", "bfloat16"):
        path = tempfile.mkdtemp(dir=TMP) + "/s"
        batches = []
        with ActivationStore(path, compression=4 if dtype == "float16" else 0, chunk_rows=7) as s:
            for i in range(4):
                n = int(rng.integers(1, 50))
                a = rng.standard_normal((n, 33)).astype(np.float32)
                b = rng.standard_normal((n, 5)).astype(np.float32)
                if dtype == "float16":
                    a, b = a.astype(np.float16), b.astype(np.float16)
                elif dtype == "bfloat16":
                    a, b = _bf16_bits(a), _bf16_bits(b)
                s.append({"l3": a, "l6": b}, dtype=dtype)
                batches.append((a, b))
            assert s.rows == sum(len(a) for a, _ in batches)
        manifest = json.load(open(path + "/MANIFEST.json"))
        assert [seg["rows"] for seg in manifest["segments"]] == [len(a) for a, _ in batches]
        for seg, (a, b) in zip(manifest["segments"], batches):
            with h5py.File(os.path.join(path, seg["file"]), "r") as f:
                got_a, got_b = f["l3"][...], f["l6"][...]
                assert f["l3"].chunks == (min(7, len(a)), 33)   # the edge chunk is written padded, read back exact
            if dtype == "bfloat16":   # h5py has no bfloat16: compare the raw bits
                got_a, got_b = got_a.astype(np.float32).view(np.uint32) >> 16, got_b.astype(np.float32).view(np.uint32) >> 16
                assert np.array_equal(got_a.astype(np.uint16), a) and np.array_equal(got_b.astype(np.uint16), b)
            else:
                assert got_a.dtype == a.dtype and np.array_equal(got_a.view(np.uint8), a.view(np.uint8))
                assert np.array_equal(got_b.view(np.uint8), b.view(np.uint8))
        whole = np.concatenate([a for a, _ in batches])
        if dtype == "bfloat16":
            whole = (whole.astype(np.uint32) << 16).view(np.float32)
        assert store_info(path, "l3") == (len(whole), 33, dtype)
        assert np.array_equal(read_store(path, "l3"), whole.astype(np.float32))
        assert np.array_equal(read_store(path, "l3", start=3, stop=60), whole[3:60].astype(np.float32))


def test_automatic_chunks_tile_the_batch():
    """chunk_rows=0: about 1 MiB chunks that tile the batch, so no padded edge chunk is stored (8,192 rows
    of 768 float16 in 1 MiB chunks of 682 rows would store 674 rows of padding: 8% more bytes)."""
    from lamina.io import ActivationStore, read_store
    rng = np.random.default_rng(4)
    path = tempfile.mkdtemp(dir=TMP) + "/auto"
    batches = [rng.standard_normal((n, 768)).astype(np.float16) for n in (8192, 8191, 5, 700)]
    with ActivationStore(path) as s:
        for b in batches:
            s.append({"h": b})
    want = {8192: 512, 8191: 631, 5: 5, 700: 350}   # 8192 = 16 x 512; 8191 is prime: 13 chunks of 631
    for i, b in enumerate(batches):
        seg = f"{path}/seg-{i + 1:08d}.h5"
        with h5py.File(seg, "r") as f:
            assert f["h"].chunks == (want[len(b)], 768)
            assert np.array_equal(f["h"][...].view(np.uint16), b.view(np.uint16))
        c = want[len(b)]
        padded = -(-len(b) // c) * c
        assert padded - len(b) < -(-len(b) // c)              # under one row of padding per chunk
        assert os.path.getsize(seg) < padded * 768 * 2 + 64 * 1024
    assert np.array_equal(read_store(path, "h"), np.concatenate(batches).astype(np.float32))


def test_reopen_appends_and_removes_leftovers():
    from lamina.io import ActivationStore, read_store
    path = TMP + "/reopen"
    x = np.arange(40, dtype=np.float32).reshape(10, 4)
    with ActivationStore(path) as s:
        s.append({"a": x[:6]})
    # leftovers of an interrupted append: an unlisted segment and a temporary manifest
    open(path + "/seg-00000002.h5.tmp", "wb").write(b"partial")
    open(path + "/seg-00000009.h5", "wb").write(b"garbage")
    open(path + "/.manifest.tmp", "wb").write(b"{")
    with ActivationStore(path) as s:
        assert s.rows == 6
        s.append({"a": x[6:]})
        assert s.rows == 10
    assert sorted(os.listdir(path)) == [".lock", "MANIFEST.json", "seg-00000001.h5", "seg-00000002.h5"]
    assert np.array_equal(read_store(path, "a"), x)


def test_second_writer_is_refused_while_first_is_open():
    from lamina.errors import LaminaIOError
    from lamina.io import ActivationStore
    path = TMP + "/two"
    with ActivationStore(path):
        expect(lambda: ActivationStore(path), LaminaIOError, OSError, "another writer")
    ActivationStore(path).close()   # free again once the first one closed


def _check_store_against_batches(path, seed, committed):
    """Opens the store (as a writer: reopen cleans up), checks that it holds batches 0..m-1 bit-exactly
    with m >= committed + 1 (every batch whose append returned), and returns m."""
    sys.path.insert(0, HERE)
    from store_killed_writer import batch
    from lamina.io import ActivationStore, read_store
    with ActivationStore(path) as s:
        total = s.rows
    manifest = json.load(open(path + "/MANIFEST.json"))
    m = len(manifest["segments"])
    assert m >= committed + 1, f"{m} batches in the store; {committed + 1} appends had returned"
    expected = [batch(seed, i) for i in range(m)]
    assert total == sum(len(b["resid"]) for b in expected)
    for name in ("resid", "mlp"):
        want = np.concatenate([b[name] for b in expected])
        assert np.array_equal(read_store(path, name), want.astype(np.float32)), name
    for seg, b in zip(manifest["segments"], expected):   # and bit-exactly through h5py
        with h5py.File(os.path.join(path, seg["file"]), "r") as f:
            assert np.array_equal(f["resid"][...].view(np.uint16), b["resid"].view(np.uint16))
    assert set(os.listdir(path)) == {".lock", "MANIFEST.json"} | {s["file"] for s in manifest["segments"]}
    return m


def run_kill_test(kills, seed=7, compression=0):
    """Starts a writer subprocess that appends forever, SIGKILLs it at a random moment, checks the store,
    restarts the writer to append after what is there, `kills` times."""
    path = tempfile.mkdtemp(dir=TMP) + "/killed"
    rnd = random.Random(seed)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.join(HERE, ".."), HERE, os.environ.get("PYTHONPATH", "")]))
    done = 0
    for k in range(kills):
        proc = subprocess.Popen([sys.executable, os.path.join(HERE, "store_killed_writer.py"), path, str(seed), str(done),
                                 str(compression)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
        # wait for the writer to start appending (first line), then kill it after a random delay
        first = proc.stdout.readline()
        assert first.startswith("committed"), (first, proc.stderr.read())
        time.sleep(rnd.uniform(0.0, 0.08))
        os.kill(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        lines = [first] + out.splitlines()
        last = max(int(line.split()[1]) for line in lines if line.startswith("committed"))
        done = _check_store_against_batches(path, seed, last)
    return done


def test_sigkill_at_random_points_loses_no_committed_batch():
    batches = run_kill_test(kills=25)
    assert batches >= 25


def test_sae_fit_from_a_store_is_deterministic_and_trains_like_in_memory():
    """fit(store, dataset=) feeds the trainer from the store's shuffled reader: the same seed gives the
    same model, another seed another model, and the fit is as good as from the in-memory array."""
    from lamina.io import ActivationStore
    from lamina.sae import SparseAutoencoder
    rng = np.random.default_rng(3)
    basis = rng.standard_normal((64, 24)).astype(np.float32)
    codes = (rng.random((6000, 64)) < 0.05) * rng.random((6000, 64))
    x = (codes @ basis).astype(np.float32)
    path = TMP + "/fit"
    with ActivationStore(path) as s:
        for lo in range(0, 6000, 700):
            s.append({"l": x[lo:lo + 700]})
    kw = dict(n_latents=96, architecture="topk", k=4, batch_size=128)
    a = SparseAutoencoder(**kw, random_state=0).fit(path, dataset="l", epochs=3)
    b = SparseAutoencoder(**kw, random_state=0).fit(path, dataset="l", epochs=3)
    c = SparseAutoencoder(**kw, random_state=1).fit(path, dataset="l", epochs=3)
    m = SparseAutoencoder(**kw, random_state=0).fit(x, epochs=3)
    assert np.array_equal(a.W_dec_, b.W_dec_) and not np.array_equal(a.W_dec_, c.W_dec_)
    fvu_store, fvu_mem = a.evaluate(x)["fvu"], m.evaluate(x)["fvu"]
    assert fvu_store < 1.1 * fvu_mem + 0.01, (fvu_store, fvu_mem)


def test_layer_sweep_reads_the_layers_of_a_store():
    from lamina import probe
    from lamina.io import ActivationStore
    rng = np.random.default_rng(4)
    y = rng.integers(0, 2, 400).astype(np.int32)
    l1 = (rng.standard_normal((400, 6)) + y[:, None]).astype(np.float32)
    l2 = rng.standard_normal((400, 9)).astype(np.float32)
    path = TMP + "/sweep"
    with ActivationStore(path) as s:
        s.append({"l1": l1[:250], "l2": l2[:250]})
        s.append({"l1": l1[250:], "l2": l2[250:]})
    with h5py.File(TMP + "/sweep.h5", "w") as f:
        f["l1"], f["l2"] = l1, l2
    a = probe.layer_sweep(path, y, datasets=["l1", "l2"])
    b = probe.layer_sweep(TMP + "/sweep.h5", y, datasets=["l1", "l2"])
    assert np.array_equal(a.mean, b.mean) and np.array_equal(a.std, b.std)
    assert a.mean[0] > 0.8

def test_docstring_examples_run_verbatim():
    """The ActivationStore (forward-hook style) and StoreReader examples of lamina.io run as written."""
    import doctest

    import lamina.io
    result = doctest.testmod(lamina.io)
    assert result.attempted >= 15 and result.failed == 0

# -- bad input, each case in a worker subprocess --------------------------------------------------------

def _lamina():
    from lamina import errors, io
    return errors, io


@case
def open_a_plain_hdf5_file():
    errors, io = _lamina()
    p = TMP + "/plain.h5"
    with h5py.File(p, "w") as f:
        f["x"] = np.zeros((3, 4), np.float32)
    expect(lambda: io.ActivationStore(p), errors.FormatError, OSError, "HDF5 file", "not an activation store")


@case
def open_a_truncated_hdf5_file():
    errors, io = _lamina()
    p = TMP + "/trunc.h5"
    with h5py.File(p, "w") as f:
        f["x"] = np.zeros((300, 4), np.float32)
    data = open(p, "rb").read()
    open(p, "wb").write(data[:700])
    expect(lambda: io.ActivationStore(p), errors.FormatError, OSError, "not an activation store")


@case
def open_a_non_store_directory():
    errors, io = _lamina()
    p = tempfile.mkdtemp(dir=TMP)
    open(p + "/notes.txt", "w").write("mine")
    expect(lambda: io.ActivationStore(p), errors.FormatError, OSError, "MANIFEST.json", "notes.txt")
    assert os.listdir(p) == ["notes.txt"]


@case
def open_under_a_missing_or_unwritable_parent():
    errors, io = _lamina()
    expect(lambda: io.ActivationStore(TMP + "/missing/sub/store"), errors.LaminaIOError, OSError, "cannot create", "No such file")
    expect(lambda: io.ActivationStore("/proc/lamina-store"), errors.LaminaIOError, OSError, "cannot create")
    if os.geteuid() != 0:   # root bypasses permission bits
        p = tempfile.mkdtemp(dir=TMP)
        os.chmod(p, 0o500)
        expect(lambda: io.ActivationStore(p), errors.LaminaIOError, OSError, "not writable")


def _store_with_one_batch(name):
    _, io = _lamina()
    p = tempfile.mkdtemp(dir=TMP) + "/" + name
    with io.ActivationStore(p) as s:
        s.append({"a": np.ones((4, 8), np.float16), "b": np.ones((4, 3), np.float16)})
    return p, open(p + "/MANIFEST.json", "rb").read()


@case
def append_with_another_width_dtype_or_names_fails_and_keeps_the_store():
    errors, io = _lamina()
    p, before = _store_with_one_batch("w")
    with io.ActivationStore(p) as s:
        expect(lambda: s.append({"a": np.ones((2, 9), np.float16), "b": np.ones((2, 3), np.float16)}),
               errors.ShapeMismatchError, ValueError, "'a'", "width 8", "width 9")
        expect(lambda: s.append({"a": np.ones((2, 8), np.float32), "b": np.ones((2, 3), np.float32)}),
               errors.InvalidArgumentError, ValueError, "float16", "float32")
        expect(lambda: s.append({"a": np.ones((2, 8), np.float16)}), errors.InvalidArgumentError, ValueError, "'b'")
        expect(lambda: s.append({"a": np.ones((2, 8), np.float16), "b": np.ones((2, 3), np.float16),
                                 "c": np.ones((2, 3), np.float16)}), errors.InvalidArgumentError, ValueError, "'c'")
        expect(lambda: s.append({"a": np.ones((2, 8), np.float16), "b": np.ones((3, 3), np.float16)}),
               errors.InvalidArgumentError, ValueError, "row counts")
        expect(lambda: s.append({"a/x": np.ones((2, 8), np.float16)}), errors.InvalidArgumentError, ValueError, "a/x")
        assert s.rows == 4
        s.append({"b": np.zeros((1, 3), np.float16), "a": np.zeros((1, 8), np.float16)})   # still usable
        assert s.rows == 5
    assert io.store_info(p, "a") == (5, 8, "float16")


@case
def failed_append_on_a_full_disk_keeps_the_store():
    """RLIMIT_FSIZE makes the segment write fail (EFBIG) like a full disk."""
    import resource
    errors, io = _lamina()
    p, before = _store_with_one_batch("full")
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    with io.ActivationStore(p) as s:
        resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, resource.RLIM_INFINITY))
        expect(lambda: s.append({"a": np.ones((20000, 8), np.float16), "b": np.ones((20000, 3), np.float16)}),
               errors.LaminaError, Exception, "seg-00000002")
        resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        assert s.rows == 4
        assert open(p + "/MANIFEST.json", "rb").read() == before
        s.append({"a": np.ones((2, 8), np.float16), "b": np.ones((2, 3), np.float16)})
    assert io.store_info(p, "b") == (6, 3, "float16")


@case
def reopen_a_store_with_a_truncated_or_missing_segment():
    errors, io = _lamina()
    p, _ = _store_with_one_batch("t")
    seg = p + "/seg-00000001.h5"
    data = open(seg, "rb").read()
    open(seg, "wb").write(data[: len(data) // 2])
    expect(lambda: io.ActivationStore(p), errors.FormatError, OSError, "seg-00000001.h5")
    expect(lambda: io.store_info(p, "a"), errors.FormatError, OSError, "seg-00000001.h5")
    os.remove(seg)
    expect(lambda: io.ActivationStore(p), errors.LaminaError, OSError, "seg-00000001.h5")


@case
def shuffled_reader_of_a_segment_replaced_after_opening():
    # A segment swapped for another dtype (or removed) while a reader is open: the reader's window load
    # (in the prefetch thread or not) refuses it with a clear error instead of misreading the bytes.
    errors, io = _lamina()
    path = tempfile.mkdtemp(dir=TMP) + "/swap"
    x = np.arange(900 * 4, dtype=np.float32).reshape(900, 4)
    with io.ActivationStore(path) as s:
        s.append({"h": x[:500].astype(np.float16)})
        s.append({"h": x[500:].astype(np.float16)})
    r = io.StoreReader(path, "h", seed=1, memory_budget=256 * 4 * 4)   # one block per window
    r.read(0, 0, 10)                                                     # a prefetch may be running now
    # Swapped in by rename (as a writer would): the prefetch thread may hold the old file open and
    # HDF5-locked, so creating the new file in place could fail on the lock instead of testing the reader.
    with h5py.File(path + "/swap.tmp", "w") as f:
        f["h"] = x[500:]
    os.replace(path + "/swap.tmp", path + "/seg-00000002.h5")
    expect(lambda: [r.read(e, p, 100) for e in (0, 1) for p in range(0, 900, 100)],
           errors.FormatError, OSError, "seg-00000002.h5", "float32", "expected float16")
    os.remove(path + "/seg-00000002.h5")
    expect(lambda: [r.read(e, p, 100) for e in (2, 3) for p in range(0, 900, 100)],
           errors.LaminaError, OSError, "seg-00000002.h5")


@case
def reopen_a_store_with_a_corrupt_or_foreign_manifest():
    errors, io = _lamina()
    p, before = _store_with_one_batch("m")
    open(p + "/MANIFEST.json", "wb").write(before[:30])
    expect(lambda: io.ActivationStore(p), errors.FormatError, OSError, "MANIFEST.json", "not valid JSON")
    open(p + "/MANIFEST.json", "w").write(json.dumps({"format": "something-else", "version": 1}))
    expect(lambda: io.ActivationStore(p), errors.FormatError, OSError, "format")
    m = json.loads(before)
    m["segments"][0]["rows"] = 5
    open(p + "/MANIFEST.json", "w").write(json.dumps(m))
    expect(lambda: io.ActivationStore(p), errors.FormatError, OSError, "seg-00000001.h5", "manifest says")


@case
def bad_arguments_from_c():
    import ctypes
    from lamina import _native as N
    from isolated import expect_status
    errors, io = _lamina()
    out = ctypes.c_void_p()
    expect_status(1, N.lib.lamina_store_open(None, None, ctypes.byref(out)), "path")
    params = N.lib.lamina_store_default_params()
    params.compression = 12
    expect_status(1, N.lib.lamina_store_open(b"/tmp/x", ctypes.byref(params), ctypes.byref(out)), "compression", "12")
    params = N.lib.lamina_store_default_params()
    params.reserved = 3
    expect_status(1, N.lib.lamina_store_open(b"/tmp/x", ctypes.byref(params), ctypes.byref(out)), "reserved")
    expect_status(1, N.lib.lamina_store_append(ctypes.c_void_p(12345), 1, None, None, None, 0, 1), "store")
    p = tempfile.mkdtemp(dir=TMP) + "/c"
    expect_status(0, N.lib.lamina_store_open(p.encode(), None, ctypes.byref(out)))
    names = (ctypes.c_char_p * 1)(b"a")
    widths = np.array([4], np.int64)
    data = (ctypes.c_void_p * 1)(None)
    expect_status(1, N.lib.lamina_store_append(out, 1, names, N.lptr(widths), data, 0, 2), "data[0]")
    buf = np.zeros((2, 4), np.float16)
    data = (ctypes.c_void_p * 1)(buf.ctypes.data)
    expect_status(1, N.lib.lamina_store_append(out, 1, names, N.lptr(widths), data, 3, 2), "dtype", "3")
    expect_status(1, N.lib.lamina_store_append(out, 1, names, N.lptr(widths), data, 0, 0), "n_rows")
    expect_status(1, N.lib.lamina_store_append(out, 0, names, N.lptr(widths), data, 0, 2), "n_datasets")
    expect_status(0, N.lib.lamina_store_append(out, 1, names, N.lptr(widths), data, 0, 2))
    expect_status(0, N.lib.lamina_store_close(out))
    expect_status(1, N.lib.lamina_store_close(out), "store")   # no longer live
    expect_status(0, N.lib.lamina_store_close(None))
    expect(lambda: io.store_info(p, "zz"), errors.InvalidArgumentError, ValueError, "'zz'", "a")
    expect(lambda: io.read_store(p, "a", start=1, stop=9), errors.InvalidArgumentError, ValueError, "out of range")


def _reader_store(n=5000, d=3, segments=7):
    from lamina.io import ActivationStore
    path = tempfile.mkdtemp(dir=TMP) + "/r"
    x = np.arange(n * d, dtype=np.float32).reshape(n, d)
    cuts = np.linspace(0, n, segments + 1).astype(int)
    with ActivationStore(path) as s:
        for lo, hi in zip(cuts[:-1], cuts[1:]):
            s.append({"h": x[lo:hi]})
    return path, x


def test_shuffled_reader_every_row_once_deterministic_resumable():
    from lamina.io import StoreReader
    path, x = _reader_store()
    budget = 3 * 256 * 3 * 4   # three blocks per window
    r = StoreReader(path, "h", seed=5, memory_budget=budget)
    assert r.rows == 5000 and r.window_rows == 768
    orders = {}
    for epoch in (0, 1):
        parts = [r.read(epoch, p, min(333, 5000 - p)) for p in range(0, 5000, 333)]
        xs = np.concatenate([a for a, _ in parts])
        ids = np.concatenate([b for _, b in parts])
        assert sorted(ids.tolist()) == list(range(5000))          # every row exactly once
        assert np.array_equal(xs, x[ids])                          # the values are those rows
        orders[epoch] = ids
    assert not np.array_equal(orders[0], orders[1])
    assert not np.array_equal(orders[0], np.arange(5000))
    # rows move across segments: the first window mixes blocks from several segments
    assert len(set((orders[0][:768] // 715).tolist())) >= 2
    # the same (seed, epoch) from a fresh reader, read in other batch sizes and starting anywhere
    r2 = StoreReader(path, "h", seed=5, memory_budget=budget)
    for start in (0, 1, 767, 768, 2500, 4999):
        _, ids = r2.read(0, start, min(900, 5000 - start))
        assert np.array_equal(ids, orders[0][start:start + len(ids)]), start
    _, other = StoreReader(path, "h", seed=6, memory_budget=budget).read(0, 0, 5000)
    assert not np.array_equal(other, orders[0])
    # a larger budget: other windows, still a permutation
    _, big = StoreReader(path, "h", seed=5, memory_budget=10 << 20).read(0, 0, 5000)
    assert sorted(big.tolist()) == list(range(5000))


_M64 = (1 << 64) - 1


class _Xoshiro256:
    """xoshiro256** seeded by splitmix64, as Sources/LaminaCore/Common/Random.swift (the reference)."""

    def __init__(self, seed):
        z, s = seed & _M64, []
        for _ in range(4):
            z = (z + 0x9E3779B97F4A7C15) & _M64
            x = z
            x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _M64
            x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _M64
            s.append(x ^ (x >> 31))
        self.s = s

    def next(self):
        s = self.s
        m = (s[1] * 5) & _M64
        result = ((((m << 7) | (m >> 57)) & _M64) * 9) & _M64
        t = (s[1] << 17) & _M64
        s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]
        s[2] ^= t
        s[3] = ((s[3] << 45) | (s[3] >> 19)) & _M64
        return result


def _reader_order(rows, seed, epoch, window_blocks, block=256):
    """The shuffled reader's documented order (lamina.h, "The shuffled reader"), written from the text."""
    def rng(a, b):
        return _Xoshiro256(seed ^ (((a + 1) * 0x9E3779B97F4A7C15) & _M64) ^ (((b + 2) * 0xC2B2AE3D27D4EB4F) & _M64))

    def shuffle(p, g):
        for i in range(len(p) - 1, 0, -1):
            j = g.next() % (i + 1)
            p[i], p[j] = p[j], p[i]
        return p

    blocks = shuffle(list(range((rows + block - 1) // block)), rng(epoch, -1))
    order = []
    for w, first in enumerate(range(0, len(blocks), window_blocks)):
        ids = [r for b in blocks[first:first + window_blocks] for r in range(b * block, min(rows, b * block + block))]
        perm = shuffle(list(range(len(ids))), rng(epoch, w))
        order += [ids[k] for k in perm]
    return np.array(order)


def test_shuffled_reader_matches_the_documented_order_with_and_without_prefetch():
    """The reader's order equals a Python implementation of the formula in lamina.h, for 16-bit stores
    (read with the background prefetch thread) and float32 stores (no prefetch), whatever the reads'
    sizes, their order (sequential, backwards, across epochs) and the segment layout."""
    from lamina.io import ActivationStore, StoreReader
    rng = np.random.default_rng(3)
    n, d = 3001, 5
    x = rng.standard_normal((n, d)).astype(np.float32)
    for dtype in ("float16", "bfloat16", "float32"):
        path = tempfile.mkdtemp(dir=TMP) + "/o"
        stored = x.astype(np.float16) if dtype == "float16" else _bf16_bits(x) if dtype == "bfloat16" else x
        with ActivationStore(path) as s:
            for lo, hi in ((0, 100), (100, 1337), (1337, 1338), (1338, 2900), (2900, n)):
                s.append({"h": stored[lo:hi]}, dtype=dtype)
        widened = (stored.astype(np.float32) if dtype != "bfloat16"
                   else (stored.astype(np.uint32) << 16).view(np.float32))
        for blocks in (1, 3, 12):
            r = StoreReader(path, "h", seed=11, memory_budget=blocks * 256 * d * 4)
            for epoch in (0, 1, 2):
                want = _reader_order(n, 11, epoch, blocks)
                parts = [r.read(epoch, p, min(250, n - p)) for p in range(0, n, 250)]
                got = np.concatenate([b for _, b in parts])
                assert np.array_equal(got, want), (dtype, blocks, epoch)
                assert np.array_equal(np.concatenate([a for a, _ in parts]), widened[want])
            # backwards and jumping between epochs (prefetched windows that are not used next)
            for epoch, p in ((2, 2800), (0, 0), (2, 1000), (1, 2999), (0, 700), (0, 701)):
                a, b = r.read(epoch, p, min(300, n - p))
                want = _reader_order(n, 11, epoch, blocks)[p:p + len(b)]
                assert np.array_equal(b, want) and np.array_equal(a, widened[want]), (dtype, blocks, epoch, p)
        shutil.rmtree(path)


def test_shuffled_reader_memory_is_bounded():
    """Reading a 192 MB store through a 4 MB window keeps the process's RSS growth far below the store."""
    code = r"""
import numpy as np, os, sys
from lamina.io import ActivationStore, StoreReader
path = sys.argv[1]
with ActivationStore(path) as s:
    for i in range(12):
        s.append({"h": np.full((32768, 128), i, sys.argv[2])})
del s
def rss():
    return int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
r = StoreReader(path, "h", seed=0, memory_budget=4 << 20)
base = rss()
seen = 0
for x, ids in r.batches(0, 4096):
    seen += len(ids)
print(seen, (rss() - base) / 2**20)
"""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.join(HERE, ".."), os.environ.get("PYTHONPATH", "")]))
    for dtype in ("float32", "float16"):   # float16: two 16-bit windows (the prefetch) in the same budget
        path = tempfile.mkdtemp(dir=TMP) + "/big"
        out = subprocess.run([sys.executable, "-c", code, path, dtype], capture_output=True, text=True, env=env, timeout=300)
        assert out.returncode == 0, out.stderr
        seen, growth = out.stdout.split()
        assert int(seen) == 12 * 32768
        assert float(growth) < 40, f"RSS grew by {growth} MB reading a {dtype} store of 12 x 32768 x 128 with a 4 MB window"
        shutil.rmtree(path)


@case
def shuffled_reader_bad_arguments():
    errors, io = _lamina()
    path, _ = _reader_store(n=600, d=2, segments=2)
    expect(lambda: io.StoreReader(path, "h", memory_budget=100), errors.InvalidArgumentError, ValueError, "memory_budget")
    expect(lambda: io.StoreReader(path, "nope"), errors.InvalidArgumentError, ValueError, "'nope'")
    r = io.StoreReader(path, "h")
    expect(lambda: r.read(0, 590, 20), errors.InvalidArgumentError, ValueError, "out of range")
    expect(lambda: r.read(-1, 0, 2), errors.InvalidArgumentError, ValueError, "epoch")
    expect(lambda: io.StoreReader(TMP + "/plain.h5" if os.path.exists(TMP + "/plain.h5") else "/nonexistent", "h"),
           errors.LaminaError, OSError, "not a directory")


if __name__ == "__main__":
    worker_main(CASES)

test_store_bad_input = crash_tests(__file__, CASES, timeout=180)
