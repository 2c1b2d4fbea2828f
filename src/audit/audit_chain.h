/*
 * audit_chain.h - the hash chain that makes the audit trail tamper-evident
 *
 * Every audit line carries "prev": the hex SHA-256 (or, with a key, the
 * HMAC-SHA256) of the previous line's bytes, newline excluded.  The first
 * line ever written carries AUDIT_CHAIN_GENESIS; the first line of a file
 * opened after rotation carries the hash of the last line of the file
 * before it.  The writer (audit.c) and the verifier (ses-milter-audit
 * verify) share this file so that they cannot disagree on what is hashed.
 *
 * The verifier is fed lines in chain order, file after file, and reports
 * the first line at which the chain breaks: a deleted, inserted, edited or
 * reordered line, or one cut short.  It cannot see lines cut off the end of
 * the newest file; the summary prints the head hash so that an operator can
 * anchor it elsewhere.
 */
#ifndef SM_AUDIT_CHAIN_H
#define SM_AUDIT_CHAIN_H

#include <stddef.h>

#define AUDIT_HASH_HEX 65 /* 64 hex digits and a NUL */
#define AUDIT_CHAIN_GENESIS "0000000000000000000000000000000000000000000000000000000000000000"
#define AUDIT_ALG_SHA256 "sha256"
#define AUDIT_ALG_HMAC "hmac-sha256"

/* a secret read from a key file: raw bytes, trailing newlines stripped */
typedef struct audit_key {
    unsigned char *buf;
    size_t len;
} audit_key;

/* audit_chain_key_load - read a key file (>= 16 bytes, not world-readable); 0 or -1 */
int audit_chain_key_load(const char *path, audit_key **key_r, char *err, size_t errlen);
/* audit_chain_key_free - wipe and free a key; returns NULL */
audit_key *audit_chain_key_free(audit_key *key);
/* audit_chain_alg - the "alg" name of a chain hashed with key (NULL: plain SHA-256) */
const char *audit_chain_alg(const audit_key *key);
/* audit_chain_hash - hex SHA-256 (key NULL) or HMAC-SHA256 of len bytes into out */
void audit_chain_hash(const audit_key *key, const void *data, size_t len, char out[AUDIT_HASH_HEX]);
/*
 * audit_chain_tail - hash of the last line of the regular file at path:
 * 1 and hex in out when there is one, 0 when the file is missing, empty
 * or not a regular file, -1 on a read error.  A last line without its
 * newline (a crash mid-write) is hashed as it stands; *unterminated_r
 * (may be NULL) says so, and the writer must add the newline.
 */
int audit_chain_tail(const char *path, const audit_key *key, char out[AUDIT_HASH_HEX],
                     int *unterminated_r, char *err, size_t errlen);

typedef struct audit_verifier audit_verifier;

/* audit_chain_verifier_new - a verifier; key NULL for plain SHA-256 chains */
audit_verifier *audit_chain_verifier_new(const audit_key *key);
/* audit_chain_verifier_free - returns NULL */
audit_verifier *audit_chain_verifier_free(audit_verifier *v);
/*
 * audit_chain_verifier_line - check the next line (bytes without the
 * newline; terminated says whether a newline followed) of file at lineno
 * (1-based).  Returns 0 when it links, -1 with "file:line: reason" in err
 * at the first break; after a break the verifier keeps failing.
 */
int audit_chain_verifier_line(audit_verifier *v, const char *file, unsigned long lineno,
                              const char *line, size_t len, int terminated, char *err,
                              size_t errlen);
/* audit_chain_verifier_summary - "N lines in M files, chain starts at ..., head HASH" */
void audit_chain_verifier_summary(const audit_verifier *v, char *buf, size_t len);
/* audit_chain_verifier_head - hex hash of the last line accepted ("" before any) */
const char *audit_chain_verifier_head(const audit_verifier *v);

#endif
