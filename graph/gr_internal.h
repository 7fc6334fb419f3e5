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
int gr__add_node(gr_graph *g, const char *op, const char *name, int n_in, const int *in,
                 int n_out, const int *out);                /* appended; returns its index */
void gr__set_inputs(gr_graph *g, gr_node *n, int n_in, const int *in); /* replace the input list */
void gr__set_int(gr_graph *g, gr_node *n, const char *name, int64_t v);
void gr__set_float(gr_graph *g, gr_node *n, const char *name, float v);
void gr__set_ints(gr_graph *g, gr_node *n, const char *name, const int64_t *v, int count);
void gr__set_string(gr_graph *g, gr_node *n, const char *name, const char *s);
void gr__del_attr(gr_node *n, const char *name);            /* no-op when absent */
size_t gr__dtype_size(gr_dtype dt);                         /* bytes per element, 0 for UNDEFINED/OTHER */
const char *gr__dtype_name(gr_dtype dt);
void gr__compact(gr_graph *g);                              /* drop nodes with op NULL, recompute producers */
void gr__count_uses(const gr_graph *g, int *uses);          /* readers per tensor (inputs + residual) */
void gr__replace_uses(gr_graph *g, int from, int to);       /* rewire every reader of `from` to `to` */
char *gr__shape_str(const gr_tensor *t, char *buf, size_t size); /* "[1,3,224,224]" */
bool gr__same_shape(const gr_tensor *a, const gr_tensor *b);
int gr__broadcast(const gr_tensor *a, const gr_tensor *b, int64_t *out, int *rank); /* -1 if incompatible */
void gr__copy_shape(gr_tensor *dst, const gr_tensor *src);  /* dtype, rank, shape */

/* ---- graph/fold.c: the constant evaluator ---- */

bool gr__can_fold(const gr_graph *g, const gr_node *n);     /* evaluable now (inputs constant, or Shape) */
int gr__eval_node(gr_graph *g, int node, chm_err *e);       /* fill output data; shapes already inferred */
double gr__get_f(const gr_tensor *t, int64_t i);            /* element i of a numeric constant as double */
int64_t gr__get_i(const gr_tensor *t, int64_t i);           /* element i as int64 (truncating floats) */
void gr__put(gr_tensor *t, int64_t i, double f, int64_t v); /* store v (ints) or f (floats) */

/* ---- graph/shapes.c, shapes_ops.c, check_ops.c ---- */

int gr__infer_node(gr_graph *g, int node, chm_err *e);      /* output shapes of one node, normalize attrs */
bool gr__is_used(const gr_graph *g, int t);                 /* read by a node or a graph output */
bool gr__is_fold_only(const char *op);                      /* Shape, Gather, Slice, ... */
int gr__slice_params(const gr_graph *g, const gr_node *n, int64_t *start, int64_t *step,
                     int64_t *count, chm_err *e);           /* per data dim, clamped */

#endif
