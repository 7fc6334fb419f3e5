/*
 * test_rt_parallel.c — chm_rt_parallel_for (runtime/rt.c).
 *
 *   test_rt_parallel cover       every index exactly once, near-equal
 *                                contiguous slices, for many n x nthreads;
 *                                nested loops; workers that went to sleep;
 *                                a forked child that uses the pool
 *   test_rt_parallel concurrent  several threads calling at once
 *   test_rt_parallel overhead    prints the median cost of an empty loop
 *
 * Each check records every slice it was given and verifies the coverage
 * afterwards; a failure prints what went wrong and exits 1.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "chamcc/rt.h"

enum { MAX_N = 5000, MAX_SLICES = 512 };

typedef struct record {
  atomic_int hits[MAX_N];     /* times each index was run */
  atomic_int nslices;         /* slices handed out */
  int64_t len[MAX_SLICES];    /* length of each slice */
} record;

#include "../check.h"


static void record_task(void *ctx, int64_t b, int64_t e) {
  record *r = ctx;
  int s = atomic_fetch_add(&r->nslices, 1);
  if (s < MAX_SLICES) r->len[s] = e - b;
  for (int64_t i = b; i < e; i++) atomic_fetch_add(&r->hits[i], 1);
}

static long ncpus(void) { return sysconf(_SC_NPROCESSORS_ONLN); }

/* Runs one loop and checks coverage and the slice sizes. */
static void check_one(int64_t n, int nthreads) {
  static record r;
  memset(&r, 0, sizeof r);
  chm_rt_parallel_for(record_task, &r, n, nthreads);
  for (int64_t i = 0; i < n; i++)
    CHECK(r.hits[i] == 1, "n=%lld nthreads=%d: index %lld run %d times", (long long)n, nthreads,
          (long long)i, r.hits[i]);
  int k = r.nslices;
  long want = nthreads > 0 ? nthreads : ncpus();
  CHECK(k <= (n < want ? n : want) || (n == 0 && k == 0), "n=%lld nthreads=%d: %d slices",
        (long long)n, nthreads, k);
  int64_t lo = INT64_MAX, hi = 0;
  for (int s = 0; s < k; s++) {
    lo = r.len[s] < lo ? r.len[s] : lo;
    hi = r.len[s] > hi ? r.len[s] : hi;
    CHECK(r.len[s] > 0, "n=%lld nthreads=%d: empty slice", (long long)n, nthreads);
  }
  CHECK(k == 0 || hi - lo <= 1, "n=%lld nthreads=%d: slices of %lld..%lld", (long long)n, nthreads,
        (long long)lo, (long long)hi);
}

/* A task that runs a parallel loop inside each slice (served serially). */
static void nested_task(void *ctx, int64_t b, int64_t e) {
  record *inner = ctx;
  for (int64_t i = b; i < e; i++) chm_rt_parallel_for(record_task, &inner[i], 100, 4);
}

static void check_nested(void) {
  static record inner[4];
  memset(inner, 0, sizeof inner);
  chm_rt_parallel_for(nested_task, inner, 4, 2);
  for (int j = 0; j < 4; j++)
    for (int i = 0; i < 100; i++) CHECK(inner[j].hits[i] == 1, "nested: loop %d index %d", j, i);
}

/* Many calls, some after a pause long enough for the workers to sleep. */
static void check_sleep_wake(void) {
  for (int rep = 0; rep < 300; rep++) {
    if (rep % 10 == 0) usleep(300);
    check_one(1 + rep % 37, 1 + rep % 4);
  }
}

/* A child forked after the pool started must still run parallel loops. */
static void check_fork(void) {
  check_one(100, 2);
  pid_t pid = fork();
  if (pid == 0) {
    alarm(20);
    check_one(1000, 3);
    check_one(7, 2);
    _exit(failures ? 1 : 0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "forked child failed (status %d)", status);
  check_one(100, 2);
}

static int cover(void) {
  static const int64_t ns[] = {0, 1, 2, 3, 5, 7, 8, 13, 64, 100, 1000, 4097, MAX_N};
  static const int ths[] = {-1, 0, 1, 2, 3, 4, 7, 8, 16, 64, 300};
  for (size_t i = 0; i < sizeof ns / sizeof *ns; i++)
    for (size_t j = 0; j < sizeof ths / sizeof *ths; j++) check_one(ns[i], ths[j]);
  check_nested();
  check_sleep_wake();
  check_fork();
  return failures ? 1 : 0;
}

/* ---- concurrent callers ---- */

typedef struct sum_job {
  int64_t *out; /* out[i] = i * 3 */
} sum_job;

static void fill_task(void *ctx, int64_t b, int64_t e) {
  sum_job *j = ctx;
  for (int64_t i = b; i < e; i++) j->out[i] += i * 3;
}

static void *caller_main(void *arg) {
  unsigned seed = (unsigned)(uintptr_t)arg;
  int64_t *out = malloc(MAX_N * sizeof *out);
  long bad = 0;
  for (int rep = 0; rep < 3000; rep++) {
    int64_t n = 1 + rand_r(&seed) % MAX_N;
    memset(out, 0, (size_t)n * sizeof *out);
    sum_job j = {out};
    chm_rt_parallel_for(fill_task, &j, n, 1 + rand_r(&seed) % 4);
    for (int64_t i = 0; i < n; i++) bad += out[i] != i * 3;
  }
  free(out);
  return (void *)bad;
}

static int concurrent(void) {
  enum { NCALLERS = 4 };
  pthread_t t[NCALLERS];
  for (int i = 0; i < NCALLERS; i++) pthread_create(&t[i], NULL, caller_main, (void *)(uintptr_t)(i + 1));
  long bad = 0;
  for (int i = 0; i < NCALLERS; i++) {
    void *r;
    pthread_join(t[i], &r);
    bad += (long)r;
  }
  CHECK(bad == 0, "concurrent callers: %ld wrong elements", bad);
  return failures ? 1 : 0;
}

/* ---- overhead ---- */

static void empty_task(void *ctx, int64_t b, int64_t e) {}

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return 1e6 * (double)ts.tv_sec + 1e-3 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Median microseconds of one empty 2-thread loop, pause_us apart. */
static double median_call_us(int reps, int pause_us) {
  double *t = malloc((size_t)reps * sizeof *t);
  for (int i = 0; i < reps; i++) {
    if (pause_us) usleep((useconds_t)pause_us);
    double t0 = now_us();
    chm_rt_parallel_for(empty_task, NULL, 2, 2);
    t[i] = now_us() - t0;
  }
  qsort(t, (size_t)reps, sizeof *t, cmp_double);
  double m = t[reps / 2];
  free(t);
  return m;
}

static int overhead(void) {
  chm_rt_parallel_for(empty_task, NULL, 2, 2); /* start the pool */
  printf("empty parallel_for, 2 threads, back to back: median %.2f us\n", median_call_us(20000, 0));
  printf("empty parallel_for, 2 threads, workers asleep (1 ms apart): median %.2f us\n",
         median_call_us(300, 1000));
  return 0;
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "cover";
  if (!strcmp(mode, "cover")) return cover();
  if (!strcmp(mode, "concurrent")) return concurrent();
  if (!strcmp(mode, "overhead")) return overhead();
  fprintf(stderr, "usage: test_rt_parallel cover|concurrent|overhead\n");
  return 2;
}
