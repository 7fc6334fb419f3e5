/*
 * test_graph.c — unit tests of the graph layer: `test_graph NAME` runs one
 * test (registered with CTest as graph_NAME). Models are built in memory
 * with onnx_build.c, written to a fresh temporary folder, and loaded back;
 * the folder is removed at the end.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gr_internal.h"
#include "onnx_build.h"

#include "../check.h"
static char tmpdir[256];


#define S(...) ((int64_t[]){__VA_ARGS__})

/* ---- helpers ---- */

static char *tmp_path(const char *name) {
  static char buf[8][512];
  static int k;
  char *p = buf[k++ % 8];
  snprintf(p, 512, "%s/%s", tmpdir, name);
  return p;
}

/* Writes m as NAME.onnx and runs gr_load (or gr_import when raw). Frees m. */
static gr_graph *load(mb *m, const char *name, bool raw, chm_err *e) {
  char file[256];
  snprintf(file, sizeof file, "%s.onnx", name);
  const char *path = tmp_path(file);
  CHECK(mb_write(m, path) == 0);
  mb_free(m);
  memset(e, 0, sizeof *e);
  gr_graph *g = raw ? gr_import(path, e) : gr_load(path, e);
  if (!g && getenv("VERBOSE")) fprintf(stderr, "error: %s\n", e->msg);
  return g;
}

/* Loads and expects failure with a message containing WANT; also checks the path prefix. */
static void expect_error(mb *m, const char *name, const char *want) {
  chm_err e;
  gr_graph *g = load(m, name, false, &e);
  CHECK(g == NULL);
  gr_free(g);
  if (!strstr(e.msg, want)) fprintf(stderr, "  got: %s\n  want: ...%s...\n", e.msg, want);
  CHECK(strstr(e.msg, want) != NULL);
  CHECK(strncmp(e.msg, tmpdir, strlen(tmpdir)) == 0);
}

static gr_node *find_node(gr_graph *g, const char *op) {
  for (int i = 0; i < g->n_nodes; i++)
    if (strcmp(gr_op_name(g->nodes[i].op), op) == 0) return &g->nodes[i];
  return NULL;
}

static int count_op(const gr_graph *g, const char *op) {
  int k = 0;
  for (int i = 0; i < g->n_nodes; i++) k += strcmp(gr_op_name(g->nodes[i].op), op) == 0;
  return k;
}

static gr_tensor *tensor(gr_graph *g, const char *name) {
  for (int i = 0; i < g->n_tensors; i++)
    if (strcmp(g->tensors[i].name, name) == 0) return &g->tensors[i];
  return NULL;
}

static bool shape_is(const gr_tensor *t, int rank, const int64_t *shape) {
  if (!t || t->rank != rank) return false;
  for (int i = 0; i < rank; i++)
    if (t->shape[i] != shape[i]) return false;
  return true;
}

static bool ints_are(const gr_node *n, const char *name, int count, const int64_t *v) {
  const int64_t *a;
  if (gr_attr_ints(n, name, &a) != count) return false;
  for (int i = 0; i < count; i++)
    if (a[i] != v[i]) return false;
  return true;
}

static float frand(unsigned *seed) {
  *seed = *seed * 1103515245u + 12345u;
  return (float)((*seed >> 8) & 0xffff) / 32768.0f - 1.0f;
}

static void fill(float *v, int n, unsigned seed) {
  for (int i = 0; i < n; i++) v[i] = frand(&seed);
}

/* ---- import ---- */

static void test_import_raw_vs_typed(void) {
  float w[6] = {1, -2, 3.5f, 4, 5, -6};
  int64_t k[3] = {7, -8, 1LL << 40};
  mb *m = mb_new(13);
  mb_input(m, "x", 2, S(2, 3));
  mb_init_f(m, "w_raw", 2, S(2, 3), w, MB_RAW);
  mb_init_f(m, "w_typed", 2, S(2, 3), w, MB_TYPED);
  mb_init_i64(m, "k_raw", 1, S(3), k, MB_RAW);
  mb_init_i64(m, "k_typed", 1, S(3), k, MB_TYPED);
  mb_node(m, "Add", "a1", "x w_raw", "y1");
  mb_node(m, "Add", "a2", "y1 w_typed", "y");
  mb_output(m, "y");
  chm_err e;
  gr_graph *g = load(m, "raw_typed", true, &e);
  CHECK(g);
  if (!g) return;
  gr_tensor *a = tensor(g, "w_raw"), *b = tensor(g, "w_typed");
  CHECK(a && b && a->dtype == GR_F32 && b->dtype == GR_F32);
  CHECK(a && b && memcmp(a->data, w, sizeof w) == 0 && memcmp(b->data, w, sizeof w) == 0);
  gr_tensor *c = tensor(g, "k_raw"), *d = tensor(g, "k_typed");
  CHECK(c && d && c->dtype == GR_I64 && memcmp(c->data, k, sizeof k) == 0);
  CHECK(c && d && memcmp(d->data, k, sizeof k) == 0);
  CHECK(g->n_inputs == 1 && g->n_outputs == 1 && g->opset == 13);
  gr_free(g);

  /* raw_data of the wrong size is refused */
  m = mb_new(13);
  mb_input(m, "x", 2, S(2, 3));
  Onnx__TensorProto *t = mb_tensor_f(m, "w", 2, S(2, 3), w, MB_RAW);
  t->raw_data.len -= 4;
  mb_add_init(m, t);
  mb_node(m, "Add", "a", "x w", "y");
  mb_output(m, "y");
  expect_error(m, "raw_short", "tensor 'w': raw_data has 20 bytes, its shape needs 24");
}

static void test_import_constant_nodes(void) {
  float cv[3] = {1, 2, 3};
  mb *m = mb_new(13);
  mb_input(m, "x", 1, S(3));
  mb_attr_t(mb_node(m, "Constant", "c1", "", "c_t"), m, "value",
            mb_tensor_f(m, "", 1, S(3), cv, MB_RAW));
  mb_attr_f(mb_node(m, "Constant", "c2", "", "c_f"), m, "value_float", 0.5f);
  mb_attr_floats(mb_node(m, "Constant", "c3", "", "c_fs"), m, "value_floats", 3, cv);
  mb_attr_i(mb_node(m, "Constant", "c4", "", "c_i"), m, "value_int", 4);
  mb_attr_ints(mb_node(m, "Constant", "c5", "", "c_is"), m, "value_ints", 2, S(3, 1));
  mb_node(m, "Add", "a1", "x c_t", "y1");
  mb_node(m, "Mul", "a2", "y1 c_f", "y2");
  mb_node(m, "Sub", "a3", "y2 c_fs", "y3");
  mb_node(m, "Reshape", "r", "y3 c_is", "y");
  mb_output(m, "y");
  mb_output(m, "c_i");
  chm_err e;
  gr_graph *g = load(m, "constants", false, &e);
  CHECK(g);
  if (!g) return;
  CHECK(count_op(g, "Constant") == 0);
  gr_tensor *ct = tensor(g, "c_t"), *cf = tensor(g, "c_f"), *ci = tensor(g, "c_i");
  CHECK(ct && ct->data && ct->rank == 1 && ((float *)ct->data)[2] == 3);
  CHECK(cf && cf->data && cf->rank == 0 && ((float *)cf->data)[0] == 0.5f);
  CHECK(ci && ci->data && ci->dtype == GR_I64 && ((int64_t *)ci->data)[0] == 4);
  CHECK(shape_is(tensor(g, "y"), 2, S(3, 1)));
  gr_free(g);
}

static void test_import_initializer_inputs(void) {
  float w[4] = {1, 2, 3, 4};
  mb *m = mb_new(9);
  mb_input(m, "x", 2, S(1, 4));
  mb_input(m, "w", 2, S(1, 4)); /* also an initializer: a constant, not a runtime input */
  mb_input_typed(m, "z", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 2, S(7, 4), "N");
  mb_init_f(m, "w", 2, S(1, 4), w, MB_TYPED);
  mb_node(m, "Add", "a", "x w", "y1");
  mb_node(m, "Add", "b", "y1 z", "y");
  mb_output(m, "y");
  chm_err e;
  gr_graph *g = load(m, "init_inputs", false, &e);
  CHECK(g);
  if (!g) return;
  CHECK(g->n_inputs == 2);
  CHECK(strcmp(g->tensors[g->inputs[0]].name, "x") == 0);
  CHECK(!tensor(g, "w")->is_input && tensor(g, "w")->data);
  CHECK(shape_is(tensor(g, "z"), 2, S(1, 4))); /* symbolic batch "N" became 1 */
  gr_free(g);
}

static void test_import_reverse_order(void) {
  float w[8 * 3 * 9];
  fill(w, 8 * 3 * 9, 1);
  mb *m = mb_new(11);
  mb_input(m, "x", 4, S(1, 3, 8, 8));
  mb_init_f(m, "W", 4, S(8, 3, 3, 3), w, MB_RAW);
  mb_node(m, "Conv", "conv", "x W", "c");
  mb_node(m, "Relu", "relu", "c", "r");
  mb_node(m, "GlobalAveragePool", "gap", "r", "p");
  mb_attr_i(mb_node(m, "Flatten", "flat", "p", "y"), m, "axis", 1);
  mb_reverse_nodes(m);
  mb_output(m, "y");
  chm_err e;
  gr_graph *g = load(m, "reverse", false, &e);
  CHECK(g);
  if (!g) return;
  CHECK(g->n_nodes == 3);
  CHECK(strcmp(gr_op_name(g->nodes[0].op), "Conv") == 0 && g->nodes[0].act == CHM_ACT_RELU);
  CHECK(strcmp(gr_op_name(g->nodes[1].op), "GlobalAveragePool") == 0);
  CHECK(strcmp(gr_op_name(g->nodes[2].op), "Reshape") == 0);
  CHECK(shape_is(tensor(g, "y"), 2, S(1, 8)));
  gr_free(g);
}

static void write_bin(const char *path, const void *data, size_t n) {
  FILE *f = fopen(path, "wb");
  CHECK(f && fwrite(data, 1, n, f) == n);
  if (f) fclose(f);
}

static void test_import_external(void) {
  float blob[10] = {9, 9, 1, 2, 3, 4, 5, 6, 9, 9};
  write_bin(tmp_path("weights.bin"), blob, sizeof blob);
  mb *m = mb_new(13);
  mb_input(m, "x", 2, S(2, 3));
  mb_init_external(m, "w", 2, S(2, 3), "weights.bin", 8, 24);
  mb_node(m, "Add", "a", "x w", "y");
  mb_output(m, "y");
  chm_err e;
  gr_graph *g = load(m, "external", true, &e);
  CHECK(g);
  if (g) {
    gr_tensor *w = tensor(g, "w");
    CHECK(w && w->data && memcmp(w->data, blob + 2, 6 * sizeof(float)) == 0);
  }
  gr_free(g);
  /* length that does not match the shape */
  m = mb_new(13);
  mb_input(m, "x", 2, S(2, 3));
  mb_init_external(m, "w", 2, S(2, 3), "weights.bin", 8, 20);
  mb_node(m, "Add", "a", "x w", "y");
  mb_output(m, "y");
  expect_error(m, "external_len", "does not hold the 24 bytes");
  /* missing file */
  m = mb_new(13);
  mb_input(m, "x", 2, S(2, 3));
  mb_init_external(m, "w", 2, S(2, 3), "nope.bin", 0, -1);
  mb_node(m, "Add", "a", "x w", "y");
  mb_output(m, "y");
  expect_error(m, "external_missing", "external data 'nope.bin'");
}

static void external_case(const char *name, const char *loc, const char *want) {
  mb *m = mb_new(13);
  mb_input(m, "x", 1, S(2));
  mb_init_external(m, "w", 1, S(2), loc, 0, -1);
  mb_node(m, "Add", "a", "x w", "y");
  mb_output(m, "y");
  expect_error(m, name, want);
}

static void test_import_external_escape(void) {
  float two[2] = {1, 2};
  char outside[512];
  snprintf(outside, sizeof outside, "%s.outside.bin", tmpdir);
  write_bin(outside, two, sizeof two);
  char rel[600];
  snprintf(rel, sizeof rel, "../%s", strrchr(outside, '/') + 1);
  external_case("esc_dotdot", rel, "escapes the model's folder");
  external_case("esc_abs", outside, "is absolute");
  CHECK(symlink(outside, tmp_path("link.bin")) == 0);
  external_case("esc_link", "link.bin", "escapes the model's folder");
  unlink(outside);
}

static void write_text(const char *path, const char *s, size_t n) { write_bin(path, s, n); }

static void expect_bad_file(const char *path, const char *want) {
  chm_err e = {0};
  gr_graph *g = gr_load(path, &e);
  CHECK(!g);
  gr_free(g);
  if (!strstr(e.msg, want)) fprintf(stderr, "  got: %s\n  want: %s\n", e.msg, want);
  CHECK(strncmp(e.msg, path, strlen(path)) == 0 && strstr(e.msg, want));
}

static void test_import_bad_files(void) {
  write_text(tmp_path("empty.onnx"), "", 0);
  expect_bad_file(tmp_path("empty.onnx"), ": not a valid ONNX model (empty file)");
  const char *text = "this is not a protobuf at all, just some text\n";
  write_text(tmp_path("text.onnx"), text, strlen(text));
  expect_bad_file(tmp_path("text.onnx"), ": not a valid ONNX model (");
  unsigned char junk[4096];
  unsigned seed = 7;
  for (size_t i = 0; i < sizeof junk; i++) junk[i] = (unsigned char)(frand(&seed) * 127 + 128);
  write_bin(tmp_path("junk.onnx"), junk, sizeof junk);
  expect_bad_file(tmp_path("junk.onnx"), ": not a valid ONNX model (");
  expect_bad_file(tmp_path("does_not_exist.onnx"), ": No such file");
  /* every truncation of a valid model: an error starting with the path, never a crash */
  float w[64];
  fill(w, 64, 3);
  mb *m = mb_new(13);
  mb_input(m, "x", 2, S(1, 8));
  mb_init_f(m, "W", 2, S(8, 8), w, MB_RAW);
  mb_node(m, "MatMul", "mm", "x W", "y");
  mb_output(m, "y");
  const char *full = tmp_path("full.onnx");
  CHECK(mb_write(m, full) == 0);
  mb_free(m);
  size_t size = 0;
  chm_err e = {0};
  unsigned char *buf = chm_read_file(full, &size, &e);
  CHECK(buf);
  const char *cut = tmp_path("cut.onnx");
  for (size_t n = 1; buf && n < size; n += 1 + n / 16) {
    write_bin(cut, buf, n);
    chm_err e2 = {0};
    gr_graph *g = gr_load(cut, &e2);
    CHECK(g || strncmp(e2.msg, cut, strlen(cut)) == 0);
    gr_free(g);
  }
  if (buf) {
    write_bin(cut, buf, size / 2);
    expect_bad_file(cut, ": not a valid ONNX model (");
  }
  /* random byte flips: load or a proper error, never a crash (run it under ASan) */
  unsigned rs = 99;
  for (int round = 0; buf && round < 400; round++) {
    unsigned char *mut = chm_malloc(size);
    memcpy(mut, buf, size);
    for (int k = 0; k < 1 + round % 4; k++) {
      rs = rs * 1103515245u + 12345u;
      size_t at = (rs >> 4) % (size < 200 ? size : 200); /* the header and graph fields */
      mut[at] = (unsigned char)(rs >> 20);
    }
    write_bin(cut, mut, size);
    free(mut);
    chm_err e2 = {0};
    gr_graph *g = gr_load(cut, &e2);
    CHECK(g || strncmp(e2.msg, cut, strlen(cut)) == 0);
    gr_free(g);
  }
  free(buf);
}

static void test_import_missing_names(void) {
  mb *m = mb_new(13);
  mb_input(m, "x", 1, S(2));
  mb_node(m, "Relu", "r1", "x", "y");
  mb_node(m, "Relu", "r2", "x", "y");
  mb_output(m, "y");
  expect_error(m, "dup_out", "node 'r2' (Relu): output 'y' is already defined elsewhere");

  m = mb_new(13);
  mb_input(m, "x", 1, S(2));
  Onnx__NodeProto *n = mb_node(m, "Relu", "r1", "x", "y");
  n->op_type = NULL;
  mb_output(m, "y");
  expect_error(m, "no_op", "not a valid ONNX model (node without an op_type)");

  m = mb_new(13);
  mb_input(m, "x", 2, S(-3, 2));
  mb_node(m, "Relu", "r1", "x", "y");
  mb_output(m, "y");
  expect_error(m, "neg_dim", "graph input 'x': bad dimension -3");

  m = mb_new(13);
  mb_input(m, "x", 1, S(2));
  mb_node(m, "Relu", "", "x", "y"); /* empty node name: named OP_i */
  mb_node(m, "Relu", "", "y", "z");
  mb_output(m, "q");
  expect_error(m, "no_producer", "graph output 'q' is not produced by any node");

  m = mb_new(21);
  mb_input(m, "x", 1, S(2));
  mb_node(m, "Relu", "r", "x", "y");
  mb_output(m, "y");
  expect_error(m, "new_opset", "opset 21 is not supported");
}

static void test_unsupported_op(void) {
  mb *m = mb_new(13);
  mb_input(m, "x", 1, S(2));
  mb_node(m, "Relu", "r", "x", "a");
  mb_node(m, "Frobnicate", "frob", "a", "y");
  mb_output(m, "y");
  char path[512];
  snprintf(path, sizeof path, "%s/unsupported.onnx: node 'frob' (Frobnicate): unsupported operator",
           tmpdir);
  expect_error(m, "unsupported", path);

  m = mb_new(13);
  mb_input(m, "x", 1, S(2));
  Onnx__NodeProto *n = mb_node(m, "Relu", "r", "x", "y");
  n->domain = "com.microsoft";
  mb_output(m, "y");
  expect_error(m, "domain", "node 'r' (Relu): operator domain 'com.microsoft' is not supported");

  m = mb_new(13);
  mb_input(m, "x", 1, S(2));
  mb_node(m, "Relu", "", "x", "a");
  mb_node(m, "Gemm", "", "a", "y");
  mb_output(m, "y");
  expect_error(m, "gemm_count", "node 'Gemm_1' (Gemm): expects 2 to 3 inputs, got 1");
}

static void test_dangling_input(void) {
  mb *m = mb_new(13);
  mb_input(m, "x", 1, S(2));
  mb_node(m, "Add", "add", "x zz", "y");
  mb_output(m, "y");
  expect_error(m, "dangling", "node 'add' (Add): input 'zz' is not produced by any node");
}

static void test_cycle(void) {
  mb *m = mb_new(13);
  mb_input(m, "x", 1, S(2));
  mb_node(m, "Add", "a", "x c", "b");
  mb_node(m, "Relu", "r", "b", "c");
  mb_node(m, "Relu", "out", "b", "y");
  mb_output(m, "y");
  expect_error(m, "cycle", "is part of a cycle");
}

/* ---- shapes ---- */

/* Loads x[1,c,h,w] -> Conv(attrs set by `setup`) and returns the graph. */
static gr_graph *conv_graph(const char *name, int64_t c, int64_t h, int64_t wd, int64_t m_out,
                            int64_t group, int64_t k, void (*setup)(Onnx__NodeProto *, mb *)) {
  static float w[4096];
  fill(w, 4096, 5);
  mb *m = mb_new(13);
  int64_t cin = c / group;
  if (h > 0) {
    mb_input(m, "x", 4, S(1, c, h, wd));
    mb_init_f(m, "W", 4, S(m_out, cin, k, k), w, MB_RAW);
  } else {
    mb_input(m, "x", 3, S(1, c, wd));
    mb_init_f(m, "W", 3, S(m_out, cin, k), w, MB_RAW);
  }
  Onnx__NodeProto *n = mb_node(m, "Conv", "conv", "x W", "y");
  if (group != 1) mb_attr_i(n, m, "group", group);
  if (setup) setup(n, m);
  mb_output(m, "y");
  chm_err e;
  return load(m, name, false, &e);
}

static void same_upper_s2(Onnx__NodeProto *n, mb *m) {
  mb_attr_s(n, m, "auto_pad", "SAME_UPPER");
  mb_attr_ints(n, m, "strides", 2, S(2, 2));
}
static void same_lower(Onnx__NodeProto *n, mb *m) { mb_attr_s(n, m, "auto_pad", "SAME_LOWER"); }
static void valid_dil(Onnx__NodeProto *n, mb *m) {
  mb_attr_s(n, m, "auto_pad", "VALID");
  mb_attr_ints(n, m, "dilations", 2, S(2, 2));
}
static void asym(Onnx__NodeProto *n, mb *m) {
  mb_attr_ints(n, m, "pads", 4, S(0, 1, 2, 3));
  mb_attr_ints(n, m, "strides", 2, S(1, 2));
}
static void conv1d(Onnx__NodeProto *n, mb *m) {
  mb_attr_ints(n, m, "pads", 2, S(1, 1));
  mb_attr_ints(n, m, "strides", 1, S(2));
}

static void test_conv_shapes(void) {
  gr_graph *g = conv_graph("conv_same_upper", 3, 7, 7, 4, 1, 3, same_upper_s2);
  CHECK(g && shape_is(tensor(g, "y"), 4, S(1, 4, 4, 4)));
  /* out 4, total pad = 3*2+3-7 = 2 → 1,1 */
  CHECK(g && ints_are(&g->nodes[0], "pads", 4, S(1, 1, 1, 1)));
  CHECK(g && !gr_attr_find(&g->nodes[0], "auto_pad"));
  CHECK(g && ints_are(&g->nodes[0], "kernel_shape", 2, S(3, 3)));
  CHECK(g && gr_attr_int(&g->nodes[0], "group", 0) == 1);
  gr_free(g);
  g = conv_graph("conv_same_lower", 2, 6, 6, 2, 1, 2, same_lower);
  CHECK(g && shape_is(tensor(g, "y"), 4, S(1, 2, 6, 6)));
  CHECK(g && ints_are(&g->nodes[0], "pads", 4, S(1, 1, 0, 0))); /* extra pad at the start */
  gr_free(g);
  g = conv_graph("conv_valid_dil", 2, 9, 9, 2, 1, 3, valid_dil);
  CHECK(g && shape_is(tensor(g, "y"), 4, S(1, 2, 5, 5)));
  CHECK(g && ints_are(&g->nodes[0], "dilations", 2, S(2, 2)));
  gr_free(g);
  g = conv_graph("conv_asym", 2, 5, 5, 2, 1, 3, asym);
  /* H: 5+0+2-3+1 = 5; W: (5+1+3-3)/2+1 = 4 */
  CHECK(g && shape_is(tensor(g, "y"), 4, S(1, 2, 5, 4)));
  CHECK(g && ints_are(&g->nodes[0], "strides", 2, S(1, 2)));
  gr_free(g);
  g = conv_graph("conv_depthwise", 8, 6, 6, 8, 8, 3, NULL);
  CHECK(g && shape_is(tensor(g, "y"), 4, S(1, 8, 4, 4)));
  CHECK(g && gr_attr_int(&g->nodes[0], "group", 0) == 8);
  gr_free(g);
  g = conv_graph("conv1d", 3, 0, 10, 4, 1, 3, conv1d);
  CHECK(g && shape_is(tensor(g, "y"), 3, S(1, 4, 5)));
  CHECK(g && ints_are(&g->nodes[0], "pads", 2, S(1, 1)));
  gr_free(g);
  g = conv_graph("conv_group_bad", 6, 5, 5, 4, 4, 3, NULL); /* 6 channels, group 4 */
  CHECK(!g);
  gr_free(g);
}

static gr_graph *pool_graph(const char *name, const char *op, int64_t h, int64_t k, int64_t s,
                            const int64_t *pads, int64_t ceil_mode, const char *auto_pad) {
  mb *m = mb_new(13);
  mb_input(m, "x", 4, S(1, 2, h, h));
  Onnx__NodeProto *n = mb_node(m, op, "pool", "x", "y");
  mb_attr_ints(n, m, "kernel_shape", 2, S(k, k));
  mb_attr_ints(n, m, "strides", 2, S(s, s));
  if (pads) mb_attr_ints(n, m, "pads", 4, pads);
  if (ceil_mode) mb_attr_i(n, m, "ceil_mode", 1);
  if (auto_pad) mb_attr_s(n, m, "auto_pad", auto_pad);
  mb_output(m, "y");
  chm_err e;
  return load(m, name, false, &e);
}

static void test_pool_shapes(void) {
  gr_graph *g = pool_graph("pool_floor", "MaxPool", 5, 2, 2, NULL, 0, NULL);
  CHECK(g && shape_is(tensor(g, "y"), 4, S(1, 2, 2, 2)));
  gr_free(g);
  g = pool_graph("pool_ceil", "MaxPool", 5, 2, 2, NULL, 1, NULL);
  CHECK(g && shape_is(tensor(g, "y"), 4, S(1, 2, 3, 3)));
  CHECK(g && gr_attr_int(&g->nodes[0], "ceil_mode", 0) == 1);
  gr_free(g);
  /* ceil gives 4 windows, but the 4th would start at 6 >= 5 + 1: dropped */
  g = pool_graph("pool_ceil_last", "AveragePool", 5, 2, 2, S(1, 1, 1, 1), 1, NULL);
  CHECK(g && shape_is(tensor(g, "y"), 4, S(1, 2, 3, 3)));
  CHECK(g && gr_attr_int(&g->nodes[0], "count_include_pad", 7) == 0);
  gr_free(g);
  g = pool_graph("pool_same", "AveragePool", 5, 3, 2, NULL, 0, "SAME_UPPER");
  CHECK(g && shape_is(tensor(g, "y"), 4, S(1, 2, 3, 3)));
  CHECK(g && ints_are(&g->nodes[0], "pads", 4, S(1, 1, 1, 1)));
  gr_free(g);
  g = pool_graph("pool_same_lower", "MaxPool", 6, 2, 2, NULL, 0, "SAME_LOWER");
  CHECK(g && shape_is(tensor(g, "y"), 4, S(1, 2, 3, 3)));
  CHECK(g && ints_are(&g->nodes[0], "pads", 4, S(0, 0, 0, 0)));
  gr_free(g);
  g = pool_graph("pool_too_big", "MaxPool", 2, 5, 1, NULL, 0, NULL);
  CHECK(!g);
  gr_free(g);
  mb *m = mb_new(13);
  mb_input(m, "x", 4, S(1, 2, 4, 4));
  mb_attr_ints(mb_node(m, "MaxPool", "mp", "x", "y idx"), m, "kernel_shape", 2, S(2, 2));
  mb_output(m, "y");
  mb_output(m, "idx");
  expect_error(m, "pool_indices", "node 'mp' (MaxPool): the Indices output is not supported");
}

static void test_shape_errors(void) {
  mb *m = mb_new(13);
  mb_input(m, "a", 3, S(1, 3, 4));
  mb_input(m, "b", 3, S(1, 5, 4));
  mb_node(m, "Add", "bad_add", "a b", "y");
  mb_output(m, "y");
  expect_error(m, "bcast", "node 'bad_add' (Add): shapes [1,3,4] and [1,5,4] do not broadcast");

  m = mb_new(13);
  mb_input(m, "a", 2, S(2, 3));
  mb_input(m, "b", 2, S(4, 5));
  mb_node(m, "MatMul", "mm", "a b", "y");
  mb_output(m, "y");
  expect_error(m, "matmul_inner", "node 'mm' (MatMul): inner dimensions differ");

  m = mb_new(13);
  mb_input(m, "a", 2, S(2, 3));
  mb_init_i64(m, "shape", 1, S(2), S(4, 2), MB_RAW);
  mb_node(m, "Reshape", "rs", "a shape", "y");
  mb_output(m, "y");
  expect_error(m, "reshape_count", "node 'rs' (Reshape): cannot reshape [2,3] (6 elements) to 8");

  m = mb_new(13);
  mb_input(m, "a", 2, S(2, 3));
  mb_input(m, "b", 2, S(3, 3));
  mb_attr_i(mb_node(m, "Concat", "cat", "a b", "y"), m, "axis", 1);
  mb_output(m, "y");
  expect_error(m, "concat_bad", "node 'cat' (Concat): input [3,3] does not match [2,3] on axis 1");

  float w[2 * 4 * 9] = {0};
  m = mb_new(13);
  mb_input(m, "x", 4, S(1, 3, 5, 5));
  mb_init_f(m, "W", 4, S(2, 4, 3, 3), w, MB_RAW);
  mb_node(m, "Conv", "c", "x W", "y");
  mb_output(m, "y");
  expect_error(m, "conv_channels", "node 'c' (Conv): input [1,3,5,5] has channels that do not "
                                   "match weight [2,4,3,3] with group 1");

  /* opset 6: Add with broadcast=1 aligns B at axis, not at the end */
  m = mb_new(6);
  mb_input(m, "x", 4, S(1, 3, 2, 2));
  mb_init_f(m, "bias", 1, S(3), w, MB_RAW);
  Onnx__NodeProto *add = mb_node(m, "Add", "add6", "x bias", "y");
  mb_attr_i(add, m, "broadcast", 1), mb_attr_i(add, m, "axis", 1);
  mb_output(m, "y");
  chm_err e;
  gr_graph *g = load(m, "legacy_bcast", false, &e);
  CHECK(g && g->n_nodes == 1 && shape_is(tensor(g, "y"), 4, S(1, 3, 2, 2)));
  if (g) CHECK(shape_is(&g->tensors[g->nodes[0].in[1]], 3, S(3, 1, 1)));
  gr_free(g);
  m = mb_new(6);
  mb_input(m, "x", 2, S(3, 2));
  mb_input(m, "z", 1, S(2));
  mb_node(m, "Add", "add6", "x z", "y");
  mb_output(m, "y");
  expect_error(m, "legacy_nobcast", "node 'add6' (Add): shapes [3,2] and [2] differ and "
                                    "'broadcast' is not set");

  m = mb_new(13);
  mb_input(m, "x", 4, S(1, 3, 5, 5));
  mb_attr_i(mb_node(m, "BatchNormalization", "bn", "x s b m v", "y"), m, "training_mode", 1);
  for (int i = 0; i < 4; i++) mb_init_f(m, (const char *[]){"s", "b", "m", "v"}[i], 1, S(3), w, MB_RAW);
  mb_output(m, "y");
  expect_error(m, "bn_training", "node 'bn' (BatchNormalization): training_mode is not supported");
}

/* ---- batchnorm ---- */

/* y[m,i,j] = b[m] + sum w[m,c,ki,kj] * x[c, i+ki-1, j+kj-1] (3x3, pad 1, stride 1) */
static void naive_conv(const float *x, int c, int h, int wd, const float *w, const float *b,
                       int m, float *y) {
  for (int o = 0; o < m; o++)
    for (int i = 0; i < h; i++)
      for (int j = 0; j < wd; j++) {
        double acc = b ? b[o] : 0;
        for (int ci = 0; ci < c; ci++)
          for (int ki = 0; ki < 3; ki++)
            for (int kj = 0; kj < 3; kj++) {
              int ii = i + ki - 1, jj = j + kj - 1;
              if (ii < 0 || jj < 0 || ii >= h || jj >= wd) continue;
              acc += w[((o * c + ci) * 3 + ki) * 3 + kj] * x[(ci * h + ii) * wd + jj];
            }
        y[(o * h + i) * wd + j] = (float)acc;
      }
}

static void test_batchnorm_fold(void) {
  enum { C = 3, M = 4, H = 5, W = 5 };
  float w[M * C * 9], b[M], gamma[M], beta[M], mean[M], var[M], x[C * H * W];
  fill(w, M * C * 9, 11), fill(b, M, 12), fill(gamma, M, 13), fill(beta, M, 14);
  fill(mean, M, 15), fill(var, M, 16), fill(x, C * H * W, 17);
  for (int i = 0; i < M; i++) var[i] = fabsf(var[i]) + 0.1f;
  mb *m = mb_new(9);
  mb_input(m, "x", 4, S(1, C, H, W));
  mb_init_f(m, "W", 4, S(M, C, 3, 3), w, MB_RAW);
  mb_init_f(m, "B", 1, S(M), b, MB_RAW);
  mb_init_f(m, "gamma", 1, S(M), gamma, MB_RAW);
  mb_init_f(m, "beta", 1, S(M), beta, MB_RAW);
  mb_init_f(m, "mean", 1, S(M), mean, MB_RAW);
  mb_init_f(m, "var", 1, S(M), var, MB_RAW);
  mb_attr_ints(mb_node(m, "Conv", "conv", "x W B", "c"), m, "pads", 4, S(1, 1, 1, 1));
  mb_attr_f(mb_node(m, "BatchNormalization", "bn", "c gamma beta mean var", "y"), m, "epsilon",
            1e-3f);
  mb_output(m, "y");
  chm_err e;
  gr_graph *g = load(m, "bn_fold", false, &e);
  CHECK(g && g->n_nodes == 1);
  if (!g || g->n_nodes != 1) return gr_free(g);
  gr_node *conv = &g->nodes[0];
  CHECK(strcmp(gr_op_name(conv->op), "Conv") == 0 && conv->n_in == 3);
  CHECK(strcmp(g->tensors[conv->out[0]].name, "y") == 0);
  float ref[M * H * W], got[M * H * W];
  naive_conv(x, C, H, W, w, b, M, ref);
  for (int o = 0; o < M; o++)
    for (int k = 0; k < H * W; k++) {
      float *r = &ref[o * H * W + k];
      *r = (*r - mean[o]) / sqrtf(var[o] + 1e-3f) * gamma[o] + beta[o];
    }
  naive_conv(x, C, H, W, g->tensors[conv->in[1]].data, g->tensors[conv->in[2]].data, M, got);
  float err = 0;
  for (int i = 0; i < M * H * W; i++) err = fmaxf(err, fabsf(ref[i] - got[i]));
  CHECK(err < 1e-4f);
  /* the original initializers are untouched */
  CHECK(memcmp(tensor(g, "W") ? tensor(g, "W")->data : w, w, sizeof w) == 0);
  gr_free(g);
}

static void test_batchnorm_mul_add(void) {
  enum { C = 3 };
  float gamma[C] = {1, 2, 3}, beta[C] = {0.5f, 0, -1}, mean[C] = {1, 2, 3}, var[C] = {1, 4, 9};
  mb *m = mb_new(15);
  mb_input(m, "x", 4, S(1, C, 2, 2));
  mb_init_f(m, "gamma", 1, S(C), gamma, MB_RAW);
  mb_init_f(m, "beta", 1, S(C), beta, MB_RAW);
  mb_init_f(m, "mean", 1, S(C), mean, MB_RAW);
  mb_init_f(m, "var", 1, S(C), var, MB_RAW);
  mb_attr_f(mb_node(m, "BatchNormalization", "bn", "x gamma beta mean var", "y"), m, "epsilon", 0);
  mb_output(m, "y");
  chm_err e;
  gr_graph *g = load(m, "bn_mul_add", false, &e);
  CHECK(g && g->n_nodes == 2);
  if (!g || g->n_nodes != 2) return gr_free(g);
  gr_node *mul = &g->nodes[0], *add = &g->nodes[1];
  CHECK(strcmp(gr_op_name(mul->op), "Mul") == 0 && strcmp(gr_op_name(add->op), "Add") == 0);
  const gr_tensor *s = &g->tensors[mul->in[1]], *h = &g->tensors[add->in[1]];
  CHECK(shape_is(s, 3, S(C, 1, 1)) && shape_is(h, 3, S(C, 1, 1)));
  for (int c = 0; c < C; c++) {
    float x = 1.5f, want = (x - mean[c]) / sqrtf(var[c]) * gamma[c] + beta[c];
    float got = x * ((float *)s->data)[c] + ((float *)h->data)[c];
    CHECK(fabsf(got - want) < 1e-5f);
  }
  CHECK(add->out[0] == g->outputs[0] && strcmp(g->tensors[add->out[0]].name, "y") == 0);
  gr_free(g);
}

/* ---- fusion ---- */

static void test_fusion(void) {
  enum { C = 2, M = 4 };
  float w[M * C * 9], b[M] = {1, 2, 3, 4}, bias[M] = {10, 20, 30, 40};
  fill(w, M * C * 9, 21);
  mb *m = mb_new(13);
  mb_input(m, "x", 4, S(1, C, 6, 6));
  mb_input(m, "skip", 4, S(1, M, 6, 6));
  mb_init_f(m, "W", 4, S(M, C, 3, 3), w, MB_RAW);
  mb_init_f(m, "B", 1, S(M), b, MB_RAW);
  mb_init_f(m, "bias", 4, S(1, M, 1, 1), bias, MB_RAW);
  mb_attr_ints(mb_node(m, "Conv", "conv", "x W B", "c"), m, "pads", 4, S(1, 1, 1, 1));
  mb_node(m, "Add", "add_bias", "bias c", "cb");
  mb_node(m, "Add", "add_res", "cb skip", "cr");
  mb_node(m, "Relu", "relu", "cr", "y");
  mb_output(m, "y");
  chm_err e;
  gr_graph *g = load(m, "fusion", false, &e);
  CHECK(g && g->n_nodes == 1);
  if (g && g->n_nodes == 1) {
    gr_node *n = &g->nodes[0];
    CHECK(n->act == CHM_ACT_RELU && n->residual >= 0);
    CHECK(strcmp(g->tensors[n->residual].name, "skip") == 0);
    CHECK(strcmp(g->tensors[n->out[0]].name, "y") == 0);
    const float *nb = g->tensors[n->in[2]].data;
    CHECK(nb[0] == 11 && nb[3] == 44);
    CHECK(!tensor(g, "B") || ((float *)tensor(g, "B")->data)[0] == 1); /* not mutated */
  }
  gr_free(g);

  /* the conv output read twice: nothing fuses */
  m = mb_new(13);
  mb_input(m, "x", 4, S(1, C, 6, 6));
  mb_init_f(m, "W", 4, S(M, C, 3, 3), w, MB_RAW);
  mb_node(m, "Conv", "conv", "x W", "c");
  mb_node(m, "Relu", "relu", "c", "y");
  mb_node(m, "Sigmoid", "sig", "c", "z");
  mb_output(m, "y");
  mb_output(m, "z");
  g = load(m, "no_fusion", false, &e);
  CHECK(g && g->n_nodes == 3 && g->nodes[0].act == CHM_ACT_NONE);
  gr_free(g);

  /* Gemm + constant Add: into C with beta folded; then Clip */
  float wg[3 * 2] = {1, 2, 3, 4, 5, 6}, cg[2] = {1, 1}, add[2] = {5, 7};
  m = mb_new(13);
  mb_input(m, "x", 2, S(1, 3));
  mb_init_f(m, "Wg", 2, S(3, 2), wg, MB_RAW);
  mb_init_f(m, "Cg", 1, S(2), cg, MB_RAW);
  mb_init_f(m, "addend", 2, S(1, 2), add, MB_RAW);
  mb_init_f(m, "lo", 0, S(0), (float[]){0}, MB_RAW);
  mb_init_f(m, "hi", 0, S(0), (float[]){6}, MB_RAW);
  mb_attr_f(mb_node(m, "Gemm", "gemm", "x Wg Cg", "g"), m, "beta", 2.0f);
  mb_node(m, "Add", "add", "g addend", "ga");
  mb_node(m, "Clip", "clip", "ga lo hi", "y");
  mb_output(m, "y");
  g = load(m, "gemm_fusion", false, &e);
  CHECK(g && g->n_nodes == 1);
  if (g && g->n_nodes == 1) {
    gr_node *n = &g->nodes[0];
    const float *c = g->tensors[n->in[2]].data;
    CHECK(c[0] == 7 && c[1] == 9 && gr_attr_float(n, "beta", 0) == 1.0f);
    CHECK(n->act == CHM_ACT_CLIP && n->act_a == 0 && n->act_b == 6);
  }
  gr_free(g);
}

static void test_matmul_bias_gemm(void) {
  float w[4 * 3], b[3] = {1, 2, 3};
  fill(w, 12, 31);
  mb *m = mb_new(13);
  mb_input(m, "x", 2, S(1, 4));
  mb_init_f(m, "W", 2, S(4, 3), w, MB_RAW);
  mb_init_f(m, "b", 1, S(3), b, MB_RAW);
  mb_node(m, "MatMul", "mm", "x W", "h");
  mb_node(m, "Add", "add", "h b", "y");
  mb_output(m, "y");
  chm_err e;
  gr_graph *g = load(m, "matmul_gemm", false, &e);
  CHECK(g && g->n_nodes == 1);
  if (g && g->n_nodes == 1) {
    gr_node *n = &g->nodes[0];
    CHECK(strcmp(gr_op_name(n->op), "Gemm") == 0 && n->n_in == 3);
    CHECK(gr_attr_int(n, "transB", 9) == 0 && gr_attr_float(n, "alpha", 0) == 1);
    CHECK(shape_is(tensor(g, "y"), 2, S(1, 3)));
  }
  gr_free(g);
}

/* ---- folding ---- */

/* torch's Flatten export: Shape -> Gather(0) -> Unsqueeze -> Concat(-1) -> Reshape */
static void test_shape_subgraph(void) {
  mb *m = mb_new(11);
  mb_input(m, "x", 4, S(1, 8, 3, 3));
  mb_node(m, "Relu", "relu", "x", "r");
  mb_node(m, "Shape", "shape", "r", "s");
  mb_attr_t(mb_node(m, "Constant", "c0", "", "zero"), m, "value",
            mb_tensor_i64(m, "", 0, S(0), S(0), MB_RAW));
  mb_attr_i(mb_node(m, "Gather", "gather", "s zero", "n"), m, "axis", 0);
  mb_attr_ints(mb_node(m, "Unsqueeze", "unsq", "n", "n1"), m, "axes", 1, S(0));
  mb_attr_t(mb_node(m, "Constant", "c1", "", "minus1"), m, "value",
            mb_tensor_i64(m, "", 1, S(1), S(-1), MB_TYPED));
  mb_attr_i(mb_node(m, "Concat", "cat", "n1 minus1", "shp"), m, "axis", 0);
  mb_node(m, "Reshape", "reshape", "r shp", "y");
  mb_output(m, "y");
  chm_err e;
  gr_graph *g = load(m, "shape_subgraph", false, &e);
  CHECK(g && g->n_nodes == 2);
  if (g && g->n_nodes == 2) {
    CHECK(strcmp(gr_op_name(g->nodes[1].op), "Reshape") == 0 && g->nodes[1].n_in == 1);
    CHECK(shape_is(tensor(g, "y"), 2, S(1, 72)));
    CHECK(count_op(g, "Shape") == 0 && count_op(g, "Gather") == 0);
  }
  gr_free(g);

  /* opset 13: Slice/Cast/Range/ConstantOfShape chains fold too */
  m = mb_new(13);
  mb_input(m, "x", 3, S(2, 3, 4));
  mb_node(m, "Shape", "shape", "x", "s");
  mb_init_i64(m, "st", 1, S(1), S(1), MB_RAW);
  mb_init_i64(m, "en", 1, S(1), S(3), MB_RAW);
  mb_node(m, "Slice", "slice", "s st en", "hw"); /* [3,4] */
  mb_attr_i(mb_node(m, "Cast", "cast", "hw", "hwf"), m, "to", 1);
  mb_attr_i(mb_node(m, "Cast", "cast2", "hwf", "hw2"), m, "to", 7);
  mb_node(m, "ConstantOfShape", "cos", "hw2", "zeros"); /* f32 [3,4] zeros */
  mb_node(m, "Add", "add", "x zeros", "y");
  mb_output(m, "y");
  g = load(m, "slice_cast", false, &e);
  CHECK(g && g->n_nodes == 1);
  if (g && g->n_nodes == 1) {
    gr_tensor *z = &g->tensors[g->nodes[0].in[1]];
    CHECK(z->data && shape_is(z, 2, S(3, 4)) && ((float *)z->data)[11] == 0);
  }
  gr_free(g);

  m = mb_new(13);
  mb_input(m, "x", 1, S(5));
  mb_init_i64(m, "a", 0, S(0), S(0), MB_RAW);
  mb_init_i64(m, "b", 0, S(0), S(10), MB_RAW);
  mb_init_i64(m, "d", 0, S(0), S(2), MB_RAW);
  mb_node(m, "Range", "range", "a b d", "r");
  mb_attr_i(mb_node(m, "Cast", "cast", "r", "rf"), m, "to", 1);
  mb_node(m, "Mul", "mul", "x rf", "y");
  mb_output(m, "y");
  g = load(m, "range", false, &e);
  CHECK(g && g->n_nodes == 1);
  if (g && g->n_nodes == 1) {
    gr_tensor *r = &g->tensors[g->nodes[0].in[1]];
    CHECK(r->data && shape_is(r, 1, S(5)) && ((float *)r->data)[4] == 8);
  }
  gr_free(g);
}

static void test_normalize_attrs(void) {
  mb *m = mb_new(11);
  mb_input(m, "x", 4, S(1, 3, 1, 5));
  mb_attr_ints(mb_node(m, "Squeeze", "sq", "x", "a"), m, "axes", 1, S(-2)); /* [1,3,5] */
  mb_attr_ints(mb_node(m, "Unsqueeze", "usq", "a", "b"), m, "axes", 1, S(-1)); /* [1,3,5,1] */
  mb_node(m, "Transpose", "tr", "b", "c"); /* [1,5,3,1] */
  mb_attr_i(mb_node(m, "Softmax", "sm", "c", "d"), m, "axis", -2);
  mb_node(m, "LeakyRelu", "lr", "d", "e");
  mb_node(m, "HardSigmoid", "hs", "e", "f");
  mb_attr_i(mb_node(m, "Concat", "cat", "f f", "y"), m, "axis", -1);
  mb_output(m, "y");
  chm_err e;
  gr_graph *g = load(m, "normalize", false, &e);
  CHECK(g);
  if (!g) return;
  CHECK(count_op(g, "Squeeze") == 0 && count_op(g, "Unsqueeze") == 0 && count_op(g, "Reshape") == 2);
  CHECK(shape_is(tensor(g, "b"), 4, S(1, 3, 5, 1)));
  gr_node *tr = find_node(g, "Transpose"), *sm = find_node(g, "Softmax");
  CHECK(tr && ints_are(tr, "perm", 4, S(3, 2, 1, 0)) && shape_is(tensor(g, "c"), 4, S(1, 5, 3, 1)));
  CHECK(sm && gr_attr_int(sm, "axis", -1) == 2 && gr_attr_int(sm, "coerce_2d", -1) == 1);
  CHECK(fabsf(gr_attr_float(find_node(g, "LeakyRelu"), "alpha", 0) - 0.01f) < 1e-7f);
  CHECK(gr_attr_float(find_node(g, "HardSigmoid"), "beta", 0) == 0.5f);
  CHECK(gr_attr_int(find_node(g, "Concat"), "axis", -1) == 3);
  CHECK(shape_is(tensor(g, "y"), 4, S(1, 5, 3, 2)));
  gr_free(g);

  /* opset 13: Squeeze / Unsqueeze axes as inputs; Softmax one axis */
  m = mb_new(13);
  mb_input(m, "x", 3, S(2, 1, 4));
  mb_init_i64(m, "ax1", 1, S(1), S(1), MB_RAW);
  mb_init_i64(m, "ax0", 1, S(1), S(0), MB_RAW);
  mb_node(m, "Squeeze", "sq", "x ax1", "a");
  mb_node(m, "Unsqueeze", "usq", "a ax0", "b");
  mb_node(m, "Softmax", "sm", "b", "y");
  mb_output(m, "y");
  g = load(m, "normalize13", false, &e);
  CHECK(g && shape_is(tensor(g, "y"), 3, S(1, 2, 4)));
  if (g) {
    gr_node *sm = find_node(g, "Softmax");
    CHECK(sm && gr_attr_int(sm, "axis", -1) == 2 && gr_attr_int(sm, "coerce_2d", -1) == 0);
    CHECK(find_node(g, "Reshape")->n_in == 1);
  }
  gr_free(g);
}

static void test_clip_pad_softmax(void) {
  mb *m = mb_new(11);
  mb_input(m, "x", 4, S(1, 2, 3, 3));
  mb_init_f(m, "lo", 0, S(0), (float[]){-1}, MB_RAW);
  mb_init_i64(m, "pads", 1, S(8), S(0, 0, 1, 2, 0, 0, 3, 4), MB_RAW);
  mb_init_f(m, "cv", 0, S(0), (float[]){2.5f}, MB_RAW);
  mb_node(m, "Clip", "clip", "x lo", "c");
  mb_node(m, "Pad", "pad", "c pads cv", "y");
  mb_output(m, "y");
  chm_err e;
  gr_graph *g = load(m, "clip_pad11", false, &e);
  CHECK(g && g->n_nodes == 2);
  if (g && g->n_nodes == 2) {
    gr_node *c = find_node(g, "Clip"), *p = find_node(g, "Pad");
    CHECK(c->n_in == 1 && gr_attr_float(c, "min", 0) == -1 && isinf(gr_attr_float(c, "max", 0)));
    CHECK(p->n_in == 1 && ints_are(p, "pads", 8, S(0, 0, 1, 2, 0, 0, 3, 4)));
    CHECK(gr_attr_float(p, "value", 0) == 2.5f);
    CHECK(shape_is(tensor(g, "y"), 4, S(1, 2, 7, 9)));
  }
  gr_free(g);

  m = mb_new(9);
  mb_input(m, "x", 2, S(2, 3));
  Onnx__NodeProto *n = mb_node(m, "Clip", "clip", "x", "c");
  mb_attr_f(n, m, "min", 0), mb_attr_f(n, m, "max", 6);
  n = mb_node(m, "Pad", "pad", "c", "y");
  mb_attr_ints(n, m, "pads", 4, S(1, 0, 0, 1));
  mb_attr_f(n, m, "value", 1);
  mb_output(m, "y");
  g = load(m, "clip_pad9", false, &e);
  CHECK(g && shape_is(tensor(g, "y"), 2, S(3, 4)));
  if (g) CHECK(gr_attr_float(find_node(g, "Clip"), "max", 0) == 6);
  gr_free(g);

  m = mb_new(11);
  mb_input(m, "x", 2, S(2, 3));
  mb_input(m, "lo", 0, S(0));
  mb_node(m, "Clip", "clip", "x lo", "y");
  mb_output(m, "y");
  g = load(m, "clip_runtime_min", false, &e); /* a run-time min: Max(x, lo) */
  CHECK(g && g->n_nodes == 1 && g->nodes[0].op == GR_OP_MAX && shape_is(tensor(g, "y"), 2, S(2, 3)));
  gr_free(g);

  m = mb_new(11);
  mb_input(m, "x", 2, S(2, 3));
  mb_init_i64(m, "pads", 1, S(4), S(0, 0, 1, 1), MB_RAW);
  mb_attr_s(mb_node(m, "Pad", "pad", "x pads", "y"), m, "mode", "wrap");
  mb_output(m, "y");
  expect_error(m, "pad_wrap", "node 'pad' (Pad): mode 'wrap' is not supported");
}

static void test_max_min_chain(void) {
  mb *m = mb_new(13);
  for (int i = 0; i < 4; i++) mb_input(m, (const char *[]){"a", "b", "c", "d"}[i], 1, S(3));
  mb_node(m, "Max", "max", "a b c d", "y");
  mb_node(m, "Min", "min", "a", "z");
  mb_output(m, "y");
  mb_output(m, "z");
  chm_err e;
  gr_graph *g = load(m, "maxmin", false, &e);
  CHECK(g && count_op(g, "Max") == 3);
  for (int i = 0; g && i < g->n_nodes; i++) CHECK(g->nodes[i].n_in == 2 || g->nodes[i].n_in == 1);
  gr_tensor *y = g ? tensor(g, "y") : NULL;
  CHECK(y && y->producer >= 0 && strcmp(gr_op_name(g->nodes[y->producer].op), "Max") == 0);
  CHECK(g && count_op(g, "Reshape") == 1); /* Min of one input: a copy into output z */
  gr_free(g);
}

static void test_identity_output(void) {
  mb *m = mb_new(13);
  mb_input(m, "x", 1, S(4));
  mb_node(m, "Identity", "id1", "x", "a");
  mb_node(m, "Relu", "relu", "a", "b");
  mb_node(m, "Dropout", "drop", "b", "c");
  mb_node(m, "Sigmoid", "sig", "c", "d");
  mb_node(m, "Identity", "id2", "d", "y");
  mb_output(m, "y");
  chm_err e;
  gr_graph *g = load(m, "identity", false, &e);
  CHECK(g && g->n_nodes == 3);
  if (g && g->n_nodes == 3) {
    CHECK(strcmp(gr_op_name(g->nodes[0].op), "Relu") == 0 && g->nodes[0].in[0] == g->inputs[0]);
    CHECK(strcmp(gr_op_name(g->nodes[2].op), "Reshape") == 0);
    CHECK(strcmp(g->tensors[g->outputs[0]].name, "y") == 0);
  }
  gr_free(g);

  m = mb_new(13);
  mb_input(m, "x", 1, S(4));
  mb_node(m, "Dropout", "drop", "x", "y mask");
  mb_output(m, "y");
  mb_output(m, "mask");
  expect_error(m, "dropout_mask", "node 'drop' (Dropout): the mask output is used");
}

static void test_matmul_shapes(void) {
  static const struct {
    int ra, rb, ry;
    int64_t a[4], b[4], y[4];
  } cases[] = {
      {1, 2, 1, {3}, {3, 5}, {5}},
      {2, 1, 1, {4, 3}, {3}, {4}},
      {3, 2, 3, {2, 4, 3}, {3, 5}, {2, 4, 5}},
      {4, 3, 4, {2, 1, 4, 3}, {6, 3, 5}, {2, 6, 4, 5}},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    mb *m = mb_new(13);
    mb_input(m, "a", cases[i].ra, cases[i].a);
    mb_input(m, "b", cases[i].rb, cases[i].b);
    mb_node(m, "MatMul", "mm", "a b", "y");
    mb_output(m, "y");
    chm_err e;
    char name[32];
    snprintf(name, sizeof name, "matmul%zu", i);
    gr_graph *g = load(m, name, false, &e);
    CHECK(g && shape_is(tensor(g, "y"), cases[i].ry, cases[i].y));
    gr_free(g);
  }
}

static void test_dtype_errors(void) {
  mb *m = mb_new(13);
  mb_input_typed(m, "x", ONNX__TENSOR_PROTO__DATA_TYPE__INT64, 2, S(2, 3), NULL);
  mb_node(m, "Relu", "relu_int", "x", "y");
  mb_output(m, "y");
  expect_error(m, "int_relu", "node 'relu_int' (Relu): input 'x' is i64 at run time");

  m = mb_new(13);
  mb_input(m, "x", 2, S(2, 3));
  mb_init_i64(m, "idx", 1, S(1), S(1), MB_RAW);
  mb_node(m, "Gather", "g", "x idx", "y");
  mb_output(m, "y");
  expect_error(m, "runtime_gather", "node 'g' (Gather): is supported only on constants");
}

/* ---- the operator table and checked shape arithmetic ---- */

static void test_op_table(void) {
  for (int op = GR_OP_NONE + 1; op < GR_N_OPS; op++) {
    const gr_op_def *d = &gr__ops[op];
    CHECK(gr_op_find(gr_op_name((gr_op)op)) == op); /* names are unique and found */
    CHECK(d->infer != NULL && d->eval != NULL);
    CHECK(d->min_in <= d->max_in && d->min_out <= d->max_out && d->min_out >= 1);
    CHECK((d->kind == GR_OPK_UNARY) == (d->act != CHM_ACT_NONE)); /* exactly the activations */
    if (d->kind == GR_OPK_FOLD) CHECK(d->eval != gr__eval_none); /* fold-only ops must fold */
  }
  CHECK(gr_op_find("LSTM") == GR_OP_NONE && gr_op_find("") == GR_OP_NONE);
  CHECK(strcmp(gr_op_name(GR_OP_NONE), "?") == 0 && strcmp(gr_op_name(GR_OP_CONV), "Conv") == 0);
  gr_node n = {.op = GR_OP_CLIP};
  float a, b;
  CHECK(gr_node_act(&n, &a, &b) == CHM_ACT_CLIP && a == -INFINITY && b == INFINITY);
  n.op = GR_OP_CONV;
  CHECK(gr_node_act(&n, &a, &b) == CHM_ACT_NONE);
}

static void test_dim_arithmetic(void) {
  bool bad = false;
  CHECK(gr__dim_add(GR_MAX_ELEMS - 1, 1, &bad) == GR_MAX_ELEMS && !bad);
  CHECK(gr__dim_mul(1 << 16, 1 << 15, &bad) == GR_MAX_ELEMS && !bad);
  CHECK(gr__dim_prod(S(2, 3, 4), 3, &bad) == 24 && !bad);
  CHECK(gr__dim_prod(S(0), 0, &bad) == 1 && !bad);
  gr__dim_add(GR_MAX_ELEMS, 1, &bad);
  CHECK(bad);
  bad = false;
  gr__dim_mul(1LL << 62, 4, &bad); /* would wrap to 0 in int64 */
  CHECK(bad);
  bad = false;
  gr__dim_add(-1, 1, &bad);
  CHECK(bad);
  bad = false;
  gr__dim_prod(S(1LL << 40, 1LL << 40, 0), 3, &bad); /* a later 0 does not clear it */
  CHECK(bad);
  bad = false;
  gr__dim_mul(0, INT64_MAX, &bad); /* an operand out of range is bad even times zero */
  CHECK(bad);
}

/* Slice steps and bounds at the ends of int64 give the ONNX answer, no overflow. */
static void test_slice_extremes(void) {
  static const struct {
    int64_t start, end, step, count; /* on an axis of 4 */
  } cases[] = {
      {3, INT64_MIN, INT64_MIN, 1}, {0, INT64_MAX, INT64_MAX, 1}, {INT64_MIN, INT64_MAX, 1, 4},
      {INT64_MAX, INT64_MIN, -1, 4}, {-2, INT64_MAX, 2, 1},       {1, 4, -1, 0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    mb *m = mb_new(13);
    mb_input(m, "x", 2, S(2, 5));
    mb_init_i64(m, "st", 1, S(1), S(cases[i].start), MB_RAW);
    mb_init_i64(m, "en", 1, S(1), S(cases[i].end), MB_RAW);
    mb_init_i64(m, "ax", 1, S(1), S(0), MB_RAW);
    mb_init_i64(m, "sp", 1, S(1), S(cases[i].step), MB_RAW);
    mb_node(m, "Shape", "shape", "x", "s");
    mb_attr_i(mb_node(m, "Concat", "cat", "s s", "s2"), m, "axis", 0); /* [2,5,2,5] */
    mb_node(m, "Slice", "slice", "s2 st en ax sp", "part");
    mb_output(m, "part");
    char name[32];
    snprintf(name, sizeof name, "slice_ext%zu", i);
    chm_err e;
    gr_graph *g = load(m, name, false, &e);
    CHECK(g && shape_is(tensor(g, "part"), 1, S(cases[i].count)));
    gr_free(g);
  }
}

/* Pow by a constant 2 / 0.5 becomes Mul / Sqrt, another constant exponent a float one. */
static void test_pow_rewrite(void) {
  static const struct {
    int64_t exp_i; /* int64 exponent when exp_f is NAN */
    float exp_f;
    const char *op; /* what the Pow node becomes */
  } cases[] = {{0, 2.0f, "Mul"}, {0, 0.5f, "Sqrt"}, {3, NAN, "Pow"}, {0, 1.5f, "Pow"}};
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    mb *m = mb_new(13);
    mb_input(m, "x", 2, S(2, 3));
    if (isnan(cases[i].exp_f)) mb_init_i64(m, "p", 0, NULL, &cases[i].exp_i, MB_RAW);
    else mb_init_f(m, "p", 0, NULL, &cases[i].exp_f, MB_RAW);
    mb_node(m, "Pow", "pow", "x p", "y");
    mb_output(m, "y");
    char name[32];
    snprintf(name, sizeof name, "pow%zu", i);
    chm_err e;
    gr_graph *g = load(m, name, false, &e);
    CHECK(g && g->n_nodes == 1 && strcmp(gr_op_name(g->nodes[0].op), cases[i].op) == 0);
    if (g && g->nodes[0].op == GR_OP_POW) /* the exponent is a float32 constant now */
      CHECK(g->tensors[g->nodes[0].in[1]].dtype == GR_F32 && g->tensors[g->nodes[0].in[1]].data);
    gr_free(g);
  }
}

/* Reduce axes from the attribute or the input, negative or absent, keepdims. */
static void test_reduce_shapes(void) {
  chm_err e;
  mb *m = mb_new(13);
  mb_input(m, "x", 4, S(2, 3, 4, 5));
  Onnx__NodeProto *r = mb_node(m, "ReduceMean", "mean", "x", "y1");
  mb_attr_ints(r, m, "axes", 2, S(-1, 1));
  mb_attr_i(r, m, "keepdims", 0);
  mb_node(m, "ReduceMax", "max", "x", "y2"); /* no axes: all, keepdims */
  mb_init_i64(m, "ax", 1, S(1), S(2), MB_RAW);
  mb_node(m, "ReduceSum", "sum", "x ax", "y3"); /* opset 13: axes input */
  mb_output(m, "y1");
  mb_output(m, "y2");
  mb_output(m, "y3");
  gr_graph *g = load(m, "reduce", false, &e);
  CHECK(g && shape_is(tensor(g, "y1"), 2, S(2, 4)) && shape_is(tensor(g, "y2"), 4, S(1, 1, 1, 1)) &&
        shape_is(tensor(g, "y3"), 4, S(2, 3, 1, 5)));
  gr_node *mean = g ? find_node(g, "ReduceMean") : NULL, *sum = g ? find_node(g, "ReduceSum") : NULL;
  CHECK(mean && ints_are(mean, "axes", 2, S(1, 3)) && gr_attr_int(mean, "keepdims", 1) == 0);
  CHECK(sum && sum->n_in == 1 && ints_are(sum, "axes", 1, S(2)));
  gr_free(g);
}

/* Conv -> LeakyRelu -> Max(x, [1,1,1,1] c) -> Min(x, scalar): the Max and
 * Min become Clips (gr_match_patterns) and one clamp of the Conv; a Min
 * whose range does not meet the Max's stays apart; a Max of a per-channel
 * constant is no bound. */
static void test_clamp_fusion(void) {
  enum { C = 2, M = 4 };
  float w[M * C * 9], lo = -0.4f, hi[2] = {0.8f, -0.5f}, per_ch[M] = {0, 1, 2, 3};
  fill(w, M * C * 9, 29);
  for (int disjoint = 0; disjoint < 2; disjoint++) {
    mb *m = mb_new(13);
    mb_input(m, "x", 4, S(1, C, 6, 6));
    mb_init_f(m, "W", 4, S(M, C, 3, 3), w, MB_RAW);
    mb_init_f(m, "lo", 4, S(1, 1, 1, 1), &lo, MB_RAW);
    mb_init_f(m, "hi", 0, S(0), &hi[disjoint], MB_RAW);
    mb_node(m, "Conv", "conv", "x W", "c");
    mb_node(m, "LeakyRelu", "lrelu", "c", "l");
    mb_node(m, "Max", "max", "lo l", "a");
    mb_node(m, "Min", "min", "a hi", "y");
    mb_output(m, "y");
    chm_err e;
    gr_graph *g = load(m, disjoint ? "clamp_disjoint" : "clamp", false, &e);
    CHECK(g && g->n_nodes == 1 + disjoint && g->nodes[0].act == CHM_ACT_LEAKY_RELU && g->nodes[0].clamp);
    if (!g || g->n_nodes != 1 + disjoint) continue;
    const gr_node *n = &g->nodes[0];
    CHECK(n->lo == lo && n->hi == (disjoint ? INFINITY : hi[0]));
    if (disjoint) CHECK(g->nodes[1].op == GR_OP_CLIP && gr_attr_float(&g->nodes[1], "max", 0) == hi[1]);
    gr_free(g);
  }
  mb *m = mb_new(13);
  mb_input(m, "x", 4, S(1, C, 6, 6));
  mb_init_f(m, "W", 4, S(M, C, 3, 3), w, MB_RAW);
  mb_init_f(m, "pc", 4, S(1, M, 1, 1), per_ch, MB_RAW);
  mb_node(m, "Conv", "conv", "x W", "c");
  mb_node(m, "Max", "max", "c pc", "y");
  mb_output(m, "y");
  chm_err e;
  gr_graph *g = load(m, "max_per_channel", false, &e);
  CHECK(g && g->n_nodes == 2 && g->nodes[1].op == GR_OP_MAX && !g->nodes[0].clamp);
  gr_free(g);
}

/* Conv then y * Sigmoid(y) (either order): one Conv with a SiLU epilogue,
 * y * HardSigmoid(y) likewise with a HardSwish one;
 * a Log after a Conv stays apart (log(0) on padding lanes). */
static void test_silu_fusion(void) {
  enum { C = 2, M = 4 };
  float w[M * C * 9];
  fill(w, M * C * 9, 23);
  for (int order = 0; order < 2; order++) {
    mb *m = mb_new(13);
    mb_input(m, "x", 4, S(1, C, 6, 6));
    mb_init_f(m, "W", 4, S(M, C, 3, 3), w, MB_RAW);
    mb_node(m, "Conv", "conv", "x W", "c");
    mb_node(m, "Sigmoid", "sig", "c", "s");
    mb_node(m, "Mul", "mul", order ? "s c" : "c s", "y");
    mb_output(m, "y");
    chm_err e;
    gr_graph *g = load(m, order ? "silu1" : "silu0", false, &e);
    CHECK(g && g->n_nodes == 1 && g->nodes[0].act == CHM_ACT_SILU);
    CHECK(g && strcmp(g->tensors[g->nodes[0].out[0]].name, "y") == 0);
    gr_free(g);
  }
  /* y * HardSigmoid(y), as exporters before opset 14 write HardSwish: a
   * HardSwish epilogue with the HardSigmoid's alpha and (default) beta */
  for (int order = 0; order < 2; order++) {
    mb *m = mb_new(13);
    mb_input(m, "x", 4, S(1, C, 6, 6));
    mb_init_f(m, "W", 4, S(M, C, 3, 3), w, MB_RAW);
    mb_node(m, "Conv", "conv", "x W", "c");
    mb_attr_f(mb_node(m, "HardSigmoid", "hsig", "c", "s"), m, "alpha", 1.0f / 6);
    mb_node(m, "Mul", "mul", order ? "s c" : "c s", "y");
    mb_output(m, "y");
    chm_err e;
    gr_graph *g = load(m, order ? "hswish1" : "hswish0", false, &e);
    CHECK(g && g->n_nodes == 1 && g->nodes[0].act == CHM_ACT_HARD_SWISH);
    CHECK(g && g->nodes[0].act_a == 1.0f / 6 && g->nodes[0].act_b == 0.5f);
    gr_free(g);
  }
  mb *m = mb_new(13);
  mb_input(m, "x", 4, S(1, C, 6, 6));
  mb_init_f(m, "W", 4, S(M, C, 3, 3), w, MB_RAW);
  mb_node(m, "Conv", "conv", "x W", "c");
  mb_node(m, "Log", "log", "c", "y");
  mb_output(m, "y");
  chm_err e;
  gr_graph *g = load(m, "conv_log", false, &e);
  CHECK(g && g->n_nodes == 2 && g->nodes[0].act == CHM_ACT_NONE);
  gr_free(g);
  CHECK(!chm_act_zero_safe(CHM_ACT_LOG, 0, 0) && !chm_act_zero_safe(CHM_ACT_RECIPROCAL, 0, 0));
  CHECK(chm_act_zero_safe(CHM_ACT_SILU, 0, 0) && chm_act_zero_safe(CHM_ACT_EXP, 0, 0));
}

/* A model of x [1,C,6,6] -> Pad (pads, mode, value) -> READER -> y; for a
 * Conv, W [M,C,3,3]; extra: a second reader of the Pad's output (a Relu). */
static gr_graph *pad_then(const char *name, const char *reader, const int64_t *pads, const char *mode,
                          float value, bool extra) {
  enum { C = 2, M = 3 };
  float w[M * C * 9];
  fill(w, M * C * 9, 5);
  mb *m = mb_new(13);
  mb_input(m, "x", 4, S(1, C, 6, 6));
  mb_init_f(m, "W", 4, S(M, C, 3, 3), w, MB_RAW);
  mb_init_i64(m, "pads", 1, S(8), pads, MB_RAW);
  if (value != 0.0f) mb_init_f(m, "cv", 0, NULL, &value, MB_RAW);
  mb_attr_s(mb_node(m, "Pad", "pad", value != 0.0f ? "x pads cv" : "x pads", "p"), m, "mode", mode);
  Onnx__NodeProto *r = mb_node(m, reader, "reader", strcmp(reader, "Conv") == 0 ? "p W" : "p", "y");
  if (strcmp(reader, "Conv") != 0) mb_attr_ints(r, m, "kernel_shape", 2, S(3, 3));
  mb_output(m, "y");
  if (extra) {
    mb_node(m, "Relu", "relu", "p", "z");
    mb_output(m, "z");
  }
  chm_err e;
  return load(m, name, false, &e);
}

/* gr_fold_pads: a spatial constant Pad becomes its readers' own padding, and
 * only then; the readers' output shapes stay. */
static void test_pad_fold(void) {
  const int64_t sp[8] = {0, 0, 1, 2, 0, 0, 3, 0}, chan[8] = {0, 1, 0, 0, 0, 0, 0, 0};
  const int64_t *q;
  gr_graph *g = pad_then("pad_conv", "Conv", sp, "constant", 0.0f, false);
  gr_node *c = g ? find_node(g, "Conv") : NULL;
  CHECK(g && !find_node(g, "Pad") && c && gr_attr_ints(c, "pads", &q) == 4);
  CHECK(c && q[0] == 1 && q[1] == 2 && q[2] == 3 && q[3] == 0);
  CHECK(g && shape_is(tensor(g, "y"), 4, S(1, 3, 8, 6)) && c->in[0] == tensor(g, "x") - g->tensors);
  gr_free(g);

  g = pad_then("pad_avg", "AveragePool", sp, "constant", 0.0f, false);
  c = g ? find_node(g, "AveragePool") : NULL;
  CHECK(g && !find_node(g, "Pad") && c && gr_attr_int(c, "count_include_pad", 0) == 1);
  CHECK(c && gr_attr_ints(c, "pads", &q) == 4 && q[0] == 1 && q[1] == 2 && q[2] == 3 && q[3] == 0);
  CHECK(g && shape_is(tensor(g, "y"), 4, S(1, 2, 8, 6)));
  gr_free(g);

  g = pad_then("pad_max", "MaxPool", sp, "constant", -INFINITY, false);
  CHECK(g && !find_node(g, "Pad") && find_node(g, "MaxPool"));
  gr_free(g);

  /* Kept: a value the reader does not pad with, a padded channel axis,
   * another mode, a reader that cannot take it. */
  const struct { const char *name, *reader, *mode; const int64_t *pads; float value; bool extra; } keep[] = {
      {"pad_conv_one", "Conv", "constant", sp, 1.0f, false},
      {"pad_max_zero", "MaxPool", "constant", sp, 0.0f, false},
      {"pad_channel", "AveragePool", "constant", chan, 0.0f, false},
      {"pad_reflect", "AveragePool", "reflect", sp, 0.0f, false},
      {"pad_two_readers", "Conv", "constant", sp, 0.0f, true},
  };
  for (size_t i = 0; i < sizeof keep / sizeof *keep; i++) {
    g = pad_then(keep[i].name, keep[i].reader, keep[i].pads, keep[i].mode, keep[i].value, keep[i].extra);
    c = g ? find_node(g, keep[i].reader) : NULL;
    CHECK(g && find_node(g, "Pad") && c && c->in[0] == tensor(g, "p") - g->tensors);
    if (!g || !find_node(g, "Pad")) fprintf(stderr, "  (case %s)\n", keep[i].name);
    gr_free(g);
  }
}

/* Symbolic dimensions: batch 1 with a notice, others refused by name unless given. */
static void test_symbolic_dims(void) {
  const char *params[4] = {"N", NULL, "height", "width"};
  chm_err e;
  mb *m = mb_new(13);
  mb_input_sym(m, "x", 4, S(1, 3, 8, 8), params);
  mb_node(m, "Relu", "relu", "x", "y");
  mb_output(m, "y");
  expect_error(m, "sym_hw", "graph input 'x': dimension 2 ('height') is symbolic");

  gr_input_shape given = {"x", 4, {2, 3, 16, 12}};
  for (int k = 0; k < 4; k++) {
    m = mb_new(13);
    mb_input_sym(m, "x", 4, S(1, 3, 8, 8), params);
    mb_node(m, "Relu", "relu", "x", "y");
    mb_output(m, "y");
    char name[32];
    snprintf(name, sizeof name, "sym%d.onnx", k);
    const char *file = tmp_path(name);
    CHECK(mb_write(m, file) == 0);
    mb_free(m);
    memset(&e, 0, sizeof e); /* chm_errorf keeps the first error */
    if (k == 0) { /* given: the symbolic dims take it */
      gr_graph *g = gr_load_shapes(file, &given, 1, &e);
      CHECK(g && shape_is(tensor(g, "y"), 4, S(2, 3, 16, 12)) && !g->notice);
      gr_free(g);
    } else if (k == 1) { /* a stated dimension that differs */
      gr_input_shape bad = {"x", 4, {1, 4, 16, 12}};
      gr_graph *g = gr_load_shapes(file, &bad, 1, &e);
      CHECK(!g && strstr(e.msg, "dimension 1 is 3 in the model, not 4"));
    } else if (k == 2) { /* a name that is no input */
      gr_input_shape other = {"z", 4, {1, 3, 16, 12}};
      gr_graph *g = gr_load_shapes(file, &other, 1, &e);
      CHECK(!g && strstr(e.msg, "'z', which is not a runtime input"));
    } else { /* the wrong rank */
      gr_input_shape r3 = {"x", 3, {3, 16, 12}};
      gr_graph *g = gr_load_shapes(file, &r3, 1, &e);
      CHECK(!g && strstr(e.msg, "has rank 4, the given shape 3"));
    }
  }
  /* only the batch symbolic: 1, with a notice */
  const char *batch[4] = {"N"};
  m = mb_new(13);
  mb_input_sym(m, "x", 4, S(1, 3, 8, 8), batch);
  mb_node(m, "Relu", "relu", "x", "y");
  mb_output(m, "y");
  gr_graph *g = load(m, "sym_batch", false, &e);
  CHECK(g && shape_is(tensor(g, "y"), 4, S(1, 3, 8, 8)) && g->notice && strstr(g->notice, "'N' taken as 1"));
  gr_free(g);
}

/* The GELU (erf form) and LayerNorm chains of exporters become Gelu (fused
 * into the MatMul before it) and LayerNormalization. */
static void test_patterns(void) {
  enum { K = 8, N = 16 };
  float w[K * N], bias[N], gamma[N], beta[N];
  fill(w, K * N, 41), fill(bias, N, 42), fill(gamma, N, 43), fill(beta, N, 44);
  mb *m = mb_new(13);
  mb_input(m, "x", 3, S(1, 5, K));
  mb_init_f(m, "w", 2, S(K, N), w, MB_RAW);
  mb_init_f(m, "b", 1, S(N), bias, MB_RAW);
  mb_init_f(m, "sqrt2", 0, NULL, (float[]){1.4142135f}, MB_RAW);
  mb_init_f(m, "one", 0, NULL, (float[]){1.0f}, MB_RAW);
  mb_init_f(m, "half", 0, NULL, (float[]){0.5f}, MB_RAW);
  mb_init_f(m, "eps", 0, NULL, (float[]){1e-6f}, MB_RAW);
  mb_init_f(m, "gamma", 1, S(N), gamma, MB_RAW);
  mb_init_f(m, "beta", 1, S(N), beta, MB_RAW);
  mb_node(m, "MatMul", "mm", "x w", "mm_out");
  mb_node(m, "Add", "bias", "b mm_out", "h");
  mb_node(m, "Div", "div", "h sqrt2", "hd");
  mb_node(m, "Erf", "erf", "hd", "he");
  mb_node(m, "Add", "add1", "he one", "ha");
  mb_node(m, "Mul", "mul", "h ha", "hm");
  mb_node(m, "Mul", "mul_half", "hm half", "g");
  mb_attr_ints(mb_node(m, "ReduceMean", "mean", "g", "mu"), m, "axes", 1, S(-1));
  mb_node(m, "Sub", "sub", "g mu", "d");
  mb_init_f(m, "two", 0, NULL, (float[]){2.0f}, MB_RAW);
  mb_node(m, "Pow", "pow", "d two", "d2");
  mb_attr_ints(mb_node(m, "ReduceMean", "var", "d2", "v"), m, "axes", 1, S(-1));
  mb_node(m, "Add", "add_eps", "v eps", "ve");
  mb_node(m, "Sqrt", "sqrt", "ve", "s");
  mb_node(m, "Div", "norm", "d s", "nrm");
  mb_node(m, "Mul", "scale", "nrm gamma", "sc");
  mb_node(m, "Add", "shift", "sc beta", "y");
  mb_output(m, "y");
  chm_err e;
  gr_graph *g = load(m, "patterns", false, &e);
  CHECK(g && g->n_nodes == 2);
  if (g && g->n_nodes == 2) {
    gr_node *mm = &g->nodes[0], *ln = &g->nodes[1];
    CHECK(mm->op == GR_OP_MATMUL && mm->act == CHM_ACT_GELU && mm->n_in == 3);
    CHECK(ln->op == GR_OP_LAYER_NORMALIZATION && gr_attr_int(ln, "axis", 0) == 2);
    CHECK(fabsf(gr_attr_float(ln, "epsilon", 0) - 1e-6f) < 1e-12f);
    CHECK(ln->in[1] >= 0 && g->tensors[ln->in[1]].data &&
          ((float *)g->tensors[ln->in[1]].data)[3] == gamma[3]);
    CHECK(strcmp(g->tensors[ln->out[0]].name, "y") == 0);
  }
  gr_free(g);
}

/* Clip with bounds computed at run time: Max then Min (or one of them). */
static void test_clip_runtime(void) {
  for (int k = 0; k < 2; k++) {
    mb *m = mb_new(13);
    mb_input(m, "x", 2, S(2, 3));
    mb_input(m, "lo", 0, NULL);
    mb_input(m, "hi", 0, NULL);
    mb_node(m, "Clip", "clip", k ? "x _ hi" : "x lo hi", "y");
    mb_output(m, "y");
    chm_err e;
    gr_graph *g = load(m, k ? "clip_hi" : "clip_lohi", false, &e);
    CHECK(g && g->n_nodes == (k ? 1 : 2) && count_op(g, "Min") == 1 && count_op(g, "Max") == (k ? 0 : 1));
    CHECK(g && shape_is(tensor(g, "y"), 2, S(2, 3)) && g->tensors[g->nodes[g->n_nodes - 1].out[0]].is_output);
    gr_free(g);
  }
}

/* BatchNormalization whose parameters are graph inputs: the elementwise map. */
static void test_batchnorm_runtime(void) {
  mb *m = mb_new(13);
  mb_input(m, "x", 4, S(1, 3, 4, 4));
  const char *names[4] = {"gamma", "beta", "mean", "var"};
  for (int j = 0; j < 4; j++) mb_input(m, names[j], 1, S(3));
  mb_node(m, "BatchNormalization", "bn", "x gamma beta mean var", "y");
  mb_output(m, "y");
  chm_err e;
  gr_graph *g = load(m, "bn_runtime", false, &e);
  CHECK(g && count_op(g, "Reshape") == 4 && count_op(g, "Sub") == 1 && count_op(g, "Sqrt") == 1 &&
        count_op(g, "Div") == 1 && count_op(g, "Mul") == 1 && count_op(g, "Add") == 2);
  CHECK(g && shape_is(tensor(g, "y"), 4, S(1, 3, 4, 4)) && g->n_inputs == 5);
  gr_free(g);
}

/* ---- driver ---- */

static const struct {
  const char *name;
  void (*fn)(void);
} tests[] = {
    {"import_raw_vs_typed", test_import_raw_vs_typed},
    {"import_constant_nodes", test_import_constant_nodes},
    {"import_initializer_inputs", test_import_initializer_inputs},
    {"import_reverse_order", test_import_reverse_order},
    {"import_external", test_import_external},
    {"import_external_escape", test_import_external_escape},
    {"import_bad_files", test_import_bad_files},
    {"import_missing_names", test_import_missing_names},
    {"unsupported_op", test_unsupported_op},
    {"dangling_input", test_dangling_input},
    {"cycle", test_cycle},
    {"conv_shapes", test_conv_shapes},
    {"pool_shapes", test_pool_shapes},
    {"shape_errors", test_shape_errors},
    {"batchnorm_fold", test_batchnorm_fold},
    {"batchnorm_mul_add", test_batchnorm_mul_add},
    {"fusion", test_fusion},
    {"matmul_bias_gemm", test_matmul_bias_gemm},
    {"shape_subgraph", test_shape_subgraph},
    {"normalize_attrs", test_normalize_attrs},
    {"clip_pad_softmax", test_clip_pad_softmax},
    {"max_min_chain", test_max_min_chain},
    {"identity_output", test_identity_output},
    {"matmul_shapes", test_matmul_shapes},
    {"dtype_errors", test_dtype_errors},
    {"op_table", test_op_table},
    {"dim_arithmetic", test_dim_arithmetic},
    {"slice_extremes", test_slice_extremes},
    {"pow_rewrite", test_pow_rewrite},
    {"reduce_shapes", test_reduce_shapes},
    {"silu_fusion", test_silu_fusion},
    {"clamp_fusion", test_clamp_fusion},
    {"pad_fold", test_pad_fold},
    {"symbolic_dims", test_symbolic_dims},
    {"patterns", test_patterns},
    {"clip_runtime", test_clip_runtime},
    {"batchnorm_runtime", test_batchnorm_runtime},
};

int main(int argc, char **argv) {
  snprintf(tmpdir, sizeof tmpdir, "/tmp/chamcc_graph_XXXXXX");
  if (!mkdtemp(tmpdir)) return perror("mkdtemp"), 2;
  int ran = 0;
  for (size_t i = 0; i < sizeof tests / sizeof *tests; i++)
    if (argc < 2 || strcmp(argv[1], tests[i].name) == 0) {
      tests[i].fn();
      ran++;
    }
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
  if (!ran) return fprintf(stderr, "no test named %s\n", argv[1]), 2;
  if (failures) fprintf(stderr, "%d check(s) failed\n", failures);
  return failures ? 1 : 0;
}
