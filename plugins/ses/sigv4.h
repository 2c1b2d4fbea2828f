/*
 * sigv4.h - AWS Signature Version 4, our own implementation
 *
 * sigv4_sign() builds the canonical request, the string to sign and the
 * Authorization header value for one HTTP request.  The path is the path
 * as sent on the wire; for every service but S3 the canonical URI is that
 * path, dot-segment normalised, URI-encoded once more (so an identity
 * sent as "user%40example.com" is signed as "user%2540example.com").  The
 * query is decoded and re-encoded, pairs sorted by name then value.
 * Header names are lower-cased, values trimmed with inner whitespace runs
 * collapsed, duplicates joined with ','.  With a session token the
 * x-amz-security-token header is signed (added when the caller did not
 * pass it; then the caller must send it).  libcurl's CURLOPT_AWS_SIGV4 is
 * deliberately not used: it signs a single-encoded path.
 */
#ifndef SES_SIGV4_H
#define SES_SIGV4_H

#include <stddef.h>
#include <stdint.h>

typedef struct sigv4_header {
    const char *name;
    const char *value;
} sigv4_header;

typedef struct sigv4_request {
    const char *method;          /* "GET", "POST", ... */
    const char *path;            /* wire path, e.g. "/v2/email/identities/a%40b.com" */
    const char *query;           /* without '?'; NULL or "" for none */
    const sigv4_header *headers; /* must include Host and X-Amz-Date */
    size_t nheaders;
    const void *body; /* may be NULL when body_len is 0 */
    size_t body_len;
} sigv4_request;

typedef struct sigv4_key {
    const char *access_key_id;
    const char *secret_access_key;
    const char *session_token; /* NULL or "" for long-term keys */
} sigv4_key;

typedef struct sigv4_signature {
    char *creq;           /* canonical request */
    char *sts;            /* string to sign */
    char *authorization;  /* value of the Authorization header */
    char *signed_headers; /* "host;x-amz-date" */
    int add_token_header; /* 1: send X-Amz-Security-Token: <token> (signer added it) */
} sigv4_signature;

/*
 * sigv4_sign - sign req for region/service at amz_date ("YYYYMMDDTHHMMSSZ").
 * normalize_path: 1 for every service but S3.  Returns 0, or -1 with err
 * on malformed input (the signature is then left empty).
 */
int sigv4_sign(const sigv4_request *req, const sigv4_key *key, const char *region,
               const char *service, const char *amz_date, int normalize_path, sigv4_signature *out,
               char *err, size_t errlen);
/* sigv4_signature_clear - free what sigv4_sign allocated */
void sigv4_signature_clear(sigv4_signature *sig);
/* sigv4_amz_date - format epoch seconds as "YYYYMMDDTHHMMSSZ" (out: 17 bytes) */
void sigv4_amz_date(int64_t epoch, char *out, size_t outlen);
/* sigv4_canonical_uri - the canonical URI of a wire path (allocated) */
char *sigv4_canonical_uri(const char *path, int normalize_path);
/* sigv4_canonical_query - the canonical query string (allocated; "" for none) */
char *sigv4_canonical_query(const char *query);
/* sigv4_sha256_hex - hex SHA-256 of data (out: 65 bytes) */
void sigv4_sha256_hex(const void *data, size_t len, char *out);

#endif
