/*
 * metrics_http.c - the /metrics endpoint on libmicrohttpd
 *
 * Purpose: serve the registry (metrics.c) to Prometheus.  The socket is
 * bound by metrics_http_bind() while the daemon is still root; the server
 * thread (libmicrohttpd's internal poll thread, at most 16 connections, 10 s
 * idle timeout) starts after the privilege drop on that socket.  A reload
 * that changes metrics.listen binds the new address as the run user: when it
 * cannot (a port below 1024, an address in use), the old listener stays and
 * the log says that a restart applies the change.  One mutex orders the
 * start, the reloads and the stop; requests never take it.
 *
 * Security: the endpoint answers GET and HEAD of /metrics only, reads no
 * request body and reflects nothing of the request; it is on loopback
 * unless metrics.listen says otherwise.
 */
#include "config.h"

#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/log.h"
#include "metrics/metrics_http.h"
#include "lib/util.h"

#define METRICS_HTTP_CTYPE "text/plain; version=0.0.4; charset=utf-8"

static pthread_mutex_t metrics_http_lock = PTHREAD_MUTEX_INITIALIZER;
static int metrics_http_fd = -1;          /* bound, not yet served */
static struct MHD_Daemon *metrics_http_d; /* serving */
static char metrics_http_addr[128];       /* metrics.listen of the bound or served socket */

/* metrics_http_answer - queue a response with status and content type; frees nothing */
static enum MHD_Result
metrics_http_answer(struct MHD_Connection *c, unsigned status, struct MHD_Response *r,
                    const char *ctype)
{
    enum MHD_Result rc;

    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}

/* metrics_http_static - a short fixed text answer */
static enum MHD_Result
metrics_http_static(struct MHD_Connection *c, unsigned status, const char *text)
{
    return metrics_http_answer(
        c, status,
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT),
        "text/plain; charset=utf-8");
}

/* metrics_http_handler - one request: the registry, or 404 / 405 */
static enum MHD_Result
metrics_http_handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                     const char *version, const char *upload_data, size_t *upload_data_size,
                     void **con_cls)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *fp;

    (void)cls;
    (void)version;
    (void)upload_data;
    if (*con_cls == NULL) { /* the headers only: answer once the request is complete */
        *con_cls = (void *)1;
        return MHD_YES;
    }
    *upload_data_size = 0; /* a body is read and ignored */
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return metrics_http_static(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n");
    if (strcmp(url, "/metrics") != 0)
        return metrics_http_static(c, MHD_HTTP_NOT_FOUND, "not found: try /metrics\n");
    if ((fp = open_memstream(&buf, &len)) == NULL)
        return MHD_NO;
    metrics_render(fp);
    if (fclose(fp) != 0) {
        free(buf);
        return MHD_NO;
    }
    return metrics_http_answer(c, MHD_HTTP_OK,
                               MHD_create_response_from_buffer(len, buf, MHD_RESPMEM_MUST_FREE),
                               METRICS_HTTP_CTYPE);
}

/* metrics_http_listen - a listening socket on the configured address; fd or -1 with err */
static int
metrics_http_listen(const metrics_conf *mc, char *err, size_t errlen)
{
    int fd, one = 1;

    fd = socket(mc->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return util_errf(err, errlen, "metrics.listen %s: socket: %s", mc->listen, strerror(errno));
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (mc->addr.ss_family == AF_INET6)
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (bind(fd, (const struct sockaddr *)&mc->addr, mc->addrlen) < 0 || listen(fd, 16) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return util_errf(err, errlen, "metrics.listen %s: cannot listen: %s", mc->listen,
                         strerror(e));
    }
    return fd;
}

/* metrics_http_serve - the server thread on fd (which it then owns); NULL with err */
static struct MHD_Daemon *
metrics_http_serve(int fd, const char *listen_text, char *err, size_t errlen)
{
    struct MHD_Daemon *d =
        MHD_start_daemon(MHD_USE_POLL_INTERNAL_THREAD, 0, NULL, NULL, metrics_http_handler, NULL,
                         MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT, 16u,
                         MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);

    if (d == NULL) {
        close(fd);
        util_errf(err, errlen, "metrics.listen %s: cannot start the HTTP server", listen_text);
    }
    return d;
}

int
metrics_http_bind(const metrics_conf *mc, char *err, size_t errlen)
{
    int fd = 0;

    if (mc == NULL || !mc->enabled)
        return 0;
    pthread_mutex_lock(&metrics_http_lock);
    if (metrics_http_fd < 0 && metrics_http_d == NULL &&
        (fd = metrics_http_listen(mc, err, errlen)) >= 0) {
        metrics_http_fd = fd;
        util_strlcpy(metrics_http_addr, mc->listen, sizeof(metrics_http_addr));
    }
    pthread_mutex_unlock(&metrics_http_lock);
    return fd < 0 ? -1 : 0;
}

int
metrics_http_start(char *err, size_t errlen)
{
    int rc = 0;

    pthread_mutex_lock(&metrics_http_lock);
    if (metrics_http_fd >= 0) {
        metrics_http_d = metrics_http_serve(metrics_http_fd, metrics_http_addr, err, errlen);
        metrics_http_fd = -1;
        rc = metrics_http_d != NULL ? 0 : -1;
        if (rc == 0)
            log_msg(LOG_INFO, NULL, "metrics: serving /metrics on %s", metrics_http_addr);
    }
    pthread_mutex_unlock(&metrics_http_lock);
    return rc;
}

/* metrics_http_halt - stop the server (the lock held) */
static void
metrics_http_halt(void)
{
    if (metrics_http_d != NULL)
        MHD_stop_daemon(metrics_http_d); /* closes the listening socket */
    metrics_http_d = NULL;
    if (metrics_http_fd >= 0)
        close(metrics_http_fd);
    metrics_http_fd = -1;
}

void
metrics_http_reload(const metrics_conf *mc)
{
    const char *want = mc != NULL && mc->enabled ? mc->listen : NULL;
    char err[512], old[sizeof(metrics_http_addr)];
    struct MHD_Daemon *d = NULL;
    int fd;

    pthread_mutex_lock(&metrics_http_lock);
    util_strlcpy(old, metrics_http_d != NULL ? metrics_http_addr : "", sizeof(old));
    if (want == NULL || (*old && strcmp(want, old) == 0)) {
        if (want == NULL && *old)
            log_msg(LOG_NOTICE, NULL, "metrics: /metrics on %s stopped (metrics is off now)", old);
        if (want == NULL)
            metrics_http_halt();
        pthread_mutex_unlock(&metrics_http_lock);
        return;
    }
    fd = metrics_http_listen(mc, err, sizeof(err));
    if (fd < 0 && errno == EADDRINUSE && *old) { /* the same port: let the old one go first */
        metrics_http_halt();
        if ((fd = metrics_http_listen(mc, err, sizeof(err))) < 0)
            log_msg(LOG_ERR, NULL, "%s; /metrics is not served until a restart applies it", err);
        *old = '\0';
    } else if (fd < 0 && *old) {
        log_msg(LOG_ERR, NULL, "%s; still serving on %s until a restart applies the new address",
                err, old);
    } else if (fd < 0) {
        log_msg(LOG_ERR, NULL, "%s; /metrics is not served until a restart applies it", err);
    }
    if (fd >= 0 && (d = metrics_http_serve(fd, want, err, sizeof(err))) == NULL)
        log_msg(LOG_ERR, NULL, "%s", err);
    if (d != NULL) {
        metrics_http_halt();
        metrics_http_d = d;
        util_strlcpy(metrics_http_addr, want, sizeof(metrics_http_addr));
        log_msg(LOG_NOTICE, NULL, "metrics: serving /metrics on %s%s%s", want,
                *old ? " instead of " : "", old);
    }
    pthread_mutex_unlock(&metrics_http_lock);
}

void
metrics_http_stop(void)
{
    pthread_mutex_lock(&metrics_http_lock);
    metrics_http_halt();
    pthread_mutex_unlock(&metrics_http_lock);
}
