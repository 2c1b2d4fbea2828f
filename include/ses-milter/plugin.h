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
 *   1.2  sm_plugin.account (was spare[1]; NULL in older plugins: no account state)
 */
#define SM_PLUGIN_ABI_MINOR 2
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
    void *spare[7];
} sm_plugin_host;

typedef struct sm_plugin {
    unsigned abi_version; /* SM_PLUGIN_ABI_VERSION */
    size_t size;          /* sizeof(sm_plugin) when the plugin was built */
    const char *name;     /* e.g. "ses", "file" */
    const char *version;  /* the plugin's own version */
    int (*init)(const sm_plugin_host *host, void **instance_r, char *err, size_t errlen);
    int (*start)(void *instance, char *err, size_t errlen); /* may be NULL */
    sm_id_answer (*lookup)(void *instance, const sm_id_query *query, sm_id_attrs *attrs);
    void (*close)(void *instance);
    /* optional: print effective settings for "ses-milter -n" (may be NULL) */
    void (*dump)(void *instance, void (*out)(void *arg, const char *line), void *arg);
    void *spare0; /* reserved (ABI 1.2: see the other entries) */
    /*
     * account (ABI 1.2, was spare[1]; may be NULL): copy the account state
     * into *state (state->size set by the host, fields up to it written).
     * Called from any thread, must not block on the network: answer from
     * what the background work last read.  Returns 0, or -1 when the
     * instance has no account notion (the host then never asks again).
     */
    int (*account)(void *instance, sm_acct_state *state);
    void *spare[6];
} sm_plugin;

#ifdef __cplusplus
}
#endif

#endif
