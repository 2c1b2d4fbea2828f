/*
 * addr.h - RFC 5322 / RFC 6532 address fields and RFC 5321 envelope paths
 *
 * Synopsis:
 *   addr_list *l;
 *   if (addr_parse_field(body, len, &l, err, sizeof(err)) == ADDR_OK)
 *       ... l->v[i].domain ...
 *   l = addr_list_free(l);
 *
 * Purpose: turn the body of an address header field (From:, Sender:,
 * Reply-To:, To:, Cc:, ...) into mailboxes, and an SMTP MAIL FROM / RCPT TO
 * path into one mailbox.  The field parser is a small tokenizer plus a
 * recursive-descent parser in the manner of OpenSMTPD's rfc5322.c; it knows
 * display names (atoms, quoted strings, RFC 2047 encoded words, obs-phrase
 * dots), angle addresses, quoted local parts, nested comments wherever CFWS
 * may stand, groups, folding (CRLF or LF followed by WSP), the obsolete forms
 * (obs-route, CFWS around the dots of obs-local-part / obs-domain, empty list
 * elements, a missing comma between two complete addresses), raw UTF-8
 * (RFC 6532) and domain literals.
 *
 * The trap this parser exists for:
 *   "Someone <x@junk.com>"@mydomain.com  ->  one mailbox at mydomain.com
 *   Someone <x@junk.com>                 ->  one mailbox at junk.com
 * The domain is only ever taken from an addr-spec the grammar accepts; the
 * parser never guesses an address out of text that does not parse.
 *
 * Results and the malformed classes (all give ADDR_SYNTAX, a reason in err,
 * *out == NULL; nothing is partially returned):
 *   - the field ends at the first line break (CRLF or LF) not followed by
 *     SP/HTAB; anything after it is not read (not an error);
 *   - field longer than ADDR_MAX_FIELD (64 KiB) before its end: "too long";
 *   - NUL byte, bare CR, or any other control character but HTAB anywhere
 *     in the field (also inside quotes and comments): refused;
 *   - unbalanced quotes, comments, domain literals or angle brackets, a
 *     stray ')' '>' ']' or '\' outside quotes: refused;
 *   - a mailbox without "@domain" ("NO", "Array", "Smith, John <j@x>"),
 *     an empty local part ("@d", "\"\"@d"), an empty or dotless-broken
 *     domain ("a@", "a@.b", "a@b..c"), "<>" in a header: refused;
 *   - a phrase followed by an addr-spec without angle brackets
 *     ("\"Johnson\" joe@x") and text after an angle address that is not a
 *     new address ("<a@b> Name"): refused;
 *   - groups: nested groups, a group without ';' at the end of the field,
 *     a group without a name, groups in an envelope path: refused;
 *   - a domain literal that is not an RFC 5321 address literal (IPv4,
 *     "IPv6:...", "tag:...") such as "[good.example]": refused, so that a
 *     literal can never pass for a domain name;
 *   - 8-bit bytes that are not well-formed UTF-8: refused in the local part
 *     and domain; in a display name or group name each ill-formed byte
 *     becomes U+FFFD (the name is informational only);
 *   - an RFC 2047 word that cannot be decoded (syntax, unknown charset,
 *     invalid bytes, decoded control characters) stays as written;
 *   - RFC 2369 "<uri>" values (List-*) are not addresses: refused.
 * ADDR_EMPTY: the field parsed but holds no mailbox (empty or blank body,
 * only commas, only empty groups such as "undisclosed-recipients:;").
 */
#ifndef SM_ADDR_H
#define SM_ADDR_H

#include <stddef.h>

#define ADDR_MAX_FIELD 65536 /* bytes, before the end of the field */

typedef struct addr_mailbox {
    char *display;      /* decoded display name, UTF-8, or NULL (absent or empty) */
    char *local;        /* local part, unquoted (quoted-pairs resolved), UTF-8 allowed */
    char *domain;       /* domain as written without brackets/CFWS (not lower-cased, UTF-8
                           allowed); NULL if none (only "postmaster" in a path) */
    char *address;      /* local@domain, local part re-quoted when it needs quotes; a domain
                           literal keeps its brackets; "" for the null path "<>" */
    char *group;        /* name of the group it was in, or NULL */
    int domain_literal; /* 1 if the domain was a domain literal "[...]" */
} addr_mailbox;

typedef struct addr_list {
    addr_mailbox *v;
    size_t n;
} addr_list;

typedef enum addr_status {
    ADDR_OK = 0,
    ADDR_EMPTY, /* no mailbox at all, e.g. only an empty group */
    ADDR_SYNTAX
} addr_status;

/* addr_parse_field - parse one header field body (everything after "Name:", folding
 * included); *out always set on ADDR_OK/ADDR_EMPTY, NULL on ADDR_SYNTAX */
addr_status addr_parse_field(const char *body, size_t len, addr_list **out, char *err,
                             size_t errlen);
/* addr_list_free - free a list and its mailboxes; returns NULL */
addr_list *addr_list_free(addr_list *l);
/* addr_parse_path - parse an SMTP MAIL FROM / RCPT TO path as libmilter gives it:
 * "<a@b>", "a@b", "<>", "<@route:a@b>", "<postmaster>"; ESMTP parameters after the
 * path (separated by a space) are ignored.  *is_null is set for "<>" (then ADDR_OK,
 * address "" and the other fields NULL).  No comments or folding (RFC 5321). */
addr_status addr_parse_path(const char *arg, addr_mailbox *out, int *is_null, char *err,
                            size_t errlen);
/* addr_mailbox_clear - free the strings of a mailbox and zero it */
void addr_mailbox_clear(addr_mailbox *m);
/* addr_strip_label - split "local+label@domain": new address without the +label (from
 * the first sep on), or NULL if there is no label or nothing would remain before it.
 * domain NULL gives the bare local part. */
char *addr_strip_label(const char *local, const char *domain, char sep);
/* addr_quote_local - new copy of local, quoted (RFC 5322 quoted-string) if it is not a
 * dot-atom */
char *addr_quote_local(const char *local);
/* addr_atext - RFC 5322 atext, or any 8-bit byte (RFC 6532 UTF8-non-ascii) */
int addr_atext(unsigned char c);
/* addr_literal_valid - whether s (without brackets) is an RFC 5321 address literal:
 * IPv4 dotted quad, "IPv6:" address, or "tag:content" */
int addr_literal_valid(const char *s);
/* addr_status_name - "ok", "empty", "syntax" */
const char *addr_status_name(addr_status st);

#endif
