/*
 * sesapi.c - signed SESv2 GET requests and the classification of answers
 *
 * Purpose: the one place that knows how a request to SES is made (rate
 * limit, credentials, SigV4, transport) and what an answer means.  It
 * does not log: sesapi_explain() writes the sentence its caller logs.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sesapi.h"
#include "sesutil.h"
#include "sigv4.h"

static const char *const sesapi_names[SESAPI_STATUS_MAX] = {
    "ok",          "not found",    "throttled",     "client-side rate limit", "no credentials",
    "unreachable", "server error", "access denied", "bad credentials",        "expired token",
    "clock skew",  "client error",
};

/* sesapi_status_name - human name */
const char *
sesapi_status_name(sesapi_status s)
{
    return s < SESAPI_STATUS_MAX ? sesapi_names[s] : "?";
}

/* sesapi_init - parse the endpoint */
int
sesapi_init(sesapi *a, const char *endpoint, const char *region, int allow_http, char *err,
            size_t errlen)
{
    const char *rest;

    memset(a, 0, sizeof(*a));
    if (strncasecmp(endpoint, "https://", 8) != 0 &&
        !(allow_http && strncasecmp(endpoint, "http://", 7) == 0))
        return sesutil_errf(err, errlen,
                            "endpoint \"%s\" must start with https:// (http:// "
                            "only with insecure_http = true)",
                            endpoint);
    if ((a->host = http_url_host(endpoint)) == NULL)
        return sesutil_errf(err, errlen, "endpoint \"%s\" is not an absolute URL", endpoint);
    rest = strstr(endpoint, "://") + 3 + strlen(a->host);
    if (rest[strspn(rest, "/")] != '\0') {
        a->host = sesutil_free(a->host);
        return sesutil_errf(err, errlen, "endpoint \"%s\" must be scheme://host[:port] only",
                            endpoint);
    }
    a->endpoint = sesutil_strdup(endpoint);
    while (a->endpoint[strlen(a->endpoint) - 1] == '/')
        a->endpoint[strlen(a->endpoint) - 1] = '\0';
    a->region = sesutil_strdup(region);
    a->allow_http = allow_http;
    a->reserve_ms = 50;
    return 0;
}

/* sesapi_clear - free */
void
sesapi_clear(sesapi *a)
{
    free(a->endpoint);
    free(a->host);
    free(a->region);
    memset(a, 0, sizeof(*a));
}

/* classify an HTTP answer */
static sesapi_status
sesapi_classify(long status, const char *code)
{
    static const char *const bad_creds[] = {"InvalidClientTokenId",
                                            "SignatureDoesNotMatch",
                                            "UnrecognizedClientException",
                                            "IncompleteSignature",
                                            "InvalidSignatureException",
                                            "MissingAuthenticationToken",
                                            NULL};
    size_t i;

    if (code == NULL)
        code = "";
    if (status >= 200 && status < 300)
        return SESAPI_OK;
    if (status == 429 || strcmp(code, "ThrottlingException") == 0 ||
        strcmp(code, "TooManyRequestsException") == 0 || strcmp(code, "Throttling") == 0)
        return SESAPI_THROTTLED;
    if (strcmp(code, "RequestExpired") == 0 || strcmp(code, "RequestTimeTooSkewed") == 0)
        return SESAPI_CLOCK_SKEW;
    if (strcmp(code, "ExpiredTokenException") == 0 || strcmp(code, "ExpiredToken") == 0)
        return SESAPI_EXPIRED_TOKEN;
    for (i = 0; bad_creds[i] != NULL; i++)
        if (strcmp(code, bad_creds[i]) == 0)
            return SESAPI_BAD_CREDS;
    if (status == 404 && (strcmp(code, "NotFoundException") == 0 || *code == '\0'))
        return SESAPI_NOT_FOUND;
    if (status == 403)
        return SESAPI_DENIED;
    if (status >= 500)
        return SESAPI_SERVER;
    return SESAPI_CLIENT;
}

/* sign and send; r->status set on every path */
static void
sesapi_send(sesapi *a, const creds_value *cv, const char *method, const char *path,
            const char *query, const char *body, uint64_t deadline_ms, sesapi_result *r)
{
    char date[20], err[256];
    char *hhost = sesutil_asprintf("Host: %s", a->host), *hdate, *hauth = NULL, *htok = NULL;
    char *url;
    const char *hdrs[6];
    size_t blen = body != NULL ? strlen(body) : 0;
    sigv4_header sh[3];
    sigv4_request req;
    sigv4_signature sig;
    sigv4_key key = {cv->access_key_id, cv->secret_access_key, cv->session_token};
    http_response hr;
    size_t n = 0, nh = 2;

    sigv4_amz_date(sesutil_wall_s(), date, sizeof(date));
    hdate = sesutil_asprintf("X-Amz-Date: %s", date);
    sh[0] = (sigv4_header){"Host", a->host};
    sh[1] = (sigv4_header){"X-Amz-Date", date};
    if (cv->session_token != NULL)
        sh[nh++] = (sigv4_header){"X-Amz-Security-Token", cv->session_token};
    req = (sigv4_request){method, path, query, sh, nh, body, blen};
    url = sesutil_asprintf("%s%s%s%s", a->endpoint, path, query && *query ? "?" : "",
                           query ? query : "");
    if (sigv4_sign(&req, &key, a->region, "ses", date, 1, &sig, err, sizeof(err)) < 0) {
        r->status = SESAPI_NO_CREDS;
        sesutil_strlcpy(r->detail, err, sizeof(r->detail));
        goto out;
    }
    hauth = sesutil_asprintf("Authorization: %s", sig.authorization);
    sigv4_signature_clear(&sig);
    hdrs[n++] = hhost;
    hdrs[n++] = hdate;
    hdrs[n++] = hauth;
    if (cv->session_token != NULL)
        hdrs[n++] = htok = sesutil_asprintf("X-Amz-Security-Token: %s", cv->session_token);
    if (body != NULL)
        hdrs[n++] = "Content-Type: application/json";
    hdrs[n] = NULL;
    if (http_request(a->http,
                     &(http_req){method, url, hdrs, body, blen, deadline_ms, a->allow_http},
                     &hr) < 0) {
        r->status = SESAPI_UNREACHABLE;
        snprintf(r->detail, sizeof(r->detail), "%s", hr.transport);
    } else {
        r->http_status = hr.status;
        r->status = sesapi_classify(hr.status, hr.error_code);
        r->code = hr.error_code;
        r->message = hr.error_message;
        hr.error_code = hr.error_message = NULL;
        if (r->status == SESAPI_OK) {
            r->body = hr.body;
            hr.body = NULL;
        }
    }
    http_response_clear(&hr);
out:
    sesutil_free_secret(hauth);
    sesutil_free_secret(htok);
    free(hhost);
    free(hdate);
    free(url);
}

/* sesapi_operation - the SESv2 operation of a path, for the host's metrics */
static const char *
sesapi_operation(const char *path)
{
    static const struct {
        const char *prefix;
        const char *op;
    } tab[] = {
        {"/v2/email/identities/", "GetEmailIdentity"},
        {"/v2/email/identities", "ListEmailIdentities"},
        {"/v2/email/account", "GetAccount"},
        {"/v2/email/suppression/addresses/", "GetSuppressedDestination"},
        {"/v2/email/suppression/addresses", "ListSuppressedDestinations"},
        {"/v2/email/tenants/resources/list", "ListTenantResources"},
    };

    for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
        if (strncmp(path, tab[i].prefix, strlen(tab[i].prefix)) == 0)
            return tab[i].op;
    return "other";
}

/* sesapi_report - the call's outcome to the host's metrics */
static void
sesapi_report(const sesapi *a, const char *path, const sesapi_result *r, int sent)
{
    const char *op;

    if (a->report == NULL)
        return;
    op = sesapi_operation(path);
    if (sent)
        a->report(a->report_arg, SM_METRIC_API_CALL, op);
    if (r->status == SESAPI_THROTTLED)
        a->report(a->report_arg, SM_METRIC_API_THROTTLED, op);
    else if (r->status != SESAPI_OK && r->status != SESAPI_NOT_FOUND)
        a->report(a->report_arg, SM_METRIC_API_ERROR, op);
}

/* sesapi_request - credentials, rate limit, sign, send, classify */
static void
sesapi_request(sesapi *a, const char *method, const char *path, const char *query, const char *body,
               uint64_t deadline_ms, sesapi_result *r)
{
    creds_value cv;

    memset(r, 0, sizeof(*r));
    if (creds_get(a->creds, &cv, r->detail, sizeof(r->detail)) < 0) {
        r->status = SESAPI_NO_CREDS;
        sesapi_report(a, path, r, 0);
        return;
    }
    if (throttle_acquire_fleet(a->thr, deadline_ms, a->reserve_ms, &a->fleet) < 0) {
        r->status = SESAPI_RATE_LIMITED;
        snprintf(r->detail, sizeof(r->detail), "%s",
                 throttle_backoff_until(a->thr) ? "backing off after SES throttling"
                                                : "client-side rate limit: no slot before the "
                                                  "deadline");
        creds_value_clear(&cv);
        sesapi_report(a, path, r, 0);
        return;
    }
    sesapi_send(a, &cv, method, path, query, body, deadline_ms, r);
    creds_value_clear(&cv);
    sesapi_report(a, path, r, 1);
    if (r->status == SESAPI_THROTTLED)
        r->backoff_ms = throttle_backoff(a->thr);
    else if (r->status != SESAPI_UNREACHABLE)
        throttle_success(a->thr);
}

/* sesapi_call - a GET */
void
sesapi_call(sesapi *a, const char *path, const char *query, uint64_t deadline_ms, sesapi_result *r)
{
    sesapi_request(a, "GET", path, query, NULL, deadline_ms, r);
}

/* sesapi_post - a POST with a JSON body (ListTenantResources and other list calls) */
void
sesapi_post(sesapi *a, const char *path, const char *json_body, uint64_t deadline_ms,
            sesapi_result *r)
{
    sesapi_request(a, "POST", path, NULL, json_body, deadline_ms, r);
}

/* sesapi_result_clear - free */
void
sesapi_result_clear(sesapi_result *r)
{
    free(r->body);
    free(r->code);
    free(r->message);
    memset(r, 0, sizeof(*r));
}

/* sesapi_explain - one sentence per failure class */
void
sesapi_explain(const sesapi *a, const sesapi_result *r, const char *api, const char *permission,
               char *out, size_t outlen)
{
    const char *code = r->code != NULL ? r->code : "", *msg = r->message != NULL ? r->message : "";
    const char *src = creds_source_name(a->creds);

    switch (r->status) {
    case SESAPI_DENIED:
        snprintf(out, outlen,
                 "SES %s: access denied (%s): the credentials from %s lack the IAM "
                 "permission %s (%s)",
                 api, code, src, permission, msg);
        break;
    case SESAPI_BAD_CREDS:
        snprintf(out, outlen,
                 "SES %s: AWS rejected the credentials from %s (%s): wrong access "
                 "key id or secret access key (%s)",
                 api, src, code, msg);
        break;
    case SESAPI_EXPIRED_TOKEN:
        snprintf(out, outlen, "SES %s: the session token from %s has expired (%s)", api, src, code);
        break;
    case SESAPI_CLOCK_SKEW:
        snprintf(out, outlen,
                 "SES %s: request refused as expired (%s): this host's clock is "
                 "off by more than 5 minutes; check NTP (%s)",
                 api, code, msg);
        break;
    case SESAPI_THROTTLED:
        snprintf(out, outlen,
                 "SES %s: throttled by SES (HTTP %ld %s): backing off %u ms; "
                 "lower 'rate'",
                 api, r->http_status, code, r->backoff_ms);
        break;
    case SESAPI_UNREACHABLE:
        snprintf(out, outlen, "SES %s: cannot reach the SES endpoint %s: %s", api, a->endpoint,
                 r->detail);
        break;
    case SESAPI_SERVER:
        snprintf(out, outlen, "SES %s: %s answered HTTP %ld %s", api, a->endpoint, r->http_status,
                 code);
        break;
    case SESAPI_NO_CREDS:
    case SESAPI_RATE_LIMITED:
        snprintf(out, outlen, "SES %s: %s", api, r->detail);
        break;
    default:
        snprintf(out, outlen, "SES %s: HTTP %ld %s %s", api, r->http_status, code, msg);
        break;
    }
}
