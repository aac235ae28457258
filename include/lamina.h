/*
 * lamina.h -- the C API of Lamina, a toolkit for looking inside neural networks.
 *
 * Lamina takes the hidden representations of a model (activations, embeddings) and answers what
 * interpretability research asks of them: how they cluster, how well they separate labelled classes,
 * how two labelings of them agree, what a linear or structural probe recovers from them, which sparse
 * features a sparse autoencoder finds in them. The numerics are Swift; this header is the one contract
 * that every binding (Python, C) uses. It is the spec: each function says what it computes (formula or
 * reference), the shapes of its buffers, its errors and who owns what. How the kernels reach their
 * speed and accuracy (tiling, bounds, mixed precision) is documented in ARCHITECTURE.md ("Kernel notes"), not here.
 *
 * Contents (search for the section title)
 *    1. Version                              stable        lamina_version_*
 *    2. Status and errors                    stable        lamina_status, LAMINA_OK, LAMINA_ERR_*, lamina_last_error
 *    3. Threads                              stable        lamina_set_num_threads, lamina_get_num_threads
 *    4. Progress of long-running jobs        stable        lamina_progress, lamina_progress_fn
 *    5. Internal cluster-validity indices    stable        silhouette, Davies-Bouldin, Calinski-Harabasz, Dunn,
 *                                                          Xie-Beni, GDV
 *    6. External indices                     stable        contingency, (adjusted) Rand, (normalized, adjusted)
 *                                                          mutual information, V-measure, Fowlkes-Mallows
 *    7. k-means                              stable        lamina_kmeans_*
 *    8. HDF5 activation files                stable        lamina_dtype, lamina_h5_*
 *    9. Linear probes                        stable        lamina_logistic_probe_*, ridge, R^2, stratified folds,
 *                                                          layer sweeps, control tasks, MDL, few-shot, GAP,
 *                                                          directions, INLP
 *   10. Structural probes                    experimental  lamina_structural_*
 *   11. AST-Probe                            experimental  lamina_ast_*
 *   12. Sparse autoencoders                  experimental  lamina_sae_*
 *   13. Representation geometry              experimental  CKA (linear, debiased, RBF), CKA matrix, kernel
 *                                                          alignment, RDMs and RSA, information plane
 *   14. Audits                               experimental  lamina_aqi_* (Alignment Quality Index variants,
 *                                                          layer pooling), lamina_hdbscan,
 *                                                          lamina_flare_* (FLARE poisoned-sample detection: released
 *                                                          code; split-and-stability variant)
 *   15. Activation store                     experimental  lamina_store_*
 *   16. Distributed SAE training             experimental  lamina_reduce_fn, lamina_sae_set_reducer, lamina_sae_set_shuffle,
 *                                                          lamina_sae_set_reduce_mode, lamina_structural_probe_set_reducer,
 *                                                          mergeable CH / DB (lamina_class_*_partial, *_finalize),
 *                                                          contingency (ARI / NMI / AMI) and linear CKA partials
 *   17. VL-SAE                               experimental  lamina_vlsae_* (one concept space for two modalities)
 *                                                          lamina_vlalign_* (17b: its InfoNCE alignment stage)
 *   18. Sparse (CSR) input                   experimental  lamina_*_csr(_f64): silhouette, Davies-Bouldin,
 *                                                          Calinski-Harabasz, Xie-Beni, k-means on CSR rows
 *
 * Conventions
 *  - Every fallible function returns a lamina_status, LAMINA_OK (0) on success. On failure,
 *    lamina_last_error() returns a message for the last failure on the calling thread that names the
 *    argument, the value received and what was expected.
 *  - Matrices are row-major float32: `const float* x, int64_t n, int64_t d` means n rows (samples) of
 *    d features, size n*d. Labels are int32_t with any values (remapped inside, in ascending order of
 *    value). Outputs are allocated by the caller with the documented sizes; an output array comes
 *    with its length (`out, out_len`), which must equal the documented size
 *    (LAMINA_ERR_SHAPE_MISMATCH otherwise).
 *  - float64 twins [experimental]: a function whose data argument is `const float* x` may have a twin
 *    with the suffix `_f64` whose data argument is `const double* x` (every other argument, the checks,
 *    the errors and the meaning are the same). The twin computes in float64 throughout (float64
 *    storage, dgemm, float64 accumulation), as scikit-learn does for float64 input; its results agree
 *    with float64 references to ~1e-12 relative instead of ~1e-6. Bindings pick the twin by the input's
 *    dtype (float32 -> the plain function; float64, integers -> `_f64`: scikit-learn's rule). Twins
 *    exist for every internal cluster-validity index (section 5) and for k-means (section 7: fit,
 *    predict, get_centers, set_centers; the data and the centers are double in the twin).
 *  - Ragged inputs (items of different lengths: sentences, code snippets) are passed concatenated,
 *    followed by their partition as the pair `const int64_t* offsets, int64_t n_items` (pointer first,
 *    as `x, n` for matrices): offsets has n_items + 1 entries, offsets[0] = 0, item k is rows
 *    offsets[k] ..< offsets[k+1]. E.g. `x, n_tokens, d, offsets, n_items`.
 *  - Every argument is validated before any work starts: NULL pointers, n or d <= 0, n*d overflow,
 *    NaN/Inf in the data (the message names the first bad row and column), enum values out of range,
 *    label counts, parameters. No input can crash the library.
 *  - Names: lamina_<object>_<verb>. An object with state is an opaque handle: lamina_X_create makes it
 *    (from a params struct, copied), lamina_X_free frees it (NULL and dead handles are ignored). Its
 *    params come from lamina_X_default_params() and are validated by lamina_X_check_params(). Results
 *    are read with lamina_X_get_<field> (lamina_X_get_info: the scalars of a fit, through out-pointers
 *    each of which may be NULL) and written with lamina_X_set_<field>.
 *  - Ownership: strings returned by Lamina are static or thread-local and owned by the library (never
 *    free them); handles belong to the caller until lamina_X_free; Lamina keeps no pointer to a caller's
 *    buffer after a call returns.
 *  - Numbers: float32 storage, float64 accumulation; results are deterministic (same inputs, same
 *    seed: bit-identical results for any thread count, unless a section says otherwise).
 *  - Threads: stateless functions are safe to call from any thread. A handle (lamina_kmeans*, ...) must
 *    be used by one thread at a time. Lamina's kernels parallelise themselves (lamina_set_num_threads).
 *
 * Stability
 *  Each section above is stable or experimental (also marked in its banner).
 *  - Stable: the name, arguments and meaning (formula, reference, edge cases, errors) of a function,
 *    the value of a macro, and the name, type and position of a struct field. Patch releases never
 *    change them. Before 1.0 they change only in a minor release (0.x -> 0.x+1) and every change is
 *    listed in CHANGELOG.md with its replacement; from 1.0 on, only in a major release. A result that
 *    leaves its documented tolerance is a bug, not a change.
 *  - Experimental: may change in any minor release (listed in CHANGELOG.md as well), including
 *    defaults, training recipes and struct layouts. Use them from the header of the release you load.
 *  - Params structs (lamina_X_params) grow append-only: a new field is added at the end, with a
 *    default that keeps the previous behaviour; an existing field never moves, changes type or changes
 *    meaning, and is never removed within a major version. Callers always start from
 *    lamina_X_default_params() and then set the fields they need -- never from `{0}` or a positional
 *    initializer -- so that code compiled against a newer header gets the defaults of the fields it
 *    does not know. Structs Lamina fills (lamina_progress, lamina_sae_metrics) are only appended to
 *    as well.
 *  - Binary compatibility: appending a field changes sizeof, and the structs travel by value or by
 *    pointer, so a program is compiled against the header of the minor version it loads. Check at
 *    startup: lamina_version_number() / 100 == LAMINA_VERSION_NUMBER / 100 (same major and minor).
 *    The Python binding ships with its library and checks its version when imported.
 *  - Enforced: bindings/python/tests/abi_layout.json records the layout (field names, C types, offsets,
 *    sizes) of every stable struct; bindings/python/tests/test_abi.py fails when a recorded field moves,
 *    changes type or disappears, and explains how to record an appended field.
 */
#ifndef LAMINA_H
#define LAMINA_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ==================================================================================================
 * 1. Version [stable]
 * ================================================================================================ */

/** The version of this header (compare with lamina_version_number() at run time). */
#define LAMINA_VERSION_MAJOR 0
#define LAMINA_VERSION_MINOR 2
#define LAMINA_VERSION_PATCH 0
#define LAMINA_VERSION_NUMBER (LAMINA_VERSION_MAJOR * 10000 + LAMINA_VERSION_MINOR * 100 + LAMINA_VERSION_PATCH)

/** The version of the loaded library as MAJOR*10000 + MINOR*100 + PATCH; compare with
 *  LAMINA_VERSION_NUMBER to detect a header/library mismatch. */
int32_t lamina_version_number(void);

/** The version as a static string "MAJOR.MINOR.PATCH". Owned by the library; never free it. */
const char* lamina_version_string(void);

/* ==================================================================================================
 * 2. Status and errors [stable]
 * ================================================================================================ */

/** The result of every fallible function: LAMINA_OK or one of the LAMINA_ERR_* codes below. */
typedef int32_t lamina_status;

#define LAMINA_OK 0                      /* success */
#define LAMINA_ERR_INVALID_ARGUMENT 1    /* NULL pointer, size <= 0, bad enum, bad label count, bad parameter */
#define LAMINA_ERR_SHAPE_MISMATCH 2      /* sizes of related arguments disagree */
#define LAMINA_ERR_NON_FINITE 3          /* NaN or Inf in the input data */
#define LAMINA_ERR_IO 4                  /* a file could not be opened, read or written */
#define LAMINA_ERR_FORMAT 5              /* a file is not in the expected format, or is corrupt */
#define LAMINA_ERR_OUT_OF_MEMORY 6       /* a requested size cannot be allocated */
#define LAMINA_ERR_CANCELLED 7           /* a progress callback asked to stop */
#define LAMINA_ERR_INTERNAL 8            /* a bug in Lamina: please report it with the message */

/** A static, human-readable name for a status code ("ok", "invalid argument", ...; "unknown status"
 *  for values outside the list). Never free it. */
const char* lamina_status_string(lamina_status status);

/** The message of the last failure on the calling thread ("" if none yet). Owned by the library,
 *  valid until the next failing Lamina call on this thread. */
const char* lamina_last_error(void);

/* ==================================================================================================
 * 3. Threads [stable]
 * ================================================================================================ */

/** Sets how many worker threads Lamina's kernels use (0 = one per online core, the default).
 *  Results do not depend on it. Errors: LAMINA_ERR_INVALID_ARGUMENT if n < 0. */
lamina_status lamina_set_num_threads(int32_t n);

/** The number of worker threads Lamina's kernels use now. */
int32_t lamina_get_num_threads(void);

/* ==================================================================================================
 * 4. Progress of long-running jobs [stable]
 *
 * Training functions take an optional callback, called on the calling thread after every step with
 * a report valid only during the call. A non-zero return cancels the job: the function returns
 * LAMINA_ERR_CANCELLED, and the object being trained keeps the state of the last completed step.
 * ================================================================================================ */

/** A progress report, valid only during the callback (copy what you keep). */
typedef struct lamina_progress {
    const char* task;             /* static name of the job: "sae_train", "structural_probe_train", ... */
    int64_t step;                 /* steps completed so far (1 after the first step) */
    int64_t total_steps;          /* steps planned, or -1 when unknown */
    int64_t items;                /* items (tokens, rows, sentences) processed so far */
    double loss;                  /* total loss of the last step */
    double items_per_second;      /* throughput since the job started */
    int32_t n_terms;              /* number of named values below */
    const char* const* term_names;/* static names of the values (loss terms, "l0", "dead_fraction", ...) */
    const double* terms;          /* their values for the last step */
} lamina_progress;

/** Progress callback: return 0 to continue, non-zero to cancel. `user` is passed through untouched. */
typedef int32_t (*lamina_progress_fn)(const lamina_progress* progress, void* user);

/* ==================================================================================================
 * 5. Internal cluster-validity indices (data + labels) [stable]
 *
 * All take x (n x d float32, finite) and labels (n int32, any values). Unless stated otherwise the
 * number of distinct labels k must satisfy 2 <= k <= n - 1 (scikit-learn's rule; the message is
 * scikit-learn's: "Number of labels is K. Valid values are 2 to n_samples - 1 (inclusive)").
 * Results are written to *out. Errors: LAMINA_ERR_INVALID_ARGUMENT (NULL pointer, n or d <= 0, bad
 * enum, label count), LAMINA_ERR_NON_FINITE (NaN/Inf in x), LAMINA_ERR_OUT_OF_MEMORY (n*d overflows).
 * Memory: the n x n distance matrix is never built; working memory grows linearly with n.
 * Accuracy against float64 references: scores within 1e-6 relative (1e-7 absolute for scores that are
 * small differences of O(1) means, e.g. GDV), except the silhouette (scores and per-sample values
 * ~1e-12: computed in float64, see lamina_silhouette_samples); minima and maxima over pairs (Dunn, Xie-Beni point-pair) and distances near 0 are exact
 * (identical rows are at distance exactly 0). Data with few significant bits (integers, dyadic values)
 * give exact squared distances: the points are centred on shifts rounded to a few bits of their spread,
 * so nothing is rounded in the gemm form (e.g. silhouette values of 0.5 come out exactly 0.5).
 * ================================================================================================ */

/** Distance used by the silhouette. */
typedef int32_t lamina_distance;
#define LAMINA_DISTANCE_EUCLIDEAN 0      /* ||x - y||_2 */
#define LAMINA_DISTANCE_SQEUCLIDEAN 1    /* ||x - y||_2^2 */
#define LAMINA_DISTANCE_COSINE 2         /* 1 - x.y / (||x|| ||y||), clipped to [0, 2]; a zero row is at distance 1 from every other row */
#define LAMINA_DISTANCE_MANHATTAN 3      /* sum |x - y| [experimental]: computed pair by pair (no gemm), float64 sums, exact differences */
#define LAMINA_DISTANCE_CHEBYSHEV 4      /* max |x - y| [experimental]: computed pair by pair, exact */
#define LAMINA_DISTANCE_CORRELATION 5    /* 1 - (x - mean x).(y - mean y) / (||x - mean x|| ||y - mean y||) [experimental]: the cosine distance of the row-centred rows (a constant row is at distance 1 from every other row; scipy gives NaN there) */

/** Silhouette coefficient of every sample (Rousseeuw 1987; sklearn.metrics.silhouette_samples):
 *    s(i) = (b(i) - a(i)) / max(a(i), b(i)),
 *  a(i) = mean distance from i to the other members of its cluster, b(i) = min over other clusters of
 *  the mean distance from i to that cluster's members; s(i) = 0 when i's cluster has one member, and
 *  0 where a(i) = b(i) = 0. out: n doubles, in the order of the input rows. Computed in float64
 *  although x is float32 (its rows widened exactly into the float64 working copy, dgemm tiles, as
 *  scikit-learn upcasts float32 rows for its distances): the accuracy of the float64 twin (~1e-12),
 *  so values where b(i) - a(i) cancels keep their relative accuracy, and float32 x gives what the
 *  float64 and CSR forms give on the same values. */
lamina_status lamina_silhouette_samples(const float* x, int64_t n, int64_t d, const int32_t* labels,
                                        lamina_distance metric, double* out);

/** Mean silhouette coefficient over all samples (sklearn.metrics.silhouette_score, no sampling). */
lamina_status lamina_silhouette_score(const float* x, int64_t n, int64_t d, const int32_t* labels,
                                      lamina_distance metric, double* out);

/** Davies-Bouldin index (Davies & Bouldin 1979; sklearn.metrics.davies_bouldin_score):
 *    DB = (1/k) sum_i max_{j != i} (s_i + s_j) / ||c_i - c_j||,
 *  c_i the centroid of cluster i and s_i the mean Euclidean distance of its members to c_i. Lower is
 *  better. Returns 0 when all s_i or all centroid distances are zero (|v| <= 1e-8); a pair with
 *  coincident centroids contributes 0. */
lamina_status lamina_davies_bouldin_score(const float* x, int64_t n, int64_t d, const int32_t* labels,
                                          double* out);

/** Calinski-Harabasz index, the variance ratio criterion (Calinski & Harabasz 1974;
 *  sklearn.metrics.calinski_harabasz_score):
 *    CH = [B / (k - 1)] / [W / (n - k)],  B = sum_i n_i ||c_i - c||^2,  W = sum_x ||x - c_{k(x)}||^2,
 *  c the overall mean. Higher is better. Returns 1 when W = 0. */
lamina_status lamina_calinski_harabasz_score(const float* x, int64_t n, int64_t d, const int32_t* labels,
                                             double* out);

/** Inter-cluster distance delta(A, B) of the generalized Dunn index (Bezdek & Pal 1998). */
typedef int32_t lamina_linkage;
#define LAMINA_LINKAGE_SINGLE 0      /* delta_1: min over a in A, b in B of d(a, b) (classic Dunn) */
#define LAMINA_LINKAGE_COMPLETE 1    /* delta_2: max over a in A, b in B of d(a, b) */
#define LAMINA_LINKAGE_AVERAGE 2     /* delta_3: mean over a in A, b in B of d(a, b) */
#define LAMINA_LINKAGE_CENTROID 3    /* delta_4: d(c_A, c_B), distance between centroids */

/** Cluster diameter Delta(C) of the generalized Dunn index (Bezdek & Pal 1998). */
typedef int32_t lamina_diameter;
#define LAMINA_DIAMETER_MAX 0            /* Delta_1: max over x, y in C of d(x, y) (classic Dunn) */
#define LAMINA_DIAMETER_MEAN_PAIRWISE 1  /* Delta_2: sum over x != y in C of d(x, y) / (|C| (|C| - 1)) */
#define LAMINA_DIAMETER_CENTROID 2       /* Delta_3: 2 * mean over x in C of d(x, c_C) */

/** Generalized Dunn index (Dunn 1974; Bezdek & Pal 1998), Euclidean d:
 *    D = min_{A != B} delta(A, B) / max_C Delta(C).
 *  Higher is better. linkage = LAMINA_LINKAGE_SINGLE with diameter = LAMINA_DIAMETER_MAX is the
 *  classic Dunn index. A size-1 cluster has diameter 0; if every diameter is 0 the result is +inf
 *  (NaN if the numerator is 0 as well). */
lamina_status lamina_dunn_index(const float* x, int64_t n, int64_t d, const int32_t* labels,
                                lamina_linkage linkage, lamina_diameter diameter, double* out);

/** Separation term of the Xie-Beni index. */
typedef int32_t lamina_xie_beni_separation;
#define LAMINA_XIE_BENI_CENTROID 0     /* min_{A != B} ||c_A - c_B||^2: Xie & Beni (1991), fuzzy c-means form with 0/1 memberships */
#define LAMINA_XIE_BENI_POINT_PAIR 1   /* min_{A != B} min_{a in A, b in B} ||a - b||^2: R clusterCrit form (Desgraupes 2013) */

/** Xie-Beni index: XB = W / (n * separation), W = sum_x ||x - c_{k(x)}||^2 (within-cluster sum of
 *  squares), separation as chosen above. Lower is better. +inf when the separation is 0 (NaN if W is
 *  0 too). */
lamina_status lamina_xie_beni_index(const float* x, int64_t n, int64_t d, const int32_t* labels,
                                    lamina_xie_beni_separation separation, double* out);

/** Generalized discrimination value (Schilling, Maier, Gerum, Metzner & Krauss 2021, "Quantifying the
 *  separability of data classes in neural networks"). Each dimension is z-scored and halved,
 *  s = 0.5 (x - mean) / std (population std; constant dimensions become 0); with Euclidean d,
 *    GDV = (1 / sqrt(D)) [ (1/L) sum_l mean_intra(C_l) - (2 / (L (L - 1))) sum_{l < m} mean_inter(C_l, C_m) ]
 *  mean_intra over the pairs of distinct points of C_l, mean_inter over all cross pairs. More negative
 *  is better separated; 0 means no separation. Needs L >= 2 classes with >= 2 samples each (L = n/2 is
 *  allowed: the 2..n-1 rule of the other indices does not apply). */
lamina_status lamina_gdv(const float* x, int64_t n, int64_t d, const int32_t* labels, double* out);

/** Silhouettes from a given distance matrix (sklearn.metrics.silhouette_samples with
 *  metric="precomputed") [experimental]: dist is n x m float32 (finite) and must be square (m = n),
 *  dist[i, j] the distance between samples i and j; labels has n entries. Read in row blocks (no copy):
 *  per row the float64 sums of its distances to each cluster (the diagonal included, as scikit-learn
 *  sums it), then s(i) as for lamina_silhouette_samples. out: n doubles. Checks, in scikit-learn's
 *  order and with its words: NaN/Inf (LAMINA_ERR_NON_FINITE), a zero diagonal (|dist[i, i]| <= 100 eps
 *  of the element type: "The precomputed distance matrix contains non-zero elements on the diagonal.
 *  Use np.fill_diagonal(X, 0)."), the label count (2..n-1), square ("Precomputed metric requires shape
 *  (n_queries, n_indexed). Got (n, m) for n indexed.", LAMINA_ERR_SHAPE_MISMATCH), non-negative
 *  ("Negative values in data passed to `pairwise_distances`. ..."); the others LAMINA_ERR_INVALID_ARGUMENT. */
lamina_status lamina_silhouette_samples_precomputed(const float* dist, int64_t n, int64_t m, const int32_t* labels,
                                                    double* out);

/** Mean of lamina_silhouette_samples_precomputed (sklearn.metrics.silhouette_score, metric="precomputed",
 *  no sampling) [experimental]. *out: one double. */
lamina_status lamina_silhouette_score_precomputed(const float* dist, int64_t n, int64_t m, const int32_t* labels,
                                                  double* out);

/* float64 twins [experimental] (header intro, "float64 twins"): the functions above on `const double*
 * x`, computed in float64 (float64 working copy, dgemm tiles, the near-zero and extreme-pair bounds at
 * float64's roundoff). Accuracy against float64 references: ~1e-12 relative for the scores, ~1e-12
 * absolute for per-sample silhouettes; exactness of distances near 0 and of extremes as above. Same
 * arguments, errors and sizes as the float32 forms. */

/** lamina_silhouette_samples on float64 data, computed in float64. */
lamina_status lamina_silhouette_samples_f64(const double* x, int64_t n, int64_t d, const int32_t* labels,
                                            lamina_distance metric, double* out);
/** lamina_silhouette_score on float64 data, computed in float64. */
lamina_status lamina_silhouette_score_f64(const double* x, int64_t n, int64_t d, const int32_t* labels,
                                          lamina_distance metric, double* out);
/** lamina_davies_bouldin_score on float64 data, computed in float64. */
lamina_status lamina_davies_bouldin_score_f64(const double* x, int64_t n, int64_t d, const int32_t* labels,
                                              double* out);
/** lamina_calinski_harabasz_score on float64 data, computed in float64. */
lamina_status lamina_calinski_harabasz_score_f64(const double* x, int64_t n, int64_t d, const int32_t* labels,
                                                 double* out);
/** lamina_dunn_index on float64 data, computed in float64. */
lamina_status lamina_dunn_index_f64(const double* x, int64_t n, int64_t d, const int32_t* labels,
                                    lamina_linkage linkage, lamina_diameter diameter, double* out);
/** lamina_xie_beni_index on float64 data, computed in float64. */
lamina_status lamina_xie_beni_index_f64(const double* x, int64_t n, int64_t d, const int32_t* labels,
                                        lamina_xie_beni_separation separation, double* out);
/** lamina_gdv on float64 data, computed in float64. */
lamina_status lamina_gdv_f64(const double* x, int64_t n, int64_t d, const int32_t* labels, double* out);
/** lamina_silhouette_samples_precomputed on a float64 distance matrix (100 eps of float64 on the diagonal). */
lamina_status lamina_silhouette_samples_precomputed_f64(const double* dist, int64_t n, int64_t m, const int32_t* labels,
                                                        double* out);
/** lamina_silhouette_score_precomputed on a float64 distance matrix. */
lamina_status lamina_silhouette_score_precomputed_f64(const double* dist, int64_t n, int64_t m, const int32_t* labels,
                                                      double* out);

/** [experimental] Silhouette with the Minkowski distance (sum_t |x_t - y_t|^p)^(1/p) (scikit-learn's
 *  metric="minkowski", p): tiled pair by pair (no gemm), float64 differences of the rows and float64
 *  powers; p = 1, 2 and +inf take the manhattan, root-of-squares and chebyshev forms exactly. p must be
 *  > 0 (p < 1 is not a metric but is what scikit-learn computes); other arguments, outputs and errors as
 *  lamina_silhouette_samples. out: n silhouettes (float64). */
lamina_status lamina_silhouette_samples_minkowski(const float* x, int64_t n, int64_t d, const int32_t* labels,
                                                  double p, double* out);

/** [experimental] Mean of lamina_silhouette_samples_minkowski (scikit-learn's silhouette_score with
 *  metric="minkowski", p). */
lamina_status lamina_silhouette_score_minkowski(const float* x, int64_t n, int64_t d, const int32_t* labels,
                                                double p, double* out);

/** [experimental] lamina_silhouette_samples_minkowski on float64 x, computed in float64. */
lamina_status lamina_silhouette_samples_minkowski_f64(const double* x, int64_t n, int64_t d, const int32_t* labels,
                                                      double p, double* out);

/** [experimental] lamina_silhouette_score_minkowski on float64 x, computed in float64. */
lamina_status lamina_silhouette_score_minkowski_f64(const double* x, int64_t n, int64_t d, const int32_t* labels,
                                                    double p, double* out);

/* ==================================================================================================
 * 6. External indices (two labelings) [stable]
 *
 * All take labels_true and labels_pred, n int32 each, any values, and match scikit-learn's
 * sklearn.metrics functions of the same names, including edge cases. n = 0 is allowed (the pointers
 * may then be NULL) and gives scikit-learn's value for empty labelings. Pair counts use exact integer
 * arithmetic. Natural logarithms (nats). Errors: LAMINA_ERR_INVALID_ARGUMENT (NULL with n > 0,
 * n < 0, bad enum, NULL output).
 * ================================================================================================ */

/** Generalized mean used to normalise mutual information by the two entropies. */
typedef int32_t lamina_average_method;
#define LAMINA_AVERAGE_MIN 0           /* min(H(U), H(V)) */
#define LAMINA_AVERAGE_GEOMETRIC 1     /* sqrt(H(U) H(V)) */
#define LAMINA_AVERAGE_ARITHMETIC 2    /* (H(U) + H(V)) / 2 (scikit-learn's default) */
#define LAMINA_AVERAGE_MAX 3           /* max(H(U), H(V)) */

/** The shape of the contingency table: the number of distinct values in labels_true (rows) and in
 *  labels_pred (columns). */
lamina_status lamina_contingency_shape(const int32_t* labels_true, const int32_t* labels_pred, int64_t n,
                                       int64_t* n_classes, int64_t* n_clusters);

/** Contingency table C[i][j] = #{s : labels_true[s] is the i-th smallest true value and labels_pred[s]
 *  the j-th smallest predicted value} (sklearn.metrics.cluster.contingency_matrix). out: row-major
 *  n_classes x n_clusters int64; out_len must equal n_classes * n_clusters
 *  (LAMINA_ERR_SHAPE_MISMATCH otherwise). */
lamina_status lamina_contingency_matrix(const int32_t* labels_true, const int32_t* labels_pred, int64_t n,
                                        int64_t* out, int64_t out_len);

/** Rand index over ordered pairs of distinct samples: (agreeing pairs) / (all pairs); 1 when all pairs
 *  agree or n < 2 (sklearn.metrics.rand_score). */
lamina_status lamina_rand_score(const int32_t* labels_true, const int32_t* labels_pred, int64_t n, double* out);

/** Adjusted Rand index (Hubert & Arabie 1985), from the pair confusion matrix [[tn, fp], [fn, tp]]:
 *    ARI = 2 (tp tn - fn fp) / ((tp + fn)(fn + tn) + (tp + fp)(fp + tn)),  1 when fn = fp = 0
 *  (sklearn.metrics.adjusted_rand_score). Integer-exact up to the final division. */
lamina_status lamina_adjusted_rand_score(const int32_t* labels_true, const int32_t* labels_pred, int64_t n,
                                         double* out);

/** Mutual information MI(U, V) = sum_ij (n_ij / N) log(N n_ij / (a_i b_j)) in nats
 *  (sklearn.metrics.mutual_info_score). 0 when either labeling has one class. */
lamina_status lamina_mutual_info_score(const int32_t* labels_true, const int32_t* labels_pred, int64_t n,
                                       double* out);

/** Normalized mutual information NMI = MI / mean(H(U), H(V)) with the chosen average
 *  (sklearn.metrics.normalized_mutual_info_score). 1 when both labelings have a single class; 0 when
 *  MI = 0 otherwise. */
lamina_status lamina_normalized_mutual_info_score(const int32_t* labels_true, const int32_t* labels_pred,
                                                  int64_t n, lamina_average_method average, double* out);

/** Adjusted mutual information (Vinh, Epps & Bailey 2010):
 *    AMI = (MI - E[MI]) / (mean(H(U), H(V)) - E[MI]),
 *  E[MI] the expected MI under the hypergeometric model of random labelings with the same margins
 *  (sklearn.metrics.adjusted_mutual_info_score >= 1.6; numerator and denominator are each kept at
 *  least DBL_EPSILON in magnitude, with their signs). 1 when both labelings have a single class, 0 when
 *  exactly one does. Cost O(sum_ij min(a_i, b_j)). */
lamina_status lamina_adjusted_mutual_info_score(const int32_t* labels_true, const int32_t* labels_pred,
                                                int64_t n, lamina_average_method average, double* out);

/** Homogeneity h = MI / H(U), completeness c = MI / H(V) (each 1 where its entropy is 0) and
 *  V-measure = (1 + beta) h c / (beta h + c) (0 when h + c = 0; h when beta = 0, also where c = 0 and the
 *  formula is 0/0) (Rosenberg & Hirschberg 2007;
 *  sklearn.metrics.homogeneity_completeness_v_measure). beta must be finite and >= 0. Any of the
 *  three outputs may be NULL if not wanted. */
lamina_status lamina_homogeneity_completeness_v_measure(const int32_t* labels_true, const int32_t* labels_pred,
                                                        int64_t n, double beta, double* homogeneity,
                                                        double* completeness, double* v_measure);

/** Fowlkes-Mallows index FMI = TP / sqrt((TP + FP)(TP + FN)) over unordered pairs; 0 when TP = 0
 *  (Fowlkes & Mallows 1983; sklearn.metrics.fowlkes_mallows_score). */
lamina_status lamina_fowlkes_mallows_score(const int32_t* labels_true, const int32_t* labels_pred, int64_t n,
                                           double* out);

/** [experimental] Mutual information (as lamina_mutual_info_score) of a given contingency table
 *  (sklearn.metrics.mutual_info_score(None, None, contingency=C)), the table n_rows x n_cols given by
 *  its cells: rows[t], cols[t], counts[t] for t < nnz (int64; a dense table's non-zero cells or a
 *  sparse matrix's stored cells; duplicate cells are summed, zero counts ignored; nnz may be 0 and
 *  the pointers then NULL). 0 when the table has one row or one column. Errors
 *  (LAMINA_ERR_INVALID_ARGUMENT): n_rows or n_cols < 1 or > INT32_MAX, nnz < 0, a cell outside the
 *  table, a negative count, counts summing to more than 3e9 (a_i b_j must stay exact), NULL pointers
 *  with nnz > 0, NULL out. */
lamina_status lamina_mutual_info_score_contingency(const int64_t* rows, const int64_t* cols, const int64_t* counts,
                                                   int64_t nnz, int64_t n_rows, int64_t n_cols, double* out);

/* ==================================================================================================
 * 7. k-means [stable]
 *
 * Lloyd's algorithm with scikit-learn's semantics (sklearn.cluster.KMeans, algorithm="lloyd"):
 * k-means++ seeding with 2 + floor(ln k) local trials per center (greedy k-means++, Arthur &
 * Vassilvitskii 2007), or k distinct random samples, or given centers; n_init restarts keeping the
 * lowest inertia; an iteration stops the run when no label changes or when the sum of squared center
 * shifts is <= tol * (mean per-feature variance of x) (then one more assignment step gives labels that
 * match the centers); empty clusters are relocated as scikit-learn's _relocate_empty_clusters_dense
 * does it: in the same iteration, the empty clusters (in index order) take the points farthest from
 * their own centers (farthest first, ties to the lower row), each removed from its cluster's mean, and
 * nothing is relocated when every point sits on its center (a cluster left empty is placed at the
 * largest cluster's center). Inertia = sum of squared distances to the assigned centers (float64).
 * Deterministic for a seed, for any thread count (Lamina's own random generator, one stream per
 * restart: the same seed does not reproduce scikit-learn's numpy draws). Every iteration's assignments
 * are exactly those of plain Lloyd's algorithm. A lamina_kmeans handle is used by one thread at a time.
 * ================================================================================================ */

/** A k-means model (params, and after a fit: centers, labels, inertia): an opaque handle. */
typedef struct lamina_kmeans lamina_kmeans;

/** How the centers of each restart are initialised. */
typedef int32_t lamina_kmeans_init;
#define LAMINA_KMEANS_INIT_PLUSPLUS 0   /* greedy k-means++ */
#define LAMINA_KMEANS_INIT_RANDOM 1     /* n_clusters distinct samples chosen uniformly */
#define LAMINA_KMEANS_INIT_GIVEN 2      /* centers passed to lamina_kmeans_fit (n_init is then 1) */

/** Parameters of k-means (start from lamina_kmeans_default_params()). */
typedef struct lamina_kmeans_params {
    int32_t n_clusters;        /* k >= 1 (default 8) */
    lamina_kmeans_init init;   /* default LAMINA_KMEANS_INIT_PLUSPLUS */
    int32_t n_init;            /* restarts >= 1 (default 1, scikit-learn's "auto" for k-means++) */
    int32_t max_iter;          /* >= 1 (default 300) */
    double tol;                /* relative tolerance >= 0 (default 1e-4) */
    uint64_t seed;             /* random seed (default 0) */
    int32_t verbose;           /* 1: record scikit-learn's verbose lines (lamina_kmeans_get_log), at the cost
                                  of one float64 pass over x per iteration for its inertia; 0 (default) off */
} lamina_kmeans_params;

/** The default parameters (values above). */
lamina_kmeans_params lamina_kmeans_default_params(void);

/** LAMINA_OK if params are valid, else LAMINA_ERR_INVALID_ARGUMENT with a message naming the field. */
lamina_status lamina_kmeans_check_params(const lamina_kmeans_params* params);

/** Creates an unfitted model; *out receives the handle (free it with lamina_kmeans_free). The params
 *  are copied. Errors: NULL params or out, invalid params. */
lamina_status lamina_kmeans_create(const lamina_kmeans_params* params, lamina_kmeans** out);

/** Frees a model. NULL, and a pointer that is not a live handle, are ignored. */
void lamina_kmeans_free(lamina_kmeans* model);

/** Fits on x (n x d, finite). init_centers: n_clusters x d float32, required when init is
 *  LAMINA_KMEANS_INIT_GIVEN, must be NULL otherwise. Errors: bad handle, NULL x, n or d <= 0, NaN/Inf,
 *  n < n_clusters ("n_samples=N should be >= n_clusters=K."). A failed fit leaves the previous fit. */
lamina_status lamina_kmeans_fit(lamina_kmeans* model, const float* x, int64_t n, int64_t d,
                                const float* init_centers);

/** Index of the nearest fitted center for each row of x (n x d, d as fitted). labels_out: n int32.
 *  Errors: not fitted, d mismatch (LAMINA_ERR_SHAPE_MISMATCH, checked before x is read), the usual
 *  input checks. */
lamina_status lamina_kmeans_predict(const lamina_kmeans* model, const float* x, int64_t n, int64_t d,
                                    int32_t* labels_out);

/** Sizes and scalars of the fit: samples and features fitted on, clusters, inertia and the number of
 *  Lloyd iterations of the best run. Any output may be NULL. Error: not fitted. */
lamina_status lamina_kmeans_get_info(const lamina_kmeans* model, int64_t* n_samples, int64_t* n_features,
                                     int32_t* n_clusters, double* inertia, int32_t* n_iter);

/** Copies the centers (n_clusters x n_features float32, row-major). out_len must equal
 *  n_clusters * n_features. Errors: not fitted, out_len (LAMINA_ERR_SHAPE_MISMATCH), NULL out. */
lamina_status lamina_kmeans_get_centers(const lamina_kmeans* model, float* out, int64_t out_len);

/** Copies the labels of the training samples (n_samples int32). out_len must equal n_samples.
 *  Errors: not fitted, out_len (LAMINA_ERR_SHAPE_MISMATCH), NULL out. */
lamina_status lamina_kmeans_get_labels(const lamina_kmeans* model, int32_t* out, int64_t out_len);

/** Makes the model a fitted one with the given centers (n_clusters x n_features float32, row-major,
 *  finite; n_clusters must equal params.n_clusters), as read back by lamina_kmeans_get_centers: restores a
 *  saved model (the Python binding's pickling). lamina_kmeans_predict then assigns the nearest of these
 *  centers; it runs in a working frame derived from the centers, so its labels equal the original
 *  model's except for a row whose two nearest centers tie within float32 rounding. lamina_kmeans_get_labels
 *  then has no training labels (n_samples 0), inertia reads NaN and n_iter 0. Errors: bad handle, NULL
 *  centers, n_clusters mismatch (LAMINA_ERR_SHAPE_MISMATCH), n_features <= 0, NaN/Inf. */
lamina_status lamina_kmeans_set_centers(lamina_kmeans* model, const float* centers, int64_t n_clusters,
                                        int64_t n_features);

/* float64 twins [experimental] (header intro, "float64 twins"). A model fitted (or restored) from
 * float64 data computes in float64 throughout: working copy, center dot products (dgemm for many
 * centers), Hamerly bounds, inertia (float64 sums held to 1e-13 relative, else a float64 pass); its
 * centers are float64 (scikit-learn's dtype rule: float64 for float64 and integer input, float32 for
 * float32). Results agree with scikit-learn's float64 Lloyd from the same initial centers to ~1e-12
 * relative. A model keeps the precision of its last fit: lamina_kmeans_predict(_f64) converts rows of
 * the other precision first (float32 -> float64 exactly; float64 -> float32 rounded, as scikit-learn
 * casts X to the centers' dtype, values beyond float32's range refused with LAMINA_ERR_NON_FINITE).
 * lamina_kmeans_get_centers returns a float64 model's centers rounded to float32 (clamped to its
 * range), lamina_kmeans_get_centers_f64 a float32 model's centers widened exactly. */

/** lamina_kmeans_fit on float64 data (x and init_centers: double, n_clusters x d), computed in float64. */
lamina_status lamina_kmeans_fit_f64(lamina_kmeans* model, const double* x, int64_t n, int64_t d,
                                    const double* init_centers);

/** lamina_kmeans_predict on float64 rows (see above for a float32 model). */
lamina_status lamina_kmeans_predict_f64(const lamina_kmeans* model, const double* x, int64_t n, int64_t d,
                                        int32_t* labels_out);

/** lamina_kmeans_get_centers as float64 (n_clusters x n_features doubles). */
lamina_status lamina_kmeans_get_centers_f64(const lamina_kmeans* model, double* out, int64_t out_len);

/** lamina_kmeans_set_centers from float64 centers: the model becomes a float64 one. */
lamina_status lamina_kmeans_set_centers_f64(lamina_kmeans* model, const double* centers, int64_t n_clusters,
                                            int64_t n_features);

/** The precision a fitted model computes in: *out = 32 (float32) or 64 (float64). Errors: bad handle,
 *  not fitted, NULL out. */
lamina_status lamina_kmeans_get_precision(const lamina_kmeans* model, int32_t* out);

/* Sample weights [experimental] (scikit-learn's KMeans(...).fit(X, sample_weight=w)). Each sample
 * counts with its weight: k-means++ draws the first center with probability w_i / sum w and each
 * candidate with probability w_i D(x_i)^2 / sum_j w_j D(x_j)^2, greedy trials compared on the weighted
 * potential sum_i w_i D(x_i)^2; init=random draws n_clusters distinct samples one after another with
 * probability proportional to the weights of those not drawn yet; a center is the weighted mean
 * sum w_i x_i / sum w_i of its samples; a cluster whose weight is 0 is empty (relocated as above, the
 * moved sample carrying its weight); inertia = sum_i w_i ||x_i - c_label(i)||^2. Given init centers
 * are used as given. The tolerance stays relative to the unweighted per-feature variance of x
 * (scikit-learn's _tolerance). Unit weights give bit-identical results to lamina_kmeans_fit; weights
 * scaled by a power of two give the same centers and labels. Weighted runs take a full assignment pass
 * every iteration (no Hamerly skipping). */

/** lamina_kmeans_fit with sample weights: sample_weight is n values (float32 here, float64 for the
 *  _f64 twin), finite and >= 0 with a positive finite sum, or NULL for unit weights. Errors: those of
 *  lamina_kmeans_fit; a NaN/Inf weight (LAMINA_ERR_NON_FINITE); a negative weight, a zero sum, or
 *  init=random with fewer than n_clusters positive weights (LAMINA_ERR_INVALID_ARGUMENT). */
lamina_status lamina_kmeans_fit_weighted(lamina_kmeans* model, const float* x, int64_t n, int64_t d,
                                         const float* init_centers, const float* sample_weight);

/** lamina_kmeans_fit_weighted on float64 data and weights, computed in float64. */
lamina_status lamina_kmeans_fit_weighted_f64(lamina_kmeans* model, const double* x, int64_t n, int64_t d,
                                             const double* init_centers, const double* sample_weight);

/** [experimental] The initial centers of the model's fit on x, computed alone (scikit-learn's
 *  KMeans._init_centroids): the n_clusters rows of x (n x d, finite) that lamina_kmeans_fit_weighted
 *  (lamina_kmeans_fit when sample_weight is NULL) of this model on the same x and weights starts its
 *  first restart from -- the same seeding code and the same random stream (restart 0, seeded with
 *  params.seed; restart r > 0 of a fit uses its own stream). params.init selects the seeding, as in the
 *  fit: LAMINA_KMEANS_INIT_PLUSPLUS, greedy k-means++ (first center drawn with probability
 *  w_i / sum w, then per center 2 + floor(ln k) candidates drawn with probability w_i D(x_i)^2 /
 *  sum_j w_j D(x_j)^2 and the one of least potential sum_i w_i min(D(x_i)^2, d(x_i, candidate)^2)
 *  kept; distances computed in the fit's frame, see the section intro); LAMINA_KMEANS_INIT_RANDOM,
 *  n_clusters distinct rows drawn one after another with probability proportional to the weights of
 *  those not drawn yet (uniformly when sample_weight is NULL). A row of weight 0 is never chosen
 *  (k-means++: while the weighted potential is positive, i.e. unless every row of positive weight
 *  already sits on a chosen center). Lamina's generator:
 *  the rows are not scikit-learn's numpy draws. The model is not changed (it need not be fitted).
 *  sample_weight: n values of x's type, finite, >= 0, positive finite sum, or NULL (unit weights).
 *  centers_out: n_clusters x d values of x's type, row-major (row c = x[indices[c]]), out_len =
 *  n_clusters * d. indices_out: NULL, or n_clusters int64 receiving the chosen rows in the order drawn.
 *  Errors: bad handle; params.init LAMINA_KMEANS_INIT_GIVEN (nothing is drawn); the checks of
 *  lamina_kmeans_fit_weighted on x and sample_weight (NULL x, n or d <= 0, NaN/Inf,
 *  "n_samples=N should be >= n_clusters=K.", bad weights, init=random with fewer than n_clusters
 *  positive weights); out_len (LAMINA_ERR_SHAPE_MISMATCH); NULL centers_out. */
lamina_status lamina_kmeans_init_centers(const lamina_kmeans* model, const float* x, int64_t n, int64_t d,
                                         const float* sample_weight, float* centers_out, int64_t out_len,
                                         int64_t* indices_out);

/** lamina_kmeans_init_centers on float64 data and weights (centers_out: doubles), computed in float64:
 *  the start of lamina_kmeans_fit_weighted_f64. */
lamina_status lamina_kmeans_init_centers_f64(const lamina_kmeans* model, const double* x, int64_t n, int64_t d,
                                             const double* sample_weight, double* centers_out, int64_t out_len,
                                             int64_t* indices_out);

/** [experimental] The last fit's verbose lines (params.verbose = 1; empty otherwise), scikit-learn's
 *  KMeans(verbose=1) output: for each restart in order, "Initialization complete", then per iteration i
 *  "Iteration i, inertia v." (the inertia of that iteration's assignment at the centers it used) and,
 *  when the run converged there, "Converged at iteration i: strict convergence." or "Converged at
 *  iteration i: center shift s within tolerance t." (the squared shift and tol * mean feature variance,
 *  the caller's units); lines end with '\n'. The restarts run in lock-step, so the lines are assembled
 *  per restart and read after the fit. *length receives the log's length in bytes (without the NUL);
 *  out receives min(length, capacity - 1) bytes and a NUL when capacity > 0 (out may be NULL when
 *  capacity is 0: ask for the length first). Errors: bad handle, NULL length, capacity < 0, NULL out
 *  with capacity > 0. */
lamina_status lamina_kmeans_get_log(const lamina_kmeans* model, char* out, int64_t capacity, int64_t* length);

/* ==================================================================================================
 * 8. HDF5 activation files [stable]
 *
 * Read datasets of files written by h5py or any HDF5 writer. Activations: rank-2 (rows x features) or
 * rank-1 datasets of float16, bfloat16, float32, float64 or integers, returned as float32 (16-bit
 * floats are widened in Lamina). Labels: rank-1 integer datasets, returned as int32. The HDF5 library
 * is not thread-safe; Lamina serialises its HDF5 calls. Errors: LAMINA_ERR_IO (file missing or
 * unreadable), LAMINA_ERR_FORMAT (not HDF5, truncated, corrupt, wrong rank or type),
 * LAMINA_ERR_INVALID_ARGUMENT (dataset not found, NULL, rows out of range).
 *
 * Validation and trusted input. Before any size is taken from a dataset, Lamina checks it against the
 * file: layout contiguous, compact or chunked (virtual datasets and external data files are refused),
 * filters only deflate/shuffle/fletcher32, chunk rank = dataset rank, chunk dims >= 1 and <= the
 * dataset's (maximum) dims, chunks < 4 GiB, no more indexed chunks than the chunk grid holds, each
 * stored chunk (up to 2^20) chunk-aligned, inside the dataset and inside the file, and the claimed size
 * <= the stored bytes (x 1032 with deflate) <= the file size; a dataset whose rows were never written
 * (fill values) is refused. Every such failure is LAMINA_ERR_FORMAT, so the dims reported by
 * lamina_h5_dataset_info are safe to allocate from. What no check before the call can cover: the
 * system libhdf5 (Debian's 1.10.8) parses the file's object headers and B-trees itself, in H5Fopen,
 * H5Lexists and H5Dopen, before Lamina can look at anything, and a corrupted byte there may crash it.
 * Treat HDF5 files as trusted input (files you or your pipeline wrote); for files of unknown origin,
 * read them in a separate process (the Python binding's read_activations/read_labels(..., safe=True)).
 *
 * CPU: liblamina.so is compiled for x86-64-v3 (AVX, AVX2, FMA, BMI1/2, F16C, LZCNT, MOVBE). On an
 * older CPU, loading the library prints "liblamina: this CPU lacks ..." to stderr and aborts (a
 * load-time check compiled for baseline x86-64 runs before any other Lamina code), instead of a SIGILL
 * at a later call. The Python binding checks first and raises ImportError.
 * ================================================================================================ */

/** Element type of a dataset or of a buffer passed to Lamina. */
typedef int32_t lamina_dtype;
#define LAMINA_DTYPE_FLOAT16 0   /* IEEE 754 half (in a buffer: raw uint16 bits) */
#define LAMINA_DTYPE_BFLOAT16 1  /* bfloat16, the upper half of a float32 (in a buffer: raw uint16 bits) */
#define LAMINA_DTYPE_FLOAT32 2   /* IEEE 754 single */
#define LAMINA_DTYPE_FLOAT64 3   /* IEEE 754 double */
#define LAMINA_DTYPE_INT 4       /* any integer width or sign */

/** Rank, dimensions and stored element type of a dataset. dims receives min(rank, max_rank) sizes;
 *  *rank the true rank. Any output except dims may be NULL; dims may be NULL if max_rank is 0. */
lamina_status lamina_h5_dataset_info(const char* path, const char* dataset, int32_t* rank, int64_t* dims,
                                     int32_t max_rank, lamina_dtype* dtype);

/** Rows [row_start, row_start + row_count) of a rank-1 or rank-2 dataset as float32, row-major, into
 *  out. out_len must equal row_count * features (features = 1 for rank 1). */
lamina_status lamina_h5_read_f32(const char* path, const char* dataset, int64_t row_start, int64_t row_count,
                                 float* out, int64_t out_len);

/** A rank-1 integer dataset as int32 into out; out_len must equal its length. */
lamina_status lamina_h5_read_i32(const char* path, const char* dataset, int32_t* out, int64_t out_len);

/* ==================================================================================================
 * 9. Linear probes [stable]
 *
 * A linear probe asks what a layer encodes: fit a linear classifier (or regressor) on the layer's
 * activations and measure how well it predicts a property. Lamina's logistic probe minimises exactly
 * scikit-learn's objective (sklearn.linear_model.LogisticRegression, penalty "l2", solver "lbfgs"):
 *
 *     f(W, b) = sum_i s_i l_i / S + ||W||^2 / (2 C S),   S = sum_i s_i
 *
 * l_i the multinomial cross-entropy (K >= 3 classes, W is K x d) or the binary log-loss (K = 2, W is
 * 1 x d, the larger label value is the positive class), s_i the sample weight times the class weight
 * of y_i (S = n without weights), the intercept b unpenalised. Multi-label probes fit one sigmoid per
 * label (one-vs-rest, the optimum of OneVsRestClassifier(LogisticRegression)). The solver is L-BFGS
 * (10 correction pairs, strong-Wolfe line search, scipy's L-BFGS-B stopping rules: max|grad| <= tol,
 * or relative decrease of f <= 64 DBL_EPSILON, or max_iter iterations); float32 products with float64
 * softmax, loss and gradient sums (float64 products once float32 rounding would stall a tight tol).
 * Coefficients agree with scikit-learn's to ~1e-4 relative (both at a tight tol; ~1e-5 measured),
 * accuracies within 0.5%. Deterministic for any thread count. A lamina_logistic_probe is used by one
 * thread at a time; every other function here is stateless and thread-safe.
 * ================================================================================================ */

/** A logistic probe (params, and after a fit: classes, coefficients, scaler): an opaque handle. */
typedef struct lamina_logistic_probe lamina_logistic_probe;

/** Class weighting of the loss. */
typedef int32_t lamina_class_weight;
#define LAMINA_CLASS_WEIGHT_NONE 0      /* every class weighs 1 */
#define LAMINA_CLASS_WEIGHT_BALANCED 1  /* w_c = S / (K S_c), S_c the (sample-)weight of class c (sklearn "balanced") */
#define LAMINA_CLASS_WEIGHT_GIVEN 2     /* one weight per class passed to lamina_logistic_probe_fit */

/** Parameters of a logistic probe, also used by the sweeps, MDL, few-shot and INLP functions (start
 *  from lamina_logistic_probe_default_params()). */
typedef struct lamina_logistic_probe_params {
    double C;                          /* inverse regularisation strength, > 0 (default 1.0) */
    int32_t max_iter;                  /* L-BFGS iterations, >= 1 (default 100) */
    double tol;                        /* stop when max|grad| <= tol, >= 0 (default 1e-4) */
    lamina_class_weight class_weight;  /* default LAMINA_CLASS_WEIGHT_NONE (multi-label: NONE only) */
    int32_t standardize;               /* 1: z-score each feature on the training data first (StandardScaler,
                                          population std, constant features scale 1); coef is then in the
                                          standardised space, as in a StandardScaler + LogisticRegression
                                          pipeline; predictions take raw input (default 0) */
    int32_t multi_label;               /* 1: one-vs-rest sigmoids, fitted with lamina_logistic_probe_fit_multilabel (default 0) */
    int32_t fit_intercept;             /* 1: fit the unpenalised intercept (default 1) */
} lamina_logistic_probe_params;

/** The default parameters (values above: scikit-learn's defaults). */
lamina_logistic_probe_params lamina_logistic_probe_default_params(void);

/** LAMINA_OK if params are valid, else LAMINA_ERR_INVALID_ARGUMENT naming the field (C <= 0, tol < 0,
 *  max_iter < 1, flags other than 0/1, bad class_weight, class weights with multi_label). */
lamina_status lamina_logistic_probe_check_params(const lamina_logistic_probe_params* params);

/** Creates an unfitted probe (params copied); *out receives the handle (free it with
 *  lamina_logistic_probe_free). Errors: NULL params or out, invalid params. */
lamina_status lamina_logistic_probe_create(const lamina_logistic_probe_params* params, lamina_logistic_probe** out);

/** Frees a probe. NULL, and a pointer that is not a live handle, are ignored. */
void lamina_logistic_probe_free(lamina_logistic_probe* probe);

/** Fits on x (n x d, finite) and labels (n int32, any values, >= 2 distinct). sample_weight: n finite
 *  values >= 0 with a positive sum, or NULL (all 1). class_weights: with LAMINA_CLASS_WEIGHT_GIVEN, one
 *  finite weight >= 0 per class in ascending order of the label values (n_class_weights must equal the
 *  number of classes); NULL with 0 otherwise. Errors: one class only, NaN/Inf, sizes, a multi-label
 *  probe. A failed fit leaves the previous fit. */
lamina_status lamina_logistic_probe_fit(lamina_logistic_probe* probe, const float* x, int64_t n, int64_t d,
                                        const int32_t* labels, const double* sample_weight,
                                        const double* class_weights, int32_t n_class_weights);

/** Fits a multi_label probe (one-vs-rest sigmoids): x n x d finite; y n x n_labels uint8 (row-major,
 *  non-zero = label present); sample_weight as lamina_logistic_probe_fit. Errors: a probe whose params
 *  do not have multi_label = 1, NaN/Inf, sizes. A failed fit leaves the previous fit. */
lamina_status lamina_logistic_probe_fit_multilabel(lamina_logistic_probe* probe, const float* x, int64_t n,
                                                   int64_t d, const uint8_t* y, int64_t n_labels,
                                                   const double* sample_weight);

/** Sizes and results of the fit. n_features: d; n_outputs: rows of coef (K for multinomial, 1 for
 *  binary, n_labels for multi-label); n_classes: distinct labels (0 for multi-label); proba_columns:
 *  columns of predict_proba (K, 2 or n_labels); n_iter: L-BFGS iterations; loss: the objective at the
 *  solution; converged: 1 if a stopping rule other than max_iter ended the run. Any output may be NULL.
 *  Error: not fitted. */
lamina_status lamina_logistic_probe_get_info(const lamina_logistic_probe* probe, int64_t* n_features,
                                             int32_t* n_outputs, int32_t* n_classes, int32_t* proba_columns,
                                             int32_t* n_iter, double* loss, int32_t* converged);

/** The class values in ascending order (n_classes int32; out_len must equal n_classes; a multi-label
 *  probe has none: out_len 0, out may be NULL). Errors: not fitted, out_len. */
lamina_status lamina_logistic_probe_get_classes(const lamina_logistic_probe* probe, int32_t* out, int64_t out_len);

/** Coefficients (n_outputs x n_features float64, coef_len must equal that) and intercepts (n_outputs,
 *  intercept_len must equal it); either may be NULL (with length 0). With standardize they are in the
 *  standardised space (lamina_logistic_probe_get_scaler gives mean and scale). Errors: not fitted,
 *  a length that differs (LAMINA_ERR_SHAPE_MISMATCH), NULL with a non-zero length. */
lamina_status lamina_logistic_probe_get_coef(const lamina_logistic_probe* probe, double* coef, int64_t coef_len,
                                             double* intercept, int64_t intercept_len);

/** The standardisation of a standardize probe: per-feature mean and scale (n_features float64 each;
 *  len must equal n_features). Errors: not fitted, a probe fitted without standardize, len, NULL. */
lamina_status lamina_logistic_probe_get_scaler(const lamina_logistic_probe* probe, double* mean, double* scale,
                                               int64_t len);

/** Makes the probe a fitted one from the values of a fit (restoring a saved probe, e.g. the Python
 *  binding's pickling): coef (n_outputs x n_features) and intercept (n_outputs) as lamina_logistic_probe_get_coef
 *  returns them, mean and scale (n_features each, scale > 0) as lamina_logistic_probe_get_scaler returns them
 *  -- required when params.standardize is set, NULL otherwise -- and the n_classes distinct class values
 *  as lamina_logistic_probe_get_classes returns them (n_outputs = 1 for 2 classes, n_classes for >= 3;
 *  classes NULL and n_classes 0 for a multi-label probe with n_outputs labels). Predictions, decision
 *  values and probabilities are then bit-identical to those of the probe the values came from;
 *  lamina_logistic_probe_get_info reports 0 iterations, loss NaN, not converged. Errors: bad handle, NULL
 *  arrays, n_outputs or n_features <= 0, n_outputs not matching n_classes (LAMINA_ERR_SHAPE_MISMATCH;
 *  these counts are checked before any array is read), duplicate classes, NaN/Inf values
 *  (LAMINA_ERR_NON_FINITE), scale <= 0. */
lamina_status lamina_logistic_probe_set_coef(lamina_logistic_probe* probe, const double* coef, const double* intercept,
                                             int32_t n_outputs, int64_t n_features, const double* mean,
                                             const double* scale, const int32_t* classes, int32_t n_classes);

/** Decision values x W^T + b in float64 (n x n_outputs; binary: the log-odds of the positive class).
 *  out_len must equal n * n_outputs. Errors: not fitted, d differs from the fit, the usual checks. */
lamina_status lamina_logistic_probe_decision_function(const lamina_logistic_probe* probe, const float* x,
                                                      int64_t n, int64_t d, double* out, int64_t out_len);

/** Probabilities n x proba_columns (float64; out_len = n * proba_columns): softmax; binary [1 - p, p];
 *  multi-label sigmoid per label. Errors as lamina_logistic_probe_decision_function. */
lamina_status lamina_logistic_probe_predict_proba(const lamina_logistic_probe* probe, const float* x, int64_t n,
                                                  int64_t d, double* out, int64_t out_len);

/** Predicted class values (n int32, out_len = n; the class of largest decision value, first on ties);
 *  multi-label: n x n_labels 0/1 (decision > 0). Errors as lamina_logistic_probe_decision_function. */
lamina_status lamina_logistic_probe_predict(const lamina_logistic_probe* probe, const float* x, int64_t n,
                                            int64_t d, int32_t* out, int64_t out_len);

/** Mean accuracy on (x, labels) into *out: labels n int32, labels_len = n (multi-label: n x n_labels 0/1,
 *  labels_len = n * n_labels, exact-match accuracy). Errors as lamina_logistic_probe_decision_function. */
lamina_status lamina_logistic_probe_score(const lamina_logistic_probe* probe, const float* x, int64_t n,
                                          int64_t d, const int32_t* labels, int64_t labels_len, double* out);

/** Ridge regression (sklearn.linear_model.Ridge, solver "cholesky"): minimises
 *  sum_i s_i ||y_i - W x_i - b||^2 + alpha ||W||^2, intercept unpenalised (centred float64 normal
 *  equations, Cholesky). x: n x d finite; y: n x n_targets float64 finite; sample_weight n or NULL;
 *  alpha >= 0 (0 needs a non-singular X^T X). coef_out: n_targets x d; intercept_out: n_targets (zeros
 *  when fit_intercept is 0). */
lamina_status lamina_ridge_fit(const float* x, int64_t n, int64_t d, const double* y, int64_t n_targets,
                               double alpha, int32_t fit_intercept, const double* sample_weight,
                               double* coef_out, double* intercept_out);

/** R^2 = 1 - SS_res / SS_tot per target, averaged over targets (sklearn.metrics.r2_score,
 *  multioutput "uniform_average"; a constant target scores 1 if predicted exactly, else 0).
 *  y_true, y_pred: n x n_targets float64, n >= 2. */
lamina_status lamina_r2_score(const double* y_true, const double* y_pred, int64_t n, int64_t n_targets,
                              double* out);

/** Stratified k-fold assignment: fold_out[i] in 0..n_splits-1 is the test fold of sample i. Fold sizes
 *  per class are exactly those of sklearn.model_selection.StratifiedKFold(n_splits, shuffle=True)
 *  (classes by first appearance, the sorted labels dealt round-robin to the folds); which samples of a
 *  class go to which fold is shuffled with Lamina's seeded generator, so membership differs from
 *  scikit-learn's numpy draws. Every class needs >= n_splits samples (LAMINA_ERR_INVALID_ARGUMENT
 *  otherwise: a class absent from a fold); 2 <= n_splits <= n. */
lamina_status lamina_stratified_kfold(const int32_t* labels, int64_t n, int32_t n_splits, uint64_t seed,
                                      int32_t* fold_out);

/** Layer sweep: for every layer l (layers[l] is n x dims[l] float32, finite) the accuracy of a
 *  logistic probe (params) under stratified k-fold cross-validation with the folds of
 *  lamina_stratified_kfold(labels, n, n_splits, seed) (the same folds for every layer): fit on the
 *  other folds, accuracy on the test fold. The layer x fold items run in parallel (one probe per
 *  worker; same results for any thread count). Outputs: fold_accuracy n_layers x n_splits (row-major,
 *  may be NULL), mean and std per layer (n_layers each; std is the population std, numpy's default,
 *  as in cross_val_score(...).std()). params.multi_label must be 0. */
lamina_status lamina_layer_sweep(const float* const* layers, const int64_t* dims, int32_t n_layers, int64_t n,
                                 const int32_t* labels, const lamina_logistic_probe_params* params, int32_t n_splits,
                                 uint64_t seed, double* fold_accuracy, double* mean, double* std);

/** lamina_layer_sweep on datasets of an HDF5 file (each rank-2 with n rows, any float type, read as
 *  float32; all layers are read into memory first). datasets: n_layers NUL-terminated paths in the
 *  file ("/target/layer_0", ...); labels: n int32 (read them with lamina_h5_read_i32). path may also be
 *  an activation store directory (section 15): datasets are then names of its datasets. */
lamina_status lamina_layer_sweep_h5(const char* path, const char* const* datasets, int32_t n_layers,
                                    const int32_t* labels, int64_t n, const lamina_logistic_probe_params* params,
                                    int32_t n_splits, uint64_t seed, double* fold_accuracy, double* mean,
                                    double* std);

/** Control task labels (Hewitt & Liang 2019, "Designing and Interpreting Probes with Control Tasks"):
 *  each distinct word type (types[i], any int32 ids) gets one label drawn independently from the
 *  empirical distribution of labels (count_c / n), seeded, types in ascending id order; every sample
 *  takes its type's label. Selectivity = task accuracy - control accuracy (run the sweep on both). out:
 *  n int32 label values. */
lamina_status lamina_control_task_labels(const int32_t* types, const int32_t* labels, int64_t n, uint64_t seed,
                                         int32_t* out);

/** Online (prequential) codelength in bits (Voita & Titov 2020, "Information-Theoretic Probing with
 *  Minimum Description Length"). Samples are taken in `order` (a permutation of 0..n-1; NULL = a
 *  seeded shuffle). Block boundaries t_i = floor(n * fractions[i] / 100) (duplicates and zeros dropped,
 *  last = n); fractions NULL with n_fractions 0 = the paper's 0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.25, 12.5,
 *  25, 50, 100 percent. The first t_1 samples cost t_1 log2 K bits (uniform code); block [t_i, t_{i+1})
 *  costs sum -log2 p(y | x) under a logistic probe (params) trained on samples [0, t_i) -- or the
 *  uniform code if that prefix lacks one of the K classes. Outputs: online_bits, uniform_bits =
 *  n log2 K (compression = uniform / online), block_bits (may be NULL; n_blocks_out receives the count,
 *  at most n_fractions + 1 or 12: size it to 12 for the default) and n_blocks_out (may be NULL). */
lamina_status lamina_mdl_online_codelength(const float* x, int64_t n, int64_t d, const int32_t* labels,
                                           const lamina_logistic_probe_params* params, const double* fractions,
                                           int32_t n_fractions, const int64_t* order, uint64_t seed,
                                           double* online_bits, double* uniform_bits, double* block_bits,
                                           int32_t* n_blocks_out);

/** Few-shot accuracy (as DNABERT-S evaluates embeddings): for each of n_draws draws (draw r seeded with
 *  seed + r) train a logistic probe on k examples per class drawn without replacement from (x_train,
 *  y_train) and score it on (x_test, y_test). accuracy_out: n_draws values (average them for the
 *  reported figure). Every training class needs >= k samples. */
lamina_status lamina_few_shot_accuracy(const float* x_train, int64_t n_train, int64_t d, const int32_t* y_train,
                                       const float* x_test, int64_t n_test, const int32_t* y_test,
                                       const lamina_logistic_probe_params* params, int32_t k, int32_t n_draws,
                                       uint64_t seed, double* accuracy_out);

/** Global Average Precision at top_k (YouTube-8M, eval_util.calculate_gap): the top_k scores of every
 *  row pooled and sorted descending; GAP = sum over positives in that list of (positives so far / rank)
 *  divided by the total number of positive labels. predictions, actuals: n x n_classes float32
 *  (actual > 0 = positive). Ties are broken by row then rank (YouTube-8M shuffles them). */
lamina_status lamina_gap_at_k(const float* predictions, const float* actuals, int64_t n, int64_t n_classes,
                              int32_t top_k, double* out);

/** Hit@1 (YouTube-8M, eval_util.calculate_hit_at_one): fraction of rows whose top-scored class (first
 *  on ties) is positive. */
lamina_status lamina_hit_at_1(const float* predictions, const float* actuals, int64_t n, int64_t n_classes,
                              double* out);

/** Contrastive direction mean(A) - mean(B) (float64, d values, not normalised). a: n_a x d, b: n_b x d. */
lamina_status lamina_mean_difference_direction(const float* a, int64_t n_a, const float* b, int64_t n_b,
                                               int64_t d, double* out);

/** Unit first principal component: paired = 1 (n_a = n_b): of the differences a_i - b_i, centred
 *  (RepE's reading vector); paired = 0: of the rows of A and B pooled and centred. Sign chosen so that
 *  mean(A) . v >= mean(B) . v. float64 covariance, power iteration. out: d values. */
lamina_status lamina_pca_direction(const float* a, int64_t n_a, const float* b, int64_t n_b, int64_t d,
                                   int32_t paired, double* out);

/** Steering: out_i = x_i + alpha v; with preserve_norm = 1, out_i is rescaled to ||x_i|| (as GrAInS
 *  keeps hidden-state norms). x, out: n x d float32 (may alias); direction: d float64. */
lamina_status lamina_apply_direction(const float* x, int64_t n, int64_t d, const double* direction, double alpha,
                                     int32_t preserve_norm, float* out);

/** INLP, Iterative Nullspace Projection (Ravfogel et al. 2020): up to n_iterations times, fit a
 *  logistic probe (params) on the projected data, record its accuracy (on x_dev/y_dev if given --
 *  both NULL otherwise, then on the training data) and the rank of its coefficient matrix, and remove
 *  its row space: P = I - B^T B with B an orthonormal basis of the union of all classifiers' row
 *  spaces (the paper's projection onto the intersection of nullspaces). Stops after an iteration
 *  whose accuracy is <= min_accuracy (pass a negative value to always run n_iterations).
 *  projection_out: d x d float64 (symmetric, idempotent); accuracy_out, rank_out: n_iterations each
 *  (entries past *n_done are untouched); n_done: iterations run. Apply P as x P (rows). */
lamina_status lamina_inlp(const float* x, int64_t n, int64_t d, const int32_t* labels, const float* x_dev,
                          int64_t n_dev, const int32_t* y_dev, const lamina_logistic_probe_params* params,
                          int32_t n_iterations, double min_accuracy, double* projection_out,
                          double* accuracy_out, int32_t* rank_out, int32_t* n_done);

/* ==================================================================================================
 * 10. Structural probes [experimental]
 *
 * Hewitt & Manning 2019, "A Structural Probe for Finding Syntax in Word Representations", following
 * their reference code (john-hewitt/structural-probes: probe.py, loss.py, regimen.py, reporter.py).
 * A probe is a rank-r linear map B (rank x d). The distance probe (TwoWordPSDProbe) predicts the tree
 * distance of tokens i, j of an item as ||B (h_i - h_j)||^2; the depth probe (OneWordPSDProbe)
 * predicts the depth of token i as ||B h_i||^2.
 *
 * Ragged input: items (sentences, functions) of different lengths are passed concatenated.
 *   x         n_tokens x d float32 activations (finite), the tokens of item 0, then item 1, ...
 *   offsets   n_items + 1 int64: offsets[0] = 0, strictly increasing (every item has >= 1 token),
 *             offsets[n_items] = n_tokens; item k is tokens offsets[k] ..< offsets[k+1], L_k tokens.
 *   targets   distance: the L_k x L_k gold distance matrices, row-major, concatenated (sum of L_k^2
 *             values); depth: one gold depth per token (n_tokens values). Finite and >= 0; -1 marks an
 *             entry to ignore (the reference's padding value: it adds nothing to the loss).
 * Predictions use the same layouts.
 *
 * Training (regimen.py, loss.py): B initialised uniform(-0.05, 0.05) (the reference's init of its
 * d x rank `proj`, here stored transposed); torch.optim.Adam; each epoch visits the training items
 * in a new seeded random order in batches of batch_size items; the loss of a batch is the mean over
 * its items of sum |pred - gold| / L^2 (distance, L1DistanceLoss) or sum |pred - gold| / L (depth,
 * L1DepthLoss). With a dev split (the last n_dev_items items): after each epoch the dev loss (mean
 * item loss) drives ReduceLROnPlateau(mode min, factor plateau_factor, patience 0, threshold 1e-4
 * relative), the parameters of the epoch with the best dev loss (improved by more than 1e-4) are kept
 * at the end, and training stops once `patience` epochs in a row did not improve it (the reference
 * stops after 5). Loss sums are float64. Deterministic for a seed, for any
 * thread count (the seed does not reproduce torch's random numbers). A handle is used by one thread
 * at a time; the metric functions are stateless.
 * ================================================================================================ */

/** A structural probe (params, and after a fit: B and the fit's scalars): an opaque handle. */
typedef struct lamina_structural_probe lamina_structural_probe;

/** What a structural probe predicts. */
typedef int32_t lamina_structural_probe_kind;
#define LAMINA_STRUCTURAL_DISTANCE 0   /* ||B (h_i - h_j)||^2 vs gold tree distances (L x L per item) */
#define LAMINA_STRUCTURAL_DEPTH 1      /* ||B h_i||^2 vs gold tree depths (one per token) */

/** Parameters of a structural probe (start from lamina_structural_probe_default_params()). */
typedef struct lamina_structural_probe_params {
    lamina_structural_probe_kind kind; /* default LAMINA_STRUCTURAL_DISTANCE */
    int32_t rank;                      /* rows of B, >= 1 (default 64; the reference's configs use d) */
    double lr;                         /* Adam learning rate > 0 (default 0.001, the reference's) */
    int32_t epochs;                    /* maximum epochs >= 0 (default 40, the reference's configs) */
    int32_t batch_size;                /* items per step >= 1 (default 20, the reference's configs) */
    uint64_t seed;                     /* init of B and the shuffling (default 0) */
    double beta1;                      /* Adam betas and eps (defaults 0.9, 0.999, 1e-8) */
    double beta2;
    double eps;
    double plateau_factor;             /* lr factor on a dev plateau, 0 < f <= 1 (default 0.1; 1 = none) */
    int32_t patience;                  /* early stopping after this many non-improving dev epochs
                                          (default 5, the reference's; 0 = never) */
    int32_t warm_start;                /* 1: start from the current B (previous fit or
                                          lamina_structural_probe_set_projection); 0: new init (default) */
} lamina_structural_probe_params;

/** The default parameters (values above). */
lamina_structural_probe_params lamina_structural_probe_default_params(void);

/** LAMINA_OK if params are valid, else LAMINA_ERR_INVALID_ARGUMENT with a message naming the field. */
lamina_status lamina_structural_probe_check_params(const lamina_structural_probe_params* params);

/** Creates an unfitted probe; *out receives the handle (free it with lamina_structural_probe_free).
 *  The params are copied. Errors: NULL params or out, invalid params. */
lamina_status lamina_structural_probe_create(const lamina_structural_probe_params* params,
                                             lamina_structural_probe** out);

/** Frees a probe. NULL, and a pointer that is not a live handle, are ignored. */
void lamina_structural_probe_free(lamina_structural_probe* probe);

/** Trains B on ragged data (layout above): x (n_tokens x d), offsets (n_items + 1), targets
 *  (n_targets values: sum of L_k^2 for distance, n_tokens for depth). The last n_dev_items items
 *  (0 <= n_dev_items < n_items) are the dev split; 0 = none (all `epochs` run, the final B is kept).
 *  progress (may be NULL) is called after every step (batch) with task "structural_probe_train",
 *  the batch loss, and terms "epoch", "lr", "dev_loss" (NaN before the first dev evaluation); a
 *  non-zero return stops training with LAMINA_ERR_CANCELLED and leaves B of the last step.
 *  Errors: bad handle; NULL pointers; n_tokens, d, n_items out of range; NaN/Inf in x or targets
 *  (LAMINA_ERR_NON_FINITE); offsets not starting at 0, not strictly increasing or not ending at
 *  n_tokens; n_targets not matching the layout (LAMINA_ERR_SHAPE_MISMATCH); negative targets other
 *  than -1; bad n_dev_items; warm start with another d. */
lamina_status lamina_structural_probe_fit(lamina_structural_probe* probe, const float* x, int64_t n_tokens,
                                          int64_t d, const int64_t* offsets, int64_t n_items,
                                          const float* targets, int64_t n_targets, int64_t n_dev_items,
                                          lamina_progress_fn progress, void* user);

/** Predicted squared distances (distance: the L_k x L_k matrices concatenated, diagonal 0) or squared
 *  norms (depth: one per token) of ragged x, into out (out_len = sum of L_k^2, or n_tokens).
 *  Errors: not fitted, d mismatch (checked before x is read), the input checks of _fit, out_len mismatch. */
lamina_status lamina_structural_probe_predict(const lamina_structural_probe* probe, const float* x,
                                              int64_t n_tokens, int64_t d, const int64_t* offsets,
                                              int64_t n_items, float* out, int64_t out_len);

/** The loss of all the items taken as one batch (mean over items of the L1 loss normalised by L^2 or
 *  L, as the reference's L1DistanceLoss / L1DepthLoss) at the current B, into *loss; when grad_out
 *  is not NULL also its gradient dL/dB (rank x d, grad_len = rank * d). Errors: as _predict, plus
 *  the targets checks of _fit. */
lamina_status lamina_structural_probe_loss(const lamina_structural_probe* probe, const float* x,
                                           int64_t n_tokens, int64_t d, const int64_t* offsets,
                                           int64_t n_items, const float* targets, int64_t n_targets,
                                           double* loss, float* grad_out, int64_t grad_len);

/** Scalars of the last fit; any output may be NULL: features d, rank, epochs run, steps run, mean
 *  training loss of the last epoch, best dev loss (NaN without a dev split), its epoch (0-based, -1
 *  without a dev split), the learning rate at the end. Error: not fitted. */
lamina_status lamina_structural_probe_get_info(const lamina_structural_probe* probe, int64_t* n_features,
                                               int32_t* rank, int32_t* n_epochs, int64_t* n_steps,
                                               double* train_loss, double* dev_loss, int32_t* best_epoch,
                                               double* final_lr);

/** Copies B (rank x n_features float32, row-major; the transpose of the reference's proj).
 *  out_len must equal rank * n_features. Error: not fitted. */
lamina_status lamina_structural_probe_get_projection(const lamina_structural_probe* probe, float* out,
                                                     int64_t out_len);

/** Sets B (rank x d, finite, rank equal to params.rank): the probe can then predict, and a fit with
 *  warm_start = 1 starts from it. */
lamina_status lamina_structural_probe_set_projection(lamina_structural_probe* probe, const float* b,
                                                     int64_t rank, int64_t d);

/** UUAS as the reference's reporter (report_uuas_and_tikz): for each item the minimum spanning tree
 *  of the predicted and of the gold L x L distances over the tokens not ignored (prims_matrix_to_edges:
 *  pairs sorted by distance, ties in row-major order, joined when they connect two components);
 *  *uuas = (gold edges also predicted, summed over items) / (gold edges, summed over items).
 *  predicted, gold: n_values = sum of L_k^2 values (finite). ignore: NULL or n_tokens bytes, non-zero
 *  = leave the token out of both trees (the reference leaves out punctuation). n_correct, n_total may
 *  be NULL. Errors: the layout checks, NaN/Inf, no item with 2 tokens kept. */
lamina_status lamina_structural_uuas(const float* predicted, const float* gold, int64_t n_values,
                                     const int64_t* offsets, int64_t n_items, const uint8_t* ignore,
                                     double* uuas, int64_t* n_correct, int64_t* n_total);

/** Spearman correlation as the reference's reporter (report_spearmanr): distance -- for each row i of
 *  each item, scipy.stats.spearmanr(predicted[i, :], gold[i, :]) over the L entries of the row
 *  (average ranks for ties); depth -- spearmanr over the item's tokens. Correlations are averaged over
 *  all rows (items) of the same length, then those means over the lengths min_length..max_length that
 *  occur (the reference's "5-50 mean": 5, 50). *out is NaN when no length is in range or a
 *  correlation there is undefined (a constant row, as scipy). item_means: NULL or n_items doubles,
 *  each item's mean row correlation (distance) or its correlation (depth). n_values = sum of L_k^2
 *  (distance) or n_tokens (depth). Errors: bad kind, the layout checks, NaN/Inf, bad lengths. */
lamina_status lamina_structural_spearman(lamina_structural_probe_kind kind, const float* predicted,
                                         const float* gold, int64_t n_values, const int64_t* offsets,
                                         int64_t n_items, int32_t min_length, int32_t max_length,
                                         double* out, double* item_means);

/** Root accuracy of a depth probe as the reference's reporter (report_root_acc): the fraction of items
 *  whose gold root (the first token with gold depth exactly 0) is the token with the smallest predicted
 *  depth among those not ignored (first on ties; all tokens when all are ignored). predicted, gold:
 *  n_tokens values; ignore: NULL or n_tokens bytes. n_correct, n_total may be NULL. Errors: the layout
 *  checks, NaN/Inf, an item without a gold depth 0. */
lamina_status lamina_structural_root_accuracy(const float* predicted, const float* gold, int64_t n_tokens,
                                              const int64_t* offsets, int64_t n_items, const uint8_t* ignore,
                                              double* accuracy, int64_t* n_correct, int64_t* n_total);

/** Gold targets from trees, as the reference's task.py (ParseDistanceTask: path length between two
 *  tokens; ParseDepthTask: edges from the root). parents: n_tokens int32, local to each item: -1 for
 *  the item's root, else the index (0 ..< L_k) of the token's parent (the reference reads 1-based
 *  CoNLL heads with 0 = root: subtract 1). Writes distances (NULL, or n_distances = sum of L_k^2
 *  floats, the L_k x L_k matrices concatenated) and/or depths (NULL, or n_depths = n_tokens floats).
 *  Errors: the layout checks; a parent out of range, an item with no root or two roots, a cycle
 *  (LAMINA_ERR_INVALID_ARGUMENT, naming the item and token; on a cycle the outputs are partly
 *  written); output sizes (LAMINA_ERR_SHAPE_MISMATCH); both outputs NULL. */
lamina_status lamina_structural_tree_targets(const int32_t* parents, int64_t n_tokens, const int64_t* offsets,
                                             int64_t n_items, float* distances, int64_t n_distances,
                                             float* depths, int64_t n_depths);

/* ==================================================================================================
 * 11. AST-Probe [experimental]
 *
 * AST-Probe (Hernández López, Weyssow, Cuadrado, Sahraoui 2022, "AST-Probe: Recovering abstract
 * syntax trees from hidden representations of pre-trained language models"), with the semantics of
 * the paper's code (src/data/binary_tree.py, src/probe/probe.py, loss.py and src/run_probing.py of
 * the AST-Probe repository).
 *
 * Trees. A tree is parent indices (the one root has parent -1), a label per node (an *atom* id
 * >= 0, e.g. an AST node type) and the node of each token: the tokens are the leaves, in sequence
 * order. Valid trees: exactly one root, parents in range, no cycle, every leaf is a token and every
 * token a leaf, and every node covers a contiguous range of tokens (else "leaves out of order").
 * Many trees travel together as one lamina_ast_trees struct, ragged, with local indices per tree.
 *
 * Binarisation (the paper's ast2binary): children are ordered by their first token; a node with
 * one inner child absorbs it (its label becomes the *chain* [own, child], the paper's "A<sep>B");
 * a node whose only child is a token becomes that token's leaf and carries its chain as the token's
 * unary label; a node with k > 2 children keeps the first and right-nests the others under nodes
 * with the empty chain (the paper's "<empty>"). The binary tree has 2L - 1 nodes for L tokens.
 * Tuples (tree_to_distance): d[i] = height of the lowest common ancestor of tokens i and i+1 (leaves
 * have height 0), c[i] = its chain, u[i] = token i's unary chain (the empty chain if none).
 * Chains are interned in a lamina_ast_chains table: chain 0 is always the empty chain.
 * Decoding (distance_to_tree + remove_empty_nodes + add_unary + extend_complex_nodes): split the
 * token range at the first largest d, recursively; a chain [a1..ak] becomes nodes a1 -> ... -> ak;
 * an inner node with the empty chain is dropped (its children go to its parent) except at the root,
 * which is kept with label LAMINA_AST_BAD_ROOT (the paper's "bad_root"); a token with a unary chain
 * gets those nodes above its leaf; leaves have label LAMINA_AST_LEAF. The constituents of a tree are
 * (label, first token, last token) of its nodes with children; decoding the tuples of a tree gives
 * the constituents of the original tree (up to its leaf labels).
 * F1 (get_precision_recall_f1): both gold and predicted trees are decoded from tuples; hits =
 * predicted constituents (counted with multiplicity) found in the gold set; precision = hits /
 * |predicted|, recall = hits / |gold|, F1 their harmonic mean (0 when both are 0); averaged over
 * snippets (np.mean of each).
 * ================================================================================================ */

#define LAMINA_AST_LEAF (-1)        /* label of a token leaf in a decoded tree */
#define LAMINA_AST_BAD_ROOT (-2)    /* label of a decoded root whose chain is empty ("bad_root") */

/** Trees (input): n_trees >= 1; node_offsets and token_offsets have n_trees + 1 entries starting at
 *  0 (>= 1 node and >= 1 token per tree); tree i's nodes are node_offsets[i] .. node_offsets[i+1]-1
 *  of parent and label, its tokens token_offsets[i] .. token_offsets[i+1]-1 of token_node; parent
 *  and token_node hold local node indices (0 .. nodes of the tree - 1). */
typedef struct lamina_ast_trees {
    int64_t n_trees;
    const int64_t* node_offsets;    /* n_trees + 1 */
    const int32_t* parent;          /* node_offsets[n_trees]: parent node, -1 for the root */
    const int32_t* label;           /* node_offsets[n_trees]: atom id >= 0 */
    const int64_t* token_offsets;   /* n_trees + 1 */
    const int32_t* token_node;      /* token_offsets[n_trees]: the leaf node of each token */
} lamina_ast_trees;

/** A chain table: chain k is atoms[offsets[k] .. offsets[k+1]-1]; chain 0 is empty; the others are
 *  non-empty, distinct, with atoms >= 0. As an output (binarize, tuples) the table is extended in
 *  place: set n_chains = 0 for a new table, or pass a table from an earlier call to keep its ids (new
 *  chains are appended); max_chains / max_atoms are the capacities of offsets (max_chains + 1
 *  entries) and atoms. Sufficient: max_chains = 2 * total tokens + 1 (+ the chains already there),
 *  max_atoms = total nodes (+ the atoms already there); a table passed in must then have n_chains <=
 *  max_chains and offsets[n_chains] <= max_atoms (LAMINA_ERR_INVALID_ARGUMENT otherwise, checked before
 *  the entries are read). As an input only n_chains, offsets and atoms are read. */
typedef struct lamina_ast_chains {
    int64_t n_chains;
    int64_t max_chains;
    int64_t max_atoms;
    int64_t* offsets;
    int32_t* atoms;
} lamina_ast_chains;

/** Validates trees (see above); LAMINA_OK or LAMINA_ERR_INVALID_ARGUMENT naming the tree and node:
 *  two roots, no root / a cycle, parent out of range, a leaf without a token, a token that is not a
 *  leaf, two tokens on one node, tokens of a node not contiguous. */
lamina_status lamina_ast_trees_check(const lamina_ast_trees* trees);

/** Binarises every tree. Outputs: parent_out and chain_out, 2 * token_offsets[n_trees] - n_trees
 *  int32 (tree i's binary tree starts at 2 * token_offsets[i] - i: 2 L_i - 1 nodes in pre-order,
 *  children ordered by first token, local parent indices, -1 for the root); chain_out is the chain id
 *  of each node (merged labels of an inner node; the unary chain of a leaf, 0 if none);
 *  token_node_out, token_offsets[n_trees] int32 (the leaf of each token). chains: extended in place.
 *  Errors: invalid trees, NULL outputs, a chain table too small (LAMINA_ERR_SHAPE_MISMATCH, naming the
 *  sizes needed; nothing is written then). */
lamina_status lamina_ast_binarize(const lamina_ast_trees* trees, int32_t* parent_out, int32_t* chain_out,
                                  int32_t* token_node_out, lamina_ast_chains* chains);

/** The (d, c, u) tuples of every tree. d_out, c_out: token_offsets[n_trees] - n_trees int32 (tree i's
 *  L_i - 1 values start at token_offsets[i] - i; may be NULL when every tree has one token); u_out:
 *  token_offsets[n_trees] int32. c and u are chain ids of `chains` (extended in place). Errors as
 *  lamina_ast_binarize. */
lamina_status lamina_ast_tuples(const lamina_ast_trees* trees, int32_t* d_out, int32_t* c_out, int32_t* u_out,
                                lamina_ast_chains* chains);

/** Decodes the tuples of one snippet of n_tokens >= 1 tokens (d: n_tokens - 1 finite floats, e.g. a
 *  probe's predicted distances or gold heights; c: n_tokens - 1 and u: n_tokens chain ids of `chains`)
 *  into a tree: parent_out, label_out (atoms, LAMINA_AST_LEAF, LAMINA_AST_BAD_ROOT) with max_nodes
 *  capacity, token_node_out (n_tokens), *n_nodes_out = the node count (pre-order, node 0 the root).
 *  At most n_tokens + sum over i of max(1, |chain c_i|) + sum of |chain u_i| nodes. If the tree does
 *  not fit, LAMINA_ERR_SHAPE_MISMATCH with *n_nodes_out set to the size needed. */
lamina_status lamina_ast_decode(int64_t n_tokens, const float* d, const int32_t* c, const int32_t* u,
                                const lamina_ast_chains* chains, int64_t max_nodes, int32_t* parent_out,
                                int32_t* label_out, int32_t* token_node_out, int64_t* n_nodes_out);

/** Constituent precision, recall and F1 of predicted against gold tuples (see above) for n_snippets
 *  snippets of >= 2 tokens each: token_offsets (n_snippets + 1, from 0); gold_d/pred_d (float) and
 *  gold_c/pred_c, token_offsets[n] - n_snippets values (snippet i's start at token_offsets[i] - i);
 *  gold_u/pred_u token_offsets[n] values. precision_out, recall_out, f1_out: n_snippets doubles each,
 *  or NULL; mean_out: 3 doubles (mean precision, recall, F1). Errors: offsets, NaN/Inf in d, chain
 *  ids out of range, a bad chain table. */
lamina_status lamina_ast_f1(const int64_t* token_offsets, int64_t n_snippets, const float* gold_d,
                            const int32_t* gold_c, const int32_t* gold_u, const float* pred_d,
                            const int32_t* pred_c, const int32_t* pred_u, const lamina_ast_chains* chains,
                            double* precision_out, double* recall_out, double* f1_out, double* mean_out);

/** The probe (the paper's ParserProbe and ParserLoss(loss='rank')): t_i = P^T h_i with P (dim x rank,
 *  B = P^T the syntactic subspace), D_i = t_{i+1} - t_i, predicted distance d_hat_i = ||D_i||^2,
 *  scores of the c classes D_i^T V_c, of the u classes t_i^T V_u (softmax). Loss of a batch =
 *  sum over ordered pairs (i, j) of one snippet with d_i > d_j of relu(1 - (d_hat_i - d_hat_j)),
 *  divided by the number of such pairs + 1e-9, + mean cross-entropy of c + mean cross-entropy of u
 *  + orthogonal_reg * ||P^T P - I||_F^2. P, V_c, V_u start uniform in [-0.05, 0.05] (seeded); Adam
 *  (torch.optim.Adam's rule) over mini-batches of batch_size snippets, shuffled each epoch (seeded).
 *  The c and u classes are the distinct chain ids of the training tuples (sorted); predictions are
 *  the argmax class (first on ties). No early stopping / learning-rate schedule (the paper's code uses
 *  a validation set for those): choose epochs. A handle is used by one thread at a time. */
typedef struct lamina_ast_probe lamina_ast_probe;

/** Parameters of an AST-Probe (start from lamina_ast_probe_default_params()). */
typedef struct lamina_ast_probe_params {
    int32_t rank;             /* r >= 1 (default 128, the paper's) */
    int32_t epochs;           /* >= 0 (default 20); 0 only initialises the weights and classes */
    int32_t batch_size;       /* snippets per step >= 1 (default 32) */
    double lr;                /* Adam learning rate > 0 (default 1e-3); the probe computes in float32 */
    double orthogonal_reg;    /* >= 0 (default 5, the paper's) */
    double beta1, beta2, eps; /* Adam (0.9, 0.999, 1e-8) */
    uint64_t seed;            /* default 0 */
} lamina_ast_probe_params;

/** The default parameters (values above). */
lamina_ast_probe_params lamina_ast_probe_default_params(void);

/** LAMINA_OK if params are valid, else LAMINA_ERR_INVALID_ARGUMENT naming the field. */
lamina_status lamina_ast_probe_check_params(const lamina_ast_probe_params* params);

/** Creates an unfitted probe; *out receives the handle (free it with lamina_ast_probe_free). The params
 *  are copied. Errors: NULL params or out, invalid params. */
lamina_status lamina_ast_probe_create(const lamina_ast_probe_params* params, lamina_ast_probe** out);

/** Frees a probe. NULL, and a pointer that is not a live handle, are ignored. */
void lamina_ast_probe_free(lamina_ast_probe* probe);

/** Fits on n_snippets snippets: x (n x dim, finite; snippet s = rows offsets[s] .. offsets[s+1]-1,
 *  >= 2 tokens each, offsets[n_snippets] = n), gold tuples d, c (n - n_snippets int32; snippet s's
 *  start at offsets[s] - s) and u (n int32), c and u chain ids >= 0 (from lamina_ast_tuples). progress
 *  (may be NULL) is called after every step with the terms "rank", "c", "u", "orthogonal"; a non-zero
 *  return cancels (LAMINA_ERR_CANCELLED, the weights of the last step are kept). Refitting restarts
 *  from the seed. */
lamina_status lamina_ast_probe_fit(lamina_ast_probe* probe, const float* x, int64_t n, int64_t dim,
                                   const int64_t* offsets, int64_t n_snippets, const int32_t* d,
                                   const int32_t* c, const int32_t* u, lamina_progress_fn progress, void* user);

/** Predicted tuples: d_out (n - n_snippets floats, d_hat), c_out (n - n_snippets) and u_out (n) chain
 *  ids; same layout as lamina_ast_probe_fit. Score them with lamina_ast_f1. Errors: not fitted, dim
 *  differs from the fit (LAMINA_ERR_SHAPE_MISMATCH, checked before x is read), the input checks. */
lamina_status lamina_ast_probe_predict(const lamina_ast_probe* probe, const float* x, int64_t n, int64_t dim,
                                       const int64_t* offsets, int64_t n_snippets, float* d_out,
                                       int32_t* c_out, int32_t* u_out);

/** Sizes of the fit: features, number of c and u classes, Adam steps taken, mean loss of the last
 *  epoch (NaN if none). Any output may be NULL. Error: not fitted. */
lamina_status lamina_ast_probe_get_info(const lamina_ast_probe* probe, int64_t* dim, int32_t* n_c_classes,
                                        int32_t* n_u_classes, int64_t* n_steps, double* last_epoch_loss);

/** Copies the weights: proj (dim x rank, P), vectors_c (rank x n_c), vectors_u (rank x n_u), all
 *  row-major float32, and the chain id of each class, classes_c (n_c) and classes_u (n_u). Any
 *  output may be NULL. Error: not fitted. */
lamina_status lamina_ast_probe_get_weights(const lamina_ast_probe* probe, float* proj, float* vectors_c,
                                           float* vectors_u, int32_t* classes_c, int32_t* classes_u);

/** Makes the probe a fitted one from the weights of a fit (restoring a saved probe, e.g. the Python
 *  binding's pickling), in the layout of lamina_ast_probe_get_weights: proj (dim x rank, rank from the
 *  params), vectors_c (rank x n_c_classes), vectors_u (rank x n_u_classes), finite float32, and the
 *  distinct chain ids (>= 0) of the classes, classes_c and classes_u. lamina_ast_probe_predict is then
 *  bit-identical to that of the probe the weights came from; lamina_ast_probe_get_info reports 0 steps and a
 *  NaN loss. Errors: bad handle, NULL arrays, dim or a class count <= 0, NaN/Inf
 *  (LAMINA_ERR_NON_FINITE), negative or duplicate chain ids. */
lamina_status lamina_ast_probe_set_weights(lamina_ast_probe* probe, int64_t dim, const float* proj,
                                           const float* vectors_c, const int32_t* classes_c, int32_t n_c_classes,
                                           const float* vectors_u, const int32_t* classes_u, int32_t n_u_classes);

/* ==================================================================================================
 * 12. Sparse autoencoders [experimental]
 *
 * Sparse autoencoders (SAEs) trained on activations, as SAELens, sparsify, OpenAI's sparse_autoencoder
 * and dictionary_learning train them, on the CPU.
 *
 * Model (every architecture): with s the input scale (1 unless normalize_input),
 *     pre   = W_enc (s x - b_dec) + b_enc,      z = act(pre),      x_hat = (W_dec^T z + b_dec) / s
 * W_enc and W_dec are stored one row per latent (n_latents x d_in); lamina_sae_get_weights returns
 * SAELens' layout (W_enc [d_in, d_sae], W_dec [d_sae, d_in]).
 *   TOPK      z = TopK_k(ReLU(pre)) per row, ties by lower latent index (Gao et al. 2024, sparsify).
 *   BATCHTOPK training keeps the top k*B values of ReLU(pre) over the whole batch (Bussmann et al. 2024);
 *             a threshold theta is learned as a running estimate (SAELens' rule): after every step
 *             theta <- (1 - threshold_rate) theta + threshold_rate * (smallest positive kept value),
 *             theta starting at 0; inference is JumpReLU with that theta for every latent.
 *   RELU      z = ReLU(pre); loss mean_b ||x_hat_b - x_b||^2 + lambda_t mean_b sum_i z_bi ||W_dec,i||
 *             (Anthropic's April 2024 update: unconstrained decoder, lambda warmed up linearly from 0
 *             over l1_warmup_steps, decoder rows initialised at norm 0.1).
 *   JUMPRELU  z_i = pre_i H(pre_i - theta_i), theta_i = exp(log_theta_i) learned; loss
 *             mean_b ||x_hat_b - x_b||^2 + c_t mean_b sum_i H(pre_bi - theta_i) (L0), with the
 *             straight-through estimator of Rajamanoharan et al. 2024 / SAELens: rectangle kernel
 *             K(u) = 1 for |u| < 1/2, bandwidth eps: dz/dtheta = -(theta/eps) K((pre - theta)/eps),
 *             dH/dtheta = -(1/eps) K((pre - theta)/eps), dz/dpre = H(pre - theta).
 * TopK / BatchTopK objective (sparsify): fvu = sum||x_hat - x||^2 / sum||x - mean_batch(x)||^2 plus
 * auxk_alpha * AuxK: dead latents = not fired within the last dead_tokens training tokens; e = x - x_hat,
 * e_hat = W_dec^T TopK_{min(k_aux, n_dead)}(ReLU(pre) over the dead latents),
 * AuxK = min(n_dead / k_aux, 1) sum||e_hat - e||^2 / sum||e - mean_batch(e)||^2. Decoder rows are kept at
 * unit norm: the gradient component parallel to each row is removed before the step and rows are
 * renormalised (w / (||w|| + FLT_EPSILON)) after it. W_enc and W_dec are initialised by params.init
 * (LAMINA_SAE_INIT_*, below; by default sparsify's for TopK/BatchTopK: W_enc uniform, W_dec its rows
 * normalised); b_dec to the mean or Weiszfeld geometric median of the first min(n, 65536) training
 * rows; b_enc = 0.
 * Optimisation: Adam exactly as torch.optim.Adam (every parameter, dense moments), lr default
 * 2e-4 / sqrt(n_latents / 2^14), linear warm-up over warmup_steps, then optional linear or cosine decay
 * over the last decay_steps steps (0 = all after warm-up), optional clipping of the global gradient norm
 * (torch.nn.utils.clip_grad_norm_). Batches: the rows shuffled once per epoch with the seed; the last
 * partial batch is dropped. HDF5 training streams row chunks (~32 MB) in a seeded random chunk order,
 * rows shuffled within each chunk, so memory stays bounded for files larger than RAM.
 * Memory: the batch x n_latents code matrix is never built; a step costs O(batch * n_latents * d_in)
 * for the encoder and O(batch * active * d_in) for the rest.
 * Determinism: same params, data, data order and thread count give bit-identical models; a checkpoint
 * resumes to the bit-identical result of an uninterrupted run.
 * A lamina_sae handle is used by one thread at a time.
 * Errors of every function below, besides those it lists: LAMINA_ERR_INVALID_ARGUMENT for a NULL or
 * dead handle and NULL required pointers; LAMINA_ERR_SHAPE_MISMATCH when d (or n_latents) differs from
 * the SAE's or an out_len from the documented size; LAMINA_ERR_NON_FINITE for NaN/Inf in an input.
 * ================================================================================================ */

/** An SAE with its training state (optimizer moments, data position, history): an opaque handle. */
typedef struct lamina_sae lamina_sae;

/** The activation rule and objective (see the section intro). */
typedef int32_t lamina_sae_architecture;
#define LAMINA_SAE_TOPK 0         /* TopK_k(ReLU(pre)), fvu + AuxK objective (sparsify) */
#define LAMINA_SAE_BATCHTOPK 1    /* top k*B of the batch while training, JumpReLU with a learned threshold after */
#define LAMINA_SAE_RELU 2         /* ReLU with a norm-weighted L1 penalty (Anthropic, April 2024) */
#define LAMINA_SAE_JUMPRELU 3     /* JumpReLU with learned thresholds and an L0 penalty (Rajamanoharan et al. 2024) */
#define LAMINA_SAE_MATRYOSHKA_BATCHTOPK 4  /* [experimental] Matryoshka BatchTopK (Bussmann et al. 2025): nested prefix decoders, below */

/** Learning-rate decay after the warm-up. */
typedef int32_t lamina_sae_decay;
#define LAMINA_SAE_DECAY_NONE 0       /* constant lr */
#define LAMINA_SAE_DECAY_LINEAR 1     /* lr * (T - t + 1) / D over the last D steps */
#define LAMINA_SAE_DECAY_COSINE 2     /* lr * (1 + cos(pi (t - T + D - 1) / D)) / 2 over the last D steps */

/** Initial b_dec, from the first min(n, 65536) training rows. */
typedef int32_t lamina_sae_bias_init;
#define LAMINA_SAE_BDEC_MEAN 0                /* their mean */
#define LAMINA_SAE_BDEC_GEOMETRIC_MEDIAN 1   /* Weiszfeld from the mean, <= 100 iterations, rel. tol 1e-9 */
#define LAMINA_SAE_BDEC_ZERO 2                /* zeros */

/** Initialisation of W_enc and W_dec (r = decoder row norm: 1 for TOPK/BATCHTOPK, 0.1 for RELU/JUMPRELU).
 * Measured at equal tokens against the references (benchmarks/bench_sae_curves.py, benchmarks/README.md).
 *   SPARSIFY: sparsify's. W_enc rows ~ U(-1/sqrt(d_in), 1/sqrt(d_in)) iid (torch nn.Linear's default, row
 *             norm ~ 1/sqrt(3)); W_dec row j = r W_enc,j / (||W_enc,j|| + FLT_EPSILON).
 *   TIED:     W_dec rows ~ N(0, I) scaled to norm r, W_enc = W_dec^T (Anthropic, SAELens, dictionary_learning;
 *             Lamina's only initialisation before 0.2). */
typedef int32_t lamina_sae_weight_init;
#define LAMINA_SAE_INIT_AUTO 0       /* the architecture's default: SPARSIFY for TOPK and BATCHTOPK, TIED for RELU and JUMPRELU */
#define LAMINA_SAE_INIT_SPARSIFY 1   /* sparsify's uniform encoder, decoder = its rows normalised */
#define LAMINA_SAE_INIT_TIED 2       /* Gaussian decoder directions, encoder = decoder^T */

/** [experimental] The most Matryoshka groups (lamina_sae_params.n_groups; LAMINA_SAE_MATRYOSHKA_BATCHTOPK). */
#define LAMINA_SAE_MAX_GROUPS 16

/** Hyperparameters of an SAE and of its training (start from lamina_sae_default_params()). */
typedef struct lamina_sae_params {
    int64_t d_in;                     /* input dimension >= 1 (default 768) */
    int64_t n_latents;                /* dictionary size >= 1 (default 16384) */
    lamina_sae_architecture architecture;  /* default LAMINA_SAE_TOPK */
    int32_t k;                        /* active latents per row (TopK) / mean per row (BatchTopK), 1..n_latents (default 32) */
    double lr;                        /* Adam learning rate > 0; 0 = automatic 2e-4 / sqrt(n_latents / 2^14) (default 0) */
    int32_t batch_size;               /* rows per step >= 1 (default 4096) */
    double adam_beta1, adam_beta2, adam_eps;   /* defaults 0.9, 0.999, 1e-8 */
    double auxk_alpha;                /* AuxK coefficient >= 0, 0 = off (default 1/32) */
    int32_t k_aux;                    /* AuxK k >= 0, 0 = d_in / 2 (default 0) */
    int64_t dead_tokens;              /* dead-latent window in tokens >= 0 (default 10,000,000) */
    double l1_coefficient;            /* ReLU: lambda of the L1 penalty; JumpReLU: L0 coefficient (default 5) */
    int32_t l1_warmup_steps;          /* linear warm-up of that coefficient from 0 (default 0) */
    double jumprelu_init_threshold;   /* > 0 (default 0.001) */
    double jumprelu_bandwidth;        /* eps > 0 (default 0.001) */
    double threshold_rate;            /* BatchTopK running-threshold rate in (0, 1] (default 0.01) */
    int32_t warmup_steps;             /* lr warm-up steps >= 0 (default 0) */
    lamina_sae_decay decay;           /* default LAMINA_SAE_DECAY_NONE */
    int32_t decay_steps;              /* >= 0, 0 = every step after warm-up (default 0) */
    double grad_clip;                 /* max global gradient norm, 0 = off (default 0) */
    lamina_sae_bias_init b_dec_init;  /* default LAMINA_SAE_BDEC_MEAN */
    lamina_sae_weight_init init;      /* W_enc / W_dec initialisation (default LAMINA_SAE_INIT_AUTO) */
    int32_t normalize_input;          /* 1: train on s x with s = sqrt(d_in) / mean ||x|| over the b_dec sample,
                                         folded back into the exported weights (default 0) */
    uint64_t seed;                    /* default 0 */
    /* [experimental] Matryoshka groups (LAMINA_SAE_MATRYOSHKA_BATCHTOPK only; n_groups must be 0 for
       every other architecture). */
    int32_t n_groups;                 /* G, 1..LAMINA_SAE_MAX_GROUPS (default 0) */
    int64_t group_widths[LAMINA_SAE_MAX_GROUPS];   /* m_1 < ... < m_G = n_latents; entries >= G unused (0) */
    double group_weights[LAMINA_SAE_MAX_GROUPS];   /* w_g: finite >= 0, not all 0; all G zero = every weight 1 */
} lamina_sae_params;

/** Matryoshka BatchTopK [experimental] (LAMINA_SAE_MATRYOSHKA_BATCHTOPK; Bussmann, Nabeshima, Karvonen
 *  & Nanda 2025). Groups: widths m_1 < ... < m_G = n_latents (the nested dictionaries are the prefixes
 *  W_dec[:m_g]) and weights w_g.
 *  Top-k per batch: one selection over the whole dictionary, as BatchTopK: the k*B largest values of
 *  ReLU(pre) over the B x n_latents batch are kept (ties by row, then latent order), every other code is
 *  0; the rows of a batch share the budget (a row may keep more or fewer than k). The same codes feed
 *  every prefix: x_hat_g = b_dec + sum_{j < m_g} z_j W_dec[j].
 *  Loss: sum_g w_g ||X - X_hat_g||^2 / ||X - mean(X)||^2 (Frobenius over the batch: each prefix's FVU)
 *  + auxk_alpha * AuxK, with AuxK as for TopK on the residual X - X_hat_G of the full decoder. Decoder
 *  rows stay at unit norm. After each step the threshold estimate theta <- (1 - threshold_rate) theta +
 *  threshold_rate * (smallest positive code of the step), every latent's threshold; inference (encode,
 *  evaluate, files) is JumpReLU with it: z_j = pre_j if pre_j > theta_j, else 0.
 *  The references: SAELens (matryoshka_batchtopk) sums the per-prefix MSEs, every weight 1 (Lamina's
 *  default, all weights 0); dictionary_learning averages w_g MSE_g over the groups (its weights / G in
 *  Lamina's terms); Bussmann's code also averages in the b_dec-only error (a width-0 prefix, which Lamina
 *  does not have). The three agree on the codes, the threshold and the AuxK residual; Lamina follows
 *  SAELens and states the weights explicitly. Saved (LAMINA_SAE_FORMAT_SAELENS) in SAELens' training
 *  layout: cfg.json with architecture "matryoshka_batchtopk", matryoshka_widths, k, topk_threshold_lr,
 *  rescale_acts_by_decoder_norm (false: the codes use W_dec as saved), use_sparse_activations,
 *  use_matryoshka_aux_loss (false), decoder_init_norm (null;
 *  aux_loss_coefficient is left to SAELens' default: its AuxK is not variance-normalised as Lamina's), and
 *  the weights W_enc, W_dec, b_enc, b_dec and the scalar topk_threshold (float64), which
 *  sae_lens.TrainingSAE.load_from_disk reads. evaluate reports every prefix's FVU (prefix_fvu).
 *  Errors (LAMINA_ERR_INVALID_ARGUMENT, naming the field): n_groups outside 1..LAMINA_SAE_MAX_GROUPS for
 *  this architecture or non-zero for another, widths not strictly increasing, < 1 or not ending at
 *  n_latents, a weight negative or not finite, weights past n_groups non-zero. */

/** Evaluation metrics (float64 accumulation over every row of x). */
typedef struct lamina_sae_metrics {
    double mse;                 /* mean over elements of (x_hat - x)^2 */
    double nmse;                /* OpenAI's normalized_mean_squared_error: mean over rows of ||x_hat_b - x_b||^2 / ||x_b||^2 */
    double fvu;                 /* sum ||x_hat - x||^2 / sum ||x - mean(x)||^2 (sparsify's fraction of variance unexplained) */
    double explained_variance;  /* SAELens: mean over rows of 1 - ||x_b - x_hat_b||^2 / ||x_b - mean(x)||^2 (mean over all rows of x) */
    double fve;                 /* mean over dimensions j of 1 - var(x_j - x_hat_j) / var(x_j) (sklearn explained_variance_score;
                                   a constant dimension counts 1 if reconstructed exactly, else 0) */
    double cosine_similarity;   /* mean over rows of x_b . x_hat_b / (||x_b|| ||x_hat_b||), 0 for a zero row */
    double l0;                  /* mean number of non-zero codes per row */
    double dead_fraction;       /* fraction of latents that never fire on x */
    /* [experimental] Matryoshka: n_prefixes = G and prefix_fvu[g] the FVU of the prefix decoder
       W_dec[:m_g] (prefix_fvu[G-1] = fvu); n_prefixes = 0 for other architectures. */
    int32_t n_prefixes;
    double prefix_fvu[LAMINA_SAE_MAX_GROUPS];
} lamina_sae_metrics;

/** Output format of lamina_sae_save. */
typedef int32_t lamina_sae_format;
#define LAMINA_SAE_FORMAT_SAELENS 0    /* sae_weights.safetensors (W_enc [d_in, d_sae], W_dec [d_sae, d_in], b_enc, b_dec, threshold) + cfg.json */
#define LAMINA_SAE_FORMAT_SPARSIFY 1   /* sae.safetensors (encoder.weight [d_sae, d_in], encoder.bias, W_dec, b_dec) + cfg.json */

/** The default parameters (values above). */
lamina_sae_params lamina_sae_default_params(void);

/** LAMINA_OK if params are valid, else LAMINA_ERR_INVALID_ARGUMENT naming the field (k = 0 or
 *  k > n_latents, n_latents < 1, lr < 0 or not finite, ...). */
lamina_status lamina_sae_check_params(const lamina_sae_params* params);

/** Creates a freshly initialised SAE (seeded); *out receives the handle (free with lamina_sae_free).
 *  Errors: NULL params or out, invalid params, LAMINA_ERR_OUT_OF_MEMORY if the weights cannot be held. */
lamina_status lamina_sae_create(const lamina_sae_params* params, lamina_sae** out);

/** Frees an SAE. NULL, and a pointer that is not a live handle, are ignored. */
void lamina_sae_free(lamina_sae* sae);

/** Copies the SAE's parameters into *out (for an SAE made by lamina_sae_create: the params it was
 *  created with). */
lamina_status lamina_sae_get_params(const lamina_sae* sae, lamina_sae_params* out);

/** Trains on x (n x d row-major, dtype LAMINA_DTYPE_FLOAT32, _FLOAT16 or _BFLOAT16 -- 16-bit values as
 *  raw uint16 bits, widened by Lamina) until `epochs` epochs are complete, counted from the SAE's data
 *  position (a fresh SAE is at epoch 0; a loaded checkpoint continues where it stopped). progress (may be
 *  NULL) is called after every step with task "sae_train", items = tokens, loss, and the terms "fvu",
 *  "auxk", "mse", "sparsity" (the L1 / L0 penalty value), "l0", "dead_fraction", "lr"; a non-zero return
 *  stops with LAMINA_ERR_CANCELLED and the SAE keeps its last completed step. Errors: d != d_in
 *  (LAMINA_ERR_SHAPE_MISMATCH), NaN/Inf anywhere in x (LAMINA_ERR_NON_FINITE naming row and column; checked
 *  before the first step, so the SAE is unchanged), n < batch_size, a diverging loss (LAMINA_ERR_NON_FINITE;
 *  the SAE keeps the last finite step), bad dtype or epochs < 1. */
lamina_status lamina_sae_train(lamina_sae* sae, const void* x, lamina_dtype dtype, int64_t n, int64_t d,
                               int32_t epochs, lamina_progress_fn progress, void* user);

/** The same, streaming a rank-2 float dataset (float16/bfloat16/float32/float64) of an HDF5 file in row
 *  chunks with bounded memory. The file is scanned for NaN/Inf before the first step. Errors as
 *  lamina_sae_train plus the HDF5 errors (missing file: LAMINA_ERR_IO; not HDF5, truncated, corrupt,
 *  wrong rank or an integer dataset: LAMINA_ERR_FORMAT; dataset not found: LAMINA_ERR_INVALID_ARGUMENT).
 *  path may also be an activation store directory (section 15): its rows are then fed in the order of
 *  the store's shuffled reader (seed = params.seed, epoch by epoch, batch i = positions [iB, (i+1)B)),
 *  with a window budget of two streaming chunks (about 64 MB). */
lamina_status lamina_sae_train_h5(lamina_sae* sae, const char* path, const char* dataset, int32_t epochs,
                                  lamina_progress_fn progress, void* user);

/** Training state: completed steps, tokens seen, data position (epoch, batch within the epoch), input
 *  scale s. Any output may be NULL. */
lamina_status lamina_sae_get_state(const lamina_sae* sae, int64_t* steps, int64_t* tokens, int64_t* epoch,
                                   int64_t* batch_in_epoch, float* input_scale);

/** Per-step training history, steps x 8 doubles (loss, fvu, auxk, mse, sparsity, l0, dead_fraction, lr),
 *  steps from lamina_sae_get_state; out_len must equal steps * 8. */
lamina_status lamina_sae_get_history(const lamina_sae* sae, double* out, int64_t out_len);

/** Dense codes z of x (n x d_in float32, finite) into out (n x n_latents; out_len = n * n_latents). */
lamina_status lamina_sae_encode(const lamina_sae* sae, const float* x, int64_t n, int64_t d, float* out,
                                int64_t out_len);

/** Sparse codes: `width` slots per row (indices n x width int32, values n x width float32), the active
 *  latents sorted by value (descending; ties by lower index); unused slots get index -1 and value 0.
 *  *max_active (may be NULL) receives the largest number of active latents in a row (more than width
 *  means some were cut off; TopK never exceeds k). */
lamina_status lamina_sae_encode_sparse(const lamina_sae* sae, const float* x, int64_t n, int64_t d, int32_t width,
                                       int32_t* indices, float* values, int32_t* max_active);

/** x_hat = (W_dec^T z + b_dec) / s for dense codes z (n x n_latents) into out (n x d_in). */
lamina_status lamina_sae_decode(const lamina_sae* sae, const float* z, int64_t n, int64_t n_latents, float* out,
                                int64_t out_len);

/** The same from sparse codes (n x width indices and values; slots with index -1 or value 0 are skipped;
 *  an index outside [-1, n_latents) is LAMINA_ERR_INVALID_ARGUMENT). */
lamina_status lamina_sae_decode_sparse(const lamina_sae* sae, const int32_t* indices, const float* values, int64_t n,
                                       int32_t width, float* out, int64_t out_len);

/** decode(encode(x)) into out (n x d_in). */
lamina_status lamina_sae_reconstruct(const lamina_sae* sae, const float* x, int64_t n, int64_t d, float* out,
                                     int64_t out_len);

/** Metrics on x (n x d_in, finite; see lamina_sae_metrics). firing_frequency (may be NULL): n_latents
 *  doubles, the fraction of rows where each latent is non-zero. */
lamina_status lamina_sae_evaluate(const lamina_sae* sae, const float* x, int64_t n, int64_t d,
                                  lamina_sae_metrics* out, double* firing_frequency);

/** Copies the parameters with the input scale folded in, in SAELens' layout: w_enc d_in x n_latents,
 *  b_enc n_latents, w_dec n_latents x d_in, b_dec d_in, threshold n_latents (JumpReLU theta, BatchTopK's
 *  learned threshold, zeros otherwise). Any output may be NULL. */
lamina_status lamina_sae_get_weights(const lamina_sae* sae, float* w_enc, float* b_enc, float* w_dec, float* b_dec,
                                     float* threshold);

/** Replaces the parameters (same layout; threshold may be NULL = zeros; every value finite) and resets
 *  the training state (optimizer moments, position; b_dec is kept as given when training starts). */
lamina_status lamina_sae_set_weights(lamina_sae* sae, const float* w_enc, const float* b_enc, const float* w_dec,
                                     const float* b_dec, const float* threshold);

/** Saves the SAE (input scale folded in) into `directory` (created if missing, one level), every file
 *  written atomically (temporary file + fsync + rename: a failed save leaves the previous files intact).
 *  LAMINA_SAE_FORMAT_SAELENS: sae_weights.safetensors + cfg.json as SAELens' save_model writes them
 *  (architecture "standard" for ReLU, "topk" with k, "jumprelu" with threshold; a BatchTopK SAE is saved
 *  as the JumpReLU it runs as, like SAELens). LAMINA_SAE_FORMAT_SPARSIFY: sae.safetensors + cfg.json in
 *  sparsify's layout (TopK only, + W_skip when the SAE has a skip connection; other architectures, or a
 *  normalize_activations SAE: LAMINA_ERR_INVALID_ARGUMENT; a skip connection in SAELens' layout: the
 *  same). Lamina's own parameters go to <directory>/lamina.json (neither package reads it). Errors:
 *  LAMINA_ERR_IO naming the path. */
lamina_status lamina_sae_save(const lamina_sae* sae, const char* directory, lamina_sae_format format);

/** Loads an SAE from a directory in either layout (written by Lamina, SAELens or sparsify; float16/
 *  bfloat16/float64 tensors are converted to float32); *out receives a new handle (its training state
 *  is fresh; b_dec is kept when training starts). Errors: LAMINA_ERR_IO (missing directory or files),
 *  LAMINA_ERR_FORMAT (corrupt or truncated safetensors, bad cfg.json, wrong shapes, unsupported
 *  architecture, non-finite weights; a VL-SAE directory -- vlsae_weights.safetensors, or cfg.json
 *  architecture "vl_topk" -- is LAMINA_ERR_FORMAT naming lamina_vlsae_load).
 *  Every cfg.json field is implemented, known metadata, or refused with LAMINA_ERR_FORMAT naming the
 *  field and its value -- never ignored:
 *   SAELens: implemented architecture (standard | topk | jumprelu), d_in, d_sae, k (default 100),
 *     apply_b_dec_to_input (false: folded into b_enc), rescale_acts_by_decoder_norm (topk; folded into
 *     W_enc, b_enc, W_dec), normalize_activations none | constant_norm_rescale | layer_norm (per row,
 *     undone on the reconstruction), activation_fn_str/activation_fn_kwargs (v5; must agree),
 *     finetuning_scaling_factor (false only). Metadata: dtype (computed in float32), device, metadata,
 *     reshape_activations (none | hook_z: rows are flattened), v5 run fields (model_name, hook_name, ...).
 *     Refused: other architectures, expected_average_only_in / covariance_whitening (factor not in the
 *     file), unknown fields, tensors the config does not use.
 *   sparsify: implemented d_in, num_latents (0 = d_in * expansion_factor, overflow-checked), k,
 *     activation topk, skip_connection (W_skip: x_hat += W_skip x). Metadata: normalize_decoder,
 *     multi_topk (training only). Refused: groupmax, transcode, unknown fields.
 *  A model with normalize_activations or a skip connection encodes, reconstructs and evaluates; decoding
 *  from codes alone, training and checkpoints are refused (LAMINA_ERR_INVALID_ARGUMENT).
 *  Shapes in cfg.json are compared with the weights file's header before anything is allocated, then
 *  sizes go through the memory check (LAMINA_ERR_OUT_OF_MEMORY). */
lamina_status lamina_sae_load(const char* directory, lamina_sae** out);

/** Writes a training checkpoint to the file `path` atomically: parameters, Adam moments and step,
 *  dead-latent counters, history, data position (epoch, batch) and the rest of the training state.
 *  lamina_sae_load_checkpoint + lamina_sae_train with the same data and epochs finishes bit-identical to
 *  an uninterrupted run (batches are a function of seed, epoch and batch index). Errors: LAMINA_ERR_IO. */
lamina_status lamina_sae_save_checkpoint(const lamina_sae* sae, const char* path);

/** Loads a checkpoint written by lamina_sae_save_checkpoint into a new handle (*out). Errors:
 *  LAMINA_ERR_IO (missing, unreadable), LAMINA_ERR_FORMAT (truncated, corrupt, not a checkpoint). */
lamina_status lamina_sae_load_checkpoint(const char* path, lamina_sae** out);

/* --- 12a. Per-latent statistics [experimental] ---------------------------------------------------
 * One streamed pass over rows (encoded chunk by chunk through the SAE's own encoder; an n x n_latents
 * matrix is never held: memory O(n_latents x (LAMINA_SAE_STATS_BINS + top_n))). Codes are non-negative
 * for every architecture; latent j "fires" on a row when z_j > 0. Outputs (caller-allocated):
 *   n_rows       1 value: rows seen
 *   count        n_latents: rows where z_j > 0 (firing frequency = count / n_rows)
 *   sum          n_latents doubles: sum of z_j (float64). Mean over all rows = sum / n_rows; mean over
 *                firing rows = sum / count
 *   max          n_latents: largest z_j (0 if the latent never fired)
 *   min_nonzero  n_latents: smallest positive z_j (0 if it never fired)
 *   histogram    n_latents x LAMINA_SAE_STATS_BINS counts of the positive z_j. Bin of v = (float32 bits
 *                of v >> 19) - 1776, clamped to [0, 511]: 16 linear sub-bins per octave over
 *                [2^-16, 2^16) (bin b >= 1 covers [2^e (1 + s/16), 2^e (1 + (s+1)/16)) with e = b/16 - 16,
 *                s = b % 16); bin 0 also takes every value below 2^-16, bin 511 every value above.
 *                Quantiles: the q-quantile of latent j is its order statistic of rank max(1, ceil(q count))
 *                (numpy's method="inverted_cdf"); the bin holding that rank gives an estimate (bin
 *                midpoint, clamped to [min_nonzero, max]) within 1/32 relative of the exact value for every
 *                interior bin (1..510). Exact quantiles need O(n) memory per latent, hence the histogram.
 *   top_rows, top_values  n_latents x top_n: the rows with the largest z_j, value descending, ties by
 *                lower row index; row = row_offset + index in x; unused slots have row -1 and value 0.
 * accumulate = 0: the outputs receive the statistics of x. accumulate = 1: they must hold a result of a
 * previous call with the same top_n (checked: LAMINA_ERR_INVALID_ARGUMENT otherwise), and the statistics
 * of x are merged into it.
 * Merge rule (mergeable across shards of disjoint rows, given each its row_offset): n_rows, count, sum
 * and histogram add; max takes the max; min_nonzero the min over the results where the latent fired;
 * top is the top_n of the union under the same order. Every output except the float64 sum is then
 * bit-identical to one pass over all rows (sum: equal up to float64 rounding of the addition order)
 * when each shard encodes its rows as the one pass does: shards that start on multiples of the encoder's
 * 512-row block. Elsewhere OpenBLAS's sgemm may round a row's pre-activations 1 ulp differently (its
 * kernel choice depends on the call's row count; seen on Zen 4), so values can differ by that rounding.
 * On any error or cancellation with accumulate = 1 the outputs are unchanged. With accumulate = 0 the
 * histogram is filled in place (no second n_latents x 512 buffer): an error before the pass leaves every
 * output unchanged; one during it (cancellation, an HDF5 read error, a non-finite value in a file)
 * zeroes histogram and sets n_rows to 0, the other outputs unchanged.
 * progress (may be NULL): called after each chunk of 4096 rows (task "sae_latent_statistics", items =
 * rows done); a non-zero return cancels (LAMINA_ERR_CANCELLED).
 * Errors: LAMINA_ERR_INVALID_ARGUMENT (NULL output, top_n outside [0, 65536], row_offset < 0 or
 * row_offset + n overflowing, accumulate not 0/1, bad dtype), LAMINA_ERR_SHAPE_MISMATCH (d != d_in),
 * LAMINA_ERR_NON_FINITE, LAMINA_ERR_OUT_OF_MEMORY. */
#define LAMINA_SAE_STATS_BINS 512

/** The statistics of x (n x d_in; dtype LAMINA_DTYPE_FLOAT32, _FLOAT16 or _BFLOAT16, finite). */
lamina_status lamina_sae_latent_statistics(const lamina_sae* sae, const void* x, lamina_dtype dtype, int64_t n, int64_t d,
                                           int64_t row_offset, int32_t top_n, int32_t accumulate, int64_t* n_rows,
                                           int64_t* count, double* sum, float* max, float* min_nonzero,
                                           int64_t* histogram, int64_t* top_rows, float* top_values,
                                           lamina_progress_fn progress, void* user);

/** The same over a rank-2 dataset of an HDF5 file (streamed in row chunks; float16/bfloat16/float32/
 *  float64). Errors: as lamina_sae_train_h5 for the file, plus those above. */
lamina_status lamina_sae_latent_statistics_h5(const lamina_sae* sae, const char* path, const char* dataset,
                                              int64_t row_offset, int32_t top_n, int32_t accumulate, int64_t* n_rows,
                                              int64_t* count, double* sum, float* max, float* min_nonzero,
                                              int64_t* histogram, int64_t* top_rows, float* top_values,
                                              lamina_progress_fn progress, void* user);

/* ==================================================================================================
 * 13. Representation geometry (CKA and RSA) [experimental]
 *
 * Compare two representations of the same n inputs (rows): x is n x d1 and y is n x d2 (float32,
 * finite; the widths may differ). All arithmetic is float64: the data are centred by their float64
 * column means and every product is a float64 gemm. Accuracy: against a float64 Gram-matrix
 * implementation on the same float32 values, CKA within 1e-10 relative (absolute for debiased values
 * near 0), RSA equal to scipy's within 1e-10 (rank methods: equal ranks, so equal up to rounding).
 * Errors: LAMINA_ERR_INVALID_ARGUMENT (NULL pointer, n or a width <= 0, bad enum or flag, the
 * degenerate cases named per function), LAMINA_ERR_SHAPE_MISMATCH (out_len), LAMINA_ERR_NON_FINITE
 * (NaN/Inf, the message names the row and column), LAMINA_ERR_OUT_OF_MEMORY (sizes over the stated caps).
 * ================================================================================================ */

/** Linear CKA (Kornblith, Norouzi, Lee & Hinton 2019, "Similarity of Neural Network Representations
 *  Revisited"), in feature space: with X, Y the column-centred data,
 *    CKA = ||Y^T X||_F^2 / (||X^T X||_F ||Y^T Y||_F),
 *  from d1 x d2, d1 x d1 and d2 x d2 cross-products (no n x n matrix; memory O(d1^2 + d2^2 + d1 d2 +
 *  chunk (d1 + d2))). Range [0, 1] (rounding is clipped). debiased = 1: each HSIC is the unbiased
 *  estimator of Song, Smola, Gretton, Bedo & Borgwardt (2012) on K = X X^T, L = Y Y^T with zeroed
 *  diagonals, n (n-3) HSIC_u = tr(K L) + 1^T K 1 1^T L 1 / ((n-1)(n-2)) - 2/(n-2) 1^T K L 1, evaluated in
 *  feature space from the cross-product, the squared row norms r, s and their sums:
 *  ||Y^T X||_F^2 - n/(n-2) r.s + (sum r)(sum s)/((n-1)(n-2)) (Kornblith et al.'s feature-space form).
 *  Debiased CKA lies in [-1, 1] (HSIC_u is an inner product of U-centred kernels; values near 0 may be
 *  negative). debiased must be 0 or 1. *out receives the value. Errors: n < 2 (n < 4 when debiased),
 *  x or y constant (every feature zero variance: CKA undefined; single constant features are fine),
 *  a non-positive unbiased self-HSIC (debiased). */
lamina_status lamina_linear_cka(const float* x, int64_t n, int64_t d1, const float* y, int64_t d2, int32_t debiased,
                                double* out);

/** RBF CKA (Kornblith et al. 2019): K_ij = exp(-||x_i - x_j||^2 / (2 sigma_x^2)), L likewise with
 *  sigma_y, CKA = <HKH, HLH>_F / (||HKH||_F ||HLH||_F), H = I - 11^T/n, from
 *  <HKH, HLH> = sum_ij K_ij L_ij - (2/n) (K1).(L1) + (1^T K 1)(1^T L 1)/n^2, summed over tiles of rows
 *  (no n x n matrix is kept; time O(n^2 (d1 + d2))). Range [0, 1]. sigma_x (sigma_y): the bandwidth,
 *  or 0 for the median rule sigma = sigma_factor * median of the n (n-1)/2 pairwise Euclidean distances
 *  (lamina_median_distance). Note: Kornblith et al.'s code takes the median of the squared distances
 *  over all n^2 entries including the zero diagonal; this is the median over distinct pairs. The median
 *  is exact for every n: the middle order statistics are selected from tiles without keeping the pairs
 *  (radix selection on the float64 bit patterns, 16 bits per pass, each pass recomputing the distance
 *  tiles: 2-5 passes of O(n^2 d) time, O(tile x 2048 + 2^16) memory per worker). sigma_factor must be
 *  finite and > 0 (1 is the usual choice); sigma_x, sigma_y finite and >= 0. Errors: n < 2, x or y constant, a zero median distance (more than half the pairs coincide), a
 *  bandwidth whose 2 sigma^2 overflows or underflows float64 (about sigma >= 1e154 or <= 1e-154), a
 *  centred kernel that rounds to zero (every kernel value 1: a bandwidth far above the distances). */
lamina_status lamina_rbf_cka(const float* x, int64_t n, int64_t d1, const float* y, int64_t d2, double sigma_factor,
                             double sigma_x, double sigma_y, double* out);

/** The median of the n (n-1)/2 pairwise Euclidean distances of the rows of x (numpy's median: the mean
 *  of the two middle values for an even count), the bandwidth rule of lamina_rbf_cka; exact for any n
 *  (selected from tiles, as described there). Errors: n < 2. */
lamina_status lamina_median_distance(const float* x, int64_t n, int64_t d, double* out);

/** Linear (debiased = 0) or debiased (1) CKA between every pair of layers, in one call: layers[l] is
 *  n x dims[l] float32 for l < n_layers (one model), layers2[l] is n x dims2[l] for l < n_layers2 (a
 *  second model). With n_layers2 = 0 (layers2 and dims2 NULL) out is the symmetric n_layers x n_layers
 *  matrix of the first list with itself (diagonal 1); otherwise the n_layers x n_layers2 matrix between
 *  the lists. Row-major doubles; out_len must equal the number of entries. Every layer is centred once
 *  and each self-Gram X_l^T X_l and needed cross-product X_a^T X_b is computed once (float64, in chunks
 *  of rows), so memory is O(sum of d_a d_b over the pairs computed + n * n_layers) -- no n x n matrix.
 *  Values and errors as lamina_linear_cka (a constant layer is named by its list and index). */
lamina_status lamina_cka_matrix(const float* const* layers, const int64_t* dims, int32_t n_layers,
                                const float* const* layers2, const int64_t* dims2, int32_t n_layers2, int64_t n,
                                int32_t debiased, double* out, int64_t out_len);

/** lamina_cka_matrix on datasets of HDF5 files: datasets holds n_layers NUL-terminated dataset paths
 *  of the file at path ("/target/layer_0", ...), each rank 2 (n x d_l, read as float32 as
 *  lamina_h5_read_f32 does; every layer is read into memory first, n the rows of datasets[0]). path may also be an activation
 *  store directory (datasets are then names of its datasets). With n_layers2 = 0 (path2 and datasets2
 *  NULL) out is the symmetric n_layers x n_layers matrix; otherwise datasets2 names n_layers2 layers of
 *  a second model in path2 (NULL: the same file as path) and out is the n_layers x n_layers2 matrix.
 *  Values as lamina_cka_matrix. Errors: the arguments, every dataset name included (checked before a file
 *  is opened), a missing file or dataset, a dataset of rank other than 2 (LAMINA_ERR_FORMAT), a row
 *  count different from datasets[0]'s (LAMINA_ERR_SHAPE_MISMATCH), NaN/Inf, then lamina_cka_matrix's errors. */
lamina_status lamina_cka_matrix_h5(const char* path, const char* const* datasets, int32_t n_layers, const char* path2,
                                   const char* const* datasets2, int32_t n_layers2, int32_t debiased, double* out,
                                   int64_t out_len);

/** Dissimilarity of two rows in a representational dissimilarity matrix (RDM). */
typedef int32_t lamina_rdm_metric;
#define LAMINA_RDM_EUCLIDEAN 0     /* ||x_i - x_j||_2 (scipy.spatial.distance.pdist "euclidean") */
#define LAMINA_RDM_CORRELATION 1   /* 1 - Pearson correlation of the rows (pdist "correlation"); a constant row is an error */
#define LAMINA_RDM_COSINE 2        /* 1 - x_i.x_j / (||x_i|| ||x_j||) (pdist "cosine"); a zero row is an error */

/** How two RDMs are compared (on their condensed upper triangles). */
typedef int32_t lamina_rsa_method;
#define LAMINA_RSA_SPEARMAN 0        /* Pearson correlation of the ranks, ties at their average rank (scipy.stats.spearmanr) */
#define LAMINA_RSA_PEARSON 1         /* Pearson correlation (scipy.stats.pearsonr); streamed by tiles in lamina_rsa */
#define LAMINA_RSA_KENDALL_TAU_A 2   /* (concordant - discordant) / (m (m-1)/2), tied pairs count as neither (rsatoolbox's tau-a) */
#define LAMINA_RSA_COSINE 3          /* sum a_k b_k / sqrt(sum a_k^2 sum b_k^2), not centred (rsatoolbox's "cosine"); streamed
                                        by tiles in lamina_rsa; an all-zero RDM is an error */

/** The condensed RDM of x (n x d): out[k] for the pair (i, j), i < j, in scipy's order
 *  (k = n i - i (i+1)/2 + j - i - 1); out_len must equal n (n-1)/2. Euclidean distances come from a
 *  float64 gemm on the centred rows, recomputed directly from the float32 inputs where cancellation
 *  would matter (so coinciding rows are at distance exactly 0); correlation and cosine distances below
 *  2^-20 are recomputed as ||u - v||^2 / 2 from the unit rows (identical rows exactly 0, where scipy's
 *  pdist leaves +-1e-16 on some). Errors: n < 2, bad metric, a constant
 *  (correlation) or zero (cosine) row, more than 2^26 pairs (LAMINA_ERR_OUT_OF_MEMORY, decided from n
 *  before x is read). */
lamina_status lamina_rdm(const float* x, int64_t n, int64_t d, lamina_rdm_metric metric, double* out, int64_t out_len);

/** Representational similarity analysis (Kriegeskorte, Mur & Bandettini 2008): the RDMs of x
 *  (n x d1) and y (n x d2) under `metric`, compared by `method`; *out the correlation (or, for
 *  LAMINA_RSA_COSINE, the cosine similarity) in [-1, 1] -- in [0, 1] here, since every dissimilarity
 *  of the three metrics is >= 0. With a, b the two condensed RDMs (m = n (n-1)/2 pairs):
 *    Pearson = sum (a_k - mean a)(b_k - mean b) / sqrt(sum (a_k - mean a)^2 sum (b_k - mean b)^2),
 *    cosine  = sum a_k b_k / sqrt(sum a_k^2 sum b_k^2)
 *  (rsatoolbox.rdm.compare(method="cosine"), its _cosine of the two RDM vectors; rsatoolbox returns 0
 *  for an all-zero RDM, Lamina refuses it).
 *  Spearman and Kendall tau-a rank the m pairs exactly: they keep both pair vectors (16
 *  bytes per pair) and sorting buffers -- Spearman the radix-sorted (value, index) records of both RDMs
 *  (32) and their ranks (8), 56 bytes per pair at the peak (3.5 GiB at the cap); tau-a 40 -- and are
 *  capped at 2^26 pairs (n <= 11585; beyond,
 *  LAMINA_ERR_OUT_OF_MEMORY). Pearson and cosine never keep the pair vectors: tiles of both RDMs are
 *  reduced to counts, means and centred second moments (cosine: the same code with the means taken as
 *  0, i.e. raw second moments), float64, merged in a fixed order, so they run for any n with
 *  O(tile x n) memory per worker. Errors: n < 3, mismatched rows (n is shared, so only through the
 *  Python binding), a constant RDM (Pearson: correlation undefined), an all-zero RDM (cosine: every
 *  pair at dissimilarity 0, e.g. all rows identical under the Euclidean metric; 0/0), the metric's row
 *  errors, the cap (decided from n and the method before x and y are read). */
lamina_status lamina_rsa(const float* x, int64_t n, int64_t d1, const float* y, int64_t d2, lamina_rdm_metric metric,
                         lamina_rsa_method method, double* out);

/** Compares two given condensed RDMs (m doubles each, finite, any sign) by `method`, with the formulas of
 *  lamina_rsa; *out in [-1, 1]. Pearson and cosine are one float64 pass (each vector first scaled by a
 *  power of two, exact, so no units overflow or underflow) and have no cap. Errors: m < 2, NaN/Inf
 *  (LAMINA_ERR_NON_FINITE naming rdm1 or rdm2 and the index), a constant RDM (Spearman, Pearson), an
 *  all-zero RDM (cosine), ranking more than 2^26 pairs (Spearman, tau-a: LAMINA_ERR_OUT_OF_MEMORY, decided from m
 *  before the RDMs are read). The RDMs are read in place, never copied. */
lamina_status lamina_rdm_compare(const double* rdm1, const double* rdm2, int64_t m, lamina_rsa_method method,
                                 double* out);

/** Kernel alignment of each layer with the inputs and with the targets, in one call (the task-structure
 *  measure used to compare Tanh and ReLU networks): layers[l] is n x dims[l] float32 (l < n_layers), x
 *  the n x d_x inputs, labels n int32 (any values, at least 2 distinct). out is row-major n_layers x 2:
 *    out[2l] = CKA(H_l, X),   out[2l+1] = CKA(H_l, Y),   Y = one-hot(labels) (n x k, 0/1),
 *  linear CKA (debiased = 0) or debiased CKA (1) exactly as lamina_linear_cka. The layers, X and Y go
 *  through one lamina_cka_matrix computation: each is centred once (the one-hot matrix included) and
 *  each Gram and cross-product is computed once. out_len must equal 2 n_layers. Errors as
 *  lamina_cka_matrix, plus: labels with one distinct value (a constant target), NULL labels. */
lamina_status lamina_cka_alignment(const float* const* layers, const int64_t* dims, int32_t n_layers, int64_t n,
                                   const float* x, int64_t d_x, const int32_t* labels, int32_t debiased, double* out,
                                   int64_t out_len);

/** How the bin range [lo, hi] of the information-plane estimators is chosen. The authors' fixed
 *  [-1, 1] suits tanh layers only (ReLU activations exceed 1 and pile into the last bin), so the default
 *  rule takes the range from the data. */
typedef int32_t lamina_bin_range;
#define LAMINA_BIN_RANGE_LAYER 0        /* one range for the whole sequence: min and max over every checkpoint of the layer */
#define LAMINA_BIN_RANGE_CHECKPOINT 1   /* each checkpoint's own min and max */
#define LAMINA_BIN_RANGE_FIXED 2        /* the caller's lo < hi (finite); values outside go to the first / last bin */

/** The information plane of one layer (Shwartz-Ziv & Tishby 2017, "Opening the Black Box of Deep Neural
 *  Networks via Information"), binning estimator: checkpoints[c] is the layer's n x d float32 activations
 *  at checkpoint c (c < n_checkpoints, n_checkpoints >= 2: a trajectory; the same n inputs and d units
 *  every time). Each value v is binned into `bins` equal-width bins of [lo, hi] (lo, hi from `range`):
 *    b(v) = min(bins - 1, max(0, floor(bins (v - lo) / (hi - lo))))   (all values in bin 0 when hi = lo),
 *  a state T is a distinct row of bin indices (counted by hashing the binned rows, O(n d) time, O(n)
 *  memory, no sort), and with the n rows equally weighted (plug-in entropies, bits)
 *    I(X;T) = H(X) + H(T) - H(X,T),   I(T;Y) = H(T) + H(Y) - H(T,Y),
 *  Y = labels (n int32, any values), X = inputs (n int32 identifying the input of each row; NULL: every
 *  row is its own input, so I(X;T) = H(T) -- the authors' setting of distinct inputs). out is row-major
 *  n_checkpoints x 2, [I(X;T), I(T;Y)] per checkpoint; out_len must equal 2 n_checkpoints. lo and hi are
 *  read with LAMINA_BIN_RANGE_FIXED only. (The authors' code bins with np.digitize on
 *  np.linspace(-1, 1, bins) edges, which gives bins + 1 bins; this is the plain equal-width rule.)
 *  Errors: bins < 2 or > 65536, n_checkpoints < 2, checkpoints of different shapes (n and d are shared,
 *  so only through bindings), bad range or lo >= hi / non-finite (fixed), NaN/Inf in an activation
 *  (LAMINA_ERR_NON_FINITE naming the checkpoint, row and column), NULL pointers. */
lamina_status lamina_information_plane(const float* const* checkpoints, int32_t n_checkpoints, int64_t n, int64_t d,
                                       const int32_t* labels, const int32_t* inputs, int32_t bins,
                                       lamina_bin_range range, double lo, double hi, double* out, int64_t out_len);

/** The same estimators for one activation matrix t (n x d): out[0] = I(X;T), out[1] = I(T;Y) in bits.
 *  LAMINA_BIN_RANGE_LAYER and LAMINA_BIN_RANGE_CHECKPOINT both take t's min and max. Errors as
 *  lamina_information_plane (no checkpoint count). */
lamina_status lamina_binned_mutual_information(const float* t, int64_t n, int64_t d, const int32_t* labels,
                                               const int32_t* inputs, int32_t bins, lamina_bin_range range, double lo,
                                               double hi, double* out);

/* ==================================================================================================
 * 14. Audits [experimental]
 *
 * AQI, the Alignment Quality Index (Borah et al. 2025): how well a model's hidden states separate groups
 * of prompts (safe vs unsafe, ...), scored by combining cluster-validity indices computed on the groups
 * as labelled (no clustering). No official implementation is published and the public scripts disagree
 * (on the indices, on the normalisations -- one scales to [0, 100], floors the XB term at 10 and fits
 * t-SNE/UMAP first -- and on Xie-Beni's form), so each variant below is its own named formula, and every
 * index is the one of section 5:
 *   DBS  Davies-Bouldin (lamina_davies_bouldin_score), lower is better;
 *   DI   classic Dunn index, single linkage over maximum diameter, Euclidean (lamina_dunn_index with
 *        LAMINA_LINKAGE_SINGLE, LAMINA_DIAMETER_MAX); +inf when every group is one repeated point;
 *   S    mean Euclidean silhouette (lamina_silhouette_score), in [-1, 1];
 *   XB   Xie-Beni with hard memberships, XB = sum_i ||x_i - c_{g(i)}||^2 / (n min_{a != b} ||c_a - c_b||^2)
 *        (lamina_xie_beni_index with LAMINA_XIE_BENI_CENTROID; the fuzzy form with 0/1 memberships, any
 *        fuzzifier m); +inf when two centroids coincide;
 *   CHI  Calinski-Harabasz (lamina_calinski_harabasz_score).
 * Every term of every variant lies in [0, 1], so every AQI does; higher is better separated. gamma must
 * lie in [0, 1]. Results come as rows of LAMINA_AQI_COLUMNS doubles,
 *   [DBS, DI, S, XB, CHI, CHI_norm, XB_norm, AQI],
 * with NaN in the columns a variant does not use. Groups: labels (int32, any values) must hold at least
 * 2 distinct values and every group at least 2 members (one group, or a group of one, is
 * LAMINA_ERR_INVALID_ARGUMENT). pca_components = k > 0 first projects each representation onto its own
 * top k principal components (the centred data times the top k eigenvectors of its covariance, LAPACK
 * dsyevr in float64; scikit-learn's PCA(k).fit_transform up to component signs, which no index depends
 * on; 1 <= k <= min(n, d)); 0 uses the raw representation. No t-SNE or UMAP. Accuracy: the indices of
 * section 5 (1e-6 relative against scikit-learn / numpy formulas). Errors: LAMINA_ERR_INVALID_ARGUMENT
 * (NULL pointer, n or a width <= 0, bad enum, gamma, pca_components or layer range, the group rules, a
 * 0/0 index: every row equal to its group's centroid and two centroids equal), LAMINA_ERR_SHAPE_MISMATCH
 * (out_len / table_len, pooled layers of different widths), LAMINA_ERR_NON_FINITE (NaN/Inf in the data,
 * naming row and column).
 * ================================================================================================ */

/** Columns of an AQI row: DBS, DI, S, XB, CHI, CHI_norm, XB_norm, AQI. */
#define LAMINA_AQI_COLUMNS 8

/** The AQI formula. */
typedef int32_t lamina_aqi_variant;
#define LAMINA_AQI_DBS_DUNN 0        /* (a) AQI = gamma / (1 + DBS) + (1 - gamma) DI / (1 + DI)   (DI = +inf: DI / (1 + DI) = 1) */
#define LAMINA_AQI_SILHOUETTE_XB 1   /* (b) AQI = gamma (S + 1) / 2 + (1 - gamma) / (1 + XB)      (XB = +inf: 0) */
#define LAMINA_AQI_CHI_XB 2          /* (c) AQI = gamma CHI_norm + (1 - gamma) XB_norm, normalised over a set of rows (below) */

/* Variant (c) needs a set of rows r = 1..m (m >= 2: the groups of lamina_aqi_groups plus the overall row,
 * or the layers of lamina_aqi_layers plus the pooled row) and normalises over it:
 *   CHI_norm_r = (CHI_r - min_s CHI_s) / (max_s CHI_s - min_s CHI_s)     (0.5 for every row if all are equal)
 *   XB_norm_r  = 1 - sigmoid((XB_r - med) / iqr),  sigmoid(z) = 1 / (1 + e^-z),
 * med and iqr the median and interquartile range (numpy.percentile, linear interpolation: q75 - q25) of
 * the finite XB_s; iqr = 1 if it is 0; XB_r = +inf gives XB_norm_r = 0. (The public script that uses this
 * form scales both to [0, 100], floors XB_norm at 10 and adds 1e-9 to the IQR; this one does not.) */

/** Layer pooling of lamina_aqi_layers: the pooled representation is P = sum_l w_l H_l (w >= 0, sum 1). */
typedef int32_t lamina_aqi_pooling;
#define LAMINA_AQI_POOL_NONE 0      /* no pooled row (NaN) and no weights (NaN) */
#define LAMINA_AQI_POOL_UNIFORM 1   /* w_l = 1 / (last_layer - first_layer + 1) for first_layer <= l <= last_layer, else 0 */
#define LAMINA_AQI_POOL_GIVEN 2     /* the caller's weights (finite, >= 0, positive sum), normalised to sum 1 */
#define LAMINA_AQI_POOL_LEARNED 3   /* weights maximising the groups' separation in P (below) */

/* Learned pooling (LAMINA_AQI_POOL_LEARNED) maximises, over the simplex {w >= 0, sum_l w_l = 1}, the
 * Calinski-Harabasz ratio of P(w) = sum_l w_l H_l up to its constant factor:
 *   J(w) = (w^T B w) / (w^T W w),  B_lm = sum_g n_g <c_g^l - c^l, c_g^m - c^m>,
 *                                   W_lm = sum_i <x_i^l - c_{g(i)}^l, x_i^m - c_{g(i)}^m>,
 * c_g^l the centroid of group g in layer l and c^l the overall mean, so that CHI(P(w)) = J(w) (n-k)/(k-1).
 * It runs projected gradient ascent (Euclidean projection onto the simplex, Duchi et al. 2008; Armijo
 * backtracking) from the uniform weights and from the best single layer and keeps the better end point,
 * which satisfies the first-order (KKT) conditions to about 1e-5 of the gradient's scale; the projection sets weights to exactly 0, so the
 * weights are sparse whenever the maximiser lies on a face of the simplex (the usual case for a ratio of
 * quadratic forms) -- sparsity is not forced beyond that. The weights are learned on the raw layers,
 * also when pca_components > 0. Pooling needs the layers with a positive weight to have equal widths
 * (every layer, for learned weights). */

/** AQI of one representation x (n x d) with groups `labels` (n int32), variant (a) or (b) (variant (c)
 *  needs a set of rows: LAMINA_ERR_INVALID_ARGUMENT naming lamina_aqi_groups and lamina_aqi_layers).
 *  out: one row of LAMINA_AQI_COLUMNS doubles; out_len must equal LAMINA_AQI_COLUMNS. */
lamina_status lamina_aqi_score(const float* x, int64_t n, int64_t d, const int32_t* labels,
                               lamina_aqi_variant variant, double gamma, int32_t pca_components, double* out,
                               int64_t out_len);

/** AQI per subset of the rows: `groups` (n int32, any values) splits the rows into G subsets (e.g. the
 *  axioms or categories of the prompts); out is row-major (G + 1) x LAMINA_AQI_COLUMNS: one row per
 *  distinct value of groups in ascending order, computed on that subset's rows (and labels, which must
 *  satisfy the group rules within each subset), then an "overall" row on all n rows. Variant (c)
 *  normalises over these G + 1 rows (the public CHI/XB script's set: each axiom plus overall); (a) and (b)
 *  are row by row. With pca_components > 0 each subset is projected onto its own principal components.
 *  out_len must equal (G + 1) * LAMINA_AQI_COLUMNS. */
lamina_status lamina_aqi_groups(const float* x, int64_t n, int64_t d, const int32_t* labels, const int32_t* groups,
                                lamina_aqi_variant variant, double gamma, int32_t pca_components, double* out,
                                int64_t out_len);

/** AQI per layer and of the pooled layers, in one call: layers[l] is n x dims[l] float32 (l < n_layers),
 *  labels n int32. table is row-major (n_layers + 1) x LAMINA_AQI_COLUMNS: row l for layer l, the last row
 *  for the pooled representation P = sum_l w_l H_l (float64 sums stored as float32; NaN with
 *  LAMINA_AQI_POOL_NONE); table_len must equal (n_layers + 1) * LAMINA_AQI_COLUMNS. Variant (c)
 *  normalises over all the rows (layers and pooled). first_layer and last_layer (0-based, inclusive) are
 *  read for LAMINA_AQI_POOL_UNIFORM only; weights (n_layers doubles) for LAMINA_AQI_POOL_GIVEN only (NULL
 *  otherwise is fine). weights_out (n_layers doubles, may be NULL) receives the weights used (summing to
 *  1; NaN with LAMINA_AQI_POOL_NONE). The pooled AQI is table[n_layers * LAMINA_AQI_COLUMNS + 7].
 *  Variant (c) with LAMINA_AQI_POOL_NONE and n_layers = 1 has a single row to normalise over:
 *  LAMINA_ERR_INVALID_ARGUMENT. */
lamina_status lamina_aqi_layers(const float* const* layers, const int64_t* dims, int32_t n_layers, int64_t n,
                                const int32_t* labels, lamina_aqi_variant variant, double gamma,
                                int32_t pca_components, lamina_aqi_pooling pooling, int32_t first_layer,
                                int32_t last_layer, const double* weights, double* table, int64_t table_len,
                                double* weights_out);

/* HDBSCAN* and FLARE poisoned-sample detection [experimental] ---------------------------------------- */

/** HDBSCAN* (Campello, Moulavi & Sander 2013; Campello et al. 2015) as scikit-learn's
 *  sklearn.cluster.HDBSCAN (>= 1.3) computes it with the defaults metric="euclidean", alpha=1,
 *  cluster_selection_method="eom", allow_single_cluster=False, cluster_selection_epsilon=0:
 *    core(i)     = distance from row i to its min_samples-th nearest row, row i itself counted first
 *                  (scikit-learn's convention; the `hdbscan` package's min_samples is this one minus 1),
 *    mreach(i,j) = max(core(i), core(j), ||x_i - x_j||),
 *  minimum spanning tree of the dense mutual-reachability graph by Prim (one row at a time: O(n) memory,
 *  O(n^2 d) time -- meant for n up to a few 10^4), edges sorted by weight (stable) and merged into the
 *  single-linkage tree, condensed with min_cluster_size (scikit-learn's row order: breadth first),
 *  stability S(c) = sum over the rows with parent c of (lambda - lambda_birth(c)) * size (root's birth 0),
 *  excess-of-mass selection with the root excluded. All distances in float64.
 *  x: n x d float32, finite. min_cluster_size >= 2; min_samples 0 means min_cluster_size, else
 *  1 <= min_samples <= n. labels (n int32): -1 noise, clusters 0, 1, ... in increasing node id (the same
 *  partition and noise as scikit-learn, up to the numbering; with exactly tied distances the tree may
 *  resolve ties differently).
 *  Optional outputs (NULL to skip; the four tree arrays all or none): the condensed tree, one row r per
 *  entry: tree_parent[r], tree_child[r] (node ids: points 0..n-1, clusters n, n+1, ..., root n),
 *  tree_lambda[r] = 1 / distance (+inf at distance 0), tree_size[r] (1 for a point); stability[c - n]
 *  for cluster node c (before selection). Both need tree_capacity >= 2 n (a bound on the rows; the
 *  clusters are fewer than the rows); *tree_rows receives the row count (optional).
 *  Errors: NULL x or labels, n < 2, min_cluster_size < 2, min_samples < 0 or > n, NaN/Inf in x
 *  (LAMINA_ERR_NON_FINITE naming row and column), tree_capacity < 2 n with a tree output, a partial set of
 *  tree arrays. */
lamina_status lamina_hdbscan(const float* x, int64_t n, int64_t d, int64_t min_cluster_size, int64_t min_samples,
                             int32_t* labels, int64_t* tree_parent, int64_t* tree_child, double* tree_lambda,
                             int64_t* tree_size, double* stability, int64_t tree_capacity, int64_t* tree_rows);

/** FLARE's aggregation ("abnormal activation"; Hou et al., "Toward Universal Dataset Purification against
 *  Backdoor Attacks", TIFS 2025; released code BackdoorBox core/defenses/FLARE.py): for BatchNorm layer l,
 *  layers[l] holds the n samples' inputs to the layer (pre-normalisation), n x channels[l] x positions[l]
 *  float32 (each sample's block channel-major, as NCHW flattened; positions 1 for a BatchNorm1d on a
 *  dense layer), and
 *    out[i * n_layers + l] = min over c, p of log N(h_icp; mu_c, var_c + eps)
 *                          = min over c, p of [ -(h_icp - mu_c)^2 / (2 (var_c + eps)) - log(var_c + eps) / 2 - log(2 pi) / 2 ]
 *  in float64 (the released code: eps = 1e-5). mu, var: means[l], variances[l] (channels[l] doubles each:
 *  the layer's running_mean / running_var), or, when both are NULL (or means and variances themselves are
 *  NULL), the mean and the biased variance of channel c over all n samples and positions (how BatchNorm
 *  normalises a batch). out: n x n_layers row-major, out_len = n * n_layers.
 *  Errors: NULL layers/channels/positions/out, n_layers < 1, channels/positions < 1, NaN/Inf activations
 *  or means, negative or non-finite variances, var + eps <= 0, eps < 0, means without variances or the
 *  reverse, out_len wrong. */
lamina_status lamina_flare_aggregate(const float* const* layers, const int64_t* channels, const int64_t* positions,
                                     int32_t n_layers, int64_t n, const double* const* means,
                                     const double* const* variances, double eps, double* out, int64_t out_len);

/** FLARE's detection (Algorithm 1) on aggregated features (n x n_layers float64, columns ordered from the
 *  shallowest layer to the deepest, e.g. lamina_flare_aggregate's output):
 *  for w = 0, 1, ..., n_layers - 1 (the paper: exclude the deepest w layers until a stable split is found;
 *  the released loop exits after w = 0 whatever happens -- this follows the paper):
 *    1. keep the first n_layers - w columns, each standardised (z-score, population std; a constant
 *       column becomes 0) and run HDBSCAN on them (lamina_hdbscan, min_cluster_size, min_samples).
 *       DEPARTURE: the released code runs HDBSCAN on a 2-D UMAP embedding (n_neighbors 40, min_dist 0)
 *       of the features; UMAP is stochastic, heavy and not part of Lamina, and the aggregated matrix has
 *       only n_layers columns, so HDBSCAN runs on the standardised columns directly.
 *    2. walk (the released find_first_large_drop): start at the condensed-tree row of largest size (the
 *       first such row); up to `depth` times, among the rows whose parent is the current node take the
 *       first of largest size (points included, size 1); if its lambda exceeds the current node's lambda
 *       by more than xi, that child marks the stable split; else descend into it. A node without children
 *       ends the walk without a split (the released code raises there).
 *    3. with a split at lambda s: cut the single-linkage tree at distance t = 1 / (s - 1e-4) (merges at
 *       distance < t; components smaller than min_cluster_size are noise); the label with most members
 *       (noise included, ties to the lowest) is clean, every other non-noise cluster is flagged
 *       poisoned (flags[i] = 1), noise is clean.
 *  min_samples 0 (default) = min(min_cluster_size + 1, n): the released code calls the `hdbscan` package's
 *  HDBSCAN(min_cluster_size=100), whose min_samples (= min_cluster_size) does not count the point itself
 *  (lamina_hdbscan's does). The released defaults: min_cluster_size 100, xi 0.02, depth 3.
 *  Outputs: flags (n int32, required); optional (NULL to skip): scores (n doubles: the single-linkage
 *  mutual-reachability distance at which sample i joins the clean cluster's densest member, i.e. its
 *  member of smallest core distance; flagged samples score >= t, clean non-noise ones < t), labels
 *  (n int32: HDBSCAN's labels in the chosen subspace), *found (1 if a split was found), *excluded_layers
 *  (w), *split_lambda (s), *cut_distance (t).
 *  No stable split for any w is a result, not an error: *found = 0, flags all 0, scores NaN,
 *  *excluded_layers = -1, *split_lambda and *cut_distance NaN, labels those of w = n_layers - 1.
 *  Errors: NULL features or flags, n_layers < 1, n < min_cluster_size, min_cluster_size < 2, min_samples
 *  < 0 or > n, xi <= 0 or not finite, depth < 1, NaN/Inf in features (LAMINA_ERR_NON_FINITE). */
lamina_status lamina_flare_detect(const double* features, int64_t n, int64_t n_layers, int64_t min_cluster_size,
                                  int64_t min_samples, double xi, int32_t depth, int32_t* flags, double* scores,
                                  int32_t* labels, int32_t* found, int32_t* excluded_layers, double* split_lambda,
                                  double* cut_distance);

/** FLARE, split-and-stability variant: a reading of the FLARE paper's text (Hou et al., TIFS 2025:
 *  aggregate per-layer features, select the layer subset that best splits the data in two, flag the more
 *  stable cluster as poisoned). It is NOT the released code: lamina_flare_detect follows the released
 *  BackdoorBox code (HDBSCAN and its condensed-tree walk) and gives different flags. On features
 *  (n x n_layers float64, columns from the shallowest layer to the deepest, e.g. lamina_flare_aggregate's
 *  output), for w = 0, 1, ..., n_layers - 1 (exclude the deepest w columns; the released loop exits at
 *  w = 0, the paper's text loops -- this follows the text):
 *    1. z = the first d = n_layers - w columns, each z-scored (population std; a constant column becomes 0).
 *    2. 2-means on z (weights m_i, all 1 here): started from the sign of the projection on the first
 *       principal component (Ding & He, "K-means clustering via principal component analysis", ICML 2004):
 *       mu = sum_i m_i z_i / sum_i m_i, v = the unit eigenvector of the largest eigenvalue of
 *       sum_i m_i (z_i - mu)(z_i - mu)^T (LAPACK dsyevr) with its entry of largest magnitude made positive
 *       (the first such entry on ties), label_i = 1 if (z_i - mu) . v > 0 else 0; then Lloyd iterations,
 *       at most max_iter: centre_k = sum_{label_i = k} m_i z_i / sum_{label_i = k} m_i, then
 *       label_i = 1 if ||z_i - centre_1||^2 < ||z_i - centre_0||^2 else 0, stopping when no label changes.
 *       A cluster left empty at a centre update: no split for this w (its table row is NaN).
 *    3. Stability of each cluster C_k (Hennig, "Cluster-wise assessment of cluster stability", CSDA 2007;
 *       R's fpc::clusterboot with bootmethod "boot"): for b = 0 .. n_boot - 1, a resample of n rows drawn with
 *       replacement, m_i = the number of times row i is drawn; step 2 on z with weights m (no split = one
 *       cluster holding every row); gamma_kb = max over the resample's clusters D of
 *       sum_i m_i [i in C_k and D] / sum_i m_i [i in C_k or D] (multiplicities counted), skipped when C_k
 *       has no row in the resample; stability_k = the mean of gamma_kb over the resamples not skipped
 *       (0 if all are). The same n_boot resamples serve every w.
 *  Chosen w: the one whose weaker cluster is most stable, max_w min_k stability_k (ties: the smallest w).
 *  Flagged (poisoned): the more stable cluster of that w; equal stabilities: the smaller cluster; equal
 *  sizes: cluster 0.
 *  Resamples: resamples (optional, n_boot x n int64 row indices, each in [0, n)) gives them; NULL draws
 *  them: resample b is n draws floor(u n), u = (x >> 11) * 2^-53 for successive outputs x of xoshiro256**
 *  whose state is four SplitMix64 outputs from the seed seed + b * 0x9E3779B97F4A7C15 (mod 2^64). Resamples
 *  run in parallel, each on its own stream, and are combined in resample order: bit-identical results
 *  for a seed whatever the thread count.
 *  Defaults (lamina.audit.flare_detect_split): n_boot 100, max_iter 300, seed 0.
 *  Outputs: flags (n int32, required: 1 = in the flagged cluster); optional (NULL to skip): scores (n
 *  doubles: ||z_i - centre_other||^2 - ||z_i - centre_flagged||^2 in the chosen subspace, the centres of
 *  the last update; larger = more like the flagged cluster; >= 0 for flagged rows, <= 0 for the others),
 *  labels (n int32: the 0 / 1 clusters of the chosen w), *found (1 if some w splits), *excluded_layers
 *  (the chosen w), stability (2 doubles: stability_0, stability_1 of the chosen w), table (n_layers x 2
 *  doubles, row w: the stabilities of w's two clusters, NaN where w gives no split).
 *  No split for any w (e.g. every column constant) is a result: *found = 0, flags and labels all 0,
 *  scores and stability NaN, *excluded_layers = -1.
 *  Cost: O(n_layers * n_boot * iterations * n * n_layers) time, O(n * n_layers) memory per worker.
 *  Note: the Jaccard ratio favours the larger cluster: when rows change sides between resamples, the
 *  smaller cluster's ratio drops more for the same rows, so a small poisoned group that is not cleanly
 *  separated is the LESS stable half and the larger half is flagged (examples/python/flare_digits.py: the
 *  larger, mostly clean half is flagged in all four runs); a cleanly separated group gives stability 1
 *  for both halves and the tie rule flags the smaller.
 *  Errors: NULL features or flags, n < 4, n_layers < 1, n_boot < 1, max_iter < 1, NaN/Inf in features
 *  (LAMINA_ERR_NON_FINITE naming row and column), a resample index outside [0, n) (naming [b][t]). */
lamina_status lamina_flare_detect_split(const double* features, int64_t n, int64_t n_layers, int32_t n_boot,
                                        int32_t max_iter, uint64_t seed, const int64_t* resamples, int32_t* flags,
                                        double* scores, int32_t* labels, int32_t* found, int32_t* excluded_layers,
                                        double* stability, double* table);

/* ================================================================================================
 * 15. Activation store [experimental]
 *
 * An append-only store of activations that any C or Python program writes (for example from a model's
 * own evaluation loop, the way a llama.cpp eval callback sees each layer's output) and that the SAE
 * trainer reads (lamina_sae_train_h5 and lamina_layer_sweep_h5 accept a store directory as their path;
 * the trainer reads it through the shuffled reader at the end of this section). Layout: a directory
 *
 *     path/MANIFEST.json      the committed state: datasets (name, width, dtype) and the segment list
 *     path/seg-00000001.h5    one immutable HDF5 file per append, one chunked 2-D dataset per name
 *     path/.lock              held (flock) by the one writer
 *
 * Each segment is a plain HDF5 file (h5py reads it: h5py.File(path + "/seg-00000001.h5")["layer3"]);
 * the dataset of the store is the concatenation of its segments in MANIFEST order.
 *
 * Rules. One append = one batch of n_rows rows for EVERY dataset of the store (the layers of one forward
 * pass): all datasets advance together and always hold the same number of rows, row i of each being the
 * same token. The first append fixes the set of dataset names, their widths and the dtype; every later
 * append (also after reopening) must give the same names (in any order), widths and dtype. An append
 * writes a new segment, so appends should be large (thousands of rows; a program's loop collects rows
 * in a buffer and appends it when full, see examples/c/store_writer.c).
 *
 * Crash safety (the argument is in Sources/LaminaCore/IO/Store/README.md). An append writes its segment
 * to seg-N.h5.tmp, closes it, renames it to seg-N.h5 and then commits it by replacing MANIFEST.json
 * atomically (write .manifest.tmp, rename over). It never modifies an existing file. So:
 *  - when lamina_store_append returns LAMINA_OK the batch is committed: killing the process at any later
 *    point (SIGKILL included) leaves it in the store; with params.durable = 1 every file and the
 *    directory are also fsync'ed before it returns, so the batch survives power loss and OS crashes;
 *  - a writer killed during an append leaves the store as it was before that append (plus a leftover
 *    file that the next lamina_store_open removes);
 *  - a failed append (bad argument, disk full, I/O error) returns an error and leaves the store as it
 *    was; the handle stays usable.
 * Readers (lamina_store_info/read_f32, training, h5py on the segments) may run while a writer appends;
 * they see the batches committed when they read the manifest.
 *
 * Errors of lamina_store_open: a path that is a file (an HDF5 file or any other: LAMINA_ERR_FORMAT, "not
 * an activation store"), a non-empty directory without MANIFEST.json (LAMINA_ERR_FORMAT), a directory
 * that cannot be created or is not writable (LAMINA_ERR_IO with the system's reason), a corrupt manifest
 * or a listed segment that is missing, truncated or disagrees with it (LAMINA_ERR_FORMAT naming the file),
 * a store already open by another writer (LAMINA_ERR_IO).
 * Thread safety: one handle is used by one thread at a time; different stores from different threads.
 * ================================================================================================ */

/** An open store writer. */
typedef struct lamina_store lamina_store;

/** Options of lamina_store_open. Start from lamina_store_default_params(). */
typedef struct lamina_store_params {
    int32_t compression;   /* deflate level of the segments: 0 = none (default) ... 9 */
    int32_t durable;       /* 1: fsync segment, manifest and directory in every append (power-loss safe);
                              0 (default): safe against the death of the process only */
    int64_t chunk_rows;    /* rows per HDF5 chunk; 0 (default) = about 1 MiB per chunk, sized to tile the
                              batch (no padded edge chunk when a count of c ... 2c chunks divides it) */
    int64_t reserved;      /* must be 0 */
} lamina_store_params;

/** Defaults: no compression, not durable, automatic chunks. */
lamina_store_params lamina_store_default_params(void);

/** Opens the store directory `path` for appending: creates it (its parent must exist) when it does not
 *  exist or is an empty directory, reopens it when it holds a MANIFEST.json (checking every listed
 *  segment, and removing leftovers of interrupted appends). params may be NULL (defaults). On success
 *  *out receives a handle to close with lamina_store_close; on failure *out is not written. */
lamina_status lamina_store_open(const char* path, const lamina_store_params* params, lamina_store** out);

/** Appends one batch of n_rows rows to each of n_datasets datasets: names[i] (1-255 characters of
 *  letters, digits, '_', '-', '.', not starting with '.'), widths[i] values per row, data[i] row-major
 *  n_rows x widths[i] values of dtype (LAMINA_DTYPE_FLOAT16, _BFLOAT16 as raw uint16 bits, or _FLOAT32),
 *  stored as given (no conversion). See the rules above: the first append fixes names, widths and dtype;
 *  a later append with another width (LAMINA_ERR_SHAPE_MISMATCH), dtype, a missing or unknown name
 *  (LAMINA_ERR_INVALID_ARGUMENT) is refused before anything is written. */
lamina_status lamina_store_append(lamina_store* store, int32_t n_datasets, const char* const* names,
                                  const int64_t* widths, const void* const* data, lamina_dtype dtype,
                                  int64_t n_rows);

/** Rows committed so far (per dataset: all datasets have the same count). */
lamina_status lamina_store_rows(lamina_store* store, int64_t* rows);

/** Releases the writer (its lock); the store stays as the last successful append left it. NULL is a
 *  no-op; a handle that is not live gives LAMINA_ERR_INVALID_ARGUMENT. */
lamina_status lamina_store_close(lamina_store* store);

/** Rows, width and dtype (LAMINA_DTYPE_*) of `dataset` in the store directory `path`, as committed now.
 *  Any output may be NULL. */
lamina_status lamina_store_info(const char* path, const char* dataset, int64_t* rows, int64_t* width,
                                lamina_dtype* dtype);

/** Rows [row_start, row_start + row_count) of `dataset` of the store `path` as float32 (16-bit values
 *  widened), row-major, into out; out_len must equal row_count * width. */
lamina_status lamina_store_read_f32(const char* path, const char* dataset, int64_t row_start, int64_t row_count,
                                    float* out, int64_t out_len);

/* The shuffled reader. Epoch e of seed s visits every row of `dataset` exactly once, in an order that
 * depends only on (s, e) and the store's row count: the rows are cut into blocks of 256 consecutive
 * rows; the blocks are permuted (Fisher-Yates seeded by (s, e)); consecutive runs of W permuted blocks
 * form windows, and the rows inside window w are permuted (seeded by (s, e, w)). A row can land at any
 * position of the epoch and each window mixes W blocks drawn from all the segments; it is not a uniform
 * permutation of all rows (rows of one block share a window). Position p is in exactly one window, so a
 * read can start at any position (resume at row r gives the same continuation) and costs one window load
 * per window it touches. Memory: W is the largest count with W * 256 * width * 4 <= memory_budget bytes
 * (at least one block is required: LAMINA_ERR_INVALID_ARGUMENT otherwise). A window holds its rows in
 * the stored dtype (widened to float32 as they are copied out), so a float32 store's window takes up to
 * memory_budget bytes; for float16/bfloat16 stores a window takes half of it and the reader keeps two:
 * after loading a window it starts one background thread that reads the next window of the order (the
 * next epoch's first after the last) while the caller consumes the current one (prefetch; the order
 * and the values are the same as without it). Beyond the windows: 4 bytes per window row (x2 with
 * prefetch), 4 bytes per block of the store, and while a window loads 8 bytes per window row and one
 * block buffer. The reader reads the manifest when opened: rows appended later are not seen; a segment
 * changed afterwards is refused when read (LAMINA_ERR_FORMAT naming the file). */

/** An open shuffled reader over one dataset of a store. */
typedef struct lamina_store_reader lamina_store_reader;

/** Opens a shuffled reader of `dataset` in the store `path` with `seed` and a window budget of
 *  memory_budget bytes (see above). Free with lamina_store_reader_free. */
lamina_status lamina_store_reader_open(const char* path, const char* dataset, uint64_t seed, int64_t memory_budget,
                                       lamina_store_reader** out);

/** Rows at positions [position, position + n_rows) of epoch `epoch` (>= 0) as float32 into out
 *  (out_len = n_rows * width); row_ids (n_rows int64, may be NULL) receives each row's index in the
 *  store's unshuffled order. position + n_rows may not exceed the row count. */
lamina_status lamina_store_reader_read(lamina_store_reader* reader, int64_t epoch, int64_t position, int64_t n_rows,
                                       float* out, int64_t out_len, int64_t* row_ids);

/** Rows, width and rows per window of the reader. Any output may be NULL. */
lamina_status lamina_store_reader_info(lamina_store_reader* reader, int64_t* rows, int64_t* width,
                                       int64_t* window_rows);

/** Frees the reader; NULL is a no-op. */
void lamina_store_reader_free(lamina_store_reader* reader);
/* ==================================================================================================
 * 16. Distributed SAE training [experimental]
 *
 * Data-parallel SAE training through a reducer hook, and mergeable statistics.
 *
 * The library has no MPI and no networking. A data-parallel run of R workers (ranks) gives every
 * worker the same model and a reducer: a callback that sums a buffer in place across the workers
 * (an allreduce) and gives every worker identical bytes. Python's lamina.distributed wires it to
 * mpi4py; examples/c/mpi_sae.c to MPI.
 *  - batch_size is the GLOBAL batch. Rank r of R takes rows_r = B / R rows of every global batch,
 *    plus one for ranks r < B % R (at offset sum_{q<r} rows_q), so any R with R <= B is accepted.
 *  - In memory (lamina_sae_train) each rank passes its own rows: step s uses its local rows
 *    [s rows_r, (s+1) rows_r) when shuffling is off (lamina_sae_set_shuffle(sae, 0)); with shuffling,
 *    each rank permutes its own rows every epoch from (seed, epoch, rank). Every rank must have the
 *    same number of batches per epoch (n_r / rows_r).
 *  - From a file (lamina_sae_train_h5, every rank opens the same file): the order of global batches is
 *    defined by (seed, epoch) only (section 12's chunked order), independently of R, and rank r reads
 *    only its rows of each global batch: the file rows behind its stream positions, sorted and
 *    coalesced into runs of consecutive rows, read as HDF5 hyperslab unions with HDF5's data sieve
 *    off, so a contiguous dataset is read ~1/R per rank (a chunked dataset reads every storage chunk
 *    a run touches). The NaN/Inf check before training is split too (rank r checks rows
 *    [r n / R, (r+1) n / R)); the b_dec initialisation reads the first 65,536 rows on every rank. After
 *    each read the ranks agree that every read succeeded (one float64 reduction of R flags per step),
 *    so a file that fails on one rank (missing, short, unreadable) stops every rank with an error
 *    naming that rank, without a hang. An activation store is read whole per batch by every rank.
 *  - Reductions per step: ONE float32 buffer [dW_enc (n_latents*d) | dW_dec (n_latents*d) | db_enc |
 *    db_dec | dlog_threshold | firing counts (n_latents) | sse, active codes, L1 sum | for relu and
 *    jumprelu: sum(x - b_dec) (d), sum ||x - b_dec||^2 (for the reported fvu)]; topk adds one small
 *    float64 reduction before the backward pass (sum(x - b_dec) and sum ||x - b_dec||^2: fvu's
 *    denominator is the global batch variance). Gradients are normalised by the global batch; dead
 *    latents and the loss terms use the reduced counts and sums. Before training one float64
 *    reduction of R x 17 values checks that all ranks agree (world size, d_in, n_latents, batch_size,
 *    a fingerprint of every parameter, epochs, data position, batches per epoch, file rows, shuffle,
 *    reduce mode);
 *    a disagreement is LAMINA_ERR_INVALID_ARGUMENT naming the rank and the field. In memory, b_dec and
 *    the input scale come from one float64 reduction of every rank's first ceil(65536 / R) rows.
 *  - Per-step extras of the architectures whose terms are not per-rank sums (all float64, sizes fixed
 *    by the parameters, so every rank makes the same calls):
 *    batchtopk, matryoshka_batchtopk: the k * B largest activations of the GLOBAL batch. Each rank
 *      encodes its rows (per-row candidates, as in one process), then the global k*B-th largest value t
 *      is found exactly by a radix select over the float32 bits of the candidates: 3 reductions of
 *      per-digit counts (1 + R + 2048 values: candidate total, each rank's smallest candidate and the
 *      11-bit histogram; then 2048; then 512), and 1 reduction of R + 1 values (each rank's count of
 *      candidates equal to t, and whether a row saturated its candidate cap: then every rank widens
 *      the cap and repeats, as one process does). Values > t are kept; values equal to t are kept in
 *      global row order (rank 0's rows first), which is the one-process tie rule. The running
 *      threshold takes the global batch's smallest kept value. About 37 KB in 4 calls per step,
 *      independent of the batch size. matryoshka_batchtopk also appends its G prefix squared errors to
 *      the step's float32 buffer (the reported prefix FVUs and loss are the global batch's).
 *    auxk_alpha > 0 (topk family, on steps with dead latents; dead latents come from the reduced
 *      firing counts, so every rank has the same set): the AuxK top-k is per row (local); its
 *      normaliser sum_b ||e_b - mean(e)||^2 over the global batch takes two passes as in one process:
 *      one reduction of d + 1 values (sum e, sum ||e_hat - e||^2), then one of the centred sum.
 *    b_dec_init geometric_median (in memory): Weiszfeld's iterations over the UNION of the ranks'
 *      initial samples (each rank's first ceil(65536 / R) rows), one reduction of d + 2 values per
 *      iteration (at most 100, once before training); every rank stops at the same iteration. From a
 *      shared file every rank computes it from the same rows.
 *  - Equivalence: R ranks equal one process on the same global batches up to float rounding, not
 *    bit for bit: each rank sums its rows' gradient contributions before the reducer adds the ranks,
 *    so the float32 summation order differs from the single process's (2 ranks against 1, 126 steps,
 *    every architecture and option above: max |weight difference| <= 7.5e-7). A deterministic
 *    reducer (fixed rank order) makes repeated runs with the same R bit-identical.
 *  - Sparse gradients (lamina_sae_set_reduce_mode(sae, LAMINA_SAE_REDUCE_SPARSE_ROWS)): the dense
 *    buffer is replaced by two float32 reductions: [touched flags (n_latents: 1 where this rank's
 *    dW_enc / dW_dec row, db_enc or dlog_threshold entry is non-zero) | firing counts, sums (as above)],
 *    then, for the union U of touched latents (in latent order), [dW_enc rows of U | dW_dec rows of U
 *    | db_enc[U] | dlog_threshold[U] | db_dec]. A latent outside U has zero gradients on every rank,
 *    so with an elementwise reducer the result is bit-identical to the dense reduction. Values sent:
 *    n_latents + (2 |U| + 1) d + 2 |U| + the sums, against 2 n_latents (d + 1) + d + the sums; smaller
 *    when |U| < n_latents - n_latents / (2 d + 2) - (one more reduction per step).
 *  - Faults: a reducer returning a status != LAMINA_OK stops training with that status (the message
 *    says so); the model keeps the last completed step. A rank that fails outside the checked points
 *    (before training, the file reads) leaves the others waiting in the reducer: MPI's default error
 *    handler (MPI_ERRORS_ARE_FATAL) and mpirun's abort on a non-zero exit end the whole job.
 *  - Structural probes (lamina_structural_probe_set_reducer): every rank passes the SAME items and
 *    targets; the batch order is the single-process one and rank r computes items [off_r, off_r + n_r)
 *    of every batch (the share rule above), its gradient normalised by the whole batch's item count.
 *    Per step ONE float64 reduction of [dL/dB (rank x d) | loss sum]; per epoch with a dev split one
 *    float64 reduction of the dev loss sum (split the same way), so the lr decay, the best epoch and
 *    early stopping are the same on every rank. Before training the ranks agree on their checks and on
 *    R x 21 values (parameters, sizes, the sums of x, of the targets and of the starting B); a rank
 *    that differs is named. R ranks equal one process to float rounding; R = 1 is bit-identical.
 * ================================================================================================ */

/** The reducer: sums `count` values at `buffer` in place across all workers (dtype LAMINA_DTYPE_FLOAT32
 *  or LAMINA_DTYPE_FLOAT64) and returns LAMINA_OK, or another status to stop training with it. Every
 *  worker must end with identical bytes (use a fixed reduction order for reproducible runs). */
typedef int32_t (*lamina_reduce_fn)(void* buffer, int64_t count, int32_t dtype, void* user);

/** Makes every later lamina_sae_train / _train_h5 of `sae` a data-parallel run as rank `rank` of
 *  `world_size`, calling fn(buffer, count, dtype, user) as described above (user is passed through,
 *  not owned). fn NULL with rank 0 and world_size 1 clears it. The setting belongs to the handle's
 *  trainer (a handle from lamina_sae_load_checkpoint starts without one). Errors:
 *  LAMINA_ERR_INVALID_ARGUMENT (sae, world_size < 1, rank outside [0, world_size)). */
lamina_status lamina_sae_set_reducer(lamina_sae* sae, lamina_reduce_fn fn, void* user, int32_t rank,
                                     int32_t world_size);

/** In-memory training data order for later lamina_sae_train calls: shuffle 1 (the default: a seeded
 *  permutation per epoch) or 0 (rows in order: batch i is rows [i B, (i+1) B), or a rank's share).
 *  Errors: LAMINA_ERR_INVALID_ARGUMENT (sae, shuffle not 0 or 1). */
lamina_status lamina_sae_set_shuffle(lamina_sae* sae, int32_t shuffle);

#define LAMINA_SAE_REDUCE_DENSE 0         /* one float32 buffer with every gradient (the default) */
#define LAMINA_SAE_REDUCE_SPARSE_ROWS 1   /* touched flags, then the rows of the touched latents only */

/** How later data-parallel lamina_sae_train / _train_h5 calls of `sae` reduce the gradients (above):
 *  LAMINA_SAE_REDUCE_DENSE or LAMINA_SAE_REDUCE_SPARSE_ROWS (every rank must set the same mode; the
 *  ranks check it before training). No effect without a reducer. Errors: LAMINA_ERR_INVALID_ARGUMENT
 *  (sae, mode not one of the two). */
lamina_status lamina_sae_set_reduce_mode(lamina_sae* sae, int32_t mode);

/** Makes every later lamina_structural_probe_fit of `probe` a data-parallel run as rank `rank` of
 *  `world_size` (above; fn NULL with rank 0 and world_size 1 clears it; user passed through, not
 *  owned). A reducer failure stops the fit with its status, B of the last completed step kept.
 *  Errors: LAMINA_ERR_INVALID_ARGUMENT (probe, world_size < 1, rank outside [0, world_size)). */
lamina_status lamina_structural_probe_set_reducer(lamina_structural_probe* probe, lamina_reduce_fn fn, void* user,
                                                  int32_t rank, int32_t world_size);

/* Mergeable Calinski-Harabasz and Davies-Bouldin [experimental]. The partial results of a shard are plain
 * arrays that add up elementwise across shards (MPI_Allreduce / any map-reduce), with labels GLOBAL cluster
 * ids in [0, n_clusters) (the same ids on every shard; empty classes are skipped at the end):
 *   pass 1: counts (int64, n_clusters), sums (float64, n_clusters x d: per-class coordinate sums);
 *           merge by adding; lamina_class_centroids turns the merged pair into centroids.
 *   pass 2: with those centroids, sq (float64, n_clusters: sum ||x - c_label||^2) and dist (float64,
 *           n_clusters: sum ||x - c_label||); merge by adding; then the finalize functions.
 * The partial functions ADD into their outputs (zero them first; call again for more rows). All float64;
 * the results equal lamina_calinski_harabasz_score / lamina_davies_bouldin_score on the union of the rows
 * to about 1e-12 relative. Errors: LAMINA_ERR_INVALID_ARGUMENT (NULL, n, d or n_clusters < 1, a label
 * outside [0, n_clusters) -- the message names its index --, a negative count, fewer than 2 non-empty
 * clusters, CH with clusters >= samples), LAMINA_ERR_NON_FINITE (x), LAMINA_ERR_OUT_OF_MEMORY (sizes). */

/** Pass 1 on a shard: adds counts[c] += rows with label c, sums[c * d + j] += x[r, j] (float64). */
lamina_status lamina_class_sums_partial(const float* x, int64_t n, int64_t d, const int32_t* labels,
                                        int64_t n_clusters, int64_t* counts, double* sums);
/** centroids[c] = sums[c] / counts[c] (zeros for an empty class); n_clusters x d float64. */
lamina_status lamina_class_centroids(int64_t n_clusters, int64_t d, const int64_t* counts, const double* sums,
                                     double* centroids);
/** Pass 2 on a shard: adds sq[c] += ||x_r - centroids[c]||^2 and dist[c] += ||x_r - centroids[c]|| for the
 *  rows r with label c (float64; centroids n_clusters x d from the merged pass 1). */
lamina_status lamina_class_spread_partial(const float* x, int64_t n, int64_t d, const int32_t* labels,
                                          int64_t n_clusters, const double* centroids, double* sq, double* dist);
/** CH = [B / (k - 1)] / [W / (n - k)] over the k non-empty classes, B = sum_c n_c ||centroid_c - mean||^2,
 *  W = sum_c sq[c]; 1 when W = 0 (scikit-learn's convention). */
lamina_status lamina_calinski_harabasz_finalize(int64_t n_clusters, int64_t d, const int64_t* counts,
                                                const double* sums, const double* sq, double* out);
/** DB = mean_i max_{j != i} (s_i + s_j) / ||c_i - c_j||, s_i = dist[i] / counts[i], over the non-empty
 *  classes; 0 when all s_i or all centroid distances are ~0 (scikit-learn's convention). */
lamina_status lamina_davies_bouldin_finalize(int64_t n_clusters, int64_t d, const int64_t* counts,
                                             const double* sums, const double* dist, double* out);

/* Mergeable contingency tables for ARI / NMI / AMI [experimental]. The partial result of a shard is its
 * contingency table as CELLS keyed by label VALUES (any int32, not ids), three arrays of nnz entries:
 *   cell_true (int32), cell_pred (int32), cell_count (int64 > 0),
 * one cell per (label_true, label_pred) pair present, sorted ascending by (cell_true, cell_pred). A shard has
 * at most n cells. Shards whose label sets differ merge as they are: concatenate the cells of any number of
 * shards (any order) and lamina_contingency_merge sums the counts of equal pairs (exact integer adds, so the
 * merge order does not matter); the finalize functions also accept unmerged (concatenated) cells. Finalize
 * rebuilds the one-machine table -- rows (columns) are the true (predicted) values with a positive count, in
 * ascending order -- and computes exactly what lamina_adjusted_rand_score, lamina_normalized_mutual_info_score
 * and lamina_adjusted_mutual_info_score compute on the union of the shards' labels (bit-identical results).
 * Variable-length outputs: the caller passes arrays of `capacity` entries; *nnz (*out_nnz) always receives the
 * number of cells, and a capacity below it is LAMINA_ERR_SHAPE_MISMATCH (capacity 0 with NULL arrays asks for
 * the count). Errors: LAMINA_ERR_INVALID_ARGUMENT (n or nnz < 0, NULL pointers with n or nnz > 0, a negative
 * count -- the message names its index --, counts of one pair summing past INT64_MAX, a total above 3e9 at
 * finalize (a_i b_j must stay exact), average out of range), LAMINA_ERR_SHAPE_MISMATCH (capacity). */

/** A shard's cells from its labels (n may be 0: no cells). capacity = n always suffices. */
lamina_status lamina_contingency_partial(const int32_t* labels_true, const int32_t* labels_pred, int64_t n,
                                         int32_t* cell_true, int32_t* cell_pred, int64_t* cell_count,
                                         int64_t capacity, int64_t* nnz);
/** Sums the nnz cells (concatenated shards, any order, duplicates allowed; zero counts dropped) into sorted
 *  unique cells out_* (capacity = nnz always suffices; the outputs may be the input arrays). */
lamina_status lamina_contingency_merge(const int32_t* cell_true, const int32_t* cell_pred, const int64_t* cell_count,
                                       int64_t nnz, int32_t* out_true, int32_t* out_pred, int64_t* out_count,
                                       int64_t capacity, int64_t* out_nnz);
/** ARI of the table given by the cells (as lamina_adjusted_rand_score; 1 for no cells). */
lamina_status lamina_adjusted_rand_finalize(const int32_t* cell_true, const int32_t* cell_pred,
                                            const int64_t* cell_count, int64_t nnz, double* out);
/** NMI with the generalized mean `average` (as lamina_normalized_mutual_info_score). */
lamina_status lamina_normalized_mutual_info_finalize(const int32_t* cell_true, const int32_t* cell_pred,
                                                     const int64_t* cell_count, int64_t nnz,
                                                     lamina_average_method average, double* out);
/** AMI with the generalized mean `average` (as lamina_adjusted_mutual_info_score). */
lamina_status lamina_adjusted_mutual_info_finalize(const int32_t* cell_true, const int32_t* cell_pred,
                                                   const int64_t* cell_count, int64_t nnz,
                                                   lamina_average_method average, double* out);

/* Mergeable linear and debiased CKA [experimental]. The partial result of a shard is ONE float64 array of
 * sums over its rows that adds up elementwise across shards (MPI_Allreduce / any map-reduce). With the shifted
 * rows z_i = x_i - shift_x, w_i = y_i - shift_y (the SAME shifts on every shard; NULL = 0) and a_i = ||z_i||^2,
 * b_i = ||w_i||^2, the layout for x n x d1, y n x d2 (matrices row-major) is
 *   [0]                       n
 *   [1, 1 + d1)               S_x = sum z_i                      then S_y = sum w_i (d2)
 *   then                      Z^T Z (d1 x d1, full symmetric),   W^T W (d2 x d2),   Z^T W (d1 x d2)
 *   (linear length L = 1 + d1 + d2 + d1 d1 + d2 d2 + d1 d2)
 *   debiased = 1 appends      sum a_i^2, sum b_i^2, sum a_i b_i, sum a_i z_i (d1), sum b_i z_i (d1),
 *                             sum a_i w_i (d2), sum b_i w_i (d2)   (length L + 3 + 2 d1 + 2 d2).
 * Finalize centres exactly: C_xy = Z^T W - S_x S_y^T / n (C_xx, C_yy likewise), and with m = S / n the squared
 * row norms r_i = ||x_i - mean||^2, s_i of the centred data enter through
 *   sum r = tr(Z^T Z) - n |m_x|^2,
 *   r.s = sum ab - 2 m_y.(sum a w) - 2 m_x.(sum b z) + 4 m_x^T Z^T W m_y + |m_y|^2 tr(Z^T Z) + |m_x|^2 tr(W^T W)
 *         - 3 n |m_x|^2 |m_y|^2,   r.r = sum a^2 - 4 m_x.(sum a z) + 4 m_x^T Z^T Z m_x + 2 |m_x|^2 tr(Z^T Z) - 3 n |m_x|^4;
 * then CKA is lamina_linear_cka's formula (linear: ||C_xy||_F^2 / (||C_xx||_F ||C_yy||_F); debiased: the
 * feature-space unbiased HSIC). Two passes give the one-machine value to ~1e-15 relative: pass 1 column sums
 * (e.g. lamina_class_sums_partial with every label 0), merged, shift = sums / n; pass 2 this partial. With NULL
 * shifts (one pass) the sums cancel: the relative error grows like (|mean| / spread)^2 (linear), ^4 (debiased).
 * The partial function ADDS into `partial` (zero it first; call again for more rows). Errors:
 * LAMINA_ERR_INVALID_ARGUMENT (NULL x / y / partial / out, n, d1 or d2 < 1, debiased not 0 or 1; at finalize:
 * n not a whole number, n < 2 (n < 4 debiased), x or y constant -- or its variance lost to cancellation in
 * unshifted sums --, a non-positive unbiased self-HSIC), LAMINA_ERR_NON_FINITE (x, y, shifts, a partial
 * entry), LAMINA_ERR_SHAPE_MISMATCH (partial_len not the layout's length), LAMINA_ERR_OUT_OF_MEMORY (sizes). */

/** Adds the sums of x (n x d1) and y (n x d2), shifted by shift_x (d1 doubles or NULL) and shift_y (d2 or
 *  NULL), into partial (partial_len = the layout's length for d1, d2, debiased). */
lamina_status lamina_linear_cka_partial(const float* x, int64_t n, int64_t d1, const float* y, int64_t d2,
                                        const double* shift_x, const double* shift_y, int32_t debiased,
                                        double* partial, int64_t partial_len);
/** Linear (debiased = 0) or debiased (1) CKA from a merged partial, values and range as lamina_linear_cka. */
lamina_status lamina_linear_cka_finalize(int64_t d1, int64_t d2, int32_t debiased, const double* partial,
                                         int64_t partial_len, double* out);

/* ==================================================================================================
 * 17. VL-SAE [experimental]
 *
 * VL-SAE (Shen et al. 2025, "VL-SAE: Interpreting and Enhancing Vision-Language Alignment with a Unified
 * Concept Set"; the authors' torch code is ssfgunner/VL-SAE): one sparse autoencoder trained on paired
 * image and text representations (V[i], T[i]) so that each latent is a concept shown by similar images
 * and similar texts. The model, as the authors' code computes it:
 *   u = x / ||x||                   per row of each modality (a zero row is LAMINA_ERR_INVALID_ARGUMENT
 *                                   naming the row: it cannot be normalised)
 *   w^_j = W_j / max(||W_j||, 1e-12)    W: n_latents x d, one encoder shared by both modalities, no bias
 *   a_j = 2 - || u - w^_j || = 2 - sqrt(max(2 - 2 u.w^_j, 0))   in [0, 2]; computed as one sgemm of the
 *                                   normalised rows plus the norm terms (||u - w||^2 = 2 - 2 u.w for unit
 *                                   vectors); the clamp at 0 absorbs rounding
 *   z = a on the k largest a_j of the row (ties: the lower latent index), 0 elsewhere
 *   x^_m = b_m + z W_dec,m          one decoder per modality m (W_dec,m: n_latents x d_m, own bias b_m)
 *   loss = w_v mean((x^_v - x_v)^2) + w_t mean((x^_t - x_t)^2)     (the raw inputs are the targets)
 * Gradients flow through the kept a_j (d a / d s = 1 / dist; none where dist^2 <= 1e-30, torch's cdist
 * clamp), the row normalisation of W, and both decoders; decoders and backward are sparse
 * (O(batch * k * d)). Adam is torch's. Initialisation as the authors': W ~ U(-1/sqrt(d), 1/sqrt(d))
 * (kaiming_uniform, a = sqrt 5), decoder weights and biases ~ U(-1/sqrt(n_latents), 1/sqrt(n_latents))
 * (nn.Linear). Not in the authors' code, added by Lamina: dead-latent tracking with AuxK, an lr schedule,
 * a seeded shuffle per epoch, float16/bfloat16 input, loss weights, HDF5 sources, checkpoints with
 * bit-identical resume, data-parallel training through a reducer, and input projections for unequal
 * widths with an InfoNCE alignment stage to learn them (17b).
 * Widths (the input-projection rule): a VL-SAE made by lamina_vlsae_create has no projections and
 * needs d_vision == d_text = d (unequal widths there are LAMINA_ERR_INVALID_ARGUMENT: use
 * lamina_vlsae_create_projected). One made by lamina_vlsae_create_projected has a common width d_common
 * and two fixed matrices P_vision (d_common x d_vision) and P_text (d_common x d_text); the shared encoder
 * (W: n_latents x d_common, so d above is d_common) then runs on u_m = P_m x / ||P_m x|| (a row with
 * P_m x = 0 is an error naming it, checked before the first step for in-memory and HDF5 data alike),
 * while each decoder still reconstructs its modality's raw input x (W_dec,m: n_latents x d_m, the loss
 * above unchanged), so encode/decode/concept shift keep taking and giving each modality's own widths.
 * The projections are never trained by the VL-SAE: they are the caller's (any map to a common space) or
 * those learned by the alignment stage (lamina_vlalign_*, 17b) on the same pairs first; freezing them
 * keeps the concept space on one fixed common space and the VL-SAE loss the paper's. Saved as "P_vision",
 * "P_text" with "d_common" in cfg.json (files without them load as before), and kept in checkpoints
 * (a projected run resumes bit-identically); under a reducer each rank projects its own rows before
 * encoding, and the ranks check that they hold the same d_common and projections.
 * AuxK (Gao et al. 2024, as the TopK trainer's; not in the authors' code): a latent that fired in neither
 * modality within the last dead_tokens pairs is dead. Per modality m with w_m > 0: e_m = x_m - x^_m
 * (detached), e^_m = z_aux,m W_dec,m (no bias) with z_aux,m = the activations a of the top
 * min(k_aux, n_dead) dead latents of the row; auxk_m = min(n_dead / k_aux, 1) sum||e^_m - e_m||^2 /
 * sum||e_m - mean_batch(e_m)||^2; loss += auxk_alpha (w_v auxk_v + w_t auxk_t). Its gradient reaches the
 * dead latents' decoder rows and encoder rows (through a as in the main loss). k_aux = 0 means d / 2
 * with d the encoder width (d_common with projections). Off by default (auxk_alpha = 0): measured at
 * equal tokens on stand-in and planted pairs, it did not lower held-out FVU (benchmarks/README.md).
 * Determinism: the same data, params (seed) and thread count give bit-identical weights.
 * Threads: a handle is used by one thread at a time.
 * ================================================================================================== */

typedef struct lamina_vlsae lamina_vlsae;

/** Modality of an input or of a decoder. */
typedef int32_t lamina_vlsae_modality;
#define LAMINA_VLSAE_VISION 0   /* the image side (V) */
#define LAMINA_VLSAE_TEXT 1     /* the text side (T) */

typedef struct lamina_vlsae_params {
    int64_t d_vision;             /* width of the vision rows >= 1 (default 512) */
    int64_t d_text;               /* width of the text rows; equal to d_vision unless projected (default 512) */
    int64_t n_latents;            /* concepts >= 1 (default 4096 = 8 d, the paper's) */
    int32_t k;                    /* active concepts per row, 1..n_latents (default 256, the paper's) */
    double lr;                    /* Adam learning rate > 0 (default 1e-3, the paper's) */
    int32_t batch_size;           /* pairs per step >= 1 (default 512, the paper's); a smaller n uses n */
    double adam_beta1, adam_beta2, adam_eps;   /* defaults 0.9, 0.999, 1e-8 (torch's) */
    double weight_vision;         /* w_v >= 0 (default 1) */
    double weight_text;           /* w_t >= 0, w_v + w_t > 0 (default 1) */
    int64_t dead_tokens;          /* a latent firing in neither modality for more than this many pairs is dead (default 10,000,000) */
    int32_t warmup_steps;         /* linear lr warm-up (default 0) */
    lamina_sae_decay decay;       /* lr decay over the call's steps (default LAMINA_SAE_DECAY_NONE) */
    int32_t decay_steps;          /* steps of decay at the end, 0 = all after warm-up (default 0) */
    int32_t shuffle;              /* 1: a seeded random pair order per epoch; 0: row order (default 1) */
    uint64_t seed;                /* initialisation and shuffling (default 0) */
    double auxk_alpha;            /* AuxK coefficient >= 0 on dead latents, 0 = off (default 0, as the authors'; the TopK trainer's is 1/32) */
    int32_t k_aux;                /* AuxK k, 0..n_latents, 0 = d / 2 (default 0) */
} lamina_vlsae_params;

/** The default parameters (values above). */
lamina_vlsae_params lamina_vlsae_default_params(void);

/** LAMINA_OK if params are valid, else LAMINA_ERR_INVALID_ARGUMENT naming the field (k < 1 or
 *  k > n_latents, d_vision != d_text (use lamina_vlsae_create_projected), lr <= 0, shuffle not 0/1,
 *  both weights 0, ...). */
lamina_status lamina_vlsae_check_params(const lamina_vlsae_params* params);

/** Creates a freshly initialised VL-SAE (seeded); free with lamina_vlsae_free. Errors: NULL params or
 *  out, invalid params, LAMINA_ERR_OUT_OF_MEMORY if the weights cannot be held. */
lamina_status lamina_vlsae_create(const lamina_vlsae_params* params, lamina_vlsae** out);

/** Frees a VL-SAE. NULL, and a pointer that is not a live handle, are ignored. */
void lamina_vlsae_free(lamina_vlsae* vlsae);

/** Copies the VL-SAE's parameters into *out. */
lamina_status lamina_vlsae_get_params(const lamina_vlsae* vlsae, lamina_vlsae_params* out);

/** Trains `epochs` epochs on the pairs (vision[i], text[i]): vision is n x d_vision, text n x d_text,
 *  row-major, both of dtype LAMINA_DTYPE_FLOAT32, _FLOAT16 or _BFLOAT16 (16-bit values as raw uint16
 *  bits, widened by Lamina). Each epoch visits every pair once in ceil(n / batch_size) steps (the last
 *  one smaller); the lr schedule spans this call's steps (the run); Adam's state carries over between
 *  calls. Runs resume: if the handle's last run was interrupted (cancelled, or restored by
 *  lamina_vlsae_load_checkpoint), the call continues it from its position (epoch, batch) instead of
 *  starting a new run; epochs and n must then be the run's (else LAMINA_ERR_INVALID_ARGUMENT naming
 *  both), and the result is bit-identical to the uninterrupted run (same data and thread count).
 *  The order of epoch e of a run starting at step s0 comes from (seed, s0 + e * batches_per_epoch, e).
 *  progress (may be NULL) is called after every step with task "vlsae_train", items = pairs, loss, and
 *  the terms "mse_vision", "mse_text", "fvu_vision", "fvu_text" (sum ||x^ - x||^2 / sum ||x - mean||^2
 *  over the batch), "dead_fraction", "lr", "auxk"; a non-zero return stops with LAMINA_ERR_CANCELLED, the model
 *  at its last completed step. Errors (all checked before the first step, the model unchanged):
 *  d_vision or d_text differing from the model's (LAMINA_ERR_SHAPE_MISMATCH), NaN/Inf
 *  (LAMINA_ERR_NON_FINITE naming modality, row and column), a zero row (LAMINA_ERR_INVALID_ARGUMENT
 *  naming modality and row), NULL buffers, n < 1, bad dtype, epochs < 1; a diverging loss
 *  (LAMINA_ERR_NON_FINITE; the model keeps the last finite step). */
lamina_status lamina_vlsae_train(lamina_vlsae* vlsae, const void* vision, const void* text, lamina_dtype dtype,
                                 int64_t n, int64_t d_vision, int64_t d_text, int32_t epochs,
                                 lamina_progress_fn progress, void* user);

/** Completed steps and pairs seen (either output may be NULL). */
lamina_status lamina_vlsae_get_state(const lamina_vlsae* vlsae, int64_t* steps, int64_t* pairs);

/** Per-step history, steps x 8 doubles (loss, mse_vision, mse_text, fvu_vision, fvu_text, dead_fraction,
 *  lr, auxk = w_v auxk_v + w_t auxk_t); out_len must equal steps * 8. */
lamina_status lamina_vlsae_get_history(const lamina_vlsae* vlsae, double* out, int64_t out_len);

/** Dense codes z of x (n x d, float32, finite, no zero row; d = the modality's width) into out
 *  (n x n_latents; out_len = n * n_latents). Errors: modality not LAMINA_VLSAE_VISION/_TEXT
 *  (LAMINA_ERR_INVALID_ARGUMENT naming the value), d mismatch (LAMINA_ERR_SHAPE_MISMATCH), NaN/Inf,
 *  a zero row (named), out_len. */
lamina_status lamina_vlsae_encode(const lamina_vlsae* vlsae, lamina_vlsae_modality modality, const float* x,
                                  int64_t n, int64_t d, float* out, int64_t out_len);

/** Sparse codes: `width` slots per row (indices and values n x width), the active concepts by
 *  decreasing activation (ties: lower index); unused slots get index -1 and value 0 (width = k holds
 *  every active concept). Errors as lamina_vlsae_encode, and width < 1. */
lamina_status lamina_vlsae_encode_sparse(const lamina_vlsae* vlsae, lamina_vlsae_modality modality, const float* x,
                                         int64_t n, int64_t d, int32_t width, int32_t* indices, float* values);

/** x^ = b_m + z W_dec,m for dense codes z (n x n_latents, finite) into out (n x d_m), with the decoder of
 *  `modality`: codes of either modality decode into either one (cross-modal reconstruction: encode an
 *  image, decode it as text). out_len = n * d_m. */
lamina_status lamina_vlsae_decode(const lamina_vlsae* vlsae, lamina_vlsae_modality modality, const float* z,
                                  int64_t n, int64_t n_latents, float* out, int64_t out_len);

/** The same from sparse codes (n x width indices and values; a slot with index -1 or value 0 is
 *  skipped; an index outside [-1, n_latents) is LAMINA_ERR_INVALID_ARGUMENT naming the slot). */
lamina_status lamina_vlsae_decode_sparse(const lamina_vlsae* vlsae, lamina_vlsae_modality modality,
                                         const int32_t* indices, const float* values, int64_t n, int32_t width,
                                         float* out, int64_t out_len);

/** The paper's concept-level shift of text hidden states towards their paired images (its LLaVA
 *  enhancement), row by row:  z' = (1 - beta) enc_text(t) + beta enc_vision(v);  t~ = decode_text(z');
 *  t_new = t + alpha (t~ - t). vision n x d_vision, text n x d_text (finite, no zero row), out n x d_text
 *  (out_len = n * d_text). The paper's defaults are alpha = 0.8, beta = 0.9. Errors: alpha not finite,
 *  beta outside [0, 1], and those of lamina_vlsae_encode. */
lamina_status lamina_vlsae_concept_shift(const lamina_vlsae* vlsae, const float* vision, const float* text, int64_t n,
                                         int64_t d_vision, int64_t d_text, double alpha, double beta, float* out,
                                         int64_t out_len);

/** Saves into `directory` (created if missing): vlsae_weights.safetensors (W_enc [n_latents, d],
 *  W_dec_vision [n_latents, d_vision], b_dec_vision, W_dec_text [n_latents, d_text], b_dec_text; float32)
 *  and cfg.json ("architecture": "vl_topk", d_vision, d_text, d_sae, k and every training parameter);
 *  a projected VL-SAE also writes P_vision [d_common, d_vision], P_text [d_common, d_text] and "d_common"
 *  (W_enc is then [n_latents, d_common]),
 *  each written atomically (temporary file, fsync, rename): a failed save leaves what was there.
 *  The optimizer state is not saved. Errors: LAMINA_ERR_IO. */
lamina_status lamina_vlsae_save(const lamina_vlsae* vlsae, const char* directory);

/** Loads a VL-SAE saved by lamina_vlsae_save; *out receives a new handle. Every cfg.json field must be
 *  one lamina_vlsae_save writes (an unknown field is LAMINA_ERR_FORMAT naming it); an SAE of another
 *  architecture (no "architecture" or not "vl_topk": SAELens, sparsify, Lamina's lamina_sae_save) is
 *  LAMINA_ERR_FORMAT naming it; tensor shapes are checked against the header of the weights file before
 *  anything is allocated, weights must be finite. Errors: LAMINA_ERR_IO (missing directory or file),
 *  LAMINA_ERR_FORMAT. */
lamina_status lamina_vlsae_load(const char* directory, lamina_vlsae** out);

/** Copies the parameter tensor `name` ("W_enc", "W_dec_vision", "b_dec_vision", "W_dec_text",
 *  "b_dec_text"; with input projections also "P_vision", "P_text"; shapes as in lamina_vlsae_save,
 *  row-major) into out; out_len must equal its size. */
lamina_status lamina_vlsae_get_tensor(const lamina_vlsae* vlsae, const char* name, float* out, int64_t out_len);

/** Replaces the parameter tensor `name` with `len` finite values (len = its size); the optimizer state
 *  is kept. Errors: unknown name, len, NaN/Inf (the tensor unchanged). */
lamina_status lamina_vlsae_set_tensor(lamina_vlsae* vlsae, const char* name, const float* values, int64_t len);

/** Trains from one file with one rank-2 dataset per modality (HDF5 float16/bfloat16/float32/float64, or an
 *  activation store directory, section 15), streamed with bounded memory: the rows are cut into chunks
 *  of C rows (C a multiple of batch_size, about 8 MB of the wider modality); each epoch visits the chunks
 *  in a seeded random order and the rows of each chunk in a seeded random order, reading the same
 *  positions from both datasets (in order when shuffle is 0); batch i = stream positions
 *  [i B, min((i + 1) B, n)). At most two chunks per modality are held. Both datasets are scanned for
 *  NaN/Inf and zero rows (and, with input projections, rows with P_m x = 0) before the first step
 *  (progress task "vlsae_validate", term "rows_checked", about once a second; non-zero cancels). Runs, resume and progress as lamina_vlsae_train. Errors: the
 *  datasets' row counts differ (LAMINA_ERR_SHAPE_MISMATCH naming both datasets and counts), widths
 *  differing from the model's (LAMINA_ERR_SHAPE_MISMATCH naming the dataset), missing file
 *  (LAMINA_ERR_IO), not HDF5 / corrupt / wrong rank / integer data (LAMINA_ERR_FORMAT), a dataset not
 *  found (LAMINA_ERR_INVALID_ARGUMENT), and those of lamina_vlsae_train. */
lamina_status lamina_vlsae_train_h5(lamina_vlsae* vlsae, const char* path, const char* vision_dataset,
                                    const char* text_dataset, int32_t epochs, lamina_progress_fn progress, void* user);

/** The run position: epochs of the current (or last) run (0 before any training), the epoch and the
 *  batch within it where the next step starts. Any output may be NULL. */
lamina_status lamina_vlsae_get_position(const lamina_vlsae* vlsae, int64_t* run_epochs, int64_t* epoch,
                                        int64_t* batch_in_epoch);

/** Writes a training checkpoint to `path` (one safetensors file, written atomically: temporary file,
 *  fsync, rename): the weights (with input projections also "P_vision", "P_text"), Adam's moments, the
 *  pairs since each latent fired, the history, and in the metadata (format "lamina_vlsae_checkpoint")
 *  the parameters (with "d_common"), Adam's step and the run position.
 *  lamina_vlsae_load_checkpoint + lamina_vlsae_train (or _train_h5) with the same data and epochs
 *  finishes bit-identical to an uninterrupted run (same thread count). Errors: LAMINA_ERR_IO. */
lamina_status lamina_vlsae_save_checkpoint(const lamina_vlsae* vlsae, const char* path);

/** Loads a checkpoint written by lamina_vlsae_save_checkpoint into a new handle (*out). Errors:
 *  LAMINA_ERR_IO (missing, unreadable), LAMINA_ERR_FORMAT (truncated, corrupt, another format such as an
 *  SAE checkpoint, shapes not matching the parameters, non-finite weights, an inconsistent position). */
lamina_status lamina_vlsae_load_checkpoint(const char* path, lamina_vlsae** out);

/** Data-parallel training as section 16's lamina_sae_set_reducer (same lamina_reduce_fn): world_size
 *  processes each hold a handle with the same params, call this with their rank, then train; fn = NULL
 *  with rank 0 and world_size 1 clears it. batch_size is the global batch; rank r takes
 *  rows_r = B / R (+1 for r < B % R) rows of it. In memory (lamina_vlsae_train) each rank passes its own
 *  pairs (it orders them per epoch from seed mixed with its rank; rank 0 = the single-process order) and
 *  every rank must have the same number of batches per epoch; from a file (lamina_vlsae_train_h5) every
 *  rank reads the same file and keeps its share of each global batch (the order does not depend on R).
 *  Per step: one float64 allreduce of the loss sums of both modalities (sse, AuxK sums, column sums for
 *  the FVU and AuxK variance), then one float32 allreduce of [dW (n_latents x d) | dW_dec,v | dW_dec,t |
 *  db_v | db_t | firing counts (n_latents)]; every rank runs Adam on the sums. Before the first step the
 *  ranks compare their parameters, state and row counts (with input projections also d_common and a
 *  checksum of P_vision and P_text: each rank projects its own rows; one float64 reduction) and agree on the outcome
 *  of their checks, so a rank's error stops every rank (LAMINA_ERR_INVALID_ARGUMENT naming the rank and
 *  field). R ranks give the one-process result up to float rounding of the sums. Errors: rank outside
 *  [0, world_size), world_size < 1 or > batch_size, a reducer status other than LAMINA_OK (returned,
 *  the model at its last completed step). */
lamina_status lamina_vlsae_set_reducer(lamina_vlsae* vlsae, lamina_reduce_fn fn, void* user, int32_t rank,
                                       int32_t world_size);

/* --- 17b. Input projections and the InfoNCE alignment stage [experimental] ----------------------- */

/** Creates a VL-SAE with input projections (the rule in the section comment): params as for
 *  lamina_vlsae_create except that d_vision and d_text may differ and n_latents is free (8 d_common is the
 *  paper's ratio); p_vision (d_common x d_vision, p_vision_len = d_common * d_vision) and p_text
 *  (d_common x d_text) are copied, row-major, finite. The encoder W is n_latents x d_common. Errors:
 *  d_common outside [1, 2^24], invalid params, a length mismatch (LAMINA_ERR_SHAPE_MISMATCH naming it),
 *  NaN/Inf in a projection (LAMINA_ERR_NON_FINITE), NULL pointers. */
lamina_status lamina_vlsae_create_projected(const lamina_vlsae_params* params, int64_t d_common,
                                            const float* p_vision, int64_t p_vision_len, const float* p_text,
                                            int64_t p_text_len, lamina_vlsae** out);

/** The common width d_common of the VL-SAE's input projections into *out (0: none). With projections,
 *  lamina_vlsae_get_tensor/_set_tensor also know "P_vision" and "P_text", and W_enc is n_latents x d_common. */
lamina_status lamina_vlsae_get_d_common(const lamina_vlsae* vlsae, int64_t* out);

/** The encoder-side input P_m x of each row of x (n x d_m, finite) into out (n x d_common,
 *  out_len = n * d_common; without projections a copy of x). Not normalised. Errors as
 *  lamina_vlsae_encode. */
lamina_status lamina_vlsae_project(const lamina_vlsae* vlsae, lamina_vlsae_modality modality, const float* x,
                                   int64_t n, int64_t d, float* out, int64_t out_len);

/** The alignment stage (for models whose modalities are not aligned, e.g. LLaVA hidden states, or whose
 *  widths differ): P_vision (d_common x d_vision) and P_text (d_common x d_text) learned on pairs
 *  (V[i], T[i]) and then given to lamina_vlsae_create_projected. On a batch of B pairs:
 *    x^_m = x_m / ||x_m||;  y_m = P_m x^_m;  u_m = y_m / max(||y_m||, 1e-12)
 *    L_ij = u_v,i . u_t,j / temperature                      (B x B logits, one sgemm)
 *    InfoNCE = 1/(2B) sum_i [logsumexp_j L_ij - L_ii] + 1/(2B) sum_j [logsumexp_i L_ij - L_jj]   (CLIP's)
 *    R_m = 1/B sum_i || P_m^T y_m,i - x^_m,i ||^2          (tied reconstruction of the unit input)
 *    loss = InfoNCE + recon_weight (R_v + R_t)
 *  The reconstruction keeps each P_m near a partial isometry on its data (no collapse onto the few
 *  directions that separate a batch). Adam (torch's, betas 0.9/0.999, eps 1e-8) with a constant lr;
 *  P_m initialised as nn.Linear(d_m, d_common, bias=False) (U(-1/sqrt(d_m), 1/sqrt(d_m)), seeded); a seeded
 *  pair order per epoch; the same data, arguments and thread count give bit-identical projections.
 *  Defaults (Lamina's; the paper has no such stage): temperature 0.07 (CLIP's initial value), recon_weight 0.1
 *  (a full-weight isometry term fights alignment when the modalities are related by a non-orthogonal
 *  map: measured top-1 retrieval 0.93 at 1 vs 1.00 at 0.1 on 512 Gaussian-mapped pairs),
 *  lr 1e-3, batch_size 256. A handle is used by one thread at a time. */
typedef struct lamina_vlalign lamina_vlalign;

/** Creates a seeded alignment stage. Errors (LAMINA_ERR_INVALID_ARGUMENT naming the argument): a width
 *  outside [1, 2^24], temperature <= 0 or not finite, recon_weight < 0, lr <= 0, batch_size outside
 *  [2, 65536]. */
lamina_status lamina_vlalign_create(int64_t d_vision, int64_t d_text, int64_t d_common, double temperature,
                                    double recon_weight, double lr, int32_t batch_size, uint64_t seed,
                                    lamina_vlalign** out);

/** Frees an alignment stage. NULL, and a pointer that is not a live handle, are ignored. */
void lamina_vlalign_free(lamina_vlalign* align);

/** Trains `epochs` epochs on the pairs (vision n x d_vision, text n x d_text, n >= 2; dtype as
 *  lamina_vlsae_train): every pair once per epoch in ceil(n / batch_size) batches (a last batch of one
 *  pair joins the previous one). progress (may be NULL): task "vlalign_train", items = pairs, loss, terms
 *  "infonce", "recon_vision", "recon_text", "lr"; a non-zero return stops with LAMINA_ERR_CANCELLED.
 *  Errors, checked before the first step: widths (LAMINA_ERR_SHAPE_MISMATCH), NaN/Inf, a zero row (named),
 *  n < 2, epochs < 1, NULL buffers; a non-finite loss or gradient (LAMINA_ERR_NON_FINITE). */
lamina_status lamina_vlalign_train(lamina_vlalign* align, const void* vision, const void* text, lamina_dtype dtype,
                                   int64_t n, int64_t d_vision, int64_t d_text, int32_t epochs,
                                   lamina_progress_fn progress, void* user);

/** The loss of one batch (vision n x d_vision, text n x d_text, float32, finite, no zero row) at the
 *  current projections, without changing them: terms[4] = (loss, InfoNCE, R_vision, R_text); with
 *  grad_vision (d_common x d_vision, grad_vision_len = d_common * d_vision) and grad_text (d_common x
 *  d_text) the gradient of loss w.r.t. P_vision and P_text (both given or both NULL). For tests and
 *  custom loops. */
lamina_status lamina_vlalign_loss_grad(const lamina_vlalign* align, const float* vision, const float* text,
                                       int64_t n, int64_t d_vision, int64_t d_text, double* terms,
                                       float* grad_vision, int64_t grad_vision_len, float* grad_text,
                                       int64_t grad_text_len);

/** Completed steps and pairs seen (either output may be NULL). */
lamina_status lamina_vlalign_get_state(const lamina_vlalign* align, int64_t* steps, int64_t* pairs);

/** Per-step history, steps x 5 doubles (loss, InfoNCE, R_vision, R_text, lr); out_len = steps * 5. */
lamina_status lamina_vlalign_get_history(const lamina_vlalign* align, double* out, int64_t out_len);

/** P_m x of each row of x (n x d_m, finite) into out (n x d_common; out_len = n * d_common). */
lamina_status lamina_vlalign_transform(const lamina_vlalign* align, lamina_vlsae_modality modality, const float* x,
                                       int64_t n, int64_t d, float* out, int64_t out_len);

/** Copies "P_vision" (d_common x d_vision) or "P_text" (d_common x d_text) into out (out_len = its size). */
lamina_status lamina_vlalign_get_tensor(const lamina_vlalign* align, const char* name, float* out, int64_t out_len);

/** Replaces "P_vision" or "P_text" with len finite values; the Adam state is kept. */
lamina_status lamina_vlalign_set_tensor(lamina_vlalign* align, const char* name, const float* values, int64_t len);

/* ==================================================================================================
 * 18. Sparse (CSR) input [experimental]
 *
 * The silhouette, Davies-Bouldin, Calinski-Harabasz, Xie-Beni (centroid separation) and k-means on a
 * sparse matrix, computed on its rows as stored: never densified (memory O(nnz + n + d) per worker for
 * the silhouette, plus the dense k x d centers for k-means). SAE codes are the intended case.
 *
 * One rule for every such function: `lamina_<fn>_csr` takes float32 values and `lamina_<fn>_csr_f64`
 * float64 values (computed in float64), and both take, in place of the dense `x, n, d`:
 *     const float* data (or const double*)   nnz values
 *     const int64_t* indices                 nnz column indices
 *     const int64_t* indptr                  n + 1 row offsets
 *     int64_t nnz, int64_t n, int64_t d
 * (scipy.sparse's CSR arrays with int64 indices). Row i holds data[indptr[i] .. indptr[i+1]-1] at
 * columns indices[...]. Checked before any work, in this order, each failure naming the argument, the
 * value and the expectation: n >= 1, d >= 1, 0 <= nnz <= n * d (LAMINA_ERR_INVALID_ARGUMENT), indptr
 * not NULL, indptr[0] = 0, indptr non-decreasing, indptr[n] = nnz (LAMINA_ERR_SHAPE_MISMATCH for the
 * last), data and indices not NULL unless nnz = 0, every index in [0, d) and the indices of each row
 * strictly increasing (canonical CSR: sorted, no duplicates -- scipy's X.sum_duplicates() makes a
 * matrix canonical), every value finite (LAMINA_ERR_NON_FINITE). The arrays are only read, and only
 * during the call. The other arguments and errors are those of the dense function named.
 *
 * Distances: squared euclidean distances come from ||x||^2 + ||y||^2 - 2 x.y with the dot products
 * accumulated in float64 (sparse-sparse for pairs of rows, sparse-dense against centers); where that
 * value is below 2^-10 (||x||^2 + ||y||^2) it is recomputed exactly from the differences, so equal rows
 * are at exactly 0. Distances of a row to a dense center are exact in float64
 * (sum over the row's entries of (x_j - c_j)^2 plus the center's mass off the row's support).
 * ================================================================================================ */

/** lamina_silhouette_samples on CSR rows (out: n doubles). metric: LAMINA_DISTANCE_EUCLIDEAN,
 *  _SQEUCLIDEAN or _COSINE (1 - x.y / (||x|| ||y||) clipped to [0, 2], a zero row has similarity 0);
 *  other metrics are refused (LAMINA_ERR_INVALID_ARGUMENT: pass dense x, or the distances through the
 *  precomputed form). Work O(sum over rows of the rows sharing a column with it + n^2), no n x n buffer.
 *  Matches scikit-learn's silhouette_samples on the same matrix (1e-12 float64, 1e-6 float32). */
lamina_status lamina_silhouette_samples_csr(const float* data, const int64_t* indices, const int64_t* indptr,
                                            int64_t nnz, int64_t n, int64_t d, const int32_t* labels,
                                            lamina_distance metric, double* out);

/** Mean of lamina_silhouette_samples_csr (out: one double). */
lamina_status lamina_silhouette_score_csr(const float* data, const int64_t* indices, const int64_t* indptr,
                                          int64_t nnz, int64_t n, int64_t d, const int32_t* labels,
                                          lamina_distance metric, double* out);

/** lamina_silhouette_samples_precomputed with the n x m distance matrix in CSR form (here d = m): an
 *  absent entry is a distance of 0. Checks in scikit-learn's order and words: labels match the rows, a
 *  zero diagonal (absent or |d_ii| <= 100 eps), the label count, square (m = n), non-negative. */
lamina_status lamina_silhouette_samples_precomputed_csr(const float* data, const int64_t* indices, const int64_t* indptr,
                                                        int64_t nnz, int64_t n, int64_t m, const int32_t* labels,
                                                        double* out);

/** Mean of lamina_silhouette_samples_precomputed_csr (out: one double). */
lamina_status lamina_silhouette_score_precomputed_csr(const float* data, const int64_t* indices, const int64_t* indptr,
                                                      int64_t nnz, int64_t n, int64_t m, const int32_t* labels,
                                                      double* out);

/** lamina_davies_bouldin_score on CSR rows: float64 centroids, exact row-to-centroid distances. */
lamina_status lamina_davies_bouldin_score_csr(const float* data, const int64_t* indices, const int64_t* indptr,
                                              int64_t nnz, int64_t n, int64_t d, const int32_t* labels, double* out);

/** lamina_calinski_harabasz_score on CSR rows (same definition and edge cases). */
lamina_status lamina_calinski_harabasz_score_csr(const float* data, const int64_t* indices, const int64_t* indptr,
                                                 int64_t nnz, int64_t n, int64_t d, const int32_t* labels, double* out);

/** lamina_xie_beni_index on CSR rows; separation LAMINA_XIE_BENI_CENTROID only (LAMINA_XIE_BENI_POINT_PAIR
 *  is refused with LAMINA_ERR_INVALID_ARGUMENT: pass dense x). */
lamina_status lamina_xie_beni_index_csr(const float* data, const int64_t* indices, const int64_t* indptr,
                                        int64_t nnz, int64_t n, int64_t d, const int32_t* labels,
                                        lamina_xie_beni_separation separation, double* out);

/** lamina_kmeans_fit on CSR rows: scikit-learn's sparse Lloyd (rows as given, not centred; labels by
 *  argmin ||c||^2 - 2 x.c, first on ties; M-step weighted means, rounded to float32 for float32 data;
 *  empty clusters relocated to the farthest rows as its _relocate_empty_clusters_sparse; convergence
 *  when the labels stop changing or the squared center shift sum <= tol * the mean column variance,
 *  then one more E-step). From the same given centers the labels, n_iter and inertia are
 *  scikit-learn's (inertia 1e-12 relative float64, 1e-6 float32). k-means++ (greedy, candidate
 *  distances from sparse-sparse products) and random seeding use Lamina's generator, as the dense fit.
 *  init_centers: n_clusters x d values of the data's type, required iff params.init is
 *  LAMINA_KMEANS_INIT_GIVEN (else NULL). sample_weight: n finite doubles >= 0 with a positive sum, or
 *  NULL for unit weights (LAMINA_ERR_INVALID_ARGUMENT otherwise); weighted sums, relocation, inertia
 *  and k-means++ draws (probability w_i D(x_i)^2). The model is then a float32 (float64) model whose
 *  centers are dense; lamina_kmeans_predict and the getters work as after a dense fit. */
lamina_status lamina_kmeans_fit_csr(lamina_kmeans* model, const float* data, const int64_t* indices, const int64_t* indptr,
                                    int64_t nnz, int64_t n, int64_t d, const float* init_centers,
                                    const double* sample_weight);

/** Nearest fitted center of each CSR row (labels_out: n int32; argmin ||c||^2 - 2 x.c in float64).
 *  sq_dist_out: NULL, or n doubles receiving each row's exact squared distance to that center (for
 *  KMeans.score). Works with a model fitted on dense or sparse data; d must equal its n_features. */
lamina_status lamina_kmeans_predict_csr(const lamina_kmeans* model, const float* data, const int64_t* indices,
                                        const int64_t* indptr, int64_t nnz, int64_t n, int64_t d,
                                        int32_t* labels_out, double* sq_dist_out);

/** Euclidean distances of each CSR row to every fitted center (out: n x n_clusters doubles,
 *  row-major), exact where the dot-product form cancels (see the section's intro). */
lamina_status lamina_kmeans_transform_csr(const lamina_kmeans* model, const float* data, const int64_t* indices,
                                          const int64_t* indptr, int64_t nnz, int64_t n, int64_t d, double* out);

/** lamina_silhouette_samples_csr on float64 data (`const double* data`), computed in float64. */
lamina_status lamina_silhouette_samples_csr_f64(const double* data, const int64_t* indices, const int64_t* indptr,
                                                int64_t nnz, int64_t n, int64_t d, const int32_t* labels,
                                                lamina_distance metric, double* out);
/** lamina_silhouette_score_csr on float64 data (`const double* data`), computed in float64. */
lamina_status lamina_silhouette_score_csr_f64(const double* data, const int64_t* indices, const int64_t* indptr,
                                              int64_t nnz, int64_t n, int64_t d, const int32_t* labels,
                                              lamina_distance metric, double* out);
/** lamina_silhouette_samples_precomputed_csr on float64 data (`const double* data`), computed in float64. */
lamina_status lamina_silhouette_samples_precomputed_csr_f64(const double* data, const int64_t* indices,
                                                            const int64_t* indptr, int64_t nnz, int64_t n, int64_t m,
                                                            const int32_t* labels, double* out);
/** lamina_silhouette_score_precomputed_csr on float64 data (`const double* data`), computed in float64. */
lamina_status lamina_silhouette_score_precomputed_csr_f64(const double* data, const int64_t* indices,
                                                          const int64_t* indptr, int64_t nnz, int64_t n, int64_t m,
                                                          const int32_t* labels, double* out);
/** lamina_davies_bouldin_score_csr on float64 data (`const double* data`), computed in float64. */
lamina_status lamina_davies_bouldin_score_csr_f64(const double* data, const int64_t* indices, const int64_t* indptr,
                                                  int64_t nnz, int64_t n, int64_t d, const int32_t* labels, double* out);
/** lamina_calinski_harabasz_score_csr on float64 data (`const double* data`), computed in float64. */
lamina_status lamina_calinski_harabasz_score_csr_f64(const double* data, const int64_t* indices, const int64_t* indptr,
                                                     int64_t nnz, int64_t n, int64_t d, const int32_t* labels,
                                                     double* out);
/** lamina_xie_beni_index_csr on float64 data (`const double* data`), computed in float64. */
lamina_status lamina_xie_beni_index_csr_f64(const double* data, const int64_t* indices, const int64_t* indptr,
                                            int64_t nnz, int64_t n, int64_t d, const int32_t* labels,
                                            lamina_xie_beni_separation separation, double* out);
/** lamina_kmeans_fit_csr on float64 data (`const double* data`, init_centers), computed in float64. */
lamina_status lamina_kmeans_fit_csr_f64(lamina_kmeans* model, const double* data, const int64_t* indices,
                                        const int64_t* indptr, int64_t nnz, int64_t n, int64_t d,
                                        const double* init_centers, const double* sample_weight);
/** lamina_kmeans_predict_csr on float64 data (`const double* data`), computed in float64. */
lamina_status lamina_kmeans_predict_csr_f64(const lamina_kmeans* model, const double* data, const int64_t* indices,
                                            const int64_t* indptr, int64_t nnz, int64_t n, int64_t d,
                                            int32_t* labels_out, double* sq_dist_out);
/** lamina_kmeans_transform_csr on float64 data (`const double* data`), computed in float64. */
lamina_status lamina_kmeans_transform_csr_f64(const lamina_kmeans* model, const double* data, const int64_t* indices,
                                              const int64_t* indptr, int64_t nnz, int64_t n, int64_t d, double* out);

/** lamina_kmeans_init_centers on CSR rows: the rows lamina_kmeans_fit_csr of this model on the same
 *  rows and weights starts its first restart from (its own seeding: k-means++ with candidate distances
 *  from sparse-sparse products, or random rows; the CSR fit's draws, not the dense fit's), written
 *  dense (absent entries 0): centers_out n_clusters x d values of the data's type, out_len =
 *  n_clusters * d; indices_out NULL or n_clusters int64. sample_weight: n finite doubles >= 0 with a
 *  positive sum, or NULL; equal weights draw as unit weights (as the CSR fit does); with init=random
 *  a row of weight 0 is chosen only when fewer than n_clusters rows have a positive weight. Errors:
 *  those of lamina_kmeans_fit_csr on the rows and weights, params.init LAMINA_KMEANS_INIT_GIVEN,
 *  out_len (LAMINA_ERR_SHAPE_MISMATCH), NULL centers_out. */
lamina_status lamina_kmeans_init_centers_csr(const lamina_kmeans* model, const float* data, const int64_t* indices,
                                             const int64_t* indptr, int64_t nnz, int64_t n, int64_t d,
                                             const double* sample_weight, float* centers_out, int64_t out_len,
                                             int64_t* indices_out);

/** lamina_kmeans_init_centers_csr on float64 data (`const double* data`, centers_out doubles). */
lamina_status lamina_kmeans_init_centers_csr_f64(const lamina_kmeans* model, const double* data, const int64_t* indices,
                                                 const int64_t* indptr, int64_t nnz, int64_t n, int64_t d,
                                                 const double* sample_weight, double* centers_out, int64_t out_len,
                                                 int64_t* indices_out);

#ifdef __cplusplus
}
#endif

#endif /* LAMINA_H */
