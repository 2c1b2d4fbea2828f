/*
 * engine_suppress.c - recipients on an SES suppression list, at RCPT time
 *
 * Purpose: ask every identity source that has a suppression list (plugin
 * ABI 1.2, sm_plugin.ask, SM_ASK_SUPPRESSED) about each recipient of outgoing mail
 * that leaves this host, exact address (domain lower-cased, local part as
 * given, as SES matches), and apply ses.suppression.action: "refuse"
 * refuses that recipient with the 5.1.1 reply_text naming the reason
 * (BOUNCE / COMPLAINT) and the source's region; "log" accepts it and logs
 * one line.  A list that cannot be asked is accepted (on_tempfail =
 * "accept", logged) or refused for now with 4.x.x (on_tempfail =
 * "tempfail").  Every check goes into the message's audit record.  The
 * plugin caches, single-flights and rate-limits its calls.
 *
 * No libmilter here: the reply goes back to milter.c through engine_reply.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/addr.h"
#include "engine/services.h"
#include "engine/engine.h"
#include "engine/engine_int.h"
#include "engine/engine_suppress.h"
#include "lib/log.h"
#include "identity/plugin.h"
#include "engine/sesrules.h"
#include "lib/util.h"

#define ENGINE_SUPPRESS_MAX_RECORDS 1000

/* said once per process: ses.suppression is on but no source keeps a suppression list */
static int engine_suppress_none_said;

/* engine_suppress_wanted - whether this configuration asks at RCPT (the reply is needed) */
int
engine_suppress_wanted(const sm_conf *c)
{
    const sm_services *x = c != NULL ? services_of(c) : NULL;

    return x != NULL && x->ses != NULL && x->ses->supp_action != SESRULES_SUPP_OFF &&
           x->chain != NULL;
}

/* engine_suppress_expand - %{rcpt}, %{reason}, %{region} in a reply template */
static void
engine_suppress_expand(const char *tmpl, const char *rcpt, const char *reason, const char *region,
                       char *out, size_t outlen)
{
    size_t o = 0;

    for (const char *p = tmpl; *p && o + 1 < outlen; p++) {
        const char *v = NULL;
        size_t skip = 0;
        if (strncmp(p, "%{rcpt}", 7) == 0)
            v = rcpt, skip = 7;
        else if (strncmp(p, "%{reason}", 9) == 0)
            v = reason, skip = 9;
        else if (strncmp(p, "%{region}", 9) == 0)
            v = region, skip = 9;
        if (v == NULL) {
            out[o++] = *p;
            continue;
        }
        for (; *v && o + 1 < outlen; v++)
            out[o++] = (unsigned char)*v >= 0x20 && (unsigned char)*v < 0x7f ? *v : '?';
        p += skip - 1;
    }
    out[o] = '\0';
}

/* engine_suppress_reply - "D.D.D text" into code / xcode / text */
static void
engine_suppress_reply(engine_reply *r, const char *code, const char *expanded)
{
    const char *sp = strchr(expanded, ' ');
    size_t xl = sp != NULL ? (size_t)(sp - expanded) : 0;

    util_strlcpy(r->code, code, sizeof(r->code));
    if (xl >= sizeof(r->xcode))
        xl = 0;
    memcpy(r->xcode, expanded, xl);
    r->xcode[xl] = '\0';
    util_strlcpy(r->text, sp != NULL ? sp + 1 : expanded, sizeof(r->text));
}

/* engine_suppress_note - one check for the audit record (bounded) */
static void
engine_suppress_note(msg_ext *e, const char *rcpt, const char *instance, sm_ask_answer a,
                     const sm_ask_attrs *at, const char *action)
{
    engine_supp_rec *r;

    if (e->n_supp >= ENGINE_SUPPRESS_MAX_RECORDS)
        return;
    e->supp = xrealloc(e->supp, (e->n_supp + 1) * sizeof(*e->supp));
    r = &e->supp[e->n_supp++];
    memset(r, 0, sizeof(*r));
    r->rcpt = xstrdup(rcpt);
    util_strlcpy(r->instance, instance, sizeof(r->instance));
    util_strlcpy(r->region, at->region, sizeof(r->region));
    r->answer = a == SM_ASK_YES ? "suppressed" : a == SM_ASK_NO ? "clear" : "tempfail";
    util_strlcpy(r->reason, at->reason, sizeof(r->reason));
    util_strlcpy(r->cache, at->origin, sizeof(r->cache));
    r->action = action;
}

/* engine_suppress_address - the address SES matches: local part as given, domain lower-case */
static char *
engine_suppress_address(const char *rcpt)
{
    addr_mailbox mb;
    int is_null = 0;
    char err[128], *out = NULL;

    memset(&mb, 0, sizeof(mb));
    if (addr_parse_path(rcpt, &mb, &is_null, err, sizeof(err)) == ADDR_OK && !is_null &&
        mb.domain != NULL && !mb.domain_literal && mb.address != NULL) {
        out = xstrdup(mb.address);
        util_lower(strrchr(out, '@') + 1);
    }
    addr_mailbox_clear(&mb);
    return out;
}

int
engine_suppress_rcpt(sm_msg *m, const char *rcpt, const char *mailer, engine_reply *reply)
{
    sm_services *x = services_of(m->conf);
    const sesrules_conf *sc = x->ses;
    char *addr, text[600], safe[400];
    uint64_t deadline;
    int ret = ENGINE_RCPT_CONTINUE, asked = 0;

    if (!engine_suppress_wanted(m->conf) || m->ext == NULL)
        return ENGINE_RCPT_CONTINUE;
    if ((addr = engine_suppress_address(rcpt)) == NULL)
        return ENGINE_RCPT_CONTINUE;
    if (scope_local_rcpt(m->conf->scope, addr, mailer, m->mta_name)) {
        free(addr);
        return ENGINE_RCPT_CONTINUE; /* delivered here, never through SES */
    }
    deadline = util_now_ms() + (uint64_t)sc->supp_timeout_ms;
    log_sanitize(addr, safe, sizeof(safe));
    for (size_t i = 0; i < plugin_chain_count(x->chain) && ret == ENGINE_RCPT_CONTINUE; i++) {
        plugin_instance *pi = plugin_chain_get(x->chain, i);
        const char *name = plugin_instance_name(pi);
        sm_ask_attrs at;
        sm_ask_answer a =
            plugin_instance_ask(pi, SM_ASK_SUPPRESSED, addr, NULL, deadline, m->qid, &at);

        if (a == SM_ASK_UNKNOWN)
            continue;
        asked = 1;
        if (a == SM_ASK_NO) {
            engine_suppress_note(m->ext, addr, name, a, &at, "accepted");
        } else if (a == SM_ASK_YES && (sc->supp_action == SESRULES_SUPP_LOG || reply == NULL)) {
            engine_suppress_note(m->ext, addr, name, a, &at, "logged");
            log_msg(LOG_NOTICE, m->qid,
                    "suppression list: <%s> is suppressed (%s) in %s region %s: accepted (%s)",
                    safe, at.reason, name, at.region,
                    reply == NULL ? "the MTA does not wait for the RCPT reply on this connection"
                                  : "ses.suppression.action = log");
        } else if (a == SM_ASK_YES) {
            engine_suppress_note(m->ext, addr, name, a, &at, "refused");
            engine_suppress_expand(sc->supp_reject_text, addr, at.reason, at.region, text,
                                   sizeof(text));
            engine_suppress_reply(reply, "550", text);
            log_msg(LOG_NOTICE, m->qid,
                    "suppression list: <%s> is suppressed (%s) in %s region %s: recipient "
                    "refused",
                    safe, at.reason, name, at.region);
            ret = ENGINE_RCPT_REJECT;
        } else if (sc->supp_on_tempfail && reply != NULL) {
            engine_suppress_note(m->ext, addr, name, a, &at, "tempfail");
            engine_suppress_expand(sc->supp_tempfail_text, addr, "", at.region, text, sizeof(text));
            engine_suppress_reply(reply, "451", text);
            log_msg(LOG_WARNING, m->qid,
                    "suppression list: <%s> could not be checked in %s region %s (%s): "
                    "recipient tempfailed",
                    safe, name, at.region, at.detail);
            ret = ENGINE_RCPT_TEMPFAIL;
        } else {
            engine_suppress_note(m->ext, addr, name, a, &at, "accepted");
            log_msg(LOG_WARNING, m->qid,
                    "suppression list: <%s> could not be checked in %s region %s (%s): "
                    "accepted (ses.suppression.on_tempfail = accept)",
                    safe, name, at.region, at.detail);
        }
    }
    if (!asked && !__atomic_exchange_n(&engine_suppress_none_said, 1, __ATOMIC_RELAXED))
        log_msg(LOG_WARNING, m->qid,
                "ses.suppression is on, but no identity source keeps a suppression list "
                "(set suppression = true in an SES source's block): recipients are not checked");
    free(addr);
    return ret;
}

void
engine_suppress_free(msg_ext *e)
{
    for (size_t i = 0; i < e->n_supp; i++)
        free(e->supp[i].rcpt);
    free(e->supp);
    e->supp = NULL;
    e->n_supp = 0;
}
