/*
 * patterns.c — gr_match_patterns: operators that exporters write out as
 * chains of simple ones, recognized and put back together so that codegen
 * runs them as one kernel (or one fused epilogue) instead of a pass over
 * memory per operator:
 *
 *   GELU:      x * 0.5 * (1 + Erf(x / sqrt(2)))       -> Gelu(x)
 *   LayerNorm: d = x - ReduceMean(x), over the last axis,
 *              d / Sqrt(ReduceMean(d * d) + eps) [* gamma] [+ beta]
 *                                                      -> LayerNormalization(x, gamma, beta)
 *   bounds:    Max(x, c), Min(x, c), c one value       -> Clip(x, min = c), Clip(x, max = c)
 *
 * A chain is taken only when its intermediate tensors are read by the
 * chain alone and are no graph outputs, and its constants have the values
 * the formula needs; anything else stays as it is. The last node of a chain
 * becomes the new operator (so it keeps the output tensor and the
 * topological order) and the others are deleted. Runs after shape
 * inference (the Pow of the variance is a Mul by then) and before epilogue
 * fusion (a Gelu after a MatMul or Conv then becomes its activation).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gr_internal.h"

typedef struct matcher {
  gr_graph *g;
  int *uses;     /* readers per tensor */
  int *producer; /* node producing each tensor, -1 if none (valid for live nodes) */
} matcher;

static void refresh(matcher *m) {
  gr_graph *g = m->g;
  gr__count_uses(g, m->uses = gr__per_tensor(g, m->uses, 0));
  m->producer = gr__per_tensor(g, m->producer, -1);
  for (int i = 0; i < g->n_nodes; i++)
    for (int j = 0; g->nodes[i].op && j < g->nodes[i].n_out; j++) m->producer[g->nodes[i].out[j]] = i;
}

/* The node of op `op` producing t, if t is read `uses` times and is no graph output; else -1. */
static int inner(const matcher *m, int t, gr_op op, int uses) {
  if (t < 0 || m->uses[t] != uses || m->g->tensors[t].is_output) return -1;
  int p = m->producer[t];
  return p >= 0 && m->g->nodes[p].op == op ? p : -1;
}

/* Is t a float32 constant of one element equal to v (within tol)? */
static bool is_scalar(const gr_graph *g, int t, double v, double tol) {
  const gr_tensor *x = &g->tensors[t];
  return x->data && x->dtype == GR_F32 && gr_numel(x) == 1 && fabs(((float *)x->data)[0] - v) <= tol;
}

/* Is t a float32 constant of one value, not NaN? */
static bool is_scalar_const(const gr_graph *g, int t) {
  const gr_tensor *x = &g->tensors[t];
  return x->data && x->dtype == GR_F32 && gr_numel(x) == 1 && !isnan(((float *)x->data)[0]);
}

/* For binary node b with input `known` on one side, the other input (or -1). */
static int other(const gr_node *b, int known) {
  return b->in[0] == known ? b->in[1] : b->in[1] == known ? b->in[0] : -1;
}

/* For binary node b one of whose inputs is a scalar constant v: the other input, else -1. */
static int other_than_scalar(const gr_graph *g, const gr_node *b, double v, double tol) {
  if (is_scalar(g, b->in[1], v, tol)) return b->in[0];
  if (is_scalar(g, b->in[0], v, tol)) return b->in[1];
  return -1;
}

static void drop(gr_graph *g, const int *nodes, int n) {
  for (int i = 0; i < n; i++) g->nodes[nodes[i]].op = GR_OP_NONE;
}

/* ---- GELU ---- */

/* Node i = Mul(h, 0.5), h = Mul(x, a), a = Add(Erf(Div(x, sqrt 2)), 1) (either
 * operand order, or Mul(x, 1/sqrt 2) for the division). */
static bool match_gelu(matcher *m, int i) {
  gr_graph *g = m->g;
  const gr_node *n = &g->nodes[i];
  if (n->op != GR_OP_MUL) return false;
  int h = other_than_scalar(g, n, 0.5, 1e-6), hm = inner(m, h, GR_OP_MUL, 1);
  if (hm < 0) return false;
  for (int side = 0; side < 2; side++) {
    int x = g->nodes[hm].in[side], a = g->nodes[hm].in[!side];
    int an = inner(m, a, GR_OP_ADD, 1);
    int er = an < 0 ? -1 : inner(m, other_than_scalar(g, &g->nodes[an], 1.0, 1e-6), GR_OP_ERF, 1);
    if (er < 0) continue;
    int dv = g->nodes[er].in[0], dn = inner(m, dv, GR_OP_DIV, 1);
    if (dn < 0) dn = inner(m, dv, GR_OP_MUL, 1);
    if (dn < 0) continue;
    const gr_node *d = &g->nodes[dn];
    bool scaled = d->op == GR_OP_DIV ? d->in[0] == x && is_scalar(g, d->in[1], M_SQRT2, 1e-5)
                                     : other_than_scalar(g, d, M_SQRT1_2, 1e-6) == x;
    if (!scaled) continue;
    int chain[4] = {hm, an, er, dn};
    drop(g, chain, 4);
    gr_node *gelu = &g->nodes[i];
    gelu->op = GR_OP_GELU;
    gr__set_inputs(g, gelu, 1, &x);
    gelu->n_attr = 0;
    return true;
  }
  return false;
}

/* ---- bounds ---- */

/* Node i = Max(x, c) or Min(x, c) with c a float32 constant of one value
 * that does not broadcast x to a larger shape (tf.math.maximum after an
 * activation; ReLU6 written as Min(Max(x, 0), 6)): a Clip with that bound,
 * an activation that fuses into the producer's epilogue and runs on the
 * blocked layout. A NaN bound stays a Max / Min. */
static bool match_bound(matcher *m, int i) {
  gr_graph *g = m->g;
  gr_node *n = &g->nodes[i];
  if ((n->op != GR_OP_MAX && n->op != GR_OP_MIN) || n->n_in != 2) return false;
  int side = is_scalar_const(g, n->in[1]) ? 1 : is_scalar_const(g, n->in[0]) ? 0 : -1;
  if (side < 0) return false;
  int x = n->in[!side];
  const gr_tensor *xt = &g->tensors[x], *yt = &g->tensors[n->out[0]];
  if (xt->dtype != GR_F32 || xt->rank != yt->rank || memcmp(xt->shape, yt->shape, (size_t)xt->rank * sizeof(int64_t)))
    return false;
  float v = ((float *)g->tensors[n->in[side]].data)[0];
  const char *bound = n->op == GR_OP_MAX ? "min" : "max";
  n->op = GR_OP_CLIP;
  gr__set_inputs(g, n, 1, &x);
  n->n_attr = 0;
  gr__set_float(g, n, bound, v);
  return true;
}

/* ---- LayerNormalization ---- */

/* ReduceMean of x over its last axis alone, keeping it. */
static bool mean_last(const gr_graph *g, const gr_node *r, int x) {
  const int64_t *axes;
  return r->in[0] == x && gr_attr_ints(r, "axes", &axes) == 1 &&
         axes[0] == g->tensors[x].rank - 1 && gr_attr_int(r, "keepdims", 1);
}

/* A float32 constant of exactly `len` elements (one per normalized value). */
static bool is_vector(const gr_graph *g, int t, int64_t len) {
  const gr_tensor *v = &g->tensors[t];
  return v->data && v->dtype == GR_F32 && gr_numel(v) == len && (v->rank == 0 || v->shape[v->rank - 1] == len);
}

/* Node i = Div(d, Sqrt(Add(ReduceMean(Mul(d, d)), eps))), d = Sub(x, ReduceMean(x)).
 * On success the LayerNormalization's x and epsilon, and the chain's nodes. */
static bool match_ln_core(matcher *m, int i, int *x, float *eps, int chain[6]) {
  gr_graph *g = m->g;
  const gr_node *dv = &g->nodes[i];
  if (dv->op != GR_OP_DIV) return false;
  int d = dv->in[0], sq = inner(m, dv->in[1], GR_OP_SQRT, 1);
  int sn = inner(m, d, GR_OP_SUB, 3), ad = sq < 0 ? -1 : inner(m, g->nodes[sq].in[0], GR_OP_ADD, 1);
  if (sn < 0 || ad < 0) return false;
  *x = g->nodes[sn].in[0];
  int mn = inner(m, g->nodes[sn].in[1], GR_OP_REDUCE_MEAN, 1);
  const gr_node *a = &g->nodes[ad];
  int eps_t = a->in[1], vr = inner(m, a->in[0], GR_OP_REDUCE_MEAN, 1);
  if (vr < 0) eps_t = a->in[0], vr = inner(m, a->in[1], GR_OP_REDUCE_MEAN, 1);
  if (mn < 0 || vr < 0 || !mean_last(g, &g->nodes[mn], *x)) return false;
  int sqr = inner(m, g->nodes[vr].in[0], GR_OP_MUL, 1);
  if (sqr < 0 || !mean_last(g, &g->nodes[vr], g->nodes[sqr].out[0])) return false;
  if (g->nodes[sqr].in[0] != d || g->nodes[sqr].in[1] != d) return false;
  const gr_tensor *et = &g->tensors[eps_t];
  if (!et->data || et->dtype != GR_F32 || gr_numel(et) != 1) return false;
  *eps = ((float *)et->data)[0];
  int nodes[6] = {mn, sn, sqr, vr, ad, sq};
  memcpy(chain, nodes, sizeof nodes);
  return *eps >= 0;
}

/* A constant of `len` values, each v (the absent scale or bias). */
static int filled(gr_graph *g, const char *base, int64_t len, float v) {
  int t = gr__add_const_unique(g, base, GR_F32, 1, &len);
  for (int64_t i = 0; i < len; i++) ((float *)g->tensors[t].data)[i] = v;
  return t;
}

/* The node reading t, if it is t's only reader and t is no graph output; else -1. */
static int sole_reader(const matcher *m, int t) {
  const gr_graph *g = m->g;
  if (m->uses[t] != 1 || g->tensors[t].is_output) return -1;
  for (int k = 0; k < g->n_nodes; k++)
    for (int j = 0; g->nodes[k].op && j < g->nodes[k].n_in; j++)
      if (g->nodes[k].in[j] == t) return k;
  return -1;
}

/* The LayerNormalization core, then optionally Mul by gamma and Add of beta. */
static bool match_layernorm(matcher *m, int i) {
  gr_graph *g = m->g;
  int x, chain[8], n_chain = 6, last = i, scale = -1, bias = -1;
  float eps;
  if (!match_ln_core(m, i, &x, &eps, chain)) return false;
  int64_t len = g->tensors[x].shape[g->tensors[x].rank - 1];
  int y = g->nodes[i].out[0], r = sole_reader(m, y);
  if (r >= 0 && g->nodes[r].op == GR_OP_MUL && is_vector(g, other(&g->nodes[r], y), len)) {
    scale = other(&g->nodes[r], y);
    chain[n_chain++] = last;
    last = r;
    y = g->nodes[r].out[0];
    r = sole_reader(m, y);
    if (r >= 0 && g->nodes[r].op == GR_OP_ADD && is_vector(g, other(&g->nodes[r], y), len)) {
      bias = other(&g->nodes[r], y);
      chain[n_chain++] = last;
      last = r;
    }
  }
  int rank = g->tensors[x].rank;
  const char *base = g->nodes[last].name;
  if (scale < 0) scale = filled(g, base, len, 1.0f);
  if (bias < 0) bias = filled(g, base, len, 0.0f);
  drop(g, chain, n_chain);
  gr_node *ln = &g->nodes[last];
  int in[3] = {x, scale, bias};
  ln->op = GR_OP_LAYER_NORMALIZATION;
  gr__set_inputs(g, ln, 3, in);
  ln->n_attr = 0;
  gr__set_int(g, ln, "axis", rank - 1);
  gr__set_float(g, ln, "epsilon", eps);
  return true;
}

int gr_match_patterns(gr_graph *g, chm_err *e) {
  matcher m = {.g = g};
  refresh(&m);
  bool changed = false;
  for (int i = 0; i < g->n_nodes; i++) {
    if (!g->nodes[i].op) continue;
    if (match_gelu(&m, i) || match_layernorm(&m, i) || match_bound(&m, i)) {
      changed = true;
      refresh(&m);
    }
  }
  free(m.uses);
  free(m.producer);
  if (changed) gr__compact(g);
  return 0;
}
