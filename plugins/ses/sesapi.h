/*
 * sesapi.h - one signed SESv2 API call and what its answer means
 *
 * sesapi_call() takes credentials, waits for the client-side rate limit,
 * signs with our SigV4 (service "ses") and sends the request.  The answer
 * is classified (found, not found, throttled, denied, bad credentials,
 * clock skew, server error, unreachable ...) and sesapi_explain() turns a
 * failure into one clear log line naming the API's IAM permission, the
 * endpoint URL or the clock, as the case may be.  Each call is reported to
 * the host's metrics (sesapi.report) under its SESv2 operation name.
 */
#ifndef SES_SESAPI_H
#define SES_SESAPI_H

#include <stddef.h>
#include <stdint.h>

#include <ses-milter/plugin.h>

#include "creds.h"
#include "http.h"
#include "throttle.h"

typedef enum sesapi_status {
    SESAPI_OK = 0,        /* 2xx with a body */
    SESAPI_NOT_FOUND,     /* 404 NotFoundException */
    SESAPI_THROTTLED,     /* 429, ThrottlingException, TooManyRequestsException */
    SESAPI_RATE_LIMITED,  /* our own rate limit: no slot before the deadline */
    SESAPI_NO_CREDS,      /* no valid credentials now */
    SESAPI_UNREACHABLE,   /* transport failure or timeout */
    SESAPI_SERVER,        /* 5xx */
    SESAPI_DENIED,        /* 403 AccessDenied: missing IAM permission */
    SESAPI_BAD_CREDS,     /* InvalidClientTokenId, SignatureDoesNotMatch, ... */
    SESAPI_EXPIRED_TOKEN, /* ExpiredTokenException */
    SESAPI_CLOCK_SKEW,    /* RequestExpired, RequestTimeTooSkewed */
    SESAPI_CLIENT,        /* any other 4xx */
    SESAPI_STATUS_MAX
} sesapi_status;

typedef struct sesapi {
    char *endpoint; /* "https://email.REGION.amazonaws.com", no trailing slash */
    char *host;     /* Host header value */
    char *region;
    int allow_http;
    unsigned reserve_ms;  /* time a request needs after its rate-limit slot */
    http_client *http;    /* not owned */
    creds *creds;         /* not owned */
    throttle *thr;        /* not owned (may be shared by instances: budget.c) */
    throttle_fleet fleet; /* this instance's share of the fleet's budget; fn NULL: none */
    /* the host's metrics (sm_plugin_host.metric, ABI 1.2); NULL: not reported */
    void (*report)(void *arg, sm_metric_event event, const char *operation);
    void *report_arg;
} sesapi;

typedef struct sesapi_result {
    sesapi_status status;
    long http_status;
    char *body;       /* answer body (2xx) or NULL */
    char *code;       /* AWS error code or NULL */
    char *message;    /* AWS error message or NULL */
    char detail[256]; /* transport or credential reason */
    unsigned backoff_ms;
} sesapi_result;

/* sesapi_init - endpoint must be absolute; -1 with err when malformed */
int sesapi_init(sesapi *a, const char *endpoint, const char *region, int allow_http, char *err,
                size_t errlen);
/* sesapi_clear - free what sesapi_init allocated */
void sesapi_clear(sesapi *a);
/* sesapi_call - GET path?query (both already encoded) by the deadline */
void sesapi_call(sesapi *a, const char *path, const char *query, uint64_t deadline_ms,
                 sesapi_result *r);
/* sesapi_post - POST path with a JSON body by the deadline (same rate limit and signing) */
void sesapi_post(sesapi *a, const char *path, const char *json_body, uint64_t deadline_ms,
                 sesapi_result *r);
/* sesapi_result_clear - free the result's strings */
void sesapi_result_clear(sesapi_result *r);
/* sesapi_explain - a log line for a failed call of api needing IAM action 'permission' */
void sesapi_explain(const sesapi *a, const sesapi_result *r, const char *api,
                    const char *permission, char *out, size_t outlen);
/* sesapi_status_name - short name for details */
const char *sesapi_status_name(sesapi_status s);

#endif
