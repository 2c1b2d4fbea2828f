/*
 * domain_walk.c - the RFC 9989 DNS tree walk for the Organizational Domain
 *
 * Purpose: RFC 9989 finds the Organizational Domain (relaxed alignment) and
 * the policy of a domain without a record of its own by asking DNS rather
 * than the Public Suffix List.  domain_walk_run() asks _dmarc.<name> and
 * its parents in the order of section 4.10 (a name of eight or more labels
 * jumps to its last seven labels after the first query, then one label at
 * a time, so never more than eight queries), keeps what it found at each
 * step (how many v=DMARC1 records, the single record and its psd=), stops
 * at a single record with psd=y or psd=n, and chooses the Organizational
 * Domain by section 4.10.2.  Records are recognised and psd= read by
 * the caller's reader (auth/dmarc.c, RFC 9989 parsing); DNS answers come from the shared cache, so
 * the upper steps common to many names (_dmarc.com) cost one query per
 * TTL.  A temporary failure stops the walk: what lies above is unknown.
 *
 * Diagnostics: none; w->detail says why a walk did not complete.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/domain.h"
#include "lib/domain_walk.h"
#include "lib/util.h"

/* domain_walk_labels - number of labels of a normalised name */
size_t
domain_walk_labels(const char *name)
{
    size_t n = *name ? 1 : 0;

    for (const char *p = name; *p; p++)
        n += *p == '.';
    return n;
}

/* domain_walk_suffix - the last n labels of name (the whole name when it has fewer) */
const char *
domain_walk_suffix(const char *name, size_t n)
{
    size_t have = domain_walk_labels(name);
    const char *p = name;

    while (have > n && (p = strchr(p, '.')) != NULL) {
        p++;
        have--;
    }
    return p != NULL ? p : name;
}

/* domain_walk_ask - one step: _dmarc.<name>; 0, or -1 on a temporary failure */
static int
domain_walk_ask(dns_cache *c, const char *name, uint64_t deadline_ms, domain_walk_reader rd,
                domain_walk_step *s)
{
    int psd = DOMAIN_WALK_PSD_U;

    char q[DOMAIN_MAX + 8], err[256];
    dns_txt *txt = NULL;

    memset(s, 0, sizeof(*s));
    util_strlcpy(s->name, name, sizeof(s->name));
    snprintf(q, sizeof(q), "_dmarc.%s", name);
    s->dns = dns_lookup_txt(c, q, deadline_ms, &txt, err, sizeof(err));
    if (s->dns == DNS_TEMPFAIL)
        return -1;
    for (size_t i = 0; txt != NULL && i < txt->n; i++) {
        int p = rd(txt->rr[i], txt->len[i]);
        if (p < 0)
            continue;
        if (s->ndmarc++ == 0) {
            s->record = xstrndup(txt->rr[i], txt->len[i]);
            s->len = txt->len[i];
            psd = p;
        }
    }
    dns_txt_free(txt);
    if (s->ndmarc > 1) { /* RFC 9989 4.10 step 2: several are all discarded */
        free(s->record);
        s->record = NULL;
        s->len = 0;
    }
    if (s->record != NULL) /* a record that does not parse stops nothing: psd= stays u */
        s->psd = (domain_walk_psd)psd;
    return 0;
}

/* domain_walk_choose - section 4.10.2: the Organizational Domain from the steps */
static void
domain_walk_choose(domain_walk *w)
{
    int fewest = -1;

    util_strlcpy(w->org, w->start, sizeof(w->org));
    for (size_t i = 0; i < w->nsteps; i++) {
        const domain_walk_step *s = &w->step[i];
        if (s->record == NULL)
            continue;
        if (s->psd == DOMAIN_WALK_PSD_N) {
            util_strlcpy(w->org, s->name, sizeof(w->org));
            w->org_step = (int)i;
            return;
        }
        if (s->psd == DOMAIN_WALK_PSD_Y && i > 0) {
            const char *below = domain_walk_suffix(w->start, domain_walk_labels(s->name) + 1);
            util_strlcpy(w->org, below, sizeof(w->org));
            w->psd_step = (int)i;
            for (size_t k = 0; k < i; k++)
                if (w->step[k].record != NULL && strcmp(w->step[k].name, below) == 0)
                    w->org_step = (int)k;
            return;
        }
        fewest = (int)i;
    }
    if (fewest >= 0) {
        util_strlcpy(w->org, w->step[fewest].name, sizeof(w->org));
        w->org_step = fewest;
    }
}

domain_walk_status
domain_walk_run(dns_cache *c, const char *name, uint64_t deadline_ms, domain_walk_reader rd,
                domain_walk *w)
{
    size_t x;

    memset(w, 0, sizeof(*w));
    w->org_step = w->psd_step = -1;
    if (name == NULL ||
        domain_normalize(name, DOMAIN_LOOSE, w->start, sizeof(w->start), NULL, 0) < 0) {
        util_errf(w->detail, sizeof(w->detail), "not a domain name");
        return w->status = DOMAIN_WALK_BAD_NAME;
    }
    if (c == NULL || rd == NULL) {
        util_errf(w->detail, sizeof(w->detail), c == NULL ? "no DNS cache" : "no record reader");
        return w->status = DOMAIN_WALK_TEMPFAIL;
    }
    x = domain_walk_labels(w->start);
    for (const char *target = w->start; w->nsteps < DOMAIN_WALK_MAX;) {
        domain_walk_step *s = &w->step[w->nsteps++];
        if (domain_walk_ask(c, target, deadline_ms, rd, s) < 0) {
            util_errf(w->detail, sizeof(w->detail), "temporary DNS failure looking up _dmarc.%s",
                      target);
            util_strlcpy(w->failed, target, sizeof(w->failed));
            free(s->record);
            w->nsteps--; /* the choice below the failure, for callers that can use it */
            domain_walk_choose(w);
            w->nsteps++;
            w->org_step = w->psd_step = -1;
            return w->status = DOMAIN_WALK_TEMPFAIL;
        }
        if (s->record != NULL && s->psd != DOMAIN_WALK_PSD_U)
            break; /* steps 2 and 6: psd=y or psd=n stops the walk */
        if (x <= 1)
            break;              /* no labels left */
        x = x >= 8 ? 7 : x - 1; /* step 4: at most eight queries in all */
        target = domain_walk_suffix(w->start, x);
    }
    domain_walk_choose(w);
    return w->status = DOMAIN_WALK_OK;
}

void
domain_walk_clear(domain_walk *w)
{
    for (size_t i = 0; i < w->nsteps; i++) {
        free(w->step[i].record);
        w->step[i].record = NULL;
    }
}
