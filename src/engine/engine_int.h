/*
 * engine_int.h - the engine's per-message state, shared by engine.c,
 * engine_audit.c, engine_probe.c and engine_provider.c only
 */
#ifndef SM_ENGINE_INT_H
#define SM_ENGINE_INT_H

#include "engine/account.h"
#include "lib/addr.h"
#include "auth/align.h"
#include "auth/align_provider.h"
#include "auth/sdkim.h"
#include "engine/gate.h"
#include "engine/msg.h"
#include "engine/sesheaders.h"
#include "auth/spf.h"
#include "unsub/unsub.h"
#include "engine/unsub_honour.h"

/* one suppression-list check at RCPT time (engine_suppress.c) */
typedef struct engine_supp_rec {
    char *rcpt;
    char instance[64];
    char region[32];
    const char *answer; /* clear, suppressed, tempfail */
    char reason[16];
    char cache[16];
    const char *action; /* refused, logged, accepted, tempfail */
} engine_supp_rec;

/* the tenant check of the X-SES-* rule (engine_ses.c) */
typedef struct engine_tenant_rec {
    int done;
    char tenant[128];
    char identity[256]; /* the verified From identity asked about */
    char instance[64];
    char region[32];
    const char *answer; /* associated, not_associated, unchecked, tempfail */
} engine_tenant_rec;

typedef struct msg_ext {
    sdkim_verify *dkv; /* streaming verifier (NULL when alignment is off) */
    int dkim_nosig;    /* no DKIM-Signature: body not needed */
    const sdkim_sig_result *sigs;
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
    int sysmail; /* scope_sysmail of a message passed as system mail (audit, metrics) */
    align_result align;
    int align_done;
    size_t align_hdr; /* 1 + index in the verdict's added fields of the result header; 0: none */
    align_provider_facts pfacts;
    align_provider_verdicts providers; /* the mailbox providers' verdicts (engine_provider.c) */
    int providers_done;
    spf_detail spf;
    int spf_done;
    unsub_result unsub;
    int unsub_done;
    account_result acct;        /* sandbox RCPT checks, reputation guard, send quota (account.h) */
    unsub_honour_result optout; /* the unsubscribe store's answer (unsub_honour.h) */
    /* SES: suppression checks (engine_suppress.c), X-SES-* header rules (sesheaders.c) */
    engine_supp_rec *supp;
    size_t n_supp;
    sesheaders_result sesh;
    int sesh_done;
    engine_tenant_rec tenant;
    char refused_region[32]; /* the SES region whose answer refused the message */
    int probe;               /* ses-milter -t (engine_probe_start): no audit record, no log line */
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
struct sm_services;
const char *engine_plugin_of(struct sm_services *x, const char *instance);

/* engine_providers - the mailbox providers' verdicts on the message as it will leave (after
 * the unsubscribe headers), added to the result header and logged as advice */
void engine_providers(sm_msg *m, msg_ext *e, struct sm_services *x);

/* engine_audit - write the audit record and log the summary line; may turn the
 * verdict into a tempfail when the audit log cannot be written */
void engine_audit(sm_msg *m, msg_ext *e, int aborted);

#endif
