/*
 * identity.h - SES's identity resolution chain for one sender address
 *
 * SES lets an address send when the most specific verified identity that
 * covers it says so: the exact address, the address without its +label,
 * the domain, then each parent domain up to the registrable domain.
 * identity_candidates() builds that chain, most specific first, in the
 * normalised form every source is asked about (local part as given and
 * case-sensitive; domain lower-case A-labels, no trailing dot).
 * identity_resolve() walks the chain through the shared cache over every
 * configured source instance and applies the combine rule.
 */
#ifndef SM_IDENTITY_H
#define SM_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

#include <ses-milter/plugin.h>

#include "identity/cache.h"

#define IDENTITY_MAX 512 /* longest identity text kept, NUL included */

typedef struct identity_cand {
    char *identity;  /* "local@domain" or "domain" */
    sm_id_kind kind; /* SM_IDKIND_ADDRESS or SM_IDKIND_DOMAIN */
} identity_cand;

/* combine rules over several source instances */
typedef enum identity_combine {
    IDENTITY_COMBINE_FIRST = 0, /* first instance with a verdict decides */
    IDENTITY_COMBINE_ALL = 1,   /* every instance must say VERIFIED */
} identity_combine;

/* the outcome of resolving one address */
typedef struct identity_result {
    sm_id_answer answer;        /* VERIFIED, NOT_VERIFIED or TEMPFAIL (never UNKNOWN) */
    char address[IDENTITY_MAX]; /* the normalised exact address */
    char matched[IDENTITY_MAX]; /* candidate that decided ("" when none did) */
    char instance[64];          /* instance that decided ("" when none did) */
    cache_origin origin;        /* how the deciding answer was obtained */
    uint64_t age_ms;            /* age of the deciding answer */
    uint64_t stored_wall_ms;    /* when the deciding answer was stored (wall clock) */
    sm_id_attrs attrs;          /* attributes of the deciding answer */
    char why[160];              /* stale or TEMPFAIL: why the source could not answer */
} identity_result;

struct plugin_chain;

/*
 * identity_candidates - the chain for local@domain, most specific first.
 * sep is the +label separator ('\0': none).  *v_r is the caller's
 * (identity_cands_free).  Returns 0, or -1 with a reason for an invalid
 * local part or domain.
 */
int identity_candidates(const char *local, const char *domain, char sep, identity_cand **v_r,
                        size_t *n_r, char *err, size_t errlen);
/* identity_cands_free - free a candidate vector; returns NULL */
identity_cand *identity_cands_free(identity_cand *v, size_t n);
/* identity_domain_normalize - lower-case A-label form of domain (xstrdup'd), or -1 */
int identity_domain_normalize(const char *domain, char **out_r, char *err, size_t errlen);
/* identity_normalize - normalise an address or domain identity (xstrdup'd), or -1 */
int identity_normalize(const char *identity, sm_id_kind kind, char **out_r, char *err,
                       size_t errlen);
/* identity_registrable - registrable domain of an A-label domain (xstrdup'd), NULL if none */
char *identity_registrable(const char *domain);
/*
 * identity_resolve - resolve local@domain over the chain's instances with
 * the combine rule; fills *res.  Returns 0, or -1 (invalid address) with a
 * reason in err.
 */
int identity_resolve(struct plugin_chain *chain, cache *c, identity_combine combine,
                     const char *local, const char *domain, char sep, uint64_t deadline_ms,
                     const char *queue_id, identity_result *res, char *err, size_t errlen);
/*
 * identity_resolve_in - the same over one named instance only (only == NULL: every
 * instance): a sending-authorization rule names the source that can see the owning
 * account and region (sesheaders.h identity_source)
 */
int identity_resolve_in(struct plugin_chain *chain, const char *only, cache *c,
                        identity_combine combine, const char *local, const char *domain, char sep,
                        uint64_t deadline_ms, const char *queue_id, identity_result *res, char *err,
                        size_t errlen);
/* identity_answer_name - "verified", "not-verified", "unknown", "tempfail" */
const char *identity_answer_name(sm_id_answer a);

#endif
