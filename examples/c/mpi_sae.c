/* Data-parallel SAE training with MPI (include/lamina.h section 16): every rank generates the same
 * activations, keeps its rows of every global batch, and trains with a reducer that sums in a FIXED rank
 * order (MPI_Gather to rank 0, add rank 0, 1, ... in order, MPI_Bcast), so repeated runs are bit-identical
 * whatever MPI_Allreduce's algorithm. Rank 0 also trains one process on all rows and prints the largest
 * weight difference (float rounding only). TopK with AuxK on: a short dead-latent window (dead_tokens = 2
 * global batches) so that AuxK engages within the run; its dead-latent set and residual statistics come
 * from the reduced counts, so the ranks agree on them. Build: make -C examples/c mpi (mpicc through pkg-config);
 * run: mpirun -np 2 examples/c/build/mpi_sae.  Pass "allreduce" to use MPI_Allreduce instead. */
#include <mpi.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lamina.h"

typedef struct { MPI_Comm comm; int rank, size, use_allreduce; double seconds; } reducer_ctx;

static int32_t reduce_sum(void* buffer, int64_t count, int32_t dtype, void* user) {
    reducer_ctx* c = user;
    double t0 = MPI_Wtime();
    MPI_Datatype type = dtype == LAMINA_DTYPE_FLOAT64 ? MPI_DOUBLE : MPI_FLOAT;
    size_t width = dtype == LAMINA_DTYPE_FLOAT64 ? sizeof(double) : sizeof(float);
    if (count > INT32_MAX) return LAMINA_ERR_INVALID_ARGUMENT;   /* MPI counts are int */
    int n = (int)count, rc;
    if (c->use_allreduce) {
        rc = MPI_Allreduce(MPI_IN_PLACE, buffer, n, type, MPI_SUM, c->comm);
    } else {
        void* all = NULL;
        if (c->rank == 0 && !(all = malloc(width * (size_t)n * (size_t)c->size))) return LAMINA_ERR_OUT_OF_MEMORY;
        rc = MPI_Gather(buffer, n, type, all, n, type, 0, c->comm);
        if (rc == MPI_SUCCESS && c->rank == 0) {
            for (int r = 1; r < c->size; r++) {           /* fixed order: rank 0 + rank 1 + ... */
                if (dtype == LAMINA_DTYPE_FLOAT64) {
                    double *acc = all, *part = (double*)all + (size_t)r * n;
                    for (int i = 0; i < n; i++) acc[i] += part[i];
                } else {
                    float *acc = all, *part = (float*)all + (size_t)r * n;
                    for (int i = 0; i < n; i++) acc[i] += part[i];
                }
            }
            memcpy(buffer, all, width * (size_t)n);
        }
        free(all);
        if (rc == MPI_SUCCESS) rc = MPI_Bcast(buffer, n, type, 0, c->comm);
    }
    c->seconds += MPI_Wtime() - t0;
    return rc == MPI_SUCCESS ? LAMINA_OK : LAMINA_ERR_IO;
}

#define CHECK(call) do { if ((call) != LAMINA_OK) { \
    fprintf(stderr, "rank %d: %s failed: %s\n", rank, #call, lamina_last_error()); MPI_Abort(MPI_COMM_WORLD, 1); } } while (0)

int main(int argc, char** argv) {
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    reducer_ctx ctx = { MPI_COMM_WORLD, rank, size, argc > 1 && strcmp(argv[1], "allreduce") == 0, 0 };

    const int64_t d = 32, steps = 40;
    lamina_sae_params p = lamina_sae_default_params();
    p.d_in = d; p.n_latents = 1024; p.k = 8; p.batch_size = 256; p.lr = 1e-3; p.seed = 7;
    p.auxk_alpha = 1.0 / 32; p.dead_tokens = 2 * p.batch_size;   /* AuxK on: dead after 2 batches unfired */
    const int64_t n = steps * p.batch_size;
    float* x = malloc(sizeof(float) * (size_t)(n * d));
    srand(1);                                  /* the same data on every rank */
    for (int64_t i = 0; i < n * d; i++) x[i] = (float)rand() / (float)RAND_MAX - 0.5f + (float)(i % d) * 0.01f;

    /* This rank's rows of every global batch: B / R rows, one more for ranks < B % R. */
    int64_t base = p.batch_size / size, extra = p.batch_size % size;
    int64_t mine = base + (rank < extra), off = rank * base + (rank < extra ? rank : extra);
    float* local = malloc(sizeof(float) * (size_t)(steps * mine * d));
    for (int64_t s = 0; s < steps; s++)
        memcpy(local + s * mine * d, x + (s * p.batch_size + off) * d, sizeof(float) * (size_t)(mine * d));

    lamina_sae* sae = NULL;
    CHECK(lamina_sae_create(&p, &sae));
    CHECK(lamina_sae_set_shuffle(sae, 0));
    CHECK(lamina_sae_set_reducer(sae, reduce_sum, &ctx, rank, size));
    double t0 = MPI_Wtime();
    CHECK(lamina_sae_train(sae, local, LAMINA_DTYPE_FLOAT32, steps * mine, d, 1, NULL, NULL));
    double elapsed = MPI_Wtime() - t0;

    size_t nw = (size_t)(p.n_latents * d);
    float* w = malloc(sizeof(float) * nw);
    CHECK(lamina_sae_get_weights(sae, NULL, NULL, w, NULL, NULL));
    if (rank == 0) {
        lamina_sae* one = NULL;
        float* w1 = malloc(sizeof(float) * nw);
        CHECK(lamina_sae_create(&p, &one));
        CHECK(lamina_sae_set_shuffle(one, 0));
        CHECK(lamina_sae_train(one, x, LAMINA_DTYPE_FLOAT32, n, d, 1, NULL, NULL));
        CHECK(lamina_sae_get_weights(one, NULL, NULL, w1, NULL, NULL));
        double diff = 0;
        for (size_t i = 0; i < nw; i++) diff = fmax(diff, fabs((double)w[i] - (double)w1[i]));
        double* hist = malloc(sizeof(double) * (size_t)(steps * 8));   /* per step: loss, fvu, auxk, mse, sparsity, l0, dead_fraction, lr */
        CHECK(lamina_sae_get_history(sae, hist, steps * 8));
        int auxk_steps = 0;
        for (int64_t s = 0; s < steps; s++) auxk_steps += hist[s * 8 + 2] > 0;
        printf("%d ranks (%s): %lld steps in %.3f s, %.3f s in the reducer; AuxK on %d steps (dead fraction at the end "
               "%.2f); max |W_dec(%d ranks) - W_dec(1 process)| = %.3g\n",
               size, ctx.use_allreduce ? "MPI_Allreduce" : "fixed-order Gather/Bcast", (long long)steps, elapsed,
               ctx.seconds, auxk_steps, hist[(steps - 1) * 8 + 6], size, diff);
        free(w1); free(hist);
        lamina_sae_free(one);
    }
    free(w); free(local); free(x);
    lamina_sae_free(sae);
    MPI_Finalize();
    return 0;
}
