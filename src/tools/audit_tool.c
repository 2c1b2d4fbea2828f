/*
 * audit_tool.c - ses-milter-audit: verify and report on the audit trail
 *
 * Synopsis:
 *   ses-milter-audit verify [--key FILE] [--schema] [--quiet] FILE...
 *   ses-milter-audit report [--from TIME] [--to TIME] [--format text|csv|json] FILE...
 *
 * verify reads the files in chain order (oldest first: audit.jsonl.2.gz
 * audit.jsonl.1 audit.jsonl) and prints the first line at which the chain
 * breaks ("FILE:LINE: chain broken: prev does not match line N"), exit 1;
 * or a summary with the head hash, exit 0.  Exit 2: usage or I/O error.
 * report summarises records within [--from, --to) (UTC).
 * Files may be gzip-compressed; "-" reads standard input.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit_chain.h"
#include "audit/audit_record.h"
#include "audit/audit_report.h"
#include "lib/util.h"

#define EXIT_BROKEN 1
#define EXIT_USAGE 2

static void
audit_tool_usage(FILE *fp)
{
    fprintf(fp, "usage: ses-milter-audit verify [--key FILE] [--schema] [--quiet] FILE...\n"
                "       ses-milter-audit report [--from TIME] [--to TIME] "
                "[--format text|csv|json] FILE...\n"
                "       ses-milter-audit --version\n"
                "FILEs in chain order, oldest first; .gz files are read as they are;\n"
                "TIME is UTC: YYYY-MM-DD[THH:MM[:SS]][Z]\n");
}

/* audit_tool_schema - check one line against the record schema */
static int
audit_tool_schema(const char *file, unsigned long lineno, const char *line, size_t len)
{
    char err[256];
    json_t *rec = json_loadb(line, len, 0, NULL);
    int rc = rec ? audit_record_validate(rec, err, sizeof(err)) : -1;

    if (rec == NULL)
        snprintf(err, sizeof(err), "not JSON");
    json_decref(rec);
    if (rc < 0)
        printf("%s:%lu: schema: %s\n", file, lineno, err);
    return rc;
}

/* audit_tool_verify_file - feed one file to the verifier; 0, EXIT_BROKEN or EXIT_USAGE */
static int
audit_tool_verify_file(audit_verifier *v, const char *file, int schema)
{
    char err[1024];
    audit_reader *rd;
    const char *line;
    size_t len;
    int term, got, rc = 0;
    unsigned long lineno = 0;

    if (audit_report_open(file, &rd, err, sizeof(err)) < 0) {
        fprintf(stderr, "ses-milter-audit: %s\n", err);
        return EXIT_USAGE;
    }
    while (rc == 0 && (got = audit_report_next(rd, &line, &len, &term, err, sizeof(err))) > 0) {
        lineno++;
        if (audit_chain_verifier_line(v, file, lineno, line, len, term, err, sizeof(err)) < 0) {
            printf("%s\n", err);
            rc = EXIT_BROKEN;
        } else if (schema && audit_tool_schema(file, lineno, line, len) < 0) {
            rc = EXIT_BROKEN;
        }
    }
    if (rc == 0 && got < 0) {
        printf("%s:%lu: %s\n", file, lineno + 1, err);
        rc = EXIT_BROKEN;
    }
    audit_report_close(rd);
    return rc;
}

static int
audit_tool_verify(int argc, char **argv)
{
    static const struct option opts[] = {{"key", required_argument, NULL, 'k'},
                                         {"schema", no_argument, NULL, 's'},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *keyfile = NULL;
    int c, schema = 0, quiet = 0, rc = 0;
    char err[1024], summary[512];
    audit_key *key = NULL;
    audit_verifier *v;

    while ((c = getopt_long(argc, argv, "k:sqh", opts, NULL)) != -1) {
        switch (c) {
        case 'k':
            keyfile = optarg;
            break;
        case 's':
            schema = 1;
            break;
        case 'q':
            quiet = 1;
            break;
        case 'h':
            audit_tool_usage(stdout);
            return 0;
        default:
            audit_tool_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        audit_tool_usage(stderr);
        return EXIT_USAGE;
    }
    if (keyfile != NULL && audit_chain_key_load(keyfile, &key, err, sizeof(err)) < 0) {
        fprintf(stderr, "ses-milter-audit: %s\n", err);
        return EXIT_USAGE;
    }
    v = audit_chain_verifier_new(key);
    for (int i = optind; rc == 0 && i < argc; i++)
        rc = audit_tool_verify_file(v, argv[i], schema);
    if (rc == 0 && !quiet) {
        audit_chain_verifier_summary(v, summary, sizeof(summary));
        printf("OK: %s\n", summary);
    }
    audit_chain_verifier_free(v);
    audit_chain_key_free(key);
    return rc;
}

/* audit_tool_report_file - count every line of one file; 0 or EXIT_USAGE */
static int
audit_tool_report_file(audit_report *r, const char *file)
{
    char err[1024];
    audit_reader *rd;
    const char *line;
    size_t len;
    int term, got;

    if (audit_report_open(file, &rd, err, sizeof(err)) < 0) {
        fprintf(stderr, "ses-milter-audit: %s\n", err);
        return EXIT_USAGE;
    }
    while ((got = audit_report_next(rd, &line, &len, &term, err, sizeof(err))) > 0)
        audit_report_line(r, line, len);
    audit_report_close(rd);
    if (got < 0) {
        fprintf(stderr, "ses-milter-audit: %s\n", err);
        return EXIT_USAGE;
    }
    return 0;
}

/* audit_tool_time - parse a --from/--to argument into out */
static int
audit_tool_time(const char *opt, const char *arg, char *out, size_t len)
{
    if (audit_report_time_arg(arg, out, len) == 0)
        return 0;
    fprintf(stderr, "ses-milter-audit: %s \"%s\": expected YYYY-MM-DD[THH:MM[:SS]][Z]\n", opt, arg);
    return -1;
}

static int
audit_tool_report(int argc, char **argv)
{
    static const struct option opts[] = {{"from", required_argument, NULL, 'f'},
                                         {"to", required_argument, NULL, 't'},
                                         {"format", required_argument, NULL, 'F'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    char from[32] = "", to[32] = "";
    audit_report_format fmt = AUDIT_REPORT_TEXT;
    audit_report *r;
    int c, rc = 0;

    while ((c = getopt_long(argc, argv, "f:t:F:h", opts, NULL)) != -1) {
        switch (c) {
        case 'f':
            if (audit_tool_time("--from", optarg, from, sizeof(from)) < 0)
                return EXIT_USAGE;
            break;
        case 't':
            if (audit_tool_time("--to", optarg, to, sizeof(to)) < 0)
                return EXIT_USAGE;
            break;
        case 'F':
            if (strcmp(optarg, "text") == 0)
                fmt = AUDIT_REPORT_TEXT;
            else if (strcmp(optarg, "csv") == 0)
                fmt = AUDIT_REPORT_CSV;
            else if (strcmp(optarg, "json") == 0)
                fmt = AUDIT_REPORT_JSON;
            else {
                fprintf(stderr, "ses-milter-audit: --format must be text, csv or json\n");
                return EXIT_USAGE;
            }
            break;
        case 'h':
            audit_tool_usage(stdout);
            return 0;
        default:
            audit_tool_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        audit_tool_usage(stderr);
        return EXIT_USAGE;
    }
    r = audit_report_new(from, to);
    for (int i = optind; rc == 0 && i < argc; i++)
        rc = audit_tool_report_file(r, argv[i]);
    if (rc == 0)
        audit_report_print(stdout, r, fmt);
    audit_report_free(r);
    return rc;
}

int
main(int argc, char **argv)
{
    if (argc < 2) {
        audit_tool_usage(stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("ses-milter-audit %s (audit schema v%d)\n", PACKAGE_VERSION, AUDIT_SCHEMA_VERSION);
        return 0;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        audit_tool_usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "verify") == 0)
        return audit_tool_verify(argc - 1, argv + 1);
    if (strcmp(argv[1], "report") == 0)
        return audit_tool_report(argc - 1, argv + 1);
    fprintf(stderr, "ses-milter-audit: unknown command \"%s\"\n", argv[1]);
    audit_tool_usage(stderr);
    return EXIT_USAGE;
}
