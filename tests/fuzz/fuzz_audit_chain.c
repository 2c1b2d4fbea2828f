/*
 * fuzz_audit_chain.c - libFuzzer target for the audit verifier
 *
 * Purpose: the input is the contents of an audit log file.  It is read the
 * way "ses-milter-audit verify --schema" and "report" read a file (through
 * audit_report_open/next on a path, so plain and gzip input both work:
 * the file is a memfd opened again as /proc/self/fd/N, nothing is written
 * to disk), and every line goes to
 *   - the chain verifier, unkeyed and with a key (src/audit/audit_chain.c),
 *   - the record schema check (audit_record_validate) and the report;
 * then the same lines, each given as "prev" the hash of the line before it
 * (so that the mutated records link and the verifier gets past the first
 * line), go to a third verifier; a blank line there starts a new "file".
 * Checked invariants (abort otherwise, so that libFuzzer records the input):
 * a verifier that has failed keeps failing; a verifier that accepted lines
 * reports as head the hash of the last one; every error names file:line.
 * Built only with ./configure --enable-fuzzing CC=clang (mk/fuzz.am).
 * Run: BUILDDIR/tests/fuzz/fuzz_audit_chain -dict=tests/fuzz/audit_chain.dict CORPUS
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "audit/audit_chain.h"
#include "audit/audit_record.h"
#include "audit/audit_report.h"
#include "lib/util.h"

const char *__asan_default_options(void);
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fuzz_fd = -1;
static char fuzz_path[64];
static FILE *fuzz_null;
static unsigned char fuzz_key_bytes[32] = "fuzz-audit-chain-hmac-key-012345";
static const audit_key fuzz_key = {fuzz_key_bytes, sizeof(fuzz_key_bytes)};

/* one verifier and what the harness knows about it */
typedef struct fuzz_ver {
    audit_verifier *v;
    int failed;
    char last[AUDIT_HASH_HEX]; /* hash of the last line it accepted */
} fuzz_ver;

/* fuzz_check - abort unless cond holds */
static void
fuzz_check(int cond)
{
    if (!cond)
        abort();
}

/*
 * __asan_default_options - a 16 MiB quarantine instead of 256: every input opens a
 * reader (a 64 KiB buffer, zlib's state) and parses JSON; with the default each of
 * those allocations gets fresh pages (page faults), at half the speed.  An input
 * frees far less than 16 MiB, so a use after free within one input is still seen.
 */
const char *
__asan_default_options(void)
{
    return "quarantine_size_mb=16";
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_fd = memfd_create("fuzz-audit", MFD_CLOEXEC);
    fuzz_check(fuzz_fd >= 0);
    snprintf(fuzz_path, sizeof(fuzz_path), "/proc/self/fd/%d", fuzz_fd);
    fuzz_null = fopen("/dev/null", "w");
    fuzz_check(fuzz_null != NULL);
    return 0;
}

/* fuzz_feed - one line to a verifier, checking the invariants */
static void
fuzz_feed(fuzz_ver *fv, const audit_key *key, const char *file, unsigned long lineno,
          const char *line, size_t len, int term)
{
    char err[1024] = "";
    int rc = audit_chain_verifier_line(fv->v, file, lineno, line, len, term, err, sizeof(err));

    if (rc < 0) {
        fuzz_check(strncmp(err, file, strlen(file)) == 0 && err[strlen(file)] == ':');
        fv->failed = 1;
        return;
    }
    fuzz_check(!fv->failed);
    audit_chain_hash(key, line, len, fv->last);
}

/* fuzz_done - the summary and head agree with what was accepted */
static void
fuzz_done(fuzz_ver *fv)
{
    char summary[512];

    audit_chain_verifier_summary(fv->v, summary, sizeof(summary));
    if (fv->last[0] != '\0')
        fuzz_check(strcmp(audit_chain_verifier_head(fv->v), fv->last) == 0);
    else
        fuzz_check(*audit_chain_verifier_head(fv->v) == '\0');
    fv->v = audit_chain_verifier_free(fv->v);
}

/* fuzz_relink - line with the first "prev":"<64 hex>" replaced by prev (allocated) */
static char *
fuzz_relink(const char *line, size_t len, const char *prev)
{
    static const char key[] = "\"prev\":\"";
    char *out = xmalloc(len + 1);
    const char *p;

    memcpy(out, line, len);
    out[len] = '\0';
    p = memmem(out, len, key, sizeof(key) - 1);
    if (p != NULL && (size_t)(p - out) + sizeof(key) - 1 + 64 <= len)
        memcpy(out + (p - out) + sizeof(key) - 1, prev, 64);
    return out;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_ver plain = {0}, keyed = {0}, linked = {0};
    char err[1024], prev[AUDIT_HASH_HEX] = AUDIT_CHAIN_GENESIS, file[32] = "audit.jsonl";
    audit_reader *rd;
    audit_report *rep;
    const char *line;
    size_t len;
    int term, got, nfile = 0;
    unsigned long lineno = 0, flineno = 0;

    if (size > 65536)
        return 0;
    fuzz_check(ftruncate(fuzz_fd, 0) == 0);
    fuzz_check(pwrite(fuzz_fd, data, size, 0) == (ssize_t)size);
    if (audit_report_open(fuzz_path, &rd, err, sizeof(err)) < 0)
        return 0;
    plain.v = audit_chain_verifier_new(NULL);
    keyed.v = audit_chain_verifier_new(&fuzz_key);
    linked.v = audit_chain_verifier_new(NULL);
    rep = audit_report_new(NULL, NULL);
    while ((got = audit_report_next(rd, &line, &len, &term, err, sizeof(err))) > 0) {
        json_t *rec;
        char *relinked;

        lineno++;
        fuzz_feed(&plain, NULL, "audit.jsonl", lineno, line, len, term);
        fuzz_feed(&keyed, &fuzz_key, "audit.jsonl", lineno, line, len, term);
        /* one parse for the schema check and the report (what audit_report_line does) */
        rec = json_loadb(line, len, 0, NULL);
        if (rec != NULL)
            (void)audit_record_validate(rec, err, sizeof(err));
        if (json_is_object(rec) && json_integer_value(json_object_get(rec, "v")) == 1)
            audit_report_add(rep, rec);
        else
            audit_report_line(rep, line, len); /* counted as invalid */
        json_decref(rec);
        if (len == 0) { /* a blank line: the next lines come from the next file */
            snprintf(file, sizeof(file), "audit.jsonl.%d", ++nfile);
            flineno = 0;
            continue;
        }
        relinked = fuzz_relink(line, len, prev);
        fuzz_feed(&linked, NULL, file, ++flineno, relinked, len, 1);
        audit_chain_hash(NULL, relinked, len, prev);
        free(relinked);
    }
    audit_report_print(fuzz_null, rep, (audit_report_format)(size % 3));
    audit_report_free(rep);
    audit_report_close(rd);
    fuzz_done(&plain);
    fuzz_done(&keyed);
    fuzz_done(&linked);
    return 0;
}
