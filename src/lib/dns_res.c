/*
 * dns_res.c - one DNS query with res_nsend, and its answer parsed (for lib/dns.c)
 *
 * Purpose: the wire side of the resolver layer.  The query is built with
 * res_nmkquery() and sent with res_nsend() on a per-thread struct
 * __res_state (res_ninit once per thread).  res_nquery() is not used
 * because it throws away the response of an NXDOMAIN/NODATA answer, and
 * with it the SOA that negative caching needs.  The per-try timeout is
 * derived from the absolute deadline.
 *
 * Records (dns_res_parse): TXT as its character-strings concatenated; A and
 * AAAA as the 4 or 16 address bytes; MX as the exchange name, PTR, CNAME
 * and NS as the target name (expanded, no trailing dot); other types as
 * their raw rdata.
 *
 * Diagnostics: none; callers map dns_status.  Security: answers are
 * untrusted bytes; every length is checked through ns_initparse() /
 * ns_parserr() / dn_expand() and nothing is read past the message.
 */
#include "config.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <pthread.h>
#include <resolv.h>
#include <stdlib.h>
#include <string.h>

#include "lib/dns_res.h"
#include "lib/util.h"

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

/* dns_res_rdata - append one record of qtype from rr (see the purpose block); -1 if malformed */
static int
dns_res_rdata(dns_txt *t, ns_msg *m, int qtype, const ns_rr *rr)
{
    const unsigned char *rd = ns_rr_rdata(*rr);
    size_t rdlen = ns_rr_rdlen(*rr);
    char name[NS_MAXDNAME];

    switch (qtype) {
    case ns_t_txt:
        return dns_txt_rdata(t, rd, rdlen);
    case ns_t_a:
    case ns_t_aaaa:
        if (rdlen != (qtype == ns_t_a ? 4u : 16u))
            return -1;
        break;
    case ns_t_mx:
    case ns_t_ptr:
    case ns_t_cname:
    case ns_t_ns:
        if (qtype == ns_t_mx) {
            if (rdlen < 3)
                return -1;
            rd += 2; /* the preference */
        }
        if (dn_expand(ns_msg_base(*m), ns_msg_end(*m), rd, name, sizeof(name)) < 0)
            return -1;
        dns_txt_add(t, name, strlen(name));
        return 0;
    default:
        break;
    }
    dns_txt_add(t, (const char *)rd, rdlen);
    return 0;
}

dns_status
dns_res_parse(const unsigned char *msg, size_t len, int qtype, dns_txt **txt_r, uint32_t *ttl_r)
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
        if (txt_r == NULL) { /* presence only */
            other++;
            if (ns_rr_ttl(rr) < ttl)
                ttl = ns_rr_ttl(rr);
            continue;
        }
        /* a malformed record is skipped rather than failing its siblings */
        if (dns_res_rdata(t, &m, qtype, &rr) == 0 && ns_rr_ttl(rr) < ttl)
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
    return dns_res_parse(msg, len, ns_t_txt, txt_r, ttl_r);
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

/* dns_res_send - one query with res_nsend (dns_res.h) */
int
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

/* dns_res_query - dns_res_send + dns_res_parse (dns_res.h) */
dns_status
dns_res_query(const struct sockaddr_in *server, const char *name, int qtype, uint64_t deadline_ms,
              dns_txt **txt_r, uint32_t *ttl_r)
{
    unsigned char *answer = xmalloc(DNS_ANSWER_MAX);
    int alen;
    dns_status st;

    if (txt_r != NULL)
        *txt_r = NULL;
    *ttl_r = 0;
    alen = dns_res_send(server, name, qtype, deadline_ms, answer);
    if (alen == 0)
        st = DNS_NXDOMAIN; /* not a valid DNS name: it cannot exist */
    else if (alen < 0)
        st = DNS_TEMPFAIL;
    else
        st = dns_res_parse(answer, (size_t)alen, qtype, txt_r, ttl_r);
    free(answer);
    return st;
}
