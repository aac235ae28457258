/*
 * test_vlalign.c -- the VL-SAE's input projections and InfoNCE alignment stage from plain C11.
 *
 * Learns projections of paired data of different widths (vision 12, text 7, related by two fixed linear
 * maps of one latent), checks that training lowers the loss and is deterministic, that the loss of a
 * batch is unchanged by lamina_vlalign_loss_grad and its gradient matches a central finite difference,
 * builds a projected VL-SAE from the learned projections (encode, cross-modal decode, project, save +
 * load; AuxK fields kept, a projected checkpoint resuming a cancelled run bit-identically), and the
 * status and message of bad input: temperature <= 0, recon_weight < 0, batch_size < 2,
 * widths, projection lengths, NaN, zero rows, unknown tensor names, stale handles.
 *
 * Usage: test_vlalign [WORKDIR]   (scratch files go to WORKDIR)
 */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lamina.h"

#include "check.h"

enum { N = 200, DV = 12, DT = 7, DC = 4, R = 3, L = 16, K = 3 };

static float V[N * DV], T[N * DT];

static float uniform(uint32_t* s) {
    *s = *s * 1664525u + 1013904223u;
    return (float)((*s >> 8) & 0xFFFF) / 65536.0f - 0.5f;
}

static void make_data(void) {
    uint32_t s = 4242u;
    float av[R * DV], at[R * DT], z[R];
    for (int i = 0; i < R * DV; i++) av[i] = uniform(&s);
    for (int i = 0; i < R * DT; i++) at[i] = uniform(&s);
    for (int r = 0; r < N; r++) {
        for (int j = 0; j < R; j++) z[j] = 2.0f * uniform(&s);
        for (int c = 0; c < DV; c++) {
            float v = 0.01f * uniform(&s);
            for (int j = 0; j < R; j++) v += z[j] * av[j * DV + c];
            V[r * DV + c] = v;
        }
        for (int c = 0; c < DT; c++) {
            float v = 0.01f * uniform(&s);
            for (int j = 0; j < R; j++) v += z[j] * at[j * DT + c];
            T[r * DT + c] = v;
        }
    }
}

/* Progress callback: non-zero (stop) once step >= *(int*)user. */
static int32_t stop_after(const lamina_progress* info, void* user) { return info->step >= *(const int*)user; }

int main(int argc, char** argv) {
    const char* dir = argc > 1 ? argv[1] : ".";
    char path[1024];
    make_data();
    lamina_vlalign *a = NULL, *b = NULL, *bad = NULL;

    /* Bad parameters */
    CHECK(lamina_vlalign_create(DV, DT, DC, 0.0, 0.1, 1e-3, 32, 0, &bad), LAMINA_ERR_INVALID_ARGUMENT, "temperature is 0");
    CHECK(lamina_vlalign_create(DV, DT, DC, -0.07, 0.1, 1e-3, 32, 0, &bad), LAMINA_ERR_INVALID_ARGUMENT, "temperature");
    CHECK(lamina_vlalign_create(DV, DT, DC, NAN, 0.1, 1e-3, 32, 0, &bad), LAMINA_ERR_INVALID_ARGUMENT, "temperature");
    CHECK(lamina_vlalign_create(DV, DT, DC, 0.07, -1.0, 1e-3, 32, 0, &bad), LAMINA_ERR_INVALID_ARGUMENT, "recon_weight");
    CHECK(lamina_vlalign_create(DV, DT, DC, 0.07, 0.1, 0.0, 32, 0, &bad), LAMINA_ERR_INVALID_ARGUMENT, "lr");
    CHECK(lamina_vlalign_create(DV, DT, DC, 0.07, 0.1, 1e-3, 1, 0, &bad), LAMINA_ERR_INVALID_ARGUMENT, "batch_size is 1");
    CHECK(lamina_vlalign_create(DV, DT, 0, 0.07, 0.1, 1e-3, 32, 0, &bad), LAMINA_ERR_INVALID_ARGUMENT, "d_common is 0");
    CHECK(lamina_vlalign_create(DV, DT, DC, 0.07, 0.1, 1e-3, 32, 0, NULL), LAMINA_ERR_INVALID_ARGUMENT, "out");

    /* Training: deterministic, the loss falls */
    CHECK(lamina_vlalign_create(DV, DT, DC, 0.07, 0.1, 1e-2, 50, 9, &a), LAMINA_OK, "");
    CHECK(lamina_vlalign_create(DV, DT, DC, 0.07, 0.1, 1e-2, 50, 9, &b), LAMINA_OK, "");
    double t0[4], t1[4];
    CHECK(lamina_vlalign_loss_grad(a, V, T, N, DV, DT, t0, NULL, 0, NULL, 0), LAMINA_OK, "");
    CHECK(lamina_vlalign_train(a, V, T, LAMINA_DTYPE_FLOAT32, N, DV, DT, 30, NULL, NULL), LAMINA_OK, "");
    CHECK(lamina_vlalign_train(b, V, T, LAMINA_DTYPE_FLOAT32, N, DV, DT, 30, NULL, NULL), LAMINA_OK, "");
    CHECK(lamina_vlalign_loss_grad(a, V, T, N, DV, DT, t1, NULL, 0, NULL, 0), LAMINA_OK, "");
    expect_true("InfoNCE over all pairs falls by half", t1[1] < 0.5 * t0[1]);
    expect_near("loss = InfoNCE + 0.1 (R_v + R_t)", t1[0], t1[1] + 0.1 * (t1[2] + t1[3]), 1e-9 * fabs(t1[0]));
    float pva[DC * DV], pvb[DC * DV], pt[DC * DT];
    CHECK(lamina_vlalign_get_tensor(a, "P_vision", pva, DC * DV), LAMINA_OK, "");
    CHECK(lamina_vlalign_get_tensor(b, "P_vision", pvb, DC * DV), LAMINA_OK, "");
    CHECK(lamina_vlalign_get_tensor(a, "P_text", pt, DC * DT), LAMINA_OK, "");
    expect_true("same seed: bit-identical P_vision", memcmp(pva, pvb, sizeof pva) == 0);
    int64_t steps = 0, pairs = 0;
    CHECK(lamina_vlalign_get_state(a, &steps, &pairs), LAMINA_OK, "");
    expect_true("30 epochs of 4 steps, 6000 pairs", steps == 120 && pairs == 6000);
    double hist[120 * 5];
    CHECK(lamina_vlalign_get_history(a, hist, 120 * 5), LAMINA_OK, "");
    CHECK(lamina_vlalign_get_history(a, hist, 5), LAMINA_ERR_SHAPE_MISMATCH, "steps * 5");

    /* Gradient against a central difference of the float32 loss (16 pairs, one entry of each P) */
    float gv[DC * DV], gt[DC * DT];
    double terms[4], lp[4], lm[4];
    CHECK(lamina_vlalign_loss_grad(a, V, T, 16, DV, DT, terms, gv, DC * DV, gt, DC * DT), LAMINA_OK, "");
    for (int which = 0; which < 2; which++) {
        float* p = which == 0 ? pva : pt;
        const char* name = which == 0 ? "P_vision" : "P_text";
        int len = which == 0 ? DC * DV : DC * DT, idx = 5;
        float keep = p[idx], h = 1e-2f;
        p[idx] = keep + h;
        CHECK(lamina_vlalign_set_tensor(a, name, p, len), LAMINA_OK, "");
        CHECK(lamina_vlalign_loss_grad(a, V, T, 16, DV, DT, lp, NULL, 0, NULL, 0), LAMINA_OK, "");
        p[idx] = keep - h;
        CHECK(lamina_vlalign_set_tensor(a, name, p, len), LAMINA_OK, "");
        CHECK(lamina_vlalign_loss_grad(a, V, T, 16, DV, DT, lm, NULL, 0, NULL, 0), LAMINA_OK, "");
        p[idx] = keep;
        CHECK(lamina_vlalign_set_tensor(a, name, p, len), LAMINA_OK, "");
        double fd = (lp[0] - lm[0]) / (2.0 * h), g = which == 0 ? gv[idx] : gt[idx];
        expect_near(which == 0 ? "dloss/dP_vision[5] vs finite difference" : "dloss/dP_text[5] vs finite difference",
                    g, fd, 2e-2 * fabs(fd) + 1e-3);
    }

    /* Bad data */
    float vz[N * DV];
    memcpy(vz, V, sizeof vz);
    memset(vz + 7 * DV, 0, DV * sizeof(float));
    CHECK(lamina_vlalign_train(a, vz, T, LAMINA_DTYPE_FLOAT32, N, DV, DT, 1, NULL, NULL), LAMINA_ERR_INVALID_ARGUMENT, "vision row 7");
    vz[7 * DV] = NAN;
    CHECK(lamina_vlalign_train(a, vz, T, LAMINA_DTYPE_FLOAT32, N, DV, DT, 1, NULL, NULL), LAMINA_ERR_NON_FINITE, "row 7");
    CHECK(lamina_vlalign_train(a, V, T, LAMINA_DTYPE_FLOAT32, N, DV, DT + 1, 1, NULL, NULL), LAMINA_ERR_SHAPE_MISMATCH, "d_text = 7");
    CHECK(lamina_vlalign_train(a, V, T, LAMINA_DTYPE_FLOAT32, 1, DV, DT, 1, NULL, NULL), LAMINA_ERR_INVALID_ARGUMENT, "n is 1");
    CHECK(lamina_vlalign_train(a, V, NULL, LAMINA_DTYPE_FLOAT32, N, DV, DT, 1, NULL, NULL), LAMINA_ERR_INVALID_ARGUMENT, "text");
    CHECK(lamina_vlalign_loss_grad(a, V, T, N, DV, DT, terms, gv, DC * DV - 1, gt, DC * DT), LAMINA_ERR_SHAPE_MISMATCH, "grad_vision_len");
    CHECK(lamina_vlalign_get_tensor(a, "W_enc", gv, DC * DV), LAMINA_ERR_INVALID_ARGUMENT, "P_vision");
    float nanp[DC * DV];
    for (int i = 0; i < DC * DV; i++) nanp[i] = NAN;
    CHECK(lamina_vlalign_set_tensor(a, "P_vision", nanp, DC * DV), LAMINA_ERR_NON_FINITE, "values");

    /* A projected VL-SAE from the learned projections */
    lamina_vlsae_params p = lamina_vlsae_default_params();
    p.d_vision = DV; p.d_text = DT; p.n_latents = L; p.k = K; p.batch_size = 50; p.seed = 1;
    CHECK(lamina_vlsae_check_params(&p), LAMINA_ERR_INVALID_ARGUMENT, "lamina_vlsae_create_projected");
    lamina_vlsae *m = NULL, *back = NULL, *badm = NULL;
    CHECK(lamina_vlsae_create_projected(&p, DC, pva, DC * DV, pt, DC * DT - 1, &badm), LAMINA_ERR_SHAPE_MISMATCH, "p_text_len");
    CHECK(lamina_vlsae_create_projected(&p, DC, nanp, DC * DV, pt, DC * DT, &badm), LAMINA_ERR_NON_FINITE, "p_vision");
    CHECK(lamina_vlsae_create_projected(&p, -1, pva, DC * DV, pt, DC * DT, &badm), LAMINA_ERR_INVALID_ARGUMENT, "d_common is -1");
    CHECK(lamina_vlsae_create_projected(&p, DC, pva, DC * DV, pt, DC * DT, &m), LAMINA_OK, "");
    CHECK(lamina_vlsae_train(m, V, T, LAMINA_DTYPE_FLOAT32, N, DV, DT, 3, NULL, NULL), LAMINA_OK, "");
    int64_t dc = 0;
    CHECK(lamina_vlsae_get_d_common(m, &dc), LAMINA_OK, "");
    expect_true("d_common = 4", dc == DC);
    static float z[N * L], rec[N * DT], proj[N * DC], z2[N * L];
    float wenc[L * DC], pt2[DC * DT];
    CHECK(lamina_vlsae_get_tensor(m, "W_enc", wenc, L * DC), LAMINA_OK, "");
    CHECK(lamina_vlsae_get_tensor(m, "P_text", pt2, DC * DT), LAMINA_OK, "");
    expect_true("P_text is not trained by the VL-SAE", memcmp(pt, pt2, sizeof pt) == 0);
    CHECK(lamina_vlsae_encode(m, LAMINA_VLSAE_VISION, V, N, DV, z, N * L), LAMINA_OK, "");
    CHECK(lamina_vlsae_encode(m, LAMINA_VLSAE_VISION, V, N, DT, z, N * L), LAMINA_ERR_SHAPE_MISMATCH, "d_vision = 12");
    CHECK(lamina_vlsae_decode(m, LAMINA_VLSAE_TEXT, z, N, L, rec, N * DT), LAMINA_OK, "");
    CHECK(lamina_vlsae_project(m, LAMINA_VLSAE_TEXT, T, N, DT, proj, N * DC), LAMINA_OK, "");
    double want = 0;
    for (int c = 0; c < DT; c++) want += (double)pt[2 * DT + c] * T[3 * DT + c];
    expect_near("project: (P_text T)[3, 2]", proj[3 * DC + 2], want, 1e-5);
    CHECK(lamina_vlsae_project(m, LAMINA_VLSAE_TEXT, T, N, DT, proj, N * DC - 1), LAMINA_ERR_SHAPE_MISMATCH, "out_len");
    snprintf(path, sizeof path, "%s/vlalign_projected_vlsae", dir);
    CHECK(lamina_vlsae_save(m, path), LAMINA_OK, "");
    CHECK(lamina_vlsae_load(path, &back), LAMINA_OK, "");
    CHECK(lamina_vlsae_encode(back, LAMINA_VLSAE_VISION, V, N, DV, z2, N * L), LAMINA_OK, "");
    expect_true("save + load: bit-identical codes", memcmp(z, z2, sizeof z) == 0);

    /* With the training features: AuxK fields kept by create_projected, a projected checkpoint (P_vision,
     * P_text, d_common) from which a cancelled run resumes bit-identically. */
    lamina_vlsae_params q = p;
    q.auxk_alpha = 0.25; q.k_aux = 5; q.dead_tokens = 60; q.batch_size = 40;
    lamina_vlsae *full = NULL, *part = NULL, *resumed = NULL;
    CHECK(lamina_vlsae_create_projected(&q, DC, pva, DC * DV, pt, DC * DT, &full), LAMINA_OK, "");
    lamina_vlsae_params got;
    CHECK(lamina_vlsae_get_params(full, &got), LAMINA_OK, "");
    expect_true("create_projected keeps auxk_alpha, k_aux, dead_tokens and d_text",
                got.auxk_alpha == 0.25 && got.k_aux == 5 && got.dead_tokens == 60 && got.d_text == DT && got.d_vision == DV);
    CHECK(lamina_vlsae_train(full, V, T, LAMINA_DTYPE_FLOAT32, N, DV, DT, 3, NULL, NULL), LAMINA_OK, "");
    CHECK(lamina_vlsae_create_projected(&q, DC, pva, DC * DV, pt, DC * DT, &part), LAMINA_OK, "");
    int stop_at = 7;
    CHECK(lamina_vlsae_train(part, V, T, LAMINA_DTYPE_FLOAT32, N, DV, DT, 3, stop_after, &stop_at), LAMINA_ERR_CANCELLED, "");
    snprintf(path, sizeof path, "%s/vlalign_projected.ckpt", dir);
    CHECK(lamina_vlsae_save_checkpoint(part, path), LAMINA_OK, "");
    CHECK(lamina_vlsae_load_checkpoint(path, &resumed), LAMINA_OK, "");
    dc = 0;
    CHECK(lamina_vlsae_get_d_common(resumed, &dc), LAMINA_OK, "");
    expect_true("checkpoint keeps d_common", dc == DC);
    CHECK(lamina_vlsae_get_tensor(resumed, "P_text", pt2, DC * DT), LAMINA_OK, "");
    expect_true("checkpoint keeps P_text", memcmp(pt, pt2, sizeof pt) == 0);
    CHECK(lamina_vlsae_train(resumed, V, T, LAMINA_DTYPE_FLOAT32, N, DV, DT, 3, NULL, NULL), LAMINA_OK, "");
    static float wa[L * DV], wb[L * DV];
    float ea[L * DC], eb[L * DC];
    CHECK(lamina_vlsae_get_tensor(full, "W_enc", ea, L * DC), LAMINA_OK, "");
    CHECK(lamina_vlsae_get_tensor(resumed, "W_enc", eb, L * DC), LAMINA_OK, "");
    CHECK(lamina_vlsae_get_tensor(full, "W_dec_vision", wa, L * DV), LAMINA_OK, "");
    CHECK(lamina_vlsae_get_tensor(resumed, "W_dec_vision", wb, L * DV), LAMINA_OK, "");
    expect_true("projected resume: W_enc and W_dec_vision bit-identical to the uninterrupted run",
                memcmp(ea, eb, sizeof ea) == 0 && memcmp(wa, wb, sizeof wa) == 0);
    q.k_aux = L + 1;
    CHECK(lamina_vlsae_create_projected(&q, DC, pva, DC * DV, pt, DC * DT, &badm), LAMINA_ERR_INVALID_ARGUMENT, "k_aux is 17");
    lamina_vlsae_free(full);
    lamina_vlsae_free(part);
    lamina_vlsae_free(resumed);

    lamina_vlalign_free(a);
    CHECK(lamina_vlalign_get_state(a, &steps, NULL), LAMINA_ERR_INVALID_ARGUMENT, "not a live");
    lamina_vlalign_free(NULL);
    lamina_vlalign_free(b);
    lamina_vlsae_free(m);
    lamina_vlsae_free(back);
    return check_summary();
}
