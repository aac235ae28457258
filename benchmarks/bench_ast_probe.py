#!/usr/bin/env python3
"""AST-Probe: Lamina against a PyTorch implementation of the paper's code, side by side in one process.

Data: examples/data/minilm_python.h5 (180 stdlib functions, layer 3 of all-MiniLM-L6-v2), the demo's
80/20 split. Three tasks, each timed for both sides, alternating (best of --repeat):

* tuples: trees -> (d, c, u) for every function. Baseline: the pure-Python port of the paper's
  binary_tree.py in bindings/python/tests/reference_ast_probe.py (the paper's own code is the same
  algorithm on networkx graphs). Checks that both give identical tuples.
* f1: decode + constituent F1 of predicted against gold tuples for every held-out function.
  Baseline: the same reference (distance_to_tree, remove_empty_nodes, add_unary,
  extend_complex_nodes, get_precision_recall_f1). Checks identical scores.
* fit: training the probe with the same hyper-parameters, data and number of steps. Baseline: the
  paper's ParserProbe + ParserLoss(loss='rank') + orthogonality penalty + torch.optim.Adam on padded
  batches (src/probe/probe.py, loss.py, run_probing.py), float32 on CPU. Reports both test F1s
  (they differ by the random init and shuffling, not by the objective).

    PYTHONPATH=bindings/python python3 benchmarks/bench_ast_probe.py [--quick] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bindings" / "python" / "tests"))
sys.path.insert(0, str(REPO / "examples" / "python"))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="fewer epochs and repeats (a smoke run)")
    p.add_argument("--threads", type=int, default=1, help="threads for both sides (default 1)")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--layer", type=int, default=3)
    p.add_argument("--json", default=None, metavar="PATH")
    return p.parse_args(argv)


def best_of(fn, repeat):
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def torch_fit(X, off, d, c_ids, u_ids, n_c, n_u, params, seed):
    """The paper's probe and loss in PyTorch (padded batches, masks), Adam, same steps."""
    import torch
    torch.manual_seed(seed)
    dim, r = X.shape[1], params["rank"]
    proj = torch.nn.Parameter(torch.empty(dim, r).uniform_(-0.05, 0.05))
    vc = torch.nn.Parameter(torch.empty(r, n_c).uniform_(-0.05, 0.05))
    vu = torch.nn.Parameter(torch.empty(r, n_u).uniform_(-0.05, 0.05))
    opt = torch.optim.Adam([proj, vc, vu], lr=params["lr"])
    ce = torch.nn.CrossEntropyLoss(ignore_index=-1)
    s = len(off) - 1
    Xt = torch.from_numpy(X)
    lens = np.diff(off)
    gen = np.random.default_rng(seed)
    for _ in range(params["epochs"]):
        order = gen.permutation(s)
        for b0 in range(0, s, params["batch_size"]):
            idx = order[b0:b0 + params["batch_size"]]
            L = int(lens[idx].max())
            emb = torch.zeros(len(idx), L, dim)
            dr = torch.full((len(idx), L - 1), -1.0)
            cr = torch.full((len(idx), L - 1), -1, dtype=torch.long)
            ur = torch.full((len(idx), L), -1, dtype=torch.long)
            for j, k in enumerate(idx):
                a, b = off[k], off[k + 1]
                emb[j, :b - a] = Xt[a:b]
                dr[j, :b - a - 1] = torch.from_numpy(d[a - k:b - k - 1].astype(np.float32))
                cr[j, :b - a - 1] = torch.from_numpy(c_ids[a - k:b - k - 1])
                ur[j, :b - a] = torch.from_numpy(u_ids[a:b])
            lb = torch.from_numpy(lens[idx])
            t = emb @ proj
            diffs = t[:, 1:] - t[:, :-1]
            d_pred = (diffs ** 2).sum(2)
            sc, su = diffs @ vc, t @ vu
            mask = torch.arange(L - 1)[None, :] < (lb - 1)[:, None]
            diff = d_pred[:, :, None] - d_pred[:, None, :]
            tdiff = ((dr[:, :, None] - dr[:, None, :]) > 0).float()
            m = mask[:, :, None] * mask[:, None, :] * tdiff
            loss_d = (torch.relu(tdiff - diff) * m).sum() / (m.sum() + 1e-9)
            loss = loss_d + ce(sc.reshape(-1, n_c), cr.reshape(-1)) + ce(su.reshape(-1, n_u), ur.reshape(-1))
            loss = loss + params["orthogonal_reg"] * torch.norm(proj.T @ proj - torch.eye(r)) ** 2
            loss.backward()
            opt.step()
            opt.zero_grad()
    return proj.detach().numpy(), vc.detach().numpy(), vu.detach().numpy()


def torch_predict(X, off, proj, vc, vu):
    t = X @ proj
    ds, cs, us = [], [], []
    for k in range(len(off) - 1):
        a, b = off[k], off[k + 1]
        diffs = t[a + 1:b] - t[a:b - 1]
        ds.append((diffs ** 2).sum(1))
        cs.append((diffs @ vc).argmax(1))
        us.append((t[a:b] @ vu).argmax(1))
    return np.concatenate(ds), np.concatenate(cs), np.concatenate(us)


def main(argv=None):
    args = parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    import lamina
    import reference_ast_probe as ref
    import torch
    from ast_demo import PROBE, load
    from lamina import ast_probe as ap
    lamina.set_num_threads(args.threads)
    torch.set_num_threads(args.threads)
    repeat = 1 if args.quick else args.repeat
    params = dict(PROBE, epochs=10 if args.quick else PROBE["epochs"])

    data = REPO / "examples" / "data" / "minilm_python.h5"
    trees, toff, tokens, sources, qualnames, n_layers = load(data)
    X = lamina.io.read_activations(data, f"/code/layer_{args.layer}")
    F = len(trees)
    n_train = int(round(0.8 * F))
    results = {"load": os.getloadavg(), "threads": args.threads, "params": params,
               "torch": torch.__version__}
    print(f"AST-Probe benchmark: {F} functions, layer {args.layer}, threads {args.threads}, "
          f"load {os.getloadavg()[0]:.1f}, torch {torch.__version__}, params {params}")

    # 1. tuples
    t_ref, ref_tuples = best_of(lambda: [ref.tuples(*t) for t in trees], repeat)
    t_lam, (d, c, u, off) = best_of(lambda: ap.trees_to_tuples(trees), repeat)
    same = all(list(d[off[k] - k:off[k + 1] - k - 1]) == rt[0] and c[off[k] - k:off[k + 1] - k - 1] == rt[1]
               and u[off[k]:off[k + 1]] == rt[2] for k, rt in enumerate(ref_tuples))
    results["tuples"] = dict(reference_s=t_ref, lamina_s=t_lam, identical=same)
    print(f"tuples (all {F} trees): reference {t_ref * 1e3:8.1f} ms, Lamina {t_lam * 1e3:7.2f} ms, "
          f"x{t_ref / t_lam:6.1f}, identical: {same}")

    # 2. fit, both sides
    def split(idx):
        dd, cc, uu, oo = ap.trees_to_tuples([trees[i] for i in idx])
        rows = np.concatenate([np.arange(toff[i], toff[i + 1]) for i in idx])
        return np.ascontiguousarray(X[rows]), oo, dd, cc, uu

    Xtr, otr, dtr, ctr, utr = split(range(n_train))
    Xte, ote, dte, cte, ute = split(range(n_train, F))
    c_names, u_names = sorted(set(ctr)), sorted(set(utr))
    c_ids = np.array([c_names.index(x) for x in ctr], np.int64)
    u_ids = np.array([u_names.index(x) for x in utr], np.int64)
    t_torch, weights = best_of(lambda: torch_fit(Xtr, otr, dtr, c_ids, u_ids, len(c_names), len(u_names),
                                                 params, 0), repeat)
    t_lamfit, probe = best_of(lambda: ap.ASTProbe(**params).fit(Xtr, otr, dtr, ctr, utr), repeat)
    pd, pc, pu = torch_predict(Xte, ote, *weights)
    f1_torch = ap.constituent_f1(ote, (dte, cte, ute), (pd, [c_names[k] for k in pc], [u_names[k] for k in pu]))
    f1_lam = probe.score(Xte, ote, dte, cte, ute)
    steps = params["epochs"] * -(-n_train // params["batch_size"])
    results["fit"] = dict(torch_s=t_torch, lamina_s=t_lamfit, steps=steps, torch_test_f1=f1_torch["mean_f1"],
                          lamina_test_f1=f1_lam)
    print(f"fit ({steps} Adam steps, rank {params['rank']}): PyTorch {t_torch:6.2f} s, Lamina {t_lamfit:6.2f} s, "
          f"x{t_torch / t_lamfit:5.1f}; test F1 PyTorch {f1_torch['mean_f1']:.3f}, Lamina {f1_lam:.3f}")

    # 3. F1 of the predictions
    pred = probe.predict(Xte, ote)

    def ref_f1():
        out = []
        for k in range(len(ote) - 1):
            a, b = ote[k] - k, ote[k + 1] - k - 1
            out.append(ref.f1((list(dte[a:b]), cte[a:b], ute[ote[k]:ote[k + 1]]),
                              (list(pred[0][a:b]), pred[1][a:b], pred[2][ote[k]:ote[k + 1]])))
        return np.array(out)

    t_rf1, rf = best_of(ref_f1, repeat)
    t_lf1, lf = best_of(lambda: ap.constituent_f1(ote, (dte, cte, ute), pred), repeat)
    same_f1 = bool(np.allclose(rf[:, 2], lf["f1"], rtol=0, atol=1e-15))
    results["f1"] = dict(reference_s=t_rf1, lamina_s=t_lf1, identical=same_f1)
    print(f"F1 ({len(ote) - 1} held-out functions): reference {t_rf1 * 1e3:8.1f} ms, Lamina {t_lf1 * 1e3:7.2f} ms, "
          f"x{t_rf1 / t_lf1:6.1f}, identical: {same_f1}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
