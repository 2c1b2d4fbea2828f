/*
 * doctor_out.c - the doctor's report: a table per domain, or one JSON document
 *
 * Table (one block per target; values sanitised):
 *   example.com: identity example.com (source ses-us, ses 0.1.0)
 *     ✓ verification      example.com is verified for sending in us-east-1 ...
 *     ✗ dkim-cname-1      TOKEN._domainkey.example.com: no CNAME; found at ...
 *                         remove: TOKEN._domainkey.example.com.example.com. CNAME
 *                         publish: TOKEN._domainkey.example.com. CNAME TOKEN.dkim.amazonses.com.
 *     result: 1 failed, 0 warnings, 1 passed
 * JSON: {"targets": [{"target", "domain", "identity", "source", "checks":
 *   [{"id", "status", "text", "fix": [...]}], "failed", "warnings",
 *   "errors", "passed"}], "exit": N}
 */
#include "config.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "doctor/doctor.h"
#include "lib/log.h"

const char *
doctor_status_mark(doctor_status s)
{
    return s == DOCTOR_PASS ? "\u2713" : s == DOCTOR_WARN ? "!" : "\u2717";
}

const char *
doctor_status_name(doctor_status s)
{
    static const char *const n[] = {"pass", "warn", "fail", "error"};
    return n[s];
}

/* doctor_out_counts - checks per status */
static void
doctor_out_counts(const doctor_report *r, size_t cnt[4])
{
    memset(cnt, 0, 4 * sizeof(*cnt));
    for (size_t i = 0; i < r->n; i++)
        cnt[r->v[i].status]++;
}

void
doctor_out_table(FILE *fp, const doctor_report *r)
{
    char a[1024], b[2048];
    size_t cnt[4];

    if (r->ses.identity[0])
        fprintf(fp, "%s: identity %s (source %s, %s)\n", log_sanitize(r->target, a, sizeof(a)),
                r->ses.identity, r->ses.source, r->ses.plugin);
    else
        fprintf(fp, "%s: no identity\n", log_sanitize(r->target, a, sizeof(a)));
    for (size_t i = 0; i < r->n; i++) {
        const doctor_check *c = &r->v[i];
        fprintf(fp, "  %s %-16s %s\n", doctor_status_mark(c->status), c->id,
                log_sanitize(c->text, b, sizeof(b)));
        for (size_t k = 0; k < c->nfix; k++)
            fprintf(fp, "    %-16s %s%s\n", "",
                    strncmp(c->fix[k], "remove: ", 8) == 0 || strncmp(c->fix[k], "add ", 4) == 0
                        ? ""
                        : "publish: ",
                    log_sanitize(c->fix[k], b, sizeof(b)));
    }
    doctor_out_counts(r, cnt);
    fprintf(fp, "  result: %zu failed, %zu warnings, %zu passed%s\n",
            cnt[DOCTOR_FAIL] + cnt[DOCTOR_ERROR], cnt[DOCTOR_WARN], cnt[DOCTOR_PASS],
            cnt[DOCTOR_ERROR] ? " (some checks could not run)" : "");
}

void
doctor_out_json(FILE *fp, const doctor_report *const *v, size_t n, int exit_status)
{
    json_t *root = json_object(), *targets = json_array();
    char *text;

    for (size_t i = 0; i < n; i++) {
        const doctor_report *r = v[i];
        json_t *t = json_object(), *checks = json_array();
        size_t cnt[4];

        json_object_set_new(t, "target", json_string(r->target));
        json_object_set_new(t, "domain", json_string(r->domain));
        json_object_set_new(t, "identity",
                            r->ses.identity[0] ? json_string(r->ses.identity) : json_null());
        json_object_set_new(t, "source",
                            r->ses.source[0] ? json_string(r->ses.source) : json_null());
        for (size_t k = 0; k < r->n; k++) {
            const doctor_check *c = &r->v[k];
            json_t *o = json_object(), *fix = json_array();
            json_object_set_new(o, "id", json_string(c->id));
            json_object_set_new(o, "status", json_string(doctor_status_name(c->status)));
            json_object_set_new(o, "text", json_string(c->text));
            for (size_t f = 0; f < c->nfix; f++)
                json_array_append_new(fix, json_string(c->fix[f]));
            json_object_set_new(o, "fix", fix);
            json_array_append_new(checks, o);
        }
        json_object_set_new(t, "checks", checks);
        doctor_out_counts(r, cnt);
        json_object_set_new(t, "passed", json_integer((json_int_t)cnt[DOCTOR_PASS]));
        json_object_set_new(t, "warnings", json_integer((json_int_t)cnt[DOCTOR_WARN]));
        json_object_set_new(t, "failed", json_integer((json_int_t)cnt[DOCTOR_FAIL]));
        json_object_set_new(t, "errors", json_integer((json_int_t)cnt[DOCTOR_ERROR]));
        json_array_append_new(targets, t);
    }
    json_object_set_new(root, "targets", targets);
    json_object_set_new(root, "exit", json_integer(exit_status));
    text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    fprintf(fp, "%s\n", text != NULL ? text : "{}");
    free(text);
    json_decref(root);
}
