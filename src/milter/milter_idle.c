/*
 * milter_idle.c - close milter connections that idle longer than daemon.milter_timeout;
 * wake libmilter's accept loop for a stop
 *
 * SYNOPSIS
 *   milter_idle_start(conf->daemon.milter_timeout);   before smfi_opensocket()
 *   milter_idle_wake_listener();                      after smfi_stop() began
 *
 * DESCRIPTION
 *   libmilter (Debian's build, with its pool of workers) times out a read
 *   only once a command has begun to arrive: a connection that waits for
 *   its next command, or never sends the first one (not even the option
 *   negotiation, so no callback of ours ever sees it), sits in the pool
 *   controller's poll() set, which looks for sessions older than the
 *   timeout only every 600 s.  500 clients that never speak hold 500
 *   descriptors and sessions that long.
 *
 *   libmilter calls listen(), accept() and poll() through its PLT (objdump
 *   -T libmilter.so), so this file defines them (ELF symbol interposition,
 *   as sigwait() in milter_signals.c and d2i_PUBKEY_bio() in sdkim_pkey.c):
 *
 *   listen()  listens as libc's would (the system call) and records the
 *             descriptor: the socket libmilter accepts MTA connections on.
 *   accept()  accepts as libc's would (accept4 without flags) and records
 *             the new descriptor with its socket inode and the time: the
 *             process accepts nothing but libmilter's MTA connections.
 *   poll()    polls as libc's would (ppoll).  A recorded descriptor that
 *             poll() reports readable is busy; the next time it is polled
 *             again, it idles from that moment.  A recorded descriptor
 *             polled while it has idled for the timeout is shut down
 *             (shutdown(2), not close(2): the descriptor stays libmilter's,
 *             it reads end of file, calls our close callback and closes it
 *             the ordinary way).  A poll() that covers recorded descriptors
 *             sleeps no longer than the next of their deadlines and goes on
 *             waiting for the caller's own timeout, so the caller sees
 *             poll()'s ordinary behaviour.
 *
 *   Only a descriptor that its caller is polling at that moment is ever
 *   shut down, and only when it is still the socket that was accepted (the
 *   same inode): a descriptor number libmilter closed and the process
 *   reused (a curl socket, a file) is forgotten, never touched.  A
 *   connection whose callback is running is not polled, so a slow message
 *   is never cut.  Before milter_idle_start(), accept() and poll() only
 *   pass through.
 *
 *   The stop: libmilter's accept loop holds its listener lock while it
 *   polls the listening socket (5 s at a time), and smfi_stop() needs that
 *   lock to close the socket.  A connection to our own socket would wake
 *   the loop, but the daemon, no longer root, may not connect to it (its
 *   owner and mode are the MTA's), and an inet socket has no path.  A
 *   poll() of the listening socket therefore also waits on an eventfd:
 *   milter_idle_wake_listener() makes it readable, and that poll() returns
 *   0 (nothing ready, as a timeout would), so the loop drops its lock and
 *   sees the stop libmilter recorded.  Without the wake-up, smfi_stop()
 *   took up to 5 s, and a daemon that gave up waiting exited with
 *   libmilter's threads still running (its exit handler destroyed a mutex
 *   that smfi_stop() held: ThreadSanitizer's report).
 *
 *   libmilter's pool controller destroys its lock as soon as it sees the
 *   stop, while the workers it has just started may not have taken that
 *   lock yet.  milter_idle_libmilter_up() says when both the accept loop and
 *   the pool controller have polled once (every thread started, the
 *   controller past its first look at the stop flag and asleep in poll()),
 *   so that a stop right after the start waits for that moment.
 *
 * DIAGNOSTICS
 *   One notice per poll() that closed connections, with their count.  A
 *   warning when the wake-up eventfd cannot be created, written or read
 *   (a stop then waits for the accept loop's own timeout).
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "milter/milter_idle.h"
#include "lib/util.h"

#define MILTER_IDLE_MAX_FDS 65536 /* descriptors above are not watched */
#define MILTER_IDLE_WAKE_MAX 8    /* larger poll() sets are not libmilter's accept loop */

/*
 * A slot is written by accept() (the listener thread) and read and written by
 * poll() (libmilter's pool controller), each field on its own with relaxed
 * atomics: no lock on the mail path.  A torn view across fields (a new
 * inode with an old time) is harmless: a descriptor is only shut down after
 * fstat() shows it is still the recorded socket, and a wrong idle start
 * only moves when a new connection counts as idle by one poll.
 */
typedef struct milter_idle_slot {
    ino_t ino;           /* the accepted socket; 0: not an MTA connection */
    uint64_t idle_since; /* milter_idle_now() */
    int busy;            /* reported readable since it was last polled */
} milter_idle_slot;

#define MILTER_IDLE_LOAD(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define MILTER_IDLE_STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)

/* set once by milter_idle_start(), before libmilter's threads exist */
static milter_idle_slot *milter_idle_slots;
static int milter_idle_nslots;
static uint64_t milter_idle_timeout_ms;   /* 0: off; atomic */
static unsigned long milter_idle_nclosed; /* atomic */
static int milter_idle_listen_fd = -1;    /* listen(): libmilter's listening socket */
static int milter_idle_wake_fd = -1;      /* eventfd: readable once a stop wants the loop awake */
static int milter_idle_seen;              /* MILTER_IDLE_SEEN_*: libmilter's threads that polled */

#define MILTER_IDLE_SEEN_LISTENER 1   /* the accept loop */
#define MILTER_IDLE_SEEN_CONTROLLER 2 /* the pool controller (its event pipe first) */

/* milter_idle_now - a monotonic clock in ms, coarse (a tick): cheap on every poll() */
static uint64_t
milter_idle_now(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_MONOTONIC_COARSE, &ts) != 0)
        return util_now_ms();
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void
milter_idle_start(long timeout_s)
{
    struct rlimit rl;
    int n = MILTER_IDLE_MAX_FDS;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        rl.rlim_cur < (rlim_t)n)
        n = (int)rl.rlim_cur;
    if (milter_idle_slots == NULL) {
        milter_idle_slots = xcalloc((size_t)n, sizeof(*milter_idle_slots));
        milter_idle_nslots = n;
    }
    MILTER_IDLE_STORE(&milter_idle_timeout_ms,
                      timeout_s > 0 ? (uint64_t)timeout_s * 1000u : (uint64_t)0);
    if (__atomic_load_n(&milter_idle_wake_fd, __ATOMIC_ACQUIRE) < 0) {
        int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

        if (fd < 0)
            log_msg(LOG_WARNING, NULL,
                    "eventfd: %s: a stop waits for libmilter's accept loop (up to 5 s)",
                    strerror(errno));
        __atomic_store_n(&milter_idle_wake_fd, fd, __ATOMIC_RELEASE);
    }
}

void
milter_idle_wake_listener(void)
{
    uint64_t one = 1;
    int fd = __atomic_load_n(&milter_idle_wake_fd, __ATOMIC_ACQUIRE);

    /* EAGAIN: the counter is at its maximum, the eventfd readable all the same */
    if (fd >= 0 && write(fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        log_msg(LOG_WARNING, NULL, "eventfd write: %s", strerror(errno));
}

unsigned long
milter_idle_closed(void)
{
    return MILTER_IDLE_LOAD(&milter_idle_nclosed);
}

/* milter_idle_slot_of - the slot of a watched descriptor, or NULL */
static milter_idle_slot *
milter_idle_slot_of(int fd)
{
    if (fd < 0 || fd >= milter_idle_nslots || MILTER_IDLE_LOAD(&milter_idle_slots[fd].ino) == 0)
        return NULL;
    return &milter_idle_slots[fd];
}

/*
 * milter_idle_sweep - before a poll: start idle periods, shut down what idled
 * too long, forget reused descriptors; the next deadline (UINT64_MAX: none)
 */
static uint64_t
milter_idle_sweep(const struct pollfd *fds, nfds_t n, uint64_t now, uint64_t timeout, int *closed)
{
    uint64_t next = UINT64_MAX;

    for (nfds_t i = 0; i < n; i++) {
        milter_idle_slot *s = milter_idle_slot_of(fds[i].fd);
        uint64_t since, due;
        struct stat st;

        if (s == NULL)
            continue;
        if (MILTER_IDLE_LOAD(&s->busy)) {
            MILTER_IDLE_STORE(&s->busy, 0);
            MILTER_IDLE_STORE(&s->idle_since, now);
        }
        since = MILTER_IDLE_LOAD(&s->idle_since);
        due = since + timeout;
        if (due > now) {
            if (due < next)
                next = due;
            continue;
        }
        if (fstat(fds[i].fd, &st) == 0 && S_ISSOCK(st.st_mode) &&
            st.st_ino == MILTER_IDLE_LOAD(&s->ino) && shutdown(fds[i].fd, SHUT_RDWR) == 0)
            (*closed)++;
        MILTER_IDLE_STORE(&s->ino, (ino_t)0);
    }
    return next;
}

/* milter_idle_mark - after a poll: readable watched descriptors are busy */
static void
milter_idle_mark(const struct pollfd *fds, nfds_t n)
{
    for (nfds_t i = 0; i < n; i++) {
        milter_idle_slot *s;

        if (fds[i].revents != 0 && (s = milter_idle_slot_of(fds[i].fd)) != NULL)
            MILTER_IDLE_STORE(&s->busy, 1);
    }
}

/* milter_idle_covers_listener - does a poll() set hold libmilter's listening socket? */
static int
milter_idle_covers_listener(const struct pollfd *fds, nfds_t n)
{
    int lfd = __atomic_load_n(&milter_idle_listen_fd, __ATOMIC_ACQUIRE);

    for (nfds_t i = 0; lfd >= 0 && i < n; i++)
        if (fds[i].fd == lfd)
            return 1;
    return 0;
}

/*
 * milter_idle_note - the first poll() of libmilter's accept loop (the listening
 * socket) and of its pool controller (its event pipe first in the set)
 */
static void
milter_idle_note(const struct pollfd *fds, nfds_t n)
{
    int seen = __atomic_load_n(&milter_idle_seen, __ATOMIC_ACQUIRE);
    struct stat st;

    if (n == 0 || seen == (MILTER_IDLE_SEEN_LISTENER | MILTER_IDLE_SEEN_CONTROLLER))
        return;
    if (!(seen & MILTER_IDLE_SEEN_LISTENER) && milter_idle_covers_listener(fds, n))
        __atomic_or_fetch(&milter_idle_seen, MILTER_IDLE_SEEN_LISTENER, __ATOMIC_RELEASE);
    else if (!(seen & MILTER_IDLE_SEEN_CONTROLLER) && fstat(fds[0].fd, &st) == 0 &&
             S_ISFIFO(st.st_mode))
        __atomic_or_fetch(&milter_idle_seen, MILTER_IDLE_SEEN_CONTROLLER, __ATOMIC_RELEASE);
}

int
milter_idle_libmilter_up(void)
{
    return __atomic_load_n(&milter_idle_seen, __ATOMIC_ACQUIRE) ==
           (MILTER_IDLE_SEEN_LISTENER | MILTER_IDLE_SEEN_CONTROLLER);
}

/*
 * milter_idle_ppoll_woken - ppoll() of the accept loop's set and the wake-up eventfd;
 * 0 with no revents once milter_idle_wake_listener() was called (the wake-up is consumed)
 */
static int
milter_idle_ppoll_woken(struct pollfd *fds, nfds_t n, const struct timespec *ts, int wake)
{
    struct pollfd all[MILTER_IDLE_WAKE_MAX + 1];
    uint64_t count;
    int r;

    memcpy(all, fds, n * sizeof(*fds));
    all[n].fd = wake;
    all[n].events = POLLIN;
    all[n].revents = 0;
    r = ppoll(all, n + 1, ts, NULL);
    if (r > 0 && all[n].revents != 0) {
        if (read(wake, &count, sizeof(count)) < 0 && errno != EAGAIN)
            log_msg(LOG_WARNING, NULL, "eventfd read: %s", strerror(errno));
        for (nfds_t i = 0; i < n; i++)
            fds[i].revents = 0;
        return 0;
    }
    for (nfds_t i = 0; i < n; i++)
        fds[i].revents = all[i].revents;
    return r;
}

/*
 * milter_idle_ppoll - libc's poll() by way of ppoll(), timeout in ms (< 0: for ever);
 * a poll() of the listening socket also wakes for milter_idle_wake_listener()
 */
static int
milter_idle_ppoll(struct pollfd *fds, nfds_t n, int64_t ms)
{
    struct timespec ts, *tsp = NULL;
    int wake = __atomic_load_n(&milter_idle_wake_fd, __ATOMIC_ACQUIRE);

    milter_idle_note(fds, n);
    if (ms >= 0) {
        ts.tv_sec = (time_t)(ms / 1000);
        ts.tv_nsec = (long)(ms % 1000) * 1000000L;
        tsp = &ts;
    }
    if (wake >= 0 && n <= MILTER_IDLE_WAKE_MAX && milter_idle_covers_listener(fds, n))
        return milter_idle_ppoll_woken(fds, n, tsp, wake);
    return ppoll(fds, n, tsp, NULL);
}

/*
 * listen - the system call, recording the socket libmilter listens on (see DESCRIPTION)
 */
int
listen(int fd, int backlog)
{
    int r = (int)syscall(SYS_listen, fd, backlog);

    if (r == 0)
        __atomic_store_n(&milter_idle_listen_fd, fd, __ATOMIC_RELEASE);
    return r;
}

/*
 * accept - libc's, recording the MTA connection it returns (see DESCRIPTION)
 */
int
accept(int fd, struct sockaddr *addr, socklen_t *addrlen)
{
    int c = accept4(fd, addr, addrlen, 0);
    int saved = errno;
    struct stat st;

    if (c >= 0 && MILTER_IDLE_LOAD(&milter_idle_timeout_ms) > 0 && c < milter_idle_nslots &&
        fstat(c, &st) == 0) {
        MILTER_IDLE_STORE(&milter_idle_slots[c].busy, 0);
        MILTER_IDLE_STORE(&milter_idle_slots[c].idle_since, milter_idle_now());
        MILTER_IDLE_STORE(&milter_idle_slots[c].ino, st.st_ino);
    }
    errno = saved;
    return c;
}

/*
 * poll - libc's, bounded by the deadlines of the MTA connections it covers
 * (see DESCRIPTION)
 */
int
poll(struct pollfd *fds, nfds_t n, int timeout)
{
    uint64_t idle = MILTER_IDLE_LOAD(&milter_idle_timeout_ms);
    uint64_t now, until;

    if (idle == 0) /* before milter_idle_start(), or milter_timeout off */
        return milter_idle_ppoll(fds, n, timeout);
    now = milter_idle_now();
    until = timeout < 0 ? UINT64_MAX : now + (uint64_t)timeout;
    for (;;) {
        uint64_t next;
        int closed = 0, r, saved;
        int64_t wait;

        next = milter_idle_sweep(fds, n, now, idle, &closed);
        if (closed > 0) {
            __atomic_add_fetch(&milter_idle_nclosed, (unsigned long)closed, __ATOMIC_RELAXED);
            log_msg(LOG_NOTICE, NULL, "closed %d idle MTA connection%s (daemon.milter_timeout)",
                    closed, closed == 1 ? "" : "s");
        }
        if (next > until)
            next = until;
        wait = next == UINT64_MAX ? -1 : next > now ? (int64_t)(next - now) : 0;
        r = milter_idle_ppoll(fds, n, wait);
        saved = errno;
        if (r > 0)
            milter_idle_mark(fds, n);
        /* a wake-up for a deadline of ours, before the caller's own timeout: again */
        if (r == 0 && next < until && (now = milter_idle_now()) < until)
            continue;
        errno = saved;
        return r;
    }
}
