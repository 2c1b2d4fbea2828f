/*
 * account.h - the sending account's state in the engine: RCPT checks, guard, quota
 *
 * Identity sources of plugin ABI 1.2 may describe the sending account
 * behind them (sm_acct_state): recipients restricted to verified
 * identities, an action per class of mail, a send quota.  The engine asks
 * through these functions and knows nothing of where the state comes from.
 *   account_rcpt()  at RCPT: a restricted account refuses a recipient that
 *                   the identity sources (same resolution and cache as
 *                   senders) do not verify: 550 5.7.1, or 451 4.4.3 when
 *                   they cannot answer.
 *   account_eom()   at end of message, after every other check: the
 *                   account's action for the message's class (bulk: an
 *                   unsubscribe rule matched), then the send quota, a local
 *                   estimate per instance (each recipient is one send):
 *                   451 4.7.1 above MaxSendRate or the 24-hour quota.
 * Every decision names the instance and its region, in the reply, the log
 * line and the audit record (account_result).
 */
#ifndef SM_ACCOUNT_H
#define SM_ACCOUNT_H

#include <stddef.h>
#include <stdint.h>

#include "engine/msg.h"

struct sm_services;

/* what the account checks did to one message (for the audit record) */
typedef struct account_result {
    int checked;             /* an instance with account state was asked */
    char instance[64];       /* instance that decided ("" when none refused) */
    char region[32];         /* its region */
    char status[64];         /* its account state, e.g. "in the SES sandbox" */
    const char *decision;    /* "accept", "tempfail", "hold", "reject", "quota-rate", ... */
    size_t rcpts_refused;    /* recipients refused at RCPT (sandbox) */
    size_t rcpts_tempfailed; /* recipients tempfailed at RCPT */
} account_result;

/* account_wants_rcpt - whether RCPT replies are needed (a source has account state) */
int account_wants_rcpt(struct sm_services *x);
/*
 * account_rcpt - check one recipient (path as the MTA gave it); returns VERDICT_ACCEPT,
 * or VERDICT_REJECT / VERDICT_TEMPFAIL with code, xcode and text set in *v
 */
verdict_action account_rcpt(sm_msg *m, account_result *res, const char *rcpt, sm_verdict *v);
/*
 * account_eom - the guard and the quota for a message about to be accepted;
 * with a state backend the quota is also the fleet's (its counters asked
 * by deadline_ms, absolute CLOCK_MONOTONIC ms; no answer: the local estimate).
 * dry_run (ses-milter -t): the quota is asked but not charged (the fleet's
 * counters are not asked), and a message without recipients counts as one send
 */
void account_eom(sm_msg *m, account_result *res, int bulk, uint64_t deadline_ms, int dry_run,
                 sm_verdict *v);
/*
 * account_wait_known - ses-milter -t: wait until every instance that offers account state
 * has read it, or deadline_ms; returns how many still have none
 */
size_t account_wait_known(struct sm_services *x, uint64_t deadline_ms);
/* account_decision_name - res->decision or "none" */
const char *account_decision_name(const account_result *res);

#endif
