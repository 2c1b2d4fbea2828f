/*
 * audit_chain.c - hashing, key files and chain verification for the audit trail
 *
 * Purpose: one definition of "the hash of a line" for the writer and the
 * verifier.  A line is hashed exactly as stored, without its newline: plain
 * SHA-256, or HMAC-SHA256 under a key when the administrator configured
 * one, so that someone who can edit the log but cannot read the key cannot
 * forge a consistent chain.
 *
 * Diagnostics: functions return -1 with a reason in err; nothing logs.
 * Security: key files must not be readable by everyone; key bytes are
 * wiped before they are freed.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "audit/audit_chain.h"
#include "audit/audit_record.h"
#include "lib/privsep.h"
#include "lib/util.h"

#define AUDIT_KEY_MIN 16
#define AUDIT_KEY_MAX 4096
#define AUDIT_TAIL_MAX (16UL * 1024 * 1024)

struct audit_verifier {
    const audit_key *key;
    char expect[AUDIT_HASH_HEX]; /* hash of the last line accepted */
    char start[AUDIT_HASH_HEX];  /* prev of the very first line */
    char prev_file[512];         /* where the last line accepted came from */
    unsigned long prev_line;
    unsigned long lines, files;
    int broken;
};

int
audit_chain_key_load(const char *path, audit_key **key_r, char *err, size_t errlen)
{
    unsigned char buf[AUDIT_KEY_MAX + 1];
    struct stat st;
    ssize_t n;
    size_t len = 0;
    int fd;

    *key_r = NULL;
    char why[512];

    fd = privsep_open(path, O_RDONLY, 0, why, sizeof(why));
    if (fd < 0)
        return util_errf(err, errlen, "key file %s", why);
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return util_errf(err, errlen, "key file %s: not a regular file", path);
    }
    if (st.st_mode & S_IROTH) {
        close(fd);
        return util_errf(err, errlen, "key file %s: readable by everyone (chmod o-r)", path);
    }
    while (len < sizeof(buf) && (n = read(fd, buf + len, sizeof(buf) - len)) > 0)
        len += (size_t)n;
    close(fd);
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
        len--;
    if (len > AUDIT_KEY_MAX) {
        OPENSSL_cleanse(buf, sizeof(buf));
        return util_errf(err, errlen, "key file %s: longer than %d bytes", path, AUDIT_KEY_MAX);
    }
    if (len < AUDIT_KEY_MIN) {
        OPENSSL_cleanse(buf, sizeof(buf));
        return util_errf(err, errlen, "key file %s: shorter than %d bytes", path, AUDIT_KEY_MIN);
    }
    *key_r = xcalloc(1, sizeof(**key_r));
    (*key_r)->buf = xmalloc(len);
    memcpy((*key_r)->buf, buf, len);
    (*key_r)->len = len;
    OPENSSL_cleanse(buf, sizeof(buf));
    return 0;
}

audit_key *
audit_chain_key_free(audit_key *key)
{
    if (key == NULL)
        return NULL;
    OPENSSL_cleanse(key->buf, key->len);
    free(key->buf);
    free(key);
    return NULL;
}

const char *
audit_chain_alg(const audit_key *key)
{
    return key != NULL ? AUDIT_ALG_HMAC : AUDIT_ALG_SHA256;
}

void
audit_chain_hash(const audit_key *key, const void *data, size_t len, char out[AUDIT_HASH_HEX])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;

    if (key != NULL)
        HMAC(EVP_sha256(), key->buf, (int)key->len, data, len, md, &mdlen);
    else
        EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
    util_hex(md, mdlen, out);
}

/* audit_chain_last_nl - index of the newline before the last line in buf, or -1 */
static long
audit_chain_last_nl(const char *buf, size_t len)
{
    size_t end = len;

    if (end > 0 && buf[end - 1] == '\n')
        end--;
    while (end > 0) {
        if (buf[end - 1] == '\n')
            return (long)end - 1;
        end--;
    }
    return -1;
}

int
audit_chain_tail(const char *path, const audit_key *key, char out[AUDIT_HASH_HEX],
                 int *unterminated_r, char *err, size_t errlen)
{
    struct stat st;
    size_t want = 4096, size;
    char *buf = NULL;
    int fd, rc = -1;

    if (unterminated_r != NULL)
        *unterminated_r = 0;
    fd = privsep_open(path, O_RDONLY | O_NONBLOCK, 0, err, errlen);
    if (fd < 0)
        return errno == ENOENT ? 0 : -1;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size == 0) {
        close(fd);
        return 0;
    }
    size = (size_t)st.st_size;
    for (;;) {
        size_t off = size > want ? size - want : 0, n = size - off;
        ssize_t got;
        long nl;

        buf = xrealloc(buf, n);
        got = pread(fd, buf, n, (off_t)off);
        if (got != (ssize_t)n) {
            util_errf(err, errlen, "%s: short read of the last line", path);
            break;
        }
        nl = audit_chain_last_nl(buf, n);
        if (nl >= 0 || off == 0) {
            size_t start = (size_t)(nl + 1), end = n;
            int term = buf[n - 1] == '\n';
            if (term)
                end--;
            if (unterminated_r != NULL)
                *unterminated_r = !term;
            audit_chain_hash(key, buf + start, end - start, out);
            rc = 1;
            break;
        }
        if (want >= AUDIT_TAIL_MAX) {
            util_errf(err, errlen, "%s: last line longer than %lu bytes", path, AUDIT_TAIL_MAX);
            break;
        }
        want *= 2;
    }
    free(buf);
    close(fd);
    return rc;
}

audit_verifier *
audit_chain_verifier_new(const audit_key *key)
{
    audit_verifier *v = xcalloc(1, sizeof(*v));

    v->key = key;
    return v;
}

audit_verifier *
audit_chain_verifier_free(audit_verifier *v)
{
    free(v);
    return NULL;
}

/* audit_chain_is_hex64 - a 64-digit lower-case hex string */
static int
audit_chain_is_hex64(const char *s)
{
    size_t i;

    for (i = 0; s[i] != '\0'; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return i == 64;
}

/* audit_chain_fields - parse a line and pull out alg and prev; 0 or -1 with a reason */
static int
audit_chain_fields(const audit_verifier *v, const char *line, size_t len, char *prev, char *reason,
                   size_t rlen)
{
    json_error_t jerr;
    json_t *rec, *jp, *ja;
    const char *alg;
    int rc = -1;

    rec = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
    if (rec == NULL)
        return util_errf(reason, rlen, "not a valid audit record: %s", jerr.text);
    jp = json_object_get(rec, "prev");
    ja = json_object_get(rec, "alg");
    alg = json_string_value(ja);
    if (!json_is_object(rec) || json_integer_value(json_object_get(rec, "v")) < 1 ||
        json_integer_value(json_object_get(rec, "v")) > AUDIT_SCHEMA_VERSION)
        util_errf(reason, rlen, "not an audit record of schema version 1 to %d",
                  AUDIT_SCHEMA_VERSION);
    else if (!json_is_string(jp) || !audit_chain_is_hex64(json_string_value(jp)))
        util_errf(reason, rlen, "no valid \"prev\" hash");
    else if (alg == NULL || (strcmp(alg, AUDIT_ALG_SHA256) && strcmp(alg, AUDIT_ALG_HMAC)))
        util_errf(reason, rlen, "unknown chain algorithm");
    else if (v->key == NULL && strcmp(alg, AUDIT_ALG_HMAC) == 0)
        util_errf(reason, rlen, "keyed chain (hmac-sha256): verify it with --key FILE");
    else if (v->key != NULL && strcmp(alg, AUDIT_ALG_HMAC) != 0)
        util_errf(reason, rlen, "chain is \"%s\" but a key was given (downgraded line?)", alg);
    else {
        memcpy(prev, json_string_value(jp), AUDIT_HASH_HEX);
        rc = 0;
    }
    json_decref(rec);
    return rc;
}

/* audit_chain_break - report a broken link at file:lineno */
static int
audit_chain_break(audit_verifier *v, const char *file, unsigned long lineno, const char *prev,
                  char *err, size_t errlen)
{
    char where[600];

    if (strcmp(file, v->prev_file) == 0)
        snprintf(where, sizeof(where), "line %lu", v->prev_line);
    else
        snprintf(where, sizeof(where), "%s:%lu", v->prev_file, v->prev_line);
    v->broken = 1;
    return util_errf(err, errlen, "%s:%lu: chain broken: prev does not match %s%s", file, lineno,
                     where,
                     strcmp(prev, AUDIT_CHAIN_GENESIS) == 0
                         ? " (a new chain starts here: writer restarted without its state?)"
                         : "");
}

int
audit_chain_verifier_line(audit_verifier *v, const char *file, unsigned long lineno,
                          const char *line, size_t len, int terminated, char *err, size_t errlen)
{
    char prev[AUDIT_HASH_HEX], reason[256];

    if (v->broken)
        return util_errf(err, errlen, "%s:%lu: after an earlier break", file, lineno);
    if (!terminated) {
        v->broken = 1;
        return util_errf(err, errlen, "%s:%lu: truncated line (no newline at the end)", file,
                         lineno);
    }
    if (audit_chain_fields(v, line, len, prev, reason, sizeof(reason)) < 0) {
        v->broken = 1;
        return util_errf(err, errlen, "%s:%lu: %s", file, lineno, reason);
    }
    if (v->lines == 0)
        memcpy(v->start, prev, AUDIT_HASH_HEX);
    else if (strcmp(prev, v->expect) != 0)
        return audit_chain_break(v, file, lineno, prev, err, errlen);
    if (strcmp(file, v->prev_file) != 0 || v->lines == 0)
        v->files++;
    audit_chain_hash(v->key, line, len, v->expect);
    util_strlcpy(v->prev_file, file, sizeof(v->prev_file));
    v->prev_line = lineno;
    v->lines++;
    return 0;
}

void
audit_chain_verifier_summary(const audit_verifier *v, char *buf, size_t len)
{
    if (v->lines == 0) {
        snprintf(buf, len, "no records");
        return;
    }
    snprintf(buf, len, "%lu records in %lu file%s, chain %s, head %s", v->lines, v->files,
             v->files == 1 ? "" : "s",
             strcmp(v->start, AUDIT_CHAIN_GENESIS) == 0 ? "starts at genesis"
                                                        : "continues an earlier file",
             v->expect);
}

const char *
audit_chain_verifier_head(const audit_verifier *v)
{
    return v->lines > 0 ? v->expect : "";
}
