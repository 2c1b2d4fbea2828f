/*
 * sdkim_key.c - DKIM key records (RFC 6376 section 3.6.1): checking and
 * rewriting them
 *
 * SYNOPSIS
 *   rc = sdkim_key_published(e, selector, domain, deadline, err, len);
 *   rec2 = sdkim_key_fixup(rec, len, &len2);          (sdkim_int.h, for sdkim.c)
 *
 * DESCRIPTION
 *   sdkim_key_published() looks up selector._domainkey.domain through the
 *   engine's TXT cache and says whether some record is a usable email key:
 *   v=DKIM1 first when present, k=rsa or ed25519, s= covering email, a
 *   non-empty p= that decodes to a key, RSA keys at least min_key_bits.
 *
 *   sdkim_key_fixup() rewrites a record whose p= is a bare PKCS#1
 *   RSAPublicKey (RFC 6376 3.6.1 taken literally) as the
 *   SubjectPublicKeyInfo libopendkim can load; sdkim.c applies it to every
 *   key record before libopendkim sees it.
 *
 * DIAGNOSTICS
 *   No logging: reasons go to err/errlen.
 *
 * SECURITY
 *   Key records are untrusted DNS text: at most SDKIM_KEY_MAX_TAGS tags,
 *   p= at most 64 KiB of base64; OpenSSL decodes the DER, through the
 *   table of decoded keys (sdkim_pkey.c).
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "auth/sdkim_int.h"
#include "lib/util.h"

#define SDKIM_KEY_MAX_TAGS 32

struct sdkim_key_tag {
    char name[16];
    const char *val; /* into the record */
    size_t vlen;     /* trailing whitespace trimmed */
};

/* sdkim_key_tags - split a tag=value; list; returns the number of tags or -1 on syntax error */
static int
sdkim_key_tags(const char *rec, size_t len, struct sdkim_key_tag *t, int max)
{
    size_t i = 0;
    int n = 0;

    while (i < len) {
        size_t ns, ne;

        while (i < len && isspace((unsigned char)rec[i]))
            i++;
        if (i == len)
            break;
        for (ns = i; i < len && (isalnum((unsigned char)rec[i]) || rec[i] == '_'); i++)
            ;
        ne = i;
        while (i < len && isspace((unsigned char)rec[i]))
            i++;
        if (ne == ns || ne - ns >= sizeof(t->name) || i == len || rec[i] != '=' || n >= max)
            return -1;
        memcpy(t[n].name, rec + ns, ne - ns);
        t[n].name[ne - ns] = '\0';
        for (i++; i < len && isspace((unsigned char)rec[i]); i++)
            ;
        t[n].val = rec + i;
        while (i < len && rec[i] != ';')
            i++;
        t[n].vlen = (size_t)(rec + i - t[n].val);
        while (t[n].vlen > 0 && isspace((unsigned char)t[n].val[t[n].vlen - 1]))
            t[n].vlen--;
        n++;
        if (i < len)
            i++; /* ';' */
    }
    return n;
}

/* sdkim_key_tag_get - the tag named name, or NULL */
static const struct sdkim_key_tag *
sdkim_key_tag_get(const struct sdkim_key_tag *t, int n, const char *name)
{
    int i;

    for (i = 0; i < n; i++)
        if (strcmp(t[i].name, name) == 0)
            return &t[i];
    return NULL;
}

/* sdkim_key_tag_is - whether a tag's value equals s (case-insensitive) */
static int
sdkim_key_tag_is(const struct sdkim_key_tag *t, const char *s)
{
    return t->vlen == strlen(s) && strncasecmp(t->val, s, t->vlen) == 0;
}

/* sdkim_key_b64_decode - base64 with embedded whitespace to a buffer (len in *out_len), or NULL;
 * also decodes bh= for sdkim_bodyplan.c */
unsigned char *
sdkim_key_b64_decode(const char *in, size_t len, size_t *out_len)
{
    char *clean = xmalloc(len + 1);
    unsigned char *out;
    size_t i, n = 0, pad = 0;
    int r;

    for (i = 0; i < len; i++)
        if (!isspace((unsigned char)in[i]))
            clean[n++] = in[i];
    clean[n] = '\0';
    if (n == 0 || n % 4 != 0 || n > 65536) {
        free(clean);
        return NULL;
    }
    pad = (clean[n - 1] == '=') + (clean[n - 2] == '=');
    out = xmalloc(n / 4 * 3 + 1);
    r = EVP_DecodeBlock(out, (unsigned char *)clean, (int)n);
    free(clean);
    if (r < 0 || (size_t)r < pad) {
        free(out);
        return NULL;
    }
    *out_len = (size_t)r - pad;
    return out;
}

/* sdkim_key_parse - decode p= of type k= into a public key, accepting bare PKCS#1 RSA keys */
static EVP_PKEY *
sdkim_key_parse(const unsigned char *der, size_t len, int ed25519)
{
    const unsigned char *p = der;
    EVP_PKEY *pk;
    size_t used = 0;

    if (ed25519)
        return len == 32 ? EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, der, len) : NULL;
    pk = sdkim_pkey_decode(der, len, &used);
    if (pk != NULL && (EVP_PKEY_get_base_id(pk) != EVP_PKEY_RSA || used != len)) {
        EVP_PKEY_free(pk);
        return NULL;
    }
    if (pk == NULL) {
        p = der;
        pk = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, (long)len);
        if (pk != NULL && p != der + len) {
            EVP_PKEY_free(pk);
            pk = NULL;
        }
    }
    return pk;
}

/*
 * sdkim_key_fixup - a copy of a key record whose p= is a bare PKCS#1 RSAPublicKey, rewritten
 * as the SubjectPublicKeyInfo libopendkim expects; NULL when nothing needs rewriting
 */
char *
sdkim_key_fixup(const char *rec, size_t len, size_t *newlen)
{
    struct sdkim_key_tag t[SDKIM_KEY_MAX_TAGS];
    const struct sdkim_key_tag *p, *k;
    int n = sdkim_key_tags(rec, len, t, SDKIM_KEY_MAX_TAGS), spkilen;
    unsigned char *der, *spki = NULL, *b64;
    size_t derlen = 0, pre, post;
    EVP_PKEY *pk;
    char *out = NULL;

    if (n <= 0 || (p = sdkim_key_tag_get(t, n, "p")) == NULL || p->vlen == 0)
        return NULL;
    k = sdkim_key_tag_get(t, n, "k");
    if ((k != NULL && !sdkim_key_tag_is(k, "rsa")) ||
        (der = sdkim_key_b64_decode(p->val, p->vlen, &derlen)) == NULL)
        return NULL;
    pk = sdkim_pkey_decode(der, derlen, NULL);
    if (pk != NULL) { /* already SPKI */
        EVP_PKEY_free(pk);
        free(der);
        return NULL;
    }
    pk = sdkim_key_parse(der, derlen, 0);
    free(der);
    if (pk == NULL || (spkilen = i2d_PUBKEY(pk, &spki)) <= 0) {
        EVP_PKEY_free(pk);
        return NULL;
    }
    EVP_PKEY_free(pk);
    b64 = xmalloc(((size_t)spkilen + 2) / 3 * 4 + 1);
    EVP_EncodeBlock(b64, spki, spkilen);
    OPENSSL_free(spki);
    pre = (size_t)(p->val - rec);
    post = len - pre - p->vlen;
    out = xasprintf("%.*s%s%.*s", (int)pre, rec, (char *)b64, (int)post, p->val + p->vlen);
    free(b64);
    *newlen = strlen(out);
    return out;
}

/* sdkim_key_check - 1 for a usable email key record, 0 (reason in err) otherwise */
static int
sdkim_key_check(const sdkim_engine *e, const char *rec, size_t len, char *err, size_t errlen)
{
    struct sdkim_key_tag t[SDKIM_KEY_MAX_TAGS];
    const struct sdkim_key_tag *v, *k, *s, *p;
    int n = sdkim_key_tags(rec, len, t, SDKIM_KEY_MAX_TAGS), ed = 0, bits;
    unsigned char *der;
    size_t derlen = 0;
    EVP_PKEY *pk;

    if (n <= 0)
        return util_errf(err, errlen, "key record syntax error") + 1;
    v = sdkim_key_tag_get(t, n, "v");
    k = sdkim_key_tag_get(t, n, "k");
    s = sdkim_key_tag_get(t, n, "s");
    p = sdkim_key_tag_get(t, n, "p");
    if (v != NULL && (v != &t[0] || !sdkim_key_tag_is(v, "DKIM1")))
        return util_errf(err, errlen, "key v= is not DKIM1 first") + 1;
    if (k != NULL && !sdkim_key_tag_is(k, "rsa") && !(ed = sdkim_key_tag_is(k, "ed25519")))
        return util_errf(err, errlen, "key k= unknown") + 1;
    if (s != NULL && !sdkim_key_tag_is(s, "*") && !sdkim_key_tag_is(s, "email") &&
        memmem(s->val, s->vlen, "email", 5) == NULL && memchr(s->val, '*', s->vlen) == NULL)
        return util_errf(err, errlen, "key s= not for email") + 1;
    if (p == NULL)
        return util_errf(err, errlen, "key p= missing") + 1;
    if (p->vlen == 0)
        return util_errf(err, errlen, "key revoked (empty p=)") + 1;
    der = sdkim_key_b64_decode(p->val, p->vlen, &derlen);
    if (der == NULL)
        return util_errf(err, errlen, "key p= is not base64") + 1;
    pk = sdkim_key_parse(der, derlen, ed);
    free(der);
    if (pk == NULL)
        return util_errf(err, errlen, "key p= cannot be decoded") + 1;
    bits = EVP_PKEY_get_bits(pk);
    EVP_PKEY_free(pk);
    if (!ed && bits < e->opts.min_key_bits)
        return util_errf(err, errlen, "key too small (%d bits)", bits) + 1;
    return 1;
}

/* sdkim_key_name_ok - a DNS label sequence of letters, digits, '-', '_' and dots */
static int
sdkim_key_name_ok(const char *s)
{
    size_t i, n = strlen(s);

    if (n == 0 || n > 200)
        return 0;
    for (i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
            return 0;
    return 1;
}

/* sdkim_key_published - look up selector._domainkey.domain and check its key record */
int
sdkim_key_published(sdkim_engine *e, const char *selector, const char *domain, uint64_t deadline_ms,
                    char *err, size_t errlen)
{
    dns_txt *txt = NULL;
    dns_status st;
    char *name, derr[128] = "";
    size_t i;
    int ok = 0;

    if (e == NULL || selector == NULL || domain == NULL || !sdkim_key_name_ok(selector) ||
        !sdkim_key_name_ok(domain))
        return util_errf(err, errlen, "invalid selector or domain") + 1;
    name = xasprintf("%s._domainkey.%s", selector, domain);
    st = dns_lookup_txt(e->dns, name, deadline_ms, &txt, derr, sizeof(derr));
    if (st == DNS_TEMPFAIL) {
        util_errf(err, errlen, "%s: DNS temporary failure%s%s", name, derr[0] ? ": " : "", derr);
        free(name);
        return -1;
    }
    if (st != DNS_OK || txt == NULL || txt->n == 0) {
        util_errf(err, errlen, "%s: no key record (%s)", name, dns_status_name(st));
        free(name);
        dns_txt_free(txt);
        return 0;
    }
    for (i = 0; i < txt->n && ok != 1; i++)
        ok = sdkim_key_check(e, txt->rr[i], txt->len[i], i == 0 ? err : NULL, errlen);
    free(name);
    dns_txt_free(txt);
    return ok;
}
