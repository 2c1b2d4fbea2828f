/*
 * sdkim.h - DKIM verification over libopendkim, fed as the milter streams
 *
 * One process-wide engine wraps a libopendkim library handle whose DNS is
 * routed to our TXT cache (dns.h).  A per-message verifier receives the
 * headers, end of headers, body chunks and end of message exactly as
 * libmilter hands them over; the message is never copied.  At end of
 * message every DKIM-Signature on the message is reported, each with its
 * own result (RFC 8601 vocabulary) and its signed header list.
 *
 * Threads: the engine is shared; a verifier belongs to one thread at a time.
 * Memory: results belong to the verifier and live until sdkim_verify_free().
 *
 * Names: our prefix is sdkim_ (SDKIM_ for constants), never libopendkim's
 * dkim_/DKIM_, so a file may include both <opendkim/dkim.h> and this header.
 */
#ifndef SM_SDKIM_H
#define SM_SDKIM_H

#include <stddef.h>
#include <stdint.h>

#include "lib/cfg.h"
#include "lib/dns.h"

/* per-signature result (RFC 8601 names) */
typedef enum sdkim_result {
    SDKIM_R_PASS = 1,      /* signature and body hash verified */
    SDKIM_R_FAIL = 2,      /* signature or body hash mismatch */
    SDKIM_R_NEUTRAL = 3,   /* unsupported algorithm/version/canonicalisation, not checked */
    SDKIM_R_TEMPERROR = 4, /* key lookup failed temporarily (DNS) */
    SDKIM_R_PERMERROR = 5, /* no key, bad or revoked key, malformed signature, expired */
} sdkim_result;

/* return codes of the streaming calls */
#define SDKIM_VERIFY_OK 0
#define SDKIM_VERIFY_SKIP 1 /* no DKIM-Signature: the body is not needed (SMFIS_SKIP) */
#define SDKIM_VERIFY_ERROR (-1)

typedef struct sdkim_opts {
    long timeout_ms;     /* budget for all key lookups of one message; default 5000 */
    long min_key_bits;   /* smaller RSA keys give permerror; default 1024 */
    int allow_rsa_sha1;  /* 0: rsa-sha1 signatures give neutral; default 1 */
    long clock_drift;    /* seconds of t=/x= tolerance; default 300 */
    long max_signatures; /* signatures checked per message (others: neutral); default 10 */
} sdkim_opts;

typedef struct sdkim_sig_result {
    const char *domain;    /* d=, lower-case ("" when absent) */
    const char *selector;  /* s= ("" when absent) */
    const char *identity;  /* i= ("" when absent) */
    const char *algorithm; /* "rsa-sha256", "ed25519-sha256", "rsa-sha1", or a= as given */
    sdkim_result result;
    const char *reason; /* short human text, e.g. "body hash mismatch" */
    int testing;        /* key record has t=y */
    unsigned key_bits;  /* RSA modulus bits (0 when unknown) */
    size_t n_signed;    /* h= entries (repeats kept), lower-case */
    const char *const *signed_headers;
} sdkim_sig_result;

typedef struct sdkim_engine sdkim_engine;
typedef struct sdkim_verify sdkim_verify;

/* sdkim_cfg_directives - the "dkim" configuration group, for cfg_parse_table() into sdkim_opts */
extern const cfg_directive sdkim_cfg_directives[];
/* sdkim_opts_defaults - fill opts with the defaults above */
void sdkim_opts_defaults(sdkim_opts *opts);

/* sdkim_engine_new - one per process; dns is borrowed (must outlive the engine); opts may be NULL
 */
sdkim_engine *sdkim_engine_new(dns_cache *dns, const sdkim_opts *opts, char *err, size_t errlen);
/* sdkim_engine_free - returns NULL; no verifier may be alive */
sdkim_engine *sdkim_engine_free(sdkim_engine *e);

/* sdkim_verify_new - a verifier for one message; queue_id only labels libopendkim's handle */
sdkim_verify *sdkim_verify_new(sdkim_engine *e, const char *queue_id, char *err, size_t errlen);
/* sdkim_verify_header - one header as libmilter gives it (value without leading space) */
int sdkim_verify_header(sdkim_verify *v, const char *name, const char *value);
/* sdkim_verify_header_raw - the same, value exactly as in the message (SMFIP_HDR_LEADSPC) */
int sdkim_verify_header_raw(sdkim_verify *v, const char *name, const char *value);
/* sdkim_verify_eoh - end of headers; SDKIM_VERIFY_SKIP when there is no signature */
int sdkim_verify_eoh(sdkim_verify *v);
/* sdkim_verify_body - one body chunk, CRLF line ends; a no-op after SKIP */
int sdkim_verify_body(sdkim_verify *v, const unsigned char *chunk, size_t len);
/* sdkim_verify_eom - finish; *sigs_r (owned by v) holds one result per signature, *n_r may be 0 */
int sdkim_verify_eom(sdkim_verify *v, const sdkim_sig_result **sigs_r, size_t *n_r);
/* sdkim_verify_error - the last error text of v ("" when none) */
const char *sdkim_verify_error(const sdkim_verify *v);
/* sdkim_verify_free - returns NULL */
sdkim_verify *sdkim_verify_free(sdkim_verify *v);

/* sdkim_sig_covers - 1 if header_name is listed in the signature's h= (case-insensitive) */
int sdkim_sig_covers(const sdkim_sig_result *sig, const char *header_name);
/* sdkim_result_name - "pass", "fail", "neutral", "temperror", "permerror" */
const char *sdkim_result_name(sdkim_result r);

/*
 * sdkim_key_published - is a usable key published at selector._domainkey.domain?
 * 1: a valid v=DKIM1 key record with non-empty p=; 0: none, revoked or invalid
 * (reason in err); -1: temporary DNS failure.  deadline_ms is util_now_ms() based.
 */
int sdkim_key_published(sdkim_engine *e, const char *selector, const char *domain,
                        uint64_t deadline_ms, char *err, size_t errlen);

#endif
