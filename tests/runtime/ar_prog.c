/*
 * ar_prog.c — the program linked against the test archive (see
 * test_archive.c): calls the kernel from the main thread and from three
 * threads at once, checks the sums and the data member's arrays (values and
 * 64-byte alignment), and prints "ok".
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

int64_t kernel_sum_squares(int64_t n, int nthreads);
extern const float test_weights_0[3] __attribute__((visibility("hidden")));
extern const float test_weights_1[17] __attribute__((visibility("hidden")));

static long bad_weights(void) {
  long bad = test_weights_0[0] != 1.5f || test_weights_0[1] != -2 || test_weights_0[2] != 3;
  for (int i = 0; i < 17; i++) bad += test_weights_1[i] != 0.25f * (float)i;
  return bad + ((uintptr_t)test_weights_0 % 64 != 0) + ((uintptr_t)test_weights_1 % 64 != 0);
}

static int64_t expected(int64_t n) { return (n - 1) * n * (2 * n - 1) / 6; }

static void *caller(void *arg) {
  long bad = 0;
  for (int64_t n = 1; n < 400; n++) bad += kernel_sum_squares(n, 2 + (int)(n % 3)) != expected(n);
  return (void *)bad;
}

int main(void) {
  long bad = 0;
  for (int64_t n = 0; n < 300; n++) bad += kernel_sum_squares(n, (int)(n % 5) - 1) != expected(n);
  pthread_t t[3];
  for (int i = 0; i < 3; i++) pthread_create(&t[i], NULL, caller, NULL);
  for (int i = 0; i < 3; i++) {
    void *r;
    pthread_join(t[i], &r);
    bad += (long)r;
  }
  if (bad) {
    printf("FAIL: %ld wrong sums\n", bad);
    return 1;
  }
  if (bad_weights()) {
    printf("FAIL: the data member's arrays are wrong or misaligned\n");
    return 1;
  }
  printf("ok\n");
  return 0;
}
