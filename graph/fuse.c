/*
 * fuse.c — gr_fuse_epilogues: folds what follows a Conv / Gemm / MatMul
 * into it, so codegen applies it in the store of the accumulator tile:
 *
 *     y = act(op(x) + bias + residual)
 *
 * How: for each such node, follow its output while it has exactly one
 * reader and is not a graph output, and absorb at most, in this order:
 *   1. an Add of a constant that is a per-output-channel bias: Conv adds it
 *      into B (a new tensor), Gemm into C (beta folded, so beta becomes 1),
 *      a 2-D MatMul with an [N] / [1,N] constant becomes a Gemm with C, a
 *      MatMul of more dims by a constant 2-D B takes it as a third input;
 *   2. an Add of a non-constant tensor of exactly the output's shape:
 *      the residual;
 *   3. one activation (Relu, Clip, LeakyRelu, Sigmoid, HardSigmoid,
 *      HardSwish, Tanh, ...), or x * Sigmoid(x) as SiLU and
 *      x * HardSigmoid(x) as HardSwish;
 *   4. any Clips after that, as one clamp (gr_match_patterns has made
 *      Clips of the Max / Min of a constant).
 * The fused node takes over the absorbed node's output tensor, so graph
 * output names survive. Residual inputs can be produced after the node in
 * the current order, so the pass ends with gr_toposort.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gr_internal.h"

typedef struct fuser {
  gr_graph *g;   /* graph being rewritten */
  int *uses;     /* readers per tensor (recomputed after each change) */
  int *reader;   /* a node reading each tensor, -1 if none */
} fuser;

static void refresh(fuser *f) {
  gr_graph *g = f->g;
  gr__count_uses(g, f->uses = gr__per_tensor(g, f->uses, 0));
  f->reader = gr__per_tensor(g, f->reader, -1);
  for (int i = 0; i < g->n_nodes; i++) {
    const gr_node *n = &g->nodes[i];
    if (!n->op) continue;
    for (int j = 0; j < n->n_in; j++)
      if (n->in[j] >= 0) f->reader[n->in[j]] = i;
    if (n->residual >= 0) f->reader[n->residual] = i;
  }
}

/* The only reader of node ni's output, if it is an OP node; else -1. */
static int sole_reader(fuser *f, int ni, gr_op op) {
  int y = f->g->nodes[ni].out[0];
  if (f->uses[y] != 1 || f->g->tensors[y].is_output) return -1;
  int r = f->reader[y];
  return r >= 0 && f->g->nodes[r].op == op ? r : -1;
}

/* The node absorbs reader r: takes r's output, r disappears. */
static void absorb(fuser *f, int ni, int r) {
  f->g->nodes[ni].out[0] = f->g->nodes[r].out[0];
  f->g->nodes[r].op = GR_OP_NONE;
  refresh(f);
}

/* For Add node r reading y, the other operand. */
static int other_operand(const gr_graph *g, int r, int y) {
  const gr_node *a = &g->nodes[r];
  return a->in[0] == y ? a->in[1] : a->in[0];
}

/* Is constant c, added to y, a per-channel bias along axis `ch` (and no broadcast of y)? */
static bool is_channel_bias(const gr_tensor *c, const gr_tensor *y, int ch) {
  if (!c->data || c->dtype != GR_F32 || c->rank > y->rank) return false;
  for (int i = 0; i < c->rank; i++) {
    int yi = i + y->rank - c->rank;
    if (c->shape[i] != 1 && (yi != ch || c->shape[i] != y->shape[yi])) return false;
  }
  return true;
}

/* New constant [len] = old (or 0) + c broadcast along the channel axis. */
static int summed_bias(gr_graph *g, int old, int c, int64_t len, const char *base) {
  int b = gr__add_const_unique(g, base, GR_F32, 1, &len);
  float *d = g->tensors[b].data;
  const gr_tensor *ct = &g->tensors[c];
  bool per_channel = gr_numel(ct) == len && len != 1;
  for (int64_t i = 0; i < len; i++)
    d[i] = (old >= 0 ? ((const float *)g->tensors[old].data)[i] : 0.0f) +
           ((const float *)ct->data)[per_channel ? i : 0];
  return b;
}

static bool fuse_conv_bias(fuser *f, int ni, int r) {
  gr_graph *g = f->g;
  int y = g->nodes[ni].out[0], c = other_operand(g, r, y);
  const gr_tensor *yt = &g->tensors[y];
  if (!is_channel_bias(&g->tensors[c], yt, 1)) return false;
  if (!gr__same_shape(yt, &g->tensors[g->nodes[r].out[0]])) return false;
  int old = g->nodes[ni].n_in > 2 ? g->nodes[ni].in[2] : -1;
  if (old >= 0 && !g->tensors[old].data) return false;
  int b = summed_bias(g, old, c, yt->shape[1], g->tensors[y].name);
  int in[3] = {g->nodes[ni].in[0], g->nodes[ni].in[1], b};
  gr__set_inputs(g, &g->nodes[ni], 3, in);
  absorb(f, ni, r);
  return true;
}

/* Gemm: C' = beta * C + addend, materialized at the broadcast shape of both; beta = 1. */
static bool fuse_gemm_bias(fuser *f, int ni, int r) {
  gr_graph *g = f->g;
  int y = g->nodes[ni].out[0], c = other_operand(g, r, y);
  const gr_tensor *yt = &g->tensors[y], *ct = &g->tensors[c];
  if (!ct->data || ct->dtype != GR_F32 || ct->rank > 2) return false;
  if (!gr__same_shape(yt, &g->tensors[g->nodes[r].out[0]])) return false;
  int old = g->nodes[ni].n_in > 2 ? g->nodes[ni].in[2] : -1;
  if (old >= 0 && !g->tensors[old].data) return false;
  gr_tensor zero = {.rank = 0};
  const gr_tensor *ot = old >= 0 ? &g->tensors[old] : &zero;
  int64_t shape[GR_MAX_RANK];
  int rank;
  if (gr__broadcast(ot, ct, shape, &rank)) return false;
  float beta = gr_attr_float(&g->nodes[ni], "beta", 1.0f);
  int nc = gr__add_const_unique(g, g->tensors[y].name, GR_F32, rank, shape);
  gr_tensor *nt = &g->tensors[nc];
  ct = &g->tensors[c];
  ot = old >= 0 ? &g->tensors[old] : NULL;
  for (int64_t i = 0; i < gr_numel(nt); i++) {
    int64_t rest = i, ic = 0, io = 0, sc = 1, so = 1;
    for (int d = rank - 1; d >= 0; d--) { /* broadcast indices of c and old */
      int64_t k = rest % shape[d];
      rest /= shape[d];
      int dc = d - (rank - ct->rank), dd = ot ? d - (rank - ot->rank) : -1;
      if (dc >= 0) ic += (ct->shape[dc] == 1 ? 0 : k) * sc, sc *= ct->shape[dc];
      if (dd >= 0) io += (ot->shape[dd] == 1 ? 0 : k) * so, so *= ot->shape[dd];
    }
    float prev = ot ? beta * ((const float *)ot->data)[io] : 0.0f;
    ((float *)nt->data)[i] = prev + ((const float *)ct->data)[ic];
  }
  gr_node *n = &g->nodes[ni];
  int in[3] = {n->in[0], n->in[1], nc};
  gr__set_inputs(g, n, 3, in);
  gr__set_float(g, n, "beta", 1.0f);
  absorb(f, ni, r);
  return true;
}

/* 2-D MatMul + constant [N] / [1,N] becomes Gemm(A, B, C). */
static bool fuse_matmul_bias(fuser *f, int ni, int r) {
  gr_graph *g = f->g;
  gr_node *n = &g->nodes[ni];
  const gr_tensor *a = &g->tensors[n->in[0]], *b = &g->tensors[n->in[1]];
  int y = n->out[0], c = other_operand(g, r, y);
  const gr_tensor *ct = &g->tensors[c], *yt = &g->tensors[y];
  if (a->rank < 2 || b->rank != 2 || !ct->data || ct->dtype != GR_F32) return false;
  int64_t nn = yt->shape[yt->rank - 1];
  bool shape_ok = gr_numel(ct) == nn && ct->rank >= 1 && ct->shape[ct->rank - 1] == nn;
  if (!shape_ok || !gr__same_shape(yt, &g->tensors[g->nodes[r].out[0]])) return false;
  if (a->rank > 2) { /* a constant B over a batch of rows: the dense kernel adds the bias */
    if (!b->data) return false;
    int in[3] = {n->in[0], n->in[1], c};
    gr__set_inputs(g, n, 3, in);
    absorb(f, ni, r);
    return true;
  }
  n->op = GR_OP_GEMM;
  n->n_attr = 0;
  gr__set_float(g, n, "alpha", 1.0f);
  gr__set_float(g, n, "beta", 1.0f);
  gr__set_int(g, n, "transA", 0);
  gr__set_int(g, n, "transB", 0);
  int in[3] = {n->in[0], n->in[1], c};
  gr__set_inputs(g, n, 3, in);
  absorb(f, ni, r);
  return true;
}

static bool fuse_bias(fuser *f, int ni) {
  int r = sole_reader(f, ni, GR_OP_ADD);
  if (r < 0) return false;
  gr_op op = f->g->nodes[ni].op;
  if (op == GR_OP_CONV) return fuse_conv_bias(f, ni, r);
  if (op == GR_OP_GEMM) return fuse_gemm_bias(f, ni, r);
  return fuse_matmul_bias(f, ni, r);
}

static bool fuse_residual(fuser *f, int ni) {
  gr_graph *g = f->g;
  int r = sole_reader(f, ni, GR_OP_ADD);
  if (r < 0) return false;
  int y = g->nodes[ni].out[0], x = other_operand(g, r, y);
  const gr_tensor *xt = &g->tensors[x];
  if (x == y || xt->data || xt->dtype != GR_F32 || !gr__same_shape(xt, &g->tensors[y])) return false;
  g->nodes[ni].residual = x;
  absorb(f, ni, r);
  return true;
}

/* y * Sigmoid(y) or y * HardSigmoid(y), y node ni's output read by exactly
 * those two nodes: the Mul node, else -1 (and the gate in *gate). */
static int gated_mul(fuser *f, int ni, int *gate) {
  gr_graph *g = f->g;
  int y = g->nodes[ni].out[0];
  if (f->uses[y] != 2 || g->tensors[y].is_output) return -1;
  for (int i = 0; i < g->n_nodes; i++) {
    const gr_node *s = &g->nodes[i];
    if ((s->op != GR_OP_SIGMOID && s->op != GR_OP_HARD_SIGMOID) || s->in[0] != y) continue;
    int so = s->out[0], m = f->reader[so];
    if (f->uses[so] != 1 || g->tensors[so].is_output || m < 0) return -1;
    const gr_node *mn = &g->nodes[m];
    bool pair = (mn->in[0] == y && mn->in[1] == so) || (mn->in[0] == so && mn->in[1] == y);
    if (mn->op != GR_OP_MUL || !pair) return -1;
    *gate = i;
    return m;
  }
  return -1;
}

/* x * Sigmoid(x) after the node: a SiLU epilogue; x * HardSigmoid(x) (how
 * exporters before opset 14 write HardSwish): a HardSwish epilogue with
 * the HardSigmoid's alpha and beta. The gate and the Mul go. */
static bool fuse_gated(fuser *f, int ni) {
  int gate, m = gated_mul(f, ni, &gate);
  if (m < 0) return false;
  gr_node *n = &f->g->nodes[ni], *gn = &f->g->nodes[gate];
  if (gn->op == GR_OP_SIGMOID) {
    n->act = CHM_ACT_SILU;
  } else {
    n->act = CHM_ACT_HARD_SWISH;
    gr_node_act(gn, &n->act_a, &n->act_b);
  }
  gn->op = GR_OP_NONE;
  absorb(f, ni, m);
  return true;
}

/* The sole reader of node ni's output, if it is an activation (a UNARY op);
 * on a Conv (blocked layout) only one that is finite at zero. */
static bool fuse_act(fuser *f, int ni) {
  gr_graph *g = f->g;
  int y = g->nodes[ni].out[0];
  if (f->uses[y] != 1 || g->tensors[y].is_output || f->reader[y] < 0) return fuse_gated(f, ni);
  int r = f->reader[y];
  const gr_node *a = &g->nodes[r];
  float pa, pb;
  chm_act act = gr_node_act(a, &pa, &pb);
  if (act == CHM_ACT_NONE) return false;
  if (g->nodes[ni].op == GR_OP_CONV && !chm_act_zero_safe(act, pa, pb)) return false;
  gr_node *n = &g->nodes[ni];
  n->act = act;
  n->act_a = pa;
  n->act_b = pb;
  absorb(f, ni, r);
  return true;
}

/* The Clips reading node ni's output one after another, intersected into
 * its clamp while their ranges overlap: min(max(min(max(v, l1), h1), l2),
 * h2) is min(max(v, max(l1, l2)), min(h1, h2)) then. */
static bool fuse_clamps(fuser *f, int ni) {
  bool fused = false;
  for (int r; (r = sole_reader(f, ni, GR_OP_CLIP)) >= 0; fused = true) {
    gr_node *n = &f->g->nodes[ni];
    float a, b, lo = n->clamp ? n->lo : -INFINITY, hi = n->clamp ? n->hi : INFINITY;
    gr_node_act(&f->g->nodes[r], &a, &b);
    if (!(a <= b) || fmaxf(lo, a) > fminf(hi, b)) break;
    n->clamp = true;
    n->lo = fmaxf(lo, a);
    n->hi = fminf(hi, b);
    absorb(f, ni, r);
  }
  return fused;
}

static bool is_fusable(const gr_node *n) {
  return n->op == GR_OP_CONV || n->op == GR_OP_GEMM || n->op == GR_OP_MATMUL;
}

int gr_fuse_epilogues(gr_graph *g, chm_err *e) {
  fuser f = {.g = g};
  refresh(&f);
  bool changed = false;
  for (int i = 0; i < g->n_nodes; i++) {
    gr_node *n = &g->nodes[i];
    if (!is_fusable(n) || n->act != CHM_ACT_NONE || n->residual >= 0) continue;
    bool bias = fuse_bias(&f, i);
    bool res = fuse_residual(&f, i);
    bool act = fuse_act(&f, i);
    bool clamp = fuse_clamps(&f, i);
    changed |= bias || res || act || clamp;
  }
  free(f.uses);
  free(f.reader);
  return changed ? gr_toposort(g, e) : 0;
}
