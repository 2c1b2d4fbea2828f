/*
 * throttle.h - client-side rate limit and instance-wide backoff
 *
 * A token bucket in its GCRA form: 'rate' requests per second with bursts
 * of up to 'burst'.  A caller reserves the next free slot and sleeps until
 * it; a caller whose slot would come after its deadline gives up at once
 * without reserving (the lookup then answers TEMPFAIL).  On throttling
 * answers from SES the whole instance backs off exponentially with
 * jitter; a success resets the backoff.
 *
 * Fleet budget (optional, throttle_acquire_fleet): after the local slot,
 * the request also takes one from a budget the fleet's hosts share (the
 * host's state backend, ABI 1.2 budget_take); a spent second waits for the
 * next one within the deadline; no shared budget leaves the local limit
 * alone.  The fleet's service is the caller's (its instance's host), given
 * with each request: a throttle shared by instances, and kept across a
 * reload (budget.c), never holds a pointer into one instance.
 */
#ifndef SES_THROTTLE_H
#define SES_THROTTLE_H

#include <stdint.h>

typedef struct throttle throttle;

/* throttle_new - rate > 0 requests/s, burst >= 1; backoff from base_ms up to max_ms */
throttle *throttle_new(double rate, unsigned burst, unsigned base_ms, unsigned max_ms);
/* throttle_free - returns NULL */
throttle *throttle_free(throttle *t);
/*
 * throttle_acquire - wait for a slot that starts no later than deadline_ms
 * minus reserve_ms (time the request itself needs).  Returns 0 when the
 * caller may send, -1 when it gave up (deadline) without waiting in vain.
 */
int throttle_acquire(throttle *t, uint64_t deadline_ms, unsigned reserve_ms);
/* the host's budget_take (plugin.h): 1 granted, 0 spent (wait *wait_ms_r), -1 none */
typedef int (*throttle_shared_fn)(void *arg, const char *bucket, unsigned per_second,
                                  uint64_t deadline_ms, unsigned *wait_ms_r);
/* the fleet's budget a request also takes from: owned by the caller's instance */
typedef struct throttle_fleet {
    throttle_shared_fn fn; /* NULL: the local limit only */
    void *arg;
    const char *bucket;
    unsigned per_second;
} throttle_fleet;
/* throttle_acquire_fleet - throttle_acquire, then one request of fleet's budget (may be NULL) */
int throttle_acquire_fleet(throttle *t, uint64_t deadline_ms, unsigned reserve_ms,
                           const throttle_fleet *fleet);
/* throttle_backoff - a throttling answer arrived: back off; returns the pause in ms */
unsigned throttle_backoff(throttle *t);
/* throttle_success - an answer that was not throttled: reset the backoff */
void throttle_success(throttle *t);
/* throttle_backoff_until - CLOCK_MONOTONIC ms until which the instance backs off (0: none) */
uint64_t throttle_backoff_until(throttle *t);

#endif
