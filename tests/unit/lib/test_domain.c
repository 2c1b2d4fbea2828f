/*
 * test_domain.c - lib/domain.c: the one domain normaliser, table-driven
 *
 * DOMAIN_STRICT rows (identities): IDN U-label to A-label, an A-label kept,
 * mixed case folded, one trailing dot removed, empty and too long labels, a
 * 254-octet name, bad characters, leading/trailing '-', and an xn-- label
 * that does not round trip.  DOMAIN_LOOSE rows (names from messages, moved
 * from test_orgdomain.c): case, trailing dot, IDN, non-transitional ß,
 * empty labels, spaces, '@', a 64-octet label, bytes that are not UTF-8.
 * The flags rows show what each flag changes, on the same input.  PSL
 * organisational domains and the RFC 9989 tree walk are tested in
 * test_domain_psl.c and test_dmarc_bis.c.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/domain.h"
#include "lib/util.h"

static void
test_domain_normalize_strict_table(void **state SM_UNUSED)
{
    static char long_label[80], long_name[300];
    const struct {
        const char *in;
        const char *want; /* NULL: refused */
    } rows[] = {
        {"b\xc3\xbc"
         "cher.example",
         "xn--bcher-kva.example"},
        {"xn--bcher-kva.example", "xn--bcher-kva.example"},
        {"XN--BCHER-KVA.Example", "xn--bcher-kva.example"},
        {"MiXeD.ExAmPlE.", "mixed.example"},
        {"_dmarc.example", "_dmarc.example"},
        {"example.", "example"},
        {"", NULL},
        {".", NULL},
        {"example..", NULL},
        {"a..example", NULL},
        {"-a.example", NULL},
        {"a-.example", NULL},
        {"a b.example", NULL},
        {"a@b.example", NULL},
        {"xn--zz.example", NULL},
        {long_label, NULL},
        {long_name, NULL},
    };
    memset(long_label, 'a', 64);
    memcpy(long_label + 64, ".example", 9);
    for (size_t i = 0; i < 254; i++)
        long_name[i] = i % 2 ? '.' : 'a';
    long_name[253] = 'a';
    long_name[254] = '\0';
    for (size_t i = 0; i < SM_ARRAY_LEN(rows); i++) {
        char out[DOMAIN_MAX] = "", err[256] = "";
        int rc = domain_normalize(rows[i].in, DOMAIN_STRICT, out, sizeof(out), err, sizeof(err));
        if (rows[i].want == NULL) {
            if (rc != -1 || out[0] != '\0' || err[0] == '\0')
                fail_msg("row %zu (%s): accepted as %s", i, rows[i].in, out);
        } else if (rc != 0 || strcmp(out, rows[i].want) != 0) {
            fail_msg("row %zu (%s): got %s (%s)", i, rows[i].in, out, err);
        }
    }
}

static void
test_domain_normalize_loose_table(void **state SM_UNUSED)
{
    static const struct {
        const char *in, *want; /* want NULL: refused */
    } cases[] = {
        {"Example.COM", "example.com"},
        {"example.com.", "example.com"},
        {"Bücher.Example", "xn--bcher-kva.example"},
        {"faß.de", "xn--fa-hia.de"}, /* non-transitional: ß is kept, not mapped to ss */
        {"xn--bcher-kva.example", "xn--bcher-kva.example"},
        {"", NULL},
        {".", NULL},
        {".example.com", NULL},
        {"a..example", NULL},
        {"exa mple.com", NULL},
        {"user@example.com", NULL},
        {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com", NULL}, /* 64 */
        {"\xff\xfe.com", NULL}, /* not UTF-8 */
    };

    for (size_t i = 0; i < SM_ARRAY_LEN(cases); i++) {
        char out[DOMAIN_MAX] = "";
        int rc = domain_normalize(cases[i].in, DOMAIN_LOOSE, out, sizeof(out), NULL, 0);
        if (cases[i].want == NULL && rc == 0)
            fail_msg("case %zu: %s accepted as %s", i, cases[i].in, out);
        if (cases[i].want != NULL && (rc < 0 || strcmp(out, cases[i].want) != 0))
            fail_msg("case %zu: %s -> %s, want %s", i, cases[i].in, rc < 0 ? "(refused)" : out,
                     cases[i].want);
    }
    assert_int_equal(domain_normalize(NULL, DOMAIN_LOOSE, NULL, 0, NULL, 0), -1);
}

/* the same input under each flag: what the flag changes, and that nothing else does */
static void
test_domain_normalize_flags_table(void **state SM_UNUSED)
{
    static const struct {
        const char *in;
        unsigned flags;
        const char *want; /* NULL: refused */
    } rows[] = {
        {"-a.example", DOMAIN_STRICT, NULL},
        {"-a.example", DOMAIN_PRINTABLE, "-a.example"},
        {"xn--zz.example", DOMAIN_STRICT, NULL},
        {"xn--zz.example", DOMAIN_PRINTABLE, "xn--zz.example"},
        {"*.example", DOMAIN_STRICT, NULL},
        {"*.example", DOMAIN_LOOSE, "*.example"},
        {"a/b.example", DOMAIN_LOOSE, NULL},
        {"a\\b.example", DOMAIN_LOOSE, NULL},
        {"a\x7f.example", DOMAIN_LOOSE, NULL},
        {"B\xc3\xbc"
         "cher.Example.",
         DOMAIN_NFC, "xn--bcher-kva.example"},
        {"-a.example", DOMAIN_NFC, NULL},
        /* u + U+0308 (not NFC): libidn2's UTS #46 mapping composes it under either form;
         * DOMAIN_NFC keeps the loose form's IDN2_NFC_INPUT for libidn2 builds that do not */
        {"u\xcc\x88"
         "ber.example",
         DOMAIN_STRICT, "xn--ber-goa.example"},
        {"u\xcc\x88"
         "ber.example",
         DOMAIN_NFC, "xn--ber-goa.example"},
    };

    for (size_t i = 0; i < SM_ARRAY_LEN(rows); i++) {
        char out[DOMAIN_MAX] = "", err[256] = "";
        int rc = domain_normalize(rows[i].in, rows[i].flags, out, sizeof(out), err, sizeof(err));
        if (rows[i].want == NULL && (rc != -1 || err[0] == '\0'))
            fail_msg("row %zu (%s, flags %u): accepted as %s", i, rows[i].in, rows[i].flags, out);
        if (rows[i].want != NULL && (rc != 0 || strcmp(out, rows[i].want) != 0))
            fail_msg("row %zu (%s, flags %u): got %s (%s)", i, rows[i].in, rows[i].flags,
                     rc < 0 ? "(refused)" : out, err);
    }
}

static void
test_domain_normalize_small_buffer_is_refused(void **state SM_UNUSED)
{
    char out[11], fits[12], err[128] = "";

    assert_int_equal(
        domain_normalize("Example.COM", DOMAIN_LOOSE, out, sizeof(out), err, sizeof(err)), -1);
    assert_non_null(strstr(err, "does not fit"));
    assert_int_equal(domain_normalize("Example.COM", DOMAIN_STRICT, fits, sizeof(fits), NULL, 0),
                     0);
    assert_string_equal(fits, "example.com");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_domain_normalize_strict_table),
        cmocka_unit_test(test_domain_normalize_loose_table),
        cmocka_unit_test(test_domain_normalize_flags_table),
        cmocka_unit_test(test_domain_normalize_small_buffer_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
