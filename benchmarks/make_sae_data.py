#!/usr/bin/env python3
"""Token-level MiniLM activations for the SAE quality benchmark (benchmarks/bench_sae.py).

Reuses the WordNet reader and the model loader of examples/data/make_demo_data.py (imported, not
copied): every deduplicated WordNet example sentence of at least --min-words words is a candidate; a
seeded shuffle of them is encoded with all-MiniLM-L6-v2 (CPU, float32, batches padded to the longest
sentence, attention-masked) until --tokens tokens are collected, and the hidden state --layer of every
non-special, non-padding token is stored as float16.

Output (HDF5, default out/minilm_wordnet_tokens.h5, not committed):
    /activations      (n_tokens, 384) float16   hidden state `layer` of each token, in sentence order
    /sentence_index   (n_tokens,) int32         row of /sentences the token belongs to
    /sentences        (n_sentences,) utf-8      the encoded sentences
    attributes: model, layer, seed, min_words, generator, versions

Usage (from the repository root; about 1-3 minutes for 150k tokens on 2 cores)::

    python3 benchmarks/make_sae_data.py                       # 150,000 tokens of layer 3
    python3 benchmarks/make_sae_data.py --tokens 200000 --layer 4 --out out/tokens_l4.h5
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "out" / "minilm_wordnet_tokens.h5"


def import_demo_data():
    """examples/data/make_demo_data.py as a module (it sets the offline environment variables)."""
    path = REPO / "examples" / "data" / "make_demo_data.py"
    spec = importlib.util.spec_from_file_location("make_demo_data", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--tokens", type=int, default=150_000, help="stop after this many tokens (default 150000)")
    ap.add_argument("--layer", type=int, default=3, help="hidden state to store: 0 = embeddings, 1..6 (default 3)")
    ap.add_argument("--seed", type=int, default=20240607)
    ap.add_argument("--min-words", type=int, default=3)
    ap.add_argument("--batch", type=int, default=64, help="sentences per forward pass")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)

    demo = import_demo_data()
    np, h5py, torch = demo.np, demo.h5py, demo.torch
    torch.set_num_threads(args.threads)
    t0 = time.time()

    by_pos, _ = demo.collect_candidates(demo.WORDNET_DIR, args.min_words)
    sentences = [it["sentence"] for pos in demo.POS_NAMES for it in by_pos[pos]]
    rng = np.random.default_rng(args.seed)
    sentences = [sentences[i] for i in rng.permutation(len(sentences))]
    print(f"{len(sentences)} candidate sentences")

    tok, model, model_path, digest = demo.load_model()
    n_layers = model.config.num_hidden_layers
    if not 0 <= args.layer <= n_layers:
        sys.exit(f"--layer must be in 0..{n_layers}")
    # Hidden state `layer` only needs the first `layer` transformer blocks.
    model.encoder.layer = model.encoder.layer[:args.layer]
    d = model.config.hidden_size

    chunks, sent_index, used = [], [], []
    total = 0
    with torch.no_grad():
        for start in range(0, len(sentences), args.batch):
            batch = sentences[start:start + args.batch]
            enc = tok(batch, padding=True, truncation=True, max_length=128,
                      return_special_tokens_mask=True, return_tensors="pt")
            special = enc.pop("special_tokens_mask").bool()
            out = model(**enc, output_hidden_states=True)
            hs = out.hidden_states[args.layer]                      # (batch, tokens, d)
            keep = enc["attention_mask"].bool() & ~special
            for i in range(len(batch)):
                rows = hs[i][keep[i]]
                if rows.shape[0] == 0:
                    continue
                chunks.append(rows.numpy().astype(np.float16))
                sent_index.append(np.full(rows.shape[0], len(used), dtype=np.int32))
                used.append(batch[i])
                total += rows.shape[0]
            if total >= args.tokens:
                break
            if (start // args.batch) % 20 == 0:
                print(f"  {total} tokens from {len(used)} sentences ({time.time() - t0:.0f} s)", flush=True)

    X = np.concatenate(chunks)[:args.tokens]
    idx = np.concatenate(sent_index)[:args.tokens]
    used = used[:int(idx[-1]) + 1]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    with h5py.File(tmp, "w") as f:
        f.create_dataset("activations", data=X, chunks=(min(4096, len(X)), d))
        f.create_dataset("sentence_index", data=idx)
        f.create_dataset("sentences", data=np.array(used, dtype=object), dtype=h5py.string_dtype("utf-8"))
        f.attrs.update(dict(model=demo.MODEL_NAME, model_sha256=digest, layer=args.layer, seed=args.seed,
                            min_words=args.min_words, generator="benchmarks/make_sae_data.py",
                            versions=f"torch {torch.__version__}, transformers {demo.transformers.__version__}"))
    os.replace(tmp, args.out)
    print(f"wrote {args.out}: {X.shape[0]} tokens x {d} (layer {args.layer}) from {len(used)} sentences, "
          f"{args.out.stat().st_size / 1e6:.1f} MB, {time.time() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
