"""VL-SAE: one sparse concept space for two modalities (experimental; reached as lamina.sae.VLSparseAutoencoder).

    from lamina.sae import VLSparseAutoencoder, load_vlsae
    vl = VLSparseAutoencoder(512, 512, 4096, k=256).fit(V, T, epochs=10)   # paired rows V[i] <-> T[i]
    z = vl.encode(V, modality="vision")               # (n, n_latents) float32
    idx, val = vl.encode(T, modality="text", sparse=True)
    T_from_V = vl.decode(z, modality="text")          # cross-modal reconstruction
    report = vl.concept_report(V, T, top=10)          # top items, frequencies, consistency, agreement
    vl.zero_shot(images, class_embeddings, labels)    # raw / concept / mixed zero-shot accuracies
    vl.concept_shift(V, T, alpha=0.8, beta=0.9)       # the paper's concept-level shift of text states

Model (Shen et al. 2025; the authors' code ssfgunner/VL-SAE), per modality m in {vision, text}:
    u = x / ||x||;  a_j = 2 - ||u - W_j / ||W_j|| ||  (one encoder W shared by both modalities, no bias)
    z = a on the top k latents of the row;  x_hat_m = b_m + z W_dec,m  (a decoder per modality)
    loss = weight_vision * mean((x_hat_v - x_v)^2) + weight_text * mean((x_hat_t - x_t)^2)
Defaults: n_latents = 8 d, k = 256 (clamped to n_latents), lr = 1e-3, batch_size = 512, epochs = 10 are
the paper's; torch's Adam constants, the seeded shuffle per epoch, the loss weights (1:1), the constant lr
(the authors' warm-up + cosine is decay="cosine", warmup_steps=...) and the dead-latent window are
Lamina's. AuxK on dead latents (as Lamina's TopK trainer; k_aux = d / 2 with d the encoder width) is
available but off by default (auxk_alpha = 0, as the authors' code): at equal tokens it did not lower
held-out FVU on the stand-in or planted pairs (benchmarks/bench_vlsae_defaults.py, benchmarks/README.md).

Widths: without projections d_vision must equal d_text. With projections=(P_vision, P_text) (each
(d_common, d_m), fixed) or projections=a fitted lamina.sae.VLAlignment (the InfoNCE alignment stage), the
shared encoder runs on u_m = P_m x / ||P_m x|| (width d_common; n_latents defaults to 8 d_common) while
each decoder still reconstructs its modality's raw x, so encode/decode/concept_shift take each
modality's own width. The projections are saved with the model ("P_vision", "P_text", "d_common") and in
its checkpoints.
Training also reads HDF5 files (fit(path, vision_dataset=..., text_dataset=...)), writes checkpoints that
resume bit-identically (save_checkpoint / load_vlsae_checkpoint), and runs data-parallel with comm=
(each rank projects its own rows).
"""
from __future__ import annotations

import ctypes
import os

import numpy as np

from . import _native as N
from ._base import LaminaEstimator, as_matrix, check_float, check_int, check_seed, progress_callback
from .errors import InvalidArgumentError, LaminaIOError, NotFittedError, ShapeMismatchError

__all__ = ["VLSparseAutoencoder", "load_vlsae", "load_vlsae_checkpoint"]

_MODALITIES = {"vision": 0, "text": 1}
_DECAY = {"none": 0, "linear": 1, "cosine": 2}
_PROGRESS_FIELDS = {"step": "step", "total_steps": "total_steps", "pairs": "items", "loss": "loss",
                    "pairs_per_second": "items_per_second"}
_PROGRESS_LINE = (("fvu_vision", ".4f"), ("fvu_text", ".4f"), ("dead_fraction", ".3f"), ("pairs_per_second", ".0f"))
_HISTORY = ("loss", "mse_vision", "mse_text", "fvu_vision", "fvu_text", "dead_fraction", "lr", "auxk")
_TENSORS = ("W_enc", "W_dec_vision", "b_dec_vision", "W_dec_text", "b_dec_text")
_DTYPE_F16, _DTYPE_BF16, _DTYPE_F32 = 0, 1, 2


def _training_array(X, name):
    arr = X if isinstance(X, np.ndarray) else None
    if arr is not None and (arr.dtype == np.uint16 or arr.dtype.name == "bfloat16"):
        if arr.ndim != 2:
            as_matrix(arr, name)
        return np.ascontiguousarray(arr).view(np.uint16), _DTYPE_BF16
    if arr is not None and arr.dtype == np.float16:
        if arr.ndim != 2:
            as_matrix(arr, name)
        return np.ascontiguousarray(arr), _DTYPE_F16
    return as_matrix(X, name), _DTYPE_F32


class VLSparseAutoencoder(LaminaEstimator):
    """A VL-SAE on paired (vision, text) rows; see the module docstring for the model.

    Parameters: d_vision, d_text (widths; must be equal), n_latents (default 8 * d_vision), k (default
    min(256, n_latents)), lr, batch_size, adam_betas, adam_eps, weight_vision, weight_text, dead_tokens,
    auxk_alpha (AuxK coefficient on dead latents, 0 = off, the default; e.g. 1/32 as the TopK trainer), k_aux (None = d / 2), warmup_steps, decay ("none" | "linear" | "cosine"), decay_steps, shuffle, random_state, verbose,
    callback (callback(info) after every step; returning True stops the fit with CancelledError)."""

    _lamina_tags = {"non_deterministic": False}

    def __init__(self, d_vision=None, d_text=None, n_latents=None, *, k=None, lr=1e-3, batch_size=512,
                 adam_betas=(0.9, 0.999), adam_eps=1e-8, weight_vision=1.0, weight_text=1.0, dead_tokens=10_000_000,
                 warmup_steps=0, decay="none", decay_steps=0, shuffle=True, random_state=0, verbose=False,
                 callback=None, projections=None, auxk_alpha=0.0, k_aux=None):
        self.d_vision = d_vision
        self.d_text = d_text
        self.n_latents = n_latents
        self.k = k
        self.lr = lr
        self.batch_size = batch_size
        self.adam_betas = adam_betas
        self.adam_eps = adam_eps
        self.weight_vision = weight_vision
        self.weight_text = weight_text
        self.dead_tokens = dead_tokens
        self.warmup_steps = warmup_steps
        self.decay = decay
        self.decay_steps = decay_steps
        self.shuffle = shuffle
        self.random_state = random_state
        self.verbose = verbose
        self.callback = callback
        self.projections = projections
        self.auxk_alpha = auxk_alpha
        self.k_aux = k_aux

    # -- parameters --------------------------------------------------------------------------------

    def _projections(self):
        """(P_vision, P_text) as float32 (d_common, d_m) arrays, or None."""
        pr = self.projections
        if pr is None:
            return None
        from ._vlalign import VLAlignment
        if isinstance(pr, VLAlignment):
            pr = pr.projections_
        if not isinstance(pr, (tuple, list)) or len(pr) != 2:
            raise InvalidArgumentError(f"projections={type(self.projections).__name__}; expected None, a fitted "
                                       "VLAlignment or a pair (P_vision, P_text)")
        pv, pt = as_matrix(pr[0], "P_vision"), as_matrix(pr[1], "P_text")
        if pv.shape[0] != pt.shape[0]:
            raise ShapeMismatchError(f"P_vision has {pv.shape[0]} rows but P_text has {pt.shape[0]}; expected the "
                                     "same common width d_common")
        return pv, pt

    def _params(self, d_vision=None, d_text=None):
        p = N.lib.lamina_vlsae_default_params()
        proj = self._projections()
        dv = self.d_vision if self.d_vision is not None else d_vision
        dt = self.d_text if self.d_text is not None else d_text
        if proj is not None:
            dv = proj[0].shape[1] if dv is None else dv
            dt = proj[1].shape[1] if dt is None else dt
        if dv is None or dt is None:
            raise InvalidArgumentError("d_vision and d_text are None; pass them or fit on data")
        p.d_vision = check_int(dv, "d_vision", 1, bits=64)
        p.d_text = check_int(dt, "d_text", 1, bits=64)
        if proj is not None:
            for name, P, d in (("P_vision", proj[0], p.d_vision), ("P_text", proj[1], p.d_text)):
                if P.shape[1] != d:
                    raise ShapeMismatchError(f"{name} has shape {P.shape}; expected (d_common, {d}) for "
                                             f"d_{name[2:]} = {d}")
        width = proj[0].shape[0] if proj is not None else p.d_vision
        n = 8 * width if self.n_latents is None else check_int(self.n_latents, "n_latents", 1, bits=64)
        p.n_latents = n
        p.k = min(256, n) if self.k is None else check_int(self.k, "k", bits=32)
        p.lr = check_float(self.lr, "lr", finite=True, positive=True)
        p.batch_size = check_int(self.batch_size, "batch_size", 1, bits=32)
        betas = self.adam_betas
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise InvalidArgumentError(f"adam_betas={betas!r}; expected a pair (beta1, beta2)")
        p.adam_beta1 = check_float(betas[0], "adam_betas[0]")
        p.adam_beta2 = check_float(betas[1], "adam_betas[1]")
        p.adam_eps = check_float(self.adam_eps, "adam_eps")
        p.weight_vision = check_float(self.weight_vision, "weight_vision")
        p.weight_text = check_float(self.weight_text, "weight_text")
        p.dead_tokens = check_int(self.dead_tokens, "dead_tokens", 0, bits=64)
        p.warmup_steps = check_int(self.warmup_steps, "warmup_steps", 0, bits=32)
        p.decay = N.option(self.decay, _DECAY, "decay")
        p.decay_steps = check_int(self.decay_steps, "decay_steps", 0, bits=32)
        if not isinstance(self.shuffle, (bool, np.bool_)):
            raise InvalidArgumentError(f"shuffle={self.shuffle!r}; expected True or False")
        p.shuffle = int(bool(self.shuffle))
        p.seed = check_seed(self.random_state)
        p.auxk_alpha = check_float(self.auxk_alpha, "auxk_alpha")
        p.k_aux = 0 if self.k_aux is None else check_int(self.k_aux, "k_aux", 1, bits=32)
        if proj is None:   # lamina_vlsae_create_projected checks the params with unequal widths allowed
            N.call("lamina_vlsae_check_params", ctypes.byref(p))
        return p

    def _create(self, p, proj):
        if proj is None:
            return N.Handle("lamina_vlsae_create", "lamina_vlsae_free", ctypes.byref(p))
        pv, pt = proj
        return N.Handle("lamina_vlsae_create_projected", "lamina_vlsae_free", ctypes.byref(p), pv.shape[0],
                        N.fptr(pv), pv.size, N.fptr(pt), pt.size)

    def _fitted(self):
        handle = getattr(self, "_handle", None)
        if handle is None:
            raise NotFittedError("This VLSparseAutoencoder instance is not fitted yet. Call 'fit' (or "
                                 "lamina.sae.load_vlsae) before using it.")
        return handle

    def _p(self):
        p = N.VLSAEParams()
        N.call("lamina_vlsae_get_params", self._fitted(), ctypes.byref(p))
        return p

    def _d_common(self):
        """The encoder width: d_common with projections, else d_vision."""
        dc = ctypes.c_int64()
        N.call("lamina_vlsae_get_d_common", self._fitted(), ctypes.byref(dc))
        return int(dc.value) or int(self._p().d_vision)

    def project(self, X, modality="vision"):
        """The encoder-side input P_m x of X (n, d_m): (n, d_common) float32, not normalised (a copy of X
        without projections)."""
        code, x, p = self._x(X, modality)
        out = np.empty((x.shape[0], self._d_common()), dtype=np.float32)
        N.call("lamina_vlsae_project", self._handle, code, N.fptr(x), x.shape[0], x.shape[1], N.fptr(out), out.size)
        return out

    # -- training ----------------------------------------------------------------------------------

    def initialize(self, d_vision=None, d_text=None):
        """Allocates the native model with its seeded initial weights without training; returns self."""
        p = self._params(d_vision, d_text)
        self._handle = self._create(p, self._projections())
        return self

    def fit(self, V, T=None, *, epochs=10, resume=False, vision_dataset=None, text_dataset=None, comm=None,
            deterministic=True):
        """Trains on the pairs (V[i], T[i]): V (n, d_vision), T (n, d_text), float32, float16 or bfloat16
        (uint16 bits), the same dtype for both. Or from a file: fit(path, vision_dataset="...",
        text_dataset="...") streams one rank-2 dataset per modality of an HDF5 file (or of an activation
        store directory), the same row count in both. A fresh seeded model unless resume=True (then
        training continues from the current weights and Adam state; a run that was cancelled or restored
        by load_vlsae_checkpoint continues where it stopped and needs the same data and epochs).
        comm (an mpi4py communicator): data-parallel; every rank calls fit with the same parameters and
        its own pairs (or the same file); batch_size is the global batch (include/lamina.h section 17)."""
        epochs = check_int(epochs, "epochs", 1, bits=32)
        if isinstance(V, (str, os.PathLike)):
            if T is not None:
                raise InvalidArgumentError("V is a file path and T is given; pass the path with vision_dataset= "
                                           "and text_dataset= (one dataset per modality) and no T")
            if vision_dataset is None or text_dataset is None:
                raise InvalidArgumentError("V is a file path; pass vision_dataset= and text_dataset= (the paths "
                                           "of the two datasets in the file)")
            from .sae import _h5_columns
            dims = (_h5_columns(V, vision_dataset), _h5_columns(V, text_dataset))
            source = ("file", os.fsencode(V), N.dataset_name(vision_dataset), N.dataset_name(text_dataset))
        else:
            if T is None:
                raise InvalidArgumentError("T is None; expected the text rows paired with V (or a file path as V)")
            if vision_dataset is not None or text_dataset is not None:
                raise InvalidArgumentError("vision_dataset / text_dataset are only for a file path as V")
            V, cv = _training_array(V, "V")
            T, ct = _training_array(T, "T")
            if cv != ct:
                raise InvalidArgumentError(f"V and T have different dtypes ({V.dtype}, {T.dtype}); expected the same")
            if V.shape[0] != T.shape[0]:
                raise ShapeMismatchError(f"V has {V.shape[0]} rows but T has {T.shape[0]}; expected paired rows")
            dims = (V.shape[1], T.shape[1])
            source = ("memory", V, T, cv)

        def run(reducer=None, prepared=None):
            if not resume or getattr(self, "_handle", None) is None:
                dv, dt = dims
                if dv is None or dt is None:
                    p = self._params()   # the widths must be given when the file cannot tell them
                    dv, dt = p.d_vision, p.d_text
                self.initialize(dv, dt)
            if prepared is not None:
                prepared()
            if reducer is not None:
                N.call("lamina_vlsae_set_reducer", self._handle, reducer.fn, None, reducer.rank, reducer.size)
            try:
                with progress_callback("vlsae", self.callback, self.verbose, _PROGRESS_FIELDS,
                                       extra=_PROGRESS_LINE) as progress:
                    if source[0] == "file":
                        N.call("lamina_vlsae_train_h5", self._handle, source[1], source[2], source[3], epochs,
                               progress.fn, None)
                    else:
                        _, v, t, code = source
                        N.call("lamina_vlsae_train", self._handle, v.ctypes.data_as(ctypes.c_void_p),
                               t.ctypes.data_as(ctypes.c_void_p), code, v.shape[0], v.shape[1], t.shape[1], epochs,
                               progress.fn, None)
            finally:
                if reducer is not None:
                    N.call("lamina_vlsae_set_reducer", self._handle, N.ReduceFn(), None, 0, 1)

        if comm is None:
            run()
        else:
            from . import distributed
            distributed.run_with_comm(self, comm, run, deterministic=deterministic)
        return self

    @property
    def position_(self):
        """The run position: (run_epochs, epoch, batch_in_epoch) -- where the next step of the run starts."""
        out = [ctypes.c_int64() for _ in range(3)]
        N.call("lamina_vlsae_get_position", self._fitted(), *[ctypes.byref(o) for o in out])
        return tuple(int(o.value) for o in out)

    def save_checkpoint(self, path):
        """Writes the full training state (weights, Adam moments, dead-latent counters, run position,
        history) to the file `path` atomically; load_vlsae_checkpoint(path).fit(V, T, epochs=E,
        resume=True) then finishes bit-identical to the uninterrupted fit (same thread count)."""
        handle = self._fitted()
        from .sae import _make_parents
        _make_parents(path)
        N.call("lamina_vlsae_save_checkpoint", handle, os.fsencode(path))
        return self

    @property
    def history_(self):
        """Per-step history: a dict of arrays (loss, mse_vision, mse_text, fvu_vision, fvu_text, dead_fraction, lr, auxk)."""
        steps = ctypes.c_int64()
        N.call("lamina_vlsae_get_state", self._fitted(), ctypes.byref(steps), None)
        out = np.zeros((steps.value, len(_HISTORY)), dtype=np.float64)
        N.call("lamina_vlsae_get_history", self._handle, N.dptr(out), out.size)
        return {name: out[:, i].copy() for i, name in enumerate(_HISTORY)}

    # -- inference ---------------------------------------------------------------------------------

    def _modality(self, modality):
        return N.option(modality, _MODALITIES, "modality")

    def _x(self, X, modality, name="X"):
        code = self._modality(modality)
        x = as_matrix(X, name)
        p = self._p()
        d = p.d_vision if code == 0 else p.d_text
        if x.shape[1] != d:
            raise ShapeMismatchError(f"{name} has {x.shape[1]} features; this VL-SAE has d_{modality} = {d}")
        return code, x, p

    def encode(self, X, modality="vision", sparse=False):
        """Codes of X in `modality`. Dense: (n, n_latents) float32; sparse=True: (indices int32 (n, k),
        values float32 (n, k)) by decreasing activation, unused slots -1 / 0."""
        code, x, p = self._x(X, modality)
        if sparse:
            idx = np.empty((x.shape[0], p.k), dtype=np.int32)
            val = np.empty((x.shape[0], p.k), dtype=np.float32)
            N.call("lamina_vlsae_encode_sparse", self._handle, code, N.fptr(x), x.shape[0], x.shape[1], p.k,
                   N.iptr(idx), N.fptr(val))
            return idx, val
        out = np.empty((x.shape[0], p.n_latents), dtype=np.float32)
        N.call("lamina_vlsae_encode", self._handle, code, N.fptr(x), x.shape[0], x.shape[1], N.fptr(out), out.size)
        return out

    def decode(self, Z, modality="vision"):
        """Reconstruction in `modality` from codes Z: dense (n, n_latents) or a sparse pair (indices, values)
        as encode(sparse=True) returns. Codes of either modality decode into either one."""
        code = self._modality(modality)
        p = self._p()
        d = p.d_vision if code == 0 else p.d_text
        if isinstance(Z, tuple):
            if len(Z) != 2:
                raise InvalidArgumentError("Z is a tuple; expected (indices, values) as encode(sparse=True) returns")
            idx = np.ascontiguousarray(Z[0], dtype=np.int32)
            val = as_matrix(Z[1], "values")
            if idx.shape != val.shape:
                raise ShapeMismatchError(f"indices have shape {idx.shape} but values {val.shape}; expected the same")
            out = np.empty((val.shape[0], d), dtype=np.float32)
            N.call("lamina_vlsae_decode_sparse", self._handle, code, N.iptr(idx), N.fptr(val), val.shape[0],
                   val.shape[1], N.fptr(out), out.size)
            return out
        z = as_matrix(Z, "Z")
        out = np.empty((z.shape[0], d), dtype=np.float32)
        N.call("lamina_vlsae_decode", self._handle, code, N.fptr(z), z.shape[0], z.shape[1], N.fptr(out), out.size)
        return out

    def reconstruct(self, X, modality="vision", into=None):
        """decode(encode(X, modality), into or modality)."""
        return self.decode(self.encode(X, modality), into or modality)

    # -- enhancement ---------------------------------------------------------------------------------

    def concept_shift(self, V, T, alpha=0.8, beta=0.9):
        """The paper's concept-level shift: z' = (1 - beta) enc_text(T) + beta enc_vision(V);
        T_new = T + alpha (decode_text(z') - T). Returns (n, d_text) float32."""
        v = as_matrix(V, "V")
        t = as_matrix(T, "T")
        if v.shape[0] != t.shape[0]:
            raise ShapeMismatchError(f"V has {v.shape[0]} rows but T has {t.shape[0]}; expected paired rows")
        out = np.empty(t.shape, dtype=np.float32)
        N.call("lamina_vlsae_concept_shift", self._fitted(), N.fptr(v), N.fptr(t), v.shape[0], v.shape[1], t.shape[1],
               check_float(alpha, "alpha", finite=True), check_float(beta, "beta", finite=True), N.fptr(out), out.size)
        return out

    def zero_shot(self, images, class_embeddings, labels, *, mix=0.5):
        """Concept-level zero-shot classification (the paper's enhancement): images (n, d_vision) are
        scored against class_embeddings (C, d_text) by the raw cosine cos(x, c) (cos(P_v x, P_t c) with
        input projections), by the concept cosine
        cos(enc_vision(x), enc_text(c)), and by their mix (1 - mix) raw + mix concept. Returns a dict with
        the accuracies ("raw", "concept", "mixed") against labels (n, ints in [0, C)) and the predictions."""
        x = as_matrix(images, "images")
        c = as_matrix(class_embeddings, "class_embeddings")
        y = np.asarray(labels)
        if y.shape != (x.shape[0],) or not np.issubdtype(y.dtype, np.integer):
            raise InvalidArgumentError(f"labels has shape {y.shape} and dtype {y.dtype}; expected {x.shape[0]} integers")
        if y.size and (y.min() < 0 or y.max() >= c.shape[0]):
            raise InvalidArgumentError(f"labels hold values outside [0, {c.shape[0]}): {int(y.min())}..{int(y.max())}")
        w = check_float(mix, "mix", finite=True)
        if not 0 <= w <= 1:
            raise InvalidArgumentError(f"mix={mix!r}; expected 0 <= mix <= 1")
        raw = _cosine(self.project(x, "vision"), self.project(c, "text"))
        concept = _cosine(self.encode(x, "vision"), self.encode(c, "text"))
        mixed = (1 - w) * raw + w * concept
        out = {}
        for name, s in (("raw", raw), ("concept", concept), ("mixed", mixed)):
            pred = np.argmax(s, axis=1)
            out[name] = float(np.mean(pred == y)) if y.size else float("nan")
            out[f"{name}_pred"] = pred
        return out

    # -- interpretation ------------------------------------------------------------------------------

    def concept_report(self, V, T, top=10, *, latents=None, random_pairs=10000, random_state=0):
        """Concept report on paired rows (V[i], T[i]). For each latent (all, or the given `latents`):
          top_vision / top_text            (L, top) row indices of the top-activating items (-1: fewer fire)
          top_vision_activation / ..._text (L, top) their activations (0 where unused)
          frequency_vision / frequency_text  fraction of rows on which the latent fires
          consistency_vision / _text       (cosines of the raw rows, in each modality's own space)
                                           mean cosine similarity among its (>= 2) top items minus the
                                           mean cosine over `random_pairs` random item pairs (seeded; NaN
                                           with fewer than 2 top items)
        and over the pairs: agreement = mean Jaccard |A_v ∩ A_t| / |A_v ∪ A_t| of the active latent sets of
        V[i] and T[i]; agreement_shuffled = the same with T paired by a seeded permutation."""
        v = as_matrix(V, "V")
        t = as_matrix(T, "T")
        n = v.shape[0]
        if t.shape[0] != n:
            raise ShapeMismatchError(f"V has {n} rows but T has {t.shape[0]}; expected paired rows")
        top = check_int(top, "top", 1)
        random_pairs = check_int(random_pairs, "random_pairs", 1)
        p = self._p()
        nl = p.n_latents
        if latents is None:
            lat = np.arange(nl)
        else:
            lat = np.asarray(latents)
            if lat.ndim != 1 or not np.issubdtype(lat.dtype, np.integer) or (lat.size and (lat.min() < 0 or lat.max() >= nl)):
                raise InvalidArgumentError(f"latents must be a 1-D array of ints in [0, {nl})")
        rng = np.random.default_rng(check_seed(random_state))
        out = {"latents": lat}
        codes = {}
        for name, x in (("vision", v), ("text", t)):
            idx, val = self.encode(x, name, sparse=True)
            codes[name] = (idx, val)
            rows = np.repeat(np.arange(n), idx.shape[1])
            flat_l, flat_v = idx.ravel(), val.ravel()
            keep = (flat_l >= 0) & (flat_v > 0)
            rows, flat_l, flat_v = rows[keep], flat_l[keep], flat_v[keep]
            freq = np.bincount(flat_l, minlength=nl) / n
            order = np.lexsort((rows, -flat_v, flat_l))     # by latent, then decreasing value, then row
            rows, flat_l, flat_v = rows[order], flat_l[order], flat_v[order]
            start = np.searchsorted(flat_l, np.arange(nl + 1))
            top_idx = np.full((lat.size, top), -1, dtype=np.int64)
            top_val = np.zeros((lat.size, top), dtype=np.float32)
            xn = x / np.linalg.norm(x.astype(np.float64), axis=1, keepdims=True)
            a = rng.integers(0, n, random_pairs)
            b = (a + rng.integers(1, max(n, 2), random_pairs)) % n if n > 1 else a
            baseline = float(np.mean(np.sum(xn[a] * xn[b], axis=1))) if n > 1 else float("nan")
            consistency = np.full(lat.size, np.nan)
            for i, j in enumerate(lat):
                s, e = start[j], min(start[j + 1], start[j] + top)
                top_idx[i, :e - s] = rows[s:e]
                top_val[i, :e - s] = flat_v[s:e]
                m = e - s
                if m >= 2:
                    g = xn[rows[s:e]] @ xn[rows[s:e]].T
                    consistency[i] = (g.sum() - np.trace(g)) / (m * (m - 1)) - baseline
            out[f"top_{name}"] = top_idx
            out[f"top_{name}_activation"] = top_val
            out[f"frequency_{name}"] = freq[lat]
            out[f"consistency_{name}"] = consistency
            out[f"random_pair_cosine_{name}"] = baseline
        perm = rng.permutation(n)
        out["agreement"] = _mean_jaccard(codes["vision"], codes["text"], np.arange(n))
        out["agreement_shuffled"] = _mean_jaccard(codes["vision"], codes["text"], perm)
        return out

    # -- state, files --------------------------------------------------------------------------------

    def get_tensor(self, name):
        """A copy of the parameter tensor `name` (W_enc, W_dec_vision, b_dec_vision, W_dec_text, b_dec_text;
        with input projections also P_vision, P_text)."""
        p = self._p()
        dc = self._d_common()
        shapes = {"W_enc": (p.n_latents, dc), "W_dec_vision": (p.n_latents, p.d_vision),
                  "b_dec_vision": (p.d_vision,), "W_dec_text": (p.n_latents, p.d_text), "b_dec_text": (p.d_text,)}
        if self._projected():
            shapes.update({"P_vision": (dc, p.d_vision), "P_text": (dc, p.d_text)})
        if name not in shapes:
            raise InvalidArgumentError(f"name={name!r}; expected one of {list(shapes)}")
        out = np.empty(shapes[name], dtype=np.float32)
        N.call("lamina_vlsae_get_tensor", self._handle, name.encode(), N.fptr(out), out.size)
        return out

    def _projected(self):
        dc = ctypes.c_int64()
        N.call("lamina_vlsae_get_d_common", self._fitted(), ctypes.byref(dc))
        return dc.value > 0

    def _native_state(self):
        state = {name: self.get_tensor(name) for name in _TENSORS}
        if self._projected():
            state["projections"] = (self.get_tensor("P_vision"), self.get_tensor("P_text"))
        state["params"] = bytes(self._p())
        return state

    def _restore_native(self, state):
        p = N.VLSAEParams.from_buffer_copy(state["params"])
        handle = self._create(p, state.get("projections"))
        for name in _TENSORS:
            a = np.ascontiguousarray(state[name], dtype=np.float32)
            N.call("lamina_vlsae_set_tensor", handle, name.encode(), N.fptr(a), a.size)
        self._handle = handle

    def save(self, path):
        """Saves into the directory `path`: vlsae_weights.safetensors + cfg.json (architecture "vl_topk"),
        each atomically."""
        handle = self._fitted()
        parent = os.path.dirname(os.path.abspath(os.fsdecode(path)))
        if parent and not os.path.isdir(parent):
            try:
                os.makedirs(parent, exist_ok=True)
            except OSError as exc:
                raise LaminaIOError(f"cannot create the parent directory of {os.fsdecode(path)}: {exc}") from None
        N.call("lamina_vlsae_save", handle, os.fsencode(path))
        return self

    @classmethod
    def _from_handle(cls, handle):
        p = N.VLSAEParams()
        N.call("lamina_vlsae_get_params", handle, ctypes.byref(p))
        obj = cls(int(p.d_vision), int(p.d_text), int(p.n_latents), k=int(p.k), lr=float(p.lr),
                  batch_size=int(p.batch_size), adam_betas=(float(p.adam_beta1), float(p.adam_beta2)),
                  adam_eps=float(p.adam_eps), weight_vision=float(p.weight_vision), weight_text=float(p.weight_text),
                  dead_tokens=int(p.dead_tokens), warmup_steps=int(p.warmup_steps),
                  decay={v: k for k, v in _DECAY.items()}[p.decay], decay_steps=int(p.decay_steps),
                  shuffle=bool(p.shuffle), random_state=int(p.seed), auxk_alpha=float(p.auxk_alpha),
                  k_aux=int(p.k_aux) or None)
        obj._handle = handle
        if obj._projected():
            obj.projections = (obj.get_tensor("P_vision"), obj.get_tensor("P_text"))
        return obj


def _cosine(a, b):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    na = np.linalg.norm(a, axis=1, keepdims=True)
    nb = np.linalg.norm(b, axis=1, keepdims=True)
    return (a / np.where(na > 0, na, 1)) @ (b / np.where(nb > 0, nb, 1)).T


def _mean_jaccard(cv, ct, pair):
    iv = np.where(cv[1] > 0, cv[0], -1)
    it = np.where(ct[1] > 0, ct[0], -2)[pair]
    total = 0.0
    n = iv.shape[0]
    for s in range(0, n, 64):
        a, b = iv[s:s + 64], it[s:s + 64]
        inter = (a[:, :, None] == b[:, None, :]).any(axis=2).sum(axis=1)
        size_a = (a >= 0).sum(axis=1)
        size_b = (b >= 0).sum(axis=1)
        union = size_a + size_b - inter
        total += float(np.sum(np.where(union > 0, inter / np.maximum(union, 1), 0.0)))
    return total / n if n else float("nan")


def load_vlsae(path):
    """Loads a VL-SAE saved by VLSparseAutoencoder.save from the directory `path`."""
    return VLSparseAutoencoder._from_handle(N.Handle("lamina_vlsae_load", "lamina_vlsae_free", os.fsencode(path)))


def load_vlsae_checkpoint(path):
    """Loads a VL-SAE training checkpoint written by VLSparseAutoencoder.save_checkpoint; continue with
    fit(..., resume=True)."""
    return VLSparseAutoencoder._from_handle(N.Handle("lamina_vlsae_load_checkpoint", "lamina_vlsae_free",
                                                     os.fsencode(path)))
