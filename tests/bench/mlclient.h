/*
 * mlclient.h - a minimal MTA side of the milter protocol, for the load driver
 *
 * Speaks protocol version 6 (libmilter/mfdef.h constants) to one milter over
 * a unix or inet socket: option negotiation, CONNECT, HELO, MAIL, RCPT,
 * HEADER, EOH, BODY, EOM, ABORT, QUIT, with the macros ses-milter reads
 * (j at CONNECT, {i} and optionally {auth_authen} at MAIL).  Stages the
 * milter opted out of are not sent; replies it said it would not send are
 * not awaited; SMFIR_SKIP ends the body early; ACCEPT / REJECT / TEMPFAIL /
 * DISCARD / REPLYCODE at any stage end the transaction; header changes at
 * EOM are collected until the final reply.
 *
 * Corpus messages are plain RFC 5322 files, LF or CRLF, optionally
 * preceded by envelope lines:
 *   #env from ADDR      MAIL FROM (default: the From: address)
 *   #env rcpt ADDR      RCPT TO, repeatable (default: bench@example.org)
 *   #env ip ADDR        client IPv4 address (default: the driver's -a)
 *   #env auth USER      {auth_authen} macro
 *   #env helo NAME      HELO name
 */
#ifndef SM_BENCH_MLCLIENT_H
#define SM_BENCH_MLCLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* stages timed per message */
enum { ML_ST_CONN, ML_ST_MAIL, ML_ST_RCPT, ML_ST_HDR, ML_ST_BODY, ML_ST_EOM, ML_ST_N };

/* outcomes of one transaction */
enum {
    ML_OUT_ACCEPT,   /* EOM continue/accept, or ACCEPT earlier */
    ML_OUT_REJECT,   /* REJECT or 5xx REPLYCODE */
    ML_OUT_TEMPFAIL, /* TEMPFAIL or 4xx REPLYCODE */
    ML_OUT_DISCARD,
    ML_OUT_ERROR, /* I/O, timeout or protocol error: the connection is dropped */
    ML_OUT_N
};

typedef struct ml_hdr {
    char *name;
    char *value; /* unfolded lines joined by "\n", leading space kept */
} ml_hdr;

typedef struct ml_msg {
    char *path;
    char *from;
    char **rcpt;
    size_t nrcpt;
    char *ip;
    char *auth;
    char *helo;
    ml_hdr *hdr;
    size_t nhdr;
    char *body; /* CRLF line ends */
    size_t bodylen;
} ml_msg;

typedef struct ml_conn {
    int fd;
    int timeout_ms;
    uint32_t actions;  /* negotiated SMFIF_* */
    uint32_t protocol; /* negotiated SMFIP_* */
    char err[160];
} ml_conn;

/* collected header changes at EOM (for -o: write the message as changed) */
typedef struct ml_mods {
    ml_hdr *ins; /* inserted at the top (SMFIR_INSHEADER) */
    size_t nins;
    ml_hdr *add; /* appended (SMFIR_ADDHEADER) */
    size_t nadd;
    unsigned changes; /* SMFIR_CHGHEADER and other modifications, counted */
} ml_mods;

/* mlclient_msg_load - parse one corpus file; NULL with err set on failure */
ml_msg *mlclient_msg_load(const char *path, char *err, size_t errlen);
/* mlclient_msg_free - release a message; returns NULL */
ml_msg *mlclient_msg_free(ml_msg *m);
/* mlclient_msg_write - write M with MODS applied (envelope lines kept) to FP */
int mlclient_msg_write(FILE *fp, const ml_msg *m, const ml_mods *mods);
/* mlclient_mods_clear - free collected modifications */
void mlclient_mods_clear(ml_mods *mods);

/* mlclient_open - connect to SOCK (unix:/path, /path, inet:PORT@HOST) and negotiate */
int mlclient_open(ml_conn *c, const char *sock, int timeout_ms);
/* mlclient_close - send QUIT and close */
void mlclient_close(ml_conn *c);
/* mlclient_connect - CONNECT (+ HELO) for a new SMTP session; <0 on error, else outcome */
int mlclient_connect(ml_conn *c, const ml_msg *m, const char *client_ip, const char *jname);
/* mlclient_txn - one transaction; fills stage times (us); returns ML_OUT_* */
int mlclient_txn(ml_conn *c, const ml_msg *m, const char *qid, uint32_t st_us[ML_ST_N],
                 ml_mods *mods);
/* mlclient_abort - SMFIC_ABORT after a transaction that ended before EOM */
int mlclient_abort(ml_conn *c);
/* mlclient_now_us - monotonic clock in microseconds */
uint64_t mlclient_now_us(void);

#endif
