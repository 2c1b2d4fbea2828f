/*
 * sesconf.h - the configuration block of one SES instance, as data
 *
 * One table names every setting with its type, default and range; it
 * drives reading (through the host's conf_* getters, so errors come back
 * as "file:line: reason"), the list of known names and "ses-milter -n".
 */
#ifndef SES_SESCONF_H
#define SES_SESCONF_H

#include <stddef.h>

#include <ses-milter/plugin.h>

typedef struct ses_settings {
    char *region, *endpoint, *ca_file, *profile, *credentials_source, *sts_endpoint;
    int insecure_http;
    long connect_timeout_ms, timeout_ms, rate, burst, warmup_interval, warmup_page_size;
    long refresh_margin, verified_ttl, not_verified_ttl;
    /* suppression list (sessupp.c) */
    int suppression;
    long suppressed_ttl, not_suppressed_ttl, suppression_warmup_interval, suppression_max_entries;
    /* tenant resources (sestenant.c) */
    int tenants;
    long tenant_ttl;
    /* account awareness (sesacct.c): GetAccount schedule and what each state means */
    long account_interval;
    int sandbox_recipients, send_quota;
    char *on_probation_bulk, *on_probation_transactional, *on_shutdown, *on_sending_disabled;
    char *api_budget; /* instances naming the same budget share one API rate */
} ses_settings;

/* sesconf_action - "accept" | "tempfail" | "hold" | "reject" as an sm_acct_action, or -1 */
int sesconf_action(const char *name);

/* sesconf_read - fill s from the instance block; -1 with "file:line: reason" in err */
int sesconf_read(const sm_plugin_host *host, ses_settings *s, char *err, size_t errlen);
/* sesconf_dump - one "name = value;" line per setting */
void sesconf_dump(const ses_settings *s, void (*out)(void *arg, const char *line), void *arg);
/* sesconf_clear - free the strings */
void sesconf_clear(ses_settings *s);

#endif
