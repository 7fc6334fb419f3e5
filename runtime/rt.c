/*
 * rt.c — the runtime linked into every library chamcc generates (and into
 * chamcc itself): the thread pool behind chm_rt_parallel_for and the
 * workspace pools behind chm_rt_ws_acquire/release. See runtime/include/chamcc/rt.h.
 *
 * Needs only libc, pthreads and C11 atomics (Linux: the futex system call).
 *
 * Thread pool. One global pool, created lazily on the first parallel call
 * and grown when a later call asks for more threads. A caller owns the pool
 * for the length of one loop (the `busy` flag); a caller that finds it busy
 * (another thread's loop, or a parallel loop nested in a task) runs its loop
 * serially. The owner writes the job (task, ctx, n, slices) and `pending`,
 * opens slice i (`claim` = 0, release) and bumps the `go` counter of each
 * worker i it needs; worker i wakes, claims slice i (CAS 0 -> 1, acquire),
 * runs it and decrements `pending` (release). The owner runs slice 0, then
 * steals every slice not claimed yet (CAS 0 -> 2: a worker that is asleep
 * or preempted costs nothing but its share) and waits for `pending` to
 * reach 0 (acquire). A worker reads the job only after claiming a slice and
 * before its decrement, so the job is never written while read; a worker
 * whose slice was stolen just finds it claimed. Late passes are harmless:
 * a worker makes one pass per bump of go, and a pass claims whatever slice
 * is open at that moment, which is always the current job's.
 *
 * Waiting is a short spin (20 us by default, or CHAMCC_RT_SPIN_US; a layer
 * lasts 0.1-2 ms, so wake-up latency matters) followed by a futex sleep.
 * The sleeper announces itself with a flag before re-checking the word; the
 * waker changes the word before reading the flag: with both sides seq_cst,
 * one of them sees the other, so no wake-up is lost. After fork() the child
 * has no workers: an atfork handler resets the pool.
 *
 * Workers are joinable and run code of this object, which may live in a
 * shared object that is dlclose()d: a destructor (at dlclose, and at exit)
 * takes the pool, sets `stopping`, bumps every worker's go and joins them,
 * so no thread outlives the code it runs. A pool busy at that moment (a
 * loop in flight in another thread while the process exits) is left alone.
 *
 * Workspace pools. The caller's storage (CHM_RT_WSPOOL_BYTES, all zero when
 * empty) holds a spinlock and a small array of cached blocks. Each block
 * carries a 64-byte header with its size, so release needs only the pointer
 * and acquire can check that a cached block is big enough.
 */
#define _GNU_SOURCE
#include "chamcc/rt.h"

#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#if !defined(__linux__)
#error "runtime/rt.c sleeps on Linux futexes"
#endif

enum {
  MAX_THREADS = 256,     /* threads of one loop, the caller included */
  SPIN_NS = 20000,       /* default spin before sleeping on a futex */
  MAX_SPIN_NS = 1000000, /* cap of CHAMCC_RT_SPIN_US */
  CACHE_LINE = 64,       /* padding between words written by different threads */
};

/* Nanoseconds to spin before sleeping: SPIN_NS, or CHAMCC_RT_SPIN_US from
 * the environment (read once, when the pool starts). */
static int64_t spin_ns = SPIN_NS;

/* ---- waiting: spin, then futex ---- */

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void futex_wait(atomic_uint *word, unsigned old) {
  syscall(SYS_futex, (unsigned *)word, FUTEX_WAIT_PRIVATE, old, NULL, NULL, 0);
}

static void futex_wake(atomic_uint *word) {
  syscall(SYS_futex, (unsigned *)word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* True when *word == v, if want_equal; when *word != v otherwise. */
static inline bool reached(atomic_uint *word, unsigned v, bool want_equal) {
  return (atomic_load_explicit(word, memory_order_acquire) == v) == want_equal;
}

/* Spins up to spin_ns for the condition; returns whether it holds. */
static bool spin(atomic_uint *word, unsigned v, bool want_equal) {
  if (reached(word, v, want_equal)) return true;
  int64_t deadline = now_ns() + spin_ns;
  for (int i = 1;; i++) {
    if (reached(word, v, want_equal)) return true;
    cpu_relax();
    if (i % 64 == 0 && now_ns() > deadline) return false;
  }
}

/* Waits until *word == v (want_equal) or *word != v, spinning first and
 * then sleeping. *sleeping tells the waker to call futex_wake. */
static void wait_word(atomic_uint *word, unsigned v, bool want_equal, atomic_int *sleeping) {
  if (spin(word, v, want_equal)) return;
  atomic_store(sleeping, 1);
  for (;;) {
    unsigned cur = atomic_load(word);
    if ((cur == v) == want_equal) break;
    futex_wait(word, cur);
  }
  atomic_store_explicit(sleeping, 0, memory_order_relaxed);
}

/* Wakes a waiter of wait_word after the word was changed (seq_cst). */
static void wake_word(atomic_uint *word, atomic_int *sleeping) {
  if (atomic_load(sleeping)) futex_wake(word);
}

/* ---- the thread pool ---- */

typedef struct worker {
  alignas(CACHE_LINE) atomic_uint go; /* bumped by the owner to start a slice */
  atomic_int sleeping;                /* 1 while the worker may sleep on go */
  atomic_int claim;                   /* slice i: 0 open, 1 worker's, 2 stolen */
} worker;

typedef struct pool {
  alignas(CACHE_LINE) atomic_int busy; /* 1 while a caller owns the pool */
  atomic_int stopping;                 /* 1 while pool_stop ends the workers */
  int nworkers;                        /* workers started; owner-only */
  pthread_t threads[MAX_THREADS];      /* slot i's thread (1..nworkers), for pool_stop */
  int ncpus;                           /* online CPUs, set once */
  chm_rt_task task;                    /* the job: written by the owner... */
  void *ctx;                           /* ...before any worker's go... */
  int64_t n;                           /* ...iterations in [0, n)... */
  int nslices;                         /* ...split into this many slices */
  alignas(CACHE_LINE) atomic_uint pending; /* worker slices not yet done */
  atomic_int owner_sleeping;               /* 1 while the owner may sleep */
  worker workers[MAX_THREADS];             /* slot i runs slice i; 0 unused */
} pool;

static pool P;
static pthread_once_t pool_once = PTHREAD_ONCE_INIT;

/* Forgets every worker and leaves the pool free: in a forked child no
 * worker exists, and after pool_stop none is left. Slots start afresh
 * (go = 0); the pool is released last. */
static void pool_forget(void) {
  atomic_store(&P.stopping, 0);
  P.nworkers = 0;
  atomic_store(&P.pending, 0);
  atomic_store(&P.owner_sleeping, 0);
  for (int i = 0; i < MAX_THREADS; i++) {
    atomic_store(&P.workers[i].go, 0);
    atomic_store(&P.workers[i].sleeping, 0);
    atomic_store(&P.workers[i].claim, 0);
  }
  atomic_store(&P.busy, 0);
}

static int count_cpus(void) {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (int)n : 1;
}

static void pool_init(void) {
  P.ncpus = count_cpus();
  const char *us = getenv("CHAMCC_RT_SPIN_US");
  if (us && *us) {
    long v = strtol(us, NULL, 10);
    spin_ns = v < 0 ? 0 : v > MAX_SPIN_NS / 1000 ? MAX_SPIN_NS : v * 1000;
  }
  pthread_atfork(NULL, NULL, pool_forget);
}

/* Iterations [*b, *e) of slice i out of k over [0, n). */
static void slice_range(int64_t n, int k, int i, int64_t *b, int64_t *e) {
  int64_t q = n / k, r = n % k;
  *b = i * q + (i < r ? i : r);
  *e = *b + q + (i < r);
}

static void run_slice(int i) {
  int64_t b, e;
  slice_range(P.n, P.nslices, i, &b, &e);
  if (b < e) P.task(P.ctx, b, e);
}

/* Claims w's slice for `who` (1 the worker, 2 the owner) if it is open. */
static bool claim_slice(worker *w, int who) {
  int open = 0;
  return atomic_compare_exchange_strong_explicit(&w->claim, &open, who, memory_order_acquire,
                                                 memory_order_relaxed);
}

static void *worker_main(void *arg) {
  int id = (int)(intptr_t)arg;
  worker *w = &P.workers[id];
  unsigned seen = 0; /* go of a new slot is 0 */
  for (;;) {
    wait_word(&w->go, seen, false, &w->sleeping);
    seen++; /* one pass per bump */
    if (atomic_load(&P.stopping)) break;
    if (!claim_slice(w, 1)) continue; /* stolen, or not open */
    run_slice(id);
    if (atomic_fetch_sub(&P.pending, 1) == 1) wake_word(&P.pending, &P.owner_sleeping);
  }
  return NULL;
}

/* Starts workers until there are `want` (owner only). Returns how many
 * exist: fewer than wanted if the system refuses threads. Workers block
 * all signals so that handlers run in the application's threads. */
static int pool_grow(int want) {
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  while (P.nworkers < want) {
    pthread_t t;
    int id = P.nworkers + 1;
    if (pthread_create(&t, NULL, worker_main, (void *)(intptr_t)id) != 0) break;
    P.threads[id] = t;
    P.nworkers = id;
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  return P.nworkers;
}

static bool pool_try_enter(void) {
  int expected = 0;
  return atomic_compare_exchange_strong_explicit(&P.busy, &expected, 1, memory_order_acquire,
                                                 memory_order_relaxed);
}

static void pool_leave(void) { atomic_store_explicit(&P.busy, 0, memory_order_release); }

/* Runs the job in P on slices 0..k-1 (owner only; k >= 2 workers exist). */
static void pool_run(int k) {
  P.nslices = k;
  atomic_store_explicit(&P.pending, (unsigned)(k - 1), memory_order_relaxed);
  for (int i = 1; i < k; i++) {
    worker *w = &P.workers[i];
    atomic_store_explicit(&w->claim, 0, memory_order_release); /* publishes job, pending */
    atomic_fetch_add(&w->go, 1);
    wake_word(&w->go, &w->sleeping);
  }
  run_slice(0);
  for (int i = k - 1; i >= 1; i--) {
    if (!claim_slice(&P.workers[i], 2)) continue;
    run_slice(i);
    atomic_fetch_sub_explicit(&P.pending, 1, memory_order_relaxed);
  }
  wait_word(&P.pending, 0, true, &P.owner_sleeping);
}

/* Ends and joins every worker, when no loop is in flight: at dlclose of
 * the shared object this runtime is linked into (its code is about to be
 * unmapped), and at exit. */
__attribute__((destructor)) static void pool_stop(void) {
  if (!pool_try_enter()) return;
  atomic_store(&P.stopping, 1);
  for (int i = 1; i <= P.nworkers; i++) {
    atomic_fetch_add(&P.workers[i].go, 1);
    wake_word(&P.workers[i].go, &P.workers[i].sleeping);
  }
  for (int i = 1; i <= P.nworkers; i++) pthread_join(P.threads[i], NULL);
  pool_forget(); /* and leaves the pool */
}

static void run_loop(chm_rt_task task, void *ctx, int64_t n, int32_t nthreads) {
  if (n <= 0) return;
  pthread_once(&pool_once, pool_init);
  int64_t k = nthreads > 0 ? nthreads : P.ncpus;
  if (k > n) k = n;
  if (k > MAX_THREADS) k = MAX_THREADS;
  if (k <= 1 || !pool_try_enter()) {
    task(ctx, 0, n);
    return;
  }
  int have = pool_grow((int)k - 1) + 1;
  if (k > have) k = have;
  P.task = task, P.ctx = ctx, P.n = n;
  if (k <= 1)
    task(ctx, 0, n);
  else
    pool_run((int)k);
  pool_leave();
}

/* ---- profile (bench/profile.sh only) ---- */

#ifdef CHM_RT_PROFILE
/* Built with -DCHM_RT_PROFILE by bench/profile.sh, never into a generated
 * library: the wall time of every parallel loop, summed per task function,
 * printed to stderr at exit as "chm_rt_profile ADDRESS CALLS ITERATIONS NS"
 * (the script names the addresses with nm). A loop nested in a task runs
 * inside its caller's time, as it runs serially there. */
#include <inttypes.h>
#include <stdio.h>

enum { PROFILE_SLOTS = 4096 };
static struct {
  chm_rt_task task;
  int64_t calls, iterations, ns;
} profile[PROFILE_SLOTS];
static int profile_n;
static pthread_mutex_t profile_lock = PTHREAD_MUTEX_INITIALIZER;

static void profile_add(chm_rt_task task, int64_t n, int64_t ns) {
  pthread_mutex_lock(&profile_lock);
  int i = 0;
  while (i < profile_n && profile[i].task != task) i++;
  if (i == profile_n && profile_n < PROFILE_SLOTS) profile[profile_n++].task = task;
  if (i < profile_n) profile[i].calls++, profile[i].iterations = n, profile[i].ns += ns;
  pthread_mutex_unlock(&profile_lock);
}

__attribute__((destructor)) static void profile_print(void) {
  for (int i = 0; i < profile_n; i++)
    fprintf(stderr, "chm_rt_profile %p %" PRId64 " %" PRId64 " %" PRId64 "\n", (void *)profile[i].task,
            profile[i].calls, profile[i].iterations, profile[i].ns);
}
#endif

void chm_rt_parallel_for(chm_rt_task task, void *ctx, int64_t n, int32_t nthreads) {
#ifdef CHM_RT_PROFILE
  int64_t t0 = now_ns();
  run_loop(task, ctx, n, nthreads);
  profile_add(task, n, now_ns() - t0);
#else
  run_loop(task, ctx, n, nthreads);
#endif
}

/* ---- workspace pools ---- */

enum {
  WS_SLOTS = 29,   /* cached blocks per pool */
  WS_HEADER = 64,  /* bytes before each block: its size, keeps alignment */
  WS_ALIGN = 64,   /* alignment of every block */
  WS_POOLS = 64,   /* pools whose cached blocks are freed at unload */
};

typedef struct wspool {
  atomic_int lock;      /* 0 free, 1 held: guards count, slot and known */
  int count;            /* cached blocks in slot[0..count) */
  int known;            /* listed in `pools` (freed by ws_free_all) */
  void *slot[WS_SLOTS]; /* released blocks (header addresses) */
} wspool;

/* The pools that cached a block, so that unloading the library (dlclose,
 * or exit) frees their blocks instead of leaking them. */
static wspool *pools[WS_POOLS];
static atomic_int n_pools;

/* The caller's storage may have any alignment: use its first aligned part. */
_Static_assert(sizeof(wspool) + alignof(wspool) - 1 <= CHM_RT_WSPOOL_BYTES,
               "wspool must fit in CHM_RT_WSPOOL_BYTES");

static wspool *ws_of(chm_rt_wspool *p) {
  uintptr_t a = ((uintptr_t)p + alignof(wspool) - 1) & ~(uintptr_t)(alignof(wspool) - 1);
  return (wspool *)a;
}

static void ws_lock(wspool *w) {
  while (atomic_exchange_explicit(&w->lock, 1, memory_order_acquire))
    while (atomic_load_explicit(&w->lock, memory_order_relaxed)) cpu_relax();
}

static void ws_unlock(wspool *w) { atomic_store_explicit(&w->lock, 0, memory_order_release); }

static int64_t ws_size(void *base) { return *(int64_t *)base; }

/* Takes a cached block of at least `bytes`, or NULL. */
static void *ws_take(wspool *w, int64_t bytes) {
  void *got = NULL;
  ws_lock(w);
  for (int i = 0; i < w->count; i++) {
    if (ws_size(w->slot[i]) >= bytes) {
      got = w->slot[i];
      w->slot[i] = w->slot[--w->count];
      break;
    }
  }
  ws_unlock(w);
  return got;
}

void *chm_rt_ws_acquire(chm_rt_wspool *pool, int64_t bytes) {
  if (bytes < 0 || bytes > INT64_MAX - 2 * WS_HEADER) return NULL;
  wspool *w = ws_of(pool);
  void *base = ws_take(w, bytes);
  if (!base) {
    int64_t size = bytes ? (bytes + WS_ALIGN - 1) / WS_ALIGN * WS_ALIGN : WS_ALIGN;
    if ((uint64_t)size + WS_HEADER > SIZE_MAX) return NULL;
    if (posix_memalign(&base, WS_ALIGN, (size_t)size + WS_HEADER) != 0) return NULL;
    *(int64_t *)base = size;
  }
  return (char *)base + WS_HEADER;
}

void chm_rt_ws_release(chm_rt_wspool *pool, void *block) {
  if (!block) return;
  wspool *w = ws_of(pool);
  void *base = (char *)block - WS_HEADER;
  ws_lock(w);
  if (!w->known) { /* the first block this pool keeps: list the pool */
    int i = atomic_fetch_add(&n_pools, 1);
    if (i < WS_POOLS) pools[i] = w;
    w->known = 1;
  }
  bool kept = w->count < WS_SLOTS && atomic_load(&n_pools) <= WS_POOLS;
  if (kept) w->slot[w->count++] = base;
  ws_unlock(w);
  if (!kept) free(base);
}

/* At unload: the cached blocks of every listed pool (blocks in use by a
 * run still in flight are not cached, so not touched). */
__attribute__((destructor)) static void ws_free_all(void) {
  int n = atomic_load(&n_pools);
  for (int i = 0; i < n && i < WS_POOLS; i++) {
    wspool *w = pools[i];
    ws_lock(w);
    for (int k = 0; k < w->count; k++) free(w->slot[k]);
    w->count = 0;
    w->known = 0;
    ws_unlock(w);
  }
  atomic_store(&n_pools, 0);
}
