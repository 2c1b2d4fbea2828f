/*
 * services.c - the concerns' configuration groups of one snapshot, and their engines
 *
 * Purpose: hand each concern its group through the registration table
 * (services_parts), keep what it returns together, create the engines
 * after the privilege drop and free everything with the snapshot.  conf.c
 * reaches this file only through services_conf_hooks, which the caller of
 * conf_load() passes in: no constructor, nothing for the linker to drop.  Plugin instances are
 * loaded while the libconfig tree is still alive (their init reads their own group), and started
 * later.
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

#include "engine/services.h"
#include "lib/log.h"
#include "lib/util.h"

/*
 * every snapshot has its own audit writer (its own settings); the writers
 * of snapshots that name the same file share that file and its hash chain
 * (audit_log_open_shared), so that a reload never puts two chains in one file
 */
struct services_audit_ref {
    audit_log *log;
    char *file;
    services_audit_ref *next;
};

static pthread_mutex_t services_audit_lock = PTHREAD_MUTEX_INITIALIZER;
static services_audit_ref *services_audit_refs;

/* one identity cache per identity-source configuration, shared by the snapshots that have it */
struct services_cache_ref {
    cache *cache;
    sm_state *state; /* the backend behind the cache, NULL: none */
    char *sig;       /* services_cache_sig() of the configuration it serves */
    int refs;
    services_cache_ref *next;
};

static pthread_mutex_t services_cache_lock = PTHREAD_MUTEX_INITIALIZER;
static services_cache_ref *services_cache_refs;

static const cfg_directive services_spf_tab[] = {
    {"timeout_ms", CFG_INT, offsetof(spf_opts, timeout_ms), NULL, 5000, 1, 600000, NULL},
    {"max_dns_mechanisms", CFG_INT, offsetof(spf_opts, max_dns_mechanisms), NULL, 10, 1, 100, NULL},
    {"max_void_lookups", CFG_INT, offsetof(spf_opts, max_void_lookups), NULL, 2, 0, 100, NULL},
    CFG_END,
};

/* services_sig_setting - a setting (recursively) in an unambiguous text form */
static void
services_sig_setting(FILE *fp, const config_setting_t *s)
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
            services_sig_setting(fp, config_setting_get_elem(s, (unsigned)i));
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

/* services_cache_sig - what the identity cache's answers depend on, as text (allocated) */
static char *
services_cache_sig(const gate_conf *gc, const state_conf *sc)
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
            services_sig_setting(fp, ps->setting);
        fputc('\n', fp);
    }
    state_conf_sig(fp, sc);
    if (fclose(fp) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* services_cache_get - the cache of a live snapshot with the same sources, else a new one */
static services_cache_ref *
services_cache_get(const gate_conf *gc, const state_conf *sc)
{
    char *sig = services_cache_sig(gc, sc);
    services_cache_ref *r = NULL;

    pthread_mutex_lock(&services_cache_lock);
    for (r = services_cache_refs; r != NULL && sig != NULL; r = r->next)
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
        r->next = services_cache_refs;
        services_cache_refs = r;
    }
    pthread_mutex_unlock(&services_cache_lock);
    return r;
}

/* services_cache_put - drop one snapshot's share; the last frees the cache */
static void
services_cache_put(services_cache_ref *r)
{
    services_cache_ref **pp;

    if (r == NULL)
        return;
    pthread_mutex_lock(&services_cache_lock);
    if (--r->refs == 0) {
        for (pp = &services_cache_refs; *pp != NULL; pp = &(*pp)->next)
            if (*pp == r) {
                *pp = r->next;
                break;
            }
        cache_free(r->cache);
        r->state = state_free(r->state);
        free(r->sig);
        free(r);
    }
    pthread_mutex_unlock(&services_cache_lock);
}

/* services_ses_sources - the "ses" rules name configured identity sources only */
static int
services_ses_sources(const sm_services *x, char *err, size_t errlen)
{
    const char **names = xcalloc(x->gate->n_sources + 1, sizeof(*names));
    int rc;

    for (size_t i = 0; i < x->gate->n_sources; i++)
        names[i] = x->gate->sources[i].name;
    rc = sesheaders_check_sources(x->ses->headers, names, x->gate->n_sources, err, errlen);
    free(names);
    return rc;
}

/* services_audit_get - this snapshot's writer, on the file of a live one when there is one */
static services_audit_ref *
services_audit_get(const audit_conf *ac, int *shared_r, char *err, size_t errlen)
{
    services_audit_ref *r, *same;
    audit_log *log = NULL;

    pthread_mutex_lock(&services_audit_lock);
    for (same = services_audit_refs; same != NULL; same = same->next)
        if (strcmp(same->file, ac->file) == 0)
            break;
    *shared_r = same != NULL;
    if (audit_log_open_shared(ac, same != NULL ? same->log : NULL, &log, err, errlen) < 0) {
        pthread_mutex_unlock(&services_audit_lock);
        return NULL;
    }
    r = xcalloc(1, sizeof(*r));
    r->log = log;
    r->file = xstrdup(ac->file);
    r->next = services_audit_refs;
    services_audit_refs = r;
    pthread_mutex_unlock(&services_audit_lock);
    return r;
}

static void
services_audit_put(services_audit_ref *r)
{
    services_audit_ref **pp;

    if (r == NULL)
        return;
    pthread_mutex_lock(&services_audit_lock);
    for (pp = &services_audit_refs; *pp != NULL; pp = &(*pp)->next)
        if (*pp == r) {
            *pp = r->next;
            break;
        }
    pthread_mutex_unlock(&services_audit_lock);
    audit_log_close(r->log);
    free(r->file);
    free(r);
}

/*
 * The registration table: one row per concern, the group it owns and how
 * that group is parsed (g is NULL when the group is absent), dumped,
 * started and freed.  Rows are parsed, dumped and freed in table order and
 * started in table order too, except that the rows that start threads
 * (the identity sources) start last: a start that fails then never ran a
 * source.  What joins two concerns (the identity cache behind the state
 * backend, SES rules that name identity sources) is services_link's.
 */
typedef struct services_part {
    const char *group;
    int (*parse)(sm_services *s, const config_setting_t *g, char *err, size_t errlen);
    void (*dump)(FILE *fp, const sm_services *s);
    int (*start)(sm_services *s, char *err, size_t errlen); /* NULL: nothing to start */
    void (*free)(sm_services *s);                           /* NULL: nothing to free */
    int threads;                                            /* its start runs threads */
} services_part;

static int
services_identity_parse(sm_services *s, const config_setting_t *g, char *err, size_t errlen)
{
    return gate_conf_parse(g, &s->gate, err, errlen);
}

static void
services_identity_dump(FILE *fp, const sm_services *s)
{
    gate_conf_dump(fp, s->gate);
    plugin_chain_dump(fp, s->chain);
}

static int
services_identity_start(sm_services *s, char *err, size_t errlen)
{
    return s->chain != NULL ? plugin_chain_start(s->chain, err, errlen) : 0;
}

static void
services_identity_free(sm_services *s)
{
    s->chain = plugin_chain_free(s->chain);
    services_cache_put(s->cache_ref); /* after the chain: its threads may still put */
    s->cache_ref = NULL;
    s->idcache = NULL;
    s->gate = gate_conf_free(s->gate);
}

static int
services_align_parse(sm_services *s, const config_setting_t *g, char *err, size_t errlen)
{
    if (align_conf_parse(g, &s->align, err, errlen) < 0)
        return -1;
    if (g == NULL) /* a concern whose group is absent is off */
        s->align->enabled = 0;
    return 0;
}

static void
services_align_dump(FILE *fp, const sm_services *s)
{
    align_conf_dump(fp, s->align);
}

/* services_align_start - the resolver (always: the SES rules and the doctor use it), DKIM, SPF */
static int
services_align_start(sm_services *s, char *err, size_t errlen)
{
    s->dns = dns_cache_new(&s->align->dns);
    if (s->align->enabled) {
        if ((s->dkim = sdkim_engine_new(s->dns, &s->dkimo, err, errlen)) == NULL ||
            (s->spf = spf_ctx_new_cache(&s->spfo, s->dns, err, errlen)) == NULL)
            return -1;
    }
    return 0;
}

static void
services_align_free(sm_services *s)
{
    s->spf = spf_ctx_free(s->spf);
    s->dkim = sdkim_engine_free(s->dkim);
    s->dns = dns_cache_free(s->dns);
    s->align = align_conf_free(s->align);
}

static int
services_dkim_parse(sm_services *s, const config_setting_t *g, char *err, size_t errlen)
{
    return cfg_parse_table(g, sdkim_cfg_directives, &s->dkimo, NULL, err, errlen);
}

static void
services_dkim_dump(FILE *fp, const sm_services *s)
{
    cfg_dump_table(fp, "dkim", sdkim_cfg_directives, &s->dkimo);
}

static int
services_spf_parse(sm_services *s, const config_setting_t *g, char *err, size_t errlen)
{
    spf_opts_defaults(&s->spfo);
    return cfg_parse_table(g, services_spf_tab, &s->spfo, NULL, err, errlen);
}

static void
services_spf_dump(FILE *fp, const sm_services *s)
{
    cfg_dump_table(fp, "spf", services_spf_tab, &s->spfo);
}

static int
services_unsub_parse(sm_services *s, const config_setting_t *g, char *err, size_t errlen)
{
    return unsub_conf_parse(g, &s->unsub, err, errlen);
}

static void
services_unsub_dump(FILE *fp, const sm_services *s)
{
    unsub_conf_dump(fp, s->unsub);
}

static void
services_unsub_free(sm_services *s)
{
    s->unsub = unsub_conf_free(s->unsub);
}

static int
services_audit_parse(sm_services *s, const config_setting_t *g, char *err, size_t errlen)
{
    if (audit_conf_parse(g, &s->audit, err, errlen) < 0)
        return -1;
    if (g == NULL)
        s->audit->enabled = 0;
    return 0;
}

static void
services_audit_dump(FILE *fp, const sm_services *s)
{
    audit_conf_dump(fp, s->audit);
}

/* services_audit_start - the writer, unless services_prepare opened it as root */
static int
services_audit_start(sm_services *s, char *err, size_t errlen)
{
    int shared = 0;

    if (s->audit->enabled && s->audit_ref == NULL &&
        (s->audit_ref = services_audit_get(s->audit, &shared, err, errlen)) == NULL)
        return -1;
    return 0;
}

static void
services_audit_free(sm_services *s)
{
    services_audit_put(s->audit_ref);
    s->audit_ref = NULL;
    s->audit = audit_conf_free(s->audit);
}

static int
services_ses_parse(sm_services *s, const config_setting_t *g, char *err, size_t errlen)
{
    return sesrules_conf_parse(g, &s->ses, err, errlen);
}

static void
services_ses_dump(FILE *fp, const sm_services *s)
{
    sesrules_conf_dump(fp, s->ses);
}

static void
services_ses_free(sm_services *s)
{
    s->ses = sesrules_conf_free(s->ses);
}

static int
services_metrics_parse(sm_services *s, const config_setting_t *g, char *err, size_t errlen)
{
    return metrics_conf_parse(g, &s->metrics, err, errlen);
}

static void
services_metrics_dump(FILE *fp, const sm_services *s)
{
    metrics_conf_dump(fp, s->metrics);
}

static void
services_metrics_free(sm_services *s)
{
    s->metrics = metrics_conf_free(s->metrics);
}

static int
services_state_parse(sm_services *s, const config_setting_t *g, char *err, size_t errlen)
{
    return state_conf_parse(g, &s->state, err, errlen);
}

static void
services_state_dump(FILE *fp, const sm_services *s)
{
    state_conf_dump(fp, s->state);
}

static void
services_state_free(sm_services *s)
{
    s->state = state_conf_free(s->state);
}

static const services_part services_parts[] = {
    {"identity", services_identity_parse, services_identity_dump, services_identity_start,
     services_identity_free, 1},
    {"alignment", services_align_parse, services_align_dump, services_align_start,
     services_align_free, 0},
    {"dkim", services_dkim_parse, services_dkim_dump, NULL, NULL, 0},
    {"spf", services_spf_parse, services_spf_dump, NULL, NULL, 0},
    {"unsubscribe", services_unsub_parse, services_unsub_dump, NULL, services_unsub_free, 0},
    {"audit", services_audit_parse, services_audit_dump, services_audit_start, services_audit_free,
     0},
    {"ses", services_ses_parse, services_ses_dump, NULL, services_ses_free, 0},
    {"metrics", services_metrics_parse, services_metrics_dump, NULL, services_metrics_free, 0},
    {"state", services_state_parse, services_state_dump, NULL, services_state_free, 0},
};
#define SERVICES_NPARTS (sizeof(services_parts) / sizeof(services_parts[0]))

/* services_owns - the top-level groups of the table (conf_check_top asks) */
static int
services_owns(const char *group)
{
    for (size_t i = 0; i < SERVICES_NPARTS; i++)
        if (strcmp(services_parts[i].group, group) == 0)
            return 1;
    return 0;
}

/* services_link - what joins two parts, once every group is parsed */
static int
services_link(sm_services *x, char *err, size_t errlen)
{
    if (x->gate->present) {
        x->cache_ref = services_cache_get(x->gate, x->state);
        x->idcache = x->cache_ref->cache;
        if (gate_chain_load(x->gate, x->idcache, &x->chain, err, errlen) < 0)
            return -1;
        /* the libconfig tree goes away with conf_load(): no pointer into it may stay */
        for (size_t i = 0; i < x->gate->n_sources; i++)
            x->gate->sources[i].setting = NULL;
    }
    return services_ses_sources(x, err, errlen);
}

int
services_parse(const config_setting_t *root, sm_services **out, char *err, size_t errlen)
{
    sm_services *x = xcalloc(1, sizeof(*x));

    *out = x; /* freed by the caller on an error too (services_free) */
    for (size_t i = 0; i < SERVICES_NPARTS; i++)
        if (services_parts[i].parse(x, config_setting_get_member(root, services_parts[i].group),
                                    err, errlen) < 0)
            return -1;
    return services_link(x, err, errlen);
}

void
services_dump(FILE *fp, const sm_services *x)
{
    for (size_t i = 0; i < SERVICES_NPARTS; i++)
        services_parts[i].dump(fp, x);
}

int
services_warnings(FILE *fp, const sm_services *x, const char *path)
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

void
services_audit_forget(void)
{
    pthread_mutex_lock(&services_audit_lock);
    services_audit_refs = NULL;
    pthread_mutex_unlock(&services_audit_lock);
}

int
services_prepare(sm_services *x, uid_t uid, gid_t gid, char *err, size_t errlen)
{
    int shared = 0;

    if (!x->audit->enabled || x->audit_ref != NULL)
        return 0;
    /* as root: key files may be readable by root only; the log then belongs to the
     * user ses-milter runs as, so that it can reopen it after logrotate */
    if ((x->audit_ref = services_audit_get(x->audit, &shared, err, errlen)) == NULL)
        return -1;
    if (!shared && (uid != (uid_t)-1 || gid != (gid_t)-1))
        return audit_log_chown(x->audit_ref->log, uid, gid, err, errlen);
    return 0;
}

int
services_start(sm_services *x, char *err, size_t errlen)
{
    if (x->started)
        return 0;
    for (int threads = 0; threads <= 1; threads++)
        for (size_t i = 0; i < SERVICES_NPARTS; i++)
            if (services_parts[i].threads == threads && services_parts[i].start != NULL &&
                services_parts[i].start(x, err, errlen) < 0)
                return -1;
    x->started = 1;
    return 0;
}

audit_log *
services_audit(const sm_services *x)
{
    return x->audit_ref != NULL ? x->audit_ref->log : NULL;
}

void
services_reopen(sm_services *x)
{
    char err[512];

    if (x->audit_ref != NULL && audit_reopen(x->audit_ref->log, err, sizeof(err)) < 0)
        log_msg(LOG_ERR, NULL, "audit log: %s", err);
}

sm_services *
services_free(sm_services *x)
{
    if (x == NULL)
        return NULL;
    for (size_t i = 0; i < SERVICES_NPARTS; i++)
        if (services_parts[i].free != NULL)
            services_parts[i].free(x);
    free(x);
    return NULL;
}

void
services_no_audit(sm_services *x)
{
    x->audit->enabled = 0;
}

const char *
services_file(const sm_services *x, const char *setting)
{
    if (strcmp(setting, "audit.file") == 0)
        return x->audit->enabled ? x->audit->file : NULL;
    if (strcmp(setting, "unsubscribe.store_file") == 0)
        return unsub_conf_store_file(x->unsub);
    return NULL;
}

sm_services *
services_of(const sm_conf *c)
{
    return c->svc;
}

/* the conf hooks take the opaque type; the functions above are the hooks' bodies */
const conf_services services_conf_hooks = {
    services_owns,  services_parse, services_dump, services_warnings,
    services_start, services_file,  services_free,
};
