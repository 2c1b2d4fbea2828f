/*
 * state_unsub.h - the fleet's unsubscribe store on the shared state backend
 *
 * Purpose: who unsubscribed from which list, kept in Redis so that every
 * ses-milter of a fleet sees a one-click POST that any endpoint recorded.
 * One hash per list: key PREFIX:v1:unsub:LIST_ID, field the recipient
 * (already lower-cased by the caller), value the time (Unix seconds) of
 * the first POST.  HSETNX makes a repeated POST change nothing.
 *
 * Every operation is bounded by the backend's timeout_ms and deadline_ms,
 * goes through the same connection pool and health state as state.h
 * (down / back logged once), and reports an error distinctly: an error is
 * never "not unsubscribed" nor "recorded".
 *
 * Synopsis:
 *     state_unsub_add(st, "news", "bob@example.com", time(NULL), deadline)
 *         STATE_NOT_FOUND: recorded now, STATE_FOUND: it was there, STATE_ERROR
 *     state_unsub_has(st, "news", "bob@example.com", deadline)
 *         STATE_FOUND / STATE_NOT_FOUND / STATE_ERROR
 */
#ifndef SM_STATE_UNSUB_H
#define SM_STATE_UNSUB_H

#include <stdint.h>

#include "state/state.h"

/* state_unsub_add - record (list_id, rcpt, when) unless the pair is there */
state_result state_unsub_add(sm_state *st, const char *list_id, const char *rcpt, int64_t when,
                             uint64_t deadline_ms);
/* state_unsub_has - the pair is recorded */
state_result state_unsub_has(sm_state *st, const char *list_id, const char *rcpt,
                             uint64_t deadline_ms);
/*
 * state_set_role - what this backend's users do while it is down, for the
 * "down" log line (default: the identity answers' fallback); role is copied
 */
void state_set_role(sm_state *st, const char *role);

#endif
