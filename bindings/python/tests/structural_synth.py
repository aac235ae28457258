import numpy as np
def random_tree(L, rng):
    parent = [-1] + [int(rng.integers(0, i)) for i in range(1, L)]
    perm = rng.permutation(L)  # relabel so root isn't always 0
    inv = np.empty(L, int); inv[perm] = np.arange(L)
    par = [-1]*L
    for i in range(L):
        par[perm[i]] = -1 if parent[i] < 0 else int(perm[parent[i]])
    return par
def tree_dist(par):
    L = len(par)
    adj = [[] for _ in range(L)]
    for i,p in enumerate(par):
        if p >= 0: adj[i].append(p); adj[p].append(i)
    D = np.zeros((L,L), np.float32)
    for s in range(L):
        dist = [-1]*L; dist[s]=0; q=[s]
        for u in q:
            for v in adj[u]:
                if dist[v]<0: dist[v]=dist[u]+1; q.append(v)
        D[s]=dist
    root = par.index(-1)
    return D, D[root].copy()
def synthetic(n_items, d=64, k=32, noise=0.3, seed=0, lo=3, hi=30):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((d, k)).astype(np.float32) / np.sqrt(k)
    xs, Ds, deps = [], [], []
    for _ in range(n_items):
        L = int(rng.integers(lo, hi))
        par = random_tree(L, rng)
        D, dep = tree_dist(par)
        # positions: root at origin, child = parent + random unit vector
        pos = np.zeros((L, k), np.float32)
        order = np.argsort(dep)
        for i in order:
            if par[i] >= 0:
                v = rng.standard_normal(k); v /= np.linalg.norm(v)
                pos[i] = pos[par[i]] + v
        h = pos @ A.T + noise * rng.standard_normal((L, d))
        xs.append(h.astype(np.float32)); Ds.append(D); deps.append(dep)
    return xs, Ds, deps
