/*
 * conf.c - load, check, publish and release configuration snapshots
 *
 * Purpose: own the top level of the configuration file: the "daemon" and
 * "log" groups here, "scope" in scope.c, and the concerns' groups through
 * the services hooks the caller passes (engine/services.c); conf includes
 * none of those concerns.  Unknown top-level groups are refused with
 * file:line.
 * Publishing swaps the current snapshot under a lock; readers take a
 * reference, so a snapshot is freed only when nobody uses it any more.
 *
 * Freeing a snapshot is slow (it joins the identity sources' threads,
 * dlcloses plugins, frees the cache), and the last reference of an old
 * snapshot is usually dropped by a mail thread at end of message, before
 * libmilter sends the reply.  conf_release() therefore never frees: the
 * last release hands the snapshot to the reaper thread (started by the
 * first conf_publish), which frees it off the mail path.  conf_publish()
 * frees the snapshot it replaces in the caller (the reload thread or main)
 * when nobody holds it; conf_publish(NULL) at shutdown lets the reaper
 * free what it holds and joins it, and later releases free in the caller.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf/conf.h"
#include "lib/log.h"
#include "lib/privsep.h"
#include "lib/util.h"

static const char *const conf_facilities[] = {"mail",   "daemon", "user",   "local0",
                                              "local1", "local2", "local3", "local4",
                                              "local5", "local6", "local7", NULL};
static const char *const conf_levels[] = {"error", "warning", "notice", "info", "debug", NULL};

static const cfg_directive conf_daemon_tab[] = {
    {"socket", CFG_STR, offsetof(daemon_conf, socket),
     "unix:" RUNSTATEDIR "/ses-milter/ses-milter.sock", 0, 0, 0, NULL},
    {"socket_owner", CFG_STR, offsetof(daemon_conf, socket_owner), "", 0, 0, 0, NULL},
    {"socket_group", CFG_STR, offsetof(daemon_conf, socket_group), "postfix", 0, 0, 0, NULL},
    {"socket_mode", CFG_STR, offsetof(daemon_conf, socket_mode_text), "0660", 0, 0, 0, NULL},
    {"user", CFG_STR, offsetof(daemon_conf, user), "ses-milter", 0, 0, 0, NULL},
    {"group", CFG_STR, offsetof(daemon_conf, group), "", 0, 0, 0, NULL},
    {"pid_file", CFG_STR, offsetof(daemon_conf, pid_file), RUNSTATEDIR "/ses-milter/ses-milter.pid",
     0, 0, 0, NULL},
    {"milter_timeout", CFG_INT, offsetof(daemon_conf, milter_timeout), NULL, 300, 1, 86400, NULL},
    {"backlog", CFG_INT, offsetof(daemon_conf, backlog), NULL, 128, 1, 65535, NULL},
    {"shutdown_timeout", CFG_INT, offsetof(daemon_conf, shutdown_timeout), NULL, 30, 0, 3600, NULL},
    CFG_END,
};

static const cfg_directive conf_log_tab[] = {
    {"facility", CFG_ENUM, offsetof(log_conf, facility), "mail", 0, 0, 0, conf_facilities},
    {"level", CFG_ENUM, offsetof(log_conf, level), "info", 0, 0, 0, conf_levels},
    CFG_END,
};

static const char *const conf_groups[] = {"daemon", "log", "scope", NULL};

#define CONF_MAX_SIZE (16UL * 1024 * 1024)

static pthread_mutex_t conf_lock = PTHREAD_MUTEX_INITIALIZER;
static sm_conf *conf_current;

/* the reaper: retired snapshots, freed by its own thread */
enum { CONF_REAPER_NONE, CONF_REAPER_RUNNING, CONF_REAPER_STOPPING };
static pthread_mutex_t conf_reap_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t conf_reap_cond = PTHREAD_COND_INITIALIZER;
static sm_conf *conf_retired;
static int conf_reaper_state;
static unsigned long conf_reaped_count;
static pthread_t conf_reaper_tid;

const char *
conf_default_path(void)
{
    return SYSCONFDIR "/ses-milter/ses-milter.conf";
}

/* conf_version - short SHA-256 of the text, for logs and audit records */
static void
conf_version(const char *text, size_t len, char out[17])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char hex[2 * EVP_MAX_MD_SIZE + 1];

    strcpy(out, "unknown");
    if (EVP_Digest(text, len, md, &mdlen, EVP_sha256(), NULL) == 1) {
        util_hex(md, mdlen, hex);
        memcpy(out, hex, 16);
        out[16] = '\0';
    }
}

/*
 * conf_read_text - the whole file through privsep_open (no symbolic link,
 * served by the privileged helper on a reload); NULL with a reason
 */
static char *
conf_read_text(const char *path, size_t *len_r, char *err, size_t errlen)
{
    char why[512], *buf = NULL;
    size_t len = 0, cap = 0;
    struct stat st;
    ssize_t n;
    int fd;

    if ((fd = privsep_open(path, O_RDONLY, 0, why, sizeof(why))) < 0) {
        size_t skip = strncmp(why, path, strlen(path)) == 0 ? strlen(path) + 2 : 0;
        util_errf(err, errlen, "%s: cannot read: %s", path, skip <= strlen(why) ? why + skip : why);
        return NULL;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        util_errf(err, errlen, "%s: cannot read: not a regular file", path);
        return NULL;
    }
    for (;;) {
        if (len + 4096 + 1 > cap)
            buf = xrealloc(buf, cap = cap ? cap * 2 : 16384);
        if (len > CONF_MAX_SIZE)
            break;
        n = read(fd, buf + len, cap - len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    if (n < 0 || len > CONF_MAX_SIZE) {
        util_errf(err, errlen, "%s: cannot read: %s", path,
                  n < 0 ? strerror(errno) : "larger than 16 MiB");
        free(buf);
        return NULL;
    }
    buf[len] = '\0';
    *len_r = len;
    return buf;
}

/* conf_check_daemon - values the table cannot check alone */
static int
conf_check_daemon(const config_setting_t *root, daemon_conf *d, char *err, size_t errlen)
{
    const config_setting_t *g = config_setting_get_member(root, "daemon");
    const config_setting_t *s;
    const char *spec = d->socket;
    char *end;

    d->socket_mode = strtol(d->socket_mode_text, &end, 8);
    if (*d->socket_mode_text == '\0' || *end != '\0' || d->socket_mode < 0 ||
        d->socket_mode > 0777) {
        s = g ? config_setting_get_member(g, "socket_mode") : NULL;
        return cfg_errf(err, errlen, s ? s : root,
                        "'daemon.socket_mode' = \"%s\" is not an octal mode such as \"0660\"",
                        d->socket_mode_text);
    }
    if (strncmp(spec, "unix:", 5) != 0 && strncmp(spec, "local:", 6) != 0 &&
        strncmp(spec, "inet:", 5) != 0 && strncmp(spec, "inet6:", 6) != 0 && spec[0] != '/') {
        s = g ? config_setting_get_member(g, "socket") : NULL;
        return cfg_errf(err, errlen, s ? s : root,
                        "'daemon.socket' = \"%s\": expected unix:/path, inet:PORT@HOST or "
                        "inet6:PORT@[ADDR]",
                        spec);
    }
    return 0;
}

/* conf_check_top - refuse unknown top-level settings */
static int
conf_check_top(const config_setting_t *root, const conf_services *svc, char *err, size_t errlen)
{
    for (int i = 0; i < config_setting_length(root); i++) {
        const config_setting_t *s = config_setting_get_elem(root, (unsigned)i);
        const char *name = config_setting_name(s);
        int known = 0;

        for (int j = 0; conf_groups[j] != NULL; j++)
            if (strcmp(conf_groups[j], name) == 0)
                known = 1;
        if (svc != NULL && svc->owns(name))
            known = 1;
        if (!known)
            return cfg_errf(err, errlen, s, "unknown setting '%s'", name);
    }
    return 0;
}

/*
 * conf_check_include - refuse libconfig's "@include": libconfig would open the
 * named file itself, by path (a symbolic link followed, as root at the start)
 * and, on a reload, without the privileged helper; 0 or -1 with file:line
 */
static int
conf_check_include(const char *path, const char *text, char *err, size_t errlen)
{
    int line = 1;

    for (const char *p = text; *p != '\0'; line++) {
        const char *q = p + strspn(p, " \t");

        if (strncasecmp(q, "@include", 8) == 0)
            return util_errf(err, errlen,
                             "%s:%d: @include is not supported: ses-milter opens its "
                             "configuration without following symbolic links, which libconfig's "
                             "include cannot do; put the settings in this file",
                             path, line);
        p = strchr(p, '\n');
        if (p == NULL)
            break;
        p++;
    }
    return 0;
}

sm_conf *
conf_load(const char *path, const conf_services *svc, char *err, size_t errlen)
{
    config_t cf;
    sm_conf *c;
    const config_setting_t *root;
    size_t len = 0;
    char *text;

    if ((text = conf_read_text(path, &len, err, errlen)) == NULL)
        return NULL;
    if (conf_check_include(path, text, err, errlen) < 0) {
        free(text);
        return NULL;
    }
    config_init(&cf);
    config_set_options(&cf, CONFIG_OPTION_AUTOCONVERT);
    cfg_set_source(path);
    if (strlen(text) != len || config_read_string(&cf, text) != CONFIG_TRUE) {
        if (strlen(text) != len)
            util_errf(err, errlen, "%s: contains a NUL byte", path);
        else
            util_errf(err, errlen, "%s:%d: %s",
                      config_error_file(&cf) ? config_error_file(&cf) : path,
                      config_error_line(&cf), config_error_text(&cf));
        cfg_set_source(NULL);
        config_destroy(&cf);
        free(text);
        return NULL;
    }
    c = xcalloc(1, sizeof(*c));
    c->refs = 1;
    c->svc_hooks = svc; /* before the parse: a half-parsed svc is freed by conf_free too */
    c->path = xstrdup(path);
    conf_version(text, len, c->version);
    free(text);
    root = config_root_setting(&cf);
    if (conf_check_top(root, svc, err, errlen) < 0 ||
        cfg_parse_table(config_setting_get_member(root, "daemon"), conf_daemon_tab, &c->daemon,
                        NULL, err, errlen) < 0 ||
        conf_check_daemon(root, &c->daemon, err, errlen) < 0 ||
        cfg_parse_table(config_setting_get_member(root, "log"), conf_log_tab, &c->log, NULL, err,
                        errlen) < 0 ||
        scope_conf_parse(config_setting_get_member(root, "scope"), &c->scope, err, errlen) < 0 ||
        (svc != NULL && svc->parse(root, &c->svc, err, errlen) < 0)) {
        cfg_set_source(NULL);
        config_destroy(&cf);
        conf_free(c);
        return NULL;
    }
    cfg_set_source(NULL);
    config_destroy(&cf);
    return c;
}

void
conf_dump(FILE *fp, const sm_conf *c)
{
    fprintf(fp, "# effective configuration of %s (version %s)\n", c->path, c->version);
    cfg_dump_table(fp, "daemon", conf_daemon_tab, &c->daemon);
    cfg_dump_table(fp, "log", conf_log_tab, &c->log);
    scope_conf_dump(fp, c->scope);
    if (c->svc_hooks != NULL)
        c->svc_hooks->dump(fp, c->svc);
}

int
conf_warnings(FILE *fp, const sm_conf *c)
{
    int n = 0;

    /* as root it stops the start: an error of the start checks then (startcheck.c) */
    if (geteuid() != 0 && c->daemon.user != NULL && *c->daemon.user &&
        getpwnam(c->daemon.user) == NULL) {
        fprintf(fp,
                "warning: %s: daemon.user '%s' does not exist (create it, or ses-milter "
                "will refuse to start as root)\n",
                c->path, c->daemon.user);
        n++;
    }
    if (c->scope->nnets == 0 && !c->scope->authenticated && !c->scope->local_submission &&
        !c->scope->everything) {
        fprintf(fp, "warning: %s: no scope rule is on: no mail is treated as outgoing\n", c->path);
        n++;
    }
    if (c->svc_hooks != NULL)
        n += c->svc_hooks->warnings(fp, c->svc, c->path);
    return n;
}

int
conf_start(sm_conf *c, char *err, size_t errlen)
{
    return c->svc_hooks != NULL ? c->svc_hooks->start(c->svc, err, errlen) : 0;
}

const char *
conf_file(const sm_conf *c, const char *setting)
{
    return c->svc_hooks != NULL ? c->svc_hooks->file(c->svc, setting) : NULL;
}

sm_conf *
conf_free(sm_conf *c)
{
    if (c == NULL)
        return NULL;
    cfg_free_table(conf_daemon_tab, &c->daemon);
    cfg_free_table(conf_log_tab, &c->log);
    scope_conf_free(c->scope);
    if (c->svc_hooks != NULL)
        c->svc = c->svc_hooks->free(c->svc);
    free(c->path);
    free(c);
    return NULL;
}

/* conf_reaper - free retired snapshots until conf_publish(NULL) */
static void *
conf_reaper(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&conf_reap_lock);
    for (;;) {
        sm_conf *c = conf_retired;

        if (c == NULL) {
            if (conf_reaper_state == CONF_REAPER_STOPPING)
                break;
            pthread_cond_wait(&conf_reap_cond, &conf_reap_lock);
            continue;
        }
        conf_retired = c->retired_next;
        pthread_mutex_unlock(&conf_reap_lock);
        conf_free(c);
        pthread_mutex_lock(&conf_reap_lock);
        conf_reaped_count++;
    }
    pthread_mutex_unlock(&conf_reap_lock);
    return NULL;
}

/* conf_reaper_start - the reaper thread, once; inline freeing when it cannot start */
static void
conf_reaper_start(void)
{
    pthread_mutex_lock(&conf_reap_lock);
    if (conf_reaper_state == CONF_REAPER_NONE) {
        if (pthread_create(&conf_reaper_tid, NULL, conf_reaper, NULL) == 0)
            conf_reaper_state = CONF_REAPER_RUNNING;
        else
            log_msg(LOG_WARNING, NULL,
                    "cannot start the snapshot reaper: old snapshots are freed on mail threads");
    }
    pthread_mutex_unlock(&conf_reap_lock);
}

/* conf_reaper_stop - free what the reaper holds and join it */
static void
conf_reaper_stop(void)
{
    int running;

    pthread_mutex_lock(&conf_reap_lock);
    running = conf_reaper_state == CONF_REAPER_RUNNING;
    if (running) {
        conf_reaper_state = CONF_REAPER_STOPPING;
        pthread_cond_signal(&conf_reap_cond);
    }
    pthread_mutex_unlock(&conf_reap_lock);
    if (running)
        pthread_join(conf_reaper_tid, NULL);
    pthread_mutex_lock(&conf_reap_lock);
    conf_reaper_state = CONF_REAPER_NONE;
    pthread_mutex_unlock(&conf_reap_lock);
}

/* conf_retire - a snapshot nobody holds: to the reaper, or freed here without one */
static void
conf_retire(sm_conf *c)
{
    pthread_mutex_lock(&conf_reap_lock);
    if (conf_reaper_state == CONF_REAPER_RUNNING) {
        c->retired_next = conf_retired;
        conf_retired = c;
        pthread_cond_signal(&conf_reap_cond);
        c = NULL;
    }
    pthread_mutex_unlock(&conf_reap_lock);
    conf_free(c);
}

unsigned long
conf_reaped(void)
{
    unsigned long n;

    pthread_mutex_lock(&conf_reap_lock);
    n = conf_reaped_count;
    pthread_mutex_unlock(&conf_reap_lock);
    return n;
}

/* conf_unref - drop a reference; 1 when it was the last */
static int
conf_unref(sm_conf *c)
{
    int last;

    pthread_mutex_lock(&conf_lock);
    last = --c->refs == 0;
    pthread_mutex_unlock(&conf_lock);
    return last;
}

void
conf_publish(sm_conf *c)
{
    sm_conf *old;

    if (c != NULL)
        conf_reaper_start();
    pthread_mutex_lock(&conf_lock);
    old = conf_current;
    conf_current = c;
    pthread_mutex_unlock(&conf_lock);
    if (c == NULL)
        conf_reaper_stop();
    /* the publisher is no mail thread: an old snapshot nobody holds is freed here */
    if (old != NULL && conf_unref(old))
        conf_free(old);
}

sm_conf *
conf_acquire(void)
{
    sm_conf *c;

    pthread_mutex_lock(&conf_lock);
    c = conf_current;
    if (c != NULL)
        c->refs++;
    pthread_mutex_unlock(&conf_lock);
    return c;
}

sm_conf *
conf_release(sm_conf *c)
{
    if (c != NULL && conf_unref(c))
        conf_retire(c);
    return NULL;
}

int
conf_log_facility(const sm_conf *c)
{
    return log_facility_parse(conf_facilities[c->log.facility]);
}

int
conf_log_level(const sm_conf *c)
{
    return log_level_parse(conf_levels[c->log.level]);
}
