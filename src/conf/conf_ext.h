/*
 * conf_ext.h - the concerns' configuration groups and their engines
 *
 * Each concern (identity gate, alignment checks with DKIM and SPF,
 * unsubscribe headers, audit trail) parses its own group; this module holds
 * the results of one configuration snapshot together, creates the engines
 * they need after the privilege drop (conf_ext_start), and frees them when
 * the snapshot goes.  Each snapshot has its own audit writer (its own
 * settings); the writers of snapshots that name the same file share the
 * file and its hash chain, so that a reload never forks the chain.  The
 * identity cache is shared by snapshots with the same identity sources and
 * cache settings, so that a reload keeps its answers as the stale-if-error
 * fallback (cache_revalidate: every source is asked again).
 */
#ifndef SM_CONF_EXT_H
#define SM_CONF_EXT_H

#include <stdio.h>
#include <sys/types.h>
#include <libconfig.h>

#include "auth/align.h"
#include "audit/audit.h"
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

#define CONF_EXT_GROUPS                                                                            \
    "identity", "alignment", "dkim", "spf", "unsubscribe", "audit", "ses", "metrics", "state"

typedef struct conf_audit_ref conf_audit_ref;
typedef struct conf_cache_ref conf_cache_ref;

typedef struct sm_conf_ext {
    /* identity gate */
    gate_conf *gate;           /* gate->present: an identity group exists */
    cache *idcache;            /* identity cache of this snapshot (owned through cache_ref) */
    conf_cache_ref *cache_ref; /* shared with snapshots of the same sources and cache settings */
    plugin_chain *chain;       /* identity sources */
    state_conf *state;         /* the fleet's shared state ("state" group), behind the cache */
    /* alignment checks */
    align_conf *align;
    sdkim_opts dkimo;
    spf_opts spfo;
    dns_cache *dns; /* created by conf_ext_start */
    sdkim_engine *dkim;
    spf_ctx *spf;
    /* unsubscribe headers */
    unsub_conf *unsub;
    /* audit trail */
    audit_conf *audit;
    conf_audit_ref *audit_ref; /* this snapshot's writer (conf_ext_prepare/start) */
    /* SES: suppression list and X-SES-* header rules ("ses" group) */
    sesrules_conf *ses;
    /* the /metrics endpoint (served by main.c through metrics_http.h) */
    metrics_conf *metrics;
    int started;
} sm_conf_ext;

int conf_ext_parse(const config_setting_t *root, sm_conf_ext **out, char *err, size_t errlen);
void conf_ext_dump(FILE *fp, const sm_conf_ext *x);
int conf_ext_warnings(FILE *fp, const sm_conf_ext *x, const char *path);
/* conf_ext_prepare - before the privilege drop: open files that need root (audit log) */
int conf_ext_prepare(sm_conf_ext *x, uid_t uid, gid_t gid, char *err, size_t errlen);
/* conf_ext_audit_forget - in a forked child: writers of the parent are not shared */
void conf_ext_audit_forget(void);
int conf_ext_start(sm_conf_ext *x, char *err, size_t errlen);
sm_conf_ext *conf_ext_free(sm_conf_ext *x);
/* conf_ext_reopen - reopen log files (SIGUSR1, logrotate) */
void conf_ext_reopen(sm_conf_ext *x);
/* conf_ext_audit - the audit writer of a started snapshot, NULL when off */
audit_log *conf_ext_audit(const sm_conf_ext *x);

#endif
