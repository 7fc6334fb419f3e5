/*
 * peak.c — the machine's practical fp32 peak (meas_peak_gflops, measure/
 * peak.c: independent chains of vector FMAs in registers) on 1 thread and
 * on T threads at once, so a kernel's GFLOP/s can be read as a share of
 * what the cores can do at all. Usage: peak [--threads T] [--rounds R]
 * (defaults: all cores, 5). Each round times every thread count once; the
 * table gives the median over rounds.
 */
#include "chamcc/tune.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { ITERS = 50 * 1000 * 1000, MAX_THREADS = 256, MAX_ROUNDS = 99 };

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
  char name[32];
  if (!meas_peak_gflops(1, 1, name, sizeof name))
    return fprintf(stderr, "peak: no vector FMA on this CPU (needs AVX2+FMA, AVX-512 or NEON)\n"), 1;
  int counts[2] = {1, threads}, n_counts = threads > 1 ? 2 : 1;
  double g[2][MAX_ROUNDS];
  for (int r = 0; r < rounds; r++)
    for (int c = 0; c < n_counts; c++) g[c][r] = meas_peak_gflops(counts[c], ITERS, NULL, 0);
  printf("| vector FMA | threads | peak GFLOP/s (median of %d) | min | max |\n|---|--:|--:|--:|--:|\n", rounds);
  for (int c = 0; c < n_counts; c++) {
    double med = tune_median(g[c], rounds); /* sorts g[c]: min first, max last */
    printf("| %s | %d | %.1f | %.1f | %.1f |\n", name, counts[c], med, g[c][0], g[c][rounds - 1]);
  }
  return 0;
}
