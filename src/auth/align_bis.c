/*
 * align_bis.c - the alignment prediction by RFC 9989 beside RFC 7489
 *
 * Purpose: alignment.dmarc.method chooses whether the prediction follows
 * RFC 7489 (Public Suffix List, pct), RFC 9989 (DNS tree walk, psd, np, t)
 * or both; with both, alignment.dmarc.deciding says whose verdict decides
 * (rfc7489, rfc9989, or the strictest), and when the two disagree for a
 * message the advice says so (a reason right after the summary, the
 * result header's method= and the other's verdict).  align_check() is the
 * entry point; align_check_method() in align.c does one prediction.
 *
 * Under RFC 9989 relaxed alignment compares Organizational Domains found by
 * the tree walk (domain_walk.c).  align_bis_walk() walks, once per
 * prediction, every name the prediction compares with the From domain (the
 * DKIM domains, the SPF domain) and keeps the answers in the result;
 * align_aligned() then only reads them.  Names that share fewer than two
 * last labels with the From domain cannot have its Organizational Domain
 * (never a bare TLD) and are not walked.  Two walks that failed at the same
 * name above the names' common suffix still align when their choices below
 * the failure agree: what lies above is the same for both.
 * Every query goes through the DNS cache with the message deadline: a name
 * costs at most eight queries, and the upper steps are shared and cached.
 *
 * Diagnostics: none; reasons go into align_result.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/align_int.h"
#include "auth/dmarc.h"
#include "lib/domain.h"
#include "lib/domain_walk.h"
#include "lib/util.h"

static const char *const align_method_names[] = {"rfc7489", "rfc9989", "both", NULL};

const char *
align_method_name(align_method m)
{
    return (unsigned)m < 3 ? align_method_names[m] : "unknown";
}

/* align_bis_common - the number of trailing labels two normalised names share */
static size_t
align_bis_common(const char *a, const char *b)
{
    size_t n = 0, max = domain_walk_labels(a);

    if (domain_walk_labels(b) < max)
        max = domain_walk_labels(b);
    while (n < max && strcmp(domain_walk_suffix(a, n + 1), domain_walk_suffix(b, n + 1)) == 0)
        n++;
    return n;
}

/*
 * align_bis_comparable - whether two names can share an Organizational Domain: it is a
 * common suffix of both, and never a bare top-level domain (a TLD's DMARC record is a
 * public suffix domain's, psd=y: RFC 9989 section 4.10.2 takes the name below it)
 */
static int
align_bis_comparable(const char *a, const char *b)
{
    return align_bis_common(a, b) >= 2;
}

/* align_bis_find - the walked entry of a normalised name, or NULL */
static const align_walked *
align_bis_find(const align_result *r, const char *name)
{
    for (size_t i = 0; i < r->nwalked; i++)
        if (strcmp(r->walked[i].name, name) == 0)
            return &r->walked[i];
    return NULL;
}

/* align_bis_add - walk one name (once) and remember its Organizational Domain */
static void
align_bis_add(dns_cache *c, const align_facts *f, align_result *r, const char *name)
{
    char norm[DOMAIN_MAX];
    domain_walk w;
    align_walked *a;

    if (name == NULL || domain_normalize(name, DOMAIN_LOOSE, norm, sizeof(norm), NULL, 0) < 0 ||
        (strcmp(norm, r->from_domain) != 0 && !align_bis_comparable(norm, r->from_domain)) ||
        align_bis_find(r, norm) != NULL || r->nwalked >= ALIGN_MAX_WALKED)
        return;
    a = &r->walked[r->nwalked++];
    util_strlcpy(a->name, norm, sizeof(a->name));
    domain_walk_run(c, norm, f->deadline_ms, dmarc_walk_reader, &w);
    a->tempfail = w.status != DOMAIN_WALK_OK;
    util_strlcpy(a->org, w.org, sizeof(a->org));
    util_strlcpy(a->failed, w.failed, sizeof(a->failed));
    domain_walk_clear(&w);
}

void
align_bis_walk(dns_cache *c, const align_facts *f, align_result *r)
{
    const sm_id_attrs *a = f->ses;

    align_bis_add(c, f, r, r->from_domain);
    for (size_t i = 0; i < f->nsigs && f->sigs != NULL; i++)
        align_bis_add(c, f, r, f->sigs[i].domain);
    if (f->relay == ALIGN_RELAY_SES) {
        align_bis_add(c, f, r, "amazonses.com");
        if (a != NULL) {
            const char *at = strrchr(a->identity, '@');
            align_bis_add(c, f, r, at ? at + 1 : a->identity);
        }
    }
    align_bis_add(c, f, r, f->signer_domain);
    align_bis_add(c, f, r, align_spf_domain(f));
}

int
align_aligned(align_result *r, const char *domain, dmarc_align_mode mode)
{
    char norm[DOMAIN_MAX];
    const align_walked *a, *b;

    if (r->method != DMARC_RFC9989)
        return dmarc_aligned(domain, r->from_domain, mode);
    if (mode == DMARC_ALIGN_STRICT || domain == NULL ||
        domain_normalize(domain, DOMAIN_LOOSE, norm, sizeof(norm), NULL, 0) < 0)
        return dmarc_aligned(domain, r->from_domain, DMARC_ALIGN_STRICT);
    if (strcmp(norm, r->from_domain) == 0)
        return 1;
    if (!align_bis_comparable(norm, r->from_domain))
        return 0;
    a = align_bis_find(r, norm);
    b = align_bis_find(r, r->from_domain);
    if (a != NULL && b != NULL && !a->tempfail && !b->tempfail)
        return strcmp(a->org, b->org) == 0;
    /* both walks failed at the same name above their common suffix: whatever lies
     * above it is the same for both, so equal choices below it align either way */
    if (a != NULL && b != NULL && a->tempfail && b->tempfail && strcmp(a->failed, b->failed) == 0 &&
        domain_walk_labels(a->failed) < align_bis_common(norm, r->from_domain) &&
        strcmp(a->org, b->org) == 0)
        return 1;
    r->walk_tempfail = 1;
    return 0;
}

/* align_bis_insert - put text in as reasons[1] (the advice right after the summary) */
static void
align_bis_insert(align_result *r, const char *text)
{
    size_t n = r->nreasons < ALIGN_MAX_REASONS ? r->nreasons : ALIGN_MAX_REASONS - 1;

    if (n < 1)
        n = 1;
    memmove(r->reasons[2], r->reasons[1], (n - 1) * sizeof(r->reasons[0]));
    util_strlcpy(r->reasons[1], text, ALIGN_REASON_LEN);
    r->nreasons = n + 1;
    /* the advice marks move with their reasons; the disagreement is logged whatever the
     * decision (engine_log_advice) */
    r->advise = (r->advise & 1u) | ((r->advise & ~1u) << 1) | (1u << 1);
}

/* align_bis_verdict - "fail (reject from _dmarc.example.com)" for the advice */
static void
align_bis_verdict(const align_result *r, char *buf, size_t len)
{
    const dmarc_lookup *d = &r->dmarc;

    if (d->status == DMARC_DISC_FOUND) {
        char disp[200];
        dmarc_disposition(d, NULL, NULL, disp, sizeof(disp));
        util_errf(buf, len, "dmarc=%s (%s at %s, organisational domain %s)",
                  align_dmarc_result_name(r->dmarc_result), disp, d->where, d->org_domain);
    } else {
        util_errf(buf, len, "dmarc=%s (%s)", align_dmarc_result_name(r->dmarc_result),
                  d->detail[0] ? d->detail : dmarc_disc_status_name(d->status));
    }
}

/* align_bis_differ - record the other prediction in r and say so when they disagree */
static void
align_bis_differ(const align_conf *conf, align_result *r, const align_result *o)
{
    char mine[300], theirs[300], text[ALIGN_REASON_LEN];
    static const char *const deciding[] = {"rfc7489", "rfc9989", "strictest"};

    r->other.evaluated = 1;
    r->other.method = o->method;
    r->other.result = o->dmarc_result;
    r->other.receiver_policy = o->receiver_policy;
    r->other.decision = o->decision;
    r->other.differ = r->dmarc_result != o->dmarc_result ||
                      r->receiver_policy != o->receiver_policy || r->decision != o->decision;
    if (!r->other.differ)
        return;
    align_bis_verdict(r, mine, sizeof(mine));
    align_bis_verdict(o, theirs, sizeof(theirs));
    util_errf(text, sizeof(text),
              "RFC 7489 and RFC 9989 receivers disagree for %s: %s predicts %s, %s predicts %s; "
              "this verdict follows %s (alignment.dmarc.deciding = %s)",
              r->from_domain, r->method == DMARC_RFC9989 ? "RFC 9989" : "RFC 7489", mine,
              o->method == DMARC_RFC9989 ? "RFC 9989" : "RFC 7489", theirs,
              dmarc_method_name(r->method), deciding[conf ? conf->dmarc_deciding : 0]);
    align_bis_insert(r, text);
}

align_decision
align_check(const align_conf *conf, dns_cache *c, const align_facts *f, align_result *r)
{
    int method = conf ? conf->dmarc_method : ALIGN_METHOD_BOTH;
    int deciding = conf ? conf->dmarc_deciding : ALIGN_DECIDING_RFC7489;
    align_result *bis;

    if ((conf != NULL && !conf->enabled) || method == ALIGN_METHOD_RFC7489)
        return align_check_method(conf, c, f, r, DMARC_RFC7489);
    if (method == ALIGN_METHOD_RFC9989)
        return align_check_method(conf, c, f, r, DMARC_RFC9989);
    bis = xcalloc(1, sizeof(*bis));
    align_check_method(conf, c, f, r, DMARC_RFC7489);
    align_check_method(conf, c, f, bis, DMARC_RFC9989);
    if (deciding == ALIGN_DECIDING_RFC9989 ||
        (deciding == ALIGN_DECIDING_STRICTEST && align_strictness(bis) > align_strictness(r))) {
        align_result *t = xcalloc(1, sizeof(*t));
        *t = *r;
        *r = *bis;
        *bis = *t;
        free(t);
    }
    align_bis_differ(conf, r, bis);
    free(bis);
    return r->decision;
}

int
align_dmarc_compare(dns_cache *c, const char *domain, uint64_t deadline_ms, dmarc_compare *out)
{
    return dmarc_bis_compare(c, domain, deadline_ms, out);
}
