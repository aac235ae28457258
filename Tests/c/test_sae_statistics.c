/*
 * test_sae_statistics.c -- per-latent statistics of an SAE (lamina_sae_latent_statistics) from plain C11.
 *
 * A freshly initialised TopK SAE on synthetic data: count / sum / max / top-N against the dense codes of
 * lamina_sae_encode, the merge property (two shards accumulated with their row offsets equal one pass),
 * outputs untouched on failure, and the status and message of bad input.
 *
 * Usage: test_sae_statistics [WORKDIR]
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lamina.h"

#include "check.h"

enum { N = 700, D = 8, L = 24, K = 4, T = 5 };

static float X[N * D], Z[N * L];

typedef struct {
    int64_t n_rows, count[L], hist[L * LAMINA_SAE_STATS_BINS], rows[L * T];
    double sum[L];
    float max[L], min[L], vals[L * T];
} stats;

static lamina_status run(lamina_sae* sae, const float* x, int64_t n, int64_t offset, int32_t acc, stats* s) {
    return lamina_sae_latent_statistics(sae, x, LAMINA_DTYPE_FLOAT32, n, D, offset, T, acc, &s->n_rows, s->count,
                                        s->sum, s->max, s->min, s->hist, s->rows, s->vals, NULL, NULL);
}

static int32_t cancel_at_once(const lamina_progress* p, void* user) {
    (void)user;
    return strcmp(p->task, "sae_latent_statistics") == 0 && p->items > 0;
}

int main(void) {
    uint32_t seed = 99u;
    for (int i = 0; i < N * D; i++) {
        seed = seed * 1664525u + 1013904223u;
        X[i] = (float)((seed >> 8) & 0xFFFF) / 65536.0f - 0.5f;
    }
    lamina_sae_params p = lamina_sae_default_params();
    p.d_in = D; p.n_latents = L; p.k = K; p.seed = 3;
    lamina_sae* sae = NULL;
    CHECK(lamina_sae_create(&p, &sae), LAMINA_OK, NULL);
    CHECK(lamina_sae_encode(sae, X, N, D, Z, N * L), LAMINA_OK, NULL);

    static stats full, part, bad;
    CHECK(run(sae, X, N, 0, 0, &full), LAMINA_OK, NULL);
    int ok = full.n_rows == N;
    for (int j = 0; j < L; j++) {
        int64_t c = 0, best = -1;
        double sum = 0;
        float mx = 0;
        for (int r = 0; r < N; r++) {
            float z = Z[r * L + j];
            if (z > 0) { c++; sum += z; if (z > mx) { mx = z; best = r; } }
        }
        int64_t hsum = 0;
        for (int b = 0; b < LAMINA_SAE_STATS_BINS; b++) hsum += full.hist[j * LAMINA_SAE_STATS_BINS + b];
        ok = ok && full.count[j] == c && hsum == c && full.max[j] == mx && fabs(full.sum[j] - sum) <= 1e-9 * (1 + sum);
        ok = ok && full.rows[j * T] == (c > 0 ? best : -1);
        for (int s = 1; s < T; s++)   /* sorted: value descending, ties by lower row; unused last */
            ok = ok && (full.rows[j * T + s] == -1 || full.vals[j * T + s - 1] > full.vals[j * T + s] ||
                        (full.vals[j * T + s - 1] == full.vals[j * T + s] && full.rows[j * T + s - 1] < full.rows[j * T + s]));
    }
    expect_true("count, sum, max, histogram total and best row match the dense codes", ok);

    /* Two shards with their offsets, accumulated: equal to one pass (sum up to float64 rounding). The cut
       is on the encoder's 512-row block: OpenBLAS's sgemm can round a row differently (1 ulp) with the
       call's row count and the row's place in it (seen on Zen 4), so only block-aligned shards encode
       bit for bit as the one pass does. */
    CHECK(run(sae, X, 512, 0, 0, &part), LAMINA_OK, NULL);
    CHECK(run(sae, X + 512 * D, N - 512, 512, 1, &part), LAMINA_OK, NULL);
    ok = part.n_rows == N && memcmp(part.count, full.count, sizeof full.count) == 0 &&
         memcmp(part.hist, full.hist, sizeof full.hist) == 0 && memcmp(part.rows, full.rows, sizeof full.rows) == 0 &&
         memcmp(part.vals, full.vals, sizeof full.vals) == 0 && memcmp(part.max, full.max, sizeof full.max) == 0 &&
         memcmp(part.min, full.min, sizeof full.min) == 0;
    for (int j = 0; j < L; j++) ok = ok && fabs(part.sum[j] - full.sum[j]) <= 1e-12 * (1 + full.sum[j]);
    expect_true("accumulate over two shards equals one pass", ok);
    expect_near("mean over all rows of latent 0", full.sum[0] / (double)full.n_rows, part.sum[0] / (double)N, 1e-12);

    /* Bad input; the outputs are unchanged on failure */
    memcpy(&bad, &full, sizeof bad);
    CHECK(lamina_sae_latent_statistics(sae, X, LAMINA_DTYPE_FLOAT32, N, D, 0, -1, 0, &bad.n_rows, bad.count, bad.sum,
                                       bad.max, bad.min, bad.hist, bad.rows, bad.vals, NULL, NULL),
          LAMINA_ERR_INVALID_ARGUMENT, "top_n");
    CHECK(run(sae, X, N, -1, 0, &bad), LAMINA_ERR_INVALID_ARGUMENT, "row_offset");
    CHECK(run(sae, X, N, 0, 3, &bad), LAMINA_ERR_INVALID_ARGUMENT, "accumulate");
    CHECK(run(sae, NULL, N, 0, 0, &bad), LAMINA_ERR_INVALID_ARGUMENT, "x is NULL");
    CHECK(run(NULL, X, N, 0, 0, &bad), LAMINA_ERR_INVALID_ARGUMENT, "sae");
    CHECK(lamina_sae_latent_statistics(sae, X, LAMINA_DTYPE_FLOAT32, N, D, 0, T, 0, &bad.n_rows, bad.count, NULL,
                                       bad.max, bad.min, bad.hist, bad.rows, bad.vals, NULL, NULL),
          LAMINA_ERR_INVALID_ARGUMENT, "sum");
    bad.count[2] = -4;
    CHECK(run(sae, X, N, 0, 1, &bad), LAMINA_ERR_INVALID_ARGUMENT, "count[2]");
    bad.count[2] = full.count[2];
    X[5 * D + 1] = NAN;
    CHECK(run(sae, X, N, 0, 0, &bad), LAMINA_ERR_NON_FINITE, "row 5");
    expect_true("outputs unchanged after the failures", memcmp(&bad, &full, sizeof bad) == 0);
    /* Cancelled during the pass: accumulate = 1 leaves the result unchanged; accumulate = 0 zeroes the
     * histogram (filled in place) and n_rows, the rest unchanged */
    CHECK(lamina_sae_latent_statistics(sae, X + 6 * D, LAMINA_DTYPE_FLOAT32, 100, D, 0, T, 1, &bad.n_rows, bad.count, bad.sum, bad.max, bad.min,
                                       bad.hist, bad.rows, bad.vals, cancel_at_once, NULL), LAMINA_ERR_CANCELLED, "cancelled");
    expect_true("accumulate = 1: unchanged after cancellation", memcmp(&bad, &full, sizeof bad) == 0);
    CHECK(lamina_sae_latent_statistics(sae, X + 6 * D, LAMINA_DTYPE_FLOAT32, 100, D, 0, T, 0, &bad.n_rows, bad.count, bad.sum, bad.max, bad.min,
                                       bad.hist, bad.rows, bad.vals, cancel_at_once, NULL), LAMINA_ERR_CANCELLED, "cancelled");
    int zero = bad.n_rows == 0;
    for (int i = 0; i < L * LAMINA_SAE_STATS_BINS; i++) zero = zero && bad.hist[i] == 0;
    expect_true("accumulate = 0: histogram and n_rows zeroed, the rest unchanged after cancellation",
                zero && memcmp(bad.count, full.count, sizeof full.count) == 0 && memcmp(bad.rows, full.rows, sizeof full.rows) == 0);
    CHECK(lamina_sae_latent_statistics_h5(sae, "/nonexistent/file.h5", "x", 0, T, 0, &bad.n_rows, bad.count, bad.sum,
                                          bad.max, bad.min, bad.hist, bad.rows, bad.vals, NULL, NULL),
          LAMINA_ERR_IO, "nonexistent");
    lamina_sae_free(sae);
    return check_summary();
}
