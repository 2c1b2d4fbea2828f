/*
 * startcheck.c - what would stop the start, found before it
 *
 * Purpose: the checks of startcheck.h.  The configuration file is read a
 * second time with libconfig only to name the line of each setting; the
 * values checked are the loaded snapshot's.  What the run user can reach
 * is tried by a child that becomes that user (as the daemon will) and
 * reports with its exit status: no guess from mode bits, ACLs included.
 *
 * Security: the child only calls access(2) on paths of the configuration
 * and exits; it runs no code of the configuration's.
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <libconfig.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/cfg.h"
#include "conf/conf.h"
#include "conf/startcheck.h"
#include "lib/util.h"

typedef struct startcheck {
    config_t cf;
    int have_cf;
    const char *path;
    FILE *fp;
    int errors;
} startcheck;

const char *
startcheck_socket_path(const char *spec)
{
    if (strncmp(spec, "unix:", 5) == 0)
        return spec + 5;
    if (strncmp(spec, "local:", 6) == 0)
        return spec + 6;
    if (spec[0] == '/')
        return spec;
    return NULL;
}

/* startcheck_where - "file:line" of a setting by its dotted path, else "file" */
static const char *
startcheck_where(startcheck *sc, const char *setting, char *buf, size_t len)
{
    const config_setting_t *s = sc->have_cf ? config_lookup(&sc->cf, setting) : NULL;

    if (s == NULL) {
        util_strlcpy(buf, sc->path, len);
        return buf;
    }
    return cfg_where(s, buf, len);
}

static void startcheck_say(startcheck *sc, int error, const char *where, const char *fmt, ...)
    SM_PRINTF(4, 5);

/* startcheck_say - one error ("ses-milter: WHERE: text") or warning line */
static void
startcheck_say(startcheck *sc, int error, const char *where, const char *fmt, ...)
{
    char text[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    fprintf(sc->fp, "%s%s: %s\n", error ? "ses-milter: " : "warning: ", where, text);
    sc->errors += error;
}

/* startcheck_dir - the directory a file will be created in must exist */
static void
startcheck_dir(startcheck *sc, const char *setting, const char *file)
{
    char where[512], *dir;
    struct stat st;

    if (file == NULL || *file == '\0')
        return;
    dir = xstrdup(file);
    if (strrchr(dir, '/') != NULL)
        *strrchr(dir, '/') = '\0';
    else
        util_strlcpy(dir, ".", strlen(dir) + 1);
    if (*dir == '\0')
        util_strlcpy(dir, "/", 2);
    startcheck_where(sc, setting, where, sizeof(where));
    if (stat(dir, &st) < 0)
        startcheck_say(sc, 1, where, "%s: directory %s: %s", setting, dir, strerror(errno));
    else if (!S_ISDIR(st.st_mode))
        startcheck_say(sc, 1, where, "%s: %s is not a directory", setting, dir);
    free(dir);
}

/* startcheck_file - a file the start opens as root: never through a link (privsep_open) */
static void
startcheck_file(startcheck *sc, const char *setting, const char *file)
{
    char where[512];
    struct stat st;

    if (file == NULL || *file == '\0' || lstat(file, &st) < 0)
        return;
    startcheck_where(sc, setting, where, sizeof(where));
    if (S_ISLNK(st.st_mode))
        startcheck_say(sc, 1, where, "%s: %s: is a symbolic link (refused)", setting, file);
    else if (S_ISDIR(st.st_mode))
        startcheck_say(sc, 1, where, "%s: %s: is a directory (refused)", setting, file);
    else if (S_ISREG(st.st_mode) && st.st_nlink != 1)
        startcheck_say(sc, 1, where, "%s: %s: has other hard links (refused)", setting, file);
}

/* startcheck_user / startcheck_group - a name that must exist */
static void
startcheck_user(startcheck *sc, const char *setting, const char *name)
{
    char where[512];

    if (name != NULL && *name && getpwnam(name) == NULL)
        startcheck_say(sc, 1, startcheck_where(sc, setting, where, sizeof(where)),
                       "%s: user '%s' does not exist", setting, name);
}

static void
startcheck_group(startcheck *sc, const char *setting, const char *name)
{
    char where[512];

    if (name != NULL && *name && getgrnam(name) == NULL)
        startcheck_say(sc, 1, startcheck_where(sc, setting, where, sizeof(where)),
                       "%s: group '%s' does not exist", setting, name);
}

/*
 * startcheck_as_user - whether uid/gid (with the user's groups, as the daemon
 * gets them: setgroups(1, &gid)) may access(path, how); 1 yes, 0 no, -1 unknown
 */
static int
startcheck_as_user(uid_t uid, gid_t gid, const char *path, int how)
{
    pid_t pid;
    int status;

    fflush(NULL);
    if ((pid = fork()) < 0)
        return -1;
    if (pid == 0) {
        if (setgroups(1, &gid) < 0 || setgid(gid) < 0 || setuid(uid) < 0)
            _exit(2);
        _exit(access(path, how) == 0 ? 0 : 1);
    }
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(status) && WEXITSTATUS(status) <= 1 ? WEXITSTATUS(status) == 0 : -1;
}

/* startcheck_unsub_store - the unsubscribe store is read by the run user, at every refresh */
static void
startcheck_unsub_store(startcheck *sc, const sm_conf *c, uid_t uid, gid_t gid)
{
    const char *store = conf_file(c, "unsubscribe.store_file");
    char where[512];

    if (store != NULL && access(store, F_OK) == 0 && startcheck_as_user(uid, gid, store, R_OK) == 0)
        startcheck_say(sc, 0, startcheck_where(sc, "unsubscribe.store_file", where, sizeof(where)),
                       "%s is not readable by user %s: mail of every unsubscribe rule would be "
                       "deferred (451)",
                       store, c->daemon.user);
}

/* startcheck_run_user - warnings about what the run user will open itself */
static void
startcheck_run_user(startcheck *sc, const sm_conf *c)
{
    const config_setting_t *sources;
    const char *audit_file = conf_file(c, "audit.file");
    struct passwd *pw;
    gid_t gid;
    char where[512];

    if (geteuid() != 0 || c->daemon.user == NULL || !*c->daemon.user ||
        (pw = getpwnam(c->daemon.user)) == NULL)
        return;
    gid = pw->pw_gid;
    if (c->daemon.group != NULL && *c->daemon.group) {
        struct group *gr = getgrnam(c->daemon.group);
        if (gr == NULL)
            return;
        gid = gr->gr_gid;
    }
    sources = sc->have_cf ? config_lookup(&sc->cf, "identity.sources") : NULL;
    for (int i = 0; sources != NULL && i < config_setting_length(sources); i++) {
        const config_setting_t *src = config_setting_get_elem(sources, (unsigned)i);
        const config_setting_t *p = config_setting_get_member(src, "path");
        const char *path = p != NULL ? config_setting_get_string(p) : NULL;

        if (path != NULL && startcheck_as_user(pw->pw_uid, gid, path, R_OK) == 0)
            startcheck_say(sc, 0, cfg_where(p, where, sizeof(where)),
                           "%s is not readable by user %s: the list is read as root at a start "
                           "and a reload (SIGHUP), but edits are not seen in between",
                           path, c->daemon.user);
    }
    startcheck_unsub_store(sc, c, pw->pw_uid, gid);
    if (audit_file != NULL) {
        char *dir = xstrdup(audit_file), *slash = strrchr(dir, '/');
        if (slash != NULL && slash != dir) {
            *slash = '\0';
            if (startcheck_as_user(pw->pw_uid, gid, dir, W_OK | X_OK) == 0)
                startcheck_say(sc, 0, startcheck_where(sc, "audit.file", where, sizeof(where)),
                               "directory %s is not writable by user %s: after logrotate, "
                               "SIGUSR1 reopens the audit log only if logrotate created it "
                               "for that user (create 0640 %s ...)",
                               dir, c->daemon.user, c->daemon.user);
        }
        free(dir);
    }
}

int
startcheck_run(const sm_conf *c, int warnings, FILE *fp)
{
    startcheck sc;
    const char *sock = startcheck_socket_path(c->daemon.socket);
    const char *audit_file = conf_file(c, "audit.file"); /* NULL: the trail is off */
    int root = geteuid() == 0;

    memset(&sc, 0, sizeof(sc));
    sc.path = c->path;
    sc.fp = fp;
    config_init(&sc.cf);
    sc.have_cf = config_read_file(&sc.cf, c->path) == CONFIG_TRUE;
    if (sock != NULL)
        startcheck_dir(&sc, "daemon.socket", sock);
    startcheck_dir(&sc, "daemon.pid_file", c->daemon.pid_file);
    startcheck_file(&sc, "daemon.pid_file", c->daemon.pid_file);
    if (audit_file != NULL) {
        startcheck_dir(&sc, "audit.file", audit_file);
        startcheck_file(&sc, "audit.file", audit_file);
    }
    if (root) { /* without root the daemon changes no user or group */
        startcheck_user(&sc, "daemon.user", c->daemon.user);
        startcheck_group(&sc, "daemon.group", c->daemon.group);
    }
    if (sock != NULL) {
        startcheck_user(&sc, "daemon.socket_owner", c->daemon.socket_owner);
        startcheck_group(&sc, "daemon.socket_group", c->daemon.socket_group);
    }
    if (warnings && sc.errors == 0)
        startcheck_run_user(&sc, c);
    config_destroy(&sc.cf);
    return sc.errors;
}
