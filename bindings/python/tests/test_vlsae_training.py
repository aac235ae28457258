"""VL-SAE training features: AuxK against a float64 numpy reference, checkpoints with bit-identical resume,
HDF5 sources (one dataset per modality), and data-parallel training through a reducer (one process with a
fake reducer; two ranks under mpirun, skipped saying so when mpirun or mpi4py is missing)."""
from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import lamina
from lamina import _native as N
from lamina.sae import VLSparseAutoencoder, load_vlsae_checkpoint

from test_vlsae_oracle import TENSORS, ref_forward

HERE = os.path.dirname(os.path.abspath(__file__))


# -- AuxK: the float64 reference ------------------------------------------------------------------------

def ref_aux(P, f, dead, k_aux, alpha, w=(1.0, 1.0)):
    """AuxK loss term and its gradients (e = x - x_hat detached) for the dead latents (ascending)."""
    wh, wn = f["wh"], f["wn"]
    nd = len(dead)
    cap = min(k_aux, nd)
    scale = min(nd / k_aux, 1.0)
    loss = 0.0
    g = {n: np.zeros_like(v) for n, v in P.items()}
    gwh = np.zeros_like(P["W_enc"])
    for (m, wm) in zip(("vision", "text"), w):
        if wm <= 0:
            continue
        o = f[m]
        B = o["x"].shape[0]
        u = o["u"]
        s = u @ wh[dead].T
        dist = np.sqrt(np.maximum(2 - 2 * s, 0))
        a = 2 - dist
        top = np.argsort(-a, axis=1, kind="stable")[:, :cap]
        keep = np.zeros_like(a, dtype=bool)
        np.put_along_axis(keep, top, True, axis=1)
        keep &= a > 0
        za = np.where(keep, a, 0)
        Wd = P[f"W_dec_{m}"][dead]
        e = o["x"] - o["xh"]
        eh = za @ Wd
        ve = np.sum(e ** 2) - np.sum(e.sum(axis=0) ** 2) / B
        aux = scale * np.sum((eh - e) ** 2) / ve
        loss += alpha * wm * aux
        G = alpha * wm * scale * 2 / ve * (eh - e)
        g[f"W_dec_{m}"][dead] += za.T @ G
        dz = G @ Wd.T
        c = np.where(keep & (dist ** 2 > 1e-30), dz / np.where(dist > 0, dist, 1), 0)
        gwh[dead] += c.T @ u
    g["W_enc"] = (gwh - np.sum(gwh * wh, axis=1, keepdims=True) * wh) / wn[:, None]
    return loss, g


def ref_grads_aux(P, xv, xt, k, dead, k_aux, alpha):
    from test_vlsae_oracle import ref_grads
    loss, g = ref_grads(P, xv, xt, k)
    _, f = ref_forward(P, xv, xt, k)
    fired = (f["vision"]["z"] > 0).any(axis=0) | (f["text"]["z"] > 0).any(axis=0)
    if len(dead) and alpha > 0:
        la, ga = ref_aux(P, f, dead, k_aux, alpha)
        loss += la
        for n in g:
            g[n] = g[n] + ga[n]
    return loss, g, fired


def ref_train_aux(P, V, T, k, B, steps, lr, dead_tokens, k_aux, alpha, b1=0.9, b2=0.999, eps=1e-8):
    P = {n: v.astype(np.float64).copy() for n, v in P.items()}
    M = {n: np.zeros_like(v) for n, v in P.items()}
    S = {n: np.zeros_like(v) for n, v in P.items()}
    since = np.zeros(P["W_enc"].shape[0], dtype=np.int64)
    losses, n_dead = [], []
    for t in range(1, steps + 1):
        lo = (t - 1) * B
        dead = np.flatnonzero(since > dead_tokens)
        n_dead.append(len(dead))
        loss, g, fired = ref_grads_aux(P, V[lo:lo + B].astype(np.float64), T[lo:lo + B].astype(np.float64), k, dead,
                                       k_aux, alpha)
        losses.append(loss)
        for n in P:
            M[n] = b1 * M[n] + (1 - b1) * g[n]
            S[n] = b2 * S[n] + (1 - b2) * g[n] ** 2
            P[n] -= lr / (1 - b1 ** t) * M[n] / (np.sqrt(S[n]) / np.sqrt(1 - b2 ** t) + eps)
        since = np.where(fired, 0, since + B)
    return P, losses, n_dead


def test_reference_auxk_gradient_matches_finite_differences():
    """The reference's AuxK gradient (e held fixed, as the detached residual) against central differences."""
    rng = np.random.default_rng(4)
    d, nl, k, B = 6, 12, 2, 8
    P = {"W_enc": rng.standard_normal((nl, d)), "W_dec_vision": rng.standard_normal((nl, d)) * 0.3,
         "b_dec_vision": rng.standard_normal(d) * 0.1, "W_dec_text": rng.standard_normal((nl, d)) * 0.3,
         "b_dec_text": rng.standard_normal(d) * 0.1}
    xv, xt = rng.standard_normal((B, d)), rng.standard_normal((B, d))
    dead = np.array([1, 3, 4, 8, 10])
    _, f0 = ref_forward(P, xv, xt, k)
    _, g = ref_aux(P, f0, dead, 3, 0.5)

    def aux_loss(Q):
        _, f = ref_forward(Q, xv, xt, k)
        for m in ("vision", "text"):
            f[m]["xh"], f[m]["x"] = f0[m]["xh"], f0[m]["x"]     # e detached
        return ref_aux(Q, f, dead, 3, 0.5)[0]

    for name in ("W_enc", "W_dec_vision", "W_dec_text"):
        flat = P[name].reshape(-1)
        for i in rng.choice(flat.size, 8, replace=False):
            old = flat[i]
            flat[i] = old + 1e-6
            lp = aux_loss(P)
            flat[i] = old - 1e-6
            lm = aux_loss(P)
            flat[i] = old
            want = g[name].reshape(-1)[i]
            assert abs((lp - lm) / 2e-6 - want) < 1e-6 * max(1, abs(want)), (name, i)


def test_auxk_training_steps_match_float64_reference():
    rng = np.random.default_rng(1)
    n, d, nl, k, B = 128, 12, 64, 2, 32
    V = rng.standard_normal((n, d)).astype(np.float32)
    T = (0.5 * V + rng.standard_normal((n, d))).astype(np.float32)
    vl = VLSparseAutoencoder(d, d, nl, k=k, batch_size=B, lr=1e-2, shuffle=False, random_state=2, dead_tokens=0,
                             auxk_alpha=0.25, k_aux=5)
    vl.initialize()
    P0 = {name: vl.get_tensor(name) for name in TENSORS}
    vl.fit(V, T, epochs=1, resume=True)
    P, losses, n_dead = ref_train_aux(P0, V, T, k, B, steps=n // B, lr=1e-2, dead_tokens=0, k_aux=5, alpha=0.25)
    assert n_dead[0] == 0 and min(n_dead[1:]) > 5          # AuxK is active from step 2 on
    h = vl.history_
    assert h["auxk"][0] == 0 and np.all(h["auxk"][1:] > 0)
    np.testing.assert_allclose(h["loss"], losses, rtol=1e-5)
    for name in TENSORS:
        got = vl.get_tensor(name).astype(np.float64)
        scale = np.abs(P[name]).max()
        np.testing.assert_allclose(got, P[name], rtol=1e-5, atol=1e-5 * scale, err_msg=name)


def test_auxk_off_matches_training_without_dead_latents():
    """auxk_alpha = 0 and a window no latent reaches train the same model (AuxK changes nothing then)."""
    rng = np.random.default_rng(2)
    V = rng.standard_normal((96, 8)).astype(np.float32)
    T = rng.standard_normal((96, 8)).astype(np.float32)
    a = VLSparseAutoencoder(8, 8, 32, k=3, batch_size=32, auxk_alpha=0.0, dead_tokens=0).fit(V, T, epochs=2)
    b = VLSparseAutoencoder(8, 8, 32, k=3, batch_size=32, auxk_alpha=0.5).fit(V, T, epochs=2)
    for name in TENSORS:
        assert np.array_equal(a.get_tensor(name), b.get_tensor(name)), name
    assert np.all(b.history_["auxk"] == 0)


# -- lr schedules ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("sched", [dict(), dict(warmup_steps=3), dict(decay="linear"), dict(decay="cosine"),
                                   dict(warmup_steps=2, decay="cosine", decay_steps=4),
                                   dict(warmup_steps=2, decay="linear", decay_steps=50)])
def test_lr_schedule_is_the_sae_trainers(sched):
    """The lr of every step (history "lr") is lr times the TopK trainer's multiplier (warm-up, then
    linear/cosine decay over the run's last decay_steps), the formula written out in test_sae_oracle."""
    from test_sae_oracle import lr_multiplier
    rng = np.random.default_rng(4)
    V = rng.standard_normal((96, 8)).astype(np.float32)
    T = rng.standard_normal((96, 8)).astype(np.float32)
    vl = VLSparseAutoencoder(8, 8, 32, k=3, batch_size=16, lr=2e-3, **sched).fit(V, T, epochs=2)
    lr = vl.history_["lr"]
    total = len(lr)
    assert total == 12
    want = [2e-3 * lr_multiplier(vl, t, total) for t in range(1, total + 1)]   # steps count from 1
    np.testing.assert_allclose(lr, want, rtol=1e-12, atol=0)


def test_defaults_agree_between_python_and_c():
    """The measured defaults (benchmarks/bench_vlsae_defaults.py): a constant lr and no AuxK, in Python and
    in lamina_vlsae_default_params alike; the paper's n_latents = 8 d, k = 256, lr 1e-3, batch 512."""
    c = N.lib.lamina_vlsae_default_params()
    py = VLSparseAutoencoder(512, 512)._params()
    for field in ("n_latents", "k", "lr", "batch_size", "auxk_alpha", "k_aux", "warmup_steps", "decay",
                  "decay_steps", "dead_tokens", "weight_vision", "weight_text", "shuffle", "seed"):
        assert getattr(py, field) == getattr(c, field), field
    assert c.auxk_alpha == 0 and c.warmup_steps == 0 and c.decay == 0
    assert (c.n_latents, c.k, c.lr, c.batch_size) == (4096, 256, 1e-3, 512)
    vl = VLSparseAutoencoder(8, 8, 32, k=3, batch_size=32, dead_tokens=0).fit(*_data(d=8, n=96), epochs=2)
    assert np.all(vl.history_["auxk"] == 0)           # every latent is dead at once, and AuxK stays off


# -- checkpoints -----------------------------------------------------------------------------------------

def _data(seed=3, n=200, d=10):
    rng = np.random.default_rng(seed)
    V = rng.standard_normal((n, d)).astype(np.float32)
    T = (0.7 * V + 0.5 * rng.standard_normal((n, d))).astype(np.float32)
    return V, T


def _params(**kw):
    p = dict(n_latents=48, k=3, batch_size=32, lr=5e-3, random_state=11, dead_tokens=40, auxk_alpha=0.1,
             decay="cosine", warmup_steps=2)
    p.update(kw)
    return p


@pytest.mark.parametrize("stop_at", [3, 7, 14])     # inside epoch 1, exactly at its end, inside epoch 3
def test_checkpoint_resume_is_bit_identical(tmp_path, stop_at):
    V, T = _data()
    epochs = 3                                          # 7 batches per epoch (the last of 8 pairs)
    full = VLSparseAutoencoder(10, 10, **_params()).fit(V, T, epochs=epochs)
    assert np.any(full.history_["auxk"] > 0)            # AuxK takes part in what is resumed

    def stop(info):
        return info["step"] >= stop_at
    part = VLSparseAutoencoder(10, 10, **_params(), callback=stop)
    with pytest.raises(lamina.CancelledError):
        part.fit(V, T, epochs=epochs)
    path = tmp_path / "sub" / "vl.ckpt"
    part.save_checkpoint(path)
    resumed = load_vlsae_checkpoint(path)
    assert resumed.position_ == (epochs, stop_at // 7, stop_at % 7)
    resumed.fit(V, T, epochs=epochs, resume=True)
    for name in TENSORS:
        assert np.array_equal(resumed.get_tensor(name), full.get_tensor(name)), name
    for key, v in full.history_.items():
        assert np.array_equal(resumed.history_[key], v), key
    # the cancelled object itself also continues its run
    part.callback = None
    part.fit(V, T, epochs=epochs, resume=True)
    for name in TENSORS:
        assert np.array_equal(part.get_tensor(name), full.get_tensor(name)), name


def test_resume_refuses_other_epochs_or_data(tmp_path):
    V, T = _data()
    part = VLSparseAutoencoder(10, 10, **_params(), callback=lambda info: info["step"] >= 4)
    with pytest.raises(lamina.CancelledError):
        part.fit(V, T, epochs=2)
    part.save_checkpoint(tmp_path / "c")
    r = load_vlsae_checkpoint(tmp_path / "c")
    with pytest.raises(lamina.InvalidArgumentError, match="epochs = 2"):
        r.fit(V, T, epochs=3, resume=True)
    with pytest.raises(lamina.InvalidArgumentError, match="200 pairs"):
        r.fit(V[:150], T[:150], epochs=2, resume=True)
    r.fit(V, T, epochs=2, resume=True)                  # the right call still works after the refusals
    assert r.position_ == (2, 2, 0)


def test_a_refused_call_starts_no_run():
    V, T = _data()
    vl = VLSparseAutoencoder(10, 10, **_params()).fit(V, T, epochs=1)
    Tz = T.copy()
    Tz[5] = 0
    with pytest.raises(lamina.InvalidArgumentError, match="text row 5 has norm 0"):
        vl.fit(V, Tz, epochs=3, resume=True)
    vl.fit(V, T, epochs=2, resume=True)                 # a new run of 2 epochs, not the refused one of 3
    assert vl.position_ == (2, 2, 0) and len(vl.history_["loss"]) == 7 + 14


def test_checkpoint_loader_refuses_other_files(tmp_path):
    V, T = _data()
    vl = VLSparseAutoencoder(10, 10, **_params()).fit(V, T, epochs=1)
    vl.save_checkpoint(tmp_path / "ok")
    sae = lamina.sae.SparseAutoencoder(n_latents=16, k=2, batch_size=32).fit(V, epochs=1)
    sae.save_checkpoint(tmp_path / "sae")
    with pytest.raises(lamina.FormatError, match="lamina_sae_checkpoint"):
        load_vlsae_checkpoint(tmp_path / "sae")
    with pytest.raises(lamina.LaminaIOError):
        load_vlsae_checkpoint(tmp_path / "missing")
    data = (tmp_path / "ok").read_bytes()
    (tmp_path / "cut").write_bytes(data[: len(data) // 2])
    with pytest.raises(lamina.FormatError):
        load_vlsae_checkpoint(tmp_path / "cut")
    # a failed save leaves the old file whole
    before = (tmp_path / "ok").read_bytes()
    with pytest.raises(lamina.LaminaError):
        vl.save_checkpoint(tmp_path / "nodir" / "x" / "\0bad")
    assert (tmp_path / "ok").read_bytes() == before


# -- HDF5 sources ----------------------------------------------------------------------------------------

def test_hdf5_training_equals_in_memory_and_refuses_mismatches(tmp_path):
    h5py = pytest.importorskip("h5py")
    V, T = _data(n=150)
    f = tmp_path / "pairs.h5"
    with h5py.File(f, "w") as h:
        h["img/emb"] = V
        h["txt"] = T.astype(np.float16)
        h["short"] = T[:100]
        h["wide"] = np.ones((150, 12), dtype=np.float32)
    T16 = T.astype(np.float16).astype(np.float32)
    # in row order, the streamed batches are the in-memory ones: bit-identical models
    mem = VLSparseAutoencoder(10, 10, **_params(shuffle=False)).fit(V, T16, epochs=2)
    h5 = VLSparseAutoencoder(10, 10, **_params(shuffle=False)).fit(str(f), vision_dataset="img/emb",
                                                                     text_dataset="txt", epochs=2)
    for name in TENSORS:
        assert np.array_equal(mem.get_tensor(name), h5.get_tensor(name)), name
    # shuffled: deterministic, and a checkpoint resumes on the file bit-identically
    a = VLSparseAutoencoder(10, 10, **_params()).fit(str(f), vision_dataset="img/emb", text_dataset="txt", epochs=2)
    part = VLSparseAutoencoder(10, 10, **_params(), callback=lambda info: info["step"] >= 6)
    with pytest.raises(lamina.CancelledError):
        part.fit(str(f), vision_dataset="img/emb", text_dataset="txt", epochs=2)
    part.save_checkpoint(tmp_path / "c")
    b = load_vlsae_checkpoint(tmp_path / "c").fit(str(f), vision_dataset="img/emb", text_dataset="txt", epochs=2,
                                                  resume=True)
    for name in TENSORS:
        assert np.array_equal(a.get_tensor(name), b.get_tensor(name)), name
    assert not np.array_equal(a.get_tensor("W_enc"), h5.get_tensor("W_enc"))   # the order is shuffled
    with pytest.raises(lamina.ShapeMismatchError, match="'img/emb' has 150 rows but dataset 'short' has 100"):
        VLSparseAutoencoder(10, 10, **_params()).fit(str(f), vision_dataset="img/emb", text_dataset="short")
    with pytest.raises(lamina.ShapeMismatchError, match="'wide' has 12 features"):
        VLSparseAutoencoder(10, 10, **_params()).fit(str(f), vision_dataset="img/emb", text_dataset="wide")
    with pytest.raises(lamina.InvalidArgumentError, match="nope"):
        VLSparseAutoencoder(10, 10, **_params()).fit(str(f), vision_dataset="nope", text_dataset="txt")
    with pytest.raises(lamina.InvalidArgumentError, match="text_dataset"):
        VLSparseAutoencoder(10, 10, **_params()).fit(str(f), vision_dataset="img/emb")
    with pytest.raises(lamina.LaminaIOError):
        VLSparseAutoencoder(10, 10, **_params()).fit(str(tmp_path / "none.h5"), vision_dataset="a", text_dataset="b")


def test_hdf5_zero_row_and_nan_are_named(tmp_path):
    h5py = pytest.importorskip("h5py")
    V, T = _data(n=80)
    Tz = T.copy(); Tz[61] = 0
    Vn = V.copy(); Vn[17, 3] = np.nan
    f = tmp_path / "bad.h5"
    with h5py.File(f, "w") as h:
        h["v"], h["t"], h["tz"], h["vn"] = V, T, Tz, Vn
    with pytest.raises(lamina.InvalidArgumentError, match="text row 61 has norm 0"):
        VLSparseAutoencoder(10, 10, **_params()).fit(str(f), vision_dataset="v", text_dataset="tz")
    with pytest.raises(lamina.NonFiniteError, match="row 17, column 3"):
        VLSparseAutoencoder(10, 10, **_params()).fit(str(f), vision_dataset="vn", text_dataset="t")


# -- a reducer in one process ----------------------------------------------------------------------------

class FakeReducer:
    """Plays rank 0 of `size` ranks whose other ranks hold the same rows (a sum = size x the values)."""
    def __init__(self, size=1, fail_at=None):
        self.rank, self.size, self.calls, self.fail_at = 0, size, 0, fail_at
        self.fn = N.ReduceFn(self._reduce)

    def _reduce(self, buf, count, dtype, user):
        self.calls += 1
        if self.fail_at is not None and self.calls >= self.fail_at:
            return 4
        ctype = ctypes.c_float if dtype == N.LAMINA_DTYPE_FLOAT32 else ctypes.c_double
        a = np.ctypeslib.as_array((ctype * count).from_address(buf))
        a *= self.size
        return 0


def _reduced_fit(vl, V, T, reducer, epochs):
    vl.initialize(V.shape[1], T.shape[1])
    N.call("lamina_vlsae_set_reducer", vl._handle, reducer.fn, None, reducer.rank, reducer.size)
    try:
        N.call("lamina_vlsae_train", vl._handle, V.ctypes.data_as(ctypes.c_void_p), T.ctypes.data_as(ctypes.c_void_p),
               2, V.shape[0], V.shape[1], T.shape[1], epochs, N.ProgressFn(), None)
    finally:
        N.call("lamina_vlsae_set_reducer", vl._handle, N.ReduceFn(), None, 0, 1)
    return vl


def test_one_rank_reducer_equals_plain_training():
    V, T = _data(n=96)
    plain = VLSparseAutoencoder(10, 10, **_params(shuffle=False)).fit(V, T, epochs=2)
    r = FakeReducer(1)
    red = _reduced_fit(VLSparseAutoencoder(10, 10, **_params(shuffle=False)), V, T, r, 2)
    assert r.calls >= 2 * 2 * 3
    np.testing.assert_allclose(red.history_["loss"], plain.history_["loss"], rtol=1e-5)
    for name in TENSORS:
        np.testing.assert_allclose(red.get_tensor(name), plain.get_tensor(name), rtol=0, atol=2e-5, err_msg=name)


def test_reducer_failure_and_bad_arguments():
    V, T = _data(n=96)
    vl = VLSparseAutoencoder(10, 10, **_params())
    with pytest.raises(lamina.LaminaError, match="reducer returned status 4"):
        _reduced_fit(vl, V, T, FakeReducer(1, fail_at=4), 1)
    steps = ctypes.c_int64()
    N.call("lamina_vlsae_get_state", vl._handle, ctypes.byref(steps), None)
    assert steps.value == 0           # the failure came before the first update
    with pytest.raises(lamina.InvalidArgumentError, match="rank is 2"):
        N.call("lamina_vlsae_set_reducer", vl._handle, FakeReducer(1).fn, None, 2, 2)
    with pytest.raises(lamina.InvalidArgumentError, match="world_size is 64 but batch_size is 32"):
        N.call("lamina_vlsae_set_reducer", vl._handle, FakeReducer(1).fn, None, 0, 64)
    with pytest.raises(lamina.InvalidArgumentError, match="fn is NULL"):
        N.call("lamina_vlsae_set_reducer", vl._handle, N.ReduceFn(), None, 1, 2)


# -- two ranks under mpirun ------------------------------------------------------------------------------

def _mpi_missing():
    if shutil.which("mpirun") is None:
        return "mpirun not found (install openmpi-bin)"
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return "mpi4py not installed"
    return None


MISSING = _mpi_missing()
mpi = pytest.mark.skipif(MISSING is not None, reason=f"2-rank MPI tests skipped: {MISSING}")


def mpirun(np_, *args, timeout=300):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [os.path.dirname(HERE), env.get("PYTHONPATH")]))
    env["OMPI_MCA_rmaps_base_oversubscribe"] = "1"
    cmd = ["mpirun", "--allow-run-as-root", "--oversubscribe", "-np", str(np_), sys.executable, "-m", "mpi4py",
           os.path.join(HERE, "mpi_vlsae_worker.py"), *map(str, args)]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {r.returncode}\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
    return r


def mpi_params():
    return dict(n_latents=48, k=3, batch_size=32, lr=5e-3, random_state=11, dead_tokens=40, auxk_alpha=0.1)


@mpi
def test_two_ranks_equal_one_process(tmp_path):
    h5py = pytest.importorskip("h5py")
    V, T = _data(n=192)
    rng = np.random.default_rng(8)
    Tp = (V[:, :7] + 0.5 * rng.standard_normal((192, 7))).astype(np.float32)     # d_text = 7 != d_vision = 10
    Pv, Pt = rng.standard_normal((6, 10)).astype(np.float32), rng.standard_normal((6, 7)).astype(np.float32)
    np.savez(tmp_path / "d.npz", V=V, T=T, Tp=Tp, Pv=Pv, Pt=Pt)
    f = tmp_path / "pairs.h5"
    with h5py.File(f, "w") as h:
        h["v"], h["t"] = V, T
    mpirun(2, tmp_path, tmp_path / "d.npz", f)
    one_mem = VLSparseAutoencoder(10, 10, **mpi_params(), shuffle=False).fit(V, T, epochs=2)
    one_file = VLSparseAutoencoder(10, 10, **mpi_params()).fit(str(f), vision_dataset="v", text_dataset="t", epochs=2)
    one_proj = VLSparseAutoencoder(**mpi_params(), shuffle=False, projections=(Pv, Pt)).fit(V, Tp, epochs=2)
    assert np.any(one_mem.history_["auxk"] > 0)
    assert np.array_equal(np.load(tmp_path / "projected_2.npz")["P_text"], Pt)
    for tag, one in (("memory", one_mem), ("file", one_file), ("projected", one_proj)):
        two = np.load(tmp_path / f"{tag}_2.npz")
        np.testing.assert_allclose(two["loss"], one.history_["loss"], rtol=1e-4, err_msg=tag)
        for name in TENSORS:
            # float rounding only: each rank sums its rows before the ranks are added
            np.testing.assert_allclose(two[name], one.get_tensor(name), rtol=0, atol=2e-4, err_msg=f"{tag} {name}")


# -- the WordNet text-text stand-in pair -----------------------------------------------------------------

WORDNET = os.path.join(HERE, os.pardir, os.pardir, os.pardir, "examples", "data", "wordnet_pairs.npz")


@pytest.mark.skipif(not os.path.exists(WORDNET), reason="examples/data/wordnet_pairs.npz not present")
def test_wordnet_definitions_and_examples_share_concepts():
    """WordNet 3.0 definitions ("vision" side) and an example sentence of the same synset ("text" side),
    both MiniLM embeddings (float16): a pair's active concept sets overlap far more than shuffled pairs',
    and a definition's concept vector retrieves its own example far above chance (1 / 1600)."""
    d = np.load(WORDNET)
    V, T = d["definition"], d["example"]
    assert V.shape == T.shape == (1600, 384) and V.dtype == np.float16
    vl = VLSparseAutoencoder(384, 384, 1024, k=16, batch_size=64, random_state=0).fit(V, T, epochs=10)
    h = vl.history_
    assert h["fvu_vision"][-5:].mean() < 0.6 and h["fvu_text"][-5:].mean() < 0.6
    V32, T32 = V.astype(np.float32), T.astype(np.float32)
    rep = vl.concept_report(V32, T32, top=5)
    assert rep["agreement"] > 2 * rep["agreement_shuffled"], (rep["agreement"], rep["agreement_shuffled"])
    zv, zt = vl.encode(V32, "vision"), vl.encode(T32, "text")
    zv /= np.linalg.norm(zv, axis=1, keepdims=True)
    zt /= np.linalg.norm(zt, axis=1, keepdims=True)
    top1 = np.mean((zv @ zt.T).argmax(axis=1) == np.arange(len(V)))
    assert top1 > 0.03, top1
