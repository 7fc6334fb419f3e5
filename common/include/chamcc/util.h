/*
 * util.h — support shared by every layer of chamcc (prefix `chm_`):
 * checked allocation, arenas that are freed in one call, growable arrays,
 * and the error context through which library code reports bad input.
 *
 * Library code never prints and never calls exit(): it fills a chm_err and
 * returns -1 (or NULL). Only driver/ prints the message. Compiler bugs are
 * CHM_ASSERT, which aborts with file and line.
 */
#ifndef CHAMCC_UTIL_H
#define CHAMCC_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- common/util.c: allocation ---- */

void *chm_malloc(size_t n);              /* malloc that aborts on exhaustion */
void *chm_calloc(size_t n, size_t size); /* calloc that aborts on exhaustion */
void *chm_malloc_aligned(size_t align, size_t n); /* align: a power of two >= sizeof(void *); free() it */
void *chm_realloc(void *p, size_t n);    /* realloc that aborts on exhaustion */
char *chm_strdup(const char *s);         /* strdup that aborts on exhaustion */

/* An arena: many small allocations released together by chm_arena_free. */
typedef struct chm_arena chm_arena;

chm_arena *chm_arena_new(void);
void *chm_arena_alloc(chm_arena *a, size_t n); /* zeroed (fresh calloc'ed bytes), 16-byte aligned */
char *chm_arena_strdup(chm_arena *a, const char *s);
char *chm_arena_printf(chm_arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void chm_arena_free(chm_arena *a); /* NULL is allowed */

/* Growable array of any element type: CHM_VEC(int) v = {0}; chm_vec_push(&v, 3). */
#define CHM_VEC(T) struct { T *data; int len, cap; }
#define chm_vec_push(v, x)                                                   \
  do {                                                                       \
    if ((v)->len == (v)->cap) {                                              \
      (v)->cap = (v)->cap ? 2 * (v)->cap : 8;                                \
      (v)->data = chm_realloc((v)->data, (size_t)(v)->cap * sizeof *(v)->data); \
    }                                                                        \
    (v)->data[(v)->len++] = (x);                                             \
  } while (0)
#define chm_vec_free(v) (free((v)->data), (v)->data = NULL, (v)->len = (v)->cap = 0)

/* ---- common/util.c: errors ---- */

/* Error context. The first error set wins; later ones are ignored so that
 * the message names the root cause. */
typedef struct chm_err {
  int set;         /* non-zero once an error was recorded */
  char msg[1024];  /* "FILE: node 'NAME' (OP): what is wrong", no trailing newline */
} chm_err;

/* Records a formatted message (if none yet) and returns -1. */
int chm_errorf(chm_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int chm_verrorf(chm_err *e, const char *fmt, va_list ap);

/* Internal consistency check: a failure is a bug in chamcc, never bad input. */
#define CHM_ASSERT(c)                                                        \
  do {                                                                       \
    if (!(c)) chm_assert_fail(#c, __FILE__, __LINE__);                       \
  } while (0)
_Noreturn void chm_assert_fail(const char *cond, const char *file, int line);

/* ---- common/util.c: files and numbers ---- */

/* Reads a whole file. Returns NULL and sets *e ("PATH: reason") on failure. */
unsigned char *chm_read_file(const char *path, size_t *size, chm_err *e);
int64_t chm_prod(const int64_t *v, int n); /* product of n values, 1 if n == 0 */
double chm_now(void);                      /* monotonic seconds */
int chm_num_cpus(void);                    /* online CPUs, at least 1 */

/* Command-line numbers: the whole of s, within [lo, hi], into *out. Returns
 * 0, or -1 for a non-number, trailing text or a value out of range (*out is
 * then unspecified). */
int chm_parse_int(const char *s, int lo, int hi, int *out);
int chm_parse_double(const char *s, double lo, double hi, double *out);

#endif
