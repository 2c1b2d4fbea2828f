/*
 * sesutil.c - allocators, buffers, clocks and encoders for the SES plugin
 *
 * Purpose: the few generic helpers the plugin needs, kept inside the
 * plugin so that the shared object links nothing of the daemon.  The
 * allocators abort on exhaustion (like the daemon's x* family); nothing
 * here logs.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* vasprintf, strnlen, timegm */
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sesutil.h"

static void
sesutil_oom(size_t n)
{
    fprintf(stderr, "ses plugin: out of memory allocating %zu bytes\n", n);
    abort();
}

/* sesutil_malloc - malloc that never returns NULL */
void *
sesutil_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL)
        sesutil_oom(n);
    return p;
}

/* sesutil_calloc - calloc that never returns NULL */
void *
sesutil_calloc(size_t nmemb, size_t size)
{
    void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);
    if (p == NULL)
        sesutil_oom(nmemb * size);
    return p;
}

/* sesutil_realloc - realloc that never returns NULL */
void *
sesutil_realloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (q == NULL)
        sesutil_oom(n);
    return q;
}

/* sesutil_strdup - strdup that never returns NULL */
char *
sesutil_strdup(const char *s)
{
    return sesutil_strndup(s, strlen(s));
}

/* sesutil_strndup - copy at most n bytes */
char *
sesutil_strndup(const char *s, size_t n)
{
    size_t l = strnlen(s, n);
    char *p = sesutil_malloc(l + 1);
    memcpy(p, s, l);
    p[l] = '\0';
    return p;
}

/* sesutil_asprintf - formatted allocation */
char *
sesutil_asprintf(const char *fmt, ...)
{
    va_list ap;
    char *p;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&p, fmt, ap);
    va_end(ap);
    if (n < 0)
        sesutil_oom(0);
    return p;
}

/* sesutil_free - free and return NULL */
void *
sesutil_free(void *p)
{
    free(p);
    return NULL;
}

/* sesutil_free_secret - overwrite then free */
void *
sesutil_free_secret(char *p)
{
    if (p != NULL) {
        volatile char *v = p;
        while (*v != '\0')
            *v++ = '\0';
        free(p);
    }
    return NULL;
}

/* sesutil_errf - format an error text */
int
sesutil_errf(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err != NULL && errlen > 0) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* sesutil_strlcpy - truncating copy */
size_t
sesutil_strlcpy(char *dst, const char *src, size_t size)
{
    size_t n = strlen(src);

    if (size > 0) {
        size_t c = n < size - 1 ? n : size - 1;
        memcpy(dst, src, c);
        dst[c] = '\0';
    }
    return n;
}

/* sesutil_now_ms - monotonic clock */
uint64_t
sesutil_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* sesutil_wall_s - wall clock seconds */
int64_t
sesutil_wall_s(void)
{
    return (int64_t)time(NULL);
}

/* sesutil_hex - lower-case hex */
void
sesutil_hex(const unsigned char *in, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;

    for (i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * len] = '\0';
}

static int
sesutil_digits(const char *s, int n, int *v)
{
    int i;

    *v = 0;
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        *v = *v * 10 + (s[i] - '0');
    }
    return 0;
}

/* sesutil_parse_iso8601 - the Expiration format of STS, IMDS and container credentials */
int64_t
sesutil_parse_iso8601(const char *s)
{
    struct tm tm;
    int y, mo, d, h, mi, se, oh = 0, om = 0, sign = 0;
    const char *p;

    if (s == NULL || strlen(s) < 19 || s[4] != '-' || s[7] != '-' ||
        (s[10] != 'T' && s[10] != ' ') || s[13] != ':' || s[16] != ':')
        return -1;
    if (sesutil_digits(s, 4, &y) || sesutil_digits(s + 5, 2, &mo) || sesutil_digits(s + 8, 2, &d) ||
        sesutil_digits(s + 11, 2, &h) || sesutil_digits(s + 14, 2, &mi) ||
        sesutil_digits(s + 17, 2, &se))
        return -1;
    p = s + 19;
    if (*p == '.')
        for (p++; *p >= '0' && *p <= '9'; p++)
            ;
    if (*p == '+' || *p == '-') {
        sign = *p == '+' ? 1 : -1;
        if (strlen(p) < 6 || p[3] != ':' || sesutil_digits(p + 1, 2, &oh) ||
            sesutil_digits(p + 4, 2, &om) || p[6] != '\0')
            return -1;
    } else if (!((*p == 'Z' && p[1] == '\0') || *p == '\0'))
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
        return -1;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = se;
    return (int64_t)timegm(&tm) - sign * (oh * 3600 + om * 60);
}

/* sesutil_read_file - whole file, at most max bytes */
char *
sesutil_read_file(const char *path, size_t max, size_t *len_r, char *err, size_t errlen)
{
    return sesutil_read_file_via(NULL, NULL, path, max, len_r, err, errlen);
}

/* sesutil_read_file_via - the same, the file opened by open_fn (NULL: open(2)) */
char *
sesutil_read_file_via(sesutil_open_fn open_fn, void *arg, const char *path, size_t max,
                      size_t *len_r, char *err, size_t errlen)
{
    sesutil_buf b = {0};
    char chunk[4096];
    ssize_t n;
    int fd;

    if (open_fn != NULL) {
        if ((fd = open_fn(arg, path, err, errlen)) < 0)
            return NULL; /* err says "path: reason", errno is kept */
    } else if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        int e = errno;
        sesutil_errf(err, errlen, "%s: %s", path, strerror(e));
        errno = e;
        return NULL;
    }
    while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
        if (b.len + (size_t)n > max) {
            close(fd);
            sesutil_buf_reset(&b);
            sesutil_errf(err, errlen, "%s: larger than %zu bytes", path, max);
            return NULL;
        }
        sesutil_buf_add(&b, chunk, (size_t)n);
    }
    close(fd);
    if (n < 0) {
        sesutil_buf_reset(&b);
        sesutil_errf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    if (len_r != NULL)
        *len_r = b.len;
    return sesutil_buf_steal(&b);
}

/* sesutil_buf_add - append bytes */
void
sesutil_buf_add(sesutil_buf *b, const void *p, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1)
            cap *= 2;
        b->data = sesutil_realloc(b->data, cap);
        b->cap = cap;
    }
    if (n > 0)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

/* sesutil_buf_puts - append a string */
void
sesutil_buf_puts(sesutil_buf *b, const char *s)
{
    sesutil_buf_add(b, s, strlen(s));
}

/* sesutil_buf_putc - append a byte */
void
sesutil_buf_putc(sesutil_buf *b, char c)
{
    sesutil_buf_add(b, &c, 1);
}

/* sesutil_buf_printf - append formatted text */
void
sesutil_buf_printf(sesutil_buf *b, const char *fmt, ...)
{
    va_list ap;
    char *p;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&p, fmt, ap);
    va_end(ap);
    if (n < 0)
        sesutil_oom(0);
    sesutil_buf_add(b, p, (size_t)n);
    free(p);
}

/* sesutil_buf_steal - hand over the contents */
char *
sesutil_buf_steal(sesutil_buf *b)
{
    char *p = b->data;

    if (p == NULL)
        p = sesutil_strdup("");
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}

/* sesutil_buf_reset - drop the contents */
void
sesutil_buf_reset(sesutil_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

/* sesutil_uri_encode - RFC 3986 unreserved set kept, everything else %XX */
void
sesutil_uri_encode(sesutil_buf *b, const char *s, size_t n, int keep_slash)
{
    static const char digits[] = "0123456789ABCDEF";
    size_t i;

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~' || (keep_slash && c == '/')) {
            sesutil_buf_putc(b, (char)c);
        } else {
            char e[3] = {'%', digits[c >> 4], digits[c & 15]};
            sesutil_buf_add(b, e, 3);
        }
    }
}

static int
sesutil_hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* sesutil_uri_decode - %XX decoding */
char *
sesutil_uri_decode(const char *s, size_t n, size_t *len_r)
{
    sesutil_buf b = {0};
    size_t i;

    sesutil_buf_add(&b, "", 0);
    for (i = 0; i < n; i++) {
        int hi, lo;
        if (s[i] == '%' && i + 2 < n && (hi = sesutil_hexval(s[i + 1])) >= 0 &&
            (lo = sesutil_hexval(s[i + 2])) >= 0) {
            sesutil_buf_putc(&b, (char)(hi * 16 + lo));
            i += 2;
        } else {
            sesutil_buf_putc(&b, s[i]);
        }
    }
    if (len_r != NULL)
        *len_r = b.len;
    return sesutil_buf_steal(&b);
}
