#!/usr/bin/env python3
"""Structural probe training: Lamina against a PyTorch implementation of the same probe, side by side.

The PyTorch side follows the reference (john-hewitt/structural-probes): B as an nn.Parameter
(d x rank, uniform(-0.05, 0.05)), batches of items padded to the batch's longest item, the
TwoWordPSDProbe / OneWordPSDProbe forward, the L1DistanceLoss / L1DepthLoss (labels -1 on padding),
torch.optim.Adam. To be generous to PyTorch, all items are padded once before timing (a batch is an
index_select of the padded tensors trimmed to its longest item) instead of collating every batch.
Lamina trains with the same hyperparameters (rank, lr, batch size, epochs) on the same items. Both
run with the same thread count (default 2), alternating, best of --repeat runs. Reported: seconds
per epoch, the ratio (PyTorch / Lamina; target >= 2), and the held-out UUAS / Spearman 5-50 (or root
accuracy) each reaches, computed with the same (Lamina) metric functions on each library's predictions.

    PYTHONPATH=bindings/python python3 benchmarks/bench_structural.py              # real data if present
    PYTHONPATH=bindings/python python3 benchmarks/bench_structural.py --quick      # smoke run
    PYTHONPATH=bindings/python python3 benchmarks/bench_structural.py --synthetic --json /tmp/s.json
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="small data and 2 epochs: a smoke run")
    p.add_argument("--threads", type=int, default=2, help="threads for both libraries (default 2)")
    p.add_argument("--epochs", type=int, default=None,
                   help="epochs per run (default 40, the reference's configs, on the real data; 10 synthetic; 2 --quick)")
    p.add_argument("--repeat", type=int, default=2, help="timed runs per library (best is reported)")
    p.add_argument("--ranks", default=None, help="comma-separated probe ranks (default: 64 and d)")
    p.add_argument("--kinds", default="distance,depth", help="distance,depth")
    p.add_argument("--batch-size", type=int, default=20, help="items per batch (default 20, the reference's)")
    p.add_argument("--lr", type=float, default=0.001, help="Adam learning rate (default 0.001, the reference's)")
    p.add_argument("--data", default=None, help="HDF5 file with token activations and gold trees "
                   "(default examples/data/minilm_python.h5, the real Python functions)")
    p.add_argument("--layer", default=None, help="layer dataset of the data file (default: layer_3, the middle one)")
    p.add_argument("--synthetic", action="store_true", help="synthetic planted trees instead of the real data")
    p.add_argument("--json", default=None, metavar="PATH", help="also write the measurements as JSON")
    args = p.parse_args(argv)
    if args.epochs is None:
        args.epochs = 2 if args.quick else (10 if args.synthetic else 40)
    return args


ARGS = parse_args()
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)

import numpy as np  # noqa: E402
import torch  # noqa: E402

try:
    import lamina  # noqa: E402
except ImportError:
    sys.path.insert(0, str(REPO / "bindings" / "python"))
    import lamina  # noqa: E402
from lamina import structural as LS  # noqa: E402



# -- data ------------------------------------------------------------------------------------------

def synthetic_data(n_items, d, seed=0):
    """Random trees (lengths 5-45) with planted structure: token vectors are a random linear image of
    tree positions (each edge a random unit vector) plus noise."""
    rng = np.random.default_rng(seed)
    k = 48
    A = rng.standard_normal((d, k)).astype(np.float32) / np.sqrt(k)
    xs, Ds, deps = [], [], []
    for _ in range(n_items):
        L = int(rng.integers(5, 46))
        parent = [-1] + [int(rng.integers(0, i)) for i in range(1, L)]
        pos = np.zeros((L, k), np.float32)
        depth = np.zeros(L, np.float32)
        for i in range(1, L):
            v = rng.standard_normal(k)
            pos[i] = pos[parent[i]] + v / np.linalg.norm(v)
            depth[i] = depth[parent[i]] + 1
        # tree distances from the ancestor chains
        anc = [[i] for i in range(L)]
        for i in range(1, L):
            anc[i] = [i] + anc[parent[i]]
        D = np.zeros((L, L), np.float32)
        for i in range(L):
            ai = {a: n for n, a in enumerate(anc[i])}
            for j in range(i + 1, L):
                for m, a in enumerate(anc[j]):
                    if a in ai:
                        D[i, j] = D[j, i] = ai[a] + m
                        break
        xs.append((pos @ A.T + 0.3 * rng.standard_normal((L, d))).astype(np.float32))
        Ds.append(D)
        deps.append(depth)
    return xs, Ds, deps, f"synthetic planted trees ({n_items} items, d = {d})"


def real_data(path, layer):
    """Token activations + gold AST distances/depths of real Python functions (examples/data/
    minilm_python.h5: /code/layer_k, /code/offsets, /code/distances, /code/depths)."""
    import h5py
    from lamina import io
    with h5py.File(path, "r") as f:   # h5py only lists the layers; lamina.io reads the numbers
        layers = sorted((k for k in f["code"].keys() if k.startswith("layer_")), key=lambda k: int(k.split("_")[1]))
    name = layer or layers[len(layers) // 2]
    off = io.read_labels(path, "/code/offsets").astype(np.int64)
    x = io.read_activations(path, f"/code/{name}")
    xs = LS.split_values(x, off, "depth")
    Ds = LS.split_values(io.read_activations(path, "/code/distances"), off, "distance")
    deps = LS.split_values(io.read_activations(path, "/code/depths"), off, "depth")
    return xs, Ds, deps, f"{Path(path).name}:/code/{name} ({len(xs)} functions, {int(off[-1])} tokens, d = {x.shape[1]})"


# -- the PyTorch reference implementation ----------------------------------------------------------

class TorchProbe(torch.nn.Module):
    def __init__(self, d, rank, kind):
        super().__init__()
        self.kind = kind
        self.proj = torch.nn.Parameter(torch.zeros(d, rank))
        torch.nn.init.uniform_(self.proj, -0.05, 0.05)

    def forward(self, batch):
        transformed = torch.matmul(batch, self.proj)
        if self.kind == "distance":   # TwoWordPSDProbe
            b, s, r = transformed.size()
            transformed = transformed.unsqueeze(2).expand(-1, -1, s, -1)
            diffs = transformed - transformed.transpose(1, 2)
            return diffs.pow(2).sum(-1)
        b, s, r = transformed.size()  # OneWordPSDProbe
        return torch.bmm(transformed.view(b * s, 1, r), transformed.view(b * s, r, 1)).view(b, s)


def torch_loss(pred, labels, lengths, kind):
    """L1DistanceLoss / L1DepthLoss."""
    mask = (labels != -1).float()
    diff = torch.abs(pred * mask - labels * mask)
    total = torch.sum(lengths != 0).float()
    if kind == "distance":
        per = diff.sum(dim=(1, 2)) / lengths.pow(2).float()
    else:
        per = diff.sum(dim=1) / lengths.float()
    return per.sum() / total


class TorchData:
    def __init__(self, xs, golds, kind):
        n = len(xs)
        self.lengths = torch.tensor([len(x) for x in xs])
        m = int(self.lengths.max())
        d = xs[0].shape[1]
        self.x = torch.zeros(n, m, d)
        self.y = torch.full((n, m, m) if kind == "distance" else (n, m), -1.0)
        for i, (x, g) in enumerate(zip(xs, golds)):
            L = len(x)
            self.x[i, :L] = torch.from_numpy(x)
            if kind == "distance":
                self.y[i, :L, :L] = torch.from_numpy(g)
            else:
                self.y[i, :L] = torch.from_numpy(g)
        self.kind = kind

    def batch(self, idx):
        idx = torch.as_tensor(idx)
        lengths = self.lengths[idx]
        m = int(lengths.max())
        x = self.x[idx, :m]
        y = self.y[idx, :m, :m] if self.kind == "distance" else self.y[idx, :m]
        return x, y, lengths


def torch_train(data, d, rank, kind, epochs, batch_size, lr, seed):
    torch.manual_seed(seed)
    probe = TorchProbe(d, rank, kind)
    opt = torch.optim.Adam(probe.parameters(), lr=lr)
    n = len(data.lengths)
    g = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        order = torch.randperm(n, generator=g)
        for s in range(0, n, batch_size):
            x, y, lengths = data.batch(order[s:s + batch_size])
            opt.zero_grad()
            loss = torch_loss(probe(x), y, lengths, kind)
            loss.backward()
            opt.step()
    return probe


def torch_predict(probe, xs, kind):
    out = []
    with torch.no_grad():
        for x in xs:
            p = probe(torch.from_numpy(x)[None])[0].numpy()
            out.append(p)
    return out


# -- run -------------------------------------------------------------------------------------------

def metrics(preds, golds, kind):
    if kind == "distance":
        return {"uuas": LS.uuas(preds, golds), "spearman_5_50": LS.spearman_5_50(preds, golds)}
    out = {"spearman_5_50": LS.spearman_5_50(preds, golds)}
    if all(np.any(g == 0) for g in golds):   # root accuracy needs the root among the tokens (not so for AST leaves)
        out["root_accuracy"] = LS.root_accuracy(preds, golds)
    return out


def main():
    torch.set_num_threads(ARGS.threads)
    lamina.set_num_threads(ARGS.threads)
    data_path = Path(ARGS.data) if ARGS.data else REPO / "examples" / "data" / "minilm_python.h5"
    if ARGS.synthetic or not data_path.exists():
        xs, Ds, deps, what = synthetic_data(300 if ARGS.quick else 1500, 384)
    else:
        xs, Ds, deps, what = real_data(data_path, ARGS.layer)
        if ARGS.quick:
            xs, Ds, deps = xs[:300], Ds[:300], deps[:300]
    n = len(xs)
    n_test = max(1, n // 5)
    train, test = slice(0, n - n_test), slice(n - n_test, n)
    d = xs[0].shape[1]
    ranks = [int(r) for r in ARGS.ranks.split(",")] if ARGS.ranks else [64, d]
    print(f"# bench_structural  {time.strftime('%Y-%m-%d %H:%M:%S')}  {platform.node()}  nproc={os.cpu_count()}  "
          f"load={os.getloadavg()[0]:.2f}")
    print(f"# data: {what}; train {n - n_test} items, test {n_test}; threads {ARGS.threads}; epochs {ARGS.epochs}; "
          f"batch {ARGS.batch_size}; lr {ARGS.lr}; torch {torch.__version__}; lamina {lamina.__version__}")
    print(f"{'kind':<9} {'rank':>5} {'torch s/epoch':>14} {'lamina s/epoch':>15} {'ratio':>7} {'target':>7}  "
          f"{'torch metrics':<34} {'lamina metrics':<34} load")
    rows = []
    for kind in ARGS.kinds.split(","):
        golds = Ds if kind == "distance" else deps
        tdata = TorchData(xs[train], golds[train], kind)
        for rank in ranks:
            t_times, l_times = [], []
            t_probe = l_probe = None
            for _ in range(ARGS.repeat):
                t0 = time.perf_counter()
                t_probe = torch_train(tdata, d, rank, kind, ARGS.epochs, ARGS.batch_size, ARGS.lr, seed=0)
                t_times.append((time.perf_counter() - t0) / ARGS.epochs)
                t0 = time.perf_counter()
                l_probe = LS.StructuralProbe(kind, rank=rank, lr=ARGS.lr, epochs=ARGS.epochs,
                                             batch_size=ARGS.batch_size, random_state=0)
                l_probe.fit(xs[train], targets=golds[train])
                l_times.append((time.perf_counter() - t0) / ARGS.epochs)
            tm = metrics(torch_predict(t_probe, xs[test], kind), golds[test], kind)
            lm = metrics(l_probe.predict(xs[test]), golds[test], kind)
            ratio = min(t_times) / min(l_times)
            fmt = lambda m: " ".join(f"{k}={v:.4f}" for k, v in m.items())  # noqa: E731
            load = os.getloadavg()[0]
            print(f"{kind:<9} {rank:>5} {min(t_times):>14.4f} {min(l_times):>15.4f} {ratio:>6.2f}x {'>=2x':>7}  "
                  f"{fmt(tm):<34} {fmt(lm):<34} {load:.2f}", flush=True)
            rows.append({"kind": kind, "rank": rank, "torch_s_per_epoch": t_times, "lamina_s_per_epoch": l_times,
                         "ratio": ratio, "torch_metrics": tm, "lamina_metrics": lm, "load": load})
    if ARGS.json:
        Path(ARGS.json).write_text(json.dumps({"data": what, "threads": ARGS.threads, "epochs": ARGS.epochs,
                                               "batch_size": ARGS.batch_size, "lr": ARGS.lr, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
