/*
 * shapes.c — gr_infer_shapes: a static shape and dtype for every tensor,
 * and attributes normalized so codegen need not know opsets.
 *
 * How: one walk in topological order. For each node, gr__infer_node checks
 * its inputs, computes its output shapes and rewrites its attributes into
 * the normal form listed in graph/README.md (defaults filled, axes made
 * positive, auto_pad resolved, Flatten/Squeeze/Unsqueeze/Reshape turned
 * into a one-input "Reshape", ...). Right after, a node whose inputs are
 * now all constant (or a Shape of a known shape) is evaluated by fold.c and
 * removed, so shape subgraphs collapse as the walk goes and later Reshapes
 * see constant targets. Identity and Dropout are removed by rewiring their
 * readers. Whatever is left must run on float32; anything else is an error
 * naming the node. Variadic Max/Min are split into two-input chains first,
 * and a Clip with bounds computed at run time into Max and Min.
 *
 * The per-op inference functions live in shapes_ops.c.
 */
#include "gr_internal.h"

/* Max/Min with one input become Identity; with more than two, a chain. */
static void split_variadic(gr_graph *g) {
  int count = g->n_nodes;
  for (int i = 0; i < count; i++) {
    gr_node *n = &g->nodes[i];
    if (n->op != GR_OP_MAX && n->op != GR_OP_MIN) continue;
    if (n->n_in == 1) n->op = GR_OP_IDENTITY;
    if (n->n_in <= 2) continue;
    int acc = n->in[0], n_in = n->n_in; /* n dangles once gr__add_node grows the node array */
    for (int j = 1; j < n_in - 1; j++) {
      int tmp = gr__unique_tensor(g, g->tensors[g->nodes[i].out[0]].name);
      int in[2] = {acc, g->nodes[i].in[j]};
      char *name = chm_arena_printf(g->arena, "%s_%d", g->nodes[i].name, j);
      gr__add_node(g, g->nodes[i].op, name, 2, in, 1, &tmp);
      acc = tmp;
    }
    n = &g->nodes[i];
    int last[2] = {acc, n->in[n->n_in - 1]};
    gr__set_inputs(g, n, 2, last);
  }
}

/* Is tensor t computed at run time: a graph input, or made by an operator
 * that runs (not a constant, not a shape computation that folds)? */
static bool runtime_value(const gr_graph *g, int t) {
  const gr_tensor *x = &g->tensors[t];
  if (x->data) return false;
  if (x->is_input) return true;
  return x->producer >= 0 && gr_op_kind_of(g->nodes[x->producer].op) != GR_OPK_FOLD;
}

/* Clip whose min or max is computed at run time: Min(Max(x, min), max)
 * (an absent bound drops its half). */
static void split_clip(gr_graph *g) {
  int count = g->n_nodes;
  for (int i = 0; i < count; i++) {
    gr_node *n = &g->nodes[i];
    if (n->op != GR_OP_CLIP || n->n_in < 2) continue;
    int lo = n->in[1], hi = n->n_in > 2 ? n->in[2] : -1;
    if (!(lo >= 0 && runtime_value(g, lo)) && !(hi >= 0 && runtime_value(g, hi))) continue;
    int x = n->in[0];
    if (lo >= 0 && hi >= 0) { /* this node takes the max, a new one the min */
      int y = n->out[0], tmp = gr__unique_tensor(g, g->tensors[y].name), in[2] = {tmp, hi};
      gr__add_node(g, GR_OP_MIN, chm_arena_printf(g->arena, "%s_max", g->nodes[i].name), 2, in, 1, &y);
      n = &g->nodes[i]; /* the node array may have moved */
      n->out[0] = tmp;
    }
    int in[2] = {x, lo >= 0 ? lo : hi};
    n->op = lo >= 0 ? GR_OP_MAX : GR_OP_MIN;
    gr__set_inputs(g, n, 2, in);
    n->n_attr = 0;
  }
}

/* Is tensor t read by any node or a graph output? */
bool gr__is_used(const gr_graph *g, int t) {
  if (g->tensors[t].is_output) return true;
  for (int i = 0; i < g->n_nodes; i++) {
    const gr_node *n = &g->nodes[i];
    if (!n->op) continue;
    for (int j = 0; j < n->n_in; j++)
      if (n->in[j] == t) return true;
    if (n->residual == t) return true;
  }
  return false;
}

/* Identity / Dropout left after folding: rewire readers, or keep a copy for a graph output. */
static void remove_identity(gr_graph *g, gr_node *n) {
  int in = n->in[0], out = n->out[0];
  if (g->tensors[out].is_output) {
    n->op = GR_OP_RESHAPE;
    gr__set_inputs(g, n, 1, &in);
    n->n_attr = 0;
    n->n_out = 1;
    return;
  }
  gr__replace_uses(g, out, in);
  n->op = GR_OP_NONE;
}

/* A node that stays for run time must compute on float32. */
static int check_runtime(gr_graph *g, gr_node *n, chm_err *e) {
  for (int j = 0; j < n->n_in; j++) {
    if (n->in[j] < 0) continue;
    if (n->op == GR_OP_SLICE && j > 0) continue; /* integer constants (starts, ends, ...) */
    const gr_tensor *x = &g->tensors[n->in[j]];
    if (gr_op_kind_of(n->op) == GR_OPK_FOLD && !x->data && n->op != GR_OP_SHAPE)
      return gr_node_error(e, g, n, "is supported only on constants (shape computations), but "
                           "input '%s' is computed at run time", x->name);
    if (x->dtype != GR_F32)
      return gr_node_error(e, g, n, "input '%s' is %s at run time; chamcc computes on float32 "
                           "only", x->name, gr__dtype_name(x->dtype));
  }
  return 0;
}

static int infer_one(gr_graph *g, int i, chm_err *e) {
  if (gr__infer_node(g, i, e)) return -1;
  gr_node *n = &g->nodes[i];
  if (!n->op) return 0;
  if (gr__can_fold(g, n)) {
    if (gr__eval_node(g, i, e)) return -1;
    g->nodes[i].op = GR_OP_NONE;
    return 0;
  }
  if (n->op == GR_OP_IDENTITY || n->op == GR_OP_DROPOUT) {
    remove_identity(g, n); /* a graph output keeps a copy: that runs, so it is checked */
    return n->op ? check_runtime(g, n, e) : 0;
  }
  if (n->op == GR_OP_BATCH_NORMALIZATION) return 0; /* checked by fold_batchnorm */
  return check_runtime(g, n, e);
}

int gr_infer_shapes(gr_graph *g, chm_err *e) {
  int before = g->n_nodes;
  split_variadic(g);
  split_clip(g);
  if (g->n_nodes != before && gr_toposort(g, e)) return -1;
  for (int i = 0; i < g->n_nodes; i++)
    if (g->nodes[i].op && infer_one(g, i, e)) return -1;
  gr__compact(g);
  return 0;
}
