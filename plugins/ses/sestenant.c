/*
 * sestenant.c - SES tenants: is an identity one of a tenant's resources?
 *
 * Purpose: answer SM_ASK_TENANT_IDENTITY (plugin ABI 1.2) for the host's
 * tenant rules.  ListTenantResources (POST /v2/email/tenants/resources/list,
 * Filter RESOURCE_TYPE = EMAIL_IDENTITY, paged) gives the tenant's identity
 * ARNs "arn:PARTITION:ses:REGION:ACCOUNT:identity/NAME"; the identity is
 * the tenant's when NAME equals it (domain case-insensitive, local part
 * exact, as SES compares identities).  404 NotFoundException: the tenant
 * does not exist (NO).  The whole list of a tenant is kept tenant_ttl
 * seconds, one walk per tenant in flight (others wait for it or their
 * deadline); at most SESTENANT_MAX tenants are kept.  Calls share the
 * instance's rate limit.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "ses.h"
#include "sestenant.h"

#define SESTENANT_MAX 1000
#define SESTENANT_MAX_PAGES 1000

typedef struct sestenant_entry {
    struct sestenant_entry *next;
    char *tenant;
    int inflight, exists;
    uint64_t expires_ms;
    char **ids; /* identity names of its EMAIL_IDENTITY resources */
    size_t n_ids;
} sestenant_entry;

struct sestenant {
    ses_instance *in; /* not owned */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    sestenant_entry *head;
    size_t n;
};

/* sestenant_new - an empty table */
sestenant *
sestenant_new(ses_instance *in)
{
    sestenant *t = sesutil_calloc(1, sizeof(*t));
    pthread_condattr_t ca;

    t->in = in;
    pthread_mutex_init(&t->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&t->cond, &ca);
    pthread_condattr_destroy(&ca);
    return t;
}

static void
sestenant_entry_clear_ids(sestenant_entry *e)
{
    for (size_t i = 0; i < e->n_ids; i++)
        free(e->ids[i]);
    free(e->ids);
    e->ids = NULL;
    e->n_ids = 0;
}

/* sestenant_free - returns NULL */
sestenant *
sestenant_free(sestenant *t)
{
    if (t == NULL)
        return NULL;
    while (t->head != NULL) {
        sestenant_entry *e = t->head;
        t->head = e->next;
        sestenant_entry_clear_ids(e);
        free(e->tenant);
        free(e);
    }
    pthread_cond_destroy(&t->cond);
    pthread_mutex_destroy(&t->lock);
    free(t);
    return NULL;
}

/* sestenant_same_identity - SES's comparison: domain case-insensitive, local part exact */
static int
sestenant_same_identity(const char *a, const char *b)
{
    const char *aa = strrchr(a, '@'), *ba = strrchr(b, '@');

    if ((aa == NULL) != (ba == NULL))
        return 0;
    if (aa == NULL)
        return strcasecmp(a, b) == 0;
    return aa - a == ba - b && strncmp(a, b, (size_t)(aa - a)) == 0 && strcasecmp(aa, ba) == 0;
}

/* one page of ListTenantResources into e (outside the lock: e is in flight, ours) */
static char *
sestenant_page(ses_instance *in, sestenant_entry *e, const char *token, uint64_t deadline_ms,
               sesapi_status *st, char *detail, size_t dlen)
{
    json_t *req = json_pack("{s:s,s:{s:s},s:i}", "TenantName", e->tenant, "Filter", "RESOURCE_TYPE",
                            "EMAIL_IDENTITY", "PageSize", 100);
    json_t *root, *items, *next;
    char *body, *ret;
    sesapi_result r;

    if (token != NULL && *token != '\0')
        json_object_set_new(req, "NextToken", json_string(token));
    body = json_dumps(req, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(req);
    sesapi_post(&in->api, "/v2/email/tenants/resources/list", body, deadline_ms, &r);
    free(body);
    *st = r.status;
    if (r.status != SESAPI_OK) {
        snprintf(detail, dlen, "ListTenantResources: %s%s%.64s", sesapi_status_name(r.status),
                 r.code ? " " : "", r.code ? r.code : "");
        if (r.status != SESAPI_NOT_FOUND)
            ses_log_failure(in, &r, "ListTenantResources", "ses:ListTenantResources", NULL);
        sesapi_result_clear(&r);
        return NULL;
    }
    root = json_loads(r.body, 0, NULL);
    sesapi_result_clear(&r);
    items = json_object_get(root, "TenantResources");
    if (!json_is_object(root) || (items != NULL && !json_is_array(items))) {
        snprintf(detail, dlen, "ListTenantResources: malformed answer");
        *st = SESAPI_SERVER;
        json_decref(root);
        return NULL;
    }
    for (size_t i = 0; json_is_array(items) && i < json_array_size(items); i++) {
        json_t *arn = json_object_get(json_array_get(items, i), "ResourceArn");
        const char *s = json_is_string(arn) ? json_string_value(arn) : "", *id;
        if ((id = strstr(s, ":identity/")) == NULL || id[10] == '\0')
            continue;
        e->ids = sesutil_realloc(e->ids, (e->n_ids + 1) * sizeof(*e->ids));
        e->ids[e->n_ids++] = sesutil_strdup(id + 10);
    }
    next = json_object_get(root, "NextToken");
    ret = sesutil_strdup(json_is_string(next) ? json_string_value(next) : "");
    json_decref(root);
    return ret;
}

/* the whole list of e's tenant; SESAPI_OK, SESAPI_NOT_FOUND, or the failure */
static sesapi_status
sestenant_walk(ses_instance *in, sestenant_entry *e, uint64_t deadline_ms, char *detail,
               size_t dlen)
{
    char *token = sesutil_strdup("");
    sesapi_status st = SESAPI_OK;
    size_t pages = 0;

    sestenant_entry_clear_ids(e);
    do {
        char *next = sestenant_page(in, e, token, deadline_ms, &st, detail, dlen);
        free(token);
        if (next == NULL)
            return st;
        token = next;
    } while (*token != '\0' && ++pages < SESTENANT_MAX_PAGES);
    free(token);
    return SESAPI_OK;
}

/* the answer from a ready entry */
static sm_ask_answer
sestenant_answer(const sestenant_entry *e, const char *identity, const char *origin,
                 sm_ask_attrs *a)
{
    ses_copy(a->origin, sizeof(a->origin), origin);
    if (!e->exists) {
        snprintf(a->detail, sizeof(a->detail), "tenant %.64s does not exist", e->tenant);
        return SM_ASK_NO;
    }
    for (size_t i = 0; i < e->n_ids; i++)
        if (sestenant_same_identity(e->ids[i], identity)) {
            snprintf(a->detail, sizeof(a->detail), "identity %.128s is a resource of tenant %.64s",
                     e->ids[i], e->tenant);
            return SM_ASK_YES;
        }
    snprintf(a->detail, sizeof(a->detail),
             "identity %.128s is not among the %zu identities of tenant %.64s", identity, e->n_ids,
             e->tenant);
    return SM_ASK_NO;
}

static sestenant_entry *
sestenant_find(sestenant *t, const char *tenant)
{
    for (sestenant_entry *e = t->head; e != NULL; e = e->next)
        if (strcmp(e->tenant, tenant) == 0)
            return e;
    return NULL;
}

/* sestenant_check - SM_ASK_TENANT_IDENTITY */
sm_ask_answer
sestenant_check(ses_instance *in, const sm_ask_query *q, sm_ask_attrs *a)
{
    sestenant *t = in->tenants;
    sestenant_entry *e;
    sm_ask_answer ans;
    sesapi_status st;
    char detail[256] = "";
    uint64_t now = sesutil_now_ms();

    if (t == NULL) {
        ses_copy(a->detail, sizeof(a->detail), "tenants not enabled");
        return SM_ASK_UNKNOWN;
    }
    if (q->tenant == NULL || *q->tenant == '\0' || q->subject == NULL || *q->subject == '\0') {
        ses_copy(a->detail, sizeof(a->detail), "malformed tenant question");
        return SM_ASK_NO;
    }
    pthread_mutex_lock(&t->lock);
    for (;;) {
        e = sestenant_find(t, q->tenant);
        if (e != NULL && !e->inflight && e->expires_ms > now) {
            ans = sestenant_answer(e, q->subject, "hit", a);
            pthread_mutex_unlock(&t->lock);
            return ans;
        }
        if (e == NULL || !e->inflight)
            break;
        if (now >= q->deadline_ms) {
            pthread_mutex_unlock(&t->lock);
            ses_copy(a->detail, sizeof(a->detail), "deadline passed waiting for the same walk");
            return SM_ASK_TEMPFAIL;
        }
        {
            struct timespec ts = {(time_t)(q->deadline_ms / 1000),
                                  (long)(q->deadline_ms % 1000) * 1000000L};
            pthread_cond_timedwait(&t->cond, &t->lock, &ts);
        }
        now = sesutil_now_ms();
    }
    if (e == NULL) {
        if (t->n >= SESTENANT_MAX) {
            pthread_mutex_unlock(&t->lock);
            ses_copy(a->detail, sizeof(a->detail), "too many tenants asked about");
            return SM_ASK_TEMPFAIL;
        }
        e = sesutil_calloc(1, sizeof(*e));
        e->tenant = sesutil_strdup(q->tenant);
        e->next = t->head;
        t->head = e;
        t->n++;
    }
    e->inflight = 1;
    pthread_mutex_unlock(&t->lock);

    st = sestenant_walk(in, e, q->deadline_ms, detail, sizeof(detail));

    pthread_mutex_lock(&t->lock);
    e->inflight = 0;
    if (st == SESAPI_OK || st == SESAPI_NOT_FOUND) {
        e->exists = st == SESAPI_OK;
        e->expires_ms = sesutil_now_ms() + 1000u * (uint64_t)in->set.tenant_ttl;
        ans = sestenant_answer(e, q->subject, "miss", a);
    } else {
        e->expires_ms = 0;
        ses_copy(a->origin, sizeof(a->origin), "miss");
        ses_copy(a->detail, sizeof(a->detail), detail);
        ans = SM_ASK_TEMPFAIL;
    }
    pthread_cond_broadcast(&t->cond);
    pthread_mutex_unlock(&t->lock);
    return ans;
}
