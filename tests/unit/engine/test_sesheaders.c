/*
 * test_sesheaders.c - X-SES-* header rules: SES's value rules, sender matching,
 * keep / replace of an existing header, configuration errors
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "engine/sesheaders.h"
#include "lib/util.h"

/* a string of n copies of c */
static const char *
rep(char c, size_t n)
{
    static char buf[4][600];
    static int k;
    char *b = buf[k++ % 4];

    memset(b, c, n);
    b[n] = '\0';
    return b;
}

static void
test_sesheaders_tags_follow_ses_message_tag_rules(void **state)
{
    char long_name[300], long_value[300], ok256[300], many[2048], fifty[2048];
    struct {
        const char *tags;
        int ok;
        const char *why; /* substring of the reason */
    } cases[] = {
        {"campaign=spring", 1, NULL},
        {"campaign=spring,type=bulk", 1, NULL},
        {"campaign=spring, type=bulk", 1, NULL},
        {"a-b_c=X-Y_z09", 1, NULL},
        {"", 0, "no tag"},
        {"campaign", 0, "name=value"},
        {"=spring", 0, "empty name"},
        {"campaign=", 0, "empty value"},
        {"camp aign=x", 0, "name=value"},
        {"campaign=spring!", 0, "not allowed"},
        {"campaign=spr.ing", 0, "not allowed"},
        {"campaign=spring,", 0, "empty name"},
        {"campaign=spring,,type=b", 0, "empty name"},
        {"campaign=spring,  type=b", 0, "empty name"},
        {"c\xc3\xa9=x", 0, "name=value"},
        {long_name, 0, "name of 257"},
        {long_value, 0, "value of 257"},
        {ok256, 1, NULL},
        {many, 0, "more than 50"},
        {fifty, 1, NULL},
    };
    char why[256];

    (void)state;
    snprintf(long_name, sizeof(long_name), "%s=v", rep('n', 257));
    snprintf(long_value, sizeof(long_value), "n=%s", rep('v', 257));
    snprintf(ok256, sizeof(ok256), "%s=%s", rep('n', 256), rep('v', 256));
    many[0] = fifty[0] = '\0';
    for (int i = 0; i < 51; i++) {
        char one[16];
        snprintf(one, sizeof(one), "%st%d=v", i ? "," : "", i);
        strcat(many, one);
        if (i < 50)
            strcat(fifty, one);
    }
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = sesheaders_tags_check(cases[i].tags, why, sizeof(why));
        if ((rc == 0) != cases[i].ok)
            fail_msg("tags case %zu (%.40s): rc %d, why %s", i, cases[i].tags, rc, why);
        if (!cases[i].ok && strstr(why, cases[i].why) == NULL)
            fail_msg("tags case %zu: reason \"%s\" lacks \"%s\"", i, why, cases[i].why);
    }
}

static void
test_sesheaders_names_and_arns(void **state)
{
    static const struct {
        int arn;
        const char *v;
        int ok;
    } cases[] = {
        {0, "marketing", 1},
        {0, "Marketing_2-x", 1},
        {0, "", 0},
        {0, "market ing", 0},
        {0, "market.ing", 0},
        {1, "arn:aws:ses:us-west-2:111122223333:identity/example.com", 1},
        {1, "arn:aws-us-gov:ses:us-gov-west-1:111122223333:identity/a@example.com", 1},
        {1, "arn:aws:sns:us-west-2:111122223333:identity/example.com", 0},
        {1, "arn:aws:ses:us-west-2:11112222333:identity/example.com", 0},
        {1, "arn:aws:ses::111122223333:identity/example.com", 0},
        {1, "arn:aws:ses:us-west-2:111122223333:configuration-set/x", 0},
        {1, "arn:aws:ses:us-west-2:111122223333:identity/", 0},
        {1, "arn:aws:ses:us-west-2:111122223333:identity/exa mple.com", 0},
        {1, "example.com", 0},
    };
    char why[256];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = cases[i].arn ? sesheaders_arn_check(cases[i].v, why, sizeof(why))
                              : sesheaders_name_check(cases[i].v, 64, why, sizeof(why));
        if ((rc == 0) != cases[i].ok)
            fail_msg("case %zu (%s): rc %d (%s)", i, cases[i].v, rc, rc ? why : "");
    }
    assert_int_equal(sesheaders_name_check(rep('a', 64), 64, why, sizeof(why)), 0);
    assert_int_equal(sesheaders_name_check(rep('a', 65), 64, why, sizeof(why)), -1);
}

static void
test_sesheaders_sender_match_domain_subdomain_and_exact_address(void **state)
{
    static const struct {
        const char *pattern, *sender;
        int match;
    } cases[] = {
        {"example.com", "a@example.com", 1},
        {"example.com", "a@EXAMPLE.com", 1},
        {"example.com", "a@news.example.com", 1},
        {"example.com", "a@badexample.com", 0},
        {"example.com", "a@example.com.evil", 0},
        {"news@example.com", "news@example.com", 1},
        {"news@example.com", "news@Example.COM", 1},
        {"news@example.com", "News@example.com", 0}, /* SES: local parts are case-sensitive */
        {"news@example.com", "news@sub.example.com", 0},
        {"news@example.com", "xnews@example.com", 0},
        {"example.com", "", 0},
        {"example.com", NULL, 0},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (sesheaders_sender_match(cases[i].pattern, cases[i].sender) != cases[i].match)
            fail_msg("case %zu: %s vs %s", i, cases[i].pattern, cases[i].sender);
}

/* parse a "ses.rules" list from text; returns the config (caller frees) or NULL with err */
static sesheaders_conf *
parse(const char *text, char *err, size_t errlen)
{
    config_t cfg;
    sesheaders_conf *c = NULL;
    int rc;

    config_init(&cfg);
    if (config_read_string(&cfg, text) != CONFIG_TRUE) {
        snprintf(err, errlen, "syntax: %s", config_error_text(&cfg));
        config_destroy(&cfg);
        return NULL;
    }
    rc = sesheaders_conf_parse(config_lookup(&cfg, "rules"), &c, err, errlen);
    config_destroy(&cfg);
    if (rc < 0)
        c = sesheaders_conf_free(c);
    return c;
}

static void
test_sesheaders_rules_refused_at_load(void **state)
{
    static const struct {
        const char *text, *why;
    } cases[] = {
        {"rules = ( { senders = \"example.com\"; tags = \"a=b c\"; } );", "tags"},
        {"rules = ( { senders = \"example.com\"; configuration_set = \"a.b\"; } );",
         "configuration_set"},
        {"rules = ( { senders = \"example.com\"; tenant = \"\"; } );", "tenant"},
        {"rules = ( { senders = \"example.com\"; from_arn = \"arn:aws:ses:x\"; } );", "from_arn"},
        {"rules = ( { senders = \"example.com\"; } );", "must set"},
        {"rules = ( { configuration_set = \"cs\"; } );", "senders or a trigger"},
        {"rules = ( { senders = \"localhost\"; configuration_set = \"cs\"; } );", "domain"},
        {"rules = ( { header = \"X-A: b\"; configuration_set = \"cs\"; } );", "header name"},
        {"rules = ( { senders = \"example.com\"; configuration_set = \"cs\"; existing = \"x\"; "
         "} );",
         "existing"},
        {"rules = ( { senders = \"example.com\"; configuration_set = \"cs\"; colour = 1; } );",
         "colour"},
    };
    char err[512];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sesheaders_conf *c = parse(cases[i].text, err, sizeof(err));
        if (c != NULL) {
            sesheaders_conf_free(c);
            fail_msg("case %zu accepted: %s", i, cases[i].text);
        }
        if (strstr(err, cases[i].why) == NULL)
            fail_msg("case %zu: error \"%s\" lacks \"%s\"", i, err, cases[i].why);
    }
}

static void
test_sesheaders_decide_first_rule_keep_and_replace(void **state)
{
    static const char *text =
        "rules = ("
        " { name = \"news\"; senders = [ \"news@example.com\" ]; configuration_set = \"bulk\";"
        "   tags = \"type=news\"; existing = \"replace\"; },"
        " { name = \"campaign\"; senders = [ \"example.com\" ]; header = \"X-Campaign\";"
        "   header_values = [ \"spring\" ]; configuration_set = \"campaign\"; tenant = \"t1\"; },"
        " { name = \"domain\"; senders = [ \"example.com\" ]; configuration_set = \"tx\";"
        "   source_arn = \"arn:aws:ses:us-west-2:111122223333:identity/example.com\"; },"
        " { name = \"trigger\"; header = \"X-Partner\"; configuration_set = \"partner\"; }"
        ");";
    static const sesheaders_hdr with_cs[] = {
        {"X-SES-CONFIGURATION-SET", "own"}, {"x-ses-configuration-set", "own2"}, {"Subject", "hi"}};
    static const sesheaders_hdr campaign[] = {{"X-Campaign", " spring"}};
    static const sesheaders_hdr campaign_other[] = {{"X-Campaign", "autumn"}};
    static const sesheaders_hdr partner[] = {{"X-Partner", "yes"}};
    static const sesheaders_hdr cs_kept[] = {{"X-SES-CONFIGURATION-SET", "own"}};
    static const struct {
        const char *sender;
        const sesheaders_hdr *h;
        size_t nh;
        const char *rule;  /* NULL: none */
        const char *first; /* "field=value act" of the first item */
        size_t n_items, n_removed;
    } cases[] = {
        {"news@example.com", NULL, 0, "news", "X-SES-CONFIGURATION-SET=bulk added", 2, 0},
        {"news@example.com", with_cs, 3, "news", "X-SES-CONFIGURATION-SET=bulk replaced", 2, 2},
        {"bob@example.com", campaign, 1, "campaign", "X-SES-CONFIGURATION-SET=campaign added", 2,
         0},
        {"bob@example.com", campaign_other, 1, "domain", "X-SES-CONFIGURATION-SET=tx added", 2, 0},
        {"bob@a.example.com", NULL, 0, "domain", "X-SES-CONFIGURATION-SET=tx added", 2, 0},
        {"bob@a.example.com", cs_kept, 1, "domain", "X-SES-CONFIGURATION-SET=own kept", 2, 0},
        {"bob@example.org", partner, 1, "trigger", "X-SES-CONFIGURATION-SET=partner added", 1, 0},
        {"bob@example.org", NULL, 0, NULL, NULL, 0, 0},
        {NULL, partner, 1, "trigger", "X-SES-CONFIGURATION-SET=partner added", 1, 0},
    };
    char err[512], got[300];
    sesheaders_conf *c = parse(text, err, sizeof(err));

    (void)state;
    if (c == NULL)
        fail_msg("%s", err);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sesheaders_result r;
        sesheaders_decide(c, cases[i].sender, cases[i].h, cases[i].nh, &r);
        if (cases[i].rule == NULL) {
            if (r.rule != NULL)
                fail_msg("case %zu: rule %s matched", i, r.rule->name);
            continue;
        }
        if (r.rule == NULL || strcmp(r.rule->name, cases[i].rule) != 0)
            fail_msg("case %zu: rule %s, expected %s", i, r.rule ? r.rule->name : "none",
                     cases[i].rule);
        snprintf(got, sizeof(got), "%s=%s %s", r.items[0].field, r.items[0].value,
                 sesheaders_act_name(r.items[0].act));
        if (strcmp(got, cases[i].first) != 0 || r.n_items != cases[i].n_items ||
            r.items[0].n_removed != cases[i].n_removed)
            fail_msg("case %zu: %s (%zu items, %zu removed)", i, got, r.n_items,
                     r.items[0].n_removed);
    }
    sesheaders_conf_free(c);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sesheaders_tags_follow_ses_message_tag_rules),
        cmocka_unit_test(test_sesheaders_names_and_arns),
        cmocka_unit_test(test_sesheaders_sender_match_domain_subdomain_and_exact_address),
        cmocka_unit_test(test_sesheaders_rules_refused_at_load),
        cmocka_unit_test(test_sesheaders_decide_first_rule_keep_and_replace),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
