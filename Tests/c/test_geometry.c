/*
 * test_geometry.c -- representation geometry (lamina.h section 13) and AQI (section 14) from plain C:
 * linear, debiased and RBF CKA against a direct n x n Gram-matrix implementation written here (1e-10
 * relative), the CKA matrix of one list and between two lists, kernel alignment, hand-checked RDMs and
 * RSA values, the information plane on a hand-checked trajectory, AQI on a hand-checked square, and the
 * bad-input list of issue 11 (n < 4 debiased, constant features, one group / a group of one, bins < 2,
 * fewer than 2 checkpoints, NaN/Inf, ...): each a status and a message naming the argument.
 */
#include <stdint.h>
#include <stdlib.h>

#include "check.h"

enum { N = 12, D1 = 3, D2 = 2 };

/* HSIC-type inner products from explicit n x n Gram matrices (the published definitions). */
static void gram_linear(const float* x, int n, int d, double* k) {
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double s = 0;
            for (int c = 0; c < d; c++) s += (double)x[i * d + c] * (double)x[j * d + c];
            k[i * n + j] = s;
        }
}

static void gram_rbf(const float* x, int n, int d, double sigma, double* k) {
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double s = 0;
            for (int c = 0; c < d; c++) {
                double t = (double)x[i * d + c] - (double)x[j * d + c];
                s += t * t;
            }
            k[i * n + j] = exp(-s / (2 * sigma * sigma));
        }
}

/* <HKH, HLH>_F, H = I - 11^T/n. */
static double hsic_biased(const double* k, const double* l, int n) {
    double* hk = malloc(sizeof(double) * n * n);
    double* hl = malloc(sizeof(double) * n * n);
    const double* src[2] = {k, l};
    double* dst[2] = {hk, hl};
    for (int m = 0; m < 2; m++) {
        double total = 0, row[N];
        for (int i = 0; i < n; i++) {
            row[i] = 0;
            for (int j = 0; j < n; j++) row[i] += src[m][i * n + j];
            total += row[i];
        }
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) dst[m][i * n + j] = src[m][i * n + j] - row[i] / n - row[j] / n + total / ((double)n * n);
    }
    double s = 0;
    for (int i = 0; i < n * n; i++) s += hk[i] * hl[i];
    free(hk);
    free(hl);
    return s;
}

/* Song et al. (2012): [tr(K~L~) + 1'K~1 1'L~1 / ((n-1)(n-2)) - 2/(n-2) 1'K~L~1] / (n(n-3)). */
static double hsic_unbiased(const double* k, const double* l, int n) {
    double tr = 0, sk = 0, sl = 0, kl1 = 0, rk[N], rl[N];
    for (int i = 0; i < n; i++) {
        rk[i] = rl[i] = 0;
        for (int j = 0; j < n; j++) {
            if (i == j) continue;
            tr += k[i * n + j] * l[j * n + i];
            rk[i] += k[i * n + j];
            rl[i] += l[i * n + j];
        }
        sk += rk[i];
        sl += rl[i];
    }
    for (int i = 0; i < n; i++) kl1 += rk[i] * rl[i];
    return (tr + sk * sl / ((double)(n - 1) * (n - 2)) - 2.0 / (n - 2) * kl1) / ((double)n * (n - 3));
}

static double cka_oracle(const double* k, const double* l, int n, int debiased) {
    double (*h)(const double*, const double*, int) = debiased ? hsic_unbiased : hsic_biased;
    return h(k, l, n) / sqrt(h(k, k, n) * h(l, l, n));
}

static void expect_rel(const char* what, double got, double want, double rel) {
    report(fabs(got - want) <= rel * fabs(want), "%s = %.15g (want %.15g, rel %.1e)", what, got, want, rel);
}

int main(void) {
    /* deterministic data: x (N x 3), y (N x 2) a noisy function of x, z (N x 3) unrelated */
    float x[N * D1], y[N * D2], z[N * D1];
    unsigned state = 12345u;
    for (int i = 0; i < N * D1; i++) {
        state = state * 1103515245u + 12345u;
        x[i] = (float)((state >> 8) % 2000) / 500.0f - 2.0f + 1.5f; /* offset: centring matters */
        state = state * 1103515245u + 12345u;
        z[i] = (float)((state >> 8) % 2000) / 700.0f;
    }
    for (int i = 0; i < N; i++) {
        y[i * D2] = tanhf(x[i * D1] - 0.5f * x[i * D1 + 2]);
        y[i * D2 + 1] = x[i * D1 + 1] * x[i * D1 + 1] + 0.1f * z[i * D1];
    }
    double kx[N * N], ky[N * N], out, got;

    /* linear and debiased CKA against the Gram-matrix definitions */
    gram_linear(x, N, D1, kx);
    gram_linear(y, N, D2, ky);
    CHECK(lamina_linear_cka(x, N, D1, y, D2, 0, &out), LAMINA_OK, NULL);
    expect_rel("linear CKA vs n x n Gram implementation", out, cka_oracle(kx, ky, N, 0), 1e-10);
    CHECK(lamina_linear_cka(x, N, D1, y, D2, 1, &out), LAMINA_OK, NULL);
    expect_rel("debiased CKA vs unbiased-HSIC Gram implementation", out, cka_oracle(kx, ky, N, 1), 1e-10);
    float scaled[N * D1]; /* columns permuted and doubled: CKA(x, scaled) = 1 */
    for (int i = 0; i < N; i++)
        for (int c = 0; c < D1; c++) scaled[i * D1 + c] = 2.0f * x[i * D1 + (c + 1) % D1];
    CHECK(lamina_linear_cka(x, N, D1, scaled, D1, 0, &out), LAMINA_OK, NULL);
    expect_near("CKA with a permuted, scaled copy", out, 1.0, 1e-12);

    /* RBF CKA with given bandwidths, and with the median rule */
    gram_rbf(x, N, D1, 1.3, kx);
    gram_rbf(y, N, D2, 0.7, ky);
    CHECK(lamina_rbf_cka(x, N, D1, y, D2, 1.0, 1.3, 0.7, &out), LAMINA_OK, NULL);
    expect_rel("RBF CKA (sigma given) vs n x n kernels", out, cka_oracle(kx, ky, N, 0), 1e-10);
    double mx, my;
    CHECK(lamina_median_distance(x, N, D1, &mx), LAMINA_OK, NULL);
    CHECK(lamina_median_distance(y, N, D2, &my), LAMINA_OK, NULL);
    gram_rbf(x, N, D1, 0.8 * mx, kx);
    gram_rbf(y, N, D2, 0.8 * my, ky);
    CHECK(lamina_rbf_cka(x, N, D1, y, D2, 0.8, 0.0, 0.0, &out), LAMINA_OK, NULL);
    expect_rel("RBF CKA (0.8 x median rule) vs n x n kernels", out, cka_oracle(kx, ky, N, 0), 1e-10);
    float square[4 * 2] = {0, 0, 3, 0, 0, 4, 3, 4}; /* pair distances 3, 4, 5, 5, 4, 3 */
    CHECK(lamina_median_distance(square, 4, 2, &out), LAMINA_OK, NULL);
    expect_near("median distance of the 3-4-5 rectangle", out, 4.0, 1e-12);

    /* CKA matrix: one list (symmetric, diagonal 1) and two lists, equal to the pairwise values */
    const float* list1[3] = {x, y, z};
    int64_t dims1[3] = {D1, D2, D1};
    const float* list2[2] = {z, scaled};
    int64_t dims2[2] = {D1, D1};
    double m1[9], m2[6];
    CHECK(lamina_cka_matrix(list1, dims1, 3, NULL, NULL, 0, N, 1, m1, 9), LAMINA_OK, NULL);
    CHECK(lamina_cka_matrix(list1, dims1, 3, list2, dims2, 2, N, 1, m2, 6), LAMINA_OK, NULL);
    int matrix_ok = 1;
    for (int i = 0; i < 3; i++) {
        matrix_ok &= m1[i * 3 + i] == 1.0;
        for (int j = 0; j < 3; j++) {
            matrix_ok &= m1[i * 3 + j] == m1[j * 3 + i];
            lamina_linear_cka(list1[i], N, dims1[i], list1[j], dims1[j], 1, &got);
            if (i != j) matrix_ok &= fabs(m1[i * 3 + j] - got) <= 1e-12;
        }
        for (int j = 0; j < 2; j++) {
            lamina_linear_cka(list1[i], N, dims1[i], list2[j], dims2[j], 1, &got);
            matrix_ok &= fabs(m2[i * 2 + j] - got) <= 1e-12;
        }
    }
    expect_true("debiased CKA matrix (one list, two lists) equals the pairwise values", matrix_ok);

    /* kernel alignment: [CKA(H, X), CKA(H, one-hot(labels))] */
    int32_t labels[N];
    for (int i = 0; i < N; i++) labels[i] = 7 + (x[i * D1] > 1.5f) + (x[i * D1 + 1] > 1.5f);
    float onehot[N * 3] = {0};
    for (int i = 0; i < N; i++) onehot[i * 3 + (labels[i] - 7)] = 1.0f;
    const float* hl[2] = {y, z};
    int64_t hd[2] = {D2, D1};
    double align[4];
    CHECK(lamina_cka_alignment(hl, hd, 2, N, x, D1, labels, 0, align, 4), LAMINA_OK, NULL);
    int align_ok = 1;
    for (int l = 0; l < 2; l++) {
        lamina_linear_cka(hl[l], N, hd[l], x, D1, 0, &got);
        align_ok &= fabs(align[2 * l] - got) <= 1e-12;
        lamina_linear_cka(hl[l], N, hd[l], onehot, 3, 0, &got);
        align_ok &= fabs(align[2 * l + 1] - got) <= 1e-12;
    }
    expect_true("kernel alignment equals CKA with x and with one-hot(labels)", align_ok);

    /* RDM and RSA on the 3-4-5 rectangle: y = 2 x gives the RDM doubled */
    double rdm[6];
    CHECK(lamina_rdm(square, 4, 2, LAMINA_RDM_EUCLIDEAN, rdm, 6), LAMINA_OK, NULL);
    const double want_rdm[6] = {3, 4, 5, 5, 4, 3};
    int rdm_ok = 1;
    for (int k = 0; k < 6; k++) rdm_ok &= fabs(rdm[k] - want_rdm[k]) <= 1e-12;
    expect_true("euclidean RDM in scipy's condensed order", rdm_ok);
    float twice[4 * 2];
    for (int k = 0; k < 8; k++) twice[k] = 2 * square[k];
    CHECK(lamina_rsa(square, 4, 2, twice, 2, LAMINA_RDM_EUCLIDEAN, LAMINA_RSA_SPEARMAN, &out), LAMINA_OK, NULL);
    expect_near("spearman RSA of x and 2x", out, 1.0, 1e-12);
    CHECK(lamina_rsa(square, 4, 2, twice, 2, LAMINA_RDM_EUCLIDEAN, LAMINA_RSA_PEARSON, &out), LAMINA_OK, NULL);
    expect_near("pearson RSA of x and 2x", out, 1.0, 1e-12);
    CHECK(lamina_rsa(square, 4, 2, twice, 2, LAMINA_RDM_EUCLIDEAN, LAMINA_RSA_KENDALL_TAU_A, &out), LAMINA_OK, NULL);
    expect_near("tau-a of x and 2x: 3 tied pairs of 15 count as neither, 12/15", out, 0.8, 1e-12);
    const double a3[4] = {1, 2, 3, 4}, b3[4] = {1, 3, 2, 8};
    CHECK(lamina_rdm_compare(a3, b3, 4, LAMINA_RSA_KENDALL_TAU_A, &out), LAMINA_OK, NULL);
    expect_near("tau-a of [1,2,3,4] and [1,3,2,8]: (5 - 1) / 6", out, 4.0 / 6.0, 1e-12);
    CHECK(lamina_rdm_compare(a3, b3, 4, LAMINA_RSA_PEARSON, &out), LAMINA_OK, NULL);
    /* means 2.5 and 3.5; centred (-1.5,-.5,.5,1.5) and (-2.5,-.5,-1.5,4.5): 10 / sqrt(5 * 29) */
    expect_near("pearson of [1,2,3,4] and [1,3,2,8]", out, 10.0 / sqrt(5.0 * 29.0), 1e-12);
    CHECK(lamina_rdm_compare(a3, b3, 4, LAMINA_RSA_COSINE, &out), LAMINA_OK, NULL);
    /* not centred: a.b = 1 + 6 + 6 + 32 = 45, |a|^2 = 30, |b|^2 = 78 */
    expect_near("cosine of [1,2,3,4] and [1,3,2,8]: 45 / sqrt(30 * 78)", out, 45.0 / sqrt(30.0 * 78.0), 1e-15);
    CHECK(lamina_rsa(square, 4, 2, twice, 2, LAMINA_RDM_EUCLIDEAN, LAMINA_RSA_COSINE, &out), LAMINA_OK, NULL);
    expect_near("cosine RSA of x and 2x", out, 1.0, 1e-15);
    /* the 3-4-5 RDM [3,4,5,5,4,3] against the RDM of (0,0),(1,0),(0,1),(1,1): [1,1,sqrt2,sqrt2,1,1] */
    const float unit_square[4 * 2] = {0, 0, 1, 0, 0, 1, 1, 1};
    const double r2 = sqrt(2.0), dot = 3 + 4 + 5 * r2 + 5 * r2 + 4 + 3;
    CHECK(lamina_rsa(square, 4, 2, unit_square, 2, LAMINA_RDM_EUCLIDEAN, LAMINA_RSA_COSINE, &out), LAMINA_OK, NULL);
    expect_near("cosine RSA of the 3-4-5 and unit squares", out, dot / sqrt(100.0 * 8.0), 1e-15);

    /* information plane: 4 rows, 1 unit, bins 2 over the layer's range [0, 1] */
    float t0[4] = {0, 0, 1, 1}, t1[4] = {0, 1, 0, 1};
    const float* traj[2] = {t0, t1};
    int32_t ylab[4] = {0, 0, 1, 1};
    double plane[4];
    CHECK(lamina_information_plane(traj, 2, 4, 1, ylab, NULL, 2, LAMINA_BIN_RANGE_LAYER, 0, 0, plane, 4), LAMINA_OK, NULL);
    expect_true("information plane [[1, 1], [1, 0]] bits",
                fabs(plane[0] - 1) < 1e-12 && fabs(plane[1] - 1) < 1e-12 && fabs(plane[2] - 1) < 1e-12 &&
                fabs(plane[3]) < 1e-12);
    int32_t same_input[4] = {5, 5, 6, 6}; /* rows 0,1 are one input: I(X;T) = H(X) + H(T) - H(X,T) */
    double mi[2];
    CHECK(lamina_binned_mutual_information(t1, 4, 1, ylab, same_input, 2, LAMINA_BIN_RANGE_FIXED, 0.0, 1.0, mi), LAMINA_OK, NULL);
    expect_true("binned MI with inputs given: I(X;T) = 1 + 1 - 2 = 0, I(T;Y) = 0",
                fabs(mi[0]) < 1e-12 && fabs(mi[1]) < 1e-12);

    /* AQI on the hand-checked square: groups at (0,0),(0,2) and (4,0),(4,2) */
    float sq[4 * 2] = {0, 0, 0, 2, 4, 0, 4, 2};
    int32_t groups[4] = {0, 0, 1, 1};
    double row[LAMINA_AQI_COLUMNS];
    CHECK(lamina_aqi_score(sq, 4, 2, groups, LAMINA_AQI_DBS_DUNN, 0.5, 0, row, LAMINA_AQI_COLUMNS), LAMINA_OK, NULL);
    expect_true("AQI (a): DBS 0.5, DI 2, AQI 0.5/1.5 + 0.5 * 2/3",
                fabs(row[0] - 0.5) < 1e-12 && fabs(row[1] - 2) < 1e-12 && fabs(row[7] - 2.0 / 3.0) < 1e-12);
    CHECK(lamina_aqi_score(sq, 4, 2, groups, LAMINA_AQI_SILHOUETTE_XB, 0.5, 0, row, LAMINA_AQI_COLUMNS), LAMINA_OK, NULL);
    double s = 1 - 2 / ((4 + sqrt(20.0)) / 2);
    expect_true("AQI (b): S = 1 - 2 / mean(4, sqrt 20), XB = 1/16",
                fabs(row[2] - s) < 1e-7 && fabs(row[3] - 1.0 / 16) < 1e-12 &&
                fabs(row[7] - (0.5 * (s + 1) / 2 + 0.5 / (1 + 1.0 / 16))) < 1e-7);
    const float* sql[2] = {sq, sq};
    int64_t sqd[2] = {2, 2};
    double table[3 * LAMINA_AQI_COLUMNS], w[2];
    CHECK(lamina_aqi_layers(sql, sqd, 2, 4, groups, LAMINA_AQI_DBS_DUNN, 0.5, 0, LAMINA_AQI_POOL_UNIFORM, 0, 1, NULL,
                            table, 3 * LAMINA_AQI_COLUMNS, w), LAMINA_OK, NULL);
    expect_true("AQI layers: uniform weights 1/2, pooled = per-layer AQI",
                w[0] == 0.5 && w[1] == 0.5 && fabs(table[2 * LAMINA_AQI_COLUMNS + 7] - 2.0 / 3.0) < 1e-12);

    /* ---- the CKA matrix of HDF5 datasets: arguments refused before any file is opened, then the file ---- */
    const char* h5_layers[2] = {"/target/layer_0", "/target/layer_1"};
    CHECK(lamina_cka_matrix_h5(NULL, h5_layers, 2, NULL, NULL, 0, 0, m1, 4), LAMINA_ERR_INVALID_ARGUMENT, "path");
    CHECK(lamina_cka_matrix_h5("/nonexistent.h5", h5_layers, 2, "/other.h5", NULL, 0, 0, m1, 4),
          LAMINA_ERR_INVALID_ARGUMENT, "path2 or datasets2");
    CHECK(lamina_cka_matrix_h5("/nonexistent.h5", h5_layers, 2, NULL, NULL, 1, 0, m1, 4), LAMINA_ERR_INVALID_ARGUMENT,
          "datasets2");
    CHECK(lamina_cka_matrix_h5("/nonexistent.h5", h5_layers, 2, NULL, NULL, 0, 0, m1, 9), LAMINA_ERR_SHAPE_MISMATCH,
          "out_len");
    CHECK(lamina_cka_matrix_h5("/nonexistent.h5", h5_layers, 2, NULL, NULL, 0, 0, m1, 4), LAMINA_ERR_IO,
          "/nonexistent.h5");

    /* ---- bad input (the list), each a status naming the argument ---- */
    CHECK(lamina_linear_cka(x, 3, D1, y, D2, 1, &out), LAMINA_ERR_INVALID_ARGUMENT, "n >= 4");
    CHECK(lamina_cka_matrix(list1, dims1, 3, NULL, NULL, 0, 3, 1, m1, 9), LAMINA_ERR_INVALID_ARGUMENT, "n >= 4");
    float constant[N * D1];
    for (int i = 0; i < N * D1; i++) constant[i] = 2.5f;
    CHECK(lamina_linear_cka(x, N, D1, constant, D1, 0, &out), LAMINA_ERR_INVALID_ARGUMENT, "constant");
    const float* with_const[3] = {x, y, constant};
    CHECK(lamina_cka_matrix(with_const, dims1, 3, NULL, NULL, 0, N, 0, m1, 9), LAMINA_ERR_INVALID_ARGUMENT,
          "layer 2 of the first list is constant");
    CHECK(lamina_rbf_cka(constant, N, D1, y, D2, 1.0, 0.0, 0.0, &out), LAMINA_ERR_INVALID_ARGUMENT, "constant");
    int32_t one_class[N] = {0};
    CHECK(lamina_cka_alignment(hl, hd, 2, N, x, D1, one_class, 0, align, 4), LAMINA_ERR_INVALID_ARGUMENT, "2 classes");
    float bad[N * D1];
    memcpy(bad, x, sizeof bad);
    bad[4 * D1 + 2] = NAN;
    CHECK(lamina_linear_cka(x, N, D1, bad, D1, 0, &out), LAMINA_ERR_NON_FINITE, "row 4");
    bad[4 * D1 + 2] = INFINITY;
    CHECK(lamina_rsa(bad, N, D1, x, D1, LAMINA_RDM_CORRELATION, LAMINA_RSA_PEARSON, &out), LAMINA_ERR_NON_FINITE, "row 4");
    const float* with_bad[2] = {x, bad};
    int64_t dims_bad[2] = {D1, D1};
    CHECK(lamina_cka_matrix(with_bad, dims_bad, 2, NULL, NULL, 0, N, 0, m1, 4), LAMINA_ERR_NON_FINITE, "layers[1]");
    CHECK(lamina_rsa(square, 2, 2, twice, 2, LAMINA_RDM_EUCLIDEAN, LAMINA_RSA_SPEARMAN, &out), LAMINA_ERR_INVALID_ARGUMENT, "n is 2");
    CHECK(lamina_rsa(square, 4, 2, twice, 2, LAMINA_RDM_EUCLIDEAN, 7, &out), LAMINA_ERR_INVALID_ARGUMENT, "3 (cosine)");
    /* cosine comparison: an all-zero RDM (identical rows; all-zero given RDM), NaN/Inf */
    float same_rows[4 * 2] = {1.5f, -2, 1.5f, -2, 1.5f, -2, 1.5f, -2};
    CHECK(lamina_rsa(same_rows, 4, 2, square, 2, LAMINA_RDM_EUCLIDEAN, LAMINA_RSA_COSINE, &out), LAMINA_ERR_INVALID_ARGUMENT,
          "first RDM is all zeros");
    CHECK(lamina_rsa(square, 4, 2, same_rows, 2, LAMINA_RDM_EUCLIDEAN, LAMINA_RSA_COSINE, &out), LAMINA_ERR_INVALID_ARGUMENT,
          "second RDM is all zeros");
    const double zeros4[4] = {0, 0, 0, 0};
    CHECK(lamina_rdm_compare(a3, zeros4, 4, LAMINA_RSA_COSINE, &out), LAMINA_ERR_INVALID_ARGUMENT, "second RDM is all zeros");
    const double nan4[4] = {1, NAN, 3, 4};
    CHECK(lamina_rdm_compare(nan4, b3, 4, LAMINA_RSA_COSINE, &out), LAMINA_ERR_NON_FINITE, "rdm1");
    const double inf4[4] = {1, 2, 3, INFINITY};
    CHECK(lamina_rdm_compare(a3, inf4, 4, LAMINA_RSA_COSINE, &out), LAMINA_ERR_NON_FINITE, "rdm2");
    CHECK(lamina_rsa(bad, N, D1, x, D1, LAMINA_RDM_EUCLIDEAN, LAMINA_RSA_COSINE, &out), LAMINA_ERR_NON_FINITE, "row 4");
    bad[4 * D1 + 2] = NAN;
    CHECK(lamina_rsa(x, N, D1, bad, D1, LAMINA_RDM_COSINE, LAMINA_RSA_COSINE, &out), LAMINA_ERR_NON_FINITE, "row 4");
    /* sizes over the pair cap are refused from n / m alone, before the (here too small) buffers are read */
    CHECK(lamina_rdm_compare(a3, b3, (int64_t)1 << 40, LAMINA_RSA_SPEARMAN, &out), LAMINA_ERR_OUT_OF_MEMORY, "ranking");
    CHECK(lamina_rdm_compare(a3, b3, (int64_t)1 << 40, LAMINA_RSA_KENDALL_TAU_A, &out), LAMINA_ERR_OUT_OF_MEMORY, "ranking");
    CHECK(lamina_rdm(square, (int64_t)1 << 33, 1, LAMINA_RDM_EUCLIDEAN, rdm, 6), LAMINA_ERR_OUT_OF_MEMORY, "cap");
    CHECK(lamina_rdm(square, (int64_t)1 << 62, 1, LAMINA_RDM_EUCLIDEAN, rdm, 6), LAMINA_ERR_OUT_OF_MEMORY, "cap");
    CHECK(lamina_rsa(square, (int64_t)1 << 33, 1, twice, 1, LAMINA_RDM_EUCLIDEAN, LAMINA_RSA_SPEARMAN, &out),
          LAMINA_ERR_OUT_OF_MEMORY, "cap");
    CHECK(lamina_information_plane(traj, 2, 4, 1, ylab, NULL, 1, LAMINA_BIN_RANGE_LAYER, 0, 0, plane, 4),
          LAMINA_ERR_INVALID_ARGUMENT, "bins is 1");
    CHECK(lamina_information_plane(traj, 1, 4, 1, ylab, NULL, 2, LAMINA_BIN_RANGE_LAYER, 0, 0, plane, 2),
          LAMINA_ERR_INVALID_ARGUMENT, "n_checkpoints is 1");
    CHECK(lamina_information_plane(traj, 2, 4, 1, ylab, NULL, 2, LAMINA_BIN_RANGE_FIXED, 1.0, 1.0, plane, 4),
          LAMINA_ERR_INVALID_ARGUMENT, "lo < hi");
    float t_nan[4] = {0, 1, NAN, 1};
    const float* traj_nan[2] = {t0, t_nan};
    CHECK(lamina_information_plane(traj_nan, 2, 4, 1, ylab, NULL, 2, LAMINA_BIN_RANGE_LAYER, 0, 0, plane, 4),
          LAMINA_ERR_NON_FINITE, "checkpoints[1]");
    int32_t single[4] = {3, 3, 3, 3}, lonely[4] = {0, 0, 0, 1};
    CHECK(lamina_aqi_score(sq, 4, 2, single, LAMINA_AQI_DBS_DUNN, 0.5, 0, row, LAMINA_AQI_COLUMNS),
          LAMINA_ERR_INVALID_ARGUMENT, "at least 2 groups");
    CHECK(lamina_aqi_score(sq, 4, 2, lonely, LAMINA_AQI_DBS_DUNN, 0.5, 0, row, LAMINA_AQI_COLUMNS),
          LAMINA_ERR_INVALID_ARGUMENT, "1 member");
    CHECK(lamina_aqi_layers(sql, sqd, 2, 4, lonely, LAMINA_AQI_SILHOUETTE_XB, 0.5, 0, LAMINA_AQI_POOL_LEARNED, 0, 1,
                            NULL, table, 3 * LAMINA_AQI_COLUMNS, w), LAMINA_ERR_INVALID_ARGUMENT, "1 member");
    CHECK(lamina_aqi_score(sq, 4, 2, groups, LAMINA_AQI_DBS_DUNN, 1.5, 0, row, LAMINA_AQI_COLUMNS),
          LAMINA_ERR_INVALID_ARGUMENT, "gamma");
    CHECK(lamina_aqi_layers(sql, sqd, 1, 4, groups, LAMINA_AQI_CHI_XB, 0.5, 0, LAMINA_AQI_POOL_NONE, 0, 0, NULL, table,
                            2 * LAMINA_AQI_COLUMNS, w), LAMINA_ERR_INVALID_ARGUMENT, ">= 2 rows");
    float sq_nan[8];
    memcpy(sq_nan, sq, sizeof sq);
    sq_nan[5] = NAN;
    CHECK(lamina_aqi_score(sq_nan, 4, 2, groups, LAMINA_AQI_DBS_DUNN, 0.5, 0, row, LAMINA_AQI_COLUMNS),
          LAMINA_ERR_NON_FINITE, "row 2");
    return check_summary();
}
