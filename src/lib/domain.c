/*
 * domain.c - domain names: IDN to A-label, case folding, the trailing dot,
 * label validation
 *
 * domain_normalize() is the strict form identities are kept in (moved here
 * from identity.c, issue 17): one trailing dot removed, Unicode labels to
 * A-labels (libidn2, UTS #46 non-transitional), ASCII lower-case, LDH plus
 * '_' labels of 1..63 octets not beginning or ending with '-', at most 253
 * octets, and every xn-- label decoding and encoding back to itself.  The
 * PSL and organisational domains are still in orgdomain.c.
 */
#include "config.h"

#include <idn2.h>
#include <stdlib.h>
#include <string.h>

#include "lib/domain.h"
#include "lib/util.h"

/* domain_label_check - validate lower-case A-label name d (LDH plus '_') */
static int
domain_label_check(const char *d, char *err, size_t errlen)
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
            if (d[i - 1] == '-' || d[i - label] == '-')
                return util_errf(err, errlen, "domain label begins or ends with '-'");
            label = 0;
            continue;
        }
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_'))
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

int
domain_normalize(const char *domain, char **out_r, char *err, size_t errlen)
{
    size_t len = domain != NULL ? strlen(domain) : 0;
    char *copy, *ascii = NULL;
    int nonascii = 0, rc;

    *out_r = NULL;
    if (len == 0)
        return util_errf(err, errlen, "empty domain");
    if (len > 1024)
        return util_errf(err, errlen, "domain longer than 253 octets");
    copy = xstrndup(domain, len);
    if (len > 1 && copy[len - 1] == '.')
        copy[len - 1] = '\0';
    for (const char *p = copy; *p; p++)
        if ((unsigned char)*p >= 0x80)
            nonascii = 1;
    if (nonascii) {
        rc = idn2_to_ascii_8z(copy, &ascii, IDN2_NONTRANSITIONAL);
        free(copy);
        if (rc != IDN2_OK)
            return util_errf(err, errlen, "invalid internationalised domain: %s",
                             idn2_strerror(rc));
        copy = xstrdup(ascii);
        idn2_free(ascii);
    }
    util_lower(copy);
    if (domain_label_check(copy, err, errlen) < 0) {
        free(copy);
        return -1;
    }
    if (strstr(copy, "xn--") != NULL && domain_alabel_check(copy, err, errlen) < 0) {
        free(copy);
        return -1;
    }
    *out_r = copy;
    return 0;
}
