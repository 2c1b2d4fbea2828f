/*
 * state_conf.c - the "state" configuration group (shared state backend)
 *
 * Purpose: parse and check the group before the first message: the
 * backend this build has, an address it can connect to (host:port,
 * [v6]:port or unix:/path), a prefix without whitespace, and the password
 * file and the TLS files (CA, client certificate and key: read here, as
 * root at start, through privsep_open, so no symbolic link is followed; on
 * a reload the privileged helper opens them).  Secrets (the password, the
 * key) are wiped when the configuration is freed and never logged.
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
    {"sentinels", CFG_STRLIST, offsetof(state_conf, sentinels), NULL, 0, 0, 0, NULL},
    {"master_name", CFG_STR, offsetof(state_conf, master_name), NULL, 0, 0, 0, NULL},
    {"user", CFG_STR, offsetof(state_conf, user), NULL, 0, 0, 0, NULL},
    {"password_file", CFG_STR, offsetof(state_conf, password_file), NULL, 0, 0, 0, NULL},
    {"tls", CFG_BOOL, offsetof(state_conf, tls), NULL, 0, 0, 0, NULL},
    {"tls_ca_file", CFG_STR, offsetof(state_conf, tls_ca_file), NULL, 0, 0, 0, NULL},
    {"tls_server_name", CFG_STR, offsetof(state_conf, tls_server_name), NULL, 0, 0, 0, NULL},
    {"tls_cert_file", CFG_STR, offsetof(state_conf, tls_cert_file), NULL, 0, 0, 0, NULL},
    {"tls_key_file", CFG_STR, offsetof(state_conf, tls_key_file), NULL, 0, 0, 0, NULL},
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

/* state_conf_read_file - the whole of path (at most max bytes), NUL-terminated */
static int
state_conf_read_file(const char *path, size_t max, char **buf_r, char *why, size_t whylen)
{
    size_t len = 0, cap = 4096;
    char *buf;
    ssize_t n = 0;
    int fd = privsep_open(path, O_RDONLY, 0, why, whylen);

    if (fd < 0)
        return -1;
    buf = xmalloc(cap);
    for (;;) {
        if (len + 1 >= cap) {
            char *nb;
            if (cap > max) {
                explicit_bzero(buf, len);
                free(buf);
                close(fd);
                return util_errf(why, whylen, "%s: larger than %zu bytes", path, max);
            }
            nb = xmalloc(cap * 2); /* not realloc: the old buffer may hold a key, wiped */
            memcpy(nb, buf, len);
            explicit_bzero(buf, len);
            free(buf);
            buf = nb;
            cap *= 2;
        }
        n = read(fd, buf + len, cap - len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    if (n < 0) {
        explicit_bzero(buf, len);
        free(buf);
        return util_errf(why, whylen, "%s: %s", path, strerror(errno));
    }
    buf[len] = '\0';
    *buf_r = buf;
    return 0;
}

/* state_conf_tls - read the TLS files and check that they make a client context */
static int
state_conf_tls(const config_setting_t *group, state_conf *sc, char *err, size_t errlen)
{
    static const struct {
        const char *name;
        size_t conf, pem;
    } files[] = {
        {"tls_ca_file", offsetof(state_conf, tls_ca_file), offsetof(state_conf, tls_ca_pem)},
        {"tls_cert_file", offsetof(state_conf, tls_cert_file), offsetof(state_conf, tls_cert_pem)},
        {"tls_key_file", offsetof(state_conf, tls_key_file), offsetof(state_conf, tls_key_pem)},
    };
    const char *setting = "tls";
    char why[512];

    if (!sc->tls) {
        for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
            if (*(char **)((char *)sc + files[i].conf) != NULL)
                return cfg_errf(err, errlen, config_setting_get_member(group, files[i].name),
                                "%s needs tls = true", files[i].name);
        if (sc->tls_server_name != NULL)
            return cfg_errf(err, errlen, config_setting_get_member(group, "tls_server_name"),
                            "tls_server_name needs tls = true");
        return 0;
    }
    if (strncmp(sc->address, "unix:", 5) == 0)
        return cfg_errf(err, errlen, config_setting_get_member(group, "tls"),
                        "tls needs a host:port address, not a unix socket");
    if ((sc->tls_cert_file == NULL) != (sc->tls_key_file == NULL))
        return cfg_errf(
            err, errlen,
            config_setting_get_member(group, sc->tls_cert_file ? "tls_cert_file" : "tls_key_file"),
            "tls_cert_file and tls_key_file go together (mutual TLS)");
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        const char *path = *(char **)((char *)sc + files[i].conf);
        if (path != NULL &&
            state_conf_read_file(path, 4u << 20, (char **)((char *)sc + files[i].pem), why,
                                 sizeof(why)) < 0)
            return cfg_errf(err, errlen, config_setting_get_member(group, files[i].name), "%s",
                            why);
    }
    if (state_tls_check(sc, &setting, why, sizeof(why)) < 0)
        return cfg_errf(err, errlen, config_setting_get_member(group, setting), "%s", why);
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
    if (sc->sentinels.n > 0 && config_setting_get_member(group, "address") != NULL)
        return cfg_errf(err, errlen, config_setting_get_member(group, "address"),
                        "address and sentinels exclude each other (the sentinels name the master)");
    if ((sc->sentinels.n > 0) != (sc->master_name != NULL))
        return cfg_errf(
            err, errlen,
            config_setting_get_member(group, sc->master_name ? "master_name" : "sentinels"),
            "sentinels and master_name go together");
    for (size_t i = 0; i < sc->sentinels.n; i++)
        if (strncmp(sc->sentinels.v[i], "unix:", 5) == 0 ||
            state_conf_check_address(sc->sentinels.v[i]) < 0)
            return cfg_errf(err, errlen, config_setting_get_member(group, "sentinels"),
                            "sentinel '%s': expected host:port or [v6]:port", sc->sentinels.v[i]);
    if (sc->prefix[0] == '\0' || strpbrk(sc->prefix, " \t\r\n") != NULL)
        return cfg_errf(err, errlen, config_setting_get_member(group, "prefix"),
                        "prefix must be non-empty and without whitespace");
    if (sc->user != NULL && sc->password_file == NULL)
        return cfg_errf(err, errlen, config_setting_get_member(group, "user"),
                        "user needs password_file (AUTH user password)");
    if (sc->password_file != NULL &&
        state_conf_read_password(sc->password_file, &sc->password, why, sizeof(why)) < 0)
        return cfg_errf(err, errlen, config_setting_get_member(group, "password_file"), "%s", why);
    return state_conf_tls(group, sc, err, errlen);
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
    for (size_t i = 0; i < sc->sentinels.n; i++)
        fprintf(fp, "state-sentinel %zu:%s %s\n", strlen(sc->sentinels.v[i]), sc->sentinels.v[i],
                sc->master_name);
    if (sc->tls) /* the TLS settings, on a line of their own (the files by name) */
        fprintf(fp, "state-tls %zu:%s %zu:%s %zu:%s %zu:%s\n",
                sc->tls_ca_file ? strlen(sc->tls_ca_file) : 0,
                sc->tls_ca_file ? sc->tls_ca_file : "",
                sc->tls_server_name ? strlen(sc->tls_server_name) : 0,
                sc->tls_server_name ? sc->tls_server_name : "",
                sc->tls_cert_file ? strlen(sc->tls_cert_file) : 0,
                sc->tls_cert_file ? sc->tls_cert_file : "",
                sc->tls_key_file ? strlen(sc->tls_key_file) : 0,
                sc->tls_key_file ? sc->tls_key_file : "");
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
    if (sc->tls_key_pem != NULL) {
        explicit_bzero(sc->tls_key_pem, strlen(sc->tls_key_pem));
        free(sc->tls_key_pem);
    }
    free(sc->tls_ca_pem);
    free(sc->tls_cert_pem);
    free(sc);
    return NULL;
}
