/*
 * dkim_int.h - what the DKIM verifier (dkim.c), its DNS hooks (dkim_wire.c),
 * the key-record code (dkim_key.c), the decoded-key table (dkim_pkey.c), the
 * body hasher (dkim_bodyhash.c) and its per-message plan (dkim_bodyplan.c) share
 *
 * Not part of the API: everything outside these files goes through
 * dkim.h.  This header does not include <opendkim/dkim.h>: the engine
 * names libopendkim's library handle by its struct tag (DKIM_LIB is
 * "struct dkim_lib"), so dkim_key.c needs neither libopendkim nor the
 * dkim_verify() rename described in dkim.h.
 */
#ifndef SM_DKIM_INT_H
#define SM_DKIM_INT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/types.h>

#include "auth/dkim.h"
#include "lib/dns.h"

struct dkim_lib; /* libopendkim's DKIM_LIB */

struct dkim_engine {
    struct dkim_lib *lib; /* DKIM_LIB * */
    dns_cache *dns;       /* borrowed */
    dkim_opts opts;
};

/* dkim_wire_deadline - deadline of the verifier running on this thread (0: the engine's
 * timeout); the lookups run inside dkim_eoh()/dkim_eom() */
extern __thread uint64_t dkim_wire_deadline;
/* dkim_wire_install - route libopendkim's key lookups through e->dns (dkim_wire.c) */
void dkim_wire_install(dkim_engine *e);

/* dkim_key_fixup - a bare PKCS#1 RSA key record rewritten with an SPKI p=; NULL: keep as is */
char *dkim_key_fixup(const char *rec, size_t len, size_t *newlen);

/* dkim_bodyhash - a body hash under one canonicalisation (dkim_bodyhash.c); not for l= signatures
 */
typedef struct dkim_bodyhash dkim_bodyhash;
/* dkim_bodyhash_new - relaxed (1) or simple (0) canonicalisation hashed with md */
dkim_bodyhash *dkim_bodyhash_new(int relaxed, const EVP_MD *md);
/* dkim_bodyhash_update - the next body bytes, as the MTA sends them (CRLF lines) */
void dkim_bodyhash_update(dkim_bodyhash *b, const unsigned char *p, size_t len);
/* dkim_bodyhash_final - the digest into digest[EVP_MAX_MD_SIZE]; its length, 0 on failure */
size_t dkim_bodyhash_final(dkim_bodyhash *b, unsigned char *digest);
/* dkim_bodyhash_free - returns NULL */
dkim_bodyhash *dkim_bodyhash_free(dkim_bodyhash *b);

/* dkim_bodyplan - the body hashes a message's signatures need (dkim_bodyplan.c) */
typedef struct dkim_bodyplan dkim_bodyplan;
struct dkim;         /* libopendkim's DKIM */
struct dkim_siginfo; /* libopendkim's DKIM_SIGINFO */
/* dkim_bodyplan_new - after dkim_eoh(); NULL when libopendkim must hash the body (l=, ...) */
dkim_bodyplan *dkim_bodyplan_new(struct dkim *dk);
void dkim_bodyplan_update(dkim_bodyplan *p, const unsigned char *chunk, size_t len);
void dkim_bodyplan_final(dkim_bodyplan *p);
/* dkim_bodyplan_match - after final: 1 when our hash equals the signature's bh=, else 0 */
int dkim_bodyplan_match(const dkim_bodyplan *p, struct dkim_siginfo *sig);
dkim_bodyplan *dkim_bodyplan_free(dkim_bodyplan *p);

/* dkim_key_b64_decode - base64 with embedded whitespace, decoded (length in *out_len), or NULL */
unsigned char *dkim_key_b64_decode(const char *in, size_t len, size_t *out_len);

/* dkim_pkey_decode - d2i_PUBKEY() through the table of decoded keys (dkim_pkey.c): a new
 * reference, or NULL; *used (may be NULL) is the length of the DER decoded */
EVP_PKEY *dkim_pkey_decode(const unsigned char *der, size_t len, size_t *used);
/* dkim_pkey_stats - lookups answered from the table, and those that decoded */
void dkim_pkey_stats(unsigned long *hits, unsigned long *misses);
/* dkim_pkey_flush - drop every decoded key (references held elsewhere stay valid) */
void dkim_pkey_flush(void);

#endif
