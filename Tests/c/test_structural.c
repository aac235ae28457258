/*
 * test_structural.c -- the structural-probe C API (include/lamina.h, "Structural probes") from C11.
 *
 * Happy path on a tiny hand-made data set (two items, a path tree each), the metric functions on
 * hand-computed values, progress/cancel, and a status plus a message naming the argument for every
 * class of bad input: NULL pointers, sizes, offsets (not starting at 0, not increasing, not ending at
 * n_tokens), target counts, NaN/Inf, negative targets, params (rank < 1, lr <= 0, ...), handles.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lamina.h"

#include "check.h"

/* two items: 3 tokens and 4 tokens, d = 2 */
static const float X[7 * 2] = {0, 0, 1, 0, 2, 0, 0, 1, 1, 1, 2, 1, 3, 1};
static const int64_t OFF[3] = {0, 3, 7};
/* path trees: distance |i - j|; depths i */
static float DIST[9 + 16];
static float DEPTH[7] = {0, 1, 2, 0, 1, 2, 3};

static void fill(void) {
    int p = 0;
    for (int i = 0; i < 3; i++) for (int j = 0; j < 3; j++) DIST[p++] = (float)abs(i - j);
    for (int i = 0; i < 4; i++) for (int j = 0; j < 4; j++) DIST[p++] = (float)abs(i - j);
}

static int steps_seen;
static int32_t count_steps(const lamina_progress* p, void* user) {
    (void)user;
    steps_seen++;
    return p->step >= 2;  /* cancel after the second step */
}

static void test_params(void) {
    lamina_structural_probe_params p = lamina_structural_probe_default_params();
    expect_true("default kind is distance", p.kind == LAMINA_STRUCTURAL_DISTANCE);
    expect_true("default rank 64, lr 0.001, epochs 40, batch 20", p.rank == 64 && p.lr == 0.001 && p.epochs == 40 && p.batch_size == 20);
    CHECK(lamina_structural_probe_check_params(&p), LAMINA_OK, NULL);
    CHECK(lamina_structural_probe_check_params(NULL), LAMINA_ERR_INVALID_ARGUMENT, "params is NULL");
    lamina_structural_probe_params q = p; q.rank = 0;
    CHECK(lamina_structural_probe_check_params(&q), LAMINA_ERR_INVALID_ARGUMENT, "params.rank is 0");
    q = p; q.rank = -3;
    CHECK(lamina_structural_probe_check_params(&q), LAMINA_ERR_INVALID_ARGUMENT, "params.rank is -3");
    q = p; q.lr = 0;
    CHECK(lamina_structural_probe_check_params(&q), LAMINA_ERR_INVALID_ARGUMENT, "params.lr is 0");
    q = p; q.lr = -1;
    CHECK(lamina_structural_probe_check_params(&q), LAMINA_ERR_INVALID_ARGUMENT, "params.lr is -1");
    q = p; q.lr = NAN;
    CHECK(lamina_structural_probe_check_params(&q), LAMINA_ERR_INVALID_ARGUMENT, "params.lr");
    q = p; q.kind = 7;
    CHECK(lamina_structural_probe_check_params(&q), LAMINA_ERR_INVALID_ARGUMENT, "params.kind is 7");
    q = p; q.batch_size = 0;
    CHECK(lamina_structural_probe_check_params(&q), LAMINA_ERR_INVALID_ARGUMENT, "params.batch_size is 0");
    q = p; q.epochs = -1;
    CHECK(lamina_structural_probe_check_params(&q), LAMINA_ERR_INVALID_ARGUMENT, "params.epochs is -1");
    q = p; q.beta1 = 1;
    CHECK(lamina_structural_probe_check_params(&q), LAMINA_ERR_INVALID_ARGUMENT, "beta1");
    q = p; q.plateau_factor = 0;
    CHECK(lamina_structural_probe_check_params(&q), LAMINA_ERR_INVALID_ARGUMENT, "plateau_factor");
    q = p; q.warm_start = 2;
    CHECK(lamina_structural_probe_check_params(&q), LAMINA_ERR_INVALID_ARGUMENT, "warm_start");
    lamina_structural_probe* probe = NULL;
    CHECK(lamina_structural_probe_create(&q, &probe), LAMINA_ERR_INVALID_ARGUMENT, "warm_start");
    expect_true("no handle after a failed create", probe == NULL);
    CHECK(lamina_structural_probe_create(&p, NULL), LAMINA_ERR_INVALID_ARGUMENT, "out is NULL");
    lamina_structural_probe_free(NULL);
}

static void test_fit_predict(void) {
    lamina_structural_probe_params p = lamina_structural_probe_default_params();
    p.rank = 2; p.epochs = 50; p.batch_size = 1; p.lr = 0.05;
    lamina_structural_probe* probe = NULL;
    CHECK(lamina_structural_probe_create(&p, &probe), LAMINA_OK, NULL);
    float out[25];
    CHECK(lamina_structural_probe_predict(probe, X, 7, 2, OFF, 2, out, 25), LAMINA_ERR_INVALID_ARGUMENT, "not fitted");
    CHECK(lamina_structural_probe_fit(probe, X, 7, 2, OFF, 2, DIST, 25, 0, NULL, NULL), LAMINA_OK, NULL);
    CHECK(lamina_structural_probe_predict(probe, X, 7, 2, OFF, 2, out, 25), LAMINA_OK, NULL);
    expect_true("predicted diagonal is 0 and matrix symmetric", out[0] == 0 && out[4] == 0 && out[1] == out[3] && out[9 + 1] == out[9 + 4]);
    double uuas = -1; int64_t correct = -1, total = -1;
    CHECK(lamina_structural_uuas(out, DIST, 25, OFF, 2, NULL, &uuas, &correct, &total), LAMINA_OK, NULL);
    expect_true("a path along x is learnt: UUAS = 1", uuas == 1.0 && correct == 5 && total == 5);
    double loss = -1;
    float grad[4];
    CHECK(lamina_structural_probe_loss(probe, X, 7, 2, OFF, 2, DIST, 25, &loss, grad, 4), LAMINA_OK, NULL);
    expect_true("loss is finite and small", isfinite(loss) && loss < 0.5);
    CHECK(lamina_structural_probe_loss(probe, X, 7, 2, OFF, 2, DIST, 25, &loss, grad, 3), LAMINA_ERR_SHAPE_MISMATCH, "grad_len");
    int64_t nf = 0; int32_t rank = 0, ne = 0, be = 0; int64_t ns = 0; double tl = 0, dl = 0, lr = 0;
    CHECK(lamina_structural_probe_get_info(probe, &nf, &rank, &ne, &ns, &tl, &dl, &be, &lr), LAMINA_OK, NULL);
    expect_true("result: d 2, rank 2, 50 epochs, 100 steps, no dev", nf == 2 && rank == 2 && ne == 50 && ns == 100 && isnan(dl) && be == -1);
    CHECK(lamina_structural_probe_get_info(probe, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL), LAMINA_OK, NULL);
    float b[4];
    CHECK(lamina_structural_probe_get_projection(probe, b, 4), LAMINA_OK, NULL);
    CHECK(lamina_structural_probe_get_projection(probe, b, 5), LAMINA_ERR_SHAPE_MISMATCH, "out_len");
    /* set B by hand: B = [[1, 0], [0, 0]] -> distance (x_i - x_j)^2, depth x_i^2 */
    const float bh[4] = {1, 0, 0, 0};
    CHECK(lamina_structural_probe_set_projection(probe, bh, 2, 2), LAMINA_OK, NULL);
    CHECK(lamina_structural_probe_predict(probe, X, 7, 2, OFF, 2, out, 25), LAMINA_OK, NULL);
    expect_true("set_projection: d(0,2) = 4 in item 0, d(0,3) = 9 in item 1", out[2] == 4 && out[9 + 3] == 9);
    CHECK(lamina_structural_probe_set_projection(probe, bh, 1, 4), LAMINA_ERR_SHAPE_MISMATCH, "rank is 1");
    CHECK(lamina_structural_probe_set_projection(probe, NULL, 2, 2), LAMINA_ERR_INVALID_ARGUMENT, "b is NULL");
    const float bnan[4] = {1, NAN, 0, 0};
    CHECK(lamina_structural_probe_set_projection(probe, bnan, 2, 2), LAMINA_ERR_NON_FINITE, "b contains nan");

    /* progress and cancel */
    steps_seen = 0;
    CHECK(lamina_structural_probe_fit(probe, X, 7, 2, OFF, 2, DIST, 25, 0, count_steps, NULL), LAMINA_ERR_CANCELLED, "after step 2");
    expect_true("the callback ran twice", steps_seen == 2);
    CHECK(lamina_structural_probe_get_info(probe, NULL, NULL, NULL, &ns, NULL, NULL, NULL, NULL), LAMINA_OK, NULL);
    expect_true("two steps kept", ns == 2);

    /* bad input to fit */
    CHECK(lamina_structural_probe_fit(NULL, X, 7, 2, OFF, 2, DIST, 25, 0, NULL, NULL), LAMINA_ERR_INVALID_ARGUMENT, "probe is NULL");
    CHECK(lamina_structural_probe_fit(probe, NULL, 7, 2, OFF, 2, DIST, 25, 0, NULL, NULL), LAMINA_ERR_INVALID_ARGUMENT, "x is NULL");
    CHECK(lamina_structural_probe_fit(probe, X, 0, 2, OFF, 2, DIST, 25, 0, NULL, NULL), LAMINA_ERR_INVALID_ARGUMENT, "n_tokens is 0");
    CHECK(lamina_structural_probe_fit(probe, X, 7, -2, OFF, 2, DIST, 25, 0, NULL, NULL), LAMINA_ERR_INVALID_ARGUMENT, "d is -2");
    CHECK(lamina_structural_probe_fit(probe, X, 7, 2, NULL, 2, DIST, 25, 0, NULL, NULL), LAMINA_ERR_INVALID_ARGUMENT, "offsets is NULL");
    CHECK(lamina_structural_probe_fit(probe, X, 7, 2, OFF, 0, DIST, 25, 0, NULL, NULL), LAMINA_ERR_INVALID_ARGUMENT, "n_items is 0");
    const int64_t off_start[3] = {1, 3, 7}, off_dec[3] = {0, 5, 3}, off_end[3] = {0, 3, 6}, off_over[3] = {0, 3, 9}, off_empty[3] = {0, 0, 7};
    CHECK(lamina_structural_probe_fit(probe, X, 7, 2, off_start, 2, DIST, 25, 0, NULL, NULL), LAMINA_ERR_INVALID_ARGUMENT, "offsets[0] is 1");
    CHECK(lamina_structural_probe_fit(probe, X, 7, 2, off_dec, 2, DIST, 25, 0, NULL, NULL), LAMINA_ERR_INVALID_ARGUMENT, "not strictly increasing");
    CHECK(lamina_structural_probe_fit(probe, X, 7, 2, off_empty, 2, DIST, 25, 0, NULL, NULL), LAMINA_ERR_INVALID_ARGUMENT, "not strictly increasing");
    CHECK(lamina_structural_probe_fit(probe, X, 7, 2, off_end, 2, DIST, 25, 0, NULL, NULL), LAMINA_ERR_INVALID_ARGUMENT, "expected n_tokens = 7");
    CHECK(lamina_structural_probe_fit(probe, X, 7, 2, off_over, 2, DIST, 25, 0, NULL, NULL), LAMINA_ERR_INVALID_ARGUMENT, "beyond n_tokens");
    CHECK(lamina_structural_probe_fit(probe, X, 7, 2, OFF, 2, DIST, 24, 0, NULL, NULL), LAMINA_ERR_SHAPE_MISMATCH, "n_targets is 24");
    CHECK(lamina_structural_probe_fit(probe, X, 7, 2, OFF, 2, NULL, 25, 0, NULL, NULL), LAMINA_ERR_INVALID_ARGUMENT, "targets is NULL");
    CHECK(lamina_structural_probe_fit(probe, X, 7, 2, OFF, 2, DIST, 25, 2, NULL, NULL), LAMINA_ERR_INVALID_ARGUMENT, "n_dev_items is 2");
    CHECK(lamina_structural_probe_fit(probe, X, 7, 2, OFF, 2, DIST, 25, -1, NULL, NULL), LAMINA_ERR_INVALID_ARGUMENT, "n_dev_items is -1");
    float xnan[14];
    memcpy(xnan, X, sizeof X);
    xnan[5] = INFINITY;
    CHECK(lamina_structural_probe_fit(probe, xnan, 7, 2, OFF, 2, DIST, 25, 0, NULL, NULL), LAMINA_ERR_NON_FINITE, "x contains inf at row 2, column 1");
    float dbad[25];
    memcpy(dbad, DIST, sizeof DIST);
    dbad[10] = NAN;
    CHECK(lamina_structural_probe_fit(probe, X, 7, 2, OFF, 2, dbad, 25, 0, NULL, NULL), LAMINA_ERR_NON_FINITE, "item 1, entry (0, 1)");
    dbad[10] = -3;
    CHECK(lamina_structural_probe_fit(probe, X, 7, 2, OFF, 2, dbad, 25, 0, NULL, NULL), LAMINA_ERR_INVALID_ARGUMENT, "targets contains -3.0");
    /* d mismatch on predict */
    CHECK(lamina_structural_probe_predict(probe, X, 2, 7, (const int64_t[]){0, 2}, 1, out, 4), LAMINA_ERR_SHAPE_MISMATCH, "d = 7");
    CHECK(lamina_structural_probe_predict(probe, X, 7, 2, OFF, 2, out, 24), LAMINA_ERR_SHAPE_MISMATCH, "out_len is 24");
    CHECK(lamina_structural_probe_predict(probe, X, 7, 2, OFF, 2, NULL, 25), LAMINA_ERR_INVALID_ARGUMENT, "out is NULL");
    lamina_structural_probe_free(probe);
    CHECK(lamina_structural_probe_predict(probe, X, 7, 2, OFF, 2, out, 25), LAMINA_ERR_INVALID_ARGUMENT, "not a live lamina_structural_probe handle");
    lamina_structural_probe_free(probe);  /* double free is a no-op */
}

static void test_depth_and_metrics(void) {
    lamina_structural_probe_params p = lamina_structural_probe_default_params();
    p.kind = LAMINA_STRUCTURAL_DEPTH; p.rank = 1; p.epochs = 1;
    lamina_structural_probe* probe = NULL;
    CHECK(lamina_structural_probe_create(&p, &probe), LAMINA_OK, NULL);
    CHECK(lamina_structural_probe_fit(probe, X, 7, 2, OFF, 2, DEPTH, 7, 1, NULL, NULL), LAMINA_OK, NULL);
    CHECK(lamina_structural_probe_fit(probe, X, 7, 2, OFF, 2, DIST, 25, 0, NULL, NULL), LAMINA_ERR_SHAPE_MISMATCH, "n_targets is 25");
    const float b[2] = {1, 0};  /* depth = x^2: token 0 of each item is the shallowest */
    CHECK(lamina_structural_probe_set_projection(probe, b, 1, 2), LAMINA_OK, NULL);
    float pred[7];
    CHECK(lamina_structural_probe_predict(probe, X, 7, 2, OFF, 2, pred, 7), LAMINA_OK, NULL);
    expect_true("depth = x^2", pred[0] == 0 && pred[2] == 4 && pred[6] == 9);
    double acc = -1; int64_t c = 0, t = 0;
    CHECK(lamina_structural_root_accuracy(pred, DEPTH, 7, OFF, 2, NULL, &acc, &c, &t), LAMINA_OK, NULL);
    expect_true("root accuracy 1 (2 of 2)", acc == 1 && c == 2 && t == 2);
    const uint8_t ignore[7] = {1, 0, 0, 0, 0, 0, 0};
    CHECK(lamina_structural_root_accuracy(pred, DEPTH, 7, OFF, 2, ignore, &acc, &c, &t), LAMINA_OK, NULL);
    expect_true("ignoring item 0's root: 1 of 2", acc == 0.5 && c == 1);
    const float noroot[7] = {1, 1, 2, 0, 1, 2, 3};
    CHECK(lamina_structural_root_accuracy(pred, noroot, 7, OFF, 2, NULL, &acc, NULL, NULL), LAMINA_ERR_INVALID_ARGUMENT, "item 0 have no 0");
    /* Spearman: perfect correlation on item 1 (length 4), only lengths 3..4 in range */
    double rho = 0, means[2];
    CHECK(lamina_structural_spearman(LAMINA_STRUCTURAL_DEPTH, pred, DEPTH, 7, OFF, 2, 3, 4, &rho, means), LAMINA_OK, NULL);
    expect_near("depth spearman (lengths 3-4)", rho, 1.0, 1e-12);
    CHECK(lamina_structural_spearman(LAMINA_STRUCTURAL_DEPTH, pred, DEPTH, 7, OFF, 2, 5, 50, &rho, NULL), LAMINA_OK, NULL);
    expect_true("no length in 5-50 -> NaN", isnan(rho));
    CHECK(lamina_structural_spearman(LAMINA_STRUCTURAL_DEPTH, pred, DEPTH, 7, OFF, 2, 5, 4, &rho, NULL), LAMINA_ERR_INVALID_ARGUMENT, "max_length is 4");
    CHECK(lamina_structural_spearman(9, pred, DEPTH, 7, OFF, 2, 5, 50, &rho, NULL), LAMINA_ERR_INVALID_ARGUMENT, "kind is 9");
    CHECK(lamina_structural_spearman(LAMINA_STRUCTURAL_DISTANCE, DIST, DIST, 25, OFF, 2, 3, 4, &rho, means), LAMINA_OK, NULL);
    expect_near("distance spearman of gold with itself", rho, 1.0, 1e-12);
    CHECK(lamina_structural_spearman(LAMINA_STRUCTURAL_DISTANCE, DIST, DIST, 24, OFF, 2, 3, 4, &rho, NULL), LAMINA_ERR_SHAPE_MISMATCH, "n_values is 24");
    CHECK(lamina_structural_uuas(DIST, DIST, 25, OFF, 2, NULL, NULL, NULL, NULL), LAMINA_ERR_INVALID_ARGUMENT, "uuas is NULL");
    const int64_t one[2] = {0, 1};
    const float z[1] = {0};
    double u = 0;
    CHECK(lamina_structural_uuas(z, z, 1, one, 1, NULL, &u, NULL, NULL), LAMINA_ERR_INVALID_ARGUMENT, "no gold edges");
    float dnan[25];
    memcpy(dnan, DIST, sizeof DIST);
    dnan[3] = NAN;
    CHECK(lamina_structural_uuas(dnan, DIST, 25, OFF, 2, NULL, &u, NULL, NULL), LAMINA_ERR_NON_FINITE, "predicted contains nan at index 3");
    lamina_structural_probe_free(probe);
}

static void test_tree_targets(void) {
    /* item 0: 0 <- 1 <- 2 (a path); item 1: root 1 with children 0 and 2 */
    const int32_t parents[6] = {-1, 0, 1, 1, -1, 1};
    const int64_t off[3] = {0, 3, 6};
    float dist[18], depth[6];
    CHECK(lamina_structural_tree_targets(parents, 6, off, 2, dist, 18, depth, 6), LAMINA_OK, NULL);
    expect_true("depths 0 1 2 | 1 0 1", depth[0] == 0 && depth[2] == 2 && depth[3] == 1 && depth[4] == 0 && depth[5] == 1);
    expect_true("distances: item 0 (0,2) = 2, item 1 (0,2) = 2 via the root", dist[2] == 2 && dist[9 + 2] == 2 && dist[9 + 1] == 1);
    CHECK(lamina_structural_tree_targets(parents, 6, off, 2, NULL, 0, depth, 6), LAMINA_OK, NULL);
    const int32_t two_roots[6] = {-1, -1, 1, 1, -1, 1};
    CHECK(lamina_structural_tree_targets(two_roots, 6, off, 2, dist, 18, NULL, 0), LAMINA_ERR_INVALID_ARGUMENT, "two roots");
    const int32_t out_of_range[6] = {-1, 0, 3, 1, -1, 1};
    CHECK(lamina_structural_tree_targets(out_of_range, 6, off, 2, dist, 18, NULL, 0), LAMINA_ERR_INVALID_ARGUMENT, "token 2 is 3");
    const int32_t cycle[6] = {-1, 0, 1, 2, -1, 0};
    CHECK(lamina_structural_tree_targets(cycle, 6, off, 2, dist, 18, NULL, 0), LAMINA_ERR_INVALID_ARGUMENT, "cycle");
    const int32_t no_root[6] = {-1, 0, 1, 1, 2, 0};
    CHECK(lamina_structural_tree_targets(no_root, 6, off, 2, dist, 18, NULL, 0), LAMINA_ERR_INVALID_ARGUMENT, "item 1 has no root");
    CHECK(lamina_structural_tree_targets(parents, 6, off, 2, dist, 17, NULL, 0), LAMINA_ERR_SHAPE_MISMATCH, "n_distances is 17");
    CHECK(lamina_structural_tree_targets(parents, 6, off, 2, NULL, 0, NULL, 0), LAMINA_ERR_INVALID_ARGUMENT, "both NULL");
}

int main(void) {
    fill();
    test_params();
    test_fit_predict();
    test_depth_and_metrics();
    test_tree_targets();
    return check_summary();
}
