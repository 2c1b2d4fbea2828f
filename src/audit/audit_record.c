/*
 * audit_record.c - build one audit record (schema v2) and validate records
 *
 * Purpose: the only place that knows the record layout.  The builder and
 * the validator read the same field table, so the documented key order
 * (doc/audit-schema.md) is what is written and what is checked.  Each field
 * names the schema version that added it: a record of an older version is
 * checked against the keys it had then, so old logs still verify.
 *
 * Text from the message (addresses, reply text) is kept exactly when it is
 * valid UTF-8; other bytes become "\xNN" so that the record stays JSON.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "audit/audit_record.h"
#include "lib/log.h"
#include "lib/util.h"

static const char *const scope_names[] = {
    "", "authenticated", "internal-network", "local-submission", "external", NULL};
static const char *const action_names[] = {"",    "accept",  "reject",  "tempfail", "quarantine",
                                           "tag", "discard", "aborted", NULL};
static const char *const outcome_names[] = {"", "completed", "aborted", NULL};
static const char *const role_names[] = {"", "from", "sender", "envelope", NULL};
static const char *const answer_names[] = {"",        "verified", "not_verified",
                                           "unknown", "tempfail", NULL};
static const char *const sysmail_names[] = {"", "local-recipients", "bounce", NULL};
static const char *const cache_names[] = {"", "hit", "miss", "stale", "redis", NULL};
static const char *const rcpt_mode_names[] = {"plain", "hashed", "omit", NULL};
static const char *const alg_names[] = {AUDIT_ALG_SHA256, AUDIT_ALG_HMAC, NULL};
/* a provider verdict (v2 addition; align_provider_result_name) */
static const char *const provider_result_names[] = {"pass", "fail", "unknown", NULL};

/* audit_record_name - names[i] if i is in range, else "" */
static const char *
audit_record_name(const char *const *names, size_t count, int i)
{
    return i >= 0 && (size_t)i + 1 < count ? names[i] : "";
}

const char *
audit_scope_name(audit_scope s)
{
    return audit_record_name(scope_names, SM_ARRAY_LEN(scope_names), (int)s);
}

const char *
audit_action_name(audit_action a)
{
    return audit_record_name(action_names, SM_ARRAY_LEN(action_names), (int)a);
}

const char *
audit_outcome_name(audit_outcome o)
{
    return audit_record_name(outcome_names, SM_ARRAY_LEN(outcome_names), (int)o);
}

const char *
audit_role_name(audit_role r)
{
    return audit_record_name(role_names, SM_ARRAY_LEN(role_names), (int)r);
}

const char *
audit_answer_name(audit_answer a)
{
    return audit_record_name(answer_names, SM_ARRAY_LEN(answer_names), (int)a);
}

const char *
audit_cache_name(audit_cache c)
{
    return audit_record_name(cache_names, SM_ARRAY_LEN(cache_names), (int)c);
}

char *
audit_record_time(uint64_t ms, char *buf, size_t len)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    gmtime_r(&t, &tm);
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned)(ms % 1000));
    return buf;
}

/* audit_record_str - a JSON string for s (null for NULL), invalid UTF-8 made "\xNN" */
static json_t *
audit_record_str(const char *s)
{
    json_t *j;
    char *clean;
    size_t n;

    if (s == NULL)
        return json_null();
    if ((j = json_string(s)) != NULL)
        return j;
    n = strlen(s) * 4 + 1;
    clean = xmalloc(n);
    log_sanitize(s, clean, n);
    j = json_string(clean);
    free(clean);
    return j != NULL ? j : json_null();
}

/* audit_record_enum - a name, or null for the 0 ("unknown") value */
static json_t *
audit_record_enum(const char *name)
{
    return *name ? json_string(name) : json_null();
}

static json_t *
audit_record_tri(int v)
{
    return v == AUDIT_TRI_UNKNOWN ? json_null() : json_boolean(v);
}

static json_t *
audit_record_strs(const char *const *v, size_t n)
{
    json_t *a = json_array();

    for (size_t i = 0; v != NULL && i < n; i++)
        json_array_append_new(a, audit_record_str(v[i]));
    return a;
}

/* audit_record_rcpt_hash - hex HMAC-SHA256 of the lower-cased address */
static json_t *
audit_record_rcpt_hash(const audit_key *key, const char *rcpt)
{
    char *low = util_lower(xstrdup(rcpt)), hex[AUDIT_HASH_HEX];
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;

    HMAC(EVP_sha256(), key->buf, (int)key->len, (const unsigned char *)low, strlen(low), md,
         &mdlen);
    util_hex(md, mdlen, hex);
    free(low);
    return json_string(hex);
}

static json_t *
audit_record_rcpts(const audit_msg *m, const audit_record_opts *o)
{
    json_t *a;

    if (o->rcpt_mode == AUDIT_RCPT_OMIT || (o->rcpt_mode == AUDIT_RCPT_HASHED && !o->rcpt_key))
        return json_null();
    a = json_array();
    for (size_t i = 0; m->rcpts != NULL && i < m->n_rcpts; i++) {
        const char *r = m->rcpts[i] ? m->rcpts[i] : "";
        json_array_append_new(a, o->rcpt_mode == AUDIT_RCPT_HASHED
                                     ? audit_record_rcpt_hash(o->rcpt_key, r)
                                     : audit_record_str(r));
    }
    return a;
}

static json_t *
audit_record_lookups(const audit_msg *m)
{
    json_t *a = json_array();

    for (size_t i = 0; m->lookups != NULL && i < m->n_lookups; i++) {
        const audit_lookup *l = &m->lookups[i];
        json_array_append_new(a, json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "identity",
                                           audit_record_str(l->identity), "role",
                                           audit_record_enum(audit_role_name(l->role)), "matched",
                                           audit_record_str(l->matched), "source",
                                           audit_record_str(l->source), "instance",
                                           audit_record_str(l->instance), "answer",
                                           audit_record_enum(audit_answer_name(l->answer)), "cache",
                                           audit_record_enum(audit_cache_name(l->cache)), "age_s",
                                           l->age_s < 0 ? json_null() : json_integer(l->age_s)));
    }
    return a;
}

static json_t *
audit_record_dkim(const audit_msg *m)
{
    json_t *a = json_array();

    for (size_t i = 0; m->dkim != NULL && i < m->n_dkim; i++) {
        const audit_dkim *d = &m->dkim[i];
        json_array_append_new(a, json_pack("{s:o,s:o,s:o,s:o}", "d", audit_record_str(d->d), "s",
                                           audit_record_str(d->s), "alg", audit_record_str(d->alg),
                                           "result", audit_record_str(d->result)));
    }
    return a;
}

static json_t *
audit_record_spf(const audit_spf *s)
{
    if (s == NULL)
        return json_null();
    return json_pack("{s:o,s:o,s:o}", "domain", audit_record_str(s->domain), "ips",
                     audit_record_strs(s->ips, s->n_ips), "result", audit_record_str(s->result));
}

static json_t *
audit_record_dmarc(const audit_dmarc *d)
{
    if (d == NULL)
        return json_null();
    return json_pack("{s:o,s:o,s:o,s:o,s:o,s:o}", "domain", audit_record_str(d->domain), "p",
                     audit_record_str(d->p), "result", audit_record_str(d->result), "aligned_dkim",
                     audit_record_tri(d->aligned_dkim), "aligned_spf",
                     audit_record_tri(d->aligned_spf), "advice",
                     audit_record_strs(d->advice, d->n_advice));
}

static json_t *
audit_record_unsub(const audit_msg *m)
{
    json_t *a = json_array();

    for (size_t i = 0; m->unsub != NULL && i < m->n_unsub; i++)
        json_array_append_new(a, json_pack("{s:o,s:o}", "name", audit_record_str(m->unsub[i].name),
                                           "value", audit_record_str(m->unsub[i].value)));
    return a;
}

/* audit_record_account - v2: the account checks' decision, null when there were none */
static json_t *
audit_record_account(const audit_account *a)
{
    if (a == NULL)
        return json_null();
    return json_pack("{s:o,s:o,s:o,s:o,s:I}", "instance", audit_record_str(a->instance), "region",
                     audit_record_str(a->region), "status", audit_record_str(a->status), "decision",
                     audit_record_str(a->decision), "rcpts_refused", (json_int_t)a->rcpts_refused);
}

/* v2: the suppression checks, recipients written as rcpt_mode says; null when none */
static json_t *
audit_record_suppression(const audit_msg *m, const audit_record_opts *o)
{
    json_t *a;

    if (m->suppression == NULL || m->n_suppression == 0)
        return json_null();
    a = json_array();
    for (size_t i = 0; i < m->n_suppression; i++) {
        const audit_suppression *c = &m->suppression[i];
        json_t *r = o->rcpt_mode == AUDIT_RCPT_PLAIN ? audit_record_str(c->rcpt)
                    : o->rcpt_mode == AUDIT_RCPT_HASHED && o->rcpt_key != NULL
                        ? audit_record_rcpt_hash(o->rcpt_key, c->rcpt ? c->rcpt : "")
                        : json_null();
        json_array_append_new(
            a,
            json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "rcpt", r, "instance",
                      audit_record_str(c->instance), "region", audit_record_str(c->region),
                      "answer", audit_record_str(c->answer), "reason", audit_record_str(c->reason),
                      "cache", audit_record_str(c->cache), "action", audit_record_str(c->action)));
    }
    return a;
}

/*
 * v2: the X-SES-* header rule; null when none applied and no tenant was checked ("rule"
 * null: no rule, the message's own X-SES-TENANT was checked)
 */
static json_t *
audit_record_ses_headers(const audit_msg *m)
{
    json_t *a;

    if (m->ses_rule == NULL && m->ses_tenant == NULL)
        return json_null();
    a = json_array();
    for (size_t i = 0; m->ses_headers != NULL && i < m->n_ses_headers; i++)
        json_array_append_new(a, json_pack("{s:o,s:o,s:o}", "name",
                                           audit_record_str(m->ses_headers[i].name), "value",
                                           audit_record_str(m->ses_headers[i].value), "act",
                                           audit_record_str(m->ses_headers[i].act)));
    return json_pack("{s:o,s:o,s:o}", "rule", audit_record_str(m->ses_rule), "headers", a, "tenant",
                     m->ses_tenant == NULL
                         ? json_null()
                         : json_pack("{s:o,s:o,s:o,s:o,s:o}", "tenant",
                                     audit_record_str(m->ses_tenant->tenant), "identity",
                                     audit_record_str(m->ses_tenant->identity), "instance",
                                     audit_record_str(m->ses_tenant->instance), "region",
                                     audit_record_str(m->ses_tenant->region), "answer",
                                     audit_record_str(m->ses_tenant->answer)));
}

/* audit_record_providers - the provider verdicts, null when not evaluated */
static json_t *
audit_record_providers(const audit_msg *m)
{
    json_t *a;

    if (m->providers == NULL)
        return json_null();
    a = json_array();
    for (size_t i = 0; i < m->n_providers; i++) {
        const audit_provider *p = &m->providers[i];
        json_array_append_new(a, json_pack("{s:o,s:o,s:o}", "name", audit_record_str(p->name),
                                           "result", audit_record_str(p->result), "failed",
                                           audit_record_strs(p->failed, p->n_failed)));
    }
    return a;
}

/* v2: the unsubscribe store's answer for the list; null when none */
static json_t *
audit_record_unsubscribed(const audit_unsubscribed *u)
{
    if (u == NULL)
        return json_null();
    return json_pack("{s:o,s:o,s:I}", "list_id", audit_record_str(u->list_id), "store_action",
                     audit_record_str(u->store_action), "rcpt_count", (json_int_t)u->rcpt_count);
}

static json_t *
audit_record_scope(audit_scope s, audit_sysmail sysmail)
{
    json_t *out = s == AUDIT_SCOPE_NONE ? json_null() : json_boolean(s != AUDIT_SCOPE_EXTERNAL);

    return json_pack(
        "{s:o,s:o,s:o}", "outgoing", out, "reason", audit_record_enum(audit_scope_name(s)),
        "system_mail",
        audit_record_enum(sysmail >= 0 && (size_t)sysmail + 1 < SM_ARRAY_LEN(sysmail_names)
                              ? sysmail_names[sysmail]
                              : ""));
}

static json_t *
audit_record_reply(const audit_msg *m)
{
    if (m->reply_code == 0 && m->reply_text == NULL && m->reply_xcode == NULL)
        return json_null();
    return json_pack("{s:o,s:o,s:o}", "code",
                     m->reply_code ? json_integer(m->reply_code) : json_null(), "xcode",
                     audit_record_str(m->reply_xcode), "text", audit_record_str(m->reply_text));
}

json_t *
audit_record_json(const audit_msg *m, const audit_record_opts *o)
{
    char when[40];
    json_t *rec = json_object();

    audit_record_time(m->time_ms ? m->time_ms : util_wall_ms(), when, sizeof(when));
    json_object_set_new(rec, "v", json_integer(AUDIT_SCHEMA_VERSION));
    json_object_set_new(rec, "alg", json_string(audit_chain_alg(o->chain_key)));
    json_object_set_new(rec, "prev", json_string(AUDIT_CHAIN_GENESIS));
    json_object_set_new(rec, "time", json_string(when));
    json_object_set_new(rec, "qid", audit_record_str(m->queue_id));
    json_object_set_new(rec, "client",
                        json_pack("{s:o,s:o}", "addr", audit_record_str(m->client_addr), "name",
                                  audit_record_str(m->client_name)));
    json_object_set_new(rec, "auth_user", audit_record_str(m->auth_user));
    json_object_set_new(rec, "scope", audit_record_scope(m->scope, m->system_mail));
    json_object_set_new(rec, "env_from", audit_record_str(m->env_from));
    json_object_set_new(rec, "rcpt_count", json_integer((json_int_t)m->n_rcpts));
    json_object_set_new(rec, "rcpt_mode", json_string(rcpt_mode_names[o->rcpt_mode]));
    json_object_set_new(rec, "rcpts", audit_record_rcpts(m, o));
    json_object_set_new(rec, "from", audit_record_str(m->from));
    json_object_set_new(rec, "sender", audit_record_str(m->sender));
    json_object_set_new(rec, "lookups", audit_record_lookups(m));
    json_object_set_new(rec, "dkim", audit_record_dkim(m));
    json_object_set_new(rec, "spf", audit_record_spf(m->spf));
    json_object_set_new(rec, "dmarc", audit_record_dmarc(m->dmarc));
    json_object_set_new(rec, "unsub", audit_record_unsub(m));
    json_object_set_new(rec, "providers", audit_record_providers(m));
    json_object_set_new(rec, "suppression", audit_record_suppression(m, o));
    json_object_set_new(rec, "ses_headers", audit_record_ses_headers(m));
    json_object_set_new(rec, "refused_region", audit_record_str(m->refused_region));
    json_object_set_new(rec, "unsubscribed", audit_record_unsubscribed(m->unsubscribed));
    json_object_set_new(rec, "account", audit_record_account(m->account));
    json_object_set_new(rec, "action", audit_record_enum(audit_action_name(m->action)));
    json_object_set_new(rec, "reply", audit_record_reply(m));
    json_object_set_new(rec, "config", audit_record_str(m->config_version));
    json_object_set_new(
        rec, "version",
        audit_record_str(m->program_version ? m->program_version : PACKAGE_VERSION));
    json_object_set_new(rec, "outcome", audit_record_enum(audit_outcome_name(m->outcome)));
    return rec;
}

char *
audit_record_build(const audit_msg *m, const audit_record_opts *opts, size_t *len_r,
                   size_t *prev_off_r)
{
    json_t *rec = audit_record_json(m, opts);
    char *line = json_dumps(rec, JSON_COMPACT | JSON_PRESERVE_ORDER);
    const char *p;

    json_decref(rec);
    if (line == NULL) /* only on allocation failure inside jansson */
        abort();
    p = strstr(line, "\"prev\":\"");
    *prev_off_r = (size_t)(p - line) + 8;
    *len_r = strlen(line);
    return line;
}

/* ---- the schema, as data ---- */

typedef enum {
    AF_STR,     /* string */
    AF_INT,     /* integer >= 0 */
    AF_BOOL,    /* true / false */
    AF_ENUM,    /* one of names */
    AF_HEX64,   /* 64 lower-case hex digits */
    AF_TIME,    /* YYYY-MM-DDTHH:MM:SS.mmmZ */
    AF_OBJ,     /* object with sub fields */
    AF_ARR_STR, /* array of strings */
    AF_ARR_OBJ, /* array of objects with sub fields */
} audit_ftype;

typedef struct audit_field {
    const char *key;
    audit_ftype type;
    int nullable;
    const char *const *names;
    const struct audit_field *sub;
    int since; /* schema version that added the key */
} audit_field;

#define AF_END                                                                                     \
    {                                                                                              \
        NULL, AF_STR, 0, NULL, NULL, 0                                                             \
    }

static const audit_field f_client[] = {
    {"addr", AF_STR, 1, NULL, NULL, 1}, {"name", AF_STR, 1, NULL, NULL, 1}, AF_END};
static const audit_field f_scope[] = {{"outgoing", AF_BOOL, 1, NULL, NULL, 1},
                                      {"reason", AF_ENUM, 1, scope_names + 1, NULL, 1},
                                      {"system_mail", AF_ENUM, 1, sysmail_names + 1, NULL, 2},
                                      AF_END};
static const audit_field f_lookup[] = {{"identity", AF_STR, 1, NULL, NULL, 1},
                                       {"role", AF_ENUM, 1, role_names + 1, NULL, 1},
                                       {"matched", AF_STR, 1, NULL, NULL, 1},
                                       {"source", AF_STR, 1, NULL, NULL, 1},
                                       {"instance", AF_STR, 1, NULL, NULL, 1},
                                       {"answer", AF_ENUM, 1, answer_names + 1, NULL, 1},
                                       {"cache", AF_ENUM, 1, cache_names + 1, NULL, 1},
                                       {"age_s", AF_INT, 1, NULL, NULL, 1},
                                       AF_END};
static const audit_field f_dkim[] = {{"d", AF_STR, 1, NULL, NULL, 1},
                                     {"s", AF_STR, 1, NULL, NULL, 1},
                                     {"alg", AF_STR, 1, NULL, NULL, 1},
                                     {"result", AF_STR, 1, NULL, NULL, 1},
                                     AF_END};
static const audit_field f_spf[] = {{"domain", AF_STR, 1, NULL, NULL, 1},
                                    {"ips", AF_ARR_STR, 0, NULL, NULL, 1},
                                    {"result", AF_STR, 1, NULL, NULL, 1},
                                    AF_END};
static const audit_field f_dmarc[] = {{"domain", AF_STR, 1, NULL, NULL, 1},
                                      {"p", AF_STR, 1, NULL, NULL, 1},
                                      {"result", AF_STR, 1, NULL, NULL, 1},
                                      {"aligned_dkim", AF_BOOL, 1, NULL, NULL, 1},
                                      {"aligned_spf", AF_BOOL, 1, NULL, NULL, 1},
                                      {"advice", AF_ARR_STR, 0, NULL, NULL, 1},
                                      AF_END};
static const audit_field f_header[] = {
    {"name", AF_STR, 1, NULL, NULL, 1}, {"value", AF_STR, 1, NULL, NULL, 1}, AF_END};
static const audit_field f_provider[] = {{"name", AF_STR, 0, NULL, NULL, 1},
                                         {"result", AF_ENUM, 0, provider_result_names, NULL, 1},
                                         {"failed", AF_ARR_STR, 0, NULL, NULL, 1},
                                         AF_END};
static const char *const supp_answer_names[] = {"clear", "suppressed", "tempfail", NULL};
static const char *const supp_action_names[] = {"refused", "logged", "accepted", "tempfail", NULL};
static const char *const ses_act_names[] = {"added", "kept", "replaced", NULL};
static const audit_field f_suppression[] = {{"rcpt", AF_STR, 1, NULL, NULL, 1},
                                            {"instance", AF_STR, 1, NULL, NULL, 1},
                                            {"region", AF_STR, 1, NULL, NULL, 1},
                                            {"answer", AF_ENUM, 0, supp_answer_names, NULL, 1},
                                            {"reason", AF_STR, 1, NULL, NULL, 1},
                                            {"cache", AF_STR, 1, NULL, NULL, 1},
                                            {"action", AF_ENUM, 0, supp_action_names, NULL, 1},
                                            AF_END};
static const audit_field f_ses_header[] = {{"name", AF_STR, 0, NULL, NULL, 1},
                                           {"value", AF_STR, 1, NULL, NULL, 1},
                                           {"act", AF_ENUM, 0, ses_act_names, NULL, 1},
                                           AF_END};
static const char *const tenant_answer_names[] = {"associated", "not_associated", "unchecked",
                                                  "tempfail", NULL};
static const audit_field f_ses_tenant[] = {{"tenant", AF_STR, 0, NULL, NULL, 1},
                                           {"identity", AF_STR, 1, NULL, NULL, 1},
                                           {"instance", AF_STR, 1, NULL, NULL, 1},
                                           {"region", AF_STR, 1, NULL, NULL, 1},
                                           {"answer", AF_ENUM, 0, tenant_answer_names, NULL, 1},
                                           AF_END};
static const audit_field f_ses_headers[] = {{"rule", AF_STR, 1, NULL, NULL, 1},
                                            {"headers", AF_ARR_OBJ, 0, NULL, f_ses_header, 1},
                                            {"tenant", AF_OBJ, 1, NULL, f_ses_tenant, 1},
                                            AF_END};
static const char *const store_action_names[] = {"drop",     "reject",    "tag",
                                                 "tempfail", "unchecked", NULL};
static const audit_field f_unsubscribed[] = {
    {"list_id", AF_STR, 0, NULL, NULL, 1},
    {"store_action", AF_ENUM, 0, store_action_names, NULL, 1},
    {"rcpt_count", AF_INT, 0, NULL, NULL, 1},
    AF_END};
static const audit_field f_reply[] = {{"code", AF_INT, 1, NULL, NULL, 1},
                                      {"xcode", AF_STR, 1, NULL, NULL, 1},
                                      {"text", AF_STR, 1, NULL, NULL, 1},
                                      AF_END};
static const audit_field f_account[] = {
    {"instance", AF_STR, 1, NULL, NULL, 1},      {"region", AF_STR, 1, NULL, NULL, 1},
    {"status", AF_STR, 1, NULL, NULL, 1},        {"decision", AF_STR, 0, NULL, NULL, 1},
    {"rcpts_refused", AF_INT, 0, NULL, NULL, 1}, AF_END};
static const audit_field f_record[] = {{"v", AF_INT, 0, NULL, NULL, 1},
                                       {"alg", AF_ENUM, 0, alg_names, NULL, 1},
                                       {"prev", AF_HEX64, 0, NULL, NULL, 1},
                                       {"time", AF_TIME, 0, NULL, NULL, 1},
                                       {"qid", AF_STR, 1, NULL, NULL, 1},
                                       {"client", AF_OBJ, 0, NULL, f_client, 1},
                                       {"auth_user", AF_STR, 1, NULL, NULL, 1},
                                       {"scope", AF_OBJ, 0, NULL, f_scope, 1},
                                       {"env_from", AF_STR, 1, NULL, NULL, 1},
                                       {"rcpt_count", AF_INT, 0, NULL, NULL, 1},
                                       {"rcpt_mode", AF_ENUM, 0, rcpt_mode_names, NULL, 1},
                                       {"rcpts", AF_ARR_STR, 1, NULL, NULL, 1},
                                       {"from", AF_STR, 1, NULL, NULL, 1},
                                       {"sender", AF_STR, 1, NULL, NULL, 1},
                                       {"lookups", AF_ARR_OBJ, 0, NULL, f_lookup, 1},
                                       {"dkim", AF_ARR_OBJ, 0, NULL, f_dkim, 1},
                                       {"spf", AF_OBJ, 1, NULL, f_spf, 1},
                                       {"dmarc", AF_OBJ, 1, NULL, f_dmarc, 1},
                                       {"unsub", AF_ARR_OBJ, 0, NULL, f_header, 1},
                                       {"providers", AF_ARR_OBJ, 1, NULL, f_provider, 2},
                                       {"suppression", AF_ARR_OBJ, 1, NULL, f_suppression, 2},
                                       {"ses_headers", AF_OBJ, 1, NULL, f_ses_headers, 2},
                                       {"refused_region", AF_STR, 1, NULL, NULL, 2},
                                       {"unsubscribed", AF_OBJ, 1, NULL, f_unsubscribed, 2},
                                       {"account", AF_OBJ, 1, NULL, f_account, 2},
                                       {"action", AF_ENUM, 1, action_names + 1, NULL, 1},
                                       {"reply", AF_OBJ, 1, NULL, f_reply, 1},
                                       {"config", AF_STR, 1, NULL, NULL, 1},
                                       {"version", AF_STR, 0, NULL, NULL, 1},
                                       {"outcome", AF_ENUM, 1, outcome_names + 1, NULL, 1},
                                       AF_END};

static int audit_record_check_obj(const json_t *obj, const audit_field *tab, int ver,
                                  const char *path, char *err, size_t errlen);

/* audit_record_check_time - the exact timestamp layout the builder writes */
static int
audit_record_check_time(const char *s)
{
    const char *pat = "dddd-dd-ddTdd:dd:dd.dddZ";
    size_t i;

    for (i = 0; pat[i] != '\0'; i++) {
        if (pat[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != pat[i])
            return -1;
    }
    return s[i] == '\0' ? 0 : -1;
}

/* audit_record_check_enum - s is one of names */
static int
audit_record_check_enum(const char *s, const char *const *names)
{
    for (size_t i = 0; names[i] != NULL; i++)
        if (*names[i] && strcmp(s, names[i]) == 0)
            return 0;
    return -1;
}

/* audit_record_check_value - one value against its field description */
static int
audit_record_check_value(const json_t *v, const audit_field *f, int ver, const char *path,
                         char *err, size_t errlen)
{
    const char *s = json_string_value(v);
    size_t i;
    json_t *e;

    if (json_is_null(v))
        return f->nullable ? 0 : util_errf(err, errlen, "%s: must not be null", path);
    switch (f->type) {
    case AF_STR:
        return s ? 0 : util_errf(err, errlen, "%s: not a string", path);
    case AF_INT:
        return json_is_integer(v) && json_integer_value(v) >= 0
                   ? 0
                   : util_errf(err, errlen, "%s: not an integer >= 0", path);
    case AF_BOOL:
        return json_is_boolean(v) ? 0 : util_errf(err, errlen, "%s: not a boolean", path);
    case AF_ENUM:
        return s && audit_record_check_enum(s, f->names) == 0
                   ? 0
                   : util_errf(err, errlen, "%s: not an allowed value", path);
    case AF_HEX64:
        return s && strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64
                   ? 0
                   : util_errf(err, errlen, "%s: not 64 hex digits", path);
    case AF_TIME:
        return s && audit_record_check_time(s) == 0
                   ? 0
                   : util_errf(err, errlen, "%s: not YYYY-MM-DDTHH:MM:SS.mmmZ", path);
    case AF_OBJ:
        return audit_record_check_obj(v, f->sub, ver, path, err, errlen);
    case AF_ARR_STR:
    case AF_ARR_OBJ:
        if (!json_is_array(v))
            return util_errf(err, errlen, "%s: not an array", path);
        json_array_foreach(v, i, e)
        {
            char sub[160];
            snprintf(sub, sizeof(sub), "%.100s[%zu]", path, i);
            if (f->type == AF_ARR_STR && !json_is_string(e))
                return util_errf(err, errlen, "%s: not a string", sub);
            if (f->type == AF_ARR_OBJ &&
                audit_record_check_obj(e, f->sub, ver, sub, err, errlen) < 0)
                return -1;
        }
        return 0;
    }
    return util_errf(err, errlen, "%s: internal error", path);
}

/* audit_record_field_next - f, or the next field of tab that schema version ver has */
static const audit_field *
audit_record_field_next(const audit_field *f, int ver)
{
    while (f->key != NULL && f->since > ver)
        f++;
    return f;
}

/*
 * audit_record_check_obj - exactly the keys of tab that schema version ver
 * has, in their order, each well typed
 */
static int
audit_record_check_obj(const json_t *obj, const audit_field *tab, int ver, const char *path,
                       char *err, size_t errlen)
{
    const audit_field *f = audit_record_field_next(tab, ver);
    const char *key;
    json_t *v;

    if (!json_is_object(obj))
        return util_errf(err, errlen, "%s: not an object", path);
    json_object_foreach((json_t *)obj, key, v)
    {
        char sub[160];

        snprintf(sub, sizeof(sub), "%.100s%s%.50s", path, *path ? "." : "", key);
        if (f->key == NULL)
            return util_errf(err, errlen, "%s: unknown key", sub);
        if (strcmp(f->key, key) != 0)
            return util_errf(err, errlen, "%s: key out of order or unknown (expected \"%s\")", sub,
                             f->key);
        if (audit_record_check_value(v, f, ver, sub, err, errlen) < 0)
            return -1;
        f = audit_record_field_next(f + 1, ver);
    }
    if (f->key != NULL)
        return util_errf(err, errlen, "%s%s%s: missing", path, *path ? "." : "", f->key);
    return 0;
}

int
audit_record_validate(const json_t *rec, char *err, size_t errlen)
{
    json_t *jv = json_is_object(rec) ? json_object_get(rec, "v") : NULL;
    json_int_t ver = json_is_integer(jv) ? json_integer_value(jv) : 0;

    if (ver < 1 || ver > AUDIT_SCHEMA_VERSION)
        return util_errf(err, errlen, "v: not a schema version from 1 to %d", AUDIT_SCHEMA_VERSION);
    if (audit_record_check_obj(rec, f_record, (int)ver, "", err, errlen) < 0)
        return -1;
    if ((size_t)json_integer_value(json_object_get(rec, "rcpt_count")) !=
            json_array_size(json_object_get(rec, "rcpts")) &&
        !json_is_null(json_object_get(rec, "rcpts")))
        return util_errf(err, errlen, "rcpts: length differs from rcpt_count");
    return 0;
}
