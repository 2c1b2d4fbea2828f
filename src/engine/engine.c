/*
 * engine.c - the policy engine
 *
 * Purpose: turn the facts of one message into one verdict.  At end of
 * message, for outgoing mail only: the identity gate (From, Sender, MAIL
 * FROM against the identity sources), then the alignment checks (DKIM
 * verified while the message streamed, SPF of the domain the receiver will
 * see, DMARC policy) unless the gate already refused, then the unsubscribe
 * headers and the unsubscribe store's answer for the message's list
 * (unsub_honour.c: drop, refuse or tag recipients who unsubscribed).
 * The strictest outcome wins: reject, then tempfail, then quarantine, then
 * tag.  Every lookup of one message (the gate's, the SES
 * identity's DKIM / MAIL FROM details, SPF, DMARC) shares one absolute
 * deadline, computed once at end of message: identity.lookup_timeout_ms
 * from then (alignment.dns.timeout_ms when there is no identity gate);
 * the DNS timeout still bounds each DNS query.  The identity gate's
 * lookups end a quarter of it early (at most alignment.dns.timeout_ms)
 * when alignment follows, so that the alignment lookups always have time.
 * A source that cannot answer is a temporary error, never a refusal; a stale answer served
 * because the source failed is logged once per message.  The audit record is written before the
 * verdict is returned; one summary line per message is logged, keyed by queue id. Mail out of scope
 * is logged at debug level and passes untouched.  System mail (every recipient local, or
 * the MTA's own bounce: scope.h) is accepted without any check, logged and audited.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "engine/account.h"
#include "lib/addr.h"
#include "engine/services.h"
#include "engine/engine.h"
#include "engine/engine_int.h"
#include "engine/engine_ses.h"
#include "engine/engine_suppress.h"
#include "lib/log.h"
#include "lib/util.h"

#define ENGINE_MAX_FROM 16 /* From mailboxes checked; more make the field unusable */
#define ENGINE_STR(x) #x
#define ENGINE_XSTR(x) ENGINE_STR(x)
#define ENGINE_OVERFLOW_WHY                                                                        \
    "message header over the limit of " ENGINE_XSTR(MSG_MAX_HEADERS) " fields or 256 KiB"

/* engine_begin - MAIL FROM: scope (probe: in scope whatever the client) and per-message state */
static int
engine_begin(sm_msg *m, int probe)
{
    scope_client cl;
    sm_services *x;
    char err[512];

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
    m->scope = probe ? SCOPE_ALL : scope_decide(m->conf->scope, &cl);
    if (m->scope == SCOPE_EXTERNAL)
        return 0;
    m->ext = xcalloc(1, sizeof(*m->ext));
    m->ext_free = engine_msg_free;
    m->ext->probe = probe;
    m->ext->gate.decisive = -1;
    /* nothing parsed yet: a transaction that ends before end of message has no From */
    m->ext->from_status = GATE_FROM_NONE;
    x = services_of(m->conf);
    if (x->dkim != NULL) {
        m->ext->dkv = sdkim_verify_new(x->dkim, m->qid, err, sizeof(err));
        if (m->ext->dkv == NULL)
            log_msg(LOG_WARNING, m->qid, "DKIM verification unavailable: %s", err);
    }
    return 0;
}

int
engine_msg_start(sm_msg *m)
{
    return engine_begin(m, 0);
}

int
engine_probe_start(sm_msg *m)
{
    return engine_begin(m, 1);
}

void
engine_pass_inbound(sm_msg *m)
{
    char ip[64], host[256], env[512];

    metrics_message(METRICS_SCOPE_EXTERNAL, METRICS_ACTION_ACCEPT, METRICS_REASON_OUT_OF_SCOPE);
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

int
engine_rcpt_wants_reply(void)
{
    sm_conf *c = conf_acquire();
    int want = engine_suppress_wanted(c) || (c != NULL && account_wants_rcpt(services_of(c)));

    conf_release(c);
    return want;
}

/*
 * engine_rcpt_account - the account's checks of a recipient that leaves through it
 * (account.c: sandbox, reputation, quota) as an engine_rcpt_result with its reply
 */
static int
engine_rcpt_account(sm_msg *m, const char *rcpt, int local, engine_reply *reply)
{
    sm_verdict v;
    verdict_action a = VERDICT_ACCEPT;

    memset(&v, 0, sizeof(v));
    /* a local recipient is not sent through the account; ses-milter -t asks too */
    if (!local && m->ext != NULL)
        a = account_rcpt(m, &m->ext->acct, rcpt, &v);
    if (a != VERDICT_ACCEPT && reply != NULL) {
        util_strlcpy(reply->code,
                     v.code[0]             ? v.code
                     : a == VERDICT_REJECT ? "550"
                                           : "451",
                     sizeof(reply->code));
        util_strlcpy(reply->xcode,
                     v.xcode[0]            ? v.xcode
                     : a == VERDICT_REJECT ? "5.7.1"
                                           : "4.7.1",
                     sizeof(reply->xcode));
        util_strlcpy(reply->text, v.text ? v.text : "", sizeof(reply->text));
    }
    verdict_clear(&v);
    if (a == VERDICT_ACCEPT || reply == NULL)
        return ENGINE_RCPT_CONTINUE; /* reply NULL: the MTA does not wait for it */
    return a == VERDICT_REJECT ? ENGINE_RCPT_REJECT : ENGINE_RCPT_TEMPFAIL;
}

int
engine_rcpt(sm_msg *m, const char *rcpt, const char *mailer, engine_reply *reply)
{
    int r = engine_suppress_rcpt(m, rcpt, mailer, reply);
    size_t n = strlen(rcpt);
    char *bare;
    int local;

    if (r != ENGINE_RCPT_CONTINUE)
        return r; /* not a recipient of this message */
    bare =
        n >= 2 && rcpt[0] == '<' && rcpt[n - 1] == '>' ? xstrndup(rcpt + 1, n - 2) : xstrdup(rcpt);
    local = scope_local_rcpt(m->conf->scope, bare, mailer, m->mta_name);
    free(bare);
    if ((r = engine_rcpt_account(m, rcpt, local, reply)) != ENGINE_RCPT_CONTINUE)
        return r;
    msg_add_rcpt(m, rcpt);
    if (local)
        m->n_rcpt_local++;
    return ENGINE_RCPT_CONTINUE;
}

void
engine_header(sm_msg *m, const char *name, const char *value)
{
    const char *v = value;

    if (!engine_outgoing(m))
        return;
    if (m->leadspc && *v == ' ')
        v++;
    /* past the header limits, the fields a concern reads are still kept */
    msg_add_header(m, name, v,
                   strcasecmp(name, "Message-ID") == 0 ||
                       unsub_header_wanted(services_of(m->conf)->unsub, name));
    /* DKIM sees the header exactly as it was: "name:" + the raw value */
    if (m->ext->dkv != NULL) {
        if (m->leadspc)
            sdkim_verify_header_raw(m->ext->dkv, name, value);
        else
            sdkim_verify_header(m->ext->dkv, name, value);
    }
}

int
engine_eoh(sm_msg *m)
{
    if (!engine_outgoing(m) || m->ext->dkv == NULL)
        return 0;
    if (sdkim_verify_eoh(m->ext->dkv) == SDKIM_VERIFY_SKIP) {
        m->ext->dkim_nosig = 1;
        return 0;
    }
    return 1;
}

int
engine_body(sm_msg *m, const unsigned char *chunk, size_t len)
{
    if (!engine_outgoing(m) || m->ext->dkv == NULL || m->ext->dkim_nosig)
        return 0;
    return sdkim_verify_body(m->ext->dkv, chunk, len) == SDKIM_VERIFY_OK;
}

/*
 * engine_parse_from - the From field's mailboxes.  Every From field counts, also one
 * past the header limits; each mailbox of a group counts (RFC 6854).  More mailboxes
 * than are checked, or one without a domain name, make the field unusable; a field
 * that names no mailbox (only an empty group) is a case of its own.
 */
static gate_from_status
engine_parse_from(sm_msg *m, msg_ext *e)
{
    char err[256];
    const char *v;
    addr_status st;

    if (m->n_from_seen == 0)
        return GATE_FROM_NONE;
    if (m->n_from_seen > 1)
        return GATE_FROM_MULTIPLE;
    if ((v = msg_header_get(m, "From", 0)) == NULL)
        return GATE_FROM_UNPARSEABLE; /* seen, too large to keep */
    st = addr_parse_field(v, strlen(v), &e->from, err, sizeof(err));
    if (st == ADDR_EMPTY)
        return strchr(v, ':') != NULL ? GATE_FROM_EMPTY : GATE_FROM_UNPARSEABLE;
    if (st != ADDR_OK || e->from->n > ENGINE_MAX_FROM)
        return GATE_FROM_UNPARSEABLE;
    for (size_t i = 0; i < e->from->n; i++)
        if (e->from->v[i].domain == NULL || e->from->v[i].domain_literal)
            return GATE_FROM_UNPARSEABLE;
    return GATE_FROM_OK;
}

/*
 * engine_parse_sender - the Sender field: exactly one mailbox with a domain name, not
 * in a group (RFC 5322 3.6.2), in at most one field.  GATE_FROM_NONE when there is
 * none; otherwise e->sender_field is the field at fault.
 */
static gate_from_status
engine_parse_sender(sm_msg *m, msg_ext *e)
{
    char err[256];
    const char *v;

    if (m->n_sender_seen == 0)
        return GATE_FROM_NONE;
    e->sender_field = msg_header_get(m, "Sender", m->n_sender_seen > 1 ? 1 : 0);
    if (m->n_sender_seen > 1)
        return GATE_FROM_MULTIPLE;
    if ((v = e->sender_field) == NULL)
        return GATE_FROM_UNPARSEABLE;
    if (addr_parse_field(v, strlen(v), &e->sender, err, sizeof(err)) != ADDR_OK ||
        e->sender->n != 1 || e->sender->v[0].domain == NULL || e->sender->v[0].domain_literal ||
        e->sender->v[0].group != NULL) {
        e->sender = addr_list_free(e->sender);
        return GATE_FROM_UNPARSEABLE;
    }
    return GATE_FROM_OK;
}

/* engine_parse_addresses - From, Sender and MAIL FROM for the gate */
static void
engine_parse_addresses(sm_msg *m, msg_ext *e)
{
    char err[256];

    e->from_status = engine_parse_from(m, e);
    e->sender_status = engine_parse_sender(m, e);
    e->env_ok = addr_parse_path(m->env_from ? m->env_from : "", &e->env, &e->env_null, err,
                                sizeof(err)) == ADDR_OK;
}

/*
 * engine_gate_deadline - the identity gate's part of the message deadline.  When the
 * alignment prediction follows, its lookups (SES details, DMARC and SPF DNS queries) keep
 * the last quarter of lookup_timeout_ms, at most alignment.dns.timeout_ms: a source that
 * hangs until the deadline (its answer then served stale) would otherwise leave no time to
 * ask again for a DNS record whose cached copy just expired, and a verified sender would
 * get a DMARC temperror.
 */
static uint64_t
engine_gate_deadline(const msg_ext *e, const sm_services *x)
{
    long ms = x->gate->lookup_timeout_ms, reserve = ms / 4;

    if (!x->align->enabled)
        return e->deadline_ms;
    if (reserve > x->align->dns.timeout_ms)
        reserve = x->align->dns.timeout_ms;
    return e->deadline_ms - (uint64_t)(reserve > 0 ? reserve : 0);
}

/* engine_gate - the identity gate; fills e->gate */
static void
engine_gate(sm_msg *m, msg_ext *e, sm_services *x)
{
    gate_mailbox from[ENGINE_MAX_FROM], sender, env;
    gate_input in;
    char err[512];

    memset(&in, 0, sizeof(in));
    in.from_status = e->from_status;
    if (e->from_status == GATE_FROM_OK) {
        for (size_t i = 0; i < e->from->n && i < SM_ARRAY_LEN(from); i++) {
            from[i].local = e->from->v[i].local;
            from[i].domain = e->from->v[i].domain;
            in.n_from++;
        }
        in.from = from;
    }
    if (e->sender != NULL) {
        sender.local = e->sender->v[0].local;
        sender.domain = e->sender->v[0].domain;
        in.sender = &sender;
    }
    in.sender_status = e->sender_status;
    in.sender_field = e->sender_field;
    in.hdr_overflow = m->hdr_overflow ? ENGINE_OVERFLOW_WHY : NULL;
    in.utf8 = m->smtputf8;
    if (e->env_ok && !e->env_null && e->env.domain != NULL) {
        env.local = e->env.local;
        env.domain = e->env.domain;
        in.envelope = &env;
    }
    in.queue_id = m->qid;
    in.deadline_ms = engine_gate_deadline(e, x);
    in.source = engine_ses_source(e);
    if (gate_check(x->gate, x->chain, x->idcache, &in, &e->gate, err, sizeof(err)) < 0) {
        log_msg(LOG_ERR, m->qid, "identity gate: %s", err);
        e->gate.verdict = GATE_TEMPFAIL;
        e->gate.action = GATE_TEMPFAIL_ACT;
        util_strlcpy(e->gate.smtp_code, "451", sizeof(e->gate.smtp_code));
        util_strlcpy(e->gate.smtp_xcode, "4.3.0", sizeof(e->gate.smtp_xcode));
        util_strlcpy(e->gate.smtp_text, "Internal error checking the sender identity",
                     sizeof(e->gate.smtp_text));
    }
    e->gate_done = 1;
}

/* engine_gate_verdict - the gate's action as a verdict */
static void
engine_gate_verdict(msg_ext *e, sm_verdict *v)
{
    gate_result *g = &e->gate;

    switch (g->action) {
    case GATE_REJECT:
        verdict_set(v, VERDICT_REJECT, g->smtp_code, g->smtp_xcode, g->smtp_text);
        break;
    case GATE_TEMPFAIL_ACT:
        verdict_set(v, VERDICT_TEMPFAIL, g->smtp_code, g->smtp_xcode, g->smtp_text);
        break;
    case GATE_QUARANTINE:
        v->action = VERDICT_QUARANTINE;
        free(v->reason);
        v->reason = xstrdup(g->reason);
        break;
    case GATE_TAG:
        verdict_add_header(v, g->header_name, g->header_value);
        break;
    default:
        break;
    }
}

/* engine_spf - the SPF result the receiver would see for the domain that will be MAIL FROM */
static align_spf
engine_spf(msg_ext *e, sm_services *x, const char *domain, uint64_t deadline)
{
    const align_conf *ac = x->align;
    const char *mail_from;

    if (domain == NULL || *domain == '\0')
        return ALIGN_SPF_NONE;
    if (ac->egress_ips.n == 0) {
        /* no egress addresses declared: SES sends from its own addresses, which its
         * MAIL FROM domains (amazonses.com, or a verified custom one) authorise */
        return ac->relay == ALIGN_RELAY_SES ? ALIGN_SPF_PASS : ALIGN_SPF_NONE;
    }
    /* with the addresses declared the relay sends with the envelope sender itself as MAIL
     * FROM: %{l} is its local part; for any other domain (a rewritten one) it is unknown,
     * and check_host() uses "postmaster" (RFC 7208 4.3) */
    mail_from =
        e->env_ok && !e->env_null && strcasecmp(e->env.domain, domain) == 0 ? e->env.address : NULL;
    spf_check_ips(x->spf, (const char *const *)ac->egress_ips.v, ac->egress_ips.n, domain,
                  mail_from, NULL, deadline, &e->spf);
    e->spf_done = 1;
    return (align_spf)align_spf_parse(spf_result_name(e->spf.result));
}

/* engine_deadline - the absolute deadline of every lookup of the message, from now */
static uint64_t
engine_deadline(const sm_services *x)
{
    long ms = x->gate->present ? x->gate->lookup_timeout_ms : x->align->dns.timeout_ms;

    return util_now_ms() + (uint64_t)(ms > 0 ? ms : 1);
}

static int
engine_has_details(const sm_id_attrs *a)
{
    return a->dkim_status[0] || a->dkim_signing_enabled != SM_TRI_UNKNOWN || a->mail_from_domain[0];
}

/*
 * engine_id_details - a bulk warm-up (SES ListEmailIdentities) caches whether an
 * identity may send, not its DKIM and MAIL FROM settings.  When the alignment
 * prediction needs them, ask the source once (GetEmailIdentity), bypassing the
 * cache, and store the detailed answer so later messages find it there.
 * Returns 0 when the details are known or the source answered without them,
 * -1 when the source could not answer (why in why_r): a temporary error.  A
 * stale answer means the source already failed this message: it is not asked.
 */
static int
engine_id_details(sm_msg *m, sm_services *x, identity_result *r, uint64_t deadline, char *why_r,
                  size_t whylen)
{
    sm_id_attrs *a = &r->attrs;
    cache_answer ans;

    if (engine_has_details(a) || !r->instance[0] || !r->matched[0] || x->chain == NULL)
        return 0;
    if (r->origin == CACHE_STALE) {
        util_strlcpy(why_r, r->why[0] ? r->why : "the source could not answer", whylen);
        return -1;
    }
    for (size_t i = 0; i < plugin_chain_count(x->chain); i++) {
        plugin_instance *pi = plugin_chain_get(x->chain, i);
        sm_id_kind kind = strchr(r->matched, '@') ? SM_IDKIND_ADDRESS : SM_IDKIND_DOMAIN;
        sm_id_answer got;

        if (strcmp(plugin_instance_name(pi), r->instance) != 0)
            continue;
        got = plugin_instance_lookup(pi, NULL, r->matched, kind, deadline, m->qid, &ans);
        if (got == SM_ID_TEMPFAIL) {
            util_strlcpy(why_r,
                         ans.attrs.detail[0] ? ans.attrs.detail : "the source could not answer",
                         whylen);
            return -1;
        }
        if (got == r->answer && engine_has_details(&ans.attrs)) {
            cache_put(x->idcache, r->instance, r->matched, kind, ans.answer, &ans.attrs);
            *a = ans.attrs;
        }
        return 0;
    }
    return 0;
}

/* engine_align - DKIM/SPF/DMARC prediction within the message deadline; fills e->align */
static void
engine_align(sm_msg *m, msg_ext *e, sm_services *x)
{
    align_facts f;
    align_dkim_sig sigs[ALIGN_MAX_DKIM];
    const sm_id_attrs *a = NULL;
    uint64_t deadline = e->deadline_ms;
    char why[sizeof(e->gate.ids[0].r.attrs.detail)];
    const char *authors[ENGINE_MAX_FROM];
    size_t nauthors = 0;
    int failed = 0;

    if (e->dkv != NULL && sdkim_verify_eom(e->dkv, &e->sigs, &e->nsigs) == SDKIM_VERIFY_ERROR)
        log_msg(LOG_WARNING, m->qid, "DKIM verification: %s", sdkim_verify_error(e->dkv));
    align_facts_init(&f, x->align);
    f.from_domain = e->from->v[0].domain;
    f.envelope_domain = e->env_ok && !e->env_null ? e->env.domain : "";
    for (size_t i = 0; i < e->nsigs && i < ALIGN_MAX_DKIM; i++) {
        sigs[i].domain = e->sigs[i].domain;
        sigs[i].selector = e->sigs[i].selector;
        sigs[i].pass = e->sigs[i].result == SDKIM_R_PASS;
        f.nsigs++;
    }
    f.sigs = sigs;
    for (size_t i = 0; i < e->gate.n_ids; i++) {
        identity_result *ir = &e->gate.ids[i].r;
        if (e->gate.ids[i].role != GATE_ROLE_FROM)
            continue;
        if (x->align->relay == ALIGN_RELAY_SES &&
            (ir->origin == CACHE_HIT || ir->origin == CACHE_STALE || ir->origin == CACHE_REDIS) &&
            !failed && engine_id_details(m, x, ir, deadline, why, sizeof(why)) < 0)
            failed = 1;
        if (engine_has_details(&ir->attrs)) {
            a = &ir->attrs;
            break;
        }
    }
    f.ses = a;
    f.ses_failed = a == NULL && failed ? why : NULL;
    f.deadline_ms = deadline;
    f.spf_result = engine_spf(e, x, align_spf_domain(&f), deadline);
    for (size_t i = 0; i < e->from->n && i < SM_ARRAY_LEN(authors); i++)
        authors[nauthors++] = e->from->v[i].domain;
    align_check_authors(x->align, x->dns, &f, authors, nauthors, &e->align);
    e->align_done = 1;
}

/* engine_align_verdict - the alignment decision as a verdict */
static void
engine_align_verdict(msg_ext *e, sm_services *x, sm_verdict *v)
{
    char value[1024], text[512];
    align_result *r = &e->align;

    /* a tag is the result header itself (align_tag_header): one header, not two; the
     * providers' verdicts are appended to it later (engine_providers) */
    if (x->align->result_header != NULL && *x->align->result_header && r->decision != ALIGN_TAG) {
        e->align_hdr = v->nadd + 1;
        verdict_add_header(v, x->align->result_header, align_header_value(r, value, sizeof(value)));
    }
    log_sanitize(r->reasons[0], text, sizeof(text));
    switch (r->decision) {
    case ALIGN_TAG:
        e->align_hdr = v->nadd + 1;
        verdict_add_header(v, align_tag_header(x->align),
                           align_header_value(r, value, sizeof(value)));
        break;
    case ALIGN_QUARANTINE:
        if (v->action == VERDICT_ACCEPT) {
            v->action = VERDICT_QUARANTINE;
            free(v->reason);
            v->reason = xstrdup(text);
        }
        break;
    case ALIGN_REJECT:
        verdict_set(v, VERDICT_REJECT, "550", "5.7.1", text);
        break;
    case ALIGN_TEMPFAIL:
        verdict_set(v, VERDICT_TEMPFAIL, "451", "4.7.5",
                    "The DMARC prediction could not be completed now (a DNS or identity source "
                    "lookup failed); try again later");
        break;
    default:
        break;
    }
}

/* engine_unsub - one-click unsubscribe headers; fills e->unsub */
static void
engine_unsub(sm_msg *m, msg_ext *e, sm_services *x)
{
    unsub_hdr hdrs[64];
    unsub_msg um;
    char err[512];

    memset(&um, 0, sizeof(um));
    um.env_sender = e->env_ok && !e->env_null ? e->env.address : "";
    um.from_addr = engine_first_from(e);
    um.rcpts = (const char *const *)m->rcpts;
    um.n_rcpts = m->nrcpts;
    um.message_id = msg_header_get(m, "Message-ID", 0);
    for (size_t i = 0; i < m->nhdrs && um.n_hdrs < SM_ARRAY_LEN(hdrs); i++)
        if (unsub_header_wanted(x->unsub, m->hdrs[i].name)) {
            hdrs[um.n_hdrs].name = m->hdrs[i].name;
            hdrs[um.n_hdrs++].value = m->hdrs[i].value;
        }
    um.hdrs = hdrs;
    um.now = (int64_t)(util_wall_ms() / 1000);
    if (unsub_decide(x->unsub, &um, &e->unsub, err, sizeof(err)) < 0) {
        log_msg(LOG_WARNING, m->qid, "unsubscribe: %s", err);
        return;
    }
    e->unsub_done = 1;
    if (e->unsub.n_add > 0 && !e->probe)
        metrics_unsub_added();
    for (size_t i = 0; i < e->unsub.n_notes; i++)
        log_msg(LOG_NOTICE, m->qid, "unsubscribe: %s", e->unsub.notes[i]);
    for (size_t i = 0; i < e->unsub.n_remove; i++)
        verdict_del_header(&m->verdict, e->unsub.remove[i].name, e->unsub.remove[i].index);
    /* inserted at the top in reverse so that List-Unsubscribe comes first */
    for (size_t i = e->unsub.n_add; i-- > 0;)
        verdict_add_header(&m->verdict, e->unsub.add[i].name, e->unsub.add[i].value);
}

/* engine_log_stale - one line for the answers served stale because their source failed */
static void
engine_log_stale(sm_msg *m, msg_ext *e)
{
    char line[2048], addr[IDENTITY_MAX], why[sizeof(e->gate.ids[0].r.why)];
    size_t o = 0;

    for (size_t i = 0; e->gate_done && i < e->gate.n_ids && o + 1 < sizeof(line); i++) {
        const identity_result *r = &e->gate.ids[i].r;
        if (r->origin != CACHE_STALE)
            continue;
        snprintf(
            line + o, sizeof(line) - o, "%s%s <%s>: %s by %s from source %s, %llu s old; %s",
            o ? "; " : "", gate_role_name(e->gate.ids[i].role),
            log_sanitize(r->address, addr, sizeof(addr)), identity_answer_name(r->answer),
            r->matched[0] ? r->matched : "-", r->instance, (unsigned long long)(r->age_ms / 1000),
            log_sanitize(r->why[0] ? r->why : "the source could not answer", why, sizeof(why)));
        o += strlen(line + o);
    }
    if (o > 0)
        log_msg(LOG_NOTICE, m->qid,
                "identity gate: stale answer served because the source failed: %s", line);
}

/*
 * engine_log_advice - the alignment reasons, one line each.  A refusal, quarantine or
 * tempfail says why (notice); mail let through logs at debug what is in its audit record,
 * except the advice that must be seen whatever the decision (align_result.advise): an
 * SES refusal (notice: the late bounce) and an SPF that does not align (info).
 */
static void
engine_log_advice(sm_msg *m, const align_result *r)
{
    int fate = r->decision != ALIGN_ACCEPT && r->decision != ALIGN_TAG;
    int advice = r->ses_would_reject ? LOG_NOTICE : LOG_INFO;

    if (r->dmarc_result == ALIGN_DMARC_PASS && !r->ses_would_reject && r->advise == 0)
        return;
    for (size_t i = 0; i < r->nreasons; i++) {
        char text[ALIGN_REASON_LEN + 64];
        int level = fate ? LOG_NOTICE : (r->advise & (1u << i)) ? advice : LOG_DEBUG;
        if (log_enabled(level))
            log_msg(level, m->qid, "alignment: %s",
                    log_sanitize(r->reasons[i], text, sizeof(text)));
    }
}

/* engine_log_decisions - one line per refused identity, the alignment reasons
 * (engine_log_advice), and one per malformed field the configuration chose to accept */
static void
engine_log_decisions(sm_msg *m, msg_ext *e, sm_services *x)
{
    engine_log_stale(m, e);
    if (m->hdr_overflow && (!x->gate->present || x->gate->header_overflow == GATE_MF_ACCEPT))
        log_msg(LOG_NOTICE, m->qid,
                "%s: checked with the fields kept (every From and Sender field%s)",
                ENGINE_OVERFLOW_WHY, x->gate->present ? "; identity.header_overflow = accept" : "");
    if (x->gate->present && x->gate->check_sender &&
        x->gate->unparseable_sender == GATE_MF_ACCEPT &&
        (e->sender_status == GATE_FROM_MULTIPLE || e->sender_status == GATE_FROM_UNPARSEABLE))
        log_msg(LOG_NOTICE, m->qid,
                "identity gate: %s not checked (identity.unparseable_sender = accept)",
                e->sender_status == GATE_FROM_MULTIPLE ? "more than one Sender header field"
                                                       : "unparseable Sender header field");
    if (e->gate_done && e->gate.verdict != GATE_PASS && e->gate.reason[0])
        log_msg(e->gate.action == GATE_MONITOR ? LOG_NOTICE : LOG_INFO, m->qid,
                "identity gate: %s%s", e->gate.reason,
                e->gate.action == GATE_MONITOR ? " (monitor mode: accepted)" : "");
    if (e->align_done)
        engine_log_advice(m, &e->align);
}

/*
 * engine_system_mail - system mail (scope.h) passes without any check; returns 1 then.
 * The MTA's own mail must never be refused: a refused bounce is bounced again, then lost.
 */
static int
engine_system_mail(sm_msg *m, msg_ext *e)
{
    const addr_mailbox *from =
        e->from_status == GATE_FROM_OK && e->from->n == 1 ? &e->from->v[0] : NULL;
    scope_sysmail s =
        scope_system_mail(m->conf->scope, m->nrcpts, m->n_rcpt_local, e->env_ok && e->env_null,
                          from ? from->local : NULL, from ? from->domain : NULL, m->mta_name);
    char addr[512];

    if (s == SCOPE_SYS_NONE)
        return 0;
    e->sysmail = (int)s;
    log_msg(LOG_INFO, m->qid, "system mail: %s (%s), from=<%s>: accepted without the identity gate",
            scope_sysmail_name(s),
            s == SCOPE_SYS_LOCAL ? "scope.local_mailers" : "scope.bounce_senders",
            log_sanitize(from ? from->address : "", addr, sizeof(addr)));
    engine_audit(m, e, 0);
    return 1;
}

void
engine_eom(sm_msg *m)
{
    sm_services *x;
    msg_ext *e = m->ext;
    sm_verdict *v = &m->verdict;
    uint64_t t_eom = metrics_clock(), t0;

    verdict_set(v, VERDICT_ACCEPT, NULL, NULL, NULL);
    if (!engine_outgoing(m))
        return;
    x = services_of(m->conf);
    e->deadline_ms = engine_deadline(x);
    engine_parse_addresses(m, e);
    if (engine_system_mail(m, e))
        return;
    engine_ses_rule(m, e, x); /* X-SES-* rule: may name the source the gate asks */
    if (x->gate->present) {
        t0 = metrics_clock();
        engine_gate(m, e, x);
        engine_gate_verdict(e, v);
        metrics_stage_time(METRICS_STAGE_GATE, t0);
    }
    engine_ses_apply(m, e, x); /* the rule's tenant check and headers */
    if (x->align->enabled && e->from_status == GATE_FROM_OK && e->from->n > 0 &&
        v->action != VERDICT_REJECT && v->action != VERDICT_TEMPFAIL) {
        t0 = metrics_clock();
        engine_align(m, e, x);
        engine_align_verdict(e, x, v);
        metrics_stage_time(METRICS_STAGE_ALIGNMENT, t0);
    }
    if (unsub_conf_n_rules(x->unsub) > 0 && v->action != VERDICT_REJECT &&
        v->action != VERDICT_TEMPFAIL) {
        t0 = metrics_clock();
        engine_unsub(m, e, x);
        metrics_stage_time(METRICS_STAGE_UNSUBSCRIBE, t0);
    }
    if (e->align_done)
        engine_providers(m, e, x);
    unsub_honour(x->unsub, m, e->unsub.list_id, e->deadline_ms, &e->optout);
    /* ses-milter -t: the guard and the quota are asked, the quota is not charged */
    account_eom(m, &e->acct, e->unsub_done && e->unsub.rule != NULL, e->deadline_ms, e->probe, v);
    if (e->probe)
        return; /* ses-milter -t: the decision only */
    engine_log_decisions(m, e, x);
    engine_audit(m, e, 0);
    metrics_stage_time(METRICS_STAGE_END_OF_MESSAGE, t_eom);
}

void
engine_abort(sm_msg *m)
{
    if (engine_outgoing(m) && m->env_from != NULL && m->ext != NULL && !m->ext->probe)
        engine_audit(m, m->ext, 1);
}

void
engine_msg_free(sm_msg *m)
{
    msg_ext *e = m->ext;

    if (e == NULL)
        return;
    e->dkv = sdkim_verify_free(e->dkv);
    e->from = addr_list_free(e->from);
    e->sender = addr_list_free(e->sender);
    addr_mailbox_clear(&e->env);
    gate_result_clear(&e->gate);
    unsub_honour_clear(&e->optout);
    unsub_result_clear(&e->unsub);
    engine_suppress_free(e);
    free(e);
    m->ext = NULL;
}
