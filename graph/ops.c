/*
 * ops.c — the operator table (built from graph/include/chamcc/ops.def) and
 * gr_check_ops, which checks every node's input and output counts against
 * it. Checking counts here means the later passes can index in[] and out[]
 * without re-checking. Which attributes are valid is checked where they are
 * read (shapes_ops.c), since that depends on the opset. Unknown operators
 * never get this far: the importer refuses them by name.
 */
#include <math.h>
#include <string.h>

#include "gr_internal.h"

const gr_op_def gr__ops[GR_N_OPS] = {
    [GR_OP_NONE] = {"?", 0, 0, 0, 0, GR_OPK_GONE, CHM_ACT_NONE, NULL, NULL},
#define GR_OP(id, name, min_in, max_in, min_out, max_out, kind, act, infer, eval)               \
  [GR_OP_##id] = {name,          min_in,         max_in,           min_out, max_out,            \
                  GR_OPK_##kind, CHM_ACT_##act,  gr__infer_##infer, gr__eval_##eval},
#include "chamcc/ops.def"
#undef GR_OP
};

const char *gr_op_name(gr_op op) { return op > GR_OP_NONE && op < GR_N_OPS ? gr__ops[op].name : "?"; }

gr_op gr_op_find(const char *name) {
  for (int op = GR_OP_NONE + 1; op < GR_N_OPS; op++)
    if (strcmp(gr__ops[op].name, name) == 0) return (gr_op)op;
  return GR_OP_NONE;
}

gr_op_kind gr_op_kind_of(gr_op op) { return gr__ops[op].kind; }

chm_act gr_node_act(const gr_node *n, float *a, float *b) {
  chm_act act = gr__ops[n->op].act;
  *a = *b = 0;
  if (act == CHM_ACT_GELU && strcmp(gr_attr_string(n, "approximate", "none"), "tanh") == 0)
    act = CHM_ACT_GELU_TANH;
  if (act == CHM_ACT_CLIP) {
    *a = gr_attr_float(n, "min", -INFINITY);
    *b = gr_attr_float(n, "max", INFINITY);
  } else if (act == CHM_ACT_LEAKY_RELU) {
    *a = gr_attr_float(n, "alpha", 0.01f);
  } else if (act == CHM_ACT_HARD_SIGMOID) {
    *a = gr_attr_float(n, "alpha", 0.2f);
    *b = gr_attr_float(n, "beta", 0.5f);
  } else if (act == CHM_ACT_HARD_SWISH) {
    *a = 1.0f / 6, *b = 0.5f;
  }
  return act;
}

static int check_node(const gr_graph *g, const gr_node *n, chm_err *e) {
  const gr_op_def *d = &gr__ops[n->op];
  if (n->n_in < d->min_in || n->n_in > d->max_in) {
    if (d->min_in == d->max_in)
      return gr_node_error(e, g, n, "expects %d inputs, got %d", d->min_in, n->n_in);
    if (d->max_in == MANY)
      return gr_node_error(e, g, n, "expects at least %d inputs, got %d", d->min_in, n->n_in);
    return gr_node_error(e, g, n, "expects %d to %d inputs, got %d", d->min_in, d->max_in,
                         n->n_in);
  }
  for (int j = 0; j < (d->max_in == MANY ? n->n_in : d->min_in); j++) /* variadic: every one */
    if (n->in[j] < 0) return gr_node_error(e, g, n, "required input %d is missing", j + 1);
  if (n->n_out < d->min_out || n->n_out > d->max_out)
    return gr_node_error(e, g, n, "expects %d to %d outputs, got %d", d->min_out, d->max_out,
                         n->n_out);
  return 0;
}

int gr_check_ops(gr_graph *g, chm_err *e) {
  for (int i = 0; i < g->n_nodes; i++)
    if (g->nodes[i].op && check_node(g, &g->nodes[i], e)) return -1;
  return 0;
}
