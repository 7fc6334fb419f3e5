/*
 * util.c — allocation, arenas, errors and small helpers (see util.h).
 *
 * The arena is a list of chunks; each allocation is carved from the current
 * chunk and an oversized request gets a chunk of its own.
 */
#include "chamcc/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static _Noreturn void out_of_memory(size_t n) {
  fprintf(stderr, "chamcc: out of memory (%zu bytes)\n", n);
  abort();
}

void *chm_malloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) out_of_memory(n);
  return p;
}

void *chm_calloc(size_t n, size_t size) {
  void *p = calloc(n ? n : 1, size ? size : 1);
  if (!p) out_of_memory(n * size);
  return p;
}

void *chm_malloc_aligned(size_t align, size_t n) {
  void *p = NULL;
  if (posix_memalign(&p, align, n ? n : 1)) out_of_memory(n);
  return p;
}

void *chm_realloc(void *p, size_t n) {
  p = realloc(p, n ? n : 1);
  if (!p) out_of_memory(n);
  return p;
}

char *chm_strdup(const char *s) {
  size_t n = strlen(s) + 1;
  return memcpy(chm_malloc(n), s, n);
}

typedef struct chunk {
  struct chunk *next; /* previous chunk in allocation order */
  size_t size, used;  /* bytes of data[] and bytes handed out */
  _Alignas(16) unsigned char data[];
} chunk;

struct chm_arena {
  chunk *head; /* current chunk, NULL before the first allocation */
};

enum { ARENA_CHUNK = 64 * 1024 };

chm_arena *chm_arena_new(void) { return chm_calloc(1, sizeof(chm_arena)); }

void *chm_arena_alloc(chm_arena *a, size_t n) {
  n = (n + 15) & ~(size_t)15;
  chunk *c = a->head;
  if (!c || c->size - c->used < n) {
    size_t size = n > ARENA_CHUNK / 4 ? n : ARENA_CHUNK;
    /* calloc: a chunk is handed out once, front to back, so its bytes are
     * zero when handed out; a large block comes as fresh zero pages that
     * are touched only when written (a 500-MB constant is not cleared
     * first) */
    chunk *nc = chm_calloc(1, sizeof(chunk) + size);
    nc->size = size;
    nc->used = 0;
    if (size == n && c) { /* big block: keep the current chunk current */
      nc->next = c->next;
      c->next = nc;
    } else {
      nc->next = c;
      a->head = nc;
    }
    c = nc;
  }
  void *p = c->data + c->used;
  c->used += n;
  return p;
}

char *chm_arena_strdup(chm_arena *a, const char *s) {
  size_t n = strlen(s) + 1;
  return memcpy(chm_arena_alloc(a, n), s, n);
}

char *chm_arena_printf(chm_arena *a, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  char *s = chm_arena_alloc(a, (size_t)n + 1);
  va_start(ap, fmt);
  vsnprintf(s, (size_t)n + 1, fmt, ap);
  va_end(ap);
  return s;
}

void chm_arena_free(chm_arena *a) {
  if (!a) return;
  for (chunk *c = a->head, *next; c; c = next) {
    next = c->next;
    free(c);
  }
  free(a);
}

int chm_verrorf(chm_err *e, const char *fmt, va_list ap) {
  if (e && !e->set) {
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    e->set = 1;
  }
  return -1;
}

int chm_errorf(chm_err *e, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  chm_verrorf(e, fmt, ap);
  va_end(ap);
  return -1;
}

_Noreturn void chm_assert_fail(const char *cond, const char *file, int line) {
  fprintf(stderr, "chamcc: internal error: %s:%d: assertion '%s' failed\n", file, line, cond);
  abort();
}

unsigned char *chm_read_file(const char *path, size_t *size, chm_err *e) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    chm_errorf(e, "%s: %s", path, strerror(errno));
    return NULL;
  }
  size_t cap = 1 << 16, n = 0;
  unsigned char *buf = chm_malloc(cap);
  for (;;) {
    if (n == cap) buf = chm_realloc(buf, cap *= 2);
    size_t got = fread(buf + n, 1, cap - n, f);
    n += got;
    if (got == 0) break;
  }
  int bad = ferror(f);
  fclose(f);
  if (bad) {
    free(buf);
    chm_errorf(e, "%s: read error", path);
    return NULL;
  }
  *size = n;
  return buf;
}

int64_t chm_prod(const int64_t *v, int n) {
  int64_t p = 1;
  for (int i = 0; i < n; i++) p *= v[i];
  return p;
}

double chm_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int chm_num_cpus(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (int)n : 1;
}

int chm_parse_int(const char *s, int lo, int hi, int *out) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || end == s || *end || v < lo || v > hi) return -1;
  *out = (int)v;
  return 0;
}

int chm_parse_double(const char *s, double lo, double hi, double *out) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (errno || end == s || *end || !(v >= lo && v <= hi)) return -1;
  *out = v;
  return 0;
}
