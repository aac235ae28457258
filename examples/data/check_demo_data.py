#!/usr/bin/env python3
"""Sanity-check ``minilm_wordnet.h5``: print its layout and label counts, and
fit linear probes (scikit-learn LogisticRegression, 5-fold stratified CV) per
layer to confirm that the labels are recoverable from the activations.

Usage: python3 examples/data/check_demo_data.py [path/to/minilm_wordnet.h5]
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


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent / "minilm_wordnet.h5")
