/*
 * utf8.c - well-formed UTF-8 and the code points that must not be shown raw
 *
 * Purpose: text from the network (header fields, addresses) reaches log
 * lines, SMTP replies and added header fields.  Only well-formed UTF-8 may
 * pass there as it is: no overlong form (C0 AF for '/'), no surrogate
 * (ED A0..BF), nothing above U+10FFFF (F4 90.., F5..FF), no truncated
 * sequence.  Some valid code points still change what a reader sees: the
 * C1 controls (U+0085 NEL, U+009B CSI), the bidirectional marks, embeddings,
 * overrides and isolates (U+061C, U+200E/F, U+202A..E, U+2066..9), and
 * U+2028/U+2029; callers escape those too.
 */
#include "config.h"

#include "lib/utf8.h"
#include "lib/util.h"

static const struct {
    uint32_t lo, hi;
} utf8_hidden_ranges[] = {
    {0x80, 0x9f},     /* C1 controls */
    {0x61c, 0x61c},   /* ARABIC LETTER MARK */
    {0x200e, 0x200f}, /* LRM, RLM */
    {0x2028, 0x202e}, /* LINE/PARAGRAPH SEPARATOR, LRE, RLE, PDF, LRO, RLO */
    {0x2066, 0x2069}, /* LRI, RLI, FSI, PDI */
};

size_t
utf8_decode(const unsigned char *p, uint32_t *cp)
{
    unsigned char lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
    size_t n;
    uint32_t c;

    if (p[0] >= 0xc2 && p[0] <= 0xdf) {
        n = 2, c = p[0] & 0x1f;
    } else if (p[0] >= 0xe0 && p[0] <= 0xef) {
        n = 3, c = p[0] & 0x0f;
        lo = p[0] == 0xe0 ? 0xa0 : 0x80; /* E0 80..9F: overlong */
        hi = p[0] == 0xed ? 0x9f : 0xbf; /* ED A0..BF: surrogates */
    } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
        n = 4, c = p[0] & 0x07;
        lo = p[0] == 0xf0 ? 0x90 : 0x80; /* F0 80..8F: overlong */
        hi = p[0] == 0xf4 ? 0x8f : 0xbf; /* F4 90..: above U+10FFFF */
    } else {
        return 0; /* ASCII, a continuation byte, C0/C1 (overlong), F5..FF */
    }
    if (p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0; /* also the NUL that ends a truncated sequence */
        c = (c << 6) | (p[i] & 0x3f);
    }
    *cp = c;
    return n;
}

int
utf8_hidden(uint32_t cp)
{
    for (size_t i = 0; i < SM_ARRAY_LEN(utf8_hidden_ranges); i++)
        if (cp >= utf8_hidden_ranges[i].lo && cp <= utf8_hidden_ranges[i].hi)
            return 1;
    return 0;
}
