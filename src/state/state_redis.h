/*
 * state_redis.h - the TLS part of the Redis backend (state_redis_tls.c)
 *
 * hiredis 0.14 (Debian 12) has no TLS: state_redis_tls.c connects and does
 * the TLS handshake with OpenSSL itself, then hands hiredis one end of a
 * local socket pair whose other end a pump thread carries through the TLS
 * connection.  hiredis' timeouts, errors and end-of-file work on that end as
 * on a TCP socket.
 */
#ifndef SM_STATE_REDIS_H
#define SM_STATE_REDIS_H

#include <stddef.h>
#include <stdint.h>
#include <hiredis/hiredis.h>

#include "state/state.h"

typedef struct state_redis_tls state_redis_tls;

/* state_redis_tls_available - this build can speak TLS to Redis */
int state_redis_tls_available(void);
/* state_redis_tls_new - the client context of sc (its files read); never NULL */
state_redis_tls *state_redis_tls_new(const state_conf *sc);
/* state_redis_tls_free - returns NULL (connections still open keep what they use) */
state_redis_tls *state_redis_tls_free(state_redis_tls *t);
/*
 * state_redis_tls_connect - a hiredis context speaking TLS to host:port,
 * the server's certificate verified (CA and name), connect and handshake
 * within tmo_ms; NULL with why
 */
redisContext *state_redis_tls_connect(state_redis_tls *t, const char *host, int port,
                                      uint64_t tmo_ms, char *why, size_t whylen);

/*
 * state_redis_sentinel_master - the address of the master called name, from
 * the first of the n sentinels (host:port) that answers by deadline_ms
 * (through TLS when tls); 0, or -1 with why (state_redis_sentinel.c)
 */
int state_redis_sentinel_master(char *const *sentinels, size_t n, const char *name,
                                state_redis_tls *tls, uint64_t deadline_ms, char *host,
                                size_t hostlen, int *port, char *why, size_t whylen);

/*
 * state_redis_command - one command (hiredis format) on the pool, bounded
 * by timeout_ms and deadline_ms; its reply (the caller frees it), or NULL
 * (the failure went to the health state).  For the other files of the
 * backend (state_unsub.c).
 */
redisReply *state_redis_command(sm_state *st, uint64_t deadline_ms, const char *fmt, ...);
/* state_redis_prefix - the key namespace (state.prefix) */
const char *state_redis_prefix(const sm_state *st);

#endif
