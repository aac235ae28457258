"""VL-SAE on stand-in image/text pairs (the tour's `vlsae` step).

The data (examples/data/digits_captions.npz, made by examples/data/make_vlsae_data.py) are STAND-INS
for CLIP embeddings, since no image-text model ships offline: scikit-learn's handwritten digits mapped
by a small network into the MiniLM embedding space of their captions ("vision"), paired with MiniLM
embeddings of varied captions ("text"). The API takes any CLIP/LLaVA embedding pairs.

Trains a VL-SAE on the first half of the pairs, then on the held-out half prints the concept report of a
few latents (top images drawn as 8x8 pictures in out_dir/vlsae_concepts.png, top captions beside them),
the cross-modal agreement against shuffled pairs, and zero-shot digit classification by caption
prompts: raw cosine vs concept-level vs their mix.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from lamina.sae import VLSparseAutoencoder

DATA = Path(__file__).resolve().parents[1] / "data" / "digits_captions.npz"


def run(npz_path=DATA, out_dir="out", *, n_latents=1024, k=32, epochs=30, batch_size=64, show_latents=4, seed=0):
    """n_latents, k, epochs, batch_size: the demo's choices for 898 training pairs (the paper's defaults
    -- 8 d latents, k = 256, batch 512, 10 epochs -- would take 20 steps on so few pairs)."""
    D = np.load(npz_path)
    V, T = D["vision"].astype(np.float32), D["text"].astype(np.float32)
    y, train, captions, images = D["labels"], D["train"], D["captions"], D["images"]
    prompts = D["prompt_embeddings"].astype(np.float32)
    d = V.shape[1]
    print(f"stand-in pairs: {len(y)} digit images (vision, {d}-d) x MiniLM captions (text, {d}-d); "
          f"training on {train.sum()}, held out {(~train).sum()}")
    vl = VLSparseAutoencoder(d, d, n_latents, k=k, batch_size=batch_size, lr=1e-3, random_state=seed)
    t0 = time.perf_counter()
    vl.fit(V[train], T[train], epochs=epochs)
    h = vl.history_
    print(f"trained {len(h['loss'])} steps in {time.perf_counter() - t0:.1f} s; last batch FVU vision "
          f"{h['fvu_vision'][-1]:.3f}, text {h['fvu_text'][-1]:.3f}")
    Vh, Th, yh, ch, ih = V[~train], T[~train], y[~train], captions[~train], images[~train]
    rep = vl.concept_report(Vh, Th, top=8, random_state=seed)
    score = np.nan_to_num(rep["consistency_vision"]) + np.nan_to_num(rep["consistency_text"])
    fv, ft = rep["frequency_vision"], rep["frequency_text"]
    candidates = np.flatnonzero((fv >= 0.02) & (ft >= 0.02) & (fv < 0.3) & (ft < 0.3))
    # the most consistent latents (both modalities), one per majority digit of the top images (display only)
    show, digits_shown = [], set()
    for j in candidates[np.argsort(-score[candidates], kind="stable")]:
        tv = rep["top_vision"][j]
        digit = int(np.bincount(yh[tv[tv >= 0]]).argmax())
        if digit not in digits_shown and len(show) < show_latents:
            show.append(j)
            digits_shown.add(digit)
    print(f"\ncross-modal agreement (mean Jaccard of active sets): paired {rep['agreement']:.3f}, "
          f"shuffled {rep['agreement_shuffled']:.3f}")
    for j in show:
        print(f"\nlatent {j}: fires on {rep['frequency_vision'][j]:.1%} of images, {rep['frequency_text'][j]:.1%} "
              f"of captions; consistency vision {rep['consistency_vision'][j]:+.3f}, text {rep['consistency_text'][j]:+.3f}")
        tv = rep["top_vision"][j]
        print("  top images (digit, activation): " + ", ".join(
            f"{yh[i]} ({a:.2f})" for i, a in zip(tv[tv >= 0], rep["top_vision_activation"][j])))
        tt = rep["top_text"][j]
        seen = {}
        for i, a in zip(tt[tt >= 0], rep["top_text_activation"][j]):
            seen.setdefault(str(ch[i]), [a, 0])[1] += 1
        for text, (a, count) in seen.items():
            print(f"  {a:.2f}  {text}" + (f"  (x{count})" if count > 1 else ""))
    zs = vl.zero_shot(Vh, prompts, yh, mix=0.5)
    print(f"\nzero-shot accuracy on held-out digits (prompts 'a photo of the digit N'): raw cosine "
          f"{zs['raw']:.3f}, concept-level {zs['concept']:.3f}, mixed (0.5) {zs['mixed']:.3f}")
    _plot(rep, show, ih, ch, Path(out_dir) / "vlsae_concepts.png")
    result = {"agreement": rep["agreement"], "agreement_shuffled": rep["agreement_shuffled"], **{
        k_: v for k_, v in zs.items() if not k_.endswith("_pred")}}
    if WORDNET.exists():
        result.update(wordnet(WORDNET, seed=seed))
    return result


WORDNET = Path(__file__).resolve().parents[1] / "data" / "wordnet_pairs.npz"


def wordnet(npz_path=WORDNET, *, n_latents=1024, k=16, epochs=10, batch_size=64, show_latents=2, seed=0):
    """The text-text stand-in (examples/data/wordnet_pairs.npz): WordNet 3.0 definitions as one modality,
    an example sentence of the same synset as the other, both MiniLM embeddings."""
    D = np.load(npz_path)
    V, T = D["definition"].astype(np.float32), D["example"].astype(np.float32)
    print(f"\ntext-text stand-in: {len(V)} WordNet definitions x example sentences (MiniLM, {V.shape[1]}-d)")
    vl = VLSparseAutoencoder(V.shape[1], T.shape[1], n_latents, k=k, batch_size=batch_size,
                             random_state=seed).fit(V, T, epochs=epochs)
    rep = vl.concept_report(V, T, top=3, random_state=seed)
    print(f"agreement of active concept sets: paired {rep['agreement']:.3f}, shuffled {rep['agreement_shuffled']:.3f}")
    both = np.flatnonzero((rep["frequency_vision"] > 0) & (rep["frequency_text"] > 0))
    score = np.nan_to_num(rep["consistency_vision"][both]) + np.nan_to_num(rep["consistency_text"][both])
    for j in both[np.argsort(-score)][:show_latents]:
        print(f"latent {j}:")
        for i in rep["top_vision"][j][:3]:
            print(f"  definition: {D['definition_text'][i]}  [{D['lemma'][i]}]")
        for i in rep["top_text"][j][:3]:
            print(f"  example:    {D['example_text'][i]}  [{D['lemma'][i]}]")
    return {"wordnet_agreement": rep["agreement"], "wordnet_agreement_shuffled": rep["agreement_shuffled"]}


def _plot(rep, show, images, captions, out):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(matplotlib absent: no concept picture)")
        return
    top = rep["top_vision"].shape[1]
    fig, axes = plt.subplots(len(show), top + 1, figsize=(1.2 * top + 5, 1.4 * len(show)), squeeze=False,
                             gridspec_kw={"width_ratios": [1] * top + [4]})
    for r, j in enumerate(show):
        for c in range(top):
            ax = axes[r][c]
            ax.axis("off")
            i = rep["top_vision"][j][c]
            if i >= 0:
                ax.imshow(images[i], cmap="gray_r")
        ax = axes[r][top]
        ax.axis("off")
        tt = rep["top_text"][j]
        ax.text(0, 0.5, f"latent {j}\n" + "\n".join(str(captions[i]) for i in tt[tt >= 0][:4]),
                fontsize=7, va="center")
    fig.suptitle("VL-SAE concepts: top images and top captions (stand-in data)")
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    print(f"concept picture saved to {out}")


if __name__ == "__main__":
    run()
