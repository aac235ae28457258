/*
 * test_mergeable.c -- the mergeable statistics of header section 16 from plain C11, driven as a map-reduce
 * with no MPI: contingency cells (ARI / NMI / AMI) and linear / debiased CKA sums of three uneven shards
 * (one with label values the others never see), merged, finalised and compared with the one-machine
 * functions on all rows; merge order; capacity queries; the status and message of bad input.
 *
 * Usage: test_mergeable
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lamina.h"

#include "check.h"

enum { N = 900, D1 = 6, D2 = 4 };

static int32_t LT[N], LP[N];
static float X[N * D1], Y[N * D2];

static uint64_t rng_state = 42;
static double uniform(void) {
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

static double rel(double a, double b) { return fabs(a - b) / (fabs(b) > 1e-300 ? fabs(b) : 1e-300); }

/* Cells of up to 3 shards, concatenated. */
static int32_t CT[3 * N], CP[3 * N];
static int64_t CC[3 * N];

int main(void) {
    /* Labels: shard 0 (rows 0..99) alone has true label 77 and predicted -5; shard 2 alone has true 9. */
    for (int i = 0; i < N; i++) {
        LT[i] = (int32_t)(uniform() * 4);
        LP[i] = uniform() < 0.7 ? LT[i] * 2 : (int32_t)(uniform() * 6);
        if (i < 100 && i % 7 == 0) LT[i] = 77;
        if (i < 100 && i % 11 == 0) LP[i] = -5;
        if (i >= 600 && i % 13 == 0) LT[i] = 9;
    }
    for (int i = 0; i < N * D1; i++) X[i] = (float)(uniform() * 4 - 2 + 25);
    for (int i = 0; i < N; i++)
        for (int j = 0; j < D2; j++) Y[i * D2 + j] = X[i * D1 + j] * 0.7f + (float)(uniform() - 0.5) - 8.0f;

    const int64_t cuts[4] = {0, 100, 600, N};
    int64_t total = 0;
    for (int s = 0; s < 3; s++) {   /* shards in reverse order: merge order must not matter */
        int64_t a = cuts[2 - s], b = cuts[3 - s], nnz = -1;
        CHECK(lamina_contingency_partial(LT + a, LP + a, b - a, CT + total, CP + total, CC + total, b - a, &nnz),
              LAMINA_OK, NULL);
        int sorted = 1;
        for (int64_t t = total + 1; t < total + nnz; t++)
            sorted &= CT[t - 1] < CT[t] || (CT[t - 1] == CT[t] && CP[t - 1] < CP[t]);
        expect_true("a shard's cells are sorted by (true, pred) and unique", sorted);
        total += nnz;
    }
    int64_t merged = -1, need = -1;
    CHECK(lamina_contingency_merge(CT, CP, CC, total, NULL, NULL, NULL, 0, &need), LAMINA_ERR_SHAPE_MISMATCH, "capacity is 0");
    CHECK(lamina_contingency_merge(CT, CP, CC, total, CT, CP, CC, total, &merged), LAMINA_OK, NULL);
    expect_true("capacity 0 reports the merged cell count", need == merged && merged > 0 && merged < total);
    int64_t sum = 0;
    for (int64_t t = 0; t < merged; t++) sum += CC[t];
    expect_true("merged counts sum to n", sum == N);

    double got, want;
    CHECK(lamina_adjusted_rand_finalize(CT, CP, CC, merged, &got), LAMINA_OK, NULL);
    lamina_adjusted_rand_score(LT, LP, N, &want);
    expect_true("ARI from cells == lamina_adjusted_rand_score (bit for bit)", got == want);
    for (int32_t avg = LAMINA_AVERAGE_MIN; avg <= LAMINA_AVERAGE_MAX; avg++) {
        lamina_normalized_mutual_info_finalize(CT, CP, CC, merged, avg, &got);
        lamina_normalized_mutual_info_score(LT, LP, N, avg, &want);
        report(got == want, "NMI average %d from cells = %.15g (one machine %.15g)", avg, got, want);
        lamina_adjusted_mutual_info_finalize(CT, CP, CC, merged, avg, &got);
        lamina_adjusted_mutual_info_score(LT, LP, N, avg, &want);
        report(got == want, "AMI average %d from cells = %.15g (one machine %.15g)", avg, got, want);
    }
    CHECK(lamina_adjusted_rand_finalize(NULL, NULL, NULL, 0, &got), LAMINA_OK, NULL);
    expect_true("no cells: ARI 1 (as empty labelings)", got == 1.0);

    /* Bad input: contingency. */
    int32_t t1[2] = {0, 1}, p1[2] = {3, 3};
    int64_t c1[2] = {2, -1}, c2[2] = {INT64_MAX, 5}, nnz = 0;
    int32_t t2[2] = {4, 4}, p2[2] = {1, 1};
    CHECK(lamina_adjusted_rand_finalize(t1, p1, c1, 2, &got), LAMINA_ERR_INVALID_ARGUMENT, "cell_count[1] is -1");
    CHECK(lamina_contingency_merge(t2, p2, c2, 2, t2, p2, c2, 2, &nnz), LAMINA_ERR_INVALID_ARGUMENT, "INT64_MAX");
    CHECK(lamina_adjusted_rand_finalize(t1, NULL, c1, 2, &got), LAMINA_ERR_INVALID_ARGUMENT, "cell_pred is NULL");
    CHECK(lamina_adjusted_rand_finalize(t1, p1, c1, -1, &got), LAMINA_ERR_INVALID_ARGUMENT, "nnz is -1");
    CHECK(lamina_normalized_mutual_info_finalize(t1, p1, c2, 1, 7, &got), LAMINA_ERR_INVALID_ARGUMENT, "average is 7");
    CHECK(lamina_adjusted_mutual_info_finalize(t1, p1, c2, 1, LAMINA_AVERAGE_MAX, NULL), LAMINA_ERR_INVALID_ARGUMENT, "out is NULL");
    int64_t big[1] = {4000000000LL};
    CHECK(lamina_adjusted_rand_finalize(t1, p1, big, 1, &got), LAMINA_ERR_INVALID_ARGUMENT, "3000000000");
    CHECK(lamina_contingency_partial(LT, LP, N, CT, CP, CC, 3, &nnz), LAMINA_ERR_SHAPE_MISMATCH, "capacity is 3");
    expect_true("a short capacity still reports the cell count", nnz > 3);
    CHECK(lamina_contingency_partial(LT, LP, -2, CT, CP, CC, 3, &nnz), LAMINA_ERR_INVALID_ARGUMENT, "n is -2");
    CHECK(lamina_contingency_partial(LT, LP, N, CT, CP, CC, N, NULL), LAMINA_ERR_INVALID_ARGUMENT, "nnz is NULL");

    /* CKA: pass 1 column sums (lamina_class_sums_partial with one class), pass 2 shifted sums, per shard. */
    for (int debiased = 0; debiased <= 1; debiased++) {
        int64_t len = 1 + D1 + D2 + D1 * D1 + D2 * D2 + D1 * D2 + (debiased ? 3 + 2 * D1 + 2 * D2 : 0);
        double* part = calloc((size_t)len, sizeof(double));
        int32_t zeros[N] = {0};
        int64_t cnt[1] = {0};
        double sx[D1] = {0}, sy[D2] = {0}, mx[D1], my[D2];
        for (int s = 0; s < 3; s++) {
            lamina_class_sums_partial(X + cuts[s] * D1, cuts[s + 1] - cuts[s], D1, zeros, 1, cnt, sx);
            cnt[0] -= cuts[s + 1] - cuts[s];
            lamina_class_sums_partial(Y + cuts[s] * D2, cuts[s + 1] - cuts[s], D2, zeros, 1, cnt, sy);
        }
        for (int j = 0; j < D1; j++) mx[j] = sx[j] / (double)cnt[0];
        for (int j = 0; j < D2; j++) my[j] = sy[j] / (double)cnt[0];
        for (int s = 2; s >= 0; s--)
            CHECK(lamina_linear_cka_partial(X + cuts[s] * D1, cuts[s + 1] - cuts[s], D1, Y + cuts[s] * D2, D2, mx, my,
                                            debiased, part, len), LAMINA_OK, NULL);
        CHECK(lamina_linear_cka_finalize(D1, D2, debiased, part, len, &got), LAMINA_OK, NULL);
        lamina_linear_cka(X, N, D1, Y, D2, debiased, &want);
        expect_near(debiased ? "debiased CKA from shard sums vs lamina_linear_cka" : "linear CKA from shard sums vs lamina_linear_cka",
                    got, want, 1e-12 * fabs(want));
        printf("       relative difference %.3g\n", rel(got, want));
        expect_true("partial[0] is n", part[0] == (double)N);

        CHECK(lamina_linear_cka_finalize(D1, D2, debiased, part, len - 1, &got), LAMINA_ERR_SHAPE_MISMATCH, "partial_len");
        CHECK(lamina_linear_cka_partial(X, N, D1, Y, D2, mx, my, debiased, part, len + 1), LAMINA_ERR_SHAPE_MISMATCH,
              "partial_len");
        part[0] = 2.5;
        CHECK(lamina_linear_cka_finalize(D1, D2, debiased, part, len, &got), LAMINA_ERR_INVALID_ARGUMENT, "whole number");
        part[0] = N;
        part[3] = NAN;
        CHECK(lamina_linear_cka_finalize(D1, D2, debiased, part, len, &got), LAMINA_ERR_NON_FINITE, "partial[3]");
        free(part);
    }
    double part1[1 + 2 + 2 + 4 + 4 + 4] = {0}, nan_shift[2] = {0, NAN};
    float two[4] = {1, 2, 3, 5}, flat[4] = {3, 3, 3, 3};
    CHECK(lamina_linear_cka_partial(two, 2, 2, flat, 2, NULL, NULL, 0, part1, 17), LAMINA_OK, NULL);
    CHECK(lamina_linear_cka_finalize(2, 2, 0, part1, 17, &got), LAMINA_ERR_INVALID_ARGUMENT, "y is constant");
    CHECK(lamina_linear_cka_partial(two, 2, 2, flat, 2, nan_shift, NULL, 0, part1, 17), LAMINA_ERR_NON_FINITE, "shift_x[1]");
    CHECK(lamina_linear_cka_partial(two, 2, 2, flat, 2, NULL, NULL, 2, part1, 17), LAMINA_ERR_INVALID_ARGUMENT, "debiased is 2");
    CHECK(lamina_linear_cka_partial(NULL, 2, 2, flat, 2, NULL, NULL, 0, part1, 17), LAMINA_ERR_INVALID_ARGUMENT, "x is NULL");
    CHECK(lamina_linear_cka_partial(two, 2, 0, flat, 2, NULL, NULL, 0, part1, 17), LAMINA_ERR_INVALID_ARGUMENT, "d1 is 0");
    CHECK(lamina_linear_cka_finalize(2, 2, 1, part1, 17, &got), LAMINA_ERR_SHAPE_MISMATCH, "partial_len");
    CHECK(lamina_linear_cka_finalize(2, 2, 0, part1, 17, NULL), LAMINA_ERR_INVALID_ARGUMENT, "out is NULL");
    CHECK(lamina_linear_cka_finalize((int64_t)1 << 31, 2, 0, part1, 17, &got), LAMINA_ERR_OUT_OF_MEMORY, "overflows");
    part1[0] = 1;
    CHECK(lamina_linear_cka_finalize(2, 2, 0, part1, 17, &got), LAMINA_ERR_INVALID_ARGUMENT, "n is 1");
    return check_summary();
}
