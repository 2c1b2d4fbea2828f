/*
 * sdkim_wire.c - libopendkim's DNS hooks answered from our TXT cache
 *
 * libopendkim asks for key records through a DNS service it lets the
 * caller replace (dkim_dns_set_query_start / waitreply / cancel).  The
 * "start" hook here runs the cached lookup (dns.c) synchronously, within
 * the deadline of the message being verified on this thread, and writes a
 * DNS wire-format answer into the library's buffer, which the library then
 * parses as if it came from res_query().  NXDOMAIN and NODATA become empty
 * answers (no key), a temporary failure a failed query, so that each
 * signature keeps its own result.  Key records with a bare PKCS#1 p= are
 * rewritten on the way (sdkim_key_fixup).
 */
#include "config.h"

#include <arpa/nameser.h>
#include <stdlib.h>
#include <string.h>

#include <opendkim/dkim.h>

#include "auth/sdkim_int.h"
#include "lib/util.h"

/* one answer being handed to libopendkim */
struct sdkim_wire_query {
    int status; /* DKIM_DNS_SUCCESS or DKIM_DNS_ERROR */
    size_t len;
};

__thread uint64_t sdkim_wire_deadline;

#define SDKIM_WIRE_TTL 300

/* sdkim_wire_name - encode a dotted name as DNS labels; returns bytes or -1 */
static int
sdkim_wire_name(const char *name, unsigned char *out, size_t outlen)
{
    size_t o = 0;
    const char *p = name;

    while (*p != '\0') {
        const char *dot = strchr(p, '.');
        size_t l = dot != NULL ? (size_t)(dot - p) : strlen(p);

        if (l == 0 || l > 63 || o + 1 + l + 1 > outlen || o + 1 + l > 254)
            return -1;
        out[o++] = (unsigned char)l;
        memcpy(out + o, p, l);
        o += l;
        p += l;
        if (*p == '.')
            p++;
    }
    if (o + 1 > outlen)
        return -1;
    out[o++] = 0;
    return (int)o;
}

static void
sdkim_wire_put16(unsigned char *p, unsigned v)
{
    p[0] = (unsigned char)(v >> 8);
    p[1] = (unsigned char)v;
}

/* sdkim_wire_answer - a TXT answer packet; returns its length or 0 when it does not fit */
static size_t
sdkim_wire_answer(unsigned char *buf, size_t buflen, const char *qname, int rcode,
                  const dns_txt *txt)
{
    size_t o = 12, i;
    int n;

    if (buflen < 12 + 5)
        return 0;
    memset(buf, 0, 12);
    buf[2] = 0x81;                                   /* QR, RD */
    buf[3] = (unsigned char)(0x80 | (rcode & 0x0f)); /* RA, rcode */
    sdkim_wire_put16(buf + 4, 1);
    n = sdkim_wire_name(qname, buf + o, buflen - o - 4);
    if (n < 0) { /* unencodable: the root name still lets the parser skip it */
        buf[o] = 0;
        n = 1;
    }
    o += (size_t)n;
    sdkim_wire_put16(buf + o, ns_t_txt);
    sdkim_wire_put16(buf + o + 2, ns_c_in);
    o += 4;
    for (i = 0; txt != NULL && i < txt->n; i++) {
        size_t len = txt->len[i], rdlen = len + (len + 254) / 255 + (len == 0), k;
        const unsigned char *rr = (const unsigned char *)txt->rr[i];

        if (rdlen > 65535 || o + 12 + rdlen > buflen)
            return 0;
        sdkim_wire_put16(buf + o, 0xc00c);
        sdkim_wire_put16(buf + o + 2, ns_t_txt);
        sdkim_wire_put16(buf + o + 4, ns_c_in);
        sdkim_wire_put16(buf + o + 6, 0);
        sdkim_wire_put16(buf + o + 8, SDKIM_WIRE_TTL);
        sdkim_wire_put16(buf + o + 10, (unsigned)rdlen);
        o += 12;
        if (len == 0)
            buf[o++] = 0;
        for (k = 0; k < len; k += 255) {
            size_t chunk = len - k > 255 ? 255 : len - k;

            buf[o++] = (unsigned char)chunk;
            memcpy(buf + o, rr + k, chunk);
            o += chunk;
        }
        sdkim_wire_put16(buf + 6, (unsigned)(i + 1));
    }
    return o;
}

/* sdkim_wire_keys - the answer packet for a cached TXT set, PKCS#1 RSA keys rewritten as SPKI */
static size_t
sdkim_wire_keys(unsigned char *buf, size_t buflen, const char *qname, const dns_txt *txt)
{
    char *rr[8];
    size_t len[8], i, n = txt->n < 8 ? txt->n : 8, out;
    dns_txt copy = {n, rr, len};

    for (i = 0; i < n; i++) {
        rr[i] = sdkim_key_fixup(txt->rr[i], txt->len[i], &len[i]);
        if (rr[i] == NULL) {
            rr[i] = txt->rr[i];
            len[i] = txt->len[i];
        }
    }
    out = sdkim_wire_answer(buf, buflen, qname, ns_r_noerror, txt->n <= 8 ? &copy : txt);
    for (i = 0; i < n; i++)
        if (rr[i] != txt->rr[i])
            free(rr[i]);
    return out;
}

/* sdkim_wire_start - libopendkim query start: look up through the cache, answer at once */
static int
sdkim_wire_start(void *srv, int type, unsigned char *query, unsigned char *buf, size_t buflen,
                 void **qh)
{
    sdkim_engine *e = srv;
    struct sdkim_wire_query *q = xcalloc(1, sizeof(*q));
    dns_txt *txt = NULL;
    uint64_t deadline = sdkim_wire_deadline;
    char err[128];
    dns_status st;

    if (deadline == 0)
        deadline = util_now_ms() + (uint64_t)e->opts.timeout_ms;
    q->status = DKIM_DNS_ERROR;
    *qh = q;
    if (type != ns_t_txt)
        return 0;
    if (util_now_ms() >= deadline)
        return 0; /* message budget spent: key lookup failed */
    st = dns_lookup_txt(e->dns, (const char *)query, deadline, &txt, err, sizeof(err));
    if (st == DNS_OK)
        q->len = sdkim_wire_keys(buf, buflen, (const char *)query, txt);
    else if (st == DNS_NXDOMAIN)
        q->len = sdkim_wire_answer(buf, buflen, (const char *)query, ns_r_nxdomain, NULL);
    else if (st == DNS_NODATA)
        q->len = sdkim_wire_answer(buf, buflen, (const char *)query, ns_r_noerror, NULL);
    if (st == DNS_OK && q->len == 0) /* absurdly large record set: treat as no key */
        q->len = sdkim_wire_answer(buf, buflen, (const char *)query, ns_r_noerror, NULL);
    if (st != DNS_TEMPFAIL && q->len > 0)
        q->status = DKIM_DNS_SUCCESS;
    dns_txt_free(txt);
    return 0;
}

/* sdkim_wire_wait - the answer is always ready */
static int
sdkim_wire_wait(void *srv, void *qh, struct timeval *to, size_t *bytes, int *error, int *dnssec)
{
    struct sdkim_wire_query *q = qh;

    (void)srv;
    (void)to;
    if (error != NULL)
        *error = 0;
    if (dnssec != NULL)
        *dnssec = DKIM_DNSSEC_UNKNOWN;
    if (q == NULL || q->status != DKIM_DNS_SUCCESS)
        return DKIM_DNS_ERROR;
    if (bytes != NULL)
        *bytes = q->len;
    return DKIM_DNS_SUCCESS;
}

/* sdkim_wire_cancel - libopendkim calls it once per started query: free the handle */
static int
sdkim_wire_cancel(void *srv, void *qh)
{
    (void)srv;
    free(qh);
    return 0;
}

/* sdkim_wire_close - nothing to close: the cache belongs to the caller */
static void
sdkim_wire_close(void *srv)
{
    (void)srv;
}

/* sdkim_wire_install - route the library's key lookups through e->dns */
void
sdkim_wire_install(sdkim_engine *e)
{
    dkim_dns_set_init(e->lib, NULL);
    dkim_dns_set_close(e->lib, sdkim_wire_close);
    dkim_dns_set_query_service(e->lib, e);
    dkim_dns_set_query_start(e->lib, sdkim_wire_start);
    dkim_dns_set_query_cancel(e->lib, sdkim_wire_cancel);
    dkim_dns_set_query_waitreply(e->lib, sdkim_wire_wait);
}
