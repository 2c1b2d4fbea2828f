/*
 * sdkim_bodyhash.c - DKIM body hashes: RFC 6376 body canonicalisation, streamed
 *
 * SYNOPSIS
 *   b = sdkim_bodyhash_new(relaxed, md);            md: EVP_sha256() or EVP_sha1()
 *   sdkim_bodyhash_update(b, chunk, len) ...        the body as the MTA sends it
 *   n = sdkim_bodyhash_final(b, digest);            digest[EVP_MAX_MD_SIZE]; 0 on failure
 *   b = sdkim_bodyhash_free(b);
 *
 * DESCRIPTION
 *   libopendkim canonicalises the body one byte at a time into a dynamic
 *   string and hashes it in small pieces: about 6.6 ns a byte, nine times
 *   what SHA-256 itself costs here, so a signed 700 KB body took 5 ms.  This
 *   file does the same job at close to the hash's speed, and sdkim.c compares
 *   the result with each signature's bh= while libopendkim keeps the
 *   signature itself (header hash, key, cryptography).
 *
 *   The body is a sequence of lines ended by CRLF (RFC 6376 3.4.3, 3.4.4):
 *   - simple: empty lines at the end are dropped; an empty body is one CRLF;
 *   - relaxed: each run of SP/HTAB becomes one SP, a run at the end of a
 *     line is dropped, empty lines at the end are dropped (a line of
 *     whitespace only is empty); an empty body hashes nothing.
 *   Both add the CRLF a last line lacks.  A CR not followed by LF, and an LF
 *   not preceded by CR, are ordinary characters of their line, as RFC 6376
 *   defines them (libopendkim drops a bare CR in relaxed mode and a bare LF
 *   in simple mode; the MTAs ses-milter serves send CRLF lines, so this only
 *   matters for bodies no receiver would see as sent).  The l= body length
 *   limit is not handled here: sdkim.c leaves such signatures to libopendkim.
 *
 * DIAGNOSTICS
 *   None: allocation failures abort (xmalloc), digest failures make
 *   sdkim_bodyhash_final() return 0.
 *
 * SECURITY
 *   The body is untrusted; the state is a few counters, the output goes
 *   through a fixed buffer, nothing grows with the input.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "auth/sdkim_int.h"
#include "lib/util.h"

#define SDKIM_BODYHASH_BUF 8192

/* the bytes that end a run of ordinary characters: CR, and for relaxed SP and HTAB */
static const unsigned char sdkim_bodyhash_stop_simple[256] = {['\r'] = 1};
static const unsigned char sdkim_bodyhash_stop_relaxed[256] = {['\r'] = 1, [' '] = 1, ['\t'] = 1};

struct sdkim_bodyhash {
    EVP_MD_CTX *ctx;
    int relaxed;
    int failed;               /* a digest call failed */
    int cr;                   /* the last byte was a CR, not yet known to end a line */
    int wsp;                  /* relaxed: whitespace seen since the line's last character */
    size_t line;              /* characters of the current line written (relaxed: besides wsp) */
    size_t empty;             /* empty lines held back: they count only if a line follows */
    unsigned long long wrote; /* bytes hashed, the buffer included */
    size_t n;
    unsigned char buf[SDKIM_BODYHASH_BUF];
};

static void
sdkim_bodyhash_flush(sdkim_bodyhash *b)
{
    if (b->n > 0 && EVP_DigestUpdate(b->ctx, b->buf, b->n) != 1)
        b->failed = 1;
    b->n = 0;
}

static void
sdkim_bodyhash_put(sdkim_bodyhash *b, const void *p, size_t len)
{
    if (b->n + len > sizeof(b->buf))
        sdkim_bodyhash_flush(b);
    if (len > sizeof(b->buf)) {
        if (EVP_DigestUpdate(b->ctx, p, len) != 1)
            b->failed = 1;
    } else {
        memcpy(b->buf + b->n, p, len);
        b->n += len;
    }
    b->wrote += len;
}

/* sdkim_bodyhash_char - one character of a line (not CR/LF as line end, not relaxed WSP) */
static void
sdkim_bodyhash_char(sdkim_bodyhash *b, unsigned char c)
{
    if (b->line == 0)
        for (; b->empty > 0; b->empty--)
            sdkim_bodyhash_put(b, "\r\n", 2);
    if (b->wsp) {
        sdkim_bodyhash_put(b, " ", 1);
        b->wsp = 0;
    }
    if (b->n == sizeof(b->buf))
        sdkim_bodyhash_flush(b);
    b->buf[b->n++] = c;
    b->wrote++;
    b->line++;
}

/* sdkim_bodyhash_eol - the end of a line (CRLF seen) */
static void
sdkim_bodyhash_eol(sdkim_bodyhash *b)
{
    b->wsp = 0; /* trailing whitespace is dropped */
    if (b->line == 0)
        b->empty++;
    else
        sdkim_bodyhash_put(b, "\r\n", 2);
    b->line = 0;
}

sdkim_bodyhash *
sdkim_bodyhash_new(int relaxed, const EVP_MD *md)
{
    sdkim_bodyhash *b = xcalloc(1, sizeof(*b));

    b->relaxed = relaxed;
    b->ctx = EVP_MD_CTX_new();
    if (b->ctx == NULL || EVP_DigestInit_ex(b->ctx, md, NULL) != 1)
        b->failed = 1;
    return b;
}

void
sdkim_bodyhash_update(sdkim_bodyhash *b, const unsigned char *p, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = p[i];

        if (b->cr) {
            b->cr = 0;
            if (c == '\n') {
                sdkim_bodyhash_eol(b);
                continue;
            }
            sdkim_bodyhash_char(b, '\r'); /* a bare CR is a character of its line */
        }
        if (c == '\r') {
            b->cr = 1;
        } else if (b->relaxed && (c == ' ' || c == '\t')) {
            b->wsp = 1;
        } else if (b->line > 0 && !b->wsp && b->n < sizeof(b->buf)) {
            /* the common case, inside a line: copy the run up to the next CR (or WSP) */
            const unsigned char *stop =
                b->relaxed ? sdkim_bodyhash_stop_relaxed : sdkim_bodyhash_stop_simple;
            size_t room = sizeof(b->buf) - b->n, k = 1, max = len - i < room ? len - i : room;

            while (k < max) {
                if (!stop[p[i + k]])
                    k++;
                else if (p[i + k] == ' ' && k + 1 < max && !stop[p[i + k + 1]])
                    k += 2; /* relaxed: a single space between characters stays as it is */
                else
                    break;
            }
            memcpy(b->buf + b->n, p + i, k);
            b->n += k;
            b->wrote += k;
            b->line += k;
            i += k - 1;
        } else {
            sdkim_bodyhash_char(b, c);
        }
    }
}

size_t
sdkim_bodyhash_final(sdkim_bodyhash *b, unsigned char *digest)
{
    unsigned int n = 0;

    if (b->cr) {
        b->cr = 0;
        sdkim_bodyhash_char(b, '\r');
    }
    if (b->line > 0)
        sdkim_bodyhash_eol(b); /* a last line without CRLF gets one */
    if (!b->relaxed && b->wrote == 0)
        sdkim_bodyhash_put(b, "\r\n", 2);
    sdkim_bodyhash_flush(b);
    if (b->failed || EVP_DigestFinal_ex(b->ctx, digest, &n) != 1)
        return 0;
    return n;
}

sdkim_bodyhash *
sdkim_bodyhash_free(sdkim_bodyhash *b)
{
    if (b != NULL) {
        EVP_MD_CTX_free(b->ctx);
        free(b);
    }
    return NULL;
}
