/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * SHA-256 through OpenSSL's EVP interface, on a digest context owned by the scanner.
 *
 * The algorithm is fetched once per scanner (EVP_MD_fetch), so hashing a file does no provider
 * lookup and takes no lock of OpenSSL's; the context is re-initialised per hash, not reallocated.
 *
 * State owned: EngineScanner.md and .md_ctx. Must not touch anything else of the scanner.
 */

#include <errno.h>

#include <openssl/evp.h>

#include "engine/engine-internal.h"

int engine_hash_setup(EngineScanner *s) {
        s->md = EVP_MD_fetch(NULL, "SHA256", NULL);
        s->md_ctx = EVP_MD_CTX_new();
        if (!s->md || !s->md_ctx) {
                engine_hash_teardown(s);
                return -ENOMEM;
        }
        return 0;
}

void engine_hash_teardown(EngineScanner *s) {
        EVP_MD_CTX_free(s->md_ctx);
        s->md_ctx = NULL;
        EVP_MD_free(s->md);
        s->md = NULL;
}

int engine_hash_begin(EngineScanner *s) {
        return EVP_DigestInit_ex2(s->md_ctx, s->md, NULL) == 1 ? 0 : -EIO;
}

int engine_hash_update(EngineScanner *s, const void *p, size_t n) {
        if (n == 0)
                return 0;
        return EVP_DigestUpdate(s->md_ctx, p, n) == 1 ? 0 : -EIO;
}

int engine_hash_end(EngineScanner *s, uint8_t ret[static ENGINE_SHA256_SIZE]) {
        unsigned n = 0;

        if (EVP_DigestFinal_ex(s->md_ctx, ret, &n) != 1 || n != ENGINE_SHA256_SIZE)
                return -EIO;
        return 0;
}

void engine_sha256_to_hex(const uint8_t sha256[static ENGINE_SHA256_SIZE],
                          char ret[static ENGINE_SHA256_HEX_SIZE]) {
        static const char digits[] = "0123456789abcdef";

        for (size_t i = 0; i < ENGINE_SHA256_SIZE; i++) {
                ret[2 * i] = digits[sha256[i] >> 4];
                ret[2 * i + 1] = digits[sha256[i] & 0xf];
        }
        ret[2 * ENGINE_SHA256_SIZE] = '\0';
}
