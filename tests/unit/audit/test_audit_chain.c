/*
 * test_audit_chain.c - verification finds the first bad line of a tampered audit log
 *
 * Proves, on tests/audit/fixture.jsonl (24 chained records): deletion,
 * insertion (a copy or a record forged with the right "prev"), editing,
 * truncation mid-line and reordering are each reported at the exact first
 * bad line; rotated and gzip-compressed files verify in chain order and
 * fail in the wrong order; a keyed (HMAC) chain cannot be verified without
 * the key nor recomputed without it; key files and tail reading behave.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <zlib.h>

#include "test_audit_util.h"

#define FIXTURE SRCDIR "/tests/audit/fixture.jsonl"
#define MAXL 64

/* a log as lines without their newlines; last_unterminated for a cut file */
typedef struct lines {
    char *v[MAXL];
    size_t n;
    int last_unterminated;
} lines;

static void
lines_load(lines *l, const char *path)
{
    char *text = ta_read_file(path, NULL), *p = text, *nl;

    assert_non_null(text);
    memset(l, 0, sizeof(*l));
    while ((nl = strchr(p, '\n')) != NULL && l->n < MAXL) {
        l->v[l->n++] = xstrndup(p, (size_t)(nl - p));
        p = nl + 1;
    }
    free(text);
}

static void
lines_free(lines *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
}

/* lines_save - write the lines to dir/name; returns the path (caller frees) */
static char *
lines_save(const lines *l, const char *dir, const char *name)
{
    char *path = xasprintf("%s/%s", dir, name);
    FILE *fp = fopen(path, "w");

    for (size_t i = 0; i < l->n; i++) {
        fputs(l->v[i], fp);
        if (i + 1 < l->n || !l->last_unterminated)
            fputc('\n', fp);
    }
    fclose(fp);
    return path;
}

/* no = 1-based line number */
static void
del(lines *l, size_t no)
{
    free(l->v[no - 1]);
    memmove(&l->v[no - 1], &l->v[no], (l->n - no) * sizeof(char *));
    l->n--;
}

static void
ins(lines *l, size_t no, char *text)
{
    memmove(&l->v[no], &l->v[no - 1], (l->n - no + 1) * sizeof(char *));
    l->v[no - 1] = text;
    l->n++;
}

static void
mut_delete_5(lines *l)
{
    del(l, 5);
}

static void
mut_insert_copy_of_3_at_7(lines *l)
{
    ins(l, 7, xstrdup(l->v[2]));
}

/* a forged record that links correctly to line 6: only line 8 can tell */
static void
mut_insert_forged_at_7(lines *l)
{
    char hash[AUDIT_HASH_HEX], *forged = xstrdup(l->v[8]), *p;

    audit_chain_hash(NULL, l->v[5], strlen(l->v[5]), hash);
    p = strstr(forged, "\"prev\":\"") + 8;
    memcpy(p, hash, 64);
    ins(l, 7, forged);
}

static void
mut_edit_qid_of_10(lines *l)
{
    char *p = strstr(l->v[9], "\"qid\":\"") + 7;
    *p = *p == 'X' ? 'Y' : 'X';
}

static void
mut_edit_prev_of_3_to_genesis(lines *l)
{
    memcpy(strstr(l->v[2], "\"prev\":\"") + 8, AUDIT_CHAIN_GENESIS, 64);
}

static void
mut_truncate_mid_last_line(lines *l)
{
    l->v[l->n - 1][strlen(l->v[l->n - 1]) / 2] = '\0';
    l->last_unterminated = 1;
}

static void
mut_cut_line_12_keep_newline(lines *l)
{
    l->v[11][strlen(l->v[11]) / 3] = '\0';
}

static void
mut_swap_6_and_7(lines *l)
{
    char *t = l->v[5];
    l->v[5] = l->v[6];
    l->v[6] = t;
}

static void
mut_append_garbage(lines *l)
{
    l->v[l->n++] = xstrdup("hello");
}

static void
test_verify_reports_first_bad_line_of_tampered_log(void **state)
{
    static const struct {
        const char *what;
        void (*mutate)(lines *);
        const char *want; /* after "<path>:" */
    } cases[] = {
        {"deleted line", mut_delete_5, "5: chain broken: prev does not match line 4"},
        {"inserted copy", mut_insert_copy_of_3_at_7, "7: chain broken: prev does not match line 6"},
        {"inserted forgery", mut_insert_forged_at_7, "8: chain broken: prev does not match line 7"},
        {"edited line", mut_edit_qid_of_10, "11: chain broken: prev does not match line 10"},
        {"edited link", mut_edit_prev_of_3_to_genesis,
         "3: chain broken: prev does not match line 2 (a new chain starts here: writer "
         "restarted without its state?)"},
        {"truncated file", mut_truncate_mid_last_line,
         "24: truncated line (no newline at the end)"},
        {"line cut short", mut_cut_line_12_keep_newline, "12: not a valid audit record: "},
        {"reordered lines", mut_swap_6_and_7, "6: chain broken: prev does not match line 5"},
        {"appended garbage", mut_append_garbage, "25: not a valid audit record: "},
    };
    (void)state;
    for (size_t i = 0; i < SM_ARRAY_LEN(cases); i++) {
        char *dir = ta_tmpdir(), *path, *want, err[512] = "";
        lines l;
        const char *files[1];

        lines_load(&l, FIXTURE);
        assert_int_equal(l.n, 24);
        cases[i].mutate(&l);
        path = lines_save(&l, dir, "audit.jsonl");
        files[0] = path;
        want = xasprintf("%s:%s", path, cases[i].want);
        assert_int_equal(ta_verify(files, 1, NULL, err, sizeof(err)), -1);
        if (strncmp(err, want, strlen(want)) != 0)
            fail_msg("%s: want \"%s\", got \"%s\"", cases[i].what, want, err);
        free(want);
        free(path);
        lines_free(&l);
        ta_rmdir(dir);
    }
}

static void
test_verify_accepts_untouched_fixture_and_reports_head(void **state)
{
    const char *files[] = {FIXTURE};
    char err[512] = "", summary[512], head[AUDIT_HASH_HEX];
    audit_verifier *v = audit_chain_verifier_new(NULL);
    lines l;

    (void)state;
    assert_int_equal(ta_verify(files, 1, NULL, err, sizeof(err)), 0);
    lines_load(&l, FIXTURE);
    for (size_t i = 0; i < l.n; i++)
        assert_int_equal(
            audit_chain_verifier_line(v, "f", i + 1, l.v[i], strlen(l.v[i]), 1, err, sizeof(err)),
            0);
    audit_chain_hash(NULL, l.v[23], strlen(l.v[23]), head);
    assert_string_equal(audit_chain_verifier_head(v), head);
    audit_chain_verifier_summary(v, summary, sizeof(summary));
    assert_non_null(strstr(summary, "24 records in 1 file, chain starts at genesis, head "));
    assert_non_null(strstr(summary, head));
    audit_chain_verifier_free(v);
    lines_free(&l);
}

/* feed - all lines of l from index first to a fresh verifier; returns it */
static audit_verifier *
feed(const lines *l, size_t first)
{
    audit_verifier *v = audit_chain_verifier_new(NULL);
    char err[256];

    for (size_t i = first; i < l->n; i++)
        if (audit_chain_verifier_line(v, "f", i + 1, l->v[i], strlen(l->v[i]), 1, err,
                                      sizeof(err)) < 0)
            fail_msg("%s", err);
    return v;
}

/*
 * limits of a chain, made visible: an edited last line and a lost first
 * line still link, but the summary shows a different head or start
 */
static void
test_verify_edited_last_line_or_lost_first_line_shows_in_summary(void **state)
{
    char summary[512], head[AUDIT_HASH_HEX];
    audit_verifier *v;
    lines l;

    (void)state;
    lines_load(&l, FIXTURE);
    audit_chain_hash(NULL, l.v[23], strlen(l.v[23]), head);
    strstr(l.v[23], "\"qid\":")[1] = 'Q';
    v = feed(&l, 0);
    assert_string_not_equal(audit_chain_verifier_head(v), head);
    audit_chain_verifier_free(v);
    v = feed(&l, 1);
    audit_chain_verifier_summary(v, summary, sizeof(summary));
    assert_non_null(strstr(summary, "23 records in 1 file, chain continues an earlier file"));
    audit_chain_verifier_free(v);
    lines_free(&l);
}

/* gz_save - lines [from, to) gzip-compressed into dir/name */
static char *
gz_save(const lines *l, size_t from, size_t to, const char *dir, const char *name)
{
    char *path = xasprintf("%s/%s", dir, name);
    gzFile gz = gzopen(path, "wb");

    for (size_t i = from; i < to; i++) {
        gzputs(gz, l->v[i]);
        gzputs(gz, "\n");
    }
    gzclose(gz);
    return path;
}

static void
test_verify_rotated_gzip_then_plain_in_chain_order(void **state)
{
    char *dir = ta_tmpdir(), *old, *cur, err[512] = "", *want;
    lines l, tail;

    (void)state;
    lines_load(&l, FIXTURE);
    old = gz_save(&l, 0, 12, dir, "audit.jsonl.1.gz");
    memset(&tail, 0, sizeof(tail));
    for (size_t i = 12; i < l.n; i++)
        tail.v[tail.n++] = l.v[i];
    cur = lines_save(&tail, dir, "audit.jsonl");
    {
        const char *in_order[] = {old, cur}, *reversed[] = {cur, old}, *gap[] = {old, FIXTURE};
        assert_int_equal(ta_verify(in_order, 2, NULL, err, sizeof(err)), 0);
        assert_int_equal(ta_verify(reversed, 2, NULL, err, sizeof(err)), -1);
        want = xasprintf("%s:1: chain broken: prev does not match %s:12 (a new chain starts "
                         "here: writer restarted without its state?)",
                         old, cur);
        assert_string_equal(err, want);
        free(want);
        assert_int_equal(ta_verify(gap, 2, NULL, err, sizeof(err)), -1);
        want =
            xasprintf("%s:1: chain broken: prev does not match %s:12 (a new chain", FIXTURE, old);
        if (strncmp(err, want, strlen(want)) != 0)
            fail_msg("want \"%s\", got \"%s\"", want, err);
        free(want);
    }
    /* a gzip file cut short is an error, not a clean end */
    {
        size_t len;
        char *gz = ta_read_file(old, &len), *cut;
        const char *files[1];
        cut = ta_write_file(dir, "cut.gz", gz, len / 2, 0600);
        files[0] = cut;
        assert_int_equal(ta_verify(files, 1, NULL, err, sizeof(err)), -1);
        free(gz);
        free(cut);
    }
    lines_free(&l);
    free(old);
    free(cur);
    ta_rmdir(dir);
}

/* write n records with a chain key into dir/name */
static char *
write_keyed(const char *dir, const char *keyfile, int n)
{
    char *path = xasprintf("%s/keyed.jsonl", dir), err[256];
    audit_conf *c = ta_conf(path);
    audit_log *log = NULL;

    c->hmac_key_file = xstrdup(keyfile);
    assert_int_equal(audit_log_open(c, &log, err, sizeof(err)), 0);
    for (int i = 0; i < n; i++) {
        audit_msg m = ta_msg_refused();
        assert_int_equal(audit_write_msg(log, &m, err, sizeof(err)), AUDIT_OK);
    }
    audit_log_close(log);
    audit_conf_free(c);
    return path;
}

static void
test_keyed_chain_needs_the_key_and_resists_recomputation(void **state)
{
    static const char k1[] = "correct horse battery staple\n", k2[] = "wrong horse battery staple";
    char *dir = ta_tmpdir(), *kf1, *kf2, *path, *forged, err[512] = "";
    audit_key *key = NULL, *wrong = NULL;
    const char *files[1];
    lines l;

    (void)state;
    kf1 = ta_write_file(dir, "k1", k1, sizeof(k1) - 1, 0600);
    kf2 = ta_write_file(dir, "k2", k2, sizeof(k2) - 1, 0600);
    path = write_keyed(dir, kf1, 5);
    files[0] = path;
    assert_int_equal(audit_chain_key_load(kf1, &key, err, sizeof(err)), 0);
    assert_int_equal(audit_chain_key_load(kf2, &wrong, err, sizeof(err)), 0);
    assert_int_equal(ta_verify(files, 1, key, err, sizeof(err)), 0);
    assert_int_equal(ta_verify(files, 1, NULL, err, sizeof(err)), -1);
    assert_non_null(strstr(err, ":1: keyed chain (hmac-sha256): verify it with --key FILE"));
    assert_int_equal(ta_verify(files, 1, wrong, err, sizeof(err)), -1);
    assert_non_null(strstr(err, ":2: chain broken: prev does not match line 1"));
    /* an attacker edits line 3 and recomputes every link, without the key */
    lines_load(&l, path);
    l.v[2][strlen(l.v[2]) - 3] = 'X';
    for (size_t i = 1; i < l.n; i++) {
        char h[AUDIT_HASH_HEX];
        audit_chain_hash(wrong, l.v[i - 1], strlen(l.v[i - 1]), h);
        memcpy(strstr(l.v[i], "\"prev\":\"") + 8, h, 64);
    }
    forged = lines_save(&l, dir, "forged.jsonl");
    files[0] = forged;
    assert_int_equal(ta_verify(files, 1, key, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "forged.jsonl:2: chain broken"));
    /* ... or downgrades the lines to a plain SHA-256 chain */
    for (size_t i = 0; i < l.n; i++) {
        char *p = strstr(l.v[i], "\"alg\":\"hmac-sha256\"");
        memmove(p + 13, p + 18, strlen(p + 18) + 1);
        memcpy(p + 7, "sha256", 6);
        if (i > 0) {
            char h[AUDIT_HASH_HEX];
            audit_chain_hash(NULL, l.v[i - 1], strlen(l.v[i - 1]), h);
            memcpy(strstr(l.v[i], "\"prev\":\"") + 8, h, 64);
        }
    }
    free(forged);
    forged = lines_save(&l, dir, "downgraded.jsonl");
    files[0] = forged;
    assert_int_equal(ta_verify(files, 1, NULL, err, sizeof(err)), 0); /* consistent, unkeyed */
    assert_int_equal(ta_verify(files, 1, key, err, sizeof(err)), -1);
    assert_non_null(strstr(err, ":1: chain is \"sha256\" but a key was given"));
    lines_free(&l);
    audit_chain_key_free(key);
    audit_chain_key_free(wrong);
    free(kf1);
    free(kf2);
    free(path);
    free(forged);
    ta_rmdir(dir);
}

static void
test_key_file_checks(void **state)
{
    static const struct {
        const char *content;
        int mode;
        const char *want; /* NULL: loads */
    } cases[] = {
        {"0123456789abcdef", 0600, NULL},
        {"0123456789abcdef\n", 0640, NULL},
        {"0123456789abcdef", 0644, "readable by everyone"},
        {"short\n", 0600, "shorter than 16 bytes"},
        {"\n\n", 0600, "shorter than 16 bytes"},
    };
    char *dir = ta_tmpdir(), err[512];
    audit_key *k = NULL;

    (void)state;
    for (size_t i = 0; i < SM_ARRAY_LEN(cases); i++) {
        char *p =
            ta_write_file(dir, "key", cases[i].content, strlen(cases[i].content), cases[i].mode);
        int rc = audit_chain_key_load(p, &k, err, sizeof(err));
        if (cases[i].want == NULL) {
            assert_int_equal(rc, 0);
            assert_int_equal(k->len, 16); /* the newline is not part of the key */
            k = audit_chain_key_free(k);
        } else {
            assert_int_equal(rc, -1);
            assert_null(k);
            if (strstr(err, cases[i].want) == NULL)
                fail_msg("case %zu: want \"%s\" in \"%s\"", i, cases[i].want, err);
        }
        unlink(p);
        free(p);
    }
    assert_int_equal(audit_chain_key_load("/nonexistent/key", &k, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "No such file"));
    ta_rmdir(dir);
}

static void
test_tail_hash_of_last_line(void **state)
{
    static const struct {
        const char *content;
        int rc, unterminated;
        const char *last; /* the line whose hash is expected */
    } cases[] = {
        {"a\nbb\n", 1, 0, "bb"}, {"a\nbb", 1, 1, "bb"}, {"only\n", 1, 0, "only"},
        {"\n", 1, 0, ""},        {"", 0, 0, NULL},
    };
    char *dir = ta_tmpdir(), err[256], out[AUDIT_HASH_HEX], want[AUDIT_HASH_HEX];
    int unterminated;

    (void)state;
    for (size_t i = 0; i < SM_ARRAY_LEN(cases); i++) {
        char *p = ta_write_file(dir, "f", cases[i].content, strlen(cases[i].content), 0600);
        assert_int_equal(audit_chain_tail(p, NULL, out, &unterminated, err, sizeof(err)),
                         cases[i].rc);
        if (cases[i].last != NULL) {
            audit_chain_hash(NULL, cases[i].last, strlen(cases[i].last), want);
            assert_string_equal(out, want);
            assert_int_equal(unterminated, cases[i].unterminated);
        }
        free(p);
    }
    /* a long last line crosses the 4 KiB read window */
    {
        size_t n = 20000;
        char *big = xmalloc(n + 4), *p;
        memcpy(big, "x\n", 2);
        memset(big + 2, 'y', n);
        big[n + 2] = '\n';
        p = ta_write_file(dir, "big", big, n + 3, 0600);
        assert_int_equal(audit_chain_tail(p, NULL, out, NULL, err, sizeof(err)), 1);
        audit_chain_hash(NULL, big + 2, n, want);
        assert_string_equal(out, want);
        free(big);
        free(p);
    }
    assert_int_equal(audit_chain_tail("/nonexistent/x", NULL, out, NULL, err, sizeof(err)), 0);
    assert_int_equal(audit_chain_tail("/dev/null", NULL, out, NULL, err, sizeof(err)), 0);
    ta_rmdir(dir);
}

/*
 * malformed input never crashes, and every changed line is caught: byte
 * flips in real lines and random bytes, each followed by the real next line
 */
static void
test_verify_and_report_survive_garbage(void **state)
{
    audit_report *r = audit_report_new(NULL, NULL);
    unsigned seed = 12345, changed = 0, caught = 0;
    char err[512];
    lines l;

    (void)state;
    lines_load(&l, FIXTURE);
    for (int round = 0; round < 3000; round++) {
        audit_verifier *v = audit_chain_verifier_new(NULL);
        size_t i = (size_t)rand_r(&seed) % (l.n - 1), len = strlen(l.v[i]);
        char *line = xstrdup(l.v[i]);

        if (round % 3 == 0)
            for (size_t k = 0; k < len; k++)
                line[k] = (char)rand_r(&seed);
        else
            line[(size_t)rand_r(&seed) % len] = (char)rand_r(&seed);
        changed += memcmp(line, l.v[i], len) != 0;
        if (audit_chain_verifier_line(v, "f", 1, line, len, 1, err, sizeof(err)) < 0 ||
            audit_chain_verifier_line(v, "f", 2, l.v[i + 1], strlen(l.v[i + 1]), 1, err,
                                      sizeof(err)) < 0)
            caught++;
        audit_report_line(r, line, len);
        audit_chain_verifier_free(v);
        free(line);
    }
    assert_true(changed > 2900);
    assert_int_equal(caught, changed);
    audit_report_free(r);
    lines_free(&l);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verify_reports_first_bad_line_of_tampered_log),
        cmocka_unit_test(test_verify_accepts_untouched_fixture_and_reports_head),
        cmocka_unit_test(test_verify_edited_last_line_or_lost_first_line_shows_in_summary),
        cmocka_unit_test(test_verify_rotated_gzip_then_plain_in_chain_order),
        cmocka_unit_test(test_keyed_chain_needs_the_key_and_resists_recomputation),
        cmocka_unit_test(test_key_file_checks),
        cmocka_unit_test(test_tail_hash_of_last_line),
        cmocka_unit_test(test_verify_and_report_survive_garbage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
