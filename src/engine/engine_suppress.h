/*
 * engine_suppress.h - the suppression-list check of one recipient (engine_suppress.c)
 */
#ifndef SM_ENGINE_SUPPRESS_H
#define SM_ENGINE_SUPPRESS_H

#include "conf/conf.h"
#include "engine/engine.h"
#include "engine/msg.h"

struct msg_ext;

/* engine_suppress_wanted - whether configuration c checks recipients at RCPT */
int engine_suppress_wanted(const sm_conf *c);
/* engine_suppress_rcpt - ENGINE_RCPT_CONTINUE, or _REJECT / _TEMPFAIL with *reply set */
int engine_suppress_rcpt(sm_msg *m, const char *rcpt, const char *mailer, engine_reply *reply);
/* engine_suppress_free - the per-message records */
void engine_suppress_free(struct msg_ext *e);

#endif
