/*
 * fuzz_bodyhash.c - libFuzzer target: our DKIM body hash against libopendkim's
 *
 * Purpose: the input is a message body.  It is first made into what an MTA
 * hands a milter (every CR and LF not part of a CRLF pair becomes CRLF,
 * and a body that does not end with CRLF gets one), then hashed by
 * src/auth/sdkim_bodyhash.c and by libopendkim's own signer, under simple and
 * relaxed canonicalisation, in one piece and in chunks whose sizes come from
 * the input.  Checked invariant (abort otherwise, so libFuzzer records the
 * input): every one of our digests equals the bh= libopendkim writes.
 * The RSA key for the signer is made once, at the first input.
 * Built only with ./configure --enable-fuzzing CC=clang (mk/dkim.am).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <opendkim/dkim.h>

#include "auth/sdkim_int.h"
#include "lib/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static DKIM_LIB *fuzz_lib;
static char *fuzz_pem; /* the signer's private key */

/* fuzz_check - abort unless cond holds */
static void
fuzz_check(int cond)
{
    if (!cond)
        abort();
}

/* fuzz_setup - the library handle and an RSA-1024 key, once */
static void
fuzz_setup(void)
{
    EVP_PKEY *pk = EVP_RSA_gen(1024);
    BIO *b = BIO_new(BIO_s_mem());
    char *p;
    long n;

    fuzz_check(pk != NULL && b != NULL);
    fuzz_check(PEM_write_bio_PrivateKey(b, pk, NULL, NULL, 0, NULL, NULL) == 1);
    n = BIO_get_mem_data(b, &p);
    fuzz_pem = xstrndup(p, (size_t)n);
    BIO_free(b);
    EVP_PKEY_free(pk);
    fuzz_lib = dkim_init(NULL, NULL);
    fuzz_check(fuzz_lib != NULL);
}

/* fuzz_crlf - the body with CRLF line ends only, ending in CRLF (or empty) */
static unsigned char *
fuzz_crlf(const uint8_t *d, size_t n, size_t *len_r)
{
    unsigned char *out = xmalloc(2 * n + 3);
    size_t o = 0;

    for (size_t i = 0; i < n; i++) {
        if (d[i] == '\r' && i + 1 < n && d[i + 1] == '\n') {
            out[o++] = '\r';
            out[o++] = '\n';
            i++;
        } else if (d[i] == '\r' || d[i] == '\n') {
            out[o++] = '\r';
            out[o++] = '\n';
        } else {
            out[o++] = d[i];
        }
    }
    if (o > 0 && !(o >= 2 && out[o - 2] == '\r' && out[o - 1] == '\n')) {
        out[o++] = '\r';
        out[o++] = '\n';
    }
    *len_r = o;
    return out;
}

/* fuzz_libopendkim_bh - the bh= libopendkim's signer writes for body, decoded; its length */
static size_t
fuzz_libopendkim_bh(dkim_canon_t canon, const unsigned char *body, size_t len, unsigned char *out)
{
    static const char hdr[] = "From: a@example.com";
    unsigned char sig[4096], clean[128];
    const char *p;
    size_t n = 0, pad = 0;
    DKIM_STAT st;
    DKIM *dk = dkim_sign(fuzz_lib, (const unsigned char *)"F", NULL, (dkim_sigkey_t)fuzz_pem,
                         (const unsigned char *)"s", (const unsigned char *)"example.com", canon,
                         canon, DKIM_SIGN_RSASHA256, -1, &st);

    fuzz_check(dk != NULL);
    fuzz_check(dkim_header(dk, (u_char *)hdr, sizeof(hdr) - 1) == DKIM_STAT_OK);
    fuzz_check(dkim_eoh(dk) == DKIM_STAT_OK);
    if (len > 0)
        fuzz_check(dkim_body(dk, (u_char *)body, len) == DKIM_STAT_OK);
    fuzz_check(dkim_eom(dk, NULL) == DKIM_STAT_OK);
    fuzz_check(dkim_getsighdr(dk, sig, sizeof(sig), 0) == DKIM_STAT_OK);
    dkim_free(dk);
    p = strstr((const char *)sig, "bh=");
    fuzz_check(p != NULL);
    for (p += 3; *p != ';' && *p != '\0'; p++)
        if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n' && n + 1 < sizeof(clean)) {
            pad += *p == '=';
            clean[n++] = (unsigned char)*p;
        }
    return (size_t)EVP_DecodeBlock(out, clean, (int)n) - pad;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t len, step = size > 0 ? 1 + data[0] % 97 : 1;
    unsigned char *body;

    if (fuzz_lib == NULL)
        fuzz_setup();
    if (size > 8192) /* small bodies hold every case; more of them per second */
        return 0;
    body = fuzz_crlf(data, size, &len);
    for (int relaxed = 0; relaxed < 2; relaxed++) {
        unsigned char want[EVP_MAX_MD_SIZE + 3], got[EVP_MAX_MD_SIZE];
        size_t wn =
            fuzz_libopendkim_bh(relaxed ? DKIM_CANON_RELAXED : DKIM_CANON_SIMPLE, body, len, want);

        for (int chunked = 0; chunked < 2; chunked++) {
            sdkim_bodyhash *b = sdkim_bodyhash_new(relaxed, EVP_sha256());
            size_t gn, s = chunked ? step : (len > 0 ? len : 1);

            for (size_t off = 0; off < len; off += s)
                sdkim_bodyhash_update(b, body + off, len - off < s ? len - off : s);
            gn = sdkim_bodyhash_final(b, got);
            sdkim_bodyhash_free(b);
            fuzz_check(gn == wn && memcmp(got, want, gn) == 0);
        }
    }
    free(body);
    return 0;
}
