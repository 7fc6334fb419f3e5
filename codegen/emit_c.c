/*
 * emit_c.c — loop IR kernels as C functions (see emitc.h): the C back end's
 * counterpart of llvm.c, with the same reading of the IR.
 *
 * A kernel becomes `void NAME(const float *restrict in, ..., float
 * *restrict out)`: parameters it never stores to are const, all are
 * restrict (LLVM's noalias). Index arithmetic is int64_t C; scalars are
 * float C; vectors (exactly the target's `lanes`) go through the vf_*
 * helpers of runtime/chamcc_vec.h, so the text builds with vector
 * extensions or as plain C99.
 *
 * Loops keep their IR variable names (v3, as ir_print and --dump-ir show
 * them). An unrolled loop is written once per iteration with its variable a
 * constant, which is folded into the index expressions, so a register tile
 * indexed by unrolled variables has only constant indices: such a local
 * array (every access at a constant index, accesses either equal or
 * disjoint) becomes one C variable per accessed vector (acc0_16), which
 * every compiler keeps in registers; any other local stays an array. A
 * parallel loop is outlined into a static function NAME_parN(ctx, begin,
 * end) that the runtime's chm_rt_parallel_for runs; its context struct
 * carries the parameters and variables the loop reads, which it passes to
 * NAME_parN_loop as parameters (restrict pointers that gcc honours). Floor division and
 * modulo become C's / and % where the dividend is known to be >= 0 (loop
 * variables from 0, sums and products of such), chm_floordiv otherwise.
 */
#include "chamcc/emitc.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* The C type of a value. */
typedef enum ctype { CT_INT, CT_FLOAT, CT_VEC, CT_BOOL, CT_MASK } ctype;

typedef struct var_state {
  int bound;      /* defined where the emission is */
  int unrolled;   /* an unrolled loop's variable: the constant `value` */
  int64_t value;  /* its value */
  int nonneg;     /* an int known to be >= 0 */
  ctype type;     /* its C type */
  int gen;        /* when it was bound (emitter.gen): older than a region = invariant in it */
} var_state;

typedef struct region {
  int64_t off;    /* first element */
  int lanes;      /* elements (1 or the vector lanes) */
} region;

typedef struct local_state {
  int analysing;  /* a dry run is collecting this buffer's accesses */
  int ok;         /* so far every access has a constant index and fits the regions */
  int scalar;     /* one C variable per region (else a float array) */
  CHM_VEC(region) regs; /* the accessed regions */
} local_state;

typedef struct emitter {
  FILE *f;              /* where the current function goes */
  FILE *outlined;       /* finished outlined functions (written before the kernel) */
  FILE *null;           /* the sink of dry runs */
  const ir_kernel *k;   /* the kernel */
  int L;                /* vector lanes */
  int nthreads;         /* threads parallel loops ask for */
  var_state *vars;      /* per variable id */
  local_state *locals;  /* per local buffer id */
  char **pname;         /* C name per parameter */
  int *written;         /* per parameter: stored to */
  int indent;           /* nesting of the current line */
  int dry;              /* a dry run: nothing is outlined */
  int n_par;            /* parallel loops outlined so far */
  int gen;              /* bindings so far */
  int region;           /* inside an unrolled region: the gen at its start, else -1 */
  FILE *hoisted;        /* the region's hoisted index declarations */
  CHM_VEC(char *) hoists; /* their texts; i<N> is hoists.data[N] */
  chm_err *e;           /* the first error */
  int failed;           /* e is set */
} emitter;

static void out(emitter *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out(emitter *m, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vfprintf(m->f, fmt, ap);
  va_end(ap);
}

static void tab(emitter *m) { fprintf(m->f, "%*s", 2 * m->indent, ""); }

static void fail(emitter *m, const char *what) {
  if (!m->failed) chm_errorf(m->e, "internal: C back end, kernel %s: %s", m->k->name, what);
  m->failed = 1;
}

static ctype ctype_of(ir_type t) {
  switch (t.scalar) {
  case IR_I64: return CT_INT;
  case IR_F32: return t.lanes > 1 ? CT_VEC : CT_FLOAT;
  case IR_BOOL: return t.lanes > 1 ? CT_MASK : CT_BOOL;
  }
  return CT_INT;
}

static const char *ctype_name(ctype t) {
  static const char *const names[] = {"int64_t", "float", "vf", "int", "vm"};
  return names[t];
}

/* ---- integer constants and signs ---- */

static int64_t floor_div(int64_t a, int64_t b) { return a / b - (a % b != 0 && (a % b < 0) != (b < 0)); }
static int64_t floor_mod(int64_t a, int64_t b) { return a - floor_div(a, b) * b; }

/* Whether int expression x is a constant here (unrolled variables bound); its value in *v. */
static int int_const(const emitter *m, const ir_expr *x, int64_t *v) {
  int64_t a, b;
  if (x->op == IR_CONST_INT) return *v = x->ival, 1;
  if (x->op == IR_VAR) return m->vars[x->var].unrolled ? (*v = m->vars[x->var].value, 1) : 0;
  if (x->type.scalar != IR_I64 || !x->a || !x->b || !int_const(m, x->a, &a) || !int_const(m, x->b, &b)) return 0;
  switch (x->op) {
  case IR_ADD: *v = a + b; return 1;
  case IR_SUB: *v = a - b; return 1;
  case IR_MUL: *v = a * b; return 1;
  case IR_DIV: return b ? (*v = floor_div(a, b), 1) : 0;
  case IR_MOD: return b ? (*v = floor_mod(a, b), 1) : 0;
  case IR_MIN: *v = a < b ? a : b; return 1;
  case IR_MAX: *v = a > b ? a : b; return 1;
  default: return 0;
  }
}

/* Whether int expression x is known to be >= 0. */
static int nonneg(const emitter *m, const ir_expr *x) {
  int64_t v, b;
  if (int_const(m, x, &v)) return v >= 0;
  switch (x->op) {
  case IR_VAR: return m->vars[x->var].nonneg;
  case IR_ADD: case IR_MUL: case IR_MIN: case IR_MAX: return nonneg(m, x->a) && nonneg(m, x->b);
  case IR_DIV: case IR_MOD: return nonneg(m, x->a) && int_const(m, x->b, &b) && b > 0;
  default: return 0;
  }
}

/* ---- expressions ---- */

static void put_int(emitter *m, int64_t v) { out(m, v < 0 ? "(%lld)" : "%lld", (long long)v); }

static void put_float(emitter *m, float x) {
  char buf[64];
  if (isnan(x)) { out(m, "NAN"); return; }
  if (isinf(x)) { out(m, x > 0 ? "INFINITY" : "(-INFINITY)"); return; }
  snprintf(buf, sizeof buf, "%.9g", (double)x);
  if (!strpbrk(buf, ".e")) strcat(buf, ".0");
  out(m, x < 0 || (x == 0 && signbit(x)) ? "(%sf)" : "%sf", buf);
}

static void ex(emitter *m, const ir_expr *x);

static void local_name(emitter *m, const ir_buf *b, int64_t off) {
  out(m, "%s%d_%lld", b->name, b->id, (long long)off);
}

/* Records an access of a local being analysed: scalarizable while every
 * access has a constant index and equals or misses every other region. */
static void note_access(emitter *m, const ir_buf *b, const ir_expr *index, int lanes, int masked) {
  local_state *ls = &m->locals[b->id];
  int64_t off;
  if (!ls->analysing || !ls->ok) return;
  if (masked || !int_const(m, index, &off)) {
    ls->ok = 0;
    return;
  }
  for (int i = 0; i < ls->regs.len; i++) {
    region *r = &ls->regs.data[i];
    if (r->off == off && r->lanes == lanes) return;
    if (off < r->off + r->lanes && r->off < off + lanes) {
      ls->ok = 0;
      return;
    }
  }
  region r = {off, lanes};
  chm_vec_push(&ls->regs, r);
}

/* ---- index expressions: invariant parts hoisted out of unrolled regions ---- */

enum { MAX_TERMS = 16 };

/* x as a sum of terms plus the constant *c; 0 if it has too many terms. */
static int split_terms(emitter *m, const ir_expr *x, const ir_expr **terms, int *n, int64_t *c) {
  int64_t v;
  if (int_const(m, x, &v)) return *c += v, 1;
  if (x->op == IR_ADD) return split_terms(m, x->a, terms, n, c) && split_terms(m, x->b, terms, n, c);
  if (x->op == IR_SUB && int_const(m, x->b, &v)) return *c -= v, split_terms(m, x->a, terms, n, c);
  if (*n == MAX_TERMS) return 0;
  terms[(*n)++] = x;
  return 1;
}

/* Whether x reads only variables bound before the current region, and no buffer. */
static int invariant(const emitter *m, const ir_expr *x) {
  if (!x) return 1;
  if (x->op == IR_LOAD) return 0;
  if (x->op == IR_VAR && m->vars[x->var].gen >= m->region) return 0;
  return invariant(m, x->a) && invariant(m, x->b) && invariant(m, x->c);
}

/* The name of a hoisted sum of terms, declared at the region's start once. */
static int hoist(emitter *m, const ir_expr **terms, int n) {
  char *text = NULL;
  size_t len = 0;
  FILE *saved = m->f;
  m->f = open_memstream(&text, &len);
  for (int i = 0; i < n; i++) out(m, i ? " + " : ""), ex(m, terms[i]);
  fclose(m->f);
  m->f = saved;
  for (int i = 0; i < m->hoists.len; i++)
    if (!strcmp(m->hoists.data[i], text)) return free(text), i;
  fprintf(m->hoisted, "%*sconst int64_t i%d = %s;\n", 2 * (m->indent + 1), "", m->hoists.len, text);
  chm_vec_push(&m->hoists, text);
  return m->hoists.len - 1;
}

/* An index: in an unrolled region, the terms that do not change in it
 * become one hoisted variable, so that each unrolled access reads
 * `in[i3 + 48]`. */
static void index_expr(emitter *m, const ir_expr *x) {
  const ir_expr *terms[MAX_TERMS], *inv[MAX_TERMS];
  int n = 0, ni = 0;
  int64_t c = 0;
  if (m->region < 0 || m->dry || !split_terms(m, x, terms, &n, &c)) { ex(m, x); return; }
  for (int i = 0; i < n; i++)
    if (invariant(m, terms[i])) inv[ni++] = terms[i];
  if (ni == 0 || (ni == 1 && inv[0]->op == IR_VAR)) { ex(m, x); return; }
  out(m, "i%d", hoist(m, inv, ni));
  for (int i = 0; i < n; i++)
    if (!invariant(m, terms[i])) out(m, " + "), ex(m, terms[i]);
  if (c) out(m, c < 0 ? " - %lld" : " + %lld", (long long)(c < 0 ? -c : c));
}

/* buf + index (a pointer), or buf[index]. */
static void buf_at(emitter *m, const ir_buf *b, const ir_expr *index, int pointer) {
  int64_t v;
  const char *name = b->kind == IR_BUF_PARAM ? m->pname[b->id] : NULL;
  if (name) out(m, "%s", name);
  else out(m, "%s%d", b->name, b->id);
  if (pointer && int_const(m, index, &v) && v == 0) return;
  out(m, pointer ? " + " : "[");
  index_expr(m, index);
  if (!pointer) out(m, "]");
}

static void load(emitter *m, const ir_expr *x) {
  int lanes = x->type.lanes;
  int64_t off;
  if (x->buf->kind == IR_BUF_LOCAL) {
    note_access(m, x->buf, x->a, lanes, 0);
    if (m->locals[x->buf->id].scalar && int_const(m, x->a, &off)) { local_name(m, x->buf, off); return; }
  }
  if (lanes == 1) { buf_at(m, x->buf, x->a, 0); return; }
  out(m, "vf_load(");
  buf_at(m, x->buf, x->a, 1);
  out(m, ")");
}

static void call(emitter *m, const char *fn, const ir_expr *a, const ir_expr *b, const ir_expr *c) {
  out(m, "%s(", fn);
  ex(m, a);
  if (b) out(m, ", "), ex(m, b);
  if (c) out(m, ", "), ex(m, c);
  out(m, ")");
}

static void infix(emitter *m, const char *op, const ir_expr *a, const ir_expr *b) {
  out(m, "(");
  ex(m, a);
  out(m, " %s ", op);
  ex(m, b);
  out(m, ")");
}

static void int_binary(emitter *m, const ir_expr *x) {
  int64_t a, b;
  int ka = int_const(m, x->a, &a), kb = int_const(m, x->b, &b);
  switch (x->op) {
  case IR_ADD:
    if (kb && b == 0) { ex(m, x->a); return; }
    if (ka && a == 0) { ex(m, x->b); return; }
    if (kb && b < 0) { out(m, "("), ex(m, x->a), out(m, " - %lld)", -(long long)b); return; }
    infix(m, "+", x->a, x->b);
    return;
  case IR_SUB: infix(m, "-", x->a, x->b); return;
  case IR_MUL:
    if (kb && b == 1) { ex(m, x->a); return; }
    if (ka && a == 1) { ex(m, x->b); return; }
    infix(m, "*", x->a, x->b);
    return;
  case IR_DIV:
  case IR_MOD:
    if (kb && b > 0 && nonneg(m, x->a)) { infix(m, x->op == IR_DIV ? "/" : "%", x->a, x->b); return; }
    call(m, x->op == IR_DIV ? "chm_floordiv" : "chm_floormod", x->a, x->b, NULL);
   return;
  case IR_MIN: call(m, "chm_min64", x->a, x->b, NULL); return;
  case IR_MAX: call(m, "chm_max64", x->a, x->b, NULL); return;
  case IR_LT: infix(m, "<", x->a, x->b); return;
  case IR_LE: infix(m, "<=", x->a, x->b); return;
  case IR_EQ: infix(m, "==", x->a, x->b); return;
  default: fail(m, "bad integer operation");
  }
}

static void float_binary(emitter *m, const ir_expr *x) {
  static const struct { ir_op op; const char *infix, *scalar_fn, *vec_fn; } t[] = {
      {IR_ADD, "+", NULL, "vf_add"}, {IR_SUB, "-", NULL, "vf_sub"}, {IR_MUL, "*", NULL, "vf_mul"},
      {IR_DIV, "/", NULL, "vf_div"}, {IR_MIN, NULL, "chm_minf", "vf_min"}, {IR_MAX, NULL, "chm_maxf", "vf_max"},
      {IR_LT, "<", NULL, "vf_lt"},   {IR_LE, "<=", NULL, "vf_le"},  {IR_EQ, "==", NULL, "vf_eq"},
      {IR_POW, NULL, "powf", "vf_pow"}};
  int vec = x->a->type.lanes > 1;
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
    if (t[i].op != x->op) continue;
    if (vec) { call(m, t[i].vec_fn, x->a, x->b, NULL); return; }
    if (t[i].infix) infix(m, t[i].infix, x->a, x->b);
    else call(m, t[i].scalar_fn, x->a, x->b, NULL);
    return;
  }
  fail(m, "bad float operation");
}

static void unary(emitter *m, const ir_expr *x) {
  static const struct { ir_op op; const char *scalar_fn, *vec_fn; } t[] = {
      {IR_EXP, "chm_expf", "vf_exp"}, {IR_LOG, "chm_logf", "vf_log"}, {IR_TANH, "chm_tanhf", "vf_tanh"},
      {IR_ERF, "chm_erff", "vf_erf"}, {IR_SQRT, "sqrtf", "vf_sqrt"}, {IR_ABS, "fabsf", "vf_abs"},
      {IR_NEG, NULL, "vf_neg"}};
  int vec = x->type.lanes > 1;
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
    if (t[i].op != x->op) continue;
    if (vec) { call(m, t[i].vec_fn, x->a, NULL, NULL); return; }
    if (!t[i].scalar_fn) { out(m, "(-"), ex(m, x->a), out(m, ")"); return; }
    call(m, t[i].scalar_fn, x->a, NULL, NULL);
   return;
  }
  fail(m, "bad unary operation");
}

static void ex(emitter *m, const ir_expr *x) {
  int64_t v;
  int vec = x->type.lanes > 1;
  if (vec && x->type.lanes != m->L) fail(m, "a vector of other lanes than the target's");
  if (x->type.scalar == IR_I64 && int_const(m, x, &v)) { put_int(m, v); return; }
  switch (x->op) {
  case IR_CONST_INT: put_int(m, x->ival); return;
  case IR_CONST_FLOAT:
    if (!vec) { put_float(m, x->fval); return; }
    out(m, "vf_splat("), put_float(m, x->fval), out(m, ")");
    return;
  case IR_VAR: out(m, "v%d", x->var); return;
  case IR_ADD: case IR_SUB: case IR_MUL: case IR_DIV: case IR_MOD: case IR_MIN: case IR_MAX:
  case IR_LT: case IR_LE: case IR_EQ:
    if (x->a->type.scalar == IR_I64) int_binary(m, x);
    else float_binary(m, x);
    return;
  case IR_POW: float_binary(m, x); return;
  case IR_AND:
    if (vec) call(m, "vm_and", x->a, x->b, NULL);
    else infix(m, "&&", x->a, x->b);
    return;
  case IR_SELECT: /* helpers, not ?:, so that both sides are computed as in the IR */
    if (x->a->type.lanes > 1) { call(m, "vf_select", x->a, x->b, x->c); return; }
    call(m, vec ? "vf_pick" : x->type.scalar == IR_F32 ? "chm_self" : "chm_sel64", x->a, x->b, x->c);
   return;
  case IR_FMA:
    if (vec) { call(m, "vf_fma", x->a, x->b, x->c); return; }
    out(m, "(");
    ex(m, x->a);
    out(m, " * ");
    ex(m, x->b);
    out(m, " + ");
    ex(m, x->c);
    out(m, ")");
    return;
  case IR_LOAD: load(m, x); return;
  case IR_BROADCAST:
    if (x->a->type.scalar != IR_F32) { fail(m, "broadcast of a non-float"); return; }
    call(m, "vf_splat", x->a, NULL, NULL);
   return;
  case IR_SHUFFLE:
    out(m, "vf_shuffle(");
    ex(m, x->a);
    for (int i = 0; i < x->type.lanes; i++) out(m, ", %d", x->mask[i]);
    out(m, ")");
    return;
  case IR_EXP: case IR_TANH: case IR_SQRT: case IR_NEG: case IR_LOG: case IR_ABS: case IR_ERF:
    unary(m, x);
    return;
  case IR_TO_F32: out(m, "(float)"), ex(m, x->a); return;
  case IR_TO_I64: out(m, "(int64_t)"), ex(m, x->a); return;
  case IR_HSUM: case IR_HMAX:
    if (x->a->type.lanes == 1) { ex(m, x->a); return; }
    call(m, x->op == IR_HSUM ? "vf_hsum" : "vf_hmax", x->a, NULL, NULL);
   return;
  }
  fail(m, "unknown expression");
}

/* ---- what a statement uses (the captures of an outlined loop) ---- */

static void uses_expr(const ir_expr *x, char *puse, char *vuse) {
  if (!x) return;
  if (x->op == IR_VAR) vuse[x->var] = 1;
  if (x->op == IR_LOAD && x->buf->kind == IR_BUF_PARAM) puse[x->buf->id] = 1;
  uses_expr(x->a, puse, vuse);
  uses_expr(x->b, puse, vuse);
  uses_expr(x->c, puse, vuse);
}

static void uses_stmt(const ir_stmt *s, char *puse, char *vuse) {
  if (!s) return;
  uses_expr(s->lo, puse, vuse);
  uses_expr(s->hi, puse, vuse);
  uses_expr(s->value, puse, vuse);
  uses_expr(s->index, puse, vuse);
  if (s->kind == IR_STORE && s->buf->kind == IR_BUF_PARAM) puse[s->buf->id] = 1;
  uses_stmt(s->body, puse, vuse);
  for (int i = 0; i < s->n_stmts; i++) uses_stmt(s->stmts[i], puse, vuse);
}

static int stores_to(const ir_stmt *s, int param) {
  if (!s) return 0;
  if (s->kind == IR_STORE && s->buf->kind == IR_BUF_PARAM && s->buf->id == param) return 1;
  if (stores_to(s->body, param)) return 1;
  for (int i = 0; i < s->n_stmts; i++)
    if (stores_to(s->stmts[i], param)) return 1;
  return 0;
}

int ec_param_written(const ir_kernel *k, int i) { return stores_to(k->body, i); }

/* ---- statements ---- */

static void st(emitter *m, const ir_stmt *s);

static void body(emitter *m, const ir_stmt *s) {
  m->indent++;
  st(m, s);
  m->indent--;
}

static var_state bind(emitter *m, int var, var_state v) {
  var_state old = m->vars[var];
  v.gen = m->gen++;
  m->vars[var] = v;
  return old;
}

static void serial_loop(emitter *m, const ir_stmt *s, const char *note) {
  tab(m);
  out(m, "for (int64_t v%d = ", s->var);
  ex(m, s->lo);
  out(m, "; v%d < ", s->var);
  ex(m, s->hi);
  out(m, "; v%d++) {%s\n", s->var, note);
  var_state old = bind(m, s->var, (var_state){1, 0, 0, nonneg(m, s->lo), CT_INT, 0});
  body(m, s->body);
  m->vars[s->var] = old;
  tab(m);
  out(m, "}\n");
}

static void unrolled_body(emitter *m, const ir_stmt *s, int64_t lo, int64_t hi) {
  tab(m);
  out(m, "/* unrolled: v%d = %lld .. %lld */\n", s->var, (long long)lo, (long long)hi - 1);
  for (int64_t i = lo; i < hi; i++) {
    var_state old = bind(m, s->var, (var_state){1, 1, i, i >= 0, CT_INT, 0});
    st(m, s->body);
    m->vars[s->var] = old;
  }
}

/* An unrolled loop; the outermost one of a nest is a region: a block that
 * starts with the declarations of its hoisted indices. */
static void unrolled_loop(emitter *m, const ir_stmt *s) {
  int64_t lo, hi;
  if (!int_const(m, s->lo, &lo) || !int_const(m, s->hi, &hi)) {
    fail(m, "unrolled loop without constant bounds");
    return;
  }
  if (m->region >= 0 || m->dry) { unrolled_body(m, s, lo, hi); return; }
  char *decls = NULL, *text = NULL;
  size_t n1 = 0, n2 = 0;
  FILE *saved = m->f;
  m->hoisted = open_memstream(&decls, &n1);
  m->f = open_memstream(&text, &n2);
  m->region = m->gen;
  m->indent++;
  unrolled_body(m, s, lo, hi);
  m->indent--;
  m->region = -1;
  fclose(m->f);
  fclose(m->hoisted);
  m->f = saved;
  tab(m);
  out(m, "{\n%s%s", decls, text);
  tab(m);
  out(m, "}\n");
  free(decls);
  free(text);
  for (int i = 0; i < m->hoists.len; i++) free(m->hoists.data[i]);
  m->hoists.len = 0;
}

/* The outlined function of parallel loop s: its context struct and body. */
static void outline_fn(emitter *m, const ir_stmt *s, const char *fn, const char *puse, const char *vuse) {
  const ir_kernel *k = m->k;
  int fields = 0;
  out(m, "/* The parallel loop over v%d of %s: iterations [begin, end). */\n", s->var, k->name);
  out(m, "typedef struct %s_ctx {\n", fn);
  for (int i = 0; i < k->n_params; i++)
    if (puse[i]) out(m, "  %sfloat *%s;\n", m->written[i] ? "" : "const ", m->pname[i]), fields++;
  for (int v = 0; v < k->n_vars; v++)
    if (vuse[v]) out(m, "  %s v%d;\n", ctype_name(m->vars[v].type), v), fields++;
  if (!fields) out(m, "  char unused;\n");
  out(m, "} %s_ctx;\n\n", fn);
  /* the loop is a function of its pointers, so that they are restrict parameters */
  out(m, "static void %s_loop(", fn);
  for (int i = 0; i < k->n_params; i++)
    if (puse[i]) out(m, "%sfloat *restrict %s, ", m->written[i] ? "" : "const ", m->pname[i]);
  for (int v = 0; v < k->n_vars; v++)
    if (vuse[v]) out(m, "const %s v%d, ", ctype_name(m->vars[v].type), v);
  out(m, "int64_t begin, int64_t end) {\n");
  int64_t lo;
  int zero = int_const(m, s->lo, &lo) && lo == 0;
  out(m, "  for (int64_t v%d = begin", s->var);
  if (!zero) out(m, " + "), ex(m, s->lo);
  out(m, "; v%d < end", s->var);
  if (!zero) out(m, " + "), ex(m, s->lo);
  out(m, "; v%d++) {\n", s->var);
  var_state old = bind(m, s->var, (var_state){1, 0, 0, nonneg(m, s->lo), CT_INT, 0});
  m->indent = 2;
  st(m, s->body);
  m->vars[s->var] = old;
  out(m, "  }\n}\n\n");
  out(m, "static void %s(void *ctx, int64_t begin, int64_t end) {\n", fn);
  out(m, "  const %s_ctx *cx = ctx;\n", fn);
  if (!fields) out(m, "  (void)cx;\n");
  out(m, "  %s_loop(", fn);
  for (int i = 0; i < k->n_params; i++)
    if (puse[i]) out(m, "cx->%s, ", m->pname[i]);
  for (int v = 0; v < k->n_vars; v++)
    if (vuse[v]) out(m, "cx->v%d, ", v);
  out(m, "begin, end);\n}\n\n");
}

/* A parallel loop: outlined, and handed to the runtime's thread pool. */
static void parallel_loop(emitter *m, const ir_stmt *s) {
  const ir_kernel *k = m->k;
  char fn[512];
  snprintf(fn, sizeof fn, "%s_par%d", k->name, m->n_par++);
  char *puse = chm_calloc((size_t)k->n_params + 1, 1), *vuse = chm_calloc((size_t)k->n_vars + 1, 1);
  uses_expr(s->lo, puse, vuse);
  uses_stmt(s->body, puse, vuse);
  for (int v = 0; v < k->n_vars; v++) vuse[v] = vuse[v] && m->vars[v].bound && !m->vars[v].unrolled;

  char *text = NULL;
  size_t len = 0;
  FILE *saved = m->f;
  int indent = m->indent;
  m->f = open_memstream(&text, &len);
  outline_fn(m, s, fn, puse, vuse);
  fclose(m->f);
  fputs(text, m->outlined);
  free(text);
  m->f = saved;
  m->indent = indent;

  tab(m);
  out(m, "{ /* parallel for v%d in [", s->var);
  ex(m, s->lo);
  out(m, ", ");
  ex(m, s->hi);
  out(m, "): %s on the thread pool */\n", fn);
  tab(m);
  out(m, "  %s_ctx c%d = {", fn, m->n_par - 1);
  int first = 1;
  for (int i = 0; i < k->n_params; i++)
    if (puse[i]) out(m, "%s%s", first ? "" : ", ", m->pname[i]), first = 0;
  for (int v = 0; v < k->n_vars; v++)
    if (vuse[v]) out(m, "%sv%d", first ? "" : ", ", v), first = 0;
  out(m, "%s};\n", first ? "0" : "");
  tab(m);
  out(m, "  chm_rt_parallel_for(%s, &c%d, ", fn, m->n_par - 1);
  int64_t lo, hi;
  if (int_const(m, s->lo, &lo) && int_const(m, s->hi, &hi)) out(m, "%lld", (long long)(hi - lo));
  else out(m, "("), ex(m, s->hi), out(m, ") - ("), ex(m, s->lo), out(m, ")");
  out(m, ", CHM_THREADS);\n");
  tab(m);
  out(m, "}\n");
  free(puse);
  free(vuse);
}

static void st_for(emitter *m, const ir_stmt *s) {
  if (s->loop == IR_LOOP_UNROLLED) { unrolled_loop(m, s); return; }
  if (s->loop == IR_LOOP_PARALLEL && m->nthreads != 1 && !m->dry) { parallel_loop(m, s); return; }
  serial_loop(m, s, s->loop == IR_LOOP_PARALLEL ? " /* parallel, run serially */" : "");
}

/* let v = value: a constant int is folded like an unrolled variable, an
 * unread one is left out, anything else is a const local. */
static void st_let(emitter *m, const ir_stmt *s) {
  ctype t = ctype_of(s->value->type);
  int64_t c;
  char *puse = chm_calloc((size_t)m->k->n_params + 1, 1), *vuse = chm_calloc((size_t)m->k->n_vars + 1, 1);
  uses_stmt(s->body, puse, vuse);
  int read = vuse[s->var];
  free(puse);
  free(vuse);
  if (!read || (t == CT_INT && int_const(m, s->value, &c))) {
    var_state old = bind(m, s->var, (var_state){1, 1, read ? c : 0, read ? c >= 0 : 1, CT_INT, 0});
    st(m, s->body);
    m->vars[s->var] = old;
    return;
  }
  tab(m);
  out(m, "{\n");
  m->indent++;
  tab(m);
  out(m, "const %s v%d = ", ctype_name(t), s->var);
  ex(m, s->value);
  out(m, ";\n");
  var_state old = bind(m, s->var, (var_state){1, 0, 0, t == CT_INT && nonneg(m, s->value), t, 0});
  st(m, s->body);
  m->vars[s->var] = old;
  m->indent--;
  tab(m);
  out(m, "}\n");
}

static void st_store(emitter *m, const ir_stmt *s) {
  int lanes = s->value->type.lanes;
  int64_t off;
  tab(m);
  if (s->buf->kind == IR_BUF_LOCAL) {
    note_access(m, s->buf, s->index, lanes, s->mask_lanes > 0);
    if (m->locals[s->buf->id].scalar && int_const(m, s->index, &off)) {
      local_name(m, s->buf, off);
      out(m, " = ");
      ex(m, s->value);
      out(m, ";\n");
      return;
    }
  }
  if (lanes == 1) {
    buf_at(m, s->buf, s->index, 0);
    out(m, " = ");
    ex(m, s->value);
    out(m, ";\n");
    return;
  }
  out(m, s->mask_lanes ? "vf_store_n(" : "vf_store(");
  buf_at(m, s->buf, s->index, 1);
  out(m, ", ");
  ex(m, s->value);
  if (s->mask_lanes) out(m, ", %d", s->mask_lanes);
  out(m, ");\n");
}

/* Declares the C variables (or the array) of a local buffer. */
static void declare_local(emitter *m, const ir_buf *b) {
  local_state *ls = &m->locals[b->id];
  if (!ls->scalar) {
    tab(m);
    out(m, "float %s%d[%lld] = {0};\n", b->name, b->id, (long long)b->size);
    return;
  }
  for (int vec = 1; vec >= 0; vec--) {
    int n = 0;
    for (int i = 0; i < ls->regs.len; i++) {
      if ((ls->regs.data[i].lanes > 1) != vec) continue;
      if (n++ % 4 == 0) tab(m), out(m, "%s ", vec ? "vf" : "float");
      local_name(m, b, ls->regs.data[i].off);
      out(m, vec ? " = vf_splat(0.0f)" : " = 0.0f");
      int more = 0;
      for (int j = i + 1; j < ls->regs.len && !more; j++) more = (ls->regs.data[j].lanes > 1) == vec;
      out(m, !more || n % 4 == 0 ? ";\n" : ", ");
    }
  }
}

/* A local buffer: a dry run over its scope decides between variables and an array. */
static void st_alloc(emitter *m, const ir_stmt *s) {
  local_state *ls = &m->locals[s->buf->id];
  FILE *saved = m->f;
  int dry = m->dry;
  ls->regs.len = 0;
  ls->ok = 1;
  ls->analysing = 1;
  ls->scalar = 0;
  m->f = m->null;
  m->dry = 1;
  st(m, s->body);
  m->f = saved;
  m->dry = dry;
  ls->analysing = 0;
  ls->scalar = ls->ok && ls->regs.len > 0;
  tab(m);
  out(m, "{ /* local %s[%lld] */\n", s->buf->name, (long long)s->buf->size);
  m->indent++;
  declare_local(m, s->buf);
  st(m, s->body);
  m->indent--;
  tab(m);
  out(m, "}\n");
}

static void st(emitter *m, const ir_stmt *s) {
  switch (s->kind) {
  case IR_FOR: st_for(m, s); return;
  case IR_LET: st_let(m, s); return;
  case IR_STORE: st_store(m, s); return;
  case IR_SEQ:
    for (int i = 0; i < s->n_stmts; i++) st(m, s->stmts[i]);
    return;
  case IR_ALLOC: st_alloc(m, s); return;
  case IR_IF:
    tab(m);
    out(m, "if (");
    ex(m, s->value);
    out(m, ") {\n");
    body(m, s->body);
    tab(m);
    out(m, "}\n");
  }
}

/* ---- kernels ---- */

static int max_local(const ir_stmt *s) {
  if (!s) return 0;
  int n = s->kind == IR_ALLOC ? s->buf->id + 1 : 0, b = max_local(s->body);
  if (b > n) n = b;
  for (int i = 0; i < s->n_stmts; i++)
    if ((b = max_local(s->stmts[i])) > n) n = b;
  return n;
}

static int is_keyword(const char *s) {
  static const char *const words[] = {
      "auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else", "enum",
      "extern", "float", "for", "goto", "if", "inline", "int", "long", "register", "restrict", "return",
      "short", "signed", "sizeof", "static", "struct", "switch", "typedef", "union", "unsigned", "void",
      "volatile", "while", "begin", "end", "ctx", "cx", "vf", "vm", NULL};
  for (int i = 0; words[i]; i++)
    if (!strcmp(words[i], s)) return 1;
  return 0;
}

/* A C name for parameter i: its IR name when that is a fresh identifier. */
static char *param_name(const ir_kernel *k, int i) {
  const char *n = k->params[i]->name;
  int ok = n && (n[0] == '_' || (n[0] >= 'a' && n[0] <= 'z') || (n[0] >= 'A' && n[0] <= 'Z')) && !is_keyword(n);
  for (const char *p = n; ok && *p; p++)
    ok = *p == '_' || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9');
  if (ok && strchr("vci", n[0]) && n[1] >= '0' && n[1] <= '9') ok = 0; /* our variables */
  for (int j = 0; ok && j < k->n_params; j++)
    ok = j == i || strcmp(k->params[j]->name, n);
  char buf[64];
  snprintf(buf, sizeof buf, "p%d", i);
  return chm_strdup(ok ? n : buf);
}

static void prototype(FILE *f, const ir_kernel *k, char **names, const int *written) {
  fprintf(f, "void %s(", k->name);
  for (int i = 0; i < k->n_params; i++)
    fprintf(f, "%s%sfloat *restrict %s", i ? ", " : "", written[i] ? "" : "const ", names[i]);
  fprintf(f, ")");
}

void ec_write_prototype(FILE *f, const ir_kernel *k) {
  char **names = chm_calloc((size_t)k->n_params + 1, sizeof *names);
  int *written = chm_calloc((size_t)k->n_params + 1, sizeof *written);
  for (int i = 0; i < k->n_params; i++) names[i] = param_name(k, i), written[i] = ec_param_written(k, i);
  prototype(f, k, names, written);
  for (int i = 0; i < k->n_params; i++) free(names[i]);
  free(names);
  free(written);
}

int ec_write_kernel(FILE *f, const ir_kernel *k, int lanes, int nthreads, chm_err *e) {
  emitter m = {.k = k, .L = lanes, .nthreads = nthreads, .e = e, .region = -1};
  int n_locals = max_local(k->body);
  m.vars = chm_calloc((size_t)k->n_vars + 1, sizeof *m.vars);
  m.locals = chm_calloc((size_t)n_locals + 1, sizeof *m.locals);
  m.pname = chm_calloc((size_t)k->n_params + 1, sizeof *m.pname);
  m.written = chm_calloc((size_t)k->n_params + 1, sizeof *m.written);
  for (int i = 0; i < k->n_params; i++) m.pname[i] = param_name(k, i), m.written[i] = ec_param_written(k, i);
  char *outl = NULL, *text = NULL;
  size_t outl_n = 0, text_n = 0;
  m.outlined = open_memstream(&outl, &outl_n);
  m.null = fopen("/dev/null", "w");
  m.f = open_memstream(&text, &text_n);
  CHM_ASSERT(m.outlined && m.null && m.f);
  prototype(m.f, k, m.pname, m.written);
  out(&m, " {\n");
  char *puse = chm_calloc((size_t)k->n_params + 1, 1), *vuse = chm_calloc((size_t)k->n_vars + 1, 1);
  uses_stmt(k->body, puse, vuse);
  for (int i = 0; i < k->n_params; i++)
    if (!puse[i]) out(&m, "  (void)%s;\n", m.pname[i]);
  m.indent = 1;
  st(&m, k->body);
  out(&m, "}\n");
  fclose(m.f);
  fclose(m.outlined);
  fclose(m.null);
  if (!m.failed) {
    fputs(outl, f);
    fputs(text, f);
  }
  free(outl);
  free(text);
  free(puse);
  free(vuse);
  for (int i = 0; i < k->n_params; i++) free(m.pname[i]);
  for (int i = 0; i < n_locals; i++) chm_vec_free(&m.locals[i].regs);
  chm_vec_free(&m.hoists);
  free(m.pname);
  free(m.written);
  free(m.vars);
  free(m.locals);
  return m.failed ? -1 : 0;
}
