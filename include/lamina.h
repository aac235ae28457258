/*
 * lamina.h -- the C API of Lamina, a toolkit for looking inside neural networks.
 *
 * Lamina takes the hidden representations of a model (activations, embeddings) and answers what
 * interpretability research asks of them: how they cluster, how well they separate labelled classes,
 * how two labelings of them agree. The numerics are Swift; this header is the one contract that every
 * binding (Python, C) uses. It is the spec: each function says what it computes (formula or
 * reference), the shapes of its buffers, its errors and who owns what.
 *
 * Conventions
 *  - Every fallible function returns a lamina_status, LAMINA_OK (0) on success. On failure,
 *    lamina_last_error() returns a message for the last failure on the calling thread that names the
 *    argument, the value received and what was expected.
 *  - Matrices are row-major float32: `const float* x, int64_t n, int64_t d` means n rows (samples) of
 *    d features, size n*d. Labels are int32_t with any values (remapped inside, in ascending order of
 *    value). Outputs are allocated by the caller with the documented sizes.
 *  - Every argument is validated before any work starts: NULL pointers, n or d <= 0, n*d overflow,
 *    NaN/Inf in the data (the message names the first bad row and column), enum values out of range,
 *    label counts, parameters. No input can crash the library.
 *  - Numbers: float32 storage, float64 accumulation; results are deterministic (same inputs, same
 *    seed: bit-identical results for any thread count).
 *  - Threads: stateless functions are safe to call from any thread. A handle (lamina_kmeans*) must be
 *    used by one thread at a time. Lamina's kernels parallelise themselves (lamina_set_num_threads).
 *  - Pairwise metrics never build the n x n distance matrix: they run over tiles of a gemm with fused
 *    reductions, O(n * tile) memory, and only the upper triangle of tiles (symmetry).
 *  - Accuracy of pairwise metrics. Dot products come from a float32 gemm on points centred on their
 *    own class centroid; the large terms (centroid gaps) and every sum are float64; distances whose
 *    square is within rounding of 0 are recomputed exactly, and so is every pair that could be a
 *    minimum or maximum (Dunn, Xie-Beni point-pair), so extremes are exact. Against float64
 *    references: scores within 1e-6 relative (1e-7 absolute for scores that are small differences
 *    of O(1) means, e.g. GDV or a silhouette near 0), per-sample silhouettes within 1e-6 absolute.
 */
#ifndef LAMINA_H
#define LAMINA_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ==================================================================================================
 * Version
 * ================================================================================================ */

#define LAMINA_VERSION_MAJOR 0
#define LAMINA_VERSION_MINOR 1
#define LAMINA_VERSION_PATCH 0
#define LAMINA_VERSION_NUMBER (LAMINA_VERSION_MAJOR * 10000 + LAMINA_VERSION_MINOR * 100 + LAMINA_VERSION_PATCH)

/** The version of the loaded library as MAJOR*10000 + MINOR*100 + PATCH; compare with
 *  LAMINA_VERSION_NUMBER to detect a header/library mismatch. */
int32_t lamina_version_number(void);

/** The version as a static string "MAJOR.MINOR.PATCH". Owned by the library; never free it. */
const char* lamina_version_string(void);

/* ==================================================================================================
 * Status and errors
 * ================================================================================================ */

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
 * Threads
 * ================================================================================================ */

/** Sets how many worker threads Lamina's kernels use (0 = one per online core, the default).
 *  Results do not depend on it. Errors: LAMINA_ERR_INVALID_ARGUMENT if n < 0. */
lamina_status lamina_set_num_threads(int32_t n);

/** The number of worker threads Lamina's kernels use now. */
int32_t lamina_get_num_threads(void);

/* ==================================================================================================
 * Progress of long-running jobs
 *
 * Training functions take an optional callback, called on the calling thread after every step with
 * a report valid only during the call. A non-zero return cancels the job: the function returns
 * LAMINA_ERR_CANCELLED, and the object being trained keeps the state of the last completed step.
 * ================================================================================================ */

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
 * Internal cluster-validity indices (data + labels)
 *
 * All take x (n x d float32, finite) and labels (n int32, any values). Unless stated otherwise the
 * number of distinct labels k must satisfy 2 <= k <= n - 1 (scikit-learn's rule; the message is
 * scikit-learn's: "Number of labels is K. Valid values are 2 to n_samples - 1 (inclusive)").
 * Results are written to *out. Errors: LAMINA_ERR_INVALID_ARGUMENT (NULL pointer, n or d <= 0, bad
 * enum, label count), LAMINA_ERR_NON_FINITE (NaN/Inf in x), LAMINA_ERR_OUT_OF_MEMORY (n*d overflows).
 * ================================================================================================ */

/** Distance used by the silhouette. */
typedef int32_t lamina_distance;
#define LAMINA_DISTANCE_EUCLIDEAN 0      /* ||x - y||_2 */
#define LAMINA_DISTANCE_SQEUCLIDEAN 1    /* ||x - y||_2^2 */
#define LAMINA_DISTANCE_COSINE 2         /* 1 - x.y / (||x|| ||y||), clipped to [0, 2]; a zero row is at distance 1 from every other row */

/** Silhouette coefficient of every sample (Rousseeuw 1987; sklearn.metrics.silhouette_samples):
 *    s(i) = (b(i) - a(i)) / max(a(i), b(i)),
 *  a(i) = mean distance from i to the other members of its cluster, b(i) = min over other clusters of
 *  the mean distance from i to that cluster's members; s(i) = 0 when i's cluster has one member, and
 *  0 where a(i) = b(i) = 0. out: n doubles, in the order of the input rows. */
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

/* ==================================================================================================
 * External indices (two labelings)
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

/* ==================================================================================================
 * k-means
 *
 * Lloyd's algorithm with scikit-learn's semantics (sklearn.cluster.KMeans, algorithm="lloyd"):
 * k-means++ seeding with 2 + floor(ln k) local trials per center (greedy k-means++, Arthur &
 * Vassilvitskii 2007), or k distinct random samples, or given centers; n_init restarts keeping the
 * lowest inertia; an iteration stops the run when no label changes or when the sum of squared center
 * shifts is <= tol * (mean per-feature variance of x); an empty cluster is re-seeded at the point
 * farthest from its center. Inertia = sum of squared distances to the assigned centers (float64).
 * Deterministic for a seed, for any thread count (Lamina's own random generator, one stream per
 * restart: the same seed does not reproduce scikit-learn's numpy draws). The restarts advance in
 * lock-step (one pass over x serves all of them) and Lloyd's steps skip points whose Hamerly bounds
 * (Hamerly 2010) rule out a change; the assignments are plain Lloyd's. A lamina_kmeans handle is used
 * by one thread at a time.
 * ================================================================================================ */

typedef struct lamina_kmeans lamina_kmeans;

typedef int32_t lamina_kmeans_init;
#define LAMINA_KMEANS_INIT_PLUSPLUS 0   /* greedy k-means++ */
#define LAMINA_KMEANS_INIT_RANDOM 1     /* n_clusters distinct samples chosen uniformly */
#define LAMINA_KMEANS_INIT_GIVEN 2      /* centers passed to lamina_kmeans_fit (n_init is then 1) */

typedef struct lamina_kmeans_params {
    int32_t n_clusters;        /* k >= 1 (default 8) */
    lamina_kmeans_init init;   /* default LAMINA_KMEANS_INIT_PLUSPLUS */
    int32_t n_init;            /* restarts >= 1 (default 1, scikit-learn's "auto" for k-means++) */
    int32_t max_iter;          /* >= 1 (default 300) */
    double tol;                /* relative tolerance >= 0 (default 1e-4) */
    uint64_t seed;             /* random seed (default 0) */
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
 *  Errors: not fitted, d mismatch (LAMINA_ERR_SHAPE_MISMATCH), the usual input checks. */
lamina_status lamina_kmeans_predict(const lamina_kmeans* model, const float* x, int64_t n, int64_t d,
                                    int32_t* labels_out);

/** Sizes and scalars of the fit: samples and features fitted on, clusters, inertia and the number of
 *  Lloyd iterations of the best run. Any output may be NULL. Error: not fitted. */
lamina_status lamina_kmeans_result(const lamina_kmeans* model, int64_t* n_samples, int64_t* n_features,
                                   int32_t* n_clusters, double* inertia, int32_t* n_iter);

/** Copies the centers (n_clusters x n_features float32, row-major). out_len must equal
 *  n_clusters * n_features. */
lamina_status lamina_kmeans_centers(const lamina_kmeans* model, float* out, int64_t out_len);

/** Copies the labels of the training samples (n_samples int32). out_len must equal n_samples. */
lamina_status lamina_kmeans_labels(const lamina_kmeans* model, int32_t* out, int64_t out_len);

/* ==================================================================================================
 * HDF5 activation files
 *
 * Read datasets of files written by h5py or any HDF5 writer. Activations: rank-2 (rows x features) or
 * rank-1 datasets of float16, bfloat16, float32, float64 or integers, returned as float32 (16-bit
 * floats are widened in Lamina). Labels: rank-1 integer datasets, returned as int32. The HDF5 library
 * is not thread-safe; Lamina serialises its HDF5 calls. Errors: LAMINA_ERR_IO (file missing or
 * unreadable), LAMINA_ERR_FORMAT (not HDF5, truncated, corrupt, wrong rank or type),
 * LAMINA_ERR_INVALID_ARGUMENT (dataset not found, NULL, rows out of range).
 * ================================================================================================ */

typedef int32_t lamina_dtype;
#define LAMINA_DTYPE_FLOAT16 0
#define LAMINA_DTYPE_BFLOAT16 1
#define LAMINA_DTYPE_FLOAT32 2
#define LAMINA_DTYPE_FLOAT64 3
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
 * Linear probes (issue 3)
 * ================================================================================================ */

/* (linear probes: declarations go here) */

/* ==================================================================================================
 * Structural probes (issue 3)
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
 * stops after 5). The gradient is computed with gemms (P = H B^T; dL/dB = 2 Q^T H with Q the sign
 * coefficients' graph Laplacian times P), loss sums in float64. Deterministic for a seed, for any
 * thread count (the seed does not reproduce torch's random numbers). A handle is used by one thread
 * at a time; the metric functions are stateless.
 * ================================================================================================ */

typedef struct lamina_structural_probe lamina_structural_probe;

typedef int32_t lamina_structural_probe_kind;
#define LAMINA_STRUCTURAL_DISTANCE 0   /* ||B (h_i - h_j)||^2 vs gold tree distances (L x L per item) */
#define LAMINA_STRUCTURAL_DEPTH 1      /* ||B h_i||^2 vs gold tree depths (one per token) */

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
 *  Errors: not fitted, d mismatch, the input checks of _fit, out_len mismatch. */
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
lamina_status lamina_structural_probe_result(const lamina_structural_probe* probe, int64_t* n_features,
                                             int32_t* rank, int32_t* n_epochs, int64_t* n_steps,
                                             double* train_loss, double* dev_loss, int32_t* best_epoch,
                                             double* final_lr);

/** Copies B (rank x n_features float32, row-major; the transpose of the reference's proj).
 *  out_len must equal rank * n_features. Error: not fitted. */
lamina_status lamina_structural_probe_projection(const lamina_structural_probe* probe, float* out,
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
 * AST-Probe (issue 3)
 * ================================================================================================ */

/* (AST-Probe: declarations go here) */

/* ==================================================================================================
 * Sparse autoencoders (issue 4)
 * ================================================================================================ */

/* (sparse autoencoders: declarations go here) */

#ifdef __cplusplus
}
#endif

#endif /* LAMINA_H */
