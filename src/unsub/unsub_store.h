/*
 * unsub_store.h - who unsubscribed from which list: the store behind the
 * one-click endpoint (writer) and the milter (reader)
 *
 * A store holds (list id, recipient, time) entries.  The endpoint adds one
 * per accepted POST; the milter asks whether a (list id, recipient) pair is
 * in it.  Recipients are compared case-insensitively (the whole address,
 * lower-cased: unsub_store_key), list ids exactly.
 *
 * Backends sit behind unsub_store_ops: the local file of one host
 * (unsub_store_file.c) and the fleet's Redis (unsub_store_redis.c, on the
 * "state" group's connection code, state/state_unsub.h).
 *
 * Synopsis:
 *     s = unsub_store_file_open(path, UNSUB_STORE_WRITER, 0, err, len);   the endpoint
 *     unsub_store_add(s, list, rcpt, now, &already, err, len);
 *     s = unsub_store_file_open(path, UNSUB_STORE_READER, 1000, err, len); the milter
 *     unsub_store_has(s, list, rcpt);                 1 yes, 0 no, -1 cannot tell
 *     s = unsub_store_redis_open(state_conf, UNSUB_STORE_READER, err, len);  a fleet
 *     unsub_store_has_by(s, list, rcpt, deadline_ms); the same, within a deadline
 *     s = unsub_store_free(s);
 */
#ifndef SM_UNSUB_STORE_H
#define SM_UNSUB_STORE_H

#include <stddef.h>
#include <stdint.h>

struct state_conf; /* state/state.h */

#define UNSUB_STORE_WRITER 1
#define UNSUB_STORE_READER 0

typedef struct unsub_store unsub_store;

typedef struct unsub_store_ops {
    const char *name;
    /* deadline_ms: absolute (util_now_ms), 0: the backend's own timeout only */
    int (*has)(unsub_store *s, const char *key, uint64_t deadline_ms);
    int (*add)(unsub_store *s, const char *key, const char *list_id, const char *rcpt, int64_t when,
               int *already_r, char *err, size_t errlen);
    void (*free)(unsub_store *s);
} unsub_store_ops;

/* a backend's state starts with this */
struct unsub_store {
    const unsub_store_ops *ops;
};

/* unsub_store_file_open - the local file backend (see unsub_store_file.c); NULL + err */
unsub_store *unsub_store_file_open(const char *path, int writer, long refresh_ms, char *err,
                                   size_t errlen);
/* unsub_store_redis_open - the Redis backend on sc (a "state" group); NULL + err */
unsub_store *unsub_store_redis_open(const struct state_conf *sc, int writer, char *err,
                                    size_t errlen);
/* unsub_store_has_by - unsub_store_has within deadline_ms (absolute, 0: none but the backend's) */
int unsub_store_has_by(unsub_store *s, const char *list_id, const char *rcpt, uint64_t deadline_ms);
/* unsub_store_has - 1: recipient unsubscribed from list_id; 0: not; -1: the store cannot tell */
int unsub_store_has(unsub_store *s, const char *list_id, const char *rcpt);
/* unsub_store_add - record the pair durably; *already_r 1 when it was there; 0, or -1 + err */
int unsub_store_add(unsub_store *s, const char *list_id, const char *rcpt, int64_t when,
                    int *already_r, char *err, size_t errlen);
/* unsub_store_free - close; returns NULL */
unsub_store *unsub_store_free(unsub_store *s);
/* unsub_store_key - "list_id TAB recipient-lower-cased" (new string), NULL when either field
 * is empty or holds a TAB, CR, LF or NUL */
char *unsub_store_key(const char *list_id, const char *rcpt);

#endif
