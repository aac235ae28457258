/*
 * test_sklearn_options.c -- the C side of scikit-learn's KMeans sample_weight
 * (lamina_kmeans_fit_weighted and its _f64 twin, lamina_kmeans_init_centers and its twins) and mutual information of a given contingency table
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

/* lamina_kmeans_init_centers (+ _f64, _csr, _csr_f64): the start of the fit's first restart. Rows of
 * weight 0 are never drawn; the centers are the drawn rows of x; the fit with max_iter = 1 from the
 * same seed takes one Lloyd step from exactly these centers; every bad argument. */
static void test_init_centers(void) {
    /* 8 points: two tight pairs at (0,0) and (10,10), two at (0,10) and (10,0) */
    const double xd[16] = {0, 0, 0, 1, 10, 10, 10, 11, 0, 10, 1, 10, 10, 0, 11, 0};
    float xf[16];
    for (int i = 0; i < 16; i++) xf[i] = (float)xd[i];
    const double wd[8] = {1, 0, 2, 0, 1, 0, 3, 0};
    float wf[8];
    for (int i = 0; i < 8; i++) wf[i] = (float)wd[i];
    lamina_kmeans_params p = lamina_kmeans_default_params();
    p.n_clusters = 4;
    p.n_init = 1;
    p.seed = 11;
    for (int init = LAMINA_KMEANS_INIT_PLUSPLUS; init <= LAMINA_KMEANS_INIT_RANDOM; init++) {
        p.init = init;
        lamina_kmeans* m = NULL;
        CHECK(lamina_kmeans_create(&p, &m), LAMINA_OK, NULL);
        double cd[8] = {0}, again[8] = {0};
        float cf[8] = {0};
        int64_t idx[4] = {-1, -1, -1, -1}, idx32[4] = {-1, -1, -1, -1};
        CHECK(lamina_kmeans_init_centers_f64(m, xd, 8, 2, wd, cd, 8, idx), LAMINA_OK, NULL);
        int even = 1, rows_ok = 1, distinct = 1;
        for (int c = 0; c < 4; c++) {
            even = even && idx[c] >= 0 && idx[c] < 8 && idx[c] % 2 == 0;   /* the rows of positive weight */
            rows_ok = rows_ok && idx[c] >= 0 && idx[c] < 8 && cd[2 * c] == xd[2 * idx[c]] && cd[2 * c + 1] == xd[2 * idx[c] + 1];
            for (int e = 0; e < c; e++) distinct = distinct && idx[c] != idx[e];
        }
        expect_true(init == 0 ? "k-means++: only rows of positive weight drawn" : "random: only rows of positive weight drawn", even);
        expect_true("centers are the drawn rows of x", rows_ok);
        expect_true("drawn rows distinct", distinct);
        CHECK(lamina_kmeans_init_centers_f64(m, xd, 8, 2, wd, again, 8, NULL), LAMINA_OK, NULL);
        expect_true("same seed, same centers (indices_out NULL)", memcmp(cd, again, sizeof cd) == 0);
        CHECK(lamina_kmeans_init_centers(m, xf, 8, 2, wf, cf, 8, idx32), LAMINA_OK, NULL);
        expect_true("float32: rows of x", cf[0] == xf[2 * idx32[0]] && cf[1] == xf[2 * idx32[0] + 1]);
        /* the fit with max_iter = 1 from the same seed: every positive-weight row is its own cluster's
         * only positive weight, so its center stays on the drawn row (zero-weight rows do not move it) */
        lamina_kmeans_params q = p;
        q.max_iter = 1;
        lamina_kmeans* f = NULL;
        CHECK(lamina_kmeans_create(&q, &f), LAMINA_OK, NULL);
        CHECK(lamina_kmeans_fit_weighted_f64(f, xd, 8, 2, NULL, wd), LAMINA_OK, NULL);
        double fitted[8] = {0};
        CHECK(lamina_kmeans_get_centers_f64(f, fitted, 8), LAMINA_OK, NULL);
        expect_true("the fit starts from the same centers", memcmp(fitted, cd, sizeof cd) == 0);
        lamina_kmeans_free(f);
        /* CSR twin (the CSR fit's own seeding): rows of positive weight, dense rows of x */
        const int64_t indptr[9] = {0, 0, 1, 3, 5, 6, 8, 9, 10};
        const int64_t indices[10] = {1, 0, 1, 0, 1, 1, 0, 1, 0, 0};
        const double data[10] = {1, 10, 10, 10, 11, 10, 1, 10, 10, 11};
        float dataf[10];
        for (int i = 0; i < 10; i++) dataf[i] = (float)data[i];
        CHECK(lamina_kmeans_init_centers_csr_f64(m, data, indices, indptr, 10, 8, 2, wd, cd, 8, idx), LAMINA_OK, NULL);
        even = 1, rows_ok = 1;
        for (int c = 0; c < 4; c++) {
            even = even && idx[c] % 2 == 0;
            rows_ok = rows_ok && cd[2 * c] == xd[2 * idx[c]] && cd[2 * c + 1] == xd[2 * idx[c] + 1];
        }
        expect_true("csr: only rows of positive weight drawn", even);
        expect_true("csr: centers are the drawn rows, dense", rows_ok);
        CHECK(lamina_kmeans_init_centers_csr(m, dataf, indices, indptr, 10, 8, 2, wd, cf, 8, idx), LAMINA_OK, NULL);
        /* bad arguments */
        CHECK(lamina_kmeans_init_centers_f64(NULL, xd, 8, 2, wd, cd, 8, idx), LAMINA_ERR_INVALID_ARGUMENT, NULL);
        CHECK(lamina_kmeans_init_centers_f64(m, NULL, 8, 2, wd, cd, 8, idx), LAMINA_ERR_INVALID_ARGUMENT, "x is NULL");
        CHECK(lamina_kmeans_init_centers_f64(m, xd, 0, 2, wd, cd, 8, idx), LAMINA_ERR_INVALID_ARGUMENT, "n is 0");
        CHECK(lamina_kmeans_init_centers_f64(m, xd, 3, 2, NULL, cd, 8, idx), LAMINA_ERR_INVALID_ARGUMENT, "n_samples=3 should be >= n_clusters=4.");
        CHECK(lamina_kmeans_init_centers_f64(m, xd, 8, 2, wd, cd, 7, idx), LAMINA_ERR_SHAPE_MISMATCH, "out_len");
        CHECK(lamina_kmeans_init_centers_f64(m, xd, 8, 2, wd, NULL, 8, idx), LAMINA_ERR_INVALID_ARGUMENT, "centers_out is NULL");
        const double nan_x[16] = {0, 0, 0, 1, 10, NAN, 10, 11, 0, 10, 1, 10, 10, 0, 11, 0};
        CHECK(lamina_kmeans_init_centers_f64(m, nan_x, 8, 2, wd, cd, 8, idx), LAMINA_ERR_NON_FINITE, "row 2, column 1");
        const double neg_w[8] = {1, -1, 1, 1, 1, 1, 1, 1}, nan_w[8] = {1, 1, NAN, 1, 1, 1, 1, 1}, zero_w[8] = {0};
        CHECK(lamina_kmeans_init_centers_f64(m, xd, 8, 2, neg_w, cd, 8, idx), LAMINA_ERR_INVALID_ARGUMENT, "sample_weight[1]");
        CHECK(lamina_kmeans_init_centers_f64(m, xd, 8, 2, nan_w, cd, 8, idx), LAMINA_ERR_NON_FINITE, "sample_weight[2]");
        CHECK(lamina_kmeans_init_centers_f64(m, xd, 8, 2, zero_w, cd, 8, idx), LAMINA_ERR_INVALID_ARGUMENT, "sums to 0");
        CHECK(lamina_kmeans_init_centers_csr_f64(m, data, indices, indptr, 10, 8, 2, neg_w, cd, 8, idx), LAMINA_ERR_INVALID_ARGUMENT, "sample_weight[1]");
        CHECK(lamina_kmeans_init_centers_csr_f64(m, data, indices, NULL, 10, 8, 2, wd, cd, 8, idx), LAMINA_ERR_INVALID_ARGUMENT, "indptr is NULL");
        CHECK(lamina_kmeans_init_centers_csr_f64(m, data, indices, indptr, 10, 8, 2, wd, cd, 9, idx), LAMINA_ERR_SHAPE_MISMATCH, "out_len");
        CHECK(lamina_kmeans_init_centers_csr(m, dataf, indices, indptr, 10, 8, 2, wd, NULL, 8, idx), LAMINA_ERR_INVALID_ARGUMENT, "centers_out is NULL");
        lamina_kmeans_free(m);
    }
    /* init=random: fewer than n_clusters positive weights; init=given: nothing to draw */
    const double two_w[8] = {1, 0, 0, 0, 0, 0, 0, 1};
    double cd[8];
    lamina_kmeans* m = NULL;
    p.init = LAMINA_KMEANS_INIT_RANDOM;
    CHECK(lamina_kmeans_create(&p, &m), LAMINA_OK, NULL);
    CHECK(lamina_kmeans_init_centers_f64(m, xd, 8, 2, two_w, cd, 8, NULL), LAMINA_ERR_INVALID_ARGUMENT, "only 2 samples");
    lamina_kmeans_free(m);
    p.init = LAMINA_KMEANS_INIT_GIVEN;
    CHECK(lamina_kmeans_create(&p, &m), LAMINA_OK, NULL);
    CHECK(lamina_kmeans_init_centers_f64(m, xd, 8, 2, NULL, cd, 8, NULL), LAMINA_ERR_INVALID_ARGUMENT, "LAMINA_KMEANS_INIT_GIVEN");
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
    test_init_centers();
    test_contingency_mi();
    return check_summary();
}
