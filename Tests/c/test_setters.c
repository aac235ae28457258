/*
 * test_setters.c -- the restore setters (lamina_kmeans_set_centers, lamina_logistic_probe_set_coef,
 * lamina_ast_probe_set_weights): a model rebuilt on a new handle from what the getters return predicts
 * exactly like the fitted one, and every bad argument is refused with a status and a message.
 */
#include <stdint.h>
#include <stdlib.h>

#include "check.h"

static float x[40 * 3];
static int32_t y[40];

static void make_data(void) {
    uint32_t s = 12345u;
    for (int i = 0; i < 40; i++) {
        y[i] = i % 3;
        for (int j = 0; j < 3; j++) {
            s = s * 1664525u + 1013904223u;
            x[i * 3 + j] = (float)((s >> 8) % 1000) / 250.0f + (float)(y[i] * 2 * (j == y[i]));
        }
    }
}

static void test_kmeans(void) {
    lamina_kmeans_params p = lamina_kmeans_default_params();
    p.n_clusters = 3;
    lamina_kmeans *fitted = NULL, *restored = NULL;
    CHECK(lamina_kmeans_create(&p, &fitted), LAMINA_OK, NULL);
    CHECK(lamina_kmeans_fit(fitted, x, 40, 3, NULL), LAMINA_OK, NULL);
    float centers[9];
    CHECK(lamina_kmeans_get_centers(fitted, centers, 9), LAMINA_OK, NULL);
    CHECK(lamina_kmeans_create(&p, &restored), LAMINA_OK, NULL);
    CHECK(lamina_kmeans_set_centers(restored, centers, 2, 3), LAMINA_ERR_SHAPE_MISMATCH, "n_clusters");
    CHECK(lamina_kmeans_set_centers(restored, NULL, 3, 3), LAMINA_ERR_INVALID_ARGUMENT, "centers");
    CHECK(lamina_kmeans_set_centers(restored, centers, 3, 0), LAMINA_ERR_INVALID_ARGUMENT, "n_features");
    CHECK(lamina_kmeans_set_centers(NULL, centers, 3, 3), LAMINA_ERR_INVALID_ARGUMENT, NULL);
    float bad[9];
    memcpy(bad, centers, sizeof bad);
    bad[4] = NAN;
    CHECK(lamina_kmeans_set_centers(restored, bad, 3, 3), LAMINA_ERR_NON_FINITE, "centers");
    int32_t a[40], b[40];
    CHECK(lamina_kmeans_predict(restored, x, 40, 3, b), LAMINA_ERR_INVALID_ARGUMENT, "not fitted");
    CHECK(lamina_kmeans_set_centers(restored, centers, 3, 3), LAMINA_OK, NULL);
    CHECK(lamina_kmeans_predict(fitted, x, 40, 3, a), LAMINA_OK, NULL);
    CHECK(lamina_kmeans_predict(restored, x, 40, 3, b), LAMINA_OK, NULL);
    expect_true("kmeans: restored predict equals the fitted model's", memcmp(a, b, sizeof a) == 0);
    float back[9];
    CHECK(lamina_kmeans_get_centers(restored, back, 9), LAMINA_OK, NULL);
    expect_true("kmeans: centers read back bit for bit", memcmp(back, centers, sizeof back) == 0);
    expect_near("kmeans: centers[0] read back", back[0], centers[0], 0.0);
    int32_t k = 0, it = -1;
    double inertia = 0;
    CHECK(lamina_kmeans_get_info(restored, NULL, NULL, &k, &inertia, &it), LAMINA_OK, NULL);
    expect_true("kmeans: restored model has k = 3, no iterations, NaN inertia", k == 3 && it == 0 && isnan(inertia));
    CHECK(lamina_kmeans_predict(restored, x, 40, 2, b), LAMINA_ERR_SHAPE_MISMATCH, NULL);
    lamina_kmeans_free(fitted);
    lamina_kmeans_free(restored);
}

static void test_logistic(int standardize) {
    lamina_logistic_probe_params p = lamina_logistic_probe_default_params();
    p.standardize = standardize;
    lamina_logistic_probe *fitted = NULL, *restored = NULL;
    CHECK(lamina_logistic_probe_create(&p, &fitted), LAMINA_OK, NULL);
    CHECK(lamina_logistic_probe_fit(fitted, x, 40, 3, y, NULL, NULL, 0), LAMINA_OK, NULL);
    double coef[9], intercept[3], mean[3], scale[3];
    int32_t classes[3];
    CHECK(lamina_logistic_probe_get_coef(fitted, coef, 9, intercept, 3), LAMINA_OK, NULL);
    CHECK(lamina_logistic_probe_get_classes(fitted, classes, 3), LAMINA_OK, NULL);
    if (standardize) CHECK(lamina_logistic_probe_get_scaler(fitted, mean, scale, 3), LAMINA_OK, NULL);
    double* mu = standardize ? mean : NULL;
    double* sd = standardize ? scale : NULL;
    CHECK(lamina_logistic_probe_create(&p, &restored), LAMINA_OK, NULL);
    CHECK(lamina_logistic_probe_set_coef(restored, coef, intercept, 1, 3, mu, sd, classes, 3),
          LAMINA_ERR_SHAPE_MISMATCH, "n_outputs");
    CHECK(lamina_logistic_probe_set_coef(restored, NULL, intercept, 3, 3, mu, sd, classes, 3),
          LAMINA_ERR_INVALID_ARGUMENT, "coef");
    CHECK(lamina_logistic_probe_set_coef(restored, coef, intercept, 3, 0, mu, sd, classes, 3),
          LAMINA_ERR_INVALID_ARGUMENT, "n_features");
    CHECK(lamina_logistic_probe_set_coef(restored, coef, intercept, 3, 3, mu, sd, classes, -1),
          LAMINA_ERR_INVALID_ARGUMENT, "n_classes");
    int32_t dup[3] = {0, 1, 1};
    CHECK(lamina_logistic_probe_set_coef(restored, coef, intercept, 3, 3, mu, sd, dup, 3),
          LAMINA_ERR_INVALID_ARGUMENT, "duplicate");
    double nan_coef[9];
    memcpy(nan_coef, coef, sizeof coef);
    nan_coef[5] = NAN;
    CHECK(lamina_logistic_probe_set_coef(restored, nan_coef, intercept, 3, 3, mu, sd, classes, 3),
          LAMINA_ERR_NON_FINITE, "coef[5]");
    if (standardize) {
        CHECK(lamina_logistic_probe_set_coef(restored, coef, intercept, 3, 3, NULL, NULL, classes, 3),
              LAMINA_ERR_INVALID_ARGUMENT, "mean");
        double zero_scale[3] = {1, 0, 1};
        CHECK(lamina_logistic_probe_set_coef(restored, coef, intercept, 3, 3, mean, zero_scale, classes, 3),
              LAMINA_ERR_INVALID_ARGUMENT, "scale[1]");
    } else {
        double m3[3] = {0, 0, 0};
        CHECK(lamina_logistic_probe_set_coef(restored, coef, intercept, 3, 3, m3, m3, classes, 3),
              LAMINA_ERR_INVALID_ARGUMENT, "must be NULL");
    }
    CHECK(lamina_logistic_probe_set_coef(restored, coef, intercept, 3, 3, mu, sd, classes, 3), LAMINA_OK, NULL);
    double pa[120], pb[120];
    int32_t la[40], lb[40];
    CHECK(lamina_logistic_probe_predict_proba(fitted, x, 40, 3, pa, 120), LAMINA_OK, NULL);
    CHECK(lamina_logistic_probe_predict_proba(restored, x, 40, 3, pb, 120), LAMINA_OK, NULL);
    CHECK(lamina_logistic_probe_predict(fitted, x, 40, 3, la, 40), LAMINA_OK, NULL);
    CHECK(lamina_logistic_probe_predict(restored, x, 40, 3, lb, 40), LAMINA_OK, NULL);
    expect_true(standardize ? "logistic (standardize): restored probabilities bit-identical"
                            : "logistic: restored probabilities bit-identical", memcmp(pa, pb, sizeof pa) == 0);
    expect_true("logistic: restored labels identical", memcmp(la, lb, sizeof la) == 0);
    lamina_logistic_probe_free(fitted);
    lamina_logistic_probe_free(restored);
}

static void test_ast_probe(void) {
    /* two snippets of 3 and 4 tokens; d, c, u as the AST-Probe C test builds them */
    static const int64_t off[3] = {0, 3, 7};
    static const int32_t d[5] = {1, 2, 2, 1, 3};
    static const int32_t c[5] = {1, 2, 1, 2, 1};
    static const int32_t u[7] = {0, 3, 0, 0, 3, 0, 0};
    lamina_ast_probe_params p = lamina_ast_probe_default_params();
    p.rank = 2;
    p.epochs = 3;
    p.batch_size = 1;
    lamina_ast_probe *fitted = NULL, *restored = NULL;
    CHECK(lamina_ast_probe_create(&p, &fitted), LAMINA_OK, NULL);
    CHECK(lamina_ast_probe_fit(fitted, x, 7, 3, off, 2, d, c, u, NULL, NULL), LAMINA_OK, NULL);
    int32_t nc = 0, nu = 0;
    int64_t dim = 0;
    CHECK(lamina_ast_probe_get_info(fitted, &dim, &nc, &nu, NULL, NULL), LAMINA_OK, NULL);
    float* proj = malloc(sizeof(float) * (size_t)(dim * 2));
    float* vc = malloc(sizeof(float) * (size_t)(2 * nc));
    float* vu = malloc(sizeof(float) * (size_t)(2 * nu));
    int32_t* cc = malloc(sizeof(int32_t) * (size_t)nc);
    int32_t* cu = malloc(sizeof(int32_t) * (size_t)nu);
    CHECK(lamina_ast_probe_get_weights(fitted, proj, vc, vu, cc, cu), LAMINA_OK, NULL);
    CHECK(lamina_ast_probe_create(&p, &restored), LAMINA_OK, NULL);
    CHECK(lamina_ast_probe_set_weights(restored, 0, proj, vc, cc, nc, vu, cu, nu), LAMINA_ERR_INVALID_ARGUMENT, "dim");
    CHECK(lamina_ast_probe_set_weights(restored, dim, NULL, vc, cc, nc, vu, cu, nu), LAMINA_ERR_INVALID_ARGUMENT, "proj");
    CHECK(lamina_ast_probe_set_weights(restored, dim, proj, vc, cc, 0, vu, cu, nu), LAMINA_ERR_INVALID_ARGUMENT,
          "n_c_classes");
    float saved = proj[1];
    proj[1] = INFINITY;
    CHECK(lamina_ast_probe_set_weights(restored, dim, proj, vc, cc, nc, vu, cu, nu), LAMINA_ERR_NON_FINITE, "proj");
    proj[1] = saved;
    int32_t saved_id = cu[0];
    cu[0] = -3;
    CHECK(lamina_ast_probe_set_weights(restored, dim, proj, vc, cc, nc, vu, cu, nu), LAMINA_ERR_INVALID_ARGUMENT,
          "classes_u[0]");
    cu[0] = saved_id;
    CHECK(lamina_ast_probe_set_weights(restored, dim, proj, vc, cc, nc, vu, cu, nu), LAMINA_OK, NULL);
    float da[5], db[5];
    int32_t ca[5], cb[5], ua[7], ub[7];
    CHECK(lamina_ast_probe_predict(fitted, x, 7, 3, off, 2, da, ca, ua), LAMINA_OK, NULL);
    CHECK(lamina_ast_probe_predict(restored, x, 7, 3, off, 2, db, cb, ub), LAMINA_OK, NULL);
    expect_true("AST-Probe: restored predictions bit-identical",
                memcmp(da, db, sizeof da) == 0 && memcmp(ca, cb, sizeof ca) == 0 && memcmp(ua, ub, sizeof ua) == 0);
    free(proj); free(vc); free(vu); free(cc); free(cu);
    lamina_ast_probe_free(fitted);
    lamina_ast_probe_free(restored);
}

int main(void) {
    make_data();
    test_kmeans();
    test_logistic(0);
    test_logistic(1);
    test_ast_probe();
    return check_summary();
}
