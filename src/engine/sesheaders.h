/*
 * sesheaders.h - rules that add SES's X-SES-* headers (configuration sets,
 * message tags, tenants, sending-authorization ARNs)
 *
 * A rule matches by sender (the first From address, else the envelope
 * sender: "example.com" covers the domain and its subdomains,
 * "user@example.com" one address, local part case-sensitive as SES has it)
 * and/or a trigger header (present, or with one of header_values); the
 * first matching rule applies.  It adds X-SES-CONFIGURATION-SET,
 * X-SES-MESSAGE-TAGS, X-SES-TENANT, X-SES-SOURCE-ARN, X-SES-FROM-ARN and
 * X-SES-RETURN-PATH-ARN as configured; a header the message already has is
 * kept or replaced (existing = "keep" | "replace").  Every value is checked
 * when the configuration is loaded: names [A-Za-z0-9_-] (configuration set
 * and tenant up to 64 characters, tag names and values up to 256, at most
 * 50 tags, "name=value" pairs separated by commas), ARNs
 * "arn:PARTITION:ses:REGION:ACCOUNT:identity/NAME".
 *
 * Sending authorization: identity_source names the one identity source
 * (an SES instance with credentials and region able to see the owning
 * account) the gate asks about a sender the rule covers.  Tenants: with
 * check_tenant (default), the gate's deciding identity must be one of the
 * tenant's resources (the engine asks that source, sm_plugin.ask).
 *
 * No libmilter, no logging: sesheaders_decide() says what to add, remove
 * or keep; the engine applies it to the verdict before the unsubscribe
 * headers (added at the top, so both come before any DKIM signature a
 * later signer adds).
 */
#ifndef SM_SESHEADERS_H
#define SM_SESHEADERS_H

#include <stddef.h>
#include <stdio.h>
#include <libconfig.h>

#include "lib/cfg.h"

#define SESHEADERS_N_FIELDS 6
#define SESHEADERS_MAX_TAGS 50
#define SESHEADERS_TENANT_MAX 64 /* tenant (and configuration set) names: characters */

typedef enum sesheaders_existing { SESHEADERS_KEEP = 0, SESHEADERS_REPLACE } sesheaders_existing;

typedef struct sesheaders_rule {
    char *name;
    cfg_strlist senders;              /* domains (and subdomains) or exact addresses; empty: any */
    char *header;                     /* trigger header name, NULL: none */
    cfg_strlist header_values;        /* trigger values (case-insensitive); empty: any value */
    char *value[SESHEADERS_N_FIELDS]; /* per sesheaders_field_names[], NULL: not set */
    int existing;                     /* sesheaders_existing */
    char *identity_source; /* sending authorization: the only source the gate asks, NULL: all */
    int check_tenant;      /* with a tenant: the sender identity must be the tenant's */
} sesheaders_rule;

typedef struct sesheaders_conf {
    sesheaders_rule *rules;
    size_t n_rules;
} sesheaders_conf;

/* what one message gets */
typedef enum sesheaders_act {
    SESHEADERS_ADDED = 0,
    SESHEADERS_KEPT,     /* the message had it; the rule keeps it */
    SESHEADERS_REPLACED, /* the message had it; removed, the rule's value added */
} sesheaders_act;

typedef struct sesheaders_item {
    const char *field; /* header name */
    const char *value; /* the value added (the rule's), or the one kept (the message's) */
    sesheaders_act act;
    size_t n_removed; /* REPLACED: how many fields of that name the message had */
} sesheaders_item;

typedef struct sesheaders_result {
    const sesheaders_rule *rule; /* NULL: no rule matched */
    size_t rule_index;
    sesheaders_item items[SESHEADERS_N_FIELDS];
    size_t n_items;
} sesheaders_result;

/* a message header as the decision sees it */
typedef struct sesheaders_hdr {
    const char *name;
    const char *value;
} sesheaders_hdr;

/* sesheaders_field_names - the six header names, in the order they are added */
extern const char *const sesheaders_field_names[SESHEADERS_N_FIELDS];

/* sesheaders_tags_check - an X-SES-MESSAGE-TAGS value; 0, or -1 with why */
int sesheaders_tags_check(const char *tags, char *why, size_t whylen);
/* sesheaders_name_check - a configuration set or tenant name (max chars); 0 or -1 with why */
int sesheaders_name_check(const char *name, size_t max, char *why, size_t whylen);
/* sesheaders_arn_check - an SES identity ARN; 0 or -1 with why */
int sesheaders_arn_check(const char *arn, char *why, size_t whylen);
/* sesheaders_sender_match - whether pattern (domain or address) covers sender */
int sesheaders_sender_match(const char *pattern, const char *sender);

/* sesheaders_check_sources - every identity_source names one of the n sources */
int sesheaders_check_sources(const sesheaders_conf *c, const char *const *names, size_t n,
                             char *err, size_t errlen);
/* sesheaders_conf_parse - the "ses.rules" list (NULL: no rules); *out is the caller's */
int sesheaders_conf_parse(const config_setting_t *list, sesheaders_conf **out, char *err,
                          size_t errlen);
void sesheaders_conf_dump(FILE *fp, const sesheaders_conf *c);
/* sesheaders_conf_free - returns NULL */
sesheaders_conf *sesheaders_conf_free(sesheaders_conf *c);

/*
 * sesheaders_decide - the first rule matching sender (may be NULL) and the
 * message's headers; fills *res (pointers into the rule and hdrs)
 */
void sesheaders_decide(const sesheaders_conf *c, const char *sender, const sesheaders_hdr *hdrs,
                       size_t n_hdrs, sesheaders_result *res);
/* sesheaders_act_name - "added", "kept", "replaced" */
const char *sesheaders_act_name(sesheaders_act a);

#endif
