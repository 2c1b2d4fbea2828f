/*
 * http.h - libcurl transport for the SES plugin
 *
 * A client keeps a pool of curl easy handles so that connections (and TLS
 * sessions) are reused across lookup threads.  Peer and host verification
 * are always on; the CA bundle is configurable.  Every request is bounded
 * by an absolute CLOCK_MONOTONIC deadline as well as the configured connect
 * and total timeouts.  Plain http:// is refused unless the request allows
 * it.  AWS JSON errors are decoded as SES.md describes (x-amzn-ErrorType,
 * else body code/Code/__type; message/Message).
 */
#ifndef SES_HTTP_H
#define SES_HTTP_H

#include <stddef.h>
#include <stdint.h>

typedef struct http_client http_client;

typedef struct http_opts {
    const char *ca_file;     /* NULL: system bundle */
    long connect_timeout_ms; /* upper bound on connecting */
    long timeout_ms;         /* upper bound on one request */
} http_opts;

typedef struct http_req {
    const char *method;         /* GET, PUT, POST */
    const char *url;            /* absolute */
    const char *const *headers; /* "Name: value" lines, NULL-terminated; may be NULL */
    const void *body;
    size_t body_len;
    uint64_t deadline_ms; /* absolute CLOCK_MONOTONIC */
    int allow_http;       /* 1: http:// permitted */
} http_req;

typedef struct http_response {
    long status;   /* HTTP status; 0 when no answer arrived */
    int timed_out; /* 1: connect or total timeout, or deadline */
    char *body;    /* NUL-terminated, never NULL after http_request */
    size_t body_len;
    char *error_code;    /* AWS error code or NULL */
    char *error_message; /* AWS error message (credentials redacted) or NULL */
    char transport[256]; /* transport error text when status is 0 */
} http_response;

/* http_client_new - a client; NULL with err when libcurl cannot start */
http_client *http_client_new(const http_opts *opts, char *err, size_t errlen);
/* http_client_free - close pooled connections; returns NULL */
http_client *http_client_free(http_client *c);
/* http_request - perform one request; 0 when an HTTP answer arrived, -1 otherwise (see r) */
int http_request(http_client *c, const http_req *req, http_response *r);
/* http_response_clear - free the response's buffers */
void http_response_clear(http_response *r);
/* http_parse_aws_error - fill error_code/message from the error header value and JSON body */
void http_parse_aws_error(const char *error_type_header, const char *body, http_response *r);
/* http_url_host - "host[:port]" of an absolute URL (allocated) or NULL if malformed */
char *http_url_host(const char *url);

#endif
