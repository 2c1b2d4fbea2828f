/*
 * milter.h - libmilter glue
 */
#ifndef SM_MILTER_H
#define SM_MILTER_H

/* milter_register - register the callbacks with libmilter; 0 or -1 */
int milter_register(const char *name);
/* milter_in_flight - connections currently open (for a clean shutdown) */
int milter_in_flight(void);

#endif
