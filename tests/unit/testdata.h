/*
 * testdata.h - test helper: the external suites, and a SKIP when one is missing
 *
 * The external suites (RFC vectors, other projects' corpora) live outside
 * the tree: in $SM_TESTDATA, else in the directory configure was given
 * (TESTDATA, --with-testdata).  A test that reads one asks testdata_have()
 * first; a missing suite prints one line naming it ("SKIP: ..."), the test
 * calls cmocka's skip(), and testdata_exit() turns the run's result into
 * automake's 77 (skipped).  Under SM_REQUIRE_TESTDATA=1 (scripts/test.sh,
 * CI) a missing suite is an "ERROR: ... required" line and exit status 99
 * instead, so that a run meant to be complete cannot pass without them.
 * Needs nothing but libc, so that every unit test can link it.
 */
#ifndef SM_TEST_TESTDATA_H
#define SM_TEST_TESTDATA_H

/* testdata_dir - $SM_TESTDATA, else the configured TESTDATA */
const char *testdata_dir(void);
/*
 * testdata_file - testdata_dir() "/" rel in one of 8 static buffers (valid
 * until the 8th call after it: for building a path to pass on at once)
 */
const char *testdata_file(const char *rel);
/* testdata_have - 1 when suite (a path under testdata_dir()) exists; else 0, said once */
int testdata_have(const char *suite);
/* testdata_exit - main()'s status: rc when a test failed, else 77/99 for a missing suite */
int testdata_exit(int rc);

#endif
