/*
 * doctor_probe.c - where DNS providers' mistakes put a record that is missing
 *
 * Purpose: when a record SES needs is not at its name, the doctor looks at
 * the names the classic mistakes of the SES troubleshooting guide produce,
 * and says which one it found:
 *   NAME.DOMAIN.DOMAIN   the provider appended the domain a second time
 *   TOKEN.domainkey.D, TOKEN-domainkey.D, dmarc.D, amazonses.D
 *                        the provider refused the underscore
 *   PREFIX.PARENT        published at the parent instead of the subdomain
 *   PREFIX.SUBDOMAIN     published at the subdomain asked about instead of
 *                        the identity (its parent) that governs it
 * doctor_probe_value() says whether a value differs from the one wanted only
 * in case, or by the domain appended to it.
 */
#include "config.h"

#include <arpa/nameser.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "doctor/doctor.h"
#include "lib/domain_psl.h"

/* doctor_probe_add - one candidate name and its sentence */
static size_t doctor_probe_add(doctor_variant *v, size_t n, size_t max, const char *why,
                               const char *fmt, ...) SM_PRINTF(5, 6);

static size_t
doctor_probe_add(doctor_variant *v, size_t n, size_t max, const char *why, const char *fmt, ...)
{
    va_list ap;

    if (n >= max)
        return n;
    va_start(ap, fmt);
    vsnprintf(v[n].name, sizeof(v[n].name), fmt, ap);
    va_end(ap);
    util_strlcpy(v[n].why, why, sizeof(v[n].why));
    return n + 1;
}

size_t
doctor_probe_variants(const char *prefix, const char *domain, const char *asked, doctor_variant *v,
                      size_t max)
{
    char org[DOMAIN_MAX], tmp[700];
    const char *us = strstr(prefix, "._");
    size_t n = 0;

    n = doctor_probe_add(v, n, max,
                         "the DNS provider appended the domain a second time: enter the name "
                         "without the domain",
                         "%s.%s.%s", prefix, domain, domain);
    if (us != NULL) {
        const char *why = "the DNS provider refused the underscore: the name must keep its '_'";
        n = doctor_probe_add(v, n, max, why, "%.*s.%s.%s", (int)(us - prefix), prefix, us + 2,
                             domain);
        n = doctor_probe_add(v, n, max, why, "%.*s-%s.%s", (int)(us - prefix), prefix, us + 2,
                             domain);
    } else if (prefix[0] == '_') {
        const char *why = "the DNS provider refused the underscore: the name must keep its '_'";
        n = doctor_probe_add(v, n, max, why, "%s.%s", prefix + 1, domain);
        n = doctor_probe_add(v, n, max, why, "-%s.%s", prefix + 1, domain);
    }
    if (domain_psl_org(domain, org, sizeof(org)) == 0 && strcmp(org, domain) != 0) {
        snprintf(tmp, sizeof(tmp), "published at the parent domain %s instead of %s", org, domain);
        n = doctor_probe_add(v, n, max, tmp, "%s.%s", prefix, org);
    }
    if (asked != NULL && strcmp(asked, domain) != 0) {
        snprintf(tmp, sizeof(tmp), "published at the subdomain %s instead of the identity %s",
                 asked, domain);
        n = doctor_probe_add(v, n, max, tmp, "%s.%s", prefix, asked);
    }
    return n;
}

int
doctor_probe_find(doctor_ctx *ctx, const char *prefix, const char *domain, const char *asked,
                  int type, doctor_want_fn want, const void *arg, doctor_variant *found)
{
    doctor_variant v[8];
    size_t n = doctor_probe_variants(prefix, domain, asked, v, 8);

    for (size_t i = 0; i < n; i++) {
        doctor_answer a;
        int hit = 0;

        if (doctor_dns_ask(ctx, v[i].name, type, &a) == DNS_OK)
            for (size_t k = 0; k < a.n && !hit; k++)
                hit = want == NULL || want(&a.rr[k], arg);
        doctor_answer_clear(&a);
        if (hit) {
            *found = v[i];
            return 1;
        }
    }
    return 0;
}

int
doctor_probe_value(const char *got, const char *want, const char *domain)
{
    size_t lg = strlen(got), lw = strlen(want), ld = strlen(domain);

    if (lg > 0 && got[lg - 1] == '.')
        lg--;
    if (lg == lw && strncmp(got, want, lw) == 0)
        return DOCTOR_VALUE_SAME;
    if (lg == lw && strncasecmp(got, want, lw) == 0)
        return DOCTOR_VALUE_CASE;
    if (lg == lw + 1 + ld && strncasecmp(got, want, lw) == 0 && got[lw] == '.' &&
        strncasecmp(got + lw + 1, domain, ld) == 0)
        return DOCTOR_VALUE_APPENDED;
    return DOCTOR_VALUE_OTHER;
}
