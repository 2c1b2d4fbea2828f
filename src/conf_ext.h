/*
 * conf_ext.h - the concerns' configuration groups and their engines
 *
 * Each concern (identity gate, alignment checks, unsubscribe headers,
 * audit trail) parses its own group; this module holds the results of one
 * configuration snapshot together, starts their background work after the
 * privilege drop, and frees them when the snapshot goes.
 */
#ifndef SM_CONF_EXT_H
#define SM_CONF_EXT_H

#include <stdio.h>
#include <libconfig.h>

#define CONF_EXT_GROUPS "identity", "alignment", "unsubscribe", "audit"

typedef struct sm_conf_ext sm_conf_ext;

int conf_ext_parse(const config_setting_t *root, sm_conf_ext **out, char *err, size_t errlen);
void conf_ext_dump(FILE *fp, const sm_conf_ext *x);
int conf_ext_warnings(FILE *fp, const sm_conf_ext *x, const char *path);
int conf_ext_start(sm_conf_ext *x, char *err, size_t errlen);
sm_conf_ext *conf_ext_free(sm_conf_ext *x);
/* conf_ext_reopen - reopen log files (SIGUSR1, logrotate) */
void conf_ext_reopen(sm_conf_ext *x);

#endif
