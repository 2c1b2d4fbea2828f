/*
 * align_provider.h - the large mailbox providers' published sender rules
 *
 * Since 2024 Gmail and Yahoo, and since May 2025 Microsoft Outlook.com,
 * refuse or junk mail from bulk senders that misses their authentication
 * rules.  align_provider_check() takes what the alignment prediction found
 * (align_provider_facts_of() turns an align_result into facts) and what
 * the message is (bulk or not, one-click unsubscribe or not:
 * align_provider_mail()), and says per provider whether the message meets
 * its rules and, if not, which rule it fails.  The rules are data (a table
 * in align_provider.c).  Pure: no DNS, no logging.
 *
 * "Bulk mail" (the one-click unsubscribe rule applies to it only): a
 * message that says it is list or bulk mail (Precedence: bulk, list or
 * junk; a List-Id or List-Unsubscribe field; SES subscription management
 * through X-SES-LIST-MANAGEMENT-OPTIONS) or that an unsubscribe rule of
 * this milter matched.  The other rules apply to every message: a
 * milter that is told to check a provider's rules sends as a bulk sender.
 */
#ifndef SM_ALIGN_PROVIDER_H
#define SM_ALIGN_PROVIDER_H

#include <stddef.h>

#include "auth/align.h"

typedef enum align_provider_id {
    ALIGN_PROVIDER_GMAIL = 0,
    ALIGN_PROVIDER_YAHOO,
    ALIGN_PROVIDER_OUTLOOK,
    ALIGN_PROVIDER_N
} align_provider_id;

#define ALIGN_PROVIDER_ALL ((1u << ALIGN_PROVIDER_N) - 1)

/* the rules, as bits of align_provider_verdict.failed */
typedef enum align_provider_rule_id {
    ALIGN_RULE_SPF_PASS = 0, /* SPF passes for the MAIL FROM domain */
    ALIGN_RULE_DKIM_PASS,    /* a DKIM signature verifies */
    ALIGN_RULE_DMARC_RECORD, /* a DMARC record, at least p=none, covers the From domain */
    ALIGN_RULE_ALIGNED,      /* SPF or DKIM aligned with the From domain */
    ALIGN_RULE_ONE_CLICK,    /* bulk mail: List-Unsubscribe + List-Unsubscribe-Post (RFC 8058) */
    ALIGN_RULE_N
} align_provider_rule_id;

typedef enum align_provider_result {
    ALIGN_PROVIDER_PASS = 0,
    ALIGN_PROVIDER_FAIL,    /* at least one rule fails */
    ALIGN_PROVIDER_UNKNOWN, /* none fails, one could not be predicted (temporary error) */
} align_provider_result;

/* facts: 1 yes, 0 no, -1 unknown (a temporary error) */
typedef struct align_provider_facts {
    int spf_pass;
    int dkim_pass;
    int dmarc_record;
    int aligned;
    int bulk;
    int one_click;
    const char *from_domain; /* for the advice text */
    const char *spf_domain;
} align_provider_facts;

typedef struct align_provider_verdict {
    align_provider_id id;
    align_provider_result result;
    unsigned failed;  /* bit per align_provider_rule_id that fails */
    unsigned unknown; /* bit per rule that could not be predicted */
} align_provider_verdict;

typedef struct align_provider_verdicts {
    size_t n;
    align_provider_verdict v[ALIGN_PROVIDER_N];
} align_provider_verdicts;

/* one header field of the message as it will leave (name, value) */
typedef struct align_provider_hdr {
    const char *name, *value;
} align_provider_hdr;

/* align_provider_parse - "gmail", "yahoo", "outlook" (case-insensitive) to the id; -1 */
int align_provider_parse(const char *name);
/* align_provider_name - the configuration name of a provider ("gmail") */
const char *align_provider_name(align_provider_id id);
/* align_provider_rule_name - the short name of a rule ("spf-pass", "one-click") */
const char *align_provider_rule_name(align_provider_rule_id r);
/* align_provider_result_name - "pass", "fail", "unknown" */
const char *align_provider_result_name(align_provider_result r);
/* align_provider_reply - what the provider's receivers answer to such mail, NULL: not published */
const char *align_provider_reply(align_provider_id id);

/* align_provider_facts_of - the authentication facts of a prediction (bulk/one_click: 0) */
void align_provider_facts_of(const align_result *r, align_provider_facts *f);
/*
 * align_provider_mail - bulk and one_click from the header fields the message will
 * leave with (hdrs[0..n)), whether an unsubscribe rule matched, and the recipient count
 * (SES subscription management adds one-click headers to single-recipient mail only)
 */
void align_provider_mail(const align_provider_hdr *hdrs, size_t n, int unsub_rule, size_t n_rcpts,
                         align_provider_facts *f);
/* align_provider_check - verdicts of the providers in mask (bits of align_provider_id) */
void align_provider_check(unsigned mask, const align_provider_facts *f,
                          align_provider_verdicts *out);
/* align_provider_summary - "gmail:pass,outlook:fail(spf-pass+dkim-pass)"; "-" when none */
char *align_provider_summary(const align_provider_verdicts *v, char *buf, size_t len);
/* align_provider_advice - one sentence on why v fails, for the log and the audit record */
char *align_provider_advice(const align_provider_verdict *v, const align_provider_facts *f,
                            char *buf, size_t len);

#endif
