/*
 * sessupp.h - the SES account-level suppression list of one instance
 *
 * sessupp_check() answers "is this recipient on the suppression list?"
 * (ABI 1.2, sm_plugin.ask: SM_ASK_SUPPRESSED) from a bounded table with its own TTLs
 * (suppressed_ttl, not_suppressed_ttl) and single-flight (one
 * GetSuppressedDestination per address in flight; other threads wait for
 * its answer or their deadline).  Matching is SES's: the exact address.
 * With suppression_warmup_interval > 0 a thread walks
 * ListSuppressedDestinations (paged) at start and every interval; after a
 * complete walk an address absent from it is not suppressed, without a
 * call, until the walk is older than not_suppressed_ttl.  Every call goes
 * through the instance's sesapi (its rate limit and backoff).
 */
#ifndef SES_SESSUPP_H
#define SES_SESSUPP_H

#include <ses-milter/plugin.h>

struct ses_instance;
typedef struct sessupp sessupp;

/* sessupp_new - the table of an instance whose settings enable the suppression list */
sessupp *sessupp_new(struct ses_instance *in);
/* sessupp_start - the warm-up thread (when suppression_warmup_interval > 0) */
int sessupp_start(sessupp *s, char *err, size_t errlen);
/* sessupp_free - stop the thread, free the table; returns NULL */
sessupp *sessupp_free(sessupp *s);
/* sessupp_check - SM_ASK_SUPPRESSED (instance is the ses_instance; attrs reset, region set) */
sm_ask_answer sessupp_check(void *instance, const sm_ask_query *q, sm_ask_attrs *attrs);

#endif
