/*
 * test_unsub_store.c - the local-file unsubscribe store (writer and reader)
 *
 * Proves: a pair added by the writer is in the file as one line and found by
 * a reader, recipients case-insensitively and list ids exactly; adding it
 * again says "already" and writes nothing; a reader sees lines appended after
 * its first look (incremental), ignores a partial last line until it is
 * complete, reads a replaced file again from the start, answers "cannot
 * tell" (-1) for a symbolic link or an unreadable path and recovers when the
 * file is usable again; a missing file is an empty store; a second writer,
 * a symbolic link, a group-writable file and a relative path are refused;
 * fields with TAB/CR/LF or empty ones are refused.
 */
#include "config.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "unsub/unsub_store.h"

int main(void);

static char dir[64], path[128];

static int
setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/test_unsub_store.XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(path, sizeof(path), "%s/store", dir);
    return 0;
}

static int
teardown(void **state)
{
    char cmd[160];

    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* append - raw text to the store, as another process would */
static void
append(const char *p, const char *text)
{
    int fd = open(p, O_WRONLY | O_APPEND | O_CREAT, 0640);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static unsub_store *
reader(void)
{
    char err[256];
    unsub_store *s = unsub_store_file_open(path, UNSUB_STORE_READER, 0, err, sizeof(err));

    assert_non_null(s);
    return s;
}

static void
test_unsub_store_add_then_found_by_reader(void **state)
{
    char err[256], line[256];
    unsub_store *w = unsub_store_file_open(path, UNSUB_STORE_WRITER, 0, err, sizeof(err)), *r;
    struct stat st;
    int already = -1;
    FILE *fp;

    (void)state;
    assert_non_null(w);
    assert_int_equal(
        unsub_store_add(w, "news", "Alice@Example.ORG", 1800000000, &already, err, sizeof(err)), 0);
    assert_int_equal(already, 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0640);
    fp = fopen(path, "r");
    assert_non_null(fp);
    assert_non_null(fgets(line, sizeof(line), fp));
    assert_string_equal(line, "1800000000\tnews\tAlice@Example.ORG\n");
    assert_null(fgets(line, sizeof(line), fp));
    fclose(fp);
    r = reader();
    assert_int_equal(unsub_store_has(r, "news", "alice@example.org"), 1);
    assert_int_equal(unsub_store_has(r, "news", "ALICE@EXAMPLE.ORG"), 1);
    assert_int_equal(unsub_store_has(r, "News", "alice@example.org"), 0);
    assert_int_equal(unsub_store_has(r, "promo", "alice@example.org"), 0);
    assert_int_equal(unsub_store_has(r, "news", "bob@example.org"), 0);
    assert_int_equal(unsub_store_has(w, "news", "alice@example.org"), 1);
    unsub_store_free(r);
    unsub_store_free(w);
}

static void
test_unsub_store_replay_writes_nothing(void **state)
{
    char err[256];
    unsub_store *w = unsub_store_file_open(path, UNSUB_STORE_WRITER, 0, err, sizeof(err));
    struct stat a, b;
    int already = -1;

    (void)state;
    assert_non_null(w);
    assert_int_equal(unsub_store_add(w, "news", "bob@example.org", 1, &already, err, sizeof(err)),
                     0);
    assert_int_equal(stat(path, &a), 0);
    assert_int_equal(unsub_store_add(w, "news", "BOB@example.org", 2, &already, err, sizeof(err)),
                     0);
    assert_int_equal(already, 1);
    assert_int_equal(stat(path, &b), 0);
    assert_int_equal(a.st_size, b.st_size);
    unsub_store_free(w);
    /* a new writer loads what is there: still a replay */
    w = unsub_store_file_open(path, UNSUB_STORE_WRITER, 0, err, sizeof(err));
    assert_non_null(w);
    assert_int_equal(unsub_store_add(w, "news", "bob@example.org", 3, &already, err, sizeof(err)),
                     0);
    assert_int_equal(already, 1);
    unsub_store_free(w);
}

static void
test_unsub_store_reader_follows_the_file(void **state)
{
    unsub_store *r;
    char other[160];

    (void)state;
    r = reader();
    assert_int_equal(unsub_store_has(r, "news", "a@example.org"), 0); /* no file: empty */
    append(path, "1\tnews\ta@example.org\n");
    assert_int_equal(unsub_store_has(r, "news", "a@example.org"), 1);
    append(path, "2\tnews\tb@exam");
    assert_int_equal(unsub_store_has(r, "news", "b@exam"), 0); /* partial line */
    append(path, "ple.org\n3\tnews\tbad line without tabs\n");
    assert_int_equal(unsub_store_has(r, "news", "b@example.org"), 1);
    assert_int_equal(unsub_store_has(r, "news", "a@example.org"), 1);
    /* replaced by another (shorter) file: read again from the start */
    snprintf(other, sizeof(other), "%s/other", dir);
    append(other, "4\tpromo\tc@example.org\n");
    assert_int_equal(rename(other, path), 0);
    assert_int_equal(unsub_store_has(r, "promo", "c@example.org"), 1);
    assert_int_equal(unsub_store_has(r, "news", "a@example.org"), 0);
    /* a symbolic link is not read: cannot tell, until the file is back */
    snprintf(other, sizeof(other), "%s/real", dir);
    assert_int_equal(rename(path, other), 0);
    assert_int_equal(symlink(other, path), 0);
    assert_int_equal(unsub_store_has(r, "promo", "c@example.org"), -1);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(rename(other, path), 0);
    assert_int_equal(unsub_store_has(r, "promo", "c@example.org"), 1);
    unsub_store_free(r);
}

static void
test_unsub_store_refresh_interval_defers_the_look(void **state)
{
    char err[256];
    unsub_store *r = unsub_store_file_open(path, UNSUB_STORE_READER, 3600000, err, sizeof(err));

    (void)state;
    assert_non_null(r);
    append(path, "1\tnews\ta@example.org\n");
    assert_int_equal(unsub_store_has(r, "news", "a@example.org"), 1); /* first look */
    append(path, "2\tnews\tb@example.org\n");
    assert_int_equal(unsub_store_has(r, "news", "b@example.org"), 0); /* not looked again yet */
    unsub_store_free(r);
}

static void
test_unsub_store_writer_refusals(void **state)
{
    char err[256], link[160], gw[160];
    unsub_store *w = unsub_store_file_open(path, UNSUB_STORE_WRITER, 0, err, sizeof(err));
    static const struct {
        const char *name;
        const char *which; /* "second", "link", "gw", "relative" */
        const char *why;
    } cases[] = {
        {"second writer", "second", "another ses-milter-unsubscribe"},
        {"symbolic link", "link", "symbolic link"},
        {"group-writable", "gw", "chmod 640"},
        {"relative path", "relative", "absolute path"},
    };

    (void)state;
    assert_non_null(w);
    snprintf(link, sizeof(link), "%s/link", dir);
    assert_int_equal(symlink(path, link), 0);
    snprintf(gw, sizeof(gw), "%s/gw", dir);
    append(gw, "");
    assert_int_equal(chmod(gw, 0660), 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *p = strcmp(cases[i].which, "second") == 0 ? path
                        : strcmp(cases[i].which, "link") == 0 ? link
                        : strcmp(cases[i].which, "gw") == 0   ? gw
                                                              : "store";
        unsub_store *x;
        err[0] = '\0';
        x = unsub_store_file_open(p, UNSUB_STORE_WRITER, 0, err, sizeof(err));
        if (x != NULL || strstr(err, cases[i].why) == NULL)
            fail_msg("%s: opened or wrong reason: %s", cases[i].name, err);
    }
    unsub_store_free(w);
}

static void
test_unsub_store_refuses_unusable_fields(void **state)
{
    char err[256];
    unsub_store *w = unsub_store_file_open(path, UNSUB_STORE_WRITER, 0, err, sizeof(err));
    static const char *const bad[][2] = {
        {"", "a@example.org"},       {"news", ""},
        {"ne\tws", "a@example.org"}, {"news", "a\t@example.org"},
        {"news", "a@ex\nample"},     {"news\r", "a@example.org"},
    };
    int already;

    (void)state;
    assert_non_null(w);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(unsub_store_add(w, bad[i][0], bad[i][1], 1, &already, err, sizeof(err)),
                         -1);
        assert_int_equal(unsub_store_has(w, bad[i][0], bad[i][1]), 0);
    }
    unsub_store_free(w);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_unsub_store_add_then_found_by_reader, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unsub_store_replay_writes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unsub_store_reader_follows_the_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unsub_store_refresh_interval_defers_the_look, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_unsub_store_writer_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unsub_store_refuses_unusable_fields, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
