/*
 * log.c - the one logger
 *
 * Purpose: write one line per event to syslog or stderr, prefixed with the
 * queue id when the event is about a message, filtered by one level.
 * Untrusted text is made printable by log_sanitize(): control characters
 * and bytes that are not valid UTF-8 become "\xNN", so that a header can
 * neither forge a log line nor break a terminal.
 *
 * Thread safety: level and destination are set before threads start;
 * syslog(3) and a single fputs under a mutex keep lines whole.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "log.h"

static int log_level = LOG_INFO;
static int log_stderr = 1;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static void (*log_cb)(int, const char *, void *);
static void *log_cb_arg;

static const struct {
    const char *name;
    int level;
} log_levels[] = {
    {"error", LOG_ERR}, {"warning", LOG_WARNING}, {"notice", LOG_NOTICE},
    {"info", LOG_INFO}, {"debug", LOG_DEBUG},
};

static const struct {
    const char *name;
    int facility;
} log_facilities[] = {
    {"mail", LOG_MAIL},     {"daemon", LOG_DAEMON}, {"user", LOG_USER},     {"local0", LOG_LOCAL0},
    {"local1", LOG_LOCAL1}, {"local2", LOG_LOCAL2}, {"local3", LOG_LOCAL3}, {"local4", LOG_LOCAL4},
    {"local5", LOG_LOCAL5}, {"local6", LOG_LOCAL6}, {"local7", LOG_LOCAL7},
};

void
log_open(const char *ident, int facility, int to_stderr)
{
    log_stderr = to_stderr;
    if (!to_stderr)
        openlog(ident, LOG_PID | LOG_NDELAY, facility);
}

void
log_set_level(int level)
{
    log_level = level;
}

int
log_get_level(void)
{
    return log_level;
}

int
log_enabled(int level)
{
    return level <= log_level;
}

void
log_capture(void (*fn)(int, const char *, void *), void *arg)
{
    pthread_mutex_lock(&log_lock);
    log_cb = fn;
    log_cb_arg = arg;
    pthread_mutex_unlock(&log_lock);
}

void
log_msg(int level, const char *qid, const char *fmt, ...)
{
    char text[2048], line[2200];
    va_list ap;

    if (level > log_level)
        return;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    if (qid != NULL && *qid != '\0')
        snprintf(line, sizeof(line), "%s: %s", qid, text);
    else
        snprintf(line, sizeof(line), "%s", text);

    pthread_mutex_lock(&log_lock);
    if (log_cb != NULL) {
        log_cb(level, line, log_cb_arg);
    } else if (log_stderr) {
        char ts[32];
        time_t now = time(NULL);
        struct tm tm;

        strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", localtime_r(&now, &tm));
        fprintf(stderr, "%s ses-milter[%s]: %s\n", ts, log_level_name(level), line);
        fflush(stderr);
    } else {
        syslog(level, "%s", line);
    }
    pthread_mutex_unlock(&log_lock);
}

/* log_utf8_len - length of a valid UTF-8 sequence at p (0 if invalid) */
static size_t
log_utf8_len(const unsigned char *p)
{
    size_t n;

    if (p[0] < 0xc2 || p[0] > 0xf4)
        return 0;
    n = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : 2;
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    return n;
}

char *
log_sanitize(const char *in, char *out, size_t outlen)
{
    const unsigned char *p = (const unsigned char *)(in ? in : "(null)");
    size_t o = 0;

    if (outlen == 0)
        return out;
    while (*p && o + 1 < outlen) {
        size_t n;

        if (*p >= 0x20 && *p < 0x7f && *p != '\\') {
            out[o++] = (char)*p++;
        } else if (*p >= 0x80 && (n = log_utf8_len(p)) > 0) {
            if (o + n >= outlen)
                break;
            memcpy(out + o, p, n);
            o += n;
            p += n;
        } else {
            if (o + 4 >= outlen)
                break;
            snprintf(out + o, 5, "\\x%02x", *p++);
            o += 4;
        }
    }
    out[o] = '\0';
    return out;
}

const char *
log_level_name(int level)
{
    for (size_t i = 0; i < SM_ARRAY_LEN(log_levels); i++)
        if (log_levels[i].level == level)
            return log_levels[i].name;
    return "info";
}

int
log_level_parse(const char *name)
{
    for (size_t i = 0; i < SM_ARRAY_LEN(log_levels); i++)
        if (strcasecmp(log_levels[i].name, name) == 0)
            return log_levels[i].level;
    return -1;
}

int
log_facility_parse(const char *name)
{
    for (size_t i = 0; i < SM_ARRAY_LEN(log_facilities); i++)
        if (strcasecmp(log_facilities[i].name, name) == 0)
            return log_facilities[i].facility;
    return -1;
}
