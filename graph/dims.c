/*
 * dims.c — checked shape arithmetic: every dimension, element count and
 * byte size the graph layer derives from a model goes through here.
 *
 * A model file is untrusted: its attributes (pads, strides, dilations,
 * kernel sizes), constant shape inputs (Reshape, ConstantOfShape, Range)
 * and the shapes they combine with can be chosen to overflow int64 or to
 * ask for tensors no machine can hold. So the arithmetic on them is done by
 * gr__dim_add / gr__dim_mul / gr__dim_prod, which keep every value inside
 * [0, GR_MAX_ELEMS] and set a sticky `bad` flag instead of overflowing; and
 * every inferred output shape is stored by gr__set_out, which refuses a
 * dimension or an element count above GR_MAX_ELEMS with an error naming the
 * node and the shape, before anything is allocated or folded.
 */
#include <stdio.h>
#include <string.h>

#include "gr_internal.h"

static int64_t out_of_range(bool *bad) {
  *bad = true;
  return GR_MAX_ELEMS + 1; /* a defined value the caller will not use */
}

static bool in_range(int64_t v) { return v >= 0 && v <= GR_MAX_ELEMS; }

int64_t gr__dim_add(int64_t a, int64_t b, bool *bad) {
  if (!in_range(a) || !in_range(b) || a + b > GR_MAX_ELEMS) return out_of_range(bad);
  return a + b; /* both <= 2^31: no overflow */
}

int64_t gr__dim_mul(int64_t a, int64_t b, bool *bad) {
  if (!in_range(a) || !in_range(b) || (b && a > GR_MAX_ELEMS / b)) return out_of_range(bad);
  return a * b;
}

int64_t gr__dim_prod(const int64_t *v, int n, bool *bad) {
  int64_t p = 1;
  for (int i = 0; i < n; i++) p = gr__dim_mul(p, v[i], bad);
  return p;
}

/* "[a,b,c]" for values that may be anything (the overflowing ones included). */
static void ints_str(const int64_t *v, int n, char *buf, size_t size) {
  size_t len = 0;
  buf[0] = 0;
  for (int i = 0; i < n && len + 24 < size; i++)
    len += (size_t)snprintf(buf + len, size - len, "%s%lld", i ? "," : "[", (long long)v[i]);
  snprintf(buf + len, size - len, n ? "]" : "[]");
}

int gr__check_shape(const gr_graph *g, const gr_node *n, const char *what, int rank,
                    const int64_t *shape, chm_err *e) {
  bool bad = false, negative = false;
  for (int i = 0; i < rank; i++) negative |= shape[i] < 0;
  if (!negative) gr__dim_prod(shape, rank, &bad);
  if (!negative && !bad) return 0;
  char buf[GR_MAX_RANK * 24 + 4];
  ints_str(shape, rank, buf, sizeof buf);
  if (negative) return gr_node_error(e, g, n, "%s would have shape %s", what, buf);
  return gr_node_error(e, g, n, "%s would have shape %s, larger than chamcc's limit of 2^31 "
                       "elements", what, buf);
}

int gr__set_out(gr_graph *g, gr_node *n, int j, gr_dtype dt, int rank, const int64_t *shape,
                chm_err *e) {
  if (rank < 0 || rank > GR_MAX_RANK)
    return gr_node_error(e, g, n, "output rank %d is not supported (at most %d)", rank,
                         GR_MAX_RANK);
  if (gr__check_shape(g, n, "the output", rank, shape, e)) return -1;
  gr_tensor *t = &g->tensors[n->out[j]];
  t->dtype = dt;
  t->rank = rank;
  memset(t->shape, 0, sizeof t->shape);
  if (rank) memcpy(t->shape, shape, (size_t)rank * sizeof *shape);
  return 0;
}
