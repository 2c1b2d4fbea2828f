/*
 * msg.h - per-connection and per-message state, and the verdict
 *
 * One sm_msg lives as long as the MTA's connection.  msg_reset() clears
 * the transaction part at the end of each message and on abort, so a
 * connection that carries several messages starts each one clean.  The
 * message holds a reference to the configuration snapshot it started
 * with.  Only headers are kept (bounded; From and Sender are counted and
 * kept past the bounds, which are remembered as hdr_overflow); the body is
 * streamed to the DKIM verifier and never copied.
 */
#ifndef SM_MSG_H
#define SM_MSG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "conf/conf.h"
#include "conf/scope.h"

#define MSG_MAX_HEADERS 1000
#define MSG_MAX_HEADER_BYTES (256 * 1024)
/* fields a concern needs (From, Sender, the unsubscribe headers) are kept past the
 * limits, up to this many more, each up to ADDR_MAX_FIELD bytes; From and Sender
 * fields are all counted */
#define MSG_MAX_KEPT_OVER 32

typedef struct msg_header {
    char *name;
    char *value;
} msg_header;

typedef enum verdict_action {
    VERDICT_ACCEPT = 0,
    VERDICT_REJECT,
    VERDICT_TEMPFAIL,
    VERDICT_QUARANTINE,
    VERDICT_DISCARD,
} verdict_action;

typedef struct verdict_hdr_del {
    char *name;
    int index; /* 1-based among headers of that name, as smfi_chgheader wants */
} verdict_hdr_del;

typedef struct sm_verdict {
    verdict_action action;
    char code[4];  /* "550", "451" */
    char xcode[8]; /* "5.7.1" */
    char *text;    /* reply text (no CR/LF) */
    char *reason;  /* quarantine reason / log reason */
    msg_header *add;
    size_t nadd;
    verdict_hdr_del *del;
    size_t ndel;
    char **delrcpt; /* recipients to remove (smfi_delrcpt), as given at RCPT TO */
    size_t ndelrcpt;
} sm_verdict;

typedef struct sm_msg {
    /* connection */
    struct sockaddr_storage client_addr;
    int have_addr;
    int client_port;
    char *client_name;
    unsigned long msg_count; /* messages on this connection */
    int leadspc;             /* header values keep their leading space (SMFIP_HDR_LEADSPC) */
    int can_skip;            /* the MTA understands SMFIS_SKIP */
    int in_txn;              /* counted as a transaction in flight */
    unsigned long noreply;   /* SMFIP_NR_* steps negotiated: answer SMFIS_NOREPLY there */
    /* transaction */
    sm_conf *conf;
    char qid[64];
    char *auth_authen;
    char *mta_name; /* the MTA's own name (macro j), NULL when not given */
    scope_why scope;
    char *env_from; /* MAIL FROM argument as given, e.g. "<a@b>" */
    int smtputf8;   /* MAIL FROM carried SMTPUTF8: replies may be UTF-8 (RFC 6531) */
    char **rcpts;
    size_t nrcpts;
    size_t n_rcpt_local; /* recipients the MTA delivers on this host ({rcpt_mailer}) */
    msg_header *hdrs;
    size_t nhdrs;
    size_t hdr_bytes;
    int hdr_overflow;     /* a field was not kept: over MSG_MAX_HEADERS or _BYTES */
    size_t n_kept_over;   /* needed fields kept past the limits */
    size_t n_from_seen;   /* every From field seen, kept or not */
    size_t n_sender_seen; /* every Sender field seen, kept or not */
    int want_body;
    uint64_t started_ms;
    sm_verdict verdict;
    struct msg_ext *ext; /* the concerns' per-message state (engine.c) */
    /* ext_free - frees ext; set by the engine with it, so that msg.c need not know the
     * engine (the dependency goes one way: engine -> msg) */
    void (*ext_free)(struct sm_msg *m);
} sm_msg;

sm_msg *msg_new(void);
/* msg_reset - end of a transaction: free its state, release its configuration */
void msg_reset(sm_msg *m);
/* msg_free - end of the connection; returns NULL */
sm_msg *msg_free(sm_msg *m);
void msg_set_client(sm_msg *m, const char *hostname, const struct sockaddr *sa);
/* msg_add_header - keep a header; returns 0, or -1 when over the bounds (remembered in
 * hdr_overflow).  From and Sender are counted always; they and the fields the caller
 * says it needs are kept past the bounds (up to MSG_MAX_KEPT_OVER more), so that
 * padding cannot hide them. */
int msg_add_header(sm_msg *m, const char *name, const char *value, int needed);
/* msg_set_mail_args - the ESMTP parameters of MAIL FROM (NULL-terminated; may be NULL) */
void msg_set_mail_args(sm_msg *m, char *const *args);
void msg_add_rcpt(sm_msg *m, const char *rcpt);
/* msg_header_count / msg_header_get - headers by name, case-insensitive, 0-based */
size_t msg_header_count(const sm_msg *m, const char *name);
const char *msg_header_get(const sm_msg *m, const char *name, size_t idx);
/* msg_client_ip - client address as text ("" when none) */
const char *msg_client_ip(const sm_msg *m, char *buf, size_t len);

/* verdict helpers */
void verdict_set(sm_verdict *v, verdict_action a, const char *code, const char *xcode,
                 const char *text);
void verdict_add_header(sm_verdict *v, const char *name, const char *value);
void verdict_del_header(sm_verdict *v, const char *name, int index);
void verdict_del_rcpt(sm_verdict *v, const char *rcpt);
void verdict_clear(sm_verdict *v);
const char *verdict_action_name(verdict_action a);

#endif
