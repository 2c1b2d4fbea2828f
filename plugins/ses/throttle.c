/*
 * throttle.c - GCRA token bucket with deadline-aware waiters and backoff
 *
 * Purpose: keep the plugin under SES's account-wide API rate (about one
 * request per second) however many lookup threads ask at once.  State is
 * one "theoretical arrival time" (tat) under a mutex: a request at time t
 * conforms when t >= tat - (burst-1)*interval; admitting it moves tat on
 * by one interval.  Waiters sleep outside the lock until their reserved
 * slot, so the sleep is bounded by their own deadline.  With a shared
 * (fleet) budget, the admitted request then takes one from it too
 * (throttle_shared), waiting for a second with room within its deadline.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "sesutil.h"
#include "throttle.h"

struct throttle {
    pthread_mutex_t lock;
    double interval_ms; /* 1000 / rate */
    double tau_ms;      /* (burst - 1) * interval */
    double tat_ms;      /* theoretical arrival time */
    uint64_t backoff_until;
    unsigned level, base_ms, max_ms;
    unsigned seed;
};

/* throttle_new - an empty history: the first 'burst' requests go at once */
throttle *
throttle_new(double rate, unsigned burst, unsigned base_ms, unsigned max_ms)
{
    throttle *t = sesutil_calloc(1, sizeof(*t));

    pthread_mutex_init(&t->lock, NULL);
    t->interval_ms = 1000.0 / (rate > 0.001 ? rate : 0.001);
    t->tau_ms = (double)(burst > 0 ? burst - 1 : 0) * t->interval_ms;
    t->base_ms = base_ms ? base_ms : 200;
    t->max_ms = max_ms >= t->base_ms ? max_ms : t->base_ms;
    t->seed = (unsigned)sesutil_now_ms() ^ (unsigned)(uintptr_t)t;
    return t;
}

/* throttle_free - release */
throttle *
throttle_free(throttle *t)
{
    if (t != NULL) {
        pthread_mutex_destroy(&t->lock);
        free(t);
    }
    return NULL;
}

static void
throttle_sleep_until(uint64_t when_ms)
{
    uint64_t now = sesutil_now_ms();
    struct timespec ts;

    if (when_ms <= now)
        return;
    ts.tv_sec = (time_t)((when_ms - now) / 1000);
    ts.tv_nsec = (long)((when_ms - now) % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* throttle_shared - one request of the fleet's budget by latest (0), or give up (-1) */
static int
throttle_shared(const throttle_fleet *f, uint64_t latest)
{
    unsigned wait = 0, per_second;

    if (f == NULL || f->fn == NULL)
        return 0;
    per_second = f->per_second > 0 ? f->per_second : 1;
    for (int i = 0; i < 64; i++) {
        if (f->fn(f->arg, f->bucket, per_second, latest, &wait) != 0)
            return 0; /* granted, or no shared budget now: the local limit decides */
        if (sesutil_now_ms() + wait > latest)
            return -1;
        throttle_sleep_until(sesutil_now_ms() + wait);
    }
    return -1;
}

int
throttle_acquire(throttle *t, uint64_t deadline_ms, unsigned reserve_ms)
{
    return throttle_acquire_fleet(t, deadline_ms, reserve_ms, NULL);
}

/* throttle_acquire_fleet - reserve a slot or give up, then the fleet's request */
int
throttle_acquire_fleet(throttle *t, uint64_t deadline_ms, unsigned reserve_ms,
                       const throttle_fleet *fleet)
{
    uint64_t now, latest;
    double tat, slot;

    pthread_mutex_lock(&t->lock);
    now = sesutil_now_ms();
    tat = t->tat_ms > (double)now ? t->tat_ms : (double)now;
    slot = tat - t->tau_ms;
    if (slot < (double)now)
        slot = (double)now;
    if (slot < (double)t->backoff_until)
        slot = (double)t->backoff_until;
    latest = deadline_ms > reserve_ms ? deadline_ms - reserve_ms : 0;
    if (slot > (double)latest) {
        pthread_mutex_unlock(&t->lock);
        return -1;
    }
    /* admitted at 'slot': the next one conforms one interval later */
    t->tat_ms = (slot > tat ? slot : tat) + t->interval_ms;
    pthread_mutex_unlock(&t->lock);
    throttle_sleep_until((uint64_t)slot);
    return throttle_shared(fleet, latest);
}

/* throttle_backoff - exponential, with "equal jitter" (half fixed, half random) */
unsigned
throttle_backoff(throttle *t)
{
    unsigned pause, span;
    uint64_t until;

    pthread_mutex_lock(&t->lock);
    span = t->base_ms << (t->level < 16 ? t->level : 16);
    if (span > t->max_ms || span < t->base_ms)
        span = t->max_ms;
    pause = span / 2 + (unsigned)(rand_r(&t->seed) % (span / 2 + 1));
    if (t->level < 16)
        t->level++;
    until = sesutil_now_ms() + pause;
    if (until > t->backoff_until)
        t->backoff_until = until;
    pthread_mutex_unlock(&t->lock);
    return pause;
}

/* throttle_success - forget the backoff level */
void
throttle_success(throttle *t)
{
    pthread_mutex_lock(&t->lock);
    t->level = 0;
    pthread_mutex_unlock(&t->lock);
}

/* throttle_backoff_until - when the current backoff ends */
uint64_t
throttle_backoff_until(throttle *t)
{
    uint64_t v;

    pthread_mutex_lock(&t->lock);
    v = t->backoff_until > sesutil_now_ms() ? t->backoff_until : 0;
    pthread_mutex_unlock(&t->lock);
    return v;
}
