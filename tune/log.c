/*
 * log.c — the tuning log: one JSON object per line, one line per
 * measurement, appended as the tuner goes (see tune.h).
 *
 * A line looks like
 *   {"version":1,"target":"x86_64-linux-gnu","cpu":"skylake-avx512",
 *    "task":"conv2d ...","flops":1.2e9,"config":[3,0,2],"tuner":"sa",
 *    "times":[0.00123,0.00121],"status":"ok","message":"",
 *    "timestamp":1700000000.25,"compile_s":0.05,"run_s":0.01,
 *    "build_s":0.03,"fit_s":0.002,"opt_s":0.004,"kernels":3}
 *
 * (build_s, fit_s and opt_s are optional: logs written before they existed
 * read as 0. "confirm":1 marks a confirmation, see tune.h; absent is 0.
 * "kernels" is the kernel revision, TUNE_KERNELS; absent is 1. "threads" is
 * the thread count the kernel ran on; absent is 0, unknown. "ref_times"
 * are the reference kernel's readings beside each of "times"; absent: none,
 * the logs before interleaved timing, ranked by their plain median. There is no
 * "infra_error" line: a failure of the measuring itself is no measurement,
 * and tune_log_append refuses it.)
 *
 * Writing: the line is built in memory by hand (doubles with the fewest of
 * 15, 16 or 17 digits that read back bit for bit: cJSON's printer accepts
 * 15 digits when they are merely close, which loses the last bits; and
 * strings escaped here so that a message with a newline stays on its line)
 * and handed to one write(2) on an O_APPEND descriptor, under a shared
 * flock: two processes appending to the same log never interleave inside a
 * line, and the record is in the file when tune_log_append returns (no
 * fsync).
 *
 * Reading: the whole file is parsed line by line with cJSON. A line that is
 * not a JSON object, lacks a key, has a key of the wrong type, has an
 * unknown status or version, or a config longer than TUNE_MAX_KNOBS (or an
 * index outside 0..TUNE_MAX_VALUES-1), or more than MEAS_MAX_REPEATS times
 * is reported through the warn callback as "PATH:LINE: why" and skipped
 * (rejected, never truncated, so that a record is never half believed).
 * Task, target, cpu and tuner strings longer than their buffers are
 * rejected too; only a long message is truncated. Empty lines are reported.
 * Unknown extra keys are ignored. A last line without '\n' (the writer was
 * killed mid-write) is reported as truncated if it does not parse, and a
 * '\n' is appended (under flock, re-checked) so the next record starts on a
 * fresh line. Records whose target or cpu differ from the ones asked for
 * are kept in the file but not loaded; a NULL target or cpu loads all.
 * Records of another kernel revision are not loaded either, unless target
 * and cpu are both NULL (the report, which compares tuners, reads all).
 *
 * Several files (the logs of many machines, tune_log_load) load into one
 * log; a record identical in every field to one already loaded (the same
 * measurement read twice, from a shard's log and a merge of it) is counted
 * as a duplicate and not loaded again. Which record is the best does not
 * depend on the order records were loaded: equal medians are decided by
 * tune_record_cmp, a total order over all fields.
 *
 * Merging (tune_log_merge) loads every input into one unfiltered log, sorts
 * it by tune_record_cmp (target, CPU, kernels, task, then time: each task's
 * measurements in the order they were made) and writes each record once,
 * in the canonical form the writer produces: so merging is idempotent and
 * the order of the inputs does not matter, byte for byte.
 *
 * In memory: records live in fixed-size blocks (pointers returned by
 * tune_log_get / tune_log_best stay valid until tune_log_close). Three open
 * addressing hash tables make lookups O(1): tasks (key string -> its
 * records, confirmations and reference readings), configs (task slot +
 * index vector -> a record) and records (every field -> the record, to find
 * duplicates). The best of a task is found by going over its records when
 * asked: with reference readings a record's rank depends on the task's
 * reference time, which every new record may move.
 *
 * Ranking (tune_log_seconds): a record with reference readings counts as
 * the median over its repeats of times[i] / ref_times[i], times the task's
 * reference time (the median of its records' reference medians); one
 * without as its plain median.
 */
#include "chamcc/tune.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

enum {
  LOG_BLOCK = 256, /* records per storage block */
};

typedef struct log_task {
  char *name;      /* task key (owned) */
  int count;       /* records of this task, any status */
  CHM_VEC(int) recs; /* record indices of its measurements (not confirmations) */
  CHM_VEC(int) conf; /* record indices of its confirmations */
  CHM_VEC(double) refs; /* reference medians of its ok records with reference readings */
  double ref_s;    /* their median, as of ref_n of them (a cache) */
  int ref_n;       /* refs.len when ref_s was computed */
} log_task;

typedef struct log_hash {
  int *slot; /* entry index + 1, 0 = empty */
  int cap;   /* power of two */
  int used;  /* occupied slots */
} log_hash;

struct tune_log {
  char *path;                  /* file, NULL for an in-memory log */
  char *target, *cpu;          /* filter; NULL = accept any */
  int fd;                      /* O_APPEND descriptor; -1 in memory (no path) or read-only (tune_log_read) */
  tune_record **blocks;        /* LOG_BLOCK records each */
  int n_blocks;                /* blocks allocated */
  int n;                       /* records */
  int *rec_task;               /* task index of each record (parallel to records) */
  int rec_task_cap;            /* capacity of rec_task */
  CHM_VEC(log_task) tasks;     /* distinct tasks */
  log_hash task_hash;          /* task name -> tasks index */
  log_hash cfg_hash;           /* (task, config) -> record index */
  log_hash rec_hash;           /* every field -> record index */
  int stale;                   /* records of this target/cpu but older kernels, not loaded */
  int threads;                 /* filter: load only records of this thread count (or unknown); 0 = any */
  int other_threads;           /* records of this target/cpu and kernels on other thread counts, not loaded */
  CHM_VEC(tune_log *) others;  /* those records, one in-memory log per thread count (tune_log_hints) */
  int dups;                    /* records read that were already loaded, not loaded again */
};

/* ---- status and median ---- */

/* The statuses a line may carry: MEAS_OK up to MEAS_TIMEOUT (an infra
 * error is no measurement). */
enum { N_STATUS = MEAS_INFRA_ERROR };

static int status_parse(const char *s) {
  for (int i = 0; i < N_STATUS; i++)
    if (!strcmp(s, meas_status_name((meas_status)i))) return i;
  return -1;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

double tune_record_cost(const tune_record *r) {
  return (r->build_s > 0 ? r->build_s : r->compile_s) + r->run_s + r->fit_s + r->opt_s;
}

double tune_median(double *v, int n) {
  if (n < 1) return INFINITY;
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

double tune_lower_median(double *v, int n) {
  if (n < 1) return INFINITY;
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return v[(n - 1) / 2];
}

double tune_record_median(const tune_record *r) {
  if (r->status != MEAS_OK || r->n_times <= 0 || r->n_times > MEAS_MAX_REPEATS) return INFINITY;
  double t[MEAS_MAX_REPEATS];
  memcpy(t, r->times, (size_t)r->n_times * sizeof t[0]);
  return tune_median(t, r->n_times);
}

int tune_record_scaled(const tune_record *r, double ref_s, double *out) {
  if (r->status != MEAS_OK || r->n_times <= 0 || r->n_times > MEAS_MAX_REPEATS) return 0;
  int scale = ref_s > 0 && r->n_ref == r->n_times;
  for (int i = 0; i < r->n_times; i++)
    out[i] = scale && r->ref_times[i] > 0 ? r->times[i] / r->ref_times[i] * ref_s : r->times[i];
  return r->n_times;
}

tune_figure tune_figure_of(double flops, const double *times, int n) {
  tune_figure f = {0, 0, 0, n};
  if (n < 1) return f;
  double *v = chm_malloc((size_t)n * sizeof *v), med;
  memcpy(v, times, (size_t)n * sizeof *v);
  med = tune_median(v, n); /* sorts v */
  if (med > 0 && isfinite(med)) f.gflops = flops / med / 1e9;
  if (v[n - 1] > 0 && isfinite(v[n - 1])) f.lo = flops / v[n - 1] / 1e9;
  if (v[0] > 0 && isfinite(v[0])) f.hi = flops / v[0] / 1e9;
  free(v);
  return f;
}

/* Whether r's config is config[0..n). */
static int same_config(const tune_record *r, const int *config, int n) {
  return r->n_config == n && !memcmp(r->config, config, (size_t)n * sizeof(int));
}

/* ---- comparing whole records ---- */

static int cmp_num(double a, double b) {
  if (a != b) return a < b ? -1 : 1;
  return memcmp(&a, &b, sizeof a); /* -0 and 0 print differently */
}

static int cmp_ints(const int *a, int na, const int *b, int nb) {
  for (int i = 0; i < na && i < nb; i++)
    if (a[i] != b[i]) return a[i] < b[i] ? -1 : 1;
  return (na > nb) - (na < nb);
}

static int cmp_nums(const double *a, int na, const double *b, int nb) {
  for (int i = 0; i < na && i < nb; i++) {
    int c = cmp_num(a[i], b[i]);
    if (c) return c;
  }
  return (na > nb) - (na < nb);
}

int tune_record_cmp(const tune_record *a, const tune_record *b) {
  int c;
  if ((c = strcmp(a->target, b->target)) || (c = strcmp(a->cpu, b->cpu))) return c;
  if (a->kernels != b->kernels) return a->kernels < b->kernels ? -1 : 1;
  if ((c = strcmp(a->task, b->task)) || (c = cmp_num(a->timestamp, b->timestamp))) return c;
  if (a->confirm != b->confirm) return a->confirm < b->confirm ? -1 : 1;
  if ((c = cmp_ints(a->config, a->n_config, b->config, b->n_config))) return c;
  if ((c = strcmp(a->tuner, b->tuner))) return c;
  if (a->status != b->status) return a->status < b->status ? -1 : 1;
  if ((c = cmp_nums(a->times, a->n_times, b->times, b->n_times)) || (c = strcmp(a->message, b->message))) return c;
  if ((c = cmp_nums(a->ref_times, a->n_ref, b->ref_times, b->n_ref))) return c;
  const double fa[] = {a->flops, a->compile_s, a->run_s, a->build_s, a->fit_s, a->opt_s, a->version, a->threads};
  const double fb[] = {b->flops, b->compile_s, b->run_s, b->build_s, b->fit_s, b->opt_s, b->version, b->threads};
  return cmp_nums(fa, 8, fb, 8);
}

/* ---- hashing ---- */

static uint64_t fnv(uint64_t h, const void *p, size_t n) {
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ull;
  return h;
}
#define FNV0 14695981039346656037ull

static uint64_t cfg_key(int task, const int *config, int n) {
  uint64_t h = fnv(FNV0, &task, sizeof task);
  h = fnv(h, &n, sizeof n);
  return fnv(h, config, (size_t)n * sizeof *config);
}

static tune_record *rec_at(const tune_log *l, int i) {
  return &l->blocks[i / LOG_BLOCK][i % LOG_BLOCK];
}

/* Probe sequence of key h: the first slot whose entry satisfies eq, or the
 * first empty slot. Returns the slot position. */
static int hash_find(const log_hash *t, uint64_t h, int (*eq)(const tune_log *, int, const void *),
                     const tune_log *l, const void *key) {
  int mask = t->cap - 1;
  for (int pos = (int)(h & (uint64_t)mask);; pos = (pos + 1) & mask) {
    int s = t->slot[pos];
    if (!s || eq(l, s - 1, key)) return pos;
  }
}

static void hash_init(log_hash *t) {
  t->cap = 64;
  t->used = 0;
  t->slot = chm_calloc((size_t)t->cap, sizeof *t->slot);
}

typedef struct cfg_probe {
  int task;          /* task index */
  const int *config; /* index vector */
  int n;             /* knobs */
} cfg_probe;

static int task_eq(const tune_log *l, int i, const void *name) {
  return !strcmp(l->tasks.data[i].name, name);
}

static int cfg_eq(const tune_log *l, int i, const void *key) {
  const cfg_probe *p = key;
  const tune_record *r = rec_at(l, i);
  return l->rec_task[i] == p->task && same_config(r, p->config, p->n);
}

static uint64_t task_key(const char *name) { return fnv(FNV0, name, strlen(name)); }

/* A hash of the fields tune_record_cmp compares (strings up to their NUL). */
static uint64_t rec_key(const tune_record *r) {
  uint64_t h = fnv(FNV0, r->target, strlen(r->target));
  h = fnv(h, r->cpu, strlen(r->cpu));
  h = fnv(h, r->task, strlen(r->task));
  h = fnv(h, r->tuner, strlen(r->tuner));
  h = fnv(h, r->message, strlen(r->message));
  h = fnv(h, r->config, (size_t)r->n_config * sizeof *r->config);
  h = fnv(h, r->times, (size_t)r->n_times * sizeof *r->times);
  h = fnv(h, r->ref_times, (size_t)r->n_ref * sizeof *r->ref_times);
  const double v[] = {r->flops, r->timestamp, r->compile_s, r->run_s, r->build_s, r->fit_s, r->opt_s};
  const int k[] = {r->version, r->kernels, r->threads, r->confirm, (int)r->status, r->n_config, r->n_times, r->n_ref};
  return fnv(fnv(h, v, sizeof v), k, sizeof k);
}

static int rec_eq(const tune_log *l, int i, const void *r) { return !tune_record_cmp(rec_at(l, i), r); }

static uint64_t entry_key(const tune_log *l, const log_hash *t, int i) {
  if (t == &l->task_hash) return task_key(l->tasks.data[i].name);
  if (t == &l->rec_hash) return rec_key(rec_at(l, i));
  const tune_record *r = rec_at(l, i);
  return cfg_key(l->rec_task[i], r->config, r->n_config);
}

/* Doubles the table when it is half full. */
static void hash_grow(tune_log *l, log_hash *t) {
  if (2 * (t->used + 1) <= t->cap) return;
  int *old = t->slot, old_cap = t->cap;
  t->cap *= 2;
  t->slot = chm_calloc((size_t)t->cap, sizeof *t->slot);
  for (int i = 0; i < old_cap; i++) {
    if (!old[i]) continue;
    int mask = t->cap - 1, pos = (int)(entry_key(l, t, old[i] - 1) & (uint64_t)mask);
    while (t->slot[pos]) pos = (pos + 1) & mask;
    t->slot[pos] = old[i];
  }
  free(old);
}

/* Index of task `name`, added if new (add != 0); -1 if absent. */
static int task_index(tune_log *l, const char *name, int add) {
  if (add) hash_grow(l, &l->task_hash);
  int pos = hash_find(&l->task_hash, task_key(name), task_eq, l, name);
  if (l->task_hash.slot[pos]) return l->task_hash.slot[pos] - 1;
  if (!add) return -1;
  log_task t = {.name = chm_strdup(name)};
  chm_vec_push(&l->tasks, t);
  l->task_hash.slot[pos] = l->tasks.len;
  l->task_hash.used++;
  return l->tasks.len - 1;
}

/* ---- the in-memory store ---- */

/* Copies r in as record l->n and updates the task and config tables. */
static void store(tune_log *l, const tune_record *r) {
  int i = l->n;
  if (i / LOG_BLOCK == l->n_blocks) {
    l->blocks = chm_realloc(l->blocks, (size_t)(l->n_blocks + 1) * sizeof *l->blocks);
    l->blocks[l->n_blocks++] = chm_malloc(LOG_BLOCK * sizeof(tune_record));
  }
  if (i == l->rec_task_cap) {
    l->rec_task_cap = l->rec_task_cap ? 2 * l->rec_task_cap : LOG_BLOCK;
    l->rec_task = chm_realloc(l->rec_task, (size_t)l->rec_task_cap * sizeof *l->rec_task);
  }
  *rec_at(l, i) = *r;
  int t = task_index(l, r->task, 1);
  l->rec_task[i] = t;
  l->n++;
  log_task *lt = &l->tasks.data[t];
  if (r->confirm) {
    chm_vec_push(&lt->conf, i);
  } else {
    lt->count++;
    chm_vec_push(&lt->recs, i);
  }
  if (r->status == MEAS_OK && r->n_ref > 0) {
    double v[MEAS_MAX_REPEATS];
    memcpy(v, r->ref_times, (size_t)r->n_ref * sizeof v[0]);
    chm_vec_push(&lt->refs, tune_median(v, r->n_ref));
  }
  hash_grow(l, &l->cfg_hash);
  cfg_probe p = {t, r->config, r->n_config};
  int pos = hash_find(&l->cfg_hash, cfg_key(t, r->config, r->n_config), cfg_eq, l, &p);
  if (!l->cfg_hash.slot[pos]) l->cfg_hash.slot[pos] = i + 1, l->cfg_hash.used++;
  hash_grow(l, &l->rec_hash);
  pos = hash_find(&l->rec_hash, rec_key(r), rec_eq, l, r);
  if (!l->rec_hash.slot[pos]) l->rec_hash.slot[pos] = i + 1, l->rec_hash.used++;
}

/* Whether a record identical to r is loaded. */
static int loaded(const tune_log *l, const tune_record *r) {
  int pos = hash_find(&l->rec_hash, rec_key(r), rec_eq, l, r);
  return l->rec_hash.slot[pos] != 0;
}

int tune_log_size(const tune_log *l) { return l->n; }

const tune_record *tune_log_get(const tune_log *l, int i) {
  return i >= 0 && i < l->n ? rec_at(l, i) : NULL;
}

int tune_log_count(const tune_log *l, const char *task) {
  int t = task_index((tune_log *)l, task, 0);
  return t < 0 ? 0 : l->tasks.data[t].count;
}

int tune_log_confirms(const tune_log *l, const char *task, const int *config, int n) {
  int t = task_index((tune_log *)l, task, 0), k = 0;
  if (t < 0) return 0;
  const log_task *lt = &l->tasks.data[t];
  for (int j = 0; j < lt->conf.len; j++) {
    const tune_record *r = rec_at(l, lt->conf.data[j]);
    k += same_config(r, config, n);
  }
  return k;
}

/* The task's reference time (see tune_log_ref_seconds), recomputed when
 * records with reference readings were added since. */
static double task_ref_seconds(const tune_log *l, int t) {
  log_task *lt = &((tune_log *)l)->tasks.data[t];
  if (lt->ref_n != lt->refs.len) {
    double *v = chm_malloc((size_t)lt->refs.len * sizeof *v + 1);
    memcpy(v, lt->refs.data, (size_t)lt->refs.len * sizeof *v);
    lt->ref_s = lt->refs.len ? tune_median(v, lt->refs.len) : 0;
    lt->ref_n = lt->refs.len;
    free(v);
  }
  return lt->ref_s;
}

double tune_log_ref_seconds(const tune_log *l, const char *task) {
  int t = task_index((tune_log *)l, task, 0);
  return t < 0 ? 0 : task_ref_seconds(l, t);
}

/* The median of r's repeats scaled to a reference time of ref_s. */
static double scaled_seconds(const tune_record *r, double ref_s) {
  double v[MEAS_MAX_REPEATS];
  return tune_median(v, tune_record_scaled(r, ref_s, v));
}

double tune_log_seconds(const tune_log *l, const tune_record *r) {
  return scaled_seconds(r, tune_log_ref_seconds(l, r->task));
}

double tune_log_throughput(const tune_log *l, const tune_record *r) {
  double t = tune_log_seconds(l, r);
  return t > 0 && isfinite(t) ? r->flops / t / 1e9 : 0.0;
}

tune_figure tune_log_figure(const tune_log *l, const tune_record *r) {
  double v[MEAS_MAX_REPEATS];
  return tune_figure_of(r->flops, v, tune_record_scaled(r, tune_log_ref_seconds(l, r->task), v));
}

/* The scaled repeats of config c's ok confirmations, pooled, into v (room
 * for all); -1 if one failed (a finalist that crashed once is not
 * trusted), else how many. */
static int pooled(const tune_log *l, int t, const tune_record *c, double *v) {
  const log_task *lt = &l->tasks.data[t];
  double ref_s = task_ref_seconds(l, t);
  int n = 0;
  for (int j = 0; j < lt->conf.len; j++) {
    const tune_record *r = rec_at(l, lt->conf.data[j]);
    if (!same_config(r, c->config, c->n_config)) continue;
    if (r->status != MEAS_OK) return -1;
    n += tune_record_scaled(r, ref_s, v + n);
  }
  return n;
}

/* Median of pooled(); INFINITY if a confirmation failed. */
static double pooled_median(const tune_log *l, int t, const tune_record *c) {
  const log_task *lt = &l->tasks.data[t];
  double *v = chm_malloc((size_t)lt->conf.len * MEAS_MAX_REPEATS * sizeof *v + 1);
  int n = pooled(l, t, c, v);
  double m = n < 0 ? INFINITY : tune_median(v, n);
  free(v);
  return m;
}

/* The best of the records at idx[n] by `cost` (ties: tune_record_cmp). */
static const tune_record *best_of(const tune_log *l, int t, const int *idx, int n,
                                  double (*cost)(const tune_log *, int, const tune_record *)) {
  const tune_record *best = NULL;
  double best_cost = INFINITY;
  for (int j = 0; j < n; j++) {
    const tune_record *r = rec_at(l, idx[j]);
    double c = cost(l, t, r);
    if (c < best_cost || (c == best_cost && best && tune_record_cmp(r, best) < 0)) best = r, best_cost = c;
  }
  return best;
}

/* tune_log_seconds of a record of task t (without looking the task up by
 * name for every record). */
static double single_cost(const tune_log *l, int t, const tune_record *r) {
  return scaled_seconds(r, task_ref_seconds(l, t));
}

const tune_record *tune_log_best(const tune_log *l, const char *task) {
  int t = task_index((tune_log *)l, task, 0);
  if (t < 0) return NULL;
  const log_task *lt = &l->tasks.data[t];
  const tune_record *best = best_of(l, t, lt->conf.data, lt->conf.len, pooled_median); /* a dozen records */
  return best ? best : best_of(l, t, lt->recs.data, lt->recs.len, single_cost);
}

tune_figure tune_log_config_figure(const tune_log *l, const tune_record *b) {
  if (!b->confirm) return tune_log_figure(l, b);
  int t = task_index((tune_log *)l, b->task, 0);
  const log_task *lt = &l->tasks.data[t];
  double *v = chm_malloc((size_t)lt->conf.len * MEAS_MAX_REPEATS * sizeof *v + 1);
  int n = pooled(l, t, b, v);
  tune_figure f = tune_figure_of(b->flops, v, n < 0 ? 0 : n);
  free(v);
  return f;
}

tune_figure tune_log_best_figure(const tune_log *l, const char *task) {
  const tune_record *b = tune_log_best(l, task);
  tune_figure none = {0, 0, 0, 0};
  return b ? tune_log_config_figure(l, b) : none;
}

/* The median of the logs of v[n] (reordered) and its standard error, from
 * the median absolute deviation as for normal data (1.4826 MAD is sigma;
 * the median's error is 1.2533 sigma / sqrt(n)). */
static void log_median(double *v, int n, double *med, double *se) {
  for (int i = 0; i < n; i++) v[i] = log(v[i]);
  *med = tune_median(v, n);
  for (int i = 0; i < n; i++) v[i] = fabs(v[i] - *med);
  *se = 1.2533 * 1.4826 * tune_median(v, n) / sqrt((double)n);
}

const tune_record *tune_log_pick(const tune_log *l, const char *task, const int *dflt, int n) {
  const tune_record *best = tune_log_best(l, task), *def = NULL;
  if (!best || !best->confirm || !dflt || same_config(best, dflt, n)) return best;
  int t = task_index((tune_log *)l, task, 0);
  const log_task *lt = &l->tasks.data[t];
  for (int j = 0; j < lt->conf.len && !def; j++)
    if (same_config(rec_at(l, lt->conf.data[j]), dflt, n)) def = rec_at(l, lt->conf.data[j]);
  if (!def) return best;
  double *v = chm_malloc((size_t)lt->conf.len * MEAS_MAX_REPEATS * sizeof *v + 1);
  double mb, sb, md, sd;
  int nb = pooled(l, t, best, v);
  if (nb > 0) log_median(v, nb, &mb, &sb);
  int nd = pooled(l, t, def, v);
  if (nd > 0) log_median(v, nd, &md, &sd);
  free(v);
  if (nb <= 0 || nd <= 0) return best; /* the default failed a confirmation: it is out */
  return md - mb > TUNE_PICK_SIGMAS * sqrt(sb * sb + sd * sd) ? best : def;
}

int tune_log_has(const tune_log *l, const char *task, const int *config, int n) {
  int t = task_index((tune_log *)l, task, 0);
  if (t < 0 || n < 0 || n > TUNE_MAX_KNOBS) return 0;
  cfg_probe p = {t, config, n};
  int pos = hash_find(&l->cfg_hash, cfg_key(t, config, n), cfg_eq, l, &p);
  return l->cfg_hash.slot[pos] != 0;
}

/* ---- parsing one line ---- */

/* Why a line was rejected (into why[256]); returns -1 for convenience. */
static int bad(char *why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(char *why, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, 256, fmt, ap);
  va_end(ap);
  return -1;
}

static const cJSON *get_key(const cJSON *o, const char *key) {
  return cJSON_GetObjectItemCaseSensitive(o, key);
}

static int get_num(const cJSON *o, const char *key, double *v, char *why) {
  const cJSON *it = get_key(o, key);
  if (!it) return bad(why, "missing key '%s'", key);
  if (!cJSON_IsNumber(it)) return bad(why, "key '%s' is not a number", key);
  *v = it->valuedouble;
  return 0;
}

/* String `key` into buf[size]; too long is an error unless `truncate`. */
static int get_str(const cJSON *o, const char *key, char *buf, size_t size, int truncate,
                   char *why) {
  const cJSON *it = get_key(o, key);
  if (!it) return bad(why, "missing key '%s'", key);
  if (!cJSON_IsString(it)) return bad(why, "key '%s' is not a string", key);
  size_t n = strlen(it->valuestring);
  if (n >= size && !truncate)
    return bad(why, "key '%s' is longer than %zu bytes", key, size - 1);
  if (n >= size) n = size - 1;
  memcpy(buf, it->valuestring, n);
  buf[n] = 0;
  return 0;
}

/* The array at key, of at most max elements (*n of them); NULL with why. */
static const cJSON *get_array(const cJSON *o, const char *key, int max, const char *what, int *n, char *why) {
  const cJSON *a = get_key(o, key);
  if (!a) return bad(why, "missing key '%s'", key), NULL;
  if (!cJSON_IsArray(a)) return bad(why, "key '%s' is not an array", key), NULL;
  *n = cJSON_GetArraySize(a);
  if (*n > max) return bad(why, "%s has %d %s (at most %d)", key, *n, what, max), NULL;
  return a;
}

static int get_config(const cJSON *o, tune_record *r, char *why) {
  int n, k = 0;
  const cJSON *a = get_array(o, "config", TUNE_MAX_KNOBS, "knobs", &n, why);
  if (!a) return -1;
  for (const cJSON *it = a->child; it; it = it->next, k++) {
    double v = cJSON_IsNumber(it) ? it->valuedouble : -1;
    if (!cJSON_IsNumber(it) || v != floor(v) || v < 0 || v >= TUNE_MAX_VALUES)
      return bad(why, "config[%d] is not an option index (0..%d)", k, TUNE_MAX_VALUES - 1);
    r->config[k] = (int)v;
  }
  r->n_config = n;
  return 0;
}

/* The array of seconds at key into v (at most MEAS_MAX_REPEATS, *n of them). */
static int get_seconds(const cJSON *o, const char *key, double *v, int *n, char *why) {
  int k = 0;
  const cJSON *a = get_array(o, key, MEAS_MAX_REPEATS, "repeats", n, why);
  if (!a) return -1;
  for (const cJSON *it = a->child; it; it = it->next, k++) {
    if (!cJSON_IsNumber(it) || it->valuedouble < 0)
      return bad(why, "%s[%d] is not a non-negative number", key, k);
    v[k] = it->valuedouble;
  }
  return 0;
}

static int get_times(const cJSON *o, tune_record *r, char *why) {
  return get_seconds(o, "times", r->times, &r->n_times, why);
}

/* Optional "ref_times": one reading per repeat (absent: none). */
static int get_ref_times(const cJSON *o, tune_record *r, char *why) {
  if (!get_key(o, "ref_times")) return 0;
  if (get_seconds(o, "ref_times", r->ref_times, &r->n_ref, why)) return -1;
  if (r->n_ref != r->n_times)
    return bad(why, "ref_times has %d readings, times %d (want one per repeat)", r->n_ref, r->n_times);
  return 0;
}

/* An optional number: *v stays 0 when the key is absent. */
static int get_opt_num(const cJSON *o, const char *key, double *v, char *why) {
  return cJSON_GetObjectItemCaseSensitive(o, key) ? get_num(o, key, v, why) : 0;
}

/* Optional "kernels": a revision >= 1 (absent: 1, the logs before it). */
static int get_kernels(const cJSON *o, tune_record *r, char *why) {
  double v = 1;
  if (get_opt_num(o, "kernels", &v, why)) return -1;
  if (v < 1 || v > 1000000 || v != (int)v) return bad(why, "kernels is %g (want a revision >= 1)", v);
  r->kernels = (int)v;
  return 0;
}

/* Optional "threads": 1 to 4096 (absent: 0, unknown). */
static int get_threads(const cJSON *o, tune_record *r, char *why) {
  double v = 0;
  if (get_opt_num(o, "threads", &v, why)) return -1;
  if (cJSON_GetObjectItemCaseSensitive(o, "threads") && (v < 1 || v > 4096 || v != (int)v))
    return bad(why, "threads is %g (want 1 to 4096)", v);
  r->threads = (int)v;
  return 0;
}

/* Optional "confirm": 0 or 1. */
static int get_confirm(const cJSON *o, tune_record *r, char *why) {
  double v = 0;
  if (get_opt_num(o, "confirm", &v, why)) return -1;
  if (v != 0 && v != 1) return bad(why, "confirm is %g (want 0 or 1)", v);
  r->confirm = (int)v;
  return 0;
}

static int get_header(const cJSON *o, tune_record *r, char *why) {
  double v = 0;
  if (get_num(o, "version", &v, why)) return -1;
  if (v != TUNE_LOG_VERSION) return bad(why, "unsupported version %g", v);
  r->version = TUNE_LOG_VERSION;
  char status[32];
  if (get_str(o, "status", status, sizeof status, 1, why)) return -1;
  int s = status_parse(status);
  if (s < 0) return bad(why, "unknown status '%s'", status);
  r->status = (meas_status)s;
  return 0;
}

/* Parses the JSON object `o` into r; on failure writes the reason. */
static int record_from_json(const cJSON *o, tune_record *r, char *why) {
  memset(r, 0, sizeof *r);
  if (!cJSON_IsObject(o)) return bad(why, "not a JSON object");
  if (get_header(o, r, why) || get_str(o, "target", r->target, sizeof r->target, 0, why) ||
      get_str(o, "cpu", r->cpu, sizeof r->cpu, 0, why) ||
      get_str(o, "task", r->task, sizeof r->task, 0, why) ||
      get_str(o, "tuner", r->tuner, sizeof r->tuner, 0, why) ||
      get_str(o, "message", r->message, sizeof r->message, 1, why) ||
      get_num(o, "flops", &r->flops, why) || get_config(o, r, why) || get_times(o, r, why) ||
      get_num(o, "timestamp", &r->timestamp, why) ||
      get_num(o, "compile_s", &r->compile_s, why) || get_num(o, "run_s", &r->run_s, why) ||
      get_opt_num(o, "build_s", &r->build_s, why) || get_opt_num(o, "fit_s", &r->fit_s, why) ||
      get_opt_num(o, "opt_s", &r->opt_s, why) || get_confirm(o, r, why) || get_kernels(o, r, why) ||
      get_threads(o, r, why) || get_ref_times(o, r, why))
    return -1;
  return 0;
}

/* Parses line (NUL-terminated, no '\n') into r. */
static int parse_line(const char *line, int last_unterminated, tune_record *r, char *why) {
  if (!*line) return bad(why, "empty line");
  cJSON *o = cJSON_ParseWithOpts(line, NULL, 1);
  if (!o)
    return bad(why, last_unterminated ? "truncated last line (not valid JSON)" : "not valid JSON");
  int rc = record_from_json(o, r, why);
  cJSON_Delete(o);
  return rc;
}

/* ---- reading the file ---- */

static int matches(const tune_log *l, const tune_record *r) {
  return (!l->target || !strcmp(l->target, r->target)) && (!l->cpu || !strcmp(l->cpu, r->cpu));
}

/* A log opened for a machine (target or cpu given) loads only this
 * chamcc's kernels; one opened for everything loads all. */
static int stale(const tune_log *l, const tune_record *r) {
  return (l->target || l->cpu) && r->kernels != TUNE_KERNELS;
}

int tune_log_stale(const tune_log *l) { return l->stale; }

/* Measured on another thread count than the one asked for. */
static int other_threads(const tune_log *l, const tune_record *r) {
  return l->threads && r->threads && r->threads != l->threads;
}

int tune_log_other_threads(const tune_log *l) { return l->other_threads; }

static tune_log *log_new(const char *path, const char *target, const char *cpu, int threads, int readonly,
                         void (*warn)(void *ctx, const char *msg), void *ctx, chm_err *e);

/* Counts r, a record of another thread count, and keeps it (once) in that
 * count's log for tune_log_hints. */
static void keep_other(tune_log *l, const tune_record *r) {
  l->other_threads++;
  tune_log *o = NULL;
  for (int i = 0; i < l->others.len && !o; i++)
    if (l->others.data[i]->threads == r->threads) o = l->others.data[i];
  if (!o) {
    o = log_new(NULL, l->target, l->cpu, r->threads, 0, NULL, NULL, NULL);
    chm_vec_push(&l->others, o);
  }
  if (!loaded(o, r)) store(o, r);
}

int tune_log_hints(const tune_log *l, const char *task, const int *dflt, int n, int (*out)[TUNE_MAX_KNOBS],
                   int max) {
  int k = 0;
  for (int i = 0; i < l->others.len && k < max; i++) {
    const tune_record *p = tune_log_pick(l->others.data[i], task, dflt, n);
    if (!p || p->status != MEAS_OK || p->n_config != n || (dflt && same_config(p, dflt, n))) continue;
    int dup = 0;
    for (int j = 0; j < k && !dup; j++) dup = !memcmp(out[j], p->config, (size_t)n * sizeof(int));
    if (dup) continue;
    memset(out[k], 0, sizeof out[k]);
    memcpy(out[k++], p->config, (size_t)n * sizeof(int));
  }
  return k;
}

/* Reads all of fd from offset 0 into a NUL-terminated buffer. */
static char *read_all(int fd, size_t *size) {
  size_t cap = 1 << 16, n = 0;
  char *buf = chm_malloc(cap);
  for (;;) {
    if (n + 1 >= cap) buf = chm_realloc(buf, cap *= 2);
    ssize_t got = pread(fd, buf + n, cap - n - 1, (off_t)n);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return free(buf), NULL;
    if (got == 0) break;
    n += (size_t)got;
  }
  buf[n] = 0;
  *size = n;
  return buf;
}

static void load_lines(tune_log *l, const char *path, char *buf, size_t size,
                       void (*warn)(void *, const char *), void *ctx) {
  char *p = buf, *end = buf + size;
  for (int line = 1; p < end; line++) {
    char *nl = memchr(p, '\n', (size_t)(end - p));
    int unterminated = !nl;
    if (nl) *nl = 0;
    tune_record r;
    char why[256], msg[1400];
    if (strlen(p) != (size_t)((nl ? nl : end) - p))
      bad(why, "NUL byte inside the line");
    else if (!parse_line(p, unterminated, &r, why)) {
      if (matches(l, &r)) {
        if (stale(l, &r)) l->stale++;
        else if (other_threads(l, &r)) keep_other(l, &r);
        else if (loaded(l, &r)) l->dups++;
        else store(l, &r);
      }
      why[0] = 0;
    }
    if (why[0] && warn) {
      snprintf(msg, sizeof msg, "%s:%d: %s", path, line, why);
      warn(ctx, msg);
    }
    p = nl ? nl + 1 : end;
  }
}

/* If the file is non-empty and does not end in '\n', appends one (under an
 * exclusive flock, re-checking, so two openers add only one). */
static int terminate_last_line(tune_log *l, chm_err *e) {
  if (flock(l->fd, LOCK_EX) < 0) return chm_errorf(e, "%s: flock: %s", l->path, strerror(errno));
  int rc = 0;
  struct stat st;
  char c = '\n';
  if (fstat(l->fd, &st) < 0)
    rc = chm_errorf(e, "%s: %s", l->path, strerror(errno));
  else if (st.st_size > 0 && pread(l->fd, &c, 1, st.st_size - 1) != 1)
    rc = chm_errorf(e, "%s: read error", l->path);
  else if (c != '\n' && write(l->fd, "\n", 1) != 1)
    rc = chm_errorf(e, "%s: write: %s", l->path, strerror(errno));
  flock(l->fd, LOCK_UN);
  return rc;
}

/* Loads the file; read-only, it must exist, is never written (a cut last
 * line is left as it is) and is closed once read. */
static int open_file(tune_log *l, int readonly, void (*warn)(void *, const char *), void *ctx, chm_err *e) {
  int flags = readonly ? O_RDONLY | O_CLOEXEC : O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC;
  l->fd = open(l->path, flags, 0644);
  if (l->fd < 0) return chm_errorf(e, "%s: %s", l->path, strerror(errno));
  size_t size;
  char *buf = read_all(l->fd, &size);
  if (!buf) return chm_errorf(e, "%s: read error: %s", l->path, strerror(errno));
  load_lines(l, l->path, buf, size, warn, ctx);
  int unterminated = size > 0 && buf[size - 1] != '\n';
  free(buf);
  if (readonly) return close(l->fd), l->fd = -1, 0;
  return unterminated ? terminate_last_line(l, e) : 0;
}

static tune_log *log_new(const char *path, const char *target, const char *cpu, int threads, int readonly,
                         void (*warn)(void *ctx, const char *msg), void *ctx, chm_err *e) {
  tune_log *l = chm_calloc(1, sizeof *l);
  l->fd = -1;
  l->threads = threads;
  l->path = path ? chm_strdup(path) : NULL;
  l->target = target ? chm_strdup(target) : NULL;
  l->cpu = cpu ? chm_strdup(cpu) : NULL;
  hash_init(&l->task_hash);
  hash_init(&l->cfg_hash);
  hash_init(&l->rec_hash);
  if (path && open_file(l, readonly, warn, ctx, e)) {
    tune_log_close(l);
    return NULL;
  }
  return l;
}

tune_log *tune_log_open(const char *path, const char *target, const char *cpu,
                        void (*warn)(void *ctx, const char *msg), void *ctx, chm_err *e) {
  return log_new(path, target, cpu, 0, 0, warn, ctx, e);
}

tune_log *tune_log_open_for(const char *path, const char *target, const char *cpu, int threads,
                            void (*warn)(void *ctx, const char *msg), void *ctx, chm_err *e) {
  return log_new(path, target, cpu, threads, 0, warn, ctx, e);
}

tune_log *tune_log_read(const char *path, const char *target, const char *cpu,
                        void (*warn)(void *ctx, const char *msg), void *ctx, chm_err *e) {
  if (!path) return chm_errorf(e, "tune_log_read: no path"), NULL;
  return log_new(path, target, cpu, 0, 1, warn, ctx, e);
}

void tune_log_close(tune_log *l) {
  if (!l) return;
  if (l->fd >= 0) close(l->fd);
  for (int i = 0; i < l->n_blocks; i++) free(l->blocks[i]);
  free(l->blocks);
  free(l->rec_task);
  for (int i = 0; i < l->tasks.len; i++) {
    log_task *lt = &l->tasks.data[i];
    free(lt->name);
    chm_vec_free(&lt->recs), chm_vec_free(&lt->conf), chm_vec_free(&lt->refs);
  }
  chm_vec_free(&l->tasks);
  for (int i = 0; i < l->others.len; i++) tune_log_close(l->others.data[i]);
  chm_vec_free(&l->others);
  free(l->task_hash.slot);
  free(l->cfg_hash.slot);
  free(l->rec_hash.slot);
  free(l->path);
  free(l->target);
  free(l->cpu);
  free(l);
}

/* ---- writing one line ---- */

typedef struct strbuf {
  char *p;       /* text, NUL-terminated */
  size_t n, cap; /* length and capacity */
} strbuf;

static void sb_printf(strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(strbuf *b, const char *fmt, ...) {
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap);
    va_end(ap);
    if ((size_t)k < b->cap - b->n) {
      b->n += (size_t)k;
      return;
    }
    b->cap = 2 * b->cap + (size_t)k;
    b->p = chm_realloc(b->p, b->cap);
  }
}

/* "key":"escaped value" (JSON escapes; bytes >= 0x80 pass through). */
static void sb_str(strbuf *b, const char *key, const char *s, size_t max) {
  sb_printf(b, ",\"%s\":\"", key);
  for (size_t i = 0; i < max && s[i]; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\') sb_printf(b, "\\%c", c);
    else if (c == '\n') sb_printf(b, "\\n");
    else if (c == '\t') sb_printf(b, "\\t");
    else if (c == '\r') sb_printf(b, "\\r");
    else if (c < 0x20 || c == 0x7f) sb_printf(b, "\\u%04x", c);
    else sb_printf(b, "%c", c);
  }
  sb_printf(b, "\"");
}

/* The shortest of %.15g, %.16g, %.17g that reads back as exactly v. */
static void sb_double(strbuf *b, double v) {
  char buf[32];
  for (int prec = 15; prec <= 17; prec++) {
    snprintf(buf, sizeof buf, "%.*g", prec, v);
    if (strtod(buf, NULL) == v) break;
  }
  sb_printf(b, "%s", buf);
}

static void sb_num(strbuf *b, const char *key, double v) {
  sb_printf(b, ",\"%s\":", key);
  sb_double(b, v);
}

static void sb_doubles(strbuf *b, const char *key, const double *v, int n) {
  sb_printf(b, ",\"%s\":[", key);
  for (int i = 0; i < n; i++) {
    sb_printf(b, "%s", i ? "," : "");
    sb_double(b, v[i]);
  }
  sb_printf(b, "]");
}

static void record_to_line(const tune_record *r, strbuf *b) {
  sb_printf(b, "{\"version\":%d", TUNE_LOG_VERSION);
  sb_str(b, "target", r->target, sizeof r->target);
  sb_str(b, "cpu", r->cpu, sizeof r->cpu);
  sb_str(b, "task", r->task, sizeof r->task);
  sb_num(b, "flops", r->flops);
  sb_printf(b, ",\"config\":[");
  for (int i = 0; i < r->n_config; i++) sb_printf(b, "%s%d", i ? "," : "", r->config[i]);
  sb_printf(b, "]");
  sb_str(b, "tuner", r->tuner, sizeof r->tuner);
  sb_doubles(b, "times", r->times, r->n_times);
  if (r->n_ref > 0) sb_doubles(b, "ref_times", r->ref_times, r->n_ref);
  sb_str(b, "status", meas_status_name(r->status), 32);
  sb_str(b, "message", r->message, sizeof r->message);
  sb_num(b, "timestamp", r->timestamp);
  sb_num(b, "compile_s", r->compile_s);
  sb_num(b, "run_s", r->run_s);
  sb_num(b, "build_s", r->build_s);
  sb_num(b, "fit_s", r->fit_s);
  sb_num(b, "opt_s", r->opt_s);
  if (r->confirm) sb_printf(b, ",\"confirm\":1");
  if (r->threads > 0) sb_printf(b, ",\"threads\":%d", r->threads);
  sb_printf(b, ",\"kernels\":%d}\n", r->kernels);
}

/* Rejects what the reader would reject (so that what is kept in memory is
 * what a re-read finds). */
static int check_record(const tune_log *l, const tune_record *r, chm_err *e) {
  if (r->n_config < 0 || r->n_config > TUNE_MAX_KNOBS)
    return chm_errorf(e, "tuning log: record has %d knobs", r->n_config);
  if (r->n_times < 0 || r->n_times > MEAS_MAX_REPEATS)
    return chm_errorf(e, "tuning log: record has %d times", r->n_times);
  if (r->n_ref != 0 && r->n_ref != r->n_times)
    return chm_errorf(e, "tuning log: record has %d reference readings for %d times", r->n_ref, r->n_times);
  if (r->confirm != 0 && r->confirm != 1)
    return chm_errorf(e, "tuning log: record has confirm = %d", r->confirm);
  if (r->threads < 0 || r->threads > 4096)
    return chm_errorf(e, "tuning log: record has %d threads", r->threads);
  if (r->status == MEAS_INFRA_ERROR)
    return chm_errorf(e, "tuning log: an infra_error is not a measurement (%s)", r->message);
  if ((unsigned)r->status >= N_STATUS)
    return chm_errorf(e, "tuning log: record has status %d", (int)r->status);
  for (int i = 0; i < r->n_config; i++)
    if (r->config[i] < 0 || r->config[i] >= TUNE_MAX_VALUES)
      return chm_errorf(e, "tuning log: config[%d] = %d is not an option index", i, r->config[i]);
  int finite = isfinite(r->flops) && isfinite(r->timestamp) && isfinite(r->compile_s) &&
               isfinite(r->run_s) && isfinite(r->build_s) && isfinite(r->fit_s) && isfinite(r->opt_s);
  for (int i = 0; i < r->n_times; i++) finite = finite && isfinite(r->times[i]) && r->times[i] >= 0;
  for (int i = 0; i < r->n_ref; i++) finite = finite && isfinite(r->ref_times[i]) && r->ref_times[i] >= 0;
  if (!finite) return chm_errorf(e, "tuning log: record has a non-finite or negative number");
  if (!memchr(r->target, 0, sizeof r->target) || !memchr(r->cpu, 0, sizeof r->cpu) ||
      !memchr(r->task, 0, sizeof r->task) || !memchr(r->tuner, 0, sizeof r->tuner) ||
      !memchr(r->message, 0, sizeof r->message))
    return chm_errorf(e, "tuning log: record has an unterminated string");
  if ((l->target && strcmp(r->target, l->target)) || (l->cpu && strcmp(r->cpu, l->cpu)))
    return chm_errorf(e, "tuning log: record for %s/%s appended to a log of %s/%s", r->target,
                      r->cpu, l->target ? l->target : "*", l->cpu ? l->cpu : "*");
  return 0;
}

static double wall_now(void) {
  struct timeval tv;
  gettimeofday(&tv, NULL);
  return (double)tv.tv_sec + 1e-6 * (double)tv.tv_usec;
}

/* Writes the whole line (one write(2) unless the kernel writes short)
 * under a shared flock: writers do not exclude each other
 * (O_APPEND keeps their lines whole), but an opener that finds the file
 * not ending in '\n' re-checks under an exclusive lock, and must not take a
 * write in progress for a line cut short by a kill (it would add a '\n'
 * after the finished line: an empty line). */
static int write_line(int fd, const char *path, const char *p, size_t n, chm_err *e) {
  while (flock(fd, LOCK_SH) < 0)
    if (errno != EINTR) return chm_errorf(e, "%s: flock: %s", path, strerror(errno));
  int rc = 0;
  while (n > 0) {
    ssize_t k = write(fd, p, n);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) {
      rc = chm_errorf(e, "%s: write: %s", path, k < 0 ? strerror(errno) : "no progress");
      break;
    }
    p += k;
    n -= (size_t)k;
  }
  flock(fd, LOCK_UN);
  return rc;
}

/* An empty target or cpu is filled from the log; version and kernels are
 * set; a zero timestamp becomes the current time. */
int tune_log_append(tune_log *l, const tune_record *r, chm_err *e) {
  if (l->path && l->fd < 0) return chm_errorf(e, "%s: opened for reading only", l->path);
  tune_record c = *r;
  c.version = TUNE_LOG_VERSION;
  c.kernels = TUNE_KERNELS;
  if (!c.target[0] && l->target) snprintf(c.target, sizeof c.target, "%s", l->target);
  if (!c.cpu[0] && l->cpu) snprintf(c.cpu, sizeof c.cpu, "%s", l->cpu);
  if (c.timestamp == 0) c.timestamp = wall_now();
  if (check_record(l, &c, e)) return -1;
  if (l->fd >= 0) {
    strbuf b = {chm_malloc(1024), 0, 1024};
    b.p[0] = 0;
    record_to_line(&c, &b);
    int rc = write_line(l->fd, l->path, b.p, b.n, e);
    free(b.p);
    if (rc) return -1;
  }
  store(l, &c);
  return 0;
}

/* ---- many files: loading, merging, statistics ---- */

int tune_log_duplicates(const tune_log *l) { return l->dups; }

int tune_log_load(tune_log *l, const char *path, void (*warn)(void *ctx, const char *msg), void *ctx,
                  chm_err *e) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return chm_errorf(e, "%s: %s", path, strerror(errno));
  size_t size;
  char *buf = read_all(fd, &size);
  int err = errno;
  close(fd);
  if (!buf) return chm_errorf(e, "%s: read error: %s", path, strerror(err));
  load_lines(l, path, buf, size, warn, ctx);
  free(buf);
  return 0;
}

static int cmp_rec_ptr(const void *a, const void *b) {
  return tune_record_cmp(*(const tune_record *const *)a, *(const tune_record *const *)b);
}

/* Every record of l, sorted, one canonical line each, into out (through a
 * temporary file renamed over it: a reader never sees half a merge). */
static int write_sorted(const tune_log *l, const char *out, chm_err *e) {
  const tune_record **v = chm_malloc((size_t)(l->n ? l->n : 1) * sizeof *v);
  for (int i = 0; i < l->n; i++) v[i] = rec_at(l, i);
  qsort(v, (size_t)l->n, sizeof *v, cmp_rec_ptr);
  strbuf b = {chm_malloc(1 << 16), 0, 1 << 16};
  b.p[0] = 0;
  for (int i = 0; i < l->n; i++) record_to_line(v[i], &b);
  free(v);
  char *tmp = chm_malloc(strlen(out) + 32);
  sprintf(tmp, "%s.tmp.%d", out, (int)getpid());
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  int rc = fd < 0 ? chm_errorf(e, "%s: %s", tmp, strerror(errno)) : write_line(fd, tmp, b.p, b.n, e);
  if (fd >= 0 && !rc && fsync(fd)) rc = chm_errorf(e, "%s: fsync: %s", tmp, strerror(errno));
  if (fd >= 0) close(fd);
  if (!rc && rename(tmp, out)) rc = chm_errorf(e, "%s: %s", out, strerror(errno));
  if (rc && fd >= 0) unlink(tmp);
  free(tmp);
  free(b.p);
  return rc;
}

typedef struct merge_warn {
  void (*warn)(void *ctx, const char *msg); /* the caller's */
  void *ctx;                                /* its context */
  int n;                                    /* malformed lines */
} merge_warn;

static void count_warn(void *ctx, const char *msg) {
  merge_warn *m = ctx;
  m->n++;
  if (m->warn) m->warn(m->ctx, msg);
}

int tune_log_merge(const char *out, const char *const *in, int n, void (*warn)(void *ctx, const char *msg),
                   void *ctx, tune_merge_stats *st, chm_err *e) {
  tune_log *l = log_new(NULL, NULL, NULL, 0, 0, NULL, NULL, e);
  merge_warn mw = {warn, ctx, 0};
  int rc = 0;
  for (int i = 0; i < n && !rc; i++) rc = tune_log_load(l, in[i], count_warn, &mw, e);
  if (!rc) rc = write_sorted(l, out, e);
  *st = (tune_merge_stats){n, l->n, l->dups, mw.n};
  tune_log_close(l);
  return rc;
}

static int cmp_stats(const void *a, const void *b) {
  return strcmp(((const tune_task_stats *)a)->task, ((const tune_task_stats *)b)->task);
}

int tune_log_task_stats(const tune_log *l, tune_task_stats **out) {
  int n = l->tasks.len;
  tune_task_stats *s = chm_calloc((size_t)(n ? n : 1), sizeof *s);
  for (int t = 0; t < n; t++) {
    s[t].task = l->tasks.data[t].name;
    s[t].best = tune_log_best(l, s[t].task);
  }
  for (int i = 0; i < l->n; i++) {
    const tune_record *r = rec_at(l, i);
    tune_task_stats *ts = &s[l->rec_task[i]];
    ts->cost_s += tune_record_cost(r);
    if (r->confirm) ts->confirms++;
    else ts->measured++, ts->failed += r->status != MEAS_OK;
  }
  qsort(s, (size_t)n, sizeof *s, cmp_stats);
  *out = s;
  return n;
}
