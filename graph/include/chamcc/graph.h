/*
 * graph.h — the model graph (prefix `gr_`): ONNX import and the graph passes.
 *
 * The graph knows ONNX and nothing of LLVM or search. After gr_load() a
 * graph is normalized so that codegen sees a small, regular op set:
 *
 *   - nodes are in topological order and every tensor has a dtype and a
 *     static shape; constants (initializers, Constant nodes, folded
 *     subgraphs) carry their data and are not graph inputs;
 *   - Identity and Dropout are gone; Flatten, Squeeze, Unsqueeze and Reshape
 *     all became op "Reshape" with one input (the output shape says it all);
 *   - attributes are explicit (defaults filled, negative axes made positive,
 *     auto_pad resolved into "pads"), see the per-op list in graph/README.md;
 *   - BatchNormalization after a Conv is folded into its weights and bias;
 *     any other BatchNormalization became Mul + Add with constants;
 *   - Conv / Gemm / MatMul carry fused epilogues (residual Add, activation).
 *
 * Bad input is reported as "FILE: node 'NAME' (OP): what is wrong".
 */
#ifndef CHAMCC_GRAPH_H
#define CHAMCC_GRAPH_H

#include "chamcc/act.h"
#include "chamcc/util.h"

enum { GR_MAX_RANK = 8 };
/* The largest tensor chamcc accepts, in elements (8 GiB of float32); also
 * the largest dimension. Larger ones are refused by name at import or at
 * shape inference (graph/dims.c), so no size computed later can overflow. */
#define GR_MAX_ELEMS ((int64_t)1 << 31)

typedef enum gr_dtype {
  GR_UNDEFINED, /* not known yet (only during import) */
  GR_F32,       /* float32: the only type kernels compute on */
  GR_I64,       /* int64: shapes, indices (constant folding only) */
  GR_I32,       /* int32 (constant folding only; Cast targets) */
  GR_BOOL,      /* bool stored as one byte (constant folding only) */
  GR_OTHER,     /* any other ONNX element type: rejected where used */
} gr_dtype;

typedef struct gr_tensor {
  char *name;                   /* ONNX value name, unique in the graph */
  gr_dtype dtype;               /* element type */
  int rank;                     /* number of dimensions, 0 for a scalar */
  int64_t shape[GR_MAX_RANK];   /* dimensions, all known and >= 0 after gr_load */
  void *data;                   /* constant value (dense, row-major) or NULL */
  int producer;                 /* index of the producing node, -1 if none */
  bool is_input;                /* a graph input fed at run time */
  bool is_output;               /* a graph output */
} gr_tensor;

typedef enum gr_attr_kind {
  GR_ATTR_INT,    /* i */
  GR_ATTR_FLOAT,  /* f */
  GR_ATTR_INTS,   /* ints[n] */
  GR_ATTR_FLOATS, /* floats[n] */
  GR_ATTR_STRING, /* s */
  GR_ATTR_TENSOR, /* t: index of a constant tensor in the graph */
} gr_attr_kind;

typedef struct gr_attr {
  char *name;         /* attribute name */
  gr_attr_kind kind;  /* which value field is meaningful */
  int64_t i;          /* INT */
  float f;            /* FLOAT */
  int64_t *ints;      /* INTS */
  float *floats;      /* FLOATS */
  int n;              /* element count of ints / floats */
  char *s;            /* STRING, NUL-terminated */
  int t;              /* TENSOR */
} gr_attr;

/* The operators, one per line of graph/include/chamcc/ops.def. GR_OP_NONE marks
 * a node a pass has deleted (gone after the pass). */
typedef enum gr_op {
  GR_OP_NONE,
#define GR_OP(id, name, min_in, max_in, min_out, max_out, kind, act, infer, eval) GR_OP_##id,
#include "chamcc/ops.def"
#undef GR_OP
  GR_N_OPS
} gr_op;

/* What becomes of an operator (the KIND column of ops.def). */
typedef enum gr_op_kind {
  GR_OPK_FOLD,   /* compile-time only: must fold to a constant */
  GR_OPK_GONE,   /* rewritten away by the graph passes */
  GR_OPK_RUN,    /* lowered by codegen */
  GR_OPK_UNARY,  /* lowered; elementwise, one input, an activation */
  GR_OPK_BINARY, /* lowered; elementwise, two broadcast inputs */
} gr_op_kind;

typedef struct gr_node {
  char *name;       /* node name, or "OP_i" when the file gave none */
  gr_op op;         /* operator (normalized, see above); GR_OP_NONE = deleted */
  int n_in;         /* number of inputs */
  int *in;          /* tensor indices; -1 for an omitted optional input */
  int n_out;        /* number of outputs */
  int *out;         /* tensor indices */
  int n_attr;       /* number of attributes */
  gr_attr *attr;    /* attributes */
  /* Fused epilogue of Conv / Gemm / MatMul, applied in this order:
   * y = clamp(act(op(x) + residual)). Bias stays the op's own input. */
  int residual;     /* tensor index added to the result, -1 if none */
  chm_act act;      /* fused activation */
  float act_a, act_b; /* activation parameters (see chm_act) */
  bool clamp;       /* then clamped to [lo, hi] (Clips after the activation) */
  float lo, hi;
} gr_node;

typedef struct gr_graph {
  char *path;        /* model file, for messages */
  int opset;         /* ai.onnx opset version imported */
  chm_arena *arena;  /* owns every string, array and tensor datum */
  gr_tensor *tensors; int n_tensors; /* all values */
  gr_node *nodes; int n_nodes;       /* in topological order after gr_load */
  int *inputs; int n_inputs;         /* runtime inputs, in file order */
  int *outputs; int n_outputs;       /* outputs, in file order */
  const char *notice;                /* something the user should hear (a symbolic batch
                                        taken as 1), or NULL */
  size_t fold_budget;                /* bytes constant folding may make in all (0: not set yet) */
  size_t folded_bytes;               /* bytes it has made so far */
} gr_graph;

/* The shape a runtime input is compiled for, given by the user: it fixes
 * the input's symbolic dimensions; the dimensions the file states must
 * match. */
typedef struct gr_input_shape {
  const char *name;              /* graph input */
  int rank;                      /* number of dims */
  int64_t dims[GR_MAX_RANK];     /* the shape */
} gr_input_shape;

/* ---- graph/onnx_import.c ---- */

/* Reads PATH into a raw graph: as in the file, but with initializers and
 * external data resolved (relative to the model's folder; a location that
 * escapes it is refused). NULL and *e set on failure. */
gr_graph *gr_import(const char *path, chm_err *e);
/* The same with shapes for runtime inputs (see gr_input_shape). Without one,
 * a symbolic first (batch) dimension is taken as 1 (g->notice says so) and
 * any other symbolic dimension is an error that names the input and the
 * dimension. */
gr_graph *gr_import_shapes(const char *path, const gr_input_shape *shapes, int n_shapes, chm_err *e);
void gr_free(gr_graph *g); /* NULL is allowed */

/* ---- the passes (graph/toposort.c, check_ops.c, fold.c, shapes.c, batchnorm.c,
 * pads.c, fuse.c, dead.c); each returns 0 or -1 with *e set ---- */

int gr_toposort(gr_graph *g, chm_err *e);      /* order nodes; reject cycles, dangling names */
int gr_check_ops(gr_graph *g, chm_err *e);     /* reject unsupported ops, types, attributes */
int gr_fold_constants(gr_graph *g, chm_err *e);/* evaluate nodes whose inputs are all constant */
int gr_infer_shapes(gr_graph *g, chm_err *e);  /* static shapes for every tensor, normalize attrs */
int gr_fold_batchnorm(gr_graph *g, chm_err *e);/* BN into Conv, else into Mul + Add */
int gr_match_patterns(gr_graph *g, chm_err *e);/* GELU and LayerNorm chains into their operators */
int gr_fold_pads(gr_graph *g, chm_err *e);     /* a spatial constant Pad into the Conv / pools reading it */
int gr_fuse_epilogues(gr_graph *g, chm_err *e);/* bias / activation / residual Add into Conv, Gemm, MatMul */
int gr_remove_dead(gr_graph *g, chm_err *e);   /* drop nodes and tensors nothing reads */

/* Import and run every pass in order: the only call the driver needs (graph/load.c).
 * CHAMCC_DUMP_GRAPH=1 in the environment dumps the graph after each pass. */
gr_graph *gr_load(const char *path, chm_err *e);
gr_graph *gr_load_shapes(const char *path, const gr_input_shape *shapes, int n_shapes, chm_err *e);

/* ---- graph/graph.c: queries used by later layers ---- */

const gr_attr *gr_attr_find(const gr_node *n, const char *name); /* NULL if absent */
int64_t gr_attr_int(const gr_node *n, const char *name, int64_t dflt);
float gr_attr_float(const gr_node *n, const char *name, float dflt);
int gr_attr_ints(const gr_node *n, const char *name, const int64_t **v); /* count, 0 if absent */
int gr_attr_floats(const gr_node *n, const char *name, const float **v); /* count, 0 if absent */
const char *gr_attr_string(const gr_node *n, const char *name, const char *dflt);
int64_t gr_numel(const gr_tensor *t);            /* element count */

/* ---- graph/ops.c: the operator table ---- */

const char *gr_op_name(gr_op op);                /* ONNX name, "?" for GR_OP_NONE */
gr_op gr_op_find(const char *name);              /* GR_OP_NONE if chamcc does not know it */
gr_op_kind gr_op_kind_of(gr_op op);
/* The activation a UNARY node computes, with its parameters (Clip min/max,
 * LeakyRelu alpha, HardSigmoid alpha/beta); CHM_ACT_NONE for other ops. */
chm_act gr_node_act(const gr_node *n, float *a, float *b);
/* A Slice node's first element and step per dim of its data input, and the
 * element count per dim (clamped as ONNX says); -1 and *e set if invalid. */
int gr_slice_params(const gr_graph *g, const gr_node *n, int64_t *start, int64_t *step,
                    int64_t *count, chm_err *e);
int gr_node_error(chm_err *e, const gr_graph *g, const gr_node *n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));       /* "PATH: node 'NAME' (OP): ..." */
void gr_dump(const gr_graph *g, void *file);     /* readable listing to a FILE* */

#endif
