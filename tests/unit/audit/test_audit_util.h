/*
 * test_audit_util.h - shared helpers for the audit tests
 *
 * Sample messages (accepted, refused, tempfailed, aborted), a temporary
 * directory, key files, and chain verification of files through the same
 * reader and verifier that ses-milter-audit uses, so that each test reads
 * in a few lines.  Everything is static inline: each test program includes
 * this once.
 */
#ifndef TEST_AUDIT_UTIL_H
#define TEST_AUDIT_UTIL_H

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/audit.h"
#include "audit/audit_chain.h"
#include "audit/audit_record.h"
#include "audit/audit_report.h"
#include "lib/util.h"

/* 2026-11-24T10:00:00.000Z */
#define TA_T0 1795514400000ULL

static const char *const ta_rcpts2[] = {"Bob@Example.NET", "carol@example.org"};
static const char *const ta_ips[] = {"192.0.2.10"};
static const char *const ta_advice[] = {"enable SES DKIM for example.com",
                                        "set a custom MAIL FROM domain"};

static const audit_lookup ta_lookup_ok[] = {
    {"alice@example.com", AUDIT_ROLE_FROM, "example.com", "ses", "ses-us-east-1",
     AUDIT_ANSWER_VERIFIED, AUDIT_CACHE_HIT, 42},
    {"bounce@mail.example.com", AUDIT_ROLE_ENVELOPE, "example.com", "ses", "ses-us-east-1",
     AUDIT_ANSWER_VERIFIED, AUDIT_CACHE_MISS, 0},
};
static const audit_lookup ta_lookup_bad[] = {
    {"mallory@evil.test", AUDIT_ROLE_FROM, NULL, "ses", "ses-us-east-1", AUDIT_ANSWER_NOT_VERIFIED,
     AUDIT_CACHE_STALE, 700},
};
static const audit_lookup ta_lookup_temp[] = {
    {"alice@example.com", AUDIT_ROLE_FROM, NULL, "ses", "ses-us-east-1", AUDIT_ANSWER_TEMPFAIL,
     AUDIT_CACHE_MISS, -1},
};
static const audit_dkim ta_dkim_ok[] = {
    {"example.com", "ses1", "rsa-sha256", "predicted-pass"},
    {"amazonses.com", "224i4yxa", "rsa-sha256", "predicted-pass"},
};
static const audit_spf ta_spf_ok = {"mail.example.com", ta_ips, 1, "pass"};
static const audit_spf ta_spf_bad = {"evil.test", ta_ips, 1, "fail"};
static const audit_dmarc ta_dmarc_ok = {"example.com", "reject", "pass", 1, 1, NULL, 0, NULL};
static const audit_dmarc ta_dmarc_bad = {"evil.test", "quarantine", "fail", 0,
                                         0,           ta_advice,    2,      NULL};
static const audit_header ta_unsub[] = {
    {"List-Unsubscribe", "<https://example.com/u/1>, <mailto:u@example.com>"},
    {"List-Unsubscribe-Post", "List-Unsubscribe=One-Click"},
};

/* ta_msg_accepted - a complete, accepted, outgoing message */
static inline audit_msg
ta_msg_accepted(void)
{
    audit_msg m = {0};

    m.time_ms = TA_T0 + 123;
    m.queue_id = "4AbC1x2Yz";
    m.client_addr = "192.0.2.10";
    m.client_name = "app1.example.com";
    m.auth_user = "alice";
    m.scope = AUDIT_SCOPE_AUTHENTICATED;
    m.env_from = "bounce@mail.example.com";
    m.rcpts = ta_rcpts2;
    m.n_rcpts = 2;
    m.from = "alice@example.com";
    m.sender = NULL;
    m.lookups = ta_lookup_ok;
    m.n_lookups = 2;
    m.dkim = ta_dkim_ok;
    m.n_dkim = 2;
    m.spf = &ta_spf_ok;
    m.dmarc = &ta_dmarc_ok;
    m.unsub = ta_unsub;
    m.n_unsub = 2;
    m.action = AUDIT_ACTION_ACCEPT;
    m.config_version = "sha256:cafe";
    m.program_version = "0.1.0-test";
    m.outcome = AUDIT_OUTCOME_COMPLETED;
    return m;
}

/* ta_msg_refused - an unverified From: rejected with 550 5.7.1 */
static inline audit_msg
ta_msg_refused(void)
{
    audit_msg m = ta_msg_accepted();

    m.queue_id = "5DeF3g4Hi";
    m.auth_user = NULL;
    m.scope = AUDIT_SCOPE_INTERNAL_NETWORK;
    m.env_from = "mallory@evil.test";
    m.rcpts = ta_rcpts2;
    m.n_rcpts = 1;
    m.from = "mallory@evil.test";
    m.sender = "helper@evil.test";
    m.lookups = ta_lookup_bad;
    m.n_lookups = 1;
    m.dkim = NULL;
    m.n_dkim = 0;
    m.spf = &ta_spf_bad;
    m.dmarc = &ta_dmarc_bad;
    m.unsub = NULL;
    m.n_unsub = 0;
    m.action = AUDIT_ACTION_REJECT;
    m.reply_code = 550;
    m.reply_xcode = "5.7.1";
    m.reply_text = "Sender identity mallory@evil.test is not verified";
    return m;
}

/* ta_msg_tempfailed - the identity source could not answer */
static inline audit_msg
ta_msg_tempfailed(void)
{
    audit_msg m = ta_msg_accepted();

    m.queue_id = "6GhI5j6Kl";
    m.scope = AUDIT_SCOPE_LOCAL_SUBMISSION;
    m.auth_user = NULL;
    m.client_addr = "127.0.0.1";
    m.client_name = "localhost";
    m.lookups = ta_lookup_temp;
    m.n_lookups = 1;
    m.spf = NULL;
    m.dmarc = NULL;
    m.unsub = NULL;
    m.n_unsub = 0;
    m.action = AUDIT_ACTION_TEMPFAIL;
    m.reply_code = 451;
    m.reply_xcode = "4.7.1";
    m.reply_text = "Identity source unavailable, try again later";
    return m;
}

/* ta_msg_aborted - a transaction aborted before end of message: little is known */
static inline audit_msg
ta_msg_aborted(void)
{
    audit_msg m = {0};

    m.time_ms = TA_T0 + 999;
    m.client_addr = "198.51.100.7";
    m.scope = AUDIT_SCOPE_EXTERNAL;
    m.action = AUDIT_ACTION_ABORTED;
    m.outcome = AUDIT_OUTCOME_ABORTED;
    return m;
}

/* ta_tmpdir - a fresh temporary directory (caller removes it with ta_rmdir) */
static inline char *
ta_tmpdir(void)
{
    char *d = xstrdup("/tmp/sm-audit-test-XXXXXX");

    if (mkdtemp(d) == NULL)
        abort();
    return d;
}

/* ta_rmdir - remove a temporary directory and the files in it */
static inline void
ta_rmdir(char *dir)
{
    char *cmd = xasprintf("rm -rf '%s'", dir);

    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
    free(cmd);
    free(dir);
}

/* ta_write_file - write text to path with mode; returns path (caller frees) */
static inline char *
ta_write_file(const char *dir, const char *name, const char *text, size_t len, int mode)
{
    char *path = xasprintf("%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

    if (fd < 0 || write(fd, text, len) != (ssize_t)len)
        abort();
    fchmod(fd, (mode_t)mode);
    close(fd);
    return path;
}

/* ta_read_file - the whole file, NUL-terminated (caller frees) */
static inline char *
ta_read_file(const char *path, size_t *len_r)
{
    FILE *fp = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0, n;
    char chunk[8192];

    if (len_r != NULL)
        *len_r = 0;
    if (fp == NULL)
        return NULL;
    while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
        buf = xrealloc(buf, len + n + 1);
        memcpy(buf + len, chunk, n);
        len += n;
    }
    fclose(fp);
    if (buf == NULL)
        buf = xcalloc(1, 1);
    buf[len] = '\0';
    if (len_r != NULL)
        *len_r = len;
    return buf;
}

/* ta_conf - defaults, pointed at file, plain recipients, no keys */
static inline audit_conf *
ta_conf(const char *file)
{
    audit_conf *c = NULL;

    if (audit_conf_parse(NULL, &c, NULL, 0) < 0)
        abort();
    free(c->file);
    c->file = xstrdup(file);
    c->recipients = AUDIT_RCPT_PLAIN;
    c->fsync = AUDIT_FSYNC_NEVER;
    return c;
}

/*
 * ta_verify - verify files in order with the tool's reader and verifier;
 * 0 when intact, -1 with the first problem in err
 */
static inline int
ta_verify(const char *const *files, size_t n, const audit_key *key, char *err, size_t errlen)
{
    audit_verifier *v = audit_chain_verifier_new(key);
    int rc = 0;

    for (size_t i = 0; rc == 0 && i < n; i++) {
        audit_reader *rd;
        const char *line;
        size_t len;
        int term, got = 0;
        unsigned long no = 0;

        if (audit_report_open(files[i], &rd, err, errlen) < 0) {
            rc = -1;
            break;
        }
        while (rc == 0 && (got = audit_report_next(rd, &line, &len, &term, err, errlen)) > 0)
            rc = audit_chain_verifier_line(v, files[i], ++no, line, len, term, err, errlen);
        if (got < 0)
            rc = -1;
        audit_report_close(rd);
    }
    audit_chain_verifier_free(v);
    return rc;
}

/* ta_count_lines - newline count of a file */
static inline size_t
ta_count_lines(const char *path)
{
    size_t len, n = 0;
    char *s = ta_read_file(path, &len);

    for (size_t i = 0; s && i < len; i++)
        n += s[i] == '\n';
    free(s);
    return n;
}

#endif
