/*
 * peers.c — the library side of the per-layer peer benchmark: every layer
 * of cnn_layers.json timed with OpenBLAS (im2col + sgemm + bias on NCHW,
 * measure/reference.c) and with oneDNN (its convolution / inner-product
 * primitive in the layout it prefers), at 1 and 2 threads.
 *
 *   peers LAYERS.json [--layers a,b,c] [--libs blas,dnnl] [--min-time S] [--repeats R]
 *
 * Prints "# openblas core: NAME", a header line, then one tab-separated
 * line per layer:
 *   name desc mflop blas1 blas2 dnnl1 dnnl2 reorder_ms1 reorder_ms2 dnnl_impl
 * GFLOP/s = 2 * MACs / median seconds. reorder_ms is oneDNN's src reorder
 * (nchw -> its layout) plus dst reorder (back), excluded from dnnl*;
 * weights are reordered once, untimed.
 *
 * Timing: one warm-up call, then the call count per measurement is chosen so
 * that one measurement lasts at least --min-time seconds (default 0.2); the
 * median over --repeats measurements (default 5) is kept. The libraries run
 * one after the other (all OpenBLAS runs, then all oneDNN runs) with a pause
 * between, so that one library's idle spinning threads do not steal the
 * other's cores. Threads: openblas_set_num_threads for OpenBLAS;
 * omp_set_num_threads before creating the primitive for oneDNN (Debian's
 * libdnnl is built on OpenMP / libgomp).
 */
#include "chamcc/measure.h"

#include <cblas.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <oneapi/dnnl/dnnl.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { MAX_LAYERS = 128, NT = 2 };
static const int THREADS[NT] = {1, 2};

typedef struct layer {
  char name[64], desc[96];
  int dense;                    /* op "dense": out[n][OUT] = in[n][IN] x W^T */
  tpl_gconv g;                  /* conv shape (dense: n, c = IN, k = OUT) */
  double mflop;                 /* 2 * MACs / 1e6 */
  double blas[NT], dnnl[NT];    /* GFLOP/s */
  double reorder_ms[NT];        /* oneDNN src + dst reorders */
  char impl[64];                /* oneDNN implementation name */
} layer;

typedef struct opts {
  const char *path, *only;
  int blas, dnnl; /* libraries to run */
  double min_time;
  int repeats;
} opts;

static void die(const char *fmt, const char *what) {
  fprintf(stderr, "peers: ");
  fprintf(stderr, fmt, what);
  fputc('\n', stderr);
  exit(1);
}

#define DNNL(call)                                                          \
  do {                                                                      \
    if ((call) != dnnl_success) die("oneDNN call failed: %s", #call);       \
  } while (0)

/* ---- timing ---- */

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Median seconds per call of fn(ctx). */
static double time_median(void (*fn)(void *), void *ctx, const opts *o) {
  double t0 = now();
  fn(ctx); /* warm-up: page faults, JIT, thread start */
  double once = now() - t0;
  t0 = now();
  fn(ctx);
  once = fmin(once, now() - t0);
  long iters = (long)ceil(o->min_time / fmax(once, 1e-7));
  double t[64];
  int r = o->repeats < 64 ? o->repeats : 64;
  for (int i = 0; i < r; i++) {
    t0 = now();
    for (long j = 0; j < iters; j++) fn(ctx);
    t[i] = (now() - t0) / iters;
  }
  qsort(t, r, sizeof *t, cmp_double);
  return r % 2 ? t[r / 2] : (t[r / 2 - 1] + t[r / 2]) / 2;
}

static float *rand_buf(size_t n) {
  float *p = malloc((n ? n : 1) * sizeof(float));
  if (!p) die("out of memory%s", "");
  for (size_t i = 0; i < n; i++) p[i] = (float)rand() / RAND_MAX - 0.5f;
  return p;
}

/* ---- layers ---- */

static int json_int(const cJSON *o, const char *key, int dflt) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  return cJSON_IsNumber(v) ? v->valueint : dflt;
}

static int wanted(const opts *o, const char *name) {
  if (!o->only) return 1;
  size_t n = strlen(name);
  for (const char *p = o->only; (p = strstr(p, name)); p += n)
    if ((p == o->only || p[-1] == ',') && (p[n] == ',' || p[n] == 0)) return 1;
  return 0;
}

static void describe(layer *l) {
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

static void layer_from_json(const cJSON *j, layer *l) {
  const cJSON *name = cJSON_GetObjectItemCaseSensitive(j, "name");
  const cJSON *op = cJSON_GetObjectItemCaseSensitive(j, "op");
  if (!cJSON_IsString(name) || !cJSON_IsString(op)) die("%s: a layer without name or op", "json");
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
      die("%s: OH/OW do not match the shape", l->name);
  }
  if (g->c <= 0 || g->k <= 0 || g->h <= 0 || g->kh <= 0) die("%s: bad shape", l->name);
  l->mflop = 2e-6 * g->n * g->k * g->oh * g->ow * (g->c / g->groups) * g->kh * g->kw;
  describe(l);
}

static int load_layers(const opts *o, layer *ls) {
  FILE *f = fopen(o->path, "rb");
  if (!f) die("cannot open %s", o->path);
  static char buf[1 << 20];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  cJSON *root = cJSON_Parse(buf);
  const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "layers"), *j;
  if (!cJSON_IsArray(arr)) die("%s: no \"layers\" array", o->path);
  int count = 0;
  cJSON_ArrayForEach(j, arr) {
    layer l = {0};
    layer_from_json(j, &l);
    if (wanted(o, l.name) && count < MAX_LAYERS) ls[count++] = l;
  }
  cJSON_Delete(root);
  return count;
}

/* ---- OpenBLAS: im2col + sgemm + bias ---- */

typedef struct blas_run {
  const layer *l;
  float *x, *w, *bias, *y;
} blas_run;

static void blas_call(void *p) {
  blas_run *r = p;
  const tpl_gconv *g = &r->l->g;
  if (r->l->dense)
    meas_ref_dense(g->n, g->c, g->k, 0, r->x, r->w, r->bias, NULL, NULL, r->y);
  else
    meas_ref_conv(g, r->x, r->w, r->bias, NULL, r->y);
}

static double bench_blas(const layer *l, int threads, const opts *o) {
  const tpl_gconv *g = &l->g;
  openblas_set_num_threads(threads);
  blas_run r = {l, rand_buf(g->n * g->c * g->h * g->w),
                rand_buf(g->k * (g->c / g->groups) * g->kh * g->kw), rand_buf(g->k),
                rand_buf(g->n * g->k * g->oh * g->ow)};
  double t = time_median(blas_call, &r, o);
  free(r.x), free(r.w), free(r.bias), free(r.y);
  return l->mflop * 1e-3 / t;
}

/* ---- oneDNN: the primitive in its preferred layout ---- */

typedef struct dnnl_run {
  dnnl_stream_t stream;
  dnnl_primitive_t prim, src_reorder, dst_reorder; /* reorders NULL when not needed */
  dnnl_memory_t user_src, src, weights, bias, dst, user_dst;
} dnnl_run;

static dnnl_engine_t engine;

static void exec2(dnnl_primitive_t p, dnnl_stream_t s, int a0, dnnl_memory_t m0, int a1,
                  dnnl_memory_t m1) {
  dnnl_exec_arg_t args[2] = {{a0, m0}, {a1, m1}};
  DNNL(dnnl_primitive_execute(p, s, 2, args));
}

static void dnnl_prim_call(void *p) {
  dnnl_run *r = p;
  dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, r->src}, {DNNL_ARG_WEIGHTS, r->weights},
                             {DNNL_ARG_BIAS, r->bias}, {DNNL_ARG_DST, r->dst}};
  DNNL(dnnl_primitive_execute(r->prim, r->stream, 4, args));
  DNNL(dnnl_stream_wait(r->stream));
}

static void dnnl_reorder_call(void *p) {
  dnnl_run *r = p;
  if (r->src_reorder) exec2(r->src_reorder, r->stream, DNNL_ARG_FROM, r->user_src, DNNL_ARG_TO, r->src);
  if (r->dst_reorder) exec2(r->dst_reorder, r->stream, DNNL_ARG_FROM, r->dst, DNNL_ARG_TO, r->user_dst);
  DNNL(dnnl_stream_wait(r->stream));
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
static dnnl_primitive_desc_t make_pd(const layer *l, const dnnl_memory_desc_t *src,
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
static void layer_mds(const layer *l, dnnl_format_tag_t any, dnnl_memory_desc_t md[4]) {
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

static void dnnl_setup(layer *l, dnnl_stream_t stream, dnnl_run *r) {
  dnnl_memory_desc_t user[4], any[4];
  layer_mds(l, 0, user);
  layer_mds(l, dnnl_format_tag_any, any);
  dnnl_primitive_desc_t pd = make_pd(l, &any[0], &any[1], &user[2], &any[3]);
  const char *impl = NULL;
  dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
  snprintf(l->impl, sizeof l->impl, "%s", impl ? impl : "?");
  *r = (dnnl_run){.stream = stream};
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

static void dnnl_teardown(dnnl_run *r) {
  dnnl_primitive_t ps[3] = {r->prim, r->src_reorder, r->dst_reorder};
  for (int i = 0; i < 3; i++)
    if (ps[i]) DNNL(dnnl_primitive_destroy(ps[i]));
  if (r->src != r->user_src) DNNL(dnnl_memory_destroy(r->src));
  if (r->dst != r->user_dst) DNNL(dnnl_memory_destroy(r->dst));
  dnnl_memory_t ms[4] = {r->user_src, r->user_dst, r->weights, r->bias};
  for (int i = 0; i < 4; i++) DNNL(dnnl_memory_destroy(ms[i]));
}

/* Fills l->dnnl[ti] and l->reorder_ms[ti]. */
static void bench_dnnl(layer *l, int ti, dnnl_stream_t stream, const opts *o) {
  omp_set_num_threads(THREADS[ti]); /* before the primitive: it plans for this many */
  dnnl_run r;
  dnnl_setup(l, stream, &r);
  l->dnnl[ti] = l->mflop * 1e-3 / time_median(dnnl_prim_call, &r, o);
  l->reorder_ms[ti] = 0;
  if (r.src_reorder || r.dst_reorder)
    l->reorder_ms[ti] = 1e3 * time_median(dnnl_reorder_call, &r, o);
  dnnl_teardown(&r);
}

/* ---- driver ---- */

static opts parse_args(int argc, char **argv) {
  opts o = {.min_time = 0.2, .repeats = 5, .blas = 1, .dnnl = 1};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--layers") && i + 1 < argc) o.only = argv[++i];
    else if (!strcmp(a, "--libs") && i + 1 < argc)
      o.blas = !!strstr(argv[i + 1], "blas"), o.dnnl = !!strstr(argv[++i], "dnnl");
    else if (!strcmp(a, "--min-time") && i + 1 < argc) o.min_time = atof(argv[++i]);
    else if (!strcmp(a, "--repeats") && i + 1 < argc) o.repeats = atoi(argv[++i]);
    else if (a[0] == '-') die("unknown option %s", a);
    else o.path = a;
  }
  if (!o.path) die("usage: peers LAYERS.json [--layers a,b,c] [--libs blas,dnnl] [--min-time S] [--repeats R]%s", "");
  if (o.repeats < 1) o.repeats = 1;
  return o;
}

static void print_rows(const layer *ls, int n) {
  printf("# openblas core: %s\n", openblas_get_corename());
  printf("name\tdesc\tmflop\tblas1\tblas2\tdnnl1\tdnnl2\treorder_ms1\treorder_ms2\tdnnl_impl\n");
  for (int i = 0; i < n; i++) {
    const layer *l = &ls[i];
    printf("%s\t%s\t%.3f\t%.1f\t%.1f\t%.1f\t%.1f\t%.3f\t%.3f\t%s\n", l->name, l->desc, l->mflop,
           l->blas[0], l->blas[1], l->dnnl[0], l->dnnl[1], l->reorder_ms[0], l->reorder_ms[1],
           l->impl);
  }
}

static void run_blas(layer *ls, int n, const opts *o) {
  for (int ti = 0; ti < NT; ti++)
    for (int i = 0; i < n; i++) {
      ls[i].blas[ti] = bench_blas(&ls[i], THREADS[ti], o);
      fprintf(stderr, "openblas %dT %-14s %7.1f GFLOP/s\n", THREADS[ti], ls[i].name, ls[i].blas[ti]);
    }
  openblas_set_num_threads(1);
  usleep(500000); /* let OpenBLAS's idle threads stop spinning */
}

static void run_dnnl(layer *ls, int n, const opts *o) {
  dnnl_stream_t stream;
  DNNL(dnnl_engine_create(&engine, dnnl_cpu, 0));
  DNNL(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags));
  for (int ti = 0; ti < NT; ti++)
    for (int i = 0; i < n; i++) {
      bench_dnnl(&ls[i], ti, stream, o);
      fprintf(stderr, "onednn   %dT %-14s %7.1f GFLOP/s (+%.3f ms reorders) %s\n", THREADS[ti],
              ls[i].name, ls[i].dnnl[ti], ls[i].reorder_ms[ti], ls[i].impl);
    }
  DNNL(dnnl_stream_destroy(stream));
  DNNL(dnnl_engine_destroy(engine));
}

int main(int argc, char **argv) {
  opts o = parse_args(argc, argv);
  static layer ls[MAX_LAYERS];
  int n = load_layers(&o, ls);
  srand(1);
  if (o.blas) run_blas(ls, n, &o);
  if (o.dnnl) run_dnnl(ls, n, &o);
  print_rows(ls, n);
  return 0;
}
