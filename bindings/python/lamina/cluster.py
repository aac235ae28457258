"""k-means with scikit-learn's interface (sklearn.cluster.KMeans, Lloyd's algorithm)."""
from __future__ import annotations

import ctypes
import numbers
import warnings

import numpy as np

from . import _native as N
from . import _sparse
from ._base import ClusterMixin, ConvergenceWarning, LaminaEstimator, TransformerMixin, as_matrix, check_finite, check_int, check_seed
from .errors import InvalidArgumentError, ShapeMismatchError

__all__ = ["KMeans"]

_INITS = {"k-means++": 0, "random": 1}


class KMeans(ClusterMixin, TransformerMixin, LaminaEstimator):
    """K-means clustering (Lloyd's algorithm) with greedy k-means++ seeding and n_init restarts.

    The restarts are seeded and iterated together (one pass over the data serves all of them) and
    Lloyd's steps skip the points whose Hamerly bounds rule out a change; the assignments are those of
    plain Lloyd.

    Parameters mirror sklearn.cluster.KMeans: n_clusters, init ("k-means++", "random" or an
    (n_clusters, n_features) array), n_init ("auto" = 1 for k-means++ or an array, 10 for "random"),
    max_iter, tol (relative to the mean feature variance), algorithm ("lloyd" or "elkan": both run
    Lamina's one algorithm, Lloyd's iterations with Hamerly's bounds, whose assignments, centers and
    n_iter_ are those of plain Lloyd -- as scikit-learn's "elkan" also gives, up to rounding), random_state (int, numpy RandomState or
    Generator; None draws a seed from numpy's global generator). Deterministic for a given
    random_state, for any thread count; the draws differ from scikit-learn's, so results match it in
    quality (inertia), not label for label.

    float32 X is computed in float32; float64 and integer X in float64 (the C API's `_f64` twins), as
    scikit-learn does. Attributes after fit: cluster_centers_ (float32 for float32 X, float64
    otherwise: scikit-learn's dtype rule), labels_ (int32), inertia_ (float64 sum of squared
    distances to the closest center), n_iter_, n_features_in_. predict(X) gives the closest center,
    transform(X) the distances to every center, score(X) minus the sum of squared distances to the
    closest centers (scikit-learn's definitions).
    """

    _lamina_tags = {"preserves_dtype": ["float64", "float32"], "sparse": True}

    def __init__(self, n_clusters=8, *, init="k-means++", n_init="auto", max_iter=300, tol=1e-4,
                 random_state=None, algorithm="lloyd"):
        self.n_clusters = n_clusters
        self.algorithm = algorithm
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state

    def _params(self):
        p = N.lib.lamina_kmeans_default_params()
        p.n_clusters = check_int(self.n_clusters, "n_clusters", bits=32)
        p.max_iter = check_int(self.max_iter, "max_iter", bits=32)
        init_centers = None
        if isinstance(self.init, str):
            p.init = N.option(self.init, _INITS, "init")
        else:
            p.init = 2
            init_centers = N.as_matrix_typed(self.init, "init")
        if isinstance(self.n_init, str) and self.n_init == "auto":
            n_init = 10 if isinstance(self.init, str) and self.init == "random" else 1
        elif isinstance(self.n_init, numbers.Integral) and not isinstance(self.n_init, bool):
            n_init = int(self.n_init)
        else:
            raise InvalidArgumentError(f"n_init={self.n_init!r}; expected 'auto' or an integer")
        if init_centers is not None:
            n_init = 1
        p.n_init = max(min(n_init, 2**31 - 1), -2**31)
        if not isinstance(self.tol, numbers.Real) or isinstance(self.tol, bool):
            raise InvalidArgumentError(f"tol={self.tol!r}; expected a number >= 0")
        p.tol = float(self.tol)
        p.seed = check_seed(self.random_state) % 2**64
        if not isinstance(self.algorithm, str) or self.algorithm not in ("lloyd", "elkan"):
            raise InvalidArgumentError(f"The 'algorithm' parameter of KMeans must be a str among {{'elkan', 'lloyd'}}. "
                                       f"Got {self.algorithm!r} instead.")
        return p, init_centers

    def fit(self, X, y=None, sample_weight=None):
        """Fits on X (n_samples, n_features). sample_weight is not supported (refused, never ignored)."""
        if _sparse.is_sparse(X):   # scipy.sparse X: Lloyd on CSR rows in the library, never densified
            return self._fit_sparse(X, sample_weight)
        if sample_weight is not None:
            raise NotImplementedError("lamina.cluster.KMeans does not support sample_weight")
        params, init_centers = self._params()
        N.call("lamina_kmeans_check_params", ctypes.byref(params))   # parameter errors before data errors
        x = as_matrix(X, keep_float64=True)
        f64 = x.dtype == np.float64
        if init_centers is not None:
            init_centers = np.ascontiguousarray(init_centers, dtype=x.dtype)   # scikit-learn: X's dtype
            # The C API reads n_clusters x n_features values from the pointer: check the shape here,
            # where it is known (scikit-learn's messages).
            if init_centers.shape[0] != params.n_clusters:
                raise ShapeMismatchError(f"The shape of the initial centers {init_centers.shape} does not match "
                                         f"the number of clusters {params.n_clusters}.")
            if init_centers.shape[1] != x.shape[1]:
                raise ShapeMismatchError(f"The shape of the initial centers {init_centers.shape} does not match "
                                         f"the number of features of the data {x.shape[1]}.")
        handle = N.Handle("lamina_kmeans_create", "lamina_kmeans_free", ctypes.byref(params))
        ptr = N.dptr if f64 else N.fptr
        N.call("lamina_kmeans_fit_f64" if f64 else "lamina_kmeans_fit", handle, ptr(x), x.shape[0], x.shape[1],
               ptr(init_centers) if init_centers is not None else None)
        self._handle = handle  # a failed fit keeps the previous model; the old handle is freed here
        n, d, k = ctypes.c_int64(), ctypes.c_int64(), ctypes.c_int32()
        inertia, n_iter = ctypes.c_double(), ctypes.c_int32()
        N.call("lamina_kmeans_get_info", handle, ctypes.byref(n), ctypes.byref(d), ctypes.byref(k),
               ctypes.byref(inertia), ctypes.byref(n_iter))
        self.cluster_centers_ = np.empty((k.value, d.value), dtype=x.dtype)
        N.call("lamina_kmeans_get_centers_f64" if f64 else "lamina_kmeans_get_centers", handle,
               ptr(self.cluster_centers_), self.cluster_centers_.size)
        self.labels_ = np.empty(n.value, dtype=np.int32)
        N.call("lamina_kmeans_get_labels", handle, N.iptr(self.labels_), self.labels_.size)
        self.inertia_ = float(inertia.value)
        self.n_iter_ = int(n_iter.value)
        self.n_features_in_ = int(d.value)
        distinct = np.unique(self.labels_).size
        if distinct < k.value:   # scikit-learn's warning (duplicate points: fewer distinct than clusters)
            warnings.warn(f"Number of distinct clusters ({distinct}) found smaller than n_clusters ({k.value}). "
                          "Possibly due to duplicate points in X.", ConvergenceWarning, stacklevel=2)
        return self

    def _x(self, X):
        self._check_fitted()
        x = as_matrix(X, keep_float64=True)
        if x.shape[1] != self.n_features_in_:
            raise ShapeMismatchError(f"X has {x.shape[1]} features, but KMeans is expecting "
                                     f"{self.n_features_in_} features as input (the model was fitted with "
                                     f"{self.n_features_in_}).")
        return x

    def predict(self, X):
        """Index of the closest center for each row of X."""
        if _sparse.is_sparse(X):
            return self._predict_sparse(X)[0]
        x = self._x(X)
        out = np.empty(x.shape[0], dtype=np.int32)
        # computed in the model's precision (the library converts x if its dtype differs)
        name, data = N.typed("lamina_kmeans_predict", x)
        N.call(name, self._handle, data, x.shape[0], x.shape[1], N.iptr(out))
        return out

    def fit_predict(self, X, y=None, sample_weight=None):
        return self.fit(X, sample_weight=sample_weight).labels_

    def transform(self, X):
        """Euclidean distances of each row of X to every center, (n_samples, n_clusters), float32 when
        X and the centers are float32, else float64 (computed in float64)."""
        if _sparse.is_sparse(X):
            x = self._sparse_x(X)
            out = np.empty((x.shape[0], self.cluster_centers_.shape[0]), dtype=np.float64)
            fn, *args = x.args("lamina_kmeans_transform")
            N.call(fn, self._handle, *args, N.dptr(out))
            return out.astype(np.result_type(x.dtype, self.cluster_centers_.dtype), copy=False)
        x = check_finite(self._x(X))
        dtype = np.result_type(x.dtype, self.cluster_centers_.dtype)
        x = x.astype(np.float64)
        c = self.cluster_centers_.astype(np.float64)
        xx, cc = np.einsum("ij,ij->i", x, x)[:, None], np.einsum("ij,ij->i", c, c)[None, :]
        d2 = xx - 2.0 * (x @ c.T) + cc
        # where the gemm form cancels (a row at or near a center), recompute from the differences, so a
        # row equal to a center is at distance exactly 0
        rows, cols = np.nonzero(d2 <= 1e-8 * (xx + cc))
        if rows.size:
            diff = x[rows] - c[cols]
            d2[rows, cols] = np.einsum("ij,ij->i", diff, diff)
        return np.sqrt(np.maximum(d2, 0.0)).astype(dtype)

    def fit_transform(self, X, y=None, sample_weight=None):
        return self.fit(X, sample_weight=sample_weight).transform(X)

    def score(self, X, y=None, sample_weight=None):
        """Minus the sum of squared distances of the rows of X to their closest centers (float64)."""
        if _sparse.is_sparse(X):
            _, squared = self._predict_sparse(X, distances=True)
            w = 1.0 if sample_weight is None else self._sparse_weights(sample_weight, squared.shape[0])
            return -float(np.sum(w * squared))
        if sample_weight is not None:
            raise NotImplementedError("lamina.cluster.KMeans does not support sample_weight")
        labels = self.predict(X)
        x = as_matrix(X, keep_float64=True).astype(np.float64)
        diff = x - self.cluster_centers_.astype(np.float64)[labels]
        return -float(np.einsum("ij,ij->", diff, diff))

    # -- scipy.sparse X (converted once to canonical CSR; the library's *_csr functions) ---------------

    def _sparse_weights(self, sample_weight, n):
        w = np.ascontiguousarray(sample_weight, dtype=np.float64)
        if w.ndim == 0:
            w = np.full(n, float(w))
        if w.shape != (n,):
            raise ShapeMismatchError(f"sample_weight.shape == {w.shape}, expected {(n,)}!")
        return w

    def _fit_sparse(self, X, sample_weight):
        """fit for sparse X: scikit-learn's sparse Lloyd from the same start (no centring of X), dense
        centers in X's precision; sample_weight supported."""
        params, init_centers = self._params()
        N.call("lamina_kmeans_check_params", ctypes.byref(params))
        x = _sparse.as_csr(X)
        if init_centers is not None:
            init_centers = np.ascontiguousarray(init_centers, dtype=x.dtype)
            if init_centers.shape[0] != params.n_clusters:
                raise ShapeMismatchError(f"The shape of the initial centers {init_centers.shape} does not match "
                                         f"the number of clusters {params.n_clusters}.")
            if init_centers.shape[1] != x.shape[1]:
                raise ShapeMismatchError(f"The shape of the initial centers {init_centers.shape} does not match "
                                         f"the number of features of the data {x.shape[1]}.")
        w = None if sample_weight is None else self._sparse_weights(sample_weight, x.shape[0])
        ptr = N.dptr if x.f64 else N.fptr
        handle = N.Handle("lamina_kmeans_create", "lamina_kmeans_free", ctypes.byref(params))
        fn, *args = x.args("lamina_kmeans_fit")
        N.call(fn, handle, *args, ptr(init_centers) if init_centers is not None else None, N.dptr(w) if w is not None else None)
        self._handle = handle
        n, d, k = ctypes.c_int64(), ctypes.c_int64(), ctypes.c_int32()
        inertia, n_iter = ctypes.c_double(), ctypes.c_int32()
        N.call("lamina_kmeans_get_info", handle, ctypes.byref(n), ctypes.byref(d), ctypes.byref(k),
               ctypes.byref(inertia), ctypes.byref(n_iter))
        self.cluster_centers_ = np.empty((k.value, d.value), dtype=x.dtype)
        N.call("lamina_kmeans_get_centers_f64" if x.f64 else "lamina_kmeans_get_centers", handle,
               ptr(self.cluster_centers_), self.cluster_centers_.size)
        self.labels_ = np.empty(n.value, dtype=np.int32)
        N.call("lamina_kmeans_get_labels", handle, N.iptr(self.labels_), self.labels_.size)
        self.inertia_ = float(inertia.value)
        self.n_iter_ = int(n_iter.value)
        self.n_features_in_ = int(d.value)
        distinct = np.unique(self.labels_).size
        if distinct < k.value:
            warnings.warn(f"Number of distinct clusters ({distinct}) found smaller than n_clusters ({k.value}). "
                          "Possibly due to duplicate points in X.", ConvergenceWarning, stacklevel=3)
        return self

    def _sparse_x(self, X):
        self._check_fitted()
        x = _sparse.as_csr(X)
        if x.shape[1] != self.n_features_in_:
            raise ShapeMismatchError(f"X has {x.shape[1]} features, but KMeans is expecting "
                                     f"{self.n_features_in_} features as input (the model was fitted with "
                                     f"{self.n_features_in_}).")
        return x

    def _predict_sparse(self, X, distances=False):
        x = self._sparse_x(X)
        labels = np.empty(x.shape[0], dtype=np.int32)
        squared = np.empty(x.shape[0], dtype=np.float64) if distances else None
        fn, *args = x.args("lamina_kmeans_predict")
        N.call(fn, self._handle, *args, N.iptr(labels), N.dptr(squared) if distances else None)
        return labels, squared

    # -- pickling ----------------------------------------------------------------------------------

    def _native_state(self):
        return {"cluster_centers": np.array(self.cluster_centers_)}   # float32 or float64, as fitted

    def _restore_native(self, state):
        given = np.asarray(state["cluster_centers"])
        f64 = given.dtype == np.float64
        centers = np.ascontiguousarray(given, dtype=np.float64 if f64 else np.float32)
        params = N.lib.lamina_kmeans_default_params()
        params.n_clusters = centers.shape[0]
        handle = N.Handle("lamina_kmeans_create", "lamina_kmeans_free", ctypes.byref(params))
        N.call("lamina_kmeans_set_centers_f64" if f64 else "lamina_kmeans_set_centers", handle,
               N.dptr(centers) if f64 else N.fptr(centers), centers.shape[0], centers.shape[1])
        self._handle = handle
