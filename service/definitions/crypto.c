/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The cryptography of definition packs, on OpenSSL 3: SHA-256 of files, Ed25519 signatures of
 * manifests ("pure" Ed25519 over the manifest bytes, RFC 8032), and loading the public key.
 *
 * OpenSSL's error queue is per thread; every failure path here clears it, so that a stale error
 * never shows up in some later, unrelated OpenSSL call of the same thread.
 * No state; no logging.
 */

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "definitions/definitions-internal.h"
#include "util/fileio.h"
#include "util/hexdecode.h"
#include "util/macro.h"

/* A PEM public key is a few hundred bytes; anything much larger is not one. */
#define PUBLIC_KEY_FILE_MAX (16 * 1024)

void definition_sha256(const void *data, size_t size, uint8_t ret[32]) {
        (void) SHA256(data, size, ret);
}

void definition_sha256_to_hex(const uint8_t sha256[32], char buf[65]) {
        static const char hex[] = "0123456789abcdef";

        for (size_t i = 0; i < 32; i++) {
                buf[2 * i] = hex[sha256[i] >> 4];
                buf[2 * i + 1] = hex[sha256[i] & 15];
        }
        buf[64] = '\0';
}

int definition_sha256_from_hex(const char *s, size_t len, uint8_t ret[32]) {
        uint8_t buf[32];

        if (len != 64 || hex_decode(s, sizeof(buf), buf) < 0)
                return -EINVAL;
        memcpy(ret, buf, sizeof(buf));
        return 0;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_MD_CTX *, EVP_MD_CTX_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(BIO *, BIO_free);

static bool key_is_ed25519(EVP_PKEY *key) {
        return key && EVP_PKEY_get_id(key) == EVP_PKEY_ED25519;
}

int definition_signature_verify(EVP_PKEY *key, const void *data, size_t size,
                                const uint8_t sig[DEFINITIONS_SIGNATURE_SIZE]) {
        _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *ctx = NULL;
        int r;

        if (!key_is_ed25519(key))
                return -EINVAL;
        ctx = EVP_MD_CTX_new();
        if (!ctx)
                return -ENOMEM;
        /* Ed25519 takes no digest: the NULL md selects the one-shot "pure" variant. */
        if (EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key) != 1) {
                ERR_clear_error();
                return -EIO;
        }
        r = EVP_DigestVerify(ctx, sig, DEFINITIONS_SIGNATURE_SIZE, data, size);
        ERR_clear_error();
        return r == 1;
}

int definition_signature_create(EVP_PKEY *private_key, const void *data, size_t size,
                                uint8_t ret_sig[DEFINITIONS_SIGNATURE_SIZE]) {
        _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *ctx = NULL;
        uint8_t sig[DEFINITIONS_SIGNATURE_SIZE];
        size_t len = sizeof(sig);

        if (!key_is_ed25519(private_key))
                return -EINVAL;
        ctx = EVP_MD_CTX_new();
        if (!ctx)
                return -ENOMEM;
        if (EVP_DigestSignInit(ctx, NULL, NULL, NULL, private_key) != 1 ||
            EVP_DigestSign(ctx, sig, &len, data, size) != 1 || len != sizeof(sig)) {
                ERR_clear_error();
                return -EIO;
        }
        memcpy(ret_sig, sig, sizeof(sig));
        return 0;
}

int definitions_public_key_from_raw(const uint8_t raw[DEFINITIONS_PUBLIC_KEY_SIZE],
                                    EVP_PKEY **ret_key) {
        EVP_PKEY *k;

        k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw, DEFINITIONS_PUBLIC_KEY_SIZE);
        if (!k) {
                ERR_clear_error();
                return -EINVAL;
        }
        *ret_key = k;
        return 0;
}

int definitions_public_key_load_pem(const char *path, EVP_PKEY **ret_key) {
        _cleanup_(evp_pkey_freep) EVP_PKEY *k = NULL;
        _cleanup_(BIO_freep) BIO *bio = NULL;
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *pem = NULL;
        struct stat st;
        size_t size;
        int r;

        /* The key is configuration of the package: its path may be a symlink (alternatives). */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return negative_errno();
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        r = read_fd_full(fd, 0, PUBLIC_KEY_FILE_MAX, &pem, &size);
        if (r < 0)
                return r;

        bio = BIO_new_mem_buf(pem, (int) size);
        if (!bio)
                return -ENOMEM;
        k = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
        ERR_clear_error();
        if (!k)
                return -EBADMSG;
        if (!key_is_ed25519(k))
                return -EINVAL;

        *ret_key = TAKE_PTR(k);
        return 0;
}

int definitions_public_key_equals_spki(EVP_PKEY *key, const char *spki_base64) {
        _cleanup_(evp_pkey_freep) EVP_PKEY *other = NULL;
        unsigned char der[128];
        const unsigned char *p = der;
        size_t len = strlen(spki_base64);
        int n;

        /* An Ed25519 SubjectPublicKeyInfo is 44 bytes; 3/4 of the text bounds what decodes. */
        if (len == 0 || len % 4 != 0 || len / 4 * 3 > sizeof(der))
                return -EINVAL;
        n = EVP_DecodeBlock(der, (const unsigned char *) spki_base64, (int) len);
        if (n < 0) {
                ERR_clear_error();
                return -EINVAL;
        }
        /* d2i reads the DER length itself, so the padding bytes EVP_DecodeBlock leaves at the end
         * do not matter. */
        other = d2i_PUBKEY(NULL, &p, n);
        if (!other) {
                ERR_clear_error();
                return -EINVAL;
        }
        n = EVP_PKEY_eq(key, other);
        ERR_clear_error();
        return n == 1;
}
