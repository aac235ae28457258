#!/usr/bin/env python3
"""Sanity-check ``minilm_wordnet.h5``: print its layout and label counts, and
fit linear probes (scikit-learn LogisticRegression, 5-fold stratified CV) per
layer to confirm that the labels are recoverable from the activations.
Then check ``minilm_python.h5`` (if present): offsets, trees (a tree, leaves in
token order, contiguous), gold distances and depths recomputed from the trees,
and a ridge probe of token depth per layer (5-fold CV R^2, grouped by function).

Usage: python3 examples/data/check_demo_data.py [path/to/minilm_wordnet.h5 | path/to/minilm_python.h5]
"""

import sys
from collections import Counter
from pathlib import Path

try:
    import h5py
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
except ImportError as exc:
    sys.exit(f"check_demo_data.py: missing dependency ({exc}); pip install h5py numpy scikit-learn")


def probe(x, y, seed=0):
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, C=0.1))
    cv = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed)
    return cross_val_score(clf, x.astype(np.float32), y, cv=cv).mean()


def main(path):
    with h5py.File(path, "r") as f:
        print(f"{path}: {Path(path).stat().st_size / 1e6:.2f} MB")
        print("attrs:", {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()})
        f.visititems(lambda name, obj: print(f"  /{name} {obj.shape} {obj.dtype}")
                     if isinstance(obj, h5py.Dataset) else None)
        pos_names = [s.decode() for s in f["names/pos"][:]]
        ss_names = [s.decode() for s in f["names/supersense"][:]]
        pos = f["labels/pos"][:]
        ss = f["labels/supersense"][:]
        print("per POS:", {pos_names[k]: v for k, v in sorted(Counter(pos).items())})
        ss_counts = Counter(ss)
        print(f"supersenses present: {len(ss_counts)}/45")
        print("  " + ", ".join(f"{ss_names[k]}={v}" for k, v in sorted(ss_counts.items())))
        for i in range(3):
            print(f"  e.g. [{pos_names[pos[i]]}/{ss_names[ss[i]]}] "
                  f"{f['text/target_word'][i].decode()!r} in {f['text/sentence'][i].decode()!r}")

        # Nouns and verbs carry informative supersenses; keep classes with >= 5
        # items so that every CV fold can be stratified.
        nv = np.isin(pos, [0, 1]) & np.isin(ss, [k for k, v in ss_counts.items() if v >= 5])
        print(f"\nlinear probe, 5-fold CV accuracy (chance: POS 0.25, "
              f"supersense majority {max(Counter(ss[nv]).values()) / nv.sum():.3f})")
        print("layer  target/POS  target/supersense(n+v)  sentence/POS")
        for k in range(int(f.attrs["n_layers"])):
            xt = f[f"target/layer_{k}"][:]
            row = f"{k:>5}  {probe(xt, pos):>10.3f}  {probe(xt[nv], ss[nv]):>22.3f}"
            if f"sentence/layer_{k}" in f:
                row += f"  {probe(f[f'sentence/layer_{k}'][:], pos):>12.3f}"
            print(row)


def check_code(path):
    """Consistency checks of minilm_python.h5 (raises AssertionError) and a depth probe."""
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import GroupKFold
    with h5py.File(path, "r") as f:
        print(f"\n{path}: {Path(path).stat().st_size / 1e6:.2f} MB")
        print("attrs:", {k: v for k, v in f.attrs.items() if k not in ("license", "modules")})
        g = f["code"]
        off, noff, doff = g["offsets"][:], g["tree/offsets"][:], g["distance_offsets"][:]
        nf, n = len(off) - 1, int(off[-1])
        lens = np.diff(off)
        assert off[0] == 0 and (lens > 0).all() and len(noff) == nf + 1 and len(doff) == nf + 1
        assert (np.diff(doff) == lens ** 2).all() and doff[-1] == len(g["distances"])
        for k in range(int(f.attrs["n_layers"])):
            assert g[f"layer_{k}"].shape == (n, int(f.attrs["d"]))
        parent, label = g["tree/parent"][:], g["tree/label"][:]
        token_node, depths, dist = g["tree/token_node"][:], g["depths"][:], g["distances"][:]
        n_types = len(f["names/ast_node_types"])
        assert label.min() >= 0 and label.max() < n_types
        for i in range(nf):
            p = parent[noff[i]:noff[i + 1]]
            tn = token_node[off[i]:off[i + 1]]
            m = len(p)
            assert p[0] == -1 and (p[1:] >= 0).all() and (p[1:] < np.arange(1, m)).all(), i
            assert (np.diff(tn) > 0).all() and tn.max() < m
            is_leaf = np.ones(m, bool)
            is_leaf[p[1:]] = False
            assert set(np.flatnonzero(is_leaf)) == set(tn.tolist()), f"leaves != tokens in {i}"
            depth = np.zeros(m, int)
            for v in range(1, m):
                depth[v] = depth[p[v]] + 1
            assert (depth[tn] == depths[off[i]:off[i + 1]]).all()
            anc = []
            for t in tn:
                chain = []
                while t >= 0:
                    chain.append(t)
                    t = p[t]
                anc.append(chain)
            L = len(tn)
            D = dist[doff[i]:doff[i + 1]].reshape(L, L)
            for a in range(L):
                for b in range(L):
                    sa = set(anc[a])
                    lca = next(x for x in anc[b] if x in sa)
                    assert D[a, b] == depth[tn[a]] + depth[tn[b]] - 2 * depth[lca]
        print(f"{nf} functions, {n} code tokens (length {lens.min()}..{lens.max()}, mean "
              f"{lens.mean():.1f}), {len(parent)} tree nodes, {n_types} node types: trees, "
              f"distances and depths consistent")
        groups = np.repeat(np.arange(nf), lens)
        print("ridge probe of gold token depth, 5-fold CV grouped by function (R^2):")
        for k in range(int(f.attrs["n_layers"])):
            x = g[f"layer_{k}"][:].astype(np.float32)
            r2 = []
            for tr, te in GroupKFold(n_splits=5).split(x, depths, groups):
                r2.append(Ridge(alpha=10.0).fit(x[tr], depths[tr]).score(x[te], depths[te]))
            print(f"  layer {k}: {np.mean(r2):.3f}")


if __name__ == "__main__":
    here = Path(__file__).resolve().parent
    arg = Path(sys.argv[1]) if len(sys.argv) > 1 else None
    if arg is None or arg.name != "minilm_python.h5":
        main(arg if arg is not None else here / "minilm_wordnet.h5")
    code = arg if arg is not None and arg.name == "minilm_python.h5" else here / "minilm_python.h5"
    if code.exists() and (arg is None or arg == code):
        check_code(code)
