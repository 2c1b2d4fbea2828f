/*
 * sigv4.c - AWS Signature Version 4 signer
 *
 * Purpose: turn one request into its canonical form, its string to sign
 * and its Authorization header, exactly as the AWS SDKs do (checked
 * against the official aws4_testsuite and botocore-generated SESv2
 * vectors by tests/unit/ses/test_sigv4.c).  Pure computation: no I/O, no
 * logging, no global state; secrets stay in local buffers that are wiped.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strcasecmp, gmtime_r */
#endif
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "sesutil.h"
#include "sigv4.h"

/* one canonical header: lower-case name, value(s) joined by ',' */
typedef struct sigv4_chdr {
    char *name;
    sesutil_buf value;
} sigv4_chdr;

/* sigv4_sha256_hex - hex digest */
void
sigv4_sha256_hex(const void *data, size_t len, char *out)
{
    unsigned char md[SHA256_DIGEST_LENGTH];

    SHA256(data != NULL ? data : (const void *)"", len, md);
    sesutil_hex(md, sizeof(md), out);
}

static void
sigv4_hmac(const void *key, size_t keylen, const char *msg, unsigned char *out)
{
    unsigned int outlen = SHA256_DIGEST_LENGTH;

    HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)msg, strlen(msg), out, &outlen);
}

/* sigv4_amz_date - ISO 8601 basic format, UTC */
void
sigv4_amz_date(int64_t epoch, char *out, size_t outlen)
{
    struct tm tm;
    time_t t = (time_t)epoch;

    gmtime_r(&t, &tm);
    strftime(out, outlen, "%Y%m%dT%H%M%SZ", &tm);
}

/* sigv4_canonical_uri - normalise dot segments and empty segments, then encode once */
char *
sigv4_canonical_uri(const char *path, int normalize_path)
{
    sesutil_buf out = {0};
    const char **seg;
    size_t nseg = 0, i, plen;
    const char *p, *e;
    size_t *seglen;
    int trailing;

    if (path == NULL || *path == '\0')
        return sesutil_strdup("/");
    plen = strlen(path);
    if (!normalize_path) {
        sesutil_uri_encode(&out, path, plen, 1);
        return sesutil_buf_steal(&out);
    }
    seg = sesutil_calloc(plen + 1, sizeof(*seg));
    seglen = sesutil_calloc(plen + 1, sizeof(*seglen));
    for (p = path; *p != '\0'; p = *e ? e + 1 : e) {
        e = strchr(p, '/');
        if (e == NULL)
            e = p + strlen(p);
        if (e == p || (e - p == 1 && p[0] == '.'))
            continue;
        if (e - p == 2 && p[0] == '.' && p[1] == '.') {
            if (nseg > 0)
                nseg--;
            continue;
        }
        seg[nseg] = p;
        seglen[nseg++] = (size_t)(e - p);
    }
    trailing = path[plen - 1] == '/';
    for (i = 0; i < nseg; i++) {
        sesutil_buf_putc(&out, '/');
        sesutil_uri_encode(&out, seg[i], seglen[i], 0);
    }
    if (nseg == 0 || trailing)
        sesutil_buf_putc(&out, '/');
    free(seg);
    free(seglen);
    return sesutil_buf_steal(&out);
}

typedef struct sigv4_pair {
    char *name;
    char *value;
} sigv4_pair;

static int
sigv4_pair_cmp(const void *a, const void *b)
{
    const sigv4_pair *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c != 0 ? c : strcmp(x->value, y->value);
}

static char *
sigv4_reencode(const char *s, size_t n)
{
    sesutil_buf b = {0};
    size_t dlen;
    char *d = sesutil_uri_decode(s, n, &dlen);

    sesutil_uri_encode(&b, d, dlen, 0);
    free(d);
    return sesutil_buf_steal(&b);
}

/* sigv4_canonical_query - decode, re-encode, sort by name then value */
char *
sigv4_canonical_query(const char *query)
{
    sesutil_buf out = {0};
    sigv4_pair *pairs;
    size_t n = 0, i;
    const char *p, *e, *eq;

    if (query == NULL || *query == '\0')
        return sesutil_strdup("");
    pairs = sesutil_calloc(strlen(query) + 1, sizeof(*pairs));
    for (p = query; *p != '\0'; p = *e ? e + 1 : e) {
        e = strchr(p, '&');
        if (e == NULL)
            e = p + strlen(p);
        if (e == p)
            continue;
        eq = memchr(p, '=', (size_t)(e - p));
        if (eq == NULL)
            eq = e;
        pairs[n].name = sigv4_reencode(p, (size_t)(eq - p));
        pairs[n].value = eq < e ? sigv4_reencode(eq + 1, (size_t)(e - eq - 1)) : sesutil_strdup("");
        n++;
    }
    qsort(pairs, n, sizeof(*pairs), sigv4_pair_cmp);
    for (i = 0; i < n; i++) {
        sesutil_buf_printf(&out, "%s%s=%s", i ? "&" : "", pairs[i].name, pairs[i].value);
        free(pairs[i].name);
        free(pairs[i].value);
    }
    free(pairs);
    return sesutil_buf_steal(&out);
}

/* append a header value trimmed, whitespace runs (incl. folded lines) collapsed */
static void
sigv4_add_value(sesutil_buf *b, const char *v)
{
    int space = 0, started = 0;

    for (; *v != '\0'; v++) {
        if (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n') {
            space = started;
            continue;
        }
        if (space)
            sesutil_buf_putc(b, ' ');
        space = 0;
        started = 1;
        sesutil_buf_putc(b, *v);
    }
    if (b->data == NULL)
        sesutil_buf_add(b, "", 0);
}

static int
sigv4_chdr_cmp(const void *a, const void *b)
{
    return strcmp(((const sigv4_chdr *)a)->name, ((const sigv4_chdr *)b)->name);
}

static void
sigv4_chdr_add(sigv4_chdr *h, size_t *n, const char *name, const char *value)
{
    size_t i;
    char *lname = sesutil_strdup(name);
    char *c;

    for (c = lname; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    for (i = 0; i < *n; i++)
        if (strcmp(h[i].name, lname) == 0)
            break;
    if (i < *n) {
        free(lname);
        sesutil_buf_putc(&h[i].value, ',');
    } else {
        h[i].name = lname;
        memset(&h[i].value, 0, sizeof(h[i].value));
        (*n)++;
    }
    sigv4_add_value(&h[i].value, value);
}

static int
sigv4_check_input(const sigv4_request *req, const sigv4_key *key, const char *region,
                  const char *service, const char *amz_date, char *err, size_t errlen)
{
    size_t i;
    const char *c;

    if (req == NULL || key == NULL || req->method == NULL || *req->method == '\0')
        return sesutil_errf(err, errlen, "sigv4: no request method");
    if (key->access_key_id == NULL || *key->access_key_id == '\0' ||
        key->secret_access_key == NULL || *key->secret_access_key == '\0')
        return sesutil_errf(err, errlen, "sigv4: no credentials");
    if (region == NULL || *region == '\0' || service == NULL || *service == '\0')
        return sesutil_errf(err, errlen, "sigv4: no region or service");
    if (amz_date == NULL || strlen(amz_date) != 16 || amz_date[8] != 'T' || amz_date[15] != 'Z')
        return sesutil_errf(err, errlen, "sigv4: malformed date");
    if (req->body_len > 0 && req->body == NULL)
        return sesutil_errf(err, errlen, "sigv4: body length without body");
    for (i = 0; i < req->nheaders; i++) {
        if (req->headers[i].name == NULL || req->headers[i].value == NULL ||
            req->headers[i].name[0] == '\0')
            return sesutil_errf(err, errlen, "sigv4: empty header");
        for (c = req->headers[i].name; *c; c++)
            if ((unsigned char)*c <= ' ' || *c == ':' || (unsigned char)*c >= 0x7f)
                return sesutil_errf(err, errlen, "sigv4: malformed header name");
    }
    return 0;
}

/* build canonical headers and the signed-headers list into creq/signed */
static void
sigv4_headers(const sigv4_request *req, const sigv4_key *key, sesutil_buf *creq, sesutil_buf *sh,
              int *add_token)
{
    sigv4_chdr *h = sesutil_calloc(req->nheaders + 1, sizeof(*h));
    size_t n = 0, i;
    int have_token = 0;

    for (i = 0; i < req->nheaders; i++) {
        sigv4_chdr_add(h, &n, req->headers[i].name, req->headers[i].value);
        if (strcasecmp(req->headers[i].name, "x-amz-security-token") == 0)
            have_token = 1;
    }
    *add_token = 0;
    if (!have_token && key->session_token != NULL && *key->session_token != '\0') {
        sigv4_chdr_add(h, &n, "x-amz-security-token", key->session_token);
        *add_token = 1;
    }
    qsort(h, n, sizeof(*h), sigv4_chdr_cmp);
    for (i = 0; i < n; i++) {
        sesutil_buf_printf(creq, "%s:%s\n", h[i].name, h[i].value.data);
        sesutil_buf_printf(sh, "%s%s", i ? ";" : "", h[i].name);
        free(h[i].name);
        sesutil_buf_reset(&h[i].value);
    }
    free(h);
}

/* derive the signing key and sign sts into sig_hex (65 bytes) */
static void
sigv4_signature_hex(const char *secret, const char *date8, const char *region, const char *service,
                    const char *sts, char *sig_hex)
{
    unsigned char k[SHA256_DIGEST_LENGTH], k2[SHA256_DIGEST_LENGTH];
    char *kstart = sesutil_asprintf("AWS4%s", secret);

    sigv4_hmac(kstart, strlen(kstart), date8, k);
    sigv4_hmac(k, sizeof(k), region, k2);
    sigv4_hmac(k2, sizeof(k2), service, k);
    sigv4_hmac(k, sizeof(k), "aws4_request", k2);
    sigv4_hmac(k2, sizeof(k2), sts, k);
    sesutil_hex(k, sizeof(k), sig_hex);
    OPENSSL_cleanse(k2, sizeof(k2));
    OPENSSL_cleanse(k, sizeof(k));
    sesutil_free_secret(kstart);
}

/* sigv4_sign - canonical request, string to sign, Authorization */
int
sigv4_sign(const sigv4_request *req, const sigv4_key *key, const char *region, const char *service,
           const char *amz_date, int normalize_path, sigv4_signature *out, char *err, size_t errlen)
{
    sesutil_buf creq = {0}, sh = {0};
    char date8[9], hash[65], sig[65], *uri, *query;

    memset(out, 0, sizeof(*out));
    if (sigv4_check_input(req, key, region, service, amz_date, err, errlen) < 0)
        return -1;
    memcpy(date8, amz_date, 8);
    date8[8] = '\0';
    uri = sigv4_canonical_uri(req->path, normalize_path);
    query = sigv4_canonical_query(req->query);
    sesutil_buf_printf(&creq, "%s\n%s\n%s\n", req->method, uri, query);
    free(uri);
    free(query);
    sigv4_headers(req, key, &creq, &sh, &out->add_token_header);
    sigv4_sha256_hex(req->body, req->body_len, hash);
    sesutil_buf_printf(&creq, "\n%s\n%s", sh.data, hash);
    sigv4_sha256_hex(creq.data, creq.len, hash);
    out->sts = sesutil_asprintf("AWS4-HMAC-SHA256\n%s\n%s/%s/%s/aws4_request\n%s", amz_date, date8,
                                region, service, hash);
    sigv4_signature_hex(key->secret_access_key, date8, region, service, out->sts, sig);
    out->authorization = sesutil_asprintf(
        "AWS4-HMAC-SHA256 Credential=%s/%s/%s/%s/aws4_request, SignedHeaders=%s, Signature=%s",
        key->access_key_id, date8, region, service, sh.data, sig);
    out->creq = sesutil_buf_steal(&creq);
    out->signed_headers = sesutil_buf_steal(&sh);
    return 0;
}

/* sigv4_signature_clear - free the signature's strings */
void
sigv4_signature_clear(sigv4_signature *sig)
{
    if (sig == NULL)
        return;
    free(sig->creq);
    free(sig->sts);
    free(sig->authorization);
    free(sig->signed_headers);
    memset(sig, 0, sizeof(*sig));
}
