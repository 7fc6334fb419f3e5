/*
 * peer_dnnl.h — a layer of cnn_layers.json, and oneDNN's primitive for it
 * in the layout oneDNN prefers (prefix `peer_`). Shared by the peer timers:
 * peers.c (OpenBLAS and oneDNN, each alone) and beside.c (oneDNN beside
 * chamcc's kernels in one process). Any error ends the program with a
 * message: these are benchmarks.
 */
#ifndef CHAMCC_PEER_DNNL_H
#define CHAMCC_PEER_DNNL_H

#include "chamcc/measure.h"

#include <cjson/cJSON.h>
#include <oneapi/dnnl/dnnl.h>

typedef struct peer_layer {
  char name[64], desc[96];
  int dense;   /* op "dense": out[n][OUT] = in[n][IN] x W^T */
  tpl_gconv g; /* conv shape (dense: n, c = IN, k = OUT) */
  double mflop; /* 2 * MACs / 1e6 */
} peer_layer;

/* Prints "PROGRAM: ", fmt with what, and exits with status 1. */
_Noreturn void peer_die(const char *fmt, const char *what);
/* Whether layer `name` is one of `only` ("a,b,c"; NULL: every layer). */
int peer_wanted(const char *only, const char *name);
/* The layer of one element of the json's "layers" (dies on a bad shape). */
void peer_layer_from_json(const cJSON *j, peer_layer *l);

/* oneDNN's primitive for a layer, with its memories (random data). */
typedef struct peer_dnnl {
  dnnl_primitive_t prim, src_reorder, dst_reorder; /* reorders NULL when not needed */
  dnnl_memory_t user_src, src, weights, bias, dst, user_dst;
  char impl[64]; /* the implementation oneDNN chose */
} peer_dnnl;

void peer_dnnl_start(void); /* the engine and stream, once */
void peer_dnnl_stop(void);
/* Plans the primitive for OpenMP's current thread count (omp_set_num_threads
 * first) and packs the weights once, untimed, as a compiler would. */
void peer_dnnl_setup(const peer_layer *l, peer_dnnl *r);
void peer_dnnl_call(void *r);         /* one execution of the primitive, waited for */
void peer_dnnl_reorder_call(void *r); /* the src (nchw -> its layout) and dst (back) reorders */
void peer_dnnl_teardown(peer_dnnl *r);

#endif
