/*
 * sdkim_pkey.c - decoded DKIM public keys, cached by their DER bytes
 *
 * SYNOPSIS
 *   pk = sdkim_pkey_decode(der, len, &used);   a new reference, or NULL
 *   EVP_PKEY_free(pk);
 *   sdkim_pkey_stats(&hits, &misses);
 *   sdkim_pkey_flush();
 *
 * DESCRIPTION
 *   With OpenSSL 3, decoding a SubjectPublicKeyInfo builds a decoder
 *   context on every call: for a 2048-bit RSA key it costs several times
 *   the RSA verification itself, and a signed message needs its key
 *   decoded two or three times (the record check in sdkim_key.c, the
 *   predicted signer's published key, libopendkim's verification).
 *   Every sender signs with a handful of keys, so the decoded keys are
 *   kept: sdkim_pkey_decode() answers d2i_PUBKEY() from a small table
 *   keyed by the exact DER bytes.  The same bytes always decode to the
 *   same key, so nothing here can go stale; a rotated key is new bytes.
 *
 *   libopendkim decodes the key of each signature with d2i_PUBKEY_bio() on
 *   a memory BIO and offers no way to hand it a decoded key.  This file
 *   therefore defines d2i_PUBKEY_bio() itself: the executable's definition
 *   takes precedence over libcrypto's for every shared library (ELF symbol
 *   interposition, the way malloc replacements work).  A memory BIO with no
 *   reuse argument is answered from the table and advanced past the key,
 *   as OpenSSL would; any other call does exactly what OpenSSL's own
 *   d2i_PUBKEY_bio() does (ASN1_d2i_bio_of with d2i_PUBKEY).
 *
 *   The keys are shared between threads, each caller holding its own
 *   reference.  Verification only reads a key; OpenSSL locks the one
 *   thing it caches inside it (the legacy RSA copy libopendkim asks for).
 *
 * DIAGNOSTICS
 *   None: a key that does not decode is NULL, with OpenSSL's error queue
 *   as d2i_PUBKEY() leaves it.
 *
 * SECURITY
 *   The DER is untrusted DNS data; OpenSSL parses it.  The table holds at
 *   most SDKIM_PKEY_SLOTS keys of at most SDKIM_PKEY_MAX_DER bytes; larger
 *   keys are decoded every time.
 */
#include "config.h"

#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "auth/sdkim_int.h"

#define SDKIM_PKEY_SLOTS 64
#define SDKIM_PKEY_MAX_DER 4096 /* SPKI of an RSA-16384 key is about 2.1 KB */

struct sdkim_pkey_slot {
    unsigned char *der; /* NULL: free */
    size_t len;
    uint64_t hash;
    EVP_PKEY *pk;  /* one reference, the table's */
    uint64_t used; /* clock of the last hit, for replacement */
};

static pthread_mutex_t sdkim_pkey_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sdkim_pkey_slot sdkim_pkey_tab[SDKIM_PKEY_SLOTS];
static uint64_t sdkim_pkey_clock, sdkim_pkey_hits, sdkim_pkey_misses;

/* sdkim_pkey_hash - FNV-1a over the first len bytes */
static uint64_t
sdkim_pkey_hash(const unsigned char *p, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ULL;

    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 0x100000001b3ULL;
    return h;
}

/*
 * sdkim_pkey_derlen - the length of the DER SEQUENCE at the start of der (its header
 * included), or 0 when der does not start with a complete one
 */
static size_t
sdkim_pkey_derlen(const unsigned char *der, size_t len)
{
    size_t n, hdr = 2;

    if (len < 2 || der[0] != 0x30)
        return 0;
    n = der[1];
    if (n & 0x80) {
        size_t k = n & 0x7f;

        if (k == 0 || k > 3 || len < 2 + k)
            return 0;
        n = 0;
        for (size_t i = 0; i < k; i++)
            n = n << 8 | der[2 + i];
        hdr += k;
    }
    return n <= len - hdr ? hdr + n : 0;
}

/* sdkim_pkey_lookup - a new reference to the key stored under these DER bytes (lock held) */
static EVP_PKEY *
sdkim_pkey_lookup(const unsigned char *der, size_t len, uint64_t hash)
{
    for (size_t i = 0; i < SDKIM_PKEY_SLOTS; i++) {
        struct sdkim_pkey_slot *s = &sdkim_pkey_tab[i];

        if (s->der == NULL || s->len != len || s->hash != hash || memcmp(s->der, der, len) != 0 ||
            !EVP_PKEY_up_ref(s->pk))
            continue;
        s->used = ++sdkim_pkey_clock;
        return s->pk;
    }
    return NULL;
}

/* sdkim_pkey_store - keep a reference to pk under its DER (lock held); replaces the oldest */
static void
sdkim_pkey_store(const unsigned char *der, size_t len, uint64_t hash, EVP_PKEY *pk)
{
    struct sdkim_pkey_slot *victim = &sdkim_pkey_tab[0];
    unsigned char *copy;

    for (size_t i = 0; i < SDKIM_PKEY_SLOTS; i++) {
        struct sdkim_pkey_slot *s = &sdkim_pkey_tab[i];

        if (s->der != NULL && s->len == len && memcmp(s->der, der, len) == 0)
            return; /* another thread stored it meanwhile */
        if (s->der == NULL || (victim->der != NULL && s->used < victim->used))
            victim = s;
    }
    if ((copy = malloc(len)) == NULL || !EVP_PKEY_up_ref(pk)) {
        free(copy);
        return;
    }
    if (victim->der != NULL) {
        free(victim->der);
        EVP_PKEY_free(victim->pk);
    }
    memcpy(copy, der, len);
    victim->der = copy;
    victim->len = len;
    victim->hash = hash;
    victim->pk = pk;
    victim->used = ++sdkim_pkey_clock;
}

EVP_PKEY *
sdkim_pkey_decode(const unsigned char *der, size_t len, size_t *used)
{
    const unsigned char *p = der;
    EVP_PKEY *pk = NULL;
    size_t n;
    uint64_t hash = 0;

    if (der == NULL || len == 0 || len > LONG_MAX)
        return NULL;
    /*
     * DER is self-delimiting: the key is the SEQUENCE at the start, whatever
     * follows it, and d2i_PUBKEY() would decode exactly those bytes
     */
    n = sdkim_pkey_derlen(der, len);
    if (n > 0 && n <= SDKIM_PKEY_MAX_DER) {
        hash = sdkim_pkey_hash(der, n);
        pthread_mutex_lock(&sdkim_pkey_lock);
        pk = sdkim_pkey_lookup(der, n, hash);
        if (pk != NULL)
            sdkim_pkey_hits++;
        else
            sdkim_pkey_misses++;
        pthread_mutex_unlock(&sdkim_pkey_lock);
    }
    if (pk == NULL) {
        /* decoded outside the lock: the slow part */
        if ((pk = d2i_PUBKEY(NULL, &p, (long)len)) == NULL)
            return NULL;
        if ((size_t)(p - der) != n)
            n = (size_t)(p - der); /* not what the header said: decoded, not kept */
        else if (n <= SDKIM_PKEY_MAX_DER) {
            pthread_mutex_lock(&sdkim_pkey_lock);
            sdkim_pkey_store(der, n, hash, pk);
            pthread_mutex_unlock(&sdkim_pkey_lock);
        }
    }
    if (used != NULL)
        *used = n;
    return pk;
}

void
sdkim_pkey_stats(unsigned long *hits, unsigned long *misses)
{
    pthread_mutex_lock(&sdkim_pkey_lock);
    *hits = (unsigned long)sdkim_pkey_hits;
    *misses = (unsigned long)sdkim_pkey_misses;
    pthread_mutex_unlock(&sdkim_pkey_lock);
}

void
sdkim_pkey_flush(void)
{
    pthread_mutex_lock(&sdkim_pkey_lock);
    for (size_t i = 0; i < SDKIM_PKEY_SLOTS; i++) {
        struct sdkim_pkey_slot *s = &sdkim_pkey_tab[i];

        if (s->der != NULL) {
            free(s->der);
            EVP_PKEY_free(s->pk);
        }
        memset(s, 0, sizeof(*s));
    }
    pthread_mutex_unlock(&sdkim_pkey_lock);
}

/*
 * d2i_PUBKEY_bio - OpenSSL's function, answered from the table for the
 * memory BIOs libopendkim passes (see DESCRIPTION)
 */
EVP_PKEY *
d2i_PUBKEY_bio(BIO *bp, EVP_PKEY **a)
{
    char *data = NULL;
    long avail;
    size_t used = 0;
    EVP_PKEY *pk;

    if (a != NULL || bp == NULL || BIO_method_type(bp) != BIO_TYPE_MEM ||
        (avail = BIO_get_mem_data(bp, &data)) <= 0 || data == NULL)
        return ASN1_d2i_bio_of(EVP_PKEY, EVP_PKEY_new, d2i_PUBKEY, bp, a);
    pk = sdkim_pkey_decode((const unsigned char *)data, (size_t)avail, &used);
    /* consume the key from the BIO, as ASN1_d2i_bio() would */
    while (pk != NULL && used > 0) {
        unsigned char skip[512];
        int r = BIO_read(bp, skip, (int)(used < sizeof(skip) ? used : sizeof(skip)));

        if (r <= 0)
            break;
        used -= (size_t)r;
    }
    return pk;
}
