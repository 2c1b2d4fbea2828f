/*
 * metrics_http_off.c - the /metrics endpoint of a build without libmicrohttpd
 *
 * Purpose: configure found no libmicrohttpd (HAVE_MHD false), so there is no
 * HTTP server; a configuration that enables metrics is refused at the start
 * with the reason, and a reload that enables it says so in the log.
 */
#include "config.h"

#include "lib/log.h"
#include "metrics/metrics_http.h"
#include "lib/util.h"

int
metrics_http_bind(const metrics_conf *mc, char *err, size_t errlen)
{
    if (mc == NULL || !mc->enabled)
        return 0;
    return util_errf(err, errlen,
                     "metrics.listen %s: ses-milter was built without libmicrohttpd (install "
                     "libmicrohttpd-dev and rebuild, or remove the metrics group)",
                     mc->listen);
}

int
metrics_http_start(char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    return 0;
}

void
metrics_http_reload(const metrics_conf *mc)
{
    if (mc != NULL && mc->enabled)
        log_msg(LOG_ERR, NULL, "metrics: built without libmicrohttpd: /metrics is not served");
}

void
metrics_http_stop(void)
{
}
