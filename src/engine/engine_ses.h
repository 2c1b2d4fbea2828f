/*
 * engine_ses.h - the X-SES-* header rule of a message, its tenant check and
 * sending-authorization source (engine_ses.c); engine.c only
 */
#ifndef SM_ENGINE_SES_H
#define SM_ENGINE_SES_H

#include "engine/services.h"
#include "engine/engine_int.h"
#include "engine/msg.h"

/* engine_ses_rule - before the gate: the first matching rule into e->sesh */
void engine_ses_rule(sm_msg *m, msg_ext *e, sm_services *x);
/* engine_ses_source - the identity source the rule names for the gate, NULL: every one */
const char *engine_ses_source(const msg_ext *e);
/* engine_ses_apply - after the gate: the tenant check (may refuse) and the rule's headers */
void engine_ses_apply(sm_msg *m, msg_ext *e, sm_services *x);

#endif
