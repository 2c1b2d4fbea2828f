/*
 * gate.h - the identity gate: configuration section "identity" and the decision
 *
 * Facts in (the parsed From mailboxes, Sender, envelope sender), verdict
 * and action out; no libmilter, no logging.  The integrator logs the
 * result once and applies it (reply, quarantine, header).
 *
 * Configuration (defaults in brackets):
 *   identity {
 *     plugin_dir = PLUGINDIR;
 *     sources = ( { name = "ses-us"; plugin = "ses"; ... },
 *                 { name = "local"; plugin = "file"; path = "..."; } );
 *     combine = "first";            # "first" | "all"
 *     check_from = true; check_sender = true; check_envelope_from = true;
 *     label_separator = "+";        # one character, "" = none
 *     cache { positive_ttl = 300; negative_ttl = 60; max_entries = 100000;
 *             stale_max = 3600; }
 *     lookup_timeout_ms = 5000;     # deadline for one message's lookups
 *     action = "enforce";           # enforce | quarantine | tag | monitor
 *     on_tempfail = "tempfail";     # tempfail | accept (fail-open)
 *     overrides = ( { domain = "example.com"; action = "monitor";
 *                     on_tempfail = "accept"; } );
 *     reject_text = "5.7.1 Sender identity <%{identity}> is not verified for sending";
 *     tempfail_text = "4.7.1 Sender identity <%{identity}> could not be verified now, "
 *                     "try again later";
 *     tag_header = "X-SES-Milter-Identity";
 *     no_from = "reject"; multiple_from = "reject"; unparseable_from = "reject";
 *     unparseable_sender = "reject";  # a Sender that is not one mailbox, or two Senders
 *     header_overflow = "reject";     # header over 1000 fields or 256 KiB
 *                                   # reject | tempfail | quarantine | tag | accept
 *     no_from_text, multiple_from_text, unparseable_from_text, empty_from_text,
 *     unparseable_sender_text, header_overflow_text;
 *     null_sender = "check_from";   # check_from | accept | reject
 *     null_sender_text;
 *   }
 * Without an "identity" section the gate is off (gate_check passes all mail).
 */
#ifndef SM_GATE_H
#define SM_GATE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <libconfig.h>

#include "identity/cache.h"
#include "identity/identity.h"
#include "identity/plugin.h"

typedef enum gate_act_conf { /* configured action for a not-verified sender */
                             GATE_CONF_ENFORCE = 0,
                             GATE_CONF_QUARANTINE,
                             GATE_CONF_TAG,
                             GATE_CONF_MONITOR,
} gate_act_conf;

typedef enum gate_malformed_conf { /* configured action for a malformed From */
                                   GATE_MF_REJECT = 0,
                                   GATE_MF_TEMPFAIL,
                                   GATE_MF_QUARANTINE,
                                   GATE_MF_TAG,
                                   GATE_MF_ACCEPT,
} gate_malformed_conf;

typedef enum gate_null_conf {
    GATE_NULL_CHECK_FROM = 0,
    GATE_NULL_ACCEPT,
    GATE_NULL_REJECT,
} gate_null_conf;

typedef struct gate_override {
    char *domain;    /* lower-case A-labels; covers subdomains */
    int action;      /* gate_act_conf */
    int on_tempfail; /* 0 tempfail, 1 accept; -1: the global setting */
} gate_override;

typedef struct gate_conf {
    int present; /* 0: no identity section, the gate is off */
    char *plugin_dir;
    plugin_source *sources;
    size_t n_sources;
    int combine; /* identity_combine */
    int check_from, check_sender, check_envelope_from;
    char *label_separator;
    cache_opts cache;
    long lookup_timeout_ms;
    int action;      /* gate_act_conf */
    int on_tempfail; /* 0 tempfail, 1 accept */
    gate_override *overrides;
    size_t n_overrides;
    char *reject_text, *tempfail_text, *tag_header;
    int no_from, multiple_from, unparseable_from; /* gate_malformed_conf */
    int unparseable_sender, header_overflow;      /* gate_malformed_conf */
    char *no_from_text, *multiple_from_text, *unparseable_from_text, *empty_from_text;
    char *unparseable_sender_text, *header_overflow_text;
    int null_sender; /* gate_null_conf */
    char *null_sender_text;
} gate_conf;

/* one mailbox as the address parser gave it */
typedef struct gate_mailbox {
    const char *local;
    const char *domain;
} gate_mailbox;

typedef enum gate_from_status {
    GATE_FROM_OK = 0,
    GATE_FROM_NONE,        /* no From header field */
    GATE_FROM_MULTIPLE,    /* more than one From header field */
    GATE_FROM_UNPARSEABLE, /* a From field without a usable mailbox */
    GATE_FROM_EMPTY,       /* a From field that parses but names no mailbox ("g:;") */
} gate_from_status;

typedef struct gate_input {
    gate_from_status from_status;
    const gate_mailbox *from; /* the From field's mailboxes (all are checked) */
    size_t n_from;
    const gate_mailbox *sender;   /* Sender header, NULL when absent or malformed */
    const gate_mailbox *envelope; /* MAIL FROM, NULL for the null sender <> */
    const char *policy_domain;    /* for overrides; NULL: first From domain, else envelope */
    const char *queue_id;
    uint64_t deadline_ms;           /* absolute CLOCK_MONOTONIC ms; 0: now + lookup_timeout_ms */
    gate_from_status sender_status; /* MULTIPLE / UNPARSEABLE: a malformed Sender */
    const char *sender_field;       /* the malformed Sender field's text, for the record */
    const char *hdr_overflow;       /* why the header was not kept whole; NULL: it was */
    int utf8;           /* the client negotiated SMTPUTF8: replies and headers may carry UTF-8 */
    const char *source; /* ask only this identity source (sending authorization); NULL: all */
} gate_input;

typedef enum gate_role { GATE_ROLE_FROM = 0, GATE_ROLE_SENDER, GATE_ROLE_ENVELOPE } gate_role;

/* the result for one checked identity */
typedef struct gate_idres {
    gate_role role;
    int invalid;       /* the address could not be normalised (answer NOT_VERIFIED) */
    identity_result r; /* address, answer, matched, instance, origin, age, attrs */
} gate_idres;

typedef enum gate_verdict {
    GATE_PASS = 0,
    GATE_NOT_VERIFIED,
    GATE_TEMPFAIL,
    GATE_MALFORMED,
} gate_verdict;

typedef enum gate_action {
    GATE_ACCEPT = 0,
    GATE_REJECT,
    GATE_TEMPFAIL_ACT,
    GATE_QUARANTINE,
    GATE_TAG,
    GATE_MONITOR, /* would have refused; accepted because of monitor mode */
} gate_action;

typedef struct gate_result {
    gate_idres *ids; /* owned; gate_result_clear() frees */
    size_t n_ids;
    gate_verdict verdict;
    gate_action action;
    int decisive;          /* index in ids of the identity behind the verdict, -1: none */
    char smtp_code[4];     /* "550" / "451" for reject / tempfail, else "" */
    char smtp_xcode[8];    /* "5.7.1" / "4.7.1" */
    char smtp_text[512];   /* reply text without the codes; printable ASCII */
    char reason[512];      /* one line for quarantine reasons and logs; printable ASCII */
    char header_name[128]; /* set when action is GATE_TAG */
    char header_value[512];
} gate_result;

/* gate_conf_parse - parse the "identity" group (NULL: gate off); *out is the caller's */
int gate_conf_parse(const config_setting_t *group, gate_conf **out, char *err, size_t errlen);
/* gate_conf_dump - print the effective "identity" settings */
void gate_conf_dump(FILE *fp, const gate_conf *gc);
/* gate_conf_free - returns NULL */
gate_conf *gate_conf_free(gate_conf *gc);
/*
 * gate_chain_load - load the configured sources into a chain (while the
 * libconfig configuration that gc was parsed from is still alive).
 */
int gate_chain_load(const gate_conf *gc, cache *c, plugin_chain **chain_r, char *err,
                    size_t errlen);
/*
 * gate_check - decide for one message.  Returns 0 with *res filled (the
 * caller clears it with gate_result_clear), or -1 on an internal error.
 */
int gate_check(const gate_conf *gc, plugin_chain *chain, cache *c, const gate_input *in,
               gate_result *res, char *err, size_t errlen);
/* gate_result_clear - free what gate_check allocated in res */
void gate_result_clear(gate_result *res);
/* gate_verdict_name / gate_action_name / gate_role_name - for logs and audit */
const char *gate_verdict_name(gate_verdict v);
const char *gate_action_name(gate_action a);
const char *gate_role_name(gate_role r);
/*
 * gate_expand - expand a reply template for identity and role (sanitised).  In the
 * identity, a well-formed non-ASCII character stays UTF-8 when utf8 is set and is not
 * a hidden code point (utf8_hidden), else becomes "\u{N}"; any other unsafe byte '?'.
 */
void gate_expand(const char *tmpl, const char *identity, const char *role, int utf8, char *out,
                 size_t outlen);

#endif
