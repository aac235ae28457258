"""Structural probes against a numpy/scipy re-implementation of the reference
(reference_structural.py, written from john-hewitt/structural-probes' loss.py, probe.py, reporter.py):
losses and gradients at a given B, one Adam step, predictions, UUAS (exact), Spearman 5-50, root
accuracy, determinism, and training on planted-structure synthetic trees (and on the bundled real
AST data when present)."""
from __future__ import annotations

import numpy as np
import pytest

import lamina
from lamina import structural as S

import reference_structural as R
from structural_synth import synthetic


@pytest.fixture(scope="module")
def data():
    xs, Ds, deps = synthetic(60, d=40, k=16, seed=3, lo=2, hi=25)
    return xs, Ds, deps


def _probe(kind, B, **kw):
    p = S.StructuralProbe(kind, rank=B.shape[0], **kw)
    p.set_projection(B)
    return p


@pytest.mark.parametrize("kind", ["distance", "depth"])
def test_loss_and_gradient_match_reference(data, kind):
    xs, Ds, deps = data
    golds = Ds if kind == "distance" else deps
    rng = np.random.default_rng(0)
    B = rng.uniform(-0.05, 0.05, (12, 40)).astype(np.float32) * 4
    p = _probe(kind, B)
    loss, grad = p.loss(xs, targets=golds, return_gradient=True)
    ref_loss, ref_grad = R.batch_loss_and_grad(B, xs, golds, kind)
    assert loss == pytest.approx(ref_loss, rel=1e-5)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-4, atol=1e-5 * np.abs(ref_grad).max())
    # the concatenated form gives the same numbers
    x, off = S.concat_items(xs)
    t = S.concat_targets(golds)
    assert p.loss(x, off, t) == pytest.approx(loss, rel=1e-12)


def test_ignored_entries(data):
    xs, Ds, _ = data
    golds = [D.copy() for D in Ds]
    for D in golds:
        if len(D) > 3:
            D[0, 2] = -1
            D[3, 1] = -1
    rng = np.random.default_rng(1)
    B = rng.uniform(-0.2, 0.2, (8, 40)).astype(np.float32)
    p = _probe("distance", B)
    loss, grad = p.loss(xs, targets=golds, return_gradient=True)
    ref_loss, ref_grad = R.batch_loss_and_grad(B, xs, golds, "distance")
    assert loss == pytest.approx(ref_loss, rel=1e-5)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-4, atol=1e-5 * np.abs(ref_grad).max())


@pytest.mark.parametrize("kind", ["distance", "depth"])
def test_one_adam_step(data, kind):
    xs, Ds, deps = data
    golds = Ds if kind == "distance" else deps
    rng = np.random.default_rng(2)
    B0 = rng.uniform(-0.05, 0.05, (10, 40)).astype(np.float32)
    p = _probe(kind, B0, epochs=1, batch_size=len(xs), warm_start=True, lr=0.01)
    p.fit(xs, targets=golds)
    assert p.n_steps_ == 1
    _, g = R.batch_loss_and_grad(B0, xs, golds, kind)
    B1 = R.adam_step(B0.astype(np.float64), g, lr=0.01)
    # Adam's first step is lr * g / (|g| + eps): compare where the gradient is not ~0
    sure = np.abs(g) > 1e-4 * np.abs(g).max()
    np.testing.assert_allclose(p.projection_[sure], B1[sure], atol=1e-6)
    assert np.all(np.abs(p.projection_ - B0) <= 0.01 * (1 + 1e-5))


@pytest.mark.parametrize("kind", ["distance", "depth"])
def test_predict_matches_reference(data, kind):
    xs, _, _ = data
    rng = np.random.default_rng(3)
    B = rng.standard_normal((6, 40)).astype(np.float32) * 0.1
    p = _probe(kind, B)
    preds = p.predict(xs)
    for h, pr in zip(xs, preds):
        ref = R.predict_distance(B, h) if kind == "distance" else R.predict_depth(B, h)
        np.testing.assert_allclose(pr, ref, rtol=2e-5, atol=1e-6)
    if kind == "distance":
        for pr in preds:
            assert np.all(np.diag(pr) == 0) and np.array_equal(pr, pr.T)


def test_uuas_exact_with_ties_and_ignore(data):
    xs, Ds, _ = data
    rng = np.random.default_rng(4)
    # predictions with many ties (rounded) and asymmetric entries
    preds = []
    for D in Ds:
        P = np.round(D + rng.normal(0, 0.7, D.shape)).astype(np.float32)
        preds.append(P)
    ignores = [rng.random(len(D)) < 0.2 for D in Ds]
    for ign in (None, ignores):
        ref, rc, rt = R.uuas(preds, Ds, ign)
        got, c, t = S.uuas(preds, Ds, ignore=ign, return_counts=True)
        assert (c, t) == (rc, rt)
        assert got == ref
    # symmetric predictions from a probe
    B = rng.standard_normal((6, 40)).astype(np.float32) * 0.1
    sp = _probe("distance", B).predict(xs)
    assert S.uuas(sp, Ds, return_counts=True) == R.uuas(sp, Ds)


def test_mst_hand_example():
    # path 0-1-2-3 as gold; prediction links 0-2 instead of 1-2
    gold = np.array([[0, 1, 2, 3], [1, 0, 1, 2], [2, 1, 0, 1], [3, 2, 1, 0]], np.float32)
    pred = gold.copy()
    pred[0, 2] = pred[2, 0] = 0.5
    pred[1, 2] = pred[2, 1] = 5
    assert S.uuas([pred], [gold], return_counts=True) == (2 / 3, 2, 3)
    assert S.uuas([gold], [gold]) == 1.0
    # ignoring token 1 leaves gold edges {0-2 (2), 2-3 (1)}
    assert S.uuas([pred], [gold], ignore=[np.array([0, 1, 0, 0], bool)], return_counts=True) == (1.0, 2, 2)


def test_spearman_matches_reference(data):
    xs, Ds, deps = data
    rng = np.random.default_rng(5)
    preds = [(D + rng.normal(0, 1.0, D.shape)).astype(np.float32) for D in Ds]
    for P in preds:
        np.fill_diagonal(P, 0)
    ref, _ = R.spearman_5_50(preds, Ds, "distance")
    got, item_means = S.spearman_5_50(preds, Ds, return_item_means=True)
    assert got == pytest.approx(ref, abs=1e-12)
    assert item_means.shape == (len(Ds),)
    dpred = [(d + rng.normal(0, 1.0, d.shape)).astype(np.float32) for d in deps]
    ref_d, _ = R.spearman_5_50(dpred, deps, "depth")
    assert S.spearman_5_50(dpred, deps) == pytest.approx(ref_d, abs=1e-12)
    # ties in the predictions (rounded)
    tied = [np.round(P) for P in preds]
    assert S.spearman_5_50(tied, Ds) == pytest.approx(R.spearman_5_50(tied, Ds, "distance")[0], abs=1e-12)
    # no length in 5..50
    short = [np.array([[0, 1], [1, 0]], np.float32)]
    assert np.isnan(S.spearman_5_50(short, short))


def test_root_accuracy_matches_reference(data):
    _, _, deps = data
    rng = np.random.default_rng(6)
    preds = [np.round(d + rng.normal(0, 0.8, d.shape)).astype(np.float32) for d in deps]
    ignores = [rng.random(len(d)) < 0.3 for d in deps]
    for ign in (None, ignores):
        assert S.root_accuracy(preds, deps, ignore=ign) == R.root_accuracy(preds, deps, ign)


def test_deterministic_across_threads(data):
    xs, Ds, _ = data
    results = []
    for threads in (1, 2, 1):
        lamina.set_num_threads(threads)
        p = S.StructuralProbe("distance", rank=8, epochs=3, batch_size=7, random_state=11)
        p.fit(xs[:50], targets=Ds[:50], dev=(xs[50:], Ds[50:]))
        results.append(p.projection_.copy())
    lamina.set_num_threads(0)
    assert np.array_equal(results[0], results[1]) and np.array_equal(results[0], results[2])
    p2 = S.StructuralProbe("distance", rank=8, epochs=3, batch_size=7, random_state=12)
    p2.fit(xs[:50], targets=Ds[:50], dev=(xs[50:], Ds[50:]))
    assert not np.array_equal(results[0], p2.projection_)


@pytest.mark.parametrize("kind", ["distance", "depth"])
def test_trains_on_planted_structure(kind):
    xs, Ds, deps = synthetic(500, d=64, k=24, seed=7, noise=0.2, lo=5, hi=30)
    golds = Ds if kind == "distance" else deps
    p = S.StructuralProbe(kind, rank=32, epochs=30, lr=0.01, random_state=0)
    p.fit(xs[:400], targets=golds[:400], dev=(xs[400:450], golds[400:450]))
    assert p.best_epoch_ >= 0 and np.isfinite(p.dev_loss_)
    test_x, test_g = xs[450:], golds[450:]
    sp = p.score(test_x, targets=test_g)
    assert sp > 0.8, sp
    if kind == "distance":
        u = p.uuas(test_x, targets=test_g)
        assert u > 0.7, u
        # the reference's metric on the same predictions agrees exactly
        assert u == R.uuas(p.predict(test_x), test_g)[0]
    else:
        assert p.root_accuracy(test_x, targets=test_g) > 0.8


def test_progress_and_cancel(data):
    xs, Ds, _ = data
    seen = []
    p = S.StructuralProbe("distance", rank=4, epochs=2, batch_size=10)
    p.fit(xs, targets=Ds, callback=lambda info: seen.append(info))
    assert len(seen) == 12 and seen[-1]["step"] == 12 and seen[-1]["total_steps"] == 12
    assert seen[0]["epoch"] == 0 and seen[-1]["epoch"] == 1 and np.isnan(seen[0]["dev_loss"])
    with pytest.raises(lamina.CancelledError, match="after step 3"):
        p.fit(xs, targets=Ds, callback=lambda info: info["step"] >= 3)
    assert p.n_steps_ == 3

    def boom(info):
        raise KeyError("boom")
    with pytest.raises(KeyError):
        p.fit(xs, targets=Ds, callback=boom)


def test_early_stopping_keeps_best(data):
    xs, Ds, _ = data
    # a huge lr makes the dev loss bad after the first epochs: training must stop and keep the best
    p = S.StructuralProbe("distance", rank=8, epochs=40, lr=0.5, batch_size=5, patience=2, plateau_factor=1.0)
    p.fit(xs[:40], targets=Ds[:40], dev=(xs[40:], Ds[40:]))
    assert p.n_epochs_ <= 40
    dev_loss = p.loss(xs[40:], targets=Ds[40:])
    assert dev_loss == pytest.approx(p.dev_loss_, rel=1e-6)


REAL = __import__("pathlib").Path(__file__).resolve().parents[3] / "examples" / "data" / "minilm_python.h5"


@pytest.mark.skipif(not REAL.exists(), reason="examples/data/minilm_python.h5 not present")
def test_real_python_functions():
    """MiniLM layer 3 on 180 real stdlib functions with gold ast trees: the probe learns structure (UUAS
    and Spearman well above the |i - j| sequential baseline's Spearman), and the metrics on its
    predictions are exactly the reference's."""
    import h5py
    with h5py.File(REAL, "r") as f:
        off = f["code/offsets"][()].astype(np.int64)
        x = f["code/layer_3"][()].astype(np.float32)
        dist = f["code/distances"][()].astype(np.float32)
        dep = f["code/depths"][()].astype(np.float32)
    lengths = np.diff(off)
    xs = [x[off[k]:off[k + 1]] for k in range(len(lengths))]
    deps = [dep[off[k]:off[k + 1]] for k in range(len(lengths))]
    Ds = S.split_values(dist, off, "distance")
    tr, te = slice(0, 144), slice(144, None)
    p = S.StructuralProbe("distance", rank=64, epochs=40, random_state=0).fit(xs[tr], targets=Ds[tr])
    pred = p.predict(xs[te])
    u = S.uuas(pred, Ds[te])
    sp = S.spearman_5_50(pred, Ds[te])
    assert u == R.uuas(pred, Ds[te])[0]
    assert sp == pytest.approx(R.spearman_5_50(pred, Ds[te], "distance")[0], abs=1e-12)
    seq = [np.abs(np.arange(L)[:, None] - np.arange(L)[None, :]).astype(np.float32) for L in lengths[te]]
    assert u > 0.3, u
    assert sp > S.spearman_5_50(seq, Ds[te]) + 0.1, sp
    q = S.StructuralProbe("depth", rank=64, epochs=40, random_state=0).fit(xs[tr], targets=deps[tr])
    dpred = q.predict(xs[te])
    dsp = S.spearman_5_50(dpred, deps[te])
    assert dsp == pytest.approx(R.spearman_5_50(dpred, deps[te], "depth")[0], abs=1e-12)
    assert dsp > 0.7, dsp


def test_tree_targets_match_bfs():
    from structural_synth import random_tree, tree_dist
    rng = np.random.default_rng(8)
    parents = [random_tree(int(rng.integers(1, 30)), rng) for _ in range(40)]
    Ds, deps = S.tree_targets([np.array(p) for p in parents])
    for p, D, dep in zip(parents, Ds, deps):
        ref_D, ref_dep = tree_dist(p)
        assert np.array_equal(D, ref_D) and np.array_equal(dep, ref_dep)
    # concatenated form
    flat = np.concatenate([np.array(p) for p in parents])
    off = np.concatenate([[0], np.cumsum([len(p) for p in parents])])
    dist, dep = S.tree_targets(flat, off)
    assert np.array_equal(dist, S.concat_targets(Ds)) and np.array_equal(dep, np.concatenate(deps))


@pytest.mark.skipif(not REAL.exists(), reason="examples/data/minilm_python.h5 not present")
def test_tree_targets_on_real_ast_trees():
    """The bundled gold distances/depths are the tree distances of the bundled trees' token leaves."""
    import h5py
    with h5py.File(REAL, "r") as f:
        off = f["code/offsets"][()]
        toff = f["code/tree/offsets"][()]
        parent = f["code/tree/parent"][()]
        token_node = f["code/tree/token_node"][()]
        dist = f["code/distances"][()].astype(np.float32)
        dep = f["code/depths"][()].astype(np.float32)
    D_all, dep_all = S.tree_targets([parent[toff[k]:toff[k + 1]] for k in range(len(off) - 1)])
    gold = S.split_values(dist, off, "distance")
    for k in range(len(off) - 1):
        leaves = token_node[off[k]:off[k + 1]]
        assert np.array_equal(D_all[k][np.ix_(leaves, leaves)], gold[k])
        assert np.array_equal(dep_all[k][leaves], dep[off[k]:off[k + 1]])


def test_pickle_round_trip(data):
    import pickle
    xs, Ds, _ = data
    p = S.StructuralProbe("distance", rank=4, epochs=2).fit(xs, targets=Ds)
    q = pickle.loads(pickle.dumps(p))
    assert np.array_equal(q.projection_, p.projection_)
    for a, b in zip(p.predict(xs[:5]), q.predict(xs[:5])):
        assert np.array_equal(a, b)
    assert q.get_params() == p.get_params()


def test_regimen_plateau_and_early_stopping_rules(data):
    """The lr after each epoch follows torch's ReduceLROnPlateau(mode='min', factor=0.1, patience=0,
    threshold=1e-4 relative) on the dev losses, the kept B is the best dev epoch's (improvement > 1e-4),
    and training stops once 5 epochs in a row did not improve (regimen.py)."""
    xs, Ds, _ = data
    per_epoch = {}

    def cb(info):
        per_epoch.setdefault(int(info["epoch"]), (info["lr"], info["dev_loss"]))

    p = S.StructuralProbe("distance", rank=6, epochs=60, lr=0.05, batch_size=8, random_state=4)
    p.fit(xs[:45], targets=Ds[:45], dev=(xs[45:], Ds[45:]), callback=cb)
    epochs = sorted(per_epoch)
    # epoch e+1's first step reports the lr set and the dev loss measured at the end of epoch e
    dev = [per_epoch[e][1] for e in epochs[1:]]
    lrs = [per_epoch[e][0] for e in epochs]
    assert lrs[0] == 0.05
    best, lr = float("inf"), 0.05
    min_dev, best_epoch = float("inf"), -1
    for e, loss in enumerate(dev):
        if loss < best * (1 - 1e-4):
            best = loss
        else:
            new = lr * 0.1
            if lr - new > 1e-8:
                lr = new
        assert lrs[e + 1] == pytest.approx(lr, rel=1e-12), (e, lrs, dev)
        if loss < min_dev - 1e-4:
            min_dev, best_epoch = loss, e
        else:
            assert e - best_epoch < 5, "training should have stopped"
    assert p.n_epochs_ in (len(dev) + 1,)
    if p.best_epoch_ < len(dev):
        assert p.best_epoch_ == best_epoch
        assert p.dev_loss_ == pytest.approx(min_dev, rel=1e-12)
    assert p.loss(xs[45:], targets=Ds[45:]) == pytest.approx(p.dev_loss_, rel=1e-6)
