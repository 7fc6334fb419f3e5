/*
 * math_cases.h — what the two tests of vector math share (test_math.c: the
 * LLVM back end's, test_vec_math.c: the emitted C's chamcc_vec.h): the
 * special inputs every function is tried on, and the error in units in the
 * last place.
 */
#ifndef CHAMCC_TESTS_MATH_CASES_H
#define CHAMCC_TESTS_MATH_CASES_H

#include <float.h>
#include <math.h>

static const float specials[] = {
    0.0f, -0.0f, INFINITY, -INFINITY, NAN, -NAN, FLT_MIN, -FLT_MIN, FLT_MAX, -FLT_MAX,
    0x1p-149f, -0x1p-149f, 1.0f, -1.0f, 0.625f, -0.625f, 4.0f, -4.0f, 3.92f, 0.5f,
    88.72f, 88.7228f, 88.73f, 89.0f, 100.0f, -87.33f, -87.34f, -103.97f, -104.0f, -110.0f,
    1.41421356f, 0.70710678f, 1e-8f, -1e-8f, 9.0f, -9.0f, 20.0f, -20.0f};

/* Units in the last place of float(ref) between got and ref (ref finite). */
static double ulps(float got, double ref) {
  float r = fabsf((float)ref);
  double ulp = r >= FLT_MAX ? ldexp(1, 104) : (double)nextafterf(r, INFINITY) - r;
  if (r < FLT_MIN) ulp = ldexp(1, -149);
  return fabs((double)got - ref) / ulp;
}

#endif
