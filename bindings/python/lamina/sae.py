"""Sparse autoencoders (SAEs) on activations, trained on the CPU by liblamina.

    from lamina.sae import SparseAutoencoder, load
    sae = SparseAutoencoder(768, 16384, architecture="topk", k=32).fit(X)     # or fit("acts.h5", dataset="/layer_6")
    z = sae.encode(X)                        # (n, n_latents) float32
    idx, val = sae.encode(X, sparse=True)    # (n, k) int32 / float32, sorted by value
    sae.evaluate(X_heldout)                  # dict of metrics (below)
    sae.save("out/sae", format="saelens")    # or format="sparsify";  load("out/sae")

Model (every architecture), s the input scale (1 unless normalize_input=True):
    pre = W_enc (s x - b_dec) + b_enc;   z = act(pre);   x_hat = (W_dec^T z + b_dec) / s
Architectures:
  - "topk" (Gao et al. 2024, sparsify): z = TopK_k(ReLU(pre)); objective fvu + auxk_alpha * AuxK,
    fvu = sum||x_hat - x||^2 / sum||x - mean_batch(x)||^2; AuxK on latents dead for dead_tokens tokens:
    min(n_dead / k_aux, 1) sum||e_hat - e||^2 / sum||e - mean(e)||^2 with e = x - x_hat and e_hat the
    decode of the top k_aux dead latents (no b_dec). Decoder rows unit norm (gradient component along
    each row removed, rows renormalised after each step); by default (init="auto") initialised as
    sparsify does: W_enc ~ U(+-1/sqrt(d_in)), W_dec = its rows normalised (init="tied": W_enc = W_dec^T).
  - "batchtopk" (Bussmann et al. 2024): the top k*B activations of the whole batch; a threshold theta is
    learned as theta <- (1 - threshold_rate) theta + threshold_rate * min positive kept value (SAELens);
    after training (and at inference) it is a JumpReLU with that theta.
  - "relu" (Anthropic, April 2024 update): z = ReLU(pre); loss mean_b ||x_hat - x||^2 +
    lambda mean_b sum_i z_i ||W_dec,i|| with lambda = l1_coefficient warmed up over l1_warmup_steps.
  - "jumprelu" (Rajamanoharan et al. 2024; SAELens): z = pre H(pre - theta), theta = exp(log_theta)
    learned with the rectangle-kernel straight-through estimator (bandwidth jumprelu_bandwidth) and
    an L0 penalty l1_coefficient * mean_b sum_i H(pre - theta).
Training: torch.optim.Adam's rule; lr default 2e-4 / sqrt(n_latents / 2^14); warm-up, linear/cosine
decay, global-norm gradient clipping; b_dec initialised to the mean or geometric median (Weiszfeld)
of the first 65,536 rows. Same data, seed and thread count give bit-identical models.

Metrics of evaluate():
  mse                 mean over elements of (x_hat - x)^2
  nmse                OpenAI's normalized MSE: mean over rows of ||x_hat - x||^2 / ||x||^2
  fvu                 sum ||x_hat - x||^2 / sum ||x - mean(x)||^2
  explained_variance  SAELens: mean over rows of 1 - ||x - x_hat||^2 / ||x - mean(x)||^2
  fve                 mean over dimensions of 1 - var(x_j - x_hat_j) / var(x_j)
  cosine_similarity   mean over rows of cos(x, x_hat)
  l0                  mean number of non-zero codes per row
  dead_fraction       fraction of latents that never fire on X
  firing_frequency    per latent, fraction of rows where it fires (array)
"""
from __future__ import annotations

import ctypes
import numbers
import os
import sys
import time

import numpy as np

from . import _native as N
from .errors import CancelledError, InvalidArgumentError, ShapeMismatchError

__all__ = ["SparseAutoencoder", "load", "load_checkpoint"]

_ARCH = {"topk": 0, "batchtopk": 1, "relu": 2, "jumprelu": 3}
_DECAY = {"none": 0, "linear": 1, "cosine": 2}
_BDEC = {"mean": 0, "geometric_median": 1, "zero": 2}
_INIT = {"auto": 0, "sparsify": 1, "tied": 2}
# progress dict keys -> lamina_progress fields (an SAE counts tokens)
_PROGRESS_FIELDS = {"step": "step", "total_steps": "total_steps", "tokens": "items", "loss": "loss",
                    "tokens_per_second": "items_per_second"}
_HISTORY = ("loss", "fvu", "auxk", "mse", "sparsity", "l0", "dead_fraction", "lr")
_DTYPE_F16, _DTYPE_BF16, _DTYPE_F32 = 0, 1, 2


def _int(value, name, lo=None):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise InvalidArgumentError(f"{name}={value!r}; expected an integer")
    value = int(value)
    if lo is not None and value < lo:
        raise InvalidArgumentError(f"{name}={value}; expected >= {lo}")
    return value


def _float(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidArgumentError(f"{name}={value!r}; expected a number")
    return float(value)


def _clamp32(v):
    return max(min(v, 2**31 - 1), -2**31)


def _training_array(X):
    """(array, dtype code) without copying float32/float16 C-contiguous data; uint16 or ml_dtypes
    bfloat16 arrays are bfloat16 bits."""
    arr = np.asarray(X)
    if arr.ndim != 2:
        raise InvalidArgumentError(f"Expected 2D array for X, got {arr.ndim}D array instead (shape {arr.shape})")
    name = arr.dtype.name
    if name == "bfloat16" or arr.dtype == np.uint16:
        return np.ascontiguousarray(arr).view(np.uint16), _DTYPE_BF16
    if arr.dtype == np.float16:
        return np.ascontiguousarray(arr), _DTYPE_F16
    if arr.dtype.kind not in "fiub":
        raise InvalidArgumentError(f"X has dtype {arr.dtype}; expected float32, float16 or bfloat16")
    return np.ascontiguousarray(arr, dtype=np.float32), _DTYPE_F32


class _Progress:
    """Plain-text progress line on stderr (no dependency), refreshed at most every 0.5 s."""

    def __init__(self, enabled):
        self.enabled = enabled
        self.last = 0.0

    def update(self, info, final=False):
        if not self.enabled:
            return
        now = time.monotonic()
        if not final and now - self.last < 0.5:
            return
        self.last = now
        total = info["total_steps"]
        width = 24
        frac = info["step"] / total if total > 0 else 0
        bar = "#" * int(frac * width) + "-" * (width - int(frac * width))
        sys.stderr.write(f"\rsae [{bar}] {info['step']}/{total} loss {info['loss']:.4g} fvu {info['fvu']:.4f} "
                         f"l0 {info['l0']:.1f} dead {info['dead_fraction']:.3f} {info['tokens_per_second']:.0f} tok/s")
        if final:
            sys.stderr.write("\n")
        sys.stderr.flush()


class SparseAutoencoder:
    """A sparse autoencoder trained by liblamina (see the module docstring for the formulas).

    Parameters (keyword-only after n_latents): architecture ("topk", "batchtopk", "relu", "jumprelu"),
    k, lr (None = 2e-4 / sqrt(n_latents / 2^14)), batch_size, adam_betas, adam_eps, auxk_alpha, k_aux
    (None = d_in // 2), dead_tokens, l1_coefficient (ReLU lambda / JumpReLU L0 coefficient),
    l1_warmup_steps, jumprelu_init_threshold, jumprelu_bandwidth, threshold_rate (BatchTopK), warmup_steps,
    decay ("none", "linear", "cosine"), decay_steps (None = every step after warm-up), grad_clip (None =
    off), b_dec_init ("mean", "geometric_median", "zero"), init ("auto": sparsify's for topk/batchtopk,
    tied for relu/jumprelu; "sparsify": W_enc ~ U(+-1/sqrt(d_in)), W_dec = its rows normalised; "tied":
    W_dec rows ~ N(0, I) normalised, W_enc = W_dec^T), normalize_input, seed.

    Attributes: W_enc_ (d_in, n_latents), W_dec_ (n_latents, d_in), b_enc_, b_dec_, threshold_
    (batchtopk/jumprelu), history_ (dict of per-step arrays: loss, fvu, auxk, mse, sparsity, l0,
    dead_fraction, lr), n_steps_, n_tokens_, input_scale_.
    """

    def __init__(self, d_in, n_latents, *, architecture="topk", k=32, lr=None, batch_size=4096,
                 adam_betas=(0.9, 0.999), adam_eps=1e-8, auxk_alpha=1 / 32, k_aux=None, dead_tokens=10_000_000,
                 l1_coefficient=5.0, l1_warmup_steps=0, jumprelu_init_threshold=0.001, jumprelu_bandwidth=0.001,
                 threshold_rate=0.01, warmup_steps=0, decay="none", decay_steps=None, grad_clip=None,
                 b_dec_init="mean", init="auto", normalize_input=False, seed=0):
        self.d_in = d_in
        self.n_latents = n_latents
        self.architecture = architecture
        self.k = k
        self.lr = lr
        self.batch_size = batch_size
        self.adam_betas = adam_betas
        self.adam_eps = adam_eps
        self.auxk_alpha = auxk_alpha
        self.k_aux = k_aux
        self.dead_tokens = dead_tokens
        self.l1_coefficient = l1_coefficient
        self.l1_warmup_steps = l1_warmup_steps
        self.jumprelu_init_threshold = jumprelu_init_threshold
        self.jumprelu_bandwidth = jumprelu_bandwidth
        self.threshold_rate = threshold_rate
        self.warmup_steps = warmup_steps
        self.decay = decay
        self.decay_steps = decay_steps
        self.grad_clip = grad_clip
        self.b_dec_init = b_dec_init
        self.init = init
        self.normalize_input = normalize_input
        self.seed = seed
        self._handle = None
        self._create()

    # -- parameters --------------------------------------------------------------------------------

    _PARAM_NAMES = ("d_in", "n_latents", "architecture", "k", "lr", "batch_size", "adam_betas", "adam_eps",
                    "auxk_alpha", "k_aux", "dead_tokens", "l1_coefficient", "l1_warmup_steps",
                    "jumprelu_init_threshold", "jumprelu_bandwidth", "threshold_rate", "warmup_steps", "decay",
                    "decay_steps", "grad_clip", "b_dec_init", "init", "normalize_input", "seed")

    def get_params(self, deep=True):
        return {k: getattr(self, k) for k in self._PARAM_NAMES}

    def _params(self):
        p = N.lib.lamina_sae_default_params()
        p.d_in = _int(self.d_in, "d_in", 1)
        p.n_latents = _int(self.n_latents, "n_latents", 1)
        p.architecture = N.option(self.architecture, _ARCH, "architecture")
        p.k = _clamp32(_int(self.k, "k"))
        if self.lr is None:
            p.lr = 0.0
        else:
            lr = _float(self.lr, "lr")
            if not (lr > 0 and np.isfinite(lr)):
                raise InvalidArgumentError(f"lr={self.lr!r}; expected a finite value > 0 (or None for the default)")
            p.lr = lr
        p.batch_size = _clamp32(_int(self.batch_size, "batch_size"))
        try:
            b1, b2 = self.adam_betas
        except (TypeError, ValueError):
            raise InvalidArgumentError(f"adam_betas={self.adam_betas!r}; expected a pair (beta1, beta2)") from None
        p.adam_beta1, p.adam_beta2 = _float(b1, "adam_betas[0]"), _float(b2, "adam_betas[1]")
        p.adam_eps = _float(self.adam_eps, "adam_eps")
        p.auxk_alpha = _float(self.auxk_alpha, "auxk_alpha")
        p.k_aux = 0 if self.k_aux is None else _clamp32(_int(self.k_aux, "k_aux", 1))
        p.dead_tokens = _int(self.dead_tokens, "dead_tokens", 0)
        p.l1_coefficient = _float(self.l1_coefficient, "l1_coefficient")
        p.l1_warmup_steps = _clamp32(_int(self.l1_warmup_steps, "l1_warmup_steps"))
        p.jumprelu_init_threshold = _float(self.jumprelu_init_threshold, "jumprelu_init_threshold")
        p.jumprelu_bandwidth = _float(self.jumprelu_bandwidth, "jumprelu_bandwidth")
        p.threshold_rate = _float(self.threshold_rate, "threshold_rate")
        p.warmup_steps = _clamp32(_int(self.warmup_steps, "warmup_steps"))
        p.decay = N.option(self.decay, _DECAY, "decay")
        p.decay_steps = 0 if self.decay_steps is None else _clamp32(_int(self.decay_steps, "decay_steps", 1))
        p.grad_clip = 0.0 if self.grad_clip is None else _float(self.grad_clip, "grad_clip")
        if self.grad_clip is not None and not p.grad_clip > 0:
            raise InvalidArgumentError(f"grad_clip={self.grad_clip!r}; expected a value > 0 or None")
        p.b_dec_init = N.option(self.b_dec_init, _BDEC, "b_dec_init")
        p.init = N.option(self.init, _INIT, "init")
        p.normalize_input = 1 if self.normalize_input else 0
        p.seed = _int(self.seed, "seed", 0) % 2**64
        return p

    def _create(self):
        p = self._params()
        self._handle = N.Handle("lamina_sae_create", "lamina_sae_free", ctypes.byref(p))

    # -- training ----------------------------------------------------------------------------------

    def _state(self):
        steps, tokens, epoch, batch = (ctypes.c_int64() for _ in range(4))
        scale = ctypes.c_float()
        N.call("lamina_sae_get_state", self._handle, ctypes.byref(steps), ctypes.byref(tokens), ctypes.byref(epoch),
               ctypes.byref(batch), ctypes.byref(scale))
        return steps.value, tokens.value, epoch.value, batch.value, scale.value

    def fit(self, X, y=None, *, epochs=1, dataset=None, callback=None, progress=True, resume=False):
        """Trains on X: an array (n, d_in) of float32, float16 or bfloat16 (a uint16 array of bfloat16
        bits, or an ml_dtypes bfloat16 array), or the path of an HDF5 file with `dataset` the path of a
        rank-2 dataset in it (streamed in row chunks). Starts from a fresh initialisation unless
        resume=True (then training continues from the current data position -- e.g. after
        load_checkpoint -- until `epochs` epochs are complete).

        progress: show a text progress line on stderr. callback(info) is called after every step with
        a dict (step, total_steps, tokens, loss, tokens_per_second and the loss terms fvu, auxk, mse,
        sparsity, l0, dead_fraction, lr); returning False stops training after that step and raises
        lamina.CancelledError (the model keeps the last completed step)."""
        epochs = _clamp32(_int(epochs, "epochs", 1))
        if not resume and self._state()[0] > 0:
            self._create()
        bar = _Progress(bool(progress))
        last = {}

        def record(info):
            last.clear()
            last.update(info)
            bar.update(info)

        fn, errors = N.progress_callback(callback, lambda result: result is False, record, _PROGRESS_FIELDS)
        try:
            if isinstance(X, (str, os.PathLike)):
                if dataset is None:
                    raise InvalidArgumentError("X is a file path; pass dataset= (the path of the activations in the HDF5 file)")
                N.call("lamina_sae_train_h5", self._handle, os.fsencode(X), N.dataset_name(dataset), epochs, fn, None)
            else:
                arr, code = _training_array(X)
                N.call("lamina_sae_train", self._handle, arr.ctypes.data_as(ctypes.c_void_p), code,
                       arr.shape[0], arr.shape[1], epochs, fn, None)
        except CancelledError:
            N.raise_callback_error(errors)
            raise
        finally:
            if last:
                bar.update(last, final=True)
        return self

    def partial_fit(self, X, *, epochs=1, dataset=None, callback=None, progress=False):
        """fit(..., resume=True)."""
        return self.fit(X, epochs=epochs, dataset=dataset, callback=callback, progress=progress, resume=True)

    # -- inference ---------------------------------------------------------------------------------

    def _x(self, X, name="X"):
        x = N.as_matrix(X, name)
        if x.shape[1] != self.d_in:
            raise ShapeMismatchError(f"{name} has {x.shape[1]} features; this SAE has d_in = {self.d_in}")
        return x

    def encode(self, X, sparse=False, width=None):
        """Codes of X. Dense: (n, n_latents) float32. sparse=True: (indices int32 (n, width), values float32
        (n, width)) sorted by value, width = k for topk (else the widest row, or `width`); unused slots have
        index -1 and value 0."""
        x = self._x(X)
        n = x.shape[0]
        if not sparse:
            out = np.empty((n, self.n_latents), dtype=np.float32)
            N.call("lamina_sae_encode", self._handle, N.fptr(x), n, x.shape[1], N.fptr(out), out.size)
            return out
        if width is None:
            width = self.k if self.architecture == "topk" else None
        if width is None:
            dense = self.encode(x)
            width = max(1, int((dense != 0).sum(axis=1).max()) if n else 1)
        width = _int(width, "width", 1)
        idx = np.empty((n, width), dtype=np.int32)
        val = np.empty((n, width), dtype=np.float32)
        widest = ctypes.c_int32()
        N.call("lamina_sae_encode_sparse", self._handle, N.fptr(x), n, x.shape[1], width, N.iptr(idx), N.fptr(val),
               ctypes.byref(widest))
        return idx, val

    transform = encode

    def fit_transform(self, X, y=None, **kwargs):
        return self.fit(X, **kwargs).encode(X)

    def decode(self, Z):
        """x_hat from dense codes (n, n_latents) or from a sparse pair (indices, values)."""
        if isinstance(Z, tuple):
            idx = np.ascontiguousarray(Z[0], dtype=np.int32)
            val = N.as_matrix(Z[1], "values")
            if idx.shape != val.shape:
                raise ShapeMismatchError(f"indices has shape {idx.shape} and values {val.shape}; expected the same")
            out = np.empty((val.shape[0], self.d_in), dtype=np.float32)
            N.call("lamina_sae_decode_sparse", self._handle, N.iptr(idx), N.fptr(val), val.shape[0], val.shape[1],
                   N.fptr(out), out.size)
            return out
        z = N.as_matrix(Z, "Z")
        if z.shape[1] != self.n_latents:
            raise ShapeMismatchError(f"Z has {z.shape[1]} columns; this SAE has n_latents = {self.n_latents}")
        out = np.empty((z.shape[0], self.d_in), dtype=np.float32)
        N.call("lamina_sae_decode", self._handle, N.fptr(z), z.shape[0], z.shape[1], N.fptr(out), out.size)
        return out

    def reconstruct(self, X):
        x = self._x(X)
        out = np.empty_like(x)
        N.call("lamina_sae_reconstruct", self._handle, N.fptr(x), x.shape[0], x.shape[1], N.fptr(out), out.size)
        return out

    def evaluate(self, X):
        """Metrics on X (see the module docstring): mse, nmse, fvu, explained_variance, fve,
        cosine_similarity, l0, dead_fraction (floats) and firing_frequency (n_latents array)."""
        x = self._x(X)
        m = N.SAEMetrics()
        freq = np.empty(self.n_latents, dtype=np.float64)
        N.call("lamina_sae_evaluate", self._handle, N.fptr(x), x.shape[0], x.shape[1], ctypes.byref(m), N.dptr(freq))
        out = {name: getattr(m, name) for name, _ in N.SAEMetrics._fields_}
        out["firing_frequency"] = freq
        return out

    def score(self, X, y=None):
        """Explained variance of the reconstruction (1 - fvu); higher is better."""
        return 1.0 - self.evaluate(X)["fvu"]

    # -- weights -----------------------------------------------------------------------------------

    def _weights(self):
        d, n = self.d_in, self.n_latents
        w_enc = np.empty((d, n), np.float32)
        b_enc = np.empty(n, np.float32)
        w_dec = np.empty((n, d), np.float32)
        b_dec = np.empty(d, np.float32)
        thr = np.empty(n, np.float32)
        N.call("lamina_sae_get_weights", self._handle, N.fptr(w_enc), N.fptr(b_enc), N.fptr(w_dec), N.fptr(b_dec),
               N.fptr(thr))
        return w_enc, b_enc, w_dec, b_dec, thr

    @property
    def W_enc_(self):
        return self._weights()[0]

    @property
    def b_enc_(self):
        return self._weights()[1]

    @property
    def W_dec_(self):
        return self._weights()[2]

    @property
    def b_dec_(self):
        return self._weights()[3]

    @property
    def threshold_(self):
        return self._weights()[4]

    def set_weights(self, W_enc, b_enc, W_dec, b_dec, threshold=None):
        """Replaces the parameters (SAELens layout: W_enc (d_in, n_latents), W_dec (n_latents, d_in)) and
        resets the training state."""
        d, n = self.d_in, self.n_latents
        arrays = []
        for arr, shape, name in ((W_enc, (d, n), "W_enc"), (b_enc, (n,), "b_enc"), (W_dec, (n, d), "W_dec"),
                                 (b_dec, (d,), "b_dec")) + (((threshold, (n,), "threshold"),) if threshold is not None else ()):
            a = np.ascontiguousarray(arr, dtype=np.float32)
            if a.shape != shape:
                raise ShapeMismatchError(f"{name} has shape {a.shape}; expected {shape}")
            arrays.append(a)
        thr = N.fptr(arrays[4]) if threshold is not None else None
        N.call("lamina_sae_set_weights", self._handle, N.fptr(arrays[0]), N.fptr(arrays[1]), N.fptr(arrays[2]),
               N.fptr(arrays[3]), thr)
        return self

    @property
    def history_(self):
        steps = self._state()[0]
        buf = np.empty(steps * 8, dtype=np.float64)
        N.call("lamina_sae_get_history", self._handle, N.dptr(buf), buf.size)
        buf = buf.reshape(steps, 8)
        return {name: buf[:, i].copy() for i, name in enumerate(_HISTORY)}

    @property
    def n_steps_(self):
        return self._state()[0]

    @property
    def n_tokens_(self):
        return self._state()[1]

    @property
    def input_scale_(self):
        return self._state()[4]

    # -- files -------------------------------------------------------------------------------------

    def save(self, path, format="saelens"):
        """Saves into the directory `path` (created if missing), atomically file by file.
        format="saelens": sae_weights.safetensors (W_enc [d_in, d_sae], W_dec [d_sae, d_in], b_enc, b_dec,
        threshold for jumprelu/batchtopk) + cfg.json as SAELens writes them; format="sparsify":
        sae.safetensors (encoder.weight, encoder.bias, W_dec, b_dec) + cfg.json (topk only)."""
        code = N.option(format, _FORMATS, "format")
        N.call("lamina_sae_save", self._handle, os.fsencode(path), code)
        return self

    def save_checkpoint(self, path):
        """Writes the full training state (weights, Adam moments, data position, history) to the file
        `path` atomically; load_checkpoint(path).fit(X, epochs=E, resume=True) then finishes exactly like
        an uninterrupted fit(X, epochs=E)."""
        N.call("lamina_sae_save_checkpoint", self._handle, os.fsencode(path))
        return self

    @classmethod
    def _from_handle(cls, handle):
        p = N.SAEParams()
        N.call("lamina_sae_get_params", handle, ctypes.byref(p))
        obj = cls.__new__(cls)
        obj.d_in, obj.n_latents = int(p.d_in), int(p.n_latents)
        obj.architecture = {v: k for k, v in _ARCH.items()}[p.architecture]
        obj.k = int(p.k)
        obj.lr = float(p.lr) if p.lr > 0 else None
        obj.batch_size = int(p.batch_size)
        obj.adam_betas = (float(p.adam_beta1), float(p.adam_beta2))
        obj.adam_eps = float(p.adam_eps)
        obj.auxk_alpha = float(p.auxk_alpha)
        obj.k_aux = int(p.k_aux) or None
        obj.dead_tokens = int(p.dead_tokens)
        obj.l1_coefficient = float(p.l1_coefficient)
        obj.l1_warmup_steps = int(p.l1_warmup_steps)
        obj.jumprelu_init_threshold = float(p.jumprelu_init_threshold)
        obj.jumprelu_bandwidth = float(p.jumprelu_bandwidth)
        obj.threshold_rate = float(p.threshold_rate)
        obj.warmup_steps = int(p.warmup_steps)
        obj.decay = {v: k for k, v in _DECAY.items()}[p.decay]
        obj.decay_steps = int(p.decay_steps) or None
        obj.grad_clip = float(p.grad_clip) or None
        obj.b_dec_init = {v: k for k, v in _BDEC.items()}[p.b_dec_init]
        obj.init = {v: k for k, v in _INIT.items()}[p.init]
        obj.normalize_input = bool(p.normalize_input)
        obj.seed = int(p.seed)
        obj._handle = handle
        return obj

    def __repr__(self):
        return (f"SparseAutoencoder(d_in={self.d_in}, n_latents={self.n_latents}, architecture={self.architecture!r}, "
                f"k={self.k})")


_FORMATS = {"saelens": 0, "sparsify": 1}


def load(path):
    """Loads an SAE saved by `SparseAutoencoder.save` (or by SAELens / sparsify) from the directory `path`."""
    return SparseAutoencoder._from_handle(N.Handle("lamina_sae_load", "lamina_sae_free", os.fsencode(path)))


def load_checkpoint(path):
    """Loads a training checkpoint written by `save_checkpoint`; continue with fit(..., resume=True)."""
    return SparseAutoencoder._from_handle(N.Handle("lamina_sae_load_checkpoint", "lamina_sae_free", os.fsencode(path)))
