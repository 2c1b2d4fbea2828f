/*
 * seswarm.c - background work of an SES instance: account check, warm-up
 *
 * Purpose: after start(), one thread asks GetAccount (sesacct.c) at start
 * and every account_interval seconds, and lists every identity with ListEmailIdentities (paged,
 * PageSize up to 1000, NextToken percent-encoded) at start and every
 * warmup_interval seconds, pushing each into the host's cache through
 * host->cache_put.  List entries carry no DKIM / MAIL FROM details; they
 * are marked attrs.detail = "from ListEmailIdentities" and the host asks
 * GetEmailIdentity when it needs the details.  SES being unreachable
 * never blocks startup: the thread just logs and retries next round.
 *
 * Reload: a new instance started while a running one has the same name,
 * endpoint, region, credential source and warm-up settings (the host loads
 * the new configuration before it releases the old one) takes over its
 * warm-up state: the account state and its schedule (GetAccount is not
 * asked again before account_interval is over), and the first list waits
 * until warmup_interval after the predecessor's last complete one, so that
 * a SIGHUP costs no API calls (SES allows about one per second).  The host
 * keeps its identity cache across such a reload.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <jansson.h>

#include "ses.h"

#define SESWARM_CREDS_WAIT_MS 10000u
#define SESWARM_RETRY_S 30

/* running instances, so that a successor with the same settings takes over their state */
static pthread_mutex_t seswarm_reg_lock = PTHREAD_MUTEX_INITIALIZER;
static ses_instance *seswarm_running;

/* sleep up to ms unless stopped; returns 1 when stopping */
static int
seswarm_wait(ses_instance *in, uint64_t ms)
{
    struct timespec ts;
    int stop;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += (time_t)(ms / 1000);
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&in->lock);
    if (!in->stop)
        pthread_cond_timedwait(&in->cond, &in->lock, &ts);
    stop = in->stop;
    pthread_mutex_unlock(&in->lock);
    return stop;
}

/* whether close() asked the thread to stop */
static int
seswarm_stopping(ses_instance *in)
{
    int stop;

    pthread_mutex_lock(&in->lock);
    stop = in->stop;
    pthread_mutex_unlock(&in->lock);
    return stop;
}

/* wait (bounded) until the credential thread has something */
static int
seswarm_wait_creds(ses_instance *in)
{
    uint64_t until = sesutil_now_ms() + SESWARM_CREDS_WAIT_MS;
    creds_value v;
    char err[256];

    while (creds_get(in->creds, &v, err, sizeof(err)) < 0) {
        if (sesutil_now_ms() >= until || seswarm_wait(in, 100))
            return -1;
    }
    creds_value_clear(&v);
    return 0;
}

static uint64_t
seswarm_deadline(ses_instance *in)
{
    return sesutil_now_ms() + (uint64_t)in->set.timeout_ms + 2000u;
}

static int
seswarm_jbool(json_t *o, const char *name)
{
    json_t *v = json_object_get(o, name);
    return json_is_boolean(v) ? json_is_true(v) : -1;
}

/* push one ListEmailIdentities item into the host cache */
static int
seswarm_put(ses_instance *in, json_t *item)
{
    json_t *name = json_object_get(item, "IdentityName");
    const char *type = json_is_string(json_object_get(item, "IdentityType"))
                           ? json_string_value(json_object_get(item, "IdentityType"))
                           : "";
    int sending = seswarm_jbool(item, "SendingEnabled");
    sm_id_attrs at;
    char id[256], *at_sign;
    sm_id_kind kind;

    if (!json_is_string(name) || *json_string_value(name) == '\0' ||
        strlen(json_string_value(name)) >= sizeof(id))
        return 0;
    ses_copy(id, sizeof(id), json_string_value(name));
    kind = strchr(id, '@') != NULL ? SM_IDKIND_ADDRESS : SM_IDKIND_DOMAIN;
    /* domains are case-insensitive, local parts are not */
    at_sign = strrchr(id, '@');
    for (char *c = at_sign != NULL ? at_sign : id; *c; c++)
        if (*c >= 'A' && *c <= 'Z')
            *c = (char)(*c - 'A' + 'a');
    memset(&at, 0, sizeof(at));
    at.size = sizeof(at);
    at.identity_type = strcmp(type, "EMAIL_ADDRESS") == 0    ? SM_IDTYPE_EMAIL_ADDRESS
                       : strcmp(type, "DOMAIN") == 0         ? SM_IDTYPE_DOMAIN
                       : strcmp(type, "MANAGED_DOMAIN") == 0 ? SM_IDTYPE_MANAGED_DOMAIN
                                                             : SM_IDTYPE_NONE;
    ses_copy(at.identity, sizeof(at.identity), id);
    at.dkim_signing_enabled = SM_TRI_UNKNOWN;
    ses_copy(at.region, sizeof(at.region), in->set.region);
    ses_copy(at.detail, sizeof(at.detail), "from ListEmailIdentities");
    at.ttl = (unsigned)(sending == 1 ? in->set.verified_ttl : in->set.not_verified_ttl);
    in->host.cache_put(in->host.ctx, id, kind, sending == 1 ? SM_ID_VERIFIED : SM_ID_NOT_VERIFIED,
                       &at);
    return 1;
}

/* one page; returns the next token (allocated), "" at the end, NULL on failure */
static char *
seswarm_page(ses_instance *in, const char *token, size_t *count)
{
    sesutil_buf q = {0};
    sesapi_result r;
    json_t *root, *items, *next;
    size_t i;
    char *ret;

    sesutil_buf_printf(&q, "PageSize=%ld", in->set.warmup_page_size);
    if (token != NULL && *token != '\0') {
        sesutil_buf_puts(&q, "&NextToken=");
        sesutil_uri_encode(&q, token, strlen(token), 0);
    }
    sesapi_call(&in->api, "/v2/email/identities", q.data, seswarm_deadline(in), &r);
    sesutil_buf_reset(&q);
    if (r.status != SESAPI_OK) {
        ses_log_failure(in, &r, "ListEmailIdentities", "ses:ListEmailIdentities", NULL);
        sesapi_result_clear(&r);
        return NULL;
    }
    root = json_loads(r.body, 0, NULL);
    sesapi_result_clear(&r);
    if (!json_is_object(root)) {
        /* not the end of the list: the walk is incomplete and is retried */
        ses_log(in, LOG_ERR, NULL, "SES ListEmailIdentities: malformed JSON answer");
        json_decref(root);
        return NULL;
    }
    items = json_object_get(root, "EmailIdentities");
    for (i = 0; json_is_array(items) && i < json_array_size(items); i++)
        *count += (size_t)seswarm_put(in, json_array_get(items, i));
    next = json_object_get(root, "NextToken");
    ret = sesutil_strdup(json_is_string(next) ? json_string_value(next) : "");
    json_decref(root);
    return ret;
}

/* all pages; 0 when the list was walked to its end */
static int
seswarm_list(ses_instance *in)
{
    char *token = sesutil_strdup("");
    size_t count = 0, pages = 0;

    do {
        char *next = seswarm_page(in, token, &count);
        free(token);
        if (next == NULL) {
            ses_log(in, LOG_WARNING, NULL, "warm-up stopped after %zu page(s), %zu identities",
                    pages, count);
            return -1;
        }
        token = next;
        pages++;
    } while (*token != '\0' && pages < 100000 && !seswarm_stopping(in));
    free(token);
    ses_log(in, LOG_INFO, NULL,
            "warm-up: %zu identities from ListEmailIdentities (%zu page(s)) "
            "pushed to the cache",
            count, pages);
    return 0;
}

/* seswarm_next - the earlier of two due times, 0 standing for "never" */
static uint64_t
seswarm_next(uint64_t a, uint64_t b)
{
    return a == 0 ? b : b == 0 ? a : a < b ? a : b;
}

/*
 * seswarm_thread - GetAccount at start and every account_interval seconds
 * (0: once), ListEmailIdentities every warmup_interval seconds (0: never);
 * a failed round is retried after SESWARM_RETRY_S.  A successor of a
 * running instance starts from its predecessor's due times.
 */
static void *
seswarm_thread(void *arg)
{
    ses_instance *in = arg;
    uint64_t list_iv = (uint64_t)in->set.warmup_interval * 1000u;
    uint64_t acct_iv = (uint64_t)in->set.account_interval * 1000u;
    uint64_t retry = (uint64_t)SESWARM_RETRY_S * 1000u, listed, accounted, now;
    uint64_t next_acct, next_list;
    /* an account answer that failed is asked again within account_interval, at most 30 s */
    uint64_t acct_retry = acct_iv > 0 && acct_iv < retry ? acct_iv : retry;

    pthread_mutex_lock(&in->lock);
    listed = in->listed_ms;
    accounted = in->account_done ? in->account_ms : 0;
    pthread_mutex_unlock(&in->lock);
    now = sesutil_now_ms();
    next_acct = accounted == 0 ? now : acct_iv > 0 ? accounted + acct_iv : 0;
    next_list = list_iv == 0 ? 0 : listed != 0 ? listed + list_iv : now;
    if (listed != 0 && next_list > now)
        ses_log(in, LOG_INFO, NULL,
                "warm-up: took over the state of the running instance; next list in %llu s",
                (unsigned long long)((next_list - now + 999) / 1000));
    while (!seswarm_stopping(in)) {
        uint64_t wake;
        now = sesutil_now_ms();
        if ((next_acct != 0 && next_acct <= now) || (next_list != 0 && next_list <= now)) {
            if (seswarm_wait_creds(in) < 0) {
                if (next_acct != 0 && next_acct <= now)
                    next_acct = now + acct_retry;
                if (next_list != 0 && next_list <= now)
                    next_list = now + retry;
            }
            if (next_acct != 0 && next_acct <= now) {
                int ok = sesacct_refresh(in) == 0;
                pthread_mutex_lock(&in->lock);
                in->account_done |= ok;
                pthread_mutex_unlock(&in->lock);
                next_acct = !ok           ? sesutil_now_ms() + acct_retry
                            : acct_iv > 0 ? sesutil_now_ms() + acct_iv
                                          : 0;
            }
            if (next_list != 0 && next_list <= now && !seswarm_stopping(in)) {
                int ok = seswarm_list(in) == 0;
                pthread_mutex_lock(&in->lock);
                if (ok)
                    in->listed_ms = sesutil_now_ms();
                pthread_mutex_unlock(&in->lock);
                next_list = sesutil_now_ms() + (ok ? list_iv : retry);
            }
        }
        wake = seswarm_next(next_acct, next_list);
        if (wake == 0)
            break;
        now = sesutil_now_ms();
        if (seswarm_wait(in, wake > now ? wake - now : 0))
            break;
    }
    return NULL;
}

static int
seswarm_streq(const char *a, const char *b)
{
    return strcmp(a != NULL ? a : "", b != NULL ? b : "") == 0;
}

/* seswarm_same - b is a predecessor of a: the same source, asked the same way */
static int
seswarm_same(const ses_instance *a, const ses_instance *b)
{
    return seswarm_streq(a->name, b->name) && seswarm_streq(a->api.endpoint, b->api.endpoint) &&
           seswarm_streq(a->set.region, b->set.region) &&
           seswarm_streq(creds_source_name(a->creds), creds_source_name(b->creds)) &&
           seswarm_streq(a->set.profile, b->set.profile) &&
           a->set.warmup_interval == b->set.warmup_interval &&
           a->set.warmup_page_size == b->set.warmup_page_size &&
           a->set.verified_ttl == b->set.verified_ttl &&
           a->set.not_verified_ttl == b->set.not_verified_ttl &&
           a->set.account_interval == b->set.account_interval &&
           a->set.sandbox_recipients == b->set.sandbox_recipients &&
           a->set.send_quota == b->set.send_quota &&
           seswarm_streq(a->set.on_probation_bulk, b->set.on_probation_bulk) &&
           seswarm_streq(a->set.on_probation_transactional, b->set.on_probation_transactional) &&
           seswarm_streq(a->set.on_shutdown, b->set.on_shutdown) &&
           seswarm_streq(a->set.on_sending_disabled, b->set.on_sending_disabled);
}

/* seswarm_adopt - take over a running predecessor's state, then join the running list */
static void
seswarm_adopt(ses_instance *in)
{
    pthread_mutex_lock(&seswarm_reg_lock);
    for (ses_instance *o = seswarm_running; o != NULL; o = o->warm_next) {
        if (o == in || !seswarm_same(in, o))
            continue;
        pthread_mutex_lock(&o->lock);
        in->account_done = o->account_done;
        in->account_ms = o->account_ms;
        in->acct = o->acct;
        in->listed_ms = o->listed_ms;
        pthread_mutex_unlock(&o->lock);
        break;
    }
    in->warm_next = seswarm_running;
    seswarm_running = in;
    pthread_mutex_unlock(&seswarm_reg_lock);
}

/* seswarm_leave - off the running list */
static void
seswarm_leave(ses_instance *in)
{
    pthread_mutex_lock(&seswarm_reg_lock);
    for (ses_instance **pp = &seswarm_running; *pp != NULL; pp = &(*pp)->warm_next)
        if (*pp == in) {
            *pp = in->warm_next;
            break;
        }
    pthread_mutex_unlock(&seswarm_reg_lock);
}

/* seswarm_start - the background thread */
int
seswarm_start(ses_instance *in, char *err, size_t errlen)
{
    pthread_condattr_t ca;

    if (in->warm_running)
        return 0;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_destroy(&in->cond);
    pthread_cond_init(&in->cond, &ca);
    pthread_condattr_destroy(&ca);
    if (in->host.cache_put == NULL && in->set.warmup_interval > 0)
        ses_log(in, LOG_WARNING, NULL, "host offers no cache_put: warm-up disabled");
    if (in->host.cache_put == NULL)
        in->set.warmup_interval = 0;
    seswarm_adopt(in);
    if (pthread_create(&in->warm_thread, NULL, seswarm_thread, in) != 0) {
        seswarm_leave(in);
        return sesutil_errf(err, errlen, "ses: cannot start the warm-up thread");
    }
    in->warm_running = 1;
    return 0;
}

/* seswarm_stop - signal and join */
void
seswarm_stop(ses_instance *in)
{
    if (!in->warm_running)
        return;
    seswarm_leave(in);
    pthread_mutex_lock(&in->lock);
    in->stop = 1;
    pthread_cond_broadcast(&in->cond);
    pthread_mutex_unlock(&in->lock);
    pthread_join(in->warm_thread, NULL);
    in->warm_running = 0;
}
