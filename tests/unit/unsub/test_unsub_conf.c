/*
 * test_unsub_conf.c - the "unsubscribe" section and the opendkim.conf check
 *
 * Proves: every configuration mistake (scheme, placeholders, missing
 * multi_recipient choice, token without key, weak key file, bad patterns,
 * unknown settings ...) is refused with "file:line: reason"; good settings
 * parse; the opendkim.conf check warns exactly when List-Unsubscribe or
 * List-Unsubscribe-Post would go unsigned (default list, explicit list,
 * "*" deltas, csl:/file datasets, Include, OversignHeaders only) and stays
 * silent without rules or without a path.
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

#include "unsub/unsub.h"
#include "unsub/unsub_store.h"
#include "unsub/unsub_tmpl.h"
#include "unsub/unsub_token.h"
#include "test_unsub_util.h"

int main(void);

static const char rules_conf[] = "unsubscribe = {\n  rules = ( { name = \"r\"; senders = "
                                 "\"a.example\"; url = \"https://u.example/x\"; } );\n};\n";

/* a configuration with one rule */
static unsub_conf *
conf_with_rule(void)
{
    char err[512];
    unsub_conf *c = NULL;

    if (parse_text(rules_conf, &c, err, sizeof(err), NULL) != 0)
        fail_msg("config: %s", err);
    return c;
}

/* ------------------------------------------------------------ config errors */

typedef struct conf_err_case {
    const char *text;
    int line;
    const char *err;
} conf_err_case;

#define R1 "unsubscribe = {\n  rules = (\n    {\n      name = \"r\";\n"
#define R1_END "    }\n  );\n};\n"

static const conf_err_case conf_err_cases[] = {
    {R1 "      senders = \"a.example\";\n      url = \"http://u.example/\";\n" R1_END, 6,
     "one-click needs an https:// URL"},
    {R1 "      senders = \"a.example\";\n      url = \"https://u.example/%{foo}\";\n" R1_END, 6,
     "unknown placeholder %{foo}"},
    {R1 "      senders = \"a.example\";\n      url = \"https://u.example/%{recipient}\";\n" R1_END,
     3, "'multi_recipient' must say"},
    {R1 "      senders = \"a.example\";\n      url = \"https://u.example/%{recipient}\";\n"
        "      multi_recipient = \"guess\";\n" R1_END,
     7, "\"list-url\" or \"skip\""},
    {R1 "      senders = \"a.example\";\n      url = \"https://u.example/%{recipient}\";\n"
        "      multi_recipient = \"list-url\";\n" R1_END,
     7, "needs a 'list_url'"},
    {R1 "      senders = \"a.example\";\n      url = \"https://u.example/%{recipient}\";\n"
        "      multi_recipient = \"list-url\";\n      list_url = "
        "\"https://u.example/%{token}\";\n" R1_END,
     8, "%{token} is not allowed here"},
    {R1 "      senders = \"a.example\";\n      url = \"https://u.example/x\";\n"
        "      list_url = \"https://u.example/y\";\n" R1_END,
     7, "only used with multi_recipient"},
    {R1 "      senders = \"a.example\";\n      url = \"https://u.example/%{token}\";\n"
        "      multi_recipient = \"skip\";\n" R1_END,
     3, "no token_key_file"},
    {R1 "      senders = \"a.example\";\n      url = \"https://u.example/x\";\n"
        "      list_id = \"l.%{recipient}\";\n" R1_END,
     7, "%{recipient} is not allowed here"},
    {R1 "      senders = \"a.example\";\n      url = \"https://u.example/x\";\n"
        "      mailto = \"https://u.example/\";\n" R1_END,
     7, "must start with mailto:"},
    {R1 "      senders = \"a.example\";\n      colour = \"blue\";\n" R1_END, 6,
     "unknown setting 'unsubscribe.rules.colour'"},
    {R1 "      senders = \"a.example\";\n" R1_END, 3, "has no url"},
    {R1 "      url = \"https://u.example/x\";\n" R1_END, 3, "matches nothing"},
    {R1 "      senders = [\"a.example\", \"localhost\"];\n      url = "
        "\"https://u.example/x\";\n" R1_END,
     5, "needs a domain"},
    {R1 "      senders = \"a@*.example\";\n      url = \"https://u.example/x\";\n" R1_END, 5,
     "needs a domain"},
    {R1 "      senders = \"a.example\";\n      url = \"https://u.example/x\";\n"
        "      header_values = [\"bulk\"];\n" R1_END,
     3, "need a 'header'"},
    {R1 "      header = \"Bad Name\";\n      url = \"https://u.example/x\";\n" R1_END, 5,
     "not a header field name"},
    {R1 "      header = \"List-Unsubscribe-Post\";\n      url = \"https://u.example/x\";\n" R1_END,
     5, "cannot be one of the headers"},
    {R1 "      senders = \"a.example\";\n      url = \"https://u.example/x\";\n    },\n    {\n"
        "      name = \"R\";\n      senders = \"b.example\";\n      url = "
        "\"https://u.example/y\";\n" R1_END,
     8, "duplicate rule name"},
    {"unsubscribe = {\n  rules = (\n    {\n      senders = \"a.example\";\n"
     "      url = \"https://u.example/x\";\n" R1_END,
     3, "needs a 'name'"},
    {"unsubscribe = {\n  ses_list_management = \"maybe\";\n};\n", 2, "is not one of: keep-ses"},
    {"unsubscribe = {\n  token_ttl = -5;\n};\n", 2, "out of range"},
    {"unsubscribe = {\n  rules = \"all\";\n};\n", 2, "must be a list"},
    {"unsubscribe = {\n\n  token_key_file = \"@DIR@/shortkey\";\n};\n", 3, "holds 10 bytes"},
    {"unsubscribe = {\n  token_key_file = \"@DIR@/loosekey\";\n};\n", 2,
     "accessible by group or others (mode 0644)"},
    {"unsubscribe = {\n  token_key_file = \"@DIR@/nokey\";\n};\n", 2, "cannot open key file"},
    /* the store's backend */
    {"unsubscribe = {\n  store_backend = \"sqlite\";\n};\n", 2, "is not one of: file, redis"},
    {"unsubscribe = {\n\n  store_unavailable = \"maybe\";\n};\n", 3,
     "is not one of: tempfail, accept"},
    {"unsubscribe = {\n  store_backend = \"redis\";\n};\n", 2, "needs a 'state' group"},
    {"unsubscribe = {\n  store_backend = \"redis\";\n  store_file = \"/var/x\";\n};\n"
     "state = { address = \"127.0.0.1:6379\"; };\n",
     3, "'store_file' is for store_backend = \"file\""},
    {"unsubscribe = {\n  store_backend = \"redis\";\n};\nstate = {\n  timeout_ms = 0;\n};\n", 5,
     "out of range"},
};

static void
test_unsub_conf_errors_name_file_and_line(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(conf_err_cases) / sizeof(conf_err_cases[0]); i++) {
        const conf_err_case *c = &conf_err_cases[i];
        char err[512] = "", want[512], *path = NULL;
        unsub_conf *conf = NULL;
        int rc = parse_text(c->text, &conf, err, sizeof(err), &path);

        snprintf(want, sizeof(want), "%s:%d: ", path, c->line);
        if (rc != -1 || conf != NULL)
            fail_msg("case %zu: parsed, want error '%s'", i, c->err);
        if (strncmp(err, want, strlen(want)) != 0 || strstr(err, c->err) == NULL)
            fail_msg("case %zu:\n  got  %s\n  want %s...%s", i, err, want, c->err);
        free(path);
    }
}

static void
test_unsub_conf_good_key_and_options_parse(void **state)
{
    unsub_conf *c = NULL;
    char err[512];

    (void)state;
    if (parse_text("unsubscribe = {\n  token_key_file = \"@DIR@/key\";\n  token_ttl = 0;\n"
                   "  opendkim_conf = \"/etc/opendkim.conf\";\n"
                   "  ses_list_management = \"Add-Anyway\";\n  rules = ();\n};\n",
                   &c, err, sizeof(err), NULL) != 0)
        fail_msg("%s", err);
    assert_int_equal(unsub_conf_token_ttl(c), 0);
    assert_string_equal(unsub_conf_opendkim(c), "/etc/opendkim.conf");
    assert_int_equal(unsub_conf_n_rules(c), 0);
    unsub_conf_free(c);
}

/* store_backend = "redis" takes the state group's Redis; no connection at parse time */
static void
test_unsub_conf_redis_store_uses_the_state_group(void **state)
{
    unsub_conf *c = NULL;
    char err[512];

    (void)state;
    if (parse_text("unsubscribe = {\n  store_backend = \"redis\";\n"
                   "  store_unavailable = \"accept\";\n};\n"
                   "state = { address = \"127.0.0.1:1\"; };\n",
                   &c, err, sizeof(err), NULL) != 0) {
        if (strstr(err, "hiredis") != NULL)
            skip(); /* a build without the Redis backend refuses the state group */
        fail_msg("%s", err);
    }
    assert_string_equal(unsub_conf_store_name(c), "redis");
    assert_null(unsub_conf_store_file(c));
    assert_non_null(unsub_conf_store(c));
    assert_int_equal(unsub_conf_store_unavailable(c), UNSUB_UNAVAILABLE_ACCEPT);
    /* nothing listens on port 1: the reader cannot tell, it never says "not unsubscribed" */
    assert_int_equal(unsub_store_has(unsub_conf_store(c), "news", "a@example.org"), -1);
    unsub_conf_free(c);
    /* the file store stays the default, with tempfail */
    if (parse_text("unsubscribe = {\n  store_file = \"@DIR@/store\";\n};\n", &c, err, sizeof(err),
                   NULL) != 0)
        fail_msg("%s", err);
    assert_non_null(unsub_conf_store_file(c));
    assert_int_equal(unsub_conf_store_unavailable(c), UNSUB_UNAVAILABLE_TEMPFAIL);
    unsub_conf_free(c);
}

/* ------------------------------------------------------------ signer check */

typedef struct signer_case {
    const char *name;
    const char *conf;     /* opendkim.conf text; @DIR@ = tmpdir; NULL = no such file */
    const char *warn;     /* substring of the warning; "" = no warning */
    const char *not_warn; /* must not appear */
} signer_case;

static const signer_case signer_cases[] = {
    {"default list lacks List-Unsubscribe-Post", "Syslog yes\nOversignHeaders From\n",
     "would not sign List-Unsubscribe-Post", "sign List-Unsubscribe "},
    {"explicit list with both",
     "SignHeaders From,To,Subject,Date,List-Unsubscribe,"
     "List-Unsubscribe-Post\n",
     "", NULL},
    {"explicit list without either", "signheaders From,To,Subject   # comment\n",
     "would not sign List-Unsubscribe (", NULL},
    {"delta adds Post", "SignHeaders *,+List-Unsubscribe-Post\n", "", NULL},
    {"delta removes List-Unsubscribe", "SignHeaders *,-List-Unsubscribe,+List-Unsubscribe-Post\n",
     "would not sign List-Unsubscribe (", "List-Unsubscribe-Post"},
    {"csl: prefix", "SignHeaders csl:from,list-unsubscribe,list-unsubscribe-post\n", "", NULL},
    {"later setting wins", "SignHeaders *,+List-Unsubscribe-Post\nSignHeaders From\n",
     "would not sign List-Unsubscribe-Post", NULL},
    {"file dataset", "SignHeaders file:@DIR@/signhdrs\n", "", NULL},
    {"absolute path dataset", "SignHeaders @DIR@/signhdrs\n", "", NULL},
    {"include", "Include @DIR@/included.conf\n", "", NULL},
    {"oversign only",
     "SignHeaders From\nOversignHeaders From,List-Unsubscribe,"
     "List-Unsubscribe-Post\n",
     "in OversignHeaders but not in SignHeaders", NULL},
    {"unreadable dataset type", "SignHeaders refile:/etc/opendkim/signhdrs\n",
     "cannot read; make sure it signs", NULL},
    {"missing file", NULL, "cannot read", NULL},
    /* -n runs as root: a symbolic link is not followed (it could point anywhere) */
    {"include through a symbolic link refused", "Include @DIR@/link.conf\n",
     "link.conf: is a symbolic link", NULL},
    {"dataset through a symbolic link refused", "SignHeaders file:@DIR@/linkhdrs\n",
     "linkhdrs: is a symbolic link", NULL},
};

static void
test_unsub_check_signer_table(void **state)
{
    unsub_conf *c = conf_with_rule();

    (void)state;
    free(write_file("signhdrs", "# headers\nFrom\nList-Unsubscribe\nList-Unsubscribe-Post x\n",
                    0644));
    free(write_file("included.conf", "SignHeaders *,+List-Unsubscribe-Post\n", 0644));
    {
        char a[128], b[128];
        snprintf(a, sizeof(a), "%s/link.conf", tmpdir);
        snprintf(b, sizeof(b), "%s/linkhdrs", tmpdir);
        assert_int_equal(symlink("included.conf", a), 0);
        assert_int_equal(symlink("signhdrs", b), 0);
    }
    for (size_t i = 0; i < sizeof(signer_cases) / sizeof(signer_cases[0]); i++) {
        const signer_case *s = &signer_cases[i];
        char warn[1024], text[512], *path;
        if (s->conf != NULL) {
            subst(s->conf, text, sizeof(text));
            path = write_file("opendkim.conf", text, 0644);
        } else {
            path = strdup("/nonexistent/opendkim.conf");
        }
        unsub_check_signer(c, path, warn, sizeof(warn));
        if (*s->warn == '\0' ? warn[0] != '\0' : strstr(warn, s->warn) == NULL)
            fail_msg("%s: warning '%s', want '%s'", s->name, warn, s->warn);
        if (s->not_warn != NULL && strstr(warn, s->not_warn) != NULL)
            fail_msg("%s: warning '%s' must not contain '%s'", s->name, warn, s->not_warn);
        free(path);
    }
    unsub_conf_free(c);
}

static void
test_unsub_check_signer_silent_without_rules_or_path(void **state)
{
    unsub_conf *none = NULL, *c = conf_with_rule();
    char warn[256] = "x", err[256];

    (void)state;
    assert_int_equal(unsub_conf_parse(NULL, &none, err, sizeof(err)), 0);
    unsub_check_signer(none, "/nonexistent/opendkim.conf", warn, sizeof(warn));
    assert_string_equal(warn, "");
    strcpy(warn, "x");
    unsub_check_signer(c, NULL, warn, sizeof(warn)); /* no opendkim_conf configured */
    assert_string_equal(warn, "");
    unsub_conf_free(none);
    unsub_conf_free(c);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unsub_conf_errors_name_file_and_line),
        cmocka_unit_test(test_unsub_conf_good_key_and_options_parse),
        cmocka_unit_test(test_unsub_conf_redis_store_uses_the_state_group),
        cmocka_unit_test(test_unsub_check_signer_table),
        cmocka_unit_test(test_unsub_check_signer_silent_without_rules_or_path),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
