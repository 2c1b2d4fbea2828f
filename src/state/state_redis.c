/*
 * state_redis.c - the shared state backend on Redis (hiredis)
 *
 * Purpose: implement state.h on one Redis server (or a proxy in front of
 * several).  A small pool of blocking hiredis connections, each with its
 * own mutex; a thread takes a free one, or waits for one no longer than
 * its operation's timeout.  Every operation's timeout is min(timeout_ms,
 * time left to the caller's deadline); a connection that timed out or
 * failed is closed (hiredis leaves it unusable) and opened again at its
 * next use.
 *
 * Health: one state for the whole backend.  The first failure marks it
 * down (logged once, with the reason) and starts a backoff (100 ms,
 * doubling up to 5 s) during which no operation touches Redis: callers get
 * STATE_ERROR at once and ask their sources.  The first success after
 * that is logged once as "back".
 *
 * Values: an answer is "v1" and its fields, tab-separated (tabs and line
 * ends in a field become spaces), set with PX = its TTL; a read fetches it
 * with its PTTL in one round trip.  The budget is a Lua script on the
 * server's own clock (TIME), so the hosts' clocks need not agree.
 *
 * Sentinel (sentinels, master_name): each new connection asks the
 * sentinels for the master's address first (state_redis_sentinel.c).
 *
 * TLS (tls = true): state_redis_tls.c connects, verifies the server and
 * gives hiredis a plain local socket carried through TLS; the rest of this
 * file is the same for both.
 *
 * Security: the password is sent in AUTH only and never logged.
 */
#include "config.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "state/state.h"
#include "state/state_redis.h"
#include "state/state_unsub.h"
#include "lib/util.h"

#define STATE_REDIS_BACKOFF_MIN 100
#define STATE_REDIS_BACKOFF_MAX 5000
#define STATE_REDIS_MIN_OP_MS 2 /* less time left than this: do not start an operation */
#define STATE_KV_MAX 1024       /* longest value a plugin shares (plugin.h shared_put) */

typedef struct state_slot {
    pthread_mutex_t lock;
    redisContext *c;
    int fresh; /* connected for this operation: a failure is not a stale connection */
} state_slot;

struct sm_state {
    char *host; /* NULL for a unix socket */
    int port;
    char *path;
    char *address;    /* as configured, for log lines */
    char **sentinels; /* the master's address from these (state_redis_sentinel.c), or NULL */
    size_t nsentinels;
    char *master_name;
    char *user, *password, *prefix;
    char *role; /* what the users do while Redis is down (state_set_role), NULL: identity's */
    state_redis_tls *tls; /* NULL: plaintext */
    long timeout_ms;
    size_t nslots;
    state_slot *slots;
    unsigned next_slot;
    pthread_mutex_t health;
    int down;
    unsigned backoff_ms;
    uint64_t next_try_ms;
    unsigned long lock_seq;
};

/* the fleet's budget: INCR the counter of the server's current second */
static const char state_redis_budget_lua[] = "local t = redis.call('TIME') "
                                             "local k = KEYS[1] .. ':' .. t[1] "
                                             "local n = redis.call('INCR', k) "
                                             "if n == 1 then redis.call('PEXPIRE', k, 2000) end "
                                             "return {n, 1000 - math.floor(tonumber(t[2]) / 1000)}";
/*
 * the fleet's send counters: the last ARGV[2] windows of ARGV[1] seconds
 * (server clock), ARGV[3] more when they fit ARGV[4] (ARGV[5] = 1: or the
 * span is empty); {counted, total}
 */
static const char state_redis_count_lua[] =
    "local t = redis.call('TIME') "
    "local w, span = tonumber(ARGV[1]), tonumber(ARGV[2]) "
    "local n, lim = tonumber(ARGV[3]), tonumber(ARGV[4]) "
    "local slot = math.floor(tonumber(t[1]) / w) "
    "local total = 0 "
    "for i = 0, span - 1 do "
    "  total = total + tonumber(redis.call('GET', KEYS[1] .. ':' .. (slot - i)) or '0') "
    "end "
    "if total + n > lim and not (ARGV[5] == '1' and total == 0) then return {0, total} end "
    "local k = KEYS[1] .. ':' .. slot "
    "redis.call('INCRBY', k, n) "
    "redis.call('PEXPIRE', k, w * span * 1000 + 1000) "
    "return {1, total + n}";
/* release a lock only when it is still this host's */
static const char state_redis_unlock_lua[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end "
    "return 0";

int
state_backend_available(const char *backend, int tls, char *why, size_t whylen)
{
    if (strcmp(backend, "redis") != 0)
        return util_errf(why, whylen, "backend '%s': the only backend is \"redis\"", backend);
    if (tls && !state_redis_tls_available())
        return util_errf(why, whylen, "tls: this build has no TLS to Redis");
    return 0;
}

sm_state *
state_new(const state_conf *sc)
{
    sm_state *st;

    if (sc == NULL || !sc->present)
        return NULL;
    st = xcalloc(1, sizeof(*st));
    st->address = sc->sentinels.n > 0 ? xasprintf("master '%s' (Sentinel)", sc->master_name)
                                      : xstrdup(sc->address);
    if (sc->sentinels.n > 0) {
        st->nsentinels = sc->sentinels.n;
        st->sentinels = xcalloc(st->nsentinels, sizeof(*st->sentinels));
        for (size_t i = 0; i < st->nsentinels; i++)
            st->sentinels[i] = xstrdup(sc->sentinels.v[i]);
        st->master_name = xstrdup(sc->master_name);
    }
    if (strncmp(sc->address, "unix:", 5) == 0) {
        st->path = xstrdup(sc->address + 5);
    } else {
        const char *colon = strrchr(sc->address, ':');
        const char *h = sc->address;
        size_t hl = (size_t)(colon - h);
        if (h[0] == '[') {
            h++;
            hl -= 2;
        }
        st->host = xstrndup(h, hl);
        st->port = atoi(colon + 1);
    }
    st->user = sc->user ? xstrdup(sc->user) : NULL;
    st->password = sc->password ? xstrdup(sc->password) : NULL;
    st->prefix = xstrdup(sc->prefix);
    st->tls = sc->tls ? state_redis_tls_new(sc) : NULL;
    st->timeout_ms = sc->timeout_ms;
    st->nslots = (size_t)sc->pool;
    st->slots = xcalloc(st->nslots, sizeof(*st->slots));
    for (size_t i = 0; i < st->nslots; i++)
        pthread_mutex_init(&st->slots[i].lock, NULL);
    pthread_mutex_init(&st->health, NULL);
    return st;
}

sm_state *
state_free(sm_state *st)
{
    if (st == NULL)
        return NULL;
    for (size_t i = 0; i < st->nslots; i++) {
        if (st->slots[i].c != NULL)
            redisFree(st->slots[i].c);
        pthread_mutex_destroy(&st->slots[i].lock);
    }
    free(st->slots);
    pthread_mutex_destroy(&st->health);
    state_redis_tls_free(st->tls);
    if (st->password != NULL) {
        explicit_bzero(st->password, strlen(st->password));
        free(st->password);
    }
    for (size_t i = 0; i < st->nsentinels; i++)
        free(st->sentinels[i]);
    free(st->sentinels);
    free(st->master_name);
    free(st->host);
    free(st->path);
    free(st->address);
    free(st->user);
    free(st->prefix);
    free(st->role);
    free(st);
    return NULL;
}

/* state_redis_fail - an operation failed: down (logged once), back off */
static void
state_redis_fail(sm_state *st, const char *why)
{
    pthread_mutex_lock(&st->health);
    if (!st->down)
        log_msg(LOG_WARNING, NULL, "state: Redis %s down: %s; %s until it is back", st->address,
                why,
                st->role != NULL
                    ? st->role
                    : "identity and suppression answers come from the local cache and the "
                      "sources, send quotas from this host's estimate,");
    st->down = 1;
    st->backoff_ms = st->backoff_ms == 0                            ? STATE_REDIS_BACKOFF_MIN
                     : st->backoff_ms * 2 > STATE_REDIS_BACKOFF_MAX ? STATE_REDIS_BACKOFF_MAX
                                                                    : st->backoff_ms * 2;
    st->next_try_ms = util_now_ms() + st->backoff_ms;
    pthread_mutex_unlock(&st->health);
}

/* state_redis_ok - an operation succeeded: back (logged once) */
static void
state_redis_ok(sm_state *st)
{
    pthread_mutex_lock(&st->health);
    if (st->down)
        log_msg(LOG_NOTICE, NULL, "state: Redis %s back", st->address);
    st->down = 0;
    st->backoff_ms = 0;
    pthread_mutex_unlock(&st->health);
}

/* state_redis_tv - a timeval of ms */
static struct timeval
state_redis_tv(uint64_t ms)
{
    struct timeval tv;

    tv.tv_sec = (time_t)(ms / 1000u);
    tv.tv_usec = (suseconds_t)(ms % 1000u) * 1000;
    return tv;
}

/* state_redis_connect - a new connection, authenticated; NULL with why */
static redisContext *
state_redis_connect(sm_state *st, uint64_t tmo, char *why, size_t whylen)
{
    redisContext *c;
    redisReply *r;
    const char *host = st->host;
    int port = st->port;
    char mhost[256];

    if (st->nsentinels > 0) { /* the master's address first, within the same tmo */
        uint64_t until = util_now_ms() + tmo, now;
        if (state_redis_sentinel_master(st->sentinels, st->nsentinels, st->master_name, st->tls,
                                        until, mhost, sizeof(mhost), &port, why, whylen) < 0)
            return NULL;
        if ((now = util_now_ms()) + 1 >= until) {
            util_errf(why, whylen, "connect: timed out after asking the sentinels");
            return NULL;
        }
        host = mhost;
        tmo = until - now;
    }
    if (st->tls != NULL) {
        if ((c = state_redis_tls_connect(st->tls, host, port, tmo, why, whylen)) == NULL)
            return NULL;
    } else if (st->path != NULL) {
        c = redisConnectUnixWithTimeout(st->path, state_redis_tv(tmo));
    } else {
        c = redisConnectWithTimeout(host, port, state_redis_tv(tmo));
    }
    if (c == NULL) {
        util_errf(why, whylen, "connect: out of memory");
        return NULL;
    }
    if (c->err) {
        util_errf(why, whylen, "connect: %s", c->errstr);
        redisFree(c);
        return NULL;
    }
    redisSetTimeout(c, state_redis_tv(tmo));
    if (st->password == NULL)
        return c;
    r = st->user != NULL ? redisCommand(c, "AUTH %s %s", st->user, st->password)
                         : redisCommand(c, "AUTH %s", st->password);
    if (r == NULL || r->type == REDIS_REPLY_ERROR) {
        util_errf(why, whylen, "AUTH%s%s: %s", st->user ? " as " : "", st->user ? st->user : "",
                  r != NULL ? r->str : c->errstr);
        if (r != NULL)
            freeReplyObject(r);
        redisFree(c);
        return NULL;
    }
    freeReplyObject(r);
    return c;
}

/* state_redis_acquire - a connected slot for an operation until deadline; NULL: STATE_ERROR */
static state_slot *
state_redis_acquire(sm_state *st, uint64_t deadline_ms)
{
    uint64_t now = util_now_ms(), tmo;
    unsigned start;
    state_slot *s = NULL;
    char why[256];
    struct timespec ts;

    if (deadline_ms <= now + STATE_REDIS_MIN_OP_MS)
        return NULL;
    tmo =
        deadline_ms - now < (uint64_t)st->timeout_ms ? deadline_ms - now : (uint64_t)st->timeout_ms;
    pthread_mutex_lock(&st->health);
    if (st->down && now < st->next_try_ms) {
        pthread_mutex_unlock(&st->health);
        return NULL;
    }
    start = st->next_slot++;
    pthread_mutex_unlock(&st->health);
    for (size_t i = 0; i < st->nslots && s == NULL; i++)
        if (pthread_mutex_trylock(&st->slots[(start + i) % st->nslots].lock) == 0)
            s = &st->slots[(start + i) % st->nslots];
    if (s == NULL) {
        uint64_t until = util_wall_ms() + tmo;
        ts.tv_sec = (time_t)(until / 1000u);
        ts.tv_nsec = (long)(until % 1000u) * 1000000L;
        s = &st->slots[start % st->nslots];
        if (pthread_mutex_timedlock(&s->lock, &ts) != 0)
            return NULL; /* every connection busy: no opinion, not a failure of Redis */
    }
    if (s->c == NULL) {
        if ((s->c = state_redis_connect(st, tmo, why, sizeof(why))) == NULL) {
            pthread_mutex_unlock(&s->lock);
            state_redis_fail(st, why);
            return NULL;
        }
        s->fresh = 1;
    }
    redisSetTimeout(s->c, state_redis_tv(tmo));
    return s;
}

/* state_redis_release - after an operation: ok, or close the connection and mark down */
static void
state_redis_release(sm_state *st, state_slot *s, int failed, const char *why)
{
    char buf[256];

    if (failed) {
        util_strlcpy(buf, why != NULL ? why : s->c->err ? s->c->errstr : "error", sizeof(buf));
        redisFree(s->c);
        s->c = NULL;
    }
    pthread_mutex_unlock(&s->lock);
    if (failed)
        state_redis_fail(st, buf);
    else
        state_redis_ok(st);
}

void
state_set_role(sm_state *st, const char *role)
{
    if (st == NULL)
        return;
    free(st->role);
    st->role = role != NULL ? xstrdup(role) : NULL;
}

const char *
state_redis_prefix(const sm_state *st)
{
    return st->prefix;
}

/* state_redis_key - PREFIX:v1:WHAT:INSTANCE:a|d:IDENTITY (allocated) */
static char *
state_redis_key(const sm_state *st, const char *what, const char *instance, const char *identity,
                sm_id_kind kind)
{
    return xasprintf("%s:v1:%s:%s:%c:%s", st->prefix, what, instance,
                     kind == SM_IDKIND_ADDRESS ? 'a' : 'd', identity);
}

/* state_redis_field - append one field, tabs and line ends replaced */
static void
state_redis_field(char *out, size_t outlen, size_t *pos, const char *v)
{
    for (; *v != '\0' && *pos + 2 < outlen; v++)
        out[(*pos)++] = (*v == '\t' || *v == '\r' || *v == '\n') ? ' ' : *v;
    out[(*pos)++] = '\t';
    out[*pos] = '\0';
}

/* state_redis_encode - "v1\tANSWER\t..." for a */
static size_t
state_redis_encode(sm_id_answer answer, const sm_id_attrs *a, char *out, size_t outlen)
{
    char num[32];
    size_t pos = 0;

    out[0] = '\0';
    state_redis_field(out, outlen, &pos, "v1");
    snprintf(num, sizeof(num), "%d", (int)answer);
    state_redis_field(out, outlen, &pos, num);
    snprintf(num, sizeof(num), "%d", (int)a->identity_type);
    state_redis_field(out, outlen, &pos, num);
    state_redis_field(out, outlen, &pos, a->identity);
    snprintf(num, sizeof(num), "%d", a->dkim_signing_enabled);
    state_redis_field(out, outlen, &pos, num);
    state_redis_field(out, outlen, &pos, a->dkim_status);
    state_redis_field(out, outlen, &pos, a->dkim_origin);
    state_redis_field(out, outlen, &pos, a->mail_from_domain);
    state_redis_field(out, outlen, &pos, a->mail_from_status);
    state_redis_field(out, outlen, &pos, a->mail_from_behavior);
    state_redis_field(out, outlen, &pos, a->region);
    state_redis_field(out, outlen, &pos, a->detail);
    return pos;
}

/* state_redis_decode - the fields of a value; -1 for one this version does not read */
static int
state_redis_decode(const char *v, size_t len, sm_id_answer *answer_r, sm_id_attrs *a)
{
    char *copy = xstrndup(v, len), *f[12];
    size_t n = 0;
    int ans;

    for (char *p = copy; n < 12 && p != NULL; n++) {
        f[n] = p;
        p = strchr(p, '\t');
        if (p != NULL)
            *p++ = '\0';
    }
    ans = n == 12 ? atoi(f[1]) : 0;
    if (n != 12 || strcmp(f[0], "v1") != 0 ||
        (ans != SM_ID_VERIFIED && ans != SM_ID_NOT_VERIFIED && ans != SM_ID_UNKNOWN)) {
        free(copy);
        return -1;
    }
    *answer_r = (sm_id_answer)ans;
    a->identity_type = (sm_id_type)atoi(f[2]);
    util_strlcpy(a->identity, f[3], sizeof(a->identity));
    a->dkim_signing_enabled = atoi(f[4]);
    util_strlcpy(a->dkim_status, f[5], sizeof(a->dkim_status));
    util_strlcpy(a->dkim_origin, f[6], sizeof(a->dkim_origin));
    util_strlcpy(a->mail_from_domain, f[7], sizeof(a->mail_from_domain));
    util_strlcpy(a->mail_from_status, f[8], sizeof(a->mail_from_status));
    util_strlcpy(a->mail_from_behavior, f[9], sizeof(a->mail_from_behavior));
    util_strlcpy(a->region, f[10], sizeof(a->region));
    util_strlcpy(a->detail, f[11], sizeof(a->detail));
    free(copy);
    return 0;
}

/*
 * state_redis_exec - send n formatted commands in one round trip and read
 * their n replies (the caller frees them); 0, or -1 (the failure went to the
 * health state).  A connection Redis closed since its last use (a restart
 * closes every pooled one) is replaced at once and the commands sent again.
 */
static int
state_redis_exec(sm_state *st, uint64_t deadline_ms, char *const *cmd, const int *len, size_t n,
                 redisReply **rep)
{
    for (int attempt = 0;; attempt++) {
        state_slot *s;
        int ok = 1, e = 0, fresh;
        const char *why = NULL;
        size_t got = 0;

        if (st == NULL || (s = state_redis_acquire(st, deadline_ms)) == NULL)
            return -1;
        fresh = s->fresh;
        for (size_t i = 0; i < n; i++)
            redisAppendFormattedCommand(s->c, cmd[i], (size_t)len[i]);
        for (; got < n; got++) {
            rep[got] = NULL;
            if (redisGetReply(s->c, (void **)&rep[got]) != REDIS_OK || rep[got] == NULL) {
                e = errno;
                ok = 0;
                break;
            }
            if (rep[got]->type == REDIS_REPLY_ERROR && ok) {
                ok = 0;
                why = rep[got]->str;
            }
        }
        if (!ok && why == NULL && !fresh && attempt < (int)st->nslots &&
            (s->c->err == REDIS_ERR_EOF ||
             (s->c->err == REDIS_ERR_IO && e != EAGAIN && e != EWOULDBLOCK))) {
            for (size_t i = 0; i < got; i++)
                freeReplyObject(rep[i]);
            redisFree(s->c); /* closed by Redis since its last use: again, on a new one */
            s->c = NULL;
            pthread_mutex_unlock(&s->lock);
            continue;
        }
        s->fresh = 0;
        state_redis_release(st, s, !ok, why);
        if (ok)
            return 0;
        for (size_t i = 0; i < got && i < n; i++)
            if (rep[i] != NULL)
                freeReplyObject(rep[i]);
        return -1;
    }
}

state_result
state_id_get(sm_state *st, const char *instance, const char *identity, sm_id_kind kind,
             uint64_t deadline_ms, sm_id_answer *answer_r, sm_id_attrs *attrs_r, uint64_t *ttl_ms_r)
{
    redisReply *rep[2];
    char *cmd[2], *key;
    int len[2];
    state_result res = STATE_ERROR;

    if (st == NULL)
        return STATE_ERROR;
    key = state_redis_key(st, "id", instance, identity, kind);
    len[0] = redisFormatCommand(&cmd[0], "GET %s", key);
    len[1] = redisFormatCommand(&cmd[1], "PTTL %s", key);
    if (len[0] > 0 && len[1] > 0 && state_redis_exec(st, deadline_ms, cmd, len, 2, rep) == 0) {
        if (rep[0]->type == REDIS_REPLY_STRING && rep[1]->type == REDIS_REPLY_INTEGER &&
            rep[1]->integer > 0 &&
            state_redis_decode(rep[0]->str, rep[0]->len, answer_r, attrs_r) == 0) {
            *ttl_ms_r = (uint64_t)rep[1]->integer;
            res = STATE_FOUND;
        } else {
            res = STATE_NOT_FOUND; /* none, another version's value, or expiring now */
        }
        freeReplyObject(rep[0]);
        freeReplyObject(rep[1]);
    }
    for (int i = 0; i < 2; i++)
        if (len[i] > 0)
            redisFreeCommand(cmd[i]);
    free(key);
    return res;
}

redisReply *
state_redis_command(sm_state *st, uint64_t deadline_ms, const char *fmt, ...)
{
    redisReply *r = NULL;
    char *cmd = NULL;
    va_list ap;
    int len;

    if (st == NULL)
        return NULL;
    va_start(ap, fmt);
    len = redisvFormatCommand(&cmd, fmt, ap);
    va_end(ap);
    if (len <= 0)
        return NULL;
    if (state_redis_exec(st, deadline_ms, &cmd, &len, 1, &r) < 0)
        r = NULL;
    redisFreeCommand(cmd);
    return r;
}

void
state_id_put(sm_state *st, const char *instance, const char *identity, sm_id_kind kind,
             sm_id_answer answer, const sm_id_attrs *attrs, uint64_t ttl_ms, uint64_t deadline_ms)
{
    char val[2048], *key;
    size_t len;
    redisReply *r;

    if (st == NULL || ttl_ms == 0 || answer == SM_ID_TEMPFAIL)
        return;
    len = state_redis_encode(answer, attrs, val, sizeof(val));
    key = state_redis_key(st, "id", instance, identity, kind);
    r = state_redis_command(st, deadline_ms, "SET %s %b PX %llu", key, val, len,
                            (unsigned long long)ttl_ms);
    if (r != NULL)
        freeReplyObject(r);
    free(key);
}

/* state_redis_lock_token - what this host writes into a lock it takes */
static void
state_redis_lock_token(char *buf, size_t len)
{
    char host[128];

    if (gethostname(host, sizeof(host)) < 0)
        util_strlcpy(host, "?", sizeof(host));
    host[sizeof(host) - 1] = '\0';
    snprintf(buf, len, "%s-%ld-%lx", host, (long)getpid(), (unsigned long)pthread_self());
}

state_result
state_id_lock(sm_state *st, const char *instance, const char *identity, sm_id_kind kind,
              uint64_t hold_ms, uint64_t deadline_ms)
{
    char tok[192], *key;
    redisReply *r;
    state_result res = STATE_ERROR;

    if (st == NULL)
        return STATE_ERROR;
    state_redis_lock_token(tok, sizeof(tok));
    key = state_redis_key(st, "lock", instance, identity, kind);
    r = state_redis_command(st, deadline_ms, "SET %s %s NX PX %llu", key, tok,
                            (unsigned long long)(hold_ms > 0 ? hold_ms : 1));
    if (r != NULL) {
        res = r->type == REDIS_REPLY_STATUS ? STATE_FOUND : STATE_NOT_FOUND;
        freeReplyObject(r);
    }
    free(key);
    return res;
}

void
state_id_unlock(sm_state *st, const char *instance, const char *identity, sm_id_kind kind,
                uint64_t deadline_ms)
{
    char tok[192], *key;
    redisReply *r;

    if (st == NULL)
        return;
    state_redis_lock_token(tok, sizeof(tok));
    key = state_redis_key(st, "lock", instance, identity, kind);
    r = state_redis_command(st, deadline_ms, "EVAL %s 1 %s %s", state_redis_unlock_lua, key, tok);
    if (r != NULL)
        freeReplyObject(r);
    free(key);
}

state_result
state_budget_take(sm_state *st, const char *bucket, unsigned per_second, uint64_t deadline_ms,
                  unsigned *wait_ms_r)
{
    char *key;
    redisReply *r;
    state_result res = STATE_ERROR;

    if (st == NULL)
        return STATE_ERROR;
    key = xasprintf("%s:v1:budget:%s", st->prefix, bucket);
    r = state_redis_command(st, deadline_ms, "EVAL %s 1 %s", state_redis_budget_lua, key);
    if (r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
        r->element[0]->type == REDIS_REPLY_INTEGER && r->element[1]->type == REDIS_REPLY_INTEGER) {
        res = r->element[0]->integer <= (long long)per_second ? STATE_FOUND : STATE_NOT_FOUND;
        *wait_ms_r = (unsigned)(r->element[1]->integer > 0 ? r->element[1]->integer : 1);
    }
    if (r != NULL)
        freeReplyObject(r);
    free(key);
    return res;
}

/* state_redis_kv_key - PREFIX:v1:KIND:INSTANCE:SHA256(subject) (allocated); NULL for a bad kind */
static char *
state_redis_kv_key(const sm_state *st, const char *instance, const char *kind, const char *subject)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char hex[2 * EVP_MAX_MD_SIZE + 1];
    size_t kl = strlen(kind);

    if (kl == 0 || kl > 15 || strspn(kind, "abcdefghijklmnopqrstuvwxyz0123456789_") != kl ||
        EVP_Digest(subject, strlen(subject), md, &mdlen, EVP_sha256(), NULL) != 1)
        return NULL;
    for (unsigned int i = 0; i < mdlen; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    return xasprintf("%s:v1:%s:%s:%s", st->prefix, kind, instance, hex);
}

state_result
state_kv_get(sm_state *st, const char *instance, const char *kind, const char *subject,
             uint64_t deadline_ms, char *val, size_t vallen, uint64_t *ttl_ms_r)
{
    redisReply *rep[2];
    char *cmd[2], *key;
    int len[2];
    state_result res = STATE_ERROR;

    if (st == NULL || (key = state_redis_kv_key(st, instance, kind, subject)) == NULL)
        return STATE_ERROR;
    len[0] = redisFormatCommand(&cmd[0], "GET %s", key);
    len[1] = redisFormatCommand(&cmd[1], "PTTL %s", key);
    if (len[0] > 0 && len[1] > 0 && state_redis_exec(st, deadline_ms, cmd, len, 2, rep) == 0) {
        if (rep[0]->type == REDIS_REPLY_STRING && rep[1]->type == REDIS_REPLY_INTEGER &&
            rep[1]->integer > 0 && rep[0]->len < vallen &&
            memchr(rep[0]->str, 0, rep[0]->len) == NULL) {
            memcpy(val, rep[0]->str, rep[0]->len);
            val[rep[0]->len] = '\0';
            *ttl_ms_r = (uint64_t)rep[1]->integer;
            res = STATE_FOUND;
        } else {
            res = STATE_NOT_FOUND; /* none, too long, or expiring now */
        }
        freeReplyObject(rep[0]);
        freeReplyObject(rep[1]);
    }
    for (int i = 0; i < 2; i++)
        if (len[i] > 0)
            redisFreeCommand(cmd[i]);
    free(key);
    return res;
}

void
state_kv_put(sm_state *st, const char *instance, const char *kind, const char *subject,
             const char *value, uint64_t ttl_ms, uint64_t deadline_ms)
{
    char *key;
    redisReply *r;

    if (st == NULL || ttl_ms == 0 || value == NULL || strlen(value) > STATE_KV_MAX ||
        (key = state_redis_kv_key(st, instance, kind, subject)) == NULL)
        return;
    r = state_redis_command(st, deadline_ms, "SET %s %s PX %llu", key, value,
                            (unsigned long long)ttl_ms);
    if (r != NULL)
        freeReplyObject(r);
    free(key);
}

state_result
state_count_take(sm_state *st, const char *name, unsigned window_s, unsigned span, unsigned long n,
                 unsigned long limit, int first_free, uint64_t deadline_ms, unsigned long *total_r)
{
    char *key;
    redisReply *r;
    state_result res = STATE_ERROR;

    if (st == NULL || window_s == 0 || span == 0)
        return STATE_ERROR;
    key = xasprintf("%s:v1:count:%s:%u", st->prefix, name, window_s);
    r = state_redis_command(st, deadline_ms, "EVAL %s 1 %s %u %u %lu %lu %d", state_redis_count_lua,
                            key, window_s, span, n, limit, first_free ? 1 : 0);
    if (r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
        r->element[0]->type == REDIS_REPLY_INTEGER && r->element[1]->type == REDIS_REPLY_INTEGER) {
        res = r->element[0]->integer == 1 ? STATE_FOUND : STATE_NOT_FOUND;
        *total_r = r->element[1]->integer > 0 ? (unsigned long)r->element[1]->integer : 0;
    }
    if (r != NULL)
        freeReplyObject(r);
    free(key);
    return res;
}
