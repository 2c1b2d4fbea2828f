/*
 * spf.c - RFC 7208 SPF evaluation over libspf2, with the adapter checks
 *
 * libspf2 1.2.10 evaluates records, expands macros and walks include and
 * redirect; this file puts an SPF_dns_server_t layer on top of its DNS stack
 * that fixes what libspf2 gets wrong (measured in docs/SPF.md):
 *
 *  - get_spf hook: every record (top level, include, redirect) is fetched
 *    here over TXT only, exactly one "v=spf1" record is required, the record
 *    is checked strictly (spf_syntax_parse: libspf2 compiles many invalid
 *    records) and rewritten (spf_syntax_rewrite: libspf2 refuses CIDR /0,
 *    modifier names with '.', '-', '_', and a redirect next to "all") before
 *    SPF_record_compile() sees it.
 *  - lookup hook, lookup limits: libspf2 counts DNS mechanisms loosely and
 *    not void lookups at all.  Here each A/AAAA/MX/PTR query that starts a
 *    term is counted per request (thread-local state set by spf_check); the
 *    A/AAAA queries for the names an MX or PTR answer returned are
 *    recognised as follow-ups (they must come in answer order) and not
 *    counted; include/redirect are counted in get_spf.  A PTR query counts
 *    only while the records fetched so far hold an unpaid ptr mechanism, so
 *    the lookups of a %{p} macro are not taken for terms.  Exceeding a limit
 *    makes the lookup answer TRY_AGAIN so libspf2 stops, and the result is
 *    overridden to permerror.  More than 10 MX names is permerror; PTR
 *    answers are cut to 10 names (RFC 7208 4.6.4: the rest are ignored).
 *  - lookup hook, names: names over 253 octets are left-truncated
 *    (RFC 7208 7.3); a name with an empty label or a label over 63 octets
 *    is answered NXDOMAIN without asking DNS.
 *  - lookup hook, explanations: every TXT lookup reaching this layer is an
 *    exp= fetch (records come through get_spf).  Several records, non-ASCII
 *    bytes or an invalid macro make it NO_DATA (default explanation, as RFC
 *    7208 6.2 asks).  Otherwise the adapter expands the macros itself
 *    (spf_syntax_expand: libspf2 writes URL escapes and IPv6 nibbles in
 *    lower case and turns each literal space into '%') and hands libspf2 a
 *    quoted literal that its own expansion leaves unchanged.
 *  - probe names: spf_syntax_rewrite turns a/0 and mx/0 into exists: on a
 *    name ending in SPF_SYNTAX_PROBE_*, answered here (127.0.0.2 when the
 *    domain, or one of its MX hosts, has an address of the client family).
 *  - result mapping: SPF_RESULT_INVALID is temperror when a DNS error was
 *    seen, else permerror; ::ffff:a.b.c.d clients are evaluated as IPv4;
 *    malformed identities give none.
 *
 * What libspf2 cannot be made to do from outside: see the deviations in
 * tests/unit/test_spf_suite.c (uppercase macro escapes, NUL bytes in TXT).
 */
#include <netinet/in.h>
#include <arpa/inet.h>
#include <ctype.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <spf2/spf.h>
#include <spf2/spf_dns.h>
#include <spf2/spf_dns_cache.h>
#include <spf2/spf_dns_resolv.h>

#include "spf.h"
#include "spf_syntax.h"
#include "util.h"

#define SPF_MAX_FOLLOW 10
#define SPF_NAME_MAX 1100

struct spf_ctx {
    SPF_server_t *server;
    SPF_dns_server_t *layer; /* ours, the top of the stack */
    spf_opts opts;
};

/* per-request state, reached through a thread-local pointer by the DNS hooks */
typedef struct spf_req {
    spf_ctx *ctx;
    SPF_request_t *req;
    int in_exp; /* expanding an explanation: lookups are not counted */
    int af;
    int terms, voids, fetches;
    int ptr_mechs, ptr_counted; /* ptr mechanisms in the records fetched / PTR terms counted */
    int dns_error;
    char *follow[SPF_MAX_FOLLOW];
    size_t nfollow, ifollow;
    int forced;
    spf_result forced_result;
    char forced_reason[200];
    uint64_t deadline;
} spf_req;

static __thread spf_req *spf_cur;

static void spf_quiet(const char *file SM_UNUSED, int line SM_UNUSED, const char *msg SM_UNUSED)
{
}

/* the first forced result wins: it happened first in evaluation order */
static void spf_force(spf_req *rq, spf_result r, const char *why)
{
    if (rq == NULL || rq->forced)
        return;
    rq->forced = 1;
    rq->forced_result = r;
    util_strlcpy(rq->forced_reason, why, sizeof(rq->forced_reason));
}

static void spf_follow_reset(spf_req *rq)
{
    for (size_t i = 0; i < rq->nfollow; i++)
        rq->follow[i] = util_free(rq->follow[i]);
    rq->nfollow = rq->ifollow = 0;
}

static int spf_name_eq(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 0 && a[la - 1] == '.')
        la--;
    if (lb > 0 && b[lb - 1] == '.')
        lb--;
    return la == lb && strncasecmp(a, b, la) == 0;
}

/* prepare a query name: -1 if malformed (empty or > 63 octet label), else 0 with out set */
static int spf_name_prepare(const char *in, char *out, size_t outlen)
{
    size_t len = strlen(in), lab = 0;
    const char *p = in;

    if (len > 0 && in[len - 1] == '.')
        len--;
    if (len == 0 || len >= outlen)
        return -1;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || in[i] == '.') {
            if (lab == 0 || lab > 63)
                return -1;
            lab = 0;
        } else {
            lab++;
        }
    }
    while (len - (size_t)(p - in) > 253) { /* RFC 7208 7.3: drop labels on the left */
        const char *dot = memchr(p, '.', len - (size_t)(p - in));
        if (dot == NULL)
            return -1;
        p = dot + 1;
    }
    memcpy(out, p, len - (size_t)(p - in));
    out[len - (size_t)(p - in)] = '\0';
    return 0;
}

static SPF_dns_rr_t *spf_rr_status(SPF_dns_server_t *d, const char *name, ns_type t, int herrno)
{
    return SPF_dns_rr_new_init(d, name, t, 0, herrno);
}

static int spf_rr_empty(const SPF_dns_rr_t *rr)
{
    return rr->herrno == HOST_NOT_FOUND || rr->herrno == NO_DATA ||
           (rr->herrno == NETDB_SUCCESS && rr->num_rr <= 0);
}

/* count one DNS-querying term; -1 (and permerror forced) when over the limit */
static int spf_count_term(spf_req *rq)
{
    if (++rq->terms > rq->ctx->opts.max_dns_mechanisms) {
        spf_force(rq, SPF_R_PERMERROR, "more than the allowed DNS-querying terms");
        return -1;
    }
    return 0;
}

/* count a void answer; -1 (and permerror forced) when over the limit */
static int spf_count_void(spf_req *rq, const SPF_dns_rr_t *rr)
{
    if (!spf_rr_empty(rr))
        return 0;
    if (++rq->voids > rq->ctx->opts.max_void_lookups) {
        spf_force(rq, SPF_R_PERMERROR, "more than the allowed void lookups");
        return -1;
    }
    return 0;
}

/* remember the names an MX or PTR answer returned (their address lookups follow) */
static void spf_follow_set(spf_req *rq, const SPF_dns_rr_t *rr)
{
    spf_follow_reset(rq);
    if (rr->herrno != NETDB_SUCCESS)
        return;
    for (int i = 0; i < rr->num_rr && rq->nfollow < SPF_MAX_FOLLOW; i++)
        rq->follow[rq->nfollow++] =
            xstrdup(rr->rr_type == ns_t_mx ? rr->rr[i]->mx : rr->rr[i]->ptr);
}

/* answer a probe name (see spf_syntax.h): 127.0.0.2 when the family has an address */
static SPF_dns_rr_t *spf_probe(SPF_dns_server_t *d, spf_req *rq, const char *qname,
                               const char *target, int mx, ns_type at)
{
    SPF_dns_rr_t *rr, *a;
    int found = 0, tempfail = 0;

    if (!mx) {
        rr = SPF_dns_lookup(d->layer_below, target, at, 1);
        found = rr->herrno == NETDB_SUCCESS && rr->num_rr > 0;
        tempfail = rr->herrno == TRY_AGAIN;
    } else {
        rr = SPF_dns_lookup(d->layer_below, target, ns_t_mx, 1);
        tempfail = rr->herrno == TRY_AGAIN;
        if (rr->herrno == NETDB_SUCCESS && rr->num_rr > SPF_MAX_FOLLOW) {
            spf_force(rq, SPF_R_PERMERROR, "more than 10 MX names");
            tempfail = 1;
        }
        for (int i = 0; !tempfail && !found && rr->herrno == NETDB_SUCCESS && i < rr->num_rr; i++) {
            a = SPF_dns_lookup(d->layer_below, rr->rr[i]->mx, at, 1);
            found = a->herrno == NETDB_SUCCESS && a->num_rr > 0;
            tempfail = a->herrno == TRY_AGAIN;
            SPF_dns_rr_free(a);
        }
    }
    if (!tempfail && spf_count_void(rq, rr) < 0)
        tempfail = 1;
    SPF_dns_rr_free(rr);
    if (tempfail)
        return spf_rr_status(d, qname, ns_t_a, TRY_AGAIN);
    if (!found)
        return spf_rr_status(d, qname, ns_t_a, HOST_NOT_FOUND);
    rr = spf_rr_status(d, qname, ns_t_a, NETDB_SUCCESS);
    if (SPF_dns_rr_buf_realloc(rr, 0, sizeof(struct in_addr)) != SPF_E_SUCCESS) {
        SPF_dns_rr_free(rr);
        return spf_rr_status(d, qname, ns_t_a, TRY_AGAIN);
    }
    rr->rr[0]->a.s_addr = htonl(0x7f000002);
    rr->num_rr = 1;
    return rr;
}

/* a probe suffix at the end of name: sets *mx and *at, returns the target length or -1 */
static long spf_probe_match(const char *name, int *mx, ns_type *at)
{
    static const struct {
        const char *sfx;
        int mx;
        ns_type at;
    } probes[] = {{SPF_SYNTAX_PROBE_A4, 0, ns_t_a},
                  {SPF_SYNTAX_PROBE_A6, 0, ns_t_aaaa},
                  {SPF_SYNTAX_PROBE_MX4, 1, ns_t_a},
                  {SPF_SYNTAX_PROBE_MX6, 1, ns_t_aaaa}};
    size_t len = strlen(name);

    for (size_t i = 0; i < SM_ARRAY_LEN(probes); i++) {
        size_t sl = strlen(probes[i].sfx);
        if (len > sl && strcasecmp(name + len - sl, probes[i].sfx) == 0) {
            *mx = probes[i].mx;
            *at = probes[i].at;
            return (long)(len - sl);
        }
    }
    return -1;
}

/*
 * expand an explanation ourselves (libspf2 writes URL escapes and IPv6
 * nibbles in lower case, and turns literal spaces into '%'), then quote the
 * result as a macro-string ('%' -> "%%", ' ' -> "%_") that libspf2's own
 * expansion turns back into exactly this text.  NULL when invalid.
 */
static char *spf_exp_expand(spf_req *rq, const char *txt)
{
    SPF_request_t *req = rq->req;
    spf_syntax_vars v;
    char ip[80], cip[INET6_ADDRSTRLEN], now[24];
    char *sender, *text, *out;

    memset(&v, 0, sizeof(v));
    spf_syntax_ip_macros(req->client_ver,
                         req->client_ver == AF_INET ? (const void *)&req->ipv4
                                                    : (const void *)&req->ipv6,
                         ip, sizeof(ip), cip, sizeof(cip));
    snprintf(now, sizeof(now), "%ld", (long)time(NULL));
    sender = xasprintf("%s@%s", req->env_from_lp ? req->env_from_lp : "postmaster",
                       req->env_from_dp ? req->env_from_dp : "");
    v.s = sender;
    v.l = req->env_from_lp;
    v.o = req->env_from_dp;
    v.d = req->cur_dom;
    v.i = ip;
    v.c = cip;
    v.h = req->helo_dom;
    v.r = "unknown";
    v.t = now;
    v.v = req->client_ver == AF_INET ? "in-addr" : "ip6";
    if (strstr(txt, "{p") != NULL || strstr(txt, "{P") != NULL) {
        rq->in_exp = 1;
        v.p = SPF_request_get_client_dom(req);
        rq->in_exp = 0;
    }
    text = spf_syntax_expand(txt, strlen(txt), 1, &v);
    free(sender);
    if (text == NULL)
        return NULL;
    out = spf_syntax_quote(text);
    free(text);
    return out;
}

/* an exp= TXT fetch: NO_DATA unless exactly one valid explanation, which we expand */
static SPF_dns_rr_t *spf_exp_fetch(SPF_dns_server_t *d, spf_req *rq, const char *name)
{
    SPF_dns_rr_t *rr = SPF_dns_lookup(d->layer_below, name, ns_t_txt, 1);
    const char *txt;
    char *out;
    size_t olen;

    if (rr->herrno != NETDB_SUCCESS || rr->num_rr <= 0)
        return rr;
    txt = rr->rr[0]->txt;
    if (rr->num_rr != 1 || spf_syntax_macro_string(txt, strlen(txt), 1, NULL, 0) < 0 ||
        rq == NULL || rq->req == NULL || (out = spf_exp_expand(rq, txt)) == NULL) {
        SPF_dns_rr_free(rr);
        return spf_rr_status(d, name, ns_t_txt, NO_DATA);
    }
    olen = strlen(out) + 1;
    if (SPF_dns_rr_buf_realloc(rr, 0, olen) == SPF_E_SUCCESS)
        memcpy(rr->rr[0]->txt, out, olen);
    free(out);
    return rr;
}

/* an A/AAAA/MX/PTR query from libspf2's interpreter, counted per RFC 7208 4.6.4 */
static SPF_dns_rr_t *spf_term_lookup(SPF_dns_server_t *d, spf_req *rq, const char *name,
                                     ns_type t, int should_cache)
{
    SPF_dns_rr_t *rr;
    ns_type at;
    int mx;
    long tl;

    if ((t == ns_t_a || t == ns_t_aaaa) && rq->ifollow < rq->nfollow &&
        spf_name_eq(name, rq->follow[rq->ifollow])) {
        rq->ifollow++;
        return SPF_dns_lookup(d->layer_below, name, t, should_cache);
    }
    spf_follow_reset(rq);
    if (t == ns_t_ptr && rq->ptr_counted >= rq->ptr_mechs) {
        /* a %{p} macro's lookup (no ptr mechanism left to pay for it): not a term */
        rr = SPF_dns_lookup(d->layer_below, name, t, should_cache);
        spf_follow_set(rq, rr);
        return rr;
    }
    if (t == ns_t_ptr)
        rq->ptr_counted++;
    if (spf_count_term(rq) < 0)
        return spf_rr_status(d, name, t, TRY_AGAIN);
    if (t == ns_t_a && (tl = spf_probe_match(name, &mx, &at)) >= 0) {
        char target[SPF_NAME_MAX];
        memcpy(target, name, (size_t)tl);
        target[tl] = '\0';
        if (spf_name_prepare(target, target, sizeof(target)) < 0)
            return spf_rr_status(d, name, t, HOST_NOT_FOUND);
        return spf_probe(d, rq, name, target, mx, at);
    }
    rr = SPF_dns_lookup(d->layer_below, name, t, should_cache);
    if (rr->herrno == TRY_AGAIN)
        return rr;
    if (spf_count_void(rq, rr) < 0) {
        SPF_dns_rr_free(rr);
        return spf_rr_status(d, name, t, TRY_AGAIN);
    }
    if (t == ns_t_mx && rr->herrno == NETDB_SUCCESS && rr->num_rr > SPF_MAX_FOLLOW) {
        spf_force(rq, SPF_R_PERMERROR, "more than 10 MX names");
        SPF_dns_rr_free(rr);
        return spf_rr_status(d, name, t, TRY_AGAIN);
    }
    if (t == ns_t_ptr && rr->herrno == NETDB_SUCCESS && rr->num_rr > SPF_MAX_FOLLOW)
        rr->num_rr = SPF_MAX_FOLLOW; /* the rest are ignored; buffers stay owned */
    if (t == ns_t_mx || t == ns_t_ptr)
        spf_follow_set(rq, rr);
    return rr;
}

/* a malformed query name: NXDOMAIN, still counted as a term and a void lookup */
static SPF_dns_rr_t *spf_bad_name(SPF_dns_server_t *d, spf_req *rq, const char *domain,
                                  ns_type t)
{
    SPF_dns_rr_t *rr = spf_rr_status(d, domain, t, HOST_NOT_FOUND);

    if (rq == NULL || rq->in_exp || (t != ns_t_a && t != ns_t_aaaa && t != ns_t_mx))
        return rr;
    if (rq->ifollow < rq->nfollow && spf_name_eq(domain, rq->follow[rq->ifollow])) {
        rq->ifollow++;
        return rr;
    }
    spf_follow_reset(rq);
    if (spf_count_term(rq) < 0 || spf_count_void(rq, rr) < 0) {
        SPF_dns_rr_free(rr);
        return spf_rr_status(d, domain, t, TRY_AGAIN);
    }
    return rr;
}

/* the lookup hook of our layer */
static SPF_dns_rr_t *spf_layer_lookup(SPF_dns_server_t *d, const char *domain, ns_type t,
                                      int should_cache)
{
    spf_req *rq = spf_cur;
    char name[SPF_NAME_MAX];
    SPF_dns_rr_t *rr;

    if (spf_name_prepare(domain, name, sizeof(name)) < 0)
        return spf_bad_name(d, rq, domain, t);
    if (rq != NULL && rq->deadline != 0 && util_now_ms() >= rq->deadline) {
        rq->dns_error = 1;
        return spf_rr_status(d, name, t, TRY_AGAIN);
    }
    if (t == ns_t_txt || t == ns_t_spf)
        rr = spf_exp_fetch(d, rq, name);
    else if (rq != NULL && !rq->in_exp && rq->ctx->layer == d &&
             (t == ns_t_a || t == ns_t_aaaa || t == ns_t_mx || t == ns_t_ptr))
        rr = spf_term_lookup(d, rq, name, t, should_cache);
    else
        rr = SPF_dns_lookup(d->layer_below, name, t, should_cache);
    if (rq != NULL && rr->herrno == TRY_AGAIN)
        rq->dns_error = 1;
    return rr;
}

/* select the single v=spf1 record of an answer; -1 none, -2 several, else its index */
static int spf_select(const SPF_dns_rr_t *rr)
{
    int idx = -1;

    if (rr->herrno != NETDB_SUCCESS)
        return -1;
    for (int i = 0; i < rr->num_rr; i++) {
        if (spf_syntax_is_spf1(rr->rr[i]->txt, strlen(rr->rr[i]->txt))) {
            if (idx >= 0)
                return -2;
            idx = i;
        }
    }
    return idx;
}

/* get_spf hook: fetch, check, rewrite and compile the record of spf_request->cur_dom */
static SPF_errcode_t spf_layer_get_spf(SPF_server_t *server, SPF_request_t *req,
                                       SPF_response_t *resp, SPF_record_t **recp)
{
    spf_req *rq = spf_cur;
    SPF_dns_server_t *d = server->resolver;
    char name[SPF_NAME_MAX], why[200];
    SPF_dns_rr_t *rr;
    spf_syntax_rec *parsed;
    char *text;
    int top, idx;
    SPF_errcode_t e;

    *recp = NULL;
    top = rq == NULL || rq->fetches++ == 0;
    if (!top && spf_count_term(rq) < 0)
        return SPF_response_add_error(resp, SPF_E_BIG_DNS, "DNS lookup limit");
    if (spf_name_prepare(req->cur_dom, name, sizeof(name)) < 0) {
        if (top)
            spf_force(rq, SPF_R_NONE, "malformed domain name");
        return SPF_response_add_error(resp, SPF_E_NOT_SPF, "malformed domain name");
    }
    if (rq != NULL && rq->deadline != 0 && util_now_ms() >= rq->deadline) {
        rq->dns_error = 1;
        return SPF_response_add_error(resp, SPF_E_DNS_ERROR, "deadline passed");
    }
    rr = SPF_dns_lookup(d->layer_below, name, ns_t_txt, 1);
    if (rr->herrno != NETDB_SUCCESS && rr->herrno != HOST_NOT_FOUND && rr->herrno != NO_DATA) {
        SPF_dns_rr_free(rr);
        if (rq != NULL)
            rq->dns_error = 1;
        return SPF_response_add_error(resp, SPF_E_DNS_ERROR, "DNS error fetching SPF record");
    }
    idx = spf_select(rr);
    if (idx < 0) {
        SPF_dns_rr_free(rr);
        if (idx == -2) {
            spf_force(rq, SPF_R_PERMERROR, "more than one v=spf1 record");
            return SPF_response_add_error(resp, SPF_E_MULTIPLE_RECORDS, "multiple records");
        }
        if (top)
            spf_force(rq, SPF_R_NONE, "no SPF record");
        return SPF_response_add_error(resp, SPF_E_NOT_SPF, "no SPF record");
    }
    parsed = spf_syntax_parse(rr->rr[idx]->txt, strlen(rr->rr[idx]->txt), why, sizeof(why));
    SPF_dns_rr_free(rr);
    if (parsed == NULL) {
        char msg[260];
        snprintf(msg, sizeof(msg), "invalid SPF record: %s", why);
        spf_force(rq, SPF_R_PERMERROR, msg);
        return SPF_response_add_error(resp, SPF_E_SYNTAX, "invalid SPF record");
    }
    for (size_t i = 0; rq != NULL && i < parsed->n; i++)
        rq->ptr_mechs += parsed->t[i].kind == SPF_TERM_PTR;
    text = spf_syntax_rewrite(parsed, rq != NULL ? rq->af : req->client_ver);
    spf_syntax_free(parsed);
    e = SPF_record_compile(server, resp, recp, text);
    free(text);
    if (e != SPF_E_SUCCESS) {
        spf_force(rq, SPF_R_PERMERROR, "libspf2 could not compile the record");
        return SPF_response_add_error(resp, e, "compile failed");
    }
    return SPF_E_SUCCESS;
}

static void spf_layer_destroy(SPF_dns_server_t *d)
{
    free(d);
}

/* spf_opts_defaults - fill opts with the defaults above */
void spf_opts_defaults(spf_opts *opts)
{
    memset(opts, 0, sizeof(*opts));
    opts->timeout_ms = 5000;
    opts->max_dns_mechanisms = 10;
    opts->max_void_lookups = 2;
    opts->use_system_resolver = 1;
    opts->cache_bits = 12;
}

static void spf_quiet_once(void)
{
    SPF_warning_handler = spf_quiet;
    SPF_info_handler = spf_quiet;
    SPF_debug_handler = spf_quiet;
}

/* spf_ctx_new_dns - a context over the caller's libspf2 DNS layer; owns 'below' */
spf_ctx *spf_ctx_new_dns(const spf_opts *opts, struct SPF_dns_server_struct *below, char *err,
                         size_t errlen)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    spf_ctx *ctx;
    SPF_response_t *resp = NULL;

    if (below == NULL) {
        util_errf(err, errlen, "spf: no DNS layer");
        return NULL;
    }
    pthread_once(&once, spf_quiet_once);
    ctx = xcalloc(1, sizeof(*ctx));
    if (opts != NULL)
        ctx->opts = *opts;
    else
        spf_opts_defaults(&ctx->opts);
    ctx->layer = xcalloc(1, sizeof(*ctx->layer));
    ctx->layer->destroy = spf_layer_destroy;
    ctx->layer->lookup = spf_layer_lookup;
    ctx->layer->get_spf = spf_layer_get_spf;
    ctx->layer->layer_below = below;
    ctx->layer->name = "ses-milter";
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

/* spf_ctx_new - a context over the system resolver (opts NULL: defaults); NULL + err on failure */
spf_ctx *spf_ctx_new(const spf_opts *opts, char *err, size_t errlen)
{
    SPF_dns_server_t *resolv, *cache;
    long bits = opts != NULL ? opts->cache_bits : 12;

    if (opts != NULL && !opts->use_system_resolver) {
        util_errf(err, errlen, "spf: no resolver configured (use_system_resolver is off)");
        return NULL;
    }
    if (bits < 1 || bits > 16)
        bits = 12;
    resolv = SPF_dns_resolv_new(NULL, NULL, 0);
    if (resolv == NULL) {
        util_errf(err, errlen, "spf: cannot initialise the resolver");
        return NULL;
    }
    cache = SPF_dns_cache_new(resolv, NULL, 0, (int)bits);
    if (cache == NULL) {
        SPF_dns_free(resolv);
        util_errf(err, errlen, "spf: cannot create the DNS cache");
        return NULL;
    }
    return spf_ctx_new_dns(opts, cache, err, errlen);
}

/* spf_ctx_free - returns NULL */
spf_ctx *spf_ctx_free(spf_ctx *ctx)
{
    if (ctx == NULL)
        return NULL;
    if (ctx->server != NULL)
        SPF_server_free(ctx->server); /* does not free a resolver given to _new_dns */
    if (ctx->layer != NULL)
        SPF_dns_free(ctx->layer); /* ours, then every layer below */
    free(ctx);
    return NULL;
}

/* a check_host() identity domain: multi-label, no empty or long label, no literal */
static int spf_identity_ok(const char *d)
{
    char buf[SPF_NAME_MAX];
    size_t len;

    if (d == NULL || d[0] == '\0' || d[0] == '[')
        return 0;
    for (const char *p = d; *p != '\0'; p++)
        if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e || *p == '@')
            return 0;
    len = strlen(d);
    if (len > 253 + 1 || spf_name_prepare(d, buf, sizeof(buf)) < 0)
        return 0;
    return strchr(buf, '.') != NULL;
}

/* parse the client address; AF_INET for IPv4 and ::ffff:a.b.c.d, AF_INET6, or -1 */
static int spf_parse_ip(const char *ip, struct in_addr *a4, struct in6_addr *a6)
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

static int spf_is_loopback(int af, const struct in_addr *a4, const struct in6_addr *a6)
{
    if (af == AF_INET)
        return (ntohl(a4->s_addr) >> 24) == 127;
    return IN6_IS_ADDR_LOOPBACK(a6);
}

/* spf_ip_usable - 0 if ip can be evaluated (not loopback, unspecified or malformed), else -1 + err */
int spf_ip_usable(const char *ip, char *err, size_t errlen)
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
static spf_result spf_map(SPF_response_t *resp, SPF_errcode_t e, int dns_error)
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
static void spf_describe(spf_detail *det, SPF_response_t *resp, SPF_errcode_t e)
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
static SPF_request_t *spf_request(spf_ctx *ctx, int af, const struct in_addr *a4,
                                  const struct in6_addr *a6, const char *domain,
                                  const char *mail_from, const char *helo)
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
spf_result spf_check(spf_ctx *ctx, const char *ip, const char *sender_domain,
                     const char *mail_from, const char *helo, uint64_t deadline_ms,
                     spf_detail *detail_r)
{
    spf_detail tmp;
    spf_detail *det = detail_r != NULL ? detail_r : &tmp;
    struct in_addr a4;
    struct in6_addr a6;
    SPF_request_t *req;
    SPF_response_t *resp = NULL;
    SPF_errcode_t e;
    spf_req rq, *saved;
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
    rq.ctx = ctx;
    rq.req = req;
    rq.af = af;
    rq.deadline = deadline_ms != 0 ? deadline_ms : util_now_ms() + (uint64_t)ctx->opts.timeout_ms;
    saved = spf_cur;
    spf_cur = &rq;
    e = SPF_request_query_mailfrom(req, &resp);
    spf_cur = saved;
    spf_follow_reset(&rq);
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
spf_result spf_check_ips(spf_ctx *ctx, const char *const *ips, size_t n,
                         const char *sender_domain, const char *mail_from, const char *helo,
                         uint64_t deadline_ms, spf_detail *detail_r)
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
const char *spf_result_name(spf_result r)
{
    return (unsigned)r < SM_ARRAY_LEN(spf_names) ? spf_names[r] : "invalid";
}

/* spf_result_parse - name to result; -1 when unknown (accepts "unknown"/"error" aliases) */
int spf_result_parse(const char *name)
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

/* spf_result_rank - badness order: pass < neutral < none < softfail < temperror < permerror < fail */
int spf_result_rank(spf_result r)
{
    static const int rank[] = {[SPF_R_PASS] = 0,     [SPF_R_NEUTRAL] = 1,   [SPF_R_NONE] = 2,
                               [SPF_R_SOFTFAIL] = 3, [SPF_R_TEMPERROR] = 4, [SPF_R_PERMERROR] = 5,
                               [SPF_R_FAIL] = 6};
    return (unsigned)r < SM_ARRAY_LEN(rank) ? rank[r] : 6;
}
