/*
 * engine_input.h - the facts one message brings, as one struct, and one call that decides it
 *
 * The milter layer feeds the engine stage by stage as libmilter calls it
 * (milter.c); engine_input_run feeds it the same facts in the same order
 * from one struct, so the engine's decisions can be driven without
 * libmilter or a daemon (tests/unit/engine/test_engine_table.c): the
 * connection, AUTH, the envelope, the header fields and the body in; the
 * verdict (m->verdict: action, reply, header and recipient changes), the
 * recipients refused at RCPT and the audit record out.
 */
#ifndef SM_ENGINE_INPUT_H
#define SM_ENGINE_INPUT_H

#include <stddef.h>
#include <sys/socket.h>

#include "engine/engine.h"
#include "engine/msg.h"

typedef struct engine_input_header {
    const char *name, *value;
} engine_input_header;

typedef struct engine_input {
    /* the connection (milter_connect) */
    const struct sockaddr *client; /* address and port; NULL: none (a pipe, sendmail -bs) */
    const char *hostname;          /* the MTA's name of the client ("localhost" for pickup) */
    const char *qid;               /* the MTA's queue id, NULL: none yet */
    /* AUTH ({auth_authen}), NULL: not authenticated */
    const char *auth_authen;
    /* the envelope */
    const char *env_from;     /* MAIL FROM argument, "<a@b>" */
    char *const *mail_args;   /* its ESMTP parameters, NULL-terminated; NULL: none */
    const char *const *rcpts; /* RCPT TO arguments */
    size_t nrcpts;
    const char *rcpt_mailer; /* {rcpt_mailer} of every recipient, NULL: none */
    /* the header fields, in order, and the body */
    const engine_input_header *headers;
    size_t nheaders;
    const unsigned char *body;
    size_t bodylen;
} engine_input;

/* what engine_input_run did with the message */
typedef enum engine_input_result {
    ENGINE_INPUT_NO_CONF = -1,  /* no configuration published: the milter tempfails */
    ENGINE_INPUT_INBOUND = 0,   /* out of scope: passed untouched, no audit record */
    ENGINE_INPUT_DECIDED,       /* decided at end of message: m->verdict */
    ENGINE_INPUT_RCPTS_REFUSED, /* every recipient refused at RCPT: aborted, no DATA */
} engine_input_result;

/*
 * engine_input_run - one message of in through the engine on a fresh (or reset) m;
 * refused, when not NULL, gets one engine_rcpt_result per recipient and *last the
 * reply of the last recipient refused (untouched when none is).  The caller frees m.
 */
engine_input_result engine_input_run(sm_msg *m, const engine_input *in, int *refused,
                                     engine_reply *last);

#endif
