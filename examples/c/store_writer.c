/*
 * store_writer.c -- writing activations to a Lamina activation store from a program's own loop.
 *
 * A model evaluation loop (here a tiny two-layer network standing in for a transformer) calls an
 * "eval callback" with each layer's output for a batch of tokens, the way llama.cpp's
 * cb_eval(struct ggml_tensor * t, bool ask, void * user_data) sees every tensor of the graph. The
 * callback copies the rows it wants into a buffer per layer; when the buffers hold ROWS_PER_APPEND
 * tokens, one lamina_store_append commits them for both layers at once (every dataset of a store
 * advances together: row i of "layer1" and of "layer2" is the same token). An append is crash-safe:
 * once it returns, killing this program loses nothing that was appended.
 *
 *   make -C examples/c run      (or: cc store_writer.c $(pkg-config --cflags --libs lamina))
 *   ./store_writer [store directory]   (default: build/acts_store; reopened and appended to if present)
 *
 * Then, from Python: lamina.io.read_store(dir, "layer2"), SparseAutoencoder(...).fit(dir, dataset="layer2"),
 * or h5py.File(dir + "/seg-00000001.h5")["layer2"].
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lamina.h"

#define D_MODEL 64
#define D_HIDDEN 128
#define ROWS_PER_APPEND 4096   /* appends should be large: each one writes a new sealed segment file */

typedef struct {
    lamina_store* store;
    float* rows[2];        /* per layer: ROWS_PER_APPEND x width */
    int64_t widths[2];
    int64_t filled;        /* tokens buffered */
    int64_t appended;      /* tokens committed */
} capture;

#define CHECK(call)                                                                         \
    do {                                                                                    \
        lamina_status s_ = (call);                                                          \
        if (s_ != LAMINA_OK) {                                                              \
            fprintf(stderr, "%s failed: %s: %s\n", #call, lamina_status_string(s_), lamina_last_error()); \
            exit(1);                                                                        \
        }                                                                                   \
    } while (0)

static void flush(capture* c) {
    if (c->filled == 0) return;
    const char* names[2] = {"layer1", "layer2"};
    const void* data[2] = {c->rows[0], c->rows[1]};
    CHECK(lamina_store_append(c->store, 2, names, c->widths, data, LAMINA_DTYPE_FLOAT32, c->filled));
    c->appended += c->filled;
    c->filled = 0;
}

/* The eval callback: layer `layer` produced `n_tokens` rows of `width` floats. All layers of one
 * forward pass report the same tokens; the buffer advances after the last layer. */
static int on_layer_output(int layer, const float* out, int64_t n_tokens, int64_t width, void* user) {
    capture* c = (capture*)user;
    int64_t done = 0;
    while (done < n_tokens) {
        int64_t take = n_tokens - done;
        if (take > ROWS_PER_APPEND - c->filled) take = ROWS_PER_APPEND - c->filled;
        memcpy(c->rows[layer] + c->filled * width, out + done * width, (size_t)(take * width) * sizeof(float));
        done += take;
        if (layer == 1) {              /* the last layer of the pass: the tokens are complete */
            c->filled += take;
            if (c->filled == ROWS_PER_APPEND) flush(c);
        } else if (take < n_tokens) {
            /* a pass larger than the free space: keep it simple and require passes <= ROWS_PER_APPEND */
            fprintf(stderr, "a pass of %lld tokens does not fit the buffer\n", (long long)n_tokens);
            return 1;
        }
    }
    return 0;
}

/* The "model": h1 = tanh(W1 x), h2 = W2 h1, for a batch of token embeddings x. */
static void forward(const float* x, int64_t n, const float* w1, const float* w2, float* h1, float* h2,
                    int (*cb)(int, const float*, int64_t, int64_t, void*), void* user) {
    for (int64_t t = 0; t < n; t++)
        for (int j = 0; j < D_HIDDEN; j++) {
            float s = 0;
            for (int i = 0; i < D_MODEL; i++) s += w1[j * D_MODEL + i] * x[t * D_MODEL + i];
            h1[t * D_HIDDEN + j] = tanhf(s);
        }
    cb(0, h1, n, D_HIDDEN, user);
    for (int64_t t = 0; t < n; t++)
        for (int j = 0; j < D_MODEL; j++) {
            float s = 0;
            for (int i = 0; i < D_HIDDEN; i++) s += w2[j * D_HIDDEN + i] * h1[t * D_HIDDEN + i];
            h2[t * D_MODEL + j] = s;
        }
    cb(1, h2, n, D_MODEL, user);
}

static float uniform(unsigned* state) {
    *state = *state * 1664525u + 1013904223u;
    return (float)(*state >> 8) / 16777216.0f - 0.5f;
}

int main(int argc, char** argv) {
    const char* path = argc > 1 ? argv[1] : "build/acts_store";
    enum { PASSES = 40, TOKENS_PER_PASS = 256 };
    unsigned rng = 12345u;
    float* w1 = malloc(sizeof(float) * D_HIDDEN * D_MODEL);
    float* w2 = malloc(sizeof(float) * D_MODEL * D_HIDDEN);
    float* x = malloc(sizeof(float) * TOKENS_PER_PASS * D_MODEL);
    float* h1 = malloc(sizeof(float) * TOKENS_PER_PASS * D_HIDDEN);
    float* h2 = malloc(sizeof(float) * TOKENS_PER_PASS * D_MODEL);
    capture c = {0};
    c.widths[0] = D_HIDDEN;
    c.widths[1] = D_MODEL;
    c.rows[0] = malloc(sizeof(float) * ROWS_PER_APPEND * D_HIDDEN);
    c.rows[1] = malloc(sizeof(float) * ROWS_PER_APPEND * D_MODEL);
    if (!w1 || !w2 || !x || !h1 || !h2 || !c.rows[0] || !c.rows[1]) { fprintf(stderr, "out of memory\n"); return 1; }
    for (int i = 0; i < D_HIDDEN * D_MODEL; i++) { w1[i] = uniform(&rng) * 0.5f; w2[i] = uniform(&rng) * 0.5f; }

    lamina_store_params params = lamina_store_default_params();
    params.compression = 1;
    CHECK(lamina_store_open(path, &params, &c.store));
    int64_t before = 0;
    CHECK(lamina_store_rows(c.store, &before));

    for (int pass = 0; pass < PASSES; pass++) {         /* the program's own evaluation loop */
        for (int i = 0; i < TOKENS_PER_PASS * D_MODEL; i++) x[i] = uniform(&rng) * 4.0f;
        forward(x, TOKENS_PER_PASS, w1, w2, h1, h2, on_layer_output, &c);
    }
    flush(&c);                                          /* the last partial buffer */
    CHECK(lamina_store_close(c.store));

    int64_t rows = 0, width = 0;
    lamina_dtype dtype = -1;
    CHECK(lamina_store_info(path, "layer2", &rows, &width, &dtype));
    float first[D_MODEL];
    CHECK(lamina_store_read_f32(path, "layer2", before, 1, first, D_MODEL));
    printf("store %s: %lld rows before, %lld appended, now %lld rows of layer2 (width %lld, dtype %d)\n", path,
           (long long)before, (long long)c.appended, (long long)rows, (long long)width, (int)dtype);
    printf("first appended row of layer2 starts %.5f %.5f %.5f\n", first[0], first[1], first[2]);
    free(w1); free(w2); free(x); free(h1); free(h2); free(c.rows[0]); free(c.rows[1]);
    return rows == before + PASSES * TOKENS_PER_PASS ? 0 : 1;
}
