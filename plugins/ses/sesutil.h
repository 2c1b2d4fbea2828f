/*
 * sesutil.h - the SES plugin's own tiny helpers
 *
 * The plugin is a self-contained shared object: it includes only
 * <ses-milter/plugin.h> and must not link libsmcore, so it carries its own
 * never-NULL allocators, a growable byte buffer, error formatting and
 * clocks.  Everything here is prefixed sesutil_.
 */
#ifndef SES_SESUTIL_H
#define SES_SESUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define SESUTIL_PRINTF(f, a) __attribute__((format(printf, f, a)))

/* a growable, always NUL-terminated byte buffer */
typedef struct sesutil_buf {
    char *data;
    size_t len;
    size_t cap;
} sesutil_buf;

/* sesutil_malloc / calloc / realloc / strdup / strndup - abort on exhaustion, never NULL */
void *sesutil_malloc(size_t n);
void *sesutil_calloc(size_t nmemb, size_t size);
void *sesutil_realloc(void *p, size_t n);
char *sesutil_strdup(const char *s);
char *sesutil_strndup(const char *s, size_t n);
/* sesutil_asprintf - formatted, allocated string */
char *sesutil_asprintf(const char *fmt, ...) SESUTIL_PRINTF(1, 2);
/* sesutil_free - free p; returns NULL */
void *sesutil_free(void *p);
/* sesutil_free_secret - wipe a NUL-terminated secret, then free it; returns NULL */
void *sesutil_free_secret(char *p);
/* sesutil_errf - format into err (NULL-safe); returns -1 */
int sesutil_errf(char *err, size_t errlen, const char *fmt, ...) SESUTIL_PRINTF(3, 4);
/* sesutil_strlcpy - truncating copy, always NUL-terminated; returns strlen(src) */
size_t sesutil_strlcpy(char *dst, const char *src, size_t size);
/* sesutil_now_ms - CLOCK_MONOTONIC milliseconds */
uint64_t sesutil_now_ms(void);
/* sesutil_wall_s - CLOCK_REALTIME seconds */
int64_t sesutil_wall_s(void);
/* sesutil_hex - lower-case hex of len bytes into out (2*len+1 bytes) */
void sesutil_hex(const unsigned char *in, size_t len, char *out);
/* sesutil_parse_iso8601 - "YYYY-MM-DDTHH:MM:SS[.fff](Z|+hh:mm)" to epoch seconds; -1 if malformed
 */
int64_t sesutil_parse_iso8601(const char *s);
/* sesutil_read_file - read a whole (small) file; NULL with err on failure */
char *sesutil_read_file(const char *path, size_t max, size_t *len_r, char *err, size_t errlen);
/* sesutil_open_fn - opens path for reading: a descriptor, or -1 with "path: reason" and errno */
typedef int (*sesutil_open_fn)(void *arg, const char *path, char *err, size_t errlen);
/* sesutil_read_file_via - the same, the file opened by open_fn (NULL: open(2)) */
char *sesutil_read_file_via(sesutil_open_fn open_fn, void *arg, const char *path, size_t max,
                            size_t *len_r, char *err, size_t errlen);

/* sesutil_buf_add - append n bytes */
void sesutil_buf_add(sesutil_buf *b, const void *p, size_t n);
/* sesutil_buf_puts - append a string */
void sesutil_buf_puts(sesutil_buf *b, const char *s);
/* sesutil_buf_putc - append one byte */
void sesutil_buf_putc(sesutil_buf *b, char c);
/* sesutil_buf_printf - append formatted text */
void sesutil_buf_printf(sesutil_buf *b, const char *fmt, ...) SESUTIL_PRINTF(2, 3);
/* sesutil_buf_steal - return the (non-NULL) contents and reset the buffer */
char *sesutil_buf_steal(sesutil_buf *b);
/* sesutil_buf_reset - free the contents */
void sesutil_buf_reset(sesutil_buf *b);

/* sesutil_uri_encode - percent-encode every byte but A-Za-z0-9-._~ (and '/' if keep_slash) */
void sesutil_uri_encode(sesutil_buf *b, const char *s, size_t n, int keep_slash);
/* sesutil_uri_decode - decode %XX (malformed escapes kept as they are); allocated */
char *sesutil_uri_decode(const char *s, size_t n, size_t *len_r);

#endif
