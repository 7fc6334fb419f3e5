/*
 * llvm_math.c — vectorized float32 exp, log, tanh and erf as LLVM IR.
 *
 * Each function reduces its argument to a small range, evaluates a
 * polynomial there (coefficients fitted by scripts/fit_math.py, which also
 * prints each fit's error) and reconstructs the result with exponent bit
 * manipulation. Everything is lane-wise arithmetic, compares and selects,
 * so the same code serves scalars, AVX2, AVX-512 and NEON vectors. Special
 * values follow C's libm: NaN in, NaN out; exp(-inf) = 0, exp(+inf) = +inf;
 * log(0) = -inf, log(x < 0) = NaN; tanh and erf saturate to +-1. The test
 * tests/codegen/test_math.c sweeps them against libm in double precision.
 */
#include "llvm_math.h"

#include <math.h>
#include <string.h>

#include "chamcc/util.h"

/* The builder and the float / int32 types of one call (scalar or vector). */
typedef struct em {
  LLVMBuilderRef b;
  LLVMModuleRef mod;
  LLVMTypeRef ft, it; /* float or <L x float>; i32 or <L x i32> */
  unsigned lanes;     /* 0 for a scalar */
} em;

static em em_of(LLVMBuilderRef b, LLVMModuleRef mod, LLVMValueRef x) {
  em e = {b, mod, LLVMTypeOf(x), NULL, 0};
  LLVMContextRef ctx = LLVMGetTypeContext(e.ft);
  LLVMTypeRef i32 = LLVMInt32TypeInContext(ctx);
  if (LLVMGetTypeKind(e.ft) == LLVMVectorTypeKind) {
    e.lanes = LLVMGetVectorSize(e.ft);
    e.it = LLVMVectorType(i32, e.lanes);
  } else {
    e.it = i32;
  }
  return e;
}

static LLVMValueRef splat_const(const em *e, LLVMValueRef c) {
  if (!e->lanes) return c;
  LLVMValueRef v[64];
  CHM_ASSERT(e->lanes <= 64);
  for (unsigned i = 0; i < e->lanes; i++) v[i] = c;
  return LLVMConstVector(v, e->lanes);
}

static LLVMValueRef F(const em *e, double v) {
  LLVMTypeRef f = e->lanes ? LLVMGetElementType(e->ft) : e->ft;
  return splat_const(e, LLVMConstReal(f, v));
}

static LLVMValueRef I(const em *e, int v) {
  LLVMTypeRef i = e->lanes ? LLVMGetElementType(e->it) : e->it;
  return splat_const(e, LLVMConstInt(i, (unsigned long long)(long long)v, 1));
}

static LLVMValueRef call(const em *e, const char *name, LLVMValueRef *args, unsigned n) {
  unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
  CHM_ASSERT(id != 0);
  LLVMTypeRef ty = e->ft;
  LLVMValueRef fn = LLVMGetIntrinsicDeclaration(e->mod, id, &ty, 1);
  LLVMTypeRef fnty = LLVMIntrinsicGetType(LLVMGetTypeContext(e->ft), id, &ty, 1);
  return LLVMBuildCall2(e->b, fnty, fn, args, n, "");
}

static LLVMValueRef add(const em *e, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildFAdd(e->b, a, b, ""); }
static LLVMValueRef sub(const em *e, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildFSub(e->b, a, b, ""); }
static LLVMValueRef mul(const em *e, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildFMul(e->b, a, b, ""); }
static LLVMValueRef divf(const em *e, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildFDiv(e->b, a, b, ""); }

static LLVMValueRef fma3(const em *e, LLVMValueRef a, LLVMValueRef b, LLVMValueRef c) {
  LLVMValueRef args[3] = {a, b, c};
  return call(e, "llvm.fmuladd", args, 3);
}

static LLVMValueRef cmp(const em *e, LLVMRealPredicate p, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildFCmp(e->b, p, a, b, "");
}

static LLVMValueRef sel(const em *e, LLVMValueRef c, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildSelect(e->b, c, a, b, "");
}

static LLVMValueRef fabs1(const em *e, LLVMValueRef x) { return call(e, "llvm.fabs", &x, 1); }

/* sum c[k] * x^k by Horner's rule (c in double, rounded to float). */
static LLVMValueRef poly(const em *e, LLVMValueRef x, const double *c, int n) {
  LLVMValueRef acc = F(e, c[n - 1]);
  for (int k = n - 2; k >= 0; k--) acc = fma3(e, acc, x, F(e, c[k]));
  return acc;
}

/* 2^n for an integer vector n in [-126, 127]: the exponent field alone. */
static LLVMValueRef pow2i(const em *e, LLVMValueRef n) {
  LLVMValueRef bits = LLVMBuildShl(e->b, LLVMBuildAdd(e->b, n, I(e, 127), ""), I(e, 23), "");
  return LLVMBuildBitCast(e->b, bits, e->ft, "");
}

/* ---- the fitted coefficients (scripts/fit_math.py) ---- */

/* exp(r) = 1 + r + r^2 q(r) on |r| <= ln2/2 */
static const double exp_q[] = {0.50000000675933332, 0.16666665869702157, 0.041666295272405361,
                               0.008333497020910333, 0.0013944635393409823, 0.00019790304043996922};
/* log(m) = 2s + s^3 q(s^2), s = (m - 1) / (m + 1), |s| <= 3 - 2 sqrt(2) */
static const double log_q[] = {0.66666666675762198, 0.39999995635252555, 0.28572107720723072,
                               0.22176249225427572, 0.19583275169302894};
/* tanh(x) = x + x^3 q(x^2) on |x| <= 0.625 */
static const double tanh_q[] = {-0.33333330803886341, 0.13333206054940366, -0.05394676906175315,
                                0.021700736588011745, -0.0081774817625146299, 0.0021430391104224331};
/* erf(x) = x q(x^2) on |x| <= 1 */
static const double erf_small_q[] = {1.1283791670580381,     -0.37612638434837581,
                                     0.11283781977296546,    -0.026865400244383476,
                                     0.0052209460394969185,  -0.00084828381489771921,
                                     0.00011257018426828766, -9.6417254916220235e-06};
/* erfc(x) = exp(-x^2) g(1/x - 0.625) on 1 <= x <= 4 */
static const double erfc_g[] = {0.30595298923404413,   0.38228383643093122,   -0.17239360452859931,
                                0.043760806865946682,  0.023261990583151423,  -0.046786148046111461,
                                0.044619822746139973,  -0.028407150519835223, -0.0069462640188300961,
                                0.030709100689146628};

#define N_OF(a) ((int)(sizeof(a) / sizeof *(a)))

/* ---- exp ---- */

/* exp(x) for x without NaNs: n = round(x / ln2), r = x - n ln2 (ln2 in two
 * parts, the first exact in n * C1), exp(r) by the polynomial, times 2^n as
 * two factors 2^(n/2) so that results down to the denormals and up to the
 * overflow to +inf come out right. */
static LLVMValueRef exp_finite(const em *e, LLVMValueRef x) {
  x = sel(e, cmp(e, LLVMRealOGT, x, F(e, 89.0)), F(e, 89.0), x);
  x = sel(e, cmp(e, LLVMRealOLT, x, F(e, -104.0)), F(e, -104.0), x);
  LLVMValueRef nf = call(e, "llvm.rint", (LLVMValueRef[]){mul(e, x, F(e, 1.4426950408889634))}, 1);
  LLVMValueRef r = fma3(e, nf, F(e, -0.693359375), x);
  r = fma3(e, nf, F(e, 2.12194440054690583e-4), r);
  LLVMValueRef p = fma3(e, mul(e, r, r), poly(e, r, exp_q, N_OF(exp_q)), add(e, r, F(e, 1.0)));
  LLVMValueRef n = LLVMBuildFPToSI(e->b, nf, e->it, "");
  LLVMValueRef n1 = LLVMBuildAShr(e->b, n, I(e, 1), ""), n2 = LLVMBuildSub(e->b, n, n1, "");
  return mul(e, mul(e, p, pow2i(e, n1)), pow2i(e, n2));
}

LLVMValueRef cg_math_exp(LLVMBuilderRef b, LLVMModuleRef mod, LLVMValueRef x) {
  em e = em_of(b, mod, x);
  LLVMValueRef nan = cmp(&e, LLVMRealUNO, x, x);
  LLVMValueRef y = exp_finite(&e, sel(&e, nan, F(&e, 0), x));
  return sel(&e, nan, x, y);
}

/* ---- log ---- */

/* log(x) = e ln2 + log(m), x = m 2^e with m in [sqrt(1/2), sqrt(2)); denormal
 * inputs are scaled by 2^23 first. */
LLVMValueRef cg_math_log(LLVMBuilderRef b, LLVMModuleRef mod, LLVMValueRef x) {
  em e = em_of(b, mod, x);
  LLVMValueRef tiny = cmp(&e, LLVMRealOLT, x, F(&e, 0x1p-126));
  LLVMValueRef xs = sel(&e, tiny, mul(&e, x, F(&e, 0x1p23)), x);
  LLVMValueRef bits = LLVMBuildBitCast(b, xs, e.it, "");
  LLVMValueRef ex = LLVMBuildSub(b, LLVMBuildLShr(b, bits, I(&e, 23), ""), I(&e, 127), "");
  LLVMValueRef mbits = LLVMBuildOr(b, LLVMBuildAnd(b, bits, I(&e, 0x7fffff), ""), I(&e, 0x3f800000), "");
  LLVMValueRef m = LLVMBuildBitCast(b, mbits, e.ft, ""); /* [1, 2) */
  LLVMValueRef big = cmp(&e, LLVMRealOGT, m, F(&e, 1.41421356237309505));
  m = sel(&e, big, mul(&e, m, F(&e, 0.5)), m);
  ex = LLVMBuildAdd(b, ex, sel(&e, big, I(&e, 1), I(&e, 0)), "");
  ex = LLVMBuildSub(b, ex, sel(&e, tiny, I(&e, 23), I(&e, 0)), "");
  LLVMValueRef s = divf(&e, sub(&e, m, F(&e, 1.0)), add(&e, m, F(&e, 1.0)));
  LLVMValueRef s2 = mul(&e, s, s);
  LLVMValueRef lm = fma3(&e, mul(&e, s, s2), poly(&e, s2, log_q, N_OF(log_q)), add(&e, s, s));
  LLVMValueRef ef = LLVMBuildSIToFP(b, ex, e.ft, "");
  LLVMValueRef y = fma3(&e, ef, F(&e, -2.12194440054690583e-4), lm);
  y = fma3(&e, ef, F(&e, 0.693359375), y);
  /* specials: log(+inf) = +inf, log(0) = -inf, log(<0) = log(NaN) = NaN */
  y = sel(&e, cmp(&e, LLVMRealOEQ, x, F(&e, INFINITY)), x, y);
  y = sel(&e, cmp(&e, LLVMRealOEQ, x, F(&e, 0)), F(&e, -INFINITY), y);
  return sel(&e, cmp(&e, LLVMRealULT, x, F(&e, 0)), F(&e, NAN), y);
}

/* ---- tanh ---- */

/* Small |x|: the odd polynomial; else 1 - 2 / (exp(2|x|) + 1) with x's sign. */
LLVMValueRef cg_math_tanh(LLVMBuilderRef b, LLVMModuleRef mod, LLVMValueRef x) {
  em e = em_of(b, mod, x);
  LLVMValueRef nan = cmp(&e, LLVMRealUNO, x, x), ax = fabs1(&e, sel(&e, nan, F(&e, 0), x));
  LLVMValueRef x2 = mul(&e, ax, ax);
  LLVMValueRef small = fma3(&e, mul(&e, ax, x2), poly(&e, x2, tanh_q, N_OF(tanh_q)), ax);
  LLVMValueRef ex = exp_finite(&e, add(&e, ax, ax));
  LLVMValueRef large = sub(&e, F(&e, 1.0), divf(&e, F(&e, 2.0), add(&e, ex, F(&e, 1.0))));
  LLVMValueRef y = sel(&e, cmp(&e, LLVMRealOLT, ax, F(&e, 0.625)), small, large);
  y = call(&e, "llvm.copysign", (LLVMValueRef[]){y, x}, 2);
  return sel(&e, nan, x, y);
}

/* ---- erf ---- */

/* |x| <= 1: x q(x^2), as x + x (q(x^2) - 1). Else 1 - exp(-x^2) g(1/|x| - 0.625) with x's sign,
 * |x| clamped to 4 (erf(4) is 1 in float); exp(-x^2) takes the rounding
 * error of x^2 into account: exp(-(h + l)) ~ exp(-h) (1 - l). */
LLVMValueRef cg_math_erf(LLVMBuilderRef b, LLVMModuleRef mod, LLVMValueRef x) {
  em e = em_of(b, mod, x);
  LLVMValueRef nan = cmp(&e, LLVMRealUNO, x, x), ax = fabs1(&e, sel(&e, nan, F(&e, 0), x));
  LLVMValueRef x2 = mul(&e, ax, ax);
  /* x + x (q(x^2) - 1): the leading term exact, so rounding stays below 1 ulp */
  double q1[N_OF(erf_small_q)];
  memcpy(q1, erf_small_q, sizeof q1);
  q1[0] -= 1;
  LLVMValueRef small = fma3(&e, ax, poly(&e, x2, q1, N_OF(q1)), ax);
  LLVMValueRef c = sel(&e, cmp(&e, LLVMRealOGT, ax, F(&e, 4.0)), F(&e, 4.0), ax);
  c = sel(&e, cmp(&e, LLVMRealOLT, c, F(&e, 1.0)), F(&e, 1.0), c);
  LLVMValueRef h = mul(&e, c, c);
  LLVMValueRef l = call(&e, "llvm.fma", (LLVMValueRef[]){c, c, LLVMBuildFNeg(b, h, "")}, 3);
  LLVMValueRef eh = exp_finite(&e, LLVMBuildFNeg(b, h, ""));
  eh = sub(&e, eh, mul(&e, eh, l));
  LLVMValueRef t = sub(&e, divf(&e, F(&e, 1.0), c), F(&e, 0.625));
  LLVMValueRef large = sub(&e, F(&e, 1.0), mul(&e, eh, poly(&e, t, erfc_g, N_OF(erfc_g))));
  LLVMValueRef y = sel(&e, cmp(&e, LLVMRealOLE, ax, F(&e, 1.0)), small, large);
  y = call(&e, "llvm.copysign", (LLVMValueRef[]){y, x}, 2);
  return sel(&e, nan, x, y);
}
