"""AST-Probe (Hernández López et al. 2022): recover syntax trees from hidden representations.

Follows the paper's code (src/data/binary_tree.py, src/probe/ of the AST-Probe repository):

* ``binarize_tree``: merge unary chains (labels joined with ``"<sep>"``), carry the label chain of a
  node whose only child is a token on that token (its *unary* label), right-nest nodes with more than
  two children under ``"<empty>"`` nodes;
* ``tree_to_tuples``: the (d, c, u) tuples -- d_i the height of the lowest common ancestor of tokens
  i and i+1 in the binary tree, c_i its label, u_i token i's unary label (``"<empty>"`` if none);
* ``tuples_to_tree``: decode by splitting at the largest d recursively, then drop ``"<empty>"``
  nodes (a root left empty is ``"bad_root"``), insert unary nodes and expand ``"A<sep>B"`` chains;
* ``ASTProbe``: t_i = P^T h_i, d_hat_i = ||t_{i+1} - t_i||^2, c scores (t_{i+1} - t_i)^T V_c,
  u scores t_i^T V_u; loss = pairwise ranking loss on d + cross-entropy on c and u
  + orthogonal_reg * ||P^T P - I||_F^2; Adam; ``score`` = mean constituent F1 per snippet.

Trees are ``(parent, labels, token_node)``: parent indices (-1 for the root), a label per node (any
values; they are used as strings) and the node of each token (the leaves, in token order).
``code_tree(source)`` builds that from Python source with the ``ast`` module.
"""
from __future__ import annotations

import ctypes

import numpy as np

from . import _native
from ._base import (DEPRECATED, LaminaEstimator, check_float, check_int, check_offsets, check_seed,
                    progress_callback, reject_unknown, renamed_kwarg, renamed_param)
from ._code_tree import (CodeTree, code_tree, strip_comments_and_docstrings, tokenize_code,
                         tree_depths_and_distances)
from ._native import ASTChains, ASTProbeParams, ASTTrees, call, fptr, iptr, lptr
from .errors import InvalidArgumentError, NotFittedError, ShapeMismatchError

SEP = "<sep>"
EMPTY = "<empty>"
BAD_ROOT = "bad_root"
_PROGRESS_FIELDS = {"step": "step", "total_steps": "total_steps", "loss": "loss"}  # + the loss terms

__all__ = ["check_trees", "binarize_tree", "tree_to_tuples", "trees_to_tuples", "tuples_to_tree", "constituents",
           "constituent_f1", "ASTProbe", "code_tree", "CodeTree", "strip_comments_and_docstrings",
           "tokenize_code", "tree_depths_and_distances", "SEP", "EMPTY", "BAD_ROOT"]


class _ChainTable:
    """Label chains <-> ids (chain 0 = "<empty>"), mirrored into a lamina_ast_chains."""

    def __init__(self):
        self.atoms: list[str] = []
        self.atom_id: dict[str, int] = {}
        self.chains: list[tuple[int, ...]] = [()]
        self.chain_id: dict[tuple[int, ...], int] = {(): 0}

    def atom(self, label) -> int:
        s = str(label)
        k = self.atom_id.get(s)
        if k is None:
            k = self.atom_id[s] = len(self.atoms)
            self.atoms.append(s)
        return k

    def intern(self, name) -> int:
        s = str(name)
        chain = () if s == EMPTY else tuple(self.atom(a) for a in s.split(SEP))
        k = self.chain_id.get(chain)
        if k is None:
            k = self.chain_id[chain] = len(self.chains)
            self.chains.append(chain)
        return k

    def name(self, k: int) -> str:
        chain = self.chains[k]
        return EMPTY if not chain else SEP.join(self.atoms[a] for a in chain)

    def c_struct(self, extra_chains=0, extra_atoms=0):
        n_atoms = sum(len(c) for c in self.chains)
        offsets = np.zeros(len(self.chains) + extra_chains + 1, np.int64)
        atoms = np.zeros(max(n_atoms + extra_atoms, 1), np.int32)
        pos = 0
        for k, c in enumerate(self.chains):
            atoms[pos:pos + len(c)] = c
            pos += len(c)
            offsets[k + 1] = pos
        st = ASTChains(len(self.chains), len(self.chains) + extra_chains, n_atoms + extra_atoms,
                       lptr(offsets), iptr(atoms))
        return st, (offsets, atoms)

    def update_from(self, st, keep):
        offsets, atoms = keep
        for k in range(len(self.chains), st.n_chains):
            chain = tuple(int(a) for a in atoms[offsets[k]:offsets[k + 1]])
            self.chain_id[chain] = k
            self.chains.append(chain)


def _as_tree(tree, table: _ChainTable):
    try:
        parent, labels, token_node = tree
    except (TypeError, ValueError):
        if isinstance(tree, CodeTree):
            parent, labels, token_node = tree.parent, tree.labels, tree.token_node
        else:
            raise InvalidArgumentError("a tree must be (parent, labels, token_node) or a CodeTree") from None
    parent = np.asarray(parent)
    token_node = np.asarray(token_node)
    if parent.ndim != 1 or token_node.ndim != 1:
        raise InvalidArgumentError("parent and token_node must be 1-D")
    if len(labels) != len(parent):
        raise ShapeMismatchError(f"{len(labels)} labels for {len(parent)} nodes; expected one per node")
    for name, arr in (("parent", parent), ("token_node", token_node)):
        if arr.size and (arr.dtype.kind not in "iu" or arr.min() < np.iinfo(np.int32).min
                         or arr.max() > np.iinfo(np.int32).max):
            raise InvalidArgumentError(f"{name} must hold int32 node indices")
    return (parent.astype(np.int32), np.array([table.atom(x) for x in labels], np.int32),
            token_node.astype(np.int32))


def _is_single_tree(x) -> bool:
    if isinstance(x, CodeTree):
        return True
    if not isinstance(x, tuple) or len(x) != 3 or isinstance(x[0], (tuple, CodeTree)):
        return False
    try:
        first = np.asarray(x[0])
    except (ValueError, TypeError):
        return False
    return first.ndim == 1 and (first.size == 0 or first.dtype.kind in "iu")


def _trees_struct(trees, table: _ChainTable):
    if _is_single_tree(trees):
        trees = [trees]
    conv = [_as_tree(t, table) for t in trees]
    if not conv:
        raise InvalidArgumentError("no trees given; expected at least one")
    node_off = np.concatenate([[0], np.cumsum([len(p) for p, _, _ in conv])]).astype(np.int64)
    tok_off = np.concatenate([[0], np.cumsum([len(t) for _, _, t in conv])]).astype(np.int64)
    parent = np.ascontiguousarray(np.concatenate([p for p, _, _ in conv]), np.int32)
    label = np.ascontiguousarray(np.concatenate([lab for _, lab, _ in conv]), np.int32)
    token_node = np.ascontiguousarray(np.concatenate([t for _, _, t in conv]), np.int32)
    if parent.size == 0:
        parent = np.zeros(1, np.int32)  # a valid pointer; the offsets reject the empty tree
        label = np.zeros(1, np.int32)
    if token_node.size == 0:
        token_node = np.zeros(1, np.int32)
    st = ASTTrees(len(conv), lptr(node_off), iptr(parent), iptr(label), lptr(tok_off), iptr(token_node))
    return st, (node_off, parent, label, tok_off, token_node), tok_off


def check_trees(trees) -> None:
    """Raises InvalidArgumentError for a tree that is not a tree (cycle, two roots, parent out of
    range, leaf without token, tokens of a node not contiguous)."""
    table = _ChainTable()
    st, keep, _ = _trees_struct(trees, table)
    call("lamina_ast_trees_check", ctypes.byref(st))


def binarize_tree(parent, labels, token_node):
    """The paper's ast2binary. Returns (parent, labels, token_node) of the binary tree: 2L - 1 nodes
    in pre-order, labels are chains ``"A<sep>B"`` (``"<empty>"`` for right-nesting nodes); a leaf's
    label is its unary chain (``"<empty>"`` if none)."""
    table = _ChainTable()
    st, keep, tok_off = _trees_struct([(parent, labels, token_node)], table)
    L = int(tok_off[-1])
    cst, ckeep = table.c_struct(extra_chains=2 * L + 1, extra_atoms=len(keep[1]))
    out_p = np.zeros(2 * L - 1, np.int32)
    out_c = np.zeros(2 * L - 1, np.int32)
    out_t = np.zeros(L, np.int32)
    call("lamina_ast_binarize", ctypes.byref(st), iptr(out_p), iptr(out_c), iptr(out_t), ctypes.byref(cst))
    table.update_from(cst, ckeep)
    return out_p, [table.name(int(k)) for k in out_c], out_t


def trees_to_tuples(trees):
    """(d, c, u) of many trees, concatenated: d (sum L_i - 1 int32), c (list of str, same length), u
    (list of str, sum L_i) and the token offsets (n_trees + 1 int64); tree i's d and c start at
    offsets[i] - i, its u at offsets[i]. Each tree: (parent, labels, token_node) or a CodeTree."""
    table = _ChainTable()
    st, keep, tok_off = _trees_struct(trees, table)
    n_tok, n_trees = int(tok_off[-1]), len(tok_off) - 1
    cst, ckeep = table.c_struct(extra_chains=2 * n_tok + 1, extra_atoms=len(keep[1]))
    d = np.zeros(max(n_tok - n_trees, 1), np.int32)
    c = np.zeros(max(n_tok - n_trees, 1), np.int32)
    u = np.zeros(n_tok, np.int32)
    call("lamina_ast_tuples", ctypes.byref(st), iptr(d), iptr(c), iptr(u), ctypes.byref(cst))
    table.update_from(cst, ckeep)
    m = n_tok - n_trees
    return d[:m], [table.name(int(k)) for k in c[:m]], [table.name(int(k)) for k in u], tok_off


def tree_to_tuples(parent, labels, token_node):
    """(d, c, u) of one tree: d (L - 1 int32 heights), c (L - 1 label chains), u (L unary chains)."""
    d, c, u, _ = trees_to_tuples([(parent, labels, token_node)])
    return d, c, u


def _tuple_ids(d, c, u, table: _ChainTable):
    d = np.ascontiguousarray(np.asarray(d, dtype=np.float64).astype(np.float32).reshape(-1))
    cid = np.array([table.intern(x) for x in c], np.int32)
    uid = np.array([table.intern(x) for x in u], np.int32)
    return d, cid, uid


def tuples_to_tree(d, c, u):
    """Decodes (d, c, u) of one snippet into (parent, labels, token_node): split at the (first)
    largest d recursively, drop "<empty>" nodes ("bad_root" if it is the root), add unary nodes,
    expand chains. Leaves are labelled with their token index as a string (as the paper's code)."""
    table = _ChainTable()
    dv, cid, uid = _tuple_ids(d, c, u, table)
    L = len(uid)
    if L < 1:
        raise InvalidArgumentError("u is empty; expected one unary label per token (>= 1 token)")
    cst, ckeep = table.c_struct()
    cap = L + sum(max(1, len(table.chains[k])) for k in cid) + sum(len(table.chains[k]) for k in uid)
    parent = np.zeros(cap, np.int32)
    label = np.zeros(cap, np.int32)
    token_node = np.zeros(L, np.int32)
    n_nodes = ctypes.c_int64(0)
    dummy_f = np.zeros(1, np.float32)
    dummy_i = np.zeros(1, np.int32)
    call("lamina_ast_decode", L, fptr(dv if len(dv) else dummy_f), iptr(cid if len(cid) else dummy_i),
         iptr(uid), ctypes.byref(cst), cap, iptr(parent), iptr(label), iptr(token_node), ctypes.byref(n_nodes))
    n = n_nodes.value
    leaf_of = {int(v): i for i, v in enumerate(token_node)}
    names = []
    for v in range(n):
        a = int(label[v])
        names.append(str(leaf_of[v]) if a == -1 else BAD_ROOT if a == -2 else table.atoms[a])
    return parent[:n], names, token_node


def constituents(parent, labels, token_node):
    """Sorted list of (label, first token, last token) of the nodes that have children."""
    parent = [int(p) for p in parent]
    n = len(parent)
    lo, hi = [None] * n, [None] * n
    has_kids = [False] * n
    depth = [0] * n
    for v in range(n):
        u, k = v, 0
        while parent[u] >= 0:
            u = parent[u]
            k += 1
        depth[v] = k
    for i, v in enumerate(token_node):
        lo[int(v)] = hi[int(v)] = i
    for v in sorted(range(n), key=lambda v: -depth[v]):
        p = parent[v]
        if p >= 0:
            has_kids[p] = True
            lo[p] = lo[v] if lo[p] is None else min(lo[p], lo[v])
            hi[p] = hi[v] if hi[p] is None else max(hi[p], hi[v])
    return sorted((str(labels[v]), lo[v], hi[v]) for v in range(n) if has_kids[v])


def _ragged_offsets(offsets, n_rows=None, name="offsets"):
    return check_offsets(offsets, n_rows, name)


def constituent_f1(offsets, gold, pred):
    """Constituent precision, recall and F1 per snippet (the paper's get_precision_recall_f1 on the
    decoded trees) and their means. gold, pred: (d, c, u) concatenated as trees_to_tuples returns
    them. Returns dict(precision=..., recall=..., f1=... arrays, mean_precision, mean_recall, mean_f1)."""
    off = _ragged_offsets(offsets)
    table = _ChainTable()
    gd, gc, gu = _tuple_ids(*gold, table)
    pd, pc, pu = _tuple_ids(*pred, table)
    return _f1(off, (gd, gc, gu), (pd, pc, pu), table)


def _f1(off, gold, pred, table):
    s = len(off) - 1
    m, n = int(off[-1]) - s, int(off[-1])
    for name, (d, c, u) in (("gold", gold), ("pred", pred)):
        if len(d) != m or len(c) != m or len(u) != n:
            raise ShapeMismatchError(f"{name}: {len(d)} d, {len(c)} c and {len(u)} u values; expected "
                                     f"{m}, {m} and {n} for these offsets")
    cst, ckeep = table.c_struct()
    p, r, f = np.zeros(s), np.zeros(s), np.zeros(s)
    mean = np.zeros(3)
    safe = [a if len(a) else np.zeros(1, a.dtype) for a in (*gold, *pred)]
    call("lamina_ast_f1", lptr(off), s, fptr(safe[0]), iptr(safe[1]), iptr(safe[2]), fptr(safe[3]),
         iptr(safe[4]), iptr(safe[5]), ctypes.byref(cst), _native.dptr(p), _native.dptr(r),
         _native.dptr(f), _native.dptr(mean))
    return dict(precision=p, recall=r, f1=f, mean_precision=float(mean[0]), mean_recall=float(mean[1]),
                mean_f1=float(mean[2]))


class ASTProbe(LaminaEstimator):
    """AST-Probe (the paper's ParserProbe trained with ParserLoss(loss='rank')).

    t_i = P^T h_i (P: dim x rank; B = P^T spans the syntactic subspace), D_i = t_{i+1} - t_i,
    d_hat_i = ||D_i||^2, c scores D_i^T V_c, u scores t_i^T V_u (softmax). Loss per batch:
    sum_{(i,j) in a snippet, d_i > d_j} relu(1 - (d_hat_i - d_hat_j)) / #pairs + CE(c) + CE(u)
    + orthogonal_reg ||P^T P - I||_F^2, Adam (torch's rule), seeded init U(-0.05, 0.05) and shuffle.
    Defaults are the paper's (rank 128, lr 1e-3, batch 32 snippets, 20 epochs, orthogonal_reg 5);
    there is no early stopping (the paper's code stops on a validation set). random_state seeds the
    initialisation and the shuffle; verbose prints a progress line on stderr during fit.
    (``learning_rate`` and ``seed`` are the deprecated 0.1 names of ``lr`` and ``random_state``.)

    Attributes after fit: ``proj_`` (dim x rank), ``vectors_c_``, ``vectors_u_``, ``classes_c_``,
    ``classes_u_`` (label chains of the classes), ``n_steps_``, ``loss_`` (mean loss of the last
    epoch), ``history_`` (per-step loss terms when ``record_history=True``).
    """

    def __init__(self, rank=128, epochs=20, batch_size=32, lr=1e-3, orthogonal_reg=5.0, random_state=0,
                 beta1=0.9, beta2=0.999, eps=1e-8, record_history=False, *, verbose=False,
                 learning_rate=DEPRECATED, seed=DEPRECATED):
        self.rank = rank
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.orthogonal_reg = orthogonal_reg
        self.random_state = random_state
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.record_history = record_history
        self.verbose = verbose
        self.learning_rate = learning_rate
        self.seed = seed

    def _params(self):
        p = ASTProbeParams()
        p.rank = check_int(self.rank, "rank", bits=32)
        p.epochs = check_int(self.epochs, "epochs", bits=32)
        p.batch_size = check_int(self.batch_size, "batch_size", bits=32)
        p.lr = check_float(renamed_param(self, "learning_rate", "lr", 1e-3), "lr")
        p.orthogonal_reg = check_float(self.orthogonal_reg, "orthogonal_reg")
        p.beta1 = check_float(self.beta1, "beta1")
        p.beta2 = check_float(self.beta2, "beta2")
        p.eps = check_float(self.eps, "eps")
        p.seed = check_seed(renamed_param(self, "seed", "random_state", 0))
        call("lamina_ast_probe_check_params", ctypes.byref(p))
        return p

    def fit(self, X, offsets, d, c, u, callback=None, **deprecated):
        """X (n x dim), offsets (n_snippets + 1, snippets of >= 2 tokens), gold tuples as
        trees_to_tuples returns them (d heights, c and u label chains). callback(info) is called after
        each step with a dict (step, total_steps, loss and the loss terms); returning True cancels
        (CancelledError; the weights of the last step are kept). verbose=True (the parameter) prints a
        progress line on stderr."""
        callback = renamed_kwarg("ASTProbe.fit", deprecated, "progress", "callback", callback, None)
        reject_unknown("ASTProbe.fit", deprecated)
        X = _native.as_matrix(X)
        off = _ragged_offsets(offsets, X.shape[0])
        table = _ChainTable()
        dv = np.ascontiguousarray(np.asarray(d), np.int32)
        cid = np.array([table.intern(x) for x in c], np.int32)
        uid = np.array([table.intern(x) for x in u], np.int32)
        s = len(off) - 1
        if len(dv) != X.shape[0] - s or len(cid) != X.shape[0] - s or len(uid) != X.shape[0]:
            raise ShapeMismatchError(f"{len(dv)} d, {len(cid)} c and {len(uid)} u values; expected "
                                     f"{X.shape[0] - s}, {X.shape[0] - s} and {X.shape[0]}")
        params = self._params()
        handle = _native.Handle("lamina_ast_probe_create", "lamina_ast_probe_free", ctypes.byref(params))
        history = [] if self.record_history else None
        safe_d = dv if len(dv) else np.zeros(1, np.int32)
        safe_c = cid if len(cid) else np.zeros(1, np.int32)
        try:
            with progress_callback("ast probe", callback, self.verbose, _PROGRESS_FIELDS,
                                   record=history.append if history is not None else None,
                                   false_warns=True) as progress:
                call("lamina_ast_probe_fit", handle, _native.fptr(X), X.shape[0], X.shape[1], lptr(off), s,
                     iptr(safe_d), iptr(safe_c), iptr(uid), progress.fn, None)
        except BaseException:
            if _fitted(handle):   # cancelled: keep the last step's weights
                self._adopt(handle, table, history, params)
            raise
        self._adopt(handle, table, history, params)
        return self

    def _adopt(self, handle, table, history, params):
        self._handle, self._table = handle, table  # frees the previous fit's handle
        self.history_ = history
        self._read_weights(params.rank)

    def _read_weights(self, r):
        dim, nc, nu, steps, loss = ctypes.c_int64(), ctypes.c_int32(), ctypes.c_int32(), ctypes.c_int64(), ctypes.c_double()
        call("lamina_ast_probe_get_info", self._handle, ctypes.byref(dim), ctypes.byref(nc), ctypes.byref(nu),
             ctypes.byref(steps), ctypes.byref(loss))
        self.proj_ = np.zeros((dim.value, r), np.float32)
        self.vectors_c_ = np.zeros((r, nc.value), np.float32)
        self.vectors_u_ = np.zeros((r, nu.value), np.float32)
        cc, cu = np.zeros(nc.value, np.int32), np.zeros(nu.value, np.int32)
        call("lamina_ast_probe_get_weights", self._handle, fptr(self.proj_), fptr(self.vectors_c_),
             fptr(self.vectors_u_), iptr(cc), iptr(cu))
        self._class_ids = (cc, cu)
        self.classes_c_ = [self._table.name(int(k)) for k in cc]
        self.classes_u_ = [self._table.name(int(k)) for k in cu]
        self.n_features_in_ = dim.value
        self.n_steps_ = steps.value
        self.loss_ = loss.value

    # -- pickling: weights and class ids; the handle is rebuilt from them ---------------------------

    def _native_state(self):
        cc, cu = self._class_ids
        return {"proj": self.proj_.copy(), "vectors_c": self.vectors_c_.copy(), "vectors_u": self.vectors_u_.copy(),
                "classes_c": cc.copy(), "classes_u": cu.copy()}

    def _restore_native(self, state):
        proj = np.ascontiguousarray(state["proj"], np.float32)
        vc = np.ascontiguousarray(state["vectors_c"], np.float32)
        vu = np.ascontiguousarray(state["vectors_u"], np.float32)
        cc = np.ascontiguousarray(state["classes_c"], np.int32)
        cu = np.ascontiguousarray(state["classes_u"], np.int32)
        params = self._params()
        params.rank = proj.shape[1]
        handle = _native.Handle("lamina_ast_probe_create", "lamina_ast_probe_free", ctypes.byref(params))
        call("lamina_ast_probe_set_weights", handle, proj.shape[0], fptr(proj), fptr(vc), iptr(cc), len(cc),
             fptr(vu), iptr(cu), len(cu))
        self._handle = handle

    def predict(self, X, offsets):
        """Predicted tuples: d_hat (float32, n - n_snippets), c (list of chains), u (list, n)."""
        if getattr(self, "_handle", None) is None:
            raise NotFittedError("This ASTProbe instance is not fitted yet. Call 'fit' first.")
        X = _native.as_matrix(X)
        off = _ragged_offsets(offsets, X.shape[0])
        s = len(off) - 1
        m = X.shape[0] - s
        d = np.zeros(max(m, 1), np.float32)
        c = np.zeros(max(m, 1), np.int32)
        u = np.zeros(X.shape[0], np.int32)
        call("lamina_ast_probe_predict", self._handle, fptr(X), X.shape[0], X.shape[1], lptr(off), s,
             fptr(d), iptr(c), iptr(u))
        return d[:m], [self._table.name(int(k)) for k in c[:m]], [self._table.name(int(k)) for k in u]

    def score_detail(self, X, offsets, d, c, u):
        """Constituent precision/recall/F1 per snippet and their means (see constituent_f1)."""
        pred = self.predict(X, offsets)
        return constituent_f1(offsets, (d, c, u), pred)

    def score(self, X, offsets, d, c, u):
        """Mean constituent F1 over the snippets (the paper's test F1)."""
        return self.score_detail(X, offsets, d, c, u)["mean_f1"]


def _fitted(handle):
    return _native.lib.lamina_ast_probe_get_info(handle, None, None, None, None, None) == 0
