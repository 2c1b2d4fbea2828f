/*
 * spf_syntax.c - strict RFC 7208 record checker and libspf2 record rewriter
 *
 * The parser follows the ABNF of RFC 7208 section 12 term by term; it never
 * reads past len and never allocates more than the record's size per term,
 * so malformed input gives a defined error and nothing else.  See
 * spf_syntax.h for why the rewriter exists (libspf2 refuses CIDR /0 and
 * some valid modifiers, and does not ignore a redirect next to "all").
 *
 * Macros: spf_syntax_expand() is the only macro expander whose result
 * reaches DNS.  libspf2's own expansion drops the first character when a
 * digit transformer is at least the number of parts ("%{d2}" of example.com
 * gives "xample.com"), refuses the ',' and '/' delimiters and an upper-case
 * 'R', and writes URL escapes and IPv6 nibbles in lower case; so
 * spf_syntax_expand_terms() replaces every domain-spec by its expansion,
 * quoted so that libspf2's expansion leaves it unchanged.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "auth/spf_syntax.h"
#include "lib/util.h"

#define SPF_SYNTAX_DELIMS ".-+,/_="

/* spf_syntax_is_spf1 - whether a TXT string is an SPF record ("v=spf1" then SP or end) */
int
spf_syntax_is_spf1(const char *txt, size_t len)
{
    if (txt == NULL || len < 6 || strncasecmp(txt, "v=spf1", 6) != 0)
        return 0;
    return len == 6 || txt[6] == ' ';
}

/* parse one "%{...}" at s[i] (s[i] == '%', s[i+1] == '{'); returns index after '}' or -1 */
static long
spf_syntax_macro_expand(const char *s, size_t len, size_t i, int is_exp, char *err, size_t errlen)
{
    size_t j = i + 2;
    char letter;
    unsigned long digits = 0;
    int have_digits = 0;

    if (j >= len)
        return util_errf(err, errlen, "unterminated macro");
    letter = (char)tolower((unsigned char)s[j]);
    if (strchr("slodiphcrtv", letter) == NULL || letter == '\0')
        return util_errf(err, errlen, "unknown macro letter '%c'",
                         isprint((unsigned char)s[j]) ? s[j] : '?');
    if (!is_exp && strchr("crt", letter) != NULL)
        return util_errf(err, errlen, "macro letter '%c' allowed only in explanations", letter);
    j++;
    while (j < len && isdigit((unsigned char)s[j])) {
        have_digits = 1;
        if (digits < 100000)
            digits = digits * 10 + (unsigned long)(s[j] - '0');
        j++;
    }
    if (have_digits && digits == 0)
        return util_errf(err, errlen, "macro digit transformer must be nonzero");
    if (j < len && (s[j] == 'r' || s[j] == 'R'))
        j++;
    while (j < len && s[j] != '\0' && strchr(SPF_SYNTAX_DELIMS, s[j]) != NULL)
        j++;
    if (j >= len || s[j] != '}')
        return util_errf(err, errlen, "malformed macro");
    return (long)(j + 1);
}

/* scan a macro-string; *last_macro_end_r gets the offset after the last macro-expand */
static int
spf_syntax_scan(const char *s, size_t len, int is_exp, size_t *last_macro_end_r, char *err,
                size_t errlen)
{
    size_t i = 0;
    size_t last = (size_t)-1;

    while (i < len) {
        unsigned char c = (unsigned char)s[i];
        if (c == '%') {
            if (i + 1 >= len)
                return util_errf(err, errlen, "lone '%%' at end of macro-string");
            if (s[i + 1] == '%' || s[i + 1] == '_' || s[i + 1] == '-') {
                i += 2;
            } else if (s[i + 1] == '{') {
                long e = spf_syntax_macro_expand(s, len, i, is_exp, err, errlen);
                if (e < 0)
                    return -1;
                i = (size_t)e;
            } else {
                return util_errf(err, errlen, "invalid macro escape '%%%c'",
                                 isprint((unsigned char)s[i + 1]) ? s[i + 1] : '?');
            }
            last = i;
        } else if ((c >= 0x21 && c <= 0x7e) || (is_exp && c == ' ')) {
            i++;
        } else {
            return util_errf(err, errlen, "invalid character 0x%02x", c);
        }
    }
    if (last_macro_end_r != NULL)
        *last_macro_end_r = last;
    return 0;
}

/* spf_syntax_macro_string - check a macro-string; is_exp allows c, r, t; 0 or -1 */
int
spf_syntax_macro_string(const char *s, size_t len, int is_exp, char *err, size_t errlen)
{
    return spf_syntax_scan(s, len, is_exp, NULL, err, errlen);
}

/* toplabel = (*alphanum ALPHA *alphanum) / (1*alphanum "-" *(alphanum / "-") alphanum) */
static int
spf_syntax_toplabel(const char *s, size_t len)
{
    int alpha = 0, dash = 0;

    if (len == 0 || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[len - 1]))
        return 0;
    for (size_t i = 0; i < len; i++) {
        if (isalpha((unsigned char)s[i]))
            alpha = 1;
        else if (s[i] == '-')
            dash = 1;
        else if (!isdigit((unsigned char)s[i]))
            return 0;
    }
    return alpha || dash;
}

/* spf_syntax_domain_spec - check a domain-spec (macro-string + domain-end); 0 or -1 */
int
spf_syntax_domain_spec(const char *s, size_t len, char *err, size_t errlen)
{
    size_t last_macro = (size_t)-1;
    size_t end = len, dot;

    if (len == 0)
        return util_errf(err, errlen, "empty domain-spec");
    if (spf_syntax_scan(s, len, 0, &last_macro, err, errlen) < 0)
        return -1;
    if (last_macro == len)
        return 0; /* domain-end = macro-expand */
    if (s[end - 1] == '.')
        end--;
    dot = end;
    while (dot > 0 && s[dot - 1] != '.')
        dot--;
    if (dot == 0 || (last_macro != (size_t)-1 && dot - 1 < last_macro))
        return util_errf(err, errlen, "domain-spec '%.*s' lacks a top label",
                         (int)(len > 80 ? 80 : len), s);
    if (!spf_syntax_toplabel(s + dot, end - dot))
        return util_errf(err, errlen, "invalid top label in '%.*s'", (int)(len > 80 ? 80 : len), s);
    return 0;
}

/* a CIDR length: "0" or 1-9 then digits, at most max; -1 when malformed */
static int
spf_syntax_cidr(const char *s, size_t len, int max)
{
    int v = 0;

    if (len == 0 || len > 3 || (s[0] == '0' && len > 1))
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v <= max ? v : -1;
}

/* a strict dotted quad: four qnums without leading zeros */
static int
spf_syntax_ip4(const char *s, size_t len)
{
    size_t i = 0;

    for (int part = 0; part < 4; part++) {
        size_t st = i;
        int v = 0;
        while (i < len && isdigit((unsigned char)s[i]) && i - st < 4)
            v = v * 10 + (s[i++] - '0');
        if (i == st || i - st > 3 || (s[st] == '0' && i - st > 1) || v > 255)
            return 0;
        if (part < 3) {
            if (i >= len || s[i] != '.')
                return 0;
            i++;
        }
    }
    return i == len;
}

static int
spf_syntax_ip6(const char *s, size_t len)
{
    char buf[INET6_ADDRSTRLEN + 8];
    struct in6_addr a;

    if (len == 0 || len >= sizeof(buf))
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!isxdigit((unsigned char)s[i]) && s[i] != ':' && s[i] != '.')
            return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    return inet_pton(AF_INET6, buf, &a) == 1;
}

/* split a trailing dual-cidr-length off an a/mx argument; returns new length or -1 */
static long
spf_syntax_dual_cidr(const char *s, size_t len, int *c4, int *c6)
{
    size_t i = len;

    *c4 = *c6 = -1;
    while (i > 0 && isdigit((unsigned char)s[i - 1]))
        i--;
    if (i < len && i >= 2 && s[i - 1] == '/' && s[i - 2] == '/') {
        if ((*c6 = spf_syntax_cidr(s + i, len - i, 128)) < 0)
            return -1;
        len = i - 2;
        i = len;
        while (i > 0 && isdigit((unsigned char)s[i - 1]))
            i--;
    }
    if (i < len && i >= 1 && s[i - 1] == '/') {
        if ((*c4 = spf_syntax_cidr(s + i, len - i, 32)) < 0)
            return -1;
        len = i - 1;
    }
    return (long)len;
}

static const struct {
    const char *name;
    spf_syntax_kind kind;
} spf_syntax_mechs[] = {
    {"all", SPF_TERM_ALL}, {"include", SPF_TERM_INCLUDE}, {"a", SPF_TERM_A},
    {"mx", SPF_TERM_MX},   {"ptr", SPF_TERM_PTR},         {"ip4", SPF_TERM_IP4},
    {"ip6", SPF_TERM_IP6}, {"exists", SPF_TERM_EXISTS},
};

/* parse "[:arg][cidr]" of a mechanism; rest points after the mechanism name */
static int
spf_syntax_mech_args(spf_syntax_term *t, const char *rest, size_t rlen, char *err, size_t errlen)
{
    long n;
    const char *slash;

    switch (t->kind) {
    case SPF_TERM_ALL:
        return rlen == 0 ? 0 : util_errf(err, errlen, "'all' takes no argument");
    case SPF_TERM_INCLUDE:
    case SPF_TERM_EXISTS:
        if (rlen < 1 || rest[0] != ':')
            return util_errf(err, errlen, "'%s' needs ':domain-spec'", t->text);
        t->arg = xstrndup(rest + 1, rlen - 1);
        return spf_syntax_domain_spec(rest + 1, rlen - 1, err, errlen);
    case SPF_TERM_PTR:
        if (rlen == 0)
            return 0;
        if (rest[0] != ':')
            return util_errf(err, errlen, "malformed 'ptr' mechanism");
        t->arg = xstrndup(rest + 1, rlen - 1);
        return spf_syntax_domain_spec(rest + 1, rlen - 1, err, errlen);
    case SPF_TERM_A:
    case SPF_TERM_MX:
        if ((n = spf_syntax_dual_cidr(rest, rlen, &t->cidr4, &t->cidr6)) < 0)
            return util_errf(err, errlen, "invalid CIDR length in '%s'", t->text);
        if (n == 0)
            return 0;
        if (rest[0] != ':')
            return util_errf(err, errlen, "malformed mechanism '%s'", t->text);
        t->arg = xstrndup(rest + 1, (size_t)n - 1);
        return spf_syntax_domain_spec(rest + 1, (size_t)n - 1, err, errlen);
    case SPF_TERM_IP4:
    case SPF_TERM_IP6:
        if (rlen < 2 || rest[0] != ':')
            return util_errf(err, errlen, "'%s' needs ':network'", t->text);
        rest++, rlen--;
        slash = memchr(rest, '/', rlen);
        n = slash ? (long)(slash - rest) : (long)rlen;
        if (slash != NULL) {
            int v = spf_syntax_cidr(slash + 1, rlen - (size_t)n - 1,
                                    t->kind == SPF_TERM_IP4 ? 32 : 128);
            if (v < 0)
                return util_errf(err, errlen, "invalid CIDR length in '%s'", t->text);
            if (t->kind == SPF_TERM_IP4)
                t->cidr4 = v;
            else
                t->cidr6 = v;
        }
        t->arg = xstrndup(rest, (size_t)n);
        if (t->kind == SPF_TERM_IP4 ? !spf_syntax_ip4(rest, (size_t)n)
                                    : !spf_syntax_ip6(rest, (size_t)n))
            return util_errf(err, errlen, "invalid address in '%s'", t->text);
        return 0;
    default:
        return util_errf(err, errlen, "internal: not a mechanism");
    }
}

/* parse one term s[0..len) into t; 0 or -1 */
static int
spf_syntax_term_parse(spf_syntax_term *t, const char *s, size_t len, char *err, size_t errlen)
{
    size_t k = 0, nlen;

    t->qual = '+';
    t->cidr4 = t->cidr6 = -1;
    /* modifier: name "=" value, name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." ) */
    if (isalpha((unsigned char)s[0])) {
        while (k < len && (isalnum((unsigned char)s[k]) || strchr("-_.", s[k]) != NULL))
            k++;
        if (k < len && s[k] == '=') {
            t->text = xstrndup(s, len);
            t->arg = xstrndup(s + k + 1, len - k - 1);
            if (k == 8 && strncasecmp(s, "redirect", 8) == 0) {
                t->kind = SPF_TERM_REDIRECT;
                return spf_syntax_domain_spec(s + k + 1, len - k - 1, err, errlen);
            }
            if (k == 3 && strncasecmp(s, "exp", 3) == 0) {
                t->kind = SPF_TERM_EXP;
                return spf_syntax_domain_spec(s + k + 1, len - k - 1, err, errlen);
            }
            t->kind = SPF_TERM_UNKNOWN_MOD;
            return spf_syntax_macro_string(s + k + 1, len - k - 1, 0, err, errlen);
        }
    }
    if (strchr("+-~?", s[0]) != NULL) {
        t->qual = s[0];
        s++, len--;
    }
    t->text = xstrndup(s, len);
    for (nlen = 0; nlen < len && s[nlen] != ':' && s[nlen] != '/'; nlen++)
        ;
    for (size_t i = 0; i < SM_ARRAY_LEN(spf_syntax_mechs); i++) {
        if (strlen(spf_syntax_mechs[i].name) == nlen &&
            strncasecmp(s, spf_syntax_mechs[i].name, nlen) == 0) {
            t->kind = spf_syntax_mechs[i].kind;
            return spf_syntax_mech_args(t, s + nlen, len - nlen, err, errlen);
        }
    }
    return util_errf(err, errlen, "unknown mechanism '%.*s'", (int)(nlen > 40 ? 40 : nlen), s);
}

/* spf_syntax_parse - strict RFC 7208 parse; NULL and a reason in err on any error */
spf_syntax_rec *
spf_syntax_parse(const char *rec, size_t len, char *err, size_t errlen)
{
    spf_syntax_rec *r;
    size_t i = 6;
    int nredirect = 0, nexp = 0;

    if (!spf_syntax_is_spf1(rec, len)) {
        util_errf(err, errlen, "not a v=spf1 record");
        return NULL;
    }
    for (size_t j = 0; j < len; j++) {
        unsigned char c = (unsigned char)rec[j];
        if (c != ' ' && (c < 0x21 || c > 0x7e)) {
            util_errf(err, errlen, "invalid character 0x%02x in record", c);
            return NULL;
        }
    }
    r = xcalloc(1, sizeof(*r));
    r->t = xcalloc(len / 2 + 1, sizeof(*r->t));
    while (i < len) {
        size_t st;
        spf_syntax_term *t;
        while (i < len && rec[i] == ' ')
            i++;
        if (i >= len)
            break;
        st = i;
        while (i < len && rec[i] != ' ')
            i++;
        t = &r->t[r->n++];
        if (spf_syntax_term_parse(t, rec + st, i - st, err, errlen) < 0)
            return spf_syntax_free(r);
        if (t->kind == SPF_TERM_ALL)
            r->has_all = 1;
        if ((t->kind == SPF_TERM_REDIRECT && ++nredirect > 1) ||
            (t->kind == SPF_TERM_EXP && ++nexp > 1)) {
            util_errf(err, errlen, "duplicate %s modifier",
                      t->kind == SPF_TERM_EXP ? "exp" : "redirect");
            return spf_syntax_free(r);
        }
    }
    return r;
}

/* spf_syntax_free - returns NULL */
spf_syntax_rec *
spf_syntax_free(spf_syntax_rec *r)
{
    if (r == NULL)
        return NULL;
    for (size_t i = 0; i < r->n; i++) {
        free(r->t[i].text);
        free(r->t[i].arg);
    }
    free(r->t);
    free(r);
    return NULL;
}

/* a growing output string */
typedef struct spf_syntax_buf {
    char *s;
    size_t len, cap;
} spf_syntax_buf;

static void
spf_syntax_put(spf_syntax_buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->s = xrealloc(b->s, b->cap);
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void
spf_syntax_puts(spf_syntax_buf *b, const char *s)
{
    spf_syntax_put(b, s, strlen(s));
}

/* emit " Q<text>"; qual '\0' for modifiers */
static void
spf_syntax_emit(spf_syntax_buf *b, char qual, const char *text)
{
    char q[3] = {' ', qual, '\0'};
    spf_syntax_puts(b, q);
    spf_syntax_puts(b, text);
}

/* rewrite an a/mx term for family af (see spf_syntax.h) */
static void
spf_syntax_rewrite_amx(spf_syntax_buf *b, const spf_syntax_term *t, int af)
{
    int c = af == AF_INET6 ? t->cidr6 : t->cidr4;
    const char *name = t->kind == SPF_TERM_A ? "a" : "mx";
    char *piece;

    if (c == 0) {
        const char *sfx = t->kind == SPF_TERM_A
                              ? (af == AF_INET6 ? SPF_SYNTAX_PROBE_A6 : SPF_SYNTAX_PROBE_A4)
                              : (af == AF_INET6 ? SPF_SYNTAX_PROBE_MX6 : SPF_SYNTAX_PROBE_MX4);
        size_t alen = t->arg ? strlen(t->arg) : 0;
        if (alen > 0 && t->arg[alen - 1] == '.')
            alen--;
        piece = t->arg ? xasprintf("exists:%.*s%s", (int)alen, t->arg, sfx)
                       : xasprintf("exists:%%{d}%s", sfx);
    } else {
        char cidr[16] = "";
        if (c > 0)
            snprintf(cidr, sizeof(cidr), af == AF_INET6 ? "//%d" : "/%d", c);
        piece = xasprintf("%s%s%s%s", name, t->arg ? ":" : "", t->arg ? t->arg : "", cidr);
    }
    spf_syntax_emit(b, t->qual, piece);
    free(piece);
}

/* spf_syntax_rewrite - record text libspf2 evaluates like r for a client of family af */
char *
spf_syntax_rewrite(const spf_syntax_rec *r, int af)
{
    spf_syntax_buf b = {NULL, 0, 0};

    spf_syntax_puts(&b, "v=spf1");
    for (size_t i = 0; i < r->n; i++) {
        const spf_syntax_term *t = &r->t[i];
        switch (t->kind) {
        case SPF_TERM_UNKNOWN_MOD:
            break; /* RFC 7208 6: unknown modifiers are ignored */
        case SPF_TERM_REDIRECT:
            if (!r->has_all) /* RFC 7208 6.1: ignored when "all" is present */
                spf_syntax_emit(&b, '\0', t->text);
            break;
        case SPF_TERM_IP4:
        case SPF_TERM_IP6: {
            int v6 = t->kind == SPF_TERM_IP6;
            if ((v6 ? t->cidr6 : t->cidr4) != 0) {
                spf_syntax_emit(&b, t->qual, t->text);
            } else if ((af == AF_INET6) == v6) {
                spf_syntax_emit(&b, t->qual, v6 ? "ip6:::/1" : "ip4:0.0.0.0/1");
                spf_syntax_emit(&b, t->qual, v6 ? "ip6:8000::/1" : "ip4:128.0.0.0/1");
            } /* else: a /0 of the other family never matches this client */
            break;
        }
        case SPF_TERM_A:
        case SPF_TERM_MX:
            spf_syntax_rewrite_amx(&b, t, af);
            break;
        case SPF_TERM_EXP:
            spf_syntax_emit(&b, '\0', t->text);
            break;
        default:
            spf_syntax_emit(&b, t->qual, t->text);
            break;
        }
    }
    return b.s;
}

/* the value of a macro letter */
static const char *
spf_syntax_var(const spf_syntax_vars *v, char letter)
{
    const char *r = NULL;

    switch (letter) {
    case 's':
        r = v->s;
        break;
    case 'l':
        r = v->l;
        break;
    case 'o':
        r = v->o;
        break;
    case 'd':
        r = v->d;
        break;
    case 'i':
        r = v->i;
        break;
    case 'p':
        r = v->p;
        break;
    case 'h':
        r = v->h;
        break;
    case 'c':
        r = v->c;
        break;
    case 'r':
        r = v->r;
        break;
    case 't':
        r = v->t;
        break;
    case 'v':
        r = v->v;
        break;
    default:
        break;
    }
    return r != NULL ? r : "";
}

/* append value transformed: split on delims, maybe reverse, keep the rightmost n, join with '.' */
static void
spf_syntax_transform(spf_syntax_buf *b, const char *val, const char *delims, unsigned long n,
                     int reverse, int escape)
{
    size_t vlen = strlen(val), np = 0, first;
    const char **part = xcalloc(vlen + 1, sizeof(*part));
    size_t *plen = xcalloc(vlen + 1, sizeof(*plen));
    spf_syntax_buf tmp = {NULL, 0, 0};

    part[0] = val;
    for (size_t i = 0; i <= vlen; i++) {
        if (i == vlen || strchr(delims, val[i]) != NULL) {
            plen[np] = (size_t)(val + i - part[np]);
            np++;
            if (i < vlen)
                part[np] = val + i + 1;
        }
    }
    first = (n > 0 && n < np) ? np - n : 0;
    for (size_t k = first; k < np; k++) {
        size_t idx = reverse ? np - 1 - k : k; /* k-th part of the (reversed) list */
        if (k > first)
            spf_syntax_put(&tmp, ".", 1);
        spf_syntax_put(&tmp, part[idx], plen[idx]);
    }
    if (tmp.s == NULL)
        spf_syntax_put(&tmp, "", 0);
    for (size_t i = 0; i < tmp.len; i++) {
        unsigned char c = (unsigned char)tmp.s[i];
        if (escape && !(isalnum(c) || strchr("-._~", c) != NULL)) {
            char hex[4];
            snprintf(hex, sizeof(hex), "%%%02X", c);
            spf_syntax_put(b, hex, 3);
        } else {
            spf_syntax_put(b, (const char *)&tmp.s[i], 1);
        }
    }
    free(tmp.s);
    free(part);
    free(plen);
}

/* spf_syntax_expand - expand a macro-string per RFC 7208 7; NULL when invalid */
char *
spf_syntax_expand(const char *s, size_t len, int is_exp, const spf_syntax_vars *v)
{
    spf_syntax_buf b = {NULL, 0, 0};
    size_t i = 0;

    if (spf_syntax_macro_string(s, len, is_exp, NULL, 0) < 0)
        return NULL;
    spf_syntax_put(&b, "", 0);
    while (i < len) {
        if (s[i] != '%') {
            spf_syntax_put(&b, s + i++, 1);
            continue;
        }
        if (s[i + 1] != '{') {
            spf_syntax_puts(&b, s[i + 1] == '%' ? "%" : s[i + 1] == '_' ? " " : "%20");
            i += 2;
            continue;
        }
        {
            size_t j = i + 2, ds;
            char letter = (char)tolower((unsigned char)s[j]);
            int escape = isupper((unsigned char)s[j]), reverse = 0;
            unsigned long n = 0;
            char delims[16] = "";
            for (j++; isdigit((unsigned char)s[j]); j++)
                n = n < 1000 ? n * 10 + (unsigned long)(s[j] - '0') : n;
            if (s[j] == 'r' || s[j] == 'R')
                reverse = 1, j++;
            for (ds = 0; s[j] != '}'; j++)
                if (ds + 1 < sizeof(delims) && strchr(delims, s[j]) == NULL)
                    delims[ds++] = s[j];
            delims[ds] = '\0';
            spf_syntax_transform(&b, spf_syntax_var(v, letter), ds ? delims : ".", n, reverse,
                                 escape);
            i = j + 1;
        }
    }
    return b.s;
}

/* spf_syntax_quote - a macro-string that expands to exactly text ('%' -> "%%", ' ' -> "%_") */
char *
spf_syntax_quote(const char *text)
{
    char *out = xmalloc(2 * strlen(text) + 1), *o = out;

    for (const char *p = text; *p != '\0'; p++) {
        if (*p == '%' || *p == ' ') {
            *o++ = '%';
            *o++ = *p == '%' ? '%' : '_';
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
    return out;
}

/* spf_syntax_ip_macros - "i" (dotted quad or 32 upper-case nibbles) and "c" values of addr */
void
spf_syntax_ip_macros(int af, const void *addr, char *i, size_t ilen, char *c, size_t clen)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *b = addr;

    if (inet_ntop(af, addr, c, (socklen_t)clen) == NULL && clen > 0)
        c[0] = '\0';
    if (af == AF_INET) {
        util_strlcpy(i, c, ilen);
        return;
    }
    if (ilen < 64) {
        if (ilen > 0)
            i[0] = '\0';
        return;
    }
    for (size_t k = 0, o = 0; k < 16; k++) {
        i[o++] = hex[b[k] >> 4];
        i[o++] = '.';
        i[o++] = hex[b[k] & 15];
        i[o++] = k == 15 ? '\0' : '.';
    }
}

/* drop labels on the left until at most 253 octets remain (RFC 7208 7.3) */
static const char *
spf_syntax_truncate(const char *name)
{
    size_t len = strlen(name);
    const char *p = name;

    if (len > 0 && name[len - 1] == '.')
        len--; /* the trailing dot is not counted */
    while (len > 253) {
        const char *dot = memchr(p, '.', len);
        if (dot == NULL)
            break;
        len -= (size_t)(dot + 1 - p);
        p = dot + 1;
    }
    return p;
}

/* the mechanism or modifier name of a kind taking a domain-spec, and its separator */
static const char *
spf_syntax_spec_name(spf_syntax_kind k, char *sep)
{
    *sep = ':';
    switch (k) {
    case SPF_TERM_INCLUDE:
        return "include";
    case SPF_TERM_A:
        return "a";
    case SPF_TERM_MX:
        return "mx";
    case SPF_TERM_PTR:
        return "ptr";
    case SPF_TERM_EXISTS:
        return "exists";
    case SPF_TERM_REDIRECT:
        *sep = '=';
        return "redirect";
    case SPF_TERM_EXP:
        *sep = '=';
        return "exp";
    default:
        return NULL;
    }
}

/* spf_syntax_expand_terms - expand every domain-spec's macros into text libspf2 keeps */
int
spf_syntax_expand_terms(spf_syntax_rec *r, const spf_syntax_vars *v)
{
    for (size_t i = 0; i < r->n; i++) {
        spf_syntax_term *t = &r->t[i];
        char sep, c4[16] = "", c6[16] = "";
        const char *name = spf_syntax_spec_name(t->kind, &sep);
        char *out, *quoted;

        if (name == NULL || t->arg == NULL || strchr(t->arg, '%') == NULL)
            continue;
        if ((out = spf_syntax_expand(t->arg, strlen(t->arg), 0, v)) == NULL)
            return -1;
        quoted = spf_syntax_quote(spf_syntax_truncate(out));
        free(out);
        if (t->cidr4 >= 0)
            snprintf(c4, sizeof(c4), "/%d", t->cidr4);
        if (t->cidr6 >= 0)
            snprintf(c6, sizeof(c6), "//%d", t->cidr6);
        free(t->text);
        t->text = xasprintf("%s%c%s%s%s", name, sep, quoted, c4, c6);
        free(t->arg);
        t->arg = quoted;
    }
    return 0;
}
