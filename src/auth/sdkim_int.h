/*
 * sdkim_int.h - what the DKIM verifier (sdkim.c), its DNS hooks (sdkim_wire.c),
 * the key-record code (sdkim_key.c), the decoded-key table (sdkim_pkey.c), the
 * body hasher (sdkim_bodyhash.c) and its per-message plan (sdkim_bodyplan.c) share
 *
 * Not part of the API: everything outside these files goes through
 * sdkim.h.  This header does not include <opendkim/dkim.h>: the engine
 * names libopendkim's library handle by its struct tag (DKIM_LIB is
 * "struct dkim_lib"), so sdkim_key.c does not need libopendkim's header.
 */
#ifndef SM_SDKIM_INT_H
#define SM_SDKIM_INT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/types.h>

#include "auth/sdkim.h"
#include "lib/dns.h"

struct dkim_lib; /* libopendkim's DKIM_LIB */

struct sdkim_engine {
    struct dkim_lib *lib; /* DKIM_LIB * */
    dns_cache *dns;       /* borrowed */
    sdkim_opts opts;
};

/* sdkim_wire_deadline - deadline of the verifier running on this thread (0: the engine's
 * timeout); the lookups run inside dkim_eoh()/dkim_eom() */
extern __thread uint64_t sdkim_wire_deadline;
/* sdkim_wire_install - route libopendkim's key lookups through e->dns (sdkim_wire.c) */
void sdkim_wire_install(sdkim_engine *e);

/* sdkim_key_fixup - a bare PKCS#1 RSA key record rewritten with an SPKI p=; NULL: keep as is */
char *sdkim_key_fixup(const char *rec, size_t len, size_t *newlen);

/* sdkim_bodyhash - a body hash under one canonicalisation (sdkim_bodyhash.c); not for l= signatures
 */
typedef struct sdkim_bodyhash sdkim_bodyhash;
/* sdkim_bodyhash_new - relaxed (1) or simple (0) canonicalisation hashed with md */
sdkim_bodyhash *sdkim_bodyhash_new(int relaxed, const EVP_MD *md);
/* sdkim_bodyhash_update - the next body bytes, as the MTA sends them (CRLF lines) */
void sdkim_bodyhash_update(sdkim_bodyhash *b, const unsigned char *p, size_t len);
/* sdkim_bodyhash_final - the digest into digest[EVP_MAX_MD_SIZE]; its length, 0 on failure */
size_t sdkim_bodyhash_final(sdkim_bodyhash *b, unsigned char *digest);
/* sdkim_bodyhash_free - returns NULL */
sdkim_bodyhash *sdkim_bodyhash_free(sdkim_bodyhash *b);

/* sdkim_bodyplan - the body hashes a message's signatures need (sdkim_bodyplan.c) */
typedef struct sdkim_bodyplan sdkim_bodyplan;
struct dkim;         /* libopendkim's DKIM */
struct dkim_siginfo; /* libopendkim's DKIM_SIGINFO */
/* sdkim_bodyplan_new - after dkim_eoh(); NULL when libopendkim must hash the body (l=, ...) */
sdkim_bodyplan *sdkim_bodyplan_new(struct dkim *dk);
void sdkim_bodyplan_update(sdkim_bodyplan *p, const unsigned char *chunk, size_t len);
void sdkim_bodyplan_final(sdkim_bodyplan *p);
/* sdkim_bodyplan_match - after final: 1 when our hash equals the signature's bh=, else 0 */
int sdkim_bodyplan_match(const sdkim_bodyplan *p, struct dkim_siginfo *sig);
sdkim_bodyplan *sdkim_bodyplan_free(sdkim_bodyplan *p);

/* sdkim_key_b64_decode - base64 with embedded whitespace, decoded (length in *out_len), or NULL */
unsigned char *sdkim_key_b64_decode(const char *in, size_t len, size_t *out_len);

/* sdkim_pkey_decode - d2i_PUBKEY() through the table of decoded keys (sdkim_pkey.c): a new
 * reference, or NULL; *used (may be NULL) is the length of the DER decoded */
EVP_PKEY *sdkim_pkey_decode(const unsigned char *der, size_t len, size_t *used);
/* sdkim_pkey_stats - lookups answered from the table, and those that decoded */
void sdkim_pkey_stats(unsigned long *hits, unsigned long *misses);
/* sdkim_pkey_flush - drop every decoded key (references held elsewhere stay valid) */
void sdkim_pkey_flush(void);

#endif
