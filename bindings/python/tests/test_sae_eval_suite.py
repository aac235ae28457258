"""SparseAutoencoder.evaluate_suite against float64 numpy / scikit-learn on random and real data: every
streamed statistic (chunked, small chunks) equals the formula on the whole array, the density histogram
and fractions, SAEBench-style k-sparse probing (same latent ranking, accuracies of scikit-learn's
LogisticRegression on the same columns), the SAEBench JSON layout, and labels of the wrong length."""
from __future__ import annotations

import json

import numpy as np
import pytest

from lamina.sae import SparseAutoencoder
from lamina.sae_eval import DENSITY_EDGES

sklearn_lm = pytest.importorskip("sklearn.linear_model")


def reference(sae, X):
    X64 = X.astype(np.float64)
    z = sae.encode(X).astype(np.float64)
    xh = sae.reconstruct(X).astype(np.float64)
    r = ((X64 - xh) ** 2).sum(1)
    nx, nh = np.linalg.norm(X64, axis=1), np.linalg.norm(xh, axis=1)
    dens = (z > 0).mean(0)
    alive = dens > 0
    return {
        "fvu": r.sum() / ((X64 - X64.mean(0)) ** 2).sum(),
        "explained_variance": 1 - r.mean() / ((X64 ** 2).sum(1).mean() - (X64 ** 2).mean() ** 2),
        "explained_variance_legacy": np.mean(1 - r / ((X64 - X64.mean(0)) ** 2).sum(1)),
        "cossim": np.mean((X64 * xh).sum(1) / (nx * nh)),
        "l2_norm_in": nx.mean(), "l2_norm_out": nh.mean(),
        "l2_ratio": np.mean(nh / np.where(nx < 1e-4, 1, nx)),
        "relative_reconstruction_bias": (nh ** 2).mean() / (X64 * xh).sum(1).mean(),
        "l0": (z != 0).sum(1).mean(), "l1": z.sum(1).mean(),
        "density": dens, "frac_alive": alive.mean(), "hist": np.histogram(np.log10(dens[alive]), DENSITY_EDGES)[0],
    }


def check(rep, ref):
    flat = {**rep["reconstruction"], **rep["shrinkage"], **rep["sparsity"]}
    for key in ("fvu", "explained_variance", "explained_variance_legacy", "cossim", "l2_norm_in", "l2_norm_out",
                "l2_ratio", "relative_reconstruction_bias", "l0", "l1"):
        assert flat[key] == pytest.approx(ref[key], rel=1e-6, abs=1e-9), key
    np.testing.assert_array_equal(rep["density"]["feature_density"], ref["density"])
    assert rep["density"]["frac_alive"] == ref["frac_alive"]
    assert rep["density"]["dead_fraction"] == 1 - ref["frac_alive"]
    assert rep["density"]["dense_fraction"] == np.mean(ref["density"] > rep["density"]["dense_threshold"])
    assert rep["density"]["density_histogram"]["counts"] == ref["hist"].tolist()


def _data(n=900, d=16, seed=0):
    rng = np.random.default_rng(seed)
    D = rng.standard_normal((40, d))
    codes = (rng.random((n, 40)) < 0.15) * rng.exponential(1.0, (n, 40))
    X = (codes @ D + 0.3 + 0.05 * rng.standard_normal((n, d))).astype(np.float32)
    y = (codes[:, 0] > 0).astype(np.int32) + 2 * (codes[:, 1] > 0)
    return X, y


@pytest.mark.parametrize("arch,kw", [("topk", dict(k=4)), ("matryoshka_batchtopk", dict(k=4, group_widths=[8, 64])),
                                     ("relu", dict(l1_coefficient=0.1))])
def test_statistics_match_numpy_random(arch, kw):
    X, _ = _data()
    sae = SparseAutoencoder(16, 64, architecture=arch, batch_size=100, lr=5e-3, random_state=1, **kw).fit(X[:600], epochs=3)
    held = X[600:]
    rep = sae.evaluate_suite(held, chunk_rows=37)
    check(rep, reference(sae, held))
    assert rep["reconstruction"]["fvu"] == pytest.approx(sae.evaluate(held)["fvu"], rel=1e-6)


def sklearn_probing(sae, X, y, ks, test_size=0.2, random_state=0, C=1.0):
    n = len(y)
    perm = np.random.default_rng(random_state).permutation(n)
    n_test = max(1, int(round(n * test_size)))
    test, train = np.sort(perm[:n_test]), np.sort(perm[n_test:])
    Z = sae.encode(X).astype(np.float64)
    classes = np.unique(y)
    out = {}
    for c in (classes[1:] if classes.size == 2 else classes):
        pos = y[train] == c
        diff = np.abs(Z[train][pos].mean(0) - Z[train][~pos].mean(0))
        cols = np.argsort(-diff, kind="stable")
        for k in ks:
            lr = sklearn_lm.LogisticRegression(C=C, max_iter=1000).fit(Z[train][:, cols[:k]], pos)
            out.setdefault(k, []).append(lr.score(Z[test][:, cols[:k]], y[test] == c))
        out.setdefault("cols", []).append(cols[:max(ks)].tolist())
    return out


def test_sparse_probing_matches_sklearn_random():
    X, y = _data(n=1500)
    sae = SparseAutoencoder(16, 64, k=4, batch_size=100, lr=5e-3, random_state=1).fit(X, epochs=3)
    ks = (1, 2, 5, 10)
    rep = sae.evaluate_suite(X, y, k_values=ks, chunk_rows=101)["sparse_probing"]
    ref = sklearn_probing(sae, X, y, ks)
    assert [r["sae_top_latents"][:10] for r in rep["per_class"]] == ref["cols"]
    for k in ks:
        assert rep[f"sae_top_{k}_test_accuracy"] == pytest.approx(np.mean(ref[k]), abs=0.01), k
    assert rep["llm_test_accuracy"] >= 0.5 and len(rep["per_class"]) == 4


def test_real_data_and_saebench_json(real_data, tmp_path):
    X = np.ascontiguousarray(real_data.layer(3))
    y = np.asarray(real_data.labels("pos"))
    sae = SparseAutoencoder(X.shape[1], 1024, k=16, batch_size=512, random_state=0).fit(X, epochs=2)
    rep = sae.evaluate_suite(X, y, k_values=(1, 5, 20), chunk_rows=1000, path=tmp_path / "eval.json")
    check(rep, reference(sae, X))
    ref = sklearn_probing(sae, X, y, (1, 5, 20))
    for k in (1, 5, 20):
        assert rep["sparse_probing"][f"sae_top_{k}_test_accuracy"] == pytest.approx(np.mean(ref[k]), abs=0.01), k
    doc = json.loads((tmp_path / "eval.json").read_text())
    core = doc["core"]["eval_result_metrics"]
    assert core["reconstruction_quality"]["cossim"] == pytest.approx(rep["reconstruction"]["cossim"])
    assert set(core["shrinkage"]) == {"l2_norm_in", "l2_norm_out", "l2_ratio", "relative_reconstruction_bias"}
    sp = doc["sparse_probing"]["eval_result_metrics"]
    assert set(sp["sae"]) == {"sae_test_accuracy", "sae_top_1_test_accuracy", "sae_top_5_test_accuracy",
                              "sae_top_20_test_accuracy"}
    assert len(doc["core"]["eval_result_details"]) == 1024


def test_h5py_dataset_streams(real_data):
    import h5py
    X = np.ascontiguousarray(real_data.layer(3))
    sae = SparseAutoencoder(X.shape[1], 256, k=8, batch_size=512, random_state=0).fit(X, epochs=1)
    with h5py.File(real_data.path) as f:
        rep = sae.evaluate_suite(f["/target/layer_3"], chunk_rows=999)
    check(rep, reference(sae, X))


def test_bad_labels_and_arguments():
    X, y = _data(n=200)
    sae = SparseAutoencoder(16, 32, k=4, batch_size=100).fit(X)
    with pytest.raises(ValueError, match=r"y has shape \(199,\); expected one label per row of X \(200,\)"):
        sae.evaluate_suite(X, y[:-1])
    with pytest.raises(ValueError, match="at least 2 classes"):
        sae.evaluate_suite(X, np.zeros(200, np.int32))
    with pytest.raises(ValueError, match="d_in = 16"):
        sae.evaluate_suite(X[:, :8])
    with pytest.raises(ValueError, match="k_values"):
        sae.evaluate_suite(X, y, k_values=(0,))
    with pytest.raises(ValueError, match="test_size"):
        sae.evaluate_suite(X, y, test_size=1.5)
