/*
 * creds.h - the AWS credential chain, with background refresh
 *
 * Sources in the AWS SDKs' order (minus SSO): environment, web identity
 * (STS AssumeRoleWithWebIdentity), shared credentials/config files with
 * profiles, container credentials, EC2 IMDSv2.  A configuration may pin
 * one source.  Static sources are read by creds_new() (possibly as root);
 * temporary credentials are fetched and refreshed by a background thread
 * started with creds_start(), margin seconds before they expire.  When a
 * refresh fails the current credentials stay in use until they expire.
 * creds_get() never blocks on the network.  Secrets never reach the log
 * callback, nor any error text.
 */
#ifndef SES_CREDS_H
#define SES_CREDS_H

#include <stddef.h>
#include <stdint.h>

#include "http.h"
#include "sesutil.h"

typedef struct creds creds;

/* log callback: syslog level; never receives a secret */
typedef void (*creds_log_fn)(void *arg, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

typedef struct creds_opts {
    const char *source;        /* chain|env|file|container|imds|web_identity; NULL = chain */
    const char *profile;       /* NULL: $AWS_PROFILE, else "default" */
    const char *sts_endpoint;  /* NULL: $AWS_ENDPOINT_URL_STS, else https://sts.amazonaws.com */
    unsigned refresh_margin_s; /* refresh this long before Expiration (SDKs: 900) */
    unsigned retry_s;          /* pause after a failed fetch */
    int allow_http;            /* permit http:// for an STS endpoint override */
    http_client *http;         /* transport (not owned) */
    creds_log_fn log;
    void *log_arg;
    /* opens the shared credentials and config files (NULL: open(2)); the host's open_file */
    sesutil_open_fn open_file;
    void *open_arg;
} creds_opts;

typedef struct creds_value {
    char *access_key_id;
    char *secret_access_key;
    char *session_token; /* NULL for long-term keys */
    int64_t expiration;  /* epoch seconds; 0 = does not expire */
} creds_value;

/* creds_source_valid - whether name is a known credentials_source */
int creds_source_valid(const char *name);
/* creds_new - resolve the source; NULL with err when none is usable */
creds *creds_new(const creds_opts *opts, char *err, size_t errlen);
/* creds_start - start the refresh thread for temporary credentials (no-op for static ones) */
int creds_start(creds *c, char *err, size_t errlen);
/* creds_get - copy the current credentials; -1 with err when none are valid now */
int creds_get(creds *c, creds_value *out, char *err, size_t errlen);
/* creds_value_clear - wipe and free a copy */
void creds_value_clear(creds_value *v);
/* creds_source_name - the source in use ("env", "file", "imds", ...) */
const char *creds_source_name(const creds *c);
/* creds_free - stop the thread and wipe the secrets; returns NULL */
creds *creds_free(creds *c);

#endif
