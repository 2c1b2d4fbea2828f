/*
 * audit_record.h - what one audit record says, and its JSON form (schema v1)
 *
 * The engine fills a struct audit_msg at end of message (or abort) with
 * plain pointers into its own per-message state; audit_record_build()
 * turns it into one line of JSON with the keys in a fixed order (see
 * doc/audit-schema.md).  Every pointer may be NULL and every count 0: an
 * aborted transaction is logged with what was known.  Nothing here keeps a
 * pointer into the audit_msg after the call returns.
 *
 * audit_record_validate() checks a parsed record against the documented
 * schema (keys, order, types, enumerated values), for the tests and for
 * "ses-milter-audit verify --schema".
 */
#ifndef SM_AUDIT_RECORD_H
#define SM_AUDIT_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "audit/audit_chain.h"

/*
 * schema versions: a record says which one it follows, and a verifier
 * accepts every version from 1 to AUDIT_SCHEMA_VERSION, each against its
 * own key set (doc/audit-schema.md lists what each version added)
 */
#define AUDIT_SCHEMA_VERSION 2

/* enumerations: value 0 is "not known" and becomes JSON null */
typedef enum audit_scope {
    AUDIT_SCOPE_NONE = 0,
    AUDIT_SCOPE_AUTHENTICATED,    /* SASL-authenticated client: outgoing */
    AUDIT_SCOPE_INTERNAL_NETWORK, /* client in an internal network: outgoing */
    AUDIT_SCOPE_LOCAL_SUBMISSION, /* sendmail(1) / pickup: outgoing */
    AUDIT_SCOPE_EXTERNAL,         /* anything else: not outgoing */
} audit_scope;

typedef enum audit_action {
    AUDIT_ACTION_NONE = 0,
    AUDIT_ACTION_ACCEPT,
    AUDIT_ACTION_REJECT,
    AUDIT_ACTION_TEMPFAIL,
    AUDIT_ACTION_QUARANTINE,
    AUDIT_ACTION_TAG,
    AUDIT_ACTION_DISCARD,
    AUDIT_ACTION_ABORTED,
} audit_action;

typedef enum audit_outcome {
    AUDIT_OUTCOME_NONE = 0,
    AUDIT_OUTCOME_COMPLETED,
    AUDIT_OUTCOME_ABORTED,
} audit_outcome;

typedef enum audit_role {
    AUDIT_ROLE_NONE = 0,
    AUDIT_ROLE_FROM,     /* the From header address */
    AUDIT_ROLE_SENDER,   /* the Sender header address */
    AUDIT_ROLE_ENVELOPE, /* MAIL FROM */
} audit_role;

/* same numbering as sm_id_answer in ses-milter/plugin.h */
typedef enum audit_answer {
    AUDIT_ANSWER_NONE = 0,
    AUDIT_ANSWER_VERIFIED = 1,
    AUDIT_ANSWER_NOT_VERIFIED = 2,
    AUDIT_ANSWER_UNKNOWN = 3,
    AUDIT_ANSWER_TEMPFAIL = 4,
} audit_answer;

typedef enum audit_cache {
    AUDIT_CACHE_NONE = 0,
    AUDIT_CACHE_HIT,
    AUDIT_CACHE_MISS,
    AUDIT_CACHE_STALE,
    AUDIT_CACHE_REDIS, /* the fleet's answer, read from the shared state backend */
} audit_cache;

/* how recipients are written */
typedef enum audit_rcpt_mode {
    AUDIT_RCPT_PLAIN = 0,
    AUDIT_RCPT_HASHED, /* hex HMAC-SHA256 of the lower-cased address under a key */
    AUDIT_RCPT_OMIT,
} audit_rcpt_mode;

/* one identity lookup */
typedef struct audit_lookup {
    const char *identity; /* the address checked */
    audit_role role;
    const char *matched;  /* the candidate that answered (address, domain), NULL: none */
    const char *source;   /* plugin name, e.g. "ses" */
    const char *instance; /* plugin instance, e.g. "ses-us-east-1" */
    audit_answer answer;
    audit_cache cache;
    long age_s; /* age of the answer in seconds; < 0: unknown */
} audit_lookup;

/* one DKIM signature (present or predicted) */
typedef struct audit_dkim {
    const char *d, *s, *alg; /* domain, selector, algorithm ("rsa-sha256", "ed25519-sha256") */
    const char *result;      /* pass, fail, neutral, temperror, permerror, none, predicted-pass */
} audit_dkim;

typedef struct audit_spf {
    const char *domain;     /* MAIL FROM (or HELO) domain checked */
    const char *const *ips; /* sending IPs considered */
    size_t n_ips;
    const char *result; /* pass, fail, softfail, neutral, none, temperror, permerror */
} audit_spf;

#define AUDIT_TRI_UNKNOWN (-1)

typedef struct audit_dmarc {
    const char *domain; /* policy (organisational or From) domain */
    const char *p;      /* none, quarantine, reject */
    const char *result; /* pass, fail, none, temperror, permerror */
    int aligned_dkim;   /* 1, 0, AUDIT_TRI_UNKNOWN */
    int aligned_spf;    /* 1, 0, AUDIT_TRI_UNKNOWN */
    const char *const *advice;
    size_t n_advice;
    const char *other; /* "rfc9989:fail" when the other specification disagrees, else NULL;
                        * summary line only (not a record key) */
} audit_dmarc;

/* one mailbox provider's verdict on the message (v2 addition) */
typedef struct audit_provider {
    const char *name;          /* gmail, yahoo, outlook */
    const char *result;        /* pass, fail, unknown */
    const char *const *failed; /* rules that fail (for "unknown": could not be predicted) */
    size_t n_failed;
} audit_provider;

typedef struct audit_header {
    const char *name, *value;
} audit_header;

/* system mail (scope.h) passed without the gate; v2 "scope.system_mail" */
typedef enum audit_sysmail {
    AUDIT_SYSMAIL_NONE = 0,
    AUDIT_SYSMAIL_LOCAL,  /* "local-recipients": every recipient is delivered on this host */
    AUDIT_SYSMAIL_BOUNCE, /* "bounce": a bounce from the MTA itself */
} audit_sysmail;
/* v2: one recipient checked against a suppression list at RCPT time */
typedef struct audit_suppression {
    const char *rcpt;     /* written as the record's rcpt_mode says */
    const char *instance; /* identity source instance that answered */
    const char *region;   /* its SES region */
    const char *answer;   /* clear, suppressed, tempfail */
    const char *reason;   /* BOUNCE, COMPLAINT; NULL when not suppressed */
    const char *cache;    /* hit, miss, shared, warm, redis; NULL: unknown */
    const char *action;   /* refused, logged, accepted, tempfail */
} audit_suppression;

/* v2: an X-SES-* header a rule added, kept or replaced */
typedef struct audit_ses_header {
    const char *name, *value;
    const char *act; /* added, kept, replaced */
} audit_ses_header;

/* v2: the tenant check of the X-SES-* rule */
typedef struct audit_tenant {
    const char *tenant, *identity, *instance, *region;
    const char *answer; /* associated, not_associated, unchecked, tempfail */
} audit_tenant;

/* v2: the unsubscribe store's answer for the message's list (unsub_honour.h) */
typedef struct audit_unsubscribed {
    const char *list_id;
    const char *store_action; /* drop, reject, tag, or tempfail (the store could not tell) */
    size_t rcpt_count;        /* recipients found in the store for that list */
} audit_unsubscribed;

/* v2: what the sending account's state did to the message (account.h) */
typedef struct audit_account {
    const char *instance; /* source that decided; NULL when none refused */
    const char *region;   /* its region */
    const char *status;   /* its account state, e.g. "in the SES sandbox" */
    const char *decision; /* accept, tempfail, hold, reject, quota-rate, quota-24h, rcpt-... */
    size_t rcpts_refused; /* recipients refused at RCPT */
} audit_account;

typedef struct audit_msg {
    uint64_t time_ms; /* wall clock ms; 0: now */
    const char *queue_id;
    const char *client_addr; /* IP address text */
    const char *client_name; /* reverse name as the MTA saw it */
    const char *auth_user;   /* SASL login */
    audit_scope scope;
    audit_sysmail system_mail;
    const char *env_from; /* MAIL FROM, without <>; "" for the null sender */
    const char *const *rcpts;
    size_t n_rcpts;
    const char *from;   /* From header address */
    const char *sender; /* Sender header address */
    const audit_lookup *lookups;
    size_t n_lookups;
    const audit_dkim *dkim;
    size_t n_dkim;
    const audit_spf *spf;      /* NULL: not evaluated */
    const audit_dmarc *dmarc;  /* NULL: not evaluated */
    const audit_header *unsub; /* unsubscribe headers added */
    size_t n_unsub;
    const audit_provider *providers; /* NULL: not evaluated (v2 addition) */
    size_t n_providers;
    /* v2 additions (doc/audit-schema.md) */
    const audit_suppression *suppression; /* NULL and 0: no recipient checked */
    size_t n_suppression;
    const char *ses_rule; /* name (or "#N") of the X-SES-* rule that applied; NULL: none */
    const audit_ses_header *ses_headers;
    size_t n_ses_headers;
    const audit_tenant *ses_tenant; /* NULL: no tenant check (set without ses_rule: the
                                     * message's own X-SES-TENANT was checked) */
    const char *refused_region;     /* SES region whose answer refused the mail, NULL: none */
    const audit_unsubscribed *unsubscribed; /* v2; NULL: no store, or nobody unsubscribed */
    const audit_account *account;           /* v2; NULL: no source offers account state */
    audit_action action;
    int reply_code;          /* 0: no reply sent by us */
    const char *reply_xcode; /* "5.7.1" */
    const char *reply_text;
    const char *config_version;  /* configuration version or hash */
    const char *program_version; /* NULL: PACKAGE_VERSION */
    audit_outcome outcome;
} audit_msg;

/* how to build: recipient mode, its key, and the chain key (for "alg") */
typedef struct audit_record_opts {
    audit_rcpt_mode rcpt_mode;
    const audit_key *rcpt_key; /* required for AUDIT_RCPT_HASHED */
    const audit_key *chain_key;
} audit_record_opts;

/*
 * audit_record_build - the record as a compact JSON line (no newline) with
 * "prev" set to AUDIT_CHAIN_GENESIS; *prev_off_r is the offset of its
 * 64 hex digits so that the writer can patch in the real link.  Caller frees.
 */
char *audit_record_build(const audit_msg *m, const audit_record_opts *opts, size_t *len_r,
                         size_t *prev_off_r);
/* audit_record_json - the record as a jansson object (keys in schema order) */
json_t *audit_record_json(const audit_msg *m, const audit_record_opts *opts);
/*
 * audit_record_validate - check a parsed record against the key set of the
 * schema version it names (1 .. AUDIT_SCHEMA_VERSION); 0 or -1 with a reason
 */
int audit_record_validate(const json_t *rec, char *err, size_t errlen);
/* audit_record_time - "YYYY-MM-DDTHH:MM:SS.mmmZ" for wall ms into buf (>= 25 bytes) */
char *audit_record_time(uint64_t ms, char *buf, size_t len);
/* names of the enumerations as written in records ("" for the 0 value) */
const char *audit_scope_name(audit_scope s);
const char *audit_action_name(audit_action a);
const char *audit_outcome_name(audit_outcome o);
const char *audit_role_name(audit_role r);
const char *audit_answer_name(audit_answer a);
const char *audit_cache_name(audit_cache c);

#endif
