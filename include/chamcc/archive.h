/*
 * archive.h — static libraries written by chamcc itself (prefix `chm_ar_`),
 * and the runtime object code that chamcc carries for each target.
 *
 * No external `ar` is needed: chm_ar_write produces a GNU-format archive with
 * a symbol index ("/" member) that lists the global symbols each ELF member
 * defines, so that the target's linker pulls members as usual.
 */
#ifndef CHAMCC_ARCHIVE_H
#define CHAMCC_ARCHIVE_H

#include "chamcc/util.h"

typedef struct chm_ar_member {
  const char *name;          /* member file name, e.g. "kernels.o" */
  const unsigned char *data; /* contents (an ELF relocatable object) */
  size_t size;               /* bytes of data */
} chm_ar_member;

/* Writes PATH atomically (temporary file + rename): a failure never leaves a
 * truncated archive behind. Returns 0, or -1 with *e set. */
int chm_ar_write(const char *path, const chm_ar_member *m, int n, chm_err *e);

/* The runtime (runtime/rt.c) compiled for TRIPLE ("x86_64-linux-gnu",
 * "aarch64-linux-gnu"), embedded in chamcc at build time; NULL when chamcc
 * was built without that target's runtime. */
const unsigned char *chm_rt_object(const char *triple, size_t *size);

/* The text of a source file that `chamcc --emit-c` copies into its tree,
 * embedded at build time: "rt.c", "rt.h" (runtime/rt.c, include/chamcc/rt.h)
 * or "chamcc_vec.h"; NULL for another name. */
const unsigned char *chm_rt_source(const char *name, size_t *size);

#endif
