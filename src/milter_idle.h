/*
 * milter_idle.h - close milter connections that idle longer than daemon.milter_timeout
 */
#ifndef SM_MILTER_IDLE_H
#define SM_MILTER_IDLE_H

/* milter_idle_start - from now on, MTA connections idle for timeout_s seconds are closed */
void milter_idle_start(long timeout_s);
/* milter_idle_closed - connections closed for idling so far */
unsigned long milter_idle_closed(void);

#endif
