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

static const char *const evaluable[] = {
    "Constant", "Shape", "Gather", "Slice", "ConstantOfShape", "Cast", "Range",
    "Concat", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Transpose", "Identity",
    "Dropout", "Add", "Sub", "Mul", "Div", "Max", "Min", "Relu", "LeakyRelu",
    "Sigmoid", "Tanh", "Clip", "HardSigmoid", "HardSwish",
};

static bool is_evaluable(const char *op) {
  for (size_t i = 0; i < sizeof evaluable / sizeof *evaluable; i++)
    if (strcmp(evaluable[i], op) == 0) return true;
  return false;
}

bool gr__can_fold(const gr_graph *g, const gr_node *n) {
  if (!is_evaluable(n->op)) return false;
  if (strcmp(n->op, "Shape") == 0) return g->tensors[n->in[0]].dtype != GR_UNDEFINED;
  if ((strcmp(n->op, "Max") == 0 || strcmp(n->op, "Min") == 0) && n->n_in != 2) return false;
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

static double apply_float(const char *op, double a, double b) {
  if (strcmp(op, "Add") == 0) return a + b;
  if (strcmp(op, "Sub") == 0) return a - b;
  if (strcmp(op, "Mul") == 0) return a * b;
  if (strcmp(op, "Div") == 0) return a / b;
  if (strcmp(op, "Max") == 0) return a > b ? a : b;
  return a < b ? a : b; /* Min */
}

static int64_t apply_int(const char *op, int64_t a, int64_t b) {
  uint64_t ua = (uint64_t)a, ub = (uint64_t)b; /* wrap like the hardware, no UB */
  if (strcmp(op, "Add") == 0) return (int64_t)(ua + ub);
  if (strcmp(op, "Sub") == 0) return (int64_t)(ua - ub);
  if (strcmp(op, "Mul") == 0) return (int64_t)(ua * ub);
  if (strcmp(op, "Div") == 0) return a == INT64_MIN && b == -1 ? a : a / b;
  if (strcmp(op, "Max") == 0) return a > b ? a : b;
  return a < b ? a : b;
}

static int eval_binary(gr_graph *g, gr_node *n, gr_tensor *y, chm_err *e) {
  const gr_tensor *a = &g->tensors[n->in[0]], *b = &g->tensors[n->in[1]];
  int64_t count = gr_numel(y);
  for (int64_t o = 0; o < count; o++) {
    int64_t ia = bcast_index(a, y->shape, y->rank, o), ib = bcast_index(b, y->shape, y->rank, o);
    if (is_float(y->dtype)) {
      gr__put(y, o, apply_float(n->op, gr__get_f(a, ia), gr__get_f(b, ib)), 0);
      continue;
    }
    int64_t vb = gr__get_i(b, ib);
    if (vb == 0 && strcmp(n->op, "Div") == 0)
      return gr_node_error(e, g, n, "integer division by zero");
    gr__put(y, o, 0, apply_int(n->op, gr__get_i(a, ia), vb));
  }
  return 0;
}

static double apply_unary(const gr_node *n, double x) {
  const char *op = n->op;
  if (strcmp(op, "Relu") == 0) return x > 0 ? x : 0;
  if (strcmp(op, "LeakyRelu") == 0) return x < 0 ? gr_attr_float(n, "alpha", 0.01f) * x : x;
  if (strcmp(op, "Sigmoid") == 0) return 1 / (1 + exp(-x));
  if (strcmp(op, "Tanh") == 0) return tanh(x);
  if (strcmp(op, "Clip") == 0)
    return fmin(fmax(x, gr_attr_float(n, "min", -INFINITY)), gr_attr_float(n, "max", INFINITY));
  if (strcmp(op, "HardSigmoid") == 0)
    return fmax(0, fmin(1, gr_attr_float(n, "alpha", 0.2f) * x + gr_attr_float(n, "beta", 0.5f)));
  return x * fmax(0, fmin(1, x / 6 + 0.5)); /* HardSwish */
}

static int eval_unary(gr_graph *g, gr_node *n, gr_tensor *y, chm_err *e) {
  const gr_tensor *x = &g->tensors[n->in[0]];
  if (!is_float(x->dtype)) return gr_node_error(e, g, n, "input must be float32");
  for (int64_t i = 0; i < gr_numel(y); i++) gr__put(y, i, apply_unary(n, gr__get_f(x, i)), 0);
  return 0;
}

/* ---- data movement ---- */

static int eval_copy(gr_graph *g, gr_node *n, gr_tensor *y, chm_err *e) {
  const gr_tensor *x = &g->tensors[n->in[0]];
  memcpy(y->data, x->data, (size_t)gr_numel(y) * gr__dtype_size(y->dtype));
  return 0;
}

static int eval_transpose(gr_graph *g, gr_node *n, gr_tensor *y, chm_err *e) {
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

static int eval_concat(gr_graph *g, gr_node *n, gr_tensor *y, chm_err *e) {
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

static int eval_gather(gr_graph *g, gr_node *n, gr_tensor *y, chm_err *e) {
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

static int eval_slice(gr_graph *g, gr_node *n, gr_tensor *y, chm_err *e) {
  const gr_tensor *x = &g->tensors[n->in[0]];
  int64_t start[GR_MAX_RANK], step[GR_MAX_RANK], count[GR_MAX_RANK], stride[GR_MAX_RANK], s = 1;
  if (gr__slice_params(g, n, start, step, count, e)) return -1;
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

static int eval_constant(gr_graph *g, gr_node *n, gr_tensor *y, chm_err *e) {
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

static int eval_shape(gr_graph *g, gr_node *n, gr_tensor *y, chm_err *e) {
  const gr_tensor *x = &g->tensors[n->in[0]];
  int64_t start = gr_attr_int(n, "start", 0);
  for (int64_t i = 0; i < y->shape[0]; i++) gr__put(y, i, 0, x->shape[start + i]);
  return 0;
}

static int eval_constant_of_shape(gr_graph *g, gr_node *n, gr_tensor *y, chm_err *e) {
  const gr_attr *a = gr_attr_find(n, "value");
  const gr_tensor *v = a ? &g->tensors[a->t] : NULL;
  for (int64_t i = 0; i < gr_numel(y); i++)
    if (v) put_from(y, i, v, 0);
  return 0; /* without a value the zeroed data is the answer */
}

static int eval_cast(gr_graph *g, gr_node *n, gr_tensor *y, chm_err *e) {
  const gr_tensor *x = &g->tensors[n->in[0]];
  for (int64_t i = 0; i < gr_numel(y); i++) put_from(y, i, x, i);
  return 0;
}

static int eval_range(gr_graph *g, gr_node *n, gr_tensor *y, chm_err *e) {
  const gr_tensor *s = &g->tensors[n->in[0]], *d = &g->tensors[n->in[2]];
  for (int64_t i = 0; i < gr_numel(y); i++) {
    if (is_float(y->dtype)) gr__put(y, i, gr__get_f(s, 0) + (double)i * gr__get_f(d, 0), 0);
    else gr__put(y, i, 0, gr__get_i(s, 0) + i * gr__get_i(d, 0));
  }
  return 0;
}

/* ---- dispatch ---- */

typedef int (*eval_fn)(gr_graph *, gr_node *, gr_tensor *, chm_err *);

static eval_fn find_eval(const char *op) {
  static const struct {
    const char *op; /* normalized op type */
    eval_fn fn;     /* evaluator */
  } table[] = {
      {"Constant", eval_constant}, {"Shape", eval_shape}, {"Gather", eval_gather},
      {"Slice", eval_slice}, {"ConstantOfShape", eval_constant_of_shape},
      {"Cast", eval_cast}, {"Range", eval_range}, {"Concat", eval_concat},
      {"Reshape", eval_copy}, {"Identity", eval_copy}, {"Dropout", eval_copy},
      {"Transpose", eval_transpose}, {"Add", eval_binary}, {"Sub", eval_binary},
      {"Mul", eval_binary}, {"Div", eval_binary}, {"Max", eval_binary}, {"Min", eval_binary},
  };
  for (size_t i = 0; i < sizeof table / sizeof *table; i++)
    if (strcmp(table[i].op, op) == 0) return table[i].fn;
  return eval_unary;
}

int gr__eval_node(gr_graph *g, int i, chm_err *e) {
  gr_node *n = &g->nodes[i];
  for (int j = 0; j < n->n_in; j++)
    if (n->in[j] >= 0 && strcmp(n->op, "Shape") != 0 && !gr__dtype_size(g->tensors[n->in[j]].dtype))
      return gr_node_error(e, g, n, "the data type of input '%s' is not supported",
                           g->tensors[n->in[j]].name);
  gr_tensor *y = &g->tensors[n->out[0]];
  size_t bytes = (size_t)gr_numel(y) * gr__dtype_size(y->dtype);
  if (!gr__dtype_size(y->dtype)) return gr_node_error(e, g, n, "unsupported result type");
  if (bytes > ((size_t)1 << 28))
    return gr_node_error(e, g, n, "constant result is too large (%zu bytes)", bytes);
  y->data = chm_arena_alloc(g->arena, bytes ? bytes : 1);
  if (find_eval(n->op)(g, n, y, e)) return -1;
  y->producer = -1;
  return 0;
}

int gr_fold_constants(gr_graph *g, chm_err *e) {
  for (int i = 0; i < g->n_nodes; i++) {
    if (!g->nodes[i].op || !gr__can_fold(g, &g->nodes[i])) continue;
    if (gr__infer_node(g, i, e) || gr__eval_node(g, i, e)) return -1;
    g->nodes[i].op = NULL;
  }
  gr__compact(g);
  return 0;
}
