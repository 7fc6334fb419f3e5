/*
 * test_spills.c — the inner loops of conv and dense kernels keep their
 * register tile in registers: no vector spills in any inner-loop block.
 *
 * Compiled on any host for x86-64 znver5 (AVX-512, 32 vector registers),
 * x86-64 haswell (AVX2, 16), baseline x86-64 (SSE, 16; a multiply and an add
 * per accumulator, counted by the multiply) and AArch64 (NEON, 32), at 1 and
 * 2 threads (the parallel body is an outlined function), and the assembly
 * read back: per basic block, FMAs and vector operands on the stack. The
 * configs are the defaults of ResNet-18 layers, of AlexNet's 5x5 (whose
 * AVX2 tile of 4 vectors x 3 columns fits only in tile_fmas's weight-by-
 * weight order) and of MobileNet-v2's first conv, whose tiles follow the
 * register file (tpl_acc_budget, tpl_conv_step_regs), and a tuned
 * pick whose loop LLVM used to spill (2 vectors x 7 pixels and its tail; see
 * parse_llvm_args in llvm_target.c); and the default tiles of the matrix
 * products of a ConvNeXt's stages (rows = pixels), which must also use more
 * than one row when the row count allows.
 * SPILLS_DUMP=1 prints the assembly of a kernel that spills.
 */
#include "../check.h"
#include "../conv_layer.h"
#include "chamcc/cg.h"
#include "chamcc/tpl.h"

#include <stdlib.h>
#include <string.h>

/* A ResNet-18 conv for target t: C -> K channels, H x H input, k x k
 * window, stride s, pad k / 2. */
static tpl_conv layer(int64_t C, int64_t H, int64_t K, int64_t k, int64_t s, const cg_target *t) {
  tpl_conv w = conv_layer(C, H, K, k, s, k / 2, t->lanes);
  w.vregs = t->vregs;
  return w;
}

/* The instruction's mnemonic (empty for labels, directives and comments). */
static void mnemonic(const char *line, char *op, size_t size) {
  line += strspn(line, " \t");
  size_t n = strcspn(line, " \t");
  if (line[0] == '.' || line[0] == '#' || line[0] == '/' || line[n ? n - 1 : 0] == ':') n = 0;
  snprintf(op, size, "%.*s", (int)(n < size - 1 ? n : size - 1), line);
}

/* A vector register operand on the stack: x86 "...mm...(%rsp)", AArch64
 * "ldr/str/ldp/stp qN, ..., [sp...". */
static int stack_vector(const char *line, const char *op) {
  if (strstr(line, "(%rsp)")) return strstr(line, "mm") != NULL;
  const char *args = line + strspn(line, " \t") + strlen(op);
  args += strspn(args, " \t");
  return strstr(line, "[sp") && args[0] == 'q' &&
         (!strcmp(op, "ldr") || !strcmp(op, "str") || !strcmp(op, "ldp") || !strcmp(op, "stp"));
}

/* A branch ends a basic block: x86 jumps, AArch64 b, b.cond, cbz, tbnz, ... */
static int branch(const char *op) {
  return op[0] == 'j' || !strcmp(op, "b") || !strncmp(op, "b.", 2) || !strncmp(op, "cb", 2) ||
         !strncmp(op, "tb", 2) || !strcmp(op, "ret");
}

/* The largest number of vector stack operands (spills and reloads of
 * xmm/ymm/zmm or q registers) in a basic block of at least min_fma FMAs (an
 * inner-loop body: one FMA per accumulator and input channel); -1 if there
 * is no such block. Blocks start at labels and function names and end at
 * branches. */
static int hot_spills(const char *text, int min_fma) {
  int worst = -1, fma = 0, rsp = 0, after_branch = 0;
  for (const char *l = text;; l++) {
    const char *end = strchr(l, '\n');
    size_t n = end ? (size_t)(end - l) : strlen(l);
    char line[512], op[32];
    snprintf(line, sizeof line, "%.*s", (int)(n < sizeof line - 1 ? n : sizeof line - 1), l);
    mnemonic(line, op, sizeof op);
    int label = n > 1 && l[n - 1] == ':' && l[0] != '\t' && l[0] != ' ';
    if (label || after_branch || !end) { /* the block before this line ends */
      if (fma >= min_fma && rsp > worst) worst = rsp;
      fma = rsp = 0;
    }
    if (!end) break;
    if (strstr(op, "vfmadd") || !strcmp(op, "fmla") || !strcmp(op, "mulps")) fma++;
    if (stack_vector(line, op)) rsp++;
    after_branch = branch(op);
    l = end;
  }
  return worst;
}

/* Compiles what make builds at 1 and 2 threads and checks that no inner
 * loop (a block of at least min_fma FMAs) has vector stack operands. */
static void check_asm(const cg_target *t, const char *what, ir_kernel *(*make)(chm_arena *, const void *),
                      const void *arg, int min_fma) {
  for (int th = 1; th <= 2; th++) {
    chm_err e = {0};
    chm_arena *a = chm_arena_new();
    cg_module *m = cg_module_new(t, "spills", th, &e);
    char *text = NULL;
    if (m) {
      cg_export_kernels(m);
      if (!cg_add_kernel(m, make(a, arg), &e) && !cg_finish(m, &e)) text = cg_emit_assembly(m, &e);
    }
    CHECK(text, "%s %s: %s", t->cpu, what, e.msg);
    if (text) {
      int s = hot_spills(text, min_fma);
      if (s > 0 && getenv("SPILLS_DUMP")) fputs(text, stderr);
      printf("%-8s %-28s %dT: %d vector stack operands in the worst inner loop\n", t->cpu, what, th, s);
      CHECK(s == 0, "%s %s at %d threads: %d vector stack operands in an inner loop (-1: none found)", t->cpu,
            what, th, s);
    }
    free(text);
    cg_module_free(m);
    chm_arena_free(a);
  }
}

typedef struct conv_case {
  const tpl_conv *w;
  tpl_conv_cfg c;
} conv_case;

static ir_kernel *make_conv(chm_arena *a, const void *arg) {
  const conv_case *k = arg;
  return tpl_conv_kernel(a, "conv", k->w, &k->c);
}

static void check_kernel(const cg_target *t, const char *what, const tpl_conv *w, tpl_conv_cfg c) {
  CHECK(tpl_conv_check(w, &c) == NULL, "%s %s: %s", t->cpu, what, tpl_conv_check(w, &c));
  conv_case k = {w, c};
  check_asm(t, what, make_conv, &k, c.oc_bn * c.ow_bn * c.oh_bn);
}

typedef struct dense_case {
  tpl_dense w;
  tpl_dense_cfg c;
} dense_case;

static ir_kernel *make_dense(chm_arena *a, const void *arg) {
  const dense_case *k = arg;
  return tpl_dense_kernel(a, "dense", &k->w, &k->c);
}

/* The default tile of an m x k x n product. */
static void check_dense(const cg_target *t, int64_t m, int64_t k, int64_t n) {
  dense_case d = {.w = {.m = m, .k = k, .n = n, .lanes = t->lanes, .vregs = t->vregs}};
  d.c = tpl_dense_default(&d.w);
  char what[64];
  snprintf(what, sizeof what, "dense %lldx%lldx%lld %dx%d", (long long)m, (long long)k, (long long)n, d.c.m_bn,
           d.c.nb_bn);
  CHECK(d.c.m_bn > 1, "%s %s: one row per tile although %lld rows allow more", t->cpu, what, (long long)m);
  CHECK(m % d.c.m_bn == 0 && (n / t->lanes) % d.c.nb_bn == 0, "%s %s: tile does not divide", t->cpu, what);
  check_asm(t, what, make_dense, &d, d.c.m_bn * d.c.nb_bn);
}

int main(void) {
  static const struct {
    const char *triple, *cpu;
    int lanes;
  } targets[] = {{"x86_64-linux-gnu", "znver5", 16}, {"x86_64-linux-gnu", "haswell", 8},
                 {"x86_64-linux-gnu", "x86-64", 4}, {"aarch64-linux-gnu", "generic", 4}};
  for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++) {
    cg_target t;
    chm_err e = {0};
    if (cg_target_init(&t, targets[i].triple, targets[i].cpu, &e)) return fprintf(stderr, "%s\n", e.msg), 1;
    int L = targets[i].lanes;
    CHECK(t.lanes == L, "%s: %d lanes", t.cpu, t.lanes);
    tpl_conv l2 = layer(64, 56, 64, 3, 1, &t), l9 = layer(256, 14, 512, 3, 2, &t), l11 = layer(512, 7, 512, 3, 1, &t);
    check_kernel(&t, "64->64 56x56 default", &l2, tpl_conv_default(&l2));
    check_kernel(&t, "256->512 14x14 s2 default", &l9, tpl_conv_default(&l9));
    check_kernel(&t, "512->512 7x7 default", &l11, tpl_conv_default(&l11));
    tpl_conv first = layer(3, 224, 32, 3, 2, &t); /* MobileNet-v2's first conv, plain NCHW input */
    first.in.cb = 1;
    check_kernel(&t, "3->32 224x224 s2 plain default", &first, tpl_conv_default(&first));
    /* AlexNet's 5x5 on a 27-wide row: AVX2's default is 4 vectors x 3
     * columns, which fits 16 registers only stepping weight by weight */
    tpl_conv alex = layer(64, 27, 192, 5, 1, &t);
    if (L == 8) check_kernel(&t, "64->192 27x27 k5 default", &alex, tpl_conv_default(&alex));
    /* 2 vectors x 2 columns x 7 rows, and its tail of 1 column */
    if (L == 16) check_kernel(&t, "512->512 7x7 2x2x7", &l11, (tpl_conv_cfg){2, 2, 7, 0, 0, 0, 1, 1, 0});
    check_dense(&t, 3136, 96, 384);
    check_dense(&t, 196, 384, 1536);
    check_dense(&t, 49, 3072, 768);
  }
  return failures != 0;
}
