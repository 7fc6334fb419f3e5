/*
 * gr_internal.h — helpers shared by the files of graph/ (prefix `gr__`),
 * not part of the interface other layers code against.
 *
 * Conventions inside the passes:
 *   - a tensor is a constant when its data pointer is non-NULL;
 *   - a tensor whose dtype is GR_UNDEFINED has no known shape yet;
 *   - a pass deletes a node by setting its op to NULL and calls
 *     gr__compact() before it returns (which also recomputes producers);
 *   - g->tensors and g->nodes are malloc'ed arrays that gr__add_tensor /
 *     gr__add_node may move: never keep a gr_node * or gr_tensor * across
 *     those calls, keep the index.
 */
#ifndef CHAMCC_GR_INTERNAL_H
#define CHAMCC_GR_INTERNAL_H

#include "chamcc/graph.h"

/* ---- graph/graph.c: building and editing ---- */

int gr__add_tensor(gr_graph *g, const char *name);         /* new undefined tensor, returns index */
int gr__add_const(gr_graph *g, const char *name, gr_dtype dt, int rank,
                  const int64_t *shape);                    /* new constant, zeroed data */
int gr__unique_tensor(gr_graph *g, const char *base);       /* new tensor named "base_N" */
int gr__add_const_unique(gr_graph *g, const char *base, gr_dtype dt, int rank,
                         const int64_t *shape);             /* gr__add_const with a unique name */
int gr__add_node(gr_graph *g, gr_op op, const char *name, int n_in, const int *in,
                 int n_out, const int *out);                /* appended; returns its index */
void gr__set_inputs(gr_graph *g, gr_node *n, int n_in, const int *in); /* replace the input list */
void gr__set_int(gr_graph *g, gr_node *n, const char *name, int64_t v);
void gr__set_float(gr_graph *g, gr_node *n, const char *name, float v);
void gr__set_ints(gr_graph *g, gr_node *n, const char *name, const int64_t *v, int count);
void gr__set_floats(gr_graph *g, gr_node *n, const char *name, const float *v, int count);
void gr__set_string(gr_graph *g, gr_node *n, const char *name, const char *s);
void gr__del_attr(gr_node *n, const char *name);            /* no-op when absent */
size_t gr__dtype_size(gr_dtype dt);                         /* bytes per element, 0 for UNDEFINED/OTHER */
const char *gr__dtype_name(gr_dtype dt);
void gr__compact(gr_graph *g);                              /* drop nodes with op NULL, recompute producers */
void gr__count_uses(const gr_graph *g, int *uses);          /* readers per tensor (inputs + residual) */
int *gr__per_tensor(const gr_graph *g, int *v, int fill);    /* v resized to one int per tensor, all `fill` */
void *gr__copy(gr_graph *g, const void *v, size_t count, size_t size); /* count elements copied into g's arena (one spare) */
void gr__replace_uses(gr_graph *g, int from, int to);       /* rewire every reader of `from` to `to` */
char *gr__shape_str(const gr_tensor *t, char *buf, size_t size); /* "[1,3,224,224]" */
bool gr__same_shape(const gr_tensor *a, const gr_tensor *b);
int gr__broadcast(const gr_tensor *a, const gr_tensor *b, int64_t *out, int *rank); /* -1 if incompatible */
void gr__copy_shape(gr_tensor *dst, const gr_tensor *src);  /* dtype, rank, shape */

/* ---- graph/ops.c: the operator table (graph/include/chamcc/ops.def) ---- */

enum { MANY = 1 << 30 }; /* no upper bound on an input count */

typedef int (*gr_infer_fn)(gr_graph *g, gr_node *n, chm_err *e);
typedef int (*gr_eval_fn)(gr_graph *g, gr_node *n, gr_tensor *y, chm_err *e);

typedef struct gr_op_def {
  const char *name;        /* ONNX op type */
  int min_in, max_in;      /* input count range; the first min_in must be present */
  int min_out, max_out;    /* output count range */
  gr_op_kind kind;         /* fold-only, rewritten away, or run */
  chm_act act;             /* UNARY: the activation it is */
  gr_infer_fn infer;       /* shapes_ops.c: output shapes, normalized attributes */
  gr_eval_fn eval;         /* fold.c: constant evaluation; gr__eval_none = never */
} gr_op_def;

extern const gr_op_def gr__ops[GR_N_OPS]; /* indexed by gr_op */

/* The functions the table names (a function shared by several ops is declared again). */
#define GR_OP(id, name, min_in, max_in, min_out, max_out, kind, act, infer, eval)               \
  int gr__infer_##infer(gr_graph *g, gr_node *n, chm_err *e);                                 \
  int gr__eval_##eval(gr_graph *g, gr_node *n, gr_tensor *y, chm_err *e);
#include "chamcc/ops.def"
#undef GR_OP

/* ---- graph/dims.c: checked shape arithmetic ---- */

/* Results stay in [0, GR_MAX_ELEMS]; an operand or a result outside it sets
 * *bad (sticky: check once after a chain) and returns GR_MAX_ELEMS + 1. */
int64_t gr__dim_add(int64_t a, int64_t b, bool *bad);
int64_t gr__dim_mul(int64_t a, int64_t b, bool *bad);
int64_t gr__dim_prod(const int64_t *v, int n, bool *bad);
/* 0 if every dim and the element count are within GR_MAX_ELEMS; else a node error
 * "WHAT would have shape [...]". */
int gr__check_shape(const gr_graph *g, const gr_node *n, const char *what, int rank,
                    const int64_t *shape, chm_err *e);
/* Checks the shape (as above), then sets output j's dtype, rank and shape. */
int gr__set_out(gr_graph *g, gr_node *n, int j, gr_dtype dt, int rank, const int64_t *shape,
                chm_err *e);

/* ---- graph/fold.c: the constant evaluator ---- */

bool gr__can_fold(const gr_graph *g, const gr_node *n);     /* evaluable now (inputs constant, or Shape) */
int gr__eval_node(gr_graph *g, int node, chm_err *e);       /* fill output data; shapes already inferred */
double gr__get_f(const gr_tensor *t, int64_t i);            /* element i of a numeric constant as double */
int64_t gr__get_i(const gr_tensor *t, int64_t i);           /* element i as int64 (truncating floats) */
void gr__put(gr_tensor *t, int64_t i, double f, int64_t v); /* store v (ints) or f (floats) */

/* ---- graph/shapes.c, shapes_ops.c, check_ops.c ---- */

int gr__infer_node(gr_graph *g, int node, chm_err *e);      /* output shapes of one node, normalize attrs */
bool gr__is_used(const gr_graph *g, int t);                 /* read by a node or a graph output */

#endif
