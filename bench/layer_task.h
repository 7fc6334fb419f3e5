/*
 * layer_task.h — a layer of ../shared/workloads/cnn_layers.json as the
 * tuning task chamcc makes for it when it lowers a model (blocked NCHW[L]c
 * activations with the padding in a halo; a plain NCHW input for a first
 * layer of a few channels). Shared by the bench tools (tune_layers,
 * beside).
 */
#ifndef CHAMCC_BENCH_LAYER_TASK_H
#define CHAMCC_BENCH_LAYER_TASK_H

#include "chamcc/tune.h"

#include <cjson/cJSON.h>

int64_t layer_num(const cJSON *o, const char *k);     /* a number field, 0 when missing */
const char *layer_str(const cJSON *o, const char *k); /* a string field, "" when missing */
/* The task of layer l for a library on `threads` threads (0: every core;
 * the records say it, and the cost model's features take it). */
void layer_task(const cJSON *l, const cg_target *tgt, int threads, tune_task *t);
/* The task of a square convolution given as C,H,K,k,s,p (the --layer of
 * bench/interleave and bench/offsets): C input channels of H x H, K
 * outputs, a k x k window, stride s, padding p, batch 1, for `threads`
 * threads; a plain NCHW input when C is not a multiple of the vector
 * lanes, as a first layer is lowered. */
void layer_square_task(const cg_target *tgt, const int shape[6], int threads, tune_task *t);
/* Reads "C,H,K,k,s,p" into shape; 0, or -1 if it is not six integers. */
int layer_square_parse(const char *text, int shape[6]);
/* A config given as option indices "I,I,..." (as a log's records hold
 * them) into idx: tune_task_parse_config's "i:" form. NULL or why not. */
const char *layer_config_indices(const tune_task *t, const char *indices, int *idx);

#endif
