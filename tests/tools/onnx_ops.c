/* onnx_ops: describes an ONNX model in a line format that shell scripts can
 * filter with awk, and "freezes" parameter inputs of ONNX test cases.
 *
 *   onnx_ops MODEL.onnx...
 *   onnx_ops MODEL.onnx --freeze DATA_SET_DIR OUT.onnx
 *
 * Describe mode prints, one item a line (fields separated by one space),
 * after a line "model PATH" when several models are given:
 *   ir_version N
 *   opset DOMAIN VERSION                  DOMAIN is "ai.onnx" when empty
 *   input K NAME DTYPE [d0,d1,..] ROLE    K counts graph inputs that are not
 *                                         initializers; a dim '?' is dynamic;
 *                                         ROLE is data or param (see below)
 *   output K NAME DTYPE [d0,..]
 *   node OP NAME const=C params_const=P sp=S nout=N nin=I ATTR=VALUE...
 * const=1 when every output of the node can be computed at compile time
 * (initializers, params, Constant, Shape of a static tensor, and nodes whose
 * inputs are all constant); params_const=1 when the node's parameter inputs
 * (table below) are constant; sp is the number of spatial dims of a conv or
 * pool (-1 unknown, 0 for other ops); nout and nin count the non-empty outputs
 * and inputs.
 *
 * A "param" input is a graph input that feeds only parameter slots (Conv
 * weights and bias, Gemm/MatMul B, BatchNormalization statistics, Clip
 * bounds, Reshape shape, Pad pads, ...). The ONNX node tests pass those as
 * runtime inputs; an ahead-of-time compiler wants them as constants. Freeze
 * mode rewrites the model so every param input K becomes an initializer with
 * the value of DATA_SET_DIR/input_K.pb, writes OUT.onnx, and prints
 * "feed K..." with the input indices that stay runtime inputs, in order.
 * Names are printed with bytes <= ' ' and '\\' escaped as \xHH, so no name
 * splits a line into extra fields.
 * Exit status: 0 ok, 1 error (in describe mode: some model failed to load;
 * a model that fails prints "error MESSAGE" in place of its description). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx.pb-c.h"

/* Which input slots of an operator are parameters (bit i = input i). */
static const struct { const char *op; unsigned slots; } param_slots[] = {
    {"Conv", 0x6},       {"ConvTranspose", 0x6}, {"Gemm", 0x6},
    {"MatMul", 0x2},     {"BatchNormalization", 0x1e},
    {"InstanceNormalization", 0x6}, {"PRelu", 0x2},
    {"Clip", 0x6},       {"Reshape", 0x2},     {"Pad", 0xe},
    {"Squeeze", 0x2},    {"Unsqueeze", 0x2},   {"Slice", 0x1e},
    {"Dropout", 0x6},    {"Expand", 0x2},      {"Tile", 0x2},
    {"Gather", 0x2},     {"ConstantOfShape", 0x1}, {"Resize", 0xe},
    {"Upsample", 0x2},   {"ReduceSum", 0x2},   {"Split", 0x2},
    {"LayerNormalization", 0x6}, {"ReduceMean", 0x2}, {"ReduceMax", 0x2}, {"ReduceMin", 0x2},
};

static unsigned slots_of(const char *op) {
  for (size_t i = 0; i < sizeof param_slots / sizeof *param_slots; i++)
    if (strcmp(param_slots[i].op, op) == 0)
      return param_slots[i].slots;
  return 0;
}

static const char *dtype_name(int t) {
  static const char *names[] = {"undefined", "float", "uint8", "int8", "uint16",
                                "int16", "int32", "int64", "string", "bool",
                                "float16", "double", "uint32", "uint64",
                                "complex64", "complex128", "bfloat16"};
  return t >= 0 && t < (int)(sizeof names / sizeof *names) ? names[t] : "other";
}

static uint8_t *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "onnx_ops: %s: %s\n", path, strerror(errno));
    return NULL;
  }
  size_t cap = 1 << 16, n = 0, got;
  uint8_t *buf = malloc(cap);
  while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0)
    if ((n += got) == cap)
      buf = realloc(buf, cap *= 2);
  fclose(f);
  *len = n;
  return buf;
}

/* ---- a tiny name table: tensor name -> rank and constness ---- */

typedef struct {
  const char *name; /* tensor name (borrowed from the model) */
  int rank;         /* -1 when unknown */
  int is_const;     /* known at compile time */
} Value;

typedef struct {
  Value *v;  /* entries */
  size_t n;  /* used */
  size_t cap;
} Table;

static Value *lookup(Table *t, const char *name) {
  for (size_t i = 0; i < t->n; i++)
    if (strcmp(t->v[i].name, name) == 0)
      return &t->v[i];
  return NULL;
}

static Value *get(Table *t, const char *name) {
  Value *v = lookup(t, name);
  if (v)
    return v;
  if (t->n == t->cap)
    t->v = realloc(t->v, (t->cap = t->cap ? t->cap * 2 : 64) * sizeof *t->v);
  v = &t->v[t->n++];
  *v = (Value){name, -1, 0};
  return v;
}

static int is_initializer(const Onnx__GraphProto *g, const char *name) {
  for (size_t i = 0; i < g->n_initializer; i++)
    if (g->initializer[i]->name && strcmp(g->initializer[i]->name, name) == 0)
      return 1;
  return 0;
}

static const Onnx__TypeProto__Tensor *tensor_type(const Onnx__ValueInfoProto *vi) {
  if (!vi->type || vi->type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE)
    return NULL;
  return vi->type->tensor_type;
}

static int vi_rank(const Onnx__ValueInfoProto *vi) {
  const Onnx__TypeProto__Tensor *tt = tensor_type(vi);
  return tt && tt->shape ? (int)tt->shape->n_dim : -1;
}

static void print_name(const char *name) {
  if (!name || !name[0]) {
    printf("-");
    return;
  }
  for (const unsigned char *p = (const unsigned char *)name; *p; p++)
    if (*p <= ' ' || *p == '\\')
      printf("\\x%02x", *p);
    else
      putchar(*p);
}

static void print_vi(const char *kind, int k, const Onnx__ValueInfoProto *vi) {
  const Onnx__TypeProto__Tensor *tt = tensor_type(vi);
  printf("%s %d ", kind, k);
  print_name(vi->name);
  printf(" %s [", tt ? dtype_name(tt->elem_type) : "non-tensor");
  if (tt && tt->shape)
    for (size_t d = 0; d < tt->shape->n_dim; d++) {
      const Onnx__TensorShapeProto__Dimension *dim = tt->shape->dim[d];
      if (dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE)
        printf("%s%lld", d ? "," : "", (long long)dim->dim_value);
      else
        printf("%s?", d ? "," : "");
    }
  printf("]");
}

/* A graph input is a param when every use of it is a parameter slot. */
static int is_param_input(const Onnx__GraphProto *g, const char *name) {
  int uses = 0;
  for (size_t i = 0; i < g->n_node; i++) {
    const Onnx__NodeProto *n = g->node[i];
    unsigned slots = slots_of(n->op_type);
    for (size_t j = 0; j < n->n_input; j++)
      if (strcmp(n->input[j], name) == 0) {
        if (j >= 32 || !(slots >> j & 1))
          return 0;
        uses++;
      }
  }
  for (size_t i = 0; i < g->n_output; i++)
    if (strcmp(g->output[i]->name, name) == 0)
      return 0;
  return uses > 0;
}

static const Onnx__AttributeProto *find_attr(const Onnx__NodeProto *n, const char *name) {
  for (size_t i = 0; i < n->n_attribute; i++)
    if (strcmp(n->attribute[i]->name, name) == 0)
      return n->attribute[i];
  return NULL;
}

static void print_attr(const Onnx__AttributeProto *a) {
  printf(" %s=", a->name);
  switch (a->type) {
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT: printf("%lld", (long long)a->i); break;
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT: printf("%g", a->f); break;
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING:
    for (size_t i = 0; i < a->s.len; i++)
      putchar(a->s.data[i] == ' ' ? '_' : a->s.data[i]);
    break;
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS:
    for (size_t i = 0; i < a->n_ints; i++)
      printf("%s%lld", i ? "," : "", (long long)a->ints[i]);
    break;
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS:
    for (size_t i = 0; i < a->n_floats; i++)
      printf("%s%g", i ? "," : "", a->floats[i]);
    break;
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR:
    printf("tensor:%s", a->t ? dtype_name(a->t->data_type) : "?");
    break;
  default: printf("type%d", (int)a->type); break;
  }
}

static int is_conv_or_pool(const char *op) {
  static const char *ops[] = {"Conv", "ConvTranspose", "MaxPool", "AveragePool", "LpPool",
                              "GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool", "MaxUnpool"};
  for (size_t i = 0; i < sizeof ops / sizeof *ops; i++)
    if (strcmp(op, ops[i]) == 0)
      return 1;
  return 0;
}

static int spatial_dims(const Onnx__NodeProto *n, Table *t) {
  if (!is_conv_or_pool(n->op_type))
    return 0;
  const Onnx__AttributeProto *ks = find_attr(n, "kernel_shape");
  if (ks)
    return (int)ks->n_ints;
  Value *w = n->n_input > 1 ? lookup(t, n->input[1]) : NULL; /* conv weights */
  Value *x = n->n_input > 0 ? lookup(t, n->input[0]) : NULL;
  if (w && w->rank >= 2)
    return w->rank - 2;
  if (x && x->rank >= 2)
    return x->rank - 2;
  return -1;
}

/* Walks the nodes in order, printing one line each and propagating rank
 * (where value_info says) and constness. */
static void describe_nodes(const Onnx__GraphProto *g, Table *t) {
  for (size_t i = 0; i < g->n_node; i++) {
    const Onnx__NodeProto *n = g->node[i];
    unsigned slots = slots_of(n->op_type);
    int all_const = 1, params_const = 1, nout = 0, nin = 0;
    for (size_t j = 0; j < n->n_input; j++) {
      if (n->input[j][0] == '\0')
        continue; /* omitted optional input */
      nin++;
      Value *v = lookup(t, n->input[j]);
      int c = v && v->is_const;
      all_const &= c;
      if (j < 32 && (slots >> j & 1))
        params_const &= c;
    }
    if (strcmp(n->op_type, "Constant") == 0)
      all_const = 1;
    if (strcmp(n->op_type, "Shape") == 0)
      all_const = 1; /* chamcc's shapes are static */
    int sp = spatial_dims(n, t);
    for (size_t j = 0; j < n->n_output; j++)
      if (n->output[j][0]) {
        get(t, n->output[j])->is_const = all_const;
        nout++;
      }
    printf("node %s ", n->op_type);
    print_name(n->name);
    printf(" const=%d params_const=%d sp=%d nout=%d nin=%d", all_const, params_const, sp, nout, nin);
    for (size_t j = 0; j < n->n_attribute; j++)
      print_attr(n->attribute[j]);
    printf("\n");
  }
}

static void describe(const Onnx__ModelProto *m) {
  const Onnx__GraphProto *g = m->graph;
  Table t = {0};
  printf("ir_version %lld\n", (long long)m->ir_version);
  for (size_t i = 0; i < m->n_opset_import; i++) {
    const char *d = m->opset_import[i]->domain;
    printf("opset %s %lld\n", d && d[0] ? d : "ai.onnx", (long long)m->opset_import[i]->version);
  }
  for (size_t i = 0; i < g->n_initializer; i++) {
    Value *v = get(&t, g->initializer[i]->name);
    v->rank = (int)g->initializer[i]->n_dims;
    v->is_const = 1;
  }
  for (size_t i = 0; i < g->n_value_info; i++)
    get(&t, g->value_info[i]->name)->rank = vi_rank(g->value_info[i]);
  int k = 0;
  for (size_t i = 0; i < g->n_input; i++) {
    const Onnx__ValueInfoProto *vi = g->input[i];
    if (is_initializer(g, vi->name))
      continue;
    int param = is_param_input(g, vi->name);
    Value *v = get(&t, vi->name);
    v->rank = vi_rank(vi);
    v->is_const = param;
    print_vi("input", k++, vi);
    printf(" %s\n", param ? "param" : "data");
  }
  for (size_t i = 0; i < g->n_output; i++) {
    print_vi("output", (int)i, g->output[i]);
    printf("\n");
  }
  describe_nodes(g, &t);
  free(t.v);
}

/* Moves every param input into the initializers, from DIR/input_K.pb. */
static int freeze(Onnx__ModelProto *m, const char *dir, const char *out) {
  Onnx__GraphProto *g = m->graph;
  Onnx__ValueInfoProto **kept = malloc((g->n_input + 1) * sizeof *kept);
  size_t n_kept = 0;
  int k = 0;
  printf("feed");
  for (size_t i = 0; i < g->n_input; i++) {
    Onnx__ValueInfoProto *vi = g->input[i];
    if (is_initializer(g, vi->name)) {
      kept[n_kept++] = vi;
      continue;
    }
    if (!is_param_input(g, vi->name)) {
      kept[n_kept++] = vi;
      printf(" %d", k++);
      continue;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/input_%d.pb", dir, k++);
    size_t len;
    uint8_t *buf = read_file(path, &len);
    Onnx__TensorProto *tp = buf ? onnx__tensor_proto__unpack(NULL, len, buf) : NULL;
    if (!tp) {
      fprintf(stderr, "onnx_ops: %s: cannot read the tensor\n", path);
      return 1;
    }
    tp->name = vi->name;
    g->initializer = realloc(g->initializer, (g->n_initializer + 1) * sizeof *g->initializer);
    g->initializer[g->n_initializer++] = tp;
  }
  printf("\n");
  g->input = kept;
  g->n_input = n_kept;
  size_t size = onnx__model_proto__get_packed_size(m);
  uint8_t *buf = malloc(size ? size : 1);
  onnx__model_proto__pack(m, buf);
  FILE *f = fopen(out, "wb");
  if (!f || fwrite(buf, 1, size, f) != size || fclose(f) != 0) {
    fprintf(stderr, "onnx_ops: %s: cannot write\n", out);
    return 1;
  }
  free(buf);
  return 0; /* the process exits: the unpacked model is not freed */
}

static Onnx__ModelProto *load(const char *path, uint8_t **buf) {
  size_t len;
  *buf = read_file(path, &len);
  if (!*buf)
    return NULL;
  Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, len, *buf);
  if (!m || !m->graph) {
    fprintf(stderr, "onnx_ops: %s: not an ONNX model\n", path);
    return NULL;
  }
  return m;
}

/* --freeze moves tensors between messages and lets the process exit without
 * freeing them: tell LeakSanitizer (sanitizer builds only) not to report. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "detect_leaks=0"; }

int main(int argc, char **argv) {
  if (argc < 2 || (argc > 2 && strcmp(argv[2], "--freeze") == 0 && argc != 5)) {
    fprintf(stderr, "usage: onnx_ops MODEL.onnx... | onnx_ops MODEL.onnx --freeze DATA_SET_DIR OUT.onnx\n");
    return 1;
  }
  uint8_t *buf;
  if (argc == 5 && strcmp(argv[2], "--freeze") == 0) {
    Onnx__ModelProto *m = load(argv[1], &buf);
    return m ? freeze(m, argv[3], argv[4]) : 1;
  }
  int rc = 0;
  for (int i = 1; i < argc; i++) {
    if (argc > 2)
      printf("model %s\n", argv[i]);
    Onnx__ModelProto *m = load(argv[i], &buf);
    if (!m) {
      printf("error cannot load the model\n");
      rc = 1;
    } else {
      describe(m);
      onnx__model_proto__free_unpacked(m, NULL);
    }
    free(buf);
    fflush(stdout);
  }
  return rc;
}
