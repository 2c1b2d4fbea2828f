/*
 * milter.h - libmilter glue
 */
#ifndef SM_MILTER_H
#define SM_MILTER_H

/* milter_register - register the callbacks with libmilter; 0 or -1 */
int milter_register(const char *name);
/* milter_in_flight - transactions between MAIL FROM and end of message (clean shutdown) */
int milter_in_flight(void);
/* milter_drain - SIGTERM: refuse new transactions (421 4.3.2 at MAIL FROM; at connect when the
 * MTA waits for a connect reply), finish the rest */
void milter_drain(void);

#endif
