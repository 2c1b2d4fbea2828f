/*
 * state_conf.c - the "state" configuration group (shared state backend)
 *
 * Purpose: parse and check the group before the first message: the
 * backend this build has, an address it can connect to (host:port,
 * [v6]:port or unix:/path), a prefix without whitespace, and the password
 * file (read here, as root at start, through privsep_open; on a reload the
 * privileged helper opens it).
 *
 * Diagnostics: every error reads "file:line: reason" (cfg_errf).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/cfg.h"
#include "lib/privsep.h"
#include "state/state.h"
#include "lib/util.h"

static const cfg_directive state_conf_tab[] = {
    {"backend", CFG_STR, offsetof(state_conf, backend), "redis", 0, 0, 0, NULL},
    {"address", CFG_STR, offsetof(state_conf, address), "127.0.0.1:6379", 0, 0, 0, NULL},
    {"user", CFG_STR, offsetof(state_conf, user), NULL, 0, 0, 0, NULL},
    {"password_file", CFG_STR, offsetof(state_conf, password_file), NULL, 0, 0, 0, NULL},
    {"tls", CFG_BOOL, offsetof(state_conf, tls), NULL, 0, 0, 0, NULL},
    {"prefix", CFG_STR, offsetof(state_conf, prefix), "ses-milter", 0, 0, 0, NULL},
    {"timeout_ms", CFG_INT, offsetof(state_conf, timeout_ms), NULL, 100, 1, 10000, NULL},
    {"pool", CFG_INT, offsetof(state_conf, pool), NULL, 8, 1, 256, NULL},
    CFG_END,
};

/* state_conf_read_password - the first line of path, at most 512 bytes */
static int
state_conf_read_password(const char *path, char **pw_r, char *why, size_t whylen)
{
    char buf[514];
    ssize_t n;
    int fd = privsep_open(path, O_RDONLY, 0, why, whylen);

    if (fd < 0)
        return -1;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n < 0)
        return util_errf(why, whylen, "%s: %s", path, strerror(errno));
    buf[n] = '\0';
    buf[strcspn(buf, "\r\n")] = '\0';
    if (buf[0] == '\0' || strlen(buf) > 512)
        return util_errf(why, whylen, "%s: the first line must hold the password (1-512 bytes)",
                         path);
    *pw_r = xstrdup(buf);
    return 0;
}

/* state_conf_check_address - host:port, [v6]:port or unix:/absolute/path */
static int
state_conf_check_address(const char *a)
{
    const char *colon;
    char *end;
    long port;

    if (strncmp(a, "unix:", 5) == 0)
        return a[5] == '/' ? 0 : -1;
    colon = strrchr(a, ':');
    if (colon == NULL || colon == a || (a[0] == '[' && colon[-1] != ']'))
        return -1;
    port = strtol(colon + 1, &end, 10);
    return *end == '\0' && port > 0 && port < 65536 ? 0 : -1;
}

int
state_conf_parse(const config_setting_t *group, state_conf **out, char *err, size_t errlen)
{
    state_conf *sc = xcalloc(1, sizeof(*sc));
    char why[512];

    *out = sc;
    if (cfg_parse_table(group, state_conf_tab, sc, NULL, err, errlen) < 0)
        return -1;
    sc->present = group != NULL;
    if (!sc->present)
        return 0;
    if (state_backend_available(sc->backend, sc->tls, why, sizeof(why)) < 0)
        return cfg_errf(err, errlen, config_setting_get_member(group, sc->tls ? "tls" : "backend"),
                        "%s", why);
    if (state_conf_check_address(sc->address) < 0)
        return cfg_errf(err, errlen, config_setting_get_member(group, "address"),
                        "address '%s': expected host:port, [v6]:port or unix:/path", sc->address);
    if (sc->prefix[0] == '\0' || strpbrk(sc->prefix, " \t\r\n") != NULL)
        return cfg_errf(err, errlen, config_setting_get_member(group, "prefix"),
                        "prefix must be non-empty and without whitespace");
    if (sc->user != NULL && sc->password_file == NULL)
        return cfg_errf(err, errlen, config_setting_get_member(group, "user"),
                        "user needs password_file (AUTH user password)");
    if (sc->password_file != NULL &&
        state_conf_read_password(sc->password_file, &sc->password, why, sizeof(why)) < 0)
        return cfg_errf(err, errlen, config_setting_get_member(group, "password_file"), "%s", why);
    return 0;
}

void
state_conf_dump(FILE *fp, const state_conf *sc)
{
    if (sc != NULL && sc->present)
        cfg_dump_table(fp, "state", state_conf_tab, sc);
}

void
state_conf_sig(FILE *fp, const state_conf *sc)
{
    if (sc == NULL || !sc->present)
        return;
    fprintf(fp, "state %s %zu:%s %zu:%s %zu:%s %d %zu:%s %ld %ld\n", sc->backend,
            strlen(sc->address), sc->address, sc->user ? strlen(sc->user) : 0,
            sc->user ? sc->user : "", sc->password_file ? strlen(sc->password_file) : 0,
            sc->password_file ? sc->password_file : "", sc->tls, strlen(sc->prefix), sc->prefix,
            sc->timeout_ms, sc->pool);
}

state_conf *
state_conf_free(state_conf *sc)
{
    if (sc == NULL)
        return NULL;
    cfg_free_table(state_conf_tab, sc);
    if (sc->password != NULL) {
        explicit_bzero(sc->password, strlen(sc->password));
        free(sc->password);
    }
    free(sc);
    return NULL;
}
