/*
 * main.c — the chamcc command line: the only place that prints to the user
 * and calls exit().
 *
 *   chamcc MODEL.onnx -o libNAME.a [options]
 *
 * Loads and normalizes the graph, lowers it to one LLVM module, and writes
 * libNAME.a (the kernels plus the runtime for the target) and NAME.h beside
 * it. Every failure is one line on stderr, "chamcc: FILE: ...", and a
 * non-zero exit status; no partial output is left behind.
 */
#include "chamcc/archive.h"
#include "chamcc/cg.h"
#include "chamcc/graph.h"
#include "chamcc/model.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
  int verbose;           /* -v */
  int quiet;             /* -q */
} options;

static void usage(FILE *f) {
  fprintf(f,
          "usage: chamcc MODEL.onnx -o libNAME.a [options]\n"
          "\n"
          "Compiles an ONNX model into a static library libNAME.a and a header NAME.h\n"
          "(written beside the library). The library needs only libc, libm and pthreads.\n"
          "\n"
          "options:\n"
          "  -o FILE            output archive (default: lib<model>.a)\n"
          "  --name NAME        symbol prefix NAME_ (default: from the output file name)\n"
          "  --target TRIPLE    x86_64-linux-gnu (default: this machine) or aarch64-linux-gnu\n"
          "  --cpu CPU          target CPU (default: this machine's, or 'generic')\n"
          "  --threads N        threads used by the library (default: all cores)\n"
          "  --emit-llvm FILE   also write the optimized LLVM IR\n"
          "  --dump-ir FILE     also write the loop IR of every kernel\n"
          "  -v                 print the compilation plan and timings\n"
          "  -q                 print nothing but errors\n"
          "  --help, --version\n");
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

static options parse_args(int argc, char **argv) {
  options o = {0};
  enum { OPT_NAME = 256, OPT_TARGET, OPT_CPU, OPT_THREADS, OPT_LLVM, OPT_DUMP, OPT_HELP, OPT_VERSION };
  static const struct option longs[] = {
      {"name", required_argument, 0, OPT_NAME},       {"target", required_argument, 0, OPT_TARGET},
      {"cpu", required_argument, 0, OPT_CPU},         {"threads", required_argument, 0, OPT_THREADS},
      {"emit-llvm", required_argument, 0, OPT_LLVM},  {"dump-ir", required_argument, 0, OPT_DUMP},
      {"help", no_argument, 0, OPT_HELP},             {"version", no_argument, 0, OPT_VERSION},
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
    case OPT_THREADS:
      errno = 0;
      o.threads = (int)strtol(optarg, &end, 10);
      if (errno || *end || o.threads < 0 || o.threads > 1024)
        bad_usage("--threads needs a number between 0 and 1024");
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
  return o;
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

int main(int argc, char **argv) {
  options o = parse_args(argc, argv);
  chm_err e = {0};
  double t0 = chm_now();
  char *default_out = NULL;
  if (!o.output) {
    default_out = name_from_output(o.model);
    char *p = chm_malloc(strlen(default_out) + 6);
    sprintf(p, "lib%s.a", default_out);
    free(default_out);
    o.output = default_out = p;
  }
  char *name = o.name ? chm_strdup(o.name) : name_from_output(o.output);

  cg_target target;
  if (cg_target_init(&target, o.triple, o.cpu, &e)) die(e.msg);

  gr_graph *g = gr_load(o.model, &e);
  if (!g) die(e.msg);
  double t_load = chm_now() - t0;
  if (o.verbose) gr_dump(g, stderr);

  mdl_options mo = {name, &target, o.threads, o.emit_llvm, o.dump_ir, o.verbose};
  mdl_stats st;
  unsigned char *obj = NULL;
  size_t size = 0;
  if (mdl_compile(g, &mo, &obj, &size, &st, &e)) die(e.msg);

  char *hpath = header_path(o.output, name);
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
  if (o.verbose)
    fprintf(stderr, "chamcc: load %.2f s, lower %.2f s, optimize %.2f s, codegen %.2f s\n", t_load,
            st.lower_s, st.opt_s, st.emit_s);
  free(obj);
  free(hpath);
  free(name);
  free(default_out);
  gr_free(g);
  return 0;
}
