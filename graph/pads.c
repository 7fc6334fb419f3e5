/*
 * pads.c — gr_fold_pads: a Pad in front of a Conv or a pool becomes the
 * reader's own padding, so no padded copy of the tensor is written.
 *
 * Exporters write an explicit Pad where the framework's padding is not
 * ONNX's (TensorFlow's asymmetric SAME, PyTorch's F.pad before a pool), and
 * each costs a full copy of the activation. A Pad folds into its readers
 * when it is constant mode, pads only the spatial axes (not N and C), its
 * output is no graph output, and every reader can take it:
 *   - Conv, value 0, reading it as X: the Conv's pads grow by the Pad's;
 *   - AveragePool, value 0: the zeros are data that the average counts, so
 *     the pool's pads grow and count_include_pad becomes 1, allowed when
 *     the pool had no pads of its own or already counted them;
 *   - MaxPool, value -inf: padding a max ignores, as MaxPool's own.
 * The output shape of each reader stays what it was: the window walks the
 * same padded extent. With ceil_mode, positions past input + pads are
 * outside the window before and after. The Pad is left without readers
 * (gr_remove_dead drops it).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gr_internal.h"

/* Spatial pads of Pad node p, begins then ends (2 * sp values), if it is
 * constant mode, pads N and C by nothing and has rank 3 to 5; else -1. */
static int spatial_pads(const gr_graph *g, const gr_node *p, int64_t *out) {
  const gr_tensor *x = &g->tensors[p->in[0]];
  const int64_t *pads;
  int count = gr_attr_ints(p, "pads", &pads), r = x->rank, sp = r - 2;
  if (strcmp(gr_attr_string(p, "mode", "constant"), "constant") != 0) return -1;
  if (r < 3 || r > 5 || count != 2 * r) return -1;
  if (pads[0] || pads[1] || pads[r] || pads[r + 1]) return -1;
  for (int i = 0; i < sp; i++) {
    out[i] = pads[2 + i];
    out[sp + i] = pads[r + 2 + i];
  }
  return sp;
}

/* Can reader node r take Pad output y, padded with `value`, as its padding? */
static bool can_take(const gr_graph *g, const gr_node *r, int y, float value) {
  if (r->residual == y) return false;
  for (int j = 1; j < r->n_in; j++)
    if (r->in[j] == y) return false;
  if (r->in[0] != y) return false;
  switch (r->op) {
  case GR_OP_CONV:
    return value == 0.0f;
  case GR_OP_AVERAGE_POOL: {
    if (value != 0.0f) return false;
    const int64_t *pads;
    int n = gr_attr_ints(r, "pads", &pads);
    bool own = false;
    for (int i = 0; i < n; i++) own |= pads[i] != 0;
    return !own || gr_attr_int(r, "count_include_pad", 0) == 1;
  }
  case GR_OP_MAX_POOL:
    return isinf(value) && value < 0;
  default:
    return false;
  }
}

/* Reader r reads x instead of the Pad's output, with the Pad's pads added. */
static void take(gr_graph *g, gr_node *r, int x, const int64_t *add, int sp) {
  const int64_t *old;
  int n = gr_attr_ints(r, "pads", &old);
  int64_t pads[2 * GR_MAX_RANK];
  for (int i = 0; i < 2 * sp; i++) pads[i] = (n == 2 * sp ? old[i] : 0) + add[i];
  gr__set_ints(g, r, "pads", pads, 2 * sp);
  if (r->op == GR_OP_AVERAGE_POOL) gr__set_int(g, r, "count_include_pad", 1);
  r->in[0] = x;
}

/* Folds Pad node pi into all its readers, or changes nothing. */
static bool fold_pad(gr_graph *g, int pi, const int *uses) {
  const gr_node *p = &g->nodes[pi];
  int64_t add[2 * GR_MAX_RANK];
  int sp = spatial_pads(g, p, add), y = p->out[0], x = p->in[0];
  if (sp < 0 || g->tensors[y].is_output || uses[y] == 0) return false;
  float value = gr_attr_float(p, "value", 0.0f);
  int readers = 0;
  for (int i = 0; i < g->n_nodes; i++) {
    const gr_node *r = &g->nodes[i];
    bool reads = r->residual == y;
    for (int j = 0; j < r->n_in; j++) reads |= r->in[j] == y;
    if (!reads) continue;
    if (!can_take(g, r, y, value)) return false;
    readers++;
  }
  if (readers != uses[y]) return false;
  for (int i = 0; i < g->n_nodes; i++)
    if (g->nodes[i].op != GR_OP_NONE && g->nodes[i].n_in > 0 && g->nodes[i].in[0] == y)
      take(g, &g->nodes[i], x, add, sp);
  return true;
}

int gr_fold_pads(gr_graph *g, chm_err *e) {
  (void)e;
  int *uses = gr__per_tensor(g, NULL, 0);
  gr__count_uses(g, uses);
  for (int i = 0; i < g->n_nodes; i++)
    if (g->nodes[i].op == GR_OP_PAD && fold_pad(g, i, uses)) gr__count_uses(g, uses);
  free(uses);
  return 0;
}
