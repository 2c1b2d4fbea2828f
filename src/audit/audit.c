/*
 * audit.c - the audit trail writer and its configuration group
 *
 * Purpose: append one chained JSON line per message (audit_record.c builds
 * it, audit_chain.c links it), durably enough for an auditor and loudly
 * when it cannot: a write that fails returns the action the administrator
 * chose ("tempfail" the message or "continue"), never a silent success.
 *
 * Concurrency: one mutex per log guards the descriptor and the chain head.
 * The record is built outside the lock; under it the writer patches in the
 * previous hash, hashes the line and issues one write(2) of line+newline on
 * an O_APPEND descriptor.  A short write (disk full) is cut back with
 * ftruncate() so that the file never keeps half a line we wrote.
 *
 * fsync policy: "never" (the kernel decides), "always" (fdatasync after
 * each record) or "interval" (fdatasync when the last one is older than
 * fsync_interval_ms: checked at each record, by a syncer thread started
 * with the first record that stays unsynced, and at reopen and close).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit/audit.h"
#include "lib/cfg.h"
#include "lib/log.h"
#include "lib/privsep.h"
#include "lib/util.h"

/* the file and its chain: shared by the writers of the snapshots that name it */
typedef struct audit_file {
    pthread_mutex_t lock;
    char *file;
    int fd;
    long mode;
    char head[AUDIT_HASH_HEX];
    int have_head;
    int dirty;
    uint64_t last_sync_ms;
    long sync_interval_ms; /* of the writer that wrote last (the syncer's period) */
    pthread_cond_t wake;   /* the interval syncer sleeps on it */
    pthread_t syncer;
    int syncer_running, stopping;
    int refs; /* under audit_files_lock */
} audit_file;

/* one writer: one snapshot's settings over a shared file */
struct audit_log {
    audit_file *f;
    audit_fsync fsync;
    long fsync_interval_ms;
    audit_on_error on_error;
    audit_record_opts opts;
    audit_key *rcpt_key, *chain_key;
};

static pthread_mutex_t audit_files_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const fsync_names[] = {"never", "always", "interval", NULL};
static const char *const rcpt_names[] = {"plain", "hashed", "omit", NULL};
static const char *const on_error_names[] = {"tempfail", "continue", NULL};

#define AUDIT_OFF(f) offsetof(audit_conf, f)

static const cfg_directive audit_directives[] = {
    {"enabled", CFG_BOOL, AUDIT_OFF(enabled), NULL, 1, 0, 0, NULL},
    {"file", CFG_STR, AUDIT_OFF(file), "/var/log/ses-milter/audit.jsonl", 0, 0, 0, NULL},
    {"fsync", CFG_ENUM, AUDIT_OFF(fsync), "interval", 0, 0, 0, fsync_names},
    {"fsync_interval_ms", CFG_INT, AUDIT_OFF(fsync_interval_ms), NULL, 1000, 1, 3600000, NULL},
    {"recipients", CFG_ENUM, AUDIT_OFF(recipients), "hashed", 0, 0, 0, rcpt_names},
    {"recipient_key_file", CFG_STR, AUDIT_OFF(recipient_key_file),
     SYSCONFDIR "/ses-milter/audit-recipient.key", 0, 0, 0, NULL},
    {"hmac_key_file", CFG_STR, AUDIT_OFF(hmac_key_file), NULL, 0, 0, 0, NULL},
    {"on_error", CFG_ENUM, AUDIT_OFF(on_error), "tempfail", 0, 0, 0, on_error_names},
    {"file_mode", CFG_STR, AUDIT_OFF(file_mode), "0640", 0, 0, 0, NULL},
    CFG_END,
};

/* audit_conf_check - cross-field checks after the table parsed */
static int
audit_conf_check(const config_setting_t *group, audit_conf *c, char *err, size_t errlen)
{
    const config_setting_t *s = group ? config_setting_get_member(group, "file_mode") : NULL;
    char *end = NULL;

    c->mode = strtol(c->file_mode, &end, 8);
    if (*c->file_mode == '\0' || *end != '\0' || c->mode < 0 || c->mode > 0777)
        return cfg_errf(err, errlen, s ? s : group,
                        "'audit.file_mode' = \"%s\" is not an octal mode like \"0640\"",
                        c->file_mode);
    if (c->mode & S_IWOTH)
        return cfg_errf(err, errlen, s ? s : group,
                        "'audit.file_mode' = \"%s\" lets everyone write the audit trail",
                        c->file_mode);
    if (c->enabled && (c->file == NULL || *c->file == '\0'))
        return cfg_errf(err, errlen, group, "'audit.file' must name a file when enabled");
    if (c->recipients == AUDIT_RCPT_HASHED &&
        (c->recipient_key_file == NULL || *c->recipient_key_file == '\0'))
        return cfg_errf(err, errlen, group,
                        "'audit.recipients' = \"hashed\" needs 'audit.recipient_key_file'");
    return 0;
}

int
audit_conf_parse(const config_setting_t *group, audit_conf **conf_r, char *err, size_t errlen)
{
    audit_conf *c = xcalloc(1, sizeof(*c));

    *conf_r = NULL;
    if (cfg_parse_table(group, audit_directives, c, NULL, err, errlen) < 0 ||
        audit_conf_check(group, c, err, errlen) < 0) {
        audit_conf_free(c);
        return -1;
    }
    *conf_r = c;
    return 0;
}

void
audit_conf_dump(FILE *fp, const audit_conf *conf)
{
    cfg_dump_table(fp, "audit", audit_directives, conf);
}

audit_conf *
audit_conf_free(audit_conf *conf)
{
    if (conf == NULL)
        return NULL;
    cfg_free_table(audit_directives, conf);
    free(conf);
    return NULL;
}

/* audit_link - find the hash the next line must carry, after opening fd on f->file */
static int
audit_link(audit_file *f, const audit_key *chain_key, int fd, char *err, size_t errlen)
{
    char hash[AUDIT_HASH_HEX], *older;
    int unterminated = 0, rc;

    rc = audit_chain_tail(f->file, chain_key, hash, &unterminated, err, errlen);
    if (rc < 0)
        return -1;
    if (rc == 1) {
        /* a line cut short by a crash stays as evidence; the chain goes on after it */
        if (unterminated && write(fd, "\n", 1) != 1)
            return util_errf(err, errlen, "%s: %s", f->file, strerror(errno));
        memcpy(f->head, hash, AUDIT_HASH_HEX);
        f->have_head = 1;
        return 0;
    }
    if (f->have_head)
        return 0;
    older = xasprintf("%s.1", f->file);
    rc = audit_chain_tail(older, chain_key, hash, NULL, err, errlen);
    free(older);
    if (rc < 0)
        return -1;
    memcpy(f->head, rc == 1 ? hash : AUDIT_CHAIN_GENESIS, AUDIT_HASH_HEX);
    f->have_head = 1;
    return 0;
}

/*
 * audit_open_fd - open the file for appending (no symbolic link: privsep_open),
 * create it with the configured mode; refuse anything but a plain file
 */
static int
audit_open_fd(audit_file *f, char *err, size_t errlen)
{
    struct stat st = {0};
    char why[512];
    int fd;

    fd = privsep_open(f->file, O_WRONLY | O_APPEND | O_CREAT, (mode_t)f->mode, why, sizeof(why));
    if (fd < 0)
        return util_errf(err, errlen, "cannot open audit log %s", why);
    /* a device (/dev/full to test a full disk) cannot be planted without root */
    if (fstat(fd, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISCHR(st.st_mode)) ||
        (S_ISREG(st.st_mode) && st.st_nlink != 1)) {
        close(fd);
        return util_errf(err, errlen, "audit log %s: %s", f->file,
                         S_ISREG(st.st_mode) ? "has other hard links (refused)"
                                             : "not a regular file (refused)");
    }
    if (S_ISREG(st.st_mode) && st.st_size == 0)
        (void)fchmod(fd, (mode_t)f->mode); /* umask must not widen or narrow it */
    return fd;
}

/* audit_cond_init - a condition variable that times out on CLOCK_MONOTONIC */
static void
audit_cond_init(pthread_cond_t *c)
{
    pthread_condattr_t a;

    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(c, &a);
    pthread_condattr_destroy(&a);
}

/*
 * audit_syncer - for fsync "interval": sync records left dirty when mail
 * stops flowing, so that at most fsync_interval_ms of records are at risk
 */
static void *
audit_syncer(void *arg)
{
    audit_file *f = arg;

    pthread_mutex_lock(&f->lock);
    while (!f->stopping) {
        struct timespec ts;
        uint64_t now;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += f->sync_interval_ms / 1000;
        ts.tv_nsec += (f->sync_interval_ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&f->wake, &f->lock, &ts);
        now = util_now_ms();
        if (f->dirty && now - f->last_sync_ms >= (uint64_t)f->sync_interval_ms) {
            f->dirty = 0;
            f->last_sync_ms = now;
            (void)fdatasync(f->fd);
        }
    }
    pthread_mutex_unlock(&f->lock);
    return NULL;
}

/* audit_file_open - open and link the file (first writer of a file) */
static audit_file *
audit_file_open(const audit_conf *conf, const audit_key *chain_key, char *err, size_t errlen)
{
    audit_file *f = xcalloc(1, sizeof(*f));

    pthread_mutex_init(&f->lock, NULL);
    audit_cond_init(&f->wake);
    f->file = xstrdup(conf->file);
    f->mode = conf->mode ? conf->mode : 0640;
    f->sync_interval_ms = conf->fsync_interval_ms > 0 ? conf->fsync_interval_ms : 1000;
    f->refs = 1;
    if ((f->fd = audit_open_fd(f, err, errlen)) < 0 ||
        audit_link(f, chain_key, f->fd, err, errlen)) {
        if (f->fd >= 0)
            close(f->fd);
        pthread_mutex_destroy(&f->lock);
        pthread_cond_destroy(&f->wake);
        free(f->file);
        free(f);
        return NULL;
    }
    f->last_sync_ms = util_now_ms();
    return f;
}

/* audit_file_put - drop one writer's reference; the last one syncs and closes */
static void
audit_file_put(audit_file *f)
{
    int last;

    if (f == NULL)
        return;
    pthread_mutex_lock(&audit_files_lock);
    last = --f->refs == 0;
    pthread_mutex_unlock(&audit_files_lock);
    if (!last)
        return;
    if (f->syncer_running) {
        pthread_mutex_lock(&f->lock);
        f->stopping = 1;
        pthread_cond_signal(&f->wake);
        pthread_mutex_unlock(&f->lock);
        pthread_join(f->syncer, NULL);
    }
    if (f->fd >= 0) {
        if (f->dirty)
            (void)fdatasync(f->fd);
        close(f->fd);
    }
    pthread_mutex_destroy(&f->lock);
    pthread_cond_destroy(&f->wake);
    free(f->file);
    free(f);
}

int
audit_log_open_shared(const audit_conf *conf, audit_log *same_file, audit_log **log_r, char *err,
                      size_t errlen)
{
    audit_log *log;

    *log_r = NULL;
    if (!conf->enabled)
        return 0;
    if (same_file != NULL && strcmp(same_file->f->file, conf->file) != 0)
        return util_errf(err, errlen, "audit log %s: cannot share the writer of %s", conf->file,
                         same_file->f->file);
    json_object_seed(0); /* jansson seeds lazily, racily: do it before threads start */
    log = xcalloc(1, sizeof(*log));
    log->fsync = (audit_fsync)conf->fsync;
    log->fsync_interval_ms = conf->fsync_interval_ms > 0 ? conf->fsync_interval_ms : 1000;
    log->on_error = (audit_on_error)conf->on_error;
    log->opts.rcpt_mode = (audit_rcpt_mode)conf->recipients;
    if (conf->recipients == AUDIT_RCPT_HASHED &&
        audit_chain_key_load(conf->recipient_key_file, &log->rcpt_key, err, errlen) < 0)
        goto fail;
    if (conf->hmac_key_file != NULL && *conf->hmac_key_file &&
        audit_chain_key_load(conf->hmac_key_file, &log->chain_key, err, errlen) < 0)
        goto fail;
    log->opts.rcpt_key = log->rcpt_key;
    log->opts.chain_key = log->chain_key;
    if (same_file != NULL) {
        pthread_mutex_lock(&audit_files_lock);
        same_file->f->refs++;
        pthread_mutex_unlock(&audit_files_lock);
        log->f = same_file->f;
    } else if ((log->f = audit_file_open(conf, log->chain_key, err, errlen)) == NULL) {
        goto fail;
    }
    *log_r = log;
    return 0;
fail:
    audit_log_close(log);
    return -1;
}

int
audit_log_open(const audit_conf *conf, audit_log **log_r, char *err, size_t errlen)
{
    return audit_log_open_shared(conf, NULL, log_r, err, errlen);
}

int
audit_log_chown(audit_log *log, uid_t uid, gid_t gid, char *err, size_t errlen)
{
    struct stat st;
    int rc = 0;

    if (log == NULL)
        return 0;
    pthread_mutex_lock(&log->f->lock);
    if (fstat(log->f->fd, &st) < 0) {
        rc = util_errf(err, errlen, "audit log %s: fstat: %s", log->f->file, strerror(errno));
    } else if (!S_ISREG(st.st_mode)) {
        rc = 0; /* a device keeps its owner */
    } else if (st.st_uid != 0 && st.st_uid != geteuid() && st.st_uid != uid) {
        rc = util_errf(err, errlen,
                       "audit log %s: owned by uid %lu, not by root or uid %lu (refused)",
                       log->f->file, (unsigned long)st.st_uid,
                       (unsigned long)(uid != (uid_t)-1 ? uid : geteuid()));
    } else if ((uid != (uid_t)-1 && st.st_uid != uid) || (gid != (gid_t)-1 && st.st_gid != gid)) {
        if (fchown(log->f->fd, uid, gid) < 0)
            rc = util_errf(err, errlen, "audit log %s: fchown: %s", log->f->file, strerror(errno));
    }
    pthread_mutex_unlock(&log->f->lock);
    return rc;
}

int
audit_reopen(audit_log *log, char *err, size_t errlen)
{
    audit_file *f;
    int fd, rc = 0;

    if (log == NULL)
        return 0;
    f = log->f;
    pthread_mutex_lock(&f->lock);
    if ((fd = audit_open_fd(f, err, errlen)) < 0 ||
        audit_link(f, log->chain_key, fd, err, errlen) < 0) {
        if (fd >= 0)
            close(fd);
        rc = -1;
    } else {
        if (f->dirty)
            (void)fdatasync(f->fd);
        close(f->fd);
        f->fd = fd;
        f->dirty = 0;
    }
    pthread_mutex_unlock(&f->lock);
    return rc;
}

/* audit_sync - apply this writer's fsync policy after a record; 0 or -1 (file lock held) */
static int
audit_sync(audit_log *log, char *err, size_t errlen)
{
    audit_file *f = log->f;
    uint64_t now;

    if (log->fsync == AUDIT_FSYNC_NEVER)
        return 0;
    now = util_now_ms();
    f->dirty = 1;
    f->sync_interval_ms = log->fsync_interval_ms;
    if (log->fsync == AUDIT_FSYNC_INTERVAL &&
        now - f->last_sync_ms < (uint64_t)log->fsync_interval_ms) {
        /* started with the first record, so that a fork after open loses no thread */
        if (!f->syncer_running && pthread_create(&f->syncer, NULL, audit_syncer, f) == 0)
            f->syncer_running = 1;
        return 0;
    }
    f->last_sync_ms = now;
    f->dirty = 0;
    if (fdatasync(f->fd) < 0 && errno != EINVAL)
        return util_errf(err, errlen, "audit log %s: fsync: %s", f->file, strerror(errno));
    return 0;
}

/* audit_append - one write(2) of the whole line; undo a partial one (file lock held) */
static int
audit_append(audit_file *f, const char *line, size_t len, char *err, size_t errlen)
{
    ssize_t n;
    int e;

    do
        n = write(f->fd, line, len);
    while (n < 0 && errno == EINTR);
    if (n == (ssize_t)len)
        return 0;
    e = n < 0 ? errno : ENOSPC;
    if (n > 0) {
        off_t end = lseek(f->fd, 0, SEEK_END);
        /* best effort: the write's error is the one reported either way */
        if (end >= n && ftruncate(f->fd, end - n) < 0)
            n = 0;
    }
    return util_errf(err, errlen, "audit log %s: write: %s", f->file, strerror(e));
}

int
audit_write_msg(audit_log *log, const audit_msg *msg, char *err, size_t errlen)
{
    char hash[AUDIT_HASH_HEX], *line;
    size_t len, off;
    audit_file *f;
    int rc = 0;

    if (log == NULL)
        return AUDIT_OK;
    f = log->f;
    line = audit_record_build(msg, &log->opts, &len, &off);
    line = xrealloc(line, len + 1);
    line[len] = '\n';
    pthread_mutex_lock(&f->lock);
    memcpy(line + off, f->head, AUDIT_HASH_HEX - 1);
    audit_chain_hash(log->chain_key, line, len, hash);
    if (f->fd < 0)
        rc = util_errf(err, errlen, "audit log %s: not open", f->file);
    else
        rc = audit_append(f, line, len + 1, err, errlen);
    if (rc == 0) {
        memcpy(f->head, hash, AUDIT_HASH_HEX);
        rc = audit_sync(log, err, errlen);
    }
    pthread_mutex_unlock(&f->lock);
    free(line);
    if (rc == 0)
        return AUDIT_OK;
    return log->on_error == AUDIT_ON_ERROR_CONTINUE ? AUDIT_FAIL_CONTINUE : AUDIT_FAIL_TEMPFAIL;
}

void
audit_log_head(audit_log *log, char *out)
{
    pthread_mutex_lock(&log->f->lock);
    memcpy(out, log->f->head, AUDIT_HASH_HEX);
    pthread_mutex_unlock(&log->f->lock);
}

audit_log *
audit_log_close(audit_log *log)
{
    if (log == NULL)
        return NULL;
    audit_file_put(log->f);
    audit_chain_key_free(log->rcpt_key);
    audit_chain_key_free(log->chain_key);
    free(log);
    return NULL;
}

/* ---- the syslog summary line ---- */

/* audit_put - append formatted text at *off, never past len */
static void SM_PRINTF(4, 5) audit_put(char *buf, size_t len, size_t *off, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (*off + 1 >= len)
        return;
    va_start(ap, fmt);
    n = vsnprintf(buf + *off, len - *off, fmt, ap);
    va_end(ap);
    if (n > 0)
        *off = *off + (size_t)n < len ? *off + (size_t)n : len - 1;
}

/* audit_clean - sanitised text with double quotes made single, "-" for NULL */
static const char *
audit_clean(const char *s, char *out, size_t len)
{
    if (s == NULL) {
        util_strlcpy(out, "-", len);
        return out;
    }
    log_sanitize(s, out, len);
    for (char *p = out; *p; p++)
        if (*p == '"')
            *p = '\'';
    return out;
}

/*
 * audit_main_lookup - the identity behind the verdict, by the gate's own rule
 * (gate_verdict_of): the first not verified, else the first that could not be
 * verified, else the From lookup, else the first
 */
static const audit_lookup *
audit_main_lookup(const audit_msg *m)
{
    static const audit_answer order[] = {AUDIT_ANSWER_NOT_VERIFIED, AUDIT_ANSWER_TEMPFAIL};

    for (size_t k = 0; k < SM_ARRAY_LEN(order); k++)
        for (size_t i = 0; m->lookups != NULL && i < m->n_lookups; i++)
            if (m->lookups[i].answer == order[k])
                return &m->lookups[i];
    for (size_t i = 0; m->lookups != NULL && i < m->n_lookups; i++)
        if (m->lookups[i].role == AUDIT_ROLE_FROM)
            return &m->lookups[i];
    return m->lookups != NULL && m->n_lookups > 0 ? &m->lookups[0] : NULL;
}

/* audit_summary_providers - " providers=gmail:pass,outlook:fail(spf-pass+aligned)", "-" */
static void
audit_summary_providers(const audit_msg *m, char *buf, size_t len, size_t *off)
{
    char a[64];

    audit_put(buf, len, off, " providers=%s", m->providers && m->n_providers ? "" : "-");
    for (size_t i = 0; m->providers != NULL && i < m->n_providers; i++) {
        const audit_provider *p = &m->providers[i];
        audit_put(buf, len, off, "%s%s:", i ? "," : "", audit_clean(p->name, a, sizeof(a)));
        audit_put(buf, len, off, "%s", audit_clean(p->result, a, sizeof(a)));
        for (size_t k = 0; p->failed != NULL && k < p->n_failed; k++)
            audit_put(buf, len, off, "%s%s", k ? "+" : "(",
                      audit_clean(p->failed[k], a, sizeof(a)));
        if (p->failed != NULL && p->n_failed > 0)
            audit_put(buf, len, off, ")");
    }
}

void
audit_summary_line(const audit_msg *m, char *buf, size_t len)
{
    char a[300], b[300];
    const audit_lookup *l = audit_main_lookup(m);
    size_t off = 0;

    if (len == 0)
        return;
    buf[0] = '\0';
    audit_put(buf, len, &off, "%s: action=%s outcome=%s scope=%s",
              audit_clean(m->queue_id ? m->queue_id : "NOQUEUE", a, sizeof(a)),
              *audit_action_name(m->action) ? audit_action_name(m->action) : "-",
              *audit_outcome_name(m->outcome) ? audit_outcome_name(m->outcome) : "-",
              *audit_scope_name(m->scope) ? audit_scope_name(m->scope) : "-");
    /* "-": not known; "<>": the null sender */
    audit_put(buf, len, &off, " from=%s%s%s", m->from ? "<" : "",
              audit_clean(m->from, a, sizeof(a)), m->from ? ">" : "");
    audit_put(buf, len, &off, " env_from=%s%s%s rcpts=%zu", m->env_from ? "<" : "",
              audit_clean(m->env_from, b, sizeof(b)), m->env_from ? ">" : "", m->n_rcpts);
    if (l != NULL)
        audit_put(buf, len, &off, " identity=%s:%s", audit_clean(l->identity, a, sizeof(a)),
                  *audit_answer_name(l->answer) ? audit_answer_name(l->answer) : "-");
    else
        audit_put(buf, len, &off, " identity=-");
    audit_put(buf, len, &off, " dmarc=%s",
              m->dmarc ? audit_clean(m->dmarc->result, a, sizeof(a)) : "-");
    if (m->dmarc != NULL && m->dmarc->other != NULL) /* RFC 7489 and RFC 9989 disagree */
        audit_put(buf, len, &off, " dmarc_other=%s", audit_clean(m->dmarc->other, a, sizeof(a)));
    audit_summary_providers(m, buf, len, &off);
    if (m->account != NULL)
        audit_put(buf, len, &off, " account=%s",
                  audit_clean(m->account->decision ? m->account->decision : "-", a, sizeof(a)));
    if (m->reply_code != 0 || m->reply_text != NULL)
        audit_put(buf, len, &off, " reply=\"%d %s%s%s\"", m->reply_code,
                  m->reply_xcode ? audit_clean(m->reply_xcode, a, sizeof(a)) : "",
                  m->reply_xcode ? " " : "",
                  audit_clean(m->reply_text ? m->reply_text : "", b, sizeof(b)));
    else
        audit_put(buf, len, &off, " reply=-");
}
