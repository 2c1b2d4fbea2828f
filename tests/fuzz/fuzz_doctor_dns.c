/*
 * fuzz_doctor_dns.c - libFuzzer target for the doctor's DNS answer parser
 *
 * Purpose: feed arbitrary bytes to doctor_dns_parse() as the response to a
 * CNAME, MX or TXT query (the first byte picks the type) and check what
 * the doctor's checks rely on, aborting on a violation:
 *   - DNS_OK: at least one record; DNS_NODATA, NXDOMAIN, TEMPFAIL: none;
 *   - every TXT record's text is NUL-terminated at its length, its spaced
 *     form is one byte longer per extra string, and nstrings >= 1;
 *   - names (alias, targets) are NUL-terminated inside their buffers.
 * Built only with ./configure --enable-fuzzing CC=clang (mk/doctor.am).
 * Run: BUILDDIR/tests/fuzz/fuzz_doctor_dns -dict=tests/fuzz/doctor_dns.dict CORPUS
 */
#include "config.h"

#include <arpa/nameser.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "doctor/doctor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* fuzz_check - abort unless cond holds */
static void
fuzz_check(int cond)
{
    if (!cond)
        abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int types[] = {ns_t_cname, ns_t_mx, ns_t_txt};
    doctor_answer a;
    dns_status st;
    int type;

    if (size < 1)
        return 0;
    type = types[data[0] % 3];
    memset(&a, 0, sizeof(a));
    st = doctor_dns_parse(data + 1, size - 1, "bounce.example.com", type, &a);
    fuzz_check(st == DNS_OK ? a.n > 0 : a.n == 0);
    fuzz_check(memchr(a.cname, '\0', sizeof(a.cname)) != NULL);
    for (size_t i = 0; i < a.n; i++) {
        const doctor_rr *r = &a.rr[i];
        fuzz_check(memchr(r->target, '\0', sizeof(r->target)) != NULL);
        if (type != ns_t_txt)
            continue;
        fuzz_check(r->txt != NULL && r->txt[r->txtlen] == '\0');
        fuzz_check(r->nstrings == 0 || strlen(r->spaced) <= r->txtlen + r->nstrings - 1);
    }
    doctor_answer_clear(&a);
    return 0;
}
