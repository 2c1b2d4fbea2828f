/*
 * sesrules.h - configuration group "ses": suppression list and header rules
 *
 * The group holds what ses-milter does with SES account facts beyond the
 * identity gate: the action for recipients on a source's suppression list
 * (engine_suppress.c) and the rules that add X-SES-* headers
 * (sesheaders.c).  Without the group both are off; an X-SES-TENANT the
 * message brings itself is checked even then (check_message_tenant).
 *
 *   ses {
 *     check_message_tenant = true;  # the message's own X-SES-TENANT: identity associated?
 *     suppression {
 *       action = "refuse";          # refuse | log | off
 *       on_tempfail = "accept";     # accept | tempfail: the list could not be asked
 *       lookup_timeout_ms = 2000;   # per recipient
 *       reject_text = "5.1.1 <%{rcpt}> is on the SES suppression list (%{reason}) "
 *                     "in region %{region}";
 *       tempfail_text = "4.4.3 suppression list of <%{rcpt}> unavailable, try again later";
 *     };
 *     rules = ( { senders = [ "example.com" ]; configuration_set = "marketing"; ... } );
 *   }
 */
#ifndef SM_SESRULES_H
#define SM_SESRULES_H

#include <stdio.h>
#include <libconfig.h>

#include "engine/sesheaders.h"

typedef enum sesrules_supp_action {
    SESRULES_SUPP_OFF = 0,
    SESRULES_SUPP_REFUSE,
    SESRULES_SUPP_LOG,
} sesrules_supp_action;

typedef struct sesrules_conf {
    int present;              /* a "ses" group exists */
    int supp_action;          /* sesrules_supp_action */
    int supp_on_tempfail;     /* 0 accept, 1 tempfail */
    int check_message_tenant; /* an X-SES-TENANT the message brings is checked (default 1) */
    long supp_timeout_ms;
    char *supp_reject_text, *supp_tempfail_text;
    sesheaders_conf *headers; /* never NULL after a successful parse */
} sesrules_conf;

/* sesrules_conf_parse - parse the "ses" group (NULL: everything off) */
int sesrules_conf_parse(const config_setting_t *group, sesrules_conf **out, char *err,
                        size_t errlen);
/* sesrules_conf_dump - effective settings for "ses-milter -n" */
void sesrules_conf_dump(FILE *fp, const sesrules_conf *c);
/* sesrules_conf_free - returns NULL */
sesrules_conf *sesrules_conf_free(sesrules_conf *c);

#endif
