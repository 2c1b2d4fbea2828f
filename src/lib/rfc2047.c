/*
 * rfc2047.c - RFC 2047 encoded words and UTF-8 checks for header text
 *
 * Purpose: see rfc2047.h.  One encoded word is decoded at a time; joining
 * adjacent words (and dropping the white space between them) is the
 * caller's business (addr.c builds display names that way).
 *
 * Diagnostics: none; functions answer "cannot decode" with NULL/0.
 *
 * Security: input is untrusted and bounded only by the caller.  Every loop
 * is over the given length; output buffers are sized from the input before
 * writing.  iconv is used without //TRANSLIT or //IGNORE, so a byte the
 * charset does not define makes the whole word undecodable.
 */
#include "config.h"

#include <errno.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/rfc2047.h"
#include "lib/util.h"

#define RFC2047_CHARSET_MAX 64

/* rfc2047_token_char - RFC 2047 "token" character (charset and encoding names) */
static int
rfc2047_token_char(unsigned char c)
{
    if (c <= 0x20 || c >= 0x7f)
        return 0;
    return strchr("()<>@,;:\"/[]?.=", c) == NULL;
}

/* rfc2047_text_char - encoded-text character; lexer mode also refuses RFC 5322 specials
 * other than '.', so that a word never swallows a delimiter of the address syntax */
static int
rfc2047_text_char(unsigned char c, int lexer)
{
    if (c <= 0x20 || c >= 0x7f || c == '?')
        return 0;
    if (lexer && strchr("()<>@,;:\\\"[]", c) != NULL)
        return 0;
    return 1;
}

/* rfc2047_scan - length of a syntactically valid encoded word at s, or 0 */
static size_t
rfc2047_scan(const char *s, size_t n, int lexer)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 2, start;

    if (n < 8 || p[0] != '=' || p[1] != '?')
        return 0;
    for (start = i; i < n && rfc2047_token_char(p[i]); i++)
        ;
    if (i == start || i - start > RFC2047_CHARSET_MAX || i >= n || p[i] != '?')
        return 0;
    i++;
    if (i + 1 >= n || strchr("BbQq", p[i]) == NULL || p[i + 1] != '?')
        return 0;
    for (i += 2; i < n && rfc2047_text_char(p[i], lexer); i++)
        ;
    if (i + 1 >= n || p[i] != '?' || p[i + 1] != '=')
        return 0;
    return i + 2;
}

/* rfc2047_word_len - length of the encoded word at s (lexer variant), or 0 */
size_t
rfc2047_word_len(const char *s, size_t n)
{
    return rfc2047_scan(s, n, 1);
}

/* rfc2047_is_word - whether s[0..len) is exactly one encoded word */
int
rfc2047_is_word(const char *s, size_t len)
{
    return len > 0 && rfc2047_scan(s, len, 0) == len;
}

/* rfc2047_hex - value of a hex digit or -1 */
static int
rfc2047_hex(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* rfc2047_q - decode Q text into out (room for len bytes); returns length or -1 */
static long
rfc2047_q(const char *in, size_t len, char *out)
{
    size_t i, o = 0;

    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c == '_') {
            out[o++] = ' ';
        } else if (c == '=') {
            int hi, lo;
            if (i + 2 >= len)
                return -1;
            hi = rfc2047_hex((unsigned char)in[i + 1]);
            lo = rfc2047_hex((unsigned char)in[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            out[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            out[o++] = (char)c;
        }
    }
    return (long)o;
}

/* rfc2047_b64val - value of a base64 character or -1 */
static int
rfc2047_b64val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* rfc2047_b - decode B (base64) text, padding optional; returns length or -1 */
static long
rfc2047_b(const char *in, size_t len, char *out)
{
    size_t i, o = 0, pad = 0;
    unsigned long acc = 0;
    int bits = 0;

    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        int v;
        if (c == '=') {
            pad++;
            continue;
        }
        if (pad > 0)
            return -1; /* data after padding */
        if ((v = rfc2047_b64val(c)) < 0)
            return -1;
        acc = (acc << 6) | (unsigned long)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (char)((acc >> bits) & 0xff);
        }
    }
    if (pad > 2 || bits >= 6)
        return -1;
    return (long)o;
}

/* rfc2047_latin1 - ISO-8859-1 to UTF-8 */
static char *
rfc2047_latin1(const char *in, size_t len)
{
    char *out = xmalloc(2 * len + 1);
    size_t i, o = 0;

    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c < 0x80) {
            out[o++] = (char)c;
        } else {
            out[o++] = (char)(0xc0 | (c >> 6));
            out[o++] = (char)(0x80 | (c & 0x3f));
        }
    }
    out[o] = '\0';
    return out;
}

/* rfc2047_grow - double the iconv output buffer, keeping the write position */
static char *
rfc2047_grow(char *out, size_t *cap, char **op, size_t *outleft)
{
    size_t used = (size_t)(*op - out);

    *cap *= 2;
    out = xrealloc(out, *cap);
    *op = out + used;
    *outleft = *cap - 1 - used;
    return out;
}

/* rfc2047_iconv - any charset iconv knows to UTF-8; NULL if unknown or invalid */
static char *
rfc2047_iconv(const char *charset, const char *in, size_t len)
{
    iconv_t cd = iconv_open("UTF-8", charset);
    size_t cap = 4 * len + 16, inleft = len, outleft;
    char *out, *ip = (char *)in, *op;

    if (cd == (iconv_t)-1)
        return NULL;
    out = xmalloc(cap);
    op = out;
    outleft = cap - 1;
    while (inleft > 0) {
        if (iconv(cd, &ip, &inleft, &op, &outleft) != (size_t)-1)
            continue;
        if (errno != E2BIG)
            goto fail;
        out = rfc2047_grow(out, &cap, &op, &outleft);
    }
    while (iconv(cd, NULL, NULL, &op, &outleft) == (size_t)-1) {
        if (errno != E2BIG)
            goto fail;
        out = rfc2047_grow(out, &cap, &op, &outleft);
    }
    iconv_close(cd);
    *op = '\0';
    return out;
fail:
    iconv_close(cd);
    return util_free(out);
}

/* rfc2047_to_utf8 - convert decoded bytes from charset (RFC 2231 language cut off) */
static char *
rfc2047_to_utf8(const char *cs, size_t cslen, const char *in, size_t len)
{
    char name[RFC2047_CHARSET_MAX + 1];
    const char *star = memchr(cs, '*', cslen);
    size_t i;

    if (star != NULL)
        cslen = (size_t)(star - cs);
    if (cslen == 0 || cslen > RFC2047_CHARSET_MAX)
        return NULL;
    memcpy(name, cs, cslen);
    name[cslen] = '\0';
    if (strcasecmp(name, "utf-8") == 0 || strcasecmp(name, "utf8") == 0)
        return rfc2047_utf8_valid(in, len) ? xstrndup(in, len) : NULL;
    if (strcasecmp(name, "us-ascii") == 0 || strcasecmp(name, "ascii") == 0) {
        for (i = 0; i < len; i++)
            if ((unsigned char)in[i] >= 0x80)
                return NULL;
        return xstrndup(in, len);
    }
    if (strcasecmp(name, "iso-8859-1") == 0 || strcasecmp(name, "latin1") == 0 ||
        strcasecmp(name, "iso8859-1") == 0 || strcasecmp(name, "iso_8859-1") == 0)
        return rfc2047_latin1(in, len);
    return rfc2047_iconv(name, in, len);
}

/* rfc2047_decode_word - decode one encoded word to UTF-8, or NULL */
char *
rfc2047_decode_word(const char *s, size_t len)
{
    const char *cs, *enc, *text, *q;
    char *raw, *out;
    long n;
    size_t i;

    if (!rfc2047_is_word(s, len))
        return NULL;
    cs = s + 2;
    q = memchr(cs, '?', len - 2);
    enc = q + 1;
    text = enc + 2;
    raw = xmalloc(len + 1);
    n = (*enc == 'B' || *enc == 'b') ? rfc2047_b(text, (size_t)(s + len - 2 - text), raw)
                                     : rfc2047_q(text, (size_t)(s + len - 2 - text), raw);
    if (n < 0 || memchr(raw, '\0', (size_t)n) != NULL) {
        free(raw);
        return NULL;
    }
    out = rfc2047_to_utf8(cs, (size_t)(q - cs), raw, (size_t)n);
    free(raw);
    if (out == NULL || !rfc2047_utf8_valid(out, strlen(out)))
        return util_free(out);
    for (i = 0; out[i] != '\0'; i++) {
        unsigned char c = (unsigned char)out[i];
        if (c == '\t')
            out[i] = ' ';
        else if (c < 0x20 || c == 0x7f)
            return util_free(out);
    }
    return out;
}

/* rfc2047_utf8_seq - length of the well-formed UTF-8 sequence at p (n bytes left), or 0 */
static size_t
rfc2047_utf8_seq(const unsigned char *p, size_t n)
{
    unsigned char c = p[0];
    size_t len, i;
    unsigned char lo = 0x80, hi = 0xbf;

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4;
    else
        return 0;
    if (len > n)
        return 0;
    if (c == 0xe0)
        lo = 0xa0; /* overlong */
    else if (c == 0xed)
        hi = 0x9f; /* surrogates */
    else if (c == 0xf0)
        lo = 0x90; /* overlong */
    else if (c == 0xf4)
        hi = 0x8f; /* > U+10FFFF */
    if (p[1] < lo || p[1] > hi)
        return 0;
    for (i = 2; i < len; i++)
        if (p[i] < 0x80 || p[i] > 0xbf)
            return 0;
    return len;
}

/* rfc2047_utf8_valid - whether s[0..len) is well-formed UTF-8 */
int
rfc2047_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, k;

    while (i < len) {
        if ((k = rfc2047_utf8_seq(p + i, len - i)) == 0)
            return 0;
        i += k;
    }
    return 1;
}

/* rfc2047_utf8_repair - copy with ill-formed bytes replaced by U+FFFD */
char *
rfc2047_utf8_repair(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    char *out = xmalloc(3 * len + 1);
    size_t i = 0, o = 0, k;

    while (i < len) {
        if ((k = rfc2047_utf8_seq(p + i, len - i)) == 0) {
            memcpy(out + o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
            continue;
        }
        memcpy(out + o, p + i, k);
        o += k;
        i += k;
    }
    out[o] = '\0';
    return out;
}
