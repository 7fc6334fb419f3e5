/*
 * test_auth.c — a chamcc-runner started with --key-file, tried by clients
 * without the key, with a wrong one, replaying an old answer, and with the
 * right one:
 *
 *   test_auth HOST PORT DIR KEY WRONG_KEY MARK
 *
 * DIR holds ok.so and mark.so (kernels.c); the runner runs with
 * CHAMCC_TEST_MARK=MARK in its environment, so mark.so leaves that file
 * when it is loaded. Every refused client sends mark.so after its failed
 * proof: MARK must not exist after them (nothing ran), and must exist
 * once a client with the right key has sent it (the check works). Every
 * HELLO carries a nonce unlike all the others.
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

enum { N = 1000, MAX_CONNS = 16 }; /* N as in kernels.c */

static const char *host, *port, *dir;
static unsigned char nonces[MAX_CONNS][RMT_NONCE]; /* every nonce seen */
static int n_nonces;

/* Remembers a nonce; it must differ from every earlier one. */
static void note_nonce(const unsigned char *nonce) {
  for (int i = 0; i < n_nonces; i++) CHECK(memcmp(nonces[i], nonce, RMT_NONCE), "nonce %d repeats", i);
  if (n_nonces < MAX_CONNS) memcpy(nonces[n_nonces++], nonce, RMT_NONCE);
}

/* A connection past the runner's HELLO, which must ask for the key. */
static rmt_conn dial(rmt_hello *h) {
  rmt_conn c = {-1, 1 << 20, NULL, ""};
  struct addrinfo hints = {0}, *res;
  hints.ai_socktype = SOCK_STREAM;
  if (getaddrinfo(host, port, &hints, &res)) exit(1);
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
  CHECK(rmt_recv(&c, &type, &p, &size) == RMT_GOT && type == RMT_HELLO && !rmt_hello_decode(p, size, h),
        "no HELLO (%s)", c.why);
  CHECK(h->version == RMT_VERSION && h->flags == RMT_KEYED, "HELLO: version %u, flags %u", h->version, h->flags);
  free(p);
  note_nonce(h->nonce);
  return c;
}

static rmt_key load_key(const char *path) {
  rmt_key k;
  char why[512];
  if (rmt_key_load(path, &k, why, sizeof why)) {
    fprintf(stderr, "test_auth: %s\n", why);
    exit(1);
  }
  return k;
}

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

static float a[N], b[N], out[N], expect[N];

/* Sends the TASK of kernels.c's candidate: out = a * b + 1. */
static int send_task(rmt_conn *c) {
  for (int i = 0; i < N; i++) {
    a[i] = (float)(i % 7), b[i] = 0.5f;
    expect[i] = i < N - 8 ? a[i] * b[i] + 1 : NAN;
  }
  rmt_task t = {.n_bufs = 3, .out = 2, .bufs = {a, b, out}, .len = {N, N, N}, .expect = expect, .repeats = 1,
                .min_repeat_ms = 0, .timeout_s = 10, .nthreads = 2, .symbol = "candidate"};
  size_t n;
  unsigned char *p = rmt_task_encode(&t, &n);
  int rc = rmt_send(c, RMT_TASK, p, n);
  free(p);
  return rc;
}

/* Sends a candidate; its RESULT's status, or -1 without one. */
static int send_candidate(rmt_conn *c, const char *so) {
  size_t n;
  unsigned char *bytes = read_file(so, &n), *p = NULL;
  uint32_t type = 0;
  uint64_t size = 0;
  rmt_result r = {.status = -1};
  if (!rmt_send(c, RMT_CANDIDATE, bytes, n) && rmt_recv(c, &type, &p, &size) == RMT_GOT && type == RMT_RESULT)
    rmt_result_decode(p, size, &r);
  free(bytes);
  free(p);
  return r.status;
}

/* The runner's answer to a refused client: an ERROR frame containing
 * needle. Then the client carries on as if it had been let in: the TASK
 * and mark.so must not be run. */
static void expect_refused(rmt_conn *c, const char *what, const char *needle) {
  uint32_t type = 0;
  unsigned char *p = NULL;
  uint64_t size = 0;
  int got = rmt_recv(c, &type, &p, &size);
  printf("%-30s -> %s\n", what, got == RMT_GOT ? (char *)p : c->why);
  CHECK(got == RMT_GOT && type == RMT_ERROR, "%s: expected an ERROR frame, got %d type %u", what, got, type);
  if (got == RMT_GOT) CHECK(strstr((char *)p, needle), "%s: '%s' lacks '%s'", what, (char *)p, needle);
  free(p);
  send_task(c);
  CHECK(send_candidate(c, "mark.so") < 0, "%s: a candidate was measured", what);
  close(c->fd);
}

static void send_answer(rmt_conn *c, const unsigned char mac[RMT_MAC]) {
  CHECK(!rmt_send(c, RMT_AUTH, mac, RMT_MAC), "send AUTH: %s", c->why);
}

/* With the right key: READY, then the candidate so is measured. The
 * answer it gave is left in `answer`, for the replay. */
static void accepted(const rmt_key *key, const char *so, unsigned char answer[RMT_MAC]) {
  rmt_hello h;
  rmt_conn c = dial(&h);
  CHECK(!rmt_auth_answer(key, h.nonce, answer), "HMAC failed");
  send_answer(&c, answer);
  uint32_t type = 0;
  unsigned char *p = NULL;
  uint64_t size = 0;
  int got = rmt_recv(&c, &type, &p, &size);
  CHECK(got == RMT_GOT && type == RMT_READY, "the right key: got %d type %u (%s)", got, type,
        got == RMT_GOT ? (char *)p : c.why);
  free(p);
  CHECK(!send_task(&c), "send TASK");
  int status = send_candidate(&c, so);
  printf("%-30s -> %s: status %d\n", "the right key", so, status);
  CHECK(status == RMT_OK, "the right key: %s has status %d", so, status);
  close(c.fd);
}

static int exists(const char *path) { return access(path, F_OK) == 0; }

int main(int argc, char **argv) {
  if (argc != 7) {
    fprintf(stderr, "usage: test_auth HOST PORT DIR KEY WRONG_KEY MARK\n");
    return 2;
  }
  host = argv[1], port = argv[2], dir = argv[3];
  rmt_key key = load_key(argv[4]), wrong = load_key(argv[5]);
  const char *mark = argv[6];
  unsigned char old[RMT_MAC], mac[RMT_MAC];
  rmt_hello h;
  accepted(&key, "ok.so", old); /* the answer a listener could have captured */

  rmt_conn c = dial(&h); /* a client that knows of no key: TASK at once */
  send_task(&c);
  expect_refused(&c, "no key", "needs a key");

  c = dial(&h);
  CHECK(!rmt_auth_answer(&wrong, h.nonce, mac), "HMAC failed");
  send_answer(&c, mac);
  expect_refused(&c, "a wrong key", "wrong key");

  c = dial(&h); /* the captured answer, to a fresh nonce */
  send_answer(&c, old);
  expect_refused(&c, "a replayed answer", "wrong key");

  c = dial(&h); /* the right answer cut short */
  CHECK(!rmt_auth_answer(&key, h.nonce, mac), "HMAC failed");
  CHECK(!rmt_send(&c, RMT_AUTH, mac, RMT_MAC - 1), "send");
  expect_refused(&c, "a short answer", "wrong key");

  c = dial(&h);
  size_t n;
  unsigned char *so = read_file("mark.so", &n);
  rmt_send(&c, RMT_CANDIDATE, so, n);
  free(so);
  expect_refused(&c, "a candidate instead of AUTH", "needs a key");

  c = dial(&h); /* a stranger may not make the runner hold a big frame */
  unsigned char huge[RMT_HEADER] = {'C', 'H', 'M', 'R', RMT_AUTH, 0, 0, 0, 0, 0, 0, 0x40};
  CHECK(send(c.fd, huge, sizeof huge, MSG_NOSIGNAL) == sizeof huge, "send");
  expect_refused(&c, "an AUTH of 1 GiB", "exceeds the limit");

  CHECK(!exists(mark), "a refused client's candidate ran (%s exists)", mark);
  accepted(&key, "mark.so", mac);
  CHECK(exists(mark), "mark.so did not leave %s: the check above proves nothing", mark);
  printf("test_auth: %d connections, each with a nonce of its own\n", n_nonces);
  if (failures) fprintf(stderr, "test_auth: %d checks failed\n", failures);
  else printf("test_auth: all checks passed\n");
  return failures ? 1 : 0;
}
