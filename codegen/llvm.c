/*
 * llvm.c — loop IR to LLVM IR through the LLVM C API, then O3 and object
 * code (see cg.h).
 *
 * Each kernel becomes a function void NAME(float *noalias p0, ...). A loop
 * marked parallel is outlined into NAME.parN(ctx, begin, end); the parent
 * stores its buffer pointers and live loop variables into ctx and calls
 * chm_rt_parallel_for. An unrolled loop is emitted once per iteration with
 * its variable a constant, so register tiles (local arrays indexed by
 * constants) become SSA values after SROA. Local arrays are allocas in the
 * entry block of the function that uses them.
 */
#include "chamcc/cg.h"
#include "chamcc/rt.h"
#include "llvm_math.h"

#include <llvm-c/Analysis.h>
#include <llvm-c/Core.h>
#include <llvm-c/DebugInfo.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/Orc.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>
#include <llvm-c/Transforms/PassBuilder.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cg_module {
  cg_target target;          /* what we compile for */
  LLVMOrcThreadSafeContextRef tsc; /* owns ctx; lets a JIT take the module */
  LLVMContextRef ctx;        /* owns all types and constants */
  LLVMModuleRef mod;         /* the module (NULL once given to a JIT) */
  LLVMBuilderRef bld;        /* instruction builder */
  LLVMTargetMachineRef tm;   /* for O3 and object emission */
  int nthreads;              /* baked into parallel loops (0 = all CPUs) */
  LLVMTypeRef i64, i32, i1, f32, ptr, vt; /* common types */
  CHM_VEC(LLVMValueRef) consts; /* embedded constant arrays */
  int n_outlined;            /* counter for outlined function names */
  int export_kernels;        /* kernels get external linkage (for the JIT) */
};

void cg_export_kernels(cg_module *m) { m->export_kernels = 1; }

/* One pure operation already built: op applied to a and b gave v. */
typedef struct vn_entry {
  int op;                 /* an ir_op, or VN_GEP for an element address */
  LLVMValueRef a, b, v;   /* operands and result (NULL a: an empty slot) */
} vn_entry;

/* The pure integer operations and element addresses built so far in the
 * current block, so that index arithmetic repeated across an unrolled
 * register tile is built once: LLVM would merge the copies too, but only
 * after every early pass has walked them (a conv kernel's index arithmetic
 * shrank from about 90 000 instructions to 5 000). A value is reused only
 * in the block that computed it, where it dominates every later use. */
typedef struct vn_table {
  LLVMBasicBlockRef block; /* where the values live; another block empties the table */
  vn_entry *slots;         /* open addressing, cap a power of two */
  int cap, n;              /* slots and those in use */
} vn_table;

enum {
  VN_GEP = -1,              /* the vn_entry op of an element address */
  CG_NO_UNROLL_FMAS = 300,  /* FMAs in a loop body from which LLVM is told not to unroll it */
};

/* State of the function being emitted (a kernel or an outlined loop body). */
typedef struct fn_state {
  LLVMValueRef fn;      /* the function */
  LLVMBasicBlockRef entry; /* its entry block, where allocas go */
  LLVMValueRef *params; /* kernel buffer pointers, by param id */
  LLVMValueRef *vars;   /* current value of each loop / let variable */
  LLVMValueRef *locals; /* local arrays, by local buffer id */
  const ir_kernel *k;   /* the kernel */
  vn_table *vn;         /* operations this function's current block has built */
} fn_state;

static int llvm_error(chm_err *e, const char *what, char *msg) {
  chm_errorf(e, "LLVM %s: %s", what, msg ? msg : "unknown error");
  if (msg) LLVMDisposeMessage(msg);
  return -1;
}

cg_module *cg_module_new(const cg_target *t, const char *name, int nthreads, chm_err *e) {
  LLVMTargetRef target;
  char *msg = NULL;
  if (LLVMGetTargetFromTriple(t->triple, &target, &msg)) {
    llvm_error(e, "target", msg);
    return NULL;
  }
  cg_module *m = chm_calloc(1, sizeof *m);
  m->target = *t;
  m->nthreads = nthreads;
  m->tsc = LLVMOrcCreateNewThreadSafeContext();
  m->ctx = LLVMOrcThreadSafeContextGetContext(m->tsc);
  m->mod = LLVMModuleCreateWithNameInContext(name, m->ctx);
  m->bld = LLVMCreateBuilderInContext(m->ctx);
  m->tm = LLVMCreateTargetMachine(target, t->triple, t->llvm_cpu, t->features,
                                  LLVMCodeGenLevelAggressive, LLVMRelocPIC, LLVMCodeModelDefault);
  LLVMSetTarget(m->mod, t->triple);
  LLVMTargetDataRef td = LLVMCreateTargetDataLayout(m->tm);
  char *layout = LLVMCopyStringRepOfTargetData(td);
  LLVMSetDataLayout(m->mod, layout);
  LLVMDisposeMessage(layout);
  LLVMDisposeTargetData(td);
  m->i64 = LLVMInt64TypeInContext(m->ctx);
  m->i32 = LLVMInt32TypeInContext(m->ctx);
  m->i1 = LLVMInt1TypeInContext(m->ctx);
  m->f32 = LLVMFloatTypeInContext(m->ctx);
  m->ptr = LLVMPointerTypeInContext(m->ctx, 0);
  m->vt = LLVMVoidTypeInContext(m->ctx);
  return m;
}

void cg_module_free(cg_module *m) {
  if (!m) return;
  chm_vec_free(&m->consts);
  LLVMDisposeBuilder(m->bld);
  if (m->mod) LLVMDisposeModule(m->mod);
  LLVMDisposeTargetMachine(m->tm);
  LLVMOrcDisposeThreadSafeContext(m->tsc);
  free(m);
}

/* ---- small helpers ---- */

static LLVMTypeRef ftype(cg_module *m, int lanes) {
  return lanes > 1 ? LLVMVectorType(m->f32, (unsigned)lanes) : m->f32;
}

static LLVMValueRef ci64(cg_module *m, int64_t v) { return LLVMConstInt(m->i64, (unsigned long long)v, 1); }

static LLVMValueRef intrinsic(cg_module *m, const char *name, LLVMTypeRef *types, int n,
                              LLVMTypeRef *fnty) {
  unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
  CHM_ASSERT(id != 0);
  LLVMValueRef fn = LLVMGetIntrinsicDeclaration(m->mod, id, types, (size_t)n);
  *fnty = LLVMIntrinsicGetType(m->ctx, id, types, (size_t)n);
  return fn;
}

static LLVMValueRef call_intrinsic(cg_module *m, const char *name, LLVMTypeRef ty,
                                   LLVMValueRef *args, int n) {
  LLVMTypeRef fnty;
  LLVMValueRef fn = intrinsic(m, name, &ty, 1, &fnty);
  return LLVMBuildCall2(m->bld, fnty, fn, args, (unsigned)n, "");
}

/* float NAME(float[, float]) from libm. */
static LLVMValueRef libm_fn(cg_module *m, const char *name, int arity, LLVMTypeRef *fnty) {
  LLVMTypeRef args[2] = {m->f32, m->f32};
  *fnty = LLVMFunctionType(m->f32, args, (unsigned)arity, 0);
  LLVMValueRef fn = LLVMGetNamedFunction(m->mod, name);
  if (!fn) fn = LLVMAddFunction(m->mod, name, *fnty);
  return fn;
}

/* Applies a libm function of `arity` (1 or 2) float arguments lane by lane
 * (pow; exp, log, tanh and erf are vector code, llvm_math.c). */
static LLVMValueRef call_libm(cg_module *m, const char *name, int arity, LLVMValueRef *x, int lanes) {
  LLVMTypeRef fnty;
  LLVMValueRef fn = libm_fn(m, name, arity, &fnty);
  if (lanes == 1) return LLVMBuildCall2(m->bld, fnty, fn, x, (unsigned)arity, "");
  LLVMValueRef v = LLVMGetUndef(ftype(m, lanes));
  for (int i = 0; i < lanes; i++) {
    LLVMValueRef idx = LLVMConstInt(m->i32, (unsigned)i, 0), xi[2];
    for (int j = 0; j < arity; j++) xi[j] = LLVMBuildExtractElement(m->bld, x[j], idx, "");
    LLVMValueRef yi = LLVMBuildCall2(m->bld, fnty, fn, xi, (unsigned)arity, "");
    v = LLVMBuildInsertElement(m->bld, v, yi, idx, "");
  }
  return v;
}


static LLVMValueRef splat(cg_module *m, LLVMValueRef x, int lanes) {
  if (lanes == 1) return x;
  LLVMTypeRef vt = LLVMVectorType(LLVMTypeOf(x), (unsigned)lanes);
  LLVMValueRef v = LLVMBuildInsertElement(m->bld, LLVMGetUndef(vt), x, LLVMConstInt(m->i32, 0, 0), "");
  LLVMTypeRef mt = LLVMVectorType(m->i32, (unsigned)lanes);
  return LLVMBuildShuffleVector(m->bld, v, LLVMGetUndef(vt), LLVMConstNull(mt), "");
}

static LLVMValueRef buf_base(fn_state *fs, const ir_buf *b) {
  switch (b->kind) {
  case IR_BUF_PARAM: return fs->params[b->id];
  case IR_BUF_LOCAL: CHM_ASSERT(fs->locals[b->id]); return fs->locals[b->id];
  }
  return NULL;
}

/* ---- reuse of pure operations within a block (vn_table) ---- */

static size_t vn_hash(int op, LLVMValueRef a, LLVMValueRef b) {
  size_t h = (size_t)(op + 2) * 0x9e3779b97f4a7c15u;
  h ^= (size_t)(uintptr_t)a + 0x7f4a7c159e3779b9u + (h << 6) + (h >> 2);
  h ^= (size_t)(uintptr_t)b + 0x9e3779b97f4a7c15u + (h << 6) + (h >> 2);
  return h;
}

/* The slot of (op, a, b): its entry, or the empty slot where it goes. The
 * table is emptied first when the builder has moved to another block. */
static vn_entry *vn_slot(cg_module *m, vn_table *t, int op, LLVMValueRef a, LLVMValueRef b) {
  LLVMBasicBlockRef cur = LLVMGetInsertBlock(m->bld);
  if (t->block != cur) {
    if (t->n) memset(t->slots, 0, (size_t)t->cap * sizeof *t->slots);
    t->block = cur, t->n = 0;
  }
  if (2 * (t->n + 1) > t->cap) { /* grow, rehashing */
    vn_table old = *t;
    t->cap = old.cap ? 2 * old.cap : 256;
    t->slots = chm_calloc((size_t)t->cap, sizeof *t->slots);
    t->n = 0;
    for (int i = 0; i < old.cap; i++)
      if (old.slots[i].a) *vn_slot(m, t, old.slots[i].op, old.slots[i].a, old.slots[i].b) = old.slots[i], t->n++;
    free(old.slots);
  }
  size_t i = vn_hash(op, a, b) & (size_t)(t->cap - 1);
  while (t->slots[i].a && !(t->slots[i].op == op && t->slots[i].a == a && t->slots[i].b == b))
    i = (i + 1) & (size_t)(t->cap - 1);
  return &t->slots[i];
}

/* Remembers v as (op, a, b) in the current block; returns v. */
static LLVMValueRef vn_put(vn_entry *s, vn_table *t, int op, LLVMValueRef a, LLVMValueRef b, LLVMValueRef v) {
  *s = (vn_entry){op, a, b, v};
  t->n++;
  return v;
}

static void vn_free(vn_table *t) {
  if (t) free(t->slots);
  free(t);
}

static LLVMValueRef elem_ptr(cg_module *m, fn_state *fs, const ir_buf *b, LLVMValueRef idx) {
  LLVMValueRef base = buf_base(fs, b);
  vn_entry *s = vn_slot(m, fs->vn, VN_GEP, base, idx);
  if (s->a) return s->v;
  return vn_put(s, fs->vn, VN_GEP, base, idx, LLVMBuildGEP2(m->bld, m->f32, base, &idx, 1, ""));
}

/* ---- expressions ---- */

static LLVMValueRef emit_expr(cg_module *m, fn_state *fs, const ir_expr *e);

static LLVMValueRef floor_divmod(cg_module *m, LLVMValueRef a, LLVMValueRef b, int want_mod) {
  LLVMValueRef q = LLVMBuildSDiv(m->bld, a, b, "");
  LLVMValueRef r = LLVMBuildSRem(m->bld, a, b, "");
  LLVMValueRef zero = ci64(m, 0);
  if (LLVMIsAConstantInt(b) && LLVMConstIntGetSExtValue(b) > 0) { /* the usual case: r < 0 is the fix-up */
    LLVMValueRef neg = LLVMBuildICmp(m->bld, LLVMIntSLT, r, zero, "");
    if (want_mod) return LLVMBuildSelect(m->bld, neg, LLVMBuildAdd(m->bld, r, b, ""), r, "");
    return LLVMBuildSelect(m->bld, neg, LLVMBuildSub(m->bld, q, ci64(m, 1), ""), q, "");
  }
  LLVMValueRef fix = LLVMBuildAnd(m->bld, LLVMBuildICmp(m->bld, LLVMIntNE, r, zero, ""),
      LLVMBuildICmp(m->bld, LLVMIntNE, LLVMBuildICmp(m->bld, LLVMIntSLT, r, zero, ""),
                    LLVMBuildICmp(m->bld, LLVMIntSLT, b, zero, ""), ""), "");
  if (want_mod) return LLVMBuildSelect(m->bld, fix, LLVMBuildAdd(m->bld, r, b, ""), r, "");
  return LLVMBuildSelect(m->bld, fix, LLVMBuildSub(m->bld, q, ci64(m, 1), ""), q, "");
}

/* A compare of integers or floats: the predicate for a < b (IR_LT, IR_MIN),
 * a > b (IR_MAX), a <= b or a == b. */
static LLVMValueRef emit_cmp(cg_module *m, ir_op op, int is_float, LLVMValueRef a, LLVMValueRef b) {
  int k = op == IR_MAX ? 1 : op == IR_LE ? 2 : op == IR_EQ ? 3 : 0;
  static const LLVMIntPredicate ip[] = {LLVMIntSLT, LLVMIntSGT, LLVMIntSLE, LLVMIntEQ};
  static const LLVMRealPredicate fp[] = {LLVMRealOLT, LLVMRealOGT, LLVMRealOLE, LLVMRealOEQ};
  return is_float ? LLVMBuildFCmp(m->bld, fp[k], a, b, "") : LLVMBuildICmp(m->bld, ip[k], a, b, "");
}

/* A binary op on integers or floats. Min and max are a select on a
 * compare: the pattern x86 and NEON turn into one min/max. */
static LLVMValueRef emit_bin(cg_module *m, ir_op op, int is_float, LLVMValueRef a, LLVMValueRef b) {
  switch (op) {
  case IR_ADD: return (is_float ? LLVMBuildFAdd : LLVMBuildAdd)(m->bld, a, b, "");
  case IR_SUB: return (is_float ? LLVMBuildFSub : LLVMBuildSub)(m->bld, a, b, "");
  case IR_MUL: return (is_float ? LLVMBuildFMul : LLVMBuildMul)(m->bld, a, b, "");
  case IR_DIV: return is_float ? LLVMBuildFDiv(m->bld, a, b, "") : floor_divmod(m, a, b, 0);
  case IR_MOD: CHM_ASSERT(!is_float && "a float modulo"); return floor_divmod(m, a, b, 1);
  case IR_MIN:
  case IR_MAX: return LLVMBuildSelect(m->bld, emit_cmp(m, op, is_float, a, b), a, b, "");
  case IR_LT:
  case IR_LE:
  case IR_EQ: return emit_cmp(m, op, is_float, a, b);
  default: CHM_ASSERT(0 && "bad binary op");
  }
  return NULL;
}

/* The integer constant v is, or -1 for anything else (no identity below needs it). */
static int64_t const_of(LLVMValueRef v) { return LLVMIsAConstantInt(v) ? LLVMConstIntGetSExtValue(v) : -1; }

/* An integer binary op: x + 0, x - 0, x * 1 and x * 0 without an
 * instruction (an unrolled loop's variable is a constant, often 0), and an
 * operation the block has already built is reused. */
static LLVMValueRef emit_int_bin(cg_module *m, fn_state *fs, ir_op op, LLVMValueRef a, LLVMValueRef b) {
  int64_t ca = const_of(a), cb = const_of(b);
  if ((op == IR_ADD || op == IR_SUB) && cb == 0) return a;
  if (op == IR_ADD && ca == 0) return b;
  if (op == IR_MUL && (cb == 1 || ca == 0)) return a;
  if (op == IR_MUL && (ca == 1 || cb == 0)) return b;
  vn_entry *s = vn_slot(m, fs->vn, op, a, b);
  if (s->a) return s->v;
  return vn_put(s, fs->vn, op, a, b, emit_bin(m, op, 0, a, b));
}

static LLVMValueRef emit_load(cg_module *m, fn_state *fs, const ir_expr *e) {
  LLVMValueRef p = elem_ptr(m, fs, e->buf, emit_expr(m, fs, e->a));
  LLVMValueRef v = LLVMBuildLoad2(m->bld, ftype(m, e->type.lanes), p, "");
  LLVMSetAlignment(v, 4);
  return v;
}

static LLVMValueRef emit_reduce(cg_module *m, ir_op op, LLVMValueRef v, int lanes) {
  if (lanes == 1) return v;
  LLVMTypeRef vt = ftype(m, lanes), fnty;
  if (op == IR_HSUM) {
    LLVMValueRef fn = intrinsic(m, "llvm.vector.reduce.fadd", &vt, 1, &fnty);
    LLVMValueRef args[2] = {LLVMConstReal(m->f32, -0.0), v};
    LLVMValueRef r = LLVMBuildCall2(m->bld, fnty, fn, args, 2, "");
    LLVMSetFastMathFlags(r, LLVMFastMathAllowReassoc);
    return r;
  }
  LLVMValueRef fn = intrinsic(m, "llvm.vector.reduce.fmax", &vt, 1, &fnty);
  return LLVMBuildCall2(m->bld, fnty, fn, &v, 1, "");
}

static LLVMValueRef emit_expr(cg_module *m, fn_state *fs, const ir_expr *e) {
  int lanes = e->type.lanes;
  switch (e->op) {
  case IR_CONST_INT: return ci64(m, e->ival);
  case IR_CONST_FLOAT: {
    LLVMValueRef c = LLVMConstReal(m->f32, e->fval);
    if (lanes == 1) return c;
    LLVMValueRef *v = chm_malloc((size_t)lanes * sizeof *v);
    for (int i = 0; i < lanes; i++) v[i] = c;
    LLVMValueRef r = LLVMConstVector(v, (unsigned)lanes);
    free(v);
    return r;
  }
  case IR_VAR: CHM_ASSERT(fs->vars[e->var]); return fs->vars[e->var];
  case IR_ADD: case IR_SUB: case IR_MUL: case IR_DIV: case IR_MOD:
  case IR_MIN: case IR_MAX: case IR_LT: case IR_LE: case IR_EQ: {
    LLVMValueRef a = emit_expr(m, fs, e->a), b = emit_expr(m, fs, e->b);
    return e->a->type.scalar == IR_I64 ? emit_int_bin(m, fs, e->op, a, b) : emit_bin(m, e->op, 1, a, b);
  }
  case IR_AND: return LLVMBuildAnd(m->bld, emit_expr(m, fs, e->a), emit_expr(m, fs, e->b), "");
  case IR_SELECT:
    return LLVMBuildSelect(m->bld, emit_expr(m, fs, e->a), emit_expr(m, fs, e->b),
                           emit_expr(m, fs, e->c), "");
  case IR_FMA: {
    LLVMValueRef args[3] = {emit_expr(m, fs, e->a), emit_expr(m, fs, e->b), emit_expr(m, fs, e->c)};
    return call_intrinsic(m, "llvm.fmuladd", ftype(m, lanes), args, 3);
  }
  case IR_LOAD: return emit_load(m, fs, e);
  case IR_BROADCAST: return splat(m, emit_expr(m, fs, e->a), lanes);
  case IR_SHUFFLE: {
    LLVMValueRef a = emit_expr(m, fs, e->a), idx[64];
    CHM_ASSERT(lanes <= 64);
    for (int i = 0; i < lanes; i++) idx[i] = LLVMConstInt(m->i32, (unsigned)e->mask[i], 0);
    return LLVMBuildShuffleVector(m->bld, a, LLVMGetPoison(LLVMTypeOf(a)), LLVMConstVector(idx, (unsigned)lanes), "");
  }
  case IR_EXP: return cg_math_exp(m->bld, m->mod, emit_expr(m, fs, e->a));
  case IR_TANH: return cg_math_tanh(m->bld, m->mod, emit_expr(m, fs, e->a));
  case IR_LOG: return cg_math_log(m->bld, m->mod, emit_expr(m, fs, e->a));
  case IR_ERF: return cg_math_erf(m->bld, m->mod, emit_expr(m, fs, e->a));
  case IR_POW: {
    LLVMValueRef ab[2] = {emit_expr(m, fs, e->a), emit_expr(m, fs, e->b)};
    return call_libm(m, "powf", 2, ab, lanes);
  }
  case IR_ABS: {
    LLVMValueRef a = emit_expr(m, fs, e->a);
    return call_intrinsic(m, "llvm.fabs", ftype(m, lanes), &a, 1);
  }
  case IR_SQRT: {
    LLVMValueRef a = emit_expr(m, fs, e->a);
    return call_intrinsic(m, "llvm.sqrt", ftype(m, lanes), &a, 1);
  }
  case IR_NEG: return LLVMBuildFNeg(m->bld, emit_expr(m, fs, e->a), "");
  case IR_TO_F32: return LLVMBuildSIToFP(m->bld, emit_expr(m, fs, e->a), m->f32, "");
  case IR_TO_I64: return LLVMBuildFPToSI(m->bld, emit_expr(m, fs, e->a), m->i64, "");
  case IR_HSUM: case IR_HMAX:
    return emit_reduce(m, e->op, emit_expr(m, fs, e->a), e->a->type.lanes);
  }
  CHM_ASSERT(0 && "unknown expression");
  return NULL;
}

/* ---- statements ---- */

static void emit_stmt(cg_module *m, fn_state *fs, const ir_stmt *s);

static void emit_store(cg_module *m, fn_state *fs, const ir_stmt *s) {
  LLVMValueRef v = emit_expr(m, fs, s->value);
  LLVMValueRef p = elem_ptr(m, fs, s->buf, emit_expr(m, fs, s->index));
  int lanes = s->value->type.lanes;
  if (!s->mask_lanes) {
    LLVMSetAlignment(LLVMBuildStore(m->bld, v, p), 4);
    return;
  }
  LLVMValueRef *bits = chm_malloc((size_t)lanes * sizeof *bits);
  for (int i = 0; i < lanes; i++) bits[i] = LLVMConstInt(m->i1, i < s->mask_lanes, 0);
  LLVMValueRef mask = LLVMConstVector(bits, (unsigned)lanes);
  free(bits);
  LLVMTypeRef tys[2] = {ftype(m, lanes), m->ptr}, fnty;
  LLVMValueRef fn = intrinsic(m, "llvm.masked.store", tys, 2, &fnty);
  LLVMValueRef args[4] = {v, p, LLVMConstInt(m->i32, 4, 0), mask};
  LLVMBuildCall2(m->bld, fnty, fn, args, 4, "");
}

/* ---- loops LLVM need not try to unroll ---- */

/* FMAs in e (shared subexpressions counted at each use). */
static int64_t expr_fmas(const ir_expr *e) {
  if (!e) return 0;
  return (e->op == IR_FMA) + expr_fmas(e->a) + expr_fmas(e->b) + expr_fmas(e->c);
}

/* FMAs one execution of s does, unrolled loops counted once per iteration
 * and other loops once. */
static int64_t stmt_fmas(const ir_stmt *s) {
  if (!s) return 0;
  int64_t n = expr_fmas(s->value) + expr_fmas(s->index) + stmt_fmas(s->body);
  if (s->kind == IR_FOR && s->loop == IR_LOOP_UNROLLED) n *= s->hi->ival - s->lo->ival;
  for (int i = 0; i < s->n_stmts; i++) n += stmt_fmas(s->stmts[i]);
  return n;
}

/* Marks the loop whose latch branch is br with llvm.loop.unroll.disable.
 * A loop ID is a distinct node whose first operand is itself: built here
 * as a node over a temporary operand that is then replaced by the node. */
static void no_unroll(cg_module *m, LLVMValueRef br) {
  LLVMMetadataRef name = LLVMMDStringInContext2(m->ctx, "llvm.loop.unroll.disable", 24);
  LLVMMetadataRef tmp = LLVMTemporaryMDNode(m->ctx, NULL, 0);
  LLVMMetadataRef ops[2] = {tmp, LLVMMDNodeInContext2(m->ctx, &name, 1)};
  LLVMMetadataRef id = LLVMMDNodeInContext2(m->ctx, ops, 2);
  LLVMMetadataReplaceAllUsesWith(tmp, id);
  LLVMSetMetadata(br, LLVMGetMDKindIDInContext(m->ctx, "llvm.loop", 9), LLVMMetadataAsValue(m->ctx, id));
}

/* for (i = lo; i < hi; i++) body, as preheader -> header -> body -> latch.
 * A body of at least CG_NO_UNROLL_FMAS FMAs (chamcc's own unrolling made
 * it) is beyond what LLVM's unroller would take: peeling and full unrolling
 * at O3 stop at 300 instructions, partial unrolling at the CPU's loop
 * buffer (at most 512 micro-ops) for the body twice, and FMAs never fold
 * away, which is what could raise the full-unroll limit. Marking such a
 * loop spares the unroll passes their cost estimate of every loop around a
 * register tile (most of the pipeline's time before); the code is the
 * same (bench/RESULTS.md, session 20). */
static void emit_serial_loop(cg_module *m, fn_state *fs, int var, LLVMValueRef lo,
                             LLVMValueRef hi, const ir_stmt *body) {
  LLVMBasicBlockRef pre = LLVMGetInsertBlock(m->bld);
  LLVMBasicBlockRef head = LLVMAppendBasicBlockInContext(m->ctx, fs->fn, "loop");
  LLVMBasicBlockRef bodyb = LLVMAppendBasicBlockInContext(m->ctx, fs->fn, "body");
  LLVMBasicBlockRef exit = LLVMAppendBasicBlockInContext(m->ctx, fs->fn, "exit");
  LLVMBuildBr(m->bld, head);
  LLVMPositionBuilderAtEnd(m->bld, head);
  LLVMValueRef i = LLVMBuildPhi(m->bld, m->i64, "i");
  LLVMBuildCondBr(m->bld, LLVMBuildICmp(m->bld, LLVMIntSLT, i, hi, ""), bodyb, exit);
  LLVMPositionBuilderAtEnd(m->bld, bodyb);
  LLVMValueRef saved = fs->vars[var];
  fs->vars[var] = i;
  emit_stmt(m, fs, body);
  fs->vars[var] = saved;
  LLVMValueRef next = LLVMBuildAdd(m->bld, i, ci64(m, 1), "");
  LLVMBasicBlockRef latch = LLVMGetInsertBlock(m->bld);
  LLVMValueRef back = LLVMBuildBr(m->bld, head);
  if (stmt_fmas(body) >= CG_NO_UNROLL_FMAS) no_unroll(m, back);
  LLVMValueRef in_v[2] = {lo, next};
  LLVMBasicBlockRef in_b[2] = {pre, latch};
  LLVMAddIncoming(i, in_v, in_b, 2);
  LLVMPositionBuilderAtEnd(m->bld, exit);
}

static void add_enum_attr(cg_module *m, LLVMValueRef fn, const char *name) {
  unsigned kind = LLVMGetEnumAttributeKindForName(name, strlen(name));
  LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex, LLVMCreateEnumAttribute(m->ctx, kind, 0));
}

static void add_fn_attrs(cg_module *m, LLVMValueRef fn) {
  struct { const char *k, *v; } attrs[] = {
      {"target-cpu", m->target.llvm_cpu},
      {"target-features", m->target.features},
      {"prefer-vector-width", m->target.wide512 ? "512" : NULL},
      {"min-legal-vector-width", m->target.wide512 ? "512" : NULL},
  };
  for (size_t i = 0; i < sizeof attrs / sizeof attrs[0]; i++) {
    if (!attrs[i].v || !attrs[i].v[0]) continue;
    LLVMAttributeRef a = LLVMCreateStringAttribute(m->ctx, attrs[i].k, (unsigned)strlen(attrs[i].k),
                                                   attrs[i].v, (unsigned)strlen(attrs[i].v));
    LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex, a);
  }
  add_enum_attr(m, fn, "nounwind");
}

static LLVMValueRef rt_parallel_for(cg_module *m, LLVMTypeRef *fnty) {
  LLVMTypeRef args[4] = {m->ptr, m->ptr, m->i64, m->i32};
  *fnty = LLVMFunctionType(m->vt, args, 4, 0);
  LLVMValueRef fn = LLVMGetNamedFunction(m->mod, "chm_rt_parallel_for");
  if (!fn) fn = LLVMAddFunction(m->mod, "chm_rt_parallel_for", *fnty);
  return fn;
}

/* Outlines a parallel loop: ctx = {params..., vars...} as i64/pointer slots. */
static void emit_parallel_loop(cg_module *m, fn_state *fs, const ir_stmt *s) {
  const ir_kernel *k = fs->k;
  int nslots = k->n_params + k->n_vars;
  LLVMTypeRef slots_t = LLVMArrayType(m->i64, (unsigned)(nslots ? nslots : 1));
  LLVMValueRef lo = emit_expr(m, fs, s->lo), hi = emit_expr(m, fs, s->hi);

  /* parent: fill ctx in an entry-block alloca */
  LLVMBasicBlockRef cur = LLVMGetInsertBlock(m->bld);
  LLVMPositionBuilder(m->bld, fs->entry, LLVMGetFirstInstruction(fs->entry));
  LLVMValueRef ctx = LLVMBuildAlloca(m->bld, slots_t, "ctx");
  LLVMPositionBuilderAtEnd(m->bld, cur);
  for (int i = 0; i < nslots; i++) {
    LLVMValueRef v = i < k->n_params ? fs->params[i] : fs->vars[i - k->n_params];
    if (!v) continue;
    if (i < k->n_params) v = LLVMBuildPtrToInt(m->bld, v, m->i64, "");
    LLVMValueRef idx[2] = {ci64(m, 0), ci64(m, i)};
    LLVMBuildStore(m->bld, v, LLVMBuildGEP2(m->bld, slots_t, ctx, idx, 2, ""));
  }

  /* child: void body(ptr ctx, i64 begin, i64 end) */
  char name[256];
  snprintf(name, sizeof name, "%s.par%d", k->name, m->n_outlined++);
  LLVMTypeRef cargs[3] = {m->ptr, m->i64, m->i64};
  LLVMValueRef cfn = LLVMAddFunction(m->mod, name, LLVMFunctionType(m->vt, cargs, 3, 0));
  LLVMSetLinkage(cfn, LLVMInternalLinkage);
  add_fn_attrs(m, cfn);
  fn_state cs = *fs;
  cs.fn = cfn;
  cs.vn = chm_calloc(1, sizeof *cs.vn);
  cs.entry = LLVMAppendBasicBlockInContext(m->ctx, cfn, "entry");
  cs.params = chm_calloc((size_t)k->n_params + 1, sizeof(LLVMValueRef));
  cs.vars = chm_calloc((size_t)k->n_vars + 1, sizeof(LLVMValueRef));
  LLVMPositionBuilderAtEnd(m->bld, cs.entry);
  LLVMValueRef cctx = LLVMGetParam(cfn, 0);
  for (int i = 0; i < nslots; i++) {
    LLVMValueRef pv = i < k->n_params ? fs->params[i] : fs->vars[i - k->n_params];
    if (!pv) continue;
    LLVMValueRef idx[2] = {ci64(m, 0), ci64(m, i)};
    LLVMValueRef v = LLVMBuildLoad2(m->bld, m->i64, LLVMBuildGEP2(m->bld, slots_t, cctx, idx, 2, ""), "");
    if (i < k->n_params) cs.params[i] = LLVMBuildIntToPtr(m->bld, v, m->ptr, "");
    else cs.vars[i - k->n_params] = v;
  }
  /* lo may depend on outer variables: recompute it from the captures */
  LLVMValueRef base = LLVMIsConstant(lo) ? lo : emit_expr(m, &cs, s->lo);
  LLVMValueRef clo = LLVMBuildAdd(m->bld, LLVMGetParam(cfn, 1), base, "");
  LLVMValueRef chi = LLVMBuildAdd(m->bld, LLVMGetParam(cfn, 2), base, "");
  emit_serial_loop(m, &cs, s->var, clo, chi, s->body);
  LLVMBuildRetVoid(m->bld);
  free(cs.params);
  free(cs.vars);
  vn_free(cs.vn);

  /* back in the parent: hand the loop to the runtime */
  LLVMPositionBuilderAtEnd(m->bld, cur);
  LLVMTypeRef pfty;
  LLVMValueRef pfn = rt_parallel_for(m, &pfty);
  LLVMValueRef args[4] = {cfn, ctx, LLVMBuildSub(m->bld, hi, lo, ""),
                          LLVMConstInt(m->i32, (unsigned)m->nthreads, 1)};
  LLVMBuildCall2(m->bld, pfty, pfn, args, 4, "");
}

static void emit_for(cg_module *m, fn_state *fs, const ir_stmt *s) {
  if (s->loop == IR_LOOP_UNROLLED) {
    LLVMValueRef saved = fs->vars[s->var];
    for (int64_t i = s->lo->ival; i < s->hi->ival; i++) {
      fs->vars[s->var] = ci64(m, i);
      emit_stmt(m, fs, s->body);
    }
    fs->vars[s->var] = saved;
    return;
  }
  if (s->loop == IR_LOOP_PARALLEL && m->nthreads != 1) {
    emit_parallel_loop(m, fs, s);
    return;
  }
  emit_serial_loop(m, fs, s->var, emit_expr(m, fs, s->lo), emit_expr(m, fs, s->hi), s->body);
}

static void emit_stmt(cg_module *m, fn_state *fs, const ir_stmt *s) {
  switch (s->kind) {
  case IR_FOR: emit_for(m, fs, s); break;
  case IR_LET: {
    LLVMValueRef saved = fs->vars[s->var];
    fs->vars[s->var] = emit_expr(m, fs, s->value);
    emit_stmt(m, fs, s->body);
    fs->vars[s->var] = saved;
    break;
  }
  case IR_STORE: emit_store(m, fs, s); break;
  case IR_SEQ:
    for (int i = 0; i < s->n_stmts; i++) emit_stmt(m, fs, s->stmts[i]);
    break;
  case IR_ALLOC: {
    LLVMBasicBlockRef cur = LLVMGetInsertBlock(m->bld);
    LLVMValueRef first = LLVMGetFirstInstruction(fs->entry);
    if (first) LLVMPositionBuilder(m->bld, fs->entry, first);
    else LLVMPositionBuilderAtEnd(m->bld, fs->entry);
    LLVMValueRef a = LLVMBuildAlloca(m->bld, LLVMArrayType(m->f32, (unsigned)s->buf->size), s->buf->name);
    LLVMSetAlignment(a, 64);
    LLVMPositionBuilderAtEnd(m->bld, cur);
    LLVMValueRef saved = fs->locals[s->buf->id];
    fs->locals[s->buf->id] = a;
    emit_stmt(m, fs, s->body);
    fs->locals[s->buf->id] = saved;
    break;
  }
  case IR_IF: {
    LLVMBasicBlockRef then = LLVMAppendBasicBlockInContext(m->ctx, fs->fn, "then");
    LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(m->ctx, fs->fn, "endif");
    LLVMBuildCondBr(m->bld, emit_expr(m, fs, s->value), then, done);
    LLVMPositionBuilderAtEnd(m->bld, then);
    emit_stmt(m, fs, s->body);
    LLVMBuildBr(m->bld, done);
    LLVMPositionBuilderAtEnd(m->bld, done);
    break;
  }
  }
}

/* Largest local buffer id + 1 used anywhere in s. */
static int max_local(const ir_stmt *s) {
  if (!s) return 0;
  int n = 0;
  if (s->kind == IR_ALLOC) n = s->buf->id + 1;
  int b = max_local(s->body);
  if (b > n) n = b;
  for (int i = 0; i < s->n_stmts; i++) {
    b = max_local(s->stmts[i]);
    if (b > n) n = b;
  }
  return n;
}

int cg_add_kernel(cg_module *m, const ir_kernel *k, chm_err *e) {
  LLVMTypeRef *pt = chm_malloc(((size_t)k->n_params + 1) * sizeof *pt);
  for (int i = 0; i < k->n_params; i++) pt[i] = m->ptr;
  LLVMValueRef fn = LLVMAddFunction(m->mod, k->name, LLVMFunctionType(m->vt, pt, (unsigned)k->n_params, 0));
  free(pt);
  if (!m->export_kernels) LLVMSetLinkage(fn, LLVMInternalLinkage);
  add_fn_attrs(m, fn);
  /* A kernel is a loop nest that runs for microseconds or more: inlining it
   * into the model's run function saves nothing and hands the optimizer
   * one huge function (ConvNeXt-T compiled in 16 s inlined, 10 s not). */
  add_enum_attr(m, fn, "noinline");
  unsigned noalias = LLVMGetEnumAttributeKindForName("noalias", 7);
  fn_state fs = {.fn = fn, .k = k};
  fs.params = chm_calloc((size_t)k->n_params + 1, sizeof(LLVMValueRef));
  fs.vars = chm_calloc((size_t)k->n_vars + 1, sizeof(LLVMValueRef));
  fs.locals = chm_calloc((size_t)max_local(k->body) + 1, sizeof(LLVMValueRef));
  fs.vn = chm_calloc(1, sizeof *fs.vn);
  for (int i = 0; i < k->n_params; i++) {
    fs.params[i] = LLVMGetParam(fn, (unsigned)i);
    LLVMSetValueName2(fs.params[i], k->params[i]->name, strlen(k->params[i]->name));
    LLVMAddAttributeAtIndex(fn, (unsigned)i + 1, LLVMCreateEnumAttribute(m->ctx, noalias, 0));
  }
  fs.entry = LLVMAppendBasicBlockInContext(m->ctx, fn, "entry");
  LLVMBasicBlockRef start = LLVMAppendBasicBlockInContext(m->ctx, fn, "start");
  LLVMPositionBuilderAtEnd(m->bld, start);
  emit_stmt(m, &fs, k->body);
  LLVMBuildRetVoid(m->bld);
  LLVMPositionBuilderAtEnd(m->bld, fs.entry);
  LLVMBuildBr(m->bld, start);
  free(fs.params);
  free(fs.vars);
  free(fs.locals);
  vn_free(fs.vn);
  (void)e;
  return 0;
}

/* Constant global g, 64-byte aligned, as the next CG_ARG_CONST id. */
static int push_const(cg_module *m, LLVMValueRef g) {
  LLVMSetGlobalConstant(g, 1);
  LLVMSetAlignment(g, 64);
  chm_vec_push(&m->consts, g);
  return m->consts.len - 1;
}

int cg_add_const(cg_module *m, const float *data, int64_t n) {
  LLVMValueRef init = LLVMConstStringInContext2(m->ctx, (const char *)data, (size_t)n * sizeof(float), 1);
  char name[64];
  snprintf(name, sizeof name, "weights.%d", m->consts.len);
  LLVMValueRef g = LLVMAddGlobal(m->mod, LLVMTypeOf(init), name);
  LLVMSetInitializer(g, init);
  LLVMSetLinkage(g, LLVMInternalLinkage);
  LLVMSetUnnamedAddress(g, LLVMGlobalUnnamedAddr);
  return push_const(m, g);
}

int cg_add_extern_const(cg_module *m, const char *symbol, int64_t n) {
  LLVMValueRef g = LLVMAddGlobal(m->mod, LLVMArrayType2(m->f32, (uint64_t)n), symbol);
  LLVMSetLinkage(g, LLVMExternalLinkage);
  LLVMSetVisibility(g, LLVMHiddenVisibility);
  return push_const(m, g);
}

/* ---- the library API: NAME_run and the metadata functions ---- */

static LLVMValueRef add_api_fn(cg_module *m, const char *prefix, const char *suffix,
                               LLVMTypeRef ret, LLVMTypeRef *args, int nargs) {
  char name[512];
  snprintf(name, sizeof name, "%s_%s", prefix, suffix);
  LLVMValueRef fn = LLVMAddFunction(m->mod, name, LLVMFunctionType(ret, args, (unsigned)nargs, 0));
  LLVMPositionBuilderAtEnd(m->bld, LLVMAppendBasicBlockInContext(m->ctx, fn, "entry"));
  return fn;
}

static LLVMValueRef const_global(cg_module *m, LLVMValueRef init, const char *name) {
  LLVMValueRef g = LLVMAddGlobal(m->mod, LLVMTypeOf(init), name);
  LLVMSetInitializer(g, init);
  LLVMSetGlobalConstant(g, 1);
  LLVMSetLinkage(g, LLVMPrivateLinkage);
  return g;
}

/* T NAME_SUFFIX(int i) { return 0 <= i < n ? table[i] : dflt; } */
static void emit_table_fn(cg_module *m, const char *prefix, const char *suffix, LLVMTypeRef elt,
                          LLVMValueRef *vals, int n, LLVMValueRef dflt) {
  LLVMValueRef fn = add_api_fn(m, prefix, suffix, elt, &m->i32, 1);
  LLVMValueRef i = LLVMGetParam(fn, 0);
  LLVMValueRef ok = LLVMBuildICmp(m->bld, LLVMIntULT, i, LLVMConstInt(m->i32, (unsigned)n, 0), "");
  LLVMBasicBlockRef yes = LLVMAppendBasicBlockInContext(m->ctx, fn, "in");
  LLVMBasicBlockRef no = LLVMAppendBasicBlockInContext(m->ctx, fn, "out");
  LLVMBuildCondBr(m->bld, ok, yes, no);
  LLVMPositionBuilderAtEnd(m->bld, no);
  LLVMBuildRet(m->bld, dflt);
  LLVMPositionBuilderAtEnd(m->bld, yes);
  if (n == 0) {
    LLVMBuildRet(m->bld, dflt);
    return;
  }
  LLVMTypeRef at = LLVMArrayType(elt, (unsigned)n);
  LLVMValueRef g = const_global(m, LLVMConstArray(elt, vals, (unsigned)n), "table");
  LLVMValueRef idx[2] = {ci64(m, 0), LLVMBuildZExt(m->bld, i, m->i64, "")};
  LLVMBuildRet(m->bld, LLVMBuildLoad2(m->bld, elt, LLVMBuildGEP2(m->bld, at, g, idx, 2, ""), ""));
}

static void emit_io_meta(cg_module *m, const char *prefix, const char *what, const cg_io *io, int n) {
  char suffix[64];
  snprintf(suffix, sizeof suffix, "num_%ss", what);
  add_api_fn(m, prefix, suffix, m->i32, NULL, 0);
  LLVMBuildRet(m->bld, LLVMConstInt(m->i32, (unsigned)n, 0));
  LLVMValueRef *names = chm_calloc((size_t)n + 1, sizeof *names);
  LLVMValueRef *ranks = chm_calloc((size_t)n + 1, sizeof *ranks);
  LLVMValueRef *shapes = chm_calloc((size_t)n + 1, sizeof *shapes);
  for (int i = 0; i < n; i++) {
    names[i] = const_global(m, LLVMConstStringInContext2(m->ctx, io[i].name, strlen(io[i].name), 0), "name");
    ranks[i] = LLVMConstInt(m->i32, (unsigned)io[i].rank, 0);
    LLVMValueRef dims[9];
    for (int d = 0; d < io[i].rank; d++) dims[d] = ci64(m, io[i].shape[d]);
    dims[io[i].rank] = ci64(m, 0); /* never empty */
    shapes[i] = const_global(m, LLVMConstArray(m->i64, dims, (unsigned)io[i].rank + 1), "shape");
  }
  snprintf(suffix, sizeof suffix, "%s_name", what);
  emit_table_fn(m, prefix, suffix, m->ptr, names, n, LLVMConstNull(m->ptr));
  snprintf(suffix, sizeof suffix, "%s_rank", what);
  emit_table_fn(m, prefix, suffix, m->i32, ranks, n, LLVMConstInt(m->i32, (unsigned long long)-1, 1));
  snprintf(suffix, sizeof suffix, "%s_shape", what);
  emit_table_fn(m, prefix, suffix, m->ptr, shapes, n, LLVMConstNull(m->ptr));
  free(names);
  free(ranks);
  free(shapes);
}

static LLVMValueRef call_arg(cg_module *m, const cg_arg *a, LLVMValueRef ins, LLVMValueRef outs,
                             LLVMValueRef ws) {
  LLVMValueRef idx;
  switch (a->kind) {
  case CG_ARG_INPUT:
  case CG_ARG_OUTPUT:
    idx = ci64(m, a->i);
    return LLVMBuildLoad2(m->bld, m->ptr,
                          LLVMBuildGEP2(m->bld, m->ptr, a->kind == CG_ARG_INPUT ? ins : outs, &idx, 1, ""), "");
  case CG_ARG_WS:
    idx = ci64(m, a->i);
    return LLVMBuildGEP2(m->bld, LLVMInt8TypeInContext(m->ctx), ws, &idx, 1, "");
  case CG_ARG_CONST:
    CHM_ASSERT(a->i >= 0 && a->i < m->consts.len);
    return m->consts.data[a->i];
  }
  return NULL;
}

int cg_add_entry(cg_module *m, const cg_entry *en, chm_err *e) {
  emit_io_meta(m, en->prefix, "input", en->inputs, en->n_inputs);
  emit_io_meta(m, en->prefix, "output", en->outputs, en->n_outputs);

  LLVMTypeRef pool_t = LLVMArrayType(LLVMInt8TypeInContext(m->ctx), CHM_RT_WSPOOL_BYTES);
  LLVMValueRef pool = LLVMAddGlobal(m->mod, pool_t, "wspool");
  LLVMSetInitializer(pool, LLVMConstNull(pool_t));
  LLVMSetLinkage(pool, LLVMInternalLinkage);
  LLVMSetAlignment(pool, 64);

  LLVMTypeRef acq_args[2] = {m->ptr, m->i64};
  LLVMTypeRef acq_t = LLVMFunctionType(m->ptr, acq_args, 2, 0);
  LLVMValueRef acq = LLVMAddFunction(m->mod, "chm_rt_ws_acquire", acq_t);
  LLVMTypeRef rel_args[2] = {m->ptr, m->ptr};
  LLVMTypeRef rel_t = LLVMFunctionType(m->vt, rel_args, 2, 0);
  LLVMValueRef rel = LLVMAddFunction(m->mod, "chm_rt_ws_release", rel_t);

  LLVMTypeRef run_args[2] = {m->ptr, m->ptr};
  LLVMValueRef run = add_api_fn(m, en->prefix, "run", m->i32, run_args, 2);
  add_fn_attrs(m, run);
  LLVMValueRef ins = LLVMGetParam(run, 0), outs = LLVMGetParam(run, 1);
  LLVMValueRef ws = LLVMConstNull(m->ptr);
  if (en->ws_bytes > 0) {
    LLVMValueRef a[2] = {pool, ci64(m, en->ws_bytes)};
    ws = LLVMBuildCall2(m->bld, acq_t, acq, a, 2, "ws");
    LLVMBasicBlockRef ok = LLVMAppendBasicBlockInContext(m->ctx, run, "ok");
    LLVMBasicBlockRef fail = LLVMAppendBasicBlockInContext(m->ctx, run, "nomem");
    LLVMBuildCondBr(m->bld, LLVMBuildIsNull(m->bld, ws, ""), fail, ok);
    LLVMPositionBuilderAtEnd(m->bld, fail);
    LLVMBuildRet(m->bld, LLVMConstInt(m->i32, 1, 0));
    LLVMPositionBuilderAtEnd(m->bld, ok);
  }
  for (int c = 0; c < en->n_calls; c++) {
    const cg_call *call = &en->calls[c];
    LLVMValueRef fn = LLVMGetNamedFunction(m->mod, call->kernel);
    if (!fn) return chm_errorf(e, "internal: kernel '%s' was not added", call->kernel);
    LLVMValueRef *args = chm_malloc(((size_t)call->n_args + 1) * sizeof *args);
    for (int i = 0; i < call->n_args; i++) args[i] = call_arg(m, &call->args[i], ins, outs, ws);
    LLVMBuildCall2(m->bld, LLVMGlobalGetValueType(fn), fn, args, (unsigned)call->n_args, "");
    free(args);
  }
  if (en->ws_bytes > 0) {
    LLVMValueRef a[2] = {pool, ws};
    LLVMBuildCall2(m->bld, rel_t, rel, a, 2, "");
  }
  LLVMBuildRet(m->bld, LLVMConstInt(m->i32, 0, 0));
  return 0;
}

/* ---- finishing ---- */

int cg_finish(cg_module *m, chm_err *e) {
  char *msg = NULL;
  if (LLVMVerifyModule(m->mod, LLVMReturnStatusAction, &msg)) return llvm_error(e, "verifier (internal error)", msg);
  LLVMDisposeMessage(msg);
  LLVMPassBuilderOptionsRef opt = LLVMCreatePassBuilderOptions();
  LLVMPassBuilderOptionsSetLoopVectorization(opt, 1);
  LLVMPassBuilderOptionsSetSLPVectorization(opt, 1);
  LLVMPassBuilderOptionsSetLoopUnrolling(opt, 1);
  LLVMErrorRef err = LLVMRunPasses(m->mod, "default<O3>", m->tm, opt);
  LLVMDisposePassBuilderOptions(opt);
  if (err) return llvm_error(e, "optimizer", LLVMGetErrorMessage(err));
  return 0;
}

int cg_write_ir(cg_module *m, const char *path, chm_err *e) {
  char *msg = NULL;
  if (LLVMPrintModuleToFile(m->mod, path, &msg)) return llvm_error(e, "cannot write IR", msg);
  return 0;
}

int cg_emit_object(cg_module *m, unsigned char **data, size_t *size, chm_err *e) {
  LLVMMemoryBufferRef buf;
  char *msg = NULL;
  if (LLVMTargetMachineEmitToMemoryBuffer(m->tm, m->mod, LLVMObjectFile, &msg, &buf))
    return llvm_error(e, "code generation", msg);
  *size = LLVMGetBufferSize(buf);
  *data = chm_malloc(*size);
  memcpy(*data, LLVMGetBufferStart(buf), *size);
  LLVMDisposeMemoryBuffer(buf);
  return 0;
}

char *cg_emit_assembly(cg_module *m, chm_err *e) {
  LLVMMemoryBufferRef buf;
  char *msg = NULL;
  if (LLVMTargetMachineEmitToMemoryBuffer(m->tm, m->mod, LLVMAssemblyFile, &msg, &buf)) {
    llvm_error(e, "code generation", msg);
    return NULL;
  }
  size_t n = LLVMGetBufferSize(buf);
  char *text = chm_malloc(n + 1);
  memcpy(text, LLVMGetBufferStart(buf), n);
  text[n] = 0;
  LLVMDisposeMemoryBuffer(buf);
  return text;
}

/* ---- JIT ---- */

struct cg_jit {
  LLVMOrcLLJITRef jit; /* owns the compiled module */
};

static int orc_error(chm_err *e, const char *what, LLVMErrorRef err) {
  char *msg = LLVMGetErrorMessage(err);
  chm_errorf(e, "LLVM JIT %s: %s", what, msg);
  LLVMDisposeErrorMessage(msg);
  return -1;
}

/* A JIT whose code generator is set up as the one that writes objects
 * (the module's CPU and features, aggressive optimization) rather than
 * LLJIT's default level, so that the kernels timed are the kernels that
 * ship. */
static LLVMOrcLLJITBuilderRef jit_builder(const cg_module *m) {
  LLVMTargetMachineRef tm =
      LLVMCreateTargetMachine(LLVMGetTargetMachineTarget(m->tm), m->target.triple, m->target.llvm_cpu,
                              m->target.features, LLVMCodeGenLevelAggressive, LLVMRelocDefault, LLVMCodeModelJITDefault);
  LLVMOrcLLJITBuilderRef b = LLVMOrcCreateLLJITBuilder();
  LLVMOrcLLJITBuilderSetJITTargetMachineBuilder(b, LLVMOrcJITTargetMachineBuilderCreateFromTargetMachine(tm));
  return b;
}

cg_jit *cg_jit_new(cg_module *m, chm_err *e) {
  LLVMOrcLLJITRef jit;
  LLVMErrorRef err = LLVMOrcCreateLLJIT(&jit, jit_builder(m));
  if (err) {
    orc_error(e, "create", err);
    return NULL;
  }
  LLVMOrcDefinitionGeneratorRef gen;
  err = LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess(&gen, LLVMOrcLLJITGetGlobalPrefix(jit), NULL, NULL);
  if (!err) {
    LLVMOrcJITDylibAddGenerator(LLVMOrcLLJITGetMainJITDylib(jit), gen);
    /* the runtime is linked into chamcc: give its address directly, so the
     * JIT does not depend on chamcc exporting dynamic symbols */
    struct { const char *name; void *addr; } rt[] = {
        {"chm_rt_parallel_for", (void *)chm_rt_parallel_for},
        {"chm_rt_ws_acquire", (void *)chm_rt_ws_acquire},
        {"chm_rt_ws_release", (void *)chm_rt_ws_release},
    };
    LLVMOrcCSymbolMapPair pairs[3];
    for (int i = 0; i < 3; i++) {
      pairs[i].Name = LLVMOrcLLJITMangleAndIntern(jit, rt[i].name);
      pairs[i].Sym.Address = (LLVMOrcExecutorAddress)(uintptr_t)rt[i].addr;
      pairs[i].Sym.Flags.GenericFlags = LLVMJITSymbolGenericFlagsExported | LLVMJITSymbolGenericFlagsCallable;
      pairs[i].Sym.Flags.TargetFlags = 0;
    }
    err = LLVMOrcJITDylibDefine(LLVMOrcLLJITGetMainJITDylib(jit), LLVMOrcAbsoluteSymbols(pairs, 3));
  }
  if (!err) {
    LLVMOrcThreadSafeModuleRef tsm = LLVMOrcCreateNewThreadSafeModule(m->mod, m->tsc);
    m->mod = NULL; /* the JIT owns it now */
    err = LLVMOrcLLJITAddLLVMIRModule(jit, LLVMOrcLLJITGetMainJITDylib(jit), tsm);
    if (err) LLVMOrcDisposeThreadSafeModule(tsm);
  }
  if (err) {
    orc_error(e, "add module", err);
    LLVMOrcDisposeLLJIT(jit);
    return NULL;
  }
  cg_jit *j = chm_calloc(1, sizeof *j);
  j->jit = jit;
  return j;
}

void *cg_jit_lookup(cg_jit *j, const char *name, chm_err *e) {
  LLVMOrcExecutorAddress addr = 0;
  LLVMErrorRef err = LLVMOrcLLJITLookup(j->jit, &addr, name);
  if (err) {
    orc_error(e, "lookup", err);
    return NULL;
  }
  return (void *)(uintptr_t)addr;
}

void cg_jit_free(cg_jit *j) {
  if (!j) return;
  LLVMErrorRef err = LLVMOrcDisposeLLJIT(j->jit);
  if (err) LLVMConsumeError(err);
  free(j);
}
