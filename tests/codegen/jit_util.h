/*
 * jit_util.h — shared by the codegen tests: JIT-compile one kernel for the
 * host and return a callable pointer; naive references; random data.
 */
#ifndef CHAMCC_TEST_JIT_UTIL_H
#define CHAMCC_TEST_JIT_UTIL_H

#include "chamcc/cg.h"
#include "chamcc/tpl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct jit_kernel {
  cg_jit *jit;  /* owns the code */
  void *fn;     /* the kernel */
} jit_kernel;

static inline int jit_compile(const ir_kernel *k, int nthreads, jit_kernel *out) {
  chm_err e = {0};
  cg_target t;
  if (cg_target_init(&t, NULL, NULL, &e)) goto fail;
  cg_module *m = cg_module_new(&t, "test", nthreads, &e);
  if (!m) goto fail;
  cg_export_kernels(m);
  if (cg_add_kernel(m, k, &e) || cg_finish(m, &e)) {
    cg_module_free(m);
    goto fail;
  }
  out->jit = cg_jit_new(m, &e);
  cg_module_free(m);
  if (!out->jit) goto fail;
  out->fn = cg_jit_lookup(out->jit, k->name, &e);
  if (!out->fn) goto fail;
  return 0;
fail:
  fprintf(stderr, "jit: %s\n", e.msg);
  return -1;
}

static inline unsigned test_rand(unsigned *s) {
  *s = *s * 1103515245u + 12345u;
  return (*s >> 8) & 0xffffff;
}
static inline float test_randf(unsigned *s) { return (float)test_rand(s) / 0x800000 - 1.0f; }

static inline float *rand_array(int64_t n, unsigned *s) {
  float *v = malloc((size_t)(n ? n : 1) * sizeof(float));
  for (int64_t i = 0; i < n; i++) v[i] = test_randf(s);
  return v;
}

/* max |a - b| / max |b| */
static inline double rel_err(const float *a, const float *b, int64_t n) {
  double d = 0, m = 1e-30;
  for (int64_t i = 0; i < n; i++) {
    double x = fabs((double)a[i] - b[i]);
    if (x > d || isnan(x)) d = isnan(x) ? INFINITY : x;
    if (fabs(b[i]) > m) m = fabs(b[i]);
  }
  return d / m;
}

#endif
