/*
 * engine_probe.c - ses-milter -t ADDRESS: one sender through the engine
 *
 * Purpose: answer "what would happen to mail from this sender?" from the
 * shell, with the daemon's own code: a message is built in an sm_msg
 * (MAIL FROM:<ADDRESS>, "From: ADDRESS") and handed to engine_probe_start,
 * engine_header, engine_eoh and engine_eom, exactly as the milter
 * callbacks do; only the printing is ours.  For each address the report
 * names the identity that matched (address or domain), its source
 * instance and plugin, the verdict (verified, not verified, unknown and
 * why), the SMTP reply the client would get, and the alignment prediction
 * for the sender's domain with its advice lines.  See engine_probe.h for
 * the exit status.
 *
 * With recipients (-r), each goes through the RCPT-time checks first, as
 * the milter's RCPT callback does: the SES suppression list and, for an
 * account in the sandbox, the recipient's verification; the account's
 * guard and send quota are asked at end of message (the quota is not
 * charged; without recipients the message counts as one send).  The
 * account state is read in the background at start, so the first address
 * waits for it (at most identity.lookup_timeout_ms).
 *
 * Output (one block per address; keys are stable, values are sanitised):
 *   ADDRESS
 *     rcpt:      <RCPT> 250 (accepted) | <RCPT> 550 5.1.1 TEXT  (one per -r)
 *     rcpts:     none accepted: ...      (only when every recipient is refused)
 *     identity:  example.com (domain)        | none
 *     source:    local (plugin file)         | -
 *     verdict:   verified | not verified (why) | unknown (why) | not checked (why)
 *     reply:     550 5.7.1 TEXT | 451 4.7.1 TEXT | 250 (accepted...)
 *     account:   none (...) | accept | DECISION by INSTANCE (region R, STATUS)
 *     alignment: dmarc=pass dkim=aligned spf=not-aligned (amazonses.com: pass) decision=accept
 *     advice:    one line per reason of the prediction
 *     result:    accepted | refused | unknown
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "engine/services.h"
#include "engine/account.h"
#include "engine/engine.h"
#include "engine/engine_int.h"
#include "engine/engine_probe.h"
#include "lib/log.h"
#include "lib/util.h"

/* engine_probe_shown - the identity behind the verdict: the decisive one, else the first */
static const gate_idres *
engine_probe_shown(const msg_ext *e)
{
    if (!e->gate_done || e->gate.n_ids == 0)
        return NULL;
    return &e->gate.ids[e->gate.decisive >= 0 ? (size_t)e->gate.decisive : 0];
}

/* engine_probe_identity - the identity and source lines */
static void
engine_probe_identity(FILE *fp, sm_services *x, const gate_idres *d)
{
    char a[IDENTITY_MAX * 4], b[256];
    const char *plugin;

    if (d == NULL || !d->r.matched[0]) {
        fprintf(fp, "  identity:  none\n  source:    -\n");
        return;
    }
    fprintf(fp, "  identity:  %s (%s)\n", log_sanitize(d->r.matched, a, sizeof(a)),
            strchr(d->r.matched, '@') != NULL ? "address" : "domain");
    plugin = engine_plugin_of(x, d->r.instance);
    fprintf(fp, "  source:    %s (plugin %s; cache: %s)\n",
            log_sanitize(d->r.instance, b, sizeof(b)), plugin != NULL ? plugin : "?",
            cache_origin_name(d->r.origin));
}

/* engine_probe_verdict - the gate's verdict in words, with why when it did not pass */
static void
engine_probe_verdict(FILE *fp, const sm_services *x, const msg_ext *e, const gate_idres *d)
{
    const gate_result *g = &e->gate;
    char why[512], text[1024];

    if (!x->gate->present) {
        fprintf(fp, "  verdict:   not checked (no identity group: the gate is off)\n");
        return;
    }
    why[0] = '\0';
    if (g->verdict == GATE_MALFORMED)
        util_strlcpy(why, g->reason, sizeof(why));
    else if (d != NULL && g->verdict == GATE_TEMPFAIL)
        util_strlcpy(why,
                     d->r.why[0]            ? d->r.why
                     : d->r.attrs.detail[0] ? d->r.attrs.detail
                                            : "the source could not answer",
                     sizeof(why));
    else if (d != NULL && g->verdict == GATE_NOT_VERIFIED)
        snprintf(why, sizeof(why), "%s",
                 d->r.attrs.detail[0] ? d->r.attrs.detail
                 : d->r.matched[0]    ? "the source lists it as not verified"
                                      : "no source knows the address or its domains");
    fprintf(fp, "  verdict:   %s%s%s%s%s\n",
            g->verdict == GATE_PASS       ? "verified"
            : g->verdict == GATE_TEMPFAIL ? "unknown"
                                          : "not verified",
            why[0] ? " (" : "", log_sanitize(why, text, sizeof(text)), why[0] ? ")" : "",
            g->action == GATE_MONITOR ? " [monitor mode: accepted]" : "");
}

/* engine_probe_reply - the SMTP reply the client would see */
static void
engine_probe_reply(FILE *fp, const sm_verdict *v)
{
    char text[2048];

    switch (v->action) {
    case VERDICT_REJECT:
    case VERDICT_TEMPFAIL:
        fprintf(fp, "  reply:     %s %s %s\n", v->code, v->xcode,
                log_sanitize(v->text ? v->text : "", text, sizeof(text)));
        break;
    case VERDICT_QUARANTINE:
        fprintf(fp, "  reply:     250 (accepted into the quarantine: %s)\n",
                log_sanitize(v->reason ? v->reason : "", text, sizeof(text)));
        break;
    case VERDICT_DISCARD:
        fprintf(fp, "  reply:     250 (accepted and discarded)\n");
        break;
    default:
        fprintf(fp, "  reply:     250 (accepted; the text is the MTA's)\n");
        break;
    }
    for (size_t i = 0; i < v->nadd; i++)
        fprintf(fp, "  header:    %s: %s\n", v->add[i].name,
                log_sanitize(v->add[i].value, text, sizeof(text)));
}

/* engine_probe_align - the alignment prediction, the providers' verdicts and the advice lines */
static void
engine_probe_align(FILE *fp, const sm_services *x, const msg_ext *e)
{
    const align_result *r = &e->align;
    char text[ALIGN_REASON_LEN * 2];

    if (!x->align->enabled) {
        fprintf(fp, "  alignment: off (no alignment group, or enabled = false)\n");
        return;
    }
    if (!e->align_done) {
        fprintf(fp, "  alignment: not predicted (the message is refused before the alignment "
                    "checks)\n");
        return;
    }
    fprintf(fp, "  alignment: dmarc=%s dkim=%s spf=%s (%s: %s) decision=%s\n",
            align_dmarc_result_name(r->dmarc_result), r->dkim_aligned ? "aligned" : "not-aligned",
            r->spf_aligned ? "aligned" : "not-aligned", r->spf_domain[0] ? r->spf_domain : "-",
            align_spf_name(r->spf_result), align_decision_name(r->decision));
    for (size_t i = 0; i < r->nreasons; i++)
        fprintf(fp, "  advice:    %s\n", log_sanitize(r->reasons[i], text, sizeof(text)));
    if (!e->providers_done || e->providers.n == 0)
        return;
    fprintf(fp, "  providers: %s\n", align_provider_summary(&e->providers, text, sizeof(text)));
    for (size_t i = 0; i < e->providers.n; i++)
        if (e->providers.v[i].result != ALIGN_PROVIDER_PASS)
            fprintf(fp, "  advice:    %s\n",
                    align_provider_advice(&e->providers.v[i], &e->pfacts, text, sizeof(text)));
}

/* engine_probe_worse - the exit status that wins: refused, then unknown, then accepted */
static int
engine_probe_worse(int a, int b)
{
    if (a == ENGINE_PROBE_REFUSED || b == ENGINE_PROBE_REFUSED)
        return ENGINE_PROBE_REFUSED;
    return a == ENGINE_PROBE_UNKNOWN || b == ENGINE_PROBE_UNKNOWN ? ENGINE_PROBE_UNKNOWN
                                                                  : ENGINE_PROBE_ACCEPTED;
}

/*
 * engine_probe_rcpts - RCPT TO of each recipient through the engine's RCPT checks
 * (suppression list, sandbox); one "rcpt:" line each; the exit status they make
 */
static int
engine_probe_rcpts(sm_msg *m, char *const *rcpts, size_t nr, FILE *fp)
{
    int status = ENGINE_PROBE_ACCEPTED;
    char shown[IDENTITY_MAX * 4], text[1024];

    for (size_t i = 0; i < nr; i++) {
        const char *r = rcpts[i];
        char *path = r[0] == '<' ? xstrdup(r) : xasprintf("<%s>", r);
        engine_reply rep;
        int got;

        memset(&rep, 0, sizeof(rep));
        got = engine_rcpt(m, path, NULL, &rep);
        log_sanitize(path, shown, sizeof(shown));
        if (got == ENGINE_RCPT_CONTINUE)
            fprintf(fp, "  rcpt:      %s 250 (accepted)\n", shown);
        else
            fprintf(fp, "  rcpt:      %s %s %s %s\n", shown, rep.code, rep.xcode,
                    log_sanitize(rep.text, text, sizeof(text)));
        status = engine_probe_worse(status, got == ENGINE_RCPT_REJECT     ? ENGINE_PROBE_REFUSED
                                            : got == ENGINE_RCPT_TEMPFAIL ? ENGINE_PROBE_UNKNOWN
                                                                          : ENGINE_PROBE_ACCEPTED);
        free(path);
    }
    if (nr > 0 && m->nrcpts == 0)
        fprintf(fp, "  rcpts:     none accepted: the client could not send the message\n");
    return status;
}

/* engine_probe_account - what the account checks decided (account.h) */
static void
engine_probe_account(FILE *fp, sm_services *x, const msg_ext *e, size_t unknown)
{
    const account_result *a = &e->acct;

    if (!account_wants_rcpt(x)) {
        fprintf(fp, "  account:   none (no identity source reads its account state)\n");
        return;
    }
    if (a->instance[0])
        fprintf(fp, "  account:   %s by %s (region %s, %s)\n", account_decision_name(a),
                a->instance, a->region, a->status);
    else
        fprintf(fp, "  account:   %s%s\n", account_decision_name(a),
                unknown > 0 ? " (an account state is not known yet: not enforced)" : "");
}

/* engine_probe_one - one address through the engine; its exit status */
static int
engine_probe_one(const char *addr, char *const *rcpts, size_t nr, int first, FILE *fp)
{
    sm_msg *m = msg_new();
    sm_services *x;
    char shown[IDENTITY_MAX * 4];
    int status, rstatus;
    size_t unknown = 0;

    util_strlcpy(m->qid, "ses-milter-t", sizeof(m->qid));
    m->env_from = xasprintf("<%s>", addr);
    for (const char *p = addr; *p; p++)
        if ((unsigned char)*p >= 0x80)
            m->smtputf8 = 1;
    fprintf(fp, "%s\n", log_sanitize(addr, shown, sizeof(shown)));
    if (engine_probe_start(m) < 0) {
        fprintf(fp, "  result:    unknown (no configuration)\n");
        msg_free(m);
        return ENGINE_PROBE_UNKNOWN;
    }
    x = services_of(m->conf);
    /* the account state is read in the background at start: the daemon would have it */
    if (account_wants_rcpt(x))
        unknown =
            account_wait_known(x, first ? util_now_ms() + (uint64_t)x->gate->lookup_timeout_ms : 0);
    rstatus = engine_probe_rcpts(m, rcpts, nr, fp);
    engine_header(m, "From", addr);
    engine_eoh(m);
    engine_eom(m);
    engine_probe_identity(fp, x, engine_probe_shown(m->ext));
    engine_probe_verdict(fp, x, m->ext, engine_probe_shown(m->ext));
    engine_probe_reply(fp, &m->verdict);
    engine_probe_account(fp, x, m->ext, unknown);
    engine_probe_align(fp, x, m->ext);
    status = m->verdict.action == VERDICT_REJECT     ? ENGINE_PROBE_REFUSED
             : m->verdict.action == VERDICT_TEMPFAIL ? ENGINE_PROBE_UNKNOWN
                                                     : ENGINE_PROBE_ACCEPTED;
    status = engine_probe_worse(status, rstatus);
    fprintf(fp, "  result:    %s\n",
            status == ENGINE_PROBE_REFUSED   ? "refused"
            : status == ENGINE_PROBE_UNKNOWN ? "unknown"
                                             : "accepted");
    msg_free(m);
    return status;
}

int
engine_probe_run(char *const *addrs, size_t n, char *const *rcpts, size_t nr, FILE *fp)
{
    int refused = 0, unknown = 0;

    for (size_t i = 0; i < n; i++) {
        int s = engine_probe_one(addrs[i], rcpts, nr, i == 0, fp);
        refused |= s == ENGINE_PROBE_REFUSED;
        unknown |= s == ENGINE_PROBE_UNKNOWN;
    }
    fflush(fp);
    return refused ? ENGINE_PROBE_REFUSED : unknown ? ENGINE_PROBE_UNKNOWN : ENGINE_PROBE_ACCEPTED;
}
