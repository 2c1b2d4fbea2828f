/*
 * privsep_helper.c - the privileged helper: runs the loader as root for a reload
 *
 * Purpose: before the privilege drop the daemon forks this helper, joined
 * by a SOCK_SEQPACKET socket pair.  The helper stays root and does one
 * thing: on the request "R" it runs the start's loader (the daemon's
 * configuration file, re-read by the helper itself) with its opens
 * recorded, and sends back every file it opened, one message per file
 * (path, flags, errno, and the descriptor by SCM_RIGHTS), then an end
 * message with the loader's status and reason.  The daemon then runs the
 * same loader served by these descriptors (privsep.c).
 *
 * Security: no path, flag or text from the daemon is ever used; any
 * request but "R" is ignored.  The helper closes every inherited
 * descriptor but the socket and standard error, ignores HUP, TERM, INT and
 * USR1 (meant for the daemon, maybe sent to its process group) and exits
 * at end of file on the socket: when the daemon exits or stops it.  Then it
 * removes the daemon's unix socket and PID file (privsep_helper_cleanup),
 * which sit in directories the run user may not write: the PID file only
 * when it is a plain file naming the daemon, the socket only then (or when
 * there is no PID file) and only when it is a socket; never through a link.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/privsep.h"
#include "lib/util.h"

#define PRIVSEP_MSG_FILE 1
#define PRIVSEP_MSG_END 2
#define PRIVSEP_TEXT_MAX 2048
#define PRIVSEP_MAX_FILES 512
#define PRIVSEP_WAIT_MS 60000

typedef struct privsep_msg {
    int32_t kind;
    int32_t flags;               /* FILE: the open flags */
    int32_t err_no;              /* FILE: errno of a failed open, 0 with a descriptor */
    int32_t status;              /* END: the loader's 0 or -1 */
    char text[PRIVSEP_TEXT_MAX]; /* FILE: path; END: reason */
} privsep_msg;

static int privsep_helper_fd = -1;
static pid_t privsep_helper_pid = -1;
static char *privsep_cleanup_sock, *privsep_cleanup_pid;

void
privsep_helper_cleanup(const char *socket_path, const char *pid_file)
{
    free(privsep_cleanup_sock);
    free(privsep_cleanup_pid);
    privsep_cleanup_sock = socket_path != NULL ? xstrdup(socket_path) : NULL;
    privsep_cleanup_pid = pid_file != NULL && *pid_file ? xstrdup(pid_file) : NULL;
}

/* privsep_helper_remove - in the helper, the daemon (pid) gone: its socket and PID file */
static void
privsep_helper_remove(pid_t daemon)
{
    struct stat st;
    char buf[32];
    int fd, ours = 1;
    ssize_t n;

    if (privsep_cleanup_pid != NULL) {
        ours = 0;
        fd = open(privsep_cleanup_pid, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
            (n = read(fd, buf, sizeof(buf) - 1)) > 0) {
            buf[n] = '\0';
            ours = strtol(buf, NULL, 10) == (long)daemon;
        }
        if (fd >= 0)
            close(fd);
        if (ours)
            (void)unlink(privsep_cleanup_pid);
    }
    if (ours && privsep_cleanup_sock != NULL && lstat(privsep_cleanup_sock, &st) == 0 &&
        S_ISSOCK(st.st_mode))
        (void)unlink(privsep_cleanup_sock);
}

/* privsep_helper_send - one message, with fd attached when fd >= 0 */
static int
privsep_helper_send(int sock, const privsep_msg *m, int fd)
{
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    struct iovec iov = {(void *)m, offsetof(privsep_msg, text) + strlen(m->text) + 1};
    struct msghdr mh;
    ssize_t n;

    memset(&mh, 0, sizeof(mh));
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    if (fd >= 0) {
        struct cmsghdr *c;
        memset(&u, 0, sizeof(u));
        mh.msg_control = u.buf;
        mh.msg_controllen = sizeof(u.buf);
        c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof(int));
    }
    do
        n = sendmsg(sock, &mh, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    return n < 0 ? -1 : 0;
}

/* privsep_helper_serve_one - run the loader recorded and send what it opened */
static int
privsep_helper_serve_one(int sock, privsep_loader load, void *arg)
{
    privsep_files *set = privsep_files_new();
    privsep_msg m;
    int rc;

    memset(&m, 0, sizeof(m));
    privsep_record(set);
    rc = load(arg, m.text, sizeof(m.text));
    privsep_record(NULL);
    for (size_t i = 0; i < privsep_files_count(set) && i < PRIVSEP_MAX_FILES; i++) {
        privsep_msg f;
        const char *path;
        int fd, err_no;

        memset(&f, 0, sizeof(f));
        privsep_files_get(set, i, &path, &f.flags, &fd, &err_no);
        if (strlen(path) >= sizeof(f.text))
            continue;
        f.kind = PRIVSEP_MSG_FILE;
        f.err_no = err_no;
        strcpy(f.text, path);
        if (privsep_helper_send(sock, &f, fd) < 0)
            break;
    }
    privsep_files_free(set);
    m.kind = PRIVSEP_MSG_END;
    m.status = rc < 0 ? -1 : 0;
    return privsep_helper_send(sock, &m, -1);
}

/* privsep_helper_main - the helper's life: wait for "R", answer, until end of file */
static void __attribute__((noreturn))
privsep_helper_main(int sock, privsep_loader load, void (*child_init)(void), void *arg)
{
    int sigs[] = {SIGHUP, SIGTERM, SIGINT, SIGUSR1, SIGPIPE};
    sigset_t set;
    char req;
    pid_t daemon = getppid();

    for (size_t i = 0; i < SM_ARRAY_LEN(sigs); i++)
        signal(sigs[i], SIG_IGN);
    sigemptyset(&set);
    pthread_sigmask(SIG_SETMASK, &set, NULL);
    (void)prctl(PR_SET_PDEATHSIG, SIGKILL); /* backstop: end of file says it too */
    (void)prctl(PR_SET_NAME, "sm-privsep"); /* what ps shows */
    for (int fd = 3; fd < 4096; fd++)
        if (fd != sock)
            (void)close(fd);
    if (child_init != NULL)
        child_init();
    for (;;) {
        ssize_t n = recv(sock, &req, 1, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            privsep_helper_remove(daemon);
            _exit(0);
        }
        if (req == 'R' && privsep_helper_serve_one(sock, load, arg) < 0)
            _exit(1);
    }
}

int
privsep_helper_start(privsep_loader load, void (*child_init)(void), void *arg, char *err,
                     size_t errlen)
{
    int sv[2];
    pid_t pid;

    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        return util_errf(err, errlen, "privileged helper: socketpair: %s", strerror(errno));
    if ((pid = fork()) < 0) {
        close(sv[0]);
        close(sv[1]);
        return util_errf(err, errlen, "privileged helper: fork: %s", strerror(errno));
    }
    if (pid == 0) {
        close(sv[0]);
        privsep_helper_main(sv[1], load, child_init, arg);
    }
    close(sv[1]);
    privsep_helper_fd = sv[0];
    privsep_helper_pid = pid;
    return 0;
}

int
privsep_helper_running(void)
{
    return privsep_helper_fd >= 0;
}

/* privsep_helper_recv - one message and its descriptor (-1 when none); 0 or -1 */
static int
privsep_helper_recv(int sock, privsep_msg *m, int *fd_r)
{
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    struct iovec iov = {m, sizeof(*m) - 1};
    struct msghdr mh;
    struct pollfd p = {sock, POLLIN, 0};
    struct cmsghdr *c;
    ssize_t n;

    *fd_r = -1;
    memset(m, 0, sizeof(*m));
    memset(&mh, 0, sizeof(mh));
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = u.buf;
    mh.msg_controllen = sizeof(u.buf);
    if (poll(&p, 1, PRIVSEP_WAIT_MS) != 1)
        return -1;
    do
        n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n < (ssize_t)offsetof(privsep_msg, text))
        return -1;
    for (c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
            c->cmsg_len == CMSG_LEN(sizeof(int)))
            memcpy(fd_r, CMSG_DATA(c), sizeof(int));
    m->text[sizeof(m->text) - 1] = '\0';
    return 0;
}

int
privsep_helper_fetch(privsep_files **files_r, char *err, size_t errlen)
{
    privsep_files *set;
    privsep_msg m;
    char req = 'R';
    int fd;

    *files_r = NULL;
    if (privsep_helper_fd < 0)
        return util_errf(err, errlen, "no privileged helper");
    if (send(privsep_helper_fd, &req, 1, MSG_NOSIGNAL) != 1)
        return util_errf(err, errlen, "privileged helper is gone: %s", strerror(errno));
    set = privsep_files_new();
    for (size_t i = 0; i <= PRIVSEP_MAX_FILES; i++) {
        if (privsep_helper_recv(privsep_helper_fd, &m, &fd) < 0) {
            privsep_files_free(set);
            return util_errf(err, errlen, "privileged helper did not answer");
        }
        if (m.kind == PRIVSEP_MSG_END) {
            if (fd >= 0)
                close(fd);
            if (m.status < 0) {
                privsep_files_free(set);
                return util_errf(err, errlen, "%s", m.text[0] ? m.text : "load failed");
            }
            *files_r = set;
            return 0;
        }
        if (m.kind == PRIVSEP_MSG_FILE)
            privsep_files_add(set, m.text, m.flags, fd, m.err_no);
        else if (fd >= 0)
            close(fd);
    }
    privsep_files_free(set);
    return util_errf(err, errlen, "privileged helper sent too many files");
}

void
privsep_helper_stop(void)
{
    if (privsep_helper_fd < 0)
        return;
    close(privsep_helper_fd);
    privsep_helper_fd = -1;
    if (privsep_helper_pid > 0) {
        /* bounded: end of file ends it at once */
        for (int i = 0; i < 100 && waitpid(privsep_helper_pid, NULL, WNOHANG) == 0; i++)
            usleep(10000);
        privsep_helper_pid = -1;
    }
}
