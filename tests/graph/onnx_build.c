/*
 * onnx_build.c — see onnx_build.h. Repeated fields are fixed-capacity
 * arrays (MB_MAX entries) in the builder's arena: test models are tiny.
 */
#include "onnx_build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MB_MAX = 64 };

struct mb {
  chm_arena *arena;               /* owns everything below */
  Onnx__ModelProto model;         /* the model being built */
  Onnx__GraphProto graph;         /* its graph */
  Onnx__OperatorSetIdProto opset; /* the one ai.onnx opset */
};

static void *alloc(mb *m, size_t n) { return chm_arena_alloc(m->arena, n); }
static char *dup(mb *m, const char *s) { return chm_arena_strdup(m->arena, s); }

mb *mb_new(int opset) {
  chm_arena *a = chm_arena_new();
  mb *m = chm_arena_alloc(a, sizeof *m);
  m->arena = a;
  onnx__model_proto__init(&m->model);
  onnx__graph_proto__init(&m->graph);
  onnx__operator_set_id_proto__init(&m->opset);
  m->opset.domain = dup(m, "");
  m->opset.has_version = 1;
  m->opset.version = opset;
  m->model.has_ir_version = 1;
  m->model.ir_version = 7;
  m->model.n_opset_import = 1;
  m->model.opset_import = alloc(m, sizeof(void *));
  m->model.opset_import[0] = &m->opset;
  m->model.graph = &m->graph;
  m->graph.name = dup(m, "test");
  m->graph.node = alloc(m, MB_MAX * sizeof(void *));
  m->graph.input = alloc(m, MB_MAX * sizeof(void *));
  m->graph.output = alloc(m, MB_MAX * sizeof(void *));
  m->graph.initializer = alloc(m, MB_MAX * sizeof(void *));
  return m;
}

void mb_free(mb *m) {
  if (m) chm_arena_free(m->arena);
}

Onnx__ModelProto *mb_model(mb *m) { return &m->model; }
chm_arena *mb_arena(mb *m) { return m->arena; }

static Onnx__ValueInfoProto *value_info(mb *m, const char *name, int elem_type, int rank,
                                        const int64_t *shape, const char *const *params) {
  Onnx__ValueInfoProto *vi = alloc(m, sizeof *vi);
  onnx__value_info_proto__init(vi);
  vi->name = dup(m, name);
  if (rank < 0) return vi; /* no type */
  Onnx__TypeProto *tp = alloc(m, sizeof *tp);
  onnx__type_proto__init(tp);
  Onnx__TypeProto__Tensor *tt = alloc(m, sizeof *tt);
  onnx__type_proto__tensor__init(tt);
  tt->has_elem_type = 1;
  tt->elem_type = elem_type;
  Onnx__TensorShapeProto *sh = alloc(m, sizeof *sh);
  onnx__tensor_shape_proto__init(sh);
  sh->n_dim = (size_t)rank;
  sh->dim = alloc(m, (size_t)(rank + 1) * sizeof(void *));
  for (int i = 0; i < rank; i++) {
    Onnx__TensorShapeProto__Dimension *d = alloc(m, sizeof *d);
    onnx__tensor_shape_proto__dimension__init(d);
    if (params && params[i]) {
      d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
      d->dim_param = dup(m, params[i]);
    } else {
      d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
      d->dim_value = shape[i];
    }
    sh->dim[i] = d;
  }
  tt->shape = sh;
  tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
  tp->tensor_type = tt;
  vi->type = tp;
  return vi;
}

void mb_input_typed(mb *m, const char *name, int elem_type, int rank, const int64_t *shape,
                    const char *dim0_param) {
  const char **params = alloc(m, (size_t)(rank > 0 ? rank + 1 : 1) * sizeof *params);
  params[0] = dim0_param;
  m->graph.input[m->graph.n_input++] = value_info(m, name, elem_type, rank, shape, params);
}

void mb_input_sym(mb *m, const char *name, int rank, const int64_t *shape, const char *const *params) {
  m->graph.input[m->graph.n_input++] =
      value_info(m, name, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, rank, shape, params);
}

void mb_input(mb *m, const char *name, int rank, const int64_t *shape) {
  mb_input_typed(m, name, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, rank, shape, NULL);
}

void mb_output(mb *m, const char *name) {
  m->graph.output[m->graph.n_output++] = value_info(m, name, 0, -1, NULL, NULL);
}

static Onnx__TensorProto *tensor(mb *m, const char *name, int type, int rank,
                                 const int64_t *shape) {
  Onnx__TensorProto *t = alloc(m, sizeof *t);
  onnx__tensor_proto__init(t);
  t->name = dup(m, name);
  t->has_data_type = 1;
  t->data_type = type;
  t->n_dims = (size_t)rank;
  t->dims = alloc(m, (size_t)(rank + 1) * sizeof(int64_t));
  if (rank > 0) memcpy(t->dims, shape, (size_t)rank * sizeof(int64_t)); /* a scalar may pass NULL */
  return t;
}

/* The bytes of a tensor's data, copied: into raw_data with MB_RAW (returns
 * NULL), else returned for the caller's typed field. */
static void *tensor_data(mb *m, Onnx__TensorProto *t, const void *data, size_t bytes,
                         enum mb_storage how) {
  void *copy = alloc(m, bytes + 1);
  memcpy(copy, data, bytes);
  if (how != MB_RAW) return copy;
  t->has_raw_data = 1;
  t->raw_data.len = bytes;
  t->raw_data.data = copy;
  return NULL;
}

Onnx__TensorProto *mb_tensor_f(mb *m, const char *name, int rank, const int64_t *shape,
                               const float *data, enum mb_storage how) {
  Onnx__TensorProto *t = tensor(m, name, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, rank, shape);
  size_t n = (size_t)chm_prod(shape, rank);
  float *typed = tensor_data(m, t, data, n * sizeof(float), how);
  if (typed) t->n_float_data = n, t->float_data = typed;
  return t;
}

Onnx__TensorProto *mb_tensor_i64(mb *m, const char *name, int rank, const int64_t *shape,
                                 const int64_t *data, enum mb_storage how) {
  Onnx__TensorProto *t = tensor(m, name, ONNX__TENSOR_PROTO__DATA_TYPE__INT64, rank, shape);
  size_t n = (size_t)chm_prod(shape, rank);
  int64_t *typed = tensor_data(m, t, data, n * sizeof(int64_t), how);
  if (typed) t->n_int64_data = n, t->int64_data = typed;
  return t;
}

void mb_add_init(mb *m, Onnx__TensorProto *t) { m->graph.initializer[m->graph.n_initializer++] = t; }

void mb_init_f(mb *m, const char *name, int rank, const int64_t *shape, const float *data,
               enum mb_storage how) {
  mb_add_init(m, mb_tensor_f(m, name, rank, shape, data, how));
}

void mb_init_i64(mb *m, const char *name, int rank, const int64_t *shape, const int64_t *data,
                 enum mb_storage how) {
  mb_add_init(m, mb_tensor_i64(m, name, rank, shape, data, how));
}

static Onnx__StringStringEntryProto *entry(mb *m, const char *k, const char *v) {
  Onnx__StringStringEntryProto *e = alloc(m, sizeof *e);
  onnx__string_string_entry_proto__init(e);
  e->key = dup(m, k);
  e->value = dup(m, v);
  return e;
}

void mb_init_external(mb *m, const char *name, int rank, const int64_t *shape,
                      const char *location, long offset, long length) {
  Onnx__TensorProto *t = tensor(m, name, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, rank, shape);
  char buf[32];
  t->has_data_location = 1;
  t->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
  t->external_data = alloc(m, 3 * sizeof(void *));
  t->external_data[t->n_external_data++] = entry(m, "location", location);
  snprintf(buf, sizeof buf, "%ld", offset);
  t->external_data[t->n_external_data++] = entry(m, "offset", buf);
  if (length >= 0) {
    snprintf(buf, sizeof buf, "%ld", length);
    t->external_data[t->n_external_data++] = entry(m, "length", buf);
  }
  mb_add_init(m, t);
}

/* Splits "a b _ c" into names ("_" = empty). */
static char **split(mb *m, const char *s, size_t *count) {
  char **v = alloc(m, MB_MAX * sizeof(char *));
  char *copy = dup(m, s);
  *count = 0;
  for (char *tok = strtok(copy, " "); tok; tok = strtok(NULL, " "))
    v[(*count)++] = strcmp(tok, "_") == 0 ? dup(m, "") : tok;
  return v;
}

Onnx__NodeProto *mb_node(mb *m, const char *op, const char *name, const char *inputs,
                         const char *outputs) {
  Onnx__NodeProto *n = alloc(m, sizeof *n);
  onnx__node_proto__init(n);
  n->op_type = dup(m, op);
  n->name = dup(m, name);
  n->input = split(m, inputs, &n->n_input);
  n->output = split(m, outputs, &n->n_output);
  n->attribute = alloc(m, MB_MAX * sizeof(void *));
  m->graph.node[m->graph.n_node++] = n;
  return n;
}

static Onnx__AttributeProto *attr(Onnx__NodeProto *n, mb *m, const char *name, int type) {
  Onnx__AttributeProto *a = alloc(m, sizeof *a);
  onnx__attribute_proto__init(a);
  a->name = dup(m, name);
  a->has_type = 1;
  a->type = type;
  n->attribute[n->n_attribute++] = a;
  return a;
}

void mb_attr_i(Onnx__NodeProto *n, mb *m, const char *name, int64_t v) {
  Onnx__AttributeProto *a = attr(n, m, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
  a->has_i = 1;
  a->i = v;
}

void mb_attr_f(Onnx__NodeProto *n, mb *m, const char *name, float v) {
  Onnx__AttributeProto *a = attr(n, m, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
  a->has_f = 1;
  a->f = v;
}

void mb_attr_s(Onnx__NodeProto *n, mb *m, const char *name, const char *s) {
  Onnx__AttributeProto *a = attr(n, m, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
  a->has_s = 1;
  a->s.data = (uint8_t *)dup(m, s);
  a->s.len = strlen(s);
}

void mb_attr_ints(Onnx__NodeProto *n, mb *m, const char *name, int count, const int64_t *v) {
  Onnx__AttributeProto *a = attr(n, m, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
  a->n_ints = (size_t)count;
  a->ints = alloc(m, (size_t)(count + 1) * sizeof(int64_t));
  memcpy(a->ints, v, (size_t)count * sizeof(int64_t));
}

void mb_attr_floats(Onnx__NodeProto *n, mb *m, const char *name, int count, const float *v) {
  Onnx__AttributeProto *a = attr(n, m, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS);
  a->n_floats = (size_t)count;
  a->floats = alloc(m, (size_t)(count + 1) * sizeof(float));
  memcpy(a->floats, v, (size_t)count * sizeof(float));
}

void mb_attr_t(Onnx__NodeProto *n, mb *m, const char *name, Onnx__TensorProto *t) {
  Onnx__AttributeProto *a = attr(n, m, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR);
  a->t = t;
}

void mb_reverse_nodes(mb *m) {
  for (size_t i = 0, j = m->graph.n_node - 1; i < j; i++, j--) {
    Onnx__NodeProto *t = m->graph.node[i];
    m->graph.node[i] = m->graph.node[j];
    m->graph.node[j] = t;
  }
}

int mb_write(mb *m, const char *path) {
  size_t size = onnx__model_proto__get_packed_size(&m->model);
  uint8_t *buf = chm_malloc(size + 1);
  onnx__model_proto__pack(&m->model, buf);
  FILE *f = fopen(path, "wb");
  int rc = !f || fwrite(buf, 1, size, f) != size;
  if (f) rc |= fclose(f) != 0;
  free(buf);
  return rc ? -1 : 0;
}
