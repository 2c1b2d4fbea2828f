/*
 * align.h - DMARC alignment prediction: facts in, verdict and advice out
 *
 * Given what is known about a message before it leaves (the From domain,
 * DKIM signatures it already carries, the relay - Amazon SES with the
 * matched identity's attributes, or direct delivery - a DKIM signer
 * further downstream, and the SPF result for the domain the receiver will
 * check), align_check() predicts which DKIM domains will sign, which
 * domain SPF will be evaluated for, whether each aligns with the From
 * domain, what DMARC policy the receiver will find (through dmarc.c and
 * the DNS cache) and so whether DMARC passes.  It returns a decision
 * according to the "alignment" configuration and reasons in plain words.
 * No libmilter, no logging; the caller logs the verdict once.
 */
#ifndef SM_ALIGN_H
#define SM_ALIGN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <libconfig.h>

#include "ses-milter/plugin.h"
#include "lib/cfg.h"
#include "auth/dmarc.h"
#include "lib/dns.h"

typedef enum align_relay {
    ALIGN_RELAY_SES = 0, /* Amazon SES signs and chooses the MAIL FROM */
    ALIGN_RELAY_DIRECT,  /* our own MTA delivers to the receivers */
} align_relay;

/* SPF results (RFC 7208 section 2.6) for the domain the receiver checks */
typedef enum align_spf {
    ALIGN_SPF_NONE = 0,
    ALIGN_SPF_NEUTRAL,
    ALIGN_SPF_PASS,
    ALIGN_SPF_FAIL,
    ALIGN_SPF_SOFTFAIL,
    ALIGN_SPF_TEMPERROR,
    ALIGN_SPF_PERMERROR,
} align_spf;

/* what to do with mail predicted to fail DMARC */
typedef enum align_action {
    ALIGN_ACTION_MONITOR = 0, /* log only */
    ALIGN_ACTION_TAG,         /* add a header */
    ALIGN_ACTION_QUARANTINE,  /* hold in the MTA's hold queue */
    ALIGN_ACTION_ENFORCE,     /* refuse (5xx) */
} align_action;

typedef enum align_temperror_action {
    ALIGN_TEMPERROR_TEMPFAIL = 0, /* 4xx: try again later */
    ALIGN_TEMPERROR_ACCEPT,
} align_temperror_action;

typedef enum align_dmarc_result {
    ALIGN_DMARC_NONE = 0, /* no usable DMARC policy for the From domain */
    ALIGN_DMARC_PASS,
    ALIGN_DMARC_FAIL,
    ALIGN_DMARC_TEMPERROR,
} align_dmarc_result;

/* the decision for the milter */
typedef enum align_decision {
    ALIGN_ACCEPT = 0,
    ALIGN_TAG,        /* accept and add align_tag_header() */
    ALIGN_QUARANTINE, /* accept into quarantine (smfi_quarantine) */
    ALIGN_REJECT,     /* 5xx */
    ALIGN_TEMPFAIL,   /* 4xx */
} align_decision;

/* a From header field with mailboxes in several domains (RFC 7489 6.6.1) */
typedef enum align_authors {
    ALIGN_AUTHORS_STRICTEST = 0, /* predict DMARC for each domain; the strictest result decides */
    ALIGN_AUTHORS_REJECT,        /* refuse the message */
} align_authors;

/* alignment.dmarc.method: which specification(s) the prediction follows */
typedef enum align_method {
    ALIGN_METHOD_RFC7489 = 0, /* Public Suffix List, pct */
    ALIGN_METHOD_RFC9989,     /* DNS tree walk, psd, np, t */
    ALIGN_METHOD_BOTH,        /* both; alignment.dmarc.deciding chooses the verdict */
} align_method;

/* alignment.dmarc.deciding: with both methods, whose verdict decides */
typedef enum align_deciding {
    ALIGN_DECIDING_RFC7489 = 0,
    ALIGN_DECIDING_RFC9989,
    ALIGN_DECIDING_STRICTEST, /* the stricter of the two */
} align_deciding;

typedef struct align_override {
    char *domain; /* normalised; matches itself and its subdomains */
    int action;   /* align_action */
} align_override;

/* configuration section "alignment" */
typedef struct align_conf {
    int enabled;            /* default true */
    int relay;              /* align_relay, default "ses" */
    cfg_strlist egress_ips; /* addresses receivers will see (no loopback/unspecified) */
    int action;             /* align_action, default "monitor" */
    int temperror_action;   /* align_temperror_action, default "tempfail" */
    char *result_header;    /* "" = no result header */
    int multiple_authors;   /* align_authors, default "strictest" */
    unsigned providers;     /* provider rule sets to check (align_provider.h bits), default all */
    char *signer_domain;    /* downstream_signer.domain, NULL = none */
    char *signer_selector;  /* downstream_signer.selector */
    align_override *overrides;
    size_t n_overrides;
    dns_opts dns;       /* from alignment.dns { ... } */
    int dmarc_method;   /* align_method, alignment.dmarc.method, default "both" */
    int dmarc_deciding; /* align_deciding, alignment.dmarc.deciding, default "rfc7489" */
} align_conf;

#define ALIGN_TAG_HEADER_DEFAULT "X-SES-Milter-Alignment"

/* a DKIM signature the message already carries, as verified by the DKIM module */
typedef struct align_dkim_sig {
    const char *domain;   /* d= */
    const char *selector; /* s= */
    int pass;             /* 1 = verifies, 0 = fails or could not be checked */
} align_dkim_sig;

typedef struct align_facts {
    const char *from_domain;     /* RFC5322.From domain */
    const char *envelope_domain; /* envelope sender domain as submitted; "" or NULL for <> */
    const align_dkim_sig *sigs;  /* existing signatures */
    size_t nsigs;
    align_relay relay;
    const sm_id_attrs *ses;    /* SES: attributes of the matched identity; NULL = unknown */
    const char *ses_failed;    /* ses NULL because the source could not answer: why (else NULL) */
    const char *signer_domain; /* downstream signer, NULL = none */
    const char *signer_selector;
    const char *spf_domain; /* domain spf_result is about; NULL = align_spf_domain() */
    align_spf spf_result;
    uint64_t deadline_ms; /* absolute CLOCK_MONOTONIC ms; 0 = the DNS timeout */
} align_facts;

#define ALIGN_MAX_DKIM 8
#define ALIGN_MAX_REASONS 10
#define ALIGN_REASON_LEN 400

typedef enum align_dkim_origin {
    ALIGN_DKIM_EXISTING = 0, /* already on the message */
    ALIGN_DKIM_SES,          /* added by SES (amazonses.com or Easy DKIM) */
    ALIGN_DKIM_SIGNER,       /* added by the declared downstream signer */
} align_dkim_origin;

typedef struct align_dkim_pred {
    char domain[256];
    char selector[64];
    align_dkim_origin origin;
    int pass;    /* predicted to verify at the receiver */
    int aligned; /* pass and aligned with the From domain */
} align_dkim_pred;

/* the RFC 9989 Organizational Domain of one name, found by the tree walk */
typedef struct align_walked {
    char name[256];
    char org[256];    /* after a failure: the choice below it */
    char failed[256]; /* the walk could not finish: the name whose query failed, else "" */
    int tempfail;
} align_walked;

#define ALIGN_MAX_WALKED (ALIGN_MAX_DKIM + 3)

/* with alignment.dmarc.method = "both": the verdict of the method that did not decide */
typedef struct align_other {
    int evaluated;       /* both methods ran */
    dmarc_method method; /* the other one */
    align_dmarc_result result;
    dmarc_policy receiver_policy;
    align_decision decision;
    int differ; /* result, receiver policy or decision differ */
} align_other;

typedef struct align_result {
    dmarc_method method; /* the specification this prediction follows */
    char from_domain[256];
    size_t ndkim;
    align_dkim_pred dkim[ALIGN_MAX_DKIM];
    int dkim_aligned;
    char spf_domain[256]; /* "" when unknown (null sender) */
    align_spf spf_result;
    int spf_aligned;
    dmarc_lookup dmarc;  /* record found where, policy, modes */
    int dmarc_published; /* a usable DMARC record covers the From domain */
    align_dmarc_result dmarc_result;
    dmarc_policy receiver_policy;      /* applied by the receiver: UNSPEC unless DMARC fails */
    dmarc_policy receiver_policy_rest; /* to the messages outside pct (RFC 7489 6.6.4) */
    int pct;
    int ses_would_reject; /* SES refuses the message (MAIL FROM not verified, REJECT_MESSAGE) */
    int key_tempfail;     /* the downstream signer's key could not be looked up */
    int ses_tempfail;     /* the SES identity's settings could not be fetched (ses_failed) */
    align_action action;  /* configured action for this From domain */
    align_decision decision;
    size_t nreasons;
    char reasons[ALIGN_MAX_REASONS][ALIGN_REASON_LEN]; /* [0] is the summary */
    unsigned advise;   /* bit i: reasons[i] is advice to log whatever the decision (an SES
                        * refusal, an SPF that does not align) */
    int walk_tempfail; /* RFC 9989: an Organizational Domain could not be walked */
    size_t nwalked;
    align_walked walked[ALIGN_MAX_WALKED]; /* RFC 9989 org domains of the names compared */
    align_other other;
} align_result;

/* align_conf_parse - parse the "alignment" group (NULL: defaults) into *out; 0 or -1 */
int align_conf_parse(const config_setting_t *group, align_conf **out, char *err, size_t errlen);
/* align_conf_dump - print the effective settings ("ses-milter -n") */
void align_conf_dump(FILE *fp, const align_conf *conf);
/* align_conf_free - returns NULL */
align_conf *align_conf_free(align_conf *conf);
/* align_action_for - the action for a From domain: the most specific override, else default */
align_action align_action_for(const align_conf *conf, const char *from_domain);
/* align_tag_header - header name for ALIGN_TAG and the result header */
const char *align_tag_header(const align_conf *conf);

/* align_facts_init - zero facts and take relay and downstream signer from conf (may be NULL) */
void align_facts_init(align_facts *f, const align_conf *conf);
/*
 * align_spf_domain - the domain the receiver will evaluate SPF for: SES:
 * the custom MAIL FROM domain when its status is SUCCESS, else
 * "amazonses.com"; direct: the envelope sender domain ("" for <>).
 */
const char *align_spf_domain(const align_facts *f);
/*
 * align_check - predict alignment and DMARC and decide; conf NULL = defaults.
 * With enabled = false it only returns ALIGN_ACCEPT (no DNS).  c may be NULL
 * (then the result is temperror).  Returns r->decision.
 */
align_decision align_check(const align_conf *conf, dns_cache *c, const align_facts *f,
                           align_result *r);
/*
 * align_check_authors - align_check for a From with mailboxes in domains[0..n)
 * (f->from_domain is ignored).  One distinct domain: align_check.  Several:
 * "strictest" predicts each and keeps the strictest result (decision, then
 * DMARC result, then receiver policy), "reject" refuses (ALIGN_REJECT, the
 * first domain's prediction kept for the record).  Returns r->decision.
 */
align_decision align_check_authors(const align_conf *conf, dns_cache *c, const align_facts *f,
                                   const char *const *domains, size_t n, align_result *r);
/*
 * align_dmarc_compare - both policy discoveries for a domain (dmarc_bis_compare())
 * through the alignment DNS cache: for "ses-milter doctor"; returns out->differ
 */
int align_dmarc_compare(dns_cache *c, const char *domain, uint64_t deadline_ms, dmarc_compare *out);
const char *align_method_name(align_method m);
/* align_header_value - one-line summary for the result header (ASCII, no CR/LF) */
char *align_header_value(const align_result *r, char *buf, size_t len);
/* align_reasons_join - all reasons joined with "; " into buf */
char *align_reasons_join(const align_result *r, char *buf, size_t len);

const char *align_spf_name(align_spf s);
/* align_spf_parse - "pass", "softfail", ... (case-insensitive) to align_spf; -1 if unknown */
int align_spf_parse(const char *name);
const char *align_dmarc_result_name(align_dmarc_result d);
const char *align_decision_name(align_decision d);
const char *align_action_name(align_action a);

#endif
