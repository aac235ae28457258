/*
 * test_probe.c -- the linear-probe C API from plain C11: a logistic probe on two hand-checkable
 * points, a 3-class probe, ridge with one feature, stratified folds, a layer sweep, control labels,
 * MDL, GAP/Hit@1, directions and INLP, and the status + message for each class of bad input.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lamina.h"

#include "check.h"

/* 3 classes of 6 points in 2-D around (0,0), (10,0), (0,10). */
static float X3[36];
static int32_t Y3[18];

static void make_data(void) {
    static const float offs[6][2] = {{0, 0}, {1, 0}, {0, 1}, {-1, 0}, {0, -1}, {0.5f, 0.5f}};
    for (int c = 0; c < 3; c++)
        for (int i = 0; i < 6; i++) {
            int r = c * 6 + i;
            X3[2 * r] = offs[i][0] + (c == 1 ? 10.f : 0.f);
            X3[2 * r + 1] = offs[i][1] + (c == 2 ? 10.f : 0.f);
            Y3[r] = 10 * c + 1; /* values 1, 11, 21 */
        }
}

static void test_binary_hand(void) {
    /* x = -1 (class 3), x = +1 (class 9), C = 1: b = 0, w solves -1/(1+e^w) + w/2 = 0. */
    double lo = 0, hi = 5;
    for (int i = 0; i < 200; i++) {
        double mid = (lo + hi) / 2;
        if (-1 / (1 + exp(mid)) + mid / 2 < 0) lo = mid; else hi = mid;
    }
    const float x[2] = {-1, 1};
    const int32_t y[2] = {3, 9};
    lamina_logistic_probe_params p = lamina_logistic_probe_default_params();
    p.tol = 1e-12;
    p.max_iter = 500;
    lamina_logistic_probe* probe = NULL;
    CHECK(lamina_logistic_probe_create(&p, &probe), LAMINA_OK, NULL);
    CHECK(lamina_logistic_probe_fit(probe, x, 2, 1, y, NULL, NULL, 0), LAMINA_OK, NULL);
    int32_t outputs = 0, classes = 0, cols = 0, iters = 0, converged = 0;
    int64_t features = 0;
    double loss = 0;
    CHECK(lamina_logistic_probe_get_info(probe, &features, &outputs, &classes, &cols, &iters, &loss, &converged), LAMINA_OK, NULL);
    expect_true("binary: 1 output row, 2 classes, 2 proba columns", outputs == 1 && classes == 2 && cols == 2 && features == 1);
    double w = 0, b = 1;
    CHECK(lamina_logistic_probe_get_coef(probe, &w, 1, &b, 1), LAMINA_OK, NULL);
    expect_near("binary w (hand-solved)", w, lo, 1e-8);
    expect_near("binary b", b, 0, 1e-8);
    double proba[4];
    CHECK(lamina_logistic_probe_predict_proba(probe, x, 2, 1, proba, 4), LAMINA_OK, NULL);
    expect_near("P(9 | x=1)", proba[3], 1 / (1 + exp(-lo)), 1e-8);
    int32_t pred[2];
    CHECK(lamina_logistic_probe_predict(probe, x, 2, 1, pred, 2), LAMINA_OK, NULL);
    expect_true("predict gives the label values", pred[0] == 3 && pred[1] == 9);
    int32_t cls[2];
    CHECK(lamina_logistic_probe_get_classes(probe, cls, 2), LAMINA_OK, NULL);
    expect_true("classes ascending", cls[0] == 3 && cls[1] == 9);
    /* bad input */
    CHECK(lamina_logistic_probe_predict(probe, x, 2, 1, pred, 3), LAMINA_ERR_SHAPE_MISMATCH, "out_len");
    CHECK(lamina_logistic_probe_predict(probe, x, 1, 2, pred, 1), LAMINA_ERR_SHAPE_MISMATCH, "features");
    const int32_t one[2] = {4, 4};
    CHECK(lamina_logistic_probe_fit(probe, x, 2, 1, one, NULL, NULL, 0), LAMINA_ERR_INVALID_ARGUMENT, "only one class");
    expect_near("a failed fit keeps the previous fit", (lamina_logistic_probe_get_coef(probe, &w, 1, NULL, 0), w), lo, 1e-8);
    const float bad[2] = {NAN, 1};
    CHECK(lamina_logistic_probe_fit(probe, bad, 2, 1, y, NULL, NULL, 0), LAMINA_ERR_NON_FINITE, "row 0");
    CHECK(lamina_logistic_probe_fit(probe, x, 2, 1, NULL, NULL, NULL, 0), LAMINA_ERR_INVALID_ARGUMENT, "labels is NULL");
    lamina_logistic_probe_free(probe);
    lamina_logistic_probe_free(probe);
    lamina_logistic_probe_free(NULL);
    CHECK(lamina_logistic_probe_fit(probe, x, 2, 1, y, NULL, NULL, 0), LAMINA_ERR_INVALID_ARGUMENT, "not a live");
    p.C = 0;
    CHECK(lamina_logistic_probe_check_params(&p), LAMINA_ERR_INVALID_ARGUMENT, "C is 0");
    CHECK(lamina_logistic_probe_create(&p, &probe), LAMINA_ERR_INVALID_ARGUMENT, "C is 0");
}

static void test_multiclass_and_sweep(void) {
    lamina_logistic_probe_params p = lamina_logistic_probe_default_params();
    lamina_logistic_probe* probe = NULL;
    CHECK(lamina_logistic_probe_create(&p, &probe), LAMINA_OK, NULL);
    CHECK(lamina_logistic_probe_fit(probe, X3, 18, 2, Y3, NULL, NULL, 0), LAMINA_OK, NULL);
    double acc = 0;
    CHECK(lamina_logistic_probe_score(probe, X3, 18, 2, Y3, 18, &acc), LAMINA_OK, NULL);
    expect_near("3 separated classes: accuracy", acc, 1.0, 0);
    double coef[6], sum0 = 0;
    CHECK(lamina_logistic_probe_get_coef(probe, coef, 6, NULL, 0), LAMINA_OK, NULL);
    for (int c = 0; c < 3; c++) sum0 += coef[2 * c];
    expect_near("softmax coefficients sum to 0 over classes", sum0, 0, 1e-12);
    lamina_logistic_probe_free(probe);

    int32_t folds[18];
    CHECK(lamina_stratified_kfold(Y3, 18, 3, 7, folds), LAMINA_OK, NULL);
    int ok = 1;
    for (int c = 0; c < 3; c++)
        for (int f = 0; f < 3; f++) {
            int count = 0;
            for (int i = 0; i < 6; i++) count += folds[c * 6 + i] == f;
            ok = ok && count == 2;
        }
    expect_true("stratified 3-fold: 2 of each class per fold", ok);
    CHECK(lamina_stratified_kfold(Y3, 18, 7, 7, folds), LAMINA_ERR_INVALID_ARGUMENT, "n_splits=7");

    const float* layers[2] = {X3, X3};
    const int64_t dims[2] = {2, 2};
    double per_fold[6], mean[2], std[2];
    CHECK(lamina_layer_sweep(layers, dims, 2, 18, Y3, &p, 3, 1, per_fold, mean, std), LAMINA_OK, NULL);
    expect_near("sweep mean accuracy (separable)", mean[0], 1.0, 0);
    expect_near("sweep std", std[1], 0.0, 0);
    CHECK(lamina_layer_sweep(layers, dims, 2, 18, Y3, &p, 1, 1, per_fold, mean, std), LAMINA_ERR_INVALID_ARGUMENT, "n_splits is 1");
    CHECK(lamina_layer_sweep_h5("/nonexistent.h5", (const char* const[]){"/x"}, 1, Y3, 18, &p, 3, 1, NULL, mean, std),
          LAMINA_ERR_IO, "cannot open");

    int32_t types[18], control[18];
    for (int i = 0; i < 18; i++) types[i] = i % 4;
    CHECK(lamina_control_task_labels(types, Y3, 18, 3, control), LAMINA_OK, NULL);
    int same = 1;
    for (int i = 4; i < 18; i++) same = same && control[i] == control[i % 4];
    expect_true("control labels are constant per type", same);

    double online = 0, uniform = 0, blocks[12];
    int32_t nb = 0;
    CHECK(lamina_mdl_online_codelength(X3, 18, 2, Y3, &p, NULL, 0, NULL, 5, &online, &uniform, blocks, &nb), LAMINA_OK, NULL);
    expect_near("MDL uniform codelength = n log2 K", uniform, 18 * log2(3.0), 1e-12);
    double total = 0;
    for (int i = 0; i < nb; i++) total += blocks[i];
    expect_near("MDL blocks add up to the online codelength", total, online, 1e-9);
    expect_true("MDL online codelength > 0", online > 0);

    double draws[3];
    CHECK(lamina_few_shot_accuracy(X3, 18, 2, Y3, X3, 18, Y3, &p, 2, 3, 0, draws), LAMINA_OK, NULL);
    expect_near("few-shot on separated classes", draws[2], 1.0, 0);
    CHECK(lamina_few_shot_accuracy(X3, 18, 2, Y3, X3, 18, Y3, &p, 7, 3, 0, draws), LAMINA_ERR_INVALID_ARGUMENT, "k = 7");
}

static void test_ridge_metrics_directions(void) {
    const float x[4] = {1, 2, 4, 7};
    const double y[4] = {2, 3, 9, 11};
    double w = 0, b = 0;
    CHECK(lamina_ridge_fit(x, 4, 1, y, 1, 2.0, 1, NULL, &w, &b), LAMINA_OK, NULL);
    /* xbar 3.5, ybar 6.25; sxy = 33.5, sxx = 21 */
    expect_near("ridge w = sxy / (sxx + alpha)", w, 33.5 / 23.0, 1e-12);
    expect_near("ridge b = ybar - xbar w", b, 6.25 - 3.5 * 33.5 / 23.0, 1e-12);
    double pred[4], r2 = 0;
    for (int i = 0; i < 4; i++) pred[i] = w * x[i] + b;
    CHECK(lamina_r2_score(y, pred, 4, 1, &r2), LAMINA_OK, NULL);
    expect_true("R^2 in (0, 1)", r2 > 0 && r2 < 1);
    CHECK(lamina_ridge_fit(x, 4, 1, y, 1, -1.0, 1, NULL, &w, &b), LAMINA_ERR_INVALID_ARGUMENT, "alpha is -1");

    const float scores[4] = {0.9f, 0.1f, 0.8f, 0.7f}, actual[4] = {1, 0, 0, 1};
    double gap = 0, hit = 0;
    CHECK(lamina_gap_at_k(scores, actual, 2, 2, 2, &gap), LAMINA_OK, NULL);
    expect_near("GAP@2 by hand", gap, (1 + 2.0 / 3) / 2, 1e-15);
    CHECK(lamina_hit_at_1(scores, actual, 2, 2, &hit), LAMINA_OK, NULL);
    expect_near("Hit@1 by hand", hit, 0.5, 0);
    CHECK(lamina_gap_at_k(scores, actual, 2, 2, 0, &gap), LAMINA_ERR_INVALID_ARGUMENT, "top_k is 0");

    double dir[2];
    CHECK(lamina_mean_difference_direction(X3 + 12, 6, X3, 6, 2, dir), LAMINA_OK, NULL);
    expect_near("mean difference x", dir[0], 10, 1e-6);
    CHECK(lamina_pca_direction(X3 + 12, 6, X3, 6, 2, 0, dir), LAMINA_OK, NULL);
    expect_near("first PC of two clusters along x", fabs(dir[0]), 1, 1e-6);
    expect_true("PC oriented from B to A", dir[0] > 0);
    float steered[12];
    const double unit[2] = {0, 1};
    CHECK(lamina_apply_direction(X3 + 12, 6, 2, unit, 2.0, 1, steered), LAMINA_OK, NULL);
    double n0 = hypot(X3[12], X3[13]), n1 = hypot(steered[0], steered[1]);
    expect_near("norm preserved", n1, n0, 1e-5);

    lamina_logistic_probe_params p = lamina_logistic_probe_default_params();
    double P[4], acc[2];
    int32_t rank[2], done = 0;
    int32_t yb[18];
    for (int i = 0; i < 18; i++) yb[i] = Y3[i] == 11;
    CHECK(lamina_inlp(X3, 18, 2, yb, NULL, 0, NULL, &p, 2, -1.0, P, acc, rank, &done), LAMINA_OK, NULL);
    expect_true("INLP ran 2 iterations of rank 1", done == 2 && rank[0] == 1 && rank[1] == 1);
    expect_near("INLP in 2-D removes everything: P = 0", fabs(P[0]) + fabs(P[1]) + fabs(P[2]) + fabs(P[3]), 0, 1e-12);
    CHECK(lamina_inlp(X3, 18, 2, yb, NULL, 0, NULL, &p, 0, -1.0, P, acc, rank, &done), LAMINA_ERR_INVALID_ARGUMENT, "n_iterations");
}

int main(void) {
    make_data();
    test_binary_hand();
    test_multiclass_and_sweep();
    test_ridge_metrics_directions();
    return check_summary();
}
