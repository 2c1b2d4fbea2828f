/*
 * ses-milter/plugin.h - the identity-source plugin ABI
 *
 * An identity source answers one question: may this identity (an address
 * such as "user@example.com" or a domain such as "example.com") send mail?
 * ses-milter walks SES's identity chain itself (exact address, address
 * without +label, domain, parent domains up to the registrable domain) and
 * asks the source about each candidate, most specific first, through its
 * shared cache.  A source answers for the candidate it was given only.
 *
 * A plugin is a shared object in the configured plugin directory that
 * exports one symbol, SM_PLUGIN_SYMBOL, of type "const sm_plugin".  The
 * loader refuses a descriptor whose abi_version differs from the host's or
 * whose size is smaller than the host expects; spare fields at the end keep
 * the ABI extensible (nginx's module signature, Dovecot's version check).
 * Minor versions are compatible both ways: a descriptor of a newer minor
 * (abi_minor greater than the host's SM_PLUGIN_ABI_MINOR) is loaded, and the
 * host uses only the fields its own minor defines ("ses-milter -n" says so);
 * an older one has NULL in the fields it predates.
 *
 * Lifecycle of one instance (a plugin may be loaded as several instances,
 * e.g. SES in two regions):
 *   init()   reads its configuration block through host->conf_*; may run
 *            as root (to read secrets); must not start threads.  At a
 *            reload it runs twice: first in the host's privileged helper,
 *            as root, whose instance is closed at once (it only records the
 *            files opened through host->open_file), then in the daemon,
 *            served those files.  So init() reads, and changes nothing.
 *   start()  optional; after daemonising and dropping privileges: start
 *            background work (cache warm-up, credential refresh).
 *   lookup() called concurrently from many threads; must return by the
 *            absolute deadline (CLOCK_MONOTONIC milliseconds).
 *   close()  stops background work and frees the instance.
 *
 * Memory: the host owns the query and the attribute buffer; a plugin
 * writes into attrs and keeps no pointer to either after lookup returns.
 */
#ifndef SES_MILTER_PLUGIN_H
#define SES_MILTER_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SM_PLUGIN_ABI_VERSION 1
/*
 * minor versions add fields in the spare space, compatibly both ways:
 *   1.1  sm_plugin_host.open_file (NULL on 1.0 hosts: open the file yourself)
 *   1.2  sm_plugin.doctor (was spare[0]; NULL on 1.0/1.1 plugins): what
 *        "ses-milter doctor" asks a source beyond lookup(): the identity's
 *        full verification state (describe) and every identity it knows (list);
 *        sm_plugin.account (was spare[1]; NULL in older plugins: no account state);
 *        sm_plugin.ask (spare[2]; NULL in older plugins: no account questions);
 *        sm_plugin_host.budget_take (was spare[0]; NULL on older hosts: no fleet
 *        budget) and sm_plugin_host.metric (was spare[1]; NULL on older hosts:
 *        report nothing)
 *   1.3  sm_plugin_host.shared_get and shared_put (were spare[0] and spare[1];
 *        NULL on older hosts: nothing shared): answers a plugin caches itself
 *        (e.g. SES's suppression list) shared by the fleet's hosts; and
 *        sm_plugin.abi_minor (was spare[0]; 0 in plugins built before 1.3): the
 *        minor the plugin was built for, SM_PLUGIN_ABI_MINOR
 */
#define SM_PLUGIN_ABI_MINOR 3
#define SM_PLUGIN_SYMBOL "ses_milter_plugin"

/* lookup answers */
typedef enum sm_id_answer {
    SM_ID_VERIFIED = 1,     /* the identity may send */
    SM_ID_NOT_VERIFIED = 2, /* the source knows it, and it may not send */
    SM_ID_UNKNOWN = 3,      /* no opinion about this identity: ask about the next */
    SM_ID_TEMPFAIL = 4,     /* could not answer now (network, throttling, deadline) */
} sm_id_answer;

/* what the queried identity is */
typedef enum sm_id_kind {
    SM_IDKIND_ADDRESS = 1, /* local@domain, domain lower-case A-labels */
    SM_IDKIND_DOMAIN = 2,  /* lower-case A-labels, no trailing dot */
} sm_id_kind;

/* identity types as SES names them */
typedef enum sm_id_type {
    SM_IDTYPE_NONE = 0,
    SM_IDTYPE_EMAIL_ADDRESS = 1,
    SM_IDTYPE_DOMAIN = 2,
    SM_IDTYPE_MANAGED_DOMAIN = 3,
} sm_id_type;

/* tri-state for booleans a source may not know */
#define SM_TRI_UNKNOWN (-1)

typedef struct sm_id_query {
    size_t size;          /* sizeof(sm_id_query) as the host built it */
    const char *identity; /* the candidate identity */
    sm_id_kind kind;      /* address or domain */
    uint64_t deadline_ms; /* absolute, CLOCK_MONOTONIC milliseconds */
    const char *queue_id; /* for log lines; may be "" */
} sm_id_query;

/* attributes: fixed-size fields in host-owned memory; "" means unknown */
typedef struct sm_id_attrs {
    size_t size;                 /* sizeof(sm_id_attrs) as the host built it */
    sm_id_type identity_type;    /* type of the identity that answered */
    char identity[256];          /* name of the identity that answered */
    int dkim_signing_enabled;    /* 1, 0 or SM_TRI_UNKNOWN */
    char dkim_status[32];        /* SUCCESS, PENDING, FAILED, TEMPORARY_FAILURE, NOT_STARTED */
    char dkim_origin[32];        /* AWS_SES, EXTERNAL, ... */
    char mail_from_domain[256];  /* custom MAIL FROM domain */
    char mail_from_status[32];   /* SUCCESS, PENDING, FAILED, TEMPORARY_FAILURE */
    char mail_from_behavior[32]; /* USE_DEFAULT_VALUE, REJECT_MESSAGE */
    char region[32];             /* e.g. us-east-1 */
    char detail[256];            /* why: a short human-readable reason */
    unsigned ttl;                /* seconds this answer may be cached; 0 = host default */
} sm_id_attrs;

/*
 * ABI 1.2: what "ses-milter doctor" asks beyond lookup() (host-owned memory,
 * fixed-size fields; "" means unknown).  attrs is filled as lookup() fills it.
 */
#define SM_ID_DKIM_TOKENS_MAX 8
typedef struct sm_id_description {
    size_t size;                  /* sizeof(sm_id_description) as the host built it */
    sm_id_attrs attrs;            /* what lookup() gives (attrs.size set by the host) */
    int verified_for_sending;     /* VerifiedForSendingStatus: 1, 0 or SM_TRI_UNKNOWN */
    char verification_status[32]; /* PENDING, SUCCESS, FAILED, TEMPORARY_FAILURE, NOT_STARTED */
    char error_type[48];          /* VerificationInfo.ErrorType: DNS_SERVER_ERROR, ... */
    char last_checked[40];        /* VerificationInfo.LastCheckedTimestamp */
    char dkim_key_length[32];     /* DkimAttributes.CurrentSigningKeyLength */
    size_t n_dkim_tokens;         /* entries of dkim_tokens used */
    char dkim_tokens[SM_ID_DKIM_TOKENS_MAX][128]; /* Easy DKIM tokens; BYODKIM: the selector */
} sm_id_description;

/* one identity a source knows (sm_plugin_doctor.list) */
typedef void (*sm_id_list_fn)(void *arg, const char *identity, sm_id_type type);

/*
 * ABI 1.2: optional diagnostics for "ses-milter doctor" (never on the mail
 * path).  Any member may be NULL; size is sizeof(sm_plugin_doctor) as the
 * plugin was built.
 *   describe() like lookup(), filling the whole description; bounded by
 *              query->deadline_ms; not cached by the host.
 *   list()     calls fn once per identity the source knows; 0, or -1 with
 *              a reason in err (the list may then be partial).
 */
typedef struct sm_plugin_doctor {
    size_t size;
    sm_id_answer (*describe)(void *instance, const sm_id_query *query, sm_id_description *d);
    int (*list)(void *instance, uint64_t deadline_ms, sm_id_list_fn fn, void *arg, char *err,
                size_t errlen);
} sm_plugin_doctor;

/*
 * ABI 1.2: questions about the SES account beyond "may this identity send",
 * through one entry (sm_plugin.ask).  The host asks from any thread, by the
 * absolute deadline; the plugin answers from its own cache or asks its
 * service, and answers SM_ASK_UNKNOWN for a question it does not handle.
 *   SM_ASK_SUPPRESSED        subject = a recipient (local@domain, domain
 *                            lower-case, local part as given): is it on the
 *                            account's suppression list?  SES: exact address,
 *                            GetSuppressedDestination, 404 = no.  YES fills
 *                            attrs.reason (BOUNCE | COMPLAINT).
 *   SM_ASK_TENANT_IDENTITY   subject = an identity (address or domain, as the
 *                            identity gate matched it), tenant = a tenant
 *                            name: is the identity one of the tenant's
 *                            resources?  SES: ListTenantResources.
 */
typedef enum sm_ask_question {
    SM_ASK_SUPPRESSED = 1,
    SM_ASK_TENANT_IDENTITY = 2,
} sm_ask_question;

typedef enum sm_ask_answer {
    SM_ASK_YES = 1,      /* suppressed / associated */
    SM_ASK_NO = 2,       /* not suppressed / not associated */
    SM_ASK_UNKNOWN = 3,  /* not handled here (e.g. not enabled in this instance) */
    SM_ASK_TEMPFAIL = 4, /* could not answer now (network, throttling, deadline) */
} sm_ask_answer;

typedef struct sm_ask_query {
    size_t size; /* sizeof(sm_ask_query) as the host built it */
    sm_ask_question question;
    const char *subject;  /* recipient or identity, per question */
    const char *tenant;   /* SM_ASK_TENANT_IDENTITY: the tenant name; else NULL */
    uint64_t deadline_ms; /* absolute, CLOCK_MONOTONIC milliseconds */
    const char *queue_id; /* for log lines; may be "" */
} sm_ask_query;

typedef struct sm_ask_attrs {
    size_t size;          /* sizeof(sm_ask_attrs) as the host built it */
    char reason[16];      /* SM_ASK_SUPPRESSED, YES: BOUNCE or COMPLAINT */
    char last_update[40]; /* when the service last changed the answer, "" unknown */
    char region[32];      /* region of the account that answered */
    char origin[16];      /* "hit", "miss", "shared", "warm" (bulk list), "redis" (the fleet), "" */
    char detail[256];     /* why: a short human-readable reason */
} sm_ask_attrs;

typedef sm_ask_answer (*sm_ask_fn)(void *instance, const sm_ask_query *query, sm_ask_attrs *attrs);

/*
 * ABI 1.2: what a plugin reports through sm_plugin_host.metric, per call of
 * its service's API (operation: the API's own name, e.g. "GetEmailIdentity";
 * names the host does not know are counted as "other")
 */
typedef enum sm_metric_event {
    SM_METRIC_API_CALL = 1,      /* a request was sent */
    SM_METRIC_API_THROTTLED = 2, /* the service answered "too many requests" */
    SM_METRIC_API_ERROR = 3,     /* the call failed otherwise (not "not found") */
} sm_metric_event;

/* what the account lets through now, for one class of mail (ABI 1.2) */
typedef enum sm_acct_action {
    SM_ACCT_ACCEPT = 0,   /* send as usual */
    SM_ACCT_TEMPFAIL = 1, /* 451: the client keeps the message and retries */
    SM_ACCT_HOLD = 2,     /* accept into the MTA's hold queue (quarantine) */
    SM_ACCT_REJECT = 3,   /* 550: refuse */
} sm_acct_action;

/*
 * sm_acct_state (ABI 1.2): the sending account behind an instance, as the
 * host needs it to decide before queueing.  The plugin turns its service's
 * account answer into actions per class of mail (bulk: mail the host's
 * unsubscribe rules match; transactional: everything else), a recipient
 * restriction and a send quota.  Host-owned; "" means unknown.
 */
typedef struct sm_acct_state {
    size_t size;                  /* sizeof(sm_acct_state) as the host built it */
    int known;                    /* 0: no answer yet (everything below is unknown) */
    unsigned generation;          /* changes with each answer the plugin read */
    int recipients_verified_only; /* 1: each recipient must be a verified identity */
    sm_acct_action bulk;          /* action for bulk mail now */
    sm_acct_action transactional; /* action for transactional mail now */
    double max_send_rate;         /* recipients per second; <= 0: no limit known */
    double max_24h_send;          /* recipients per 24 h; < 0: unlimited, 0: unknown */
    double sent_last_24h;         /* recipients sent in the last 24 h when read */
    char region[32];              /* where the account lives, e.g. us-east-1 */
    char status[64];              /* short state, e.g. "PROBATION", "sandbox" */
    char detail[192];             /* why the actions are what they are (reply and log) */
} sm_acct_state;

/* services the host offers a plugin */
typedef struct sm_plugin_host {
    unsigned abi_version;
    size_t size;
    void *ctx; /* pass back as the first argument */
    /* log: level is syslog's; never pass secrets; text is sanitised by the host */
    void (*log)(void *ctx, int level, const char *queue_id, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
    /*
     * configuration block of this instance.  Each getter returns 0 when the
     * value was set or defaulted, -1 on a wrong type or out-of-range value,
     * with "file:line: reason" in err.  conf_check() refuses names not in
     * the NULL-terminated list known.  Strings are copied by the caller
     * (the pointer lives as long as the configuration being loaded).
     */
    int (*conf_check)(void *ctx, const char *const *known, char *err, size_t errlen);
    int (*conf_string)(void *ctx, const char *name, const char *def, const char **val_r, char *err,
                       size_t errlen);
    int (*conf_int)(void *ctx, const char *name, long def, long min, long max, long *val_r,
                    char *err, size_t errlen);
    int (*conf_bool)(void *ctx, const char *name, int def, int *val_r, char *err, size_t errlen);
    /* conf_where: "file:line" of a setting (or of the block when name is NULL) */
    const char *(*conf_where)(void *ctx, const char *name, char *buf, size_t len);
    /*
     * cache_put: push an answer into the shared identity cache (bulk
     * warm-up).  Only valid after start(); safe from any thread.
     */
    void (*cache_put)(void *ctx, const char *identity, sm_id_kind kind, sm_id_answer answer,
                      const sm_id_attrs *attrs);
    /* instance name as configured (e.g. "ses-us-east-1") */
    const char *instance_name;
    /*
     * open_file (ABI 1.1; NULL on older hosts): open a file the instance's
     * configuration names for reading, the way the host opens its own: no
     * symbolic link followed, close-on-exec, and on a reload (which runs
     * without root) the descriptor the host's privileged helper opened as
     * root.  Use it in init() for secrets and lists readable by root only.
     * Returns a descriptor the plugin closes, or -1 with "path: reason" in
     * err and errno set (ENOENT: the file does not exist).
     */
    int (*open_file)(void *ctx, const char *path, char *err, size_t errlen);
    /*
     * budget_take (ABI 1.2, the first spare pointer of 1.1; NULL on older
     * hosts): one request from the API budget the fleet's hosts share
     * through their state backend, per_second requests in each second of
     * bucket.  Returns 1 when granted, 0 when this second's budget is spent
     * (*wait_ms_r: until the next second), -1 when there is no shared
     * budget now (no backend, or it cannot answer before deadline_ms): the
     * plugin's own limit alone decides.  Safe from any thread after start().
     */
    int (*budget_take)(void *ctx, const char *bucket, unsigned per_second, uint64_t deadline_ms,
                       unsigned *wait_ms_r);
    /*
     * metric (ABI 1.2; NULL on older hosts): count an API call, throttle or
     * error for the host's metrics.  Safe from any thread, never blocks.
     */
    void (*metric)(void *ctx, sm_metric_event event, const char *operation);
    /*
     * shared_get / shared_put (ABI 1.3, spare[0] and spare[1] of 1.2; NULL
     * on older hosts): a short answer the plugin caches itself, shared by
     * the fleet's hosts through their state backend.  kind names the kind
     * of answer (1 to 15 of [a-z0-9_], e.g. "supp"), subject what it is
     * about (e.g. a recipient).  The host keys it by its instance, kind and
     * a SHA-256 of subject (Redis: PREFIX:v1:KIND:INSTANCE:HEX), never the
     * subject itself, so that no address appears in a key name; the value
     * is the plugin's own (its format versioned by the plugin, at most
     * 1024 bytes, no NUL).  shared_get returns 1 with the value in val
     * (NUL-terminated) and the milliseconds it has left in *ttl_ms_r, 0
     * when the fleet has no answer, -1 when there is no backend now (none,
     * down, slow, or the deadline too close): ask the service.  shared_put
     * shares value for ttl_ms; a failure only changes the backend's state
     * (logged once by the host).  Both return by deadline_ms (absolute,
     * CLOCK_MONOTONIC ms) and are safe from any thread after start().
     */
    int (*shared_get)(void *ctx, const char *kind, const char *subject, char *val, size_t vallen,
                      uint64_t *ttl_ms_r, uint64_t deadline_ms);
    void (*shared_put)(void *ctx, const char *kind, const char *subject, const char *value,
                       uint64_t ttl_ms, uint64_t deadline_ms);
    void *spare[3];
} sm_plugin_host;

typedef struct sm_plugin {
    unsigned abi_version; /* SM_PLUGIN_ABI_VERSION */
    size_t size;          /* sizeof(sm_plugin) when the plugin was built */
    const char *name;     /* e.g. "ses", "file": the file name without ".so" (checked) */
    const char *version;  /* the plugin's own version */
    int (*init)(const sm_plugin_host *host, void **instance_r, char *err, size_t errlen);
    int (*start)(void *instance, char *err, size_t errlen); /* may be NULL */
    sm_id_answer (*lookup)(void *instance, const sm_id_query *query, sm_id_attrs *attrs);
    void (*close)(void *instance);
    /* optional: print effective settings for "ses-milter -n" (may be NULL) */
    void (*dump)(void *instance, void (*out)(void *arg, const char *line), void *arg);
    /* ABI 1.2 (spare[0] before): diagnostics for "ses-milter doctor"; NULL: none */
    const sm_plugin_doctor *doctor;
    /*
     * account (ABI 1.2, was spare[1]; may be NULL): copy the account state
     * into *state (state->size set by the host, fields up to it written).
     * Called from any thread, must not block on the network: answer from
     * what the background work last read.  Returns 0, or -1 when the
     * instance has no account notion (the host then never asks again).
     */
    int (*account)(void *instance, sm_acct_state *state);
    /* ABI 1.2, spare[2]: questions about the account: suppression list, tenants (NULL: none) */
    sm_ask_fn ask;
    /* ABI 1.3 (was spare[0], so 0 before 1.3): SM_PLUGIN_ABI_MINOR when built */
    size_t abi_minor;
    void *spare[4];
} sm_plugin;

#ifdef __cplusplus
}
#endif

#endif
