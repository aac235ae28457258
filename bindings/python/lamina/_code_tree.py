"""Gold syntax trees of Python source from the standard ``ast`` module (pure Python, stdlib only).

This module has no dependency on the native library, so that the demo-data generator can load it by
file path without building Lamina. ``lamina.ast_probe`` re-exports its functions.

Tree convention (the one every AST-Probe function of Lamina takes):

* code tokens = the tokens of Python's ``tokenize`` (names, keywords, operators, numbers, strings,
  punctuation); ENCODING, NEWLINE, NL, INDENT, DEDENT, COMMENT and ENDMARKER are not tokens;
* each code token is a leaf attached under the deepest AST node whose source span contains it,
  found by descending from the root (the ``FunctionDef``/``Module``) into the first child whose span
  contains the token (f-strings, ``JoinedStr``, are not descended into: in ``tokenize`` of
  Python <= 3.11 an f-string is one STRING token); AST nodes without a position (``arguments``, ``withitem``, ...) take the union
  of their children's spans, nodes that contain no token (``Load``, ``Add``, ...) are dropped;
* nodes are numbered in pre-order with children ordered by their first token, so node 0 is the root
  (``parent[0] == -1``) and ``token_node[i]`` (the leaf of token ``i``) increases with ``i``; every
  node's tokens form a contiguous range (checked).
"""
from __future__ import annotations

import ast
import io
import tokenize
from dataclasses import dataclass, field

# Nodes whose children are not descended into: an f-string is one STRING token in ``tokenize``
# (Python <= 3.11), and the positions of its inner nodes are not reliable.
OPAQUE_NODES = (ast.JoinedStr,)

SKIPPED_TOKEN_TYPES = {tokenize.ENCODING, tokenize.NEWLINE, tokenize.NL, tokenize.INDENT,
                       tokenize.DEDENT, tokenize.COMMENT, tokenize.ENDMARKER}


@dataclass
class CodeTree:
    """A code snippet's tokens and gold tree (parent indices + labels, token leaves in order)."""
    source: str
    tokens: list            # token strings, in order
    token_types: list       # tokenize type names: NAME, OP, NUMBER, STRING, ...
    token_spans: list       # (start, end) character offsets into ``source``
    parent: list            # parent node index per node, -1 for the root (node 0)
    labels: list            # node labels: AST class names for inner nodes, token type for leaves
    token_node: list        # node index of the leaf of token i (increasing)
    extra: dict = field(default_factory=dict)

    @property
    def n_tokens(self) -> int:
        return len(self.tokens)

    @property
    def n_nodes(self) -> int:
        return len(self.parent)


def _line_starts(source: str):
    starts = [0]
    for line in source.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    return starts


def _char_offset(lines, starts, lineno, col_bytes):
    """AST column offsets are UTF-8 byte offsets; convert (1-based line, byte col) to a char offset."""
    line = lines[lineno - 1] if lineno - 1 < len(lines) else ""
    col = len(line.encode("utf-8")[:col_bytes].decode("utf-8", errors="replace"))
    return starts[lineno - 1] + col


def tokenize_code(source: str):
    """Code tokens of ``source``: list of (type name, string, start char, end char)."""
    starts = _line_starts(source)
    out = []
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type in SKIPPED_TOKEN_TYPES:
            continue
        (sl, sc), (el, ec) = tok.start, tok.end
        ttype = tokenize.tok_name[tok.type]
        if tok.type == tokenize.OP:
            ttype = "OP"
        out.append((ttype, tok.string, starts[sl - 1] + sc, starts[el - 1] + ec))
    return out


def strip_comments_and_docstrings(source: str) -> str:
    """``source`` without comments, docstrings (first statement string of a module, class or
    function) and blank lines; everything else keeps its original text and indentation."""
    tree = ast.parse(source)
    drop_lines = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            body = node.body
            if (body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                    and isinstance(body[0].value.value, str)):
                d = body[0]
                drop_lines.update(range(d.lineno, d.end_lineno + 1))
    lines = source.splitlines(keepends=True)
    starts = _line_starts(source)
    cut = {}  # line (1-based) -> column where a comment starts
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            cut[tok.start[0]] = tok.start[1]
    out = []
    for i, line in enumerate(lines, start=1):
        if i in drop_lines:
            continue
        if i in cut:
            line = line[:cut[i]]
        line = line.rstrip()
        if line.strip():
            out.append(line + "\n")
    del starts
    return "".join(out)


def _node_spans(root, lines, starts):
    """(start, end) char span of every AST node under root (derived from children where absent)."""
    spans = {}

    def visit(node):
        kids = [] if isinstance(node, OPAQUE_NODES) else list(ast.iter_child_nodes(node))
        child_spans = [s for s in (visit(c) for c in kids) if s is not None]
        if getattr(node, "lineno", None) is not None and getattr(node, "end_lineno", None) is not None:
            s = (_char_offset(lines, starts, node.lineno, node.col_offset),
                 _char_offset(lines, starts, node.end_lineno, node.end_col_offset))
        elif child_spans:
            s = (min(a for a, _ in child_spans), max(b for _, b in child_spans))
        else:
            s = None
        if s is not None:
            spans[id(node)] = s
        return s

    visit(root)
    return spans


def code_tree(source: str, root: str = "function") -> CodeTree:
    """Tokens and gold tree of ``source`` (see the module docstring for the convention).

    root="function": ``source`` must hold exactly one (async) function definition, which is the
    root; root="module": the ``Module`` is the root. Raises ValueError for unparsable source, a
    token outside the root's span, or a node whose tokens are not contiguous.
    """
    try:
        mod = ast.parse(source)
    except SyntaxError as exc:
        raise ValueError(f"source does not parse: {exc}") from None
    if root == "function":
        if len(mod.body) != 1 or not isinstance(mod.body[0], (ast.FunctionDef, ast.AsyncFunctionDef)):
            raise ValueError("source must contain exactly one function definition")
        top = mod.body[0]
    elif root == "module":
        top = mod
    else:
        raise ValueError(f"root must be 'function' or 'module', got {root!r}")
    lines = source.splitlines(keepends=True)
    starts = _line_starts(source)
    spans = _node_spans(top, lines, starts)
    if root == "module":
        spans[id(top)] = (0, len(source))
    toks = tokenize_code(source)
    if len(toks) == 0:
        raise ValueError("source has no code tokens")
    rs, re_ = spans[id(top)]

    # attach each token under the deepest node containing it (descent from the root)
    attached = {}  # id(node) -> list of token indices
    children = {}
    for t, (_, _, a, b) in enumerate(toks):
        if not (rs <= a and b <= re_):
            raise ValueError(f"token {t} at {a}..{b} lies outside the root's span {rs}..{re_}")
        node = top
        while True:
            nxt = None
            for c in ast.iter_child_nodes(node):
                s = spans.get(id(c))
                if s is not None and s[0] <= a and b <= s[1]:
                    nxt = c
                    break
            if nxt is None:
                break
            node = nxt
        attached.setdefault(id(node), []).append(t)

    # keep nodes that have tokens below them; compute their first token
    first = {}

    def keep(node):
        fs = [t for t in attached.get(id(node), [])]
        kids = []
        for c in ([] if isinstance(node, OPAQUE_NODES) else ast.iter_child_nodes(node)):
            f = keep(c)
            if f is not None:
                kids.append(c)
                fs.append(f)
        children[id(node)] = kids
        if not fs:
            return None
        first[id(node)] = min(fs)
        return first[id(node)]

    keep(top)
    parent, labels, token_node = [], [], [-1] * len(toks)
    count = {}

    def emit(node, par):
        me = len(parent)
        parent.append(par)
        labels.append(type(node).__name__)
        items = [(first[id(c)], 0, c) for c in children[id(node)]]
        items += [(t, 1, t) for t in attached.get(id(node), [])]
        items.sort(key=lambda x: (x[0], x[1]))
        n = 0
        for _, kind, obj in items:
            if kind == 0:
                n += emit(obj, me)
            else:
                token_node[obj] = len(parent)
                parent.append(me)
                labels.append(toks[obj][0])
                n += 1
        count[me] = n
        return n

    emit(top, -1)
    # contiguity: a node's tokens must be a contiguous range (pre-order + counts)
    leaf_of = {nd: t for t, nd in enumerate(token_node)}
    lo = [None] * len(parent)
    hi = [None] * len(parent)
    size = [0] * len(parent)
    for nd in range(len(parent) - 1, -1, -1):
        if nd in leaf_of:
            lo[nd] = hi[nd] = leaf_of[nd]
            size[nd] = 1
        p = parent[nd]
        if p >= 0:
            lo[p] = lo[nd] if lo[p] is None else min(lo[p], lo[nd])
            hi[p] = hi[nd] if hi[p] is None else max(hi[p], hi[nd])
            size[p] += size[nd]
    for nd in range(len(parent)):
        if hi[nd] - lo[nd] + 1 != size[nd]:
            raise ValueError(f"node {nd} ({labels[nd]}) covers tokens that are not contiguous")
    if any(token_node[i] >= token_node[i + 1] for i in range(len(toks) - 1)):
        raise ValueError("token leaves are not in token order")
    return CodeTree(source=source, tokens=[t[1] for t in toks], token_types=[t[0] for t in toks],
                    token_spans=[(t[2], t[3]) for t in toks], parent=parent, labels=labels,
                    token_node=token_node)


def tree_depths_and_distances(parent, token_node):
    """Gold token depths (edges from the root to the token's leaf) and token-to-token tree distances
    (path length between the leaves), as lists (depths: L ints; distances: L x L nested lists)."""
    n = len(parent)
    depth = [0] * n
    for v in range(n):  # parents precede children in pre-order ... but do not rely on it
        d, u, seen = 0, v, 0
        while parent[u] >= 0:
            u = parent[u]
            d += 1
            seen += 1
            if seen > n:
                raise ValueError("parent array has a cycle")
        depth[v] = d
    anc = []
    for t in token_node:
        chain, u = [], t
        while u >= 0:
            chain.append(u)
            u = parent[u]
        anc.append(set(chain))
    L = len(token_node)
    dist = [[0] * L for _ in range(L)]
    for i in range(L):
        for j in range(i + 1, L):
            common = anc[i] & anc[j]
            lca_depth = max(depth[c] for c in common)
            dist[i][j] = dist[j][i] = depth[token_node[i]] + depth[token_node[j]] - 2 * lca_depth
    return [depth[t] for t in token_node], dist
