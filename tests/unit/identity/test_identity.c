/*
 * test_identity.c - SES identity chain: candidates, normalisation, PSL stop
 *
 * Tables of (local, domain, separator) -> expected candidates, most
 * specific first, written "a:" for an address and "d:" for a domain; NULL
 * expected means the input must be refused with a reason.  The Public
 * Suffix List's official vectors (TESTDATA/dmarc/psl/tests.txt) check
 * that the chain stops at the registrable domain and never asks about a
 * public suffix.
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

#include "identity/identity.h"
#include "testdata.h"
#include "lib/util.h"

typedef struct cand_case {
    const char *what;
    const char *local, *domain;
    char sep;
    const char *expect; /* "a:x|d:y", NULL: refused */
} cand_case;

/* cands_join - "a:x|d:y" form of a candidate vector */
static char *
cands_join(const identity_cand *v, size_t n)
{
    char *s = xstrdup("");

    for (size_t i = 0; i < n; i++) {
        char *t = xasprintf("%s%s%c:%s", s, i ? "|" : "",
                            v[i].kind == SM_IDKIND_ADDRESS ? 'a' : 'd', v[i].identity);
        free(s);
        s = t;
    }
    return s;
}

static void
run_cand_table(const cand_case *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        identity_cand *v = NULL;
        size_t nv = 0;
        char err[256] = "";
        int rc = identity_candidates(t[i].local, t[i].domain, t[i].sep, &v, &nv, err, sizeof(err));
        if (t[i].expect == NULL) {
            if (rc != -1 || err[0] == '\0')
                fail_msg("%s: expected a refusal with a reason, got rc=%d", t[i].what, rc);
            assert_null(v);
            continue;
        }
        if (rc != 0)
            fail_msg("%s: refused: %s", t[i].what, err);
        char *got = cands_join(v, nv);
        if (strcmp(got, t[i].expect) != 0)
            fail_msg("%s:\n  expected %s\n  got      %s", t[i].what, t[i].expect, got);
        free(got);
        identity_cands_free(v, nv);
    }
}

static void
test_identity_subdomain_covered_by_parents_up_to_registrable(void **state)
{
    static const cand_case t[] = {
        {"two levels below", "user", "a.b.example.com", '+',
         "a:user@a.b.example.com|d:a.b.example.com|d:b.example.com|d:example.com"},
        {"the registrable domain itself", "user", "example.com", '+',
         "a:user@example.com|d:example.com"},
        {"co.uk stops at example.co.uk", "user", "mail.example.co.uk", '+',
         "a:user@mail.example.co.uk|d:mail.example.co.uk|d:example.co.uk"},
        {"private suffix github.io", "user", "foo.github.io", '+',
         "a:user@foo.github.io|d:foo.github.io"},
        {"unlisted TLD", "user", "x.corp.example", '+',
         "a:user@x.corp.example|d:x.corp.example|d:corp.example"},
    };
    (void)state;
    run_cand_table(t, SM_ARRAY_LEN(t));
}

static void
test_identity_public_suffix_never_asked(void **state)
{
    static const cand_case t[] = {
        {"com", "user", "com", '+', "a:user@com"},
        {"co.uk", "user", "co.uk", '+', "a:user@co.uk"},
        {"github.io", "user+x", "github.io", '+', "a:user+x@github.io|a:user@github.io"},
        {"wildcard *.ck", "user", "www.ck", '+', "a:user@www.ck|d:www.ck"},
        {"wildcard suffix foo.ck", "user", "foo.ck", '+', "a:user@foo.ck"},
    };
    (void)state;
    run_cand_table(t, SM_ARRAY_LEN(t));
}

static void
test_identity_label_stripped_with_configured_separator(void **state)
{
    static const cand_case t[] = {
        {"+label", "user+tag", "example.com", '+',
         "a:user+tag@example.com|a:user@example.com|d:example.com"},
        {"first separator only", "user+a+b", "example.com", '+',
         "a:user+a+b@example.com|a:user@example.com|d:example.com"},
        {"separator '-'", "user-tag", "example.com", '-',
         "a:user-tag@example.com|a:user@example.com|d:example.com"},
        {"'+' is not the separator when '-' is", "user+tag", "example.com", '-',
         "a:user+tag@example.com|d:example.com"},
        {"no separator", "user+tag", "example.com", '\0', "a:user+tag@example.com|d:example.com"},
        {"leading separator keeps the address", "+tag", "example.com", '+',
         "a:+tag@example.com|d:example.com"},
    };
    (void)state;
    run_cand_table(t, SM_ARRAY_LEN(t));
}

static void
test_identity_local_part_case_kept_domain_lowered(void **state)
{
    static const cand_case t[] = {
        {"local part case kept", "Sender", "example.com", '+',
         "a:Sender@example.com|d:example.com"},
        {"domain lower-cased", "sender", "EXAMPLE.Com", '+', "a:sender@example.com|d:example.com"},
        {"both", "Sender+Tag", "Mail.EXAMPLE.com", '+',
         "a:Sender+Tag@mail.example.com|a:Sender@mail.example.com|d:mail.example.com|d:example."
         "com"},
        {"trailing dot dropped", "user", "example.com.", '+', "a:user@example.com|d:example.com"},
        {"quoted local part kept as is", "\"john doe\"", "example.com", '+',
         "a:\"john doe\"@example.com|d:example.com"},
    };
    (void)state;
    run_cand_table(t, SM_ARRAY_LEN(t));
}

static void
test_identity_idn_unicode_and_alabel_forms_equal(void **state)
{
    static const cand_case t[] = {
        {"U-label", "user", "bücher.example", '+',
         "a:user@xn--bcher-kva.example|d:xn--bcher-kva.example"},
        {"A-label", "user", "xn--bcher-kva.example", '+',
         "a:user@xn--bcher-kva.example|d:xn--bcher-kva.example"},
        {"upper-case U-label", "user", "BÜCHER.EXAMPLE", '+',
         "a:user@xn--bcher-kva.example|d:xn--bcher-kva.example"},
        {"upper-case A-label", "user", "XN--BCHER-KVA.Example", '+',
         "a:user@xn--bcher-kva.example|d:xn--bcher-kva.example"},
        {"IDN under an IDN TLD", "user", "www.食狮.中国", '+',
         "a:user@www.xn--85x722f.xn--fiqs8s|d:www.xn--85x722f.xn--fiqs8s|d:xn--85x722f.xn--fiqs8s"},
        {"nontransitional ß", "user", "faß.de", '+', "a:user@xn--fa-hia.de|d:xn--fa-hia.de"},
    };
    (void)state;
    run_cand_table(t, SM_ARRAY_LEN(t));
}

static void
test_identity_invalid_input_refused_not_crashed(void **state)
{
    char long_label[80], long_domain[300], long_local[300];
    const cand_case t[] = {
        {"empty domain", "user", "", '+', NULL},
        {"empty label", "user", "a..example.com", '+', NULL},
        {"leading dot", "user", ".example.com", '+', NULL},
        {"only a dot", "user", ".", '+', NULL},
        {"space in domain", "user", "exa mple.com", '+', NULL},
        {"address literal", "user", "[192.0.2.1]", '+', NULL},
        {"label over 63", "user", long_label, '+', NULL},
        {"domain over 253", "user", long_domain, '+', NULL},
        {"invalid UTF-8", "user", "\xff\xfe.example", '+', NULL},
        {"invalid A-label", "user", "xn--zz-.example", '+', NULL},
        {"bad punycode", "user", "xn--a.example", '+', NULL},
        {"hyphen at label start", "user", "-a.example.com", '+', NULL},
        {"empty local part", "", "example.com", '+', NULL},
        {"CR LF in local part", "us\r\ner", "example.com", '+', NULL},
        {"local part over 256", long_local, "example.com", '+', NULL},
        {"NULL domain", "user", NULL, '+', NULL},
        {"NULL local", NULL, "example.com", '+', NULL},
    };
    (void)state;
    memset(long_label, 'a', 64);
    strcpy(long_label + 64, ".com");
    for (size_t i = 0; i < 252; i += 2)
        memcpy(long_domain + i, "a.", 2);
    strcpy(long_domain + 252, "com"); /* 255 octets */
    memset(long_local, 'x', 299);
    long_local[299] = '\0';
    run_cand_table(t, SM_ARRAY_LEN(t));
}

static void
test_identity_normalize_address_and_domain(void **state)
{
    static const struct {
        const char *in;
        sm_id_kind kind;
        const char *out; /* NULL: refused */
    } t[] = {
        {"User@BÜCHER.example", SM_IDKIND_ADDRESS, "User@xn--bcher-kva.example"},
        {"a@b@Example.COM", SM_IDKIND_ADDRESS, "a@b@example.com"},
        {"Example.COM.", SM_IDKIND_DOMAIN, "example.com"},
        {"no-at-sign", SM_IDKIND_ADDRESS, NULL},
        {"@example.com", SM_IDKIND_ADDRESS, NULL},
        {"a..b", SM_IDKIND_DOMAIN, NULL},
    };
    (void)state;
    for (size_t i = 0; i < SM_ARRAY_LEN(t); i++) {
        char *out = NULL, err[128];
        int rc = identity_normalize(t[i].in, t[i].kind, &out, err, sizeof(err));
        if (t[i].out == NULL) {
            assert_int_equal(rc, -1);
            assert_null(out);
        } else {
            assert_int_equal(rc, 0);
            assert_string_equal(out, t[i].out);
        }
        free(out);
    }
}

/*
 * The official PSL vectors: for "input expected", the last domain
 * candidate of user@input is the registrable domain; "null" means the
 * chain has no domain candidate at all (or the input is refused).
 */
static void
test_identity_psl_suite_registrable_domain_stop(void **state)
{
    char *path, line[512];
    int total = 0, pass = 0;
    FILE *fp;

    (void)state;
    if (!testdata_have("dmarc/psl/tests.txt"))
        skip();
    path = xasprintf("%s/dmarc/psl/tests.txt", testdata_dir());
    fp = fopen(path, "r");
    if (fp == NULL)
        fail_msg("cannot open %s", path);
    while (fgets(line, sizeof(line), fp) != NULL) {
        char in[256], exp[256], err[256], *expn = NULL;
        identity_cand *v = NULL;
        size_t n = 0;
        const char *last = NULL;

        if (strncmp(line, "//", 2) == 0 || sscanf(line, "%255s %255s", in, exp) != 2)
            continue;
        if (strcmp(in, "null") == 0)
            continue; /* no input to build a chain from */
        total++;
        if (identity_candidates("user", in, '+', &v, &n, err, sizeof(err)) == 0)
            for (size_t i = 0; i < n; i++)
                if (v[i].kind == SM_IDKIND_DOMAIN)
                    last = v[i].identity;
        if (strcmp(exp, "null") != 0 && identity_domain_normalize(exp, &expn, err, sizeof(err)) < 0)
            fail_msg("expected value %s does not normalise: %s", exp, err);
        if ((expn == NULL && last == NULL) ||
            (expn != NULL && last != NULL && strcmp(expn, last) == 0))
            pass++;
        else
            print_message("PSL vector failed: %s -> expected %s, chain ends at %s\n", in, exp,
                          last ? last : "(none)");
        free(expn);
        identity_cands_free(v, n);
    }
    fclose(fp);
    free(path);
    print_message("PSL suite (dmarc/psl/tests.txt): %d/%d vectors pass\n", pass, total);
    assert_true(total >= 70);
    assert_int_equal(pass, total);
}

/* random bytes (fixed seed) never crash; accepted domains are already normal */
static void
test_identity_random_input_defined_result_and_idempotent(void **state)
{
    /* mostly valid characters, some hostile ones */
    static const char alphabet[] = "abcdefxyzABC0129.-abcdefghij.klmnXYZ.abc+_"
                                   "abcdefxyzABC0129.-abcdefghij.klmnXYZ.abc+_"
                                   "@\"\\ \r\n\x01\x7f\xc3\xbc\xff\xe4\xb8\xad";
    uint32_t seed = 12345;
    int accepted = 0;

    (void)state;
    for (int i = 0; i < 20000; i++) {
        char local[40], domain[80], err[256];
        identity_cand *v;
        size_t n, ll, dl;

        seed = seed * 1103515245u + 12345u;
        ll = (seed >> 16) % sizeof(local);
        seed = seed * 1103515245u + 12345u;
        dl = (seed >> 16) % sizeof(domain);
        for (size_t k = 0; k < ll; k++) {
            seed = seed * 1103515245u + 12345u;
            local[k] = alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
        }
        local[ll] = '\0';
        for (size_t k = 0; k < dl; k++) {
            seed = seed * 1103515245u + 12345u;
            domain[k] = alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
        }
        domain[dl] = '\0';
        if (identity_candidates(local, domain, '+', &v, &n, err, sizeof(err)) != 0) {
            assert_true(err[0] != '\0');
            continue;
        }
        accepted++;
        assert_true(n >= 1);
        for (size_t k = 0; k < n; k++) {
            char *again = NULL;
            assert_int_equal(identity_normalize(v[k].identity, v[k].kind, &again, err, sizeof(err)),
                             0);
            assert_string_equal(again, v[k].identity);
            free(again);
        }
        identity_cands_free(v, n);
    }
    print_message("random inputs accepted: %d of 20000\n", accepted);
    assert_true(accepted > 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identity_subdomain_covered_by_parents_up_to_registrable),
        cmocka_unit_test(test_identity_public_suffix_never_asked),
        cmocka_unit_test(test_identity_label_stripped_with_configured_separator),
        cmocka_unit_test(test_identity_local_part_case_kept_domain_lowered),
        cmocka_unit_test(test_identity_idn_unicode_and_alabel_forms_equal),
        cmocka_unit_test(test_identity_invalid_input_refused_not_crashed),
        cmocka_unit_test(test_identity_normalize_address_and_domain),
        cmocka_unit_test(test_identity_psl_suite_registrable_domain_stop),
        cmocka_unit_test(test_identity_random_input_defined_result_and_idempotent),
    };
    return testdata_exit(cmocka_run_group_tests(tests, NULL, NULL));
}
