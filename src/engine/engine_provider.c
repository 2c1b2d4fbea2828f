/*
 * engine_provider.c - the mailbox providers' verdicts on one message
 *
 * Purpose: after the alignment prediction and the unsubscribe headers,
 * judge the message as it will leave against the sender rules of the
 * providers alignment.providers names (align_provider.c): the facts of
 * the prediction, and bulk / one-click from the header fields the message
 * will carry (its own minus those the unsubscribe rules remove, plus
 * those they add).  The verdicts go into the result header ("providers="
 * appended to the value engine_align_verdict() added), the summary line
 * and the audit record (engine_audit.c), and one advice line naming each
 * provider whose rules the message fails (notice) or that cannot be
 * predicted now (info).  No decision changes: the configured alignment action decides.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "engine/services.h"
#include "engine/engine_int.h"
#include "lib/log.h"
#include "lib/util.h"

/* engine_provider_removed - the unsubscribe rules remove the idx-th (1-based) field name */
static int
engine_provider_removed(const unsub_result *u, const char *name, int idx)
{
    for (size_t i = 0; i < u->n_remove; i++)
        if (u->remove[i].index == idx && strcasecmp(u->remove[i].name, name) == 0)
            return 1;
    return 0;
}

/* engine_provider_fields - the header fields the message leaves with; caller frees */
static align_provider_hdr *
engine_provider_fields(const sm_msg *m, const msg_ext *e, size_t *n_r)
{
    const unsub_result *u = &e->unsub;
    size_t n_add = e->unsub_done ? u->n_add : 0;
    align_provider_hdr *h = xcalloc(m->nhdrs + n_add + 1, sizeof(*h));
    size_t n = 0;

    for (size_t i = 0; i < m->nhdrs; i++) {
        int idx = 1;
        for (size_t k = 0; k < i; k++)
            idx += strcasecmp(m->hdrs[k].name, m->hdrs[i].name) == 0;
        if (e->unsub_done && engine_provider_removed(u, m->hdrs[i].name, idx))
            continue;
        h[n].name = m->hdrs[i].name;
        h[n++].value = m->hdrs[i].value;
    }
    for (size_t i = 0; i < n_add; i++) {
        h[n].name = u->add[i].name;
        h[n++].value = u->add[i].value;
    }
    *n_r = n;
    return h;
}

/* engine_provider_header - append " providers=..." to the result header's value */
static void
engine_provider_header(sm_msg *m, const msg_ext *e)
{
    sm_verdict *v = &m->verdict;
    char sum[512], *value;
    size_t len;

    if (e->align_hdr == 0 || e->align_hdr > v->nadd || e->providers.n == 0)
        return;
    align_provider_summary(&e->providers, sum, sizeof(sum));
    len = strlen(v->add[e->align_hdr - 1].value) + strlen(sum) + sizeof(" providers=");
    value = xmalloc(len);
    snprintf(value, len, "%s providers=%s", v->add[e->align_hdr - 1].value, sum);
    free(v->add[e->align_hdr - 1].value);
    v->add[e->align_hdr - 1].value = value;
}

/* engine_provider_log - one line for the providers whose rules the message fails (notice)
 * or that cannot be predicted now (info): "providers: Gmail ...: why. Outlook.com ...: why" */
static void
engine_provider_log(sm_msg *m, const msg_ext *e)
{
    char line[2048], one[1024], clean[2200];
    size_t off = 0;
    int level = LOG_INFO;

    line[0] = '\0';
    for (size_t i = 0; i < e->providers.n && off + 1 < sizeof(line); i++) {
        const align_provider_verdict *pv = &e->providers.v[i];

        if (pv->result == ALIGN_PROVIDER_PASS)
            continue;
        if (pv->result == ALIGN_PROVIDER_FAIL)
            level = LOG_NOTICE;
        align_provider_advice(pv, &e->pfacts, one, sizeof(one));
        snprintf(line + off, sizeof(line) - off, "%s%s", off ? ". " : "", one);
        off += strlen(line + off);
    }
    if (off > 0)
        log_msg(level, m->qid, "providers: %s", log_sanitize(line, clean, sizeof(clean)));
}

void
engine_providers(sm_msg *m, msg_ext *e, sm_services *x)
{
    align_provider_hdr *h;
    size_t n = 0;

    align_provider_facts_of(&e->align, &e->pfacts);
    /* direct delivery without alignment.egress_ips evaluates no SPF: unknown, not failed */
    if (x->align->relay == ALIGN_RELAY_DIRECT && x->align->egress_ips.n == 0 &&
        e->align.spf_result == ALIGN_SPF_NONE)
        e->pfacts.spf_pass = -1;
    h = engine_provider_fields(m, e, &n);
    align_provider_mail(h, n, e->unsub_done && e->unsub.rule != NULL, m->nrcpts, &e->pfacts);
    free(h);
    align_provider_check(x->align->providers, &e->pfacts, &e->providers);
    e->providers_done = 1;
    engine_provider_header(m, e);
    if (e->probe)
        return; /* ses-milter -t: the decision only */
    engine_provider_log(m, e);
}
