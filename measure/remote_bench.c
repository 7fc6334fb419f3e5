/*
 * remote_bench.c — what both measurers do with a loaded kernel: check its
 * output, time it, and do both in a child process that may crash or hang.
 *
 * The local measurer (measure.c) calls these on a JIT'ed kernel; the
 * runner (runner/runner.c) on one it dlopen()ed. Sharing them keeps the two
 * measurements the same: the same check, the same timing loop, the same
 * classification of crashes and timeouts.
 *
 * With a reference kernel (the task's default config, loaded once per
 * task), every candidate is timed in slices interleaved with it, so both
 * readings come from the same short window: a machine that slows down or
 * speeds up for a while (a competing process, a clock that boosts) moves
 * both, and the tuner ranks candidates by their ratio to the reference. Only libc (Linux) here: the
 * runner is a small program for a board.
 *
 * The child is in a process group of its own and ignores the terminal's
 * signals: Ctrl-C goes to the whole foreground group, and a measurement it
 * killed would be recorded as the config's crash. A death the config did
 * not cause (a signal from outside, a failed fork) is an infra error, which
 * the tuner does not record.
 */
#define _GNU_SOURCE /* strsignal */
#include "chamcc/remote.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void rmt_task_free(rmt_task *t) {
  for (int i = 0; i < t->n_bufs; i++) free(t->bufs[i]), t->bufs[i] = NULL;
  free(t->expect);
  t->expect = NULL;
  t->n_bufs = 0;
}

typedef void (*fn1)(float *);
typedef void (*fn2)(float *, float *);
typedef void (*fn3)(float *, float *, float *);
typedef void (*fn4)(float *, float *, float *, float *);
typedef void (*fn5)(float *, float *, float *, float *, float *);
typedef void (*fn6)(float *, float *, float *, float *, float *, float *);
typedef void (*fn7)(float *, float *, float *, float *, float *, float *, float *);
typedef void (*fn8)(float *, float *, float *, float *, float *, float *, float *, float *);

/* Kernels take n float pointers; C needs the arity at the call. */
void rmt_call(void *fn, float *const *b, int n) {
  switch (n) {
  case 1: ((fn1)fn)(b[0]); break;
  case 2: ((fn2)fn)(b[0], b[1]); break;
  case 3: ((fn3)fn)(b[0], b[1], b[2]); break;
  case 4: ((fn4)fn)(b[0], b[1], b[2], b[3]); break;
  case 5: ((fn5)fn)(b[0], b[1], b[2], b[3], b[4]); break;
  case 6: ((fn6)fn)(b[0], b[1], b[2], b[3], b[4], b[5]); break;
  case 7: ((fn7)fn)(b[0], b[1], b[2], b[3], b[4], b[5], b[6]); break;
  case 8: ((fn8)fn)(b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]); break;
  default: abort(); /* rmt_task_decode and the measurer never allow it */
  }
}

/* max|got - exp| / max|exp| over the positions where exp is not NaN; NaN
 * in got wins. */
static double rel_error(const float *got, const float *exp, int64_t n) {
  double d = 0, mx = 1e-30;
  for (int64_t i = 0; i < n; i++) {
    if (isnan(exp[i])) continue; /* halo or padding: any value is right */
    double x = fabs((double)got[i] - exp[i]);
    if (!(x <= d)) d = x;
    if (fabs(exp[i]) > mx) mx = fabs(exp[i]);
  }
  return d / mx;
}

/* Whether flush() can evict: RISC-V's base ISA has no cache flush (Zicbom's
 * cbo.flush is an optional extension), so cold timing is refused there. */
#if defined(__riscv)
enum { CAN_FLUSH = 0 };
#else
enum { CAN_FLUSH = 1 };
#endif

/* Writes back and evicts n floats at p from every cache level. */
static void flush(const float *p, int64_t n) {
  const char *b = (const char *)p, *e = (const char *)(p + n);
#if defined(__x86_64__)
  for (b = (const char *)((uintptr_t)b & ~(uintptr_t)63); b < e; b += 64) __builtin_ia32_clflush(b);
  __builtin_ia32_mfence();
#elif defined(__aarch64__)
  uint64_t ctr;
  __asm__ volatile("mrs %0, ctr_el0" : "=r"(ctr)); /* DminLine, bits 19:16: log2 of the line in words */
  size_t line = (size_t)4 << ((ctr >> 16) & 15);
  for (b = (const char *)((uintptr_t)b & ~(uintptr_t)(line - 1)); b < e; b += line)
    __asm__ volatile("dc civac, %0" : : "r"(b) : "memory");
  __asm__ volatile("dsb ish" : : : "memory");
#elif defined(__riscv)
  (void)b, (void)e; /* never called: CAN_FLUSH */
#else
#error "remote_bench.c: no cache flush for this architecture"
#endif
}

/* Seconds of `number` runs: back to back, or (cold) each alone after a
 * flush of every argument but the first. */
static double run_batch(void *fn, const rmt_task *t, int number) {
  if (t->cold) {
    double sum = 0;
    for (int i = 0; i < number; i++) {
      for (int b = 1; b < t->n_bufs; b++) flush(t->bufs[b], t->len[b]);
      double t0 = now();
      rmt_call(fn, t->bufs, t->n_bufs);
      sum += now() - t0;
    }
    return sum;
  }
  double t0 = now();
  for (int i = 0; i < number; i++) rmt_call(fn, t->bufs, t->n_bufs);
  return now() - t0;
}

/* Runs per batch so that one batch lasts ms (the warm-up), judged by the
 * fastest run seen (into *per_run) over at least two batches: one run
 * that a competing process held up must not make the batches short, or
 * they would mostly slip between its turns and read the machine as idle. */
static int calibrate(void *fn, const rmt_task *t, double ms, double *per_run) {
  int number = 1;
  *per_run = INFINITY;
  for (int tries = 0;; tries++) {
    double dt = run_batch(fn, t, number) / number;
    if (dt < *per_run) *per_run = dt;
    if ((tries > 0 && *per_run * number * 1e3 >= ms) || number >= (1 << 20)) return number;
    int want = *per_run > 0 ? (int)(ms / (*per_run * 1e3) * 1.2) + 1 : number * 10;
    number = want > 2 * number ? want : 2 * number;
  }
}

/* Repeats of fn alone: `number` runs each. */
static void time_alone(void *fn, const rmt_task *t, int repeats, rmt_result *r) {
  double per_run;
  int number = calibrate(fn, t, t->min_repeat_ms, &per_run);
  for (int k = 0; k < repeats; k++) r->times[r->n_times++] = run_batch(fn, t, number) / number;
}

/* Repeats of fn interleaved with t->ref: each repeat is RMT_SLICES batches
 * of each (fewer when one run outlasts min_repeat_ms / RMT_SLICES), in
 * pairs whose order (AB or BA) a coin decides, so that the two cover the
 * same window, a drift within it weighs on both alike, and no periodic
 * disturbance can fall into step with one of them. A repeat's reading of
 * each is its total time over its runs: a competing process's turns are
 * shared out as a fraction of the window, where a median over short
 * batches would flip between hit and missed ones. Each kernel gets about
 * min_repeat_ms per repeat, as alone: the timing takes twice as long. */
static void time_interleaved(void *fn, const rmt_task *t, int repeats, rmt_result *r) {
  double ms = t->min_repeat_ms / RMT_SLICES, pa, pb;
  int na = calibrate(fn, t, ms, &pa), nb = calibrate(t->ref, t, ms, &pb);
  double batch = na * pa > nb * pb ? na * pa : nb * pb; /* seconds of the longer batch */
  int slices = (int)(t->min_repeat_ms / (1e3 * batch) + 0.5);
  slices = slices < 1 ? 1 : slices > RMT_SLICES ? RMT_SLICES : slices;
  unsigned coin = 2463534242u;
  for (int k = 0; k < repeats; k++) {
    double ta = 0, tb = 0;
    for (int s = 0; s < slices; s++) {
      coin ^= coin << 13, coin ^= coin >> 17, coin ^= coin << 5; /* xorshift32 */
      if (coin & 1) ta += run_batch(fn, t, na), tb += run_batch(t->ref, t, nb);
      else tb += run_batch(t->ref, t, nb), ta += run_batch(fn, t, na);
    }
    r->times[r->n_times++] = ta / ((double)na * slices);
    r->ref_times[r->n_ref++] = tb / ((double)nb * slices);
  }
}

void rmt_bench(void *fn, const rmt_task *t, rmt_result *r) {
  memset(r, 0, sizeof *r);
  float *out = t->bufs[t->out];
  int64_t n_out = t->len[t->out];
  memset(out, 0xff, (size_t)n_out * sizeof(float)); /* NaN: a position never written is wrong */
  rmt_call(fn, t->bufs, t->n_bufs);
  double err = rel_error(out, t->expect, n_out);
  if (!(err <= 1e-4)) {
    r->status = RMT_WRONG_ANSWER;
    snprintf(r->message, sizeof r->message, "relative error %.3g against the OpenBLAS reference", err);
    return;
  }
  if (t->cold && !CAN_FLUSH) { /* checked, but cannot be timed here: not the config's fault */
    r->status = RMT_INFRA_ERROR;
    snprintf(r->message, sizeof r->message, "cold timing needs a cache flush, which this machine lacks");
    return;
  }
  int repeats = t->repeats < 1 ? 1 : t->repeats > RMT_MAX_TIMES ? RMT_MAX_TIMES : t->repeats;
  if (t->ref) time_interleaved(fn, t, repeats, r);
  else time_alone(fn, t, repeats, r);
  r->status = RMT_OK;
}

/* ---- isolation ---- */

/* Reads the child's result until the deadline or end of file; returns the
 * bytes read. */
static size_t read_result(int fd, double deadline, rmt_result *r) {
  struct pollfd p = {fd, POLLIN, 0};
  size_t got = 0;
  while (got < sizeof *r) {
    double left = (deadline - now()) * 1000;
    if (left <= 0) break;
    int k = poll(&p, 1, left > 1e9 ? 1000000000 : (int)left + 1);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) break;
    ssize_t n = read(fd, (char *)r + got, sizeof *r - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += (size_t)n;
  }
  return got;
}

int rmt_signal_status(int sig) {
  int crash = sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE || sig == SIGABRT || sig == SIGTRAP;
  return crash ? RMT_RUNTIME_ERROR : RMT_INFRA_ERROR;
}

/* Why the child ended without a whole result. Its pipe closes a moment
 * before it becomes a zombie, so a dead child is waited for (up to the
 * deadline) rather than taken for a hanging one. */
static void classify_exit(pid_t pid, double deadline, double timeout_s, rmt_result *r) {
  int st = 0;
  pid_t w;
  while ((w = waitpid(pid, &st, WNOHANG)) == 0 && now() < deadline) usleep(1000);
  r->n_times = r->n_ref = 0;
  if (w == 0) { /* still running: out of time */
    kill(pid, SIGKILL);
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
    r->status = RMT_TIMEOUT;
    snprintf(r->message, sizeof r->message, "no result within %.1f s", timeout_s);
    return;
  }
  r->status = RMT_INFRA_ERROR;
  if (w < 0) {
    snprintf(r->message, sizeof r->message, "waitpid: %s", strerror(errno));
  } else if (WIFSIGNALED(st)) {
    r->status = rmt_signal_status(WTERMSIG(st));
    snprintf(r->message, sizeof r->message, "killed by signal %d (%s)%s", WTERMSIG(st), strsignal(WTERMSIG(st)),
             r->status == RMT_INFRA_ERROR ? " from outside" : "");
  } else {
    snprintf(r->message, sizeof r->message, "exited with status %d without a result", WEXITSTATUS(st));
  }
}

/* The signals a terminal sends its foreground group, or a user to all. */
static void terminal_signals(sigset_t *s) {
  sigemptyset(s);
  sigaddset(s, SIGINT);
  sigaddset(s, SIGTERM);
  sigaddset(s, SIGHUP);
}

/* Starts with the terminal signals blocked (see rmt_run_isolated). */
static _Noreturn void child_main(int fd, pid_t parent, const sigset_t *mask, void (*child)(void *, rmt_result *),
                                 void *ctx) {
  /* dies with its parent: a killed tuner or runner leaves no kernel
   * spinning, nor its sockets open */
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(1);
  /* out of the terminal's reach: a Ctrl-C is for the parent, which decides
   * what an interrupt means; one that came before this is discarded here */
  setpgid(0, 0);
  int quiet[] = {SIGINT, SIGTERM, SIGHUP};
  for (size_t i = 0; i < sizeof quiet / sizeof quiet[0]; i++) signal(quiet[i], SIG_IGN);
  pthread_sigmask(SIG_SETMASK, mask, NULL);
  /* a crash must kill the child, whatever handlers the parent installed
   * (sanitizers, the host program): the parent reads the signal */
  int sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP};
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) signal(sigs[i], SIG_DFL);
  rmt_result r;
  memset(&r, 0, sizeof r);
  child(ctx, &r);
  ssize_t n = write(fd, &r, sizeof r);
  _exit(n == (ssize_t)sizeof r ? 0 : 1);
}

static void failed(rmt_result *r, const char *what) {
  r->status = RMT_INFRA_ERROR;
  snprintf(r->message, sizeof r->message, "%s: %s", what, strerror(errno));
}

void rmt_run_isolated(void (*child)(void *ctx, rmt_result *r), void *ctx, double timeout_s,
                      rmt_result *r) {
  memset(r, 0, sizeof *r);
  int fds[2];
  if (pipe(fds)) {
    failed(r, "pipe");
    return;
  }
  fflush(NULL);
  sigset_t term, mask; /* blocked until the child ignores them: no window for a Ctrl-C */
  terminal_signals(&term);
  pthread_sigmask(SIG_BLOCK, &term, &mask);
  pid_t parent = getpid(), pid = fork();
  if (pid == 0) {
    close(fds[0]);
    child_main(fds[1], parent, &mask, child, ctx);
  }
  pthread_sigmask(SIG_SETMASK, &mask, NULL);
  if (pid < 0) {
    failed(r, "fork");
    close(fds[0]), close(fds[1]);
    return;
  }
  close(fds[1]);
  double deadline = now() + timeout_s;
  rmt_result got;
  memset(&got, 0, sizeof got);
  if (read_result(fds[0], deadline, &got) == sizeof got) {
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
    *r = got;
    r->message[sizeof r->message - 1] = 0;
    if (r->status < 0 || r->status > RMT_INFRA_ERROR || r->n_times < 0 || r->n_times > RMT_MAX_TIMES ||
        (r->n_ref != 0 && r->n_ref != r->n_times)) {
      r->status = RMT_RUNTIME_ERROR, r->n_times = r->n_ref = 0; /* the kernel scribbled over the report */
      snprintf(r->message, sizeof r->message, "the child's report is corrupt");
    }
  } else {
    classify_exit(pid, deadline, timeout_s, r);
  }
  close(fds[0]);
}
