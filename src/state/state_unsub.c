/*
 * state_unsub.c - the unsubscribe store on Redis (state_unsub.h)
 *
 * Purpose: two commands on the pool of state_redis.c: HSETNX to record a
 * pair (its reply says whether it was new), HEXISTS to look one up.  The
 * connection, timeouts, reconnection after a restart and the health state
 * are state_redis.c's (state_redis_command).
 *
 * Diagnostics: none here; a failure goes to the backend's health state,
 * which logs the change once.
 */
#include "config.h"

#include <hiredis/hiredis.h>
#include <stdlib.h>

#include "state/state_redis.h"
#include "state/state_unsub.h"
#include "lib/util.h"

/* state_unsub_key - PREFIX:v1:unsub:LIST_ID (allocated) */
static char *
state_unsub_key(sm_state *st, const char *list_id)
{
    return xasprintf("%s:v1:unsub:%s", state_redis_prefix(st), list_id);
}

state_result
state_unsub_add(sm_state *st, const char *list_id, const char *rcpt, int64_t when,
                uint64_t deadline_ms)
{
    char *key;
    redisReply *r;
    state_result res = STATE_ERROR;

    if (st == NULL)
        return STATE_ERROR;
    key = state_unsub_key(st, list_id);
    r = state_redis_command(st, deadline_ms, "HSETNX %s %s %lld", key, rcpt, (long long)when);
    if (r != NULL && r->type == REDIS_REPLY_INTEGER)
        res = r->integer == 1 ? STATE_NOT_FOUND : STATE_FOUND;
    if (r != NULL)
        freeReplyObject(r);
    free(key);
    return res;
}

state_result
state_unsub_has(sm_state *st, const char *list_id, const char *rcpt, uint64_t deadline_ms)
{
    char *key;
    redisReply *r;
    state_result res = STATE_ERROR;

    if (st == NULL)
        return STATE_ERROR;
    key = state_unsub_key(st, list_id);
    r = state_redis_command(st, deadline_ms, "HEXISTS %s %s", key, rcpt);
    if (r != NULL && r->type == REDIS_REPLY_INTEGER)
        res = r->integer == 1 ? STATE_FOUND : STATE_NOT_FOUND;
    if (r != NULL)
        freeReplyObject(r);
    free(key);
    return res;
}
