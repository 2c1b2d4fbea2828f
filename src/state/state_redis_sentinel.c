/*
 * state_redis_sentinel.c - the Redis master's address from Redis Sentinel
 *
 * Purpose: with "sentinels" set, each new connection first asks the
 * sentinels, in the configured order, SENTINEL get-master-addr-by-name
 * NAME; the first one that answers names the master.  A failover is seen
 * at the next connection: Sentinel closes the clients of a demoted master
 * (CLIENT KILL), so the pooled connections fail, state_redis.c reconnects,
 * and the sentinels name the new master.
 *
 * The sentinels are spoken to like Redis itself: TLS with the same
 * settings when tls = true (the name checked is tls_server_name, else the
 * sentinel's host), no AUTH (Sentinel's own requirepass is not supported).
 * Errors are returned in why; state_redis.c logs them once.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "lib/util.h"
#include "state/state_redis.h"

/* state_redis_sentinel_split - host (brackets removed) and port of host:port or [v6]:port */
static int
state_redis_sentinel_split(const char *a, char *host, size_t hostlen, int *port)
{
    const char *colon = strrchr(a, ':');
    const char *h = a;
    size_t hl;

    if (colon == NULL)
        return -1;
    hl = (size_t)(colon - h);
    if (h[0] == '[' && hl >= 2) {
        h++;
        hl -= 2;
    }
    if (hl == 0 || hl >= hostlen)
        return -1;
    memcpy(host, h, hl);
    host[hl] = '\0';
    *port = atoi(colon + 1);
    return *port > 0 && *port < 65536 ? 0 : -1;
}

/* state_redis_sentinel_ask - one sentinel's answer; 0, or -1 with why */
static int
state_redis_sentinel_ask(const char *sentinel, const char *name, state_redis_tls *tls, uint64_t tmo,
                         char *host, size_t hostlen, int *port, char *why, size_t whylen)
{
    char shost[256];
    int sport, rc = -1;
    struct timeval tv = {.tv_sec = (time_t)(tmo / 1000u),
                         .tv_usec = (suseconds_t)(tmo % 1000u) * 1000};
    redisContext *c;
    redisReply *r;

    if (state_redis_sentinel_split(sentinel, shost, sizeof(shost), &sport) < 0)
        return util_errf(why, whylen, "sentinel %s: not host:port", sentinel);
    if (tls != NULL) {
        char e[256];
        if ((c = state_redis_tls_connect(tls, shost, sport, tmo, e, sizeof(e))) == NULL)
            return util_errf(why, whylen, "sentinel %s: %s", sentinel, e);
    } else if ((c = redisConnectWithTimeout(shost, sport, tv)) == NULL || c->err) {
        util_errf(why, whylen, "sentinel %s: connect: %s", sentinel,
                  c != NULL ? c->errstr : "out of memory");
        if (c != NULL)
            redisFree(c);
        return -1;
    }
    redisSetTimeout(c, tv);
    r = redisCommand(c, "SENTINEL get-master-addr-by-name %s", name);
    if (r == NULL) {
        util_errf(why, whylen, "sentinel %s: %s", sentinel, c->errstr);
    } else if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
               r->element[0]->type == REDIS_REPLY_STRING &&
               r->element[1]->type == REDIS_REPLY_STRING && r->element[0]->len < hostlen &&
               atoi(r->element[1]->str) > 0 && atoi(r->element[1]->str) < 65536) {
        memcpy(host, r->element[0]->str, r->element[0]->len);
        host[r->element[0]->len] = '\0';
        *port = atoi(r->element[1]->str);
        rc = 0;
    } else if (r->type == REDIS_REPLY_ERROR) {
        util_errf(why, whylen, "sentinel %s: %s", sentinel, r->str);
    } else {
        util_errf(why, whylen, "sentinel %s: no master named '%s'", sentinel, name);
    }
    if (r != NULL)
        freeReplyObject(r);
    redisFree(c);
    return rc;
}

int
state_redis_sentinel_master(char *const *sentinels, size_t n, const char *name,
                            state_redis_tls *tls, uint64_t deadline_ms, char *host, size_t hostlen,
                            int *port, char *why, size_t whylen)
{
    util_errf(why, whylen, "no sentinel");
    for (size_t i = 0; i < n; i++) {
        uint64_t now = util_now_ms();
        if (now + 1 >= deadline_ms)
            return util_errf(why, whylen, "sentinels: timed out (%s)", sentinels[i]);
        if (state_redis_sentinel_ask(sentinels[i], name, tls, deadline_ms - now, host, hostlen,
                                     port, why, whylen) == 0)
            return 0;
    }
    return -1;
}
