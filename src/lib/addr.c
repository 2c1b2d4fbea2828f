/*
 * addr.c - RFC 5322 / RFC 6532 address fields and RFC 5321 envelope paths
 *
 * Purpose: see addr.h for the grammar covered and the result for each
 * malformed class.  A field is parsed in three passes:
 *   1. addr_unfold: find the end of the field, remove folding, refuse NUL,
 *      bare CR, control characters and overlong input;
 *   2. addr_lex: cut the unfolded text into tokens (atoms, quoted strings
 *      with quoted-pairs resolved, domain literals, specials); comments and
 *      white space only mark the next token as "preceded by space";
 *   3. addr_parse_*: a recursive-descent parser over the tokens (depth is
 *      bounded: address list -> group -> mailbox), which decides by looking
 *      ahead past the words to the first '<', ':' or '@'.
 *
 * Diagnostics: no logging; ADDR_SYNTAX with a reason in err.
 *
 * Security: the domain of a mailbox is taken only from a complete addr-spec
 * (after "@" and, for a name-addr, inside "<>"); text in quotes is a local
 * part or a name, never an address.  All loops are bounded by the input
 * length, which is capped at ADDR_MAX_FIELD; comments nest iteratively.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/addr.h"
#include "lib/rfc2047.h"
#include "lib/util.h"

enum addr_tok_type { TK_ATOM, TK_QSTR, TK_LIT, TK_SPEC, TK_END };

typedef struct addr_tok {
    enum addr_tok_type type;
    int ch;     /* the character of a TK_SPEC */
    int ws;     /* preceded by white space or a comment */
    size_t off; /* value in the arena (atoms, quoted strings, literals) */
    size_t len;
} addr_tok;

typedef struct addr_parser {
    char *arena; /* token values, NUL-separated */
    size_t alen;
    addr_tok *t;
    size_t n, cap, pos;
    addr_list *l;
    size_t lcap;
    char *err;
    size_t errlen;
} addr_parser;

typedef struct addr_buf {
    char *s;
    size_t n, cap;
} addr_buf;

/* addr_buf_add - append len bytes to a growing string */
static void
addr_buf_add(addr_buf *b, const char *s, size_t len)
{
    if (b->n + len + 1 > b->cap) {
        b->cap = 2 * (b->n + len + 1) + 16;
        b->s = xrealloc(b->s, b->cap);
    }
    memcpy(b->s + b->n, s, len);
    b->n += len;
    b->s[b->n] = '\0';
}

/* addr_atext - RFC 5322 atext, or any 8-bit byte (RFC 6532) */
int
addr_atext(unsigned char c)
{
    if (c >= 0x80)
        return 1;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return 1;
    return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/* addr_literal_valid - whether s (without brackets) is an RFC 5321 address literal */
int
addr_literal_valid(const char *s)
{
    const char *colon = strchr(s, ':'), *c;
    struct in_addr a4;
    struct in6_addr a6;

    if (colon == NULL)
        return inet_pton(AF_INET, s, &a4) == 1;
    if (strncasecmp(s, "IPv6:", 5) == 0)
        return inet_pton(AF_INET6, s + 5, &a6) == 1;
    /* General-address-literal: Standardized-tag ":" 1*dcontent */
    if (colon == s || s[0] == '-' || colon[-1] == '-' || colon[1] == '\0')
        return 0;
    for (c = s; c < colon; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '-'))
            return 0;
    for (c = colon + 1; *c != '\0'; c++)
        if (*c < 33 || *c > 126 || *c == '[' || *c == ']' || *c == '\\')
            return 0;
    return 1;
}

/* addr_status_name - printable name of a status */
const char *
addr_status_name(addr_status st)
{
    switch (st) {
    case ADDR_OK:
        return "ok";
    case ADDR_EMPTY:
        return "empty";
    default:
        return "syntax";
    }
}

/* addr_unfold - copy the field up to its end without folding; 0, or -1 with err */
static int
addr_unfold(const char *body, size_t len, char **out, size_t *outlen, char *err, size_t errlen)
{
    char *buf = xmalloc((len < ADDR_MAX_FIELD ? len : ADDR_MAX_FIELD) + 1);
    size_t i = 0, o = 0;

    while (i < len) {
        unsigned char c = (unsigned char)body[i];
        size_t nl = 0;
        if (c == '\r' && i + 1 < len && body[i + 1] == '\n')
            nl = 2;
        else if (c == '\n')
            nl = 1;
        if (nl > 0) {
            if (i + nl < len && (body[i + nl] == ' ' || body[i + nl] == '\t')) {
                i += nl;
                continue;
            }
            break; /* end of the field */
        }
        if (c == '\0' || c == '\r' || (c < 0x20 && c != '\t') || c == 0x7f) {
            free(buf);
            return util_errf(err, errlen, "%s at offset %zu",
                             c == '\0'   ? "NUL byte"
                             : c == '\r' ? "bare CR"
                                         : "control character",
                             i);
        }
        if (o >= ADDR_MAX_FIELD) {
            free(buf);
            return util_errf(err, errlen, "field longer than %d bytes", ADDR_MAX_FIELD);
        }
        buf[o++] = (char)c;
        i++;
    }
    buf[o] = '\0';
    *out = buf;
    *outlen = o;
    return 0;
}

/* addr_push_tok - append a token whose value is already in the arena at off */
static void
addr_push_tok(addr_parser *p, enum addr_tok_type type, int ch, int ws, size_t off)
{
    addr_tok *t;

    if (p->n == p->cap) {
        p->cap = p->cap ? 2 * p->cap : 32;
        p->t = xrealloc(p->t, p->cap * sizeof(*p->t));
    }
    t = &p->t[p->n++];
    t->type = type;
    t->ch = ch;
    t->ws = ws;
    t->off = off;
    t->len = p->alen - off;
    if (type != TK_SPEC && type != TK_END)
        p->arena[p->alen++] = '\0';
}

/* addr_skip_comment - skip a (nested) comment starting at u[i] == '('; new index or 0 */
static size_t
addr_skip_comment(const char *u, size_t n, size_t i)
{
    size_t depth = 0;

    while (i < n) {
        char c = u[i];
        if (c == '\\') {
            if (i + 1 >= n)
                return 0;
            i += 2;
            continue;
        }
        if (c == '(')
            depth++;
        else if (c == ')' && --depth == 0)
            return i + 1;
        i++;
    }
    return 0;
}

/* addr_lex_qstr - quoted string at u[i] == '"' into the arena; new index or 0 */
static size_t
addr_lex_qstr(addr_parser *p, const char *u, size_t n, size_t i)
{
    for (i++; i < n; i++) {
        if (u[i] == '"')
            return i + 1;
        if (u[i] == '\\') {
            if (++i >= n)
                return 0;
        }
        p->arena[p->alen++] = u[i];
    }
    return 0;
}

/* addr_lex_lit - domain literal at u[i] == '[' into the arena (FWS dropped); index or 0 */
static size_t
addr_lex_lit(addr_parser *p, const char *u, size_t n, size_t i)
{
    for (i++; i < n; i++) {
        if (u[i] == ']')
            return i + 1;
        if (u[i] == '[' || u[i] == '\\')
            return 0;
        if (u[i] != ' ' && u[i] != '\t')
            p->arena[p->alen++] = u[i];
    }
    return 0;
}

/* addr_lex_atom - atom (or one encoded word, which may contain '.') at u[i]; new index */
static size_t
addr_lex_atom(addr_parser *p, const char *u, size_t n, size_t i)
{
    size_t w = u[i] == '=' ? rfc2047_word_len(u + i, n - i) : 0, end;

    if (w > 0 && (i + w == n || !addr_atext((unsigned char)u[i + w])))
        end = i + w;
    else
        for (end = i; end < n && addr_atext((unsigned char)u[end]); end++)
            ;
    memcpy(p->arena + p->alen, u + i, end - i);
    p->alen += end - i;
    return end;
}

/* addr_lex - tokenize the unfolded field u[0..n); 0, or -1 with err */
static int
addr_lex(addr_parser *p, const char *u, size_t n)
{
    size_t i = 0, next;
    int ws = 0;

    p->arena = xmalloc(2 * n + 2);
    while (i < n) {
        unsigned char c = (unsigned char)u[i];
        size_t off = p->alen;
        if (c == ' ' || c == '\t') {
            ws = 1;
            i++;
            continue;
        }
        if (c == '(') {
            if ((i = addr_skip_comment(u, n, i)) == 0)
                return util_errf(p->err, p->errlen, "unterminated comment");
            ws = 1;
            continue;
        }
        if (c == '"') {
            if ((next = addr_lex_qstr(p, u, n, i)) == 0)
                return util_errf(p->err, p->errlen, "unterminated quoted string");
            addr_push_tok(p, TK_QSTR, 0, ws, off);
        } else if (c == '[') {
            if ((next = addr_lex_lit(p, u, n, i)) == 0)
                return util_errf(p->err, p->errlen, "unterminated domain literal");
            addr_push_tok(p, TK_LIT, 0, ws, off);
        } else if (strchr("<>:;@,.", c) != NULL) {
            next = i + 1;
            addr_push_tok(p, TK_SPEC, c, ws, off);
        } else if (addr_atext(c)) {
            next = addr_lex_atom(p, u, n, i);
            addr_push_tok(p, TK_ATOM, 0, ws, off);
        } else {
            return util_errf(p->err, p->errlen, "unexpected '%c' at offset %zu", c, i);
        }
        i = next;
        ws = 0;
    }
    addr_push_tok(p, TK_END, 0, ws, p->alen);
    return 0;
}

/* addr_val - a token's value (NUL-terminated in the arena) */
static const char *
addr_val(const addr_parser *p, const addr_tok *t)
{
    return p->arena + t->off;
}

/* addr_is_spec - whether token t is the special character c */
static int
addr_is_spec(const addr_tok *t, int c)
{
    return t->type == TK_SPEC && t->ch == c;
}

/* addr_is_word - atom or quoted string */
static int
addr_is_word(const addr_tok *t)
{
    return t->type == TK_ATOM || t->type == TK_QSTR;
}

/* addr_qstr_words - decode the space-separated encoded words inside quoted text (common
 * practice though RFC 2047 forbids them there); white space between two words is dropped */
static char *
addr_qstr_words(const char *s, size_t len)
{
    addr_buf b = {NULL, 0, 0};
    size_t i = 0, gap = 0, gapstart = 0;
    int prev_ew = 0;

    addr_buf_add(&b, "", 0);
    while (i < len) {
        size_t j = i;
        char *dec;
        if (s[i] == ' ' || s[i] == '\t') {
            gapstart = i;
            while (i < len && (s[i] == ' ' || s[i] == '\t'))
                i++;
            gap = i - gapstart;
            continue;
        }
        while (j < len && s[j] != ' ' && s[j] != '\t')
            j++;
        dec = rfc2047_decode_word(s + i, j - i);
        if (gap > 0 && !(dec != NULL && prev_ew))
            addr_buf_add(&b, s + gapstart, gap);
        if (dec != NULL)
            addr_buf_add(&b, dec, strlen(dec));
        else
            addr_buf_add(&b, s + i, j - i);
        prev_ew = dec != NULL;
        free(dec);
        gap = 0;
        i = j;
    }
    if (gap > 0)
        addr_buf_add(&b, s + gapstart, gap);
    return b.s;
}

/* addr_phrase - decoded display name of tokens [a, b): words joined by one space where the
 * source had space, none between adjacent encoded words; NULL if empty */
static char *
addr_phrase(const addr_parser *p, size_t a, size_t b)
{
    addr_buf out = {NULL, 0, 0};
    int prev_ew = 0;
    size_t i;
    char *fixed;

    for (i = a; i < b; i++) {
        const addr_tok *t = &p->t[i];
        const char *v = addr_val(p, t);
        char *dec = NULL, *inner = NULL;
        int ew = 0;
        if (t->type == TK_SPEC) {
            v = ".";
        } else if (rfc2047_is_word(v, t->len) && (dec = rfc2047_decode_word(v, t->len))) {
            ew = 1;
        } else if (t->type == TK_QSTR && strstr(v, "=?") != NULL) {
            inner = addr_qstr_words(v, t->len);
        }
        if (out.n > 0 && t->ws && !(ew && prev_ew))
            addr_buf_add(&out, " ", 1);
        v = dec ? dec : inner ? inner : v;
        addr_buf_add(&out, v, strlen(v));
        prev_ew = ew;
        free(dec);
        free(inner);
    }
    if (out.n == 0)
        return util_free(out.s);
    if (rfc2047_utf8_valid(out.s, out.n))
        return out.s;
    fixed = rfc2047_utf8_repair(out.s, out.n);
    free(out.s);
    return fixed;
}

/* addr_dot_atom - whether s is a dot-atom (atext/UTF-8 atoms joined by single dots) */
static int
addr_dot_atom(const char *s)
{
    int prev_dot = 1;

    if (*s == '\0')
        return 0;
    for (; *s != '\0'; s++) {
        if (*s == '.') {
            if (prev_dot)
                return 0;
            prev_dot = 1;
        } else if (addr_atext((unsigned char)*s)) {
            prev_dot = 0;
        } else {
            return 0;
        }
    }
    return !prev_dot;
}

/* addr_quote_local - local part as written in an address (quoted when not a dot-atom) */
char *
addr_quote_local(const char *local)
{
    addr_buf b = {NULL, 0, 0};

    if (addr_dot_atom(local))
        return xstrdup(local);
    addr_buf_add(&b, "\"", 1);
    for (; *local != '\0'; local++) {
        if (*local == '"' || *local == '\\')
            addr_buf_add(&b, "\\", 1);
        addr_buf_add(&b, local, 1);
    }
    addr_buf_add(&b, "\"", 1);
    return b.s;
}

/* addr_make_address - "local@domain" (re-quoted, literal in brackets) */
static char *
addr_make_address(const char *local, const char *domain, int literal)
{
    char *q = addr_quote_local(local), *a;

    if (domain == NULL)
        return q;
    a = xasprintf(literal ? "%s@[%s]" : "%s@%s", q, domain);
    free(q);
    return a;
}

/* addr_add - append a mailbox to the result list (takes ownership of the strings) */
static void
addr_add(addr_parser *p, char *display, char *local, char *domain, int literal, const char *group)
{
    addr_mailbox *m;

    if (p->l->n == p->lcap) {
        p->lcap = p->lcap ? 2 * p->lcap : 4;
        p->l->v = xrealloc(p->l->v, p->lcap * sizeof(*p->l->v));
    }
    m = &p->l->v[p->l->n++];
    m->display = display;
    m->local = local;
    m->domain = domain;
    m->address = addr_make_address(local, domain, literal);
    m->group = group ? xstrdup(group) : NULL;
    m->domain_literal = literal;
}

/* addr_local - local part from tokens [a, b): word *("." word); NULL with err */
static char *
addr_local(addr_parser *p, size_t a, size_t b)
{
    addr_buf out = {NULL, 0, 0};
    size_t i;

    if (a == b) {
        util_errf(p->err, p->errlen, "empty local part");
        return NULL;
    }
    for (i = a; i < b; i++) {
        const addr_tok *t = &p->t[i];
        int want_word = (i - a) % 2 == 0;
        if (want_word ? !addr_is_word(t) : !addr_is_spec(t, '.')) {
            util_errf(p->err, p->errlen, "%s",
                      want_word && addr_is_spec(t, '.') ? "empty atom in local part"
                                                        : "words without '.' before '@' (a "
                                                          "display name needs <angle brackets>)");
            return util_free(out.s);
        }
        addr_buf_add(&out, want_word ? addr_val(p, t) : ".", want_word ? t->len : 1);
    }
    if ((b - a) % 2 == 0 || out.n == 0) {
        util_errf(p->err, p->errlen, "%s",
                  out.n == 0 ? "empty local part" : "local part ends with '.'");
        return util_free(out.s);
    }
    if (!rfc2047_utf8_valid(out.s, out.n) || strlen(out.s) != out.n) {
        util_errf(p->err, p->errlen, "local part is not UTF-8");
        return util_free(out.s);
    }
    return out.s;
}

/* addr_domain - domain at p->pos: a literal, or atom *("." atom); NULL with err */
static char *
addr_domain(addr_parser *p, int *literal)
{
    addr_buf out = {NULL, 0, 0};
    const addr_tok *t = &p->t[p->pos];

    *literal = 0;
    if (t->type == TK_LIT) {
        p->pos++;
        *literal = 1;
        if (addr_literal_valid(addr_val(p, t)))
            return xstrdup(addr_val(p, t));
        util_errf(p->err, p->errlen, "domain literal is not an address literal");
        return NULL;
    }
    for (;;) {
        t = &p->t[p->pos];
        if (t->type != TK_ATOM) {
            util_errf(p->err, p->errlen, "%s",
                      out.n == 0 ? "missing domain after '@'" : "empty label in domain");
            return util_free(out.s);
        }
        addr_buf_add(&out, addr_val(p, t), t->len);
        p->pos++;
        if (!addr_is_spec(&p->t[p->pos], '.'))
            break;
        addr_buf_add(&out, ".", 1);
        p->pos++;
    }
    if (!rfc2047_utf8_valid(out.s, out.n)) {
        util_errf(p->err, p->errlen, "domain is not UTF-8");
        return util_free(out.s);
    }
    return out.s;
}

/* addr_spec - addr-spec whose local part is tokens [p->pos, at), p->t[at] being '@';
 * adds the mailbox; 0 or -1 */
static int
addr_spec(addr_parser *p, size_t at, char *display, const char *group)
{
    char *local, *domain;
    int literal;

    if ((local = addr_local(p, p->pos, at)) == NULL) {
        free(display);
        return -1;
    }
    p->pos = at + 1;
    if ((domain = addr_domain(p, &literal)) == NULL) {
        free(display);
        free(local);
        return -1;
    }
    addr_add(p, display, local, domain, literal, group);
    return 0;
}

/* addr_route - skip an obs-route "@d1,@d2:" inside an angle address; 0 or -1 */
static int
addr_route(addr_parser *p)
{
    char *d;
    int literal;

    for (;;) {
        while (addr_is_spec(&p->t[p->pos], ','))
            p->pos++;
        if (addr_is_spec(&p->t[p->pos], ':')) {
            p->pos++;
            return 0;
        }
        if (!addr_is_spec(&p->t[p->pos], '@'))
            return util_errf(p->err, p->errlen, "bad route in angle address");
        p->pos++;
        if ((d = addr_domain(p, &literal)) == NULL)
            return -1;
        free(d);
    }
}

/* addr_angle - angle address at p->pos ('<'), with its display name; 0 or -1 */
static int
addr_angle(addr_parser *p, char *display, const char *group)
{
    size_t k;

    p->pos++;
    if (addr_is_spec(&p->t[p->pos], '@') && addr_route(p) < 0)
        goto fail;
    for (k = p->pos; addr_is_word(&p->t[k]) || addr_is_spec(&p->t[k], '.'); k++)
        ;
    if (!addr_is_spec(&p->t[k], '@')) {
        util_errf(p->err, p->errlen, "%s",
                  addr_is_spec(&p->t[k], '>') && k == p->pos ? "empty angle address"
                                                             : "angle address without addr-spec");
        goto fail;
    }
    if (addr_spec(p, k, display, group) < 0)
        return -1;
    if (!addr_is_spec(&p->t[p->pos], '>'))
        return util_errf(p->err, p->errlen, "missing '>' after address");
    p->pos++;
    return 0;
fail:
    free(display);
    return -1;
}

static int addr_mailbox_or_group(addr_parser *p, const char *group);

/* addr_group - group at p->pos (its name ends at the ':' at colon); 0 or -1 */
static int
addr_group(addr_parser *p, size_t colon)
{
    char *name = addr_phrase(p, p->pos, colon);
    int rc = 0;

    if (name == NULL)
        return util_errf(p->err, p->errlen, "group without a name");
    p->pos = colon + 1;
    for (;;) {
        const addr_tok *t = &p->t[p->pos];
        if (t->type == TK_END) {
            rc = util_errf(p->err, p->errlen, "group \"%s\" lacks its ';'", name);
            break;
        }
        if (addr_is_spec(t, ';')) {
            p->pos++;
            break;
        }
        if (addr_is_spec(t, ',')) {
            p->pos++;
            continue;
        }
        if ((rc = addr_mailbox_or_group(p, name)) < 0)
            break;
    }
    free(name);
    return rc;
}

/* addr_mailbox_or_group - one address at p->pos (group only when group == NULL) */
static int
addr_mailbox_or_group(addr_parser *p, const char *group)
{
    size_t k = p->pos;
    const addr_tok *t;

    while (addr_is_word(&p->t[k]) || addr_is_spec(&p->t[k], '.'))
        k++;
    t = &p->t[k];
    if (addr_is_spec(t, '<')) {
        char *display = addr_phrase(p, p->pos, k);
        p->pos = k;
        return addr_angle(p, display, group);
    }
    if (addr_is_spec(t, '@'))
        return addr_spec(p, k, NULL, group);
    if (addr_is_spec(t, ':')) {
        if (group != NULL)
            return util_errf(p->err, p->errlen, "group inside group \"%s\"", group);
        return addr_group(p, k);
    }
    if (k > p->pos)
        return util_errf(p->err, p->errlen, "address without @domain");
    if (t->type == TK_END)
        return util_errf(p->err, p->errlen, "unexpected end of field");
    if (t->type == TK_SPEC)
        return util_errf(p->err, p->errlen, "unexpected '%c'", t->ch);
    return util_errf(p->err, p->errlen, "unexpected domain literal");
}

/* addr_parse_field - parse one address header field body (see addr.h) */
addr_status
addr_parse_field(const char *body, size_t len, addr_list **out, char *err, size_t errlen)
{
    addr_parser p;
    char *u = NULL;
    size_t ulen = 0;
    int rc = -1;

    if (out == NULL) {
        util_errf(err, errlen, "no result pointer");
        return ADDR_SYNTAX;
    }
    *out = NULL;
    memset(&p, 0, sizeof(p));
    p.err = err;
    p.errlen = errlen;
    if (body == NULL) {
        util_errf(err, errlen, "no field body");
        return ADDR_SYNTAX;
    }
    if (addr_unfold(body, len, &u, &ulen, err, errlen) < 0)
        return ADDR_SYNTAX;
    p.l = xcalloc(1, sizeof(*p.l));
    if (addr_lex(&p, u, ulen) == 0) {
        rc = 0;
        while (rc == 0 && p.t[p.pos].type != TK_END) {
            if (addr_is_spec(&p.t[p.pos], ','))
                p.pos++; /* empty list element (obs-addr-list) */
            else
                rc = addr_mailbox_or_group(&p, NULL);
        }
    }
    free(u);
    free(p.arena);
    free(p.t);
    if (rc < 0) {
        addr_list_free(p.l);
        return ADDR_SYNTAX;
    }
    *out = p.l;
    return p.l->n > 0 ? ADDR_OK : ADDR_EMPTY;
}

/* addr_mailbox_clear - free the strings of a mailbox and zero it */
void
addr_mailbox_clear(addr_mailbox *m)
{
    if (m == NULL)
        return;
    free(m->display);
    free(m->local);
    free(m->domain);
    free(m->address);
    free(m->group);
    memset(m, 0, sizeof(*m));
}

/* addr_list_free - free a list and its mailboxes; returns NULL */
addr_list *
addr_list_free(addr_list *l)
{
    size_t i;

    if (l == NULL)
        return NULL;
    for (i = 0; i < l->n; i++)
        addr_mailbox_clear(&l->v[i]);
    free(l->v);
    free(l);
    return NULL;
}

/* addr_strip_label - address without its "+label" part, or NULL */
char *
addr_strip_label(const char *local, const char *domain, char sep)
{
    const char *s;
    char *base, *a;

    if (local == NULL || sep == '\0' || (s = strchr(local, sep)) == NULL || s == local)
        return NULL;
    base = xstrndup(local, (size_t)(s - local));
    a = addr_make_address(base, domain, 0);
    free(base);
    return a;
}
