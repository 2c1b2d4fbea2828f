/*
 * testdata.c - test helper: the external suites, and a SKIP when one is missing
 *
 * See testdata.h.  The SKIP / ERROR line goes to stdout, which automake's
 * test log keeps, so a skipped test says which suite it missed and where it
 * looked.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testdata.h"

#ifndef TESTDATA
#define TESTDATA "../shared/testdata"
#endif

#define TESTDATA_BUFS 8

static int testdata_missing;

/* testdata_required - SM_REQUIRE_TESTDATA=1: a missing suite is an error, not a skip */
static int
testdata_required(void)
{
    const char *e = getenv("SM_REQUIRE_TESTDATA");

    return e != NULL && strcmp(e, "1") == 0;
}

const char *
testdata_dir(void)
{
    const char *e = getenv("SM_TESTDATA");

    return e != NULL && *e != '\0' ? e : TESTDATA;
}

const char *
testdata_file(const char *rel)
{
    static char buf[TESTDATA_BUFS][4096];
    static unsigned next;
    char *b = buf[next++ % TESTDATA_BUFS];

    snprintf(b, sizeof(buf[0]), "%s/%s", testdata_dir(), rel);
    return b;
}

int
testdata_have(const char *suite)
{
    const char *path = testdata_file(suite);

    if (access(path, R_OK) == 0)
        return 1;
    testdata_missing = 1;
    if (testdata_required())
        printf("ERROR: external suite %s is missing and required (SM_REQUIRE_TESTDATA=1); "
               "set SM_TESTDATA or configure --with-testdata=DIR\n",
               path);
    else
        printf("SKIP: external suite %s is missing (set SM_TESTDATA or configure "
               "--with-testdata=DIR)\n",
               path);
    fflush(stdout);
    return 0;
}

int
testdata_exit(int rc)
{
    if (rc != 0)
        return rc;
    if (testdata_missing)
        return testdata_required() ? 99 : 77;
    return 0;
}
