"""scipy.sparse input: one conversion to the CSR form the C API's ``*_csr`` functions read.

Any scipy.sparse matrix or array (CSR, CSC, COO, DOK, LIL, BSR, DIA) is converted once to canonical
CSR (sorted indices, duplicates summed: scipy's ``sum_duplicates``) with int64 indices and row
offsets; the values stay float32 when they are float32 and become float64 otherwise (the header's
rule for the ``_f64`` twins, scikit-learn's dtype rule). The matrix is never densified. The caller's
matrix is not modified (a copy is made when it is not already canonical CSR).
"""
from __future__ import annotations

import numpy as np

from . import _native as N
from .errors import InvalidArgumentError, NonFiniteError


def is_sparse(X) -> bool:
    """True for a scipy.sparse matrix or array (without importing scipy when it is not loaded)."""
    import sys
    sp = sys.modules.get("scipy.sparse")
    return sp is not None and sp.issparse(X)


class CSR:
    """A canonical CSR matrix as the C API takes it: data (float32 or float64), indices and indptr
    (int64), nnz, shape."""

    def __init__(self, X, name="X"):
        import scipy.sparse as sp
        if X.ndim != 2:
            raise InvalidArgumentError(f"Expected 2D array for {name}, got {X.ndim}D sparse array instead (shape {X.shape})")
        if X.dtype.kind not in "fiub":
            raise InvalidArgumentError(f"{name} has dtype {X.dtype}; expected a numeric sparse matrix")
        csr = X if X.format == "csr" else X.tocsr()
        dtype = np.float32 if csr.dtype == np.float32 else np.float64
        if csr is X and not X.has_canonical_format:
            csr = X.copy()
        if not csr.has_canonical_format:
            csr.sum_duplicates()   # sorts the indices too
        self.shape = (int(csr.shape[0]), int(csr.shape[1]))
        if self.shape[0] == 0:
            raise InvalidArgumentError(f"Found array with 0 sample(s) (shape={self.shape}) while a minimum of 1 is "
                                       f"required: n is 0 ({name})")
        if self.shape[1] == 0:
            raise InvalidArgumentError(f"Found array with 0 feature(s) (shape={self.shape}) while a minimum of 1 is "
                                       f"required: d is 0 ({name})")
        self.data = np.ascontiguousarray(csr.data, dtype=dtype)
        self.indices = np.ascontiguousarray(csr.indices, dtype=np.int64)
        self.indptr = np.ascontiguousarray(csr.indptr, dtype=np.int64)
        self.nnz = int(self.indptr[-1])
        self.dtype = self.data.dtype
        self._matrix = sp.csr_matrix((self.data, self.indices, self.indptr), shape=self.shape)

    @property
    def f64(self) -> bool:
        return self.dtype == np.float64

    def args(self, name):
        """(C function name, data, indices, indptr, nnz, n, d) for `name` + "_csr" (or "_csr_f64")."""
        fn = name + "_csr" + ("_f64" if self.f64 else "")
        ptr = N.dptr if self.f64 else N.fptr
        return (fn, ptr(self.data), N.lptr(self.indices), N.lptr(self.indptr), self.nnz, self.shape[0], self.shape[1])

    def rows(self, idx):
        """The CSR of the given rows (for silhouette_score's sample_size)."""
        return CSR(self._matrix[idx])

    def rows_and_columns(self, idx):
        return CSR(self._matrix[idx][:, idx])

    def matrix(self):
        return self._matrix

    def check_finite(self, name="X"):
        """For stored values that numpy (not the library) is about to use: NonFiniteError naming the
        first NaN/Inf (row, column), as check_finite does for dense X."""
        bad = np.flatnonzero(~np.isfinite(self.data))
        if bad.size:
            r = int(np.searchsorted(self.indptr, bad[0], side="right") - 1)
            raise NonFiniteError(f"{name} contains {self.data[bad[0]]} at row {r}, column {self.indices[bad[0]]}; "
                                 "expected finite values (Input contains NaN or infinity)")
        return self


def as_csr(X, name="X") -> CSR:
    return CSR(X, name)
