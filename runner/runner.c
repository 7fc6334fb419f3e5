/*
 * runner.c — chamcc-runner: measures candidates for a chamcc that tunes
 * from another machine (protocol in measure/include/chamcc/remote.h).
 *
 *   chamcc-runner [--port N] [--bind ADDR] [--key-file FILE] [--max-bytes N]
 *                 [--idle-timeout S]
 *
 * Listens on ADDR:N (127.0.0.1:9190 by default; port 0 lets the kernel
 * choose) and prints `listening on ADDR:PORT` once ready. Connections are
 * served one at a time, so candidates never share the CPU, until SIGTERM or
 * SIGINT.
 *
 * The runner executes the code it is sent. With --key-file, every
 * connection must first answer a fresh random nonce (getrandom) with the
 * key's HMAC (remote_auth.c); a failure is logged here and closes the
 * connection before any candidate is read. Without a key the runner only
 * listens on a loopback address: anyone who can reach the port can run code.
 *
 * Per connection: HELLO (and AUTH), a TASK, maybe a REFERENCE, then
 * CANDIDATEs. Each candidate is written to a temporary file and measured in
 * a child process that dlopen()s it and runs rmt_bench (the local
 * measurer's own loop) under the TASK's timeout; the reference kernel is
 * written once per connection and loaded by each child too (this process
 * never runs code it was sent), and the candidate is timed beside it; the runtime (runtime/rt.c) is linked into this
 * program and exported, so candidates resolve chm_rt_parallel_for here.
 *
 * Candidates are written to $TMPDIR (or /tmp): it must not be mounted
 * noexec, or dlopen fails and every candidate is a runtime error saying so.
 *
 * Only libc, libdl, libm, pthreads and libcrypto (for the key): it is
 * built for the board too. The AArch64 and RISC-V builds made here with
 * the cross gcc have no libcrypto for their targets: they link auth_none.c
 * instead, which refuses --key-file, so they listen on loopback only (build
 * the runner on the board to use a key; see the README).
 */
#define _GNU_SOURCE
#include "chamcc/remote.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

typedef struct options {
  const char *port;      /* --port (0: any free port) */
  const char *bind;      /* --bind address */
  const char *key_file;  /* --key-file: clients must prove this key (NULL: none, loopback only) */
  uint64_t max_bytes;    /* --max-bytes: longest frame accepted */
  double idle_s;         /* --idle-timeout: a silent client is dropped after this */
} options;

static volatile sig_atomic_t stopping; /* SIGTERM / SIGINT seen */

static void on_signal(int sig) {
  (void)sig;
  stopping = 1;
}

static _Noreturn void usage_error(const char *msg) {
  fprintf(stderr, "chamcc-runner: %s\n"
                  "usage: chamcc-runner [--port N] [--bind ADDR] [--key-file FILE] [--max-bytes N]\n"
                  "                     [--idle-timeout S]\n",
          msg);
  exit(2);
}

static double parse_number(const char *opt, const char *s, double lo, double hi) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (errno || end == s || *end || !(v >= lo && v <= hi)) {
    char msg[160];
    snprintf(msg, sizeof msg, "%s needs a number between %g and %g, not '%s'", opt, lo, hi, s);
    usage_error(msg);
  }
  return v;
}

static void usage(void) {
  printf("usage: chamcc-runner [--port N] [--bind ADDR] [--key-file FILE] [--max-bytes N]\n"
         "                     [--idle-timeout S]\n"
         "Measures kernels for `chamcc tune --runner HOST:PORT` on this machine.\n"
         "  --port N          TCP port (default 9190; 0: any free port)\n"
         "  --bind ADDR       address to listen on (default 127.0.0.1; 0.0.0.0: all);\n"
         "                    other than loopback only with --key-file\n"
         "  --key-file FILE   clients must prove they hold this secret (chamcc --runner-key);\n"
         "                    make it with: head -c 32 /dev/urandom > FILE; chmod 600 FILE\n"
         "  --max-bytes N     longest message accepted (default 1 GiB)\n"
         "  --idle-timeout S  drop a client silent for S seconds (default 60)\n"
         "The runner executes the code its clients send: anyone who can reach the port\n"
         "and passes the key check can run programs here as this user.\n"
         "Candidates are written to $TMPDIR (default /tmp), which must allow executing.\n");
}

/* Sets option `a` to v; 0 if there is no such option. */
static int set_option(options *o, const char *a, const char *v) {
  if (!strcmp(a, "--port")) {
    parse_number(a, v, 0, 65535);
    if (strspn(v, "0123456789") != strlen(v)) usage_error("--port needs a whole number");
    o->port = v;
  } else if (!strcmp(a, "--bind")) {
    o->bind = v;
  } else if (!strcmp(a, "--key-file")) {
    o->key_file = v;
  } else if (!strcmp(a, "--max-bytes")) {
    o->max_bytes = (uint64_t)parse_number(a, v, 64, 1e15);
  } else if (!strcmp(a, "--idle-timeout")) {
    o->idle_s = parse_number(a, v, 0.001, 1e6);
  } else {
    return 0;
  }
  return 1;
}

static options parse_args(int argc, char **argv) {
  options o = {"9190", "127.0.0.1", NULL, (uint64_t)1 << 30, 60};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    char msg[160];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage();
      exit(0);
    }
    if (a[0] != '-') snprintf(msg, sizeof msg, "unexpected argument '%.100s'", a);
    else if (i + 1 >= argc) snprintf(msg, sizeof msg, "%.100s needs a value", a);
    else if (!set_option(&o, a, argv[i + 1])) snprintf(msg, sizeof msg, "unknown option '%.100s'", a);
    else {
      i++; /* its value */
      continue;
    }
    usage_error(msg);
  }
  return o;
}

/* ---- listening ---- */

/* "ADDR:PORT" of a socket address ("[ADDR]:PORT" for IPv6). */
static void format_addr(const struct sockaddr *sa, socklen_t len, char *buf, size_t size) {
  char host[NI_MAXHOST], port[NI_MAXSERV];
  if (getnameinfo(sa, len, host, sizeof host, port, sizeof port, NI_NUMERICHOST | NI_NUMERICSERV)) {
    snprintf(buf, size, "?");
    return;
  }
  snprintf(buf, size, sa->sa_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host, port);
}

static int is_loopback(const struct sockaddr *sa) {
  if (sa->sa_family == AF_INET) return ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24 == 127;
  if (sa->sa_family != AF_INET6) return 0;
  const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
  return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
}

/* Without a key, anyone who reaches the port runs code here: refuse any
 * address but loopback. */
static void check_exposure(const options *o, const struct sockaddr *sa) {
  if (o->key_file || is_loopback(sa)) return;
  fprintf(stderr,
          "chamcc-runner: refusing --bind %s without --key-file: the runner executes the code it is sent,\n"
          "so anyone who can reach the port could run programs here. Make a key and give it to both ends:\n"
          "  head -c 32 /dev/urandom > runner.key; chmod 600 runner.key\n"
          "  chamcc-runner --bind %s --key-file runner.key   (and chamcc ... --runner-key runner.key)\n",
          o->bind, o->bind);
  exit(2);
}

/* A listening socket on bind:port; exits with a message on failure. */
static int listen_on(const options *o) {
  struct addrinfo hints = {0}, *res;
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  int rc = getaddrinfo(o->bind, o->port, &hints, &res);
  if (rc) {
    fprintf(stderr, "chamcc-runner: --bind %s: %s\n", o->bind, gai_strerror(rc));
    exit(1);
  }
  check_exposure(o, res->ai_addr);
  int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
  if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
      bind(fd, res->ai_addr, res->ai_addrlen) || listen(fd, 8)) {
    fprintf(stderr, "chamcc-runner: cannot listen on %s port %s: %s\n", o->bind, o->port, strerror(errno));
    exit(1);
  }
  freeaddrinfo(res);
  return fd;
}

/* ---- measuring one candidate ---- */

typedef struct candidate {
  const rmt_task *task; /* what it computes */
  const char *path;     /* the shared object */
  const char *ref;      /* the reference kernel's, or NULL */
} candidate;

/* dlopen()s path and looks up symbol; NULL with why (the temporary file's
 * name left out: it says nothing). */
static void *load(const char *path, const char *symbol, char *why, size_t size) {
  void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  void *fn = h ? dlsym(h, symbol) : NULL;
  if (fn) return fn;
  const char *err = dlerror();
  size_t n = strlen(path);
  if (!err) err = "no such symbol";
  if (!strncmp(err, path, n) && !strncmp(err + n, ": ", 2)) err += n + 2;
  snprintf(why, size, "%s: %s", h ? "dlsym" : "dlopen", err);
  return NULL;
}

/* In the child: load, look up, check and time (beside the reference). */
static void child_measure(void *ctx, rmt_result *r) {
  const candidate *c = ctx;
  rmt_task t = *c->task;
  void *fn = load(c->path, t.symbol, r->message, sizeof r->message);
  if (!fn) {
    r->status = RMT_RUNTIME_ERROR;
    return;
  }
  char why[150];
  if (c->ref && !(t.ref = load(c->ref, t.symbol, why, sizeof why))) { /* not the candidate's fault */
    r->status = RMT_INFRA_ERROR;
    snprintf(r->message, sizeof r->message, "runner: the reference kernel: %s", why);
    return;
  }
  rmt_bench(fn, &t, r);
}

/* Writes the candidate to a temporary file (dlopen needs a path). */
static int write_temp(const unsigned char *so, uint64_t size, char *path, size_t path_size) {
  const char *dir = getenv("TMPDIR");
  snprintf(path, path_size, "%s/chamcc-runner-XXXXXX.so", dir && *dir ? dir : "/tmp");
  int fd = mkstemps(path, 3);
  if (fd < 0) return -1;
  for (uint64_t done = 0; done < size;) {
    ssize_t k = write(fd, so + done, size - done);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) {
      int err = errno;
      close(fd), unlink(path);
      errno = k < 0 ? err : ENOSPC;
      return -1;
    }
    done += (uint64_t)k;
  }
  return close(fd);
}

static void measure(const rmt_task *t, const char *ref, const unsigned char *so, uint64_t size, rmt_result *r) {
  char path[4096];
  if (write_temp(so, size, path, sizeof path)) {
    memset(r, 0, sizeof *r);
    r->status = RMT_INFRA_ERROR;
    snprintf(r->message, sizeof r->message, "runner: cannot write the candidate to %.100s: %s", path,
             strerror(errno));
    return;
  }
  candidate c = {t, path, ref};
  rmt_run_isolated(child_measure, &c, t->timeout_s, r);
  unlink(path);
}

/* ---- one connection ---- */

typedef struct session {
  rmt_conn conn;  /* the socket */
  const rmt_key *key; /* what the client must prove, or NULL */
  char peer[80];  /* its address, for messages */
  rmt_task task;  /* valid once has_task */
  int has_task;   /* a TASK arrived */
  char ref[4096]; /* the REFERENCE's temporary file, "" without one */
  int n_measured; /* candidates answered */
} session;

/* Answers a protocol error and ends the connection: the client learns why,
 * and whatever it still sends is drained briefly so that closing does not
 * reset the connection before the ERROR frame is read. */
static int refuse(session *s, const char *why) {
  fprintf(stderr, "chamcc-runner: %s: %s\n", s->peer, why);
  rmt_send(&s->conn, RMT_ERROR, why, strlen(why));
  shutdown(s->conn.fd, SHUT_WR);
  struct timeval tv = {0, 200000};
  setsockopt(s->conn.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char junk[65536];
  for (int i = 0; i < 256 && recv(s->conn.fd, junk, sizeof junk, 0) > 0; i++) {}
  return -1;
}

/* Keeps the reference kernel in a temporary file for the connection (each
 * candidate's child loads it). */
static int take_reference(session *s, const unsigned char *p, uint64_t size) {
  char why[300];
  if (!s->has_task) return refuse(s, "REFERENCE before TASK");
  if (s->ref[0]) return refuse(s, "a second REFERENCE on one connection");
  if (write_temp(p, size, s->ref, sizeof s->ref)) {
    snprintf(why, sizeof why, "runner: cannot write the reference kernel: %s", strerror(errno));
    s->ref[0] = 0;
    return refuse(s, why);
  }
  fprintf(stderr, "chamcc-runner: %s: candidates are timed beside a reference kernel\n", s->peer);
  return 0;
}

/* Handles one frame; returns 0 to go on, -1 when the connection is done. */
static int handle(session *s, uint32_t type, const unsigned char *p, uint64_t size) {
  char why[300];
  if (type == RMT_TASK) {
    if (s->has_task) return refuse(s, "a second TASK on one connection");
    if (rmt_task_decode(p, size, &s->task, why, sizeof why)) return refuse(s, why);
    s->has_task = 1;
    fprintf(stderr, "chamcc-runner: %s: task '%s' (%d arguments)\n", s->peer, s->task.symbol, s->task.n_bufs);
    return 0;
  }
  if (type == RMT_REFERENCE) return take_reference(s, p, size);
  if (type == RMT_CANDIDATE) {
    if (!s->has_task) return refuse(s, "CANDIDATE before TASK");
    rmt_result r;
    measure(&s->task, s->ref[0] ? s->ref : NULL, p, size, &r);
    unsigned char buf[RMT_RESULT_MAX];
    s->n_measured++;
    return rmt_send(&s->conn, RMT_RESULT, buf, rmt_result_encode(&r, buf)) ? -1 : 0;
  }
  snprintf(why, sizeof why, "unexpected message type %u (a client sends TASK = 1, CANDIDATE = 2 or REFERENCE = 8)",
           type);
  return refuse(s, why);
}

/* A fresh nonce from the kernel's random source; -1 if it fails. */
static int random_nonce(unsigned char nonce[RMT_NONCE]) {
  for (size_t got = 0; got < RMT_NONCE;) {
    ssize_t k = getrandom(nonce + got, RMT_NONCE - got, 0);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return -1;
    got += (size_t)k;
  }
  return 0;
}

/* Checks the client's AUTH against the nonce; refuses (and logs) a wrong,
 * missing or stalled answer. */
static int check_answer(session *s, const unsigned char nonce[RMT_NONCE]) {
  uint32_t type = 0;
  unsigned char *p = NULL;
  uint64_t size = 0;
  int got = rmt_recv(&s->conn, &type, &p, &size);
  int ok = got == RMT_GOT && type == RMT_AUTH && rmt_auth_check(s->key, nonce, p, size);
  char why[300];
  if (got == RMT_GOT && type == RMT_AUTH)
    snprintf(why, sizeof why, "authentication failed: wrong key (or an answer to another nonce)");
  else if (type && type != RMT_AUTH) /* a frame's type is known once its magic was right */
    snprintf(why, sizeof why, "authentication failed: this runner needs a key, and the client sent message "
                              "type %u instead of its answer (chamcc --runner-key FILE)", type);
  else if (got == RMT_CLOSED)
    snprintf(why, sizeof why, "authentication failed: the client closed the connection without answering");
  else
    snprintf(why, sizeof why, "authentication failed: %s", s->conn.why);
  free(p);
  return ok ? 0 : refuse(s, why);
}

/* Greets the client: HELLO, and with a key its nonce, the client's
 * answer and READY. Returns 0 when the client may send a TASK. Until then
 * frames are held to RMT_AUTH_MAX_BYTES: a stranger gets no big buffer. */
static int greet(session *s, uint64_t max_bytes) {
  rmt_hello h = {RMT_VERSION, s->key ? RMT_KEYED : 0, {0}};
  if (s->key && random_nonce(h.nonce)) {
    char why[200];
    snprintf(why, sizeof why, "no random nonce (getrandom: %s)", strerror(errno));
    return refuse(s, why);
  }
  unsigned char buf[RMT_HELLO_SIZE];
  rmt_hello_encode(&h, buf);
  if (rmt_send(&s->conn, RMT_HELLO, buf, sizeof buf)) return -1;
  if (s->key && (check_answer(s, h.nonce) || rmt_send(&s->conn, RMT_READY, NULL, 0))) return -1;
  s->conn.max_bytes = max_bytes;
  return 0;
}

static void set_timeouts(int fd, double s) {
  struct timeval tv = {(time_t)s, (suseconds_t)((s - (double)(time_t)s) * 1e6)};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

static void serve(const options *o, const rmt_key *key, int fd, const char *peer) {
  uint64_t first = key ? RMT_AUTH_MAX_BYTES : o->max_bytes;
  session s = {{fd, first, &stopping, ""}, key, "", {0}, 0, "", 0};
  snprintf(s.peer, sizeof s.peer, "%s", peer);
  set_timeouts(fd, o->idle_s);
  if (greet(&s, o->max_bytes)) return;
  while (!stopping) {
    uint32_t type = 0;
    unsigned char *p = NULL;
    uint64_t size = 0;
    int got = rmt_recv(&s.conn, &type, &p, &size);
    if (got == RMT_CLOSED) break;
    if (got != RMT_GOT) { /* malformed or stalled: say why, then hang up */
      refuse(&s, stopping ? "the runner is stopping" : s.conn.why);
      break;
    }
    int done = handle(&s, type, p, size);
    free(p);
    if (done) break;
  }
  if (s.n_measured || s.has_task)
    fprintf(stderr, "chamcc-runner: %s: done, %d candidates measured\n", s.peer, s.n_measured);
  if (s.ref[0]) unlink(s.ref);
  rmt_task_free(&s.task);
}

/* Waits for a connection; -1 once stopping. Polling in short steps lets a
 * signal that lands just before the wait still stop the runner promptly. */
static int next_client(int lfd, char *peer, size_t size) {
  while (!stopping) {
    struct pollfd p = {lfd, POLLIN, 0};
    if (poll(&p, 1, 200) <= 0) continue;
    struct sockaddr_storage sa;
    socklen_t len = sizeof sa;
    int fd = accept4(lfd, (struct sockaddr *)&sa, &len, SOCK_CLOEXEC);
    if (fd < 0) continue;
    format_addr((struct sockaddr *)&sa, len, peer, size);
    return fd;
  }
  return -1;
}

/* The key of --key-file (NULL without one); exits if it cannot be used. */
static const rmt_key *load_key(const options *o, rmt_key *k) {
  char why[512];
  if (!o->key_file) return NULL;
  if (rmt_key_load(o->key_file, k, why, sizeof why)) {
    fprintf(stderr, "chamcc-runner: %s\n", why);
    exit(1);
  }
  fprintf(stderr, "chamcc-runner: clients must prove the key in %s\n", o->key_file);
  return k;
}

int main(int argc, char **argv) {
  options o = parse_args(argc, argv);
  static rmt_key key_store;
  const rmt_key *key = load_key(&o, &key_store);
  struct sigaction sa = {0};
  sa.sa_handler = on_signal; /* no SA_RESTART: a blocked read ends at once */
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
  int lfd = listen_on(&o);
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  char addr[128];
  getsockname(lfd, (struct sockaddr *)&ss, &len);
  format_addr((struct sockaddr *)&ss, len, addr, sizeof addr);
  printf("listening on %s\n", addr);
  fflush(stdout);
  char peer[80];
  for (int fd; (fd = next_client(lfd, peer, sizeof peer)) >= 0;) {
    serve(&o, key, fd, peer);
    close(fd);
  }
  close(lfd);
  fprintf(stderr, "chamcc-runner: stopped\n");
  return 0;
}
