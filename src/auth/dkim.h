/*
 * dkim.h - DKIM verification over libopendkim, fed as the milter streams
 *
 * One process-wide engine wraps a libopendkim library handle whose DNS is
 * routed to our TXT cache (dns.h).  A per-message verifier receives the
 * headers, end of headers, body chunks and end of message exactly as
 * libmilter hands them over; the message is never copied.  At end of
 * message every DKIM-Signature on the message is reported, each with its
 * own result (RFC 8601 vocabulary) and its signed header list.
 *
 * Threads: the engine is shared; a verifier belongs to one thread at a time.
 * Memory: results belong to the verifier and live until dkim_verify_free().
 *
 * Note: libopendkim exports a function named dkim_verify(); a file that
 * includes both <opendkim/dkim.h> and this header must rename that
 * declaration (see the top of dkim.c).
 */
#ifndef SM_DKIM_H
#define SM_DKIM_H

#include <stddef.h>
#include <stdint.h>

#include "lib/cfg.h"
#include "lib/dns.h"

/* per-signature result (RFC 8601 names) */
typedef enum dkim_result {
    DKIM_R_PASS = 1,      /* signature and body hash verified */
    DKIM_R_FAIL = 2,      /* signature or body hash mismatch */
    DKIM_R_NEUTRAL = 3,   /* unsupported algorithm/version/canonicalisation, not checked */
    DKIM_R_TEMPERROR = 4, /* key lookup failed temporarily (DNS) */
    DKIM_R_PERMERROR = 5, /* no key, bad or revoked key, malformed signature, expired */
} dkim_result;

/* return codes of the streaming calls */
#define DKIM_VERIFY_OK 0
#define DKIM_VERIFY_SKIP 1 /* no DKIM-Signature: the body is not needed (SMFIS_SKIP) */
#define DKIM_VERIFY_ERROR (-1)

typedef struct dkim_opts {
    long timeout_ms;     /* budget for all key lookups of one message; default 5000 */
    long min_key_bits;   /* smaller RSA keys give permerror; default 1024 */
    int allow_rsa_sha1;  /* 0: rsa-sha1 signatures give neutral; default 1 */
    long clock_drift;    /* seconds of t=/x= tolerance; default 300 */
    long max_signatures; /* signatures checked per message (others: neutral); default 10 */
} dkim_opts;

typedef struct dkim_sig_result {
    const char *domain;    /* d=, lower-case ("" when absent) */
    const char *selector;  /* s= ("" when absent) */
    const char *identity;  /* i= ("" when absent) */
    const char *algorithm; /* "rsa-sha256", "ed25519-sha256", "rsa-sha1", or a= as given */
    dkim_result result;
    const char *reason; /* short human text, e.g. "body hash mismatch" */
    int testing;        /* key record has t=y */
    unsigned key_bits;  /* RSA modulus bits (0 when unknown) */
    size_t n_signed;    /* h= entries (repeats kept), lower-case */
    const char *const *signed_headers;
} dkim_sig_result;

typedef struct dkim_engine dkim_engine;
typedef struct dkim_verify dkim_verify;

/* dkim_cfg_directives - the "dkim" configuration group, for cfg_parse_table() into dkim_opts */
extern const cfg_directive dkim_cfg_directives[];
/* dkim_opts_defaults - fill opts with the defaults above */
void dkim_opts_defaults(dkim_opts *opts);

/* dkim_engine_new - one per process; dns is borrowed (must outlive the engine); opts may be NULL */
dkim_engine *dkim_engine_new(dns_cache *dns, const dkim_opts *opts, char *err, size_t errlen);
/* dkim_engine_free - returns NULL; no verifier may be alive */
dkim_engine *dkim_engine_free(dkim_engine *e);

/* dkim_verify_new - a verifier for one message; queue_id only labels libopendkim's handle */
dkim_verify *dkim_verify_new(dkim_engine *e, const char *queue_id, char *err, size_t errlen);
/* dkim_verify_header - one header as libmilter gives it (value without leading space) */
int dkim_verify_header(dkim_verify *v, const char *name, const char *value);
/* dkim_verify_header_raw - the same, value exactly as in the message (SMFIP_HDR_LEADSPC) */
int dkim_verify_header_raw(dkim_verify *v, const char *name, const char *value);
/* dkim_verify_eoh - end of headers; DKIM_VERIFY_SKIP when there is no signature */
int dkim_verify_eoh(dkim_verify *v);
/* dkim_verify_body - one body chunk, CRLF line ends; a no-op after SKIP */
int dkim_verify_body(dkim_verify *v, const unsigned char *chunk, size_t len);
/* dkim_verify_eom - finish; *sigs_r (owned by v) holds one result per signature, *n_r may be 0 */
int dkim_verify_eom(dkim_verify *v, const dkim_sig_result **sigs_r, size_t *n_r);
/* dkim_verify_error - the last error text of v ("" when none) */
const char *dkim_verify_error(const dkim_verify *v);
/* dkim_verify_free - returns NULL */
dkim_verify *dkim_verify_free(dkim_verify *v);

/* dkim_sig_covers - 1 if header_name is listed in the signature's h= (case-insensitive) */
int dkim_sig_covers(const dkim_sig_result *sig, const char *header_name);
/* dkim_result_name - "pass", "fail", "neutral", "temperror", "permerror" */
const char *dkim_result_name(dkim_result r);

/*
 * dkim_key_published - is a usable key published at selector._domainkey.domain?
 * 1: a valid v=DKIM1 key record with non-empty p=; 0: none, revoked or invalid
 * (reason in err); -1: temporary DNS failure.  deadline_ms is util_now_ms() based.
 */
int dkim_key_published(dkim_engine *e, const char *selector, const char *domain,
                       uint64_t deadline_ms, char *err, size_t errlen);

#endif
