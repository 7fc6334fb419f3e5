/*
 * data_object.c — chm_ar_data_member: an ELF relocatable object of read-only
 * arrays, written without LLVM.
 *
 * A library's weights are most of its bytes (hundreds of MB for a VGG).
 * Given to LLVM as constant initializers they are copied into the module,
 * then written piece by piece into a growing object buffer, then copied
 * into the archive: most of a large model's compile time. Here the object
 * is only its metadata; the archive writer appends the arrays from where
 * they are (chm_ar_member.parts), and the kernels' object refers to them by
 * symbol (hidden, so that they resolve inside the library and a shared
 * object built from it does not export them).
 *
 * Layout (ELF64, little-endian, all offsets from the start of the object):
 *
 *   ELF header | .shstrtab | .strtab | .symtab | section headers | (64-aligned)
 *   .rodata: array 0, zeros to 64 bytes, array 1, ...        (the parts)
 *
 * Sections: 0 null, 1 .rodata, 2 .symtab, 3 .strtab, 4 .shstrtab,
 * 5 .note.GNU-stack (empty: the object needs no executable stack).
 */
#include <stdlib.h>
#include <string.h>

#include "chamcc/archive.h"

enum {
  EHDR = 64, SHDR = 64, SYM = 24, ALIGN = 64, N_SECTIONS = 6,
  SEC_RODATA = 1, SEC_SYMTAB = 2, SEC_STRTAB = 3, SEC_SHSTRTAB = 4, SEC_STACK = 5,
  SHT_PROGBITS = 1, SHT_SYMTAB = 2, SHT_STRTAB = 3, SHF_ALLOC = 2,
  ET_REL = 1, STB_GLOBAL = 1, STT_OBJECT = 1, STT_SECTION = 3, STV_HIDDEN = 2,
};

static const char shstrtab[] = "\0.rodata\0.symtab\0.strtab\0.shstrtab\0.note.GNU-stack";
enum { NAME_RODATA = 1, NAME_SYMTAB = 9, NAME_STRTAB = 17, NAME_SHSTRTAB = 25, NAME_STACK = 35 };

static const unsigned char zeros[ALIGN];

static size_t align_up(size_t n, size_t a) { return (n + a - 1) / a * a; }

static void put(unsigned char *p, uint64_t v, int n) {
  for (int i = 0; i < n; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static void put_section(unsigned char *h, uint32_t name, uint32_t type, uint64_t flags, uint64_t offset,
                        uint64_t size, uint32_t link, uint32_t info, uint64_t align, uint64_t entsize) {
  put(h, name, 4);
  put(h + 4, type, 4);
  put(h + 8, flags, 8);
  put(h + 24, offset, 8);
  put(h + 32, size, 8);
  put(h + 40, link, 4);
  put(h + 44, info, 4);
  put(h + 48, align, 8);
  put(h + 56, entsize, 8);
}

int chm_ar_data_member(const char *name, const unsigned char *like, size_t like_size, int n,
                       const char *const *syms, const void *const *data, const size_t *bytes,
                       chm_ar_member *m, chm_err *e) {
  memset(m, 0, sizeof *m);
  if (like_size < EHDR || memcmp(like, "\177ELF", 4) || like[4] != 2 || like[5] != 1)
    return chm_errorf(e, "%s: the target's objects are not ELF64 little-endian", name);
  size_t strtab = 1, rodata = 0;
  for (int i = 0; i < n; i++) strtab += strlen(syms[i]) + 1;
  size_t n_syms = 2 + (size_t)n; /* null, the section, one per array */
  size_t at_shstr = EHDR, at_str = at_shstr + sizeof shstrtab, at_sym = align_up(at_str + strtab, 8);
  size_t at_sh = at_sym + n_syms * SYM, head = align_up(at_sh + N_SECTIONS * SHDR, ALIGN);
  unsigned char *h = chm_calloc(head, 1);
  chm_ar_part *parts = chm_calloc(2 * (size_t)n + 1, sizeof *parts);
  int np = 0;

  memcpy(h, like, 16); /* magic, class, byte order, version, OS ABI */
  put(h + 16, ET_REL, 2);
  memcpy(h + 18, like + 18, 2); /* e_machine */
  put(h + 20, 1, 4);            /* e_version */
  put(h + 40, at_sh, 8);        /* e_shoff */
  memcpy(h + 48, like + 48, 4); /* e_flags */
  put(h + 52, EHDR, 2);
  put(h + 58, SHDR, 2);
  put(h + 60, N_SECTIONS, 2);
  put(h + 62, SEC_SHSTRTAB, 2);
  memcpy(h + at_shstr, shstrtab, sizeof shstrtab);

  unsigned char *sym = h + at_sym + SYM; /* entry 0 stays null */
  put(sym + 4, STT_SECTION, 1);
  put(sym + 6, SEC_RODATA, 2);
  size_t str = 1;
  for (int i = 0; i < n; i++) {
    sym += SYM;
    size_t len = strlen(syms[i]) + 1;
    memcpy(h + at_str + str, syms[i], len);
    put(sym, str, 4);
    put(sym + 4, STB_GLOBAL << 4 | STT_OBJECT, 1);
    put(sym + 5, STV_HIDDEN, 1);
    put(sym + 6, SEC_RODATA, 2);
    put(sym + 8, rodata, 8);
    put(sym + 16, bytes[i], 8);
    str += len;
    if (bytes[i]) parts[np++] = (chm_ar_part){data[i], bytes[i]};
    rodata += bytes[i];
    if (rodata % ALIGN && i + 1 < n) {
      parts[np++] = (chm_ar_part){zeros, ALIGN - rodata % ALIGN};
      rodata = align_up(rodata, ALIGN);
    }
  }

  unsigned char *sh = h + at_sh + SHDR; /* header 0 stays null */
  put_section(sh, NAME_RODATA, SHT_PROGBITS, SHF_ALLOC, head, rodata, 0, 0, ALIGN, 0);
  put_section(sh + SHDR, NAME_SYMTAB, SHT_SYMTAB, 0, at_sym, n_syms * SYM, SEC_STRTAB, 2, 8, SYM);
  put_section(sh + 2 * SHDR, NAME_STRTAB, SHT_STRTAB, 0, at_str, strtab, 0, 0, 1, 0);
  put_section(sh + 3 * SHDR, NAME_SHSTRTAB, SHT_STRTAB, 0, at_shstr, sizeof shstrtab, 0, 0, 1, 0);
  put_section(sh + 4 * SHDR, NAME_STACK, SHT_PROGBITS, 0, head, 0, 0, 0, 1, 0);
  *m = (chm_ar_member){name, h, head, parts, np};
  return 0;
}

void chm_ar_data_free(chm_ar_member *m) {
  free((void *)m->data);
  free((void *)m->parts);
  memset(m, 0, sizeof *m);
}
