"""Linear probes against their references: scikit-learn's LogisticRegression / Ridge / r2_score /
StratifiedKFold / cross_val_score, numpy ports of YouTube-8M's GAP and Hit@1 and of Voita & Titov's
online codelength, numpy for directions, and INLP's defining properties. Random data, iris and the
bundled real activations (MiniLM layers, POS labels)."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import r2_score as sk_r2
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.multiclass import OneVsRestClassifier
from sklearn.preprocessing import StandardScaler

import lamina
from lamina import probe as P

@pytest.fixture(autouse=True)
def _single_threaded_numpy():
    """numpy's OpenBLAS with 2 threads on a loaded 2-core machine makes the references 30x slower."""
    from threadpoolctl import threadpool_limits
    with threadpool_limits(1):
        yield


COEF_RTOL = 1e-4     # max |coef difference| / max |coef| (both solvers at a tight tol)
TIGHT = dict(max_iter=5000, tol=1e-9)


def _sk(X, y, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return LogisticRegression(**TIGHT, **kw).fit(np.asarray(X, np.float64), y)


def _rel(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return np.abs(a - b).max() / max(np.abs(b).max(), 1e-12)


def _compare(X, y, *, sample_weight=None, proba_atol=1e-5, **kw):
    X = np.ascontiguousarray(X, dtype=np.float32)
    sk_kw = {k: v for k, v in kw.items() if k != "standardize"}
    Xs = X
    if kw.get("standardize"):
        Xs = StandardScaler().fit_transform(X.astype(np.float64))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sk = LogisticRegression(**TIGHT, **sk_kw).fit(np.asarray(Xs, np.float64), y, sample_weight=sample_weight)
    lm = P.LogisticProbe(**TIGHT, **kw).fit(X, y, sample_weight=sample_weight)
    assert lm.coef_.shape == sk.coef_.shape
    assert _rel(lm.coef_, sk.coef_) < COEF_RTOL, (lm.coef_, sk.coef_)
    assert np.abs(lm.intercept_ - sk.intercept_).max() < COEF_RTOL * max(1, np.abs(sk.coef_).max())
    np.testing.assert_array_equal(lm.classes_, sk.classes_)
    np.testing.assert_allclose(lm.predict_proba(X), sk.predict_proba(Xs), atol=proba_atol)
    assert abs(lm.score(X, y) - sk.score(Xs, y)) <= 0.005
    return lm, sk


def _random(n=600, d=20, k=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) * rng.uniform(0.5, 3, d) + rng.standard_normal(d)
    y = (X[:, :5] @ rng.standard_normal((5, k)) + rng.standard_normal((n, k))).argmax(1)
    return X.astype(np.float32), y


# -- logistic probe ------------------------------------------------------------------------------

@pytest.mark.parametrize("C", [0.01, 1.0, 100.0])
def test_multinomial_random(C):
    X, y = _random(seed=1)
    _compare(X, y, C=C)


def test_binary_random_labels_any_values():
    X, y = _random(k=2, seed=2)
    y = np.where(y == 1, 7, -3)
    lm, sk = _compare(X, y)
    assert lm.coef_.shape == (1, X.shape[1])
    np.testing.assert_allclose(lm.decision_function(X), sk.decision_function(X.astype(np.float64)), atol=1e-4)
    assert set(lm.predict(X)) <= {7, -3}


@pytest.mark.parametrize("cw", ["balanced", {0: 3.0, 2: 0.25}])
def test_class_weight(cw):
    X, y = _random(seed=3)
    keep = (y != 1) | (np.arange(len(y)) % 4 == 0)     # imbalance
    _compare(X[keep], y[keep], class_weight=cw)


def test_sample_weight_and_balanced():
    X, y = _random(seed=4)
    w = np.random.default_rng(4).uniform(0.1, 3.0, len(y))
    _compare(X, y, sample_weight=w)
    _compare(X, y, sample_weight=w, class_weight="balanced")


def test_standardize_matches_pipeline():
    X, y = _random(seed=5)
    X = X * np.logspace(-2, 2, X.shape[1]).astype(np.float32)
    lm, _ = _compare(X, y, standardize=True)
    np.testing.assert_allclose(lm.mean_, X.astype(np.float64).mean(0), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(lm.scale_, X.astype(np.float64).std(0), rtol=1e-6)


def test_iris():
    X, y = load_iris(return_X_y=True)
    for C in (0.1, 1.0):
        _compare(X, y, C=C)
    _compare(X, y == 2)
    _compare(X, y, class_weight="balanced")


def test_default_tolerance_same_accuracy():
    X, y = _random(n=1000, d=30, k=6, seed=6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sk = LogisticRegression().fit(X.astype(np.float64), y)
    lm = P.LogisticProbe().fit(X, y)
    assert abs(lm.score(X, y) - sk.score(X.astype(np.float64), y)) <= 0.005
    assert lm.n_iter_[0] <= 100


def test_multilabel_matches_one_vs_rest():
    rng = np.random.default_rng(7)
    X = rng.standard_normal((500, 12)).astype(np.float32)
    Y = (X[:, :3] @ rng.standard_normal((3, 4)) + 0.5 * rng.standard_normal((500, 4)) > 0.3).astype(int)
    lm = P.LogisticProbe(multi_label=True, **TIGHT).fit(X, Y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sk = OneVsRestClassifier(LogisticRegression(**TIGHT)).fit(X.astype(np.float64), Y)
    coef = np.vstack([e.coef_ for e in sk.estimators_])
    icpt = np.concatenate([e.intercept_ for e in sk.estimators_])
    assert _rel(lm.coef_, coef) < COEF_RTOL
    assert np.abs(lm.intercept_ - icpt).max() < COEF_RTOL * np.abs(coef).max()
    np.testing.assert_allclose(lm.predict_proba(X), sk.predict_proba(X.astype(np.float64)), atol=1e-5)
    np.testing.assert_array_equal(lm.predict(X), sk.predict(X.astype(np.float64)))


def test_real_activations(real_data):
    X = np.ascontiguousarray(real_data.layer(3)[::2])
    y = real_data.labels("pos")[::2]
    _compare(X, y, C=0.1, proba_atol=1e-4)


def test_deterministic_across_threads(restore_threads):
    X, y = _random(n=3000, d=64, k=5, seed=8)
    lamina.set_num_threads(1)
    a = P.LogisticProbe().fit(X, y).coef_
    lamina.set_num_threads(2)
    b = P.LogisticProbe().fit(X, y).coef_
    np.testing.assert_array_equal(a, b)


# -- ridge ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("alpha", [1e-3, 1.0, 100.0])
def test_ridge_matches_sklearn(alpha):
    rng = np.random.default_rng(9)
    X = (rng.standard_normal((400, 30)) * 3 + 5).astype(np.float32)
    Y = X.astype(np.float64) @ rng.standard_normal((30, 3)) + rng.standard_normal((400, 3)) + 2
    w = rng.uniform(0.5, 2, 400)
    for sw in (None, w):
        sk = Ridge(alpha=alpha, solver="cholesky").fit(X.astype(np.float64), Y, sample_weight=sw)
        lm = P.RidgeProbe(alpha=alpha).fit(X, Y, sample_weight=sw)
        np.testing.assert_allclose(lm.coef_, sk.coef_, rtol=1e-6, atol=1e-9 * np.abs(sk.coef_).max())
        np.testing.assert_allclose(lm.intercept_, sk.intercept_, rtol=1e-6, atol=1e-8)
        assert abs(lm.score(X, Y) - sk.score(X.astype(np.float64), Y)) < 1e-9
    one = P.RidgeProbe(alpha=alpha).fit(X, Y[:, 0])
    assert one.coef_.shape == (30,) and isinstance(one.intercept_, float)


def test_ridge_real_and_r2(real_data):
    X = real_data.layer(6)
    target = real_data.layer(0)[:, :4].astype(np.float64)
    sk = Ridge(alpha=10.0, solver="cholesky").fit(X.astype(np.float64), target)
    lm = P.RidgeProbe(alpha=10.0).fit(X, target)
    np.testing.assert_allclose(lm.coef_, sk.coef_, rtol=1e-6, atol=1e-6 * np.abs(sk.coef_).max())
    pred = lm.predict(X)
    assert abs(P.r2_score(target, pred) - sk_r2(target, pred)) < 1e-12
    const = np.ones((10, 1))
    assert P.r2_score(const, const) == sk_r2(const, const)


# -- folds and sweeps -------------------------------------------------------------------------------

def _sk_folds(y, k, seed=0):
    out = np.empty(len(y), dtype=int)
    for f, (_, te) in enumerate(StratifiedKFold(k, shuffle=True, random_state=seed).split(np.zeros(len(y)), y)):
        out[te] = f
    return out


@pytest.mark.parametrize("k", [2, 3, 5, 7])
def test_stratified_fold_sizes_match_sklearn(k):
    rng = np.random.default_rng(k)
    y = rng.choice([5, -1, 3, 8], size=211, p=[0.5, 0.3, 0.15, 0.05])
    ours = P.stratified_kfold(y, k, random_state=1)
    ref = _sk_folds(y, k)
    for c in np.unique(y):
        np.testing.assert_array_equal(np.bincount(ours[y == c], minlength=k), np.bincount(ref[y == c], minlength=k))
    np.testing.assert_array_equal(ours, P.stratified_kfold(y, k, random_state=1))
    assert not np.array_equal(ours, P.stratified_kfold(y, k, random_state=2))


def test_layer_sweep_matches_cross_val_score(real_data):
    y = real_data.labels("pos")
    layers = [np.ascontiguousarray(real_data.layer(i)[::3]) for i in (0, 6)]
    y = y[::3]
    res = P.layer_sweep(layers, y, n_splits=4, random_state=3, C=0.1, **TIGHT)
    folds = P.stratified_kfold(y, 4, random_state=3)
    cv = [(np.where(folds != f)[0], np.where(folds == f)[0]) for f in range(4)]
    for i, X in enumerate(layers):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = cross_val_score(LogisticRegression(C=0.1, **TIGHT), X.astype(np.float64), y, cv=cv)
        assert np.abs(res.fold_accuracy[i] - ref).max() <= 0.005, (res.fold_accuracy[i], ref)
        assert abs(res.mean[i] - ref.mean()) <= 0.005
        assert abs(res.std[i] - ref.std()) <= 0.005


def test_layer_sweep_h5_equals_arrays(real_data):
    y = real_data.labels("pos")
    names = [f"/target/layer_{i}" for i in (1, 4)]
    a = P.layer_sweep(real_data.path, y, datasets=names, n_splits=3, random_state=0, max_iter=30)
    b = P.layer_sweep([real_data.layer(1), real_data.layer(4)], y, n_splits=3, random_state=0, max_iter=30)
    np.testing.assert_array_equal(a.fold_accuracy, b.fold_accuracy)


# -- control tasks --------------------------------------------------------------------------------

def test_control_labels_are_type_level():
    rng = np.random.default_rng(10)
    words = rng.choice([f"w{i}" for i in range(300)], size=5000)
    y = rng.choice([0, 1, 2, 3], size=5000, p=[0.4, 0.3, 0.2, 0.1])
    ctl = P.control_task_labels(words, y, random_state=1)
    for w in np.unique(words)[:50]:
        assert len(set(ctl[words == w])) == 1
    # per-type draws follow the empirical distribution (300 types: loose check)
    types_label = {w: c for w, c in zip(words, ctl)}
    freq = np.bincount(list(types_label.values()), minlength=4) / len(types_label)
    assert np.abs(freq - np.array([0.4, 0.3, 0.2, 0.1])).max() < 0.1
    np.testing.assert_array_equal(ctl, P.control_task_labels(words, y, random_state=1))


def test_selectivity_real(real_data):
    y = real_data.labels("pos")
    import h5py
    with h5py.File(real_data.path) as f:
        words = f["text/target_word"][:]
    res = P.layer_sweep([real_data.layer(3)], y, n_splits=3, max_iter=50, control_types=words)
    assert res.mean[0] > 0.8 and res.control_mean[0] < res.mean[0]
    np.testing.assert_allclose(res.selectivity, res.mean - res.control_mean)


# -- MDL ----------------------------------------------------------------------------------------

def _mdl_reference(X, y, order, fractions, C):
    """Voita & Titov's online code, written from the paper: uniform code for the first block, then a
    probe trained on each prefix codes the next block."""
    n = len(y)
    K = len(np.unique(y))
    t = []
    for f in fractions:
        b = int(np.floor(n * f / 100))
        if b >= 1 and (not t or b > t[-1]):
            t.append(b)
    if t[-1] != n:
        t.append(n)
    Xo, yo = X[order].astype(np.float64), y[order]
    bits = t[0] * np.log2(K)
    for lo, hi in zip(t[:-1], t[1:]):
        if len(np.unique(yo[:lo])) < K:
            bits += (hi - lo) * np.log2(K)
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            m = LogisticRegression(C=C, **TIGHT).fit(Xo[:lo], yo[:lo])
        p = m.predict_proba(Xo[lo:hi])
        col = np.searchsorted(m.classes_, yo[lo:hi])
        bits += -np.log2(p[np.arange(hi - lo), col]).sum()
    return bits, n * np.log2(K)


def test_mdl_matches_reference(real_data):
    X = np.ascontiguousarray(real_data.layer(2)[::4])
    y = real_data.labels("pos")[::4]
    order = np.random.default_rng(11).permutation(len(y))
    res = P.mdl_online_codelength(X, y, order=order, C=0.1, **TIGHT)
    ref_online, ref_uniform = _mdl_reference(X, y, order, P.STANDARD_MDL_FRACTIONS, 0.1)
    assert res.uniform_bits == pytest.approx(ref_uniform, rel=1e-12)
    assert res.online_bits == pytest.approx(ref_online, rel=1e-4)
    assert res.compression == pytest.approx(ref_uniform / ref_online, rel=1e-4)
    assert res.block_bits.sum() == pytest.approx(res.online_bits, rel=1e-12)


def test_mdl_binary_custom_fractions():
    X, y = _random(n=400, k=2, seed=12)
    order = np.arange(400)
    fr = [10, 30, 60, 100]
    res = P.mdl_online_codelength(X, y, order=order, fractions=fr, **TIGHT)
    ref, uni = _mdl_reference(X, y, order, fr, 1.0)
    assert res.online_bits == pytest.approx(ref, rel=1e-4)
    assert len(res.block_bits) == 4


# -- GAP / Hit@1 (numpy ports of YouTube-8M's eval_util) --------------------------------------------

def _gap_reference(pred, act, k):
    scores, labels = [], []
    for p, a in zip(pred, act):
        top = np.argsort(-p, kind="stable")[:k]
        scores.extend(p[top])
        labels.extend(a[top])
    order = np.argsort(-np.asarray(scores), kind="stable")
    lab = np.asarray(labels)[order] > 0
    total = (act > 0).sum()
    if total == 0:
        return 0.0
    hits = np.cumsum(lab)
    return float((hits[lab] / (np.nonzero(lab)[0] + 1)).sum() / total)


def _hit1_reference(pred, act):
    return float(np.mean(act[np.arange(len(act)), np.argmax(pred, 1)] > 0))


@pytest.mark.parametrize("k", [1, 3, 20])
def test_gap_and_hit1(k):
    rng = np.random.default_rng(k)
    pred = rng.random((300, 15)).astype(np.float32)
    act = (rng.random((300, 15)) < 0.15).astype(np.float32)
    assert P.gap_at_k(pred, act, k) == pytest.approx(_gap_reference(pred, act, k), rel=1e-12)
    assert P.hit_at_1(pred, act) == pytest.approx(_hit1_reference(pred, act), rel=1e-12)


def test_gap_on_multilabel_probe():
    rng = np.random.default_rng(13)
    X = rng.standard_normal((600, 10)).astype(np.float32)
    Y = (X[:, :4] @ rng.standard_normal((4, 6)) > 0.5).astype(np.float32)
    probe = P.LogisticProbe(multi_label=True).fit(X, Y)
    scores = probe.predict_proba(X).astype(np.float32)
    assert P.gap_at_k(scores, Y, 20) == pytest.approx(_gap_reference(scores, Y, 20), rel=1e-12)
    assert P.gap_at_k(scores, Y, 20) > 0.8


# -- few-shot ---------------------------------------------------------------------------------------

def test_few_shot(real_data):
    X, y = real_data.layer(4), real_data.labels("pos")
    idx = np.random.default_rng(14).permutation(len(y))
    tr, te = idx[:1600], idx[1600:]
    mean, draws = P.few_shot_accuracy(X[tr], y[tr], X[te], y[te], 5, n_draws=4, random_state=3, return_draws=True)
    assert draws.shape == (4,) and mean == pytest.approx(draws.mean())
    assert 0.3 < mean <= 1.0
    again = P.few_shot_accuracy(X[tr], y[tr], X[te], y[te], 5, n_draws=4, random_state=3, return_draws=True)[1]
    np.testing.assert_array_equal(draws, again)
    # k = all the samples of the smallest class in a tiny training set: every draw is the same set
    small = np.concatenate([np.where(y[tr] == c)[0][:6] for c in np.unique(y)])
    full = P.few_shot_accuracy(X[tr][small], y[tr][small], X[te], y[te], 6, n_draws=3, return_draws=True)[1]
    ref = P.LogisticProbe().fit(X[tr][small], y[tr][small]).score(X[te], y[te])
    np.testing.assert_allclose(full, ref, atol=1e-12)


# -- directions and INLP -----------------------------------------------------------------------------

def test_directions(real_data):
    X, y = real_data.layer(5), real_data.labels("pos")
    A, B = X[y == 0], X[y == 1]
    md = P.mean_difference_direction(A, B)
    np.testing.assert_allclose(md, A.astype(np.float64).mean(0) - B.astype(np.float64).mean(0), atol=1e-6)
    Z = np.vstack([A, B]).astype(np.float64)
    Z -= Z.mean(0)
    u = np.linalg.eigh(Z.T @ Z)[1][:, -1]
    v = P.pca_direction(A, B)
    assert abs(abs(u @ v) - 1) < 1e-9 and (A.mean(0) - B.mean(0)) @ v >= 0
    D = (A[:500] - B[:500]).astype(np.float64)
    D -= D.mean(0)
    up = np.linalg.eigh(D.T @ D)[1][:, -1]
    assert abs(abs(up @ P.pca_direction(A[:500], B[:500], paired=True)) - 1) < 1e-9
    steered = P.apply_direction(A, md, 3.0)
    np.testing.assert_allclose(steered, A + 3.0 * md, rtol=1e-6, atol=1e-5)
    kept = P.apply_direction(A, md, 3.0, preserve_norm=True)
    np.testing.assert_allclose(np.linalg.norm(kept, axis=1), np.linalg.norm(A, axis=1), rtol=1e-6)


def test_inlp_properties(real_data):
    X, y = real_data.layer(6), real_data.labels("pos")
    binary = (y == 0).astype(int)
    inlp = P.INLP(n_iterations=20, min_accuracy=None).fit(X, binary)
    Pm = inlp.projection_
    np.testing.assert_allclose(Pm @ Pm, Pm, atol=1e-10)
    np.testing.assert_allclose(Pm, Pm.T, atol=1e-12)
    assert np.all(inlp.ranks_ == 1)
    assert round(np.trace(Pm)) == X.shape[1] - inlp.n_iter_
    assert inlp.accuracies_[0] > 0.9
    # after the projection a fresh probe is near chance (majority rate)
    majority = max(binary.mean(), 1 - binary.mean())
    after = P.LogisticProbe().fit(inlp.transform(X), binary).score(inlp.transform(X), binary)
    assert after < majority + 0.05, (after, majority)
    multi = P.INLP(n_iterations=3).fit(X, y)
    assert np.all(multi.ranks_ == 3)   # multinomial coef has rank K - 1
