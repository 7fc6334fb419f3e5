/*
 * rt_object.c — chm_rt_object: the runtime object for a target triple,
 * looked up by architecture in the table bin2c generated at build time.
 *
 * The runtime sleeps on Linux futexes and is compiled against glibc, so only
 * "ARCH-*linux-gnu*" triples match (x86_64-linux-gnu, x86_64-pc-linux-gnu,
 * aarch64-unknown-linux-gnu, ...); "arm64" and "amd64" are accepted aliases.
 * chm_rt_source looks up the runtime's sources the same way, by file name.
 */
#include <string.h>

#include "chamcc/rt_object.h"
#include "rt_blob.h"

/* The architecture component of TRIPLE, normalised, or NULL if not Linux/glibc. */
static const char *triple_arch(const char *triple, char *buf, size_t cap) {
  const char *dash = strchr(triple, '-');
  if (!dash || (size_t)(dash - triple) >= cap || !strstr(dash, "linux-gnu")) return NULL;
  memcpy(buf, triple, (size_t)(dash - triple));
  buf[dash - triple] = 0;
  if (!strcmp(buf, "arm64")) return "aarch64";
  if (!strcmp(buf, "amd64")) return "x86_64";
  return buf;
}

/* The entry of `table` named `key` (NULL: none), its size in *size. */
static const unsigned char *find(const chm_rt_blob *table, const char *key, size_t *size) {
  const chm_rt_blob *b = table;
  while (key && b->arch && strcmp(b->arch, key)) b++;
  const int found = key && b->arch;
  if (size) *size = found ? b->size : 0;
  return found ? b->data : NULL;
}

const unsigned char *chm_rt_object(const char *triple, size_t *size) {
  char buf[32];
  return find(chm_rt_blobs, triple ? triple_arch(triple, buf, sizeof buf) : NULL, size);
}

const unsigned char *chm_rt_source(const char *name, size_t *size) { return find(chm_rt_sources, name, size); }
