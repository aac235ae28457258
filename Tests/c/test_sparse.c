/*
 * test_sparse.c -- sparse (CSR) input from plain C11: the *_csr functions of header section 18.
 *
 * Known values (the silhouette of CSR rows equals the dense function's on the same rows; k-means from
 * given centers), then every CSR check of the section's intro with its status and message, and bad
 * arguments of the functions themselves.
 *
 * Usage: test_sparse [WORKDIR]
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "lamina.h"

#include "check.h"

/* x = [[0,0,1],[0,0,2],[5,0,0],[6,0,0]] as CSR, labels [0,0,1,1] */
static const float DATA[] = {1, 2, 5, 6};
static const double DATA64[] = {1, 2, 5, 6};
static const int64_t IND[] = {2, 2, 0, 0};
static const int64_t PTR[] = {0, 1, 2, 3, 4};
static const float DENSE[] = {0, 0, 1, 0, 0, 2, 5, 0, 0, 6, 0, 0};
static const int32_t LABELS[] = {0, 0, 1, 1};

int main(void) {
    double out[4], want[4], s = 0;
    CHECK(lamina_silhouette_samples_csr(DATA, IND, PTR, 4, 4, 3, LABELS, LAMINA_DISTANCE_EUCLIDEAN, out), LAMINA_OK, NULL);
    CHECK(lamina_silhouette_samples(DENSE, 4, 3, LABELS, LAMINA_DISTANCE_EUCLIDEAN, want), LAMINA_OK, NULL);
    for (int i = 0; i < 4; i++) expect_near("silhouette csr = dense", out[i], want[i], 1e-6);
    CHECK(lamina_silhouette_score_csr_f64(DATA64, IND, PTR, 4, 4, 3, LABELS, LAMINA_DISTANCE_EUCLIDEAN, &s), LAMINA_OK, NULL);
    expect_near("silhouette score f64", s, (want[0] + want[1] + want[2] + want[3]) / 4, 1e-6);
    double db = 0, db_dense = 0, ch = 0, ch_dense = 0;
    CHECK(lamina_davies_bouldin_score_csr(DATA, IND, PTR, 4, 4, 3, LABELS, &db), LAMINA_OK, NULL);
    CHECK(lamina_davies_bouldin_score(DENSE, 4, 3, LABELS, &db_dense), LAMINA_OK, NULL);
    expect_near("davies-bouldin csr = dense", db, db_dense, 1e-12);
    CHECK(lamina_calinski_harabasz_score_csr_f64(DATA64, IND, PTR, 4, 4, 3, LABELS, &ch), LAMINA_OK, NULL);
    CHECK(lamina_calinski_harabasz_score(DENSE, 4, 3, LABELS, &ch_dense), LAMINA_OK, NULL);
    expect_near("calinski-harabasz csr = dense", ch, ch_dense, 1e-9 * ch_dense);

    /* k-means from given centers: clusters {0,1} and {2,3}, centers (0,0,1.5) and (5.5,0,0) */
    lamina_kmeans_params p = lamina_kmeans_default_params();
    p.n_clusters = 2; p.init = LAMINA_KMEANS_INIT_GIVEN;
    lamina_kmeans* km = NULL;
    CHECK(lamina_kmeans_create(&p, &km), LAMINA_OK, NULL);
    const float init[] = {0, 0, 1, 5, 0, 0};
    CHECK(lamina_kmeans_fit_csr(km, DATA, IND, PTR, 4, 4, 3, init, NULL), LAMINA_OK, NULL);
    double inertia = 0; int32_t n_iter = 0, lab[4];
    CHECK(lamina_kmeans_get_info(km, NULL, NULL, NULL, &inertia, &n_iter), LAMINA_OK, NULL);
    expect_near("k-means inertia", inertia, 0.25 + 0.25 + 0.25 + 0.25, 1e-12);
    double sq[4], dist[8];
    CHECK(lamina_kmeans_predict_csr(km, DATA, IND, PTR, 4, 4, 3, lab, sq), LAMINA_OK, NULL);
    expect_true("k-means labels", lab[0] == 0 && lab[1] == 0 && lab[2] == 1 && lab[3] == 1);
    expect_near("k-means squared distance", sq[2], 0.25, 1e-12);
    CHECK(lamina_kmeans_transform_csr(km, DATA, IND, PTR, 4, 4, 3, dist), LAMINA_OK, NULL);
    expect_near("k-means transform", dist[1], sqrt(5.5 * 5.5 + 1), 1e-6);
    const double w_neg[] = {1, -1, 1, 1};
    CHECK(lamina_kmeans_fit_csr(km, DATA, IND, PTR, 4, 4, 3, init, w_neg), LAMINA_ERR_INVALID_ARGUMENT, "sample_weight[1]");
    CHECK(lamina_kmeans_fit_csr(km, DATA, IND, PTR, 4, 4, 3, NULL, NULL), LAMINA_ERR_INVALID_ARGUMENT, "init_centers");
    CHECK(lamina_kmeans_predict_csr(km, DATA, IND, PTR, 4, 4, 2, lab, NULL), LAMINA_ERR_INVALID_ARGUMENT, "indices[0]");
    CHECK(lamina_kmeans_predict_csr(km, DATA, IND, PTR, 4, 4, 3, NULL, NULL), LAMINA_ERR_INVALID_ARGUMENT, "labels_out");
    CHECK(lamina_kmeans_transform_csr(NULL, DATA, IND, PTR, 4, 4, 3, dist), LAMINA_ERR_INVALID_ARGUMENT, NULL);
    lamina_kmeans_free(km);

    /* the CSR checks, in order */
    const int64_t ptr_start[] = {1, 1, 2, 3, 4}, ptr_down[] = {0, 2, 1, 3, 4}, ptr_short[] = {0, 1, 2, 3, 3};
    const int64_t ind_range[] = {2, 3, 0, 0}, ind_neg[] = {2, -1, 0, 0};
    const int64_t ptr_two[] = {0, 2, 2, 3, 4}, ind_dup[] = {2, 2, 0, 0}, ind_down[] = {2, 1, 0, 0};
    const float nan_data[] = {1, NAN, 5, 6};
    CHECK(lamina_silhouette_score_csr(DATA, IND, PTR, 4, 0, 3, LABELS, 0, &s), LAMINA_ERR_INVALID_ARGUMENT, "n is 0");
    CHECK(lamina_silhouette_score_csr(DATA, IND, PTR, 4, 4, 0, LABELS, 0, &s), LAMINA_ERR_INVALID_ARGUMENT, "d is 0");
    CHECK(lamina_silhouette_score_csr(DATA, IND, PTR, -1, 4, 3, LABELS, 0, &s), LAMINA_ERR_INVALID_ARGUMENT, "nnz is -1");
    CHECK(lamina_silhouette_score_csr(DATA, IND, PTR, 13, 4, 3, LABELS, 0, &s), LAMINA_ERR_INVALID_ARGUMENT, "n * d = 12");
    CHECK(lamina_silhouette_score_csr(DATA, IND, NULL, 4, 4, 3, LABELS, 0, &s), LAMINA_ERR_INVALID_ARGUMENT, "indptr is NULL");
    CHECK(lamina_silhouette_score_csr(DATA, IND, ptr_start, 4, 4, 3, LABELS, 0, &s), LAMINA_ERR_INVALID_ARGUMENT, "indptr[0] is 1");
    CHECK(lamina_silhouette_score_csr(DATA, IND, ptr_down, 4, 4, 3, LABELS, 0, &s), LAMINA_ERR_INVALID_ARGUMENT, "non-decreasing");
    CHECK(lamina_silhouette_score_csr(DATA, IND, ptr_short, 4, 4, 3, LABELS, 0, &s), LAMINA_ERR_SHAPE_MISMATCH, "expected nnz = 4");
    CHECK(lamina_silhouette_score_csr(NULL, IND, PTR, 4, 4, 3, LABELS, 0, &s), LAMINA_ERR_INVALID_ARGUMENT, "data is NULL");
    CHECK(lamina_silhouette_score_csr(DATA, NULL, PTR, 4, 4, 3, LABELS, 0, &s), LAMINA_ERR_INVALID_ARGUMENT, "indices is NULL");
    CHECK(lamina_silhouette_score_csr(DATA, ind_range, PTR, 4, 4, 3, LABELS, 0, &s), LAMINA_ERR_INVALID_ARGUMENT, "indices[1]");
    CHECK(lamina_silhouette_score_csr(DATA, ind_neg, PTR, 4, 4, 3, LABELS, 0, &s), LAMINA_ERR_INVALID_ARGUMENT, "is -1");
    CHECK(lamina_silhouette_score_csr(DATA, ind_dup, ptr_two, 4, 4, 3, LABELS, 0, &s), LAMINA_ERR_INVALID_ARGUMENT, "strictly increasing");
    CHECK(lamina_silhouette_score_csr(DATA, ind_down, ptr_two, 4, 4, 3, LABELS, 0, &s), LAMINA_ERR_INVALID_ARGUMENT, "strictly increasing");
    CHECK(lamina_silhouette_score_csr(nan_data, IND, PTR, 4, 4, 3, LABELS, 0, &s), LAMINA_ERR_NON_FINITE, "data[1]");
    CHECK(lamina_silhouette_score_csr(DATA, IND, PTR, 4, 4, 3, NULL, 0, &s), LAMINA_ERR_INVALID_ARGUMENT, "labels");
    CHECK(lamina_silhouette_score_csr(DATA, IND, PTR, 4, 4, 3, LABELS, 0, NULL), LAMINA_ERR_INVALID_ARGUMENT, "out");
    CHECK(lamina_silhouette_score_csr(DATA, IND, PTR, 4, 4, 3, LABELS, 3, &s), LAMINA_ERR_INVALID_ARGUMENT, "sparse x supports");
    CHECK(lamina_silhouette_score_csr(DATA, IND, PTR, 4, 4, 3, LABELS, 99, &s), LAMINA_ERR_INVALID_ARGUMENT, "metric is 99");
    CHECK(lamina_xie_beni_index_csr(DATA, IND, PTR, 4, 4, 3, LABELS, LAMINA_XIE_BENI_POINT_PAIR, &s), LAMINA_ERR_INVALID_ARGUMENT, "point_pair");
    /* an empty matrix (nnz 0, NULL arrays) is valid */
    const int64_t ptr_empty[] = {0, 0, 0, 0, 0};
    CHECK(lamina_calinski_harabasz_score_csr(NULL, NULL, ptr_empty, 0, 4, 3, LABELS, &s), LAMINA_OK, NULL);
    expect_near("calinski-harabasz of all-zero rows", s, 1.0, 0);
    /* precomputed: non-zero diagonal, not square */
    const float dd[] = {1, 2};
    const int64_t di[] = {0, 1}, dp[] = {0, 1, 2, 2, 2};
    CHECK(lamina_silhouette_score_precomputed_csr(dd, di, dp, 2, 4, 4, LABELS, &s), LAMINA_ERR_INVALID_ARGUMENT, "diagonal");
    const int64_t off_diagonal[] = {2};
    CHECK(lamina_silhouette_score_precomputed_csr(dd + 1, off_diagonal, (const int64_t[]){0, 0, 1, 1, 1}, 1, 4, 5, LABELS, &s),
          LAMINA_ERR_SHAPE_MISMATCH, "Got (4, 5)");
    return check_summary();
}
