/*
 * dlopen_host.c — a generated library inside a shared object that is
 * loaded and unloaded again and again (dlopen.sh builds it):
 *
 *   dlopen_host LIB.so NAME ROUNDS
 *
 * Each round dlopen()s LIB.so, runs NAME_run on fixed inputs, checks the
 * output against the first round's (finite, not all zero, the same to
 * 1e-6) and dlclose()s it. The library's worker threads must be gone after
 * every dlclose: the thread count of this process (/proc/self/status) is
 * back to where it started, and it rose while the library ran (so the
 * check means something). A library that leaves a thread running its
 * unmapped code crashes the process, which fails the test too.
 */
#include "../check.h"

#include <dlfcn.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef int (*count_fn)(void);
typedef int (*rank_fn)(int);
typedef const int64_t *(*shape_fn)(int);
typedef int (*run_fn)(const float *const *, float *const *);

enum { MAX_IO = 16 };

/* The entry points of one loaded library. */
typedef struct model {
  void *so;                          /* the dlopen handle */
  count_fn num_inputs, num_outputs;  /* NAME_num_inputs / _outputs */
  rank_fn input_rank, output_rank;   /* NAME_input_rank / output_rank */
  shape_fn input_shape, output_shape; /* NAME_input_shape / output_shape */
  run_fn run;                        /* NAME_run */
} model;

static int threads_now(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  int n = -1;
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "Threads: %d", &n) == 1) break;
  if (f) fclose(f);
  return n;
}

/* The thread count once it is back to `want`, or after a second: a joined
 * thread may be counted for a moment after pthread_join returns. */
static int threads_settled(int want) {
  int n = threads_now();
  for (int i = 0; i < 1000 && n != want; i++) {
    nanosleep(&(struct timespec){0, 1000000}, NULL);
    n = threads_now();
  }
  return n;
}

static void *symbol(void *so, const char *name, const char *suffix) {
  char full[256];
  snprintf(full, sizeof full, "%s_%s", name, suffix);
  void *p = dlsym(so, full);
  if (!p) {
    fprintf(stderr, "dlopen_host: %s: %s\n", full, dlerror());
    exit(1);
  }
  return p;
}

static model load(const char *path, const char *name) {
  model m = {.so = dlopen(path, RTLD_NOW | RTLD_LOCAL)};
  if (!m.so) {
    fprintf(stderr, "dlopen_host: %s\n", dlerror());
    exit(1);
  }
  m.num_inputs = (count_fn)symbol(m.so, name, "num_inputs");
  m.num_outputs = (count_fn)symbol(m.so, name, "num_outputs");
  m.input_rank = (rank_fn)symbol(m.so, name, "input_rank");
  m.output_rank = (rank_fn)symbol(m.so, name, "output_rank");
  m.input_shape = (shape_fn)symbol(m.so, name, "input_shape");
  m.output_shape = (shape_fn)symbol(m.so, name, "output_shape");
  m.run = (run_fn)symbol(m.so, name, "run");
  return m;
}

static size_t elements(int rank, const int64_t *shape) {
  size_t n = 1;
  for (int i = 0; i < rank; i++) n *= (size_t)shape[i];
  return n;
}

/* Buffers for every input (filled with a fixed pattern) and output. */
static void make_buffers(const model *m, float **in, float **out, size_t *out_len) {
  for (int i = 0; i < m->num_inputs(); i++) {
    size_t n = elements(m->input_rank(i), m->input_shape(i));
    in[i] = malloc(n * sizeof(float));
    for (size_t j = 0; j < n; j++) in[i][j] = (float)((j * 7 + (size_t)i) % 13) / 13.0f - 0.5f;
  }
  for (int i = 0; i < m->num_outputs(); i++) {
    out_len[i] = elements(m->output_rank(i), m->output_shape(i));
    out[i] = calloc(out_len[i], sizeof(float));
  }
}

/* The first output is finite and not all zero; later ones equal it. */
static void check_output(int round, const float *got, float *first, size_t n) {
  double scale = 0, diff = 0;
  for (size_t j = 0; j < n; j++) {
    CHECK(isfinite(got[j]), "round %d: output[%zu] = %g", round, j, got[j]);
    scale = fmax(scale, fabs(first[j]));
    diff = fmax(diff, fabs(got[j] - first[j]));
  }
  CHECK(scale > 0, "round %d: the output is all zero", round);
  CHECK(diff <= 1e-6 * scale, "round %d: output differs from the first round's by %g", round, diff);
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: dlopen_host LIB.so NAME ROUNDS\n");
    return 2;
  }
  int rounds = atoi(argv[3]), start = threads_now(), most = start;
  float *first[MAX_IO] = {0};
  for (int r = 0; r < rounds && !failures; r++) {
    model m = load(argv[1], argv[2]);
    CHECK(m.num_inputs() <= MAX_IO && m.num_outputs() <= MAX_IO, "too many inputs or outputs");
    float *in[MAX_IO], *out[MAX_IO];
    size_t out_len[MAX_IO];
    make_buffers(&m, in, out, out_len);
    CHECK(m.run((const float *const *)in, out) == 0, "round %d: NAME_run failed", r);
    if (threads_now() > most) most = threads_now();
    for (int i = 0; i < m.num_outputs(); i++) {
      if (!first[i]) first[i] = memcpy(malloc(out_len[i] * sizeof(float)), out[i], out_len[i] * sizeof(float));
      check_output(r, out[i], first[i], out_len[i]);
      free(out[i]);
    }
    for (int i = 0; i < m.num_inputs(); i++) free(in[i]);
    CHECK(dlclose(m.so) == 0, "dlclose: %s", dlerror());
    int now = threads_settled(start);
    CHECK(now == start, "round %d: %d threads after dlclose, %d before the first dlopen", r, now, start);
  }
  CHECK(most > start, "the library never started a worker thread (built with --threads 1?)");
  for (int i = 0; i < MAX_IO; i++) free(first[i]);
  printf("dlopen_host: %d rounds, %d threads at start, %d while running, %d at the end\n", rounds, start,
         most, threads_now());
  return failures ? 1 : 0;
}
