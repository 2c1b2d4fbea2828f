/*
 * sessupp.c - SES suppression list: per-recipient check, cache, bulk warm-up
 *
 * Purpose: tell the host, at RCPT time, whether SES would drop mail to a
 * recipient because it is on the account-level suppression list.
 * GetSuppressedDestination (GET /v2/email/suppression/addresses/ADDR):
 * 200 = suppressed (SuppressedDestination.Reason BOUNCE | COMPLAINT),
 * 404 NotFoundException = not suppressed, anything else = TEMPFAIL (the
 * host decides what a tempfail means).  Answers live in a bounded hash
 * table, suppressed ones suppressed_ttl seconds, clear ones
 * not_suppressed_ttl; a full table first drops expired entries and then
 * stops storing (answers stay right, only uncached).  Single-flight: the
 * first thread asking about an address marks it in flight; others wait on
 * the condition variable for its answer or their own deadline.
 *
 * Fleet (ABI 1.3, host->shared_get / shared_put; NULL on older hosts): before
 * asking SES, the thread asking reads the answer another host of the fleet
 * shared (origin "redis"; kept locally no longer than the fleet keeps it), and
 * shares each answer SES gives with its own TTL.  No backend (none, down,
 * slow) is no answer: SES is asked as without one.
 *
 * Warm-up (suppression_warmup_interval > 0): one thread walks
 * ListSuppressedDestinations (GET /v2/email/suppression/addresses,
 * PageSize up to 1000, NextToken encoded) and stores every entry; a walk
 * that reached its end makes "absent from the list" an answer (origin
 * "warm") until it is older than not_suppressed_ttl.  All calls go
 * through the instance's sesapi, so they share its rate limit and backoff.
 *
 * Reload: a new instance started while a running one has the same name,
 * endpoint, region and suppression settings takes over its table and the
 * time of its last complete walk (the host starts the new configuration
 * before it closes the old one), so that a SIGHUP costs no walk: the next
 * one comes suppression_warmup_interval after the predecessor's.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <jansson.h>

#include "ses.h"
#include "sessupp.h"

#define SESSUPP_BUCKETS 4096u
#define SESSUPP_PAGE 1000
#define SESSUPP_MAX_PAGES 100000

typedef enum sessupp_state {
    SESSUPP_INFLIGHT = 0,
    SESSUPP_CLEAR,
    SESSUPP_SUPPRESSED
} sessupp_state;

typedef struct sessupp_entry {
    struct sessupp_entry *next;
    sessupp_state state;
    uint64_t expires_ms;
    char reason[16];
    char last_update[40];
    char address[]; /* exact, as asked */
} sessupp_entry;

struct sessupp {
    ses_instance *in; /* not owned */
    pthread_mutex_t lock;
    pthread_cond_t cond; /* an in-flight answer arrived, or stop */
    sessupp_entry *bucket[SESSUPP_BUCKETS];
    size_t n;
    uint64_t walked_ms; /* end of the last complete list walk, 0: none */
    uint64_t walk_start_ms;
    pthread_t thread;
    int started, running, stop;
    struct sessupp *next_running; /* sessupp_running list, for a successor at a reload */
};

static pthread_mutex_t sessupp_reg_lock = PTHREAD_MUTEX_INITIALIZER;
static sessupp *sessupp_running;

static uint32_t
sessupp_hash(const char *s)
{
    uint32_t h = 2166136261u;

    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h % SESSUPP_BUCKETS;
}

/* sessupp_new - an empty table */
sessupp *
sessupp_new(ses_instance *in)
{
    sessupp *s = sesutil_calloc(1, sizeof(*s));
    pthread_condattr_t ca;

    s->in = in;
    pthread_mutex_init(&s->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cond, &ca);
    pthread_condattr_destroy(&ca);
    return s;
}

/* find under the lock */
static sessupp_entry *
sessupp_find(sessupp *s, const char *addr)
{
    for (sessupp_entry *e = s->bucket[sessupp_hash(addr)]; e != NULL; e = e->next)
        if (strcmp(e->address, addr) == 0)
            return e;
    return NULL;
}

/* drop expired answers (never one in flight); under the lock */
static void
sessupp_purge(sessupp *s, uint64_t now)
{
    for (size_t b = 0; b < SESSUPP_BUCKETS; b++)
        for (sessupp_entry **pp = &s->bucket[b]; *pp != NULL;) {
            sessupp_entry *e = *pp;
            if (e->state != SESSUPP_INFLIGHT && e->expires_ms <= now) {
                *pp = e->next;
                free(e);
                s->n--;
            } else {
                pp = &e->next;
            }
        }
}

/* a new entry, or NULL when the table is full even after a purge; under the lock */
static sessupp_entry *
sessupp_insert(sessupp *s, const char *addr, uint64_t now)
{
    size_t len = strlen(addr);
    sessupp_entry *e;
    uint32_t h = sessupp_hash(addr);

    if (s->n >= (size_t)s->in->set.suppression_max_entries)
        sessupp_purge(s, now);
    if (s->n >= (size_t)s->in->set.suppression_max_entries)
        return NULL;
    e = sesutil_calloc(1, sizeof(*e) + len + 1);
    memcpy(e->address, addr, len + 1);
    e->state = SESSUPP_INFLIGHT;
    e->next = s->bucket[h];
    s->bucket[h] = e;
    s->n++;
    return e;
}

/* remove one entry (an in-flight mark whose lookup failed); under the lock */
static void
sessupp_remove(sessupp *s, sessupp_entry *victim)
{
    for (sessupp_entry **pp = &s->bucket[sessupp_hash(victim->address)]; *pp != NULL;
         pp = &(*pp)->next)
        if (*pp == victim) {
            *pp = victim->next;
            free(victim);
            s->n--;
            return;
        }
}

/* the TTL of an answer, ms */
static uint64_t
sessupp_ttl_ms(const sessupp *s, sessupp_state st)
{
    return 1000u * (uint64_t)(st == SESSUPP_SUPPRESSED ? s->in->set.suppressed_ttl
                                                       : s->in->set.not_suppressed_ttl);
}

/* store an answer for ttl_ms (0: its own TTL); under the lock */
static void
sessupp_store(sessupp *s, sessupp_entry *e, sessupp_state st, const char *reason,
              const char *last_update, uint64_t now, uint64_t ttl_ms)
{
    e->state = st;
    e->expires_ms =
        now + (ttl_ms != 0 && ttl_ms < sessupp_ttl_ms(s, st) ? ttl_ms : sessupp_ttl_ms(s, st));
    ses_copy(e->reason, sizeof(e->reason), reason != NULL ? reason : "");
    ses_copy(e->last_update, sizeof(e->last_update), last_update != NULL ? last_update : "");
}

static const char *
sessupp_jstr(json_t *o, const char *name)
{
    json_t *v = json_object_get(o, name);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* LastUpdateTime: REST-JSON timestamps are epoch seconds (a number); a string is kept */
static const char *
sessupp_jtime(json_t *o, const char *name, char *buf, size_t len)
{
    json_t *v = json_object_get(o, name);

    if (json_is_number(v)) {
        snprintf(buf, len, "%.0f", json_number_value(v));
        return buf;
    }
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* wait on cond until deadline_ms (CLOCK_MONOTONIC); under the lock */
static void
sessupp_wait(sessupp *s, uint64_t deadline_ms)
{
    struct timespec ts = {(time_t)(deadline_ms / 1000), (long)(deadline_ms % 1000) * 1000000L};

    pthread_cond_timedwait(&s->cond, &s->lock, &ts);
}

/* GetSuppressedDestination for one address, outside the lock */
static sm_ask_answer
sessupp_fetch(ses_instance *in, const char *addr, uint64_t deadline_ms, const char *qid,
              char *reason, size_t rlen, char *last, size_t llen, char *detail, size_t dlen)
{
    sesutil_buf path = {0};
    sesapi_result r;
    sm_ask_answer ans;

    sesutil_buf_puts(&path, "/v2/email/suppression/addresses/");
    sesutil_uri_encode(&path, addr, strlen(addr), 0);
    sesapi_call(&in->api, path.data, NULL, deadline_ms, &r);
    sesutil_buf_reset(&path);
    if (r.status == SESAPI_OK) {
        json_t *root = json_loads(r.body, 0, NULL);
        json_t *sd = json_object_get(root, "SuppressedDestination");
        const char *why = json_is_object(sd) ? sessupp_jstr(sd, "Reason") : NULL;
        if (why == NULL) {
            snprintf(detail, dlen, "GetSuppressedDestination: malformed answer");
            ans = SM_ASK_TEMPFAIL;
        } else {
            ses_copy(reason, rlen, why);
            char t[40];
            ses_copy(last, llen, sessupp_jtime(sd, "LastUpdateTime", t, sizeof(t)));
            snprintf(detail, dlen, "GetSuppressedDestination: Reason=%s", reason);
            ans = SM_ASK_YES;
        }
        json_decref(root);
    } else if (r.status == SESAPI_NOT_FOUND) {
        snprintf(detail, dlen, "GetSuppressedDestination: NotFoundException");
        ans = SM_ASK_NO;
    } else {
        snprintf(detail, dlen, "GetSuppressedDestination: %s%s%.64s", sesapi_status_name(r.status),
                 r.code ? " " : "", r.code ? r.code : "");
        ses_log_failure(in, &r, "GetSuppressedDestination", "ses:GetSuppressedDestination", qid);
        ans = SM_ASK_TEMPFAIL;
    }
    ses_copy(detail, dlen, detail);
    sesapi_result_clear(&r);
    return ans;
}

/*
 * sessupp_shared_get - the fleet's answer (ABI 1.3 host->shared_get), value
 * "v1 TAB S|C TAB REASON TAB LAST_UPDATE": SM_ASK_YES / SM_ASK_NO with
 * *ttl_ms_r, or SM_ASK_TEMPFAIL when there is none (none shared, another
 * version's value, no backend now: ask SES)
 */
static sm_ask_answer
sessupp_shared_get(ses_instance *in, const char *addr, uint64_t deadline_ms, char *reason,
                   size_t rlen, char *last, size_t llen, uint64_t *ttl_ms_r)
{
    char val[256], *f[4], *p = val;
    size_t n = 0;

    if (in->host.shared_get == NULL || in->host.shared_get(in->host.ctx, "supp", addr, val,
                                                           sizeof(val), ttl_ms_r, deadline_ms) != 1)
        return SM_ASK_TEMPFAIL;
    for (; n < 4 && p != NULL; n++) {
        f[n] = p;
        if ((p = strchr(p, '\t')) != NULL)
            *p++ = '\0';
    }
    if (n != 4 || p != NULL || strcmp(f[0], "v1") != 0 ||
        (strcmp(f[1], "S") != 0 && strcmp(f[1], "C") != 0))
        return SM_ASK_TEMPFAIL;
    ses_copy(reason, rlen, f[2]);
    ses_copy(last, llen, f[3]);
    return f[1][0] == 'S' ? SM_ASK_YES : SM_ASK_NO;
}

/* sessupp_shared_put - share an answer SES gave with the fleet, for its own TTL */
static void
sessupp_shared_put(sessupp *s, const char *addr, sm_ask_answer ans, const char *reason,
                   const char *last, uint64_t deadline_ms)
{
    char val[256];

    if (s->in->host.shared_put == NULL)
        return;
    snprintf(val, sizeof(val), "v1\t%s\t%.15s\t%.39s", ans == SM_ASK_YES ? "S" : "C",
             strpbrk(reason, "\t\r\n") ? "" : reason, strpbrk(last, "\t\r\n") ? "" : last);
    s->in->host.shared_put(
        s->in->host.ctx, "supp", addr, val,
        sessupp_ttl_ms(s, ans == SM_ASK_YES ? SESSUPP_SUPPRESSED : SESSUPP_CLEAR), deadline_ms);
}

/* fill attrs from a stored entry */
static sm_ask_answer
sessupp_answer(const sessupp_entry *e, const char *origin, sm_ask_attrs *a)
{
    ses_copy(a->origin, sizeof(a->origin), origin);
    ses_copy(a->reason, sizeof(a->reason), e->reason);
    ses_copy(a->last_update, sizeof(a->last_update), e->last_update);
    snprintf(a->detail, sizeof(a->detail), "suppression list (%s)%s%s", origin,
             e->state == SESSUPP_SUPPRESSED ? ": Reason=" : ": not suppressed",
             e->state == SESSUPP_SUPPRESSED ? e->reason : "");
    return e->state == SESSUPP_SUPPRESSED ? SM_ASK_YES : SM_ASK_NO;
}

/* sessupp_check - the table, or one call single-flight; attrs reset by the caller (ses_ask) */
sm_ask_answer
sessupp_check(void *instance, const sm_ask_query *q, sm_ask_attrs *attrs)
{
    ses_instance *in = instance;
    sessupp *s = in->supp;
    sessupp_entry *e;
    char reason[16] = "", last[40] = "", detail[256] = "";
    sm_ask_answer ans;
    uint64_t now = sesutil_now_ms(), shared_ttl = 0;
    const char *qid, *origin = "miss";

    if (s == NULL || q == NULL || q->size < sizeof(*q) || q->subject == NULL ||
        *q->subject == '\0' || strlen(q->subject) > 320 || strchr(q->subject, '@') == NULL) {
        ses_copy(attrs->detail, sizeof(attrs->detail),
                 s == NULL ? "suppression list not enabled" : "malformed recipient");
        return s == NULL ? SM_ASK_UNKNOWN : SM_ASK_NO;
    }
    qid = q->queue_id != NULL ? q->queue_id : "";
    pthread_mutex_lock(&s->lock);
    for (;;) {
        e = sessupp_find(s, q->subject);
        if (e != NULL && e->state != SESSUPP_INFLIGHT && e->expires_ms > now) {
            ans = sessupp_answer(e, "hit", attrs);
            pthread_mutex_unlock(&s->lock);
            return ans;
        }
        if (e == NULL && s->walked_ms != 0 &&
            now < s->walked_ms + 1000u * (uint64_t)in->set.not_suppressed_ttl) {
            pthread_mutex_unlock(&s->lock);
            ses_copy(attrs->origin, sizeof(attrs->origin), "warm");
            ses_copy(attrs->detail, sizeof(attrs->detail),
                     "not in ListSuppressedDestinations (complete walk)");
            return SM_ASK_NO;
        }
        if (e == NULL || e->state != SESSUPP_INFLIGHT)
            break;
        /* another thread is asking: wait for its answer */
        if (now >= q->deadline_ms) {
            pthread_mutex_unlock(&s->lock);
            ses_copy(attrs->detail, sizeof(attrs->detail),
                     "deadline passed waiting for the same lookup");
            return SM_ASK_TEMPFAIL;
        }
        sessupp_wait(s, q->deadline_ms);
        now = sesutil_now_ms();
        e = sessupp_find(s, q->subject);
        if (e != NULL && e->state != SESSUPP_INFLIGHT && e->expires_ms > now) {
            ans = sessupp_answer(e, "shared", attrs);
            pthread_mutex_unlock(&s->lock);
            return ans;
        }
    }
    if (e == NULL)
        e = sessupp_insert(s, q->subject, now);
    else
        e->state = SESSUPP_INFLIGHT; /* expired: ask again */
    pthread_mutex_unlock(&s->lock);

    /* the fleet's answer first (ABI 1.3), then SES, whose answer is shared */
    ans = sessupp_shared_get(in, q->subject, q->deadline_ms, reason, sizeof(reason), last,
                             sizeof(last), &shared_ttl);
    if (ans != SM_ASK_TEMPFAIL) {
        origin = "redis";
        snprintf(detail, sizeof(detail), "suppression list (shared by the fleet)%s%s",
                 ans == SM_ASK_YES ? ": Reason=" : ": not suppressed",
                 ans == SM_ASK_YES ? reason : "");
    } else {
        shared_ttl = 0;
        ans = sessupp_fetch(in, q->subject, q->deadline_ms, qid, reason, sizeof(reason), last,
                            sizeof(last), detail, sizeof(detail));
        if (ans != SM_ASK_TEMPFAIL)
            sessupp_shared_put(s, q->subject, ans, reason, last, q->deadline_ms);
    }

    pthread_mutex_lock(&s->lock);
    if (e != NULL) {
        if (ans == SM_ASK_TEMPFAIL)
            sessupp_remove(s, e);
        else
            sessupp_store(s, e, ans == SM_ASK_YES ? SESSUPP_SUPPRESSED : SESSUPP_CLEAR, reason,
                          last, sesutil_now_ms(), shared_ttl);
    }
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
    ses_copy(attrs->origin, sizeof(attrs->origin), origin);
    ses_copy(attrs->reason, sizeof(attrs->reason), reason);
    ses_copy(attrs->last_update, sizeof(attrs->last_update), last);
    ses_copy(attrs->detail, sizeof(attrs->detail), detail);
    return ans;
}

/* whether the instance is closing */
static int
sessupp_stopping(sessupp *s)
{
    int stop;

    pthread_mutex_lock(&s->lock);
    stop = s->stop;
    pthread_mutex_unlock(&s->lock);
    return stop;
}

/* store one ListSuppressedDestinations item; 1 when stored */
static int
sessupp_put(sessupp *s, json_t *item)
{
    const char *addr = sessupp_jstr(item, "EmailAddress"), *why = sessupp_jstr(item, "Reason");
    sessupp_entry *e;
    uint64_t now = sesutil_now_ms();
    int ok = 0;

    if (addr == NULL || why == NULL || *addr == '\0' || strlen(addr) > 320)
        return 0;
    pthread_mutex_lock(&s->lock);
    e = sessupp_find(s, addr);
    if (e == NULL)
        e = sessupp_insert(s, addr, now);
    if (e != NULL) {
        char t[40];
        sessupp_store(s, e, SESSUPP_SUPPRESSED, why,
                      sessupp_jtime(item, "LastUpdateTime", t, sizeof(t)), now, 0);
        ok = 1;
    }
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
    return ok;
}

/* one page; the next token (allocated), "" at the end, NULL on failure */
static char *
sessupp_page(sessupp *s, const char *token, size_t *count, int *full)
{
    ses_instance *in = s->in;
    sesutil_buf q = {0};
    sesapi_result r;
    json_t *root, *items, *next;
    char *ret;

    /* NextToken sorts before PageSize: the canonical query is sorted, the wire one need not be */
    sesutil_buf_printf(&q, "PageSize=%d", SESSUPP_PAGE);
    if (token != NULL && *token != '\0') {
        sesutil_buf_puts(&q, "&NextToken=");
        sesutil_uri_encode(&q, token, strlen(token), 0);
    }
    sesapi_call(&in->api, "/v2/email/suppression/addresses", q.data,
                sesutil_now_ms() + (uint64_t)in->set.timeout_ms + 2000u, &r);
    sesutil_buf_reset(&q);
    if (r.status != SESAPI_OK) {
        ses_log_failure(in, &r, "ListSuppressedDestinations", "ses:ListSuppressedDestinations",
                        NULL);
        sesapi_result_clear(&r);
        return NULL;
    }
    root = json_loads(r.body, 0, NULL);
    sesapi_result_clear(&r);
    if (!json_is_object(root)) {
        ses_log(in, LOG_ERR, NULL, "SES ListSuppressedDestinations: malformed JSON answer");
        json_decref(root);
        return NULL;
    }
    items = json_object_get(root, "SuppressedDestinationSummaries");
    for (size_t i = 0; json_is_array(items) && i < json_array_size(items); i++) {
        int ok = sessupp_put(s, json_array_get(items, i));
        *count += (size_t)ok;
        *full |= !ok && json_is_string(json_object_get(json_array_get(items, i), "EmailAddress"));
    }
    next = json_object_get(root, "NextToken");
    ret = sesutil_strdup(json_is_string(next) ? json_string_value(next) : "");
    json_decref(root);
    return ret;
}

/* the whole list; 0 when walked to its end with every entry stored */
static int
sessupp_walk(sessupp *s)
{
    char *token = sesutil_strdup("");
    size_t count = 0, pages = 0;
    int full = 0;
    uint64_t start = sesutil_now_ms();

    do {
        char *next = sessupp_page(s, token, &count, &full);
        free(token);
        if (next == NULL) {
            ses_log(s->in, LOG_WARNING, NULL,
                    "suppression warm-up stopped after %zu page(s), %zu addresses", pages, count);
            return -1;
        }
        token = next;
        pages++;
    } while (*token != '\0' && pages < SESSUPP_MAX_PAGES && !sessupp_stopping(s));
    free(token);
    ses_log(s->in, LOG_INFO, NULL,
            "suppression warm-up: %zu addresses from ListSuppressedDestinations (%zu page(s))%s",
            count, pages, full ? "; table full, absent addresses are still asked about" : "");
    if (!full) {
        pthread_mutex_lock(&s->lock);
        s->walked_ms = start; /* what was suppressed before the walk started is in the table */
        pthread_mutex_unlock(&s->lock);
    }
    return 0;
}

/* sleep until 'until' (CLOCK_MONOTONIC ms) unless stopped */
static void
sessupp_sleep_until(sessupp *s, uint64_t until)
{
    pthread_mutex_lock(&s->lock);
    while (!s->stop && sesutil_now_ms() < until)
        sessupp_wait(s, until);
    pthread_mutex_unlock(&s->lock);
}

static void *
sessupp_thread(void *arg)
{
    sessupp *s = arg;
    uint64_t interval_ms = (uint64_t)s->in->set.suppression_warmup_interval * 1000u, walked;

    pthread_mutex_lock(&s->lock);
    walked = s->walked_ms;
    pthread_mutex_unlock(&s->lock);
    if (walked != 0 && walked + interval_ms > sesutil_now_ms()) {
        ses_log(s->in, LOG_INFO, NULL,
                "suppression warm-up: took over the running instance's table; next walk in %llu s",
                (unsigned long long)((walked + interval_ms - sesutil_now_ms() + 999) / 1000));
        sessupp_sleep_until(s, walked + interval_ms);
    }
    while (!sessupp_stopping(s)) {
        uint64_t pause = sessupp_walk(s) == 0 ? interval_ms : 30000u;
        sessupp_sleep_until(s, sesutil_now_ms() + pause);
    }
    return NULL;
}

static int
sessupp_streq(const char *a, const char *b)
{
    return strcmp(a != NULL ? a : "", b != NULL ? b : "") == 0;
}

/* sessupp_same - o is a predecessor of s: the same list, kept the same way */
static int
sessupp_same(const sessupp *s, const sessupp *o)
{
    const ses_instance *a = s->in, *b = o->in;

    return sessupp_streq(a->name, b->name) && sessupp_streq(a->api.endpoint, b->api.endpoint) &&
           sessupp_streq(a->set.region, b->set.region) &&
           sessupp_streq(creds_source_name(a->creds), creds_source_name(b->creds)) &&
           sessupp_streq(a->set.profile, b->set.profile) &&
           a->set.suppressed_ttl == b->set.suppressed_ttl &&
           a->set.not_suppressed_ttl == b->set.not_suppressed_ttl &&
           a->set.suppression_warmup_interval == b->set.suppression_warmup_interval &&
           a->set.suppression_max_entries == b->set.suppression_max_entries;
}

/* sessupp_adopt - take over a running predecessor's answers, then join the running list */
static void
sessupp_adopt(sessupp *s)
{
    pthread_mutex_lock(&sessupp_reg_lock);
    for (sessupp *o = sessupp_running; o != NULL; o = o->next_running) {
        if (o == s || !sessupp_same(s, o))
            continue;
        pthread_mutex_lock(&o->lock);
        pthread_mutex_lock(&s->lock);
        for (size_t b = 0; b < SESSUPP_BUCKETS; b++) {
            sessupp_entry **pp = &o->bucket[b];
            while (*pp != NULL) {
                sessupp_entry *e = *pp;
                if (e->state == SESSUPP_INFLIGHT) { /* its asker still owns it */
                    pp = &e->next;
                    continue;
                }
                *pp = e->next;
                o->n--;
                e->next = s->bucket[b]; /* same hash, same bucket */
                s->bucket[b] = e;
                s->n++;
            }
        }
        s->walked_ms = o->walked_ms;
        pthread_mutex_unlock(&s->lock);
        pthread_mutex_unlock(&o->lock);
        break;
    }
    s->next_running = sessupp_running;
    sessupp_running = s;
    pthread_mutex_unlock(&sessupp_reg_lock);
}

/* sessupp_leave - off the running list */
static void
sessupp_leave(sessupp *s)
{
    pthread_mutex_lock(&sessupp_reg_lock);
    for (sessupp **pp = &sessupp_running; *pp != NULL; pp = &(*pp)->next_running)
        if (*pp == s) {
            *pp = s->next_running;
            break;
        }
    pthread_mutex_unlock(&sessupp_reg_lock);
}

/* sessupp_start - the warm-up thread */
int
sessupp_start(sessupp *s, char *err, size_t errlen)
{
    if (s == NULL || s->started)
        return 0;
    s->started = 1;
    sessupp_adopt(s);
    if (s->in->set.suppression_warmup_interval == 0)
        return 0;
    if (pthread_create(&s->thread, NULL, sessupp_thread, s) != 0)
        return sesutil_errf(err, errlen, "ses: cannot start the suppression warm-up thread");
    s->running = 1;
    return 0;
}

/* sessupp_free - stop, join, free */
sessupp *
sessupp_free(sessupp *s)
{
    if (s == NULL)
        return NULL;
    if (s->started)
        sessupp_leave(s);
    if (s->running) {
        pthread_mutex_lock(&s->lock);
        s->stop = 1;
        pthread_cond_broadcast(&s->cond);
        pthread_mutex_unlock(&s->lock);
        pthread_join(s->thread, NULL);
    }
    for (size_t b = 0; b < SESSUPP_BUCKETS; b++)
        while (s->bucket[b] != NULL) {
            sessupp_entry *e = s->bucket[b];
            s->bucket[b] = e->next;
            free(e);
        }
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->lock);
    free(s);
    return NULL;
}
