/*
 * state_redis_notls.c - the Redis backend of a build without hiredis_ssl
 *
 * Purpose: say that TLS is not available; state_conf.c refuses "tls = true"
 * with that reason, so state_redis_tls_start() is never reached.
 */
#include "config.h"

#include "state/state_redis.h"
#include "lib/util.h"

int
state_redis_tls_available(void)
{
    return 0;
}

int
state_redis_tls_start(redisContext *c SM_UNUSED, const char *host SM_UNUSED, char *why,
                      size_t whylen)
{
    return util_errf(why, whylen, "TLS: this build has no hiredis_ssl");
}
