/*
 * graph.c — the graph data structure: queries used by later layers
 * (attributes, element counts, error messages, the readable dump) and the
 * small editing helpers the passes share (gr_internal.h).
 *
 * The tensor and node arrays are plain malloc'ed arrays grown in powers of
 * two, so their capacity follows from their length and gr_graph needs no
 * capacity fields. Everything else (names, attribute and index arrays,
 * tensor data) lives in the graph's arena and is freed by gr_free.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gr_internal.h"

/* ---- queries ---- */

const gr_attr *gr_attr_find(const gr_node *n, const char *name) {
  for (int i = 0; i < n->n_attr; i++)
    if (strcmp(n->attr[i].name, name) == 0) return &n->attr[i];
  return NULL;
}

int64_t gr_attr_int(const gr_node *n, const char *name, int64_t dflt) {
  const gr_attr *a = gr_attr_find(n, name);
  if (a && a->kind == GR_ATTR_INT) return a->i;
  if (a && a->kind == GR_ATTR_FLOAT) { /* a float given for an int: in range, or the default */
    bool fits = a->f > -9.2e18f && a->f < 9.2e18f; /* false for NaN */
    return fits ? (int64_t)a->f : dflt;
  }
  return dflt;
}

float gr_attr_float(const gr_node *n, const char *name, float dflt) {
  const gr_attr *a = gr_attr_find(n, name);
  if (a && a->kind == GR_ATTR_FLOAT) return a->f;
  if (a && a->kind == GR_ATTR_INT) return (float)a->i;
  return dflt;
}

int gr_attr_floats(const gr_node *n, const char *name, const float **v) {
  static const float none[1];
  const gr_attr *a = gr_attr_find(n, name);
  *v = none; /* a valid pointer even for no values: callers may memcpy 0 of them */
  if (!a || a->kind != GR_ATTR_FLOATS) return 0;
  *v = a->floats;
  return a->n;
}

int gr_attr_ints(const gr_node *n, const char *name, const int64_t **v) {
  static const int64_t none[1];
  const gr_attr *a = gr_attr_find(n, name);
  *v = none; /* a valid pointer even for no values: callers may memcpy 0 of them */
  if (!a || a->kind != GR_ATTR_INTS) return 0;
  *v = a->ints;
  return a->n;
}

const char *gr_attr_string(const gr_node *n, const char *name, const char *dflt) {
  const gr_attr *a = gr_attr_find(n, name);
  return a && a->kind == GR_ATTR_STRING ? a->s : dflt;
}

int64_t gr_numel(const gr_tensor *t) { return chm_prod(t->shape, t->rank); }

int gr_node_error(chm_err *e, const gr_graph *g, const gr_node *n, const char *fmt, ...) {
  char msg[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return chm_errorf(e, "%s: node '%s' (%s): %s", g->path, n->name, gr_op_name(n->op), msg);
}

void gr_free(gr_graph *g) {
  if (!g) return;
  free(g->tensors);
  free(g->nodes);
  chm_arena_free(g->arena);
  free(g);
}

/* ---- dump ---- */

static void dump_tensor(const gr_graph *g, int t, FILE *f) {
  char buf[160];
  if (t < 0) {
    fprintf(f, " -");
    return;
  }
  const gr_tensor *x = &g->tensors[t];
  fprintf(f, " %s:%s%s%s", x->name, gr__dtype_name(x->dtype), gr__shape_str(x, buf, sizeof buf),
          x->data ? "(const)" : "");
}

static void dump_attr(const gr_graph *g, const gr_attr *a, FILE *f) {
  fprintf(f, " %s=", a->name);
  switch (a->kind) {
  case GR_ATTR_INT: fprintf(f, "%lld", (long long)a->i); break;
  case GR_ATTR_FLOAT: fprintf(f, "%g", a->f); break;
  case GR_ATTR_STRING: fprintf(f, "\"%s\"", a->s); break;
  case GR_ATTR_TENSOR: fprintf(f, "<%s>", g->tensors[a->t].name); break;
  case GR_ATTR_INTS:
  case GR_ATTR_FLOATS:
    for (int i = 0; i < a->n; i++) {
      if (a->kind == GR_ATTR_INTS) fprintf(f, "%s%lld", i ? "," : "[", (long long)a->ints[i]);
      else fprintf(f, "%s%g", i ? "," : "[", a->floats[i]);
    }
    fprintf(f, a->n ? "]" : "[]");
    break;
  }
}

/* One line per node: op name ( inputs ) -> outputs {attrs} + epilogue. */
void gr_dump(const gr_graph *g, void *file) {
  FILE *f = file;
  fprintf(f, "graph %s opset %d: %d tensors, %d nodes\n", g->path, g->opset, g->n_tensors,
          g->n_nodes);
  for (int i = 0; i < g->n_inputs; i++) {
    fprintf(f, "input");
    dump_tensor(g, g->inputs[i], f);
    fprintf(f, "\n");
  }
  for (int i = 0; i < g->n_nodes; i++) {
    const gr_node *n = &g->nodes[i];
    fprintf(f, "%s '%s' (", gr_op_name(n->op), n->name);
    for (int j = 0; j < n->n_in; j++) dump_tensor(g, n->in[j], f);
    fprintf(f, " ) ->");
    for (int j = 0; j < n->n_out; j++) dump_tensor(g, n->out[j], f);
    for (int j = 0; j < n->n_attr; j++) dump_attr(g, &n->attr[j], f);
    if (n->residual >= 0) {
      fprintf(f, " +residual");
      dump_tensor(g, n->residual, f);
    }
    if (n->act != CHM_ACT_NONE) fprintf(f, " +act=%s(%g,%g)", chm_act_name(n->act), n->act_a, n->act_b);
    if (n->clamp) fprintf(f, " +clamp(%g,%g)", n->lo, n->hi);
    fprintf(f, "\n");
  }
  for (int i = 0; i < g->n_outputs; i++) {
    fprintf(f, "output");
    dump_tensor(g, g->outputs[i], f);
    fprintf(f, "\n");
  }
}

/* ---- building ---- */

/* Grows a malloc'ed array of `len` elements when len is 0 or a power of two >= 8. */
static void *grow(void *p, int len, size_t elem) {
  if (len == 0) return chm_realloc(p, 8 * elem);
  if (len >= 8 && (len & (len - 1)) == 0) return chm_realloc(p, (size_t)len * 2 * elem);
  return p;
}

int gr__add_tensor(gr_graph *g, const char *name) {
  g->tensors = grow(g->tensors, g->n_tensors, sizeof *g->tensors);
  gr_tensor *t = &g->tensors[g->n_tensors];
  memset(t, 0, sizeof *t);
  t->name = chm_arena_strdup(g->arena, name);
  t->producer = -1;
  return g->n_tensors++;
}

int gr__add_const(gr_graph *g, const char *name, gr_dtype dt, int rank, const int64_t *shape) {
  /* shape may point into g->tensors (a tensor's shape), which adding a tensor may move */
  int64_t dims[GR_MAX_RANK];
  memcpy(dims, shape, (size_t)rank * sizeof *shape);
  int i = gr__add_tensor(g, name);
  gr_tensor *t = &g->tensors[i];
  t->dtype = dt;
  t->rank = rank;
  memcpy(t->shape, dims, (size_t)rank * sizeof *dims);
  size_t bytes = (size_t)gr_numel(t) * gr__dtype_size(dt);
  t->data = chm_arena_alloc(g->arena, bytes ? bytes : 1);
  return i;
}

int gr__unique_tensor(gr_graph *g, const char *base) {
  char *name = chm_arena_printf(g->arena, "%s_%d", base, g->n_tensors);
  return gr__add_tensor(g, name);
}

int gr__add_const_unique(gr_graph *g, const char *base, gr_dtype dt, int rank,
                         const int64_t *shape) {
  char *name = chm_arena_printf(g->arena, "%s_%d", base, g->n_tensors);
  return gr__add_const(g, name, dt, rank, shape);
}

int gr__add_node(gr_graph *g, gr_op op, const char *name, int n_in, const int *in,
                 int n_out, const int *out) {
  g->nodes = grow(g->nodes, g->n_nodes, sizeof *g->nodes);
  gr_node *n = &g->nodes[g->n_nodes];
  memset(n, 0, sizeof *n);
  n->op = op;
  n->name = chm_arena_strdup(g->arena, name);
  n->residual = -1;
  gr__set_inputs(g, n, n_in, in);
  n->n_out = n_out;
  n->out = chm_arena_alloc(g->arena, (size_t)(n_out + 1) * sizeof(int));
  memcpy(n->out, out, (size_t)n_out * sizeof(int));
  return g->n_nodes++;
}

void gr__set_inputs(gr_graph *g, gr_node *n, int n_in, const int *in) {
  int *v = chm_arena_alloc(g->arena, (size_t)(n_in + 1) * sizeof(int));
  memmove(v, in, (size_t)n_in * sizeof(int));
  n->in = v;
  n->n_in = n_in;
}

/* Returns the attribute NAME, appended (zeroed) when absent. */
static gr_attr *attr_slot(gr_graph *g, gr_node *n, const char *name) {
  for (int i = 0; i < n->n_attr; i++)
    if (strcmp(n->attr[i].name, name) == 0) {
      gr_attr *a = &n->attr[i];
      memset(a, 0, sizeof *a);
      a->name = chm_arena_strdup(g->arena, name);
      return a;
    }
  gr_attr *v = chm_arena_alloc(g->arena, (size_t)(n->n_attr + 1) * sizeof *v);
  memcpy(v, n->attr, (size_t)n->n_attr * sizeof *v);
  n->attr = v;
  gr_attr *a = &v[n->n_attr++];
  a->name = chm_arena_strdup(g->arena, name);
  return a;
}

void gr__set_int(gr_graph *g, gr_node *n, const char *name, int64_t v) {
  gr_attr *a = attr_slot(g, n, name);
  a->kind = GR_ATTR_INT;
  a->i = v;
}

void gr__set_float(gr_graph *g, gr_node *n, const char *name, float v) {
  gr_attr *a = attr_slot(g, n, name);
  a->kind = GR_ATTR_FLOAT;
  a->f = v;
}

void *gr__copy(gr_graph *g, const void *v, size_t count, size_t size) {
  void *copy = chm_arena_alloc(g->arena, (count + 1) * size);
  if (count) memmove(copy, v, count * size);
  return copy;
}

void gr__set_ints(gr_graph *g, gr_node *n, const char *name, const int64_t *v, int count) {
  gr_attr *a = attr_slot(g, n, name);
  *a = (gr_attr){.name = a->name, .kind = GR_ATTR_INTS, .ints = gr__copy(g, v, (size_t)count, sizeof *v), .n = count};
}

void gr__set_floats(gr_graph *g, gr_node *n, const char *name, const float *v, int count) {
  gr_attr *a = attr_slot(g, n, name);
  *a = (gr_attr){.name = a->name, .kind = GR_ATTR_FLOATS, .floats = gr__copy(g, v, (size_t)count, sizeof *v), .n = count};
}

void gr__set_string(gr_graph *g, gr_node *n, const char *name, const char *s) {
  char *copy = chm_arena_strdup(g->arena, s);
  gr_attr *a = attr_slot(g, n, name);
  a->kind = GR_ATTR_STRING;
  a->s = copy;
}

void gr__del_attr(gr_node *n, const char *name) {
  for (int i = 0; i < n->n_attr; i++)
    if (strcmp(n->attr[i].name, name) == 0) {
      memmove(&n->attr[i], &n->attr[i + 1], (size_t)(n->n_attr - i - 1) * sizeof *n->attr);
      n->n_attr--;
      return;
    }
}

/* ---- small utilities ---- */

size_t gr__dtype_size(gr_dtype dt) {
  switch (dt) {
  case GR_F32: return 4;
  case GR_I64: return 8;
  case GR_I32: return 4;
  case GR_BOOL: return 1;
  default: return 0;
  }
}

const char *gr__dtype_name(gr_dtype dt) {
  static const char *names[] = {"?", "f32", "i64", "i32", "bool", "unsupported-type"};
  return dt >= GR_UNDEFINED && dt <= GR_OTHER ? names[dt] : "?";
}

void gr__compact(gr_graph *g) {
  int k = 0;
  for (int i = 0; i < g->n_nodes; i++)
    if (g->nodes[i].op) g->nodes[k++] = g->nodes[i];
  g->n_nodes = k;
  for (int t = 0; t < g->n_tensors; t++) g->tensors[t].producer = -1;
  for (int i = 0; i < g->n_nodes; i++)
    for (int j = 0; j < g->nodes[i].n_out; j++)
      if (g->nodes[i].out[j] >= 0) g->tensors[g->nodes[i].out[j]].producer = i;
}

int *gr__per_tensor(const gr_graph *g, int *v, int fill) {
  v = chm_realloc(v, (size_t)(g->n_tensors + 1) * sizeof *v);
  for (int i = 0; i <= g->n_tensors; i++) v[i] = fill;
  return v;
}

void gr__count_uses(const gr_graph *g, int *uses) {
  memset(uses, 0, (size_t)g->n_tensors * sizeof *uses);
  for (int i = 0; i < g->n_nodes; i++) {
    const gr_node *n = &g->nodes[i];
    if (!n->op) continue;
    for (int j = 0; j < n->n_in; j++)
      if (n->in[j] >= 0) uses[n->in[j]]++;
    if (n->residual >= 0) uses[n->residual]++;
  }
}

void gr__replace_uses(gr_graph *g, int from, int to) {
  for (int i = 0; i < g->n_nodes; i++) {
    gr_node *n = &g->nodes[i];
    if (!n->op) continue;
    for (int j = 0; j < n->n_in; j++)
      if (n->in[j] == from) n->in[j] = to;
    if (n->residual == from) n->residual = to;
  }
}

char *gr__shape_str(const gr_tensor *t, char *buf, size_t size) {
  if (t->dtype == GR_UNDEFINED) {
    snprintf(buf, size, "[?]");
    return buf;
  }
  size_t k = 0;
  buf[k++] = '[';
  for (int i = 0; i < t->rank && k + 24 < size; i++)
    k += (size_t)snprintf(buf + k, size - k, "%s%lld", i ? "," : "", (long long)t->shape[i]);
  snprintf(buf + k, size - k, "]");
  return buf;
}

bool gr__same_shape(const gr_tensor *a, const gr_tensor *b) {
  if (a->rank != b->rank) return false;
  for (int i = 0; i < a->rank; i++)
    if (a->shape[i] != b->shape[i]) return false;
  return true;
}

/* Numpy (multidirectional) broadcasting of two shapes. */
int gr__broadcast(const gr_tensor *a, const gr_tensor *b, int64_t *out, int *rank) {
  int r = a->rank > b->rank ? a->rank : b->rank;
  for (int i = 0; i < r; i++) {
    int ia = i - (r - a->rank), ib = i - (r - b->rank);
    int64_t da = ia >= 0 ? a->shape[ia] : 1, db = ib >= 0 ? b->shape[ib] : 1;
    if (da != db && da != 1 && db != 1) return -1;
    out[i] = da == 1 ? db : da;
  }
  *rank = r;
  return 0;
}

void gr__copy_shape(gr_tensor *dst, const gr_tensor *src) {
  dst->dtype = src->dtype;
  dst->rank = src->rank;
  memcpy(dst->shape, src->shape, sizeof dst->shape);
}
