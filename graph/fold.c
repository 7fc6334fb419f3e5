/*
 * fold.c — constant folding: gr_fold_constants and the evaluator behind it.
 *
 * A node can be folded when every input is a constant (Shape: when its
 * input's shape is known; Constant: always) and its op is one the evaluator
 * knows: the shape ops (Shape, Gather, Slice, Concat, Reshape and friends,
 * Transpose, ConstantOfShape, Range, Cast), Identity/Dropout, elementwise
 * arithmetic on float32 and int64, and the float activations. Folding a
 * node = infer its output shape (shapes_ops.c), compute the data here, drop
 * the node. Elements are read and written through gr__get_f / gr__get_i /
 * gr__put, so every op works for every supported dtype at once; these are
 * small tensors or one-off weight transforms, speed does not matter.
 */
#include <math.h>
#include <string.h>

#include "gr_internal.h"

bool gr__can_fold(const gr_graph *g, const gr_node *n) {
  if (gr__ops[n->op].eval == gr__eval_none) return false;
  if (n->op == GR_OP_SHAPE) return g->tensors[n->in[0]].dtype != GR_UNDEFINED;
  if ((n->op == GR_OP_MAX || n->op == GR_OP_MIN) && n->n_in != 2) return false;
  for (int j = 0; j < n->n_in; j++)
    if (n->in[j] >= 0 && !g->tensors[n->in[j]].data) return false;
  return true;
}

/* ---- element access ---- */

double gr__get_f(const gr_tensor *t, int64_t i) {
  switch (t->dtype) {
  case GR_F32: return ((const float *)t->data)[i];
  case GR_I64: return (double)((const int64_t *)t->data)[i];
  case GR_I32: return ((const int32_t *)t->data)[i];
  case GR_BOOL: return ((const uint8_t *)t->data)[i];
  default: return 0;
  }
}

static int64_t to_int(double f) {
  if (f != f) return 0;
  if (f >= 9.2e18) return INT64_MAX;
  if (f <= -9.2e18) return INT64_MIN;
  return (int64_t)f;
}

int64_t gr__get_i(const gr_tensor *t, int64_t i) {
  switch (t->dtype) {
  case GR_I64: return ((const int64_t *)t->data)[i];
  case GR_I32: return ((const int32_t *)t->data)[i];
  case GR_BOOL: return ((const uint8_t *)t->data)[i];
  default: return to_int(gr__get_f(t, i));
  }
}

void gr__put(gr_tensor *t, int64_t i, double f, int64_t v) {
  switch (t->dtype) {
  case GR_F32: ((float *)t->data)[i] = (float)f; break;
  case GR_I64: ((int64_t *)t->data)[i] = v; break;
  case GR_I32: ((int32_t *)t->data)[i] = (int32_t)v; break;
  case GR_BOOL: ((uint8_t *)t->data)[i] = v != 0; break;
  default: break;
  }
}

static bool is_float(gr_dtype dt) { return dt == GR_F32; }

/* Stores element i, converting from whichever of f / v fits the source type. */
static void put_from(gr_tensor *y, int64_t i, const gr_tensor *x, int64_t k) {
  if (is_float(x->dtype)) gr__put(y, i, gr__get_f(x, k), to_int(gr__get_f(x, k)));
  else gr__put(y, i, (double)gr__get_i(x, k), gr__get_i(x, k));
}

/* Index into x of output element o of shape (rank, shape), numpy-broadcast. */
static int64_t bcast_index(const gr_tensor *x, const int64_t *shape, int rank, int64_t o) {
  int64_t idx = 0, stride = 1;
  for (int i = rank - 1; i >= 0; i--) {
    int64_t c = o % shape[i];
    o /= shape[i];
    int ix = i - (rank - x->rank);
    if (ix >= 0) {
      if (x->shape[ix] != 1) idx += c * stride;
      stride *= x->shape[ix];
    }
  }
  return idx;
}

/* ---- elementwise ---- */

static double apply_float(gr_op op, double a, double b) {
  switch (op) {
  case GR_OP_ADD: return a + b;
  case GR_OP_SUB: return a - b;
  case GR_OP_MUL: return a * b;
  case GR_OP_DIV: return a / b;
  case GR_OP_MAX: return a > b ? a : b;
  case GR_OP_POW: return pow(a, b);
  case GR_OP_PRELU: return a < 0 ? a * b : a;
  default: return a < b ? a : b; /* Min */
  }
}

static int64_t apply_int(gr_op op, int64_t a, int64_t b) {
  uint64_t ua = (uint64_t)a, ub = (uint64_t)b; /* wrap like the hardware, no UB */
  switch (op) {
  case GR_OP_ADD: return (int64_t)(ua + ub);
  case GR_OP_SUB: return (int64_t)(ua - ub);
  case GR_OP_MUL: return (int64_t)(ua * ub);
  case GR_OP_DIV: return a == INT64_MIN && b == -1 ? a : a / b;
  case GR_OP_MAX: return a > b ? a : b;
  case GR_OP_POW: return to_int(pow((double)a, (double)b));
  case GR_OP_PRELU: return a < 0 ? (int64_t)(ua * ub) : a;
  default: return a < b ? a : b; /* Min */
  }
}

int gr__eval_binary(gr_graph *g, gr_node *n, gr_tensor *y, chm_err *e) {
  const gr_tensor *a = &g->tensors[n->in[0]], *b = &g->tensors[n->in[1]];
  int64_t count = gr_numel(y);
  for (int64_t o = 0; o < count; o++) {
    int64_t ia = bcast_index(a, y->shape, y->rank, o), ib = bcast_index(b, y->shape, y->rank, o);
    if (is_float(y->dtype)) {
      gr__put(y, o, apply_float(n->op, gr__get_f(a, ia), gr__get_f(b, ib)), 0);
      continue;
    }
    int64_t vb = gr__get_i(b, ib);
    if (vb == 0 && n->op == GR_OP_DIV)
      return gr_node_error(e, g, n, "integer division by zero");
    gr__put(y, o, 0, apply_int(n->op, gr__get_i(a, ia), vb));
  }
  return 0;
}

int gr__eval_unary(gr_graph *g, gr_node *n, gr_tensor *y, chm_err *e) {
  const gr_tensor *x = &g->tensors[n->in[0]];
  float a, b;
  chm_act act = gr_node_act(n, &a, &b);
  if (!is_float(x->dtype)) return gr_node_error(e, g, n, "input must be float32");
  for (int64_t i = 0; i < gr_numel(y); i++) gr__put(y, i, chm_act_eval(act, a, b, gr__get_f(x, i)), 0);
  return 0;
}

/* ---- data movement ---- */

int gr__eval_copy(gr_graph *g, gr_node *n, gr_tensor *y, chm_err *e) {
  const gr_tensor *x = &g->tensors[n->in[0]];
  memcpy(y->data, x->data, (size_t)gr_numel(y) * gr__dtype_size(y->dtype));
  return 0;
}

int gr__eval_transpose(gr_graph *g, gr_node *n, gr_tensor *y, chm_err *e) {
  const gr_tensor *x = &g->tensors[n->in[0]];
  const int64_t *perm;
  gr_attr_ints(n, "perm", &perm);
  int64_t stride[GR_MAX_RANK], s = 1;
  for (int i = x->rank - 1; i >= 0; i--) stride[i] = s, s *= x->shape[i];
  for (int64_t o = 0; o < gr_numel(y); o++) {
    int64_t rest = o, idx = 0;
    for (int i = y->rank - 1; i >= 0; i--) {
      idx += (rest % y->shape[i]) * stride[perm[i]];
      rest /= y->shape[i];
    }
    put_from(y, o, x, idx);
  }
  return 0;
}

int gr__eval_concat(gr_graph *g, gr_node *n, gr_tensor *y, chm_err *e) {
  int64_t axis = gr_attr_int(n, "axis", 0), size = (int64_t)gr__dtype_size(y->dtype);
  int64_t outer = chm_prod(y->shape, (int)axis);
  int64_t inner = chm_prod(y->shape + axis + 1, y->rank - (int)axis - 1);
  unsigned char *dst = y->data;
  for (int64_t o = 0; o < outer; o++)
    for (int j = 0; j < n->n_in; j++) {
      const gr_tensor *x = &g->tensors[n->in[j]];
      int64_t chunk = x->shape[axis] * inner * size;
      memcpy(dst, (const unsigned char *)x->data + o * chunk, (size_t)chunk);
      dst += chunk;
    }
  return 0;
}

int gr__eval_gather(gr_graph *g, gr_node *n, gr_tensor *y, chm_err *e) {
  const gr_tensor *x = &g->tensors[n->in[0]], *idx = &g->tensors[n->in[1]];
  int64_t axis = gr_attr_int(n, "axis", 0), size = (int64_t)gr__dtype_size(x->dtype);
  int64_t outer = chm_prod(x->shape, (int)axis), d = x->shape[axis];
  int64_t inner = chm_prod(x->shape + axis + 1, x->rank - (int)axis - 1) * size;
  int64_t count = gr_numel(idx);
  unsigned char *dst = y->data;
  for (int64_t o = 0; o < outer; o++)
    for (int64_t k = 0; k < count; k++) {
      int64_t i = gr__get_i(idx, k);
      if (i < 0) i += d;
      if (i < 0 || i >= d)
        return gr_node_error(e, g, n, "index %lld is out of range for size %lld",
                             (long long)gr__get_i(idx, k), (long long)d);
      memcpy(dst, (const unsigned char *)x->data + (o * d + i) * inner, (size_t)inner);
      dst += inner;
    }
  return 0;
}

int gr__eval_slice(gr_graph *g, gr_node *n, gr_tensor *y, chm_err *e) {
  const gr_tensor *x = &g->tensors[n->in[0]];
  int64_t start[GR_MAX_RANK], step[GR_MAX_RANK], count[GR_MAX_RANK], stride[GR_MAX_RANK], s = 1;
  if (gr_slice_params(g, n, start, step, count, e)) return -1;
  for (int i = x->rank - 1; i >= 0; i--) stride[i] = s, s *= x->shape[i];
  for (int64_t o = 0; o < gr_numel(y); o++) {
    int64_t rest = o, idx = 0;
    for (int i = y->rank - 1; i >= 0; i--) {
      idx += (start[i] + (rest % y->shape[i]) * step[i]) * stride[i];
      rest /= y->shape[i];
    }
    put_from(y, o, x, idx);
  }
  return 0;
}

/* ---- sources ---- */

int gr__eval_constant(gr_graph *g, gr_node *n, gr_tensor *y, chm_err *e) {
  const gr_attr *a = &n->attr[0];
  if (a->kind == GR_ATTR_TENSOR) return memcpy(y->data, g->tensors[a->t].data,
                                               (size_t)gr_numel(y) * gr__dtype_size(y->dtype)), 0;
  for (int64_t i = 0; i < gr_numel(y); i++) {
    if (a->kind == GR_ATTR_FLOAT) gr__put(y, i, a->f, 0);
    else if (a->kind == GR_ATTR_INT) gr__put(y, i, 0, a->i);
    else if (a->kind == GR_ATTR_FLOATS) gr__put(y, i, a->floats[i], 0);
    else gr__put(y, i, 0, a->ints[i]);
  }
  return 0;
}

int gr__eval_shape(gr_graph *g, gr_node *n, gr_tensor *y, chm_err *e) {
  const gr_tensor *x = &g->tensors[n->in[0]];
  int64_t start = gr_attr_int(n, "start", 0);
  for (int64_t i = 0; i < y->shape[0]; i++) gr__put(y, i, 0, x->shape[start + i]);
  return 0;
}

int gr__eval_constant_of_shape(gr_graph *g, gr_node *n, gr_tensor *y, chm_err *e) {
  const gr_attr *a = gr_attr_find(n, "value");
  const gr_tensor *v = a ? &g->tensors[a->t] : NULL;
  for (int64_t i = 0; i < gr_numel(y); i++)
    if (v) put_from(y, i, v, 0);
  return 0; /* without a value the zeroed data is the answer */
}

int gr__eval_cast(gr_graph *g, gr_node *n, gr_tensor *y, chm_err *e) {
  const gr_tensor *x = &g->tensors[n->in[0]];
  for (int64_t i = 0; i < gr_numel(y); i++) put_from(y, i, x, i);
  return 0;
}

int gr__eval_range(gr_graph *g, gr_node *n, gr_tensor *y, chm_err *e) {
  const gr_tensor *s = &g->tensors[n->in[0]], *d = &g->tensors[n->in[2]];
  for (int64_t i = 0; i < gr_numel(y); i++) {
    if (is_float(y->dtype)) gr__put(y, i, gr__get_f(s, 0) + (double)i * gr__get_f(d, 0), 0);
    else gr__put(y, i, 0, gr__get_i(s, 0) + i * gr__get_i(d, 0));
  }
  return 0;
}

/* ---- dispatch ---- */

/* Ops marked `none` in ops.def's EVAL column: gr__can_fold never lets them here. */
int gr__eval_none(gr_graph *g, gr_node *n, gr_tensor *y, chm_err *e) {
  return gr_node_error(e, g, n, "internal: no constant evaluator");
}

/* Folding may make 32 MiB of constants plus four times the model's own
 * constants: enough to transpose or rescale every weight several times, and
 * a bound on what a small crafted file can make chamcc compute and hold
 * (a chain of large constant products would otherwise take minutes and
 * gigabytes; 256 MiB still took the fuzzer's ASan build past 10 s, 64 MiB 3.4 s). */
static size_t fold_budget(gr_graph *g) {
  if (!g->fold_budget) {
    size_t own = 0;
    for (int i = 0; i < g->n_tensors; i++)
      if (g->tensors[i].data) own += (size_t)gr_numel(&g->tensors[i]) * gr__dtype_size(g->tensors[i].dtype);
    g->fold_budget = ((size_t)1 << 25) + 4 * own;
  }
  return g->fold_budget;
}

int gr__eval_node(gr_graph *g, int i, chm_err *e) {
  gr_node *n = &g->nodes[i];
  for (int j = 0; j < n->n_in; j++)
    if (n->in[j] >= 0 && n->op != GR_OP_SHAPE && !gr__dtype_size(g->tensors[n->in[j]].dtype))
      return gr_node_error(e, g, n, "the data type of input '%s' is not supported",
                           g->tensors[n->in[j]].name);
  gr_tensor *y = &g->tensors[n->out[0]];
  size_t bytes = (size_t)gr_numel(y) * gr__dtype_size(y->dtype);
  if (!gr__dtype_size(y->dtype)) return gr_node_error(e, g, n, "unsupported result type");
  if (bytes > ((size_t)1 << 28))
    return gr_node_error(e, g, n, "constant result is too large (%zu bytes)", bytes);
  if (bytes > fold_budget(g) - g->folded_bytes)
    return gr_node_error(e, g, n, "constant folding would make more than %zu bytes of constants in all "
                         "(%zu so far, this result %zu): too much computed from a model this small",
                         g->fold_budget, g->folded_bytes, bytes);
  g->folded_bytes += bytes;
  y->data = chm_arena_alloc(g->arena, bytes ? bytes : 1);
  if (gr__ops[n->op].eval(g, n, y, e)) return -1;
  y->producer = -1;
  return 0;
}

int gr_fold_constants(gr_graph *g, chm_err *e) {
  for (int i = 0; i < g->n_nodes; i++) {
    if (!g->nodes[i].op || !gr__can_fold(g, &g->nodes[i])) continue;
    if (gr__infer_node(g, i, e) || gr__eval_node(g, i, e)) return -1;
    g->nodes[i].op = GR_OP_NONE;
  }
  gr__compact(g);
  return 0;
}
