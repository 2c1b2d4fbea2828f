/*
 * spf_dns.c - the adapter's libspf2 DNS layers: record fetch, limits, probes; lib/dns.c below
 *
 * Two SPF_dns_server_t layers (see spf.c for the stack and for why):
 *
 *  - the bottom one (spf_dns_lib_new) asks lib/dns.c for every record
 *    libspf2 or the adapter wants: one resolver layer for the whole mail
 *    path, with its cache (positive and negative answers, TTLs), its metrics
 *    observer, and the check's absolute deadline (spf_dns_req.deadline)
 *    handed to every query, so a silent server costs at most the deadline,
 *    never resolv.conf's timeouts.  libspf2's own cache and resolv layers
 *    are not used.
 *  - the adapter layer on top (spf_dns_layer_new), described below.
 *
 * The adapter layer is placed on top of the stack.  Its hooks reach the state of the check in
 * progress through a thread-local pointer (spf_dns_enter/spf_dns_leave), so
 * one layer serves any number of threads, each counting its own lookups.
 *
 *  - get_spf hook: every record (top level, include, redirect) is fetched
 *    here over TXT only, exactly one "v=spf1" record is required, the record
 *    is checked strictly (spf_syntax_parse: libspf2 compiles many invalid
 *    records) and rewritten (spf_syntax_rewrite: libspf2 refuses CIDR /0,
 *    modifier names with '.', '-', '_', and a redirect next to "all") before
 *    SPF_record_compile() sees it.
 *  - lookup hook, limits (RFC 7208 4.6.4): libspf2 counts DNS mechanisms
 *    loosely and void lookups not at all.  Each A/AAAA/MX/PTR query that
 *    starts a term is counted; A/AAAA queries for the names an MX or PTR
 *    answer returned are follow-ups (they come in answer order) and are not;
 *    include/redirect are counted in get_spf.  A PTR query counts only while
 *    the records fetched hold an unpaid ptr mechanism, so the lookups of a
 *    %{p} macro are not taken for terms.  Exceeding a limit answers
 *    TRY_AGAIN so libspf2 stops, and the check is forced to permerror.  More
 *    than 10 MX names is permerror; PTR answers are cut to 10 names.
 *  - lookup hook, names: names over 253 octets are left-truncated (RFC 7208
 *    7.3); a name with an empty label or a label over 63 octets is answered
 *    NXDOMAIN without asking DNS (and still counts as a term/void lookup).
 *  - lookup hook, explanations: every TXT lookup reaching this layer is an
 *    exp= fetch (records come through get_spf).  Several records, non-ASCII
 *    bytes or an invalid macro make it NO_DATA (default explanation, RFC 7208
 *    6.2).  Otherwise the macros are expanded here (spf_syntax_expand:
 *    libspf2 writes URL escapes and IPv6 nibbles in lower case and turns
 *    each literal space into '%') and libspf2 gets a quoted literal that its
 *    own expansion leaves unchanged.
 *  - get_spf hook, macros: the domain-spec of every include, a, mx, ptr,
 *    exists, redirect and exp is expanded here (spf_syntax_expand_terms:
 *    libspf2 mangles a digit transformer that is at least the number of
 *    parts, "%{d2}" of example.com giving "xample.com", and refuses the ','
 *    and '/' delimiters), with d = the domain whose record this is; libspf2
 *    then sees literal names.  A %{p} is resolved once, when its record is
 *    fetched, by libspf2's own PTR validation; its lookups are not terms.
 *  - probe names: spf_syntax_rewrite turns a/0 and mx/0 into exists: on a
 *    name ending in SPF_SYNTAX_PROBE_*, answered here with 127.0.0.2 when the
 *    domain (or one of its MX hosts) has an address of the client family.
 */
#include <netinet/in.h>
#include <arpa/inet.h>
#include <limits.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "auth/spf_dns.h"
#include "auth/spf_syntax.h"
#include "lib/dns.h"
#include "lib/util.h"

#define SPF_NAME_MAX 1100

static __thread spf_dns_req *spf_dns_cur;

/* the first forced result wins: it happened first in evaluation order */
static void
spf_dns_force(spf_dns_req *rq, spf_result r, const char *why)
{
    if (rq == NULL || rq->forced)
        return;
    rq->forced = 1;
    rq->forced_result = r;
    util_strlcpy(rq->forced_reason, why, sizeof(rq->forced_reason));
}

static void
spf_dns_follow_reset(spf_dns_req *rq)
{
    for (size_t i = 0; i < rq->nfollow; i++)
        rq->follow[i] = util_free(rq->follow[i]);
    rq->nfollow = rq->ifollow = 0;
}

static int
spf_dns_name_eq(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 0 && a[la - 1] == '.')
        la--;
    if (lb > 0 && b[lb - 1] == '.')
        lb--;
    return la == lb && strncasecmp(a, b, la) == 0;
}

/*
 * prepare a query name (RFC 7208 7.3): drop a trailing dot, drop labels on
 * the left until at most 253 octets remain, then refuse an empty label or
 * one over 63 octets (-1).  out may be in; outlen must exceed 253.
 */
int
spf_dns_name_prepare(const char *in, char *out, size_t outlen)
{
    size_t len = strlen(in), lab = 0;
    const char *p = in;

    if (len > 0 && in[len - 1] == '.')
        len--;
    while (len > 253) {
        const char *dot = memchr(p, '.', len);
        if (dot == NULL)
            return -1;
        len -= (size_t)(dot + 1 - p);
        p = dot + 1;
    }
    if (len == 0 || outlen <= 253)
        return -1;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || p[i] == '.') {
            if (lab == 0 || lab > 63)
                return -1;
            lab = 0;
        } else {
            lab++;
        }
    }
    memmove(out, p, len);
    out[len] = '\0';
    return 0;
}

static SPF_dns_rr_t *
spf_dns_rr_status(SPF_dns_server_t *d, const char *name, ns_type t, int herrno)
{
    return SPF_dns_rr_new_init(d, name, t, 0, herrno);
}

static int
spf_dns_rr_empty(const SPF_dns_rr_t *rr)
{
    return rr->herrno == HOST_NOT_FOUND || rr->herrno == NO_DATA ||
           (rr->herrno == NETDB_SUCCESS && rr->num_rr <= 0);
}

/* count one DNS-querying term; -1 (and permerror forced) when over the limit */
static int
spf_dns_count_term(spf_dns_req *rq)
{
    if (++rq->terms > rq->max_terms) {
        spf_dns_force(rq, SPF_R_PERMERROR, "more than the allowed DNS-querying terms");
        return -1;
    }
    return 0;
}

/* count a void answer; -1 (and permerror forced) when over the limit */
static int
spf_dns_count_void(spf_dns_req *rq, const SPF_dns_rr_t *rr)
{
    if (!spf_dns_rr_empty(rr))
        return 0;
    if (++rq->voids > rq->max_voids) {
        spf_dns_force(rq, SPF_R_PERMERROR, "more than the allowed void lookups");
        return -1;
    }
    return 0;
}

/* remember the names an MX or PTR answer returned (their address lookups follow) */
static void
spf_dns_follow_set(spf_dns_req *rq, const SPF_dns_rr_t *rr)
{
    spf_dns_follow_reset(rq);
    if (rr->herrno != NETDB_SUCCESS)
        return;
    for (int i = 0; i < rr->num_rr && rq->nfollow < SPF_DNS_MAX_FOLLOW; i++)
        rq->follow[rq->nfollow++] =
            xstrdup(rr->rr_type == ns_t_mx ? rr->rr[i]->mx : rr->rr[i]->ptr);
}

/* answer a probe name (see spf_syntax.h): 127.0.0.2 when the family has an address */
static SPF_dns_rr_t *
spf_dns_probe(SPF_dns_server_t *d, spf_dns_req *rq, const char *qname, const char *target, int mx,
              ns_type at)
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
        if (rr->herrno == NETDB_SUCCESS && rr->num_rr > SPF_DNS_MAX_FOLLOW) {
            spf_dns_force(rq, SPF_R_PERMERROR, "more than 10 MX names");
            tempfail = 1;
        }
        for (int i = 0; !tempfail && !found && rr->herrno == NETDB_SUCCESS && i < rr->num_rr; i++) {
            char host[SPF_NAME_MAX];
            if (spf_dns_name_prepare(rr->rr[i]->mx, host, sizeof(host)) < 0)
                continue; /* "." or a malformed exchange has no address */
            a = SPF_dns_lookup(d->layer_below, host, at, 1);
            found = a->herrno == NETDB_SUCCESS && a->num_rr > 0;
            tempfail = a->herrno == TRY_AGAIN;
            SPF_dns_rr_free(a);
        }
    }
    if (!tempfail && spf_dns_count_void(rq, rr) < 0)
        tempfail = 1;
    SPF_dns_rr_free(rr);
    if (tempfail)
        return spf_dns_rr_status(d, qname, ns_t_a, TRY_AGAIN);
    if (!found)
        return spf_dns_rr_status(d, qname, ns_t_a, HOST_NOT_FOUND);
    rr = spf_dns_rr_status(d, qname, ns_t_a, NETDB_SUCCESS);
    if (SPF_dns_rr_buf_realloc(rr, 0, sizeof(struct in_addr)) != SPF_E_SUCCESS) {
        SPF_dns_rr_free(rr);
        return spf_dns_rr_status(d, qname, ns_t_a, TRY_AGAIN);
    }
    rr->rr[0]->a.s_addr = htonl(0x7f000002);
    rr->num_rr = 1;
    return rr;
}

/* a probe suffix at the end of name: sets *mx and *at, returns the target length or -1 */
static long
spf_dns_probe_match(const char *name, int *mx, ns_type *at)
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

/* the macro values of a check (RFC 7208 7.3) and the buffers they point into */
typedef struct spf_dns_vals {
    spf_syntax_vars v;
    char ip[80], cip[INET6_ADDRSTRLEN], now[24];
    char *sender;
} spf_dns_vals;

/*
 * fill m from the request; d is the domain being evaluated.  p (a PTR
 * lookup and its validation, by libspf2) only when want_p: its lookups are
 * not terms (RFC 7208 4.6.4), so they pass the counting like an explanation's.
 */
static void
spf_dns_vals_init(spf_dns_vals *m, spf_dns_req *rq, SPF_request_t *req, int want_p)
{
    memset(m, 0, sizeof(*m));
    spf_syntax_ip_macros(req->client_ver,
                         req->client_ver == AF_INET ? (const void *)&req->ipv4
                                                    : (const void *)&req->ipv6,
                         m->ip, sizeof(m->ip), m->cip, sizeof(m->cip));
    snprintf(m->now, sizeof(m->now), "%ld", (long)time(NULL));
    m->sender = xasprintf("%s@%s", req->env_from_lp ? req->env_from_lp : "postmaster",
                          req->env_from_dp ? req->env_from_dp : "");
    m->v.s = m->sender;
    m->v.l = req->env_from_lp ? req->env_from_lp : "postmaster";
    m->v.o = req->env_from_dp;
    m->v.d = req->cur_dom;
    m->v.i = m->ip;
    m->v.c = m->cip;
    m->v.h = req->helo_dom;
    m->v.r = "unknown";
    m->v.t = m->now;
    m->v.v = req->client_ver == AF_INET ? "in-addr" : "ip6";
    if (want_p) {
        int was = rq != NULL ? rq->in_exp : 0;
        if (rq != NULL)
            rq->in_exp = 1;
        m->v.p = SPF_request_get_client_dom(req);
        if (rq != NULL)
            rq->in_exp = was;
    }
}

static void
spf_dns_vals_free(spf_dns_vals *m)
{
    m->sender = util_free(m->sender);
}

/* whether a macro-string uses the p letter */
static int
spf_dns_uses_p(const char *s)
{
    return s != NULL && (strstr(s, "{p") != NULL || strstr(s, "{P") != NULL);
}

/*
 * expand an explanation ourselves (libspf2 writes URL escapes and IPv6
 * nibbles in lower case, and turns literal spaces into '%'), then quote the
 * result as a macro-string ('%' -> "%%", ' ' -> "%_") that libspf2's own
 * expansion turns back into exactly this text.  NULL when invalid.
 */
static char *
spf_dns_exp_expand(spf_dns_req *rq, const char *txt)
{
    spf_dns_vals m;
    char *text, *out;

    spf_dns_vals_init(&m, rq, rq->req, spf_dns_uses_p(txt));
    text = spf_syntax_expand(txt, strlen(txt), 1, &m.v);
    spf_dns_vals_free(&m);
    if (text == NULL)
        return NULL;
    out = spf_syntax_quote(text);
    free(text);
    return out;
}

/*
 * expand the domain-specs of a record fetched for req->cur_dom ourselves
 * (spf_syntax_expand_terms: libspf2 mangles digit transformers); -1 when a
 * macro is invalid (spf_syntax_parse has checked them, so never in practice)
 */
static int
spf_dns_expand_terms(spf_dns_req *rq, SPF_request_t *req, spf_syntax_rec *parsed)
{
    spf_dns_vals m;
    int want_p = 0, rc;

    for (size_t i = 0; i < parsed->n; i++)
        if (parsed->t[i].kind != SPF_TERM_UNKNOWN_MOD && spf_dns_uses_p(parsed->t[i].arg))
            want_p = 1;
    spf_dns_vals_init(&m, rq, req, want_p);
    rc = spf_syntax_expand_terms(parsed, &m.v);
    spf_dns_vals_free(&m);
    return rc;
}

/* an exp= TXT fetch: NO_DATA unless exactly one valid explanation, which we expand */
static SPF_dns_rr_t *
spf_dns_exp_fetch(SPF_dns_server_t *d, spf_dns_req *rq, const char *name)
{
    SPF_dns_rr_t *rr = SPF_dns_lookup(d->layer_below, name, ns_t_txt, 1);
    const char *txt;
    char *out;
    size_t olen;

    if (rr->herrno != NETDB_SUCCESS || rr->num_rr <= 0)
        return rr;
    txt = rr->rr[0]->txt;
    if (rr->num_rr != 1 || spf_syntax_macro_string(txt, strlen(txt), 1, NULL, 0) < 0 ||
        rq == NULL || rq->req == NULL || (out = spf_dns_exp_expand(rq, txt)) == NULL) {
        SPF_dns_rr_free(rr);
        return spf_dns_rr_status(d, name, ns_t_txt, NO_DATA);
    }
    olen = strlen(out) + 1;
    if (SPF_dns_rr_buf_realloc(rr, 0, olen) == SPF_E_SUCCESS)
        memcpy(rr->rr[0]->txt, out, olen);
    free(out);
    return rr;
}

/* an A/AAAA/MX/PTR query from libspf2's interpreter, counted per RFC 7208 4.6.4 */
static SPF_dns_rr_t *
spf_dns_term_lookup(SPF_dns_server_t *d, spf_dns_req *rq, const char *name, ns_type t,
                    int should_cache)
{
    SPF_dns_rr_t *rr;
    ns_type at;
    int mx;
    long tl;

    if ((t == ns_t_a || t == ns_t_aaaa) && rq->ifollow < rq->nfollow &&
        spf_dns_name_eq(name, rq->follow[rq->ifollow])) {
        rq->ifollow++;
        return SPF_dns_lookup(d->layer_below, name, t, should_cache);
    }
    spf_dns_follow_reset(rq);
    if (t == ns_t_ptr && rq->ptr_counted >= rq->ptr_mechs) {
        /* a %{p} macro's lookup (no ptr mechanism left to pay for it): not a term */
        rr = SPF_dns_lookup(d->layer_below, name, t, should_cache);
        spf_dns_follow_set(rq, rr);
        return rr;
    }
    if (t == ns_t_ptr)
        rq->ptr_counted++;
    if (spf_dns_count_term(rq) < 0)
        return spf_dns_rr_status(d, name, t, TRY_AGAIN);
    if (t == ns_t_a && (tl = spf_dns_probe_match(name, &mx, &at)) >= 0) {
        char target[SPF_NAME_MAX];
        memcpy(target, name, (size_t)tl);
        target[tl] = '\0';
        if (spf_dns_name_prepare(target, target, sizeof(target)) < 0)
            return spf_dns_rr_status(d, name, t, HOST_NOT_FOUND);
        return spf_dns_probe(d, rq, name, target, mx, at);
    }
    rr = SPF_dns_lookup(d->layer_below, name, t, should_cache);
    if (rr->herrno == TRY_AGAIN)
        return rr;
    if (spf_dns_count_void(rq, rr) < 0) {
        SPF_dns_rr_free(rr);
        return spf_dns_rr_status(d, name, t, TRY_AGAIN);
    }
    if (t == ns_t_mx && rr->herrno == NETDB_SUCCESS && rr->num_rr > SPF_DNS_MAX_FOLLOW) {
        spf_dns_force(rq, SPF_R_PERMERROR, "more than 10 MX names");
        SPF_dns_rr_free(rr);
        return spf_dns_rr_status(d, name, t, TRY_AGAIN);
    }
    if (t == ns_t_ptr && rr->herrno == NETDB_SUCCESS && rr->num_rr > SPF_DNS_MAX_FOLLOW)
        rr->num_rr = SPF_DNS_MAX_FOLLOW; /* the rest are ignored; buffers stay owned */
    if (t == ns_t_mx || t == ns_t_ptr)
        spf_dns_follow_set(rq, rr);
    return rr;
}

/* a malformed query name: NXDOMAIN, still counted as a term and a void lookup */
static SPF_dns_rr_t *
spf_dns_bad_name(SPF_dns_server_t *d, spf_dns_req *rq, const char *domain, ns_type t)
{
    SPF_dns_rr_t *rr = spf_dns_rr_status(d, domain, t, HOST_NOT_FOUND);

    if (rq == NULL || rq->in_exp || (t != ns_t_a && t != ns_t_aaaa && t != ns_t_mx))
        return rr;
    if (rq->ifollow < rq->nfollow && spf_dns_name_eq(domain, rq->follow[rq->ifollow])) {
        rq->ifollow++;
        return rr;
    }
    spf_dns_follow_reset(rq);
    if (spf_dns_count_term(rq) < 0 || spf_dns_count_void(rq, rr) < 0) {
        SPF_dns_rr_free(rr);
        return spf_dns_rr_status(d, domain, t, TRY_AGAIN);
    }
    return rr;
}

/* the lookup hook of our layer */
static SPF_dns_rr_t *
spf_dns_layer_lookup(SPF_dns_server_t *d, const char *domain, ns_type t, int should_cache)
{
    spf_dns_req *rq = spf_dns_cur;
    char name[SPF_NAME_MAX];
    SPF_dns_rr_t *rr;

    if (spf_dns_name_prepare(domain, name, sizeof(name)) < 0)
        return spf_dns_bad_name(d, rq, domain, t);
    if (rq != NULL && rq->deadline != 0 && util_now_ms() >= rq->deadline) {
        rq->dns_error = 1;
        return spf_dns_rr_status(d, name, t, TRY_AGAIN);
    }
    if (t == ns_t_txt || t == ns_t_spf)
        rr = spf_dns_exp_fetch(d, rq, name);
    else if (rq != NULL && !rq->in_exp && rq->layer == d &&
             (t == ns_t_a || t == ns_t_aaaa || t == ns_t_mx || t == ns_t_ptr))
        rr = spf_dns_term_lookup(d, rq, name, t, should_cache);
    else
        rr = SPF_dns_lookup(d->layer_below, name, t, should_cache);
    if (rq != NULL && rr->herrno == TRY_AGAIN)
        rq->dns_error = 1;
    return rr;
}

/* select the single v=spf1 record of an answer; -1 none, -2 several, else its index */
static int
spf_dns_select(const SPF_dns_rr_t *rr)
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
static SPF_errcode_t
spf_dns_layer_get_spf(SPF_server_t *server, SPF_request_t *req, SPF_response_t *resp,
                      SPF_record_t **recp)
{
    spf_dns_req *rq = spf_dns_cur;
    SPF_dns_server_t *d = server->resolver;
    char name[SPF_NAME_MAX], why[200];
    SPF_dns_rr_t *rr;
    spf_syntax_rec *parsed;
    char *text;
    int top, idx;
    SPF_errcode_t e;

    *recp = NULL;
    top = rq == NULL || rq->fetches++ == 0;
    if (!top && spf_dns_count_term(rq) < 0)
        return SPF_response_add_error(resp, SPF_E_BIG_DNS, "DNS lookup limit");
    if (spf_dns_name_prepare(req->cur_dom, name, sizeof(name)) < 0) {
        if (top)
            spf_dns_force(rq, SPF_R_NONE, "malformed domain name");
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
    idx = spf_dns_select(rr);
    if (idx < 0) {
        SPF_dns_rr_free(rr);
        if (idx == -2) {
            spf_dns_force(rq, SPF_R_PERMERROR, "more than one v=spf1 record");
            return SPF_response_add_error(resp, SPF_E_MULTIPLE_RECORDS, "multiple records");
        }
        if (top)
            spf_dns_force(rq, SPF_R_NONE, "no SPF record");
        return SPF_response_add_error(resp, SPF_E_NOT_SPF, "no SPF record");
    }
    parsed = spf_syntax_parse(rr->rr[idx]->txt, strlen(rr->rr[idx]->txt), why, sizeof(why));
    SPF_dns_rr_free(rr);
    if (parsed == NULL) {
        char msg[260];
        snprintf(msg, sizeof(msg), "invalid SPF record: %s", why);
        spf_dns_force(rq, SPF_R_PERMERROR, msg);
        return SPF_response_add_error(resp, SPF_E_SYNTAX, "invalid SPF record");
    }
    for (size_t i = 0; rq != NULL && i < parsed->n; i++)
        rq->ptr_mechs += parsed->t[i].kind == SPF_TERM_PTR;
    if (spf_dns_expand_terms(rq, req, parsed) < 0) {
        spf_syntax_free(parsed);
        spf_dns_force(rq, SPF_R_PERMERROR, "invalid macro in the SPF record");
        return SPF_response_add_error(resp, SPF_E_SYNTAX, "invalid macro");
    }
    text = spf_syntax_rewrite(parsed, rq != NULL ? rq->af : req->client_ver);
    spf_syntax_free(parsed);
    e = SPF_record_compile(server, resp, recp, text);
    free(text);
    if (e != SPF_E_SUCCESS) {
        spf_dns_force(rq, SPF_R_PERMERROR, "libspf2 could not compile the record");
        return SPF_response_add_error(resp, e, "compile failed");
    }
    return SPF_E_SUCCESS;
}

static void
spf_dns_layer_destroy(SPF_dns_server_t *d)
{
    free(d);
}

/* spf_dns_layer_new - our layer on top of below (NULL when below is NULL) */
SPF_dns_server_t *
spf_dns_layer_new(SPF_dns_server_t *below)
{
    SPF_dns_server_t *d;

    if (below == NULL)
        return NULL;
    d = xcalloc(1, sizeof(*d));
    d->destroy = spf_dns_layer_destroy;
    d->lookup = spf_dns_layer_lookup;
    d->get_spf = spf_dns_layer_get_spf;
    d->layer_below = below;
    d->name = "ses-milter";
    return d;
}

/* spf_dns_enter - make rq the state of this thread's check; returns the previous one */
spf_dns_req *
spf_dns_enter(spf_dns_req *rq)
{
    spf_dns_req *prev = spf_dns_cur;
    spf_dns_cur = rq;
    return prev;
}

/* spf_dns_leave - restore prev and release what rq collected */
void
spf_dns_leave(spf_dns_req *rq, spf_dns_req *prev)
{
    spf_dns_cur = prev;
    spf_dns_follow_reset(rq);
}

/* spf_dns_lib_rr - one record of a dns_lookup_rr() answer into rr at index i; -1 when unusable */
static int
spf_dns_lib_rr(SPF_dns_rr_t *rr, int i, ns_type t, const char *data, size_t len)
{
    size_t need = len + 1;

    if (t == ns_t_a || t == ns_t_aaaa) {
        need = t == ns_t_a ? sizeof(struct in_addr) : sizeof(struct in6_addr);
        if (len != need)
            return -1;
    } else if (t != ns_t_txt && t != ns_t_mx && t != ns_t_ptr) {
        return -1; /* libspf2 reads no other type */
    }
    if (SPF_dns_rr_buf_realloc(rr, i, need) != SPF_E_SUCCESS)
        return -1;
    memcpy(rr->rr[i], data, len);
    if (need > len)
        ((char *)rr->rr[i])[len] = '\0';
    return 0;
}

/* the lookup hook of the bottom layer: lib/dns.c under the check's deadline */
static SPF_dns_rr_t *
spf_dns_lib_lookup(SPF_dns_server_t *d, const char *domain, ns_type t, int should_cache SM_UNUSED)
{
    spf_dns_req *rq = spf_dns_cur;
    dns_txt *recs = NULL;
    SPF_dns_rr_t *rr;
    char err[256];
    int n = 0;

    switch (dns_lookup_rr(d->hook, domain, (int)t, rq != NULL ? rq->deadline : 0, &recs, err,
                          sizeof(err))) {
    case DNS_OK:
        break;
    case DNS_NXDOMAIN:
        return spf_dns_rr_status(d, domain, t, HOST_NOT_FOUND);
    case DNS_NODATA:
        return spf_dns_rr_status(d, domain, t, NO_DATA);
    case DNS_TEMPFAIL:
    default:
        return spf_dns_rr_status(d, domain, t, TRY_AGAIN);
    }
    rr = spf_dns_rr_status(d, domain, t, NETDB_SUCCESS);
    for (size_t i = 0; rr != NULL && i < recs->n && n < INT_MAX; i++)
        if (spf_dns_lib_rr(rr, n, t, recs->rr[i], recs->len[i]) == 0)
            n++;
    dns_txt_free(recs);
    if (rr == NULL)
        return spf_dns_rr_status(d, domain, t, TRY_AGAIN);
    rr->num_rr = n;
    if (n == 0)
        rr->herrno = NO_DATA;
    return rr;
}

/* spf_dns_lib_new - the bottom layer over dns (not owned: it outlives the layer) */
SPF_dns_server_t *
spf_dns_lib_new(dns_cache *dns)
{
    SPF_dns_server_t *d;

    if (dns == NULL)
        return NULL;
    d = xcalloc(1, sizeof(*d));
    d->destroy = spf_dns_layer_destroy;
    d->lookup = spf_dns_lib_lookup;
    d->hook = dns;
    d->name = "ses-milter-dns";
    return d;
}
