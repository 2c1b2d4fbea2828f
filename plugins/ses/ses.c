/*
 * ses.c - the SES identity plugin: configuration, lookup, lifecycle
 *
 * Purpose: answer "may this identity send?" from Amazon SES v2.
 * GetEmailIdentity's VerifiedForSendingStatus true = VERIFIED, false =
 * NOT_VERIFIED, 404 NotFoundException = UNKNOWN (the host asks about the
 * next candidate), anything that prevents an answer (throttling, 5xx,
 * timeouts, credentials) = TEMPFAIL.  Each lookup is bounded by the host's
 * deadline; the client-side rate limit is shared by all threads of the
 * instance.  The plugin links neither libsmcore nor the daemon: it only
 * includes <ses-milter/plugin.h>.
 *
 * Security: secrets and session tokens are never logged (every line goes
 * through redact_text(), since AWS answers may echo them); TLS verification
 * cannot be disabled; http:// needs insecure_http = true.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <jansson.h>

#include "budget.h"
#include "redact.h"
#include "ses.h"
#include "sessupp.h"
#include "sestenant.h"

#define SES_LOG_EVERY_MS 60000u

/* ses_log - format, redact (redact.h) and hand to the host */
void
ses_log(ses_instance *in, int level, const char *qid, const char *fmt, ...)
{
    char line[1024], *safe;
    va_list ap;

    if (in->host.log == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    /* every line the plugin logs passes here: whatever an answer echoed, no credential */
    safe = redact_text(line);
    in->host.log(in->host.ctx, level, qid, "ses[%s]: %s", in->name, safe);
    free(safe);
}

/* ses_log_failure - a repeated line (same kind, same text) at most once a minute */
void
ses_log_failure(ses_instance *in, const sesapi_result *r, const char *api, const char *permission,
                const char *qid)
{
    char line[768];
    uint64_t now = sesutil_now_ms();
    int level =
        r->status == SESAPI_RATE_LIMITED || r->status == SESAPI_THROTTLED ? LOG_WARNING : LOG_ERR;
    char *last = in->last_log[r->status];

    sesapi_explain(&in->api, r, api, permission, line, sizeof(line));
    pthread_mutex_lock(&in->lock);
    if (in->last_log_ms[r->status] != 0 && now - in->last_log_ms[r->status] < SES_LOG_EVERY_MS &&
        strncmp(last, line, sizeof(in->last_log[0]) - 1) == 0) {
        pthread_mutex_unlock(&in->lock);
        return;
    }
    in->last_log_ms[r->status] = now;
    sesutil_strlcpy(last, line, sizeof(in->last_log[0]));
    pthread_mutex_unlock(&in->lock);
    ses_log(in, level, qid, "%s", line);
}

/* ses_copy - bounded copy, printable ASCII only */
void
ses_copy(char *dst, size_t size, const char *src)
{
    size_t i;

    if (size == 0)
        return;
    for (i = 0; src != NULL && src[i] != '\0' && i + 1 < size; i++)
        dst[i] = (unsigned char)src[i] < 0x20 || (unsigned char)src[i] >= 0x7f ? '?' : src[i];
    dst[i] = '\0';
}

static const char *
ses_default_endpoint(void)
{
    const char *e = getenv("AWS_ENDPOINT_URL_SESV2");

    if (e == NULL || *e == '\0')
        e = getenv("AWS_ENDPOINT_URL");
    return e != NULL && *e != '\0' ? e : NULL;
}

static void ses_creds_log(void *arg, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
ses_creds_log(void *arg, int level, const char *fmt, ...)
{
    ses_instance *in = arg;
    char line[768];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    ses_log(in, level, NULL, "%s", line);
}

static void ses_free(ses_instance *in);

/* build the runtime objects from the settings */
static int
ses_build(ses_instance *in, char *err, size_t errlen)
{
    ses_settings *s = &in->set;
    http_opts ho = {s->ca_file, s->connect_timeout_ms, s->timeout_ms};
    creds_opts co;
    char where[256], *ep;
    const char *env_ep = ses_default_endpoint();
    int rc;

    if ((in->http = http_client_new(&ho, err, errlen)) == NULL)
        return -1;
    ep = s->endpoint != NULL ? sesutil_strdup(s->endpoint)
         : env_ep != NULL    ? sesutil_strdup(env_ep)
                             : sesutil_asprintf("https://email.%s.amazonaws.com", s->region);
    rc = sesapi_init(&in->api, ep, s->region, s->insecure_http, err, errlen);
    free(ep);
    if (rc < 0) {
        char tmp[512];
        snprintf(tmp, sizeof(tmp), "%s", err);
        return sesutil_errf(err, errlen, "%s: ses: %s",
                            in->host.conf_where(in->host.ctx, "endpoint", where, sizeof(where)),
                            tmp);
    }
    memset(&co, 0, sizeof(co));
    co.source = s->credentials_source;
    co.profile = s->profile;
    co.sts_endpoint = s->sts_endpoint;
    co.refresh_margin_s = (unsigned)s->refresh_margin;
    co.retry_s = s->refresh_margin < 30 ? 1 : 30;
    co.allow_http = s->insecure_http;
    co.http = in->http;
    co.log = ses_creds_log;
    co.log_arg = in;
    /* ABI 1.1: credential files opened by the host (as root, or served on a reload) */
    co.open_file = in->host.open_file;
    co.open_arg = in->host.ctx;
    if ((in->creds = creds_new(&co, err, errlen)) == NULL)
        return -1;
    {
        /* one budget per account: by default, instances reaching it the same way at the same
         * rate share it; an api_budget name shares it whatever the rates (the first one's) */
        char *key = s->api_budget != NULL
                        ? sesutil_asprintf("name:%s", s->api_budget)
                        : sesutil_asprintf("%s|%s|%s|%s|%ld|%ld", in->api.endpoint, s->region,
                                           s->credentials_source ? s->credentials_source : "",
                                           s->profile ? s->profile : "", s->rate, s->burst);
        int differs;
        in->thr = budget_get(key, (double)s->rate, (unsigned)s->burst, &differs);
        free(key);
        if (differs)
            ses_log(in, LOG_WARNING, NULL,
                    "rate %ld/s burst %ld ignored: the API budget shared with another instance "
                    "keeps the rate it was made with",
                    s->rate, s->burst);
    }
    /* ABI 1.2: the fleet's hosts share one budget per instance name through the host; the
     * instance's own (the throttle may be shared with others, and outlive a reload) */
    if (in->host.budget_take != NULL)
        in->api.fleet = (throttle_fleet){in->host.budget_take, in->host.ctx, in->name,
                                         (unsigned)(s->rate > 0 ? s->rate : 1)};
    in->api.http = in->http;
    in->api.creds = in->creds;
    in->api.thr = in->thr;
    if (s->suppression)
        in->supp = sessupp_new(in);
    if (s->tenants)
        in->tenants = sestenant_new(in);
    in->api.report = in->host.metric; /* ABI 1.2; NULL from an older host */
    in->api.report_arg = in->host.ctx;
    return 0;
}

/* plugin init: read the block, resolve credentials; no threads yet */
static int
ses_init(const sm_plugin_host *host, void **instance_r, char *err, size_t errlen)
{
    ses_instance *in;

    *instance_r = NULL;
    if (host == NULL || host->abi_version != SM_PLUGIN_ABI_VERSION ||
        host->size < sizeof(sm_plugin_host) || host->conf_check == NULL ||
        host->conf_string == NULL || host->conf_int == NULL || host->conf_bool == NULL ||
        host->conf_where == NULL)
        return sesutil_errf(err, errlen, "ses: host ABI mismatch");
    in = sesutil_calloc(1, sizeof(*in));
    in->host = *host;
    in->name = sesutil_strdup(host->instance_name != NULL ? host->instance_name : "ses");
    pthread_mutex_init(&in->lock, NULL);
    pthread_cond_init(&in->cond, NULL);
    if (sesconf_read(&in->host, &in->set, err, errlen) < 0 || ses_build(in, err, errlen) < 0) {
        ses_free(in);
        return -1;
    }
    *instance_r = in;
    return 0;
}

/* plugin start: credential refresh and warm-up threads */
static int
ses_start(void *instance, char *err, size_t errlen)
{
    ses_instance *in = instance;

    if (creds_start(in->creds, err, errlen) < 0)
        return -1;
    ses_log(in, LOG_INFO, NULL,
            "endpoint %s, region %s, credentials from %s, rate %ld/s burst %ld "
            "(API budget shared by %u instance(s))",
            in->api.endpoint, in->set.region, creds_source_name(in->creds), in->set.rate,
            in->set.burst, budget_users(in->thr));
    if (seswarm_start(in, err, errlen) < 0)
        return -1;
    return sessupp_start(in->supp, err, errlen);
}

static const char *
ses_jstr(json_t *o, const char *name)
{
    json_t *v = json_object_get(o, name);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static sm_id_type
ses_idtype(const char *s)
{
    if (s == NULL)
        return SM_IDTYPE_NONE;
    if (strcmp(s, "EMAIL_ADDRESS") == 0)
        return SM_IDTYPE_EMAIL_ADDRESS;
    if (strcmp(s, "DOMAIN") == 0)
        return SM_IDTYPE_DOMAIN;
    if (strcmp(s, "MANAGED_DOMAIN") == 0)
        return SM_IDTYPE_MANAGED_DOMAIN;
    return SM_IDTYPE_NONE;
}

/* GetEmailIdentity's answer into attrs; missing and null fields are tolerated */
static sm_id_answer
ses_parse_identity(ses_instance *in, const char *body, const char *identity, sm_id_attrs *at)
{
    json_t *root = json_loads(body, 0, NULL), *v, *dkim, *mf;
    const char *vs;
    sm_id_answer ans;

    if (!json_is_object(root)) {
        json_decref(root);
        ses_copy(at->detail, sizeof(at->detail), "GetEmailIdentity: malformed JSON answer");
        return SM_ID_TEMPFAIL;
    }
    v = json_object_get(root, "VerifiedForSendingStatus");
    vs = ses_jstr(root, "VerificationStatus");
    if (json_is_boolean(v))
        ans = json_is_true(v) ? SM_ID_VERIFIED : SM_ID_NOT_VERIFIED;
    else
        ans = vs != NULL && strcmp(vs, "SUCCESS") == 0 ? SM_ID_VERIFIED : SM_ID_NOT_VERIFIED;
    at->identity_type = ses_idtype(ses_jstr(root, "IdentityType"));
    sesutil_strlcpy(at->identity, identity, sizeof(at->identity)); /* the host's own text */
    dkim = json_object_get(root, "DkimAttributes");
    if (json_is_object(dkim)) {
        v = json_object_get(dkim, "SigningEnabled");
        at->dkim_signing_enabled = json_is_boolean(v) ? json_is_true(v) : SM_TRI_UNKNOWN;
        ses_copy(at->dkim_status, sizeof(at->dkim_status), ses_jstr(dkim, "Status"));
        ses_copy(at->dkim_origin, sizeof(at->dkim_origin),
                 ses_jstr(dkim, "SigningAttributesOrigin"));
    }
    mf = json_object_get(root, "MailFromAttributes");
    if (json_is_object(mf)) {
        ses_copy(at->mail_from_domain, sizeof(at->mail_from_domain),
                 ses_jstr(mf, "MailFromDomain"));
        ses_copy(at->mail_from_status, sizeof(at->mail_from_status),
                 ses_jstr(mf, "MailFromDomainStatus"));
        ses_copy(at->mail_from_behavior, sizeof(at->mail_from_behavior),
                 ses_jstr(mf, "BehaviorOnMxFailure"));
    }
    snprintf(at->detail, sizeof(at->detail),
             "GetEmailIdentity: VerifiedForSendingStatus=%s VerificationStatus=%.32s",
             json_is_boolean(json_object_get(root, "VerifiedForSendingStatus"))
                 ? (ans == SM_ID_VERIFIED ? "true" : "false")
                 : "missing",
             vs != NULL ? vs : "missing");
    ses_copy(at->detail, sizeof(at->detail), at->detail);
    at->ttl = (unsigned)(ans == SM_ID_VERIFIED ? in->set.verified_ttl : in->set.not_verified_ttl);
    json_decref(root);
    return ans;
}

/* an identity the plugin can ask about: printable, no '/', bounded */
static int
ses_identity_ok(const char *id)
{
    size_t n, i;

    if (id == NULL || (n = strlen(id)) == 0 || n > 255)
        return 0;
    for (i = 0; i < n; i++)
        if ((unsigned char)id[i] <= 0x20 || (unsigned char)id[i] == 0x7f)
            return 0;
    return 1;
}

static void
ses_attrs_reset(ses_instance *in, sm_id_attrs *at, const char *identity)
{
    size_t size = at->size;

    memset(at, 0, sizeof(*at));
    at->size = size;
    at->dkim_signing_enabled = SM_TRI_UNKNOWN;
    sesutil_strlcpy(at->identity, identity, sizeof(at->identity));
    ses_copy(at->region, sizeof(at->region), in->set.region);
}

/*
 * ses_get - GetEmailIdentity for exactly this identity into attrs; when
 * body_r is not NULL and SES answered, *body_r is the answer (the caller frees)
 */
sm_id_answer
ses_get(ses_instance *in, const sm_id_query *q, sm_id_attrs *attrs, char **body_r)
{
    sm_id_attrs scratch;
    sesapi_result r;
    sesutil_buf path = {0};
    sm_id_answer ans;
    const char *qid;

    if (body_r != NULL)
        *body_r = NULL;
    if (attrs == NULL || attrs->size < sizeof(sm_id_attrs)) {
        scratch.size = sizeof(scratch);
        attrs = &scratch;
    }
    if (q == NULL || q->size < sizeof(sm_id_query) || !ses_identity_ok(q->identity)) {
        ses_attrs_reset(in, attrs, "");
        ses_copy(attrs->detail, sizeof(attrs->detail), "ses: malformed query");
        return SM_ID_UNKNOWN;
    }
    qid = q->queue_id != NULL ? q->queue_id : "";
    ses_attrs_reset(in, attrs, q->identity);
    sesutil_buf_puts(&path, "/v2/email/identities/");
    sesutil_uri_encode(&path, q->identity, strlen(q->identity), 0);
    sesapi_call(&in->api, path.data, NULL, q->deadline_ms, &r);
    sesutil_buf_reset(&path);
    switch (r.status) {
    case SESAPI_OK:
        ans = ses_parse_identity(in, r.body, q->identity, attrs);
        if (body_r != NULL) {
            *body_r = r.body;
            r.body = NULL;
        }
        break;
    case SESAPI_NOT_FOUND:
        ses_copy(attrs->detail, sizeof(attrs->detail), "GetEmailIdentity: NotFoundException");
        ans = SM_ID_UNKNOWN;
        break;
    default:
        snprintf(attrs->detail, sizeof(attrs->detail), "GetEmailIdentity: %s%s%.64s",
                 sesapi_status_name(r.status), r.code ? " " : "", r.code ? r.code : "");
        ses_copy(attrs->detail, sizeof(attrs->detail), attrs->detail);
        ses_log_failure(in, &r, "GetEmailIdentity", "ses:GetEmailIdentity", qid);
        ans = SM_ID_TEMPFAIL;
        break;
    }
    sesapi_result_clear(&r);
    return ans;
}

/* plugin lookup: GetEmailIdentity for exactly this identity */
static sm_id_answer
ses_lookup(void *instance, const sm_id_query *q, sm_id_attrs *attrs)
{
    return ses_get(instance, q, attrs, NULL);
}

/* plugin ask (ABI 1.2): the suppression list and tenant resources */
static sm_ask_answer
ses_ask(void *instance, const sm_ask_query *q, sm_ask_attrs *attrs)
{
    ses_instance *in = instance;
    sm_ask_attrs scratch;

    if (attrs == NULL || attrs->size < sizeof(*attrs))
        attrs = &scratch;
    memset(attrs, 0, sizeof(*attrs));
    attrs->size = sizeof(*attrs);
    ses_copy(attrs->region, sizeof(attrs->region), in->set.region);
    if (q == NULL || q->size < sizeof(*q))
        return SM_ASK_UNKNOWN;
    switch (q->question) {
    case SM_ASK_SUPPRESSED:
        return sessupp_check(in, q, attrs);
    case SM_ASK_TENANT_IDENTITY:
        return sestenant_check(in, q, attrs);
    default:
        return SM_ASK_UNKNOWN;
    }
}

static void
ses_free(ses_instance *in)
{
    ses_settings *s = &in->set;

    in->supp = sessupp_free(in->supp);
    in->tenants = sestenant_free(in->tenants);
    sesapi_clear(&in->api);
    in->creds = creds_free(in->creds);
    in->thr = budget_put(in->thr);
    in->http = http_client_free(in->http);
    sesconf_clear(s);
    free(in->name);
    pthread_cond_destroy(&in->cond);
    pthread_mutex_destroy(&in->lock);
    free(in);
}

/* plugin close: stop threads, free everything */
static void
ses_close(void *instance)
{
    ses_instance *in = instance;

    if (in == NULL)
        return;
    seswarm_stop(in);
    ses_free(in);
}

/* plugin dump: effective settings for "ses-milter -n" (no secrets here) */
static void
ses_dump(void *instance, void (*out)(void *arg, const char *line), void *arg)
{
    ses_instance *in = instance;
    char line[600];

    sesconf_dump(&in->set, out, arg);
    snprintf(line, sizeof(line), "# endpoint in use: %s; credentials in use: %s", in->api.endpoint,
             creds_source_name(in->creds));
    out(arg, line);
}

/* the descriptor the host loads */
const sm_plugin ses_milter_plugin = {
    .abi_version = SM_PLUGIN_ABI_VERSION,
    .abi_minor = SM_PLUGIN_ABI_MINOR,
    .size = sizeof(sm_plugin),
    .name = "ses",
    .version = "0.1.0",
    .init = ses_init,
    .start = ses_start,
    .lookup = ses_lookup,
    .close = ses_close,
    .dump = ses_dump,
    .doctor = &ses_doctor,    /* ABI 1.2, sesdoctor.c */
    .ask = ses_ask,           /* ABI 1.2 */
    .account = sesacct_state, /* ABI 1.2 */
};
