/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Reaching user-named places without following symlinks, the neutralising copy, and random bytes:
 * the file-system primitives the store's transactions are built from.
 *
 * A path named by a detection or by a restore request may lie in a directory that any user can
 * write, who may put a symlink where a directory was to redirect us (the root daemon) elsewhere.
 * So a directory is opened either in one openat2() that refuses symlinks in every component, or
 * one component at a time with O_NOFOLLOW; everything below it is then done with *at() calls on
 * the directory fd, never again through the path.
 *
 * State: whether openat2() is missing (found out once, a fact of the running kernel), and
 * quarantine_test_options (tests set it; the daemon never does). No logging.
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "quarantine/quarantine-internal.h"
#include "util/fileio.h"
#include "util/macro.h"

#define QUARANTINE_COPY_BUFFER_SIZE (128U * 1024U)

QuarantineTestOptions quarantine_test_options = {};

int quarantine_split_path(const char *path, char **ret_dir, char **ret_name) {
        _cleanup_free_ char *dir = NULL, *name = NULL;
        const char *slash;

        if (!path || path[0] != '/')
                return -EINVAL;
        slash = strrchr(path, '/');
        if (isempty(slash + 1) || streq(slash + 1, ".") || streq(slash + 1, ".."))
                return -EINVAL;

        dir = slash == path ? strdup("/") : strndup(path, slash - path);
        name = strdup(slash + 1);
        if (!dir || !name)
                return -ENOMEM;

        *ret_dir = TAKE_PTR(dir);
        *ret_name = TAKE_PTR(name);
        return 0;
}

/* One openat2() call; -ENOSYS on kernels before 5.6 (or a seccomp filter that hides it).
 * RESOLVE_NO_SYMLINKS covers the last component too, with ELOOP; O_NOFOLLOW is left out because
 * with O_DIRECTORY it would turn that into ENOTDIR. */
static int open_directory_openat2(const char *path) {
        /* The kernel does not grow the call while we run: ask once. */
        static bool missing = false;
        struct open_how how = {
                .flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
                .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
        };
        long fd;

        if (missing || quarantine_test_options.no_openat2)
                return -ENOSYS;
        fd = syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));
        if (fd < 0 && errno == ENOSYS)
                missing = true;
        return fd < 0 ? negative_errno() : (int) fd;
}

/* Opens the directory component name below dir_fd with O_PATH, refusing a symlink: O_NOFOLLOW
 * with O_DIRECTORY fails with ENOTDIR on a symlink, so that case is told apart with a look at
 * the name itself. */
static int open_component(int dir_fd, const char *name) {
        struct stat st;
        int fd;

        fd = openat(dir_fd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd >= 0)
                return fd;
        if (errno == ENOTDIR && fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
            S_ISLNK(st.st_mode))
                return -ELOOP;
        return negative_errno();
}

/* The walk for kernels without openat2(): one component at a time from "/". */
static int open_directory_walk(const char *path) {
        _cleanup_close_ int fd = -EBADF;
        const char *p = path;
        int fd_dir;

        fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();

        for (;;) {
                char name[NAME_MAX + 1];
                size_t n;
                int next;

                p += strspn(p, "/");
                if (!*p)
                        break;
                n = strcspn(p, "/");
                if (n > NAME_MAX)
                        return -ENAMETOOLONG;
                memcpy(name, p, n);
                name[n] = '\0';
                p += n;
                if (streq(name, "."))
                        continue;

                next = open_component(fd, name);
                if (next < 0)
                        return next;
                closep(&fd);
                fd = next;
        }

        /* An O_PATH fd cannot be fsync-ed or read: open the directory itself. */
        fd_dir = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        return fd_dir < 0 ? negative_errno() : fd_dir;
}

int quarantine_open_directory(const char *path) {
        int fd;

        if (!path || path[0] != '/' || path_has_dot_dot(path))
                return -EINVAL;
        if (strlen(path) > QUARANTINE_PATH_MAX)
                return -ENAMETOOLONG;

        fd = open_directory_openat2(path);
        if (fd != -ENOSYS)
                return fd;
        return open_directory_walk(path);
}

int quarantine_random_bytes(void *buf, size_t size) {
        uint8_t *p = buf;

        while (size > 0) {
                ssize_t n = getrandom(p, size, 0);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                p += n;
                size -= n;
        }
        return 0;
}

static void evp_md_ctx_freep(EVP_MD_CTX **c) {
        EVP_MD_CTX_free(*c);
}

static void xor_with_key(uint8_t *buf, size_t n, const uint8_t key[QUARANTINE_KEY_SIZE],
                         uint64_t offset) {
        for (size_t i = 0; i < n; i++)
                buf[i] ^= key[(offset + i) % QUARANTINE_KEY_SIZE];
}

static void digest_to_hex(const uint8_t digest[32], char ret[QUARANTINE_SHA256_LENGTH + 1]) {
        static const char hex[] = "0123456789abcdef";

        for (size_t i = 0; i < 32; i++) {
                ret[2 * i] = hex[digest[i] >> 4];
                ret[2 * i + 1] = hex[digest[i] & 0x0F];
        }
        ret[QUARANTINE_SHA256_LENGTH] = '\0';
}

int quarantine_transcode(int in_fd, int out_fd, const uint8_t key[QUARANTINE_KEY_SIZE],
                         bool encode, char ret_sha256[QUARANTINE_SHA256_LENGTH + 1],
                         uint64_t *ret_size) {
        _cleanup_(evp_md_ctx_freep) EVP_MD_CTX *ctx = NULL;
        _cleanup_free_ uint8_t *buf = NULL;
        uint8_t digest[EVP_MAX_MD_SIZE];
        unsigned digest_size = 0;
        uint64_t offset = 0;
        int r;

        buf = malloc(QUARANTINE_COPY_BUFFER_SIZE);
        ctx = EVP_MD_CTX_new();
        if (!buf || !ctx)
                return -ENOMEM;
        if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
                return -EIO;

        for (;;) {
                ssize_t n = read(in_fd, buf, QUARANTINE_COPY_BUFFER_SIZE);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (n == 0)
                        break;

                /* The hash is always of the plain bytes: before the XOR when encoding, after
                 * it when decoding. */
                if (encode && EVP_DigestUpdate(ctx, buf, n) != 1)
                        return -EIO;
                xor_with_key(buf, n, key, offset);
                if (!encode && EVP_DigestUpdate(ctx, buf, n) != 1)
                        return -EIO;
                if (out_fd >= 0) {
                        r = write_full(out_fd, buf, n);
                        if (r < 0)
                                return r;
                }
                offset += n;
        }

        if (EVP_DigestFinal_ex(ctx, digest, &digest_size) != 1 || digest_size != 32)
                return -EIO;
        digest_to_hex(digest, ret_sha256);
        if (ret_size)
                *ret_size = offset;
        return 0;
}
