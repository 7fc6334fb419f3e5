/*
 * remote.c — chamcc's side of the remote measurer: linking candidates into
 * shared objects, and the client that sends them to chamcc-runner.
 *
 * The measurer (measure.c) emits each candidate as an object file for the
 * target and links it with ld.lld (any target, no cross toolchain needed).
 * The client connects lazily, reads the runner's HELLO (answering its
 * nonce with the key when it asks: see remote_auth.c), sends the TASK (and
 * the reference kernel, when the measurer has one) once per connection,
 * then one CANDIDATE per measurement and waits for its RESULT. The key comes with the address (the measurer's options).
 * Whatever goes wrong
 * on the network (refused, lost, silent) becomes an infra error that names
 * the runner (the candidate is not at fault: the tuner records nothing),
 * and the connection is dropped: the next candidate reconnects, so a
 * runner restarted on the board picks up where it left.
 */
#define _GNU_SOURCE
#include "chamcc/remote.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

enum {
  CONNECT_S = 10, /* longest wait for a connection */
  SLACK_S = 30,   /* a RESULT may come this long after the TASK's timeout
                   * (transfer, dlopen, the check run of a slow board) */
  STALE_S = 30,   /* reconnect after this long idle (the tuner was compiling
                   * or planning): half the runner's idle timeout */
};

/* ---- the linker ---- */

/* PATH/name if it is an executable there. */
static int find_in_path(const char *name, char *out, size_t size) {
  const char *path = getenv("PATH");
  if (!path || !*path) path = "/usr/bin:/bin";
  for (const char *p = path; *p;) {
    size_t n = strcspn(p, ":");
    snprintf(out, size, "%.*s/%s", (int)n, n ? p : ".", name);
    if (!access(out, X_OK)) return 1;
    p += n + (p[n] == ':');
  }
  return 0;
}

int rmt_find_linker(char *path, size_t size, chm_err *e) {
  if (find_in_path("ld.lld-19", path, size) || find_in_path("ld.lld", path, size)) return 0;
  FILE *f = popen("llvm-config-19 --bindir 2>/dev/null", "r");
  char dir[4096] = "";
  if (f) {
    if (!fgets(dir, sizeof dir, f)) dir[0] = 0;
    pclose(f);
  }
  dir[strcspn(dir, "\n")] = 0;
  if (dir[0]) {
    snprintf(path, size, "%s/ld.lld", dir);
    if (!access(path, X_OK)) return 0;
  }
  return chm_errorf(e, "--runner links candidates with ld.lld, and none was found (looked for ld.lld-19 "
                       "and ld.lld on PATH and in `llvm-config-19 --bindir`): apt install lld-19");
}

static int write_file(const char *path, const unsigned char *p, size_t n) {
  FILE *f = fopen(path, "wb");
  if (!f) return -1;
  size_t w = fwrite(p, 1, n, f);
  return fclose(f) || w != n ? -1 : 0;
}

static unsigned char *read_file(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  unsigned char *p = NULL;
  if (!fseek(f, 0, SEEK_END)) {
    long len = ftell(f);
    if (len >= 0 && !fseek(f, 0, SEEK_SET)) {
      p = chm_malloc((size_t)len + 1);
      if (fread(p, 1, (size_t)len, f) != (size_t)len) free(p), p = NULL;
      else *n = (size_t)len;
    }
  }
  fclose(f);
  return p;
}

/* Runs `linker -shared -o so obj`, its stderr into err; returns its exit status. */
static int run_linker(const char *linker, const char *obj, const char *so, const char *err) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  char *argv[] = {(char *)linker, "-shared", "-o", (char *)so, (char *)obj, NULL};
  pid_t pid;
  int rc = posix_spawn(&pid, linker, &fa, NULL, argv, environ), st = 0;
  posix_spawn_file_actions_destroy(&fa);
  if (rc) {
    errno = rc;
    return -1;
  }
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR) return -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* The linker's first error line, or what happened to it. */
static void linker_message(const char *linker, int rc, const char *err, char *why, size_t size) {
  size_t n = 0;
  unsigned char *text = rc > 0 ? read_file(err, &n) : NULL;
  if (text && n) {
    text[n] = 0;
    text[strcspn((char *)text, "\n")] = 0;
    snprintf(why, size, "%s", (char *)text);
  } else if (rc < 0) {
    snprintf(why, size, "%s: %s", linker, strerror(errno));
  } else {
    snprintf(why, size, "%s failed with status %d", linker, rc);
  }
  free(text);
}

int rmt_link_shared(const char *linker, const unsigned char *obj, size_t size, unsigned char **so,
                    size_t *so_size, char *why, size_t why_size) {
  const char *tmp = getenv("TMPDIR");
  char dir[4096], o[4200], s[4200], err[4200];
  snprintf(dir, sizeof dir, "%s/chamcc-link-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(dir)) {
    snprintf(why, why_size, "cannot make a directory for linking in %s: %s", tmp && *tmp ? tmp : "/tmp",
             strerror(errno));
    return -1;
  }
  snprintf(o, sizeof o, "%s/cand.o", dir);
  snprintf(s, sizeof s, "%s/cand.so", dir);
  snprintf(err, sizeof err, "%s/ld.err", dir);
  *so = NULL;
  int rc = -1;
  if (write_file(o, obj, size)) {
    snprintf(why, why_size, "cannot write %s: %s", o, strerror(errno));
  } else if ((rc = run_linker(linker, o, s, err))) {
    linker_message(linker, rc, err, why, why_size);
  } else if (!(*so = read_file(s, so_size))) {
    snprintf(why, why_size, "cannot read %s: %s", s, strerror(errno));
  }
  unlink(o), unlink(s), unlink(err), rmdir(dir);
  return *so ? 0 : -1;
}

/* ---- connecting ---- */

/* Splits "HOST:PORT" (or "[V6]:PORT"). */
static int split_addr(const char *addr, char *host, size_t hsize, char *port, size_t psize) {
  const char *colon = strrchr(addr, ':');
  if (!colon || colon == addr || !colon[1] || strspn(colon + 1, "0123456789") != strlen(colon + 1)) return -1;
  const char *h = addr;
  size_t n = (size_t)(colon - addr);
  if (h[0] == '[' && n >= 2 && h[n - 1] == ']') h++, n -= 2;
  if (n >= hsize || strlen(colon + 1) >= psize) return -1;
  snprintf(host, hsize, "%.*s", (int)n, h);
  snprintf(port, psize, "%s", colon + 1);
  return 0;
}

/* Waits for a non-blocking connect; returns 0 or an errno value. */
static int wait_connected(int fd) {
  struct pollfd p = {fd, POLLOUT, 0};
  int k, err = 0;
  while ((k = poll(&p, 1, CONNECT_S * 1000)) < 0 && errno == EINTR) {}
  if (k == 0) return ETIMEDOUT;
  if (k < 0) return errno;
  socklen_t len = sizeof err;
  return getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) ? errno : err;
}

/* Connects to one address within CONNECT_S (a board that is off must not
 * hang the tuner for minutes); -1 with errno. */
static int connect_one(const struct addrinfo *ai) {
  int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  int err = 0;
  if (connect(fd, ai->ai_addr, ai->ai_addrlen)) err = errno == EINPROGRESS ? wait_connected(fd) : errno;
  if (err) {
    close(fd);
    errno = err;
    return -1;
  }
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  return fd;
}

/* A connected socket to addr, or -1 with why ("HOST:PORT: connect: ..."). */
static int dial(const char *addr, char *why, size_t size) {
  char host[256], port[16];
  if (split_addr(addr, host, sizeof host, port, sizeof port)) {
    snprintf(why, size, "'%s' is not HOST:PORT", addr);
    return -1;
  }
  struct addrinfo hints = {0}, *res;
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  int rc = getaddrinfo(host, port, &hints, &res);
  if (rc) {
    snprintf(why, size, "%s: cannot resolve %s: %s", addr, host, gai_strerror(rc));
    return -1;
  }
  int fd = -1;
  for (const struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
    errno = 0;
    fd = connect_one(ai);
  }
  if (fd < 0) snprintf(why, size, "%s: connect: %s", addr, strerror(errno));
  freeaddrinfo(res);
  return fd;
}

/* ---- the greeting ---- */

/* Reads one frame of type `want` on c; -1 with why otherwise (an ERROR
 * frame's text, or what went wrong). */
static int expect_frame(rmt_conn *c, uint32_t want, const char *what, unsigned char **p, uint64_t *n, char *why,
                        size_t size) {
  uint32_t type = 0;
  int got = rmt_recv(c, &type, p, n);
  if (got == RMT_GOT && type == want) return 0;
  if (got == RMT_GOT && type == RMT_ERROR) snprintf(why, size, "refused: %.200s", (char *)*p);
  else if (got == RMT_GOT) snprintf(why, size, "sent message type %u instead of %s", type, what);
  else if (got == RMT_CLOSED) snprintf(why, size, "closed the connection before its %s", what);
  else snprintf(why, size, "no %s: %.200s", what, c->why);
  free(*p);
  *p = NULL;
  return -1;
}

/* Answers the nonce of a runner that wants the key, and waits for READY. */
static int prove_key(rmt_conn *c, const rmt_hello *h, const rmt_key *key, char *why, size_t size) {
  if (!key) {
    snprintf(why, size, "needs a key: pass --runner-key FILE (the file given to its --key-file)");
    return -1;
  }
  unsigned char mac[RMT_MAC], *p = NULL;
  uint64_t n = 0;
  if (rmt_auth_answer(key, h->nonce, mac)) {
    snprintf(why, size, "cannot compute the key's answer (libcrypto's HMAC failed)");
    return -1;
  }
  if (rmt_send(c, RMT_AUTH, mac, sizeof mac)) {
    snprintf(why, size, "sending the key's answer: %.200s", c->why);
    return -1;
  }
  int rc = expect_frame(c, RMT_READY, "READY", &p, &n, why, size);
  free(p);
  return rc;
}

/* The start of every connection: the runner's HELLO, and the key if it
 * asks for one. -1 with why ("runner ADDR" goes before it). */
static int greet(rmt_conn *c, const rmt_key *key, char *why, size_t size) {
  unsigned char *p = NULL;
  uint64_t n = 0;
  rmt_hello h;
  if (expect_frame(c, RMT_HELLO, "greeting (is it a chamcc-runner?)", &p, &n, why, size)) return -1;
  int bad = rmt_hello_decode(p, n, &h);
  free(p);
  if (bad) {
    snprintf(why, size, "sent a malformed greeting (is it a chamcc-runner?)");
    return -1;
  }
  if (h.version != RMT_VERSION) {
    snprintf(why, size, "speaks protocol version %u, this chamcc %d: use the chamcc-runner built with it",
             h.version, RMT_VERSION);
    return -1;
  }
  return h.flags & RMT_KEYED ? prove_key(c, &h, key, why, size) : 0;
}

int rmt_probe(const char *addr, const rmt_key *key, chm_err *e) {
  char why[512], host[256], port[16];
  if (split_addr(addr, host, sizeof host, port, sizeof port))
    return chm_errorf(e, "--runner '%s' is not HOST:PORT (e.g. 192.168.1.20:9190)", addr);
  int fd = dial(addr, why, sizeof why);
  if (fd < 0) return chm_errorf(e, "--runner %s (is chamcc-runner running there?)", why);
  struct timeval tv = {CONNECT_S, 0}; /* a runner busy with another client greets later */
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  rmt_conn c = {fd, 1 << 20, NULL, ""};
  int rc = greet(&c, key, why, sizeof why);
  close(fd);
  return rc ? chm_errorf(e, "--runner %s: %s", addr, why) : 0;
}

/* ---- the client ---- */

struct rmt_client {
  char addr[256];          /* HOST:PORT, for messages */
  unsigned char *task;     /* the encoded TASK, sent on each connection */
  size_t task_size;        /* its size */
  double timeout_s;        /* the TASK's timeout */
  rmt_conn conn;           /* conn.fd < 0 when not connected */
  double last_used;        /* when the connection last carried a result */
  rmt_key *key;            /* what a runner that asks gets proved, or NULL (malloc'ed copy) */
  unsigned char *ref;      /* the reference kernel's shared object, or NULL (malloc'ed copy) */
  size_t ref_size;         /* its size */
};

rmt_client *rmt_client_new(const char *addr, const rmt_task *t, const rmt_key *key, chm_err *e) {
  char host[256], port[16];
  if (split_addr(addr, host, sizeof host, port, sizeof port)) {
    chm_errorf(e, "--runner '%s' is not HOST:PORT", addr);
    return NULL;
  }
  rmt_client *c = chm_calloc(1, sizeof *c);
  snprintf(c->addr, sizeof c->addr, "%s", addr);
  c->task = rmt_task_encode(t, &c->task_size);
  CHM_ASSERT(c->task);
  c->timeout_s = t->timeout_s;
  c->conn.fd = -1;
  c->conn.max_bytes = 1 << 20; /* a RESULT or an ERROR is small */
  if (key) {
    c->key = chm_malloc(sizeof *c->key);
    *c->key = *key;
  }
  return c;
}

void rmt_client_free(rmt_client *c) {
  if (!c) return;
  if (c->conn.fd >= 0) close(c->conn.fd);
  free(c->task);
  free(c->key);
  free(c->ref);
  free(c);
}

void rmt_client_set_reference(rmt_client *c, const unsigned char *so, size_t size) {
  free(c->ref);
  c->ref = chm_malloc(size ? size : 1);
  memcpy(c->ref, so, size);
  c->ref_size = size;
  if (c->conn.fd >= 0) close(c->conn.fd); /* a connection takes one REFERENCE: start anew */
  c->conn.fd = -1;
}

static void hang_up(rmt_client *c) {
  if (c->conn.fd >= 0) close(c->conn.fd);
  c->conn.fd = -1;
}

/* An infra error that says what happened ("runner ADDR: what[: detail]"),
 * and a fresh connection next time. */
static void lost(rmt_client *c, rmt_result *r, const char *what, const char *detail) {
  memset(r, 0, sizeof *r);
  r->status = RMT_INFRA_ERROR;
  snprintf(r->message, sizeof r->message, "runner %.60s: %.70s%s%.60s", c->addr, what, detail ? ": " : "",
           detail ? detail : "");
  hang_up(c);
}

static void set_timeouts(int fd, double s) {
  struct timeval tv = {(time_t)s, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

/* Drops a connection the runner may have closed meanwhile (its idle
 * timeout): the runner never speaks unasked, so anything readable now is
 * its goodbye. One idle for long is dropped before that can happen. */
static void drop_stale(rmt_client *c) {
  if (c->conn.fd < 0) return;
  struct pollfd p = {c->conn.fd, POLLIN | POLLRDHUP, 0};
  if (poll(&p, 1, 0) != 0 || chm_now() - c->last_used > STALE_S) hang_up(c);
}

/* Connects and sends the TASK (and the REFERENCE) if not connected yet. */
static int ensure_connected(rmt_client *c, rmt_result *r) {
  drop_stale(c);
  if (c->conn.fd >= 0) return 0;
  char why[512];
  int fd = dial(c->addr, why, sizeof why);
  if (fd < 0) {
    memset(r, 0, sizeof *r);
    r->status = RMT_INFRA_ERROR;
    snprintf(r->message, sizeof r->message, "runner %.190s", why);
    return -1;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); /* small RESULTs, one at a time */
  set_timeouts(fd, c->timeout_s + SLACK_S);
  c->conn.fd = fd;
  if (greet(&c->conn, c->key, why, sizeof why)) {
    memset(r, 0, sizeof *r);
    r->status = RMT_INFRA_ERROR;
    snprintf(r->message, sizeof r->message, "runner %.60s %.130s", c->addr, why);
    hang_up(c);
    return -1;
  }
  if (rmt_send(&c->conn, RMT_TASK, c->task, c->task_size)) {
    lost(c, r, "sending the task", c->conn.why);
    return -1;
  }
  if (c->ref && rmt_send(&c->conn, RMT_REFERENCE, c->ref, c->ref_size)) {
    lost(c, r, "sending the reference kernel", c->conn.why);
    return -1;
  }
  return 0;
}

/* Reads the answer to a candidate into r; -1 if the runner gave none (r
 * says why). */
static int read_answer(rmt_client *c, rmt_result *r) {
  uint32_t type = 0;
  unsigned char *p = NULL;
  uint64_t n = 0;
  int got = rmt_recv(&c->conn, &type, &p, &n), rc = -1;
  if (got == RMT_CLOSED) {
    lost(c, r, "connection closed before the result (runner stopped or crashed?)", NULL);
  } else if (got != RMT_GOT) {
    lost(c, r, "waiting for the result", c->conn.why);
  } else if (type == RMT_ERROR) { /* the runner refused what we sent: versions differ, or a bug */
    memset(r, 0, sizeof *r);
    r->status = RMT_INFRA_ERROR;
    snprintf(r->message, sizeof r->message, "runner %.40s refused: %.140s", c->addr, (char *)p);
    hang_up(c);
    rc = 0;
  } else if (type != RMT_RESULT || rmt_result_decode(p, n, r)) {
    lost(c, r, "malformed answer (is that port a chamcc-runner?)", NULL);
  } else {
    rc = 0;
  }
  free(p);
  return rc;
}

void rmt_client_measure(rmt_client *c, const unsigned char *so, size_t size, rmt_result *r) {
  if (ensure_connected(c, r)) return;
  if (rmt_send(&c->conn, RMT_CANDIDATE, so, size)) {
    /* the runner may have hung up after saying why (an ERROR frame) */
    char why[256];
    snprintf(why, sizeof why, "%s", c->conn.why);
    set_timeouts(c->conn.fd, 1);
    if (read_answer(c, r)) lost(c, r, "sending a candidate", why);
    hang_up(c);
    return;
  }
  read_answer(c, r);
  c->last_used = chm_now();
}
