/*
 * http.c - pooled libcurl transport with deadlines and AWS error decoding
 *
 * Purpose: one HTTPS request at a time per easy handle, handles kept in a
 * mutex-protected free list so that concurrent lookups reuse connections.
 * TLS verification cannot be turned off; a CA file may be given.  The
 * transport neither logs nor retries: it reports status, body, decoded
 * AWS error and a transport error text, and its caller decides.  The
 * decoded error message is redacted (redact.h): it is meant for logs.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <jansson.h>

#include "http.h"
#include "redact.h"
#include "sesutil.h"

#define HTTP_MAX_BODY (8u << 20)

struct http_client {
    pthread_mutex_t lock;
    CURL **free_list;
    size_t nfree, cap;
    char *ca_file;
    long connect_timeout_ms, timeout_ms;
};

/* per-request receive state */
typedef struct http_rx {
    sesutil_buf body;
    char *error_type;
    int too_big;
} http_rx;

static pthread_once_t http_once = PTHREAD_ONCE_INIT;
static CURLcode http_global_rc;

static void
http_global_init(void)
{
    http_global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* http_client_new - set up the pool */
http_client *
http_client_new(const http_opts *opts, char *err, size_t errlen)
{
    http_client *c;

    pthread_once(&http_once, http_global_init);
    if (http_global_rc != CURLE_OK) {
        sesutil_errf(err, errlen, "libcurl: %s", curl_easy_strerror(http_global_rc));
        return NULL;
    }
    c = sesutil_calloc(1, sizeof(*c));
    pthread_mutex_init(&c->lock, NULL);
    c->ca_file = opts->ca_file != NULL && *opts->ca_file ? sesutil_strdup(opts->ca_file) : NULL;
    c->connect_timeout_ms = opts->connect_timeout_ms > 0 ? opts->connect_timeout_ms : 1000;
    c->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : 3000;
    return c;
}

/* http_client_free - close every pooled handle */
http_client *
http_client_free(http_client *c)
{
    size_t i;

    if (c == NULL)
        return NULL;
    for (i = 0; i < c->nfree; i++)
        curl_easy_cleanup(c->free_list[i]);
    free(c->free_list);
    free(c->ca_file);
    pthread_mutex_destroy(&c->lock);
    free(c);
    return NULL;
}

static CURL *
http_take(http_client *c)
{
    CURL *h = NULL;

    pthread_mutex_lock(&c->lock);
    if (c->nfree > 0)
        h = c->free_list[--c->nfree];
    pthread_mutex_unlock(&c->lock);
    if (h == NULL)
        h = curl_easy_init();
    else
        curl_easy_reset(h);
    return h;
}

static void
http_give_back(http_client *c, CURL *h)
{
    pthread_mutex_lock(&c->lock);
    if (c->nfree == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 8;
        c->free_list = sesutil_realloc(c->free_list, c->cap * sizeof(*c->free_list));
    }
    c->free_list[c->nfree++] = h;
    pthread_mutex_unlock(&c->lock);
}

static size_t
http_on_body(char *p, size_t size, size_t n, void *arg)
{
    http_rx *rx = arg;

    if (rx->body.len + size * n > HTTP_MAX_BODY) {
        rx->too_big = 1;
        return 0;
    }
    sesutil_buf_add(&rx->body, p, size * n);
    return size * n;
}

static size_t
http_on_header(char *p, size_t size, size_t n, void *arg)
{
    http_rx *rx = arg;
    size_t len = size * n;
    static const char name[] = "x-amzn-errortype:";

    if (len > sizeof(name) - 1 && strncasecmp(p, name, sizeof(name) - 1) == 0) {
        const char *v = p + sizeof(name) - 1;
        size_t vl = len - (sizeof(name) - 1);
        while (vl > 0 && (*v == ' ' || *v == '\t'))
            v++, vl--;
        while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
            vl--;
        free(rx->error_type);
        rx->error_type = sesutil_strndup(v, vl);
    }
    return len;
}

/* strip an AWS type to its code: cut at ':', keep what follows the last '#' */
static char *
http_error_code(const char *s)
{
    const char *colon, *hash, *start = s;
    size_t n;

    colon = strchr(s, ':');
    n = colon != NULL ? (size_t)(colon - s) : strlen(s);
    for (hash = s; hash < s + n; hash++)
        if (*hash == '#')
            start = hash + 1;
    n -= (size_t)(start - s);
    return n > 0 ? sesutil_strndup(start, n) : NULL;
}

static const char *
http_json_str(json_t *o, const char *a, const char *b, const char *c)
{
    const char *names[3] = {a, b, c};
    size_t i;

    for (i = 0; i < 3; i++) {
        json_t *v = names[i] != NULL ? json_object_get(o, names[i]) : NULL;
        if (json_is_string(v))
            return json_string_value(v);
    }
    return NULL;
}

/* http_parse_aws_error - header first, then body code/Code/__type, message/Message */
void
http_parse_aws_error(const char *error_type_header, const char *body, http_response *r)
{
    json_t *root = NULL;
    const char *s;

    r->error_code = sesutil_free(r->error_code);
    r->error_message = sesutil_free(r->error_message);
    if (error_type_header != NULL && *error_type_header != '\0')
        r->error_code = http_error_code(error_type_header);
    if (body != NULL && *body != '\0')
        root = json_loads(body, JSON_DISABLE_EOF_CHECK, NULL);
    if (json_is_object(root)) {
        if (r->error_code == NULL && (s = http_json_str(root, "code", "Code", "__type")) != NULL)
            r->error_code = http_error_code(s);
        /* AWS may echo what was signed (SignatureDoesNotMatch): the message is kept
         * redacted, since every caller puts it into a log line */
        if ((s = http_json_str(root, "message", "Message", NULL)) != NULL)
            r->error_message = redact_text(s);
    }
    json_decref(root);
}

/* http_url_host - authority part of an absolute URL */
char *
http_url_host(const char *url)
{
    const char *p = strstr(url != NULL ? url : "", "://"), *e;

    if (p == NULL)
        return NULL;
    p += 3;
    e = p + strcspn(p, "/?#");
    if (e == p || memchr(p, '@', (size_t)(e - p)) != NULL)
        return NULL;
    return sesutil_strndup(p, (size_t)(e - p));
}

static int
http_check_url(const http_req *req, http_response *r)
{
    const char *c;

    if (req->url == NULL)
        return sesutil_errf(r->transport, sizeof(r->transport), "no URL");
    for (c = req->url; *c; c++)
        if ((unsigned char)*c <= ' ' || (unsigned char)*c >= 0x7f)
            return sesutil_errf(r->transport, sizeof(r->transport), "malformed URL");
    if (strncasecmp(req->url, "https://", 8) == 0)
        return 0;
    if (strncasecmp(req->url, "http://", 7) == 0 && req->allow_http)
        return 0;
    return sesutil_errf(r->transport, sizeof(r->transport),
                        "refusing URL scheme (https only unless insecure_http = true)");
}

static struct curl_slist *
http_setup(http_client *c, CURL *h, const http_req *req, http_rx *rx, long left)
{
    struct curl_slist *hl = NULL;
    size_t i;

    curl_easy_setopt(h, CURLOPT_URL, req->url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, req->allow_http ? "http,https" : "https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    if (c->ca_file != NULL)
        curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     left < c->connect_timeout_ms ? left : c->connect_timeout_ms);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, left < c->timeout_ms ? left : c->timeout_ms);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, http_on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, rx);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, http_on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, rx);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "ses-milter-ses-plugin/1");
    if (strcmp(req->method, "GET") == 0) {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body != NULL ? req->body : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)req->body_len);
    }
    hl = curl_slist_append(hl, "Expect:");
    hl = curl_slist_append(hl, "Accept:");
    for (i = 0; req->headers != NULL && req->headers[i] != NULL; i++)
        hl = curl_slist_append(hl, req->headers[i]);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    return hl;
}

/* http_request - one bounded request */
int
http_request(http_client *c, const http_req *req, http_response *r)
{
    http_rx rx = {{0}, NULL, 0};
    struct curl_slist *hl;
    uint64_t now = sesutil_now_ms();
    CURLcode rc;
    CURL *h;
    long left;

    memset(r, 0, sizeof(*r));
    r->body = sesutil_strdup("");
    if (http_check_url(req, r) < 0)
        return -1;
    if (req->deadline_ms <= now + 1) {
        r->timed_out = 1;
        sesutil_errf(r->transport, sizeof(r->transport), "deadline already passed");
        return -1;
    }
    left = (long)(req->deadline_ms - now);
    if ((h = http_take(c)) == NULL) {
        sesutil_errf(r->transport, sizeof(r->transport), "curl_easy_init failed");
        return -1;
    }
    hl = http_setup(c, h, req, &rx, left);
    rc = curl_easy_perform(h);
    curl_slist_free_all(hl);
    if (rc == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
    else {
        r->timed_out = rc == CURLE_OPERATION_TIMEDOUT;
        sesutil_errf(r->transport, sizeof(r->transport), "%s%s", curl_easy_strerror(rc),
                     rx.too_big ? " (answer too large)" : "");
    }
    /* a failed handle may hold a half-used connection: do not pool it */
    if (rc == CURLE_OK)
        http_give_back(c, h);
    else
        curl_easy_cleanup(h);
    free(r->body);
    r->body = sesutil_buf_steal(&rx.body);
    r->body_len = strlen(r->body);
    if (rc == CURLE_OK && r->status >= 400)
        http_parse_aws_error(rx.error_type, r->body, r);
    free(rx.error_type);
    return rc == CURLE_OK ? 0 : -1;
}

/* http_response_clear - release buffers */
void
http_response_clear(http_response *r)
{
    if (r == NULL)
        return;
    free(r->body);
    free(r->error_code);
    free(r->error_message);
    memset(r, 0, sizeof(*r));
}
