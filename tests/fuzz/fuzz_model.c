/*
 * fuzz_model.c — the fuzz target: one input is one ONNX file, taken through
 * chamcc's front half (import, the graph passes, and codegen's planning).
 *
 * The importer reads paths only, so each input is written to model.onnx in a
 * private folder on tmpfs (/dev/shm/chamcc-fuzz-PID when /dev/shm exists;
 * folders of processes that crashed are removed at start). It also holds
 * ext.bin (64 KiB of small floats) for external-data references to find,
 * and ext_link, a symlink out of the folder, for the escape checks.
 *
 * A model that loads is checked against the promises of graph.h (shapes
 * known and within GR_MAX_ELEMS, topological order, only ops codegen
 * lowers: broken_promise), printed (gr_dump) to /dev/null, and planned with
 * mdl_compile in plan-only mode: layouts, kernels from their templates,
 * weight packing, the workspace plan, but no LLVM. A refused model must
 * have a message that starts with the model's path. Any of these broken is
 * an abort, which the fuzzer reports like a sanitizer's finding.
 *
 * Built twice: with libFuzzer (clang, tests/fuzz/CMakeLists.txt standalone,
 * `bench/fuzz.sh`), and as fuzz_replay with replay.c's main() in the normal
 * build, which runs the files of tests/fuzz/regressions/.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chamcc/graph.h"
#include "chamcc/model.h"

static char dir[256];   /* the private folder */
static char model[300]; /* dir/model.onnx */
static char ext[300];   /* dir/ext.bin */
static char link_[300]; /* dir/ext_link -> /etc/hostname */

/* Removes the folder's files and the folder. */
static void remove_dir(const char *d) {
  static const char *const files[] = {"model.onnx", "ext.bin", "ext_link"};
  char p[1100]; /* d is at most 1023 characters */
  for (int i = 0; i < 3; i++) {
    snprintf(p, sizeof p, "%s/%s", d, files[i]);
    unlink(p);
  }
  rmdir(d);
}

static void cleanup(void) { remove_dir(dir); }

/* A crash skips atexit: removes the folders of processes that are gone. */
static void remove_stale(const char *base) {
  DIR *d = opendir(base);
  for (struct dirent *de; d && (de = readdir(d));) {
    int pid;
    char p[1024];
    if (sscanf(de->d_name, "chamcc-fuzz-%d", &pid) == 1 && pid > 0 && kill(pid, 0) != 0 && errno == ESRCH) {
      snprintf(p, sizeof p, "%s/%s", base, de->d_name);
      remove_dir(p);
    }
  }
  if (d) closedir(d);
}

/* Creates the folder (chamcc-fuzz-PID) and its fixed files once. */
static void setup(void) {
  if (dir[0]) return;
  const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
  remove_stale(base);
  snprintf(dir, sizeof dir, "%s/chamcc-fuzz-%d", base, (int)getpid());
  if (mkdir(dir, 0700) && errno != EEXIST) {
    perror(dir);
    abort();
  }
  snprintf(model, sizeof model, "%s/model.onnx", dir);
  snprintf(ext, sizeof ext, "%s/ext.bin", dir);
  snprintf(link_, sizeof link_, "%s/ext_link", dir);
  FILE *f = fopen(ext, "wb");
  for (int i = 0; f && i < 16384; i++) {
    float v = (float)(i % 17) * 0.125f - 1.0f;
    fwrite(&v, sizeof v, 1, f);
  }
  if (!f || fclose(f)) abort();
  unlink(link_);
  if (symlink("/etc/hostname", link_)) perror(link_);
  atexit(cleanup);
}

/* Checks the error contract: a message that names the file first. */
static void check_error(const chm_err *e, const char *what) {
  if (!e->set || strncmp(e->msg, model, strlen(model)) != 0) {
    fprintf(stderr, "fuzz_model: %s failed with %s: '%s'\n", what,
            e->set ? "a message that does not start with the path" : "no message", e->msg);
    abort();
  }
}

/* The promises of graph.h about a loaded graph (as tests/graph/gr_tool checks
 * them): shapes known and within GR_MAX_ELEMS, nodes in topological order,
 * only ops codegen lowers, indices in range. Returns what is broken, or NULL;
 * *who names the tensor or node. */
static const char *broken_promise(const gr_graph *g, const char **who) {
  for (int t = 0; t < g->n_tensors; t++) {
    const gr_tensor *x = &g->tensors[t];
    *who = x->name;
    if (x->dtype == GR_UNDEFINED || x->rank < 0 || x->rank > GR_MAX_RANK) return "tensor without a shape";
    int64_t n = 1;
    for (int i = 0; i < x->rank; i++) {
      if (x->shape[i] < 0 || x->shape[i] > GR_MAX_ELEMS) return "dimension out of range";
      n = x->shape[i] == 0 || n > GR_MAX_ELEMS ? 0 : n * x->shape[i];
    }
    if (n > GR_MAX_ELEMS) return "more than GR_MAX_ELEMS elements";
    if (x->producer < -1 || x->producer >= g->n_nodes) return "bad producer";
  }
  for (int i = 0; i < g->n_nodes; i++) {
    const gr_node *n = &g->nodes[i];
    *who = n->name;
    gr_op_kind k = gr_op_kind_of(n->op);
    if (n->op == GR_OP_NONE || k == GR_OPK_FOLD || k == GR_OPK_GONE) return "an op that should be gone";
    for (int j = 0; j <= n->n_in; j++) {
      int t = j < n->n_in ? n->in[j] : n->residual;
      if (t < -1 || t >= g->n_tensors) return "bad input index";
      if (t < 0) continue;
      const gr_tensor *x = &g->tensors[t];
      if (!x->data && !x->is_input && (x->producer < 0 || x->producer >= i)) return "not in topological order";
      if (!x->data && x->dtype != GR_F32) return "non-float run-time value";
    }
    for (int j = 0; j < n->n_out; j++)
      if (n->out[j] < 0 || n->out[j] >= g->n_tensors || g->tensors[n->out[j]].producer != i)
        return "bad output index";
  }
  *who = g->path;
  for (int i = 0; i < g->n_inputs; i++)
    if (g->inputs[i] < 0 || g->inputs[i] >= g->n_tensors) return "bad graph input index";
  for (int i = 0; i < g->n_outputs; i++)
    if (g->outputs[i] < 0 || g->outputs[i] >= g->n_tensors) return "bad graph output index";
  return NULL;
}

/* Plans g for an AVX2-like target without emitting anything. */
static void plan(const gr_graph *g) {
  static const cg_target avx2 = {.triple = "x86_64-unknown-linux-gnu", .cpu = "haswell",
                                 .lanes = 8, .vregs = 16};
  mdl_options o = {.prefix = "fuzz", .target = &avx2, .nthreads = 1, .plan_only = 1};
  mdl_stats st;
  chm_err e = {0};
  mdl_result r;
  if (mdl_compile(g, &o, &r, &st, &e)) check_error(&e, "mdl_compile");
  mdl_result_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  setup();
  FILE *f = fopen(model, "wb");
  if (!f || fwrite(data, 1, size, f) != size || fclose(f)) {
    perror(model);
    abort();
  }
  chm_err e = {0};
  gr_graph *g = gr_load(model, &e);
  if (!g) {
    check_error(&e, "gr_load");
    return 0;
  }
  const char *who = "", *why = broken_promise(g, &who);
  if (why) {
    fprintf(stderr, "fuzz_model: graph.h promise broken (%s): '%s'\n", why, who);
    abort();
  }
  static FILE *devnull;
  if (!devnull) devnull = fopen("/dev/null", "w");
  if (devnull) gr_dump(g, devnull); /* the printer sees every odd attribute too */
  plan(g);
  gr_free(g);
  return 0;
}
