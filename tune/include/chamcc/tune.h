/*
 * tune.h — the tuning machinery (prefix `tune_`): knob spaces, tasks, the
 * tuning log, the measurer interface the tuner calls, the cost model,
 * search methods and the tuning loop (all in tune/).
 *
 * Measuring a kernel is measure/'s (measure.h): this part turns configs
 * into kernels and measurement results into log records. Nothing here
 * touches LLVM.
 *
 * A config is an index vector (one option index per knob) and, equally,
 * one integer (mixed radix over the knobs). Every role is a small struct
 * of function pointers so that methods are swapped in one line and all of
 * them run in the same harness.
 */
#ifndef CHAMCC_TUNE_H
#define CHAMCC_TUNE_H

#include "chamcc/cg.h"
#include "chamcc/measure.h"
#include "chamcc/model.h"
#include "chamcc/tpl.h"

enum {
  TUNE_MAX_KNOBS = 16,   /* knobs per space */
  TUNE_MAX_VALUES = 64,  /* options per knob */
  TUNE_LOG_VERSION = 1,  /* format version of the tuning log */
  /* Revision of the kernel templates and their code generation. A
   * measurement says how fast one revision's kernel was; when the kernels
   * change, old timings say nothing about the new ones. 2: the conv
   * template's addresses became one base plus constants (the same configs
   * ran up to 1.3x faster); 3: loops of one iteration became lets (1x1
   * convs and one-block reduction chunks stopped spilling); 4: the conv
   * template's reduction chunks run outside the row tiles of a parallel
   * iteration, and its grain may cover all of them (the knob's options and
   * the meaning of ic_bn with grain > 1 changed); LLVM's machine scheduler
   * no longer follows the cyclic critical path (llvm_target.c), which
   * removed the spills of tiles of 2 vectors x 7 pixels; 5: a conv step
   * with fewer pixels than vectors runs weight by weight (4 vectors x 3
   * columns stopped spilling on AVX2), and the conv knob "flat" (tiles
   * across row ends) was added. */
  TUNE_KERNELS = 5,
};

/* ---- tune/task.c: knob spaces ---- */

typedef struct tune_knob {
  const char *name;              /* e.g. "ow_bn" */
  int n;                         /* number of options */
  int64_t v[TUNE_MAX_VALUES];    /* the options' values */
} tune_knob;

typedef struct tune_space {
  int n_knobs;                   /* knobs in use */
  tune_knob knobs[TUNE_MAX_KNOBS];
} tune_space;

int64_t tune_space_size(const tune_space *s);                     /* all configs, valid or not */
int64_t tune_space_index(const tune_space *s, const int *idx);    /* index vector -> integer */
void tune_space_config(const tune_space *s, int64_t i, int *idx); /* integer -> index vector */

/* ---- tune/log.c: the tuning log (JSON lines) ---- */

typedef struct tune_record {
  int version;                   /* TUNE_LOG_VERSION when written */
  char target[64];               /* triple */
  char cpu[64];                  /* CPU name */
  char task[256];                /* task key */
  char tuner[32];                /* method that proposed it */
  double flops;                  /* floating-point operations of the task */
  int n_config;                  /* knobs */
  int config[TUNE_MAX_KNOBS];    /* option index per knob */
  int n_times;                   /* repeats */
  double times[MEAS_MAX_REPEATS];/* seconds per run, one per repeat */
  meas_status status;            /* outcome */
  char message[256];             /* error text, "" when ok */
  double timestamp;              /* Unix seconds */
  double compile_s, run_s;       /* seconds spent building and running */
  /* Wall-clock cost of the measurement, for time-to-result comparisons
   * (optional in the log, 0 when absent): its share of its round's batch
   * compile (builds run in parallel, so this is less than compile_s), of the
   * cost-model fit and of the model optimizer's search that proposed it. */
  double build_s, fit_s, opt_s;
  /* A confirmation: a finalist measured again after the task's budget was
   * spent (optional in the log, "confirm":1). It does not count towards the
   * budget; when a task has confirmations, its best config is chosen among
   * them (see tune_log_best). */
  int confirm;
  /* TUNE_KERNELS of the chamcc that measured it (optional in the log,
   * "kernels":N; absent is 1). */
  int kernels;
  /* Threads the kernel ran on (optional in the log, "threads":N; absent is
   * 0, unknown: the logs before it). */
  int threads;
  /* The reference kernel's readings (the task's default config), repeat i
   * timed interleaved with times[i] (optional in the log, "ref_times";
   * absent: none, n_ref 0; else n_ref = n_times). Records with them are
   * ranked by times[i] / ref_times[i] (tune_log_seconds). */
  int n_ref;
  double ref_times[MEAS_MAX_REPEATS];
} tune_record;

/* Wall-clock seconds the record cost: build (compile_s when the log has no
 * build_s), run, fit and optimizer shares. */
double tune_record_cost(const tune_record *r);

double tune_record_median(const tune_record *r); /* median of times; INFINITY unless ok */
/* r's repeats on its task's stable time scale, into out[MEAS_MAX_REPEATS]:
 * times[i] x ref_s / ref_times[i] when r has reference readings and
 * ref_s > 0, else times[i] as they are. Returns how many (0 unless ok). */
int tune_record_scaled(const tune_record *r, double ref_s, double *out);

/* A figure the tuner prints and its spread: GFLOP/s of the median of some
 * repeats, and of the slowest and fastest of them. */
typedef struct tune_figure {
  double gflops;     /* of the median time (0: no ok repeat) */
  double lo, hi;     /* of the slowest and the fastest repeat */
  int n;             /* repeats */
} tune_figure;
/* The figure of n repeats (seconds per run) of a workload of flops. */
tune_figure tune_figure_of(double flops, const double *times, int n);
double tune_median(double *v, int n);             /* median of v[n], sorting v (INFINITY sorts last); INFINITY if n < 1 */
double tune_lower_median(double *v, int n);       /* the same, but the lower middle value when n is even */

typedef struct tune_log tune_log;

/* Opens PATH for reading and appending (created if missing) and loads the
 * records whose target and cpu match (others are kept in the file but
 * ignored); a line identical to one loaded before (a copy) is loaded once. When target or cpu is given, only records of this chamcc's
 * kernels (TUNE_KERNELS) are loaded too: a log opened for one machine is
 * used to build for it. With both NULL every record is loaded. A malformed
 * line is reported through warn ("PATH:LINE: why") and skipped. NULL path:
 * an in-memory log. */
tune_log *tune_log_open(const char *path, const char *target, const char *cpu,
                        void (*warn)(void *ctx, const char *msg), void *ctx, chm_err *e);
/* The same, for builds on `threads` threads (0: any): records measured on
 * another thread count are not loaded but counted (tune_log_other_threads);
 * records that do not say (0) are loaded. */
tune_log *tune_log_open_for(const char *path, const char *target, const char *cpu, int threads,
                            void (*warn)(void *ctx, const char *msg), void *ctx, chm_err *e);
int tune_log_other_threads(const tune_log *l); /* records of this target/cpu on other thread counts */
/* Configs worth measuring first when tuning `task` on the log's thread
 * count: for each other thread count the log's files hold records of
 * (tune_log_open_for), the config a build on that count would use
 * (tune_log_pick against the task's default dflt, n knobs), unless it is
 * the default. The knob space does not depend on the thread count, and a
 * tile that suits the caches on one count mostly suits them on another,
 * while 200 measurements can miss it. Returns how many (at most max). */
int tune_log_hints(const tune_log *l, const char *task, const int *dflt, int n, int (*out)[TUNE_MAX_KNOBS],
                   int max);
/* The same for a reader (a report, a retime): PATH must exist and is never
 * written, not even to end a cut last line; tune_log_append fails. */
tune_log *tune_log_read(const char *path, const char *target, const char *cpu,
                        void (*warn)(void *ctx, const char *msg), void *ctx, chm_err *e);
/* Appends r (as one JSON line, flushed at once) and keeps it in memory;
 * refuses a MEAS_INFRA_ERROR (not a measurement). */
int tune_log_append(tune_log *l, const tune_record *r, chm_err *e);
int tune_log_size(const tune_log *l);                     /* records loaded or appended */
int tune_log_stale(const tune_log *l);  /* records of this target/cpu from other kernels, not loaded */
const tune_record *tune_log_get(const tune_log *l, int i);
int tune_log_count(const tune_log *l, const char *task);  /* records of one task (not confirmations) */
int tune_log_confirms(const tune_log *l, const char *task, const int *config, int n); /* of this config */
/* The best config's record: with confirmations, the confirmed config with
 * the smallest median over all its confirmations' scaled repeats pooled
 * (one of its confirmation records); without, the ok record with the
 * smallest tune_log_seconds. NULL if none. */
const tune_record *tune_log_best(const tune_log *l, const char *task);
/* The config a build uses: tune_log_best, unless the task's default
 * config dflt (n knobs) was confirmed too and the best one's lead over it
 * is within the noise: the difference of the medians of the logs of their
 * pooled scaled repeats below TUNE_PICK_SIGMAS of its standard error
 * (from the median absolute deviations). Then the default's record. On a
 * machine whose readings spread by 20%, a config 3% ahead over nine
 * confirmations is a coin toss, and it can be 20% slower in another
 * process (bench/RESULTS.md, session 31); on a quiet one a lead of a few
 * percent stands. */
const tune_record *tune_log_pick(const tune_log *l, const char *task, const int *dflt, int n);
/* Whether `task` already has a record for this config. */
int tune_log_has(const tune_log *l, const char *task, const int *config, int n);
/* The task's stable reference time: the median of the reference medians
 * of its ok records (0 if none has reference readings). */
double tune_log_ref_seconds(const tune_log *l, const char *task);
/* What the tuner ranks by: the median of r's repeats scaled onto its
 * task's reference time (tune_record_scaled): the ratio to the reference
 * read beside it, in seconds that stay comparable across records; a record
 * without reference readings is its plain median. INFINITY unless ok. */
double tune_log_seconds(const tune_log *l, const tune_record *r);
double tune_log_throughput(const tune_log *l, const tune_record *r); /* GFLOP/s of that; 0 unless ok */
/* The figure of r (its scaled repeats), and of the task's best
 * (tune_log_best: the pooled repeats of its confirmations, if it has
 * them); gflops 0 if none. */
tune_figure tune_log_figure(const tune_log *l, const tune_record *r);
tune_figure tune_log_best_figure(const tune_log *l, const char *task);
/* The figure of r's config: the pooled repeats of its confirmations if r
 * is one, else tune_log_figure (tune_log_pick's record, say). */
tune_figure tune_log_config_figure(const tune_log *l, const tune_record *r);
void tune_log_close(tune_log *l);
/* A total order over records: target, CPU, kernel revision, task,
 * timestamp, confirmation, config, then every other field; 0 only for
 * records identical in every field. */
int tune_record_cmp(const tune_record *a, const tune_record *b);

/* ---- tune/log.c: the logs of many machines ---- */

/* Adds the records of the file at PATH (read only, it must exist) that l's
 * target, CPU and kernel revision admit; a record identical to one already
 * loaded is a duplicate (counted, not loaded); malformed lines go to warn
 * as "PATH:LINE: why" and are skipped. The records are not appended to l's
 * own file. */
int tune_log_load(tune_log *l, const char *path, void (*warn)(void *ctx, const char *msg), void *ctx,
                  chm_err *e);
int tune_log_duplicates(const tune_log *l); /* records read again and not loaded */

typedef struct tune_merge_stats {
  int files;      /* inputs read */
  int records;    /* distinct records written */
  int duplicates; /* records read more than once (written once) */
  int malformed;  /* lines skipped (each reported through warn) */
} tune_merge_stats;
/* Writes to OUT every distinct record of the inputs (every target, CPU and
 * kernel revision), sorted by tune_record_cmp, one canonical line each:
 * merge(merge(a, b)) = merge(a, b) = merge(b, a), byte for byte. OUT may be
 * one of the inputs; it is replaced at once (written aside and renamed). */
int tune_log_merge(const char *out, const char *const *in, int n, void (*warn)(void *ctx, const char *msg),
                   void *ctx, tune_merge_stats *st, chm_err *e);

/* What a log holds of one task. */
typedef struct tune_task_stats {
  const char *task;        /* its key (owned by the log) */
  int measured;            /* measurements, confirmations not counted */
  int failed;              /* of them, not ok */
  int confirms;            /* confirmations */
  const tune_record *best; /* tune_log_best, NULL if none */
  double cost_s;           /* wall-clock seconds its records cost (tune_record_cost) */
} tune_task_stats;
/* One entry per task of l, sorted by key, into *out (malloc'ed); returns how many. */
int tune_log_task_stats(const tune_log *l, tune_task_stats **out);

/* ---- tune/costmodel.c: XGBoost cost model ---- */

typedef struct tune_cm tune_cm;

/* objective: "reg" (squared error on normalized throughput) or "rank"
 * (pairwise ranking), as AutoTVM's XGBTuner. */
tune_cm *tune_cm_new(const char *objective, unsigned seed, chm_err *e);
/* Fits on n rows of nf features; y is throughput (higher is better, 0 for
 * failed configs). Replaces any previous fit. */
int tune_cm_fit(tune_cm *m, const float *x, int n, int nf, const float *y, chm_err *e);
/* Scores n rows (higher is better); 0 for all when never fitted. */
int tune_cm_predict(tune_cm *m, const float *x, int n, int nf, float *out, chm_err *e);
void tune_cm_free(tune_cm *m);
/* Spearman rank correlation of a and b (ties get average ranks). */
double tune_spearman(const float *a, const float *b, int n);

/* ---- tune/task.c: tasks (one per distinct workload) ---- */

typedef enum tune_kind {
  TUNE_CONV,  /* tpl_conv (regular or depthwise) */
  TUNE_DENSE, /* tpl_dense */
} tune_kind;

enum { TUNE_MAX_FEATURES = 40 };

/* What the cost model's features know of the machine a task runs on. */
typedef struct tune_machine {
  int threads;       /* threads of the parallel loops */
  int64_t l1d, l2;   /* bytes of data L1 and L2 per core */
} tune_machine;

typedef struct tune_task {
  char key[256];       /* stable text naming the workload (not the epilogue) */
  tune_kind kind;      /* which template */
  tpl_conv conv;       /* TUNE_CONV: the first workload seen with this key */
  tpl_dense dense;     /* TUNE_DENSE */
  double flops;        /* floating-point operations of one call */
  int uses;            /* calls per model run */
  tune_space space;    /* its knobs */
  tune_machine mach;   /* where it runs (tune_task_init_*: all cores, 32 KiB L1, 256 KiB L2) */
} tune_task;

void tune_task_init_conv(tune_task *t, const tpl_conv *w);
void tune_task_init_dense(tune_task *t, const tpl_dense *w);
/* The machine of a target built for `threads` threads (0: all cores). */
tune_machine tune_machine_of(const cg_target *tgt, int threads);
/* The task a key names, for the cost-model features of other tasks' records
 * (the input halo is taken as the padding, the epilogue as none) on a target
 * with `vregs` vector registers (0: tpl_vregs's guess) and machine m: its
 * caches go to the template (the default's parallel order) and m to the
 * task's features, both of which the key leaves out (a log's records are of
 * one target). m NULL: unknown caches for the template, the init default
 * machine for the features. 0 if the key parses and names a valid task,
 * else -1. */
int tune_task_from_key(const char *key, int vregs, const tune_machine *m, tune_task *t);
/* NULL if the config is valid, else why not. */
const char *tune_task_check(const tune_task *t, const int *idx);
/* A config written as text into option indices idx: the knobs' values in
 * knob order ("4,7,1,..."), or prefixed with "i:" the option indices (as a
 * log's "config" holds them). NULL if it parses into a valid config, else
 * why not (a knob's name when the value is not one of its options). */
const char *tune_task_parse_config(const tune_task *t, const char *text, int *idx);
void tune_task_conv_cfg(const tune_task *t, const int *idx, tpl_conv_cfg *c);
void tune_task_dense_cfg(const tune_task *t, const int *idx, tpl_dense_cfg *c);
/* The index vector of the template's default config. */
void tune_task_default(const tune_task *t, int *idx);
ir_kernel *tune_task_kernel(const tune_task *t, const int *idx, chm_arena *a, const char *name);
/* A short readable name, e.g. "conv 64x56x56->64 k3 s1". */
void tune_task_name(const tune_task *t, char *buf, size_t size);
/* Cost-model features of a config; returns how many (<= TUNE_MAX_FEATURES). */
int tune_task_features(const tune_task *t, const int *idx, float *f);

/* ---- tune/meter.c: tasks measured by measure/ ---- */

/* The measurer of task t's workload (meas_new): here, or with addr on the
 * chamcc-runner there. */
meas_measurer *tune_measurer_new(const tune_task *t, const cg_target *tgt, const meas_opts *o, const char *addr,
                                 chm_err *e);
/* Measures config idx of t with m (built by tune_measurer_new for t) and
 * fills the result fields of r (status, message, times, compile_s, run_s). */
void tune_measure(meas_measurer *m, const tune_task *t, const int *idx, tune_record *r);
/* Copies a measurement's result fields into r. */
void tune_record_result(tune_record *r, const meas_result *res);

/* ---- tune/meter.c, tune/meter_fake.c: the measurer the tuner calls ---- */

/* A batch of configs to measure, and where each result goes. */
typedef struct tune_batch {
  const int *cfgs;        /* n configs, TUNE_MAX_KNOBS ints apart */
  int n;                  /* how many */
  tune_record *recs;      /* n records (task and config filled); the measurer fills the result fields */
  int (*done)(void *ctx, tune_record *r); /* after each measurement; non-zero: measure no more */
  void *ctx;              /* passed to done */
  volatile int *stop;     /* once set, build no more (may be NULL) */
} tune_batch;

/* The measurer as the tuner sees it: prepared once per task, asked to
 * measure batches of configs, closed. The caller makes one (local, remote
 * or fake) and hands it to the tune_session; the tuner only calls these. */
/* What one runner of a remote meter did, over all tasks so far. */
typedef struct tune_runner_stats {
  char addr[MEAS_ADDR_MAX];  /* HOST:PORT */
  int measured;              /* candidates it measured */
  int lost;                  /* batches it dropped out of (its candidates went to the others) */
  double busy_s;             /* seconds spent measuring */
} tune_runner_stats;

typedef struct tune_meter tune_meter;
struct tune_meter {
  const char *name;                                             /* "local", "remote", "fake" */
  /* Gets ready to measure task t: its state, or NULL with e set. */
  void *(*prepare)(tune_meter *m, const tune_task *t, chm_err *e);
  /* Measures b's configs in order, filling status, message, times,
   * compile_s, run_s and build_s of each record, and calls b->done after
   * each. Returns how many it measured. A failure of the measuring itself
   * is a record with MEAS_INFRA_ERROR. */
  int (*measure)(void *task, const tune_batch *b);
  void (*close)(void *task);                                    /* ends a prepared task */
  void (*free)(tune_meter *m);                                  /* the measurer itself */
  /* The runners and what each did so far (NULL: a meter without runners). */
  int (*runners)(const tune_meter *m, const tune_runner_stats **stats);
};

/* The runners of a remote meter and what each did; 0 for other meters. */
int tune_meter_runners(const tune_meter *m, const tune_runner_stats **stats);

/* Candidates built for tgt and run here, each in a child process
 * (meas_new: preparing a task fails unless tgt is this machine). */
tune_meter *tune_meter_local(const cg_target *tgt, const meas_opts *o);
/* Candidates built for tgt and measured by the chamcc-runner at ADDR
 * (addr is not copied). With several runners (ADDR,ADDR,...; machines of
 * the same CPU), a batch's candidates are spread over them, one at a time
 * each; a runner that fails gives its candidate to the others and sits
 * out the rest of the batch, and nothing is charged to the config. */
tune_meter *tune_meter_remote(const cg_target *tgt, const meas_opts *o, const char *addr);
void tune_meter_free(tune_meter *m); /* NULL is fine */

/* A measurer for tests that builds nothing: a config's time is
 * tune_fake_seconds times (1 + noise x a seeded uniform draw in [-1, 1)),
 * and each measurement draws anew; a drifting machine slows whole
 * measurements, candidate and reference alike (meter_fake.c). */
typedef struct tune_fake_opts {
  unsigned seed;     /* of the noise */
  double noise;      /* relative spread of the times (0: exact) */
  int infra_every;   /* every n-th measurement is an infra error (0: none) */
  int spike_every;   /* every n-th measurement reads 10x too fast, as a machine that stalled the clock would (0: none) */
  double drift;      /* each measurement runs slower by 1 + drift x a draw in [0, 1) (0: a steady machine) */
  int reference;     /* read the default config beside each candidate, slowed alike, as the real meters do */
  int ref_spike_every; /* with reference: every n-th reference reads 10x too slow, flattering the ratio (0: none) */
} tune_fake_opts;

tune_meter *tune_meter_fake(const tune_fake_opts *o);
/* The noise-free time of config idx of t: 1 ms times 1 + 8 x the sum over
 * knobs of the squared distance to the knob's option 2(n-1)/3, in units of
 * its option count. Smallest at that point, growing smoothly away from it. */
double tune_fake_seconds(const tune_task *t, const int *idx);
int tune_fake_count(const tune_meter *m); /* measurements made so far, infra errors included */

/* ---- tune/methods.c, tune/tuner.c: methods, the tuning loop, budgets ---- */

/* What a method may ask of the tuner while proposing. */
typedef struct tune_ctx {
  const tune_task *task;  /* the task */
  const tune_log *log;    /* measurements so far (visited configs) */
  unsigned *rng;          /* the tuner's random state */
  double *fit_s;          /* a method adds the seconds it spends fitting a cost model here */
  int warm_start;         /* a model-based method may learn from other tasks' records */
} tune_ctx;

/* A search method: proposes configs and learns from their results. */
typedef struct tune_method {
  const char *name;                                             /* as on the command line */
  void *(*create)(const tune_task *t, unsigned seed);
  /* Up to n valid, unvisited, distinct configs into out (n x TUNE_MAX_KNOBS
   * ints); returns how many (0: nothing left to try). */
  int (*propose)(void *st, const tune_ctx *c, int *out, int n);
  /* Results of measured configs (also fed the log's old records on resume). */
  void (*update)(void *st, const tune_ctx *c, const tune_record *r, int n);
  void (*destroy)(void *st);
} tune_method;

const tune_method *tune_method_find(const char *name); /* NULL if unknown (tune/methods.c) */
const char *tune_method_names(void);                   /* "chameleon, autotvm, ..." */

/* The one random number generator (tune/rand.c): xorshift32 on *rng. */
unsigned tune_rand(unsigned *rng);                                        /* 31 random bits */
double tune_randf(unsigned *rng);                                         /* [0, 1) */
/* Shared helpers for methods (tune/tuner.c). */
int tune_random_valid(const tune_task *t, unsigned *rng, int *idx);       /* 0 if none found */
int tune_visited(const tune_ctx *c, const int *idx);                      /* measured already */
double tune_throughput(const tune_record *r); /* GFLOP/s of the plain median (unscaled: tune_log_throughput ranks), 0 if not ok */
/* Appends idx to a batch of *n configs if valid, unvisited and not yet in
 * it (returns 1), else leaves the batch alone (returns 0). */
int tune_batch_add(const tune_ctx *c, int *out, int *n, const int *idx);
/* Adds random configs until the batch holds `want` (or the space runs dry). */
void tune_batch_fill_random(const tune_ctx *c, int *out, int *n, int want);

typedef struct tune_progress {
  int task_i, n_tasks;       /* which task */
  const tune_task *task;     /* it */
  int done, budget;          /* its measurements */
  double best_gflops;        /* best so far (tune_log_best_figure) */
  double best_lo, best_hi;   /* its spread: GFLOP/s of its slowest and fastest repeat */
  double elapsed_s;          /* since tuning started */
  double eta_s;              /* estimate of the time left, all tasks */
  const tune_record *last;   /* the latest measurement */
} tune_progress;

typedef struct tune_session {
  tune_log *log;               /* where results go */
  const cg_target *target;     /* what candidates are built for (the records' target and cpu) */
  tune_meter *meter;           /* measures the candidates */
  const tune_method *method;   /* the search method */
  unsigned seed;               /* randomness */
  int batch;                   /* proposals per round (64) */
  void (*progress)(void *ctx, const tune_progress *p); /* may be NULL */
  void *progress_ctx;          /* passed to progress and warn */
  void (*warn)(void *ctx, const char *msg); /* why a task ended early; may be NULL */
  volatile int *stop;          /* set non-zero to stop after the current measurement */
  /* Until a task has 64 measurements of its own, model-based methods fit
   * their cost model on the log's records of other tasks too (normalized
   * per task) instead of proposing random configs. chamcc's builds turn it
   * on; the benchmarks leave it off, to compare the methods as published. */
  int warm_start;
  /* After a task's budget: its `confirm` best configs (by the log's single
   * measurements, which flatter lucky samples) are measured again,
   * CONFIRM_ROUNDS times each in alternation, and the build takes the best
   * of those. 0: off (the benchmarks, which re-measure on their own). */
  int confirm;
  /* With confirm: the task's default config is confirmed too when it is
   * not among the finalists, so the build picks a config that was faster
   * than the default when they were measured again, or the default itself. */
  int confirm_default;
  /* The machine's FMA peak for the measuring threads, GFLOP/s (measured at
   * start-up, tune_peak). A reading above it is impossible, so it is
   * suspect: not recorded, measured again (TUNE_SUSPECT_RETRIES times at
   * most). 0: no check. With peak_threads > 0 the peak is measured again
   * (on that many threads) before a reading is called suspect, since a
   * start-up under load reads it low; the higher value is kept. */
  double peak_gflops;
  int peak_threads;
} tune_session;
enum {
  TUNE_SUSPECT_RETRIES = 2, /* re-measurements of a reading above the peak */
  TUNE_CONFIRM_ROUNDS = 3, /* confirmations of each finalist */
  TUNE_PICK_SIGMAS = 2,    /* standard errors by which a finalist must beat the default (tune_log_pick) */
  TUNE_CONFIRM_FINALISTS = 4, /* finalists a build confirms (tune_session.confirm of chamcc's builds) */
  TUNE_INFRA_LIMIT = 3,    /* infra errors in a row that fail a task (the measuring is broken) */
  TUNE_IDLE_ROUNDS = 3,    /* rounds in a row that propose only measured configs end a task */
  TUNE_HINTS = 4,          /* picks on other thread counts a task measures first (tune_log_hints) */
};

/* The FMA peak of this machine on `threads` threads, GFLOP/s, as the
 * suspect rule uses it: the best of a few short runs, with 10% slack for a
 * clock that boosts later; 0 if this CPU has no vector FMA chamcc knows. */
double tune_peak(int threads);

/* Makes s tune as chamcc's builds do: warm start, TUNE_CONFIRM_FINALISTS
 * finalists and the default config confirmed, and, when the candidates
 * run on this machine (`here`), the suspect-reading check against the
 * peak of `threads` threads (0: every core). */
void tune_session_as_build(tune_session *s, int threads, int here);

/* Tunes one task until the log holds `budget` measurements of it, or the
 * method has nothing new to propose (s->warn says so), or *s->stop is set.
 * Fails on a log error or TUNE_INFRA_LIMIT infra errors in a row. */
int tune_task_run(tune_session *s, const tune_task *t, int budget, int task_i, int n_tasks, chm_err *e);
/* Shares `total` measurements over tasks (at least in proportion to their
 * FLOPs x uses, at least `min_each` each), or `per_task` each if > 0: the
 * budget of each, for the caller's loop over tune_task_run. */
void tune_budgets(const tune_task *tasks, int n, int total, int per_task, int min_each, int *budget);

/* ---- tune/model_tune.c: tasks of a model, and builds from a log ---- */

/* The distinct tunable workloads met when lowering g for target t (uses =
 * how many kernel calls share each), with mdl_options.winograd `winograd`.
 * *tasks is malloc'ed. */
int tune_collect_tasks(const gr_graph *g, const cg_target *t, int nthreads, int winograd, tune_task **tasks,
                       int *n, chm_err *e);
/* A config provider for mdl_compile that takes each task's best config
 * from the log (the template default where the log has none), counting
 * the tunable layers it saw and how many of them the log served. */
typedef struct tune_log_use {
  const tune_log *log; /* the log (records of the build's target and CPU) */
  int layers;          /* tunable layers lowered */
  int from_log;        /* of them, built with a config from the log */
  /* Told each tunable layer's task and the record its config came from
   * (NULL: the template default); may be NULL. */
  void (*chosen)(void *ctx, const tune_task *t, const tune_record *r);
  void *ctx;           /* passed to chosen */
} tune_log_use;
mdl_tuning tune_log_provider(tune_log_use *u);

/* ---- tune/shard.c: a model zoo's tasks split over machines ---- */

/* Adds the tasks of `more` to *all (malloc'ed, *n of them): a task whose key
 * is already there adds its uses to it. */
void tune_tasks_union(tune_task **all, int *n, const tune_task *more, int m);
/* Splits n tasks (distinct keys) into nshards shares of near-equal work
 * (work[i]: the measurements task i gets): shard[i] in 0..nshards-1. The
 * same tasks and work give the same split on every machine and in any
 * order; no share exceeds another by more than the largest work[i]. */
void tune_shard_partition(const tune_task *tasks, const int *work, int n, int nshards, int *shard);

/* ---- model optimizers and samplers (Chameleon) ---- */

/* What an optimizer may ask about configs of one space: the cost model's
 * score (higher is better), validity, whether measured, a random start. */
typedef struct tune_oracle {
  void *ctx;                                                            /* passed back */
  const tune_space *space;                                              /* the knobs */
  void (*score)(void *ctx, const int (*cfg)[TUNE_MAX_KNOBS], int n, float *out);
  int (*valid)(void *ctx, const int *cfg);                              /* 1 if valid */
  int (*visited)(void *ctx, const int *cfg);                            /* 1 if measured */
  int (*random_valid)(void *ctx, unsigned *rng, int *cfg);              /* 0 if none found */
} tune_oracle;

/* tune/anneal.c — AutoTVM's simulated annealing over the oracle, with
 * chains that persist across the planning rounds of one task (a zeroed
 * tune_sa starts them afresh). */
enum { TUNE_SA_CHAINS = 128 };
typedef struct tune_sa {
  int chain[TUNE_SA_CHAINS][TUNE_MAX_KNOBS]; /* the chains, kept between rounds */
  int n_chains;                              /* chains started */
} tune_sa;
/* One planning round: up to 500 steps of every chain (fewer once 50 steps
 * bring nothing new into the top set); writes the n best unvisited configs
 * seen by score, best first; returns how many. */
int tune_sa_plan(tune_sa *sa, const tune_oracle *o, unsigned *rng, int (*out)[TUNE_MAX_KNOBS], int n);

/* tune/ppo.c — Chameleon's adaptive exploration: a PPO agent walking the
 * knob space (one of decrement / stay / increment per knob per step),
 * rewarded by the cost model's score of the point reached. It keeps its
 * weights across planning rounds of the same task. */
typedef struct tune_ppo tune_ppo;
tune_ppo *tune_ppo_new(const tune_space *s, unsigned seed);
/* One planning round: 128 walks from random valid starts, each up to 500
 * steps (fewer when 75% of the knobs are saturated), PPO updates after each
 * walk; writes the n best unvisited configs by score among all points
 * visited, best first; returns how many. */
int tune_ppo_plan(tune_ppo *p, const tune_oracle *o, int (*out)[TUNE_MAX_KNOBS], int n);
void tune_ppo_free(tune_ppo *p);

/* tune/sampler.c — Chameleon's adaptive sampling and sample synthesis.
 * k-means (k-means++ seeding) over the knobs with the most options, k by the
 * knee rule (k = 8, 16, ..., 64; stop at the first k whose loss does not fall
 * by more than 2.5x from the previous k); one synthesized representative per
 * cluster (centroid on the clustered knobs, the cluster's most common value
 * on the others; an invalid, visited or duplicate result is replaced by the
 * valid unvisited member nearest the centroid). Returns how many configs
 * were written to out (at most max_out). */
int tune_adaptive_sample(const tune_oracle *o, const int (*proposals)[TUNE_MAX_KNOBS], int n,
                         unsigned *rng, int (*out)[TUNE_MAX_KNOBS], int max_out);
/* k-means with k-means++ seeding on n points of d dimensions; fills assign[n]
 * and centroids[k*d]; returns the loss (sum of squared distances). */
double tune_kmeans(const double *x, int n, int d, int k, unsigned *rng, int *assign, double *centroids);
/* The knee rule's k for these points (as above), with its assignment. */
int tune_knee_k(const double *x, int n, int d, unsigned *rng, int *assign, double *centroids);

#endif
