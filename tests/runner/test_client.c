/*
 * test_client.c — talks to a running chamcc-runner as chamcc does, and as a
 * broken or hostile client would:
 *
 *   test_client HOST PORT DIR [no-flush]
 *
 * DIR holds ok.so, wrong.so, crash.so, hang.so and nosym.so, built from
 * kernels.c for the runner's machine. The runner must run with
 * --max-bytes 1000000 --idle-timeout 1. no-flush: the runner's machine
 * has no cache flush (RISC-V), so a cold TASK's candidates are checked
 * but not timed: an infra error that says why.
 *
 * Every connection starts with the runner's HELLO (no key, no nonce).
 * Measurements: a good kernel is ok and timed; a crash is a runtime error
 * and the same connection still answers the next candidate; a wrong kernel
 * is a wrong answer; a missing symbol or a file that is no shared object
 * are runtime errors naming dlsym / dlopen; a hang is a timeout. After a
 * REFERENCE, results carry the reference's readings too.
 * Garbage: random bytes, a bad magic, an oversized length, truncated
 * frames, unknown or misplaced types, inconsistent TASKs and silent
 * clients each get an ERROR frame, and a good request afterwards works.
 */
#include "chamcc/remote.h"
#include "../check.h"

#include <math.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

enum { N = 1000 }; /* as in kernels.c */

static const char *host, *port, *dir;
static int no_flush; /* the runner cannot time cold runs */

/* A connection to the runner, with a receive timeout so that no check
 * can hang the test, past the runner's HELLO (a runner without a key: no
 * nonce to answer). */
static rmt_conn dial(void) {
  rmt_conn c = {-1, 1 << 20, NULL, ""};
  struct addrinfo hints = {0}, *res;
  hints.ai_socktype = SOCK_STREAM;
  if (getaddrinfo(host, port, &hints, &res)) {
    fprintf(stderr, "cannot resolve %s\n", host);
    exit(1);
  }
  c.fd = socket(res->ai_family, SOCK_STREAM, 0);
  if (c.fd < 0 || connect(c.fd, res->ai_addr, res->ai_addrlen)) {
    perror("connect");
    exit(1);
  }
  freeaddrinfo(res);
  struct timeval tv = {60, 0};
  setsockopt(c.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  uint32_t type = 0;
  unsigned char *p = NULL;
  uint64_t size = 0;
  rmt_hello h = {0};
  CHECK(rmt_recv(&c, &type, &p, &size) == RMT_GOT && type == RMT_HELLO && !rmt_hello_decode(p, size, &h),
        "no HELLO from the runner (%s)", c.why);
  CHECK(h.version == RMT_VERSION && h.flags == 0, "HELLO: version %u, flags %u", h.version, h.flags);
  free(p);
  return c;
}

static float a[N], b[N], out[N], expect[N];

/* out = a * b + 1 on all but the last 8 positions, which are "don't care". */
static rmt_task make_task(double timeout_s, int cold) {
  for (int i = 0; i < N; i++) {
    a[i] = (float)(i % 17) - 8;
    b[i] = (float)(i % 5) * 0.25f;
    expect[i] = i < N - 8 ? a[i] * b[i] + 1 : NAN;
  }
  rmt_task t = {.n_bufs = 3, .out = 2, .bufs = {a, b, out}, .len = {N, N, N}, .expect = expect, .repeats = 2,
                .min_repeat_ms = 1.0, .timeout_s = timeout_s, .nthreads = 2, .cold = cold, .symbol = "candidate"};
  return t;
}

static unsigned char *encoded_task(double timeout_s, size_t *size) {
  rmt_task t = make_task(timeout_s, 0);
  return rmt_task_encode(&t, size);
}

/* A decoded TASK's arguments are RMT_ALIGN-byte aligned, as a built
 * library's are, whatever the sender's were. */
static void test_decoded_alignment(void) {
  static float src[3][N + 1];
  for (int i = 0; i < 3; i++)
    for (int j = 0; j <= N; j++) src[i][j] = (float)(i * 1000 + j);
  rmt_task t = make_task(10, 0);
  for (int i = 0; i < 3; i++) t.bufs[i] = (uintptr_t)src[i] % RMT_ALIGN ? src[i] : src[i] + 1; /* misaligned */
  size_t n;
  unsigned char *p = rmt_task_encode(&t, &n);
  rmt_task d;
  char why[256] = "";
  CHECK(p && !rmt_task_decode(p, n, &d, why, sizeof why), "decode: %s", why);
  for (int i = 0; i < d.n_bufs; i++) {
    CHECK((uintptr_t)d.bufs[i] % RMT_ALIGN == 0, "argument %d at %p is not %d-byte aligned", i, (void *)d.bufs[i],
          RMT_ALIGN);
    CHECK(!memcmp(d.bufs[i], t.bufs[i], N * sizeof(float)), "argument %d changed on the wire", i);
  }
  CHECK((uintptr_t)d.expect % RMT_ALIGN == 0, "the expected output is not aligned");
  rmt_task_free(&d);
  free(p);
}

static void send_task_cold(rmt_conn *c, double timeout_s, int cold) {
  size_t n;
  rmt_task t = make_task(timeout_s, cold);
  unsigned char *p = rmt_task_encode(&t, &n);
  CHECK(!rmt_send(c, RMT_TASK, p, n), "send TASK: %s", c->why);
  free(p);
}

static void send_task(rmt_conn *c, double timeout_s) { send_task_cold(c, timeout_s, 0); }

static unsigned char *read_file(const char *name, size_t *n) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "rb");
  if (!f) {
    perror(path);
    exit(1);
  }
  unsigned char *p = malloc(1 << 22);
  *n = fread(p, 1, 1 << 22, f);
  fclose(f);
  return p;
}

/* Sends a candidate's bytes and reads its RESULT. */
static rmt_result measure_bytes(rmt_conn *c, const unsigned char *so, size_t n) {
  rmt_result r = {.status = -1};
  uint32_t type = 0;
  unsigned char *p = NULL;
  uint64_t size = 0;
  CHECK(!rmt_send(c, RMT_CANDIDATE, so, n), "send CANDIDATE: %s", c->why);
  int got = rmt_recv(c, &type, &p, &size);
  CHECK(got == RMT_GOT && type == RMT_RESULT, "expected a RESULT, got %d type %u (%s)", got, type,
        got == RMT_GOT ? (char *)p : c->why);
  if (got == RMT_GOT && type == RMT_RESULT) CHECK(!rmt_result_decode(p, size, &r), "malformed RESULT");
  free(p);
  return r;
}

static rmt_result measure(rmt_conn *c, const char *so) {
  size_t n;
  unsigned char *p = read_file(so, &n);
  rmt_result r = measure_bytes(c, p, n);
  free(p);
  printf("%-10s -> status %d, %d times, '%s'\n", so, r.status, r.n_times, r.message);
  return r;
}

static void expect_ok(rmt_conn *c) {
  rmt_result r = measure(c, "ok.so");
  CHECK(r.status == RMT_OK, "ok.so: status %d (%s)", r.status, r.message);
  CHECK(r.n_times == 2, "ok.so: %d times", r.n_times);
  for (int i = 0; i < r.n_times; i++) CHECK(r.times[i] > 0, "ok.so: time %g", r.times[i]);
}

static void expect_status(rmt_conn *c, const char *so, int status, const char *needle) {
  rmt_result r = measure(c, so);
  CHECK(r.status == status, "%s: status %d, expected %d (%s)", so, r.status, status, r.message);
  CHECK(strstr(r.message, needle), "%s: message '%s' lacks '%s'", so, r.message, needle);
}

/* A fresh connection that measures a good kernel: the runner still serves. */
static void good_request(const char *after) {
  printf("a good request after %s:\n", after);
  rmt_conn c = dial();
  send_task(&c, 10);
  expect_ok(&c);
  close(c.fd);
}

/* ---- measurements ---- */

static void test_measurements(void) {
  rmt_conn c = dial();
  send_task(&c, 10);
  expect_ok(&c);
  expect_status(&c, "crash.so", RMT_RUNTIME_ERROR, "killed by signal");
  expect_ok(&c); /* the same connection goes on after a crash */
  expect_status(&c, "wrong.so", RMT_WRONG_ANSWER, "relative error");
  expect_status(&c, "nosym.so", RMT_RUNTIME_ERROR, "dlsym");
  const unsigned char junk[] = "this is not a shared object";
  rmt_result r = measure_bytes(&c, junk, sizeof junk);
  printf("junk bytes -> status %d, '%s'\n", r.status, r.message);
  CHECK(r.status == RMT_RUNTIME_ERROR && strstr(r.message, "dlopen"), "junk: %d '%s'", r.status, r.message);
  expect_ok(&c);
  close(c.fd);

  c = dial();
  send_task(&c, 1);
  expect_status(&c, "hang.so", RMT_TIMEOUT, "no result within");
  expect_ok(&c);
  close(c.fd);

  c = dial(); /* cold: every run alone, its arguments flushed first; still checked */
  send_task_cold(&c, 10, 1);
  if (no_flush) expect_status(&c, "ok.so", RMT_INFRA_ERROR, "cache flush");
  else expect_ok(&c);
  expect_status(&c, "wrong.so", RMT_WRONG_ANSWER, "relative error");
  close(c.fd);
}

/* Sends the shared object `so` as the connection's REFERENCE. */
static void send_reference(rmt_conn *c, const char *so) {
  size_t n;
  unsigned char *p = read_file(so, &n);
  CHECK(!rmt_send(c, RMT_REFERENCE, p, n), "send REFERENCE: %s", c->why);
  free(p);
}

/* With a REFERENCE, every RESULT carries the reference's reading of each
 * repeat beside the candidate's; the candidate is still checked; a
 * reference that does not load is the runner's failure, not the
 * candidate's (an infra error). */
static void test_reference(void) {
  rmt_conn c = dial();
  send_task(&c, 10);
  send_reference(&c, "ok.so");
  rmt_result r = measure(&c, "ok.so");
  CHECK(r.status == RMT_OK && r.n_times == 2 && r.n_ref == 2, "with a reference: status %d, %d times, %d ref",
        r.status, r.n_times, r.n_ref);
  for (int i = 0; i < r.n_ref; i++) CHECK(r.ref_times[i] > 0, "reference time %g", r.ref_times[i]);
  expect_status(&c, "wrong.so", RMT_WRONG_ANSWER, "relative error");
  close(c.fd);

  c = dial();
  send_task(&c, 10);
  send_reference(&c, "nosym.so");
  expect_status(&c, "ok.so", RMT_INFRA_ERROR, "reference kernel");
  close(c.fd);
}

/* ---- garbage ---- */

/* Reads what the runner says to a bad client: it must be an ERROR frame
 * whose text contains needle. */
static void expect_error(rmt_conn *c, const char *what, const char *needle) {
  uint32_t type = 0;
  unsigned char *p = NULL;
  uint64_t size = 0;
  int got = rmt_recv(c, &type, &p, &size);
  printf("%-28s -> %s\n", what, got == RMT_GOT ? (char *)p : c->why);
  CHECK(got == RMT_GOT && type == RMT_ERROR, "%s: expected an ERROR frame, got %d type %u", what, got, type);
  if (got == RMT_GOT) CHECK(strstr((char *)p, needle), "%s: '%s' lacks '%s'", what, (char *)p, needle);
  free(p);
  close(c->fd);
  good_request(what);
}

static void header(unsigned char *h, const char *magic, uint32_t type, uint64_t len) {
  memcpy(h, magic, 4);
  for (int i = 0; i < 4; i++) h[4 + i] = (unsigned char)(type >> (8 * i));
  for (int i = 0; i < 8; i++) h[8 + i] = (unsigned char)(len >> (8 * i));
}

static void send_raw(rmt_conn *c, const void *p, size_t n) {
  CHECK(send(c->fd, p, n, MSG_NOSIGNAL) == (ssize_t)n, "send raw");
}

static void test_random_bytes(void) {
  unsigned char junk[64];
  unsigned x = 12345;
  for (size_t i = 0; i < sizeof junk; i++) x = x * 1103515245u + 12345u, junk[i] = (unsigned char)(x >> 16);
  junk[0] = 'X'; /* not "CHMR", whatever the generator says */
  rmt_conn c = dial();
  send_raw(&c, junk, sizeof junk);
  expect_error(&c, "random bytes", "bad magic");
}

static void test_bad_frames(void) {
  unsigned char h[RMT_HEADER + 16] = {0};
  rmt_conn c = dial();
  header(h, "CHMX", RMT_TASK, 4);
  send_raw(&c, h, RMT_HEADER + 4);
  expect_error(&c, "bad magic", "bad magic");

  c = dial();
  header(h, "CHMR", RMT_TASK, 1000001); /* just above --max-bytes */
  send_raw(&c, h, RMT_HEADER);
  expect_error(&c, "oversized length", "exceeds the limit");

  c = dial();
  header(h, "CHMR", RMT_TASK, 100);
  send_raw(&c, h, RMT_HEADER + 10);
  shutdown(c.fd, SHUT_WR);
  expect_error(&c, "truncated payload", "truncated frame");

  c = dial();
  send_raw(&c, "CHMR\x01", 5);
  shutdown(c.fd, SHUT_WR);
  expect_error(&c, "truncated header", "truncated frame header");

  c = dial();
  header(h, "CHMR", 99, 0);
  send_raw(&c, h, RMT_HEADER);
  expect_error(&c, "unknown type", "unexpected message type 99");

  c = dial();
  header(h, "CHMR", RMT_RESULT, 0);
  send_raw(&c, h, RMT_HEADER);
  expect_error(&c, "a RESULT from the client", "unexpected message type 3");
}

static void test_misplaced(void) {
  rmt_conn c = dial();
  size_t n;
  unsigned char *so = read_file("ok.so", &n);
  CHECK(!rmt_send(&c, RMT_CANDIDATE, so, n), "send");
  free(so);
  expect_error(&c, "CANDIDATE before TASK", "CANDIDATE before TASK");

  c = dial();
  send_task(&c, 10);
  send_task(&c, 10);
  expect_error(&c, "a second TASK", "second TASK");

  c = dial();
  send_reference(&c, "ok.so");
  expect_error(&c, "REFERENCE before TASK", "REFERENCE before TASK");

  c = dial();
  send_task(&c, 10);
  send_reference(&c, "ok.so");
  send_reference(&c, "ok.so");
  expect_error(&c, "a second REFERENCE", "second REFERENCE");
}

/* Sends a TASK payload and expects it refused. */
static void send_bad_task(const char *what, const unsigned char *p, size_t n, const char *needle) {
  rmt_conn c = dial();
  CHECK(!rmt_send(&c, RMT_TASK, p, n), "send");
  expect_error(&c, what, needle);
}

/* A valid TASK with the 32-bit field at `offset` set to value. */
static void bad_field(const char *what, size_t offset, uint32_t value, const char *needle) {
  size_t n;
  unsigned char *p = encoded_task(10, &n);
  for (int i = 0; i < 4; i++) p[offset + i] = (unsigned char)(value >> (8 * i));
  send_bad_task(what, p, n, needle);
  free(p);
}

/* A valid TASK cut or padded (with zeros) to size + delta bytes. */
static void bad_size(const char *what, long delta, const char *needle) {
  size_t n;
  unsigned char *p = encoded_task(10, &n);
  p = realloc(p, n + 8);
  memset(p + n, 0, 8);
  send_bad_task(what, p, (size_t)((long)n + delta), needle);
  free(p);
}

static void test_inconsistent_tasks(void) {
  /* offsets of the u32 fields: version 0, n_bufs 4, out 8, repeats 12, flags 36, symbol length 40 */
  bad_field("TASK of another version", 0, 7, "protocol version 7");
  bad_field("TASK with 9 arguments", 4, 9, "9 arguments");
  bad_field("TASK's output out of range", 8, 3, "output 3 is not one of its 3");
  bad_field("TASK with 0 repeats", 12, 0, "0 repeats");
  bad_field("TASK with unknown flags", 36, 6, "unknown flags 0x6");
  bad_field("TASK with a long symbol", 40, 5000, "too long");
  bad_size("TASK missing its last float", -4, "more than the payload holds");
  bad_size("TASK with a trailing byte", 1, "after its last field");
  size_t n;
  unsigned char *p = encoded_task(10, &n);
  send_bad_task("TASK cut in its header", p, 30, "too short");
  free(p);
}

static void test_silent_clients(void) {
  rmt_conn c = dial(); /* says nothing: dropped after the idle timeout */
  expect_error(&c, "a silent client", "timed out");

  c = dial(); /* stops in the middle of a frame */
  unsigned char h[RMT_HEADER + 10] = {0};
  header(h, "CHMR", RMT_TASK, 100);
  send_raw(&c, h, sizeof h);
  expect_error(&c, "a client stalled mid-frame", "timed out");
}

int main(int argc, char **argv) {
  if (argc != 4 && !(argc == 5 && !strcmp(argv[4], "no-flush"))) {
    fprintf(stderr, "usage: test_client HOST PORT DIR [no-flush]\n");
    return 2;
  }
  host = argv[1], port = argv[2], dir = argv[3];
  no_flush = argc == 5;
  test_decoded_alignment();
  test_measurements();
  test_reference();
  test_random_bytes();
  test_bad_frames();
  test_misplaced();
  test_inconsistent_tasks();
  test_silent_clients();
  if (failures) fprintf(stderr, "test_client: %d checks failed\n", failures);
  else printf("test_client: all checks passed\n");
  return failures ? 1 : 0;
}
