/*
 * rt.h — the runtime ABI (prefix `chm_rt_`): the one place where the code
 * chamcc emits and the C runtime linked into every generated library agree.
 *
 * Kernels are emitted by codegen/; a loop marked parallel is outlined into a
 * chm_rt_task and handed to chm_rt_parallel_for. The model entry function
 * takes its activation workspace from a chm_rt_wspool so that NAME_run may be
 * called from several threads at once. The runtime needs libc and pthreads.
 */
#ifndef CHAMCC_RT_H
#define CHAMCC_RT_H

#include <stddef.h>
#include <stdint.h>

/* One slice of a parallel loop: run iterations [begin, end). */
typedef void (*chm_rt_task)(void *ctx, int64_t begin, int64_t end);

/* Runs task over [0, n) on up to nthreads threads (the caller is one of
 * them; nthreads <= 0 means all online CPUs). Work is split into contiguous
 * slices of near-equal size. If the shared pool is busy (another thread's
 * call is in flight) the loop runs in the calling thread, so concurrent
 * callers are always correct. Returns when every iteration is done. */
void chm_rt_parallel_for(chm_rt_task task, void *ctx, int64_t n, int32_t nthreads);

/* A pool of workspaces of one size, zero-initialized storage of
 * CHM_RT_WSPOOL_BYTES bytes (a static global in the emitted code is valid
 * as it is). acquire returns a 64-byte aligned block of `bytes` bytes (NULL
 * when out of memory), reusing a released one when it can. */
enum { CHM_RT_WSPOOL_BYTES = 256 };
typedef struct chm_rt_wspool chm_rt_wspool;
void *chm_rt_ws_acquire(chm_rt_wspool *pool, int64_t bytes);
void chm_rt_ws_release(chm_rt_wspool *pool, void *block);

#endif
