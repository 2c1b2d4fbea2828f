/*
 * engine_input.c - one message from an engine_input struct through the engine
 *
 * Purpose: the stages of engine.h called in the milter's order (connect,
 * MAIL FROM, RCPT, headers, end of headers, body, end of message), with
 * what milter.c does between them: a message out of scope passes at DATA,
 * a message whose every recipient was refused never reaches DATA and the
 * MTA aborts it.  No libmilter: the facts come from the struct.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "engine/engine_input.h"
#include "lib/util.h"

engine_input_result
engine_input_run(sm_msg *m, const engine_input *in, int *refused, engine_reply *last)
{
    size_t accepted = 0;

    msg_set_client(m, in->hostname, in->client); /* the port too, as milter_connect */
    if (in->qid != NULL)
        util_strlcpy(m->qid, in->qid, sizeof(m->qid));
    free(m->auth_authen);
    m->auth_authen = in->auth_authen != NULL && *in->auth_authen ? xstrdup(in->auth_authen) : NULL;
    free(m->env_from);
    m->env_from = xstrdup(in->env_from != NULL ? in->env_from : "");
    msg_set_mail_args(m, in->mail_args);
    if (engine_msg_start(m) < 0)
        return ENGINE_INPUT_NO_CONF;
    for (size_t i = 0; i < in->nrcpts; i++) {
        engine_reply rep;
        int r = ENGINE_RCPT_CONTINUE;

        if (engine_outgoing(m))
            r = engine_rcpt(m, in->rcpts[i], in->rcpt_mailer, &rep);
        if (refused != NULL)
            refused[i] = r;
        if (r == ENGINE_RCPT_CONTINUE)
            accepted++;
        else if (last != NULL)
            *last = rep;
    }
    if (accepted == 0 && in->nrcpts > 0) {
        engine_abort(m);
        return ENGINE_INPUT_RCPTS_REFUSED;
    }
    if (!engine_outgoing(m)) {
        engine_pass_inbound(m);
        return ENGINE_INPUT_INBOUND;
    }
    for (size_t i = 0; i < in->nheaders; i++)
        engine_header(m, in->headers[i].name, in->headers[i].value);
    if (engine_eoh(m) && in->body != NULL)
        (void)engine_body(m, in->body, in->bodylen);
    engine_eom(m);
    return ENGINE_INPUT_DECIDED;
}
