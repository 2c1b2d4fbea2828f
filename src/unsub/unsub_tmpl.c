/*
 * unsub_tmpl.c - List-Unsubscribe value templates and percent-encoding
 *
 * Purpose: turn a configured URI template into a header-safe value.
 * Literal template text is restricted at parse time to the RFC 3986 URI
 * character set (no space, quotes, angle brackets or controls; '%' only
 * as %XX or %{name}); every substituted value is percent-encoded with only
 * the unreserved set (ALPHA / DIGIT / "-" / "." / "_" / "~") left as is.
 * The result therefore never contains CR, LF, NUL, '<' or '>', which
 * unsub_tmpl_expand() checks once more before returning.
 *
 * Diagnostics: parse and expansion errors go to err; nothing is logged.
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "unsub/unsub_tmpl.h"
#include "lib/util.h"

struct unsub_tmpl {
    char *text;
    unsigned uses;
};

static const struct {
    const char *name;
    unsigned bit;
} unsub_tmpl_phs[] = {
    {"recipient", UNSUB_PH_RECIPIENT},         {"sender", UNSUB_PH_SENDER},
    {"sender_domain", UNSUB_PH_SENDER_DOMAIN}, {"list_id", UNSUB_PH_LIST_ID},
    {"message_id", UNSUB_PH_MESSAGE_ID},       {"token", UNSUB_PH_TOKEN},
};

const char *
unsub_tmpl_ph_name(unsigned bit)
{
    for (size_t i = 0; i < SM_ARRAY_LEN(unsub_tmpl_phs); i++)
        if (unsub_tmpl_phs[i].bit == bit)
            return unsub_tmpl_phs[i].name;
    return NULL;
}

/* unsub_tmpl_unreserved - RFC 3986 section 2.3 */
static int
unsub_tmpl_unreserved(unsigned char c)
{
    return isascii(c) && (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~');
}

/* unsub_tmpl_uri_char - a byte allowed literally in a template (unreserved + reserved) */
static int
unsub_tmpl_uri_char(unsigned char c)
{
    return unsub_tmpl_unreserved(c) || (c != '\0' && strchr(":/?#[]@!$&'()*+,;=", c) != NULL);
}

/* unsub_tmpl_lookup - placeholder name of length n to its bit, 0 if unknown */
static unsigned
unsub_tmpl_lookup(const char *name, size_t n)
{
    for (size_t i = 0; i < SM_ARRAY_LEN(unsub_tmpl_phs); i++)
        if (strlen(unsub_tmpl_phs[i].name) == n && strncmp(unsub_tmpl_phs[i].name, name, n) == 0)
            return unsub_tmpl_phs[i].bit;
    return 0;
}

/* unsub_tmpl_scan - check literal text and placeholders; sets *uses */
static int
unsub_tmpl_scan(const char *text, unsigned allowed, unsigned *uses, char *err, size_t errlen)
{
    *uses = 0;
    for (size_t i = 0; text[i] != '\0'; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == '%' && text[i + 1] == '{') {
            const char *name = text + i + 2, *end = strchr(name, '}');
            unsigned bit;
            if (end == NULL)
                return util_errf(err, errlen, "unterminated placeholder at offset %zu", i);
            bit = unsub_tmpl_lookup(name, (size_t)(end - name));
            if (bit == 0)
                return util_errf(err, errlen, "unknown placeholder %%{%.*s}",
                                 (int)((end - name) > 40 ? 40 : (end - name)), name);
            if (!(allowed & bit))
                return util_errf(err, errlen, "placeholder %%{%s} is not allowed here",
                                 unsub_tmpl_ph_name(bit));
            *uses |= bit;
            i = (size_t)(end - text);
        } else if (c == '%') {
            if (!isxdigit((unsigned char)text[i + 1]) || !isxdigit((unsigned char)text[i + 2]))
                return util_errf(err, errlen,
                                 "'%%' at offset %zu is neither %%XX nor %%{placeholder}", i);
            i += 2;
        } else if (!unsub_tmpl_uri_char(c)) {
            if (isprint(c))
                return util_errf(err, errlen,
                                 "character '%c' at offset %zu is not allowed in a URI", c, i);
            return util_errf(err, errlen, "byte 0x%02x at offset %zu is not allowed in a URI", c,
                             i);
        }
    }
    return 0;
}

/* unsub_tmpl_scheme - check the scheme prefix required by kind */
static int
unsub_tmpl_scheme(const char *text, unsub_tmpl_kind kind, char *err, size_t errlen)
{
    const char *rest = NULL;

    switch (kind) {
    case UNSUB_TMPL_HTTPS:
        if (strncasecmp(text, "https://", 8) == 0)
            rest = text + 8;
        else
            return util_errf(err, errlen, "one-click needs an https:// URL (RFC 8058)");
        break;
    case UNSUB_TMPL_HTTP:
        if (strncasecmp(text, "https://", 8) == 0)
            rest = text + 8;
        else if (strncasecmp(text, "http://", 7) == 0)
            rest = text + 7;
        else
            return util_errf(err, errlen, "URL must start with https:// (or http://)");
        break;
    case UNSUB_TMPL_MAILTO:
        if (strncasecmp(text, "mailto:", 7) != 0)
            return util_errf(err, errlen, "must start with mailto:");
        rest = text + 7;
        break;
    case UNSUB_TMPL_TEXT:
        if (*text == '\0')
            return util_errf(err, errlen, "must not be empty");
        return 0;
    }
    if (*rest == '\0' || *rest == '/' || *rest == '?' || *rest == '#')
        return util_errf(err, errlen, "no host (or address) after the scheme");
    return 0;
}

unsub_tmpl *
unsub_tmpl_parse(const char *text, unsub_tmpl_kind kind, unsigned allowed, char *err, size_t errlen)
{
    unsub_tmpl *t;
    unsigned uses;

    if (text == NULL) {
        util_errf(err, errlen, "no template");
        return NULL;
    }
    if (strlen(text) > 900) {
        util_errf(err, errlen, "template longer than 900 characters");
        return NULL;
    }
    if (unsub_tmpl_scheme(text, kind, err, errlen) < 0 ||
        unsub_tmpl_scan(text, allowed, &uses, err, errlen) < 0)
        return NULL;
    t = xcalloc(1, sizeof(*t));
    t->text = xstrdup(text);
    t->uses = uses;
    return t;
}

unsigned
unsub_tmpl_uses(const unsub_tmpl *t)
{
    return t ? t->uses : 0;
}

const char *
unsub_tmpl_text(const unsub_tmpl *t)
{
    return t ? t->text : NULL;
}

unsub_tmpl *
unsub_tmpl_free(unsub_tmpl *t)
{
    if (t != NULL) {
        free(t->text);
        free(t);
    }
    return NULL;
}

char *
unsub_tmpl_pctenc(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *out = xmalloc(3 * n + 1), *o = out;

    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (unsub_tmpl_unreserved(*p)) {
            *o++ = (char)*p;
        } else {
            *o++ = '%';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        }
    }
    *o = '\0';
    return out;
}

/* unsub_tmpl_hexval - value of one hex digit (caller checked isxdigit) */
static int
unsub_tmpl_hexval(unsigned char c)
{
    return isdigit(c) ? c - '0' : (tolower(c) - 'a' + 10);
}

char *
unsub_tmpl_pctdec(const char *s, size_t len, int plus_space)
{
    char *out = xmalloc(len + 1), *o = out;

    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\0')
            break;
        if (c == '%') {
            int v;
            if (i + 2 >= len)
                goto bad;
            if (!isxdigit((unsigned char)s[i + 1]) || !isxdigit((unsigned char)s[i + 2]))
                goto bad;
            v = unsub_tmpl_hexval((unsigned char)s[i + 1]) * 16 +
                unsub_tmpl_hexval((unsigned char)s[i + 2]);
            if (v == 0)
                goto bad;
            *o++ = (char)v;
            i += 2;
        } else if (c == '+' && plus_space) {
            *o++ = ' ';
        } else {
            *o++ = (char)c;
        }
    }
    *o = '\0';
    return out;
bad:
    free(out);
    return NULL;
}

/* unsub_tmpl_value - the raw value for a placeholder bit */
static const char *
unsub_tmpl_value(const unsub_tmpl_vars *v, unsigned bit)
{
    switch (bit) {
    case UNSUB_PH_RECIPIENT:
        return v->recipient;
    case UNSUB_PH_SENDER:
        return v->sender;
    case UNSUB_PH_SENDER_DOMAIN:
        return v->sender_domain;
    case UNSUB_PH_LIST_ID:
        return v->list_id;
    case UNSUB_PH_MESSAGE_ID:
        return v->message_id;
    case UNSUB_PH_TOKEN:
        return v->token;
    default:
        return NULL;
    }
}

/* unsub_tmpl_safe - final check: nothing that could break out of <...> or the header */
static int
unsub_tmpl_safe(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x21 || *p > 0x7e || *p == '<' || *p == '>' || *p == '"')
            return 0;
    return 1;
}

char *
unsub_tmpl_expand(const unsub_tmpl *t, const unsub_tmpl_vars *v, char *err, size_t errlen)
{
    size_t cap = 256, n = 0;
    char *out;

    if (t == NULL || v == NULL) {
        util_errf(err, errlen, "no template");
        return NULL;
    }
    out = xmalloc(cap);
    for (const char *p = t->text; *p; p++) {
        const char *piece = p;
        char *enc = NULL;
        size_t plen = 1;
        if (p[0] == '%' && p[1] == '{') {
            const char *end = strchr(p + 2, '}');
            unsigned bit = unsub_tmpl_lookup(p + 2, (size_t)(end - p - 2));
            const char *val = unsub_tmpl_value(v, bit);
            if (val == NULL || *val == '\0') {
                util_errf(err, errlen, "no value for %%{%s}", unsub_tmpl_ph_name(bit));
                free(out);
                return NULL;
            }
            piece = enc = unsub_tmpl_pctenc(val);
            plen = strlen(enc);
            p = end;
        }
        if (n + plen + 1 > cap) {
            cap = 2 * (n + plen + 1);
            out = xrealloc(out, cap);
        }
        memcpy(out + n, piece, plen);
        n += plen;
        free(enc);
    }
    out[n] = '\0';
    if (!unsub_tmpl_safe(out)) {
        util_errf(err, errlen, "expanded value contains unsafe characters");
        free(out);
        return NULL;
    }
    return out;
}
