/*
 * ses.h - one instance of the SES identity plugin (private to the plugin)
 *
 * The instance owns its settings, the http client, the credential chain,
 * the rate limiter and the warm-up thread.  ses.c implements the plugin
 * ABI (init/start/lookup/close/dump); seswarm.c the background GetAccount
 * check and ListEmailIdentities warm-up; sesdoctor.c the diagnostics of
 * "ses-milter doctor" (ABI 1.2); sessupp.c the suppression list;
 * sestenant.c tenant resources.
 */
#ifndef SES_SES_H
#define SES_SES_H

#include <pthread.h>
#include <stdint.h>

#include <ses-milter/plugin.h>

#include "creds.h"
#include "http.h"
#include "sesapi.h"
#include "sesconf.h"
#include "sesutil.h"
#include "throttle.h"

typedef struct ses_instance {
    sm_plugin_host host; /* copy of the host's services */
    char *name;
    ses_settings set;
    http_client *http;
    creds *creds;
    throttle *thr;
    sesapi api;
    struct sessupp *supp;      /* suppression list (sessupp.c), NULL when off */
    struct sestenant *tenants; /* tenant resources (sestenant.c), NULL when off */
    /* warm-up thread */
    pthread_t warm_thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int warm_running, stop;
    int account_done;               /* GetAccount answered (under lock) */
    uint64_t account_ms;            /* when GetAccount last answered, 0: never (lock) */
    sm_acct_state acct;             /* what it said, as the host needs it (lock) */
    uint64_t listed_ms;             /* last complete ListEmailIdentities walk, 0: none (lock) */
    struct ses_instance *warm_next; /* seswarm.c's list of running instances */
    /* log rate limit per sesapi_status */
    uint64_t last_log_ms[SESAPI_STATUS_MAX];
    char last_log[SESAPI_STATUS_MAX][128];
} ses_instance;

/* ses_log - a line through host->log (never with a secret) */
void ses_log(ses_instance *in, int level, const char *qid, const char *fmt, ...)
    SESUTIL_PRINTF(4, 5);
/* ses_log_failure - log an API failure; the same line at most once a minute */
void ses_log_failure(ses_instance *in, const sesapi_result *r, const char *api,
                     const char *permission, const char *qid);
/* ses_copy - copy untrusted text into a fixed attrs field, control bytes replaced */
void ses_copy(char *dst, size_t size, const char *src);

/* ses_get - GetEmailIdentity into attrs; *body_r (if not NULL) the answer when SES gave one */
sm_id_answer ses_get(ses_instance *in, const sm_id_query *q, sm_id_attrs *attrs, char **body_r);
/* ses_doctor - ABI 1.2 diagnostics: describe (GetEmailIdentity whole), list (sesdoctor.c) */
extern const sm_plugin_doctor ses_doctor;
/* sesacct_refresh - GetAccount once: 0 when answered (whatever it said), -1 to retry */
int sesacct_refresh(ses_instance *in);
/* sesacct_state - plugin entry (ABI 1.2): copy the account state last read */
int sesacct_state(void *instance, sm_acct_state *state);
/* sesacct_parse - GetAccount's JSON into st with the instance's actions; -1 when malformed */
int sesacct_parse(const ses_settings *set, const char *body, sm_acct_state *st);

/* seswarm_start - start the GetAccount + ListEmailIdentities thread */
int seswarm_start(ses_instance *in, char *err, size_t errlen);
/* seswarm_stop - stop and join it */
void seswarm_stop(ses_instance *in);

#endif
