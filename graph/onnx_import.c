/*
 * onnx_import.c — reads a .onnx file into a raw gr_graph (gr_import).
 *
 * The protobuf is decoded by the protobuf-c parser generated from Debian's
 * onnx.proto; this file only walks the decoded message and distrusts all of
 * it: every count, dimension and name is checked before it is used, so a
 * truncated or hostile file gives "PATH: not a valid ONNX model (...)" or a
 * node error, never a crash.
 *
 * How: tensors are looked up by name in a small open-addressing hash table;
 * a name seen first as a node input gets a tensor at once and is filled
 * later (nodes need not be in topological order). Initializers become
 * constant tensors (their data decoded from raw_data, the typed fields, or
 * external files next to the model); graph inputs that are initializers are
 * not runtime inputs. Symbolic dimensions of runtime inputs take the
 * user's shapes (gr_import_shapes); else a batch is 1 and others an error.
 * Constant nodes stay nodes here; constant folding turns them into data.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gr_internal.h"
#include "onnx.pb-c.h"

typedef struct importer {
  gr_graph *g;         /* graph being built */
  chm_err *e;          /* where errors go */
  char *dir;           /* real path of the model's folder (malloc'ed) */
  int *table;          /* hash table of tensor indices, -1 = empty */
  int table_size;      /* power of two */
  int table_used;      /* entries in table (some tensors are not named in it) */
  bool *defined;       /* per tensor: produced, input or initializer (malloc'ed) */
  int defined_cap;     /* capacity of defined[] */
  const gr_input_shape *shapes; /* the user's input shapes */
  int n_shapes;
} importer;

static int bad_model(importer *im, const char *why) {
  return chm_errorf(im->e, "%s: not a valid ONNX model (%s)", im->g->path, why);
}

/* ---- name table ---- */

static unsigned hash_str(const char *s) {
  unsigned h = 2166136261u;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
  return h;
}

static void table_insert(importer *im, int t) {
  unsigned mask = (unsigned)im->table_size - 1;
  unsigned h = hash_str(im->g->tensors[t].name) & mask;
  while (im->table[h] >= 0) h = (h + 1) & mask;
  im->table[h] = t;
  im->table_used++;
}

/* Doubles the table, keeping its entries. Only tensors that were named in
 * it go back in: attribute tensors and unnamed outputs are private. */
static void table_grow(importer *im) {
  int *old = im->table, old_size = im->table_size;
  im->table_size = old_size ? old_size * 2 : 256;
  im->table = chm_malloc((size_t)im->table_size * sizeof(int));
  memset(im->table, -1, (size_t)im->table_size * sizeof(int));
  im->table_used = 0;
  for (int h = 0; h < old_size; h++)
    if (old[h] >= 0) table_insert(im, old[h]);
  free(old);
}

static int lookup(importer *im, const char *name) {
  if (!im->table_size) return -1;
  unsigned mask = (unsigned)im->table_size - 1;
  for (unsigned h = hash_str(name) & mask; im->table[h] >= 0; h = (h + 1) & mask)
    if (strcmp(im->g->tensors[im->table[h]].name, name) == 0) return im->table[h];
  return -1;
}

/* The tensor called NAME, created when new. */
static int intern(importer *im, const char *name) {
  int t = lookup(im, name);
  if (t >= 0) return t;
  if (2 * (im->table_used + 1) > im->table_size) table_grow(im);
  t = gr__add_tensor(im->g, name);
  table_insert(im, t);
  if (t >= im->defined_cap) {
    int cap = im->defined_cap ? 2 * im->defined_cap : 256;
    im->defined = chm_realloc(im->defined, (size_t)cap * sizeof(bool));
    memset(im->defined + im->defined_cap, 0, (size_t)(cap - im->defined_cap) * sizeof(bool));
    im->defined_cap = cap;
  }
  return t;
}

/* ---- tensor data ---- */

static gr_dtype map_dtype(int32_t onnx_type) {
  switch (onnx_type) {
  case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: return GR_F32;
  case ONNX__TENSOR_PROTO__DATA_TYPE__INT64: return GR_I64;
  case ONNX__TENSOR_PROTO__DATA_TYPE__INT32: return GR_I32;
  case ONNX__TENSOR_PROTO__DATA_TYPE__BOOL: return GR_BOOL;
  default: return GR_OTHER;
  }
}

/* Bytes per element of raw_data for small integer types we widen to int32. */
static int narrow_int_size(int32_t onnx_type) {
  switch (onnx_type) {
  case ONNX__TENSOR_PROTO__DATA_TYPE__INT8:
  case ONNX__TENSOR_PROTO__DATA_TYPE__UINT8: return 1;
  case ONNX__TENSOR_PROTO__DATA_TYPE__INT16:
  case ONNX__TENSOR_PROTO__DATA_TYPE__UINT16: return 2;
  default: return 0;
  }
}

/* Bytes per element of the types kept opaque (GR_OTHER), 0 if variable (strings). */
static size_t opaque_size(int32_t onnx_type) {
  switch (onnx_type) {
  case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16:
  case ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16: return 2;
  case ONNX__TENSOR_PROTO__DATA_TYPE__UINT32: return 4;
  case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE:
  case ONNX__TENSOR_PROTO__DATA_TYPE__UINT64:
  case ONNX__TENSOR_PROTO__DATA_TYPE__COMPLEX64: return 8;
  case ONNX__TENSOR_PROTO__DATA_TYPE__COMPLEX128: return 16;
  default: return 0;
  }
}

static int32_t widen(const uint8_t *p, int32_t onnx_type) {
  switch (onnx_type) {
  case ONNX__TENSOR_PROTO__DATA_TYPE__INT8: return (int8_t)p[0];
  case ONNX__TENSOR_PROTO__DATA_TYPE__UINT8: return p[0];
  case ONNX__TENSOR_PROTO__DATA_TYPE__INT16: return (int16_t)(p[0] | p[1] << 8);
  default: return (uint16_t)(p[0] | p[1] << 8);
  }
}

/* Loads external data: keys location / offset / length, relative to the model's folder. */
static int read_external(importer *im, const Onnx__TensorProto *tp, const char *tname,
                         void **out, size_t bytes) {
  const char *loc = NULL;
  long long offset = 0, length = -1;
  for (size_t i = 0; i < tp->n_external_data; i++) {
    const Onnx__StringStringEntryProto *kv = tp->external_data[i];
    if (!kv || !kv->key || !kv->value) continue;
    if (strcmp(kv->key, "location") == 0) loc = kv->value;
    else if (strcmp(kv->key, "offset") == 0) offset = strtoll(kv->value, NULL, 10);
    else if (strcmp(kv->key, "length") == 0) length = strtoll(kv->value, NULL, 10);
  }
  const char *path = im->g->path;
  if (!loc || !*loc)
    return chm_errorf(im->e, "%s: tensor '%s': external data without a location", path, tname);
  if (loc[0] == '/')
    return chm_errorf(im->e, "%s: tensor '%s': external data location '%s' is absolute (must be "
                      "relative to the model's folder)", path, tname, loc);
  char *joined = chm_arena_printf(im->g->arena, "%s/%s", im->dir, loc);
  char *real = realpath(joined, NULL);
  if (!real)
    return chm_errorf(im->e, "%s: tensor '%s': external data '%s': %s", path, tname, loc,
                      strerror(errno));
  size_t dl = strlen(im->dir);
  bool inside = strncmp(real, im->dir, dl) == 0 && (real[dl] == '/' || dl == 1);
  int rc = 0;
  if (!inside)
    rc = chm_errorf(im->e, "%s: tensor '%s': external data location '%s' escapes the model's "
                    "folder", path, tname, loc);
  FILE *f = rc ? NULL : fopen(real, "rb");
  if (!rc && !f)
    rc = chm_errorf(im->e, "%s: tensor '%s': external data '%s': %s", path, tname, loc,
                    strerror(errno));
  if (f) {
    long long size = fseek(f, 0, SEEK_END) == 0 ? (long long)ftell(f) : -1;
    bool in_file = offset >= 0 && size >= 0 && offset <= size; /* so size - offset cannot overflow */
    if (in_file && length < 0) length = size - offset;
    if (!in_file || length != (long long)bytes || length > size - offset)
      rc = chm_errorf(im->e, "%s: tensor '%s': external data '%s' (offset %lld, length %lld, "
                      "file %lld bytes) does not hold the %zu bytes the tensor needs", path,
                      tname, loc, offset, length, size, bytes);
    else if (fseek(f, (long)offset, SEEK_SET) != 0 ||
             fread(*out = chm_arena_alloc(im->g->arena, bytes + 1), 1, bytes, f) != bytes)
      rc = chm_errorf(im->e, "%s: tensor '%s': cannot read external data '%s'", path, tname, loc);
    fclose(f);
  }
  free(real);
  return rc;
}

/* Copies the typed field matching the element type into dst. */
static int read_typed(importer *im, const Onnx__TensorProto *tp, const char *tname,
                      gr_dtype dt, int64_t n, void **out) {
  size_t have = 0;
  switch (tp->data_type) {
  case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: have = tp->n_float_data; break;
  case ONNX__TENSOR_PROTO__DATA_TYPE__INT64: have = tp->n_int64_data; break;
  case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE: have = tp->n_double_data; break;
  case ONNX__TENSOR_PROTO__DATA_TYPE__UINT32:
  case ONNX__TENSOR_PROTO__DATA_TYPE__UINT64: have = tp->n_uint64_data; break;
  default: have = tp->n_int32_data; break; /* int32, bool, small ints, float16 */
  }
  if (have != (size_t)n)
    return chm_errorf(im->e, "%s: tensor '%s': has %zu values, its shape needs %lld",
                      im->g->path, tname, have, (long long)n);
  if (dt == GR_OTHER) return 0; /* kept as an opaque constant */
  void *dst = *out = chm_arena_alloc(im->g->arena, (size_t)n * gr__dtype_size(dt) + 1);
  for (int64_t i = 0; i < n; i++) {
    if (dt == GR_F32) ((float *)dst)[i] = tp->float_data[i];
    else if (dt == GR_I64) ((int64_t *)dst)[i] = tp->int64_data[i];
    else if (dt == GR_I32) ((int32_t *)dst)[i] = tp->int32_data[i];
    else ((uint8_t *)dst)[i] = tp->int32_data[i] != 0;
  }
  return 0;
}

/* Copies raw_data (little-endian, as the host) into dst. */
static int read_raw(importer *im, const Onnx__TensorProto *tp, const char *tname, gr_dtype dt,
                    int64_t n, void **out) {
  int narrow = narrow_int_size(tp->data_type);
  size_t esize = narrow ? (size_t)narrow : gr__dtype_size(dt);
  if (dt == GR_OTHER) esize = opaque_size(tp->data_type); /* kept opaque, but its size checked */
  if (esize && tp->raw_data.len != (size_t)n * esize)
    return chm_errorf(im->e, "%s: tensor '%s': raw_data has %zu bytes, its shape needs %lld",
                      im->g->path, tname, tp->raw_data.len, (long long)(n * (int64_t)esize));
  if (dt == GR_OTHER) return 0;
  int32_t *dst = *out = chm_arena_alloc(im->g->arena, (size_t)n * gr__dtype_size(dt) + 1);
  if (narrow)
    for (int64_t i = 0; i < n; i++)
      dst[i] = widen(tp->raw_data.data + i * narrow, tp->data_type);
  else if (n)
    memcpy(dst, tp->raw_data.data, (size_t)n * esize);
  return 0;
}

/* Checks dims and fills rank/shape of t from a TensorProto. */
static int read_dims(importer *im, const Onnx__TensorProto *tp, const char *tname, gr_tensor *t) {
  if (tp->n_dims > GR_MAX_RANK)
    return chm_errorf(im->e, "%s: tensor '%s': rank %zu is larger than %d", im->g->path, tname,
                      tp->n_dims, GR_MAX_RANK);
  int64_t n = 1;
  bool bad = false;
  for (size_t i = 0; i < tp->n_dims; i++) {
    n = gr__dim_mul(n, tp->dims[i], &bad);
    if (bad)
      return chm_errorf(im->e, "%s: tensor '%s': bad dimension %lld (negative, or the tensor is "
                        "larger than chamcc's limit of 2^31 elements)", im->g->path, tname,
                        (long long)tp->dims[i]);
    t->shape[i] = tp->dims[i];
  }
  t->rank = (int)tp->n_dims;
  return 0;
}

/* Makes tensor index t a constant holding tp's value. The readers check the
 * data's size before allocating, so a lying header cannot ask for terabytes. */
static int load_tensor(importer *im, const Onnx__TensorProto *tp, int t) {
  gr_graph *g = im->g;
  const char *tname = g->tensors[t].name;
  if (read_dims(im, tp, tname, &g->tensors[t])) return -1;
  gr_dtype dt = tp->has_data_type ? map_dtype(tp->data_type) : GR_UNDEFINED;
  if (dt == GR_UNDEFINED)
    return chm_errorf(im->e, "%s: tensor '%s': no data type", g->path, tname);
  if (narrow_int_size(tp->data_type)) dt = GR_I32; /* int8/16 constants widen to int32 */
  int64_t n = gr_numel(&g->tensors[t]);
  size_t bytes = (size_t)n * gr__dtype_size(dt);
  void *data = NULL;
  int rc;
  if (tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
    rc = dt == GR_OTHER ? 0 : narrow_int_size(tp->data_type)
             ? chm_errorf(im->e, "%s: tensor '%s': external 8/16-bit data not supported", g->path, tname)
             : read_external(im, tp, tname, &data, bytes);
  else if (tp->has_raw_data)
    rc = read_raw(im, tp, tname, dt, n, &data);
  else
    rc = read_typed(im, tp, tname, dt, n, &data);
  if (rc) return -1;
  if (!data) data = chm_arena_alloc(g->arena, 1); /* opaque (GR_OTHER) constant */
  gr_tensor *x = &g->tensors[t];
  x->dtype = dt;
  x->data = data;
  return 0;
}

/* ---- graph inputs, initializers, nodes ---- */

static int load_initializers(importer *im, const Onnx__GraphProto *gp) {
  for (size_t i = 0; i < gp->n_initializer; i++) {
    const Onnx__TensorProto *tp = gp->initializer[i];
    if (!tp || !tp->name || !*tp->name) return bad_model(im, "initializer without a name");
    int t = intern(im, tp->name);
    if (im->defined[t])
      return chm_errorf(im->e, "%s: initializer '%s' is defined twice", im->g->path, tp->name);
    im->defined[t] = true;
    if (load_tensor(im, tp, t)) return -1;
  }
  return 0;
}

static const gr_input_shape *given_shape(const importer *im, const char *name) {
  for (int i = 0; i < im->n_shapes; i++)
    if (strcmp(im->shapes[i].name, name) == 0) return &im->shapes[i];
  return NULL;
}

/* Dimension i of input t: the file's value, else the user's, else 1 for a
 * batch (first) dimension; v < 0 and an error otherwise. */
static int input_dim(importer *im, gr_tensor *t, const Onnx__TensorShapeProto__Dimension *d, int i,
                     const gr_input_shape *given, int64_t *v) {
  bool known = d && d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
  const char *sym = d && d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM &&
                    d->dim_param ? d->dim_param : "";
  if (given && known && given->dims[i] != d->dim_value)
    return chm_errorf(im->e, "%s: graph input '%s': dimension %d is %lld in the model, not %lld as "
                      "given", im->g->path, t->name, i, (long long)d->dim_value,
                      (long long)given->dims[i]);
  *v = known ? d->dim_value : given ? given->dims[i] : 1;
  if (known || given) return 0;
  if (i > 0)
    return chm_errorf(im->e, "%s: graph input '%s': dimension %d%s%s%s is symbolic; give the "
                      "input's shape (chamcc --input-shape %s=D0,D1,...)", im->g->path, t->name, i,
                      *sym ? " ('" : "", sym, *sym ? "')" : "", t->name);
  const char *old = im->g->notice;
  im->g->notice = chm_arena_printf(im->g->arena, "%s%sgraph input '%s': symbolic batch dimension%s%s%s "
                                   "taken as 1", old ? old : "", old ? "; " : "", t->name,
                                   *sym ? " '" : "", sym, *sym ? "'" : "");
  return 0;
}

/* Shape and type of a runtime input from its ValueInfo and the user's shapes. */
static int read_value_info(importer *im, const Onnx__ValueInfoProto *vi, gr_tensor *t) {
  const Onnx__TypeProto *tp = vi->type;
  if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type)
    return chm_errorf(im->e, "%s: graph input '%s' is not a tensor", im->g->path, t->name);
  const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
  const Onnx__TensorShapeProto *sh = tt->shape;
  if (!sh)
    return chm_errorf(im->e, "%s: graph input '%s' has no shape", im->g->path, t->name);
  if (sh->n_dim > GR_MAX_RANK)
    return chm_errorf(im->e, "%s: graph input '%s': rank %zu is larger than %d", im->g->path,
                      t->name, sh->n_dim, GR_MAX_RANK);
  const gr_input_shape *given = given_shape(im, t->name);
  if (given && given->rank != (int)sh->n_dim)
    return chm_errorf(im->e, "%s: graph input '%s' has rank %zu, the given shape %d dimensions",
                      im->g->path, t->name, sh->n_dim, given->rank);
  int64_t n = 1;
  bool bad = false;
  for (size_t i = 0; i < sh->n_dim; i++) {
    int64_t v;
    if (input_dim(im, t, sh->dim[i], (int)i, given, &v)) return -1;
    n = gr__dim_mul(n, v, &bad);
    if (bad)
      return chm_errorf(im->e, "%s: graph input '%s': bad dimension %lld (negative, or the "
                        "input is larger than chamcc's limit of 2^31 elements)", im->g->path,
                        t->name, (long long)v);
    t->shape[i] = v;
  }
  t->rank = (int)sh->n_dim;
  t->dtype = tt->has_elem_type ? map_dtype(tt->elem_type) : GR_OTHER;
  return 0;
}

/* Every shape the user gives names a runtime input (not an initializer). */
static int check_given_names(importer *im, const Onnx__GraphProto *gp) {
  for (int i = 0; i < im->n_shapes; i++) {
    bool found = false;
    for (size_t j = 0; j < gp->n_input && !found; j++) {
      const Onnx__ValueInfoProto *vi = gp->input[j];
      found = vi && vi->name && strcmp(vi->name, im->shapes[i].name) == 0;
    }
    for (size_t j = 0; j < gp->n_initializer && found; j++)
      found = !gp->initializer[j] || !gp->initializer[j]->name ||
              strcmp(gp->initializer[j]->name, im->shapes[i].name) != 0;
    if (!found)
      return chm_errorf(im->e, "%s: a shape is given for '%s', which is not a runtime input of "
                        "the model", im->g->path, im->shapes[i].name);
  }
  return 0;
}

static int load_inputs(importer *im, const Onnx__GraphProto *gp) {
  if (check_given_names(im, gp)) return -1;
  CHM_VEC(int) v = {0};
  for (size_t i = 0; i < gp->n_input; i++) {
    const Onnx__ValueInfoProto *vi = gp->input[i];
    if (!vi || !vi->name || !*vi->name) {
      chm_vec_free(&v);
      return bad_model(im, "graph input without a name");
    }
    int t = intern(im, vi->name);
    if (im->g->tensors[t].data) continue; /* an initializer listed as input: a constant */
    int rc = im->defined[t] ? chm_errorf(im->e, "%s: graph input '%s' is listed twice",
                                         im->g->path, vi->name)
                            : read_value_info(im, vi, &im->g->tensors[t]);
    if (rc) {
      chm_vec_free(&v);
      return -1;
    }
    im->defined[t] = true;
    im->g->tensors[t].is_input = true;
    chm_vec_push(&v, t);
  }
  im->g->n_inputs = v.len;
  im->g->inputs = chm_arena_alloc(im->g->arena, (size_t)(v.len + 1) * sizeof(int));
  if (v.len) memcpy(im->g->inputs, v.data, (size_t)v.len * sizeof(int));
  chm_vec_free(&v);
  return 0;
}


/* Converts one AttributeProto; tensor values become constant tensors. */
static int load_attr(importer *im, const Onnx__AttributeProto *ap, gr_node *n, gr_attr *a) {
  gr_graph *g = im->g;
  a->name = chm_arena_strdup(g->arena, ap->name);
  int type = ap->has_type ? (int)ap->type
             : ap->t ? ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR
             : ap->n_ints ? ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS
             : ap->n_floats ? ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS
             : ap->has_s ? ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING
             : ap->has_f ? ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT
                         : ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
  a->kind = GR_ATTR_STRING; /* unsupported kinds (graphs, strings...) read as "" */
  a->s = "";
  switch (type) {
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT: a->kind = GR_ATTR_INT; a->i = ap->i; break;
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT: a->kind = GR_ATTR_FLOAT; a->f = ap->f; break;
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING:
    a->s = chm_arena_alloc(g->arena, ap->s.len + 1);
    if (ap->s.len) memcpy(a->s, ap->s.data, ap->s.len);
    break;
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS:
    a->kind = GR_ATTR_INTS;
    a->n = (int)ap->n_ints;
    a->ints = gr__copy(g, ap->ints, ap->n_ints, sizeof(int64_t));
    break;
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS:
    a->kind = GR_ATTR_FLOATS;
    a->n = (int)ap->n_floats;
    a->floats = gr__copy(g, ap->floats, ap->n_floats, sizeof(float));
    break;
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR: {
    if (!ap->t) return gr_node_error(im->e, g, n, "attribute '%s' has no tensor", a->name);
    char *tname = chm_arena_printf(g->arena, "%s:%s", n->name, a->name);
    int t = gr__add_tensor(g, tname); /* not in the name table: attribute values are private */
    if (load_tensor(im, ap->t, t)) return -1;
    a->kind = GR_ATTR_TENSOR;
    a->t = t;
    break;
  }
  default: break;
  }
  return 0;
}

/* Resolves the names of node inputs ("" = omitted) and outputs. */
static int load_node_io(importer *im, const Onnx__NodeProto *np, gr_node *n, int index) {
  gr_graph *g = im->g;
  n->n_in = (int)np->n_input;
  n->in = chm_arena_alloc(g->arena, (np->n_input + 1) * sizeof(int));
  for (size_t j = 0; j < np->n_input; j++)
    n->in[j] = np->input[j] && *np->input[j] ? intern(im, np->input[j]) : -1;
  n->n_out = (int)np->n_output;
  n->out = chm_arena_alloc(g->arena, (np->n_output + 1) * sizeof(int));
  for (size_t j = 0; j < np->n_output; j++) {
    const char *name = np->output[j];
    int t = name && *name ? intern(im, name)
                          : gr__add_tensor(g, chm_arena_printf(g->arena, "%s:out%zu", n->name, j));
    if (t < im->defined_cap && im->defined[t])
      return gr_node_error(im->e, g, n, "output '%s' is already defined elsewhere", name);
    if (t < im->defined_cap) im->defined[t] = true;
    n->out[j] = t;
    g->tensors[t].producer = index;
  }
  return 0;
}

static int load_node(importer *im, const Onnx__NodeProto *np, int index) {
  gr_graph *g = im->g;
  if (!np || !np->op_type || !*np->op_type) return bad_model(im, "node without an op_type");
  gr_node *n = &g->nodes[index];
  memset(n, 0, sizeof *n);
  n->residual = -1;
  n->name = np->name && *np->name ? chm_arena_strdup(g->arena, np->name)
                                  : chm_arena_printf(g->arena, "%s_%d", np->op_type, index);
  /* n->op is not set yet, so these errors name the op as the file spells it */
  if (np->domain && *np->domain && strcmp(np->domain, "ai.onnx") != 0)
    return chm_errorf(im->e, "%s: node '%s' (%s): operator domain '%s' is not supported",
                      g->path, n->name, np->op_type, np->domain);
  n->op = gr_op_find(np->op_type);
  if (!n->op)
    return chm_errorf(im->e, "%s: node '%s' (%s): unsupported operator", g->path, n->name,
                      np->op_type);
  if (load_node_io(im, np, n, index)) return -1;
  n->attr = chm_arena_alloc(g->arena, (np->n_attribute + 1) * sizeof(gr_attr));
  for (size_t j = 0; j < np->n_attribute; j++) {
    const Onnx__AttributeProto *ap = np->attribute[j];
    if (!ap || !ap->name || !*ap->name)
      return gr_node_error(im->e, g, n, "attribute without a name");
    if (load_attr(im, ap, &g->nodes[index], &g->nodes[index].attr[j])) return -1;
    n = &g->nodes[index]; /* load_attr may not move nodes, but stay safe */
    n->n_attr = (int)j + 1;
  }
  return 0;
}

static int load_nodes(importer *im, const Onnx__GraphProto *gp) {
  gr_graph *g = im->g;
  if (gp->n_node > INT_MAX / 4) return bad_model(im, "too many nodes");
  /* allocate all nodes up front, as a power-of-two capacity the helpers expect */
  size_t cap = 8;
  while (cap < gp->n_node) cap *= 2;
  g->nodes = chm_calloc(cap, sizeof *g->nodes);
  g->n_nodes = (int)gp->n_node;
  for (size_t i = 0; i < gp->n_node; i++)
    if (load_node(im, gp->node[i], (int)i)) return -1;
  return 0;
}

static int load_outputs(importer *im, const Onnx__GraphProto *gp) {
  gr_graph *g = im->g;
  if (gp->n_output == 0) return bad_model(im, "the graph has no outputs");
  g->n_outputs = (int)gp->n_output;
  g->outputs = chm_arena_alloc(g->arena, (gp->n_output + 1) * sizeof(int));
  for (size_t i = 0; i < gp->n_output; i++) {
    const Onnx__ValueInfoProto *vi = gp->output[i];
    if (!vi || !vi->name || !*vi->name) return bad_model(im, "graph output without a name");
    int t = intern(im, vi->name);
    if (g->tensors[t].is_output)
      return chm_errorf(im->e, "%s: graph output '%s' is listed twice", g->path, vi->name);
    g->tensors[t].is_output = true;
    g->outputs[i] = t;
  }
  return 0;
}

/* The ai.onnx opset the model imports; -1 with *e set if none or out of range. */
static int find_opset(importer *im, const Onnx__ModelProto *m) {
  int64_t v = -1;
  for (size_t i = 0; i < m->n_opset_import; i++) {
    const Onnx__OperatorSetIdProto *o = m->opset_import[i];
    if (o && (!o->domain || !*o->domain || strcmp(o->domain, "ai.onnx") == 0)) v = o->version;
  }
  if (v < 0 && m->n_opset_import && m->opset_import[0] && m->opset_import[0]->domain)
    return chm_errorf(im->e, "%s: the model imports no ai.onnx opset (domain '%s' is not "
                      "supported)", im->g->path, m->opset_import[0]->domain);
  if (v < 0) return bad_model(im, "no opset_import for the ai.onnx domain");
  if (v < 1 || v > 20)
    return chm_errorf(im->e, "%s: opset %lld is not supported (chamcc reads opsets 1 to 20)",
                      im->g->path, (long long)v);
  return (int)v;
}

static int import_model(importer *im, const Onnx__ModelProto *m) {
  const Onnx__GraphProto *gp = m->graph;
  if (!gp) return bad_model(im, "no graph");
  int opset = find_opset(im, m);
  if (opset < 0) return -1;
  im->g->opset = opset;
  if (load_initializers(im, gp) || load_inputs(im, gp) || load_nodes(im, gp) ||
      load_outputs(im, gp))
    return -1;
  return 0;
}

/* Real path of the folder holding PATH (malloc'ed), NULL with *e set. */
static char *model_dir(const char *path, chm_err *e) {
  char *copy = chm_strdup(path);
  char *slash = strrchr(copy, '/');
  const char *dir = slash ? (slash == copy ? "/" : (*slash = 0, copy)) : ".";
  char *real = realpath(dir, NULL);
  if (!real) chm_errorf(e, "%s: %s", path, strerror(errno));
  free(copy);
  return real;
}

gr_graph *gr_import(const char *path, chm_err *e) { return gr_import_shapes(path, NULL, 0, e); }

gr_graph *gr_import_shapes(const char *path, const gr_input_shape *shapes, int n_shapes, chm_err *e) {
  size_t size = 0;
  unsigned char *buf = chm_read_file(path, &size, e);
  if (!buf) return NULL;
  gr_graph *g = chm_calloc(1, sizeof *g);
  g->arena = chm_arena_new();
  g->path = chm_arena_strdup(g->arena, path);
  importer im = {.g = g, .e = e, .shapes = shapes, .n_shapes = n_shapes};
  Onnx__ModelProto *m = NULL;
  int rc = -1;
  if (size == 0) bad_model(&im, "empty file");
  else if (!(m = onnx__model_proto__unpack(NULL, size, buf)))
    bad_model(&im, "protobuf decoding failed: truncated or not an ONNX file");
  else if ((im.dir = model_dir(path, e)))
    rc = import_model(&im, m);
  if (m) onnx__model_proto__free_unpacked(m, NULL);
  free(buf);
  free(im.dir);
  free(im.table);
  free(im.defined);
  if (rc) {
    gr_free(g);
    return NULL;
  }
  return g;
}
