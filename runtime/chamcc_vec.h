/*
 * chamcc_vec.h — vectors and float math for the C source that
 * `chamcc --emit-c` writes (codegen/emit_c.c). It is copied into every
 * emitted tree as it is; the tree's NAME_kernels.h defines CHM_LANES (the
 * float lanes of the target's vectors) before including it.
 *
 * A vector `vf` is CHM_LANES floats; `vm` is a lane mask (all bits set in
 * a true lane). Kernels use only the functions below on vectors, and plain
 * C operators on scalars, so the same kernel text builds two ways:
 *
 *   - GCC or Clang: vf is a vector extension type (vector_size), the
 *     helpers are one operator each, and the compiler emits SSE / AVX /
 *     AVX-512, NEON or RVV for them;
 *   - CHAMCC_SCALAR defined (or another compiler): vf is a struct of
 *     CHM_LANES floats and every helper a loop over the lanes, in ISO C99
 *     (`-std=c99 -pedantic`).
 *
 * exp, log, tanh and erf are the algorithms of codegen/llvm_math.c (the LLVM
 * back end), with its coefficients (fitted by scripts/fit_math.py): argument
 * reduction, a polynomial, exponent bits. The scalar forms (chm_expf ...)
 * serve scalar code and the CHAMCC_SCALAR vectors; the vector forms are the
 * same steps on whole vectors. Rounding to an integer uses the 1.5 * 2^23
 * trick, exact for the arguments it meets here (|x| < 2^22). Compile
 * without -ffast-math: the special-value checks compare NaNs.
 */
#ifndef CHAMCC_VEC_H
#define CHAMCC_VEC_H

/* GCC's predictive commoning (GCC 12 runs it at -O2 and -O3) carries the
 * inputs one iteration of a convolution's window loop reads into the next
 * one; beside a register tile that already holds most vector registers,
 * those values are spilled and reloaded every iteration (resnet18's 3x3
 * convolutions ran 1.45x longer). Off for every function of a kernel's file:
 * the pragma comes before anything is defined, so all of them agree. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-predictive-commoning")
#endif

#include <math.h>
#include <stdint.h>
#include <string.h>

#ifndef CHM_LANES
#error "define CHM_LANES (float lanes per vector) before including chamcc_vec.h"
#endif

#if !defined(CHAMCC_SCALAR) && !defined(__GNUC__)
#define CHAMCC_SCALAR 1 /* no vector extensions: the portable form */
#endif

/* ---- scalar helpers ---- */

static inline float chm_from_bits(int32_t i) {
  float f;
  memcpy(&f, &i, sizeof f);
  return f;
}

static inline int32_t chm_to_bits(float f) {
  int32_t i;
  memcpy(&i, &f, sizeof i);
  return i;
}

/* Index arithmetic: floor division and modulo (the loop IR's / and %), min, max. */
static inline int64_t chm_floordiv(int64_t a, int64_t b) { return a / b - (a % b != 0 && (a % b < 0) != (b < 0)); }
static inline int64_t chm_floormod(int64_t a, int64_t b) { return a - chm_floordiv(a, b) * b; }
static inline int64_t chm_min64(int64_t a, int64_t b) { return a < b ? a : b; }
static inline int64_t chm_max64(int64_t a, int64_t b) { return a > b ? a : b; }

/* The loop IR's select: both values are computed, whichever is taken (a
 * `?:` in the kernel would make one side conditional, and GCC 12 at -O3
 * with AVX-512 vectorizes such conditional loads with wrong masks). */
static inline float chm_self(int c, float a, float b) { return c ? a : b; }
static inline int64_t chm_sel64(int c, int64_t a, int64_t b) { return c ? a : b; }

static inline float chm_minf(float a, float b) { return a < b ? a : b; }
static inline float chm_maxf(float a, float b) { return a > b ? a : b; }
static inline float chm_fmaf(float a, float b, float c) { return a * b + c; }

/* Nearest integer (ties to even) of |x| < 2^22. */
static inline float chm_rintf(float x) { return (x + 12582912.0f) - 12582912.0f; }

/* 2^n for n in [-126, 127]: the exponent field alone. */
static inline float chm_pow2i(int32_t n) { return chm_from_bits((int32_t)((uint32_t)(n + 127) << 23)); }

static inline float chm_copysignf(float y, float x) {
  return chm_from_bits((chm_to_bits(y) & 0x7fffffff) | (chm_to_bits(x) & (int32_t)0x80000000));
}

/* ---- the fitted coefficients (scripts/fit_math.py; as codegen/llvm_math.c) ---- */

/* exp(r) = 1 + r + r^2 q(r) on |r| <= ln2/2 */
static const float chm_exp_q[6] = {(float)0.50000000675933332, (float)0.16666665869702157,
                                   (float)0.041666295272405361, (float)0.008333497020910333,
                                   (float)0.0013944635393409823, (float)0.00019790304043996922};
/* log(m) = 2s + s^3 q(s^2), s = (m - 1) / (m + 1) */
static const float chm_log_q[5] = {(float)0.66666666675762198, (float)0.39999995635252555,
                                   (float)0.28572107720723072, (float)0.22176249225427572,
                                   (float)0.19583275169302894};
/* tanh(x) = x + x^3 q(x^2) on |x| <= 0.625 */
static const float chm_tanh_q[6] = {(float)-0.33333330803886341, (float)0.13333206054940366,
                                    (float)-0.05394676906175315, (float)0.021700736588011745,
                                    (float)-0.0081774817625146299, (float)0.0021430391104224331};
/* erf(x) = x + x (q(x^2) - 1) on |x| <= 1 (the constant term already minus 1) */
static const float chm_erf_q1[8] = {(float)(1.1283791670580381 - 1), (float)-0.37612638434837581,
                                    (float)0.11283781977296546,      (float)-0.026865400244383476,
                                    (float)0.0052209460394969185,    (float)-0.00084828381489771921,
                                    (float)0.00011257018426828766,   (float)-9.6417254916220235e-06};
/* erfc(x) = exp(-x^2) g(1/x - 0.625) on 1 <= x <= 4 */
static const float chm_erfc_g[10] = {
    (float)0.30595298923404413,  (float)0.38228383643093122,   (float)-0.17239360452859931,
    (float)0.043760806865946682, (float)0.023261990583151423,  (float)-0.046786148046111461,
    (float)0.044619822746139973, (float)-0.028407150519835223, (float)-0.0069462640188300961,
    (float)0.030709100689146628};

/* sum c[k] x^k by Horner's rule */
static inline float chm_polyf(float x, const float *c, int n) {
  float acc = c[n - 1];
  int k;
  for (k = n - 2; k >= 0; k--) acc = acc * x + c[k];
  return acc;
}

/* ---- scalar exp, log, tanh, erf ---- */

/* exp(x), x not NaN: n = round(x / ln2), r = x - n ln2 (ln2 in two parts),
 * times 2^n as two factors so that denormal and overflowing results come
 * out right. */
static inline float chm_exp_finite(float x) {
  float nf, r, p;
  int32_t n;
  x = x > 89.0f ? 89.0f : x;
  x = x < -104.0f ? -104.0f : x;
  nf = chm_rintf(x * 1.4426950408889634f);
  r = nf * -0.693359375f + x;
  r = nf * 2.12194440054690583e-4f + r;
  p = (r * r) * chm_polyf(r, chm_exp_q, 6) + (r + 1.0f);
  n = (int32_t)nf;
  return p * chm_pow2i(n / 2) * chm_pow2i(n - n / 2);
}

static inline float chm_expf(float x) { return x != x ? x : chm_exp_finite(x); }

/* log(x) = e ln2 + log(m), x = m 2^e, m in [sqrt(1/2), sqrt(2)) */
static inline float chm_logf(float x) {
  int tiny = x < 0x1p-126f;
  float xs = tiny ? x * 0x1p23f : x, m, s, s2, lm, ef, y;
  int32_t bits = chm_to_bits(xs), ex = ((bits >> 23) & 0xff) - 127;
  m = chm_from_bits((bits & 0x7fffff) | 0x3f800000);
  if (m > 1.41421356237309505f) m *= 0.5f, ex += 1;
  if (tiny) ex -= 23;
  s = (m - 1.0f) / (m + 1.0f);
  s2 = s * s;
  lm = (s * s2) * chm_polyf(s2, chm_log_q, 5) + (s + s);
  ef = (float)ex;
  y = ef * -2.12194440054690583e-4f + lm;
  y = ef * 0.693359375f + y;
  if (x == INFINITY) y = x;
  if (x == 0.0f) y = -INFINITY;
  if (!(x >= 0.0f)) y = NAN; /* x < 0 or NaN */
  return y;
}

/* small |x|: the odd polynomial; else 1 - 2 / (exp(2|x|) + 1), x's sign */
static inline float chm_tanhf(float x) {
  float ax, y;
  if (x != x) return x;
  ax = fabsf(x);
  if (ax < 0.625f) {
    float x2 = ax * ax;
    y = (ax * x2) * chm_polyf(x2, chm_tanh_q, 6) + ax;
  } else {
    y = 1.0f - 2.0f / (chm_exp_finite(ax + ax) + 1.0f);
  }
  return chm_copysignf(y, x);
}

/* |x| <= 1: x + x (q(x^2) - 1); else 1 - exp(-x^2) g(1/|x| - 0.625), |x|
 * clamped to 4, exp(-x^2) corrected for the rounding of x^2 */
static inline float chm_erff(float x) {
  float ax, y;
  if (x != x) return x;
  ax = fabsf(x);
  if (ax <= 1.0f) {
    y = ax * chm_polyf(ax * ax, chm_erf_q1, 8) + ax;
  } else {
    float c = ax > 4.0f ? 4.0f : ax, h = c * c, l = fmaf(c, c, -h), eh = chm_exp_finite(-h);
    eh = eh - eh * l;
    y = 1.0f - eh * chm_polyf(1.0f / c - 0.625f, chm_erfc_g, 10);
  }
  return chm_copysignf(y, x);
}

/* ---- vectors ---- */

#ifdef CHAMCC_SCALAR

typedef struct vf { float v[CHM_LANES]; } vf;
typedef struct vm { int32_t v[CHM_LANES]; } vm;

#define CHM_EACH(r, expr)                     \
  do {                                        \
    int i_;                                   \
    for (i_ = 0; i_ < CHM_LANES; i_++) expr;  \
  } while (0)

static inline vf vf_load(const float *p) { vf r; memcpy(&r, p, sizeof r); return r; }
static inline void vf_store(float *p, vf x) { memcpy(p, &x, sizeof x); }
static inline vf vf_splat(float x) { vf r; CHM_EACH(r, r.v[i_] = x); return r; }
#define VF_AT(x, i) ((x).v[i]) /* lane i, an lvalue */
static inline vf vf_add(vf a, vf b) { vf r; CHM_EACH(r, r.v[i_] = a.v[i_] + b.v[i_]); return r; }
static inline vf vf_sub(vf a, vf b) { vf r; CHM_EACH(r, r.v[i_] = a.v[i_] - b.v[i_]); return r; }
static inline vf vf_mul(vf a, vf b) { vf r; CHM_EACH(r, r.v[i_] = a.v[i_] * b.v[i_]); return r; }
static inline vf vf_div(vf a, vf b) { vf r; CHM_EACH(r, r.v[i_] = a.v[i_] / b.v[i_]); return r; }
static inline vf vf_fma(vf a, vf b, vf c) { vf r; CHM_EACH(r, r.v[i_] = a.v[i_] * b.v[i_] + c.v[i_]); return r; }
static inline vf vf_neg(vf a) { vf r; CHM_EACH(r, r.v[i_] = -a.v[i_]); return r; }
static inline vm vf_lt(vf a, vf b) { vm r; CHM_EACH(r, r.v[i_] = -(a.v[i_] < b.v[i_])); return r; }
static inline vm vf_le(vf a, vf b) { vm r; CHM_EACH(r, r.v[i_] = -(a.v[i_] <= b.v[i_])); return r; }
static inline vm vf_eq(vf a, vf b) { vm r; CHM_EACH(r, r.v[i_] = -(a.v[i_] == b.v[i_])); return r; }
static inline vm vm_and(vm a, vm b) { vm r; CHM_EACH(r, r.v[i_] = a.v[i_] & b.v[i_]); return r; }
static inline vf vf_select(vm m, vf a, vf b) { vf r; CHM_EACH(r, r.v[i_] = m.v[i_] ? a.v[i_] : b.v[i_]); return r; }
static inline vf vf_map(vf a, float (*f)(float)) { vf r; CHM_EACH(r, r.v[i_] = f(a.v[i_])); return r; }
static inline vf vf_exp(vf a) { return vf_map(a, chm_expf); }
static inline vf vf_log(vf a) { return vf_map(a, chm_logf); }
static inline vf vf_tanh(vf a) { return vf_map(a, chm_tanhf); }
static inline vf vf_erf(vf a) { return vf_map(a, chm_erff); }
static inline vf vf_shuffle_(vf a, const int *idx) { vf r; CHM_EACH(r, r.v[i_] = a.v[idx[i_]]); return r; }
#define vf_shuffle(a, ...) vf_shuffle_((a), (const int[CHM_LANES]){__VA_ARGS__})

#else /* GCC / Clang vector extensions */

typedef float vf __attribute__((vector_size(CHM_LANES * 4)));
typedef int32_t vm __attribute__((vector_size(CHM_LANES * 4)));

static inline vf vf_load(const float *p) { vf r; memcpy(&r, p, sizeof r); return r; }
static inline void vf_store(float *p, vf x) { memcpy(p, &x, sizeof x); }
/* x - 0 is x for every x (x + 0 is not: -0 + 0 = +0), so GCC drops the
 * subtraction; for `0 + x` it added a scalar zero before every broadcast. */
static inline vf vf_splat(float x) { return x - (vf){0}; }
#define VF_AT(x, i) ((x)[i]) /* lane i, an lvalue */
static inline vf vf_add(vf a, vf b) { return a + b; }
static inline vf vf_sub(vf a, vf b) { return a - b; }
static inline vf vf_mul(vf a, vf b) { return a * b; }
static inline vf vf_div(vf a, vf b) { return a / b; }
static inline vf vf_fma(vf a, vf b, vf c) { return a * b + c; }
static inline vf vf_neg(vf a) { return -a; }
static inline vm vf_lt(vf a, vf b) { return (vm)(a < b); }
static inline vm vf_le(vf a, vf b) { return (vm)(a <= b); }
static inline vm vf_eq(vf a, vf b) { return (vm)(a == b); }
static inline vm vm_and(vm a, vm b) { return a & b; }
static inline vf vf_select(vm m, vf a, vf b) { return (vf)((m & (vm)a) | (~m & (vm)b)); }
static inline vf vf_abs_(vf a) { return (vf)((vm)a & 0x7fffffff); }
static inline vf vf_copysign_(vf y, vf x) { return (vf)(((vm)y & 0x7fffffff) | ((vm)x & (int32_t)0x80000000)); }
static inline vf vf_rint_(vf x) { return (x + 12582912.0f) - 12582912.0f; }
static inline vf vf_pow2i_(vm n) { return (vf)((n + 127) << 23); }
static inline vf vf_poly_(vf x, const float *c, int n) {
  vf acc = vf_splat(c[n - 1]);
  int k;
  for (k = n - 2; k >= 0; k--) acc = acc * x + c[k];
  return acc;
}
#if defined(__clang__) || __GNUC__ >= 12
#define vf_shuffle(a, ...) __builtin_shufflevector((a), (a), __VA_ARGS__)
#else
#define vf_shuffle(a, ...) __builtin_shuffle((a), (vm){__VA_ARGS__})
#endif

/* The scalar algorithms above, step for step on whole vectors. */
static inline vf vf_exp_finite_(vf x) {
  vf nf, r, p;
  vm n;
  x = vf_select(vf_lt(vf_splat(89.0f), x), vf_splat(89.0f), x);
  x = vf_select(vf_lt(x, vf_splat(-104.0f)), vf_splat(-104.0f), x);
  nf = vf_rint_(x * 1.4426950408889634f);
  r = nf * -0.693359375f + x;
  r = nf * 2.12194440054690583e-4f + r;
  p = (r * r) * vf_poly_(r, chm_exp_q, 6) + (r + 1.0f);
  n = __builtin_convertvector(nf, vm);
  return p * vf_pow2i_(n / 2) * vf_pow2i_(n - n / 2);
}

static inline vf vf_exp(vf x) {
  vm nan = (vm)(x != x);
  return vf_select(nan, x, vf_exp_finite_(vf_select(nan, vf_splat(0.0f), x)));
}

static inline vf vf_log(vf x) {
  vm tiny = (vm)(x < 0x1p-126f), bits, ex, big;
  vf xs = vf_select(tiny, x * 0x1p23f, x), m, s, s2, lm, ef, y;
  bits = (vm)xs;
  ex = ((bits >> 23) & 0xff) - 127;
  m = (vf)((bits & 0x7fffff) | 0x3f800000);
  big = (vm)(m > 1.41421356237309505f);
  m = vf_select(big, m * 0.5f, m);
  ex = ex - big + (tiny & -23); /* big is -1 where true */
  s = (m - 1.0f) / (m + 1.0f);
  s2 = s * s;
  lm = (s * s2) * vf_poly_(s2, chm_log_q, 5) + (s + s);
  ef = __builtin_convertvector(ex, vf);
  y = ef * -2.12194440054690583e-4f + lm;
  y = ef * 0.693359375f + y;
  y = vf_select((vm)(x == INFINITY), x, y);
  y = vf_select((vm)(x == 0.0f), vf_splat(-INFINITY), y);
  return vf_select(~(vm)(x >= 0.0f), vf_splat(NAN), y);
}

static inline vf vf_tanh(vf x) {
  vm nan = (vm)(x != x);
  vf ax = vf_abs_(vf_select(nan, vf_splat(0.0f), x)), x2 = ax * ax, small, large, y;
  small = (ax * x2) * vf_poly_(x2, chm_tanh_q, 6) + ax;
  large = 1.0f - 2.0f / (vf_exp_finite_(ax + ax) + 1.0f);
  y = vf_copysign_(vf_select((vm)(ax < 0.625f), small, large), x);
  return vf_select(nan, x, y);
}

static inline vf vf_erf(vf x) {
  vm nan = (vm)(x != x);
  vf ax = vf_abs_(vf_select(nan, vf_splat(0.0f), x)), small, c, h, l, eh, large, y;
  int i;
  small = ax * vf_poly_(ax * ax, chm_erf_q1, 8) + ax;
  c = vf_select((vm)(ax > 4.0f), vf_splat(4.0f), ax);
  c = vf_select((vm)(c < 1.0f), vf_splat(1.0f), c);
  h = c * c;
  l = h;
  for (i = 0; i < CHM_LANES; i++) l[i] = fmaf(c[i], c[i], -h[i]); /* the rounding error of c^2 */
  eh = vf_exp_finite_(-h);
  eh = eh - eh * l;
  large = 1.0f - eh * vf_poly_(1.0f / c - 0.625f, chm_erfc_g, 10);
  y = vf_copysign_(vf_select((vm)(ax <= 1.0f), small, large), x);
  return vf_select(nan, x, y);
}

#endif

/* ---- the rest, the same in both forms ---- */

/* c ? a : b for a scalar condition, both computed (see chm_self). */
static inline vf vf_pick(int c, vf a, vf b) { return c ? a : b; }

/* The first n lanes of x to p (a vector that would run past a buffer's end). */
static inline void vf_store_n(float *p, vf x, int n) { memcpy(p, &x, (size_t)n * sizeof(float)); }

static inline vf vf_min(vf a, vf b) { return vf_select(vf_lt(a, b), a, b); }
static inline vf vf_max(vf a, vf b) { return vf_select(vf_lt(b, a), a, b); }

static inline vf vf_abs(vf a) {
  int i;
  for (i = 0; i < CHM_LANES; i++) VF_AT(a, i) = fabsf(VF_AT(a, i));
  return a;
}

static inline vf vf_sqrt(vf a) {
  int i;
  for (i = 0; i < CHM_LANES; i++) VF_AT(a, i) = sqrtf(VF_AT(a, i));
  return a;
}

static inline vf vf_pow(vf a, vf b) {
  int i;
  for (i = 0; i < CHM_LANES; i++) VF_AT(a, i) = powf(VF_AT(a, i), VF_AT(b, i));
  return a;
}

static inline float vf_hsum(vf a) {
  float s = VF_AT(a, 0);
  int i;
  for (i = 1; i < CHM_LANES; i++) s += VF_AT(a, i);
  return s;
}

static inline float vf_hmax(vf a) {
  float m = VF_AT(a, 0);
  int i;
  for (i = 1; i < CHM_LANES; i++) m = VF_AT(a, i) > m ? VF_AT(a, i) : m;
  return m;
}

#endif
