/*
 * milter_signals.c - the daemon's signals reach the main thread only
 *
 * SYNOPSIS
 *   sig = milter_signals_wait(&set);     the main thread's signal loop
 *   milter_signals_parked();             1 once libmilter's thread is parked
 *
 * DESCRIPTION
 *   smfi_main() starts a signal thread of libmilter's own (signal.c,
 *   mi_signal_thread) that calls sigwait() for SIGHUP, SIGTERM and SIGINT
 *   and stops libmilter on any of them: HUP and TERM close the listening
 *   socket, INT aborts.  Our main thread waits for the same signals, and a
 *   process-directed signal goes to whichever waiting thread the kernel
 *   picks (the main thread while it waits, any other one while it is busy
 *   with the previous signal).  A SIGHUP could thus stop libmilter while
 *   the process stayed up, and a SIGTERM right behind a SIGUSR1 could stop
 *   libmilter alone while the main thread waited for a signal that had
 *   already come.
 *
 *   libmilter is a shared library that calls sigwait() through its PLT
 *   (objdump -T libmilter.so: sigwait UND).  This file therefore defines
 *   sigwait() itself: the executable's definition takes precedence over
 *   libc's for every shared library (ELF symbol interposition, as
 *   d2i_PUBKEY_bio() in sdkim_pkey.c).  A sigwait() for any of the signals
 *   the daemon handles (HUP, TERM, INT, USR1) parks its caller for good, so
 *   libmilter's signal thread never takes one; a sigwait() for other
 *   signals behaves like libc's.  The main thread does not call sigwait():
 *   milter_signals_wait() uses sigwaitinfo(), so it is the only thread that
 *   ever receives those signals, and SIGTERM stops libmilter through
 *   smfi_stop() (main.c), not through its signal thread.
 *
 * DIAGNOSTICS
 *   milter_signals_parked() lets main.c check that the interposition took
 *   effect (it reports a libmilter that does not call sigwait()).
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>

#include "milter/milter_signals.h"

static pthread_mutex_t milter_signals_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t milter_signals_never = PTHREAD_COND_INITIALIZER;
static int milter_signals_nparked;

/* milter_signals_owned - does set hold a signal the main thread handles? */
static int
milter_signals_owned(const sigset_t *set)
{
    static const int owned[] = {SIGHUP, SIGTERM, SIGINT, SIGUSR1};

    for (size_t i = 0; i < sizeof(owned) / sizeof(owned[0]); i++)
        if (sigismember(set, owned[i]) == 1)
            return 1;
    return 0;
}

int
milter_signals_wait(const sigset_t *set)
{
    for (;;) {
        int sig = sigwaitinfo(set, NULL);

        if (sig > 0)
            return sig;
    }
}

int
milter_signals_parked(void)
{
    int n;

    pthread_mutex_lock(&milter_signals_lock);
    n = milter_signals_nparked;
    pthread_mutex_unlock(&milter_signals_lock);
    return n > 0;
}

/*
 * sigwait - libc's function for everyone but a waiter for the daemon's
 * signals, which waits here for ever (see DESCRIPTION)
 */
int
sigwait(const sigset_t *set, int *sig)
{
    if (milter_signals_owned(set)) {
        pthread_mutex_lock(&milter_signals_lock);
        milter_signals_nparked++;
        for (;;)
            pthread_cond_wait(&milter_signals_never, &milter_signals_lock);
    }
    for (;;) {
        int s = sigwaitinfo(set, NULL);

        if (s > 0) {
            *sig = s;
            return 0;
        }
        if (errno != EINTR)
            return errno;
    }
}
