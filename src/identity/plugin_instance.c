/*
 * plugin_instance.c - one identity-source instance: the host services it is
 * offered, and every call into its plugin
 *
 * Purpose: an instance is one configured source ({ name = "ses-us"; plugin =
 * "ses"; ... }) of a module the loader (plugin.c) opened and checked.  This
 * file builds its sm_plugin_host (log, conf_*, cache_put, open_file,
 * budget_take, metric), runs the plugin's init/start/close, and asks it
 * (lookup through the shared cache, describe/list for "ses-milter doctor",
 * ask and account), terminating every string the plugin wrote.
 *
 * Security: a plugin's log text is sanitised before it reaches the log; its
 * configuration is readable only during init(); its answers are clamped to
 * the values the ABI defines (anything else is tempfail).
 *
 * Diagnostics: configuration errors read "file:line: reason" and name the
 * instance; a failed start() names the instance.
 */
#include "config.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cfg.h"
#include "identity/identity.h"
#include "lib/log.h"
#include "metrics/metrics.h"
#include "identity/plugin.h"
#include "identity/plugin_int.h"
#include "lib/privsep.h"
#include "lib/util.h"

struct plugin_instance {
    char *name;
    char *plugin_label; /* "file 1.0" */
    plugin_module *mod;
    void *data; /* the plugin's instance */
    sm_plugin_host host;
    const config_setting_t *setting; /* only during init */
    cache *cache;
    int metrics_slot; /* metrics_instance_slot() of name and plugin */
    int inited;       /* init() succeeded: close() is owed */
    int started;
};

/* ---- host services ---- */

static void plugin_instance_log(void *ctx, int level, const char *queue_id, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
plugin_instance_log(void *ctx, int level, const char *queue_id, const char *fmt, ...)
{
    plugin_instance *inst = ctx;
    char text[1024], clean[2048], qid[64];
    va_list ap;

    if (level < LOG_ERR)
        level = LOG_ERR;
    if (level > LOG_DEBUG)
        level = LOG_DEBUG;
    if (!log_enabled(level) || fmt == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    log_sanitize(text, clean, sizeof(clean));
    log_sanitize(queue_id != NULL ? queue_id : "", qid, sizeof(qid));
    log_msg(level, qid, "identity source %s: %s", inst->name, clean);
}

static const config_setting_t *
plugin_instance_member(plugin_instance *inst, const char *name)
{
    if (inst->setting == NULL || name == NULL)
        return NULL;
    return config_setting_get_member(inst->setting, name);
}

static int
plugin_instance_gone(plugin_instance *inst, char *err, size_t errlen)
{
    return util_errf(err, errlen, "identity source %s: configuration is only readable in init()",
                     inst->name);
}

static int
plugin_instance_conf_check(void *ctx, const char *const *known, char *err, size_t errlen)
{
    plugin_instance *inst = ctx;

    if (inst->setting == NULL)
        return plugin_instance_gone(inst, err, errlen);
    for (int i = 0; i < config_setting_length(inst->setting); i++) {
        const config_setting_t *s = config_setting_get_elem(inst->setting, (unsigned)i);
        const char *name = config_setting_name(s);
        int ok = name != NULL && (strcmp(name, "name") == 0 || strcmp(name, "plugin") == 0);

        for (size_t j = 0; !ok && known != NULL && known[j] != NULL; j++)
            ok = strcmp(known[j], name) == 0;
        if (!ok)
            return cfg_errf(err, errlen, s, "unknown setting '%s' for identity source %s",
                            name ? name : "?", inst->name);
    }
    return 0;
}

/*
 * plugin_instance_setting - the setting name of the instance's group in *s_r:
 * 1 when it is there, 0 when it is not (the default applies), -1 (err) when
 * the configuration is gone (asked after init)
 */
static int
plugin_instance_setting(plugin_instance *inst, const char *name, const config_setting_t **s_r,
                        char *err, size_t errlen)
{
    *s_r = NULL;
    if (inst->setting == NULL)
        return plugin_instance_gone(inst, err, errlen);
    *s_r = plugin_instance_member(inst, name);
    return *s_r != NULL;
}

static int
plugin_instance_conf_string(void *ctx, const char *name, const char *def, const char **val_r,
                            char *err, size_t errlen)
{
    plugin_instance *inst = ctx;
    const config_setting_t *s;
    int rc = plugin_instance_setting(inst, name, &s, err, errlen);

    *val_r = def;
    if (rc <= 0)
        return rc;
    if (config_setting_type(s) != CONFIG_TYPE_STRING)
        return cfg_errf(err, errlen, s, "'%s' of identity source %s must be a string", name,
                        inst->name);
    *val_r = config_setting_get_string(s);
    return 0;
}

static int
plugin_instance_conf_int(void *ctx, const char *name, long def, long min, long max, long *val_r,
                         char *err, size_t errlen)
{
    plugin_instance *inst = ctx;
    const config_setting_t *s;
    int rc = plugin_instance_setting(inst, name, &s, err, errlen);
    long long v;

    *val_r = def;
    if (rc <= 0)
        return rc;
    if (config_setting_type(s) != CONFIG_TYPE_INT && config_setting_type(s) != CONFIG_TYPE_INT64)
        return cfg_errf(err, errlen, s, "'%s' of identity source %s must be an integer", name,
                        inst->name);
    v = config_setting_get_int64(s);
    if (v < min || v > max)
        return cfg_errf(err, errlen, s, "'%s' = %lld is out of range [%ld, %ld]", name, v, min,
                        max);
    *val_r = (long)v;
    return 0;
}

static int
plugin_instance_conf_bool(void *ctx, const char *name, int def, int *val_r, char *err,
                          size_t errlen)
{
    plugin_instance *inst = ctx;
    const config_setting_t *s;
    int rc = plugin_instance_setting(inst, name, &s, err, errlen);

    *val_r = def;
    if (rc <= 0)
        return rc;
    if (config_setting_type(s) != CONFIG_TYPE_BOOL)
        return cfg_errf(err, errlen, s, "'%s' of identity source %s must be true or false", name,
                        inst->name);
    *val_r = config_setting_get_bool(s);
    return 0;
}

static const char *
plugin_instance_conf_where(void *ctx, const char *name, char *buf, size_t len)
{
    plugin_instance *inst = ctx;
    const config_setting_t *s = name != NULL ? plugin_instance_member(inst, name) : NULL;

    if (s == NULL)
        s = inst->setting;
    if (s == NULL) {
        snprintf(buf, len, "(identity source %s)", inst->name);
        return buf;
    }
    return cfg_where(s, buf, len);
}

static void
plugin_instance_cache_put(void *ctx, const char *identity, sm_id_kind kind, sm_id_answer answer,
                          const sm_id_attrs *attrs)
{
    plugin_instance *inst = ctx;
    char *norm;

    if (inst->cache == NULL || identity == NULL)
        return;
    if (identity_normalize(identity, kind, &norm, NULL, 0) < 0)
        return;
    cache_put(inst->cache, inst->name, norm, kind, answer, attrs);
    free(norm);
}

/* plugin_instance_answer - a state backend's answer as the ABI's: 1 yes, 0 no, -1 no backend now */
static int
plugin_instance_answer(state_result r)
{
    switch (r) {
    case STATE_FOUND:
        return 1;
    case STATE_NOT_FOUND:
        return 0;
    case STATE_ERROR:
        break;
    }
    return -1;
}

/* plugin_instance_budget_take - one request from the fleet's shared API budget (ABI 1.2) */
static int
plugin_instance_budget_take(void *ctx, const char *bucket, unsigned per_second,
                            uint64_t deadline_ms, unsigned *wait_ms_r)
{
    plugin_instance *inst = ctx;
    sm_state *st = inst->cache != NULL ? cache_state(inst->cache) : NULL;

    if (st == NULL || bucket == NULL || wait_ms_r == NULL)
        return -1;
    return plugin_instance_answer(
        state_budget_take(st, bucket, per_second, deadline_ms, wait_ms_r));
}

/* plugin_instance_shared_get - ABI 1.3: the fleet's answer a plugin shares (state_kv_get) */
static int
plugin_instance_shared_get(void *ctx, const char *kind, const char *subject, char *val,
                           size_t vallen, uint64_t *ttl_ms_r, uint64_t deadline_ms)
{
    plugin_instance *inst = ctx;
    sm_state *st = inst->cache != NULL ? cache_state(inst->cache) : NULL;

    if (st == NULL || kind == NULL || subject == NULL || val == NULL || vallen == 0 ||
        ttl_ms_r == NULL)
        return -1;
    return plugin_instance_answer(
        state_kv_get(st, inst->name, kind, subject, deadline_ms, val, vallen, ttl_ms_r));
}

/* plugin_instance_shared_put - ABI 1.3: share a plugin's answer with the fleet (state_kv_put) */
static void
plugin_instance_shared_put(void *ctx, const char *kind, const char *subject, const char *value,
                           uint64_t ttl_ms, uint64_t deadline_ms)
{
    plugin_instance *inst = ctx;
    sm_state *st = inst->cache != NULL ? cache_state(inst->cache) : NULL;

    if (st != NULL && kind != NULL && subject != NULL && value != NULL)
        state_kv_put(st, inst->name, kind, subject, value, ttl_ms, deadline_ms);
}

/* plugin_instance_open_file - a file the plugin's configuration names, opened like the host's */
static int
plugin_instance_open_file(void *ctx, const char *path, char *err, size_t errlen)
{
    (void)ctx;
    return privsep_open(path, O_RDONLY, 0, err, errlen);
}

/* plugin_instance_metric - ABI 1.2: an API call, throttle or error the plugin reports */
static void
plugin_instance_metric(void *ctx, sm_metric_event event, const char *operation)
{
    (void)ctx;
    metrics_api((int)event, operation);
}

/* ---- the instance's life ---- */

plugin_instance *
plugin_instance_new(const plugin_source *src, plugin_module *m, cache *c)
{
    plugin_instance *inst = xcalloc(1, sizeof(*inst));

    inst->name = xstrdup(src->name);
    inst->plugin_label = xasprintf("%s %s", m->desc->name ? m->desc->name : src->plugin,
                                   m->desc->version ? m->desc->version : "?");
    inst->mod = m;
    inst->cache = c;
    inst->setting = src->setting;
    inst->host.abi_version = SM_PLUGIN_ABI_VERSION;
    inst->host.size = sizeof(inst->host);
    inst->host.ctx = inst;
    inst->host.log = plugin_instance_log;
    inst->host.conf_check = plugin_instance_conf_check;
    inst->host.conf_string = plugin_instance_conf_string;
    inst->host.conf_int = plugin_instance_conf_int;
    inst->host.conf_bool = plugin_instance_conf_bool;
    inst->host.conf_where = plugin_instance_conf_where;
    inst->host.cache_put = plugin_instance_cache_put;
    inst->host.open_file = plugin_instance_open_file;
    inst->host.metric = plugin_instance_metric;
    inst->host.budget_take = plugin_instance_budget_take;
    inst->host.shared_get = plugin_instance_shared_get; /* ABI 1.3 */
    inst->host.shared_put = plugin_instance_shared_put;
    inst->host.instance_name = inst->name;
    inst->metrics_slot = metrics_instance_slot(inst->name, src->plugin);
    return inst;
}

int
plugin_instance_init(plugin_instance *inst, char *why, size_t whylen)
{
    why[0] = '\0';
    if (inst->mod->desc->init(&inst->host, &inst->data, why, whylen) != 0)
        return -1;
    inst->setting = NULL; /* the libconfig settings are gone after the load */
    inst->inited = 1;
    return 0;
}

int
plugin_instance_start(plugin_instance *inst, char *err, size_t errlen)
{
    char why[512] = "";

    if (inst->started)
        return 0;
    if (inst->mod->desc->start != NULL && inst->mod->desc->start(inst->data, why, sizeof(why)) != 0)
        return util_errf(err, errlen, "identity source %s: start: %s", inst->name,
                         why[0] ? why : "failed");
    inst->started = 1;
    return 0;
}

plugin_instance *
plugin_instance_free(plugin_instance *inst)
{
    if (inst == NULL)
        return NULL;
    if (inst->inited)
        inst->mod->desc->close(inst->data);
    free(inst->name);
    free(inst->plugin_label);
    free(inst);
    return NULL;
}

const char *
plugin_instance_name(const plugin_instance *inst)
{
    return inst->name;
}

const char *
plugin_instance_plugin(const plugin_instance *inst)
{
    return inst->plugin_label;
}

typedef struct plugin_instance_dump_ctx {
    FILE *fp;
    const char *name;
} plugin_instance_dump_ctx;

static void
plugin_instance_dump_line(void *arg, const char *line)
{
    plugin_instance_dump_ctx *d = arg;
    char clean[1024];

    fprintf(d->fp, "# identity source %s: %s\n", d->name, log_sanitize(line, clean, sizeof(clean)));
}

void
plugin_instance_dump(FILE *fp, const plugin_instance *inst)
{
    plugin_instance_dump_ctx d = {fp, inst->name};

    size_t minor = inst->mod->desc->abi_minor;

    fprintf(fp, "# identity source %s: plugin %s (%s)\n", inst->name, inst->plugin_label,
            inst->mod->path);
    if (minor > SM_PLUGIN_ABI_MINOR)
        fprintf(fp,
                "# identity source %s: plugin built for ABI %d.%zu, this host knows %d.%d: "
                "what %d.%zu adds is not used\n",
                inst->name, SM_PLUGIN_ABI_VERSION, minor, SM_PLUGIN_ABI_VERSION,
                SM_PLUGIN_ABI_MINOR, SM_PLUGIN_ABI_VERSION, minor);
    if (inst->mod->desc->dump != NULL)
        inst->mod->desc->dump(inst->data, plugin_instance_dump_line, &d);
}

typedef struct plugin_instance_fetch_arg {
    plugin_instance *inst;
    const char *queue_id;
} plugin_instance_fetch_arg;

/* plugin_instance_attrs_terminate - a plugin may have filled a string field to the end */
static void
plugin_instance_attrs_terminate(sm_id_attrs *a)
{
    a->size = sizeof(*a);
    a->identity[sizeof(a->identity) - 1] = '\0';
    a->dkim_status[sizeof(a->dkim_status) - 1] = '\0';
    a->dkim_origin[sizeof(a->dkim_origin) - 1] = '\0';
    a->mail_from_domain[sizeof(a->mail_from_domain) - 1] = '\0';
    a->mail_from_status[sizeof(a->mail_from_status) - 1] = '\0';
    a->mail_from_behavior[sizeof(a->mail_from_behavior) - 1] = '\0';
    a->region[sizeof(a->region) - 1] = '\0';
    a->detail[sizeof(a->detail) - 1] = '\0';
}

static sm_id_answer
plugin_instance_fetch(void *arg, const char *identity, sm_id_kind kind, uint64_t deadline_ms,
                      sm_id_attrs *attrs)
{
    plugin_instance_fetch_arg *fa = arg;
    sm_id_query q;
    sm_id_answer a;
    uint64_t t0;

    memset(&q, 0, sizeof(q));
    q.size = sizeof(q);
    q.identity = identity;
    q.kind = kind;
    q.deadline_ms = deadline_ms;
    q.queue_id = fa->queue_id != NULL ? fa->queue_id : "";
    t0 = metrics_clock();
    a = fa->inst->mod->desc->lookup(fa->inst->data, &q, attrs);
    metrics_lookup_time(fa->inst->metrics_slot, t0);
    plugin_instance_attrs_terminate(attrs);
    return a;
}

/* plugin_instance_origin - how the cache served an answer, as the metrics label */
static metrics_origin
plugin_instance_origin(cache_origin o)
{
    static const metrics_origin map[] = {[CACHE_HIT] = METRICS_ORIGIN_HIT,
                                         [CACHE_MISS] = METRICS_ORIGIN_MISS,
                                         [CACHE_SHARED] = METRICS_ORIGIN_SHARED,
                                         [CACHE_STALE] = METRICS_ORIGIN_STALE,
                                         [CACHE_REDIS] = METRICS_ORIGIN_REDIS};
    return (unsigned)o < SM_ARRAY_LEN(map) ? map[o] : METRICS_ORIGIN_NONE;
}

sm_id_answer
plugin_instance_lookup(plugin_instance *inst, cache *c, const char *identity, sm_id_kind kind,
                       uint64_t deadline_ms, const char *queue_id, cache_answer *out)
{
    plugin_instance_fetch_arg fa = {inst, queue_id};
    sm_id_answer a;

    if (c != NULL) {
        a = cache_lookup(c, inst->name, identity, kind, deadline_ms, plugin_instance_fetch, &fa,
                         out);
        metrics_gate_answer(inst->metrics_slot, a, plugin_instance_origin(out->origin));
        return a;
    }
    memset(out, 0, sizeof(*out));
    out->attrs.size = sizeof(out->attrs);
    out->attrs.dkim_signing_enabled = SM_TRI_UNKNOWN;
    a = plugin_instance_fetch(&fa, identity, kind, deadline_ms, &out->attrs);
    if (a != SM_ID_VERIFIED && a != SM_ID_NOT_VERIFIED && a != SM_ID_UNKNOWN)
        a = SM_ID_TEMPFAIL;
    out->answer = a;
    out->origin = CACHE_MISS;
    out->stored_wall_ms = util_wall_ms();
    metrics_gate_answer(inst->metrics_slot, a, plugin_instance_origin(out->origin));
    return a;
}

/*
 * plugin_instance_describe - ABI 1.2: the source's full state of one
 * identity ("ses-milter doctor"), never cached; SM_ID_UNKNOWN with
 * d->attrs.detail when the plugin has no describe()
 */
sm_id_answer
plugin_instance_describe(plugin_instance *inst, const char *identity, sm_id_kind kind,
                         uint64_t deadline_ms, sm_id_description *d)
{
    const sm_plugin_doctor *doc = inst->mod->desc->doctor;
    sm_id_query q;
    sm_id_answer a;

    memset(d, 0, sizeof(*d));
    d->size = sizeof(*d);
    d->attrs.size = sizeof(d->attrs);
    d->attrs.dkim_signing_enabled = SM_TRI_UNKNOWN;
    d->verified_for_sending = SM_TRI_UNKNOWN;
    memset(&q, 0, sizeof(q));
    q.size = sizeof(q);
    q.identity = identity;
    q.kind = kind;
    q.deadline_ms = deadline_ms;
    q.queue_id = "doctor";
    if (doc == NULL || doc->size < offsetof(sm_plugin_doctor, describe) + sizeof(doc->describe) ||
        doc->describe == NULL) {
        a = inst->mod->desc->lookup(inst->data, &q, &d->attrs);
    } else {
        a = doc->describe(inst->data, &q, d);
    }
    plugin_instance_attrs_terminate(&d->attrs);
    d->size = sizeof(*d);
    d->verification_status[sizeof(d->verification_status) - 1] = '\0';
    d->error_type[sizeof(d->error_type) - 1] = '\0';
    d->last_checked[sizeof(d->last_checked) - 1] = '\0';
    d->dkim_key_length[sizeof(d->dkim_key_length) - 1] = '\0';
    if (d->n_dkim_tokens > SM_ID_DKIM_TOKENS_MAX)
        d->n_dkim_tokens = SM_ID_DKIM_TOKENS_MAX;
    for (size_t i = 0; i < d->n_dkim_tokens; i++)
        d->dkim_tokens[i][sizeof(d->dkim_tokens[i]) - 1] = '\0';
    if (a != SM_ID_VERIFIED && a != SM_ID_NOT_VERIFIED && a != SM_ID_UNKNOWN)
        a = SM_ID_TEMPFAIL;
    return a;
}

/* plugin_instance_can_describe - 1 when the plugin has ABI 1.2's describe() */
int
plugin_instance_can_describe(const plugin_instance *inst)
{
    const sm_plugin_doctor *doc = inst->mod->desc->doctor;

    return doc != NULL &&
           doc->size >= offsetof(sm_plugin_doctor, describe) + sizeof(doc->describe) &&
           doc->describe != NULL;
}

/* plugin_instance_list - ABI 1.2: every identity the source knows; -1 with err when it cannot */
int
plugin_instance_list(plugin_instance *inst, uint64_t deadline_ms, sm_id_list_fn fn, void *arg,
                     char *err, size_t errlen)
{
    const sm_plugin_doctor *doc = inst->mod->desc->doctor;

    if (doc == NULL || doc->size < offsetof(sm_plugin_doctor, list) + sizeof(doc->list) ||
        doc->list == NULL)
        return util_errf(err, errlen, "source %s (plugin %s) cannot list its identities",
                         inst->name, inst->plugin_label);
    return doc->list(inst->data, deadline_ms, fn, arg, err, errlen);
}

/* plugin_instance_ask - ABI 1.2: a question about the source's account (plugin.h) */
sm_ask_answer
plugin_instance_ask(plugin_instance *inst, sm_ask_question question, const char *subject,
                    const char *tenant, uint64_t deadline_ms, const char *queue_id,
                    sm_ask_attrs *attrs)
{
    const sm_plugin *d = inst->mod->desc;
    sm_ask_query q = {sizeof(q), question,    subject,
                      tenant,    deadline_ms, queue_id != NULL ? queue_id : ""};
    sm_ask_answer a;

    memset(attrs, 0, sizeof(*attrs));
    attrs->size = sizeof(*attrs);
    /* 1.0 and 1.1 descriptors have zeroed spare fields: no questions */
    if (d->ask == NULL || !inst->started)
        return SM_ASK_UNKNOWN;
    a = d->ask(inst->data, &q, attrs);
    attrs->reason[sizeof(attrs->reason) - 1] = '\0';
    attrs->last_update[sizeof(attrs->last_update) - 1] = '\0';
    attrs->region[sizeof(attrs->region) - 1] = '\0';
    attrs->origin[sizeof(attrs->origin) - 1] = '\0';
    attrs->detail[sizeof(attrs->detail) - 1] = '\0';
    if (a != SM_ASK_YES && a != SM_ASK_NO && a != SM_ASK_UNKNOWN)
        a = SM_ASK_TEMPFAIL;
    return a;
}

/* plugin_instance_account - ask the plugin's optional account entry */
int
plugin_instance_account(plugin_instance *inst, sm_acct_state *st)
{
    const sm_plugin *d = inst->mod->desc;

    memset(st, 0, sizeof(*st));
    st->size = sizeof(*st);
    if (d->account == NULL || !inst->started)
        return -1;
    return d->account(inst->data, st);
}

size_t
plugin_instance_abi_minor(const plugin_instance *inst)
{
    return inst->mod->desc->abi_minor;
}

int
plugin_instance_has_account(const plugin_instance *inst)
{
    return inst->mod->desc->account != NULL;
}
