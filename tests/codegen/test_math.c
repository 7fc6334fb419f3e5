/*
 * test_math.c — the vectorized exp, log, tanh and erf of codegen/llvm_math.c
 * against libm in double precision, over a dense sweep of float bit
 * patterns (every STRIDE-th of all 2^32, so denormals, both signs and every
 * binade are covered) plus the special values and the edges where results
 * overflow, underflow or saturate. Each function runs in a kernel of host
 * vector width and in a scalar one; the error must be at most MAX_ULP units
 * in the last place of the correctly rounded result, NaN must give NaN and
 * infinities must be exact. GELU's epilogue (its own erf, tpl_common.c)
 * is checked over the same inputs in units of its absolute error.
 *
 *   test_math [STRIDE]     (default 509)
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../check.h"
#include "jit_util.h"
#include "math_cases.h"

enum { MAX_ULP = 2 };

typedef void (*unary_fn)(const float *in, float *out);

/* out[i] = op(in[i]) for i < n, `lanes` at a time (n a multiple of lanes). */
static ir_kernel *unary_kernel(chm_arena *a, ir_op op, int64_t n, int lanes) {
  ir_builder b;
  ir_kernel *k = ir_kernel_new(&b, a, "math");
  ir_buf *in = ir_param(&b, "in", n), *out = ir_param(&b, "out", n);
  int v = ir_new_var(&b);
  ir_expr *i = ir_muli(&b, ir_var(&b, v), lanes);
  ir_stmt *s = ir_store(&b, out, i, ir_unary(&b, op, ir_load(&b, in, i, lanes)));
  k->body = ir_for(&b, v, ir_int(&b, 0), ir_int(&b, n / lanes), IR_LOOP_SERIAL, s);
  return k;
}

typedef struct fn_case {
  const char *name;
  ir_op op;
  double (*ref)(double);
} fn_case;

/* Runs f on all inputs at `lanes`; returns the worst error in ulps (INFINITY on a special miss). */
static double check_fn(const fn_case *f, const float *in, int64_t n, int lanes, int64_t *worst_i) {
  chm_arena *a = chm_arena_new();
  jit_kernel jk;
  float *out = malloc((size_t)n * sizeof *out);
  double worst = 0;
  *worst_i = -1;
  if (jit_compile(unary_kernel(a, f->op, n, lanes), 1, &jk)) {
    CHECK(0);
    worst = INFINITY;
  } else {
    ((unary_fn)jk.fn)(in, out);
    for (int64_t i = 0; i < n; i++) {
      double ref = f->ref(in[i]), e;
      if (isnan(ref)) e = isnan(out[i]) ? 0 : INFINITY;
      else if (isinf((float)ref)) e = out[i] == (float)ref ? 0 : INFINITY;
      else e = isnan(out[i]) ? INFINITY : ulps(out[i], ref);
      if (e > worst) worst = e, *worst_i = i;
    }
    cg_jit_free(jk.jit);
  }
  free(out);
  chm_arena_free(a);
  return worst;
}

/* GELU (erf form), the epilogue tpl_act builds from its own rational erf:
 * its error may reach a few ulp of 1 + erf, so it is measured in units of
 * max(ulp(GELU(x)), 2^-23 |x|) and must stay within GELU_UNITS. */
enum { GELU_UNITS = 4 };

static double gelu_ref(double x) { return 0.5 * x * erfc(-x * M_SQRT1_2); }

static ir_kernel *gelu_kernel(chm_arena *a, int64_t n, int lanes) {
  ir_builder b;
  ir_kernel *k = ir_kernel_new(&b, a, "gelu");
  ir_buf *in = ir_param(&b, "in", n), *out = ir_param(&b, "out", n);
  int v = ir_new_var(&b);
  ir_expr *i = ir_muli(&b, ir_var(&b, v), lanes);
  tpl_epi ep = {.act = CHM_ACT_GELU};
  k->body = ir_for(&b, v, ir_int(&b, 0), ir_int(&b, n / lanes), IR_LOOP_SERIAL,
                   ir_store(&b, out, i, tpl_act(&b, &ep, ir_load(&b, in, i, lanes))));
  return k;
}

static double check_gelu(const float *in, int64_t n, int lanes, int64_t *worst_i) {
  chm_arena *a = chm_arena_new();
  jit_kernel jk;
  float *out = malloc((size_t)n * sizeof *out);
  double worst = INFINITY;
  *worst_i = -1;
  if (!jit_compile(gelu_kernel(a, n, lanes), 1, &jk)) {
    ((unary_fn)jk.fn)(in, out);
    worst = 0;
    for (int64_t i = 0; i < n; i++) {
      double ref = gelu_ref(in[i]), e;
      if (isnan(ref)) e = isnan(out[i]) ? 0 : INFINITY;
      else if (isinf(ref)) e = out[i] == (float)ref ? 0 : INFINITY;
      else {
        double unit = fmax(ldexp(1, ilogb(fmax(fabs(ref), FLT_MIN)) - 23), ldexp(fabs(in[i]), -23));
        e = isnan(out[i]) ? INFINITY : fabs(out[i] - ref) / unit;
      }
      if (e > worst) worst = e, *worst_i = i;
    }
    cg_jit_free(jk.jit);
  }
  free(out);
  chm_arena_free(a);
  return worst;
}

int main(int argc, char **argv) {
  uint64_t stride = argc > 1 ? strtoull(argv[1], NULL, 10) : 509;
  cg_target t;
  chm_err e = {0};
  if (cg_target_init(&t, NULL, NULL, &e)) return fprintf(stderr, "%s\n", e.msg), 2;
  int64_t n0 = (int64_t)((1ull << 32) / stride) + (int64_t)(sizeof specials / sizeof *specials);
  int64_t n = (n0 + t.lanes - 1) / t.lanes * t.lanes;
  float *in = malloc((size_t)n * sizeof *in);
  int64_t k = 0;
  for (uint64_t bits = 0; bits < (1ull << 32); bits += stride) {
    uint32_t b32 = (uint32_t)bits;
    memcpy(&in[k++], &b32, sizeof b32);
  }
  memcpy(in + k, specials, sizeof specials);
  for (k += (int64_t)(sizeof specials / sizeof *specials); k < n; k++) in[k] = 0.5f;
  static const fn_case fns[] = {
      {"exp", IR_EXP, exp}, {"log", IR_LOG, log}, {"tanh", IR_TANH, tanh}, {"erf", IR_ERF, erf}};
  for (size_t f = 0; f < sizeof fns / sizeof *fns; f++)
    for (int lanes = t.lanes; lanes >= 1; lanes = lanes > 1 ? 1 : 0) {
      int64_t wi;
      double worst = check_fn(&fns[f], in, n, lanes, &wi);
      printf("%-4s %2d lanes: worst %.2f ulp", fns[f].name, lanes, worst);
      if (wi >= 0) printf(" at %a (got vs libm %a)", in[wi], fns[f].ref(in[wi]));
      printf(", %lld inputs\n", (long long)n);
      CHECK(worst <= MAX_ULP);
    }
  for (int lanes = t.lanes; lanes >= 1; lanes = lanes > 1 ? 1 : 0) {
    int64_t wi;
    double worst = check_gelu(in, n, lanes, &wi);
    printf("gelu %2d lanes: worst %.2f units", lanes, worst);
    if (wi >= 0) printf(" at %a (reference %a)", in[wi], gelu_ref(in[wi]));
    printf(", %lld inputs\n", (long long)n);
    CHECK(worst <= GELU_UNITS);
  }
  free(in);
  return failures ? 1 : 0;
}
