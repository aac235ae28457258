/*
 * test_capi.c -- the C API of Lamina from plain C11, linked through pkg-config.
 *
 * Happy path of every function on tiny data sets with hand-computed values, the status and a
 * non-empty lamina_last_error() message for every class of bad input (NULL pointers, sizes, NaN/Inf,
 * enums, label counts, k > n, handles, files), lamina_status_string for every code, and the
 * thread-local last error. Prints one line per check and ends with "N passed, M failed"; exits
 * non-zero if anything failed.
 *
 * Usage: test_capi [WORKDIR]   (WORKDIR holds fixture.h5 if it was generated; scratch files go there)
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lamina.h"

#include "check.h"

/* A single size beyond what can be addressed (n = 2^62): lamina.h lists "n*d overflow" under
 * LAMINA_ERR_OUT_OF_MEMORY and "size <= 0" under LAMINA_ERR_INVALID_ARGUMENT, so either is accepted
 * (with a message naming the argument). A product n*d that overflows must be OUT_OF_MEMORY. */
static void expect_huge(const char* what, lamina_status got, const char* needle) {
    expect_status(what, got, got == LAMINA_ERR_OUT_OF_MEMORY ? LAMINA_ERR_OUT_OF_MEMORY : LAMINA_ERR_INVALID_ARGUMENT, needle);
}
#define CHECK_HUGE(call, needle) expect_huge(#call, (call), (needle))

/* --------------------------------------------------------------------------------------------------
 * Data: 1-D, two clusters {0, 1} and {10, 11}; every index is known by hand.
 *   silhouette (euclidean): s = 9.5/10.5, 8.5/9.5, 8.5/9.5, 9.5/10.5
 *   silhouette (sqeuclidean): 109.5/110.5, 89.5/90.5, 89.5/90.5, 109.5/110.5
 *   silhouette (cosine): the zero row is at distance 1 from all: s = 0, -1, 1, 1 -> mean 0.25
 *   Davies-Bouldin = (0.5 + 0.5) / 10 = 0.1;  Calinski-Harabasz = (100 / 1) / (1 / 2) = 200
 *   Dunn: single 9, complete 11, average 10, centroid 10; every diameter is 1
 *   Xie-Beni: W = 1; centroid 1 / (4 * 100); point pair 1 / (4 * 81)
 *   GDV = 0.5 / sqrt(25.25) * (1 - 10) = -4.5 / sqrt(25.25)
 * ------------------------------------------------------------------------------------------------ */
static const float X1[4] = {0, 1, 10, 11};
static const int32_t Y1[4] = {7, 7, -3, -3};  /* any values: -3 is class 0, 7 is class 1 */

/* 2-D, two blobs of three points: k-means must find them. */
static const float X2[12] = {0, 0, 0, 1, 1, 0, 10, 10, 10, 11, 11, 10};

static void test_version_status_threads(void) {
    expect_true("lamina_version_number() == LAMINA_VERSION_NUMBER", lamina_version_number() == LAMINA_VERSION_NUMBER);
    char v[32];
    snprintf(v, sizeof v, "%d.%d.%d", LAMINA_VERSION_MAJOR, LAMINA_VERSION_MINOR, LAMINA_VERSION_PATCH);
    expect_true("lamina_version_string() == \"MAJOR.MINOR.PATCH\"", strcmp(lamina_version_string(), v) == 0);

    static const struct { lamina_status code; const char* name; } names[] = {
        {LAMINA_OK, "ok"}, {LAMINA_ERR_INVALID_ARGUMENT, "invalid argument"},
        {LAMINA_ERR_SHAPE_MISMATCH, "shape mismatch"}, {LAMINA_ERR_NON_FINITE, "non-finite input"},
        {LAMINA_ERR_IO, "I/O error"}, {LAMINA_ERR_FORMAT, "format error"}, {LAMINA_ERR_OUT_OF_MEMORY, "out of memory"},
        {LAMINA_ERR_CANCELLED, "cancelled"}, {LAMINA_ERR_INTERNAL, "internal error"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char* s = lamina_status_string(names[i].code);
        report(s != NULL && strcmp(s, names[i].name) == 0, "lamina_status_string(%d) = \"%s\"", (int)names[i].code, s);
    }
    const lamina_status unknown[] = {-1, 9, 99, INT32_MAX, INT32_MIN};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        const char* s = lamina_status_string(unknown[i]);
        report(s != NULL && strcmp(s, "unknown status") == 0, "lamina_status_string(%d) = \"%s\"", (int)unknown[i], s);
    }

    CHECK(lamina_set_num_threads(1), LAMINA_OK, NULL);
    expect_true("lamina_get_num_threads() == 1 after set 1", lamina_get_num_threads() == 1);
    CHECK(lamina_set_num_threads(0), LAMINA_OK, NULL);
    expect_true("lamina_get_num_threads() >= 1 after set 0", lamina_get_num_threads() >= 1);
    CHECK(lamina_set_num_threads(-1), LAMINA_ERR_INVALID_ARGUMENT, "n is -1");
    /* the message stays until the next failing call; a successful call does not clear it */
    CHECK(lamina_set_num_threads(0), LAMINA_OK, NULL);
    expect_true("last error survives a successful call", strstr(lamina_last_error(), "n is -1") != NULL);
}

static void test_internal_happy(void) {
    double out = 0, s[4];
    const double e0 = 9.5 / 10.5, e1 = 8.5 / 9.5;
    CHECK(lamina_silhouette_samples(X1, 4, 1, Y1, LAMINA_DISTANCE_EUCLIDEAN, s), LAMINA_OK, NULL);
    expect_near("silhouette_samples[0] euclidean", s[0], e0, 1e-6);
    expect_near("silhouette_samples[1] euclidean", s[1], e1, 1e-6);
    expect_near("silhouette_samples[2] euclidean", s[2], e1, 1e-6);
    expect_near("silhouette_samples[3] euclidean", s[3], e0, 1e-6);
    CHECK(lamina_silhouette_score(X1, 4, 1, Y1, LAMINA_DISTANCE_EUCLIDEAN, &out), LAMINA_OK, NULL);
    expect_near("silhouette_score euclidean", out, (e0 + e1) / 2, 1e-6);
    CHECK(lamina_silhouette_score(X1, 4, 1, Y1, LAMINA_DISTANCE_SQEUCLIDEAN, &out), LAMINA_OK, NULL);
    expect_near("silhouette_score sqeuclidean", out, (109.5 / 110.5 + 89.5 / 90.5) / 2, 1e-6);
    CHECK(lamina_silhouette_samples(X1, 4, 1, Y1, LAMINA_DISTANCE_COSINE, s), LAMINA_OK, NULL);
    expect_near("silhouette_samples[0] cosine (zero row)", s[0], 0, 1e-6);
    expect_near("silhouette_samples[1] cosine", s[1], -1, 1e-6);
    expect_near("silhouette_samples[2] cosine", s[2], 1, 1e-6);
    CHECK(lamina_silhouette_score(X1, 4, 1, Y1, LAMINA_DISTANCE_COSINE, &out), LAMINA_OK, NULL);
    expect_near("silhouette_score cosine", out, 0.25, 1e-6);
    CHECK(lamina_davies_bouldin_score(X1, 4, 1, Y1, &out), LAMINA_OK, NULL);
    expect_near("davies_bouldin_score", out, 0.1, 1e-9);
    CHECK(lamina_calinski_harabasz_score(X1, 4, 1, Y1, &out), LAMINA_OK, NULL);
    expect_near("calinski_harabasz_score", out, 200, 1e-6);
    const double dunn_by_linkage[4] = {9, 11, 10, 10};
    for (lamina_linkage l = 0; l <= LAMINA_LINKAGE_CENTROID; l++) {
        for (lamina_diameter dm = 0; dm <= LAMINA_DIAMETER_CENTROID; dm++) {
            char what[64];
            snprintf(what, sizeof what, "dunn_index linkage=%d diameter=%d", (int)l, (int)dm);
            expect_status(what, lamina_dunn_index(X1, 4, 1, Y1, l, dm, &out), LAMINA_OK, NULL);
            expect_near(what, out, dunn_by_linkage[l], 1e-5);
        }
    }
    CHECK(lamina_xie_beni_index(X1, 4, 1, Y1, LAMINA_XIE_BENI_CENTROID, &out), LAMINA_OK, NULL);
    expect_near("xie_beni_index centroid", out, 1.0 / 400, 1e-9);
    CHECK(lamina_xie_beni_index(X1, 4, 1, Y1, LAMINA_XIE_BENI_POINT_PAIR, &out), LAMINA_OK, NULL);
    expect_near("xie_beni_index point_pair", out, 1.0 / 324, 1e-8);
    CHECK(lamina_gdv(X1, 4, 1, Y1, &out), LAMINA_OK, NULL);
    expect_near("gdv", out, -4.5 / sqrt(25.25), 1e-6);
}

static void test_internal_bad(void) {
    double out = 0;
    float bad[8] = {0, 1, 10, 11, 0, 1, 10, 11};
    const int32_t one[4] = {5, 5, 5, 5}, distinct[4] = {INT32_MIN, -1, 0, INT32_MAX};

    /* NULL pointers */
    CHECK(lamina_silhouette_score(NULL, 4, 1, Y1, 0, &out), LAMINA_ERR_INVALID_ARGUMENT, "x is NULL");
    CHECK(lamina_silhouette_score(X1, 4, 1, NULL, 0, &out), LAMINA_ERR_INVALID_ARGUMENT, "labels is NULL");
    CHECK(lamina_silhouette_score(X1, 4, 1, Y1, 0, NULL), LAMINA_ERR_INVALID_ARGUMENT, "out is NULL");
    CHECK(lamina_silhouette_samples(X1, 4, 1, Y1, 0, NULL), LAMINA_ERR_INVALID_ARGUMENT, "out is NULL");
    CHECK(lamina_davies_bouldin_score(NULL, 4, 1, Y1, &out), LAMINA_ERR_INVALID_ARGUMENT, "x is NULL");
    CHECK(lamina_calinski_harabasz_score(X1, 4, 1, NULL, &out), LAMINA_ERR_INVALID_ARGUMENT, "labels is NULL");
    CHECK(lamina_dunn_index(X1, 4, 1, Y1, 0, 0, NULL), LAMINA_ERR_INVALID_ARGUMENT, "out is NULL");
    CHECK(lamina_xie_beni_index(NULL, 4, 1, Y1, 0, &out), LAMINA_ERR_INVALID_ARGUMENT, "x is NULL");
    CHECK(lamina_gdv(X1, 4, 1, Y1, NULL), LAMINA_ERR_INVALID_ARGUMENT, "out is NULL");

    /* sizes */
    CHECK(lamina_silhouette_score(X1, 0, 1, Y1, 0, &out), LAMINA_ERR_INVALID_ARGUMENT, "n is 0");
    CHECK(lamina_davies_bouldin_score(X1, -1, 1, Y1, &out), LAMINA_ERR_INVALID_ARGUMENT, "n is -1");
    CHECK(lamina_calinski_harabasz_score(X1, 4, 0, Y1, &out), LAMINA_ERR_INVALID_ARGUMENT, "d is 0");
    CHECK(lamina_gdv(X1, 4, -5, Y1, &out), LAMINA_ERR_INVALID_ARGUMENT, "d is -5");
    CHECK_HUGE(lamina_dunn_index(X1, INT64_C(1) << 62, 1, Y1, 0, 0, &out), "n is");
    CHECK(lamina_xie_beni_index(X1, INT64_C(1) << 31, INT64_C(1) << 33, Y1, 0, &out), LAMINA_ERR_OUT_OF_MEMORY, "overflows");
    CHECK_HUGE(lamina_silhouette_score(X1, 4, INT64_MAX, Y1, 0, &out), "d is");

    /* NaN / Inf: the message names the first bad row and column */
    bad[5] = NAN;  /* 4 x 2: row 2, column 1 */
    CHECK(lamina_silhouette_score(bad, 4, 2, Y1, 0, &out), LAMINA_ERR_NON_FINITE, "row 2, column 1");
    bad[5] = 1; bad[6] = INFINITY; /* row 3, column 0 */
    CHECK(lamina_davies_bouldin_score(bad, 4, 2, Y1, &out), LAMINA_ERR_NON_FINITE, "row 3, column 0");
    bad[6] = 10; bad[0] = -INFINITY;
    CHECK(lamina_gdv(bad, 4, 2, Y1, &out), LAMINA_ERR_NON_FINITE, "-inf at row 0, column 0");
    bad[0] = 0;

    /* enums */
    CHECK(lamina_silhouette_score(X1, 4, 1, Y1, -1, &out), LAMINA_ERR_INVALID_ARGUMENT, "metric is -1");
    CHECK(lamina_silhouette_samples(X1, 4, 1, Y1, 99, &out), LAMINA_ERR_INVALID_ARGUMENT, "metric is 99");
    CHECK(lamina_dunn_index(X1, 4, 1, Y1, -1, 0, &out), LAMINA_ERR_INVALID_ARGUMENT, "linkage is -1");
    CHECK(lamina_dunn_index(X1, 4, 1, Y1, 99, 0, &out), LAMINA_ERR_INVALID_ARGUMENT, "linkage is 99");
    CHECK(lamina_dunn_index(X1, 4, 1, Y1, 0, -1, &out), LAMINA_ERR_INVALID_ARGUMENT, "diameter is -1");
    CHECK(lamina_dunn_index(X1, 4, 1, Y1, 0, 99, &out), LAMINA_ERR_INVALID_ARGUMENT, "diameter is 99");
    CHECK(lamina_xie_beni_index(X1, 4, 1, Y1, -1, &out), LAMINA_ERR_INVALID_ARGUMENT, "separation is -1");
    CHECK(lamina_xie_beni_index(X1, 4, 1, Y1, 99, &out), LAMINA_ERR_INVALID_ARGUMENT, "separation is 99");

    /* label counts (scikit-learn's message) */
    CHECK(lamina_silhouette_score(X1, 4, 1, one, 0, &out), LAMINA_ERR_INVALID_ARGUMENT,
          "Number of labels is 1. Valid values are 2 to n_samples - 1 (inclusive)");
    CHECK(lamina_calinski_harabasz_score(X1, 4, 1, distinct, &out), LAMINA_ERR_INVALID_ARGUMENT, "Number of labels is 4");
    CHECK(lamina_gdv(X1, 4, 1, one, &out), LAMINA_ERR_INVALID_ARGUMENT, "1 distinct class");
    CHECK(lamina_gdv(X1, 4, 1, distinct, &out), LAMINA_ERR_INVALID_ARGUMENT, "1 sample");
}

/* The float64 twins: the same values as the float32 forms on X1 (exact to float64 rounding), the same
 * checks and messages. */
static void test_internal_f64(void) {
    static const double X1d[4] = {0, 1, 10, 11};
    double out = 0, s[4] = {0};
    double bad[8] = {0, 1, 10, 11, 0, 1, 10, 11};
    const int32_t one[4] = {5, 5, 5, 5};
    const double e0 = 1 - 1.0 / 10.5, e1 = 1 - 1.0 / 9.5;   /* s = (b - a) / b: a = 1, b = 10.5 (x = 0), 9.5 (x = 1) */
    CHECK(lamina_silhouette_samples_f64(X1d, 4, 1, Y1, LAMINA_DISTANCE_EUCLIDEAN, s), LAMINA_OK, NULL);
    expect_near("f64 silhouette_samples[0]", s[0], e0, 1e-15);
    expect_near("f64 silhouette_samples[1]", s[1], e1, 1e-15);
    /* in one dimension manhattan and chebyshev are the euclidean distance */
    CHECK(lamina_silhouette_samples_f64(X1d, 4, 1, Y1, LAMINA_DISTANCE_MANHATTAN, s), LAMINA_OK, NULL);
    expect_near("f64 silhouette_samples[0] manhattan", s[0], e0, 1e-15);
    CHECK(lamina_silhouette_samples(X1, 4, 1, Y1, LAMINA_DISTANCE_CHEBYSHEV, s), LAMINA_OK, NULL);
    expect_near("silhouette_samples[1] chebyshev", s[1], e1, 1e-15);
    CHECK(lamina_silhouette_score_f64(X1d, 4, 1, Y1, LAMINA_DISTANCE_SQEUCLIDEAN, &out), LAMINA_OK, NULL);
    expect_near("f64 silhouette_score sqeuclidean", out, (109.5 / 110.5 + 89.5 / 90.5) / 2, 1e-15);
    CHECK(lamina_davies_bouldin_score_f64(X1d, 4, 1, Y1, &out), LAMINA_OK, NULL);
    expect_near("f64 davies_bouldin_score", out, 0.1, 1e-15);
    CHECK(lamina_calinski_harabasz_score_f64(X1d, 4, 1, Y1, &out), LAMINA_OK, NULL);
    expect_near("f64 calinski_harabasz_score", out, 200, 1e-12);
    CHECK(lamina_dunn_index_f64(X1d, 4, 1, Y1, LAMINA_LINKAGE_SINGLE, LAMINA_DIAMETER_MAX, &out), LAMINA_OK, NULL);
    expect_near("f64 dunn_index", out, 9, 1e-15);
    CHECK(lamina_xie_beni_index_f64(X1d, 4, 1, Y1, LAMINA_XIE_BENI_POINT_PAIR, &out), LAMINA_OK, NULL);
    expect_near("f64 xie_beni_index point_pair", out, 1.0 / 324, 1e-15);
    CHECK(lamina_gdv_f64(X1d, 4, 1, Y1, &out), LAMINA_OK, NULL);
    expect_near("f64 gdv", out, -4.5 / sqrt(25.25), 1e-14);

    {   /* float32 x is computed in float64: the float32 form equals the float64 form on the same values,
         * also where b - a cancels (random values 7 +- 2.5, three overlapping classes) */
        enum { N = 300, D = 5 };
        static float xf[N * D];
        static double xd[N * D], sf[N], sd[N];
        static int32_t lab[N];
        uint32_t state = 12345;
        double worst = 0;
        for (int i = 0; i < N * D; i++) {
            state = state * 1664525u + 1013904223u;
            xf[i] = (float)(7.0 + 5.0 * ((double)(state >> 8) / 16777216.0 - 0.5));
            xd[i] = xf[i];
        }
        for (int i = 0; i < N; i++) lab[i] = (int32_t)((i * 7) % 3);
        CHECK(lamina_silhouette_samples(xf, N, D, lab, LAMINA_DISTANCE_EUCLIDEAN, sf), LAMINA_OK, NULL);
        CHECK(lamina_silhouette_samples_f64(xd, N, D, lab, LAMINA_DISTANCE_EUCLIDEAN, sd), LAMINA_OK, NULL);
        for (int i = 0; i < N; i++) {
            double r = fabs(sf[i] - sd[i]) / fmax(fabs(sd[i]), 1e-300);
            if (r > worst) worst = r;
        }
        report(worst <= 1e-10, "float32 silhouette = float64 silhouette of the same values (worst relative %.3g)", worst);
    }

    CHECK(lamina_silhouette_score_f64(NULL, 4, 1, Y1, 0, &out), LAMINA_ERR_INVALID_ARGUMENT, "x is NULL");
    CHECK(lamina_davies_bouldin_score_f64(X1d, 4, 1, NULL, &out), LAMINA_ERR_INVALID_ARGUMENT, "labels is NULL");
    CHECK(lamina_gdv_f64(X1d, 4, 1, Y1, NULL), LAMINA_ERR_INVALID_ARGUMENT, "out is NULL");
    CHECK(lamina_calinski_harabasz_score_f64(X1d, 4, 0, Y1, &out), LAMINA_ERR_INVALID_ARGUMENT, "d is 0");
    CHECK(lamina_xie_beni_index_f64(X1d, INT64_C(1) << 31, INT64_C(1) << 33, Y1, 0, &out), LAMINA_ERR_OUT_OF_MEMORY, "overflows");
    bad[5] = NAN;
    CHECK(lamina_silhouette_samples_f64(bad, 4, 2, Y1, 0, s), LAMINA_ERR_NON_FINITE, "row 2, column 1");
    bad[5] = 1; bad[0] = -INFINITY;
    CHECK(lamina_dunn_index_f64(bad, 4, 2, Y1, 0, 0, &out), LAMINA_ERR_NON_FINITE, "-inf at row 0, column 0");
    CHECK(lamina_silhouette_score_f64(X1d, 4, 1, Y1, 99, &out), LAMINA_ERR_INVALID_ARGUMENT, "metric is 99");
    CHECK(lamina_dunn_index_f64(X1d, 4, 1, Y1, 0, -1, &out), LAMINA_ERR_INVALID_ARGUMENT, "diameter is -1");
    CHECK(lamina_calinski_harabasz_score_f64(X1d, 4, 1, one, &out), LAMINA_ERR_INVALID_ARGUMENT,
          "Number of labels is 1. Valid values are 2 to n_samples - 1 (inclusive)");
}

/* Silhouette from a precomputed distance matrix: values and scikit-learn's checks. */
static void test_silhouette_precomputed(void) {
    const float D[16] = {0, 1, 5, 6, 1, 0, 4, 5, 5, 4, 0, 1, 6, 5, 1, 0};
    const double Dd[16] = {0, 1, 5, 6, 1, 0, 4, 5, 5, 4, 0, 1, 6, 5, 1, 0};
    const int32_t y[4] = {3, 3, 7, 7};
    double s[4] = {0}, out = 0;
    float bad[16];
    memcpy(bad, D, sizeof bad);
    CHECK(lamina_silhouette_samples_precomputed(D, 4, 4, y, s), LAMINA_OK, NULL);
    expect_near("precomputed s[0] = 1 - 1/5.5", s[0], 1 - 1 / 5.5, 1e-15);
    expect_near("precomputed s[1] = 1 - 1/4.5", s[1], 1 - 1 / 4.5, 1e-15);
    CHECK(lamina_silhouette_score_precomputed_f64(Dd, 4, 4, y, &out), LAMINA_OK, NULL);
    expect_near("precomputed f64 score", out, 1 - (1 / 5.5 + 1 / 4.5) / 2, 1e-15);
    const double R[12] = {0, 1, 5, 1, 0, 4, 5, 4, 0, 6, 5, 1};   /* 4 x 3, zero diagonal */
    CHECK(lamina_silhouette_samples_precomputed_f64(R, 4, 3, y, s), LAMINA_ERR_SHAPE_MISMATCH, "Got (4, 3) for 4 indexed");
    bad[10] = 0.5f;
    CHECK(lamina_silhouette_score_precomputed(bad, 4, 4, y, &out), LAMINA_ERR_INVALID_ARGUMENT, "non-zero elements on the diagonal");
    bad[10] = 0; bad[3] = -1;
    CHECK(lamina_silhouette_samples_precomputed(bad, 4, 4, y, s), LAMINA_ERR_INVALID_ARGUMENT, "Negative values");
    CHECK(lamina_silhouette_samples_precomputed(NULL, 4, 4, y, s), LAMINA_ERR_INVALID_ARGUMENT, "dist is NULL");
}

static void test_external(void) {
    const int32_t t[6] = {0, 0, 1, 1, 2, 2}, p[6] = {5, 5, 7, 7, 9, 9};
    const int32_t a[4] = {0, 0, 1, 1}, b[4] = {0, 1, 0, 1};
    double out = -1, h = -1, c = -1, v = -1;
    int64_t rows = -1, cols = -1, table[9];

    CHECK(lamina_adjusted_rand_score(t, p, 6, &out), LAMINA_OK, NULL);
    expect_near("adjusted_rand_score (same partition)", out, 1, 0);
    CHECK(lamina_rand_score(t, p, 6, &out), LAMINA_OK, NULL);
    expect_near("rand_score (same partition)", out, 1, 0);
    CHECK(lamina_mutual_info_score(t, p, 6, &out), LAMINA_OK, NULL);
    expect_near("mutual_info_score = ln 3", out, log(3.0), 1e-12);
    for (lamina_average_method m = 0; m <= LAMINA_AVERAGE_MAX; m++) {
        char what[64];
        snprintf(what, sizeof what, "normalized_mutual_info_score average=%d", (int)m);
        expect_status(what, lamina_normalized_mutual_info_score(t, p, 6, m, &out), LAMINA_OK, NULL);
        expect_near(what, out, 1, 1e-12);
        snprintf(what, sizeof what, "adjusted_mutual_info_score average=%d", (int)m);
        expect_status(what, lamina_adjusted_mutual_info_score(t, p, 6, m, &out), LAMINA_OK, NULL);
        expect_near(what, out, 1, 1e-12);
    }
    CHECK(lamina_fowlkes_mallows_score(t, p, 6, &out), LAMINA_OK, NULL);
    expect_near("fowlkes_mallows_score (same partition)", out, 1, 1e-12);
    CHECK(lamina_homogeneity_completeness_v_measure(t, p, 6, 1.0, &h, &c, &v), LAMINA_OK, NULL);
    expect_true("homogeneity = completeness = v_measure = 1", fabs(h - 1) < 1e-12 && fabs(c - 1) < 1e-12 && fabs(v - 1) < 1e-12);
    CHECK(lamina_contingency_shape(t, p, 6, &rows, &cols), LAMINA_OK, NULL);
    expect_true("contingency_shape = 3 x 3", rows == 3 && cols == 3);
    CHECK(lamina_contingency_matrix(t, p, 6, table, 9), LAMINA_OK, NULL);
    expect_true("contingency_matrix = 2 * identity", table[0] == 2 && table[4] == 2 && table[8] == 2 && table[1] == 0 && table[3] == 0);

    /* independent labelings: ARI = -0.5, RI = 1/3, MI = NMI = FMI = 0 */
    CHECK(lamina_adjusted_rand_score(a, b, 4, &out), LAMINA_OK, NULL);
    expect_near("adjusted_rand_score (independent)", out, -0.5, 1e-12);
    CHECK(lamina_rand_score(a, b, 4, &out), LAMINA_OK, NULL);
    expect_near("rand_score (independent)", out, 1.0 / 3, 1e-12);
    CHECK(lamina_mutual_info_score(a, b, 4, &out), LAMINA_OK, NULL);
    expect_near("mutual_info_score (independent)", out, 0, 1e-12);
    CHECK(lamina_normalized_mutual_info_score(a, b, 4, LAMINA_AVERAGE_ARITHMETIC, &out), LAMINA_OK, NULL);
    expect_near("normalized_mutual_info_score (independent)", out, 0, 1e-12);
    CHECK(lamina_fowlkes_mallows_score(a, b, 4, &out), LAMINA_OK, NULL);
    expect_near("fowlkes_mallows_score (independent)", out, 0, 0);
    CHECK(lamina_contingency_matrix(a, b, 4, table, 4), LAMINA_OK, NULL);
    expect_true("contingency_matrix (independent) = all ones", table[0] == 1 && table[1] == 1 && table[2] == 1 && table[3] == 1);

    /* empty labelings: NULL allowed with n = 0, scikit-learn's values */
    CHECK(lamina_adjusted_rand_score(NULL, NULL, 0, &out), LAMINA_OK, NULL);
    expect_near("adjusted_rand_score (empty)", out, 1, 0);
    CHECK(lamina_normalized_mutual_info_score(NULL, NULL, 0, LAMINA_AVERAGE_ARITHMETIC, &out), LAMINA_OK, NULL);
    expect_near("normalized_mutual_info_score (empty)", out, 1, 0);
    CHECK(lamina_contingency_shape(NULL, NULL, 0, &rows, &cols), LAMINA_OK, NULL);
    expect_true("contingency_shape (empty) = 0 x 0", rows == 0 && cols == 0);
    CHECK(lamina_contingency_matrix(NULL, NULL, 0, NULL, 0), LAMINA_OK, NULL);
    CHECK(lamina_homogeneity_completeness_v_measure(t, p, 6, 0.5, NULL, NULL, NULL), LAMINA_OK, NULL);

    /* bad input */
    CHECK(lamina_adjusted_rand_score(NULL, p, 6, &out), LAMINA_ERR_INVALID_ARGUMENT, "labels_true is NULL");
    CHECK(lamina_rand_score(t, NULL, 6, &out), LAMINA_ERR_INVALID_ARGUMENT, "labels_pred is NULL");
    CHECK(lamina_mutual_info_score(t, p, 6, NULL), LAMINA_ERR_INVALID_ARGUMENT, "out is NULL");
    CHECK(lamina_fowlkes_mallows_score(t, p, -1, &out), LAMINA_ERR_INVALID_ARGUMENT, "n is -1");
    CHECK_HUGE(lamina_adjusted_rand_score(t, p, INT64_C(1) << 62, &out), "n is");
    CHECK(lamina_normalized_mutual_info_score(t, p, 6, -1, &out), LAMINA_ERR_INVALID_ARGUMENT, "average is -1");
    CHECK(lamina_adjusted_mutual_info_score(t, p, 6, 99, &out), LAMINA_ERR_INVALID_ARGUMENT, "average is 99");
    CHECK(lamina_contingency_shape(t, p, 6, NULL, &cols), LAMINA_ERR_INVALID_ARGUMENT, "n_classes is NULL");
    CHECK(lamina_contingency_shape(t, p, 6, &rows, NULL), LAMINA_ERR_INVALID_ARGUMENT, "n_clusters is NULL");
    CHECK(lamina_contingency_matrix(t, p, 6, table, 8), LAMINA_ERR_SHAPE_MISMATCH, "out_len");
    CHECK(lamina_contingency_matrix(t, p, 6, table, -1), LAMINA_ERR_SHAPE_MISMATCH, "out_len");
    CHECK(lamina_contingency_matrix(t, p, 6, NULL, 9), LAMINA_ERR_INVALID_ARGUMENT, "out is NULL");
    CHECK(lamina_homogeneity_completeness_v_measure(t, p, 6, -1.0, &h, &c, &v), LAMINA_ERR_INVALID_ARGUMENT, "beta is");
    CHECK(lamina_homogeneity_completeness_v_measure(t, p, 6, NAN, &h, &c, &v), LAMINA_ERR_INVALID_ARGUMENT, "beta is");
    CHECK(lamina_homogeneity_completeness_v_measure(t, p, 6, INFINITY, &h, &c, &v), LAMINA_ERR_INVALID_ARGUMENT, "beta is");
}

/* The float64 twins of k-means: a float64 fit (float64 centers and inertia), predict from both
 * precisions, and the checks. */
static void test_kmeans_f64(void) {
    static const double X2d[12] = {0, 0, 0, 1, 1, 0, 10, 10, 10, 11, 11, 10};
    const float X2f[12] = {0, 0, 0, 1, 1, 0, 10, 10, 10, 11, 11, 10};
    lamina_kmeans_params p = lamina_kmeans_default_params();
    p.n_clusters = 2;
    p.init = LAMINA_KMEANS_INIT_GIVEN;
    lamina_kmeans* m = NULL;
    const double given[4] = {0, 0, 10, 10};
    double centers[4] = {0}, inertia = -1;
    int32_t labels[6] = {0}, precision = 0;
    CHECK(lamina_kmeans_create(&p, &m), LAMINA_OK, NULL);
    CHECK(lamina_kmeans_get_precision(m, &precision), LAMINA_ERR_INVALID_ARGUMENT, "not fitted");
    CHECK(lamina_kmeans_fit_f64(m, X2d, 6, 2, NULL), LAMINA_ERR_INVALID_ARGUMENT, "init_centers is NULL");
    CHECK(lamina_kmeans_fit_f64(m, X2d, 6, 2, given), LAMINA_OK, NULL);
    CHECK(lamina_kmeans_get_precision(m, &precision), LAMINA_OK, NULL);
    expect_true("float64 fit: precision 64", precision == 64);
    CHECK(lamina_kmeans_get_info(m, NULL, NULL, NULL, &inertia, NULL), LAMINA_OK, NULL);
    expect_near("float64 kmeans inertia = 8/3", inertia, 8.0 / 3, 1e-15);
    CHECK(lamina_kmeans_get_centers_f64(m, centers, 4), LAMINA_OK, NULL);
    expect_near("float64 center 0 = 1/3", centers[0], 1.0 / 3, 1e-14);
    expect_near("float64 center 1 = 31/3", centers[3], 31.0 / 3, 1e-13);
    CHECK(lamina_kmeans_get_centers_f64(m, centers, 3), LAMINA_ERR_SHAPE_MISMATCH, "out_len");
    CHECK(lamina_kmeans_predict_f64(m, X2d, 6, 2, labels), LAMINA_OK, NULL);
    expect_true("float64 predict: the two blobs", labels[0] == 0 && labels[2] == 0 && labels[3] == 1 && labels[5] == 1);
    CHECK(lamina_kmeans_predict(m, X2f, 6, 2, labels), LAMINA_OK, NULL);
    expect_true("float32 rows on a float64 model", labels[1] == 0 && labels[4] == 1);
    CHECK(lamina_kmeans_predict_f64(m, NULL, 6, 2, labels), LAMINA_ERR_INVALID_ARGUMENT, "x is NULL");
    CHECK(lamina_kmeans_predict_f64(m, X2d, 6, 3, labels), LAMINA_ERR_SHAPE_MISMATCH, "fitted with 2");
    CHECK(lamina_kmeans_set_centers_f64(m, given, 3, 2), LAMINA_ERR_SHAPE_MISMATCH, "n_clusters is 3");
    CHECK(lamina_kmeans_set_centers_f64(m, given, 2, 2), LAMINA_OK, NULL);
    lamina_kmeans_free(m);
}

static void test_kmeans(void) {
    lamina_kmeans_params p = lamina_kmeans_default_params();
    expect_true("default params (8, k-means++, 1, 300, 1e-4, 0)",
                p.n_clusters == 8 && p.init == LAMINA_KMEANS_INIT_PLUSPLUS && p.n_init == 1 && p.max_iter == 300 &&
                p.tol == 1e-4 && p.seed == 0);
    CHECK(lamina_kmeans_check_params(&p), LAMINA_OK, NULL);

    for (lamina_kmeans_init init = LAMINA_KMEANS_INIT_PLUSPLUS; init <= LAMINA_KMEANS_INIT_GIVEN; init++) {
        lamina_kmeans* m = NULL;
        char what[96];
        p = lamina_kmeans_default_params();
        p.n_clusters = 2;
        p.init = init;
        p.n_init = init == LAMINA_KMEANS_INIT_RANDOM ? 5 : 1;
        p.seed = 42;
        const float given[4] = {0, 0, 10, 10};
        snprintf(what, sizeof what, "kmeans (init=%d) create", (int)init);
        expect_status(what, lamina_kmeans_create(&p, &m), LAMINA_OK, NULL);
        snprintf(what, sizeof what, "kmeans (init=%d) fit", (int)init);
        expect_status(what, lamina_kmeans_fit(m, X2, 6, 2, init == LAMINA_KMEANS_INIT_GIVEN ? given : NULL), LAMINA_OK, NULL);
        int64_t n = 0, d = 0;
        int32_t k = 0, iters = 0, labels[6] = {0};
        double inertia = -1;
        CHECK(lamina_kmeans_get_info(m, &n, &d, &k, &inertia, &iters), LAMINA_OK, NULL);
        expect_true("kmeans result: n = 6, d = 2, k = 2, n_iter >= 1", n == 6 && d == 2 && k == 2 && iters >= 1);
        expect_near("kmeans inertia = 8/3", inertia, 8.0 / 3, 1e-5);
        CHECK(lamina_kmeans_get_labels(m, labels, 6), LAMINA_OK, NULL);
        expect_true("kmeans labels: the two blobs",
                    labels[0] == labels[1] && labels[1] == labels[2] && labels[3] == labels[4] &&
                    labels[4] == labels[5] && labels[0] != labels[3]);
        float centers[4];
        CHECK(lamina_kmeans_get_centers(m, centers, 4), LAMINA_OK, NULL);
        int lo = labels[0], hi = labels[3];
        expect_true("kmeans centers = blob means (1/3, 1/3) and (31/3, 31/3)",
                    fabsf(centers[2 * lo] - 1.0f / 3) < 1e-5f && fabsf(centers[2 * lo + 1] - 1.0f / 3) < 1e-5f &&
                    fabsf(centers[2 * hi] - 31.0f / 3) < 1e-5f && fabsf(centers[2 * hi + 1] - 31.0f / 3) < 1e-5f);
        const float q[4] = {0.2f, 0.3f, 10.4f, 10.6f};
        int32_t pred[2] = {-1, -1};
        CHECK(lamina_kmeans_predict(m, q, 2, 2, pred), LAMINA_OK, NULL);
        expect_true("kmeans predict: nearest centers", pred[0] == lo && pred[1] == hi);
        lamina_kmeans_free(m);
    }
}

static void test_kmeans_bad(void) {
    lamina_kmeans_params p = lamina_kmeans_default_params();
    lamina_kmeans* m = NULL;
    float bad[12];
    memcpy(bad, X2, sizeof bad);

    CHECK(lamina_kmeans_check_params(NULL), LAMINA_ERR_INVALID_ARGUMENT, "params is NULL");
    CHECK(lamina_kmeans_create(NULL, &m), LAMINA_ERR_INVALID_ARGUMENT, "params is NULL");
    CHECK(lamina_kmeans_create(&p, NULL), LAMINA_ERR_INVALID_ARGUMENT, "out is NULL");
    p.n_clusters = 0;
    CHECK(lamina_kmeans_check_params(&p), LAMINA_ERR_INVALID_ARGUMENT, "n_clusters is 0");
    p.n_clusters = -1;
    CHECK(lamina_kmeans_create(&p, &m), LAMINA_ERR_INVALID_ARGUMENT, "n_clusters is -1");
    expect_true("a failed create leaves *out NULL", m == NULL);
    p = lamina_kmeans_default_params(); p.init = -1;
    CHECK(lamina_kmeans_check_params(&p), LAMINA_ERR_INVALID_ARGUMENT, "params.init is -1");
    p.init = 99;
    CHECK(lamina_kmeans_create(&p, &m), LAMINA_ERR_INVALID_ARGUMENT, "params.init is 99");
    p = lamina_kmeans_default_params(); p.n_init = 0;
    CHECK(lamina_kmeans_check_params(&p), LAMINA_ERR_INVALID_ARGUMENT, "n_init is 0");
    p = lamina_kmeans_default_params(); p.max_iter = 0;
    CHECK(lamina_kmeans_check_params(&p), LAMINA_ERR_INVALID_ARGUMENT, "max_iter is 0");
    p = lamina_kmeans_default_params(); p.tol = -1e-3;
    CHECK(lamina_kmeans_check_params(&p), LAMINA_ERR_INVALID_ARGUMENT, "tol is");
    p.tol = NAN;
    CHECK(lamina_kmeans_check_params(&p), LAMINA_ERR_INVALID_ARGUMENT, "tol is nan");
    p.tol = INFINITY;
    CHECK(lamina_kmeans_check_params(&p), LAMINA_ERR_INVALID_ARGUMENT, "tol is inf");

    p = lamina_kmeans_default_params();
    p.n_clusters = 7;  /* k > n */
    m = NULL;
    CHECK(lamina_kmeans_create(&p, &m), LAMINA_OK, NULL);
    CHECK(lamina_kmeans_fit(m, X2, 6, 2, NULL), LAMINA_ERR_INVALID_ARGUMENT, "n_samples=6 should be >= n_clusters=7.");
    int32_t labels[6];
    float centers[4];
    CHECK(lamina_kmeans_predict(m, X2, 6, 2, labels), LAMINA_ERR_INVALID_ARGUMENT, "not fitted");
    CHECK(lamina_kmeans_get_info(m, NULL, NULL, NULL, NULL, NULL), LAMINA_ERR_INVALID_ARGUMENT, "not fitted");
    CHECK(lamina_kmeans_get_centers(m, centers, 4), LAMINA_ERR_INVALID_ARGUMENT, "not fitted");
    CHECK(lamina_kmeans_get_labels(m, labels, 6), LAMINA_ERR_INVALID_ARGUMENT, "not fitted");
    lamina_kmeans_free(m);

    p.n_clusters = 2;
    CHECK(lamina_kmeans_create(&p, &m), LAMINA_OK, NULL);
    CHECK(lamina_kmeans_fit(NULL, X2, 6, 2, NULL), LAMINA_ERR_INVALID_ARGUMENT, "model is NULL");
    CHECK(lamina_kmeans_fit(m, NULL, 6, 2, NULL), LAMINA_ERR_INVALID_ARGUMENT, "x is NULL");
    CHECK(lamina_kmeans_fit(m, X2, 0, 2, NULL), LAMINA_ERR_INVALID_ARGUMENT, "n is 0");
    CHECK(lamina_kmeans_fit(m, X2, 6, -2, NULL), LAMINA_ERR_INVALID_ARGUMENT, "d is -2");
    CHECK_HUGE(lamina_kmeans_fit(m, X2, INT64_C(1) << 62, 2, NULL), "n is");
    bad[9] = NAN;  /* row 4, column 1 */
    CHECK(lamina_kmeans_fit(m, bad, 6, 2, NULL), LAMINA_ERR_NON_FINITE, "row 4, column 1");
    CHECK(lamina_kmeans_fit(m, X2, 6, 2, X2), LAMINA_ERR_INVALID_ARGUMENT, "init_centers");
    CHECK(lamina_kmeans_fit(m, X2, 6, 2, NULL), LAMINA_OK, NULL);
    CHECK(lamina_kmeans_predict(m, X2, 4, 3, labels), LAMINA_ERR_SHAPE_MISMATCH, "3 features");
    CHECK(lamina_kmeans_predict(m, X2, 6, 2, NULL), LAMINA_ERR_INVALID_ARGUMENT, "labels_out is NULL");
    CHECK(lamina_kmeans_predict(m, bad, 6, 2, labels), LAMINA_ERR_NON_FINITE, "row 4, column 1");
    CHECK(lamina_kmeans_get_centers(m, centers, 3), LAMINA_ERR_SHAPE_MISMATCH, "out_len");
    CHECK(lamina_kmeans_get_centers(m, NULL, 4), LAMINA_ERR_INVALID_ARGUMENT, "out is NULL");
    CHECK(lamina_kmeans_get_labels(m, labels, 5), LAMINA_ERR_SHAPE_MISMATCH, "out_len");
    /* a failed fit keeps the previous fit */
    CHECK(lamina_kmeans_fit(m, bad, 6, 2, NULL), LAMINA_ERR_NON_FINITE, "row 4");
    int64_t n = 0;
    CHECK(lamina_kmeans_get_info(m, &n, NULL, NULL, NULL, NULL), LAMINA_OK, NULL);
    expect_true("a failed fit keeps the previous fit (n_samples = 6)", n == 6);

    /* given init */
    lamina_kmeans* g = NULL;
    p.init = LAMINA_KMEANS_INIT_GIVEN;
    CHECK(lamina_kmeans_create(&p, &g), LAMINA_OK, NULL);
    CHECK(lamina_kmeans_fit(g, X2, 6, 2, NULL), LAMINA_ERR_INVALID_ARGUMENT, "init_centers is NULL");
    const float nan_centers[4] = {0, 0, INFINITY, 10};
    CHECK(lamina_kmeans_fit(g, X2, 6, 2, nan_centers), LAMINA_ERR_NON_FINITE, "init_centers");
    lamina_kmeans_free(g);

    /* handles: NULL, double free, freed and garbage handles give errors, not crashes */
    lamina_kmeans_free(NULL);
    lamina_kmeans_free(m);
    lamina_kmeans_free(m);
    expect_true("lamina_kmeans_free(NULL) and a double free return", 1);
    CHECK(lamina_kmeans_fit(m, X2, 6, 2, NULL), LAMINA_ERR_INVALID_ARGUMENT, "not a live");
    CHECK(lamina_kmeans_predict(m, X2, 6, 2, labels), LAMINA_ERR_INVALID_ARGUMENT, "not a live");
    CHECK(lamina_kmeans_get_info(m, NULL, NULL, NULL, NULL, NULL), LAMINA_ERR_INVALID_ARGUMENT, "not a live");
    lamina_kmeans* garbage = (lamina_kmeans*)(uintptr_t)0xdeadbeef;
    CHECK(lamina_kmeans_get_labels(garbage, labels, 6), LAMINA_ERR_INVALID_ARGUMENT, "not a live");
    CHECK(lamina_kmeans_get_centers(garbage, centers, 4), LAMINA_ERR_INVALID_ARGUMENT, "not a live");
    lamina_kmeans_free(garbage);
    expect_true("lamina_kmeans_free(garbage) returns", 1);
}

/* -------------------------------------------------------------------------------------------------- */

static int write_file(const char* path, const void* data, size_t size) {
    FILE* f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = size ? fwrite(data, 1, size, f) : 0;
    fclose(f);
    return w == size ? 0 : -1;
}

static void test_hdf5(const char* dir) {
    char path[4096], missing[4096], adir[4096], empty[4096], text[4096], trunc[4096];
    snprintf(path, sizeof path, "%s/fixture.h5", dir);
    snprintf(missing, sizeof missing, "%s/no_such_file.h5", dir);
    snprintf(adir, sizeof adir, "%s/a_directory.h5", dir);
    snprintf(empty, sizeof empty, "%s/empty.h5", dir);
    snprintf(text, sizeof text, "%s/text.h5", dir);
    snprintf(trunc, sizeof trunc, "%s/truncated.h5", dir);
    remove(missing);
    if (mkdir(adir, 0755) != 0 && errno != EEXIST) perror("mkdir");
    write_file(empty, "", 0);
    const char* words = "this is a text file, not HDF5\n";
    write_file(text, words, strlen(words));

    int32_t rank = -1;
    int64_t dims[4] = {0};
    lamina_dtype dtype = -1;
    float out[16];
    int32_t lab[8];
    const char* bad_files[] = {missing, adir, empty, text};
    const lamina_status bad_status[] = {LAMINA_ERR_IO, LAMINA_ERR_IO, LAMINA_ERR_FORMAT, LAMINA_ERR_FORMAT};
    for (int i = 0; i < 4; i++) {
        char what[4200];
        snprintf(what, sizeof what, "lamina_h5_dataset_info(\"%s\")", bad_files[i]);
        expect_status(what, lamina_h5_dataset_info(bad_files[i], "x", &rank, dims, 4, &dtype), bad_status[i], bad_files[i]);
        snprintf(what, sizeof what, "lamina_h5_read_f32(\"%s\")", bad_files[i]);
        expect_status(what, lamina_h5_read_f32(bad_files[i], "x", 0, 1, out, 2), bad_status[i], bad_files[i]);
        snprintf(what, sizeof what, "lamina_h5_read_i32(\"%s\")", bad_files[i]);
        expect_status(what, lamina_h5_read_i32(bad_files[i], "labels", lab, 4), bad_status[i], bad_files[i]);
    }
    CHECK(lamina_h5_dataset_info(NULL, "x", &rank, dims, 4, &dtype), LAMINA_ERR_INVALID_ARGUMENT, "path is NULL");
    CHECK(lamina_h5_read_f32(NULL, "x", 0, 1, out, 2), LAMINA_ERR_INVALID_ARGUMENT, "path is NULL");
    CHECK(lamina_h5_read_i32(NULL, "labels", lab, 4), LAMINA_ERR_INVALID_ARGUMENT, "path is NULL");

    FILE* f = fopen(path, "rb");
    if (!f) {
        printf("[skip] %s not found (generate it with `make -C Tests/c run`, needs python3 + h5py): "
               "HDF5 happy-path checks skipped\n", path);
        return;
    }
    static unsigned char buf[1 << 20];
    size_t size = fread(buf, 1, sizeof buf, f);
    fclose(f);
    write_file(trunc, buf, size / 2);

    CHECK(lamina_h5_dataset_info(path, "x", &rank, dims, 4, &dtype), LAMINA_OK, NULL);
    expect_true("dataset_info x: rank 2, 4 x 2, float32", rank == 2 && dims[0] == 4 && dims[1] == 2 && dtype == LAMINA_DTYPE_FLOAT32);
    CHECK(lamina_h5_dataset_info(path, "x16", &rank, dims, 4, &dtype), LAMINA_OK, NULL);
    expect_true("dataset_info x16: float16", rank == 2 && dtype == LAMINA_DTYPE_FLOAT16);
    CHECK(lamina_h5_dataset_info(path, "labels", NULL, dims, 1, NULL), LAMINA_OK, NULL);
    expect_true("dataset_info labels: 4 (rank and dtype outputs NULL)", dims[0] == 4);
    CHECK(lamina_h5_dataset_info(path, "cube", &rank, NULL, 0, &dtype), LAMINA_OK, NULL);
    expect_true("dataset_info cube: rank 3 (dims NULL, max_rank 0)", rank == 3);
    CHECK(lamina_h5_read_f32(path, "x", 1, 2, out, 4), LAMINA_OK, NULL);
    expect_true("read_f32 x rows [1, 3) = {0, 1, 10, 10}", out[0] == 0 && out[1] == 1 && out[2] == 10 && out[3] == 10);
    CHECK(lamina_h5_read_f32(path, "x16", 0, 4, out, 8), LAMINA_OK, NULL);
    expect_true("read_f32 x16 (widened) = x", out[0] == 0 && out[3] == 1 && out[4] == 10 && out[7] == 11);
    CHECK(lamina_h5_read_f32(path, "x64", 1, 2, out, 2), LAMINA_OK, NULL);
    expect_true("read_f32 x64 rank 1 rows [1, 3) = {1.5, 2.5}", out[0] == 1.5f && out[1] == 2.5f);
    CHECK(lamina_h5_read_i32(path, "labels", lab, 4), LAMINA_OK, NULL);
    expect_true("read_i32 labels = {0, 0, 1, 1}", lab[0] == 0 && lab[1] == 0 && lab[2] == 1 && lab[3] == 1);
    CHECK(lamina_h5_read_i32(path, "grp/y", lab, 3), LAMINA_OK, NULL);
    expect_true("read_i32 grp/y (int16) = {1, 2, 3}", lab[0] == 1 && lab[1] == 2 && lab[2] == 3);

    CHECK(lamina_h5_dataset_info(trunc, "x", &rank, dims, 4, &dtype), LAMINA_ERR_FORMAT, trunc);
    CHECK(lamina_h5_read_f32(trunc, "x", 0, 1, out, 2), LAMINA_ERR_FORMAT, trunc);
    CHECK(lamina_h5_dataset_info(path, NULL, &rank, dims, 4, &dtype), LAMINA_ERR_INVALID_ARGUMENT, "dataset is NULL");
    CHECK(lamina_h5_dataset_info(path, "x", &rank, NULL, 2, &dtype), LAMINA_ERR_INVALID_ARGUMENT, "dims is NULL");
    CHECK(lamina_h5_dataset_info(path, "x", &rank, dims, -1, &dtype), LAMINA_ERR_INVALID_ARGUMENT, "max_rank is -1");
    CHECK(lamina_h5_dataset_info(path, "nope", &rank, dims, 4, &dtype), LAMINA_ERR_INVALID_ARGUMENT, "'nope' not found");
    CHECK(lamina_h5_read_f32(path, "grp", 0, 1, out, 1), LAMINA_ERR_FORMAT, "not a dataset");
    CHECK(lamina_h5_dataset_info(path, "strings", &rank, dims, 4, &dtype), LAMINA_ERR_FORMAT, "does not hold numbers");
    CHECK(lamina_h5_read_f32(path, "cube", 0, 1, out, 1), LAMINA_ERR_FORMAT, "rank 3");
    CHECK(lamina_h5_read_i32(path, "x", lab, 8), LAMINA_ERR_FORMAT, "integer");
    CHECK(lamina_h5_read_f32(path, "x", 3, 2, out, 4), LAMINA_ERR_INVALID_ARGUMENT, "out of range");
    CHECK(lamina_h5_read_f32(path, "x", -1, 1, out, 2), LAMINA_ERR_INVALID_ARGUMENT, "row_start is -1");
    CHECK(lamina_h5_read_f32(path, "x", 0, -1, out, 0), LAMINA_ERR_INVALID_ARGUMENT, "row_count is -1");
    CHECK(lamina_h5_read_f32(path, "x", 0, 2, out, 3), LAMINA_ERR_SHAPE_MISMATCH, "out_len");
    CHECK(lamina_h5_read_f32(path, "x", 0, 2, NULL, 4), LAMINA_ERR_INVALID_ARGUMENT, "out is NULL");
    CHECK(lamina_h5_read_i32(path, "labels", lab, 5), LAMINA_ERR_SHAPE_MISMATCH, "4");
    CHECK(lamina_h5_read_i32(path, "labels", NULL, 4), LAMINA_ERR_INVALID_ARGUMENT, "out is NULL");
}

/* --------------------------------------------------------------------------------------------------
 * Thread-local last error: two threads fail differently at the same time, each sees its own message.
 * ------------------------------------------------------------------------------------------------ */

enum { TL_ROUNDS = 200 };
static pthread_barrier_t tl_barrier;

typedef struct {
    int which;
    int fresh_empty;
    int mismatches;
} tl_arg;

static void* tl_worker(void* p) {
    tl_arg* a = p;
    const char* first = lamina_last_error();
    a->fresh_empty = first != NULL && first[0] == '\0';
    for (int r = 0; r < TL_ROUNDS; r++) {
        double out;
        lamina_status st;
        const char* want;
        if (a->which == 0) {
            st = lamina_set_num_threads(-7);
            want = "n is -7";
        } else {
            st = lamina_silhouette_score(NULL, 4, 1, Y1, 0, &out);
            want = "x is NULL";
        }
        pthread_barrier_wait(&tl_barrier);  /* both threads have failed before either reads */
        const char* msg = lamina_last_error();
        if (st != LAMINA_ERR_INVALID_ARGUMENT || msg == NULL || strstr(msg, want) == NULL) a->mismatches++;
        pthread_barrier_wait(&tl_barrier);
    }
    return NULL;
}

static void test_thread_local_error(void) {
    pthread_t th[2];
    tl_arg args[2] = {{0, 0, 0}, {1, 0, 0}};
    CHECK(lamina_kmeans_check_params(NULL), LAMINA_ERR_INVALID_ARGUMENT, "params is NULL");  /* main's own error */
    pthread_barrier_init(&tl_barrier, NULL, 2);
    for (int i = 0; i < 2; i++) pthread_create(&th[i], NULL, tl_worker, &args[i]);
    for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
    pthread_barrier_destroy(&tl_barrier);
    expect_true("a new thread's last error is \"\"", args[0].fresh_empty && args[1].fresh_empty);
    report(args[0].mismatches == 0, "thread A (set_num_threads(-7)) saw its own message in %d/%d rounds",
           TL_ROUNDS - args[0].mismatches, TL_ROUNDS);
    report(args[1].mismatches == 0, "thread B (silhouette_score(NULL)) saw its own message in %d/%d rounds",
           TL_ROUNDS - args[1].mismatches, TL_ROUNDS);
    expect_true("the main thread's last error is unchanged", strstr(lamina_last_error(), "params is NULL") != NULL);
}

int main(int argc, char** argv) {
    const char* dir = argc > 1 ? argv[1] : ".";
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("Lamina C API tests, library %s, header %d\n", lamina_version_string(), LAMINA_VERSION_NUMBER);
    test_version_status_threads();
    test_internal_happy();
    test_internal_bad();
    test_internal_f64();
    test_silhouette_precomputed();
    test_external();
    test_kmeans();
    test_kmeans_f64();
    test_kmeans_bad();
    test_hdf5(dir);
    test_thread_local_error();
    return check_summary();
}
