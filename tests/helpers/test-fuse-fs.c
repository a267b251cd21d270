/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A tiny in-memory FUSE filesystem for integration tests: one flat directory whose files can be
 * created, listed, read, written and removed, which is all real-time protection's self-check
 * and a test's reads need. Stopping this process (SIGSTOP) freezes the mount: every request to
 * it waits, as on a network filesystem whose server does not answer.
 *
 * test-fuse-fs MOUNTPOINT: mounts, prints nothing, serves in the foreground until unmounted or
 * sent SIGTERM. Single-threaded, so no lock guards the table.
 */
#define FUSE_USE_VERSION 31

#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define FILES_MAX 64
#define FILE_SIZE_MAX (1 << 20)

typedef struct MemFile {
        char *name;
        char *data;
        size_t size;
        mode_t mode;
} MemFile;

static MemFile files[FILES_MAX];

/* The file named by path ("/name"), or NULL. */
static MemFile *file_find(const char *path) {
        if (path[0] != '/' || strchr(path + 1, '/'))
                return NULL;
        for (size_t i = 0; i < FILES_MAX; i++)
                if (files[i].name && strcmp(files[i].name, path + 1) == 0)
                        return &files[i];
        return NULL;
}

static void *fs_init(struct fuse_conn_info *conn, struct fuse_config *cfg) {
        (void) conn;
        /* No attribute or entry caching: every access asks us, so a frozen server is felt at
         * once. */
        cfg->attr_timeout = 0;
        cfg->entry_timeout = 0;
        cfg->negative_timeout = 0;
        return NULL;
}

static int fs_getattr(const char *path, struct stat *st, struct fuse_file_info *fi) {
        MemFile *f;

        (void) fi;
        memset(st, 0, sizeof(*st));
        if (strcmp(path, "/") == 0) {
                st->st_mode = S_IFDIR | 0755;
                st->st_nlink = 2;
                return 0;
        }
        f = file_find(path);
        if (!f)
                return -ENOENT;
        st->st_mode = S_IFREG | f->mode;
        st->st_nlink = 1;
        st->st_size = (off_t) f->size;
        return 0;
}

static int fs_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t offset,
                      struct fuse_file_info *fi, enum fuse_readdir_flags flags) {
        (void) offset;
        (void) fi;
        (void) flags;
        if (strcmp(path, "/") != 0)
                return -ENOENT;
        fill(buf, ".", NULL, 0, 0);
        fill(buf, "..", NULL, 0, 0);
        for (size_t i = 0; i < FILES_MAX; i++)
                if (files[i].name)
                        fill(buf, files[i].name, NULL, 0, 0);
        return 0;
}

static int fs_create(const char *path, mode_t mode, struct fuse_file_info *fi) {
        (void) fi;
        if (path[0] != '/' || strchr(path + 1, '/') || !path[1])
                return -EINVAL;
        if (file_find(path))
                return -EEXIST;
        for (size_t i = 0; i < FILES_MAX; i++)
                if (!files[i].name) {
                        files[i] = (MemFile) { .name = strdup(path + 1), .mode = mode & 07777 };
                        return files[i].name ? 0 : -ENOMEM;
                }
        return -ENOSPC;
}

static int fs_open(const char *path, struct fuse_file_info *fi) {
        MemFile *f = file_find(path);

        if (!f)
                return -ENOENT;
        if (fi->flags & O_TRUNC) {
                free(f->data);
                f->data = NULL;
                f->size = 0;
        }
        return 0;
}

static int fs_truncate(const char *path, off_t size, struct fuse_file_info *fi) {
        MemFile *f = file_find(path);
        char *data;

        (void) fi;
        if (!f)
                return -ENOENT;
        if (size < 0 || size > FILE_SIZE_MAX)
                return -EFBIG;
        data = realloc(f->data, (size_t) size ?: 1);
        if (!data)
                return -ENOMEM;
        if ((size_t) size > f->size)
                memset(data + f->size, 0, (size_t) size - f->size);
        f->data = data;
        f->size = (size_t) size;
        return 0;
}

static int fs_read(const char *path, char *buf, size_t size, off_t offset,
                   struct fuse_file_info *fi) {
        MemFile *f = file_find(path);

        (void) fi;
        if (!f)
                return -ENOENT;
        if (offset < 0 || (size_t) offset >= f->size)
                return 0;
        if (size > f->size - (size_t) offset)
                size = f->size - (size_t) offset;
        memcpy(buf, f->data + offset, size);
        return (int) size;
}

static int fs_write(const char *path, const char *buf, size_t size, off_t offset,
                    struct fuse_file_info *fi) {
        MemFile *f = file_find(path);
        int k;

        (void) fi;
        if (!f)
                return -ENOENT;
        if (offset < 0 || (size_t) offset + size > FILE_SIZE_MAX)
                return -EFBIG;
        if ((size_t) offset + size > f->size) {
                k = fs_truncate(path, (off_t) ((size_t) offset + size), NULL);
                if (k < 0)
                        return k;
        }
        memcpy(f->data + offset, buf, size);
        return (int) size;
}

static int fs_unlink(const char *path) {
        MemFile *f = file_find(path);

        if (!f)
                return -ENOENT;
        free(f->name);
        free(f->data);
        *f = (MemFile) {};
        return 0;
}

static int fs_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi) {
        (void) tv;
        (void) fi;
        return strcmp(path, "/") == 0 || file_find(path) ? 0 : -ENOENT;
}

static const struct fuse_operations ops = {
        .init = fs_init,
        .getattr = fs_getattr,
        .readdir = fs_readdir,
        .create = fs_create,
        .open = fs_open,
        .truncate = fs_truncate,
        .read = fs_read,
        .write = fs_write,
        .unlink = fs_unlink,
        .utimens = fs_utimens,
};

int main(int argc, char **argv) {
        /* Foreground, single-threaded; the kernel checks permissions as for any filesystem. */
        char *args[] = { argv[0], (char *) "-f", (char *) "-s", (char *) "-o",
                         (char *) "default_permissions,fsname=mdatp-test-fuse,subtype=mdatptest",
                         NULL, NULL };
        int r;

        if (argc != 2) {
                fprintf(stderr, "usage: %s MOUNTPOINT\n", argv[0]);
                return 2;
        }
        args[5] = argv[1];
        r = fuse_main(6, args, &ops, NULL);
        for (size_t i = 0; i < FILES_MAX; i++) {
                free(files[i].name);
                free(files[i].data);
        }
        return r;
}
