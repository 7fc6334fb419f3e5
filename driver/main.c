/*
 * main.c — the chamcc command line: the only place that prints to the user
 * and calls exit().
 *
 *   chamcc MODEL.onnx -o libNAME.a [options]
 *   chamcc tune MODEL.onnx... [--shard K/N] [options]
 *
 * Loads and normalizes the graph, lowers it to one LLVM module, and writes
 * libNAME.a (the kernels plus the runtime for the target) and NAME.h beside
 * it. Every failure is one line on stderr, "chamcc: FILE: ...", and a
 * non-zero exit status; no partial output is left behind. What can be
 * checked without the model (target, CPU, the paths to write, the runner)
 * is checked before the model is read: a bad -o must not cost a tuning run.
 */
#include "chamcc/archive.h"
#include "chamcc/rt_object.h"
#include "chamcc/cg.h"
#include "chamcc/graph.h"
#include "chamcc/model.h"
#include "chamcc/remote.h"
#include "chamcc/tune.h"
#include "report.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
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
  const char *model;     /* input .onnx (the first of models) */
  char **models;         /* every model given (several only for `chamcc tune`) */
  int n_models;
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
  char **logs;           /* --log FILE or FOLDER, repeatable (none: the default log) */
  int n_logs;
  const char *tuner;     /* --tuner NAME ("none": measure nothing) */
  int trials;            /* --trials N per task (0: the budget below) */
  int budget;            /* --budget N: measurements per task on average (0: 24) */
  unsigned seed;         /* --seed S */
  double repeat_ms;      /* --repeat-ms MS: how long one timed repeat lasts (0: meas_defaults') */
  const char *runner;    /* --runner HOST:PORT: measure on a chamcc-runner there */
  const char *runner_key; /* --runner-key FILE: the key that runner asks for */
  const rmt_key *key;    /* its contents, once loaded (check_runner) */
  gr_input_shape shapes[16]; /* --input-shape NAME=DIMS, repeatable */
  int n_shapes;
  int shard_k, shard_n;  /* --shard K/N: tune share K (0-based) of N; shard_n = 0: all */
  int shard_count;       /* --shard-count N: N for JOB_COMPLETION_INDEX */
  const char *shard_from; /* what chose the shard ("--shard", "SLURM_ARRAY_TASK_ID=..."), NULL: none */
  int list_tasks;        /* --list-tasks: print the (shard's) tasks, tune nothing */
  int print_configs;     /* --print-configs: each tunable layer's config, on stdout */
  int winograd;          /* --winograd: mdl_options.winograd */
} options;

static void usage(FILE *f) {
  fprintf(f,
          "usage: chamcc MODEL.onnx -o libNAME.a [options]    build (tuning what the log lacks)\n"
          "       chamcc tune MODEL.onnx... [options]          tune only (the tasks of all the models)\n"
          "       chamcc report LOG... -o FILE.svg              tuning curves and a table\n"
          "       chamcc log merge OUT.jsonl LOG...             join the logs of many machines\n"
          "       chamcc log stats LOG...                       tasks, measurements, best GFLOP/s\n"
          "\n"
          "Compiles an ONNX model into a static library libNAME.a and a header NAME.h\n"
          "(written beside the library). The library needs only libc, libm and pthreads.\n"
          "Kernels are tuned on this machine with the Chameleon / AutoTVM search; every\n"
          "measurement goes to a tuning log, and builds use the best config per kernel.\n"
          "\n"
          "options:\n"
          "  -o FILE            output archive (default: lib<model>.a)\n"
          "  --name NAME        symbol prefix NAME_ (default: from the output file name)\n"
          "  --target TRIPLE    x86_64-linux-gnu (default: this machine), aarch64-linux-gnu\n"
          "                     or riscv64-linux-gnu (RVV 1.0)\n"
          "  --cpu CPU          target CPU (default: this machine's, or 'generic'; for\n"
          "                     riscv64 'generic' is VLEN 128, 'zvl256b' VLEN 256)\n"
          "  --threads N        threads used by the library (default: all cores)\n"
          "  --winograd auto|off|2|4\n"
          "                     3x3 convolutions by Winograd's F(m x m, 3 x 3): fewer\n"
          "                     multiplications, 1.8x (m = 2) or 4x (m = 4) the layer's weights\n"
          "                     and a larger workspace. auto (default): m = 4 where the\n"
          "                     output has 4 tiles a side, else 2; off: direct only\n"
          "  --input-shape NAME=D0,D1,...\n"
          "                     compile input NAME for this shape (fixes its symbolic\n"
          "                     dimensions; repeatable). A symbolic batch is 1 otherwise\n"
          "  --log FILE|FOLDER  tuning log to read and append to (default:\n"
          "                     $XDG_CACHE_HOME/chamcc/tuning.jsonl). Repeatable: all are\n"
          "                     read, new measurements go to the first; a folder means its\n"
          "                     *.jsonl files, and appending to FOLDER/tuning.jsonl\n"
          "  --tuner NAME       %s, or none (measure nothing;\n"
          "                     build from the log's best configs and defaults)\n"
          "  --budget N         measurements per task on average, shared in proportion to\n"
          "                     each task's FLOPs, at least 8 each (default 24)\n"
          "  --trials N         measurements per task, the same for every task (instead\n"
          "                     of --budget)\n"
          "  --seed S           random seed of the search (default 1)\n"
          "  --repeat-ms MS     each timed repeat of a candidate (and of the reference\n"
          "                     beside it) runs the kernel for at least MS ms (default 20;\n"
          "                     less measures faster and reads noisier)\n"
          "  --runner HOST:PORT measure on the target through chamcc-runner listening there\n"
          "                     (needed to tune for another machine, e.g. --target aarch64-...\n"
          "                     or riscv64-...);\n"
          "                     HOST:PORT,HOST:PORT,... spreads candidates over several boards\n"
          "                     of the same CPU\n"
          "  --runner-key FILE  the key file given to that runner's --key-file\n"
          "\n"
          "tune options (a model zoo on many machines):\n"
          "  --shard K/N        tune share K (0 <= K < N) of the distinct tasks of all the\n"
          "                     models, split by budget into N near-equal shares; the same\n"
          "                     command on N machines tunes every task once. The log gets\n"
          "                     .shardK-of-N before its extension (tuning.shard0-of-4.jsonl)\n"
          "                     Without --shard: SLURM_ARRAY_TASK_ID / SLURM_ARRAY_TASK_COUNT\n"
          "                     of a Slurm job array, or Kubernetes' JOB_COMPLETION_INDEX\n"
          "                     with --shard-count; --shard 0/1 tunes everything\n"
          "  --shard-count N    the share count for JOB_COMPLETION_INDEX (the Job's completions)\n"
          "  --list-tasks       print the tasks (of the shard) with their budgets; tune nothing\n"
          "  --emit-llvm FILE   also write the optimized LLVM IR\n"
          "  --dump-ir FILE     also write the loop IR of every kernel\n"
          "  --print-configs    print each tunable layer's task, and its config: from the\n"
          "                     log (option indices) or the default (on stdout)\n"
          "  --emit-c DIR       write the library as C source into DIR instead (kernels,\n"
          "                     runtime, weights, NAME.h, Makefile, CMakeLists.txt): any C\n"
          "                     compiler builds libNAME.a there (tuned as -o would be)\n"
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

enum { SHARD_MAX = 100000 }; /* shares of a job array */

/* K/N with 0 <= K < N. */
static int parse_shard(const char *arg, int *k, int *n) {
  char buf[64];
  snprintf(buf, sizeof buf, "%s", arg);
  char *slash = strchr(buf, '/');
  if (!slash) return -1;
  *slash = 0;
  return chm_parse_int(slash + 1, 1, SHARD_MAX, n) || chm_parse_int(buf, 0, *n - 1, k) ? -1 : 0;
}

static options parse_args(int argc, char **argv) {
  options o = {0};
  o.seed = 1;
  o.logs = chm_calloc((size_t)argc, sizeof *o.logs);
  if (argc > 1 && !strcmp(argv[1], "tune")) {
    o.tune_only = 1;
    argv[1] = argv[0];
    argv++;
    argc--;
  }
  enum { OPT_NAME = 256, OPT_TARGET, OPT_CPU, OPT_THREADS, OPT_LLVM, OPT_DUMP, OPT_HELP, OPT_VERSION,
         OPT_LOG, OPT_TUNER, OPT_TRIALS, OPT_SEED, OPT_RUNNER, OPT_RUNNER_KEY, OPT_SHAPE, OPT_SHARD,
         OPT_SHARD_COUNT, OPT_LIST_TASKS, OPT_PRINT_CONFIGS, OPT_EMIT_C, OPT_WINOGRAD, OPT_BUDGET, OPT_REPEAT_MS };
  static const struct option longs[] = {
      {"name", required_argument, 0, OPT_NAME},       {"target", required_argument, 0, OPT_TARGET},
      {"cpu", required_argument, 0, OPT_CPU},         {"threads", required_argument, 0, OPT_THREADS},
      {"emit-llvm", required_argument, 0, OPT_LLVM},  {"dump-ir", required_argument, 0, OPT_DUMP},
      {"help", no_argument, 0, OPT_HELP},             {"version", no_argument, 0, OPT_VERSION},
      {"log", required_argument, 0, OPT_LOG},         {"tuner", required_argument, 0, OPT_TUNER},
      {"trials", required_argument, 0, OPT_TRIALS},   {"seed", required_argument, 0, OPT_SEED},
      {"runner", required_argument, 0, OPT_RUNNER},   {"runner-key", required_argument, 0, OPT_RUNNER_KEY},
      {"input-shape", required_argument, 0, OPT_SHAPE}, {"shard", required_argument, 0, OPT_SHARD},
      {"shard-count", required_argument, 0, OPT_SHARD_COUNT}, {"list-tasks", no_argument, 0, OPT_LIST_TASKS},
      {"print-configs", no_argument, 0, OPT_PRINT_CONFIGS},
      {"emit-c", required_argument, 0, OPT_EMIT_C},   {"winograd", required_argument, 0, OPT_WINOGRAD},
      {"budget", required_argument, 0, OPT_BUDGET},   {"repeat-ms", required_argument, 0, OPT_REPEAT_MS},
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
    case OPT_WINOGRAD:
      if (!strcmp(optarg, "auto")) o.winograd = MDL_WINO_AUTO;
      else if (!strcmp(optarg, "off")) o.winograd = MDL_WINO_OFF;
      else if (!strcmp(optarg, "2") || !strcmp(optarg, "4")) o.winograd = atoi(optarg);
      else bad_usage("--winograd needs auto, off, 2 or 4");
      break;
    case OPT_THREADS:
      if (chm_parse_int(optarg, 0, 1024, &o.threads)) bad_usage("--threads needs a number between 0 and 1024");
      break;
    case OPT_LOG: o.logs[o.n_logs++] = optarg; break;
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
    case OPT_BUDGET:
      if (chm_parse_int(optarg, 1, 1000000, &o.budget)) bad_usage("--budget needs a positive number");
      break;
    case OPT_REPEAT_MS:
      if (chm_parse_double(optarg, 0.1, 10000, &o.repeat_ms))
        bad_usage("--repeat-ms needs a number from 0.1 to 10000");
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
    case OPT_SHARD:
      if (parse_shard(optarg, &o.shard_k, &o.shard_n))
        bad_usage("--shard needs K/N with 0 <= K < N <= 100000, e.g. --shard 0/4");
      o.shard_from = "--shard";
      break;
    case OPT_SHARD_COUNT:
      if (chm_parse_int(optarg, 1, SHARD_MAX, &o.shard_count)) bad_usage("--shard-count needs a positive number");
      break;
    case OPT_LIST_TASKS: o.list_tasks = 1; break;
    case OPT_PRINT_CONFIGS: o.print_configs = 1; break;
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
  if (optind + 1 < argc && !o.tune_only) bad_usage("more than one input model given (`chamcc tune` takes several)");
  o.models = argv + optind;
  o.n_models = argc - optind;
  o.model = o.models[0];
  if (!o.tune_only && (o.shard_n || o.shard_count || o.list_tasks))
    bad_usage("--shard, --shard-count and --list-tasks go with `chamcc tune`");
  if (o.tune_only && o.print_configs) bad_usage("--print-configs goes with a build, not `chamcc tune`");
  if (o.n_models > 1 && o.n_shapes) bad_usage("--input-shape goes with one model");
  if (o.name && !valid_identifier(o.name)) bad_usage("--name must be a C identifier");
  if (o.runner_key && !o.runner) bad_usage("--runner-key goes with --runner HOST:PORT");
  if (o.trials && o.budget) bad_usage("give --budget (shared by FLOPs) or --trials (per task), not both");
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

/* Writes libNAME.a: the kernels' object, the weights' and the runtime for the target. */
static int write_archive(const options *o, const cg_target *t, const char *name, const mdl_result *r,
                         chm_err *e) {
  size_t rt_size = 0;
  const unsigned char *rt = chm_rt_object(t->triple, &rt_size);
  if (!rt) return chm_errorf(e, "this chamcc was built without the runtime for %s", t->triple);
  char member[300];
  snprintf(member, sizeof member, "%s.o", name);
  chm_ar_member m[3] = {{.name = member, .data = r->obj, .size = r->size},
                        {.name = "chamcc_rt.o", .data = rt, .size = rt_size}, r->weights};
  return chm_ar_write(o->output, m, r->weights.name ? 3 : 2, e);
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

/* -o libNAME.a: chamcc carries the runtime object for the target (a cross
 * target's is built with its cross gcc when chamcc is configured). */
static int check_runtime(const cg_target *t, chm_err *e) {
  if (chm_rt_object(t->triple, NULL)) return 0;
  return chm_errorf(e, "this chamcc was built without the runtime for %s (built with %.*s-linux-gnu-gcc when "
                       "chamcc is configured), so it cannot write a library for it: write C source with --emit-c DIR",
                    t->triple, (int)strcspn(t->triple, "-"), t->triple);
}

/* --emit-c DIR: a folder we may write in, or one we can make. */
static int check_emit_dir(const char *dir, chm_err *e) {
  struct stat st;
  if (stat(dir, &st)) return check_writable("--emit-c", dir, e);
  if (!S_ISDIR(st.st_mode)) return chm_errorf(e, "--emit-c %s is not a folder", dir);
  if (access(dir, W_OK | X_OK)) return chm_errorf(e, "--emit-c %s: %s", dir, strerror(errno));
  return 0;
}

/* What each runner measured, when there are several. */
static void print_runners(const tune_meter *m, double wall_s) {
  const tune_runner_stats *st;
  int n = tune_meter_runners(m, &st);
  for (int i = 0; n > 1 && i < n; i++)
    fprintf(stderr, "chamcc: runner %s: %d candidates measured, %.1f s busy (%.2f per second of tuning)%s\n",
            st[i].addr, st[i].measured, st[i].busy_s, wall_s > 0 ? st[i].measured / wall_s : 0.0,
            st[i].lost ? ", lost during some batches" : "");
}

/* Every runner answers, and takes our key if it asks for one. */
static int check_runner(options *o, chm_err *e) {
  if (o->runner_key) {
    static rmt_key key;
    char why[512];
    if (rmt_key_load(o->runner_key, &key, why, sizeof why)) return chm_errorf(e, "--runner-key: %s", why);
    o->key = &key;
  }
  char list[MEAS_MAX_RUNNERS][MEAS_ADDR_MAX];
  int n = meas_split_runners(o->runner, list, e);
  for (int i = 0; i < n; i++)
    if (rmt_probe(list[i], o->key, e)) return -1;
  return n < 0 ? -1 : 0;
}

/* Everything that can fail before the model is read: the files to write
 * (library, header, log, dumps, the --emit-c folder) and the runner. */
static int check_before_work(options *o, const char *hpath, const char *logpath, int measure, chm_err *e) {
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
  fprintf(stderr, "%stune: task %d/%d %-26.26s %4d/%-4d best %7.1f GFLOP/s (%.1f-%.1f)  %.1f cand/s  ETA %dm%02ds%s",
          ps->tty ? "\r" : "", p->task_i + 1, p->n_tasks, name, p->done, p->budget, p->best_gflops, p->best_lo,
          p->best_hi, rate, (int)eta / 60, (int)eta % 60, ps->tty ? "\033[K" : "\n");
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

/* ---- the logs: several files, folders ---- */

/* PATH with ".shardK-of-N" before its extension (tune.jsonl ->
 * tune.shard1-of-4.jsonl; no extension: appended). */
static char *shard_log_path(const char *path, int k, int n) {
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  const char *dot = strrchr(base, '.');
  size_t stem = dot && dot != base ? (size_t)(dot - path) : strlen(path);
  char *p = chm_malloc(strlen(path) + 40);
  sprintf(p, "%.*s.shard%d-of-%d%s", (int)stem, path, k, n, path + stem);
  return p;
}

/* The logs of a run: one file appended to, others only read. */
typedef struct log_files {
  char *append;             /* where new measurements go */
  CHM_VEC(char *) read;     /* other files, read too */
  char desc[4200];          /* for messages: "PATH" or "PATH and N more logs" */
} log_files;

static int is_folder(const char *path) {
  struct stat st;
  return !stat(path, &st) && S_ISDIR(st.st_mode);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }


/* Adds the *.jsonl files of a folder to v, sorted by name. */
static void add_folder(const char *dir, void *vec) {
  CHM_VEC(char *) *v = vec;
  DIR *d = opendir(dir);
  if (!d) {
    char msg[4200];
    snprintf(msg, sizeof msg, "%s: %s", dir, strerror(errno));
    die(msg);
  }
  int first = v->len;
  for (struct dirent *de; (de = readdir(d));) {
    size_t n = strlen(de->d_name);
    if (n <= 6 || strcmp(de->d_name + n - 6, ".jsonl") || de->d_name[0] == '.') continue;
    char *p = chm_malloc(strlen(dir) + n + 2);
    sprintf(p, "%s/%s", dir, de->d_name);
    if (is_folder(p)) free(p);
    else chm_vec_push(v, p);
  }
  closedir(d);
  if (v->len > first) qsort(v->data + first, (size_t)(v->len - first), sizeof *v->data, cmp_str); /* data may be NULL */
}

/* Adds a --log argument or a log named on the command line: the file, or
 * a folder's *.jsonl files. */
static void add_log_arg(const char *arg, void *vec) {
  CHM_VEC(char *) *v = vec;
  if (is_folder(arg)) add_folder(arg, v);
  else chm_vec_push(v, chm_strdup(arg));
}

static int same_file(const char *a, const char *b) {
  struct stat sa, sb;
  if (stat(a, &sa) || stat(b, &sb)) return !strcmp(a, b);
  return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* The files of the --log options: the first names the file appended to
 * (a folder: FOLDER/tuning.jsonl; none: the default log; a shard's log has
 * .shardK-of-N before the extension); every file named is read (the first
 * one of a shard only if it exists). */
static void resolve_logs(const options *o, log_files *lf) {
  const char *first = o->n_logs ? o->logs[0] : NULL;
  char *append = !first ? default_log() : is_folder(first) ? chm_malloc(strlen(first) + 16) : chm_strdup(first);
  if (first && is_folder(first)) sprintf(append, "%s/tuning.jsonl", first);
  lf->append = o->shard_n > 1 ? shard_log_path(append, o->shard_k, o->shard_n) : chm_strdup(append);
  free(append);
  CHM_VEC(char *) all = {0};
  for (int i = 0; i < o->n_logs; i++)
    if (i > 0 || is_folder(o->logs[i]) || !access(o->logs[i], F_OK)) /* a shard's FILE need not exist */
      add_log_arg(o->logs[i], &all);
  for (int i = 0; i < all.len; i++) {
    int dup = same_file(all.data[i], lf->append);
    for (int j = 0; j < lf->read.len && !dup; j++) dup = same_file(all.data[i], lf->read.data[j]);
    if (dup) free(all.data[i]);
    else chm_vec_push(&lf->read, all.data[i]);
  }
  chm_vec_free(&all);
  if (lf->read.len)
    snprintf(lf->desc, sizeof lf->desc, "%s and %d more log%s", lf->append, lf->read.len, lf->read.len > 1 ? "s" : "");
  else snprintf(lf->desc, sizeof lf->desc, "%s", lf->append);
}

/* The logs to read exist and can be read (before the model is). */
static int check_read_logs(const log_files *lf, chm_err *e) {
  for (int i = 0; i < lf->read.len; i++)
    if (access(lf->read.data[i], R_OK)) return chm_errorf(e, "the tuning log %s: %s", lf->read.data[i], strerror(errno));
  return 0;
}

static void free_logs(log_files *lf) {
  free(lf->append);
  for (int i = 0; i < lf->read.len; i++) free(lf->read.data[i]);
  chm_vec_free(&lf->read);
}

/* Whether TRIPLE and CPU (as records and targets name them) are this
 * machine; fills host either way. */
static int is_host(const char *triple, const char *cpu, cg_target *host) {
  chm_err e = {0};
  return !cg_target_init(host, NULL, NULL, &e) && !strcmp(host->triple, triple) && !strcmp(host->cpu, cpu);
}

/* The log appended to, with the records of the others loaded; says how
 * many records of older kernels it ignores. */
static tune_log *open_logs(const options *o, const log_files *lf, const cg_target *t) {
  chm_err e = {0};
  cg_target host;
  int native = is_host(t->triple, t->cpu, &host);
  /* the library's thread count, when it is known here: records of others are not used */
  int threads = o->threads ? o->threads : native ? chm_num_cpus() : 0;
  tune_log *log = tune_log_open_for(lf->append, t->triple, t->cpu, threads, warn_log, (void *)o, &e);
  if (!log) die(e.msg);
  for (int i = 0; i < lf->read.len; i++)
    if (tune_log_load(log, lf->read.data[i], warn_log, (void *)o, &e)) die(e.msg);
  if (tune_log_stale(log) && !o->quiet)
    fprintf(stderr, "chamcc: %s: %d measurements of an older chamcc's kernels (for %s, %s) are ignored\n",
            lf->desc, tune_log_stale(log), t->triple, t->cpu);
  if (tune_log_other_threads(log) && !o->quiet)
    fprintf(stderr,
            "chamcc: %s: %d measurements on another thread count than %d are not used for this build "
            "(--threads); tuning measures their picks first\n",
            lf->desc, tune_log_other_threads(log), threads);
  return log;
}

/* Tunes tasks[n] until the log holds budget[i] measurements of each;
 * returns or dies (saying how many measurements it saved). */
static void tune_tasks(const options *o, const cg_target *t, tune_log *log, const char *logpath,
                       const tune_task *tasks, const int *budget, int n) {
  chm_err e = {0};
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
  meas_opts mo = meas_defaults();
  mo.nthreads = o->threads;
  mo.key = o->key;
  if (o->repeat_ms > 0) mo.min_repeat_ms = o->repeat_ms;
  /* warm start, confirmed finalists; readings above this machine's FMA peak are not believed */
  tune_session_as_build(&s, o->threads, !o->runner);
  s.meter = o->runner ? tune_meter_remote(t, &mo, o->runner) : tune_meter_local(t, &mo);
  s.method = tune_method_find(o->tuner ? o->tuner : "chameleon");
  s.seed = o->seed;
  s.batch = 64;
  s.progress = show_progress;
  s.progress_ctx = &ps;
  s.warn = warn_tune;
  s.stop = &interrupted;
  int rc = 0, size0 = tune_log_size(log);
  double t_tune = chm_now();
  for (int i = 0; i < n && !rc && !interrupted; i++) rc = tune_task_run(&s, &tasks[i], budget[i], i, n, &e);
  if (!o->quiet) print_runners(s.meter, chm_now() - t_tune);
  tune_meter_free(s.meter);
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  if (!rc && !interrupted) return;
  int saved = tune_log_size(log) - size0;
  if (rc) fprintf(stderr, "%schamcc: %s\n", ps.tty ? "\n" : "", e.msg);
  else fprintf(stderr, "%schamcc: interrupted (%s)\n", ps.tty ? "\n" : "", strsignal(interrupted));
  fprintf(stderr, "chamcc: %d measurements saved in %s; the same command continues from there\n", saved, logpath);
  exit(rc ? 1 : 128 + interrupted);
}

/* Budgets of n tasks: --budget (24) measurements per task on average, in
 * proportion to FLOPs x uses, at least 8 each; or --trials N each. */
static int *task_budgets(const options *o, const tune_task *tasks, int n) {
  int *budget = chm_malloc((size_t)(n ? n : 1) * sizeof(int));
  tune_budgets(tasks, n, (o->budget ? o->budget : 24) * n, o->trials, 8, budget);
  return budget;
}

/* Tunes the model's tasks that the log lacks (a build); returns or dies. */
static void tune_model(const options *o, const gr_graph *g, const cg_target *t, tune_log *log,
                       const char *logpath) {
  chm_err e = {0};
  tune_task *tasks = NULL;
  int n = 0;
  if (tune_collect_tasks(g, t, o->threads, o->winograd, &tasks, &n, &e)) die(e.msg);
  int *budget = task_budgets(o, tasks, n);
  tune_tasks(o, t, log, logpath, tasks, budget, n);
  free(budget);
  free(tasks);
}

/* ---- chamcc tune: a model zoo, and shards of it ---- */

/* An environment variable as a number in [lo, hi] into *v: 1 if set, 0 if
 * unset or empty; dies if it is anything else. */
static int env_int(const char *name, int lo, int hi, int *v) {
  const char *s = getenv(name);
  if (!s || !*s) return 0;
  if (chm_parse_int(s, lo, hi, v)) {
    char msg[256];
    snprintf(msg, sizeof msg, "%s=%.40s is not a number from %d to %d", name, s, lo, hi);
    die(msg);
  }
  return 1;
}

/* A Slurm job array task: share ID - MIN of COUNT, for an array of
 * consecutive indices (--array=A-B); 0 if this is no array task. */
static int shard_from_slurm(options *o, char *from, size_t size) {
  int id, count, min = 0, max = -1, step = 1;
  if (!env_int("SLURM_ARRAY_TASK_ID", 0, INT_MAX - 1, &id)) return 0;
  if (!env_int("SLURM_ARRAY_TASK_COUNT", 1, SHARD_MAX, &count))
    die("SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not: pass --shard K/N");
  env_int("SLURM_ARRAY_TASK_MIN", 0, INT_MAX - 1, &min);
  if (!env_int("SLURM_ARRAY_TASK_MAX", 0, INT_MAX - 1, &max)) max = min + count - 1;
  env_int("SLURM_ARRAY_TASK_STEP", 1, INT_MAX - 1, &step);
  if (step != 1 || max - min + 1 != count || id < min || id > max) {
    char msg[512];
    snprintf(msg, sizeof msg, "the Slurm job array is not a range of consecutive indices (task %d of %d..%d, "
             "count %d, step %d): submit it with --array=0-%d, or pass --shard K/N", id, min, max, count, step,
             count - 1);
    die(msg);
  }
  o->shard_k = id - min;
  o->shard_n = count;
  snprintf(from, size, "SLURM_ARRAY_TASK_ID=%d, SLURM_ARRAY_TASK_COUNT=%d", id, count);
  return 1;
}

/* A Kubernetes indexed Job: share JOB_COMPLETION_INDEX of --shard-count. */
static int shard_from_k8s(options *o, char *from, size_t size) {
  int id;
  if (!env_int("JOB_COMPLETION_INDEX", 0, INT_MAX - 1, &id)) return 0;
  if (!o->shard_count)
    die("JOB_COMPLETION_INDEX is set (a Kubernetes indexed Job): give the number of shares with "
        "--shard-count N (the Job's completions), or pass --shard K/N");
  if (id >= o->shard_count) {
    char msg[256];
    snprintf(msg, sizeof msg, "JOB_COMPLETION_INDEX=%d is not below --shard-count %d", id, o->shard_count);
    die(msg);
  }
  o->shard_k = id;
  o->shard_n = o->shard_count;
  snprintf(from, size, "JOB_COMPLETION_INDEX=%d, --shard-count %d", id, o->shard_count);
  return 1;
}

/* Without --shard, the shard a scheduler gave this run, if any: a Slurm job
 * array first, then a Kubernetes indexed Job. */
static void shard_from_env(options *o) {
  static char from[160];
  if (o->shard_n) {
    if (o->shard_count) bad_usage("--shard-count goes with JOB_COMPLETION_INDEX, not with --shard");
    return;
  }
  if (shard_from_slurm(o, from, sizeof from) || shard_from_k8s(o, from, sizeof from)) o->shard_from = from;
  else if (o->shard_count)
    bad_usage("--shard-count is for a Kubernetes indexed Job, but JOB_COMPLETION_INDEX is not set");
}

/* The distinct tasks of every model given, joined by key. */
static tune_task *zoo_tasks(const options *o, const cg_target *t, int *n) {
  chm_err e = {0};
  tune_task *all = NULL;
  *n = 0;
  for (int m = 0; m < o->n_models; m++) {
    gr_graph *g = gr_load_shapes(o->models[m], o->shapes, o->n_shapes, &e);
    if (!g) die(e.msg);
    if (g->notice && !o->quiet) fprintf(stderr, "chamcc: %s: %s\n", o->models[m], g->notice);
    tune_task *tasks = NULL;
    int k = 0;
    if (tune_collect_tasks(g, t, o->threads, o->winograd, &tasks, &k, &e)) die(e.msg);
    tune_tasks_union(&all, n, tasks, k);
    free(tasks);
    gr_free(g);
  }
  return all;
}

/* Keeps the tasks of this run's shard (and their budgets), in their order,
 * at the front; returns how many. Every shard computes the same split: it
 * depends on the tasks and budgets alone, not on this machine's log. */
static int keep_shard(const options *o, tune_task *tasks, int *budget, int n) {
  if (o->shard_n <= 1) return n;
  int *work = chm_malloc((size_t)(n ? n : 1) * sizeof *work), *shard = chm_malloc((size_t)(n ? n : 1) * sizeof *shard);
  long long mine = 0, all = 0;
  for (int i = 0; i < n; i++) work[i] = budget[i] + TUNE_CONFIRM_FINALISTS * TUNE_CONFIRM_ROUNDS;
  tune_shard_partition(tasks, work, n, o->shard_n, shard);
  int kept = 0;
  for (int i = 0; i < n; i++) {
    all += work[i];
    if (shard[i] != o->shard_k) continue;
    mine += work[i];
    tasks[kept] = tasks[i];
    budget[kept++] = budget[i];
  }
  if (!o->quiet)
    fprintf(stderr, "chamcc: shard %d of %d (%s): %d of %d tasks, %lld of %lld measurements\n", o->shard_k,
            o->shard_n, o->shard_from, kept, n, mine, all);
  free(work);
  free(shard);
  return kept;
}

/* --list-tasks: budget, uses, GFLOP and key of each task, one a line. */
static void print_tasks(const tune_task *tasks, const int *budget, int n) {
  for (int i = 0; i < n; i++)
    printf("%d\t%d\t%.4f\t%s\n", budget[i], tasks[i].uses, tasks[i].flops / 1e9, tasks[i].key);
}

/* chamcc tune MODEL...: the distinct tasks of all the models (of this
 * shard) tuned into the log. */
static void tune_zoo(const options *o, const cg_target *t, const log_files *lf, int measure) {
  int n = 0;
  tune_task *tasks = zoo_tasks(o, t, &n);
  int *budget = task_budgets(o, tasks, n);
  n = keep_shard(o, tasks, budget, n);
  if (o->list_tasks) {
    print_tasks(tasks, budget, n);
  } else {
    tune_log *log = open_logs(o, lf, t);
    if (measure) tune_tasks(o, t, log, lf->append, tasks, budget, n);
    if (!o->quiet) fprintf(stderr, "chamcc: tuning log %s is complete for %d tasks\n", lf->append, n);
    tune_log_close(log);
  }
  free(budget);
  free(tasks);
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

/* --print-configs: a tunable layer's task, and where its config came from. */
static void print_config(void *ctx, const tune_task *t, const tune_record *r) {
  int idx[TUNE_MAX_KNOBS];
  const int *c = r ? r->config : idx;
  if (!r) tune_task_default(t, idx);
  printf("config\t%s\t%s\t", t->key, r ? "log" : "default");
  for (int k = 0; k < t->space.n_knobs; k++) printf("%s%d", k ? "," : "", c[k]);
  printf("\n");
  (void)ctx;
}

/* ---- chamcc log merge | stats ---- */

static void warn_always(void *ctx, const char *msg) {
  fprintf(stderr, "chamcc: warning: %s\n", msg);
  (void)ctx;
}

/* The logs named from argv[first] on (folders: their *.jsonl files). */
static char **log_args(int argc, char **argv, int first, int *n) {
  CHM_VEC(char *) v = {0};
  for (int i = first; i < argc; i++) {
    if (argv[i][0] == '-') {
      char msg[256];
      snprintf(msg, sizeof msg, "log: unknown option '%s'", argv[i]);
      bad_usage(msg);
    }
    add_log_arg(argv[i], &v);
  }
  *n = v.len;
  return v.data;
}

/* chamcc log merge OUT IN...: one file of every distinct record. */
static int merge_main(int argc, char **argv) {
  if (argc < 5) bad_usage("log merge: needs OUT.jsonl and at least one log to read");
  int n;
  char **in = log_args(argc, argv, 4, &n);
  if (!n) bad_usage("log merge: the folders named hold no *.jsonl file");
  chm_err e = {0};
  tune_merge_stats st;
  if (check_writable("log merge: the output", argv[3], &e)) die(e.msg);
  if (tune_log_merge(argv[3], (const char *const *)in, n, warn_always, NULL, &st, &e)) die(e.msg);
  fprintf(stderr, "chamcc: wrote %s: %d records from %d logs (%d duplicates left out, %d malformed lines skipped)\n",
          argv[3], st.records, st.files, st.duplicates, st.malformed);
  for (int i = 0; i < n; i++) free(in[i]);
  free(in);
  return 0;
}

typedef struct log_group {
  char target[64], cpu[64]; /* one machine kind */
  int threads;              /* one thread count (0: the records do not say) */
} log_group;

static int cmp_group(const void *a, const void *b) {
  const log_group *x = a, *y = b;
  int c = strcmp(x->target, y->target);
  if (!c) c = strcmp(x->cpu, y->cpu);
  return c ? c : (x->threads > y->threads) - (x->threads < y->threads);
}

/* The distinct (target, CPU, thread count) of the logs' records, sorted;
 * records that do not say their thread count make a group of their own
 * only where no record of that target and CPU says one (else they join
 * each, as they do a build). */
static int log_groups(char **in, int n, log_group **out) {
  chm_err e = {0};
  tune_log *all = tune_log_open(NULL, NULL, NULL, NULL, NULL, &e);
  for (int i = 0; i < n; i++)
    if (tune_log_load(all, in[i], warn_always, NULL, &e)) die(e.msg);
  CHM_VEC(log_group) g = {0};
  for (int i = 0; i < tune_log_size(all); i++) {
    const tune_record *r = tune_log_get(all, i);
    log_group x = {.threads = r->threads};
    snprintf(x.target, sizeof x.target, "%s", r->target);
    snprintf(x.cpu, sizeof x.cpu, "%s", r->cpu);
    int j = 0;
    while (j < g.len && cmp_group(&g.data[j], &x)) j++;
    if (j == g.len) chm_vec_push(&g, x);
  }
  tune_log_close(all);
  int k = 0; /* drop the unknown count's group where a known one exists */
  for (int i = 0; i < g.len; i++) {
    int known = 0;
    for (int j = 0; j < g.len && !g.data[i].threads && !known; j++)
      known = g.data[j].threads && !strcmp(g.data[j].target, g.data[i].target) && !strcmp(g.data[j].cpu, g.data[i].cpu);
    if (!known) g.data[k++] = g.data[i];
  }
  g.len = k;
  if (g.len) qsort(g.data, (size_t)g.len, sizeof *g.data, cmp_group);
  *out = g.data;
  return g.len;
}

/* What a build for target would use for task (tune_log_pick against the
 * task's default config), with *tuned set when that is not the default;
 * tune_log_best when the key or target is not known here. */
static const tune_record *stats_pick(const tune_log *l, const char *task, const cg_target *t, int *tuned) {
  tune_task tk;
  tune_machine m = t ? tune_machine_of(t, 0) : (tune_machine){0};
  int def[TUNE_MAX_KNOBS];
  const tune_record *r;
  if (t && !tune_task_from_key(task, t->vregs, &m, &tk)) {
    tune_task_default(&tk, def);
    r = tune_log_pick(l, task, def, tk.space.n_knobs);
    *tuned = r && memcmp(r->config, def, sizeof(int) * (size_t)tk.space.n_knobs);
  } else {
    r = tune_log_best(l, task);
    *tuned = -1;
  }
  return r;
}

/* One machine kind's tasks: what a build for it would use. */
static void print_group(char **in, int n, const log_group *g) {
  chm_err e = {0};
  cg_target tgt;
  /* records name a target by its normalized triple: this machine's, or one chamcc knows */
  int known = is_host(g->target, g->cpu, &tgt) || !cg_target_init(&tgt, g->target, g->cpu, &e);
  e = (chm_err){0};
  tune_log *l = tune_log_open_for(NULL, g->target, g->cpu, g->threads, NULL, NULL, &e);
  for (int i = 0; i < n; i++)
    if (tune_log_load(l, in[i], NULL, NULL, &e)) die(e.msg);
  tune_task_stats *ts;
  int nt = tune_log_task_stats(l, &ts), meas = 0, failed = 0, conf = 0, tuned_n = 0;
  double cost = 0;
  for (int i = 0; i < nt; i++) meas += ts[i].measured, failed += ts[i].failed, conf += ts[i].confirms, cost += ts[i].cost_s;
  printf("%s, %s, ", g->target, g->cpu);
  if (g->threads) printf("%d thread%s", g->threads, g->threads == 1 ? "" : "s");
  else printf("threads not recorded");
  printf(": %d tasks, %d measurements (%d failed), %d confirmations, %.1f s of tuning", nt, meas, failed, conf, cost);
  if (tune_log_stale(l)) printf("; %d measurements of older kernels not counted", tune_log_stale(l));
  printf("\n  %8s %6s %8s %12s %15s %7s %8s  %s\n", "measured", "failed", "confirms", "build GFLOP/s", "(min-max)",
         "config", "tuning s", "task");
  for (int i = 0; i < nt; i++) {
    int tuned;
    const tune_record *r = stats_pick(l, ts[i].task, known ? &tgt : NULL, &tuned);
    tune_figure f = r ? tune_log_config_figure(l, r) : (tune_figure){0};
    tuned_n += tuned > 0;
    char spread[48];
    snprintf(spread, sizeof spread, "(%.1f-%.1f)", f.lo, f.hi);
    printf("  %8d %6d %8d %13.1f %15s %7s %8.1f  %s\n", ts[i].measured, ts[i].failed, ts[i].confirms, f.gflops, spread,
           tuned < 0 ? "best" : tuned ? "tuned" : "default", ts[i].cost_s, ts[i].task);
  }
  if (known) printf("  a build uses a tuned config for %d of %d tasks, the default for the others\n", tuned_n, nt);
  free(ts);
  tune_log_close(l);
}

/* chamcc log stats LOG...: per target and CPU, per task. */
static int stats_main(int argc, char **argv) {
  int n;
  char **in = log_args(argc, argv, 3, &n);
  if (!n) bad_usage("log stats: no tuning log given");
  log_group *g;
  int ng = log_groups(in, n, &g);
  for (int i = 0; i < ng; i++) print_group(in, n, &g[i]);
  if (!ng) printf("no records\n");
  for (int i = 0; i < n; i++) free(in[i]);
  free(in);
  free(g);
  return 0;
}

static int log_main(int argc, char **argv) {
  const char *cmd = argc > 2 ? argv[2] : "";
  if (!strcmp(cmd, "merge")) return merge_main(argc, argv);
  if (!strcmp(cmd, "stats")) return stats_main(argc, argv);
  if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
    printf("usage: chamcc log merge OUT.jsonl LOG...   every distinct record of the logs into OUT,\n"
           "                                           sorted (idempotent, input order does not matter)\n"
           "       chamcc log stats LOG...             per target, CPU and thread count: tasks,\n"
           "                                           measurements, and per task the GFLOP/s of the\n"
           "                                           config a build would use, tuned or the default\n"
           "A LOG may be a folder: its *.jsonl files.\n");
    exit(0);
  }
  bad_usage("log: needs `merge OUT.jsonl LOG...` or `stats LOG...`");
}

/* How many of the build's tunable layers took their config from the log. */
static void print_tuned(const tune_log_use *use, const log_files *lf, const cg_target *t) {
  fprintf(stderr, "chamcc: %d of %d tunable layers use a tuned config from %s (%s, %s)\n", use->from_log,
          use->layers, lf->desc, t->triple, t->cpu);
}

int main(int argc, char **argv) {
  if (argc > 1 && !strcmp(argv[1], "report")) return report_main(argc, argv);
  if (argc > 1 && !strcmp(argv[1], "log")) return log_main(argc, argv);
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
  cg_target host;
  if (cg_target_init(&host, NULL, NULL, &e)) die(e.msg);
  int native = !strcmp(host.triple, target.triple) && !strcmp(host.cpu, target.cpu);
  int measure = !(o.tuner && !strcmp(o.tuner, "none"));
  if (o.output && check_runtime(&target, &e)) die(e.msg);
  if (o.tune_only && !native && !o.runner) {
    char msg[512];
    snprintf(msg, sizeof msg, "cannot tune for %s (%s) on this machine: pass --runner HOST:PORT of a "
             "chamcc-runner on the target, or tune there and use its log with --log", target.triple, target.cpu);
    die(msg);
  }

  if (o.tune_only) shard_from_env(&o);
  log_files lf = {0};
  resolve_logs(&o, &lf);
  char *hpath = o.output ? header_path(o.output, name) : NULL;
  if (!o.list_tasks && (check_before_work(&o, hpath, lf.append, measure, &e) || check_read_logs(&lf, &e)))
    die(e.msg);
  if (o.tune_only) {
    tune_zoo(&o, &target, &lf, measure);
    free_logs(&lf);
    free(o.logs);
    free(name);
    return 0;
  }

  gr_graph *g = gr_load_shapes(o.model, o.shapes, o.n_shapes, &e);
  if (!g) die(e.msg);
  double t_load = chm_now() - t0;
  if (g->notice && !o.quiet) fprintf(stderr, "chamcc: %s: %s\n", o.model, g->notice);
  if (o.verbose) print_input_shapes(g);
  if (o.verbose) gr_dump(g, stderr);

  tune_log *log = open_logs(&o, &lf, &target);
  if (measure && (native || o.runner)) tune_model(&o, g, &target, log, lf.append);

  tune_log_use use = {log, 0, 0, o.print_configs ? print_config : NULL, NULL};
  mdl_tuning tu = tune_log_provider(&use);
  mdl_options mo = {name, &target, o.threads, o.emit_llvm, o.dump_ir, o.verbose, &tu, 0, o.emit_c, o.winograd};
  mdl_stats st;
  mdl_result res;
  if (mdl_compile(g, &mo, &res, &st, &e)) die(e.msg);
  if (o.emit_c) {
    if (!o.quiet)
      fprintf(stderr, "chamcc: wrote the C source of lib%s.a in %s (%s, %d lanes, %d kernels, %.1f MB weights): "
              "run make there\n", name, o.emit_c, target.triple, target.lanes, st.n_kernels,
              (double)st.weight_bytes / 1e6);
    if (!o.quiet) print_tuned(&use, &lf, &target);
    tune_log_close(log);
    free_logs(&lf);
    free(o.logs);
    free(hpath);
    free(name);
    free(default_out);
    gr_free(g);
    return 0;
  }

  if (write_archive(&o, &target, name, &res, &e)) die(e.msg);
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
  if (!o.quiet) print_tuned(&use, &lf, &target);
  if (o.verbose)
    fprintf(stderr, "chamcc: load %.2f s, lower %.2f s, optimize %.2f s, codegen %.2f s\n", t_load,
            st.lower_s, st.opt_s, st.emit_s);
  tune_log_close(log);
  free_logs(&lf);
  free(o.logs);
  mdl_result_free(&res);
  free(hpath);
  free(name);
  free(default_out);
  gr_free(g);
  return 0;
}
