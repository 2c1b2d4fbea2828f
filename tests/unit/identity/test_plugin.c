/*
 * test_plugin.c - plugin loader, host services, file plugin, chain resolution
 *
 * Every test loads real modules from a private plugin directory (copies of
 * the built file.so, plugin_test.so and the deliberately bad builds):
 * unsafe ownership/permissions (of the file and every directory above it),
 * symbolic links, a plugin of the run user after the drop, wrong ABI version, short descriptor,
 * missing symbol and path traversal must be refused with a reason; the
 * file plugin's format, bad lines, reload on change; identity_resolve's
 * most-specific-wins and the combine rules first/all.
 */
#include "config.h"

#include <ctype.h>
#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine/gate.h"
#include "identity/identity.h"
#include "lib/log.h"
#include "identity/plugin.h"
#include "plugin_dir.h"
#include "lib/privsep.h"
#include "lib/util.h"

static char *pdir;

static int
setup(void **state)
{
    (void)state;
    pdir = plugin_dir_make();
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    plugin_dir_remove(pdir);
    pdir = NULL;
    return 0;
}

/* load - parse "identity { plugin_dir = DIR; <body> }" and load its chain */
static int
load(const char *dir, const char *body, cache *c, plugin_chain **chain_r, char *err, size_t errlen)
{
    config_t cfg;
    gate_conf *gc = NULL;
    char *text = xasprintf("identity: {\n  plugin_dir = \"%s\";\n%s\n};\n", dir, body);
    int rc = -1;

    *chain_r = NULL;
    if (plugin_conf_read(&cfg, text) == 0 &&
        gate_conf_parse(config_lookup(&cfg, "identity"), &gc, err, errlen) == 0)
        rc = gate_chain_load(gc, c, chain_r, err, errlen);
    gate_conf_free(gc);
    config_destroy(&cfg);
    free(text);
    return rc;
}

static unsigned long
test_plugin_calls(void)
{
    char *path = xasprintf("%s/plugin_test.so", pdir);
    void *h = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
    unsigned long (*fn)(void) = NULL;
    unsigned long n = 0;

    if (h != NULL) {
        *(void **)&fn = dlsym(h, "plugin_test_calls");
        n = fn != NULL ? fn() : 0;
        dlclose(h);
    }
    free(path);
    return n;
}

static void
test_plugin_refusals_name_the_reason(void **state)
{
    static const struct {
        const char *what;
        const char *plugin;
        const char *expect; /* substring of the error */
    } t[] = {
        {"wrong ABI version", "plugin_badabi", "plugin ABI version 2, this ses-milter needs 1"},
        {"descriptor too small", "plugin_small", "descriptor size"},
        {"missing symbol", "plugin_nosym", "no symbol ses_milter_plugin"},
        {"no such plugin", "nothere", "nothere.so: No such file or directory"},
        {"path traversal ..", "../plugin_test", "contains '/' or '..'"},
        {"path with /", "sub/plugin_test", "contains '/' or '..'"},
        {"absolute path", "/tmp/plugin_test", "contains '/' or '..'"},
        {"odd characters", "plug in", "may only contain"},
        {"empty name", "", "empty name"},
        /* a copy under another file name declares the name of the original */
        {"renamed copy", "plugin_twin", "plugin_twin.so: declares plugin name \"plugin_test\""},
    };
    char *cp = xasprintf("cp -p %s/plugin_test.so %s/plugin_twin.so", pdir, pdir);

    (void)state;
    assert_int_equal(system(cp), 0);
    free(cp);
    for (size_t i = 0; i < SM_ARRAY_LEN(t); i++) {
        plugin_chain *ch;
        char err[512] = "",
             *body = xasprintf("sources = ( { name = \"x\"; plugin = \"%s\"; } );", t[i].plugin);
        int rc = load(pdir, body, NULL, &ch, err, sizeof(err));
        if (rc != -1 || strstr(err, t[i].expect) == NULL)
            fail_msg("%s: rc=%d err=\"%s\", expected \"%s\"", t[i].what, rc, err, t[i].expect);
        assert_null(ch);
        free(body);
    }
}

static void
test_plugin_unsafe_ownership_and_permissions_refused(void **state)
{
    static const struct {
        const char *what;
        int on_dir;
        int mode;
        int uid; /* -1: keep */
        const char *expect;
    } t[] = {
        {"file writable by group", 0, 0664, -1, "plugin_test.so: unsafe: writable by group"},
        {"file writable by others", 0, 0646, -1, "plugin_test.so: unsafe: writable by others"},
        {"file owned by someone else", 0, 0644, 65534, "unsafe: owned by uid 65534"},
        {"directory writable by group", 1, 0775, -1, "unsafe: writable by group"},
        {"directory owned by someone else", 1, 0755, 65534, "unsafe: owned by uid 65534"},
    };
    (void)state;
    for (size_t i = 0; i < SM_ARRAY_LEN(t); i++) {
        char *dir = plugin_dir_make(), err[512] = "";
        char *file = xasprintf("%s/plugin_test.so", dir);
        const char *target = t[i].on_dir ? dir : file;
        plugin_chain *ch;
        int rc;

        assert_int_equal(chmod(target, (mode_t)t[i].mode), 0);
        if (t[i].uid >= 0 && chown(target, (uid_t)t[i].uid, (gid_t)-1) != 0)
            skip(); /* not root: cannot give the file away */
        rc = load(dir, "sources = ( { name = \"x\"; plugin = \"plugin_test\"; } );", NULL, &ch, err,
                  sizeof(err));
        if (rc != -1 || strstr(err, t[i].expect) == NULL || strstr(err, target) == NULL)
            fail_msg("%s: rc=%d err=\"%s\"", t[i].what, rc, err);
        chmod(dir, 0755);
        free(file);
        plugin_dir_remove(dir);
    }
}

static void
test_plugin_symlinks_and_unsafe_parent_directories_refused(void **state)
{
    const struct {
        const char *what;
        const char *plant;  /* shell, $1 = the plugin directory */
        const char *dir;    /* plugin_dir relative to the plugin directory, "" = itself */
        const char *expect; /* NULL: loads */
    } t[] = {
        {"plugin file is a symbolic link",
         "mv $1/plugin_test.so $1/real.so && ln -s real.so $1/plugin_test.so", "",
         "plugin_test.so: is a symbolic link (refused)"},
        {"plugin directory reached through a symbolic link (resolved, then checked)",
         "mkdir $1/d && cp -p $1/plugin_test.so $1/d/ && ln -s d $1/l", "/l", NULL},
        {"parent directory writable by others",
         "mkdir -p $1/d && cp -p $1/plugin_test.so $1/d/ && chmod 777 $1", "/d",
         ": unsafe: writable by others (mode 0777)"},
        {"parent directory writable by group",
         "mkdir -p $1/d && cp -p $1/plugin_test.so $1/d/ && chmod 775 $1", "/d",
         ": unsafe: writable by group (mode 0775)"},
        {"sticky parent of root's or ours (like /tmp) is fine",
         "mkdir -p $1/d && cp -p $1/plugin_test.so $1/d/ && chmod 1777 $1", "/d",
         geteuid() == 0 ? NULL : ": unsafe: writable by others"},
    };
    (void)state;
    for (size_t i = 0; i < SM_ARRAY_LEN(t); i++) {
        char *dir = plugin_dir_make(), err[512] = "";
        char *cmd = xasprintf("sh -c '%s' sh %s", t[i].plant, dir),
             *pd = xasprintf("%s%s", dir, t[i].dir);
        plugin_chain *ch = NULL;
        int rc;

        assert_int_equal(system(cmd), 0);
        rc = load(pd, "sources = ( { name = \"x\"; plugin = \"plugin_test\"; } );", NULL, &ch, err,
                  sizeof(err));
        if (t[i].expect == NULL && rc != 0)
            fail_msg("%s: refused: %s", t[i].what, err);
        if (t[i].expect != NULL && (rc != -1 || strstr(err, t[i].expect) == NULL))
            fail_msg("%s: rc=%d err=\"%s\", expected \"%s\"", t[i].what, rc, err, t[i].expect);
        plugin_chain_free(ch);
        chmod(dir, 0755);
        free(cmd);
        free(pd);
        cmd = xasprintf("rm -rf %s/d %s/l %s/real.so", dir, dir, dir);
        assert_int_equal(system(cmd), 0);
        free(cmd);
        plugin_dir_remove(dir);
    }
}

/* after the privilege drop (euid nobody, started as root) a plugin of nobody's is refused */
static void
test_plugin_of_the_run_user_refused_after_the_drop(void **state)
{
    char *dir, *file, err[512] = "";
    plugin_chain *ch = NULL;
    int rc;

    (void)state;
    if (geteuid() != 0)
        skip();     /* needs root to become someone else and back */
    privsep_init(); /* the daemon started as root */
    dir = plugin_dir_make();
    file = xasprintf("%s/plugin_test.so", dir);
    assert_int_equal(chown(file, 65534, (gid_t)-1), 0);
    assert_int_equal(seteuid(65534), 0);
    rc = load(dir, "sources = ( { name = \"x\"; plugin = \"plugin_test\"; } );", NULL, &ch, err,
              sizeof(err));
    assert_int_equal(seteuid(0), 0);
    if (rc != -1 ||
        strstr(err, "plugin_test.so: unsafe: owned by uid 65534, not by root or uid 0") == NULL)
        fail_msg("rc=%d err=\"%s\"", rc, err);
    plugin_chain_free(ch);
    free(file);
    plugin_dir_remove(dir);
}

static void
test_plugin_one_module_shared_by_instances(void **state)
{
    plugin_chain *ch;
    char err[512] = "";

    (void)state;
    assert_int_equal(load(pdir,
                          "sources = ( { name = \"a\"; plugin = \"plugin_test\"; },"
                          " { name = \"b\"; plugin = \"plugin_test\"; },"
                          " { name = \"c\"; plugin = \"file\"; path = \"/dev/null\"; } );",
                          NULL, &ch, err, sizeof(err)),
                     0);
    assert_int_equal(plugin_chain_count(ch), 3);
    assert_int_equal(plugin_chain_module_count(ch), 2);
    assert_string_equal(plugin_instance_name(plugin_chain_get(ch, 1)), "b");
    assert_string_equal(plugin_instance_plugin(plugin_chain_get(ch, 2)), "file 1.0");
    assert_null(plugin_chain_get(ch, 3));
    plugin_chain_free(ch);
}

/* ABI 1.2: a plugin built before the account entry (spare[1] NULL) offers no account
 * state, and the engine then needs no RCPT replies */
static void
test_plugin_without_account_entry_offers_no_account_state(void **state)
{
    plugin_chain *ch;
    sm_acct_state st;
    char err[512] = "";

    (void)state;
    assert_int_equal(load(pdir,
                          "sources = ( { name = \"a\"; plugin = \"plugin_test\"; },"
                          " { name = \"c\"; plugin = \"file\"; path = \"/dev/null\"; } );",
                          NULL, &ch, err, sizeof(err)),
                     0);
    assert_int_equal(plugin_instance_account(plugin_chain_get(ch, 0), &st), -1);
    assert_int_equal(plugin_instance_account(plugin_chain_get(ch, 1), &st), -1);
    assert_int_equal(st.size, sizeof(st));
    assert_int_equal(st.known, 0);
    assert_false(plugin_chain_any_account(ch));
    plugin_chain_free(ch);
}

static void
test_plugin_config_errors_carry_file_line(void **state)
{
    static const struct {
        const char *what;
        const char *body;
        const char *expect;
    } t[] = {
        {"unknown plugin setting",
         "sources = ( { name = \"a\"; plugin = \"plugin_test\";\n"
         " bogus = 1; } );",
         ":4: unknown setting 'bogus'"},
        {"wrong type",
         "sources = ( { name = \"a\"; plugin = \"plugin_test\";\n"
         " delay_ms = \"x\"; } );",
         ":4: 'delay_ms' of identity source a must be"},
        {"out of range",
         "sources = ( { name = \"a\"; plugin = \"plugin_test\";\n"
         " delay_ms = 999999; } );",
         ":4: 'delay_ms' = 999999 is out of range"},
        {"file without path", "sources = ( { name = \"local\"; plugin = \"file\"; } );",
         ":3: identity source local: 'path' is required"},
        {"init failure names the instance",
         "sources = ( { name = \"a\"; plugin = \"plugin_test\";"
         " fail_init = true; } );",
         ":3: fail_init is set (identity source a, plugin plugin_test)"},
        /* a duplicate name is refused at the second, naming the line of the first */
        {"duplicate instance name names both lines",
         "sources = ( { name = \"a\"; plugin = \"file\"; path=\"/dev/null\"; },\n"
         " { name = \"a\"; plugin = \"file\"; } );",
         ":4: identity source name \"a\" is used twice (first at (config):3)"},
        {"duplicate instance name two sources apart names both lines",
         "sources = ( { name = \"a\"; plugin = \"file\"; path=\"/dev/null\"; },\n"
         " { name = \"b\"; plugin = \"file\"; path=\"/dev/null\"; },\n"
         " { name = \"a\"; plugin = \"plugin_test\"; } );",
         ":5: identity source name \"a\" is used twice (first at (config):3)"},
    };
    (void)state;
    for (size_t i = 0; i < SM_ARRAY_LEN(t); i++) {
        plugin_chain *ch;
        char err[512] = "";
        int rc = load(pdir, t[i].body, NULL, &ch, err, sizeof(err));
        if (rc != -1 || strstr(err, t[i].expect) == NULL)
            fail_msg("%s: rc=%d err=\"%s\", expected \"%s\"", t[i].what, rc, err, t[i].expect);
    }
}

/*
 * the loader itself refuses duplicate names (whoever builds the source list), before it
 * opens any module, naming both lines; distinct names, even of one plugin, load
 */
static void
test_plugin_chain_load_refuses_duplicate_names_naming_both_lines(void **state)
{
    static const struct {
        const char *what;
        const char *list;   /* the sources, one a line from line 1 */
        const char *expect; /* NULL: loads */
    } t[] = {
        {"two sources of one name",
         "( { name = \"a\"; plugin = \"plugin_test\"; },\n"
         "  { name = \"a\"; plugin = \"plugin_test\"; } )",
         "(config):2: identity source name \"a\" is used twice (first at (config):1)"},
        {"duplicate of the first after another",
         "( { name = \"x\"; plugin = \"plugin_test\"; },\n"
         "  { name = \"y\"; plugin = \"plugin_test\"; },\n"
         "  { name = \"x\"; plugin = \"nothere\"; } )",
         "(config):3: identity source name \"x\" is used twice (first at (config):1)"},
        {"distinct names of one plugin load",
         "( { name = \"x\"; plugin = \"plugin_test\"; },\n"
         "  { name = \"y\"; plugin = \"plugin_test\"; } )",
         NULL},
    };
    (void)state;
    for (size_t i = 0; i < SM_ARRAY_LEN(t); i++) {
        char *text = xasprintf("sources = %s;\n", t[i].list), err[512] = "";
        plugin_source src[8];
        const config_setting_t *l;
        plugin_chain *ch = NULL;
        config_t cfg;
        size_t n = 0;
        int rc;

        assert_int_equal(plugin_conf_read(&cfg, text), 0);
        l = config_lookup(&cfg, "sources");
        for (; l != NULL && n < (size_t)config_setting_length(l) && n < SM_ARRAY_LEN(src); n++) {
            const config_setting_t *e = config_setting_get_elem(l, (unsigned)n);
            const char *name = "", *plugin = "";

            config_setting_lookup_string(e, "name", &name);
            config_setting_lookup_string(e, "plugin", &plugin);
            src[n] = (plugin_source){(char *)name, (char *)plugin, e};
        }
        rc = plugin_chain_load(pdir, src, n, NULL, &ch, err, sizeof(err));
        if (t[i].expect == NULL && rc != 0)
            fail_msg("%s: refused: %s", t[i].what, err);
        if (t[i].expect != NULL && (rc != -1 || strcmp(err, t[i].expect) != 0))
            fail_msg("%s: rc=%d err=\"%s\", expected \"%s\"", t[i].what, rc, err, t[i].expect);
        if (t[i].expect != NULL)
            assert_null(ch);
        plugin_chain_free(ch);
        config_destroy(&cfg);
        free(text);
    }
}

/*
 * ABI minor (include/ses-milter/plugin.h: compatible both ways): the descriptor carries the
 * minor it was built for; a newer one than the host's loads, and "ses-milter -n" says that
 * what it adds is not used; a major mismatch is refused (test_plugin_refusals_name_the_reason)
 */
static void
test_plugin_abi_minor_carried_and_newer_minor_loads(void **state)
{
    static const struct {
        const char *what;
        const char *plugin;
        size_t minor;     /* what the loader reads from the descriptor */
        const char *dump; /* substring of the dump, NULL: no notice */
    } t[] = {
        {"plugin of the host's minor", "plugin_test", SM_PLUGIN_ABI_MINOR, NULL},
        {"file plugin carries the host's minor", "file", SM_PLUGIN_ABI_MINOR, NULL},
        {"plugin of a newer minor loads, its additions unused", "plugin_newer",
         SM_PLUGIN_ABI_MINOR + 1, "what 1.4 adds is not used"},
    };
    (void)state;
    for (size_t i = 0; i < SM_ARRAY_LEN(t); i++) {
        char *body = xasprintf("sources = ( { name = \"x\"; plugin = \"%s\";%s } );", t[i].plugin,
                               strcmp(t[i].plugin, "file") == 0 ? " path = \"/dev/null\";" : ""),
             err[512] = "", out[2048] = "";
        plugin_chain *ch = NULL;
        FILE *fp;

        if (load(pdir, body, NULL, &ch, err, sizeof(err)) != 0)
            fail_msg("%s: refused: %s", t[i].what, err);
        assert_int_equal(plugin_instance_abi_minor(plugin_chain_get(ch, 0)), t[i].minor);
        assert_non_null(fp = fmemopen(out, sizeof(out) - 1, "w"));
        plugin_chain_dump(fp, ch);
        fclose(fp);
        if (t[i].dump != NULL ? strstr(out, t[i].dump) == NULL : strstr(out, "not used") != NULL)
            fail_msg("%s: dump \"%s\"", t[i].what, out);
        plugin_chain_free(ch);
        free(body);
    }
}

static char log_seen[4096];

static void
log_grab(int level, const char *line, void *arg)
{
    (void)level;
    (void)arg;
    strncat(log_seen, line, sizeof(log_seen) - strlen(log_seen) - 2);
    strcat(log_seen, "\n");
}

static void
test_plugin_host_log_sanitised_and_cache_put_warms(void **state)
{
    cache *c = cache_new(NULL);
    plugin_chain *ch;
    char err[512] = "";
    cache_answer a;
    unsigned long before;

    (void)state;
    log_seen[0] = '\0';
    log_set_level(LOG_DEBUG);
    log_capture(log_grab, NULL);
    assert_int_equal(load(pdir,
                          "sources = ( { name = \"w\"; plugin = \"plugin_test\";"
                          " warm = \"User@EXAMPLE.com=verified Example.NET=not_verified\"; } );",
                          c, &ch, err, sizeof(err)),
                     0);
    log_capture(NULL, NULL);
    log_set_level(LOG_INFO);
    /* the plugin logged "ready\n(second line)": one line, the newline escaped */
    assert_non_null(strstr(log_seen, "identity source w: test source ready\\x0a(second line)"));
    assert_int_equal(plugin_chain_start(ch, err, sizeof(err)), 0);
    before = test_plugin_calls();
    plugin_instance_lookup(plugin_chain_get(ch, 0), c, "User@example.com", SM_IDKIND_ADDRESS,
                           util_now_ms() + 1000, "Q1", &a);
    assert_int_equal(a.answer, SM_ID_VERIFIED);
    assert_int_equal(a.origin, CACHE_HIT);
    plugin_instance_lookup(plugin_chain_get(ch, 0), c, "example.net", SM_IDKIND_DOMAIN,
                           util_now_ms() + 1000, "Q1", &a);
    assert_int_equal(a.answer, SM_ID_NOT_VERIFIED);
    assert_int_equal(a.origin, CACHE_HIT);
    assert_int_equal(test_plugin_calls(), before);
    plugin_chain_free(ch);
    cache_free(c);
}

/* ---- file plugin ---- */

static sm_id_answer
file_ask(plugin_chain *ch, const char *id, sm_id_kind kind)
{
    cache_answer a;
    return plugin_instance_lookup(plugin_chain_get(ch, 0), NULL, id, kind, util_now_ms() + 1000, "",
                                  &a);
}

static void
test_file_plugin_format_comments_negation_idn(void **state)
{
    static const struct {
        const char *id;
        sm_id_kind kind;
        sm_id_answer expect;
    } t[] = {
        {"user@example.com", SM_IDKIND_ADDRESS, SM_ID_VERIFIED},
        {"User@example.com", SM_IDKIND_ADDRESS, SM_ID_UNKNOWN},  /* local part case-sensitive */
        {"Boss@example.org", SM_IDKIND_ADDRESS, SM_ID_VERIFIED}, /* domain was upper-case */
        {"example.net", SM_IDKIND_DOMAIN, SM_ID_VERIFIED},
        {"sub.example.net", SM_IDKIND_DOMAIN, SM_ID_UNKNOWN}, /* the host walks parents */
        {"blocked@example.net", SM_IDKIND_ADDRESS, SM_ID_NOT_VERIFIED},
        {"old.example.net", SM_IDKIND_DOMAIN, SM_ID_NOT_VERIFIED},
        {"xn--bcher-kva.example", SM_IDKIND_DOMAIN, SM_ID_VERIFIED},
        {"# not an identity", SM_IDKIND_DOMAIN, SM_ID_UNKNOWN},
        {"example.com", SM_IDKIND_DOMAIN, SM_ID_UNKNOWN}, /* an address does not cover its domain */
        {"example.net", SM_IDKIND_ADDRESS, SM_ID_UNKNOWN},
    };
    char *path = xasprintf("%s/ids", pdir), *body;
    plugin_chain *ch;
    char err[512] = "";

    (void)state;
    assert_int_equal(plugin_write_file(path,
                                       "# verified identities\n\n"
                                       "user@example.com\n"
                                       "  Boss@EXAMPLE.ORG  \r\n"
                                       "example.net.\n"
                                       "!blocked@example.net\n"
                                       "! old.example.net\n"
                                       "\tbücher.example\n"
                                       "# end\n",
                                       0644),
                     0);
    body = xasprintf("sources = ( { name = \"f\"; plugin = \"file\"; path = \"%s\"; } );", path);
    assert_int_equal(load(pdir, body, NULL, &ch, err, sizeof(err)), 0);
    for (size_t i = 0; i < SM_ARRAY_LEN(t); i++)
        if (file_ask(ch, t[i].id, t[i].kind) != t[i].expect)
            fail_msg("%s: expected %s", t[i].id, identity_answer_name(t[i].expect));
    plugin_chain_free(ch);
    unlink(path);
    free(path);
    free(body);
}

static void
test_file_plugin_bad_line_reported_with_line_number(void **state)
{
    static const struct {
        const char *content;
        const char *expect;
    } t[] = {
        {"ok@example.com\nbad entry.example\n", "ids:2: identity contains white space"},
        {"# c\n\n\na..b.example\n", "ids:4: domain has an empty or too long label"},
        {"user@\n", "ids:1: domain is empty"},
        {"@example.com\n", "ids:1: address with an empty local part"},
        {"!\n", "ids:1: empty identity"},
        {"x\xff\xfe.example\n", "ids:1: invalid internationalised domain"},
        {"a@example.com\n!a@EXAMPLE.com\n", "ids:2: a@example.com conflicts with line 1"},
        {"a\x01@example.com\n", "ids:1: identity contains white space or a control"},
    };
    char *path = xasprintf("%s/ids", pdir), *body;

    (void)state;
    body = xasprintf("sources = ( { name = \"f\"; plugin = \"file\"; path = \"%s\"; } );", path);
    for (size_t i = 0; i < SM_ARRAY_LEN(t); i++) {
        plugin_chain *ch;
        char err[512] = "";
        assert_int_equal(plugin_write_file(path, t[i].content, 0644), 0);
        if (load(pdir, body, NULL, &ch, err, sizeof(err)) != -1 || strstr(err, t[i].expect) == NULL)
            fail_msg("case %zu: err=\"%s\", expected \"%s\"", i, err, t[i].expect);
    }
    unlink(path);
    free(path);
    free(body);
}

static void
test_file_plugin_reloads_on_change_and_keeps_old_list_on_error(void **state)
{
    char *path = xasprintf("%s/ids", pdir), *body;
    plugin_chain *ch;
    char err[512] = "";
    struct timespec pause = {1, 100000000};

    (void)state;
    assert_int_equal(plugin_write_file(path, "a@example.com\n", 0644), 0);
    body = xasprintf("sources = ( { name = \"f\"; plugin = \"file\"; path = \"%s\"; } );", path);
    assert_int_equal(load(pdir, body, NULL, &ch, err, sizeof(err)), 0);
    assert_int_equal(file_ask(ch, "a@example.com", SM_IDKIND_ADDRESS), SM_ID_VERIFIED);
    assert_int_equal(file_ask(ch, "b@example.com", SM_IDKIND_ADDRESS), SM_ID_UNKNOWN);

    assert_int_equal(plugin_write_file(path, "b@example.com\n!a@example.com\n", 0644), 0);
    nanosleep(&pause, NULL);
    assert_int_equal(file_ask(ch, "b@example.com", SM_IDKIND_ADDRESS), SM_ID_VERIFIED);
    assert_int_equal(file_ask(ch, "a@example.com", SM_IDKIND_ADDRESS), SM_ID_NOT_VERIFIED);

    log_seen[0] = '\0';
    log_capture(log_grab, NULL);
    assert_int_equal(plugin_write_file(path, "c@example.com\nbroken line\n", 0644), 0);
    nanosleep(&pause, NULL);
    assert_int_equal(file_ask(ch, "b@example.com", SM_IDKIND_ADDRESS), SM_ID_VERIFIED);
    assert_int_equal(file_ask(ch, "c@example.com", SM_IDKIND_ADDRESS), SM_ID_UNKNOWN);
    log_capture(NULL, NULL);
    assert_non_null(strstr(log_seen, "ids:2: identity contains white space"));
    assert_non_null(strstr(log_seen, "keeping the previous list"));

    /* the file disappears: old list kept, logged once; it comes back: re-read */
    log_seen[0] = '\0';
    log_capture(log_grab, NULL);
    unlink(path);
    nanosleep(&pause, NULL);
    assert_int_equal(file_ask(ch, "b@example.com", SM_IDKIND_ADDRESS), SM_ID_VERIFIED);
    nanosleep(&pause, NULL);
    assert_int_equal(file_ask(ch, "b@example.com", SM_IDKIND_ADDRESS), SM_ID_VERIFIED);
    assert_non_null(strstr(log_seen, "ids: No such file or directory (keeping the previous list)"));
    assert_null(strstr(strstr(log_seen, "No such file") + 1, "No such file"));
    assert_int_equal(plugin_write_file(path, "d@example.com\n", 0644), 0);
    nanosleep(&pause, NULL);
    assert_int_equal(file_ask(ch, "d@example.com", SM_IDKIND_ADDRESS), SM_ID_VERIFIED);
    assert_int_equal(file_ask(ch, "b@example.com", SM_IDKIND_ADDRESS), SM_ID_UNKNOWN);
    log_capture(NULL, NULL);
    plugin_chain_free(ch);
    unlink(path);
    free(path);
    free(body);
}

/* random file contents (fixed seed): either loaded, or refused as "path:line: reason" */
static void
test_file_plugin_random_files_load_or_name_the_line(void **state)
{
    static const char alphabet[] = "abcxyz.example.com@user+#  \t\n\n\n\n\n\nABC-_"
                                   "abcxyz.example.com\n\n\n!\xc3\xbc\xff\x01\r";
    char *path = xasprintf("%s/ids", pdir), *body, *prefix = xasprintf("%s:", path);
    uint32_t seed = 777;
    int loaded = 0;

    (void)state;
    body = xasprintf("sources = ( { name = \"f\"; plugin = \"file\"; path = \"%s\"; } );", path);
    for (int i = 0; i < 200; i++) {
        char content[300], err[512] = "";
        size_t len;
        plugin_chain *ch;

        seed = seed * 1103515245u + 12345u;
        len = (seed >> 16) % sizeof(content);
        for (size_t k = 0; k < len; k++) {
            seed = seed * 1103515245u + 12345u;
            content[k] = alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
        }
        content[len] = '\0';
        assert_int_equal(plugin_write_file(path, content, 0644), 0);
        if (load(pdir, body, NULL, &ch, err, sizeof(err)) == 0) {
            loaded++;
            file_ask(ch, "user@example.com", SM_IDKIND_ADDRESS);
            plugin_chain_free(ch);
        } else if (strstr(err, prefix) == NULL ||
                   !isdigit((unsigned char)strstr(err, prefix)[strlen(prefix)])) {
            fail_msg("case %d: error without path:line: %s", i, err);
        }
    }
    print_message("random identity files loaded: %d of 200\n", loaded);
    assert_true(loaded > 0);
    unlink(path);
    free(path);
    free(prefix);
    free(body);
}

/* ---- resolution over the chain ---- */

typedef struct resolve_case {
    const char *what;
    identity_combine combine;
    const char *answers1, *answers2; /* NULL answers2: one instance */
    const char *local, *domain;
    sm_id_answer expect;
    const char *matched, *instance;
} resolve_case;

static void
run_resolve_table(const resolve_case *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char *body, err[512] = "";
        plugin_chain *ch;
        cache *c = cache_new(NULL);
        identity_result r;

        body =
            xasprintf("sources = ( { name = \"one\"; plugin = \"plugin_test\"; answers = \"%s\"; }"
                      "%s%s%s );",
                      t[i].answers1,
                      t[i].answers2 ? ", { name = \"two\"; plugin = "
                                      "\"plugin_test\"; answers = \""
                                    : "",
                      t[i].answers2 ? t[i].answers2 : "", t[i].answers2 ? "\"; }" : "");
        if (load(pdir, body, c, &ch, err, sizeof(err)) != 0)
            fail_msg("%s: %s", t[i].what, err);
        assert_int_equal(identity_resolve(ch, c, t[i].combine, t[i].local, t[i].domain, '+',
                                          util_now_ms() + 2000, "Q", &r, err, sizeof(err)),
                         0);
        if (r.answer != t[i].expect || strcmp(r.matched, t[i].matched) != 0 ||
            strcmp(r.instance, t[i].instance) != 0)
            fail_msg("%s: got %s matched \"%s\" instance \"%s\"", t[i].what,
                     identity_answer_name(r.answer), r.matched, r.instance);
        plugin_chain_free(ch);
        cache_free(c);
        free(body);
    }
}

static void
test_resolve_most_specific_identity_wins(void **state)
{
    static const resolve_case t[] = {
        {"address NOT_VERIFIED overrides verified domain", IDENTITY_COMBINE_FIRST,
         "user@example.com=not_verified example.com=verified", NULL, "user", "example.com",
         SM_ID_NOT_VERIFIED, "user@example.com", "one"},
        {"other address covered by the domain", IDENTITY_COMBINE_FIRST,
         "user@example.com=not_verified example.com=verified", NULL, "other", "example.com",
         SM_ID_VERIFIED, "example.com", "one"},
        {"address VERIFIED overrides not-verified domain", IDENTITY_COMBINE_FIRST,
         "example.com=not_verified user@example.com=verified", NULL, "user", "example.com",
         SM_ID_VERIFIED, "user@example.com", "one"},
        {"lower subdomain overrides higher", IDENTITY_COMBINE_FIRST,
         "sub.example.com=not_verified example.com=verified", NULL, "u", "a.sub.example.com",
         SM_ID_NOT_VERIFIED, "sub.example.com", "one"},
        {"subdomain inherits the domain", IDENTITY_COMBINE_FIRST, "example.com=verified", NULL, "u",
         "a.b.example.com", SM_ID_VERIFIED, "example.com", "one"},
        {"+label covered by the base address", IDENTITY_COMBINE_FIRST, "user@example.com=verified",
         NULL, "user+news", "example.com", SM_ID_VERIFIED, "user@example.com", "one"},
        {"local part is case-sensitive", IDENTITY_COMBINE_FIRST, "user@example.com=verified", NULL,
         "User", "example.com", SM_ID_NOT_VERIFIED, "", ""},
        {"domain is case-insensitive", IDENTITY_COMBINE_FIRST, "user@example.com=verified", NULL,
         "user", "EXAMPLE.COM", SM_ID_VERIFIED, "user@example.com", "one"},
        {"IDN domain in U-label form", IDENTITY_COMBINE_FIRST, "xn--bcher-kva.example=verified",
         NULL, "u", "BÜCHER.example", SM_ID_VERIFIED, "xn--bcher-kva.example", "one"},
        {"tempfail before a decisive answer", IDENTITY_COMBINE_FIRST,
         "user@example.com=tempfail example.com=verified", NULL, "user", "example.com",
         SM_ID_TEMPFAIL, "user@example.com", "one"},
        {"unknown then verified domain", IDENTITY_COMBINE_FIRST,
         "user@example.com=unknown example.com=verified", NULL, "user", "example.com",
         SM_ID_VERIFIED, "example.com", "one"},
    };
    (void)state;
    run_resolve_table(t, SM_ARRAY_LEN(t));
}

static void
test_resolve_combine_first_and_all(void **state)
{
    static const resolve_case t[] = {
        {"first: unknown in one, verified in two", IDENTITY_COMBINE_FIRST, "",
         "example.com=verified", "u", "example.com", SM_ID_VERIFIED, "example.com", "two"},
        {"first: one decides not verified", IDENTITY_COMBINE_FIRST, "example.com=not_verified",
         "example.com=verified", "u", "example.com", SM_ID_NOT_VERIFIED, "example.com", "one"},
        {"first: one decides verified", IDENTITY_COMBINE_FIRST, "example.com=verified",
         "example.com=not_verified", "u", "example.com", SM_ID_VERIFIED, "example.com", "one"},
        {"first: tempfail in one is tempfail", IDENTITY_COMBINE_FIRST, "example.com=tempfail",
         "example.com=verified", "u", "example.com", SM_ID_TEMPFAIL, "example.com", "one"},
        {"first: nobody knows", IDENTITY_COMBINE_FIRST, "", "", "u", "example.com",
         SM_ID_NOT_VERIFIED, "", ""},
        {"all: verified in both", IDENTITY_COMBINE_ALL, "example.com=verified",
         "u@example.com=verified", "u", "example.com", SM_ID_VERIFIED, "example.com", "one"},
        {"all: unknown in two refuses", IDENTITY_COMBINE_ALL, "example.com=verified", "", "u",
         "example.com", SM_ID_NOT_VERIFIED, "", "two"},
        {"all: not verified in two refuses", IDENTITY_COMBINE_ALL, "example.com=verified",
         "example.com=not_verified", "u", "example.com", SM_ID_NOT_VERIFIED, "example.com", "two"},
        {"all: tempfail in one, verified in two", IDENTITY_COMBINE_ALL, "example.com=tempfail",
         "example.com=verified", "u", "example.com", SM_ID_TEMPFAIL, "example.com", "one"},
        {"all: tempfail in one, not verified in two", IDENTITY_COMBINE_ALL, "example.com=tempfail",
         "example.com=not_verified", "u", "example.com", SM_ID_NOT_VERIFIED, "example.com", "two"},
    };
    (void)state;
    run_resolve_table(t, SM_ARRAY_LEN(t));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plugin_refusals_name_the_reason),
        cmocka_unit_test(test_plugin_unsafe_ownership_and_permissions_refused),
        cmocka_unit_test(test_plugin_symlinks_and_unsafe_parent_directories_refused),
        cmocka_unit_test(test_plugin_of_the_run_user_refused_after_the_drop),
        cmocka_unit_test(test_plugin_one_module_shared_by_instances),
        cmocka_unit_test(test_plugin_without_account_entry_offers_no_account_state),
        cmocka_unit_test(test_plugin_config_errors_carry_file_line),
        cmocka_unit_test(test_plugin_abi_minor_carried_and_newer_minor_loads),
        cmocka_unit_test(test_plugin_chain_load_refuses_duplicate_names_naming_both_lines),
        cmocka_unit_test(test_plugin_host_log_sanitised_and_cache_put_warms),
        cmocka_unit_test(test_file_plugin_format_comments_negation_idn),
        cmocka_unit_test(test_file_plugin_bad_line_reported_with_line_number),
        cmocka_unit_test(test_file_plugin_reloads_on_change_and_keeps_old_list_on_error),
        cmocka_unit_test(test_file_plugin_random_files_load_or_name_the_line),
        cmocka_unit_test(test_resolve_most_specific_identity_wins),
        cmocka_unit_test(test_resolve_combine_first_and_all),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
