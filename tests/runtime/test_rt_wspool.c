/*
 * test_rt_wspool.c — chm_rt_ws_acquire / chm_rt_ws_release (runtime/rt.c):
 * zeroed storage is an empty pool (even misaligned), blocks are 64-byte
 * aligned and writable, released blocks are reused, a full cache frees,
 * bad sizes give NULL, and threads sharing one pool never share a block.
 *
 * Pools are static so that the blocks they cache stay reachable (no leak
 * reports under LeakSanitizer).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "chamcc/rt.h"

#include "../check.h"


static _Alignas(64) unsigned char pool_a[CHM_RT_WSPOOL_BYTES];
static _Alignas(64) unsigned char raw_b[CHM_RT_WSPOOL_BYTES + 64]; /* pool at raw_b + 1 */

static chm_rt_wspool *pool(unsigned char *storage) { return (chm_rt_wspool *)storage; }

static void check_alignment(void) {
  static const int64_t sizes[] = {0, 1, 63, 64, 65, 1000, 1 << 20};
  for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
    unsigned char *p = chm_rt_ws_acquire(pool(pool_a), sizes[i]);
    CHECK(p && (uintptr_t)p % 64 == 0, "size %lld: block %p", (long long)sizes[i], (void *)p);
    if (p) memset(p, 0xab, (size_t)sizes[i]);
    chm_rt_ws_release(pool(pool_a), p);
  }
}

static void check_reuse(void) {
  void *a = chm_rt_ws_acquire(pool(pool_a), 4096);
  chm_rt_ws_release(pool(pool_a), a);
  void *b = chm_rt_ws_acquire(pool(pool_a), 4096);
  CHECK(a == b, "a released block is not reused");
  void *c = chm_rt_ws_acquire(pool(pool_a), 4096);
  CHECK(c && c != b, "a block in use was handed out twice");
  chm_rt_ws_release(pool(pool_a), b);
  chm_rt_ws_release(pool(pool_a), c);
}

/* A cached block too small for a request is not handed out. */
static void check_sizes(void) {
  unsigned char *big = chm_rt_ws_acquire(pool(pool_a), 1 << 16);
  CHECK(big != NULL, "no block of 64 KiB");
  if (big) memset(big, 1, 1 << 16);
  chm_rt_ws_release(pool(pool_a), big);
  CHECK(chm_rt_ws_acquire(pool(pool_a), -1) == NULL, "negative size gives a block");
  CHECK(chm_rt_ws_acquire(pool(pool_a), INT64_MAX) == NULL, "INT64_MAX gives a block");
  chm_rt_ws_release(pool(pool_a), NULL);
}

/* More blocks than the cache holds: the extra ones are freed. */
static void check_full_cache(void) {
  enum { N = 100 };
  void *p[N];
  for (int i = 0; i < N; i++) p[i] = chm_rt_ws_acquire(pool(pool_a), 256);
  for (int i = 0; i < N; i++)
    for (int j = 0; j < i; j++) CHECK(p[i] != p[j], "blocks %d and %d are the same", i, j);
  for (int i = 0; i < N; i++) chm_rt_ws_release(pool(pool_a), p[i]);
  for (int i = 0; i < N; i++) p[i] = chm_rt_ws_acquire(pool(pool_a), 256);
  for (int i = 0; i < N; i++) chm_rt_ws_release(pool(pool_a), p[i]);
}

/* The pool's storage need not be aligned, and nothing beyond it is touched. */
static void check_misaligned(void) {
  memset(raw_b, 0, sizeof raw_b);
  memset(raw_b + 1 + CHM_RT_WSPOOL_BYTES, 0x5a, sizeof raw_b - 1 - CHM_RT_WSPOOL_BYTES);
  raw_b[0] = 0x5a;
  void *p[40];
  for (int i = 0; i < 40; i++) p[i] = chm_rt_ws_acquire(pool(raw_b + 1), 128 + i);
  for (int i = 0; i < 40; i++) chm_rt_ws_release(pool(raw_b + 1), p[i]);
  void *q = chm_rt_ws_acquire(pool(raw_b + 1), 128);
  CHECK(q != NULL, "misaligned pool: no block");
  chm_rt_ws_release(pool(raw_b + 1), q);
  CHECK(raw_b[0] == 0x5a, "byte before the pool changed");
  for (size_t i = 1 + CHM_RT_WSPOOL_BYTES; i < sizeof raw_b; i++)
    CHECK(raw_b[i] == 0x5a, "byte %zu after the pool changed", i - 1 - CHM_RT_WSPOOL_BYTES);
}

/* ---- threads sharing one pool ---- */

static _Alignas(64) unsigned char pool_c[CHM_RT_WSPOOL_BYTES];
enum { NTHREADS = 4, BLOCK = 2048 };

static void *user_main(void *arg) {
  unsigned char tag = (unsigned char)(uintptr_t)arg;
  long bad = 0;
  for (int rep = 0; rep < 20000; rep++) {
    unsigned char *p = chm_rt_ws_acquire(pool(pool_c), BLOCK - (rep % 3) * 512);
    if (!p) return (void *)1;
    bad += (uintptr_t)p % 64 != 0;
    memset(p, tag, BLOCK - 1024);
    for (int i = 0; i < BLOCK - 1024; i += 61) bad += p[i] != tag;
    chm_rt_ws_release(pool(pool_c), p);
  }
  return (void *)bad;
}

static void check_concurrent(void) {
  pthread_t t[NTHREADS];
  for (int i = 0; i < NTHREADS; i++) pthread_create(&t[i], NULL, user_main, (void *)(uintptr_t)(i + 1));
  long bad = 0;
  for (int i = 0; i < NTHREADS; i++) {
    void *r;
    pthread_join(t[i], &r);
    bad += (long)r;
  }
  CHECK(bad == 0, "threads sharing a pool: %ld bad blocks", bad);
}

int main(void) {
  check_alignment();
  check_reuse();
  check_sizes();
  check_full_cache();
  check_misaligned();
  check_concurrent();
  if (!failures) printf("ok\n");
  return failures ? 1 : 0;
}
