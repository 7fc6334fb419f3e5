/*
 * test_spills.c — the inner loops of conv kernels keep their register tile
 * in registers: no vector spills in any block of 64 or more FMAs.
 *
 * Compiled for x86-64 znver5 (AVX-512, 32 vector registers) on any host,
 * at 1 and 2 threads (the parallel body is an outlined function), and the
 * assembly read back: per basic block, FMAs and vector operands on %rsp. The
 * configs are ResNet-18 layers' defaults and tuned picks whose loops LLVM
 * used to spill (tiles of 2 vectors x 7 pixels, tail tiles; see
 * parse_llvm_args in llvm_target.c).
 */
#include "../check.h"
#include "../conv_layer.h"
#include "chamcc/cg.h"
#include "chamcc/tpl.h"

#include <stdlib.h>
#include <string.h>

/* A ResNet-18 conv: C -> K channels, H x H input, k x k window, stride s, pad k / 2. */
static tpl_conv layer(int64_t C, int64_t H, int64_t K, int64_t k, int64_t s) {
  return conv_layer(C, H, K, k, s, k / 2, 16);
}

/* The largest number of vector stack operands (spills and reloads of
 * xmm/ymm/zmm registers) in a basic block of >= 64 FMAs; -1 if there is no
 * such block. Blocks start at labels and function names. */
static int hot_spills(const char *text) {
  int worst = -1, fma = 0, rsp = 0;
  for (const char *l = text;; l++) {
    const char *end = strchr(l, '\n');
    size_t n = end ? (size_t)(end - l) : strlen(l);
    int label = n > 1 && l[n - 1] == ':' && l[0] != '\t' && l[0] != ' ';
    if (label || !end) {
      if (fma >= 64 && rsp > worst) worst = rsp;
      fma = rsp = 0;
    }
    if (!end) break;
    char line[512];
    snprintf(line, sizeof line, "%.*s", (int)(n < sizeof line - 1 ? n : sizeof line - 1), l);
    if (strstr(line, "vfmadd")) fma++;
    if (strstr(line, "(%rsp)") && strstr(line, "mm")) rsp++;
    l = end;
  }
  return worst;
}

static void check_kernel(const cg_target *t, const char *what, const tpl_conv *w, tpl_conv_cfg c) {
  CHECK(tpl_conv_check(w, &c) == NULL, "%s: %s", what, tpl_conv_check(w, &c));
  for (int th = 1; th <= 2; th++) {
    chm_err e = {0};
    chm_arena *a = chm_arena_new();
    cg_module *m = cg_module_new(t, "spills", th, &e);
    char *text = NULL;
    if (m) {
      cg_export_kernels(m);
      if (!cg_add_kernel(m, tpl_conv_kernel(a, "conv", w, &c), &e) && !cg_finish(m, &e))
        text = cg_emit_assembly(m, &e);
    }
    CHECK(text, "%s: %s", what, e.msg);
    if (text) {
      int s = hot_spills(text);
      printf("%-28s %dT: %d vector stack operands in the worst inner loop\n", what, th, s);
      CHECK(s == 0, "%s at %d threads: %d vector stack operands in an inner loop (-1: none found)", what,
            th, s);
    }
    free(text);
    cg_module_free(m);
    chm_arena_free(a);
  }
}

int main(void) {
  cg_target t;
  chm_err e = {0};
  if (cg_target_init(&t, "x86_64-linux-gnu", "znver5", &e)) return fprintf(stderr, "%s\n", e.msg), 1;
  CHECK(t.lanes == 16);
  tpl_conv l2 = layer(64, 56, 64, 3, 1), l9 = layer(256, 14, 512, 3, 2), l11 = layer(512, 7, 512, 3, 1);
  check_kernel(&t, "64->64 56x56 default", &l2, tpl_conv_default(&l2, 16));
  check_kernel(&t, "256->512 14x14 s2 default", &l9, tpl_conv_default(&l9, 16));
  check_kernel(&t, "512->512 7x7 default", &l11, tpl_conv_default(&l11, 16));
  /* 2 vectors x 2 columns x 7 rows, and its tail of 1 column */
  check_kernel(&t, "512->512 7x7 2x2x7", &l11, (tpl_conv_cfg){2, 2, 7, 0, 0, 0, 1, 1});
  return failures != 0;
}
