/*
 * account.c - the sending account's state in the engine (account.h)
 *
 * Purpose: the sandbox RCPT check, the reputation guard and the send
 * quota, from the account state identity sources offer (plugin ABI 1.2).
 * Nothing here knows which service the state comes from: the source says
 * whether recipients must be verified, what to do with bulk and
 * transactional mail, and what the quota is.
 *
 * The quota estimate, one per instance name (it survives a reload): the
 * rate is a GCRA bucket of MaxSendRate recipients a second with a burst of
 * one second's worth (a message with more recipients than that passes when
 * the bucket is empty, as a sender that waited may send it); the 24-hour
 * count is SentLast24Hours as last read plus the recipients accepted here
 * since.  SES's count lags behind mail just handed to it: a new reading
 * lower than the local estimate replaces it only when nothing was counted
 * here for ACCOUNT_SETTLE_MS (the estimate errs on the safe side).  A message is
 * charged when the engine accepts it, under one lock, so that concurrent
 * messages cannot both take the last send.
 *
 * The fleet (a state backend): a message the local estimate lets through
 * is then counted in the fleet's counters (state_count_take: the recipients
 * every host sent in the last 24 hourly windows, and in this second of the
 * backend's clock), so that the hosts together tempfail above MaxSendRate
 * and the 24-hour quota; the 24-hour estimate is then the larger of the
 * local one and the fleet's count.  A refused message is taken back from
 * the local estimate.  No backend now (down, slow): the local estimate
 * alone, the backend's state logged once by it.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/account.h"
#include "lib/addr.h"
#include "engine/services.h"
#include "identity/identity.h"
#include "lib/log.h"
#include "identity/cache.h"
#include "identity/plugin.h"
#include "lib/util.h"

/* the local estimate of one instance's send quota */
typedef struct account_quota_est {
    char name[64];
    unsigned generation; /* of the account state the baseline came from */
    double baseline;     /* SentLast24Hours when read */
    double local;        /* recipients accepted here since */
    double tat_ms;       /* GCRA theoretical arrival time */
    double last_ms;      /* when recipients were last counted here */
    struct account_quota_est *next;
} account_quota_est;

#define ACCOUNT_SETTLE_MS (10.0 * 60 * 1000)

static pthread_mutex_t account_lock = PTHREAD_MUTEX_INITIALIZER;
static account_quota_est *account_quotas;

/* account_state - instance i's state; 0 when it has one that is known */
static int
account_state(sm_services *x, size_t i, sm_acct_state *st)
{
    plugin_instance *inst = plugin_chain_get(x->chain, i);

    return inst != NULL && plugin_instance_account(inst, st) == 0 && st->known ? 0 : -1;
}

int
account_wants_rcpt(sm_services *x)
{
    return x != NULL && x->chain != NULL && plugin_chain_any_account(x->chain);
}

static void
account_note(account_result *res, sm_services *x, size_t i, const sm_acct_state *st,
             const char *decision)
{
    util_strlcpy(res->instance, plugin_instance_name(plugin_chain_get(x->chain, i)),
                 sizeof(res->instance));
    util_strlcpy(res->region, st->region, sizeof(res->region));
    util_strlcpy(res->status, st->status, sizeof(res->status));
    res->decision = decision;
}

/* account_rcpt - restricted accounts: the recipient must be a verified identity */
verdict_action
account_rcpt(sm_msg *m, account_result *res, const char *rcpt, sm_verdict *v)
{
    sm_services *x = services_of(m->conf);
    identity_result *r = NULL;
    addr_mailbox mb;
    sm_acct_state st;
    char err[256], addr[512], text[768];
    int is_null = 0;
    verdict_action a = VERDICT_ACCEPT;

    if (x->chain == NULL || !x->gate->present)
        return VERDICT_ACCEPT;
    memset(&mb, 0, sizeof(mb));
    for (size_t i = 0; i < plugin_chain_count(x->chain) && a == VERDICT_ACCEPT; i++) {
        memset(&st, 0, sizeof(st));
        st.size = sizeof(st);
        if (account_state(x, i, &st) < 0)
            continue;
        res->checked = 1;
        if (!st.recipients_verified_only)
            continue;
        if (r == NULL) {
            /* one resolution for every restricted instance: the same as for senders */
            r = xcalloc(1, sizeof(*r));
            if (addr_parse_path(rcpt, &mb, &is_null, err, sizeof(err)) != ADDR_OK || is_null ||
                mb.domain == NULL || mb.domain_literal ||
                identity_resolve(x->chain, x->idcache, (identity_combine)x->gate->combine,
                                 mb.local ? mb.local : "", mb.domain, x->gate->label_separator[0],
                                 util_now_ms() + (uint64_t)x->gate->lookup_timeout_ms, m->qid, r,
                                 err, sizeof(err)) < 0)
                r->answer = SM_ID_NOT_VERIFIED;
        }
        log_sanitize(rcpt, addr, sizeof(addr));
        if (r->answer == SM_ID_VERIFIED)
            continue;
        if (r->answer == SM_ID_TEMPFAIL) {
            snprintf(text, sizeof(text),
                     "Cannot check recipient %s now: the sending account in region %s is %s "
                     "and accepts only verified recipients; try again later",
                     addr, st.region, st.status);
            verdict_set(v, VERDICT_TEMPFAIL, "451", "4.4.3", text);
            account_note(res, x, i, &st, "rcpt-tempfail");
            res->rcpts_tempfailed++;
            a = VERDICT_TEMPFAIL;
        } else {
            snprintf(text, sizeof(text),
                     "Recipient %s is not a verified identity: the sending account in region %s "
                     "is %s and may send only to verified identities",
                     addr, st.region, st.status);
            verdict_set(v, VERDICT_REJECT, "550", "5.7.1", text);
            account_note(res, x, i, &st, "rcpt-reject");
            res->rcpts_refused++;
            a = VERDICT_REJECT;
        }
        log_msg(LOG_NOTICE, m->qid,
                "account: %s %s by source %s (region %s): %s; reply=\"%s %s %s\"",
                a == VERDICT_REJECT ? "refused" : "tempfailed", addr, res->instance, st.region,
                r->answer == SM_ID_TEMPFAIL ? (r->why[0] ? r->why : "the source could not answer")
                                            : "not a verified identity (sandbox)",
                v->code, v->xcode, v->text);
    }
    addr_mailbox_clear(&mb);
    free(r);
    return a;
}

static int
account_rank(sm_acct_action a)
{
    static const int rank[] = {0, 2, 1, 3}; /* accept, tempfail, hold, reject */
    return (unsigned)a < 4 ? rank[a] : 0;
}

static const char *
account_action_name(sm_acct_action a)
{
    static const char *const n[] = {"accept", "tempfail", "hold", "reject"};
    return (unsigned)a < 4 ? n[a] : "accept";
}

/* account_guard - the strictest instance action for this class; returns its index or -1 */
static long
account_guard(sm_services *x, int bulk, account_result *res, sm_acct_state *worst)
{
    long at = -1;
    sm_acct_state st;

    for (size_t i = 0; i < plugin_chain_count(x->chain); i++) {
        sm_acct_action a;
        memset(&st, 0, sizeof(st));
        st.size = sizeof(st);
        if (account_state(x, i, &st) < 0)
            continue;
        res->checked = 1;
        a = bulk ? st.bulk : st.transactional;
        if (a != SM_ACCT_ACCEPT &&
            (at < 0 || account_rank(a) > account_rank(bulk ? worst->bulk : worst->transactional))) {
            *worst = st;
            at = (long)i;
        }
    }
    return at;
}

static account_quota_est *
account_quota_of(const char *name)
{
    account_quota_est *q;

    for (q = account_quotas; q != NULL; q = q->next)
        if (strcmp(q->name, name) == 0)
            return q;
    q = xcalloc(1, sizeof(*q));
    util_strlcpy(q->name, name, sizeof(q->name));
    q->next = account_quotas;
    account_quotas = q;
    return q;
}

/* account_quota_check - 0 when n more sends fit; else the reply text (lock held) */
static int
account_quota_check(account_quota_est *q, const sm_acct_state *st, double n, double now, char *text,
                    size_t len, const char **what_r)
{
    double interval, tat;

    if (q->generation != st->generation) {
        double est = q->baseline + q->local;
        q->generation = st->generation;
        q->baseline = st->sent_last_24h >= est || now - q->last_ms >= ACCOUNT_SETTLE_MS
                          ? st->sent_last_24h
                          : est;
        q->local = 0;
    }
    if (st->max_24h_send > 0 && q->baseline + q->local + n > st->max_24h_send) {
        snprintf(text, len,
                 "Daily sending quota of the account in region %s reached (%.0f of %.0f in "
                 "24 hours): try again later",
                 st->region, q->baseline + q->local, st->max_24h_send);
        *what_r = "quota-24h";
        return -1;
    }
    if (st->max_send_rate > 0) {
        interval = 1000.0 / st->max_send_rate;
        tat = q->tat_ms > now ? q->tat_ms : now;
        /* conforms within one second's burst, or at once when the bucket is empty */
        if (tat > now && tat + n * interval - now > 1000.0 + 0.5) {
            snprintf(text, len,
                     "Sending rate of the account in region %s reached (%.0f recipients per "
                     "second): try again later",
                     st->region, st->max_send_rate);
            *what_r = "quota-rate";
            return -1;
        }
    }
    return 0;
}

static void
account_quota_charge(account_quota_est *q, const sm_acct_state *st, double n, double now)
{
    q->local += n;
    q->last_ms = now;
    if (st->max_send_rate > 0)
        q->tat_ms = (q->tat_ms > now ? q->tat_ms : now) + n * 1000.0 / st->max_send_rate;
}

/* account_quota_refund - take back a charge the fleet's counters refused (lock held) */
static void
account_quota_refund(account_quota_est *q, const sm_acct_state *st, double n)
{
    q->local = q->local > n ? q->local - n : 0;
    if (st->max_send_rate > 0)
        q->tat_ms -= n * 1000.0 / st->max_send_rate;
}

/*
 * account_quota_fleet - the fleet's counters of instance name (state
 * backend): the recipients every host sent in the last 24 hourly windows,
 * then in this second; 0 when n more fit or there is no backend now (the
 * local estimate alone decided), else the reply text.  A message the rate
 * refuses stays counted in the 24 hours (the estimate errs on the safe side).
 */
static int
account_quota_fleet(sm_state *sst, const char *name, const sm_acct_state *st, double n,
                    uint64_t deadline_ms, char *text, size_t len, const char **what_r)
{
    char key[96];
    unsigned long total = 0, un = (unsigned long)n;

    if (sst == NULL)
        return 0;
    snprintf(key, sizeof(key), "sent24h:%s", name);
    if (st->max_24h_send > 0 &&
        state_count_take(sst, key, 3600, 24, un, (unsigned long)st->max_24h_send, 0, deadline_ms,
                         &total) == STATE_NOT_FOUND) {
        snprintf(text, len,
                 "Daily sending quota of the account in region %s reached (%lu of %.0f in "
                 "24 hours by the fleet): try again later",
                 st->region, total, st->max_24h_send);
        *what_r = "quota-24h";
        return -1;
    }
    snprintf(key, sizeof(key), "rate:%s", name);
    if (st->max_send_rate >= 1 &&
        state_count_take(sst, key, 1, 1, un, (unsigned long)st->max_send_rate, 1, deadline_ms,
                         &total) == STATE_NOT_FOUND) {
        snprintf(text, len,
                 "Sending rate of the account in region %s reached (%.0f recipients per "
                 "second by the fleet): try again later",
                 st->region, st->max_send_rate);
        *what_r = "quota-rate";
        return -1;
    }
    return 0;
}

/*
 * account_quota - check every instance's quota, then charge them all (not when dry_run: the
 * question is asked, nothing counted, the fleet's counters not asked); 0 when it fits
 */
static int
account_quota(sm_msg *m, sm_services *x, account_result *res, uint64_t deadline_ms, int dry_run,
              sm_verdict *v)
{
    size_t n = plugin_chain_count(x->chain), i;
    sm_acct_state *st = xcalloc(n ? n : 1, sizeof(*st));
    double now = (double)util_now_ms();
    /* each recipient SES will send to is one send; the MTA's own local ones are not */
    double sends =
        (double)(m->nrcpts - (m->n_rcpt_local < m->nrcpts ? m->n_rcpt_local : m->nrcpts));
    char text[512];
    const char *what = NULL;
    int rc = 0, fleet = 0;
    sm_state *sst = x->idcache != NULL ? cache_state(x->idcache) : NULL;

    if (dry_run && m->nrcpts == 0)
        sends = 1; /* ses-milter -t without a recipient: a message to one */
    for (i = 0; i < n && sends > 0; i++) {
        st[i].size = sizeof(st[i]);
        if (account_state(x, i, &st[i]) < 0)
            st[i].known = 0;
    }
    pthread_mutex_lock(&account_lock);
    for (i = 0; i < n && rc == 0; i++)
        if (st[i].known && account_quota_check(account_quota_of(plugin_instance_name(
                                                   plugin_chain_get(x->chain, i))),
                                               &st[i], sends, now, text, sizeof(text), &what) < 0)
            rc = -1;
    for (size_t j = 0; j < n && rc == 0 && !dry_run; j++)
        if (st[j].known)
            account_quota_charge(
                account_quota_of(plugin_instance_name(plugin_chain_get(x->chain, j))), &st[j],
                sends, now);
    pthread_mutex_unlock(&account_lock);
    /* the fleet's counters (outside the lock: a network round trip, bounded by the deadline) */
    for (i = rc == 0 ? 0 : i; i < n && rc == 0 && sst != NULL && !dry_run; i++) /* i: refusing */
        if (st[i].known &&
            account_quota_fleet(sst, plugin_instance_name(plugin_chain_get(x->chain, i)), &st[i],
                                sends, deadline_ms, text, sizeof(text), &what) < 0)
            rc = fleet = -1;
    if (fleet < 0) { /* charged above: refunded, the message is not sent */
        pthread_mutex_lock(&account_lock);
        for (size_t j = 0; j < n; j++)
            if (st[j].known)
                account_quota_refund(
                    account_quota_of(plugin_instance_name(plugin_chain_get(x->chain, j))), &st[j],
                    sends);
        pthread_mutex_unlock(&account_lock);
    }
    if (rc < 0) {
        i--;
        verdict_set(v, VERDICT_TEMPFAIL, "451", "4.7.1", text);
        account_note(res, x, i, &st[i], what);
        log_msg(LOG_NOTICE, m->qid, "account: %.0f recipient(s) tempfailed by source %s: %s", sends,
                res->instance, text);
    }
    free(st);
    return rc;
}

/* account_eom - guard, then quota; only a message still to be accepted is charged */
void
account_eom(sm_msg *m, account_result *res, int bulk, uint64_t deadline_ms, int dry_run,
            sm_verdict *v)
{
    sm_services *x = services_of(m->conf);
    sm_acct_state worst;
    char text[512];
    long at;

    if (x->chain == NULL || v->action == VERDICT_REJECT || v->action == VERDICT_TEMPFAIL ||
        v->action == VERDICT_DISCARD)
        return;
    memset(&worst, 0, sizeof(worst));
    at = account_guard(x, bulk, res, &worst);
    if (at >= 0) {
        sm_acct_action a = bulk ? worst.bulk : worst.transactional;
        const char *cls = bulk ? "bulk" : "transactional";
        account_note(res, x, (size_t)at, &worst, account_action_name(a));
        if (a == SM_ACCT_REJECT) {
            snprintf(text, sizeof(text), "The sending account in region %s is %s: %s mail refused",
                     worst.region, worst.status, cls);
            verdict_set(v, VERDICT_REJECT, "550", "5.7.1", text);
        } else if (a == SM_ACCT_TEMPFAIL) {
            snprintf(text, sizeof(text),
                     "The sending account in region %s is %s: %s mail deferred, try again later",
                     worst.region, worst.status, cls);
            verdict_set(v, VERDICT_TEMPFAIL, "451", "4.7.1", text);
        } else {
            snprintf(text, sizeof(text), "ses-milter: account in region %s is %s: %s mail held",
                     worst.region, worst.status, cls);
            v->action = VERDICT_QUARANTINE;
            free(v->reason);
            v->reason = xstrdup(text);
        }
        log_msg(LOG_NOTICE, m->qid, "account: %s mail %s by source %s (region %s, %s)", cls,
                a == SM_ACCT_REJECT     ? "refused"
                : a == SM_ACCT_TEMPFAIL ? "tempfailed"
                                        : "held",
                res->instance, worst.region, worst.status);
        if (a != SM_ACCT_HOLD)
            return;
    }
    if (v->action == VERDICT_ACCEPT) /* held mail is not sent (yet): not charged */
        account_quota(m, x, res, deadline_ms, dry_run, v);
}

size_t
account_wait_known(struct sm_services *x, uint64_t deadline_ms)
{
    size_t unknown = 0;

    for (unsigned round = 0; round < 100000; round++) { /* bounded by the deadline, and so */
        unknown = 0;
        for (size_t i = 0; x->chain != NULL && i < plugin_chain_count(x->chain); i++) {
            sm_acct_state st;
            memset(&st, 0, sizeof(st));
            st.size = sizeof(st);
            if (plugin_instance_account(plugin_chain_get(x->chain, i), &st) == 0 && !st.known)
                unknown++;
        }
        if (unknown == 0 || util_now_ms() >= deadline_ms)
            break;
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL); /* an interrupted wait only polls sooner */
    }
    return unknown;
}

const char *
account_decision_name(const account_result *res)
{
    return res->decision != NULL ? res->decision : res->checked ? "accept" : "none";
}
