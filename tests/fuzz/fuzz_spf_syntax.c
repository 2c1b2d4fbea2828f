/*
 * fuzz_spf_syntax.c - libFuzzer target for the strict SPF record checker
 *
 * Purpose: feed arbitrary bytes to src/auth/spf_syntax.c as an SPF record, as a
 * macro-string and as a domain-spec, and check the invariants its callers
 * (spf.c) rely on; abort on a violation so that libFuzzer records the input:
 *   - a record that parses is "v=spf1"; for both address families its
 *     rewrite parses again and rewriting that gives the same text (the
 *     rewrite is a fixed point: no /0, no unknown modifier, no redirect
 *     next to "all" is left for libspf2);
 *   - a valid macro-string expands (to a NUL-terminated string), an
 *     invalid one does not;
 *   - spf_syntax_quote() of printable text is a valid explanation string
 *     that expands back to exactly that text.
 * Nothing here does DNS.  Built only with ./configure --enable-fuzzing
 * CC=clang (mk/fuzz.am).
 * Run: BUILDDIR/tests/fuzz/fuzz_spf_syntax -dict=tests/fuzz/spf_syntax.dict CORPUS
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "auth/spf_syntax.h"
#include "lib/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* fixed macro values, long enough for every transformer */
static const spf_syntax_vars fuzz_vars = {
    "strong-bad@email.example.com",
    "strong-bad",
    "email.example.com",
    "email.example.com",
    "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0",
    "unknown",
    "mx.example.org",
    "192.0.2.3",
    "mail.example.org",
    "1700000000",
    "in-addr",
};

/* fuzz_check - abort unless cond holds */
static void
fuzz_check(int cond)
{
    if (!cond)
        abort();
}

/* fuzz_record - parse, rewrite for both families, re-parse, rewrite again */
static void
fuzz_record(const char *s, size_t n)
{
    static const int afs[2] = {AF_INET, AF_INET6};
    char err[256] = "";
    spf_syntax_rec *r = spf_syntax_parse(s, n, err, sizeof(err));

    if (r == NULL) {
        fuzz_check(err[0] != '\0');
        return;
    }
    fuzz_check(spf_syntax_is_spf1(s, n));
    for (int i = 0; i < 2; i++) {
        char *rw = spf_syntax_rewrite(r, afs[i]), *rw2;
        spf_syntax_rec *r2;

        fuzz_check(rw != NULL);
        r2 = spf_syntax_parse(rw, strlen(rw), err, sizeof(err));
        fuzz_check(r2 != NULL);
        rw2 = spf_syntax_rewrite(r2, afs[i]);
        fuzz_check(strcmp(rw, rw2) == 0);
        free(rw2);
        spf_syntax_free(r2);
        free(rw);
    }
    spf_syntax_free(r);
}

/* fuzz_macro - validity and expansion agree; quoting round-trips */
static void
fuzz_macro(const char *s, size_t n)
{
    for (int is_exp = 0; is_exp < 2; is_exp++) {
        int ok = spf_syntax_macro_string(s, n, is_exp, NULL, 0) == 0;
        char *x = spf_syntax_expand(s, n, is_exp, &fuzz_vars);

        fuzz_check(ok == (x != NULL));
        free(x);
    }
    (void)spf_syntax_domain_spec(s, n, NULL, 0);
    if (strlen(s) == n) {
        int printable = 1;
        for (size_t i = 0; i < n; i++)
            printable &= s[i] >= 0x20 && s[i] <= 0x7e;
        if (printable) {
            char *q = spf_syntax_quote(s), *x = spf_syntax_expand(q, strlen(q), 1, &fuzz_vars);
            fuzz_check(x != NULL && strcmp(x, s) == 0);
            free(x);
            free(q);
        }
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s;

    if (size > 4096) /* a TXT record set of 4 KiB holds every case */
        return 0;
    s = xmalloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';
    fuzz_record(s, size);
    fuzz_macro(s, size);
    free(s);
    return 0;
}
