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

#include "msg.h"

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
/*
 * engine_rcpt - a recipient of outgoing mail, with the MTA's {rcpt_mailer} (may be NULL):
 * VERDICT_ACCEPT, or VERDICT_REJECT / VERDICT_TEMPFAIL for this recipient with the reply
 * in *v (the caller's, verdict_clear() after use); a refused recipient is not kept
 */
verdict_action engine_rcpt(sm_msg *m, const char *rcpt, const char *mailer, sm_verdict *v);
/* engine_rcpt_replies - whether the engine may refuse recipients (RCPT replies needed) */
int engine_rcpt_replies(void);
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
