/*
 * engine_int.h - the engine's per-message state, shared by engine.c,
 * engine_audit.c and engine_probe.c only
 */
#ifndef SM_ENGINE_INT_H
#define SM_ENGINE_INT_H

#include "account.h"
#include "addr.h"
#include "align.h"
#include "dkim.h"
#include "gate.h"
#include "msg.h"
#include "spf.h"
#include "unsub.h"

typedef struct msg_ext {
    dkim_verify *dkv; /* streaming verifier (NULL when alignment is off) */
    int dkim_nosig;   /* no DKIM-Signature: body not needed */
    const dkim_sig_result *sigs;
    size_t nsigs;
    /* addresses */
    gate_from_status from_status;
    addr_list *from;
    addr_list *sender;              /* NULL when absent or malformed */
    gate_from_status sender_status; /* NONE, OK, MULTIPLE or UNPARSEABLE */
    const char *sender_field;       /* the malformed Sender field (in the sm_msg) */
    addr_mailbox env;
    int env_null, env_ok;
    uint64_t deadline_ms; /* absolute: every lookup of the message (end of message) */
    /* outcomes */
    gate_result gate;
    int gate_done;
    align_result align;
    int align_done;
    spf_detail spf;
    int spf_done;
    unsub_result unsub;
    int unsub_done;
    account_result acct; /* sandbox RCPT checks, reputation guard, send quota (account.h) */
    int probe; /* ses-milter -t (engine_probe_start): no audit record, no log line */
} msg_ext;

/* engine_first_from - the first From mailbox's address, or NULL when none was parsed */
static inline const char *
engine_first_from(const msg_ext *e)
{
    return e->from_status == GATE_FROM_OK && e->from != NULL && e->from->n > 0
               ? e->from->v[0].address
               : NULL;
}

/* engine_plugin_of - the plugin name behind an identity source instance, NULL when none */
struct sm_conf_ext;
const char *engine_plugin_of(struct sm_conf_ext *x, const char *instance);

/* engine_audit - write the audit record and log the summary line; may turn the
 * verdict into a tempfail when the audit log cannot be written */
void engine_audit(sm_msg *m, msg_ext *e, int aborted);

#endif
