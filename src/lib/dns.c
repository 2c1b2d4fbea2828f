/*
 * dns.c - TXT lookups through an in-process, thread-safe, LRU-bounded cache
 *
 * Purpose: DKIM keys and DMARC records are asked for again and again; a
 * warm message should cost no DNS round trip.  Positive answers are kept
 * for their TTL (clamped to [min_ttl, max_ttl]), NXDOMAIN and NODATA for
 * the negative TTL of the SOA in the authority section (RFC 2308), or
 * neg_ttl when there is none, also clamped.  Temporary failures are never
 * cached.  The cache is a chained hash table plus an LRU list under one
 * mutex; the resolver runs without the lock (no single-flight: two threads
 * missing at once both ask, the later answer wins).
 *
 * The real resolver builds the query with res_nmkquery() and sends it with
 * res_nsend() on a per-thread struct __res_state (res_ninit once per
 * thread).  res_nquery() is not used directly because it throws away the
 * response of an NXDOMAIN/NODATA answer, and with it the SOA we need for
 * negative caching.  The per-try timeout is derived from the deadline.
 *
 * Diagnostics: no logging; dns_lookup_txt() writes a reason into err.
 * Security: answers are untrusted bytes; the parser checks every length
 * through ns_initparse()/ns_parserr() and never reads past the message.
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
#include "metrics/metrics.h"
#include "lib/util.h"

#define DNS_ANSWER_MAX 65536
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
    dns_has_fn has; /* dns_lookup_has(); NULL: derived from a test's TXT resolver */
    void *has_arg;
    dns_clock_fn clock;
    void *clock_arg;
    struct sockaddr_in server; /* dns_cache_set_server() */
    dns_stats stats;
};

static dns_status dns_res_resolve(void *arg, const char *name, uint64_t deadline_ms,
                                  dns_txt **txt_r, uint32_t *ttl_r);
static dns_status dns_res_query(void *arg, const char *name, int qtype, uint64_t deadline_ms,
                                dns_txt **txt_r, uint32_t *ttl_r);
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

dns_status
dns_lookup_txt(dns_cache *c, const char *name, uint64_t deadline_ms, dns_txt **txt_r, char *err,
               size_t errlen)
{
    char key[DNS_NAME_MAX];
    dns_resolver_fn fn;
    dns_txt *txt = NULL;
    uint32_t ttl = 0;
    uint64_t now, limit;
    dns_status st;
    dns_entry *e;
    void *arg;

    *txt_r = NULL;
    if (dns_key(name, key, sizeof(key)) < 0) {
        util_errf(err, errlen, "invalid DNS name");
        return DNS_NXDOMAIN;
    }
    pthread_mutex_lock(&c->lock);
    now = c->clock(c->clock_arg);
    e = dns_find(c, key, now);
    if (e != NULL) {
        st = e->status;
        if (st == DNS_OK)
            *txt_r = dns_txt_dup(e->txt);
        dns_to_front(c, e);
        c->stats.hits++;
        pthread_mutex_unlock(&c->lock);
        metrics_dns(1, 0);
        return st;
    }
    c->stats.misses++;
    fn = c->resolver;
    arg = c->resolver_arg;
    pthread_mutex_unlock(&c->lock);

    limit = util_now_ms() + (uint64_t)c->opts.timeout_ms;
    if (deadline_ms != 0 && deadline_ms < limit)
        limit = deadline_ms;
    if (limit <= util_now_ms()) {
        st = DNS_TEMPFAIL;
        util_errf(err, errlen, "%s: deadline passed before the query", key);
    } else {
        st = fn(arg, key, limit, &txt, &ttl);
        if (st == DNS_TEMPFAIL)
            util_errf(err, errlen, "%s: temporary DNS failure", key);
        else if (st == DNS_OK && (txt == NULL || txt->n == 0)) {
            txt = dns_txt_free(txt);
            st = DNS_NODATA;
        }
    }

    metrics_dns(0, st == DNS_TEMPFAIL);
    pthread_mutex_lock(&c->lock);
    if (st == DNS_TEMPFAIL) {
        c->stats.tempfails++;
    } else {
        now = c->clock(c->clock_arg);
        dns_store(c, key, st, txt, now + 1000 * dns_ttl_clamp(c, st, ttl), now);
    }
    pthread_mutex_unlock(&c->lock);
    if (st == DNS_OK)
        *txt_r = txt;
    else
        dns_txt_free(txt);
    return st;
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

/* dns_txt_rdata - append the concatenated character-strings of one TXT rdata; -1 if malformed */
static int
dns_txt_rdata(dns_txt *t, const unsigned char *rd, size_t rdlen)
{
    char *buf = xmalloc(rdlen + 1);
    size_t off = 0, out = 0;

    while (off < rdlen) {
        size_t n = rd[off++];
        if (n > rdlen - off) {
            free(buf);
            return -1;
        }
        memcpy(buf + out, rd + off, n);
        out += n;
        off += n;
    }
    dns_txt_add(t, buf, out);
    free(buf);
    return 0;
}

/* dns_soa_ttl - negative TTL from an SOA in the authority section (0 = none) */
static uint32_t
dns_soa_ttl(ns_msg *m)
{
    for (int i = 0; i < ns_msg_count(*m, ns_s_ns); i++) {
        const unsigned char *rd, *eom = ns_msg_end(*m);
        uint32_t minimum, ttl;
        ns_rr rr;
        int n;

        if (ns_parserr(m, ns_s_ns, i, &rr) < 0)
            return 0;
        if (ns_rr_type(rr) != ns_t_soa)
            continue;
        rd = ns_rr_rdata(rr);
        if (ns_rr_rdlen(rr) < 22 || rd + ns_rr_rdlen(rr) > eom)
            return 0;
        eom = rd + ns_rr_rdlen(rr);
        for (int k = 0; k < 2; k++) {
            if ((n = dn_skipname(rd, eom)) < 0)
                return 0;
            rd += n;
        }
        if (eom - rd < 20)
            return 0;
        minimum = ns_get32(rd + 16);
        ttl = ns_rr_ttl(rr);
        minimum = minimum < ttl ? minimum : ttl;
        return minimum > 0 ? minimum : 1;
    }
    return 0;
}

/*
 * dns_parse_typed - dns_parse_answer for records of qtype: TXT records go into
 * *txt_r; for another type txt_r is NULL and only their presence counts
 */
static dns_status
dns_parse_typed(const unsigned char *msg, size_t len, int qtype, dns_txt **txt_r, uint32_t *ttl_r)
{
    uint32_t ttl = UINT32_MAX;
    size_t other = 0;
    dns_txt *t;
    ns_msg m;

    if (txt_r != NULL)
        *txt_r = NULL;
    *ttl_r = 0;
    if (msg == NULL || len < HFIXEDSZ || len > DNS_ANSWER_MAX ||
        ns_initparse(msg, (int)len, &m) < 0)
        return DNS_TEMPFAIL;
    if (!ns_msg_getflag(m, ns_f_qr) || ns_msg_getflag(m, ns_f_tc))
        return DNS_TEMPFAIL;
    switch (ns_msg_getflag(m, ns_f_rcode)) {
    case ns_r_noerror:
        break;
    case ns_r_nxdomain:
        *ttl_r = dns_soa_ttl(&m);
        return DNS_NXDOMAIN;
    default:
        return DNS_TEMPFAIL;
    }
    t = dns_txt_new();
    for (int i = 0; i < ns_msg_count(m, ns_s_an); i++) {
        ns_rr rr;

        if (ns_parserr(&m, ns_s_an, i, &rr) < 0) {
            dns_txt_free(t);
            return DNS_TEMPFAIL;
        }
        if (ns_rr_class(rr) != ns_c_in)
            continue;
        if (ns_rr_type(rr) == ns_t_cname && ns_rr_ttl(rr) < ttl)
            ttl = ns_rr_ttl(rr);
        if ((int)ns_rr_type(rr) != qtype)
            continue;
        if (txt_r == NULL) { /* another type: its presence is the answer */
            other++;
            if (ns_rr_ttl(rr) < ttl)
                ttl = ns_rr_ttl(rr);
            continue;
        }
        /* a malformed record is skipped rather than failing its siblings */
        if (dns_txt_rdata(t, ns_rr_rdata(rr), ns_rr_rdlen(rr)) == 0 && ns_rr_ttl(rr) < ttl)
            ttl = ns_rr_ttl(rr);
    }
    if (t->n == 0 && other == 0) {
        dns_txt_free(t);
        *ttl_r = dns_soa_ttl(&m);
        return DNS_NODATA;
    }
    if (txt_r != NULL)
        *txt_r = t;
    else
        dns_txt_free(t);
    *ttl_r = ttl;
    return DNS_OK;
}

dns_status
dns_parse_answer(const unsigned char *msg, size_t len, dns_txt **txt_r, uint32_t *ttl_r)
{
    return dns_parse_typed(msg, len, ns_t_txt, txt_r, ttl_r);
}

static pthread_key_t dns_res_key;
static pthread_once_t dns_res_once = PTHREAD_ONCE_INIT;

/* dns_res_destroy - per-thread resolver state destructor */
static void
dns_res_destroy(void *p)
{
    res_nclose((res_state)p);
    free(p);
}

static void
dns_res_key_init(void)
{
    pthread_key_create(&dns_res_key, dns_res_destroy);
}

void
dns_thread_cleanup(void)
{
    res_state rs;

    pthread_once(&dns_res_once, dns_res_key_init);
    rs = pthread_getspecific(dns_res_key);
    if (rs != NULL) {
        pthread_setspecific(dns_res_key, NULL);
        dns_res_destroy(rs);
    }
}

/* dns_res_state - this thread's resolver state, initialised on first use; NULL on failure */
static res_state
dns_res_state(void)
{
    res_state rs;

    pthread_once(&dns_res_once, dns_res_key_init);
    rs = pthread_getspecific(dns_res_key);
    if (rs != NULL)
        return rs;
    rs = xcalloc(1, sizeof(*rs));
    if (res_ninit(rs) != 0) {
        res_nclose(rs);
        free(rs);
        return NULL;
    }
    pthread_setspecific(dns_res_key, rs);
    return rs;
}

/*
 * dns_res_send - one query of type for name with res_nsend on this thread's
 * state; server, when not NULL, is asked instead of the configured servers
 * (the thread's state is restored afterwards).  Returns the answer's length
 * in answer[DNS_ANSWER_MAX], 0 for a name that is not a valid DNS name, -1
 * when no answer came by the deadline.
 */
static int
dns_res_send(const struct sockaddr_in *server, const char *name, int type, uint64_t deadline_ms,
             unsigned char *answer)
{
    unsigned char query[NS_PACKETSZ];
    struct sockaddr_in saved_addr;
    res_state rs = dns_res_state();
    uint64_t now = util_now_ms();
    int qlen, alen, ns, saved_count = 0;
    long secs;

    if (rs == NULL || now >= deadline_ms)
        return -1;
    memset(&saved_addr, 0, sizeof(saved_addr));
    if (server != NULL) {
        saved_addr = rs->nsaddr_list[0];
        saved_count = rs->nscount;
        rs->nsaddr_list[0] = *server;
        rs->nscount = 1;
    }
    ns = rs->nscount > 0 ? rs->nscount : 1;
    secs = (long)((deadline_ms - now) / 1000) / ns;
    rs->retrans = secs > 0 ? (int)secs : 1;
    rs->retry = 1;
    qlen = res_nmkquery(rs, ns_o_query, name, ns_c_in, type, NULL, 0, NULL, query, sizeof(query));
    alen = qlen > 0 ? res_nsend(rs, query, qlen, answer, DNS_ANSWER_MAX) : 0;
    if (server != NULL) {
        rs->nsaddr_list[0] = saved_addr;
        rs->nscount = saved_count;
    }
    if (qlen <= 0)
        return 0; /* not a valid DNS name: it cannot exist */
    if (alen <= 0 || util_now_ms() > deadline_ms)
        return -1;
    return alen < DNS_ANSWER_MAX ? alen : DNS_ANSWER_MAX;
}

/*
 * dns_res_query - one query of qtype with res_nsend (dns_res_send); TXT
 * records into *txt_r (NULL for other types).  arg, when not NULL, is a
 * struct sockaddr_in to ask instead of the configured servers.
 */
static dns_status
dns_res_query(void *arg, const char *name, int qtype, uint64_t deadline_ms, dns_txt **txt_r,
              uint32_t *ttl_r)
{
    unsigned char *answer = xmalloc(DNS_ANSWER_MAX);
    int alen;
    dns_status st;

    if (txt_r != NULL)
        *txt_r = NULL;
    *ttl_r = 0;
    alen = dns_res_send(arg, name, qtype, deadline_ms, answer);
    if (alen == 0)
        st = DNS_NXDOMAIN; /* not a valid DNS name: it cannot exist */
    else if (alen < 0)
        st = DNS_TEMPFAIL;
    else
        st = dns_parse_typed(answer, (size_t)alen, qtype, txt_r, ttl_r);
    free(answer);
    return st;
}

/* dns_res_resolve - the real resolver: one TXT query */
static dns_status
dns_res_resolve(void *arg, const char *name, uint64_t deadline_ms, dns_txt **txt_r, uint32_t *ttl_r)
{
    return dns_res_query(arg, name, ns_t_txt, deadline_ms, txt_r, ttl_r);
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
