/*
 * remote.h — measuring candidates on another machine (prefix `rmt_`): the
 * protocol between chamcc and chamcc-runner, the check-and-time loop both
 * measurers run, and the client chamcc uses.
 *
 * Users tune for a board (say AArch64) from a workstation: chamcc builds
 * each candidate for the board as a shared object and sends it to
 * chamcc-runner on the board, which runs it in a child process, checks its
 * output and times it exactly as the local measurer would, and answers with
 * the result fields of a meas_result.
 *
 * The protocol. TCP, binary, little-endian. Every message is one frame:
 *
 *     "CHMR"  u32 type  u64 length  payload[length]
 *
 * A connection opens with the runner's HELLO. The runner executes the
 * code it is sent, so one that listens beyond loopback must have a key (a
 * random secret in a file both ends read): its HELLO then carries a fresh
 * random nonce, and the client must answer with AUTH before anything else;
 * a wrong, missing or replayed answer is refused with an ERROR frame
 * (logged by the runner) and nothing of that connection runs. Then the
 * client sends one TASK, optionally one REFERENCE, and any number of
 * CANDIDATEs; the runner answers each CANDIDATE with one RESULT. Either
 * side may close between frames.
 * Anything malformed (bad magic, unknown or
 * unexpected type, length above the runner's --max-bytes, a truncated
 * payload, inconsistent TASK fields, a CANDIDATE or REFERENCE before the
 * TASK, a second TASK or REFERENCE) is answered with an ERROR frame and the
 * connection is closed; the runner then serves the next connection. A client that stays silent
 * longer than the runner's idle timeout (60 s) is dropped the same way.
 * Connections are served one at a time, so that candidates never share
 * the board: a second client waits (and its candidates may time out).
 *
 *   HELLO (5), runner -> client, first: u32 version (RMT_VERSION), u32
 *     flags (RMT_KEYED or 0), RMT_NONCE bytes (random with a key, zeros
 *     without).
 *   AUTH (6), client -> runner, only when HELLO says RMT_KEYED: RMT_MAC
 *     bytes, HMAC-SHA256(key, nonce || RMT_AUTH_CONTEXT). Frames before it
 *     may be at most RMT_AUTH_MAX_BYTES long.
 *   READY (7), runner -> client: empty; the AUTH was right.
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
 *   REFERENCE (8), client -> runner, at most once, after the TASK: a shared
 *     object like a CANDIDATE's, the reference kernel (the task's default
 *     config). From then on every candidate is timed interleaved with it
 *     (rmt_bench) and its RESULT carries both readings. The runner keeps
 *     the file for the connection; each candidate's child loads it.
 *   RESULT (3), runner -> client: u32 status (a meas_status: 0 ok,
 *     1 compile_error, 2 runtime_error, 3 wrong_answer, 4 timeout,
 *     5 infra_error: the runner failed, not the candidate),
 *     u32 n_times (<= RMT_MAX_TIMES), n_times x f64 (seconds per run),
 *     u32 n_ref (0, or n_times after a REFERENCE), n_ref x f64 (the
 *     reference's seconds per run, repeat i timed beside the candidate's),
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
  /* the protocol version, in HELLO and TASK (2: TASK flags; 3: HELLO, AUTH;
   * 4: REFERENCE, the reference's times in RESULT) */
  RMT_VERSION = 4,
  RMT_COLD = 1,      /* TASK flag: time every run alone, caches flushed of all but the first argument */
  RMT_MAX_BUFS = 8,  /* kernel arguments */
  RMT_MAX_TIMES = 16,/* timed repeats (= MEAS_MAX_REPEATS) */
  RMT_MAX_SYMBOL = 127, /* bytes of a kernel name */
  RMT_HEADER = 16,   /* bytes of a frame header */
  RMT_KEYED = 1,     /* HELLO flag: answer the nonce with AUTH before anything else */
  RMT_NONCE = 32,    /* bytes of HELLO's nonce */
  RMT_MAC = 32,      /* bytes of AUTH's answer (HMAC-SHA256) */
  RMT_AUTH_MAX_BYTES = 64, /* longest frame a runner with a key reads before the AUTH */
  RMT_KEY_MIN = 16,  /* bytes of a key file, at least... */
  RMT_KEY_MAX = 4096,/* ...and at most */
  /* bytes of alignment of a measured kernel's arguments: a built
   * library's workspace and weights are aligned so (runtime/rt.c), and
   * malloc's 16 would time another kernel (bench/RESULTS.md, session 31) */
  RMT_ALIGN = 64,
  RMT_SLICES = 8,    /* slices of each kernel per interleaved repeat (rmt_bench) */
};

/* What AUTH's HMAC covers after the nonce: an answer means this protocol only. */
#define RMT_AUTH_CONTEXT "chamcc-runner auth v4"

typedef enum rmt_type {
  RMT_TASK = 1,      /* what to compute, once per connection */
  RMT_CANDIDATE = 2, /* a shared object to measure */
  RMT_RESULT = 3,    /* its result */
  RMT_ERROR = 4,     /* a protocol error; the sender closes */
  RMT_HELLO = 5,     /* the runner's greeting, maybe with a nonce to answer */
  RMT_AUTH = 6,      /* the client's answer to the nonce */
  RMT_READY = 7,     /* the answer was right */
  RMT_REFERENCE = 8, /* the reference kernel every candidate is timed beside */
} rmt_type;

/* The statuses of a RESULT, numbered as meas_status. RMT_INFRA_ERROR: the
 * measuring failed, not the candidate (a fork or pipe failure, the child
 * killed from outside, a lost runner); it says nothing about the config. */
enum { RMT_OK, RMT_COMPILE_ERROR, RMT_RUNTIME_ERROR, RMT_WRONG_ANSWER, RMT_TIMEOUT, RMT_INFRA_ERROR, RMT_N_STATUS };

/* What a measurement found: the result fields of a meas_result. */
typedef struct rmt_result {
  int status;                  /* RMT_OK ... RMT_INFRA_ERROR */
  int n_times;                 /* repeats done */
  double times[RMT_MAX_TIMES]; /* seconds per run, one per repeat */
  int n_ref;                   /* the reference's repeats: 0 (none) or n_times */
  double ref_times[RMT_MAX_TIMES]; /* its seconds per run, ref_times[i] timed beside times[i] */
  char message[200];           /* why it failed, "" when ok */
} rmt_result;

/* What every candidate of one kernel computes, and how to time it. */
typedef struct rmt_task {
  int n_bufs;                   /* kernel arguments */
  int out;                      /* which one is the output */
  float *bufs[RMT_MAX_BUFS];    /* their contents (malloc'ed, RMT_ALIGN-byte aligned) */
  int64_t len[RMT_MAX_BUFS];    /* their lengths in floats */
  float *expect;                /* len[out] floats; NaN: any value is right */
  int repeats;                  /* timed repeats */
  double min_repeat_ms;         /* runs per repeat raised until one lasts this long */
  double timeout_s;             /* one candidate's run */
  int nthreads;                 /* threads the kernels were built for (0 = all) */
  int cold;                     /* RMT_COLD: time runs with cold arguments (see rmt_bench) */
  char symbol[RMT_MAX_SYMBOL + 1]; /* the kernel's name */
  void *ref;                    /* the loaded reference kernel, or NULL (not on the wire: see REFERENCE) */
} rmt_task;

void rmt_task_free(rmt_task *t); /* frees bufs and expect; t itself is the caller's */

/* ---- measure/remote_bench.c: check and time a loaded kernel ---- */

/* Calls kernel fn with its n (1 to 8) float-pointer arguments b. */
void rmt_call(void *fn, float *const *b, int n);

/* Runs fn once on t's buffers (the output first filled with NaN) and
 * compares with t->expect: relative error max|got-exp| / max|exp| over the
 * positions where exp is not NaN; above 1e-4 (or NaN) is a wrong answer.
 * Then times it: a warm-up, `number` runs per repeat raised until a repeat
 * lasts min_repeat_ms, and t->repeats repeats; times are seconds per run.
 * With a reference kernel (t->ref), each repeat times both, interleaved
 * in RMT_SLICES slices each (pairs of candidate and reference in a random
 * order): a machine that slows down for a moment slows both, and
 * times[i] / ref_times[i] stays what it was.
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

/* ---- measure/remote_auth.c: the key (libcrypto; a runner built without
 * it has runner/auth_none.c, which refuses every key) ---- */

/* A runner's key: the bytes of its key file. */
typedef struct rmt_key {
  size_t size;                      /* RMT_KEY_MIN..RMT_KEY_MAX */
  unsigned char bytes[RMT_KEY_MAX]; /* the secret */
} rmt_key;

/* Reads a key file: a regular file of RMT_KEY_MIN to RMT_KEY_MAX bytes
 * that only its owner can read or write (chmod 600). -1 with why
 * (naming the file) otherwise. */
int rmt_key_load(const char *path, rmt_key *k, char *why, size_t why_size);
/* AUTH's answer to nonce: HMAC-SHA256(key, nonce || RMT_AUTH_CONTEXT);
 * -1 if libcrypto failed (out of memory). */
int rmt_auth_answer(const rmt_key *k, const unsigned char nonce[RMT_NONCE], unsigned char mac[RMT_MAC]);
/* 1 if answer (size bytes) is the right one for nonce, compared in
 * constant time; 0 otherwise. */
int rmt_auth_check(const rmt_key *k, const unsigned char nonce[RMT_NONCE], const unsigned char *answer,
                   uint64_t size);

/* ---- measure/remote_wire.c: frames and messages ---- */

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
enum { RMT_RESULT_MAX = 8 + 8 * RMT_MAX_TIMES + 4 + 8 * RMT_MAX_TIMES + 4 + sizeof(((rmt_result *)0)->message) };
size_t rmt_result_encode(const rmt_result *r, unsigned char *buf);
int rmt_result_decode(const unsigned char *p, uint64_t size, rmt_result *r); /* 0 or -1 */

/* A HELLO's fields. */
typedef struct rmt_hello {
  uint32_t version;                /* the runner's RMT_VERSION */
  uint32_t flags;                  /* RMT_KEYED or 0 */
  unsigned char nonce[RMT_NONCE];  /* what AUTH answers (zeros without a key) */
} rmt_hello;

enum { RMT_HELLO_SIZE = 8 + RMT_NONCE };
void rmt_hello_encode(const rmt_hello *h, unsigned char buf[RMT_HELLO_SIZE]);
int rmt_hello_decode(const unsigned char *p, uint64_t size, rmt_hello *h); /* 0, or -1 if not HELLO's size */

/* ---- measure/remote.c: the chamcc side ---- */

/* The linker that makes candidates shared objects: ld.lld-19, ld.lld on
 * PATH, or ld.lld in `llvm-config-19 --bindir`. */
int rmt_find_linker(char *path, size_t size, chm_err *e);
/* Links an object file into a shared object (ld.lld -shared). On failure
 * returns -1 with the linker's message in why. */
int rmt_link_shared(const char *linker, const unsigned char *obj, size_t size, unsigned char **so,
                    size_t *so_size, char *why, size_t why_size);

/* Connects to ADDR (HOST:PORT), reads the runner's HELLO, proves the key
 * if it asks for one (key NULL: none; such a runner refuses us), and
 * closes: is a runner there that will take our candidates? */
int rmt_probe(const char *addr, const rmt_key *key, chm_err *e);

typedef struct rmt_client rmt_client;

/* A client for the runner at ADDR (HOST:PORT) measuring candidates of
 * task t, proving key to a runner that asks (t and key are copied; key
 * may be NULL; connects on first use). */
rmt_client *rmt_client_new(const char *addr, const rmt_task *t, const rmt_key *key, chm_err *e);
/* Sends one candidate and waits for its result. A refused connection, a
 * lost one, no answer in time or an ERROR frame is an infra error naming
 * the runner; the next call reconnects and sends the TASK again. */
void rmt_client_measure(rmt_client *c, const unsigned char *so, size_t size, rmt_result *r);
/* From now on, candidates are timed interleaved with the reference kernel
 * so (a shared object like a candidate's; copied): every connection sends
 * it after the TASK, and RESULTs carry its readings. */
void rmt_client_set_reference(rmt_client *c, const unsigned char *so, size_t size);
void rmt_client_free(rmt_client *c);

#endif
