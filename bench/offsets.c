/*
 * offsets.c — how much one convolution kernel's speed depends on where its
 * arguments start within a page.
 *
 *   offsets [--layer C,H,K,k,s,p] [--threads T] [--rounds N] [--config I,I,...]
 *           [--offsets A,B] [--only ARG]
 *
 * The layer (ResNet-18's L8 by default; a plain NCHW input when C is not a
 * multiple of the vector lanes, as a first layer is lowered) and a config
 * (the default, or --config: option indices, as a log's records hold them)
 * are built once. Two sets of its arguments (input, packed weights, bias,
 * output; random numbers) are placed A and B bytes past a 4096-byte
 * boundary (--offsets, default 64,16: a built library's 64-byte alignment
 * against malloc's 16 past a page), or with --only ARG (0 = input, 1 =
 * weights, ...) only that argument moves and the others stay at 0. Then N
 * rounds (default 15) time the kernel on each set for about 30 ms, the
 * order alternating, and it prints the medians in GFLOP/s and the median
 * of the per-round ratios A / B (above 1: faster at A).
 *
 * A measurement tool for layouts: the tuner measures with every argument
 * on a 64-byte boundary (RMT_ALIGN), as a library runs.
 */
#include "layer_task.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_ROUNDS = 201, PAGE = 4096 };

/* The kernel's arguments, each `off` bytes past a page boundary (or only
 * argument `only`, the others at 0, when only >= 0). */
static void place(const ir_kernel *k, int off, int only, float **base, float **args) {
  unsigned seed = 7;
  for (int i = 0; i < k->n_params; i++) {
    int64_t n = k->params[i]->size;
    void *p = NULL;
    if (posix_memalign(&p, PAGE, (size_t)n * sizeof(float) + PAGE)) exit(1);
    base[i] = p;
    args[i] = (float *)((char *)p + (only < 0 || only == i ? off : 0));
    for (int64_t j = 0; j < n; j++) {
      seed = seed * 1103515245u + 12345u;
      args[i][j] = (float)((seed >> 8) & 0xffff) / 0x8000 - 1.0f;
    }
  }
}

/* GFLOP/s of one slice of about 30 ms (after an untimed run). */
static double slice(void *fn, float **args, int n, double flops) {
  rmt_call(fn, args, n);
  double t0 = chm_now(), t;
  long runs = 0;
  do rmt_call(fn, args, n), runs++;
  while ((t = chm_now() - t0) < 0.03);
  return flops * (double)runs / t / 1e9;
}

int main(int argc, char **argv) {
  int rounds = 15, threads = 1, only = -1, off[2] = {64, 16};
  int shape[6] = {256, 14, 256, 3, 1, 1}; /* C, H, K, k, s, p */
  const char *config = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    int v = i + 1 < argc, ok = 1;
    if (!strcmp(a, "--rounds") && v) ok = !chm_parse_int(argv[++i], 1, MAX_ROUNDS, &rounds);
    else if (!strcmp(a, "--threads") && v) ok = !chm_parse_int(argv[++i], 1, 1024, &threads);
    else if (!strcmp(a, "--only") && v) ok = !chm_parse_int(argv[++i], 0, 7, &only);
    else if (!strcmp(a, "--layer") && v) ok = !layer_square_parse(argv[++i], shape);
    else if (!strcmp(a, "--offsets") && v)
      ok = sscanf(argv[++i], "%d,%d", &off[0], &off[1]) == 2 && off[0] >= 0 && off[1] >= 0 && off[0] < PAGE &&
           off[1] < PAGE && off[0] % 4 == 0 && off[1] % 4 == 0;
    else if (!strcmp(a, "--config") && v) config = argv[++i];
    else ok = 0;
    if (!ok)
      return fprintf(stderr, "usage: offsets [--layer C,H,K,k,s,p] [--threads T] [--rounds N] [--config I,I,...] "
                             "[--offsets A,B (multiples of 4 below 4096)] [--only ARG]\n"), 2;
  }
  chm_err e = {0};
  cg_target tgt;
  if (cg_target_init(&tgt, NULL, NULL, &e)) return fprintf(stderr, "offsets: %s\n", e.msg), 1;
  tune_task t;
  layer_square_task(&tgt, shape, threads, &t);
  int idx[TUNE_MAX_KNOBS];
  tune_task_default(&t, idx);
  if (config) {
    const char *why = layer_config_indices(&t, config, idx);
    if (why) return fprintf(stderr, "offsets: --config %s: %s\n", config, why), 2;
  }
  chm_arena *a = chm_arena_new();
  const ir_kernel *kern = tune_task_kernel(&t, idx, a, "kernel");
  cg_module *mod = cg_module_new(&tgt, "offsets", threads, &e);
  cg_jit *jit = NULL;
  void *fn = NULL;
  if (mod) cg_export_kernels(mod);
  if (!mod || cg_add_kernel(mod, kern, &e) || cg_finish(mod, &e) || !(jit = cg_jit_new(mod, &e)) ||
      !(fn = cg_jit_lookup(jit, "kernel", &e)))
    return fprintf(stderr, "offsets: %s\n", e.msg), 1;
  float *base[2][8], *args[2][8];
  for (int j = 0; j < 2; j++) place(kern, off[j], only, base[j], args[j]);
  double g[2][MAX_ROUNDS], q[MAX_ROUNDS];
  for (int r = 0; r < rounds; r++) {
    for (int j = 0; j < 2; j++) {
      int x = (r + j) % 2;
      g[x][r] = slice(fn, args[x], kern->n_params, t.flops);
    }
    q[r] = g[0][r] / g[1][r];
  }
  char name[64];
  tune_task_name(&t, name, sizeof name);
  printf("%s, %d thread%s, config %lld, %d rounds: at %d: %.1f GFLOP/s, at %d: %.1f GFLOP/s, ratio %.3f", name,
         threads, threads == 1 ? "" : "s", (long long)tune_space_index(&t.space, idx), rounds, off[0],
         tune_median(g[0], rounds), off[1], tune_median(g[1], rounds), tune_median(q, rounds));
  if (only >= 0) printf(" (argument %d moved only)", only);
  printf("\n");
  for (int j = 0; j < 2; j++)
    for (int i = 0; i < kern->n_params; i++) free(base[j][i]);
  cg_jit_free(jit);
  cg_module_free(mod);
  chm_arena_free(a);
  return 0;
}
