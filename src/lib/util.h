/*
 * util.h - memory and string helpers shared by every module
 *
 * The x* allocators never return NULL: on exhaustion they log once to
 * stderr and abort, so callers need no error path for memory.  Free helpers
 * return NULL so that "p = util_free(p)" leaves no dangling pointer.
 */
#ifndef SM_UTIL_H
#define SM_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>

#define SM_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define SM_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define SM_UNUSED __attribute__((unused))

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) SM_PRINTF(1, 2);
void *util_free(void *p);

/* util_strlcpy - copy with truncation, always NUL-terminates; returns strlen(src) */
size_t util_strlcpy(char *dst, const char *src, size_t size);
/* util_errf - format an error text into err (NULL-safe); returns -1 for "return util_errf(...)" */
int util_errf(char *err, size_t errlen, const char *fmt, ...) SM_PRINTF(3, 4);
/* util_lower - ASCII lower-case in place; returns s */
char *util_lower(char *s);
/* util_now_ms - CLOCK_MONOTONIC in milliseconds (deadlines) */
uint64_t util_now_ms(void);
/* util_wall_ms - CLOCK_REALTIME in milliseconds (timestamps) */
uint64_t util_wall_ms(void);
/* util_hex - lower-case hex of len bytes into out (2*len+1 bytes) */
void util_hex(const unsigned char *in, size_t len, char *out);

#endif
