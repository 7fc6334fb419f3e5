/*
 * test_interleave.c — the interleaved measurement (rmt_bench with a
 * reference kernel) ranks two kernels of known relative speed correctly
 * while a competing load starts and stops on the same core.
 *
 * `twice` does exactly twice the work of `once` (the same dependent chain
 * of multiply-adds, run two times), and both write the same output, so
 * both pass the check. This process and a burner child are pinned to one
 * core; the burner spins and sleeps in turns of 200 to 800 ms (seeded), so
 * each measurement meets the machine at a different speed. Each round
 * times `once` and `twice` beside the reference `once` and asserts that
 * the ratios rank them, with a margin a true factor of 2 never comes near
 * (RANK_MARGIN). The same kernels timed alone, one after the other, as
 * before interleaving, are printed beside them: how often plain readings
 * were fooled is information, not an assertion (it depends on the timing).
 */
#define _GNU_SOURCE /* sched_setaffinity */
#include "chamcc/remote.h"

#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../check.h"

enum {
  CHAIN = 100000, /* multiply-adds of `once`: about 0.4 ms */
  ROUNDS = 4,     /* rounds of both kernels */
  REPEATS = 5,    /* interleaved repeats per measurement */
};
#define RANK_MARGIN 1.2 /* twice / once must read at least this, of a true 2 */

/* A dependent chain the compiler may neither shorten nor merge. */
__attribute__((noinline)) static float chain(float x) {
  for (int i = 0; i < CHAIN; i++) {
    x = x * 0.9999999f + 1e-7f;
    __asm__ volatile("" : "+x"(x));
  }
  return x;
}

static void once(float *in, float *out) { out[0] = chain(in[0]); }

static void twice(float *in, float *out) {
  out[0] = chain(in[0]);
  out[0] = chain(in[0]);
}

/* Pins the calling process to cpu; 0 if it could. */
static int pin(int cpu) {
  cpu_set_t s;
  CPU_ZERO(&s);
  CPU_SET(cpu, &s);
  return sched_setaffinity(0, sizeof s, &s);
}

static void sleep_ms(int ms) { nanosleep(&(struct timespec){ms / 1000, (long)(ms % 1000) * 1000000L}, NULL); }

/* The competing load: spins and sleeps in turns of 200 to 800 ms, until
 * its parent dies. */
static _Noreturn void burner(int cpu) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  pin(cpu);
  unsigned seed = 12345;
  volatile double sink = 0;
  for (;;) {
    seed = seed * 1103515245u + 12345u;
    int ms = 200 + (int)(seed >> 16) % 600;
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
      for (int i = 0; i < 10000; i++) sink += i;
      clock_gettime(CLOCK_MONOTONIC, &t);
    } while ((t.tv_sec - t0.tv_sec) * 1000.0 + (t.tv_nsec - t0.tv_nsec) / 1e6 < ms);
    seed = seed * 1103515245u + 12345u;
    sleep_ms(200 + (int)(seed >> 16) % 600);
  }
}

static double median(double *v, int n) {
  for (int i = 1; i < n; i++) /* insertion sort: a handful */
    for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
      double x = v[j];
      v[j] = v[j - 1], v[j - 1] = x;
    }
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* fn's time relative to the task's reference: the median over repeats of
 * the candidate's reading over the reference's beside it. */
static double ratio(void *fn, const rmt_task *t) {
  rmt_result r;
  rmt_bench(fn, t, &r);
  CHECK(r.status == RMT_OK && r.n_ref == r.n_times && r.n_times == REPEATS, "status %d (%s), %d times, %d ref",
        r.status, r.message, r.n_times, r.n_ref);
  double v[RMT_MAX_TIMES];
  for (int i = 0; i < r.n_times; i++) v[i] = r.times[i] / r.ref_times[i];
  return median(v, r.n_times);
}

/* fn timed alone: its median seconds per run. */
static double alone(void *fn, const rmt_task *t) {
  rmt_task a = *t;
  a.ref = NULL;
  rmt_result r;
  rmt_bench(fn, &a, &r);
  CHECK(r.status == RMT_OK && r.n_ref == 0, "alone: status %d (%s)", r.status, r.message);
  return median(r.times, r.n_times);
}

int main(void) {
  float in = 0.5f, out = 0, want = chain(0.5f);
  rmt_task t = {.n_bufs = 2, .out = 1, .bufs = {&in, &out}, .len = {1, 1}, .expect = &want, .repeats = REPEATS,
                .min_repeat_ms = 30, .timeout_s = 60, .ref = (void *)once};
  int cpu = sched_getcpu();
  int pinned = cpu >= 0 && pin(cpu) == 0;
  pid_t pid = fork();
  if (pid == 0) burner(cpu < 0 ? 0 : cpu);
  CHECK(pid > 0, "fork");
  printf("this process and a burner (spinning and sleeping in turns of 200-800 ms) on cpu %d%s\n", cpu,
         pinned ? "" : " (not pinned: sched_setaffinity failed)");
  printf("round  once/ref  twice/ref  ranked  |  alone: once ms  twice ms  twice/once\n");
  int fooled = 0;
  for (int k = 0; k < ROUNDS && pid > 0; k++) {
    double r1 = ratio((void *)once, &t), r2 = ratio((void *)twice, &t);
    double a1 = alone((void *)once, &t), a2 = alone((void *)twice, &t);
    fooled += a2 / a1 < RANK_MARGIN;
    printf("%5d  %8.3f  %9.3f  %6.2f  |  %14.3f  %8.3f  %10.2f\n", k, r1, r2, r2 / r1, a1 * 1e3, a2 * 1e3, a2 / a1);
    CHECK(r2 / r1 >= RANK_MARGIN, "round %d: twice/once read %.3f beside the reference (true: 2)", k, r2 / r1);
  }
  printf("timed alone, `twice` read less than %.1fx `once` in %d of %d rounds\n", RANK_MARGIN, fooled, ROUNDS);
  if (pid > 0) {
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
  }
  printf("%s\n", failures ? "FAILED" : "ok");
  return failures != 0;
}
