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


def _safe(fn_name, path, dataset, **kwargs):
    """Runs io.<fn_name> in a child interpreter (the system libhdf5 can crash on corrupt files before
    Lamina can check anything: see lamina.h, "trusted input"); a crash becomes a FormatError."""
    import pickle
    import subprocess
    import sys
    import tempfile
    with tempfile.TemporaryDirectory(prefix="lamina-safe-") as tmp:
        out = os.path.join(tmp, "result.pkl")
        code = ("import pickle, sys; from lamina import io\n"
                "try:\n    r = ('ok', getattr(io, sys.argv[1])(*pickle.loads(bytes.fromhex(sys.argv[2]))[0], "
                "**pickle.loads(bytes.fromhex(sys.argv[2]))[1]))\n"
                "except Exception as e:\n    r = ('error', e)\n"
                "pickle.dump(r, open(sys.argv[3], 'wb'), protocol=4)\n")
        args = pickle.dumps(((os.fspath(path), dataset), kwargs)).hex()
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.dirname(os.path.dirname(__file__))] + [p for p in sys.path if p]))
        proc = subprocess.run([sys.executable, "-c", code, fn_name, args, out], env=env, capture_output=True)
        if proc.returncode != 0 or not os.path.exists(out):
            raise FormatError(f"reading dataset {dataset!r} of {os.fspath(path)!r} stopped the reading process "
                              f"(exit status {proc.returncode}): the file is corrupt")
        with open(out, "rb") as f:
            status, value = pickle.load(f)
    if status == "error":
        raise value
    return value


def read_activations(path, dataset, *, start=0, stop=None, safe=False):
    """Rows [start, stop) of a rank-1 or rank-2 dataset as a float32 array (float16 and bfloat16 are
    widened by Lamina). The shape is validated by Lamina against the file's storage before the array
    is allocated; errors are LaminaError subclasses. safe=True reads in a child process, so that a
    corrupt file that crashes the system libhdf5 raises FormatError instead (for untrusted files)."""
    if safe:
        return _safe("read_activations", path, dataset, start=start, stop=stop)
    shape, _ = dataset_info(path, dataset)
    if len(shape) not in (1, 2):
        raise FormatError(f"dataset {dataset!r} has rank {len(shape)}; expected 1 or 2")
    rows = shape[0]
    stop = rows if stop is None else stop
    if start < 0:
        raise InvalidArgumentError(f"row_start is {start}; expected >= 0")
    count = max(0, int(stop) - int(start))
    if count and start + count > rows:
        raise InvalidArgumentError(f"rows [{start}, {stop}) are out of range for dataset {dataset!r} with {rows} rows")
    features = shape[1] if len(shape) == 2 else 1
    out = _empty((count, features), np.float32, f"rows [{start}, {stop}) of {dataset!r}")
    N.call("lamina_h5_read_f32", _path(path), N.dataset_name(dataset), start, count, N.fptr(out), out.size)
    return out if len(shape) == 2 else out.reshape(-1)


def read_labels(path, dataset, *, safe=False):
    """A rank-1 integer dataset as int32. safe=True: read in a child process (see read_activations)."""
    if safe:
        return _safe("read_labels", path, dataset)
    shape, _ = dataset_info(path, dataset)
    if len(shape) != 1:
        raise FormatError(f"dataset {dataset!r} has rank {len(shape)}; expected a rank-1 label dataset")
    out = _empty(shape[0], np.int32, f"the labels of {dataset!r}")
    N.call("lamina_h5_read_i32", _path(path), N.dataset_name(dataset), N.iptr(out), out.size)
    return out
