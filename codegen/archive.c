/*
 * archive.c — chm_ar_write: GNU/SysV `ar` archives written without `ar`.
 *
 * Layout: "!<arch>\n"; then the "/" member, the symbol index: a big-endian
 * 32-bit count, one big-endian 32-bit offset per symbol (the file offset of
 * the header of the member that defines it) and the NUL-terminated names;
 * then, if some member name exceeds 15 characters, the "//" member listing
 * those names ("name/\n" each, referenced from a header as "/OFFSET"); then
 * the members, each a 60-byte header plus its data padded to an even size
 * with '\n'. Dates, uids and gids are 0 and modes 644, so the same input
 * always gives the same bytes: those `ar rcsD` writes (the tests check). The file is written to a
 * temporary name in the same folder and renamed over PATH at the end.
 *
 * The symbols come from each member's ELF symbol table, read here directly
 * rather than through LLVM's C API: llvm-c/Object.h (LLVM 19) gives a
 * symbol's name, address and size but neither its binding nor whether it is
 * defined, so it cannot tell a global definition from a local symbol or an
 * undefined reference — exactly what an archive index is about. The ELF
 * symbol table is a fixed format, the same for x86-64 and AArch64; this
 * reader handles both ELF classes and byte orders and bounds-checks every
 * offset. A member that is not ELF is stored without symbols (as `ar` does).
 */
#include "chamcc/archive.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- reading ELF symbol tables ---- */

typedef struct elf {
  const unsigned char *p; /* the whole object file */
  size_t size;            /* bytes of p */
  int is64;               /* ELFCLASS64 (else ELFCLASS32) */
  int be;                 /* big-endian (else little-endian) */
} elf;

typedef struct ar_sym {
  const char *name; /* NUL-terminated, inside the member's string table */
  int member;       /* index of the defining member */
} ar_sym;

typedef CHM_VEC(ar_sym) sym_vec;

enum {
  SHT_SYMTAB = 2,       /* section type of the static symbol table */
  SHN_UNDEF = 0,        /* section index of an undefined symbol */
  STB_GLOBAL = 1,       /* symbol bindings that an index lists... */
  STB_WEAK = 2,         /* ... */
  STB_GNU_UNIQUE = 10,  /* ... */
};

/* True when [off, off + n) lies inside the file. */
static int in_file(const elf *f, uint64_t off, uint64_t n) {
  return off <= f->size && n <= f->size - off;
}

/* The n-byte (1, 2, 4 or 8) unsigned field at off; the range is checked. */
static uint64_t rd(const elf *f, uint64_t off, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; i++) {
    int shift = f->be ? 8 * (n - 1 - i) : 8 * i;
    v |= (uint64_t)f->p[off + i] << shift;
  }
  return v;
}

/* A field that is 4 bytes in ELF32 and 8 in ELF64. */
static uint64_t rd_word(const elf *f, uint64_t off) { return rd(f, off, f->is64 ? 8 : 4); }

typedef struct elf_section {
  uint64_t type;    /* sh_type */
  uint64_t offset;  /* sh_offset: where the contents start */
  uint64_t size;    /* sh_size: bytes of contents */
  uint64_t link;    /* sh_link: for a symbol table, its string table */
  uint64_t entsize; /* sh_entsize: bytes per symbol */
} elf_section;

/* Section i, given the section header table at shoff. */
static elf_section elf_section_at(const elf *f, uint64_t shoff, uint64_t shentsize, uint64_t i) {
  uint64_t h = shoff + i * shentsize;
  if (f->is64)
    return (elf_section){rd(f, h + 4, 4), rd(f, h + 24, 8), rd(f, h + 32, 8), rd(f, h + 40, 4),
                         rd(f, h + 56, 8)};
  return (elf_section){rd(f, h + 4, 4), rd(f, h + 16, 4), rd(f, h + 20, 4), rd(f, h + 24, 4),
                       rd(f, h + 36, 4)};
}

/* Appends the global defined symbols of the symbol table s. */
static int elf_add_symtab(const elf *f, elf_section s, elf_section str, int member, sym_vec *out,
                          const char *name, chm_err *e) {
  uint64_t min_ent = f->is64 ? 24 : 16;
  if (s.entsize < min_ent || !in_file(f, s.offset, s.size) || !in_file(f, str.offset, str.size))
    return chm_errorf(e, "%s: malformed ELF symbol table", name);
  for (uint64_t at = s.offset; at + s.entsize <= s.offset + s.size; at += s.entsize) {
    uint64_t st_name = rd(f, at, 4);
    int info = (int)rd(f, at + (f->is64 ? 4 : 12), 1);
    uint64_t shndx = rd(f, at + (f->is64 ? 6 : 14), 2);
    int bind = info >> 4;
    if (shndx == SHN_UNDEF || st_name == 0) continue;
    if (bind != STB_GLOBAL && bind != STB_WEAK && bind != STB_GNU_UNIQUE) continue;
    const char *sym = (const char *)f->p + str.offset + st_name;
    if (st_name >= str.size || !memchr(sym, 0, str.size - st_name))
      return chm_errorf(e, "%s: ELF symbol name out of its string table", name);
    chm_vec_push(out, ((ar_sym){sym, member}));
  }
  return 0;
}

/* Appends the global defined symbols of member m (none if it is not ELF). */
static int elf_symbols(const chm_ar_member *m, int member, sym_vec *out, chm_err *e) {
  elf f = {m->data, m->size, 0, 0};
  if (m->size < 16 || memcmp(m->data, "\177ELF", 4) != 0) return 0;
  f.is64 = m->data[4] == 2, f.be = m->data[5] == 2;
  if ((m->data[4] != 1 && !f.is64) || (m->data[5] != 1 && !f.be) || !in_file(&f, 0, f.is64 ? 64 : 52))
    return chm_errorf(e, "%s: unsupported ELF header", m->name);
  uint64_t shoff = rd_word(&f, f.is64 ? 0x28 : 0x20);
  uint64_t shentsize = rd(&f, f.is64 ? 0x3A : 0x2E, 2);
  uint64_t shnum = rd(&f, f.is64 ? 0x3C : 0x30, 2);
  if (shoff == 0) return 0;
  if (shentsize < (f.is64 ? 64u : 40u) || !in_file(&f, shoff, shentsize))
    return chm_errorf(e, "%s: malformed ELF section table", m->name);
  if (shnum == 0) shnum = elf_section_at(&f, shoff, shentsize, 0).size; /* > 0xff00 sections */
  if (shnum > f.size / shentsize || !in_file(&f, shoff, shnum * shentsize))
    return chm_errorf(e, "%s: malformed ELF section table", m->name);
  for (uint64_t i = 0; i < shnum; i++) {
    elf_section s = elf_section_at(&f, shoff, shentsize, i);
    if (s.type != SHT_SYMTAB) continue;
    if (s.link >= shnum) return chm_errorf(e, "%s: malformed ELF symbol table", m->name);
    elf_section str = elf_section_at(&f, shoff, shentsize, s.link);
    if (elf_add_symtab(&f, s, str, member, out, m->name, e)) return -1;
  }
  return 0;
}

/* ---- laying out and writing the archive ---- */

enum { AR_NAME_MAX = 15, AR_HEADER = 60 };

typedef struct ar_plan {
  sym_vec syms;       /* the symbol index, in member order */
  size_t symtab_size; /* bytes of the "/" member's data */
  char *longnames;    /* data of the "//" member (NULL if none) */
  size_t longnames_size; /* bytes of longnames */
  size_t *name_off;   /* per member: offset in longnames, or -1 if short */
  uint32_t *offset;   /* per member: file offset of its header */
} ar_plan;

static size_t even(size_t n) { return n + (n & 1); }

/* Bytes of member m: its data and its parts. */
static uint64_t member_size(const chm_ar_member *m) {
  uint64_t size = m->size;
  for (int i = 0; i < m->n_parts; i++) size += m->parts[i].size;
  return size;
}

static int check_names(const chm_ar_member *m, int n, chm_err *e) {
  for (int i = 0; i < n; i++) {
    if (!m[i].name || !m[i].name[0] || strchr(m[i].name, '/') || strchr(m[i].name, '\n'))
      return chm_errorf(e, "archive member %d: bad name '%s'", i, m[i].name ? m[i].name : "");
    if (m[i].size && !m[i].data) return chm_errorf(e, "%s: member without data", m[i].name);
  }
  return 0;
}

/* Builds the "//" table for names longer than AR_NAME_MAX. */
static void plan_longnames(ar_plan *p, const chm_ar_member *m, int n) {
  CHM_VEC(char) buf = {0};
  for (int i = 0; i < n; i++) {
    size_t len = strlen(m[i].name);
    p->name_off[i] = (size_t)-1;
    if (len <= AR_NAME_MAX) continue;
    p->name_off[i] = (size_t)buf.len;
    for (size_t k = 0; k < len; k++) chm_vec_push(&buf, m[i].name[k]);
    chm_vec_push(&buf, '/');
    chm_vec_push(&buf, '\n');
  }
  if (buf.len & 1) chm_vec_push(&buf, '\n'); /* GNU ar counts the padding in */
  p->longnames = buf.data;
  p->longnames_size = (size_t)buf.len;
}

/* Collects symbols and computes every member's offset. */
static int plan_archive(ar_plan *p, const chm_ar_member *m, int n, chm_err *e) {
  for (int i = 0; i < n; i++)
    if (elf_symbols(&m[i], i, &p->syms, e)) return -1;
  p->symtab_size = 4 + 4 * (size_t)p->syms.len;
  for (int i = 0; i < p->syms.len; i++) p->symtab_size += strlen(p->syms.data[i].name) + 1;
  p->symtab_size = even(p->symtab_size); /* padded with a NUL, as GNU ar does */
  plan_longnames(p, m, n);
  uint64_t off = 8;
  if (p->syms.len) off += AR_HEADER + p->symtab_size;
  if (p->longnames_size) off += AR_HEADER + p->longnames_size;
  for (int i = 0; i < n; i++) {
    p->offset[i] = (uint32_t)off;
    uint64_t size = member_size(&m[i]);
    off += AR_HEADER + size + (size & 1);
    if (off > UINT32_MAX) return chm_errorf(e, "archive larger than 4 GiB (not supported)");
  }
  return 0;
}

/* A member header; ids is "0" for date, uid and gid (or "" for "//"). */
static void put_header(FILE *f, const char *name, const char *ids, const char *mode, size_t size) {
  fprintf(f, "%-16s%-12s%-6s%-6s%-8s%-10zu`\n", name, ids, ids, ids, mode, size);
}

static void put_be32(FILE *f, uint32_t v) {
  unsigned char b[4] = {v >> 24, v >> 16, v >> 8, v};
  fwrite(b, 1, 4, f);
}

static void put_data(FILE *f, const void *data, size_t size) {
  if (size) fwrite(data, 1, size, f);
  if (size & 1) fputc('\n', f);
}

static void put_member(FILE *f, const chm_ar_member *m) {
  uint64_t size = member_size(m);
  if (m->size) fwrite(m->data, 1, m->size, f);
  for (int i = 0; i < m->n_parts; i++)
    if (m->parts[i].size) fwrite(m->parts[i].data, 1, m->parts[i].size, f);
  if (size & 1) fputc('\n', f);
}

static void put_symtab(FILE *f, const ar_plan *p) {
  put_header(f, "/", "0", "0", p->symtab_size);
  put_be32(f, (uint32_t)p->syms.len);
  for (int i = 0; i < p->syms.len; i++) put_be32(f, p->offset[p->syms.data[i].member]);
  size_t written = 4 + 4 * (size_t)p->syms.len;
  for (int i = 0; i < p->syms.len; i++) {
    size_t len = strlen(p->syms.data[i].name) + 1;
    fwrite(p->syms.data[i].name, 1, len, f);
    written += len;
  }
  if (written < p->symtab_size) fputc(0, f);
}

static void put_archive(FILE *f, const ar_plan *p, const chm_ar_member *m, int n) {
  fputs("!<arch>\n", f);
  if (p->syms.len) put_symtab(f, p);
  if (p->longnames_size) {
    put_header(f, "//", "", "", p->longnames_size);
    put_data(f, p->longnames, p->longnames_size);
  }
  for (int i = 0; i < n; i++) {
    char name[32];
    if (p->name_off[i] == (size_t)-1)
      snprintf(name, sizeof name, "%s/", m[i].name);
    else
      snprintf(name, sizeof name, "/%zu", p->name_off[i]);
    put_header(f, name, "0", "644", (size_t)member_size(&m[i]));
    put_member(f, &m[i]);
  }
}

/* Writes the planned archive to a temporary file and renames it to path. */
static int write_atomically(const char *path, const ar_plan *p, const chm_ar_member *m, int n,
                            chm_err *e) {
  size_t len = strlen(path);
  char *tmp = chm_malloc(len + 8);
  memcpy(tmp, path, len);
  memcpy(tmp + len, ".XXXXXX", 8);
  int fd = mkstemp(tmp);
  FILE *f = fd < 0 ? NULL : fdopen(fd, "wb");
  if (!f) {
    chm_errorf(e, "%s: %s", path, strerror(errno)); /* before close() changes errno */
    if (fd >= 0) close(fd), unlink(tmp);
    free(tmp);
    return -1;
  }
  errno = 0;
  put_archive(f, p, m, n);
  int err = 0;
  if (fflush(f) != 0 || ferror(f) || fchmod(fd, 0644) != 0) err = errno ? errno : EIO;
  if (fclose(f) != 0 && !err) err = errno ? errno : EIO;
  if (!err && rename(tmp, path) != 0) err = errno;
  if (err) {
    chm_errorf(e, "%s: %s", path, strerror(err));
    unlink(tmp);
  }
  free(tmp);
  return err ? -1 : 0;
}

int chm_ar_write(const char *path, const chm_ar_member *m, int n, chm_err *e) {
  if (n < 0) return chm_errorf(e, "%s: negative member count", path);
  if (check_names(m, n, e)) return -1;
  ar_plan p = {0};
  p.name_off = chm_calloc((size_t)n + 1, sizeof *p.name_off);
  p.offset = chm_calloc((size_t)n + 1, sizeof *p.offset);
  int rc = plan_archive(&p, m, n, e);
  if (rc == 0) rc = write_atomically(path, &p, m, n, e);
  chm_vec_free(&p.syms);
  free(p.longnames);
  free(p.name_off);
  free(p.offset);
  return rc;
}
