"""A numpy/scipy re-implementation of the structural-probe reference (john-hewitt/structural-probes),
written from its source semantics for the oracle tests: loss.py (L1DistanceLoss, L1DepthLoss),
probe.py (TwoWordPSDProbe, OneWordPSDProbe), torch.optim.Adam's update, reporter.py
(prims_matrix_to_edges with its UnionFind, report_uuas_and_tikz, report_spearmanr, report_root_acc,
get_nopunct_argmin). Float64 throughout; no torch."""
from __future__ import annotations

from collections import defaultdict

import numpy as np
from scipy.stats import spearmanr


def predict_distance(B, h):
    """TwoWordPSDProbe: ||B(h_i - h_j)||^2 for all pairs (B is rank x d)."""
    P = h.astype(np.float64) @ B.astype(np.float64).T
    diffs = P[:, None, :] - P[None, :, :]
    return (diffs ** 2).sum(-1)


def predict_depth(B, h):
    P = h.astype(np.float64) @ B.astype(np.float64).T
    return (P ** 2).sum(-1)


def batch_loss_and_grad(B, items, golds, kind):
    """Mean over items of sum|pred - gold| / L^2 (distance) or / L (depth), entries with gold == -1
    ignored; gradient by the explicit formula sum sign * 2 (p_i - p_j)(h_i - h_j)^T (or 2 p_i h_i^T)."""
    B = B.astype(np.float64)
    n = len(items)
    loss = 0.0
    grad = np.zeros_like(B)
    for h, g in zip(items, golds):
        h = h.astype(np.float64)
        g = np.asarray(g, dtype=np.float64)
        L = h.shape[0]
        P = h @ B.T
        mask = (g != -1).astype(np.float64)
        if kind == "distance":
            pred = predict_distance(B, h)
            diff = pred * mask - g * mask
            loss += np.abs(diff).sum() / L ** 2
            S = np.sign(diff) / L ** 2 / n
            dP = P[:, None, :] - P[None, :, :]
            dH = h[:, None, :] - h[None, :, :]
            grad += 2 * np.einsum("ij,ijr,ijd->rd", S, dP, dH)
        else:
            pred = (P ** 2).sum(-1)
            diff = pred * mask - g * mask
            loss += np.abs(diff).sum() / L
            s = np.sign(diff) / L / n
            grad += 2 * (s[:, None] * P).T @ h
    return loss / n, grad


def adam_step(B, grad, lr, beta1=0.9, beta2=0.999, eps=1e-8, m=None, v=None, t=1):
    """torch.optim.Adam's first step (or step t with given moments)."""
    m = np.zeros_like(grad) if m is None else m
    v = np.zeros_like(grad) if v is None else v
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad * grad
    bias1 = 1 - beta1 ** t
    bias2 = 1 - beta2 ** t
    return B - (lr / bias1) * m / (np.sqrt(v) / np.sqrt(bias2) + eps)


class UnionFind:
    """The reference's naive union-find (union makes find(i)'s parent j)."""

    def __init__(self, n):
        self.parents = list(range(n))

    def union(self, i, j):
        if self.find(i) != self.find(j):
            self.parents[self.find(i)] = j

    def find(self, i):
        while i != self.parents[i]:
            i = self.parents[i]
        return i


def mst_edges(matrix, ignore=None):
    """prims_matrix_to_edges: every ordered pair of kept tokens, stably sorted by value."""
    L = len(matrix)
    ignore = np.zeros(L, bool) if ignore is None else np.asarray(ignore, bool)
    pairs = {}
    for i in range(L):
        for j in range(L):
            if ignore[i] or ignore[j]:
                continue
            pairs[(i, j)] = matrix[i][j]
    uf = UnionFind(L)
    edges = []
    for (i, j), _ in sorted(pairs.items(), key=lambda x: x[1]):
        if uf.find(i) != uf.find(j):
            uf.union(i, j)
            edges.append((i, j))
    return edges


def uuas(preds, golds, ignores=None):
    correct = total = 0
    for k, (p, g) in enumerate(zip(preds, golds)):
        ign = None if ignores is None else ignores[k]
        ge = mst_edges(g, ign)
        pe = mst_edges(p, ign)
        correct += len(set(tuple(sorted(x)) for x in ge) & set(tuple(sorted(x)) for x in pe))
        total += len(ge)
    return correct / float(total), correct, total


def spearman_5_50(preds, golds, kind):
    by_length = defaultdict(list)
    for p, g in zip(preds, golds):
        L = len(g)
        if kind == "distance":
            by_length[L].extend([spearmanr(pr, gr).correlation for pr, gr in zip(p, g)])
        else:
            by_length[L].append(spearmanr(p, g).correlation)
    means = {L: np.mean(v) for L, v in by_length.items()}
    return float(np.mean([means[x] for x in range(5, 51) if x in means])), means


def root_accuracy(preds, golds, ignores=None):
    correct = 0
    for k, (p, g) in enumerate(zip(preds, golds)):
        p = np.array(p, dtype=np.float64)
        ign = np.zeros(len(p), bool) if ignores is None else np.asarray(ignores[k], bool)
        root = list(g).index(0)
        original = int(np.argmin(p))
        chosen = original
        for _ in range(len(p)):
            a = int(np.argmin(p))
            if not ign[a]:
                chosen = a
                break
            p[a] = 9000
        else:
            chosen = original
        correct += root == chosen
    return correct / float(len(preds))
