/*
 * test_domain_psl.c - lib/domain_psl.c: the official PSL test vectors, same
 * organisation and public suffix tables, a small buffer
 *
 * Reads $(SM_TESTDATA)/dmarc/psl/tests.txt (78 vectors "<input> <expected>",
 * "null" for none) and checks domain_psl_registrable() against each; prints the
 * score.  Expected Unicode values are compared in A-label form, the form
 * this module returns.  The list is a fixed file for a reproducible score:
 * the snapshot in the test data when there is one, else the system copy.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "lib/domain.h"
#include "lib/domain_psl.h"
#include "lib/util.h"
#include "testdata.h"

static int
setup(void **state SM_UNUSED)
{
    char path[1024], err[256];

    snprintf(path, sizeof(path), "%s/dmarc/psl/public_suffix_list.dat", testdata_dir());
    if (access(path, R_OK) != 0)
        util_strlcpy(path, DOMAIN_PSL_SYSTEM_FILE, sizeof(path));
    if (domain_psl_load(path, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    printf("public suffix list: %s\n", path);
    return 0;
}

static int
teardown(void **state SM_UNUSED)
{
    domain_psl_unload();
    return 0;
}

static void
test_domain_psl_vectors_all_pass(void **state SM_UNUSED)
{
    char path[1024], line[512];
    int total = 0, ok = 0;
    FILE *fp;

    if (!testdata_have("dmarc/psl/tests.txt"))
        skip();
    snprintf(path, sizeof(path), "%s/dmarc/psl/tests.txt", testdata_dir());
    fp = fopen(path, "r");
    if (fp == NULL)
        fail_msg("cannot open %s", path);
    while (fgets(line, sizeof(line), fp) != NULL) {
        char in[256], want[256], got[DOMAIN_MAX] = "", wantn[DOMAIN_MAX];
        int rc;

        if (sscanf(line, "%255s %255s", in, want) != 2 || strncmp(in, "//", 2) == 0)
            continue;
        total++;
        rc = domain_psl_registrable(strcmp(in, "null") == 0 ? NULL : in, got, sizeof(got));
        if (strcmp(want, "null") == 0) {
            if (rc < 0)
                ok++;
            else
                printf("  FAIL %s: want none, got %s\n", in, got);
            continue;
        }
        if (domain_normalize(want, DOMAIN_LOOSE, wantn, sizeof(wantn), NULL, 0) < 0)
            fail_msg("cannot normalise expected value %s", want);
        if (rc == 0 && strcmp(got, wantn) == 0)
            ok++;
        else
            printf("  FAIL %s: want %s, got %s\n", in, wantn, rc == 0 ? got : "none");
    }
    fclose(fp);
    printf("psl vectors: %d/%d\n", ok, total);
    assert_int_equal(total, 78);
    assert_int_equal(ok, total);
}

static void
test_domain_psl_same_org_and_public_suffix_table(void **state SM_UNUSED)
{
    static const struct {
        const char *a, *b;
        int same;
    } same[] = {
        {"mail.example.com", "EXAMPLE.com", 1},
        {"a.example.co.uk", "b.example.co.uk", 1},
        {"example.co.uk", "other.co.uk", 0},
        {"bounce.example.com", "example.net", 0},
        {"co.uk", "co.uk", 1}, /* a public suffix is its own organisation */
        {"a..b", "a..b", 0},
        {"xn--bcher-kva.example", "www.bücher.example", 1},
    };
    static const struct {
        const char *name;
        int ps;
    } ps[] = {{"com", 1}, {"co.uk", 1}, {"example.com", 0}, {"example", 1}, {"", 1}};

    for (size_t i = 0; i < SM_ARRAY_LEN(same); i++)
        if (domain_psl_same_org(same[i].a, same[i].b) != same[i].same)
            fail_msg("same case %zu: %s / %s", i, same[i].a, same[i].b);
    for (size_t i = 0; i < SM_ARRAY_LEN(ps); i++)
        if (domain_psl_is_public_suffix(ps[i].name) != ps[i].ps)
            fail_msg("public suffix case %zu: %s", i, ps[i].name);
}

static void
test_domain_psl_small_buffer_is_refused(void **state SM_UNUSED)
{
    char out[8], fits[12];

    assert_int_equal(domain_psl_registrable("www.example.com", out, sizeof(out)), -1);
    assert_int_equal(domain_psl_registrable("www.example.com", fits, sizeof(fits)), 0);
    assert_string_equal(fits, "example.com");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_domain_psl_vectors_all_pass),
        cmocka_unit_test(test_domain_psl_same_org_and_public_suffix_table),
        cmocka_unit_test(test_domain_psl_small_buffer_is_refused),
    };
    return testdata_exit(cmocka_run_group_tests(tests, setup, teardown));
}
