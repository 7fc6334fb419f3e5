/*
 * test_isolated.c — the measuring child and what its end means (issue 26).
 *
 * rmt_run_isolated's child leads a process group of its own and ignores
 * SIGINT, SIGTERM and SIGHUP: a child that sends SIGINT to its parent's
 * group (what Ctrl-C does) reaches the parent only, and still reports. A
 * crash is the config's runtime error; a kill from outside, an exit without
 * a result, a failed fork are infra errors, which the tuning log refuses.
 * A hang is a timeout.
 */
#include "chamcc/remote.h"
#include "chamcc/tune.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "../check.h"

static volatile sig_atomic_t parent_got; /* SIGINTs that reached this process */

static void on_int(int sig) { parent_got += sig == SIGINT; }

/* Ctrl-C from the child: SIGINT to the parent's group, and to its own
 * (both ignored or elsewhere); then an ok report if it is alone in its group. */
static void ctrl_c(void *ctx, rmt_result *r) {
  pid_t parent_group = *(pid_t *)ctx;
  kill(-parent_group, SIGINT);
  raise(SIGINT), raise(SIGTERM), raise(SIGHUP);
  usleep(100000);
  r->status = getpgrp() == getpid() ? RMT_OK : RMT_WRONG_ANSWER;
}

static void segfault(void *ctx, rmt_result *r) {
  (void)ctx, (void)r;
  raise(SIGSEGV);
}

static void killed(void *ctx, rmt_result *r) {
  (void)ctx, (void)r;
  kill(getpid(), SIGKILL); /* as the OOM killer or a user's kill -9 would */
}

static void quits(void *ctx, rmt_result *r) {
  (void)ctx, (void)r;
  _exit(3);
}

static void hangs(void *ctx, rmt_result *r) {
  (void)ctx, (void)r;
  pause();
}

static rmt_result run(void (*child)(void *, rmt_result *), void *ctx, double timeout_s) {
  rmt_result r;
  rmt_run_isolated(child, ctx, timeout_s, &r);
  printf("status %d: '%s'\n", r.status, r.message);
  return r;
}

int main(void) {
  int crashes[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP};
  for (size_t i = 0; i < sizeof crashes / sizeof crashes[0]; i++)
    CHECK(rmt_signal_status(crashes[i]) == RMT_RUNTIME_ERROR, "signal %d", crashes[i]);
  int outside[] = {SIGKILL, SIGINT, SIGTERM, SIGHUP, SIGUSR1};
  for (size_t i = 0; i < sizeof outside / sizeof outside[0]; i++)
    CHECK(rmt_signal_status(outside[i]) == RMT_INFRA_ERROR, "signal %d", outside[i]);

  setpgid(0, 0); /* the Ctrl-C below must not reach ctest */
  signal(SIGINT, on_int);
  pid_t group = getpgrp();
  rmt_result r = run(ctrl_c, &group, 5);
  CHECK(r.status == RMT_OK, "the child did not survive Ctrl-C alone in its group: %d '%s'", r.status, r.message);
  CHECK(parent_got == 1, "the parent got %d SIGINTs", (int)parent_got);

  r = run(segfault, NULL, 5);
  CHECK(r.status == RMT_RUNTIME_ERROR && strstr(r.message, "signal 11"), "a crash: %d", r.status);
  r = run(killed, NULL, 5);
  CHECK(r.status == RMT_INFRA_ERROR && strstr(r.message, "from outside"), "a kill: %d", r.status);
  r = run(quits, NULL, 5);
  CHECK(r.status == RMT_INFRA_ERROR && strstr(r.message, "without a result"), "an exit: %d", r.status);
  r = run(hangs, NULL, 0.3);
  CHECK(r.status == RMT_TIMEOUT, "a hang: %d", r.status);

  CHECK(!strcmp(meas_status_name(MEAS_INFRA_ERROR), "infra_error"));
  chm_err e = {0};
  tune_log *log = tune_log_open(NULL, NULL, NULL, NULL, NULL, &e);
  tune_record rec = {.status = MEAS_INFRA_ERROR, .n_config = 1};
  CHECK(tune_log_append(log, &rec, &e) == -1 && strstr(e.msg, "infra_error"), "appended: '%s'", e.msg);
  CHECK(tune_log_size(log) == 0);
  tune_log_close(log);

  if (failures) fprintf(stderr, "test_isolated: %d checks failed\n", failures);
  else printf("test_isolated: all checks passed\n");
  return failures != 0;
}
