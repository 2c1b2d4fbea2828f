/*
 * fuzz_unsub_tmpl.c - libFuzzer target for the List-Unsubscribe templates
 *
 * Purpose: the input is "K TEMPLATE \0 VALUE \0 VALUE ...": the first byte
 * chooses the template kind (https, http, mailto, text) and the
 * placeholders allowed; then the template text and up to six values
 * (recipient, sender, sender_domain, list_id, message_id, token), NUL
 * separated.  src/unsub/unsub_tmpl.c must hold (abort otherwise, so that
 * libFuzzer records the input):
 *   - a template that parses uses only allowed placeholders;
 *   - its expansion fails only for a missing value, and what it returns
 *     is header-safe (printable ASCII, no space, '<', '>' or '"');
 *   - percent-decoding a percent-encoded value gives the value back, and
 *     the encoding is made of unreserved characters and %XX only.
 * Built only with ./configure --enable-fuzzing CC=clang (mk/fuzz.am).
 * Run: BUILDDIR/tests/fuzz/fuzz_unsub_tmpl -dict=tests/fuzz/unsub_tmpl.dict CORPUS
 */
#include "config.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "unsub/unsub_tmpl.h"
#include "lib/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* fuzz_check - abort unless cond holds */
static void
fuzz_check(int cond)
{
    if (!cond)
        abort();
}

/* fuzz_roundtrip - pctdec(pctenc(v)) == v, and the encoding is URI-unreserved or %XX */
static void
fuzz_roundtrip(const char *v)
{
    char *enc = unsub_tmpl_pctenc(v), *dec;

    for (const char *p = enc; *p; p++)
        fuzz_check(isalnum((unsigned char)*p) || strchr("-._~%", *p) != NULL);
    for (int plus = 0; plus < 2; plus++) {
        dec = unsub_tmpl_pctdec(enc, strlen(enc), plus);
        fuzz_check(dec != NULL && strcmp(dec, v) == 0);
        free(dec);
    }
    free(enc);
    /* decoding arbitrary text: NULL or a string no longer than the input */
    dec = unsub_tmpl_pctdec(v, strlen(v), 1);
    fuzz_check(dec == NULL || strlen(dec) <= strlen(v));
    free(dec);
}

/* fuzz_safe - printable ASCII without space, '<', '>' or '"' */
static int
fuzz_safe(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x21 || *p > 0x7e || *p == '<' || *p == '>' || *p == '"')
            return 0;
    return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *part[7] = {NULL};
    char err[256], *buf, *out;
    unsigned allowed;
    unsub_tmpl_kind kind;
    unsub_tmpl_vars v;
    unsub_tmpl *t;
    size_t np = 0;

    if (size < 1 || size > 8192)
        return 0;
    kind = (unsub_tmpl_kind)(data[0] & 3);
    allowed = (data[0] >> 2) == 0 ? UNSUB_PH_ALL : (unsigned)(data[0] >> 2) & UNSUB_PH_ALL;
    buf = xmalloc(size);
    memcpy(buf, data + 1, size - 1);
    buf[size - 1] = '\0';
    for (size_t i = 0; np < 7; np++) {
        part[np] = buf + i;
        i += strlen(buf + i) + 1;
        if (i >= size)
            break;
    }
    for (size_t i = 0; i < 7; i++)
        if (part[i] == NULL)
            part[i] = "";
    for (size_t i = 0; i < 7; i++)
        fuzz_roundtrip(part[i]);

    t = unsub_tmpl_parse(part[0], kind, allowed, err, sizeof(err));
    if (t != NULL) {
        unsigned uses = unsub_tmpl_uses(t), missing = 0;
        v.recipient = part[1];
        v.sender = part[2];
        v.sender_domain = part[3];
        v.list_id = part[4];
        v.message_id = part[5];
        v.token = part[6];
        for (unsigned bit = 1, k = 1; bit <= UNSUB_PH_TOKEN; bit <<= 1, k++)
            if ((uses & bit) && *part[k] == '\0')
                missing = 1;
        fuzz_check((uses & ~allowed) == 0);
        fuzz_check(strcmp(unsub_tmpl_text(t), part[0]) == 0);
        out = unsub_tmpl_expand(t, &v, err, sizeof(err));
        fuzz_check((out == NULL) == (missing != 0));
        fuzz_check(out == NULL || fuzz_safe(out));
        free(out);
        unsub_tmpl_free(t);
    }
    free(buf);
    return 0;
}
