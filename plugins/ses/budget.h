/*
 * budget.h - one API budget per SES account, shared by the instances that use it
 *
 * SES limits its control-plane API (GetEmailIdentity, GetAccount,
 * ListEmailIdentities, GetSuppressedDestination, ...) to about one request
 * a second per account and region, whichever instance or thread asks.
 * budget_get() hands every instance with the same key the same throttle
 * (throttle.h), counted by reference; the first instance's rate and burst
 * make it.  The key is the api_budget setting, or by default the
 * endpoint, region, credential source and profile, rate and burst:
 * instances that reach one account the same way share its budget.
 */
#ifndef SES_BUDGET_H
#define SES_BUDGET_H

#include "throttle.h"

/*
 * budget_get - the shared throttle for key (created with rate/burst when new).
 * *differs_r is set to 1 when the existing budget was made with another rate or burst.
 */
throttle *budget_get(const char *key, double rate, unsigned burst, int *differs_r);
/* budget_put - drop one reference (the last one frees the throttle); returns NULL */
throttle *budget_put(throttle *t);
/* budget_users - instances holding the budget of t (for the start line) */
unsigned budget_users(const throttle *t);

#endif
