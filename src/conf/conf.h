/*
 * conf.h - the whole configuration: one immutable, reference-counted snapshot
 *
 * conf_load() reads the libconfig file and hands each group to the concern
 * that owns it (daemon, log, scope, identity, alignment, unsubscribe,
 * audit).  The result is never modified; SIGHUP builds a new snapshot and
 * swaps it in with conf_publish().  A message takes a reference for its
 * whole life (conf_acquire / conf_release), so a reload never changes the
 * rules half-way through a message, and the old snapshot (with its plugin
 * instances) is freed when its last message is done: by the reaper thread,
 * never by the mail thread that dropped the last reference.
 */
#ifndef SM_CONF_H
#define SM_CONF_H

#include <stdio.h>

#include "lib/cfg.h"
#include "conf/scope.h"

typedef struct daemon_conf {
    char *socket;           /* unix:/path, inet:PORT@HOST, inet6:PORT@[ADDR] */
    char *socket_owner;     /* user that owns a unix socket */
    char *socket_group;     /* group that owns a unix socket */
    char *socket_mode_text; /* octal mode of a unix socket, as written */
    long socket_mode;       /* its value */
    char *user;             /* drop privileges to this user */
    char *group;            /* and this group (default: the user's) */
    char *pid_file;
    long milter_timeout; /* seconds to wait on the MTA; idle connections are closed (milter_idle.c)
                          */
    long backlog;
    long shutdown_timeout; /* seconds to let messages in flight finish on SIGTERM */
} daemon_conf;

typedef struct log_conf {
    int facility;            /* index into the facility names */
    int level;               /* index into the level names */
    int log_scope_decisions; /* log mail that is not outgoing (at debug level) */
} log_conf;

/*
 * conf_services - the groups conf does not parse itself: the engine's
 * services (src/engine/services.h) register them.  The caller of
 * conf_load() passes the hooks in, so conf includes no concern's header;
 * NULL: the snapshot has daemon, log and scope only (any other group is
 * an unknown setting).
 */
struct sm_services;
typedef struct conf_services {
    int (*owns)(const char *group); /* a top-level group of theirs */
    int (*parse)(const config_setting_t *root, struct sm_services **out, char *err, size_t errlen);
    void (*dump)(FILE *fp, const struct sm_services *s);
    int (*warnings)(FILE *fp, const struct sm_services *s, const char *path);
    int (*start)(struct sm_services *s, char *err, size_t errlen);
    /* the path a dotted file setting names ("audit.file"), NULL when unused */
    const char *(*file)(const struct sm_services *s, const char *setting);
    struct sm_services *(*free)(struct sm_services *s);
} conf_services;

typedef struct sm_conf {
    int refs; /* protected by the publish lock */
    char *path;
    char version[17]; /* first 16 hex digits of the file's SHA-256 */
    daemon_conf daemon;
    log_conf log;
    scope_conf *scope;
    const conf_services *svc_hooks; /* how svc was made (conf_load's argument) */
    struct sm_services *svc;        /* the concerns' sections, opaque here (services.h) */
    struct sm_conf *retired_next;   /* the reaper's queue (conf.c) */
} sm_conf;

/* conf_load - read and validate a file, the groups of svc by svc; NULL with "file:line: reason" */
sm_conf *conf_load(const char *path, const conf_services *svc, char *err, size_t errlen);
/* conf_dump - the effective settings, in configuration syntax */
void conf_dump(FILE *fp, const sm_conf *c);
/* conf_warnings - print warnings about a valid but risky configuration; returns count */
int conf_warnings(FILE *fp, const sm_conf *c);
/* conf_start - start background work (after privilege drop); 0 or -1 with err */
int conf_start(sm_conf *c, char *err, size_t errlen);
/* conf_file - the path a dotted file setting of the services names, NULL when unused */
const char *conf_file(const sm_conf *c, const char *setting);
/* conf_free - free a snapshot that was never published (or whose last reference went) */
sm_conf *conf_free(sm_conf *c);

/* conf_publish - make c the current snapshot; the previous one is released (freed by the
 * caller when nobody holds it); NULL at shutdown also stops the reaper */
void conf_publish(sm_conf *c);
/* conf_acquire - the current snapshot, with a reference */
sm_conf *conf_acquire(void);
/* conf_release - drop a reference; the last one hands the snapshot to the reaper; NULL */
sm_conf *conf_release(sm_conf *c);
/* conf_reaped - snapshots the reaper thread has freed so far */
unsigned long conf_reaped(void);

int conf_log_facility(const sm_conf *c);
int conf_log_level(const sm_conf *c);
const char *conf_default_path(void);

#endif
