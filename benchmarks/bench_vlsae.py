"""VL-SAE: Lamina against a PyTorch implementation of the same model, side by side in one process.

The PyTorch model is written from the paper and the authors' code (ssfgunner/VL-SAE,
cvlms/sae_trainer/sae_model.py): F.normalize on inputs and encoder rows, torch.cdist, a = 2 - dist,
top-k by torch.kthvalue as the authors' sparsify, two nn.Linear decoders (dense, as the authors run
them), loss MSE_v + MSE_t, torch.optim.Adam. Both start from the same initial weights (Lamina's, copied
into torch) and see the same batches in the same order (shuffle off); tokens/second is pairs per
second of training, best of `--repeats` alternating runs (the machine is shared: timings are noisy).
FVU per modality is sum ||x_hat - x||^2 / sum ||x - mean||^2 over all pairs after training.

Usage: python3 benchmarks/bench_vlsae.py [--n 16384] [--d 512] [--latents 4096] [--k 256] [--epochs 2]
Targets (issue 10): Lamina >= 2x tokens/s; FVU per modality within 2% of PyTorch's.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import lamina
from lamina.sae import VLSparseAutoencoder


def data(n, d, concepts=64, seed=0):
    rng = np.random.default_rng(seed)
    Dv = rng.standard_normal((concepts, d)); Dv /= np.linalg.norm(Dv, axis=1, keepdims=True)
    Dt = Dv + 0.5 * rng.standard_normal((concepts, d)) / np.sqrt(d); Dt /= np.linalg.norm(Dt, axis=1, keepdims=True)
    S = rng.exponential(1.0, (n, concepts)) * (rng.random((n, concepts)) < 0.08)
    V = S @ Dv + 0.05 * rng.standard_normal((n, d))
    T = S @ Dt + 0.05 * rng.standard_normal((n, d))
    return V.astype(np.float32), T.astype(np.float32)


def torch_train(init, V, T, k, batch, epochs, lr):
    import torch
    import torch.nn.functional as F
    W = torch.nn.Parameter(torch.tensor(init["W_enc"]))
    dv = torch.nn.Linear(W.shape[0], V.shape[1]); dt = torch.nn.Linear(W.shape[0], T.shape[1])
    with torch.no_grad():
        dv.weight.copy_(torch.tensor(init["W_dec_vision"]).T); dv.bias.copy_(torch.tensor(init["b_dec_vision"]))
        dt.weight.copy_(torch.tensor(init["W_dec_text"]).T); dt.bias.copy_(torch.tensor(init["b_dec_text"]))
    opt = torch.optim.Adam([W, *dv.parameters(), *dt.parameters()], lr=lr)
    hidden = W.shape[0]

    def encode(x):
        a = 2 - torch.cdist(F.normalize(x, dim=1), F.normalize(W, dim=1))
        thr = torch.kthvalue(a, k=hidden - k, dim=1)[0]
        return a * (a > thr.unsqueeze(-1))

    Vt, Tt = torch.tensor(V), torch.tensor(T)
    t0 = time.perf_counter()
    for _ in range(epochs):
        for s in range(0, len(V), batch):
            xv, xt = Vt[s:s + batch], Tt[s:s + batch]
            opt.zero_grad()
            loss = F.mse_loss(dv(encode(xv)), xv) + F.mse_loss(dt(encode(xt)), xt)
            loss.backward()
            opt.step()
    elapsed = time.perf_counter() - t0
    with torch.no_grad():
        rv, rt = dv(encode(Vt)).numpy(), dt(encode(Tt)).numpy()
    return elapsed, fvu(V, rv), fvu(T, rt)


def fvu(x, xh):
    x = x.astype(np.float64)
    return float(((xh - x) ** 2).sum() / ((x - x.mean(0)) ** 2).sum())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=16384)
    ap.add_argument("--d", type=int, default=512)
    ap.add_argument("--latents", type=int, default=4096)
    ap.add_argument("--k", type=int, default=256)
    ap.add_argument("--batch", type=int, default=512)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    import torch
    torch.set_num_threads(args.threads)
    lamina.set_num_threads(args.threads)
    V, T = data(args.n, args.d)
    tokens = args.n * args.epochs
    best = {"lamina": None, "torch": None}
    for r in range(args.repeats):
        vl = VLSparseAutoencoder(args.d, args.d, args.latents, k=args.k, batch_size=args.batch, lr=args.lr,
                                 shuffle=False, random_state=0).initialize()
        init = {name: vl.get_tensor(name) for name in ("W_enc", "W_dec_vision", "b_dec_vision", "W_dec_text", "b_dec_text")}
        t0 = time.perf_counter()
        vl.fit(V, T, epochs=args.epochs, resume=True)
        el = time.perf_counter() - t0
        lv = fvu(V, vl.reconstruct(V, "vision")); lt = fvu(T, vl.reconstruct(T, "text"))
        if best["lamina"] is None or el < best["lamina"][0]:
            best["lamina"] = (el, lv, lt)
        tt = torch_train(init, V, T, args.k, args.batch, args.epochs, args.lr)
        if best["torch"] is None or tt[0] < best["torch"][0]:
            best["torch"] = tt
        print(f"run {r + 1}: lamina {el:.2f} s, torch {tt[0]:.2f} s")
    (le, lv, lt), (te, tv, ttx) = best["lamina"], best["torch"]
    print(f"\nn = {args.n} pairs, d = {args.d}, n_latents = {args.latents}, k = {args.k}, batch {args.batch}, "
          f"{args.epochs} epochs, {args.threads} threads (best of {args.repeats})")
    print(f"{'':8s} {'pairs/s':>10s} {'FVU vision':>11s} {'FVU text':>9s}")
    print(f"{'lamina':8s} {tokens / le:10.0f} {lv:11.4f} {lt:9.4f}")
    print(f"{'torch':8s} {tokens / te:10.0f} {tv:11.4f} {ttx:9.4f}")
    print(f"speed ratio {te / le:.2f}x (target >= 2); FVU ratio vision {lv / tv:.3f}, text {lt / ttx:.3f} (target <= 1.02)")


if __name__ == "__main__":
    main()
