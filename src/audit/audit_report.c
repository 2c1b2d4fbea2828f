/*
 * audit_report.c - read audit files and summarise them for ses-milter-audit
 *
 * Purpose: the reading half of the audit trail.  audit_report_open/next
 * give the stored lines of plain or gzip files byte for byte (zlib's gz*
 * reads both); the report counts records into fixed metrics per group
 * (total, From domain, identity, alignment failure reason, unsubscribe
 * header name) and prints them sorted by message count, then by name, so
 * that output is deterministic and fit for golden files.
 *
 * Malformed lines never stop a report: they are counted as invalid (use
 * "ses-milter-audit verify" to find out why).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include "audit/audit_record.h"
#include "audit/audit_report.h"
#include "lib/util.h"

/* ---- reader ---- */

struct audit_reader {
    gzFile gz;
    char *path;
    char buf[65536]; /* inflated bytes not yet handed out */
    size_t pos, fill;
    int eof;
    char *line; /* the line handed out */
    size_t cap;
};

int
audit_report_open(const char *path, audit_reader **rd_r, char *err, size_t errlen)
{
    audit_reader *rd;
    gzFile gz;

    *rd_r = NULL;
    gz = strcmp(path, "-") == 0 ? gzdopen(dup(STDIN_FILENO), "rb") : gzopen(path, "rb");
    if (gz == NULL)
        return util_errf(err, errlen, "%s: %s", path, errno ? strerror(errno) : "cannot open");
    rd = xcalloc(1, sizeof(*rd));
    rd->gz = gz;
    rd->path = xstrdup(path);
    rd->cap = 4096;
    rd->line = xmalloc(rd->cap);
    *rd_r = rd;
    return 0;
}

/* audit_report_fill - read more bytes; 0, or -1 on error */
static int
audit_report_fill(audit_reader *rd, char *err, size_t errlen)
{
    int n, zerr;

    rd->pos = rd->fill = 0;
    n = gzread(rd->gz, rd->buf, sizeof(rd->buf));
    if (n < 0) {
        const char *msg = gzerror(rd->gz, &zerr);
        return util_errf(err, errlen, "%s: %s", rd->path, zerr == Z_ERRNO ? strerror(errno) : msg);
    }
    if (n == 0) {
        /* a gzip file cut short reads as a clean end without this check */
        const char *msg = gzerror(rd->gz, &zerr);
        if (zerr != Z_OK && zerr != Z_STREAM_END)
            return util_errf(err, errlen, "%s: %s", rd->path, msg);
        rd->eof = 1;
    }
    rd->fill = (size_t)n;
    return 0;
}

int
audit_report_next(audit_reader *rd, const char **line, size_t *len, int *terminated, char *err,
                  size_t errlen)
{
    size_t n = 0;

    for (;;) {
        char *nl;
        size_t take;

        if (rd->pos == rd->fill) {
            if (rd->eof)
                break;
            if (audit_report_fill(rd, err, errlen) < 0)
                return -1;
            if (rd->eof)
                break;
        }
        nl = memchr(rd->buf + rd->pos, '\n', rd->fill - rd->pos);
        take = nl ? (size_t)(nl - (rd->buf + rd->pos)) : rd->fill - rd->pos;
        if (n + take + 1 > rd->cap) {
            while (n + take + 1 > rd->cap)
                rd->cap *= 2;
            rd->line = xrealloc(rd->line, rd->cap);
        }
        memcpy(rd->line + n, rd->buf + rd->pos, take);
        n += take;
        rd->pos += take;
        if (nl != NULL) {
            rd->pos++;
            rd->line[n] = '\0';
            *line = rd->line;
            *len = n;
            *terminated = 1;
            return 1;
        }
    }
    if (n == 0)
        return 0;
    rd->line[n] = '\0';
    *line = rd->line;
    *len = n;
    *terminated = 0;
    return 1;
}

audit_reader *
audit_report_close(audit_reader *rd)
{
    if (rd == NULL)
        return NULL;
    gzclose(rd->gz);
    free(rd->line);
    free(rd->path);
    free(rd);
    return NULL;
}

/* ---- counting ---- */

enum {
    M_MESSAGES,
    M_ACCEPTED,
    M_REFUSED,
    M_QUARANTINED,
    M_TEMPFAILED,
    M_DISCARDED,
    M_TAGGED,
    M_ABORTED,
    M_DMARC_FAIL,
    M_UNSUB,
    M_COUNT
};

static const char *const metric_names[M_COUNT] = {
    "messages",  "accepted", "refused", "quarantined", "tempfailed",
    "discarded", "tagged",   "aborted", "dmarc_fail",  "unsub"};
static const char *const metric_short[M_COUNT] = {"msgs",      "accept",  "refuse", "quarant",
                                                  "tempfail",  "discard", "tag",    "abort",
                                                  "dmarcfail", "unsub"};

typedef struct audit_group {
    char *key;
    unsigned long c[M_COUNT];
} audit_group;

typedef struct audit_groups {
    audit_group **v;
    size_t n;
    json_t *index; /* key -> position in v */
} audit_groups;

struct audit_report {
    char from[32], to[32];
    unsigned long records, invalid, outside;
    char first[32], last[32];
    unsigned long total[M_COUNT];
    audit_groups domains, identities, reasons, headers;
};

/* audit_report_group - the group for key, created on first use */
static audit_group *
audit_report_group(audit_groups *g, const char *key)
{
    json_t *pos;
    audit_group *e;

    if (g->index == NULL)
        g->index = json_object();
    pos = json_object_get(g->index, key);
    if (pos != NULL)
        return g->v[json_integer_value(pos)];
    e = xcalloc(1, sizeof(*e));
    e->key = xstrdup(key);
    g->v = xrealloc(g->v, (g->n + 1) * sizeof(*g->v));
    g->v[g->n] = e;
    json_object_set_new(g->index, key, json_integer((json_int_t)g->n));
    g->n++;
    return e;
}

static void
audit_report_groups_free(audit_groups *g)
{
    for (size_t i = 0; i < g->n; i++) {
        free(g->v[i]->key);
        free(g->v[i]);
    }
    free(g->v);
    json_decref(g->index);
}

int
audit_report_time_arg(const char *in, char *out, size_t len)
{
    static const char pat[] = "dddd-dd-ddTdd:dd:dd.ddd";
    static const char zero[] = "0000-01-01T00:00:00.000";
    size_t n = strlen(in), i;

    if (n > 0 && (in[n - 1] == 'Z' || in[n - 1] == 'z'))
        n--;
    if (!(n == 10 || n == 16 || n == 19 || n == 23) || len < sizeof(zero) + 1)
        return -1;
    for (i = 0; i < n; i++) {
        char c = in[i];
        if (pat[i] == 'd' ? (c < '0' || c > '9') : (c != pat[i] && !(i == 10 && c == ' ')))
            return -1;
        out[i] = pat[i] == 'T' ? 'T' : c;
    }
    memcpy(out + n, zero + n, sizeof(zero) - n - 1);
    memcpy(out + sizeof(zero) - 1, "Z", 2);
    return 0;
}

audit_report *
audit_report_new(const char *from, const char *to)
{
    audit_report *r = xcalloc(1, sizeof(*r));

    if (from != NULL)
        util_strlcpy(r->from, from, sizeof(r->from));
    if (to != NULL)
        util_strlcpy(r->to, to, sizeof(r->to));
    return r;
}

audit_report *
audit_report_free(audit_report *r)
{
    if (r == NULL)
        return NULL;
    audit_report_groups_free(&r->domains);
    audit_report_groups_free(&r->identities);
    audit_report_groups_free(&r->reasons);
    audit_report_groups_free(&r->headers);
    free(r);
    return NULL;
}

/* audit_report_str - a string member of obj or NULL */
static const char *
audit_report_str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

/*
 * audit_report_pick - the lookup behind the verdict, by the gate's rule (as the
 * summary line): the first not verified, else the first tempfail, else From, else
 * the first; NULL when there is none
 */
static const json_t *
audit_report_pick(const json_t *rec)
{
    static const char *const order[] = {"not_verified", "tempfail"};
    const json_t *lookups = json_object_get(rec, "lookups"), *l;
    size_t i;

    for (size_t k = 0; k < SM_ARRAY_LEN(order); k++)
        json_array_foreach(lookups, i, l)
        {
            const char *answer = audit_report_str(l, "answer");
            if (answer != NULL && strcmp(answer, order[k]) == 0)
                return l;
        }
    json_array_foreach(lookups, i, l)
    {
        const char *role = audit_report_str(l, "role");
        if (role != NULL && strcmp(role, "from") == 0)
            return l;
    }
    return json_array_get(lookups, 0);
}

/* audit_report_refused - the lookup a refusal names (not verified / tempfail), or NULL */
static const json_t *
audit_report_refused(const json_t *rec)
{
    const json_t *l = audit_report_pick(rec);
    const char *answer = l != NULL ? audit_report_str(l, "answer") : NULL;

    return answer != NULL &&
                   (strcmp(answer, "not_verified") == 0 || strcmp(answer, "tempfail") == 0)
               ? l
               : NULL;
}

/*
 * audit_report_domain - lower-cased domain of the From (else MAIL FROM) address; of
 * the refused identity when the verdict names one that is not the From address
 */
static void
audit_report_domain(const json_t *rec, char *out, size_t len)
{
    const json_t *refused = audit_report_refused(rec);
    const char *a = refused != NULL ? audit_report_str(refused, "identity") : NULL, *at;

    if (a == NULL || strchr(a, '@') == NULL)
        a = audit_report_str(rec, "from");
    if (a == NULL || strchr(a, '@') == NULL)
        a = audit_report_str(rec, "env_from");
    at = a ? strrchr(a, '@') : NULL;
    util_strlcpy(out, at && at[1] ? at + 1 : "(none)", len);
    util_lower(out);
}

/* audit_report_identity - the identity behind the verdict (audit_report_pick): what matched */
static void
audit_report_identity(const json_t *rec, char *out, size_t len)
{
    const json_t *pick = audit_report_pick(rec);
    const char *id = pick ? audit_report_str(pick, "matched") : NULL;

    if (id == NULL && pick != NULL)
        id = audit_report_str(pick, "identity");
    util_strlcpy(out, id ? id : "(none)", len);
}

/* audit_report_reason - why DMARC alignment failed, from the DKIM and SPF facts */
static void
audit_report_reason(const json_t *rec, char *out, size_t len)
{
    const json_t *dkim = json_object_get(rec, "dkim"), *d;
    const json_t *spf = json_object_get(rec, "spf");
    const char *dk = "dkim:none", *sr = spf ? audit_report_str(spf, "result") : NULL;
    char sp[64];
    size_t i;

    json_array_foreach(dkim, i, d)
    {
        const char *res = audit_report_str(d, "result");
        if (res && (strcmp(res, "pass") == 0 || strcmp(res, "predicted-pass") == 0))
            dk = "dkim:unaligned";
        else if (strcmp(dk, "dkim:none") == 0)
            dk = "dkim:fail";
    }
    if (sr == NULL)
        snprintf(sp, sizeof(sp), "spf:none");
    else if (strcmp(sr, "pass") == 0)
        snprintf(sp, sizeof(sp), "spf:unaligned");
    else
        snprintf(sp, sizeof(sp), "spf:%.50s", sr);
    snprintf(out, len, "%s,%s", dk, sp);
}

/* audit_report_metrics - which metrics one record adds to */
static void
audit_report_metrics(const json_t *rec, int m[M_COUNT])
{
    static const struct {
        const char *action;
        int metric;
    } map[] = {{"accept", M_ACCEPTED},     {"reject", M_REFUSED},    {"quarantine", M_QUARANTINED},
               {"tempfail", M_TEMPFAILED}, {"discard", M_DISCARDED}, {"tag", M_TAGGED},
               {"aborted", M_ABORTED}};
    const char *action = audit_report_str(rec, "action");
    const char *outcome = audit_report_str(rec, "outcome");
    const json_t *dmarc = json_object_get(rec, "dmarc");
    const char *dres = dmarc ? audit_report_str(dmarc, "result") : NULL;

    memset(m, 0, sizeof(int) * M_COUNT);
    m[M_MESSAGES] = 1;
    for (size_t i = 0; action != NULL && i < SM_ARRAY_LEN(map); i++)
        if (strcmp(action, map[i].action) == 0)
            m[map[i].metric] = 1;
    if (outcome != NULL && strcmp(outcome, "aborted") == 0)
        m[M_ABORTED] = 1;
    m[M_DMARC_FAIL] = dres != NULL && strcmp(dres, "fail") == 0;
    m[M_UNSUB] = json_array_size(json_object_get(rec, "unsub")) > 0;
}

void
audit_report_add(audit_report *r, const json_t *rec)
{
    const char *t = audit_report_str(rec, "time");
    char key[512];
    int m[M_COUNT];
    audit_group *gd, *gi;
    const json_t *h;
    size_t i;

    if (t == NULL || (*r->from && strcmp(t, r->from) < 0) || (*r->to && strcmp(t, r->to) >= 0)) {
        r->outside++;
        return;
    }
    r->records++;
    if (!*r->first || strcmp(t, r->first) < 0)
        util_strlcpy(r->first, t, sizeof(r->first));
    if (strcmp(t, r->last) > 0)
        util_strlcpy(r->last, t, sizeof(r->last));
    audit_report_metrics(rec, m);
    audit_report_domain(rec, key, sizeof(key));
    gd = audit_report_group(&r->domains, key);
    audit_report_identity(rec, key, sizeof(key));
    gi = audit_report_group(&r->identities, key);
    for (int k = 0; k < M_COUNT; k++) {
        r->total[k] += (unsigned long)m[k];
        gd->c[k] += (unsigned long)m[k];
        gi->c[k] += (unsigned long)m[k];
    }
    if (m[M_DMARC_FAIL]) {
        audit_report_reason(rec, key, sizeof(key));
        audit_report_group(&r->reasons, key)->c[M_MESSAGES]++;
    }
    json_array_foreach(json_object_get(rec, "unsub"), i, h)
    {
        const char *name = audit_report_str(h, "name");
        util_strlcpy(key, name ? name : "(none)", sizeof(key));
        audit_report_group(&r->headers, key)->c[M_MESSAGES]++;
    }
}

void
audit_report_line(audit_report *r, const char *line, size_t len)
{
    json_t *rec = json_loadb(line, len, 0, NULL);

    json_int_t ver = json_is_object(rec) ? json_integer_value(json_object_get(rec, "v")) : 0;

    if (rec == NULL || ver < 1 || ver > AUDIT_SCHEMA_VERSION)
        r->invalid++;
    else
        audit_report_add(r, rec);
    json_decref(rec);
}

/* ---- output ---- */

static int
audit_report_cmp(const void *a, const void *b)
{
    const audit_group *x = *(audit_group *const *)a, *y = *(audit_group *const *)b;

    if (x->c[M_MESSAGES] != y->c[M_MESSAGES])
        return x->c[M_MESSAGES] > y->c[M_MESSAGES] ? -1 : 1;
    return strcmp(x->key, y->key);
}

/* audit_report_sorted - a sorted copy of the group pointers (caller frees) */
static audit_group **
audit_report_sorted(const audit_groups *g)
{
    audit_group **v = xcalloc(g->n + 1, sizeof(*v));

    if (g->n > 0)
        memcpy(v, g->v, g->n * sizeof(*v));
    qsort(v, g->n, sizeof(*v), audit_report_cmp);
    return v;
}

static void
audit_report_text_table(FILE *fp, const char *title, const char *col, const audit_groups *g)
{
    audit_group **v = audit_report_sorted(g);

    fprintf(fp, "\n%s\n  %-32s", title, col);
    for (int k = 0; k < M_COUNT; k++)
        fprintf(fp, " %9s", metric_short[k]);
    fputc('\n', fp);
    for (size_t i = 0; i < g->n; i++) {
        fprintf(fp, "  %-32s", v[i]->key);
        for (int k = 0; k < M_COUNT; k++)
            fprintf(fp, " %9lu", v[i]->c[k]);
        fputc('\n', fp);
    }
    free(v);
}

static void
audit_report_text_counts(FILE *fp, const char *title, const char *col, const audit_groups *g)
{
    audit_group **v = audit_report_sorted(g);

    fprintf(fp, "\n%s\n  %-40s %9s\n", title, col, "count");
    if (g->n == 0)
        fprintf(fp, "  (none)\n");
    for (size_t i = 0; i < g->n; i++)
        fprintf(fp, "  %-40s %9lu\n", v[i]->key, v[i]->c[M_MESSAGES]);
    free(v);
}

static void
audit_report_text(FILE *fp, const audit_report *r)
{
    fprintf(fp, "ses-milter audit report\n");
    fprintf(fp, "window:  %s .. %s\n", *r->from ? r->from : "(start)", *r->to ? r->to : "(end)");
    fprintf(fp, "records: %lu (first %s, last %s)\n", r->records, *r->first ? r->first : "-",
            *r->last ? r->last : "-");
    fprintf(fp, "skipped: %lu outside the window, %lu invalid lines\n", r->outside, r->invalid);
    fprintf(fp, "\ntotals\n");
    for (int k = 0; k < M_COUNT; k++)
        fprintf(fp, "  %-12s %9lu\n", metric_names[k], r->total[k]);
    audit_report_text_table(fp, "by From domain", "domain", &r->domains);
    audit_report_text_table(fp, "by identity", "identity", &r->identities);
    audit_report_text_counts(fp, "alignment failures by reason", "reason", &r->reasons);
    audit_report_text_counts(fp, "unsubscribe headers added", "header", &r->headers);
}

/* audit_report_csv_key - a CSV field, quoted when it needs to be */
static void
audit_report_csv_key(FILE *fp, const char *s)
{
    if (strpbrk(s, ",\"\r\n") == NULL) {
        fputs(s, fp);
        return;
    }
    fputc('"', fp);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', fp);
        fputc(*s, fp);
    }
    fputc('"', fp);
}

static void
audit_report_csv_groups(FILE *fp, const char *section, const audit_groups *g, int all)
{
    audit_group **v = audit_report_sorted(g);

    for (size_t i = 0; i < g->n; i++)
        for (int k = 0; k < (all ? M_COUNT : 1); k++) {
            fprintf(fp, "%s,", section);
            audit_report_csv_key(fp, v[i]->key);
            fprintf(fp, ",%s,%lu\n", all ? metric_names[k] : "count", v[i]->c[k]);
        }
    free(v);
}

static void
audit_report_csv(FILE *fp, const audit_report *r)
{
    fprintf(fp, "section,key,metric,value\n");
    fprintf(fp, "meta,records,count,%lu\nmeta,outside_window,count,%lu\n", r->records, r->outside);
    fprintf(fp, "meta,invalid_lines,count,%lu\n", r->invalid);
    for (int k = 0; k < M_COUNT; k++)
        fprintf(fp, "total,all,%s,%lu\n", metric_names[k], r->total[k]);
    audit_report_csv_groups(fp, "domain", &r->domains, 1);
    audit_report_csv_groups(fp, "identity", &r->identities, 1);
    audit_report_csv_groups(fp, "alignment_failure", &r->reasons, 0);
    audit_report_csv_groups(fp, "unsub_header", &r->headers, 0);
}

static json_t *
audit_report_json_counts(const unsigned long *c)
{
    json_t *o = json_object();

    for (int k = 0; k < M_COUNT; k++)
        json_object_set_new(o, metric_names[k], json_integer((json_int_t)c[k]));
    return o;
}

static json_t *
audit_report_json_groups(const audit_groups *g, const char *keyname, int all)
{
    audit_group **v = audit_report_sorted(g);
    json_t *a = all ? json_array() : json_object();

    for (size_t i = 0; i < g->n; i++) {
        if (!all) {
            json_object_set_new(a, v[i]->key, json_integer((json_int_t)v[i]->c[M_MESSAGES]));
            continue;
        }
        json_t *o = json_object(), *counts = audit_report_json_counts(v[i]->c);
        json_object_set_new(o, keyname, json_string(v[i]->key));
        json_object_update(o, counts);
        json_decref(counts);
        json_array_append_new(a, o);
    }
    free(v);
    return a;
}

static void
audit_report_json(FILE *fp, const audit_report *r)
{
    json_t *o = json_object();

    json_object_set_new(o, "from", *r->from ? json_string(r->from) : json_null());
    json_object_set_new(o, "to", *r->to ? json_string(r->to) : json_null());
    json_object_set_new(o, "first", *r->first ? json_string(r->first) : json_null());
    json_object_set_new(o, "last", *r->last ? json_string(r->last) : json_null());
    json_object_set_new(o, "records", json_integer((json_int_t)r->records));
    json_object_set_new(o, "outside_window", json_integer((json_int_t)r->outside));
    json_object_set_new(o, "invalid_lines", json_integer((json_int_t)r->invalid));
    json_object_set_new(o, "totals", audit_report_json_counts(r->total));
    json_object_set_new(o, "domains", audit_report_json_groups(&r->domains, "domain", 1));
    json_object_set_new(o, "identities", audit_report_json_groups(&r->identities, "identity", 1));
    json_object_set_new(o, "alignment_failures", audit_report_json_groups(&r->reasons, NULL, 0));
    json_object_set_new(o, "unsub_headers", audit_report_json_groups(&r->headers, NULL, 0));
    json_dumpf(o, fp, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    fputc('\n', fp);
    json_decref(o);
}

void
audit_report_print(FILE *fp, const audit_report *r, audit_report_format fmt)
{
    switch (fmt) {
    case AUDIT_REPORT_TEXT:
        audit_report_text(fp, r);
        break;
    case AUDIT_REPORT_CSV:
        audit_report_csv(fp, r);
        break;
    case AUDIT_REPORT_JSON:
        audit_report_json(fp, r);
        break;
    }
}
