/*
 * batchnorm.c — gr_fold_batchnorm: removes every BatchNormalization.
 *
 * Inference-mode BN is y = (x - mean) * scale + beta with
 * scale = gamma / sqrt(var + eps), a per-channel affine map. When x comes
 * from a Conv with a constant weight and nobody else reads x, the map is
 * folded into new constants W' = W * scale (per output channel) and
 * B' = (B - mean) * scale + beta, and the Conv takes over BN's output
 * tensor. Otherwise BN becomes Mul + Add with constants shaped [C,1,...,1]
 * that broadcast over the spatial dims; parameters computed at run time
 * become the same map in elementwise operators (to_elementwise). Shared
 * initializers are never
 * modified: every folded value is a new tensor. Needs shapes (run after
 * gr_infer_shapes).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gr_internal.h"

typedef struct bn_params {
  int64_t c;      /* channels */
  float *scale;   /* gamma / sqrt(var + eps), malloc'ed */
  float *shift;   /* beta - mean * scale, malloc'ed */
  const float *mean, *beta; /* as in the file */
} bn_params;

static int read_bn(gr_graph *g, gr_node *n, bn_params *p, chm_err *e) {
  const gr_tensor *x = &g->tensors[n->in[0]];
  if (x->dtype != GR_F32) return gr_node_error(e, g, n, "input must be float32");
  for (int j = 1; j < 5; j++) {
    const gr_tensor *t = &g->tensors[n->in[j]];
    if (!t->data || t->dtype != GR_F32)
      return gr_node_error(e, g, n, "parameter '%s' must be a float32 constant", t->name);
  }
  const float *gamma = g->tensors[n->in[1]].data, *var = g->tensors[n->in[4]].data;
  p->beta = g->tensors[n->in[2]].data;
  p->mean = g->tensors[n->in[3]].data;
  p->c = x->shape[1];
  float eps = gr_attr_float(n, "epsilon", 1e-5f);
  p->scale = chm_malloc((size_t)(p->c + 1) * sizeof(float));
  p->shift = chm_malloc((size_t)(p->c + 1) * sizeof(float));
  for (int64_t i = 0; i < p->c; i++) {
    p->scale[i] = (float)(gamma[i] / sqrt((double)var[i] + eps));
    p->shift[i] = p->beta[i] - p->mean[i] * p->scale[i];
  }
  return 0;
}

/* The Conv that BN at node index i can fold into, or -1. */
static int foldable_conv(gr_graph *g, int i, const int *uses) {
  int x = g->nodes[i].in[0], p = g->tensors[x].producer;
  if (p < 0 || g->nodes[p].op != GR_OP_CONV) return -1;
  const gr_node *conv = &g->nodes[p];
  if (conv->out[0] != x || uses[x] != 1 || g->tensors[x].is_output) return -1;
  const gr_tensor *w = &g->tensors[conv->in[1]];
  const gr_tensor *b = conv->n_in > 2 && conv->in[2] >= 0 ? &g->tensors[conv->in[2]] : NULL;
  if (!w->data || w->dtype != GR_F32 || (b && (!b->data || b->dtype != GR_F32))) return -1;
  if (conv->act != CHM_ACT_NONE || conv->residual >= 0) return -1;
  return p;
}

static void fold_into_conv(gr_graph *g, int bn, int ci, const bn_params *p) {
  int w_old = g->nodes[ci].in[1];
  int b_old = g->nodes[ci].n_in > 2 ? g->nodes[ci].in[2] : -1;
  int64_t m = p->c;
  int w_new = gr__add_const_unique(g, g->tensors[w_old].name, GR_F32, g->tensors[w_old].rank,
                                   g->tensors[w_old].shape);
  int b_new = gr__add_const_unique(g, g->tensors[g->nodes[ci].out[0]].name, GR_F32, 1, &m);
  const gr_tensor *w = &g->tensors[w_old];
  int64_t per = gr_numel(w) / m;
  float *wd = g->tensors[w_new].data, *bd = g->tensors[b_new].data;
  const float *ws = w->data, *bs = b_old >= 0 ? g->tensors[b_old].data : NULL;
  for (int64_t o = 0; o < m; o++) {
    for (int64_t k = 0; k < per; k++) wd[o * per + k] = ws[o * per + k] * p->scale[o];
    bd[o] = ((bs ? bs[o] : 0.0f) - p->mean[o]) * p->scale[o] + p->beta[o];
  }
  gr_node *conv = &g->nodes[ci];
  int in[3] = {conv->in[0], w_new, b_new};
  gr__set_inputs(g, conv, 3, in);
  conv->out[0] = g->nodes[bn].out[0];
  g->nodes[bn].op = GR_OP_NONE;
}

/* x * scale + shift as Mul + Add; the BN node becomes the Mul. */
static void to_mul_add(gr_graph *g, int bn, const bn_params *p) {
  const gr_tensor *x = &g->tensors[g->nodes[bn].in[0]];
  int64_t shape[GR_MAX_RANK];
  int rank = x->rank - 1;
  shape[0] = p->c;
  for (int i = 1; i < rank; i++) shape[i] = 1;
  const char *base = g->nodes[bn].name;
  int s = gr__add_const_unique(g, chm_arena_printf(g->arena, "%s_scale", base), GR_F32, rank, shape);
  int h = gr__add_const_unique(g, chm_arena_printf(g->arena, "%s_shift", base), GR_F32, rank, shape);
  memcpy(g->tensors[s].data, p->scale, (size_t)p->c * sizeof(float));
  memcpy(g->tensors[h].data, p->shift, (size_t)p->c * sizeof(float));
  int y = g->nodes[bn].out[0];
  int tmp = gr__unique_tensor(g, chm_arena_printf(g->arena, "%s_scaled", base));
  gr__copy_shape(&g->tensors[tmp], &g->tensors[y]);
  int add_in[2] = {tmp, h};
  gr__add_node(g, GR_OP_ADD, chm_arena_printf(g->arena, "%s_add", base), 2, add_in, 1, &y);
  gr_node *mul = &g->nodes[bn];
  int mul_in[2] = {mul->in[0], s};
  mul->op = GR_OP_MUL;
  gr__set_inputs(g, mul, 2, mul_in);
  mul->n_attr = 0;
  mul->out[0] = tmp;
}

/* A new node OP(a, b) (b < 0: unary) whose output has the given shape. */
static int bn_node(gr_graph *g, gr_op op, const char *base, const char *what, int a, int b, int rank,
                   const int64_t *shape) {
  int y = gr__unique_tensor(g, chm_arena_printf(g->arena, "%s_%s", base, what));
  g->tensors[y].dtype = GR_F32;
  g->tensors[y].rank = rank;
  memcpy(g->tensors[y].shape, shape, (size_t)rank * sizeof *shape);
  int in[2] = {a, b};
  gr__add_node(g, op, chm_arena_printf(g->arena, "%s_%s", base, what), b >= 0 ? 2 : 1, in, 1, &y);
  return y;
}

/* Parameters computed at run time: y = (x - mean) * (gamma / sqrt(var + eps)) + beta
 * with each [C] parameter reshaped to [C,1,...,1]; the BN node becomes the last Add. */
static void to_elementwise(gr_graph *g, int bn) {
  const char *base = g->nodes[bn].name;
  int rank = g->tensors[g->nodes[bn].in[0]].rank - 1, par[5];
  int64_t cshape[GR_MAX_RANK], xshape[GR_MAX_RANK];
  memcpy(xshape, g->tensors[g->nodes[bn].in[0]].shape, sizeof xshape);
  cshape[0] = xshape[1];
  for (int i = 1; i < rank; i++) cshape[i] = 1;
  for (int j = 1; j < 5; j++) par[j] = bn_node(g, GR_OP_RESHAPE, base, "param", g->nodes[bn].in[j], -1, rank, cshape);
  int eps = gr__add_const_unique(g, base, GR_F32, 0, cshape); /* a scalar */
  *(float *)g->tensors[eps].data = gr_attr_float(&g->nodes[bn], "epsilon", 1e-5f);
  int x = g->nodes[bn].in[0], xr = rank + 1;
  int d = bn_node(g, GR_OP_SUB, base, "centred", x, par[3], xr, xshape);
  int v = bn_node(g, GR_OP_ADD, base, "var_eps", par[4], eps, rank, cshape);
  int s = bn_node(g, GR_OP_SQRT, base, "std", v, -1, rank, cshape);
  int q = bn_node(g, GR_OP_DIV, base, "scale", par[1], s, rank, cshape);
  int m = bn_node(g, GR_OP_MUL, base, "scaled", d, q, xr, xshape);
  gr_node *add = &g->nodes[bn];
  int in[2] = {m, par[2]};
  add->op = GR_OP_ADD;
  gr__set_inputs(g, add, 2, in);
  add->n_attr = 0;
}

/* Every input of BN node n is float32 (parameters computed at run time included). */
static int float_inputs(const gr_graph *g, const gr_node *n, chm_err *e) {
  for (int j = 0; j < 5; j++)
    if (g->tensors[n->in[j]].dtype != GR_F32)
      return gr_node_error(e, g, n, "input '%s' must be float32", g->tensors[n->in[j]].name);
  return 0;
}

/* Are all of BN node n's parameters constants? */
static bool constant_params(const gr_graph *g, const gr_node *n) {
  for (int j = 1; j < 5; j++)
    if (!g->tensors[n->in[j]].data) return false;
  return true;
}

int gr_fold_batchnorm(gr_graph *g, chm_err *e) {
  int *uses = chm_malloc((size_t)(g->n_tensors + 1) * sizeof *uses);
  gr__count_uses(g, uses);
  int count = g->n_nodes, rc = 0;
  bool appended = false;
  for (int i = 0; i < count && !rc; i++) {
    if (g->nodes[i].op != GR_OP_BATCH_NORMALIZATION) continue;
    if (!constant_params(g, &g->nodes[i])) {
      if ((rc = float_inputs(g, &g->nodes[i], e))) break;
      to_elementwise(g, i);
      appended = true;
      continue;
    }
    bn_params p = {0};
    if ((rc = read_bn(g, &g->nodes[i], &p, e))) break;
    int ci = foldable_conv(g, i, uses);
    if (ci >= 0) fold_into_conv(g, i, ci, &p);
    else to_mul_add(g, i, &p), appended = true;
    free(p.scale);
    free(p.shift);
  }
  free(uses);
  if (rc) return -1;
  return appended ? gr_toposort(g, e) : (gr__compact(g), 0);
}
