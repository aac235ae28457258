/*
 * test_sklearn_options.c -- the C side of scikit-learn's KMeans sample_weight
 * (lamina_kmeans_fit_weighted and its _f64 twin) and mutual information of a given contingency table
 * (lamina_mutual_info_score_contingency): known values and every bad argument.
 */
#include <stdint.h>

#include "check.h"

/* scikit-learn's test_kmeans_results: x = [[0,0],[0.5,0],[0.5,1],[1,1]], weights [3,1,1,3], init
 * [[0,0],[1,1]] -> centers [[0.125,0],[0.875,1]], inertia 0.375, labels [0,0,1,1], 2 iterations. */
static void test_weighted_kmeans(void) {
    const float xf[8] = {0, 0, 0.5f, 0, 0.5f, 1, 1, 1};
    const double xd[8] = {0, 0, 0.5, 0, 0.5, 1, 1, 1};
    const float wf[4] = {3, 1, 1, 3};
    const double wd[4] = {3, 1, 1, 3};
    const float initf[4] = {0, 0, 1, 1};
    const double initd[4] = {0, 0, 1, 1};
    lamina_kmeans_params p = lamina_kmeans_default_params();
    p.n_clusters = 2;
    p.init = LAMINA_KMEANS_INIT_GIVEN;
    lamina_kmeans* m = NULL;
    CHECK(lamina_kmeans_create(&p, &m), LAMINA_OK, NULL);
    double inertia = -1, cd[4] = {0};
    float cf[4] = {0};
    int32_t n_iter = 0, labels[4] = {0};
    CHECK(lamina_kmeans_fit_weighted(m, xf, 4, 2, initf, wf), LAMINA_OK, NULL);
    CHECK(lamina_kmeans_get_info(m, NULL, NULL, NULL, &inertia, &n_iter), LAMINA_OK, NULL);
    expect_near("weighted float32 inertia", inertia, 0.375, 1e-6);
    expect_true("weighted float32 n_iter 2", n_iter == 2);
    CHECK(lamina_kmeans_get_centers(m, cf, 4), LAMINA_OK, NULL);
    expect_near("weighted center 0 x", cf[0], 0.125, 1e-7);
    expect_near("weighted center 1 x", cf[2], 0.875, 1e-7);
    CHECK(lamina_kmeans_get_labels(m, labels, 4), LAMINA_OK, NULL);
    expect_true("weighted labels [0,0,1,1]", labels[0] == 0 && labels[1] == 0 && labels[2] == 1 && labels[3] == 1);
    CHECK(lamina_kmeans_fit_weighted_f64(m, xd, 4, 2, initd, wd), LAMINA_OK, NULL);
    CHECK(lamina_kmeans_get_info(m, NULL, NULL, NULL, &inertia, NULL), LAMINA_OK, NULL);
    expect_near("weighted float64 inertia", inertia, 0.375, 1e-15);
    CHECK(lamina_kmeans_get_centers_f64(m, cd, 4), LAMINA_OK, NULL);
    expect_near("weighted float64 center 0 x", cd[0], 0.125, 1e-15);
    /* NULL weights: unit weights (the unweighted fit) */
    CHECK(lamina_kmeans_fit_weighted_f64(m, xd, 4, 2, initd, NULL), LAMINA_OK, NULL);
    CHECK(lamina_kmeans_get_info(m, NULL, NULL, NULL, &inertia, NULL), LAMINA_OK, NULL);
    expect_near("unit weights inertia", inertia, 0.25, 1e-15);
    /* bad weights */
    const double nan_w[4] = {1, NAN, 1, 1}, inf_w[4] = {1, 1, INFINITY, 1}, neg_w[4] = {1, -1, 1, 1}, zero_w[4] = {0, 0, 0, 0};
    const double huge_w[4] = {1e308, 1e308, 1, 1};
    CHECK(lamina_kmeans_fit_weighted_f64(m, xd, 4, 2, initd, nan_w), LAMINA_ERR_NON_FINITE, "sample_weight[1]");
    CHECK(lamina_kmeans_fit_weighted_f64(m, xd, 4, 2, initd, inf_w), LAMINA_ERR_NON_FINITE, "sample_weight[2]");
    CHECK(lamina_kmeans_fit_weighted_f64(m, xd, 4, 2, initd, neg_w), LAMINA_ERR_INVALID_ARGUMENT, "expected weights >= 0");
    CHECK(lamina_kmeans_fit_weighted_f64(m, xd, 4, 2, initd, zero_w), LAMINA_ERR_INVALID_ARGUMENT, "sums to 0");
    CHECK(lamina_kmeans_fit_weighted_f64(m, xd, 4, 2, initd, huge_w), LAMINA_ERR_INVALID_ARGUMENT, "finite positive sum");
    CHECK(lamina_kmeans_fit_weighted(m, NULL, 4, 2, initf, wf), LAMINA_ERR_INVALID_ARGUMENT, "x is NULL");
    CHECK(lamina_kmeans_fit_weighted(m, xf, 4, 2, NULL, wf), LAMINA_ERR_INVALID_ARGUMENT, "init_centers is NULL");
    CHECK(lamina_kmeans_fit_weighted(NULL, xf, 4, 2, initf, wf), LAMINA_ERR_INVALID_ARGUMENT, NULL);
    lamina_kmeans_free(m);
    /* init=random needs n_clusters samples of positive weight */
    p.init = LAMINA_KMEANS_INIT_RANDOM;
    p.n_clusters = 3;
    CHECK(lamina_kmeans_create(&p, &m), LAMINA_OK, NULL);
    const double two_w[4] = {1, 0, 0, 1};
    CHECK(lamina_kmeans_fit_weighted_f64(m, xd, 4, 2, NULL, two_w), LAMINA_ERR_INVALID_ARGUMENT, "only 2 samples");
    p.init = LAMINA_KMEANS_INIT_PLUSPLUS;
    lamina_kmeans_free(m);
    CHECK(lamina_kmeans_create(&p, &m), LAMINA_OK, NULL);
    CHECK(lamina_kmeans_fit_weighted_f64(m, xd, 4, 2, NULL, two_w), LAMINA_OK, NULL);
    lamina_kmeans_free(m);
}

/* MI of [[2, 1], [0, 3]] (labels_true [0,0,0,1,1,1], labels_pred [0,0,1,1,1,1]) equals
 * lamina_mutual_info_score of those labelings. */
static void test_contingency_mi(void) {
    const int32_t t[6] = {0, 0, 0, 1, 1, 1}, pr[6] = {0, 0, 1, 1, 1, 1};
    double want = -1, got = -2;
    CHECK(lamina_mutual_info_score(t, pr, 6, &want), LAMINA_OK, NULL);
    const int64_t rows[3] = {0, 0, 1}, cols[3] = {0, 1, 1}, counts[3] = {2, 1, 3};
    CHECK(lamina_mutual_info_score_contingency(rows, cols, counts, 3, 2, 2, &got), LAMINA_OK, NULL);
    expect_near("contingency MI = labelings MI", got, want, 1e-15);
    /* duplicates summed: (0,1) given as 1 + 0 and (1,1) as 1 + 2 */
    const int64_t rows2[5] = {1, 0, 0, 1, 0}, cols2[5] = {1, 0, 1, 1, 1}, counts2[5] = {1, 2, 1, 2, 0};
    CHECK(lamina_mutual_info_score_contingency(rows2, cols2, counts2, 5, 2, 2, &got), LAMINA_OK, NULL);
    expect_near("duplicate cells summed", got, want, 1e-15);
    CHECK(lamina_mutual_info_score_contingency(NULL, NULL, NULL, 0, 1, 3, &got), LAMINA_OK, NULL);
    expect_near("empty one-row table", got, 0, 0);
    const int64_t bad_row[1] = {2}, bad_col[1] = {-1}, neg[1] = {-4}, zero[1] = {0}, big[2] = {2000000000, 2000000000};
    const int64_t r2[2] = {0, 1}, c2[2] = {0, 1};
    CHECK(lamina_mutual_info_score_contingency(bad_row, zero, counts, 1, 2, 2, &got), LAMINA_ERR_INVALID_ARGUMENT, "has row 2");
    CHECK(lamina_mutual_info_score_contingency(zero, bad_col, counts, 1, 2, 2, &got), LAMINA_ERR_INVALID_ARGUMENT, "has column -1");
    CHECK(lamina_mutual_info_score_contingency(zero, zero, neg, 1, 2, 2, &got), LAMINA_ERR_INVALID_ARGUMENT, "count -4");
    CHECK(lamina_mutual_info_score_contingency(r2, c2, big, 2, 2, 2, &got), LAMINA_ERR_INVALID_ARGUMENT, "sum to more than");
    CHECK(lamina_mutual_info_score_contingency(NULL, cols, counts, 3, 2, 2, &got), LAMINA_ERR_INVALID_ARGUMENT, "rows is NULL");
    CHECK(lamina_mutual_info_score_contingency(rows, cols, NULL, 3, 2, 2, &got), LAMINA_ERR_INVALID_ARGUMENT, "counts is NULL");
    CHECK(lamina_mutual_info_score_contingency(rows, cols, counts, -1, 2, 2, &got), LAMINA_ERR_INVALID_ARGUMENT, "nnz");
    CHECK(lamina_mutual_info_score_contingency(rows, cols, counts, 3, 0, 2, &got), LAMINA_ERR_INVALID_ARGUMENT, "n_rows");
    CHECK(lamina_mutual_info_score_contingency(rows, cols, counts, 3, 2, 4294967296LL, &got), LAMINA_ERR_INVALID_ARGUMENT, "at most");
    CHECK(lamina_mutual_info_score_contingency(rows, cols, counts, 3, 2, 2, NULL), LAMINA_ERR_INVALID_ARGUMENT, "out is NULL");
}

/* Minkowski silhouette: p = 1 and p = inf equal the manhattan and chebyshev metrics, p = 2 the
 * euclidean one; p <= 0 and NaN refused. verbose log: the lines of a verbose fit. */
static void test_minkowski_and_log(void) {
    const float x[12] = {0, 0, 0, 1, 1, 0, 10, 10, 10, 11, 11, 10};
    const double xd[12] = {0, 0, 0, 1, 1, 0, 10, 10, 10, 11, 11, 10};
    const int32_t labels[6] = {0, 0, 0, 1, 1, 1};
    double a = 0, b = 0, samples[6] = {0};
    CHECK(lamina_silhouette_score_minkowski(x, 6, 2, labels, 1.0, &a), LAMINA_OK, NULL);
    CHECK(lamina_silhouette_score(x, 6, 2, labels, LAMINA_DISTANCE_MANHATTAN, &b), LAMINA_OK, NULL);
    expect_near("minkowski p=1 = manhattan", a, b, 1e-7);
    CHECK(lamina_silhouette_score_minkowski_f64(xd, 6, 2, labels, INFINITY, &a), LAMINA_OK, NULL);
    CHECK(lamina_silhouette_score_f64(xd, 6, 2, labels, LAMINA_DISTANCE_CHEBYSHEV, &b), LAMINA_OK, NULL);
    expect_near("minkowski p=inf = chebyshev", a, b, 1e-15);
    CHECK(lamina_silhouette_samples_minkowski_f64(xd, 6, 2, labels, 2.0, samples), LAMINA_OK, NULL);
    CHECK(lamina_silhouette_score_f64(xd, 6, 2, labels, LAMINA_DISTANCE_EUCLIDEAN, &b), LAMINA_OK, NULL);
    expect_near("minkowski p=2 = euclidean", (samples[0] + samples[1] + samples[2] + samples[3] + samples[4] + samples[5]) / 6, b, 1e-14);
    CHECK(lamina_silhouette_samples_minkowski(x, 6, 2, labels, 0.0, samples), LAMINA_ERR_INVALID_ARGUMENT, "p is 0");
    CHECK(lamina_silhouette_score_minkowski(x, 6, 2, labels, -2.0, &a), LAMINA_ERR_INVALID_ARGUMENT, "expected p > 0");
    CHECK(lamina_silhouette_score_minkowski(x, 6, 2, labels, NAN, &a), LAMINA_ERR_INVALID_ARGUMENT, "expected p > 0");
    CHECK(lamina_silhouette_score_minkowski(NULL, 6, 2, labels, 3.0, &a), LAMINA_ERR_INVALID_ARGUMENT, "x is NULL");
    CHECK(lamina_silhouette_score_minkowski(x, 6, 2, labels, 3.0, NULL), LAMINA_ERR_INVALID_ARGUMENT, "out is NULL");

    lamina_kmeans_params p = lamina_kmeans_default_params();
    expect_true("verbose off by default", p.verbose == 0);
    p.n_clusters = 2;
    p.n_init = 2;
    p.verbose = 1;
    lamina_kmeans* m = NULL;
    CHECK(lamina_kmeans_create(&p, &m), LAMINA_OK, NULL);
    int64_t length = -1;
    CHECK(lamina_kmeans_get_log(m, NULL, 0, &length), LAMINA_OK, NULL);
    expect_true("no log before a fit", length == 0);
    CHECK(lamina_kmeans_fit(m, x, 6, 2, NULL), LAMINA_OK, NULL);
    CHECK(lamina_kmeans_get_log(m, NULL, 0, &length), LAMINA_OK, NULL);
    char text[4096];
    CHECK(lamina_kmeans_get_log(m, text, sizeof text, &length), LAMINA_OK, NULL);
    expect_true("log: two restarts", strstr(text, "Initialization complete\nIteration 0, inertia ") == text
                && strstr(text + 1, "Initialization complete") != NULL && strstr(text, "strict convergence.") != NULL);
    char small[8];
    CHECK(lamina_kmeans_get_log(m, small, sizeof small, &length), LAMINA_OK, NULL);
    expect_true("log truncated with a NUL", strlen(small) == 7 && length > 7);
    CHECK(lamina_kmeans_get_log(m, NULL, 5, &length), LAMINA_ERR_INVALID_ARGUMENT, "out is NULL");
    CHECK(lamina_kmeans_get_log(m, text, -1, &length), LAMINA_ERR_INVALID_ARGUMENT, "capacity");
    CHECK(lamina_kmeans_get_log(m, text, 10, NULL), LAMINA_ERR_INVALID_ARGUMENT, "length is NULL");
    lamina_kmeans_free(m);
    p.verbose = -1;
    CHECK(lamina_kmeans_check_params(&p), LAMINA_ERR_INVALID_ARGUMENT, "params.verbose");
}

int main(void) {
    test_minkowski_and_log();
    test_weighted_kmeans();
    test_contingency_mi();
    return check_summary();
}
