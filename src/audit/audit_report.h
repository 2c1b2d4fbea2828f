/*
 * audit_report.h - read audit files (plain or .gz) and summarise them
 *
 * The reader hands out lines exactly as stored (bytes, length, whether a
 * newline ended them) so that the chain verifier hashes what is on disk;
 * gzip files are inflated on the fly through zlib, plain files pass through.
 *
 * The report counts messages, refusals, quarantines, tempfails, alignment
 * failures by reason and unsubscribe headers added, in total, per From
 * domain and per identity (the identity that answered the From lookup),
 * within an optional time window, and prints text, CSV or JSON.
 *
 * This file is linked into ses-milter-audit and its tests only (it needs
 * -lz), not into the daemon.
 */
#ifndef SM_AUDIT_REPORT_H
#define SM_AUDIT_REPORT_H

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

typedef struct audit_reader audit_reader;

/* audit_report_open - open path ("-" for stdin) for reading lines; 0 or -1 */
int audit_report_open(const char *path, audit_reader **rd_r, char *err, size_t errlen);
/*
 * audit_report_next - the next line: 1 with *line (valid until the next
 * call; NUL-terminated, may contain NUL bytes), *len and *terminated;
 * 0 at end of file; -1 on a read error.
 */
int audit_report_next(audit_reader *rd, const char **line, size_t *len, int *terminated, char *err,
                      size_t errlen);
/* audit_report_close - returns NULL */
audit_reader *audit_report_close(audit_reader *rd);

typedef enum audit_report_format {
    AUDIT_REPORT_TEXT = 0,
    AUDIT_REPORT_CSV,
    AUDIT_REPORT_JSON,
} audit_report_format;

typedef struct audit_report audit_report;

/*
 * audit_report_time_arg - normalise "YYYY-MM-DD[THH:MM[:SS[.mmm]]][Z]" (UTC)
 * to the record layout in out (>= 25 bytes); 0 or -1
 */
int audit_report_time_arg(const char *in, char *out, size_t len);
/* audit_report_new - a report over [from, to) (normalised times, either may be NULL) */
audit_report *audit_report_new(const char *from, const char *to);
/* audit_report_line - count one stored line; lines that are not records are counted as invalid */
void audit_report_line(audit_report *r, const char *line, size_t len);
/* audit_report_add - count one parsed record (if inside the time window) */
void audit_report_add(audit_report *r, const json_t *rec);
/* audit_report_print - write the report in the chosen format */
void audit_report_print(FILE *fp, const audit_report *r, audit_report_format fmt);
/* audit_report_free - returns NULL */
audit_report *audit_report_free(audit_report *r);

#endif
