/*
 * dns.h - the resolver layer: lookups through an in-process cache (DKIM, DMARC, SPF)
 *
 * TXT records (DKIM keys, DMARC records) and records of any type (SPF's A,
 * AAAA, MX, PTR through auth/spf_dns.c) are asked for here.  Answers,
 * NXDOMAIN and NODATA are cached for their TTL (negative answers
 * for the SOA minimum, bounded by configuration), so that a warm message
 * costs no DNS round trip.  Temporary failures are not cached.  Lookups
 * are safe from any thread; each has an absolute deadline.
 */
#ifndef SM_DNS_H
#define SM_DNS_H

#include <stddef.h>
#include <stdint.h>

typedef enum dns_status {
    DNS_OK = 0,   /* one or more TXT records */
    DNS_NXDOMAIN, /* the name does not exist */
    DNS_NODATA,   /* the name exists, no TXT record */
    DNS_TEMPFAIL, /* timeout, SERVFAIL, no server: try again later */
} dns_status;

/* a record set: TXT records here, any type's from dns_lookup_rr() */
typedef struct dns_txt {
    size_t n;    /* number of TXT records */
    char **rr;   /* each record's character-strings concatenated, NUL-terminated */
    size_t *len; /* each record's length (a record may contain NUL bytes) */
} dns_txt;

typedef struct dns_opts {
    long timeout_ms;  /* per lookup, default 3000 */
    long max_entries; /* cache bound, LRU eviction; default 10000 */
    long min_ttl;     /* seconds, default 30 */
    long max_ttl;     /* seconds, default 86400 */
    long neg_ttl;     /* seconds for NXDOMAIN/NODATA when no SOA, default 300 */
} dns_opts;

typedef struct dns_cache dns_cache;

/* a resolver: the real one uses res_nquery; tests install their own */
typedef dns_status (*dns_resolver_fn)(void *arg, const char *name, uint64_t deadline_ms,
                                      dns_txt **txt_r, uint32_t *ttl_r);

typedef struct dns_stats {
    uint64_t hits, misses, tempfails;
    uint64_t evictions; /* entries dropped by the LRU bound */
    uint64_t entries;   /* entries held now (expired ones until touched) */
} dns_stats;

/* a resolver for dns_lookup_rr() of types other than TXT (tests install their own) */
typedef dns_status (*dns_rr_fn)(void *arg, const char *name, int qtype, uint64_t deadline_ms,
                                dns_txt **rr_r, uint32_t *ttl_r);

/* an observer of every TXT/typed lookup: served from the cache, or sent (failed: tempfail) */
typedef void (*dns_observer_fn)(int cached, int failed);

/* a clock in CLOCK_MONOTONIC milliseconds; tests install their own */
typedef uint64_t (*dns_clock_fn)(void *arg);

/* dns_cache_new - a cache over the system resolver (/etc/resolv.conf); opts may be NULL */
dns_cache *dns_cache_new(const dns_opts *opts);
/* dns_cache_free - returns NULL */
dns_cache *dns_cache_free(dns_cache *c);
/* dns_cache_set_resolver - replace the resolver (tests, benchmarks) */
void dns_cache_set_resolver(dns_cache *c, dns_resolver_fn fn, void *arg);
/* dns_lookup_txt - TXT records of name; *txt_r is the caller's (dns_txt_free) when DNS_OK */
dns_status dns_lookup_txt(dns_cache *c, const char *name, uint64_t deadline_ms, dns_txt **txt_r,
                          char *err, size_t errlen);
dns_txt *dns_txt_free(dns_txt *t);
/*
 * dns_lookup_rr - records of qtype for name, cached like TXT answers (qtype
 * ns_t_txt is dns_lookup_txt).  Each record: A and AAAA the 4 or 16 address
 * bytes; MX the exchange name, PTR/CNAME/NS the target name (no trailing
 * dot); TXT the character-strings concatenated; other types the raw rdata.
 * *rr_r is the caller's (dns_txt_free) when DNS_OK.  A test's TXT resolver
 * (dns_cache_set_resolver) answers no other type: DNS_TEMPFAIL unless
 * dns_cache_set_rr_resolver() gave one.
 */
dns_status dns_lookup_rr(dns_cache *c, const char *name, int qtype, uint64_t deadline_ms,
                         dns_txt **rr_r, char *err, size_t errlen);
/* dns_cache_set_rr_resolver - replace dns_lookup_rr()'s resolver for non-TXT types (tests) */
void dns_cache_set_rr_resolver(dns_cache *c, dns_rr_fn fn, void *arg);
/*
 * dns_set_observer - the process's observer of lookups (the metrics counters
 * install theirs at start); NULL: none.  Called from any thread, lock-free.
 */
void dns_set_observer(dns_observer_fn fn);
/* a resolver for dns_lookup_has(): DNS_OK when name has records of qtype (tests) */
typedef dns_status (*dns_has_fn)(void *arg, const char *name, int qtype, uint64_t deadline_ms,
                                 uint32_t *ttl_r);
/*
 * dns_lookup_has - whether name has records of qtype (ns_t_a, ns_t_aaaa, ns_t_mx):
 * DNS_OK, NODATA, NXDOMAIN or TEMPFAIL, cached like TXT answers (RFC 9989's
 * "non-existent domain" test).  With a test's TXT resolver installed and no
 * dns_cache_set_has_resolver(), the TXT resolver's answer for name says whether
 * it exists (NODATA counts as DNS_OK).
 */
dns_status dns_lookup_has(dns_cache *c, const char *name, int qtype, uint64_t deadline_ms,
                          char *err, size_t errlen);
/* dns_cache_set_has_resolver - replace dns_lookup_has()'s resolver (tests) */
void dns_cache_set_has_resolver(dns_cache *c, dns_has_fn fn, void *arg);
void dns_cache_stats(dns_cache *c, dns_stats *out);
const char *dns_status_name(dns_status s);

/* dns_opts_defaults - fill opts with the defaults listed above */
void dns_opts_defaults(dns_opts *opts);
/* dns_cache_set_clock - replace the clock used for TTL expiry (tests); NULL restores */
void dns_cache_set_clock(dns_cache *c, dns_clock_fn fn, void *arg);
/*
 * dns_cache_set_server - use the system resolver, but ask only this IPv4
 * address and port (tests on loopback, a local validating resolver)
 * instead of the servers in /etc/resolv.conf; returns 0, -1 if ip is bad
 */
int dns_cache_set_server(dns_cache *c, const char *ip, unsigned port);
/* dns_thread_cleanup - free the calling thread's resolver state (other threads: automatic) */
void dns_thread_cleanup(void);
/* dns_cache_flush - drop every entry */
void dns_cache_flush(dns_cache *c);
/* dns_txt_new - an empty record set (for resolvers) */
dns_txt *dns_txt_new(void);
/* dns_txt_add - append one record of len bytes (copied, NUL-terminated) */
void dns_txt_add(dns_txt *t, const char *data, size_t len);
/* dns_txt_dup - deep copy (NULL-safe) */
dns_txt *dns_txt_dup(const dns_txt *t);
/*
 * dns_parse_answer - read a DNS response (wire format) to a TXT query.
 * DNS_OK: *txt_r set, *ttl_r the smallest TTL of the answer.  NXDOMAIN /
 * NODATA: *ttl_r the negative TTL from the SOA (RFC 2308), 0 when there is
 * none.  Malformed messages, SERVFAIL, REFUSED and the like: DNS_TEMPFAIL.
 */
dns_status dns_parse_answer(const unsigned char *msg, size_t len, dns_txt **txt_r, uint32_t *ttl_r);
/*
 * dns_query - one uncached query of any type (ns_t_cname, ns_t_mx, ...)
 * through the cache's resolver settings (dns_cache_set_server), for
 * diagnostics ("ses-milter doctor"; the mail path uses dns_lookup_txt).
 * DNS_OK: *msg_r is the response in wire format (the caller frees it),
 * whatever its rcode; DNS_TEMPFAIL: no response by the deadline (0: the
 * cache's timeout); DNS_NXDOMAIN: name is not a valid DNS name.
 */
dns_status dns_query(dns_cache *c, const char *name, int type, uint64_t deadline_ms,
                     unsigned char **msg_r, size_t *len_r);

#endif
