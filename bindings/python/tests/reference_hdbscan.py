"""A small numpy reference of HDBSCAN* (Campello et al. 2013/2015) and of FLARE's pieces (Hou et al.,
TIFS 2025), written from the definitions, for the oracle tests. O(n^2) memory: small n only.

HDBSCAN*: core distance = distance to the k-th nearest row (the row itself first, scikit-learn's
convention), mutual reachability max(core_i, core_j, d_ij), MST (Prim from row 0), edges sorted by
weight (stable), single-linkage merges, condensed tree (breadth-first over the dendrogram), stability
sum (lambda - lambda_birth) * size, excess of mass with the root excluded."""
import numpy as np


def core_distances(x, k):
    d = np.sqrt(((x[:, None, :] - x[None, :, :]) ** 2).sum(-1))
    return np.sort(d, axis=1)[:, k - 1], d


def mst(x, k):
    core, d = core_distances(x, k)
    mr = np.maximum(d, np.maximum(core[:, None], core[None, :]))
    n = len(x)
    in_tree = np.zeros(n, bool)
    best = np.full(n, np.inf)
    src = np.zeros(n, int)
    edges = []
    cur = 0
    for _ in range(n - 1):
        in_tree[cur] = True
        upd = (~in_tree) & (mr[cur] < best)
        src[upd] = cur
        best[upd] = mr[cur][upd]
        cand = np.where(~in_tree)[0]
        nxt = cand[np.argmin(best[cand])]
        edges.append((src[nxt], nxt, best[nxt]))
        cur = nxt
    return edges


def single_linkage(edges, n):
    order = np.argsort([e[2] for e in edges], kind="stable")
    parent = list(range(2 * n - 1))
    size = [1] * (2 * n - 1)

    def find(v):
        while parent[v] != v:
            v = parent[v]
        return v
    out = []
    for i, e in enumerate(order):
        a, b, w = edges[e]
        ra, rb = find(a), find(b)
        node = n + i
        parent[ra] = parent[rb] = node
        size[node] = size[ra] + size[rb]
        out.append((ra, rb, w, size[node]))
    return out


def _bfs(slt, n, root):
    out, queue = [], [root]
    while queue:
        out += queue
        queue = [c for q in queue if q >= n for c in slt[q - n][:2]]
    return out


def condense(slt, n, mcs):
    root = 2 * (n - 1)
    relabel = {root: n}
    nxt = n + 1
    ignore = set()
    rows = []

    def cnt(v):
        return slt[v - n][3] if v >= n else 1
    for node in _bfs(slt, n, root):
        if node in ignore or node < n:
            continue
        left, right, dist, _ = slt[node - n]
        lam = 1.0 / dist if dist > 0 else np.inf
        p = relabel[node]
        lc, rc = cnt(left), cnt(right)
        big = [lc >= mcs, rc >= mcs]
        if all(big):
            for c, s in ((left, lc), (right, rc)):
                relabel[c] = nxt
                rows.append((p, nxt, lam, s))
                nxt += 1
            continue
        for c, is_big in ((left, big[0]), (right, big[1])):
            if is_big:
                relabel[c] = p
        for c, is_big in ((left, big[0]), (right, big[1])):
            if not is_big:
                for s in _bfs(slt, n, c):
                    if s < n:
                        rows.append((p, s, lam, 1))
                    ignore.add(s)
    return rows


def stability(rows, n):
    clusters = 1 + sum(1 for r in rows if r[1] >= n)
    birth = np.zeros(clusters)
    for p, c, lam, s in rows:
        if c >= n:
            birth[c - n] = lam
    stab = np.zeros(clusters)
    for p, c, lam, s in rows:
        stab[p - n] += (lam - birth[p - n]) * s
    return stab


def labels(rows, n):
    stab = stability(rows, n)
    m = len(stab)
    kids = {c: [] for c in range(m)}
    for p, c, lam, s in rows:
        if c >= n:
            kids[p - n].append(c - n)
    selected = np.ones(m, bool)
    selected[0] = False
    for c in range(m - 1, 0, -1):
        sub = sum(stab[k] for k in kids[c])
        if sub > stab[c]:
            selected[c] = False
            stab[c] = sub
        else:
            todo = list(kids[c])
            while todo:
                q = todo.pop()
                selected[q] = False
                todo += kids[q]
    parent_of = {c: p for p, c, lam, s in rows}
    number = {c: i for i, c in enumerate(np.where(selected)[0])}
    out = np.full(n, -1)
    for i in range(n):
        v = parent_of[i]
        while True:
            if selected[v - n]:
                out[i] = number[v - n]
                break
            if v == n:
                break
            v = parent_of[v]
    return out


def hdbscan(x, min_cluster_size, min_samples=None):
    x = np.asarray(x, dtype=np.float64)
    n = len(x)
    k = min_cluster_size if min_samples is None else min_samples
    slt = single_linkage(mst(x, k), n)
    rows = condense(slt, n, min_cluster_size)
    return labels(rows, n), rows, stability(rows, n), slt


# --- FLARE ------------------------------------------------------------------------------------------

def flare_aggregate(layers, means=None, variances=None, eps=1e-5):
    """min over channels/positions of the Gaussian log-likelihood (torch.distributions.Normal.log_prob)."""
    cols = []
    for i, h in enumerate(layers):
        h = np.asarray(h, dtype=np.float64).reshape(len(h), h.shape[1], -1)
        if means is None or means[i] is None:
            mu = h.mean(axis=(0, 2))
            var = h.var(axis=(0, 2))
        else:
            mu, var = np.asarray(means[i], float), np.asarray(variances[i], float)
        scale = np.sqrt(var + eps)
        lp = -((h - mu[None, :, None]) ** 2) / (2 * scale[None, :, None] ** 2) - np.log(scale)[None, :, None] \
            - np.log(np.sqrt(2 * np.pi))
        cols.append(lp.reshape(len(h), -1).min(axis=1))
    return np.stack(cols, axis=1)


def find_first_large_drop(parent, child, lam, size, xi=0.02, depth=3):
    """A numpy transcription of the released find_first_large_drop (BackdoorBox FLARE.py) on a condensed
    tree given as arrays; the start node is tree.loc[tree['child_size'].idxmax()]['child']. Returns the
    row index of the split child, or None (the released code raises where a node has no children)."""
    node_id = child[int(np.argmax(size))]
    stack = [node_id]
    iterations = 0
    while stack and iterations < depth:
        current_id = stack.pop()
        current = np.where(child == current_id)[0][0]
        lambda_val = lam[current]
        kids = np.where(parent == current_id)[0]
        if len(kids) == 0:
            return None
        max_child = kids[int(np.argmax(size[kids]))]
        if lam[max_child] - lambda_val > xi:
            return int(max_child)
        stack.append(child[max_child])
        iterations += 1
    return None


def labelling_at_cut(slt, n, cut, min_cluster_size):
    """Components of the merges at distance < cut; those smaller than min_cluster_size are noise (-1)."""
    parent = list(range(2 * n - 1))

    def find(v):
        while parent[v] != v:
            v = parent[v]
        return v
    for i, (a, b, w, _) in enumerate(slt):
        if w < cut:
            parent[find(a)] = n + i
            parent[find(b)] = n + i
    roots = np.array([find(i) for i in range(n)])
    out = np.full(n, -1)
    label = 0
    for r in np.unique(roots):
        members = roots == r
        if members.sum() >= min_cluster_size:
            out[members] = label
            label += 1
    return out


def flare_detect(features, min_cluster_size=100, min_samples=None, xi=0.02, depth=3):
    f = np.asarray(features, float)
    n, L = f.shape
    if min_samples is None:  # the `hdbscan` package's default (min_samples = min_cluster_size, point excluded)
        min_samples = min(min_cluster_size + 1, n)
    for w in range(L):
        z = f[:, :L - w]
        sd = z.std(axis=0)
        z = np.where(sd > 0, (z - z.mean(axis=0)) / np.where(sd > 0, sd, 1), 0.0)
        lab, rows, stab, slt = hdbscan(z, min_cluster_size, min_samples)
        arr = np.array(rows, dtype=float)
        split = find_first_large_drop(arr[:, 0], arr[:, 1], arr[:, 2], arr[:, 3], xi, depth)
        if split is None:
            continue
        lam = arr[split, 2]
        cut = 1 / (lam - 1e-4)
        lab_cut = labelling_at_cut(slt, n, cut, min_cluster_size)
        values, counts = np.unique(lab_cut, return_counts=True)
        clean = values[np.argmax(counts)]
        flags = (lab_cut != -1) & (lab_cut != clean)
        return {"flags": flags, "excluded_layers": w, "split_lambda": lam, "cut_distance": cut, "labels": lab}
    return {"flags": np.zeros(n, bool), "excluded_layers": -1, "split_lambda": np.nan, "cut_distance": np.nan}
