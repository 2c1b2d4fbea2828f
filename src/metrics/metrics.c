/*
 * metrics.c - the registry: fixed families of atomic cells, rendered as text
 *
 * Purpose: count what the daemon does for Prometheus.  Each family has up
 * to three label dimensions; each dimension's values are a fixed table
 * (scopes, actions, reasons, answers, cache results, stages, operations) or
 * the source slots (metrics_instance_slot: a source's configured name and its
 * plugin, registered when the source is loaded, at most METRICS_MAX_INSTANCES,
 * then "other"; labelled source and plugin, never "instance", which is the
 * scraped target's label in Prometheus).  A family's cells
 * sit in one static array of 64-bit counters, one cell per label
 * combination (a histogram: one per bucket, the +Inf bucket and the sum in
 * nanoseconds); the mail path adds with a relaxed atomic and takes no lock.
 * Counters count from the start of the process: a reload keeps them.
 *
 * Rendering: families without labels, or with one fixed dimension, show
 * every series (zeros included, so that rate() has a start); the others show
 * the series that have counted something.  A histogram's count is the sum of
 * its buckets as read, so it always equals its +Inf bucket.
 *
 * The "metrics" configuration group (listen address, enabled) is parsed here.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/cfg.h"
#include "lib/dns.h"
#include "metrics/metrics.h"
#include "lib/util.h"

#define METRICS_CELLS 4096
#define METRICS_NBUCKETS 14 /* finite buckets */

typedef enum metrics_type { METRICS_COUNTER, METRICS_HISTOGRAM } metrics_type;

typedef struct metrics_dim {
    const char *label;
    /* NULL: the source slots, labels source (its configured name) and plugin; not "instance",
     * which Prometheus gives the scraped target */
    const char *const *values;
    size_t n;
} metrics_dim;

typedef struct metrics_family {
    const char *name;
    const char *help;
    metrics_type type;
    const metrics_dim *dims[3];
    size_t ndims;
    size_t base; /* first cell (metrics_init) */
} metrics_family;

enum {
    METRICS_F_MESSAGES = 0,
    METRICS_F_GATE_ANSWERS,
    METRICS_F_LOOKUP_SECONDS,
    METRICS_F_STAGE_SECONDS,
    METRICS_F_API_CALLS,
    METRICS_F_API_THROTTLES,
    METRICS_F_API_ERRORS,
    METRICS_F_DNS_QUERIES,
    METRICS_F_DNS_ERRORS,
    METRICS_F_DNS_CACHE_HITS,
    METRICS_F_UNSUB,
    METRICS_F_AUDIT,
    METRICS_F_RELOADS,
    METRICS_F_MAX
};

#define METRICS_DIM(label, tab)                                                                    \
    {                                                                                              \
        label, tab, SM_ARRAY_LEN(tab)                                                              \
    }

/* indexed by metrics_scope / metrics_action */
static const char *const metrics_scopes[] = {"none", "authenticated", "internal_network",
                                             "local_submission", "external"};
static const char *const metrics_actions[] = {"none",       "accept", "reject",  "tempfail",
                                              "quarantine", "tag",    "discard", "aborted"};
static const char *const metrics_reasons[METRICS_REASON_MAX] = {"passed",
                                                                "out_of_scope",
                                                                "system_mail",
                                                                "identity_not_verified",
                                                                "identity_tempfail",
                                                                "identity_malformed",
                                                                "alignment_fail",
                                                                "alignment_tempfail",
                                                                "audit_unavailable",
                                                                "aborted"};
/* indexed by sm_id_answer (plugin.h), 0 = an answer out of range */
static const char *const metrics_answers[] = {"invalid", "verified", "not_verified", "unknown",
                                              "tempfail"};
/* indexed by metrics_origin */
static const char *const metrics_origins[] = {"none", "hit", "miss", "shared", "stale", "redis"};
static const char *const metrics_stages[METRICS_STAGE_MAX] = {"gate", "alignment", "unsubscribe",
                                                              "audit", "end_of_message"};
/* the SESv2 operations the plugins call; anything else is "other" (the last) */
static const char *const metrics_ops[] = {"GetEmailIdentity",
                                          "ListEmailIdentities",
                                          "GetAccount",
                                          "GetSuppressedDestination",
                                          "ListSuppressedDestinations",
                                          "PutSuppressedDestination",
                                          "ListTenantResources",
                                          "other"};
static const char *const metrics_results[] = {"written", "failed"};
static const char *const metrics_reload_results[] = {"success", "failure"};

static const metrics_dim metrics_dim_scope = METRICS_DIM("scope", metrics_scopes);
static const metrics_dim metrics_dim_action = METRICS_DIM("action", metrics_actions);
static const metrics_dim metrics_dim_reason = METRICS_DIM("reason", metrics_reasons);
static const metrics_dim metrics_dim_answer = METRICS_DIM("answer", metrics_answers);
static const metrics_dim metrics_dim_cache = METRICS_DIM("cache", metrics_origins);
static const metrics_dim metrics_dim_stage = METRICS_DIM("stage", metrics_stages);
static const metrics_dim metrics_dim_op = METRICS_DIM("operation", metrics_ops);
static const metrics_dim metrics_dim_audit = METRICS_DIM("result", metrics_results);
static const metrics_dim metrics_dim_reload = METRICS_DIM("result", metrics_reload_results);
static const metrics_dim metrics_dim_instance = {"source", NULL, METRICS_MAX_INSTANCES + 1};

/* upper bounds in seconds: a cache hit is microseconds, an SES call tens of milliseconds */
static const double metrics_buckets[METRICS_NBUCKETS] = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5};

static metrics_family metrics_families[METRICS_F_MAX] = {
    [METRICS_F_MESSAGES] = {"ses_milter_messages_total",
                            "Messages by scope, the action taken and the reason for it.",
                            METRICS_COUNTER,
                            {&metrics_dim_scope, &metrics_dim_action, &metrics_dim_reason},
                            3,
                            0},
    [METRICS_F_GATE_ANSWERS] = {"ses_milter_gate_answers_total",
                                "Identity gate answers by source, answer and how the cache "
                                "served them.",
                                METRICS_COUNTER,
                                {&metrics_dim_instance, &metrics_dim_answer, &metrics_dim_cache},
                                3,
                                0},
    [METRICS_F_LOOKUP_SECONDS] = {"ses_milter_source_lookup_duration_seconds",
                                  "Time an identity source took to answer (cache misses).",
                                  METRICS_HISTOGRAM,
                                  {&metrics_dim_instance},
                                  1,
                                  0},
    [METRICS_F_STAGE_SECONDS] = {"ses_milter_stage_duration_seconds",
                                 "Time each end-of-message stage took.",
                                 METRICS_HISTOGRAM,
                                 {&metrics_dim_stage},
                                 1,
                                 0},
    [METRICS_F_API_CALLS] = {"ses_milter_ses_api_calls_total",
                             "SES API requests sent, by operation.",
                             METRICS_COUNTER,
                             {&metrics_dim_op},
                             1,
                             0},
    [METRICS_F_API_THROTTLES] = {"ses_milter_ses_api_throttles_total",
                                 "SES API requests SES throttled, by operation.",
                                 METRICS_COUNTER,
                                 {&metrics_dim_op},
                                 1,
                                 0},
    [METRICS_F_API_ERRORS] = {"ses_milter_ses_api_errors_total",
                              "SES API calls that failed otherwise (transport, credentials, "
                              "denied, 5xx, client-side rate limit), by operation.",
                              METRICS_COUNTER,
                              {&metrics_dim_op},
                              1,
                              0},
    [METRICS_F_DNS_QUERIES] =
        {"ses_milter_dns_queries_total",
         "DNS TXT lookups the cache could not answer (DKIM keys, DMARC records).",
         METRICS_COUNTER,
         {NULL},
         0,
         0},
    [METRICS_F_DNS_ERRORS] =
        {"ses_milter_dns_errors_total",
         "DNS TXT lookups that failed temporarily (timeout, SERVFAIL, deadline).",
         METRICS_COUNTER,
         {NULL},
         0,
         0},
    [METRICS_F_DNS_CACHE_HITS] = {"ses_milter_dns_cache_hits_total",
                                  "DNS TXT lookups answered by the cache.",
                                  METRICS_COUNTER,
                                  {NULL},
                                  0,
                                  0},
    [METRICS_F_UNSUB] = {"ses_milter_unsubscribe_headers_added_total",
                         "Messages that List-Unsubscribe headers were added to.",
                         METRICS_COUNTER,
                         {NULL},
                         0,
                         0},
    [METRICS_F_AUDIT] = {"ses_milter_audit_records_total",
                         "Audit records written, and those that could not be.",
                         METRICS_COUNTER,
                         {&metrics_dim_audit},
                         1,
                         0},
    [METRICS_F_RELOADS] = {"ses_milter_reloads_total",
                           "Configuration reloads by result.",
                           METRICS_COUNTER,
                           {&metrics_dim_reload},
                           1,
                           0},
};

static uint64_t metrics_cells[METRICS_CELLS];
static pthread_once_t metrics_once = PTHREAD_ONCE_INIT;
static size_t metrics_ncells;
static double metrics_start_time;

/* instance slots: names written under the lock before the count that publishes them */
static pthread_mutex_t metrics_slot_lock = PTHREAD_MUTEX_INITIALIZER;
static char metrics_slot_name[METRICS_MAX_INSTANCES + 1][64];
static char metrics_slot_plugin[METRICS_MAX_INSTANCES + 1][64];
static unsigned metrics_nslots;

/* metrics_width - cells per label combination */
static size_t
metrics_width(const metrics_family *f)
{
    return f->type == METRICS_HISTOGRAM ? METRICS_NBUCKETS + 2 : 1;
}

/* metrics_combos - label combinations of a family */
static size_t
metrics_combos(const metrics_family *f)
{
    size_t n = 1;

    for (size_t d = 0; d < f->ndims; d++)
        n *= f->dims[d]->n;
    return n;
}

/* metrics_init - lay the families out in the cell array; the start time */
static void
metrics_init(void)
{
    struct timespec ts;
    size_t next = 0;

    for (size_t i = 0; i < METRICS_F_MAX; i++) {
        metrics_families[i].base = next;
        next += metrics_combos(&metrics_families[i]) * metrics_width(&metrics_families[i]);
    }
    if (next > METRICS_CELLS)
        abort(); /* a family table too large for the cell array: a build mistake */
    metrics_ncells = next;
    clock_gettime(CLOCK_REALTIME, &ts);
    metrics_start_time = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    util_strlcpy(metrics_slot_name[METRICS_MAX_INSTANCES], "other", 64);
    util_strlcpy(metrics_slot_plugin[METRICS_MAX_INSTANCES], "other", 64);
}

/* metrics_cell - the first cell of a label combination (indices already in range) */
static uint64_t *
metrics_cell(int fam, size_t i0, size_t i1, size_t i2)
{
    const metrics_family *f = &metrics_families[fam];
    size_t idx = i0;

    pthread_once(&metrics_once, metrics_init);
    if (f->ndims > 1)
        idx = idx * f->dims[1]->n + i1;
    if (f->ndims > 2)
        idx = idx * f->dims[2]->n + i2;
    return &metrics_cells[f->base + idx * metrics_width(f)];
}

static void
metrics_add(uint64_t *cell, uint64_t n)
{
    __atomic_fetch_add(cell, n, __ATOMIC_RELAXED);
}

/* metrics_index - v within [0, n), else the fallback */
static size_t
metrics_index(long v, size_t n, size_t fallback)
{
    return v >= 0 && (size_t)v < n ? (size_t)v : fallback;
}

/* metrics_observe - one duration into a histogram's combination */
static void
metrics_observe(int fam, size_t i0, uint64_t t0)
{
    uint64_t now = metrics_clock(), ns = now > t0 ? now - t0 : 0;
    uint64_t *cells = metrics_cell(fam, i0, 0, 0);
    double s = (double)ns / 1e9;
    size_t b = 0;

    while (b < METRICS_NBUCKETS && s > metrics_buckets[b])
        b++;
    metrics_add(&cells[b], 1);
    metrics_add(&cells[METRICS_NBUCKETS + 1], ns);
}

uint64_t
metrics_clock(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void
metrics_message(metrics_scope scope, metrics_action action, metrics_reason reason)
{
    metrics_add(metrics_cell(METRICS_F_MESSAGES,
                             metrics_index(scope, SM_ARRAY_LEN(metrics_scopes), 0),
                             metrics_index(action, SM_ARRAY_LEN(metrics_actions), 0),
                             metrics_index(reason, METRICS_REASON_MAX, 0)),
                1);
}

int
metrics_instance_slot(const char *instance, const char *plugin)
{
    unsigned i, n;

    pthread_once(&metrics_once, metrics_init);
    pthread_mutex_lock(&metrics_slot_lock);
    n = metrics_nslots;
    for (i = 0; i < n; i++)
        if (strcmp(metrics_slot_name[i], instance) == 0 &&
            strcmp(metrics_slot_plugin[i], plugin) == 0)
            break;
    if (i == n && n < METRICS_MAX_INSTANCES) {
        util_strlcpy(metrics_slot_name[n], instance, sizeof(metrics_slot_name[n]));
        util_strlcpy(metrics_slot_plugin[n], plugin, sizeof(metrics_slot_plugin[n]));
        __atomic_store_n(&metrics_nslots, n + 1, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&metrics_slot_lock);
    return i < METRICS_MAX_INSTANCES ? (int)i : METRICS_MAX_INSTANCES;
}

void
metrics_gate_answer(int slot, int answer, metrics_origin origin)
{
    metrics_add(metrics_cell(METRICS_F_GATE_ANSWERS,
                             metrics_index(slot, METRICS_MAX_INSTANCES + 1, METRICS_MAX_INSTANCES),
                             metrics_index(answer, SM_ARRAY_LEN(metrics_answers), 0),
                             metrics_index(origin, SM_ARRAY_LEN(metrics_origins), 0)),
                1);
}

void
metrics_lookup_time(int slot, uint64_t t0)
{
    metrics_observe(METRICS_F_LOOKUP_SECONDS,
                    metrics_index(slot, METRICS_MAX_INSTANCES + 1, METRICS_MAX_INSTANCES), t0);
}

void
metrics_stage_time(metrics_stage stage, uint64_t t0)
{
    if ((size_t)stage < METRICS_STAGE_MAX)
        metrics_observe(METRICS_F_STAGE_SECONDS, (size_t)stage, t0);
}

void
metrics_api(int event, const char *operation)
{
    size_t op = SM_ARRAY_LEN(metrics_ops) - 1;
    int fam = event == METRICS_API_CALL        ? METRICS_F_API_CALLS
              : event == METRICS_API_THROTTLED ? METRICS_F_API_THROTTLES
              : event == METRICS_API_ERROR     ? METRICS_F_API_ERRORS
                                               : -1;

    if (fam < 0)
        return;
    for (size_t i = 0; operation != NULL && i + 1 < SM_ARRAY_LEN(metrics_ops); i++)
        if (strcmp(metrics_ops[i], operation) == 0)
            op = i;
    metrics_add(metrics_cell(fam, op, 0, 0), 1);
}

void
metrics_start(void)
{
    pthread_once(&metrics_once, metrics_init);
    dns_set_observer(metrics_dns);
}

void
metrics_dns(int cached, int failed)
{
    if (cached) {
        metrics_add(metrics_cell(METRICS_F_DNS_CACHE_HITS, 0, 0, 0), 1);
        return;
    }
    metrics_add(metrics_cell(METRICS_F_DNS_QUERIES, 0, 0, 0), 1);
    if (failed)
        metrics_add(metrics_cell(METRICS_F_DNS_ERRORS, 0, 0, 0), 1);
}

void
metrics_unsub_added(void)
{
    metrics_add(metrics_cell(METRICS_F_UNSUB, 0, 0, 0), 1);
}

void
metrics_audit_record(int ok)
{
    metrics_add(metrics_cell(METRICS_F_AUDIT, ok ? 0 : 1, 0, 0), 1);
}

void
metrics_reload(int ok)
{
    metrics_add(metrics_cell(METRICS_F_RELOADS, ok ? 0 : 1, 0, 0), 1);
}

/* metrics_escape - a label value as the text format wants it (\\, \", \n) */
static void
metrics_escape(FILE *fp, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\' || *s == '"')
            fputc('\\', fp);
        if (*s == '\n')
            fputs("\\n", fp);
        else
            fputc(*s, fp);
    }
}

/* metrics_labels - "{a="x",b="y"" of one combination (no closing brace), or nothing */
static void
metrics_labels(FILE *fp, const metrics_family *f, size_t combo)
{
    size_t idx[3] = {0, 0, 0}, rest = combo;

    for (size_t d = f->ndims; d-- > 0;) {
        idx[d] = rest % f->dims[d]->n;
        rest /= f->dims[d]->n;
    }
    for (size_t d = 0; d < f->ndims; d++) {
        const metrics_dim *dim = f->dims[d];
        fputs(d == 0 ? "{" : ",", fp);
        if (dim->values != NULL) {
            fprintf(fp, "%s=\"%s\"", dim->label, dim->values[idx[d]]);
            continue;
        }
        fputs("source=\"", fp);
        metrics_escape(fp, metrics_slot_name[idx[d]]);
        fputs("\",plugin=\"", fp);
        metrics_escape(fp, metrics_slot_plugin[idx[d]]);
        fputc('"', fp);
    }
}

/* metrics_slot_used - whether a combination names a registered (or the "other") slot */
static int
metrics_slot_used(const metrics_family *f, size_t combo, unsigned nslots)
{
    size_t stride = 1;

    for (size_t d = f->ndims; d-- > 0;) {
        if (f->dims[d]->values == NULL) {
            size_t slot = (combo / stride) % f->dims[d]->n;
            return slot < nslots || slot == METRICS_MAX_INSTANCES;
        }
        stride *= f->dims[d]->n;
    }
    return 1;
}

static void
metrics_render_counter(FILE *fp, const metrics_family *f, unsigned nslots)
{
    int all = f->ndims == 0 || (f->ndims == 1 && f->dims[0]->values != NULL);

    for (size_t c = 0; c < metrics_combos(f); c++) {
        uint64_t v = __atomic_load_n(&metrics_cells[f->base + c], __ATOMIC_RELAXED);
        if ((v == 0 && !all) || !metrics_slot_used(f, c, nslots))
            continue;
        fputs(f->name, fp);
        metrics_labels(fp, f, c);
        fprintf(fp, "%s %llu\n", f->ndims > 0 ? "}" : "", (unsigned long long)v);
    }
}

static void
metrics_render_histogram(FILE *fp, const metrics_family *f, unsigned nslots)
{
    const char *name = f->name;
    size_t width = metrics_width(f);

    for (size_t c = 0; c < metrics_combos(f); c++) {
        const uint64_t *cells = &metrics_cells[f->base + c * width];
        uint64_t v[METRICS_NBUCKETS + 2], cum = 0;

        for (size_t b = 0; b < width; b++)
            v[b] = __atomic_load_n(&cells[b], __ATOMIC_RELAXED);
        for (size_t b = 0; b <= METRICS_NBUCKETS; b++)
            cum += v[b];
        if (cum == 0 || !metrics_slot_used(f, c, nslots))
            continue;
        cum = 0;
        for (size_t b = 0; b <= METRICS_NBUCKETS; b++) {
            cum += v[b];
            fprintf(fp, "%s_bucket", name);
            metrics_labels(fp, f, c);
            if (b < METRICS_NBUCKETS)
                fprintf(fp, "%sle=\"%g\"} %llu\n", f->ndims ? "," : "{", metrics_buckets[b],
                        (unsigned long long)cum);
            else
                fprintf(fp, "%sle=\"+Inf\"} %llu\n", f->ndims ? "," : "{", (unsigned long long)cum);
        }
        fprintf(fp, "%s_sum", name);
        metrics_labels(fp, f, c);
        fprintf(fp, "%s %.9f\n", f->ndims ? "}" : "", (double)v[METRICS_NBUCKETS + 1] / 1e9);
        fprintf(fp, "%s_count", name);
        metrics_labels(fp, f, c);
        fprintf(fp, "%s %llu\n", f->ndims ? "}" : "", (unsigned long long)cum);
    }
}

void
metrics_render(FILE *fp)
{
    unsigned nslots;

    pthread_once(&metrics_once, metrics_init);
    nslots = __atomic_load_n(&metrics_nslots, __ATOMIC_ACQUIRE);
    fputs("# HELP ses_milter_build_info The version of ses-milter that runs.\n"
          "# TYPE ses_milter_build_info gauge\n",
          fp);
    fprintf(fp, "ses_milter_build_info{version=\"%s\"} 1\n", PACKAGE_VERSION);
    fputs("# HELP process_start_time_seconds Start time of the process since the epoch.\n"
          "# TYPE process_start_time_seconds gauge\n",
          fp);
    fprintf(fp, "process_start_time_seconds %.3f\n", metrics_start_time);
    for (size_t i = 0; i < METRICS_F_MAX; i++) {
        const metrics_family *f = &metrics_families[i];
        fprintf(fp, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name,
                f->type == METRICS_COUNTER ? "counter" : "histogram");
        if (f->type == METRICS_COUNTER)
            metrics_render_counter(fp, f, nslots);
        else
            metrics_render_histogram(fp, f, nslots);
    }
}

/* the "metrics" group */

static const cfg_directive metrics_conf_tab[] = {
    {"enabled", CFG_BOOL, offsetof(metrics_conf, enabled), NULL, 1, 0, 0, NULL},
    {"listen", CFG_STR, offsetof(metrics_conf, listen), METRICS_DEFAULT_LISTEN, 0, 0, 0, NULL},
    CFG_END,
};

int
metrics_parse_listen(const char *text, struct sockaddr_storage *ss, socklen_t *len, char *why,
                     size_t whylen)
{
    char host[64];
    const char *colon, *h = text, *port;
    size_t hl;
    char *end;
    long p;

    memset(ss, 0, sizeof(*ss));
    if (*text == '[') {
        const char *close = strchr(text, ']');
        if (close == NULL || close[1] != ':')
            return util_errf(why, whylen, "'%s' is not [IPv6 address]:PORT", text);
        h = text + 1;
        hl = (size_t)(close - h);
        port = close + 2;
    } else {
        if ((colon = strrchr(text, ':')) == NULL || strchr(text, ':') != colon)
            return util_errf(why, whylen,
                             "'%s' is not ADDRESS:PORT (an IPv4 address, or [IPv6 address])", text);
        hl = (size_t)(colon - text);
        port = colon + 1;
    }
    if (hl == 0 || hl >= sizeof(host))
        return util_errf(why, whylen, "'%s': no address before the port", text);
    memcpy(host, h, hl);
    host[hl] = '\0';
    p = strtol(port, &end, 10);
    if (*port < '0' || *port > '9' || *end != '\0' || p < 1 || p > 65535)
        return util_errf(why, whylen, "'%s': the port must be a number from 1 to 65535", text);
    if (*text != '[') {
        struct sockaddr_in *sin = (struct sockaddr_in *)ss;
        if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
            return util_errf(why, whylen, "'%s': '%s' is not an IPv4 address", text, host);
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)p);
        *len = sizeof(*sin);
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
        if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
            return util_errf(why, whylen, "'%s': '%s' is not an IPv6 address", text, host);
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)p);
        *len = sizeof(*sin6);
    }
    return 0;
}

int
metrics_conf_parse(const config_setting_t *group, metrics_conf **out, char *err, size_t errlen)
{
    metrics_conf *mc = xcalloc(1, sizeof(*mc));
    char why[256];

    *out = mc;
    if (cfg_parse_table(group, metrics_conf_tab, mc, NULL, err, errlen) < 0)
        return -1;
    if (group == NULL)
        mc->enabled = 0;
    if (metrics_parse_listen(mc->listen, &mc->addr, &mc->addrlen, why, sizeof(why)) < 0) {
        const config_setting_t *s = config_setting_get_member(group, "listen");
        return cfg_errf(err, errlen, s != NULL ? s : group, "metrics.listen: %s", why);
    }
    return 0;
}

void
metrics_conf_dump(FILE *fp, const metrics_conf *mc)
{
    cfg_dump_table(fp, "metrics", metrics_conf_tab, mc);
}

metrics_conf *
metrics_conf_free(metrics_conf *mc)
{
    if (mc == NULL)
        return NULL;
    cfg_free_table(metrics_conf_tab, mc);
    free(mc);
    return NULL;
}
