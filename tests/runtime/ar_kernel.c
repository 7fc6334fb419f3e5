/*
 * ar_kernel.c — stands in for chamcc's emitted kernels in the archive tests:
 * compiled at test time with the target's cc, put in an archive next to the
 * embedded runtime object, and linked into ar_prog.c. It uses every runtime
 * entry point, so the linker must pull the runtime member via the index.
 */
#include "chamcc/rt.h"

static _Alignas(64) unsigned char pool[CHM_RT_WSPOOL_BYTES]; /* as emitted code does */

static void squares(void *ctx, int64_t b, int64_t e) {
  int64_t *out = ctx;
  for (int64_t i = b; i < e; i++) out[i] = i * i;
}

/* Sum of i*i over [0, n), computed in parallel in a pooled workspace; -1 on OOM. */
int64_t kernel_sum_squares(int64_t n, int nthreads) {
  int64_t *ws = chm_rt_ws_acquire((chm_rt_wspool *)pool, n * (int64_t)sizeof *ws);
  if (!ws) return -1;
  chm_rt_parallel_for(squares, ws, n, nthreads);
  int64_t s = 0;
  for (int64_t i = 0; i < n; i++) s += ws[i];
  chm_rt_ws_release((chm_rt_wspool *)pool, ws);
  return s;
}
