/*
 * test_unsub.c - unsubscribe rules and the per-message decision
 *
 * Proves: each rule kind (exact address, @domain, *.subdomains, whole
 * domain, header trigger, trigger with removal) matches what it should and
 * nothing else, first match wins; existing List-Unsubscribe is kept and
 * only completed with List-Unsubscribe-Post when it has an https URI; a
 * lone List-Unsubscribe-Post is reported; several recipients give the
 * list-level URL or nothing, as configured; X-SES-LIST-MANAGEMENT-OPTIONS
 * is handled per ses_list_management; CR/LF/'>'/'<' in recipients and
 * message ids never reach a header; tokens in URLs verify.
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
#include "unsub/unsub_tmpl.h"
#include "unsub/unsub_token.h"
#include "test_unsub_util.h"

int main(void);

/* ------------------------------------------------------------ decisions */

static const char main_conf[] =
    "unsubscribe = {\n"
    "  token_key_file = \"@DIR@/key\";\n"
    "  rules = (\n"
    "    { name = \"trigger\"; header = \"X-Unsubscribe-Rule\"; header_values = [\"news\"];\n"
    "      remove_trigger = true; url = \"https://u.example.net/t/%{token}\";\n"
    "      list_id = \"news.%{sender_domain}\"; multi_recipient = \"skip\"; },\n"
    "    { name = \"news\"; senders = [\"news@example.com\"];\n"
    "      url = \"https://u.example.com/u?r=%{recipient}&m=%{message_id}\";\n"
    "      mailto = \"mailto:unsub@example.com?subject=%{list_id}\";\n"
    "      multi_recipient = \"list-url\"; list_url = \"https://u.example.com/l/%{list_id}\"; },\n"
    "    { name = \"bulk\"; header = \"Precedence\"; header_values = [\"bulk\", \"list\"];\n"
    "      url = \"https://u.example.org/l/%{sender_domain}\"; },\n"
    "    { name = \"shop\"; senders = [\"*.shop.example\"]; sender_source = \"envelope\";\n"
    "      url = \"http://u.shop.example/%{sender}\"; one_click = false; },\n"
    "    { name = \"whole\"; senders = [\"whole.example\"]; url = \"https://u.whole.example/x\";\n"
    "      mailto = \"mailto:u-%{recipient}@whole.example\"; multi_recipient = \"list-url\";\n"
    "      list_url = \"https://u.whole.example/all\"; },\n"
    "    { name = \"exact\"; senders = [\"@exact.example\"]; sender_source = \"from\";\n"
    "      url = \"https://u.exact.example/x\"; }\n"
    "  );\n"
    "};\n";

#define MAXH 4

typedef struct decide_case {
    const char *name;
    const char *ses_mode; /* NULL: main_conf as is */
    const char *env, *from;
    const char *rcpts[3];
    const char *message_id;
    unsub_hdr hdrs[MAXH];
    /* expectations */
    const char *rule;
    const char *lu;      /* List-Unsubscribe value added, NULL: none */
    int lup;             /* List-Unsubscribe-Post added */
    const char *removes; /* "Name:idx,Name:idx" in order, "" for none */
    const char *note;    /* substring of some note, NULL: no check */
} decide_case;

static const decide_case decide_cases[] = {
    {"no rule matches",
     NULL,
     "a@other.example",
     "a@other.example",
     {"r@x.example"},
     "<m@x>",
     {{NULL, NULL}},
     NULL,
     NULL,
     0,
     "",
     NULL},
    {"exact address, one recipient",
     NULL,
     "bounce@example.com",
     "news@example.com",
     {"alice@example.org"},
     "<abc@example.com>",
     {{NULL, NULL}},
     "news",
     "<https://u.example.com/u?r=alice%40example.org&m=abc%40example.com>, "
     "<mailto:unsub@example.com?subject=news>",
     1,
     "",
     NULL},
    {"exact address is case-insensitive, envelope counts too",
     NULL,
     "NEWS@Example.COM",
     "someone@else.example",
     {"alice@example.org"},
     "abc@example.com",
     {{NULL, NULL}},
     "news",
     "<https://u.example.com/u?r=alice%40example.org&m=abc%40example.com>, "
     "<mailto:unsub@example.com?subject=news>",
     1,
     "",
     NULL},
    {"exact address does not match another local part",
     NULL,
     "newsx@example.com",
     "xnews@example.com",
     {"alice@example.org"},
     "m@x",
     {{NULL, NULL}},
     NULL,
     NULL,
     0,
     "",
     NULL},
    {"several recipients use the list url",
     NULL,
     "",
     "news@example.com",
     {"a@x.example", "b@y.example"},
     "<m@x>",
     {{NULL, NULL}},
     "news",
     "<https://u.example.com/l/news>, <mailto:unsub@example.com?subject=news>",
     1,
     "",
     "2 recipients: list-level URL used"},
    {"missing message id: nothing added",
     NULL,
     "",
     "news@example.com",
     {"a@x.example"},
     NULL,
     {{NULL, NULL}},
     "news",
     NULL,
     0,
     "",
     "no value for %{message_id}"},
    {"trigger header with one recipient: token url, trigger removed",
     NULL,
     "b@lists.example",
     "Lists <l@lists.example>",
     {"carol@example.org"},
     "<m@x>",
     {{"X-Unsubscribe-Rule", " news\r\n"}},
     "trigger",
     "TOKEN",
     1,
     "X-Unsubscribe-Rule:1",
     NULL},
    {"two trigger headers are removed highest index first",
     NULL,
     "b@lists.example",
     "l@lists.example",
     {"carol@example.org"},
     "<m@x>",
     {{"X-Unsubscribe-Rule", "other"}, {"x-unsubscribe-rule", "NEWS"}},
     "trigger",
     "TOKEN",
     1,
     "X-Unsubscribe-Rule:2,X-Unsubscribe-Rule:1",
     NULL},
    {"trigger with several recipients and skip: nothing added, trigger still removed",
     NULL,
     "b@lists.example",
     "l@lists.example",
     {"a@x.example", "b@x.example", "c@x.example"},
     "<m@x>",
     {{"X-Unsubscribe-Rule", "news"}},
     "trigger",
     NULL,
     0,
     "X-Unsubscribe-Rule:1",
     "3 recipients and a recipient-specific URL"},
    {"trigger header with another value does not match",
     NULL,
     "b@lists.example",
     "l@lists.example",
     {"a@x.example"},
     "<m@x>",
     {{"X-Unsubscribe-Rule", "promo"}},
     NULL,
     NULL,
     0,
     "",
     NULL},
    {"Precedence: bulk matches the header rule",
     NULL,
     "",
     "info@corp.example",
     {"a@x.example"},
     NULL,
     {{"Precedence", "bulk"}},
     "bulk",
     "<https://u.example.org/l/corp.example>",
     1,
     "",
     NULL},
    {"Precedence value is case-insensitive",
     NULL,
     "",
     "info@corp.example",
     {"a@x.example"},
     NULL,
     {{"Precedence", " List"}},
     "bulk",
     "<https://u.example.org/l/corp.example>",
     1,
     "",
     NULL},
    {"Precedence: junk does not match",
     NULL,
     "",
     "info@corp.example",
     {"a@x.example"},
     NULL,
     {{"Precedence", "junk"}},
     NULL,
     NULL,
     0,
     "",
     NULL},
    {"first matching rule wins",
     NULL,
     "",
     "news@example.com",
     {"a@x.example"},
     "<m@x>",
     {{"Precedence", "bulk"}},
     "news",
     "<https://u.example.com/u?r=a%40x.example&m=m%40x>, <mailto:unsub@example.com?subject=news>",
     1,
     "",
     NULL},
    {"*.domain matches a subdomain on the envelope, no one-click",
     NULL,
     "b@mail.shop.example",
     "x@other.example",
     {"a@x.example"},
     NULL,
     {{NULL, NULL}},
     "shop",
     "<http://u.shop.example/b%40mail.shop.example>",
     0,
     "",
     NULL},
    {"*.domain does not match the domain itself",
     NULL,
     "b@shop.example",
     "b@shop.example",
     {"a@x.example"},
     NULL,
     {{NULL, NULL}},
     NULL,
     NULL,
     0,
     "",
     NULL},
    {"sender_source envelope ignores From",
     NULL,
     "b@other.example",
     "b@mail.shop.example",
     {"a@x.example"},
     NULL,
     {{NULL, NULL}},
     NULL,
     NULL,
     0,
     "",
     NULL},
    {"whole domain matches the domain",
     NULL,
     "",
     "a@whole.example",
     {"r@x.example"},
     NULL,
     {{NULL, NULL}},
     "whole",
     "<https://u.whole.example/x>, <mailto:u-r%40x.example@whole.example>",
     1,
     "",
     NULL},
    {"whole domain matches subdomains (trailing dot too)",
     NULL,
     "",
     "a@deep.sub.whole.example.",
     {"r@x.example"},
     NULL,
     {{NULL, NULL}},
     "whole",
     "<https://u.whole.example/x>, <mailto:u-r%40x.example@whole.example>",
     1,
     "",
     NULL},
    {"whole domain with two recipients drops the personal mailto",
     NULL,
     "",
     "a@whole.example",
     {"r@x.example", "s@x.example"},
     NULL,
     {{NULL, NULL}},
     "whole",
     "<https://u.whole.example/all>",
     1,
     "",
     NULL},
    {"whole domain does not match a look-alike",
     NULL,
     "",
     "a@notwhole.example",
     {"r@x.example"},
     NULL,
     {{NULL, NULL}},
     NULL,
     NULL,
     0,
     "",
     NULL},
    {"@domain matches only that domain",
     NULL,
     "",
     "a@sub.exact.example",
     {"r@x.example"},
     NULL,
     {{NULL, NULL}},
     NULL,
     NULL,
     0,
     "",
     NULL},
    {"@domain matches the From domain",
     NULL,
     "",
     "<a@exact.example>",
     {"r@x.example"},
     NULL,
     {{NULL, NULL}},
     "exact",
     "<https://u.exact.example/x>",
     1,
     "",
     NULL},
    {"existing https List-Unsubscribe kept, Post added",
     NULL,
     "",
     "a@exact.example",
     {"r@x.example"},
     NULL,
     {{"List-Unsubscribe", "<mailto:x@y>,\r\n <https://app/u?x=1>"}},
     "exact",
     NULL,
     1,
     "",
     "already has List-Unsubscribe; kept"},
    {"existing mailto-only List-Unsubscribe: no Post",
     NULL,
     "",
     "a@exact.example",
     {"r@x.example"},
     NULL,
     {{"List-Unsubscribe", "<mailto:x@y>"}},
     "exact",
     NULL,
     0,
     "",
     "no https URI"},
    {"existing List-Unsubscribe and Post: both kept",
     NULL,
     "",
     "a@exact.example",
     {"r@x.example"},
     NULL,
     {{"List-Unsubscribe", "<https://app/u>"},
      {"List-Unsubscribe-Post", "List-Unsubscribe=One-Click"}},
     "exact",
     NULL,
     0,
     "",
     "already has List-Unsubscribe-Post; kept"},
    {"two existing List-Unsubscribe: no Post",
     NULL,
     "",
     "a@exact.example",
     {"r@x.example"},
     NULL,
     {{"List-Unsubscribe", "<https://a/u>"}, {"List-Unsubscribe", "<https://b/u>"}},
     "exact",
     NULL,
     0,
     "",
     "2 List-Unsubscribe headers"},
    {"existing https List-Unsubscribe with one_click off: no Post",
     NULL,
     "b@m.shop.example",
     "",
     {"r@x.example"},
     NULL,
     {{"List-Unsubscribe", "<https://app/u>"}},
     "shop",
     NULL,
     0,
     "",
     NULL},
    {"lone List-Unsubscribe-Post is reported without a rule",
     NULL,
     "",
     "a@none.example",
     {"r@x.example"},
     NULL,
     {{"List-Unsubscribe-Post", "List-Unsubscribe=One-Click"}},
     NULL,
     NULL,
     0,
     "",
     "List-Unsubscribe-Post without List-Unsubscribe"},
    {"existing List-Unsubscribe-Post with a wrong value is reported",
     NULL,
     "",
     "a@none.example",
     {"r@x.example"},
     NULL,
     {{"List-Unsubscribe", "<https://app/u>"}, {"List-Unsubscribe-Post", "One-Click"}},
     NULL,
     NULL,
     0,
     "",
     "is not \"List-Unsubscribe=One-Click\""},
    {"lone List-Unsubscribe-Post: ours added, no second Post",
     NULL,
     "",
     "a@exact.example",
     {"r@x.example"},
     NULL,
     {{"List-Unsubscribe-Post", "List-Unsubscribe=One-Click"}},
     "exact",
     "<https://u.exact.example/x>",
     0,
     "",
     "List-Unsubscribe-Post without List-Unsubscribe"},
    {"injection through the recipient is encoded",
     NULL,
     "",
     "news@example.com",
     {"a@x.example>\r\nBcc: evil@example.net\r\n<"},
     "<m@x>",
     {{NULL, NULL}},
     "news",
     "<https://u.example.com/u?r=a%40x.example%3E%0D%0ABcc%3A%20evil%40example.net%0D%0A%3C&m=m%"
     "40x>, <mailto:unsub@example.com?subject=news>",
     1,
     "",
     NULL},
    {"injection through the message id is encoded",
     NULL,
     "",
     "news@example.com",
     {"a@x.example"},
     "x>, <https://evil.example/>\r\n\tX-Evil: 1",
     {{NULL, NULL}},
     "news",
     "<https://u.example.com/u?r=a%40x.example&m=x%3E%2C%20%3Chttps%3A%2F%2Fevil.example%2F%3E%0D%"
     "0A%09X-Evil%3A%201>, <mailto:unsub@example.com?subject=news>",
     1,
     "",
     NULL},
    {"SES header with keep-ses: nothing added",
     NULL,
     "",
     "a@exact.example",
     {"r@x.example"},
     NULL,
     {{"X-SES-LIST-MANAGEMENT-OPTIONS", "contactlist; topic=t"}},
     "exact",
     NULL,
     0,
     "",
     "SES subscription management will add its own"},
    {"SES header with add-anyway: added, noted",
     "add-anyway",
     "",
     "a@exact.example",
     {"r@x.example"},
     NULL,
     {{"X-SES-LIST-MANAGEMENT-OPTIONS", "contactlist"}},
     "exact",
     "<https://u.exact.example/x>",
     1,
     "",
     "SES will rewrite"},
    {"SES header with remove-ses-header: removed and added",
     "remove-ses-header",
     "",
     "a@exact.example",
     {"r@x.example"},
     NULL,
     {{"X-SES-LIST-MANAGEMENT-OPTIONS", "a"}, {"X-SES-List-Management-Options", "b"}},
     "exact",
     "<https://u.exact.example/x>",
     1,
     "X-SES-LIST-MANAGEMENT-OPTIONS:2,X-SES-LIST-MANAGEMENT-OPTIONS:1",
     "removed so that SES"},
    {"SES header without a matching rule is left alone",
     "remove-ses-header",
     "",
     "a@none.example",
     {"r@x.example"},
     NULL,
     {{"X-SES-LIST-MANAGEMENT-OPTIONS", "a"}},
     NULL,
     NULL,
     0,
     "",
     NULL},
};

/* the conf text with ses_list_management set */
static unsub_conf *
conf_for(const char *ses_mode)
{
    char text[8192], err[512];
    unsub_conf *c = NULL;

    if (ses_mode == NULL) {
        snprintf(text, sizeof(text), "%s", main_conf);
    } else {
        const char *brace = strchr(main_conf, '{');
        snprintf(text, sizeof(text), "%.*s\n  ses_list_management = \"%s\";%s",
                 (int)(brace - main_conf + 1), main_conf, ses_mode, brace + 1);
    }
    if (parse_text(text, &c, err, sizeof(err), NULL) != 0)
        fail_msg("config: %s", err);
    return c;
}

/* "Name:idx,Name:idx" of res->remove */
static void
removes_str(const unsub_result *res, char *buf, size_t len)
{
    buf[0] = '\0';
    for (size_t i = 0; i < res->n_remove; i++)
        snprintf(buf + strlen(buf), len - strlen(buf), "%s%s:%d", i ? "," : "", res->remove[i].name,
                 res->remove[i].index);
}

/* the List-Unsubscribe of a "TOKEN" case: one https URL whose token verifies */
static void
check_token_value(const decide_case *c, const char *value)
{
    const char *prefix = "<https://u.example.net/t/";
    unsigned char key[] = "0123456789abcdef0123456789abcdef";
    unsub_token_info info;
    char tok[1024], err[256];
    size_t n;

    if (strncmp(value, prefix, strlen(prefix)) != 0)
        fail_msg("%s: value %s", c->name, value);
    n = strlen(value) - strlen(prefix) - 1;
    assert_true(n < sizeof(tok) && value[strlen(value) - 1] == '>');
    memcpy(tok, value + strlen(prefix), n);
    tok[n] = '\0';
    assert_int_equal(unsub_token_verify(key, 32, tok, NOW, 0, &info, err, sizeof(err)),
                     UNSUB_TOKEN_OK);
    assert_string_equal(info.recipient, c->rcpts[0]);
    assert_string_equal(info.list_id, "news.lists.example");
    assert_int_equal(info.issued, NOW);
    unsub_token_info_clear(&info);
}

/* check one decision against its expectations */
static void
check_decision(const decide_case *c, const unsub_result *res)
{
    size_t k = 0;
    char buf[512];

    if ((c->rule == NULL) != (res->rule == NULL) ||
        (c->rule != NULL && strcmp(c->rule, res->rule) != 0))
        fail_msg("%s: rule %s, want %s", c->name, res->rule ? res->rule : "(none)",
                 c->rule ? c->rule : "(none)");
    if (c->lu != NULL) {
        if (res->n_add < 1 || strcmp(res->add[0].name, "List-Unsubscribe") != 0)
            fail_msg("%s: no List-Unsubscribe added (%zu notes, first: %s)", c->name, res->n_notes,
                     res->n_notes ? res->notes[0] : "-");
        if (strcmp(c->lu, "TOKEN") == 0)
            check_token_value(c, res->add[0].value);
        else if (strcmp(res->add[0].value, c->lu) != 0)
            fail_msg("%s: List-Unsubscribe\n  got  %s\n  want %s", c->name, res->add[0].value,
                     c->lu);
        assert_null(strpbrk(res->add[0].value, "\r\n"));
        k = 1;
    }
    if (c->lup) {
        if (res->n_add != k + 1 || strcmp(res->add[k].name, "List-Unsubscribe-Post") != 0 ||
            strcmp(res->add[k].value, "List-Unsubscribe=One-Click") != 0)
            fail_msg("%s: List-Unsubscribe-Post not added", c->name);
        k++;
    }
    if (res->n_add != k)
        fail_msg("%s: %zu headers added, want %zu", c->name, res->n_add, k);
    removes_str(res, buf, sizeof(buf));
    if (strcmp(buf, c->removes) != 0)
        fail_msg("%s: removes '%s', want '%s'", c->name, buf, c->removes);
    if (c->note != NULL) {
        int found = 0;
        for (size_t i = 0; i < res->n_notes; i++)
            found |= strstr(res->notes[i], c->note) != NULL;
        if (!found)
            fail_msg("%s: no note with '%s' (%zu notes, first: %s)", c->name, c->note, res->n_notes,
                     res->n_notes ? res->notes[0] : "-");
    }
}

static void
test_unsub_decide_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(decide_cases) / sizeof(decide_cases[0]); i++) {
        const decide_case *c = &decide_cases[i];
        unsub_conf *conf = conf_for(c->ses_mode);
        unsub_msg m;
        unsub_result res;
        char err[256];
        size_t nr = 0, nh = 0;

        while (nr < 3 && c->rcpts[nr] != NULL)
            nr++;
        while (nh < MAXH && c->hdrs[nh].name != NULL)
            nh++;
        memset(&m, 0, sizeof(m));
        m.env_sender = c->env;
        m.from_addr = c->from;
        m.rcpts = c->rcpts;
        m.n_rcpts = nr;
        m.message_id = c->message_id;
        m.hdrs = c->hdrs;
        m.n_hdrs = nh;
        m.now = NOW;
        for (size_t h = 0; h < nh; h++)
            if (!unsub_header_wanted(conf, c->hdrs[h].name))
                fail_msg("%s: header %s not wanted", c->name, c->hdrs[h].name);
        assert_int_equal(unsub_decide(conf, &m, &res, err, sizeof(err)), 0);
        check_decision(c, &res);
        unsub_result_clear(&res);
        assert_int_equal(res.n_add + res.n_remove + res.n_notes, 0);
        unsub_conf_free(conf);
    }
}

/* random_str - n random bytes 1..255, NUL-terminated */
static void
random_str(char *buf, size_t n, unsigned *seed)
{
    for (size_t i = 0; i < n; i++)
        buf[i] = (char)(1 + rand_r(seed) % 255);
    buf[n] = '\0';
}

static void
test_unsub_random_values_never_reach_headers_raw(void **state)
{
    unsub_conf *conf = conf_for(NULL);
    unsigned seed = 4242;
    char rcpt[64], msgid[64], hval[64];
    int added = 0;

    (void)state;
    for (int i = 0; i < 3000; i++) {
        const char *rcpts[1] = {rcpt};
        unsub_hdr hdrs[1] = {{i % 2 ? "List-Unsubscribe-Post" : "Precedence", hval}};
        unsub_msg m = {"", "news@example.com", rcpts, 1, msgid, hdrs, 1, NOW};
        unsub_result res;
        char err[256];

        random_str(rcpt, (size_t)(rand_r(&seed) % 60), &seed);
        random_str(msgid, (size_t)(rand_r(&seed) % 60), &seed);
        random_str(hval, (size_t)(rand_r(&seed) % 60), &seed);
        assert_int_equal(unsub_decide(conf, &m, &res, err, sizeof(err)), 0);
        added += res.n_add > 0;
        for (size_t k = 0; k < res.n_add; k++) {
            size_t lt = 0, gt = 0;
            for (const unsigned char *p = (const unsigned char *)res.add[k].value; *p; p++) {
                if ((*p < 0x20 || *p > 0x7e))
                    fail_msg("byte 0x%02x in %s", *p, res.add[k].value);
                lt += *p == '<';
                gt += *p == '>';
            }
            if (k == 0 && (lt != 2 || gt != 2))
                fail_msg("brackets in %s", res.add[k].value);
        }
        unsub_result_clear(&res);
    }
    if (added < 2000) /* the checks above must have had values to look at */
        fail_msg("only %d of 3000 messages got headers", added);
    unsub_conf_free(conf);
}

static void
test_unsub_no_rules_changes_nothing(void **state)
{
    static const unsub_hdr hdrs[] = {{"Precedence", "bulk"}, {"List-Unsubscribe", "<https://a>"}};
    const char *rcpts[] = {"r@x.example"};
    unsub_conf *c = NULL;
    unsub_msg m = {"a@b.example", "a@b.example", rcpts, 1, "<m@x>", hdrs, 2, NOW};
    unsub_result res;
    char err[256];

    (void)state;
    assert_int_equal(unsub_conf_parse(NULL, &c, err, sizeof(err)), 0);
    assert_int_equal(unsub_conf_n_rules(c), 0);
    assert_int_equal(unsub_decide(c, &m, &res, err, sizeof(err)), 0);
    assert_null(res.rule);
    assert_int_equal(res.n_add + res.n_remove + res.n_notes, 0);
    assert_false(unsub_header_wanted(c, "Precedence"));
    assert_true(unsub_header_wanted(c, "list-unsubscribe"));
    assert_int_equal(unsub_conf_token_ttl(c), 15552000);
    unsub_result_clear(&res);
    assert_int_equal(unsub_decide(NULL, &m, &res, err, sizeof(err)), -1);
    assert_int_equal(unsub_decide(c, NULL, &res, err, sizeof(err)), -1);
    unsub_conf_free(c);
}

static void
test_unsub_dump_shows_rules(void **state)
{
    unsub_conf *c = conf_for(NULL);
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);

    (void)state;
    unsub_conf_dump(fp, c);
    fclose(fp);
    assert_non_null(strstr(buf, "unsubscribe.token_ttl = 15552000;"));
    assert_non_null(strstr(buf, "unsubscribe.ses_list_management = \"keep-ses\";"));
    assert_non_null(strstr(buf, "6 rule(s)"));
    assert_non_null(strstr(buf, "unsubscribe.rules.[1].url = \"https://u.example.com/u?r="));
    assert_null(strstr(buf, "0123456789abcdef")); /* never the key itself */
    free(buf);
    unsub_conf_free(c);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unsub_decide_table),
        cmocka_unit_test(test_unsub_random_values_never_reach_headers_raw),
        cmocka_unit_test(test_unsub_no_rules_changes_nothing),
        cmocka_unit_test(test_unsub_dump_shows_rules),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
