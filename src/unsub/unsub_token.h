/*
 * unsub_token.h - self-contained, HMAC-signed unsubscribe tokens
 *
 * A token lets an unsubscribe endpoint trust a request without a database:
 *
 *     token   = base64url(payload) "." base64url(mac)      (no padding)
 *     payload = version (1 byte, 1) | issue time (8 bytes, big-endian,
 *               seconds since the epoch) | recipient length (2 bytes BE) |
 *               recipient | list id length (2 bytes BE) | list id
 *     mac     = HMAC-SHA256(key, payload)                  (32 bytes)
 *
 * The key is the whole content of a file of at least 32 bytes that only
 * its owner may read.  Verification compares MACs in constant time and
 * tells malformed, tampered and expired tokens apart.
 */
#ifndef SM_UNSUB_TOKEN_H
#define SM_UNSUB_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#define UNSUB_TOKEN_VERSION 1
#define UNSUB_TOKEN_KEY_MIN 32
#define UNSUB_TOKEN_KEY_MAX 4096
#define UNSUB_TOKEN_FIELD_MAX 512 /* recipient and list id, bytes */
#define UNSUB_TOKEN_MAC_CHARS 43  /* base64url of 32 bytes */

typedef enum unsub_token_status {
    UNSUB_TOKEN_OK = 0,
    UNSUB_TOKEN_MALFORMED, /* not a token of ours: syntax, encoding, version, lengths */
    UNSUB_TOKEN_TAMPERED,  /* well-formed but the MAC does not match this key */
    UNSUB_TOKEN_EXPIRED,   /* authentic but older than the allowed age */
} unsub_token_status;

typedef struct unsub_token_info {
    char *recipient; /* owned */
    char *list_id;   /* owned */
    int64_t issued;  /* seconds since the epoch */
} unsub_token_info;

/* unsub_token_key_load - read a key file: >= 32 bytes, not group/world accessible */
int unsub_token_key_load(const char *path, unsigned char **key_r, size_t *keylen_r, char *err,
                         size_t errlen);
/* unsub_token_create - new token string, or NULL + err (field too long or with CR/LF/NUL) */
char *unsub_token_create(const unsigned char *key, size_t keylen, const char *recipient,
                         const char *list_id, int64_t issued, char *err, size_t errlen);
/* unsub_token_verify - check token at now (max_age 0: no expiry); info set on OK and EXPIRED,
 * always release it with unsub_token_info_clear() */
unsub_token_status unsub_token_verify(const unsigned char *key, size_t keylen, const char *token,
                                      int64_t now, long max_age, unsub_token_info *info, char *err,
                                      size_t errlen);
/* unsub_token_info_clear - free what verify put into info */
void unsub_token_info_clear(unsub_token_info *info);
/* unsub_token_status_name - "ok", "malformed", "tampered", "expired" */
const char *unsub_token_status_name(unsub_token_status st);
/* unsub_token_looks_like - shape test: base64url "." 43 base64url chars */
int unsub_token_looks_like(const char *s, size_t len);

/* unsub_token_b64url_enc - base64url without padding (new string) */
char *unsub_token_b64url_enc(const unsigned char *in, size_t len);
/* unsub_token_b64url_dec - strict decode of len chars; NULL on bad input; *outlen set */
unsigned char *unsub_token_b64url_dec(const char *in, size_t len, size_t *outlen);

#endif
