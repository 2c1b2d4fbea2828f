/*
 * metrics.h - the process's counters and histograms, in Prometheus text format
 *
 * One registry per process: counters that survive reloads (a reload makes a new
 * configuration snapshot, not new counters).  Every label value comes from a
 * fixed table here, or for identity sources from a bounded table of instance
 * slots (METRICS_MAX_INSTANCES, the rest counted as "other"): no per-recipient
 * or per-domain label can exist.  The mail path only adds to atomic cells
 * (no lock); metrics_render() writes the text format 0.0.4 that the HTTP
 * endpoint (metrics_http.h) serves.  The "metrics" configuration group is
 * parsed here (metrics_conf_parse) so that the configuration needs no HTTP
 * library.
 */
#ifndef SM_METRICS_H
#define SM_METRICS_H

#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <libconfig.h>

#define METRICS_MAX_INSTANCES 16
#define METRICS_DEFAULT_LISTEN "127.0.0.1:9465"

/* a message's scope (ses_milter_messages_total{scope}); the engine maps its audit scope */
typedef enum metrics_scope {
    METRICS_SCOPE_NONE = 0,
    METRICS_SCOPE_AUTHENTICATED,
    METRICS_SCOPE_INTERNAL_NETWORK,
    METRICS_SCOPE_LOCAL_SUBMISSION,
    METRICS_SCOPE_EXTERNAL,
} metrics_scope;

/* a message's action (ses_milter_messages_total{action}); the engine maps its audit action */
typedef enum metrics_action {
    METRICS_ACTION_NONE = 0,
    METRICS_ACTION_ACCEPT,
    METRICS_ACTION_REJECT,
    METRICS_ACTION_TEMPFAIL,
    METRICS_ACTION_QUARANTINE,
    METRICS_ACTION_TAG,
    METRICS_ACTION_DISCARD,
    METRICS_ACTION_ABORTED,
} metrics_action;

/* how the identity cache served a gate answer (ses_milter_gate_answers_total{cache}) */
typedef enum metrics_origin {
    METRICS_ORIGIN_NONE = 0, /* no lookup was made */
    METRICS_ORIGIN_HIT,
    METRICS_ORIGIN_MISS,
    METRICS_ORIGIN_SHARED,
    METRICS_ORIGIN_STALE,
    METRICS_ORIGIN_REDIS, /* the fleet's answer, from the shared state backend */
} metrics_origin;

/* why a message got its action (ses_milter_messages_total{reason}) */
typedef enum metrics_reason {
    METRICS_REASON_PASSED = 0,   /* every check passed */
    METRICS_REASON_OUT_OF_SCOPE, /* not outgoing: passes untouched */
    METRICS_REASON_SYSTEM_MAIL,  /* the MTA's own mail: no check */
    METRICS_REASON_IDENTITY_NOT_VERIFIED,
    METRICS_REASON_IDENTITY_TEMPFAIL,
    METRICS_REASON_IDENTITY_MALFORMED, /* From (or Sender) missing, several, unparseable */
    METRICS_REASON_ALIGNMENT_FAIL,
    METRICS_REASON_ALIGNMENT_TEMPFAIL,
    METRICS_REASON_AUDIT_UNAVAILABLE, /* audit.on_error = tempfail and no record written */
    METRICS_REASON_ABORTED,           /* the MTA gave up on the transaction */
    METRICS_REASON_MAX
} metrics_reason;

/* the timed stages of a message (ses_milter_stage_duration_seconds{stage}) */
typedef enum metrics_stage {
    METRICS_STAGE_GATE = 0,
    METRICS_STAGE_ALIGNMENT,
    METRICS_STAGE_UNSUBSCRIBE,
    METRICS_STAGE_AUDIT,
    METRICS_STAGE_END_OF_MESSAGE, /* the whole end-of-message decision */
    METRICS_STAGE_MAX
} metrics_stage;

/* what a plugin reports (sm_plugin_host.metric, plugin.h) */
typedef enum metrics_api_event {
    METRICS_API_CALL = 1,
    METRICS_API_THROTTLED = 2,
    METRICS_API_ERROR = 3,
} metrics_api_event;

/* the "metrics" group */
typedef struct metrics_conf {
    int enabled; /* the group is there and enabled is not false */
    char *listen;
    struct sockaddr_storage addr; /* listen, parsed */
    socklen_t addrlen;
} metrics_conf;

/* metrics_conf_parse - the "metrics" group (NULL: off); 0, or -1 with "file:line: reason" */
int metrics_conf_parse(const config_setting_t *group, metrics_conf **out, char *err, size_t errlen);
void metrics_conf_dump(FILE *fp, const metrics_conf *mc);
metrics_conf *metrics_conf_free(metrics_conf *mc);
/*
 * metrics_parse_listen - "IPv4:PORT" or "[IPv6]:PORT", numeric only; 0, or -1
 * with the reason in why
 */
int metrics_parse_listen(const char *text, struct sockaddr_storage *ss, socklen_t *len, char *why,
                         size_t whylen);

/* metrics_clock - monotonic nanoseconds, for the durations below */
uint64_t metrics_clock(void);

/* metrics_message - one message (or transaction) ended with this scope, action and reason */
void metrics_message(metrics_scope scope, metrics_action action, metrics_reason reason);
/*
 * metrics_instance_slot - the slot of an identity-source instance (registers it the
 * first time; the same name keeps its slot across reloads; past the table: "other")
 */
int metrics_instance_slot(const char *instance, const char *plugin);
/* metrics_gate_answer - one answer of a source instance, and how the cache served it */
void metrics_gate_answer(int slot, int answer, metrics_origin origin);
/* metrics_lookup_time - a source's lookup (the plugin asked, not the cache) took since t0 */
void metrics_lookup_time(int slot, uint64_t t0);
/* metrics_stage_time - a stage of a message took since t0 (metrics_clock) */
void metrics_stage_time(metrics_stage stage, uint64_t t0);
/* metrics_api - a plugin's API call, throttle or error; operation names outside the table:
 * "other" */
void metrics_api(int event, const char *operation);
/*
 * metrics_dns - one DNS lookup (DKIM, DMARC, SPF): served from the cache, or
 * sent (failed: temporary error).  metrics_start() installs it as lib/dns.c's
 * observer (dns_set_observer), so lib needs no metrics.
 */
void metrics_dns(int cached, int failed);
/* metrics_start - connect the lower layers' hooks to the counters (once; idempotent) */
void metrics_start(void);
/* metrics_unsub_added - List-Unsubscribe headers were added to a message */
void metrics_unsub_added(void);
/* metrics_audit_record - one audit record written (ok) or not */
void metrics_audit_record(int ok);
/* metrics_reload - one reload and its result */
void metrics_reload(int ok);

/* metrics_render - every metric in the Prometheus text format 0.0.4 */
void metrics_render(FILE *fp);

#endif
