/*
 * milter.c - thin libmilter callbacks
 *
 * Purpose: translate libmilter's callbacks into engine calls and the
 * engine's verdict into libmilter's replies.  Nothing here decides
 * anything: each callback finds the connection's sm_msg, hands the stage
 * to the engine and maps the answer to SMFIS_*.  Mail that is not
 * outgoing is accepted at DATA, before its headers and body are sent.
 */
#include "config.h"

#include <libmilter/mfapi.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "lib/log.h"
#include "milter/milter.h"
#include "milter/milter_proto.h"
#include "engine/msg.h"
#include "lib/util.h"

static pthread_mutex_t milter_lock = PTHREAD_MUTEX_INITIALIZER;
static int milter_conns;    /* connections open */
static int milter_txns;     /* transactions between MAIL FROM and end of message/abort */
static int milter_draining; /* SIGTERM: no new connection or transaction */

#define MILTER_MSG(ctx) ((sm_msg *)smfi_getpriv(ctx))

int
milter_in_flight(void)
{
    int n;

    pthread_mutex_lock(&milter_lock);
    n = milter_txns;
    pthread_mutex_unlock(&milter_lock);
    return n;
}

void
milter_drain(void)
{
    pthread_mutex_lock(&milter_lock);
    milter_draining = 1;
    pthread_mutex_unlock(&milter_lock);
}

static int
milter_is_draining(void)
{
    int d;

    pthread_mutex_lock(&milter_lock);
    d = milter_draining;
    pthread_mutex_unlock(&milter_lock);
    return d;
}

/* milter_txn - a transaction starts (+1) or ends (-1) */
static void
milter_txn(sm_msg *m, int start)
{
    if (start == m->in_txn)
        return;
    m->in_txn = start;
    pthread_mutex_lock(&milter_lock);
    milter_txns += start ? 1 : -1;
    pthread_mutex_unlock(&milter_lock);
}

/* milter_qid - the MTA's queue id, once it is known */
static void
milter_qid(SMFICTX *ctx, sm_msg *m)
{
    const char *qid = smfi_getsymval(ctx, "{i}");

    if (qid == NULL)
        qid = smfi_getsymval(ctx, "i");
    if (qid != NULL && *qid)
        util_strlcpy(m->qid, qid, sizeof(m->qid));
}

/* milter_attach - the connection's sm_msg, created on first use */
static sm_msg *
milter_attach(SMFICTX *ctx)
{
    sm_msg *m = MILTER_MSG(ctx);

    if (m == NULL) {
        m = msg_new();
        smfi_setpriv(ctx, m);
        pthread_mutex_lock(&milter_lock);
        milter_conns++;
        pthread_mutex_unlock(&milter_lock);
    }
    return m;
}

static sfsistat
milter_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2,
                 unsigned long f3, unsigned long *pf0, unsigned long *pf1, unsigned long *pf2,
                 unsigned long *pf3)
{
    sm_msg *m = milter_attach(ctx);

    (void)f2;
    (void)f3;
    milter_proto_negotiate(ctx, f0, f1, pf0, pf1);
    /* recipients may be refused (suppression list): the MTA waits for the RCPT reply */
    if (engine_rcpt_wants_reply())
        *pf1 &= ~(unsigned long)SMFIP_NR_RCPT;
    m->noreply = *pf1 & MILTER_PROTO_NR_STEPS;
    m->leadspc = (*pf1 & SMFIP_HDR_LEADSPC) != 0;
    m->can_skip = (*pf1 & SMFIP_SKIP) != 0;
    *pf2 = 0;
    *pf3 = 0;
    return SMFIS_CONTINUE;
}

/* milter_reply - SMFIS_NOREPLY where that reply was negotiated away, else r */
static sfsistat
milter_reply(const sm_msg *m, unsigned long nr_flag, sfsistat r)
{
    return m != NULL && (m->noreply & nr_flag) ? SMFIS_NOREPLY : r;
}

static sfsistat
milter_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *sa)
{
    sm_msg *m = milter_attach(ctx);

    msg_set_client(m, hostname, sa);
    /* stopping: the MTA's default action applies (tempfail: the client keeps the mail);
     * without a reply to connect, MAIL FROM refuses instead */
    return milter_reply(m, SMFIP_NR_CONN, milter_is_draining() ? SMFIS_TEMPFAIL : SMFIS_CONTINUE);
}

static sfsistat
milter_envfrom(SMFICTX *ctx, char **argv)
{
    sm_msg *m = MILTER_MSG(ctx);
    const char *auth, *j;

    if (m == NULL)
        return SMFIS_TEMPFAIL;
    milter_txn(m, 0);
    msg_reset(m);
    if (milter_is_draining()) {
        smfi_setreply(ctx, "421", "4.3.2", "ses-milter is restarting, try again later");
        return SMFIS_TEMPFAIL;
    }
    milter_txn(m, 1);
    m->msg_count++;
    milter_qid(ctx, m);
    auth = smfi_getsymval(ctx, "{auth_authen}");
    m->auth_authen = auth && *auth ? xstrdup(auth) : NULL;
    j = smfi_getsymval(ctx, "j");
    m->mta_name = j && *j ? xstrdup(j) : NULL;
    m->env_from = xstrdup(argv && argv[0] ? argv[0] : "");
    msg_set_mail_args(m, argv && argv[0] ? argv + 1 : NULL);
    if (engine_msg_start(m) < 0) {
        log_msg(LOG_ERR, m->qid, "no configuration loaded: tempfail");
        return SMFIS_TEMPFAIL;
    }
    /* mail out of scope is accepted at DATA, where Postfix sends the queue id */
    return SMFIS_CONTINUE;
}

/* milter_reply_text - libmilter treats '%' as a format character: double it */
static char *
milter_reply_text(const char *text)
{
    size_t n = 0;
    char *out, *o;

    for (const char *p = text; *p; p++)
        n += *p == '%' ? 2 : 1;
    out = o = xmalloc(n + 1);
    for (const char *p = text; *p; p++) {
        if (*p == '\r' || *p == '\n')
            continue;
        *o++ = *p;
        if (*p == '%')
            *o++ = '%';
    }
    *o = '\0';
    return out;
}

/* milter_refuse - set the reply of a refusing verdict; SMFIS_REJECT/TEMPFAIL, else CONTINUE */
static sfsistat
milter_refuse(SMFICTX *ctx, const sm_verdict *v)
{
    char *text;

    if (v->action != VERDICT_REJECT && v->action != VERDICT_TEMPFAIL)
        return SMFIS_CONTINUE;
    text = milter_reply_text(v->text ? v->text : "");
    smfi_setreply(ctx, (char *)v->code, (char *)v->xcode, text);
    free(text);
    return v->action == VERDICT_REJECT ? SMFIS_REJECT : SMFIS_TEMPFAIL;
}

static sfsistat
milter_envrcpt(SMFICTX *ctx, char **argv)
{
    sm_msg *m = MILTER_MSG(ctx);
    engine_reply rep;
    int r = ENGINE_RCPT_CONTINUE;

    if (m == NULL)
        return SMFIS_TEMPFAIL;
    if (engine_outgoing(m) && argv && argv[0])
        r = engine_rcpt(m, argv[0], smfi_getsymval(ctx, "{rcpt_mailer}"),
                        (m->noreply & SMFIP_NR_RCPT) ? NULL : &rep);
    if (r != ENGINE_RCPT_CONTINUE) {
        char *text = milter_reply_text(rep.text);
        smfi_setreply(ctx, rep.code, rep.xcode, text);
        free(text);
        return r == ENGINE_RCPT_REJECT ? SMFIS_REJECT : SMFIS_TEMPFAIL;
    }
    return milter_reply(m, SMFIP_NR_RCPT, SMFIS_CONTINUE);
}

/*
 * milter_data - mail out of scope is accepted here: Postfix assigns the queue
 * id only once a recipient was accepted, and sends it ({i}) with DATA, so the
 * debug line about passing it untouched carries the id like every other line.
 */
static sfsistat
milter_data(SMFICTX *ctx)
{
    sm_msg *m = MILTER_MSG(ctx);

    if (m == NULL)
        return SMFIS_TEMPFAIL;
    if (!engine_outgoing(m)) {
        milter_qid(ctx, m);
        engine_pass_inbound(m);
        msg_reset(m);
        milter_txn(m, 0);
        return SMFIS_ACCEPT;
    }
    milter_qid(ctx, m);
    return SMFIS_CONTINUE;
}

static sfsistat
milter_header(SMFICTX *ctx, char *name, char *value)
{
    sm_msg *m = MILTER_MSG(ctx);

    if (m != NULL)
        engine_header(m, name, value);
    return milter_reply(m, SMFIP_NR_HDR, SMFIS_CONTINUE);
}

static sfsistat
milter_eoh(SMFICTX *ctx)
{
    sm_msg *m = MILTER_MSG(ctx);

    if (m != NULL)
        m->want_body = engine_eoh(m);
    /* SMFIS_SKIP is only allowed in the body callback */
    return milter_reply(m, SMFIP_NR_EOH, SMFIS_CONTINUE);
}

static sfsistat
milter_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
    sm_msg *m = MILTER_MSG(ctx);

    if (m != NULL && m->want_body)
        m->want_body = engine_body(m, chunk, len);
    /* SMFIS_SKIP spares the MTA the rest of a body nothing reads, where it waits for replies */
    return milter_reply(m, SMFIP_NR_BODY,
                        m == NULL || m->want_body || !m->can_skip ? SMFIS_CONTINUE : SMFIS_SKIP);
}

/* milter_apply - carry out the verdict's recipient and header changes */
static void
milter_apply(SMFICTX *ctx, sm_msg *m)
{
    const sm_verdict *v = &m->verdict;

    for (size_t i = 0; i < v->ndelrcpt; i++) {
        char addr[512];
        if (smfi_delrcpt(ctx, v->delrcpt[i]) != MI_SUCCESS)
            log_msg(LOG_WARNING, m->qid, "could not remove recipient <%s>",
                    log_sanitize(v->delrcpt[i], addr, sizeof(addr)));
    }

    for (size_t i = 0; i < v->ndel; i++)
        if (smfi_chgheader(ctx, v->del[i].name, v->del[i].index, NULL) != MI_SUCCESS)
            log_msg(LOG_WARNING, m->qid, "could not remove header %s", v->del[i].name);
    for (size_t i = 0; i < v->nadd; i++) {
        /* with SMFIP_HDR_LEADSPC the MTA takes the value as is: give it its space */
        char *value = m->leadspc ? xasprintf(" %s", v->add[i].value) : NULL;
        if (smfi_insheader(ctx, 0, v->add[i].name, value ? value : v->add[i].value) != MI_SUCCESS)
            log_msg(LOG_WARNING, m->qid, "could not add header %s", v->add[i].name);
        free(value);
    }
}

static sfsistat
milter_eom(SMFICTX *ctx)
{
    sm_msg *m = MILTER_MSG(ctx);
    sm_verdict *v;
    sfsistat r = SMFIS_ACCEPT;

    if (m == NULL)
        return SMFIS_TEMPFAIL;
    milter_qid(ctx, m);
    engine_eom(m);
    v = &m->verdict;
    if (v->action == VERDICT_REJECT || v->action == VERDICT_TEMPFAIL) {
        r = milter_refuse(ctx, v);
    } else if (v->action == VERDICT_DISCARD) {
        r = SMFIS_DISCARD;
    } else {
        milter_apply(ctx, m);
        if (v->action == VERDICT_QUARANTINE &&
            smfi_quarantine(ctx, v->reason ? v->reason : (char *)"ses-milter") != MI_SUCCESS)
            log_msg(LOG_WARNING, m->qid, "could not quarantine the message");
    }
    msg_reset(m);
    milter_txn(m, 0);
    return r;
}

static sfsistat
milter_abort(SMFICTX *ctx)
{
    sm_msg *m = MILTER_MSG(ctx);

    if (m != NULL) {
        engine_abort(m);
        msg_reset(m);
        milter_txn(m, 0);
    }
    return SMFIS_CONTINUE;
}

static sfsistat
milter_close(SMFICTX *ctx)
{
    sm_msg *m = MILTER_MSG(ctx);

    if (m != NULL) {
        smfi_setpriv(ctx, NULL);
        milter_txn(m, 0);
        msg_free(m);
        pthread_mutex_lock(&milter_lock);
        milter_conns--;
        pthread_mutex_unlock(&milter_lock);
    }
    return SMFIS_CONTINUE;
}

int
milter_register(const char *name)
{
    struct smfiDesc desc;

    memset(&desc, 0, sizeof(desc));
    desc.xxfi_name = (char *)name;
    desc.xxfi_version = SMFI_VERSION;
    desc.xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE | SMFIF_DELRCPT;
    desc.xxfi_connect = milter_connect;
    desc.xxfi_envfrom = milter_envfrom;
    desc.xxfi_envrcpt = milter_envrcpt;
    desc.xxfi_data = milter_data;
    desc.xxfi_header = milter_header;
    desc.xxfi_eoh = milter_eoh;
    desc.xxfi_body = milter_body;
    desc.xxfi_eom = milter_eom;
    desc.xxfi_abort = milter_abort;
    desc.xxfi_close = milter_close;
    desc.xxfi_negotiate = milter_negotiate;
    return smfi_register(desc) == MI_SUCCESS ? 0 : -1;
}
