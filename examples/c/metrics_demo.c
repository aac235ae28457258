/*
 * metrics_demo.c -- Lamina from C: three Gaussian blobs, k-means through the handle API, then the
 * cluster-validity indices of the fit and its agreement with the true blobs.
 *
 *   make -C examples/c run LAMINA_PC_DIR=/path/to/dir/with/lamina.pc
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "lamina.h"

enum { N_PER_BLOB = 200, BLOBS = 3, N = N_PER_BLOB * BLOBS, D = 8 };

/* Prints the failing call with Lamina's status and message, and exits. */
static void check(lamina_status status, const char* what) {
    if (status != LAMINA_OK) {
        fprintf(stderr, "%s failed: %s: %s\n", what, lamina_status_string(status), lamina_last_error());
        exit(1);
    }
}

/* A tiny deterministic generator: 64-bit LCG (Knuth's MMIX constants) and Box-Muller. */
static uint64_t rng_state = 2024;

static double uniform(void) {  /* in (0, 1) */
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return ((rng_state >> 11) + 0.5) / 9007199254740992.0;
}

static double gaussian(void) {
    return sqrt(-2.0 * log(uniform())) * cos(6.283185307179586 * uniform());
}

int main(void) {
    static float x[N * D];
    static int32_t truth[N], found[N];

    /* Three blobs with unit spread around centers 4 apart on different axes. */
    for (int i = 0; i < N; i++) {
        int blob = i % BLOBS;
        truth[i] = blob;
        for (int j = 0; j < D; j++) x[i * D + j] = (float)((j == blob ? 4.0 : 0.0) + gaussian());
    }
    printf("lamina %s: %d samples, %d features, %d blobs\n", lamina_version_string(), N, D, BLOBS);

    /* k-means: greedy k-means++, 4 restarts, fixed seed. */
    lamina_kmeans_params params = lamina_kmeans_default_params();
    params.n_clusters = BLOBS;
    params.n_init = 4;
    params.seed = 7;
    lamina_kmeans* model = NULL;
    check(lamina_kmeans_create(&params, &model), "lamina_kmeans_create");
    check(lamina_kmeans_fit(model, x, N, D, NULL), "lamina_kmeans_fit");
    double inertia;
    int32_t iterations;
    check(lamina_kmeans_get_info(model, NULL, NULL, NULL, &inertia, &iterations), "lamina_kmeans_get_info");
    check(lamina_kmeans_get_labels(model, found, N), "lamina_kmeans_get_labels");
    lamina_kmeans_free(model);
    printf("k-means: inertia %.2f after %d iterations\n\n", inertia, (int)iterations);

    /* Internal indices of the k-means partition. */
    double silhouette, db, ch, dunn, gdv, ari;
    check(lamina_silhouette_score(x, N, D, found, LAMINA_DISTANCE_EUCLIDEAN, &silhouette), "lamina_silhouette_score");
    check(lamina_davies_bouldin_score(x, N, D, found, &db), "lamina_davies_bouldin_score");
    check(lamina_calinski_harabasz_score(x, N, D, found, &ch), "lamina_calinski_harabasz_score");
    check(lamina_dunn_index(x, N, D, found, LAMINA_LINKAGE_SINGLE, LAMINA_DIAMETER_MAX, &dunn), "lamina_dunn_index");
    printf("k-means clusters  silhouette         %8.4f  (higher is better, max 1)\n", silhouette);
    printf("                  Davies-Bouldin     %8.4f  (lower is better)\n", db);
    printf("                  Calinski-Harabasz  %8.1f  (higher is better)\n", ch);
    printf("                  Dunn               %8.4f  (higher is better)\n", dunn);

    /* How separable the true blobs are, and how well k-means recovered them. */
    check(lamina_gdv(x, N, D, truth, &gdv), "lamina_gdv");
    check(lamina_adjusted_rand_score(truth, found, N, &ari), "lamina_adjusted_rand_score");
    printf("true blobs        GDV                %8.4f  (more negative = better separated)\n", gdv);
    printf("k-means vs truth  adjusted Rand      %8.4f  (1 = identical partitions)\n", ari);

    /* Errors come back as a status and a message naming the argument. */
    lamina_status status = lamina_silhouette_score(x, N, D, truth, 42, &silhouette);
    printf("\nbad metric 42 -> %s: %s\n", lamina_status_string(status), lamina_last_error());
    return 0;
}
