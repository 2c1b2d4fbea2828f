/*
 * conf_ext.c - the concerns' configuration groups of one snapshot
 *
 * Purpose: hand each concern its group, keep what it returns together,
 * create the engines after the privilege drop and free everything with
 * the snapshot.  Plugin instances are loaded while the libconfig tree is
 * still alive (their init reads their own group), and started later.
 *
 * The identity cache outlives a reload: snapshots whose identity sources
 * (plugin directory, each source's name, plugin and settings) and cache
 * settings are the same share one cache, owned by a reference-counted
 * entry here (like the audit writer), so that answers stay available to
 * stale-if-error and warm-up results are not thrown away.  Any change to
 * those settings gives the new snapshot a fresh cache.
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/conf_ext.h"
#include "lib/log.h"
#include "lib/util.h"

/*
 * every snapshot has its own audit writer (its own settings); the writers
 * of snapshots that name the same file share that file and its hash chain
 * (audit_log_open_shared), so that a reload never puts two chains in one file
 */
struct conf_audit_ref {
    audit_log *log;
    char *file;
    conf_audit_ref *next;
};

static pthread_mutex_t conf_ext_audit_lock = PTHREAD_MUTEX_INITIALIZER;
static conf_audit_ref *conf_ext_audit_refs;

/* one identity cache per identity-source configuration, shared by the snapshots that have it */
struct conf_cache_ref {
    cache *cache;
    sm_state *state; /* the backend behind the cache, NULL: none */
    char *sig;       /* conf_ext_cache_sig() of the configuration it serves */
    int refs;
    conf_cache_ref *next;
};

static pthread_mutex_t conf_ext_cache_lock = PTHREAD_MUTEX_INITIALIZER;
static conf_cache_ref *conf_ext_cache_refs;

static const cfg_directive conf_ext_spf_tab[] = {
    {"timeout_ms", CFG_INT, offsetof(spf_opts, timeout_ms), NULL, 5000, 1, 600000, NULL},
    {"max_dns_mechanisms", CFG_INT, offsetof(spf_opts, max_dns_mechanisms), NULL, 10, 1, 100, NULL},
    {"max_void_lookups", CFG_INT, offsetof(spf_opts, max_void_lookups), NULL, 2, 0, 100, NULL},
    CFG_END,
};

/* conf_ext_sig_setting - a setting (recursively) in an unambiguous text form */
static void
conf_ext_sig_setting(FILE *fp, const config_setting_t *s)
{
    const char *name = config_setting_name(s), *str;
    int t = config_setting_type(s), n;

    fprintf(fp, "%zu:%s=%d", name ? strlen(name) : 0, name ? name : "", t);
    switch (t) {
    case CONFIG_TYPE_GROUP:
    case CONFIG_TYPE_ARRAY:
    case CONFIG_TYPE_LIST:
        n = config_setting_length(s);
        fprintf(fp, "[%d", n);
        for (int i = 0; i < n; i++)
            conf_ext_sig_setting(fp, config_setting_get_elem(s, (unsigned)i));
        fputc(']', fp);
        break;
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64:
        fprintf(fp, "(%lld)", config_setting_get_int64(s));
        break;
    case CONFIG_TYPE_FLOAT:
        fprintf(fp, "(%a)", config_setting_get_float(s));
        break;
    case CONFIG_TYPE_BOOL:
        fprintf(fp, "(%d)", config_setting_get_bool(s));
        break;
    case CONFIG_TYPE_STRING:
        str = config_setting_get_string(s);
        fprintf(fp, "(%zu:%s)", str ? strlen(str) : 0, str ? str : "");
        break;
    default:
        break;
    }
}

/* conf_ext_cache_sig - what the identity cache's answers depend on, as text (allocated) */
static char *
conf_ext_cache_sig(const gate_conf *gc, const state_conf *sc)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);

    if (fp == NULL)
        return NULL; /* no signature: never shared */
    fprintf(fp, "dir %zu:%s cache %ld %ld %ld %ld\n", strlen(gc->plugin_dir), gc->plugin_dir,
            gc->cache.positive_ttl, gc->cache.negative_ttl, gc->cache.max_entries,
            gc->cache.stale_max);
    for (size_t i = 0; i < gc->n_sources; i++) {
        const plugin_source *ps = &gc->sources[i];
        fprintf(fp, "source %zu:%s %zu:%s ", strlen(ps->name), ps->name, strlen(ps->plugin),
                ps->plugin);
        if (ps->setting != NULL)
            conf_ext_sig_setting(fp, ps->setting);
        fputc('\n', fp);
    }
    state_conf_sig(fp, sc);
    if (fclose(fp) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* conf_ext_cache_get - the cache of a live snapshot with the same sources, else a new one */
static conf_cache_ref *
conf_ext_cache_get(const gate_conf *gc, const state_conf *sc)
{
    char *sig = conf_ext_cache_sig(gc, sc);
    conf_cache_ref *r = NULL;

    pthread_mutex_lock(&conf_ext_cache_lock);
    for (r = conf_ext_cache_refs; r != NULL && sig != NULL; r = r->next)
        if (r->sig != NULL && strcmp(r->sig, sig) == 0)
            break;
    if (r != NULL && sig != NULL) {
        /* a reload re-reads what the sources say (an edited identity list takes effect at
         * once); the old answers stay only for a source that cannot answer now */
        cache_revalidate(r->cache);
        r->refs++;
        free(sig);
    } else {
        r = xcalloc(1, sizeof(*r));
        r->cache = cache_new(&gc->cache);
        r->state = state_new(sc);
        cache_set_state(r->cache, r->state);
        r->sig = sig;
        r->refs = 1;
        r->next = conf_ext_cache_refs;
        conf_ext_cache_refs = r;
    }
    pthread_mutex_unlock(&conf_ext_cache_lock);
    return r;
}

/* conf_ext_cache_put - drop one snapshot's share; the last frees the cache */
static void
conf_ext_cache_put(conf_cache_ref *r)
{
    conf_cache_ref **pp;

    if (r == NULL)
        return;
    pthread_mutex_lock(&conf_ext_cache_lock);
    if (--r->refs == 0) {
        for (pp = &conf_ext_cache_refs; *pp != NULL; pp = &(*pp)->next)
            if (*pp == r) {
                *pp = r->next;
                break;
            }
        cache_free(r->cache);
        r->state = state_free(r->state);
        free(r->sig);
        free(r);
    }
    pthread_mutex_unlock(&conf_ext_cache_lock);
}

/* conf_ext_ses_sources - the "ses" rules name configured identity sources only */
static int
conf_ext_ses_sources(const sm_conf_ext *x, char *err, size_t errlen)
{
    const char **names = xcalloc(x->gate->n_sources + 1, sizeof(*names));
    int rc;

    for (size_t i = 0; i < x->gate->n_sources; i++)
        names[i] = x->gate->sources[i].name;
    rc = sesheaders_check_sources(x->ses->headers, names, x->gate->n_sources, err, errlen);
    free(names);
    return rc;
}

int
conf_ext_parse(const config_setting_t *root, sm_conf_ext **out, char *err, size_t errlen)
{
    sm_conf_ext *x = xcalloc(1, sizeof(*x));

    *out = x;
    spf_opts_defaults(&x->spfo);
    if (gate_conf_parse(config_setting_get_member(root, "identity"), &x->gate, err, errlen) < 0 ||
        align_conf_parse(config_setting_get_member(root, "alignment"), &x->align, err, errlen) <
            0 ||
        cfg_parse_table(config_setting_get_member(root, "dkim"), sdkim_cfg_directives, &x->dkimo,
                        NULL, err, errlen) < 0 ||
        cfg_parse_table(config_setting_get_member(root, "spf"), conf_ext_spf_tab, &x->spfo, NULL,
                        err, errlen) < 0 ||
        unsub_conf_parse(config_setting_get_member(root, "unsubscribe"), &x->unsub, err, errlen) <
            0 ||
        audit_conf_parse(config_setting_get_member(root, "audit"), &x->audit, err, errlen) < 0 ||
        sesrules_conf_parse(config_setting_get_member(root, "ses"), &x->ses, err, errlen) < 0 ||
        metrics_conf_parse(config_setting_get_member(root, "metrics"), &x->metrics, err, errlen) <
            0 ||
        state_conf_parse(config_setting_get_member(root, "state"), &x->state, err, errlen) < 0)
        return -1;
    /* a concern whose group is absent is off (the identity gate says so itself) */
    if (config_setting_get_member(root, "alignment") == NULL)
        x->align->enabled = 0;
    if (config_setting_get_member(root, "audit") == NULL)
        x->audit->enabled = 0;
    if (x->gate->present) {
        x->cache_ref = conf_ext_cache_get(x->gate, x->state);
        x->idcache = x->cache_ref->cache;
        if (gate_chain_load(x->gate, x->idcache, &x->chain, err, errlen) < 0)
            return -1;
        /* the libconfig tree goes away with conf_load(): no pointer into it may stay */
        for (size_t i = 0; i < x->gate->n_sources; i++)
            x->gate->sources[i].setting = NULL;
    }
    if (conf_ext_ses_sources(x, err, errlen) < 0)
        return -1;
    return 0;
}

void
conf_ext_dump(FILE *fp, const sm_conf_ext *x)
{
    gate_conf_dump(fp, x->gate);
    plugin_chain_dump(fp, x->chain);
    align_conf_dump(fp, x->align);
    cfg_dump_table(fp, "dkim", sdkim_cfg_directives, &x->dkimo);
    cfg_dump_table(fp, "spf", conf_ext_spf_tab, &x->spfo);
    unsub_conf_dump(fp, x->unsub);
    audit_conf_dump(fp, x->audit);
    sesrules_conf_dump(fp, x->ses);
    metrics_conf_dump(fp, x->metrics);
    state_conf_dump(fp, x->state);
}

int
conf_ext_warnings(FILE *fp, const sm_conf_ext *x, const char *path)
{
    int n = 0;
    char warn[1024] = "";

    if (!x->gate->present) {
        fprintf(fp, "warning: %s: no 'identity' group: sender identities are not checked\n", path);
        n++;
    }
    if (!x->align->enabled) {
        fprintf(fp,
                "warning: %s: alignment checks are off (no 'alignment' group or "
                "enabled = false)\n",
                path);
        n++;
    }
    if (!x->audit->enabled) {
        fprintf(fp, "warning: %s: the audit trail is off (no 'audit' group or enabled = false)\n",
                path);
        n++;
    }
    if (unsub_conf_n_rules(x->unsub) > 0) {
        unsub_check_signer(x->unsub, unsub_conf_opendkim(x->unsub), warn, sizeof(warn));
        if (*warn) {
            fprintf(fp, "warning: %s: %s\n", path, warn);
            n++;
        }
    }
    return n;
}

/* conf_ext_audit_get - this snapshot's writer, on the file of a live one when there is one */
static conf_audit_ref *
conf_ext_audit_get(const audit_conf *ac, int *shared_r, char *err, size_t errlen)
{
    conf_audit_ref *r, *same;
    audit_log *log = NULL;

    pthread_mutex_lock(&conf_ext_audit_lock);
    for (same = conf_ext_audit_refs; same != NULL; same = same->next)
        if (strcmp(same->file, ac->file) == 0)
            break;
    *shared_r = same != NULL;
    if (audit_log_open_shared(ac, same != NULL ? same->log : NULL, &log, err, errlen) < 0) {
        pthread_mutex_unlock(&conf_ext_audit_lock);
        return NULL;
    }
    r = xcalloc(1, sizeof(*r));
    r->log = log;
    r->file = xstrdup(ac->file);
    r->next = conf_ext_audit_refs;
    conf_ext_audit_refs = r;
    pthread_mutex_unlock(&conf_ext_audit_lock);
    return r;
}

static void
conf_ext_audit_put(conf_audit_ref *r)
{
    conf_audit_ref **pp;

    if (r == NULL)
        return;
    pthread_mutex_lock(&conf_ext_audit_lock);
    for (pp = &conf_ext_audit_refs; *pp != NULL; pp = &(*pp)->next)
        if (*pp == r) {
            *pp = r->next;
            break;
        }
    pthread_mutex_unlock(&conf_ext_audit_lock);
    audit_log_close(r->log);
    free(r->file);
    free(r);
}

void
conf_ext_audit_forget(void)
{
    pthread_mutex_lock(&conf_ext_audit_lock);
    conf_ext_audit_refs = NULL;
    pthread_mutex_unlock(&conf_ext_audit_lock);
}

int
conf_ext_prepare(sm_conf_ext *x, uid_t uid, gid_t gid, char *err, size_t errlen)
{
    int shared = 0;

    if (!x->audit->enabled || x->audit_ref != NULL)
        return 0;
    /* as root: key files may be readable by root only; the log then belongs to the
     * user ses-milter runs as, so that it can reopen it after logrotate */
    if ((x->audit_ref = conf_ext_audit_get(x->audit, &shared, err, errlen)) == NULL)
        return -1;
    if (!shared && (uid != (uid_t)-1 || gid != (gid_t)-1))
        return audit_log_chown(x->audit_ref->log, uid, gid, err, errlen);
    return 0;
}

int
conf_ext_start(sm_conf_ext *x, char *err, size_t errlen)
{
    int shared = 0;

    if (x->started)
        return 0;
    x->dns = dns_cache_new(&x->align->dns);
    if (x->align->enabled) {
        if ((x->dkim = sdkim_engine_new(x->dns, &x->dkimo, err, errlen)) == NULL ||
            (x->spf = spf_ctx_new_cache(&x->spfo, x->dns, err, errlen)) == NULL)
            return -1;
    }
    if (x->audit->enabled && x->audit_ref == NULL &&
        (x->audit_ref = conf_ext_audit_get(x->audit, &shared, err, errlen)) == NULL)
        return -1;
    if (x->chain != NULL && plugin_chain_start(x->chain, err, errlen) < 0)
        return -1;
    x->started = 1;
    return 0;
}

audit_log *
conf_ext_audit(const sm_conf_ext *x)
{
    return x->audit_ref != NULL ? x->audit_ref->log : NULL;
}

void
conf_ext_reopen(sm_conf_ext *x)
{
    char err[512];

    if (x->audit_ref != NULL && audit_reopen(x->audit_ref->log, err, sizeof(err)) < 0)
        log_msg(LOG_ERR, NULL, "audit log: %s", err);
}

sm_conf_ext *
conf_ext_free(sm_conf_ext *x)
{
    if (x == NULL)
        return NULL;
    x->chain = plugin_chain_free(x->chain);
    conf_ext_cache_put(x->cache_ref); /* after the chain: its threads may still put */
    x->idcache = NULL;
    x->gate = gate_conf_free(x->gate);
    x->state = state_conf_free(x->state);
    x->spf = spf_ctx_free(x->spf);
    x->dkim = sdkim_engine_free(x->dkim);
    x->dns = dns_cache_free(x->dns);
    x->align = align_conf_free(x->align);
    x->unsub = unsub_conf_free(x->unsub);
    x->ses = sesrules_conf_free(x->ses);
    conf_ext_audit_put(x->audit_ref);
    x->audit = audit_conf_free(x->audit);
    x->metrics = metrics_conf_free(x->metrics);
    free(x);
    return NULL;
}
