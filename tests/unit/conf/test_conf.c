/*
 * test_conf.c - configuration: directive tables, file:line diagnostics,
 * effective settings, snapshot reference counting, and the identity cache
 * shared by snapshots with the same identity sources
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "conf/conf.h"
#include "engine/services.h"
#include "lib/log.h"

/* write_conf - a temporary file holding text; returns its path (static) */
static const char *
write_conf(const char *text)
{
    static char path[64];
    FILE *fp;
    int fd;

    strcpy(path, "/tmp/sm-test-conf.XXXXXX");
    fd = mkstemp(path);
    assert_true(fd >= 0);
    fp = fdopen(fd, "w");
    fputs(text, fp);
    fclose(fp);
    return path;
}

static void
test_conf_errors_name_file_and_line(void **state)
{
    static const struct {
        const char *text;
        const char *line; /* ":N: " expected in the message */
        const char *reason;
    } cases[] = {
        {"daemon: {\n  sockett = \"unix:/x\";\n};\n", ":2: ", "unknown setting 'daemon.sockett'"},
        {"daemon: {\n\n  backlog = 0;\n};\n", ":3: ", "out of range"},
        {"daemon: { backlog = \"many\"; };\n", ":1: ", "must be an integer"},
        {"log: {\n level = \"loud\";\n};\n", ":2: ", "not one of: error, warning"},
        {"log: { facility = \"mail\" \n", ":2: ", "syntax error"},
        {"scope: { authenticated = \"yes\"; };\n", ":1: ", "must be true or false"},
        {"daemon: { socket = \"tcp:25\"; };\n", ":1: ", "expected unix:/path"},
        {"daemon: { socket_mode = \"rw\"; };\n", ":1: ", "octal mode"},
        {"\n\nfrobnicate = 1;\n", ":3: ", "unknown setting 'frobnicate'"},
        {"scope: { internal_networks = ( \"10.0.0.0/8\", 7 ); };\n", ":1: ", "must be a string"},
        {"scope: { internal_networks = [ \"10.0.0.0/8\", 7 ]; };\n",
         ":1: ", "mismatched element type"},
        {"daemon = 5;\n", ":1: ", "must be a group"},
        /* found by fuzz_config: a plugin directory that cannot be used named no line */
        {"identity: {\n  plugin_dir = \"/nonexistent/plugins\";\n"
         "  sources = ( { name = \"t\"; plugin = \"file\"; } );\n};\n",
         ":2: ", "identity.plugin_dir: /nonexistent/plugins: No such file or directory"},
        /* libconfig would open an included file itself, as root, following symbolic links,
         * and without the privileged helper on a reload: refused, never half-read */
        {"log: { level = \"info\"; };\n  @include \"/etc/passwd\"\n",
         ":2: ", "@include is not supported"},
        {"@include \"other.conf\"\n", ":1: ", "@include is not supported"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char err[1024] = "";
        const char *path = write_conf(cases[i].text);
        sm_conf *c = conf_load(path, &services_conf_hooks, err, sizeof(err));
        if (c != NULL || strstr(err, path) == NULL || strstr(err, cases[i].line) == NULL ||
            strstr(err, cases[i].reason) == NULL)
            fail_msg("case %zu: got \"%s\"", i, err);
        unlink(path);
    }
}

static void
test_conf_missing_file_is_an_error(void **state)
{
    char err[512];
    (void)state;
    assert_null(conf_load("/nonexistent/ses-milter.conf", &services_conf_hooks, err, sizeof(err)));
    assert_non_null(strstr(err, "/nonexistent/ses-milter.conf"));
}

/* replace_all - text with every "from" replaced by "to" (caller frees) */
static char *
replace_all(const char *text, const char *from, const char *to)
{
    size_t n = 0, fl = strlen(from), tl = strlen(to);
    const char *p;
    char *out, *o;

    for (p = text; (p = strstr(p, from)) != NULL; p += fl)
        n++;
    out = o = malloc(strlen(text) + n * (tl + 1) + 1);
    for (p = text;;) {
        const char *q = strstr(p, from);
        if (q == NULL)
            break;
        memcpy(o, p, (size_t)(q - p));
        o += q - p;
        memcpy(o, to, tl);
        o += tl;
        p = q + fl;
    }
    strcpy(o, p);
    return out;
}

static void
test_conf_sample_file_loads_and_dumps_every_group(void **state)
{
    char err[1024], *buf = NULL, *text, *t1, *t2, dir[] = "/tmp/sm-sample.XXXXXX", cmd[512];
    char path[600];
    size_t len = 0;
    FILE *fp;
    sm_conf *c;
    (void)state;

    /* the sample names installed paths: point them at the build tree */
    assert_non_null(mkdtemp(dir));
    chmod(dir, 0755);
    snprintf(cmd, sizeof(cmd),
             "install -m 644 %s/plugins/file/.libs/file.so %s/ && echo example.com > %s/ids",
             BUILDDIR, dir, dir);
    assert_int_equal(system(cmd), 0);
    fp = fopen(SRCDIR "/conf/ses-milter.conf", "r");
    assert_non_null(fp);
    text = calloc(1, 65536);
    assert_true(fread(text, 1, 65535, fp) > 0);
    fclose(fp);
    t1 = replace_all(text, "/usr/local/lib/ses-milter/plugins", dir);
    snprintf(path, sizeof(path), "%s/ids", dir);
    t2 = replace_all(t1, "/usr/local/etc/ses-milter/identities", path);
    c = conf_load(write_conf(t2), &services_conf_hooks, err, sizeof(err));
    if (c == NULL)
        fail_msg("sample configuration refused: %s", err);
    fp = open_memstream(&buf, &len);
    conf_dump(fp, c);
    fclose(fp);
    assert_non_null(strstr(buf, "daemon.socket = \"unix:"));
    assert_non_null(strstr(buf, "log.level = \"info\";"));
    assert_non_null(strstr(buf, "scope.internal_networks = [ \"127.0.0.0/8\", \"::1/128\" ];"));
    assert_non_null(strstr(buf, "identity.action = \"enforce\";"));
    assert_non_null(strstr(buf, "# identity source local: plugin file"));
    assert_non_null(strstr(buf, "alignment.action = \"monitor\";"));
    assert_non_null(strstr(buf, "unsubscribe.ses_list_management = \"keep-ses\";"));
    assert_non_null(strstr(buf, "audit.recipients = \"hashed\";"));
    assert_int_equal(strlen(c->version), 16);
    free(buf);
    free(text);
    free(t1);
    free(t2);
    conf_free(c);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* the identity sources are loaded with the file: a refused plugin reads "file:line: reason"
 * like every other configuration error (a typo must point at its line) */
static void
test_conf_plugin_errors_start_with_file_and_line(void **state)
{
    static const struct {
        const char *plugin, *extra;
        int line;
        const char *reason; /* follows the "file:line: " */
    } cases[] = {
        {"flie", "", 5, "identity source local: /tmp/sm-plugdir."}, /* ...XXXXXX/flie.so: ENOENT */
        {"../file", "", 5, "identity source local: plugin name \"../file\" contains '/' or '..'"},
        {"", "", 5, "identity source local: plugin empty name"},
        /* refused by the plugin's init(): its setting's line, the source named once */
        {"file", "", 4, "identity source local: 'path' is required (plugin file)"},
        {"file", "path = \"/nonexistent\";\n bogus = 1;", 7,
         "unknown setting 'bogus' for identity source local (plugin file)"},
    };
    char dir[] = "/tmp/sm-plugdir.XXXXXX", cmd[512];
    (void)state;
    assert_non_null(mkdtemp(dir));
    chmod(dir, 0755);
    snprintf(cmd, sizeof(cmd), "install -m 644 %s/plugins/file/.libs/file.so %s/", BUILDDIR, dir);
    assert_int_equal(system(cmd), 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char err[1024] = "", text[512], want[128];
        const char *path;

        snprintf(text, sizeof(text),
                 "identity: {\n  plugin_dir = \"%s\";\n  sources = (\n"
                 "    { name = \"local\";\n      plugin = \"%s\";\n %s }\n  );\n};\n",
                 dir, cases[i].plugin, cases[i].extra);
        path = write_conf(text);
        snprintf(want, sizeof(want), "%s:%d: ", path, cases[i].line);
        if (conf_load(path, &services_conf_hooks, err, sizeof(err)) != NULL ||
            strncmp(err, want, strlen(want)) != 0 ||
            strstr(err, cases[i].reason) != err + strlen(want))
            fail_msg("plugin \"%s\": got \"%s\", expected \"%s%s...\"", cases[i].plugin, err, want,
                     cases[i].reason);
        unlink(path);
    }
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static void
test_conf_defaults_when_file_is_empty(void **state)
{
    char err[512];
    const char *path = write_conf("# nothing\n");
    sm_conf *c = conf_load(path, &services_conf_hooks, err, sizeof(err));
    (void)state;
    assert_non_null(c);
    assert_int_equal(c->daemon.socket_mode, 0660);
    assert_int_equal(c->daemon.milter_timeout, 300);
    assert_int_equal(c->scope->authenticated, 1);
    assert_int_equal(c->scope->nnets, 2);
    assert_int_equal(conf_log_level(c), LOG_INFO);
    conf_free(c);
    unlink(path);
}

static void
test_conf_snapshot_lives_until_last_release(void **state)
{
    char err[512];
    const char *path = write_conf("log: { level = \"debug\"; };\n");
    sm_conf *a = conf_load(path, &services_conf_hooks, err, sizeof(err)), *held, *b;
    (void)state;
    assert_non_null(a);
    conf_publish(a);
    held = conf_acquire(); /* a message in flight */
    assert_ptr_equal(held, a);
    b = conf_load(path, &services_conf_hooks, err, sizeof(err));
    conf_publish(b); /* reload: a is still held */
    assert_int_equal(held->refs, 1);
    assert_int_equal(conf_log_level(held), LOG_DEBUG);
    conf_release(held); /* a freed here (valgrind/ASan would see a leak or a double free) */
    held = conf_acquire();
    assert_ptr_equal(held, b);
    conf_release(held);
    conf_publish(NULL);
    unlink(path);
}

/*
 * Two snapshots with the same identity sources and cache settings share one
 * identity cache (a reload keeps the answers); any change to them gives the new
 * snapshot its own; the cache lives until the last snapshot using it is freed.
 */
static void
test_conf_snapshots_share_identity_cache_only_with_same_sources(void **state)
{
    static const struct {
        const char *what, *path_suffix, *cache;
        int shared;
    } t[] = {
        {"same sources and cache settings", "", "positive_ttl = 300;", 1},
        {"a source setting changed", "2", "positive_ttl = 300;", 0},
        {"a cache setting changed", "", "positive_ttl = 301;", 0},
    };
    char dir[] = "/tmp/sm-cacheshare.XXXXXX", cmd[512], text[1024], err[1024];
    (void)state;

    assert_non_null(mkdtemp(dir));
    chmod(dir, 0755);
    snprintf(cmd, sizeof(cmd),
             "install -m 644 %s/plugins/file/.libs/file.so %s/ && echo example.com > %s/ids && "
             "echo example.org > %s/ids2",
             BUILDDIR, dir, dir, dir);
    assert_int_equal(system(cmd), 0);
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        sm_conf *a, *b;

#define CACHESHARE_FMT                                                                             \
    "identity: { plugin_dir = \"%s\"; sources = ( { name = \"local\"; plugin = \"file\"; "         \
    "path = \"%s/ids%s\"; } ); cache: { %s }; };\n"
        snprintf(text, sizeof(text), CACHESHARE_FMT, dir, dir, "", "positive_ttl = 300;");
        a = conf_load(write_conf(text), &services_conf_hooks, err, sizeof(err));
        if (a == NULL)
            fail_msg("%s", err);
        snprintf(text, sizeof(text), CACHESHARE_FMT, dir, dir, t[i].path_suffix, t[i].cache);
        b = conf_load(write_conf(text), &services_conf_hooks, err, sizeof(err));
        if (b == NULL)
            fail_msg("%s", err);
        print_message("%s: %s\n", t[i].what,
                      services_of(a)->idcache == services_of(b)->idcache ? "shared" : "own cache");
        assert_int_equal(services_of(a)->idcache == services_of(b)->idcache, t[i].shared);
        cache_put(services_of(a)->idcache, "local", "u@example.com", SM_IDKIND_ADDRESS,
                  SM_ID_VERIFIED, NULL);
        conf_free(a); /* b's cache (shared or not) stays usable: ASan would see otherwise */
        {
            cache_stats st;
            cache_get_stats(services_of(b)->idcache, &st);
            assert_int_equal(st.entries, t[i].shared ? 1 : 0);
        }
        conf_free(b);
    }
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* the last release (a mail thread at end of message) never frees: the reaper thread does */
static void
test_conf_last_release_hands_snapshot_to_reaper(void **state)
{
    char err[512];
    const char *path = write_conf("log: { level = \"debug\"; };\n");
    sm_conf *a = conf_load(path, &services_conf_hooks, err, sizeof(err)), *held;
    unsigned long reaped = conf_reaped();
    (void)state;
    assert_non_null(a);
    conf_publish(a);
    held = conf_acquire();
    conf_publish(conf_load(path, &services_conf_hooks, err,
                           sizeof(err))); /* reload while a message holds a */
    assert_int_equal(conf_reaped(), reaped);
    assert_null(conf_release(held)); /* the last reference of a */
    conf_publish(NULL);              /* joins the reaper once it freed a */
    assert_int_equal(conf_reaped(), reaped + 1);
    /* a snapshot replaced while nobody holds it is freed by the publisher, not reaped */
    conf_publish(conf_load(path, &services_conf_hooks, err, sizeof(err)));
    conf_publish(conf_load(path, &services_conf_hooks, err, sizeof(err)));
    conf_publish(NULL);
    assert_int_equal(conf_reaped(), reaped + 1);
    unlink(path);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conf_errors_name_file_and_line),
        cmocka_unit_test(test_conf_missing_file_is_an_error),
        cmocka_unit_test(test_conf_sample_file_loads_and_dumps_every_group),
        cmocka_unit_test(test_conf_snapshots_share_identity_cache_only_with_same_sources),
        cmocka_unit_test(test_conf_plugin_errors_start_with_file_and_line),
        cmocka_unit_test(test_conf_defaults_when_file_is_empty),
        cmocka_unit_test(test_conf_snapshot_lives_until_last_release),
        cmocka_unit_test(test_conf_last_release_hands_snapshot_to_reaper),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
