/*
 * fuzz_dmarc.c - libFuzzer target for the DMARC record parser and the DNS answer parser
 *
 * Purpose: feed arbitrary bytes to dmarc_record_parse() (as a TXT record, by
 * RFC 7489 and by RFC 9989: dmarc_record_parse_method()),
 * to dns_parse_answer() (as a DNS response) and, split at the first NUL,
 * to dmarc_aligned() as two identifiers; check the invariants callers rely
 * on and abort on a violation so that libFuzzer records the input:
 *   - DMARC_PARSE_OK: policy is none/quarantine/reject, pct in 0..100,
 *     modes valid, and the record is recognised by dmarc_is_dmarc_record();
 *     any other status comes with a reason;
 *   - DNS_OK: at least one record, each NUL-terminated at its length;
 *     any other status: no records returned;
 *   - strict alignment is symmetric and implies relaxed alignment.
 * Built only with ./configure --enable-fuzzing CC=clang (mk/dmarc.am).
 * Run: BUILDDIR/tests/fuzz/fuzz_dmarc -dict=tests/fuzz/dmarc.dict CORPUS
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/dmarc.h"
#include "lib/dns.h"
#include "lib/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* fuzz_check - abort unless cond holds */
static void
fuzz_check(int cond)
{
    if (!cond)
        abort();
}

/* fuzz_record - the record parser's invariants, by one specification */
static void
fuzz_record(const char *s, size_t n, dmarc_method m)
{
    char err[256] = "";
    dmarc_record r;
    dmarc_parse_status st = dmarc_record_parse_method(s, n, m, &r, err, sizeof(err));

    if (st == DMARC_PARSE_OK) {
        fuzz_check(r.np <= DMARC_POLICY_REJECT && r.psd <= DMARC_PSD_N);
        fuzz_check(m == DMARC_RFC9989 ? r.pct == 100 : (r.np == 0 && r.psd == 0 && r.t == 0));
        fuzz_check(r.p >= DMARC_POLICY_NONE && r.p <= DMARC_POLICY_REJECT);
        fuzz_check(r.sp <= DMARC_POLICY_REJECT);
        fuzz_check(r.pct >= 0 && r.pct <= 100);
        fuzz_check(r.adkim <= DMARC_ALIGN_STRICT && r.aspf <= DMARC_ALIGN_STRICT);
        fuzz_check(dmarc_is_dmarc_record(s, n));
        fuzz_check(memchr(r.rua, '\0', sizeof(r.rua)) != NULL);
    } else {
        fuzz_check(err[0] != '\0');
    }
}

/* fuzz_answer - the DNS answer parser's invariants */
static void
fuzz_answer(const uint8_t *data, size_t size)
{
    dns_txt *t = NULL;
    uint32_t ttl = 0;
    dns_status st = dns_parse_answer(data, size, &t, &ttl);

    if (st == DNS_OK) {
        fuzz_check(t != NULL && t->n > 0);
        for (size_t i = 0; i < t->n; i++)
            fuzz_check(t->rr[i][t->len[i]] == '\0' && t->len[i] < size);
    } else {
        fuzz_check(t == NULL);
    }
    dns_txt_free(t);
}

/* fuzz_align - alignment on two identifiers */
static void
fuzz_align(const char *s, size_t n)
{
    const char *nul = memchr(s, '\0', n);
    char *a, *b;
    int strict, relaxed;

    if (nul == NULL)
        return;
    a = xstrdup(s);
    b = xstrndup(nul + 1, n - (size_t)(nul - s) - 1);
    strict = dmarc_aligned(a, b, DMARC_ALIGN_STRICT);
    relaxed = dmarc_aligned(a, b, DMARC_ALIGN_RELAXED);
    fuzz_check(strict == dmarc_aligned(b, a, DMARC_ALIGN_STRICT));
    fuzz_check(!strict || relaxed);
    free(a);
    free(b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = xmalloc(size + 1);

    memcpy(s, data, size);
    s[size] = '\0';
    fuzz_record(s, size, DMARC_RFC7489);
    fuzz_record(s, size, DMARC_RFC9989);
    fuzz_answer(data, size);
    fuzz_align(s, size);
    free(s);
    return 0;
}
