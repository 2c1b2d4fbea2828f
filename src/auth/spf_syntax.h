/*
 * spf_syntax.h - strict RFC 7208 record checker and libspf2 record rewriter
 *
 * spf_syntax_parse() accepts exactly the ABNF of RFC 7208 section 12 for a
 * "v=spf1" record (mechanism names, domain-spec with a valid domain-end,
 * macro letters and transformers, CIDR lengths without leading zeros, IPv4
 * and IPv6 literals, modifier names, at most one redirect and one exp) and
 * returns the record as a list of terms, or NULL and a reason.
 *
 * spf_syntax_rewrite() turns a parsed record into an equivalent record that
 * libspf2 1.2.10 compiles and evaluates correctly for a client of a given
 * address family: unknown modifiers (ignored by RFC 7208 but refused by
 * libspf2 when their names contain '.', '-' or '_') are dropped, a redirect
 * that RFC 7208 section 6.1 says to ignore (an "all" is present) is dropped,
 * and CIDR lengths of /0 (refused by libspf2) are rewritten:
 *   ip4:x/0  -> ip4:0.0.0.0/1 ip4:128.0.0.0/1   (same qualifier)
 *   ip6:x/0  -> ip6:::/1 ip6:8000::/1
 *   a/0, mx/0 for the family in use -> exists:<spec>.<probe suffix>, a name
 *     that the adapter's DNS layer (spf.c) answers with a synthetic A record
 *     when the domain has an address (a) or an MX host with an address (mx)
 *     of that family; the other family's CIDR is dropped as it cannot apply.
 * Nothing here does DNS or logging.
 */
#ifndef SM_SPF_SYNTAX_H
#define SM_SPF_SYNTAX_H

#include <stddef.h>

/* suffixes of the probe names spf_syntax_rewrite() emits; spf.c answers them */
#define SPF_SYNTAX_PROBE_A4 "._a4._sm-spf.invalid"
#define SPF_SYNTAX_PROBE_A6 "._a6._sm-spf.invalid"
#define SPF_SYNTAX_PROBE_MX4 "._mx4._sm-spf.invalid"
#define SPF_SYNTAX_PROBE_MX6 "._mx6._sm-spf.invalid"

typedef enum spf_syntax_kind {
    SPF_TERM_ALL,
    SPF_TERM_INCLUDE,
    SPF_TERM_A,
    SPF_TERM_MX,
    SPF_TERM_PTR,
    SPF_TERM_IP4,
    SPF_TERM_IP6,
    SPF_TERM_EXISTS,
    SPF_TERM_REDIRECT,
    SPF_TERM_EXP,
    SPF_TERM_UNKNOWN_MOD,
} spf_syntax_kind;

typedef struct spf_syntax_term {
    spf_syntax_kind kind;
    char qual;  /* '+', '-', '~', '?' (mechanisms; '+' when absent) */
    char *text; /* the term as written, without the qualifier */
    char *arg;  /* domain-spec, network or modifier value; NULL if absent */
    int cidr4;  /* -1 when absent */
    int cidr6;  /* -1 when absent */
} spf_syntax_term;

typedef struct spf_syntax_rec {
    spf_syntax_term *t;
    size_t n;
    int has_all;
} spf_syntax_rec;

/* spf_syntax_is_spf1 - whether a TXT string is an SPF record ("v=spf1" then SP or end) */
int spf_syntax_is_spf1(const char *txt, size_t len);
/* spf_syntax_parse - strict RFC 7208 parse; NULL and a reason in err on any error */
spf_syntax_rec *spf_syntax_parse(const char *rec, size_t len, char *err, size_t errlen);
/* spf_syntax_free - returns NULL */
spf_syntax_rec *spf_syntax_free(spf_syntax_rec *r);
/* spf_syntax_macro_string - check a macro-string; is_exp allows c, r, t; 0 or -1 */
int spf_syntax_macro_string(const char *s, size_t len, int is_exp, char *err, size_t errlen);
/* spf_syntax_domain_spec - check a domain-spec (macro-string + domain-end); 0 or -1 */
int spf_syntax_domain_spec(const char *s, size_t len, char *err, size_t errlen);
/* spf_syntax_rewrite - record text libspf2 evaluates like r for a client of family af */
char *spf_syntax_rewrite(const spf_syntax_rec *r, int af);

/* macro values for spf_syntax_expand (RFC 7208 7.3); NULL counts as "" */
typedef struct spf_syntax_vars {
    const char *s, *l, *o, *d, *i, *p, *h, *c, *r, *t, *v;
} spf_syntax_vars;

/*
 * spf_syntax_expand - expand a macro-string per RFC 7208 7 (upper-case
 * letters URL-escape with upper-case hex); NULL when it is not a valid
 * macro-string.  is_exp allows c, r, t and literal spaces.
 */
char *spf_syntax_expand(const char *s, size_t len, int is_exp, const spf_syntax_vars *v);
/*
 * spf_syntax_expand_terms - replace the domain-spec of every include, a, mx,
 * ptr, exists, redirect and exp in r by its expansion (left-truncated to 253
 * octets), quoted so that libspf2's own expansion leaves it unchanged; -1
 * when one is not a valid macro-string.
 */
int spf_syntax_expand_terms(spf_syntax_rec *r, const spf_syntax_vars *v);
/* spf_syntax_quote - a macro-string that expands to exactly text ('%' -> "%%", ' ' -> "%_") */
char *spf_syntax_quote(const char *text);
/* spf_syntax_ip_macros - "i" (dotted quad or 32 upper-case nibbles) and "c" values of addr */
void spf_syntax_ip_macros(int af, const void *addr, char *i, size_t ilen, char *c, size_t clen);

#endif
