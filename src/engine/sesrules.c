/*
 * sesrules.c - the "ses" configuration group
 *
 * Purpose: parse the suppression-list settings and check_message_tenant
 * (directive tables) and hand the "rules" list to sesheaders_conf_parse().  The reply templates
 * must start with a status code of the right class (5.x.x / 4.x.x).
 *
 * Diagnostics: every error reads "file:line: reason" (cfg_errf).
 */
#include "config.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cfg.h"
#include "engine/sesrules.h"
#include "lib/util.h"

static const char *const sesrules_action_names[] = {"off", "refuse", "log", NULL};
static const char *const sesrules_tempfail_names[] = {"accept", "tempfail", NULL};

static const cfg_directive sesrules_supp_tab[] = {
    {"action", CFG_ENUM, offsetof(sesrules_conf, supp_action), "refuse", 0, 0, 0,
     sesrules_action_names},
    {"on_tempfail", CFG_ENUM, offsetof(sesrules_conf, supp_on_tempfail), "accept", 0, 0, 0,
     sesrules_tempfail_names},
    {"lookup_timeout_ms", CFG_INT, offsetof(sesrules_conf, supp_timeout_ms), NULL, 2000, 10, 60000,
     NULL},
    {"reject_text", CFG_STR, offsetof(sesrules_conf, supp_reject_text),
     "5.1.1 <%{rcpt}> is on the SES account suppression list (%{reason}) in region %{region}: "
     "SES would not deliver to it",
     0, 0, 0, NULL},
    {"tempfail_text", CFG_STR, offsetof(sesrules_conf, supp_tempfail_text),
     "4.4.3 the SES suppression list could not be checked for <%{rcpt}> now, try again later", 0, 0,
     0, NULL},
    CFG_END,
};

static const char *const sesrules_top_extra[] = {"suppression", "rules", NULL};
static const cfg_directive sesrules_top_tab[] = {
    {"check_message_tenant", CFG_BOOL, offsetof(sesrules_conf, check_message_tenant), NULL, 1, 0, 0,
     NULL},
    CFG_END,
};

/* sesrules_text_ok - "D.D.D text" with the wanted class digit */
static int
sesrules_text_ok(const char *t, char cls)
{
    return t != NULL && t[0] == cls && t[1] == '.' && t[2] >= '0' && t[2] <= '9' &&
           strchr(t, ' ') != NULL && strspn(t, "0123456789.") == (size_t)(strchr(t, ' ') - t);
}

int
sesrules_conf_parse(const config_setting_t *group, sesrules_conf **out, char *err, size_t errlen)
{
    sesrules_conf *c = xcalloc(1, sizeof(*c));
    const config_setting_t *supp = group ? config_setting_get_member(group, "suppression") : NULL;

    *out = c;
    c->present = group != NULL;
    if (cfg_parse_table(group, sesrules_top_tab, c, sesrules_top_extra, err, errlen) < 0 ||
        cfg_parse_table(supp, sesrules_supp_tab, c, NULL, err, errlen) < 0)
        return -1;
    if (supp == NULL)
        c->supp_action = SESRULES_SUPP_OFF;
    if (!sesrules_text_ok(c->supp_reject_text, '5'))
        return cfg_errf(err, errlen, supp ? supp : group,
                        "ses.suppression.reject_text must start with an enhanced status code "
                        "5.x.x and a space");
    if (!sesrules_text_ok(c->supp_tempfail_text, '4'))
        return cfg_errf(err, errlen, supp ? supp : group,
                        "ses.suppression.tempfail_text must start with an enhanced status code "
                        "4.x.x and a space");
    return sesheaders_conf_parse(group ? config_setting_get_member(group, "rules") : NULL,
                                 &c->headers, err, errlen);
}

void
sesrules_conf_dump(FILE *fp, const sesrules_conf *c)
{
    if (c == NULL || !c->present)
        return;
    cfg_dump_table(fp, "ses", sesrules_top_tab, c);
    cfg_dump_table(fp, "ses.suppression", sesrules_supp_tab, c);
    sesheaders_conf_dump(fp, c->headers);
}

sesrules_conf *
sesrules_conf_free(sesrules_conf *c)
{
    if (c == NULL)
        return NULL;
    cfg_free_table(sesrules_supp_tab, c);
    c->headers = sesheaders_conf_free(c->headers);
    free(c);
    return NULL;
}
