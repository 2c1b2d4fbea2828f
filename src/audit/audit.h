/*
 * audit.h - the audit trail writer: one chained JSON line per message
 *
 * Synopsis:
 *   audit_conf_parse(group, &conf, err, len);      the "audit { ... }" group
 *   audit_log_open(conf, &log, err, len);          as root: reads key files
 *   rc = audit_write_msg(log, &msg, err, len);     any thread, per message
 *   audit_reopen(log, err, len);                   on SIGUSR1 (logrotate)
 *   log = audit_log_close(log);
 *
 * audit_write_msg() appends the record with a single write(2) on an
 * O_APPEND descriptor under a mutex, so lines from many threads are never
 * torn or interleaved, and links it to the previous line (audit_chain.h).
 * It returns AUDIT_OK, or on failure (disk full, log unwritable) the action
 * the administrator configured: AUDIT_FAIL_TEMPFAIL (the engine answers the
 * message with a temporary failure) or AUDIT_FAIL_CONTINUE (the engine goes
 * on); in both cases err says why, and the caller logs it loudly.
 *
 * The chain survives rotation and restarts: the writer keeps the last hash
 * in memory across audit_reopen(); on open it links to the last line of
 * the existing file, or, when the file is new and nothing is in memory, to
 * the last line of "FILE.1" (logrotate's delaycompress copy).
 */
#ifndef SM_AUDIT_H
#define SM_AUDIT_H

#include <stddef.h>
#include <stdio.h>
#include <libconfig.h>
#include <sys/types.h>

#include "audit/audit_record.h"

typedef enum audit_fsync {
    AUDIT_FSYNC_NEVER = 0,
    AUDIT_FSYNC_ALWAYS,
    AUDIT_FSYNC_INTERVAL,
} audit_fsync;

typedef enum audit_on_error {
    AUDIT_ON_ERROR_TEMPFAIL = 0,
    AUDIT_ON_ERROR_CONTINUE,
} audit_on_error;

/* the "audit" configuration group */
typedef struct audit_conf {
    int enabled;              /* default true */
    char *file;               /* default /var/log/ses-milter/audit.jsonl */
    int fsync;                /* audit_fsync, default "interval" */
    long fsync_interval_ms;   /* default 1000 */
    int recipients;           /* audit_rcpt_mode, default "hashed" */
    char *recipient_key_file; /* default /etc/ses-milter/audit-recipient.key */
    char *hmac_key_file;      /* default unset: plain SHA-256 chain */
    int on_error;             /* audit_on_error, default "tempfail" */
    char *file_mode;          /* octal text, default "0640" */
    long mode;                /* file_mode parsed */
} audit_conf;

/* results of audit_write_msg / audit_reopen */
#define AUDIT_OK 0
#define AUDIT_FAIL_CONTINUE 1 /* not written; configured to go on */
#define AUDIT_FAIL_TEMPFAIL 2 /* not written; configured to tempfail the message */

typedef struct audit_log audit_log;

/* audit_conf_parse - parse the "audit" group (NULL: defaults); 0 or -1 with file:line */
int audit_conf_parse(const config_setting_t *group, audit_conf **conf_r, char *err, size_t errlen);
/* audit_conf_dump - print the effective settings as "audit.name = value;" lines */
void audit_conf_dump(FILE *fp, const audit_conf *conf);
/* audit_conf_free - returns NULL */
audit_conf *audit_conf_free(audit_conf *conf);

/*
 * audit_log_open - open (create with file_mode; a symbolic link or a file
 * with other hard links is refused) the log and read the key files; *log_r is NULL when auditing is
 * disabled.  0 or -1 with a reason. The configuration is copied.
 */
int audit_log_open(const audit_conf *conf, audit_log **log_r, char *err, size_t errlen);
/*
 * audit_log_open_shared - a writer with conf's settings (keys read again)
 * on the file and hash chain of same_file (a writer of a snapshot that
 * names the same file; NULL: open the file): records of the new snapshot
 * use its own settings, and the chain goes on unbroken across a reload.
 */
int audit_log_open_shared(const audit_conf *conf, audit_log *same_file, audit_log **log_r,
                          char *err, size_t errlen);
/*
 * audit_log_chown - as root: check the open file's owner (root, us or uid:
 * anything else is refused) and give it to uid:gid ((uid_t)-1: keep),
 * through the descriptor
 */
int audit_log_chown(audit_log *log, uid_t uid, gid_t gid, char *err, size_t errlen);
/* audit_reopen - reopen the file (after logrotate moved it); on failure the old fd stays */
int audit_reopen(audit_log *log, char *err, size_t errlen);
/* audit_write_msg - append one record; AUDIT_OK or AUDIT_FAIL_*; log NULL: AUDIT_OK */
int audit_write_msg(audit_log *log, const audit_msg *msg, char *err, size_t errlen);
/* audit_log_head - copy the hash of the last line written into out (65 bytes) */
void audit_log_head(audit_log *log, char *out);
/* audit_log_close - sync, close and free; returns NULL */
audit_log *audit_log_close(audit_log *log);

/*
 * audit_summary_line - the one syslog line per message, fixed key=value
 * layout beginning with the queue id, e.g.
 *   QID: action=reject outcome=completed scope=authenticated from=<a@b>
 *   env_from=<a@b> rcpts=2 identity=a@b:not_verified dmarc=fail
 *   providers=gmail:pass,outlook:fail(spf-pass) reply="550 5.7.1 ..."
 * Untrusted text is sanitised; log it with log_msg(level, NULL, "%s", buf).
 */
void audit_summary_line(const audit_msg *msg, char *buf, size_t len);

#endif
