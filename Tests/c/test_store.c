/*
 * test_store.c -- the activation store from C (lamina.h, "Activation store"): open, append for two
 * datasets, read back, reopen to append, and bad input (a file as store path, a missing parent, another
 * width or dtype, a missing dataset, bad params, dead handles). The SIGKILL test is in Python
 * (bindings/python/tests/test_store.py). Usage: test_store <scratch directory>.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"

static void rm_store(const char* dir) {
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

int main(int argc, char** argv) {
    const char* work = argc > 1 ? argv[1] : ".";
    char dir[1024], file[1024], missing[1024];
    snprintf(dir, sizeof dir, "%s/c_store", work);
    snprintf(file, sizeof file, "%s/c_store_file.h5", work);
    snprintf(missing, sizeof missing, "%s/no/such/parent/store", work);
    rm_store(dir);

    float a[3 * 4], b[3 * 2];
    for (int i = 0; i < 12; i++) a[i] = (float)i * 0.5f;
    for (int i = 0; i < 6; i++) b[i] = -(float)i;
    const char* names[2] = {"resid", "mlp"};
    int64_t widths[2] = {4, 2};
    const void* data[2] = {a, b};

    lamina_store* s = NULL;
    lamina_store_params p = lamina_store_default_params();
    expect_true("default params: no compression, not durable", p.compression == 0 && p.durable == 0 && p.chunk_rows == 0);
    p.compression = 3;
    CHECK(lamina_store_open(dir, &p, &s), LAMINA_OK, NULL);
    CHECK(lamina_store_append(s, 2, names, widths, data, LAMINA_DTYPE_FLOAT32, 3), LAMINA_OK, NULL);
    CHECK(lamina_store_append(s, 2, names, widths, data, LAMINA_DTYPE_FLOAT32, 2), LAMINA_OK, NULL);
    int64_t rows = 0;
    CHECK(lamina_store_rows(s, &rows), LAMINA_OK, NULL);
    expect_true("5 rows after appends of 3 and 2", rows == 5);

    /* Bad appends: refused, store unchanged, handle usable. */
    int64_t wide[2] = {5, 2};
    CHECK(lamina_store_append(s, 2, names, wide, data, LAMINA_DTYPE_FLOAT32, 1), LAMINA_ERR_SHAPE_MISMATCH, "width 4");
    CHECK(lamina_store_append(s, 2, names, widths, data, LAMINA_DTYPE_FLOAT16, 1), LAMINA_ERR_INVALID_ARGUMENT, "float32");
    CHECK(lamina_store_append(s, 1, names, widths, data, LAMINA_DTYPE_FLOAT32, 1), LAMINA_ERR_INVALID_ARGUMENT, "'mlp'");
    CHECK(lamina_store_append(s, 2, names, widths, data, 7, 1), LAMINA_ERR_INVALID_ARGUMENT, "dtype");
    CHECK(lamina_store_append(s, 2, names, widths, NULL, LAMINA_DTYPE_FLOAT32, 1), LAMINA_ERR_INVALID_ARGUMENT, "data");
    CHECK(lamina_store_append(s, 2, names, widths, data, LAMINA_DTYPE_FLOAT32, 0), LAMINA_ERR_INVALID_ARGUMENT, "n_rows");
    CHECK(lamina_store_rows(s, &rows), LAMINA_OK, NULL);
    expect_true("still 5 rows after the refused appends", rows == 5);

    /* A second writer is refused while the first holds the store. */
    lamina_store* s2 = NULL;
    CHECK(lamina_store_open(dir, NULL, &s2), LAMINA_ERR_IO, "another writer");
    CHECK(lamina_store_close(s), LAMINA_OK, NULL);
    CHECK(lamina_store_close(s), LAMINA_ERR_INVALID_ARGUMENT, "store");
    CHECK(lamina_store_close(NULL), LAMINA_OK, NULL);

    /* Read back; reopen and append (datasets in another order). */
    int64_t w = 0;
    lamina_dtype t = -1;
    CHECK(lamina_store_info(dir, "resid", &rows, &w, &t), LAMINA_OK, NULL);
    expect_true("info: 5 rows, width 4, float32", rows == 5 && w == 4 && t == LAMINA_DTYPE_FLOAT32);
    float back[5 * 4];
    CHECK(lamina_store_read_f32(dir, "resid", 0, 5, back, 20), LAMINA_OK, NULL);
    expect_true("rows 0-2 are batch 1, rows 3-4 batch 2", memcmp(back, a, 12 * sizeof(float)) == 0 &&
                memcmp(back + 12, a, 8 * sizeof(float)) == 0);
    CHECK(lamina_store_read_f32(dir, "resid", 4, 2, back, 8), LAMINA_ERR_INVALID_ARGUMENT, "out of range");
    CHECK(lamina_store_read_f32(dir, "resid", 0, 2, back, 7), LAMINA_ERR_SHAPE_MISMATCH, "out_len");
    CHECK(lamina_store_open(dir, NULL, &s), LAMINA_OK, NULL);
    const char* swapped[2] = {"mlp", "resid"};
    int64_t swapped_w[2] = {2, 4};
    const void* swapped_d[2] = {b, a};
    CHECK(lamina_store_append(s, 2, swapped, swapped_w, swapped_d, LAMINA_DTYPE_FLOAT32, 1), LAMINA_OK, NULL);
    CHECK(lamina_store_rows(s, &rows), LAMINA_OK, NULL);
    expect_true("6 rows after reopening and appending 1", rows == 6);
    CHECK(lamina_store_close(s), LAMINA_OK, NULL);

    /* Bad paths and params. */
    FILE* f = fopen(file, "wb");
    if (f) { fputs("\x89HDF\r\n\x1a\n truncated", f); fclose(f); }
    s = NULL;
    CHECK(lamina_store_open(file, NULL, &s), LAMINA_ERR_FORMAT, "not an activation store");
    expect_true("*out untouched on failure", s == NULL);
    CHECK(lamina_store_open(missing, NULL, &s), LAMINA_ERR_IO, "cannot create");
    CHECK(lamina_store_open(NULL, NULL, &s), LAMINA_ERR_INVALID_ARGUMENT, "path");
    CHECK(lamina_store_open(dir, NULL, NULL), LAMINA_ERR_INVALID_ARGUMENT, "out");
    p = lamina_store_default_params();
    p.durable = 2;
    CHECK(lamina_store_open(dir, &p, &s), LAMINA_ERR_INVALID_ARGUMENT, "durable");
    p = lamina_store_default_params();
    p.chunk_rows = -1;
    CHECK(lamina_store_open(dir, &p, &s), LAMINA_ERR_INVALID_ARGUMENT, "chunk_rows");
    CHECK(lamina_store_info(dir, "nope", &rows, NULL, NULL), LAMINA_ERR_INVALID_ARGUMENT, "'nope'");
    CHECK(lamina_store_append(NULL, 2, names, widths, data, LAMINA_DTYPE_FLOAT32, 1), LAMINA_ERR_INVALID_ARGUMENT, "store");

    expect_near("first value read back", back[0], 0.0, 0.0);
    unlink(file);
    rm_store(dir);
    return check_summary();
}
