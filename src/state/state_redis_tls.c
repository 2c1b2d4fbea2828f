/*
 * state_redis_tls.c - TLS to Redis (hiredis_ssl, hiredis >= 1.0)
 *
 * Purpose: start TLS on a connected hiredis context, verifying the
 * server's certificate against the system's CA store (/etc/ssl/certs) and
 * the configured host name.  One SSL context per server name, created at
 * the first connection and kept for the life of the process (hiredis
 * needs it as long as any connection made with it).
 *
 * Built only when configure found hiredis_ssl (not Debian 12's 0.14.1).
 */
#include "config.h"

#include <hiredis/hiredis_ssl.h>
#include <pthread.h>
#include <string.h>

#include "state/state_redis.h"
#include "lib/util.h"

static pthread_mutex_t state_redis_tls_lock = PTHREAD_MUTEX_INITIALIZER;
static redisSSLContext *state_redis_tls_ctx;
static char state_redis_tls_name[256];

int
state_redis_tls_available(void)
{
    return 1;
}

int
state_redis_tls_start(redisContext *c, const char *host, char *why, size_t whylen)
{
    redisSSLContextError e = REDIS_SSL_CTX_NONE;
    redisSSLContext *ctx;

    pthread_mutex_lock(&state_redis_tls_lock);
    if (state_redis_tls_ctx == NULL || strcmp(state_redis_tls_name, host ? host : "") != 0) {
        redisInitOpenSSL();
        state_redis_tls_ctx = redisCreateSSLContext(NULL, "/etc/ssl/certs", NULL, NULL, host, &e);
        util_strlcpy(state_redis_tls_name, host ? host : "", sizeof(state_redis_tls_name));
    }
    ctx = state_redis_tls_ctx;
    pthread_mutex_unlock(&state_redis_tls_lock);
    if (ctx == NULL)
        return util_errf(why, whylen, "TLS: %s", redisSSLContextGetError(e));
    if (redisInitiateSSLWithContext(c, ctx) != REDIS_OK)
        return util_errf(why, whylen, "TLS: %s", c->errstr);
    return 0;
}
