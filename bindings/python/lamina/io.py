"""Reading activations and labels from HDF5 files (h5py's format) through liblamina."""
from __future__ import annotations

import ctypes
import os

import numpy as np

from . import _native as N
from .errors import FormatError, InvalidArgumentError, LaminaMemoryError

__all__ = ["dataset_info", "read_activations", "read_labels", "ActivationStore", "store_info", "read_store", "StoreReader"]

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


# --- Activation store [experimental] (lamina.h, section "Activation store") -----------------------

_STORE_DTYPES = {"float16": 0, "bfloat16": 1, "float32": 2}


def _store_dtype(arr, dtype, name):
    """(contiguous array, LAMINA_DTYPE code) for one batch: float32 and float16 arrays are stored as
    they are; bfloat16 is given as uint16 bits with dtype="bfloat16"."""
    a = np.asarray(arr)
    if a.ndim != 2:
        raise InvalidArgumentError(f"batch {name!r} has {a.ndim} dimensions; expected a 2-D array (rows x width)")
    if dtype is None:
        if a.dtype == np.float32:
            dtype = "float32"
        elif a.dtype == np.float16:
            dtype = "float16"
        else:
            raise InvalidArgumentError(f"batch {name!r} has dtype {a.dtype}; expected float32 or float16 "
                                       f"(or uint16 bits with dtype='bfloat16')")
    if dtype not in _STORE_DTYPES:
        raise InvalidArgumentError(f"dtype is {dtype!r}; expected 'float16', 'bfloat16' or 'float32'")
    want = {"float32": np.float32, "float16": np.float16, "bfloat16": np.uint16}[dtype]
    if a.dtype != want:
        raise InvalidArgumentError(f"batch {name!r} has dtype {a.dtype}; dtype={dtype!r} expects {np.dtype(want)} values")
    return np.ascontiguousarray(a), _STORE_DTYPES[dtype]


class ActivationStore:
    """Writer of an activation store directory (see lamina.h, "Activation store"): appends batches of
    rows for one or several named datasets (the layers of one forward pass), crash-safe, reopenable.

    Every append gives the same number of rows for every dataset of the store; the first append fixes
    the names, widths and dtype. Each committed batch is one HDF5 file `seg-N.h5` that h5py reads; the
    whole dataset is read back with `lamina.io.read_store(path, name)`, and `SparseAutoencoder.fit`
    takes the directory as its path. Example (forward hooks fill a dict; no torch needed to run it)::

        >>> import numpy as np, tempfile, os
        >>> from lamina.io import ActivationStore, read_store, store_info
        >>> path = os.path.join(tempfile.mkdtemp(), "acts")
        >>> captured = {}
        >>> def hook(name):                      # model.layers[i].register_forward_hook(hook(f"layer{i}"))
        ...     def fn(module, inputs, output):
        ...         captured[name] = output.detach().reshape(-1, output.shape[-1]).half().numpy()
        ...     return fn
        >>> with ActivationStore(path, compression=0) as store:
        ...     for step in range(3):            # stands for: model(batch) running the hooks
        ...         rng = np.random.default_rng(step)
        ...         captured["layer3"] = rng.standard_normal((512, 64)).astype(np.float16)
        ...         captured["layer6"] = rng.standard_normal((512, 32)).astype(np.float16)
        ...         store.append(captured)
        >>> store_info(path, "layer3")
        (1536, 64, 'float16')
        >>> with ActivationStore(path) as store:   # reopen to append more
        ...     store.append({"layer3": np.zeros((8, 64), np.float16), "layer6": np.ones((8, 32), np.float16)})
        ...     store.rows
        1544
        >>> read_store(path, "layer6")[-1, :3]
        array([1., 1., 1.], dtype=float32)
    """

    def __init__(self, path, *, compression=0, durable=False, chunk_rows=0):
        params = N.lib.lamina_store_default_params()
        for field, value in (("compression", compression), ("chunk_rows", chunk_rows)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise InvalidArgumentError(f"{field} is {value!r}; expected an integer")
        params.compression = int(compression)
        params.chunk_rows = int(chunk_rows)
        params.durable = 1 if durable else 0
        self.path = os.fspath(path)
        self._handle = ctypes.c_void_p()
        N.call("lamina_store_open", _path(path), ctypes.byref(params), ctypes.byref(self._handle))

    def append(self, batch, dtype=None):
        """Appends one batch: a dict {dataset name: 2-D array (rows x width)} with the same number of
        rows in every array (float32 or float16; bfloat16 as uint16 bits with dtype="bfloat16"). The
        batch is committed when this returns."""
        if not self._handle:
            raise InvalidArgumentError("the store writer is closed")
        if not isinstance(batch, dict) or not batch:
            raise InvalidArgumentError(f"batch is {type(batch).__name__}; expected a non-empty dict of name -> 2-D array")
        names, arrays, code = [], [], None
        for name, arr in batch.items():
            a, c = _store_dtype(arr, dtype, name)
            if code is not None and c != code:
                raise InvalidArgumentError(f"batch {name!r} has another dtype than the other datasets of this batch")
            code = c
            names.append(name.encode() if isinstance(name, str) else name)
            arrays.append(a)
        rows = {a.shape[0] for a in arrays}
        if len(rows) != 1:
            raise InvalidArgumentError(f"the arrays of one batch have different row counts {sorted(rows)}; "
                                       f"every dataset advances by the same number of rows")
        n = len(arrays)
        c_names = (ctypes.c_char_p * n)(*names)
        widths = np.array([a.shape[1] for a in arrays], dtype=np.int64)
        data = (ctypes.c_void_p * n)(*[a.ctypes.data for a in arrays])
        N.call("lamina_store_append", self._handle, n, c_names, N.lptr(widths), data, code, rows.pop())

    @property
    def rows(self):
        """Rows committed so far (per dataset)."""
        out = ctypes.c_int64()
        N.call("lamina_store_rows", self._handle, ctypes.byref(out))
        return out.value

    def close(self):
        handle, self._handle = self._handle, ctypes.c_void_p()
        if handle:
            N.call("lamina_store_close", handle)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __del__(self):
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass


def store_info(path, dataset):
    """(rows, width, stored dtype name) of `dataset` in the store directory `path`."""
    rows, width, dtype = ctypes.c_int64(), ctypes.c_int64(), ctypes.c_int32()
    N.call("lamina_store_info", _path(path), N.dataset_name(dataset), ctypes.byref(rows), ctypes.byref(width),
           ctypes.byref(dtype))
    return rows.value, width.value, DTYPES[dtype.value]


def read_store(path, dataset, *, start=0, stop=None):
    """Rows [start, stop) of `dataset` of a store as float32 (16-bit values widened)."""
    rows, width, _ = store_info(path, dataset)
    stop = rows if stop is None else int(stop)
    if start < 0 or stop > rows or stop < start:
        raise InvalidArgumentError(f"rows [{start}, {stop}) are out of range for the store dataset {dataset!r} with {rows} rows")
    out = _empty((stop - start, width), np.float32, f"rows [{start}, {stop}) of {dataset!r}")
    N.call("lamina_store_read_f32", _path(path), N.dataset_name(dataset), int(start), stop - start, N.fptr(out), out.size)
    return out


class StoreReader:
    """Deterministic shuffled reads of one dataset of a store (lamina.h, "The shuffled reader"): epoch e
    of seed s visits every row once; `read(epoch, position, n)` returns rows [position, position + n)
    of that order and their row indices in the store, so reading can resume at any position. Memory is
    about `memory_budget` bytes (one window of float32 rows, or two windows of float16/bfloat16 rows:
    a background thread reads the next window while the current one is consumed) plus 8 bytes per
    window row.

        >>> import numpy as np, tempfile, os
        >>> from lamina.io import ActivationStore, StoreReader
        >>> path = os.path.join(tempfile.mkdtemp(), "acts")
        >>> with ActivationStore(path) as s:
        ...     s.append({"h": np.arange(2000 * 4, dtype=np.float32).reshape(2000, 4)})
        >>> r = StoreReader(path, "h", seed=1, memory_budget=4 * 4 * 1024)
        >>> ids = np.concatenate([ids for _, ids in r.batches(epoch=0, batch_size=300)])
        >>> sorted(ids.tolist()) == list(range(2000)), len(ids)
        (True, 2000)
        >>> x, ids2 = r.read(0, 700, 5)
        >>> bool((ids2 == ids[700:705]).all()) and bool((x[:, 0] == 4 * ids2).all())
        True
    """

    def __init__(self, path, dataset, *, seed=0, memory_budget=64 << 20):
        self._handle = N.Handle("lamina_store_reader_open", "lamina_store_reader_free", _path(path),
                                N.dataset_name(dataset), int(seed) & (2**64 - 1), int(memory_budget))
        rows, width, window = ctypes.c_int64(), ctypes.c_int64(), ctypes.c_int64()
        N.call("lamina_store_reader_info", self._handle, ctypes.byref(rows), ctypes.byref(width), ctypes.byref(window))
        self.rows, self.width, self.window_rows = rows.value, width.value, window.value

    def read(self, epoch, position, n):
        """(rows as float32 (n, width), their row indices int64 (n,)) at positions [position, position + n)."""
        x = _empty((int(n), self.width), np.float32, f"{n} rows")
        ids = np.empty(int(n), np.int64)
        N.call("lamina_store_reader_read", self._handle, int(epoch), int(position), int(n), N.fptr(x), x.size, N.lptr(ids))
        return x, ids

    def batches(self, epoch, batch_size, start=0):
        """Yields (rows, row indices) of consecutive batches of the epoch from position `start` (the last
        batch may be shorter)."""
        if batch_size < 1:
            raise InvalidArgumentError(f"batch_size is {batch_size}; expected >= 1")
        p = int(start)
        while p < self.rows:
            n = min(batch_size, self.rows - p)
            yield self.read(epoch, p, n)
            p += n
