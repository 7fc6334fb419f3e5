/* check.h — the assertion of the runner's C test programs: CHECK(cond,
 * fmt, ...) reports a failed condition with a message and counts it in
 * `failures` (each program returns non-zero when it is not 0). */
#ifndef CHAMCC_TESTS_RUNNER_CHECK_H
#define CHAMCC_TESTS_RUNNER_CHECK_H

#include <stdio.h>

static int failures;

#define CHECK(c, ...)                                                 \
  do {                                                                \
    if (!(c)) {                                                       \
      fprintf(stderr, "%s:%d: FAIL: %s: ", __FILE__, __LINE__, #c);   \
      fprintf(stderr, __VA_ARGS__);                                   \
      fputc('\n', stderr);                                            \
      failures++;                                                     \
    }                                                                 \
  } while (0)

#endif
