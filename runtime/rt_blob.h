/*
 * rt_blob.h — the runtime objects embedded at build time (private to
 * runtime/): bin2c generates the table, rt_object.c looks it up.
 */
#ifndef CHAMCC_RT_BLOB_H
#define CHAMCC_RT_BLOB_H

#include <stddef.h>

typedef struct chm_rt_blob {
  const char *arch;          /* "x86_64", "aarch64"; NULL ends the table */
  const unsigned char *data; /* runtime/rt.c compiled to an ELF object */
  size_t size;               /* bytes of data */
} chm_rt_blob;

extern const chm_rt_blob chm_rt_blobs[];
/* The sources `chamcc --emit-c` copies, `arch` holding the file's name. */
extern const chm_rt_blob chm_rt_sources[];

#endif
