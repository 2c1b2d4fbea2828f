/*
 * state.h - the shared state backend of a fleet of ses-milter hosts
 *
 * Purpose: identity answers and the SES API budget shared by every
 * ses-milter of a fleet, through an optional backend (Redis: state_redis.c;
 * a build without hiredis refuses the setting: state_none.c).  The
 * in-process identity cache (cache.c) stays in front and knows only this
 * interface.
 *
 * Lookups report found / not found / error distinctly.  An error (the
 * backend down, slow, restarted, or the deadline too close) is never an
 * answer: the caller asks its sources itself.  Each operation is bounded by
 * the configured timeout_ms and by the caller's deadline; after a failure
 * the backend is left alone for a backoff (100 ms doubling up to 5 s) and
 * the change of state is logged once ("down" / "back").
 *
 * Keys are PREFIX:v1:id:INSTANCE:KIND:IDENTITY (answers, expiring with their
 * TTL), PREFIX:v1:lock:... (one host asking the sources, single-flight
 * across hosts), PREFIX:v1:budget:BUCKET:SECOND (API budget counters),
 * PREFIX:v1:KIND:INSTANCE:SHA256-HEX (a plugin's own answers, e.g. "supp":
 * suppression answers, the subject hashed) and PREFIX:v1:count:NAME:WINDOW
 * (the fleet's send counters).
 *
 * Thread safety: every function may be called from any thread.
 */
#ifndef SM_STATE_H
#define SM_STATE_H

#include <stdint.h>
#include <stdio.h>
#include <libconfig.h>

#include <ses-milter/plugin.h>

#include "lib/cfg.h"

typedef struct sm_state sm_state;

/* the "state" group */
typedef struct state_conf {
    int present;           /* a state group exists */
    char *backend;         /* "redis" */
    char *address;         /* host:port, [v6]:port or unix:/path */
    cfg_strlist sentinels; /* Redis Sentinels (host:port) naming the master; empty: address */
    char *master_name;     /* the master's name at the sentinels */
    char *user;            /* Redis 6 ACL user, NULL: AUTH with the password only */
    char *password_file;   /* NULL: no AUTH */
    int tls;               /* TLS to Redis (OpenSSL, state_redis_tls.c) */
    char *tls_ca_file;     /* PEM CAs the server's certificate must chain to; NULL: the system's */
    char *tls_server_name; /* name checked in the certificate (and SNI); NULL: the address' host */
    char *tls_cert_file;   /* PEM client certificate (chain) for mutual TLS, or NULL */
    char *tls_key_file;    /* its PEM private key */
    char *prefix;          /* key namespace, default "ses-milter" */
    long timeout_ms;       /* per operation, default 100 */
    long pool;             /* connections, default 8 */
    char *password;        /* read from password_file at parse time */
    char *tls_ca_pem, *tls_cert_pem, *tls_key_pem; /* the files' contents, read at parse time */
} state_conf;

typedef enum state_result {
    STATE_FOUND = 0,
    STATE_NOT_FOUND = 1,
    STATE_ERROR = 2, /* backend unavailable: ask the sources */
} state_result;

/* state_conf_parse - the state group (NULL: no backend); 0, or -1 with "file:line: reason" */
int state_conf_parse(const config_setting_t *group, state_conf **out, char *err, size_t errlen);
/* state_conf_dump - effective settings for "ses-milter -n" (the password never) */
void state_conf_dump(FILE *fp, const state_conf *sc);
/* state_conf_sig - the settings as one line (for the cache signature), password excluded */
void state_conf_sig(FILE *fp, const state_conf *sc);
/* state_conf_free - returns NULL */
state_conf *state_conf_free(state_conf *sc);

/* state_new - a backend for sc (NULL when sc has none); connects lazily */
sm_state *state_new(const state_conf *sc);
/* state_free - close every connection; returns NULL */
sm_state *state_free(sm_state *st);

/* state_id_get - a shared identity answer with its attributes and remaining TTL */
state_result state_id_get(sm_state *st, const char *instance, const char *identity, sm_id_kind kind,
                          uint64_t deadline_ms, sm_id_answer *answer_r, sm_id_attrs *attrs_r,
                          uint64_t *ttl_ms_r);
/* state_id_put - share an answer (not TEMPFAIL) for ttl_ms; failures only change the state */
void state_id_put(sm_state *st, const char *instance, const char *identity, sm_id_kind kind,
                  sm_id_answer answer, const sm_id_attrs *attrs, uint64_t ttl_ms,
                  uint64_t deadline_ms);
/*
 * state_id_lock - try to become the one host asking the sources for this
 * identity for hold_ms: STATE_FOUND = this host holds it, STATE_NOT_FOUND =
 * another host does, STATE_ERROR = no backend.  state_id_unlock releases a
 * lock this host holds (not one that expired and was taken by another).
 */
state_result state_id_lock(sm_state *st, const char *instance, const char *identity,
                           sm_id_kind kind, uint64_t hold_ms, uint64_t deadline_ms);
void state_id_unlock(sm_state *st, const char *instance, const char *identity, sm_id_kind kind,
                     uint64_t deadline_ms);
/*
 * state_budget_take - one request from the fleet's budget of per_second
 * requests in the current second of bucket (the backend's clock):
 * STATE_FOUND = granted, STATE_NOT_FOUND = spent (*wait_ms_r: until the
 * next second), STATE_ERROR = no backend (the caller's local limit only).
 */
state_result state_budget_take(sm_state *st, const char *bucket, unsigned per_second,
                               uint64_t deadline_ms, unsigned *wait_ms_r);
/*
 * state_kv_get - a plugin's shared answer of kind about subject (the key
 * holds a SHA-256 of subject, never subject): STATE_FOUND with the value in
 * val (NUL-terminated; one longer than vallen is STATE_NOT_FOUND) and its
 * remaining TTL, STATE_NOT_FOUND, or STATE_ERROR (no backend now)
 */
state_result state_kv_get(sm_state *st, const char *instance, const char *kind, const char *subject,
                          uint64_t deadline_ms, char *val, size_t vallen, uint64_t *ttl_ms_r);
/* state_kv_put - share value for ttl_ms; failures only change the state */
void state_kv_put(sm_state *st, const char *instance, const char *kind, const char *subject,
                  const char *value, uint64_t ttl_ms, uint64_t deadline_ms);
/*
 * state_count_take - n more in the fleet's counter name, counted in windows
 * of window_s seconds of the backend's clock (each expires after the span),
 * when the last span windows (the current one included) hold no more than
 * limit with them: STATE_FOUND = counted, *total_r the span's total with n;
 * STATE_NOT_FOUND = over limit, not counted, *total_r the total without n;
 * STATE_ERROR = no backend now (the caller's local count alone decides).
 * first_free: n is counted when the span is still empty even above limit
 * (a message with more recipients than a second's rate).
 */
state_result state_count_take(sm_state *st, const char *name, unsigned window_s, unsigned span,
                              unsigned long n, unsigned long limit, int first_free,
                              uint64_t deadline_ms, unsigned long *total_r);
/* state_backend_available - this build has the named backend (and TLS when tls) */
int state_backend_available(const char *backend, int tls, char *why, size_t whylen);
/*
 * state_tls_check - the TLS settings of sc (files already read) make a
 * usable client context; 0, or -1 with why and *setting_r = the setting to
 * blame ("tls_ca_file", ...)
 */
int state_tls_check(const state_conf *sc, const char **setting_r, char *why, size_t whylen);

#endif
