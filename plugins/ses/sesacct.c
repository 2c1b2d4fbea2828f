/*
 * sesacct.c - the SES account behind an instance: GetAccount, read on a schedule
 *
 * Purpose: turn SESv2 GetAccount into what the host needs before it queues
 * mail (sm_acct_state, plugin ABI 1.2): whether recipients must be verified
 * identities (ProductionAccessEnabled = false: the sandbox), the action per
 * class of mail (EnforcementStatus PROBATION / SHUTDOWN, SendingEnabled =
 * false, each mapped by the on_* settings; the strictest applies when
 * several hold) and the send quota (SendQuota: Max24HourSend, MaxSendRate,
 * SentLast24Hours; recipients, as SES counts sends).  seswarm.c calls
 * sesacct_refresh() at start and every account_interval seconds; each call
 * is one request of the instance's shared API budget (budget.h).  A change
 * of state is logged once, as is the first answer; an answer that cannot
 * be had keeps the last state (SES being unreachable does not change the
 * account).  Missing or null fields are tolerated.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <jansson.h>

#include "ses.h"

static int
sesacct_bool(json_t *o, const char *name)
{
    json_t *v = json_object_get(o, name);
    return json_is_boolean(v) ? json_is_true(v) : -1;
}

static double
sesacct_num(json_t *o, const char *name, double def)
{
    json_t *v = json_object_get(o, name);
    return json_is_number(v) ? json_number_value(v) : def;
}

/*
 * the stricter of two actions: reject, then tempfail, then hold, then
 * accept; b is sesconf_action()'s answer, -1 for a name it does not know
 * (the loader refuses those, so only a caller's unset setting gets here):
 * that is tempfail, the answer that loses nothing
 */
static sm_acct_action
sesacct_stricter(sm_acct_action a, int b)
{
    static const int rank[] = {0, 2, 1, 3}; /* accept, tempfail, hold, reject */

    if (b < 0 || b > 3)
        b = SM_ACCT_TEMPFAIL;
    return rank[b] > rank[a] ? (sm_acct_action)b : a;
}

static void
sesacct_apply(sm_acct_state *st, const char *bulk, const char *trans)
{
    st->bulk = sesacct_stricter(st->bulk, sesconf_action(bulk));
    st->transactional = sesacct_stricter(st->transactional, sesconf_action(trans));
}

static void
sesacct_add(char *buf, size_t len, const char *what)
{
    size_t n = strlen(buf);
    snprintf(buf + n, len - n, "%s%s", n ? ", " : "", what);
}

/* sesacct_parse - the answer with this instance's actions; the caller owns st */
int
sesacct_parse(const ses_settings *set, const char *body, sm_acct_state *st)
{
    json_t *root = json_loads(body != NULL ? body : "", 0, NULL), *q;
    const char *enf;
    int prod, sending;
    size_t size = st->size;

    if (!json_is_object(root)) {
        json_decref(root);
        return -1;
    }
    memset(st, 0, sizeof(*st));
    st->size = size;
    st->known = 1;
    prod = sesacct_bool(root, "ProductionAccessEnabled");
    sending = sesacct_bool(root, "SendingEnabled");
    enf = json_is_string(json_object_get(root, "EnforcementStatus"))
              ? json_string_value(json_object_get(root, "EnforcementStatus"))
              : "";
    ses_copy(st->region, sizeof(st->region), set->region);
    st->recipients_verified_only = prod == 0 && set->sandbox_recipients;
    if (prod == 0)
        sesacct_add(st->status, sizeof(st->status), "in the SES sandbox");
    if (strcmp(enf, "SHUTDOWN") == 0) {
        sesacct_apply(st, set->on_shutdown, set->on_shutdown);
        sesacct_add(st->status, sizeof(st->status), "SHUT DOWN by SES");
    } else if (strcmp(enf, "PROBATION") == 0) {
        sesacct_apply(st, set->on_probation_bulk, set->on_probation_transactional);
        sesacct_add(st->status, sizeof(st->status), "under SES PROBATION");
    }
    if (sending == 0) {
        sesacct_apply(st, set->on_sending_disabled, set->on_sending_disabled);
        sesacct_add(st->status, sizeof(st->status), "disabled for sending in SES");
    }
    if (st->status[0] == '\0')
        sesacct_add(st->status, sizeof(st->status), "healthy");
    q = json_object_get(root, "SendQuota");
    if (set->send_quota && json_is_object(q)) {
        st->max_send_rate = sesacct_num(q, "MaxSendRate", 0);
        st->max_24h_send = sesacct_num(q, "Max24HourSend", 0);
        st->sent_last_24h = sesacct_num(q, "SentLast24Hours", 0);
    }
    snprintf(st->detail, sizeof(st->detail),
             "GetAccount: ProductionAccessEnabled=%s SendingEnabled=%s EnforcementStatus=%.16s "
             "SendQuota=%.0f/24h,%.0f/s,sent %.0f",
             prod < 0 ? "missing"
             : prod   ? "true"
                      : "false",
             sending < 0 ? "missing"
             : sending   ? "true"
                         : "false",
             *enf ? enf : "missing", st->max_24h_send, st->max_send_rate, st->sent_last_24h);
    ses_copy(st->detail, sizeof(st->detail), st->detail);
    json_decref(root);
    return 0;
}

static const char *
sesacct_action_name(sm_acct_action a)
{
    static const char *const n[] = {"accept", "tempfail", "hold", "reject"};
    return (unsigned)a < 4 ? n[a] : "?";
}

/* one line at start and on each change of what the host is told */
static void
sesacct_log_change(ses_instance *in, const sm_acct_state *old, const sm_acct_state *st)
{
    int bad = st->recipients_verified_only || st->bulk != SM_ACCT_ACCEPT ||
              st->transactional != SM_ACCT_ACCEPT;

    if (old->known && old->recipients_verified_only == st->recipients_verified_only &&
        old->bulk == st->bulk && old->transactional == st->transactional &&
        strcmp(old->status, st->status) == 0 && old->max_send_rate == st->max_send_rate &&
        old->max_24h_send == st->max_24h_send)
        return;
    ses_log(in, bad ? LOG_WARNING : LOG_INFO, NULL,
            "SES account in %s %s%s: %s; recipients %s; bulk mail: %s, transactional mail: %s; "
            "send quota %.0f per 24 h (%.0f sent), %.0f per second",
            in->set.region, old->known ? "now " : "", st->status, st->detail,
            st->recipients_verified_only ? "must be verified identities" : "unrestricted",
            sesacct_action_name(st->bulk), sesacct_action_name(st->transactional), st->max_24h_send,
            st->sent_last_24h, st->max_send_rate);
}

/* sesacct_refresh - one GetAccount through the shared budget */
int
sesacct_refresh(ses_instance *in)
{
    uint64_t deadline = sesutil_now_ms() + (uint64_t)in->set.timeout_ms + 2000u;
    sm_acct_state st, old;
    sesapi_result r;

    sesapi_call(&in->api, "/v2/email/account", NULL, deadline, &r);
    if (r.status != SESAPI_OK) {
        sesapi_status s = r.status;
        ses_log_failure(in, &r, "GetAccount", "ses:GetAccount", NULL);
        sesapi_result_clear(&r);
        /* without the permission the account stays unknown: nothing to retry soon */
        return s == SESAPI_DENIED ? 0 : -1;
    }
    memset(&st, 0, sizeof(st));
    st.size = sizeof(st);
    if (sesacct_parse(&in->set, r.body, &st) < 0) {
        ses_log(in, LOG_ERR, NULL, "SES GetAccount: malformed JSON answer");
        sesapi_result_clear(&r);
        return 0;
    }
    sesapi_result_clear(&r);
    pthread_mutex_lock(&in->lock);
    old = in->acct;
    st.generation = old.generation + 1;
    in->acct = st;
    in->account_ms = sesutil_now_ms();
    pthread_mutex_unlock(&in->lock);
    sesacct_log_change(in, &old, &st);
    return 0;
}

/* sesacct_state - copy out as much as the host's struct holds */
int
sesacct_state(void *instance, sm_acct_state *state)
{
    ses_instance *in = instance;
    size_t size;
    sm_acct_state copy;

    if (in == NULL || state == NULL || state->size < offsetof(sm_acct_state, region))
        return -1;
    size = state->size < sizeof(copy) ? state->size : sizeof(copy);
    pthread_mutex_lock(&in->lock);
    copy = in->acct;
    pthread_mutex_unlock(&in->lock);
    if (!copy.known)
        ses_copy(copy.region, sizeof(copy.region), in->set.region);
    copy.size = state->size;
    memcpy(state, &copy, size);
    return 0;
}
