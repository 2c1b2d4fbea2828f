/*
 * credsrc.h - the individual AWS credential sources
 *
 * Each function fetches or reads credentials from one source and returns 0
 * with a filled creds_value, 1 when the source is not configured (the
 * chain moves on), or -1 with a reason in err (which never contains a
 * secret).  creds.c walks them in the SDK order and refreshes the
 * temporary ones.
 */
#ifndef SES_CREDSRC_H
#define SES_CREDSRC_H

#include <stddef.h>
#include <stdint.h>

#include "creds.h"
#include "http.h"

/* credsrc_env - AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY[, AWS_SESSION_TOKEN] */
int credsrc_env(creds_value *out, char *err, size_t errlen);
/* credsrc_web_identity_configured - AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN set */
int credsrc_web_identity_configured(void);
/* credsrc_web_identity - STS AssumeRoleWithWebIdentity (unsigned), token file re-read */
int credsrc_web_identity(http_client *h, const char *sts_endpoint, int allow_http,
                         uint64_t deadline_ms, creds_value *out, char *err, size_t errlen);
/*
 * credsrc_file - the profile from the shared credentials file, else from
 * the config file.  *loose_r is set when the credentials file is readable
 * by group or others.
 */
int credsrc_file(const char *profile, creds_value *out, int *loose_r, char *path_r, size_t pathlen,
                 char *err, size_t errlen);
/* credsrc_file_via - the same, the files opened by open_fn (NULL: open(2)) */
int credsrc_file_via(sesutil_open_fn open_fn, void *open_arg, const char *profile, creds_value *out,
                     int *loose_r, char *path_r, size_t pathlen, char *err, size_t errlen);
/* credsrc_container_configured - one of the container URI variables is set */
int credsrc_container_configured(void);
/* credsrc_container - container credentials endpoint (ECS, EKS Pod Identity) */
int credsrc_container(http_client *h, uint64_t deadline_ms, creds_value *out, char *err,
                      size_t errlen);
/* credsrc_imds_disabled - AWS_EC2_METADATA_DISABLED=true */
int credsrc_imds_disabled(void);
/* credsrc_imds - EC2 instance metadata, IMDSv2 (token, role, credentials) */
int credsrc_imds(http_client *h, uint64_t deadline_ms, creds_value *out, char *err, size_t errlen);
/* credsrc_parse_json - AccessKeyId/SecretAccessKey/Token/Expiration */
int credsrc_parse_json(const char *body, creds_value *out, char *err, size_t errlen);
/* credsrc_parse_sts_xml - the AssumeRoleWithWebIdentity answer */
int credsrc_parse_sts_xml(const char *body, creds_value *out, char *err, size_t errlen);
/* credsrc_container_url_ok - https, or http to loopback / 169.254.170.2 / 169.254.170.23 */
int credsrc_container_url_ok(const char *url);

#endif
