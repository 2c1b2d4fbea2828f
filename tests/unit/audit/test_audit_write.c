/*
 * test_audit_write.c - the writer: concurrency, rotation, restarts, full disk, file mode
 *
 * Proves: 16 threads x 500 records give 8000 whole, schema-valid lines
 * with every record present once and the chain intact; rotation (rename +
 * audit_reopen) and restarts (with and without the old file around) keep
 * the chain across files; a write to a full disk returns the configured
 * action and does not advance the chain; a failed reopen keeps the old
 * file; a crash-torn last line is kept as evidence; the file is created
 * with file_mode whatever the umask; a disabled trail writes nothing.
 */
#include "config.h"

#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/resource.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "test_audit_util.h"

#define THREADS 16
#define PER_THREAD 500

typedef struct worker {
    audit_log *log;
    int id;
    int failures;
} worker;

static void *
worker_run(void *arg)
{
    worker *w = arg;
    char qid[32], err[256];

    for (int i = 0; i < PER_THREAD; i++) {
        audit_msg m = i % 2 ? ta_msg_accepted() : ta_msg_refused();
        snprintf(qid, sizeof(qid), "T%02dN%03d", w->id, i);
        m.queue_id = qid;
        if (audit_write_msg(w->log, &m, err, sizeof(err)) != AUDIT_OK)
            w->failures++;
    }
    return NULL;
}

static void
test_concurrent_writers_give_whole_lines_and_an_intact_chain(void **state)
{
    char *dir = ta_tmpdir(), *path = xasprintf("%s/audit.jsonl", dir), err[512] = "";
    audit_conf *c = ta_conf(path);
    static char seen[THREADS][PER_THREAD];
    pthread_t th[THREADS];
    worker w[THREADS];
    audit_log *log = NULL;
    char *text, *line, *nl;
    size_t n = 0;
    const char *files[] = {path};

    (void)state;
    c->fsync = AUDIT_FSYNC_INTERVAL;
    c->fsync_interval_ms = 50;
    assert_int_equal(audit_log_open(c, &log, err, sizeof(err)), 0);
    for (int i = 0; i < THREADS; i++) {
        w[i] = (worker){log, i, 0};
        assert_int_equal(pthread_create(&th[i], NULL, worker_run, &w[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].failures, 0);
    }
    audit_log_close(log);
    memset(seen, 0, sizeof(seen));
    text = ta_read_file(path, NULL);
    for (line = text; (nl = strchr(line, '\n')) != NULL; line = nl + 1, n++) {
        json_t *rec = json_loadb(line, (size_t)(nl - line), JSON_REJECT_DUPLICATES, NULL);
        int t, k;
        if (rec == NULL || audit_record_validate(rec, err, sizeof(err)) < 0)
            fail_msg("line %zu is not a whole record: %s", n + 1, err);
        assert_int_equal(sscanf(json_string_value(json_object_get(rec, "qid")), "T%dN%d", &t, &k),
                         2);
        assert_int_equal(seen[t][k]++, 0);
        json_decref(rec);
    }
    assert_int_equal(*line, '\0');
    assert_int_equal(n, THREADS * PER_THREAD);
    if (ta_verify(files, 1, NULL, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    free(text);
    audit_conf_free(c);
    free(path);
    ta_rmdir(dir);
}

/* write_n - n refused-message records */
static void
write_n(audit_log *log, int n)
{
    char err[256];

    for (int i = 0; i < n; i++) {
        audit_msg m = ta_msg_refused();
        if (audit_write_msg(log, &m, err, sizeof(err)) != AUDIT_OK)
            fail_msg("write: %s", err);
    }
}

/* open_log - open path with test defaults */
static audit_log *
open_log(const char *path)
{
    audit_conf *c = ta_conf(path);
    audit_log *log = NULL;
    char err[256];

    if (audit_log_open(c, &log, err, sizeof(err)) != 0)
        fail_msg("open: %s", err);
    audit_conf_free(c);
    return log;
}

static void
test_rotation_and_restarts_keep_the_chain(void **state)
{
    static const struct {
        const char *what;
        int restart_after_rotation;  /* close before rename, open after (no memory) */
        int restart_before_rotation; /* close and open again before rotating */
    } cases[] = {
        {"rename + reopen", 0, 0},
        {"restart, then rename + reopen", 0, 1},
        {"rename while stopped, start: links to FILE.1", 1, 0},
    };
    (void)state;
    for (size_t i = 0; i < SM_ARRAY_LEN(cases); i++) {
        char *dir = ta_tmpdir(), *path = xasprintf("%s/audit.jsonl", dir);
        char *old = xasprintf("%s.1", path), err[512] = "";
        const char *files[] = {old, path}, *wrong[] = {path, old};
        audit_log *log = open_log(path);

        write_n(log, 3);
        if (cases[i].restart_before_rotation) {
            log = audit_log_close(log);
            log = open_log(path);
            write_n(log, 2);
        }
        if (cases[i].restart_after_rotation) {
            log = audit_log_close(log);
            assert_int_equal(rename(path, old), 0);
            log = open_log(path);
        } else {
            assert_int_equal(rename(path, old), 0);
            assert_int_equal(audit_reopen(log, err, sizeof(err)), 0);
        }
        write_n(log, 3);
        audit_log_close(log);
        assert_int_equal(ta_count_lines(path), 3);
        if (ta_verify(files, 2, NULL, err, sizeof(err)) != 0)
            fail_msg("%s: %s", cases[i].what, err);
        assert_int_equal(ta_verify(wrong, 2, NULL, err, sizeof(err)), -1);
        free(old);
        free(path);
        ta_rmdir(dir);
    }
}

static void
test_full_disk_returns_the_configured_action(void **state)
{
    static const struct {
        int on_error;
        int fsync;
        int want;
    } cases[] = {
        {AUDIT_ON_ERROR_TEMPFAIL, AUDIT_FSYNC_NEVER, AUDIT_FAIL_TEMPFAIL},
        {AUDIT_ON_ERROR_CONTINUE, AUDIT_FSYNC_NEVER, AUDIT_FAIL_CONTINUE},
        {AUDIT_ON_ERROR_TEMPFAIL, AUDIT_FSYNC_ALWAYS, AUDIT_FAIL_TEMPFAIL},
    };
    (void)state;
    for (size_t i = 0; i < SM_ARRAY_LEN(cases); i++) {
        audit_conf *c = ta_conf("/dev/full");
        audit_log *log = NULL;
        audit_msg m = ta_msg_accepted();
        char err[256] = "", before[AUDIT_HASH_HEX], after[AUDIT_HASH_HEX];

        c->on_error = cases[i].on_error;
        c->fsync = cases[i].fsync;
        assert_int_equal(audit_log_open(c, &log, err, sizeof(err)), 0);
        audit_log_head(log, before);
        assert_int_equal(audit_write_msg(log, &m, err, sizeof(err)), cases[i].want);
        assert_non_null(strstr(err, "audit log /dev/full: write: No space left on device"));
        audit_log_head(log, after);
        assert_string_equal(before, after); /* the chain did not move */
        audit_log_close(log);
        audit_conf_free(c);
    }
}

/* line_has - line n (1-based) of path contains needle */
static int
line_has(const char *path, int n, const char *needle)
{
    char *text = ta_read_file(path, NULL), *line = text, *nl;
    int found = 0;

    for (int i = 1; line != NULL && *line; i++, line = nl ? nl + 1 : NULL) {
        nl = strchr(line, '\n');
        if (nl != NULL)
            *nl = '\0';
        if (i == n) {
            found = strstr(line, needle) != NULL;
            break;
        }
    }
    free(text);
    return found;
}

/*
 * a reload's writer on the same file: its records use its own settings while
 * the old snapshot's in-flight records keep the old ones; one chain throughout
 */
static void
test_reload_writer_uses_new_settings_on_the_same_chain(void **state)
{
    char *dir = ta_tmpdir(), *path = xasprintf("%s/audit.jsonl", dir), err[256] = "";
    const char *files[] = {path};
    audit_conf *old_c = ta_conf(path), *new_c = ta_conf(path), *other = ta_conf("/dev/full");
    audit_log *old_log = NULL, *new_log = NULL, *a = NULL, *b = NULL;
    audit_msg m = ta_msg_accepted();

    (void)state;
    old_c->recipients = AUDIT_RCPT_OMIT;
    assert_int_equal(audit_log_open(old_c, &old_log, err, sizeof(err)), 0);
    assert_int_equal(audit_write_msg(old_log, &m, err, sizeof(err)), AUDIT_OK);
    assert_int_equal(audit_log_open_shared(new_c, old_log, &new_log, err, sizeof(err)), 0);
    assert_int_equal(audit_write_msg(new_log, &m, err, sizeof(err)), AUDIT_OK);
    assert_int_equal(audit_write_msg(old_log, &m, err, sizeof(err)), AUDIT_OK); /* in flight */
    old_log = audit_log_close(old_log); /* the old snapshot goes: the file stays open */
    assert_int_equal(audit_write_msg(new_log, &m, err, sizeof(err)), AUDIT_OK);
    new_log = audit_log_close(new_log);
    assert_int_equal(ta_count_lines(path), 4);
    assert_false(line_has(path, 1, "carol@example.org"));
    assert_true(line_has(path, 2, "carol@example.org"));
    assert_false(line_has(path, 3, "carol@example.org"));
    assert_true(line_has(path, 4, "carol@example.org"));
    if (ta_verify(files, 1, NULL, err, sizeof(err)) != 0)
        fail_msg("chain broken across the reload: %s", err);
    /* on_error is the snapshot's too: one full disk, two answers */
    other->on_error = AUDIT_ON_ERROR_TEMPFAIL;
    assert_int_equal(audit_log_open(other, &a, err, sizeof(err)), 0);
    other->on_error = AUDIT_ON_ERROR_CONTINUE;
    assert_int_equal(audit_log_open_shared(other, a, &b, err, sizeof(err)), 0);
    assert_int_equal(audit_write_msg(a, &m, err, sizeof(err)), AUDIT_FAIL_TEMPFAIL);
    assert_int_equal(audit_write_msg(b, &m, err, sizeof(err)), AUDIT_FAIL_CONTINUE);
    audit_log_close(a);
    audit_log_close(b);
    audit_conf_free(old_c);
    audit_conf_free(new_c);
    audit_conf_free(other);
    free(path);
    ta_rmdir(dir);
}

/* a write cut short (file size limit: the kernel writes part of the line) is undone */
static void
test_short_write_leaves_no_half_line(void **state)
{
    char *dir = ta_tmpdir(), *path = xasprintf("%s/audit.jsonl", dir), err[256] = "";
    const char *files[] = {path};
    audit_log *log = open_log(path);
    audit_msg m = ta_msg_accepted();
    struct rlimit old, lim;
    struct stat st;
    off_t size;

    (void)state;
    write_n(log, 1);
    assert_int_equal(stat(path, &st), 0);
    size = st.st_size;
    signal(SIGXFSZ, SIG_IGN);
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = (rlim_t)size + 100;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    assert_int_equal(audit_write_msg(log, &m, err, sizeof(err)), AUDIT_FAIL_TEMPFAIL);
    setrlimit(RLIMIT_FSIZE, &old);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, size);
    write_n(log, 1);
    audit_log_close(log);
    assert_int_equal(ta_count_lines(path), 2);
    assert_int_equal(ta_verify(files, 1, NULL, err, sizeof(err)), 0);
    free(path);
    ta_rmdir(dir);
}

static void
test_unwritable_log_fails_open_and_failed_reopen_keeps_old_file(void **state)
{
    char *dir = ta_tmpdir(), *sub = xasprintf("%s/sub", dir), err[512] = "";
    char *path = xasprintf("%s/audit.jsonl", sub), *moved = xasprintf("%s/moved.jsonl", dir);
    audit_conf *c = ta_conf(path);
    audit_log *log = NULL;

    (void)state;
    assert_int_equal(audit_log_open(c, &log, err, sizeof(err)), -1);
    assert_null(log);
    assert_non_null(strstr(err, "cannot open audit log"));
    assert_int_equal(mkdir(sub, 0700), 0);
    assert_int_equal(audit_log_open(c, &log, err, sizeof(err)), 0);
    write_n(log, 1);
    assert_int_equal(rename(path, moved), 0);
    assert_int_equal(rmdir(sub), 0);
    assert_int_equal(audit_reopen(log, err, sizeof(err)), -1);
    write_n(log, 1); /* still goes to the old (moved) file */
    audit_log_close(log);
    assert_int_equal(ta_count_lines(moved), 2);
    audit_conf_free(c);
    free(sub);
    free(path);
    free(moved);
    ta_rmdir(dir);
}

static void
test_crash_torn_last_line_is_kept_as_evidence(void **state)
{
    char *dir = ta_tmpdir(), *path = xasprintf("%s/audit.jsonl", dir), err[512] = "";
    char *text, hash[AUDIT_HASH_HEX], *third;
    const char *files[] = {path};
    audit_log *log = open_log(path);
    FILE *fp;

    (void)state;
    write_n(log, 1);
    audit_log_close(log);
    fp = fopen(path, "a");
    fputs("{\"v\":1,\"alg\":\"sha256\",\"pr", fp); /* the crash */
    fclose(fp);
    log = open_log(path);
    write_n(log, 1);
    audit_log_close(log);
    text = ta_read_file(path, NULL);
    third = strchr(strchr(text, '\n') + 1, '\n') + 1;
    audit_chain_hash(NULL, "{\"v\":1,\"alg\":\"sha256\",\"pr", 25, hash);
    assert_non_null(strstr(third, hash)); /* linked to the torn line */
    assert_int_equal(ta_count_lines(path), 3);
    assert_int_equal(ta_verify(files, 1, NULL, err, sizeof(err)), -1);
    assert_non_null(strstr(err, ":2: not a valid audit record"));
    free(text);
    free(path);
    ta_rmdir(dir);
}

static void
test_file_created_with_file_mode_whatever_the_umask(void **state)
{
    static const struct {
        mode_t umask;
        long mode;
    } cases[] = {{077, 0640}, {0, 0640}, {022, 0600}};
    (void)state;
    for (size_t i = 0; i < SM_ARRAY_LEN(cases); i++) {
        char *dir = ta_tmpdir(), *path = xasprintf("%s/audit.jsonl", dir), err[256];
        audit_conf *c = ta_conf(path);
        audit_log *log = NULL;
        mode_t old = umask(cases[i].umask);
        struct stat st;

        c->mode = cases[i].mode;
        assert_int_equal(audit_log_open(c, &log, err, sizeof(err)), 0);
        umask(old);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 0777, cases[i].mode);
        audit_log_close(log);
        audit_conf_free(c);
        free(path);
        ta_rmdir(dir);
    }
}

static void
test_disabled_trail_writes_nothing(void **state)
{
    audit_conf *c = ta_conf("/nonexistent/dir/audit.jsonl");
    audit_log *log = (audit_log *)c; /* must be reset */
    audit_msg m = ta_msg_accepted();
    char err[256];

    (void)state;
    c->enabled = 0;
    assert_int_equal(audit_log_open(c, &log, err, sizeof(err)), 0);
    assert_null(log);
    assert_int_equal(audit_write_msg(log, &m, err, sizeof(err)), AUDIT_OK);
    assert_int_equal(audit_reopen(log, err, sizeof(err)), 0);
    assert_null(audit_log_close(log));
    audit_conf_free(c);
}

static void
test_hashed_recipients_need_a_readable_key(void **state)
{
    char *dir = ta_tmpdir(), *path = xasprintf("%s/audit.jsonl", dir), err[512] = "";
    char *key = ta_write_file(dir, "rcpt.key", "0123456789abcdef0123", 20, 0600), *text;
    audit_conf *c = ta_conf(path);
    audit_log *log = NULL;

    (void)state;
    c->recipients = AUDIT_RCPT_HASHED;
    free(c->recipient_key_file);
    c->recipient_key_file = xasprintf("%s/missing.key", dir);
    assert_int_equal(audit_log_open(c, &log, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "missing.key: No such file or directory"));
    free(c->recipient_key_file);
    c->recipient_key_file = xstrdup(key);
    c->fsync = AUDIT_FSYNC_ALWAYS;
    assert_int_equal(audit_log_open(c, &log, err, sizeof(err)), 0);
    write_n(log, 2);
    audit_log_close(log);
    text = ta_read_file(path, NULL);
    assert_null(strstr(text, "Example.NET"));
    assert_non_null(strstr(text, "\"rcpt_mode\":\"hashed\""));
    free(text);
    free(key);
    free(path);
    audit_conf_free(c);
    ta_rmdir(dir);
}

static void
test_interval_syncer_stops_promptly_at_close(void **state)
{
    char *dir = ta_tmpdir(), *path = xasprintf("%s/audit.jsonl", dir), err[256];
    audit_conf *c = ta_conf(path);
    audit_log *log = NULL;
    uint64_t t0;

    (void)state;
    c->fsync = AUDIT_FSYNC_INTERVAL;
    c->fsync_interval_ms = 3600000; /* an hour: close must not wait for it */
    assert_int_equal(audit_log_open(c, &log, err, sizeof(err)), 0);
    write_n(log, 3); /* left unsynced: the syncer thread starts */
    t0 = util_now_ms();
    audit_log_close(log);
    assert_true(util_now_ms() - t0 < 2000);
    assert_int_equal(ta_count_lines(path), 3);
    audit_conf_free(c);
    free(path);
    ta_rmdir(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_concurrent_writers_give_whole_lines_and_an_intact_chain),
        cmocka_unit_test(test_rotation_and_restarts_keep_the_chain),
        cmocka_unit_test(test_full_disk_returns_the_configured_action),
        cmocka_unit_test(test_reload_writer_uses_new_settings_on_the_same_chain),
        cmocka_unit_test(test_short_write_leaves_no_half_line),
        cmocka_unit_test(test_unwritable_log_fails_open_and_failed_reopen_keeps_old_file),
        cmocka_unit_test(test_crash_torn_last_line_is_kept_as_evidence),
        cmocka_unit_test(test_file_created_with_file_mode_whatever_the_umask),
        cmocka_unit_test(test_disabled_trail_writes_nothing),
        cmocka_unit_test(test_hashed_recipients_need_a_readable_key),
        cmocka_unit_test(test_interval_syncer_stops_promptly_at_close),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
