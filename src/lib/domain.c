/*
 * domain.c - domain names: IDN to A-label, case folding, the trailing dot,
 * label validation
 *
 * Purpose: the one normaliser of the tree (issue 17: identity.c, orgdomain.c
 * and the file plugin had one each).  domain_normalize() removes one
 * trailing dot, converts Unicode labels to A-labels (libidn2, UTS #46
 * non-transitional), folds ASCII to lower case and checks the labels: 1..63
 * octets, at most 253 in all.  The flags choose how strict:
 *   DOMAIN_STRICT     the form identities are kept in: LDH plus '_', no
 *                     label beginning or ending with '-', every xn-- label
 *                     decoding and encoding back to itself;
 *   DOMAIN_NFC        Unicode not in NFC is accepted and normalised;
 *   DOMAIN_PRINTABLE  any printable ASCII byte but '@', '/' and '\\' in a
 *                     label, no '-' rule, no round trip (the names libpsl
 *                     and DNS are asked about: DKIM d=, From, MAIL FROM).
 * The PSL and organisational domains are domain_psl.c, the RFC 9989 tree
 * walk domain_walk.c.
 *
 * Diagnostics: none; the reason goes to the caller's err.
 */
#include "config.h"

#include <idn2.h>
#include <stdlib.h>
#include <string.h>

#include "lib/domain.h"
#include "lib/util.h"

#define DOMAIN_INPUT_MAX 1024 /* octets of input looked at, before IDN */

/* domain_byte_ok - whether ch may appear in a label under flags */
static int
domain_byte_ok(unsigned char ch, unsigned flags)
{
    if (flags & DOMAIN_PRINTABLE)
        return ch > 0x20 && ch < 0x7f && ch != '@' && ch != '/' && ch != '\\';
    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_';
}

/* domain_label_check - validate the lower-case A-label name d under flags */
static int
domain_label_check(const char *d, unsigned flags, char *err, size_t errlen)
{
    size_t len = strlen(d), label = 0;

    if (len == 0)
        return util_errf(err, errlen, "empty domain");
    if (len > 253)
        return util_errf(err, errlen, "domain longer than 253 octets");
    for (size_t i = 0; i <= len; i++) {
        unsigned char ch = (unsigned char)d[i];
        if (ch == '.' || ch == '\0') {
            if (label == 0)
                return util_errf(err, errlen, "domain has an empty label");
            if (label > 63)
                return util_errf(err, errlen, "domain label longer than 63 octets");
            if (!(flags & DOMAIN_PRINTABLE) && (d[i - 1] == '-' || d[i - label] == '-'))
                return util_errf(err, errlen, "domain label begins or ends with '-'");
            label = 0;
            continue;
        }
        if (!domain_byte_ok(ch, flags))
            return util_errf(err, errlen, "domain contains the character 0x%02x", ch);
        label++;
    }
    return 0;
}

/* domain_alabel_check - A-labels must decode and encode back to themselves */
static int
domain_alabel_check(const char *d, char *err, size_t errlen)
{
    char *u = NULL, *back = NULL;
    int rc = idn2_to_unicode_8z8z(d, &u, 0);

    if (rc == IDN2_OK)
        rc = idn2_to_ascii_8z(u, &back, IDN2_NONTRANSITIONAL);
    if (rc == IDN2_OK && strcmp(back, d) != 0)
        rc = IDN2_ENCODING_ERROR;
    idn2_free(u);
    idn2_free(back);
    if (rc != IDN2_OK)
        return util_errf(err, errlen, "invalid A-label in domain: %s", idn2_strerror(rc));
    return 0;
}

/* domain_to_ascii - Unicode labels of buf (DOMAIN_INPUT_MAX + 1 octets) to A-labels, in place */
static int
domain_to_ascii(char *buf, unsigned flags, char *err, size_t errlen)
{
    int idnflags = IDN2_NONTRANSITIONAL | ((flags & DOMAIN_NFC) ? IDN2_NFC_INPUT : 0);
    char *ascii = NULL;
    int rc = idn2_to_ascii_8z(buf, &ascii, idnflags);

    if (rc != IDN2_OK) {
        idn2_free(ascii);
        return util_errf(err, errlen, "invalid internationalised domain: %s", idn2_strerror(rc));
    }
    if (strlen(ascii) > DOMAIN_INPUT_MAX) {
        idn2_free(ascii);
        return util_errf(err, errlen, "domain longer than 253 octets");
    }
    memcpy(buf, ascii, strlen(ascii) + 1);
    idn2_free(ascii);
    return 0;
}

int
domain_normalize(const char *name, unsigned flags, char *out, size_t outlen, char *err,
                 size_t errlen)
{
    char buf[DOMAIN_INPUT_MAX + 1];
    size_t len = name != NULL ? strlen(name) : 0;
    int nonascii = 0;

    if (out != NULL && outlen > 0)
        out[0] = '\0';
    if (len == 0)
        return util_errf(err, errlen, "empty domain");
    if (len > DOMAIN_INPUT_MAX)
        return util_errf(err, errlen, "domain longer than 253 octets");
    memcpy(buf, name, len + 1);
    if (len > 1 && buf[len - 1] == '.')
        buf[--len] = '\0';
    for (size_t i = 0; i < len; i++)
        nonascii |= (unsigned char)buf[i] >= 0x80;
    if (nonascii && domain_to_ascii(buf, flags, err, errlen) < 0)
        return -1;
    util_lower(buf);
    if (domain_label_check(buf, flags, err, errlen) < 0)
        return -1;
    if (!(flags & DOMAIN_PRINTABLE) && strstr(buf, "xn--") != NULL &&
        domain_alabel_check(buf, err, errlen) < 0)
        return -1;
    len = strlen(buf);
    if (out == NULL || len >= outlen)
        return util_errf(err, errlen, "domain does not fit in %zu octets", outlen);
    memcpy(out, buf, len + 1);
    return 0;
}
