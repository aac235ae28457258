/*
 * test_ast_probe.c -- the AST-Probe section of lamina.h from C: tree validation, binarisation,
 * (d, c, u) tuples with a chain table, decoding, constituent F1, and the probe's handle (params,
 * fit with a progress callback and cancellation, predict, info, weights), plus bad input.
 */
#include <stdlib.h>

#include "check.h"

/* R(A(B(t0 t1)) t2 U(t3)): A has the one inner child B (chain [A, B]); U is unary on t3. */
static const int32_t PARENT[8] = {-1, 0, 1, 2, 2, 0, 0, 6};
static const int32_t LABEL[8] = {0, 1, 2, 9, 9, 9, 3, 9};  /* R=0 A=1 B=2 U=3, tokens 9 */
static const int32_t TOKEN_NODE[4] = {3, 4, 5, 7};
static const int64_t NODE_OFF[2] = {0, 8};
static const int64_t TOK_OFF[2] = {0, 4};

static int64_t chain_off[64];
static int32_t chain_atoms[64];

static lamina_ast_trees one_tree(void) {
    lamina_ast_trees t = {1, NODE_OFF, PARENT, LABEL, TOK_OFF, TOKEN_NODE};
    return t;
}

static lamina_ast_chains new_table(void) {
    lamina_ast_chains c = {0, 63, 64, chain_off, chain_atoms};
    return c;
}

/* chain k as a small bitmask of its atoms (atoms < 31), -1 for out of range */
static int chain_mask(const lamina_ast_chains* t, int32_t k) {
    if (k < 0 || k >= t->n_chains) return -1;
    int m = 0;
    for (int64_t a = t->offsets[k]; a < t->offsets[k + 1]; a++) m |= 1 << t->atoms[a];
    return m;
}

static void test_tuples_and_decode(void) {
    lamina_ast_trees trees = one_tree();
    lamina_ast_chains chains = new_table();
    int32_t d[3], c[3], u[4];
    CHECK(lamina_ast_trees_check(&trees), LAMINA_OK, NULL);
    CHECK(lamina_ast_tuples(&trees, d, c, u, &chains), LAMINA_OK, NULL);
    expect_true("d = [1, 2, 1]", d[0] == 1 && d[1] == 2 && d[2] == 1);
    expect_true("c[0] = [A, B]", chain_mask(&chains, c[0]) == ((1 << 1) | (1 << 2)) &&
                                 chains.offsets[c[0] + 1] - chains.offsets[c[0]] == 2 &&
                                 chains.atoms[chains.offsets[c[0]]] == 1);
    expect_true("c[1] = [R]", chain_mask(&chains, c[1]) == 1);
    expect_true("c[2] = <empty> (chain 0)", c[2] == 0);
    expect_true("u = [-, -, -, U]", u[0] == 0 && u[1] == 0 && u[2] == 0 && chain_mask(&chains, u[3]) == 1 << 3);

    /* binarize: 2L - 1 = 7 nodes in pre-order, root first, leaves in token order */
    int32_t bp[7], bc[7], bt[4];
    int64_t n_chains_before = chains.n_chains;
    CHECK(lamina_ast_binarize(&trees, bp, bc, bt, &chains), LAMINA_OK, NULL);
    expect_true("binarize reuses the table's chains", chains.n_chains == n_chains_before);
    expect_true("binary root first", bp[0] == -1 && bt[0] < bt[1] && bt[1] < bt[2] && bt[2] < bt[3]);

    /* decode the gold tuples: 4 leaves + A + B + R + U */
    float df[3] = {1, 2, 1};
    int32_t parent[32], label[32], token_node[4];
    int64_t n_nodes = 0;
    CHECK(lamina_ast_decode(4, df, c, u, &chains, 32, parent, label, token_node, &n_nodes), LAMINA_OK, NULL);
    expect_true("decoded tree has 8 nodes", n_nodes == 8);
    expect_true("decoded root is R", parent[0] == -1 && label[0] == 0);
    int leaves = 0;
    for (int i = 0; i < 4; i++) leaves += label[token_node[i]] == LAMINA_AST_LEAF;
    expect_true("decoded leaves are labelled LAMINA_AST_LEAF", leaves == 4);
    CHECK(lamina_ast_decode(4, df, c, u, &chains, 5, parent, label, token_node, &n_nodes),
          LAMINA_ERR_SHAPE_MISMATCH, "max_nodes is 5");
    expect_true("the size needed is reported", n_nodes == 8);

    /* F1: gold against itself = 1; an empty root chain gives bad_root and a lower score */
    int64_t off[2] = {0, 4};
    int32_t c_bad[3] = {c[0], 0, c[2]};
    double p[1], r[1], f[1], mean[3];
    CHECK(lamina_ast_f1(off, 1, df, c, u, df, c, u, &chains, p, r, f, mean), LAMINA_OK, NULL);
    expect_near("F1 gold vs gold", mean[2], 1.0, 0);
    CHECK(lamina_ast_f1(off, 1, df, c, u, df, c_bad, u, &chains, p, r, f, mean), LAMINA_OK, NULL);
    /* gold {A, B, R, U}; pred {A, B, bad_root, U}: P = R = 3/4 */
    expect_near("precision with a bad root", p[0], 0.75, 1e-15);
    expect_near("F1 with a bad root", mean[2], 0.75, 1e-15);
    float d_nan[3] = {1, NAN, 1};
    CHECK(lamina_ast_f1(off, 1, df, c, u, d_nan, c, u, &chains, NULL, NULL, NULL, mean),
          LAMINA_ERR_NON_FINITE, "d[1] is nan");
}

static void test_bad_trees(void) {
    int32_t d[8], c[8], u[8];
    lamina_ast_chains chains = new_table();
    int32_t two_roots[8] = {-1, 0, 1, 2, 2, 0, -1, 6};
    lamina_ast_trees t = one_tree();
    t.parent = two_roots;
    CHECK(lamina_ast_tuples(&t, d, c, u, &chains), LAMINA_ERR_INVALID_ARGUMENT, "two roots");
    int32_t cycle[8] = {-1, 2, 1, 2, 2, 0, 0, 6};
    t.parent = cycle;
    CHECK(lamina_ast_trees_check(&t), LAMINA_ERR_INVALID_ARGUMENT, "cycle");
    int32_t out_of_range[8] = {-1, 0, 1, 2, 2, 0, 0, 60};
    t.parent = out_of_range;
    CHECK(lamina_ast_trees_check(&t), LAMINA_ERR_INVALID_ARGUMENT, "parent[7] is 60");
    int32_t crossing[4] = {3, 5, 4, 7};
    t = one_tree();
    t.token_node = crossing;
    CHECK(lamina_ast_trees_check(&t), LAMINA_ERR_INVALID_ARGUMENT, "leaves out of order");
    CHECK(lamina_ast_trees_check(NULL), LAMINA_ERR_INVALID_ARGUMENT, "trees is NULL");
    t = one_tree();
    lamina_ast_chains small = {0, 1, 0, chain_off, chain_atoms};
    CHECK(lamina_ast_tuples(&t, d, c, u, &small), LAMINA_ERR_SHAPE_MISMATCH, "needs room");
}

static int calls;
static int32_t count_steps(const lamina_progress* p, void* user) {
    (void)user;
    calls++;
    return p->n_terms == 4 && strcmp(p->term_names[0], "rank") == 0 ? 0 : 1;
}
static int32_t cancel_at_two(const lamina_progress* p, void* user) {
    (void)user;
    return p->step >= 2;
}

static void test_probe(void) {
    /* two snippets: the tree above (4 tokens) and a root over 3 tokens */
    int32_t d[5] = {1, 2, 1, 2, 1}, c[5], u[7];
    int32_t parent2[4] = {-1, 0, 0, 0}, label2[4] = {0, 9, 9, 9}, tn2[3] = {1, 2, 3};
    int32_t parent[12], label[12], tn[7];
    int64_t node_off[3] = {0, 8, 12}, tok_off[3] = {0, 4, 7};
    for (int i = 0; i < 8; i++) { parent[i] = PARENT[i]; label[i] = LABEL[i]; }
    for (int i = 0; i < 4; i++) { parent[8 + i] = parent2[i]; label[8 + i] = label2[i]; }
    for (int i = 0; i < 4; i++) tn[i] = TOKEN_NODE[i];
    for (int i = 0; i < 3; i++) tn[4 + i] = tn2[i];
    lamina_ast_trees trees = {2, node_off, parent, label, tok_off, tn};
    lamina_ast_chains chains = new_table();
    CHECK(lamina_ast_tuples(&trees, d, c, u, &chains), LAMINA_OK, NULL);
    expect_true("second tree d = [2, 1]", d[3] == 2 && d[4] == 1);

    float x[7 * 6];
    unsigned s = 12345;
    for (int i = 0; i < 7 * 6; i++) { s = s * 1103515245u + 12345u; x[i] = (float)((s >> 8) % 2000) / 1000.0f - 1.0f; }

    lamina_ast_probe_params p = lamina_ast_probe_default_params();
    expect_true("default rank 128, orthogonal_reg 5", p.rank == 128 && p.orthogonal_reg == 5.0f);
    p.rank = 0;
    CHECK(lamina_ast_probe_check_params(&p), LAMINA_ERR_INVALID_ARGUMENT, "params.rank is 0");
    p = lamina_ast_probe_default_params();
    p.lr = NAN;
    CHECK(lamina_ast_probe_check_params(&p), LAMINA_ERR_INVALID_ARGUMENT, "params.lr is nan");
    p = lamina_ast_probe_default_params();
    p.rank = 3;
    p.epochs = 4;
    p.batch_size = 1;
    lamina_ast_probe* probe = NULL;
    CHECK(lamina_ast_probe_create(&p, &probe), LAMINA_OK, NULL);
    float dp[5];
    int32_t cp[5], up[7];
    CHECK(lamina_ast_probe_predict(probe, x, 7, 6, tok_off, 2, dp, cp, up), LAMINA_ERR_INVALID_ARGUMENT, "not fitted");
    calls = 0;
    CHECK(lamina_ast_probe_fit(probe, x, 7, 6, tok_off, 2, d, c, u, count_steps, NULL), LAMINA_OK, NULL);
    expect_true("progress called once per step (4 epochs x 2 batches)", calls == 8);
    CHECK(lamina_ast_probe_predict(probe, x, 7, 6, tok_off, 2, dp, cp, up), LAMINA_OK, NULL);
    int64_t dim = 0, steps = 0;
    int32_t nc = 0, nu = 0;
    double loss = 0;
    CHECK(lamina_ast_probe_get_info(probe, &dim, &nc, &nu, &steps, &loss), LAMINA_OK, NULL);
    expect_true("info: dim 6, 8 steps, finite loss", dim == 6 && steps == 8 && isfinite(loss));
    float* proj = malloc(sizeof(float) * 6 * 3);
    int32_t* classes_c = malloc(sizeof(int32_t) * (size_t)nc);
    CHECK(lamina_ast_probe_get_weights(probe, proj, NULL, NULL, classes_c, NULL), LAMINA_OK, NULL);
    int in_classes = 1;
    for (int i = 0; i < 5; i++) {
        int found = 0;
        for (int k = 0; k < nc; k++) found |= classes_c[k] == cp[i];
        in_classes &= found;
    }
    expect_true("predicted c are training classes", in_classes);
    double mean[3];
    CHECK(lamina_ast_f1(tok_off, 2, (const float[]){1, 2, 1, 2, 1}, c, u, dp, cp, up, &chains, NULL, NULL, NULL, mean),
          LAMINA_OK, NULL);
    expect_true("F1 in [0, 1]", mean[2] >= 0 && mean[2] <= 1);
    CHECK(lamina_ast_probe_fit(probe, x, 7, 6, tok_off, 2, d, c, u, cancel_at_two, NULL), LAMINA_ERR_CANCELLED,
          "cancelled");
    CHECK(lamina_ast_probe_get_info(probe, NULL, NULL, NULL, &steps, NULL), LAMINA_OK, NULL);
    expect_true("cancelled after step 2", steps == 2);
    x[9] = INFINITY;
    CHECK(lamina_ast_probe_fit(probe, x, 7, 6, tok_off, 2, d, c, u, NULL, NULL), LAMINA_ERR_NON_FINITE, "row 1");
    x[9] = 0;
    int64_t bad_off[3] = {0, 6, 7};
    CHECK(lamina_ast_probe_fit(probe, x, 7, 6, bad_off, 2, d, c, u, NULL, NULL), LAMINA_ERR_INVALID_ARGUMENT,
          ">= 2 tokens");
    lamina_ast_probe_free(probe);
    lamina_ast_probe_free(NULL);
    free(proj);
    free(classes_c);
}

int main(void) {
    test_tuples_and_decode();
    test_bad_trees();
    test_probe();
    return check_summary();
}
