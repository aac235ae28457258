"""Distributed training, part 2 (include/lamina.h section 16): per-rank HDF5 reads (each rank reads its rows
of every global batch), the sparse-gradient reduction, and the structural probe under a reducer. One-process
tests run everywhere; the 2- and 3-rank runs need mpirun and mpi4py (skipped, saying so, without them)."""
import ctypes
import os

import numpy as np
import pytest

import lamina
from lamina import _native as N
from lamina.sae import SparseAutoencoder
from lamina.structural import StructuralProbe

from test_distributed import MISSING, FakeReducer, OneRank, mpi, weights
import test_distributed

HERE = os.path.dirname(os.path.abspath(__file__))
IO_WORKER = os.path.join(HERE, "mpi_io_worker.py")


def mpirun(np_, *args, timeout=300, check=True):
    old = test_distributed.WORKER
    test_distributed.WORKER = IO_WORKER
    try:
        return test_distributed.mpirun(np_, *args, timeout=timeout, check=check)
    finally:
        test_distributed.WORKER = old


class ProbeReducer:
    """A one-rank (or fake two-rank) reducer for the structural probe without MPI."""
    def __init__(self, fail_at=None):
        self.rank, self.size, self.calls, self.fail_at = 0, 1, 0, None if fail_at is None else fail_at
        self.fn = N.ReduceFn(self._reduce)

    def _reduce(self, buf, count, dtype, user):
        self.calls += 1
        return 4 if self.fail_at is not None and self.calls >= self.fail_at else 0


def _items(seed=0, n_items=24, d=12):
    """Random items (lengths 3..9), gold tree distances (a random tree per item) and depths."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(3, 10, size=n_items)
    off = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    x = rng.standard_normal((off[-1], d)).astype(np.float32)
    dist, depth = [], []
    for L in lengths:
        parent = [-1] + [int(rng.integers(0, i)) for i in range(1, L)]
        dep = np.zeros(L)
        for i in range(1, L):
            dep[i] = dep[parent[i]] + 1
        D = np.zeros((L, L))
        for i in range(L):
            for j in range(L):
                a, b, steps = i, j, 0
                while a != b:
                    if dep[a] >= dep[b]:
                        a = parent[a]
                    else:
                        b = parent[b]
                    steps += 1
                D[i, j] = steps
        dist.append(D.ravel())
        depth.append(dep)
    return x, off, np.concatenate(dist).astype(np.float32), np.concatenate(depth).astype(np.float32)


# ---- one process ------------------------------------------------------------------------------------------

def test_structural_probe_one_rank_reducer_is_bit_identical():
    x, off, t, _ = _items()
    kw = dict(kind="distance", rank=6, epochs=4, batch_size=5, random_state=1, lr=0.01)
    a = StructuralProbe(**kw).fit(x, off, t)
    b = StructuralProbe(**kw).fit(x, off, t, comm=OneRank())
    assert np.array_equal(a.projection_, b.projection_)
    assert a.train_loss_ == b.train_loss_
    # agreements (the boundary's checks, the core's checks, the values), then one reduction per step:
    # 24 items / 5 = 5 steps per epoch
    assert b.reducer_calls_ == 3 + 4 * 5
    assert b.reducer_bytes_ == 8 * (1 + 1 + 21 + 4 * 5 * (6 * 12 + 1))


def test_structural_probe_reducer_error_keeps_last_step():
    x, off, t, _ = _items()
    kw = dict(kind="distance", rank=6, epochs=4, batch_size=5, random_state=1, lr=0.01)
    p = StructuralProbe(**kw)
    with pytest.raises(lamina.LaminaIOError, match="reducer returned status 4"):
        p._fit(x, off, t, reducer=ProbeReducer(fail_at=3 + 4))     # fails in step 4
    assert p.n_steps_ == 3
    ref = StructuralProbe(**kw)
    with pytest.raises(lamina.CancelledError):
        ref.fit(x, off, t, callback=lambda info: True if info["step"] == 3 else None)
    assert np.array_equal(p.projection_, ref.projection_)


def test_structural_probe_set_reducer_bad_input():
    p = StructuralProbe(rank=4).set_projection(np.zeros((4, 12), np.float32))
    fn = N.ReduceFn(lambda *a: 0)
    with pytest.raises(lamina.InvalidArgumentError, match="rank is 2"):
        N.call("lamina_structural_probe_set_reducer", p._handle, fn, None, 2, 2)
    with pytest.raises(lamina.InvalidArgumentError, match="world_size is 0"):
        N.call("lamina_structural_probe_set_reducer", p._handle, fn, None, 0, 0)
    with pytest.raises(lamina.InvalidArgumentError, match="fn is NULL"):
        N.call("lamina_structural_probe_set_reducer", p._handle, N.ReduceFn(), None, 1, 2)
    with pytest.raises(lamina.InvalidArgumentError, match="probe"):
        N.call("lamina_structural_probe_set_reducer", None, fn, None, 0, 1)


def test_sparse_mode_one_rank_is_bit_identical_and_set_mode_bad_input():
    X = np.random.default_rng(0).standard_normal((512, 16)).astype(np.float32)
    p = dict(n_latents=256, architecture="topk", k=4, auxk_alpha=0.0, batch_size=64, random_state=3, lr=1e-3)
    a = SparseAutoencoder(**p).fit(X, shuffle=False, comm=OneRank())
    b = SparseAutoencoder(**p).fit(X, shuffle=False, comm=OneRank(), sparse_gradients=True)
    for k, v in weights(a).items():
        assert np.array_equal(v, weights(b)[k]), k
    assert b.reducer_bytes_ < a.reducer_bytes_      # 64 rows x k = 4 touch at most 256 latents
    with pytest.raises(lamina.InvalidArgumentError, match="sparse_gradients"):
        SparseAutoencoder(**p).fit(X, comm=OneRank(), sparse_gradients="yes")
    with pytest.raises(lamina.InvalidArgumentError, match="mode is 2"):
        N.call("lamina_sae_set_reduce_mode", a._handle, 2)
    with pytest.raises(lamina.InvalidArgumentError, match="sae"):
        N.call("lamina_sae_set_reduce_mode", None, 0)


class Mirror(FakeReducer):
    """Rank 0 of two whose partner contributes the same values: the agreement vector (2 x 17 float64) is
    mirrored, every other buffer doubled."""
    def __init__(self):
        super().__init__(size=2)

    def _reduce(self, buf, count, dtype, user):
        ctype = ctypes.c_float if dtype == N.LAMINA_DTYPE_FLOAT32 else ctypes.c_double
        a = np.ctypeslib.as_array((ctype * count).from_address(buf))
        if dtype == N.LAMINA_DTYPE_FLOAT64 and count == 34:
            a[17:] = a[:17]
        else:
            a *= 2
        return 0


def test_sparse_mode_with_a_fake_second_rank_equals_dense():
    # the partner rank contributes the same values: the sparse and dense paths give the same model bit for bit
    X = np.random.default_rng(1).standard_normal((512, 16)).astype(np.float32)
    for arch in ("topk", "relu", "jumprelu"):
        p = dict(n_latents=512, architecture=arch, k=4, auxk_alpha=0.0, batch_size=64, random_state=3, lr=1e-3)
        a = SparseAutoencoder(**p)
        a._fit(X, shuffle=False, reducer=Mirror())
        b = SparseAutoencoder(**p)
        b._fit(X, shuffle=False, reducer=Mirror(),
               prepared=lambda b=b: N.call("lamina_sae_set_reduce_mode", b._handle, 1))
        assert a.n_steps_ == b.n_steps_ == 16   # 32 local rows per step
        for k, v in weights(a).items():
            assert np.array_equal(v, weights(b)[k]), (arch, k)


# ---- several ranks ----------------------------------------------------------------------------------------

def _h5(path, X, dtype=None, **kw):
    h5py = pytest.importorskip("h5py")
    with h5py.File(path, "w") as h:
        h.create_dataset("acts", data=X if dtype is None else X.astype(dtype), **kw)
    return str(path)


@mpi
def test_ranks_read_their_rows_and_see_the_same_batches(tmp_path):
    # d = 1024: the trainer's chunks hold 8192 rows; 9500 rows make a full and a partial chunk, so batches
    # of 512 cross chunk boundaries in the epochs where the partial chunk comes first
    X = (np.random.default_rng(7).standard_normal((9500, 1024)) * 0.5 + 0.1).astype(np.float32)
    f = _h5(tmp_path / "acts.h5", X, np.float16)
    p = dict(n_latents=64, architecture="topk", k=4, auxk_alpha=0.0, batch_size=512, random_state=3, lr=1e-3)
    one = {e: weights(SparseAutoencoder(**p).fit(f, dataset="acts", epochs=e)) for e in (1, 3)}
    mpirun(1, "file", tmp_path, f, "acts", 512, 1, 3)
    mpirun(2, "file", tmp_path, f, "acts", 512, 1, 3)
    mpirun(3, "file", tmp_path, f, "acts", 512, 1, 3, timeout=400)
    res = {R: np.load(tmp_path / f"file_{R}.npz") for R in (1, 2, 3)}
    for R in (1, 2, 3):
        for e in (1, 3):
            for k, v in one[e].items():
                got = res[R][f"{k}_{e}"]
                if R == 1:
                    assert np.array_equal(got, v), (R, e, k)   # one rank: the plain path bit for bit
                else:
                    np.testing.assert_allclose(got, v, rtol=0, atol=2e-4, err_msg=f"R={R} epochs={e} {k}")
    # bytes read by training (2 more epochs), per rank: ~1/R of the file's 2 epochs
    epoch_bytes = X.shape[0] // 512 * 512 * 1024 * 2
    per_rank = {R: (res[R]["bytes_3"] - res[R]["bytes_1"]) / 2 for R in (1, 2, 3)}
    assert per_rank[1][0] >= 0.95 * epoch_bytes, per_rank
    for R in (2, 3):
        assert per_rank[R].max() <= epoch_bytes / R * 1.1 + 2e5, (R, per_rank[R], epoch_bytes)
        assert per_rank[R].min() >= epoch_bytes / R * 0.9, (R, per_rank[R], epoch_bytes)


@mpi
def test_short_or_vanishing_file_on_one_rank_is_named(tmp_path):
    X = np.random.default_rng(2).standard_normal((1024, 16)).astype(np.float32)
    f = _h5(tmp_path / "acts.h5", X)
    short = _h5(tmp_path / "short.h5", X[:512])
    mpirun(2, "short", tmp_path, f, short, timeout=120)
    m0, m1 = ((tmp_path / f"short_{r}.txt").read_text().split("\n----\n") for r in (0, 1))
    assert "rank 1 disagrees with rank 0 before training: batches per epoch is 8.0" in m0[0], m0[0]
    assert "rank 0 disagrees with rank 1" in m1[0], m1[0]
    assert "rank 1 failed to read its rows of global batch 2" in m0[1], m0[1]
    assert "cannot open" in m1[1], m1[1]


@mpi
def test_sparse_gradients_equal_dense_on_two_ranks(tmp_path):
    X = np.random.default_rng(3).standard_normal((16 * 64, 16)).astype(np.float32)
    np.save(tmp_path / "x.npy", X)
    mpirun(2, "sparse", tmp_path, tmp_path / "x.npy")
    res = np.load(tmp_path / "sparse_2.npz")
    # topk: 64 rows x k = 4 touch at most 256 of the 1024 latents per step
    assert res["topk_sparse_bytes"] < 0.5 * res["topk_dense_bytes"], (res["topk_sparse_bytes"], res["topk_dense_bytes"])
    # and the 2-rank sparse model equals one process (to rounding)
    p = dict(n_latents=1024, batch_size=64, random_state=1, lr=1e-3, architecture="topk", k=4, auxk_alpha=0.0)
    one = SparseAutoencoder(**p).fit(X, shuffle=False, epochs=2)
    for k, v in weights(one).items():
        np.testing.assert_allclose(res[f"topk_{k}"], v, rtol=0, atol=2e-4, err_msg=k)


@mpi
def test_structural_probe_two_ranks_equal_one_process(tmp_path):
    x, off, t, depth = _items(seed=4, n_items=30)
    np.savez(tmp_path / "items.npz", x=x, off=off, t=t, depth=depth, n_dev=6)
    mpirun(2, "probe", tmp_path, tmp_path / "items.npz")
    mpirun(3, "probe", tmp_path, tmp_path / "items.npz")
    n_train = off.size - 1 - 6
    cut = off[n_train]
    lengths = np.diff(off)
    for kind, targets in [("distance", t), ("depth", depth)]:
        tcut = int(np.sum(lengths[:n_train] ** 2)) if kind == "distance" else int(cut)
        ref = StructuralProbe(kind=kind, rank=8, epochs=6, batch_size=5, random_state=2, lr=0.01, patience=2)
        ref.fit(x[:cut], off[:n_train + 1], targets[:tcut], dev=(x[cut:], off[n_train:] - cut, targets[tcut:]))
        for R in (2, 3):
            res = np.load(tmp_path / f"probe_{R}.npz")
            np.testing.assert_allclose(res[f"{kind}_B"], ref.projection_, rtol=0, atol=1e-5, err_msg=f"{kind} R={R}")
            info = res[f"{kind}_info"]
            np.testing.assert_allclose(info[:2], [ref.train_loss_, ref.dev_loss_], rtol=1e-5)
            assert list(info[2:]) == [ref.best_epoch_, ref.n_epochs_, ref.n_steps_], (kind, R, info)


@mpi
def test_structural_probe_disagreeing_rank_is_named(tmp_path):
    x, off, t, depth = _items(seed=5, n_items=10)
    np.savez(tmp_path / "items.npz", x=x, off=off, t=t, depth=depth, n_dev=0)
    mpirun(2, "probe_bad", tmp_path, tmp_path / "items.npz", timeout=120)
    m0, m1 = ((tmp_path / f"probe_bad_{r}.txt").read_text().split("\n----\n") for r in (0, 1))
    assert "rank 1 disagrees with rank 0 before training: sum of targets" in m0[0], m0[0]
    assert "rank 0 disagrees with rank 1" in m1[0], m1[0]
    assert "rank 1 failed its checks of the arguments" in m0[1], m0[1]
    assert "Error" in m1[1] and "rank 1 failed" not in m1[1], m1[1]
