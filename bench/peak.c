/*
 * peak.c — the machine's practical fp32 peak: independent chains of vector
 * FMAs in registers (no loads, no stores), on 1 thread and on T threads at
 * once, so a kernel's GFLOP/s can be read as a share of what the cores can
 * do at all. Usage: peak [--threads T] [--rounds R] (defaults: all cores, 5).
 *
 * The loop is inline assembly, so the count of FMAs is exact and no compiler
 * can fold or reorder it: 24 chains of the widest FMA this CPU runs (AVX-512
 * zmm on x86-64, or 14 of AVX2 ymm in its 16 registers, chosen at run time;
 * NEON on AArch64), at least latency (4–5 cycles) times FMA ports (2–4) on
 * the cores chamcc targets. Registers start at zero, so no denormals slow
 * it. Each round times every thread count once; the table gives the median
 * over rounds.
 */
#define _GNU_SOURCE
#include "chamcc/tune.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { ITERS = 50 * 1000 * 1000, MAX_THREADS = 256, MAX_ROUNDS = 99 };

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

static isa the_isa;
static pthread_barrier_t start;

static void *worker(void *arg) {
  (void)arg;
  pthread_barrier_wait(&start);
  the_isa.loop(ITERS);
  return NULL;
}

/* GFLOP/s of T threads running the loop at once (wall time of the slowest). */
static double gflops(int t) {
  pthread_t th[MAX_THREADS];
  pthread_barrier_init(&start, NULL, (unsigned)t + 1);
  for (int i = 0; i < t; i++)
    if (pthread_create(&th[i], NULL, worker, NULL)) fprintf(stderr, "peak: cannot start a thread\n"), exit(1);
  pthread_barrier_wait(&start);
  double t0 = chm_now();
  for (int i = 0; i < t; i++) pthread_join(th[i], NULL);
  double s = chm_now() - t0;
  pthread_barrier_destroy(&start);
  return (double)t * ITERS * the_isa.chains * the_isa.lanes * 2 / s / 1e9;
}

int main(int argc, char **argv) {
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  int threads = cores > 0 && cores <= MAX_THREADS ? (int)cores : 1, rounds = 5;
  for (int i = 1; i < argc; i++) {
    int bad = 1;
    if (!strcmp(argv[i], "--threads") && i + 1 < argc) bad = chm_parse_int(argv[++i], 1, MAX_THREADS, &threads);
    else if (!strcmp(argv[i], "--rounds") && i + 1 < argc) bad = chm_parse_int(argv[++i], 1, MAX_ROUNDS, &rounds);
    if (bad) {
      fprintf(stderr, "usage: peak [--threads T (1-%d)] [--rounds R (1-%d)]\n", MAX_THREADS, MAX_ROUNDS);
      return 2;
    }
  }
  if (pick(&the_isa)) return fprintf(stderr, "peak: no vector FMA on this CPU (needs AVX2+FMA, AVX-512 or NEON)\n"), 1;
  int counts[2] = {1, threads}, n_counts = threads > 1 ? 2 : 1;
  double g[2][MAX_ROUNDS];
  for (int r = 0; r < rounds; r++)
    for (int c = 0; c < n_counts; c++) g[c][r] = gflops(counts[c]);
  printf("| vector FMA | threads | peak GFLOP/s (median of %d) | min | max |\n|---|--:|--:|--:|--:|\n", rounds);
  for (int c = 0; c < n_counts; c++) {
    double med = tune_median(g[c], rounds); /* sorts g[c]: min first, max last */
    printf("| %s x%d | %d | %.1f | %.1f | %.1f |\n", the_isa.name, the_isa.lanes, counts[c], med, g[c][0],
           g[c][rounds - 1]);
  }
  return 0;
}
