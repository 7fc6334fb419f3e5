/*
 * target_caches.c — the cache sizes of a target (cg_target.l1d, .l2): read
 * from the machine when the target is this machine, else from a table of
 * the CPUs chamcc names (--cpu), per core as their vendors publish them.
 * The tuner's cost-model features (tune/task.c) weigh tiles against them.
 */
#include "chamcc/cg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct cpu_caches {
  const char *cpu;    /* LLVM CPU name */
  int l1d_k, l2_k;    /* KiB per core */
} cpu_caches;

static const cpu_caches table[] = {
    {"haswell", 32, 256},        {"broadwell", 32, 256},       {"skylake", 32, 256},
    {"skylake-avx512", 32, 1024}, {"cascadelake", 32, 1024},   {"icelake-server", 48, 1280},
    {"sapphirerapids", 48, 2048}, {"znver2", 32, 512},         {"znver3", 32, 512},
    {"znver4", 32, 1024},        {"znver5", 48, 1024},         {"cortex-a53", 32, 256},
    {"cortex-a55", 32, 256},     {"cortex-a57", 32, 512},      {"cortex-a72", 32, 512},
    {"cortex-a73", 64, 256},     {"cortex-a75", 64, 256},      {"cortex-a76", 64, 512},
    {"cortex-a78", 64, 512},     {"cortex-x1", 64, 1024},      {"neoverse-n1", 64, 1024},
    {"neoverse-n2", 64, 1024},   {"neoverse-v1", 64, 1024},    {"neoverse-v2", 64, 1024},
    {"apple-m1", 128, 4096},
};

/* Bytes of cache `index` of CPU 0 if it is of this level and holds data. */
static long long sysfs_cache(int index, int level) {
  char path[96], buf[64];
  long long size = 0;
  snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/level", index);
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  int lv = fgets(buf, sizeof buf, f) ? atoi(buf) : 0;
  fclose(f);
  snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/type", index);
  if (lv != level || !(f = fopen(path, "r"))) return 0;
  int data = fgets(buf, sizeof buf, f) && strncmp(buf, "Instruction", 11) != 0;
  fclose(f);
  snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/size", index);
  if (!data || !(f = fopen(path, "r"))) return 0;
  if (fgets(buf, sizeof buf, f)) {
    char *end;
    size = strtoll(buf, &end, 10);
    if (*end == 'K') size <<= 10;
    else if (*end == 'M') size <<= 20;
  }
  fclose(f);
  return size > 0 ? size : 0;
}

static long long host_cache(int level) {
  for (int i = 0; i < 8; i++) {
    long long s = sysfs_cache(i, level);
    if (s) return s;
  }
  return 0;
}

void cg_target_caches(cg_target *t, int is_host) {
  t->l1d = 32 << 10; /* what every CPU chamcc targets has at least */
  t->l2 = 256 << 10;
  for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
    if (!strcmp(table[i].cpu, t->cpu)) {
      t->l1d = (int64_t)table[i].l1d_k << 10;
      t->l2 = (int64_t)table[i].l2_k << 10;
    }
  if (!is_host) return;
  long long l1 = host_cache(1), l2 = host_cache(2);
  if (l1) t->l1d = l1;
  if (l2) t->l2 = l2;
}
