/*
 * peer_dnnl.c — see peer_dnnl.h.
 */
#define _GNU_SOURCE /* program_invocation_short_name */
#include "peer_dnnl.h"

#include <errno.h> /* program_invocation_short_name */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Noreturn void peer_die(const char *fmt, const char *what) {
  fprintf(stderr, "%s: ", program_invocation_short_name);
  fprintf(stderr, fmt, what);
  fputc('\n', stderr);
  exit(1);
}

#define DNNL(call)                                                          \
  do {                                                                      \
    if ((call) != dnnl_success) peer_die("oneDNN call failed: %s", #call);  \
  } while (0)

/* ---- layers ---- */

int peer_wanted(const char *only, const char *name) {
  if (!only) return 1;
  size_t n = strlen(name);
  for (const char *p = only; (p = strstr(p, name)); p += n)
    if ((p == only || p[-1] == ',') && (p[n] == ',' || p[n] == 0)) return 1;
  return 0;
}

static int json_int(const cJSON *o, const char *key, int dflt) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  return cJSON_IsNumber(v) ? v->valueint : dflt;
}

static void describe(peer_layer *l) {
  const tpl_gconv *g = &l->g;
  if (l->dense) {
    snprintf(l->desc, sizeof l->desc, "dense %ld→%ld", (long)g->c, (long)g->k);
    return;
  }
  int n = snprintf(l->desc, sizeof l->desc, "%ld→%ld %ld² k%ld s%ld p%ld", (long)g->c, (long)g->k,
                   (long)g->h, (long)g->kh, (long)g->sh, (long)g->pt);
  if (g->dh != 1) n += snprintf(l->desc + n, sizeof l->desc - n, " d%ld", (long)g->dh);
  if (g->groups != 1) snprintf(l->desc + n, sizeof l->desc - n, " g%ld", (long)g->groups);
}

void peer_layer_from_json(const cJSON *j, peer_layer *l) {
  const cJSON *name = cJSON_GetObjectItemCaseSensitive(j, "name");
  const cJSON *op = cJSON_GetObjectItemCaseSensitive(j, "op");
  if (!cJSON_IsString(name) || !cJSON_IsString(op)) peer_die("%s: a layer without name or op", "json");
  snprintf(l->name, sizeof l->name, "%s", name->valuestring);
  tpl_gconv *g = &l->g;
  l->dense = !strcmp(op->valuestring, "dense");
  g->n = json_int(j, "N", 1);
  if (l->dense) {
    g->c = json_int(j, "IN", 0), g->k = json_int(j, "OUT", 0);
    g->h = g->w = g->oh = g->ow = g->kh = g->kw = g->sh = g->sw = g->dh = g->dw = g->groups = 1;
  } else {
    g->c = json_int(j, "C", 0), g->h = json_int(j, "H", 0), g->w = json_int(j, "W", 0);
    g->k = json_int(j, "K", 0), g->kh = json_int(j, "KH", 0), g->kw = json_int(j, "KW", 0);
    g->sh = g->sw = json_int(j, "stride", 1), g->pt = g->pl = json_int(j, "pad", 0);
    g->dh = g->dw = json_int(j, "dilation", 1), g->groups = json_int(j, "group", 1);
    g->oh = (g->h + 2 * g->pt - g->dh * (g->kh - 1) - 1) / g->sh + 1;
    g->ow = (g->w + 2 * g->pl - g->dw * (g->kw - 1) - 1) / g->sw + 1;
    if (json_int(j, "OH", (int)g->oh) != g->oh || json_int(j, "OW", (int)g->ow) != g->ow)
      peer_die("%s: OH/OW do not match the shape", l->name);
  }
  if (g->c <= 0 || g->k <= 0 || g->h <= 0 || g->kh <= 0) peer_die("%s: bad shape", l->name);
  l->mflop = 2e-6 * g->n * g->k * g->oh * g->ow * (g->c / g->groups) * g->kh * g->kw;
  describe(l);
}

/* ---- oneDNN: the primitive in its preferred layout ---- */

static dnnl_engine_t engine;
static dnnl_stream_t stream;

static void exec2(dnnl_primitive_t p, dnnl_stream_t s, int a0, dnnl_memory_t m0, int a1,
                  dnnl_memory_t m1) {
  dnnl_exec_arg_t args[2] = {{a0, m0}, {a1, m1}};
  DNNL(dnnl_primitive_execute(p, s, 2, args));
}

void peer_dnnl_call(void *p) {
  peer_dnnl *r = p;
  dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, r->src}, {DNNL_ARG_WEIGHTS, r->weights},
                             {DNNL_ARG_BIAS, r->bias}, {DNNL_ARG_DST, r->dst}};
  DNNL(dnnl_primitive_execute(r->prim, stream, 4, args));
  DNNL(dnnl_stream_wait(stream));
}

void peer_dnnl_reorder_call(void *p) {
  peer_dnnl *r = p;
  if (r->src_reorder) exec2(r->src_reorder, stream, DNNL_ARG_FROM, r->user_src, DNNL_ARG_TO, r->src);
  if (r->dst_reorder) exec2(r->dst_reorder, stream, DNNL_ARG_FROM, r->dst, DNNL_ARG_TO, r->user_dst);
  DNNL(dnnl_stream_wait(stream));
}

/* A memory of descriptor md filled with random numbers (plain data). */
static dnnl_memory_t mem_new(const dnnl_memory_desc_t *md) {
  dnnl_memory_t m;
  DNNL(dnnl_memory_create(&m, md, engine, DNNL_MEMORY_ALLOCATE));
  void *h;
  DNNL(dnnl_memory_get_data_handle(m, &h));
  size_t n = dnnl_memory_desc_get_size(md) / sizeof(float);
  for (size_t i = 0; i < n; i++) ((float *)h)[i] = (float)rand() / RAND_MAX - 0.5f;
  return m;
}

/* The memory the primitive wants for `what`: `user` itself when the layouts
 * agree, else a new one and (in *reorder) the reorder from / to user. */
static dnnl_memory_t prim_mem(dnnl_primitive_desc_t pd, dnnl_query_t what, dnnl_memory_t user,
                              const dnnl_memory_desc_t *user_md, int to_user,
                              dnnl_primitive_t *reorder) {
  const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(pd, what, 0);
  *reorder = NULL;
  if (dnnl_memory_desc_equal(md, user_md)) return user;
  dnnl_memory_t m = mem_new(md);
  dnnl_primitive_desc_t rpd;
  if (to_user)
    DNNL(dnnl_reorder_primitive_desc_create(&rpd, md, engine, user_md, engine, NULL));
  else
    DNNL(dnnl_reorder_primitive_desc_create(&rpd, user_md, engine, md, engine, NULL));
  DNNL(dnnl_primitive_create(reorder, rpd));
  DNNL(dnnl_primitive_desc_destroy(rpd));
  return m;
}

/* Operation descriptor of layer l with the given memory descriptors. */
static dnnl_primitive_desc_t make_pd(const peer_layer *l, const dnnl_memory_desc_t *src,
                                     const dnnl_memory_desc_t *wei, const dnnl_memory_desc_t *bia,
                                     const dnnl_memory_desc_t *dst) {
  const tpl_gconv *g = &l->g;
  dnnl_primitive_desc_t pd;
  if (l->dense) {
    dnnl_inner_product_desc_t d;
    DNNL(dnnl_inner_product_forward_desc_init(&d, dnnl_forward_inference, src, wei, bia, dst));
    DNNL(dnnl_primitive_desc_create(&pd, &d, NULL, engine, NULL));
    return pd;
  }
  dnnl_dims_t strides = {g->sh, g->sw}, dil = {g->dh - 1, g->dw - 1};
  dnnl_dims_t pad_l = {g->pt, g->pl};
  dnnl_dims_t pad_r = {(g->oh - 1) * g->sh + g->dh * (g->kh - 1) + 1 - g->h - g->pt,
                       (g->ow - 1) * g->sw + g->dw * (g->kw - 1) + 1 - g->w - g->pl};
  if (pad_r[0] < 0) pad_r[0] = 0;
  if (pad_r[1] < 0) pad_r[1] = 0;
  dnnl_convolution_desc_t d;
  DNNL(dnnl_dilated_convolution_forward_desc_init(&d, dnnl_forward_inference,
                                                  dnnl_convolution_direct, src, wei, bia, dst,
                                                  strides, dil, pad_l, pad_r));
  DNNL(dnnl_primitive_desc_create(&pd, &d, NULL, engine, NULL));
  return pd;
}

/* Descriptors of layer l: plain (the user's) and any (the primitive's choice). */
static void layer_mds(const peer_layer *l, dnnl_format_tag_t any, dnnl_memory_desc_t md[4]) {
  const tpl_gconv *g = &l->g;
  dnnl_dims_t b = {g->k};
  DNNL(dnnl_memory_desc_init_by_tag(&md[2], 1, b, dnnl_f32, dnnl_x));
  if (l->dense) {
    dnnl_dims_t s = {g->n, g->c}, w = {g->k, g->c}, d = {g->n, g->k};
    DNNL(dnnl_memory_desc_init_by_tag(&md[0], 2, s, dnnl_f32, any ? any : dnnl_nc));
    DNNL(dnnl_memory_desc_init_by_tag(&md[1], 2, w, dnnl_f32, any ? any : dnnl_oi));
    DNNL(dnnl_memory_desc_init_by_tag(&md[3], 2, d, dnnl_f32, any ? any : dnnl_nc));
    return;
  }
  dnnl_dims_t s = {g->n, g->c, g->h, g->w}, d = {g->n, g->k, g->oh, g->ow};
  dnnl_dims_t w = {g->k, g->c, g->kh, g->kw};
  dnnl_dims_t gw = {g->groups, g->k / g->groups, g->c / g->groups, g->kh, g->kw};
  DNNL(dnnl_memory_desc_init_by_tag(&md[0], 4, s, dnnl_f32, any ? any : dnnl_nchw));
  if (g->groups == 1)
    DNNL(dnnl_memory_desc_init_by_tag(&md[1], 4, w, dnnl_f32, any ? any : dnnl_oihw));
  else
    DNNL(dnnl_memory_desc_init_by_tag(&md[1], 5, gw, dnnl_f32, any ? any : dnnl_goihw));
  DNNL(dnnl_memory_desc_init_by_tag(&md[3], 4, d, dnnl_f32, any ? any : dnnl_nchw));
}

void peer_dnnl_setup(const peer_layer *l, peer_dnnl *r) {
  dnnl_memory_desc_t user[4], any[4];
  layer_mds(l, 0, user);
  layer_mds(l, dnnl_format_tag_any, any);
  dnnl_primitive_desc_t pd = make_pd(l, &any[0], &any[1], &user[2], &any[3]);
  const char *impl = NULL;
  dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
  *r = (peer_dnnl){0};
  snprintf(r->impl, sizeof r->impl, "%s", impl ? impl : "?");
  r->user_src = mem_new(&user[0]), r->user_dst = mem_new(&user[3]), r->bias = mem_new(&user[2]);
  dnnl_memory_t user_w = mem_new(&user[1]);
  dnnl_primitive_t wreorder;
  r->weights = prim_mem(pd, dnnl_query_weights_md, user_w, &user[1], 0, &wreorder);
  if (wreorder) { /* weights are packed once, as a compiler would */
    exec2(wreorder, stream, DNNL_ARG_FROM, user_w, DNNL_ARG_TO, r->weights);
    DNNL(dnnl_stream_wait(stream));
    DNNL(dnnl_primitive_destroy(wreorder));
    DNNL(dnnl_memory_destroy(user_w));
  }
  r->src = prim_mem(pd, dnnl_query_src_md, r->user_src, &user[0], 0, &r->src_reorder);
  r->dst = prim_mem(pd, dnnl_query_dst_md, r->user_dst, &user[3], 1, &r->dst_reorder);
  DNNL(dnnl_primitive_create(&r->prim, pd));
  DNNL(dnnl_primitive_desc_destroy(pd));
}

void peer_dnnl_teardown(peer_dnnl *r) {
  dnnl_primitive_t ps[3] = {r->prim, r->src_reorder, r->dst_reorder};
  for (int i = 0; i < 3; i++)
    if (ps[i]) DNNL(dnnl_primitive_destroy(ps[i]));
  if (r->src != r->user_src) DNNL(dnnl_memory_destroy(r->src));
  if (r->dst != r->user_dst) DNNL(dnnl_memory_destroy(r->dst));
  dnnl_memory_t ms[4] = {r->user_src, r->user_dst, r->weights, r->bias};
  for (int i = 0; i < 4; i++) DNNL(dnnl_memory_destroy(ms[i]));
}

void peer_dnnl_start(void) {
  DNNL(dnnl_engine_create(&engine, dnnl_cpu, 0));
  DNNL(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags));
}

void peer_dnnl_stop(void) {
  DNNL(dnnl_stream_destroy(stream));
  DNNL(dnnl_engine_destroy(engine));
}
