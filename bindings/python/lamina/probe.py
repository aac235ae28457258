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
import numbers

import numpy as np

from . import _native as N
from .errors import InvalidArgumentError, ShapeMismatchError

__all__ = ["LogisticProbe", "RidgeProbe", "r2_score"]

_CLASS_WEIGHT = {None: 0, "balanced": 1}


def _int(value, name, lo=None):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise InvalidArgumentError(f"{name}={value!r}; expected an integer")
    value = int(value)
    if lo is not None and value < lo:
        raise InvalidArgumentError(f"{name}={value!r}; expected an integer >= {lo}")
    if not -2**31 <= value < 2**31:
        raise InvalidArgumentError(f"{name}={value!r} is out of range; expected a 32-bit integer")
    return value


def _float(value, name):
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InvalidArgumentError(f"{name}={value!r}; expected a number") from None


def _weights(sample_weight, n, name="sample_weight"):
    if sample_weight is None:
        return None
    w = np.ascontiguousarray(np.asarray(sample_weight, dtype=np.float64).reshape(-1))
    if w.shape[0] != n:
        raise ShapeMismatchError(f"{name} has {w.shape[0]} values; expected n_samples = {n}")
    return w


def _optional_dptr(arr):
    return N.dptr(arr) if arr is not None else None


class LogisticProbe:
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
        self._handle = None

    _param_names = ("C", "max_iter", "tol", "class_weight", "standardize", "multi_label", "fit_intercept")

    def get_params(self, deep=True):
        return {k: getattr(self, k) for k in self._param_names}

    def set_params(self, **params):
        for key, value in params.items():
            if key not in self._param_names:
                raise InvalidArgumentError(f"Invalid parameter {key!r} for LogisticProbe")
            setattr(self, key, value)
        return self

    def _params(self):
        p = N.lib.lamina_logistic_default_params()
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
        N.call("lamina_logistic_check_params", ctypes.byref(p))
        return p

    def fit(self, X, y, sample_weight=None):
        params = self._params()
        x = N.as_matrix(X)
        handle = ctypes.c_void_p()
        N.call("lamina_logistic_probe_create", ctypes.byref(params), ctypes.byref(handle))
        try:
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
        except BaseException:
            N.lib.lamina_logistic_probe_free(handle)
            raise
        self._release()
        self._handle = handle
        self._read_fit(classes)
        return self

    @staticmethod
    def _encode(y, n):
        arr = np.asarray(y)
        if arr.ndim == 2 and arr.shape[1] == 1:
            arr = arr.ravel()
        if arr.ndim != 1:
            raise InvalidArgumentError(f"y must be 1-D, got an array of shape {arr.shape}")
        if arr.shape[0] != n:
            raise ShapeMismatchError(f"Found input variables with inconsistent numbers of samples: {[n, arr.shape[0]]}")
        classes, codes = np.unique(arr, return_inverse=True)
        return np.ascontiguousarray(codes.reshape(-1), dtype=np.int32), classes

    def _read_fit(self, classes):
        d, k, nc, pc, it, conv = (ctypes.c_int64(), ctypes.c_int32(), ctypes.c_int32(), ctypes.c_int32(),
                                  ctypes.c_int32(), ctypes.c_int32())
        loss = ctypes.c_double()
        N.call("lamina_logistic_probe_info", self._handle, ctypes.byref(d), ctypes.byref(k), ctypes.byref(nc),
               ctypes.byref(pc), ctypes.byref(it), ctypes.byref(loss), ctypes.byref(conv))
        self.coef_ = np.empty((k.value, d.value))
        self.intercept_ = np.empty(k.value)
        N.call("lamina_logistic_probe_coef", self._handle, N.dptr(self.coef_), self.coef_.size,
               N.dptr(self.intercept_), self.intercept_.size)
        if self.standardize:
            self.mean_ = np.empty(d.value)
            self.scale_ = np.empty(d.value)
            N.call("lamina_logistic_probe_scaler", self._handle, N.dptr(self.mean_), N.dptr(self.scale_), d.value)
        self.classes_ = classes
        self.n_features_in_ = int(d.value)
        self.n_iter_ = np.array([it.value], dtype=np.int32)
        self.loss_ = float(loss.value)
        self.converged_ = bool(conv.value)
        self._proba_columns = int(pc.value)

    def _check(self, X):
        if self._handle is None:
            raise InvalidArgumentError("This LogisticProbe instance is not fitted yet. Call 'fit' with appropriate "
                                       "arguments before using this estimator.")
        return N.as_matrix(X)

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

    def _release(self):
        if getattr(self, "_handle", None) is not None:
            N.lib.lamina_logistic_probe_free(self._handle)
            self._handle = None

    def __del__(self):
        try:
            self._release()
        except Exception:
            pass

    def __repr__(self):
        return "LogisticProbe(" + ", ".join(f"{k}={v!r}" for k, v in self.get_params().items()) + ")"


class RidgeProbe:
    """Ridge regression probe for continuous targets (sklearn.linear_model.Ridge, solver "cholesky"):
    minimises sum_i s_i ||y_i - W x_i - b||^2 + alpha ||W||^2, intercept unpenalised, in closed form
    (centred float64 normal equations). score() is R^2 (sklearn's r2_score, uniform average)."""

    def __init__(self, alpha=1.0, *, fit_intercept=True):
        self.alpha = alpha
        self.fit_intercept = fit_intercept

    def get_params(self, deep=True):
        return {"alpha": self.alpha, "fit_intercept": self.fit_intercept}

    def set_params(self, **params):
        for key, value in params.items():
            if key not in ("alpha", "fit_intercept"):
                raise InvalidArgumentError(f"Invalid parameter {key!r} for RidgeProbe")
            setattr(self, key, value)
        return self

    def fit(self, X, y, sample_weight=None):
        x = N.as_matrix(X)
        Y = np.asarray(y, dtype=np.float64)
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
        if not hasattr(self, "coef_"):
            raise InvalidArgumentError("This RidgeProbe instance is not fitted yet. Call 'fit' first.")
        x = np.asarray(N.as_matrix(X), dtype=np.float64)
        if x.shape[1] != self.n_features_in_:
            raise ShapeMismatchError(f"X has {x.shape[1]} features, but RidgeProbe is expecting {self.n_features_in_} features as input.")
        return x @ np.asarray(self.coef_).T + self.intercept_

    def score(self, X, y):
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
