/*
 * main.c - ses-milter: options, configuration, privileges, signals
 *
 * Purpose: start the milter.  As root it reads the configuration (and the
 * secrets it names), opens the socket and writes the PID file, forks the
 * privileged helper that opens files for reloads (privsep.h), then drops
 * to the configured user and group before any message is seen.  A reload
 * runs the start's loader, served by what the helper opened as root.
 *
 * Threads and signals: HUP, TERM, INT and USR1 are blocked in every
 * thread; libmilter runs in its own thread and the main thread alone takes
 * signals (sigwaitinfo in milter_signals.c, which also parks libmilter's
 * own signal thread for good: it would treat HUP or TERM as a stop of
 * libmilter alone), so SIGHUP reloads the configuration and SIGTERM stops
 * the whole daemon, whatever thread the kernel would have picked.
 * A reload runs in a helper thread; a configuration that fails to load is
 * refused with its file:line reason and the running one keeps serving.
 * SIGTERM refuses new transactions (milter_drain) and lets messages in flight finish
 * (daemon.shutdown_timeout bounds the wait).  MTA connections that idle for
 * daemon.milter_timeout are closed (milter_idle.c: libmilter's timeout only
 * covers a command that has begun to arrive).
 * The /metrics endpoint (metrics_http.h) is bound as root beside the milter
 * socket, served from after the privilege drop, follows metrics.listen at a
 * reload and stops after libmilter.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <jansson.h>
#include <libmilter/mfapi.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include "conf/conf.h"
#include "engine/services.h"
#include "doctor/doctor.h"
#include "engine/engine_probe.h"
#include "lib/log.h"
#include "metrics/metrics.h"
#include "metrics/metrics_http.h"
#include "milter/milter.h"
#include "milter/milter_idle.h"
#include "milter/milter_signals.h"
#include "lib/privsep.h"
#include "conf/startcheck.h"
#include "lib/util.h"

#define MAIN_EX_CONFIG 78

static const char *main_conf_path;
static pthread_mutex_t main_reload_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t main_reload_cond = PTHREAD_COND_INITIALIZER;
static int main_reload_pending, main_stopping;

static void
main_usage(FILE *fp)
{
    fprintf(fp,
            "usage: ses-milter [-f] [-c FILE]\n"
            "       ses-milter -n [-c FILE]\n"
            "       ses-milter -t ADDRESS [-t ADDRESS ...] [-r RCPT ...] [-c FILE]\n"
            "       ses-milter doctor [--json] [-c FILE] DOMAIN|ADDRESS ... | --all\n"
            "  -c FILE     configuration file (default %s)\n"
            "  -f          stay in the foreground and log to stderr\n"
            "  -n          check the configuration and what the start needs, print the\n"
            "              effective settings and exit (0 good, 78 not)\n"
            "  -t ADDRESS  what mail from ADDRESS would get: identity, source, verdict,\n"
            "              reply, account, alignment prediction (exit 0 accepted,\n"
            "              1 refused, 2 unknown; 1 wins over 2)\n"
            "  -r RCPT     with -t: a recipient, through the RCPT-time checks first\n"
            "              (suppression list, sandbox); its refusal counts too\n"
            "  -V          print the version and exit\n"
            "  -h, --help  this help\n"
            "signals: HUP reloads the configuration, USR1 reopens the audit log,\n"
            "         TERM stops after the messages in flight\n",
            conf_default_path());
}

/*
 * main_probe - ses-milter -t: the configured sources, cache and policy, as
 * the daemon runs them (engine_probe.h); no socket, no PID file, no audit
 * record (the trail is not opened), no privilege change
 */
static int
main_probe(sm_conf *conf, char *const *addrs, size_t n, char *const *rcpts, size_t nr)
{
    char err[1024];
    int rc;

    log_open("ses-milter", conf_log_facility(conf), 1);
    log_set_level(LOG_WARNING);
    services_no_audit(services_of(conf)); /* this snapshot is ours alone: nothing is recorded */
    if (conf_start(conf, err, sizeof(err)) < 0) {
        fprintf(stderr, "ses-milter: %s\n", err);
        conf_free(conf);
        return MAIN_EX_CONFIG;
    }
    conf_publish(conf);
    rc = engine_probe_run(addrs, n, rcpts, nr, stdout);
    conf_publish(NULL);
    return rc;
}

/* main_lookup_ids - resolve user and group names; 0 or -1 with err */
static int
main_lookup_ids(const char *user, const char *group, uid_t *uid, gid_t *gid, char *err,
                size_t errlen)
{
    struct passwd *pw = NULL;
    struct group *gr;

    if (user != NULL && *user) {
        if ((pw = getpwnam(user)) == NULL)
            return util_errf(err, errlen, "user '%s' does not exist", user);
        *uid = pw->pw_uid;
        *gid = pw->pw_gid;
    }
    if (group != NULL && *group) {
        if ((gr = getgrnam(group)) == NULL)
            return util_errf(err, errlen, "group '%s' does not exist", group);
        *gid = gr->gr_gid;
    }
    return 0;
}

/* main_socket_perms - owner, group and mode of a unix socket */
static int
main_socket_perms(const daemon_conf *d, char *err, size_t errlen)
{
    const char *path = startcheck_socket_path(d->socket);
    uid_t uid = (uid_t)-1;
    gid_t gid = (gid_t)-1;

    if (path == NULL)
        return 0;
    if (main_lookup_ids(d->socket_owner, d->socket_group, &uid, &gid, err, errlen) < 0)
        return -1;
    if (d->socket_owner == NULL || !*d->socket_owner) {
        gid_t user_gid;

        /* "" = the user we become (daemon.user), who then may remove the socket */
        uid = (uid_t)-1;
        if (geteuid() == 0 && d->user != NULL && *d->user &&
            main_lookup_ids(d->user, NULL, &uid, &user_gid, err, errlen) < 0)
            return -1;
    }
    return privsep_socket_perms(path, uid, gid, d->socket_mode, err, errlen);
}

/* main_open_socket - libmilter's listening socket, before the privilege drop */
static int
main_open_socket(const daemon_conf *d, char *err, size_t errlen)
{
    if (smfi_setconn(d->socket) != MI_SUCCESS)
        return util_errf(err, errlen, "invalid socket '%s'", d->socket);
    smfi_settimeout((int)d->milter_timeout);
    milter_idle_start(d->milter_timeout); /* libmilter's covers a command, not the wait for one */
    smfi_setbacklog((int)d->backlog);
    if (smfi_opensocket(1) != MI_SUCCESS)
        return util_errf(err, errlen, "cannot open socket %s: %s", d->socket,
                         errno ? strerror(errno) : "libmilter refused it");
    return main_socket_perms(d, err, errlen);
}

/* main_drop_privileges - become the configured user; refuse to stay root silently */
static int
main_drop_privileges(const daemon_conf *d, char *err, size_t errlen)
{
    uid_t uid = getuid();
    gid_t gid = getgid();

    if (geteuid() != 0)
        return 0;
    if (d->user == NULL || !*d->user) {
        log_msg(LOG_WARNING, NULL, "daemon.user is empty: running as root");
        return 0;
    }
    if (main_lookup_ids(d->user, d->group, &uid, &gid, err, errlen) < 0)
        return -1;
    if (setgroups(1, &gid) < 0 || setgid(gid) < 0 || setuid(uid) < 0)
        return util_errf(err, errlen, "cannot drop privileges to %s: %s", d->user, strerror(errno));
    if (uid != 0 && setuid(0) == 0)
        return util_errf(err, errlen, "privilege drop failed: root could be regained");
    return 0;
}

/* main_prepare - what must happen as root: files owned by the user we become */
static int
main_prepare(sm_conf *conf, char *err, size_t errlen)
{
    uid_t uid = (uid_t)-1;
    gid_t gid = (gid_t)-1;

    if (geteuid() == 0 && conf->daemon.user != NULL && *conf->daemon.user &&
        main_lookup_ids(conf->daemon.user, conf->daemon.group, &uid, &gid, err, errlen) < 0)
        return -1;
    return services_prepare(services_of(conf), uid, gid, err, errlen);
}

/*
 * main_write_pid - as root: no symbolic link is followed and nothing but a
 * plain file of root's (or ours) with no other link is written
 */
static int
main_write_pid(const char *path, char *err, size_t errlen)
{
    struct stat st = {0};
    char why[512], line[32];
    int fd, n;

    if (path == NULL || !*path)
        return 0;
    if ((fd = privsep_open(path, O_WRONLY | O_CREAT, 0644, why, sizeof(why))) < 0)
        return util_errf(err, errlen, "cannot write PID file %s", why);
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1 ||
        (st.st_uid != 0 && st.st_uid != geteuid())) {
        close(fd);
        return util_errf(err, errlen, "cannot write PID file %s: %s (refused)", path,
                         !S_ISREG(st.st_mode) ? "not a regular file"
                         : st.st_nlink != 1   ? "it has other hard links"
                                              : "owned by another user");
    }
    n = snprintf(line, sizeof(line), "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) < 0 || write(fd, line, (size_t)n) != n) {
        int e = errno;
        close(fd);
        return util_errf(err, errlen, "cannot write PID file %s: %s", path, strerror(e));
    }
    close(fd);
    return 0;
}

/* main_load_root - the start's loader as the privileged helper runs it: load, prepare, free */
static int
main_load_root(void *arg, char *err, size_t errlen)
{
    sm_conf *c;
    int rc;

    (void)arg;
    /* a file the run user could edit would make us open, as root, what it names */
    if (privsep_check_root_file(main_conf_path, err, errlen) < 0 ||
        (c = conf_load(main_conf_path, &services_conf_hooks, err, errlen)) == NULL)
        return -1;
    rc = main_prepare(c, err, errlen);
    conf_free(c);
    return rc;
}

/*
 * main_start_helper - as root with a user to become: the privileged helper
 * that opens files for reloads (privsep.h); without root nothing is needed
 */
static int
main_start_helper(const daemon_conf *d, char *err, size_t errlen)
{
    if (geteuid() != 0 || d->user == NULL || !*d->user)
        return 0;
    return privsep_helper_start(main_load_root, services_audit_forget, NULL, err, errlen);
}

/*
 * main_reload_load - a reload loads exactly like a start: the helper runs
 * the loader as root, then ours is served the files it opened
 */
static sm_conf *
main_reload_load(char *err, size_t errlen)
{
    privsep_files *files = NULL;
    sm_conf *c;

    if (privsep_helper_running() && privsep_helper_fetch(&files, err, errlen) < 0)
        return NULL;
    privsep_serve(files);
    c = conf_load(main_conf_path, &services_conf_hooks, err, errlen);
    if (c != NULL && main_prepare(c, err, errlen) < 0)
        c = conf_free(c);
    privsep_serve(NULL);
    privsep_files_free(files);
    return c;
}

/*
 * main_daemonize - fork; the parent stays until the child's start is over: a
 * zero byte on the pipe says it started, anything else is the reason it did
 * not (main_fail), which the parent prints on its standard error, so that a
 * failed start is never reported in syslog only.  Returns the pipe's end.
 */
static int
main_daemonize(void)
{
    int fds[2];
    pid_t pid;

    if (pipe(fds) < 0 || (pid = fork()) < 0) {
        perror("ses-milter: fork");
        exit(1);
    }
    if (pid > 0) {
        char buf[1100];
        size_t n = 0;
        ssize_t r = 0;

        close(fds[1]);
        while (n < sizeof(buf) - 1 && (r = read(fds[0], buf + n, sizeof(buf) - 1 - n)) != 0) {
            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0 || (n == 0 && buf[0] == '\0'))
                break;
            n += (size_t)r;
        }
        if (n == 0 && r > 0)
            _exit(0); /* started */
        buf[n] = '\0';
        fprintf(stderr, "ses-milter: %s\n", n > 0 ? buf : "the daemon exited during its start");
        _exit(1);
    }
    close(fds[0]);
    setsid();
    if (chdir("/") < 0)
        _exit(1);
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        if (null > 2)
            close(null);
    }
    return fds[1];
}

/*
 * main_remove_files - the unix socket and the PID file, at exit or after a failed start;
 * a socket or file of ours only (a directory the run user may not write: the helper does)
 */
static void
main_remove_files(const char *socket_spec, const char *pid_file)
{
    const char *sock = socket_spec != NULL ? startcheck_socket_path(socket_spec) : NULL;
    struct stat st;

    if (sock != NULL && lstat(sock, &st) == 0 && S_ISSOCK(st.st_mode))
        (void)unlink(sock);
    if (pid_file != NULL && *pid_file && lstat(pid_file, &st) == 0 && S_ISREG(st.st_mode))
        (void)unlink(pid_file);
}

/*
 * main_fail - a start that failed: the reason said once (in the foreground the
 * log is standard error; a daemon's parent prints what the pipe says), what the
 * start made (socket, PID file) removed.  Returns the exit status, 1.
 */
static int
main_fail(int ready, int foreground, const char *err, const char *socket_spec, const char *pid_file)
{
    log_msg(LOG_ERR, NULL, "%s", err);
    if (ready >= 0) {
        if (write(ready, err, strlen(err)) < 0)
            (void)0; /* the parent is gone: nobody to tell */
        close(ready);
    } else if (!foreground) {
        fprintf(stderr, "ses-milter: %s\n", err);
    }
    main_remove_files(socket_spec, pid_file);
    return 1;
}

static volatile int main_stop_done;

static void *
main_stop_thread(void *arg)
{
    (void)arg;
    smfi_stop();
    __atomic_store_n(&main_stop_done, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

/*
 * main_stop_milter - smfi_stop() in a thread while we keep waking libmilter's
 * accept loop (it holds the lock smfi_stop() needs while it polls, 5 s at a
 * time: milter_idle_wake_listener); returns 1 when libmilter stopped within
 * a second.  No message is in flight any more when this runs; a libmilter
 * that does not stop is reported, and the daemon exits all the same.
 */
static int
main_stop_milter(void)
{
    pthread_t tid;

    /* right after the start: libmilter's threads first (its pool would tear down under them) */
    for (int i = 0; i < 100 && !milter_idle_libmilter_up(); i++)
        usleep(10000);
    if (pthread_create(&tid, NULL, main_stop_thread, NULL) != 0)
        return 0;
    pthread_detach(tid);
    for (int i = 0; i < 100 && !__atomic_load_n(&main_stop_done, __ATOMIC_SEQ_CST); i++) {
        milter_idle_wake_listener();
        usleep(10000);
    }
    if (__atomic_load_n(&main_stop_done, __ATOMIC_SEQ_CST))
        return 1;
    log_msg(LOG_WARNING, NULL,
            "libmilter did not stop within 1 s: exiting with its threads running");
    return 0;
}

static void *
main_milter_thread(void *arg)
{
    (void)arg;
    if (smfi_main() != MI_SUCCESS)
        log_msg(LOG_ERR, NULL, "libmilter stopped with an error");
    return NULL;
}

/*
 * main_reload_daemon - the daemon settings a reload cannot change (the socket is
 * open, privileges are dropped, libmilter took its timeout at the start): each
 * that differs is logged with what happens; the idle-connection limit of
 * milter_timeout does change (milter_idle.c), libmilter's per-command one waits
 * for a restart
 */
static void
main_reload_daemon(const daemon_conf *old, const daemon_conf *new)
{
    static const struct {
        const char *name;
        size_t off;
    } strs[] = {
        {"socket", offsetof(daemon_conf, socket)},
        {"socket_owner", offsetof(daemon_conf, socket_owner)},
        {"socket_group", offsetof(daemon_conf, socket_group)},
        {"socket_mode", offsetof(daemon_conf, socket_mode_text)},
        {"user", offsetof(daemon_conf, user)},
        {"group", offsetof(daemon_conf, group)},
        {"pid_file", offsetof(daemon_conf, pid_file)},
    };

    for (size_t i = 0; i < SM_ARRAY_LEN(strs); i++) {
        const char *a = *(char *const *)((const char *)old + strs[i].off);
        const char *b = *(char *const *)((const char *)new + strs[i].off);

        if (strcmp(a ? a : "", b ? b : "") != 0)
            log_msg(LOG_WARNING, NULL,
                    "reload: daemon.%s changed; it takes effect at the next restart, the running "
                    "daemon keeps the old value",
                    strs[i].name);
    }
    if (old->backlog != new->backlog)
        log_msg(LOG_WARNING, NULL,
                "reload: daemon.backlog changed; it takes effect at the next restart");
    if (old->milter_timeout != new->milter_timeout) {
        milter_idle_start(new->milter_timeout);
        log_msg(LOG_NOTICE, NULL,
                "reload: daemon.milter_timeout %ld s: idle milter connections are closed after "
                "it now; libmilter's wait for each command keeps %ld s until the next restart",
                new->milter_timeout, old->milter_timeout);
    }
}

/* main_reload - SIGHUP: a new snapshot, or the old one if the new one is broken */
static void
main_reload(void)
{
    char err[1024];
    sm_conf *c = main_reload_load(err, sizeof(err)), *old;

    if (c == NULL) {
        log_msg(LOG_ERR, NULL, "reload refused: %s; the running configuration stays", err);
        metrics_reload(0);
        return;
    }
    if (conf_start(c, err, sizeof(err)) < 0) {
        log_msg(LOG_ERR, NULL, "reload refused: %s; the running configuration stays", err);
        metrics_reload(0);
        conf_free(c);
        return;
    }
    log_set_level(conf_log_level(c));
    log_msg(LOG_NOTICE, NULL, "configuration %s reloaded (version %s)", c->path, c->version);
    old = conf_acquire();
    if (old != NULL) {
        main_reload_daemon(&old->daemon, &c->daemon);
        conf_release(old);
    }
    metrics_http_reload(services_of(c)->metrics);
    metrics_reload(1);
    conf_publish(c);
}

static void *
main_reload_thread(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&main_reload_lock);
    for (;;) {
        while (!main_reload_pending && !main_stopping)
            pthread_cond_wait(&main_reload_cond, &main_reload_lock);
        if (main_stopping)
            break;
        main_reload_pending = 0;
        pthread_mutex_unlock(&main_reload_lock);
        main_reload();
        pthread_mutex_lock(&main_reload_lock);
    }
    pthread_mutex_unlock(&main_reload_lock);
    return NULL;
}

static void
main_poke_reload(int stopping)
{
    pthread_mutex_lock(&main_reload_lock);
    if (stopping)
        main_stopping = 1;
    else
        main_reload_pending = 1;
    pthread_cond_signal(&main_reload_cond);
    pthread_mutex_unlock(&main_reload_lock);
}

/*
 * main_check_signal_thread - libmilter's signal thread must be parked in our
 * sigwait() (milter_signals.c), or a SIGHUP could stop libmilter
 */
static void
main_check_signal_thread(void)
{
    for (int i = 0; i < 200 && !milter_signals_parked(); i++)
        usleep(10000);
    if (!milter_signals_parked())
        log_msg(LOG_WARNING, NULL,
                "libmilter's signal thread did not call sigwait(): a SIGHUP or SIGTERM may stop "
                "libmilter alone");
}

/* main_wait_signals - the main thread's loop until TERM or INT */
static void
main_wait_signals(const sigset_t *set)
{
    for (;;) {
        int sig = milter_signals_wait(set);

        if (sig == SIGHUP) {
            main_poke_reload(0);
        } else if (sig == SIGUSR1) {
            sm_conf *c = conf_acquire();
            if (c != NULL)
                services_reopen(services_of(c));
            conf_release(c);
            log_msg(LOG_NOTICE, NULL, "SIGUSR1: log files reopened");
        } else {
            log_msg(LOG_NOTICE, NULL, "signal %d: stopping after the messages in flight", sig);
            return;
        }
    }
}

static int
main_run(sm_conf *conf, int foreground)
{
    char err[1024];
    int ready = -1, status = 0;
    pthread_t milter_tid, reload_tid;
    sigset_t set;
    long grace = conf->daemon.shutdown_timeout;
    char *pid_file = xstrdup(conf->daemon.pid_file ? conf->daemon.pid_file : "");
    char *socket_spec = xstrdup(conf->daemon.socket);

    log_open("ses-milter", conf_log_facility(conf), foreground);
    log_set_level(conf_log_level(conf));
    /* blocked before the socket exists: a signal sent once it appears is ours to take */
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (milter_register("ses-milter") < 0 ||
        main_open_socket(&conf->daemon, err, sizeof(err)) < 0) {
        status = main_fail(-1, foreground, err, NULL, NULL); /* the socket is not ours */
        conf_free(conf);
        goto out;
    }
    if (!foreground)
        ready = main_daemonize();
    if (main_write_pid(pid_file, err, sizeof(err)) < 0) {
        status = main_fail(ready, foreground, err, socket_spec, NULL);
        conf_free(conf);
        goto out;
    }
    privsep_helper_cleanup(startcheck_socket_path(socket_spec), pid_file);
    metrics_start(); /* before the first lookup: DNS queries are counted from here */
    if (main_prepare(conf, err, sizeof(err)) < 0 ||
        main_start_helper(&conf->daemon, err, sizeof(err)) < 0 ||
        metrics_http_bind(services_of(conf)->metrics, err, sizeof(err)) < 0 ||
        main_drop_privileges(&conf->daemon, err, sizeof(err)) < 0 ||
        conf_start(conf, err, sizeof(err)) < 0 || metrics_http_start(err, sizeof(err)) < 0) {
        status = main_fail(ready, foreground, err, socket_spec, pid_file);
        metrics_http_stop();
        conf_free(conf);
        goto out;
    }
    conf_publish(conf);
    if (pthread_create(&reload_tid, NULL, main_reload_thread, NULL) != 0 ||
        pthread_create(&milter_tid, NULL, main_milter_thread, NULL) != 0) {
        status = main_fail(ready, foreground, "cannot start threads", socket_spec, pid_file);
        goto out;
    }
    log_msg(LOG_NOTICE, NULL, "%s started on %s (configuration %s, version %s)", PACKAGE_STRING,
            conf->daemon.socket, conf->path, conf->version);
    if (ready >= 0) {
        char ok = 0;
        if (write(ready, &ok, 1) != 1)
            status = 1;
        close(ready);
    }
    main_check_signal_thread();
    main_wait_signals(&set);
    milter_drain();
    for (long i = 0; i < grace * 20 && milter_in_flight() > 0; i++)
        usleep(50000);
    if (milter_in_flight() > 0)
        log_msg(LOG_WARNING, NULL, "%d messages still in flight after %lds: stopping anyway",
                milter_in_flight(), grace);
    if (main_stop_milter())
        pthread_join(milter_tid, NULL);
    main_poke_reload(1);
    pthread_join(reload_tid, NULL);
    metrics_http_stop();
    conf_publish(NULL);
    main_remove_files(socket_spec, pid_file);
    privsep_helper_stop(); /* removes what the run user could not */
    log_msg(LOG_NOTICE, NULL, "stopped");
out:
    free(pid_file);
    free(socket_spec);
    return status;
}

/*
 * main_abs_path - path made absolute against the current directory (no symbolic
 * link resolved: the file is still opened by the name given), in a buffer that
 * lives as long as the program; NULL when the directory cannot be named or the
 * result is too long, and the path is then used as given
 */
static const char *
main_abs_path(const char *path)
{
    static char buf[8192];
    char cwd[4096];
    int n;

    if (getcwd(cwd, sizeof(cwd)) == NULL)
        return NULL;
    n = snprintf(buf, sizeof(buf), "%s/%s", strcmp(cwd, "/") == 0 ? "" : cwd, path);
    return n > 0 && (size_t)n < sizeof(buf) ? buf : NULL;
}

int
main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'}, {"version", no_argument, NULL, 'V'}, {NULL, 0, NULL, 0}};
    int opt, foreground = 0, check = 0, rc;
    char err[1024], **probe = NULL, **rcpts = NULL;
    const char *abs_path;
    size_t nprobe = 0, nrcpts = 0;
    sm_conf *conf;

    privsep_init();
    json_object_seed(0); /* jansson's hash seed, before any thread exists */
    main_conf_path = conf_default_path();
    if (argc > 1 && strcmp(argv[1], "doctor") == 0) /* doctor.c: is a sending domain ready? */
        return doctor_main(argc - 1, argv + 1);
    while ((opt = getopt_long(argc, argv, "c:fnr:t:Vh", longopts, NULL)) != -1) {
        switch (opt) {
        case 't':
            probe = xrealloc(probe, (nprobe + 1) * sizeof(*probe));
            probe[nprobe++] = optarg;
            break;
        case 'r':
            rcpts = xrealloc(rcpts, (nrcpts + 1) * sizeof(*rcpts));
            rcpts[nrcpts++] = optarg;
            break;
        case 'c':
            main_conf_path = optarg;
            break;
        case 'f':
            foreground = 1;
            break;
        case 'n':
            check = 1;
            break;
        case 'V':
            printf("%s\n", PACKAGE_STRING);
            return 0;
        case 'h':
            main_usage(stdout);
            return 0;
        default:
            main_usage(stderr);
            return 64;
        }
    }
    if (optind != argc || (check && nprobe > 0) || (nrcpts > 0 && nprobe == 0)) {
        free(probe);
        free(rcpts);
        main_usage(stderr);
        return 64;
    }
    /* a reload reads the file again after the daemon moved to "/": keep it absolute */
    if (main_conf_path[0] != '/' && (abs_path = main_abs_path(main_conf_path)) != NULL)
        main_conf_path = abs_path;
    if ((conf = conf_load(main_conf_path, &services_conf_hooks, err, sizeof(err))) == NULL) {
        fprintf(stderr, "ses-milter: %s\n", err);
        free(probe);
        free(rcpts);
        return MAIN_EX_CONFIG;
    }
    if (nprobe > 0) {
        rc = main_probe(conf, probe, nprobe, rcpts, nrcpts);
        free(probe);
        free(rcpts);
        return rc;
    }
    if (check) {
        conf_dump(stdout, conf);
        fflush(stdout);
        rc = startcheck_run(conf, 1, stderr) > 0 ? MAIN_EX_CONFIG : 0;
        conf_warnings(stderr, conf);
        conf_free(conf);
        return rc;
    }
    /* the start stops where -n would, with the same words */
    if (startcheck_run(conf, 0, stderr) > 0) {
        conf_free(conf);
        return MAIN_EX_CONFIG;
    }
    return main_run(conf, foreground);
}
