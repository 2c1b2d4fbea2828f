/*
 * unsub.h - one-click unsubscribe: rules and the decision (RFC 2369, RFC 8058)
 *
 * The "unsubscribe" configuration section holds rules; the first rule that
 * matches a message decides which List-Unsubscribe / List-Unsubscribe-Post
 * headers ses-milter adds, before the downstream DKIM signer runs.  With no
 * rules nothing changes.  unsub_decide() is pure: facts about the message
 * in, headers to add and remove plus notes to log out.  It knows nothing
 * of libmilter and never logs.
 *
 * Synopsis (milter side):
 *     in mlfi_header: if (unsub_header_wanted(conf, name)) keep name/value
 *     at end of header/message: fill unsub_msg, unsub_decide(), then
 *       smfi_chgheader(name, index, NULL) for each res.remove[] (in order:
 *       highest index first), smfi_addheader() for each res.add[] (in
 *       order), log res.notes[], unsub_result_clear().
 */
#ifndef SM_UNSUB_H
#define SM_UNSUB_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <libconfig.h>

#include "lib/cfg.h"

typedef struct unsub_conf unsub_conf;

/* what to do when the message carries X-SES-LIST-MANAGEMENT-OPTIONS */
typedef enum unsub_ses_mode {
    UNSUB_SES_KEEP = 0, /* "keep-ses": add nothing, SES subscription management adds its own */
    UNSUB_SES_ADD,      /* "add-anyway": add ours; SES may still rewrite them */
    UNSUB_SES_REMOVE,   /* "remove-ses-header": remove the SES header, add ours */
} unsub_ses_mode;

/* one existing header of interest, as the milter saw it */
typedef struct unsub_hdr {
    const char *name;
    const char *value;
} unsub_hdr;

typedef struct unsub_msg {
    const char *env_sender;   /* MAIL FROM address without <>, "" for the null sender */
    const char *from_addr;    /* the From header's address (addr-spec), NULL if none */
    const char *const *rcpts; /* envelope recipients */
    size_t n_rcpts;
    const char *message_id; /* Message-ID header value (angle brackets optional), may be NULL */
    const unsub_hdr *hdrs;  /* every header for which unsub_header_wanted() was true, in order */
    size_t n_hdrs;
    int64_t now; /* issue time of tokens, seconds since the epoch */
} unsub_msg;

typedef struct unsub_add {
    char *name;
    char *value;
} unsub_add;

typedef struct unsub_remove {
    char *name;
    int index; /* 1-based among headers of that name, as smfi_chgheader() wants */
} unsub_remove;

typedef struct unsub_result {
    const char *rule; /* name of the matching rule (owned by the conf), NULL if none */
    char *list_id;    /* the message's list id when a rule matched (owned), else NULL */
    unsub_add *add;   /* List-Unsubscribe first, then List-Unsubscribe-Post */
    size_t n_add;
    unsub_remove *remove; /* highest index first within a name */
    size_t n_remove;
    char **notes; /* human-readable, no untrusted text */
    size_t n_notes;
} unsub_result;

/* unsub_conf_parse - parse the "unsubscribe" group (NULL: no rules); reads the key file */
int unsub_conf_parse(const config_setting_t *group, unsub_conf **out, char *err, size_t errlen);
/* unsub_conf_dump - print the effective settings for "ses-milter -n" */
void unsub_conf_dump(FILE *fp, const unsub_conf *c);
/* unsub_conf_free - release a configuration; returns NULL */
unsub_conf *unsub_conf_free(unsub_conf *c);
/* unsub_conf_n_rules - number of rules (0: the feature is off) */
size_t unsub_conf_n_rules(const unsub_conf *c);
/* unsub_conf_opendkim - the configured opendkim_conf path, or NULL */
const char *unsub_conf_opendkim(const unsub_conf *c);
/* unsub_conf_token_ttl - token_ttl in seconds (0 = tokens never expire) */
long unsub_conf_token_ttl(const unsub_conf *c);

/* what the milter does with mail of a list to a recipient in the store (store_action) */
typedef enum unsub_store_action {
    UNSUB_STORE_DROP = 0, /* remove that recipient (the message is discarded when none is left) */
    UNSUB_STORE_REJECT,   /* refuse the message (550 5.7.1) */
    UNSUB_STORE_TAG,      /* deliver, with store_tag_header added */
} unsub_store_action;

/* unsubscribe.store_unavailable: the store cannot answer (Redis down, file unreadable) */
typedef enum unsub_store_unavailable {
    UNSUB_UNAVAILABLE_TEMPFAIL = 0, /* defer it (451 4.3.0): retried, never sent unchecked */
    UNSUB_UNAVAILABLE_ACCEPT,       /* deliver it unchecked (logged once per outage, audited) */
} unsub_store_unavailable;

/* the settings of ses-milter-unsubscribe (endpoint_*) */
typedef struct unsub_endpoint {
    const char *listen; /* "ADDRESS:PORT" ("[v6]:PORT") */
    const char *tls_cert_file, *tls_key_file;
    size_t max_body;
    const char *user;
} unsub_endpoint;

/* unsub_conf_store - the milter's reader of the store (NULL when no store_file) */
struct unsub_store *unsub_conf_store(const unsub_conf *c);
/* unsub_conf_store_file - the store of unsubscribed recipients, NULL when none */
const char *unsub_conf_store_file(const unsub_conf *c);
/* unsub_conf_store_name - the store for log lines: its file, "redis", or NULL when none */
const char *unsub_conf_store_name(const unsub_conf *c);
/* unsub_conf_store_unavailable - what the milter does when the store cannot answer */
unsub_store_unavailable unsub_conf_store_unavailable(const unsub_conf *c);
/* unsub_conf_store_writer - a new writer of the store (ses-milter-unsubscribe); NULL + err */
struct unsub_store *unsub_conf_store_writer(const unsub_conf *c, char *err, size_t errlen);
/* unsub_conf_store_action - store_action, and store_tag_header / store_refresh_ms */
unsub_store_action unsub_conf_store_action(const unsub_conf *c, const char **tag_header_r,
                                           long *refresh_ms_r);
/* unsub_conf_key - the token key (NULL when no token_key_file) */
const unsigned char *unsub_conf_key(const unsub_conf *c, size_t *len_r);
/* unsub_conf_endpoint - the endpoint_* settings (strings owned by the conf) */
void unsub_conf_endpoint(const unsub_conf *c, unsub_endpoint *ep);
/* unsub_conf_list_known - a rule can make this list id (a sender-made list id: any) */
int unsub_conf_list_known(const unsub_conf *c, const char *list_id);

/* unsub_header_wanted - whether the milter must pass this header to unsub_decide() */
int unsub_header_wanted(const unsub_conf *c, const char *name);
/* unsub_decide - choose headers to add/remove for msg; 0, or -1 + err on bad arguments */
int unsub_decide(const unsub_conf *c, const unsub_msg *msg, unsub_result *res, char *err,
                 size_t errlen);
/* unsub_result_clear - free what unsub_decide() put into res and zero it */
void unsub_result_clear(unsub_result *res);

/* unsub_check_signer - warn (into warn, "" if none) when opendkim would not sign our headers */
void unsub_check_signer(const unsub_conf *c, const char *opendkim_conf_path, char *warn,
                        size_t len);

#endif
