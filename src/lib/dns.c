/*
 * dns.c - the resolver layer: lookups through an in-process, thread-safe, LRU-bounded cache
 *
 * Purpose: the one DNS layer of the mail path.  DKIM keys, DMARC records and
 * every query of an SPF evaluation (libspf2 sits on top, through
 * auth/spf_dns.c) are asked for again and again; a warm message should cost
 * no DNS round trip, and every query honours the message's absolute
 * deadline.  Positive answers are kept
 * for their TTL (clamped to [min_ttl, max_ttl]), NXDOMAIN and NODATA for
 * the negative TTL of the SOA in the authority section (RFC 2308), or
 * neg_ttl when there is none, also clamped.  Temporary failures are never
 * cached.  The cache is a chained hash table plus an LRU list under one
 * mutex; the resolver runs without the lock (no single-flight: two threads
 * missing at once both ask, the later answer wins).
 *
 * The real resolver is dns_res.c (res_nsend on a per-thread state, the
 * answer parsed there).  Each lookup, cached or sent, is reported to the
 * observer that dns_set_observer() installed (the metrics counters: lib
 * knows nothing of them).
 *
 * Diagnostics: no logging; the lookups write a reason into err.
 */
#include "config.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <pthread.h>
#include <resolv.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/dns.h"
#include "lib/dns_res.h"
#include "lib/util.h"

#define DNS_NAME_MAX 1025

typedef struct dns_entry {
    char *name; /* lower-case key */
    dns_status status;
    dns_txt *txt;     /* DNS_OK only */
    uint64_t expires; /* clock milliseconds */
    struct dns_entry *hnext;
    struct dns_entry *prev, *next; /* LRU: head = most recent */
} dns_entry;

struct dns_cache {
    dns_opts opts;
    pthread_mutex_t lock;
    dns_entry **buckets;
    size_t nbuckets; /* power of two */
    size_t count;
    dns_entry *head, *tail;
    dns_resolver_fn resolver;
    void *resolver_arg;
    dns_rr_fn rr; /* dns_lookup_rr() of types other than TXT; NULL: none (a test's) */
    void *rr_arg;
    dns_has_fn has; /* dns_lookup_has(); NULL: derived from a test's TXT resolver */
    void *has_arg;
    dns_clock_fn clock;
    void *clock_arg;
    struct sockaddr_in server; /* dns_cache_set_server() */
    dns_stats stats;
};

static dns_status dns_res_resolve(void *arg, const char *name, uint64_t deadline_ms,
                                  dns_txt **txt_r, uint32_t *ttl_r);
static dns_status dns_res_rr(void *arg, const char *name, int qtype, uint64_t deadline_ms,
                             dns_txt **rr_r, uint32_t *ttl_r);
static dns_status dns_res_has(void *arg, const char *name, int qtype, uint64_t deadline_ms,
                              uint32_t *ttl_r);

void
dns_opts_defaults(dns_opts *opts)
{
    opts->timeout_ms = 3000;
    opts->max_entries = 10000;
    opts->min_ttl = 30;
    opts->max_ttl = 86400;
    opts->neg_ttl = 300;
}

const char *
dns_status_name(dns_status s)
{
    switch (s) {
    case DNS_OK:
        return "ok";
    case DNS_NXDOMAIN:
        return "nxdomain";
    case DNS_NODATA:
        return "nodata";
    case DNS_TEMPFAIL:
        return "tempfail";
    }
    return "unknown";
}

dns_txt *
dns_txt_new(void)
{
    return xcalloc(1, sizeof(dns_txt));
}

void
dns_txt_add(dns_txt *t, const char *data, size_t len)
{
    t->rr = xrealloc(t->rr, (t->n + 1) * sizeof(char *));
    t->len = xrealloc(t->len, (t->n + 1) * sizeof(size_t));
    t->rr[t->n] = xmalloc(len + 1);
    if (len > 0)
        memcpy(t->rr[t->n], data, len);
    t->rr[t->n][len] = '\0';
    t->len[t->n] = len;
    t->n++;
}

dns_txt *
dns_txt_dup(const dns_txt *t)
{
    dns_txt *d;

    if (t == NULL)
        return NULL;
    d = dns_txt_new();
    for (size_t i = 0; i < t->n; i++)
        dns_txt_add(d, t->rr[i], t->len[i]);
    return d;
}

dns_txt *
dns_txt_free(dns_txt *t)
{
    if (t == NULL)
        return NULL;
    for (size_t i = 0; i < t->n; i++)
        free(t->rr[i]);
    free(t->rr);
    free(t->len);
    free(t);
    return NULL;
}

/* dns_mono_clock - the default clock */
static uint64_t
dns_mono_clock(void *arg SM_UNUSED)
{
    return util_now_ms();
}

dns_cache *
dns_cache_new(const dns_opts *opts)
{
    dns_cache *c = xcalloc(1, sizeof(*c));

    dns_opts_defaults(&c->opts);
    if (opts != NULL)
        c->opts = *opts;
    if (c->opts.max_entries < 1)
        c->opts.max_entries = 1;
    if (c->opts.timeout_ms < 1)
        c->opts.timeout_ms = 1;
    if (c->opts.min_ttl < 0)
        c->opts.min_ttl = 0;
    if (c->opts.max_ttl < c->opts.min_ttl)
        c->opts.max_ttl = c->opts.min_ttl;
    c->nbuckets = 16;
    while (c->nbuckets < (size_t)c->opts.max_entries && c->nbuckets < ((size_t)1 << 20))
        c->nbuckets <<= 1;
    c->buckets = xcalloc(c->nbuckets, sizeof(dns_entry *));
    pthread_mutex_init(&c->lock, NULL);
    c->resolver = dns_res_resolve;
    c->rr = dns_res_rr;
    c->has = dns_res_has;
    c->clock = dns_mono_clock;
    return c;
}

/* dns_entry_free - free one entry (already unlinked) */
static void
dns_entry_free(dns_entry *e)
{
    free(e->name);
    dns_txt_free(e->txt);
    free(e);
}

dns_cache *
dns_cache_free(dns_cache *c)
{
    if (c == NULL)
        return NULL;
    dns_cache_flush(c);
    free(c->buckets);
    pthread_mutex_destroy(&c->lock);
    free(c);
    return NULL;
}

void
dns_cache_set_resolver(dns_cache *c, dns_resolver_fn fn, void *arg)
{
    pthread_mutex_lock(&c->lock);
    c->resolver = fn ? fn : dns_res_resolve;
    c->resolver_arg = fn ? arg : NULL;
    c->has = fn ? NULL : dns_res_has; /* a test's resolver answers dns_lookup_has() too */
    c->has_arg = NULL;
    c->rr = fn ? NULL : dns_res_rr;
    c->rr_arg = NULL;
    pthread_mutex_unlock(&c->lock);
}

void
dns_cache_set_rr_resolver(dns_cache *c, dns_rr_fn fn, void *arg)
{
    pthread_mutex_lock(&c->lock);
    c->rr = fn;
    c->rr_arg = arg;
    pthread_mutex_unlock(&c->lock);
}

void
dns_cache_set_has_resolver(dns_cache *c, dns_has_fn fn, void *arg)
{
    pthread_mutex_lock(&c->lock);
    c->has = fn;
    c->has_arg = arg;
    pthread_mutex_unlock(&c->lock);
}

int
dns_cache_set_server(dns_cache *c, const char *ip, unsigned port)
{
    struct sockaddr_in sin;

    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)(port ? port : 53));
    if (ip == NULL || port > 65535 || inet_pton(AF_INET, ip, &sin.sin_addr) != 1)
        return -1;
    pthread_mutex_lock(&c->lock);
    c->server = sin;
    c->resolver = dns_res_resolve;
    c->resolver_arg = &c->server;
    c->rr = dns_res_rr;
    c->rr_arg = &c->server;
    c->has = dns_res_has;
    c->has_arg = &c->server;
    pthread_mutex_unlock(&c->lock);
    return 0;
}

void
dns_cache_set_clock(dns_cache *c, dns_clock_fn fn, void *arg)
{
    pthread_mutex_lock(&c->lock);
    c->clock = fn ? fn : dns_mono_clock;
    c->clock_arg = fn ? arg : NULL;
    pthread_mutex_unlock(&c->lock);
}

void
dns_cache_stats(dns_cache *c, dns_stats *out)
{
    pthread_mutex_lock(&c->lock);
    *out = c->stats;
    out->entries = c->count;
    pthread_mutex_unlock(&c->lock);
}

/* dns_hash - FNV-1a of the lower-case key */
static size_t
dns_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;

    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return (size_t)h;
}

/* dns_unlink - remove e from its bucket and the LRU list (lock held) */
static void
dns_unlink(dns_cache *c, dns_entry *e)
{
    dns_entry **pp = &c->buckets[dns_hash(e->name) & (c->nbuckets - 1)];

    while (*pp != NULL && *pp != e)
        pp = &(*pp)->hnext;
    if (*pp == e)
        *pp = e->hnext;
    if (e->prev)
        e->prev->next = e->next;
    else
        c->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        c->tail = e->prev;
    c->count--;
}

/* dns_to_front - mark e most recently used (lock held) */
static void
dns_to_front(dns_cache *c, dns_entry *e)
{
    if (c->head == e)
        return;
    e->prev->next = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        c->tail = e->prev;
    e->prev = NULL;
    e->next = c->head;
    c->head->prev = e;
    c->head = e;
}

void
dns_cache_flush(dns_cache *c)
{
    pthread_mutex_lock(&c->lock);
    while (c->head != NULL) {
        dns_entry *e = c->head;
        dns_unlink(c, e);
        dns_entry_free(e);
    }
    pthread_mutex_unlock(&c->lock);
}

/* dns_find - the live entry for key, or NULL (drops it when expired; lock held) */
static dns_entry *
dns_find(dns_cache *c, const char *key, uint64_t now)
{
    dns_entry *e = c->buckets[dns_hash(key) & (c->nbuckets - 1)];

    for (; e != NULL; e = e->hnext)
        if (strcmp(e->name, key) == 0)
            break;
    if (e != NULL && e->expires <= now) {
        dns_unlink(c, e);
        dns_entry_free(e);
        return NULL;
    }
    return e;
}

/* dns_store - insert or replace key's entry, evicting the LRU tail (lock held) */
static void
dns_store(dns_cache *c, const char *key, dns_status st, const dns_txt *txt, uint64_t expires,
          uint64_t now)
{
    dns_entry *e = dns_find(c, key, now);
    size_t b;

    if (e != NULL) {
        dns_unlink(c, e);
        dns_entry_free(e);
    }
    while (c->count >= (size_t)c->opts.max_entries && c->tail != NULL) {
        e = c->tail;
        dns_unlink(c, e);
        dns_entry_free(e);
        c->stats.evictions++;
    }
    e = xcalloc(1, sizeof(*e));
    e->name = xstrdup(key);
    e->status = st;
    e->txt = st == DNS_OK ? dns_txt_dup(txt) : NULL;
    e->expires = expires;
    b = dns_hash(key) & (c->nbuckets - 1);
    e->hnext = c->buckets[b];
    c->buckets[b] = e;
    e->next = c->head;
    if (c->head)
        c->head->prev = e;
    c->head = e;
    if (c->tail == NULL)
        c->tail = e;
    c->count++;
}

/* dns_ttl_clamp - the cache lifetime in seconds for an answer */
static uint64_t
dns_ttl_clamp(const dns_cache *c, dns_status st, uint32_t ttl)
{
    long t = (long)ttl;

    if (st != DNS_OK && ttl == 0)
        t = c->opts.neg_ttl;
    if (t < c->opts.min_ttl)
        t = c->opts.min_ttl;
    if (t > c->opts.max_ttl)
        t = c->opts.max_ttl;
    return (uint64_t)t;
}

/* dns_key - lower-case name without a trailing dot into key; -1 when unusable */
static int
dns_key(const char *name, char *key, size_t keylen)
{
    size_t n;

    if (name == NULL || *name == '\0')
        return -1;
    n = strlen(name);
    if (n >= keylen || n > 254)
        return -1;
    memcpy(key, name, n + 1);
    if (n > 1 && key[n - 1] == '.')
        key[n - 1] = '\0';
    for (char *p = key; *p; p++)
        if ((unsigned char)*p < 0x21 || *p == 0x7f)
            return -1;
    util_lower(key);
    return 0;
}

static dns_observer_fn dns_observer;

void
dns_set_observer(dns_observer_fn fn)
{
    __atomic_store_n(&dns_observer, fn, __ATOMIC_RELEASE);
}

/* dns_observe - report one lookup to the observer, if any */
static void
dns_observe(int cached, int failed)
{
    dns_observer_fn fn = __atomic_load_n(&dns_observer, __ATOMIC_ACQUIRE);

    if (fn != NULL)
        fn(cached, failed);
}

/*
 * dns_lookup_records - a cached lookup of qtype records under key (name_key
 * is the name inside it): TXT through the TXT resolver, other types through
 * the typed one; *rr_r is the caller's when DNS_OK
 */
static dns_status
dns_lookup_records(dns_cache *c, const char *key, const char *name_key, int qtype,
                   uint64_t deadline_ms, dns_txt **rr_r, char *err, size_t errlen)
{
    dns_resolver_fn fn;
    dns_rr_fn rfn;
    dns_txt *txt = NULL;
    uint32_t ttl = 0;
    uint64_t now, limit;
    dns_status st;
    dns_entry *e;
    void *arg;

    pthread_mutex_lock(&c->lock);
    now = c->clock(c->clock_arg);
    e = dns_find(c, key, now);
    if (e != NULL) {
        st = e->status;
        if (st == DNS_OK)
            *rr_r = dns_txt_dup(e->txt);
        dns_to_front(c, e);
        c->stats.hits++;
        pthread_mutex_unlock(&c->lock);
        dns_observe(1, 0);
        return st;
    }
    c->stats.misses++;
    fn = c->resolver;
    rfn = c->rr;
    arg = qtype == ns_t_txt ? c->resolver_arg : c->rr_arg;
    pthread_mutex_unlock(&c->lock);

    limit = util_now_ms() + (uint64_t)c->opts.timeout_ms;
    if (deadline_ms != 0 && deadline_ms < limit)
        limit = deadline_ms;
    if (limit <= util_now_ms()) {
        st = DNS_TEMPFAIL;
        util_errf(err, errlen, "%s: deadline passed before the query", name_key);
    } else if (qtype != ns_t_txt && rfn == NULL) {
        st = DNS_TEMPFAIL;
        util_errf(err, errlen, "%s: no resolver for type %d", name_key, qtype);
    } else {
        st = qtype == ns_t_txt ? fn(arg, name_key, limit, &txt, &ttl)
                               : rfn(arg, name_key, qtype, limit, &txt, &ttl);
        if (st == DNS_TEMPFAIL)
            util_errf(err, errlen, "%s: temporary DNS failure", name_key);
        else if (st == DNS_OK && (txt == NULL || txt->n == 0)) {
            txt = dns_txt_free(txt);
            st = DNS_NODATA;
        }
    }

    dns_observe(0, st == DNS_TEMPFAIL);
    pthread_mutex_lock(&c->lock);
    if (st == DNS_TEMPFAIL) {
        c->stats.tempfails++;
    } else {
        now = c->clock(c->clock_arg);
        dns_store(c, key, st, txt, now + 1000 * dns_ttl_clamp(c, st, ttl), now);
    }
    pthread_mutex_unlock(&c->lock);
    if (st == DNS_OK)
        *rr_r = txt;
    else
        dns_txt_free(txt);
    return st;
}

dns_status
dns_lookup_txt(dns_cache *c, const char *name, uint64_t deadline_ms, dns_txt **txt_r, char *err,
               size_t errlen)
{
    char key[DNS_NAME_MAX];

    *txt_r = NULL;
    if (dns_key(name, key, sizeof(key)) < 0) {
        util_errf(err, errlen, "invalid DNS name");
        return DNS_NXDOMAIN;
    }
    return dns_lookup_records(c, key, key, ns_t_txt, deadline_ms, txt_r, err, errlen);
}

dns_status
dns_lookup_rr(dns_cache *c, const char *name, int qtype, uint64_t deadline_ms, dns_txt **rr_r,
              char *err, size_t errlen)
{
    char key[DNS_NAME_MAX + 16];
    int n;

    if (qtype == ns_t_txt)
        return dns_lookup_txt(c, name, deadline_ms, rr_r, err, errlen);
    *rr_r = NULL;
    /* "\x02TYPE:" before the name keeps records apart from TXT and dns_lookup_has() entries */
    n = snprintf(key, sizeof(key), "\x02%d:", qtype);
    if (dns_key(name, key + n, sizeof(key) - (size_t)n) < 0) {
        util_errf(err, errlen, "invalid DNS name");
        return DNS_NXDOMAIN;
    }
    return dns_lookup_records(c, key, key + n, qtype, deadline_ms, rr_r, err, errlen);
}

/* dns_has_via_txt - dns_lookup_has() over a test's TXT resolver: the name exists or not */
static dns_status
dns_has_via_txt(dns_cache *c, const char *key, uint64_t limit, uint32_t *ttl_r)
{
    dns_txt *txt = NULL;
    dns_status st = c->resolver(c->resolver_arg, key, limit, &txt, ttl_r);

    dns_txt_free(txt);
    return st == DNS_NODATA ? DNS_OK : st;
}

dns_status
dns_lookup_has(dns_cache *c, const char *name, int qtype, uint64_t deadline_ms, char *err,
               size_t errlen)
{
    char key[DNS_NAME_MAX + 16], *name_key;
    uint32_t ttl = 0;
    uint64_t now, limit;
    dns_status st;
    dns_entry *e;
    int n;

    /* the entry's key: "\x01TYPE:" before the name keeps it apart from TXT entries */
    n = snprintf(key, sizeof(key), "\x01%d:", qtype);
    name_key = key + n;
    if (dns_key(name, name_key, sizeof(key) - (size_t)n) < 0) {
        util_errf(err, errlen, "invalid DNS name");
        return DNS_NXDOMAIN;
    }
    pthread_mutex_lock(&c->lock);
    now = c->clock(c->clock_arg);
    if ((e = dns_find(c, key, now)) != NULL) {
        st = e->status;
        dns_to_front(c, e);
        c->stats.hits++;
        pthread_mutex_unlock(&c->lock);
        return st;
    }
    c->stats.misses++;
    pthread_mutex_unlock(&c->lock);
    limit = util_now_ms() + (uint64_t)c->opts.timeout_ms;
    if (deadline_ms != 0 && deadline_ms < limit)
        limit = deadline_ms;
    if (limit <= util_now_ms())
        st = DNS_TEMPFAIL;
    else if (c->has != NULL)
        st = c->has(c->has_arg, name_key, qtype, limit, &ttl);
    else
        st = dns_has_via_txt(c, name_key, limit, &ttl);
    if (st == DNS_TEMPFAIL)
        util_errf(err, errlen, "%s: temporary DNS failure", name_key);
    pthread_mutex_lock(&c->lock);
    if (st == DNS_TEMPFAIL) {
        c->stats.tempfails++;
    } else {
        now = c->clock(c->clock_arg);
        dns_store(c, key, st, NULL, now + 1000 * dns_ttl_clamp(c, st, ttl), now);
    }
    pthread_mutex_unlock(&c->lock);
    return st;
}

/* dns_res_resolve - the real resolver: one TXT query (arg: a struct sockaddr_in or NULL) */
static dns_status
dns_res_resolve(void *arg, const char *name, uint64_t deadline_ms, dns_txt **txt_r, uint32_t *ttl_r)
{
    return dns_res_query(arg, name, ns_t_txt, deadline_ms, txt_r, ttl_r);
}

/* dns_res_rr - the real resolver for dns_lookup_rr(): one query of qtype */
static dns_status
dns_res_rr(void *arg, const char *name, int qtype, uint64_t deadline_ms, dns_txt **rr_r,
           uint32_t *ttl_r)
{
    return dns_res_query(arg, name, qtype, deadline_ms, rr_r, ttl_r);
}

/* dns_res_has - the real resolver for dns_lookup_has(): whether name has records of qtype */
static dns_status
dns_res_has(void *arg, const char *name, int qtype, uint64_t deadline_ms, uint32_t *ttl_r)
{
    return dns_res_query(arg, name, qtype, deadline_ms, NULL, ttl_r);
}

dns_status
dns_query(dns_cache *c, const char *name, int type, uint64_t deadline_ms, unsigned char **msg_r,
          size_t *len_r)
{
    struct sockaddr_in server;
    int have_server, alen;
    uint64_t limit = util_now_ms() + (uint64_t)c->opts.timeout_ms;
    unsigned char *answer;

    *msg_r = NULL;
    *len_r = 0;
    pthread_mutex_lock(&c->lock);
    have_server = c->resolver == dns_res_resolve && c->resolver_arg != NULL;
    server = c->server;
    pthread_mutex_unlock(&c->lock);
    if (deadline_ms != 0 && deadline_ms < limit)
        limit = deadline_ms;
    answer = xmalloc(DNS_ANSWER_MAX);
    alen = dns_res_send(have_server ? &server : NULL, name, type, limit, answer);
    if (alen <= 0) {
        free(answer);
        return alen == 0 ? DNS_NXDOMAIN : DNS_TEMPFAIL;
    }
    *msg_r = answer;
    *len_r = (size_t)alen;
    return DNS_OK;
}
