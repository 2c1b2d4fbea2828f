/*
 * engine.h - the policy engine: facts in, verdict out
 *
 * The milter callbacks hand each stage of a message to the engine; the
 * engine knows nothing of libmilter.  It decides scope at MAIL FROM, lets
 * the concerns see headers and body as they stream, and at end of message
 * runs the identity gate, the alignment checks and the unsubscribe rules,
 * turns their outcomes into one verdict (sm_msg.verdict), writes the audit
 * record and logs the one summary line.
 */
#ifndef SM_ENGINE_H
#define SM_ENGINE_H

#include <stddef.h>

#include "engine/msg.h"

/* engine_msg_start - MAIL FROM: returns 0, or -1 when no configuration is loaded */
int engine_msg_start(sm_msg *m);
/*
 * engine_probe_start - ses-milter -t: MAIL FROM of a message that is in scope whatever
 * its client; engine_eom then decides exactly as for a real message (m->verdict, the
 * outcomes in m->ext) but writes no audit record and logs no line (engine_probe.h)
 */
int engine_probe_start(sm_msg *m);
/* engine_pass_inbound - log (debug) that mail out of scope passes untouched */
void engine_pass_inbound(sm_msg *m);
/* engine_outgoing - whether the current message is in scope */
int engine_outgoing(const sm_msg *m);
/* what engine_rcpt says about a recipient */
typedef enum engine_rcpt_result {
    ENGINE_RCPT_CONTINUE = 0, /* accepted */
    ENGINE_RCPT_REJECT,       /* refuse this recipient: 5xx reply */
    ENGINE_RCPT_TEMPFAIL,     /* refuse it for now: 4xx reply */
} engine_rcpt_result;

/* the reply for a refused recipient */
typedef struct engine_reply {
    char code[4];   /* "550" */
    char xcode[8];  /* "5.1.1" */
    char text[512]; /* printable ASCII, no CR/LF */
} engine_reply;

/*
 * engine_rcpt - a recipient of outgoing mail, with the MTA's {rcpt_mailer} (may be
 * NULL); returns an engine_rcpt_result, with *reply set when it is not CONTINUE.
 * reply NULL: the MTA does not wait for this reply (negotiated before a reload turned
 * a check on), so nothing is refused: always CONTINUE.
 */
int engine_rcpt(sm_msg *m, const char *rcpt, const char *mailer, engine_reply *reply);
/* engine_rcpt_wants_reply - whether the current configuration may refuse at RCPT (the MTA
 * must then wait for the RCPT reply) */
int engine_rcpt_wants_reply(void);
void engine_header(sm_msg *m, const char *name, const char *value);
/* engine_eoh - returns 1 when the engine wants the body */
int engine_eoh(sm_msg *m);
/* engine_body - returns 1 while the engine still wants body chunks */
int engine_body(sm_msg *m, const unsigned char *chunk, size_t len);
/* engine_eom - decide; the verdict is in m->verdict */
void engine_eom(sm_msg *m);
/* engine_abort - the MTA gave up on the message */
void engine_abort(sm_msg *m);
/* engine_msg_free - free the concerns' per-message state */
void engine_msg_free(sm_msg *m);

#endif
