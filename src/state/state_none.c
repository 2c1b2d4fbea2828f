/*
 * state_none.c - the shared state interface of a build without hiredis
 *
 * Purpose: configure found no hiredis, so there is no backend: a "state"
 * group is refused when the configuration is read (state_backend_available),
 * and every operation answers STATE_ERROR (the local cache and the sources).
 */
#include "config.h"

#include "state/state.h"
#include "lib/util.h"

int
state_backend_available(const char *backend, int tls SM_UNUSED, char *why, size_t whylen)
{
    return util_errf(why, whylen,
                     "backend '%s': this build has no shared state backend (hiredis was not "
                     "found at configure time)",
                     backend);
}

int
state_tls_check(const state_conf *sc SM_UNUSED, const char **setting_r SM_UNUSED,
                char *why SM_UNUSED, size_t whylen SM_UNUSED)
{
    return 0; /* not reached: the group was refused by state_backend_available */
}

sm_state *
state_new(const state_conf *sc SM_UNUSED)
{
    return NULL;
}

sm_state *
state_free(sm_state *st SM_UNUSED)
{
    return NULL;
}

state_result
state_id_get(sm_state *st SM_UNUSED, const char *instance SM_UNUSED, const char *identity SM_UNUSED,
             sm_id_kind kind SM_UNUSED, uint64_t deadline_ms SM_UNUSED,
             sm_id_answer *answer_r SM_UNUSED, sm_id_attrs *attrs_r SM_UNUSED,
             uint64_t *ttl_ms_r SM_UNUSED)
{
    return STATE_ERROR;
}

void
state_id_put(sm_state *st SM_UNUSED, const char *instance SM_UNUSED, const char *identity SM_UNUSED,
             sm_id_kind kind SM_UNUSED, sm_id_answer answer SM_UNUSED,
             const sm_id_attrs *attrs SM_UNUSED, uint64_t ttl_ms SM_UNUSED,
             uint64_t deadline_ms SM_UNUSED)
{
}

state_result
state_id_lock(sm_state *st SM_UNUSED, const char *instance SM_UNUSED,
              const char *identity SM_UNUSED, sm_id_kind kind SM_UNUSED, uint64_t hold_ms SM_UNUSED,
              uint64_t deadline_ms SM_UNUSED)
{
    return STATE_ERROR;
}

void
state_id_unlock(sm_state *st SM_UNUSED, const char *instance SM_UNUSED,
                const char *identity SM_UNUSED, sm_id_kind kind SM_UNUSED,
                uint64_t deadline_ms SM_UNUSED)
{
}

state_result
state_budget_take(sm_state *st SM_UNUSED, const char *bucket SM_UNUSED,
                  unsigned per_second SM_UNUSED, uint64_t deadline_ms SM_UNUSED,
                  unsigned *wait_ms_r SM_UNUSED)
{
    return STATE_ERROR;
}

state_result
state_kv_get(sm_state *st SM_UNUSED, const char *instance SM_UNUSED, const char *kind SM_UNUSED,
             const char *subject SM_UNUSED, uint64_t deadline_ms SM_UNUSED, char *val SM_UNUSED,
             size_t vallen SM_UNUSED, uint64_t *ttl_ms_r SM_UNUSED)
{
    return STATE_ERROR;
}

void
state_kv_put(sm_state *st SM_UNUSED, const char *instance SM_UNUSED, const char *kind SM_UNUSED,
             const char *subject SM_UNUSED, const char *value SM_UNUSED, uint64_t ttl_ms SM_UNUSED,
             uint64_t deadline_ms SM_UNUSED)
{
}

state_result
state_count_take(sm_state *st SM_UNUSED, const char *name SM_UNUSED, unsigned window_s SM_UNUSED,
                 unsigned span SM_UNUSED, unsigned long n SM_UNUSED, unsigned long limit SM_UNUSED,
                 int first_free SM_UNUSED, uint64_t deadline_ms SM_UNUSED,
                 unsigned long *total_r SM_UNUSED)
{
    return STATE_ERROR;
}
