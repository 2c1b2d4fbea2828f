/*
 * test_domain.c - lib/domain.c: the strict domain normaliser, table-driven
 *
 * Rows: IDN U-label to A-label, an A-label kept, mixed case folded, one
 * trailing dot removed, empty and too long labels, a 254-octet name, bad
 * characters, leading/trailing '-', and an xn-- label that does not round
 * trip.  PSL organisational domains and the RFC 9989 tree walk are still
 * tested in test_orgdomain.c and test_dmarc_bis.c.
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

static void
test_domain_normalize_table(void **state)
{
    static char long_label[80], long_name[300];

    (void)state;
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
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char *out = NULL, err[256] = "";
        int rc = domain_normalize(rows[i].in, &out, err, sizeof(err));
        if (rows[i].want == NULL) {
            if (rc != -1 || out != NULL || err[0] == '\0')
                fail_msg("row %zu (%s): accepted as %s", i, rows[i].in, out ? out : "?");
        } else if (rc != 0 || out == NULL || strcmp(out, rows[i].want) != 0) {
            fail_msg("row %zu (%s): got %s (%s)", i, rows[i].in, out ? out : "NULL", err);
        }
        free(out);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_domain_normalize_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
