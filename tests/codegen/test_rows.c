/*
 * test_rows.c — the row templates (layer normalization) JIT-compiled and
 * checked against a double-precision reference on random shapes: rows
 * shorter than a vector, whole vectors, whole vectors plus a tail, and the
 * lane counts of every target (1, 4, 8, 16), with the mean and 1 / std
 * outputs.
 *
 *   test_rows [CASES]
 */
#include "jit_util.h"

#include <stdlib.h>
#include <string.h>

typedef void (*ln_fn)(float *, float *, float *, float *, float *, float *);

static void ln_ref(const float *x, const float *scale, const float *bias, int64_t rows, int64_t len,
                   float eps, float *y, float *mean, float *inv) {
  for (int64_t r = 0; r < rows; r++) {
    const float *xr = x + r * len;
    double m = 0, v = 0;
    for (int64_t i = 0; i < len; i++) m += xr[i];
    m /= (double)len;
    for (int64_t i = 0; i < len; i++) v += (xr[i] - m) * (xr[i] - m);
    double s = 1 / sqrt(v / (double)len + eps);
    for (int64_t i = 0; i < len; i++) y[r * len + i] = (float)((xr[i] - m) * s * scale[i] + bias[i]);
    mean[r] = (float)m, inv[r] = (float)s;
  }
}

static int check_ln(int64_t rows, int64_t len, int lanes, unsigned *seed) {
  chm_arena *a = chm_arena_new();
  ir_kernel *k = tpl_layernorm_kernel(a, "ln", rows, len, 1e-5f, 2, lanes);
  jit_kernel jk;
  if (jit_compile(k, 2, &jk)) return chm_arena_free(a), 1;
  float *x = rand_array(rows * len, seed), *scale = rand_array(len, seed), *bias = rand_array(len, seed);
  for (int64_t i = 0; i < rows * len; i++) x[i] = x[i] * 3 + 1.5f; /* a mean far from 0 */
  float *y = rand_array(rows * len, seed), *m = rand_array(rows, seed), *s = rand_array(rows, seed);
  float *ry = rand_array(rows * len, seed), *rm = rand_array(rows, seed), *rs = rand_array(rows, seed);
  ((ln_fn)jk.fn)(x, scale, bias, y, m, s);
  ln_ref(x, scale, bias, rows, len, 1e-5f, ry, rm, rs);
  double ey = rel_err(y, ry, rows * len), em = rel_err(m, rm, rows), es = rel_err(s, rs, rows);
  int bad = !(ey < 1e-5 && em < 1e-5 && es < 1e-5);
  if (bad)
    fprintf(stderr, "FAIL layernorm rows %lld len %lld lanes %d: err y %g mean %g invstd %g\n", (long long)rows,
            (long long)len, lanes, ey, em, es);
  free(x), free(scale), free(bias), free(y), free(m), free(s), free(ry), free(rm), free(rs);
  cg_jit_free(jk.jit);
  chm_arena_free(a);
  return bad;
}

int main(int argc, char **argv) {
  int cases = argc > 1 ? atoi(argv[1]) : 40, bad = 0;
  unsigned seed = 7;
  static const int lanes[] = {1, 4, 8, 16};
  static const int64_t fixed[][2] = {{3, 1}, {2, 7}, {4, 16}, {5, 37}, {3136, 96}, {49, 768}};
  for (int i = 0; i < (int)(sizeof fixed / sizeof *fixed); i++)
    for (int j = 0; j < 4; j++) bad += check_ln(fixed[i][0], fixed[i][1], lanes[j], &seed);
  for (int c = 0; c < cases; c++) {
    int64_t rows = 1 + test_rand(&seed) % 40, len = 1 + test_rand(&seed) % 130;
    bad += check_ln(rows, len, lanes[test_rand(&seed) % 4], &seed);
  }
  printf("%s: %d of %d layernorm cases wrong\n", bad ? "FAIL" : "ok", bad, cases + 24);
  return bad != 0;
}
