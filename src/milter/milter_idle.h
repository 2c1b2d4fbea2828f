/*
 * milter_idle.h - close milter connections that idle longer than daemon.milter_timeout;
 * wake libmilter's accept loop for a stop
 */
#ifndef SM_MILTER_IDLE_H
#define SM_MILTER_IDLE_H

/*
 * milter_idle_start - from now on, MTA connections idle for timeout_s seconds are closed;
 * creates the accept loop's wake-up eventfd (call before smfi_opensocket())
 */
void milter_idle_start(long timeout_s);
/* milter_idle_closed - connections closed for idling so far */
unsigned long milter_idle_closed(void);
/*
 * milter_idle_wake_listener - libmilter's accept loop returns from its poll() at once (as
 * from a timeout), drops its listener lock and looks at its stop flag: call it, repeatedly,
 * while smfi_stop() waits for that lock
 */
void milter_idle_wake_listener(void);
/*
 * milter_idle_libmilter_up - 1 once libmilter's accept loop and pool controller both polled
 * (its threads started); smfi_stop() before that races libmilter's own teardown
 */
int milter_idle_libmilter_up(void);

#endif
