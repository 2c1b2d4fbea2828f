/*
 * unsub.c - one-click unsubscribe: matching rules and the decision
 *
 * Purpose: for each message decide, with the rules unsub_conf.c parsed,
 * which List-Unsubscribe (RFC 2369) and
 * List-Unsubscribe-Post (RFC 8058) headers to add and which trigger
 * headers to remove.  The first matching rule wins; no rule, no change.
 *
 * Policy: existing headers are never duplicated.  An existing
 * List-Unsubscribe is kept; List-Unsubscribe-Post is added to it only when
 * it is the only one and carries an https URI and the rule allows
 * one-click.  A lone List-Unsubscribe-Post is reported.  A URL that names
 * the recipient (directly or through a token) is only built for a
 * single-recipient message; for several recipients the rule must say
 * "list-url" or "skip" - we never guess.  X-SES-LIST-MANAGEMENT-OPTIONS is
 * reported and handled per ses_list_management.
 *
 * Diagnostics: decisions come back as notes for the caller to log.
 * Nothing here logs.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/cfg.h"
#include "unsub/unsub.h"
#include "unsub/unsub_int.h"
#include "unsub/unsub_tmpl.h"
#include "unsub/unsub_token.h"
#include "lib/util.h"

#define UNSUB_VALUE_MAX 900 /* keeps "List-Unsubscribe: " + value under 998 */

/* ---------------------------------------------------------------- matching */

int
unsub_header_wanted(const unsub_conf *c, const char *name)
{
    if (name == NULL)
        return 0;
    if (strcasecmp(name, "List-Unsubscribe") == 0 ||
        strcasecmp(name, "List-Unsubscribe-Post") == 0 ||
        strcasecmp(name, "X-SES-LIST-MANAGEMENT-OPTIONS") == 0)
        return 1;
    for (size_t i = 0; c != NULL && i < c->n_rules; i++)
        if (c->rules[i].header != NULL && strcasecmp(c->rules[i].header, name) == 0)
            return 1;
    return 0;
}

/* unsub_trim - copy s without surrounding white space and one surrounding pair of <> */
static char *
unsub_trim(const char *s)
{
    size_t n;

    if (s == NULL)
        return xstrdup("");
    while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
        s++;
    n = strlen(s);
    while (n > 0 && strchr(" \t\r\n", s[n - 1]) != NULL)
        n--;
    if (n >= 2 && s[0] == '<' && s[n - 1] == '>') {
        s++;
        n -= 2;
    }
    return xstrndup(s, n);
}

/* unsub_addr - an address as given, or the a@b of "Name <a@b>" */
static char *
unsub_addr(const char *s)
{
    const char *lt, *gt;

    if (s != NULL && (lt = strrchr(s, '<')) != NULL && lt != s && (gt = strchr(lt, '>')) != NULL)
        return xstrndup(lt + 1, (size_t)(gt - lt - 1));
    return unsub_trim(s);
}

/* unsub_msgid - Message-ID without white space and, when it starts with '<', its brackets */
static char *
unsub_msgid(const char *s)
{
    const char *gt;

    if (s == NULL)
        return xstrdup("");
    s += strspn(s, " \t\r\n");
    if (*s == '<' && (gt = strchr(s, '>')) != NULL)
        return xstrndup(s + 1, (size_t)(gt - s - 1));
    return unsub_trim(s);
}

/* unsub_domain - lower-cased domain of addr without a trailing dot ("" if none) */
static char *
unsub_domain(const char *addr)
{
    const char *at = addr ? strrchr(addr, '@') : NULL;
    char *d = xstrdup(at ? at + 1 : "");
    size_t n = strlen(d);

    if (n > 0 && d[n - 1] == '.')
        d[n - 1] = '\0';
    return util_lower(d);
}

/* unsub_below - whether dom is a subdomain (strictly below) of base */
static int
unsub_below(const char *dom, const char *base)
{
    size_t dl = strlen(dom), bl = strlen(base);
    return dl > bl + 1 && dom[dl - bl - 1] == '.' && strcasecmp(dom + dl - bl, base) == 0;
}

/* unsub_pattern_match - one sender pattern against an address */
static int
unsub_pattern_match(const char *pat, const char *addr)
{
    char *dom;
    int hit;

    if (addr == NULL || strchr(addr, '@') == NULL)
        return 0;
    dom = unsub_domain(addr);
    if (pat[0] == '@')
        hit = strcasecmp(dom, pat + 1) == 0;
    else if (strchr(pat, '@') != NULL)
        hit = strncasecmp(addr, pat, (size_t)(strrchr(addr, '@') - addr)) == 0 &&
              strrchr(pat, '@') - pat == strrchr(addr, '@') - addr &&
              strcasecmp(dom, strrchr(pat, '@') + 1) == 0;
    else if (strncmp(pat, "*.", 2) == 0)
        hit = unsub_below(dom, pat + 2);
    else
        hit = strcasecmp(dom, pat) == 0 || unsub_below(dom, pat);
    free(dom);
    return hit;
}

/* unsub_senders_match - the first address (From, then envelope) a rule's patterns match */
static const char *
unsub_senders_match(const unsub_rule *r, const char *from, const char *env)
{
    const char *cand[2] = {NULL, NULL};

    if (r->sender_source != UNSUB_SRC_ENVELOPE)
        cand[0] = from;
    if (r->sender_source != UNSUB_SRC_FROM)
        cand[1] = env;
    for (size_t k = 0; k < 2; k++)
        for (size_t i = 0; cand[k] != NULL && i < r->senders.n; i++)
            if (unsub_pattern_match(r->senders.v[i], cand[k]))
                return cand[k];
    return NULL;
}

/* unsub_trigger_match - the rule's trigger header is present with an accepted value */
static int
unsub_trigger_match(const unsub_rule *r, const unsub_msg *m)
{
    for (size_t i = 0; i < m->n_hdrs; i++) {
        char *v;
        int hit;
        if (m->hdrs[i].name == NULL || strcasecmp(m->hdrs[i].name, r->header) != 0)
            continue;
        if (r->header_values.n == 0)
            return 1;
        v = unsub_trim(m->hdrs[i].value);
        hit = cfg_strlist_has(&r->header_values, v);
        free(v);
        if (hit)
            return 1;
    }
    return 0;
}

/* unsub_rule_match - first matching rule; *sender_r = the address it matched on */
static const unsub_rule *
unsub_rule_match(const unsub_conf *c, const unsub_msg *m, const char *from, const char *env,
                 const char **sender_r)
{
    for (size_t i = 0; i < c->n_rules; i++) {
        const unsub_rule *r = &c->rules[i];
        const char *s = NULL;
        if (r->senders.n > 0 && (s = unsub_senders_match(r, from, env)) == NULL)
            continue;
        if (r->header != NULL && !unsub_trigger_match(r, m))
            continue;
        *sender_r = s != NULL ? s : (*from ? from : env);
        return r;
    }
    return NULL;
}

/* ---------------------------------------------------------------- result */

static void unsub_note(unsub_result *res, const char *fmt, ...) SM_PRINTF(2, 3);

/* unsub_note - append a formatted note */
static void
unsub_note(unsub_result *res, const char *fmt, ...)
{
    va_list ap;
    char *s;

    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0)
        s = xstrdup(fmt);
    va_end(ap);
    res->notes = xrealloc(res->notes, (res->n_notes + 1) * sizeof(char *));
    res->notes[res->n_notes++] = s;
}

/* unsub_add_hdr - append a header to add (takes value) */
static void
unsub_add_hdr(unsub_result *res, const char *name, char *value)
{
    res->add = xrealloc(res->add, (res->n_add + 1) * sizeof(unsub_add));
    res->add[res->n_add].name = xstrdup(name);
    res->add[res->n_add++].value = value;
}

/* unsub_remove_all - schedule removal of every header called name, highest index first */
static void
unsub_remove_all(unsub_result *res, const unsub_msg *m, const char *name)
{
    int n = 0;

    for (size_t i = 0; i < m->n_hdrs; i++)
        if (m->hdrs[i].name != NULL && strcasecmp(m->hdrs[i].name, name) == 0)
            n++;
    for (; n > 0; n--) {
        res->remove = xrealloc(res->remove, (res->n_remove + 1) * sizeof(unsub_remove));
        res->remove[res->n_remove].name = xstrdup(name);
        res->remove[res->n_remove++].index = n;
    }
}

void
unsub_result_clear(unsub_result *res)
{
    if (res == NULL)
        return;
    for (size_t i = 0; i < res->n_add; i++) {
        free(res->add[i].name);
        free(res->add[i].value);
    }
    for (size_t i = 0; i < res->n_remove; i++)
        free(res->remove[i].name);
    for (size_t i = 0; i < res->n_notes; i++)
        free(res->notes[i]);
    free(res->add);
    free(res->remove);
    free(res->notes);
    free(res->list_id);
    memset(res, 0, sizeof(*res));
}

/* ---------------------------------------------------------------- decision */

/* what the existing headers say */
typedef struct unsub_seen {
    size_t lu, lup, ses;
    const char *lu_value, *lup_value;
} unsub_seen;

static void
unsub_scan(const unsub_msg *m, unsub_seen *s)
{
    memset(s, 0, sizeof(*s));
    for (size_t i = 0; i < m->n_hdrs; i++) {
        const char *n = m->hdrs[i].name;
        if (n == NULL)
            continue;
        if (strcasecmp(n, "List-Unsubscribe") == 0) {
            if (s->lu++ == 0)
                s->lu_value = m->hdrs[i].value ? m->hdrs[i].value : "";
        } else if (strcasecmp(n, "List-Unsubscribe-Post") == 0) {
            if (s->lup++ == 0)
                s->lup_value = m->hdrs[i].value ? m->hdrs[i].value : "";
        } else if (strcasecmp(n, "X-SES-LIST-MANAGEMENT-OPTIONS") == 0) {
            s->ses++;
        }
    }
}

/* unsub_has_https - whether a List-Unsubscribe value carries <https://...> */
static int
unsub_has_https(const char *v)
{
    for (const char *p = strchr(v, '<'); p != NULL; p = strchr(p + 1, '<')) {
        const char *q = p + 1;
        while (*q == ' ' || *q == '\t' || *q == '\r' || *q == '\n')
            q++;
        if (strncasecmp(q, "https://", 8) == 0 && strchr(q, '>') != NULL)
            return 1;
    }
    return 0;
}

/* unsub_existing - the message has List-Unsubscribe already: keep it, maybe add the Post */
static void
unsub_existing(const unsub_rule *r, const unsub_seen *s, unsub_result *res)
{
    unsub_note(res, "message already has List-Unsubscribe; kept");
    if (s->lup > 0) {
        unsub_note(res, "message already has List-Unsubscribe-Post; kept");
        return;
    }
    if (s->lu > 1) {
        unsub_note(res, "message has %zu List-Unsubscribe headers; List-Unsubscribe-Post not added",
                   s->lu);
        return;
    }
    if (!r->one_click)
        return;
    if (!unsub_has_https(s->lu_value)) {
        unsub_note(res, "existing List-Unsubscribe has no https URI; one-click not offered");
        return;
    }
    unsub_add_hdr(res, "List-Unsubscribe-Post", xstrdup("List-Unsubscribe=One-Click"));
    unsub_note(res, "added List-Unsubscribe-Post to the existing https List-Unsubscribe");
}

/* unsub_ses - X-SES-LIST-MANAGEMENT-OPTIONS present; returns 1 when we must stop here */
static int
unsub_ses(const unsub_conf *c, const unsub_msg *m, unsub_result *res)
{
    switch (c->ses_mode) {
    case UNSUB_SES_KEEP:
        unsub_note(res, "X-SES-LIST-MANAGEMENT-OPTIONS present: SES subscription management will "
                        "add its own List-Unsubscribe headers; none added "
                        "(ses_list_management = keep-ses)");
        return 1;
    case UNSUB_SES_ADD:
        unsub_note(res, "X-SES-LIST-MANAGEMENT-OPTIONS present: SES will rewrite the headers "
                        "added here (ses_list_management = add-anyway)");
        return 0;
    default:
        unsub_remove_all(res, m, "X-SES-LIST-MANAGEMENT-OPTIONS");
        unsub_note(res, "X-SES-LIST-MANAGEMENT-OPTIONS present: removed so that SES keeps the "
                        "headers added here (ses_list_management = remove-ses-header)");
        return 0;
    }
}

/* per-message values for the templates */
typedef struct unsub_vals {
    char *recipient, *sender, *domain, *message_id, *list_id, *token;
} unsub_vals;

static void
unsub_vals_free(unsub_vals *v)
{
    free(v->recipient);
    free(v->sender);
    free(v->domain);
    free(v->message_id);
    free(v->list_id);
    free(v->token);
}

/* unsub_fill - compute values; 0, or -1 with a note when one that is needed is missing */
static int
unsub_fill(const unsub_conf *c, const unsub_rule *r, const unsub_msg *m, const char *sender,
           int personal, unsub_vals *v, unsub_result *res)
{
    char why[256];

    v->sender = unsub_addr(sender);
    v->domain = unsub_domain(v->sender);
    v->message_id = unsub_msgid(m->message_id);
    v->recipient = personal ? unsub_addr(m->rcpts[0]) : NULL;
    if (res->list_id == NULL)
        return -1; /* unsub_decide noted why */
    v->list_id = xstrdup(res->list_id);
    if (personal && c->key != NULL) {
        v->token = unsub_token_create(c->key, c->keylen, v->recipient, v->list_id, m->now, why,
                                      sizeof(why));
        if (v->token == NULL &&
            (unsub_tmpl_uses(r->url_t) | unsub_tmpl_uses(r->mailto_t)) & UNSUB_PH_TOKEN) {
            unsub_note(res, "rule '%s': cannot make a token: %s; nothing added", r->name, why);
            return -1;
        }
    }
    return 0;
}

/* unsub_build - expand the templates into a List-Unsubscribe value; NULL + note on failure */
static char *
unsub_build(const unsub_rule *r, const unsub_tmpl *url_t, const unsub_tmpl *mailto_t,
            const unsub_vals *v, unsub_result *res)
{
    unsub_tmpl_vars tv = {v->recipient, v->sender, v->domain, v->list_id, v->message_id, v->token};
    char why[256], *url, *mailto = NULL, *value;

    if ((url = unsub_tmpl_expand(url_t, &tv, why, sizeof(why))) == NULL) {
        unsub_note(res, "rule '%s': cannot build the URL: %s; nothing added", r->name, why);
        return NULL;
    }
    if (mailto_t != NULL && (mailto = unsub_tmpl_expand(mailto_t, &tv, why, sizeof(why))) == NULL)
        unsub_note(res, "rule '%s': mailto left out: %s", r->name, why);
    value = mailto ? xasprintf("<%s>, <%s>", url, mailto) : xasprintf("<%s>", url);
    free(url);
    free(mailto);
    if (strlen(value) > UNSUB_VALUE_MAX) {
        unsub_note(res,
                   "rule '%s': List-Unsubscribe value longer than %d characters; nothing "
                   "added",
                   r->name, UNSUB_VALUE_MAX);
        return util_free(value);
    }
    return value;
}

/* unsub_new_headers - add our own List-Unsubscribe (and -Post) */
static void
unsub_new_headers(const unsub_conf *c, const unsub_rule *r, const unsub_msg *m, const char *sender,
                  const unsub_seen *s, unsub_result *res)
{
    const unsub_tmpl *url_t = r->url_t, *mailto_t = r->mailto_t;
    int personal = (unsub_tmpl_uses(url_t) | unsub_tmpl_uses(mailto_t)) & UNSUB_PH_PERSONAL;
    unsub_vals v;
    char *value;

    if (personal && m->n_rcpts != 1) {
        if (m->n_rcpts == 0 || !r->multi_list_url) {
            unsub_note(res,
                       "rule '%s': %zu recipients and a recipient-specific URL: nothing "
                       "added (multi_recipient = skip)",
                       r->name, m->n_rcpts);
            return;
        }
        url_t = r->list_url_t;
        if (unsub_tmpl_uses(mailto_t) & UNSUB_PH_PERSONAL)
            mailto_t = NULL;
        personal = 0;
        unsub_note(res, "rule '%s': %zu recipients: list-level URL used", r->name, m->n_rcpts);
    }
    memset(&v, 0, sizeof(v));
    if (unsub_fill(c, r, m, sender, personal, &v, res) == 0 &&
        (value = unsub_build(r, url_t, mailto_t, &v, res)) != NULL) {
        unsub_add_hdr(res, "List-Unsubscribe", value);
        if (r->one_click && s->lup == 0)
            unsub_add_hdr(res, "List-Unsubscribe-Post", xstrdup("List-Unsubscribe=One-Click"));
    }
    unsub_vals_free(&v);
}

/* unsub_rule_list_id - the list id of a message the rule matched (new string), NULL + note */
static char *
unsub_rule_list_id(const unsub_rule *r, const char *sender, unsub_result *res)
{
    unsub_tmpl_vars tv;
    char why[256], *addr, *dom, *id;

    if (r->list_id_t == NULL)
        return xstrdup(r->name);
    memset(&tv, 0, sizeof(tv));
    tv.sender = addr = unsub_addr(sender);
    tv.sender_domain = dom = unsub_domain(addr);
    if ((id = unsub_tmpl_expand(r->list_id_t, &tv, why, sizeof(why))) == NULL)
        unsub_note(res, "rule '%s': cannot build the list id: %s; nothing added", r->name, why);
    free(addr);
    free(dom);
    return id;
}

int
unsub_decide(const unsub_conf *c, const unsub_msg *m, unsub_result *res, char *err, size_t errlen)
{
    const unsub_rule *r;
    const char *sender = NULL;
    char *from, *env;
    unsub_seen s;

    if (res == NULL)
        return util_errf(err, errlen, "unsub_decide: no result");
    memset(res, 0, sizeof(*res));
    if (c == NULL || m == NULL || (m->n_rcpts > 0 && m->rcpts == NULL) ||
        (m->n_hdrs > 0 && m->hdrs == NULL))
        return util_errf(err, errlen, "unsub_decide: missing configuration or message");
    unsub_scan(m, &s);
    if (s.lup > 0 && s.lu == 0)
        unsub_note(res, "List-Unsubscribe-Post without List-Unsubscribe");
    if (s.lup > 0) {
        char *v = unsub_trim(s.lup_value);
        if (strcasecmp(v, "List-Unsubscribe=One-Click") != 0)
            unsub_note(res, "List-Unsubscribe-Post is not \"List-Unsubscribe=One-Click\" "
                            "(RFC 8058)");
        free(v);
    }
    from = unsub_addr(m->from_addr);
    env = unsub_addr(m->env_sender);
    r = unsub_rule_match(c, m, from, env, &sender);
    if (r != NULL) {
        res->rule = r->name;
        res->list_id = unsub_rule_list_id(r, sender, res);
        if (r->remove_trigger)
            unsub_remove_all(res, m, r->header);
        if (s.ses == 0 || !unsub_ses(c, m, res)) {
            if (s.lu > 0)
                unsub_existing(r, &s, res);
            else
                unsub_new_headers(c, r, m, sender, &s, res);
        }
    }
    free(from);
    free(env);
    return 0;
}
