/* check.h — the one assertion of chamcc's C test programs.
 *
 * CHECK(cond) or CHECK(cond, fmt, ...) reports a condition that does not
 * hold as "FILE:LINE: FAIL: cond: message" on stderr and counts it in
 * `failures`; each program returns non-zero when failures is not 0. A test
 * keeps going after a failed check, so one run shows every failure.
 * check_contains(text, want, n) checks that each of n strings is in text. */
#ifndef CHAMCC_TESTS_CHECK_H
#define CHAMCC_TESTS_CHECK_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int failures;

#pragma GCC diagnostic ignored "-Wformat-zero-length" /* CHECK(cond) has no message */

__attribute__((format(printf, 4, 5), unused)) static void check_failed(const char *file, int line,
                                                                       const char *cond, const char *fmt,
                                                                       ...) {
  fprintf(stderr, "%s:%d: FAIL: %s", file, line, cond);
  if (fmt[0]) {
    va_list ap;
    va_start(ap, fmt);
    fputs(": ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
  }
  fputc('\n', stderr);
  failures++;
}

#define CHECK(c, ...)                                                     \
  do {                                                                    \
    if (!(c)) check_failed(__FILE__, __LINE__, #c, "" __VA_ARGS__);       \
  } while (0)

/* Every string of want[n] is somewhere in text (NULL fails them all); on
 * a failure, prints the text. Failures name the caller's file and line. */
#define check_contains(text, want, n) check_contains_at(__FILE__, __LINE__, text, want, n)
__attribute__((unused)) static void check_contains_at(const char *file, int line, const char *text,
                                                      const char *const *want, size_t n) {
  int before = failures;
  for (size_t i = 0; i < n; i++)
    if (!text || !strstr(text, want[i])) check_failed(file, line, "check_contains", "missing: %s", want[i]);
  if (failures > before) fprintf(stderr, "got:\n%s", text ? text : "(null)");
}

#endif
