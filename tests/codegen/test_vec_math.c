/*
 * test_vec_math.c — exp, log, tanh and erf of runtime/chamcc_vec.h (the math
 * of the C back end's trees) against libm in double precision, like
 * test_math.c does for the LLVM back end's: a sweep of every STRIDE-th float
 * bit pattern plus the special values and edges, at most MAX_ULP units in
 * the last place, NaN for NaN, exact infinities. Built twice: with the
 * vector extensions (vf_exp ... on 8 lanes, and the scalar chm_expf ...),
 * and with CHAMCC_SCALAR as ISO C99 (test_vec_math_vec, test_vec_math_c99).
 *
 *   test_vec_math [STRIDE]     (default 509)
 */
#define CHM_LANES 8
#include "chamcc_vec.h"

#include <float.h>
#include <stdio.h>
#include <stdlib.h>

#include "../check.h"
#include "math_cases.h"

enum { MAX_ULP = 2 };

typedef struct fn_case {
  const char *name;
  vf (*vec)(vf);
  float (*scalar)(float);
  double (*ref)(double);
} fn_case;

static double error(float got, double ref) {
  if (isnan(ref)) return isnan(got) ? 0 : INFINITY;
  if (isinf((float)ref)) return got == (float)ref ? 0 : INFINITY;
  return isnan(got) ? INFINITY : ulps(got, ref);
}

/* The worst error of f over in[0, n) (n a multiple of CHM_LANES), vector or scalar. */
static double check_fn(const fn_case *f, const float *in, long n, int vector, long *worst_i) {
  double worst = 0;
  long i;
  *worst_i = -1;
  for (i = 0; i < n; i += vector ? CHM_LANES : 1) {
    float out[CHM_LANES];
    int j, m = vector ? CHM_LANES : 1;
    if (vector) vf_store(out, f->vec(vf_load(in + i)));
    else out[0] = f->scalar(in[i]);
    for (j = 0; j < m; j++) {
      double e = error(out[j], f->ref(in[i + j]));
      if (e > worst) worst = e, *worst_i = i + j;
    }
  }
  return worst;
}

int main(int argc, char **argv) {
  unsigned long long stride = argc > 1 ? strtoull(argv[1], NULL, 10) : 509, bits;
  long n0 = (long)((1ull << 32) / stride) + (long)(sizeof specials / sizeof *specials);
  long n = (n0 + CHM_LANES - 1) / CHM_LANES * CHM_LANES, k = 0;
  float *in = malloc((size_t)n * sizeof *in);
  size_t f;
  static const fn_case fns[] = {{"exp", vf_exp, chm_expf, exp},
                                {"log", vf_log, chm_logf, log},
                                {"tanh", vf_tanh, chm_tanhf, tanh},
                                {"erf", vf_erf, chm_erff, erf}};
  for (bits = 0; bits < (1ull << 32); bits += stride) {
    uint32_t b32 = (uint32_t)bits;
    memcpy(&in[k++], &b32, sizeof b32);
  }
  memcpy(in + k, specials, sizeof specials);
  for (k += (long)(sizeof specials / sizeof *specials); k < n; k++) in[k] = 0.5f;
  for (f = 0; f < sizeof fns / sizeof *fns; f++) {
    int vector;
    for (vector = 1; vector >= 0; vector--) {
      long wi;
      double worst = check_fn(&fns[f], in, n, vector, &wi);
      printf("%-4s %s: worst %.2f ulp", fns[f].name, vector ? "vector" : "scalar", worst);
      if (wi >= 0) printf(" at %a (libm %a)", (double)in[wi], fns[f].ref(in[wi]));
      printf(", %ld inputs\n", n);
      CHECK(worst <= MAX_ULP);
    }
  }
  free(in);
  return failures ? 1 : 0;
}
