"""VL-SAE defaults by measurement: AuxK on dead latents (auxk_alpha = 1/32) against none (auxk_alpha = 0,
the authors' code), at equal tokens, short to long horizons; with --question lr, Lamina's constant lr
against the authors' warm-up (2 epochs) + cosine schedule (each horizon then a fresh run).

A benchmark, not a test (`make bench-vlsae_defaults`, or run it directly). For each data set, model
size and seed, the two arms start from the same seeded initial weights and see the same pairs in the
same order (same random_state); they differ only in auxk_alpha. Each arm trains to the first horizon,
is evaluated, then continues (fit(..., resume=True): weights, Adam state and dead-latent counters carry
over, the lr is constant -- the default) to the next horizon, so the horizons of one arm are one run
and both arms have seen exactly the same number of pairs at every horizon.

Data (held out = pairs never trained on):
  digits    examples/data/digits_captions.npz: stand-in vision (digit images through a small network into
            MiniLM space) x MiniLM captions, d 384; its own train/held-out split (898 / 899)
  wordnet   examples/data/wordnet_pairs.npz: text-text, a WordNet definition x an example sentence of
            the same synset through MiniLM, d 384; seeded split 1,200 / 400
  planted   synthetic pairs with a planted shared concept structure, d 64: 32 unit concept directions
            per modality (the text ones a noisy copy of the vision ones), each pair a sparse
            non-negative mix (each concept on with probability 0.1, exponential weights) of the same
            concepts in both modalities plus noise 0.02; 8,192 / 2,048. The rows fill a 32-dim
            subspace, so with 8 d latents and a small k many latents are never chosen and die.
Models: n_latents = 8 d (the paper's), k = 256 (the paper's; clamped) and a small k (16 on the
embeddings, 4 on `planted`, about its number of active concepts; --small-k overrides) where latents die; batch 512, lr 1e-3 (the paper's), dead_tokens = 2 epochs of the training pairs for
both arms (the default 10,000,000 would never mark a latent dead on these sizes and AuxK would be a
no-op).
Reported per horizon (pairs seen): held-out FVU per modality (sum ||x^ - x||^2 / sum ||x - mean||^2,
float64, x^ = decode_m(encode_m(x))), and the dead fraction = latents that fire on no training pair in
either modality after training (encoded after the horizon). For `planted` also the planted concepts
recovered (a latent whose decoder rows have cosine > 0.9 with the concept in both decoders).
Means over seeds; the per-seed values are printed with --verbose.

Usage: PYTHONPATH=bindings/python python3 benchmarks/bench_vlsae_defaults.py [--seeds 0 1]
       [--question auxk|lr] [--sets digits wordnet planted] [--models paper small] [--small-k K]
       [--threads 2] [--verbose]
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import lamina
from lamina.sae import VLSparseAutoencoder

DATA = Path(__file__).resolve().parents[1] / "examples" / "data"
# --question auxk (the default): AuxK on dead latents against none; horizons in epochs of the training
# pairs (short: the paper's 10 epochs; long: 16x that), one run per arm continued from horizon to horizon
# --question lr: Lamina's constant lr against the authors' schedule (warm-up over 2 epochs, then cosine
# decay to 0 over the rest of the run; auxk_alpha 0 in both); the schedule spans the run, so every
# horizon is a fresh run from the same seed
QUESTIONS = {
    "auxk": dict(arms=(("AuxK 1/32", dict(auxk_alpha=1 / 32)), ("no AuxK", dict(auxk_alpha=0.0))), fresh=False,
                 epochs={"digits": (10, 40, 160), "wordnet": (10, 40, 160), "planted": (2, 8, 32)}),
    "lr": dict(arms=(("constant lr", dict(auxk_alpha=0.0)), ("warm-up 2 ep + cosine", dict(auxk_alpha=0.0, schedule=True))),
               fresh=True, epochs={"digits": (10, 30, 100), "wordnet": (10, 30, 100), "planted": (2, 8, 32)}),
}


def load(name):
    if name == "digits":
        z = np.load(DATA / "digits_captions.npz")
        V, T, tr = z["vision"].astype(np.float32), z["text"].astype(np.float32), z["train"]
        return V[tr], T[tr], V[~tr], T[~tr], None
    if name == "wordnet":
        z = np.load(DATA / "wordnet_pairs.npz")
        V, T = z["definition"].astype(np.float32), z["example"].astype(np.float32)
        perm = np.random.default_rng(0).permutation(len(V))
        tr, te = perm[:1200], perm[1200:]
        return V[tr], T[tr], V[te], T[te], None
    if name == "planted":
        return planted()
    raise ValueError(name)


def planted(n_train=8192, n_test=2048, d=64, concepts=32, density=0.1, noise=0.02, seed=0):
    rng = np.random.default_rng(seed)
    Dv = rng.standard_normal((concepts, d))
    Dv /= np.linalg.norm(Dv, axis=1, keepdims=True)
    Dt = Dv + 0.5 * rng.standard_normal((concepts, d)) / np.sqrt(d)
    Dt /= np.linalg.norm(Dt, axis=1, keepdims=True)
    n = n_train + n_test
    S = rng.exponential(1.0, (n, concepts)) * (rng.random((n, concepts)) < density)
    S[S.sum(1) == 0, rng.integers(0, concepts)] = 1.0          # no all-zero code (a zero row is refused)
    V = (S @ Dv + noise * rng.standard_normal((n, d))).astype(np.float32)
    T = (S @ Dt + noise * rng.standard_normal((n, d))).astype(np.float32)
    return V[:n_train], T[:n_train], V[n_train:], T[n_train:], (Dv, Dt)


def fvu(x, xh):
    x = x.astype(np.float64)
    return float(((xh.astype(np.float64) - x) ** 2).sum() / ((x - x.mean(0)) ** 2).sum())


def dead_fraction(vl, V, T, n_latents):
    fired = np.zeros(n_latents, dtype=bool)
    for X, m in ((V, "vision"), (T, "text")):
        idx, val = vl.encode(X, m, sparse=True)
        fired[idx[(idx >= 0) & (val > 0)]] = True
    return 1.0 - fired.mean()


def recovered(vl, planted_dirs, threshold=0.9):
    Dv, Dt = planted_dirs
    out = []
    for D, name in ((Dv, "W_dec_vision"), (Dt, "W_dec_text")):
        W = vl.get_tensor(name).astype(np.float64)
        W /= np.maximum(np.linalg.norm(W, axis=1, keepdims=True), 1e-12)
        out.append(D @ W.T)                                  # (concepts, n_latents) cosines
    both = np.minimum(out[0], out[1])                         # one latent, both decoders
    return float(np.mean(both.max(axis=1) > threshold))


def run_arm(data, n_latents, k, seed, epochs, dead_tokens, arm, fresh=False):
    Vtr, Ttr, Vte, Tte, dirs = data
    d = Vtr.shape[1]
    kw = dict(arm)
    if kw.pop("schedule", False):       # the authors' script: 2 warm-up epochs, then cosine decay
        kw.update(warmup_steps=2 * -(-len(Vtr) // 512), decay="cosine")
    def model():
        return VLSparseAutoencoder(d, d, n_latents, k=k, batch_size=512, lr=1e-3, dead_tokens=dead_tokens,
                                   random_state=seed, **kw)
    vl = model()
    rows, done, t0 = [], 0, time.perf_counter()
    for e in epochs:
        if fresh:
            vl = model().fit(Vtr, Ttr, epochs=e)
        else:
            vl.fit(Vtr, Ttr, epochs=e - done, resume=done > 0)
        done = e
        r = {"pairs": e * len(Vtr), "fvu_v": fvu(Vte, vl.reconstruct(Vte, "vision")),
             "fvu_t": fvu(Tte, vl.reconstruct(Tte, "text")), "dead": dead_fraction(vl, Vtr, Ttr, n_latents)}
        if dirs is not None:
            r["recovered"] = recovered(vl, dirs)
        rows.append(r)
    return rows, time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sets", nargs="+", default=["digits", "wordnet", "planted"])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    ap.add_argument("--small-k", type=int, default=None, help="default: 16 (digits, wordnet), 4 (planted)")
    ap.add_argument("--models", nargs="+", default=["paper", "small"], help="paper: k = 256; small: the small k")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--question", choices=sorted(QUESTIONS), default="auxk")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    q = QUESTIONS[args.question]
    ARMS, EPOCHS = q["arms"], q["epochs"]
    lamina.set_num_threads(args.threads)
    lines = ["| data (train pairs, d) | n_latents, k | pairs seen (epochs) | arm | FVU vision | FVU text | dead | recovered |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name in args.sets:
        data = load(name)
        n, d = data[0].shape
        nl = 8 * d
        small = args.small_k or (4 if name == "planted" else 16)
        for k in [k_ for m, k_ in (("paper", min(256, nl)), ("small", small)) if m in args.models]:
            res = {}
            for label, arm in ARMS:
                per_seed = []
                for s in args.seeds:
                    rows, el = run_arm(data, nl, k, s, EPOCHS[name], 2 * n, arm, fresh=q["fresh"])
                    per_seed.append(rows)
                    if args.verbose:
                        print(f"{name} k={k} {label} seed {s} ({el:.1f} s): " + "; ".join(
                            f"{r['pairs']}: {r['fvu_v']:.4f} {r['fvu_t']:.4f} {r['dead']:.3f}" for r in rows), flush=True)
                res[label] = per_seed
            for h, e in enumerate(EPOCHS[name]):
                for label, _ in ARMS:
                    rs = [seed_rows[h] for seed_rows in res[label]]
                    mean = {key: float(np.mean([r[key] for r in rs])) for key in rs[0]}
                    rec = f"{mean['recovered']:.3f}" if "recovered" in mean else "-"
                    lines.append(f"| {name} ({n}, {d}) | {nl}, {k} | {int(mean['pairs']):,} ({e}) | {label} | "
                                 f"{mean['fvu_v']:.4f} | {mean['fvu_t']:.4f} | {mean['dead']:.3f} | {rec} |")
            print("\n".join(lines[-2 * len(EPOCHS[name]):]), flush=True)
    print(f"\n{args.question}: means over seeds {args.seeds}; batch 512, lr 1e-3, dead_tokens = 2 epochs, "
          f"{args.threads} threads\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
