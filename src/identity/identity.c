/*
 * identity.c - SES's identity resolution chain
 *
 * Purpose: turn one sender address into the identities SES would consult,
 * most specific first (exact address, address without +label, the domain,
 * each parent domain up to and including the registrable domain), and
 * resolve them over the configured sources.
 *
 * Normalisation: the local part is kept as given (SES compares it
 * case-sensitively); the domain is lower-cased and converted to A-labels
 * (libidn2, UTS#46 non-transitional), so "bücher.example" and
 * "xn--bcher-kva.example" are one identity.  The registrable domain comes
 * from the process's one Public Suffix List (lib/domain_psl.c: the
 * configured or system list, else libpsl's built-in copy); a public suffix such as "co.uk" is never
 * a candidate.
 *
 * Diagnostics: invalid input (empty labels, IDN failure, > 253 octets,
 * control characters) is a -1 result with a reason, never a crash.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "identity/identity.h"
#include "identity/plugin.h"
#include "lib/domain.h"
#include "lib/domain_psl.h"
#include "lib/util.h"

#define IDENTITY_LOCAL_MAX 256 /* longer local parts are refused */

int
identity_domain_normalize(const char *domain, char **out_r, char *err, size_t errlen)
{
    char buf[DOMAIN_MAX];

    *out_r = NULL;
    if (domain_normalize(domain, DOMAIN_STRICT, buf, sizeof(buf), err, errlen) < 0)
        return -1;
    *out_r = xstrdup(buf);
    return 0;
}

/* identity_local_check - a local part SES could hold: non-empty, bounded, no controls */
static int
identity_local_check(const char *local, char *err, size_t errlen)
{
    size_t len = local != NULL ? strlen(local) : 0;

    if (len == 0)
        return util_errf(err, errlen, "empty local part");
    if (len > IDENTITY_LOCAL_MAX)
        return util_errf(err, errlen, "local part longer than %d octets", IDENTITY_LOCAL_MAX);
    for (const char *p = local; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return util_errf(err, errlen, "local part contains the control character 0x%02x",
                             (unsigned char)*p);
    return 0;
}

int
identity_normalize(const char *identity, sm_id_kind kind, char **out_r, char *err, size_t errlen)
{
    const char *at;
    char *local, *dom;

    *out_r = NULL;
    if (identity == NULL)
        return util_errf(err, errlen, "no identity");
    if (kind == SM_IDKIND_DOMAIN)
        return identity_domain_normalize(identity, out_r, err, errlen);
    if (kind != SM_IDKIND_ADDRESS)
        return util_errf(err, errlen, "unknown identity kind %d", (int)kind);
    at = strrchr(identity, '@');
    if (at == NULL)
        return util_errf(err, errlen, "address without '@'");
    local = xstrndup(identity, (size_t)(at - identity));
    if (identity_local_check(local, err, errlen) < 0 ||
        identity_domain_normalize(at + 1, &dom, err, errlen) < 0) {
        free(local);
        return -1;
    }
    *out_r = xasprintf("%s@%s", local, dom);
    free(local);
    free(dom);
    return 0;
}

char *
identity_registrable(const char *domain)
{
    char reg[DOMAIN_MAX];

    /* the one list of the process (lib/domain_psl.c), not a second loader */
    if (domain == NULL || domain_psl_registrable(domain, reg, sizeof(reg)) < 0)
        return NULL;
    return xstrdup(reg);
}

static void
identity_push(identity_cand **v, size_t *n, char *text, sm_id_kind kind)
{
    *v = xrealloc(*v, (*n + 1) * sizeof(**v));
    (*v)[*n].identity = text;
    (*v)[*n].kind = kind;
    (*n)++;
}

int
identity_candidates(const char *local, const char *domain, char sep, identity_cand **v_r,
                    size_t *n_r, char *err, size_t errlen)
{
    identity_cand *v = NULL;
    size_t n = 0;
    char *dom, *reg;
    const char *p;

    *v_r = NULL;
    *n_r = 0;
    if (identity_local_check(local, err, errlen) < 0)
        return -1;
    if (identity_domain_normalize(domain, &dom, err, errlen) < 0)
        return -1;
    if (strlen(local) + strlen(dom) + 2 > IDENTITY_MAX) {
        free(dom);
        return util_errf(err, errlen, "address longer than %d octets", IDENTITY_MAX - 1);
    }
    identity_push(&v, &n, xasprintf("%s@%s", local, dom), SM_IDKIND_ADDRESS);
    if (sep != '\0' && (p = strchr(local, sep)) != NULL && p > local)
        identity_push(&v, &n, xasprintf("%.*s@%s", (int)(p - local), local, dom),
                      SM_IDKIND_ADDRESS);
    reg = identity_registrable(dom);
    if (reg != NULL) {
        /* the domain, then each parent, down to and including the registrable domain */
        for (p = dom; p != NULL; p = strchr(p, '.')) {
            if (*p == '.')
                p++;
            if (strlen(p) < strlen(reg))
                break; /* never a public suffix */
            identity_push(&v, &n, xstrdup(p), SM_IDKIND_DOMAIN);
            if (strcmp(p, reg) == 0)
                break;
        }
        free(reg);
    }
    free(dom);
    *v_r = v;
    *n_r = n;
    return 0;
}

identity_cand *
identity_cands_free(identity_cand *v, size_t n)
{
    for (size_t i = 0; v != NULL && i < n; i++)
        free(v[i].identity);
    free(v);
    return NULL;
}

const char *
identity_answer_name(sm_id_answer a)
{
    switch (a) {
    case SM_ID_VERIFIED:
        return "verified";
    case SM_ID_NOT_VERIFIED:
        return "not-verified";
    case SM_ID_UNKNOWN:
        return "unknown";
    case SM_ID_TEMPFAIL:
        return "tempfail";
    }
    return "invalid";
}

/* identity_record - copy the deciding answer into res */
static void
identity_record(identity_result *res, sm_id_answer a, const char *matched, const char *inst,
                const cache_answer *ca)
{
    res->answer = a;
    util_strlcpy(res->matched, matched, sizeof(res->matched));
    util_strlcpy(res->instance, inst, sizeof(res->instance));
    res->origin = ca->origin;
    res->age_ms = ca->age_ms;
    res->stored_wall_ms = ca->stored_wall_ms;
    res->attrs = ca->attrs;
    util_strlcpy(res->why, ca->why, sizeof(res->why));
}

/*
 * identity_resolve_one - walk the candidates over one instance: the first
 * VERIFIED / NOT_VERIFIED decides, TEMPFAIL before that is TEMPFAIL, all
 * UNKNOWN is UNKNOWN.  Fills res on a decisive or failed answer.
 */
static sm_id_answer
identity_resolve_one(plugin_instance *inst, cache *c, const identity_cand *v, size_t n,
                     uint64_t deadline_ms, const char *qid, identity_result *res)
{
    cache_answer ca;

    for (size_t i = 0; i < n; i++) {
        sm_id_answer a =
            plugin_instance_lookup(inst, c, v[i].identity, v[i].kind, deadline_ms, qid, &ca);
        if (a == SM_ID_UNKNOWN) {
            /* nobody decided: the region the source asked in still names where it refused */
            util_strlcpy(res->attrs.region, ca.attrs.region, sizeof(res->attrs.region));
            continue;
        }
        identity_record(res, a, a == SM_ID_TEMPFAIL ? "" : v[i].identity,
                        plugin_instance_name(inst), &ca);
        if (a == SM_ID_TEMPFAIL)
            util_strlcpy(res->matched, v[i].identity, sizeof(res->matched));
        return a;
    }
    return SM_ID_UNKNOWN;
}

/* identity_unknown - nobody knows the sender: not verified (SES would refuse) */
static void
identity_unknown(identity_result *res, const char *inst)
{
    cache_answer none;

    memset(&none, 0, sizeof(none));
    none.attrs.size = sizeof(none.attrs);
    none.attrs.dkim_signing_enabled = SM_TRI_UNKNOWN;
    util_strlcpy(none.attrs.detail, "no source knows this identity", sizeof(none.attrs.detail));
    identity_record(res, SM_ID_NOT_VERIFIED, "", inst, &none);
}

int
identity_resolve(plugin_chain *chain, cache *c, identity_combine combine, const char *local,
                 const char *domain, char sep, uint64_t deadline_ms, const char *queue_id,
                 identity_result *res, char *err, size_t errlen)
{
    return identity_resolve_in(chain, NULL, c, combine, local, domain, sep, deadline_ms, queue_id,
                               res, err, errlen);
}

int
identity_resolve_in(plugin_chain *chain, const char *only, cache *c, identity_combine combine,
                    const char *local, const char *domain, char sep, uint64_t deadline_ms,
                    const char *queue_id, identity_result *res, char *err, size_t errlen)
{
    identity_cand *v;
    size_t n, ni = chain != NULL ? plugin_chain_count(chain) : 0;
    identity_result first, tmp;
    int have_first = 0, tempfail = 0;

    memset(res, 0, sizeof(*res));
    if (identity_candidates(local, domain, sep, &v, &n, err, errlen) < 0)
        return -1;
    util_strlcpy(res->address, v[0].identity, sizeof(res->address));
    identity_unknown(res, "");
    for (size_t i = 0; i < ni; i++) {
        plugin_instance *inst = plugin_chain_get(chain, i);
        sm_id_answer a;

        if (only != NULL && strcmp(plugin_instance_name(inst), only) != 0)
            continue;
        memset(&tmp, 0, sizeof(tmp));
        util_strlcpy(tmp.address, res->address, sizeof(tmp.address));
        a = identity_resolve_one(inst, c, v, n, deadline_ms, queue_id, &tmp);
        if (a == SM_ID_UNKNOWN) {
            char region[sizeof(tmp.attrs.region)];
            util_strlcpy(region, tmp.attrs.region, sizeof(region));
            identity_unknown(&tmp, plugin_instance_name(inst));
            util_strlcpy(tmp.attrs.region, region, sizeof(tmp.attrs.region));
        }
        if (combine == IDENTITY_COMBINE_FIRST) {
            if (a == SM_ID_UNKNOWN) {
                if (res->attrs.region[0] == '\0') /* the first region that did not know it */
                    util_strlcpy(res->attrs.region, tmp.attrs.region, sizeof(res->attrs.region));
                continue;
            }
            *res = tmp; /* decisive, or TEMPFAIL before any decisive answer */
            break;
        }
        /* all: any NOT_VERIFIED (or unknown) refuses; TEMPFAIL unless refused */
        if (a == SM_ID_UNKNOWN || a == SM_ID_NOT_VERIFIED) {
            *res = tmp;
            tempfail = 0;
            have_first = 0;
            break;
        }
        if (a == SM_ID_TEMPFAIL && !tempfail) {
            *res = tmp;
            tempfail = 1;
        }
        if (a == SM_ID_VERIFIED && !have_first) {
            first = tmp;
            have_first = 1;
        }
    }
    if (combine == IDENTITY_COMBINE_ALL && !tempfail && have_first)
        *res = first;
    identity_cands_free(v, n);
    return 0;
}
