/*
 * unsubd.c - ses-milter-unsubscribe: the RFC 8058 one-click endpoint
 *
 * Synopsis:
 *     ses-milter-unsubscribe [-c CONFIG] [-l ADDRESS:PORT] [-v]
 *
 * Purpose: read the "unsubscribe" section of ses-milter's configuration
 * (the token key, token_ttl, the rules that say which list ids exist, the
 * store: store_file, or store_backend = "redis" with the "state" group's
 * Redis, and the endpoint_* settings), open the store's writer (the only
 * one of a file; one of the fleet's on Redis), listen (loopback by
 * default, behind a reverse proxy; HTTPS when endpoint_tls_cert_file and
 * endpoint_tls_key_file are set), drop to endpoint_user when started as
 * root, and answer requests (unsubd_http.c) in one thread until SIGTERM or
 * SIGINT.  Runs in the foreground (systemd Type=simple), logging to stderr
 * (the journal).
 *
 * Security: the key file and the store are opened before privileges are
 * dropped; the store refuses symbolic links and a second writer.
 *
 * Diagnostics: exit 0 after a signal, 1 when it cannot start (the reason
 * on stderr), 2 on a usage error.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <netdb.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libconfig.h>

#include "lib/cfg.h"
#include "lib/log.h"
#include "unsubd/unsubd.h"
#include "lib/util.h"

int main(int argc, char **argv);

/* unsubd_usage - print usage, return 2 */
static int
unsubd_usage(void)
{
    fputs("usage: ses-milter-unsubscribe [-c CONFIG] [-l ADDRESS:PORT] [-v]\n", stderr);
    return 2;
}

/* unsubd_load - the "unsubscribe" section of the configuration file; NULL + err */
static unsub_conf *
unsubd_load(const char *path, char *err, size_t errlen)
{
    config_t cf;
    unsub_conf *c = NULL;

    config_init(&cf);
    config_set_options(&cf, CONFIG_OPTION_AUTOCONVERT);
    cfg_set_source(path);
    if (config_read_file(&cf, path) != CONFIG_TRUE) {
        if (config_error_type(&cf) == CONFIG_ERR_FILE_IO)
            util_errf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
        else
            util_errf(err, errlen, "%s:%d: %s",
                      config_error_file(&cf) ? config_error_file(&cf) : path,
                      config_error_line(&cf), config_error_text(&cf));
    } else {
        unsub_conf_parse(config_lookup(&cf, "unsubscribe"), &c, err, errlen);
    }
    cfg_set_source(NULL);
    config_destroy(&cf);
    return c;
}

/* unsubd_addr - "ADDRESS:PORT" or "[V6]:PORT" (numeric) to a socket address */
static int
unsubd_addr(const char *spec, struct sockaddr_storage *ss, char *err, size_t errlen)
{
    struct addrinfo hints, *res = NULL;
    char host[128];
    const char *colon = strrchr(spec, ':'), *h = spec;
    size_t hl;
    int rc;

    if (colon == NULL || colon[1] == '\0')
        return util_errf(err, errlen, "endpoint_listen '%s' is not ADDRESS:PORT", spec);
    hl = (size_t)(colon - spec);
    if (*spec == '[' && hl >= 2 && spec[hl - 1] == ']') {
        h = spec + 1;
        hl -= 2;
    }
    if (hl == 0 || hl >= sizeof(host))
        return util_errf(err, errlen, "endpoint_listen '%s' is not ADDRESS:PORT", spec);
    memcpy(host, h, hl);
    host[hl] = '\0';
    memset(&hints, 0, sizeof(hints));
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
    hints.ai_socktype = SOCK_STREAM;
    if ((rc = getaddrinfo(host, colon + 1, &hints, &res)) != 0)
        return util_errf(err, errlen, "endpoint_listen '%s': %s", spec, gai_strerror(rc));
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    return 0;
}

/* unsubd_slurp - a whole PEM file (new string), NULL + err */
static char *
unsubd_slurp(const char *path, char *err, size_t errlen)
{
    FILE *fp = fopen(path, "re");
    char *buf = NULL;
    size_t len = 0, n;
    char chunk[4096];

    if (fp == NULL) {
        util_errf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0 && len < 1048576) {
        buf = xrealloc(buf, len + n + 1);
        memcpy(buf + len, chunk, n);
        len += n;
    }
    fclose(fp);
    if (buf == NULL) {
        util_errf(err, errlen, "%s is empty", path);
        return NULL;
    }
    buf[len] = '\0';
    return buf;
}

/* unsubd_drop - become user (and its groups) when running as root */
static int
unsubd_drop(const char *user, char *err, size_t errlen)
{
    struct passwd *pw;

    if (user == NULL || geteuid() != 0)
        return 0;
    if ((pw = getpwnam(user)) == NULL)
        return util_errf(err, errlen, "endpoint_user '%s' does not exist", user);
    if (initgroups(pw->pw_name, pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0)
        return util_errf(err, errlen, "cannot become %s: %s", user, strerror(errno));
    if (setuid(0) == 0)
        return util_errf(err, errlen, "could regain root after dropping to %s", user);
    return 0;
}

/* unsubd_start - the listener; NULL + err */
static struct MHD_Daemon *
unsubd_start(unsubd_ctx *ctx, const unsub_endpoint *ep, const char *listen, char **pem, char *err,
             size_t errlen)
{
    struct sockaddr_storage ss;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    struct MHD_Daemon *d;

    if (unsubd_addr(listen, &ss, err, errlen) < 0)
        return NULL;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    if (ep->tls_cert_file != NULL) {
        if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
            util_errf(err, errlen,
                      "this libmicrohttpd has no TLS: leave endpoint_tls_* unset "
                      "and terminate TLS in the reverse proxy");
            return NULL;
        }
        if ((pem[0] = unsubd_slurp(ep->tls_cert_file, err, errlen)) == NULL ||
            (pem[1] = unsubd_slurp(ep->tls_key_file, err, errlen)) == NULL)
            return NULL;
        flags |= MHD_USE_TLS;
    }
    /* the TLS options are only read with MHD_USE_TLS; NULL is harmless without it */
    d = MHD_start_daemon(flags, 0, NULL, NULL, unsubd_http_answer, ctx, MHD_OPTION_SOCK_ADDR,
                         (struct sockaddr *)&ss, MHD_OPTION_URI_LOG_CALLBACK, unsubd_http_uri, NULL,
                         MHD_OPTION_NOTIFY_COMPLETED, unsubd_http_done, NULL,
                         MHD_OPTION_CONNECTION_LIMIT, (unsigned)64, MHD_OPTION_CONNECTION_TIMEOUT,
                         (unsigned)10, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)65536,
                         pem[0] ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, pem[0],
                         MHD_OPTION_HTTPS_MEM_KEY, pem[1], MHD_OPTION_END);
    if (d == NULL)
        util_errf(err, errlen, "cannot listen on %s: %s", listen, strerror(errno));
    return d;
}

/* unsubd_run - wait for SIGTERM/SIGINT (blocked in every thread) */
static void
unsubd_run(const sigset_t *set)
{
    int sig = 0;

    while (sigwait(set, &sig) == 0 && sig != SIGTERM && sig != SIGINT)
        ;
    log_msg(LOG_INFO, NULL, "signal %d: stopping", sig);
}

int
main(int argc, char **argv)
{
    const char *path = SYSCONFDIR "/ses-milter/ses-milter.conf", *listen = NULL;
    unsubd_ctx ctx;
    unsub_conf *conf = NULL;
    unsub_endpoint ep;
    struct MHD_Daemon *d = NULL;
    char err[1024], *pem[2] = {NULL, NULL};
    sigset_t set;
    int ch, rc = 1;

    while ((ch = getopt(argc, argv, "c:l:v")) != -1) {
        switch (ch) {
        case 'c':
            path = optarg;
            break;
        case 'l':
            listen = optarg;
            break;
        case 'v':
            log_set_level(LOG_DEBUG);
            break;
        default:
            return unsubd_usage();
        }
    }
    if (optind != argc)
        return unsubd_usage();
    log_open("ses-milter-unsubscribe", LOG_MAIL, 1);
    memset(&ctx, 0, sizeof(ctx));
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    if ((conf = unsubd_load(path, err, sizeof(err))) == NULL)
        goto out;
    ctx.conf = conf;
    unsub_conf_endpoint(ctx.conf, &ep);
    ctx.key = unsub_conf_key(ctx.conf, &ctx.keylen);
    ctx.max_age = unsub_conf_token_ttl(ctx.conf);
    ctx.max_body = ep.max_body;
    if (ctx.key == NULL || unsub_conf_store_name(ctx.conf) == NULL) {
        util_errf(err, sizeof(err),
                  "%s: unsubscribe.token_key_file and a store (unsubscribe.store_file, or "
                  "store_backend = \"redis\") are required",
                  path);
        goto out;
    }
    if ((ctx.store = unsub_conf_store_writer(ctx.conf, err, sizeof(err))) == NULL)
        goto out;
    if ((d = unsubd_start(&ctx, &ep, listen ? listen : ep.listen, pem, err, sizeof(err))) == NULL ||
        unsubd_drop(ep.user, err, sizeof(err)) < 0)
        goto out;
    log_msg(LOG_INFO, NULL, "listening on %s%s, store %s", listen ? listen : ep.listen,
            pem[0] ? " (HTTPS)" : "", unsub_conf_store_name(ctx.conf));
    unsubd_run(&set);
    rc = 0;
out:
    if (rc != 0)
        log_msg(LOG_ERR, NULL, "%s", err);
    if (d != NULL)
        MHD_stop_daemon(d);
    unsub_store_free(ctx.store);
    unsub_conf_free(conf);
    free(pem[0]);
    free(pem[1]);
    return rc;
}
