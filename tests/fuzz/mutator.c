/*
 * mutator.c — ONNX-aware mutation for libFuzzer (LLVMFuzzerCustomMutator and
 * LLVMFuzzerCustomCrossOver).
 *
 * An input is decoded with protobuf-c (the parser generated from Debian's
 * onnx.proto), one to three edits are made on the decoded model, and it is
 * encoded again. The edits aim where the importer and the passes compute:
 *
 *   dims        tensor and value_info dimensions: extreme values (0, -1,
 *               2^31, 2^62, INT64_MIN/MAX...), small changes, a dim more/less
 *   attributes  ints, int lists, floats, strings, types; added and dropped
 *   op types    swapped among the ops chamcc knows (graph/include/chamcc/ops.def)
 *               and a few it does not
 *   wiring      node inputs / outputs renamed to other values, dropped, added;
 *               nodes dropped, duplicated, reordered; graph inputs, outputs
 *               and initializers dropped or duplicated
 *   data        raw_data truncated, extended, overwritten with extreme values;
 *               element types changed; typed fields resized; data moved to
 *               external files (ext.bin in the target's folder, or paths
 *               that escape it)
 *   model       opset version and domain, IR version
 *
 * Inputs protobuf-c cannot decode, and one call in eight anyway, go to
 * libFuzzer's own byte mutator (LLVMFuzzerMutate), which the dictionary
 * (onnx.dict) feeds with op and attribute names. Cross-over splices nodes and
 * initializers of one model into another.
 *
 * protobuf-c unpacks every string, array and sub-message with malloc (its
 * default allocator) and free_unpacked() frees them, so the edits here
 * realloc / free / strdup in place and the model stays freeable.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx.pb-c.h"

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);

/* ---- random numbers: splitmix64, seeded by libFuzzer for reproducibility ---- */

static uint64_t rng;

static uint64_t next(void) {
  uint64_t z = (rng += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
static size_t pick(size_t n) { return n ? (size_t)(next() % n) : 0; } /* 0..n-1 */
static int chance(int one_in) { return pick((size_t)one_in) == 0; }

/* ---- values ---- */

static int64_t extreme_int(void) {
  static const int64_t v[] = {0, 1, -1, 2, 3, 4, 7, 8, 16, 255, 65536, -2, INT32_MAX,
                              (int64_t)1 << 31, ((int64_t)1 << 31) + 1, (int64_t)1 << 32,
                              (int64_t)1 << 40, (int64_t)1 << 62, -((int64_t)1 << 31),
                              -((int64_t)1 << 62), INT64_MIN, INT64_MAX, INT64_MIN + 1,
                              INT64_MAX - 1, INT32_MIN, 3037000500 /* ~sqrt(2^63) */};
  return v[pick(sizeof v / sizeof *v)];
}
/* Mostly small values (valid shapes, axes), sometimes extreme ones. */
static int64_t some_int(int64_t old) {
  switch (pick(4)) {
  case 0: return extreme_int();
  case 1: return old > INT64_MIN + 2 && old < INT64_MAX - 2 ? old + (int64_t)pick(5) - 2 : 0;
  default: return (int64_t)pick(10) - 3;
  }
}
static float some_float(void) {
  static const float v[] = {0.0f, -0.0f, 1.0f, -1.0f, 0.5f, 2.0f, 6.0f, 1e-45f, 1e-6f,
                            3.4e38f, -3.4e38f, 1e10f, 3e9f, 2147483648.0f, 9.3e18f, -9.3e18f,
                            1e30f, NAN, INFINITY, -INFINITY, 0.2f, 3.0f, -6.0f};
  return v[pick(sizeof v / sizeof *v)];
}

static char *dup(const char *s) {
  size_t n = strlen(s) + 1;
  return memcpy(malloc(n), s, n);
}
static void set_str(char **p, const char *s) { /* s may be *p itself */
  char *old = *p;
  *p = dup(s);
  free(old);
}

/* Removes element i of a pointer array of n messages (freeing it). */
static void drop_msg(void **arr, size_t *n, size_t i) {
  protobuf_c_message_free_unpacked(arr[i], NULL);
  memmove(arr + i, arr + i + 1, (*n - i - 1) * sizeof *arr);
  (*n)--;
}
/* A deep copy of a message (pack, unpack). */
static void *clone_msg(const ProtobufCMessage *m) {
  size_t len = protobuf_c_message_get_packed_size(m);
  uint8_t *buf = malloc(len + 1);
  protobuf_c_message_pack(m, buf);
  void *c = protobuf_c_message_unpack(m->descriptor, NULL, len, buf);
  free(buf);
  return c;
}
/* Appends message m to a pointer array of n. */
static void push_msg(void ***arr, size_t *n, void *m) {
  if (!m) return;
  *arr = realloc(*arr, (*n + 1) * sizeof **arr);
  (*arr)[(*n)++] = m;
}

/* ---- names of things chamcc knows ---- */

#define GR_OP(id, name, ...) name,
static const char *const ops[] = {
#include "chamcc/ops.def"
    "Det", "LSTM", "Loop", "If", "Resize", "Upsample", "Expand", "Tile", "",
};
#undef GR_OP
static const char *const attr_names[] = {
    "axis", "axes", "pads", "strides", "dilations", "kernel_shape", "group", "perm",
    "auto_pad", "ceil_mode", "count_include_pad", "alpha", "beta", "transA", "transB",
    "epsilon", "momentum", "min", "max", "mode", "value", "value_float", "value_floats",
    "value_int", "value_ints", "keepdims", "noop_with_empty_axes", "split", "num_outputs",
    "starts", "ends", "steps", "to", "shape", "allowzero", "broadcast", "is_test",
    "spatial", "training_mode", "storage_order", "constant_value", "ratio", "seed",
    "consumed_inputs", "output_padding", "paddings", "gamma", "bias", "size", "lambd",
};
static const char *const strings[] = {
    "SAME_UPPER", "SAME_LOWER", "VALID", "NOTSET", "constant", "reflect", "edge", "wrap",
    "", "same_upper", "x",
};

/* ---- walking the model ---- */

typedef struct model {
  Onnx__ModelProto *m;
  Onnx__GraphProto *g;          /* m->graph (never NULL once prepared) */
  Onnx__TensorProto *tensors[64]; /* initializers and attribute tensors */
  int n_tensors;
  Onnx__ValueInfoProto *vis[64]; /* graph inputs, outputs, value_info */
  int n_vis;
  const char *names[256];        /* value names, to rewire with */
  int n_names;
} model;

static void add_name(model *x, const char *s) {
  if (s && x->n_names < 256) x->names[x->n_names++] = s;
}
static void add_tensor(model *x, Onnx__TensorProto *t) {
  if (t && x->n_tensors < 64) x->tensors[x->n_tensors++] = t;
}
static void add_vis(model *x, Onnx__ValueInfoProto **v, size_t n) {
  for (size_t i = 0; i < n && x->n_vis < 64; i++) x->vis[x->n_vis++] = v[i];
}

/* Collects what the edits pick from (again after each edit: edits free things). */
static void survey(model *x) {
  Onnx__GraphProto *g = x->g;
  x->n_tensors = x->n_vis = x->n_names = 0;
  for (size_t i = 0; i < g->n_initializer; i++) {
    add_tensor(x, g->initializer[i]);
    add_name(x, g->initializer[i]->name);
  }
  for (size_t i = 0; i < g->n_node; i++) {
    Onnx__NodeProto *n = g->node[i];
    for (size_t a = 0; a < n->n_attribute; a++) add_tensor(x, n->attribute[a]->t);
    for (size_t k = 0; k < n->n_output; k++) add_name(x, n->output[k]);
  }
  add_vis(x, g->input, g->n_input);
  add_vis(x, g->output, g->n_output);
  add_vis(x, g->value_info, g->n_value_info);
  for (size_t i = 0; i < g->n_input; i++) add_name(x, g->input[i]->name);
}

static const char *some_name(model *x) {
  if (!x->n_names || chance(12)) return chance(2) ? "" : "nowhere";
  return x->names[pick((size_t)x->n_names)];
}

/* ---- edits: each returns 0 when it changed something ---- */

/* An int64 list: one element changed, or one added / removed, or all replaced. */
static void edit_ints(int64_t **v, size_t *n) {
  size_t k = pick(*n + 1);
  switch (pick(5)) {
  case 0: /* drop one */
    if (!*n) return;
    memmove(*v + k % *n, *v + k % *n + 1, (*n - k % *n - 1) * sizeof **v);
    (*n)--;
    return;
  case 1: /* insert one */
    *v = realloc(*v, (*n + 1) * sizeof **v);
    memmove(*v + k + 1, *v + k, (*n - k) * sizeof **v);
    (*v)[k] = some_int(1);
    (*n)++;
    return;
  case 2: /* all of them the same extreme value */
    for (size_t i = 0; i < *n; i++) (*v)[i] = extreme_int();
    return;
  default: /* one changed */
    if (*n) (*v)[k % *n] = some_int((*v)[k % *n]);
  }
}

static int edit_tensor_dims(model *x) {
  if (!x->n_tensors) return -1;
  Onnx__TensorProto *t = x->tensors[pick((size_t)x->n_tensors)];
  edit_ints(&t->dims, &t->n_dims);
  return 0;
}

static Onnx__TypeProto__Tensor *tensor_type(Onnx__ValueInfoProto *v) {
  if (!v->type || v->type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE) return NULL;
  return v->type->tensor_type;
}

static int edit_vi_dims(model *x) {
  if (!x->n_vis) return -1;
  Onnx__TypeProto__Tensor *tt = tensor_type(x->vis[pick((size_t)x->n_vis)]);
  if (!tt || !tt->shape) return -1;
  Onnx__TensorShapeProto *s = tt->shape;
  if (chance(4) || !s->n_dim) { /* a dim more or less */
    if (s->n_dim && chance(2)) {
      drop_msg((void **)s->dim, &s->n_dim, pick(s->n_dim));
      return 0;
    }
    Onnx__TensorShapeProto__Dimension *d = malloc(sizeof *d);
    *d = (Onnx__TensorShapeProto__Dimension)ONNX__TENSOR_SHAPE_PROTO__DIMENSION__INIT;
    d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
    d->dim_value = some_int(1);
    push_msg((void ***)&s->dim, &s->n_dim, d);
    return 0;
  }
  Onnx__TensorShapeProto__Dimension *d = s->dim[pick(s->n_dim)];
  if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM) free(d->dim_param);
  if (chance(6)) {
    d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
    d->dim_param = dup("N");
  } else {
    int64_t old = d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE ? d->dim_value : 1;
    d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
    d->dim_value = some_int(old);
  }
  return 0;
}

static int32_t some_elem_type(void) {
  static const int32_t v[] = {1, 1, 7, 7, 6, 9, 2, 3, 4, 5, 10, 11, 12, 13, 16, 8, 0, 100};
  return v[pick(sizeof v / sizeof *v)];
}

static int edit_elem_type(model *x) {
  if (x->n_tensors && chance(2)) {
    Onnx__TensorProto *t = x->tensors[pick((size_t)x->n_tensors)];
    t->has_data_type = 1;
    t->data_type = some_elem_type();
    return 0;
  }
  if (!x->n_vis) return -1;
  Onnx__TypeProto__Tensor *tt = tensor_type(x->vis[pick((size_t)x->n_vis)]);
  if (!tt) return -1;
  tt->has_elem_type = 1;
  tt->elem_type = some_elem_type();
  return 0;
}

static Onnx__NodeProto *some_node(model *x) {
  return x->g->n_node ? x->g->node[pick(x->g->n_node)] : NULL;
}

static void edit_floats(float **v, size_t *n) {
  if (!*n || chance(4)) {
    *v = realloc(*v, (*n + 1) * sizeof **v);
    (*v)[(*n)++] = some_float();
  } else if (chance(4)) {
    (*n)--;
  } else {
    (*v)[pick(*n)] = some_float();
  }
}

static int edit_attr(model *x) {
  Onnx__NodeProto *n = some_node(x);
  if (!n || !n->n_attribute) return -1;
  Onnx__AttributeProto *a = n->attribute[pick(n->n_attribute)];
  if (chance(10)) { /* a type that does not match the value */
    a->has_type = 1;
    a->type = (Onnx__AttributeProto__AttributeType)(1 + pick(7));
    return 0;
  }
  switch (a->type) {
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT: a->i = some_int(a->i); return 0;
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS: edit_ints(&a->ints, &a->n_ints); return 0;
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT: a->f = some_float(); return 0;
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS: edit_floats(&a->floats, &a->n_floats); return 0;
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING:
    free(a->s.data);
    a->s.data = (uint8_t *)dup(strings[pick(sizeof strings / sizeof *strings)]);
    a->s.len = strlen((char *)a->s.data);
    a->has_s = 1;
    return 0;
  default: return -1;
  }
}

/* A new attribute of a known name and a random kind. */
static int add_attr(model *x) {
  Onnx__NodeProto *n = some_node(x);
  if (!n) return -1;
  Onnx__AttributeProto *a = malloc(sizeof *a);
  *a = (Onnx__AttributeProto)ONNX__ATTRIBUTE_PROTO__INIT;
  a->name = dup(attr_names[pick(sizeof attr_names / sizeof *attr_names)]);
  a->has_type = 1;
  switch (pick(4)) {
  case 0:
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
    a->has_i = 1;
    a->i = some_int(1);
    break;
  case 1:
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
    a->has_f = 1;
    a->f = some_float();
    break;
  case 2:
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING;
    a->has_s = 1;
    a->s.data = (uint8_t *)dup(strings[pick(sizeof strings / sizeof *strings)]);
    a->s.len = strlen((char *)a->s.data);
    break;
  default:
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
    a->n_ints = pick(9);
    a->ints = malloc((a->n_ints + 1) * sizeof *a->ints);
    for (size_t i = 0; i < a->n_ints; i++) a->ints[i] = some_int(1);
  }
  push_msg((void ***)&n->attribute, &n->n_attribute, a);
  return 0;
}

static int drop_attr(model *x) {
  Onnx__NodeProto *n = some_node(x);
  if (!n || !n->n_attribute) return -1;
  drop_msg((void **)n->attribute, &n->n_attribute, pick(n->n_attribute));
  return 0;
}

static int edit_op(model *x) {
  Onnx__NodeProto *n = some_node(x);
  if (!n) return -1;
  if (chance(16)) set_str(&n->domain, chance(2) ? "ai.onnx" : "com.microsoft");
  else set_str(&n->op_type, ops[pick(sizeof ops / sizeof *ops)]);
  return 0;
}

/* A string list (node inputs or outputs): one renamed, dropped or added. */
static void edit_names(model *x, char ***v, size_t *n) {
  switch (pick(4)) {
  case 0:
    if (*n) free((*v)[--*n]);
    return;
  case 1:
    *v = realloc(*v, (*n + 1) * sizeof **v);
    (*v)[(*n)++] = dup(some_name(x));
    return;
  default:
    if (*n) set_str(&(*v)[pick(*n)], some_name(x));
  }
}

static int edit_wiring(model *x) {
  Onnx__NodeProto *n = some_node(x);
  if (!n) return -1;
  if (chance(3)) edit_names(x, &n->output, &n->n_output);
  else edit_names(x, &n->input, &n->n_input);
  return 0;
}

/* Nodes: one dropped, duplicated (same outputs: a duplicate definition), or two swapped. */
static int edit_nodes(model *x) {
  Onnx__GraphProto *g = x->g;
  if (!g->n_node) return -1;
  size_t i = pick(g->n_node), j = pick(g->n_node);
  switch (pick(3)) {
  case 0: drop_msg((void **)g->node, &g->n_node, i); return 0;
  case 1: push_msg((void ***)&g->node, &g->n_node, clone_msg(&g->node[i]->base)); return 0;
  default: {
    Onnx__NodeProto *t = g->node[i];
    g->node[i] = g->node[j];
    g->node[j] = t;
    return 0;
  }
  }
}

/* Graph inputs, outputs, initializers: one dropped, duplicated or renamed. */
static int edit_graph_lists(model *x) {
  Onnx__GraphProto *g = x->g;
  void ***arr;
  size_t *n;
  switch (pick(3)) {
  case 0: arr = (void ***)&g->input, n = &g->n_input; break;
  case 1: arr = (void ***)&g->output, n = &g->n_output; break;
  default: arr = (void ***)&g->initializer, n = &g->n_initializer;
  }
  if (!*n) return -1;
  size_t i = pick(*n);
  switch (pick(3)) {
  case 0: drop_msg(*arr, n, i); return 0;
  case 1: push_msg(arr, n, clone_msg((*arr)[i])); return 0;
  default: /* renamed */
    if (arr == (void ***)&g->initializer) set_str(&g->initializer[i]->name, some_name(x));
    else set_str(&((Onnx__ValueInfoProto *)(*arr)[i])->name, some_name(x));
    return 0;
  }
}

/* Tensor data: raw_data truncated, extended or overwritten; typed fields resized. */
static int edit_data(model *x) {
  if (!x->n_tensors) return -1;
  Onnx__TensorProto *t = x->tensors[pick((size_t)x->n_tensors)];
  ProtobufCBinaryData *r = &t->raw_data;
  switch (pick(5)) {
  case 0: /* truncate */
    if (!r->len) return -1;
    r->len = pick(r->len);
    return 0;
  case 1: { /* extend with copies of its own bytes or zeros */
    size_t more = 1 + pick(chance(4) ? 4096 : 16);
    r->data = realloc(r->data, r->len + more);
    for (size_t i = 0; i < more; i++) r->data[r->len + i] = r->len ? r->data[pick(r->len)] : 0;
    r->len += more;
    t->has_raw_data = 1;
    return 0;
  }
  case 2: { /* an extreme int64 or float at an aligned offset */
    if (r->len < 8) return -1;
    size_t at = pick(r->len / 8) * 8;
    if (chance(2)) {
      int64_t v = extreme_int();
      memcpy(r->data + at, &v, 8);
    } else {
      float v = some_float();
      memcpy(r->data + at + 4 * pick(2), &v, 4);
    }
    return 0;
  }
  case 3: /* typed int64 data */
    edit_ints(&t->int64_data, &t->n_int64_data);
    return 0;
  default: /* typed float data */
    edit_floats(&t->float_data, &t->n_float_data);
    return 0;
  }
}

static Onnx__StringStringEntryProto *entry(const char *k, const char *v) {
  Onnx__StringStringEntryProto *e = malloc(sizeof *e);
  *e = (Onnx__StringStringEntryProto)ONNX__STRING_STRING_ENTRY_PROTO__INIT;
  e->key = dup(k);
  e->value = dup(v);
  return e;
}

/* Data moved to an external file: ext.bin beside the model, or paths that escape. */
static int edit_external(model *x) {
  if (!x->g->n_initializer) return -1;
  Onnx__TensorProto *t = x->g->initializer[pick(x->g->n_initializer)];
  static const char *const locs[] = {"ext.bin", "ext.bin", "ext.bin", "ext_link", "../ext.bin",
                                     "/etc/hostname", "missing.bin", "", ".", "./ext.bin"};
  char num[32];
  while (t->n_external_data) drop_msg((void **)t->external_data, &t->n_external_data, 0);
  push_msg((void ***)&t->external_data, &t->n_external_data,
           entry("location", locs[pick(sizeof locs / sizeof *locs)]));
  if (!chance(3)) {
    snprintf(num, sizeof num, "%lld", chance(2) ? (long long)(4 * pick(64)) : (long long)extreme_int());
    push_msg((void ***)&t->external_data, &t->n_external_data, entry("offset", num));
  }
  if (!chance(3)) {
    snprintf(num, sizeof num, "%lld", chance(2) ? (long long)(4 * pick(256)) : (long long)extreme_int());
    push_msg((void ***)&t->external_data, &t->n_external_data, entry("length", num));
  }
  t->has_data_location = 1;
  t->data_location = chance(8) ? ONNX__TENSOR_PROTO__DATA_LOCATION__DEFAULT
                               : ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
  if (!chance(4)) {
    free(t->raw_data.data);
    t->raw_data = (ProtobufCBinaryData){0, NULL};
    t->has_raw_data = 0;
  }
  return 0;
}

static int edit_model(model *x) {
  Onnx__ModelProto *m = x->m;
  if (chance(4)) {
    m->has_ir_version = 1;
    m->ir_version = some_int(7);
    return 0;
  }
  if (!m->n_opset_import || chance(8)) {
    Onnx__OperatorSetIdProto *o = malloc(sizeof *o);
    *o = (Onnx__OperatorSetIdProto)ONNX__OPERATOR_SET_ID_PROTO__INIT;
    o->domain = dup(chance(2) ? "" : "ai.onnx.ml");
    o->has_version = 1;
    o->version = 1 + pick(20);
    push_msg((void ***)&m->opset_import, &m->n_opset_import, o);
    return 0;
  }
  Onnx__OperatorSetIdProto *o = m->opset_import[pick(m->n_opset_import)];
  if (chance(6)) {
    set_str(&o->domain, chance(2) ? "ai.onnx" : "com.example");
  } else {
    o->has_version = 1;
    o->version = chance(4) ? some_int(o->version) : (int64_t)(1 + pick(20));
  }
  return 0;
}

typedef int (*edit_fn)(model *);
static const edit_fn edits[] = {
    edit_tensor_dims, edit_vi_dims, edit_vi_dims, edit_elem_type, edit_attr, edit_attr,
    edit_attr, add_attr, drop_attr, edit_op, edit_op, edit_wiring, edit_wiring, edit_nodes,
    edit_graph_lists, edit_data, edit_data, edit_external, edit_model,
};

/* Decodes data; NULL when it is not a model with a graph. */
static Onnx__ModelProto *decode(const uint8_t *data, size_t size) {
  Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, size, data);
  if (m && !m->graph) {
    onnx__model_proto__free_unpacked(m, NULL);
    return NULL;
  }
  return m;
}

/* Encodes m into out if it fits; its size, or 0. Frees m. */
static size_t encode(Onnx__ModelProto *m, uint8_t *out, size_t max) {
  size_t n = onnx__model_proto__get_packed_size(m);
  if (n <= max) onnx__model_proto__pack(m, out);
  onnx__model_proto__free_unpacked(m, NULL);
  return n <= max ? n : 0;
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed) {
  rng = seed;
  Onnx__ModelProto *m = chance(8) ? NULL : decode(data, size);
  if (!m) return LLVMFuzzerMutate(data, size, max_size);
  model x = {.m = m, .g = m->graph};
  int n = 1 + (int)pick(3), done = 0;
  for (int tries = 0; done < n && tries < 20; tries++) {
    survey(&x);
    done += edits[pick(sizeof edits / sizeof *edits)](&x) == 0;
  }
  size_t out = encode(m, data, max_size);
  return out ? out : LLVMFuzzerMutate(data, size, max_size);
}

/* Nodes (a run of them) and initializers of model 2 appended to model 1. */
size_t LLVMFuzzerCustomCrossOver(const uint8_t *d1, size_t s1, const uint8_t *d2, size_t s2,
                                 uint8_t *out, size_t max_out, unsigned int seed) {
  rng = seed;
  Onnx__ModelProto *a = decode(d1, s1), *b = a ? decode(d2, s2) : NULL;
  if (!b) {
    if (a) onnx__model_proto__free_unpacked(a, NULL);
    return 0;
  }
  Onnx__GraphProto *ga = a->graph, *gb = b->graph;
  if (gb->n_node) {
    size_t from = pick(gb->n_node), len = 1 + pick(gb->n_node - from);
    for (size_t i = from; i < from + len; i++)
      push_msg((void ***)&ga->node, &ga->n_node, clone_msg(&gb->node[i]->base));
  }
  for (size_t i = 0; i < gb->n_initializer; i++)
    if (chance(2)) push_msg((void ***)&ga->initializer, &ga->n_initializer, clone_msg(&gb->initializer[i]->base));
  onnx__model_proto__free_unpacked(b, NULL);
  return encode(a, out, max_out);
}
