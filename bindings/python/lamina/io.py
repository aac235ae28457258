"""Reading activations and labels from HDF5 files (h5py's format) through liblamina."""
from __future__ import annotations

import ctypes
import os

import numpy as np

from . import _native as N
from .errors import FormatError, InvalidArgumentError, LaminaMemoryError

__all__ = ["dataset_info", "read_activations", "read_labels"]

DTYPES = {0: "float16", 1: "bfloat16", 2: "float32", 3: "float64", 4: "int"}


def _path(path):
    return os.fsencode(os.fspath(path))


def dataset_info(path, dataset):
    """(shape, stored dtype name) of a dataset."""
    rank, dtype = ctypes.c_int32(), ctypes.c_int32()
    dims = np.zeros(32, dtype=np.int64)
    N.call("lamina_h5_dataset_info", _path(path), N.dataset_name(dataset), ctypes.byref(rank), N.lptr(dims), 32,
           ctypes.byref(dtype))
    return tuple(int(v) for v in dims[:rank.value]), DTYPES[dtype.value]


def _empty(shape, dtype, what):
    """np.empty for a shape Lamina has validated (dataset_info checks the claimed size against the
    file's storage); a failed allocation becomes a LaminaError, like every other failure here."""
    try:
        return np.empty(shape, dtype=dtype)
    except MemoryError as exc:
        raise LaminaMemoryError(f"cannot allocate {what} of shape {shape} ({dtype}): {exc}") from None


def read_activations(path, dataset, *, start=0, stop=None):
    """Rows [start, stop) of a rank-1 or rank-2 dataset as a float32 array (float16 and bfloat16 are
    widened by Lamina). The shape is validated by Lamina against the file's storage before the array
    is allocated; errors are LaminaError subclasses."""
    shape, _ = dataset_info(path, dataset)
    if len(shape) not in (1, 2):
        raise FormatError(f"dataset {dataset!r} has rank {len(shape)}; expected 1 or 2")
    rows = shape[0]
    stop = rows if stop is None else stop
    if not (isinstance(start, (int, np.integer)) and isinstance(stop, (int, np.integer))) or not 0 <= start <= stop <= rows:
        raise InvalidArgumentError(f"rows [{start}, {stop}) are out of range for dataset {dataset!r} with {rows} rows")
    count = int(stop) - int(start)
    features = shape[1] if len(shape) == 2 else 1
    out = _empty((count, features), np.float32, f"rows [{start}, {stop}) of {dataset!r}")
    N.call("lamina_h5_read_f32", _path(path), N.dataset_name(dataset), start, count, N.fptr(out), out.size)
    return out if len(shape) == 2 else out.reshape(-1)


def read_labels(path, dataset):
    """A rank-1 integer dataset as int32."""
    shape, _ = dataset_info(path, dataset)
    if len(shape) != 1:
        raise FormatError(f"dataset {dataset!r} has rank {len(shape)}; expected a rank-1 label dataset")
    out = _empty(shape[0], np.int32, f"the labels of {dataset!r}")
    N.call("lamina_h5_read_i32", _path(path), N.dataset_name(dataset), N.iptr(out), out.size)
    return out
