/*
 * milter_signals.h - the daemon's signals reach the main thread only
 */
#ifndef SM_MILTER_SIGNALS_H
#define SM_MILTER_SIGNALS_H

#include <signal.h>

/* milter_signals_wait - the next signal of set (blocked in every thread); never fails */
int milter_signals_wait(const sigset_t *set);
/* milter_signals_parked - 1 once libmilter's signal thread waits in our sigwait() for good */
int milter_signals_parked(void);

#endif
