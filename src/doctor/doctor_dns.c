/*
 * doctor_dns.c - the doctor's DNS answers: CNAME, MX and TXT with their strings
 *
 * Purpose: the mail path only needs TXT values (dns_lookup_txt); the doctor
 * needs what a DNS provider's mistakes leave behind: whether a name is an
 * alias (and of what), whether other records sit beside a CNAME, the MX
 * exchanges, and each TXT record's character-strings (a value split in the
 * wrong place shows only there).  One uncached query each, through the
 * configured resolver (dns_query), parsed here.
 *
 * Security: answers are untrusted bytes, read only through ns_initparse()
 * and ns_parserr() (every length checked); names are expanded with
 * dn_expand() into bounded buffers.
 */
#include "config.h"

#include <arpa/nameser.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "doctor/doctor.h"

/* doctor_dns_same - two names equal, case and a trailing dot ignored */
static int
doctor_dns_same(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);

    if (la > 0 && a[la - 1] == '.')
        la--;
    if (lb > 0 && b[lb - 1] == '.')
        lb--;
    return la == lb && strncasecmp(a, b, la) == 0;
}

/* doctor_dns_txt - one TXT rdata into rr; -1 when malformed */
static int
doctor_dns_txt(doctor_rr *rr, const unsigned char *rd, size_t rdlen)
{
    size_t off = 0, out = 0, sp = 0;

    rr->txt = xmalloc(rdlen + 1);
    rr->spaced = xmalloc(2 * rdlen + 1);
    while (off < rdlen) {
        size_t n = rd[off++];
        if (n > rdlen - off)
            return -1;
        if (rr->nstrings++ > 0)
            rr->spaced[sp++] = ' ';
        memcpy(rr->txt + out, rd + off, n);
        memcpy(rr->spaced + sp, rd + off, n);
        out += n;
        sp += n;
        off += n;
    }
    rr->txt[out] = '\0';
    rr->spaced[sp] = '\0';
    rr->txtlen = out;
    return 0;
}

/* doctor_dns_rr - one answer record of the type asked into a->rr */
static void
doctor_dns_rr(ns_msg *m, ns_rr rr, int type, doctor_answer *a)
{
    const unsigned char *rd = ns_rr_rdata(rr);
    size_t rdlen = ns_rr_rdlen(rr);
    doctor_rr *r;
    char name[NS_MAXDNAME];

    a->rr = xrealloc(a->rr, (a->n + 1) * sizeof(*a->rr));
    r = &a->rr[a->n];
    memset(r, 0, sizeof(*r));
    if (type == ns_t_txt) {
        if (doctor_dns_txt(r, rd, rdlen) < 0) {
            free(r->txt);
            free(r->spaced);
            return;
        }
    } else if (type == ns_t_mx) {
        if (rdlen < 3 || dn_expand(ns_msg_base(*m), ns_msg_end(*m), rd + 2, name, sizeof(name)) < 0)
            return;
        r->pref = ns_get16(rd);
        util_strlcpy(r->target, name, sizeof(r->target));
    } else {
        if (dn_expand(ns_msg_base(*m), ns_msg_end(*m), rd, name, sizeof(name)) < 0)
            return;
        util_strlcpy(r->target, name, sizeof(r->target));
    }
    a->n++;
}

/* doctor_dns_walk - the answer section's records of type for qname into a */
static dns_status
doctor_dns_walk(const unsigned char *msg, size_t len, const char *qname, int type, doctor_answer *a)
{
    char owner[NS_MAXDNAME];
    int has_cname = 0, others = 0;
    ns_msg m;

    if (ns_initparse(msg, (int)len, &m) < 0 || !ns_msg_getflag(m, ns_f_qr))
        return DNS_TEMPFAIL;
    if (ns_msg_getflag(m, ns_f_rcode) == ns_r_nxdomain)
        return DNS_NXDOMAIN;
    if (ns_msg_getflag(m, ns_f_rcode) != ns_r_noerror)
        return DNS_TEMPFAIL;
    util_strlcpy(owner, qname, sizeof(owner));
    for (int i = 0; i < ns_msg_count(m, ns_s_an); i++) {
        ns_rr rr;
        char target[NS_MAXDNAME];

        if (ns_parserr(&m, ns_s_an, i, &rr) < 0)
            return DNS_TEMPFAIL;
        if (ns_rr_class(rr) != ns_c_in)
            continue;
        if (doctor_dns_same(ns_rr_name(rr), qname)) {
            if (ns_rr_type(rr) == ns_t_cname)
                has_cname = 1;
            else if (ns_rr_type(rr) != ns_t_rrsig && ns_rr_type(rr) != ns_t_nsec)
                others = 1;
        }
        if (ns_rr_type(rr) == ns_t_cname && type != (int)ns_t_cname &&
            doctor_dns_same(ns_rr_name(rr), owner)) {
            if (dn_expand(ns_msg_base(m), ns_msg_end(m), ns_rr_rdata(rr), target, sizeof(target)) <
                0)
                return DNS_TEMPFAIL;
            if (a->cname[0] == '\0')
                util_strlcpy(a->cname, target, sizeof(a->cname));
            util_strlcpy(owner, target, sizeof(owner)); /* follow the chain */
            continue;
        }
        if ((int)ns_rr_type(rr) == type && doctor_dns_same(ns_rr_name(rr), owner))
            doctor_dns_rr(&m, rr, type, a);
    }
    a->beside_cname = has_cname && others;
    return a->n > 0 ? DNS_OK : DNS_NODATA;
}

dns_status
doctor_dns_parse(const unsigned char *msg, size_t len, const char *qname, int type,
                 doctor_answer *a)
{
    dns_status st = doctor_dns_walk(msg, len, qname, type, a);

    if (st != DNS_OK) { /* a record that does not parse spoils those before it */
        char cname[sizeof(a->cname)];
        int beside = a->beside_cname;

        util_strlcpy(cname, a->cname, sizeof(cname));
        doctor_answer_clear(a);
        if (st == DNS_NODATA) {
            util_strlcpy(a->cname, cname, sizeof(a->cname));
            a->beside_cname = beside;
        }
    }
    return st;
}

dns_status
doctor_dns_ask(doctor_ctx *ctx, const char *name, int type, doctor_answer *a)
{
    unsigned char *msg = NULL;
    size_t len = 0;

    memset(a, 0, sizeof(*a));
    a->status = dns_query(ctx->dns, name, type, ctx->deadline_ms, &msg, &len);
    if (a->status == DNS_OK)
        a->status = doctor_dns_parse(msg, len, name, type, a);
    free(msg);
    return a->status;
}

void
doctor_answer_clear(doctor_answer *a)
{
    for (size_t i = 0; i < a->n; i++) {
        free(a->rr[i].txt);
        free(a->rr[i].spaced);
    }
    free(a->rr);
    memset(a, 0, sizeof(*a));
}
