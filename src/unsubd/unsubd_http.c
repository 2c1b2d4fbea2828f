/*
 * unsubd_http.c - ses-milter-unsubscribe: the answers to HTTP requests
 *
 * Purpose: RFC 8058 one-click unsubscribe on the URLs the unsubscribe rules
 * generate.  The token is found in the raw request target exactly as
 * ses-milter-token check-post finds it (unsub_post_find_token) and checked
 * with the configured key (unsub_token_verify); nothing else (no cookie, no
 * login) is asked for.
 *
 *   POST, body List-Unsubscribe=One-Click    200, the pair recorded (fsync'd)
 *        (x-www-form-urlencoded, or multipart/form-data; none given: read
 *        as urlencoded)
 *   POST of a pair already recorded          200 as well: a retried POST (RFC 8058
 *        senders and mailbox providers may resend it) changes nothing, and an
 *        error would make them retry again
 *   GET / HEAD                               200, a confirmation page whose form
 *        POSTs the same URL; GET never unsubscribes (link scanners follow GETs)
 *   no token in the URL                      404
 *   token malformed                          400
 *   token MAC wrong (altered, other key)     403
 *   token expired (token_ttl)                403
 *   list id no rule makes                    404
 *   body missing or without the pair         400
 *   other media type                         415
 *   body over endpoint_max_body              413
 *   other methods                            405 (Allow: GET, HEAD, POST)
 *   the store cannot be written              503 (Retry-After: 60)
 *
 * Security: untrusted text is logged only through log_sanitize and put into
 * the page only HTML-escaped; answers carry Cache-Control: no-store, no
 * cookies, and a Content-Security-Policy that allows nothing but the form.
 *
 * Diagnostics: one log line per refused or accepted request.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lib/log.h"
#include "unsub/unsub_post.h"
#include "unsub/unsub_token.h"
#include "unsubd/unsubd.h"
#include "lib/util.h"

#ifndef MHD_HTTP_CONTENT_TOO_LARGE
#define MHD_HTTP_CONTENT_TOO_LARGE 413 /* libmicrohttpd before 0.9.74 */
#endif

typedef struct unsubd_req {
    char *target; /* raw request target: path and query */
    char *body;
    size_t len;
    int too_big;
    char field[32]; /* multipart: the List-Unsubscribe field's value */
    size_t flen;
    int have_field;
} unsubd_req;

void *
unsubd_http_uri(void *cls, const char *uri, struct MHD_Connection *con)
{
    unsubd_req *r = xcalloc(1, sizeof(*r));

    (void)cls;
    (void)con;
    r->target = xstrdup(uri ? uri : "");
    return r;
}

void
unsubd_http_done(void *cls, struct MHD_Connection *con, void **req_cls,
                 enum MHD_RequestTerminationCode why)
{
    unsubd_req *r = *req_cls;

    (void)cls;
    (void)con;
    (void)why;
    if (r != NULL) {
        free(r->target);
        free(r->body);
        free(r);
        *req_cls = NULL;
    }
}

/* unsubd_http_send - queue a response of text (copied) with the common headers */
static enum MHD_Result
unsubd_http_send(struct MHD_Connection *con, unsigned code, const char *type, const char *text)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result rc;

    if (resp == NULL)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(resp, "X-Robots-Tag", "noindex");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(resp, "Content-Security-Policy",
                            "default-src 'none'; form-action 'self'");
    if (code == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD, POST");
    if (code == MHD_HTTP_SERVICE_UNAVAILABLE)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, "60");
    rc = MHD_queue_response(con, code, resp);
    MHD_destroy_response(resp);
    return rc;
}

/* unsubd_http_refuse - log why (sanitised) and answer code with a one-line text */
static enum MHD_Result
unsubd_http_refuse(struct MHD_Connection *con, const unsubd_req *r, unsigned code, const char *text,
                   const char *why)
{
    char t[64], w[512], line[600];

    /* the target's start only: the whole token is a credential for that recipient */
    log_msg(LOG_INFO, NULL, "refused %u %s%s: %s", code, log_sanitize(r->target, t, sizeof(t)),
            strlen(r->target) >= sizeof(t) ? "..." : "",
            log_sanitize(why ? why : text, w, sizeof(w)));
    snprintf(line, sizeof(line), "%s\n", text);
    return unsubd_http_send(con, code, "text/plain; charset=utf-8", line);
}

/* unsubd_http_esc - HTML-escape s (new string) */
static char *
unsubd_http_esc(const char *s)
{
    size_t n = 0;
    char *out, *o;

    for (const char *p = s; *p; p++)
        n += strchr("<>&\"'", *p) ? 6 : 1;
    o = out = xmalloc(n + 1);
    for (const char *p = s; *p; p++) {
        const char *e = *p == '<'    ? "&lt;"
                        : *p == '>'  ? "&gt;"
                        : *p == '&'  ? "&amp;"
                        : *p == '"'  ? "&quot;"
                        : *p == '\'' ? "&#39;"
                                     : NULL;
        if (e != NULL) {
            memcpy(o, e, strlen(e));
            o += strlen(e);
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
    return out;
}

/* unsubd_http_page - the confirmation page for a person: a form that POSTs the same URL */
static enum MHD_Result
unsubd_http_page(struct MHD_Connection *con, const unsubd_req *r, const unsub_token_info *info,
                 int already)
{
    char *t = unsubd_http_esc(r->target), *rc = unsubd_http_esc(info->recipient),
         *l = unsubd_http_esc(info->list_id), *page;
    enum MHD_Result res;

    page = xasprintf(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"robots\" content=\"noindex\"><title>Unsubscribe</title></head>\n<body>\n"
        "<h1>Unsubscribe</h1>\n%s"
        "<form method=\"post\" action=\"%s\" enctype=\"application/x-www-form-urlencoded\">\n"
        "<input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\">\n"
        "<button type=\"submit\">Unsubscribe %s from %s</button>\n</form>\n</body></html>\n",
        already ? "<p>This address is already unsubscribed from this list.</p>\n"
                : "<p>Press the button to stop this list's mail to this address.</p>\n",
        t, rc, l);
    res = unsubd_http_send(con, MHD_HTTP_OK, "text/html; charset=utf-8", page);
    free(page);
    free(t);
    free(rc);
    free(l);
    return res;
}

/* unsubd_http_part - multipart iterator: keep the List-Unsubscribe field's value */
static enum MHD_Result
unsubd_http_part(void *cls, enum MHD_ValueKind kind, const char *key, const char *filename,
                 const char *content_type, const char *transfer_encoding, const char *data,
                 uint64_t off, size_t size)
{
    unsubd_req *r = cls;

    (void)kind;
    (void)filename;
    (void)content_type;
    (void)transfer_encoding;
    if (key == NULL || strcmp(key, "List-Unsubscribe") != 0)
        return MHD_YES;
    r->have_field = 1;
    if (off != r->flen || r->flen + size >= sizeof(r->field)) {
        r->flen = sizeof(r->field); /* too long: cannot be "One-Click" */
        return MHD_YES;
    }
    memcpy(r->field + r->flen, data, size);
    r->flen += size;
    return MHD_YES;
}

/* unsubd_http_body - 0: the body holds List-Unsubscribe=One-Click; else the HTTP code */
static unsigned
unsubd_http_body(struct MHD_Connection *con, unsubd_req *r)
{
    const char *ct = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Content-Type");
    struct MHD_PostProcessor *pp;

    if (r->len == 0)
        return MHD_HTTP_BAD_REQUEST;
    if (ct == NULL || strncasecmp(ct, "application/x-www-form-urlencoded", 33) == 0)
        return unsub_post_form_ok(r->body, r->len) ? 0 : MHD_HTTP_BAD_REQUEST;
    if (strncasecmp(ct, "multipart/form-data", 19) != 0)
        return MHD_HTTP_UNSUPPORTED_MEDIA_TYPE;
    if ((pp = MHD_create_post_processor(con, 1024, unsubd_http_part, r)) == NULL)
        return MHD_HTTP_BAD_REQUEST; /* no boundary */
    MHD_post_process(pp, r->body, r->len);
    MHD_destroy_post_processor(pp);
    if (!r->have_field || r->flen >= sizeof(r->field))
        return MHD_HTTP_BAD_REQUEST;
    r->field[r->flen] = '\0';
    return strcmp(r->field, "One-Click") == 0 ? 0 : MHD_HTTP_BAD_REQUEST;
}

/* unsubd_http_record - a verified one-click POST: store the pair, answer 200 (or 503) */
static enum MHD_Result
unsubd_http_record(struct MHD_Connection *con, unsubd_ctx *c, const unsub_token_info *info)
{
    char err[512], rc[UNSUB_TOKEN_FIELD_MAX * 4], l[UNSUB_TOKEN_FIELD_MAX * 4];
    int already = 0;

    if (unsub_store_add(c->store, info->list_id, info->recipient, (int64_t)time(NULL), &already,
                        err, sizeof(err)) < 0) {
        log_msg(LOG_ERR, NULL, "cannot record an unsubscription: %s", err);
        return unsubd_http_send(con, MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain; charset=utf-8",
                                "The request could not be recorded now; try again later.\n");
    }
    log_msg(LOG_NOTICE, NULL, "%s <%s> from list %s",
            already ? "already unsubscribed:" : "unsubscribed",
            log_sanitize(info->recipient, rc, sizeof(rc)),
            log_sanitize(info->list_id, l, sizeof(l)));
    return unsubd_http_send(con, MHD_HTTP_OK, "text/plain; charset=utf-8",
                            already ? "Already unsubscribed.\n" : "Unsubscribed.\n");
}

/* unsubd_http_token - verify the target's token; 0 with info, or the refusal's HTTP code */
static unsigned
unsubd_http_token(unsubd_ctx *c, const unsubd_req *r, unsub_token_info *info, char *why, size_t len)
{
    char *tok = unsub_post_find_token(r->target);
    unsub_token_status st;

    memset(info, 0, sizeof(*info));
    if (tok == NULL) {
        util_errf(why, len, "no token in the URL");
        return MHD_HTTP_NOT_FOUND;
    }
    st =
        unsub_token_verify(c->key, c->keylen, tok, (int64_t)time(NULL), c->max_age, info, why, len);
    free(tok);
    if (st == UNSUB_TOKEN_MALFORMED)
        return MHD_HTTP_BAD_REQUEST;
    if (st != UNSUB_TOKEN_OK)
        return MHD_HTTP_FORBIDDEN; /* tampered or expired */
    if (strpbrk(info->recipient, "\t") != NULL || *info->recipient == '\0' ||
        *info->list_id == '\0') {
        util_errf(why, len, "recipient or list id unusable");
        return MHD_HTTP_BAD_REQUEST;
    }
    if (!unsub_conf_list_known(c->conf, info->list_id)) {
        util_errf(why, len, "no rule makes list id %s", info->list_id);
        return MHD_HTTP_NOT_FOUND;
    }
    return 0;
}

/* unsubd_http_text - the text of a refusal the requester sees */
static const char *
unsubd_http_text(unsigned code)
{
    switch (code) {
    case MHD_HTTP_NOT_FOUND:
        return "No such unsubscribe link.";
    case MHD_HTTP_FORBIDDEN:
        return "This unsubscribe link is not valid (altered or expired).";
    case MHD_HTTP_UNSUPPORTED_MEDIA_TYPE:
        return "Send the form as application/x-www-form-urlencoded or multipart/form-data.";
    default:
        return "Bad request: a one-click unsubscribe POSTs List-Unsubscribe=One-Click (RFC 8058).";
    }
}

/* unsubd_http_finish - the whole request is in: answer it */
static enum MHD_Result
unsubd_http_finish(struct MHD_Connection *con, unsubd_ctx *c, unsubd_req *r, int post)
{
    unsub_token_info info;
    char why[512];
    unsigned code;
    enum MHD_Result res;

    if (r->too_big)
        return unsubd_http_refuse(con, r, MHD_HTTP_CONTENT_TOO_LARGE, "Request body too large.",
                                  NULL);
    if ((code = unsubd_http_token(c, r, &info, why, sizeof(why))) != 0) {
        unsub_token_info_clear(&info);
        return unsubd_http_refuse(con, r, code, unsubd_http_text(code), why);
    }
    if (!post) {
        res = unsubd_http_page(con, r, &info,
                               unsub_store_has(c->store, info.list_id, info.recipient) == 1);
    } else if ((code = unsubd_http_body(con, r)) != 0) {
        res = unsubd_http_refuse(con, r, code, unsubd_http_text(code),
                                 code == MHD_HTTP_UNSUPPORTED_MEDIA_TYPE
                                     ? "unsupported Content-Type"
                                     : "body lacks List-Unsubscribe=One-Click");
    } else {
        res = unsubd_http_record(con, c, &info);
    }
    unsub_token_info_clear(&info);
    return res;
}

enum MHD_Result
unsubd_http_answer(void *cls, struct MHD_Connection *con, const char *url, const char *method,
                   const char *version, const char *upload_data, size_t *upload_data_size,
                   void **req_cls)
{
    unsubd_ctx *c = cls;
    unsubd_req *r = *req_cls;
    int post = strcmp(method, MHD_HTTP_METHOD_POST) == 0;
    const char *cl;

    (void)url;
    (void)version;
    if (r == NULL)
        return MHD_NO;
    if (!post && strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
        strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return unsubd_http_refuse(con, r, MHD_HTTP_METHOD_NOT_ALLOWED, "Method not allowed.",
                                  method);
    if (post && r->body == NULL) {
        /* first call: refuse a declared oversized body before reading it */
        cl = MHD_lookup_connection_value(con, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl != NULL && strtoull(cl, NULL, 10) > c->max_body)
            return unsubd_http_refuse(con, r, MHD_HTTP_CONTENT_TOO_LARGE, "Request body too large.",
                                      cl);
        r->body = xmalloc(c->max_body + 1);
        return MHD_YES;
    }
    if (post && *upload_data_size > 0) {
        if (r->len + *upload_data_size > c->max_body)
            r->too_big = 1;
        else
            memcpy(r->body + r->len, upload_data, *upload_data_size);
        if (!r->too_big)
            r->len += *upload_data_size;
        *upload_data_size = 0;
        return MHD_YES;
    }
    return unsubd_http_finish(con, c, r, post);
}
