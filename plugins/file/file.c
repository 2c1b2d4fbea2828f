/*
 * file.c - the "file" identity source: a plain-text list of verified identities
 *
 * Configuration (one instance):
 *   { name = "local"; plugin = "file"; path = "/etc/ses-milter/identities"; ttl = 0; }
 *   path  required: the list.
 *   ttl   seconds the host may cache this source's answers (0: the host's TTLs).
 *
 * File format, one identity per line:
 *   user@example.com     an address: verified (local part case-sensitive)
 *   example.com          a domain: verified; the host asks about parent domains
 *                        itself, so this covers every subdomain too
 *   !user@example.com    explicitly NOT verified (overrides a verified domain for
 *   !sub.example.com     this address or subdomain, as a more specific identity)
 *   # comment            whole-line comments; blank lines are ignored
 * Leading and trailing white space is ignored; an identity may not contain
 * white space or control characters.  Domains are normalised to lower-case
 * A-labels (UTS#46 non-transitional), so "bücher.example" and
 * "xn--bcher-kva.example" are the same entry.  Listing the same identity
 * both with and without '!' is an error.
 *
 * Answers: VERIFIED, NOT_VERIFIED, or UNKNOWN for an identity not listed;
 * never TEMPFAIL.
 *
 * The list is read at init through the host's open_file (ABI 1.1), so a
 * list readable by root only is read at a start and at every reload.
 *
 * Reload: lookup() checks the file's inode, size and mtime at most once a
 * second; when they change, the file is re-read.  A bad file at init is an
 * error "path:line: reason"; a bad file on reload keeps the old list and
 * logs "path:line: reason" once per change; a file that disappears keeps
 * the old list too (logged once).
 *
 * Includes only the plugin ABI header, libc and libidn2.
 */
#include <errno.h>
#include <idn2.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <ses-milter/plugin.h>

#define FILE_LINE_MAX 1024

typedef struct file_entry {
    char *key;    /* "a" or "d" followed by the normalised identity */
    int verified; /* 1 verified, 0 explicitly not verified */
    unsigned long line;
} file_entry;

typedef struct file_list {
    file_entry *v;
    size_t n;
} file_list;

typedef struct file_inst {
    const sm_plugin_host *host;
    char *path;
    long ttl;
    pthread_rwlock_t lock; /* protects list */
    file_list *list;
    pthread_mutex_t check_lock; /* one reload check at a time */
    struct stat seen;           /* identity of the file last read (or tried) */
    long last_check;            /* CLOCK_MONOTONIC seconds, atomic */
    int missing;                /* the file could not be found at the last check */
} file_inst;

static file_list *
file_list_free(file_list *l)
{
    if (l == NULL)
        return NULL;
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].key);
    free(l->v);
    free(l);
    return NULL;
}

static int file_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
file_errf(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err != NULL && errlen > 0) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/*
 * file_domain_norm - lower-case A-label form of d into out; -1 and why on failure
 *
 * The plugin's own copy of the host's normaliser (src/lib/domain.c), on
 * purpose: a plugin includes the ABI header only (scripts/check-includes.sh)
 * and file.la links no core code (-module, libidn2 alone; the daemon
 * exports nothing to plugins), and the host already hands lookup() names
 * normalised by domain_normalize(DOMAIN_STRICT).  This copy is looser (no
 * rule on '-' at a label's ends, no xn-- round trip) and words its reasons
 * its own way ("path:line: reason" in tests/unit/identity/test_plugin.c);
 * passing the host's through sm_plugin_host would change both (issue 17).
 */
static int
file_domain_norm(const char *d, char *out, size_t outlen, char *why, size_t whylen)
{
    char *ascii = NULL;
    size_t len = strlen(d), label = 0;
    int nonascii = 0, rc;

    for (const char *p = d; *p; p++)
        nonascii |= (unsigned char)*p >= 0x80;
    if (nonascii) {
        if ((rc = idn2_to_ascii_8z(d, &ascii, IDN2_NONTRANSITIONAL)) != IDN2_OK)
            return file_errf(why, whylen, "invalid internationalised domain (%s)",
                             idn2_strerror(rc));
        d = ascii;
        len = strlen(d);
    }
    if (len > 0 && d[len - 1] == '.')
        len--;
    if (len == 0 || len > 253 || len >= outlen) {
        idn2_free(ascii);
        return file_errf(why, whylen, "domain is empty or longer than 253 octets");
    }
    for (size_t i = 0; i <= len; i++) {
        char ch = i < len ? d[i] : '.';
        if (ch >= 'A' && ch <= 'Z')
            ch = (char)(ch - 'A' + 'a');
        if (i < len)
            out[i] = ch;
        if (ch == '.') {
            if (label == 0 || label > 63) {
                idn2_free(ascii);
                return file_errf(why, whylen, "domain has an empty or too long label");
            }
            label = 0;
        } else if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_') {
            label++;
        } else {
            idn2_free(ascii);
            return file_errf(why, whylen, "domain contains the character 0x%02x",
                             (unsigned char)ch);
        }
    }
    out[len] = '\0';
    idn2_free(ascii);
    return 0;
}

/* file_parse_identity - normalise one identity text into a key ("a..." / "d...") */
static int
file_parse_identity(const char *id, char *key, size_t keylen, char *why, size_t whylen)
{
    const char *at = strrchr(id, '@');
    char dom[300];

    if (*id == '\0')
        return file_errf(why, whylen, "empty identity");
    for (const char *p = id; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f)
            return file_errf(why, whylen,
                             "identity contains white space or a control "
                             "character");
    if (at == NULL) {
        key[0] = 'd';
        return file_domain_norm(id, key + 1, keylen - 1, why, whylen);
    }
    if (at == id)
        return file_errf(why, whylen, "address with an empty local part");
    if (file_domain_norm(at + 1, dom, sizeof(dom), why, whylen) < 0)
        return -1;
    if ((size_t)snprintf(key, keylen, "a%.*s@%s", (int)(at - id), id, dom) >= keylen)
        return file_errf(why, whylen, "address too long");
    return 0;
}

static int
file_entry_cmp(const void *a, const void *b)
{
    return strcmp(((const file_entry *)a)->key, ((const file_entry *)b)->key);
}

/* file_trim - strip leading and trailing white space in place */
static char *
file_trim(char *s)
{
    size_t len;

    while (*s == ' ' || *s == '\t')
        s++;
    len = strlen(s);
    while (len > 0 &&
           (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r' || s[len - 1] == '\n'))
        s[--len] = '\0';
    return s;
}

/* file_check_dups - sort; refuse an identity listed both with and without '!' */
static int
file_check_dups(const char *path, file_list *l, char *err, size_t errlen)
{
    if (l->n == 0)
        return 0;
    qsort(l->v, l->n, sizeof(*l->v), file_entry_cmp);
    for (size_t i = 1; i < l->n; i++)
        if (strcmp(l->v[i].key, l->v[i - 1].key) == 0 && l->v[i].verified != l->v[i - 1].verified)
            return file_errf(err, errlen, "%s:%lu: %s conflicts with line %lu", path,
                             l->v[i].line > l->v[i - 1].line ? l->v[i].line : l->v[i - 1].line,
                             l->v[i].key + 1,
                             l->v[i].line > l->v[i - 1].line ? l->v[i - 1].line : l->v[i].line);
    return 0;
}

/* file_parse_line - add one line's entry to l (or nothing); -1 and why on a bad line */
static int
file_parse_line(file_list *l, char *raw, size_t rawlen, unsigned long lineno, char *why,
                size_t whylen)
{
    char key[FILE_LINE_MAX + 8], *s;
    int verified = 1;

    if (memchr(raw, '\0', rawlen) != NULL)
        return file_errf(why, whylen, "NUL byte in line");
    if (rawlen > FILE_LINE_MAX)
        return file_errf(why, whylen, "line longer than %d bytes", FILE_LINE_MAX);
    s = file_trim(raw);
    if (*s == '\0' || *s == '#')
        return 0;
    if (*s == '!') {
        verified = 0;
        s = file_trim(s + 1);
    }
    if (file_parse_identity(s, key, sizeof(key), why, whylen) < 0)
        return -1;
    l->v = realloc(l->v, (l->n + 1) * sizeof(*l->v));
    if (l->v == NULL || (l->v[l->n].key = strdup(key)) == NULL)
        abort();
    l->v[l->n].verified = verified;
    l->v[l->n].line = lineno;
    l->n++;
    return 0;
}

/*
 * file_open - the list for reading: through the host's open_file when
 * given one (init: as root, or served by its privileged helper on a reload)
 */
static FILE *
file_open(const char *path, const sm_plugin_host *host)
{
    char why[256];
    FILE *fp;
    int fd;

    if (host == NULL || host->open_file == NULL)
        return fopen(path, "r");
    if ((fd = host->open_file(host->ctx, path, why, sizeof(why))) < 0)
        return NULL;
    if ((fp = fdopen(fd, "r")) == NULL) {
        int e = errno;
        close(fd);
        errno = e;
    }
    return fp;
}

/* file_load - read the list (host: see file_open); st_r gets the identity of what was read */
static file_list *
file_load(const char *path, const sm_plugin_host *host, struct stat *st_r, char *err, size_t errlen)
{
    FILE *fp = file_open(path, host);
    file_list *l;
    char *line = NULL, why[256];
    size_t cap = 0;
    ssize_t len;
    unsigned long lineno = 0;

    if (fp == NULL) {
        file_errf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    if (fstat(fileno(fp), st_r) < 0)
        memset(st_r, 0, sizeof(*st_r));
    if ((l = calloc(1, sizeof(*l))) == NULL)
        abort();
    while ((len = getline(&line, &cap, fp)) >= 0) {
        lineno++;
        if (file_parse_line(l, line, (size_t)len, lineno, why, sizeof(why)) < 0) {
            file_errf(err, errlen, "%s:%lu: %s", path, lineno, why);
            goto fail;
        }
    }
    if (ferror(fp)) {
        file_errf(err, errlen, "%s: read error: %s", path, strerror(errno));
        goto fail;
    }
    if (file_check_dups(path, l, err, errlen) < 0)
        goto fail;
    free(line);
    fclose(fp);
    return l;
fail:
    free(line);
    fclose(fp);
    return file_list_free(l);
}

static int
file_same(const struct stat *a, const struct stat *b)
{
    return a->st_ino == b->st_ino && a->st_dev == b->st_dev && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* file_maybe_reload - at most once a second: re-read the list if the file changed */
static void
file_maybe_reload(file_inst *fi, const char *qid)
{
    struct timespec ts;
    struct stat st;
    long now, last;
    file_list *l, *old;
    char err[512];

    clock_gettime(CLOCK_MONOTONIC, &ts);
    now = (long)ts.tv_sec;
    last = __atomic_load_n(&fi->last_check, __ATOMIC_RELAXED);
    if (now == last || pthread_mutex_trylock(&fi->check_lock) != 0)
        return;
    __atomic_store_n(&fi->last_check, now, __ATOMIC_RELAXED);
    if (stat(fi->path, &st) < 0) {
        if (!fi->missing)
            fi->host->log(fi->host->ctx, LOG_ERR, qid, "%s: %s (keeping the previous list)",
                          fi->path, strerror(errno));
        fi->missing = 1;
        memset(&fi->seen, 0, sizeof(fi->seen)); /* re-read when it comes back */
        goto out;
    }
    fi->missing = 0;
    if (file_same(&st, &fi->seen))
        goto out;
    l = file_load(fi->path, NULL, &st, err, sizeof(err));
    fi->seen = st;
    if (l == NULL) {
        fi->host->log(fi->host->ctx, LOG_ERR, qid, "%s (keeping the previous list)", err);
        goto out;
    }
    pthread_rwlock_wrlock(&fi->lock);
    old = fi->list;
    fi->list = l;
    pthread_rwlock_unlock(&fi->lock);
    file_list_free(old);
    fi->host->log(fi->host->ctx, LOG_INFO, qid, "%s: reloaded, %zu identities", fi->path, l->n);
out:
    pthread_mutex_unlock(&fi->check_lock);
}

static int
file_init(const sm_plugin_host *host, void **instance_r, char *err, size_t errlen)
{
    static const char *const known[] = {"path", "ttl", NULL};
    const char *path;
    long ttl;
    char where[256];
    file_inst *fi;
    file_list *l;
    struct stat st;

    if (host->conf_check(host->ctx, known, err, errlen) < 0 ||
        host->conf_string(host->ctx, "path", NULL, &path, err, errlen) < 0 ||
        host->conf_int(host->ctx, "ttl", 0, 0, 86400, &ttl, err, errlen) < 0)
        return -1;
    if (path == NULL || *path == '\0')
        return file_errf(err, errlen, "%s: identity source %s: 'path' is required",
                         host->conf_where(host->ctx, NULL, where, sizeof(where)),
                         host->instance_name);
    if ((l = file_load(path, host, &st, err, errlen)) == NULL)
        return -1;
    if ((fi = calloc(1, sizeof(*fi))) == NULL || (fi->path = strdup(path)) == NULL)
        abort();
    fi->host = host;
    fi->ttl = ttl;
    fi->list = l;
    fi->seen = st;
    pthread_rwlock_init(&fi->lock, NULL);
    pthread_mutex_init(&fi->check_lock, NULL);
    *instance_r = fi;
    return 0;
}

static sm_id_answer
file_lookup(void *instance, const sm_id_query *q, sm_id_attrs *attrs)
{
    file_inst *fi = instance;
    char key[FILE_LINE_MAX + 8];
    file_entry probe, *e;
    sm_id_answer a = SM_ID_UNKNOWN;

    if (q == NULL || q->identity == NULL || strlen(q->identity) + 2 > sizeof(key))
        return SM_ID_UNKNOWN;
    file_maybe_reload(fi, q->queue_id);
    key[0] = q->kind == SM_IDKIND_ADDRESS ? 'a' : 'd';
    strcpy(key + 1, q->identity);
    probe.key = key;
    pthread_rwlock_rdlock(&fi->lock);
    e = fi->list->n == 0 ? NULL
                         : bsearch(&probe, fi->list->v, fi->list->n, sizeof(*e), file_entry_cmp);
    if (e != NULL) {
        a = e->verified ? SM_ID_VERIFIED : SM_ID_NOT_VERIFIED;
        attrs->identity_type =
            q->kind == SM_IDKIND_ADDRESS ? SM_IDTYPE_EMAIL_ADDRESS : SM_IDTYPE_DOMAIN;
        snprintf(attrs->identity, sizeof(attrs->identity), "%s", q->identity);
        snprintf(attrs->detail, sizeof(attrs->detail), "%s:%lu%s", fi->path, e->line,
                 e->verified ? "" : " (listed as not verified)");
    }
    pthread_rwlock_unlock(&fi->lock);
    attrs->ttl = (unsigned)fi->ttl;
    return a;
}

static void
file_close(void *instance)
{
    file_inst *fi = instance;

    if (fi == NULL)
        return;
    file_list_free(fi->list);
    pthread_rwlock_destroy(&fi->lock);
    pthread_mutex_destroy(&fi->check_lock);
    free(fi->path);
    free(fi);
}

static void
file_dump(void *instance, void (*out)(void *arg, const char *line), void *arg)
{
    file_inst *fi = instance;
    char line[1200];
    size_t n;

    pthread_rwlock_rdlock(&fi->lock);
    n = fi->list->n;
    pthread_rwlock_unlock(&fi->lock);
    snprintf(line, sizeof(line), "path = \"%s\"; ttl = %ld; (%zu identities loaded)", fi->path,
             fi->ttl, n);
    out(arg, line);
}

/* file_list_ids - ABI 1.2 list() for "ses-milter doctor --all": the verified entries */
static int
file_list_ids(void *instance, uint64_t deadline_ms, sm_id_list_fn fn, void *arg, char *err,
              size_t errlen)
{
    file_inst *fi = instance;

    (void)deadline_ms;
    (void)err;
    (void)errlen;
    pthread_rwlock_rdlock(&fi->lock);
    for (size_t i = 0; i < fi->list->n; i++)
        if (fi->list->v[i].verified)
            fn(arg, fi->list->v[i].key + 1,
               fi->list->v[i].key[0] == 'a' ? SM_IDTYPE_EMAIL_ADDRESS : SM_IDTYPE_DOMAIN);
    pthread_rwlock_unlock(&fi->lock);
    return 0;
}

static const sm_plugin_doctor file_doctor = {
    .size = sizeof(sm_plugin_doctor),
    .describe = NULL, /* lookup() says all a list knows */
    .list = file_list_ids,
};

const sm_plugin ses_milter_plugin = {
    .abi_version = SM_PLUGIN_ABI_VERSION,
    .abi_minor = SM_PLUGIN_ABI_MINOR,
    .size = sizeof(sm_plugin),
    .name = "file",
    .version = "1.0",
    .init = file_init,
    .start = NULL,
    .lookup = file_lookup,
    .close = file_close,
    .dump = file_dump,
    .doctor = &file_doctor,
};
