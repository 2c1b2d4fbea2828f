/*
 * plugin.c - identity-source plugins: loader, host services, instances
 *
 * Purpose: load DIR/NAME.so safely, check its descriptor, create one
 * instance per configured source and offer it the host services.
 *
 * Security: plugin and instance names may only contain [A-Za-z0-9_.-]
 * and never "..", so a name cannot leave the plugin directory; the
 * directory, every directory above it and the file must be owned by root
 * or the user ses-milter started as (root for a daemon that dropped its
 * privileges: a plugin of the run user is refused, at a reload too) and
 * must not be writable by group or others (Postfix's dict_open rule; a
 * parent may be a sticky directory of root's such as /tmp).  The file is
 * opened without following a symbolic link, checked through its
 * descriptor, and that descriptor is what is loaded.
 * A plugin's log text is sanitised before it reaches the log.
 *
 * Diagnostics: every refusal names the instance, the path and the reason;
 * configuration errors from a plugin read "file:line: reason".
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/cfg.h"
#include "identity/identity.h"
#include "lib/log.h"
#include "metrics/metrics.h"
#include "identity/plugin.h"
#include "lib/privsep.h"
#include "lib/util.h"

typedef struct plugin_module {
    char *path;
    void *handle;
    const sm_plugin *desc;
    int fd; /* what was checked and loaded; open while loaded */
} plugin_module;

struct plugin_instance {
    char *name;
    char *plugin_label; /* "file 1.0" */
    plugin_module *mod;
    void *data; /* the plugin's instance */
    sm_plugin_host host;
    const config_setting_t *setting; /* only during init */
    cache *cache;
    int metrics_slot; /* metrics_instance_slot() of name and plugin */
    int started;
};

struct plugin_chain {
    plugin_module **mods;
    size_t nmods;
    plugin_instance **inst;
    size_t ninst;
};

int
plugin_name_check(const char *name, char *err, size_t errlen)
{
    if (name == NULL || *name == '\0')
        return util_errf(err, errlen, "empty name");
    if (strchr(name, '/') != NULL || strstr(name, "..") != NULL)
        return util_errf(err, errlen, "name \"%.64s\" contains '/' or '..'", name);
    if (strlen(name) > 63)
        return util_errf(err, errlen, "name \"%.64s...\" is longer than 63 characters", name);
    for (const char *p = name; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '-' || ch == '.'))
            return util_errf(err, errlen,
                             "name \"%.64s\" may only contain letters, digits, "
                             "'_', '-' and '.'",
                             name);
    }
    return 0;
}

/* plugin_stat_check - owner root or the starting user; writable by nobody else */
static int
plugin_stat_check(const struct stat *st, const char *path, int want_dir, char *err, size_t errlen)
{
    uid_t me = privsep_start_euid();

    if (want_dir && !S_ISDIR(st->st_mode))
        return util_errf(err, errlen, "%s: not a directory", path);
    if (!want_dir && !S_ISREG(st->st_mode))
        return util_errf(err, errlen, "%s: not a regular file", path);
    if (st->st_uid != 0 && st->st_uid != me)
        return util_errf(err, errlen, "%s: unsafe: owned by uid %lu, not by root or uid %lu", path,
                         (unsigned long)st->st_uid, (unsigned long)me);
    if (st->st_mode & (S_IWGRP | S_IWOTH))
        return util_errf(err, errlen, "%s: unsafe: writable by %s (mode %04o)", path,
                         (st->st_mode & S_IWOTH) ? "others" : "group",
                         (unsigned)(st->st_mode & 07777));
    return 0;
}

/*
 * plugin_dir_check - the directory and every directory above it (symbolic
 * links resolved first, so that what is checked is what the kernel walks):
 * owned by root or the starting user, writable by nobody else; a parent
 * writable by others passes only when it is root's and sticky (/tmp)
 */
static int
plugin_dir_check(const char *dir, char *err, size_t errlen)
{
    char *real = realpath(dir, NULL), *p;
    struct stat st;
    int rc = 0;

    if (real == NULL)
        return util_errf(err, errlen, "%s: %s", dir, strerror(errno));
    if (lstat(real, &st) < 0)
        rc = util_errf(err, errlen, "%s: %s", dir, strerror(errno));
    else
        rc = plugin_stat_check(&st, dir, 1, err, errlen);
    for (p = strrchr(real, '/'); rc == 0 && p != NULL; p = strrchr(real, '/')) {
        int sticky_root;

        *p = '\0';
        if (lstat(*real ? real : "/", &st) < 0) {
            rc = util_errf(err, errlen, "%s: %s", *real ? real : "/", strerror(errno));
            break;
        }
        sticky_root = (st.st_mode & S_ISVTX) && st.st_uid == 0;
        if (!sticky_root || !S_ISDIR(st.st_mode))
            rc = plugin_stat_check(&st, *real ? real : "/", 1, err, errlen);
        if (*real == '\0')
            break;
    }
    free(real);
    return rc;
}

int
plugin_path_check(const char *path, int want_dir, char *err, size_t errlen)
{
    struct stat st;

    if (want_dir)
        return plugin_dir_check(path, err, errlen);
    if (lstat(path, &st) < 0)
        return util_errf(err, errlen, "%s: %s", path, strerror(errno));
    return plugin_stat_check(&st, path, 0, err, errlen);
}

/* ---- host services ---- */

static void plugin_host_log(void *ctx, int level, const char *queue_id, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
plugin_host_log(void *ctx, int level, const char *queue_id, const char *fmt, ...)
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
plugin_host_member(plugin_instance *inst, const char *name)
{
    if (inst->setting == NULL || name == NULL)
        return NULL;
    return config_setting_get_member(inst->setting, name);
}

static int
plugin_host_gone(plugin_instance *inst, char *err, size_t errlen)
{
    return util_errf(err, errlen, "identity source %s: configuration is only readable in init()",
                     inst->name);
}

static int
plugin_host_conf_check(void *ctx, const char *const *known, char *err, size_t errlen)
{
    plugin_instance *inst = ctx;

    if (inst->setting == NULL)
        return plugin_host_gone(inst, err, errlen);
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

static int
plugin_host_conf_string(void *ctx, const char *name, const char *def, const char **val_r, char *err,
                        size_t errlen)
{
    plugin_instance *inst = ctx;
    const config_setting_t *s = plugin_host_member(inst, name);

    *val_r = def;
    if (inst->setting == NULL)
        return plugin_host_gone(inst, err, errlen);
    if (s == NULL)
        return 0;
    if (config_setting_type(s) != CONFIG_TYPE_STRING)
        return cfg_errf(err, errlen, s, "'%s' of identity source %s must be a string", name,
                        inst->name);
    *val_r = config_setting_get_string(s);
    return 0;
}

static int
plugin_host_conf_int(void *ctx, const char *name, long def, long min, long max, long *val_r,
                     char *err, size_t errlen)
{
    plugin_instance *inst = ctx;
    const config_setting_t *s = plugin_host_member(inst, name);
    long long v;

    *val_r = def;
    if (inst->setting == NULL)
        return plugin_host_gone(inst, err, errlen);
    if (s == NULL)
        return 0;
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
plugin_host_conf_bool(void *ctx, const char *name, int def, int *val_r, char *err, size_t errlen)
{
    plugin_instance *inst = ctx;
    const config_setting_t *s = plugin_host_member(inst, name);

    *val_r = def;
    if (inst->setting == NULL)
        return plugin_host_gone(inst, err, errlen);
    if (s == NULL)
        return 0;
    if (config_setting_type(s) != CONFIG_TYPE_BOOL)
        return cfg_errf(err, errlen, s, "'%s' of identity source %s must be true or false", name,
                        inst->name);
    *val_r = config_setting_get_bool(s);
    return 0;
}

static const char *
plugin_host_conf_where(void *ctx, const char *name, char *buf, size_t len)
{
    plugin_instance *inst = ctx;
    const config_setting_t *s = name != NULL ? plugin_host_member(inst, name) : NULL;

    if (s == NULL)
        s = inst->setting;
    if (s == NULL) {
        snprintf(buf, len, "(identity source %s)", inst->name);
        return buf;
    }
    return cfg_where(s, buf, len);
}

static void
plugin_host_cache_put(void *ctx, const char *identity, sm_id_kind kind, sm_id_answer answer,
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

/* plugin_host_budget_take - one request from the fleet's shared API budget (ABI 1.2) */
static int
plugin_host_budget_take(void *ctx, const char *bucket, unsigned per_second, uint64_t deadline_ms,
                        unsigned *wait_ms_r)
{
    plugin_instance *inst = ctx;
    sm_state *st = inst->cache != NULL ? cache_state(inst->cache) : NULL;

    if (st == NULL || bucket == NULL || wait_ms_r == NULL)
        return -1;
    switch (state_budget_take(st, bucket, per_second, deadline_ms, wait_ms_r)) {
    case STATE_FOUND:
        return 1;
    case STATE_NOT_FOUND:
        return 0;
    case STATE_ERROR:
        break;
    }
    return -1;
}

/* plugin_host_shared_get - ABI 1.3: the fleet's answer a plugin shares (state_kv_get) */
static int
plugin_host_shared_get(void *ctx, const char *kind, const char *subject, char *val, size_t vallen,
                       uint64_t *ttl_ms_r, uint64_t deadline_ms)
{
    plugin_instance *inst = ctx;
    sm_state *st = inst->cache != NULL ? cache_state(inst->cache) : NULL;

    if (st == NULL || kind == NULL || subject == NULL || val == NULL || vallen == 0 ||
        ttl_ms_r == NULL)
        return -1;
    switch (state_kv_get(st, inst->name, kind, subject, deadline_ms, val, vallen, ttl_ms_r)) {
    case STATE_FOUND:
        return 1;
    case STATE_NOT_FOUND:
        return 0;
    case STATE_ERROR:
        break;
    }
    return -1;
}

/* plugin_host_shared_put - ABI 1.3: share a plugin's answer with the fleet (state_kv_put) */
static void
plugin_host_shared_put(void *ctx, const char *kind, const char *subject, const char *value,
                       uint64_t ttl_ms, uint64_t deadline_ms)
{
    plugin_instance *inst = ctx;
    sm_state *st = inst->cache != NULL ? cache_state(inst->cache) : NULL;

    if (st != NULL && kind != NULL && subject != NULL && value != NULL)
        state_kv_put(st, inst->name, kind, subject, value, ttl_ms, deadline_ms);
}

/* plugin_host_open_file - a file the plugin's configuration names, opened like the host's */
static int
plugin_host_open_file(void *ctx, const char *path, char *err, size_t errlen)
{
    (void)ctx;
    return privsep_open(path, O_RDONLY, 0, err, errlen);
}

/* plugin_host_metric - ABI 1.2: an API call, throttle or error the plugin reports */
static void
plugin_host_metric(void *ctx, sm_metric_event event, const char *operation)
{
    (void)ctx;
    metrics_api((int)event, operation);
}

/* ---- loading ---- */

/*
 * plugin_module_open - open DIR/NAME.so (no symbolic link, through
 * privsep_open: served by the privileged helper on a reload), check the
 * descriptor, load that very descriptor, check the plugin's descriptor.
 * The file stays open while the module is loaded, so that no other module
 * gets the same /proc/self/fd name (the dynamic loader matches names).
 */
static plugin_module *
plugin_module_open(const char *dir, const char *name, char *err, size_t errlen)
{
    char *path = xasprintf("%s/%s.so", dir, name), proc[64];
    struct stat st;
    void *h;
    const sm_plugin *d;
    plugin_module *m;
    int fd;

    if ((fd = privsep_open(path, O_RDONLY, 0, err, errlen)) < 0)
        goto fail;
    if (fstat(fd, &st) < 0) {
        util_errf(err, errlen, "%s: %s", path, strerror(errno));
        goto fail;
    }
    if (plugin_stat_check(&st, path, 0, err, errlen) < 0)
        goto fail;
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
    if ((h = dlopen(proc, RTLD_NOW | RTLD_LOCAL)) == NULL) {
        util_errf(err, errlen, "%s: cannot load: %s", path, dlerror());
        goto fail;
    }
    d = dlsym(h, SM_PLUGIN_SYMBOL);
    if (d == NULL) {
        util_errf(err, errlen, "%s: no symbol %s: not a ses-milter plugin", path, SM_PLUGIN_SYMBOL);
    } else if (d->abi_version != SM_PLUGIN_ABI_VERSION) {
        util_errf(err, errlen, "%s: plugin ABI version %u, this ses-milter needs %u", path,
                  d->abi_version, SM_PLUGIN_ABI_VERSION);
    } else if (d->size < sizeof(sm_plugin)) {
        util_errf(err, errlen, "%s: plugin descriptor size %zu is smaller than %zu", path, d->size,
                  sizeof(sm_plugin));
    } else if (d->init == NULL || d->lookup == NULL || d->close == NULL) {
        util_errf(err, errlen, "%s: plugin lacks init, lookup or close", path);
    } else if (d->name == NULL || strcmp(d->name, name) != 0) {
        /* the file name is the plugin's name: a renamed copy would load a second,
         * indistinguishable module under the same name in every log line and record */
        util_errf(err, errlen, "%s: declares plugin name \"%.64s\", not \"%s\" (a renamed copy?)",
                  path, d->name ? d->name : "", name);
    } else {
        m = xcalloc(1, sizeof(*m));
        m->path = path;
        m->handle = h;
        m->desc = d;
        m->fd = fd;
        return m;
    }
    dlclose(h);
fail:
    if (fd >= 0)
        close(fd);
    free(path);
    return NULL;
}

/* plugin_chain_module - the chain's module for name, loading it on first use */
static plugin_module *
plugin_chain_module(plugin_chain *ch, const char *dir, const char *name, char *err, size_t errlen)
{
    char *path = xasprintf("%s/%s.so", dir, name);
    plugin_module *m;

    for (size_t i = 0; i < ch->nmods; i++)
        if (strcmp(ch->mods[i]->path, path) == 0) {
            free(path);
            return ch->mods[i];
        }
    free(path);
    if ((m = plugin_module_open(dir, name, err, errlen)) == NULL)
        return NULL;
    ch->mods = xrealloc(ch->mods, (ch->nmods + 1) * sizeof(*ch->mods));
    ch->mods[ch->nmods++] = m;
    return m;
}

static plugin_instance *
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
    inst->host.log = plugin_host_log;
    inst->host.conf_check = plugin_host_conf_check;
    inst->host.conf_string = plugin_host_conf_string;
    inst->host.conf_int = plugin_host_conf_int;
    inst->host.conf_bool = plugin_host_conf_bool;
    inst->host.conf_where = plugin_host_conf_where;
    inst->host.cache_put = plugin_host_cache_put;
    inst->host.open_file = plugin_host_open_file;
    inst->host.metric = plugin_host_metric;
    inst->host.budget_take = plugin_host_budget_take;
    inst->host.shared_get = plugin_host_shared_get; /* ABI 1.3 */
    inst->host.shared_put = plugin_host_shared_put;
    inst->host.instance_name = inst->name;
    inst->metrics_slot = metrics_instance_slot(inst->name, src->plugin);
    return inst;
}

/* plugin_source_member - the source's setting named name (else its group, else NULL) */
static const config_setting_t *
plugin_source_member(const plugin_source *src, const char *name)
{
    const config_setting_t *s;

    if (src->setting == NULL)
        return NULL;
    s = config_setting_get_member(src->setting, name);
    return s != NULL ? s : src->setting;
}

/*
 * plugin_init_error - a refused init() as "file:line: reason (identity source NAME,
 * plugin P)": the plugin's own "file:line: " (host conf_* services, its data files)
 * stays in front of its reason, else the line of the source's plugin setting is used;
 * the source is named once
 */
static void
plugin_init_error(const plugin_source *src, const config_setting_t *s, const char *why, char *err,
                  size_t errlen)
{
    char self[128], where[512], tail[256];
    size_t k = 0, n = 0;

    /* a location is "path:digits: " with no space in the path */
    while (why[k] && why[k] != ' ' && !(why[k] == ':' && why[k + 1] >= '0' && why[k + 1] <= '9'))
        k++;
    if (k > 0 && why[k] == ':') {
        n = k + 1 + strspn(why + k + 1, "0123456789");
        n = why[n] == ':' && why[n + 1] == ' ' ? n + 2 : 0;
    }
    if (n > 0)
        snprintf(where, sizeof(where), "%.*s", (int)(n - 2), why);
    else
        cfg_where(s, where, sizeof(where));
    why += n;
    snprintf(self, sizeof(self), "identity source %s", src->name);
    if (strstr(why, self) != NULL)
        snprintf(tail, sizeof(tail), "plugin %s", src->plugin);
    else
        snprintf(tail, sizeof(tail), "identity source %s, plugin %s", src->name, src->plugin);
    util_errf(err, errlen, "%s: %s (%s)", where, why, tail);
}

static int
plugin_chain_add(plugin_chain *ch, const char *dir, const plugin_source *src, cache *c, char *err,
                 size_t errlen)
{
    char why[512];
    plugin_module *m;
    plugin_instance *inst;
    /* refusals name the line of the setting at fault, like every configuration error */
    const config_setting_t *s_name = plugin_source_member(src, "name");
    const config_setting_t *s_plugin = plugin_source_member(src, "plugin");

    if (plugin_name_check(src->name, why, sizeof(why)) < 0)
        return cfg_errf(err, errlen, s_name, "identity source: %s", why);
    if (plugin_name_check(src->plugin, why, sizeof(why)) < 0)
        return cfg_errf(err, errlen, s_plugin, "identity source %s: plugin %s", src->name, why);
    for (size_t i = 0; i < ch->ninst; i++)
        if (strcmp(ch->inst[i]->name, src->name) == 0)
            return cfg_errf(err, errlen, s_name, "identity source %s: name used twice", src->name);
    if ((m = plugin_chain_module(ch, dir, src->plugin, why, sizeof(why))) == NULL)
        return cfg_errf(err, errlen, s_plugin, "identity source %s: %s", src->name, why);
    inst = plugin_instance_new(src, m, c);
    why[0] = '\0';
    if (m->desc->init(&inst->host, &inst->data, why, sizeof(why)) != 0) {
        plugin_init_error(src, s_plugin, why[0] ? why : "init failed", err, errlen);
        free(inst->name);
        free(inst->plugin_label);
        free(inst);
        return -1;
    }
    inst->setting = NULL;
    ch->inst = xrealloc(ch->inst, (ch->ninst + 1) * sizeof(*ch->inst));
    ch->inst[ch->ninst++] = inst;
    return 0;
}

/*
 * plugin_dir_setting - for messages: the plugin_dir setting of the group the
 * sources are listed in (identity.sources), else that group, else NULL
 */
static const config_setting_t *
plugin_dir_setting(const plugin_source *src, size_t n)
{
    const config_setting_t *g =
        n > 0 && src[0].setting != NULL ? config_setting_parent(src[0].setting) : NULL;
    const config_setting_t *d;

    if (g == NULL || (g = config_setting_parent(g)) == NULL)
        return NULL;
    d = config_setting_get_member(g, "plugin_dir");
    return d != NULL ? d : g;
}

int
plugin_chain_load(const char *dir, const plugin_source *src, size_t n, cache *c,
                  plugin_chain **chain_r, char *err, size_t errlen)
{
    plugin_chain *ch;
    char why[512];

    *chain_r = NULL;
    if (dir == NULL || *dir == '\0')
        return cfg_errf(err, errlen, plugin_dir_setting(src, n), "no plugin directory");
    if (n > 0 && plugin_path_check(dir, 1, why, sizeof(why)) < 0)
        return cfg_errf(err, errlen, plugin_dir_setting(src, n), "identity.plugin_dir: %s", why);
    ch = xcalloc(1, sizeof(*ch));
    for (size_t i = 0; i < n; i++) {
        if (plugin_chain_add(ch, dir, &src[i], c, err, errlen) < 0) {
            plugin_chain_free(ch);
            return -1;
        }
    }
    *chain_r = ch;
    return 0;
}

int
plugin_chain_start(plugin_chain *chain, char *err, size_t errlen)
{
    for (size_t i = 0; chain != NULL && i < chain->ninst; i++) {
        plugin_instance *inst = chain->inst[i];
        char why[512] = "";

        if (inst->started)
            continue;
        if (inst->mod->desc->start != NULL &&
            inst->mod->desc->start(inst->data, why, sizeof(why)) != 0)
            return util_errf(err, errlen, "identity source %s: start: %s", inst->name,
                             why[0] ? why : "failed");
        inst->started = 1;
    }
    return 0;
}

plugin_chain *
plugin_chain_free(plugin_chain *chain)
{
    if (chain == NULL)
        return NULL;
    for (size_t i = chain->ninst; i-- > 0;) {
        plugin_instance *inst = chain->inst[i];
        inst->mod->desc->close(inst->data);
        free(inst->name);
        free(inst->plugin_label);
        free(inst);
    }
    for (size_t i = 0; i < chain->nmods; i++) {
        dlclose(chain->mods[i]->handle);
        close(chain->mods[i]->fd);
        free(chain->mods[i]->path);
        free(chain->mods[i]);
    }
    free(chain->inst);
    free(chain->mods);
    free(chain);
    return NULL;
}

size_t
plugin_chain_count(const plugin_chain *chain)
{
    return chain != NULL ? chain->ninst : 0;
}

size_t
plugin_chain_module_count(const plugin_chain *chain)
{
    return chain != NULL ? chain->nmods : 0;
}

plugin_instance *
plugin_chain_get(plugin_chain *chain, size_t i)
{
    return chain != NULL && i < chain->ninst ? chain->inst[i] : NULL;
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

typedef struct plugin_dump_ctx {
    FILE *fp;
    const char *name;
} plugin_dump_ctx;

static void
plugin_dump_line(void *arg, const char *line)
{
    plugin_dump_ctx *d = arg;
    char clean[1024];

    fprintf(d->fp, "# identity source %s: %s\n", d->name, log_sanitize(line, clean, sizeof(clean)));
}

void
plugin_chain_dump(FILE *fp, const plugin_chain *chain)
{
    for (size_t i = 0; chain != NULL && i < chain->ninst; i++) {
        plugin_instance *inst = chain->inst[i];
        plugin_dump_ctx d = {fp, inst->name};

        fprintf(fp, "# identity source %s: plugin %s (%s)\n", inst->name, inst->plugin_label,
                inst->mod->path);
        if (inst->mod->desc->dump != NULL)
            inst->mod->desc->dump(inst->data, plugin_dump_line, &d);
    }
}

typedef struct plugin_fetch_arg {
    plugin_instance *inst;
    const char *queue_id;
} plugin_fetch_arg;

/* plugin_attrs_terminate - a plugin may have filled a string field to the end */
static void
plugin_attrs_terminate(sm_id_attrs *a)
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
plugin_fetch(void *arg, const char *identity, sm_id_kind kind, uint64_t deadline_ms,
             sm_id_attrs *attrs)
{
    plugin_fetch_arg *fa = arg;
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
    plugin_attrs_terminate(attrs);
    return a;
}

/* plugin_metrics_origin - how the cache served an answer, as the metrics label */
static metrics_origin
plugin_metrics_origin(cache_origin o)
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
    plugin_fetch_arg fa = {inst, queue_id};
    sm_id_answer a;

    if (c != NULL) {
        a = cache_lookup(c, inst->name, identity, kind, deadline_ms, plugin_fetch, &fa, out);
        metrics_gate_answer(inst->metrics_slot, a, plugin_metrics_origin(out->origin));
        return a;
    }
    memset(out, 0, sizeof(*out));
    out->attrs.size = sizeof(out->attrs);
    out->attrs.dkim_signing_enabled = SM_TRI_UNKNOWN;
    a = plugin_fetch(&fa, identity, kind, deadline_ms, &out->attrs);
    if (a != SM_ID_VERIFIED && a != SM_ID_NOT_VERIFIED && a != SM_ID_UNKNOWN)
        a = SM_ID_TEMPFAIL;
    out->answer = a;
    out->origin = CACHE_MISS;
    out->stored_wall_ms = util_wall_ms();
    metrics_gate_answer(inst->metrics_slot, a, plugin_metrics_origin(out->origin));
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
    plugin_attrs_terminate(&d->attrs);
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

/* plugin_chain_any_account - any instance whose plugin has the account entry */
int
plugin_chain_any_account(plugin_chain *chain)
{
    for (size_t i = 0; chain != NULL && i < chain->ninst; i++)
        if (chain->inst[i]->mod->desc->account != NULL)
            return 1;
    return 0;
}
