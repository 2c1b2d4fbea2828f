/*
 * test_align.c - the alignment verdict engine and the "alignment" config section
 *
 * One table of scenarios: SES with an address identity only, with a
 * verified domain and Easy DKIM, with a custom MAIL FROM (SUCCESS,
 * PENDING + USE_DEFAULT_VALUE, FAILED + REJECT_MESSAGE), existing
 * signatures, strict vs relaxed modes, subdomains under sp=, no DMARC
 * record, DNS temporary failures, a downstream signer whose key is
 * published / missing / revoked, direct relay with SPF, and the configured
 * actions.  DNS answers come from an injected resolver over a small zone.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "auth/align.h"
#include "auth/align_provider.h"
#include "lib/domain_psl.h"
#include "lib/util.h"

static const struct zone_rr {
    const char *name;
    dns_status st;
    const char *txt;
} zone[] = {
    {"_dmarc.example.com", DNS_OK, "v=DMARC1; p=reject; sp=quarantine; rua=mailto:d@example.com"},
    {"_dmarc.strict.example", DNS_OK, "v=DMARC1; p=reject; adkim=s; aspf=s"},
    {"_dmarc.pnone.example", DNS_OK, "v=DMARC1; p=none"},
    {"_dmarc.temp.example", DNS_TEMPFAIL, NULL},
    {"sel._domainkey.example.com", DNS_OK, "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCB"},
    {"revoked._domainkey.example.com", DNS_OK, "v=DKIM1; k=rsa; p="},
    {"tkey._domainkey.example.com", DNS_TEMPFAIL, NULL},
};

static dns_status
zone_resolve(void *arg SM_UNUSED, const char *name, uint64_t deadline SM_UNUSED, dns_txt **txt_r,
             uint32_t *ttl_r)
{
    *ttl_r = 300;
    for (size_t i = 0; i < SM_ARRAY_LEN(zone); i++) {
        if (strcmp(zone[i].name, name) != 0)
            continue;
        if (zone[i].st == DNS_OK) {
            *txt_r = dns_txt_new();
            dns_txt_add(*txt_r, zone[i].txt, strlen(zone[i].txt));
        }
        return zone[i].st;
    }
    return DNS_NXDOMAIN;
}

/* SES identity shapes used by the scenarios */
enum {
    NO_SES = 0,
    ADDR_ONLY,
    DOM_DKIM,
    DOM_DKIM_MF,
    DOM_MF_PENDING,
    DOM_MF_REJECT,
    DOM_DKIM_PENDING,
    DOM_DKIM_OFF,
    DOM_UNKNOWN,
    PARENT_DKIM
};

static void
ses_attrs(int shape, const char *from, sm_id_attrs *a)
{
    memset(a, 0, sizeof(*a));
    a->size = sizeof(*a);
    a->identity_type = SM_IDTYPE_DOMAIN;
    a->dkim_signing_enabled = 1;
    util_strlcpy(a->identity, from, sizeof(a->identity));
    util_strlcpy(a->dkim_status, "SUCCESS", sizeof(a->dkim_status));
    switch (shape) {
    case ADDR_ONLY:
        a->identity_type = SM_IDTYPE_EMAIL_ADDRESS;
        snprintf(a->identity, sizeof(a->identity), "user@%s", from);
        a->dkim_signing_enabled = 0;
        a->dkim_status[0] = '\0';
        break;
    case DOM_DKIM_MF:
    case DOM_MF_PENDING:
    case DOM_MF_REJECT:
        snprintf(a->mail_from_domain, sizeof(a->mail_from_domain), "bounce.%s", from);
        util_strlcpy(a->mail_from_status,
                     shape == DOM_DKIM_MF      ? "SUCCESS"
                     : shape == DOM_MF_PENDING ? "PENDING"
                                               : "FAILED",
                     sizeof(a->mail_from_status));
        util_strlcpy(a->mail_from_behavior,
                     shape == DOM_MF_REJECT ? "REJECT_MESSAGE" : "USE_DEFAULT_VALUE",
                     sizeof(a->mail_from_behavior));
        if (shape != DOM_DKIM_MF)
            a->dkim_signing_enabled = 0;
        break;
    case DOM_DKIM_PENDING:
        util_strlcpy(a->dkim_status, "PENDING", sizeof(a->dkim_status));
        break;
    case DOM_DKIM_OFF:
        a->dkim_signing_enabled = 0;
        break;
    case DOM_UNKNOWN:
        a->dkim_signing_enabled = SM_TRI_UNKNOWN;
        a->dkim_status[0] = '\0';
        break;
    case PARENT_DKIM: {
        const char *dot = strchr(from, '.');
        util_strlcpy(a->identity, dot ? dot + 1 : from, sizeof(a->identity));
        break;
    }
    }
}

static const align_dkim_sig sig_ok[] = {{"example.com", "s1", 1}};
static const align_dkim_sig sig_bad[] = {{"example.com", "s1", 0}};
static const align_dkim_sig sig_other[] = {{"esp.example.net", "s1", 1}};

typedef struct scenario {
    const char *name;
    const char *from;
    align_relay relay;
    int ses;
    const align_dkim_sig *sigs;
    const char *signer_domain, *signer_selector;
    const char *envelope;
    align_spf spf;
    align_action action;
    int temperror_accept;
    /* expectations */
    align_dmarc_result dmarc;
    int dkim_aligned, spf_aligned;
    const char *spf_domain;
    dmarc_policy receiver_policy;
    int ses_reject;
    align_decision decision;
    const char *reason; /* substring of some reason */
} scenario;

#define SES ALIGN_RELAY_SES
#define DIRECT ALIGN_RELAY_DIRECT
#define PASS ALIGN_DMARC_PASS
#define FAIL ALIGN_DMARC_FAIL
#define NONE ALIGN_DMARC_NONE
#define TEMP ALIGN_DMARC_TEMPERROR
#define MON ALIGN_ACTION_MONITOR
#define ENF ALIGN_ACTION_ENFORCE

static const scenario scenarios[] = {
    {"ses_address_identity_only_fails", "example.com", SES, ADDR_ONLY, NULL, NULL, NULL, NULL,
     ALIGN_SPF_NONE, ENF, 0, FAIL, 0, 0, "amazonses.com", DMARC_POLICY_REJECT, 0, ALIGN_REJECT,
     "SES signs with d=amazonses.com because only the address identity user@example.com is "
     "verified; verify the domain example.com and enable Easy DKIM"},
    {"ses_domain_easy_dkim_passes_via_dkim", "example.com", SES, DOM_DKIM, NULL, NULL, NULL, NULL,
     ALIGN_SPF_NONE, ENF, 0, PASS, 1, 0, "amazonses.com", DMARC_POLICY_UNSPEC, 0, ALIGN_ACCEPT,
     "via aligned DKIM"},
    {"ses_custom_mail_from_aligns_spf_too", "example.com", SES, DOM_DKIM_MF, NULL, NULL, NULL, NULL,
     ALIGN_SPF_PASS, ENF, 0, PASS, 1, 1, "bounce.example.com", DMARC_POLICY_UNSPEC, 0, ALIGN_ACCEPT,
     "aligned DKIM and aligned SPF"},
    {"ses_custom_mail_from_spf_softfail_is_advised", "example.com", SES, DOM_DKIM_MF, NULL, NULL,
     NULL, NULL, ALIGN_SPF_SOFTFAIL, ENF, 0, PASS, 1, 0, "bounce.example.com", DMARC_POLICY_UNSPEC,
     0, ALIGN_ACCEPT, "include:amazonses.com"},
    {"ses_mail_from_pending_falls_back_to_amazonses", "example.com", SES, DOM_MF_PENDING, NULL,
     NULL, NULL, NULL, ALIGN_SPF_NONE, MON, 0, FAIL, 0, 0, "amazonses.com", DMARC_POLICY_REJECT, 0,
     ALIGN_ACCEPT, "bounce.example.com has status PENDING"},
    {"ses_mail_from_reject_message_is_refused_by_ses", "example.com", SES, DOM_MF_REJECT, NULL,
     NULL, NULL, NULL, ALIGN_SPF_NONE, ENF, 0, FAIL, 0, 0, "amazonses.com", DMARC_POLICY_REJECT, 1,
     ALIGN_REJECT, "SES would refuse the message"},
    {"ses_easy_dkim_pending_does_not_sign", "example.com", SES, DOM_DKIM_PENDING, NULL, NULL, NULL,
     NULL, ALIGN_SPF_NONE, ALIGN_ACTION_QUARANTINE, 0, FAIL, 0, 0, "amazonses.com",
     DMARC_POLICY_REJECT, 0, ALIGN_QUARANTINE, "has status PENDING"},
    {"ses_dkim_signing_disabled_is_advised", "example.com", SES, DOM_DKIM_OFF, NULL, NULL, NULL,
     NULL, ALIGN_SPF_NONE, ALIGN_ACTION_TAG, 0, FAIL, 0, 0, "amazonses.com", DMARC_POLICY_REJECT, 0,
     ALIGN_TAG, "DKIM signing is disabled"},
    {"ses_unknown_attributes_assume_amazonses_only", "example.com", SES, DOM_UNKNOWN, NULL, NULL,
     NULL, NULL, ALIGN_SPF_NONE, MON, 0, FAIL, 0, 0, "amazonses.com", DMARC_POLICY_REJECT, 0,
     ALIGN_ACCEPT, "are unknown"},
    {"ses_no_attributes_assume_amazonses_only", "example.com", SES, NO_SES, NULL, NULL, NULL, NULL,
     ALIGN_SPF_NONE, MON, 0, FAIL, 0, 0, "amazonses.com", DMARC_POLICY_REJECT, 0, ALIGN_ACCEPT,
     "attributes are unknown"},
    {"existing_aligned_signature_passes", "example.com", SES, ADDR_ONLY, sig_ok, NULL, NULL, NULL,
     ALIGN_SPF_NONE, ENF, 0, PASS, 1, 0, "amazonses.com", DMARC_POLICY_UNSPEC, 0, ALIGN_ACCEPT,
     "via aligned DKIM"},
    {"existing_failing_signature_does_not_count", "example.com", SES, ADDR_ONLY, sig_bad, NULL,
     NULL, NULL, ALIGN_SPF_NONE, ENF, 0, FAIL, 0, 0, "amazonses.com", DMARC_POLICY_REJECT, 0,
     ALIGN_REJECT, "DMARC would fail for example.com"},
    {"existing_unaligned_signature_is_explained", "example.com", SES, ADDR_ONLY, sig_other, NULL,
     NULL, NULL, ALIGN_SPF_NONE, MON, 0, FAIL, 0, 0, "amazonses.com", DMARC_POLICY_REJECT, 0,
     ALIGN_ACCEPT, "d=esp.example.net does not align"},
    {"relaxed_parent_domain_identity_aligns_subdomain", "news.example.com", SES, PARENT_DKIM, NULL,
     NULL, NULL, NULL, ALIGN_SPF_NONE, ENF, 0, PASS, 1, 0, "amazonses.com", DMARC_POLICY_UNSPEC, 0,
     ALIGN_ACCEPT, "policy quarantine at _dmarc.example.com"},
    {"strict_mode_parent_domain_identity_fails", "mail.strict.example", SES, PARENT_DKIM, NULL,
     NULL, NULL, NULL, ALIGN_SPF_NONE, ENF, 0, FAIL, 0, 0, "amazonses.com", DMARC_POLICY_REJECT, 0,
     ALIGN_REJECT, "does not strictly align"},
    {"strict_mode_exact_domain_passes", "strict.example", SES, DOM_DKIM, NULL, NULL, NULL, NULL,
     ALIGN_SPF_NONE, ENF, 0, PASS, 1, 0, "amazonses.com", DMARC_POLICY_UNSPEC, 0, ALIGN_ACCEPT,
     "DMARC would pass"},
    {"subdomain_from_gets_sp_policy", "news.example.com", SES, ADDR_ONLY, NULL, NULL, NULL, NULL,
     ALIGN_SPF_NONE, ENF, 0, FAIL, 0, 0, "amazonses.com", DMARC_POLICY_QUARANTINE, 0, ALIGN_REJECT,
     "would apply sp=quarantine, from _dmarc.example.com"},
    {"p_none_failure_is_reported_as_monitoring_only", "pnone.example", SES, ADDR_ONLY, NULL, NULL,
     NULL, NULL, ALIGN_SPF_NONE, MON, 0, FAIL, 0, 0, "amazonses.com", DMARC_POLICY_NONE, 0,
     ALIGN_ACCEPT, "only report the failure"},
    {"no_dmarc_record_advises_publishing_one", "nodmarc.example", SES, ADDR_ONLY, NULL, NULL, NULL,
     NULL, ALIGN_SPF_NONE, ENF, 0, NONE, 0, 0, "amazonses.com", DMARC_POLICY_UNSPEC, 0,
     ALIGN_ACCEPT, "publishes no DMARC policy"},
    {"dns_tempfail_is_temperror_and_tempfails_under_enforce", "temp.example", SES, ADDR_ONLY, NULL,
     NULL, NULL, NULL, ALIGN_SPF_NONE, ENF, 0, TEMP, 0, 0, "amazonses.com", DMARC_POLICY_UNSPEC, 0,
     ALIGN_TEMPFAIL, "temporary DNS failure"},
    {"dns_tempfail_accepted_when_configured", "temp.example", SES, ADDR_ONLY, NULL, NULL, NULL,
     NULL, ALIGN_SPF_NONE, ENF, 1, TEMP, 0, 0, "amazonses.com", DMARC_POLICY_UNSPEC, 0,
     ALIGN_ACCEPT, "cannot be predicted"},
    {"dns_tempfail_under_monitor_accepts", "temp.example", SES, ADDR_ONLY, NULL, NULL, NULL, NULL,
     ALIGN_SPF_NONE, MON, 0, TEMP, 0, 0, "amazonses.com", DMARC_POLICY_UNSPEC, 0, ALIGN_ACCEPT,
     "cannot be predicted"},
    {"downstream_signer_with_published_key_aligns", "example.com", DIRECT, NO_SES, NULL,
     "example.com", "sel", "example.net", ALIGN_SPF_PASS, ENF, 0, PASS, 1, 0, "example.net",
     DMARC_POLICY_UNSPEC, 0, ALIGN_ACCEPT, "via aligned DKIM"},
    {"downstream_signer_without_key_fails", "example.com", DIRECT, NO_SES, NULL, "example.com",
     "missing", "example.net", ALIGN_SPF_PASS, ENF, 0, FAIL, 0, 0, "example.net",
     DMARC_POLICY_REJECT, 0, ALIGN_REJECT, "no DKIM key is published at missing._domainkey"},
    {"downstream_signer_revoked_key_fails", "example.com", DIRECT, NO_SES, NULL, "example.com",
     "revoked", "example.net", ALIGN_SPF_PASS, ENF, 0, FAIL, 0, 0, "example.net",
     DMARC_POLICY_REJECT, 0, ALIGN_REJECT, "revoked"},
    {"downstream_signer_key_tempfail_is_temperror", "example.com", DIRECT, NO_SES, NULL,
     "example.com", "tkey", "example.net", ALIGN_SPF_PASS, ENF, 0, TEMP, 0, 0, "example.net",
     DMARC_POLICY_UNSPEC, 0, ALIGN_TEMPFAIL, "could not be looked up"},
    {"direct_relay_spf_pass_aligns", "example.com", DIRECT, NO_SES, NULL, NULL, NULL,
     "bounces.example.com", ALIGN_SPF_PASS, ENF, 0, PASS, 0, 1, "bounces.example.com",
     DMARC_POLICY_UNSPEC, 0, ALIGN_ACCEPT, "via aligned SPF"},
    {"direct_relay_spf_softfail_does_not_count", "example.com", DIRECT, NO_SES, NULL, NULL, NULL,
     "example.com", ALIGN_SPF_SOFTFAIL, ENF, 0, FAIL, 0, 0, "example.com", DMARC_POLICY_REJECT, 0,
     ALIGN_REJECT, "SPF for example.com would be softfail"},
    {"direct_relay_strict_spf_subdomain_fails", "strict.example", DIRECT, NO_SES, NULL, NULL, NULL,
     "bounce.strict.example", ALIGN_SPF_PASS, ENF, 0, FAIL, 0, 0, "bounce.strict.example",
     DMARC_POLICY_REJECT, 0, ALIGN_REJECT, "aspf=s requires the envelope sender domain"},
    {"direct_relay_foreign_envelope_domain_is_explained", "example.com", DIRECT, NO_SES, NULL, NULL,
     NULL, "esp.example.net", ALIGN_SPF_PASS, ALIGN_ACTION_TAG, 0, FAIL, 0, 0, "esp.example.net",
     DMARC_POLICY_REJECT, 0, ALIGN_TAG, "use an envelope sender address in"},
    {"invalid_from_domain_is_none", "bad..example", SES, ADDR_ONLY, NULL, NULL, NULL, NULL,
     ALIGN_SPF_NONE, ENF, 0, NONE, 0, 0, "amazonses.com", DMARC_POLICY_UNSPEC, 0, ALIGN_ACCEPT,
     "is not a domain name"},
};

static int
has_reason(const align_result *r, const char *needle)
{
    for (size_t i = 0; i < r->nreasons; i++)
        if (strstr(r->reasons[i], needle) != NULL)
            return 1;
    return 0;
}

static void
test_align_scenarios_table(void **state SM_UNUSED)
{
    dns_cache *c = dns_cache_new(NULL);
    size_t ok = 0;

    dns_cache_set_resolver(c, zone_resolve, NULL);
    for (size_t i = 0; i < SM_ARRAY_LEN(scenarios); i++) {
        const scenario *s = &scenarios[i];
        align_conf conf = {0};
        align_facts f;
        sm_id_attrs attrs;
        align_result *r = xcalloc(1, sizeof(*r));
        char why[4096], hdr[512];
        int good;

        conf.enabled = 1;
        conf.relay = (int)s->relay;
        conf.action = (int)s->action;
        conf.temperror_action =
            s->temperror_accept ? ALIGN_TEMPERROR_ACCEPT : ALIGN_TEMPERROR_TEMPFAIL;
        align_facts_init(&f, &conf);
        f.from_domain = s->from;
        f.envelope_domain = s->envelope;
        if (s->relay == SES && s->ses != NO_SES) {
            ses_attrs(s->ses, s->from, &attrs);
            f.ses = &attrs;
        }
        f.sigs = s->sigs;
        f.nsigs = s->sigs ? 1 : 0;
        f.signer_domain = s->signer_domain;
        f.signer_selector = s->signer_selector;
        f.spf_result = s->spf;
        align_check(&conf, c, &f, r);
        good = r->dmarc_result == s->dmarc && r->dkim_aligned == s->dkim_aligned &&
               r->spf_aligned == s->spf_aligned && strcmp(r->spf_domain, s->spf_domain) == 0 &&
               r->receiver_policy == s->receiver_policy && r->ses_would_reject == s->ses_reject &&
               r->decision == s->decision && has_reason(r, s->reason) &&
               strcmp(align_spf_domain(&f), s->spf_domain) == 0;
        align_reasons_join(r, why, sizeof(why));
        align_header_value(r, hdr, sizeof(hdr));
        printf("%s %s\n    %s\n    %s\n", good ? "ok  " : "FAIL", s->name, hdr, why);
        if (!good)
            printf("    got dmarc=%s dkim=%d spf=%d(%s) policy=%s ses_reject=%d decision=%s\n",
                   align_dmarc_result_name(r->dmarc_result), r->dkim_aligned, r->spf_aligned,
                   r->spf_domain, dmarc_policy_name(r->receiver_policy), r->ses_would_reject,
                   align_decision_name(r->decision));
        ok += (size_t)good;
        free(r);
    }
    printf("align scenarios: %zu/%zu\n", ok, SM_ARRAY_LEN(scenarios));
    dns_cache_free(c);
    assert_int_equal(ok, SM_ARRAY_LEN(scenarios));
}

/*
 * pct (RFC 7489 6.6.4): a message outside pct gets the next lower policy.
 * The predicted disposition: pct=100 the policy, pct=0 the next lower one,
 * in between both, the stricter as receiver_policy (a receiver may apply it).
 */
static const char *pct_record; /* what _dmarc.pct.example answers */

static dns_status
pct_resolve(void *arg SM_UNUSED, const char *name, uint64_t deadline SM_UNUSED, dns_txt **txt_r,
            uint32_t *ttl_r)
{
    *ttl_r = 0;
    if (strcmp(name, "_dmarc.pct.example") != 0)
        return DNS_NXDOMAIN;
    *txt_r = dns_txt_new();
    dns_txt_add(*txt_r, pct_record, strlen(pct_record));
    return DNS_OK;
}

static void
test_align_pct_sets_the_predicted_disposition(void **state SM_UNUSED)
{
    static const struct {
        const char *record, *from;
        dmarc_policy policy, rest; /* receiver_policy, receiver_policy_rest */
        const char *text;          /* in the summary */
    } rows[] = {
        {"v=DMARC1; p=reject", "pct.example", DMARC_POLICY_REJECT, DMARC_POLICY_REJECT,
         "the receiver would apply p=reject, from _dmarc.pct.example"},
        {"v=DMARC1; p=reject; pct=100", "pct.example", DMARC_POLICY_REJECT, DMARC_POLICY_REJECT,
         "would apply p=reject, from"},
        {"v=DMARC1; p=reject; pct=0", "pct.example", DMARC_POLICY_QUARANTINE,
         DMARC_POLICY_QUARANTINE, "would apply quarantine (p=reject with pct=0: the next lower"},
        {"v=DMARC1; p=reject; pct=50", "pct.example", DMARC_POLICY_REJECT, DMARC_POLICY_QUARANTINE,
         "would apply reject for 50% of messages, quarantine otherwise (p=reject; pct=50)"},
        {"v=DMARC1; p=reject; pct=1", "pct.example", DMARC_POLICY_REJECT, DMARC_POLICY_QUARANTINE,
         "reject for 1% of messages, quarantine otherwise"},
        {"v=DMARC1; p=reject; pct=99", "pct.example", DMARC_POLICY_REJECT, DMARC_POLICY_QUARANTINE,
         "reject for 99% of messages, quarantine otherwise"},
        {"v=DMARC1; p=quarantine; pct=0", "pct.example", DMARC_POLICY_NONE, DMARC_POLICY_NONE,
         "would apply none (p=quarantine with pct=0: the next lower"},
        {"v=DMARC1; p=quarantine; pct=25", "pct.example", DMARC_POLICY_QUARANTINE,
         DMARC_POLICY_NONE,
         "quarantine for 25% of messages, none otherwise (p=quarantine; pct=25)"},
        {"v=DMARC1; p=none; pct=0", "pct.example", DMARC_POLICY_NONE, DMARC_POLICY_NONE,
         "would apply p=none, from"},
        {"v=DMARC1; p=none; pct=50", "pct.example", DMARC_POLICY_NONE, DMARC_POLICY_NONE,
         "would apply p=none, from"},
        {"v=DMARC1; p=reject; sp=quarantine; pct=0", "sub.pct.example", DMARC_POLICY_NONE,
         DMARC_POLICY_NONE, "would apply none (sp=quarantine with pct=0: the next lower"},
        {"v=DMARC1; p=reject; sp=quarantine; pct=0", "pct.example", DMARC_POLICY_QUARANTINE,
         DMARC_POLICY_QUARANTINE, "would apply quarantine (p=reject with pct=0"},
        {"v=DMARC1; p=reject; sp=quarantine", "sub.pct.example", DMARC_POLICY_QUARANTINE,
         DMARC_POLICY_QUARANTINE, "would apply sp=quarantine, from _dmarc.pct.example"},
        {"v=DMARC1; p=reject; sp=none; pct=50", "sub.pct.example", DMARC_POLICY_NONE,
         DMARC_POLICY_NONE, "would apply sp=none, from"},
        {"v=DMARC1; p=quarantine; sp=reject; pct=10", "sub.pct.example", DMARC_POLICY_REJECT,
         DMARC_POLICY_QUARANTINE,
         "reject for 10% of messages, quarantine otherwise (sp=reject; pct=10)"},
        {"v=DMARC1; p=quarantine; sp=reject; pct=10", "pct.example", DMARC_POLICY_QUARANTINE,
         DMARC_POLICY_NONE,
         "quarantine for 10% of messages, none otherwise (p=quarantine; pct=10)"},
    };
    int failed = 0;

    for (size_t i = 0; i < SM_ARRAY_LEN(rows); i++) {
        dns_cache *c = dns_cache_new(NULL);
        align_result *r = xcalloc(1, sizeof(*r));
        align_conf conf = {0};
        align_facts f;

        dns_cache_set_resolver(c, pct_resolve, NULL);
        pct_record = rows[i].record;
        conf.enabled = 1;
        conf.relay = ALIGN_RELAY_DIRECT;
        conf.action = ALIGN_ACTION_ENFORCE;
        align_facts_init(&f, &conf);
        f.from_domain = rows[i].from;
        f.envelope_domain = "other.example";
        f.spf_result = ALIGN_SPF_PASS;
        align_check(&conf, c, &f, r);
        if (r->dmarc_result != ALIGN_DMARC_FAIL || r->receiver_policy != rows[i].policy ||
            r->receiver_policy_rest != rows[i].rest ||
            strstr(r->reasons[0], rows[i].text) == NULL) {
            print_error("\"%s\" for %s: dmarc=%s policy=%s rest=%s\n    summary: %s\n    want: "
                        "%s/%s \"%s\"\n",
                        rows[i].record, rows[i].from, align_dmarc_result_name(r->dmarc_result),
                        dmarc_policy_name(r->receiver_policy),
                        dmarc_policy_name(r->receiver_policy_rest), r->reasons[0],
                        dmarc_policy_name(rows[i].policy), dmarc_policy_name(rows[i].rest),
                        rows[i].text);
            failed++;
        }
        /* enforce: a failure is refused whatever the disposition (the stricter one decides) */
        if (r->decision != ALIGN_REJECT) {
            print_error("\"%s\": decision %s under enforce\n", rows[i].record,
                        align_decision_name(r->decision));
            failed++;
        }
        free(r);
        dns_cache_free(c);
    }
    assert_int_equal(failed, 0);
}

/* several author domains: the strictest prediction decides, or the message is refused */
static void
test_align_check_authors_strictest_or_reject(void **state SM_UNUSED)
{
    static const struct {
        const char *domains[3];
        int reject; /* alignment.multiple_author_domains = "reject" */
        align_decision decision;
        align_dmarc_result dmarc;
        const char *from_domain, *reason;
    } rows[] = {
        {{"example.com", NULL}, 0, ALIGN_ACCEPT, ALIGN_DMARC_PASS, "example.com", "would pass"},
        {{"example.com", "EXAMPLE.COM", NULL},
         1,
         ALIGN_ACCEPT,
         ALIGN_DMARC_PASS,
         "example.com",
         "would pass"},
        {{"example.com", "pnone.example", NULL},
         0,
         ALIGN_REJECT,
         ALIGN_DMARC_FAIL,
         "pnone.example",
         "mailboxes in 2 domains (example.com, pnone.example): DMARC was predicted for each"},
        {{"pnone.example", "example.com", NULL},
         0,
         ALIGN_REJECT,
         ALIGN_DMARC_FAIL,
         "pnone.example",
         "the strictest result, for pnone.example, decides"},
        {{"example.com", "nodmarc.example", "pnone.example"},
         0,
         ALIGN_REJECT,
         ALIGN_DMARC_FAIL,
         "pnone.example",
         "mailboxes in 3 domains"},
        {{"example.com", "nodmarc.example", NULL},
         0,
         ALIGN_ACCEPT,
         ALIGN_DMARC_NONE,
         "nodmarc.example",
         "mailboxes in 2 domains"},
        {{"example.com", "news.example.com", NULL},
         1,
         ALIGN_REJECT,
         ALIGN_DMARC_PASS,
         "example.com",
         "names mailboxes in several domains (example.com, news.example.com)"},
    };
    dns_cache *c = dns_cache_new(NULL);
    int failed = 0;

    dns_cache_set_resolver(c, zone_resolve, NULL);
    for (size_t i = 0; i < SM_ARRAY_LEN(rows); i++) {
        align_result *r = xcalloc(1, sizeof(*r));
        align_conf conf = {0};
        align_facts f;
        size_t n = 0;

        while (n < 3 && rows[i].domains[n] != NULL)
            n++;
        conf.enabled = 1;
        conf.relay = ALIGN_RELAY_DIRECT;
        conf.action = ALIGN_ACTION_ENFORCE;
        conf.multiple_authors = rows[i].reject ? ALIGN_AUTHORS_REJECT : ALIGN_AUTHORS_STRICTEST;
        align_facts_init(&f, &conf);
        f.envelope_domain = "example.com";
        f.spf_result = ALIGN_SPF_PASS;
        align_check_authors(&conf, c, &f, rows[i].domains, n, r);
        if (r->decision != rows[i].decision || r->dmarc_result != rows[i].dmarc ||
            strcmp(r->from_domain, rows[i].from_domain) != 0 || !has_reason(r, rows[i].reason)) {
            print_error("row %zu: decision=%s dmarc=%s from=%s summary: %s\n", i,
                        align_decision_name(r->decision), align_dmarc_result_name(r->dmarc_result),
                        r->from_domain, r->reasons[0]);
            failed++;
        }
        free(r);
    }
    dns_cache_free(c);
    assert_int_equal(failed, 0);
}

static void
test_align_disabled_accepts_without_dns(void **state SM_UNUSED)
{
    align_result *r = xcalloc(1, sizeof(*r));
    align_conf conf = {0};
    align_facts f;

    conf.enabled = 0;
    conf.action = ALIGN_ACTION_ENFORCE;
    align_facts_init(&f, &conf);
    f.from_domain = "temp.example";
    assert_int_equal(align_check(&conf, NULL, &f, r), ALIGN_ACCEPT);
    assert_int_equal(r->dmarc_result, ALIGN_DMARC_NONE);
    assert_string_equal(r->reasons[0], "alignment checks are disabled");
    free(r);
}

static void
test_align_many_existing_signatures_keep_room_for_ses(void **state SM_UNUSED)
{
    static const align_dkim_sig many[] = {
        {"a.example.net", "s", 1}, {"b.example.net", "s", 1}, {"c.example.net", "s", 1},
        {"d.example.net", "s", 1}, {"e.example.net", "s", 1}, {"f.example.net", "s", 1},
        {"g.example.net", "s", 1}, {"h.example.net", "s", 1}, {"i.example.net", "s", 1},
    };
    dns_cache *c = dns_cache_new(NULL);
    align_result *r = xcalloc(1, sizeof(*r));
    align_facts f;
    sm_id_attrs a;

    dns_cache_set_resolver(c, zone_resolve, NULL);
    align_facts_init(&f, NULL);
    f.from_domain = "example.com";
    f.sigs = many;
    f.nsigs = SM_ARRAY_LEN(many);
    ses_attrs(DOM_DKIM, "example.com", &a);
    f.ses = &a;
    align_check(NULL, c, &f, r);
    assert_int_equal(r->dmarc_result, ALIGN_DMARC_PASS); /* Easy DKIM still predicted */
    assert_true(r->ndkim <= ALIGN_MAX_DKIM);
    free(r);
    dns_cache_free(c);
}

static void
test_align_spf_domain_table(void **state SM_UNUSED)
{
    static const struct {
        align_relay relay;
        int ses;
        const char *envelope, *want;
    } cases[] = {
        {SES, DOM_DKIM_MF, "x.example", "bounce.example.com"},
        {SES, DOM_MF_PENDING, "x.example", "amazonses.com"},
        {SES, DOM_MF_REJECT, NULL, "amazonses.com"},
        {SES, NO_SES, NULL, "amazonses.com"},
        {DIRECT, NO_SES, "bounces.example.org", "bounces.example.org"},
        {DIRECT, NO_SES, "user@example.org", "example.org"},
        {DIRECT, NO_SES, NULL, ""},
    };

    for (size_t i = 0; i < SM_ARRAY_LEN(cases); i++) {
        align_facts f;
        sm_id_attrs a;

        align_facts_init(&f, NULL);
        f.relay = cases[i].relay;
        f.envelope_domain = cases[i].envelope;
        if (cases[i].ses != NO_SES) {
            ses_attrs(cases[i].ses, "example.com", &a);
            f.ses = &a;
        }
        if (strcmp(align_spf_domain(&f), cases[i].want) != 0)
            fail_msg("case %zu: %s, want %s", i, align_spf_domain(&f), cases[i].want);
    }
}

/*
 * SES relay, the matched identity's DKIM / MAIL FROM settings unknown: when the
 * source could not answer, DMARC is a temperror (temperror_action decides), never
 * a predicted failure; when nothing failed, unknown settings still predict a failure.
 */
static void
test_align_ses_settings_unavailable_is_temperror(void **state SM_UNUSED)
{
    static const struct {
        const char *failed;
        int temperror_accept;
        align_dmarc_result dmarc;
        align_decision decision;
    } t[] = {
        {"GetEmailIdentity: unreachable", 0, ALIGN_DMARC_TEMPERROR, ALIGN_TEMPFAIL},
        {"GetEmailIdentity: unreachable", 1, ALIGN_DMARC_TEMPERROR, ALIGN_ACCEPT},
        {NULL, 0, ALIGN_DMARC_FAIL, ALIGN_REJECT},
    };
    dns_cache *c = dns_cache_new(NULL);

    dns_cache_set_resolver(c, zone_resolve, NULL);
    for (size_t i = 0; i < SM_ARRAY_LEN(t); i++) {
        align_conf conf = {0};
        align_facts f;
        align_result *r = xcalloc(1, sizeof(*r));
        char why[4096];

        conf.enabled = 1;
        conf.relay = ALIGN_RELAY_SES;
        conf.action = ALIGN_ACTION_ENFORCE;
        conf.temperror_action =
            t[i].temperror_accept ? ALIGN_TEMPERROR_ACCEPT : ALIGN_TEMPERROR_TEMPFAIL;
        align_facts_init(&f, &conf);
        f.from_domain = "example.com";
        f.ses_failed = t[i].failed;
        align_check(&conf, c, &f, r);
        align_reasons_join(r, why, sizeof(why));
        printf("%s\n", why);
        assert_int_equal(r->dmarc_result, t[i].dmarc);
        assert_int_equal(r->decision, t[i].decision);
        if (t[i].failed != NULL) {
            assert_true(has_reason(r, "could not be fetched now (GetEmailIdentity: unreachable)"));
            assert_true(has_reason(r, "cannot be predicted now"));
        }
        free(r);
    }
    dns_cache_free(c);
}

static void
test_align_without_dns_cache_is_temperror(void **state SM_UNUSED)
{
    align_result *r = xcalloc(1, sizeof(*r));
    align_facts f;

    align_facts_init(&f, NULL);
    f.from_domain = "example.com";
    assert_int_equal(align_check(NULL, NULL, &f, r), ALIGN_ACCEPT); /* default: monitor */
    assert_int_equal(r->dmarc_result, ALIGN_DMARC_TEMPERROR);
    free(r);
}

/* ---- configuration ---- */

static int
conf_from(const char *text, align_conf **out, char *err, size_t errlen)
{
    config_t cfg;
    int rc;

    config_init(&cfg);
    if (!config_read_string(&cfg, text)) {
        snprintf(err, errlen, "syntax: %s line %d", config_error_text(&cfg),
                 config_error_line(&cfg));
        config_destroy(&cfg);
        return -2;
    }
    rc = align_conf_parse(config_lookup(&cfg, "alignment"), out, err, errlen);
    config_destroy(&cfg);
    return rc;
}

static void
test_align_conf_defaults(void **state SM_UNUSED)
{
    align_conf *c = NULL;
    char err[256];

    assert_int_equal(align_conf_parse(NULL, &c, err, sizeof(err)), 0);
    assert_int_equal(c->enabled, 1);
    assert_int_equal(c->relay, ALIGN_RELAY_SES);
    assert_int_equal(c->action, ALIGN_ACTION_MONITOR);
    assert_int_equal(c->temperror_action, ALIGN_TEMPERROR_TEMPFAIL);
    assert_string_equal(c->result_header, "");
    assert_null(c->signer_domain);
    assert_int_equal(c->egress_ips.n, 0);
    assert_int_equal(c->dns.timeout_ms, 3000);
    assert_int_equal(c->dns.max_entries, 10000);
    assert_string_equal(align_tag_header(c), ALIGN_TAG_HEADER_DEFAULT);
    assert_int_equal(c->providers, ALIGN_PROVIDER_ALL); /* every provider's rules by default */
    assert_null(align_conf_free(c));
    assert_int_equal(conf_from("alignment = {\n providers = [ ];\n};", &c, err, sizeof(err)), 0);
    assert_int_equal(c->providers, 0); /* an empty list checks none */
    assert_null(align_conf_free(c));
}

static void
test_align_conf_full_section_and_overrides(void **state SM_UNUSED)
{
    static const char text[] =
        "alignment = {\n"
        "  enabled = true; relay = \"direct\";\n"
        "  egress_ips = [ \"192.0.2.1\", \"2001:db8::25\" ];\n"
        "  downstream_signer = { domain = \"Example.COM\"; selector = \"s2026\"; };\n"
        "  action = \"tag\"; temperror_action = \"accept\";\n"
        "  overrides = ( { domain = \"example.com\"; action = \"enforce\"; },\n"
        "                { domain = \"news.example.com\"; action = \"monitor\"; } );\n"
        "  result_header = \"X-Alignment\";\n"
        "  dns = { timeout_ms = 1500; max_entries = 50; };\n"
        "  providers = [ \"outlook\", \"Gmail\" ];\n"
        "};\n";
    align_conf *c = NULL;
    char err[256] = "", *buf = NULL;
    size_t len = 0;
    FILE *fp;

    if (conf_from(text, &c, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    assert_int_equal(c->relay, ALIGN_RELAY_DIRECT);
    assert_int_equal(c->egress_ips.n, 2);
    assert_string_equal(c->signer_domain, "example.com");
    assert_string_equal(c->signer_selector, "s2026");
    assert_int_equal(c->temperror_action, ALIGN_TEMPERROR_ACCEPT);
    assert_int_equal(c->dns.timeout_ms, 1500);
    assert_int_equal(c->dns.max_entries, 50);
    assert_string_equal(align_tag_header(c), "X-Alignment");
    assert_int_equal(align_action_for(c, "example.com"), ALIGN_ACTION_ENFORCE);
    assert_int_equal(align_action_for(c, "a.example.com"), ALIGN_ACTION_ENFORCE);
    assert_int_equal(align_action_for(c, "x.news.example.com"), ALIGN_ACTION_MONITOR);
    assert_int_equal(align_action_for(c, "badexample.com"), ALIGN_ACTION_TAG);
    assert_int_equal(align_action_for(c, "example.org"), ALIGN_ACTION_TAG);
    fp = open_memstream(&buf, &len);
    align_conf_dump(fp, c);
    fclose(fp);
    assert_non_null(strstr(buf, "alignment.relay = \"direct\";"));
    assert_non_null(strstr(buf, "alignment.downstream_signer.selector = \"s2026\";"));
    assert_non_null(strstr(buf, "action = \"enforce\""));
    assert_non_null(strstr(buf, "alignment.dns.timeout_ms = 1500;"));
    assert_int_equal(c->providers, (1u << ALIGN_PROVIDER_GMAIL) | (1u << ALIGN_PROVIDER_OUTLOOK));
    assert_non_null(strstr(buf, "alignment.providers = [ \"gmail\", \"outlook\" ];"));
    free(buf);
    align_conf_free(c);
}

static void
test_align_conf_errors_name_file_and_line(void **state SM_UNUSED)
{
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"alignment = {\n egress_ips = [ \"192.0.2.300\" ];\n};", ":2: 'alignment.egress_ips'"},
        /* libspf2 passes every loopback client: such egress addresses predict nothing */
        {"alignment = {\n egress_ips = [ \"192.0.2.1\",\n \"127.0.0.1\" ];\n};",
         ":3: 'alignment.egress_ips': 127.0.0.1 is a loopback address"},
        {"alignment = {\n egress_ips = \"127.3.2.1\";\n};",
         ":2: 'alignment.egress_ips': 127.3.2.1 is a loopback address"},
        {"alignment = {\n egress_ips = [ \"::1\" ];\n};",
         "'alignment.egress_ips': ::1 is a loopback"},
        {"alignment = {\n egress_ips = [ \"::ffff:127.0.0.1\" ];\n};", "is a loopback address"},
        {"alignment = {\n egress_ips = [ \"0.0.0.0\" ];\n};",
         ":2: 'alignment.egress_ips': 0.0.0.0 is the unspecified address"},
        {"alignment = {\n egress_ips = [ \"::\" ];\n};", ":: is the unspecified address"},
        {"alignment = {\n action = \"drop\";\n};", ":2: 'alignment.action' = \"drop\""},
        {"alignment = {\n relay = \"smtp\";\n};", "is not one of: ses, direct"},
        {"alignment = {\n temperror_action = \"retry\";\n};", "tempfail, accept"},
        {"alignment = {\n downstream_signer = { domain = \"example.com\"; };\n};",
         "needs both domain and selector"},
        {"alignment = {\n downstream_signer = { domain = \"example.com\";\n selector = \"a b\"; "
         "};\n};",
         ":3: 'alignment.downstream_signer.selector'"},
        {"alignment = {\n downstream_signer = { domain = \"a..b\"; selector = \"s\"; };\n};",
         "is not a domain name"},
        {"alignment = {\n overrides = ( { domain = \"example.com\"; } );\n};",
         "needs domain and action"},
        {"alignment = {\n overrides = ( { domain = \"example.com\"; action = \"nope\"; } );\n};",
         "is not one of"},
        {"alignment = {\n overrides = \"example.com\";\n};", "must be a list"},
        {"alignment = {\n result_header = \"X Bad:\";\n};", "is not a header field name"},
        {"alignment = {\n dns = { timeout_ms = 0; };\n};", "out of range"},
        {"alignment = {\n dns = { retries = 2; };\n};", "unknown setting 'alignment.dns.retries'"},
        {"alignment = {\n colour = \"blue\";\n};", ":2: unknown setting 'alignment.colour'"},
        {"alignment = {\n enabled = \"yes\";\n};", "must be true or false"},
        {"alignment = {\n providers = [ \"gmail\",\n \"hotmail\" ];\n};",
         ":3: 'alignment.providers': \"hotmail\" is not a provider (gmail, yahoo, outlook)"},
        {"alignment = {\n providers = \"gmail\";\n};", ":2: 'alignment.providers' must be a list"},
    };

    for (size_t i = 0; i < SM_ARRAY_LEN(cases); i++) {
        align_conf *c = (align_conf *)&cases; /* must be reset to NULL on error */
        char err[512] = "";
        int rc = conf_from(cases[i].text, &c, err, sizeof(err));
        if (rc != -1 || c != NULL || strstr(err, cases[i].want) == NULL)
            fail_msg("case %zu: rc %d err \"%s\", want \"%s\"", i, rc, err, cases[i].want);
    }
}

static int
setup(void **state SM_UNUSED)
{
    char err[256];
    return domain_psl_load(DOMAIN_PSL_SYSTEM_FILE, err, sizeof(err));
}

static int
teardown(void **state SM_UNUSED)
{
    domain_psl_unload();
    return 0;
}

/*
 * An SES refusal (custom MAIL FROM FAILED + REJECT_MESSAGE) is the summary even when
 * Easy DKIM would make DMARC pass, and it and every SPF that does not align are
 * advice to log whatever the decision (align_result.advise)
 */
static void
test_align_ses_refusal_is_the_summary_and_advice(void **state SM_UNUSED)
{
    static const struct {
        const char *name;
        const char *mf_status, *mf_behavior; /* "" = no custom MAIL FROM */
        align_action action;
        align_decision decision;
        const char *summary; /* prefix of reasons[0] */
        const char *advice;  /* substring of an advice reason */
    } t[] = {
        {"reject_message_enforce_names_refusal", "FAILED", "REJECT_MESSAGE", ENF, ALIGN_REJECT,
         "SES would refuse the message: the MAIL FROM domain bounce.example.com is not verified",
         "SES would refuse the message (MailFromDomainNotVerified)"},
        {"reject_message_monitor_advises_refusal", "FAILED", "REJECT_MESSAGE", MON, ALIGN_ACCEPT,
         "SES would refuse the message",
         "SES would refuse the message (MailFromDomainNotVerified)"},
        {"use_default_value_advises_unaligned_spf", "FAILED", "USE_DEFAULT_VALUE", ENF,
         ALIGN_ACCEPT, "DMARC would pass for example.com via aligned DKIM",
         "so SES uses a MAIL FROM under amazonses.com and SPF does not align"},
        {"no_custom_mail_from_advises_unaligned_spf", "", "", ENF, ALIGN_ACCEPT,
         "DMARC would pass for example.com via aligned DKIM",
         "SPF is evaluated for amazonses.com, which does not align"},
    };
    dns_cache *c = dns_cache_new(NULL);

    dns_cache_set_resolver(c, zone_resolve, NULL);
    for (size_t i = 0; i < SM_ARRAY_LEN(t); i++) {
        align_conf conf = {0};
        align_facts f;
        sm_id_attrs a;
        align_result *r = xcalloc(1, sizeof(*r));
        int advised = 0, good;

        conf.enabled = 1;
        conf.action = (int)t[i].action;
        align_facts_init(&f, &conf);
        f.from_domain = "example.com";
        ses_attrs(DOM_DKIM, "example.com", &a);
        if (*t[i].mf_status) {
            util_strlcpy(a.mail_from_domain, "bounce.example.com", sizeof(a.mail_from_domain));
            util_strlcpy(a.mail_from_status, t[i].mf_status, sizeof(a.mail_from_status));
            util_strlcpy(a.mail_from_behavior, t[i].mf_behavior, sizeof(a.mail_from_behavior));
        }
        f.ses = &a;
        align_check(&conf, c, &f, r);
        for (size_t k = 0; k < r->nreasons; k++)
            if ((r->advise & (1u << k)) && strstr(r->reasons[k], t[i].advice) != NULL)
                advised = 1;
        good = r->decision == t[i].decision &&
               strncmp(r->reasons[0], t[i].summary, strlen(t[i].summary)) == 0 && advised;
        printf("%s %s: %s\n", good ? "ok  " : "FAIL", t[i].name, r->reasons[0]);
        assert_true(good);
        free(r);
    }
    dns_cache_free(c);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_align_scenarios_table),
        cmocka_unit_test(test_align_ses_refusal_is_the_summary_and_advice),
        cmocka_unit_test(test_align_pct_sets_the_predicted_disposition),
        cmocka_unit_test(test_align_check_authors_strictest_or_reject),
        cmocka_unit_test(test_align_disabled_accepts_without_dns),
        cmocka_unit_test(test_align_many_existing_signatures_keep_room_for_ses),
        cmocka_unit_test(test_align_spf_domain_table),
        cmocka_unit_test(test_align_without_dns_cache_is_temperror),
        cmocka_unit_test(test_align_ses_settings_unavailable_is_temperror),
        cmocka_unit_test(test_align_conf_defaults),
        cmocka_unit_test(test_align_conf_full_section_and_overrides),
        cmocka_unit_test(test_align_conf_errors_name_file_and_line),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
