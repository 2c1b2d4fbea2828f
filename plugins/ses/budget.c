/*
 * budget.c - the registry of shared API budgets (budget.h)
 *
 * Purpose: a short list of (key, throttle, references) under one mutex.
 * Instances come and go at start, reload and stop only, so a list is
 * enough; the throttle itself has its own lock for the hot path.  A reload
 * loads the new configuration before it releases the old one, so the
 * budget (and its history of admitted requests) survives a SIGHUP: the
 * new instances do not get a fresh burst.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "budget.h"
#include "sesutil.h"

typedef struct budget_entry {
    char *key;
    throttle *thr;
    double rate;
    unsigned burst, refs;
    struct budget_entry *next;
} budget_entry;

static pthread_mutex_t budget_lock = PTHREAD_MUTEX_INITIALIZER;
static budget_entry *budget_list;

/* budget_get - find or create */
throttle *
budget_get(const char *key, double rate, unsigned burst, int *differs_r)
{
    budget_entry *b;
    throttle *t;

    *differs_r = 0;
    pthread_mutex_lock(&budget_lock);
    for (b = budget_list; b != NULL; b = b->next)
        if (strcmp(b->key, key) == 0)
            break;
    if (b == NULL) {
        b = sesutil_calloc(1, sizeof(*b));
        b->key = sesutil_strdup(key);
        b->thr = throttle_new(rate, burst, 500, 30000);
        b->rate = rate;
        b->burst = burst;
        b->next = budget_list;
        budget_list = b;
    } else if (b->rate != rate || b->burst != burst) {
        *differs_r = 1;
    }
    b->refs++;
    t = b->thr;
    pthread_mutex_unlock(&budget_lock);
    return t;
}

/* budget_put - the last reference frees */
throttle *
budget_put(throttle *t)
{
    budget_entry **pp, *b;

    if (t == NULL)
        return NULL;
    pthread_mutex_lock(&budget_lock);
    for (pp = &budget_list; (b = *pp) != NULL; pp = &b->next)
        if (b->thr == t)
            break;
    if (b != NULL && --b->refs == 0) {
        *pp = b->next;
        throttle_free(b->thr);
        free(b->key);
        free(b);
    }
    pthread_mutex_unlock(&budget_lock);
    return NULL;
}

/* budget_users - references of t's budget */
unsigned
budget_users(const throttle *t)
{
    unsigned n = 0;

    pthread_mutex_lock(&budget_lock);
    for (budget_entry *b = budget_list; b != NULL; b = b->next)
        if (b->thr == t)
            n = b->refs;
    pthread_mutex_unlock(&budget_lock);
    return n;
}
