"""Loading liblamina.so and the ctypes declarations that mirror include/lamina.h.

Every function of the header is declared here with its argtypes and restype; `tests/test_abi.py`
checks that the header, this file and the library's exported symbols agree. Nothing here computes:
the helpers convert Python/numpy arguments to the C types once and turn failure statuses into
exceptions carrying `lamina_last_error()`.
"""
from __future__ import annotations

import ctypes
import os
from ctypes import POINTER, c_char_p, c_double, c_float, c_int32, c_int64, c_uint64, c_void_p
from pathlib import Path

import numpy as np

from . import _cpu
from .errors import InvalidArgumentError, NonFiniteError, ShapeMismatchError, error_for_status

EXPECTED_MAJOR = 0  # LAMINA_VERSION_MAJOR of the header this binding mirrors

_here = Path(__file__).resolve().parent


def _candidates():
    env = os.environ.get("LAMINA_LIBRARY")
    if env:
        yield Path(env)
        return
    for name in ("liblamina.so", "liblamina.so.0"):
        yield _here / name
    repo = _here.parent.parent.parent  # bindings/python/lamina -> repository root
    yield repo / ".build" / "release" / "liblamina.so"
    yield repo / ".build" / "debug" / "liblamina.so"
    yield Path("liblamina.so.0")  # the system loader's search path


def _load():
    _cpu.check()  # before any of the library's code runs: it is compiled for x86-64-v3
    tried = []
    for path in _candidates():
        if path.is_absolute() and not path.exists():
            tried.append(f"{path} (missing)")
            continue
        try:
            return ctypes.CDLL(str(path)), path
        except OSError as exc:
            tried.append(f"{path} ({exc})")
    raise ImportError(
        "lamina: cannot load liblamina.so. Build it with `make build` in the repository (or "
        "`swift build -c release`), install the binding with `make python-install`, or point "
        "LAMINA_LIBRARY at the .so. Tried: " + "; ".join(tried))


lib, library_path = _load()

# -- the header's macros, one for one (tests/test_abi.py checks every `#define LAMINA_*` against these,
# and the option tables of the modules against these) -------------------------------------------------
LAMINA_VERSION_MAJOR, LAMINA_VERSION_MINOR, LAMINA_VERSION_PATCH = 0, 2, 0
LAMINA_VERSION_NUMBER = LAMINA_VERSION_MAJOR * 10000 + LAMINA_VERSION_MINOR * 100 + LAMINA_VERSION_PATCH
LAMINA_OK = 0
LAMINA_ERR_INVALID_ARGUMENT = 1
LAMINA_ERR_SHAPE_MISMATCH = 2
LAMINA_ERR_NON_FINITE = 3
LAMINA_ERR_IO = 4
LAMINA_ERR_FORMAT = 5
LAMINA_ERR_OUT_OF_MEMORY = 6
LAMINA_ERR_CANCELLED = 7
LAMINA_ERR_INTERNAL = 8
LAMINA_DISTANCE_EUCLIDEAN, LAMINA_DISTANCE_SQEUCLIDEAN, LAMINA_DISTANCE_COSINE = 0, 1, 2
LAMINA_DISTANCE_MANHATTAN, LAMINA_DISTANCE_CHEBYSHEV, LAMINA_DISTANCE_CORRELATION = 3, 4, 5
LAMINA_LINKAGE_SINGLE, LAMINA_LINKAGE_COMPLETE, LAMINA_LINKAGE_AVERAGE, LAMINA_LINKAGE_CENTROID = 0, 1, 2, 3
LAMINA_DIAMETER_MAX, LAMINA_DIAMETER_MEAN_PAIRWISE, LAMINA_DIAMETER_CENTROID = 0, 1, 2
LAMINA_XIE_BENI_CENTROID, LAMINA_XIE_BENI_POINT_PAIR = 0, 1
LAMINA_AVERAGE_MIN, LAMINA_AVERAGE_GEOMETRIC, LAMINA_AVERAGE_ARITHMETIC, LAMINA_AVERAGE_MAX = 0, 1, 2, 3
LAMINA_KMEANS_INIT_PLUSPLUS, LAMINA_KMEANS_INIT_RANDOM, LAMINA_KMEANS_INIT_GIVEN = 0, 1, 2
LAMINA_DTYPE_FLOAT16, LAMINA_DTYPE_BFLOAT16, LAMINA_DTYPE_FLOAT32, LAMINA_DTYPE_FLOAT64, LAMINA_DTYPE_INT = 0, 1, 2, 3, 4
LAMINA_CLASS_WEIGHT_NONE, LAMINA_CLASS_WEIGHT_BALANCED, LAMINA_CLASS_WEIGHT_GIVEN = 0, 1, 2
LAMINA_STRUCTURAL_DISTANCE, LAMINA_STRUCTURAL_DEPTH = 0, 1
LAMINA_AST_LEAF, LAMINA_AST_BAD_ROOT = -1, -2
LAMINA_SAE_TOPK, LAMINA_SAE_BATCHTOPK, LAMINA_SAE_RELU, LAMINA_SAE_JUMPRELU = 0, 1, 2, 3
LAMINA_SAE_MATRYOSHKA_BATCHTOPK = 4
LAMINA_SAE_MAX_GROUPS = 16
LAMINA_SAE_DECAY_NONE, LAMINA_SAE_DECAY_LINEAR, LAMINA_SAE_DECAY_COSINE = 0, 1, 2
LAMINA_SAE_BDEC_MEAN, LAMINA_SAE_BDEC_GEOMETRIC_MEDIAN, LAMINA_SAE_BDEC_ZERO = 0, 1, 2
LAMINA_SAE_INIT_AUTO, LAMINA_SAE_INIT_SPARSIFY, LAMINA_SAE_INIT_TIED = 0, 1, 2
LAMINA_SAE_FORMAT_SAELENS, LAMINA_SAE_FORMAT_SPARSIFY = 0, 1
LAMINA_SAE_STATS_BINS = 512
LAMINA_RDM_EUCLIDEAN, LAMINA_RDM_CORRELATION, LAMINA_RDM_COSINE = 0, 1, 2
LAMINA_RSA_SPEARMAN, LAMINA_RSA_PEARSON, LAMINA_RSA_KENDALL_TAU_A, LAMINA_RSA_COSINE = 0, 1, 2, 3
LAMINA_BIN_RANGE_LAYER, LAMINA_BIN_RANGE_CHECKPOINT, LAMINA_BIN_RANGE_FIXED = 0, 1, 2
LAMINA_AQI_COLUMNS = 8
LAMINA_AQI_DBS_DUNN, LAMINA_AQI_SILHOUETTE_XB, LAMINA_AQI_CHI_XB = 0, 1, 2
LAMINA_AQI_POOL_NONE, LAMINA_AQI_POOL_UNIFORM, LAMINA_AQI_POOL_GIVEN, LAMINA_AQI_POOL_LEARNED = 0, 1, 2, 3
LAMINA_VLSAE_VISION, LAMINA_VLSAE_TEXT = 0, 1
LAMINA_SAE_REDUCE_DENSE, LAMINA_SAE_REDUCE_SPARSE_ROWS = 0, 1

f32p = POINTER(c_float)
f64p = POINTER(c_double)
i32p = POINTER(c_int32)
i64p = POINTER(c_int64)
u8p = POINTER(ctypes.c_uint8)


# -- the header's structs, field for field (tests/test_abi.py compares sizeof and every offsetof) -------

class KMeansParams(ctypes.Structure):
    """Mirrors `lamina_kmeans_params`."""
    _fields_ = [("n_clusters", c_int32), ("init", c_int32), ("n_init", c_int32),
                ("max_iter", c_int32), ("tol", c_double), ("seed", c_uint64), ("verbose", c_int32)]


class Progress(ctypes.Structure):
    """Mirrors `lamina_progress`."""
    _fields_ = [("task", c_char_p), ("step", c_int64), ("total_steps", c_int64), ("items", c_int64),
                ("loss", c_double), ("items_per_second", c_double), ("n_terms", c_int32),
                ("term_names", POINTER(c_char_p)), ("terms", f64p)]


# int32_t (*lamina_progress_fn)(const lamina_progress*, void*)
ProgressFn = ctypes.CFUNCTYPE(c_int32, POINTER(Progress), c_void_p)

# int32_t (*lamina_reduce_fn)(void* buffer, int64_t count, int32_t dtype, void* user)  (distributed SAE)
ReduceFn = ctypes.CFUNCTYPE(c_int32, c_void_p, c_int64, c_int32, c_void_p)


class ASTTrees(ctypes.Structure):
    """Mirrors `lamina_ast_trees` (AST-Probe)."""
    _fields_ = [("n_trees", c_int64), ("node_offsets", i64p), ("parent", i32p), ("label", i32p),
                ("token_offsets", i64p), ("token_node", i32p)]


class ASTChains(ctypes.Structure):
    """Mirrors `lamina_ast_chains` (AST-Probe)."""
    _fields_ = [("n_chains", c_int64), ("max_chains", c_int64), ("max_atoms", c_int64),
                ("offsets", i64p), ("atoms", i32p)]


class ASTProbeParams(ctypes.Structure):
    """Mirrors `lamina_ast_probe_params`."""
    _fields_ = [("rank", c_int32), ("epochs", c_int32), ("batch_size", c_int32),
                ("lr", c_double), ("orthogonal_reg", c_double), ("beta1", c_double),
                ("beta2", c_double), ("eps", c_double), ("seed", c_uint64)]
class SAEParams(ctypes.Structure):
    """Mirrors `lamina_sae_params`."""
    _fields_ = [("d_in", c_int64), ("n_latents", c_int64), ("architecture", c_int32), ("k", c_int32),
                ("lr", c_double), ("batch_size", c_int32), ("adam_beta1", c_double), ("adam_beta2", c_double),
                ("adam_eps", c_double), ("auxk_alpha", c_double), ("k_aux", c_int32), ("dead_tokens", c_int64),
                ("l1_coefficient", c_double), ("l1_warmup_steps", c_int32), ("jumprelu_init_threshold", c_double),
                ("jumprelu_bandwidth", c_double), ("threshold_rate", c_double), ("warmup_steps", c_int32),
                ("decay", c_int32), ("decay_steps", c_int32), ("grad_clip", c_double), ("b_dec_init", c_int32), ("init", c_int32),
                ("normalize_input", c_int32), ("seed", c_uint64),
                ("n_groups", c_int32), ("group_widths", c_int64 * LAMINA_SAE_MAX_GROUPS),
                ("group_weights", c_double * LAMINA_SAE_MAX_GROUPS)]


class SAEMetrics(ctypes.Structure):
    """Mirrors `lamina_sae_metrics`."""
    _fields_ = [(name, c_double) for name in ("mse", "nmse", "fvu", "explained_variance", "fve",
                                              "cosine_similarity", "l0", "dead_fraction")] + [
        ("n_prefixes", c_int32), ("prefix_fvu", c_double * LAMINA_SAE_MAX_GROUPS)]


class VLSAEParams(ctypes.Structure):
    """Mirrors `lamina_vlsae_params`."""
    _fields_ = [("d_vision", c_int64), ("d_text", c_int64), ("n_latents", c_int64), ("k", c_int32), ("lr", c_double),
                ("batch_size", c_int32), ("adam_beta1", c_double), ("adam_beta2", c_double), ("adam_eps", c_double),
                ("weight_vision", c_double), ("weight_text", c_double), ("dead_tokens", c_int64),
                ("warmup_steps", c_int32), ("decay", c_int32), ("decay_steps", c_int32), ("shuffle", c_int32),
                ("seed", c_uint64), ("auxk_alpha", c_double), ("k_aux", c_int32)]


class LogisticParams(ctypes.Structure):
    """Mirrors `lamina_logistic_probe_params`."""
    _fields_ = [("C", c_double), ("max_iter", c_int32), ("tol", c_double), ("class_weight", c_int32),
                ("standardize", c_int32), ("multi_label", c_int32), ("fit_intercept", c_int32)]


class StructuralProbeParams(ctypes.Structure):
    """Mirrors `lamina_structural_probe_params`."""
    _fields_ = [("kind", c_int32), ("rank", c_int32), ("lr", c_double), ("epochs", c_int32),
                ("batch_size", c_int32), ("seed", c_uint64), ("beta1", c_double), ("beta2", c_double),
                ("eps", c_double), ("plateau_factor", c_double), ("patience", c_int32),
                ("warm_start", c_int32)]


class StoreParams(ctypes.Structure):
    """Mirrors `lamina_store_params`."""
    _fields_ = [("compression", c_int32), ("durable", c_int32), ("chunk_rows", c_int64), ("reserved", c_int64)]


# name: (restype, argtypes) -- one entry per function of lamina.h, in header order.
SIGNATURES = {
    "lamina_version_number": (c_int32, []),
    "lamina_version_string": (c_char_p, []),
    "lamina_status_string": (c_char_p, [c_int32]),
    "lamina_last_error": (c_char_p, []),
    "lamina_set_num_threads": (c_int32, [c_int32]),
    "lamina_get_num_threads": (c_int32, []),
    "lamina_silhouette_samples": (c_int32, [f32p, c_int64, c_int64, i32p, c_int32, f64p]),
    "lamina_silhouette_score": (c_int32, [f32p, c_int64, c_int64, i32p, c_int32, f64p]),
    "lamina_davies_bouldin_score": (c_int32, [f32p, c_int64, c_int64, i32p, f64p]),
    "lamina_calinski_harabasz_score": (c_int32, [f32p, c_int64, c_int64, i32p, f64p]),
    "lamina_dunn_index": (c_int32, [f32p, c_int64, c_int64, i32p, c_int32, c_int32, f64p]),
    "lamina_xie_beni_index": (c_int32, [f32p, c_int64, c_int64, i32p, c_int32, f64p]),
    "lamina_gdv": (c_int32, [f32p, c_int64, c_int64, i32p, f64p]),
    "lamina_silhouette_samples_precomputed": (c_int32, [f32p, c_int64, c_int64, i32p, f64p]),
    "lamina_silhouette_score_precomputed": (c_int32, [f32p, c_int64, c_int64, i32p, f64p]),
    "lamina_silhouette_samples_f64": (c_int32, [f64p, c_int64, c_int64, i32p, c_int32, f64p]),
    "lamina_silhouette_score_f64": (c_int32, [f64p, c_int64, c_int64, i32p, c_int32, f64p]),
    "lamina_davies_bouldin_score_f64": (c_int32, [f64p, c_int64, c_int64, i32p, f64p]),
    "lamina_calinski_harabasz_score_f64": (c_int32, [f64p, c_int64, c_int64, i32p, f64p]),
    "lamina_dunn_index_f64": (c_int32, [f64p, c_int64, c_int64, i32p, c_int32, c_int32, f64p]),
    "lamina_xie_beni_index_f64": (c_int32, [f64p, c_int64, c_int64, i32p, c_int32, f64p]),
    "lamina_gdv_f64": (c_int32, [f64p, c_int64, c_int64, i32p, f64p]),
    "lamina_silhouette_samples_precomputed_f64": (c_int32, [f64p, c_int64, c_int64, i32p, f64p]),
    "lamina_silhouette_score_precomputed_f64": (c_int32, [f64p, c_int64, c_int64, i32p, f64p]),
    "lamina_silhouette_samples_minkowski": (c_int32, [f32p, c_int64, c_int64, i32p, c_double, f64p]),
    "lamina_silhouette_score_minkowski": (c_int32, [f32p, c_int64, c_int64, i32p, c_double, f64p]),
    "lamina_silhouette_samples_minkowski_f64": (c_int32, [f64p, c_int64, c_int64, i32p, c_double, f64p]),
    "lamina_silhouette_score_minkowski_f64": (c_int32, [f64p, c_int64, c_int64, i32p, c_double, f64p]),
    "lamina_contingency_shape": (c_int32, [i32p, i32p, c_int64, i64p, i64p]),
    "lamina_contingency_matrix": (c_int32, [i32p, i32p, c_int64, i64p, c_int64]),
    "lamina_rand_score": (c_int32, [i32p, i32p, c_int64, f64p]),
    "lamina_adjusted_rand_score": (c_int32, [i32p, i32p, c_int64, f64p]),
    "lamina_mutual_info_score": (c_int32, [i32p, i32p, c_int64, f64p]),
    "lamina_normalized_mutual_info_score": (c_int32, [i32p, i32p, c_int64, c_int32, f64p]),
    "lamina_adjusted_mutual_info_score": (c_int32, [i32p, i32p, c_int64, c_int32, f64p]),
    "lamina_homogeneity_completeness_v_measure": (c_int32, [i32p, i32p, c_int64, c_double, f64p, f64p, f64p]),
    "lamina_fowlkes_mallows_score": (c_int32, [i32p, i32p, c_int64, f64p]),
    "lamina_mutual_info_score_contingency": (c_int32, [i64p, i64p, i64p, c_int64, c_int64, c_int64, f64p]),
    "lamina_kmeans_default_params": (KMeansParams, []),
    "lamina_kmeans_check_params": (c_int32, [POINTER(KMeansParams)]),
    "lamina_kmeans_create": (c_int32, [POINTER(KMeansParams), POINTER(c_void_p)]),
    "lamina_kmeans_free": (None, [c_void_p]),
    "lamina_kmeans_fit": (c_int32, [c_void_p, f32p, c_int64, c_int64, f32p]),
    "lamina_kmeans_predict": (c_int32, [c_void_p, f32p, c_int64, c_int64, i32p]),
    "lamina_kmeans_get_info": (c_int32, [c_void_p, i64p, i64p, i32p, f64p, i32p]),
    "lamina_kmeans_get_centers": (c_int32, [c_void_p, f32p, c_int64]),
    "lamina_kmeans_get_labels": (c_int32, [c_void_p, i32p, c_int64]),
    "lamina_kmeans_set_centers": (c_int32, [c_void_p, f32p, c_int64, c_int64]),
    "lamina_kmeans_fit_f64": (c_int32, [c_void_p, f64p, c_int64, c_int64, f64p]),
    "lamina_kmeans_predict_f64": (c_int32, [c_void_p, f64p, c_int64, c_int64, i32p]),
    "lamina_kmeans_get_centers_f64": (c_int32, [c_void_p, f64p, c_int64]),
    "lamina_kmeans_set_centers_f64": (c_int32, [c_void_p, f64p, c_int64, c_int64]),
    "lamina_kmeans_get_precision": (c_int32, [c_void_p, i32p]),
    "lamina_kmeans_fit_weighted": (c_int32, [c_void_p, f32p, c_int64, c_int64, f32p, f32p]),
    "lamina_kmeans_fit_weighted_f64": (c_int32, [c_void_p, f64p, c_int64, c_int64, f64p, f64p]),
    "lamina_kmeans_init_centers": (c_int32, [c_void_p, f32p, c_int64, c_int64, f32p, f32p, c_int64, i64p]),
    "lamina_kmeans_init_centers_f64": (c_int32, [c_void_p, f64p, c_int64, c_int64, f64p, f64p, c_int64, i64p]),
    "lamina_kmeans_get_log": (c_int32, [c_void_p, c_char_p, c_int64, i64p]),
    "lamina_h5_dataset_info": (c_int32, [c_char_p, c_char_p, i32p, i64p, c_int32, i32p]),
    "lamina_h5_read_f32": (c_int32, [c_char_p, c_char_p, c_int64, c_int64, f32p, c_int64]),
    "lamina_h5_read_i32": (c_int32, [c_char_p, c_char_p, i32p, c_int64]),
    # -- linear probes (issue 3): entries go here, in header order
    "lamina_logistic_probe_default_params": (LogisticParams, []),
    "lamina_logistic_probe_check_params": (c_int32, [POINTER(LogisticParams)]),
    "lamina_logistic_probe_create": (c_int32, [POINTER(LogisticParams), POINTER(c_void_p)]),
    "lamina_logistic_probe_free": (None, [c_void_p]),
    "lamina_logistic_probe_fit": (c_int32, [c_void_p, f32p, c_int64, c_int64, i32p, f64p, f64p, c_int32]),
    "lamina_logistic_probe_fit_multilabel": (c_int32, [c_void_p, f32p, c_int64, c_int64, u8p, c_int64, f64p]),
    "lamina_logistic_probe_get_info": (c_int32, [c_void_p, i64p, i32p, i32p, i32p, i32p, f64p, i32p]),
    "lamina_logistic_probe_get_classes": (c_int32, [c_void_p, i32p, c_int64]),
    "lamina_logistic_probe_get_coef": (c_int32, [c_void_p, f64p, c_int64, f64p, c_int64]),
    "lamina_logistic_probe_get_scaler": (c_int32, [c_void_p, f64p, f64p, c_int64]),
    "lamina_logistic_probe_set_coef": (c_int32, [c_void_p, f64p, f64p, c_int32, c_int64, f64p, f64p, i32p, c_int32]),
    "lamina_logistic_probe_decision_function": (c_int32, [c_void_p, f32p, c_int64, c_int64, f64p, c_int64]),
    "lamina_logistic_probe_predict_proba": (c_int32, [c_void_p, f32p, c_int64, c_int64, f64p, c_int64]),
    "lamina_logistic_probe_predict": (c_int32, [c_void_p, f32p, c_int64, c_int64, i32p, c_int64]),
    "lamina_logistic_probe_score": (c_int32, [c_void_p, f32p, c_int64, c_int64, i32p, c_int64, f64p]),
    "lamina_ridge_fit": (c_int32, [f32p, c_int64, c_int64, f64p, c_int64, c_double, c_int32, f64p, f64p, f64p]),
    "lamina_r2_score": (c_int32, [f64p, f64p, c_int64, c_int64, f64p]),
    "lamina_stratified_kfold": (c_int32, [i32p, c_int64, c_int32, c_uint64, i32p]),
    "lamina_layer_sweep": (c_int32, [POINTER(f32p), i64p, c_int32, c_int64, i32p, POINTER(LogisticParams), c_int32,
                                     c_uint64, f64p, f64p, f64p]),
    "lamina_layer_sweep_h5": (c_int32, [c_char_p, POINTER(c_char_p), c_int32, i32p, c_int64, POINTER(LogisticParams),
                                        c_int32, c_uint64, f64p, f64p, f64p]),
    "lamina_control_task_labels": (c_int32, [i32p, i32p, c_int64, c_uint64, i32p]),
    "lamina_mdl_online_codelength": (c_int32, [f32p, c_int64, c_int64, i32p, POINTER(LogisticParams), f64p, c_int32,
                                               i64p, c_uint64, f64p, f64p, f64p, i32p]),
    "lamina_few_shot_accuracy": (c_int32, [f32p, c_int64, c_int64, i32p, f32p, c_int64, i32p, POINTER(LogisticParams),
                                           c_int32, c_int32, c_uint64, f64p]),
    "lamina_gap_at_k": (c_int32, [f32p, f32p, c_int64, c_int64, c_int32, f64p]),
    "lamina_hit_at_1": (c_int32, [f32p, f32p, c_int64, c_int64, f64p]),
    "lamina_mean_difference_direction": (c_int32, [f32p, c_int64, f32p, c_int64, c_int64, f64p]),
    "lamina_pca_direction": (c_int32, [f32p, c_int64, f32p, c_int64, c_int64, c_int32, f64p]),
    "lamina_apply_direction": (c_int32, [f32p, c_int64, c_int64, f64p, c_double, c_int32, f32p]),
    "lamina_inlp": (c_int32, [f32p, c_int64, c_int64, i32p, f32p, c_int64, i32p, POINTER(LogisticParams), c_int32,
                              c_double, f64p, f64p, i32p, i32p]),
    # -- structural probes (issue 3): entries go here, in header order
    "lamina_structural_probe_default_params": (StructuralProbeParams, []),
    "lamina_structural_probe_check_params": (c_int32, [POINTER(StructuralProbeParams)]),
    "lamina_structural_probe_create": (c_int32, [POINTER(StructuralProbeParams), POINTER(c_void_p)]),
    "lamina_structural_probe_free": (None, [c_void_p]),
    "lamina_structural_probe_fit": (c_int32, [c_void_p, f32p, c_int64, c_int64, i64p, c_int64, f32p, c_int64,
                                              c_int64, ProgressFn, c_void_p]),
    "lamina_structural_probe_predict": (c_int32, [c_void_p, f32p, c_int64, c_int64, i64p, c_int64, f32p, c_int64]),
    "lamina_structural_probe_loss": (c_int32, [c_void_p, f32p, c_int64, c_int64, i64p, c_int64, f32p, c_int64,
                                               f64p, f32p, c_int64]),
    "lamina_structural_probe_get_info": (c_int32, [c_void_p, i64p, i32p, i32p, i64p, f64p, f64p, i32p, f64p]),
    "lamina_structural_probe_get_projection": (c_int32, [c_void_p, f32p, c_int64]),
    "lamina_structural_probe_set_projection": (c_int32, [c_void_p, f32p, c_int64, c_int64]),
    "lamina_structural_uuas": (c_int32, [f32p, f32p, c_int64, i64p, c_int64, u8p, f64p, i64p, i64p]),
    "lamina_structural_spearman": (c_int32, [c_int32, f32p, f32p, c_int64, i64p, c_int64, c_int32, c_int32,
                                             f64p, f64p]),
    "lamina_structural_root_accuracy": (c_int32, [f32p, f32p, c_int64, i64p, c_int64, u8p, f64p, i64p, i64p]),
    "lamina_structural_tree_targets": (c_int32, [i32p, c_int64, i64p, c_int64, f32p, c_int64, f32p, c_int64]),
    # -- AST-Probe (issue 3): entries go here, in header order
    "lamina_ast_trees_check": (c_int32, [POINTER(ASTTrees)]),
    "lamina_ast_binarize": (c_int32, [POINTER(ASTTrees), i32p, i32p, i32p, POINTER(ASTChains)]),
    "lamina_ast_tuples": (c_int32, [POINTER(ASTTrees), i32p, i32p, i32p, POINTER(ASTChains)]),
    "lamina_ast_decode": (c_int32, [c_int64, f32p, i32p, i32p, POINTER(ASTChains), c_int64, i32p, i32p,
                                    i32p, i64p]),
    "lamina_ast_f1": (c_int32, [i64p, c_int64, f32p, i32p, i32p, f32p, i32p, i32p, POINTER(ASTChains),
                                f64p, f64p, f64p, f64p]),
    "lamina_ast_probe_default_params": (ASTProbeParams, []),
    "lamina_ast_probe_check_params": (c_int32, [POINTER(ASTProbeParams)]),
    "lamina_ast_probe_create": (c_int32, [POINTER(ASTProbeParams), POINTER(c_void_p)]),
    "lamina_ast_probe_free": (None, [c_void_p]),
    "lamina_ast_probe_fit": (c_int32, [c_void_p, f32p, c_int64, c_int64, i64p, c_int64, i32p, i32p, i32p,
                                       ProgressFn, c_void_p]),
    "lamina_ast_probe_predict": (c_int32, [c_void_p, f32p, c_int64, c_int64, i64p, c_int64, f32p, i32p,
                                           i32p]),
    "lamina_ast_probe_get_info": (c_int32, [c_void_p, i64p, i32p, i32p, i64p, f64p]),
    "lamina_ast_probe_get_weights": (c_int32, [c_void_p, f32p, f32p, f32p, i32p, i32p]),
    "lamina_ast_probe_set_weights": (c_int32, [c_void_p, c_int64, f32p, f32p, i32p, c_int32, f32p, i32p, c_int32]),
    # -- sparse autoencoders (issue 4): entries go here, in header order
    "lamina_sae_default_params": (SAEParams, []),
    "lamina_sae_check_params": (c_int32, [POINTER(SAEParams)]),
    "lamina_sae_create": (c_int32, [POINTER(SAEParams), POINTER(c_void_p)]),
    "lamina_sae_free": (None, [c_void_p]),
    "lamina_sae_get_params": (c_int32, [c_void_p, POINTER(SAEParams)]),
    "lamina_sae_train": (c_int32, [c_void_p, c_void_p, c_int32, c_int64, c_int64, c_int32, ProgressFn, c_void_p]),
    "lamina_sae_train_h5": (c_int32, [c_void_p, c_char_p, c_char_p, c_int32, ProgressFn, c_void_p]),
    "lamina_sae_get_state": (c_int32, [c_void_p, i64p, i64p, i64p, i64p, f32p]),
    "lamina_sae_get_history": (c_int32, [c_void_p, f64p, c_int64]),
    "lamina_sae_encode": (c_int32, [c_void_p, f32p, c_int64, c_int64, f32p, c_int64]),
    "lamina_sae_encode_sparse": (c_int32, [c_void_p, f32p, c_int64, c_int64, c_int32, i32p, f32p, i32p]),
    "lamina_sae_decode": (c_int32, [c_void_p, f32p, c_int64, c_int64, f32p, c_int64]),
    "lamina_sae_decode_sparse": (c_int32, [c_void_p, i32p, f32p, c_int64, c_int32, f32p, c_int64]),
    "lamina_sae_reconstruct": (c_int32, [c_void_p, f32p, c_int64, c_int64, f32p, c_int64]),
    "lamina_sae_evaluate": (c_int32, [c_void_p, f32p, c_int64, c_int64, POINTER(SAEMetrics), f64p]),
    "lamina_sae_get_weights": (c_int32, [c_void_p, f32p, f32p, f32p, f32p, f32p]),
    "lamina_sae_set_weights": (c_int32, [c_void_p, f32p, f32p, f32p, f32p, f32p]),
    "lamina_sae_save": (c_int32, [c_void_p, c_char_p, c_int32]),
    "lamina_sae_load": (c_int32, [c_char_p, POINTER(c_void_p)]),
    "lamina_sae_save_checkpoint": (c_int32, [c_void_p, c_char_p]),
    "lamina_sae_load_checkpoint": (c_int32, [c_char_p, POINTER(c_void_p)]),
    "lamina_sae_latent_statistics": (c_int32, [c_void_p, c_void_p, c_int32, c_int64, c_int64, c_int64, c_int32, c_int32,
                                              i64p, i64p, f64p, f32p, f32p, i64p, i64p, f32p, ProgressFn, c_void_p]),
    "lamina_sae_latent_statistics_h5": (c_int32, [c_void_p, c_char_p, c_char_p, c_int64, c_int32, c_int32,
                                                 i64p, i64p, f64p, f32p, f32p, i64p, i64p, f32p, ProgressFn, c_void_p]),
    "lamina_linear_cka": (c_int32, [f32p, c_int64, c_int64, f32p, c_int64, c_int32, f64p]),
    "lamina_rbf_cka": (c_int32, [f32p, c_int64, c_int64, f32p, c_int64, c_double, c_double, c_double, f64p]),
    "lamina_median_distance": (c_int32, [f32p, c_int64, c_int64, f64p]),
    "lamina_cka_matrix": (c_int32, [POINTER(f32p), i64p, c_int32, POINTER(f32p), i64p, c_int32, c_int64, c_int32,
                                    f64p, c_int64]),
    "lamina_cka_matrix_h5": (c_int32, [c_char_p, POINTER(c_char_p), c_int32, c_char_p, POINTER(c_char_p), c_int32,
                                       c_int32, f64p, c_int64]),
    "lamina_rdm": (c_int32, [f32p, c_int64, c_int64, c_int32, f64p, c_int64]),
    "lamina_rsa": (c_int32, [f32p, c_int64, c_int64, f32p, c_int64, c_int32, c_int32, f64p]),
    "lamina_rdm_compare": (c_int32, [f64p, f64p, c_int64, c_int32, f64p]),
    "lamina_cka_alignment": (c_int32, [POINTER(f32p), i64p, c_int32, c_int64, f32p, c_int64, i32p, c_int32, f64p,
                                       c_int64]),
    "lamina_information_plane": (c_int32, [POINTER(f32p), c_int32, c_int64, c_int64, i32p, i32p, c_int32, c_int32,
                                           c_double, c_double, f64p, c_int64]),
    "lamina_binned_mutual_information": (c_int32, [f32p, c_int64, c_int64, i32p, i32p, c_int32, c_int32, c_double,
                                                   c_double, f64p]),
    "lamina_aqi_score": (c_int32, [f32p, c_int64, c_int64, i32p, c_int32, c_double, c_int32, f64p, c_int64]),
    "lamina_aqi_groups": (c_int32, [f32p, c_int64, c_int64, i32p, i32p, c_int32, c_double, c_int32, f64p, c_int64]),
    "lamina_aqi_layers": (c_int32, [POINTER(f32p), i64p, c_int32, c_int64, i32p, c_int32, c_double, c_int32, c_int32,
                                    c_int32, c_int32, f64p, f64p, c_int64, f64p]),
    "lamina_hdbscan": (c_int32, [f32p, c_int64, c_int64, c_int64, c_int64, i32p, i64p, i64p, f64p, i64p, f64p,
                                 c_int64, i64p]),
    "lamina_flare_aggregate": (c_int32, [POINTER(f32p), i64p, i64p, c_int32, c_int64, POINTER(f64p), POINTER(f64p),
                                         c_double, f64p, c_int64]),
    "lamina_flare_detect": (c_int32, [f64p, c_int64, c_int64, c_int64, c_int64, c_double, c_int32, i32p, f64p, i32p,
                                      i32p, i32p, f64p, f64p]),
    "lamina_flare_detect_split": (c_int32, [f64p, c_int64, c_int64, c_int32, c_int32, c_uint64, i64p, i32p, f64p,
                                            i32p, i32p, i32p, f64p, f64p]),
    "lamina_store_default_params": (StoreParams, []),
    "lamina_store_open": (c_int32, [c_char_p, POINTER(StoreParams), POINTER(c_void_p)]),
    "lamina_store_append": (c_int32, [c_void_p, c_int32, POINTER(c_char_p), i64p, POINTER(c_void_p), c_int32, c_int64]),
    "lamina_store_rows": (c_int32, [c_void_p, i64p]),
    "lamina_store_close": (c_int32, [c_void_p]),
    "lamina_store_info": (c_int32, [c_char_p, c_char_p, i64p, i64p, i32p]),
    "lamina_store_read_f32": (c_int32, [c_char_p, c_char_p, c_int64, c_int64, f32p, c_int64]),
    "lamina_store_reader_open": (c_int32, [c_char_p, c_char_p, c_uint64, c_int64, POINTER(c_void_p)]),
    "lamina_store_reader_read": (c_int32, [c_void_p, c_int64, c_int64, c_int64, f32p, c_int64, i64p]),
    "lamina_store_reader_info": (c_int32, [c_void_p, i64p, i64p, i64p]),
    "lamina_store_reader_free": (None, [c_void_p]),
    "lamina_sae_set_reducer": (c_int32, [c_void_p, ReduceFn, c_void_p, c_int32, c_int32]),
    "lamina_sae_set_shuffle": (c_int32, [c_void_p, c_int32]),
    "lamina_sae_set_reduce_mode": (c_int32, [c_void_p, c_int32]),
    "lamina_structural_probe_set_reducer": (c_int32, [c_void_p, ReduceFn, c_void_p, c_int32, c_int32]),
    "lamina_class_sums_partial": (c_int32, [f32p, c_int64, c_int64, i32p, c_int64, i64p, f64p]),
    "lamina_class_centroids": (c_int32, [c_int64, c_int64, i64p, f64p, f64p]),
    "lamina_class_spread_partial": (c_int32, [f32p, c_int64, c_int64, i32p, c_int64, f64p, f64p, f64p]),
    "lamina_calinski_harabasz_finalize": (c_int32, [c_int64, c_int64, i64p, f64p, f64p, f64p]),
    "lamina_davies_bouldin_finalize": (c_int32, [c_int64, c_int64, i64p, f64p, f64p, f64p]),
    "lamina_contingency_partial": (c_int32, [i32p, i32p, c_int64, i32p, i32p, i64p, c_int64, i64p]),
    "lamina_contingency_merge": (c_int32, [i32p, i32p, i64p, c_int64, i32p, i32p, i64p, c_int64, i64p]),
    "lamina_adjusted_rand_finalize": (c_int32, [i32p, i32p, i64p, c_int64, f64p]),
    "lamina_normalized_mutual_info_finalize": (c_int32, [i32p, i32p, i64p, c_int64, c_int32, f64p]),
    "lamina_adjusted_mutual_info_finalize": (c_int32, [i32p, i32p, i64p, c_int64, c_int32, f64p]),
    "lamina_linear_cka_partial": (c_int32, [f32p, c_int64, c_int64, f32p, c_int64, f64p, f64p, c_int32, f64p, c_int64]),
    "lamina_linear_cka_finalize": (c_int32, [c_int64, c_int64, c_int32, f64p, c_int64, f64p]),

    "lamina_vlsae_default_params": (VLSAEParams, []),
    "lamina_vlsae_check_params": (c_int32, [POINTER(VLSAEParams)]),
    "lamina_vlsae_create": (c_int32, [POINTER(VLSAEParams), POINTER(c_void_p)]),
    "lamina_vlsae_free": (None, [c_void_p]),
    "lamina_vlsae_get_params": (c_int32, [c_void_p, POINTER(VLSAEParams)]),
    "lamina_vlsae_train": (c_int32, [c_void_p, c_void_p, c_void_p, c_int32, c_int64, c_int64, c_int64, c_int32,
                                     ProgressFn, c_void_p]),
    "lamina_vlsae_get_state": (c_int32, [c_void_p, i64p, i64p]),
    "lamina_vlsae_get_history": (c_int32, [c_void_p, f64p, c_int64]),
    "lamina_vlsae_encode": (c_int32, [c_void_p, c_int32, f32p, c_int64, c_int64, f32p, c_int64]),
    "lamina_vlsae_encode_sparse": (c_int32, [c_void_p, c_int32, f32p, c_int64, c_int64, c_int32, i32p, f32p]),
    "lamina_vlsae_decode": (c_int32, [c_void_p, c_int32, f32p, c_int64, c_int64, f32p, c_int64]),
    "lamina_vlsae_decode_sparse": (c_int32, [c_void_p, c_int32, i32p, f32p, c_int64, c_int32, f32p, c_int64]),
    "lamina_vlsae_concept_shift": (c_int32, [c_void_p, f32p, f32p, c_int64, c_int64, c_int64, c_double, c_double,
                                             f32p, c_int64]),
    "lamina_vlsae_save": (c_int32, [c_void_p, c_char_p]),
    "lamina_vlsae_load": (c_int32, [c_char_p, POINTER(c_void_p)]),
    "lamina_vlsae_get_tensor": (c_int32, [c_void_p, c_char_p, f32p, c_int64]),
    "lamina_vlsae_set_tensor": (c_int32, [c_void_p, c_char_p, f32p, c_int64]),
    "lamina_vlsae_train_h5": (c_int32, [c_void_p, c_char_p, c_char_p, c_char_p, c_int32, ProgressFn, c_void_p]),
    "lamina_vlsae_get_position": (c_int32, [c_void_p, i64p, i64p, i64p]),
    "lamina_vlsae_save_checkpoint": (c_int32, [c_void_p, c_char_p]),
    "lamina_vlsae_load_checkpoint": (c_int32, [c_char_p, POINTER(c_void_p)]),
    "lamina_vlsae_set_reducer": (c_int32, [c_void_p, ReduceFn, c_void_p, c_int32, c_int32]),
    "lamina_vlsae_create_projected": (c_int32, [POINTER(VLSAEParams), c_int64, f32p, c_int64, f32p, c_int64,
                                                POINTER(c_void_p)]),
    "lamina_vlsae_get_d_common": (c_int32, [c_void_p, i64p]),
    "lamina_vlsae_project": (c_int32, [c_void_p, c_int32, f32p, c_int64, c_int64, f32p, c_int64]),
    "lamina_vlalign_create": (c_int32, [c_int64, c_int64, c_int64, c_double, c_double, c_double, c_int32, c_uint64,
                                        POINTER(c_void_p)]),
    "lamina_vlalign_free": (None, [c_void_p]),
    "lamina_vlalign_train": (c_int32, [c_void_p, c_void_p, c_void_p, c_int32, c_int64, c_int64, c_int64, c_int32,
                                       ProgressFn, c_void_p]),
    "lamina_vlalign_loss_grad": (c_int32, [c_void_p, f32p, f32p, c_int64, c_int64, c_int64, f64p, f32p, c_int64,
                                           f32p, c_int64]),
    "lamina_vlalign_get_state": (c_int32, [c_void_p, i64p, i64p]),
    "lamina_vlalign_get_history": (c_int32, [c_void_p, f64p, c_int64]),
    "lamina_vlalign_transform": (c_int32, [c_void_p, c_int32, f32p, c_int64, c_int64, f32p, c_int64]),
    "lamina_vlalign_get_tensor": (c_int32, [c_void_p, c_char_p, f32p, c_int64]),
    "lamina_vlalign_set_tensor": (c_int32, [c_void_p, c_char_p, f32p, c_int64]),

    # 18. Sparse (CSR) input
    "lamina_silhouette_samples_csr": (c_int32, [f32p, i64p, i64p, c_int64, c_int64, c_int64, i32p, c_int32, f64p]),
    "lamina_silhouette_score_csr": (c_int32, [f32p, i64p, i64p, c_int64, c_int64, c_int64, i32p, c_int32, f64p]),
    "lamina_silhouette_samples_precomputed_csr": (c_int32, [f32p, i64p, i64p, c_int64, c_int64, c_int64, i32p, f64p]),
    "lamina_silhouette_score_precomputed_csr": (c_int32, [f32p, i64p, i64p, c_int64, c_int64, c_int64, i32p, f64p]),
    "lamina_davies_bouldin_score_csr": (c_int32, [f32p, i64p, i64p, c_int64, c_int64, c_int64, i32p, f64p]),
    "lamina_calinski_harabasz_score_csr": (c_int32, [f32p, i64p, i64p, c_int64, c_int64, c_int64, i32p, f64p]),
    "lamina_xie_beni_index_csr": (c_int32, [f32p, i64p, i64p, c_int64, c_int64, c_int64, i32p, c_int32, f64p]),
    "lamina_kmeans_fit_csr": (c_int32, [c_void_p, f32p, i64p, i64p, c_int64, c_int64, c_int64, f32p, f64p]),
    "lamina_kmeans_predict_csr": (c_int32, [c_void_p, f32p, i64p, i64p, c_int64, c_int64, c_int64, i32p, f64p]),
    "lamina_kmeans_transform_csr": (c_int32, [c_void_p, f32p, i64p, i64p, c_int64, c_int64, c_int64, f64p]),
    "lamina_silhouette_samples_csr_f64": (c_int32, [f64p, i64p, i64p, c_int64, c_int64, c_int64, i32p, c_int32, f64p]),
    "lamina_silhouette_score_csr_f64": (c_int32, [f64p, i64p, i64p, c_int64, c_int64, c_int64, i32p, c_int32, f64p]),
    "lamina_silhouette_samples_precomputed_csr_f64": (c_int32, [f64p, i64p, i64p, c_int64, c_int64, c_int64, i32p, f64p]),
    "lamina_silhouette_score_precomputed_csr_f64": (c_int32, [f64p, i64p, i64p, c_int64, c_int64, c_int64, i32p, f64p]),
    "lamina_davies_bouldin_score_csr_f64": (c_int32, [f64p, i64p, i64p, c_int64, c_int64, c_int64, i32p, f64p]),
    "lamina_calinski_harabasz_score_csr_f64": (c_int32, [f64p, i64p, i64p, c_int64, c_int64, c_int64, i32p, f64p]),
    "lamina_xie_beni_index_csr_f64": (c_int32, [f64p, i64p, i64p, c_int64, c_int64, c_int64, i32p, c_int32, f64p]),
    "lamina_kmeans_fit_csr_f64": (c_int32, [c_void_p, f64p, i64p, i64p, c_int64, c_int64, c_int64, f64p, f64p]),
    "lamina_kmeans_predict_csr_f64": (c_int32, [c_void_p, f64p, i64p, i64p, c_int64, c_int64, c_int64, i32p, f64p]),
    "lamina_kmeans_transform_csr_f64": (c_int32, [c_void_p, f64p, i64p, i64p, c_int64, c_int64, c_int64, f64p]),
    "lamina_kmeans_init_centers_csr": (c_int32, [c_void_p, f32p, i64p, i64p, c_int64, c_int64, c_int64, f64p, f32p,
                                                 c_int64, i64p]),
    "lamina_kmeans_init_centers_csr_f64": (c_int32, [c_void_p, f64p, i64p, i64p, c_int64, c_int64, c_int64, f64p, f64p,
                                                     c_int64, i64p]),
}

for _name, (_restype, _argtypes) in SIGNATURES.items():
    _fn = getattr(lib, _name)
    _fn.restype = _restype
    _fn.argtypes = _argtypes

version_number = lib.lamina_version_number()
version = lib.lamina_version_string().decode()
if version_number // 10000 != EXPECTED_MAJOR:
    raise ImportError(f"lamina: {library_path} is version {version}; this binding needs major version "
                      f"{EXPECTED_MAJOR}. Rebuild the library or reinstall the binding.")


def call(name, *args):
    """Calls a status-returning function; raises the matching LaminaError on failure."""
    status = getattr(lib, name)(*args)
    if status != 0:
        raise error_for_status(status, last_error())


class Handle:
    """Owns one opaque lamina_X handle. `create` is any function whose last argument is the `lamina_X**`
    out-pointer (lamina_X_create, lamina_sae_load, ...); the handle is freed with `free` when the last
    reference goes (so reassigning the attribute that holds it frees the old one) or at once by close().
    ctypes passes a Handle as the pointer itself (`_as_parameter_`); a closed one is passed as NULL,
    which every function rejects with an error."""
    __slots__ = ("_as_parameter_", "_free")

    def __init__(self, create, free, *args):
        self._free = getattr(lib, free)
        self._as_parameter_ = None
        pointer = c_void_p()
        call(create, *args, ctypes.byref(pointer))
        self._as_parameter_ = pointer

    def close(self):
        pointer, self._as_parameter_ = self._as_parameter_, None
        if pointer is not None and pointer.value:
            self._free(pointer)

    def __del__(self):
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass


def option(value, options, name):
    """The C enum value of a string option, or InvalidArgumentError naming the choices."""
    if isinstance(value, str) and value in options:
        return options[value]
    raise InvalidArgumentError(f"{name}={value!r} is not supported; expected one of {sorted(options)}")


def dataset_name(dataset):
    if not isinstance(dataset, str):
        raise InvalidArgumentError(f"dataset={dataset!r}; expected the dataset's path in the file as a str")
    return dataset.encode()


def last_error() -> str:
    return lib.lamina_last_error().decode(errors="replace")


# -- progress callbacks -----------------------------------------------------------------------------

PROGRESS_FIELDS = {"step": "step", "total_steps": "total_steps", "items": "items", "loss": "loss",
                   "items_per_second": "items_per_second"}


def progress_callback(user_fn, stop, record=None, fields=PROGRESS_FIELDS):
    """(ProgressFn, errors) for a C fit/train call. Each report becomes a dict -- `fields` maps its keys
    to attributes of `Progress`, followed by the named loss terms -- which is passed to record(info)
    (if given) and then to user_fn(info) (if given); `stop(result)` decides whether user_fn's result
    cancels. Exceptions raised inside are appended to `errors` and cancel the call instead of crossing
    the C boundary; call raise_callback_error(errors) when the call fails. With neither user_fn nor
    record the ProgressFn is NULL."""
    errors = []
    if user_fn is None and record is None:
        return ProgressFn(), errors

    def trampoline(report, _user):
        try:
            r = report.contents
            info = {key: getattr(r, attr) for key, attr in fields.items()}
            for i in range(r.n_terms):
                info[r.term_names[i].decode()] = r.terms[i]
            if record is not None:
                record(info)
            if user_fn is not None and stop(user_fn(info)):
                return 1
            return 0
        except BaseException as exc:  # noqa: BLE001 - re-raised after the C call returns
            errors.append(exc)
            return 1

    return ProgressFn(trampoline), errors


def raise_callback_error(errors):
    """Raises the first exception a progress callback raised, if any (the C call then failed with
    CancelledError because of it)."""
    if errors:
        raise errors[0]


# -- numpy <-> C, no copies when already C-contiguous float32 / int32 ---------------------------

def as_matrix(X, name="X"):
    """A C-contiguous float32 2-D array (the input itself when it already is one)."""
    arr = np.asarray(X)
    if arr.dtype.kind not in "fiub":
        raise InvalidArgumentError(f"{name} has dtype {arr.dtype}; expected a numeric array")
    if arr.ndim != 2:
        raise InvalidArgumentError(f"Expected 2D array for {name}, got {arr.ndim}D array instead (shape {arr.shape}); "
                         "reshape your data with array.reshape(-1, 1) for a single feature or "
                         "array.reshape(1, -1) for a single sample")
    return np.ascontiguousarray(arr, dtype=np.float32)


def as_matrix_typed(X, name="X"):
    """A C-contiguous 2-D array in the precision Lamina computes it in (the header's rule for the
    `_f64` twins, scikit-learn's dtype rule): float32 stays float32; float64, integers, booleans and
    float16 become float64. The input itself when it already is one of these."""
    if hasattr(X, "tocsr") or hasattr(X, "sparse") and hasattr(X, "density"):
        raise InvalidArgumentError(f"{name} is a sparse matrix; this function needs dense data ({name}.toarray()). "
                                   "Sparse X is computed on directly by silhouette_score/_samples, davies_bouldin_score, "
                                   "calinski_harabasz_score, xie_beni_index and KMeans")
    arr = np.asarray(X)
    if arr.dtype.kind not in "fiub":
        raise InvalidArgumentError(f"{name} has dtype {arr.dtype}; expected a numeric array")
    if arr.ndim != 2:
        raise InvalidArgumentError(f"Expected 2D array for {name}, got {arr.ndim}D array instead (shape {arr.shape}); "
                         "reshape your data with array.reshape(-1, 1) for a single feature or "
                         "array.reshape(1, -1) for a single sample")
    return np.ascontiguousarray(arr, dtype=np.float32 if arr.dtype == np.float32 else np.float64)


def typed(name, arr):
    """(C function name, data pointer) for a matrix from as_matrix_typed: the `_f64` twin for float64."""
    if arr.dtype == np.float64:
        return name + "_f64", arr.ctypes.data_as(f64p)
    return name, arr.ctypes.data_as(f32p)


def as_labels(labels, name="labels"):
    """Labels as C-contiguous int32. Integer labels that fit int32 keep their values; anything else
    (strings, floats, wide integers) is replaced by its rank among the sorted distinct values, which
    preserves scikit-learn's ordering of classes."""
    arr = np.asarray(labels)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr.ravel()
    if arr.ndim != 1:
        raise InvalidArgumentError(f"{name} must be 1-D, got an array of shape {arr.shape}")
    if arr.dtype.kind in "iub" and arr.size and (arr.dtype.itemsize < 4 or arr.dtype == np.int32 or (
            arr.min() >= np.iinfo(np.int32).min and arr.max() <= np.iinfo(np.int32).max)):
        return np.ascontiguousarray(arr, dtype=np.int32)
    if arr.size == 0:
        return np.zeros(0, dtype=np.int32)
    _, codes = np.unique(arr, return_inverse=True)
    return np.ascontiguousarray(codes.reshape(-1), dtype=np.int32)


def as_finite_labels(labels, name="labels"):
    """as_labels, refusing NaN/Inf among float labels (NonFiniteError naming the first index) instead of
    ranking them as one more group (scikit-learn's check_X_y refuses them too)."""
    arr = np.asarray(labels)
    if arr.dtype.kind in "fc" and arr.size:
        bad = ~np.isfinite(arr.reshape(-1))
        if bad.any():
            k = int(np.argmax(bad))
            raise NonFiniteError(f"{name} contains {arr.reshape(-1)[k]} at {k}; expected finite labels")
    return as_labels(arr, name)


def check_consistent_length(*pairs):
    lengths = [len(a) for a in pairs]
    if len(set(lengths)) > 1:
        raise ShapeMismatchError(f"Found input variables with inconsistent numbers of samples: {lengths}")


def fptr(arr):
    return arr.ctypes.data_as(f32p)


def dptr(arr):
    return arr.ctypes.data_as(f64p)


def iptr(arr):
    return arr.ctypes.data_as(i32p)


def lptr(arr):
    return arr.ctypes.data_as(i64p)
