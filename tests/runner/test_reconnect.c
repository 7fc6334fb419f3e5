/*
 * test_reconnect.c — chamcc's runner client (measure/remote.c) against a
 * running chamcc-runner started with --idle-timeout 1:
 *
 *   test_reconnect HOST PORT DIR      (DIR: ok.so and crash.so of kernels.c)
 *
 * A connection the runner dropped while the tuner was busy elsewhere (idle
 * longer than its timeout) is replaced without losing a measurement; a
 * crash is a runtime error; a refused connection is an infra error (not
 * the candidate's fault) that names the runner; a malformed address is
 * refused at creation.
 */
#include "chamcc/remote.h"
#include "../check.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { N = 1000 }; /* as in kernels.c */


static float a[N], b[N], out[N], expect[N];

static rmt_task make_task(void) {
  for (int i = 0; i < N; i++) {
    a[i] = (float)(i % 7) - 3;
    b[i] = (float)(i % 3) * 0.5f;
    expect[i] = i < N - 8 ? a[i] * b[i] + 1 : NAN;
  }
  rmt_task t = {.n_bufs = 3, .out = 2, .bufs = {a, b, out}, .len = {N, N, N}, .expect = expect, .repeats = 2,
                .min_repeat_ms = 1.0, .timeout_s = 10, .nthreads = 2, .symbol = "candidate"};
  return t;
}

static rmt_result measure(rmt_client *c, const char *dir, const char *name) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  chm_err e = {0};
  size_t n = 0;
  unsigned char *so = chm_read_file(path, &n, &e);
  if (!so) {
    fprintf(stderr, "%s\n", e.msg);
    exit(1);
  }
  rmt_result r;
  rmt_client_measure(c, so, n, &r);
  free(so);
  printf("%-9s -> status %d, %d times, '%s'\n", name, r.status, r.n_times, r.message);
  return r;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: test_reconnect HOST PORT DIR\n");
    return 2;
  }
  char addr[300];
  snprintf(addr, sizeof addr, "%s:%s", argv[1], argv[2]);
  rmt_task t = make_task();
  chm_err e = {0};
  rmt_client *c = rmt_client_new(addr, &t, NULL, &e);
  CHECK(c, "%s", e.msg);
  if (!c) return 1;

  CHECK(measure(c, argv[3], "ok.so").status == RMT_OK, "first candidate");
  usleep(1500000); /* the runner drops us after 1 s of silence */
  CHECK(measure(c, argv[3], "ok.so").status == RMT_OK, "after the runner dropped the idle connection");
  CHECK(measure(c, argv[3], "crash.so").status == RMT_RUNTIME_ERROR, "a crash");
  CHECK(measure(c, argv[3], "ok.so").status == RMT_OK, "after the crash");
  rmt_client_free(c);

  c = rmt_client_new("127.0.0.1:1", &t, NULL, &e); /* nothing listens on port 1 */
  rmt_result r = measure(c, argv[3], "ok.so");
  CHECK(r.status == RMT_INFRA_ERROR && strstr(r.message, "runner 127.0.0.1:1: connect"), "refused: '%s'", r.message);
  rmt_client_free(c);

  chm_err bad = {0};
  CHECK(!rmt_client_new("no-port-here", &t, NULL, &bad), "a malformed address was accepted");
  CHECK(strstr(bad.msg, "HOST:PORT"), "message '%s'", bad.msg);

  if (failures) fprintf(stderr, "test_reconnect: %d checks failed\n", failures);
  else printf("test_reconnect: all checks passed\n");
  return failures ? 1 : 0;
}
