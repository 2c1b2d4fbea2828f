/*
 * unsub_conf.c - the "unsubscribe" configuration section
 *
 * Purpose: parse the section into immutable rules (src/unsub/unsub_int.h),
 * checking everything that can be checked before the first message:
 * templates (scheme, placeholders, URI characters), sender patterns,
 * trigger header names, the multi_recipient choice a recipient-specific
 * URL requires, and the token key file (read here, as root, before
 * privileges are dropped).
 *
 * Diagnostics: every error reads "file:line: reason" (cfg_errf).
 */
#include "config.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "lib/cfg.h"
#include "state/state.h"
#include "unsub/unsub.h"
#include "unsub/unsub_int.h"
#include "unsub/unsub_store.h"
#include "unsub/unsub_tmpl.h"
#include "unsub/unsub_token.h"
#include "lib/util.h"

static const char *const unsub_conf_ses_names[] = {"keep-ses", "add-anyway", "remove-ses-header",
                                                   NULL};
static const char *const unsub_conf_src_names[] = {"either", "envelope", "from", NULL};
static const char *const unsub_conf_action_names[] = {"drop", "reject", "tag", NULL};
static const char *const unsub_conf_backend_names[] = {"file", "redis", NULL};
static const char *const unsub_conf_unavail_names[] = {"tempfail", "accept", NULL};
static const char *const unsub_conf_extra[] = {"rules", NULL};

static const cfg_directive unsub_conf_top_tab[] = {
    {"token_key_file", CFG_STR, offsetof(unsub_conf, token_key_file), NULL, 0, 0, 0, NULL},
    {"token_ttl", CFG_INT, offsetof(unsub_conf, token_ttl), NULL, 15552000, 0, 315360000, NULL},
    {"ses_list_management", CFG_ENUM, offsetof(unsub_conf, ses_mode), "keep-ses", 0, 0, 0,
     unsub_conf_ses_names},
    {"opendkim_conf", CFG_STR, offsetof(unsub_conf, opendkim_conf), NULL, 0, 0, 0, NULL},
    {"store_backend", CFG_ENUM, offsetof(unsub_conf, store_backend), "file", 0, 0, 0,
     unsub_conf_backend_names},
    {"store_file", CFG_STR, offsetof(unsub_conf, store_file), NULL, 0, 0, 0, NULL},
    {"store_unavailable", CFG_ENUM, offsetof(unsub_conf, store_unavailable), "tempfail", 0, 0, 0,
     unsub_conf_unavail_names},
    {"store_action", CFG_ENUM, offsetof(unsub_conf, store_action), "drop", 0, 0, 0,
     unsub_conf_action_names},
    {"store_tag_header", CFG_STR, offsetof(unsub_conf, store_tag_header),
     "X-SES-Milter-Unsubscribed", 0, 0, 0, NULL},
    {"store_refresh_ms", CFG_INT, offsetof(unsub_conf, store_refresh_ms), NULL, 1000, 0, 3600000,
     NULL},
    {"endpoint_listen", CFG_STR, offsetof(unsub_conf, endpoint_listen), "127.0.0.1:8058", 0, 0, 0,
     NULL},
    {"endpoint_tls_cert_file", CFG_STR, offsetof(unsub_conf, endpoint_tls_cert_file), NULL, 0, 0, 0,
     NULL},
    {"endpoint_tls_key_file", CFG_STR, offsetof(unsub_conf, endpoint_tls_key_file), NULL, 0, 0, 0,
     NULL},
    {"endpoint_max_body", CFG_INT, offsetof(unsub_conf, endpoint_max_body), NULL, 4096, 64, 1048576,
     NULL},
    {"endpoint_user", CFG_STR, offsetof(unsub_conf, endpoint_user), NULL, 0, 0, 0, NULL},
    CFG_END,
};

static const cfg_directive unsub_conf_rule_tab[] = {
    {"name", CFG_STR, offsetof(unsub_rule, name), NULL, 0, 0, 0, NULL},
    {"senders", CFG_STRLIST, offsetof(unsub_rule, senders), NULL, 0, 0, 0, NULL},
    {"sender_source", CFG_ENUM, offsetof(unsub_rule, sender_source), "either", 0, 0, 0,
     unsub_conf_src_names},
    {"header", CFG_STR, offsetof(unsub_rule, header), NULL, 0, 0, 0, NULL},
    {"header_values", CFG_STRLIST, offsetof(unsub_rule, header_values), NULL, 0, 0, 0, NULL},
    {"remove_trigger", CFG_BOOL, offsetof(unsub_rule, remove_trigger), NULL, 0, 0, 0, NULL},
    {"url", CFG_STR, offsetof(unsub_rule, url), NULL, 0, 0, 0, NULL},
    {"mailto", CFG_STR, offsetof(unsub_rule, mailto), NULL, 0, 0, 0, NULL},
    {"list_id", CFG_STR, offsetof(unsub_rule, list_id), NULL, 0, 0, 0, NULL},
    {"list_url", CFG_STR, offsetof(unsub_rule, list_url), NULL, 0, 0, 0, NULL},
    {"one_click", CFG_BOOL, offsetof(unsub_rule, one_click), NULL, 1, 0, 0, NULL},
    {"multi_recipient", CFG_STR, offsetof(unsub_rule, multi_recipient), NULL, 0, 0, 0, NULL},
    CFG_END,
};

/* unsub_conf_rule_clear - free one rule's contents */
static void
unsub_conf_rule_clear(unsub_rule *r)
{
    unsub_tmpl_free(r->url_t);
    unsub_tmpl_free(r->mailto_t);
    unsub_tmpl_free(r->list_id_t);
    unsub_tmpl_free(r->list_url_t);
    cfg_free_table(unsub_conf_rule_tab, r);
}

unsub_conf *
unsub_conf_free(unsub_conf *c)
{
    if (c == NULL)
        return NULL;
    for (size_t i = 0; i < c->n_rules; i++)
        unsub_conf_rule_clear(&c->rules[i]);
    free(c->rules);
    unsub_store_free(c->store);
    state_conf_free(c->store_redis);
    if (c->key != NULL) {
        OPENSSL_cleanse(c->key, c->keylen);
        free(c->key);
    }
    cfg_free_table(unsub_conf_top_tab, c);
    free(c);
    return NULL;
}

/* unsub_conf_pattern_ok - user@dom, @dom, *.dom or dom; returns a reason or NULL */
static const char *
unsub_conf_pattern_ok(const char *p)
{
    const char *at = strrchr(p, '@'), *dom = at ? at + 1 : p;

    if (*p == '\0')
        return "empty sender pattern";
    for (const unsigned char *q = (const unsigned char *)p; *q; q++)
        if (*q <= 0x20 || *q >= 0x7f || *q == '<' || *q == '>')
            return "sender pattern contains space, control or angle bracket";
    if (at == NULL && strncmp(p, "*.", 2) == 0)
        dom = p + 2;
    if (*dom == '\0' || strchr(dom, '*') != NULL || strchr(dom, '.') == NULL)
        return "sender pattern needs a domain such as example.com (\"*.\" only at the start)";
    if (at != NULL && strchr(p, '*') != NULL)
        return "'*' is only allowed as \"*.domain\"";
    return NULL;
}

/* unsub_conf_name_ok - a header field name (RFC 5322 ftext) */
static int
unsub_conf_name_ok(const char *n)
{
    if (*n == '\0')
        return 0;
    for (const unsigned char *p = (const unsigned char *)n; *p; p++)
        if (*p < 0x21 || *p > 0x7e || *p == ':')
            return 0;
    return 1;
}

/* unsub_conf_tmpl - parse rule template 'key' (if set) into *t */
static int
unsub_conf_tmpl(const config_setting_t *g, const char *key, const char *text, unsub_tmpl_kind kind,
                unsigned allowed, unsub_tmpl **t, char *err, size_t errlen)
{
    const config_setting_t *s = config_setting_get_member(g, key);
    char why[256];

    if (text == NULL)
        return 0;
    if ((*t = unsub_tmpl_parse(text, kind, allowed, why, sizeof(why))) == NULL)
        return cfg_errf(err, errlen, s ? s : g, "'%s': %s", key, why);
    return 0;
}

/* unsub_conf_templates - compile and cross-check a rule's templates */
static int
unsub_conf_templates(const unsub_conf *c, unsub_rule *r, const config_setting_t *g, char *err,
                     size_t errlen)
{
    unsub_tmpl_kind web = r->one_click ? UNSUB_TMPL_HTTPS : UNSUB_TMPL_HTTP;
    const config_setting_t *ms = config_setting_get_member(g, "multi_recipient");
    unsigned uses;

    if (r->url == NULL)
        return cfg_errf(err, errlen, g, "rule '%s' has no url (an https:// URL is required)",
                        r->name);
    if (unsub_conf_tmpl(g, "url", r->url, web, UNSUB_PH_ALL, &r->url_t, err, errlen) < 0 ||
        unsub_conf_tmpl(g, "mailto", r->mailto, UNSUB_TMPL_MAILTO, UNSUB_PH_ALL, &r->mailto_t, err,
                        errlen) < 0 ||
        unsub_conf_tmpl(g, "list_id", r->list_id, UNSUB_TMPL_TEXT,
                        UNSUB_PH_SENDER | UNSUB_PH_SENDER_DOMAIN, &r->list_id_t, err, errlen) < 0 ||
        unsub_conf_tmpl(g, "list_url", r->list_url, web, UNSUB_PH_ALL & ~UNSUB_PH_PERSONAL,
                        &r->list_url_t, err, errlen) < 0)
        return -1;
    uses = unsub_tmpl_uses(r->url_t) | unsub_tmpl_uses(r->mailto_t);
    if ((uses | unsub_tmpl_uses(r->list_url_t)) & UNSUB_PH_TOKEN && c->key == NULL)
        return cfg_errf(err, errlen, g, "rule '%s' uses %%{token} but no token_key_file is set",
                        r->name);
    if (r->multi_recipient != NULL) {
        if (strcmp(r->multi_recipient, "list-url") == 0)
            r->multi_list_url = 1;
        else if (strcmp(r->multi_recipient, "skip") != 0)
            return cfg_errf(err, errlen, ms, "'multi_recipient' must be \"list-url\" or \"skip\"");
    } else if (uses & UNSUB_PH_PERSONAL) {
        return cfg_errf(err, errlen, g,
                        "rule '%s': url/mailto name the recipient, so 'multi_recipient' must "
                        "say what to do with several recipients (\"list-url\" or \"skip\")",
                        r->name);
    }
    if (r->multi_list_url && r->list_url_t == NULL)
        return cfg_errf(err, errlen, ms, "multi_recipient = \"list-url\" needs a 'list_url'");
    if (!r->multi_list_url && r->list_url_t != NULL)
        return cfg_errf(err, errlen, config_setting_get_member(g, "list_url"),
                        "'list_url' is only used with multi_recipient = \"list-url\"");
    return 0;
}

/* unsub_conf_rule_check - everything but the templates */
static int
unsub_conf_rule_check(const unsub_conf *c, const unsub_rule *r, const config_setting_t *g,
                      char *err, size_t errlen)
{
    const config_setting_t *s;

    if (r->name == NULL || *r->name == '\0')
        return cfg_errf(err, errlen, g, "every rule needs a 'name'");
    for (size_t i = 0; i < c->n_rules; i++)
        if (strcasecmp(c->rules[i].name, r->name) == 0)
            return cfg_errf(err, errlen, g, "duplicate rule name '%s'", r->name);
    if (r->senders.n == 0 && r->header == NULL)
        return cfg_errf(err, errlen, g, "rule '%s' matches nothing: give 'senders' and/or 'header'",
                        r->name);
    s = config_setting_get_member(g, "senders");
    for (size_t i = 0; i < r->senders.n; i++) {
        const char *why = unsub_conf_pattern_ok(r->senders.v[i]);
        if (why != NULL)
            return cfg_errf(err, errlen, s, "'%s': %s", r->senders.v[i], why);
    }
    s = config_setting_get_member(g, "header");
    if (r->header != NULL && !unsub_conf_name_ok(r->header))
        return cfg_errf(err, errlen, s, "'header' is not a header field name");
    if (r->header != NULL && strncasecmp(r->header, "List-Unsubscribe", 16) == 0)
        return cfg_errf(err, errlen, s, "'header' cannot be one of the headers this feature adds");
    if (r->header == NULL && (r->header_values.n > 0 || r->remove_trigger))
        return cfg_errf(err, errlen, g, "'header_values' and 'remove_trigger' need a 'header'");
    return 0;
}

/* unsub_conf_rules - the "rules" list */
static int
unsub_conf_rules(unsub_conf *c, const config_setting_t *list, char *err, size_t errlen)
{
    int t = config_setting_type(list);
    size_t n;

    if (t != CONFIG_TYPE_LIST && t != CONFIG_TYPE_ARRAY)
        return cfg_errf(err, errlen, list, "'rules' must be a list ( { ... }, ... )");
    n = (size_t)config_setting_length(list);
    c->rules = xcalloc(n + 1, sizeof(unsub_rule));
    for (size_t i = 0; i < n; i++) {
        const config_setting_t *g = config_setting_get_elem(list, (unsigned)i);
        unsub_rule r;
        memset(&r, 0, sizeof(r));
        if (cfg_parse_table(g, unsub_conf_rule_tab, &r, NULL, err, errlen) < 0 ||
            unsub_conf_rule_check(c, &r, g, err, errlen) < 0 ||
            unsub_conf_templates(c, &r, g, err, errlen) < 0) {
            unsub_conf_rule_clear(&r);
            return -1;
        }
        c->rules[c->n_rules++] = r;
    }
    return 0;
}

/* unsub_conf_redis - store_backend = "redis": the "state" group's Redis, a reader on it */
static int
unsub_conf_redis(unsub_conf *c, const config_setting_t *group, char *err, size_t errlen)
{
    const config_setting_t *root = config_root_setting(group->config);
    const config_setting_t *sg = config_setting_get_member(root, "state");
    char why[512];

    if (c->store_file != NULL)
        return cfg_errf(err, errlen, config_setting_get_member(group, "store_file"),
                        "'store_file' is for store_backend = \"file\"; with \"redis\" the "
                        "'state' group's Redis holds the store");
    if (sg == NULL)
        return cfg_errf(err, errlen, config_setting_get_member(group, "store_backend"),
                        "store_backend = \"redis\" needs a 'state' group (backend = \"redis\"): "
                        "the store uses its Redis settings");
    if (state_conf_parse(sg, &c->store_redis, err, errlen) < 0)
        return -1;
    if ((c->store = unsub_store_redis_open(c->store_redis, UNSUB_STORE_READER, why, sizeof(why))) ==
        NULL)
        return cfg_errf(err, errlen, config_setting_get_member(group, "store_backend"), "%s", why);
    return 0;
}

int
unsub_conf_parse(const config_setting_t *group, unsub_conf **out, char *err, size_t errlen)
{
    unsub_conf *c = xcalloc(1, sizeof(*c));
    const config_setting_t *rules = NULL;
    char why[512];

    *out = NULL;
    if (cfg_parse_table(group, unsub_conf_top_tab, c, unsub_conf_extra, err, errlen) < 0)
        goto fail;
    if (c->token_key_file != NULL &&
        unsub_token_key_load(c->token_key_file, &c->key, &c->keylen, why, sizeof(why)) < 0) {
        cfg_errf(err, errlen, config_setting_get_member(group, "token_key_file"), "%s", why);
        goto fail;
    }
    if (group != NULL)
        rules = config_setting_get_member(group, "rules");
    if (rules != NULL && unsub_conf_rules(c, rules, err, errlen) < 0)
        goto fail;
    if (c->store_file != NULL && *c->store_file != '/') {
        cfg_errf(err, errlen, config_setting_get_member(group, "store_file"),
                 "'store_file' must be an absolute path");
        goto fail;
    }
    if (c->store_backend == UNSUB_BACKEND_REDIS && unsub_conf_redis(c, group, err, errlen) < 0)
        goto fail;
    if (c->store_backend == UNSUB_BACKEND_FILE && c->store_file != NULL &&
        (c->store = unsub_store_file_open(c->store_file, UNSUB_STORE_READER, c->store_refresh_ms,
                                          why, sizeof(why))) == NULL) {
        cfg_errf(err, errlen, config_setting_get_member(group, "store_file"), "%s", why);
        goto fail;
    }
    if (c->store_tag_header == NULL || !unsub_conf_name_ok(c->store_tag_header)) {
        cfg_errf(err, errlen, group, "'store_tag_header' is not a header field name");
        goto fail;
    }
    if ((c->endpoint_tls_cert_file == NULL) != (c->endpoint_tls_key_file == NULL)) {
        cfg_errf(err, errlen, group,
                 "'endpoint_tls_cert_file' and 'endpoint_tls_key_file' go together");
        goto fail;
    }
    *out = c;
    return 0;
fail:
    unsub_conf_free(c);
    return -1;
}

void
unsub_conf_dump(FILE *fp, const unsub_conf *c)
{
    char prefix[64];

    if (c == NULL)
        return;
    cfg_dump_table(fp, "unsubscribe", unsub_conf_top_tab, c);
    fprintf(fp, "# unsubscribe: %zu rule(s)%s\n", c->n_rules,
            c->n_rules ? "" : " - no headers are added");
    for (size_t i = 0; i < c->n_rules; i++) {
        snprintf(prefix, sizeof(prefix), "unsubscribe.rules.[%zu]", i);
        cfg_dump_table(fp, prefix, unsub_conf_rule_tab, &c->rules[i]);
    }
}

size_t
unsub_conf_n_rules(const unsub_conf *c)
{
    return c ? c->n_rules : 0;
}

const char *
unsub_conf_opendkim(const unsub_conf *c)
{
    return c ? c->opendkim_conf : NULL;
}

long
unsub_conf_token_ttl(const unsub_conf *c)
{
    return c ? c->token_ttl : 0;
}

unsub_store *
unsub_conf_store(const unsub_conf *c)
{
    return c ? c->store : NULL;
}

const char *
unsub_conf_store_file(const unsub_conf *c)
{
    return c && c->store_backend == UNSUB_BACKEND_FILE ? c->store_file : NULL;
}

const char *
unsub_conf_store_name(const unsub_conf *c)
{
    if (c == NULL)
        return NULL;
    return c->store_backend == UNSUB_BACKEND_REDIS ? "redis" : c->store_file;
}

unsub_store_unavailable
unsub_conf_store_unavailable(const unsub_conf *c)
{
    return c ? (unsub_store_unavailable)c->store_unavailable : UNSUB_UNAVAILABLE_TEMPFAIL;
}

unsub_store *
unsub_conf_store_writer(const unsub_conf *c, char *err, size_t errlen)
{
    if (c != NULL && c->store_backend == UNSUB_BACKEND_REDIS)
        return unsub_store_redis_open(c->store_redis, UNSUB_STORE_WRITER, err, errlen);
    if (c == NULL || c->store_file == NULL) {
        util_errf(err, errlen,
                  "no store: set unsubscribe.store_file (or store_backend = \"redis\")");
        return NULL;
    }
    return unsub_store_file_open(c->store_file, UNSUB_STORE_WRITER, 0, err, errlen);
}

unsub_store_action
unsub_conf_store_action(const unsub_conf *c, const char **tag_header_r, long *refresh_ms_r)
{
    if (tag_header_r != NULL)
        *tag_header_r = c ? c->store_tag_header : NULL;
    if (refresh_ms_r != NULL)
        *refresh_ms_r = c ? c->store_refresh_ms : 0;
    return c ? (unsub_store_action)c->store_action : UNSUB_STORE_DROP;
}

const unsigned char *
unsub_conf_key(const unsub_conf *c, size_t *len_r)
{
    *len_r = c ? c->keylen : 0;
    return c ? c->key : NULL;
}

void
unsub_conf_endpoint(const unsub_conf *c, unsub_endpoint *ep)
{
    memset(ep, 0, sizeof(*ep));
    if (c == NULL)
        return;
    ep->listen = c->endpoint_listen;
    ep->tls_cert_file = c->endpoint_tls_cert_file;
    ep->tls_key_file = c->endpoint_tls_key_file;
    ep->max_body = (size_t)c->endpoint_max_body;
    ep->user = c->endpoint_user;
}

int
unsub_conf_list_known(const unsub_conf *c, const char *list_id)
{
    for (size_t i = 0; c != NULL && i < c->n_rules; i++) {
        const unsub_rule *r = &c->rules[i];
        if (r->list_id_t != NULL && unsub_tmpl_uses(r->list_id_t) != 0)
            return 1; /* a list id made from the sender: any may be ours */
        if (strcmp(r->list_id_t != NULL ? unsub_tmpl_text(r->list_id_t) : r->name, list_id) == 0)
            return 1;
    }
    return 0;
}
