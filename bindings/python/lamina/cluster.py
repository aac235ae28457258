"""k-means with scikit-learn's interface (sklearn.cluster.KMeans, Lloyd's algorithm)."""
from __future__ import annotations

import ctypes
import numbers

import numpy as np

from . import _native as N

__all__ = ["KMeans"]

_INITS = {"k-means++": 0, "random": 1}


class KMeans:
    """K-means clustering (Lloyd's algorithm) with greedy k-means++ seeding and n_init restarts.

    The restarts are seeded and iterated together (one pass over the data serves all of them) and
    Lloyd's steps skip the points whose Hamerly bounds rule out a change; the assignments are those of
    plain Lloyd.

    Parameters mirror sklearn.cluster.KMeans: n_clusters, init ("k-means++", "random" or an
    (n_clusters, n_features) array), n_init ("auto" = 1 for k-means++ or an array, 10 for "random"),
    max_iter, tol (relative to the mean feature variance), random_state (int; None draws a seed from
    numpy's global generator). Deterministic for a given random_state, for any thread count; the
    draws differ from scikit-learn's, so results match it in quality (inertia), not label for label.

    Attributes after fit: cluster_centers_ (float32), labels_ (int32), inertia_ (float64 sum of squared
    distances to the closest center), n_iter_, n_features_in_.
    """

    def __init__(self, n_clusters=8, *, init="k-means++", n_init="auto", max_iter=300, tol=1e-4,
                 random_state=None):
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self._handle = None

    # sklearn-style parameter access
    def get_params(self, deep=True):
        return {k: getattr(self, k) for k in ("n_clusters", "init", "n_init", "max_iter", "tol", "random_state")}

    def set_params(self, **params):
        for key, value in params.items():
            if key not in self.get_params():
                raise N.InvalidArgumentError(f"Invalid parameter {key!r} for KMeans")
            setattr(self, key, value)
        return self

    def _params(self):
        p = N.lib.lamina_kmeans_default_params()
        for name in ("n_clusters", "max_iter"):
            value = getattr(self, name)
            if not isinstance(value, numbers.Integral) or isinstance(value, bool):
                raise N.InvalidArgumentError(f"{name}={value!r}; expected an integer")
            if not -2**31 <= value < 2**31:
                raise N.InvalidArgumentError(f"{name}={value!r} is out of range; expected a 32-bit integer")
        p.n_clusters = int(self.n_clusters)
        p.max_iter = int(self.max_iter)
        init_centers = None
        if isinstance(self.init, str):
            p.init = N.option(self.init, _INITS, "init")
        else:
            p.init = 2
            init_centers = N.as_matrix(self.init, "init")
        if isinstance(self.n_init, str) and self.n_init == "auto":
            n_init = 10 if isinstance(self.init, str) and self.init == "random" else 1
        elif isinstance(self.n_init, numbers.Integral) and not isinstance(self.n_init, bool):
            n_init = int(self.n_init)
        else:
            raise N.InvalidArgumentError(f"n_init={self.n_init!r}; expected 'auto' or an integer")
        if init_centers is not None:
            n_init = 1
        p.n_init = max(min(n_init, 2**31 - 1), -2**31)
        try:
            p.tol = float(self.tol)
        except (TypeError, ValueError):
            raise N.InvalidArgumentError(f"tol={self.tol!r}; expected a number >= 0") from None
        seed = self.random_state
        if seed is None:
            seed = np.random.randint(0, 2**31 - 1)
        elif isinstance(seed, np.random.RandomState):
            seed = seed.randint(0, 2**31 - 1)
        elif not isinstance(seed, numbers.Integral):
            raise N.InvalidArgumentError(f"random_state={seed!r}; expected None, an int or a numpy RandomState")
        p.seed = int(seed) % 2**64
        return p, init_centers

    def fit(self, X, y=None, sample_weight=None):
        """Fits on X (n_samples, n_features). sample_weight is not supported."""
        if sample_weight is not None:
            raise NotImplementedError("lamina.cluster.KMeans does not support sample_weight")
        params, init_centers = self._params()
        x = N.as_matrix(X)
        if init_centers is not None:
            # The C API reads n_clusters x n_features values from the pointer: check the shape here,
            # where it is known (scikit-learn's messages).
            if init_centers.shape[0] != params.n_clusters:
                raise N.ShapeMismatchError(f"The shape of the initial centers {init_centers.shape} does not match "
                                           f"the number of clusters {params.n_clusters}.")
            if init_centers.shape[1] != x.shape[1]:
                raise N.ShapeMismatchError(f"The shape of the initial centers {init_centers.shape} does not match "
                                           f"the number of features of the data {x.shape[1]}.")
        handle = N.Handle("lamina_kmeans_create", "lamina_kmeans_free", ctypes.byref(params))
        N.call("lamina_kmeans_fit", handle, N.fptr(x), x.shape[0], x.shape[1],
               N.fptr(init_centers) if init_centers is not None else None)
        self._handle = handle  # a failed fit keeps the previous model; the old handle is freed here
        n, d, k = ctypes.c_int64(), ctypes.c_int64(), ctypes.c_int32()
        inertia, n_iter = ctypes.c_double(), ctypes.c_int32()
        N.call("lamina_kmeans_get_info", handle, ctypes.byref(n), ctypes.byref(d), ctypes.byref(k),
               ctypes.byref(inertia), ctypes.byref(n_iter))
        self.cluster_centers_ = np.empty((k.value, d.value), dtype=np.float32)
        N.call("lamina_kmeans_get_centers", handle, N.fptr(self.cluster_centers_), self.cluster_centers_.size)
        self.labels_ = np.empty(n.value, dtype=np.int32)
        N.call("lamina_kmeans_get_labels", handle, N.iptr(self.labels_), self.labels_.size)
        self.inertia_ = float(inertia.value)
        self.n_iter_ = int(n_iter.value)
        self.n_features_in_ = int(d.value)
        return self

    def predict(self, X):
        """Index of the closest center for each row of X."""
        if self._handle is None:
            raise N.InvalidArgumentError("This KMeans instance is not fitted yet. Call 'fit' with appropriate arguments "
                             "before using this estimator.")
        x = N.as_matrix(X)
        out = np.empty(x.shape[0], dtype=np.int32)
        N.call("lamina_kmeans_predict", self._handle, N.fptr(x), x.shape[0], x.shape[1], N.iptr(out))
        return out

    def fit_predict(self, X, y=None, sample_weight=None):
        return self.fit(X, sample_weight=sample_weight).labels_

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"KMeans({args})"
