"""AST-Probe against the pure-Python reference written from the paper's code (reference_ast_probe.py):
binarisation, (d, c, u) tuples, decoding, constituent F1 (exact), on hand-made trees, random trees and
every function of the bundled real data; the probe's loss terms and Adam steps against numpy."""
from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

import reference_ast_probe as ref
from lamina import ast_probe as ap

REPO = Path(__file__).resolve().parents[3]
CODE_DATA = REPO / "examples" / "data" / "minilm_python.h5"


def lamina_constituent_strings(parent, labels, token_node):
    return sorted(f"{lab}-" + "-".join(str(i) for i in range(lo, hi + 1))
                  for lab, lo, hi in ap.constituents(parent, labels, token_node))


def check_tree(parent, labels, token_node):
    d, c, u = ap.tree_to_tuples(parent, labels, token_node)
    rd, rc, ru = ref.tuples(parent, labels, token_node)
    assert list(d) == rd and c == rc and u == ru
    # decoding: same constituents as the reference's decoded tree, and round trip of the tuples
    dec = ap.tuples_to_tree(d, c, u)
    assert lamina_constituent_strings(*dec) == ref.constituent_strings(rd, rc, ru)
    d2, c2, u2 = ap.tree_to_tuples(*_strip_leaf_labels(dec))
    assert lamina_constituent_strings(*ap.tuples_to_tree(d2, c2, u2)) == lamina_constituent_strings(*dec)
    return d, c, u


def _strip_leaf_labels(tree):
    parent, labels, token_node = tree
    leaves = set(int(t) for t in token_node)
    return parent, [("tok" if v in leaves else lab) for v, lab in enumerate(labels)], token_node


# -- hand examples ---------------------------------------------------------------------------------

def test_hand_binary_and_unary_chains():
    # R(A(B(t0 t1)) t2): A has one inner child B -> chain A<sep>B; U(t3): unary on a leaf
    parent = [-1, 0, 1, 2, 2, 0, 0, 6]
    labels = ["R", "A", "B", "tok", "tok", "tok", "U", "tok"]
    token_node = [3, 4, 5, 7]
    d, c, u = check_tree(parent, labels, token_node)
    # R has 3 children (A, t2, U): A, then <empty>(t2, U)
    assert list(d) == [1, 2, 1]
    assert c == ["A<sep>B", "R", "<empty>"]
    assert u == ["<empty>", "<empty>", "<empty>", "U"]
    assert ap.constituents(*ap.tuples_to_tree(d, c, u)) == sorted(
        [("A", 0, 1), ("B", 0, 1), ("R", 0, 3), ("U", 3, 3)])


def test_hand_five_children_right_nested_and_shuffled_numbering():
    # root with 5 token children listed out of order in the node numbering
    parent = [-1, 0, 0, 0, 0, 0]
    labels = ["R", "t", "t", "t", "t", "t"]
    token_node = [4, 2, 5, 1, 3]
    d, c, u = check_tree(parent, labels, token_node)
    assert list(d) == [4, 3, 2, 1]
    assert c == ["R", "<empty>", "<empty>", "<empty>"]


def test_hand_unary_chain_on_token_and_root():
    # Expr -> Call(Name(t0), t1, t2): Name is unary on t0
    parent = [-1, 0, 1, 2, 1, 1]
    labels = ["Expr", "Call", "Name", "NAME", "OP", "OP"]
    token_node = [3, 4, 5]
    d, c, u = check_tree(parent, labels, token_node)
    assert c[0] == "Expr<sep>Call" and u[0] == "Name"


def test_python_function_example():
    t = ap.code_tree("def f(a, b=1):\n    return a + b * 2\n")
    check_tree(t.parent, t.labels, t.token_node)
    assert t.tokens == ["def", "f", "(", "a", ",", "b", "=", "1", ")", ":", "return", "a", "+", "b",
                        "*", "2"]


def test_tree_containers():
    a = ([-1, 0, 0], ["R", "t", "t"], [1, 2])
    b = ap.code_tree("def f():\n    return 1\n")
    one = ap.trees_to_tuples(a)
    many = ap.trees_to_tuples((a, b))          # a tuple of trees is many trees
    assert list(one[3]) == [0, 2] and list(many[3]) == [0, 2, 2 + b.n_tokens]
    assert ap.trees_to_tuples([b])[1] == ap.trees_to_tuples(b)[1]
    ap.check_trees([a, b])


def test_binarized_tree_shape():
    t = ap.code_tree("def g(x):\n    if x:\n        return [x, x + 1, -x]\n    return None\n")
    bp, bl, bt = ap.binarize_tree(t.parent, t.labels, t.token_node)
    L = t.n_tokens
    assert len(bp) == 2 * L - 1 and bp[0] == -1 and (bp[1:] < np.arange(1, 2 * L - 1)).all()
    kids = np.bincount(bp[1:], minlength=2 * L - 1)
    assert set(kids[np.setdiff1d(np.arange(2 * L - 1), bt)]) == {2}   # inner nodes: 2 children
    assert (kids[bt] == 0).all() and (np.diff(bt) > 0).all()


# -- random trees ----------------------------------------------------------------------------------

def random_tree(rng, n_tokens, labels="ABCDE"):
    """A random ordered tree over n_tokens leaves: recursive random splits into 1..4 parts, with
    random unary chains."""
    parent, lab, token_node = [], [], [None] * n_tokens

    def build(lo, hi, par):
        me = len(parent)
        parent.append(par)
        lab.append(rng.choice(labels))
        if hi - lo == 1 and rng.random() < 0.5:
            # token directly under me
            token_node[lo] = len(parent)
            parent.append(me)
            lab.append("tok")
            return
        if rng.random() < 0.25:  # unary chain
            build(lo, hi, me)
            return
        if hi - lo == 1:
            token_node[lo] = len(parent)
            parent.append(me)
            lab.append("tok")
            return
        k = min(hi - lo, rng.randint(2, 4))
        cuts = sorted(rng.sample(range(lo + 1, hi), k - 1))
        bounds = [lo] + cuts + [hi]
        parts = list(zip(bounds[:-1], bounds[1:]))
        for a, b in parts:
            if b - a == 1 and rng.random() < 0.5:
                token_node[a] = len(parent)
                parent.append(me)
                lab.append("tok")
            else:
                build(a, b, me)

    build(0, n_tokens, -1)
    # shuffle node numbering (keeps the tree)
    n = len(parent)
    perm = list(range(1, n))
    rng.shuffle(perm)
    perm = [0] + perm
    inv = {old: new for new, old in enumerate(perm)}
    new_parent = [-1] * n
    new_lab = [None] * n
    for old in range(n):
        new_parent[inv[old]] = -1 if parent[old] < 0 else inv[parent[old]]
        new_lab[inv[old]] = lab[old]
    return new_parent, new_lab, [inv[t] for t in token_node]


def test_random_trees_match_reference():
    rng = random.Random(7)
    for _ in range(150):
        tree = random_tree(rng, rng.randint(2, 25))
        check_tree(*tree)


def test_f1_matches_reference_on_random_predictions():
    rng = random.Random(3)
    np_rng = np.random.default_rng(3)
    trees = [random_tree(rng, rng.randint(2, 20)) for _ in range(60)]
    d, c, u, off = ap.trees_to_tuples(trees)
    chains_c, chains_u = sorted(set(c)), sorted(set(u))
    pd = np_rng.normal(size=len(d)).astype(np.float32)
    # half of the predictions noisy copies of the gold heights
    pd[: len(d) // 2] = d[: len(d) // 2] + 0.3 * pd[: len(d) // 2]
    pc = [c[i] if np_rng.random() < 0.6 else chains_c[np_rng.integers(len(chains_c))] for i in range(len(c))]
    pu = [u[i] if np_rng.random() < 0.6 else chains_u[np_rng.integers(len(chains_u))] for i in range(len(u))]
    res = ap.constituent_f1(off, (d, c, u), (pd, pc, pu))
    exp = []
    for k in range(len(off) - 1):
        a, b = off[k] - k, off[k + 1] - k - 1
        gold = (list(d[a:b]), c[a:b], u[off[k]:off[k + 1]])
        pred = (list(pd[a:b]), pc[a:b], pu[off[k]:off[k + 1]])
        exp.append(ref.f1(gold, pred))
    exp = np.array(exp, dtype=float)
    np.testing.assert_array_equal(res["precision"], exp[:, 0])
    np.testing.assert_array_equal(res["recall"], exp[:, 1])
    np.testing.assert_allclose(res["f1"], exp[:, 2], rtol=0, atol=1e-15)
    assert res["mean_f1"] == pytest.approx(np.mean(exp[:, 2]), abs=1e-15)
    # gold against itself: perfect
    assert ap.constituent_f1(off, (d, c, u), (d, c, u))["mean_f1"] == 1.0


# -- real data: every function of minilm_python.h5 -------------------------------------------------

def load_code_trees():
    h5py = pytest.importorskip("h5py")
    if not CODE_DATA.exists():
        pytest.skip("examples/data/minilm_python.h5 not present")
    with h5py.File(CODE_DATA, "r") as f:
        g = f["code"]
        names = [s.decode() for s in f["names/ast_node_types"][:]]
        noff, toff = g["tree/offsets"][:], g["offsets"][:]
        parent, label, tn = g["tree/parent"][:], g["tree/label"][:], g["tree/token_node"][:]
        sources = [s.decode() for s in g["source"][:]]
    trees = []
    for i in range(len(toff) - 1):
        trees.append((parent[noff[i]:noff[i + 1]], [names[k] for k in label[noff[i]:noff[i + 1]]],
                      tn[toff[i]:toff[i + 1]]))
    return trees, sources, toff


def test_every_real_function_matches_reference():
    trees, sources, toff = load_code_trees()
    d, c, u, off = ap.trees_to_tuples(trees)
    np.testing.assert_array_equal(off, toff)
    for k, (tree, src) in enumerate(zip(trees, sources)):
        rd, rc, ru = ref.tuples(*tree)
        a, b = off[k] - k, off[k + 1] - k - 1
        assert list(d[a:b]) == rd and c[a:b] == rc and u[off[k]:off[k + 1]] == ru, k
        dec = ap.tuples_to_tree(rd, rc, ru)
        assert lamina_constituent_strings(*dec) == ref.constituent_strings(rd, rc, ru), k
        # the stored tree is the one the helper builds from the stored source
        t = ap.code_tree(src)
        assert list(t.parent) == list(tree[0]) and t.labels == tree[1] and list(t.token_node) == list(tree[2])


# -- the probe: loss terms and Adam steps against numpy --------------------------------------------

def small_problem(seed=0, n_snip=7, dim=12):
    rng = random.Random(seed)
    trees = [random_tree(rng, rng.randint(3, 9), labels="ABC") for _ in range(n_snip)]
    d, c, u, off = ap.trees_to_tuples(trees)
    X = np.random.default_rng(seed).normal(size=(int(off[-1]), dim)).astype(np.float32)
    return X, off, d, c, u


@pytest.mark.parametrize("steps", [1, 3])
def test_probe_loss_and_steps_match_numpy(steps):
    X, off, d, c, u = small_problem()
    kw = dict(rank=5, batch_size=100, lr=1e-2, orthogonal_reg=5.0, random_state=11)
    init = ap.ASTProbe(epochs=0, **kw).fit(X, off, d, c, u)
    P, Vc, Vu = init.proj_.astype(np.float64), init.vectors_c_.astype(np.float64), init.vectors_u_.astype(np.float64)
    yc = np.array([init.classes_c_.index(x) for x in c])
    yu = np.array([init.classes_u_.index(x) for x in u])
    probe = ap.ASTProbe(epochs=steps, record_history=True, **kw).fit(X, off, d, c, u)
    adam = ref.TorchAdam([P.shape, Vc.shape, Vu.shape], lr=1e-2)
    for s in range(steps):
        terms, grads = ref.probe_loss_grad(X, off, d, yc, yu, P, Vc, Vu, 5.0)
        got = probe.history_[s]
        np.testing.assert_allclose([got["rank"], got["c"], got["u"], got["orthogonal"]], terms,
                                   rtol=1e-5, atol=1e-6)
        P, Vc, Vu = adam.step([P, Vc, Vu], grads)
    np.testing.assert_allclose(probe.proj_, P, rtol=1e-4, atol=2e-6)
    np.testing.assert_allclose(probe.vectors_c_, Vc, rtol=1e-4, atol=2e-6)
    np.testing.assert_allclose(probe.vectors_u_, Vu, rtol=1e-4, atol=2e-6)


def test_probe_deterministic_and_learns():
    X, off, d, c, u = small_problem(seed=1, n_snip=12)
    a = ap.ASTProbe(rank=8, epochs=60, batch_size=4, lr=2e-2, random_state=5).fit(X, off, d, c, u)
    b = ap.ASTProbe(rank=8, epochs=60, batch_size=4, lr=2e-2, random_state=5).fit(X, off, d, c, u)
    np.testing.assert_array_equal(a.proj_, b.proj_)
    untrained = ap.ASTProbe(rank=8, epochs=0, random_state=5).fit(X, off, d, c, u)
    assert a.score(X, off, d, c, u) > untrained.score(X, off, d, c, u) + 0.2
    pd, pc, pu = a.predict(X, off)
    assert pd.dtype == np.float32 and len(pd) == len(d) and len(pu) == len(u)


def test_progress_cancel_keeps_weights():
    X, off, d, c, u = small_problem()
    probe = ap.ASTProbe(rank=4, epochs=5, batch_size=2)
    seen = []
    import lamina
    with pytest.raises(lamina.CancelledError):
        probe.fit(X, off, d, c, u, callback=lambda p: seen.append(p["step"]) or (p["step"] >= 3 or None))
    assert seen == [1, 2, 3] and probe.n_steps_ == 3


def test_probe_same_bits_for_1_and_2_threads():
    import lamina
    X, off, d, c, u = small_problem(seed=2, n_snip=10, dim=40)
    before = lamina.get_num_threads()
    try:
        out = []
        for t in (1, 2):
            lamina.set_num_threads(t)
            p = ap.ASTProbe(rank=16, epochs=5, batch_size=3, random_state=9).fit(X, off, d, c, u)
            out.append((p.proj_.copy(), p.predict(X, off)))
    finally:
        lamina.set_num_threads(before)
    np.testing.assert_array_equal(out[0][0], out[1][0])
    np.testing.assert_array_equal(out[0][1][0], out[1][1][0])
