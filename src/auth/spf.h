/*
 * spf.h - RFC 7208 SPF evaluation over libspf2, with the adapter checks
 *
 * One spf_ctx holds a shared libspf2 SPF_server whose DNS stack is
 *     adapter layer (spf_dns.c) -> lib/dns.c (the mail path's resolver layer)
 * (or, for tests, adapter layer -> any libspf2 layer such as the zone layer).
 * Every query honours the check's absolute deadline and goes through
 * lib/dns.c's cache, so it is cached, negatively cached and counted like
 * the DKIM and DMARC queries.
 * The adapter layer fetches every SPF record itself, checks it strictly
 * (spf_syntax.c), rewrites what libspf2 cannot evaluate, and counts the
 * RFC 7208 section 4.6.4 lookup limits per request.  spf_check() is safe
 * from any number of threads at once: each call has its own libspf2
 * request/response and its own thread-local counter state; lib/dns.c locks
 * its cache and keeps its resolver state per thread.
 *
 * libspf2 always passes a client in 127.0.0.0/8 or ::1; the adapter refuses
 * to evaluate loopback clients (result permerror, reason says why) and
 * spf_ip_usable() lets configuration validation refuse such egress IPs.
 */
#ifndef SM_SPF_H
#define SM_SPF_H

#include <stddef.h>
#include <stdint.h>

typedef enum spf_result {
    SPF_R_NONE = 0,
    SPF_R_NEUTRAL,
    SPF_R_PASS,
    SPF_R_FAIL,
    SPF_R_SOFTFAIL,
    SPF_R_TEMPERROR,
    SPF_R_PERMERROR,
} spf_result;

/* a plain struct the integrator fills (spf_opts_defaults() first) */
typedef struct spf_opts {
    long timeout_ms;           /* whole check, used when deadline_ms is 0; default 5000 */
    long max_dns_mechanisms;   /* RFC 7208 4.6.4 DNS-querying terms; default 10 */
    long max_void_lookups;     /* RFC 7208 4.6.4 void lookups; default 2 */
    int use_system_resolver;   /* 1: resolv.conf via lib/dns.c (default); 0 is refused */
    long cache_bits;           /* validated, unused: the queries share lib/dns.c's cache */
    char *default_explanation; /* NULL: libspf2's default; owned by the caller */
} spf_opts;

typedef struct spf_detail {
    spf_result result;
    char ip[48];           /* the client address evaluated */
    char reason[256];      /* short reason: mechanism/default/error text */
    char explanation[256]; /* fail explanation (exp= or default), else empty */
    int dns_terms;         /* DNS-querying terms counted */
    int void_lookups;      /* void lookups counted */
    int adapter_override;  /* 1 when an adapter check decided the result, not libspf2 */
} spf_detail;

typedef struct spf_ctx spf_ctx;
struct SPF_dns_server_struct;
struct dns_cache;

/* spf_opts_defaults - fill opts with the defaults above */
void spf_opts_defaults(spf_opts *opts);
/* spf_opts_validate - 0, or -1 and a reason for a value out of range */
int spf_opts_validate(const spf_opts *opts, char *err, size_t errlen);
/* spf_ctx_new - a context over its own lib/dns.c cache (opts NULL: defaults); NULL + err on failure
 */
spf_ctx *spf_ctx_new(const spf_opts *opts, char *err, size_t errlen);
/*
 * spf_ctx_new_cache - a context whose queries go through dns (lib/dns.h: the
 * mail path's cache, shared with DKIM and DMARC; not owned, it must outlive
 * the context); NULL + err on failure
 */
spf_ctx *spf_ctx_new_cache(const spf_opts *opts, struct dns_cache *dns, char *err, size_t errlen);
/*
 * spf_ctx_new_dns - a context over the caller's libspf2 DNS layer (tests:
 * SPF_dns_zone_new); the context owns 'below' and frees it.
 */
spf_ctx *spf_ctx_new_dns(const spf_opts *opts, struct SPF_dns_server_struct *below, char *err,
                         size_t errlen);
/* spf_ctx_free - returns NULL */
spf_ctx *spf_ctx_free(spf_ctx *ctx);

/*
 * spf_check - check_host() for client ip (IPv4, IPv6 or ::ffff:a.b.c.d text)
 * and sender_domain; mail_from may be NULL (postmaster@sender_domain), else
 * only its local part is used (%{l}, %{s}); helo may be NULL (%{h} is then
 * sender_domain).  deadline_ms is absolute (util_now_ms()), 0 = now + timeout.
 * detail_r may be NULL.
 */
spf_result spf_check(spf_ctx *ctx, const char *ip, const char *sender_domain, const char *mail_from,
                     const char *helo, uint64_t deadline_ms, spf_detail *detail_r);
/*
 * spf_check_ips - spf_check for each of n egress addresses; returns the
 * worst result (see spf_result_rank) and its detail.  n == 0 gives none.
 */
spf_result spf_check_ips(spf_ctx *ctx, const char *const *ips, size_t n, const char *sender_domain,
                         const char *mail_from, const char *helo, uint64_t deadline_ms,
                         spf_detail *detail_r);

/* spf_result_name - "pass", "fail", ... (RFC 7208 names) */
const char *spf_result_name(spf_result r);
/* spf_result_parse - name to result; -1 when unknown (accepts "unknown"/"error" aliases) */
int spf_result_parse(const char *name);
/* spf_result_rank - badness order: pass < neutral < none < softfail < temperror < permerror < fail
 */
int spf_result_rank(spf_result r);
/* spf_ip_usable - 0 if ip can be evaluated (not loopback, unspecified or malformed), else -1 + err
 */
int spf_ip_usable(const char *ip, char *err, size_t errlen);

#endif
