/*
 * unsub_tmpl.h - List-Unsubscribe value templates and percent-encoding
 *
 * A template is literal URI text with placeholders %{recipient},
 * %{sender}, %{sender_domain}, %{list_id}, %{message_id} and %{token}.
 * Templates are checked once, at configuration time (unknown placeholder,
 * characters that cannot appear in a URI, wrong scheme); expansion
 * percent-encodes every substituted value (RFC 3986 unreserved characters
 * kept), so no CR, LF, NUL, space, '<' or '>' from a value can reach a
 * header.
 */
#ifndef SM_UNSUB_TMPL_H
#define SM_UNSUB_TMPL_H

#include <stddef.h>

/* placeholder bits, as returned by unsub_tmpl_uses() */
#define UNSUB_PH_RECIPIENT 0x01u
#define UNSUB_PH_SENDER 0x02u
#define UNSUB_PH_SENDER_DOMAIN 0x04u
#define UNSUB_PH_LIST_ID 0x08u
#define UNSUB_PH_MESSAGE_ID 0x10u
#define UNSUB_PH_TOKEN 0x20u
#define UNSUB_PH_ALL 0x3fu

/* what a template must start with */
typedef enum unsub_tmpl_kind {
    UNSUB_TMPL_HTTPS,  /* "https://host..." (one-click) */
    UNSUB_TMPL_HTTP,   /* "https://" or "http://" */
    UNSUB_TMPL_MAILTO, /* "mailto:..." */
    UNSUB_TMPL_TEXT,   /* any URI-safe text (list ids) */
} unsub_tmpl_kind;

typedef struct unsub_tmpl unsub_tmpl;

/* values for expansion; NULL or "" means "not available" */
typedef struct unsub_tmpl_vars {
    const char *recipient;
    const char *sender;
    const char *sender_domain;
    const char *list_id;
    const char *message_id;
    const char *token;
} unsub_tmpl_vars;

/* unsub_tmpl_parse - check text against kind and the allowed placeholders; NULL + err on error */
unsub_tmpl *unsub_tmpl_parse(const char *text, unsub_tmpl_kind kind, unsigned allowed, char *err,
                             size_t errlen);
/* unsub_tmpl_uses - the UNSUB_PH_* bits the template refers to */
unsigned unsub_tmpl_uses(const unsub_tmpl *t);
/* unsub_tmpl_text - the template as configured */
const char *unsub_tmpl_text(const unsub_tmpl *t);
/* unsub_tmpl_expand - substitute (percent-encoded) values; NULL + err when a used value is missing
 */
char *unsub_tmpl_expand(const unsub_tmpl *t, const unsub_tmpl_vars *v, char *err, size_t errlen);
/* unsub_tmpl_free - release a template; returns NULL */
unsub_tmpl *unsub_tmpl_free(unsub_tmpl *t);

/* unsub_tmpl_pctenc - percent-encode all but RFC 3986 unreserved bytes (new string) */
char *unsub_tmpl_pctenc(const char *s);
/* unsub_tmpl_pctdec - decode %XX (and '+' as space if plus_space); NULL on bad escape or %00 */
char *unsub_tmpl_pctdec(const char *s, size_t len, int plus_space);
/* unsub_tmpl_ph_name - "recipient" for UNSUB_PH_RECIPIENT etc.; NULL for other bits */
const char *unsub_tmpl_ph_name(unsigned bit);

#endif
