/*
 * startcheck.h - what would stop the start, found before it (ses-milter -n, and the start)
 *
 * conf_load() proves the configuration valid; this proves the machine
 * ready for it: the directories of the unix socket, the PID file and the
 * audit log exist, the PID file and the audit log are not links, and the
 * users and groups named exist.  "ses-milter -n"
 * and the start run the same checks, so -n fails exactly when the start
 * would, with the same message: "file:line: reason" of the setting (just
 * "file: reason" for a default the file does not set).
 *
 * Warnings (-n only) name what does not stop the start but will bite the
 * run user later: an identity source's list ("path") it cannot read (edits
 * are then seen at a reload only), an audit log directory it cannot write
 * (a reopen after logrotate then depends on logrotate creating the file).
 */
#ifndef SM_STARTCHECK_H
#define SM_STARTCHECK_H

#include <stdio.h>

#include "conf/conf.h"

/*
 * startcheck_run - print each problem on fp ("ses-milter: ..." lines; warnings
 * only when warnings is set, as "warning: ..."); returns the number of errors
 */
int startcheck_run(const sm_conf *c, int warnings, FILE *fp);
/* startcheck_socket_path - the file system path of a unix socket spec, or NULL */
const char *startcheck_socket_path(const char *spec);

#endif
