/*
 * doctor.c - ses-milter doctor DOMAIN|ADDRESS ... [--all] [--json] [-c CONF]
 *
 * Purpose: the command's options, the configuration it borrows, and the
 * run: for each target, the identity's state at the sources, then the SES,
 * SPF and DMARC checks, then the table or the JSON document (doctor.h).
 * The configuration is loaded and started as the daemon starts it (the
 * configured resolver, SPF and DKIM settings, the identity sources), but
 * nothing is recorded: the audit trail is not opened, no socket, no PID
 * file, no privilege change.  Each target has its own deadline
 * (--timeout MS, default 20000).
 */
#include "config.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "engine/services.h"
#include "doctor/doctor.h"
#include "lib/log.h"
#include "lib/domain.h"

#define DOCTOR_EX_USAGE 64
#define DOCTOR_EX_CONFIG 78

doctor_check *
doctor_report_add(doctor_report *r, const char *id, doctor_status st, const char *fmt, ...)
{
    doctor_check *c;
    va_list ap;
    char text[2048];

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    r->v = xrealloc(r->v, (r->n + 1) * sizeof(*r->v));
    c = &r->v[r->n++];
    memset(c, 0, sizeof(*c));
    util_strlcpy(c->id, id, sizeof(c->id));
    c->status = st;
    c->text = xstrdup(text);
    return c;
}

void
doctor_check_fix(doctor_check *c, const char *fmt, ...)
{
    va_list ap;
    char text[2048];

    if (c == NULL || c->nfix >= DOCTOR_MAX_FIX)
        return;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    c->fix[c->nfix++] = xstrdup(text);
}

void
doctor_report_clear(doctor_report *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->v[i].text);
        for (size_t k = 0; k < r->v[i].nfix; k++)
            free(r->v[i].fix[k]);
    }
    free(r->v);
    r->v = NULL;
    r->n = 0;
}

int
doctor_report_exit(const doctor_report *r)
{
    int rc = DOCTOR_EXIT_OK;

    for (size_t i = 0; i < r->n; i++) {
        if (r->v[i].status == DOCTOR_ERROR)
            return DOCTOR_EXIT_ERROR;
        if (r->v[i].status == DOCTOR_FAIL)
            rc = DOCTOR_EXIT_FAIL;
    }
    return rc;
}

static void
doctor_usage(FILE *fp)
{
    fprintf(fp, "usage: ses-milter doctor [-c FILE] [--json] [--dkim-key FILE] [--timeout MS]\n"
                "                         DOMAIN|ADDRESS ... | --all\n"
                "  checks each sending domain for Amazon SES: verification, DKIM, custom MAIL\n"
                "  FROM, SPF, DMARC and the DNS mistakes of the SES troubleshooting guide\n"
                "  --all           every identity the configured sources list\n"
                "  --json          one JSON document instead of the table\n"
                "  --dkim-key FILE the BYODKIM key (PEM) to compare the published record with\n"
                "  exit 0 every check passed, 1 a check failed, 2 a resolver or source error\n");
}

/* doctor_engines - the configuration's resolver, SPF and DKIM engines, or our own */
static int
doctor_engines(doctor_ctx *ctx, char *err, size_t errlen)
{
    sm_services *x = services_of(ctx->conf);

    ctx->dns = x->dns;
    ctx->spf = x->spf;
    ctx->dkim = x->dkim;
    if (ctx->dns == NULL)
        ctx->dns = ctx->own_dns = dns_cache_new(&x->align->dns);
    if (ctx->spf == NULL &&
        (ctx->spf = ctx->own_spf = spf_ctx_new_cache(&x->spfo, ctx->dns, err, errlen)) == NULL)
        return -1;
    if (ctx->dkim == NULL &&
        (ctx->dkim = ctx->own_dkim = sdkim_engine_new(ctx->dns, &x->dkimo, err, errlen)) == NULL)
        return -1;
    return 0;
}

/* doctor_one - every check of one target */
static doctor_report *
doctor_one(doctor_ctx *ctx, const char *target)
{
    doctor_report *r = xcalloc(1, sizeof(*r));
    const char *at = strrchr(target, '@');

    util_strlcpy(r->target, target, sizeof(r->target));
    ctx->deadline_ms = util_now_ms() + (uint64_t)ctx->timeout_ms;
    if (domain_normalize(at != NULL ? at + 1 : target, DOMAIN_LOOSE, r->domain, sizeof(r->domain),
                         NULL, 0) < 0) {
        util_strlcpy(r->domain, at != NULL ? at + 1 : target, sizeof(r->domain));
        doctor_report_add(r, "domain", DOCTOR_FAIL, "%s is not a domain name", r->domain);
        return r;
    }
    doctor_ses_resolve(ctx, target, r->domain, &r->ses);
    doctor_checks_ses(ctx, r);
    doctor_checks_spf(ctx, r);
    doctor_checks_dmarc(ctx, r);
    return r;
}

/* doctor_run - the targets (or --all), printed; the exit status */
static int
doctor_run(doctor_ctx *ctx, char **targets, size_t n, int all, int json)
{
    char **list = NULL, err[1024];
    size_t nlist = 0;
    doctor_report **reps;
    int rc = DOCTOR_EXIT_OK, listerr = 0;

    if (all) {
        ctx->deadline_ms = util_now_ms() + (uint64_t)ctx->timeout_ms;
        if (doctor_ses_list(ctx, &list, &nlist, err, sizeof(err)) < 0) {
            fprintf(stderr, "ses-milter doctor: %s\n", err);
            listerr = 1;
        }
        targets = list;
        n = nlist;
    }
    reps = xcalloc(n + 1, sizeof(*reps));
    for (size_t i = 0; i < n; i++) {
        int e;
        reps[i] = doctor_one(ctx, targets[i]);
        e = doctor_report_exit(reps[i]);
        rc = e > rc ? e : rc;
        if (!json)
            doctor_out_table(stdout, reps[i]);
    }
    if (listerr)
        rc = DOCTOR_EXIT_ERROR;
    if (json)
        doctor_out_json(stdout, (const doctor_report *const *)reps, n, rc);
    fflush(stdout);
    for (size_t i = 0; i < n; i++) {
        doctor_report_clear(reps[i]);
        free(reps[i]);
    }
    free(reps);
    for (size_t i = 0; i < nlist; i++)
        free(list[i]);
    free(list);
    return rc;
}

int
doctor_main(int argc, char **argv)
{
    static const struct option longopts[] = {{"all", no_argument, NULL, 'a'},
                                             {"json", no_argument, NULL, 'j'},
                                             {"dkim-key", required_argument, NULL, 'k'},
                                             {"timeout", required_argument, NULL, 'T'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *path = conf_default_path();
    int opt, all = 0, json = 0, rc;
    doctor_ctx ctx;
    char err[1024];

    memset(&ctx, 0, sizeof(ctx));
    ctx.timeout_ms = 20000;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            path = optarg;
            break;
        case 'a':
            all = 1;
            break;
        case 'j':
            json = 1;
            break;
        case 'k':
            ctx.dkim_key = optarg;
            break;
        case 'T':
            ctx.timeout_ms = strtol(optarg, NULL, 10);
            if (ctx.timeout_ms < 100 || ctx.timeout_ms > 600000) {
                fprintf(stderr, "ses-milter doctor: --timeout: 100 to 600000 ms\n");
                return DOCTOR_EX_USAGE;
            }
            break;
        case 'h':
            doctor_usage(stdout);
            return 0;
        default:
            doctor_usage(stderr);
            return DOCTOR_EX_USAGE;
        }
    }
    if ((optind == argc) == !all) {
        doctor_usage(stderr);
        return DOCTOR_EX_USAGE;
    }
    log_open("ses-milter", LOG_MAIL, 1);
    log_set_level(LOG_ERR);
    if ((ctx.conf = conf_load(path, &services_conf_hooks, err, sizeof(err))) == NULL) {
        fprintf(stderr, "ses-milter: %s\n", err);
        return DOCTOR_EX_CONFIG;
    }
    services_no_audit(services_of(ctx.conf)); /* the doctor records nothing */
    if (conf_start(ctx.conf, err, sizeof(err)) < 0 || doctor_engines(&ctx, err, sizeof(err)) < 0) {
        fprintf(stderr, "ses-milter: %s\n", err);
        rc = DOCTOR_EX_CONFIG;
    } else {
        rc = doctor_run(&ctx, argv + optind, (size_t)(argc - optind), all, json);
    }
    ctx.own_dkim = sdkim_engine_free(ctx.own_dkim);
    ctx.own_spf = spf_ctx_free(ctx.own_spf);
    ctx.own_dns = dns_cache_free(ctx.own_dns);
    conf_free(ctx.conf);
    return rc;
}
