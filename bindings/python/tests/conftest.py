"""Shared fixtures of the Python oracle tests: seeded random data sets and the bundled real data.

Every generator is seeded, so a failing case is reproducible from its test id alone. Data are
float32 C-contiguous (what Lamina computes on); oracles get float64 copies of exactly these values.
"""
from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np
import pytest

import lamina

REPO = Path(__file__).resolve().parents[3]
REAL_DATA_PATH = Path(os.environ.get("LAMINA_REAL_DATA", REPO / "examples" / "data" / "minilm_wordnet.h5"))
REAL_LAYERS = (0, 3, 6)         # the layers the real-data oracles run on (of /target/layer_0..6)
REAL_LABELSETS = ("pos", "supersense")


# -- seeded random data sets for the internal indices -----------------------------------------------

def _blobs(n, d, centers, seed, std=1.0, box=(-10.0, 10.0)):
    from sklearn.datasets import make_blobs
    X, y = make_blobs(n_samples=n, n_features=d, centers=centers, cluster_std=std, center_box=box,
                      random_state=seed)
    return X, y


def _gen_blobs(seed=0):
    return _blobs(1500, 20, 6, seed)


def _gen_noise(seed=1):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((1000, 10)), rng.integers(0, 5, 1000)


def _gen_offset_noise(seed=2):
    # Pure noise around a large common offset, like the mean direction of transformer activations.
    rng = np.random.default_rng(seed)
    return rng.standard_normal((800, 16)) + 50.0, rng.integers(0, 4, 800)


def _gen_anisotropic(seed=3):
    # scikit-learn's "anisotropically distributed blobs" (plot_kmeans_assumptions) lifted to 6-D,
    # with per-feature scales spanning three orders of magnitude.
    X, y = _blobs(1200, 6, 3, seed)
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((6, 6)) * np.logspace(-1.5, 1.5, 6)
    return X @ A, y


def _gen_singletons(seed=4):
    # Four normal clusters plus three clusters of one sample each (silhouette 0, diameter 0).
    X, y = _blobs(400, 5, 4, seed)
    rng = np.random.default_rng(seed)
    extra = rng.uniform(-30, 30, (3, 5))
    return np.vstack([X, extra]), np.concatenate([y, [10, 11, 12]])


def _gen_duplicates(seed=5):
    # 150 distinct points, each present three times (exact zero distances inside clusters).
    X, y = _blobs(150, 8, 5, seed, std=2.0)
    order = np.random.default_rng(seed).permutation(450)
    return np.repeat(X, 3, axis=0)[order], np.repeat(y, 3)[order]


def _gen_zero_rows(seed=6):
    # Noise with some all-zero rows (cosine: a zero row is at distance 1 from everything).
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((500, 12)) + rng.integers(-2, 3, (1, 12))
    X[rng.choice(500, 7, replace=False)] = 0.0
    return X, rng.integers(0, 4, 500)


def _gen_many_clusters(seed=7):
    # The largest case: n = 3000, d = 200, 50 clusters.
    return _blobs(3000, 200, 50, seed, std=3.0)


def _gen_high_dim(seed=8):
    return _blobs(400, 200, 3, seed, std=5.0)


def _gen_tight_far(seed=9):
    # Tight clusters far apart: small within-cluster distances next to large norms.
    return _blobs(600, 30, 5, seed, std=0.2, box=(-100.0, 100.0))


GENERATORS = {
    "blobs": _gen_blobs,
    "noise": _gen_noise,
    "offset_noise": _gen_offset_noise,
    "anisotropic": _gen_anisotropic,
    "singletons": _gen_singletons,
    "duplicates": _gen_duplicates,
    "zero_rows": _gen_zero_rows,
    "many_clusters": _gen_many_clusters,
    "high_dim": _gen_high_dim,
    "tight_far": _gen_tight_far,
}
DATASET_NAMES = tuple(GENERATORS)


@functools.lru_cache(maxsize=None)
def make_dataset(name):
    """(X float32 C-contiguous, labels int64) for a named seeded data set (cached, read-only)."""
    X, y = GENERATORS[name]()
    X = np.ascontiguousarray(X, dtype=np.float32)
    y = np.ascontiguousarray(y, dtype=np.int64)
    X.setflags(write=False)
    y.setflags(write=False)
    return X, y


@pytest.fixture(params=DATASET_NAMES)
def dataset(request):
    """(name, X float32, labels) for every seeded data set."""
    X, y = make_dataset(request.param)
    return request.param, X, y


@pytest.fixture
def rng():
    return np.random.default_rng(20240607)


def random_labelings(n, k_true, k_pred, seed):
    """Two independent uniform labelings of n samples with k_true and k_pred classes (values 0..k-1;
    every class present when n >= k)."""
    r = np.random.default_rng(seed)

    def one(k):
        if n >= k:
            lab = np.concatenate([np.arange(k), r.integers(0, k, n - k)])
            return r.permutation(lab)
        return r.integers(0, k, n)

    return one(k_true), one(k_pred)


# -- threads ---------------------------------------------------------------------------------------

@pytest.fixture
def restore_threads():
    """Restores Lamina's worker-thread setting after a test that changes it."""
    before = lamina.get_num_threads()
    yield
    lamina.set_num_threads(0 if before == os.cpu_count() else before)


# -- the bundled real data (MiniLM activations of WordNet sentences) --------------------------------

@pytest.fixture(scope="session")
def real_data_path():
    if not REAL_DATA_PATH.exists():
        pytest.skip(f"real data {REAL_DATA_PATH} is absent (make demo-data)")
    return REAL_DATA_PATH


@functools.lru_cache(maxsize=None)
def _read_layer(path, layer):
    X = lamina.io.read_activations(path, f"/target/layer_{layer}")
    X.setflags(write=False)
    return X


@functools.lru_cache(maxsize=None)
def _read_labels(path, name):
    y = lamina.io.read_labels(path, f"/labels/{name}")
    y.setflags(write=False)
    return y


class RealData:
    """Lazy, cached access to the real activations and labels, read with lamina.io."""

    def __init__(self, path):
        self.path = str(path)

    def layer(self, k):
        """/target/layer_k as float32 (n, 384), read by lamina.io.read_activations."""
        return _read_layer(self.path, k)

    def labels(self, name):
        """/labels/<name> as int32 (n,), read by lamina.io.read_labels."""
        return _read_labels(self.path, name)


@pytest.fixture(scope="session")
def real_data(real_data_path):
    return RealData(real_data_path)
