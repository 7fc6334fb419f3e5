/*
 * layer_task.c — see layer_task.h.
 */
#include "layer_task.h"

#include <stdio.h>
#include <string.h>

int64_t layer_num(const cJSON *o, const char *k) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : 0;
}

const char *layer_str(const cJSON *o, const char *k) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  return cJSON_IsString(v) ? v->valuestring : "";
}

/* The task chamcc would make for this layer, for a library on `threads`
 * threads (0: every core; the records say it, and the cost model's
 * features take it). */
void layer_task(const cJSON *l, const cg_target *tgt, int threads, tune_task *t) {
  int L = tgt->lanes;
  if (!strcmp(layer_str(l, "op"), "dense")) {
    int64_t n = layer_num(l, "N") ? layer_num(l, "N") : 1;
    tpl_dense d = {n, layer_num(l, "IN"), layer_num(l, "OUT"), 0, L, {0}, tgt->vregs};
    tune_task_init_dense(t, &d);
    t->mach = tune_machine_of(tgt, threads);
    return;
  }
  tpl_conv w = {0};
  int64_t C = layer_num(l, "C"), K = layer_num(l, "K"), p = layer_num(l, "pad"), g = layer_num(l, "group");
  w.in = (tpl_view){layer_num(l, "N"), C, layer_num(l, "H"), layer_num(l, "W"), C <= 4 ? 1 : L, p, p};
  w.out = (tpl_view){layer_num(l, "N"), K, layer_num(l, "OH"), layer_num(l, "OW"), L, 0, 0};
  w.kh = layer_num(l, "KH");
  w.kw = layer_num(l, "KW");
  w.sh = w.sw = layer_num(l, "stride");
  w.dh = w.dw = layer_num(l, "dilation") ? layer_num(l, "dilation") : 1;
  w.pt = w.pl = p;
  w.depthwise = g > 1 && g == C && K == C;
  w.groups = w.depthwise ? 1 : g;
  w.vregs = tgt->vregs;
  w.l2 = tgt->l2, w.l1d = tgt->l1d;
  tune_task_init_conv(t, &w);
  t->mach = tune_machine_of(tgt, threads);
}


void layer_square_task(const cg_target *tgt, const int shape[6], int threads, tune_task *t) {
  int C = shape[0], H = shape[1], K = shape[2], k = shape[3], s = shape[4], p = shape[5];
  tpl_conv w = {0};
  int64_t oh = (H + 2 * p - k) / s + 1;
  w.in = (tpl_view){1, C, H, H, C % tgt->lanes ? 1 : tgt->lanes, p, p};
  w.out = (tpl_view){1, K, oh, oh, tgt->lanes, 0, 0};
  w.kh = w.kw = k, w.sh = w.sw = s, w.dh = w.dw = 1, w.pt = w.pl = p;
  w.vregs = tgt->vregs, w.l2 = tgt->l2, w.l1d = tgt->l1d;
  tune_task_init_conv(t, &w);
  t->mach = tune_machine_of(tgt, threads);
}

int layer_square_parse(const char *text, int shape[6]) {
  return sscanf(text, "%d,%d,%d,%d,%d,%d", &shape[0], &shape[1], &shape[2], &shape[3], &shape[4], &shape[5]) == 6
             ? 0
             : -1;
}

const char *layer_config_indices(const tune_task *t, const char *indices, int *idx) {
  char text[512];
  if ((size_t)snprintf(text, sizeof text, "i:%s", indices) >= sizeof text) return "too long";
  return tune_task_parse_config(t, text, idx);
}
