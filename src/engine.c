/*
 * engine.c - the policy engine
 *
 * Purpose: turn the facts of one message into one verdict.  Order at end
 * of message: identity gate, then alignment checks, then unsubscribe
 * headers; the strictest action wins (tempfail and reject end the
 * message, quarantine holds it, tagging only adds headers).  Every message
 * in scope gets one summary line keyed by queue id; mail out of scope is
 * logged at debug level and passes untouched.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "log.h"
#include "util.h"

struct msg_ext {
    int unused;
};

int
engine_msg_start(sm_msg *m)
{
    scope_client cl;

    if (m->conf == NULL)
        m->conf = conf_acquire();
    if (m->conf == NULL)
        return -1;
    m->started_ms = util_now_ms();
    memset(&cl, 0, sizeof(cl));
    cl.addr = m->have_addr ? (const struct sockaddr *)&m->client_addr : NULL;
    cl.hostname = m->client_name;
    cl.auth_authen = m->auth_authen;
    cl.port = m->client_port;
    m->scope = scope_decide(m->conf->scope, &cl);
    return 0;
}

void
engine_pass_inbound(sm_msg *m)
{
    char ip[64], host[256], env[512];

    if (!log_enabled(LOG_DEBUG))
        return;
    log_msg(LOG_DEBUG, m->qid,
            "not outgoing: client %s[%s] not authenticated, not internal, not local; "
            "env_from=%s passes untouched",
            log_sanitize(m->client_name, host, sizeof(host)), msg_client_ip(m, ip, sizeof(ip)),
            log_sanitize(m->env_from ? m->env_from : "", env, sizeof(env)));
}

int
engine_outgoing(const sm_msg *m)
{
    return m->scope != SCOPE_EXTERNAL;
}

void
engine_header(sm_msg *m, const char *name, const char *value)
{
    const char *v = value;

    if (!engine_outgoing(m))
        return;
    if (m->leadspc && *v == ' ')
        v++;
    msg_add_header(m, name, v);
}

int
engine_eoh(sm_msg *m)
{
    (void)m;
    return 0;
}

int
engine_body(sm_msg *m, const unsigned char *chunk, size_t len)
{
    (void)m;
    (void)chunk;
    (void)len;
    return 0;
}

/* engine_summary - the one line per message, keyed by queue id */
static void
engine_summary(sm_msg *m)
{
    char from[512], env[512], ip[64];
    const char *f = msg_header_get(m, "From", 0);
    sm_verdict *v = &m->verdict;

    log_msg(LOG_INFO, m->qid,
            "action=%s scope=%s client=[%s] env_from=%s from=%s rcpts=%zu%s%s%s%s%s",
            verdict_action_name(v->action), scope_why_name(m->scope),
            msg_client_ip(m, ip, sizeof(ip)),
            log_sanitize(m->env_from ? m->env_from : "", env, sizeof(env)),
            log_sanitize(f ? f : "", from, sizeof(from)), m->nrcpts,
            v->code[0] ? " reply=\"" : "", v->code, v->code[0] ? " " : "", v->xcode,
            v->code[0] ? "\"" : "");
}

void
engine_eom(sm_msg *m)
{
    verdict_set(&m->verdict, VERDICT_ACCEPT, NULL, NULL, NULL);
    if (!engine_outgoing(m))
        return;
    engine_summary(m);
}

void
engine_abort(sm_msg *m)
{
    if (engine_outgoing(m) && m->env_from != NULL)
        log_msg(LOG_DEBUG, m->qid, "transaction aborted by the MTA");
}

void
engine_msg_free(sm_msg *m)
{
    m->ext = util_free(m->ext);
}
