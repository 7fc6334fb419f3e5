/*
 * rt_object.h — the runtime as object code, for the compiler: runtime/rt.c
 * compiled for each target when chamcc is built and embedded in chamcc
 * (runtime/rt_object.c, library chamcc_rt_embed), so that the archive
 * writer can put it into every generated library. Not part of the runtime
 * that ships (rt.h).
 */
#ifndef CHAMCC_RT_OBJECT_H
#define CHAMCC_RT_OBJECT_H

#include <stddef.h>

/* The runtime compiled for TRIPLE ("x86_64-linux-gnu", "aarch64-linux-gnu"),
 * embedded in chamcc at build time; NULL when chamcc was built without
 * that target's runtime. */
const unsigned char *chm_rt_object(const char *triple, size_t *size);

/* The text of a source file that `chamcc --emit-c` copies into its tree,
 * embedded at build time: "rt.c", "rt.h" (runtime/rt.c,
 * runtime/include/chamcc/rt.h) or "chamcc_vec.h"; NULL for another name. */
const unsigned char *chm_rt_source(const char *name, size_t *size);

#endif
