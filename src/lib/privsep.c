/*
 * privsep.c - the opener of configuration-named files: direct, recording, serving
 *
 * Purpose: every file the configuration loader opens (the configuration
 * itself, key files, the audit log, plugins, a plugin's own files) is
 * opened here, so that one rule holds for all of them (no symbolic link
 * followed, close-on-exec) and so that a reload can be served the very
 * descriptors the privileged helper opened as root (privsep_helper.c).
 *
 * Concurrency: the mode (direct, record, serve) belongs to the calling
 * thread: a reload thread served by the helper's set never changes how
 * another thread (SIGUSR1 reopening the audit log) opens files.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/privsep.h"
#include "lib/util.h"

/* the flags that say what an open is for: a served descriptor must match them */
#define PRIVSEP_FLAG_MASK (O_ACCMODE | O_CREAT | O_APPEND | O_TRUNC | O_EXCL | O_DIRECTORY)

typedef struct privsep_entry {
    char *path;
    int flags;
    int fd;
    int err_no;
} privsep_entry;

struct privsep_files {
    privsep_entry *v;
    size_t n;
};

static uid_t privsep_euid;
static int privsep_euid_set;
static __thread privsep_files *privsep_recording;
static __thread privsep_files *privsep_serving;

void
privsep_init(void)
{
    privsep_euid = geteuid();
    privsep_euid_set = 1;
}

uid_t
privsep_start_euid(void)
{
    return privsep_euid_set ? privsep_euid : geteuid();
}

privsep_files *
privsep_files_new(void)
{
    return xcalloc(1, sizeof(privsep_files));
}

void
privsep_files_add(privsep_files *set, const char *path, int flags, int fd, int err_no)
{
    set->v = xrealloc(set->v, (set->n + 1) * sizeof(*set->v));
    set->v[set->n].path = xstrdup(path);
    set->v[set->n].flags = flags & PRIVSEP_FLAG_MASK;
    set->v[set->n].fd = fd;
    set->v[set->n].err_no = fd < 0 ? (err_no ? err_no : EIO) : 0;
    set->n++;
}

size_t
privsep_files_count(const privsep_files *set)
{
    return set != NULL ? set->n : 0;
}

int
privsep_files_get(const privsep_files *set, size_t i, const char **path_r, int *flags_r, int *fd_r,
                  int *err_no_r)
{
    if (set == NULL || i >= set->n)
        return -1;
    *path_r = set->v[i].path;
    *flags_r = set->v[i].flags;
    *fd_r = set->v[i].fd;
    *err_no_r = set->v[i].err_no;
    return 0;
}

privsep_files *
privsep_files_free(privsep_files *set)
{
    if (set == NULL)
        return NULL;
    for (size_t i = 0; i < set->n; i++) {
        if (set->v[i].fd >= 0)
            close(set->v[i].fd);
        free(set->v[i].path);
    }
    free(set->v);
    free(set);
    return NULL;
}

void
privsep_record(privsep_files *set)
{
    privsep_recording = set;
}

void
privsep_serve(privsep_files *set)
{
    privsep_serving = set;
}

/* privsep_reason - the text for a failed open */
static const char *
privsep_reason(int e)
{
    return e == ELOOP ? "is a symbolic link (refused)" : strerror(e);
}

/* privsep_served - a duplicate of the recorded descriptor, rewound for readers */
static int
privsep_served(const char *path, int flags, char *err, size_t errlen)
{
    const privsep_files *set = privsep_serving;
    int fd;

    for (size_t i = 0; i < set->n; i++) {
        const privsep_entry *e = &set->v[i];
        if (strcmp(e->path, path) != 0 || e->flags != (flags & PRIVSEP_FLAG_MASK))
            continue;
        if (e->fd < 0) {
            util_errf(err, errlen, "%s: %s", path, privsep_reason(e->err_no));
            errno = e->err_no;
            return -1;
        }
        if ((fd = fcntl(e->fd, F_DUPFD_CLOEXEC, 3)) < 0)
            return util_errf(err, errlen, "%s: %s", path, strerror(errno));
        if ((flags & O_ACCMODE) == O_RDONLY)
            (void)lseek(fd, 0, SEEK_SET);
        return fd;
    }
    errno = EACCES;
    return util_errf(err, errlen,
                     "%s: not among the files the privileged helper opened for this reload", path);
}

int
privsep_open(const char *path, int flags, mode_t mode, char *err, size_t errlen)
{
    int fd, e;

    if (path == NULL || *path == '\0') {
        errno = ENOENT;
        return util_errf(err, errlen, "empty file name");
    }
    if (privsep_serving != NULL)
        return privsep_served(path, flags, err, errlen);
    fd = open(path, flags | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, mode);
    e = errno;
    if (privsep_recording != NULL)
        privsep_files_add(privsep_recording, path, flags,
                          fd >= 0 ? fcntl(fd, F_DUPFD_CLOEXEC, 3) : -1, e);
    if (fd < 0) {
        util_errf(err, errlen, "%s: %s", path, privsep_reason(e));
        errno = e;
        return -1;
    }
    return fd;
}

/* privsep_root_only - st is root's and only root may write it (a sticky directory of root's may) */
static int
privsep_root_only(const struct stat *st, int sticky_ok)
{
    if (st->st_uid != 0)
        return 0;
    return !(st->st_mode & (S_IWGRP | S_IWOTH)) || (sticky_ok && (st->st_mode & S_ISVTX));
}

int
privsep_check_root_file(const char *path, char *err, size_t errlen)
{
    char *dir = xstrdup(path), *slash = strrchr(dir, '/');
    struct stat st, dst;
    int fd, rc = 0;

    if (slash == NULL)
        strcpy(dir, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    if ((fd = privsep_open(path, O_RDONLY, 0, err, errlen)) < 0) {
        free(dir);
        return -1;
    }
    if (fstat(fd, &st) < 0 || lstat(dir, &dst) < 0)
        rc = util_errf(err, errlen, "%s: %s", path, strerror(errno));
    else if (!S_ISREG(st.st_mode) || !privsep_root_only(&st, 0))
        rc = util_errf(err, errlen,
                       "%s: must be a file of root's that only root may write "
                       "(owner uid %lu, mode %04o)",
                       path, (unsigned long)st.st_uid, (unsigned)(st.st_mode & 07777));
    else if (!S_ISDIR(dst.st_mode) || !privsep_root_only(&dst, 1))
        rc = util_errf(err, errlen,
                       "%s: its directory %s must be root's and writable by root only "
                       "(owner uid %lu, mode %04o)",
                       path, dir, (unsigned long)dst.st_uid, (unsigned)(dst.st_mode & 07777));
    close(fd);
    free(dir);
    return rc;
}

int
privsep_socket_perms(const char *path, uid_t uid, gid_t gid, long mode, char *err, size_t errlen)
{
    char proc[64];
    struct stat st = {0};
    int fd, rc = 0;

    if ((fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC)) < 0)
        return util_errf(err, errlen, "%s: %s", path, privsep_reason(errno));
    /* with O_PATH, O_NOFOLLOW opens a link itself: fstat tells */
    if (fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode)) {
        close(fd);
        return util_errf(err, errlen, "%s: %s (refused)", path,
                         S_ISLNK(st.st_mode) ? "is a symbolic link" : "not a socket");
    }
    if ((uid != (uid_t)-1 || gid != (gid_t)-1) && fchownat(fd, "", uid, gid, AT_EMPTY_PATH) < 0)
        rc = util_errf(err, errlen, "chown %s: %s", path, strerror(errno));
    /* no fchmod on an O_PATH descriptor: its /proc name leads to that very inode */
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
    if (rc == 0 && mode >= 0 && chmod(proc, (mode_t)mode) < 0)
        rc = util_errf(err, errlen, "chmod %s: %s", path, strerror(errno));
    close(fd);
    return rc;
}
