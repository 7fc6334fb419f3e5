/*
 * llvm_target.c — target selection for the LLVM backend: which triples and
 * CPUs chamcc supports, and what vector width follows from them.
 *
 * The host is described by LLVM's own host queries (CPU name and feature
 * string); a cross target by its triple and a CPU from a known list, with
 * LLVM's default features for that CPU. RISC-V's "CPUs" are vector lengths
 * (LLVM has them as features, not CPUs): LLVM is told generic-rv64 and
 * the features of rv64gcv, with zvl256b for 256-bit vectors.
 */
#include "chamcc/cg.h"

#include <llvm-c/Core.h>
#include <llvm-c/Support.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const aarch64_cpus[] = {
    "generic", "cortex-a53", "cortex-a55", "cortex-a57", "cortex-a72", "cortex-a73",
    "cortex-a75", "cortex-a76", "cortex-a78", "cortex-x1", "neoverse-n1", "neoverse-n2",
    "neoverse-v1", "neoverse-v2", "apple-m1", NULL};

static const char *const x86_cpus[] = {
    "x86-64", "x86-64-v2", "x86-64-v3", "x86-64-v4", "haswell", "broadwell", "skylake",
    "skylake-avx512", "cascadelake", "icelake-server", "sapphirerapids", "znver2",
    "znver3", "znver4", "znver5", NULL};

/* RISC-V 64 with RVV 1.0: its minimum VLEN, 128 bits, or 256. */
static const char *const riscv64_cpus[] = {"generic", "zvl256b", NULL};

static int in_list(const char *const *list, const char *s) {
  for (int i = 0; list[i]; i++)
    if (!strcmp(list[i], s)) return 1;
  return 0;
}

static int list_error(chm_err *e, const char *what, const char *got, const char *const *list) {
  char buf[512] = "";
  for (int i = 0; list[i]; i++) {
    strncat(buf, i ? ", " : "", sizeof buf - strlen(buf) - 1);
    strncat(buf, list[i], sizeof buf - strlen(buf) - 1);
  }
  return chm_errorf(e, "unsupported %s '%s' (supported: %s)", what, got, buf);
}

/* LLVM's own command-line options, once per process.
 *
 * -misched-cyclicpath=false: in a single-block loop the machine scheduler
 * otherwise weighs the loop's cyclic critical path and, when the register
 * tile leaves spare registers, hoists the next input channel's broadcasts
 * far ahead of their FMAs, then spills them. It did so in every conv
 * kernel of 2 vectors x 7 pixels (54 spills in the inner loop; the 7x7
 * layers of ResNet-18 ran 10-30% slower), and in tail tiles.
 *
 * CHAMCC_LLVM_ARGS adds more (space-separated, e.g. "-enable-misched=false"),
 * for experiments with the backend; LLVM exits on an unknown option. */
static void parse_llvm_args(void) {
  static char buf[1024];
  const char *env = getenv("CHAMCC_LLVM_ARGS");
  snprintf(buf, sizeof buf, "%s", env ? env : "");
  const char *argv[32] = {"chamcc", "-misched-cyclicpath=false"};
  int argc = 2;
  for (char *s = strtok(buf, " "); s && argc < 32; s = strtok(NULL, " ")) argv[argc++] = s;
  LLVMParseCommandLineOptions(argc, argv, NULL);
}

static void init_llvm_targets(void) {
  static int done;
  if (done) return;
  done = 1;
  parse_llvm_args();
  LLVMInitializeX86TargetInfo();
  LLVMInitializeX86Target();
  LLVMInitializeX86TargetMC();
  LLVMInitializeX86AsmPrinter();
  LLVMInitializeAArch64TargetInfo();
  LLVMInitializeAArch64Target();
  LLVMInitializeAArch64TargetMC();
  LLVMInitializeAArch64AsmPrinter();
  LLVMInitializeRISCVTargetInfo();
  LLVMInitializeRISCVTarget();
  LLVMInitializeRISCVTargetMC();
  LLVMInitializeRISCVAsmPrinter();
}

/* Vector width implied by an x86 feature string or CPU name. */
static void x86_width(cg_target *t) {
  int avx512 = strstr(t->features, "+avx512f") != NULL;
  int avx2 = strstr(t->features, "+avx2") != NULL || strstr(t->features, "+avx,") != NULL;
  if (!t->features[0]) { /* cross-CPU: infer from the name */
    const char *c = t->cpu;
    avx512 = strstr(c, "avx512") || strstr(c, "lake-") || !strcmp(c, "cascadelake") ||
             !strcmp(c, "sapphirerapids") || !strcmp(c, "znver4") || !strcmp(c, "znver5") ||
             !strcmp(c, "x86-64-v4") || !strcmp(c, "icelake-server");
    avx2 = !strcmp(c, "haswell") || !strcmp(c, "broadwell") || !strcmp(c, "skylake") ||
           !strcmp(c, "znver2") || !strcmp(c, "znver3") || !strcmp(c, "x86-64-v3");
  }
  t->lanes = avx512 ? 16 : avx2 ? 8 : 4;
  t->wide512 = avx512;
}

/* RISC-V: rv64gc and V (RVV 1.0, which implies VLEN >= 128: 4 lanes), and
 * zvl256b for VLEN >= 256 (8 lanes). From the Zvl length LLVM lowers the
 * kernels' fixed-length vectors to RVV (one register per vector at that
 * length). The D extension makes LLVM's default ABI lp64d, the ABI of
 * Debian's riscv64 glibc, whose loader refuses objects of another float ABI. */
static void riscv64_features(cg_target *t) {
  int wide = !strcmp(t->cpu, "zvl256b");
  snprintf(t->llvm_cpu, sizeof t->llvm_cpu, "generic-rv64");
  snprintf(t->features, sizeof t->features, "+m,+a,+f,+d,+c,+v%s", wide ? ",+zvl256b" : "");
  t->is_riscv64 = 1;
  t->lanes = wide ? 8 : 4;
}

/* TRIPLE is ARCH-linux-gnu or ARCH-unknown-linux-gnu. */
static int is_triple(const char *triple, const char *arch) {
  char a[64], b[64];
  snprintf(a, sizeof a, "%s-linux-gnu", arch);
  snprintf(b, sizeof b, "%s-unknown-linux-gnu", arch);
  return !strcmp(triple, a) || !strcmp(triple, b);
}

/* The normalized triple of ARCH and CPU (NULL: "generic", which must be in
 * the list); on an error the host triple string is released. */
static int cross_target(cg_target *t, const char *arch, const char *what, const char *const *cpus, const char *cpu,
                        char *host, chm_err *e) {
  const char *c = cpu ? cpu : "generic";
  if (!in_list(cpus, c)) {
    LLVMDisposeMessage(host);
    return list_error(e, what, c, cpus);
  }
  snprintf(t->triple, sizeof t->triple, "%s-unknown-linux-gnu", arch);
  snprintf(t->cpu, sizeof t->cpu, "%s", c);
  return 0;
}

int cg_target_init(cg_target *t, const char *triple, const char *cpu, chm_err *e) {
  init_llvm_targets();
  memset(t, 0, sizeof *t);
  char *host = LLVMGetDefaultTargetTriple();
  int host_cpu = !cpu || !strcmp(cpu, "native");
  int x86 = !triple || !strcmp(triple, "x86_64-linux-gnu") || !strcmp(triple, "x86_64-unknown-linux-gnu");
  int is_host = x86 && host_cpu && strncmp(host, "x86_64", 6) == 0;
  if (is_host) {
    snprintf(t->triple, sizeof t->triple, "%s", host);
    char *name = LLVMGetHostCPUName(), *feat = LLVMGetHostCPUFeatures();
    snprintf(t->cpu, sizeof t->cpu, "%s", name);
    snprintf(t->features, sizeof t->features, "%s", feat);
    LLVMDisposeMessage(name);
    LLVMDisposeMessage(feat);
  } else if (x86) {
    snprintf(t->triple, sizeof t->triple, "x86_64-unknown-linux-gnu");
    if (host_cpu) cpu = "x86-64-v3";
    if (!in_list(x86_cpus, cpu)) {
      LLVMDisposeMessage(host);
      return list_error(e, "x86-64 CPU", cpu, x86_cpus);
    }
    snprintf(t->cpu, sizeof t->cpu, "%s", cpu);
  } else if (is_triple(triple, "aarch64")) {
    if (cross_target(t, "aarch64", "AArch64 CPU", aarch64_cpus, cpu, host, e)) return -1;
    snprintf(t->features, sizeof t->features, "+neon");
    t->is_aarch64 = 1;
    t->lanes = 4;
  } else if (is_triple(triple, "riscv64")) {
    if (cross_target(t, "riscv64", "RISC-V CPU", riscv64_cpus, cpu, host, e)) return -1;
    riscv64_features(t);
  } else {
    LLVMDisposeMessage(host);
    static const char *const triples[] = {"x86_64-linux-gnu", "aarch64-linux-gnu", "riscv64-linux-gnu", NULL};
    return list_error(e, "target", triple, triples);
  }
  LLVMDisposeMessage(host);
  if (!t->llvm_cpu[0]) snprintf(t->llvm_cpu, sizeof t->llvm_cpu, "%s", t->cpu);
  if (!t->is_aarch64 && !t->is_riscv64) x86_width(t);
  t->vregs = t->is_aarch64 || t->is_riscv64 || t->wide512 ? 32 : 16;
  cg_target_caches(t, is_host);
  return 0;
}
