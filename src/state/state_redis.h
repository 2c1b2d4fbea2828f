/*
 * state_redis.h - the TLS part of the Redis backend, chosen at configure time
 *
 * state_redis_tls.c (hiredis_ssl found) or state_redis_notls.c (not found:
 * the "tls" setting is refused when the configuration is read).
 */
#ifndef SM_STATE_REDIS_H
#define SM_STATE_REDIS_H

#include <stddef.h>
#include <hiredis/hiredis.h>

/* state_redis_tls_available - this build can speak TLS to Redis */
int state_redis_tls_available(void);
/* state_redis_tls_start - TLS on a connected context (server name host); 0, or -1 with why */
int state_redis_tls_start(redisContext *c, const char *host, char *why, size_t whylen);

#endif
