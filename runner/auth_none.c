/*
 * auth_none.c — the key functions of remote_auth.c for a chamcc-runner
 * built without libcrypto (the AArch64 and RISC-V runners cross-compiled
 * here: Debian's cross toolchains have no libcrypto for their targets). It
 * cannot check a key, so it refuses --key-file, and without a key the
 * runner listens on loopback only: reach it through `ssh -L`, or build the
 * runner on the board with libssl-dev (README, "Other targets").
 */
#include "chamcc/remote.h"

#include <stdio.h>
#include <string.h>

int rmt_key_load(const char *path, rmt_key *k, char *why, size_t why_size) {
  memset(k, 0, sizeof *k);
  snprintf(why, why_size,
           "--key-file %s: this chamcc-runner was built without libcrypto and cannot check a key "
           "(build it on the board with libssl-dev, or reach it through ssh -L on loopback)", path);
  return -1;
}

/* Never called: no key is ever loaded. Refuses every answer all the same. */
int rmt_auth_check(const rmt_key *k, const unsigned char nonce[RMT_NONCE], const unsigned char *answer,
                   uint64_t size) {
  return 0;
}
