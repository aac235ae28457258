"""The one estimator pattern of the package (private; every estimator module builds on it).

* ``LaminaEstimator``: parameters are the keyword arguments of ``__init__`` (which only stores them;
  validation, allocation and work happen in ``fit``), ``get_params``/``set_params``, a repr that shows
  the parameters that differ from their defaults, ``NotFittedError`` for use before ``fit``, pickling
  and ``copy.deepcopy`` of fitted estimators (``__getstate__`` carries the parameters and the fitted
  weights as numpy arrays; ``__setstate__`` rebuilds the native handle from them). When scikit-learn is
  importable the base is its ``BaseEstimator`` (so ``clone``, ``Pipeline``, ``GridSearchCV`` and
  ``check_estimator`` see a native citizen) and the mixins below are scikit-learn's; without
  scikit-learn they are plain classes with the same behaviour -- the binding never requires it.
* Argument checks shared by every module: ``check_int`` (rejects 3.7 and True instead of truncating),
  ``check_float``, ``check_choice``, ``check_seed`` (``random_state``), ``check_offsets`` (ragged
  inputs) and ``encode_labels`` (any label values -> int32 codes + ``classes_``).
* One progress rule (``progress_callback``): ``callback(info)`` is called after every step with a dict;
  returning ``True`` (any truthy value) stops the fit, which raises ``lamina.CancelledError`` with the
  model of the last completed step kept; ``None``/``False`` continue (the 0.1 SAE and AST-Probe fits
  stopped on ``False``: that return now warns once with a FutureWarning until 0.3). ``verbose=True`` prints a
  progress line on stderr.
* One name per concept: ``random_state`` (not seed), ``lr`` (not learning_rate), ``callback=`` /
  ``verbose=``. Names that shipped in 0.1 (``seed``, ``learning_rate``, ``progress=``) keep working
  until 0.3 with a ``DeprecationWarning`` (``renamed_param``, ``renamed_kwarg``).
"""
from __future__ import annotations

import inspect
import numbers
import sys
import time
import warnings

import numpy as np

from . import _native as N
from .errors import InvalidArgumentError, NonFiniteError, NotFittedError, ShapeMismatchError

try:  # scikit-learn is optional
    import sklearn
    from sklearn.base import BaseEstimator as _SkBaseEstimator
    from sklearn.base import ClassifierMixin, ClusterMixin, RegressorMixin, TransformerMixin
    SKLEARN_VERSION = tuple(int(p) for p in sklearn.__version__.split(".")[:2] if p.isdigit())
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.exceptions import DataConversionWarning as _DataConversionWarning
    HAVE_SKLEARN = True
except ImportError:  # pragma: no cover - exercised by test_sklearn.py in a subprocess
    _SkBaseEstimator = object
    SKLEARN_VERSION = None
    HAVE_SKLEARN = False
    _DataConversionWarning = UserWarning

    class ConvergenceWarning(UserWarning):
        """An iterative fit did not converge as asked (stand-in for sklearn.exceptions.ConvergenceWarning)."""

    class ClassifierMixin:
        """score = mean accuracy (plain stand-in for sklearn.base.ClassifierMixin)."""
        _estimator_type = "classifier"

        def score(self, X, y, sample_weight=None):
            pred = self.predict(X)
            return float(np.average(np.asarray(pred) == np.asarray(y), weights=sample_weight))

    class RegressorMixin:
        """score = R^2 (plain stand-in for sklearn.base.RegressorMixin)."""
        _estimator_type = "regressor"

        def score(self, X, y, sample_weight=None):
            from .probe import r2_score
            return r2_score(y, self.predict(X))

    class ClusterMixin:
        """fit_predict (plain stand-in for sklearn.base.ClusterMixin)."""
        _estimator_type = "clusterer"

        def fit_predict(self, X, y=None, **kwargs):
            self.fit(X, **kwargs)
            return self.labels_

    class TransformerMixin:
        """fit_transform (plain stand-in for sklearn.base.TransformerMixin)."""

        def fit_transform(self, X, y=None, **fit_params):
            if y is None:
                return self.fit(X, **fit_params).transform(X)
            return self.fit(X, y, **fit_params).transform(X)

__all__ = ["LaminaEstimator", "ClassifierMixin", "RegressorMixin", "ClusterMixin", "TransformerMixin",
           "HAVE_SKLEARN", "SKLEARN_VERSION", "ConvergenceWarning", "NotFittedError", "check_int", "check_float", "check_choice",
           "check_seed", "check_offsets", "encode_labels", "as_matrix", "check_y", "check_finite", "DTypeError", "progress_callback", "renamed_param",
           "renamed_kwarg", "DEPRECATED"]

#: Default of a deprecated constructor parameter: "not given".
DEPRECATED = "deprecated"


# -- argument checks ---------------------------------------------------------------------------------

def check_int(value, name, lo=None, hi=None, *, bits=None):
    """An int from an integer value (Python or numpy), never by truncation: 3.7, 3.0, "3" and True are
    refused. lo/hi: inclusive bounds; bits=32/64: the value must fit a signed C integer of that size."""
    if not isinstance(value, numbers.Integral) or isinstance(value, (bool, np.bool_)):
        raise InvalidArgumentError(f"{name}={value!r}; expected an integer")
    value = int(value)
    if lo is not None and value < lo:
        raise InvalidArgumentError(f"{name}={value!r}; expected an integer >= {lo}")
    if hi is not None and value > hi:
        raise InvalidArgumentError(f"{name}={value!r}; expected an integer <= {hi}")
    if bits is not None and not -2 ** (bits - 1) <= value < 2 ** (bits - 1):
        raise InvalidArgumentError(f"{name}={value!r} is out of range; expected a {bits}-bit integer")
    return value


def check_float(value, name, lo=None, *, finite=False, positive=False):
    """A float from a real number (Python or numpy; not bool, not a string). lo: inclusive lower bound;
    positive: > 0; finite: no NaN/Inf."""
    if not isinstance(value, numbers.Real) or isinstance(value, (bool, np.bool_)):
        raise InvalidArgumentError(f"{name}={value!r}; expected a number")
    value = float(value)
    if finite and not np.isfinite(value):
        raise InvalidArgumentError(f"{name}={value!r}; expected a finite number")
    if positive and not value > 0:
        raise InvalidArgumentError(f"{name}={value!r}; expected a number > 0")
    if lo is not None and not value >= lo:
        raise InvalidArgumentError(f"{name}={value!r}; expected a number >= {lo}")
    return value


def check_choice(value, options, name):
    """The C enum value of a string option (options: dict name -> value), or an error naming them."""
    return N.option(value, options, name)


def check_seed(random_state, name="random_state"):
    """A 64-bit seed from None (drawn from numpy's global generator, as scikit-learn does), an int in
    [0, 2**64), a numpy RandomState or Generator (one draw)."""
    if random_state is None:
        return int(np.random.randint(0, 2**31 - 1))
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(0, 2**31 - 1))
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(0, 2**63 - 1))
    if not isinstance(random_state, numbers.Integral) or isinstance(random_state, (bool, np.bool_)):
        raise InvalidArgumentError(f"{name}={random_state!r}; expected None, an int, a numpy RandomState "
                                   "or Generator")
    value = int(random_state)
    if not 0 <= value < 2**64:
        raise InvalidArgumentError(f"{name}={random_state!r}; expected an integer in [0, 2**64)")
    return value


def check_offsets(offsets, n_rows=None, name="offsets", rows_name="n"):
    """Ragged-input offsets as C-contiguous int64: 1-D, integer (integral floats accepted), at least two
    entries (n_items + 1) and, when n_rows is given, offsets[-1] == n_rows. Order (offsets[0] = 0,
    increasing) is checked by the library, which names the first bad entry."""
    if offsets is None:
        raise InvalidArgumentError(f"{name} is None; pass {name} with concatenated rows, or a list of per-item arrays")
    arr = np.asarray(offsets)
    if arr.ndim != 1:
        raise InvalidArgumentError(f"{name} must be 1-D, got shape {arr.shape}")
    if arr.dtype.kind not in "iu":
        if arr.dtype.kind == "f" and arr.size and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
            arr = arr.astype(np.int64)
        else:
            raise InvalidArgumentError(f"{name} has dtype {arr.dtype}; expected integers")
    if arr.size < 2:
        raise InvalidArgumentError(f"{name} has {arr.size} entries; expected n_items + 1 >= 2")
    if arr.dtype.kind == "u" and arr.max() > np.iinfo(np.int64).max:
        raise InvalidArgumentError(f"{name} has values beyond int64")
    arr = np.ascontiguousarray(arr, dtype=np.int64)
    if n_rows is not None and arr[-1] != n_rows:
        raise ShapeMismatchError(f"{name}[-1] is {arr[-1]}; expected {rows_name} = {n_rows} (the rows of X)")
    return arr


def encode_labels(y, n=None, name="y"):
    """(codes int32 in 0..K-1, classes_) from labels of any values (np.unique order, as scikit-learn's
    LabelEncoder). y may be 1-D or a column vector; n: the expected number of samples."""
    arr = np.asarray(y)
    if arr.ndim == 2 and arr.shape[1] == 1:
        warnings.warn("A column-vector y was passed when a 1d array was expected. Please change the shape of y "
                      "to (n_samples, ), for example using ravel().", _DataConversionWarning, stacklevel=3)
        arr = arr.ravel()
    if arr.ndim != 1:
        raise InvalidArgumentError(f"{name} must be 1-D, got an array of shape {arr.shape}")
    if n is not None and arr.shape[0] != n:
        raise ShapeMismatchError(f"Found input variables with inconsistent numbers of samples: {[n, arr.shape[0]]}")
    if arr.dtype.kind == "f" and arr.size and not np.all(np.isfinite(arr)):
        raise InvalidArgumentError(f"{name} contains NaN or infinity; expected finite labels")
    classes, codes = np.unique(arr, return_inverse=True)
    return np.ascontiguousarray(codes.reshape(-1), dtype=np.int32), classes


class DTypeError(InvalidArgumentError, TypeError):
    """Data of a dtype that cannot be read as numbers (also a TypeError, as numpy's own error)."""


def as_matrix(X, name="X", keep_float64=False):
    """X as the C-contiguous float32 2-D array the library reads, with scikit-learn's checks and
    messages first: sparse input refused (dense required), complex refused, object arrays converted
    to numbers (DTypeError otherwise), 2-D with at least one sample and one feature. Values are
    checked for NaN/Inf by the library (which names the first bad row and column). With keep_float64,
    anything but float32 becomes float64 instead (for the functions with `_f64` twins)."""
    if hasattr(X, "tocsr") or hasattr(X, "sparse") and hasattr(X, "density"):
        raise InvalidArgumentError(f"{name} is a sparse matrix; sparse input is not supported, dense data is "
                                   f"required ({name}.toarray())")
    arr = np.asarray(X)
    if arr.dtype.kind == "c":
        raise InvalidArgumentError(f"Complex data not supported: {name} has dtype {arr.dtype}")
    if arr.ndim != 2:
        raise InvalidArgumentError(
            f"Expected 2D array for {name}, got {arr.ndim}D array instead (shape {arr.shape}). Reshape your data "
            "either using array.reshape(-1, 1) if your data has a single feature or array.reshape(1, -1) if it "
            "contains a single sample.")
    if arr.dtype.kind == "O":
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise DTypeError(f"{name} has dtype object and cannot be read as numbers: {exc}") from None
    if arr.shape[0] == 0:
        raise InvalidArgumentError(f"Found array with 0 sample(s) (shape={arr.shape}) while a minimum of 1 is "
                                   f"required: n is 0 ({name})")
    if arr.shape[1] == 0:
        raise InvalidArgumentError(f"Found array with 0 feature(s) (shape={arr.shape}) while a minimum of 1 is "
                                   f"required: d is 0 ({name})")
    # keep_float64: the functions with `_f64` twins compute float64 (and integer) data in float64
    # (scikit-learn's dtype rule); float32 stays float32.
    return N.as_matrix_typed(arr, name) if keep_float64 else N.as_matrix(arr, name)


def check_finite(x, name="X"):
    """For data that numpy (not the library) computes on: NonFiniteError naming the first NaN/Inf."""
    bad = ~np.isfinite(x)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise NonFiniteError(f"{name} contains {x[r, c]} at row {r}, column {c}; expected finite values "
                             "(Input contains NaN or infinity)")
    return x


def check_y(y, estimator, *, classifier=False):
    """Refuses a missing y (scikit-learn's message) and, for a classifier, continuous targets."""
    if y is None:
        raise InvalidArgumentError(f"{estimator} requires y to be passed, but the target y is None")
    if classifier:
        arr = np.asarray(y)
        if arr.dtype.kind == "f" and arr.size and np.all(np.isfinite(arr)) and np.any(arr != np.round(arr)):
            raise InvalidArgumentError("Unknown label type: continuous. y has non-integer float values; a "
                                       "classifier needs class labels")
    return y


# -- deprecated names --------------------------------------------------------------------------------

def warn_user(message, category):
    """warnings.warn attributed to the first caller outside this package (so that a DeprecationWarning
    shows in the user's script, as Python's default filters only show those raised from __main__)."""
    import os
    here = os.path.dirname(os.path.abspath(__file__))
    frame, level = sys._getframe(1), 2
    while frame is not None and os.path.dirname(os.path.abspath(frame.f_code.co_filename)) == here:
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)


def renamed_param(estimator, old, new, default):
    """The value of parameter `new`, taking a deprecated constructor parameter `old` into account: if
    `old` was given (it is not DEPRECATED), warn and use it; giving both raises."""
    old_value = getattr(estimator, old, DEPRECATED)
    new_value = getattr(estimator, new)
    if isinstance(old_value, str) and old_value == DEPRECATED:
        return new_value
    cls = type(estimator).__name__
    warn_user(f"{cls}({old}=...) is deprecated since 0.2 and will be removed in 0.3; use {new}=...",
              DeprecationWarning)
    if not _same(new_value, default):
        raise InvalidArgumentError(f"{cls} got both {old}={old_value!r} and {new}={new_value!r}; pass only {new}")
    return old_value


def renamed_kwarg(owner, kwargs, old, new, new_value, default):
    """The value of keyword `new` of a method, honouring a deprecated keyword `old` in **kwargs (popped)."""
    if old not in kwargs:
        return new_value
    old_value = kwargs.pop(old)
    warn_user(f"{owner}({old}=...) is deprecated since 0.2 and will be removed in 0.3; use {new}=...",
              DeprecationWarning)
    if not _same(new_value, default):
        raise InvalidArgumentError(f"{owner} got both {old}= and {new}=; pass only {new}")
    return old_value


def reject_unknown(owner, kwargs):
    if kwargs:
        raise TypeError(f"{owner} got an unexpected keyword argument {sorted(kwargs)[0]!r}")


def _same(a, b):
    try:
        return bool(a is b or a == b)
    except Exception:  # noqa: BLE001 - arrays and other odd values are "different"
        return False


# -- progress: one callback rule, one text line ------------------------------------------------------

class _ProgressLine:
    """Plain-text progress line on stderr (no dependency), refreshed at most every 0.5 s."""

    def __init__(self, title, enabled, extra=()):
        self.title = title
        self.enabled = enabled
        self.extra = extra
        self.last = 0.0

    def update(self, info, final=False):
        if not self.enabled:
            return
        now = time.monotonic()
        if not final and now - self.last < 0.5:
            return
        self.last = now
        total = info.get("total_steps", 0)
        width = 24
        frac = info["step"] / total if total > 0 else 0
        bar = "#" * int(frac * width) + "-" * (width - int(frac * width))
        parts = [f"\r{self.title} [{bar}] {info['step']}/{total} loss {info['loss']:.4g}"]
        for key, fmt in self.extra:
            if key in info:
                parts.append(f"{key} {info[key]:{fmt}}")
        sys.stderr.write(" ".join(parts))
        if final:
            sys.stderr.write("\n")
        sys.stderr.flush()


class progress_callback:  # noqa: N801 - used like a function
    """The C progress function of one fit, with the package's one stop rule: ``callback(info)`` returning
    ``True`` (any truthy value) stops the fit (``CancelledError``, the last completed step kept);
    ``None`` or ``False`` continue. ``verbose`` prints a progress line. ``false_warns``: in 0.1 the SAE
    and AST-Probe fits stopped when the callback returned ``False``; such a return now continues and
    emits one FutureWarning per fit (until 0.3), so that old code is told rather than silently
    changed. Use::

        with progress_callback("sae", callback, verbose, fields) as p:
            N.call(..., p.fn, None)
    """

    def __init__(self, title, callback, verbose, fields=N.PROGRESS_FIELDS, *, extra=(), record=None,
                 false_warns=False):
        if callback is not None and not callable(callback):
            raise InvalidArgumentError(f"callback={callback!r}; expected a function of one dict, or None")
        self.line = _ProgressLine(title, bool(verbose), extra)
        self.last = {}
        self.warned = False

        def record_all(info):
            self.last = info
            self.line.update(info)
            if record is not None:
                record(info)

        def stop(result):
            if result is False and false_warns and not self.warned:
                self.warned = True
                warn_user(f"the {title} callback returned False, which no longer stops the fit (it did in "
                          "0.1); since 0.2 a callback returns True to stop and None or False to continue",
                          FutureWarning)
            return bool(result) if result is not None else False

        needs_record = bool(verbose) or record is not None
        self.fn, self.errors = N.progress_callback(callback, stop, record_all if needs_record else None, fields)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if self.last:
            self.line.update(self.last, final=True)
        if exc_type is not None:
            N.raise_callback_error(self.errors)   # an exception raised inside the callback wins
        return False


# -- the estimator base ------------------------------------------------------------------------------

class LaminaEstimator(_SkBaseEstimator):
    """Base of every Lamina estimator (scikit-learn's BaseEstimator when it is installed).

    Subclasses: ``__init__`` stores its keyword arguments as attributes of the same name and nothing
    else; ``_is_fitted()`` says whether fit has run; ``_native_state()`` returns the fitted weights as a
    dict of numpy arrays (None if not fitted) and ``_restore_native(state)`` rebuilds the native handle
    from it (used by pickling and copy.deepcopy). Attributes whose name starts with ``_handle`` hold
    native handles and are never pickled.
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # The extra tags must be applied last (after the mixins'): give every subclass its own hooks.
        if "_more_tags" not in cls.__dict__:
            cls._more_tags = lambda self: dict(type(self)._lamina_tags)
        if HAVE_SKLEARN and SKLEARN_VERSION >= (1, 6) and "__sklearn_tags__" not in cls.__dict__:
            def __sklearn_tags__(self, _cls=cls):
                return _apply_tags(super(_cls, self).__sklearn_tags__(), type(self)._lamina_tags)
            cls.__sklearn_tags__ = __sklearn_tags__

    # -- parameters (scikit-learn's own methods when it is installed) ------------------------------

    @classmethod
    def _get_param_names(cls):
        init = cls.__init__
        if init is object.__init__:
            return []
        params = [p for p in inspect.signature(init).parameters.values()
                  if p.name != "self" and p.kind != p.VAR_KEYWORD]
        for p in params:
            if p.kind == p.VAR_POSITIONAL:
                raise RuntimeError(f"{cls.__name__}.__init__ must not take *args (scikit-learn's convention)")
        return sorted(p.name for p in params)

    if not HAVE_SKLEARN:
        def get_params(self, deep=True):
            """The constructor parameters as a dict (nested estimators expanded with deep=True)."""
            out = {}
            for key in self._get_param_names():
                value = getattr(self, key)
                if deep and hasattr(value, "get_params") and not isinstance(value, type):
                    out.update((f"{key}__{k}", v) for k, v in value.get_params().items())
                out[key] = value
            return out

    def set_params(self, **params):
        """Sets constructor parameters (validated at the next fit); returns self. Unknown names raise
        InvalidArgumentError (a ValueError, as scikit-learn's)."""
        valid = self._get_param_names()
        for key in params:
            if key.split("__", 1)[0] not in valid:
                raise InvalidArgumentError(f"Invalid parameter {key!r} for estimator {type(self).__name__}. "
                                           f"Valid parameters are: {valid!r}.")
        if HAVE_SKLEARN:
            return super().set_params(**params)
        for key, value in params.items():
            if "__" in key:
                outer, inner = key.split("__", 1)
                getattr(self, outer).set_params(**{inner: value})
            else:
                setattr(self, key, value)
        return self

    def _changed_params(self):
        init = inspect.signature(type(self).__init__).parameters
        out = []
        for name in self._get_param_names():
            value = getattr(self, name)
            default = init[name].default
            if default is inspect.Parameter.empty or not _same_param(value, default):
                out.append((name, value))
        return out

    def __repr__(self, N_CHAR_MAX=700):
        # Parameters in signature order; only those that differ from their defaults (scikit-learn's
        # print_changed_only), required parameters always.
        order = [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]
        changed = dict(self._changed_params())
        args = ", ".join(f"{k}={changed[k]!r}" for k in order if k in changed)
        text = f"{type(self).__name__}({args})"
        if len(text) > N_CHAR_MAX:
            text = text[:N_CHAR_MAX // 2] + "..." + text[-N_CHAR_MAX // 2:]
        return text

    # -- fitted state ------------------------------------------------------------------------------

    def _is_fitted(self):
        return getattr(self, "_handle", None) is not None

    def __sklearn_is_fitted__(self):
        return self._is_fitted()

    def _check_fitted(self, what="this method"):
        if not self._is_fitted():
            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with "
                                 f"appropriate arguments before using {what}.")

    def _native_state(self):
        return None

    def _restore_native(self, state):
        raise NotImplementedError

    def __getstate__(self):
        if HAVE_SKLEARN:
            state = super().__getstate__()
        else:
            state = dict(self.__dict__)
        state = {k: v for k, v in state.items() if not k.startswith("_handle")}
        state["_lamina_native"] = self._native_state() if self._is_fitted() else None
        return state

    def __setstate__(self, state):
        state = dict(state)
        native = state.pop("_lamina_native", None)
        if HAVE_SKLEARN:
            super().__setstate__(state)
        else:
            self.__dict__.update(state)
        self._handle = None
        if native is not None:
            self._restore_native(native)

    # -- scikit-learn tags -------------------------------------------------------------------------

    #: extra tags of the subclass, as the pre-1.6 dict (translated for scikit-learn >= 1.6)
    _lamina_tags: dict = {}

    def _more_tags(self):  # scikit-learn < 1.6
        return dict(self._lamina_tags)

    if HAVE_SKLEARN and SKLEARN_VERSION >= (1, 6):
        def __sklearn_tags__(self):
            return _apply_tags(super().__sklearn_tags__(), self._lamina_tags)


def _apply_tags(tags, extra):
    tags.input_tags.sparse = bool(extra.get("sparse", False))   # scipy.sparse X accepted (KMeans)
    tags.input_tags.allow_nan = False
    if "preserves_dtype" in extra and tags.transformer_tags is not None:
        tags.transformer_tags.preserves_dtype = list(extra["preserves_dtype"])
    if extra.get("multioutput"):
        tags.target_tags.multi_output = True
    if extra.get("non_deterministic"):
        tags.non_deterministic = True
    if extra.get("poor_score"):
        if tags.regressor_tags is not None:
            tags.regressor_tags.poor_score = True
        if tags.classifier_tags is not None:
            tags.classifier_tags.poor_score = True
    return tags


def _same_param(value, default):
    if value is default:
        return True
    if isinstance(value, np.ndarray) or isinstance(default, np.ndarray):
        return False
    if isinstance(value, float) and isinstance(default, float) and np.isnan(value) and np.isnan(default):
        return True
    return _same(value, default) and type(value) is type(default) or (
        isinstance(value, numbers.Number) and isinstance(default, numbers.Number) and not isinstance(value, bool)
        and not isinstance(default, bool) and _same(value, default))


def renamed_kwargs(**renames):
    """Decorator of a function whose keyword arguments were renamed (old=new): the old keyword keeps
    working until 0.3 with a DeprecationWarning; passing both raises."""
    import functools

    def wrap(fn):
        @functools.wraps(fn)
        def inner(*args, **kwargs):
            for old, new in renames.items():
                if old in kwargs:
                    warn_user(f"{fn.__name__}({old}=...) is deprecated since 0.2 and will be removed in 0.3; "
                              f"use {new}=...", DeprecationWarning)
                    if new in kwargs:
                        raise InvalidArgumentError(f"{fn.__name__} got both {old}= and {new}=; pass only {new}")
                    kwargs[new] = kwargs.pop(old)
            return fn(*args, **kwargs)
        return inner
    return wrap
