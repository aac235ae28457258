"""Pure-Python / numpy reference of AST-Probe, written from the paper's code (src/data/binary_tree.py,
src/probe/probe.py, src/probe/loss.py, src/run_probing.py of the AST-Probe repository), without
networkx or torch. The graph is a small directed graph with insertion-ordered out-edges, like
networkx's DiGraph, and every function keeps the reference's structure, so that Lamina can be
compared with it exactly: ast2binary, tree_to_distance, distance_to_tree, remove_empty_nodes,
add_unary, extend_complex_nodes, get_multiset_ast, get_precision_recall_f1; the probe's forward
pass, rank loss, cross-entropies, orthogonality penalty, their gradients and torch's Adam step.
"""
from __future__ import annotations

import numpy as np

SEPARATOR = "<sep>"


class DiGraph:
    def __init__(self):
        self.nodes = {}
        self.succ = {}
        self.pred = {}

    def __iter__(self):
        return iter(list(self.nodes))

    def __len__(self):
        return len(self.nodes)

    def add_node(self, n, **attrs):
        if n not in self.nodes:
            self.nodes[n] = {}
            self.succ[n] = []
            self.pred[n] = []
        self.nodes[n].update(attrs)

    def add_edge(self, u, v):
        for x in (u, v):
            if x not in self.nodes:
                self.add_node(x)
        if v not in self.succ[u]:
            self.succ[u].append(v)
            self.pred[v].append(u)

    def remove_edge(self, u, v):
        self.succ[u].remove(v)
        self.pred[v].remove(u)

    def remove_node(self, n):
        for v in list(self.succ[n]):
            self.pred[v].remove(n)
        for u in list(self.pred[n]):
            self.succ[u].remove(n)
        del self.nodes[n], self.succ[n], self.pred[n]

    def out_edges(self, n):
        return [(n, v) for v in self.succ[n]]

    def in_edges(self, n):
        return [(u, n) for u in self.pred[n]]

    def out_degree(self, n):
        return len(self.succ[n])

    def in_degree(self, n):
        return len(self.pred[n])

    def copy(self):
        g = DiGraph()
        for n, a in self.nodes.items():
            g.add_node(n, **dict(a))
        for u in self.nodes:
            for v in self.succ[u]:
                g.add_edge(u, v)
        return g


def get_id(G):
    return 0 if len(G) == 0 else max(list(G)) + 1


def get_root_ast(G):
    for n in G:
        if G.in_degree(n) == 0:
            return n


def graph_from_arrays(parent, labels, token_node):
    """The reference's input graph: node attributes type, is_terminal, start (first token index)."""
    n = len(parent)
    G = DiGraph()
    first = [None] * n
    for i, v in enumerate(token_node):
        first[v] = i
    depth = [0] * n
    for v in range(n):
        u, k = v, 0
        while parent[u] >= 0:
            u, k = parent[u], k + 1
        depth[v] = k
    for v in sorted(range(n), key=lambda v: -depth[v]):
        p = parent[v]
        if p >= 0 and first[v] is not None:
            first[p] = first[v] if first[p] is None else min(first[p], first[v])
    tokens = set(int(t) for t in token_node)
    for v in range(n):
        G.add_node(v, type=str(labels[v]), is_terminal=v in tokens, start=first[v])
    for v in range(n):
        if parent[v] >= 0:
            G.add_edge(int(parent[v]), v)
    return G


def ast2binary(G):
    def aux(cur, G, new_G, par):
        out_edges = G.out_edges(cur)
        if len(out_edges) == 2:
            for _, m in out_edges:
                idm = get_id(new_G)
                new_G.add_node(idm, **G.nodes[m])
                new_G.add_edge(par, idm)
                aux(m, G, new_G, idm)
        elif len(out_edges) == 1:
            m = out_edges[0][1]
            if not G.nodes[m]["is_terminal"]:
                new_G.nodes[par]["type"] = new_G.nodes[par]["type"] + SEPARATOR + G.nodes[m]["type"]
                aux(m, G, new_G, par)
            else:
                new_G.nodes[par]["is_terminal"] = True
                new_G.nodes[par]["unary"] = new_G.nodes[par]["type"]
        elif len(out_edges) > 2:
            out_nodes = [m for _, m in out_edges]
            out_nodes.sort(key=lambda m: G.nodes[m]["start"])
            idm = get_id(new_G)
            new_G.add_node(idm, **G.nodes[out_nodes[0]])
            new_G.add_edge(par, idm)
            aux(out_nodes[0], G, new_G, idm)
            empty = get_id(new_G)
            new_G.add_node(empty, type="<empty>")
            new_G.add_edge(par, empty)
            for j, out_node in enumerate(out_nodes[1:]):
                if len(new_G.out_edges(empty)) == 1 and len(out_nodes[1:]) - j > 1:
                    e2 = get_id(new_G)
                    new_G.add_node(e2, type="<empty>")
                    new_G.add_edge(empty, e2)
                    empty = e2
                idm = get_id(new_G)
                new_G.add_node(idm, **G.nodes[out_node])
                new_G.add_edge(empty, idm)
                aux(out_node, G, new_G, idm)

    new_G = DiGraph()
    root = get_root_ast(G)
    new_G.add_node(0, **G.nodes[root])
    aux(root, G, new_G, 0)
    return new_G


def get_leaves(tree, node):
    if tree.out_degree(node) == 0:
        return [node]
    out = []
    for _, m in tree.out_edges(node):
        out += get_leaves(tree, m)
    return out


def get_most_left(tree, nodes):
    return sorted(tree.nodes[n]["start"] for n in nodes)[0]


def get_left_right_child(tree, node):
    c1 = tree.out_edges(node)[0][1]
    c2 = tree.out_edges(node)[1][1]
    if get_most_left(tree, get_leaves(tree, c1)) < get_most_left(tree, get_leaves(tree, c2)):
        return c1, c2
    return c2, c1


def tree_to_distance(tree, node):
    if tree.out_degree(node) == 0:
        d, c, h = [], [], 0
        u = [tree.nodes[node]["unary"]] if "unary" in tree.nodes[node] else ["<empty>"]
    else:
        lc, rc = get_left_right_child(tree, node)
        d_l, c_l, h_l, u_l = tree_to_distance(tree, lc)
        d_r, c_r, h_r, u_r = tree_to_distance(tree, rc)
        h = max(h_r, h_l) + 1
        d = d_l + [h] + d_r
        c = c_l + [tree.nodes[node]["type"]] + c_r
        u = u_l + u_r
    return d, c, h, u


def distance_to_tree(d, c, u, tokens):
    def aux(G, d, c, u, father, tokens, start):
        if d == []:
            nid = get_id(G)
            G.add_node(nid, type=tokens[0], start=start, unary=u[0])
            G.add_edge(father, nid)
        else:
            i = int(np.argmax(d))
            nid = get_id(G)
            G.add_node(nid, type=c[i])
            if father is not None:
                G.add_edge(father, nid)
            aux(G, d[0:i], c[0:i], u[0:i + 1], nid, tokens[0:i + 1], start)
            aux(G, d[i + 1:], c[i + 1:], u[i + 1:], nid, tokens[i + 1:], start + i + 1)

    G = DiGraph()
    aux(G, list(d), list(c), list(u), None, tokens, 0)
    return G


def remove_empty_nodes(G):
    g = G.copy()
    while len([n for n in g if g.nodes[n]["type"] == "<empty>"]) != 0:
        g0 = g.copy()
        n = [n for n in g if g.nodes[n]["type"] == "<empty>"][0]
        if g.in_degree(n) == 0:
            g0.nodes[n]["type"] = "bad_root"
            g = g0
            continue
        edges_in, edges_out = g.in_edges(n), g.out_edges(n)
        if len(edges_in) != 0:
            u, _ = edges_in[0]
            for _, v in edges_out:
                g0.add_edge(u, v)
        g0.remove_node(n)
        g = g0
    return g


def extend_complex_nodes(G):
    g = G.copy()
    while len([n for n in g if SEPARATOR in g.nodes[n]["type"]]) != 0:
        g0 = g.copy()
        n = [n for n in g if SEPARATOR in g.nodes[n]["type"]][0]
        edges_in, edges_out = g.in_edges(n), g.out_edges(n)
        new_nodes = []
        for lab in g.nodes[n]["type"].split(SEPARATOR):
            nid = get_id(g0)
            g0.add_node(nid, type=lab)
            if new_nodes:
                g0.add_edge(new_nodes[-1], nid)
            new_nodes.append(nid)
        for u, _ in edges_in:
            g0.add_edge(u, new_nodes[0])
        for _, v in edges_out:
            g0.add_edge(new_nodes[-1], v)
        g0.remove_node(n)
        g = g0
    return g


def add_unary(G):
    g = G.copy()
    for n in [n for n in g if g.out_degree(n) == 0]:
        if g.nodes[n]["unary"] != "<empty>":
            nid = get_id(g)
            g.add_node(nid, type=g.nodes[n]["unary"])
            g.add_edge(nid, n)
            u, _ = g.in_edges(n)[0]
            g.add_edge(u, nid)
            g.remove_edge(u, n)
    return g


def get_multiset_ast(G):
    out = []
    for n in G:
        if G.out_degree(n) > 0:
            leaves = sorted(get_leaves(G, n), key=lambda x: G.nodes[x]["start"])
            out.append(G.nodes[n]["type"] + "-" + "-".join(str(G.nodes[x]["start"]) for x in leaves))
    return out


def get_precision_recall_f1(G_true, G_pred):
    m_true, m_pred = get_multiset_ast(G_true), get_multiset_ast(G_pred)
    hits = len([n for n in m_pred if n in m_true])
    prec = hits / len(m_pred)
    rec = hits / len(m_true)
    if prec + rec == 0:
        return 0, 0, 0
    return prec, rec, 2 * prec * rec / (prec + rec)


def tuples(parent, labels, token_node):
    """(d, c, u) of a tree as the reference computes them."""
    B = ast2binary(graph_from_arrays(parent, labels, token_node))
    d, c, _, u = tree_to_distance(B, 0)
    return d, c, u


def decoded(d, c, u):
    L = len(u)
    G = distance_to_tree(d, c, u, [str(i) for i in range(L)])
    return extend_complex_nodes(add_unary(remove_empty_nodes(G)))


def constituent_strings(d, c, u):
    return sorted(get_multiset_ast(decoded(d, c, u)))


def f1(gold, pred):
    return get_precision_recall_f1(decoded(*gold), decoded(*pred))


# --------------------------------------------------------------------------------------------------
# The probe (float64 numpy): forward, loss terms, gradients, torch Adam
# --------------------------------------------------------------------------------------------------

def probe_loss_grad(X, offsets, d, yc, yu, P, Vc, Vu, lam):
    """Loss terms [rank, c, u, orth] and gradients (dP, dVc, dVu) over all snippets as one batch."""
    X, P, Vc, Vu = (np.asarray(a, np.float64) for a in (X, P, Vc, Vu))
    T = X @ P
    s = len(offsets) - 1
    Drows, spans = [], []
    for k in range(s):
        a, b = offsets[k], offsets[k + 1]
        Drows.append(T[a + 1:b] - T[a:b - 1])
        spans.append((a - k, b - k - 1))
    D = np.concatenate(Drows)
    dhat = (D ** 2).sum(1)
    g = np.zeros_like(dhat)
    pairs, rank = 0.0, 0.0
    for lo, hi in spans:
        for i in range(lo, hi):
            for j in range(lo, hi):
                if d[i] > d[j]:
                    pairs += 1
                    m = 1 - (dhat[i] - dhat[j])
                    if m > 0:
                        rank += m
                        g[i] -= 1
                        g[j] += 1
    den = pairs + 1e-9
    rank /= den
    g /= den

    def ce(S, y):
        S = S - S.max(1, keepdims=True)
        lse = np.log(np.exp(S).sum(1))
        loss = np.mean(lse - S[np.arange(len(y)), y])
        G = np.exp(S - lse[:, None])
        G[np.arange(len(y)), y] -= 1
        return loss, G / len(y)

    Sc, Su = D @ Vc, T @ Vu
    lc, gSc = ce(Sc, yc)
    lu, gSu = ce(Su, yu)
    dVc, dVu = D.T @ gSc, T.T @ gSu
    dD = gSc @ Vc.T + 2 * g[:, None] * D
    dT = gSu @ Vu.T
    for k in range(s):
        a, b = offsets[k], offsets[k + 1]
        lo = a - k
        seg = dD[lo:lo + (b - a - 1)]
        dT[a + 1:b] += seg
        dT[a:b - 1] -= seg
    dP = X.T @ dT
    Gm = P.T @ P - np.eye(P.shape[1])
    orth = lam * (Gm ** 2).sum()
    dP += 4 * lam * P @ Gm
    return [rank, lc, lu, orth], (dP, dVc, dVu)


class TorchAdam:
    """torch.optim.Adam's update (no weight decay, no amsgrad)."""

    def __init__(self, shapes, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
        self.m = [np.zeros(s) for s in shapes]
        self.v = [np.zeros(s) for s in shapes]
        self.t, self.lr, self.b1, self.b2, self.eps = 0, lr, b1, b2, eps

    def step(self, params, grads):
        self.t += 1
        bc1, bc2 = 1 - self.b1 ** self.t, 1 - self.b2 ** self.t
        out = []
        for k, (p, g) in enumerate(zip(params, grads)):
            self.m[k] = self.b1 * self.m[k] + (1 - self.b1) * g
            self.v[k] = self.b2 * self.v[k] + (1 - self.b2) * g * g
            out.append(p - (self.lr / bc1) * self.m[k] / (np.sqrt(self.v[k]) / np.sqrt(bc2) + self.eps))
        return out
