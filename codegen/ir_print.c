/*
 * ir_print.c — the deterministic text form of the loop IR, used for
 * debugging dumps (-v) and as the golden-test format.
 *
 *   kernel conv(in, w, out) {
 *     parallel for v0 in [0, 8) {
 *       out[(v0 * 16)]:16 = fma(bcast(in[v0]), w[0]:16, 0.0)
 */
#include "chamcc/ir.h"

#include <stdio.h>
#include <stdlib.h>

static const char *op_name(ir_op op) {
  switch (op) {
  case IR_ADD: return "+";
  case IR_SUB: return "-";
  case IR_MUL: return "*";
  case IR_DIV: return "/";
  case IR_MOD: return "%";
  case IR_LT: return "<";
  case IR_LE: return "<=";
  case IR_EQ: return "==";
  case IR_AND: return "&&";
  case IR_MIN: return "min";
  case IR_MAX: return "max";
  case IR_EXP: return "exp";
  case IR_TANH: return "tanh";
  case IR_SQRT: return "sqrt";
  case IR_NEG: return "neg";
  case IR_LOG: return "log";
  case IR_ABS: return "abs";
  case IR_ERF: return "erf";
  case IR_POW: return "pow";
  case IR_TO_F32: return "f32";
  case IR_TO_I64: return "i64";
  case IR_HSUM: return "hsum";
  case IR_HMAX: return "hmax";
  default: return "?";
  }
}

static void print_expr(const ir_expr *e, FILE *f) {
  switch (e->op) {
  case IR_CONST_INT: fprintf(f, "%lld", (long long)e->ival); break;
  case IR_CONST_FLOAT: fprintf(f, "%.9g", (double)e->fval); break;
  case IR_VAR: fprintf(f, "v%d", e->var); break;
  case IR_ADD: case IR_SUB: case IR_MUL: case IR_DIV: case IR_MOD:
  case IR_LT: case IR_LE: case IR_EQ: case IR_AND:
    fputc('(', f);
    print_expr(e->a, f);
    fprintf(f, " %s ", op_name(e->op));
    print_expr(e->b, f);
    fputc(')', f);
    break;
  case IR_MIN: case IR_MAX: case IR_POW:
    fprintf(f, "%s(", op_name(e->op));
    print_expr(e->a, f);
    fputs(", ", f);
    print_expr(e->b, f);
    fputc(')', f);
    break;
  case IR_SELECT: case IR_FMA:
    fputs(e->op == IR_SELECT ? "select(" : "fma(", f);
    print_expr(e->a, f);
    fputs(", ", f);
    print_expr(e->b, f);
    fputs(", ", f);
    print_expr(e->c, f);
    fputc(')', f);
    break;
  case IR_LOAD:
    fprintf(f, "%s[", e->buf->name);
    print_expr(e->a, f);
    fputc(']', f);
    if (e->type.lanes > 1) fprintf(f, ":%d", e->type.lanes);
    break;
  case IR_BROADCAST:
    fprintf(f, "bcast%d(", e->type.lanes);
    print_expr(e->a, f);
    fputc(')', f);
    break;
  case IR_SHUFFLE:
    fputs("shuffle(", f);
    print_expr(e->a, f);
    for (int i = 0; i < e->type.lanes; i++) fprintf(f, "%s%d", i ? "," : ", [", e->mask[i]);
    fputs("])", f);
    break;
  default:
    fprintf(f, "%s(", op_name(e->op));
    print_expr(e->a, f);
    fputc(')', f);
    break;
  }
}

static const char *loop_name(ir_loop_kind k) {
  switch (k) {
  case IR_LOOP_PARALLEL: return "parallel for";
  case IR_LOOP_UNROLLED: return "unrolled for";
  default: return "for";
  }
}

static void print_stmt(const ir_stmt *s, int depth, FILE *f);

/* " {", the body one level deeper, and the closing brace. */
static void print_body(const ir_stmt *body, int depth, FILE *f) {
  fputs(" {\n", f);
  print_stmt(body, depth + 1, f);
  fprintf(f, "%*s}\n", 2 * depth, "");
}

static void print_stmt(const ir_stmt *s, int depth, FILE *f) {
  fprintf(f, "%*s", 2 * depth, "");
  switch (s->kind) {
  case IR_FOR:
    fprintf(f, "%s v%d in [", loop_name(s->loop), s->var);
    print_expr(s->lo, f);
    fputs(", ", f);
    print_expr(s->hi, f);
    fputc(')', f);
    print_body(s->body, depth, f);
    break;
  case IR_LET:
    fprintf(f, "let v%d = ", s->var);
    print_expr(s->value, f);
    print_body(s->body, depth, f);
    break;
  case IR_STORE:
    fprintf(f, "%s[", s->buf->name);
    print_expr(s->index, f);
    fputc(']', f);
    if (s->value->type.lanes > 1) fprintf(f, ":%d", s->value->type.lanes);
    if (s->mask_lanes) fprintf(f, " mask %d", s->mask_lanes);
    fputs(" = ", f);
    print_expr(s->value, f);
    fputc('\n', f);
    break;
  case IR_SEQ:
    fputs("{\n", f);
    for (int i = 0; i < s->n_stmts; i++) print_stmt(s->stmts[i], depth + 1, f);
    fprintf(f, "%*s}\n", 2 * depth, "");
    break;
  case IR_ALLOC:
    fprintf(f, "local %s[%lld]", s->buf->name, (long long)s->buf->size);
    print_body(s->body, depth, f);
    break;
  case IR_IF:
    fputs("if ", f);
    print_expr(s->value, f);
    print_body(s->body, depth, f);
    break;
  }
}

void ir_print_kernel(const ir_kernel *k, void *file) {
  FILE *f = file;
  fprintf(f, "kernel %s(", k->name);
  for (int i = 0; i < k->n_params; i++)
    fprintf(f, "%s%s", i ? ", " : "", k->params[i]->name);
  fputs(")\n", f);
  print_stmt(k->body, 1, f);
}

char *ir_kernel_text(const ir_kernel *k) {
  char *text = NULL;
  size_t size = 0;
  FILE *f = open_memstream(&text, &size);
  CHM_ASSERT(f && "open_memstream");
  ir_print_kernel(k, f);
  fclose(f);
  return text;
}
