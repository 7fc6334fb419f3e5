/*
 * replay.c — main() for the fuzz target without libFuzzer: runs every file
 * named on the command line, and every *.onnx file in the folders named,
 * through LLVMFuzzerTestOneInput (fuzz_model.c). A crash, a sanitizer
 * report or a broken error contract aborts; the last "replay:" line names
 * the file. Used by the test fuzz_regressions on tests/fuzz/regressions/.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "chamcc/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path) {
  chm_err e = {0};
  size_t size = 0;
  unsigned char *buf = chm_read_file(path, &size, &e);
  if (!buf) {
    fprintf(stderr, "replay: %s\n", e.msg);
    return 1;
  }
  printf("replay: %s (%zu bytes)\n", path, size);
  fflush(stdout);
  LLVMFuzzerTestOneInput(buf, size);
  free(buf);
  return 0;
}

static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The *.onnx files of a folder, in name order. */
static int run_dir(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) {
    perror(dir);
    return 1;
  }
  CHM_VEC(char *) names = {0};
  for (struct dirent *de; (de = readdir(d));) {
    size_t n = strlen(de->d_name);
    if (n > 5 && !strcmp(de->d_name + n - 5, ".onnx")) chm_vec_push(&names, chm_strdup(de->d_name));
  }
  closedir(d);
  if (names.len) qsort(names.data, (size_t)names.len, sizeof *names.data, by_name);
  int bad = 0;
  for (int i = 0; i < names.len; i++) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, names.data[i]);
    bad |= run_file(path);
    free(names.data[i]);
  }
  chm_vec_free(&names);
  return bad;
}

int main(int argc, char **argv) {
  int bad = 0;
  for (int i = 1; i < argc; i++) {
    struct stat st;
    bad |= stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode) ? run_dir(argv[i]) : run_file(argv[i]);
  }
  printf("replay: %s\n", bad ? "some files could not be read" : "all files ran without a crash");
  return bad;
}
