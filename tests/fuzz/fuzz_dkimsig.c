/*
 * fuzz_dkimsig.c - libFuzzer target for the DKIM verifier's untrusted inputs
 *
 * Purpose: the input is "signature\nkey record\nbody".  The signature text
 * becomes a DKIM-Signature header of a small message, the key record is
 * what DNS answers for every key lookup (an empty record means NXDOMAIN),
 * and the rest is the body, fed in two chunks.  Checked invariants (abort
 * otherwise, so libFuzzer records the input):
 *   - the streaming calls never fail on bad input and eom reports exactly
 *     one result, with a known result code, a reason and non-NULL strings;
 *   - a result's h= list is what sdkim_sig_covers() answers;
 *   - sdkim_key_published() on the same record answers 0 or 1.
 * Built only with ./configure --enable-fuzzing CC=clang (mk/dkim.am).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/sdkim.h"
#include "lib/dns.h"
#include "lib/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *fuzz_key; /* the record DNS answers with */

/* fuzz_check - abort unless cond holds */
static void
fuzz_check(int cond)
{
    if (!cond)
        abort();
}

/* fuzz_resolve - every name holds fuzz_key (NXDOMAIN when empty) */
static dns_status
fuzz_resolve(void *arg, const char *name, uint64_t deadline_ms, dns_txt **txt_r, uint32_t *ttl_r)
{
    (void)arg;
    (void)name;
    (void)deadline_ms;
    *ttl_r = 60;
    if (fuzz_key[0] == '\0')
        return DNS_NXDOMAIN;
    *txt_r = dns_txt_new();
    dns_txt_add(*txt_r, fuzz_key, strlen(fuzz_key));
    return DNS_OK;
}

/* fuzz_part - the next '\n'-terminated part of the input as a C string (NULs cut it short) */
static char *
fuzz_part(const uint8_t **p, const uint8_t *end)
{
    const uint8_t *nl = memchr(*p, '\n', (size_t)(end - *p));
    const uint8_t *stop = nl != NULL ? nl : end;
    char *s = xstrndup((const char *)*p, (size_t)(stop - *p));

    *p = nl != NULL ? nl + 1 : end;
    return s;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static dns_cache *dns;
    static sdkim_engine *e;
    const uint8_t *p = data, *end = data + size;
    const sdkim_sig_result *sigs;
    char *sig, err[256];
    sdkim_verify *v;
    size_t n, half;

    if (e == NULL) {
        dns = dns_cache_new(NULL);
        dns_cache_set_resolver(dns, fuzz_resolve, NULL);
        e = sdkim_engine_new(dns, NULL, err, sizeof(err));
        fuzz_check(e != NULL);
    }
    dns_cache_flush(dns);
    sig = fuzz_part(&p, end);
    fuzz_key = fuzz_part(&p, end);
    v = sdkim_verify_new(e, "FUZZ", err, sizeof(err));
    fuzz_check(v != NULL);
    fuzz_check(sdkim_verify_header(v, "DKIM-Signature", sig) == SDKIM_VERIFY_OK);
    fuzz_check(sdkim_verify_header(v, "From", "a@example.com") == SDKIM_VERIFY_OK);
    fuzz_check(sdkim_verify_header(v, "Subject", "fuzz") == SDKIM_VERIFY_OK);
    fuzz_check(sdkim_verify_eoh(v) == SDKIM_VERIFY_OK);
    half = (size_t)(end - p) / 2;
    fuzz_check(sdkim_verify_body(v, p, half) == SDKIM_VERIFY_OK);
    fuzz_check(sdkim_verify_body(v, p + half, (size_t)(end - p) - half) == SDKIM_VERIFY_OK);
    fuzz_check(sdkim_verify_eom(v, &sigs, &n) == SDKIM_VERIFY_OK && n == 1);
    fuzz_check(sigs[0].result >= SDKIM_R_PASS && sigs[0].result <= SDKIM_R_PERMERROR);
    fuzz_check(sigs[0].reason != NULL && sigs[0].domain != NULL && sigs[0].selector != NULL &&
               sigs[0].algorithm != NULL && sigs[0].identity != NULL);
    for (size_t i = 0; i < sigs[0].n_signed; i++)
        fuzz_check(sdkim_sig_covers(&sigs[0], sigs[0].signed_headers[i]));
    sdkim_verify_free(v);
    n = (size_t)sdkim_key_published(e, "s", "example.com", util_now_ms() + 1000, err, sizeof(err));
    fuzz_check(n == 0 || n == 1);
    free((void *)fuzz_key);
    free(sig);
    return 0;
}
