/*
 * state_unsub_none.c - state_unsub.h in a build without hiredis
 *
 * Purpose: there is no backend (state_none.c refuses a "state" group), so
 * every operation is an error and nothing is recorded.
 */
#include "config.h"

#include "state/state_unsub.h"
#include "lib/util.h"

state_result
state_unsub_add(sm_state *st SM_UNUSED, const char *list_id SM_UNUSED, const char *rcpt SM_UNUSED,
                int64_t when SM_UNUSED, uint64_t deadline_ms SM_UNUSED)
{
    return STATE_ERROR;
}

state_result
state_unsub_has(sm_state *st SM_UNUSED, const char *list_id SM_UNUSED, const char *rcpt SM_UNUSED,
                uint64_t deadline_ms SM_UNUSED)
{
    return STATE_ERROR;
}

void
state_set_role(sm_state *st SM_UNUSED, const char *role SM_UNUSED)
{
}
