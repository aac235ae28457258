/*
 * test_vlsae.c -- the VL-SAE API of Lamina from plain C11.
 *
 * Trains a small VL-SAE on synthetic paired data, checks determinism, dense/sparse encode and
 * cross-modal decode consistency, the concept shift formula, save + load (bit-identical), and the
 * status and message of bad input: params (k, widths), pair shapes, NaN, zero rows, unknown modality,
 * another architecture's directory, bad sparse indices, handles; AuxK params, a checkpoint written after a
 * cancelled step that resumes bit-identically, and the bad arguments of the file, checkpoint and reducer
 * functions.
 *
 * Usage: test_vlsae [WORKDIR]   (scratch files go to WORKDIR)
 */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lamina.h"

#include "check.h"

enum { N = 256, D = 8, L = 32, K = 4, B = 64 };

static float V[N * D], T[N * D];

static void make_data(void) {
    uint32_t s = 777u;
    for (int i = 0; i < N * D; i++) {
        s = s * 1664525u + 1013904223u;
        V[i] = (float)((s >> 8) & 0xFFFF) / 65536.0f - 0.5f + (i % D == 0 ? 1.0f : 0.0f);
        s = s * 1664525u + 1013904223u;
        T[i] = 0.5f * V[i] + (float)((s >> 8) & 0xFFFF) / 65536.0f - 0.5f;
    }
}

static int stop_after_3(const lamina_progress* pr, void* user) {
    (void)user;
    return pr->step >= 3;
}

static lamina_vlsae_params small_params(void) {
    lamina_vlsae_params p = lamina_vlsae_default_params();
    p.d_vision = D;
    p.d_text = D;
    p.n_latents = L;
    p.k = K;
    p.batch_size = B;
    p.seed = 3;
    return p;
}

int main(int argc, char** argv) {
    const char* dir = argc > 1 ? argv[1] : ".";
    char path[1024], other[1024];
    make_data();
    lamina_vlsae_params p = lamina_vlsae_default_params();
    expect_true("default params: paper's n_latents = 8 d, k = 256, lr = 1e-3, batch 512",
                p.n_latents == 8 * p.d_vision && p.k == 256 && p.lr == 1e-3 && p.batch_size == 512);
    expect_true("default params: no AuxK (the authors'; measured), constant lr, k_aux = d / 2",
                p.auxk_alpha == 0 && p.k_aux == 0 && p.warmup_steps == 0 && p.decay == LAMINA_SAE_DECAY_NONE);

    /* Params */
    p = small_params(); p.k = 0;
    CHECK(lamina_vlsae_check_params(&p), LAMINA_ERR_INVALID_ARGUMENT, "params.k is 0");
    p = small_params(); p.k = L + 1;
    CHECK(lamina_vlsae_check_params(&p), LAMINA_ERR_INVALID_ARGUMENT, "n_latents");
    p = small_params(); p.d_text = D + 1;
    CHECK(lamina_vlsae_check_params(&p), LAMINA_ERR_INVALID_ARGUMENT, "d_text is 9");
    CHECK(lamina_vlsae_check_params(NULL), LAMINA_ERR_INVALID_ARGUMENT, "params");

    /* Train twice: bit-identical */
    p = small_params();
    lamina_vlsae *a = NULL, *b = NULL, *c = NULL;
    CHECK(lamina_vlsae_create(&p, &a), LAMINA_OK, "");
    CHECK(lamina_vlsae_create(&p, &b), LAMINA_OK, "");
    CHECK(lamina_vlsae_train(a, V, T, LAMINA_DTYPE_FLOAT32, N, D, D, 2, NULL, NULL), LAMINA_OK, "");
    CHECK(lamina_vlsae_train(b, V, T, LAMINA_DTYPE_FLOAT32, N, D, D, 2, NULL, NULL), LAMINA_OK, "");
    static float wa[L * D], wb[L * D];
    CHECK(lamina_vlsae_get_tensor(a, "W_dec_text", wa, L * D), LAMINA_OK, "");
    CHECK(lamina_vlsae_get_tensor(b, "W_dec_text", wb, L * D), LAMINA_OK, "");
    expect_true("same seed: bit-identical W_dec_text", memcmp(wa, wb, sizeof wa) == 0);
    int64_t steps = 0, pairs = 0;
    CHECK(lamina_vlsae_get_state(a, &steps, &pairs), LAMINA_OK, "");
    expect_true("8 steps, 512 pairs", steps == 2 * N / B && pairs == 2 * N);

    /* AuxK params; a checkpoint after a cancelled step resumes bit-identically */
    p = small_params(); p.k_aux = L + 1;
    CHECK(lamina_vlsae_check_params(&p), LAMINA_ERR_INVALID_ARGUMENT, "k_aux is 33");
    p = small_params(); p.auxk_alpha = -1;
    CHECK(lamina_vlsae_check_params(&p), LAMINA_ERR_INVALID_ARGUMENT, "auxk_alpha");
    {
        lamina_vlsae_params q = small_params();
        q.dead_tokens = 64; q.auxk_alpha = 0.1;
        lamina_vlsae *full = NULL, *part = NULL, *back = NULL;
        CHECK(lamina_vlsae_create(&q, &full), LAMINA_OK, "");
        CHECK(lamina_vlsae_create(&q, &part), LAMINA_OK, "");
        CHECK(lamina_vlsae_train(full, V, T, LAMINA_DTYPE_FLOAT32, N, D, D, 2, NULL, NULL), LAMINA_OK, "");
        CHECK(lamina_vlsae_train(part, V, T, LAMINA_DTYPE_FLOAT32, N, D, D, 2, stop_after_3, NULL), LAMINA_ERR_CANCELLED, "step 3");
        snprintf(path, sizeof path, "%s/vlsae_c.ckpt", dir);
        CHECK(lamina_vlsae_save_checkpoint(part, path), LAMINA_OK, "");
        CHECK(lamina_vlsae_load_checkpoint(path, &back), LAMINA_OK, "");
        int64_t re = 0, ep = -1, bi = -1;
        CHECK(lamina_vlsae_get_position(back, &re, &ep, &bi), LAMINA_OK, "");
        expect_true("checkpoint position: run of 2 epochs, epoch 0, batch 3", re == 2 && ep == 0 && bi == 3);
        CHECK(lamina_vlsae_train(back, V, T, LAMINA_DTYPE_FLOAT32, N, D, D, 3, NULL, NULL), LAMINA_ERR_INVALID_ARGUMENT, "epochs = 2");
        CHECK(lamina_vlsae_train(back, V, T, LAMINA_DTYPE_FLOAT32, N, D, D, 2, NULL, NULL), LAMINA_OK, "");
        static float f1[L * D], f2[L * D];
        CHECK(lamina_vlsae_get_tensor(full, "W_enc", f1, L * D), LAMINA_OK, "");
        CHECK(lamina_vlsae_get_tensor(back, "W_enc", f2, L * D), LAMINA_OK, "");
        expect_true("resumed from the checkpoint: bit-identical W_enc", memcmp(f1, f2, sizeof f1) == 0);
        lamina_vlsae* none = NULL;
        snprintf(other, sizeof other, "%s/no_such.ckpt", dir);
        CHECK(lamina_vlsae_load_checkpoint(other, &none), LAMINA_ERR_IO, "");
        CHECK(lamina_vlsae_load_checkpoint(NULL, &none), LAMINA_ERR_INVALID_ARGUMENT, "path");
        CHECK(lamina_vlsae_save_checkpoint(NULL, path), LAMINA_ERR_INVALID_ARGUMENT, "vlsae");
        CHECK(lamina_vlsae_train_h5(part, NULL, "v", "t", 1, NULL, NULL), LAMINA_ERR_INVALID_ARGUMENT, "path");
        CHECK(lamina_vlsae_train_h5(part, other, "v", NULL, 1, NULL, NULL), LAMINA_ERR_INVALID_ARGUMENT, "text_dataset");
        CHECK(lamina_vlsae_train_h5(part, other, "v", "t", 1, NULL, NULL), LAMINA_ERR_IO, "");
        CHECK(lamina_vlsae_set_reducer(part, NULL, NULL, 1, 2), LAMINA_ERR_INVALID_ARGUMENT, "fn is NULL");
        CHECK(lamina_vlsae_set_reducer(part, NULL, NULL, 0, 1), LAMINA_OK, "");
        lamina_vlsae_free(full);
        lamina_vlsae_free(part);
        lamina_vlsae_free(back);
    }

    /* Encode, sparse encode, cross-modal decode */
    static float z[N * L], xt1[N * D], xt2[N * D], shifted[N * D], zt[N * L], zmix[N * L], xmix[N * D];
    static int32_t idx[N * K];
    static float val[N * K];
    CHECK(lamina_vlsae_encode(a, LAMINA_VLSAE_VISION, V, N, D, z, N * L), LAMINA_OK, "");
    CHECK(lamina_vlsae_encode_sparse(a, LAMINA_VLSAE_VISION, V, N, D, K, idx, val), LAMINA_OK, "");
    int nz_ok = 1;
    for (int r = 0; r < N; r++) {
        int nz = 0;
        for (int j = 0; j < L; j++) nz += z[r * L + j] > 0;
        if (nz != K) nz_ok = 0;
        for (int s = 0; s < K; s++) if (z[r * L + idx[r * K + s]] != val[r * K + s]) nz_ok = 0;
    }
    expect_true("k active per row, sparse = dense entries", nz_ok);
    CHECK(lamina_vlsae_decode(a, LAMINA_VLSAE_TEXT, z, N, L, xt1, N * D), LAMINA_OK, "");
    CHECK(lamina_vlsae_decode_sparse(a, LAMINA_VLSAE_TEXT, idx, val, N, K, xt2, N * D), LAMINA_OK, "");
    double diff = 0;
    for (int i = 0; i < N * D; i++) diff = fmax(diff, fabs(xt1[i] - xt2[i]));
    expect_near("image decoded as text: dense = sparse", diff, 0, 1e-5);

    /* Concept shift = its formula through encode/decode */
    CHECK(lamina_vlsae_concept_shift(a, V, T, N, D, D, 0.8, 0.9, shifted, N * D), LAMINA_OK, "");
    CHECK(lamina_vlsae_encode(a, LAMINA_VLSAE_TEXT, T, N, D, zt, N * L), LAMINA_OK, "");
    for (int i = 0; i < N * L; i++) zmix[i] = 0.1f * zt[i] + 0.9f * z[i];
    CHECK(lamina_vlsae_decode(a, LAMINA_VLSAE_TEXT, zmix, N, L, xmix, N * D), LAMINA_OK, "");
    diff = 0;
    for (int i = 0; i < N * D; i++) diff = fmax(diff, fabs(shifted[i] - (T[i] + 0.8f * (xmix[i] - T[i]))));
    expect_near("concept shift formula", diff, 0, 1e-5);

    /* Save / load */
    snprintf(path, sizeof path, "%s/vlsae_c", dir);
    CHECK(lamina_vlsae_save(a, path), LAMINA_OK, "");
    CHECK(lamina_vlsae_load(path, &c), LAMINA_OK, "");
    CHECK(lamina_vlsae_get_tensor(c, "W_dec_text", wb, L * D), LAMINA_OK, "");
    expect_true("load: bit-identical W_dec_text", memcmp(wa, wb, sizeof wa) == 0);
    lamina_vlsae* bad = NULL;
    lamina_sae_params sp = lamina_sae_default_params();
    sp.d_in = D; sp.n_latents = L; sp.k = K; sp.batch_size = B;
    lamina_sae* sae = NULL;
    CHECK(lamina_sae_create(&sp, &sae), LAMINA_OK, "");
    CHECK(lamina_sae_train(sae, V, LAMINA_DTYPE_FLOAT32, N, D, 1, NULL, NULL), LAMINA_OK, "");
    snprintf(other, sizeof other, "%s/vlsae_c_topk", dir);
    CHECK(lamina_sae_save(sae, other, LAMINA_SAE_FORMAT_SAELENS), LAMINA_OK, "");
    CHECK(lamina_vlsae_load(other, &bad), LAMINA_ERR_FORMAT, "not a VL-SAE");
    expect_true("failed load leaves *out NULL", bad == NULL);
    lamina_sae_free(sae);

    /* Bad input */
    static float Vbad[N * D];
    memcpy(Vbad, V, sizeof V);
    Vbad[10 * D + 3] = NAN;
    CHECK(lamina_vlsae_train(b, Vbad, T, LAMINA_DTYPE_FLOAT32, N, D, D, 1, NULL, NULL), LAMINA_ERR_NON_FINITE, "row 10");
    memcpy(Vbad, V, sizeof V);
    memset(Vbad + 7 * D, 0, D * sizeof(float));
    CHECK(lamina_vlsae_train(b, Vbad, T, LAMINA_DTYPE_FLOAT32, N, D, D, 1, NULL, NULL), LAMINA_ERR_INVALID_ARGUMENT, "vision row 7");
    CHECK(lamina_vlsae_encode(b, LAMINA_VLSAE_TEXT, Vbad, N, D, z, N * L), LAMINA_ERR_INVALID_ARGUMENT, "row 7");
    CHECK(lamina_vlsae_train(b, V, T, LAMINA_DTYPE_FLOAT32, N, D, D - 1, 1, NULL, NULL), LAMINA_ERR_SHAPE_MISMATCH, "d_text");
    CHECK(lamina_vlsae_encode(b, 5, V, N, D, z, N * L), LAMINA_ERR_INVALID_ARGUMENT, "modality is 5");
    CHECK(lamina_vlsae_encode(b, LAMINA_VLSAE_VISION, V, N, D, z, N * L - 1), LAMINA_ERR_SHAPE_MISMATCH, "out_len");
    idx[3] = L;
    CHECK(lamina_vlsae_decode_sparse(b, LAMINA_VLSAE_VISION, idx, val, N, K, xt2, N * D), LAMINA_ERR_INVALID_ARGUMENT, "n_latents");
    CHECK(lamina_vlsae_concept_shift(b, V, T, N, D, D, 0.8, 2.0, shifted, N * D), LAMINA_ERR_INVALID_ARGUMENT, "beta");
    CHECK(lamina_vlsae_train(b, V, NULL, LAMINA_DTYPE_FLOAT32, N, D, D, 1, NULL, NULL), LAMINA_ERR_INVALID_ARGUMENT, "text is NULL");
    CHECK(lamina_vlsae_get_tensor(b, "nope", wa, L * D), LAMINA_ERR_INVALID_ARGUMENT, "W_enc");

    /* Handles */
    CHECK(lamina_vlsae_encode(NULL, 0, V, N, D, z, N * L), LAMINA_ERR_INVALID_ARGUMENT, "vlsae");
    lamina_vlsae_free(NULL);
    lamina_vlsae_free(a);
    CHECK(lamina_vlsae_encode(a, 0, V, N, D, z, N * L), LAMINA_ERR_INVALID_ARGUMENT, "not a live");
    lamina_vlsae_free(a);
    lamina_vlsae_free(b);
    lamina_vlsae_free(c);
    return check_summary();
}
