/*
 * log.c - the one logger
 *
 * Purpose: write one line per event to syslog or stderr, prefixed with the
 * queue id when the event is about a message, filtered by one level.
 * Untrusted text is made printable by log_sanitize(): C0 controls, the
 * backslash and every byte that is not part of well-formed UTF-8 (overlong
 * forms, surrogates, code points above U+10FFFF, truncated sequences, stray
 * continuation bytes) become "\xNN"; valid code points that would hide or
 * reorder text (C1 controls, bidi marks, embeddings, overrides, isolates,
 * U+2028/U+2029) become "\u{N}".  A header can neither forge a log line nor
 * make a terminal or log viewer show something other than what was sent.
 *
 * Thread safety: the destination is set before threads start; the level
 * is an atomic that a reload may change while mail threads log; syslog(3)
 * and a single fputs under a mutex keep lines whole.
 */
#include "config.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lib/log.h"
#include "lib/utf8.h"

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

/* the level is read on every line by every thread: relaxed atomics, nothing else
 * is published through it */
void
log_set_level(int level)
{
    __atomic_store_n(&log_level, level, __ATOMIC_RELAXED);
}

int
log_get_level(void)
{
    return __atomic_load_n(&log_level, __ATOMIC_RELAXED);
}

int
log_enabled(int level)
{
    return level <= log_get_level();
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

    if (!log_enabled(level))
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

char *
log_sanitize(const char *in, char *out, size_t outlen)
{
    const unsigned char *p = (const unsigned char *)(in ? in : "(null)");
    size_t o = 0;

    if (outlen == 0)
        return out;
    while (*p && o + 1 < outlen) {
        char esc[16];
        size_t n, el;
        uint32_t cp;

        if (*p >= 0x20 && *p < 0x7f && *p != '\\') {
            out[o++] = (char)*p++;
            continue;
        }
        if (*p >= 0x80 && (n = utf8_decode(p, &cp)) > 0) {
            if (!utf8_hidden(cp)) {
                if (o + n >= outlen)
                    break;
                memcpy(out + o, p, n);
                o += n;
                p += n;
                continue;
            }
            el = (size_t)snprintf(esc, sizeof(esc), "\\u{%x}", (unsigned)cp);
        } else {
            n = 1; /* one byte that is not (part of) well-formed UTF-8, or a C0 control */
            el = (size_t)snprintf(esc, sizeof(esc), "\\x%02x", *p);
        }
        if (o + el >= outlen)
            break; /* never half an escape */
        memcpy(out + o, esc, el);
        o += el;
        p += n;
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
