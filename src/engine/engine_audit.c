/*
 * engine_audit.c - the audit record and the summary line of one message
 *
 * Purpose: translate the engine's outcomes into the audit schema
 * (audit_record.h), write the record, and log the one key=value summary
 * line that begins with the queue id.  A record that cannot be written is
 * logged loudly once and, when audit.on_error is "tempfail", turns the
 * verdict into 451 4.3.0 so that no message leaves without its record.
 * The message is counted here too (metrics.h), with the reason behind its action.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/services.h"
#include "engine/engine_int.h"
#include "lib/log.h"
#include "identity/plugin.h"
#include "lib/util.h"

static audit_scope
engine_audit_scope(scope_why w)
{
    switch (w) {
    case SCOPE_AUTHENTICATED:
        return AUDIT_SCOPE_AUTHENTICATED;
    case SCOPE_INTERNAL_NETWORK:
        return AUDIT_SCOPE_INTERNAL_NETWORK;
    case SCOPE_LOCAL_SUBMISSION:
        return AUDIT_SCOPE_LOCAL_SUBMISSION;
    case SCOPE_ALL:
        return AUDIT_SCOPE_INTERNAL_NETWORK;
    default:
        return AUDIT_SCOPE_EXTERNAL;
    }
}

static audit_action
engine_audit_action(const sm_msg *m, const msg_ext *e, int aborted)
{
    if (aborted)
        return AUDIT_ACTION_ABORTED;
    switch (m->verdict.action) {
    case VERDICT_REJECT:
        return AUDIT_ACTION_REJECT;
    case VERDICT_TEMPFAIL:
        return AUDIT_ACTION_TEMPFAIL;
    case VERDICT_QUARANTINE:
        return AUDIT_ACTION_QUARANTINE;
    case VERDICT_DISCARD:
        return AUDIT_ACTION_DISCARD;
    default:
        if ((e->gate_done && e->gate.action == GATE_TAG) ||
            (e->align_done && e->align.decision == ALIGN_TAG))
            return AUDIT_ACTION_TAG;
        return AUDIT_ACTION_ACCEPT;
    }
}

static audit_cache
engine_audit_cache(cache_origin o)
{
    switch (o) {
    case CACHE_HIT:
        return AUDIT_CACHE_HIT;
    case CACHE_MISS:
    case CACHE_SHARED:
        return AUDIT_CACHE_MISS;
    case CACHE_STALE:
        return AUDIT_CACHE_STALE;
    case CACHE_REDIS:
        return AUDIT_CACHE_REDIS;
    default:
        return AUDIT_CACHE_NONE;
    }
}

const char *
engine_plugin_of(sm_services *x, const char *instance)
{
    for (size_t i = 0; x->chain != NULL && i < plugin_chain_count(x->chain); i++) {
        plugin_instance *pi = plugin_chain_get(x->chain, i);
        if (strcmp(plugin_instance_name(pi), instance) == 0)
            return plugin_instance_plugin(pi);
    }
    return NULL;
}

/* engine_audit_providers - the mailbox providers' verdicts (v2 addition) into am */
static void
engine_audit_providers(const msg_ext *e, audit_provider *prov, const char *failed[][ALIGN_RULE_N],
                       audit_msg *am)
{
    for (size_t i = 0; i < e->providers.n; i++) {
        const align_provider_verdict *pv = &e->providers.v[i];
        unsigned bits = pv->failed ? pv->failed : pv->unknown;

        prov[i].name = align_provider_name(pv->id);
        prov[i].result = align_provider_result_name(pv->result);
        prov[i].failed = failed[i];
        prov[i].n_failed = 0;
        for (int r = 0; r < ALIGN_RULE_N; r++)
            if (bits & (1u << r))
                failed[i][prov[i].n_failed++] = align_provider_rule_name((align_provider_rule_id)r);
    }
    am->providers = prov;
    am->n_providers = e->providers.n;
}

/* engine_audit_ses - v2: suppression checks, X-SES-* headers, the region that refused */
static void
engine_audit_ses(const msg_ext *e, audit_msg *am, audit_suppression **sp_r, audit_ses_header *sh,
                 audit_tenant *tn, char *rule, size_t rulelen)
{
    audit_suppression *sp = e->n_supp ? xcalloc(e->n_supp, sizeof(*sp)) : NULL;

    for (size_t i = 0; i < e->n_supp; i++) {
        const engine_supp_rec *r = &e->supp[i];
        sp[i] = (audit_suppression){r->rcpt,
                                    r->instance,
                                    r->region[0] ? r->region : NULL,
                                    r->answer,
                                    r->reason[0] ? r->reason : NULL,
                                    r->cache[0] ? r->cache : NULL,
                                    r->action};
        if (strcmp(r->action, "refused") == 0 && e->refused_region[0] == '\0')
            am->refused_region = sp[i].region;
    }
    am->suppression = sp;
    am->n_suppression = e->n_supp;
    *sp_r = sp;
    if (e->refused_region[0])
        am->refused_region = e->refused_region;
    if (e->gate_done && e->gate.verdict == GATE_NOT_VERIFIED && e->gate.decisive >= 0 &&
        am->refused_region == NULL && e->gate.ids[e->gate.decisive].r.attrs.region[0])
        am->refused_region = e->gate.ids[e->gate.decisive].r.attrs.region;
    if (e->tenant.done) {
        *tn = (audit_tenant){e->tenant.tenant, e->tenant.identity, e->tenant.instance,
                             e->tenant.region[0] ? e->tenant.region : NULL, e->tenant.answer};
        am->ses_tenant = tn; /* also without a rule: the message's own X-SES-TENANT */
    }
    if (!e->sesh_done)
        return;
    if (e->sesh.rule->name != NULL)
        util_strlcpy(rule, e->sesh.rule->name, rulelen);
    else
        snprintf(rule, rulelen, "#%zu", e->sesh.rule_index + 1);
    am->ses_rule = rule;
    for (size_t i = 0; i < e->sesh.n_items; i++)
        sh[i] = (audit_ses_header){e->sesh.items[i].field, e->sesh.items[i].value,
                                   sesheaders_act_name(e->sesh.items[i].act)};
    am->ses_headers = sh;
    am->n_ses_headers = e->sesh.n_items;
}

/* engine_metrics_scope - a message's audit scope as the metrics label (metrics knows no audit) */
static metrics_scope
engine_metrics_scope(audit_scope s)
{
    switch (s) {
    case AUDIT_SCOPE_AUTHENTICATED:
        return METRICS_SCOPE_AUTHENTICATED;
    case AUDIT_SCOPE_INTERNAL_NETWORK:
        return METRICS_SCOPE_INTERNAL_NETWORK;
    case AUDIT_SCOPE_LOCAL_SUBMISSION:
        return METRICS_SCOPE_LOCAL_SUBMISSION;
    case AUDIT_SCOPE_EXTERNAL:
        return METRICS_SCOPE_EXTERNAL;
    case AUDIT_SCOPE_NONE:
        break;
    }
    return METRICS_SCOPE_NONE;
}

/* engine_metrics_action - a message's audit action as the metrics label */
static metrics_action
engine_metrics_action(audit_action a)
{
    switch (a) {
    case AUDIT_ACTION_ACCEPT:
        return METRICS_ACTION_ACCEPT;
    case AUDIT_ACTION_REJECT:
        return METRICS_ACTION_REJECT;
    case AUDIT_ACTION_TEMPFAIL:
        return METRICS_ACTION_TEMPFAIL;
    case AUDIT_ACTION_QUARANTINE:
        return METRICS_ACTION_QUARANTINE;
    case AUDIT_ACTION_TAG:
        return METRICS_ACTION_TAG;
    case AUDIT_ACTION_DISCARD:
        return METRICS_ACTION_DISCARD;
    case AUDIT_ACTION_ABORTED:
        return METRICS_ACTION_ABORTED;
    case AUDIT_ACTION_NONE:
        break;
    }
    return METRICS_ACTION_NONE;
}

/* engine_metrics_reason - the concern behind a message's action, for ses_milter_messages_total */
static metrics_reason
engine_metrics_reason(const msg_ext *e, int aborted, int audit_failed)
{
    if (aborted)
        return METRICS_REASON_ABORTED;
    if (audit_failed)
        return METRICS_REASON_AUDIT_UNAVAILABLE;
    if (e->sysmail != 0)
        return METRICS_REASON_SYSTEM_MAIL;
    if (e->gate_done && e->gate.verdict == GATE_NOT_VERIFIED)
        return METRICS_REASON_IDENTITY_NOT_VERIFIED;
    if (e->gate_done && e->gate.verdict == GATE_TEMPFAIL)
        return METRICS_REASON_IDENTITY_TEMPFAIL;
    if (e->gate_done && e->gate.verdict == GATE_MALFORMED)
        return METRICS_REASON_IDENTITY_MALFORMED;
    if (e->align_done && e->align.dmarc_result == ALIGN_DMARC_TEMPERROR)
        return METRICS_REASON_ALIGNMENT_TEMPFAIL;
    if (e->align_done && e->align.dmarc_result != ALIGN_DMARC_PASS &&
        e->align.decision != ALIGN_ACCEPT)
        return METRICS_REASON_ALIGNMENT_FAIL;
    return METRICS_REASON_PASSED;
}

/* engine_audit_write - the record itself; returns AUDIT_OK or the failure action */
static int
engine_audit_write(sm_msg *m, msg_ext *e, audit_msg *am, sm_services *x)
{
    char err[512];
    int rc;
    audit_log *log = services_audit(x);

    if (log == NULL)
        return AUDIT_OK;
    rc = audit_write_msg(log, am, err, sizeof(err));
    metrics_audit_record(rc == AUDIT_OK);
    if (rc != AUDIT_OK)
        log_msg(LOG_ERR, m->qid, "audit record not written: %s%s", err,
                rc == AUDIT_FAIL_TEMPFAIL ? " (audit.on_error = tempfail: message refused for now)"
                                          : "");
    (void)e;
    return rc;
}

void
engine_audit(sm_msg *m, msg_ext *e, int aborted)
{
    sm_services *x = services_of(m->conf);
    audit_msg am;
    audit_lookup lk[32];
    audit_dkim dk[ALIGN_MAX_DKIM * 2];
    audit_header uh[8];
    audit_suppression *sp = NULL;
    audit_ses_header sh[SESHEADERS_N_FIELDS];
    audit_tenant tn;
    char rule[32];
    audit_spf spf;
    audit_dmarc dmarc;
    audit_unsubscribed optout;
    audit_account acct;
    const char *advice[ALIGN_MAX_REASONS];
    audit_provider prov[ALIGN_PROVIDER_N];
    const char *prov_failed[ALIGN_PROVIDER_N][ALIGN_RULE_N];
    char other[64];
    char ip[64], line[2048], err[256];
    sm_verdict *v = &m->verdict;
    addr_mailbox env;
    int env_null = 0, audit_failed = 0;
    uint64_t t0;

    memset(&am, 0, sizeof(am));
    memset(&env, 0, sizeof(env));
    am.queue_id = m->qid[0] ? m->qid : NULL;
    am.client_addr = msg_client_ip(m, ip, sizeof(ip));
    am.client_name = m->client_name;
    am.auth_user = m->auth_authen;
    am.scope = engine_audit_scope(m->scope);
    am.system_mail = e->sysmail == SCOPE_SYS_LOCAL    ? AUDIT_SYSMAIL_LOCAL
                     : e->sysmail == SCOPE_SYS_BOUNCE ? AUDIT_SYSMAIL_BOUNCE
                                                      : AUDIT_SYSMAIL_NONE;
    am.env_from = e->env_ok ? (e->env_null ? "" : e->env.address) : m->env_from;
    /* a transaction that ended before end of message: MAIL FROM not parsed yet; record it
     * in the same bare form as a completed one ("a@b", "" for <>), raw only if unparseable */
    if (!e->env_ok && m->env_from != NULL &&
        addr_parse_path(m->env_from, &env, &env_null, err, sizeof(err)) == ADDR_OK)
        am.env_from = env_null ? "" : env.address;
    am.rcpts = (const char *const *)m->rcpts;
    am.n_rcpts = m->nrcpts;
    am.from = engine_first_from(e);
    am.sender = e->sender != NULL ? e->sender->v[0].address : NULL;
    for (size_t i = 0; e->gate_done && i < e->gate.n_ids && am.n_lookups < SM_ARRAY_LEN(lk); i++) {
        const identity_result *r = &e->gate.ids[i].r;
        audit_lookup *l = &lk[am.n_lookups++];
        l->identity = r->address;
        l->role = (audit_role)(e->gate.ids[i].role + 1);
        l->matched = r->matched[0] ? r->matched : NULL;
        l->instance = r->instance[0] ? r->instance : NULL;
        l->source = r->instance[0] ? engine_plugin_of(x, r->instance) : NULL;
        l->answer = (audit_answer)r->answer;
        l->cache = engine_audit_cache(r->origin);
        l->age_s = r->origin == CACHE_NONE ? -1 : (long)(r->age_ms / 1000);
    }
    am.lookups = lk;
    for (size_t i = 0; i < e->nsigs && am.n_dkim < SM_ARRAY_LEN(dk); i++) {
        dk[am.n_dkim].d = e->sigs[i].domain;
        dk[am.n_dkim].s = e->sigs[i].selector;
        dk[am.n_dkim].alg = e->sigs[i].algorithm;
        dk[am.n_dkim++].result = sdkim_result_name(e->sigs[i].result);
    }
    for (size_t i = 0; e->align_done && i < e->align.ndkim && am.n_dkim < SM_ARRAY_LEN(dk); i++) {
        const align_dkim_pred *p = &e->align.dkim[i];
        if (p->origin == ALIGN_DKIM_EXISTING)
            continue;
        dk[am.n_dkim].d = p->domain;
        dk[am.n_dkim].s = p->selector[0] ? p->selector : NULL;
        dk[am.n_dkim].alg = NULL;
        dk[am.n_dkim++].result = p->pass ? "predicted-pass" : "predicted-fail";
    }
    am.dkim = dk;
    if (e->align_done) {
        memset(&spf, 0, sizeof(spf));
        spf.domain = e->align.spf_domain;
        spf.ips = (const char *const *)x->align->egress_ips.v;
        spf.n_ips = x->align->egress_ips.n;
        spf.result = align_spf_name(e->align.spf_result);
        am.spf = &spf;
        memset(&dmarc, 0, sizeof(dmarc));
        dmarc.domain = e->align.dmarc.where[0] ? e->align.dmarc.where : e->align.from_domain;
        dmarc.p = e->align.dmarc_published ? dmarc_policy_name(e->align.dmarc.policy) : NULL;
        dmarc.result = align_dmarc_result_name(e->align.dmarc_result);
        dmarc.aligned_dkim = e->align.dkim_aligned;
        dmarc.aligned_spf = e->align.spf_aligned;
        for (size_t i = 0; i < e->align.nreasons; i++)
            advice[i] = e->align.reasons[i];
        dmarc.advice = advice;
        dmarc.n_advice = e->align.nreasons;
        if (e->align.other.differ) {
            snprintf(other, sizeof(other), "%s:%s", dmarc_method_name(e->align.other.method),
                     align_dmarc_result_name(e->align.other.result));
            dmarc.other = other;
        }
        am.dmarc = &dmarc;
    }
    for (size_t i = 0; e->unsub_done && i < e->unsub.n_add && i < SM_ARRAY_LEN(uh); i++) {
        uh[am.n_unsub].name = e->unsub.add[i].name;
        uh[am.n_unsub++].value = e->unsub.add[i].value;
    }
    am.unsub = uh;
    if (e->providers_done)
        engine_audit_providers(e, prov, prov_failed, &am);
    engine_audit_ses(e, &am, &sp, sh, &tn, rule, sizeof(rule));
    if (!aborted && e->optout.done &&
        (e->optout.n_rcpts > 0 || e->optout.unavailable || e->optout.unchecked)) {
        optout.list_id = e->optout.list_id;
        optout.store_action = e->optout.unavailable ? "tempfail"
                              : e->optout.unchecked ? "unchecked"
                                                    : unsub_honour_action_name(e->optout.action);
        optout.rcpt_count = e->optout.n_rcpts;
        am.unsubscribed = &optout;
    }
    if (e->acct.checked) {
        memset(&acct, 0, sizeof(acct));
        acct.instance = e->acct.instance[0] ? e->acct.instance : NULL;
        acct.region = e->acct.region[0] ? e->acct.region : NULL;
        acct.status = e->acct.status[0] ? e->acct.status : NULL;
        acct.decision = account_decision_name(&e->acct);
        acct.rcpts_refused = e->acct.rcpts_refused + e->acct.rcpts_tempfailed;
        am.account = &acct;
    }
    am.action = engine_audit_action(m, e, aborted);
    am.outcome = aborted ? AUDIT_OUTCOME_ABORTED : AUDIT_OUTCOME_COMPLETED;
    am.config_version = m->conf->version;
    if (!aborted && (v->action == VERDICT_REJECT || v->action == VERDICT_TEMPFAIL)) {
        am.reply_code = atoi(v->code);
        am.reply_xcode = v->xcode;
        am.reply_text = v->text;
    }
    t0 = metrics_clock();
    if (engine_audit_write(m, e, &am, x) == AUDIT_FAIL_TEMPFAIL && !aborted) {
        audit_failed = 1;
        verdict_set(v, VERDICT_TEMPFAIL, "451", "4.3.0", "Audit log unavailable; try again later");
        am.action = AUDIT_ACTION_TEMPFAIL;
        am.reply_code = 451;
        am.reply_xcode = v->xcode;
        am.reply_text = v->text;
    }
    metrics_stage_time(METRICS_STAGE_AUDIT, t0);
    metrics_message(engine_metrics_scope(am.scope), engine_metrics_action(am.action),
                    engine_metrics_reason(e, aborted, audit_failed));
    audit_summary_line(&am, line, sizeof(line));
    log_msg(LOG_INFO, NULL, "%s", line);
    addr_mailbox_clear(&env);
    free(sp);
}
