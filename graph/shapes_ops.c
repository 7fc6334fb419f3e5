/*
 * shapes_ops.c — per-operator shape inference and attribute normalization
 * (gr__infer_node), one small function per op or family of ops.
 *
 * Every function checks its inputs (ranks, matching dimensions, constant
 * operands where the op needs them), writes the output dtype and shape, and
 * rewrites the node's attributes into the normal form of graph/README.md.
 * Errors name the node: "PATH: node 'NAME' (OP): what is wrong".
 */
#include <math.h>
#include <string.h>

#include "gr_internal.h"

/* ---- helpers ---- */

static gr_tensor *in_t(gr_graph *g, const gr_node *n, int j) {
  return j < n->n_in && n->in[j] >= 0 ? &g->tensors[n->in[j]] : NULL;
}

static int set_out(gr_graph *g, gr_node *n, gr_dtype dt, int rank, const int64_t *shape,
                   chm_err *e) {
  return gr__set_out(g, n, 0, dt, rank, shape, e);
}

static int copy_out(gr_graph *g, gr_node *n, const gr_tensor *x, chm_err *e) {
  return set_out(g, n, x->dtype, x->rank, x->shape, e);
}

static bool is_int(gr_dtype dt) { return dt == GR_I64 || dt == GR_I32; }

/* Reads constant integer input j (rank <= 1) into v[max]. */
static int const_ints(gr_graph *g, gr_node *n, int j, const char *what, int64_t *v, int max,
                      int *count, chm_err *e) {
  const gr_tensor *x = in_t(g, n, j);
  if (!x || !x->data)
    return gr_node_error(e, g, n, "the %s input must be a constant", what);
  if (!is_int(x->dtype) || x->rank > 1)
    return gr_node_error(e, g, n, "the %s input must be a 1-D integer tensor", what);
  int64_t k = gr_numel(x);
  if (k > max) return gr_node_error(e, g, n, "the %s input has too many values (%lld)", what,
                                    (long long)k);
  for (int64_t i = 0; i < k; i++) v[i] = gr__get_i(x, i);
  *count = (int)k;
  return 0;
}

/* Reads constant input j holding one number (any numeric dtype). */
static int const_scalar(gr_graph *g, gr_node *n, int j, const char *what, double *v, chm_err *e) {
  const gr_tensor *x = in_t(g, n, j);
  if (!x->data) return gr_node_error(e, g, n, "the %s input must be a constant", what);
  if (gr_numel(x) != 1 || !gr__dtype_size(x->dtype))
    return gr_node_error(e, g, n, "the %s input must hold one number", what);
  *v = gr__get_f(x, 0);
  return 0;
}

static int norm_axis(gr_graph *g, gr_node *n, int64_t axis, int rank, int64_t *out, chm_err *e) {
  *out = 0;
  if (axis < -rank || axis >= rank)
    return gr_node_error(e, g, n, "axis %lld is out of range for rank %d", (long long)axis, rank);
  *out = axis < 0 ? axis + rank : axis;
  return 0;
}

static const char *shp(const gr_tensor *t, char *buf) { return gr__shape_str(t, buf, 128); }

/* ---- elementwise ---- */

int gr__infer_unary(gr_graph *g, gr_node *n, chm_err *e) {
  const gr_tensor *x = in_t(g, n, 0);
  if (copy_out(g, n, x, e)) return -1;
  if (n->op == GR_OP_LEAKY_RELU) gr__set_float(g, n, "alpha", gr_attr_float(n, "alpha", 0.01f));
  if (n->op == GR_OP_HARD_SIGMOID) {
    gr__set_float(g, n, "alpha", gr_attr_float(n, "alpha", 0.2f));
    gr__set_float(g, n, "beta", gr_attr_float(n, "beta", 0.5f));
  }
  return 0;
}

int gr__infer_clip(gr_graph *g, gr_node *n, chm_err *e) {
  double lo = gr_attr_float(n, "min", -INFINITY), hi = gr_attr_float(n, "max", INFINITY);
  if (in_t(g, n, 1) && const_scalar(g, n, 1, "min", &lo, e)) return -1;
  if (in_t(g, n, 2) && const_scalar(g, n, 2, "max", &hi, e)) return -1;
  gr__set_float(g, n, "min", (float)lo);
  gr__set_float(g, n, "max", (float)hi);
  gr__set_inputs(g, n, 1, n->in);
  return copy_out(g, n, in_t(g, n, 0), e);
}

/* Before opset 7, B broadcasts only with broadcast=1, its dims aligned at `axis`:
 * a constant B gets trailing 1s (a new tensor sharing the data), so numpy rules apply. */
static int legacy_broadcast(gr_graph *g, gr_node *n, chm_err *e) {
  const gr_tensor *a = in_t(g, n, 0), *b = in_t(g, n, 1);
  char b1[128], b2[128];
  if (g->opset >= 7 || (n->op == GR_OP_MAX || n->op == GR_OP_MIN)) return 0;
  if (!gr_attr_int(n, "broadcast", 0)) {
    if (gr__same_shape(a, b)) return 0;
    return gr_node_error(e, g, n, "shapes %s and %s differ and 'broadcast' is not set",
                         shp(a, b1), shp(b, b2));
  }
  int64_t axis = gr_attr_int(n, "axis", a->rank - b->rank);
  int64_t trailing = a->rank - axis - b->rank;
  if (axis < 0 || trailing < 0)
    return gr_node_error(e, g, n, "legacy broadcast axis %lld does not fit %s and %s",
                         (long long)axis, shp(a, b1), shp(b, b2));
  if (trailing == 0) return 0;
  if (!b->data)
    return gr_node_error(e, g, n, "legacy broadcast of a run-time tensor along axis %lld is "
                         "not supported", (long long)axis);
  int t = gr__unique_tensor(g, g->tensors[n->in[1]].name);
  gr_tensor *nb = &g->tensors[t], *ob = &g->tensors[n->in[1]];
  gr__copy_shape(nb, ob);
  for (int i = 0; i < trailing; i++) nb->shape[nb->rank++] = 1;
  nb->data = ob->data; /* constants are never written in place */
  n->in[1] = t;
  return 0;
}

/* The shape of a numpy-broadcast binary op (inputs of one type). */
static int binary_shape(gr_graph *g, gr_node *n, chm_err *e) {
  const gr_tensor *a = in_t(g, n, 0), *b = in_t(g, n, 1);
  int64_t shape[GR_MAX_RANK];
  int rank;
  char b1[128], b2[128];
  if (gr__broadcast(a, b, shape, &rank))
    return gr_node_error(e, g, n, "shapes %s and %s do not broadcast", shp(a, b1), shp(b, b2));
  if (a->dtype != b->dtype)
    return gr_node_error(e, g, n, "inputs have different types (%s and %s)",
                         gr__dtype_name(a->dtype), gr__dtype_name(b->dtype));
  gr__del_attr(n, "broadcast"); /* opset < 7 leftovers */
  gr__del_attr(n, "axis");
  return set_out(g, n, a->dtype, rank, shape, e);
}

int gr__infer_binary(gr_graph *g, gr_node *n, chm_err *e) {
  return legacy_broadcast(g, n, e) || binary_shape(g, n, e) ? -1 : 0;
}

/* Pow: a constant exponent of 1, 2 or 0.5 becomes Identity, Mul(x, x) or
 * Sqrt; any other constant exponent is made float32 (kernels compute on
 * float32 only). The result has the base's type (ONNX allows another type
 * for the exponent). */
int gr__infer_pow(gr_graph *g, gr_node *n, chm_err *e) {
  const gr_tensor *x = in_t(g, n, 0), *p = in_t(g, n, 1);
  char b1[128], b2[128];
  int64_t shape[GR_MAX_RANK];
  int rank;
  if (!gr__dtype_size(x->dtype) || !gr__dtype_size(p->dtype))
    return gr_node_error(e, g, n, "the input types are not supported");
  if (gr__broadcast(x, p, shape, &rank))
    return gr_node_error(e, g, n, "shapes %s and %s do not broadcast", shp(x, b1), shp(p, b2));
  bool keeps_shape = rank == x->rank && !memcmp(shape, x->shape, (size_t)rank * sizeof *shape);
  if (p->data && gr_numel(p) == 1 && x->dtype == GR_F32 && keeps_shape) {
    double v = gr__get_f(p, 0);
    int xx[2] = {n->in[0], n->in[0]};
    if (v == 1 || v == 0.5) {
      n->op = v == 1 ? GR_OP_IDENTITY : GR_OP_SQRT;
      gr__set_inputs(g, n, 1, n->in);
    } else if (v == 2) {
      n->op = GR_OP_MUL;
      gr__set_inputs(g, n, 2, xx);
    }
  }
  gr_dtype dt = x->dtype;
  if (n->op == GR_OP_POW && p->data && p->dtype != GR_F32) {
    int t = gr__add_const_unique(g, p->name, GR_F32, p->rank, p->shape);
    p = in_t(g, n, 1); /* the tensor array may have moved: x and p dangle */
    for (int64_t i = 0; i < gr_numel(p); i++) ((float *)g->tensors[t].data)[i] = (float)gr__get_f(p, i);
    n->in[1] = t;
  }
  return set_out(g, n, dt, rank, shape, e);
}

/* PRelu: the slope broadcasts to X's shape (not the other way). Before
 * opset 7 a 1-D constant slope of X's channel count runs along axis 1; it
 * gets trailing 1s (a new tensor sharing the data) so numpy rules apply. */
int gr__infer_prelu(gr_graph *g, gr_node *n, chm_err *e) {
  const gr_tensor *x = in_t(g, n, 0), *s = in_t(g, n, 1);
  if (g->opset < 7 && s->data && s->rank == 1 && x->rank > 2 && s->shape[0] == x->shape[1]) {
    int t = gr__unique_tensor(g, s->name);
    gr_tensor *ns = &g->tensors[t], *os = &g->tensors[n->in[1]];
    gr__copy_shape(ns, os);
    while (ns->rank < g->tensors[n->in[0]].rank - 1) ns->shape[ns->rank++] = 1;
    ns->data = os->data; /* constants are never written in place */
    n->in[1] = t;
  }
  if (binary_shape(g, n, e)) return -1;
  x = in_t(g, n, 0);
  const gr_tensor *y = &g->tensors[n->out[0]];
  char b1[128], b2[128];
  if (!gr__same_shape(x, y))
    return gr_node_error(e, g, n, "slope %s does not broadcast to X %s",
                         shp(in_t(g, n, 1), b1), shp(x, b2));
  return 0;
}

int gr__infer_softmax(gr_graph *g, gr_node *n, chm_err *e) {
  const gr_tensor *x = in_t(g, n, 0);
  int64_t axis;
  if (norm_axis(g, n, gr_attr_int(n, "axis", g->opset < 13 ? 1 : -1), x->rank, &axis, e))
    return -1;
  gr__set_int(g, n, "axis", axis);
  gr__set_int(g, n, "coerce_2d", g->opset < 13);
  return copy_out(g, n, x, e);
}

/* ReduceMean / Sum / Max / Min: the axes come from the attribute (older
 * opsets) or a constant second input (ReduceSum from opset 13, the others
 * from 18); no axes reduces everything, unless noop_with_empty_axes asks for
 * a copy. Normalized: `axes` (sorted, positive, at least one), `keepdims`
 * (0/1), one input. */
int gr__infer_reduce(gr_graph *g, gr_node *n, chm_err *e) {
  const gr_tensor *x = in_t(g, n, 0);
  int64_t axes[GR_MAX_RANK], shape[GR_MAX_RANK];
  int count = 0, rank = 0;
  const int64_t *a;
  if (in_t(g, n, 1)) {
    if (const_ints(g, n, 1, "axes", axes, GR_MAX_RANK, &count, e)) return -1;
  } else {
    count = gr_attr_ints(n, "axes", &a);
    if (count > GR_MAX_RANK) return gr_node_error(e, g, n, "too many axes");
    memcpy(axes, a, (size_t)count * sizeof *a);
  }
  bool keep = gr_attr_int(n, "keepdims", 1) != 0, reduce[GR_MAX_RANK] = {0};
  if (count == 0 && gr_attr_int(n, "noop_with_empty_axes", 0)) {
    n->op = GR_OP_IDENTITY;
    gr__set_inputs(g, n, 1, n->in);
    return copy_out(g, n, x, e);
  }
  bool all = count == 0;
  for (int i = 0; i < count; i++) {
    int64_t ax;
    if (norm_axis(g, n, axes[i], x->rank, &ax, e)) return -1;
    reduce[ax] = true;
  }
  count = 0;
  for (int i = 0; i < x->rank; i++) {
    reduce[i] |= all;
    if (reduce[i]) axes[count++] = i;
    if (!reduce[i] || keep) shape[rank++] = reduce[i] ? 1 : x->shape[i];
  }
  if (count == 0) return gr_node_error(e, g, n, "reduces a scalar");
  gr__set_ints(g, n, "axes", axes, count);
  gr__set_int(g, n, "keepdims", keep);
  gr__del_attr(n, "noop_with_empty_axes");
  gr__set_inputs(g, n, 1, n->in);
  return set_out(g, n, x->dtype, rank, shape, e);
}

static bool one_of(const char *s, const char *const *set) {
  for (; *set; set++)
    if (strcmp(s, *set) == 0) return true;
  return false;
}

/* The output sizes and per-dim scales of a Resize, from its constant inputs:
 * sizes (opset 11+: input 3), else scales (input 1 before opset 11, then
 * input 2); or from the normalized attributes when it was inferred before. */
static int resize_target(gr_graph *g, gr_node *n, const gr_tensor *x, int64_t *out, double *scale,
                         chm_err *e) {
  const int64_t *sz;
  const float *sc;
  if (n->n_in == 1 && gr_attr_ints(n, "sizes", &sz) == 4 && gr_attr_floats(n, "scales", &sc) == 4) {
    for (int i = 0; i < 4; i++) out[i] = sz[i], scale[i] = sc[i];
    return 0;
  }
  int si = g->opset < 11 ? 1 : 2, zi = g->opset < 11 ? -1 : 3, count;
  const gr_tensor *s = in_t(g, n, si), *z = zi > 0 ? in_t(g, n, zi) : NULL;
  if (z && gr_numel(z)) {
    if (const_ints(g, n, zi, "sizes", out, 4, &count, e)) return -1;
    if (count != 4) return gr_node_error(e, g, n, "sizes has %d values for rank 4", count);
    for (int i = 0; i < 4; i++) scale[i] = x->shape[i] ? (double)out[i] / (double)x->shape[i] : 1;
    return 0;
  }
  if (!s || !s->data || gr_numel(s) != 4 || s->dtype != GR_F32)
    return gr_node_error(e, g, n, "needs constant sizes, or 4 constant float scales");
  for (int i = 0; i < 4; i++) {
    scale[i] = gr__get_f(s, i);
    double o = floor((double)x->shape[i] * scale[i]);
    if (!(scale[i] > 0) || !(o <= (double)GR_MAX_ELEMS))
      return gr_node_error(e, g, n, "scale %g of axis %d is invalid", scale[i], i);
    out[i] = (int64_t)o;
  }
  return 0;
}

/* Resize of the height and width of a 4-D tensor, nearest or linear, with
 * the coordinate transformations of opsets 10 to 18 but tf_crop_and_resize.
 * Normalized: `mode`, `coordinate_transformation_mode`, `nearest_mode`,
 * `sizes` (ints) and `scales` (floats, the ones the transformation uses),
 * one input. */
int gr__infer_resize(gr_graph *g, gr_node *n, chm_err *e) {
  static const char *const modes[] = {"nearest", "linear", NULL};
  static const char *const ctms[] = {"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric",
                                     "tf_half_pixel_for_nn", NULL};
  static const char *const nearest[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil", NULL};
  const gr_tensor *x = in_t(g, n, 0);
  if (x->rank != 4) return gr_node_error(e, g, n, "only 4-D inputs (NCHW) are supported, not rank %d", x->rank);
  const char *mode = gr_attr_string(n, "mode", "nearest");
  const char *ctm = gr_attr_string(n, "coordinate_transformation_mode", g->opset < 11 ? "asymmetric" : "half_pixel");
  const char *nm = gr_attr_string(n, "nearest_mode", "round_prefer_floor");
  if (!one_of(mode, modes)) return gr_node_error(e, g, n, "mode '%s' is not supported (nearest, linear)", mode);
  if (!one_of(ctm, ctms))
    return gr_node_error(e, g, n, "coordinate_transformation_mode '%s' is not supported", ctm);
  if (!one_of(nm, nearest)) return gr_node_error(e, g, n, "nearest_mode '%s' is not supported", nm);
  if (gr_attr_int(n, "antialias", 0) || gr_attr_find(n, "axes") ||
      strcmp(gr_attr_string(n, "keep_aspect_ratio_policy", "stretch"), "stretch") != 0)
    return gr_node_error(e, g, n, "antialias, axes and keep_aspect_ratio_policy are not supported");
  int64_t out[4];
  double scale[4];
  if (resize_target(g, n, x, out, scale, e)) return -1;
  if (out[0] != x->shape[0] || out[1] != x->shape[1])
    return gr_node_error(e, g, n, "only the height and width may be resized");
  float fs[4] = {(float)scale[0], (float)scale[1], (float)scale[2], (float)scale[3]};
  gr__set_string(g, n, "mode", mode);
  gr__set_string(g, n, "coordinate_transformation_mode", ctm);
  gr__set_string(g, n, "nearest_mode", nm);
  gr__set_ints(g, n, "sizes", out, 4);
  gr__set_floats(g, n, "scales", fs, 4);
  gr__set_inputs(g, n, 1, n->in);
  return set_out(g, n, x->dtype, 4, out, e);
}

/* Identity, Dropout: shape of the input; Dropout must be in inference mode. */
int gr__infer_identity(gr_graph *g, gr_node *n, chm_err *e) {
  if (n->op == GR_OP_DROPOUT) {
    if (n->n_out > 1 && gr__is_used(g, n->out[1]))
      return gr_node_error(e, g, n, "the mask output is used (training mode is not supported)");
    double training = 0;
    if (in_t(g, n, 2) && const_scalar(g, n, 2, "training_mode", &training, e)) return -1;
    if (training != 0) return gr_node_error(e, g, n, "training_mode is not supported");
    gr__set_inputs(g, n, 1, n->in);
    n->n_out = 1;
  }
  return copy_out(g, n, in_t(g, n, 0), e);
}

int gr__infer_gelu(gr_graph *g, gr_node *n, chm_err *e) {
  const char *approx = gr_attr_string(n, "approximate", "none");
  if (strcmp(approx, "none") != 0 && strcmp(approx, "tanh") != 0)
    return gr_node_error(e, g, n, "approximate '%s' is not valid (none, tanh)", approx);
  return copy_out(g, n, in_t(g, n, 0), e);
}

/* LayerNormalization (opset 17): normalized over the dims from `axis` on,
 * scale and bias constant with one value per normalized element (or one
 * for all). Normalized: `axis` positive, `epsilon`, inputs X, Scale, B
 * (B made zeros when absent); outputs Y and optionally Mean, InvStdDev. */
enum { LN_MAX_SPREAD = 1 << 24 };
int gr__infer_layernorm(gr_graph *g, gr_node *n, chm_err *e) {
  const gr_tensor *x = in_t(g, n, 0);
  int64_t axis;
  if (norm_axis(g, n, gr_attr_int(n, "axis", -1), x->rank, &axis, e)) return -1;
  int64_t stat[GR_MAX_RANK]; /* Mean and InvStdDev: one per row, the normalized dims 1 */
  for (int i = 0; i < x->rank; i++) stat[i] = i < axis ? x->shape[i] : 1;
  for (int j = 1; j < n->n_out; j++)
    if (gr__set_out(g, n, j, GR_F32, x->rank, stat, e)) return -1;
  int64_t len = chm_prod(x->shape + axis, x->rank - (int)axis);
  if (!in_t(g, n, 1)) return gr_node_error(e, g, n, "the Scale input is missing");
  for (int j = 1; j < 3; j++) {
    if (j == 2 && !in_t(g, n, 2)) { /* B absent: zeros the size of Scale (the model's own data, not the row) */
      int64_t nb = gr_numel(in_t(g, n, 1));
      int b = gr__add_const_unique(g, n->name, GR_F32, 1, &nb);
      int in[3] = {n->in[0], n->in[1], b};
      gr__set_inputs(g, n, 3, in);
    }
    const gr_tensor *p = in_t(g, n, j);
    if (!p->data || p->dtype != GR_F32 || (gr_numel(p) != len && gr_numel(p) != 1))
      return gr_node_error(e, g, n, "input '%s' must be a float32 constant of %lld values", p->name,
                           (long long)len);
    /* the kernel reads a value per element of a row: one value is spread
     * over the row at compile time, which a huge row must not make huge */
    if (gr_numel(p) == 1 && len > LN_MAX_SPREAD)
      return gr_node_error(e, g, n, "input '%s' has one value for rows of %lld elements (at most %d)", p->name,
                           (long long)len, LN_MAX_SPREAD);
  }
  gr__set_int(g, n, "axis", axis);
  gr__set_float(g, n, "epsilon", gr_attr_float(n, "epsilon", 1e-5f));
  gr__del_attr(n, "stash_type");
  return copy_out(g, n, in_t(g, n, 0), e);
}

/* ---- Conv and pooling ---- */

typedef struct window {
  int sp;                               /* number of spatial dims */
  int64_t k[GR_MAX_RANK];               /* kernel extent */
  int64_t s[GR_MAX_RANK];               /* strides */
  int64_t d[GR_MAX_RANK];               /* dilations */
  int64_t pads[2 * GR_MAX_RANK];        /* begins then ends */
  int64_t out[GR_MAX_RANK];             /* output extent */
} window;

/* Copies ints attribute NAME (count must be want, values >= lo) or fills dflt. */
static int window_ints(gr_graph *g, gr_node *n, const char *name, int want, int64_t lo,
                       int64_t dflt, int64_t *v, chm_err *e) {
  const int64_t *a;
  int count = gr_attr_ints(n, name, &a);
  if (count && count != want)
    return gr_node_error(e, g, n, "'%s' has %d values, expected %d", name, count, want);
  for (int i = 0; i < want; i++) {
    v[i] = count ? a[i] : dflt;
    if (v[i] < lo || v[i] > GR_MAX_ELEMS)
      return gr_node_error(e, g, n, "'%s' value %lld is out of range (%lld to 2^31)", name,
                           (long long)v[i], (long long)lo);
  }
  return 0;
}

/* Output extent of one spatial dim, resolving auto_pad into pads. */
static int window_dim(gr_graph *g, gr_node *n, window *w, int i, int64_t in, const char *auto_pad,
                      bool ceil_mode, chm_err *e) {
  bool bad = false;
  int64_t eff = gr__dim_add(gr__dim_mul(w->k[i] - 1, w->d[i], &bad), 1, &bad), s = w->s[i];
  int64_t padded = gr__dim_add(gr__dim_add(in, w->pads[i], &bad), w->pads[i + w->sp], &bad);
  if (bad)
    return gr_node_error(e, g, n, "kernel %lld, dilation %lld and pads %lld+%lld on an input of "
                         "%lld exceed chamcc's limit of 2^31", (long long)w->k[i],
                         (long long)w->d[i], (long long)w->pads[i],
                         (long long)w->pads[i + w->sp], (long long)in);
  if (strcmp(auto_pad, "SAME_UPPER") == 0 || strcmp(auto_pad, "SAME_LOWER") == 0) {
    w->out[i] = (in + s - 1) / s;
    int64_t total = (w->out[i] - 1) * s + eff - in;
    if (total < 0) total = 0;
    int64_t small = total / 2, big = total - small;
    bool upper = strcmp(auto_pad, "SAME_UPPER") == 0;
    w->pads[i] = upper ? small : big;
    w->pads[i + w->sp] = upper ? big : small;
    return 0;
  }
  if (strcmp(auto_pad, "VALID") == 0) w->pads[i] = w->pads[i + w->sp] = 0;
  else if (strcmp(auto_pad, "NOTSET") != 0 && *auto_pad)
    return gr_node_error(e, g, n, "auto_pad '%s' is not valid", auto_pad);
  int64_t span = padded - eff;
  if (span < 0)
    return gr_node_error(e, g, n, "the window (%lld) is larger than the padded input (%lld)",
                         (long long)eff, (long long)(span + eff));
  w->out[i] = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
  /* ceil_mode: the last window must start inside the input or its left pad */
  if (ceil_mode && (w->out[i] - 1) * s >= in + w->pads[i]) w->out[i]--;
  return 0;
}

/* Reads and normalizes kernel_shape / strides / dilations / pads / auto_pad. */
static int read_window(gr_graph *g, gr_node *n, const gr_tensor *x, const int64_t *kernel,
                       bool ceil_mode, window *w, chm_err *e) {
  w->sp = x->rank - 2;
  if (window_ints(g, n, "kernel_shape", w->sp, 0, 0, w->k, e)) return -1;
  for (int i = 0; i < w->sp; i++) {
    if (kernel && gr_attr_find(n, "kernel_shape") && w->k[i] != kernel[i])
      return gr_node_error(e, g, n, "kernel_shape does not match the weight shape");
    if (kernel) w->k[i] = kernel[i];
    if (w->k[i] < 1) return gr_node_error(e, g, n, "kernel_shape is missing or invalid");
  }
  if (window_ints(g, n, "strides", w->sp, 1, 1, w->s, e) ||
      window_ints(g, n, "dilations", w->sp, 1, 1, w->d, e) ||
      window_ints(g, n, "pads", 2 * w->sp, 0, 0, w->pads, e))
    return -1;
  const char *auto_pad = gr_attr_string(n, "auto_pad", "NOTSET");
  for (int i = 0; i < w->sp; i++)
    if (window_dim(g, n, w, i, x->shape[i + 2], auto_pad, ceil_mode, e)) return -1;
  gr__set_ints(g, n, "kernel_shape", w->k, w->sp);
  gr__set_ints(g, n, "strides", w->s, w->sp);
  gr__set_ints(g, n, "dilations", w->d, w->sp);
  gr__set_ints(g, n, "pads", w->pads, 2 * w->sp);
  gr__del_attr(n, "auto_pad");
  return 0;
}

static int check_spatial_rank(gr_graph *g, gr_node *n, const gr_tensor *x, chm_err *e) {
  if (x->rank != 3 && x->rank != 4)
    return gr_node_error(e, g, n, "input rank %d is not supported (only 1-D and 2-D: rank 3 or 4)",
                         x->rank);
  return 0;
}

int gr__infer_conv(gr_graph *g, gr_node *n, chm_err *e) {
  const gr_tensor *x = in_t(g, n, 0), *w = in_t(g, n, 1), *b = in_t(g, n, 2);
  char b1[128], b2[128];
  if (check_spatial_rank(g, n, x, e)) return -1;
  if (w->rank != x->rank)
    return gr_node_error(e, g, n, "weight %s does not match input %s", shp(w, b1), shp(x, b2));
  int64_t group = gr_attr_int(n, "group", 1), m = w->shape[0];
  if (group < 1 || x->shape[1] % group || m % group || x->shape[1] / group != w->shape[1])
    return gr_node_error(e, g, n, "input %s has channels that do not match weight %s with "
                         "group %lld", shp(x, b2), shp(w, b1), (long long)group);
  if (b && (b->rank != 1 || b->shape[0] != m))
    return gr_node_error(e, g, n, "bias %s does not match %lld output channels", shp(b, b1),
                         (long long)m);
  window win;
  if (read_window(g, n, x, w->shape + 2, false, &win, e)) return -1;
  gr__set_int(g, n, "group", group);
  int64_t shape[GR_MAX_RANK] = {x->shape[0], m};
  memcpy(shape + 2, win.out, (size_t)win.sp * sizeof *shape);
  return set_out(g, n, x->dtype, x->rank, shape, e);
}

int gr__infer_pool(gr_graph *g, gr_node *n, chm_err *e) {
  const gr_tensor *x = in_t(g, n, 0);
  bool is_max = n->op == GR_OP_MAX_POOL;
  if (check_spatial_rank(g, n, x, e)) return -1;
  if (is_max && n->n_out > 1 && gr__is_used(g, n->out[1]))
    return gr_node_error(e, g, n, "the Indices output is not supported");
  if (is_max && gr_attr_int(n, "storage_order", 0) != 0)
    return gr_node_error(e, g, n, "storage_order 1 is not supported");
  int64_t ceil_mode = gr_attr_int(n, "ceil_mode", 0);
  window win;
  if (read_window(g, n, x, NULL, ceil_mode != 0, &win, e)) return -1;
  gr__set_int(g, n, "ceil_mode", ceil_mode != 0);
  gr__set_int(g, n, "count_include_pad", is_max ? 0 : gr_attr_int(n, "count_include_pad", 0) != 0);
  gr__del_attr(n, "storage_order");
  int64_t shape[GR_MAX_RANK] = {x->shape[0], x->shape[1]};
  memcpy(shape + 2, win.out, (size_t)win.sp * sizeof *shape);
  n->n_out = 1;
  return set_out(g, n, x->dtype, x->rank, shape, e);
}

int gr__infer_global_pool(gr_graph *g, gr_node *n, chm_err *e) {
  const gr_tensor *x = in_t(g, n, 0);
  if (x->rank < 3) return gr_node_error(e, g, n, "input rank %d is below 3", x->rank);
  int64_t shape[GR_MAX_RANK];
  for (int i = 0; i < x->rank; i++) shape[i] = i < 2 ? x->shape[i] : 1;
  return set_out(g, n, x->dtype, x->rank, shape, e);
}

/* ---- dense ---- */

int gr__infer_gemm(gr_graph *g, gr_node *n, chm_err *e) {
  const gr_tensor *a = in_t(g, n, 0), *b = in_t(g, n, 1), *c = in_t(g, n, 2);
  char b1[128], b2[128];
  if (a->rank != 2 || b->rank != 2)
    return gr_node_error(e, g, n, "inputs must be 2-D, got %s and %s", shp(a, b1), shp(b, b2));
  int64_t ta = gr_attr_int(n, "transA", 0) != 0, tb = gr_attr_int(n, "transB", 0) != 0;
  int64_t m = a->shape[ta], k = a->shape[!ta], k2 = b->shape[tb], nn = b->shape[!tb];
  if (k != k2)
    return gr_node_error(e, g, n, "inner dimensions differ: A %s%s, B %s%s", shp(a, b1),
                         ta ? "^T" : "", shp(b, b2), tb ? "^T" : "");
  int64_t out[2] = {m, nn};
  bool c_ok = !c || c->rank <= 2;
  for (int i = 0; c && c_ok && i < c->rank; i++) {
    int64_t want = out[2 - c->rank + i];
    c_ok = c->shape[i] == want || c->shape[i] == 1;
  }
  if (!c_ok) return gr_node_error(e, g, n, "C %s does not broadcast to [%lld,%lld]", shp(c, b1),
                                  (long long)m, (long long)nn);
  gr__set_float(g, n, "alpha", gr_attr_float(n, "alpha", 1.0f));
  gr__set_float(g, n, "beta", gr_attr_float(n, "beta", 1.0f));
  gr__set_int(g, n, "transA", ta);
  gr__set_int(g, n, "transB", tb);
  gr__del_attr(n, "broadcast");
  if (c == NULL && n->n_in == 3) n->n_in = 2;
  return set_out(g, n, a->dtype, 2, out, e);
}

/* numpy matmul: 1-D operands get a dim added then removed, batch dims broadcast. */
int gr__infer_matmul(gr_graph *g, gr_node *n, chm_err *e) {
  const gr_tensor *a = in_t(g, n, 0), *b = in_t(g, n, 1);
  char b1[128], b2[128];
  if (n->n_in > 2) /* a bias input exists only after fusion (fuse.c) */
    return gr_node_error(e, g, n, "expects 2 inputs, got %d", n->n_in);
  if (a->rank < 1 || a->rank > 4 || b->rank < 1 || b->rank > 4)
    return gr_node_error(e, g, n, "operands must have rank 1 to 4, got %s and %s", shp(a, b1),
                         shp(b, b2));
  gr_tensor A = *a, B = *b;
  if (A.rank == 1) A.rank = 2, A.shape[1] = a->shape[0], A.shape[0] = 1;
  if (B.rank == 1) B.rank = 2, B.shape[1] = 1;
  if (A.shape[A.rank - 1] != B.shape[B.rank - 2])
    return gr_node_error(e, g, n, "inner dimensions differ: %s times %s", shp(a, b1), shp(b, b2));
  gr_tensor ba = A, bb = B; /* batch dims only */
  ba.rank -= 2, bb.rank -= 2;
  int64_t shape[GR_MAX_RANK];
  int rank;
  if (gr__broadcast(&ba, &bb, shape, &rank))
    return gr_node_error(e, g, n, "batch dimensions of %s and %s do not broadcast", shp(a, b1),
                         shp(b, b2));
  if (a->rank > 1) shape[rank++] = A.shape[A.rank - 2];
  if (b->rank > 1) shape[rank++] = B.shape[B.rank - 1];
  return set_out(g, n, a->dtype, rank, shape, e);
}

/* ---- BatchNormalization (folded later; inference mode only) ---- */

int gr__infer_batchnorm(gr_graph *g, gr_node *n, chm_err *e) {
  const gr_tensor *x = in_t(g, n, 0);
  char b1[128];
  if (x->rank < 2) return gr_node_error(e, g, n, "input rank %d is below 2", x->rank);
  if (gr_attr_int(n, "training_mode", 0) != 0)
    return gr_node_error(e, g, n, "training_mode is not supported");
  if (g->opset < 7 && gr_attr_int(n, "is_test", 0) == 0)
    return gr_node_error(e, g, n, "is_test=0 (training mode) is not supported");
  if (gr_attr_int(n, "spatial", 1) != 1)
    return gr_node_error(e, g, n, "spatial=0 is not supported");
  for (int j = 1; j < n->n_out; j++)
    if (gr__is_used(g, n->out[j]))
      return gr_node_error(e, g, n, "output %d is used (training outputs are not supported)", j + 1);
  for (int j = 1; j < 5; j++) {
    const gr_tensor *p = in_t(g, n, j);
    if (p->rank != 1 || p->shape[0] != x->shape[1])
      return gr_node_error(e, g, n, "parameter '%s' %s does not match %lld channels", p->name,
                           shp(p, b1), (long long)x->shape[1]);
  }
  gr__set_float(g, n, "epsilon", gr_attr_float(n, "epsilon", 1e-5f));
  n->n_out = 1;
  return copy_out(g, n, x, e);
}

/* ---- shape ops ---- */

/* Target shape of Reshape with 0 (copy, unless allowzero) and -1 (inferred). */
static int reshape_target(gr_graph *g, gr_node *n, const gr_tensor *x, int64_t *shape,
                          int *rank, chm_err *e) {
  if (const_ints(g, n, 1, "shape", shape, GR_MAX_RANK, rank, e)) return -1;
  bool allowzero = gr_attr_int(n, "allowzero", 0) != 0;
  int infer = -1;
  int64_t known = 1;
  bool bad = false;
  for (int i = 0; i < *rank; i++) {
    if (shape[i] == 0 && !allowzero) {
      if (i >= x->rank) return gr_node_error(e, g, n, "shape value 0 at %d has no input dim", i);
      shape[i] = x->shape[i];
    }
    if (shape[i] == -1 && infer < 0) infer = i;
    else if (shape[i] < 0) return gr_node_error(e, g, n, "invalid shape value %lld",
                                                (long long)shape[i]);
    else known = gr__dim_mul(known, shape[i], &bad);
  }
  if (bad) return gr_node_error(e, g, n, "the target shape has more than 2^31 elements");
  int64_t total = gr_numel(x);
  if (infer >= 0) {
    if (known == 0 || total % known)
      return gr_node_error(e, g, n, "cannot infer -1: %lld elements into parts of %lld",
                           (long long)total, (long long)known);
    shape[infer] = total / known;
  }
  return 0;
}

/* The axes of Squeeze / Unsqueeze: an input from opset 13, an attribute before. */
static int read_axes(gr_graph *g, gr_node *n, int64_t *axes, int *count, chm_err *e) {
  const int64_t *a;
  if (in_t(g, n, 1)) return const_ints(g, n, 1, "axes", axes, GR_MAX_RANK, count, e);
  *count = gr_attr_ints(n, "axes", &a);
  if (*count > GR_MAX_RANK) return gr_node_error(e, g, n, "too many axes");
  memcpy(axes, a, (size_t)*count * sizeof *a);
  return 0;
}

/* The axes of Squeeze / Unsqueeze as a mask over a tensor of rank `rank`
 * (Unsqueeze, plus = 1: the output's, the input's rank plus the axes'
 * count); a repeated axis is an error. */
static int axes_mask(gr_graph *g, gr_node *n, int rank, int plus, bool *mask, int *count, chm_err *e) {
  int64_t axes[GR_MAX_RANK];
  if (read_axes(g, n, axes, count, e)) return -1;
  if (plus) rank += *count;
  if (rank > GR_MAX_RANK) return gr_node_error(e, g, n, "bad axes count %d", *count);
  for (int i = 0; i < *count; i++) {
    int64_t ax;
    if (norm_axis(g, n, axes[i], rank, &ax, e)) return -1;
    if (mask[ax]) return gr_node_error(e, g, n, "axis %lld is repeated", (long long)ax);
    mask[ax] = true;
  }
  return 0;
}

/* Squeeze drops the axes given (or every axis of size 1 when none is
 * given); Unsqueeze inserts an axis of size 1 at each axis given (of the
 * output). */
static int squeeze_target(gr_graph *g, gr_node *n, const gr_tensor *x, int64_t *shape, int *rank,
                          int unsqueeze, chm_err *e) {
  bool axis[GR_MAX_RANK] = {0};
  int count = 0;
  if (axes_mask(g, n, x->rank, unsqueeze, axis, &count, e)) return -1;
  if (unsqueeze) {
    if (count == 0) return gr_node_error(e, g, n, "bad axes count %d", count);
    *rank = x->rank + count;
    for (int i = 0, k = 0; i < *rank; i++) shape[i] = axis[i] ? 1 : x->shape[k++];
    return 0;
  }
  for (int i = 0; i < x->rank; i++)
    if (axis[i] && x->shape[i] != 1)
      return gr_node_error(e, g, n, "cannot squeeze axis %d of size %lld", i, (long long)x->shape[i]);
  *rank = 0;
  for (int i = 0; i < x->rank; i++)
    if (!(count ? axis[i] : x->shape[i] == 1)) shape[(*rank)++] = x->shape[i];
  return 0;
}

static int flatten_target(gr_graph *g, gr_node *n, const gr_tensor *x, int64_t *shape,
                          int *rank, chm_err *e) {
  int64_t axis = gr_attr_int(n, "axis", 1);
  if (axis < -x->rank || axis > x->rank)
    return gr_node_error(e, g, n, "axis %lld is out of range", (long long)axis);
  if (axis < 0) axis += x->rank;
  shape[0] = chm_prod(x->shape, (int)axis);
  shape[1] = chm_prod(x->shape + axis, x->rank - (int)axis);
  *rank = 2;
  return 0;
}

/* Flatten / Squeeze / Unsqueeze / Reshape all become a one-input "Reshape". */
int gr__infer_reshape(gr_graph *g, gr_node *n, chm_err *e) {
  const gr_tensor *x = in_t(g, n, 0);
  int64_t shape[GR_MAX_RANK];
  int rank = 0, rc;
  if (n->op == GR_OP_RESHAPE && n->n_in == 1) { /* already normalized */
    const gr_tensor *y = &g->tensors[n->out[0]];
    return y->dtype == GR_UNDEFINED ? gr_node_error(e, g, n, "the shape input is missing") : 0;
  }
  if (n->op == GR_OP_RESHAPE) rc = reshape_target(g, n, x, shape, &rank, e);
  else if (n->op == GR_OP_SQUEEZE || n->op == GR_OP_UNSQUEEZE)
    rc = squeeze_target(g, n, x, shape, &rank, n->op == GR_OP_UNSQUEEZE, e);
  else rc = flatten_target(g, n, x, shape, &rank, e);
  if (rc) return -1;
  char b1[128];
  if (chm_prod(shape, rank) != gr_numel(x))
    return gr_node_error(e, g, n, "cannot reshape %s (%lld elements) to %lld elements",
                         shp(x, b1), (long long)gr_numel(x), (long long)chm_prod(shape, rank));
  n->op = GR_OP_RESHAPE;
  gr__set_inputs(g, n, 1, n->in);
  n->n_attr = 0;
  return set_out(g, n, x->dtype, rank, shape, e);
}

int gr__infer_transpose(gr_graph *g, gr_node *n, chm_err *e) {
  const gr_tensor *x = in_t(g, n, 0);
  int64_t perm[GR_MAX_RANK], shape[GR_MAX_RANK];
  const int64_t *p;
  int count = gr_attr_ints(n, "perm", &p);
  if (count && count != x->rank)
    return gr_node_error(e, g, n, "perm has %d values for rank %d", count, x->rank);
  bool seen[GR_MAX_RANK] = {0};
  for (int i = 0; i < x->rank; i++) {
    perm[i] = count ? p[i] : x->rank - 1 - i;
    if (perm[i] < 0 || perm[i] >= x->rank || seen[perm[i]])
      return gr_node_error(e, g, n, "perm is not a permutation");
    seen[perm[i]] = true;
    shape[i] = x->shape[perm[i]];
  }
  gr__set_ints(g, n, "perm", perm, x->rank);
  return set_out(g, n, x->dtype, x->rank, shape, e);
}

int gr__infer_concat(gr_graph *g, gr_node *n, chm_err *e) {
  const gr_tensor *x = in_t(g, n, 0);
  char b1[128], b2[128];
  if (!gr_attr_find(n, "axis")) return gr_node_error(e, g, n, "attribute 'axis' is missing");
  int64_t axis, shape[GR_MAX_RANK];
  if (x->rank == 0) return gr_node_error(e, g, n, "cannot concatenate scalars");
  if (norm_axis(g, n, gr_attr_int(n, "axis", 0), x->rank, &axis, e)) return -1;
  memcpy(shape, x->shape, sizeof shape);
  shape[axis] = 0;
  for (int j = 0; j < n->n_in; j++) {
    const gr_tensor *y = in_t(g, n, j);
    if (!y) return gr_node_error(e, g, n, "input %d is missing", j + 1);
    bool ok = y->rank == x->rank && y->dtype == x->dtype;
    for (int i = 0; ok && i < x->rank; i++) ok = i == axis || y->shape[i] == x->shape[i];
    if (!ok) return gr_node_error(e, g, n, "input %s does not match %s on axis %lld",
                                  shp(y, b1), shp(x, b2), (long long)axis);
    bool bad = false;
    shape[axis] = gr__dim_add(shape[axis], y->shape[axis], &bad);
    if (bad) return gr_node_error(e, g, n, "the concatenation is longer than 2^31 on axis %lld",
                                  (long long)axis);
  }
  gr__set_int(g, n, "axis", axis);
  return set_out(g, n, x->dtype, x->rank, shape, e);
}

int gr__infer_pad(gr_graph *g, gr_node *n, chm_err *e) {
  const gr_tensor *x = in_t(g, n, 0);
  const char *mode = gr_attr_string(n, "mode", "constant");
  bool reflect = strcmp(mode, "reflect") == 0, edge = strcmp(mode, "edge") == 0;
  if (!reflect && !edge && strcmp(mode, "constant") != 0)
    return gr_node_error(e, g, n, "mode '%s' is not supported (constant, reflect, edge)", mode);
  int64_t pads[2 * GR_MAX_RANK], shape[GR_MAX_RANK];
  double value = gr_attr_float(n, "value", 0.0f);
  int count = 0;
  const int64_t *p;
  if (in_t(g, n, 1)) {
    if (const_ints(g, n, 1, "pads", pads, 2 * GR_MAX_RANK, &count, e)) return -1;
  } else {
    count = gr_attr_ints(n, "pads", &p);
    if (count <= 2 * GR_MAX_RANK) memcpy(pads, p, (size_t)count * sizeof *p);
  }
  if (in_t(g, n, 2) && const_scalar(g, n, 2, "constant_value", &value, e)) return -1;
  if (count != 2 * x->rank)
    return gr_node_error(e, g, n, "pads has %d values for rank %d", count, x->rank);
  for (int i = 0; i < x->rank; i++) {
    if (pads[i] < 0 || pads[i + x->rank] < 0)
      return gr_node_error(e, g, n, "negative pads are not supported");
    int64_t most = pads[i] > pads[i + x->rank] ? pads[i] : pads[i + x->rank];
    /* as ONNX Runtime: a reflection must stay inside the axis, an edge needs one */
    if (reflect && most > 0 && most >= x->shape[i])
      return gr_node_error(e, g, n, "reflect pads of %lld on axis %d of size %lld reach past it",
                           (long long)most, i, (long long)x->shape[i]);
    if (edge && most > 0 && x->shape[i] == 0)
      return gr_node_error(e, g, n, "edge pads on the empty axis %d", i);
    bool bad = false;
    shape[i] = gr__dim_add(gr__dim_add(x->shape[i], pads[i], &bad), pads[i + x->rank], &bad);
    if (bad)
      return gr_node_error(e, g, n, "pads %lld+%lld on axis %d of size %lld exceed chamcc's "
                           "limit of 2^31", (long long)pads[i], (long long)pads[i + x->rank], i,
                           (long long)x->shape[i]);
  }
  gr__set_ints(g, n, "pads", pads, count);
  gr__set_float(g, n, "value", (float)value);
  gr__set_string(g, n, "mode", mode);
  gr__set_inputs(g, n, 1, n->in);
  return set_out(g, n, x->dtype, x->rank, shape, e);
}

/* ---- fold-only ops (evaluated in fold.c) ---- */

int gr__infer_constant(gr_graph *g, gr_node *n, chm_err *e) {
  const gr_attr *a = n->n_attr == 1 ? &n->attr[0] : NULL;
  if (!a) return gr_node_error(e, g, n, "expects exactly one value attribute");
  int64_t len = a->n;
  if (strcmp(a->name, "value") == 0 && a->kind == GR_ATTR_TENSOR) {
    gr_tensor *t = &g->tensors[a->t];
    if (t->dtype == GR_OTHER) return gr_node_error(e, g, n, "the value's data type is not supported");
    return copy_out(g, n, t, e);
  }
  if (strcmp(a->name, "value_float") == 0 && a->kind == GR_ATTR_FLOAT)
    return set_out(g, n, GR_F32, 0, NULL, e);
  if (strcmp(a->name, "value_int") == 0 && a->kind == GR_ATTR_INT)
    return set_out(g, n, GR_I64, 0, NULL, e);
  if (strcmp(a->name, "value_floats") == 0 && a->kind == GR_ATTR_FLOATS)
    return set_out(g, n, GR_F32, 1, &len, e);
  if (strcmp(a->name, "value_ints") == 0 && a->kind == GR_ATTR_INTS)
    return set_out(g, n, GR_I64, 1, &len, e);
  return gr_node_error(e, g, n, "attribute '%s' is not supported", a->name);
}

int gr__infer_shape(gr_graph *g, gr_node *n, chm_err *e) {
  const gr_tensor *x = in_t(g, n, 0);
  int64_t start = gr_attr_int(n, "start", 0), end = gr_attr_int(n, "end", x->rank), r = x->rank;
  if (start < 0) start += r;
  if (end < 0) end += r;
  start = start < 0 ? 0 : start > r ? r : start;
  end = end < 0 ? 0 : end > r ? r : end;
  int64_t len = end > start ? end - start : 0;
  gr__set_int(g, n, "start", start);
  gr__set_int(g, n, "end", start + len);
  return set_out(g, n, GR_I64, 1, &len, e);
}

int gr__infer_gather(gr_graph *g, gr_node *n, chm_err *e) {
  const gr_tensor *x = in_t(g, n, 0), *idx = in_t(g, n, 1);
  int64_t axis, shape[2 * GR_MAX_RANK];
  if (!is_int(idx->dtype)) return gr_node_error(e, g, n, "indices must be integers");
  if (norm_axis(g, n, gr_attr_int(n, "axis", 0), x->rank, &axis, e)) return -1;
  int rank = 0;
  for (int i = 0; i < axis; i++) shape[rank++] = x->shape[i];
  for (int i = 0; i < idx->rank; i++) shape[rank++] = idx->shape[i];
  for (int i = (int)axis + 1; i < x->rank; i++) shape[rank++] = x->shape[i];
  if (rank > GR_MAX_RANK) return gr_node_error(e, g, n, "result rank %d is too large", rank);
  gr__set_int(g, n, "axis", axis);
  return set_out(g, n, x->dtype, rank, shape, e);
}

/* Reads starts / ends / axes / steps (attributes before opset 10, inputs after). */
static int slice_inputs(const gr_graph *g, const gr_node *n, int64_t v[4][GR_MAX_RANK],
                        int count[4], chm_err *e) {
  static const char *names[4] = {"starts", "ends", "axes", "steps"};
  for (int k = 0; k < 4; k++) {
    const int64_t *a;
    count[k] = -1;
    if (n->n_in == 1 && (count[k] = gr_attr_ints(n, names[k], &a)) > 0) {
      if (count[k] > GR_MAX_RANK) return gr_node_error(e, g, n, "too many %s", names[k]);
      memcpy(v[k], a, (size_t)count[k] * sizeof *a);
    } else if (n->n_in > k + 1 && n->in[k + 1] >= 0 &&
               const_ints((gr_graph *)g, (gr_node *)n, k + 1, names[k], v[k], GR_MAX_RANK,
                          &count[k], e))
      return -1;
  }
  if (count[0] < 0 || count[1] != count[0])
    return gr_node_error(e, g, n, "starts and ends are missing or differ in length");
  return 0;
}

int gr_slice_params(const gr_graph *g, const gr_node *n, int64_t *start, int64_t *step,
                     int64_t *count, chm_err *e) {
  const gr_tensor *x = &g->tensors[n->in[0]];
  int64_t v[4][GR_MAX_RANK];
  int cnt[4];
  if (slice_inputs(g, n, v, cnt, e)) return -1;
  for (int i = 0; i < x->rank; i++) start[i] = 0, step[i] = 1, count[i] = x->shape[i];
  for (int k = 0; k < cnt[0]; k++) {
    int64_t ax = cnt[2] > 0 ? v[2][k] : k, st = cnt[3] > 0 ? v[3][k] : 1;
    if (ax < 0) ax += x->rank;
    if (ax < 0 || ax >= x->rank || st == 0 || (cnt[2] > 0 && cnt[2] != cnt[0]))
      return gr_node_error(e, g, n, "invalid axes or steps");
    /* a step longer than any axis takes one element, like one of exactly that length */
    st = st > GR_MAX_ELEMS ? GR_MAX_ELEMS : st < -GR_MAX_ELEMS ? -GR_MAX_ELEMS : st;
    int64_t d = x->shape[ax], b = v[0][k], en = v[1][k];
    if (b < 0) b += d;
    if (en < 0) en += d;
    if (st > 0) {
      b = b < 0 ? 0 : b > d ? d : b;
      en = en < 0 ? 0 : en > d ? d : en;
      count[ax] = en > b ? (en - b + st - 1) / st : 0;
    } else {
      b = b < 0 ? 0 : b > d - 1 ? d - 1 : b;
      en = en < -1 ? -1 : en > d - 1 ? d - 1 : en;
      count[ax] = b > en ? (b - en - st - 1) / -st : 0;
    }
    start[ax] = b, step[ax] = st;
  }
  return 0;
}

int gr__infer_slice(gr_graph *g, gr_node *n, chm_err *e) {
  const gr_tensor *x = in_t(g, n, 0);
  int64_t start[GR_MAX_RANK], step[GR_MAX_RANK], count[GR_MAX_RANK];
  if (gr_slice_params(g, n, start, step, count, e)) return -1;
  return set_out(g, n, x->dtype, x->rank, count, e);
}

/* Split along `axis` into the sizes of attribute `split` (opset < 13), of
 * a constant second input (13+), or equal parts (the last one smaller when
 * the axis does not divide, as opset 18 says). Normalized: `axis`
 * positive, `split` with one size per output, one input. */
int gr__infer_split(gr_graph *g, gr_node *n, chm_err *e) {
  const gr_tensor *x = in_t(g, n, 0);
  int64_t axis, sizes[64], shape[GR_MAX_RANK];
  int count = 0;
  const int64_t *a;
  if (n->n_out > 64) return gr_node_error(e, g, n, "more than 64 outputs");
  if (norm_axis(g, n, gr_attr_int(n, "axis", 0), x->rank, &axis, e)) return -1;
  if (in_t(g, n, 1)) {
    if (const_ints(g, n, 1, "split", sizes, 64, &count, e)) return -1;
  } else if ((count = gr_attr_ints(n, "split", &a)) > 0) {
    if (count > 64) return gr_node_error(e, g, n, "more than 64 parts");
    memcpy(sizes, a, (size_t)count * sizeof *a);
  } else {
    int64_t d = x->shape[axis], part = (d + n->n_out - 1) / n->n_out;
    for (count = 0; count < n->n_out; count++) sizes[count] = d - part * count < part ? d - part * count : part;
  }
  int64_t total = 0;
  bool bad = false;
  for (int j = 0; j < count; j++) total = gr__dim_add(total, sizes[j], &bad);
  if (count != n->n_out || bad || total != x->shape[axis])
    return gr_node_error(e, g, n, "%d parts do not split an axis of %lld into %d outputs", count,
                         (long long)x->shape[axis], n->n_out);
  memcpy(shape, x->shape, sizeof shape);
  for (int j = 0; j < count; j++) {
    shape[axis] = sizes[j];
    if (gr__set_out(g, n, j, x->dtype, x->rank, shape, e)) return -1;
  }
  gr__set_int(g, n, "axis", axis);
  gr__set_ints(g, n, "split", sizes, count);
  gr__del_attr(n, "num_outputs");
  gr__set_inputs(g, n, 1, n->in);
  return 0;
}

int gr__infer_constant_of_shape(gr_graph *g, gr_node *n, chm_err *e) {
  int64_t shape[GR_MAX_RANK];
  int rank;
  if (const_ints(g, n, 0, "shape", shape, GR_MAX_RANK, &rank, e)) return -1;
  for (int i = 0; i < rank; i++)
    if (shape[i] < 0) return gr_node_error(e, g, n, "negative dimension in shape");
  const gr_attr *a = gr_attr_find(n, "value");
  gr_dtype dt = GR_F32;
  if (a && a->kind == GR_ATTR_TENSOR) dt = g->tensors[a->t].dtype;
  if (a && (a->kind != GR_ATTR_TENSOR || gr_numel(&g->tensors[a->t]) != 1 || dt == GR_OTHER))
    return gr_node_error(e, g, n, "'value' must be a one-element tensor of a supported type");
  return set_out(g, n, dt, rank, shape, e);
}

int gr__infer_cast(gr_graph *g, gr_node *n, chm_err *e) {
  const gr_tensor *x = in_t(g, n, 0);
  int64_t to = gr_attr_int(n, "to", 0);
  gr_dtype dt = to == 1 ? GR_F32 : to == 7 ? GR_I64 : to == 6 ? GR_I32 : to == 9 ? GR_BOOL
                                                                                 : GR_OTHER;
  if (dt == GR_OTHER) return gr_node_error(e, g, n, "cast to type %lld is not supported",
                                           (long long)to);
  return set_out(g, n, dt, x->rank, x->shape, e);
}

int gr__infer_range(gr_graph *g, gr_node *n, chm_err *e) {
  double v[3];
  static const char *names[3] = {"start", "limit", "delta"};
  for (int j = 0; j < 3; j++)
    if (const_scalar(g, n, j, names[j], &v[j], e)) return -1;
  if (v[2] == 0) return gr_node_error(e, g, n, "delta is zero");
  double c = ceil((v[1] - v[0]) / v[2]);
  if (c != c || c > (double)GR_MAX_ELEMS)
    return gr_node_error(e, g, n, "range from %g to %g by %g is longer than chamcc's limit of "
                         "2^31", v[0], v[1], v[2]);
  int64_t len = c > 0 ? (int64_t)c : 0;
  return set_out(g, n, in_t(g, n, 0)->dtype, 1, &len, e);
}

/* ---- dispatch ---- */

int gr__infer_node(gr_graph *g, int i, chm_err *e) {
  gr_node *n = &g->nodes[i];
  for (int j = 0; j < n->n_in; j++) {
    const gr_tensor *x = in_t(g, n, j);
    if (x && x->dtype == GR_UNDEFINED)
      return gr_node_error(e, g, n, "the shape of input '%s' is unknown", x->name);
  }
  return gr__ops[n->op].infer(g, n, e);
}
