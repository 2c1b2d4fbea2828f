/*
 * cache.c - the shared identity cache (TTL, negative, LRU, single-flight, stale)
 *
 * Purpose: keep identity sources (SES allows about one API request per
 * second per account) out of the per-message path.  One table in front of
 * every source instance, keyed by instance, kind and identity.
 *
 * Design: the table is split into shards (one when the bound is small, so
 * that the LRU bound is exact; 16 otherwise).  Each shard has a mutex, a
 * chained hash table and an LRU list.  An entry stays in the table after
 * it expires so that it can be served stale when the source fails; the
 * LRU bound removes it eventually.  An entry with a lookup in flight or
 * with waiters is pinned and never evicted.  Each entry has its own
 * condition variable (CLOCK_MONOTONIC) for the threads that wait for the
 * in-flight lookup of the same key.  cache_put() (bulk warm-up: whether an
 * identity may send, without its DKIM / MAIL FROM settings) keeps the
 * settings a detailed answer stored for the same identity and answer, up
 * to stale_max seconds after they were stored, so that a refresh never
 * forces the details to be asked for again.
 *
 * With a shared state backend (cache_fetch_source) a miss reads the
 * fleet's answer first; the local table's TTL of such an answer is what is
 * left of the shared one, so no host serves it longer than the fleet.
 * cache_put() (warm-up) writes the answer through to the backend, so that
 * the other hosts of the fleet start warm from one host's warm-up.
 *
 * Diagnostics: none; counters are read with cache_get_stats().
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "identity/cache.h"
#include "lib/util.h"

typedef struct cache_entry {
    struct cache_entry *hnext;         /* hash chain */
    struct cache_entry *lprev, *lnext; /* LRU list, head = most recent */
    uint64_t hash;
    char *key;
    size_t keylen;
    int has_value;
    sm_id_answer answer;
    sm_id_attrs attrs;
    uint64_t stored_ms, expires_ms, stored_wall_ms;
    uint64_t details_ms; /* when the DKIM / MAIL FROM details in attrs were stored */
    int inflight;
    unsigned waiters;
    unsigned gen;            /* completed lookups */
    sm_id_answer last_fetch; /* answer of the last completed lookup */
    int last_shared;         /* ... which came from the shared state backend */
    char why[160];           /* why the last lookup failed (TEMPFAIL) */
    pthread_cond_t cond;
} cache_entry;

typedef struct cache_shard {
    pthread_mutex_t lock;
    cache_entry **buckets;
    size_t nbuckets; /* power of two */
    cache_entry *lru_head, *lru_tail;
    size_t count, max;
    cache_stats st;
} cache_shard;

struct cache {
    cache_opts o;
    cache_shard *sh;
    size_t nsh;
    cache_clock_fn clock;
    void *clock_arg;
    sm_state *state; /* not owned */
};

#define CACHE_SHARD_THRESHOLD 4096 /* below this bound: one shard, exact LRU */
#define CACHE_NSHARDS 16
#define CACHE_MAX_BUCKETS ((size_t)1 << 18)
#define CACHE_PUT_STATE_MS 1000 /* a warm-up answer's write to the backend: at most this */

void
cache_opts_default(cache_opts *o)
{
    o->positive_ttl = 300;
    o->negative_ttl = 60;
    o->max_entries = 100000;
    o->stale_max = 3600;
}

static uint64_t
cache_default_clock(void *arg SM_UNUSED)
{
    return util_now_ms();
}

cache *
cache_new(const cache_opts *opts)
{
    cache *c = xcalloc(1, sizeof(*c));
    size_t per;

    if (opts != NULL)
        c->o = *opts;
    else
        cache_opts_default(&c->o);
    if (c->o.max_entries < 1)
        c->o.max_entries = 1;
    c->nsh = c->o.max_entries >= CACHE_SHARD_THRESHOLD ? CACHE_NSHARDS : 1;
    per = ((size_t)c->o.max_entries + c->nsh - 1) / c->nsh;
    c->sh = xcalloc(c->nsh, sizeof(*c->sh));
    for (size_t i = 0; i < c->nsh; i++) {
        cache_shard *s = &c->sh[i];
        pthread_mutex_init(&s->lock, NULL);
        s->max = per;
        s->nbuckets = 16;
        while (s->nbuckets < per && s->nbuckets < CACHE_MAX_BUCKETS)
            s->nbuckets <<= 1;
        s->buckets = xcalloc(s->nbuckets, sizeof(*s->buckets));
    }
    c->clock = cache_default_clock;
    return c;
}

static void
cache_entry_destroy(cache_entry *e)
{
    pthread_cond_destroy(&e->cond);
    free(e->key);
    free(e);
}

cache *
cache_free(cache *c)
{
    if (c == NULL)
        return NULL;
    for (size_t i = 0; i < c->nsh; i++) {
        cache_shard *s = &c->sh[i];
        cache_entry *e = s->lru_head, *next;
        for (; e != NULL; e = next) {
            next = e->lnext;
            cache_entry_destroy(e);
        }
        free(s->buckets);
        pthread_mutex_destroy(&s->lock);
    }
    free(c->sh);
    free(c);
    return NULL;
}

void
cache_set_state(cache *c, sm_state *st)
{
    c->state = st;
}

sm_state *
cache_state(const cache *c)
{
    return c->state;
}

void
cache_set_clock(cache *c, cache_clock_fn fn, void *arg)
{
    c->clock = fn != NULL ? fn : cache_default_clock;
    c->clock_arg = arg;
}

/* cache_key - "instance\0K identity" in buf (or the heap if longer); FNV-1a hash */
static char *
cache_key(const char *instance, const char *identity, sm_id_kind kind, char *buf, size_t buflen,
          size_t *len_r, uint64_t *hash_r)
{
    size_t il = strlen(instance), dl = strlen(identity);
    char *k = il + dl + 3 <= buflen ? buf : xmalloc(il + dl + 3);
    uint64_t h = 1469598103934665603ull;

    memcpy(k, instance, il);
    k[il] = '\0';
    k[il + 1] = kind == SM_IDKIND_ADDRESS ? 'a' : 'd';
    memcpy(k + il + 2, identity, dl + 1);
    *len_r = il + dl + 2;
    for (size_t i = 0; i < *len_r; i++)
        h = (h ^ (unsigned char)k[i]) * 1099511628211ull;
    *hash_r = h;
    return k;
}

static cache_entry *
cache_find(cache_shard *s, const char *key, size_t len, uint64_t hash)
{
    cache_entry *e = s->buckets[(hash >> 20) & (s->nbuckets - 1)];

    for (; e != NULL; e = e->hnext)
        if (e->hash == hash && e->keylen == len && memcmp(e->key, key, len) == 0)
            return e;
    return NULL;
}

static void
cache_lru_unlink(cache_shard *s, cache_entry *e)
{
    if (e->lprev)
        e->lprev->lnext = e->lnext;
    else
        s->lru_head = e->lnext;
    if (e->lnext)
        e->lnext->lprev = e->lprev;
    else
        s->lru_tail = e->lprev;
    e->lprev = e->lnext = NULL;
}

static void
cache_lru_front(cache_shard *s, cache_entry *e)
{
    e->lprev = NULL;
    e->lnext = s->lru_head;
    if (s->lru_head)
        s->lru_head->lprev = e;
    s->lru_head = e;
    if (s->lru_tail == NULL)
        s->lru_tail = e;
}

static void
cache_touch(cache_shard *s, cache_entry *e)
{
    if (s->lru_head == e)
        return;
    cache_lru_unlink(s, e);
    cache_lru_front(s, e);
}

/* cache_remove - unlink e from the hash chain and the LRU list, free it */
static void
cache_remove(cache_shard *s, cache_entry *e)
{
    cache_entry **pp = &s->buckets[(e->hash >> 20) & (s->nbuckets - 1)];

    while (*pp != e)
        pp = &(*pp)->hnext;
    *pp = e->hnext;
    cache_lru_unlink(s, e);
    s->count--;
    cache_entry_destroy(e);
}

/* cache_evict - drop least recently used unpinned entries beyond the bound */
static void
cache_evict(cache_shard *s)
{
    cache_entry *e = s->lru_tail, *prev;

    for (; e != NULL && s->count > s->max; e = prev) {
        prev = e->lprev;
        if (e->inflight || e->waiters > 0)
            continue;
        cache_remove(s, e);
        s->st.evictions++;
    }
}

/* cache_create - a new empty entry with a copy of key */
static cache_entry *
cache_create(cache_shard *s, const char *key, size_t len, uint64_t hash)
{
    cache_entry *e = xcalloc(1, sizeof(*e));
    pthread_condattr_t ca;
    size_t b = (hash >> 20) & (s->nbuckets - 1);

    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&e->cond, &ca);
    pthread_condattr_destroy(&ca);
    e->key = xmalloc(len + 1);
    memcpy(e->key, key, len + 1);
    e->keylen = len;
    e->hash = hash;
    e->hnext = s->buckets[b];
    s->buckets[b] = e;
    cache_lru_front(s, e);
    s->count++;
    return e;
}

/* cache_attrs_copy - copy attributes a plugin filled, honouring its size; strings terminated */
static void
cache_attrs_copy(sm_id_attrs *dst, const sm_id_attrs *src)
{
    memset(dst, 0, sizeof(*dst));
    dst->dkim_signing_enabled = SM_TRI_UNKNOWN;
    if (src != NULL) {
        size_t n = src->size < sizeof(*dst) ? src->size : sizeof(*dst);
        if (n >= offsetof(sm_id_attrs, identity_type))
            memcpy(dst, src, n);
    }
    dst->size = sizeof(*dst);
    dst->identity[sizeof(dst->identity) - 1] = '\0';
    dst->dkim_status[sizeof(dst->dkim_status) - 1] = '\0';
    dst->dkim_origin[sizeof(dst->dkim_origin) - 1] = '\0';
    dst->mail_from_domain[sizeof(dst->mail_from_domain) - 1] = '\0';
    dst->mail_from_status[sizeof(dst->mail_from_status) - 1] = '\0';
    dst->mail_from_behavior[sizeof(dst->mail_from_behavior) - 1] = '\0';
    dst->region[sizeof(dst->region) - 1] = '\0';
    dst->detail[sizeof(dst->detail) - 1] = '\0';
}

/* cache_attrs_has_details - the DKIM / MAIL FROM settings are in a (GetEmailIdentity) */
static int
cache_attrs_has_details(const sm_id_attrs *a)
{
    return a->dkim_signing_enabled != SM_TRI_UNKNOWN || a->dkim_status[0] || a->dkim_origin[0] ||
           a->mail_from_domain[0] || a->mail_from_status[0] || a->mail_from_behavior[0];
}

/* cache_details_copy - the DKIM / MAIL FROM fields of src into dst */
static void
cache_details_copy(sm_id_attrs *dst, const sm_id_attrs *src)
{
    dst->dkim_signing_enabled = src->dkim_signing_enabled;
    memcpy(dst->dkim_status, src->dkim_status, sizeof(dst->dkim_status));
    memcpy(dst->dkim_origin, src->dkim_origin, sizeof(dst->dkim_origin));
    memcpy(dst->mail_from_domain, src->mail_from_domain, sizeof(dst->mail_from_domain));
    memcpy(dst->mail_from_status, src->mail_from_status, sizeof(dst->mail_from_status));
    memcpy(dst->mail_from_behavior, src->mail_from_behavior, sizeof(dst->mail_from_behavior));
}

/* cache_ttl - seconds answer a with attrs lives */
static uint64_t
cache_ttl(const cache *c, sm_id_answer a, const sm_id_attrs *attrs)
{
    return attrs->ttl != 0       ? attrs->ttl
           : a == SM_ID_VERIFIED ? (uint64_t)c->o.positive_ttl
                                 : (uint64_t)c->o.negative_ttl;
}

/* cache_pause - sleep ms milliseconds */
static void
cache_pause(uint64_t ms)
{
    struct timespec ts;

    ts.tv_sec = (time_t)(ms / 1000u);
    ts.tv_nsec = (long)(ms % 1000u) * 1000000L;
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/*
 * cache_fetch_source - the answer of the fleet's shared state, or of the
 * source: with a backend, one host per identity asks its source (a lock in
 * the backend) and shares the answer; the others wait for it no longer
 * than half of their time left, then ask themselves.  A backend that cannot
 * answer (down, slow) leaves the source to answer at once.
 */
static sm_id_answer
cache_fetch_source(cache *c, const char *instance, const char *identity, sm_id_kind kind,
                   uint64_t deadline_ms, cache_fetch_fn fetch, void *arg, sm_id_attrs *attrs,
                   int *shared_r)
{
    sm_state *st = c->state;
    sm_id_answer a = SM_ID_TEMPFAIL;
    uint64_t ttl_ms = 0, now = util_now_ms(), wait_until, pause = 5;
    state_result r, lk = STATE_ERROR;

    if (st == NULL || fetch == NULL)
        return fetch != NULL ? fetch(arg, identity, kind, deadline_ms, attrs) : SM_ID_TEMPFAIL;
    wait_until = deadline_ms > now ? now + (deadline_ms - now) / 2 : now;
    r = state_id_get(st, instance, identity, kind, deadline_ms, &a, attrs, &ttl_ms);
    while (r == STATE_NOT_FOUND) {
        now = util_now_ms();
        lk = state_id_lock(st, instance, identity, kind, deadline_ms > now ? deadline_ms - now : 1,
                           deadline_ms);
        if (lk != STATE_NOT_FOUND || now + pause >= wait_until)
            break;          /* this host asks (or no backend, or waited long enough) */
        cache_pause(pause); /* another host asks: wait for its answer */
        pause = pause * 2 < 50 ? pause * 2 : 50;
        r = state_id_get(st, instance, identity, kind, deadline_ms, &a, attrs, &ttl_ms);
    }
    if (lk == STATE_FOUND && pause > 5) /* the other host may have shared it just before */
        r = state_id_get(st, instance, identity, kind, deadline_ms, &a, attrs, &ttl_ms);
    if (r == STATE_FOUND) {
        if (lk == STATE_FOUND)
            state_id_unlock(st, instance, identity, kind, deadline_ms);
        attrs->ttl = (unsigned)((ttl_ms + 999) / 1000);
        *shared_r = 1;
        return a;
    }
    a = fetch(arg, identity, kind, deadline_ms, attrs);
    if (a == SM_ID_VERIFIED || a == SM_ID_NOT_VERIFIED || a == SM_ID_UNKNOWN)
        state_id_put(st, instance, identity, kind, a, attrs, cache_ttl(c, a, attrs) * 1000u,
                     deadline_ms);
    if (lk == STATE_FOUND)
        state_id_unlock(st, instance, identity, kind, deadline_ms);
    return a;
}

/*
 * cache_store - record an answer in e at time now.  merge: an answer without
 * details (a bulk warm-up) keeps the details e holds for the same answer, as
 * long as they are not older than stale_max.
 */
static void
cache_store(cache *c, cache_entry *e, sm_id_answer a, const sm_id_attrs *attrs, uint64_t now,
            int merge)
{
    sm_id_attrs old = e->attrs;
    int keep = merge && e->has_value && e->answer == a && cache_attrs_has_details(&old) &&
               now - e->details_ms <= (uint64_t)c->o.stale_max * 1000u;
    uint64_t ttl;

    cache_attrs_copy(&e->attrs, attrs);
    if (cache_attrs_has_details(&e->attrs))
        e->details_ms = now;
    else if (keep)
        cache_details_copy(&e->attrs, &old);
    ttl = cache_ttl(c, a, &e->attrs);
    e->has_value = 1;
    e->answer = a;
    e->stored_ms = now;
    e->expires_ms = now + ttl * 1000u;
    e->stored_wall_ms = util_wall_ms();
}

static void
cache_fill_out(const cache_entry *e, cache_origin origin, uint64_t now, cache_answer *out)
{
    out->answer = e->answer;
    out->attrs = e->attrs;
    out->origin = origin;
    out->age_ms = now > e->stored_ms ? now - e->stored_ms : 0;
    out->stored_wall_ms = e->stored_wall_ms;
    out->why[0] = '\0';
}

/* cache_stale_or_fail - serve e's old answer if young enough, else TEMPFAIL; why: the failure */
static void
cache_stale_or_fail(cache *c, cache_shard *s, const cache_entry *e, uint64_t now,
                    cache_origin origin, const char *why, cache_answer *out)
{
    if (e->has_value && now - e->stored_ms <= (uint64_t)c->o.stale_max * 1000u) {
        cache_fill_out(e, CACHE_STALE, now, out);
        util_strlcpy(out->why, why, sizeof(out->why));
        s->st.stale++;
        return;
    }
    util_strlcpy(out->why, why, sizeof(out->why));
    memset(&out->attrs, 0, sizeof(out->attrs));
    out->attrs.size = sizeof(out->attrs);
    out->attrs.dkim_signing_enabled = SM_TRI_UNKNOWN;
    out->answer = SM_ID_TEMPFAIL;
    out->origin = origin;
    out->age_ms = 0;
    out->stored_wall_ms = 0;
}

/* cache_wait - wait for the in-flight lookup of e (shard lock held) */
static void
cache_wait(cache *c, cache_shard *s, cache_entry *e, uint64_t deadline_ms, cache_answer *out)
{
    unsigned gen = e->gen;
    struct timespec ts;

    ts.tv_sec = (time_t)(deadline_ms / 1000u);
    ts.tv_nsec = (long)(deadline_ms % 1000u) * 1000000L;
    s->st.waits++;
    e->waiters++;
    while (e->inflight && e->gen == gen)
        if (pthread_cond_timedwait(&e->cond, &s->lock, &ts) == ETIMEDOUT)
            break;
    e->waiters--;
    if (e->gen != gen && e->last_fetch != SM_ID_TEMPFAIL && e->has_value)
        cache_fill_out(e, e->last_shared ? CACHE_REDIS : CACHE_SHARED, c->clock(c->clock_arg), out);
    else
        cache_stale_or_fail(
            c, s, e, c->clock(c->clock_arg), CACHE_SHARED,
            e->gen != gen ? e->why : "the deadline passed waiting for the lookup in flight", out);
}

/* cache_fetch - this thread asks the source for e (shard lock held, dropped meanwhile) */
static void
cache_fetch(cache *c, cache_shard *s, cache_entry *e, const char *instance, const char *identity,
            sm_id_kind kind, uint64_t deadline_ms, cache_fetch_fn fetch, void *arg,
            cache_answer *out)
{
    sm_id_attrs attrs;
    sm_id_answer a;
    uint64_t now;
    int shared = 0;

    e->inflight = 1;
    s->st.misses++;
    pthread_mutex_unlock(&s->lock);

    memset(&attrs, 0, sizeof(attrs));
    attrs.size = sizeof(attrs);
    attrs.dkim_signing_enabled = SM_TRI_UNKNOWN;
    a = cache_fetch_source(c, instance, identity, kind, deadline_ms, fetch, arg, &attrs, &shared);
    if (a != SM_ID_VERIFIED && a != SM_ID_NOT_VERIFIED && a != SM_ID_UNKNOWN)
        a = SM_ID_TEMPFAIL;

    pthread_mutex_lock(&s->lock);
    now = c->clock(c->clock_arg);
    if (a != SM_ID_TEMPFAIL) {
        cache_store(c, e, a, &attrs, now, 0);
        cache_fill_out(e, shared ? CACHE_REDIS : CACHE_MISS, now, out);
    } else {
        attrs.detail[sizeof(attrs.detail) - 1] = '\0';
        util_strlcpy(e->why, attrs.detail[0] ? attrs.detail : "the source could not answer",
                     sizeof(e->why));
        s->st.tempfails++;
        cache_stale_or_fail(c, s, e, now, CACHE_MISS, e->why, out);
    }
    e->inflight = 0;
    e->gen++;
    e->last_fetch = a;
    e->last_shared = a != SM_ID_TEMPFAIL && shared;
    pthread_cond_broadcast(&e->cond);
}

sm_id_answer
cache_lookup(cache *c, const char *instance, const char *identity, sm_id_kind kind,
             uint64_t deadline_ms, cache_fetch_fn fetch, void *arg, cache_answer *out)
{
    size_t len;
    uint64_t hash, now;
    char kbuf[512];
    char *key = cache_key(instance, identity, kind, kbuf, sizeof(kbuf), &len, &hash);
    cache_shard *s = &c->sh[hash % c->nsh];
    cache_entry *e;

    pthread_mutex_lock(&s->lock);
    e = cache_find(s, key, len, hash);
    now = c->clock(c->clock_arg);
    if (e != NULL && e->has_value && now < e->expires_ms && !e->inflight) {
        s->st.hits++;
        cache_touch(s, e);
        cache_fill_out(e, CACHE_HIT, now, out);
    } else if (e != NULL && e->inflight) {
        cache_wait(c, s, e, deadline_ms, out);
    } else {
        if (e == NULL)
            e = cache_create(s, key, len, hash);
        else
            cache_touch(s, e);
        cache_fetch(c, s, e, instance, identity, kind, deadline_ms, fetch, arg, out);
    }
    cache_evict(s);
    pthread_mutex_unlock(&s->lock);
    if (key != kbuf)
        free(key);
    return out->answer;
}

void
cache_put(cache *c, const char *instance, const char *identity, sm_id_kind kind,
          sm_id_answer answer, const sm_id_attrs *attrs)
{
    size_t len;
    uint64_t hash;
    char kbuf[512], *key;
    cache_shard *s;
    cache_entry *e;
    sm_id_attrs shared;
    uint64_t ttl_ms = 0;

    if (answer != SM_ID_VERIFIED && answer != SM_ID_NOT_VERIFIED && answer != SM_ID_UNKNOWN)
        return;
    key = cache_key(instance, identity, kind, kbuf, sizeof(kbuf), &len, &hash);
    s = &c->sh[hash % c->nsh];
    pthread_mutex_lock(&s->lock);
    e = cache_find(s, key, len, hash);
    if (e == NULL)
        e = cache_create(s, key, len, hash);
    else
        cache_touch(s, e);
    cache_store(c, e, answer, attrs, c->clock(c->clock_arg), 1);
    s->st.puts++;
    if (c->state != NULL) { /* what is shared: the stored answer, details merged */
        shared = e->attrs;
        ttl_ms = e->expires_ms - e->stored_ms;
    }
    cache_evict(s);
    pthread_mutex_unlock(&s->lock);
    if (c->state != NULL) /* written through, so that the fleet's other hosts start warm */
        state_id_put(c->state, instance, identity, kind, answer, &shared, ttl_ms,
                     util_now_ms() + CACHE_PUT_STATE_MS);
    if (key != kbuf)
        free(key);
}

void
cache_flush(cache *c)
{
    for (size_t i = 0; i < c->nsh; i++) {
        cache_shard *s = &c->sh[i];
        cache_entry *e, *next;

        pthread_mutex_lock(&s->lock);
        for (e = s->lru_head; e != NULL; e = next) {
            next = e->lnext;
            if (!e->inflight && e->waiters == 0)
                cache_remove(s, e);
        }
        pthread_mutex_unlock(&s->lock);
    }
}

void
cache_revalidate(cache *c)
{
    uint64_t now = c->clock(c->clock_arg);

    for (size_t i = 0; i < c->nsh; i++) {
        cache_shard *s = &c->sh[i];

        pthread_mutex_lock(&s->lock);
        for (cache_entry *e = s->lru_head; e != NULL; e = e->lnext)
            if (e->has_value && e->expires_ms > now)
                e->expires_ms = now;
        pthread_mutex_unlock(&s->lock);
    }
}

void
cache_get_stats(cache *c, cache_stats *out)
{
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < c->nsh; i++) {
        cache_shard *s = &c->sh[i];
        pthread_mutex_lock(&s->lock);
        out->hits += s->st.hits;
        out->misses += s->st.misses;
        out->stale += s->st.stale;
        out->waits += s->st.waits;
        out->evictions += s->st.evictions;
        out->tempfails += s->st.tempfails;
        out->puts += s->st.puts;
        out->entries += s->count;
        pthread_mutex_unlock(&s->lock);
    }
}

const char *
cache_origin_name(cache_origin o)
{
    switch (o) {
    case CACHE_HIT:
        return "hit";
    case CACHE_MISS:
        return "miss";
    case CACHE_SHARED:
        return "shared";
    case CACHE_STALE:
        return "stale";
    case CACHE_REDIS:
        return "redis";
    case CACHE_NONE:
        break;
    }
    return "none";
}
