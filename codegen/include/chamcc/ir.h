/*
 * ir.h — the loop IR (prefix `ir_`): plain structs that templates build and
 * the LLVM backend lowers.
 *
 * A kernel is a function of float buffers. Its body is a tree of statements:
 * loops with bounds and a kind (serial, parallel, unrolled),
 * stores, local register arrays, and calls. Expressions are typed (int64
 * index arithmetic, float32 scalars or vectors, booleans): loads of `lanes`
 * contiguous floats, broadcasts, arithmetic, fused multiply-add, selects and
 * a few math functions. Everything is allocated in one arena per kernel set
 * and released in one call.
 *
 * Schedules only choose loop structure and marks: an unrolled loop is
 * emitted once per iteration with its variable a constant, a parallel loop
 * becomes a task for the runtime's thread pool (LLVM may still vectorize a
 * serial inner loop). Explicit vectors come from the templates.
 */
#ifndef CHAMCC_IR_H
#define CHAMCC_IR_H

#include "chamcc/util.h"

typedef enum ir_scalar {
  IR_I64,  /* index arithmetic */
  IR_F32,  /* data */
  IR_BOOL, /* comparisons */
} ir_scalar;

typedef struct ir_type {
  ir_scalar scalar; /* element type */
  int lanes;        /* 1 for scalars, else vector width */
} ir_type;

typedef enum ir_buf_kind {
  IR_BUF_PARAM, /* a float* argument of the kernel */
  IR_BUF_LOCAL, /* a small array on the stack: register tiles */
} ir_buf_kind;

typedef struct ir_buf {
  int id;             /* position among the kernel's params, or a unique local id */
  ir_buf_kind kind;   /* where it lives */
  const char *name;   /* for the printer and LLVM value names */
  int64_t size;       /* elements (LOCAL; informative for PARAM) */
} ir_buf;

typedef enum ir_op {
  IR_CONST_INT,  /* ival */
  IR_CONST_FLOAT,/* fval (broadcast when lanes > 1) */
  IR_VAR,        /* the value of variable `var` */
  IR_ADD, IR_SUB, IR_MUL, IR_DIV, /* a op b; DIV is floor division on I64 */
  IR_MOD,        /* a mod b on I64, result in [0, b) */
  IR_MIN, IR_MAX,/* a, b */
  IR_LT, IR_LE, IR_EQ, /* comparisons -> BOOL */
  IR_AND,        /* BOOL a && b */
  IR_SELECT,     /* a ? b : c (a BOOL scalar or of b's lanes) */
  IR_FMA,        /* a * b + c */
  IR_LOAD,       /* buf[a .. a + lanes) */
  IR_BROADCAST,  /* a (scalar) repeated to `lanes` */
  IR_EXP, IR_TANH, IR_SQRT, IR_NEG, /* unary math on F32 */
  IR_LOG, IR_ABS, IR_ERF,            /* more unary math on F32 */
  IR_POW,        /* a ** b on F32 */
  IR_SHUFFLE,    /* lane i of the result = lane mask[i] of a (F32 vector) */
  IR_TO_F32,     /* I64 -> F32 */
  IR_TO_I64,     /* F32 (scalar) -> I64, truncating */
  IR_HSUM, IR_HMAX, /* horizontal sum / max of a vector -> scalar */
} ir_op;

typedef struct ir_expr ir_expr;
struct ir_expr {
  ir_op op;          /* operation */
  ir_type type;      /* result type */
  int64_t ival;      /* CONST_INT */
  float fval;        /* CONST_FLOAT */
  int var;           /* VAR: variable id */
  ir_buf *buf;       /* LOAD */
  ir_expr *a, *b, *c;/* operands */
  const int *mask;   /* SHUFFLE: source lane per result lane */
};

typedef enum ir_loop_kind {
  IR_LOOP_SERIAL,     /* ordinary loop */
  IR_LOOP_PARALLEL,   /* iterations split over the thread pool */
  IR_LOOP_UNROLLED,   /* fully unrolled: constant bounds required */
} ir_loop_kind;

typedef enum ir_stmt_kind {
  IR_FOR,   /* for var in [lo, hi): body */
  IR_LET,   /* var = value; body */
  IR_STORE, /* buf[index .. + lanes) = value; only the first mask_lanes if > 0 */
  IR_SEQ,   /* stmts in order */
  IR_ALLOC, /* local buffer `buf` lives in body */
  IR_IF,    /* if cond: body */
} ir_stmt_kind;

typedef struct ir_stmt ir_stmt;
struct ir_stmt {
  ir_stmt_kind kind;   /* what it is */
  int var;             /* FOR, LET: the variable defined */
  ir_expr *lo, *hi;    /* FOR: bounds (I64) */
  ir_loop_kind loop;   /* FOR: how the loop runs */
  ir_expr *value;      /* LET, STORE: value; IF: condition */
  ir_buf *buf;         /* STORE, ALLOC */
  ir_expr *index;      /* STORE: first element */
  int mask_lanes;      /* STORE: if > 0, store only this many leading lanes */
  ir_stmt *body;       /* FOR, LET, ALLOC, IF */
  ir_stmt **stmts;     /* SEQ */
  int n_stmts;         /* SEQ */
  int cap_stmts;       /* SEQ: allocated slots */
};

typedef struct ir_kernel {
  const char *name;   /* symbol name */
  ir_buf **params;    /* float* arguments, in order */
  int n_params;       /* number of params */
  ir_stmt *body;      /* statements */
  int n_vars;         /* variable ids used are < n_vars */
  double flops;       /* floating-point operations of one call (informative) */
} ir_kernel;

/* ---- codegen/ir.c: construction (everything lives in arena `a`) ---- */

typedef struct ir_builder {
  chm_arena *a;       /* where nodes are allocated */
  ir_kernel *k;       /* kernel under construction */
  int next_local;     /* id of the next local buffer */
} ir_builder;

ir_kernel *ir_kernel_new(ir_builder *b, chm_arena *a, const char *name);
ir_buf *ir_param(ir_builder *b, const char *name, int64_t size);
ir_buf *ir_local(ir_builder *b, const char *name, int64_t size);
int ir_new_var(ir_builder *b);

ir_expr *ir_int(ir_builder *b, int64_t v);
ir_expr *ir_float(ir_builder *b, float v, int lanes);
ir_expr *ir_var(ir_builder *b, int var);
ir_expr *ir_bin(ir_builder *b, ir_op op, ir_expr *x, ir_expr *y); /* folds int constants */
ir_expr *ir_add(ir_builder *b, ir_expr *x, ir_expr *y);
ir_expr *ir_mul(ir_builder *b, ir_expr *x, ir_expr *y);
ir_expr *ir_addi(ir_builder *b, ir_expr *x, int64_t y);  /* x + y */
ir_expr *ir_muli(ir_builder *b, ir_expr *x, int64_t y);  /* x * y */
ir_expr *ir_fma(ir_builder *b, ir_expr *x, ir_expr *y, ir_expr *z);
ir_expr *ir_select(ir_builder *b, ir_expr *c, ir_expr *x, ir_expr *y);
ir_expr *ir_load(ir_builder *b, ir_buf *buf, ir_expr *index, int lanes);
ir_expr *ir_broadcast(ir_builder *b, ir_expr *x, int lanes);
ir_expr *ir_unary(ir_builder *b, ir_op op, ir_expr *x);
ir_expr *ir_shuffle(ir_builder *b, ir_expr *x, const int *mask); /* mask: x's lanes entries, copied */

ir_stmt *ir_seq(ir_builder *b);
void ir_seq_add(ir_builder *b, ir_stmt *seq, ir_stmt *s); /* NULL s is ignored */
ir_stmt *ir_for(ir_builder *b, int var, ir_expr *lo, ir_expr *hi, ir_loop_kind kind, ir_stmt *body);
ir_stmt *ir_let(ir_builder *b, int var, ir_expr *value, ir_stmt *body);
ir_stmt *ir_store(ir_builder *b, ir_buf *buf, ir_expr *index, ir_expr *value);
ir_stmt *ir_store_masked(ir_builder *b, ir_buf *buf, ir_expr *index, ir_expr *value, int lanes);
ir_stmt *ir_alloc(ir_builder *b, ir_buf *buf, ir_stmt *body);
ir_stmt *ir_if(ir_builder *b, ir_expr *cond, ir_stmt *body);

/* ---- codegen/ir_print.c ---- */

/* Deterministic text form: the golden-test format. */
void ir_print_kernel(const ir_kernel *k, void *file);
/* The same text in a malloc'ed string: two kernels of one workload (the same
 * parameters) with equal texts compile to the same code. */
char *ir_kernel_text(const ir_kernel *k);

#endif
