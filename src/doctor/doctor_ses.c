/*
 * doctor_ses.c - the identity that governs a target, and its state at the source
 *
 * Purpose: SES applies the most specific identity: the address, the address
 * without its +label, then the domain and each parent domain up to the
 * organisational domain.  The doctor walks the same candidates through every
 * configured source in order (ABI 1.2 describe(), uncached; lookup() for a
 * plugin without it), keeps the most specific answer (the verification
 * line), and separately the most specific *domain* identity (its DKIM and
 * custom MAIL FROM settings are the ones SES uses for the domain's mail).
 * A source that cannot answer (throttled, unreachable) is an error: exit 2.
 * doctor_ses_list() gathers every identity the sources list (--all).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "engine/services.h"
#include "doctor/doctor.h"
#include "lib/domain_psl.h"
#include "identity/plugin.h"

#define DOCTOR_MAX_CANDIDATES 16

/* doctor_ses_candidates - address, address without +label, domain, parents to the org domain */
static size_t
doctor_ses_candidates(const char *target, const char *domain, char cand[][320], int is_addr[])
{
    char org[DOMAIN_MAX];
    const char *at = strrchr(target, '@'), *plus, *d = domain;
    size_t n = 0;

    if (at != NULL) {
        snprintf(cand[n], 320, "%.*s@%s", (int)(at - target), target, domain);
        is_addr[n++] = 1;
        if ((plus = memchr(target, '+', (size_t)(at - target))) != NULL && plus > target) {
            snprintf(cand[n], 320, "%.*s@%s", (int)(plus - target), target, domain);
            is_addr[n++] = 1;
        }
    }
    if (domain_psl_org(domain, org, sizeof(org)) < 0)
        util_strlcpy(org, domain, sizeof(org));
    while (d != NULL && n < DOCTOR_MAX_CANDIDATES) {
        util_strlcpy(cand[n], d, 320);
        is_addr[n++] = 0;
        if (strcmp(d, org) == 0 || (d = strchr(d, '.')) == NULL)
            break;
        d++;
    }
    return n;
}

void
doctor_ses_resolve(doctor_ctx *ctx, const char *target, const char *domain, doctor_ses *s)
{
    plugin_chain *chain = services_of(ctx->conf)->chain;
    char cand[DOCTOR_MAX_CANDIDATES][320];
    int is_addr[DOCTOR_MAX_CANDIDATES];
    size_t n = doctor_ses_candidates(target, domain, cand, is_addr);
    sm_id_description *d = xcalloc(1, sizeof(*d));

    memset(s, 0, sizeof(*s));
    s->answer = SM_ID_UNKNOWN;
    for (size_t k = 0; chain != NULL && k < n; k++) {
        for (size_t i = 0; i < plugin_chain_count(chain); i++) {
            plugin_instance *inst = plugin_chain_get(chain, i);
            sm_id_answer a;

            s->asked = 1;
            a = plugin_instance_describe(inst, cand[k],
                                         is_addr[k] ? SM_IDKIND_ADDRESS : SM_IDKIND_DOMAIN,
                                         ctx->deadline_ms, d);
            if (a == SM_ID_TEMPFAIL) {
                if (s->error[0] == '\0')
                    snprintf(s->error, sizeof(s->error), "source %s could not answer for %s: %s",
                             plugin_instance_name(inst), cand[k],
                             d->attrs.detail[0] ? d->attrs.detail : "temporary failure");
                continue;
            }
            if (a == SM_ID_UNKNOWN)
                continue;
            if (s->identity[0] == '\0') {
                s->answer = a;
                s->describe = plugin_instance_can_describe(inst);
                util_strlcpy(s->identity, cand[k], sizeof(s->identity));
                util_strlcpy(s->source, plugin_instance_name(inst), sizeof(s->source));
                util_strlcpy(s->plugin, plugin_instance_plugin(inst), sizeof(s->plugin));
                s->d = *d;
            }
            if (!is_addr[k] && !s->have_domain) {
                s->have_domain = 1;
                util_strlcpy(s->domain_identity, cand[k], sizeof(s->domain_identity));
                s->dom = *d;
            }
            break; /* the first source that knows the candidate answers for it */
        }
        if (s->have_domain)
            break;
    }
    free(d);
}

typedef struct doctor_list_arg {
    char ***v;
    size_t *n;
} doctor_list_arg;

/* doctor_ses_list_one - one listed identity, once */
static void
doctor_ses_list_one(void *arg, const char *identity, sm_id_type type)
{
    doctor_list_arg *la = arg;

    (void)type;
    for (size_t i = 0; i < *la->n; i++)
        if (strcmp((*la->v)[i], identity) == 0)
            return;
    *la->v = xrealloc(*la->v, (*la->n + 1) * sizeof(**la->v));
    (*la->v)[(*la->n)++] = xstrdup(identity);
}

int
doctor_ses_list(doctor_ctx *ctx, char ***v, size_t *n, char *err, size_t errlen)
{
    plugin_chain *chain = services_of(ctx->conf)->chain;
    doctor_list_arg la = {v, n};
    int rc = 0;

    if (chain == NULL || plugin_chain_count(chain) == 0)
        return util_errf(err, errlen, "--all: no identity sources are configured");
    for (size_t i = 0; i < plugin_chain_count(chain); i++)
        if (plugin_instance_list(plugin_chain_get(chain, i), ctx->deadline_ms, doctor_ses_list_one,
                                 &la, err, errlen) < 0)
            rc = -1;
    return rc;
}
