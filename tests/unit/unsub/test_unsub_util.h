/*
 * test_unsub_util.h - shared fixtures for the unsubscribe unit tests
 *
 * A private temporary directory per test program (key files, config files,
 * opendkim.conf files), removed at teardown; configuration text with @DIR@
 * standing for that directory is parsed from a real file, so that errors
 * carry "file:line".
 */
#ifndef SM_TEST_UNSUB_UTIL_H
#define SM_TEST_UNSUB_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libconfig.h>

#include "unsub/unsub.h"

#define NOW 1800000000LL

static char tmpdir[64];

/* subst - copy text into out (len bytes) with @DIR@ replaced by tmpdir */
static inline void
subst(const char *text, char *out, size_t len)
{
    char *o = out;

    for (const char *p = text; *p && (size_t)(o - out) + sizeof(tmpdir) + 1 < len; p++) {
        if (strncmp(p, "@DIR@", 5) == 0) {
            o += sprintf(o, "%s", tmpdir);
            p += 4;
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
}

/* write text to a new file under tmpdir; returns its path (caller frees) */
static inline char *
write_file(const char *name, const char *text, mode_t mode)
{
    char *path = malloc(strlen(tmpdir) + strlen(name) + 2);
    FILE *fp;

    sprintf(path, "%s/%s", tmpdir, name);
    fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
    assert_int_equal(chmod(path, mode), 0);
    return path;
}

static inline int
setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_unsub.XXXXXX");
    if (mkdtemp(tmpdir) == NULL)
        return -1;
    free(write_file("key", "0123456789abcdef0123456789abcdef", 0600));
    free(write_file("shortkey", "0123456789", 0600));
    free(write_file("loosekey", "0123456789abcdef0123456789abcdef", 0644));
    return 0;
}

static inline int
teardown(void **state)
{
    char cmd[128];

    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* parse configuration text (with @DIR@ replaced by tmpdir) from a file */
static inline int
parse_text(const char *text, unsub_conf **out, char *err, size_t errlen, char **path_r)
{
    char buf[8192], *path;
    config_t cfg;
    int rc;

    subst(text, buf, sizeof(buf));
    path = write_file("test.conf", buf, 0600);
    config_init(&cfg);
    if (!config_read_file(&cfg, path))
        fail_msg("libconfig: %s:%d: %s", path, config_error_line(&cfg), config_error_text(&cfg));
    rc = unsub_conf_parse(config_lookup(&cfg, "unsubscribe"), out, err, errlen);
    config_destroy(&cfg);
    if (path_r != NULL)
        *path_r = path;
    else
        free(path);
    return rc;
}

#endif
