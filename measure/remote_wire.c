/*
 * remote_wire.c — the runner protocol's frames and messages (see remote.h
 * for the format), compiled into both chamcc and chamcc-runner.
 *
 * Every value is written byte by byte in little-endian order, so the two
 * ends agree whatever their own byte order. Decoding trusts nothing: every
 * count is checked against the bytes left before anything is allocated,
 * and a TASK must use its payload exactly.
 */
#include "chamcc/remote.h"

#include <errno.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static const unsigned char MAGIC[4] = {'C', 'H', 'M', 'R'};

/* ---- little-endian values ---- */

static void put32(unsigned char *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static void put64(unsigned char *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get32(const unsigned char *p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; i++) v |= (uint32_t)p[i] << (8 * i);
  return v;
}

static uint64_t get64(const unsigned char *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
  return v;
}

/* Floats travel as their IEEE bits (both ends are IEEE 754). */
typedef union { float f; uint32_t u; } bits32;
typedef union { double d; uint64_t u; } bits64;
static uint32_t f32_bits(float f) { return (bits32){.f = f}.u; }
static float bits_f32(uint32_t u) { return (bits32){.u = u}.f; }
static uint64_t f64_bits(double d) { return (bits64){.d = d}.u; }
static double bits_f64(uint64_t u) { return (bits64){.u = u}.d; }

/* ---- frames ---- */

static int io_failed(rmt_conn *c, const char *what) {
  if (errno == EAGAIN || errno == EWOULDBLOCK)
    snprintf(c->why, sizeof c->why, "%s: timed out", what);
  else
    snprintf(c->why, sizeof c->why, "%s: %s", what, strerror(errno));
  return -1;
}

/* Whether an interrupted call should be retried. */
static int retry(const rmt_conn *c) { return errno == EINTR && !(c->stop && *c->stop); }

static int send_all(rmt_conn *c, const unsigned char *p, uint64_t n) {
  while (n > 0) {
    size_t chunk = n > (1u << 30) ? (1u << 30) : (size_t)n;
    ssize_t k = send(c->fd, p, chunk, MSG_NOSIGNAL); /* a dead peer is an error, not SIGPIPE */
    if (k < 0 && retry(c)) continue;
    if (k <= 0) return io_failed(c, "send");
    p += k, n -= (uint64_t)k;
  }
  return 0;
}

int rmt_send(rmt_conn *c, uint32_t type, const void *payload, uint64_t size) {
  unsigned char h[RMT_HEADER];
  memcpy(h, MAGIC, 4);
  put32(h + 4, type);
  put64(h + 8, size);
  if (send_all(c, h, sizeof h)) return -1;
  return send_all(c, payload, size);
}

/* Reads exactly n bytes; returns how many arrived before end of file, or
 * -1 on an error. */
static int64_t recv_all(rmt_conn *c, unsigned char *p, uint64_t n) {
  uint64_t got = 0;
  while (got < n) {
    size_t chunk = n - got > (1u << 30) ? (1u << 30) : (size_t)(n - got);
    ssize_t k = recv(c->fd, p + got, chunk, 0);
    if (k < 0 && retry(c)) continue;
    if (k < 0) return io_failed(c, "receive");
    if (k == 0) break;
    got += (uint64_t)k;
  }
  return (int64_t)got;
}

int rmt_recv(rmt_conn *c, uint32_t *type, unsigned char **payload, uint64_t *size) {
  unsigned char h[RMT_HEADER];
  *payload = NULL;
  int64_t got = recv_all(c, h, sizeof h);
  if (got < 0) return RMT_IO;
  if (got == 0) return RMT_CLOSED;
  if (got < (int64_t)sizeof h) {
    snprintf(c->why, sizeof c->why, "truncated frame header (%d of %d bytes)", (int)got, RMT_HEADER);
    return RMT_BAD;
  }
  if (memcmp(h, MAGIC, 4)) {
    snprintf(c->why, sizeof c->why, "bad magic %02x %02x %02x %02x (expected \"CHMR\")", h[0], h[1], h[2], h[3]);
    return RMT_BAD;
  }
  *type = get32(h + 4);
  *size = get64(h + 8);
  if (*size > c->max_bytes) {
    snprintf(c->why, sizeof c->why, "frame of %llu bytes exceeds the limit of %llu",
             (unsigned long long)*size, (unsigned long long)c->max_bytes);
    return RMT_BAD;
  }
  if (!(*payload = malloc((size_t)*size + 1))) {
    snprintf(c->why, sizeof c->why, "no memory for a frame of %llu bytes", (unsigned long long)*size);
    return RMT_BAD;
  }
  got = recv_all(c, *payload, *size);
  if (got >= 0 && (uint64_t)got == *size) {
    (*payload)[*size] = 0;
    return RMT_GOT;
  }
  free(*payload);
  *payload = NULL;
  if (got < 0) return RMT_IO;
  snprintf(c->why, sizeof c->why, "truncated frame: %lld of %llu payload bytes", (long long)got,
           (unsigned long long)*size);
  return RMT_BAD;
}

/* ---- TASK ---- */

unsigned char *rmt_task_encode(const rmt_task *t, size_t *size) {
  size_t sym = strlen(t->symbol), n = 4 * 4 + 8 + 8 + 4 + 4 + 4 + sym + 8 + 4 * (size_t)t->len[t->out];
  for (int i = 0; i < t->n_bufs; i++) n += 8 + 4 * (size_t)t->len[i];
  unsigned char *p = malloc(n), *q = p;
  if (!p) return NULL;
  put32(q, RMT_VERSION), put32(q + 4, (uint32_t)t->n_bufs), put32(q + 8, (uint32_t)t->out);
  put32(q + 12, (uint32_t)t->repeats), q += 16;
  put64(q, f64_bits(t->min_repeat_ms)), put64(q + 8, f64_bits(t->timeout_s)), q += 16;
  put32(q, (uint32_t)(int32_t)t->nthreads), put32(q + 4, t->cold ? RMT_COLD : 0), put32(q + 8, (uint32_t)sym), q += 12;
  memcpy(q, t->symbol, sym), q += sym;
  for (int i = 0; i <= t->n_bufs; i++) { /* the arguments, then the expected output */
    const float *v = i < t->n_bufs ? t->bufs[i] : t->expect;
    int64_t len = t->len[i < t->n_bufs ? i : t->out];
    put64(q, (uint64_t)len), q += 8;
    for (int64_t j = 0; j < len; j++) put32(q, f32_bits(v[j])), q += 4;
  }
  *size = n;
  return p;
}

/* A bounds-checked reader over a payload. */
typedef struct reader {
  const unsigned char *p; /* the payload */
  uint64_t n, at;         /* its size, the read position */
} reader;

static int have(const reader *r, uint64_t k) { return r->n - r->at >= k; }

/* n floats (count first); NULL with why if they are not all there. */
static float *read_floats(reader *r, int64_t *len, const char *what, char *why, size_t why_size) {
  if (!have(r, 8)) {
    snprintf(why, why_size, "TASK ends before the length of %s", what);
    return NULL;
  }
  uint64_t n = get64(r->p + r->at);
  r->at += 8;
  if (n > (r->n - r->at) / 4) {
    snprintf(why, why_size, "TASK: %s claims %llu floats, more than the payload holds", what,
             (unsigned long long)n);
    return NULL;
  }
  void *mem = NULL; /* aligned as the measurer's own arguments (rmt_task) */
  float *v = posix_memalign(&mem, RMT_ALIGN, n ? 4 * (size_t)n : 4) ? NULL : mem;
  if (!v) {
    snprintf(why, why_size, "TASK: no memory for %s (%llu floats)", what, (unsigned long long)n);
    return NULL;
  }
  for (uint64_t i = 0; i < n; i++, r->at += 4) v[i] = bits_f32(get32(r->p + r->at));
  *len = (int64_t)n;
  return v;
}

/* Records why a TASK is refused; returns -1. */
static int bad(char *why, size_t why_size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bad(char *why, size_t why_size, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, why_size, fmt, ap);
  va_end(ap);
  return -1;
}

static int valid_symbol(const char *s) {
  if (!*s || (*s >= '0' && *s <= '9')) return 0;
  for (; *s; s++)
    if (!(*s == '_' || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')))
      return 0;
  return 1;
}

/* The fixed fields before the arrays. */
static int decode_head(reader *r, rmt_task *t, char *why, size_t why_size) {
  if (!have(r, 44)) return bad(why, why_size, "TASK of %llu bytes is too short", (unsigned long long)r->n);
  const unsigned char *p = r->p;
  uint32_t version = get32(p), n_bufs = get32(p + 4), out = get32(p + 8), repeats = get32(p + 12);
  t->min_repeat_ms = bits_f64(get64(p + 16));
  t->timeout_s = bits_f64(get64(p + 24));
  t->nthreads = (int32_t)get32(p + 32);
  uint32_t flags = get32(p + 36), sym = get32(p + 40);
  r->at = 44;
  if (version != RMT_VERSION)
    return bad(why, why_size, "TASK has protocol version %u, this runner speaks %d", version, RMT_VERSION);
  if (n_bufs < 1 || n_bufs > RMT_MAX_BUFS)
    return bad(why, why_size, "TASK has %u arguments (1 to %d allowed)", n_bufs, RMT_MAX_BUFS);
  if (out >= n_bufs) return bad(why, why_size, "TASK's output %u is not one of its %u arguments", out, n_bufs);
  if (repeats < 1 || repeats > RMT_MAX_TIMES)
    return bad(why, why_size, "TASK asks for %u repeats (1 to %d allowed)", repeats, RMT_MAX_TIMES);
  if (!(t->min_repeat_ms >= 0 && t->min_repeat_ms <= 1e5))
    return bad(why, why_size, "TASK's min_repeat_ms %g is not in [0, 1e5]", t->min_repeat_ms);
  if (!(t->timeout_s > 0 && t->timeout_s <= 1e5))
    return bad(why, why_size, "TASK's timeout_s %g is not in (0, 1e5]", t->timeout_s);
  if (t->nthreads < 0) return bad(why, why_size, "TASK's nthreads %d is negative", t->nthreads);
  if (flags & ~(uint32_t)RMT_COLD) return bad(why, why_size, "TASK has unknown flags 0x%x", flags);
  t->cold = (flags & RMT_COLD) != 0;
  if (sym > RMT_MAX_SYMBOL) return bad(why, why_size, "TASK's symbol of %u bytes is too long", sym);
  if (!have(r, sym)) return bad(why, why_size, "TASK ends inside its symbol");
  memcpy(t->symbol, p + r->at, sym);
  t->symbol[sym] = 0;
  r->at += sym;
  if (!valid_symbol(t->symbol)) return bad(why, why_size, "TASK's symbol '%.40s' is not a C identifier", t->symbol);
  t->n_bufs = (int)n_bufs, t->out = (int)out, t->repeats = (int)repeats;
  return 0;
}

/* The arguments and the expected output. */
static int decode_arrays(reader *r, rmt_task *t, char *why, size_t why_size) {
  int n = t->n_bufs;
  t->n_bufs = 0; /* counts what is allocated, for rmt_task_free */
  for (int i = 0; i < n; i++) {
    char what[32];
    snprintf(what, sizeof what, "argument %d", i);
    if (!(t->bufs[i] = read_floats(r, &t->len[i], what, why, why_size))) return -1;
    t->n_bufs++;
  }
  int64_t len = 0;
  if (!(t->expect = read_floats(r, &len, "the expected output", why, why_size))) return -1;
  if (len != t->len[t->out])
    return bad(why, why_size, "TASK's expected output has %lld floats, its output argument %lld",
                    (long long)len, (long long)t->len[t->out]);
  if (r->at != r->n)
    return bad(why, why_size, "TASK has %llu bytes after its last field", (unsigned long long)(r->n - r->at));
  return 0;
}

int rmt_task_decode(const unsigned char *p, uint64_t size, rmt_task *t, char *why, size_t why_size) {
  memset(t, 0, sizeof *t);
  reader r = {p, size, 0};
  if (decode_head(&r, t, why, why_size) || decode_arrays(&r, t, why, why_size)) {
    rmt_task_free(t);
    return -1;
  }
  return 0;
}

/* ---- RESULT ---- */

/* n doubles, count first. */
static unsigned char *put_times(unsigned char *q, const double *v, int n) {
  put32(q, (uint32_t)n), q += 4;
  for (int i = 0; i < n; i++) put64(q, f64_bits(v[i])), q += 8;
  return q;
}

size_t rmt_result_encode(const rmt_result *r, unsigned char *buf) {
  int nt = r->n_times < 0 ? 0 : r->n_times > RMT_MAX_TIMES ? RMT_MAX_TIMES : r->n_times;
  int nr = r->n_ref == nt ? nt : 0;
  size_t msg = strnlen(r->message, sizeof r->message - 1);
  unsigned char *q = buf;
  put32(q, (uint32_t)r->status), q += 4;
  q = put_times(q, r->times, nt);
  q = put_times(q, r->ref_times, nr);
  put32(q, (uint32_t)msg), q += 4;
  memcpy(q, r->message, msg);
  return (size_t)(q - buf) + msg;
}

/* A count (at most max) and that many doubles at r; -1 if they are not
 * all there. */
static int get_times(reader *r, double *v, int *n, uint32_t max) {
  if (!have(r, 4)) return -1;
  uint32_t k = get32(r->p + r->at);
  r->at += 4;
  if (k > max || !have(r, 8 * (uint64_t)k)) return -1;
  for (uint32_t i = 0; i < k; i++, r->at += 8) v[i] = bits_f64(get64(r->p + r->at));
  *n = (int)k;
  return 0;
}

/* The fields of a RESULT; -1 if it is malformed. */
static int decode_result(reader *rd, rmt_result *r) {
  if (!have(rd, 4)) return -1;
  uint32_t status = get32(rd->p);
  rd->at = 4;
  if (status >= RMT_N_STATUS || get_times(rd, r->times, &r->n_times, RMT_MAX_TIMES) ||
      get_times(rd, r->ref_times, &r->n_ref, (uint32_t)r->n_times) || !have(rd, 4))
    return -1;
  if (r->n_ref && r->n_ref != r->n_times) return -1; /* a reading for every repeat, or none */
  uint64_t msg = get32(rd->p + rd->at);
  rd->at += 4;
  if (msg != rd->n - rd->at) return -1;
  if (msg > sizeof r->message - 1) msg = sizeof r->message - 1;
  memcpy(r->message, rd->p + rd->at, (size_t)msg);
  r->status = (int)status;
  return 0;
}

int rmt_result_decode(const unsigned char *p, uint64_t size, rmt_result *r) {
  memset(r, 0, sizeof *r);
  reader rd = {p, size, 0};
  if (!decode_result(&rd, r)) return 0;
  memset(r, 0, sizeof *r);
  return -1;
}

/* ---- HELLO ---- */

void rmt_hello_encode(const rmt_hello *h, unsigned char buf[RMT_HELLO_SIZE]) {
  put32(buf, h->version), put32(buf + 4, h->flags);
  memcpy(buf + 8, h->nonce, RMT_NONCE);
}

int rmt_hello_decode(const unsigned char *p, uint64_t size, rmt_hello *h) {
  memset(h, 0, sizeof *h);
  if (size != RMT_HELLO_SIZE) return -1;
  h->version = get32(p), h->flags = get32(p + 4);
  memcpy(h->nonce, p + 8, RMT_NONCE);
  return 0;
}
