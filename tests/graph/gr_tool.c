/*
 * gr_tool.c — loads ONNX models through gr_load and prints the result.
 *
 *   gr_tool MODEL...              dump each graph (or its error)
 * Every loaded graph is also checked against the promises of graph.h
 * (shapes everywhere, topological order, normalized ops).
 *   gr_tool --corpus DIR...       load DIR/<case>/model.onnx for every case:
 *                                 each must load or fail with a message that
 *                                 starts with its path (never crash)
 *   gr_tool --expect-ok MODEL...  each model must load
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chamcc/graph.h"

/* Ops that may stay after gr_load: everything the table says codegen lowers. */
static bool is_final_op(gr_op op) {
  gr_op_kind k = gr_op_kind_of(op);
  return op != GR_OP_NONE && k != GR_OPK_FOLD && k != GR_OPK_GONE;
}

/* The promises of graph.h after gr_load; prints and returns the first broken one. */
static const char *check_invariants(const gr_graph *g) {
  for (int t = 0; t < g->n_tensors; t++) {
    const gr_tensor *x = &g->tensors[t];
    if (x->dtype == GR_UNDEFINED || x->rank < 0 || x->rank > GR_MAX_RANK) return "tensor without a shape";
    for (int i = 0; i < x->rank; i++)
      if (x->shape[i] < 0) return "negative dimension";
    if (x->producer >= g->n_nodes) return "bad producer";
  }
  for (int i = 0; i < g->n_nodes; i++) {
    const gr_node *n = &g->nodes[i];
    const char *op = gr_op_name(n->op);
    if (!is_final_op(n->op)) return "an op that should be gone";
    for (int j = 0; j <= n->n_in; j++) {
      int t = j < n->n_in ? n->in[j] : n->residual;
      if (t < -1 || t >= g->n_tensors) return "bad input index";
      if (t < 0) continue;
      const gr_tensor *x = &g->tensors[t];
      if (!x->data && !x->is_input && (x->producer < 0 || x->producer >= i)) return "not in topological order";
      if (!x->data && x->dtype != GR_F32) return "non-float run-time input";
    }
    for (int j = 0; j < n->n_out; j++)
      if (n->out[j] < 0 || n->out[j] >= g->n_tensors || g->tensors[n->out[j]].producer != i)
        return "bad output";
    if (strcmp(op, "Reshape") == 0 &&
        (n->n_in != 1 || gr_numel(&g->tensors[n->in[0]]) != gr_numel(&g->tensors[n->out[0]])))
      return "bad Reshape";
    const int64_t *v;
    if ((strcmp(op, "Conv") == 0 || strstr(op, "Pool")) && !strstr(op, "Global") &&
        gr_attr_ints(n, "pads", &v) != 2 * (g->tensors[n->in[0]].rank - 2))
      return "pads not normalized";
  }
  return NULL;
}

/* Loads one model; returns 0 if it loaded, 1 on a well-formed error, 2 on a bad message. */
static int try_load(const char *path, bool dump) {
  chm_err e = {0};
  gr_graph *g = gr_load(path, &e);
  if (g) {
    if (dump) gr_dump(g, stdout);
    const char *broken = check_invariants(g);
    gr_free(g);
    if (broken) printf("%s: BAD: %s\n", path, broken);
    return broken ? 2 : 0;
  }
  printf("%s\n", e.msg);
  return strncmp(e.msg, path, strlen(path)) == 0 && e.msg[strlen(path)] == ':' ? 1 : 2;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every DIR/<case>/model.onnx, sorted. */
static int corpus(const char *dir, int *ok, int *failed) {
  DIR *d = opendir(dir);
  if (!d) return fprintf(stderr, "%s: cannot open\n", dir), 1;
  CHM_VEC(char *) names = {0};
  for (struct dirent *de; (de = readdir(d));)
    if (de->d_name[0] != '.') chm_vec_push(&names, chm_strdup(de->d_name));
  closedir(d);
  qsort(names.data, (size_t)names.len, sizeof(char *), cmp_str);
  int bad = 0;
  for (int i = 0; i < names.len; i++) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s/model.onnx", dir, names.data[i]);
    int rc = try_load(path, false);
    if (rc == 0) printf("%s: ok\n", path), (*ok)++;
    else (*failed)++;
    if (rc == 2) printf("  ^^^ BAD\n"), bad = 1;
    free(names.data[i]);
  }
  chm_vec_free(&names);
  return bad;
}

int main(int argc, char **argv) {
  if (argc < 2) return fprintf(stderr, "usage: gr_tool [--corpus DIR... | --expect-ok] MODEL...\n"), 2;
  int bad = 0, ok = 0, failed = 0;
  if (strcmp(argv[1], "--corpus") == 0) {
    for (int i = 2; i < argc; i++) bad |= corpus(argv[i], &ok, &failed);
    printf("corpus: %d loaded, %d refused with an error\n", ok, failed);
    return bad;
  }
  bool expect = strcmp(argv[1], "--expect-ok") == 0;
  for (int i = expect ? 2 : 1; i < argc; i++) {
    int rc = try_load(argv[i], !expect);
    if (rc && expect) bad = 1;
    if (rc == 0 && expect) printf("%s: ok\n", argv[i]);
  }
  return bad;
}
