/*
 * unsub_token.c - self-contained, HMAC-signed unsubscribe tokens
 *
 * Purpose: create and verify the tokens described in unsub_token.h, and
 * load the key they are signed with.
 *
 * Security: the key file must not be readable or writable by group or
 * others and must hold at least 32 bytes (the HMAC-SHA256 block of
 * entropy); it is read once, as root, before privileges are dropped.  MACs
 * are compared with CRYPTO_memcmp.  Decoding is strict (no padding, no
 * stray bits, no characters outside the base64url alphabet) so that each
 * token has exactly one spelling.  The decoded payload is only parsed
 * after its MAC has been checked.
 *
 * Diagnostics: errors go to err; nothing is logged.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "unsub/unsub_token.h"
#include "lib/privsep.h"
#include "lib/util.h"

#define UNSUB_TOKEN_MAC_LEN 32
#define UNSUB_TOKEN_FUTURE_SKEW 86400 /* issue times further ahead are refused */

static const char unsub_token_alpha[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

char *
unsub_token_b64url_enc(const unsigned char *in, size_t len)
{
    char *out = xmalloc((len + 2) / 3 * 4 + 1), *o = out;
    size_t i;

    for (i = 0; i + 2 < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        *o++ = unsub_token_alpha[v >> 18 & 63];
        *o++ = unsub_token_alpha[v >> 12 & 63];
        *o++ = unsub_token_alpha[v >> 6 & 63];
        *o++ = unsub_token_alpha[v & 63];
    }
    if (len - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        *o++ = unsub_token_alpha[v >> 18 & 63];
        *o++ = unsub_token_alpha[v >> 12 & 63];
    } else if (len - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        *o++ = unsub_token_alpha[v >> 18 & 63];
        *o++ = unsub_token_alpha[v >> 12 & 63];
        *o++ = unsub_token_alpha[v >> 6 & 63];
    }
    *o = '\0';
    return out;
}

/* unsub_token_val - value of one base64url character, -1 if outside the alphabet */
static int
unsub_token_val(char c)
{
    const char *p;

    if (c == '\0' || (p = strchr(unsub_token_alpha, c)) == NULL)
        return -1;
    return (int)(p - unsub_token_alpha);
}

unsigned char *
unsub_token_b64url_dec(const char *in, size_t len, size_t *outlen)
{
    unsigned char *out;
    uint32_t acc = 0;
    int bits = 0;
    size_t n = 0;

    if (len % 4 == 1)
        return NULL;
    out = xmalloc(len * 3 / 4 + 1);
    for (size_t i = 0; i < len; i++) {
        int v = unsub_token_val(in[i]);
        if (v < 0)
            goto bad;
        acc = (acc << 6 | (uint32_t)v) & 0xffffff;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (unsigned char)(acc >> bits & 0xff);
        }
    }
    if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
        goto bad; /* non-canonical: stray low bits */
    *outlen = n;
    return out;
bad:
    free(out);
    return NULL;
}

int
unsub_token_key_load(const char *path, unsigned char **key_r, size_t *keylen_r, char *err,
                     size_t errlen)
{
    struct stat st;
    unsigned char *key;
    ssize_t n;
    size_t got = 0;
    int fd;

    *key_r = NULL;
    *keylen_r = 0;
    char why[512];

    if ((fd = privsep_open(path, O_RDONLY, 0, why, sizeof(why))) < 0)
        return util_errf(err, errlen, "cannot open key file %s", why);
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return util_errf(err, errlen, "key file %s is not a regular file", path);
    }
    if (st.st_mode & 066) {
        close(fd);
        return util_errf(err, errlen,
                         "key file %s is accessible by group or others (mode %04o): "
                         "chmod 600 it",
                         path, (unsigned)(st.st_mode & 07777));
    }
    if (st.st_size < UNSUB_TOKEN_KEY_MIN || st.st_size > UNSUB_TOKEN_KEY_MAX) {
        close(fd);
        return util_errf(err, errlen, "key file %s holds %lld bytes; it needs %d to %d", path,
                         (long long)st.st_size, UNSUB_TOKEN_KEY_MIN, UNSUB_TOKEN_KEY_MAX);
    }
    key = xmalloc((size_t)st.st_size);
    while (got < (size_t)st.st_size && (n = read(fd, key + got, (size_t)st.st_size - got)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    if (got != (size_t)st.st_size) {
        OPENSSL_cleanse(key, (size_t)st.st_size);
        free(key);
        return util_errf(err, errlen, "cannot read key file %s", path);
    }
    *key_r = key;
    *keylen_r = got;
    return 0;
}

/* unsub_token_field_ok - a field we are willing to sign: bounded, no CR/LF */
static int
unsub_token_field_ok(const char *s)
{
    return strlen(s) <= UNSUB_TOKEN_FIELD_MAX && strpbrk(s, "\r\n") == NULL;
}

/* unsub_token_mac - HMAC-SHA256 of data into mac (32 bytes) */
static int
unsub_token_mac(const unsigned char *key, size_t keylen, const unsigned char *data, size_t len,
                unsigned char *mac)
{
    unsigned int maclen = 0;

    if (HMAC(EVP_sha256(), key, (int)keylen, data, len, mac, &maclen) == NULL ||
        maclen != UNSUB_TOKEN_MAC_LEN)
        return -1;
    return 0;
}

char *
unsub_token_create(const unsigned char *key, size_t keylen, const char *recipient,
                   const char *list_id, int64_t issued, char *err, size_t errlen)
{
    unsigned char mac[UNSUB_TOKEN_MAC_LEN], *pl, *p;
    size_t rl, ll, plen;
    char *a, *b, *tok;

    if (key == NULL || keylen < UNSUB_TOKEN_KEY_MIN || recipient == NULL || list_id == NULL) {
        util_errf(err, errlen, "token needs a key, a recipient and a list id");
        return NULL;
    }
    if (!unsub_token_field_ok(recipient) || !unsub_token_field_ok(list_id)) {
        util_errf(err, errlen, "recipient or list id too long or containing CR/LF");
        return NULL;
    }
    rl = strlen(recipient);
    ll = strlen(list_id);
    plen = 1 + 8 + 2 + rl + 2 + ll;
    p = pl = xmalloc(plen);
    *p++ = UNSUB_TOKEN_VERSION;
    for (int i = 7; i >= 0; i--)
        *p++ = (unsigned char)((uint64_t)issued >> (8 * i));
    *p++ = (unsigned char)(rl >> 8);
    *p++ = (unsigned char)rl;
    memcpy(p, recipient, rl);
    p += rl;
    *p++ = (unsigned char)(ll >> 8);
    *p++ = (unsigned char)ll;
    memcpy(p, list_id, ll);
    if (unsub_token_mac(key, keylen, pl, plen, mac) < 0) {
        free(pl);
        util_errf(err, errlen, "HMAC-SHA256 failed");
        return NULL;
    }
    a = unsub_token_b64url_enc(pl, plen);
    b = unsub_token_b64url_enc(mac, sizeof(mac));
    tok = xasprintf("%s.%s", a, b);
    free(a);
    free(b);
    free(pl);
    return tok;
}

/* unsub_token_field - read a 2-byte length-prefixed field; -1 when it overruns or has NUL/CR/LF */
static int
unsub_token_field(const unsigned char **pp, const unsigned char *end, char **out)
{
    const unsigned char *p = *pp;
    size_t n;

    if (end - p < 2)
        return -1;
    n = (size_t)p[0] << 8 | p[1];
    p += 2;
    if ((size_t)(end - p) < n || n > UNSUB_TOKEN_FIELD_MAX || memchr(p, '\0', n) != NULL ||
        memchr(p, '\r', n) != NULL || memchr(p, '\n', n) != NULL)
        return -1;
    *out = xstrndup((const char *)p, n);
    *pp = p + n;
    return 0;
}

/* unsub_token_parse_payload - fields of an authenticated payload */
static unsub_token_status
unsub_token_parse_payload(const unsigned char *pl, size_t plen, unsub_token_info *info, char *err,
                          size_t errlen)
{
    const unsigned char *p = pl + 1, *end = pl + plen;
    uint64_t t = 0;

    if (plen < 1 + 8 + 2 + 2)
        return util_errf(err, errlen, "payload too short"), UNSUB_TOKEN_MALFORMED;
    for (int i = 0; i < 8; i++)
        t = t << 8 | *p++;
    info->issued = (int64_t)t;
    if (unsub_token_field(&p, end, &info->recipient) < 0 ||
        unsub_token_field(&p, end, &info->list_id) < 0 || p != end) {
        unsub_token_info_clear(info);
        util_errf(err, errlen, "payload fields malformed");
        return UNSUB_TOKEN_MALFORMED;
    }
    return UNSUB_TOKEN_OK;
}

/* unsub_token_check_time - expiry and future issue times */
static unsub_token_status
unsub_token_check_time(const unsub_token_info *info, int64_t now, long max_age, char *err,
                       size_t errlen)
{
    if (info->issued < 0 || info->issued > now + UNSUB_TOKEN_FUTURE_SKEW) {
        util_errf(err, errlen, "issue time %lld is in the future", (long long)info->issued);
        return UNSUB_TOKEN_MALFORMED;
    }
    if (max_age > 0 && now - info->issued > max_age) {
        util_errf(err, errlen, "issued %lld seconds ago; the limit is %ld",
                  (long long)(now - info->issued), max_age);
        return UNSUB_TOKEN_EXPIRED;
    }
    return UNSUB_TOKEN_OK;
}

unsub_token_status
unsub_token_verify(const unsigned char *key, size_t keylen, const char *token, int64_t now,
                   long max_age, unsub_token_info *info, char *err, size_t errlen)
{
    unsigned char want[UNSUB_TOKEN_MAC_LEN], *pl = NULL, *mac = NULL;
    size_t plen = 0, maclen = 0, tlen;
    const char *dot;
    unsub_token_status st = UNSUB_TOKEN_MALFORMED;

    memset(info, 0, sizeof(*info));
    if (token == NULL || key == NULL || keylen == 0) {
        util_errf(err, errlen, "no token or no key");
        return UNSUB_TOKEN_MALFORMED;
    }
    tlen = strlen(token);
    if (!unsub_token_looks_like(token, tlen)) {
        util_errf(err, errlen, "not of the form PAYLOAD.MAC in base64url");
        return UNSUB_TOKEN_MALFORMED;
    }
    dot = strchr(token, '.');
    pl = unsub_token_b64url_dec(token, (size_t)(dot - token), &plen);
    mac = unsub_token_b64url_dec(dot + 1, tlen - (size_t)(dot - token) - 1, &maclen);
    if (pl == NULL || mac == NULL || maclen != UNSUB_TOKEN_MAC_LEN || plen < 1) {
        util_errf(err, errlen, "bad base64url encoding");
        goto out;
    }
    if (pl[0] != UNSUB_TOKEN_VERSION) {
        util_errf(err, errlen, "unsupported token version %u", pl[0]);
        goto out;
    }
    if (unsub_token_mac(key, keylen, pl, plen, want) < 0) {
        util_errf(err, errlen, "HMAC-SHA256 failed");
        goto out;
    }
    if (CRYPTO_memcmp(want, mac, UNSUB_TOKEN_MAC_LEN) != 0) {
        util_errf(err, errlen, "MAC does not match: token altered or made with another key");
        st = UNSUB_TOKEN_TAMPERED;
        goto out;
    }
    st = unsub_token_parse_payload(pl, plen, info, err, errlen);
    if (st == UNSUB_TOKEN_OK)
        st = unsub_token_check_time(info, now, max_age, err, errlen);
out:
    free(pl);
    free(mac);
    return st;
}

void
unsub_token_info_clear(unsub_token_info *info)
{
    if (info == NULL)
        return;
    info->recipient = util_free(info->recipient);
    info->list_id = util_free(info->list_id);
}

const char *
unsub_token_status_name(unsub_token_status st)
{
    switch (st) {
    case UNSUB_TOKEN_OK:
        return "ok";
    case UNSUB_TOKEN_MALFORMED:
        return "malformed";
    case UNSUB_TOKEN_TAMPERED:
        return "tampered";
    case UNSUB_TOKEN_EXPIRED:
        return "expired";
    }
    return "malformed";
}

int
unsub_token_looks_like(const char *s, size_t len)
{
    const char *dot = memchr(s, '.', len);
    size_t a, b;

    if (dot == NULL)
        return 0;
    a = (size_t)(dot - s);
    b = len - a - 1;
    if (a < 18 || b != UNSUB_TOKEN_MAC_CHARS)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (i != a && unsub_token_val(s[i]) < 0)
            return 0;
    return 1;
}
