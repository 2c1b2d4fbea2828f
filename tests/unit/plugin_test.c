/*
 * plugin_test.c - a scripted identity source for tests (never installed)
 *
 * Configuration:
 *   { name = "t"; plugin = "plugin_test";
 *     answers = "user@example.com=verified example.com=not_verified x.example=tempfail";
 *     default = "unknown";         # answer for identities not in answers
 *     delay_ms = 0;                # sleep before answering (bounded by the deadline)
 *     fail_file = "/tmp/x/outage"; # while this file exists, every lookup tempfails
 *     warm = "a@b.example=verified";  # pushed with host->cache_put() in start()
 *     fail_init = false;
 *     close_wait_file = "/tmp/x/go"; }  # close() of a started instance logs
 *                                  # "test source closing", waits
 *                                  # (at most 10 s) until this file exists, then
 *                                  # logs "test source closed"
 * Answers are verified, not_verified, unknown, tempfail.  Identities are
 * compared exactly (the host normalises them).  plugin_test_calls() counts
 * lookups over all instances (tests read it with dlsym).
 *
 * Built three more times with -D switches to give the loader bad
 * descriptors: PLUGIN_TEST_BAD_ABI, PLUGIN_TEST_SMALL, PLUGIN_TEST_NO_SYMBOL.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <ses-milter/plugin.h>

typedef struct pt_inst {
    const sm_plugin_host *host;
    char *answers, *fail_file, *warm, *close_wait_file;
    int started; /* start() ran: an instance the privileged helper loads never starts */
    sm_id_answer def;
    long delay_ms;
} pt_inst;

static unsigned long pt_calls;

unsigned long plugin_test_calls(void);

/* plugin_test_calls - lookups so far (all instances) */
unsigned long
plugin_test_calls(void)
{
    return __atomic_load_n(&pt_calls, __ATOMIC_SEQ_CST);
}

static sm_id_answer
pt_parse_answer(const char *s, size_t len)
{
    if (len == 8 && strncmp(s, "verified", len) == 0)
        return SM_ID_VERIFIED;
    if (len == 12 && strncmp(s, "not_verified", len) == 0)
        return SM_ID_NOT_VERIFIED;
    if (len == 8 && strncmp(s, "tempfail", len) == 0)
        return SM_ID_TEMPFAIL;
    if (len == 7 && strncmp(s, "unknown", len) == 0)
        return SM_ID_UNKNOWN;
    return 0;
}

/* pt_find - answer for identity in a "id=answer id=answer" script, 0 when absent */
static sm_id_answer
pt_find(const char *script, const char *identity)
{
    size_t idl = strlen(identity);
    const char *p = script;

    while (p != NULL && *p) {
        const char *end;
        while (*p == ' ' || *p == ',')
            p++;
        end = p + strcspn(p, " ,");
        if ((size_t)(end - p) > idl && strncmp(p, identity, idl) == 0 && p[idl] == '=')
            return pt_parse_answer(p + idl + 1, (size_t)(end - p - (long)idl - 1));
        p = end;
    }
    return 0;
}

static int
pt_init(const sm_plugin_host *host, void **instance_r, char *err, size_t errlen)
{
    static const char *const known[] = {"answers", "default",   "delay_ms",        "fail_file",
                                        "warm",    "fail_init", "close_wait_file", NULL};
    const char *answers, *def, *fail_file, *warm, *close_wait_file;
    long delay;
    int fail_init;
    pt_inst *pi;

    if (host->conf_check(host->ctx, known, err, errlen) < 0 ||
        host->conf_string(host->ctx, "answers", "", &answers, err, errlen) < 0 ||
        host->conf_string(host->ctx, "default", "unknown", &def, err, errlen) < 0 ||
        host->conf_string(host->ctx, "fail_file", "", &fail_file, err, errlen) < 0 ||
        host->conf_string(host->ctx, "warm", "", &warm, err, errlen) < 0 ||
        host->conf_string(host->ctx, "close_wait_file", "", &close_wait_file, err, errlen) < 0 ||
        host->conf_int(host->ctx, "delay_ms", 0, 0, 60000, &delay, err, errlen) < 0 ||
        host->conf_bool(host->ctx, "fail_init", 0, &fail_init, err, errlen) < 0)
        return -1;
    if (fail_init) {
        snprintf(err, errlen, "fail_init is set");
        return -1;
    }
    if (pt_parse_answer(def, strlen(def)) == 0) {
        char where[256];
        snprintf(err, errlen, "%s: bad default answer",
                 host->conf_where(host->ctx, "default", where, sizeof(where)));
        return -1;
    }
    pi = calloc(1, sizeof(*pi));
    pi->host = host;
    pi->answers = strdup(answers);
    pi->fail_file = strdup(fail_file);
    pi->warm = strdup(warm);
    pi->close_wait_file = strdup(close_wait_file);
    pi->def = pt_parse_answer(def, strlen(def));
    pi->delay_ms = delay;
    host->log(host->ctx, LOG_DEBUG, NULL, "test source ready\n(second line)");
    *instance_r = pi;
    return 0;
}

/* pt_start - push the warm list into the host cache */
static int
pt_start(void *instance, char *err, size_t errlen)
{
    pt_inst *pi = instance;
    char *copy = strdup(pi->warm), *save = NULL;

    pi->started = 1;
    (void)err;
    (void)errlen;
    for (char *t = strtok_r(copy, " ,", &save); t; t = strtok_r(NULL, " ,", &save)) {
        char *eq = strrchr(t, '=');
        sm_id_attrs attrs;
        if (eq == NULL)
            continue;
        *eq = '\0';
        memset(&attrs, 0, sizeof(attrs));
        attrs.size = sizeof(attrs);
        snprintf(attrs.detail, sizeof(attrs.detail), "warm");
        pi->host->cache_put(pi->host->ctx, t, strchr(t, '@') ? SM_IDKIND_ADDRESS : SM_IDKIND_DOMAIN,
                            pt_parse_answer(eq + 1, strlen(eq + 1)), &attrs);
    }
    free(copy);
    return 0;
}

static sm_id_answer
pt_lookup(void *instance, const sm_id_query *q, sm_id_attrs *attrs)
{
    pt_inst *pi = instance;
    sm_id_answer a;

    __atomic_add_fetch(&pt_calls, 1, __ATOMIC_SEQ_CST);
    if (pi->delay_ms > 0) {
        struct timespec now, ts;
        uint64_t now_ms, until;
        clock_gettime(CLOCK_MONOTONIC, &now);
        now_ms = (uint64_t)now.tv_sec * 1000u + (uint64_t)now.tv_nsec / 1000000u;
        until = now_ms + (uint64_t)pi->delay_ms;
        if (q->deadline_ms < until)
            until = q->deadline_ms > now_ms ? q->deadline_ms : now_ms;
        ts.tv_sec = (time_t)((until - now_ms) / 1000u);
        ts.tv_nsec = (long)((until - now_ms) % 1000u) * 1000000L;
        nanosleep(&ts, NULL);
        if (until < now_ms + (uint64_t)pi->delay_ms)
            return SM_ID_TEMPFAIL; /* the deadline came first */
    }
    if (*pi->fail_file && access(pi->fail_file, F_OK) == 0) {
        snprintf(attrs->detail, sizeof(attrs->detail), "outage: %s exists", pi->fail_file);
        return SM_ID_TEMPFAIL;
    }
    a = pt_find(pi->answers, q->identity);
    if (a == 0)
        a = pi->def;
    snprintf(attrs->detail, sizeof(attrs->detail), "scripted %s", q->identity);
    snprintf(attrs->identity, sizeof(attrs->identity), "%s", q->identity);
    return a;
}

static void
pt_close(void *instance)
{
    pt_inst *pi = instance;

    if (*pi->close_wait_file && pi->started) {
        pi->host->log(pi->host->ctx, LOG_NOTICE, NULL, "test source closing");
        for (int i = 0; i < 1000 && access(pi->close_wait_file, F_OK) != 0; i++)
            usleep(10000);
        pi->host->log(pi->host->ctx, LOG_NOTICE, NULL, "test source closed");
    }
    free(pi->close_wait_file);
    free(pi->answers);
    free(pi->fail_file);
    free(pi->warm);
    free(pi);
}

#ifdef PLUGIN_TEST_NO_SYMBOL
#define PT_SYMBOL not_the_plugin_symbol /* a plugin under the wrong name */
#else
#define PT_SYMBOL ses_milter_plugin
#endif
extern const sm_plugin PT_SYMBOL;
const sm_plugin PT_SYMBOL = {
#ifdef PLUGIN_TEST_BAD_ABI
    .abi_version = SM_PLUGIN_ABI_VERSION + 1,
#else
    .abi_version = SM_PLUGIN_ABI_VERSION,
#endif
#ifdef PLUGIN_TEST_SMALL
    .size = sizeof(sm_plugin) - 8 * sizeof(void *),
#else
    .size = sizeof(sm_plugin),
#endif
#ifdef PLUGIN_TEST_NEWER_MINOR
    .abi_minor = SM_PLUGIN_ABI_MINOR + 1, /* built for a host newer than ours */
    .name = "plugin_newer",
#else
    .abi_minor = SM_PLUGIN_ABI_MINOR,
    .name = "plugin_test",
#endif
    .version = "0",
    .init = pt_init,
    .start = pt_start,
    .lookup = pt_lookup,
    .close = pt_close,
    .dump = NULL,
};
