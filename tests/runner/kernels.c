/*
 * kernels.c — hand-made candidates for the protocol test (test_client.c),
 * built as shared objects for the runner's machine with -DKIND=...:
 *
 *   OK     out[i] = a[i] * b[i] + 1 for i < N - 8, through the runtime's
 *          chm_rt_parallel_for (so the runner must export it); the last 8
 *          are never written, and the expected output says NaN there
 *   WRONG  forgets the + 1
 *   CRASH  writes through a null pointer
 *   HANG   never returns
 *   NOSYM  defines another name than the TASK's symbol
 *   MARK   as OK, and creates the file $CHAMCC_TEST_MARK as soon as it is
 *          loaded: the key test's proof of whether a candidate ran
 *
 * N must match test_client.c.
 */
#include "chamcc/rt.h"

#define OK 1 /* macros, not an enum: KIND is tested by #if */
#define WRONG 2
#define CRASH 3
#define HANG 4
#define NOSYM 5
#define MARK 6
enum { N = 1000 };

#if KIND == MARK
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

__attribute__((constructor)) static void mark(void) {
  const char *path = getenv("CHAMCC_TEST_MARK");
  int fd = path ? open(path, O_WRONLY | O_CREAT, 0600) : -1;
  if (fd >= 0) close(fd);
}
#endif

typedef struct job {
  const float *a, *b; /* inputs */
  float *out;         /* output */
} job;

static void slice(void *ctx, int64_t begin, int64_t end) {
  job *j = ctx;
  for (int64_t i = begin; i < end; i++) j->out[i] = j->a[i] * j->b[i] + (KIND == WRONG ? 0 : 1);
}

#if KIND == NOSYM
void not_the_candidate(float *a, float *b, float *out) {
#else
void candidate(float *a, float *b, float *out) {
#endif
  if (KIND == CRASH) {
    volatile float *volatile null = 0; /* the compiler may neither drop the store nor make it a trap */
    *null = 1;
  }
  while (KIND == HANG) {
    __asm__ volatile("" ::: "memory"); /* a loop the compiler must keep */
  }
  job j = {a, b, out};
  chm_rt_parallel_for(slice, &j, N - 8, 2);
}
