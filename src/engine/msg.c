/*
 * msg.c - per-connection and per-message state
 *
 * Purpose: one owner (the sm_msg) for everything a message allocates, so
 * that msg_reset() at end of message or abort frees it all in one place.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/addr.h"
#include "engine/msg.h"
#include "lib/util.h"

sm_msg *
msg_new(void)
{
    return xcalloc(1, sizeof(sm_msg));
}

void
msg_set_client(sm_msg *m, const char *hostname, const struct sockaddr *sa)
{
    free(m->client_name);
    m->client_name = xstrdup(hostname ? hostname : "");
    m->have_addr = 0;
    m->client_port = 0;
    if (sa != NULL && sa->sa_family == AF_INET) {
        memcpy(&m->client_addr, sa, sizeof(struct sockaddr_in));
        m->client_port = ntohs(((const struct sockaddr_in *)sa)->sin_port);
        m->have_addr = 1;
    } else if (sa != NULL && sa->sa_family == AF_INET6) {
        memcpy(&m->client_addr, sa, sizeof(struct sockaddr_in6));
        m->client_port = ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
        m->have_addr = 1;
    }
}

void
verdict_clear(sm_verdict *v)
{
    free(v->text);
    free(v->reason);
    for (size_t i = 0; i < v->nadd; i++) {
        free(v->add[i].name);
        free(v->add[i].value);
    }
    free(v->add);
    for (size_t i = 0; i < v->ndel; i++)
        free(v->del[i].name);
    free(v->del);
    for (size_t i = 0; i < v->ndelrcpt; i++)
        free(v->delrcpt[i]);
    free(v->delrcpt);
    memset(v, 0, sizeof(*v));
}

void
msg_reset(sm_msg *m)
{
    if (m->ext_free != NULL)
        m->ext_free(m);
    m->ext_free = NULL;
    m->conf = conf_release(m->conf);
    m->qid[0] = '\0';
    m->auth_authen = util_free(m->auth_authen);
    m->mta_name = util_free(m->mta_name);
    m->env_from = util_free(m->env_from);
    for (size_t i = 0; i < m->nrcpts; i++)
        free(m->rcpts[i]);
    m->rcpts = util_free(m->rcpts);
    m->nrcpts = 0;
    m->n_rcpt_local = 0;
    for (size_t i = 0; i < m->nhdrs; i++) {
        free(m->hdrs[i].name);
        free(m->hdrs[i].value);
    }
    m->hdrs = util_free(m->hdrs);
    m->nhdrs = 0;
    m->hdr_bytes = 0;
    m->hdr_overflow = 0;
    m->n_kept_over = 0;
    m->n_from_seen = 0;
    m->n_sender_seen = 0;
    m->smtputf8 = 0;
    m->scope = SCOPE_EXTERNAL;
    m->started_ms = 0;
    verdict_clear(&m->verdict);
}

sm_msg *
msg_free(sm_msg *m)
{
    if (m == NULL)
        return NULL;
    msg_reset(m);
    free(m->client_name);
    free(m);
    return NULL;
}

int
msg_add_header(sm_msg *m, const char *name, const char *value, int needed)
{
    size_t sz = strlen(name) + strlen(value);
    int is_from = strcasecmp(name, "From") == 0, is_sender = strcasecmp(name, "Sender") == 0;

    m->n_from_seen += is_from;
    m->n_sender_seen += is_sender;
    if (m->nhdrs >= MSG_MAX_HEADERS || m->hdr_bytes + sz > MSG_MAX_HEADER_BYTES) {
        m->hdr_overflow = 1;
        if (!(is_from || is_sender || needed) || m->n_kept_over >= MSG_MAX_KEPT_OVER ||
            sz > ADDR_MAX_FIELD)
            return -1;
        m->n_kept_over++; /* kept, outside the byte count */
        sz = 0;
    }
    if ((m->nhdrs & (m->nhdrs - 1)) == 0) /* grow at powers of two */
        m->hdrs = xrealloc(m->hdrs, (m->nhdrs ? 2 * m->nhdrs : 16) * sizeof(msg_header));
    m->hdrs[m->nhdrs].name = xstrdup(name);
    m->hdrs[m->nhdrs].value = xstrdup(value);
    m->nhdrs++;
    m->hdr_bytes += sz;
    return 0;
}

void
msg_set_mail_args(sm_msg *m, char *const *args)
{
    m->smtputf8 = 0;
    for (size_t i = 0; args != NULL && args[i] != NULL; i++)
        if (strcasecmp(args[i], "SMTPUTF8") == 0)
            m->smtputf8 = 1;
}

void
msg_add_rcpt(sm_msg *m, const char *rcpt)
{
    size_t n = strlen(rcpt);

    m->rcpts = xrealloc(m->rcpts, (m->nrcpts + 1) * sizeof(char *));
    if (n >= 2 && rcpt[0] == '<' && rcpt[n - 1] == '>') /* the path's angle brackets */
        m->rcpts[m->nrcpts++] = xstrndup(rcpt + 1, n - 2);
    else
        m->rcpts[m->nrcpts++] = xstrdup(rcpt);
}

size_t
msg_header_count(const sm_msg *m, const char *name)
{
    size_t n = 0;

    for (size_t i = 0; i < m->nhdrs; i++)
        if (strcasecmp(m->hdrs[i].name, name) == 0)
            n++;
    return n;
}

const char *
msg_header_get(const sm_msg *m, const char *name, size_t idx)
{
    for (size_t i = 0; i < m->nhdrs; i++)
        if (strcasecmp(m->hdrs[i].name, name) == 0 && idx-- == 0)
            return m->hdrs[i].value;
    return NULL;
}

const char *
msg_client_ip(const sm_msg *m, char *buf, size_t len)
{
    buf[0] = '\0';
    if (!m->have_addr)
        return buf;
    if (m->client_addr.ss_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)&m->client_addr)->sin_addr, buf,
                  (socklen_t)len);
    else
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)&m->client_addr)->sin6_addr, buf,
                  (socklen_t)len);
    return buf;
}

void
verdict_set(sm_verdict *v, verdict_action a, const char *code, const char *xcode, const char *text)
{
    v->action = a;
    util_strlcpy(v->code, code ? code : "", sizeof(v->code));
    util_strlcpy(v->xcode, xcode ? xcode : "", sizeof(v->xcode));
    free(v->text);
    v->text = text ? xstrdup(text) : NULL;
}

void
verdict_add_header(sm_verdict *v, const char *name, const char *value)
{
    v->add = xrealloc(v->add, (v->nadd + 1) * sizeof(msg_header));
    v->add[v->nadd].name = xstrdup(name);
    v->add[v->nadd].value = xstrdup(value);
    v->nadd++;
}

void
verdict_del_header(sm_verdict *v, const char *name, int index)
{
    v->del = xrealloc(v->del, (v->ndel + 1) * sizeof(verdict_hdr_del));
    v->del[v->ndel].name = xstrdup(name);
    v->del[v->ndel].index = index;
    v->ndel++;
}

void
verdict_del_rcpt(sm_verdict *v, const char *rcpt)
{
    v->delrcpt = xrealloc(v->delrcpt, (v->ndelrcpt + 1) * sizeof(char *));
    v->delrcpt[v->ndelrcpt++] = xstrdup(rcpt);
}

const char *
verdict_action_name(verdict_action a)
{
    switch (a) {
    case VERDICT_REJECT:
        return "reject";
    case VERDICT_TEMPFAIL:
        return "tempfail";
    case VERDICT_QUARANTINE:
        return "quarantine";
    case VERDICT_DISCARD:
        return "discard";
    default:
        return "accept";
    }
}
