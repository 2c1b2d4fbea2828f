/*
 * addr_path.c - RFC 5321 / RFC 6531 envelope paths (MAIL FROM, RCPT TO)
 *
 * Purpose: addr_parse_path (see addr.h).  The path grammar is RFC 5321
 * section 4.1.2: no comments, no folding, no display names; a source route
 * "@a,@b:" is skipped; the local part is a Dot-string or a Quoted-string,
 * and UTF-8 is accepted in both parts (SMTPUTF8, RFC 6531).  Domains are LDH
 * labels (underscore tolerated) or an address literal.
 *
 * Diagnostics: no logging; ADDR_SYNTAX with a reason in err.
 *
 * Security: the argument is capped at ADDR_MAX_PATH bytes; every scan stops
 * at the terminating NUL; on any error the mailbox is cleared.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/addr.h"
#include "lib/rfc2047.h"
#include "lib/util.h"

#define ADDR_MAX_PATH 4096

/* addr_path_local - RFC 5321 Local-part at s (Dot-string or Quoted-string, UTF-8 allowed);
 * new unquoted string and *end, or NULL */
static char *
addr_path_local(const char *s, const char **end)
{
    char *b = xmalloc(strlen(s) + 1);
    size_t n = 0;
    int prev_dot = 1;

    if (*s == '"') {
        for (s++; *s != '"'; s++) {
            if (*s == '\\')
                s++;
            if ((unsigned char)*s < 0x20 || *s == 0x7f)
                return util_free(b);
            b[n++] = *s;
        }
        b[n] = '\0';
        *end = s + 1;
        return b;
    }
    for (; *s == '.' || addr_atext((unsigned char)*s); s++) {
        if (*s == '.' && prev_dot)
            return util_free(b);
        prev_dot = *s == '.';
        b[n++] = *s;
    }
    b[n] = '\0';
    if (prev_dot)
        return util_free(b);
    *end = s;
    return b;
}

/* addr_path_domain - RFC 5321 Domain (LDH labels, '_' and UTF-8 tolerated) or
 * address-literal at s; new string without brackets and *end, or NULL */
static char *
addr_path_domain(const char *s, const char **end, int *literal)
{
    const char *d = s;
    char *lit;

    *literal = *s == '[';
    if (*literal) {
        for (d = ++s; *d != ']'; d++)
            if (*d == '\0' || *d == '[' || *d == '\\' || (unsigned char)*d <= 0x20 ||
                (unsigned char)*d >= 0x7f)
                return NULL;
        *end = d + 1;
        lit = xstrndup(s, (size_t)(d - s));
        return addr_literal_valid(lit) ? lit : util_free(lit);
    }
    for (;;) {
        const char *label = d;
        while ((unsigned char)*d >= 0x80 || (*d >= 'a' && *d <= 'z') || (*d >= 'A' && *d <= 'Z') ||
               (*d >= '0' && *d <= '9') || *d == '-' || *d == '_')
            d++;
        if (d == label || *label == '-' || d[-1] == '-')
            return NULL;
        if (*d != '.')
            break;
        d++;
    }
    *end = d;
    return xstrndup(s, (size_t)(d - s));
}

/* addr_path_route - skip an RFC 5321 A-d-l "@d1,@d2:" at s; new position or NULL */
static const char *
addr_path_route(const char *s)
{
    const char *end;
    char *d;
    int literal;

    for (;;) {
        if (*s++ != '@' || (d = addr_path_domain(s, &end, &literal)) == NULL)
            return NULL;
        free(d);
        s = end;
        if (*s == ':')
            return s + 1;
        if (*s++ != ',')
            return NULL;
    }
}

/* addr_path_mailbox - Mailbox (or "postmaster") at s into out; end position or NULL */
static const char *
addr_path_mailbox(const char *s, addr_mailbox *out, char *err, size_t errlen)
{
    const char *end;
    char *q;
    int quoted = *s == '"', literal;

    if ((out->local = addr_path_local(s, &end)) == NULL || out->local[0] == '\0') {
        util_errf(err, errlen, "bad local part");
        return NULL;
    }
    if (*end != '@') {
        if (quoted || strcasecmp(out->local, "postmaster") != 0) {
            util_errf(err, errlen, "path without @domain");
            return NULL;
        }
        out->address = xstrdup(out->local);
        return end;
    }
    if ((out->domain = addr_path_domain(end + 1, &end, &literal)) == NULL) {
        util_errf(err, errlen, "bad domain");
        return NULL;
    }
    out->domain_literal = literal;
    q = addr_quote_local(out->local);
    out->address = xasprintf(literal ? "%s@[%s]" : "%s@%s", q, out->domain);
    free(q);
    return end;
}

/* addr_parse_path - parse an SMTP MAIL FROM / RCPT TO path (see addr.h) */
addr_status
addr_parse_path(const char *arg, addr_mailbox *out, int *is_null, char *err, size_t errlen)
{
    const char *s = arg, *end;
    int angle;

    if (out == NULL || is_null == NULL) {
        util_errf(err, errlen, "no result pointer");
        return ADDR_SYNTAX;
    }
    memset(out, 0, sizeof(*out));
    *is_null = 0;
    if (arg == NULL || strlen(arg) > ADDR_MAX_PATH) {
        util_errf(err, errlen, "%s", arg == NULL ? "no path" : "path too long");
        return ADDR_SYNTAX;
    }
    while (*s == ' ')
        s++;
    angle = *s == '<';
    s += angle;
    if (angle && *s == '>') {
        end = s;
        *is_null = 1;
        out->address = xstrdup("");
    } else {
        if (angle && *s == '@' && (s = addr_path_route(s)) == NULL) {
            util_errf(err, errlen, "bad source route");
            goto fail;
        }
        if ((end = addr_path_mailbox(s, out, err, errlen)) == NULL)
            goto fail;
    }
    if (angle && *end++ != '>') {
        util_errf(err, errlen, "missing '>'");
        goto fail;
    }
    if (*end != '\0' && *end != ' ') {
        util_errf(err, errlen, "junk after path");
        goto fail;
    }
    if (!rfc2047_utf8_valid(arg, strlen(arg))) {
        util_errf(err, errlen, "path is not UTF-8");
        goto fail;
    }
    return ADDR_OK;
fail:
    addr_mailbox_clear(out);
    *is_null = 0;
    return ADDR_SYNTAX;
}
