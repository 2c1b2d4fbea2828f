/*
 * credsrc.c - environment, web identity, shared files, container, IMDSv2
 *
 * Purpose: read or fetch one set of AWS credentials from one source, the
 * way the AWS SDKs do.  Network sources use the plugin's http client with
 * the caller's deadline.  Nothing here logs; error texts name the source
 * and the failure, never a key, secret or token (answers that carry
 * secrets are not quoted).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <jansson.h>

#include "credsrc.h"
#include "sesutil.h"

#define CREDSRC_MAX_FILE (1u << 20)

static const char *
credsrc_getenv(const char *name)
{
    const char *v = getenv(name);
    return v != NULL && *v != '\0' ? v : NULL;
}

static void
credsrc_fill(creds_value *out, const char *ak, const char *sk, const char *tok, int64_t exp)
{
    out->access_key_id = sesutil_strdup(ak);
    out->secret_access_key = sesutil_strdup(sk);
    out->session_token = tok != NULL && *tok != '\0' ? sesutil_strdup(tok) : NULL;
    out->expiration = exp;
}

/* credsrc_env - the three environment variables */
int
credsrc_env(creds_value *out, char *err, size_t errlen)
{
    const char *ak = credsrc_getenv("AWS_ACCESS_KEY_ID");
    const char *sk = credsrc_getenv("AWS_SECRET_ACCESS_KEY");

    memset(out, 0, sizeof(*out));
    if (ak == NULL && sk == NULL)
        return 1;
    if (ak == NULL || sk == NULL)
        return sesutil_errf(err, errlen,
                            "environment: AWS_ACCESS_KEY_ID and "
                            "AWS_SECRET_ACCESS_KEY must both be set");
    credsrc_fill(out, ak, sk, credsrc_getenv("AWS_SESSION_TOKEN"), 0);
    return 0;
}

/* credsrc_parse_json - the JSON shape of IMDS and container credentials */
int
credsrc_parse_json(const char *body, creds_value *out, char *err, size_t errlen)
{
    json_t *root = json_loads(body != NULL ? body : "", 0, NULL);
    json_t *ak, *sk, *tok, *exp;
    int64_t e = 0;

    memset(out, 0, sizeof(*out));
    if (!json_is_object(root)) {
        json_decref(root);
        return sesutil_errf(err, errlen, "answer is not a JSON object");
    }
    ak = json_object_get(root, "AccessKeyId");
    sk = json_object_get(root, "SecretAccessKey");
    tok = json_object_get(root, "Token");
    exp = json_object_get(root, "Expiration");
    if (!json_is_string(ak) || !json_is_string(sk) || *json_string_value(ak) == '\0' ||
        *json_string_value(sk) == '\0') {
        json_decref(root);
        return sesutil_errf(err, errlen, "answer lacks AccessKeyId/SecretAccessKey");
    }
    if (json_is_string(exp) && (e = sesutil_parse_iso8601(json_string_value(exp))) < 0) {
        json_decref(root);
        return sesutil_errf(err, errlen, "answer has a malformed Expiration");
    }
    credsrc_fill(out, json_string_value(ak), json_string_value(sk),
                 json_is_string(tok) ? json_string_value(tok) : NULL, e);
    json_decref(root);
    return 0;
}

/* credsrc_xml_text - text of the first <tag>...</tag> (no entities in these fields) */
static char *
credsrc_xml_text(const char *body, const char *tag)
{
    char open[64], close[64];
    const char *s, *e;

    snprintf(open, sizeof(open), "<%s>", tag);
    snprintf(close, sizeof(close), "</%s>", tag);
    if ((s = strstr(body, open)) == NULL)
        return NULL;
    s += strlen(open);
    if ((e = strstr(s, close)) == NULL)
        return NULL;
    while (s < e && isspace((unsigned char)*s))
        s++;
    while (e > s && isspace((unsigned char)e[-1]))
        e--;
    return sesutil_strndup(s, (size_t)(e - s));
}

/* credsrc_parse_sts_xml - <Credentials> of AssumeRoleWithWebIdentityResult */
int
credsrc_parse_sts_xml(const char *body, creds_value *out, char *err, size_t errlen)
{
    char *ak, *sk, *tok, *exp;
    int64_t e = 0;
    int rc = 0;

    memset(out, 0, sizeof(*out));
    body = body != NULL ? body : "";
    ak = credsrc_xml_text(body, "AccessKeyId");
    sk = credsrc_xml_text(body, "SecretAccessKey");
    tok = credsrc_xml_text(body, "SessionToken");
    exp = credsrc_xml_text(body, "Expiration");
    if (ak == NULL || sk == NULL || *ak == '\0' || *sk == '\0')
        rc = sesutil_errf(err, errlen, "STS answer lacks AccessKeyId/SecretAccessKey");
    else if (exp != NULL && (e = sesutil_parse_iso8601(exp)) < 0)
        rc = sesutil_errf(err, errlen, "STS answer has a malformed Expiration");
    else
        credsrc_fill(out, ak, sk, tok, e);
    free(ak);
    sesutil_free_secret(sk);
    sesutil_free_secret(tok);
    free(exp);
    return rc;
}

/* credsrc_web_identity_configured - both variables present */
int
credsrc_web_identity_configured(void)
{
    return credsrc_getenv("AWS_WEB_IDENTITY_TOKEN_FILE") != NULL &&
           credsrc_getenv("AWS_ROLE_ARN") != NULL;
}

static char *
credsrc_form_body(const char *role, const char *session, const char *token)
{
    sesutil_buf b = {0};

    sesutil_buf_puts(&b, "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=");
    sesutil_uri_encode(&b, role, strlen(role), 0);
    sesutil_buf_puts(&b, "&RoleSessionName=");
    sesutil_uri_encode(&b, session, strlen(session), 0);
    sesutil_buf_puts(&b, "&WebIdentityToken=");
    sesutil_uri_encode(&b, token, strlen(token), 0);
    return sesutil_buf_steal(&b);
}

/* credsrc_web_identity - exchange the token file's JWT for temporary credentials */
int
credsrc_web_identity(http_client *h, const char *sts_endpoint, int allow_http, uint64_t deadline_ms,
                     creds_value *out, char *err, size_t errlen)
{
    const char *file = credsrc_getenv("AWS_WEB_IDENTITY_TOKEN_FILE");
    const char *role = credsrc_getenv("AWS_ROLE_ARN");
    const char *session = credsrc_getenv("AWS_ROLE_SESSION_NAME");
    const char *hdrs[] = {"Content-Type: application/x-www-form-urlencoded", NULL};
    char *token, *body, *code, *url;
    http_response r;
    http_req req;
    size_t n;
    int rc;

    memset(out, 0, sizeof(*out));
    if (file == NULL || role == NULL)
        return 1;
    if ((token = sesutil_read_file(file, 64 * 1024, &n, err, errlen)) == NULL)
        return -1;
    while (n > 0 && isspace((unsigned char)token[n - 1]))
        token[--n] = '\0';
    body = credsrc_form_body(role, session != NULL ? session : "ses-milter", token);
    sesutil_free_secret(token);
    if (sts_endpoint == NULL)
        sts_endpoint = credsrc_getenv("AWS_ENDPOINT_URL_STS");
    url =
        sesutil_asprintf("%s/", sts_endpoint != NULL ? sts_endpoint : "https://sts.amazonaws.com");
    if (strlen(url) > 1 && url[strlen(url) - 2] == '/')
        url[strlen(url) - 1] = '\0';
    req = (http_req){"POST", url, hdrs, body, strlen(body), deadline_ms, allow_http};
    rc = http_request(h, &req, &r);
    sesutil_free_secret(body);
    if (rc < 0)
        rc = sesutil_errf(err, errlen, "web identity: STS %s unreachable: %s", url, r.transport);
    else if (r.status != 200) {
        code = credsrc_xml_text(r.body, "Code");
        rc = sesutil_errf(err, errlen, "web identity: STS answered %ld %s", r.status,
                          code != NULL ? code : "");
        free(code);
    } else if ((rc = credsrc_parse_sts_xml(r.body, out, err, errlen)) < 0) {
        rc = -1;
    }
    free(url);
    http_response_clear(&r);
    return rc;
}

/* one "key = value" of a section of an INI file; section_is_profile: config's "[profile x]" */
static char *
credsrc_ini_get(const char *text, const char *profile, int config_file, const char *key)
{
    char *copy = sesutil_strdup(text), *line, *save = NULL, *val = NULL;
    int in = 0;

    for (line = strtok_r(copy, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        char *s = line, *e, *eq;
        while (isspace((unsigned char)*s))
            s++;
        e = s + strlen(s);
        while (e > s && isspace((unsigned char)e[-1]))
            *--e = '\0';
        if (*s == '#' || *s == ';' || *s == '\0')
            continue;
        if (*s == '[') {
            char *name = s + 1, *end = strchr(name, ']');
            if (end == NULL) {
                in = 0;
                continue;
            }
            *end = '\0';
            while (isspace((unsigned char)*name))
                name++;
            for (e = end; e > name && isspace((unsigned char)e[-1]);)
                *--e = '\0';
            if (config_file && strncmp(name, "profile", 7) == 0 && isspace((unsigned char)name[7]))
                for (name += 7; isspace((unsigned char)*name);)
                    name++;
            else if (config_file && strcmp(name, "default") != 0)
                name = "";
            in = strcmp(name, profile) == 0;
            continue;
        }
        if (!in || (eq = strchr(s, '=')) == NULL)
            continue;
        for (e = eq; e > s && isspace((unsigned char)e[-1]);)
            e--;
        if ((size_t)(e - s) == strlen(key) && strncasecmp(s, key, (size_t)(e - s)) == 0) {
            for (eq++; isspace((unsigned char)*eq);)
                eq++;
            sesutil_free_secret(val);
            val = sesutil_strdup(eq);
        }
    }
    sesutil_free_secret(copy);
    return val;
}

static char *
credsrc_home_path(const char *env, const char *rel)
{
    const char *v = credsrc_getenv(env), *home = credsrc_getenv("HOME");

    if (v != NULL)
        return sesutil_strdup(v);
    return sesutil_asprintf("%s/%s", home != NULL ? home : "/root", rel);
}

static int
credsrc_file_one(sesutil_open_fn open_fn, void *open_arg, const char *path, const char *profile,
                 int config_file, creds_value *out, char *err, size_t errlen)
{
    char *text, *ak, *sk, *tok;
    int rc = 1;

    if ((text = sesutil_read_file_via(open_fn, open_arg, path, CREDSRC_MAX_FILE, NULL, err,
                                      errlen)) == NULL)
        return errno == ENOENT ? 1 : -1;
    ak = credsrc_ini_get(text, profile, config_file, "aws_access_key_id");
    sk = credsrc_ini_get(text, profile, config_file, "aws_secret_access_key");
    tok = credsrc_ini_get(text, profile, config_file, "aws_session_token");
    sesutil_free_secret(text);
    if (ak != NULL && sk != NULL && *ak != '\0' && *sk != '\0') {
        credsrc_fill(out, ak, sk, tok, 0);
        rc = 0;
    } else if (ak != NULL || sk != NULL) {
        rc = sesutil_errf(err, errlen,
                          "%s: profile %s lacks aws_access_key_id or "
                          "aws_secret_access_key",
                          path, profile);
    }
    free(ak);
    sesutil_free_secret(sk);
    sesutil_free_secret(tok);
    return rc;
}

/* credsrc_file - credentials file first, then config file */
int
credsrc_file(const char *profile, creds_value *out, int *loose_r, char *path_r, size_t pathlen,
             char *err, size_t errlen)
{
    return credsrc_file_via(NULL, NULL, profile, out, loose_r, path_r, pathlen, err, errlen);
}

/* credsrc_file_via - the same, the files opened by open_fn (NULL: open(2)) */
int
credsrc_file_via(sesutil_open_fn open_fn, void *open_arg, const char *profile, creds_value *out,
                 int *loose_r, char *path_r, size_t pathlen, char *err, size_t errlen)
{
    char *cpath = credsrc_home_path("AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials");
    char *fpath = credsrc_home_path("AWS_CONFIG_FILE", ".aws/config");
    struct stat st;
    int rc;

    memset(out, 0, sizeof(*out));
    *loose_r = 0;
    if (profile == NULL)
        profile = credsrc_getenv("AWS_PROFILE") != NULL ? getenv("AWS_PROFILE") : "default";
    sesutil_strlcpy(path_r, cpath, pathlen);
    rc = credsrc_file_one(open_fn, open_arg, cpath, profile, 0, out, err, errlen);
    if (rc == 0 && stat(cpath, &st) == 0 && (st.st_mode & 077) != 0)
        *loose_r = 1;
    if (rc == 1) {
        sesutil_strlcpy(path_r, fpath, pathlen);
        rc = credsrc_file_one(open_fn, open_arg, fpath, profile, 1, out, err, errlen);
        if (rc == 0 && stat(fpath, &st) == 0 && (st.st_mode & 077) != 0)
            *loose_r = 1;
    }
    free(cpath);
    free(fpath);
    return rc;
}

/* credsrc_container_configured - relative or full URI present */
int
credsrc_container_configured(void)
{
    return credsrc_getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") != NULL ||
           credsrc_getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI") != NULL;
}

/* credsrc_container_url_ok - the SDK rules for the full URI */
int
credsrc_container_url_ok(const char *url)
{
    static const char *const hosts[] = {"localhost", "169.254.170.2",  "169.254.170.23",
                                        "[::1]",     "[fd00:ec2::23]", NULL};
    char *host, *colon;
    size_t i;
    int ok = 0;

    if (url == NULL || strpbrk(url, "\r\n") != NULL)
        return 0;
    if ((host = http_url_host(url)) == NULL)
        return 0;
    if (strncasecmp(url, "https://", 8) == 0 || strncasecmp(url, "http://", 7) != 0) {
        ok = strncasecmp(url, "https://", 8) == 0;
        free(host);
        return ok;
    }
    colon = strrchr(host, ':');
    if (colon != NULL && strchr(colon, ']') == NULL)
        *colon = '\0';
    for (i = 0; hosts[i] != NULL; i++)
        if (strcasecmp(host, hosts[i]) == 0)
            ok = 1;
    if (strncmp(host, "127.", 4) == 0 && strspn(host, "0123456789.") == strlen(host))
        ok = 1;
    free(host);
    return ok;
}

static int
credsrc_container_auth(char **hdr_r, char *err, size_t errlen)
{
    const char *file = credsrc_getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    const char *val = credsrc_getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN");
    char *tok = NULL;
    size_t n;

    *hdr_r = NULL;
    if (file != NULL) {
        if ((tok = sesutil_read_file(file, 16 * 1024, &n, err, errlen)) == NULL)
            return -1;
        while (n > 0 && (tok[n - 1] == '\n' || tok[n - 1] == '\r'))
            tok[--n] = '\0';
    } else if (val != NULL) {
        tok = sesutil_strdup(val);
    } else {
        return 0;
    }
    if (strpbrk(tok, "\r\n") != NULL) {
        sesutil_free_secret(tok);
        return sesutil_errf(err, errlen, "container: authorization token contains CR or LF");
    }
    *hdr_r = sesutil_asprintf("Authorization: %s", tok);
    sesutil_free_secret(tok);
    return 0;
}

/* credsrc_container - GET the credentials URL with the optional Authorization */
int
credsrc_container(http_client *h, uint64_t deadline_ms, creds_value *out, char *err, size_t errlen)
{
    const char *rel = credsrc_getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    const char *full = credsrc_getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    const char *hdrs[2] = {NULL, NULL};
    char *url, *auth = NULL;
    http_response r;
    http_req req;
    int rc;

    memset(out, 0, sizeof(*out));
    if (rel == NULL && full == NULL)
        return 1;
    url = rel != NULL ? sesutil_asprintf("http://169.254.170.2%s%s", *rel == '/' ? "" : "/", rel)
                      : sesutil_strdup(full);
    if (!credsrc_container_url_ok(url)) {
        sesutil_errf(err, errlen,
                     "container: refusing credentials URL %s (https, or http to "
                     "loopback, 169.254.170.2 or 169.254.170.23 only)",
                     url);
        free(url);
        return -1;
    }
    if (credsrc_container_auth(&auth, err, errlen) < 0) {
        free(url);
        return -1;
    }
    hdrs[0] = auth;
    req = (http_req){"GET", url, hdrs, NULL, 0, deadline_ms, 1};
    if (http_request(h, &req, &r) < 0)
        rc = sesutil_errf(err, errlen, "container: %s unreachable: %s", url, r.transport);
    else if (r.status != 200)
        rc = sesutil_errf(err, errlen, "container: %s answered HTTP %ld", url, r.status);
    else
        rc = credsrc_parse_json(r.body, out, err, errlen) < 0 ? -1 : 0;
    sesutil_free_secret(auth);
    http_response_clear(&r);
    free(url);
    return rc;
}

/* credsrc_imds_disabled - the SDK switch */
int
credsrc_imds_disabled(void)
{
    const char *v = credsrc_getenv("AWS_EC2_METADATA_DISABLED");
    return v != NULL && strcasecmp(v, "true") == 0;
}

static int
credsrc_imds_call(http_client *h, const char *method, const char *url, const char *hdr,
                  uint64_t deadline_ms, char **body_r, char *err, size_t errlen)
{
    const char *hdrs[2] = {hdr, NULL};
    http_req req = {method, url, hdrs, NULL, 0, deadline_ms, 1};
    http_response r;
    int rc = 0;

    *body_r = NULL;
    if (http_request(h, &req, &r) < 0)
        rc = sesutil_errf(err, errlen, "IMDS: %s unreachable: %s", url, r.transport);
    else if (r.status != 200)
        rc = sesutil_errf(err, errlen, "IMDS: %s %s answered HTTP %ld", method, url, r.status);
    else
        *body_r = sesutil_strdup(r.body);
    http_response_clear(&r);
    return rc;
}

/* credsrc_imds - token, role name, role credentials */
int
credsrc_imds(http_client *h, uint64_t deadline_ms, creds_value *out, char *err, size_t errlen)
{
    const char *ep = credsrc_getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    char *base, *url, *token = NULL, *hdr, *role = NULL, *body = NULL;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    base = sesutil_strdup(ep != NULL ? ep : "http://169.254.169.254");
    while (*base && base[strlen(base) - 1] == '/')
        base[strlen(base) - 1] = '\0';
    url = sesutil_asprintf("%s/latest/api/token", base);
    if (credsrc_imds_call(h, "PUT", url, "X-aws-ec2-metadata-token-ttl-seconds: 21600", deadline_ms,
                          &token, err, errlen) < 0)
        goto out;
    if (strpbrk(token, "\r\n") != NULL || *token == '\0') {
        sesutil_errf(err, errlen, "IMDS: malformed session token");
        goto out;
    }
    hdr = sesutil_asprintf("X-aws-ec2-metadata-token: %s", token);
    free(url);
    url = sesutil_asprintf("%s/latest/meta-data/iam/security-credentials/", base);
    if (credsrc_imds_call(h, "GET", url, hdr, deadline_ms, &role, err, errlen) == 0) {
        role[strcspn(role, "\r\n")] = '\0';
        if (*role == '\0' || strchr(role, '/') != NULL) {
            sesutil_errf(err, errlen, "IMDS: no instance role attached");
        } else {
            free(url);
            url = sesutil_asprintf("%s/latest/meta-data/iam/security-credentials/%s", base, role);
            if (credsrc_imds_call(h, "GET", url, hdr, deadline_ms, &body, err, errlen) == 0)
                rc = credsrc_parse_json(body, out, err, errlen) < 0 ? -1 : 0;
        }
    }
    sesutil_free_secret(hdr);
out:
    sesutil_free_secret(token);
    sesutil_free_secret(body);
    free(role);
    free(url);
    free(base);
    return rc;
}
