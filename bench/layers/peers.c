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
#include "peer_dnnl.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { MAX_LAYERS = 128, NT = 2 };
static const int THREADS[NT] = {1, 2};

typedef struct layer {
  peer_layer p;                 /* the shape */
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
  if (!p) peer_die("out of memory%s", "");
  for (size_t i = 0; i < n; i++) p[i] = (float)rand() / RAND_MAX - 0.5f;
  return p;
}

/* ---- layers ---- */

static int load_layers(const opts *o, layer *ls) {
  FILE *f = fopen(o->path, "rb");
  if (!f) peer_die("cannot open %s", o->path);
  static char buf[1 << 20];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  cJSON *root = cJSON_Parse(buf);
  const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "layers"), *j;
  if (!cJSON_IsArray(arr)) peer_die("%s: no \"layers\" array", o->path);
  int count = 0;
  cJSON_ArrayForEach(j, arr) {
    layer l = {0};
    peer_layer_from_json(j, &l.p);
    if (peer_wanted(o->only, l.p.name) && count < MAX_LAYERS) ls[count++] = l;
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
  const tpl_gconv *g = &r->l->p.g;
  if (r->l->p.dense)
    meas_ref_dense(g->n, g->c, g->k, 0, r->x, r->w, r->bias, NULL, NULL, r->y);
  else
    meas_ref_conv(g, r->x, r->w, r->bias, NULL, r->y);
}

static double bench_blas(const layer *l, int threads, const opts *o) {
  const tpl_gconv *g = &l->p.g;
  openblas_set_num_threads(threads);
  blas_run r = {l, rand_buf(g->n * g->c * g->h * g->w),
                rand_buf(g->k * (g->c / g->groups) * g->kh * g->kw), rand_buf(g->k),
                rand_buf(g->n * g->k * g->oh * g->ow)};
  double t = time_median(blas_call, &r, o);
  free(r.x), free(r.w), free(r.bias), free(r.y);
  return l->p.mflop * 1e-3 / t;
}

/* ---- oneDNN ---- */

/* Fills l->dnnl[ti] and l->reorder_ms[ti]. */
static void bench_dnnl(layer *l, int ti, const opts *o) {
  omp_set_num_threads(THREADS[ti]); /* before the primitive: it plans for this many */
  peer_dnnl r;
  peer_dnnl_setup(&l->p, &r);
  snprintf(l->impl, sizeof l->impl, "%s", r.impl);
  l->dnnl[ti] = l->p.mflop * 1e-3 / time_median(peer_dnnl_call, &r, o);
  l->reorder_ms[ti] = 0;
  if (r.src_reorder || r.dst_reorder)
    l->reorder_ms[ti] = 1e3 * time_median(peer_dnnl_reorder_call, &r, o);
  peer_dnnl_teardown(&r);
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
    else if (a[0] == '-') peer_die("unknown option %s", a);
    else o.path = a;
  }
  if (!o.path) peer_die("usage: peers LAYERS.json [--layers a,b,c] [--libs blas,dnnl] [--min-time S] [--repeats R]%s", "");
  if (o.repeats < 1) o.repeats = 1;
  return o;
}

static void print_rows(const layer *ls, int n) {
  printf("# openblas core: %s\n", openblas_get_corename());
  printf("name\tdesc\tmflop\tblas1\tblas2\tdnnl1\tdnnl2\treorder_ms1\treorder_ms2\tdnnl_impl\n");
  for (int i = 0; i < n; i++) {
    const layer *l = &ls[i];
    printf("%s\t%s\t%.3f\t%.1f\t%.1f\t%.1f\t%.1f\t%.3f\t%.3f\t%s\n", l->p.name, l->p.desc, l->p.mflop,
           l->blas[0], l->blas[1], l->dnnl[0], l->dnnl[1], l->reorder_ms[0], l->reorder_ms[1],
           l->impl);
  }
}

static void run_blas(layer *ls, int n, const opts *o) {
  for (int ti = 0; ti < NT; ti++)
    for (int i = 0; i < n; i++) {
      ls[i].blas[ti] = bench_blas(&ls[i], THREADS[ti], o);
      fprintf(stderr, "openblas %dT %-14s %7.1f GFLOP/s\n", THREADS[ti], ls[i].p.name, ls[i].blas[ti]);
    }
  openblas_set_num_threads(1);
  usleep(500000); /* let OpenBLAS's idle threads stop spinning */
}

static void run_dnnl(layer *ls, int n, const opts *o) {
  peer_dnnl_start();
  for (int ti = 0; ti < NT; ti++)
    for (int i = 0; i < n; i++) {
      bench_dnnl(&ls[i], ti, o);
      fprintf(stderr, "onednn   %dT %-14s %7.1f GFLOP/s (+%.3f ms reorders) %s\n", THREADS[ti],
              ls[i].p.name, ls[i].dnnl[ti], ls[i].reorder_ms[ti], ls[i].impl);
    }
  peer_dnnl_stop();
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
