/*
 * test_align_provider.c - the mailbox providers' sender rules (align_provider.c)
 *
 * Table-driven: facts in, provider verdicts out, as the summary text the
 * log line, the result header and the audit record carry.  Every rule of
 * every provider fails alone once and passes; unknown facts give
 * "unknown" unless a rule fails; the provider mask selects the rule sets.
 * Then the bulk / one-click facts from header fields, the facts of an
 * alignment prediction, and the advice text.
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

#include "auth/align_provider.h"
#include "lib/util.h"

#define ALL ALIGN_PROVIDER_ALL
#define G (1u << ALIGN_PROVIDER_GMAIL)
#define Y (1u << ALIGN_PROVIDER_YAHOO)
#define O (1u << ALIGN_PROVIDER_OUTLOOK)

static const struct {
    const char *name;
    unsigned mask;
    int spf, dkim, dmarc, aligned, bulk, one_click;
    const char *want;
} checks[] = {
    {"everything_met_passes_all", ALL, 1, 1, 1, 1, 0, 0, "gmail:pass,yahoo:pass,outlook:pass"},
    {"bulk_with_one_click_passes_all", ALL, 1, 1, 1, 1, 1, 1, "gmail:pass,yahoo:pass,outlook:pass"},
    {"spf_not_passing_fails_all", ALL, 0, 1, 1, 1, 0, 0,
     "gmail:fail(spf-pass),yahoo:fail(spf-pass),outlook:fail(spf-pass)"},
    {"dkim_not_passing_fails_all", ALL, 1, 0, 1, 1, 0, 0,
     "gmail:fail(dkim-pass),yahoo:fail(dkim-pass),outlook:fail(dkim-pass)"},
    {"no_dmarc_record_fails_all", ALL, 1, 1, 0, 1, 0, 0,
     "gmail:fail(dmarc-record),yahoo:fail(dmarc-record),outlook:fail(dmarc-record)"},
    {"nothing_aligned_fails_all", ALL, 1, 1, 1, 0, 0, 0,
     "gmail:fail(aligned),yahoo:fail(aligned),outlook:fail(aligned)"},
    {"bulk_without_one_click_fails_gmail_and_yahoo_only", ALL, 1, 1, 1, 1, 1, 0,
     "gmail:fail(one-click),yahoo:fail(one-click),outlook:pass"},
    {"one_click_missing_on_non_bulk_mail_is_no_failure", ALL, 1, 1, 1, 1, 0, 0,
     "gmail:pass,yahoo:pass,outlook:pass"},
    {"several_failures_are_all_named", ALL, 0, 0, 0, 0, 1, 0,
     "gmail:fail(spf-pass+dkim-pass+dmarc-record+aligned+one-click),"
     "yahoo:fail(spf-pass+dkim-pass+dmarc-record+aligned+one-click),"
     "outlook:fail(spf-pass+dkim-pass+dmarc-record+aligned)"},
    {"unknown_dmarc_is_unknown", ALL, 1, 1, -1, -1, 0, 0,
     "gmail:unknown(dmarc-record+aligned),yahoo:unknown(dmarc-record+aligned),"
     "outlook:unknown(dmarc-record+aligned)"},
    {"a_failure_outweighs_an_unknown", ALL, 0, 1, -1, -1, 0, 0,
     "gmail:fail(spf-pass),yahoo:fail(spf-pass),outlook:fail(spf-pass)"},
    {"outlook_only", O, 0, 1, 1, 1, 1, 0, "outlook:fail(spf-pass)"},
    {"gmail_and_yahoo_only", G | Y, 1, 1, 1, 1, 1, 0,
     "gmail:fail(one-click),yahoo:fail(one-click)"},
    {"yahoo_only_passes", Y, 1, 1, 1, 1, 1, 1, "yahoo:pass"},
    {"no_provider_is_a_dash", 0, 0, 0, 0, 0, 1, 0, "-"},
};

static void
test_align_provider_rules_table(void **state SM_UNUSED)
{
    size_t ok = 0;

    for (size_t i = 0; i < SM_ARRAY_LEN(checks); i++) {
        align_provider_facts f = {checks[i].spf,     checks[i].dkim, checks[i].dmarc,
                                  checks[i].aligned, checks[i].bulk, checks[i].one_click,
                                  "example.com",     "amazonses.com"};
        align_provider_verdicts v;
        char got[512];

        align_provider_check(checks[i].mask, &f, &v);
        align_provider_summary(&v, got, sizeof(got));
        if (strcmp(got, checks[i].want) == 0)
            ok++;
        else
            printf("FAIL %s\n    got  %s\n    want %s\n", checks[i].name, got, checks[i].want);
    }
    printf("provider rules: %zu/%zu\n", ok, SM_ARRAY_LEN(checks));
    assert_int_equal(ok, SM_ARRAY_LEN(checks));
}

/* header fields the message leaves with -> bulk, one-click */
static const struct {
    const char *name;
    align_provider_hdr h[4];
    size_t n;
    int unsub_rule;
    size_t n_rcpts;
    int bulk, one_click;
} mails[] = {
    {"plain_message_is_not_bulk", {{"Subject", "hi"}}, 1, 0, 1, 0, 0},
    {"precedence_bulk_is_bulk", {{"Precedence", " bulk"}}, 1, 0, 1, 1, 0},
    {"precedence_list_is_bulk", {{"precedence", "List"}}, 1, 0, 1, 1, 0},
    {"precedence_junk_is_bulk", {{"Precedence", "junk "}}, 1, 0, 1, 1, 0},
    {"precedence_first_class_is_not_bulk", {{"Precedence", "first-class"}}, 1, 0, 1, 0, 0},
    {"list_id_is_bulk", {{"List-Id", "<news.example.com>"}}, 1, 0, 1, 1, 0},
    {"an_unsubscribe_rule_match_is_bulk", {{"Subject", "x"}}, 1, 1, 1, 1, 0},
    {"mailto_unsubscribe_only_is_bulk_without_one_click",
     {{"List-Unsubscribe", "<mailto:u@example.com>"},
      {"List-Unsubscribe-Post", "List-Unsubscribe=One-Click"}},
     2,
     0,
     1,
     1,
     0},
    {"https_without_post_is_not_one_click",
     {{"List-Unsubscribe", "<https://example.com/u/1>"}},
     1,
     0,
     1,
     1,
     0},
    {"https_and_post_is_one_click",
     {{"List-Unsubscribe", "<mailto:u@example.com>, <https://example.com/u/1>"},
      {"List-Unsubscribe-Post", " List-Unsubscribe=One-Click"}},
     2,
     0,
     1,
     1,
     1},
    {"wrong_post_value_is_not_one_click",
     {{"List-Unsubscribe", "<https://example.com/u/1>"},
      {"List-Unsubscribe-Post", "List-Unsubscribe=Yes"}},
     2,
     0,
     1,
     1,
     0},
    {"ses_list_management_single_recipient_is_one_click",
     {{"X-SES-LIST-MANAGEMENT-OPTIONS", "news; topic=weekly"}},
     1,
     0,
     1,
     1,
     1},
    {"ses_list_management_several_recipients_is_not",
     {{"X-SES-LIST-MANAGEMENT-OPTIONS", "news"}},
     1,
     0,
     2,
     1,
     0},
};

static void
test_align_provider_mail_bulk_and_one_click(void **state SM_UNUSED)
{
    for (size_t i = 0; i < SM_ARRAY_LEN(mails); i++) {
        align_provider_facts f;

        memset(&f, 0, sizeof(f));
        align_provider_mail(mails[i].h, mails[i].n, mails[i].unsub_rule, mails[i].n_rcpts, &f);
        printf("%s %s: bulk=%d one_click=%d\n",
               f.bulk == mails[i].bulk && f.one_click == mails[i].one_click ? "ok  " : "FAIL",
               mails[i].name, f.bulk, f.one_click);
        assert_int_equal(f.bulk, mails[i].bulk);
        assert_int_equal(f.one_click, mails[i].one_click);
    }
}

/* the facts of an alignment prediction */
static void
test_align_provider_facts_of_prediction(void **state SM_UNUSED)
{
    static const struct {
        const char *name;
        align_dmarc_result dmarc;
        dmarc_disc_status disc;
        int published, dkim_pass, dkim_aligned, spf_aligned;
        align_spf spf;
        int ses_tempfail;
        int want_spf, want_dkim, want_dmarc, want_aligned;
    } t[] = {
        {"easy_dkim_via_ses", ALIGN_DMARC_PASS, DMARC_DISC_FOUND, 1, 1, 1, 0, ALIGN_SPF_PASS, 0, 1,
         1, 1, 1},
        {"address_identity_no_record", ALIGN_DMARC_NONE, DMARC_DISC_NONE, 0, 1, 0, 0,
         ALIGN_SPF_PASS, 0, 1, 1, 0, 0},
        {"direct_spf_softfail_no_dkim", ALIGN_DMARC_FAIL, DMARC_DISC_FOUND, 1, 0, 0, 0,
         ALIGN_SPF_SOFTFAIL, 0, 0, 0, 1, 0},
        {"dns_temperror", ALIGN_DMARC_TEMPERROR, DMARC_DISC_TEMPFAIL, 0, 1, 0, 0, ALIGN_SPF_PASS, 0,
         1, 1, -1, -1},
        {"ses_settings_unavailable", ALIGN_DMARC_TEMPERROR, DMARC_DISC_FOUND, 1, 0, 0, 0,
         ALIGN_SPF_TEMPERROR, 1, -1, -1, 1, -1},
    };

    for (size_t i = 0; i < SM_ARRAY_LEN(t); i++) {
        align_result *r = xcalloc(1, sizeof(*r));
        align_provider_facts f;

        util_strlcpy(r->from_domain, "example.com", sizeof(r->from_domain));
        r->dmarc_result = t[i].dmarc;
        r->dmarc.status = t[i].disc;
        r->dmarc_published = t[i].published;
        r->ndkim = 1;
        r->dkim[0].pass = t[i].dkim_pass;
        r->dkim[0].aligned = t[i].dkim_aligned;
        r->dkim_aligned = t[i].dkim_aligned;
        r->spf_aligned = t[i].spf_aligned;
        r->spf_result = t[i].spf;
        r->ses_tempfail = t[i].ses_tempfail;
        align_provider_facts_of(r, &f);
        printf("%s: spf=%d dkim=%d dmarc=%d aligned=%d\n", t[i].name, f.spf_pass, f.dkim_pass,
               f.dmarc_record, f.aligned);
        assert_int_equal(f.spf_pass, t[i].want_spf);
        assert_int_equal(f.dkim_pass, t[i].want_dkim);
        assert_int_equal(f.dmarc_record, t[i].want_dmarc);
        assert_int_equal(f.aligned, t[i].want_aligned);
        free(r);
    }
}

/* the advice names the provider, its refusal where published, and each failing rule */
static void
test_align_provider_advice_names_provider_reply_and_rules(void **state SM_UNUSED)
{
    align_provider_facts f = {0, 1, 0, 1, 1, 0, "example.com", "amazonses.com"};
    align_provider_verdicts v;
    char buf[1024];

    align_provider_check(ALL, &f, &v);
    assert_int_equal(v.n, 3);
    align_provider_advice(&v.v[2], &f, buf, sizeof(buf));
    printf("%s\n", buf);
    assert_non_null(strstr(buf, "Outlook.com (sender rules since May 2025) would refuse the "
                                "message (550 5.7.515): "));
    assert_non_null(strstr(buf, "SPF does not pass for the MAIL FROM domain amazonses.com; "
                                "example.com publishes no DMARC record"));
    assert_null(strstr(buf, "one-click"));
    align_provider_advice(&v.v[0], &f, buf, sizeof(buf));
    printf("%s\n", buf);
    assert_non_null(strstr(buf, "Gmail (sender rules since February 2024) would junk or refuse"));
    assert_non_null(strstr(buf, "lacks one-click unsubscribe"));
    f.spf_pass = -1; /* unknown, and dmarc-record fails: still a failure */
    align_provider_check(1u << ALIGN_PROVIDER_OUTLOOK, &f, &v);
    assert_int_equal(v.v[0].result, ALIGN_PROVIDER_FAIL);
    f.dmarc_record = 1; /* now only unknown: the advice names the rule that cannot be told */
    align_provider_check(1u << ALIGN_PROVIDER_OUTLOOK, &f, &v);
    assert_int_equal(v.v[0].result, ALIGN_PROVIDER_UNKNOWN);
    align_provider_advice(&v.v[0], &f, buf, sizeof(buf));
    printf("%s\n", buf);
    assert_string_equal(buf, "Outlook.com (sender rules since May 2025): whether the message "
                             "meets spf-pass cannot be predicted (a temporary failure, or SPF "
                             "without alignment.egress_ips)");
    assert_int_equal(align_provider_parse("Outlook"), ALIGN_PROVIDER_OUTLOOK);
    assert_int_equal(align_provider_parse("hotmail"), -1);
    assert_string_equal(align_provider_reply(ALIGN_PROVIDER_OUTLOOK), "550 5.7.515");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_align_provider_rules_table),
        cmocka_unit_test(test_align_provider_mail_bulk_and_one_click),
        cmocka_unit_test(test_align_provider_facts_of_prediction),
        cmocka_unit_test(test_align_provider_advice_names_provider_reply_and_rules),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
