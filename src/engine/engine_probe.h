/*
 * engine_probe.h - ses-milter -t ADDRESS: one sender through the engine
 *
 * Each address goes through the engine as a message from it would: MAIL
 * FROM:<ADDRESS> and "From: ADDRESS", in scope whatever the client, no
 * DKIM signature (engine_probe_start).  So the identity sources, the
 * cache, the gate's policy and reply texts and the alignment prediction
 * are exactly the running daemon's.  An address with a non-ASCII byte is
 * sent as if with SMTPUTF8 (no client can send it otherwise).  Nothing is
 * written to the audit trail and no line is logged.
 *
 * Recipients (ses-milter -t ADDRESS -r RCPT ...) go through the RCPT-time
 * checks first (suppression list, sandbox), and the account's guard and
 * quota are asked (not charged) at end of message.
 *
 * Exit status (engine_probe_run): 0 when every address would be accepted
 * (also into quarantine or tagged) with every recipient, 1 when any message
 * or recipient would be refused (5xx), else 2 when any would be tempfailed
 * (4xx: a source could not answer).
 */
#ifndef SM_ENGINE_PROBE_H
#define SM_ENGINE_PROBE_H

#include <stddef.h>
#include <stdio.h>

#define ENGINE_PROBE_ACCEPTED 0
#define ENGINE_PROBE_REFUSED 1
#define ENGINE_PROBE_UNKNOWN 2

/*
 * engine_probe_run - print the report for each address on fp, with the
 * published configuration (conf_publish); returns the exit status above
 */
int engine_probe_run(char *const *addrs, size_t n, char *const *rcpts, size_t nr, FILE *fp);

#endif
