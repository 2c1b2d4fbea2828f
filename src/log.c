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

/* code points that are valid UTF-8 but would hide or reorder what a log line shows:
 * C1 controls, the bidirectional marks, embeddings, overrides and isolates, and the
 * Unicode line and paragraph separators */
static const struct {
    uint32_t lo, hi;
} log_hidden[] = {
    {0x80, 0x9f},     /* C1 controls (NEL, CSI, ...) */
    {0x61c, 0x61c},   /* ARABIC LETTER MARK */
    {0x200e, 0x200f}, /* LRM, RLM */
    {0x2028, 0x202e}, /* LINE/PARAGRAPH SEPARATOR, LRE, RLE, PDF, LRO, RLO */
    {0x2066, 0x2069}, /* LRI, RLI, FSI, PDI */
};

/*
 * log_utf8_decode - length of the well-formed UTF-8 sequence at p (Unicode table 3-7:
 * no overlong form, no surrogate, nothing above U+10FFFF, no truncation), its code
 * point in *cp; 0 when the bytes at p are not one
 */
static size_t
log_utf8_decode(const unsigned char *p, uint32_t *cp)
{
    unsigned char lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
    size_t n;
    uint32_t c;

    if (p[0] >= 0xc2 && p[0] <= 0xdf) {
        n = 2, c = p[0] & 0x1f;
    } else if (p[0] >= 0xe0 && p[0] <= 0xef) {
        n = 3, c = p[0] & 0x0f;
        lo = p[0] == 0xe0 ? 0xa0 : 0x80; /* E0 80..9F: overlong */
        hi = p[0] == 0xed ? 0x9f : 0xbf; /* ED A0..BF: surrogates */
    } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
        n = 4, c = p[0] & 0x07;
        lo = p[0] == 0xf0 ? 0x90 : 0x80; /* F0 80..8F: overlong */
        hi = p[0] == 0xf4 ? 0x8f : 0xbf; /* F4 90..: above U+10FFFF */
    } else {
        return 0; /* ASCII, a continuation byte, C0/C1 (overlong), F5..FF */
    }
    if (p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0; /* also the NUL that ends a truncated sequence */
        c = (c << 6) | (p[i] & 0x3f);
    }
    *cp = c;
    return n;
}

/* log_hidden_cp - whether a valid code point must be shown escaped */
static int
log_hidden_cp(uint32_t cp)
{
    for (size_t i = 0; i < SM_ARRAY_LEN(log_hidden); i++)
        if (cp >= log_hidden[i].lo && cp <= log_hidden[i].hi)
            return 1;
    return 0;
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
        if (*p >= 0x80 && (n = log_utf8_decode(p, &cp)) > 0) {
            if (!log_hidden_cp(cp)) {
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
