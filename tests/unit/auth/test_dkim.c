/*
 * test_dkim.c - the streaming DKIM verifier (src/auth/sdkim.c) against fixtures it signs itself
 *
 * Keys (RSA-2048, RSA-1024, Ed25519) are generated with OpenSSL at start-up
 * and messages are signed with libopendkim's signer; keys are served by an
 * injected resolver (dns_cache_set_resolver) that can also answer NXDOMAIN
 * or fail temporarily.  Each case is one row: how to build the message,
 * what DNS holds, which options, which results to expect.
 *
 * "./test_dkim --bench N" instead times N verifications of a signed message
 * with a warm DNS cache and prints the cost per message.
 */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <opendkim/dkim.h>

#include "auth/sdkim.h"
#include "auth/sdkim_int.h"
#include "lib/dns.h"
#include "lib/util.h"

/*
 * libopendkim's Ed25519 signer leaks the key it loads (dkim_privkey_load): fixtures
 * only; valgrind shows the verification path (sdkim.c) clean
 */
const char *__lsan_default_suppressions(void);
const char *
__lsan_default_suppressions(void)
{
    return "leak:dkim_privkey_load\n";
}

/* full stacks through libcrypto, so that the suppression above can see dkim_privkey_load */
const char *__asan_default_options(void);
const char *
__asan_default_options(void)
{
    return "fast_unwind_on_malloc=0";
}

/* ---- keys ---- */

enum { K_RSA, K_RSA1024, K_ED, K_N };

static struct {
    char *pem;    /* private key, PEM */
    char *record; /* "v=DKIM1; k=...; p=..." */
    char *pkcs1;  /* RSA only: the record with a bare PKCS#1 key */
} keys[K_N];

static char *
b64(const unsigned char *der, int len)
{
    char *out = xmalloc((size_t)(len + 2) / 3 * 4 + 1);

    EVP_EncodeBlock((unsigned char *)out, der, len);
    return out;
}

static void
key_make(int which)
{
    EVP_PKEY *pk = which == K_ED ? EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")
                                 : EVP_PKEY_Q_keygen(NULL, NULL, "RSA",
                                                     (size_t)(which == K_RSA ? 2048 : 1024));
    BIO *bio = BIO_new(BIO_s_mem());
    unsigned char *der = NULL, raw[32];
    size_t rawlen = sizeof(raw);
    char *data, *p;
    long len;
    int n;

    assert_non_null(pk);
    assert_int_equal(PEM_write_bio_PrivateKey(bio, pk, NULL, NULL, 0, NULL, NULL), 1);
    len = BIO_get_mem_data(bio, &data);
    keys[which].pem = xstrndup(data, (size_t)len);
    BIO_free(bio);
    if (which == K_ED) {
        assert_int_equal(EVP_PKEY_get_raw_public_key(pk, raw, &rawlen), 1);
        p = b64(raw, (int)rawlen);
        keys[which].record = xasprintf("v=DKIM1; k=ed25519; p=%s", p);
    } else {
        n = i2d_PUBKEY(pk, &der);
        p = b64(der, n);
        keys[which].record = xasprintf("v=DKIM1; k=rsa; p=%s", p);
        OPENSSL_free(der);
        free(p);
        der = NULL;
        n = i2d_PublicKey(pk, &der); /* PKCS#1 RSAPublicKey */
        p = b64(der, n);
        keys[which].pkcs1 = xasprintf("v=DKIM1; p=%s", p);
        OPENSSL_free(der);
    }
    free(p);
    EVP_PKEY_free(pk);
}

/* ---- DNS ---- */

typedef struct zone_rr {
    const char *name;
    dns_status st; /* DNS_OK: rec (and rec2 when set) */
    const char *rec, *rec2;
} zone_rr;

static const zone_rr *zone;
static int resolver_calls;
static unsigned resolver_sleep_us; /* each lookup takes this long */

static void
txt_add(dns_txt *t, const char *s)
{
    t->rr = xrealloc(t->rr, (t->n + 1) * sizeof(char *));
    t->len = xrealloc(t->len, (t->n + 1) * sizeof(size_t));
    t->rr[t->n] = xstrdup(s);
    t->len[t->n] = strlen(s);
    t->n++;
}

static dns_status
zone_resolve(void *arg, const char *name, uint64_t deadline_ms, dns_txt **txt_r, uint32_t *ttl_r)
{
    (void)arg;
    (void)deadline_ms;
    resolver_calls++;
    if (resolver_sleep_us > 0)
        usleep(resolver_sleep_us);
    *ttl_r = 600;
    for (const zone_rr *z = zone; z != NULL && z->name != NULL; z++) {
        if (strcasecmp(z->name, name) != 0)
            continue;
        if (z->st == DNS_OK) {
            *txt_r = xcalloc(1, sizeof(dns_txt));
            txt_add(*txt_r, z->rec);
            if (z->rec2 != NULL)
                txt_add(*txt_r, z->rec2);
        }
        return z->st;
    }
    return DNS_NXDOMAIN;
}

/* ---- messages ---- */

static const char base_msg[] = "From: Alice <alice@example.com>\r\n"
                               "To: bob@example.net\r\n"
                               "Subject: test message\r\n"
                               "Date: Tue, 24 Nov 2026 10:00:00 +0000\r\n"
                               "Message-ID: <1@example.com>\r\n"
                               "List-Unsubscribe: <https://example.com/u/1>,\r\n"
                               "\t<mailto:unsub@example.com?subject=1>\r\n"
                               "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
                               "\r\n"
                               "Hello Bob,\r\n"
                               "\r\n"
                               "this is the body.  It has  two spaces and a tab\there.\r\n"
                               "-- \r\n"
                               "Alice\r\n";

static dkim_canon_t sign_canon = DKIM_CANON_RELAXED; /* header and body */
static int feed_raw;                                 /* feed with sdkim_verify_header_raw */
static long sign_length = -1;                        /* l= of the next signatures (-1: none) */

/* sign - msg with a DKIM-Signature by key k (d=dom s=sel) prepended */
static char *
sign(const char *msg, int k, const char *sel, const char *dom, dkim_alg_t alg)
{
    DKIM_LIB *lib = dkim_init(NULL, NULL);
    size_t len = strlen(msg), i = 0;
    unsigned char hdr[4096];
    DKIM_STAT st;
    DKIM *dk;
    char *out;

    dk = dkim_sign(lib, (const unsigned char *)"T", NULL, (dkim_sigkey_t)keys[k].pem,
                   (const unsigned char *)sel, (const unsigned char *)dom, sign_canon, sign_canon,
                   alg, sign_length, &st);
    assert_non_null(dk);
    while (i < len && !(msg[i] == '\r' && msg[i + 1] == '\n')) {
        size_t end = i;

        while (end + 1 < len && !(msg[end] == '\r' && msg[end + 1] == '\n' && msg[end + 2] != ' ' &&
                                  msg[end + 2] != '\t'))
            end++;
        assert_int_equal(dkim_header(dk, (u_char *)msg + i, end - i), DKIM_STAT_OK);
        i = end + 2;
    }
    assert_int_equal(dkim_eoh(dk), DKIM_STAT_OK);
    assert_int_equal(dkim_body(dk, (u_char *)msg + i + 2, len - i - 2), DKIM_STAT_OK);
    assert_int_equal(dkim_eom(dk, NULL), DKIM_STAT_OK);
    assert_int_equal(dkim_getsighdr(dk, hdr, sizeof(hdr), 16), DKIM_STAT_OK);
    out = xasprintf("DKIM-Signature: %s\r\n%s", (char *)hdr, msg);
    dkim_free(dk);
    dkim_close(lib);
    return out;
}

/* replace - a copy of s with the first "from" replaced by "to" */
static char *
replace(char *s, const char *from, const char *to)
{
    char *at = strstr(s, from), *out;

    assert_non_null(at);
    out = xasprintf("%.*s%s%s", (int)(at - s), s, to, at + strlen(from));
    free(s);
    return out;
}

/*
 * feed - verify msg as libmilter delivers it (name, value without leading
 * whitespace, folding kept; body in chunks of chunk bytes); returns the eoh code
 */
static int
feed(sdkim_verify *v, const char *msg, size_t chunk)
{
    size_t len = strlen(msg), i = 0;
    int rc;

    while (i < len && !(msg[i] == '\r' && msg[i + 1] == '\n')) {
        size_t end = i, colon, vs;
        char *name, *value;

        while (end + 1 < len && !(msg[end] == '\r' && msg[end + 1] == '\n' && msg[end + 2] != ' ' &&
                                  msg[end + 2] != '\t'))
            end++;
        for (colon = i; colon < end && msg[colon] != ':'; colon++)
            ;
        for (vs = colon + 1; vs < end && (msg[vs] == ' ' || msg[vs] == '\t'); vs++)
            ;
        if (feed_raw)
            vs = colon + 1;
        name = xstrndup(msg + i, colon - i);
        value = xstrndup(msg + (vs < end ? vs : end), vs < end ? end - vs : 0);
        assert_int_equal(feed_raw ? sdkim_verify_header_raw(v, name, value)
                                  : sdkim_verify_header(v, name, value),
                         SDKIM_VERIFY_OK);
        free(name);
        free(value);
        i = end + 2;
    }
    rc = sdkim_verify_eoh(v);
    for (i += 2; i < len; i += chunk) {
        size_t n = len - i < chunk ? len - i : chunk;
        int brc = sdkim_verify_body(v, (const unsigned char *)msg + i, n);

        assert_int_equal(brc, rc == SDKIM_VERIFY_SKIP ? SDKIM_VERIFY_SKIP : SDKIM_VERIFY_OK);
    }
    return rc;
}

/* ---- the table ---- */

typedef enum { M_RSA, M_ED, M_DUAL, M_NONE, M_BODY, M_HDR, M_RSA1024, M_SHA1, M_RAW, M_LONG } mkind;
typedef enum { R_GOOD, R_PKCS1, R_REVOKED, R_TESTING, R_NX, R_TEMP, R_TWO, R_GARBAGE } rkind;

typedef struct expect {
    sdkim_result r;
    const char *reason; /* substring */
} expect;

typedef struct dkim_case {
    const char *name;
    mkind m;
    const char *raw_sig; /* M_RAW: the DKIM-Signature value put above base_msg */
    rkind rsa_rec, ed_rec;
    int sha1_off, min_bits, max_sigs;
    int skip; /* eoh must say SDKIM_VERIFY_SKIP */
    size_t n;
    expect want[2];
    int testing;
} dkim_case;

#define GOOD R_GOOD, R_GOOD

static const dkim_case cases[] = {
    {"rsa2048_signature_passes", M_RSA, NULL, GOOD, 0, 0, 0, 0, 1, {{SDKIM_R_PASS, "verified"}}, 0},
    {"ed25519_signature_passes", M_ED, NULL, GOOD, 0, 0, 0, 0, 1, {{SDKIM_R_PASS, "verified"}}, 0},
    {"body_tampered_fails", M_BODY, NULL, GOOD, 0, 0, 0, 0, 1, {{SDKIM_R_FAIL, "body hash"}}, 0},
    {"header_tampered_fails", M_HDR, NULL, GOOD, 0, 0, 0, 0, 1, {{SDKIM_R_FAIL, "signature"}}, 0},
    {"nxdomain_key_is_permerror",
     M_RSA,
     NULL,
     R_NX,
     R_GOOD,
     0,
     0,
     0,
     0,
     1,
     {{SDKIM_R_PERMERROR, "no key"}},
     0},
    {"dns_tempfail_is_temperror",
     M_RSA,
     NULL,
     R_TEMP,
     R_GOOD,
     0,
     0,
     0,
     0,
     1,
     {{SDKIM_R_TEMPERROR, "lookup"}},
     0},
    {"revoked_key_is_permerror",
     M_RSA,
     NULL,
     R_REVOKED,
     R_GOOD,
     0,
     0,
     0,
     0,
     1,
     {{SDKIM_R_PERMERROR, "revoked"}},
     0},
    {"garbage_key_record_is_permerror",
     M_RSA,
     NULL,
     R_GARBAGE,
     R_GOOD,
     0,
     0,
     0,
     0,
     1,
     {{SDKIM_R_PERMERROR, ""}},
     0},
    {"two_key_records_is_permerror",
     M_RSA,
     NULL,
     R_TWO,
     R_GOOD,
     0,
     0,
     0,
     0,
     1,
     {{SDKIM_R_PERMERROR, "several"}},
     0},
    {"pkcs1_rsa_key_accepted",
     M_RSA,
     NULL,
     R_PKCS1,
     R_GOOD,
     0,
     0,
     0,
     0,
     1,
     {{SDKIM_R_PASS, "verified"}},
     0},
    {"testing_key_flagged",
     M_RSA,
     NULL,
     R_TESTING,
     R_GOOD,
     0,
     0,
     0,
     0,
     1,
     {{SDKIM_R_PASS, "verified"}},
     1},
    {"no_signature_gives_skip_and_no_results", M_NONE, NULL, GOOD, 0, 0, 0, 1, 0, {{0, NULL}}, 0},
    {"dual_signature_both_reported",
     M_DUAL,
     NULL,
     GOOD,
     0,
     0,
     0,
     0,
     2,
     {{SDKIM_R_PASS, "verified"}, {SDKIM_R_PASS, "verified"}},
     0},
    {"max_signatures_leaves_rest_neutral",
     M_DUAL,
     NULL,
     GOOD,
     0,
     0,
     1,
     0,
     2,
     {{SDKIM_R_PASS, "verified"}, {SDKIM_R_NEUTRAL, "too many"}},
     0},
    {"rsa_sha1_passes_when_allowed",
     M_SHA1,
     NULL,
     GOOD,
     0,
     0,
     0,
     0,
     1,
     {{SDKIM_R_PASS, "verified"}},
     0},
    {"rsa_sha1_neutral_when_refused",
     M_SHA1,
     NULL,
     GOOD,
     1,
     0,
     0,
     0,
     1,
     {{SDKIM_R_NEUTRAL, "rsa-sha1"}},
     0},
    {"key_below_min_bits_is_permerror",
     M_RSA1024,
     NULL,
     GOOD,
     0,
     2048,
     0,
     0,
     1,
     {{SDKIM_R_PERMERROR, "too small"}},
     0},
    {"rsa1024_passes_at_default_min_bits",
     M_RSA1024,
     NULL,
     GOOD,
     0,
     0,
     0,
     0,
     1,
     {{SDKIM_R_PASS, "verified"}},
     0},
    {"malformed_x_is_permerror", M_RAW, "x", GOOD, 0, 0, 0, 0, 1, {{SDKIM_R_PERMERROR, ""}}, 0},
    {"malformed_empty_is_permerror", M_RAW, "", GOOD, 0, 0, 0, 0, 1, {{SDKIM_R_PERMERROR, ""}}, 0},
    {"missing_b_is_permerror",
     M_RAW,
     "v=1; a=rsa-sha256; d=example.com; s=rsa; h=from; bh=AAAA",
     GOOD,
     0,
     0,
     0,
     0,
     1,
     {{SDKIM_R_PERMERROR, "b="}},
     0},
    {"missing_d_is_permerror",
     M_RAW,
     "v=1; a=rsa-sha256; s=rsa; h=from; bh=AAAA; b=AAAA",
     GOOD,
     0,
     0,
     0,
     0,
     1,
     {{SDKIM_R_PERMERROR, "d="}},
     0},
    {"bad_base64_b_is_permerror",
     M_RAW,
     "v=1; a=rsa-sha256; d=example.com; s=rsa; h=from; bh=AAAA; b=!!!*%%",
     GOOD,
     0,
     0,
     0,
     0,
     1,
     {{SDKIM_R_PERMERROR, ""}},
     0},
    {"unknown_algorithm_is_neutral",
     M_RAW,
     "v=1; a=rsa-md5; d=example.com; s=rsa; h=from; bh=AAAA; b=AAAA",
     GOOD,
     0,
     0,
     0,
     0,
     1,
     {{SDKIM_R_NEUTRAL, "algorithm"}},
     0},
    {"h_without_from_is_permerror",
     M_RAW,
     "v=1; a=rsa-sha256; d=example.com; s=rsa; h=subject; bh=AAAA; b=AAAA",
     GOOD,
     0,
     0,
     0,
     0,
     1,
     {{SDKIM_R_PERMERROR, ""}},
     0},
    {"unknown_version_is_neutral",
     M_RAW,
     "v=9; a=rsa-sha256; d=example.com; s=rsa; h=from; bh=AAAA; b=AAAA",
     GOOD,
     0,
     0,
     0,
     0,
     1,
     {{SDKIM_R_NEUTRAL, "version"}},
     0},
};

static const char *
record_for(rkind r, int k)
{
    static char buf[4096];

    switch (r) {
    case R_GOOD:
        return keys[k].record;
    case R_PKCS1:
        return keys[k].pkcs1;
    case R_REVOKED:
        return "v=DKIM1; k=rsa; p=";
    case R_TESTING:
        snprintf(buf, sizeof(buf), "%s; t=y", keys[k].record);
        return buf;
    case R_TWO:
        return keys[k].record;
    case R_GARBAGE:
        return "v=DKIM1; k=rsa; p=bm90IGEga2V5";
    default:
        return NULL;
    }
}

static dns_status
rstatus(rkind r)
{
    return r == R_NX ? DNS_NXDOMAIN : r == R_TEMP ? DNS_TEMPFAIL : DNS_OK;
}

/* build - the message of a case */
static char *
build(const dkim_case *c)
{
    char *m, *tmp;

    switch (c->m) {
    case M_RSA:
    case M_BODY:
    case M_HDR:
        m = sign(base_msg, K_RSA, "rsa", "example.com", DKIM_SIGN_RSASHA256);
        if (c->m == M_BODY)
            m = replace(m, "the body", "the b0dy");
        if (c->m == M_HDR)
            m = replace(m, "Subject: test message", "Subject: test massage");
        return m;
    case M_ED:
        return sign(base_msg, K_ED, "ed", "example.com", DKIM_SIGN_ED25519SHA256);
    case M_DUAL:
        tmp = sign(base_msg, K_RSA, "rsa", "example.com", DKIM_SIGN_RSASHA256);
        m = sign(tmp, K_ED, "ed", "example.com", DKIM_SIGN_ED25519SHA256);
        free(tmp);
        return m;
    case M_RSA1024:
        return sign(base_msg, K_RSA1024, "rsa", "example.com", DKIM_SIGN_RSASHA256);
    case M_SHA1:
        return sign(base_msg, K_RSA, "rsa", "example.com", DKIM_SIGN_RSASHA1);
    case M_RAW:
        return xasprintf("DKIM-Signature: %s\r\n%s", c->raw_sig, base_msg);
    case M_LONG:
        tmp = sign(base_msg, K_RSA, "rsa", "example.com", DKIM_SIGN_RSASHA256);
        m = xasprintf("DKIM-Signature: v=1; a=rsa-sha256; s=%0250d; d=example.com; h=from;"
                      " bh=AAAA; b=AAAA\r\n%s",
                      7, tmp);
        free(tmp);
        return m;
    case M_NONE:
        break;
    }
    return xstrdup(base_msg);
}

/* run_case - verify one case with body chunks of chunk bytes and check the expectations */
static void
run_case(const dkim_case *c, size_t chunk)
{
    int rsa = c->m == M_RSA1024 ? K_RSA1024 : K_RSA;
    zone_rr z[] = {
        {"rsa._domainkey.example.com", rstatus(c->rsa_rec), record_for(c->rsa_rec, rsa),
         c->rsa_rec == R_TWO ? keys[K_ED].record : NULL},
        {"ed._domainkey.example.com", rstatus(c->ed_rec), record_for(c->ed_rec, K_ED), NULL},
        {NULL, DNS_OK, NULL, NULL},
    };
    dns_cache *dns = dns_cache_new(NULL);
    const sdkim_sig_result *sigs;
    char *msg = build(c), err[256];
    sdkim_engine *e;
    sdkim_verify *v;
    sdkim_opts o;
    size_t n;
    int rc;

    sdkim_opts_defaults(&o);
    if (c->sha1_off)
        o.allow_rsa_sha1 = 0;
    if (c->min_bits)
        o.min_key_bits = c->min_bits;
    if (c->max_sigs)
        o.max_signatures = c->max_sigs;
    zone = z;
    dns_cache_set_resolver(dns, zone_resolve, NULL);
    e = sdkim_engine_new(dns, &o, err, sizeof(err));
    assert_non_null(e);
    v = sdkim_verify_new(e, "QID1", err, sizeof(err));
    assert_non_null(v);
    rc = feed(v, msg, chunk);
    if (rc != (c->skip ? SDKIM_VERIFY_SKIP : SDKIM_VERIFY_OK))
        fail_msg("%s: eoh gave %d (%s)", c->name, rc, sdkim_verify_error(v));
    assert_int_equal(sdkim_verify_eom(v, &sigs, &n), SDKIM_VERIFY_OK);
    if (n != c->n)
        fail_msg("%s: %zu results, expected %zu", c->name, n, c->n);
    for (size_t i = 0; i < n; i++) {
        if (sigs[i].result != c->want[i].r || strstr(sigs[i].reason, c->want[i].reason) == NULL)
            fail_msg("%s[%zu]: got %s (%s), want %s (%s)", c->name, i,
                     sdkim_result_name(sigs[i].result), sigs[i].reason,
                     sdkim_result_name(c->want[i].r), c->want[i].reason);
        assert_int_equal(sigs[i].testing, c->testing);
    }
    sdkim_verify_free(v);
    sdkim_engine_free(e);
    dns_cache_free(dns);
    free(msg);
}

static void
test_dkim_cases_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < SM_ARRAY_LEN(cases); i++)
        run_case(&cases[i], 65536);
}

static void
test_dkim_chunked_body_gives_same_results(void **state)
{
    static const size_t chunks[] = {1, 2, 3, 17, 1000};

    (void)state;
    for (size_t i = 0; i < SM_ARRAY_LEN(cases); i++)
        for (size_t k = 0; k < SM_ARRAY_LEN(chunks); k++)
            run_case(&cases[i], chunks[k]);
}

/* verify_simple - results for msg with every key published; v returned for inspection */
static sdkim_verify *
verify_simple(sdkim_engine *e, const char *msg, const sdkim_sig_result **sigs, size_t *n)
{
    char err[256];
    sdkim_verify *v = sdkim_verify_new(e, "QID2", err, sizeof(err));

    assert_non_null(v);
    feed(v, msg, 4096);
    assert_int_equal(sdkim_verify_eom(v, sigs, n), SDKIM_VERIFY_OK);
    return v;
}

static sdkim_engine *
engine_with_keys(dns_cache **dns_r)
{
    static zone_rr z[3];
    char err[256];
    sdkim_engine *e;

    z[0] = (zone_rr){"rsa._domainkey.example.com", DNS_OK, keys[K_RSA].record, NULL};
    z[1] = (zone_rr){"ed._domainkey.example.com", DNS_OK, keys[K_ED].record, NULL};
    zone = z;
    *dns_r = dns_cache_new(NULL);
    dns_cache_set_resolver(*dns_r, zone_resolve, NULL);
    e = sdkim_engine_new(*dns_r, NULL, err, sizeof(err));
    assert_non_null(e);
    return e;
}

static void
test_dkim_covers_signed_headers_only(void **state)
{
    dns_cache *dns;
    sdkim_engine *e = engine_with_keys(&dns);
    char *m = sign(base_msg, K_RSA, "rsa", "example.com", DKIM_SIGN_RSASHA256);
    const sdkim_sig_result *sigs;
    sdkim_verify *v;
    size_t n;

    (void)state;
    m = replace(m, "From: Alice", "X-Added: later\r\nFrom: Alice");
    v = verify_simple(e, m, &sigs, &n);
    assert_int_equal(n, 1);
    assert_int_equal(sigs[0].result, SDKIM_R_PASS); /* an unsigned extra header is harmless */
    assert_true(sdkim_sig_covers(&sigs[0], "List-Unsubscribe"));
    assert_true(sdkim_sig_covers(&sigs[0], "list-unsubscribe-post"));
    assert_true(sdkim_sig_covers(&sigs[0], "FROM"));
    assert_false(sdkim_sig_covers(&sigs[0], "X-Added"));
    assert_false(sdkim_sig_covers(&sigs[0], "List-Unsubscribe-Pos"));
    assert_false(sdkim_sig_covers(NULL, "From"));
    assert_string_equal(sigs[0].domain, "example.com");
    assert_string_equal(sigs[0].selector, "rsa");
    assert_string_equal(sigs[0].algorithm, "rsa-sha256");
    assert_int_equal(sigs[0].key_bits, 2048);
    sdkim_verify_free(v);
    free(m);
    sdkim_engine_free(e);
    dns_cache_free(dns);
}

static void
test_dkim_h_list_parsed_with_folding_and_case(void **state)
{
    dns_cache *dns;
    sdkim_engine *e = engine_with_keys(&dns);
    char *m = xasprintf("DKIM-Signature: v=1; a=rsa-sha256; d=Example.COM; s=rsa;\r\n"
                        "\th=From : Subject:\r\n\t List-Unsubscribe; bh=AAAA; b=AAAA\r\n%s",
                        base_msg);
    const sdkim_sig_result *sigs;
    size_t n;
    sdkim_verify *v = verify_simple(e, m, &sigs, &n);

    (void)state;
    assert_int_equal(n, 1);
    assert_int_not_equal(sigs[0].result, SDKIM_R_PASS);
    assert_string_equal(sigs[0].domain, "example.com");
    assert_int_equal(sigs[0].n_signed, 3);
    assert_string_equal(sigs[0].signed_headers[0], "from");
    assert_true(sdkim_sig_covers(&sigs[0], "list-unsubscribe"));
    assert_true(sdkim_sig_covers(&sigs[0], "Subject"));
    sdkim_verify_free(v);
    free(m);
    sdkim_engine_free(e);
    dns_cache_free(dns);
}

static void
test_dkim_message_budget_spent_gives_temperror(void **state)
{
    static zone_rr z[3];
    const sdkim_sig_result *sigs;
    dns_cache *dns = dns_cache_new(NULL);
    char *one = sign(base_msg, K_RSA, "rsa", "example.com", DKIM_SIGN_RSASHA256);
    char *two = sign(one, K_ED, "ed", "example.com", DKIM_SIGN_ED25519SHA256), err[256];
    sdkim_engine *e;
    sdkim_verify *v;
    sdkim_opts o;
    size_t n;

    (void)state;
    z[0] = (zone_rr){"rsa._domainkey.example.com", DNS_OK, keys[K_RSA].record, NULL};
    z[1] = (zone_rr){"ed._domainkey.example.com", DNS_OK, keys[K_ED].record, NULL};
    zone = z;
    dns_cache_set_resolver(dns, zone_resolve, NULL);
    sdkim_opts_defaults(&o);
    o.timeout_ms = 20;
    e = sdkim_engine_new(dns, &o, err, sizeof(err));
    assert_non_null(e);
    resolver_sleep_us = 50000; /* the first lookup spends the whole budget */
    v = verify_simple(e, two, &sigs, &n);
    resolver_sleep_us = 0;
    assert_int_equal(n, 2);
    assert_int_equal(sigs[0].result, SDKIM_R_PASS); /* ed: answered, late */
    assert_int_equal(sigs[1].result, SDKIM_R_TEMPERROR);
    sdkim_verify_free(v);
    sdkim_engine_free(e);
    dns_cache_free(dns);
    free(two);
    free(one);
}

static void
test_dkim_header_raw_keeps_exact_spacing_for_simple(void **state)
{
    dns_cache *dns;
    sdkim_engine *e = engine_with_keys(&dns);
    const sdkim_sig_result *sigs;
    sdkim_verify *v;
    char *m, *sm;
    size_t n;

    (void)state;
    m = replace(xstrdup(base_msg), "Subject: test message", "Subject:tight");
    m = replace(m, "To: bob", "To:  \tbob");
    sign_canon = DKIM_CANON_SIMPLE;
    sm = sign(m, K_RSA, "rsa", "example.com", DKIM_SIGN_RSASHA256);
    sign_canon = DKIM_CANON_RELAXED;
    feed_raw = 1; /* values with their own leading whitespace: exact */
    v = verify_simple(e, sm, &sigs, &n);
    feed_raw = 0;
    assert_int_equal(n, 1);
    assert_int_equal(sigs[0].result, SDKIM_R_PASS);
    sdkim_verify_free(v);
    v = verify_simple(e, sm, &sigs, &n); /* leading whitespace stripped, one space added */
    assert_int_equal(n, 1);
    assert_int_equal(sigs[0].result, SDKIM_R_FAIL);
    sdkim_verify_free(v);
    free(sm);
    free(m);
    sdkim_engine_free(e);
    dns_cache_free(dns);
}

static void
test_dkim_eom_twice_and_calls_after_eom_are_harmless(void **state)
{
    dns_cache *dns;
    sdkim_engine *e = engine_with_keys(&dns);
    char *m = sign(base_msg, K_ED, "ed", "example.com", DKIM_SIGN_ED25519SHA256);
    const sdkim_sig_result *sigs, *sigs2;
    size_t n, n2;
    sdkim_verify *v = verify_simple(e, m, &sigs, &n);

    (void)state;
    assert_int_equal(sdkim_verify_eom(v, &sigs2, &n2), SDKIM_VERIFY_OK);
    assert_ptr_equal(sigs, sigs2);
    assert_int_equal(n, n2);
    assert_int_equal(sdkim_verify_header(v, "X-Late", "1"), SDKIM_VERIFY_OK);
    assert_int_equal(sdkim_verify_body(v, (const unsigned char *)"x", 1), SDKIM_VERIFY_OK);
    assert_int_equal(sdkim_verify_eoh(v), SDKIM_VERIFY_OK);
    assert_null(sdkim_verify_free(NULL));
    assert_null(sdkim_verify_free(v));
    assert_int_equal(sdkim_verify_eom(NULL, &sigs, &n), SDKIM_VERIFY_ERROR);
    assert_int_equal(n, 0);
    free(m);
    sdkim_engine_free(e);
    dns_cache_free(dns);
}

static void
test_dkim_warm_cache_skips_dns(void **state)
{
    dns_cache *dns;
    sdkim_engine *e = engine_with_keys(&dns);
    char *m = sign(base_msg, K_RSA, "rsa", "example.com", DKIM_SIGN_RSASHA256);
    const sdkim_sig_result *sigs;
    size_t n;
    int calls;

    (void)state;
    sdkim_verify_free(verify_simple(e, m, &sigs, &n));
    calls = resolver_calls;
    sdkim_verify_free(verify_simple(e, m, &sigs, &n));
    assert_int_equal(resolver_calls, calls);
    free(m);
    sdkim_engine_free(e);
    dns_cache_free(dns);
}

/*
 * the second verification of a message signed with a known key decodes no key: the
 * record check (sdkim_key_fixup) and libopendkim's own d2i_PUBKEY_bio() are both
 * answered from the table of decoded keys
 */
static void
test_dkim_decoded_keys_reused_by_libopendkim(void **state)
{
    dns_cache *dns;
    sdkim_engine *e = engine_with_keys(&dns);
    char *m = sign(base_msg, K_RSA, "rsa", "example.com", DKIM_SIGN_RSASHA256);
    const sdkim_sig_result *sigs;
    unsigned long h0, m0, h1, m1;
    size_t n;

    (void)state;
    for (int i = 0; i < 4; i++) {
        sdkim_verify *v = verify_simple(e, m, &sigs, &n); /* owns sigs */

        assert_int_equal(n, 1);
        assert_int_equal(sigs[0].result, SDKIM_R_PASS);
        sdkim_verify_free(v);
        if (i == 0)
            sdkim_pkey_stats(&h0, &m0);
    }
    sdkim_pkey_stats(&h1, &m1);
    assert_int_equal(m1, m0);
    /* two decodes per message (record check, libopendkim), both from the table */
    assert_int_equal(h1 - h0, 3 * 2);
    free(m);
    sdkim_engine_free(e);
    dns_cache_free(dns);
}

/* bh_of - the bh= value of the first DKIM-Signature of msg, decoded; its length */
static size_t
bh_of(const char *msg, unsigned char *out)
{
    const char *p = strstr(msg, "bh=");
    char clean[128];
    size_t n = 0, pad = 0;

    assert_non_null(p);
    for (p += 3; *p != ';' && *p != '\0'; p++)
        if (!isspace((unsigned char)*p) && n + 1 < sizeof(clean)) {
            pad += *p == '=';
            clean[n++] = *p;
        }
    clean[n] = '\0';
    return (size_t)EVP_DecodeBlock(out, (unsigned char *)clean, (int)n) - pad;
}

/* body_gen - a random CRLF body: lines of letters, runs of SP/HTAB anywhere, empty and
 * whitespace-only lines, often trailing empty lines, sometimes empty altogether */
static char *
body_gen(unsigned *seed)
{
    static const char alphabet[] = "abcXYZ09.-=  \t\t";
    size_t lines, cap = 1, n = 0;
    char *b = xmalloc(cap);

    *seed = *seed * 1103515245u + 12345u;
    lines = (*seed >> 16) % 12;
    for (size_t l = 0; l < lines; l++) {
        size_t len;

        *seed = *seed * 1103515245u + 12345u;
        len = (*seed >> 16) % 5 == 0 ? 0 : (*seed >> 20) % 30;
        b = xrealloc(b, cap += len + 2);
        for (size_t i = 0; i < len; i++) {
            *seed = *seed * 1103515245u + 12345u;
            b[n++] = alphabet[(*seed >> 16) % (sizeof(alphabet) - 1)];
        }
        b[n++] = '\r';
        b[n++] = '\n';
    }
    b[n] = '\0';
    return b;
}

/*
 * differential: for random bodies our body hash (sdkim_bodyhash.c) equals the bh= that
 * libopendkim's own signer computes, simple and relaxed, sha256 and sha1, whole or in
 * chunks; and the verifier, which hashes bodies itself, passes those messages
 */
static void
test_dkim_bodyhash_matches_libopendkim_signer(void **state)
{
    static const struct {
        dkim_canon_t canon;
        dkim_alg_t alg;
    } modes[] = {{DKIM_CANON_RELAXED, DKIM_SIGN_RSASHA256},
                 {DKIM_CANON_SIMPLE, DKIM_SIGN_RSASHA256},
                 {DKIM_CANON_RELAXED, DKIM_SIGN_RSASHA1},
                 {DKIM_CANON_SIMPLE, DKIM_SIGN_RSASHA1}};
    dns_cache *dns;
    sdkim_engine *e = engine_with_keys(&dns);
    unsigned seed = 7;

    (void)state;
    for (int round = 0; round < 150; round++) {
        char *body = body_gen(&seed);

        for (size_t k = 0; k < SM_ARRAY_LEN(modes); k++) {
            char *msg = xasprintf("From: a@example.com\r\nSubject: x\r\n\r\n%s", body), *m;
            unsigned char want[EVP_MAX_MD_SIZE + 3], got[EVP_MAX_MD_SIZE];
            const EVP_MD *md = modes[k].alg == DKIM_SIGN_RSASHA1 ? EVP_sha1() : EVP_sha256();
            size_t wn, gn, blen = strlen(body), step = 1 + (size_t)round % 7;
            sdkim_bodyhash *b = sdkim_bodyhash_new(modes[k].canon == DKIM_CANON_RELAXED, md);
            const sdkim_sig_result *sigs;
            size_t n;

            sign_canon = modes[k].canon;
            m = sign(msg, K_RSA, "rsa", "example.com", modes[k].alg);
            wn = bh_of(m, want);
            for (size_t off = 0; off < blen; off += step)
                sdkim_bodyhash_update(b, (const unsigned char *)body + off,
                                      blen - off < step ? blen - off : step);
            gn = sdkim_bodyhash_final(b, got);
            sdkim_bodyhash_free(b);
            if (gn != wn || memcmp(got, want, gn) != 0)
                fail_msg("round %d mode %zu: body hash differs from libopendkim's for [%s]", round,
                         k, body);
            {
                sdkim_verify *v = verify_simple(e, m, &sigs, &n);
                char *tampered;

                if (n != 1 || sigs[0].result != SDKIM_R_PASS)
                    fail_msg("round %d mode %zu: verification gave %s", round, k,
                             n ? sigs[0].reason : "no result");
                sdkim_verify_free(v);
                /* one more line at the end: the body hash no longer matches */
                tampered = xasprintf("%sx\r\n", m);
                v = verify_simple(e, tampered, &sigs, &n);
                if (n != 1 || sigs[0].result != SDKIM_R_FAIL ||
                    strcmp(sigs[0].reason, "body hash mismatch") != 0)
                    fail_msg("round %d mode %zu: tampered body gave %s", round, k,
                             n ? sigs[0].reason : "no result");
                sdkim_verify_free(v);
                free(tampered);
            }
            free(m);
            free(msg);
        }
        free(body);
    }
    sign_canon = DKIM_CANON_RELAXED;
    sdkim_engine_free(e);
    dns_cache_free(dns);
}

/* the RFC 6376 cases where the canonical form is known by heart */
typedef struct {
    const char *name;
    int relaxed;
    const char *body;
    const char *canonical;
} bodyhash_case;

static const bodyhash_case bodyhash_cases[] = {
    {"simple_empty_body_is_one_crlf", 0, "", "\r\n"},
    {"relaxed_empty_body_is_nothing", 1, "", ""},
    {"simple_trailing_empty_lines_dropped", 0, "a\r\n\r\n\r\n", "a\r\n"},
    {"relaxed_whitespace_only_lines_at_end_dropped", 1, "a\r\n \t\r\n\r\n", "a\r\n"},
    {"relaxed_runs_become_one_space_and_trailing_go", 1, " a \t b\t \r\n", " a b\r\n"},
    {"simple_keeps_whitespace", 0, " a \t b\t \r\n", " a \t b\t \r\n"},
    {"empty_lines_inside_are_kept", 1, "a\r\n\r\n \r\nb\r\n\r\n", "a\r\n\r\n\r\nb\r\n"},
    {"simple_last_line_without_crlf_gets_one", 0, "a\r\nb", "a\r\nb\r\n"},
    {"relaxed_last_line_without_crlf_gets_one", 1, "a\r\nb  ", "a\r\nb\r\n"},
    {"bare_cr_is_a_character", 1, "a\rb\r\n", "a\rb\r\n"},
    {"bare_lf_is_a_character", 0, "a\nb\r\n", "a\nb\r\n"},
    {"cr_at_the_very_end_is_a_character", 0, "a\r", "a\r\r\n"},
};

static void
test_dkim_bodyhash_rfc6376_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < SM_ARRAY_LEN(bodyhash_cases); i++) {
        const bodyhash_case *c = &bodyhash_cases[i];
        unsigned char got[EVP_MAX_MD_SIZE], want[EVP_MAX_MD_SIZE];
        unsigned int wn = 0;
        size_t len = strlen(c->body);

        /* whole, then one byte at a time: the same digest */
        for (size_t step = len > 0 ? len : 1; step >= 1; step = step > 1 ? 1 : 0) {
            sdkim_bodyhash *b = sdkim_bodyhash_new(c->relaxed, EVP_sha256());
            size_t gn;

            for (size_t off = 0; off < len; off += step)
                sdkim_bodyhash_update(b, (const unsigned char *)c->body + off, step);
            gn = sdkim_bodyhash_final(b, got);
            sdkim_bodyhash_free(b);
            EVP_Digest(c->canonical, strlen(c->canonical), want, &wn, EVP_sha256(), NULL);
            if (gn != wn || memcmp(got, want, gn) != 0)
                fail_msg("%s (step %zu): not the hash of the expected canonical body", c->name,
                         step);
            if (step == 1)
                break;
        }
    }
}

/* l= is left to libopendkim: the signed part verifies, text appended after it does not
 * matter, and an l= beyond the body is a permerror */
static void
test_dkim_length_tag_left_to_libopendkim(void **state)
{
    dns_cache *dns;
    sdkim_engine *e = engine_with_keys(&dns);
    const sdkim_sig_result *sigs;
    char *m, *m2;
    size_t n;

    (void)state;
    sign_length = 8;
    m = sign("From: a@example.com\r\nSubject: x\r\n\r\nHello world.\r\n", K_RSA, "rsa",
             "example.com", DKIM_SIGN_RSASHA256);
    sign_length = -1;
    assert_non_null(strstr(m, "l=8"));
    sdkim_verify_free(verify_simple(e, m, &sigs, &n));
    m2 = xasprintf("%sappended after the signed length\r\n", m);
    {
        sdkim_verify *v = verify_simple(e, m2, &sigs, &n);

        assert_int_equal(n, 1);
        assert_int_equal(sigs[0].result, SDKIM_R_PASS);
        sdkim_verify_free(v);
    }
    free(m2);
    /* cut the body below l= */
    m2 = xstrdup(m);
    strcpy(strstr(m2, "\r\n\r\n") + 4, "Hi\r\n");
    {
        sdkim_verify *v = verify_simple(e, m2, &sigs, &n);

        assert_int_equal(n, 1);
        if (sigs[0].result != SDKIM_R_PERMERROR || strstr(sigs[0].reason, "l=") == NULL)
            fail_msg("short body under l=: got %s (%s)", sdkim_result_name(sigs[0].result),
                     sigs[0].reason);
        sdkim_verify_free(v);
    }
    free(m2);
    free(m);
    sdkim_engine_free(e);
    dns_cache_free(dns);
}

/* DER for the d2i_PUBKEY_bio() table: the RSA key, then that key with bytes after it */
typedef struct {
    const char *name;
    int trailing;  /* bytes of garbage after the key */
    int truncate;  /* bytes cut off the end */
    int reuse_arg; /* pass a non-NULL EVP_PKEY ** (OpenSSL's own path) */
    int file_bio;  /* a file BIO instead of a memory BIO (OpenSSL's own path) */
    int want_key;  /* a key comes back */
} pubkey_bio_case;

static const pubkey_bio_case pubkey_bio_cases[] = {
    {"mem_bio_exact_key", 0, 0, 0, 0, 1},
    {"mem_bio_key_then_garbage_consumes_key_only", 7, 0, 0, 0, 1},
    {"mem_bio_truncated_key_gives_null", 0, 5, 0, 0, 0},
    {"reuse_argument_goes_to_openssl", 0, 0, 1, 0, 1},
    {"file_bio_goes_to_openssl", 3, 0, 0, 1, 1},
};

static void
test_dkim_pubkey_bio_behaves_like_openssl(void **state)
{
    EVP_PKEY *ref;
    BIO *pb = BIO_new_mem_buf(keys[K_RSA].pem, -1);
    unsigned char *der = NULL, buf[4096];
    int derlen;

    (void)state;
    assert_non_null(pb);
    ref = PEM_read_bio_PrivateKey(pb, NULL, NULL, NULL);
    BIO_free(pb);
    assert_non_null(ref);
    derlen = i2d_PUBKEY(ref, &der);
    assert_true(derlen > 0 && (size_t)derlen + 16 < sizeof(buf));
    for (size_t i = 0; i < SM_ARRAY_LEN(pubkey_bio_cases); i++) {
        const pubkey_bio_case *c = &pubkey_bio_cases[i];
        int len = derlen + c->trailing - c->truncate;
        EVP_PKEY *out = NULL, *got;
        FILE *fp = NULL;
        BIO *b;

        memcpy(buf, der, (size_t)derlen);
        memset(buf + derlen, 'x', (size_t)c->trailing);
        if (c->file_bio) {
            fp = tmpfile();
            assert_non_null(fp);
            assert_int_equal(fwrite(buf, 1, (size_t)len, fp), (size_t)len);
            rewind(fp);
            b = BIO_new_fp(fp, BIO_NOCLOSE);
        } else {
            b = BIO_new_mem_buf(buf, len);
        }
        assert_non_null(b);
        got = d2i_PUBKEY_bio(b, c->reuse_arg ? &out : NULL);
        if ((got != NULL) != c->want_key)
            fail_msg("%s: got %s", c->name, got ? "a key" : "no key");
        if (got != NULL) {
            unsigned char rest[64];

            if (EVP_PKEY_eq(got, ref) != 1)
                fail_msg("%s: not the same key", c->name);
            /* the key was consumed from the BIO, the trailing bytes were not */
            if (!c->file_bio && BIO_read(b, rest, sizeof(rest)) != c->trailing)
                fail_msg("%s: BIO left at the wrong place", c->name);
            if (c->reuse_arg)
                assert_ptr_equal(got, out);
            EVP_PKEY_free(got);
        }
        BIO_free(b);
        if (fp != NULL)
            fclose(fp);
    }
    OPENSSL_free(der);
    EVP_PKEY_free(ref);
    sdkim_pkey_flush();
}

static void
test_dkim_key_published_cases(void **state)
{
    static char small[2048];
    const struct {
        const char *sel;
        dns_status st;
        const char *rec, *rec2;
        int want;
        const char *reason;
    } kc[] = {
        {"rsa", DNS_OK, keys[K_RSA].record, NULL, 1, NULL},
        {"ed", DNS_OK, keys[K_ED].record, NULL, 1, NULL},
        {"pkcs1", DNS_OK, keys[K_RSA].pkcs1, NULL, 1, NULL},
        {"nokv", DNS_OK, strstr(keys[K_RSA].record, "p="), NULL, 1, NULL},
        {"revoked", DNS_OK, "v=DKIM1; k=rsa; p=", NULL, 0, "revoked"},
        {"nop", DNS_OK, "v=DKIM1; k=rsa", NULL, 0, "p= missing"},
        {"v2", DNS_OK, "v=DKIM2; p=AAAA", NULL, 0, "v="},
        {"vlate", DNS_OK, "k=rsa; v=DKIM1; p=AAAA", NULL, 0, "v="},
        {"kx", DNS_OK, "v=DKIM1; k=dsa; p=AAAA", NULL, 0, "k="},
        {"svc", DNS_OK, "v=DKIM1; s=tlsrpt; p=AAAA", NULL, 0, "s="},
        {"b64", DNS_OK, "v=DKIM1; p=@@@@", NULL, 0, "base64"},
        {"trunc", DNS_OK, "v=DKIM1; p=bm90IGEga2V5", NULL, 0, "decoded"},
        {"junk", DNS_OK, "this is not a key", NULL, 0, "syntax"},
        {"small", DNS_OK, small, NULL, 0, "too small"},
        {"second", DNS_OK, "v=spf1 -all", keys[K_ED].record, 1, NULL},
        {"nx", DNS_NXDOMAIN, NULL, NULL, 0, "no key"},
        {"nodata", DNS_NODATA, NULL, NULL, 0, "no key"},
        {"temp", DNS_TEMPFAIL, NULL, NULL, -1, "temporary"},
    };
    zone_rr z[SM_ARRAY_LEN(kc) + 1];
    char *names[SM_ARRAY_LEN(kc)], err[256];
    dns_cache *dns = dns_cache_new(NULL);
    sdkim_opts o;
    sdkim_engine *e;

    (void)state;
    snprintf(small, sizeof(small), "%s", keys[K_RSA1024].record);
    memset(z, 0, sizeof(z));
    for (size_t i = 0; i < SM_ARRAY_LEN(kc); i++) {
        names[i] = xasprintf("%s._domainkey.example.org", kc[i].sel);
        z[i] = (zone_rr){names[i], kc[i].st, kc[i].rec, kc[i].rec2};
    }
    zone = z;
    sdkim_opts_defaults(&o);
    o.min_key_bits = 2048;
    dns_cache_set_resolver(dns, zone_resolve, NULL);
    e = sdkim_engine_new(dns, &o, err, sizeof(err));
    assert_non_null(e);
    for (size_t i = 0; i < SM_ARRAY_LEN(kc); i++) {
        int got;

        err[0] = '\0';
        got = sdkim_key_published(e, kc[i].sel, "example.org", util_now_ms() + 1000, err,
                                  sizeof(err));
        if (got != kc[i].want || (kc[i].reason != NULL && strstr(err, kc[i].reason) == NULL))
            fail_msg("selector %s: got %d (%s), want %d (%s)", kc[i].sel, got, err, kc[i].want,
                     kc[i].reason ? kc[i].reason : "");
    }
    for (size_t i = 0; i < SM_ARRAY_LEN(kc); i++)
        free(names[i]);
    assert_int_equal(sdkim_key_published(e, "bad sel", "example.org", 0, err, sizeof(err)), 0);
    assert_int_equal(sdkim_key_published(e, "rsa", "", 0, err, sizeof(err)), 0);
    assert_int_equal(sdkim_key_published(NULL, "rsa", "example.org", 0, err, sizeof(err)), 0);
    sdkim_engine_free(e);
    dns_cache_free(dns);
}

static void
test_dkim_engine_needs_dns(void **state)
{
    char err[128] = "";

    (void)state;
    assert_null(sdkim_engine_new(NULL, NULL, err, sizeof(err)));
    assert_true(err[0] != '\0');
    assert_null(sdkim_verify_new(NULL, "Q", err, sizeof(err)));
    assert_null(sdkim_engine_free(NULL));
}

/* ---- bench ---- */

static int
bench(long n)
{
    dns_cache *dns;
    sdkim_engine *e = engine_with_keys(&dns);
    char *m[2] = {sign(base_msg, K_RSA, "rsa", "example.com", DKIM_SIGN_RSASHA256),
                  sign(base_msg, K_ED, "ed", "example.com", DKIM_SIGN_ED25519SHA256)};
    const char *label[2] = {"rsa-sha256 (2048)", "ed25519-sha256"};

    for (int k = 0; k < 2; k++) {
        const sdkim_sig_result *sigs;
        size_t cnt;
        uint64_t t0;

        sdkim_verify_free(verify_simple(e, m[k], &sigs, &cnt)); /* warm the cache */
        t0 = util_now_ms();
        for (long i = 0; i < n; i++) {
            sdkim_verify *v = verify_simple(e, m[k], &sigs, &cnt);

            if (cnt != 1 || sigs[0].result != SDKIM_R_PASS)
                return 1;
            sdkim_verify_free(v);
        }
        printf("dkim bench: %s, %zu-byte message, warm DNS cache: %ld verifications in %llu ms "
               "= %.1f us/message\n",
               label[k], strlen(m[k]), n, (unsigned long long)(util_now_ms() - t0),
               1000.0 * (double)(util_now_ms() - t0) / (double)n);
        free(m[k]);
    }
    sdkim_engine_free(e);
    dns_cache_free(dns);
    {
        /* the body hasher alone on a 700 KB body: base64 lines, then text lines */
        static const char *kind[2] = {"base64 lines", "text lines"};
        size_t blen = 700 * 1024;
        unsigned char *body = xmalloc(blen), digest[EVP_MAX_MD_SIZE];

        for (int t = 0; t < 2; t++) {
            for (size_t i = 0; i < blen; i++)
                body[i] = i % 78 == 76           ? '\r'
                          : i % 78 == 77         ? '\n'
                          : t == 1 && i % 6 == 5 ? ' '
                                                 : (unsigned char)('A' + i % 26);
            for (int relaxed = 0; relaxed < 2; relaxed++) {
                uint64_t t0 = util_now_ms();
                int reps = 50;

                for (int r = 0; r < reps; r++) {
                    sdkim_bodyhash *b = sdkim_bodyhash_new(relaxed, EVP_sha256());

                    sdkim_bodyhash_update(b, body, blen);
                    sdkim_bodyhash_final(b, digest);
                    sdkim_bodyhash_free(b);
                }
                printf("dkim bench: body hash %s, %s, 700 KiB: %.2f ms/body\n",
                       relaxed ? "relaxed" : "simple", kind[t],
                       (double)(util_now_ms() - t0) / reps);
            }
        }
        free(body);
    }
    return 0;
}

static int
setup_keys(void **state)
{
    (void)state;
    for (int k = 0; k < K_N; k++)
        key_make(k);
    return 0;
}

static int
teardown_keys(void **state)
{
    (void)state;
    for (int k = 0; k < K_N; k++) {
        free(keys[k].pem);
        free(keys[k].record);
        free(keys[k].pkcs1);
    }
    return 0;
}

int
main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dkim_cases_table),
        cmocka_unit_test(test_dkim_chunked_body_gives_same_results),
        cmocka_unit_test(test_dkim_covers_signed_headers_only),
        cmocka_unit_test(test_dkim_h_list_parsed_with_folding_and_case),
        cmocka_unit_test(test_dkim_header_raw_keeps_exact_spacing_for_simple),
        cmocka_unit_test(test_dkim_message_budget_spent_gives_temperror),
        cmocka_unit_test(test_dkim_eom_twice_and_calls_after_eom_are_harmless),
        cmocka_unit_test(test_dkim_warm_cache_skips_dns),
        cmocka_unit_test(test_dkim_key_published_cases),
        cmocka_unit_test(test_dkim_decoded_keys_reused_by_libopendkim),
        cmocka_unit_test(test_dkim_pubkey_bio_behaves_like_openssl),
        cmocka_unit_test(test_dkim_bodyhash_matches_libopendkim_signer),
        cmocka_unit_test(test_dkim_bodyhash_rfc6376_cases),
        cmocka_unit_test(test_dkim_length_tag_left_to_libopendkim),
        cmocka_unit_test(test_dkim_engine_needs_dns),
    };

    if (argc == 3 && strcmp(argv[1], "--bench") == 0) {
        int rc;

        setup_keys(NULL);
        rc = bench(atol(argv[2]));
        teardown_keys(NULL);
        return rc;
    }
    return cmocka_run_group_tests(tests, setup_keys, teardown_keys);
}
