/*
 * creds.c - walk the credential chain, hold the current credentials, refresh
 *
 * Purpose: pick the first configured source in SDK order (or the pinned
 * one), keep one current set of credentials under a mutex, and refresh
 * temporary credentials from a background thread refresh_margin seconds
 * before they expire.  Lookups only copy what is current (creds_get); when
 * a refresh fails the old credentials stay in use until they expire, and
 * from then on creds_get fails with a clear reason.  Log lines go through
 * the caller's callback and never carry a secret.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "creds.h"
#include "credsrc.h"
#include "sesutil.h"

#define CREDS_FETCH_MS 5000

typedef enum creds_kind {
    CREDS_STATIC = 0,
    CREDS_WEB_IDENTITY,
    CREDS_CONTAINER,
    CREDS_IMDS,
} creds_kind;

struct creds {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pthread_t thread;
    int running, stop;
    creds_kind kind;
    const char *source; /* name for log lines */
    creds_value cur;
    int have;
    int64_t next_attempt;
    char last_err[256];
    creds_opts opts;
    char *sts_endpoint;
};

static const char *const creds_sources[] = {"chain", "env",          "file", "container",
                                            "imds",  "web_identity", NULL};

/* creds_source_valid - known names */
int
creds_source_valid(const char *name)
{
    size_t i;

    for (i = 0; name != NULL && creds_sources[i] != NULL; i++)
        if (strcmp(name, creds_sources[i]) == 0)
            return 1;
    return 0;
}

static void creds_log(creds *c, int level, const char *fmt, ...) SESUTIL_PRINTF(3, 4);

static void
creds_log(creds *c, int level, const char *fmt, ...)
{
    char line[512];
    va_list ap;

    if (c->opts.log == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    c->opts.log(c->opts.log_arg, level, "%s", line);
}

static void
creds_time(int64_t t, char *buf, size_t len)
{
    struct tm tm;
    time_t tt = (time_t)t;

    gmtime_r(&tt, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* static sources: env and file; returns 0 found, 1 not configured, -1 error */
static int
creds_try_static(creds *c, const char *which, char *err, size_t errlen)
{
    char path[1024] = "";
    int loose = 0, rc;

    if (strcmp(which, "env") == 0) {
        if ((rc = credsrc_env(&c->cur, err, errlen)) == 0)
            c->source = "env";
        return rc;
    }
    rc = credsrc_file_via(c->opts.open_file, c->opts.open_arg, c->opts.profile, &c->cur, &loose,
                          path, sizeof(path), err, errlen);
    if (rc == 0) {
        c->source = "file";
        if (loose)
            creds_log(c, LOG_WARNING,
                      "credentials file %s is readable by group or others: chmod 600 it", path);
    }
    return rc;
}

static int
creds_pick(creds *c, const char *src, char *err, size_t errlen)
{
    int chain = strcmp(src, "chain") == 0, rc;

    if (chain || strcmp(src, "env") == 0) {
        if ((rc = creds_try_static(c, "env", err, errlen)) <= 0)
            return rc;
    }
    if ((chain || strcmp(src, "web_identity") == 0) && credsrc_web_identity_configured()) {
        c->kind = CREDS_WEB_IDENTITY;
        c->source = "web_identity";
        return 0;
    }
    if (chain || strcmp(src, "file") == 0) {
        if ((rc = creds_try_static(c, "file", err, errlen)) <= 0)
            return rc;
    }
    if ((chain || strcmp(src, "container") == 0) && credsrc_container_configured()) {
        c->kind = CREDS_CONTAINER;
        c->source = "container";
        return 0;
    }
    if ((chain && !credsrc_imds_disabled()) || strcmp(src, "imds") == 0) {
        c->kind = CREDS_IMDS;
        c->source = "imds";
        return 0;
    }
    return sesutil_errf(err, errlen, "no AWS credentials found (credentials_source = %s: %s)", src,
                        chain ? "environment, web identity, shared files, container and "
                                "IMDS all unavailable"
                              : "that source is not configured");
}

/* creds_new - resolve the source now; static credentials are read here */
creds *
creds_new(const creds_opts *opts, char *err, size_t errlen)
{
    creds *c = sesutil_calloc(1, sizeof(*c));
    const char *src = opts->source != NULL && *opts->source ? opts->source : "chain";

    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->cond, NULL);
    c->opts = *opts;
    c->opts.profile = opts->profile != NULL ? sesutil_strdup(opts->profile) : NULL;
    c->sts_endpoint = opts->sts_endpoint != NULL ? sesutil_strdup(opts->sts_endpoint) : NULL;
    c->opts.sts_endpoint = c->sts_endpoint;
    if (c->opts.retry_s == 0)
        c->opts.retry_s = 30;
    if (!creds_source_valid(src)) {
        sesutil_errf(err, errlen, "unknown credentials_source \"%s\"", src);
        return creds_free(c);
    }
    if (creds_pick(c, src, err, errlen) != 0)
        return creds_free(c);
    c->have = c->kind == CREDS_STATIC;
    return c;
}

static int
creds_fetch(creds *c, creds_value *v, char *err, size_t errlen)
{
    uint64_t deadline = sesutil_now_ms() + CREDS_FETCH_MS;

    switch (c->kind) {
    case CREDS_WEB_IDENTITY:
        return credsrc_web_identity(c->opts.http, c->opts.sts_endpoint, c->opts.allow_http,
                                    deadline, v, err, errlen);
    case CREDS_CONTAINER:
        return credsrc_container(c->opts.http, deadline, v, err, errlen);
    case CREDS_IMDS:
        return credsrc_imds(c->opts.http, deadline, v, err, errlen);
    case CREDS_STATIC:
        break;
    }
    return sesutil_errf(err, errlen, "static credentials need no refresh");
}

/* one refresh attempt, lock not held; updates state under the lock */
static void
creds_refresh_once(creds *c)
{
    creds_value v, old;
    char err[256] = "", when[32];
    int rc = creds_fetch(c, &v, err, sizeof(err));
    int64_t now = sesutil_wall_s();

    pthread_mutex_lock(&c->lock);
    if (rc == 0) {
        old = c->cur;
        c->cur = v;
        c->have = 1;
        c->last_err[0] = '\0';
        c->next_attempt = now + 1;
        pthread_mutex_unlock(&c->lock);
        creds_value_clear(&old);
        creds_time(v.expiration, when, sizeof(when));
        creds_log(c, LOG_INFO, "AWS credentials from %s refreshed, valid until %s", c->source,
                  v.expiration ? when : "(no expiration)");
        return;
    }
    sesutil_strlcpy(c->last_err, err, sizeof(c->last_err));
    c->next_attempt = now + c->opts.retry_s;
    if (c->have && (c->cur.expiration == 0 || c->cur.expiration > now)) {
        creds_time(c->cur.expiration, when, sizeof(when));
        pthread_mutex_unlock(&c->lock);
        creds_log(c, LOG_WARNING,
                  "AWS credential refresh failed: %s; keeping the current "
                  "credentials until they expire at %s",
                  err, when);
        return;
    }
    pthread_mutex_unlock(&c->lock);
    creds_log(c, LOG_ERR, "AWS credentials unavailable: %s; SES lookups will TEMPFAIL", err);
}

static void *
creds_thread(void *arg)
{
    creds *c = arg;
    struct timespec ts;

    pthread_mutex_lock(&c->lock);
    while (!c->stop) {
        int64_t now = sesutil_wall_s(), due, wait_s;
        due = !c->have                 ? 0
              : c->cur.expiration == 0 ? INT64_MAX
                                       : c->cur.expiration - (int64_t)c->opts.refresh_margin_s;
        if (due < c->next_attempt)
            due = c->next_attempt;
        if (now >= due) {
            pthread_mutex_unlock(&c->lock);
            creds_refresh_once(c);
            pthread_mutex_lock(&c->lock);
            continue;
        }
        wait_s = due - now < 30 ? due - now : 30;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += (time_t)wait_s;
        pthread_cond_timedwait(&c->cond, &c->lock, &ts);
    }
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

/* creds_start - background refresh for temporary credentials */
int
creds_start(creds *c, char *err, size_t errlen)
{
    pthread_condattr_t ca;

    if (c->kind == CREDS_STATIC || c->running)
        return 0;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_destroy(&c->cond);
    pthread_cond_init(&c->cond, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&c->thread, NULL, creds_thread, c) != 0)
        return sesutil_errf(err, errlen, "cannot start the credential refresh thread");
    c->running = 1;
    return 0;
}

/* creds_get - copy the current credentials if they are valid now */
int
creds_get(creds *c, creds_value *out, char *err, size_t errlen)
{
    int64_t now = sesutil_wall_s();
    char when[32];
    int rc = 0;

    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&c->lock);
    if (!c->have) {
        rc = sesutil_errf(err, errlen, "no AWS credentials from %s yet%s%s", c->source,
                          c->last_err[0] ? ": " : "", c->last_err);
    } else if (c->cur.expiration != 0 && c->cur.expiration <= now) {
        creds_time(c->cur.expiration, when, sizeof(when));
        rc = sesutil_errf(err, errlen, "AWS credentials from %s expired at %s%s%s", c->source, when,
                          c->last_err[0] ? ", refresh failing: " : "", c->last_err);
    } else {
        out->access_key_id = sesutil_strdup(c->cur.access_key_id);
        out->secret_access_key = sesutil_strdup(c->cur.secret_access_key);
        out->session_token =
            c->cur.session_token != NULL ? sesutil_strdup(c->cur.session_token) : NULL;
        out->expiration = c->cur.expiration;
    }
    pthread_mutex_unlock(&c->lock);
    return rc;
}

/* creds_value_clear - wipe */
void
creds_value_clear(creds_value *v)
{
    if (v == NULL)
        return;
    free(v->access_key_id);
    sesutil_free_secret(v->secret_access_key);
    sesutil_free_secret(v->session_token);
    memset(v, 0, sizeof(*v));
}

/* creds_source_name - for log lines */
const char *
creds_source_name(const creds *c)
{
    return c->source != NULL ? c->source : "none";
}

/* creds_free - stop, join, wipe */
creds *
creds_free(creds *c)
{
    if (c == NULL)
        return NULL;
    if (c->running) {
        pthread_mutex_lock(&c->lock);
        c->stop = 1;
        pthread_cond_broadcast(&c->cond);
        pthread_mutex_unlock(&c->lock);
        pthread_join(c->thread, NULL);
    }
    creds_value_clear(&c->cur);
    free((char *)c->opts.profile);
    free(c->sts_endpoint);
    pthread_cond_destroy(&c->cond);
    pthread_mutex_destroy(&c->lock);
    free(c);
    return NULL;
}
