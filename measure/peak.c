/*
 * peak.c — the machine's practical fp32 peak (meas_peak_gflops):
 * independent chains of vector FMAs in registers (no loads, no stores), on
 * T threads at once. The tuner measures it at start-up and refuses to
 * believe a kernel that reads faster (tune_session.peak_gflops);
 * bench/peak prints it.
 *
 * The loop is inline assembly, so the count of FMAs is exact and no compiler
 * can fold or reorder it: 24 chains of the widest FMA this CPU runs (AVX-512
 * zmm on x86-64, or 14 of AVX2 ymm in its 16 registers, chosen at run time;
 * NEON on AArch64), at least latency (4–5 cycles) times FMA ports (2–4) on
 * the cores chamcc targets. Registers start at zero, so no denormals slow
 * it.
 */
#define _GNU_SOURCE
#include "chamcc/measure.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

enum { MAX_THREADS = 256 };

typedef struct isa {
  const char *name;
  int lanes, chains;      /* fp32 lanes per vector, FMAs per iteration */
  void (*loop)(long n);   /* n iterations */
} isa;

#if defined(__x86_64__)
#define FMA12(r, a, b, c, d, e, f, g, h, i, j, k, l)                                                      \
  "vfmadd231ps %%" #r "30, %%" #r "31, %%" #r #a "\n vfmadd231ps %%" #r "30, %%" #r "31, %%" #r #b "\n" \
  "vfmadd231ps %%" #r "30, %%" #r "31, %%" #r #c "\n vfmadd231ps %%" #r "30, %%" #r "31, %%" #r #d "\n" \
  "vfmadd231ps %%" #r "30, %%" #r "31, %%" #r #e "\n vfmadd231ps %%" #r "30, %%" #r "31, %%" #r #f "\n" \
  "vfmadd231ps %%" #r "30, %%" #r "31, %%" #r #g "\n vfmadd231ps %%" #r "30, %%" #r "31, %%" #r #h "\n" \
  "vfmadd231ps %%" #r "30, %%" #r "31, %%" #r #i "\n vfmadd231ps %%" #r "30, %%" #r "31, %%" #r #j "\n" \
  "vfmadd231ps %%" #r "30, %%" #r "31, %%" #r #k "\n vfmadd231ps %%" #r "30, %%" #r "31, %%" #r #l "\n"

/* AVX-512: zmm0–23 accumulate zmm30 * zmm31 (the target attribute lets the
 * asm name registers 16–31). */
__attribute__((target("avx512f"))) static void loop_avx512(long n) {
  __asm__ volatile("vpxord %%zmm30, %%zmm30, %%zmm30\n vpxord %%zmm31, %%zmm31, %%zmm31\n"
                   "1:\n" FMA12(zmm, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)
                   FMA12(zmm, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23)
                   "dec %0\n jnz 1b\n vzeroupper\n"
                   : "+r"(n)
                   :
                   : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",
                     "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20",
                     "xmm21", "xmm22", "xmm23", "xmm30", "xmm31", "cc");
}

/* AVX2: 16 registers, so ymm0–13 accumulate ymm14 * ymm15 (written out). */
static void loop_avx2(long n) {
  __asm__ volatile("vxorps %%ymm14, %%ymm14, %%ymm14\n vxorps %%ymm15, %%ymm15, %%ymm15\n"
                   "1:\n"
                   "vfmadd231ps %%ymm14, %%ymm15, %%ymm0\n vfmadd231ps %%ymm14, %%ymm15, %%ymm1\n"
                   "vfmadd231ps %%ymm14, %%ymm15, %%ymm2\n vfmadd231ps %%ymm14, %%ymm15, %%ymm3\n"
                   "vfmadd231ps %%ymm14, %%ymm15, %%ymm4\n vfmadd231ps %%ymm14, %%ymm15, %%ymm5\n"
                   "vfmadd231ps %%ymm14, %%ymm15, %%ymm6\n vfmadd231ps %%ymm14, %%ymm15, %%ymm7\n"
                   "vfmadd231ps %%ymm14, %%ymm15, %%ymm8\n vfmadd231ps %%ymm14, %%ymm15, %%ymm9\n"
                   "vfmadd231ps %%ymm14, %%ymm15, %%ymm10\n vfmadd231ps %%ymm14, %%ymm15, %%ymm11\n"
                   "vfmadd231ps %%ymm14, %%ymm15, %%ymm12\n vfmadd231ps %%ymm14, %%ymm15, %%ymm13\n"
                   "dec %0\n jnz 1b\n vzeroupper\n"
                   : "+r"(n)
                   :
                   : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",
                     "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "cc");
}

static int pick(isa *s) {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return *s = (isa){"AVX-512", 16, 24, loop_avx512}, 0;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return *s = (isa){"AVX2", 8, 14, loop_avx2}, 0;
  return -1;
}
#elif defined(__aarch64__)
#define FMLA4(a, b, c, d)                                                                   \
  "fmla v" #a ".4s, v30.4s, v31.4s\n fmla v" #b ".4s, v30.4s, v31.4s\n"                     \
  "fmla v" #c ".4s, v30.4s, v31.4s\n fmla v" #d ".4s, v30.4s, v31.4s\n"

/* NEON: v0–23 accumulate v30 * v31. */
static void loop_neon(long n) {
  __asm__ volatile("movi v30.4s, #0\n movi v31.4s, #0\n"
                   "1:\n" FMLA4(0, 1, 2, 3) FMLA4(4, 5, 6, 7) FMLA4(8, 9, 10, 11) FMLA4(12, 13, 14, 15)
                   FMLA4(16, 17, 18, 19) FMLA4(20, 21, 22, 23)
                   "subs %0, %0, #1\n b.ne 1b\n"
                   : "+r"(n)
                   :
                   : "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v12", "v13",
                     "v14", "v15", "v16", "v17", "v18", "v19", "v20", "v21", "v22", "v23", "v30", "v31", "cc");
}

static int pick(isa *s) { return *s = (isa){"NEON", 4, 24, loop_neon}, 0; }
#else
static int pick(isa *s) { return (void)s, -1; }
#endif

/* What the threads share: the loop and the start line. */
typedef struct run {
  isa s;        /* the loop */
  long iters;   /* its iterations per thread */
  int go;       /* set once every thread is up (atomic) */
} run;

static void *worker(void *arg) {
  run *r = arg;
  while (!__atomic_load_n(&r->go, __ATOMIC_ACQUIRE)) /* all start together */
    ;
  r->s.loop(r->iters);
  return NULL;
}

double meas_peak_gflops(int threads, long iters, char *isa_name, size_t name_size) {
  run r = {.iters = iters > 0 ? iters : 1};
  if (pick(&r.s)) return 0;
  if (isa_name) snprintf(isa_name, name_size, "%s x%d", r.s.name, r.s.lanes);
  if (threads < 1) threads = 1;
  if (threads > MAX_THREADS) threads = MAX_THREADS;
  pthread_t th[MAX_THREADS];
  int started = 0;
  for (; started < threads; started++)
    if (pthread_create(&th[started], NULL, worker, &r)) break;
  double t0 = chm_now();
  __atomic_store_n(&r.go, 1, __ATOMIC_RELEASE);
  for (int i = 0; i < started; i++) pthread_join(th[i], NULL);
  double s = chm_now() - t0;
  return started ? (double)started * (double)r.iters * r.s.chains * r.s.lanes * 2 / s / 1e9 : 0;
}
