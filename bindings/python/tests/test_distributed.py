"""Distributed SAE training (lamina.distributed, header section 15): the reducer path in one process, and the
2-rank runs under `mpirun -np 2` (skipped, saying so, when mpirun or mpi4py is missing)."""
import ctypes
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import lamina
from lamina import _native as N
from lamina.sae import SparseAutoencoder

HERE = os.path.dirname(os.path.abspath(__file__))
WORKER = os.path.join(HERE, "mpi_worker.py")


def weights(s):
    return dict(W_enc=s.W_enc_, b_enc=s.b_enc_, W_dec=s.W_dec_, b_dec=s.b_dec_, threshold=s.threshold_)


def params(**kw):
    p = dict(n_latents=64, architecture="topk", k=4, auxk_alpha=0.0, batch_size=64, random_state=3, lr=1e-3)
    p.update(kw)
    return p


class OneRank:
    """A one-rank communicator (no MPI needed)."""
    def Get_rank(self): return 0
    def Get_size(self): return 1
    def allgather(self, x): return [x]


class FakeReducer:
    """A reducer for rank 0 of `size` that fails (status 4) at call `fail_at`, or plays a second rank whose
    agreement vector differs at one entry."""
    def __init__(self, size=1, fail_at=None, tamper=False):
        self.rank, self.size, self.calls, self.fail_at, self.tamper = 0, size, 0, fail_at, tamper
        self.fn = N.ReduceFn(self._reduce)

    def _reduce(self, buf, count, dtype, user):
        self.calls += 1
        if self.fail_at is not None and self.calls >= self.fail_at:
            return 4
        ctype = ctypes.c_float if dtype == N.LAMINA_DTYPE_FLOAT32 else ctypes.c_double
        a = np.ctypeslib.as_array((ctype * count).from_address(buf))
        if self.size == 2:
            if self.tamper and count % 2 == 0 and dtype == N.LAMINA_DTYPE_FLOAT64 and count > 2:
                half = count // 2
                a[half:] = a[:half]
                a[half + 3] += 1        # "rank 1" has another batch_size
            else:
                a *= 2                  # rank 1 contributes the same values
        return 0


@pytest.mark.parametrize("arch", ["topk", "relu", "jumprelu"])
def test_one_rank_reducer_path_is_bit_identical(arch):
    X = np.random.default_rng(0).standard_normal((512, 16)).astype(np.float32)
    p = params(architecture=arch)
    a = SparseAutoencoder(**p).fit(X, shuffle=False)
    b = SparseAutoencoder(**p).fit(X, shuffle=False, comm=OneRank())
    # 3 agreements + the b_dec reduction, then per step one (topk: two, with the batch variance)
    assert b.reducer_calls_ == 4 + 8 * (2 if arch == "topk" else 1)
    for k, v in weights(a).items():
        assert np.array_equal(v, weights(b)[k]), k
    c = SparseAutoencoder(**p).fit(X)    # shuffle=True differs from rows in order
    assert not np.array_equal(a.W_enc_, c.W_enc_)


@pytest.mark.parametrize("name,kw,calls", [
    # per step: batch variance, 3 radix rounds, ties + saturation, the step (+ AuxK's residual variance)
    ("batchtopk", dict(architecture="batchtopk"), 6),
    ("matryoshka", dict(architecture="matryoshka_batchtopk", group_widths=[16, 64]), 6),
    ("auxk", dict(n_latents=256, auxk_alpha=1 / 32, dead_tokens=128), None),
    ("geometric_median", dict(b_dec_init="geometric_median"), 2)])
def test_one_rank_reducer_path_new_options(name, kw, calls):
    """The distributed forms of BatchTopK's global selection, AuxK's global variance and the Weiszfeld
    geometric median, run with one rank: the same model as without a reducer, bit for bit."""
    X = (np.random.default_rng(0).standard_normal((1024, 16)) * 2 + 0.5).astype(np.float32)
    p = params(**kw)
    a = SparseAutoencoder(**p).fit(X, shuffle=False, epochs=2)
    b = SparseAutoencoder(**p).fit(X, shuffle=False, epochs=2, comm=OneRank())
    if name == "geometric_median":
        assert b.reducer_calls_ > 4 + 32 * calls      # + one reduction per Weiszfeld iteration
    elif calls is not None:
        assert b.reducer_calls_ >= 4 + 32 * calls     # (+ 4 per widened candidate cap)
    if name == "auxk":
        assert (a.history_["auxk"] > 0).sum() > 10
    for k, v in weights(a).items():
        assert np.array_equal(v, weights(b)[k]), (name, k)
    for k, v in a.history_.items():
        np.testing.assert_allclose(b.history_[k], v, rtol=1e-5, atol=1e-7, err_msg=f"{name} {k}")


def test_shuffle_false_takes_rows_in_order():
    X = np.random.default_rng(1).standard_normal((256, 16)).astype(np.float32)
    p = params(batch_size=64)
    a = SparseAutoencoder(**p).fit(X, shuffle=False)
    # the same rows in the same batches, rows permuted inside each batch: same model to rounding
    Y = np.concatenate([X[i * 64:(i + 1) * 64][::-1] for i in range(4)])
    b = SparseAutoencoder(**p).fit(Y, shuffle=False)
    np.testing.assert_allclose(a.W_dec_, b.W_dec_, rtol=0, atol=1e-5)
    c = SparseAutoencoder(**p).fit(X[::-1].copy(), shuffle=False)
    assert np.abs(a.W_dec_ - c.W_dec_).max() > 1e-4


def test_reducer_error_stops_at_last_completed_step():
    X = np.random.default_rng(2).standard_normal((512, 16)).astype(np.float32)
    s = SparseAutoencoder(**params())
    r = FakeReducer(fail_at=10)     # 4 calls before training, then 2 per topk step: fails in step 3
    with pytest.raises(lamina.LaminaIOError, match="reducer returned status 4"):
        s._fit(X, shuffle=False, reducer=r)
    assert s.n_steps_ == 2
    ref = SparseAutoencoder(**params())   # the same run stopped by its callback after step 2
    with pytest.raises(lamina.CancelledError):
        ref._fit(X, shuffle=False, reducer=FakeReducer(), callback=lambda info: True if info["step"] == 2 else None)
    np.testing.assert_array_equal(s.W_enc_, ref.W_enc_)


def test_disagreeing_rank_is_named():
    X = np.random.default_rng(3).standard_normal((512, 16)).astype(np.float32)
    with pytest.raises(lamina.InvalidArgumentError, match=r"rank 1 disagrees with rank 0 before training: batch_size"):
        SparseAutoencoder(**params())._fit(X, reducer=FakeReducer(size=2, tamper=True))


def test_set_reducer_bad_input():
    s = SparseAutoencoder(**params()).fit(np.zeros((64, 16), np.float32) + 1)
    fn = N.ReduceFn(lambda *a: 0)
    with pytest.raises(lamina.InvalidArgumentError, match="rank is 2"):
        N.call("lamina_sae_set_reducer", s._handle, fn, None, 2, 2)
    with pytest.raises(lamina.InvalidArgumentError, match="world_size is 0"):
        N.call("lamina_sae_set_reducer", s._handle, fn, None, 0, 0)
    with pytest.raises(lamina.InvalidArgumentError, match="shuffle is 2"):
        N.call("lamina_sae_set_shuffle", s._handle, 2)


# ---- two ranks under mpirun ------------------------------------------------------------------------------

def _mpi_missing():
    if shutil.which("mpirun") is None:
        return "mpirun not found (install openmpi-bin)"
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return "mpi4py not installed"
    return None


MISSING = _mpi_missing()
if MISSING:
    print(f"\nNOTE: the 2-rank MPI tests are SKIPPED: {MISSING}", file=sys.stderr)
mpi = pytest.mark.skipif(MISSING is not None, reason=f"2-rank MPI tests skipped: {MISSING}")


def mpirun(np_, *args, timeout=240, check=True):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [os.path.dirname(HERE), env.get("PYTHONPATH")]))
    env["OMPI_MCA_rmaps_base_oversubscribe"] = "1"
    cmd = ["mpirun", "--allow-run-as-root", "--oversubscribe", "-np", str(np_), sys.executable, "-m", "mpi4py",
           WORKER, *map(str, args)]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {r.returncode}\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
    return r


def _data(tmp_path):
    X = np.random.default_rng(5).standard_normal((63 * 64, 16)).astype(np.float32) * 2 + 0.5
    path = tmp_path / "x.npy"
    np.save(path, X)
    return X, path


# name -> parameters, as MEMORY_RUNS in mpi_worker.py
MEMORY_RUNS = dict(topk={}, relu=dict(architecture="relu"), jumprelu=dict(architecture="jumprelu"),
                   odd=dict(batch_size=63), batchtopk=dict(architecture="batchtopk"),
                   batchtopk_odd=dict(architecture="batchtopk", batch_size=63),
                   matryoshka=dict(architecture="matryoshka_batchtopk", group_widths=[16, 64]),
                   auxk=dict(n_latents=256, auxk_alpha=1 / 32, dead_tokens=256),
                   batchtopk_auxk=dict(architecture="batchtopk", n_latents=256, auxk_alpha=1 / 32, dead_tokens=256),
                   geometric_median=dict(b_dec_init="geometric_median"))
# R = 2 against R = 1 on the same global batches: float rounding only (each rank sums its rows before the
# ranks are added), measured max |diff| <= 1e-6 on these runs; a wrong selection, tie or normalisation
# moves weights by ~lr = 1e-3.
WEIGHT_ATOL = 1e-5


@mpi
def test_two_ranks_in_memory_equal_one_process(tmp_path):
    X, path = _data(tmp_path)
    mpirun(2, "memory", tmp_path, path)
    worst = {}
    for arch, kw in MEMORY_RUNS.items():
        p = params(**kw)
        ref = SparseAutoencoder(**p).fit(X[: (X.shape[0] // p["batch_size"]) * p["batch_size"]],
                                         shuffle=False, epochs=2)
        two = np.load(tmp_path / f"memory_{arch}_2.npz")
        worst[arch] = max(float(np.abs(two[k] - v).max()) for k, v in weights(ref).items())
        for k, v in weights(ref).items():
            np.testing.assert_allclose(two[k], v, rtol=0, atol=WEIGHT_ATOL, err_msg=f"{arch} {k}")
        # the reported loss terms are the global batch's
        for k, v in ref.history_.items():
            np.testing.assert_allclose(two[f"history_{k}"], v, rtol=1e-4, atol=1e-6, err_msg=f"{arch} {k}")
        if p["auxk_alpha"] > 0:
            assert (ref.history_["auxk"] > 0).sum() > 10, arch     # AuxK was active
    print("max |weight diff| 2 ranks vs 1 process:", {k: f"{v:.1e}" for k, v in worst.items()})
    # a repeated 2-rank run is bit-identical (fixed reduction order)
    first = {arch: dict(np.load(tmp_path / f"memory_{arch}_2.npz")) for arch in ("topk", "batchtopk")}
    mpirun(2, "memory", tmp_path, path, "topk,batchtopk")
    for arch, saved in first.items():
        again = np.load(tmp_path / f"memory_{arch}_2.npz")
        for k in weights(ref):
            assert np.array_equal(again[k], saved[k]), (arch, k)


@mpi
def test_two_ranks_batchtopk_ties_across_ranks(tmp_path):
    """Both ranks pass the same rows, so every candidate value is tied across the ranks and the k*B-th
    largest is always a tie: the ranks must split the kept ties exactly (lower rank first) so that exactly
    k*B codes are kept, as one process does on batches holding every row twice."""
    X, path = _data(tmp_path)
    mpirun(2, "duplicate", tmp_path, path)
    for arch, kw in [("batchtopk", dict(architecture="batchtopk")),
                     ("matryoshka", dict(architecture="matryoshka_batchtopk", group_widths=[16, 64]))]:
        p = params(**kw)
        local = p["batch_size"] // 2
        Xl = X[: (X.shape[0] // local) * local]
        doubled = np.concatenate([np.concatenate([b, b]) for b in np.split(Xl, Xl.shape[0] // local)])
        ref = weights(SparseAutoencoder(**p).fit(doubled, shuffle=False))
        two = np.load(tmp_path / f"duplicate_{arch}_2.npz")
        print(f"duplicate rows, {arch}: max |weight diff| {max(float(np.abs(two[k] - v).max()) for k, v in ref.items()):.1e}")
        for k, v in ref.items():
            np.testing.assert_allclose(two[k], v, rtol=0, atol=WEIGHT_ATOL, err_msg=f"{arch} {k}")


@mpi
def test_two_ranks_file_equal_one_process_and_resume_on_other_rank_count(tmp_path):
    h5py = pytest.importorskip("h5py")
    X, _ = _data(tmp_path)
    f = tmp_path / "acts.h5"
    with h5py.File(f, "w") as h:
        h["acts"] = X
    mpirun(2, "file", tmp_path, f)
    one = weights(SparseAutoencoder(**params()).fit(str(f), dataset="acts", epochs=2))
    two = np.load(tmp_path / "file_2.npz")
    for k, v in one.items():
        np.testing.assert_allclose(two[k], v, rtol=0, atol=2e-4, err_msg=k)
    # a checkpoint written by rank 0 of a 2-rank run resumes on 1 process (and on 2 ranks)
    resumed = lamina.sae.load_checkpoint(str(tmp_path / "ckpt_2")).fit(str(f), dataset="acts", epochs=2, resume=True)
    for k, v in one.items():
        np.testing.assert_allclose(weights(resumed)[k], v, rtol=0, atol=2e-4, err_msg=k)
    mpirun(2, "resume", tmp_path, tmp_path / "ckpt_2", f)
    for k, v in one.items():
        np.testing.assert_allclose(np.load(tmp_path / "resume_2.npz")[k], v, rtol=0, atol=2e-4, err_msg=k)


@mpi
def test_two_ranks_disagreement_and_missing_file_are_named(tmp_path):
    mpirun(2, "disagree", tmp_path, timeout=120)
    for r in (0, 1):
        msg = (tmp_path / f"disagree_{r}.txt").read_text()
        assert "InvalidArgumentError" in msg and "fingerprint" in msg and f"rank {1 - r} disagrees" in msg, msg
    X, _ = _data(tmp_path)
    h5py = pytest.importorskip("h5py")
    f = tmp_path / "acts.h5"
    with h5py.File(f, "w") as h:
        h["acts"] = X
    mpirun(2, "missing", tmp_path, f, timeout=120)
    assert "rank 1 failed before training" in (tmp_path / "missing_0.txt").read_text()
    assert "Error" in (tmp_path / "missing_1.txt").read_text()   # its own error


@mpi
def test_a_rank_that_dies_ends_the_job(tmp_path):
    r = mpirun(2, "die", tmp_path, timeout=120, check=False)
    assert r.returncode != 0


@mpi
@pytest.mark.skipif(shutil.which("mpicc") is None or shutil.which("pkg-config") is None, reason="mpicc missing")
def test_c_mpi_example_matches_one_process():
    root = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
    lib = os.path.join(root, ".build", "release")
    pc = os.path.join(root, "build")
    if not os.path.exists(os.path.join(pc, "lamina.pc")):
        pytest.skip("build/lamina.pc missing (make build)")
    r = subprocess.run(["make", "-s", "-C", os.path.join(root, "examples", "c"), "mpi-run", f"LAMINA_PC_DIR={pc}"],
                       capture_output=True, text=True, timeout=300, env=dict(os.environ, LD_LIBRARY_PATH=lib))
    assert r.returncode == 0, r.stdout + r.stderr
    diff = float(r.stdout.strip().split("=")[-1])
    assert diff < 1e-5, r.stdout


# ---- mergeable statistics ---------------------------------------------------------------------------------

def _stats_data():
    rng = np.random.default_rng(7)
    # 3072 rows = 6 encoder blocks of 512: the 2-rank split (1536 each) starts every shard on a block
    # boundary (see test_latent_stats_partials_merged_from_shards_equal_one_machine)
    n = 3072
    X = (rng.standard_normal((n, 12)) * 3 + 50).astype(np.float32)
    Y = (X[:, :6] @ rng.standard_normal((6, 9)) + rng.standard_normal((n, 9))).astype(np.float32)
    return X, Y, rng.integers(0, 5, n), rng.integers(0, 7, n)


LATENT_EXACT = ("count", "max", "min_nonzero", "histogram", "top_rows", "top_values")


def _one_machine(X, Y, lt, lp):
    from lamina import geometry, metrics
    return dict(ch=metrics.calinski_harabasz_score(X, lt), db=metrics.davies_bouldin_score(X, lt),
                ari=metrics.adjusted_rand_score(lt, lp), nmi=metrics.normalized_mutual_info_score(lt, lp),
                ami=metrics.adjusted_mutual_info_score(lt, lp), cka=geometry.linear_cka(X, Y),
                dcka=geometry.linear_cka(X, Y, debiased=True),
                nmi_geo=metrics.normalized_mutual_info_score(lt, lp, average_method="geometric"),
                ami_max=metrics.adjusted_mutual_info_score(lt, lp, average_method="max"))


def test_partials_merged_from_shards_equal_one_machine():
    from lamina import distributed as D
    X, Y, lt, lp = _stats_data()
    shards = [slice(0, 700), slice(700, 2100), slice(2100, 3072)]
    m1 = D.merge(*[D.class_sums_partial(X[s], lt[s], 5) for s in shards])
    cent, _ = D.centroids_finalize(m1)
    m2 = D.merge(*[D.class_spread_partial(X[s], lt[s], cent) for s in shards])
    table = D.merge(*[D.contingency_partial(lt[s], lp[s]) for s in shards])
    c1 = D.merge(*[D.column_sums_partial(X[s], Y[s]) for s in shards])
    n = c1["n"][0]
    c2 = D.merge(*[D.cka_cross_partial(X[s], Y[s], c1["sum_x"] / n, c1["sum_y"] / n) for s in shards])
    c3 = D.merge(*[D.cka_cross_partial(X[s], Y[s], c1["sum_x"] / n, c1["sum_y"] / n, debiased=True) for s in shards])
    got = dict(ch=D.calinski_harabasz_finalize(m1, m2), db=D.davies_bouldin_finalize(m1, m2),
               ari=D.contingency_finalize(table, "ari"), nmi=D.contingency_finalize(table, "nmi"),
               ami=D.contingency_finalize(table, "ami"), cka=D.linear_cka_finalize(c2),
               dcka=D.linear_cka_finalize(c3), nmi_geo=D.contingency_finalize(table, "nmi", "geometric"),
               ami_max=D.contingency_finalize(table, "ami", "max"))
    for k, v in _one_machine(X, Y, lt, lp).items():
        assert got[k] == pytest.approx(v, rel=1e-12, abs=1e-15), k
    # the sklearn definitions too
    from sklearn import metrics as skm
    assert got["ch"] == pytest.approx(skm.calinski_harabasz_score(X, lt), rel=1e-10)
    with pytest.raises(lamina.InvalidArgumentError, match=r"labels\[\d+\] is [34]; expected a global cluster id"):
        D.class_sums_partial(X, lt, 3)


def test_latent_stats_partials_merged_from_shards_equal_one_machine():
    """Per-latent SAE statistics: the native pass on shards, merged, equals the pass over all rows.

    Bit for bit only where every shard encodes the same row blocks as the one pass: OpenBLAS's sgemm
    result for a row can change by 1 ulp with the call's row count and the row's place in it (seen on
    Zen 4), so the shards start on multiples of the encoder's 512-row block."""
    from lamina import distributed as D
    X, Y, lt, lp = _stats_data()
    shards = [slice(0, 512), slice(512, 2048), slice(2048, 3072)]
    sae = SparseAutoencoder(n_latents=32, k=4, batch_size=256, auxk_alpha=0.0, random_state=0).fit(X)
    full = D.latent_stats_partial(sae, X, 0, 5)
    merged = D.merge(*[D.latent_stats_partial(sae, X[s], s.start, 5) for s in shards])
    assert merged.n_rows == full.n_rows == X.shape[0]
    for k in LATENT_EXACT:
        assert np.array_equal(getattr(full, k), getattr(merged, k)), k
    np.testing.assert_allclose(merged.sum, full.sum, rtol=1e-12)
    z = sae.encode(X).astype(np.float64)
    assert np.array_equal(full.count, (z > 0).sum(0))
    np.testing.assert_allclose(full.sum, z.sum(0), rtol=1e-12)
    assert np.array_equal(full.top_values[:, 0], np.where((z > 0).any(0), z.max(0), 0).astype(np.float32))
    fired = (z > 0).any(0)
    assert np.array_equal(z[full.top_rows[fired, 0], np.flatnonzero(fired)], z.max(0)[fired])


def _rel(a, b):
    return abs(a - b) / max(abs(b), 1e-300)


def test_contingency_partials_with_labels_absent_elsewhere_equal_one_machine():
    """Uneven shards, label values (negative, large, gaps) seen by one shard only, an empty shard: the merged
    cells give the one-machine ARI / NMI / AMI for every average method, bit for bit, in any merge order."""
    from lamina import distributed as D, metrics
    rng = np.random.default_rng(3)
    n = 2500
    lt = rng.choice([-7, 0, 1, 2, 5, 40], n)
    lp = np.where(rng.random(n) < 0.6, lt * 3, rng.integers(-3, 9, n))
    cuts = [0, 13, 13, 900, 2500]                    # sizes 13, 0, 887, 1600
    lt[900:] = np.where(lt[900:] == 40, 1, lt[900:])  # label 40 (true) only in the first shards
    lt[0:13] = 1_000_000                              # a value only the first shard has
    lp[2000:2010] = -2_000_000_000                    # a predicted value only the last shard has
    shards = [slice(a, b) for a, b in zip(cuts[:-1], cuts[1:])]
    parts = [D.contingency_partial(lt[s], lp[s]) for s in shards]
    assert parts[1]["count"].shape == (0,)
    for p in parts:   # sorted by (label_true, label_pred), one cell per pair, counts > 0
        keys = list(zip(p["label_true"].tolist(), p["label_pred"].tolist()))
        assert keys == sorted(set(keys)) and (p["count"] > 0).all()
    merged = D.merge(*parts)
    assert merged["count"].sum() == n
    for order in ([3, 0, 2, 1], [1, 2, 3, 0]):
        other = D.merge(*[parts[i] for i in order])
        assert all(np.array_equal(merged[k], other[k]) for k in merged)
    # finalize takes unmerged (concatenated) cells too
    concat = {k: np.concatenate([p[k] for p in parts[::-1]]) for k in merged}
    assert D.contingency_finalize(concat, "ami") == D.contingency_finalize(merged, "ami")
    assert D.adjusted_rand_score(lt, lp) == metrics.adjusted_rand_score(lt, lp)
    assert D.contingency_finalize(merged, "ari") == metrics.adjusted_rand_score(lt, lp)
    for avg in ("min", "geometric", "arithmetic", "max"):
        assert D.contingency_finalize(merged, "nmi", avg) == metrics.normalized_mutual_info_score(lt, lp, average_method=avg)
        assert D.contingency_finalize(merged, "ami", avg) == metrics.adjusted_mutual_info_score(lt, lp, average_method=avg)
    from sklearn import metrics as skm
    assert D.contingency_finalize(merged, "ami", "geometric") == pytest.approx(
        skm.adjusted_mutual_info_score(lt, lp, average_method="geometric"), rel=1e-10)
    # the table itself: the one-machine dense contingency matrix
    rows, cols = np.unique(merged["label_true"]), np.unique(merged["label_pred"])
    mine = np.zeros((rows.size, cols.size), np.int64)
    mine[np.searchsorted(rows, merged["label_true"]), np.searchsorted(cols, merged["label_pred"])] = merged["count"]
    assert np.array_equal(np.asarray(metrics.contingency_matrix(lt, lp)), mine)
    # no cells at all: the one-machine values of empty labelings
    empty = D.contingency_partial(np.zeros(0, np.int32), np.zeros(0, np.int32))
    for score in ("ari", "nmi", "ami"):
        assert D.contingency_finalize(empty, score) == 1.0


@pytest.mark.parametrize("debiased", [False, True])
def test_cka_partials_uneven_shards_equal_one_machine(debiased):
    """Two passes (column sums, then sums shifted by the merged means) on uneven shards, one empty, with a
    large mean offset: linear and debiased CKA equal the one-machine value to 1e-12 relative, for related and
    unrelated representations, in any merge order."""
    from lamina import distributed as D, geometry
    rng = np.random.default_rng(11)
    n = 1700
    X = (rng.standard_normal((n, 9)) * 2 + 30).astype(np.float32)
    for Y in ((X[:, :4] @ rng.standard_normal((4, 6)) + 0.5 * rng.standard_normal((n, 6)) - 12).astype(np.float32),
              rng.standard_normal((n, 5)).astype(np.float32) + 100):
        shards = [slice(0, 5), slice(5, 5), slice(5, 1111), slice(1111, n)]
        c1 = D.merge(*[D.column_sums_partial(X[s], Y[s]) for s in shards])
        mx, my = c1["sum_x"] / n, c1["sum_y"] / n
        parts = [D.cka_cross_partial(X[s], Y[s], mx, my, debiased=debiased) for s in shards]
        want = geometry.linear_cka(X, Y, debiased=debiased)
        for order in ([0, 1, 2, 3], [3, 1, 0, 2]):
            got = D.linear_cka_finalize(D.merge(*[parts[i] for i in order]))
            assert _rel(got, want) < 1e-12, (got, want)
        assert _rel(D.linear_cka(X, Y, debiased=debiased), want) < 1e-12
    # the layout is the documented sums: check the linear parts against numpy
    z, w = X.astype(np.float64) - mx, Y.astype(np.float64) - my
    full = D.cka_cross_partial(X, Y, mx, my, debiased=True)
    np.testing.assert_allclose(full["xy"], z.T @ w, rtol=1e-10, atol=1e-9)
    np.testing.assert_allclose(full["xx"], z.T @ z, rtol=1e-10, atol=1e-9)
    a, b = (z * z).sum(1), (w * w).sum(1)
    np.testing.assert_allclose(full["norm_products"], [a @ a, b @ b, a @ b], rtol=1e-10)
    np.testing.assert_allclose(full["ax"], z.T @ a, rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(full["by"], w.T @ b, rtol=1e-9, atol=1e-6)
    assert int(full["n"][0]) == n


def test_cka_one_pass_without_shift_on_centred_data():
    """With no shift (one pass) the finalize centres the raw sums itself: exact enough on data near zero mean."""
    from lamina import distributed as D, geometry
    rng = np.random.default_rng(5)
    X = rng.standard_normal((800, 7)).astype(np.float32)
    Y = (X @ rng.standard_normal((7, 4)) + rng.standard_normal((800, 4))).astype(np.float32)
    for debiased in (False, True):
        p = D.merge(D.cka_cross_partial(X[:300], Y[:300], debiased=debiased),
                    D.cka_cross_partial(X[300:], Y[300:], debiased=debiased))
        assert _rel(D.linear_cka_finalize(p), geometry.linear_cka(X, Y, debiased=debiased)) < 1e-10


def test_mergeable_python_errors():
    from lamina import distributed as D
    X = np.ones((10, 3), np.float32)
    X[:, 0] = np.arange(10)
    with pytest.raises(lamina.InvalidArgumentError, match="labels_pred has shape"):
        D.contingency_partial(np.zeros(4, int), np.zeros(3, int))
    with pytest.raises(lamina.InvalidArgumentError, match="labels_true has values"):
        D.contingency_partial(np.array([2**40, 0]), np.zeros(2, int))
    with pytest.raises(lamina.InvalidArgumentError, match="average_method='mean'"):
        D.contingency_finalize(D.contingency_partial([0, 1], [1, 1]), "nmi", "mean")
    with pytest.raises(lamina.InvalidArgumentError, match="score='v'"):
        D.contingency_finalize(D.contingency_partial([0, 1], [1, 1]), "v")
    bad = D.contingency_partial([0, 1], [1, 1])
    bad["count"][0] = -3
    with pytest.raises(lamina.InvalidArgumentError, match=r"cell_count\[0\] is -3"):
        D.contingency_finalize(bad, "ari")
    with pytest.raises(lamina.InvalidArgumentError, match="mean_x has shape"):
        D.cka_cross_partial(X, X, np.zeros(2), None)
    p = D.cka_cross_partial(X, np.ones((10, 2), np.float32))
    with pytest.raises(lamina.InvalidArgumentError, match="constant"):
        D.linear_cka_finalize(p)
    with pytest.raises(lamina.InvalidArgumentError, match="n is 3; debiased CKA needs n >= 4"):
        D.linear_cka_finalize(D.cka_cross_partial(X[:3], X[:3], debiased=True))
    q = D.cka_cross_partial(X, X)
    q["xy"] = q["xy"][:2]
    with pytest.raises(lamina.InvalidArgumentError, match="merged 'xy' has shape"):
        D.linear_cka_finalize(q)


@mpi
def test_two_ranks_mergeable_statistics_equal_one_machine(tmp_path):
    X, Y, lt, lp = _stats_data()
    np.savez(tmp_path / "d.npz", X=X, Y=Y, lt=lt, lp=lp)
    sae = SparseAutoencoder(n_latents=32, k=4, batch_size=256, auxk_alpha=0.0, random_state=0).fit(X)
    sae.save_checkpoint(str(tmp_path / "sae_ckpt"))
    mpirun(2, "stats", tmp_path, tmp_path / "d.npz", tmp_path / "sae_ckpt", timeout=180)
    got = np.load(tmp_path / "stats.npz")
    for k, v in _one_machine(X, Y, lt, lp).items():
        assert float(got[k]) == pytest.approx(v, rel=1e-12, abs=1e-15), k
    from lamina import distributed as D
    full = D.latent_stats_partial(lamina.sae.load_checkpoint(str(tmp_path / "sae_ckpt")), X, 0, 5)
    assert int(got["n_rows"]) == full.n_rows
    for k in LATENT_EXACT:
        assert np.array_equal(full_k := getattr(full, k), got[k]) and got[k].dtype == full_k.dtype, k
    np.testing.assert_allclose(got["sum"], full.sum, rtol=1e-12)
    assert bool(got["same_on_every_rank"])
