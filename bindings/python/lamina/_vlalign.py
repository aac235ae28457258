"""The VL-SAE's alignment stage (experimental; reached as lamina.sae.VLAlignment).

For models whose two modalities are not aligned already (LLaVA-style hidden states) or whose widths
differ, VLAlignment learns one linear projection per modality to a common width d_common; the fitted
stage is then given to the VL-SAE, which encodes normalise(P_m x) with the shared encoder while each
decoder still reconstructs its modality's raw input:

    from lamina.sae import VLAlignment, VLSparseAutoencoder
    align = VLAlignment(d_common=256).fit(V, T, epochs=20)      # V (n, d_vision), T (n, d_text)
    align.retrieval_accuracy(V, T)                             # top-1 pair retrieval in the common space
    vl = VLSparseAutoencoder(projections=align).fit(V, T)      # or projections=(P_vision, P_text)

Loss on a batch of B pairs (x^ = x / ||x||; u_m = normalise(P_m x^_m); L = u_v u_t^T / temperature):
    InfoNCE = (CE(L, diag) + CE(L^T, diag)) / 2          (symmetric, CLIP's)
    R_m = 1/B sum_i ||P_m^T P_m x^_m,i - x^_m,i||^2     (tied reconstruction)
    loss = InfoNCE + recon_weight (R_v + R_t)
Defaults (Lamina's; the paper has no such stage): temperature 0.07, recon_weight 0.1, lr 1e-3,
batch_size 256, epochs 20, d_common = min(d_vision, d_text). Adam (torch's), seeded, deterministic for
the same seed and thread count.
"""
from __future__ import annotations

import ctypes

import numpy as np

from . import _native as N
from ._base import LaminaEstimator, as_matrix, check_float, check_int, check_seed, progress_callback
from .errors import InvalidArgumentError, NotFittedError, ShapeMismatchError

__all__ = ["VLAlignment"]

_MODALITIES = {"vision": 0, "text": 1}
_PROGRESS_FIELDS = {"step": "step", "total_steps": "total_steps", "pairs": "items", "loss": "loss",
                    "pairs_per_second": "items_per_second"}
_PROGRESS_LINE = (("infonce", ".4f"), ("recon_vision", ".4f"), ("recon_text", ".4f"), ("pairs_per_second", ".0f"))
_HISTORY = ("loss", "infonce", "recon_vision", "recon_text", "lr")


def _training_array(X, name):
    from ._vlsae import _training_array as t
    return t(X, name)


class VLAlignment(LaminaEstimator):
    """Learned input projections P_vision (d_common x d_vision), P_text (d_common x d_text) for a VL-SAE,
    trained with a symmetric InfoNCE loss plus a tied reconstruction (see the module docstring).

    Parameters: d_common (default min(d_vision, d_text)), temperature (> 0, default 0.07), recon_weight
    (>= 0, default 0.1), lr, batch_size (>= 2), random_state, verbose, callback (callback(info) after every
    step; returning True stops the fit with CancelledError)."""

    _lamina_tags = {"non_deterministic": False}

    def __init__(self, d_common=None, *, temperature=0.07, recon_weight=0.1, lr=1e-3, batch_size=256,
                 random_state=0, verbose=False, callback=None):
        self.d_common = d_common
        self.temperature = temperature
        self.recon_weight = recon_weight
        self.lr = lr
        self.batch_size = batch_size
        self.random_state = random_state
        self.verbose = verbose
        self.callback = callback

    def initialize(self, d_vision, d_text):
        """Allocates the seeded initial projections without training; returns self."""
        dv = check_int(d_vision, "d_vision", 1, bits=64)
        dt = check_int(d_text, "d_text", 1, bits=64)
        dc = min(dv, dt) if self.d_common is None else check_int(self.d_common, "d_common", 1, bits=64)
        temp = check_float(self.temperature, "temperature", finite=True)
        if not temp > 0:
            raise InvalidArgumentError(f"temperature={self.temperature!r}; expected a finite value > 0")
        rw = check_float(self.recon_weight, "recon_weight", finite=True)
        if not rw >= 0:
            raise InvalidArgumentError(f"recon_weight={self.recon_weight!r}; expected a finite value >= 0")
        lr = check_float(self.lr, "lr", finite=True, positive=True)
        bs = check_int(self.batch_size, "batch_size", 2, bits=32)
        self._handle = N.Handle("lamina_vlalign_create", "lamina_vlalign_free", dv, dt, dc, temp, rw, lr, bs,
                                check_seed(self.random_state))
        self._dims = (dv, dt, dc)
        return self

    def _fitted(self):
        handle = getattr(self, "_handle", None)
        if handle is None:
            raise NotFittedError("This VLAlignment instance is not fitted yet. Call 'fit' before using it.")
        return handle

    def fit(self, V, T, *, epochs=20, resume=False):
        """Learns the projections on the pairs (V[i], T[i]) (n >= 2; float32, float16 or bfloat16, the same
        dtype for both). A fresh seeded stage unless resume=True."""
        epochs = check_int(epochs, "epochs", 1, bits=32)
        V, cv = _training_array(V, "V")
        T, ct = _training_array(T, "T")
        if cv != ct:
            raise InvalidArgumentError(f"V and T have different dtypes ({V.dtype}, {T.dtype}); expected the same")
        if V.shape[0] != T.shape[0]:
            raise ShapeMismatchError(f"V has {V.shape[0]} rows but T has {T.shape[0]}; expected paired rows")
        if not resume or getattr(self, "_handle", None) is None:
            self.initialize(V.shape[1], T.shape[1])
        with progress_callback("vlalign", self.callback, self.verbose, _PROGRESS_FIELDS, extra=_PROGRESS_LINE) as progress:
            N.call("lamina_vlalign_train", self._handle, V.ctypes.data_as(ctypes.c_void_p),
                   T.ctypes.data_as(ctypes.c_void_p), cv, V.shape[0], V.shape[1], T.shape[1], epochs, progress.fn, None)
        return self

    def _get(self, name):
        dv, dt, dc = self._dims
        out = np.empty((dc, dv if name == "P_vision" else dt), dtype=np.float32)
        N.call("lamina_vlalign_get_tensor", self._fitted(), name.encode(), N.fptr(out), out.size)
        return out

    @property
    def projection_vision_(self):
        """P_vision (d_common, d_vision) float32, a copy."""
        return self._get("P_vision")

    @property
    def projection_text_(self):
        """P_text (d_common, d_text) float32, a copy."""
        return self._get("P_text")

    @property
    def projections_(self):
        """(P_vision, P_text), as VLSparseAutoencoder(projections=...) takes them."""
        return self.projection_vision_, self.projection_text_

    def set_projections(self, P_vision, P_text):
        """Replaces both projections (finite, their current shapes); the Adam state is kept."""
        for name, P in (("P_vision", P_vision), ("P_text", P_text)):
            a = as_matrix(P, name)
            want = self._get(name).shape
            if a.shape != want:
                raise ShapeMismatchError(f"{name} has shape {a.shape}; expected {want}")
            N.call("lamina_vlalign_set_tensor", self._handle, name.encode(), N.fptr(a), a.size)
        return self

    def transform(self, X, modality="vision"):
        """P_m x for each row of X (n, d_m): (n, d_common) float32 (not normalised)."""
        code = N.option(modality, _MODALITIES, "modality")
        self._fitted()
        x = as_matrix(X, "X")
        dv, dt, dc = self._dims
        d = dv if code == 0 else dt
        if x.ndim != 2 or x.shape[1] != d:
            raise ShapeMismatchError(f"X has {x.shape[1]} features; this alignment has d_{modality} = {d}")
        out = np.empty((x.shape[0], dc), dtype=np.float32)
        N.call("lamina_vlalign_transform", self._handle, code, N.fptr(x), x.shape[0], x.shape[1], N.fptr(out), out.size)
        return out

    def loss_grad(self, V, T):
        """The loss of the batch (V, T) at the current projections and its gradient, without a step:
        ({"loss", "infonce", "recon_vision", "recon_text"}, dloss/dP_vision, dloss/dP_text)."""
        self._fitted()
        v = as_matrix(V, "V")
        t = as_matrix(T, "T")
        dv, dt, dc = self._dims
        terms = np.zeros(4, dtype=np.float64)
        gv = np.empty((dc, dv), dtype=np.float32)
        gt = np.empty((dc, dt), dtype=np.float32)
        if v.shape[0] != t.shape[0]:
            raise ShapeMismatchError(f"V has {v.shape[0]} rows but T has {t.shape[0]}; expected paired rows")
        N.call("lamina_vlalign_loss_grad", self._handle, N.fptr(v), N.fptr(t), v.shape[0], v.shape[1], t.shape[1],
               N.dptr(terms), N.fptr(gv), gv.size, N.fptr(gt), gt.size)
        return dict(zip(("loss", "infonce", "recon_vision", "recon_text"), map(float, terms))), gv, gt

    def retrieval_accuracy(self, V, T):
        """Top-1 pair retrieval in the common space: the mean of (fraction of rows i whose nearest text by
        cosine is T[i]) and (the same text -> image). Chance is 1/n."""
        return retrieval_accuracy(self.transform(V, "vision"), self.transform(T, "text"))

    @property
    def history_(self):
        """Per-step history: a dict of arrays (loss, infonce, recon_vision, recon_text, lr)."""
        steps = ctypes.c_int64()
        N.call("lamina_vlalign_get_state", self._fitted(), ctypes.byref(steps), None)
        out = np.zeros((steps.value, len(_HISTORY)), dtype=np.float64)
        N.call("lamina_vlalign_get_history", self._handle, N.dptr(out), out.size)
        return {name: out[:, i].copy() for i, name in enumerate(_HISTORY)}

    def _native_state(self):
        return {"dims": self._dims, "P_vision": self.projection_vision_, "P_text": self.projection_text_}

    def _restore_native(self, state):
        self.initialize(state["dims"][0], state["dims"][1])
        self.set_projections(state["P_vision"], state["P_text"])


def retrieval_accuracy(A, B):
    """Mean top-1 retrieval accuracy of paired rows (A[i], B[i]) by cosine, both directions."""
    a = np.asarray(A, dtype=np.float64)
    b = np.asarray(B, dtype=np.float64)
    a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-300)
    b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-300)
    n = a.shape[0]
    hits_ab = hits_ba = 0
    for s in range(0, n, 1024):
        hits_ab += int(np.sum(np.argmax(a[s:s + 1024] @ b.T, axis=1) == np.arange(s, min(n, s + 1024))))
        hits_ba += int(np.sum(np.argmax(b[s:s + 1024] @ a.T, axis=1) == np.arange(s, min(n, s + 1024))))
    return (hits_ab + hits_ba) / (2 * n) if n else float("nan")
