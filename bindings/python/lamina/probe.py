"""Linear probes with scikit-learn's interface: what does a layer encode?

``LogisticProbe`` minimises exactly the objective of sklearn.linear_model.LogisticRegression
(penalty="l2", solver="lbfgs")::

    f(W, b) = sum_i s_i l_i / S + ||W||^2 / (2 C S),     S = sum_i s_i

with l_i the multinomial cross-entropy (>= 3 classes; ``coef_`` is K x d), the binary log-loss (2
classes; ``coef_`` is 1 x d, the larger label positive) or, with ``multi_label=True``, one sigmoid per
label (one-vs-rest), s_i the sample weight times the class weight, the intercept unpenalised. Solved by
L-BFGS (scipy's L-BFGS-B stopping rules: max|grad| <= tol or max_iter iterations) over a fused float32
gemm / float64 loss-and-gradient pass. ``RidgeProbe`` is sklearn.linear_model.Ridge in closed form.

Also here: ``layer_sweep`` (stratified k-fold accuracy of a probe for every layer in one call),
control tasks and selectivity (Hewitt & Liang 2019), online MDL codelength (Voita & Titov 2020),
GAP@k and Hit@1 (YouTube-8M), few-shot accuracy, mean-difference / PCA directions and their
application (GrAInS-style norm preservation), and INLP nullspace projection (Ravfogel et al. 2020).
"""
from __future__ import annotations

import ctypes

import numpy as np

from . import _native as N
from ._base import (ClassifierMixin, LaminaEstimator, RegressorMixin, TransformerMixin, as_matrix, check_finite, check_float, check_int, check_y,
                    check_seed, encode_labels, renamed_kwargs)
from .errors import InvalidArgumentError, ShapeMismatchError

__all__ = ["LogisticProbe", "RidgeProbe", "r2_score", "stratified_kfold", "layer_sweep", "SweepResult",
           "control_task_labels", "selectivity", "mdl_online_codelength", "MDLResult", "gap_at_k", "hit_at_1",
           "few_shot_accuracy", "mean_difference_direction", "pca_direction", "apply_direction", "INLP",
           "STANDARD_MDL_FRACTIONS"]

_CLASS_WEIGHT = {None: 0, "balanced": 1}


def _int(value, name, lo=None):
    return check_int(value, name, lo, bits=32)


def _float(value, name):
    return check_float(value, name)


def _weights(sample_weight, n, name="sample_weight"):
    if sample_weight is None:
        return None
    w = np.ascontiguousarray(np.asarray(sample_weight, dtype=np.float64).reshape(-1))
    if w.shape[0] != n:
        raise ShapeMismatchError(f"{name} has {w.shape[0]} values; expected n_samples = {n}")
    if w.size and np.all(w == 0):
        raise InvalidArgumentError(f"{name} sums to 0: every weight is zero; expected a positive total weight")
    return w


def _optional_dptr(arr):
    return N.dptr(arr) if arr is not None else None


class LogisticProbe(ClassifierMixin, LaminaEstimator):
    """L2-penalised logistic regression probe, the solution of scikit-learn's LogisticRegression.

    Parameters: C (> 0), max_iter, tol (stop when max|grad| <= tol), class_weight (None, "balanced" =
    S / (K S_c), or a dict {label: weight}), standardize (z-score features on the training data first;
    ``coef_`` is then in the standardised space, ``mean_``/``scale_`` hold the scaler), multi_label
    (y is an (n, L) 0/1 indicator matrix; one sigmoid per label), fit_intercept.

    Attributes after fit: coef_ (n_outputs, n_features) float64, intercept_ (n_outputs,), classes_,
    n_features_in_, n_iter_ (array of one value, as sklearn), loss_ (objective at the solution),
    converged_.
    """

    def __init__(self, C=1.0, *, max_iter=100, tol=1e-4, class_weight=None, standardize=False,
                 multi_label=False, fit_intercept=True):
        self.C = C
        self.max_iter = max_iter
        self.tol = tol
        self.class_weight = class_weight
        self.standardize = standardize
        self.multi_label = multi_label
        self.fit_intercept = fit_intercept

    def _params(self):
        p = N.lib.lamina_logistic_probe_default_params()
        p.C = _float(self.C, "C")
        p.max_iter = _int(self.max_iter, "max_iter")
        p.tol = _float(self.tol, "tol")
        if isinstance(self.class_weight, dict):
            p.class_weight = 2
        elif self.class_weight is None or (isinstance(self.class_weight, str) and self.class_weight == "balanced"):
            p.class_weight = _CLASS_WEIGHT[self.class_weight]
        else:
            raise InvalidArgumentError(f"class_weight={self.class_weight!r}; expected None, 'balanced' or a dict")
        p.standardize = int(bool(self.standardize))
        p.multi_label = int(bool(self.multi_label))
        p.fit_intercept = int(bool(self.fit_intercept))
        N.call("lamina_logistic_probe_check_params", ctypes.byref(p))
        return p

    def fit(self, X, y, sample_weight=None):
        params = self._params()
        x = as_matrix(X)
        check_y(y, "LogisticProbe", classifier=not self.multi_label)
        handle = N.Handle("lamina_logistic_probe_create", "lamina_logistic_probe_free", ctypes.byref(params))
        w = _weights(sample_weight, x.shape[0])
        if self.multi_label:
            Y = np.asarray(y)
            if Y.ndim != 2:
                raise InvalidArgumentError(f"multi_label=True needs y as an (n_samples, n_labels) 0/1 matrix, got shape {Y.shape}")
            if Y.shape[0] != x.shape[0]:
                raise ShapeMismatchError(f"Found input variables with inconsistent numbers of samples: {[x.shape[0], Y.shape[0]]}")
            Y8 = np.ascontiguousarray(Y != 0, dtype=np.uint8)
            N.call("lamina_logistic_probe_fit_multilabel", handle, N.fptr(x), x.shape[0], x.shape[1],
                   Y8.ctypes.data_as(N.u8p), Y8.shape[1], _optional_dptr(w))
            classes = np.arange(Y8.shape[1])
        else:
            labels, classes = self._encode(y, x.shape[0])
            cw = None
            if isinstance(self.class_weight, dict):
                cw = np.ones(len(classes), dtype=np.float64)
                for i, c in enumerate(classes):
                    key = c.item() if hasattr(c, "item") else c
                    if key in self.class_weight:
                        cw[i] = float(self.class_weight[key])
            N.call("lamina_logistic_probe_fit", handle, N.fptr(x), x.shape[0], x.shape[1], N.iptr(labels),
                   _optional_dptr(w), _optional_dptr(cw), 0 if cw is None else len(cw))
        self._handle = handle  # a failed fit keeps the previous fit; the old handle is freed here
        self._read_fit(classes)
        return self

    @staticmethod
    def _encode(y, n):
        return encode_labels(y, n)

    def _read_fit(self, classes):
        d, k, nc, pc, it, conv = (ctypes.c_int64(), ctypes.c_int32(), ctypes.c_int32(), ctypes.c_int32(),
                                  ctypes.c_int32(), ctypes.c_int32())
        loss = ctypes.c_double()
        N.call("lamina_logistic_probe_get_info", self._handle, ctypes.byref(d), ctypes.byref(k), ctypes.byref(nc),
               ctypes.byref(pc), ctypes.byref(it), ctypes.byref(loss), ctypes.byref(conv))
        self.coef_ = np.empty((k.value, d.value))
        self.intercept_ = np.empty(k.value)
        N.call("lamina_logistic_probe_get_coef", self._handle, N.dptr(self.coef_), self.coef_.size,
               N.dptr(self.intercept_), self.intercept_.size)
        if self.standardize:
            self.mean_ = np.empty(d.value)
            self.scale_ = np.empty(d.value)
            N.call("lamina_logistic_probe_get_scaler", self._handle, N.dptr(self.mean_), N.dptr(self.scale_), d.value)
        self.classes_ = classes
        self.n_features_in_ = int(d.value)
        self.n_iter_ = np.array([it.value], dtype=np.int32)
        self.loss_ = float(loss.value)
        self.converged_ = bool(conv.value)
        self._proba_columns = int(pc.value)

    def _check(self, X):
        self._check_fitted()
        x = as_matrix(X)
        if x.shape[1] != self.n_features_in_:
            raise ShapeMismatchError(f"X has {x.shape[1]} features, but LogisticProbe is expecting "
                                     f"{self.n_features_in_} features as input.")
        return x

    def decision_function(self, X):
        x = self._check(X)
        out = np.empty((x.shape[0], self.coef_.shape[0]))
        N.call("lamina_logistic_probe_decision_function", self._handle, N.fptr(x), x.shape[0], x.shape[1],
               N.dptr(out), out.size)
        return out[:, 0] if out.shape[1] == 1 and not self.multi_label else out

    def predict_proba(self, X):
        x = self._check(X)
        out = np.empty((x.shape[0], self._proba_columns))
        N.call("lamina_logistic_probe_predict_proba", self._handle, N.fptr(x), x.shape[0], x.shape[1],
               N.dptr(out), out.size)
        return out

    def predict_log_proba(self, X):
        return np.log(self.predict_proba(X))

    def predict(self, X):
        x = self._check(X)
        if self.multi_label:
            out = np.empty((x.shape[0], self.coef_.shape[0]), dtype=np.int32)
        else:
            out = np.empty(x.shape[0], dtype=np.int32)
        N.call("lamina_logistic_probe_predict", self._handle, N.fptr(x), x.shape[0], x.shape[1], N.iptr(out), out.size)
        if self.multi_label:
            return out
        return self.classes_[out]   # codes -> original labels

    def score(self, X, y, sample_weight=None):
        """Mean accuracy (multi-label: exact-match ratio); with sample_weight, the weighted mean."""
        pred = self.predict(X)
        y = np.asarray(y)
        if self.multi_label:
            hits = np.all(pred == (y != 0), axis=1)
        else:
            if y.shape[0] != pred.shape[0]:
                raise ShapeMismatchError(f"Found input variables with inconsistent numbers of samples: {[pred.shape[0], y.shape[0]]}")
            hits = pred == y.reshape(-1)
        return float(np.average(hits, weights=sample_weight))

    # -- pickling ----------------------------------------------------------------------------------

    def _native_state(self):
        state = {"coef": self.coef_.copy(), "intercept": self.intercept_.copy(), "multi_label": bool(self.multi_label),
                 "n_classes": 0 if self.multi_label else len(self.classes_)}
        if self.standardize:
            state["mean"], state["scale"] = self.mean_.copy(), self.scale_.copy()
        return state

    def _restore_native(self, state):
        params = self._params()
        params.multi_label = int(state["multi_label"])
        handle = N.Handle("lamina_logistic_probe_create", "lamina_logistic_probe_free", ctypes.byref(params))
        coef = np.ascontiguousarray(state["coef"], dtype=np.float64)
        intercept = np.ascontiguousarray(state["intercept"], dtype=np.float64)
        mean = scale = None
        if "mean" in state:
            mean = np.ascontiguousarray(state["mean"], dtype=np.float64)
            scale = np.ascontiguousarray(state["scale"], dtype=np.float64)
        k = state["n_classes"]
        codes = np.arange(k, dtype=np.int32)   # fit passes codes 0..K-1; classes_ maps them back
        N.call("lamina_logistic_probe_set_coef", handle, N.dptr(coef), N.dptr(intercept), coef.shape[0], coef.shape[1],
               _optional_dptr(mean), _optional_dptr(scale), N.iptr(codes) if k else None, k)
        self._handle = handle


class RidgeProbe(RegressorMixin, LaminaEstimator):
    """Ridge regression probe for continuous targets (sklearn.linear_model.Ridge, solver "cholesky"):
    minimises sum_i s_i ||y_i - W x_i - b||^2 + alpha ||W||^2, intercept unpenalised, in closed form
    (centred float64 normal equations). score() is R^2 (sklearn's r2_score, uniform average)."""

    def __init__(self, alpha=1.0, *, fit_intercept=True):
        self.alpha = alpha
        self.fit_intercept = fit_intercept

    _lamina_tags = {"multioutput": True}

    def _is_fitted(self):
        return hasattr(self, "coef_")

    def fit(self, X, y, sample_weight=None):
        x = as_matrix(X)
        Y = np.asarray(check_y(y, "RidgeProbe"), dtype=np.float64)
        single = Y.ndim == 1
        Y2 = np.ascontiguousarray(Y.reshape(-1, 1) if single else Y)
        if Y2.ndim != 2:
            raise InvalidArgumentError(f"y must be 1-D or 2-D, got shape {Y.shape}")
        N.check_consistent_length(x, Y2)
        w = _weights(sample_weight, x.shape[0])
        coef = np.empty((Y2.shape[1], x.shape[1]))
        intercept = np.empty(Y2.shape[1])
        N.call("lamina_ridge_fit", N.fptr(x), x.shape[0], x.shape[1], N.dptr(Y2), Y2.shape[1],
               _float(self.alpha, "alpha"), int(bool(self.fit_intercept)), _optional_dptr(w),
               N.dptr(coef), N.dptr(intercept))
        self.coef_ = coef[0] if single else coef
        self.intercept_ = float(intercept[0]) if single else intercept
        self.n_features_in_ = x.shape[1]
        return self

    def predict(self, X):
        self._check_fitted()
        x = np.asarray(check_finite(as_matrix(X)), dtype=np.float64)
        if x.shape[1] != self.n_features_in_:
            raise ShapeMismatchError(f"X has {x.shape[1]} features, but RidgeProbe is expecting {self.n_features_in_} features as input.")
        return x @ np.asarray(self.coef_).T + self.intercept_

    def score(self, X, y, sample_weight=None):
        """R^2 of the predictions (sklearn's r2_score, uniform average over outputs)."""
        if sample_weight is not None:
            raise NotImplementedError("RidgeProbe.score does not support sample_weight")
        return r2_score(y, self.predict(X))


def r2_score(y_true, y_pred):
    """sklearn.metrics.r2_score with multioutput="uniform_average"."""
    a = np.asarray(y_true, dtype=np.float64)
    b = np.asarray(y_pred, dtype=np.float64)
    if a.shape != b.shape:
        raise ShapeMismatchError(f"y_true has shape {a.shape}, y_pred {b.shape}; expected equal shapes")
    a2 = np.ascontiguousarray(a.reshape(a.shape[0], -1))
    b2 = np.ascontiguousarray(b.reshape(b.shape[0], -1))
    out = ctypes.c_double()
    N.call("lamina_r2_score", N.dptr(a2), N.dptr(b2), a2.shape[0], a2.shape[1], ctypes.byref(out))
    return float(out.value)


# ---------------------------------------------------------------------------------------------------
# Stateless probing procedures
# ---------------------------------------------------------------------------------------------------

def _probe_params(C=1.0, max_iter=100, tol=1e-4, class_weight=None, standardize=False):
    if isinstance(class_weight, dict):
        raise InvalidArgumentError("class_weight as a dict is only supported by LogisticProbe.fit; use None or 'balanced'")
    probe = LogisticProbe(C=C, max_iter=max_iter, tol=tol, class_weight=class_weight, standardize=standardize)
    return probe._params()


def _labels(y, n=None, name="y"):
    arr = np.asarray(y)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr.ravel()
    if arr.ndim != 1:
        raise InvalidArgumentError(f"{name} must be 1-D, got an array of shape {arr.shape}")
    if n is not None and arr.shape[0] != n:
        raise ShapeMismatchError(f"Found input variables with inconsistent numbers of samples: {[n, arr.shape[0]]}")
    return N.as_labels(arr, name)


def _seed(random_state, name="random_state"):
    return check_seed(random_state, name)


@renamed_kwargs(seed="random_state")
def stratified_kfold(y, n_splits=5, *, random_state=0):
    """Test-fold index (0..n_splits-1) of every sample. Per-class fold sizes are exactly those of
    sklearn's StratifiedKFold(n_splits, shuffle=True); the shuffle uses Lamina's seeded generator, so
    which sample lands in which fold differs from scikit-learn's numpy draws. Every class needs at
    least n_splits samples."""
    labels = _labels(y)
    out = np.empty(labels.shape[0], dtype=np.int32)
    N.call("lamina_stratified_kfold", N.iptr(labels), labels.shape[0], _int(n_splits, "n_splits"), _seed(random_state), N.iptr(out))
    return out


class SweepResult:
    """Result of layer_sweep: per-layer mean/std accuracy and per-fold accuracies (layers x folds);
    with control types also the control-task figures and selectivity = accuracy - control accuracy."""

    def __init__(self, fold_accuracy, control_fold_accuracy=None):
        self.fold_accuracy = fold_accuracy
        self.mean = fold_accuracy.mean(axis=1)
        self.std = fold_accuracy.std(axis=1)
        self.control_fold_accuracy = control_fold_accuracy
        if control_fold_accuracy is not None:
            self.control_mean = control_fold_accuracy.mean(axis=1)
            self.control_std = control_fold_accuracy.std(axis=1)
            self.selectivity = selectivity(self.mean, self.control_mean)
        else:
            self.control_mean = self.control_std = self.selectivity = None

    def __repr__(self):
        rows = [f"layer {i}: {m:.4f} +- {s:.4f}" + (f"  control {c:.4f}  selectivity {sel:+.4f}" if self.selectivity is not None else "")
                for i, (m, s, c, sel) in enumerate(zip(self.mean, self.std,
                                                       self.control_mean if self.control_mean is not None else self.mean,
                                                       self.selectivity if self.selectivity is not None else self.mean))]
        return "SweepResult(\n  " + "\n  ".join(rows) + "\n)"


def _sweep_call(layers, labels, params, n_splits, seed):
    n = labels.shape[0]
    L = len(layers) if not isinstance(layers, tuple) else len(layers[1])
    fold = np.empty((L, n_splits))
    mean = np.empty(L)
    std = np.empty(L)
    if isinstance(layers, tuple):   # (path, datasets)
        path, datasets = layers
        names = (ctypes.c_char_p * L)(*[N.dataset_name(d) for d in datasets])
        N.call("lamina_layer_sweep_h5", str(path).encode(), names, L, N.iptr(labels), n, ctypes.byref(params),
               n_splits, seed, N.dptr(fold), N.dptr(mean), N.dptr(std))
    else:
        ptrs = (N.f32p * L)(*[N.fptr(x) for x in layers])
        dims = np.array([x.shape[1] for x in layers], dtype=np.int64)
        for i, x in enumerate(layers):
            if x.shape[0] != n:
                raise ShapeMismatchError(f"layer {i} has {x.shape[0]} rows; expected {n} (one per label)")
        N.call("lamina_layer_sweep", ptrs, N.lptr(dims), L, n, N.iptr(labels), ctypes.byref(params), n_splits, seed,
               N.dptr(fold), N.dptr(mean), N.dptr(std))
    return fold


@renamed_kwargs(seed="random_state", control_seed="control_random_state")
def layer_sweep(layers, y, *, datasets=None, n_splits=5, random_state=0, C=1.0, max_iter=100, tol=1e-4,
                class_weight=None, standardize=False, control_types=None, control_random_state=0):
    """Cross-validated probe accuracy for every layer in one call: the figure every probing paper plots.

    layers: a list of (n, d_l) arrays, or the path of an HDF5 file with ``datasets`` (a list of dataset
    paths such as "/target/layer_0"; read by Lamina, float16/bfloat16 widened). y: n labels. Runs
    stratified k-fold (folds as ``stratified_kfold(y, n_splits, random_state=random_state)``, the same for every
    layer) with a LogisticProbe(C, max_iter, tol, class_weight, standardize) per fold, all layer x fold
    fits in parallel. This equals, per layer, ``cross_val_score(LogisticRegression(...), X, y,
    cv=StratifiedKFold(n_splits, shuffle=True))`` up to the fold shuffle.

    control_types: optional n word-type ids (any hashable values, e.g. the words themselves); then the
    sweep also runs on Hewitt & Liang control labels (``control_task_labels(control_types, y,
    control_random_state)``) with the same folds and reports ``selectivity`` = accuracy - control accuracy.
    """
    labels = _labels(y)
    params = _probe_params(C, max_iter, tol, class_weight, standardize)
    k = _int(n_splits, "n_splits")
    s = _seed(random_state)
    if isinstance(layers, (str, bytes)) or hasattr(layers, "__fspath__"):
        if datasets is None or isinstance(datasets, str) or len(datasets) == 0:
            raise InvalidArgumentError("layers is a file path; pass datasets=[...] with the dataset paths of the layers")
        src = (str(layers if not isinstance(layers, bytes) else layers.decode()), list(datasets))
    else:
        if datasets is not None:
            raise InvalidArgumentError("datasets is only used when layers is an HDF5 file path")
        src = [N.as_matrix(x, f"layers[{i}]") for i, x in enumerate(layers)]
        if len(src) == 0:
            raise InvalidArgumentError("layers is empty; expected at least one layer")
    fold = _sweep_call(src, labels, params, k, s)
    control = None
    if control_types is not None:
        control_y = control_task_labels(control_types, labels, random_state=control_random_state)
        control = _sweep_call(src, control_y, params, k, s)
    return SweepResult(fold, control)


@renamed_kwargs(seed="random_state")
def control_task_labels(types, y, *, random_state=0):
    """Hewitt & Liang (2019) control task: each distinct word type gets one label drawn from the
    empirical label distribution (seeded); every sample takes its type's label. ``types`` may be any
    values (strings, ints); returns labels with the values of y."""
    y_arr = np.asarray(y)
    labels = _labels(y_arr)
    t = np.asarray(types)
    if t.ndim != 1 or t.shape[0] != labels.shape[0]:
        raise ShapeMismatchError(f"types has shape {t.shape}; expected ({labels.shape[0]},), one type per sample")
    _, type_ids = np.unique(t, return_inverse=True)
    type_ids = np.ascontiguousarray(type_ids.reshape(-1), dtype=np.int32)
    out = np.empty(labels.shape[0], dtype=np.int32)
    N.call("lamina_control_task_labels", N.iptr(type_ids), N.iptr(labels), labels.shape[0], _seed(random_state), N.iptr(out))
    if y_arr.dtype.kind in "iub" and np.array_equal(labels, y_arr):
        return out.astype(y_arr.dtype, copy=False)
    classes = np.unique(y_arr)
    return classes[out]


def selectivity(task_accuracy, control_accuracy):
    """Hewitt & Liang's selectivity: task accuracy - control accuracy (element-wise)."""
    return np.asarray(task_accuracy, dtype=np.float64) - np.asarray(control_accuracy, dtype=np.float64)


STANDARD_MDL_FRACTIONS = (0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.25, 12.5, 25.0, 50.0, 100.0)


class MDLResult:
    """online_bits, uniform_bits (n log2 K), compression = uniform / online, block_bits (first entry:
    the uniformly coded first block)."""

    def __init__(self, online, uniform, blocks):
        self.online_bits = online
        self.uniform_bits = uniform
        self.compression = uniform / online
        self.block_bits = blocks

    def __repr__(self):
        return (f"MDLResult(online_bits={self.online_bits:.1f}, uniform_bits={self.uniform_bits:.1f}, "
                f"compression={self.compression:.3f})")


@renamed_kwargs(seed="random_state")
def mdl_online_codelength(X, y, *, fractions=None, order=None, random_state=0, C=1.0, max_iter=100, tol=1e-4,
                          class_weight=None, standardize=False):
    """Online (prequential) codelength in bits (Voita & Titov 2020) with a logistic probe.

    Samples are taken in ``order`` (a permutation; default a seeded shuffle). With t_i = floor(n f_i /
    100) for the block fractions (default 0.1, 0.2, 0.4, ..., 50, 100 percent), the first t_1 labels
    cost t_1 log2 K bits and each block [t_i, t_{i+1}) costs sum -log2 p(y|x) under a probe trained on
    [0, t_i) (the uniform code if that prefix lacks a class). Returns an MDLResult."""
    x = N.as_matrix(X)
    labels = _labels(y, x.shape[0])
    params = _probe_params(C, max_iter, tol, class_weight, standardize)
    fr = None
    if fractions is not None:
        fr = np.ascontiguousarray(np.asarray(fractions, dtype=np.float64).reshape(-1))
    o = None
    if order is not None:
        o = np.ascontiguousarray(np.asarray(order).reshape(-1), dtype=np.int64)
        if o.shape[0] != x.shape[0]:
            raise ShapeMismatchError(f"order has {o.shape[0]} entries; expected n = {x.shape[0]}")
    n_blocks = (len(fr) if fr is not None else len(STANDARD_MDL_FRACTIONS)) + 1
    blocks = np.zeros(n_blocks)
    online, uniform, count = ctypes.c_double(), ctypes.c_double(), ctypes.c_int32()
    N.call("lamina_mdl_online_codelength", N.fptr(x), x.shape[0], x.shape[1], N.iptr(labels), ctypes.byref(params),
           N.dptr(fr) if fr is not None else None, 0 if fr is None else len(fr),
           N.lptr(o) if o is not None else None, _seed(random_state), ctypes.byref(online), ctypes.byref(uniform),
           N.dptr(blocks), ctypes.byref(count))
    return MDLResult(float(online.value), float(uniform.value), blocks[:count.value].copy())


def _scores(predictions, actuals):
    p = N.as_matrix(predictions, "predictions")
    a = N.as_matrix(actuals, "actuals")
    if p.shape != a.shape:
        raise ShapeMismatchError(f"predictions has shape {p.shape}, actuals {a.shape}; expected equal shapes")
    return p, a


def gap_at_k(predictions, actuals, k=20):
    """Global Average Precision at k (YouTube-8M's eval_util.calculate_gap): pool every row's top-k
    scores, sort descending, AP over that list normalised by the total number of positive labels."""
    p, a = _scores(predictions, actuals)
    out = ctypes.c_double()
    N.call("lamina_gap_at_k", N.fptr(p), N.fptr(a), p.shape[0], p.shape[1], _int(k, "k"), ctypes.byref(out))
    return float(out.value)


def hit_at_1(predictions, actuals):
    """Hit@1 (YouTube-8M's calculate_hit_at_one): fraction of rows whose top-scored class is positive."""
    p, a = _scores(predictions, actuals)
    out = ctypes.c_double()
    N.call("lamina_hit_at_1", N.fptr(p), N.fptr(a), p.shape[0], p.shape[1], ctypes.byref(out))
    return float(out.value)


@renamed_kwargs(seed="random_state")
def few_shot_accuracy(X_train, y_train, X_test, y_test, k, *, n_draws=10, random_state=0, C=1.0, max_iter=100, tol=1e-4,
                      standardize=False, return_draws=False):
    """Few-shot probe accuracy (as DNABERT-S evaluates embeddings): the mean over ``n_draws`` seeded draws
    of the test accuracy of a probe trained on ``k`` examples per class (drawn without replacement).
    With return_draws=True returns (mean, per-draw accuracies)."""
    xa = N.as_matrix(X_train, "X_train")
    xb = N.as_matrix(X_test, "X_test")
    ya, yb = np.asarray(y_train), np.asarray(y_test)
    if ya.ndim != 1 or ya.shape[0] != xa.shape[0]:
        raise ShapeMismatchError(f"y_train has shape {ya.shape}; expected ({xa.shape[0]},)")
    if yb.ndim != 1 or yb.shape[0] != xb.shape[0]:
        raise ShapeMismatchError(f"y_test has shape {yb.shape}; expected ({xb.shape[0]},)")
    if xa.shape[1] != xb.shape[1]:
        raise ShapeMismatchError(f"X_test has {xb.shape[1]} features; X_train has {xa.shape[1]}")
    _, codes = np.unique(np.concatenate([ya, yb]), return_inverse=True)
    codes = codes.reshape(-1).astype(np.int32)
    ca, cb = np.ascontiguousarray(codes[:len(ya)]), np.ascontiguousarray(codes[len(ya):])
    params = _probe_params(C, max_iter, tol, None, standardize)
    draws = _int(n_draws, "n_draws", 1)
    out = np.empty(draws)
    N.call("lamina_few_shot_accuracy", N.fptr(xa), xa.shape[0], xa.shape[1], N.iptr(ca), N.fptr(xb), xb.shape[0],
           N.iptr(cb), ctypes.byref(params), _int(k, "k"), draws, _seed(random_state), N.dptr(out))
    return (float(out.mean()), out) if return_draws else float(out.mean())


def _pair(A, B):
    a = N.as_matrix(A, "A")
    b = N.as_matrix(B, "B")
    if a.shape[1] != b.shape[1]:
        raise ShapeMismatchError(f"B has {b.shape[1]} features; A has {a.shape[1]}")
    return a, b


def mean_difference_direction(A, B, *, normalize=False):
    """Contrastive direction mean(A) - mean(B) (float64); unit length with normalize=True."""
    a, b = _pair(A, B)
    out = np.empty(a.shape[1])
    N.call("lamina_mean_difference_direction", N.fptr(a), a.shape[0], N.fptr(b), b.shape[0], a.shape[1], N.dptr(out))
    if normalize:
        nrm = np.linalg.norm(out)
        if nrm > 0:
            out /= nrm
    return out


def pca_direction(A, B, *, paired=False):
    """Unit first principal component: of the centred differences A_i - B_i (paired=True, RepE) or of
    the pooled, centred rows of A and B; oriented so that mean(A) projects above mean(B)."""
    a, b = _pair(A, B)
    out = np.empty(a.shape[1])
    N.call("lamina_pca_direction", N.fptr(a), a.shape[0], N.fptr(b), b.shape[0], a.shape[1], int(bool(paired)), N.dptr(out))
    return out


def apply_direction(X, direction, alpha=1.0, *, preserve_norm=False):
    """Steer: X + alpha * direction per row; preserve_norm=True rescales each row to its original norm
    (GrAInS). Returns a new float32 array."""
    x = N.as_matrix(X)
    v = np.ascontiguousarray(np.asarray(direction, dtype=np.float64).reshape(-1))
    if v.shape[0] != x.shape[1]:
        raise ShapeMismatchError(f"direction has {v.shape[0]} values; expected {x.shape[1]} (the features of X)")
    out = np.empty_like(x)
    N.call("lamina_apply_direction", N.fptr(x), x.shape[0], x.shape[1], N.dptr(v), _float(alpha, "alpha"),
           int(bool(preserve_norm)), N.fptr(out))
    return out


class INLP(TransformerMixin, LaminaEstimator):
    """Iterative Nullspace Projection (Ravfogel et al. 2020): repeatedly fit a linear probe, remove its
    row space, until the property is no longer linearly decodable.

    After fit: projection_ (d x d float64, P = I - B^T B, symmetric and idempotent; apply as X @ P),
    accuracies_ (accuracy of each iteration's probe, on the dev set if given), ranks_ (rank of each
    probe's coefficient matrix), n_iter_. min_accuracy stops after the first iteration at or below it.
    """

    def __init__(self, n_iterations=10, *, min_accuracy=None, C=1.0, max_iter=100, tol=1e-4, class_weight=None,
                 standardize=False):
        self.n_iterations = n_iterations
        self.min_accuracy = min_accuracy
        self.C = C
        self.max_iter = max_iter
        self.tol = tol
        self.class_weight = class_weight
        self.standardize = standardize

    _lamina_tags = {"preserves_dtype": ["float32"]}

    def _is_fitted(self):
        return hasattr(self, "projection_")

    def fit(self, X, y, X_dev=None, y_dev=None):
        x = as_matrix(X)
        check_y(y, "INLP", classifier=True)
        labels = np.asarray(y)
        if labels.ndim != 1 or labels.shape[0] != x.shape[0]:
            raise ShapeMismatchError(f"y has shape {labels.shape}; expected ({x.shape[0]},)")
        params = _probe_params(self.C, self.max_iter, self.tol, self.class_weight, self.standardize)
        iters = _int(self.n_iterations, "n_iterations", 1)
        d = x.shape[1]
        if (X_dev is None) != (y_dev is None):
            raise InvalidArgumentError("pass both X_dev and y_dev, or neither")
        if X_dev is not None:
            xd = as_matrix(X_dev, "X_dev")
            yd = np.asarray(y_dev)
            if yd.ndim != 1 or yd.shape[0] != xd.shape[0]:
                raise ShapeMismatchError(f"y_dev has shape {yd.shape}; expected ({xd.shape[0]},)")
            _, codes = np.unique(np.concatenate([labels, yd]), return_inverse=True)
            codes = codes.reshape(-1).astype(np.int32)
            ya, yb = np.ascontiguousarray(codes[:len(labels)]), np.ascontiguousarray(codes[len(labels):])
        else:
            xd, ya, yb = None, _labels(labels), None
        P = np.empty((d, d))
        acc = np.zeros(iters)
        ranks = np.zeros(iters, dtype=np.int32)
        done = ctypes.c_int32()
        min_acc = -1.0 if self.min_accuracy is None else _float(self.min_accuracy, "min_accuracy")
        N.call("lamina_inlp", N.fptr(x), x.shape[0], d, N.iptr(ya),
               N.fptr(xd) if xd is not None else None, 0 if xd is None else xd.shape[0],
               N.iptr(yb) if yb is not None else None, ctypes.byref(params), iters, min_acc,
               N.dptr(P), N.dptr(acc), N.iptr(ranks), ctypes.byref(done))
        self.projection_ = P
        self.n_features_in_ = d
        self.n_iter_ = int(done.value)
        self.accuracies_ = acc[:self.n_iter_].copy()
        self.ranks_ = ranks[:self.n_iter_].copy()
        return self

    def transform(self, X):
        self._check_fitted()
        x = np.asarray(check_finite(as_matrix(X)), dtype=np.float64)
        if x.shape[1] != self.projection_.shape[0]:
            raise ShapeMismatchError(f"X has {x.shape[1]} features, but INLP is expecting "
                                     f"{self.projection_.shape[0]} features as input.")
        return (x @ self.projection_).astype(np.float32)

    def fit_transform(self, X, y=None, X_dev=None, y_dev=None):
        return self.fit(X, y, X_dev, y_dev).transform(X)
