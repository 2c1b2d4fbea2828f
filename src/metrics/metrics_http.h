/*
 * metrics_http.h - the /metrics endpoint: one libmicrohttpd thread
 *
 * Lifecycle, driven by main.c:
 *   metrics_http_bind()   as root, before the privilege drop: the listening
 *                         socket of metrics.listen (a port below 1024 works)
 *   metrics_http_start()  after the drop: the server thread on that socket
 *   metrics_http_reload() after a reload is published: a changed (or added,
 *                         or removed) listen address takes effect; a new
 *                         address the run user cannot bind keeps the old
 *                         listener and says that a restart applies it
 *   metrics_http_stop()   at shutdown: the thread stopped, the socket closed
 * GET (and HEAD) /metrics answers the registry (metrics.h) as text format
 * 0.0.4; any other path 404, any other method 405.  The server keeps no
 * state of its own between requests.  Built without libmicrohttpd
 * (metrics_http_off.c), a configuration with metrics enabled is refused
 * at the start and at a reload.
 */
#ifndef SM_METRICS_HTTP_H
#define SM_METRICS_HTTP_H

#include <stddef.h>

#include "metrics/metrics.h"

int metrics_http_bind(const metrics_conf *mc, char *err, size_t errlen);
int metrics_http_start(char *err, size_t errlen);
void metrics_http_reload(const metrics_conf *mc);
void metrics_http_stop(void);

#endif
