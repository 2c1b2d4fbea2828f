/*
 * services.h - the engine's services of one configuration snapshot
 *
 * Each concern (identity gate, alignment checks with DKIM and SPF,
 * unsubscribe headers, audit trail, SES rules, metrics, shared state)
 * contributes its part through one row of a registration table in
 * services.c: the configuration group it owns, and how that group is
 * parsed, dumped, started and freed.  conf.c includes none of these
 * concerns: the caller of conf_load() hands it services_conf_hooks, and the
 * snapshot keeps the result as an opaque pointer (sm_conf.svc).
 *
 * One sm_services per snapshot, immutable once started and owned by it: it
 * lives as long as the snapshot's reference count (conf_acquire/release),
 * so it is freed when the last message of the snapshot is done.  Its
 * engines are created after the privilege drop (conf_start ->
 * services_start).  Each snapshot has its own audit writer (its own
 * settings); the writers of snapshots that name the same file share the
 * file and its hash chain, so that a reload never forks the chain.  The
 * identity cache is shared by snapshots with the same identity sources and
 * cache settings, so that a reload keeps its answers as the stale-if-error
 * fallback (cache_revalidate: every source is asked again).
 */
#ifndef SM_SERVICES_H
#define SM_SERVICES_H

#include <stdio.h>
#include <sys/types.h>

#include "auth/align.h"
#include "audit/audit.h"
#include "conf/conf.h"
#include "identity/cache.h"
#include "auth/sdkim.h"
#include "lib/dns.h"
#include "engine/gate.h"
#include "metrics/metrics.h"
#include "identity/plugin.h"
#include "engine/sesrules.h"
#include "auth/spf.h"
#include "state/state.h"
#include "unsub/unsub.h"

typedef struct services_audit_ref services_audit_ref;
typedef struct services_cache_ref services_cache_ref;

struct sm_services {
    /* identity gate */
    gate_conf *gate; /* gate->present: an identity group exists */
    cache *idcache;  /* identity cache of this snapshot (owned through cache_ref) */
    services_cache_ref
        *cache_ref;      /* shared with snapshots of the same sources and cache settings */
    plugin_chain *chain; /* identity sources */
    state_conf *state;   /* the fleet's shared state ("state" group), behind the cache */
    /* alignment checks */
    align_conf *align;
    sdkim_opts dkimo;
    spf_opts spfo;
    dns_cache *dns; /* created by services_start */
    sdkim_engine *dkim;
    spf_ctx *spf;
    /* unsubscribe headers */
    unsub_conf *unsub;
    /* audit trail */
    audit_conf *audit;
    services_audit_ref *audit_ref; /* this snapshot's writer (services_prepare/start) */
    /* SES: suppression list and X-SES-* header rules ("ses" group) */
    sesrules_conf *ses;
    /* the /metrics endpoint (served by main.c through metrics_http.h) */
    metrics_conf *metrics;
    int started;
};
typedef struct sm_services sm_services;

/* services_conf_hooks - what every conf_load() caller hands it (main.c, doctor, tests) */
extern const conf_services services_conf_hooks;

/* services_of - the services of a snapshot loaded with services_conf_hooks */
sm_services *services_of(const sm_conf *c);

int services_parse(const config_setting_t *root, sm_services **out, char *err, size_t errlen);
void services_dump(FILE *fp, const sm_services *s);
int services_warnings(FILE *fp, const sm_services *s, const char *path);
/* services_no_audit - before the start: this snapshot records nothing (probe, doctor) */
void services_no_audit(sm_services *s);
/* services_prepare - before the privilege drop: open files that need root (audit log) */
int services_prepare(sm_services *s, uid_t uid, gid_t gid, char *err, size_t errlen);
/* services_audit_forget - in a forked child: writers of the parent are not shared */
void services_audit_forget(void);
int services_start(sm_services *s, char *err, size_t errlen);
sm_services *services_free(sm_services *s);
/* services_reopen - reopen log files (SIGUSR1, logrotate) */
void services_reopen(sm_services *s);
/* services_audit - the audit writer of a started snapshot, NULL when off */
audit_log *services_audit(const sm_services *s);
/* services_file - the path a dotted file setting names ("audit.file"), NULL when unused */
const char *services_file(const sm_services *s, const char *setting);

#endif
