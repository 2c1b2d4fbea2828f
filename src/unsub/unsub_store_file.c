/*
 * unsub_store_file.c - the local-file unsubscribe store (one host)
 *
 * Purpose: an append-only text file, one entry per line,
 *     SECONDS TAB LIST-ID TAB RECIPIENT LF
 * written by one ses-milter-unsubscribe and read by every ses-milter of the
 * host.  Both keep the entries in a hash set.
 *
 * Writer: opens with O_APPEND | O_CREAT | O_NOFOLLOW (mode 0640), refuses
 * anything but a regular file with one link that group and others cannot
 * write, takes an exclusive flock (a second writer is refused: one writer),
 * loads what is there (for replays), then appends each new entry with one
 * write(2) and fdatasync(2) before the caller answers; a failed or short
 * write is truncated away.
 *
 * Reader: at most every refresh_ms (0: every lookup) it lstat(2)s the path:
 * the same file grown -> reads the new complete lines only (from where it
 * stopped); another inode or a shorter file -> reads it again from the
 * start; no file -> empty.  A symbolic link, a non-regular file or a read
 * error makes lookups answer -1 ("cannot tell") until the file is usable
 * again.  Lookups are one hash probe under a mutex.
 *
 * Diagnostics: open errors go to err; later read errors turn into -1 from
 * has(), which the caller logs.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unsub/unsub_store.h"
#include "lib/util.h"

#define UNSUB_FILE_LINE_MAX 2048

typedef struct unsub_file {
    unsub_store base;
    char *path;
    int writer;
    int fd; /* writer only */
    long refresh_ms;
    uint64_t checked_ms;
    dev_t dev;
    ino_t ino;
    off_t off; /* bytes consumed: up to the last complete line */
    int broken;
    char **slots; /* open addressing, power of two */
    size_t cap, n;
    pthread_mutex_t lock;
} unsub_file;

/* unsub_file_hash - FNV-1a */
static size_t
unsub_file_hash(const char *k)
{
    uint64_t h = 1469598103934665603ULL;

    for (const unsigned char *p = (const unsigned char *)k; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    return (size_t)h;
}

/* unsub_file_find - slot of k, or of the empty slot where it would go */
static size_t
unsub_file_find(const unsub_file *f, const char *k)
{
    size_t i = unsub_file_hash(k) & (f->cap - 1);

    while (f->slots[i] != NULL && strcmp(f->slots[i], k) != 0)
        i = (i + 1) & (f->cap - 1);
    return i;
}

/* unsub_file_insert - take k into the set (owned afterwards) unless present; 1 if added */
static int
unsub_file_insert(unsub_file *f, char *k)
{
    size_t i;

    if (f->cap == 0 || (f->n + 1) * 2 > f->cap) {
        char **old = f->slots;
        size_t oldcap = f->cap;
        f->cap = oldcap ? oldcap * 2 : 64;
        f->slots = xcalloc(f->cap, sizeof(char *));
        for (size_t j = 0; j < oldcap; j++)
            if (old[j] != NULL)
                f->slots[unsub_file_find(f, old[j])] = old[j];
        free(old);
    }
    i = unsub_file_find(f, k);
    if (f->slots[i] != NULL) {
        free(k);
        return 0;
    }
    f->slots[i] = k;
    f->n++;
    return 1;
}

/* unsub_file_clear - empty the set */
static void
unsub_file_clear(unsub_file *f)
{
    for (size_t i = 0; i < f->cap; i++)
        free(f->slots[i]);
    free(f->slots);
    f->slots = NULL;
    f->cap = f->n = 0;
    f->off = 0;
}

/* unsub_file_line - one complete line (without LF) into the set; malformed lines are skipped */
static void
unsub_file_line(unsub_file *f, char *line)
{
    char *t1 = strchr(line, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL, *k;

    if (t2 == NULL)
        return;
    *t2 = '\0';
    if ((k = unsub_store_key(t1 + 1, t2 + 1)) != NULL)
        unsub_file_insert(f, k);
}

/* unsub_file_read - read the complete lines from f->off on; 0, or -1 on a read error */
static int
unsub_file_read(unsub_file *f, int fd)
{
    char buf[8192], line[UNSUB_FILE_LINE_MAX];
    size_t ll = 0;
    int skip = 0;
    off_t pos = f->off;
    ssize_t n;

    while ((n = pread(fd, buf, sizeof(buf), pos)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] == '\n') {
                line[ll] = '\0';
                if (!skip)
                    unsub_file_line(f, line);
                ll = 0;
                skip = 0;
                f->off = pos + i + 1;
            } else if (ll + 1 < sizeof(line)) {
                line[ll++] = buf[i];
            } else {
                skip = 1; /* an over-long line is nobody's entry */
            }
        }
        pos += n;
    }
    return 0;
}

/* unsub_file_refresh - bring the set up to date with the file (reader); caller holds the lock */
static void
unsub_file_refresh(unsub_file *f)
{
    struct stat st;
    int fd;

    if (lstat(f->path, &st) < 0) {
        f->broken = errno != ENOENT;
        if (!f->broken)
            unsub_file_clear(f);
        return;
    }
    if (!S_ISREG(st.st_mode)) {
        f->broken = 1; /* a symbolic link or anything else is not our store */
        return;
    }
    if (!f->broken && st.st_dev == f->dev && st.st_ino == f->ino && st.st_size == f->off)
        return;
    if ((fd = open(f->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY)) < 0) {
        f->broken = 1;
        return;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        f->broken = 1;
        return;
    }
    if (st.st_dev != f->dev || st.st_ino != f->ino || st.st_size < f->off) {
        unsub_file_clear(f);
        f->dev = st.st_dev;
        f->ino = st.st_ino;
    }
    f->broken = unsub_file_read(f, fd) < 0;
    close(fd);
}

/* unsub_file_has - ops.has */
static int
unsub_file_has(unsub_store *s, const char *key, uint64_t deadline_ms SM_UNUSED)
{
    unsub_file *f = (unsub_file *)s;
    uint64_t now;
    int rc;

    pthread_mutex_lock(&f->lock);
    now = util_now_ms();
    if (!f->writer && (f->refresh_ms == 0 || f->checked_ms == 0 ||
                       now - f->checked_ms >= (uint64_t)f->refresh_ms)) {
        unsub_file_refresh(f);
        f->checked_ms = now ? now : 1;
    }
    if (f->broken)
        rc = -1;
    else
        rc = f->cap > 0 && f->slots[unsub_file_find(f, key)] != NULL;
    pthread_mutex_unlock(&f->lock);
    return rc;
}

/* unsub_file_add - ops.add (writer): append, fdatasync, then remember */
static int
unsub_file_add(unsub_store *s, const char *key, const char *list_id, const char *rcpt, int64_t when,
               int *already_r, char *err, size_t errlen)
{
    unsub_file *f = (unsub_file *)s;
    char *line;
    size_t len, done = 0;
    off_t end;
    int rc = 0;

    if (!f->writer)
        return util_errf(err, errlen, "%s is open for reading only", f->path);
    pthread_mutex_lock(&f->lock);
    if (f->cap > 0 && f->slots[unsub_file_find(f, key)] != NULL) {
        *already_r = 1;
        pthread_mutex_unlock(&f->lock);
        return 0;
    }
    line = xasprintf("%lld\t%s\t%s\n", (long long)when, list_id, rcpt);
    len = strlen(line);
    if (len > UNSUB_FILE_LINE_MAX) {
        rc = util_errf(err, errlen, "entry longer than %d bytes", UNSUB_FILE_LINE_MAX);
        goto out;
    }
    end = lseek(f->fd, 0, SEEK_END);
    while (done < len) {
        ssize_t n = write(f->fd, line + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        done += (size_t)n;
    }
    if (done < len || fdatasync(f->fd) < 0) {
        rc = util_errf(err, errlen, "cannot write %s: %s", f->path, strerror(errno));
        if (end >= 0 && ftruncate(f->fd, end) < 0)
            rc = util_errf(err, errlen, "cannot write %s, nor truncate it back: %s", f->path,
                           strerror(errno));
        goto out;
    }
    unsub_file_insert(f, xstrdup(key));
out:
    free(line);
    pthread_mutex_unlock(&f->lock);
    return rc;
}

/* unsub_file_free - ops.free */
static void
unsub_file_free(unsub_store *s)
{
    unsub_file *f = (unsub_file *)s;

    if (f->fd >= 0)
        close(f->fd); /* releases the flock */
    unsub_file_clear(f);
    pthread_mutex_destroy(&f->lock);
    free(f->path);
    free(f);
}

static const unsub_store_ops unsub_file_ops = {"file", unsub_file_has, unsub_file_add,
                                               unsub_file_free};

/* unsub_file_open_writer - open, check, lock and load the file */
static int
unsub_file_open_writer(unsub_file *f, char *err, size_t errlen)
{
    struct stat st;

    f->fd = open(f->path, O_RDWR | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0640);
    if (f->fd < 0)
        return util_errf(err, errlen, "cannot open %s: %s%s", f->path, strerror(errno),
                         errno == ELOOP ? " (a symbolic link is refused)" : "");
    if (fstat(f->fd, &st) < 0 || !S_ISREG(st.st_mode))
        return util_errf(err, errlen, "%s is not a regular file", f->path);
    if (st.st_nlink != 1)
        return util_errf(err, errlen, "%s has %lu hard links; the store must have one", f->path,
                         (unsigned long)st.st_nlink);
    if (st.st_mode & 022)
        return util_errf(err, errlen, "%s is writable by group or others (mode %04o): chmod 640 it",
                         f->path, (unsigned)(st.st_mode & 07777));
    if (flock(f->fd, LOCK_EX | LOCK_NB) < 0)
        return util_errf(err, errlen, "%s: %s", f->path,
                         errno == EWOULDBLOCK ? "another ses-milter-unsubscribe writes it"
                                              : strerror(errno));
    if (unsub_file_read(f, f->fd) < 0)
        return util_errf(err, errlen, "cannot read %s: %s", f->path, strerror(errno));
    if (fsync(f->fd) < 0) /* a file just created is durable before the first answer */
        return util_errf(err, errlen, "cannot fsync %s: %s", f->path, strerror(errno));
    return 0;
}

unsub_store *
unsub_store_file_open(const char *path, int writer, long refresh_ms, char *err, size_t errlen)
{
    unsub_file *f;

    if (path == NULL || *path != '/') {
        util_errf(err, errlen, "the store file must be an absolute path");
        return NULL;
    }
    f = xcalloc(1, sizeof(*f));
    f->base.ops = &unsub_file_ops;
    f->path = xstrdup(path);
    f->writer = writer;
    f->fd = -1;
    f->refresh_ms = refresh_ms < 0 ? 0 : refresh_ms;
    pthread_mutex_init(&f->lock, NULL);
    if (writer && unsub_file_open_writer(f, err, errlen) < 0) {
        unsub_file_free(&f->base);
        return NULL;
    }
    return &f->base;
}
