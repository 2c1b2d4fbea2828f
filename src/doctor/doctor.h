/*
 * doctor.h - "ses-milter doctor": is a sending domain ready for Amazon SES?
 *
 * For each domain (or the domain of each address; --all: every identity the
 * configured sources list) the doctor asks the configured identity sources
 * (ABI 1.2 describe: the SES identity's verification state, its DKIM tokens,
 * its custom MAIL FROM) and the DNS (through the project's resolver, SPF and
 * DMARC code) and reports one check per line: pass, warning or failure, with
 * the exact record to publish for a failure.  Exit status: 0 every check
 * passed (warnings allowed), 1 a check failed, 2 the resolver or a source
 * could not answer (2 wins).
 *
 * Files: doctor.c (options, configuration, the run), doctor_ses.c (the
 * identity and its SES state), doctor_probe.c (the names DNS providers'
 * mistakes put a record at), doctor_dns.c (CNAME, MX and TXT answers with
 * their character-strings), doctor_checks.c (verification, DKIM, MAIL FROM),
 * doctor_dnschecks.c (SPF, DMARC, the misplaced-record probes),
 * doctor_out.c (the table and --json).
 */
#ifndef SM_DOCTOR_H
#define SM_DOCTOR_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <ses-milter/plugin.h>

#include "conf/conf.h"
#include "auth/sdkim.h"
#include "lib/dns.h"
#include "auth/spf.h"
#include "lib/util.h"

#define DOCTOR_EXIT_OK 0
#define DOCTOR_EXIT_FAIL 1
#define DOCTOR_EXIT_ERROR 2
#define DOCTOR_MAX_FIX 4

typedef enum doctor_status {
    DOCTOR_PASS = 0, /* ✓ */
    DOCTOR_WARN,     /* ! works, but deserves a look */
    DOCTOR_FAIL,     /* ✗ must be fixed */
    DOCTOR_ERROR,    /* ✗ could not be checked: resolver or source failure */
} doctor_status;

/* one line of the table */
typedef struct doctor_check {
    char id[32]; /* stable name, e.g. "dkim-cname-1" */
    doctor_status status;
    char *text;                /* what was found, in a sentence */
    char *fix[DOCTOR_MAX_FIX]; /* records to publish or remove, zone-file lines */
    size_t nfix;
} doctor_check;

/* the SES (or other source's) state of the identity that governs a domain */
typedef struct doctor_ses {
    int asked;                 /* a source was asked */
    int describe;              /* the answering source has ABI 1.2 describe() */
    sm_id_answer answer;       /* of the most specific identity that answered */
    char source[64];           /* instance name */
    char plugin[64];           /* "ses 0.1.0" */
    char identity[256];        /* the identity that answered ("" none) */
    sm_id_description d;       /* its description */
    int have_domain;           /* dom below is filled */
    char domain_identity[256]; /* the most specific domain identity that answered */
    sm_id_description dom;     /* its description (DKIM, MAIL FROM) */
    char error[1024];          /* a source that could not answer */
} doctor_ses;

/* the report of one target */
typedef struct doctor_report {
    char target[320]; /* as given */
    char domain[256]; /* normalised */
    doctor_ses ses;
    doctor_check *v;
    size_t n;
} doctor_report;

/* what the checks share */
typedef struct doctor_ctx {
    sm_conf *conf;
    dns_cache *dns;     /* borrowed from the configuration, or own_dns */
    spf_ctx *spf;       /* borrowed, or own_spf */
    sdkim_engine *dkim; /* borrowed, or own_dkim */
    dns_cache *own_dns;
    spf_ctx *own_spf;
    sdkim_engine *own_dkim;
    const char *dkim_key; /* --dkim-key FILE: BYODKIM key to compare with */
    long timeout_ms;      /* per target */
    uint64_t deadline_ms; /* of the target being checked */
} doctor_ctx;

/* one DNS record of an answer (doctor_dns.c) */
typedef struct doctor_rr {
    char target[256]; /* CNAME target or MX exchange, no trailing dot, case as served */
    unsigned pref;    /* MX preference */
    char *txt;        /* TXT: the character-strings concatenated (RFC 7208 3.3) */
    size_t txtlen;
    char *spaced;    /* TXT: the character-strings joined with one space */
    size_t nstrings; /* TXT: number of character-strings */
} doctor_rr;

/* the answer to one query */
typedef struct doctor_answer {
    dns_status status; /* DNS_OK: n > 0 records of the type asked */
    char cname[256];   /* the name asked is an alias of this ("" when not) */
    int beside_cname;  /* records of other types at the name beside its CNAME */
    doctor_rr *rr;
    size_t n;
} doctor_answer;

/* doctor_dns_ask - one uncached query of type (ns_t_txt, ns_t_cname, ns_t_mx); status */
dns_status doctor_dns_ask(doctor_ctx *ctx, const char *name, int type, doctor_answer *a);
/* doctor_dns_parse - a response (wire format) to a query of type for qname into a; status */
dns_status doctor_dns_parse(const unsigned char *msg, size_t len, const char *qname, int type,
                            doctor_answer *a);
/* doctor_answer_clear - free what an answer holds */
void doctor_answer_clear(doctor_answer *a);

/* a name a misplaced record may be at, and why it would be there (doctor_probe.c) */
typedef struct doctor_variant {
    char name[600];
    char why[700];
} doctor_variant;

/* a record the probe looks for (NULL: any record of the type) */
typedef int (*doctor_want_fn)(const doctor_rr *rr, const void *arg);

/* doctor_probe_variants - the names PREFIX.DOMAIN ends up at by mistake; their number */
size_t doctor_probe_variants(const char *prefix, const char *domain, const char *asked,
                             doctor_variant *v, size_t max);
/* doctor_probe_find - 1 and *found when a wanted record sits at one of those names */
int doctor_probe_find(doctor_ctx *ctx, const char *prefix, const char *domain, const char *asked,
                      int type, doctor_want_fn want, const void *arg, doctor_variant *found);

#define DOCTOR_VALUE_SAME 0     /* exactly the value wanted */
#define DOCTOR_VALUE_CASE 1     /* the value with its case changed */
#define DOCTOR_VALUE_APPENDED 2 /* the value with the domain appended */
#define DOCTOR_VALUE_OTHER 3
/* doctor_probe_value - how got (a DNS name, trailing dot ignored) differs from want */
int doctor_probe_value(const char *got, const char *want, const char *domain);

/* doctor_main - "ses-milter doctor ..." (argv[0] is "doctor"); the exit status */
int doctor_main(int argc, char **argv);

/* doctor_report_add - append a check; fix lines are added with doctor_check_fix */
doctor_check *doctor_report_add(doctor_report *r, const char *id, doctor_status st, const char *fmt,
                                ...) SM_PRINTF(4, 5);
/* doctor_check_fix - one record line to publish (or "remove: ...") */
void doctor_check_fix(doctor_check *c, const char *fmt, ...) SM_PRINTF(2, 3);
/* doctor_report_clear - free the checks */
void doctor_report_clear(doctor_report *r);
/* doctor_report_worst - the exit status the report asks for */
int doctor_report_exit(const doctor_report *r);

/* doctor_ses_resolve - ask the sources about target (address or domain) (doctor_ses.c) */
void doctor_ses_resolve(doctor_ctx *ctx, const char *target, const char *domain, doctor_ses *s);
/* doctor_ses_list - every identity the sources list (--all); names appended to *v */
int doctor_ses_list(doctor_ctx *ctx, char ***v, size_t *n, char *err, size_t errlen);

/* doctor_checks_ses - verification, DKIM and custom MAIL FROM checks (doctor_checks.c) */
void doctor_checks_ses(doctor_ctx *ctx, doctor_report *r);
/* doctor_checks_spf - the domain's SPF record (doctor_dnschecks.c) */
void doctor_checks_spf(doctor_ctx *ctx, doctor_report *r);
/* doctor_checks_dmarc - the DMARC record and what it means for mail through SES */
void doctor_checks_dmarc(doctor_ctx *ctx, doctor_report *r);

/* doctor_out_table - the readable table of one report */
void doctor_out_table(FILE *fp, const doctor_report *r);
/* doctor_out_json - every report as one JSON document */
void doctor_out_json(FILE *fp, const doctor_report *const *v, size_t n, int exit_status);
/* doctor_status_mark - "✓", "!", "✗" */
const char *doctor_status_mark(doctor_status s);
/* doctor_status_name - "pass", "warn", "fail", "error" */
const char *doctor_status_name(doctor_status s);

#endif
