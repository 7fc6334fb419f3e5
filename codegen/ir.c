/*
 * ir.c — constructors for the loop IR (see ir.h).
 *
 * Integer arithmetic on constants is folded as nodes are built, and
 * x + 0, x * 1, x * 0 simplify, so templates can write index expressions
 * naively and unrolled loops see constant offsets.
 */
#include "chamcc/ir.h"

#include <string.h>

static ir_expr *new_expr(ir_builder *b, ir_op op, ir_type t) {
  ir_expr *e = chm_arena_alloc(b->a, sizeof *e);
  e->op = op;
  e->type = t;
  return e;
}

static ir_type ty(ir_scalar s, int lanes) { return (ir_type){s, lanes}; }

ir_kernel *ir_kernel_new(ir_builder *b, chm_arena *a, const char *name) {
  memset(b, 0, sizeof *b);
  b->a = a;
  b->k = chm_arena_alloc(a, sizeof *b->k);
  b->k->name = chm_arena_strdup(a, name);
  b->k->params = chm_arena_alloc(a, 64 * sizeof(ir_buf *));
  return b->k;
}

ir_buf *ir_param(ir_builder *b, const char *name, int64_t size) {
  CHM_ASSERT(b->k->n_params < 64);
  ir_buf *buf = chm_arena_alloc(b->a, sizeof *buf);
  buf->id = b->k->n_params;
  buf->kind = IR_BUF_PARAM;
  buf->name = chm_arena_strdup(b->a, name);
  buf->size = size;
  b->k->params[b->k->n_params++] = buf;
  return buf;
}

ir_buf *ir_local(ir_builder *b, const char *name, int64_t size) {
  ir_buf *buf = chm_arena_alloc(b->a, sizeof *buf);
  buf->id = b->next_local++;
  buf->kind = IR_BUF_LOCAL;
  buf->name = chm_arena_strdup(b->a, name);
  buf->size = size;
  return buf;
}

int ir_new_var(ir_builder *b) { return b->k->n_vars++; }

ir_expr *ir_int(ir_builder *b, int64_t v) {
  ir_expr *e = new_expr(b, IR_CONST_INT, ty(IR_I64, 1));
  e->ival = v;
  return e;
}

ir_expr *ir_float(ir_builder *b, float v, int lanes) {
  ir_expr *e = new_expr(b, IR_CONST_FLOAT, ty(IR_F32, lanes));
  e->fval = v;
  return e;
}

ir_expr *ir_var(ir_builder *b, int var) {
  ir_expr *e = new_expr(b, IR_VAR, ty(IR_I64, 1));
  e->var = var;
  return e;
}

static int64_t floordiv(int64_t x, int64_t y) {
  int64_t q = x / y;
  return (x % y != 0 && ((x < 0) != (y < 0))) ? q - 1 : q;
}

/* Folds an integer operation on two constants; returns 0 if not foldable. */
static int fold_int(ir_op op, int64_t x, int64_t y, int64_t *r) {
  switch (op) {
  case IR_ADD: *r = x + y; return 1;
  case IR_SUB: *r = x - y; return 1;
  case IR_MUL: *r = x * y; return 1;
  case IR_DIV: if (!y) return 0; *r = floordiv(x, y); return 1;
  case IR_MOD: if (!y) return 0; *r = x - floordiv(x, y) * y; return 1;
  case IR_MIN: *r = x < y ? x : y; return 1;
  case IR_MAX: *r = x > y ? x : y; return 1;
  default: return 0;
  }
}

static int is_int(const ir_expr *e, int64_t v) { return e->op == IR_CONST_INT && e->ival == v; }

ir_expr *ir_bin(ir_builder *b, ir_op op, ir_expr *x, ir_expr *y) {
  int64_t r;
  if (x->op == IR_CONST_INT && y->op == IR_CONST_INT && fold_int(op, x->ival, y->ival, &r))
    return ir_int(b, r);
  if (x->type.scalar == IR_I64) {
    if ((op == IR_ADD || op == IR_SUB) && is_int(y, 0)) return x;
    if (op == IR_ADD && is_int(x, 0)) return y;
    if ((op == IR_MUL || op == IR_DIV) && is_int(y, 1)) return x;
    if (op == IR_MUL && is_int(x, 1)) return y;
    if (op == IR_MUL && (is_int(x, 0) || is_int(y, 0))) return ir_int(b, 0);
    if (op == IR_MOD && is_int(y, 1)) return ir_int(b, 0);
  }
  int lanes = x->type.lanes > y->type.lanes ? x->type.lanes : y->type.lanes;
  ir_scalar s = (op == IR_LT || op == IR_LE || op == IR_EQ) ? IR_BOOL : x->type.scalar;
  CHM_ASSERT(x->type.scalar == y->type.scalar);
  CHM_ASSERT(x->type.lanes == y->type.lanes || x->type.lanes == 1 || y->type.lanes == 1);
  if (x->type.lanes != lanes) x = ir_broadcast(b, x, lanes);
  if (y->type.lanes != lanes) y = ir_broadcast(b, y, lanes);
  ir_expr *e = new_expr(b, op, ty(s, lanes));
  e->a = x;
  e->b = y;
  return e;
}

ir_expr *ir_add(ir_builder *b, ir_expr *x, ir_expr *y) { return ir_bin(b, IR_ADD, x, y); }
ir_expr *ir_mul(ir_builder *b, ir_expr *x, ir_expr *y) { return ir_bin(b, IR_MUL, x, y); }
ir_expr *ir_addi(ir_builder *b, ir_expr *x, int64_t y) { return ir_bin(b, IR_ADD, x, ir_int(b, y)); }
ir_expr *ir_muli(ir_builder *b, ir_expr *x, int64_t y) { return ir_bin(b, IR_MUL, x, ir_int(b, y)); }

ir_expr *ir_fma(ir_builder *b, ir_expr *x, ir_expr *y, ir_expr *z) {
  int lanes = z->type.lanes;
  if (x->type.lanes != lanes) x = ir_broadcast(b, x, lanes);
  if (y->type.lanes != lanes) y = ir_broadcast(b, y, lanes);
  ir_expr *e = new_expr(b, IR_FMA, ty(IR_F32, lanes));
  e->a = x;
  e->b = y;
  e->c = z;
  return e;
}

ir_expr *ir_select(ir_builder *b, ir_expr *c, ir_expr *x, ir_expr *y) {
  int lanes = x->type.lanes > y->type.lanes ? x->type.lanes : y->type.lanes;
  if (x->type.lanes != lanes) x = ir_broadcast(b, x, lanes);
  if (y->type.lanes != lanes) y = ir_broadcast(b, y, lanes);
  CHM_ASSERT(c->type.scalar == IR_BOOL && (c->type.lanes == 1 || c->type.lanes == lanes));
  ir_expr *e = new_expr(b, IR_SELECT, x->type);
  e->a = c;
  e->b = x;
  e->c = y;
  return e;
}

ir_expr *ir_load(ir_builder *b, ir_buf *buf, ir_expr *index, int lanes) {
  CHM_ASSERT(index->type.scalar == IR_I64 && index->type.lanes == 1);
  ir_expr *e = new_expr(b, IR_LOAD, ty(IR_F32, lanes));
  e->buf = buf;
  e->a = index;
  return e;
}

ir_expr *ir_broadcast(ir_builder *b, ir_expr *x, int lanes) {
  if (x->type.lanes == lanes) return x;
  CHM_ASSERT(x->type.lanes == 1);
  if (x->op == IR_CONST_FLOAT) return ir_float(b, x->fval, lanes);
  ir_expr *e = new_expr(b, IR_BROADCAST, ty(x->type.scalar, lanes));
  e->a = x;
  return e;
}

ir_expr *ir_unary(ir_builder *b, ir_op op, ir_expr *x) {
  ir_type t = x->type;
  if (op == IR_TO_F32) t.scalar = IR_F32;
  if (op == IR_TO_I64) t.scalar = IR_I64;
  if (op == IR_HSUM || op == IR_HMAX) t.lanes = 1;
  ir_expr *e = new_expr(b, op, t);
  e->a = x;
  return e;
}

ir_expr *ir_shuffle(ir_builder *b, ir_expr *x, const int *mask) {
  int lanes = x->type.lanes, identity = 1;
  int *m = chm_arena_alloc(b->a, (size_t)lanes * sizeof *m);
  for (int i = 0; i < lanes; i++) {
    CHM_ASSERT(mask[i] >= 0 && mask[i] < lanes);
    m[i] = mask[i];
    identity &= mask[i] == i;
  }
  if (identity) return x;
  ir_expr *e = new_expr(b, IR_SHUFFLE, x->type);
  e->a = x;
  e->mask = m;
  return e;
}

static ir_stmt *new_stmt(ir_builder *b, ir_stmt_kind kind) {
  ir_stmt *s = chm_arena_alloc(b->a, sizeof *s);
  s->kind = kind;
  return s;
}

ir_stmt *ir_seq(ir_builder *b) { return new_stmt(b, IR_SEQ); }

void ir_seq_add(ir_builder *b, ir_stmt *seq, ir_stmt *s) {
  if (!s) return;
  if (seq->n_stmts == seq->cap_stmts) {
    int cap = seq->cap_stmts ? 2 * seq->cap_stmts : 8;
    ir_stmt **v = chm_arena_alloc(b->a, (size_t)cap * sizeof *v);
    if (seq->n_stmts) memcpy(v, seq->stmts, (size_t)seq->n_stmts * sizeof *v);
    seq->stmts = v;
    seq->cap_stmts = cap;
  }
  seq->stmts[seq->n_stmts++] = s;
}

/* A loop of one iteration is a let: LLVM's LICM would otherwise hoist every
 * load of the body that the (single) iteration does not vary out of the
 * loop, ahead of the FMAs that use them, and the register allocator then
 * spills them (a 1x1 conv's kh and kw loops did this to its whole tile). */
static int one_trip(const ir_expr *lo, const ir_expr *hi) {
  if (lo->op == IR_CONST_INT && hi->op == IR_CONST_INT) return hi->ival - lo->ival == 1;
  return hi->op == IR_ADD && hi->a == lo && hi->b->op == IR_CONST_INT && hi->b->ival == 1;
}

ir_stmt *ir_for(ir_builder *b, int var, ir_expr *lo, ir_expr *hi, ir_loop_kind kind, ir_stmt *body) {
  if (kind != IR_LOOP_PARALLEL && one_trip(lo, hi)) return ir_let(b, var, lo, body);
  ir_stmt *s = new_stmt(b, IR_FOR);
  s->var = var;
  s->lo = lo;
  s->hi = hi;
  s->loop = kind;
  s->body = body;
  if (kind == IR_LOOP_UNROLLED) CHM_ASSERT(lo->op == IR_CONST_INT && hi->op == IR_CONST_INT);
  return s;
}

ir_stmt *ir_let(ir_builder *b, int var, ir_expr *value, ir_stmt *body) {
  ir_stmt *s = new_stmt(b, IR_LET);
  s->var = var;
  s->value = value;
  s->body = body;
  return s;
}

ir_stmt *ir_store(ir_builder *b, ir_buf *buf, ir_expr *index, ir_expr *value) {
  return ir_store_masked(b, buf, index, value, 0);
}

ir_stmt *ir_store_masked(ir_builder *b, ir_buf *buf, ir_expr *index, ir_expr *value, int lanes) {
  CHM_ASSERT(value->type.scalar == IR_F32);
  ir_stmt *s = new_stmt(b, IR_STORE);
  s->buf = buf;
  s->index = index;
  s->value = value;
  s->mask_lanes = lanes >= value->type.lanes ? 0 : lanes;
  return s;
}

ir_stmt *ir_alloc(ir_builder *b, ir_buf *buf, ir_stmt *body) {
  ir_stmt *s = new_stmt(b, IR_ALLOC);
  s->buf = buf;
  s->body = body;
  return s;
}

ir_stmt *ir_if(ir_builder *b, ir_expr *cond, ir_stmt *body) {
  ir_stmt *s = new_stmt(b, IR_IF);
  s->value = cond;
  s->body = body;
  return s;
}
