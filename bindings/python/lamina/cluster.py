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

    Parameters mirror sklearn.cluster.KMeans: n_clusters, init ("k-means++", "random", an
    (n_clusters, n_features) array, or a callable init(X, n_clusters, random_state=RandomState) called
    as scikit-learn calls it: once per restart, on X minus its column means, its result read in that
    frame), n_init ("auto" = 1 for k-means++ or an array, 10 for "random" or a callable; an array with
    n_init > 1 warns and runs once, as scikit-learn does), verbose (scikit-learn's lines, recorded by
    the core and printed after the fit: the restarts run in lock-step), copy_x (validated; Lamina never
    writes to X),
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
    closest centers (scikit-learn's definitions), get_feature_names_out() "kmeans0", "kmeans1", ...
    fit(X, sample_weight=w): each sample counts with its weight (weighted k-means++ / random draws,
    weighted means, weighted inertia; unit weights give the unweighted fit exactly).
    """

    _lamina_tags = {"preserves_dtype": ["float64", "float32"], "sparse": True}

    def __init__(self, n_clusters=8, *, init="k-means++", n_init="auto", max_iter=300, tol=1e-4,
                 verbose=0, random_state=None, copy_x=True, algorithm="lloyd"):
        self.n_clusters = n_clusters
        self.algorithm = algorithm
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.verbose = verbose
        self.random_state = random_state
        self.copy_x = copy_x

    def _params(self):
        p = N.lib.lamina_kmeans_default_params()
        p.n_clusters = check_int(self.n_clusters, "n_clusters", bits=32)
        p.max_iter = check_int(self.max_iter, "max_iter", bits=32)
        init_centers = None
        if isinstance(self.init, str):
            p.init = N.option(self.init, _INITS, "init")
        elif callable(self.init):
            p.init = 2
        else:
            p.init = 2
            init_centers = N.as_matrix_typed(self.init, "init")
        if isinstance(self.n_init, str) and self.n_init == "auto":
            # scikit-learn's rule: 1 for k-means++ and an array, 10 for "random" and a callable
            n_init = 10 if (isinstance(self.init, str) and self.init == "random") or callable(self.init) else 1
        elif isinstance(self.n_init, numbers.Integral) and not isinstance(self.n_init, bool):
            n_init = int(self.n_init)
        else:
            raise InvalidArgumentError(f"n_init={self.n_init!r}; expected 'auto' or an integer")
        if init_centers is not None and n_init != 1:
            warnings.warn(f"Explicit initial center position passed: performing only one init in KMeans instead of "
                          f"n_init={n_init}.", RuntimeWarning, stacklevel=3)
            n_init = 1
        p.n_init = max(min(n_init, 2**31 - 1), -2**31)
        if not isinstance(self.tol, numbers.Real) or isinstance(self.tol, bool):
            raise InvalidArgumentError(f"tol={self.tol!r}; expected a number >= 0")
        p.tol = float(self.tol)
        p.seed = check_seed(self.random_state) % 2**64
        if not isinstance(self.algorithm, str) or self.algorithm not in ("lloyd", "elkan"):
            raise InvalidArgumentError(f"The 'algorithm' parameter of KMeans must be a str among {{'elkan', 'lloyd'}}. "
                                       f"Got {self.algorithm!r} instead.")
        if not isinstance(self.copy_x, (bool, np.bool_)):
            raise InvalidArgumentError(f"The 'copy_x' parameter of KMeans must be an instance of 'bool'. "
                                       f"Got {self.copy_x!r} instead.")
        if not isinstance(self.verbose, (numbers.Integral, np.bool_)) or int(self.verbose) < 0:
            raise InvalidArgumentError(f"The 'verbose' parameter of KMeans must be an int in the range [0, inf) or "
                                       f"a bool. Got {self.verbose!r} instead.")
        p.verbose = 1 if self.verbose else 0
        return p, init_centers

    def _check_centers(self, centers, k, d):
        # scikit-learn's _validate_center_shape messages
        if centers.shape[0] != k:
            raise ShapeMismatchError(f"The shape of the initial centers {centers.shape} does not match "
                                     f"the number of clusters {k}.")
        if centers.shape[1] != d:
            raise ShapeMismatchError(f"The shape of the initial centers {centers.shape} does not match "
                                     f"the number of features of the data {d}.")

    def _callable_rng(self):
        """The RandomState a callable init receives: scikit-learn's check_random_state(random_state),
        taken before the seed (None when init is not callable)."""
        if not callable(self.init):
            return None
        return self._random_state(self.random_state)

    @staticmethod
    def _random_state(rs):
        """scikit-learn's check_random_state(rs) (a Generator gives a RandomState seeded by one draw)."""
        if isinstance(rs, np.random.RandomState):
            return rs
        if rs is None:
            return np.random.mtrand._rand
        if isinstance(rs, np.random.Generator):
            return np.random.RandomState(rs.integers(0, 2**31 - 1))
        return np.random.RandomState(rs)

    def _callable_starts(self, x, offset, n_runs, k, rng, dtype):
        """One start per restart from the callable init, called as scikit-learn calls it:
        init(x, n_clusters, random_state=rng) (x: dense X minus its column means, or sparse X as given),
        its result checked for shape and moved by `offset` (the column means, or None), in X's dtype."""
        starts = []
        for _ in range(n_runs):
            c = self.init(x, k, random_state=rng)
            if _sparse.is_sparse(c):
                c = c.toarray()
            c = N.as_matrix_typed(c, "init(X, n_clusters, random_state)")
            self._check_centers(c, k, x.shape[1])
            starts.append(np.ascontiguousarray(c if offset is None else c + offset, dtype=dtype))
        return starts

    @staticmethod
    def _sample_weight(sample_weight, n, dtype):
        """scikit-learn's _check_sample_weight: None -> unit weights (the unweighted fit, bit-identical),
        a scalar -> that weight for every sample, else a 1-D array of n values, in X's dtype. The library
        refuses NaN/inf, negative weights and a zero sum."""
        if sample_weight is None:
            return None
        if isinstance(sample_weight, numbers.Number) and not isinstance(sample_weight, bool):
            return np.full(n, sample_weight, dtype=dtype)
        w = np.asarray(sample_weight)
        if w.dtype.kind not in "fiub":
            raise InvalidArgumentError(f"sample_weight has dtype {w.dtype}; expected numbers")
        if w.ndim != 1:
            raise InvalidArgumentError(f"Sample weights must be 1D array or scalar (sample_weight has shape {w.shape})")
        if w.shape != (n,):
            raise ShapeMismatchError(f"sample_weight.shape == {w.shape}, expected {(n,)}!")
        w = np.ascontiguousarray(w, dtype=dtype)   # a copy when converted: the caller's array is never written
        if n and not np.any(w):
            raise InvalidArgumentError("Sample weights must contain at least one non-zero number. "
                                       "(sample_weight is all zeros; expected a positive sum)")
        return w

    def _init_centroids(self, X, x_squared_norms, init, random_state, sample_weight, init_size=None,
                        n_centroids=None):
        """scikit-learn's private `_BaseKMeans._init_centroids`, with its signature (scikit-learn's tests
        call it): the initial centers for X, an (n_centroids or n_clusters, n_features) array.

        init "k-means++" or "random": the rows of X that fit(X, sample_weight=sample_weight) of a KMeans
        with this init, n_clusters=n_centroids and this random_state starts its first restart from,
        drawn by the library's own seeding code (lamina_kmeans_init_centers and its _f64 and CSR twins:
        weighted k-means++, or distinct rows drawn by weight; a row of weight 0 is never drawn).
        random_state is mapped to the seed as fit maps KMeans(random_state=...): an int is the seed, a
        RandomState or Generator gives one draw, None a draw from numpy's global generator. The draws
        are Lamina's, not scikit-learn's numpy draws. An array init is returned as given (its shape
        checked, in X's dtype); a callable is called as scikit-learn calls it here,
        init(X, n_centroids, random_state=check_random_state(random_state)), its result checked.

        x_squared_norms is accepted and not used: the library computes the rows' squared norms itself
        in float64, in the frame its fit seeds in (a centred copy when the data are badly scaled), so
        that these seeds are exactly the fit's; norms passed in could differ in the last bits and
        change a draw. It is checked for length when given. sample_weight: None (unit weights), a
        scalar, or n_samples values (finite, >= 0, positive sum). init_size, MiniBatchKMeans's random
        subsample of rows for the initialization, is refused unless it is None or >= n_samples (where
        scikit-learn does not subsample either): Lamina has no mini-batch k-means.
        """
        sparse = _sparse.is_sparse(X)
        x = _sparse.as_csr(X) if sparse else as_matrix(X, keep_float64=True)
        n, d = x.shape
        if init_size is not None and not (isinstance(init_size, numbers.Integral) and not isinstance(init_size, bool)
                                          and init_size >= n):
            raise InvalidArgumentError(f"init_size={init_size!r}: initializing on a random subsample of the rows is "
                                       f"MiniBatchKMeans's option, which Lamina does not have; pass init_size=None "
                                       f"(or >= n_samples = {n})")
        k = check_int(self.n_clusters if n_centroids is None else n_centroids, "n_centroids", bits=32)
        if x_squared_norms is not None and np.shape(x_squared_norms) != (n,):
            raise ShapeMismatchError(f"x_squared_norms has shape {np.shape(x_squared_norms)}; expected ({n},)")
        if not isinstance(init, str) and callable(init):
            c = init(x.matrix() if sparse else X, k, random_state=self._random_state(random_state))
            if _sparse.is_sparse(c):
                c = c.toarray()
            c = N.as_matrix_typed(c, "init(X, n_centroids, random_state)")
            self._check_centers(c, k, d)
            return np.ascontiguousarray(c, dtype=x.dtype)
        if not isinstance(init, str):
            c = N.as_matrix_typed(init, "init")
            self._check_centers(c, k, d)
            return np.ascontiguousarray(c, dtype=x.dtype)
        params = N.lib.lamina_kmeans_default_params()
        params.n_clusters = k
        params.init = N.option(init, _INITS, "init")
        params.seed = check_seed(random_state) % 2**64
        handle = N.Handle("lamina_kmeans_create", "lamina_kmeans_free", ctypes.byref(params))
        centers = np.empty((k, d), dtype=x.dtype)
        ptr = N.dptr if centers.dtype == np.float64 else N.fptr
        if sparse:
            w = None if sample_weight is None else self._sparse_weights(sample_weight, n)
            fn, *args = x.args("lamina_kmeans_init_centers")
            N.call(fn, handle, *args, N.dptr(w) if w is not None else None, ptr(centers), centers.size, None)
        else:
            w = self._sample_weight(sample_weight, n, x.dtype)
            N.call("lamina_kmeans_init_centers_f64" if x.dtype == np.float64 else "lamina_kmeans_init_centers",
                   handle, ptr(x), n, d, ptr(w) if w is not None else None, ptr(centers), centers.size, None)
        return centers

    def fit(self, X, y=None, sample_weight=None):
        """Fits on X (n_samples, n_features). sample_weight (n_samples,), or a scalar: each sample counts
        with its weight in the k-means++ / random draws, the centers (weighted means) and the inertia
        (scikit-learn's semantics; unused by an array or callable init, as in scikit-learn)."""
        if _sparse.is_sparse(X):   # scipy.sparse X: Lloyd on CSR rows in the library, never densified
            return self._fit_sparse(X, sample_weight)
        rng = self._callable_rng()
        params, init_centers = self._params()
        N.call("lamina_kmeans_check_params", ctypes.byref(params))   # parameter errors before data errors
        x = as_matrix(X, keep_float64=True)
        f64 = x.dtype == np.float64
        k = params.n_clusters
        if self.algorithm == "elkan" and k == 1:
            warnings.warn("algorithm='elkan' doesn't make sense for a single cluster. Using 'lloyd' instead.",
                          RuntimeWarning, stacklevel=2)
        weights = self._sample_weight(sample_weight, x.shape[0], x.dtype)
        n_runs = 1
        if init_centers is not None:
            init_centers = np.ascontiguousarray(init_centers, dtype=x.dtype)   # scikit-learn: X's dtype
            # The C API reads n_clusters x n_features values from the pointer: check the shape here,
            # where it is known (scikit-learn's messages).
            self._check_centers(init_centers, k, x.shape[1])
        elif callable(self.init):
            # scikit-learn calls init(X, n_clusters, random_state=RandomState) once per restart, on X
            # minus its column means, and reads the result in that frame: the same here, so that a
            # callable gives the starts it gives scikit-learn.
            n_runs = params.n_init
            # scikit-learn's order: X's values, then n_samples >= n_clusters, then the callable
            check_finite(x)
            if x.shape[0] < k:
                raise InvalidArgumentError(f"n_samples={x.shape[0]} should be >= n_clusters={k}.")
            mean = x.mean(axis=0)
            starts = self._callable_starts(x - mean, mean, n_runs, k, rng, x.dtype)
            params.n_init = 1
        self._n_init = n_runs if callable(self.init) else int(params.n_init)
        ptr = N.dptr if f64 else N.fptr
        best = None
        for run in range(n_runs):
            given = starts[run] if callable(self.init) else init_centers
            handle = N.Handle("lamina_kmeans_create", "lamina_kmeans_free", ctypes.byref(params))
            if weights is None:
                N.call("lamina_kmeans_fit_f64" if f64 else "lamina_kmeans_fit", handle, ptr(x), x.shape[0], x.shape[1],
                       ptr(given) if given is not None else None)
            else:
                N.call("lamina_kmeans_fit_weighted_f64" if f64 else "lamina_kmeans_fit_weighted", handle, ptr(x),
                       x.shape[0], x.shape[1], ptr(given) if given is not None else None, ptr(weights))
            if self.verbose:
                # scikit-learn's verbose lines (the restarts run in lock-step: printed after the fit)
                length = ctypes.c_int64()
                N.call("lamina_kmeans_get_log", handle, None, 0, ctypes.byref(length))
                buffer = ctypes.create_string_buffer(length.value + 1)
                N.call("lamina_kmeans_get_log", handle, buffer, length.value + 1, ctypes.byref(length))
                print(buffer.value.decode(), end="")
            inertia = ctypes.c_double()
            N.call("lamina_kmeans_get_info", handle, None, None, None, ctypes.byref(inertia), None)
            if best is None or inertia.value < best[1]:
                best = (handle, inertia.value)
        handle = best[0]
        self._handle = handle  # a failed fit keeps the previous model; the old handle is freed here
        n, d, kk = ctypes.c_int64(), ctypes.c_int64(), ctypes.c_int32()
        inertia, n_iter = ctypes.c_double(), ctypes.c_int32()
        N.call("lamina_kmeans_get_info", handle, ctypes.byref(n), ctypes.byref(d), ctypes.byref(kk),
               ctypes.byref(inertia), ctypes.byref(n_iter))
        self.cluster_centers_ = np.empty((kk.value, d.value), dtype=x.dtype)
        N.call("lamina_kmeans_get_centers_f64" if f64 else "lamina_kmeans_get_centers", handle,
               ptr(self.cluster_centers_), self.cluster_centers_.size)
        self.labels_ = np.empty(n.value, dtype=np.int32)
        N.call("lamina_kmeans_get_labels", handle, N.iptr(self.labels_), self.labels_.size)
        self.inertia_ = float(inertia.value)
        self.n_iter_ = int(n_iter.value)
        self.n_features_in_ = int(d.value)
        self._n_features_out = int(kk.value)
        distinct = np.unique(self.labels_).size
        if distinct < kk.value:   # scikit-learn's warning (duplicate points: fewer distinct than clusters)
            warnings.warn(f"Number of distinct clusters ({distinct}) found smaller than n_clusters ({kk.value}). "
                          "Possibly due to duplicate points in X.", ConvergenceWarning, stacklevel=2)
        return self

    def get_feature_names_out(self, input_features=None):
        """Output feature names of transform: "kmeans0", ..., "kmeans{n_clusters - 1}" (scikit-learn's
        class-name prefix rule), an object array. input_features, if given, must have n_features_in_
        names (only checked)."""
        self._check_fitted("get_feature_names_out")
        if input_features is not None:
            names = np.asarray(input_features, dtype=object)
            if names.ndim != 1 or names.shape[0] != self.n_features_in_:
                raise InvalidArgumentError(f"input_features should have length equal to number of features "
                                           f"({self.n_features_in_}), got {names.shape[0] if names.ndim else 0}")
            seen = getattr(self, "feature_names_in_", None)
            if seen is not None and not np.array_equal(seen, names):
                raise InvalidArgumentError("input_features is not equal to feature_names_in_")
        return np.asarray([f"kmeans{i}" for i in range(self._n_features_out)], dtype=object)

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
        """Minus the sum, weighted by sample_weight if given, of the squared distances of the rows of X
        to their closest centers (float64; scikit-learn's score)."""
        if _sparse.is_sparse(X):
            _, squared = self._predict_sparse(X, distances=True)
            w = 1.0 if sample_weight is None else self._sparse_weights(sample_weight, squared.shape[0])
            return -float(np.sum(w * squared))
        labels = self.predict(X)
        x = as_matrix(X, keep_float64=True).astype(np.float64)
        w = self._sample_weight(sample_weight, x.shape[0], np.float64)
        if w is not None and not np.all(np.isfinite(w)):
            raise InvalidArgumentError("sample_weight contains NaN or infinity; expected finite weights")
        diff = x - self.cluster_centers_.astype(np.float64)[labels]
        sq = np.einsum("ij,ij->i", diff, diff)
        return -float(sq.sum() if w is None else sq @ w)

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
        rng = self._callable_rng()
        params, init_centers = self._params()
        N.call("lamina_kmeans_check_params", ctypes.byref(params))
        x = _sparse.as_csr(X)
        k = params.n_clusters
        starts = [None]
        if init_centers is not None:
            starts = [np.ascontiguousarray(init_centers, dtype=x.dtype)]
            self._check_centers(starts[0], k, x.shape[1])
        elif callable(self.init):
            # scikit-learn calls init(X, n_clusters, random_state=RandomState) once per restart on the
            # sparse X itself (sparse X is never centred) and keeps the restart of least inertia.
            x.check_finite()   # scikit-learn's order: X's values, n_samples >= n_clusters, the callable
            if x.shape[0] < k:
                raise InvalidArgumentError(f"n_samples={x.shape[0]} should be >= n_clusters={k}.")
            starts = self._callable_starts(x.matrix(), None, params.n_init, k, rng, x.dtype)
            params.n_init = 1
        self._n_init = len(starts) if callable(self.init) else int(params.n_init)
        w = None if sample_weight is None else self._sparse_weights(sample_weight, x.shape[0])
        ptr = N.dptr if x.f64 else N.fptr
        fn, *args = x.args("lamina_kmeans_fit")
        best = None
        for given in starts:
            handle = N.Handle("lamina_kmeans_create", "lamina_kmeans_free", ctypes.byref(params))
            N.call(fn, handle, *args, ptr(given) if given is not None else None, N.dptr(w) if w is not None else None)
            inertia = ctypes.c_double()
            N.call("lamina_kmeans_get_info", handle, None, None, None, ctypes.byref(inertia), None)
            if best is None or inertia.value < best[1]:
                best = (handle, inertia.value)
        handle = best[0]
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
