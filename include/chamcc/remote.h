/*
 * remote.h — measuring candidates on another machine (prefix `rmt_`): the
 * protocol between chamcc and chamcc-runner, the check-and-time loop both
 * measurers run, and the client chamcc uses.
 *
 * Users tune for a board (say AArch64) from a workstation: chamcc builds
 * each candidate for the board as a shared object and sends it to
 * chamcc-runner on the board, which runs it in a child process, checks its
 * output and times it exactly as the local measurer would, and answers with
 * the result fields of a tune_record.
 *
 * The protocol. TCP, binary, little-endian. Every message is one frame:
 *
 *     "CHMR"  u32 type  u64 length  payload[length]
 *
 * A connection carries, from the client, one TASK and then any number of
 * CANDIDATEs; the runner answers each CANDIDATE with one RESULT. Either
 * side may close between frames. Anything malformed (bad magic, unknown or
 * unexpected type, length above the runner's --max-bytes, a truncated
 * payload, inconsistent TASK fields, a CANDIDATE before the TASK, a second
 * TASK) is answered with an ERROR frame and the connection is closed; the
 * runner then serves the next connection. A client that stays silent
 * longer than the runner's idle timeout (60 s) is dropped the same way.
 * Connections are served one at a time, so that candidates never share
 * the board: a second client waits (and its candidates may time out).
 *
 *   TASK (1), client -> runner: what every candidate computes.
 *     u32 version (RMT_VERSION), u32 n_bufs (1..RMT_MAX_BUFS),
 *     u32 out (the output argument, < n_bufs), u32 repeats
 *     (1..RMT_MAX_TIMES), f64 min_repeat_ms, f64 timeout_s (> 0),
 *     i32 nthreads (what the candidates were built for; informative),
 *     u32 flags (RMT_COLD or 0; other bits are refused),
 *     u32 symbol length, symbol bytes (the kernel's name, a C identifier),
 *     then per argument: u64 count, count x f32 (its initial contents),
 *     then u64 count (= the output's), count x f32: the expected output in
 *     the output's own (packed) layout, NaN where any value is right
 *     (halo and channel-padding positions).
 *   CANDIDATE (2), client -> runner: the bytes of a shared object for the
 *     runner's machine that defines `void SYMBOL(float *, ...)` with n_bufs
 *     arguments; it may call chm_rt_* (the runner exports the runtime).
 *   RESULT (3), runner -> client: u32 status (a tune_status: 0 ok,
 *     1 compile_error, 2 runtime_error, 3 wrong_answer, 4 timeout,
 *     5 infra_error: the runner failed, not the candidate),
 *     u32 n_times (<= RMT_MAX_TIMES), n_times x f64 (seconds per run),
 *     u32 message length, message bytes ("" when ok).
 *   ERROR (4), runner -> client: the payload is the message text.
 */
#ifndef CHAMCC_REMOTE_H
#define CHAMCC_REMOTE_H

#include "chamcc/util.h"

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

enum {
  RMT_VERSION = 2,   /* TASK's protocol version (2: flags) */
  RMT_COLD = 1,      /* TASK flag: time every run alone, caches flushed of all but the first argument */
  RMT_MAX_BUFS = 8,  /* kernel arguments */
  RMT_MAX_TIMES = 16,/* timed repeats (= TUNE_MAX_REPEATS) */
  RMT_MAX_SYMBOL = 127, /* bytes of a kernel name */
  RMT_HEADER = 16,   /* bytes of a frame header */
};

typedef enum rmt_type {
  RMT_TASK = 1,      /* what to compute, once per connection */
  RMT_CANDIDATE = 2, /* a shared object to measure */
  RMT_RESULT = 3,    /* its result */
  RMT_ERROR = 4,     /* a protocol error; the sender closes */
} rmt_type;

/* The statuses of a RESULT, numbered as tune_status. RMT_INFRA_ERROR: the
 * measuring failed, not the candidate (a fork or pipe failure, the child
 * killed from outside, a lost runner); it says nothing about the config. */
enum { RMT_OK, RMT_COMPILE_ERROR, RMT_RUNTIME_ERROR, RMT_WRONG_ANSWER, RMT_TIMEOUT, RMT_INFRA_ERROR, RMT_N_STATUS };

/* What a measurement found: the result fields of a tune_record. */
typedef struct rmt_result {
  int status;                  /* RMT_OK ... RMT_INFRA_ERROR */
  int n_times;                 /* repeats done */
  double times[RMT_MAX_TIMES]; /* seconds per run, one per repeat */
  char message[200];           /* why it failed, "" when ok */
} rmt_result;

/* What every candidate of one kernel computes, and how to time it. */
typedef struct rmt_task {
  int n_bufs;                   /* kernel arguments */
  int out;                      /* which one is the output */
  float *bufs[RMT_MAX_BUFS];    /* their contents (malloc'ed) */
  int64_t len[RMT_MAX_BUFS];    /* their lengths in floats */
  float *expect;                /* len[out] floats; NaN: any value is right */
  int repeats;                  /* timed repeats */
  double min_repeat_ms;         /* runs per repeat raised until one lasts this long */
  double timeout_s;             /* one candidate's run */
  int nthreads;                 /* threads the kernels were built for (0 = all) */
  int cold;                     /* RMT_COLD: time runs with cold arguments (see rmt_bench) */
  char symbol[RMT_MAX_SYMBOL + 1]; /* the kernel's name */
} rmt_task;

void rmt_task_free(rmt_task *t); /* frees bufs and expect; t itself is the caller's */

/* ---- search/remote_bench.c: check and time a loaded kernel ---- */

/* Runs fn once on t's buffers (the output first filled with NaN) and
 * compares with t->expect: relative error max|got-exp| / max|exp| over the
 * positions where exp is not NaN; above 1e-4 (or NaN) is a wrong answer.
 * Then times it: a warm-up, `number` runs per repeat raised until a repeat
 * lasts min_repeat_ms, and t->repeats repeats; times are seconds per run.
 * With t->cold, every argument but the first (the layer's input, which in a
 * model the previous layer has just written) is flushed from the caches
 * before each run, and each run is timed alone (the flush is not counted):
 * the weights come from memory, as they do in a model too large for the
 * cache, instead of staying hot over thousands of back-to-back runs. */
void rmt_bench(void *fn, const rmt_task *t, rmt_result *r);

/* Runs child(ctx, r) in a forked process and collects r through a pipe.
 * The child has a process group of its own and ignores SIGINT, SIGTERM and
 * SIGHUP, so that a Ctrl-C meant for its parent never ends a measurement. A
 * child still running after timeout_s is killed (timeout); one that crashed
 * (rmt_signal_status) is a runtime error; a failed fork or pipe, a child
 * killed by another signal or exiting without a result is an infra error. */
void rmt_run_isolated(void (*child)(void *ctx, rmt_result *r), void *ctx, double timeout_s,
                      rmt_result *r);
/* The status of a child killed by signal sig: RMT_RUNTIME_ERROR for what a
 * kernel brings on itself (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP),
 * RMT_INFRA_ERROR for a signal sent from outside. */
int rmt_signal_status(int sig);

/* ---- search/remote_wire.c: frames and messages ---- */

/* One end of a connection. */
typedef struct rmt_conn {
  int fd;                       /* the socket */
  uint64_t max_bytes;           /* longest payload rmt_recv accepts */
  volatile sig_atomic_t *stop;  /* I/O interrupted by a signal fails once *stop is set (NULL: retried) */
  char why[256];                /* what the last failed call found */
} rmt_conn;

/* What rmt_recv found. */
enum {
  RMT_GOT = 0,    /* a frame */
  RMT_CLOSED = 1, /* the peer closed cleanly, between frames */
  RMT_IO = 2,     /* a read failed or timed out (why says so) */
  RMT_BAD = 3,    /* a malformed frame: bad magic, too long, truncated */
};

int rmt_send(rmt_conn *c, uint32_t type, const void *payload, uint64_t size); /* 0 or -1 */
/* Reads one frame; *payload is malloc'ed (size bytes, plus a NUL). */
int rmt_recv(rmt_conn *c, uint32_t *type, unsigned char **payload, uint64_t *size);

unsigned char *rmt_task_encode(const rmt_task *t, size_t *size); /* malloc'ed, NULL if out of memory */
/* Fills t from a TASK payload (bufs malloc'ed); -1 with why on
 * inconsistent fields. */
int rmt_task_decode(const unsigned char *p, uint64_t size, rmt_task *t, char *why, size_t why_size);
/* A RESULT payload into buf (at least RMT_RESULT_MAX bytes); returns its size. */
enum { RMT_RESULT_MAX = 8 + 8 * RMT_MAX_TIMES + 4 + sizeof(((rmt_result *)0)->message) };
size_t rmt_result_encode(const rmt_result *r, unsigned char *buf);
int rmt_result_decode(const unsigned char *p, uint64_t size, rmt_result *r); /* 0 or -1 */

/* ---- search/remote.c: the chamcc side ---- */

/* The linker that makes candidates shared objects: ld.lld-19, ld.lld on
 * PATH, or ld.lld in `llvm-config-19 --bindir`. */
int rmt_find_linker(char *path, size_t size, chm_err *e);
/* Links an object file into a shared object (ld.lld -shared). On failure
 * returns -1 with the linker's message in why. */
int rmt_link_shared(const char *linker, const unsigned char *obj, size_t size, unsigned char **so,
                    size_t *so_size, char *why, size_t why_size);

/* Connects to ADDR (HOST:PORT) and closes: is a runner listening there? */
int rmt_probe(const char *addr, chm_err *e);

typedef struct rmt_client rmt_client;

/* A client for the runner at ADDR (HOST:PORT) measuring candidates of
 * task t (copied; connects on first use). */
rmt_client *rmt_client_new(const char *addr, const rmt_task *t, chm_err *e);
/* Sends one candidate and waits for its result. A refused connection, a
 * lost one, no answer in time or an ERROR frame is an infra error naming
 * the runner; the next call reconnects and sends the TASK again. */
void rmt_client_measure(rmt_client *c, const unsigned char *so, size_t size, rmt_result *r);
void rmt_client_free(rmt_client *c);

#endif
