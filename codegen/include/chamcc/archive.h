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

typedef struct chm_ar_part {
  const void *data; /* bytes written as they are */
  size_t size;
} chm_ar_part;

typedef struct chm_ar_member {
  const char *name;          /* member file name, e.g. "kernels.o" */
  const unsigned char *data; /* contents (an ELF relocatable object) */
  size_t size;               /* bytes of data */
  const chm_ar_part *parts;  /* optional: more contents after data, written from where they
                                are (the ELF symbol table must lie in data) */
  int n_parts;
} chm_ar_member;

/* Writes PATH atomically (temporary file + rename): a failure never leaves a
 * truncated archive behind. Returns 0, or -1 with *e set. */
int chm_ar_write(const char *path, const chm_ar_member *m, int n, chm_err *e);

/* A member NAME that is an ELF relocatable object of data only
 * (codegen/data_object.c): one read-only section of the n arrays (bytes[i]
 * bytes at data[i]), each 64-byte aligned, and a global hidden symbol
 * syms[i] for each. The fields that tie an object to its target (class, byte
 * order, machine, flags such as RISC-V's float ABI) are copied from `like`,
 * an object for the same target, which must be ELF64 little-endian. The
 * arrays are not copied: m->parts point at them, so they must outlive the
 * archive's writing. Free with chm_ar_data_free. */
int chm_ar_data_member(const char *name, const unsigned char *like, size_t like_size, int n,
                       const char *const *syms, const void *const *data, const size_t *bytes,
                       chm_ar_member *m, chm_err *e);
void chm_ar_data_free(chm_ar_member *m);

#endif
