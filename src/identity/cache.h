/*
 * cache.h - the shared identity cache in front of every identity source
 *
 * Keyed by (instance name, identity kind, identity).  VERIFIED answers live
 * positive_ttl seconds, NOT_VERIFIED and UNKNOWN answers negative_ttl
 * seconds; a source's attrs.ttl, when non-zero, overrides either.
 * TEMPFAIL is never stored.  The table is bounded (LRU eviction).
 *
 * Single-flight: one lookup per key is in flight; other threads asking for
 * the same key wait on a condition variable for that answer or until their
 * own deadline.  Stale-if-error: when the source answers TEMPFAIL (or a
 * waiter's deadline passes) and an expired answer younger than stale_max
 * seconds exists, that answer is returned marked CACHE_STALE.
 *
 * Shared state (state.h, optional): on a miss the fleet's answer is read
 * from the backend before the source is asked; one host per identity asks
 * (a lock in the backend) while the others wait for its answer, no longer
 * than half of their time left, then ask themselves; every answer this host
 * gets from its source, or from a warm-up (cache_put), is shared with its
 * TTL.  A hit never touches the backend, and a backend that cannot answer
 * leaves the source to answer.
 *
 * Thread safety: every function may be called from any thread; the table
 * is split into shards, each with its own mutex.
 */
#ifndef SM_CACHE_H
#define SM_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include <ses-milter/plugin.h>

#include "state/state.h"

typedef struct cache cache;

typedef struct cache_opts {
    long positive_ttl; /* seconds for VERIFIED, default 300 */
    long negative_ttl; /* seconds for NOT_VERIFIED / UNKNOWN, default 60 */
    long max_entries;  /* bound of the table, default 100000 */
    long stale_max;    /* seconds an expired answer may still serve on TEMPFAIL, default 3600 */
} cache_opts;

/* how an answer was obtained */
typedef enum cache_origin {
    CACHE_NONE = 0,   /* no lookup was made */
    CACHE_HIT = 1,    /* fresh answer from the table */
    CACHE_MISS = 2,   /* this thread asked the source */
    CACHE_SHARED = 3, /* waited for another thread's lookup of the same key (of the source) */
    CACHE_STALE = 4,  /* expired answer served because the source failed */
    CACHE_REDIS = 5,  /* the fleet's answer, read from the shared state backend (by this
                       * thread, or by the lookup in flight it waited for) */
} cache_origin;

typedef struct cache_answer {
    sm_id_answer answer; /* TEMPFAIL when nothing could be served */
    sm_id_attrs attrs;   /* copy of the stored attributes */
    cache_origin origin;
    uint64_t age_ms;         /* age of the answer (0 for a fresh lookup) */
    uint64_t stored_wall_ms; /* CLOCK_REALTIME ms when it was stored */
    char why[160];           /* stale or TEMPFAIL: why the source could not answer now; else "" */
} cache_answer;

typedef struct cache_stats {
    uint64_t hits, misses, stale, waits, evictions, tempfails, puts, entries;
} cache_stats;

/* the source behind one lookup: fills attrs, returns the answer */
typedef sm_id_answer (*cache_fetch_fn)(void *arg, const char *identity, sm_id_kind kind,
                                       uint64_t deadline_ms, sm_id_attrs *attrs);
/* a clock in milliseconds for TTLs (tests inject their own) */
typedef uint64_t (*cache_clock_fn)(void *arg);

/* cache_opts_default - fill the documented defaults */
void cache_opts_default(cache_opts *o);
/* cache_new - an empty cache; opts NULL means defaults */
cache *cache_new(const cache_opts *opts);
/* cache_free - free the table (no lookup may be running); returns NULL */
cache *cache_free(cache *c);
/* cache_set_state - the fleet's shared state behind the table (NULL: none); before use only;
 * the caller keeps st alive as long as the cache */
void cache_set_state(cache *c, sm_state *st);
/* cache_state - the shared state set with cache_set_state, or NULL */
sm_state *cache_state(const cache *c);
/* cache_set_clock - replace the TTL clock (default util_now_ms); before use only */
void cache_set_clock(cache *c, cache_clock_fn fn, void *arg);
/*
 * cache_lookup - answer for (instance, identity, kind): from the table, or
 * by calling fetch (single-flight), or stale; deadline_ms is absolute
 * CLOCK_MONOTONIC ms and bounds any wait.  Fills *out; returns out->answer.
 */
sm_id_answer cache_lookup(cache *c, const char *instance, const char *identity, sm_id_kind kind,
                          uint64_t deadline_ms, cache_fetch_fn fetch, void *arg, cache_answer *out);
/*
 * cache_put - insert or refresh an answer (TEMPFAIL is ignored); attrs may be
 * NULL.  Attributes without DKIM / MAIL FROM details keep the details already
 * stored for the same identity and answer (no older than stale_max).  With a
 * shared state backend the stored answer is also shared with its TTL (one
 * write, bounded by the backend's timeout; a backend down only loses that).
 */
void cache_put(cache *c, const char *instance, const char *identity, sm_id_kind kind,
               sm_id_answer answer, const sm_id_attrs *attrs);
/* cache_revalidate - every answer is asked again at its next lookup, and stays only as
 * the stale-if-error fallback (within stale_max): what a reload does to a kept cache */
void cache_revalidate(cache *c);
/* cache_flush - drop every entry not in use (e.g. after a reload) */
void cache_flush(cache *c);
/* cache_get_stats - counters since cache_new */
void cache_get_stats(cache *c, cache_stats *out);
/* cache_origin_name - "hit", "miss", "shared", "stale", "redis", "none" */
const char *cache_origin_name(cache_origin o);

#endif
