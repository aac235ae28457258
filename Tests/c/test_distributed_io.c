/*
 * test_distributed_io.c -- section 16 additions: lamina_sae_set_reduce_mode (sparse-gradient reduction) and
 * lamina_structural_probe_set_reducer. A one-worker reducer (identity) gives the same model as no reducer,
 * bit for bit, in both reduce modes and for the probe; a reducer error stops the probe with its status; every
 * bad argument is refused with a status and a message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

enum { N = 512, D = 8, L = 128, K = 4, B = 64 };
static float X[N * D];

static int32_t identity(void* buffer, int64_t count, int32_t dtype, void* user) {
    (void)buffer; (void)count; (void)dtype;
    int* calls = (int*)user;
    if (calls) *calls += 1;
    return LAMINA_OK;
}

static int32_t failing(void* buffer, int64_t count, int32_t dtype, void* user) {
    (void)buffer; (void)count; (void)dtype;
    int* calls = (int*)user;
    *calls += 1;
    return *calls >= 5 ? LAMINA_ERR_IO : LAMINA_OK;
}

static void make_data(void) {
    uint32_t s = 777u;
    for (int i = 0; i < N * D; i++) {
        s = s * 1664525u + 1013904223u;
        X[i] = (float)((s >> 8) & 0xFFFF) / 65536.0f - 0.5f;
    }
}

static void train(int mode, int with_reducer, float* w_enc) {
    lamina_sae_params p = lamina_sae_default_params();
    p.d_in = D; p.n_latents = L; p.k = K; p.batch_size = B; p.seed = 5; p.auxk_alpha = 0;
    lamina_sae* sae = NULL;
    CHECK(lamina_sae_create(&p, &sae), LAMINA_OK, NULL);
    CHECK(lamina_sae_set_shuffle(sae, 0), LAMINA_OK, NULL);
    if (with_reducer) {
        CHECK(lamina_sae_set_reducer(sae, identity, NULL, 0, 1), LAMINA_OK, NULL);
        CHECK(lamina_sae_set_reduce_mode(sae, mode), LAMINA_OK, NULL);
    }
    CHECK(lamina_sae_train(sae, X, LAMINA_DTYPE_FLOAT32, N, D, 2, NULL, NULL), LAMINA_OK, NULL);
    float w_dec[L * D], b_enc[L], b_dec[D], thr[L];
    CHECK(lamina_sae_get_weights(sae, w_enc, b_enc, w_dec, b_dec, thr), LAMINA_OK, NULL);
    lamina_sae_free(sae);
}

static void test_reduce_mode(void) {
    static float plain[L * D], dense[L * D], sparse[L * D];
    train(LAMINA_SAE_REDUCE_DENSE, 0, plain);
    train(LAMINA_SAE_REDUCE_DENSE, 1, dense);
    train(LAMINA_SAE_REDUCE_SPARSE_ROWS, 1, sparse);
    expect_true("one-worker dense reducer equals no reducer", memcmp(plain, dense, sizeof plain) == 0);
    expect_true("sparse rows equal dense", memcmp(dense, sparse, sizeof dense) == 0);
    lamina_sae_params p = lamina_sae_default_params();
    p.d_in = D; p.n_latents = L; p.k = K; p.batch_size = B;
    lamina_sae* sae = NULL;
    CHECK(lamina_sae_create(&p, &sae), LAMINA_OK, NULL);
    CHECK(lamina_sae_set_reduce_mode(sae, 2), LAMINA_ERR_INVALID_ARGUMENT, "mode is 2");
    CHECK(lamina_sae_set_reduce_mode(sae, -1), LAMINA_ERR_INVALID_ARGUMENT, "LAMINA_SAE_REDUCE_SPARSE_ROWS");
    CHECK(lamina_sae_set_reduce_mode(NULL, 0), LAMINA_ERR_INVALID_ARGUMENT, "sae");
    lamina_sae_free(sae);
}

/* Items of 4 tokens, gold depth 0,1,2,3 (depth probe). */
enum { ITEMS = 12, LEN = 4, PD = 6 };
static float PX[ITEMS * LEN * PD], PT[ITEMS * LEN];
static int64_t OFF[ITEMS + 1];

static void probe_fit(lamina_reduce_fn fn, int* calls, float* out, lamina_status want) {
    lamina_structural_probe_params p = lamina_structural_probe_default_params();
    p.kind = LAMINA_STRUCTURAL_DEPTH; p.rank = 3; p.epochs = 3; p.batch_size = 5; p.lr = 0.01;
    lamina_structural_probe* probe = NULL;
    CHECK(lamina_structural_probe_create(&p, &probe), LAMINA_OK, NULL);
    if (fn) CHECK(lamina_structural_probe_set_reducer(probe, fn, calls, 0, 1), LAMINA_OK, NULL);
    CHECK(lamina_structural_probe_fit(probe, PX, ITEMS * LEN, PD, OFF, ITEMS, PT, ITEMS * LEN, 0, NULL, NULL), want,
          want == LAMINA_OK ? NULL : "reducer returned status 4");
    CHECK(lamina_structural_probe_get_projection(probe, out, 3 * PD), LAMINA_OK, NULL);
    lamina_structural_probe_free(probe);
}

static void test_probe(void) {
    uint32_t s = 99u;
    for (int i = 0; i < ITEMS * LEN * PD; i++) {
        s = s * 1664525u + 1013904223u;
        PX[i] = (float)((s >> 8) & 0xFFFF) / 65536.0f - 0.5f;
    }
    for (int k = 0; k <= ITEMS; k++) OFF[k] = (int64_t)k * LEN;
    for (int i = 0; i < ITEMS * LEN; i++) PT[i] = (float)(i % LEN);
    float plain[3 * PD], reduced[3 * PD], stopped[3 * PD];
    int calls = 0;
    probe_fit(NULL, NULL, plain, LAMINA_OK);
    probe_fit(identity, &calls, reduced, LAMINA_OK);
    expect_true("one-worker probe reducer equals no reducer", memcmp(plain, reduced, sizeof plain) == 0);
    expect_near("probe trained (B moved from its init)", plain[0] != 0.0f, 1.0, 0.0);
    /* 3 agreements, then 3 steps per epoch for 3 epochs */
    expect_true("probe reducer calls = 3 + 9", calls == 12);
    calls = 0;
    probe_fit(failing, &calls, stopped, LAMINA_ERR_IO);   /* fails in step 2: B of step 1 kept */
    lamina_structural_probe_params p = lamina_structural_probe_default_params();
    lamina_structural_probe* probe = NULL;
    CHECK(lamina_structural_probe_create(&p, &probe), LAMINA_OK, NULL);
    CHECK(lamina_structural_probe_set_reducer(probe, identity, NULL, 1, 1), LAMINA_ERR_INVALID_ARGUMENT, "rank is 1");
    CHECK(lamina_structural_probe_set_reducer(probe, identity, NULL, 0, 0), LAMINA_ERR_INVALID_ARGUMENT, "world_size is 0");
    CHECK(lamina_structural_probe_set_reducer(probe, NULL, NULL, 0, 2), LAMINA_ERR_INVALID_ARGUMENT, "fn is NULL");
    CHECK(lamina_structural_probe_set_reducer(probe, NULL, NULL, 0, 1), LAMINA_OK, NULL);
    CHECK(lamina_structural_probe_set_reducer(NULL, identity, NULL, 0, 1), LAMINA_ERR_INVALID_ARGUMENT, "probe");
    lamina_structural_probe_free(probe);
}

int main(void) {
    make_data();
    test_reduce_mode();
    test_probe();
    return check_summary();
}
