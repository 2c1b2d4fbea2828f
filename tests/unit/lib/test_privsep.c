/*
 * test_privsep.c - the opener of configuration-named files and the reload helper
 *
 * privsep_open never follows a symbolic link; a recorded set serves exactly
 * what was opened (content rewound, failures with their errno) and refuses
 * anything else; serving belongs to the calling thread; the helper runs its
 * loader in another process, hands back the descriptors, reports the
 * loader's failure, and exits when the socket closes.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/privsep.h"
#include "lib/util.h"

static char dir[64];
static char *file_a, *file_missing, *link_a;

static int
setup(void **state)
{
    FILE *fp;

    (void)state;
    strcpy(dir, "/tmp/sm-privsep.XXXXXX");
    assert_non_null(mkdtemp(dir));
    file_a = xasprintf("%s/a", dir);
    file_missing = xasprintf("%s/missing", dir);
    link_a = xasprintf("%s/link", dir);
    assert_non_null(fp = fopen(file_a, "w"));
    fputs("first", fp);
    fclose(fp);
    assert_int_equal(symlink(file_a, link_a), 0);
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    unlink(file_a);
    unlink(link_a);
    rmdir(dir);
    free(file_a);
    free(file_missing);
    free(link_a);
    return 0;
}

/* read_all - the descriptor's content from where it stands, closed */
static char *
read_all(int fd)
{
    char buf[256];
    ssize_t n = read(fd, buf, sizeof(buf) - 1);

    close(fd);
    buf[n > 0 ? n : 0] = '\0';
    return xstrdup(buf);
}

static void
test_privsep_open_never_follows_a_symbolic_link(void **state)
{
    char err[256] = "";
    int fd;

    (void)state;
    assert_int_equal(privsep_open(link_a, O_RDONLY, 0, err, sizeof(err)), -1);
    assert_int_equal(errno, ELOOP);
    assert_non_null(strstr(err, "/link: is a symbolic link (refused)"));
    assert_true((fd = privsep_open(file_a, O_RDONLY, 0, err, sizeof(err))) >= 0);
    assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    close(fd);
}

static void
test_privsep_serves_only_what_was_recorded(void **state)
{
    privsep_files *set = privsep_files_new();
    char err[256] = "", *text;
    int fd;

    (void)state;
    privsep_record(set);
    fd = privsep_open(file_a, O_RDONLY, 0, err, sizeof(err));
    text = read_all(fd); /* the recorder reads to the end: a served copy starts again */
    free(text);
    assert_int_equal(privsep_open(file_missing, O_RDONLY, 0, err, sizeof(err)), -1);
    privsep_record(NULL);
    assert_int_equal(privsep_files_count(set), 2);

    privsep_serve(set);
    fd = privsep_open(file_a, O_RDONLY, 0, err, sizeof(err));
    assert_true(fd >= 0);
    text = read_all(fd);
    assert_string_equal(text, "first");
    free(text);
    /* a failure is served as it happened */
    assert_int_equal(privsep_open(file_missing, O_RDONLY, 0, err, sizeof(err)), -1);
    assert_int_equal(errno, ENOENT);
    /* other flags or another path: nothing */
    assert_int_equal(privsep_open(file_a, O_WRONLY | O_APPEND, 0, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "not among the files the privileged helper opened"));
    assert_int_equal(privsep_open("/etc/passwd", O_RDONLY, 0, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "/etc/passwd: not among the files"));
    privsep_serve(NULL);
    privsep_files_free(set);
}

static void *
open_directly(void *arg)
{
    char err[256];
    int fd = privsep_open(arg, O_RDONLY, 0, err, sizeof(err));

    if (fd >= 0)
        close(fd);
    return (void *)(long)(fd >= 0);
}

static void
test_privsep_serving_belongs_to_the_calling_thread(void **state)
{
    privsep_files *empty = privsep_files_new();
    char err[256];
    pthread_t t;
    void *ok = NULL;

    (void)state;
    privsep_serve(empty);
    assert_int_equal(privsep_open(file_a, O_RDONLY, 0, err, sizeof(err)), -1);
    assert_int_equal(pthread_create(&t, NULL, open_directly, file_a), 0);
    pthread_join(t, &ok);
    assert_true(ok != NULL); /* another thread (SIGUSR1's reopen) still opens directly */
    privsep_serve(NULL);
    privsep_files_free(empty);
}

/* the socket's owner and mode change on the socket only: a link or a plain file is refused */
static void
test_privsep_socket_perms_only_on_a_socket(void **state)
{
    struct sockaddr_un sun;
    char *sock = xasprintf("%s/s", dir), *ln = xasprintf("%s/sl", dir), err[256] = "";
    struct stat st;
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    (void)state;
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    util_strlcpy(sun.sun_path, sock, sizeof(sun.sun_path));
    assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
    assert_int_equal(symlink(file_a, ln), 0);
    assert_int_equal(privsep_socket_perms(sock, (uid_t)-1, (gid_t)-1, 0660, err, sizeof(err)), 0);
    assert_int_equal(stat(sock, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0660);
    assert_int_equal(stat(file_a, &st), 0);
    mode_t before = st.st_mode;
    assert_int_equal(privsep_socket_perms(ln, (uid_t)-1, (gid_t)-1, 0666, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "/sl: is a symbolic link (refused)"));
    assert_int_equal(privsep_socket_perms(file_a, (uid_t)-1, (gid_t)-1, 0666, err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "/a: not a socket (refused)"));
    assert_int_equal(stat(file_a, &st), 0);
    assert_int_equal(st.st_mode, before); /* the link's target untouched */
    close(fd);
    unlink(sock);
    unlink(ln);
    free(sock);
    free(ln);
}

static int loader_fail;

/* loader - what the helper runs: opens a file and a missing one, maybe fails */
static int
loader(void *arg, char *err, size_t errlen)
{
    char why[256];
    int fd;

    (void)arg;
    if ((fd = privsep_open(file_a, O_RDONLY, 0, why, sizeof(why))) >= 0)
        close(fd);
    (void)privsep_open(file_missing, O_RDONLY, 0, why, sizeof(why));
    if (loader_fail)
        return util_errf(err, errlen, "conf:3: the loader says no");
    return 0;
}

static void
test_privsep_helper_hands_back_the_loaders_files_and_its_failure(void **state)
{
    privsep_files *set = NULL;
    char err[256] = "", *text;
    int fd;

    (void)state;
    loader_fail = 0;
    assert_int_equal(privsep_helper_start(loader, NULL, NULL, err, sizeof(err)), 0);
    assert_true(privsep_helper_running());
    assert_int_equal(privsep_helper_fetch(&set, err, sizeof(err)), 0);
    assert_int_equal(privsep_files_count(set), 2);
    privsep_serve(set);
    assert_true((fd = privsep_open(file_a, O_RDONLY, 0, err, sizeof(err))) >= 0);
    text = read_all(fd);
    assert_string_equal(text, "first");
    free(text);
    assert_int_equal(privsep_open(file_missing, O_RDONLY, 0, err, sizeof(err)), -1);
    assert_int_equal(errno, ENOENT);
    privsep_serve(NULL);
    set = privsep_files_free(set);
    /* the helper serves again, and again */
    assert_int_equal(privsep_helper_fetch(&set, err, sizeof(err)), 0);
    set = privsep_files_free(set);
    privsep_helper_stop();
    assert_false(privsep_helper_running());
    assert_int_equal(privsep_helper_fetch(&set, err, sizeof(err)), -1);

    /* a loader that fails: its reason comes back, no files */
    loader_fail = 1;
    assert_int_equal(privsep_helper_start(loader, NULL, NULL, err, sizeof(err)), 0);
    assert_int_equal(privsep_helper_fetch(&set, err, sizeof(err)), -1);
    assert_null(set);
    assert_string_equal(err, "conf:3: the loader says no");
    privsep_helper_stop();
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_privsep_open_never_follows_a_symbolic_link),
        cmocka_unit_test(test_privsep_serves_only_what_was_recorded),
        cmocka_unit_test(test_privsep_serving_belongs_to_the_calling_thread),
        cmocka_unit_test(test_privsep_socket_perms_only_on_a_socket),
        cmocka_unit_test(test_privsep_helper_hands_back_the_loaders_files_and_its_failure),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
