/*
 * log.h - the one logger: levels, syslog or stderr, sanitising
 *
 * Every line about a message starts with the MTA queue id ("QID: ...").
 * Level filtering happens here and nowhere else.  Text that came from the
 * network must go through log_sanitize() (or the %S-free helpers below)
 * before it is logged.
 */
#ifndef SM_LOG_H
#define SM_LOG_H

#include <stddef.h>
#include <syslog.h>

#include "lib/util.h"

/* levels are syslog's: LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO, LOG_DEBUG */

/* log_open - start logging; to_stderr in the foreground, else syslog(facility) */
void log_open(const char *ident, int facility, int to_stderr);
/* log_set_level - lines above this level are dropped */
void log_set_level(int level);
int log_get_level(void);
/* log_enabled - whether a line at level would be written (to skip costly formatting) */
int log_enabled(int level);
/* log_msg - one line; qid may be NULL for lines not about a message */
void log_msg(int level, const char *qid, const char *fmt, ...) SM_PRINTF(3, 4);
/* log_sanitize - copy untrusted text: controls, bidi and ill-formed UTF-8 escaped; returns out */
char *log_sanitize(const char *in, char *out, size_t outlen);
/* log_level_name / log_level_parse / log_facility_parse - for configuration */
const char *log_level_name(int level);
int log_level_parse(const char *name);
int log_facility_parse(const char *name);
/* log_capture - tests: send lines to a callback instead (NULL restores) */
void log_capture(void (*fn)(int level, const char *line, void *arg), void *arg);

#endif
