/*
 * unsub_store_redis.c - the unsubscribe store of a fleet, in Redis
 *
 * Purpose: unsub_store_ops on the shared state backend (state_unsub.h:
 * one hash per list, PREFIX:v1:unsub:LIST_ID, field the lower-cased
 * recipient, value the time of the first POST), so that a one-click POST
 * answered by the endpoint of host A is honoured by the milter of host B
 * at its next message.  The connection code (pool, timeouts, TLS, AUTH,
 * Sentinel, reconnection after a restart, down/back logged once) is the
 * state backend's; this file owns its own sm_state made from the same
 * settings.
 *
 * Writer (ses-milter-unsubscribe): add is HSETNX, so a repeated POST is
 * "already" and changes nothing; Redis down or slow is an error, which
 * the endpoint answers 503: never a 200 for a pair that was not recorded.
 *
 * Reader (the milter): has is HEXISTS within the message's deadline (and
 * the backend's timeout_ms); Redis down is -1 ("cannot tell"), which the
 * milter turns into unsubscribe.store_unavailable.  No local copy: an
 * answer is never staler than Redis.
 *
 * Diagnostics: open errors go to err; later failures to the state
 * backend's health state.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "state/state.h"
#include "state/state_unsub.h"
#include "unsub/unsub_store.h"
#include "lib/util.h"

#define UNSUB_REDIS_NO_DEADLINE_MS 10000 /* no caller deadline: the backend's timeout_ms rules */

typedef struct unsub_redis {
    unsub_store base;
    sm_state *st;
} unsub_redis;

/* unsub_redis_split - the key "LIST TAB rcpt" into its two fields (a copy) */
static char *
unsub_redis_split(const char *key, const char **rcpt_r)
{
    char *k = xstrdup(key), *tab = strchr(k, '\t');

    if (tab == NULL) { /* not reached: unsub_store_key always has one */
        free(k);
        return NULL;
    }
    *tab = '\0';
    *rcpt_r = tab + 1;
    return k;
}

/* unsub_redis_deadline - the caller's, or the backend's timeout only */
static uint64_t
unsub_redis_deadline(uint64_t deadline_ms)
{
    return deadline_ms != 0 ? deadline_ms : util_now_ms() + UNSUB_REDIS_NO_DEADLINE_MS;
}

/* unsub_redis_has - ops.has */
static int
unsub_redis_has(unsub_store *s, const char *key, uint64_t deadline_ms)
{
    unsub_redis *r = (unsub_redis *)s;
    const char *rcpt;
    char *list = unsub_redis_split(key, &rcpt);
    state_result res;

    if (list == NULL)
        return 0;
    res = state_unsub_has(r->st, list, rcpt, unsub_redis_deadline(deadline_ms));
    free(list);
    return res == STATE_FOUND ? 1 : res == STATE_NOT_FOUND ? 0 : -1;
}

/* unsub_redis_add - ops.add (writer) */
static int
unsub_redis_add(unsub_store *s, const char *key, const char *list_id SM_UNUSED,
                const char *rcpt_raw SM_UNUSED, int64_t when, int *already_r, char *err,
                size_t errlen)
{
    unsub_redis *r = (unsub_redis *)s;
    const char *rcpt;
    char *list = unsub_redis_split(key, &rcpt);
    state_result res;

    if (list == NULL)
        return util_errf(err, errlen, "malformed store key");
    res = state_unsub_add(r->st, list, rcpt, when, unsub_redis_deadline(0));
    free(list);
    if (res == STATE_ERROR)
        return util_errf(err, errlen, "the Redis store is unavailable (down, slow or refusing)");
    *already_r = res == STATE_FOUND;
    return 0;
}

/* unsub_redis_free - ops.free */
static void
unsub_redis_free(unsub_store *s)
{
    unsub_redis *r = (unsub_redis *)s;

    state_free(r->st);
    free(r);
}

static const unsub_store_ops unsub_redis_ops = {"redis", unsub_redis_has, unsub_redis_add,
                                                unsub_redis_free};
static const unsub_store_ops unsub_redis_reader_ops = {"redis", unsub_redis_has, NULL,
                                                       unsub_redis_free};

unsub_store *
unsub_store_redis_open(const state_conf *sc, int writer, char *err, size_t errlen)
{
    unsub_redis *r;
    char why[256];

    if (sc == NULL || !sc->present) {
        util_errf(err, errlen, "no Redis settings (a 'state' group)");
        return NULL;
    }
    if (state_backend_available(sc->backend, sc->tls, why, sizeof(why)) < 0) {
        util_errf(err, errlen, "%s", why);
        return NULL;
    }
    r = xcalloc(1, sizeof(*r));
    r->base.ops = writer ? &unsub_redis_ops : &unsub_redis_reader_ops;
    r->st = state_new(sc);
    state_set_role(r->st, writer ? "one-click POSTs are answered 503 (Retry-After)"
                                 : "the unsubscribe store cannot be checked "
                                   "(unsubscribe.store_unavailable applies)");
    return &r->base;
}
