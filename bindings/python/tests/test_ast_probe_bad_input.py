"""Bad input at every AST-Probe entry point, through the Python API and directly through the C API
(bypassing the Python-side checks): trees that are not trees, bad chain tables, bad tuples, bad
params (rank < 1, NaN/Inf), NaN/Inf activations, bad offsets, stale handles. Each must give a clear
error (status + message naming the argument) and never crash: the cases run in a worker subprocess
(this file with --worker), so a Swift trap fails one case instead of killing pytest."""
from __future__ import annotations

import sys

from isolated import case_registry, crash_tests, expect, expect_status, worker_main

CASES, case = case_registry()


def _mods():
    import ctypes

    import numpy as np

    import lamina
    from lamina import _native as N
    from lamina import ast_probe as ap
    return ctypes, np, lamina, N, ap


def expect_raises(fn, cls, *words):
    expect(fn, cls, BaseException, *words)


# -- trees through the C API -----------------------------------------------------------------------

GOOD = ([-1, 0, 0, 0], [0, 1, 1, 1], [1, 2, 3])   # root with three token leaves


def c_trees(parent=GOOD[0], label=GOOD[1], token_node=GOOD[2], node_offsets=None, token_offsets=None,
            n_trees=1, null=()):
    ctypes, np, _, N, _ = _mods()
    p = np.array(parent, np.int32)
    lab = np.array(label, np.int32)
    t = np.array(token_node, np.int32)
    no = np.array(node_offsets if node_offsets is not None else [0, len(parent)], np.int64)
    to = np.array(token_offsets if token_offsets is not None else [0, len(token_node)], np.int64)
    st = N.ASTTrees(n_trees, None if "node_offsets" in null else N.lptr(no), None if "parent" in null else N.iptr(p),
                    N.iptr(lab), N.lptr(to), None if "token_node" in null else N.iptr(t))
    return st, (p, lab, t, no, to)


def check_tree_status(want, *words, **kw):
    ctypes, _, _, N, _ = _mods()
    st, keep = c_trees(**kw)
    expect_status(want, N.lib.lamina_ast_trees_check(ctypes.byref(st)), *words)
    # the same validation runs in lamina_ast_tuples, before anything is written
    st2, keep2 = c_trees(**kw)
    ch, ckeep = new_chains()
    d, c, u = (__import__("numpy").zeros(64, "int32") for _ in range(3))
    expect_status(want, N.lib.lamina_ast_tuples(ctypes.byref(st2), N.iptr(d), N.iptr(c), N.iptr(u),
                                                ctypes.byref(ch)), *words)
    assert want == 0 or ch.n_chains == 0


def new_chains(max_chains=64, max_atoms=64):
    _, np, _, N, _ = _mods()
    off = np.zeros(max_chains + 1, np.int64)
    atoms = np.zeros(max(max_atoms, 1), np.int32)
    return N.ASTChains(0, max_chains, max_atoms, N.lptr(off), N.iptr(atoms)), (off, atoms)


@case
def tree_ok():
    check_tree_status(0)


@case
def tree_cycle():
    # 0 is the root with token 3; 1 -> 2 -> 1 is a cycle
    check_tree_status(1, "cycle", parent=[-1, 2, 1, 0], label=[0, 0, 0, 0], token_node=[3])


@case
def tree_no_root():
    check_tree_status(1, "no root", parent=[1, 0], label=[0, 0], token_node=[1])


@case
def tree_two_roots():
    check_tree_status(1, "two roots", parent=[-1, 0, -1, 2], label=[0] * 4, token_node=[1, 3])


@case
def tree_parent_out_of_range():
    check_tree_status(1, "parent[2] is 9", parent=[-1, 0, 9, 0], label=[0] * 4, token_node=[1, 3])


@case
def tree_parent_negative():
    check_tree_status(1, "parent[1] is -4", parent=[-1, -4, 0], label=[0] * 3, token_node=[2])


@case
def tree_own_parent():
    check_tree_status(1, "own parent", parent=[-1, 1, 0], label=[0] * 3, token_node=[2])


@case
def tree_leaves_out_of_order():
    # root(A(t0, t2), t1): A's tokens are 0 and 2
    check_tree_status(1, "leaves out of order", parent=[-1, 0, 1, 1, 0], label=[0] * 5, token_node=[2, 4, 3])


@case
def tree_leaf_without_token():
    check_tree_status(1, "leaf without a token", parent=[-1, 0, 0, 0], label=[0] * 4, token_node=[1, 2])


@case
def tree_token_not_leaf():
    check_tree_status(1, "has children", parent=[-1, 0, 1], label=[0] * 3, token_node=[1])


@case
def tree_two_tokens_one_node():
    check_tree_status(1, "both node", parent=[-1, 0, 0], label=[0] * 3, token_node=[1, 1])


@case
def tree_token_node_out_of_range():
    check_tree_status(1, "token_node[1] is 7", parent=[-1, 0, 0], label=[0] * 3, token_node=[1, 7])


@case
def tree_negative_label():
    check_tree_status(1, "label[2] is -3", parent=[-1, 0, 0], label=[0, 0, -3], token_node=[1, 2])


@case
def tree_n_trees_zero():
    check_tree_status(1, "n_trees is 0", n_trees=0)


@case
def tree_null_pointers():
    for what in ("node_offsets", "parent", "token_node"):
        check_tree_status(1, f"{what} is NULL", null=(what,))


@case
def tree_offsets_not_from_zero():
    check_tree_status(1, "node_offsets[0] is 1", node_offsets=[1, 4])


@case
def tree_offsets_decreasing():
    check_tree_status(1, "token_offsets[1]", token_offsets=[0, -2])


@case
def tree_offsets_huge():
    check_tree_status(1, "node_offsets[1]", node_offsets=[0, 2**62])


@case
def tree_second_tree_bad():
    check_tree_status(1, "tree 1", parent=[-1, 0, 0, -1, -1], label=[0] * 5, token_node=[1, 2, 4],
                      node_offsets=[0, 3, 5], token_offsets=[0, 2, 3], n_trees=2)


# -- chain tables ---------------------------------------------------------------------------------

def _tuples_call(chains):
    ctypes, np, _, N, _ = _mods()
    st, keep = c_trees()
    d, c, u = (np.zeros(8, np.int32) for _ in range(3))
    return N.lib.lamina_ast_tuples(ctypes.byref(st), N.iptr(d), N.iptr(c), N.iptr(u),
                                   None if chains is None else ctypes.byref(chains))


@case
def chains_null():
    expect_status(1, _tuples_call(None), "chains is NULL")


@case
def chains_no_capacity():
    ch, keep = new_chains(max_chains=0)
    expect_status(1, _tuples_call(ch), "max_chains is 0")


@case
def chains_too_small():
    ch, keep = new_chains(max_chains=1, max_atoms=0)
    expect_status(2, _tuples_call(ch), "needs room for")
    assert ch.n_chains == 0


@case
def chains_existing_table_bad():
    _, np, _, N, _ = _mods()
    ch, (off, atoms) = new_chains()
    ch.n_chains = 2
    off[:3] = [0, 1, 2]          # chain 0 is not empty
    expect_status(1, _tuples_call(ch), "chain 0")
    off[:3] = [0, 0, 0]          # chain 1 is empty
    expect_status(1, _tuples_call(ch), "chain 1 is empty")
    off[:3] = [0, 0, 1]
    atoms[0] = -5
    expect_status(1, _tuples_call(ch), "atom -5")
    off[:3] = [0, 2, 1]          # decreasing offsets
    expect_status(1, _tuples_call(ch), "offsets")
    ch.n_chains = -1
    expect_status(1, _tuples_call(ch), "n_chains is -1")


@case
def chains_existing_table_beyond_capacity():
    """An output table's n_chains and atom count are checked against max_chains / max_atoms before its
    offsets and atoms are read (they hold only max_chains + 1 and max_atoms entries)."""
    _, np, _, N, _ = _mods()
    ch, (off, atoms) = new_chains()
    ch.n_chains = 3
    off[:4] = [0, 0, 1, 3]       # a valid table: the empty chain, [1], [2, 3]
    atoms[:3] = [1, 2, 3]
    ch.max_chains = 2            # n_chains beyond the capacity: offsets[3] would lie past the buffer
    expect_status(1, _tuples_call(ch), "n_chains is 3", "max_chains = 2")
    ch.max_chains, ch.max_atoms = 64, 2   # 3 atoms in a table that holds 2
    expect_status(1, _tuples_call(ch), "offsets[3] is 3", "max_atoms = 2")
    assert ch.n_chains == 3


# -- decode and F1 ---------------------------------------------------------------------------------

def _decode(n, d, c, u, chains, max_nodes=64, null_out=False):
    ctypes, np, _, N, _ = _mods()
    d = np.array(d, np.float32)
    c = np.array(c, np.int32)
    u = np.array(u, np.int32)
    par, lab, tn = np.zeros(64, np.int32), np.zeros(64, np.int32), np.zeros(64, np.int32)
    nn = ctypes.c_int64(0)
    st = N.lib.lamina_ast_decode(n, N.fptr(d), N.iptr(c), N.iptr(u), ctypes.byref(chains), max_nodes,
                                 None if null_out else N.iptr(par), N.iptr(lab), N.iptr(tn), ctypes.byref(nn))
    return st, nn.value


def table_abc():
    _, np, _, N, _ = _mods()
    off = np.array([0, 0, 1, 2, 4], np.int64)          # <empty>, [0], [1], [1, 2]
    atoms = np.array([0, 1, 1, 2], np.int32)
    return N.ASTChains(4, 4, 4, N.lptr(off), N.iptr(atoms)), (off, atoms)


@case
def decode_ok_and_capacity():
    ch, keep = table_abc()
    st, n = _decode(3, [1, 2], [1, 3], [0, 2, 0], ch)
    expect_status(0, st)
    assert n == 3 + 1 + 2 + 1, n
    st, need = _decode(3, [1, 2], [1, 3], [0, 2, 0], ch, max_nodes=3)
    expect_status(2, st, "max_nodes is 3")
    assert need == n


@case
def decode_bad_ids_nan_and_sizes():
    ch, keep = table_abc()
    expect_status(1, _decode(3, [1, 2], [1, 99], [0, 0, 0], ch)[0], "c[1] is 99")
    expect_status(1, _decode(3, [1, 2], [1, 1], [0, -1, 0], ch)[0], "u[1] is -1")
    expect_status(3, _decode(3, [1, float("nan")], [1, 1], [0, 0, 0], ch)[0], "d[1] is nan")
    expect_status(3, _decode(3, [float("inf"), 1], [1, 1], [0, 0, 0], ch)[0], "d[0] is inf")
    expect_status(1, _decode(0, [1], [1], [0], ch)[0], "n_tokens is 0")
    expect_status(1, _decode(3, [1, 2], [1, 1], [0, 0, 0], ch, null_out=True)[0], "parent_out is NULL")
    ch.n_chains = 0
    expect_status(1, _decode(3, [1, 2], [1, 1], [0, 0, 0], ch)[0], "n_chains is 0")


@case
def decode_duplicate_chains():
    _, np, _, N, _ = _mods()
    off = np.array([0, 0, 1, 2], np.int64)
    atoms = np.array([4, 4], np.int32)
    ch = N.ASTChains(3, 3, 2, N.lptr(off), N.iptr(atoms))
    expect_status(1, _decode(2, [1], [1], [0, 0], ch)[0], "are equal")


@case
def f1_bad_offsets_and_nan():
    ctypes, np, _, N, _ = _mods()
    ch, keep = table_abc()
    off = np.array([0, 3, 4], np.int64)      # second snippet has one token
    d = np.ones(4, np.float32)
    c = np.ones(4, np.int32)
    u = np.zeros(4, np.int32)
    mean = np.zeros(3)
    st = N.lib.lamina_ast_f1(N.lptr(off), 2, N.fptr(d), N.iptr(c), N.iptr(u), N.fptr(d), N.iptr(c), N.iptr(u),
                             ctypes.byref(ch), None, None, None, N.dptr(mean))
    expect_status(1, st, "token_offsets[2]", ">= 2 tokens")
    off = np.array([0, 3], np.int64)
    bad = np.array([1, np.nan], np.float32)
    st = N.lib.lamina_ast_f1(N.lptr(off), 1, N.fptr(d), N.iptr(c), N.iptr(u), N.fptr(bad), N.iptr(c),
                             N.iptr(u), ctypes.byref(ch), None, None, None, N.dptr(mean))
    expect_status(3, st, "predicted snippet 0", "d[1] is nan")
    st = N.lib.lamina_ast_f1(N.lptr(off), 1, N.fptr(d), N.iptr(c), N.iptr(u), N.fptr(d), N.iptr(c),
                             N.iptr(u), ctypes.byref(ch), None, None, None, None)
    expect_status(1, st, "mean_out is NULL")


# -- the probe: params -----------------------------------------------------------------------------

def _params(**kw):
    _, _, _, N, _ = _mods()
    p = N.lib.lamina_ast_probe_default_params()
    for k, v in kw.items():
        setattr(p, k, v)
    return p


@case
def params_default_ok():
    ctypes, _, _, N, _ = _mods()
    p = _params()
    assert (p.rank, p.epochs, p.batch_size) == (128, 20, 32)
    assert abs(p.lr - 1e-3) < 1e-9 and p.orthogonal_reg == 5.0
    expect_status(0, N.lib.lamina_ast_probe_check_params(ctypes.byref(p)))


@case
def params_bad():
    ctypes, _, _, N, _ = _mods()
    nan, inf = float("nan"), float("inf")
    for field, value, word in [("rank", 0, "params.rank is 0"), ("rank", -3, "params.rank is -3"),
                               ("epochs", -1, "params.epochs is -1"), ("batch_size", 0, "params.batch_size is 0"),
                               ("lr", nan, "params.lr is nan"),
                               ("lr", inf, "params.lr is inf"),
                               ("lr", 0.0, "params.lr is 0.0"),
                               ("orthogonal_reg", nan, "params.orthogonal_reg is nan"),
                               ("orthogonal_reg", -1.0, "params.orthogonal_reg is -1.0"),
                               ("beta1", 1.0, "beta1 is 1.0"), ("eps", 0.0, "eps is 0.0")]:
        p = _params(**{field: value})
        expect_status(1, N.lib.lamina_ast_probe_check_params(ctypes.byref(p)), word)
        h = ctypes.c_void_p()
        expect_status(1, N.lib.lamina_ast_probe_create(ctypes.byref(p), ctypes.byref(h)), word)
        assert not h.value
    expect_status(1, N.lib.lamina_ast_probe_check_params(None), "params is NULL")


@case
def py_params_bad():
    _, np, lamina, _, ap = _mods()
    X, off, d, c, u = _data()
    expect_raises(lambda: ap.ASTProbe(rank=0).fit(X, off, d, c, u), lamina.InvalidArgumentError, "rank is 0")
    expect_raises(lambda: ap.ASTProbe(lr=float("nan")).fit(X, off, d, c, u), ValueError,
                  "lr is nan")
    expect_raises(lambda: ap.ASTProbe(orthogonal_reg=float("inf")).fit(X, off, d, c, u), ValueError,
                  "orthogonal_reg is inf")
    expect_raises(lambda: ap.ASTProbe(rank=2**40).fit(X, off, d, c, u), ValueError, "rank")


# -- the probe: data -------------------------------------------------------------------------------

def _data():
    _, np, _, _, ap = _mods()
    trees = [([-1, 0, 0, 0], ["R", "t", "t", "t"], [1, 2, 3]), ([-1, 0, 1, 1], ["S", "A", "t", "t"], [2, 3])]
    d, c, u, off = ap.trees_to_tuples(trees)
    X = np.random.default_rng(0).normal(size=(5, 6)).astype(np.float32)
    return X, off, d, c, u


def _c_fit(X=None, n=None, dim=None, s=2, off=None, d=None, c=None, u=None, handle=None):
    ctypes, np, _, N, _ = _mods()
    X0 = np.random.default_rng(0).normal(size=(5, 6)).astype(np.float32)
    X = X0 if X is None else X
    off = np.array([0, 3, 5] if off is None else off, np.int64)
    d = np.array([2, 1, 1] if d is None else d, np.int32)
    c = np.array([1, 0, 2] if c is None else c, np.int32)
    u = np.array([0, 0, 0, 0, 0] if u is None else u, np.int32)
    if handle is None:
        p = _params(rank=2, epochs=1)
        h = ctypes.c_void_p()
        expect_status(0, N.lib.lamina_ast_probe_create(ctypes.byref(p), ctypes.byref(h)))
    else:
        h = handle
    st = N.lib.lamina_ast_probe_fit(h, None if X is False else N.fptr(X), X0.shape[0] if n is None else n,
                                    X0.shape[1] if dim is None else dim, N.lptr(off), s, N.iptr(d), N.iptr(c),
                                    N.iptr(u), N.ProgressFn(), None)
    return st, h


@case
def fit_ok_then_predict_dim_mismatch():
    ctypes, np, _, N, _ = _mods()
    st, h = _c_fit()
    expect_status(0, st)
    X = np.zeros((5, 7), np.float32)
    off = np.array([0, 3, 5], np.int64)
    dd, cc, uu = np.zeros(3, np.float32), np.zeros(3, np.int32), np.zeros(5, np.int32)
    expect_status(2, N.lib.lamina_ast_probe_predict(h, N.fptr(X), 5, 7, N.lptr(off), 2, N.fptr(dd), N.iptr(cc),
                                                    N.iptr(uu)), "d = 7", "d = 6")
    # the fitted width is refused before x is read: a NaN in a buffer of the declared (wrong) width is never seen
    X[:] = np.nan
    expect_status(2, N.lib.lamina_ast_probe_predict(h, N.fptr(X), 5, 7, N.lptr(off), 2, N.fptr(dd), N.iptr(cc),
                                                    N.iptr(uu)), "d = 7", "fitted with d = 6")
    N.lib.lamina_ast_probe_free(h)
    # a freed handle is rejected, and a double free is a no-op
    expect_status(1, N.lib.lamina_ast_probe_predict(h, N.fptr(X), 5, 6, N.lptr(off), 2, N.fptr(dd), N.iptr(cc),
                                                    N.iptr(uu)), "not a live lamina_ast_probe")
    N.lib.lamina_ast_probe_free(h)
    N.lib.lamina_ast_probe_free(None)


@case
def fit_nan_inf():
    _, np, _, _, _ = _mods()
    X = np.random.default_rng(0).normal(size=(5, 6)).astype(np.float32)
    X[3, 2] = np.nan
    expect_status(3, _c_fit(X=X)[0], "nan", "row 3", "column 2")
    X[3, 2] = -np.inf
    expect_status(3, _c_fit(X=X)[0], "-inf", "row 3")


@case
def fit_bad_offsets():
    expect_status(1, _c_fit(off=[0, 5, 3])[0], "offsets[2]")
    expect_status(1, _c_fit(off=[0, 1, 5])[0], "offsets[1]", ">= 2 tokens")
    expect_status(1, _c_fit(off=[2, 3, 5])[0], "offsets[0] is 2")
    expect_status(2, _c_fit(off=[0, 2, 4])[0], "expected n = 5")
    expect_status(1, _c_fit(s=0)[0], "n_snippets is 0")


@case
def fit_bad_sizes_and_labels():
    expect_status(1, _c_fit(X=False)[0], "x is NULL")
    expect_status(1, _c_fit(dim=0)[0], "dim is 0")
    expect_status(1, _c_fit(n=-2)[0], "n is -2")
    expect_status(6, _c_fit(n=2**31, dim=2**33)[0], "overflows")
    expect_status(1, _c_fit(c=[1, -1, 0])[0], "c[1] is -1")
    expect_status(1, _c_fit(u=[0, 0, 0, 0, -9])[0], "u[4] is -9")


@case
def fit_null_and_stale_handle():
    ctypes, _, _, N, _ = _mods()
    expect_status(1, _c_fit(handle=ctypes.c_void_p(None))[0], "probe is NULL")
    expect_status(1, _c_fit(handle=ctypes.c_void_p(12345678))[0], "not a live lamina_ast_probe")


@case
def predict_before_fit():
    ctypes, np, _, N, ap = _mods()
    p = _params()
    h = ctypes.c_void_p()
    expect_status(0, N.lib.lamina_ast_probe_create(ctypes.byref(p), ctypes.byref(h)))
    X = np.zeros((5, 6), np.float32)
    off = np.array([0, 3, 5], np.int64)
    dd, cc, uu = np.zeros(3, np.float32), np.zeros(3, np.int32), np.zeros(5, np.int32)
    expect_status(1, N.lib.lamina_ast_probe_predict(h, N.fptr(X), 5, 6, N.lptr(off), 2, N.fptr(dd), N.iptr(cc),
                                                    N.iptr(uu)), "not fitted")
    expect_status(1, N.lib.lamina_ast_probe_get_info(h, None, None, None, None, None), "not fitted")
    N.lib.lamina_ast_probe_free(h)
    expect_raises(lambda: ap.ASTProbe().predict(X, off), ValueError, "not fitted")


@case
def py_side_errors():
    _, np, lamina, _, ap = _mods()
    X, off, d, c, u = _data()
    bad = X.copy()
    bad[0, 0] = np.inf
    expect_raises(lambda: ap.ASTProbe(rank=2, epochs=1).fit(bad, off, d, c, u), lamina.NonFiniteError, "inf")
    expect_raises(lambda: ap.ASTProbe(rank=2, epochs=1).fit(X, [0, 2, 4], d, c, u), ValueError, "expected n = 5")
    expect_raises(lambda: ap.ASTProbe(rank=2, epochs=1).fit(X, off, d[:-1], c, u), ValueError, "expected")
    expect_raises(lambda: ap.tree_to_tuples([-1, 2, 1, 0], ["a"] * 4, [3]), lamina.InvalidArgumentError, "cycle")
    expect_raises(lambda: ap.tree_to_tuples([-1, 0, -1], ["a"] * 3, [1, 2]), ValueError, "two roots")
    expect_raises(lambda: ap.tree_to_tuples([-1, 0, 5], ["a"] * 3, [1, 2]), ValueError, "parent[2] is 5")
    expect_raises(lambda: ap.tuples_to_tree([1.0, float("nan")], ["R", "R"], ["<empty>"] * 3),
                  lamina.NonFiniteError, "d[1] is nan")

    def boom(_):
        raise KeyError("from the callback")

    expect_raises(lambda: ap.ASTProbe(rank=2, epochs=2).fit(X, off, d, c, u, callback=boom), KeyError,
                  "from the callback")


# ==================================================================================================

if __name__ == "__main__":
    worker_main(CASES)
    sys.exit(0)

test_ast_probe_bad_input = crash_tests(__file__, CASES)
