/*
 * engine_ses.c - one message's X-SES-* rule: source, tenant check, headers
 *
 * Purpose: glue between the engine and sesheaders.c.  Before the identity
 * gate, the first matching "ses.rules" rule is chosen (sender: the first
 * From address, else MAIL FROM; the message's headers for a trigger); its
 * identity_source, if any, is the only source the gate asks (sending
 * authorization: the identity lives in another account or region).  After
 * the gate, a rule with a tenant (the rule's value, or the message's own
 * X-SES-TENANT when the rule keeps it) and check_tenant asks the source
 * that verified the From identity whether that identity is one of the
 * tenant's resources (plugin ABI 1.2, SM_ASK_TENANT_IDENTITY): no refuses
 * with 550 5.7.1 naming identity, tenant and region, a failed question is
 * a 451 (fail closed, like the gate), a source without tenant support is
 * logged and not checked.  An X-SES-TENANT the message brings itself (no
 * rule sets, keeps or replaces it) is checked the same way when
 * ses.check_message_tenant (default): SES would send it on to the tenant
 * whatever we think; a value SES would not take is refused.  Then the
 * rule's headers go into the verdict
 * (before the unsubscribe headers, all above any later DKIM signature).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "engine/engine_ses.h"
#include "lib/log.h"
#include "identity/plugin.h"
#include "lib/util.h"

void
engine_ses_rule(sm_msg *m, msg_ext *e, sm_services *x)
{
    sesheaders_hdr *hs;
    const char *sender = engine_first_from(e);

    if (x->ses == NULL || x->ses->headers->n_rules == 0)
        return;
    if (sender == NULL && e->env_ok && !e->env_null)
        sender = e->env.address;
    hs = xcalloc(m->nhdrs + 1, sizeof(*hs));
    for (size_t i = 0; i < m->nhdrs; i++)
        hs[i] = (sesheaders_hdr){m->hdrs[i].name, m->hdrs[i].value};
    sesheaders_decide(x->ses->headers, sender, hs, m->nhdrs, &e->sesh);
    free(hs);
    e->sesh_done = e->sesh.rule != NULL;
}

const char *
engine_ses_source(const msg_ext *e)
{
    return e->sesh_done ? e->sesh.rule->identity_source : NULL;
}

/* engine_ses_from_id - the gate's verified From identity (the first), or NULL */
static const identity_result *
engine_ses_from_id(const msg_ext *e)
{
    for (size_t i = 0; e->gate_done && i < e->gate.n_ids; i++)
        if (e->gate.ids[i].role == GATE_ROLE_FROM && e->gate.ids[i].r.answer == SM_ID_VERIFIED)
            return &e->gate.ids[i].r;
    return NULL;
}

/* engine_ses_instance - the chain's instance by name */
static plugin_instance *
engine_ses_instance(sm_services *x, const char *name)
{
    for (size_t i = 0; x->chain != NULL && i < plugin_chain_count(x->chain); i++)
        if (strcmp(plugin_instance_name(plugin_chain_get(x->chain, i)), name) == 0)
            return plugin_chain_get(x->chain, i);
    return NULL;
}

/* said once per process: a message's own X-SES-TENANT, but its source answers no tenant questions
 */
static int engine_ses_msg_unchecked_said;

/*
 * engine_ses_tenant - the tenant check; returns 0 when the message may go on.  from_msg: the
 * tenant is the message's own X-SES-TENANT header, no rule's (the reply says so)
 */
static int
engine_ses_tenant(sm_msg *m, msg_ext *e, sm_services *x, const char *tenant, int from_msg)
{
    engine_tenant_rec *t = &e->tenant;
    const identity_result *id = engine_ses_from_id(e);
    plugin_instance *pi = id != NULL ? engine_ses_instance(x, id->instance) : NULL;
    const char *whose = from_msg ? " (the message's X-SES-TENANT header)" : "";
    sm_ask_attrs at;
    sm_ask_answer a;
    char text[1024], sid[300], stn[160];

    if (pi == NULL)
        return 0; /* no verified From: the gate has decided already */
    util_strlcpy(t->tenant, tenant, sizeof(t->tenant));
    util_strlcpy(t->identity, id->matched, sizeof(t->identity));
    util_strlcpy(t->instance, id->instance, sizeof(t->instance));
    a = plugin_instance_ask(pi, SM_ASK_TENANT_IDENTITY, id->matched, tenant, e->deadline_ms, m->qid,
                            &at);
    util_strlcpy(t->region, at.region, sizeof(t->region));
    t->answer = a == SM_ASK_YES       ? "associated"
                : a == SM_ASK_NO      ? "not_associated"
                : a == SM_ASK_UNKNOWN ? "unchecked"
                                      : "tempfail";
    t->done = 1;
    log_sanitize(id->matched, sid, sizeof(sid));
    log_sanitize(tenant, stn, sizeof(stn));
    switch (a) {
    case SM_ASK_YES:
        return 0;
    case SM_ASK_UNKNOWN:
        /* a rule's tenant is the administrator's: said each time; a message's, once */
        if (!from_msg || !__atomic_exchange_n(&engine_ses_msg_unchecked_said, 1, __ATOMIC_RELAXED))
            log_msg(LOG_NOTICE, m->qid,
                    "SES tenant %s%s not checked: source %s answers no tenant questions (set "
                    "tenants = true in its block)%s",
                    stn, whose, id->instance, from_msg ? "; said once" : "");
        return 0;
    case SM_ASK_NO:
        snprintf(text, sizeof(text),
                 "Sender identity <%s> is not associated with SES tenant %s%s in region %s: SES "
                 "would refuse the message",
                 sid, stn, whose, at.region[0] ? at.region : "?");
        verdict_set(&m->verdict, VERDICT_REJECT, "550", "5.7.1", text);
        util_strlcpy(e->refused_region, at.region, sizeof(e->refused_region));
        log_msg(LOG_NOTICE, m->qid, "SES tenant: %s (%s)", text, at.detail);
        return -1;
    default:
        snprintf(text, sizeof(text),
                 "The SES tenant %s%s of sender identity <%s> could not be checked now; try again "
                 "later",
                 stn, whose, sid);
        verdict_set(&m->verdict, VERDICT_TEMPFAIL, "451", "4.7.1", text);
        log_msg(LOG_WARNING, m->qid, "SES tenant: %s (%s in region %s: %s)", text, id->instance,
                at.region, at.detail);
        return -1;
    }
}

/*
 * engine_ses_message_tenants - every X-SES-TENANT the message brings (no rule set or replaced
 * it): a name SES would not take is refused, a name is checked like a rule's tenant
 */
static int
engine_ses_message_tenants(sm_msg *m, msg_ext *e, sm_services *x)
{
    char name[SESHEADERS_TENANT_MAX + 2], why[256], text[1024], shown[300];

    for (size_t i = 0; i < m->nhdrs; i++) {
        const char *v = m->hdrs[i].value;
        size_t n;
        if (strcasecmp(m->hdrs[i].name, "X-SES-TENANT") != 0)
            continue;
        v += strspn(v, " \t\r\n");
        for (n = strlen(v); n > 0 && strchr(" \t\r\n", v[n - 1]) != NULL; n--)
            ;
        if (n >= sizeof(name))
            n = sizeof(name) - 1; /* the check below says "more than 64" */
        memcpy(name, v, n);
        name[n] = '\0';
        if (sesheaders_name_check(name, SESHEADERS_TENANT_MAX, why, sizeof(why)) < 0) {
            snprintf(text, sizeof(text),
                     "The message's X-SES-TENANT header '%s' is not an SES tenant name (%s): "
                     "SES would refuse the message",
                     log_sanitize(name, shown, sizeof(shown)), why);
            verdict_set(&m->verdict, VERDICT_REJECT, "550", "5.7.1", text);
            log_msg(LOG_NOTICE, m->qid, "SES tenant: %s", text);
            return -1;
        }
        if (engine_ses_tenant(m, e, x, name, 1) < 0)
            return -1;
    }
    return 0;
}

void
engine_ses_apply(sm_msg *m, msg_ext *e, sm_services *x)
{
    const sesheaders_result *r = &e->sesh;
    sm_verdict *v = &m->verdict;
    int covered = 0; /* the rule sets (or keeps, and checks as its own) the tenant */

    if (v->action == VERDICT_REJECT || v->action == VERDICT_TEMPFAIL)
        return;
    for (size_t i = 0; e->sesh_done && i < r->n_items; i++) {
        if (strcmp(r->items[i].field, "X-SES-TENANT") != 0)
            continue;
        covered = 1;
        if (r->rule->check_tenant && engine_ses_tenant(m, e, x, r->items[i].value, 0) < 0)
            return;
    }
    if (!covered && x->ses != NULL && x->ses->check_message_tenant &&
        engine_ses_message_tenants(m, e, x) < 0)
        return;
    if (!e->sesh_done)
        return;
    for (size_t i = 0; i < r->n_items; i++) {
        const sesheaders_item *it = &r->items[i];
        if (it->act == SESHEADERS_KEPT)
            continue;
        for (size_t k = it->n_removed; k > 0; k--) /* from the last, so indexes hold */
            verdict_del_header(v, it->field, (int)k);
        verdict_add_header(v, it->field, it->value);
    }
}
