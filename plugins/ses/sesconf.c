/*
 * sesconf.c - read, check and print an SES instance's settings
 *
 * Purpose: configuration as a table (name, type, field, default, range),
 * read through the host's conf_* getters.  The region defaults to
 * $AWS_REGION, then $AWS_DEFAULT_REGION; without any, the block is refused
 * with its file:line.  Nothing here logs.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "creds.h"
#include "sesconf.h"
#include "sesutil.h"

typedef enum sesconf_type {
    SESCONF_STR,
    SESCONF_INT,
    SESCONF_BOOL,
} sesconf_type;

typedef struct sesconf_directive {
    const char *name;
    sesconf_type type;
    size_t offset;
    const char *def_str;
    long def_int, min, max;
} sesconf_directive;

#define SF(f) offsetof(ses_settings, f)
static const sesconf_directive sesconf_table[] = {
    {"region", SESCONF_STR, SF(region), NULL, 0, 0, 0},
    {"endpoint", SESCONF_STR, SF(endpoint), NULL, 0, 0, 0},
    {"insecure_http", SESCONF_BOOL, SF(insecure_http), NULL, 0, 0, 1},
    {"ca_file", SESCONF_STR, SF(ca_file), NULL, 0, 0, 0},
    {"connect_timeout_ms", SESCONF_INT, SF(connect_timeout_ms), NULL, 1000, 10, 60000},
    {"timeout_ms", SESCONF_INT, SF(timeout_ms), NULL, 3000, 10, 120000},
    {"rate", SESCONF_INT, SF(rate), NULL, 1, 1, 10000},
    {"burst", SESCONF_INT, SF(burst), NULL, 1, 1, 10000},
    {"warmup_interval", SESCONF_INT, SF(warmup_interval), NULL, 300, 0, 7 * 86400},
    {"warmup_page_size", SESCONF_INT, SF(warmup_page_size), NULL, 1000, 1, 1000},
    {"profile", SESCONF_STR, SF(profile), NULL, 0, 0, 0},
    {"credentials_source", SESCONF_STR, SF(credentials_source), "chain", 0, 0, 0},
    {"credentials_refresh_margin", SESCONF_INT, SF(refresh_margin), NULL, 900, 0, 3600},
    {"sts_endpoint", SESCONF_STR, SF(sts_endpoint), NULL, 0, 0, 0},
    {"verified_ttl", SESCONF_INT, SF(verified_ttl), NULL, 0, 0, 30 * 86400},
    {"not_verified_ttl", SESCONF_INT, SF(not_verified_ttl), NULL, 0, 0, 30 * 86400},
    /* suppression list (sessupp.c) */
    {"suppression", SESCONF_BOOL, SF(suppression), NULL, 0, 0, 1},
    {"suppressed_ttl", SESCONF_INT, SF(suppressed_ttl), NULL, 3600, 1, 30 * 86400},
    {"not_suppressed_ttl", SESCONF_INT, SF(not_suppressed_ttl), NULL, 600, 1, 30 * 86400},
    {"suppression_warmup_interval", SESCONF_INT, SF(suppression_warmup_interval), NULL, 0, 0,
     7 * 86400},
    {"suppression_max_entries", SESCONF_INT, SF(suppression_max_entries), NULL, 100000, 16,
     10000000},
    /* tenant resources (sestenant.c) */
    {"tenants", SESCONF_BOOL, SF(tenants), NULL, 0, 0, 1},
    {"tenant_ttl", SESCONF_INT, SF(tenant_ttl), NULL, 300, 1, 30 * 86400},
    {"account_interval", SESCONF_INT, SF(account_interval), NULL, 60, 0, 3600},
    {"sandbox_recipients", SESCONF_BOOL, SF(sandbox_recipients), NULL, 1, 0, 1},
    {"send_quota", SESCONF_BOOL, SF(send_quota), NULL, 1, 0, 1},
    {"on_probation_bulk", SESCONF_STR, SF(on_probation_bulk), "tempfail", 0, 0, 0},
    {"on_probation_transactional", SESCONF_STR, SF(on_probation_transactional), "accept", 0, 0, 0},
    {"on_shutdown", SESCONF_STR, SF(on_shutdown), "reject", 0, 0, 0},
    {"on_sending_disabled", SESCONF_STR, SF(on_sending_disabled), "tempfail", 0, 0, 0},
    {"api_budget", SESCONF_STR, SF(api_budget), NULL, 0, 0, 0},
};

static const char *const sesconf_actions[] = {"accept", "tempfail", "hold", "reject"};

/* sesconf_action - the action's index is its sm_acct_action value */
int
sesconf_action(const char *name)
{
    for (size_t i = 0; name != NULL && i < sizeof(sesconf_actions) / sizeof(sesconf_actions[0]);
         i++)
        if (strcmp(name, sesconf_actions[i]) == 0)
            return (int)i;
    return -1;
}
#define SESCONF_N (sizeof(sesconf_table) / sizeof(sesconf_table[0]))

static const char *
sesconf_env_region(void)
{
    const char *r = getenv("AWS_REGION");

    if (r == NULL || *r == '\0')
        r = getenv("AWS_DEFAULT_REGION");
    return r != NULL && *r != '\0' ? r : NULL;
}

static int
sesconf_one(const sm_plugin_host *host, const sesconf_directive *d, ses_settings *s, char *err,
            size_t errlen)
{
    void *field = (char *)s + d->offset;
    const char *v = NULL, *def = d->def_str;

    switch (d->type) {
    case SESCONF_STR:
        if (strcmp(d->name, "region") == 0)
            def = sesconf_env_region();
        if (host->conf_string(host->ctx, d->name, def, &v, err, errlen) < 0)
            return -1;
        *(char **)field = v != NULL && *v != '\0' ? sesutil_strdup(v) : NULL;
        return 0;
    case SESCONF_INT:
        return host->conf_int(host->ctx, d->name, d->def_int, d->min, d->max, (long *)field, err,
                              errlen);
    case SESCONF_BOOL:
        return host->conf_bool(host->ctx, d->name, (int)d->def_int, (int *)field, err, errlen);
    }
    return -1;
}

/* sesconf_read - the whole block, then the checks that span settings */
int
sesconf_read(const sm_plugin_host *host, ses_settings *s, char *err, size_t errlen)
{
    const char *known[SESCONF_N + 3];
    char where[256];
    size_t i;

    memset(s, 0, sizeof(*s));
    for (i = 0; i < SESCONF_N; i++)
        known[i] = sesconf_table[i].name;
    known[i++] = "plugin"; /* the host's own keys in the block */
    known[i++] = "name";
    known[i] = NULL;
    if (host->conf_check(host->ctx, known, err, errlen) < 0)
        return -1;
    for (i = 0; i < SESCONF_N; i++)
        if (sesconf_one(host, &sesconf_table[i], s, err, errlen) < 0)
            return -1;
    if (s->region == NULL)
        return sesutil_errf(err, errlen, "%s: ses: region is required (or set AWS_REGION)",
                            host->conf_where(host->ctx, NULL, where, sizeof(where)));
    if (strspn(s->region, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(s->region))
        return sesutil_errf(err, errlen, "%s: ses: malformed region \"%s\"",
                            host->conf_where(host->ctx, "region", where, sizeof(where)), s->region);
    {
        static const char *const acts[] = {"on_probation_bulk", "on_probation_transactional",
                                           "on_shutdown", "on_sending_disabled"};
        char *const vals[] = {s->on_probation_bulk, s->on_probation_transactional, s->on_shutdown,
                              s->on_sending_disabled};
        for (i = 0; i < 4; i++)
            if (sesconf_action(vals[i]) < 0)
                return sesutil_errf(
                    err, errlen, "%s: ses: %s must be one of accept, tempfail, hold, reject",
                    host->conf_where(host->ctx, acts[i], where, sizeof(where)), acts[i]);
    }
    if (s->account_interval > 0 && s->account_interval < 5)
        return sesutil_errf(err, errlen,
                            "%s: ses: account_interval must be 0 (at start only) or 5 to 3600 "
                            "seconds: each GetAccount takes a request of the account's API budget",
                            host->conf_where(host->ctx, "account_interval", where, sizeof(where)));
    if (!creds_source_valid(s->credentials_source))
        return sesutil_errf(
            err, errlen,
            "%s: ses: credentials_source must be one of chain, env, file, "
            "container, imds, web_identity",
            host->conf_where(host->ctx, "credentials_source", where, sizeof(where)));
    return 0;
}

/* sesconf_dump - effective values; no setting holds a secret */
void
sesconf_dump(const ses_settings *s, void (*out)(void *arg, const char *line), void *arg)
{
    char line[600];
    size_t i;

    for (i = 0; i < SESCONF_N; i++) {
        const sesconf_directive *d = &sesconf_table[i];
        const void *field = (const char *)s + d->offset;
        const char *str;

        switch (d->type) {
        case SESCONF_STR:
            str = *(char *const *)field;
            snprintf(line, sizeof(line), "%s = \"%s\";", d->name, str != NULL ? str : "");
            break;
        case SESCONF_INT:
            snprintf(line, sizeof(line), "%s = %ld;", d->name, *(const long *)field);
            break;
        case SESCONF_BOOL:
            snprintf(line, sizeof(line), "%s = %s;", d->name,
                     *(const int *)field ? "true" : "false");
            break;
        }
        out(arg, line);
    }
}

/* sesconf_clear - free the strings the table owns */
void
sesconf_clear(ses_settings *s)
{
    size_t i;

    for (i = 0; i < SESCONF_N; i++)
        if (sesconf_table[i].type == SESCONF_STR) {
            char **p = (char **)((char *)s + sesconf_table[i].offset);
            *p = sesutil_free(*p);
        }
}
