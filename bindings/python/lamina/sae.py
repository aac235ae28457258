"""Sparse autoencoders (SAEs) on activations, trained on the CPU by liblamina.

    from lamina.sae import SparseAutoencoder, load
    sae = SparseAutoencoder(n_latents=16384, architecture="topk", k=32).fit(X)   # or fit("acts.h5", dataset="/layer_6")
    z = sae.encode(X)                        # (n, n_latents) float32
    idx, val = sae.encode(X, sparse=True)    # (n, k) int32 / float32, sorted by value
    sae.evaluate(X_heldout)                  # dict of metrics (below)
    sae.save("out/sae", format="saelens")    # or format="sparsify";  load("out/sae")
    sae.transform(X)                         # = encode: a scikit-learn transformer (Pipeline, clone, pickle)

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
  - "matryoshka_batchtopk" (Bussmann et al. 2025): BatchTopK's codes (top k*B of the whole batch over the
    whole dictionary) and threshold; group_widths m_1 < ... < m_G = n_latents (at most 16) name nested
    dictionaries W_dec[:m_g]; the loss is sum_g w_g FVU(x_hat_g) + auxk_alpha * AuxK with x_hat_g =
    b_dec + z[:, :m_g] W_dec[:m_g] and AuxK on the full decoder's residual; group_weights default to 1
    each (SAELens; dictionary_learning's weights are Lamina's times G). Inference: JumpReLU with theta.
    evaluate() adds prefix_fvu (one FVU per prefix). Saved in SAELens' matryoshka_batchtopk layout.
    history_: "loss" is the weighted sum (+ AuxK), "fvu" the full decoder's.
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
  prefix_fvu          matryoshka_batchtopk: the fvu of each prefix decoder W_dec[:m_g] (list, last = fvu)
"""
from __future__ import annotations

import ctypes
import os

import numpy as np

from . import _native as N
from ._base import (DEPRECATED, LaminaEstimator, TransformerMixin, as_matrix, check_float, check_int, check_seed,
                    progress_callback, reject_unknown, renamed_kwarg, renamed_param)
from .errors import InvalidArgumentError, LaminaIOError, NotFittedError, ShapeMismatchError

__all__ = ["SparseAutoencoder", "load", "load_checkpoint"]

_ARCH = {"topk": 0, "batchtopk": 1, "relu": 2, "jumprelu": 3, "matryoshka_batchtopk": 4}
_DECAY = {"none": 0, "linear": 1, "cosine": 2}
_BDEC = {"mean": 0, "geometric_median": 1, "zero": 2}
_INIT = {"auto": 0, "sparsify": 1, "tied": 2}
# progress dict keys -> lamina_progress fields (an SAE counts tokens)
_PROGRESS_FIELDS = {"step": "step", "total_steps": "total_steps", "tokens": "items", "loss": "loss",
                    "tokens_per_second": "items_per_second"}
_PROGRESS_LINE = (("fvu", ".4f"), ("l0", ".1f"), ("dead_fraction", ".3f"), ("tokens_per_second", ".0f"))
_HISTORY = ("loss", "fvu", "auxk", "mse", "sparsity", "l0", "dead_fraction", "lr")
_DTYPE_F16, _DTYPE_BF16, _DTYPE_F32 = 0, 1, 2


def _int(value, name, lo=None):
    return check_int(value, name, lo)


def _float(value, name):
    return check_float(value, name)


def _clamp32(v):
    return max(min(v, 2**31 - 1), -2**31)


def _training_array(X):
    """(array, dtype code) without copying float32/float16 C-contiguous data; uint16 or ml_dtypes
    bfloat16 arrays are bfloat16 bits."""
    if hasattr(X, "dtype") and getattr(X.dtype, "name", "") == "bfloat16" or isinstance(X, np.ndarray) and X.dtype in (np.uint16, np.float16):
        arr = np.asarray(X)
        if arr.ndim != 2:
            as_matrix(arr)   # the 2-D message
    else:
        arr = as_matrix(X)   # scikit-learn's checks; float32 (no copy for float32 C-contiguous data)
    name = arr.dtype.name
    if name == "bfloat16" or arr.dtype == np.uint16:
        return np.ascontiguousarray(arr).view(np.uint16), _DTYPE_BF16
    if arr.dtype == np.float16:
        return np.ascontiguousarray(arr), _DTYPE_F16
    if arr.dtype.kind not in "fiub":
        raise InvalidArgumentError(f"X has dtype {arr.dtype}; expected float32, float16 or bfloat16")
    return np.ascontiguousarray(arr, dtype=np.float32), _DTYPE_F32


def _h5_columns(path, dataset):
    """The number of columns of a rank-2 dataset of an HDF5 file (None if the file cannot say: the
    training call then reports the problem)."""
    try:
        from . import io
        if os.path.isfile(os.path.join(os.fspath(path), "MANIFEST.json")):   # an activation store directory
            return io.store_info(path, dataset)[1]
        shape, _ = io.dataset_info(path, dataset)
        return int(shape[1]) if len(shape) == 2 else None
    except Exception:  # noqa: BLE001 - the training call names the problem
        return None


class SparseAutoencoder(TransformerMixin, LaminaEstimator):
    """A sparse autoencoder trained by liblamina (see the module docstring for the formulas).

    Parameters: d_in (None = the number of columns of the training data), n_latents (required),
    architecture ("topk", "batchtopk", "relu", "jumprelu", "matryoshka_batchtopk"), k, lr (None = 2e-4 / sqrt(n_latents / 2^14)),
    batch_size, adam_betas, adam_eps, auxk_alpha, k_aux (None = d_in // 2), dead_tokens, l1_coefficient
    (ReLU lambda / JumpReLU L0 coefficient), l1_warmup_steps, jumprelu_init_threshold,
    jumprelu_bandwidth, threshold_rate (BatchTopK), warmup_steps, decay ("none", "linear", "cosine"),
    decay_steps (None = every step after warm-up), grad_clip (None = off), b_dec_init ("mean",
    "geometric_median", "zero"), group_widths / group_weights (matryoshka_batchtopk only: increasing widths
    ending at n_latents, weights >= 0 one per group, None = 1 each), init ("auto": sparsify's for topk/batchtopk, tied for relu/jumprelu;
    "sparsify": W_enc ~ U(+-1/sqrt(d_in)), W_dec = its rows normalised; "tied": W_dec rows ~ N(0, I)
    normalised, W_enc = W_dec^T), normalize_input, random_state (seed of the initialisation and the
    batch order), verbose (a progress line on stderr during fit). The constructor only stores them;
    the native model is allocated by fit (or set_weights / load).

    A scikit-learn transformer: transform(X) = encode(X), fit_transform, clone, Pipeline, pickle.

    Attributes after fit: W_enc_ (d_in, n_latents), W_dec_ (n_latents, d_in), b_enc_, b_dec_, threshold_
    (batchtopk/jumprelu), history_ (dict of per-step arrays: loss, fvu, auxk, mse, sparsity, l0,
    dead_fraction, lr), n_steps_, n_tokens_, input_scale_, n_features_in_.
    """

    _lamina_tags = {"preserves_dtype": ["float32"]}

    def __init__(self, d_in=None, n_latents=None, *, architecture="topk", k=32, lr=None, batch_size=4096,
                 adam_betas=(0.9, 0.999), adam_eps=1e-8, auxk_alpha=1 / 32, k_aux=None, dead_tokens=10_000_000,
                 l1_coefficient=5.0, l1_warmup_steps=0, jumprelu_init_threshold=0.001, jumprelu_bandwidth=0.001,
                 threshold_rate=0.01, warmup_steps=0, decay="none", decay_steps=None, grad_clip=None,
                 b_dec_init="mean", init="auto", normalize_input=False, random_state=0, verbose=False, seed=DEPRECATED,
                 group_widths=None, group_weights=None):
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
        self.random_state = random_state
        self.verbose = verbose
        self.seed = seed
        self.group_widths = group_widths
        self.group_weights = group_weights

    # -- parameters --------------------------------------------------------------------------------

    def _params(self, d_in=None):
        """The C params; d_in: the data's number of columns (used when self.d_in is None)."""
        p = N.lib.lamina_sae_default_params()
        if self.d_in is None:
            if d_in is None:
                raise InvalidArgumentError("d_in=None and no data to infer it from; pass d_in or fit on data")
            p.d_in = d_in
        else:
            p.d_in = _int(self.d_in, "d_in", 1)
            if d_in is not None and d_in != p.d_in:
                raise ShapeMismatchError(f"X has {d_in} features; this SAE has d_in = {p.d_in}")
        if self.n_latents is None:
            raise InvalidArgumentError("n_latents=None; pass the number of latents, e.g. "
                                       "SparseAutoencoder(n_latents=16 * d_in)")
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
        p.dead_tokens = check_int(self.dead_tokens, "dead_tokens", 0, bits=64)
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
        random_state = renamed_param(self, "seed", "random_state", 0)
        p.seed = check_seed(random_state)
        self._set_groups(p)
        return p

    def _set_groups(self, p):
        """group_widths / group_weights into the C params (the library checks the values)."""
        widths, weights = self.group_widths, self.group_weights
        if widths is None:
            if weights is not None:
                raise InvalidArgumentError(f"group_weights={weights!r} without group_widths; pass both (architecture "
                                           f"'matryoshka_batchtopk')")
            if self.architecture == "matryoshka_batchtopk":
                raise InvalidArgumentError("architecture='matryoshka_batchtopk' needs group_widths, e.g. "
                                           "[n_latents // 16, n_latents // 4, n_latents]")
            return
        try:
            widths = [int(_int(w, "group_widths")) for w in widths]
        except TypeError:
            raise InvalidArgumentError(f"group_widths={self.group_widths!r}; expected a list of integers") from None
        if not 1 <= len(widths) <= N.LAMINA_SAE_MAX_GROUPS:
            raise InvalidArgumentError(f"group_widths has {len(widths)} values; expected 1 to {N.LAMINA_SAE_MAX_GROUPS}")
        if any(not -2**63 <= w < 2**63 for w in widths):
            raise InvalidArgumentError(f"group_widths={widths!r}; expected widths 1 <= m <= n_latents")
        p.n_groups = len(widths)
        for g, w in enumerate(widths):
            p.group_widths[g] = w
        if weights is not None:
            try:
                weights = [_float(w, "group_weights") for w in weights]
            except TypeError:
                raise InvalidArgumentError(f"group_weights={self.group_weights!r}; expected a list of numbers") from None
            if len(weights) != len(widths):
                raise InvalidArgumentError(f"group_weights has {len(weights)} values; expected one per group "
                                           f"({len(widths)})")
            for g, w in enumerate(weights):
                if not (w >= 0 and np.isfinite(w)):
                    raise InvalidArgumentError(f"group_weights[{g}] = {w!r}; expected a finite value >= 0")
            if not any(w > 0 for w in weights):
                raise InvalidArgumentError("group_weights are all 0; expected at least one weight > 0")
            for g, w in enumerate(weights):
                p.group_weights[g] = w

    def _create(self, d_in=None):
        p = self._params(d_in)
        self._handle = N.Handle("lamina_sae_create", "lamina_sae_free", ctypes.byref(p))
        self._handle_params = bytes(p)
        self._saved_progress = None

    def initialize(self, d_in=None):
        """Validates the parameters and allocates the native model with its seeded initial weights
        (what a first fit starts from; b_dec is initialised from the data when training starts) without
        training. d_in: the number of features when the parameter d_in is None. Returns self."""
        self._create(d_in)
        self.n_features_in_ = self._d_in()
        return self

    # -- training ----------------------------------------------------------------------------------

    def _state(self):
        steps, tokens, epoch, batch = (ctypes.c_int64() for _ in range(4))
        scale = ctypes.c_float()
        N.call("lamina_sae_get_state", self._fitted(), ctypes.byref(steps), ctypes.byref(tokens), ctypes.byref(epoch),
               ctypes.byref(batch), ctypes.byref(scale))
        return steps.value, tokens.value, epoch.value, batch.value, scale.value

    def _fitted(self):
        handle = getattr(self, "_handle", None)
        if handle is None:
            raise NotFittedError("This SparseAutoencoder instance is not fitted yet. Call 'fit' (or set_weights, "
                                 "or lamina.sae.load) before using it.")
        return handle

    def _data_columns(self, X, dataset):
        if isinstance(X, (str, os.PathLike)):
            if dataset is None:
                raise InvalidArgumentError("X is a file path; pass dataset= (the path of the activations in the HDF5 file)")
            return _h5_columns(X, dataset)
        shape = np.shape(X)
        return int(shape[1]) if len(shape) == 2 else None

    def fit(self, X, y=None, *, epochs=1, dataset=None, callback=None, resume=False, shuffle=True, comm=None,
            **deprecated):
        """Trains on X: an array (n, d_in) of float32, float16 or bfloat16 (a uint16 array of bfloat16
        bits, or an ml_dtypes bfloat16 array), or the path of an HDF5 file with `dataset` the path of a
        rank-2 dataset in it (streamed in row chunks), or an activation store directory
        (lamina.io.ActivationStore) with `dataset` one of its names (fed through lamina.io.StoreReader's
        shuffle with random_state as seed). Starts from a fresh initialisation (the current
        parameters) unless resume=True (then training continues from the current data position -- e.g.
        after load_checkpoint -- until `epochs` epochs are complete); weights given by set_weights before
        a first fit are its starting point. y is ignored.

        callback(info) is called after every step with a dict (step, total_steps, tokens, loss,
        tokens_per_second and the loss terms fvu, auxk, mse, sparsity, l0, dead_fraction, lr); returning
        True stops training after that step and raises lamina.CancelledError (the model keeps the last
        completed step). verbose=True (the parameter) prints a progress line on stderr.

        shuffle=False (arrays only) takes the rows in order: batch i is rows [i B, (i+1) B).
        comm (an mpi4py communicator) makes this a data-parallel run: every rank calls fit with the same
        parameters and its own rows (or the same file); batch_size is the global batch, each rank
        contributing its share; every rank ends with the same model (lamina.distributed, include/lamina.h
        section 16)."""
        if comm is not None:
            from . import distributed
            return distributed.fit(self, X, comm, epochs=epochs, dataset=dataset, callback=callback, resume=resume,
                                   shuffle=shuffle, **deprecated)
        return self._fit(X, epochs=epochs, dataset=dataset, callback=callback, resume=resume, shuffle=shuffle,
                         **deprecated)

    def _fit(self, X, *, epochs=1, dataset=None, callback=None, resume=False, shuffle=True, reducer=None,
             prepared=None, **deprecated):
        verbose = renamed_kwarg("SparseAutoencoder.fit", deprecated, "progress", "verbose", self.verbose, self.verbose)
        reject_unknown("SparseAutoencoder.fit", deprecated)
        epochs = _clamp32(_int(epochs, "epochs", 1))
        if isinstance(X, (str, os.PathLike)):
            d_in = self._data_columns(X, dataset)
        else:
            X, code = _training_array(X)
            d_in = X.shape[1]
        handle = getattr(self, "_handle", None)
        if handle is not None and resume and d_in is not None and d_in != self._d_in():
            raise ShapeMismatchError(f"X has {d_in} features, but SparseAutoencoder is expecting {self._d_in()} "
                                     f"features as input (this SAE has d_in = {self._d_in()})")
        if handle is None or not resume:
            params = self._params(d_in)   # validates every parameter before any work
            if reducer is None and not isinstance(X, (str, os.PathLike)) and 0 < X.shape[0] < params.batch_size:
                raise InvalidArgumentError(f"the training data has {X.shape[0]} rows (n_samples = {X.shape[0]}), "
                                           f"fewer than batch_size = {params.batch_size}; lower batch_size")
            if handle is None or self._state()[0] > 0 or bytes(params) != getattr(self, "_handle_params", None):
                self._create(d_in)
        if prepared is not None:
            prepared()   # distributed: every rank got here (no rank is left waiting in a reduction)
        N.call("lamina_sae_set_shuffle", self._handle, 1 if shuffle else 0)
        if reducer is not None:
            N.call("lamina_sae_set_reducer", self._handle, reducer.fn, None, reducer.rank, reducer.size)
        try:
            with progress_callback("sae", callback, verbose, _PROGRESS_FIELDS, extra=_PROGRESS_LINE,
                                   false_warns=True) as progress:
                if isinstance(X, (str, os.PathLike)):
                    N.call("lamina_sae_train_h5", self._handle, os.fsencode(X), N.dataset_name(dataset), epochs,
                           progress.fn, None)
                else:
                    N.call("lamina_sae_train", self._handle, X.ctypes.data_as(ctypes.c_void_p), code,
                           X.shape[0], X.shape[1], epochs, progress.fn, None)
        finally:
            if reducer is not None:
                N.call("lamina_sae_set_reducer", self._handle, N.ReduceFn(), None, 0, 1)
        self._saved_progress = None
        self.n_features_in_ = self._d_in()
        return self

    def partial_fit(self, X, y=None, *, epochs=1, dataset=None, callback=None, **deprecated):
        """fit(..., resume=True): continues training (starts one if there is no model yet)."""
        return self.fit(X, epochs=epochs, dataset=dataset, callback=callback, resume=True, **deprecated)

    # -- inference ---------------------------------------------------------------------------------

    def _d_in(self):
        p = N.SAEParams()
        N.call("lamina_sae_get_params", self._fitted(), ctypes.byref(p))
        return int(p.d_in)

    def _n_latents(self):
        p = N.SAEParams()
        N.call("lamina_sae_get_params", self._fitted(), ctypes.byref(p))
        return int(p.n_latents)

    def _x(self, X, name="X"):
        self._fitted()
        x = as_matrix(X, name)
        d = self._d_in()
        if x.shape[1] != d:
            raise ShapeMismatchError(f"{name} has {x.shape[1]} features, but SparseAutoencoder is expecting {d} "
                                     f"features as input (this SAE has d_in = {d})")
        return x

    def encode(self, X, sparse=False, width=None):
        """Codes of X. Dense: (n, n_latents) float32. sparse=True: (indices int32 (n, width), values float32
        (n, width)) sorted by value, width = k for topk (else the widest row, or `width`); unused slots have
        index -1 and value 0."""
        x = self._x(X)
        n = x.shape[0]
        if not sparse:
            out = np.empty((n, self._n_latents()), dtype=np.float32)
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

    def transform(self, X):
        """encode(X): the dense codes (n, n_latents) float32."""
        return self.encode(X)

    def fit_transform(self, X, y=None, **fit_params):
        return self.fit(X, **fit_params).encode(X)

    def decode(self, Z):
        """x_hat from dense codes (n, n_latents) or from a sparse pair (indices, values)."""
        d_in = self._d_in()
        if isinstance(Z, tuple):
            idx = np.ascontiguousarray(Z[0], dtype=np.int32)
            val = N.as_matrix(Z[1], "values")
            if idx.shape != val.shape:
                raise ShapeMismatchError(f"indices has shape {idx.shape} and values {val.shape}; expected the same")
            out = np.empty((val.shape[0], d_in), dtype=np.float32)
            N.call("lamina_sae_decode_sparse", self._handle, N.iptr(idx), N.fptr(val), val.shape[0], val.shape[1],
                   N.fptr(out), out.size)
            return out
        z = as_matrix(Z, "Z")
        n_latents = self._n_latents()
        if z.shape[1] != n_latents:
            raise ShapeMismatchError(f"Z has {z.shape[1]} columns; this SAE has n_latents = {n_latents}")
        out = np.empty((z.shape[0], d_in), dtype=np.float32)
        N.call("lamina_sae_decode", self._handle, N.fptr(z), z.shape[0], z.shape[1], N.fptr(out), out.size)
        return out

    inverse_transform = decode

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
        freq = np.empty(self._n_latents(), dtype=np.float64)
        N.call("lamina_sae_evaluate", self._handle, N.fptr(x), x.shape[0], x.shape[1], ctypes.byref(m), N.dptr(freq))
        out = {name: getattr(m, name) for name, _ in N.SAEMetrics._fields_[:8]}
        out["firing_frequency"] = freq
        if m.n_prefixes:
            out["prefix_fvu"] = [float(m.prefix_fvu[g]) for g in range(m.n_prefixes)]
        return out

    def evaluate_suite(self, X, y=None, *, k_values=(1, 2, 5, 10, 20, 50), dense_threshold=0.1, test_size=0.2,
                       C=1.0, random_state=0, chunk_rows=None, path=None):
        """Held-out evaluation streamed over row chunks of X (any 2-D array-like: numpy, memmap, h5py
        dataset): fvu, SAEBench's explained_variance / explained_variance_legacy / cossim, shrinkage
        (l2_ratio, relative_reconstruction_bias), l0 / l1, feature density (dead, dense, histogram of
        log10 density) and, given labels y, SAEBench-style k-sparse probing. path: also write the
        result in SAEBench's JSON layout. Definitions: lamina.sae_eval."""
        from .sae_eval import evaluate_suite
        self._fitted()
        return evaluate_suite(self, X, y, k_values=k_values, dense_threshold=dense_threshold, test_size=test_size,
                              C=C, random_state=random_state, chunk_rows=chunk_rows, path=path)

    def score(self, X, y=None):
        """Explained variance of the reconstruction (1 - fvu); higher is better."""
        return 1.0 - self.evaluate(X)["fvu"]

    def latent_statistics(self, X, *, top_n=20, dataset=None, row_offset=0, accumulate=None, callback=None):
        """Per-latent statistics of X in one streamed pass (lamina.dashboard.latent_statistics)."""
        from .dashboard import latent_statistics  # noqa: PLC0415
        return latent_statistics(self, X, top_n=top_n, dataset=dataset, row_offset=row_offset,
                                 accumulate=accumulate, callback=callback)

    def dashboard(self, X, texts=None, tokens=None, path="out/dashboard", **kwargs):
        """Writes a static HTML dashboard of the latents on X (lamina.dashboard.dashboard); returns the
        path of its index.html."""
        from .dashboard import dashboard  # noqa: PLC0415
        return dashboard(self, X, texts=texts, tokens=tokens, path=path, **kwargs)

    # -- weights -----------------------------------------------------------------------------------

    def _weights(self):
        handle = self._fitted()
        d, n = self._d_in(), self._n_latents()
        w_enc = np.empty((d, n), np.float32)
        b_enc = np.empty(n, np.float32)
        w_dec = np.empty((n, d), np.float32)
        b_dec = np.empty(d, np.float32)
        thr = np.empty(n, np.float32)
        N.call("lamina_sae_get_weights", handle, N.fptr(w_enc), N.fptr(b_enc), N.fptr(w_dec), N.fptr(b_dec),
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
        resets the training state; allocates the model if there is none yet (d_in from W_enc when the
        parameter is None)."""
        w_enc_shape = np.shape(W_enc)
        if getattr(self, "_handle", None) is None:
            self._create(int(w_enc_shape[0]) if len(w_enc_shape) == 2 else None)
        d, n = self._d_in(), self._n_latents()
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
        self.n_features_in_ = d
        self._saved_progress = None
        return self

    @property
    def history_(self):
        saved = getattr(self, "_saved_progress", None)
        if saved is not None:
            return {k: v.copy() for k, v in saved["history"].items()}
        steps = self._state()[0]
        buf = np.empty(steps * 8, dtype=np.float64)
        N.call("lamina_sae_get_history", self._handle, N.dptr(buf), buf.size)
        buf = buf.reshape(steps, 8)
        return {name: buf[:, i].copy() for i, name in enumerate(_HISTORY)}

    @property
    def n_steps_(self):
        saved = getattr(self, "_saved_progress", None)
        return saved["n_steps"] if saved is not None else self._state()[0]

    @property
    def n_tokens_(self):
        saved = getattr(self, "_saved_progress", None)
        return saved["n_tokens"] if saved is not None else self._state()[1]

    @property
    def input_scale_(self):
        return self._state()[4]

    # -- pickling ----------------------------------------------------------------------------------

    def _native_state(self):
        w_enc, b_enc, w_dec, b_dec, thr = self._weights()
        return {"W_enc": w_enc, "b_enc": b_enc, "W_dec": w_dec, "b_dec": b_dec, "threshold": thr,
                "params": bytes(self._handle_params_now()),
                "progress": {"history": self.history_, "n_steps": self.n_steps_, "n_tokens": self.n_tokens_}}

    def _handle_params_now(self):
        p = N.SAEParams()
        N.call("lamina_sae_get_params", self._handle, ctypes.byref(p))
        return p

    def _restore_native(self, state):
        p = N.SAEParams.from_buffer_copy(state["params"])
        handle = N.Handle("lamina_sae_create", "lamina_sae_free", ctypes.byref(p))
        arrays = [np.ascontiguousarray(state[k], dtype=np.float32) for k in ("W_enc", "b_enc", "W_dec", "b_dec",
                                                                             "threshold")]
        N.call("lamina_sae_set_weights", handle, *(N.fptr(a) for a in arrays))
        self._handle = handle
        self._handle_params = None   # the next fit (resume=False) starts afresh from the parameters
        self._saved_progress = state["progress"]

    # -- files -------------------------------------------------------------------------------------

    def save(self, path, format="saelens"):
        """Saves into the directory `path` (created with its missing parents), atomically file by file.
        format="saelens": sae_weights.safetensors (W_enc [d_in, d_sae], W_dec [d_sae, d_in], b_enc, b_dec,
        threshold for jumprelu/batchtopk) + cfg.json as SAELens writes them; format="sparsify":
        sae.safetensors (encoder.weight, encoder.bias, W_dec, b_dec) + cfg.json (topk only)."""
        code = N.option(format, _FORMATS, "format")
        handle = self._fitted()
        _make_parents(path)
        N.call("lamina_sae_save", handle, os.fsencode(path), code)
        return self

    def save_checkpoint(self, path):
        """Writes the full training state (weights, Adam moments, data position, history) to the file
        `path` atomically (missing parent directories are created); load_checkpoint(path).fit(X,
        epochs=E, resume=True) then finishes exactly like an uninterrupted fit(X, epochs=E)."""
        handle = self._fitted()
        _make_parents(path)
        N.call("lamina_sae_save_checkpoint", handle, os.fsencode(path))
        return self

    @classmethod
    def _from_handle(cls, handle):
        p = N.SAEParams()
        N.call("lamina_sae_get_params", handle, ctypes.byref(p))
        obj = cls(int(p.d_in), int(p.n_latents),
                  architecture={v: k for k, v in _ARCH.items()}[p.architecture], k=int(p.k),
                  lr=float(p.lr) if p.lr > 0 else None, batch_size=int(p.batch_size),
                  adam_betas=(float(p.adam_beta1), float(p.adam_beta2)), adam_eps=float(p.adam_eps),
                  auxk_alpha=float(p.auxk_alpha), k_aux=int(p.k_aux) or None, dead_tokens=int(p.dead_tokens),
                  l1_coefficient=float(p.l1_coefficient), l1_warmup_steps=int(p.l1_warmup_steps),
                  jumprelu_init_threshold=float(p.jumprelu_init_threshold),
                  jumprelu_bandwidth=float(p.jumprelu_bandwidth), threshold_rate=float(p.threshold_rate),
                  warmup_steps=int(p.warmup_steps), decay={v: k for k, v in _DECAY.items()}[p.decay],
                  decay_steps=int(p.decay_steps) or None, grad_clip=float(p.grad_clip) or None,
                  b_dec_init={v: k for k, v in _BDEC.items()}[p.b_dec_init],
                  init={v: k for k, v in _INIT.items()}[p.init], normalize_input=bool(p.normalize_input), random_state=int(p.seed),
                  group_widths=[int(p.group_widths[g]) for g in range(p.n_groups)] or None,
                  group_weights=[float(p.group_weights[g]) for g in range(p.n_groups)]
                  if any(p.group_weights[g] for g in range(p.n_groups)) else None)
        obj._handle = handle
        obj._handle_params = bytes(p)
        obj._saved_progress = None
        obj.n_features_in_ = int(p.d_in)
        return obj


def _make_parents(path):
    parent = os.path.dirname(os.path.abspath(os.fsdecode(path)))
    if parent and not os.path.isdir(parent):
        try:
            os.makedirs(parent, exist_ok=True)
        except OSError as exc:
            raise LaminaIOError(f"cannot create the parent directory of {os.fsdecode(path)}: {exc}") from None


_FORMATS = {"saelens": 0, "sparsify": 1}


def load(path):
    """Loads an SAE saved by `SparseAutoencoder.save` (or by SAELens / sparsify) from the directory `path`.
    A VL-SAE directory is refused with a FormatError naming `load_vlsae`."""
    return SparseAutoencoder._from_handle(N.Handle("lamina_sae_load", "lamina_sae_free", os.fsencode(path)))


def load_checkpoint(path):
    """Loads a training checkpoint written by `save_checkpoint`; continue with fit(..., resume=True)."""
    return SparseAutoencoder._from_handle(N.Handle("lamina_sae_load_checkpoint", "lamina_sae_free", os.fsencode(path)))


# VL-SAE (experimental): one sparse concept space for two modalities (lamina/_vlsae.py).
from ._vlsae import _MODALITIES, VLSparseAutoencoder, load_vlsae, load_vlsae_checkpoint  # noqa: E402

__all__ += ["VLSparseAutoencoder", "load_vlsae", "load_vlsae_checkpoint"]
from ._vlalign import VLAlignment  # noqa: E402

__all__ += ["VLAlignment"]
