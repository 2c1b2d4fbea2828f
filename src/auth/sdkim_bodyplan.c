/*
 * sdkim_bodyplan.c - which body hashes a message's signatures need, and whether they match
 *
 * SYNOPSIS
 *   p = sdkim_bodyplan_new(dk);          at end of headers; NULL: libopendkim hashes the body
 *   sdkim_bodyplan_update(p, chunk, len) ...
 *   sdkim_bodyplan_final(p);             at end of message
 *   ok = sdkim_bodyplan_match(p, sig);   1: our hash equals the signature's bh=, 0: it does not
 *   p = sdkim_bodyplan_free(p);
 *
 * DESCRIPTION
 *   sdkim.c gives libopendkim no body when this plan exists: one hasher
 *   (sdkim_bodyhash.c) per canonicalisation and digest the signatures ask
 *   for, at most four.  Signatures libopendkim ignores or has already
 *   refused need none.  A signature with l=, or with a body
 *   canonicalisation or algorithm this file does not know, makes the plan
 *   NULL: the whole message then goes to libopendkim as before.
 *
 * DIAGNOSTICS
 *   None: a digest that failed matches nothing.
 *
 * SECURITY
 *   bh= is untrusted; it is decoded by sdkim_key_b64_decode() (whitespace
 *   skipped, bounded) and compared by length and bytes.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include <opendkim/dkim.h>

#include "auth/sdkim_int.h"
#include "lib/util.h"

#define SDKIM_BODYPLAN_MAX 4 /* simple/relaxed x sha1/sha256 */

struct sdkim_bodyplan {
    struct {
        int relaxed;
        const EVP_MD *md;
        sdkim_bodyhash *b;
        unsigned char digest[EVP_MAX_MD_SIZE];
        size_t len; /* 0 until computed, or when the digest failed */
    } h[SDKIM_BODYPLAN_MAX];
    size_t n;
};

/* sdkim_bodyplan_sig - a signature's body canonicalisation and digest; 0 if unknown here */
static int
sdkim_bodyplan_sig(DKIM_SIGINFO *sig, int *relaxed, const EVP_MD **md)
{
    dkim_canon_t hc, bc;
    dkim_alg_t alg;

    if (dkim_sig_getcanons(sig, &hc, &bc) != DKIM_STAT_OK ||
        dkim_sig_getsignalg(sig, &alg) != DKIM_STAT_OK)
        return 0;
    if (bc != DKIM_CANON_SIMPLE && bc != DKIM_CANON_RELAXED)
        return 0;
    *relaxed = bc == DKIM_CANON_RELAXED;
    if (alg == DKIM_SIGN_RSASHA1)
        *md = EVP_sha1();
    else if (alg == DKIM_SIGN_RSASHA256 || alg == DKIM_SIGN_ED25519SHA256)
        *md = EVP_sha256();
    else
        return 0;
    return 1;
}

/* sdkim_bodyplan_find - the hasher for this canonicalisation and digest, or -1 */
static int
sdkim_bodyplan_find(const sdkim_bodyplan *p, int relaxed, const EVP_MD *md)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->h[i].relaxed == relaxed && p->h[i].md == md)
            return (int)i;
    return -1;
}

sdkim_bodyplan *
sdkim_bodyplan_new(struct dkim *dk)
{
    DKIM_SIGINFO **sigs = NULL;
    sdkim_bodyplan *p;
    int nsigs = 0;

    if (dkim_getsiglist(dk, &sigs, &nsigs) != DKIM_STAT_OK || nsigs <= 0)
        return NULL;
    p = xcalloc(1, sizeof(*p));
    for (int i = 0; i < nsigs; i++) {
        int relaxed, serr = dkim_sig_geterror(sigs[i]);
        const EVP_MD *md;

        /* ignored or already refused: its body hash is never looked at */
        if ((dkim_sig_getflags(sigs[i]) & DKIM_SIGFLAG_IGNORE) != 0 ||
            (serr != DKIM_SIGERROR_UNKNOWN && serr != DKIM_SIGERROR_OK))
            continue;
        if (dkim_sig_gettagvalue(sigs[i], 0, (u_char *)"l") != NULL ||
            !sdkim_bodyplan_sig(sigs[i], &relaxed, &md))
            return sdkim_bodyplan_free(p);
        if (sdkim_bodyplan_find(p, relaxed, md) < 0) {
            p->h[p->n].relaxed = relaxed;
            p->h[p->n].md = md;
            p->h[p->n++].b = sdkim_bodyhash_new(relaxed, md);
        }
    }
    return p;
}

void
sdkim_bodyplan_update(sdkim_bodyplan *p, const unsigned char *chunk, size_t len)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->h[i].b != NULL)
            sdkim_bodyhash_update(p->h[i].b, chunk, len);
}

void
sdkim_bodyplan_final(sdkim_bodyplan *p)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->h[i].b != NULL) {
            p->h[i].len = sdkim_bodyhash_final(p->h[i].b, p->h[i].digest);
            p->h[i].b = sdkim_bodyhash_free(p->h[i].b);
        }
}

int
sdkim_bodyplan_match(const sdkim_bodyplan *p, struct dkim_siginfo *sig)
{
    const unsigned char *bh = dkim_sig_gettagvalue(sig, 0, (u_char *)"bh");
    unsigned char *want;
    const EVP_MD *md;
    size_t n = 0;
    int relaxed, k, ok;

    if (bh == NULL || !sdkim_bodyplan_sig(sig, &relaxed, &md) ||
        (k = sdkim_bodyplan_find(p, relaxed, md)) < 0 || p->h[k].len == 0 ||
        (want = sdkim_key_b64_decode((const char *)bh, strlen((const char *)bh), &n)) == NULL)
        return 0;
    ok = n == p->h[k].len && memcmp(want, p->h[k].digest, n) == 0;
    free(want);
    return ok;
}

sdkim_bodyplan *
sdkim_bodyplan_free(sdkim_bodyplan *p)
{
    if (p != NULL) {
        for (size_t i = 0; i < p->n; i++)
            sdkim_bodyhash_free(p->h[i].b);
        free(p);
    }
    return NULL;
}
