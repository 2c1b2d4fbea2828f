/*
 * spf.c - RFC 7208 SPF evaluation over libspf2, with the adapter checks
 *
 * libspf2 1.2.10 evaluates records and walks include and redirect.  Its
 * measured defects are fixed around it:
 *
 *  - spf_dns.c: an SPF_dns_server_t layer on top of the DNS stack
 *        adapter layer -> lib/dns.c layer (spf_dns_lib_new)
 *    (tests: adapter layer -> a libspf2 zone layer) that fetches, strictly checks (spf_syntax.c)
 * and rewrites every record, counts the RFC 7208 lookup limits per check, truncates and checks
 *    query names, answers the a/0 and mx/0 probe names, and expands every
 *    macro itself (domain-specs and explanations: libspf2 mangles digit
 *    transformers);
 *  - here: the identity checks (malformed, single-label or [literal]
 *    domain gives none), ::ffff:a.b.c.d clients evaluated as IPv4, loopback
 *    clients refused (libspf2 passes all of 127.0.0.0/8 and ::1 before
 *    looking at any record), and the result mapping (SPF_RESULT_INVALID is
 *    temperror when a DNS error was seen, else permerror).
 *
 * Threads: the SPF_server and the DNS layers are shared.  Each spf_check()
 * has its own libspf2 request and response and its own spf_dns_req, reached
 * by the hooks through a thread-local pointer; lib/dns.c locks its cache and
 * keeps a res_state per thread.
 *
 * Deadline: checked before every DNS query, and handed to each one: lib/dns.c
 * bounds the query by it (resolv.conf's "options timeout/attempts", which
 * libspf2's own resolv layer obeyed, no longer apply).  The queries share the
 * mail path's DNS cache (spf_ctx_new_cache) and count in its metrics.
 *
 * What libspf2 cannot be made to do from outside: see the deviations in
 * tests/unit/auth/test_spf_suite.c (a NUL byte inside a TXT record).
 */
#include <netinet/in.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <spf2/spf.h>

#include "auth/spf.h"
#include "auth/spf_dns.h"
#include "lib/util.h"

#define SPF_NAME_MAX 1100

struct spf_ctx {
    SPF_server_t *server;
    SPF_dns_server_t *layer; /* ours, the top of the stack */
    dns_cache *own_dns;      /* spf_ctx_new's own cache (spf_ctx_new_cache: the caller's) */
    spf_opts opts;
};

static void
spf_quiet(const char *file SM_UNUSED, int line SM_UNUSED, const char *msg SM_UNUSED)
{
}

/* spf_opts_defaults - fill opts with the defaults above */
void
spf_opts_defaults(spf_opts *opts)
{
    memset(opts, 0, sizeof(*opts));
    opts->timeout_ms = 5000;
    opts->max_dns_mechanisms = 10;
    opts->max_void_lookups = 2;
    opts->use_system_resolver = 1;
    opts->cache_bits = 12;
}

/* spf_opts_validate - 0, or -1 and a reason for a value out of range */
int
spf_opts_validate(const spf_opts *opts, char *err, size_t errlen)
{
    if (opts->timeout_ms < 1 || opts->timeout_ms > 600000)
        return util_errf(err, errlen, "spf: timeout_ms must be 1..600000");
    if (opts->max_dns_mechanisms < 1 || opts->max_dns_mechanisms > 100)
        return util_errf(err, errlen, "spf: max_dns_mechanisms must be 1..100 (RFC 7208: 10)");
    if (opts->max_void_lookups < 0 || opts->max_void_lookups > 100)
        return util_errf(err, errlen, "spf: max_void_lookups must be 0..100 (RFC 7208: 2)");
    if (opts->cache_bits < 1 || opts->cache_bits > 16)
        return util_errf(err, errlen, "spf: cache_bits must be 1..16");
    return 0;
}

static void
spf_quiet_once(void)
{
    SPF_warning_handler = spf_quiet;
    SPF_info_handler = spf_quiet;
    SPF_debug_handler = spf_quiet;
}

/* spf_ctx_new_dns - a context over the caller's libspf2 DNS layer; owns 'below' */
spf_ctx *
spf_ctx_new_dns(const spf_opts *opts, struct SPF_dns_server_struct *below, char *err, size_t errlen)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    spf_ctx *ctx;
    SPF_response_t *resp = NULL;

    if (below == NULL) {
        util_errf(err, errlen, "spf: no DNS layer");
        return NULL;
    }
    if (opts != NULL && spf_opts_validate(opts, err, errlen) < 0) {
        SPF_dns_free(below);
        return NULL;
    }
    pthread_once(&once, spf_quiet_once);
    ctx = xcalloc(1, sizeof(*ctx));
    if (opts != NULL)
        ctx->opts = *opts;
    else
        spf_opts_defaults(&ctx->opts);
    ctx->layer = spf_dns_layer_new(below);
    ctx->server = SPF_server_new_dns(ctx->layer, 0);
    if (ctx->server == NULL) {
        util_errf(err, errlen, "spf: SPF_server_new_dns failed");
        return spf_ctx_free(ctx);
    }
    /* our layer enforces the limits; keep libspf2's own out of the way */
    SPF_server_set_max_dns_mech(ctx->server, 1000);
    SPF_server_set_max_dns_mx(ctx->server, 1000);
    SPF_server_set_max_dns_ptr(ctx->server, 1000);
    if (ctx->opts.default_explanation != NULL &&
        SPF_server_set_explanation(ctx->server, ctx->opts.default_explanation, &resp) !=
            SPF_E_SUCCESS) {
        util_errf(err, errlen, "spf: invalid default explanation");
        if (resp != NULL)
            SPF_response_free(resp);
        return spf_ctx_free(ctx);
    }
    if (resp != NULL)
        SPF_response_free(resp);
    return ctx;
}

/* spf_ctx_new_cache - a context whose queries go through dns (not owned) */
spf_ctx *
spf_ctx_new_cache(const spf_opts *opts, dns_cache *dns, char *err, size_t errlen)
{
    if (opts != NULL && spf_opts_validate(opts, err, errlen) < 0)
        return NULL;
    if (opts != NULL && !opts->use_system_resolver) {
        util_errf(err, errlen, "spf: no resolver configured (use_system_resolver is off)");
        return NULL;
    }
    if (dns == NULL) {
        util_errf(err, errlen, "spf: no DNS cache");
        return NULL;
    }
    return spf_ctx_new_dns(opts, spf_dns_lib_new(dns), err, errlen);
}

/* spf_ctx_new - a context over the system resolver (opts NULL: defaults); NULL + err on failure */
spf_ctx *
spf_ctx_new(const spf_opts *opts, char *err, size_t errlen)
{
    dns_cache *dns;
    spf_ctx *ctx;

    if (opts != NULL && spf_opts_validate(opts, err, errlen) < 0)
        return NULL;
    dns = dns_cache_new(NULL);
    if ((ctx = spf_ctx_new_cache(opts, dns, err, errlen)) == NULL) {
        dns_cache_free(dns);
        return NULL;
    }
    ctx->own_dns = dns;
    return ctx;
}

/* spf_ctx_free - returns NULL */
spf_ctx *
spf_ctx_free(spf_ctx *ctx)
{
    if (ctx == NULL)
        return NULL;
    if (ctx->server != NULL)
        SPF_server_free(ctx->server); /* does not free a resolver given to _new_dns */
    if (ctx->layer != NULL)
        SPF_dns_free(ctx->layer); /* ours, then every layer below */
    dns_cache_free(ctx->own_dns);
    free(ctx);
    return NULL;
}

/* a check_host() identity domain: multi-label, no empty or long label, no literal */
static int
spf_identity_ok(const char *d)
{
    char buf[SPF_NAME_MAX];
    size_t len;

    if (d == NULL || d[0] == '\0' || d[0] == '[')
        return 0;
    for (const char *p = d; *p != '\0'; p++)
        if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e || *p == '@')
            return 0;
    len = strlen(d);
    if (len > 253 + 1 || spf_dns_name_prepare(d, buf, sizeof(buf)) < 0)
        return 0;
    return strchr(buf, '.') != NULL;
}

/* parse the client address; AF_INET for IPv4 and ::ffff:a.b.c.d, AF_INET6, or -1 */
static int
spf_parse_ip(const char *ip, struct in_addr *a4, struct in6_addr *a6)
{
    if (ip == NULL)
        return -1;
    if (inet_pton(AF_INET, ip, a4) == 1)
        return AF_INET;
    if (inet_pton(AF_INET6, ip, a6) != 1)
        return -1;
    if (IN6_IS_ADDR_V4MAPPED(a6)) {
        memcpy(&a4->s_addr, &a6->s6_addr[12], 4);
        return AF_INET;
    }
    return AF_INET6;
}

static int
spf_is_loopback(int af, const struct in_addr *a4, const struct in6_addr *a6)
{
    if (af == AF_INET)
        return (ntohl(a4->s_addr) >> 24) == 127;
    return IN6_IS_ADDR_LOOPBACK(a6);
}

/* spf_ip_usable - 0 if ip can be evaluated (not loopback, unspecified or malformed), else -1 + err
 */
int
spf_ip_usable(const char *ip, char *err, size_t errlen)
{
    struct in_addr a4;
    struct in6_addr a6;
    int af = spf_parse_ip(ip, &a4, &a6);

    if (af < 0)
        return util_errf(err, errlen, "not an IP address: %s", ip ? ip : "(null)");
    if (spf_is_loopback(af, &a4, &a6))
        return util_errf(err, errlen,
                         "%s is a loopback address: libspf2 always passes loopback clients, "
                         "so SPF cannot be predicted for it",
                         ip);
    if ((af == AF_INET && a4.s_addr == 0) || (af == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&a6)))
        return util_errf(err, errlen, "%s is the unspecified address", ip);
    return 0;
}

/* map libspf2's result; INVALID by its error: DNS error -> temperror, else permerror */
static spf_result
spf_map(SPF_response_t *resp, SPF_errcode_t e, int dns_error)
{
    switch (resp != NULL ? SPF_response_result(resp) : SPF_RESULT_INVALID) {
    case SPF_RESULT_PASS:
        return SPF_R_PASS;
    case SPF_RESULT_FAIL:
        return SPF_R_FAIL;
    case SPF_RESULT_SOFTFAIL:
        return SPF_R_SOFTFAIL;
    case SPF_RESULT_NEUTRAL:
        return SPF_R_NEUTRAL;
    case SPF_RESULT_NONE:
        return SPF_R_NONE;
    case SPF_RESULT_TEMPERROR:
        return SPF_R_TEMPERROR;
    case SPF_RESULT_PERMERROR:
        return SPF_R_PERMERROR;
    default:
        break;
    }
    if (e == SPF_E_DNS_ERROR || dns_error ||
        (resp != NULL && SPF_response_errcode(resp) == SPF_E_DNS_ERROR))
        return SPF_R_TEMPERROR;
    for (int i = 0; resp != NULL && i < SPF_response_messages(resp); i++)
        if (SPF_error_code(SPF_response_message(resp, i)) == SPF_E_DNS_ERROR)
            return SPF_R_TEMPERROR;
    return SPF_R_PERMERROR;
}

/* fill the reason and explanation texts from libspf2's response */
static void
spf_describe(spf_detail *det, SPF_response_t *resp, SPF_errcode_t e)
{
    const char *exp;

    if (resp == NULL) {
        snprintf(det->reason, sizeof(det->reason), "libspf2: %s", SPF_strerror(e));
        return;
    }
    switch (SPF_response_reason(resp)) {
    case SPF_REASON_MECH:
        util_strlcpy(det->reason, "a mechanism matched", sizeof(det->reason));
        break;
    case SPF_REASON_DEFAULT:
        util_strlcpy(det->reason, "no mechanism matched (default result)", sizeof(det->reason));
        break;
    default:
        if (SPF_response_messages(resp) > 0)
            snprintf(det->reason, sizeof(det->reason), "libspf2: %s",
                     SPF_error_message(SPF_response_message(resp, 0)));
        else
            snprintf(det->reason, sizeof(det->reason), "libspf2: %s",
                     SPF_strerror(SPF_response_errcode(resp)));
        break;
    }
    if (det->result == SPF_R_FAIL && (exp = SPF_response_get_explanation(resp)) != NULL)
        util_strlcpy(det->explanation, exp, sizeof(det->explanation));
}

/* set up a libspf2 request for the client and identity; NULL on failure */
static SPF_request_t *
spf_request(spf_ctx *ctx, int af, const struct in_addr *a4, const struct in6_addr *a6,
            const char *domain, const char *mail_from, const char *helo)
{
    SPF_request_t *req = SPF_request_new(ctx->server);
    const char *at = mail_from != NULL ? strrchr(mail_from, '@') : NULL;
    char *env;

    if (req == NULL)
        return NULL;
    if (af == AF_INET)
        SPF_request_set_ipv4(req, *a4);
    else
        SPF_request_set_ipv6(req, *a6);
    SPF_request_set_helo_dom(req, helo != NULL && helo[0] != '\0' ? helo : domain);
    if (at != NULL && at != mail_from)
        env = xasprintf("%.*s@%s", (int)(at - mail_from), mail_from, domain);
    else
        env = xasprintf("postmaster@%s", domain);
    SPF_request_set_env_from(req, env);
    free(env);
    return req;
}

/* spf_check - check_host() for client ip and sender_domain (see spf.h) */
spf_result
spf_check(spf_ctx *ctx, const char *ip, const char *sender_domain, const char *mail_from,
          const char *helo, uint64_t deadline_ms, spf_detail *detail_r)
{
    spf_detail tmp;
    spf_detail *det = detail_r != NULL ? detail_r : &tmp;
    struct in_addr a4;
    struct in6_addr a6;
    SPF_request_t *req;
    SPF_response_t *resp = NULL;
    SPF_errcode_t e;
    spf_dns_req rq, *saved;
    int af = spf_parse_ip(ip, &a4, &a6);

    memset(det, 0, sizeof(*det));
    util_strlcpy(det->ip, ip != NULL ? ip : "", sizeof(det->ip));
    det->adapter_override = 1;
    det->result = SPF_R_PERMERROR;
    if (ctx == NULL || af < 0) {
        util_strlcpy(det->reason, "invalid client address", sizeof(det->reason));
        return det->result;
    }
    if (spf_is_loopback(af, &a4, &a6)) {
        util_strlcpy(det->reason, "loopback client not evaluated (libspf2 always passes it)",
                     sizeof(det->reason));
        return det->result;
    }
    if (!spf_identity_ok(sender_domain)) {
        util_strlcpy(det->reason, "malformed or single-label domain", sizeof(det->reason));
        return det->result = SPF_R_NONE;
    }
    if ((req = spf_request(ctx, af, &a4, &a6, sender_domain, mail_from, helo)) == NULL) {
        util_strlcpy(det->reason, "libspf2 request failed", sizeof(det->reason));
        return det->result = SPF_R_TEMPERROR;
    }
    memset(&rq, 0, sizeof(rq));
    rq.layer = ctx->layer;
    rq.max_terms = ctx->opts.max_dns_mechanisms;
    rq.max_voids = ctx->opts.max_void_lookups;
    rq.req = req;
    rq.af = af;
    rq.deadline = deadline_ms != 0 ? deadline_ms : util_now_ms() + (uint64_t)ctx->opts.timeout_ms;
    saved = spf_dns_enter(&rq);
    e = SPF_request_query_mailfrom(req, &resp);
    spf_dns_leave(&rq, saved);
    det->dns_terms = rq.terms;
    det->void_lookups = rq.voids;
    if (rq.forced) {
        det->result = rq.forced_result;
        util_strlcpy(det->reason, rq.forced_reason, sizeof(det->reason));
    } else {
        det->adapter_override = 0;
        det->result = spf_map(resp, e, rq.dns_error);
        spf_describe(det, resp, e);
    }
    if (resp != NULL)
        SPF_response_free(resp);
    SPF_request_free(req);
    return det->result;
}

/* spf_check_ips - spf_check for each egress address; the worst result and its detail */
spf_result
spf_check_ips(spf_ctx *ctx, const char *const *ips, size_t n, const char *sender_domain,
              const char *mail_from, const char *helo, uint64_t deadline_ms, spf_detail *detail_r)
{
    spf_detail worst, cur;
    spf_result wr = SPF_R_NONE;

    memset(&worst, 0, sizeof(worst));
    worst.result = SPF_R_NONE;
    util_strlcpy(worst.reason, "no egress addresses", sizeof(worst.reason));
    for (size_t i = 0; i < n; i++) {
        spf_result r = spf_check(ctx, ips[i], sender_domain, mail_from, helo, deadline_ms, &cur);
        if (i == 0 || spf_result_rank(r) > spf_result_rank(wr)) {
            wr = r;
            worst = cur;
        }
    }
    if (detail_r != NULL)
        *detail_r = worst;
    return wr;
}

static const char *const spf_names[] = {"none",     "neutral",   "pass",     "fail",
                                        "softfail", "temperror", "permerror"};

/* spf_result_name - "pass", "fail", ... (RFC 7208 names) */
const char *
spf_result_name(spf_result r)
{
    return (unsigned)r < SM_ARRAY_LEN(spf_names) ? spf_names[r] : "invalid";
}

/* spf_result_parse - name to result; -1 when unknown (accepts "unknown"/"error" aliases) */
int
spf_result_parse(const char *name)
{
    if (name == NULL)
        return -1;
    for (size_t i = 0; i < SM_ARRAY_LEN(spf_names); i++)
        if (strcasecmp(name, spf_names[i]) == 0)
            return (int)i;
    if (strcasecmp(name, "unknown") == 0)
        return SPF_R_PERMERROR;
    if (strcasecmp(name, "error") == 0)
        return SPF_R_TEMPERROR;
    return -1;
}

/* spf_result_rank - badness order: pass < neutral < none < softfail < temperror < permerror < fail
 */
int
spf_result_rank(spf_result r)
{
    static const int rank[] = {
        [SPF_R_PASS] = 0,      [SPF_R_NEUTRAL] = 1,   [SPF_R_NONE] = 2, [SPF_R_SOFTFAIL] = 3,
        [SPF_R_TEMPERROR] = 4, [SPF_R_PERMERROR] = 5, [SPF_R_FAIL] = 6};
    return (unsigned)r < SM_ARRAY_LEN(rank) ? rank[r] : 6;
}
