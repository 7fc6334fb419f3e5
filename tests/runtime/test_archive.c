/*
 * test_archive.c — chm_ar_write (codegen/archive.c) and the embedded runtime
 * objects (chm_rt_object, runtime/rt_object.c).
 *
 *   test_archive format WORKDIR
 *       archives read back by a small parser here: empty archive, long and
 *       short names, odd sizes, the symbol index of the runtime object
 *       (globals only), errors (bad names, bad ELF, missing folder) that
 *       leave no file behind, a data member's layout and index, triple lookup.
 *   test_archive link TRIPLE CC RUN AR NM WORKDIR SRCDIR INCDIR
 *       the runtime object for TRIPLE plus ar_kernel.c compiled with CC and a
 *       data member of two arrays (chm_ar_data_member, its ELF header like
 *       the kernel's) go into an archive; ar_prog.c is linked against it
 *       with CC and run
 *       (RUN "-" runs natively, else RUN is a qemu-user binary). The runtime
 *       object alone must link as a shared object with --no-undefined
 *       (needs libc and libpthread only). With binutils (AR, NM not "NONE"):
 *       `ar t` and `nm --print-armap` must agree, and the archive must be
 *       the one `ar rcsD` writes for the same members, byte for byte.
 *       Exits 77 (skipped) when CC or RUN is "NONE" or, for a cross target,
 *       chamcc was built without its runtime.
 */
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "chamcc/archive.h"
#include "chamcc/rt_object.h"

enum { SKIP = 77, MAX_MEMBERS = 16, MAX_SYMS = 256 };

#include "../check.h"


/* ---- reading archives back ---- */

typedef struct ar_entry {
  char name[128];             /* resolved member name */
  size_t header;              /* file offset of its header */
  size_t size;                /* bytes of data */
  const unsigned char *data;  /* inside the archive */
} ar_entry;

typedef struct ar_file {
  int nmem;                       /* members, "/" and "//" excluded */
  ar_entry mem[MAX_MEMBERS];      /* the members in file order */
  int nsym;                       /* entries of the symbol index */
  char sym[MAX_SYMS][96];         /* "symbol member", for comparison */
  int has_index, has_longnames;   /* "/" and "//" present */
} ar_file;

static uint32_t be32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static const char *member_at(const ar_file *a, size_t header) {
  for (int i = 0; i < a->nmem; i++)
    if (a->mem[i].header == header) return a->mem[i].name;
  return "?";
}

static int cmp_str(const void *x, const void *y) { return strcmp(x, y); }

/* Resolves the symbol index once the members are known. */
static void parse_index(ar_file *a, const unsigned char *idx, size_t size) {
  uint32_t n = be32(idx);
  const char *names = (const char *)idx + 4 + 4 * (size_t)n;
  for (uint32_t i = 0; i < n && a->nsym < MAX_SYMS; i++) {
    snprintf(a->sym[a->nsym++], sizeof a->sym[0], "%s %s", names, member_at(a, be32(idx + 4 + 4 * i)));
    names += strlen(names) + 1;
  }
  CHECK((const unsigned char *)names <= idx + size, "symbol index overruns its member");
  qsort(a->sym, (size_t)a->nsym, sizeof a->sym[0], cmp_str);
}

/* Member name from a header name field and the "//" table. */
static void member_name(char *out, const char *field, const char *longnames) {
  if (field[0] == '/' && longnames) {
    const char *s = longnames + atoi(field + 1);
    snprintf(out, 128, "%.*s", (int)(strchr(s, '/') - s), s);
  } else {
    snprintf(out, 128, "%.*s", (int)(strchr(field, '/') - field), field);
  }
}

static int parse_ar(ar_file *a, const unsigned char *p, size_t size) {
  memset(a, 0, sizeof *a);
  if (size < 8 || memcmp(p, "!<arch>\n", 8)) return -1;
  const unsigned char *idx = NULL;
  size_t idx_size = 0;
  const char *longnames = NULL;
  for (size_t off = 8; off < size;) {
    CHECK(off % 2 == 0 && off + 60 <= size && !memcmp(p + off + 58, "`\n", 2), "bad header at %zu", off);
    char field[17];
    memcpy(field, p + off, 16);
    field[16] = 0;
    size_t len = strtoul((const char *)p + off + 48, NULL, 10);
    const unsigned char *data = p + off + 60;
    if (!strcmp(field, "/               "))
      a->has_index = 1, idx = data, idx_size = len;
    else if (!strcmp(field, "//              "))
      a->has_longnames = 1, longnames = (const char *)data;
    else if (a->nmem < MAX_MEMBERS) {
      ar_entry *m = &a->mem[a->nmem++];
      member_name(m->name, field, longnames);
      m->header = off, m->size = len, m->data = data;
    }
    off += 60 + len + (len & 1);
    CHECK(off <= size, "member overruns the archive");
  }
  if (idx) parse_index(a, idx, idx_size);
  return 0;
}

static int read_ar(ar_file *a, const char *path, unsigned char **buf) {
  chm_err e = {0};
  size_t size;
  *buf = chm_read_file(path, &size, &e);
  if (!*buf) {
    CHECK(0, "%s", e.msg);
    return -1;
  }
  int rc = parse_ar(a, *buf, size);
  CHECK(rc == 0, "%s: not an archive", path);
  return rc;
}

static int has_sym(const ar_file *a, const char *line) {
  for (int i = 0; i < a->nsym; i++)
    if (!strcmp(a->sym[i], line)) return 1;
  return 0;
}

/* Number of entries in dir (besides . and ..): temp files must not remain. */
static int count_files(const char *dir) {
  DIR *d = opendir(dir);
  int n = 0;
  for (struct dirent *de; d && (de = readdir(d));) n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
  if (d) closedir(d);
  return n;
}

/* ---- format ---- */

static void check_empty(const char *dir) {
  char path[4096];
  snprintf(path, sizeof path, "%s/empty.a", dir);
  chm_err e = {0};
  CHECK(chm_ar_write(path, NULL, 0, &e) == 0, "empty archive: %s", e.msg);
  unsigned char *buf;
  ar_file a;
  if (read_ar(&a, path, &buf) == 0) CHECK(a.nmem == 0 && !a.has_index, "empty archive has members");
  free(buf);
}

static void check_names_and_padding(const char *dir) {
  static const unsigned char odd[] = "odd";  /* 3 bytes: padded */
  static const unsigned char text[] = "not an object file\n";
  chm_ar_member m[] = {
      {.name = "a.o", .data = odd, .size = 3},
      {.name = "a_rather_long_member_name.o", .data = text, .size = sizeof text - 1},
      {.name = "exactly15chars.", .data = odd, .size = 2},
      {.name = "sixteen_chars.oo", .data = odd, .size = 1},
      {.name = "empty.o", .data = NULL, .size = 0},
  };
  char path[4096];
  snprintf(path, sizeof path, "%s/names.a", dir);
  chm_err e = {0};
  CHECK(chm_ar_write(path, m, 5, &e) == 0, "names: %s", e.msg);
  unsigned char *buf;
  ar_file a;
  if (read_ar(&a, path, &buf) == 0) {
    CHECK(a.nmem == 5 && !a.has_index && a.has_longnames, "names: %d members", a.nmem);
    for (int i = 0; i < a.nmem && i < 5; i++) {
      CHECK(!strcmp(a.mem[i].name, m[i].name), "member %d named '%s'", i, a.mem[i].name);
      CHECK(a.mem[i].size == m[i].size && (!m[i].size || !memcmp(a.mem[i].data, m[i].data, m[i].size)),
            "member %s: contents differ", m[i].name);
    }
  }
  free(buf);
}

/* The runtime object's index: its three entry points, nothing local. */
static void check_runtime_index(const char *dir) {
  size_t size = 0;
  const unsigned char *rt = chm_rt_object("x86_64-linux-gnu", &size);
  CHECK(rt && size > 64, "no x86_64 runtime object");
  if (!rt) return;
  chm_ar_member m = {.name = "chamcc_rt.o", .data = rt, .size = size};
  char path[4096];
  snprintf(path, sizeof path, "%s/rt.a", dir);
  chm_err e = {0};
  CHECK(chm_ar_write(path, &m, 1, &e) == 0, "rt.a: %s", e.msg);
  unsigned char *buf;
  ar_file a;
  if (read_ar(&a, path, &buf) == 0) {
    CHECK(a.nsym == 3, "runtime index has %d symbols, want 3", a.nsym);
    CHECK(has_sym(&a, "chm_rt_parallel_for chamcc_rt.o"), "chm_rt_parallel_for not indexed");
    CHECK(has_sym(&a, "chm_rt_ws_acquire chamcc_rt.o"), "chm_rt_ws_acquire not indexed");
    CHECK(has_sym(&a, "chm_rt_ws_release chamcc_rt.o"), "chm_rt_ws_release not indexed");
  }
  free(buf);
}

/* Failures return -1 with a message and leave nothing in the folder. */
static void check_errors(const char *dir) {
  char path[4096];
  snprintf(path, sizeof path, "%s/err", dir);
  mkdir(path, 0755);
  int before = count_files(path);
  static const unsigned char bad_elf[] = "\177ELF\002\001\001\000garbage...";
  chm_ar_member bad_name = {.name = "sub/x.o", .data = bad_elf, .size = 4};
  chm_ar_member truncated = {.name = "x.o", .data = bad_elf, .size = sizeof bad_elf};
  chm_err e = {0};
  snprintf(path, sizeof path, "%s/err/out.a", dir);
  CHECK(chm_ar_write(path, &bad_name, 1, &e) == -1 && strstr(e.msg, "sub/x.o"), "bad name: '%s'", e.msg);
  chm_err e2 = {0};
  CHECK(chm_ar_write(path, &truncated, 1, &e2) == -1 && strstr(e2.msg, "x.o"), "bad ELF: '%s'", e2.msg);
  snprintf(path, sizeof path, "%s/err", dir);
  CHECK(count_files(path) == before, "a failed write left files in %s", path);
  chm_err e3 = {0};
  snprintf(path, sizeof path, "%s/no/such/dir/out.a", dir);
  CHECK(chm_ar_write(path, NULL, 0, &e3) == -1 && strstr(e3.msg, path), "missing folder: '%s'", e3.msg);
}

/* Rewriting an archive replaces it and leaves no temporary file. */
static void check_replace(const char *dir) {
  char sub[4096], path[4200];
  snprintf(sub, sizeof sub, "%s/replace", dir);
  mkdir(sub, 0755);
  snprintf(path, sizeof path, "%s/lib.a", sub);
  static const unsigned char x[] = "xx";
  chm_ar_member m = {.name = "x.o", .data = x, .size = 2};
  chm_err e = {0};
  CHECK(chm_ar_write(path, &m, 1, &e) == 0 && chm_ar_write(path, NULL, 0, &e) == 0, "%s", e.msg);
  struct stat st;
  CHECK(stat(path, &st) == 0 && st.st_size == 8, "rewritten archive has %lld bytes", (long long)st.st_size);
  CHECK(count_files(sub) == 1, "temporary files left in %s", sub);
}

/* A data member (chm_ar_data_member) like the runtime object: its head and
 * parts stored in order as one member of the right size, its two arrays in
 * the index, a non-ELF64 `like` refused. */
static void check_data_member(const char *dir) {
  size_t rt_size = 0;
  const unsigned char *rt = chm_rt_object("x86_64-linux-gnu", &rt_size);
  static const float a[3] = {1, 2, 3}, b[5] = {4, 5, 6, 7, 8};
  const char *syms[] = {"w_a", "w_b"};
  const void *data[] = {a, b};
  size_t bytes[] = {sizeof a, sizeof b};
  chm_ar_member m;
  chm_err e = {0};
  if (!rt || chm_ar_data_member("w.o", rt, rt_size, 2, syms, data, bytes, &m, &e)) {
    CHECK(0, "data member: %s", e.msg);
    return;
  }
  char path[4096];
  snprintf(path, sizeof path, "%s/data.a", dir);
  CHECK(chm_ar_write(path, &m, 1, &e) == 0, "data.a: %s", e.msg);
  unsigned char *buf;
  ar_file f;
  if (read_ar(&f, path, &buf) == 0) {
    CHECK(f.nmem == 1 && f.nsym == 2 && has_sym(&f, "w_a w.o") && has_sym(&f, "w_b w.o"), "data.a index");
    /* a at the head's end (64-aligned), b at the next 64 bytes */
    CHECK(f.mem[0].size == m.size + 64 + sizeof b && m.size % 64 == 0, "data member of %zu bytes", f.mem[0].size);
    if (f.mem[0].size == m.size + 64 + sizeof b) {
      CHECK(!memcmp(f.mem[0].data, m.data, m.size), "head differs");
      CHECK(!memcmp(f.mem[0].data + m.size, a, sizeof a), "array a differs");
      CHECK(!memcmp(f.mem[0].data + m.size + 64, b, sizeof b), "array b differs");
    }
  }
  free(buf);
  chm_ar_data_free(&m);
  static const unsigned char elf32[64] = "\177ELF\001\001\001";
  chm_err e2 = {0};
  CHECK(chm_ar_data_member("w.o", elf32, sizeof elf32, 2, syms, data, bytes, &m, &e2) == -1 &&
            strstr(e2.msg, "ELF64"), "ELF32 like: '%s'", e2.msg);
}

static void check_triples(void) {
  size_t n = 1;
  CHECK(chm_rt_object("x86_64-linux-gnu", &n) && n > 0, "x86_64-linux-gnu");
  CHECK(chm_rt_object("x86_64-pc-linux-gnu", NULL) == chm_rt_object("x86_64-unknown-linux-gnu", NULL),
        "triple vendors differ");
  CHECK(chm_rt_object("powerpc64le-linux-gnu", &n) == NULL && n == 0, "powerpc64le has a runtime?");
  CHECK(chm_rt_object("x86_64-apple-darwin", NULL) == NULL, "darwin has a runtime?");
  CHECK(chm_rt_object("x86_64", NULL) == NULL, "bare arch accepted");
  CHECK(chm_rt_object("arm64-linux-gnu", NULL) == chm_rt_object("aarch64-linux-gnu", NULL), "arm64 alias");
}

static int format(const char *dir) {
  mkdir(dir, 0755);
  check_empty(dir);
  check_names_and_padding(dir);
  check_runtime_index(dir);
  check_errors(dir);
  check_replace(dir);
  check_data_member(dir);
  check_triples();
  if (!failures) printf("ok\n");
  return failures ? 1 : 0;
}

/* ---- linking a program against an archive ---- */

typedef struct link_args {
  const char *triple, *cc, *run, *ar, *nm; /* tools; "NONE" when absent */
  const char *dir, *src, *inc;             /* work folder, tests/runtime, include/ */
} link_args;

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...) {
  char cmd[8192];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cmd, sizeof cmd, fmt, ap);
  va_end(ap);
  fprintf(stderr, "+ %s\n", cmd);
  return system(cmd);
}

static int write_file(const char *path, const unsigned char *p, size_t n) {
  FILE *f = fopen(path, "wb");
  int ok = f && fwrite(p, 1, n, f) == n;
  if (f) ok &= fclose(f) == 0;
  return ok ? 0 : -1;
}

/* The runtime object links alone with libc and libpthread only (not even
 * libgcc: -nodefaultlibs; the start files stay, for __dso_handle). */
static void check_self_contained(const link_args *l, const char *rt_path) {
  CHECK(sh("'%s' -shared -nodefaultlibs -o '%s/rt_only.so' '%s' -Wl,--no-undefined -lc -lpthread",
           l->cc, l->dir, rt_path) == 0,
        "%s runtime needs symbols beyond libc/libpthread", l->triple);
}

/* ar t, nm --print-armap and the index of `ar rcsD` agree with ours. */
static void check_binutils(const link_args *l, const ar_file *ours) {
  CHECK(sh("cd '%s' && '%s' t libtest.a > ar_t.txt && grep -qx chamcc_rt.o ar_t.txt && "
           "grep -qx model_kernels_long_name.o ar_t.txt", l->dir, l->ar) == 0, "ar t");
  CHECK(sh("cd '%s' && '%s' --print-armap libtest.a > armap.txt && "
           "grep -q 'chm_rt_parallel_for in chamcc_rt.o' armap.txt && "
           "grep -q 'kernel_sum_squares in model_kernels_long_name.o' armap.txt && "
           "grep -q 'test_weights_1 in test_weights.o' armap.txt", l->dir, l->nm) == 0,
        "nm --print-armap");
  CHECK(sh("cd '%s' && rm -f ref.a && '%s' rcsD ref.a chamcc_rt.o model_kernels_long_name.o test_weights.o",
           l->dir, l->ar) == 0, "ar rcsD");
  char path[4096];
  snprintf(path, sizeof path, "%s/ref.a", l->dir);
  unsigned char *buf;
  ar_file ref;
  if (read_ar(&ref, path, &buf) == 0) {
    CHECK(ref.nsym == ours->nsym, "index: %d symbols, ar has %d", ours->nsym, ref.nsym);
    for (int i = 0; i < ref.nsym && i < ours->nsym; i++)
      CHECK(!strcmp(ref.sym[i], ours->sym[i]), "index: '%s', ar has '%s'", ours->sym[i], ref.sym[i]);
  }
  free(buf);
  CHECK(sh("cmp '%s/libtest.a' '%s'", l->dir, path) == 0, "libtest.a differs from `ar rcsD`'s archive");
}

/* A data member of two arrays (the values ar_prog.c expects) whose ELF
 * header is like the kernels' object k's, also written to DIR/test_weights.o. */
static int weights_member(const link_args *l, const unsigned char *k, size_t k_size, chm_ar_member *w) {
  static float w0[3] = {1.5f, -2, 3}, w1[17];
  for (int i = 0; i < 17; i++) w1[i] = 0.25f * (float)i;
  const char *syms[] = {"test_weights_0", "test_weights_1"};
  const void *data[] = {w0, w1};
  size_t bytes[] = {sizeof w0, sizeof w1};
  chm_err e = {0};
  if (chm_ar_data_member("test_weights.o", k, k_size, 2, syms, data, bytes, w, &e)) {
    CHECK(0, "data member: %s", e.msg);
    return -1;
  }
  char path[4096];
  snprintf(path, sizeof path, "%s/test_weights.o", l->dir);
  FILE *f = fopen(path, "wb");
  int ok = f && fwrite(w->data, 1, w->size, f) == w->size;
  for (int i = 0; ok && i < w->n_parts; i++)
    ok = fwrite(w->parts[i].data, 1, w->parts[i].size, f) == w->parts[i].size;
  if (f) ok &= fclose(f) == 0;
  CHECK(ok, "cannot write %s", path);
  return ok ? 0 : -1;
}

/* Compiles ar_kernel.c, writes libtest.a, links and runs ar_prog.c. */
static void check_link(const link_args *l, const unsigned char *rt, size_t rt_size) {
  char rt_path[4096], k_path[4096], lib[4096];
  snprintf(rt_path, sizeof rt_path, "%s/chamcc_rt.o", l->dir);
  snprintf(k_path, sizeof k_path, "%s/model_kernels_long_name.o", l->dir);
  snprintf(lib, sizeof lib, "%s/libtest.a", l->dir);
  CHECK(write_file(rt_path, rt, rt_size) == 0, "cannot write %s", rt_path);
  check_self_contained(l, rt_path);
  if (sh("'%s' -O2 -fPIC -I'%s' -c '%s/ar_kernel.c' -o '%s'", l->cc, l->inc, l->src, k_path)) {
    CHECK(0, "cannot compile ar_kernel.c");
    return;
  }
  chm_err e = {0};
  size_t k_size;
  unsigned char *k = chm_read_file(k_path, &k_size, &e);
  CHECK(k != NULL, "%s", e.msg);
  chm_ar_member w = {0};
  if (!k || weights_member(l, k, k_size, &w)) {
    free(k);
    return;
  }
  chm_ar_member m[] = {{.name = "chamcc_rt.o", .data = rt, .size = rt_size},
                       {.name = "model_kernels_long_name.o", .data = k, .size = k_size}, w};
  CHECK(chm_ar_write(lib, m, 3, &e) == 0, "libtest.a: %s", e.msg);
  chm_ar_data_free(&w);
  free(k);
  CHECK(sh("'%s' -o '%s/prog' '%s/ar_prog.c' '%s' -lpthread", l->cc, l->dir, l->src, lib) == 0, "link");
  if (!strcmp(l->run, "-"))
    CHECK(sh("'%s/prog'", l->dir) == 0, "run");
  else
    CHECK(sh("'%s' -L /usr/%s '%s/prog'", l->run, l->triple, l->dir) == 0, "run under %s", l->run);
  unsigned char *buf;
  ar_file ours;
  if (read_ar(&ours, lib, &buf) == 0 && strcmp(l->ar, "NONE") && strcmp(l->nm, "NONE"))
    check_binutils(l, &ours);
  else
    fprintf(stderr, "binutils absent: ar t / nm --print-armap checks skipped\n");
  free(buf);
}

static int link_test(const link_args *l) {
  if (!strcmp(l->cc, "NONE") || !strcmp(l->run, "NONE")) {
    fprintf(stderr, "%s: compiler or emulator absent: skipped\n", l->triple);
    return SKIP;
  }
  size_t size = 0;
  const unsigned char *rt = chm_rt_object(l->triple, &size);
  if (!rt) {
    fprintf(stderr, "%s: chamcc was built without this runtime\n", l->triple);
    return strcmp(l->run, "-") ? SKIP : 1;
  }
  mkdir(l->dir, 0755);
  check_link(l, rt, size);
  if (!failures) printf("ok\n");
  return failures ? 1 : 0;
}

int main(int argc, char **argv) {
  if (argc == 3 && !strcmp(argv[1], "format")) return format(argv[2]);
  if (argc == 10 && !strcmp(argv[1], "link")) {
    link_args l = {argv[2], argv[3], argv[4], argv[5], argv[6], argv[7], argv[8], argv[9]};
    return link_test(&l);
  }
  fprintf(stderr, "usage: test_archive format WORKDIR\n"
                  "       test_archive link TRIPLE CC RUN AR NM WORKDIR SRCDIR INCDIR\n");
  return 2;
}
