/*
 * main.c — the chamcc command line: the only place that prints to the user
 * and calls exit().
 *
 *   chamcc MODEL.onnx -o libNAME.a [options]
 *
 * Loads and normalizes the graph, lowers it to one LLVM module, and writes
 * libNAME.a (the kernels plus the runtime for the target) and NAME.h beside
 * it. Every failure is one line on stderr, "chamcc: FILE: ...", and a
 * non-zero exit status; no partial output is left behind. What can be
 * checked without the model (target, CPU, the paths to write, the runner)
 * is checked before the model is read: a bad -o must not cost a tuning run.
 */
#include "chamcc/archive.h"
#include "chamcc/cg.h"
#include "chamcc/graph.h"
#include "chamcc/model.h"
#include "chamcc/remote.h"
#include "chamcc/search.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef CHAMCC_VERSION
#define CHAMCC_VERSION "0.1.0"
#endif

typedef struct options {
  const char *model;     /* input .onnx */
  const char *output;    /* libNAME.a */
  const char *name;      /* symbol prefix, from --name or the output file */
  const char *triple;    /* --target */
  const char *cpu;       /* --cpu */
  int threads;           /* --threads (0 = all cores) */
  const char *emit_llvm; /* --emit-llvm FILE */
  const char *dump_ir;   /* --dump-ir FILE */
  const char *emit_c;    /* --emit-c DIR: a C source tree instead of libNAME.a */
  int verbose;           /* -v */
  int quiet;             /* -q */
  int tune_only;         /* `chamcc tune`: tune, build nothing */
  const char *log;       /* --log FILE (NULL: the default log) */
  const char *tuner;     /* --tuner NAME ("none": measure nothing) */
  int trials;            /* --trials N per task (0: the default budget) */
  unsigned seed;         /* --seed S */
  const char *runner;    /* --runner HOST:PORT: measure on a chamcc-runner there */
  const char *runner_key; /* --runner-key FILE: the key that runner asks for */
  gr_input_shape shapes[16]; /* --input-shape NAME=DIMS, repeatable */
  int n_shapes;
} options;

static void usage(FILE *f) {
  fprintf(f,
          "usage: chamcc MODEL.onnx -o libNAME.a [options]    build (tuning what the log lacks)\n"
          "       chamcc tune MODEL.onnx [options]             tune only\n"
          "       chamcc report LOG... -o FILE.svg              tuning curves and a table\n"
          "\n"
          "Compiles an ONNX model into a static library libNAME.a and a header NAME.h\n"
          "(written beside the library). The library needs only libc, libm and pthreads.\n"
          "Kernels are tuned on this machine with the Chameleon / AutoTVM search; every\n"
          "measurement goes to a tuning log, and builds use the best config per kernel.\n"
          "\n"
          "options:\n"
          "  -o FILE            output archive (default: lib<model>.a)\n"
          "  --name NAME        symbol prefix NAME_ (default: from the output file name)\n"
          "  --target TRIPLE    x86_64-linux-gnu (default: this machine) or aarch64-linux-gnu\n"
          "  --cpu CPU          target CPU (default: this machine's, or 'generic')\n"
          "  --threads N        threads used by the library (default: all cores)\n"
          "  --input-shape NAME=D0,D1,...\n"
          "                     compile input NAME for this shape (fixes its symbolic\n"
          "                     dimensions; repeatable). A symbolic batch is 1 otherwise\n"
          "  --log FILE         tuning log to read and append to\n"
          "                     (default: $XDG_CACHE_HOME/chamcc/tuning.jsonl)\n"
          "  --tuner NAME       %s, or none (measure nothing;\n"
          "                     build from the log's best configs and defaults)\n"
          "  --trials N         measurements per task (default: a budget of 24 per task,\n"
          "                     shared in proportion to each task's FLOPs)\n"
          "  --seed S           random seed of the search (default 1)\n"
          "  --runner HOST:PORT measure on the target through chamcc-runner listening there\n"
          "                     (needed to tune for another machine, e.g. --target aarch64-...)\n"
          "  --runner-key FILE  the key file given to that runner's --key-file\n"
          "  --emit-llvm FILE   also write the optimized LLVM IR\n"
          "  --dump-ir FILE     also write the loop IR of every kernel\n"
          "  --emit-c DIR       write the library as C source into DIR instead (kernels,\n"
          "                     runtime, weights, NAME.h, Makefile, CMakeLists.txt): any C\n"
          "                     compiler builds libNAME.a there; --target riscv64-linux-gnu\n"
          "                     is built this way only\n"
          "  -v                 print the compilation plan and timings\n"
          "  -q                 print nothing but errors\n"
          "  --help, --version\n",
          tune_method_names());
}

static _Noreturn void die(const char *msg) {
  fprintf(stderr, "chamcc: %s\n", msg);
  exit(1);
}

static _Noreturn void bad_usage(const char *msg) {
  fprintf(stderr, "chamcc: %s\n(see chamcc --help)\n", msg);
  exit(2);
}

/* libNAME.a -> NAME, made into a C identifier. */
static char *name_from_output(const char *out) {
  const char *base = strrchr(out, '/');
  base = base ? base + 1 : out;
  if (!strncmp(base, "lib", 3) && base[3]) base += 3;
  char *s = chm_strdup(base);
  char *dot = strrchr(s, '.');
  if (dot && dot != s) *dot = 0;
  for (char *p = s; *p; p++)
    if (!isalnum((unsigned char)*p) && *p != '_') *p = '_';
  if (isdigit((unsigned char)s[0]) || !s[0]) {
    char *t = chm_malloc(strlen(s) + 2);
    sprintf(t, "_%s", s);
    free(s);
    s = t;
  }
  return s;
}

static int valid_identifier(const char *s) {
  if (!s[0] || isdigit((unsigned char)s[0])) return 0;
  for (; *s; s++)
    if (!isalnum((unsigned char)*s) && *s != '_') return 0;
  return 1;
}

/* NAME=D0,D1,... (also NAME=[D0,D1,...] or NAME=D0xD1x...) into *s. */
static int parse_shape(char *arg, gr_input_shape *s) {
  char *eq = strrchr(arg, '=');
  if (!eq || eq == arg) return -1;
  *eq = 0;
  s->name = arg;
  s->rank = 0;
  char *p = eq + 1;
  if (*p == '[') p++;
  while (*p && *p != ']') {
    char *end;
    errno = 0;
    long long v = strtoll(p, &end, 10);
    if (end == p || errno || v < 0 || s->rank == GR_MAX_RANK) return -1;
    s->dims[s->rank++] = v;
    p = end;
    if (*p == ',' || *p == 'x') p++;
    else if (*p && *p != ']') return -1;
  }
  return s->rank == 0 || (*p == ']' && p[1]) ? -1 : 0;
}

static options parse_args(int argc, char **argv) {
  options o = {0};
  o.seed = 1;
  if (argc > 1 && !strcmp(argv[1], "tune")) {
    o.tune_only = 1;
    argv[1] = argv[0];
    argv++;
    argc--;
  }
  enum { OPT_NAME = 256, OPT_TARGET, OPT_CPU, OPT_THREADS, OPT_LLVM, OPT_DUMP, OPT_HELP, OPT_VERSION,
         OPT_LOG, OPT_TUNER, OPT_TRIALS, OPT_SEED, OPT_RUNNER, OPT_RUNNER_KEY, OPT_SHAPE, OPT_EMIT_C };
  static const struct option longs[] = {
      {"name", required_argument, 0, OPT_NAME},       {"target", required_argument, 0, OPT_TARGET},
      {"cpu", required_argument, 0, OPT_CPU},         {"threads", required_argument, 0, OPT_THREADS},
      {"emit-llvm", required_argument, 0, OPT_LLVM},  {"dump-ir", required_argument, 0, OPT_DUMP},
      {"help", no_argument, 0, OPT_HELP},             {"version", no_argument, 0, OPT_VERSION},
      {"log", required_argument, 0, OPT_LOG},         {"tuner", required_argument, 0, OPT_TUNER},
      {"trials", required_argument, 0, OPT_TRIALS},   {"seed", required_argument, 0, OPT_SEED},
      {"runner", required_argument, 0, OPT_RUNNER},   {"runner-key", required_argument, 0, OPT_RUNNER_KEY},
      {"input-shape", required_argument, 0, OPT_SHAPE}, {"emit-c", required_argument, 0, OPT_EMIT_C},
      {0, 0, 0, 0}};
  opterr = 0;
  int c;
  while ((c = getopt_long(argc, argv, ":o:vqh", longs, NULL)) != -1) {
    char *end;
    switch (c) {
    case 'o': o.output = optarg; break;
    case 'v': o.verbose = 1; break;
    case 'q': o.quiet = 1; break;
    case 'h': case OPT_HELP: usage(stdout); exit(0);
    case OPT_VERSION: printf("chamcc %s\n", CHAMCC_VERSION); exit(0);
    case OPT_NAME: o.name = optarg; break;
    case OPT_TARGET: o.triple = optarg; break;
    case OPT_CPU: o.cpu = optarg; break;
    case OPT_LLVM: o.emit_llvm = optarg; break;
    case OPT_DUMP: o.dump_ir = optarg; break;
    case OPT_EMIT_C: o.emit_c = optarg; break;
    case OPT_THREADS:
      if (chm_parse_int(optarg, 0, 1024, &o.threads)) bad_usage("--threads needs a number between 0 and 1024");
      break;
    case OPT_LOG: o.log = optarg; break;
    case OPT_TUNER:
      o.tuner = optarg;
      if (strcmp(optarg, "none") && !tune_method_find(optarg)) {
        char msg[256];
        snprintf(msg, sizeof msg, "unknown tuner '%s' (known: %s, none)", optarg, tune_method_names());
        bad_usage(msg);
      }
      break;
    case OPT_TRIALS:
      if (chm_parse_int(optarg, 1, 1000000, &o.trials)) bad_usage("--trials needs a positive number");
      break;
    case OPT_SEED:
      errno = 0;
      o.seed = (unsigned)strtoul(optarg, &end, 10);
      if (errno || *end) bad_usage("--seed needs a number");
      break;
    case OPT_RUNNER: o.runner = optarg; break;
    case OPT_RUNNER_KEY: o.runner_key = optarg; break;
    case OPT_SHAPE:
      if (o.n_shapes == (int)(sizeof o.shapes / sizeof *o.shapes)) bad_usage("too many --input-shape options");
      if (parse_shape(optarg, &o.shapes[o.n_shapes++]))
        bad_usage("--input-shape needs NAME=D0,D1,... (dimensions >= 0, at most 8), e.g. input=1,3,224,224");
      break;
    case ':': {
      char msg[128];
      snprintf(msg, sizeof msg, "option '%s' needs an argument", argv[optind - 1]);
      bad_usage(msg);
    }
    default: {
      char msg[256];
      snprintf(msg, sizeof msg, "unknown option '%s'", argv[optind - 1]);
      bad_usage(msg);
    }
    }
  }
  if (optind >= argc) bad_usage("no input model given");
  if (optind + 1 < argc) bad_usage("more than one input model given");
  o.model = argv[optind];
  if (o.name && !valid_identifier(o.name)) bad_usage("--name must be a C identifier");
  if (o.runner_key && !o.runner) bad_usage("--runner-key goes with --runner HOST:PORT");
  return o;
}

static void print_input_shapes(const gr_graph *g) {
  for (int i = 0; i < g->n_inputs; i++) {
    const gr_tensor *t = &g->tensors[g->inputs[i]];
    fprintf(stderr, "chamcc: input '%s' compiled for [", t->name);
    for (int d = 0; d < t->rank; d++) fprintf(stderr, "%s%lld", d ? "," : "", (long long)t->shape[d]);
    fprintf(stderr, "]\n");
  }
}

/* Writes libNAME.a: the kernels' object and the runtime for the target. */
static int write_archive(const options *o, const cg_target *t, const char *name,
                         unsigned char *obj, size_t size, chm_err *e) {
  size_t rt_size = 0;
  const unsigned char *rt = chm_rt_object(t->is_aarch64 ? "aarch64-linux-gnu" : "x86_64-linux-gnu", &rt_size);
  if (!rt) return chm_errorf(e, "this chamcc was built without the runtime for %s", t->triple);
  char member[300];
  snprintf(member, sizeof member, "%s.o", name);
  chm_ar_member m[2] = {{member, obj, size}, {"chamcc_rt.o", rt, rt_size}};
  return chm_ar_write(o->output, m, 2, e);
}

static char *header_path(const char *output, const char *name) {
  const char *slash = strrchr(output, '/');
  size_t dir = slash ? (size_t)(slash - output + 1) : 0;
  char *p = chm_malloc(dir + strlen(name) + 3);
  memcpy(p, output, dir);
  sprintf(p + dir, "%s.h", name);
  return p;
}

/* ---- checks before any work ---- */

/* The folder a path names a file in ("." when it has none). */
static char *folder_of(const char *path) {
  const char *slash = strrchr(path, '/');
  if (!slash) return chm_strdup(".");
  size_t n = slash == path ? 1 : (size_t)(slash - path);
  char *d = chm_malloc(n + 1);
  memcpy(d, path, n);
  d[n] = 0;
  return d;
}

/* Whether a file can be written at path (named `what` in the message): its
 * folder exists and takes new files, and path is no folder nor a file that
 * cannot be written. */
static int check_writable(const char *what, const char *path, chm_err *e) {
  struct stat st;
  char *dir = folder_of(path);
  int rc = 0;
  if (stat(dir, &st) || !S_ISDIR(st.st_mode))
    rc = chm_errorf(e, "%s %s: the folder %s does not exist", what, path, dir);
  else if (access(dir, W_OK | X_OK))
    rc = chm_errorf(e, "%s %s: cannot write in %s: %s", what, path, dir, strerror(errno));
  else if (!stat(path, &st) && S_ISDIR(st.st_mode))
    rc = chm_errorf(e, "%s %s is a folder", what, path);
  else if (!access(path, F_OK) && access(path, W_OK))
    rc = chm_errorf(e, "%s %s: %s", what, path, strerror(errno));
  free(dir);
  return rc;
}

/* --emit-c DIR: a folder we may write in, or one we can make. */
static int check_emit_dir(const char *dir, chm_err *e) {
  struct stat st;
  if (stat(dir, &st)) return check_writable("--emit-c", dir, e);
  if (!S_ISDIR(st.st_mode)) return chm_errorf(e, "--emit-c %s is not a folder", dir);
  if (access(dir, W_OK | X_OK)) return chm_errorf(e, "--emit-c %s: %s", dir, strerror(errno));
  return 0;
}

/* The runner answers, and takes our key if it asks for one. */
static int check_runner(const options *o, chm_err *e) {
  if (o->runner_key) {
    static rmt_key key;
    char why[512];
    if (rmt_key_load(o->runner_key, &key, why, sizeof why)) return chm_errorf(e, "--runner-key: %s", why);
    rmt_use_key(&key);
  }
  return rmt_probe(o->runner, e);
}

/* Everything that can fail before the model is read: the files to write
 * (library, header, log, dumps, the --emit-c folder) and the runner. */
static int check_before_work(const options *o, const char *hpath, const char *logpath, int measure, chm_err *e) {
  if (o->output && (check_writable("-o", o->output, e) || check_writable("the header", hpath, e))) return -1;
  if (check_writable("the tuning log", logpath, e)) return -1;
  if (o->emit_llvm && check_writable("--emit-llvm", o->emit_llvm, e)) return -1;
  if (o->dump_ir && check_writable("--dump-ir", o->dump_ir, e)) return -1;
  if (o->emit_c && check_emit_dir(o->emit_c, e)) return -1;
  return measure && o->runner ? check_runner(o, e) : 0;
}

/* ---- tuning ---- */

static volatile int interrupted; /* the signal (SIGINT / SIGTERM) that asked to stop after the current measurement */

static void on_signal(int sig) { interrupted = sig; }

/* Ctrl-C or SIGTERM while tuning: finish the measurement in flight (its
 * child ignores the terminal), write it, stop. A second one ends chamcc at
 * once (SA_RESETHAND); the log still holds only whole records. */
static void catch_interrupts(void) {
  struct sigaction sa = {0};
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_RESTART | SA_RESETHAND;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
}

typedef struct progress_state {
  const options *o;
  const int *budget;   /* per task */
  int n_tasks;
  int total, done0;    /* measurements to make, already in the log at start */
  int done;            /* made so far (all tasks) */
  double t0;           /* start */
  int tty;             /* stderr is a terminal */
  int last_task;       /* task of the last line printed */
} progress_state;

static void show_progress(void *ctx, const tune_progress *p) {
  progress_state *ps = ctx;
  ps->done++;
  if (ps->o->quiet) return;
  double el = chm_now() - ps->t0, rate = ps->done / (el > 0 ? el : 1e-9);
  double eta = (ps->total - ps->done) / (rate > 0 ? rate : 1e-9);
  int finished = p->done >= p->budget;
  if (!ps->tty && !finished && p->done % 16) return;
  char name[64];
  tune_task_name(p->task, name, sizeof name);
  fprintf(stderr, "%stune: task %d/%d %-26.26s %4d/%-4d best %7.1f GFLOP/s  %.1f cand/s  ETA %dm%02ds%s",
          ps->tty ? "\r" : "", p->task_i + 1, p->n_tasks, name, p->done, p->budget, p->best_gflops, rate,
          (int)eta / 60, (int)eta % 60, ps->tty ? "\033[K" : "\n");
  if (ps->tty && finished) fputc('\n', stderr);
}

static void warn_log(void *ctx, const char *msg) {
  const options *o = ctx;
  if (!o->quiet) fprintf(stderr, "chamcc: warning: %s\n", msg);
}

static void warn_tune(void *ctx, const char *msg) {
  progress_state *ps = ctx;
  if (!ps->o->quiet) fprintf(stderr, "%schamcc: %s\n", ps->tty ? "\n" : "", msg);
}

/* The default log: $XDG_CACHE_HOME/chamcc/tuning.jsonl or ~/.cache/... */
static char *default_log(void) {
  const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
  char dir[4096];
  if (xdg && xdg[0]) snprintf(dir, sizeof dir, "%s/chamcc", xdg);
  else snprintf(dir, sizeof dir, "%s/.cache/chamcc", home && home[0] ? home : ".");
  char parent[4096];
  snprintf(parent, sizeof parent, "%.*s", (int)(strrchr(dir, '/') - dir), dir);
  mkdir(parent, 0755);
  mkdir(dir, 0755);
  char *p = chm_malloc(strlen(dir) + 20);
  sprintf(p, "%s/tuning.jsonl", dir);
  return p;
}

/* Tunes the model's tasks that the log lacks; returns or dies (saying how
 * many measurements it saved). */
static void tune_model(const options *o, const gr_graph *g, const cg_target *t, tune_log *log,
                       const char *logpath) {
  chm_err e = {0};
  tune_task *tasks = NULL;
  int n = 0;
  if (tune_collect_tasks(g, t, o->threads, &tasks, &n, &e)) die(e.msg);
  int *budget = chm_malloc((size_t)(n ? n : 1) * sizeof(int));
  tune_budgets(tasks, n, 24 * n, o->trials, 8, budget);
  progress_state ps = {o, budget, n, 0, 0, 0, chm_now(), isatty(2), -1};
  for (int i = 0; i < n; i++) {
    int have = tune_log_count(log, tasks[i].key);
    ps.total += have < budget[i] ? budget[i] - have : 0;
  }
  catch_interrupts(); /* before saying so: a test waits for the line below */
  if (!o->quiet && ps.total)
    fprintf(stderr, "chamcc: tuning %d tasks with %s: %d measurements to make (log has the rest)\n", n,
            o->tuner ? o->tuner : "chameleon", ps.total);
  tune_session s = {0};
  s.log = log;
  s.target = t;
  tune_measure_opts mo = tune_measure_defaults();
  mo.nthreads = o->threads;
  s.meter = o->runner ? tune_meter_remote(t, &mo, o->runner) : tune_meter_local(t, &mo);
  s.method = tune_method_find(o->tuner ? o->tuner : "chameleon");
  s.seed = o->seed;
  s.batch = 64;
  s.warm_start = 1; /* learn from the log's other tasks until a task has its own data */
  s.confirm = 4;    /* measure the 4 best again before trusting one */
  s.progress = show_progress;
  s.progress_ctx = &ps;
  s.warn = warn_tune;
  s.stop = &interrupted;
  int rc = 0, size0 = tune_log_size(log);
  for (int i = 0; i < n && !rc && !interrupted; i++) rc = tune_task_run(&s, &tasks[i], budget[i], i, n, &e);
  tune_meter_free(s.meter);
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  free(budget);
  free(tasks);
  if (!rc && !interrupted) return;
  int saved = tune_log_size(log) - size0;
  if (rc) fprintf(stderr, "%schamcc: %s\n", ps.tty ? "\n" : "", e.msg);
  else fprintf(stderr, "%schamcc: interrupted (%s)\n", ps.tty ? "\n" : "", strsignal(interrupted));
  fprintf(stderr, "chamcc: %d measurements saved in %s; the same command continues from there\n", saved, logpath);
  exit(rc ? 1 : 128 + interrupted);
}

/* chamcc report LOG... -o FILE.svg: curves per task and tuner, a table on stdout. */
static int report_main(int argc, char **argv) {
  const char *svg = NULL;
  const char **logs = chm_calloc((size_t)argc, sizeof *logs);
  int n = 0, from_scratch = 0;
  for (int i = 2; i < argc; i++) {
    if (!strcmp(argv[i], "-o") && i + 1 < argc) svg = argv[++i];
    else if (!strcmp(argv[i], "--from-scratch")) from_scratch = 1;
    else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      printf("usage: chamcc report LOG... -o FILE.svg [--from-scratch]\n"
             "Best-so-far GFLOP/s against measurements, one curve per tuner and one panel\n"
             "per task, from tuning logs (one log per run, e.g. per seed); a summary\n"
             "table in markdown on stdout.\n"
             "  --from-scratch  leave out each run's first measurement (the default\n"
             "                  config, which every run measures first): the search alone\n");
      exit(0);
    } else if (argv[i][0] == '-') {
      char msg[256];
      snprintf(msg, sizeof msg, "report: unknown option '%s'", argv[i]);
      bad_usage(msg);
    } else logs[n++] = argv[i];
  }
  if (!n) bad_usage("report: no tuning log given");
  if (!svg) bad_usage("report: -o FILE.svg is required");
  chm_err e = {0};
  if (tune_report(logs, n, from_scratch, svg, stdout, &e)) die(e.msg);
  fprintf(stderr, "chamcc: wrote %s\n", svg);
  free(logs);
  return 0;
}

int main(int argc, char **argv) {
  if (argc > 1 && !strcmp(argv[1], "report")) return report_main(argc, argv);
  options o = parse_args(argc, argv);
  chm_err e = {0};
  double t0 = chm_now();
  char *default_out = NULL;
  if (o.emit_c && (o.output || o.tune_only)) bad_usage("--emit-c DIR writes a source tree, not -o libNAME.a");
  if (!o.output && !o.tune_only && !o.emit_c) {
    default_out = name_from_output(o.model);
    char *p = chm_malloc(strlen(default_out) + 6);
    sprintf(p, "lib%s.a", default_out);
    free(default_out);
    o.output = default_out = p;
  }
  char *name = o.name ? chm_strdup(o.name) : name_from_output(o.output ? o.output : o.model);

  cg_target target;
  if (cg_target_init(&target, o.triple, o.cpu, &e)) die(e.msg);
  if (target.is_riscv64 && !o.emit_c) die("riscv64 is built only as C source: add --emit-c DIR");
  if (target.is_riscv64 && o.runner) die("no tuning for riscv64 yet (candidates are built by LLVM): drop --runner");
  cg_target host;
  if (cg_target_init(&host, NULL, NULL, &e)) die(e.msg);
  int native = !strcmp(host.triple, target.triple) && !strcmp(host.cpu, target.cpu);
  int measure = !(o.tuner && !strcmp(o.tuner, "none"));
  if (o.tune_only && !native && !o.runner) {
    char msg[512];
    snprintf(msg, sizeof msg, "cannot tune for %s (%s) on this machine: pass --runner HOST:PORT of a "
             "chamcc-runner on the target, or tune there and use its log with --log", target.triple, target.cpu);
    die(msg);
  }

  char *logpath = o.log ? chm_strdup(o.log) : default_log();
  char *hpath = o.output ? header_path(o.output, name) : NULL;
  if (check_before_work(&o, hpath, logpath, measure, &e)) die(e.msg);

  gr_graph *g = gr_load_shapes(o.model, o.shapes, o.n_shapes, &e);
  if (!g) die(e.msg);
  double t_load = chm_now() - t0;
  if (g->notice && !o.quiet) fprintf(stderr, "chamcc: %s: %s\n", o.model, g->notice);
  if (o.verbose) print_input_shapes(g);
  if (o.verbose) gr_dump(g, stderr);

  tune_log *log = tune_log_open(logpath, target.triple, target.cpu, warn_log, &o, &e);
  if (!log) die(e.msg);
  if (tune_log_stale(log) && !o.quiet)
    fprintf(stderr,
            "chamcc: %s: %d measurements of an older chamcc's kernels (for %s, %s) are "
            "ignored\n",
            logpath, tune_log_stale(log), target.triple, target.cpu);
  if (measure && (native || o.runner)) tune_model(&o, g, &target, log, logpath);
  if (o.tune_only) {
    if (!o.quiet) fprintf(stderr, "chamcc: tuning log %s is complete for %s\n", logpath, o.model);
    tune_log_close(log);
    gr_free(g);
    free(logpath);
    free(hpath);
    free(name);
    return 0;
  }

  tune_log_use use = {log, 0, 0};
  mdl_tuning tu = tune_log_provider(&use);
  mdl_options mo = {name, &target, o.threads, o.emit_llvm, o.dump_ir, o.verbose, &tu, 0, o.emit_c};
  mdl_stats st;
  unsigned char *obj = NULL;
  size_t size = 0;
  if (mdl_compile(g, &mo, &obj, &size, &st, &e)) die(e.msg);
  if (o.emit_c) {
    if (!o.quiet)
      fprintf(stderr, "chamcc: wrote the C source of lib%s.a in %s (%s, %d lanes, %d kernels, %.1f MB weights): "
              "run make there\n", name, o.emit_c, target.triple, target.lanes, st.n_kernels,
              (double)st.weight_bytes / 1e6);
    tune_log_close(log);
    gr_free(g);
    free(logpath);
    free(name);
    return 0;
  }

  if (write_archive(&o, &target, name, obj, size, &e)) die(e.msg);
  if (mdl_write_header(g, name, hpath, &e)) {
    unlink(o.output);
    die(e.msg);
  }
  if (!o.quiet)
    fprintf(stderr,
            "chamcc: wrote %s and %s (%s, %s, %d kernels, %d calls, %.1f MB weights, "
            "%.1f MB workspace) in %.2f s\n",
            o.output, hpath, target.triple, target.cpu, st.n_kernels, st.n_calls,
            (double)st.weight_bytes / 1e6, (double)st.ws_bytes / 1e6, chm_now() - t0);
  if (!o.quiet)
    fprintf(stderr, "chamcc: %d of %d tunable layers use a tuned config from %s (%s, %s)\n", use.from_log,
            use.layers, logpath, target.triple, target.cpu);
  if (o.verbose)
    fprintf(stderr, "chamcc: load %.2f s, lower %.2f s, optimize %.2f s, codegen %.2f s\n", t_load,
            st.lower_s, st.opt_s, st.emit_s);
  tune_log_close(log);
  free(logpath);
  free(obj);
  free(hpath);
  free(name);
  free(default_out);
  gr_free(g);
  return 0;
}
