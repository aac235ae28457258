"""Lamina: look inside neural networks. Python binding of liblamina.so.

Submodules: ``lamina.metrics`` (clustering metrics with scikit-learn's names), ``lamina.cluster``
(KMeans), ``lamina.io`` (HDF5 activation files), ``lamina.probe`` (linear probes, layer sweeps,
control tasks, MDL, directions, INLP), ``lamina.structural`` (Hewitt & Manning structural probes),
``lamina.ast_probe`` (AST-Probe: syntax trees from activations), ``lamina.sae`` (sparse autoencoders), ``lamina.dashboard`` (SAE latent statistics, a static HTML dashboard). Errors are ``lamina.LaminaError`` subclasses that
also derive from the matching builtin (ValueError, OSError, MemoryError); ``lamina.NotFittedError`` is
also scikit-learn's NotFittedError when scikit-learn is installed.

Every estimator follows one pattern (``lamina._base``): the constructor only stores its parameters,
``get_params``/``set_params``/``clone`` work, the repr shows the parameters that differ from their
defaults, fitted estimators pickle and deep-copy; with scikit-learn installed they are scikit-learn
estimators (Pipeline, cross_val_score, GridSearchCV). One name per concept: ``random_state``, ``lr``,
``callback=`` (return True to stop) and ``verbose=``.
"""
from . import _native
from .errors import (CancelledError, FormatError, InternalError, InvalidArgumentError, LaminaError,
                     LaminaIOError, LaminaMemoryError, NonFiniteError, NotFittedError, ShapeMismatchError)
from . import (ast_probe, audit, cluster, dashboard, distributed, errors, geometry, io, metrics, probe, sae, sae_eval,
               structural)

__version__ = _native.version
library_path = str(_native.library_path)


def set_num_threads(n: int) -> None:
    """Worker threads for Lamina's kernels (0 = one per core). Results do not depend on it."""
    _native.call("lamina_set_num_threads", int(n))


def get_num_threads() -> int:
    return int(_native.lib.lamina_get_num_threads())


__all__ = ["metrics", "cluster", "io", "probe", "structural", "ast_probe", "sae", "geometry", "audit", "errors", "dashboard",
           "distributed", "sae_eval",
           "LaminaError", "InvalidArgumentError", "ShapeMismatchError", "NonFiniteError", "LaminaIOError",
           "FormatError", "LaminaMemoryError", "CancelledError", "InternalError", "NotFittedError",
           "set_num_threads", "get_num_threads", "__version__", "library_path"]
