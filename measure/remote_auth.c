/*
 * remote_auth.c — the key that lets a client use a chamcc-runner (see the
 * protocol in remote.h), compiled into chamcc and the runner.
 *
 * The key is the whole content of a file the user makes, e.g.
 *     head -c 32 /dev/urandom > runner.key && chmod 600 runner.key
 * and gives to both ends. The runner sends a fresh random nonce; the
 * client proves it holds the key by answering
 * HMAC-SHA256(key, nonce || RMT_AUTH_CONTEXT), computed by OpenSSL's
 * libcrypto and compared with CRYPTO_memcmp, which takes the same time
 * wherever the bytes differ. The key itself never crosses the wire.
 */
#include "chamcc/remote.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Checks what kind of file fd is before anything is read from it. */
static int check_key_file(int fd, const char *path, char *why, size_t why_size) {
  struct stat st;
  if (fstat(fd, &st)) {
    snprintf(why, why_size, "key file %s: %s", path, strerror(errno));
  } else if (!S_ISREG(st.st_mode)) {
    snprintf(why, why_size, "key file %s is not a regular file", path);
  } else if (st.st_mode & 077) {
    snprintf(why, why_size, "key file %s can be read or written by others (mode %03o): chmod 600 %s", path,
             (unsigned)(st.st_mode & 0777), path);
  } else if (st.st_size < RMT_KEY_MIN || st.st_size > RMT_KEY_MAX) {
    snprintf(why, why_size, "key file %s has %lld bytes, not %d to %d (make one with: head -c 32 /dev/urandom > %s)",
             path, (long long)st.st_size, RMT_KEY_MIN, RMT_KEY_MAX, path);
  } else {
    return 0;
  }
  return -1;
}

int rmt_key_load(const char *path, rmt_key *k, char *why, size_t why_size) {
  memset(k, 0, sizeof *k);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    snprintf(why, why_size, "key file %s: %s", path, strerror(errno));
    return -1;
  }
  int rc = check_key_file(fd, path, why, why_size);
  ssize_t n = rc ? 0 : read(fd, k->bytes, sizeof k->bytes);
  close(fd);
  if (!rc && n < RMT_KEY_MIN) {
    snprintf(why, why_size, "key file %s: could not read %d bytes", path, RMT_KEY_MIN);
    rc = -1;
  }
  if (rc) memset(k, 0, sizeof *k);
  else k->size = (size_t)n;
  return rc;
}

int rmt_auth_answer(const rmt_key *k, const unsigned char nonce[RMT_NONCE], unsigned char mac[RMT_MAC]) {
  unsigned char msg[RMT_NONCE + sizeof RMT_AUTH_CONTEXT - 1];
  memcpy(msg, nonce, RMT_NONCE);
  memcpy(msg + RMT_NONCE, RMT_AUTH_CONTEXT, sizeof RMT_AUTH_CONTEXT - 1);
  unsigned len = 0;
  return HMAC(EVP_sha256(), k->bytes, (int)k->size, msg, sizeof msg, mac, &len) && len == RMT_MAC ? 0 : -1;
}

int rmt_auth_check(const rmt_key *k, const unsigned char nonce[RMT_NONCE], const unsigned char *answer,
                   uint64_t size) {
  unsigned char want[RMT_MAC];
  int ok = !rmt_auth_answer(k, nonce, want) && size == RMT_MAC && CRYPTO_memcmp(want, answer, RMT_MAC) == 0;
  OPENSSL_cleanse(want, sizeof want);
  return ok;
}
