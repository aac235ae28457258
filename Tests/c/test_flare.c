/*
 * test_flare.c -- lamina_hdbscan, lamina_flare_aggregate, lamina_flare_detect(_split) from plain C: a known
 * clustering (two tight groups of 20 and a far point), the aggregation against its formula, FLARE on a
 * planted abnormal group, and bad input (each a status and a message naming the argument).
 */
#include <stdint.h>
#include <stdlib.h>

#include "check.h"

int main(void) {
    /* two groups of 20 points on lines around (0,0) and (10,10), one far point (noise) */
    enum { N = 41 };
    float x[N * 2];
    for (int i = 0; i < 20; i++) {
        x[2 * i] = 0.01f * (float)i; x[2 * i + 1] = 0.0f;
        x[2 * (20 + i)] = 10.0f + 0.01f * (float)i; x[2 * (20 + i) + 1] = 10.0f;
    }
    x[2 * 40] = 100.0f; x[2 * 40 + 1] = -100.0f;
    int32_t labels[N];
    int64_t parent[2 * N], child[2 * N], size[2 * N], rows = 0;
    double lambda[2 * N], stability[2 * N];
    CHECK(lamina_hdbscan(x, N, 2, 5, 0, labels, parent, child, lambda, size, stability, 2 * N, &rows), LAMINA_OK, NULL);
    int same_a = 1, same_b = 1;
    for (int i = 1; i < 20; i++) { same_a &= labels[i] == labels[0]; same_b &= labels[20 + i] == labels[20]; }
    expect_true("two clusters of 20, distinct, the far point noise",
                same_a && same_b && labels[0] >= 0 && labels[20] >= 0 && labels[0] != labels[20] && labels[40] == -1);
    expect_true("condensed tree has a row per point plus two cluster rows", rows == N + 2);
    int64_t points = 0;
    for (int64_t r = 0; r < rows; r++) points += child[r] < N;
    expect_true("every point appears once as a child", points == N);

    /* bad input */
    CHECK(lamina_hdbscan(NULL, N, 2, 5, 0, labels, NULL, NULL, NULL, NULL, NULL, 0, NULL), LAMINA_ERR_INVALID_ARGUMENT, "x is NULL");
    CHECK(lamina_hdbscan(x, N, 2, 1, 0, labels, NULL, NULL, NULL, NULL, NULL, 0, NULL), LAMINA_ERR_INVALID_ARGUMENT, "min_cluster_size");
    CHECK(lamina_hdbscan(x, N, 2, 5, N + 1, labels, NULL, NULL, NULL, NULL, NULL, 0, NULL), LAMINA_ERR_INVALID_ARGUMENT, "min_samples");
    CHECK(lamina_hdbscan(x, N, 2, 5, 0, labels, parent, child, lambda, size, NULL, N, NULL), LAMINA_ERR_INVALID_ARGUMENT, "tree_capacity");
    float nan_x[N * 2];
    memcpy(nan_x, x, sizeof x);
    nan_x[7] = NAN;
    CHECK(lamina_hdbscan(nan_x, N, 2, 5, 0, labels, NULL, NULL, NULL, NULL, NULL, 0, NULL), LAMINA_ERR_NON_FINITE, "row 3");

    /* aggregation: one dense layer of 3 units, given statistics */
    float h[4 * 3] = {0, 1, 2, 3, 4, 5, -1, 0, 1, 2, 2, 2};
    double mu[3] = {0.5, 1.0, 1.5}, var[3] = {1.0, 4.0, 0.25};
    const float* layers[1] = {h};
    const double* means[1] = {mu};
    const double* vars[1] = {var};
    int64_t channels[1] = {3}, positions[1] = {1};
    double agg[4];
    CHECK(lamina_flare_aggregate(layers, channels, positions, 1, 4, means, vars, 1e-5, agg, 4), LAMINA_OK, NULL);
    int agg_ok = 1;
    for (int i = 0; i < 4; i++) {
        double lowest = INFINITY;
        for (int c = 0; c < 3; c++) {
            double s = var[c] + 1e-5, u = h[3 * i + c] - mu[c];
            double lp = -u * u / (2 * s) - 0.5 * log(s) - 0.5 * log(2 * 3.14159265358979323846);
            if (lp < lowest) lowest = lp;
        }
        agg_ok &= fabs(agg[i] - lowest) <= 1e-12 * fabs(lowest) + 1e-14;
        if (i == 0) expect_near("aggregated feature of sample 0", agg[0], lowest, 1e-12 * fabs(lowest));
    }
    expect_true("aggregation = min over units of log N(h; mu, var + eps)", agg_ok);
    CHECK(lamina_flare_aggregate(layers, channels, positions, 1, 4, means, vars, 1e-5, agg, 3), LAMINA_ERR_SHAPE_MISMATCH, "out_len");
    CHECK(lamina_flare_aggregate(layers, channels, positions, 1, 4, means, NULL, 1e-5, agg, 4), LAMINA_ERR_INVALID_ARGUMENT, "both NULL");
    CHECK(lamina_flare_aggregate(layers, channels, positions, 1, 4, NULL, NULL, -1.0, agg, 4), LAMINA_ERR_INVALID_ARGUMENT, "eps");

    /* detection (the released algorithm's setting): 300 clean rows spread around 0 (each coordinate a sum
     * of two uniforms), 60 poisoned rows in a tight group at (-3, 0) */
    enum { M = 360 };
    double *f = malloc(sizeof(double) * M * 2);
    double *u = malloc(sizeof(double) * M * 2);
    uint32_t state = 12345u;
    for (int i = 0; i < M * 2; i++) {
        state = state * 1664525u + 1013904223u;
        u[i] = ((state >> 8) / 16777216.0) - 0.5;
    }
    for (int i = 0; i < 600; i++) f[i] = u[i] + u[M * 2 - 1 - i];
    for (int i = 600; i < M * 2; i++) f[i] = 0.05 * u[i] - (i % 2 == 0 ? 3.0 : 0.0);
    free(u);
    int32_t flags[M], found = -7, w = -7;
    double scores[M], split = 0, cut = 0;
    CHECK(lamina_flare_detect(f, M, 2, 40, 0, 0.02, 3, flags, scores, NULL, &found, &w, &split, &cut), LAMINA_OK, NULL);
    int tp = 0, fp = 0;
    for (int i = 0; i < M; i++) { tp += flags[i] && i >= 300; fp += flags[i] && i < 300; }
    expect_true("split found (w >= 0, finite lambda and cut)", found == 1 && w >= 0 && isfinite(split) && isfinite(cut));
    report(tp == 60 && fp == 0, "the 60 poisoned rows are flagged, no clean one (tp %d, fp %d)", tp, fp);
    CHECK(lamina_flare_detect(f, M, 2, 400, 0, 0.02, 3, flags, NULL, NULL, NULL, NULL, NULL, NULL), LAMINA_ERR_INVALID_ARGUMENT, "min_cluster_size is 400");
    CHECK(lamina_flare_detect(f, M, 2, 40, 0, 0.0, 3, flags, NULL, NULL, NULL, NULL, NULL, NULL), LAMINA_ERR_INVALID_ARGUMENT, "xi");
    CHECK(lamina_flare_detect(f, M, 2, 40, 0, 0.02, 0, flags, NULL, NULL, NULL, NULL, NULL, NULL), LAMINA_ERR_INVALID_ARGUMENT, "depth");

    /* the split-and-stability variant on the same rows: the tight group is split off exactly in every
     * resample (stability 1 for both clusters), the tie rule flags the smaller cluster */
    int32_t labels2[M], found2 = -7, w2 = -7;
    double scores2[M], stab[2], table[4];
    CHECK(lamina_flare_detect_split(f, M, 2, 50, 300, 7, NULL, flags, scores2, labels2, &found2, &w2, stab, table), LAMINA_OK, NULL);
    tp = fp = 0;
    int score_sign = 1;
    for (int i = 0; i < M; i++) {
        tp += flags[i] && i >= 300; fp += flags[i] && i < 300;
        score_sign &= flags[i] ? scores2[i] >= 0 : scores2[i] <= 0;
    }
    report(tp == 60 && fp == 0, "split variant: the 60 poisoned rows are flagged, no clean one (tp %d, fp %d)", tp, fp);
    expect_true("split variant: found, w in {0, 1}, both stabilities 1", found2 == 1 && (w2 == 0 || w2 == 1) && stab[0] == 1.0 && stab[1] == 1.0);
    expect_true("split variant: table row w holds the chosen stabilities", table[2 * w2] == stab[0] && table[2 * w2 + 1] == stab[1]);
    expect_true("split variant: scores >= 0 for flagged rows, <= 0 for the others", score_sign);
    int32_t flags_again[M];
    double table_again[4];
    CHECK(lamina_flare_detect_split(f, M, 2, 50, 300, 7, NULL, flags_again, NULL, NULL, NULL, NULL, NULL, table_again), LAMINA_OK, NULL);
    expect_true("split variant: the same seed gives the same flags and table",
                memcmp(flags, flags_again, sizeof flags) == 0 && memcmp(table, table_again, sizeof table) == 0);

    /* hand-checked: two groups of 4 in one column; every resample splits them exactly; equal sizes and
     * stabilities -> cluster 0 (the side opposite the positive principal direction: the low group) */
    double g8[8] = {0.0, 0.1, 0.2, 0.3, 10.0, 10.1, 10.2, 10.3};
    int64_t boots[2 * 8] = {0, 0, 1, 4, 4, 4, 7, 2, 3, 3, 3, 3, 5, 6, 6, 0};
    int32_t f8[8], l8[8], w8 = -7;
    double s8[2], t8[2];
    CHECK(lamina_flare_detect_split(g8, 8, 1, 2, 300, 0, boots, f8, NULL, l8, NULL, &w8, s8, t8), LAMINA_OK, NULL);
    int hand = w8 == 0 && s8[0] == 1.0 && s8[1] == 1.0 && t8[0] == 1.0 && t8[1] == 1.0;
    for (int i = 0; i < 8; i++) hand &= l8[i] == (i >= 4) && f8[i] == (i < 4);
    expect_true("split variant: two groups of 4 -> labels 0 0 0 0 1 1 1 1, low group flagged, stability 1", hand);

    /* constant columns: no split for any w is a result */
    double flat[8 * 2];
    for (int i = 0; i < 16; i++) flat[i] = 2.5;
    CHECK(lamina_flare_detect_split(flat, 8, 2, 3, 300, 0, NULL, f8, NULL, NULL, &found2, &w2, s8, table), LAMINA_OK, NULL);
    expect_true("split variant: constant features -> found 0, w -1, NaN table",
                found2 == 0 && w2 == -1 && isnan(s8[0]) && isnan(table[0]) && isnan(table[3]));

    /* split variant: bad input */
    CHECK(lamina_flare_detect_split(NULL, 8, 1, 2, 300, 0, NULL, f8, NULL, NULL, NULL, NULL, NULL, NULL), LAMINA_ERR_INVALID_ARGUMENT, "features is NULL");
    CHECK(lamina_flare_detect_split(g8, 8, 1, 2, 300, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL), LAMINA_ERR_INVALID_ARGUMENT, "flags is NULL");
    CHECK(lamina_flare_detect_split(g8, 3, 1, 2, 300, 0, NULL, f8, NULL, NULL, NULL, NULL, NULL, NULL), LAMINA_ERR_INVALID_ARGUMENT, "n is 3");
    CHECK(lamina_flare_detect_split(g8, 8, 0, 2, 300, 0, NULL, f8, NULL, NULL, NULL, NULL, NULL, NULL), LAMINA_ERR_INVALID_ARGUMENT, "n_layers is 0");
    CHECK(lamina_flare_detect_split(g8, 8, 1, 0, 300, 0, NULL, f8, NULL, NULL, NULL, NULL, NULL, NULL), LAMINA_ERR_INVALID_ARGUMENT, "n_boot is 0");
    CHECK(lamina_flare_detect_split(g8, 8, 1, 2, 0, 0, NULL, f8, NULL, NULL, NULL, NULL, NULL, NULL), LAMINA_ERR_INVALID_ARGUMENT, "max_iter is 0");
    boots[11] = 8;
    CHECK(lamina_flare_detect_split(g8, 8, 1, 2, 300, 0, boots, f8, NULL, NULL, NULL, NULL, NULL, NULL), LAMINA_ERR_INVALID_ARGUMENT, "resamples[1][3] is 8");
    g8[6] = INFINITY;
    CHECK(lamina_flare_detect_split(g8, 4, 2, 2, 300, 0, NULL, f8, NULL, NULL, NULL, NULL, NULL, NULL), LAMINA_ERR_NON_FINITE, "row 3, column 0");

    f[5] = NAN;
    CHECK(lamina_flare_detect(f, M, 2, 40, 0, 0.02, 3, flags, NULL, NULL, NULL, NULL, NULL, NULL), LAMINA_ERR_NON_FINITE, "row 2");
    free(f);
    return check_summary();
}
