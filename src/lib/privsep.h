/*
 * privsep.h - one opener for every file the configuration names, and the
 * privileged helper that opens them for a reload
 *
 * Synopsis:
 *   privsep_init();                                 first thing in main()
 *   fd = privsep_open(path, O_RDONLY, 0, err, len); loaders, plugins (host open_file)
 *   privsep_helper_start(load, child_init, arg, err, len);   as root, before the drop
 *   privsep_helper_fetch(&files, err, len);         reload: the helper runs the loader
 *   privsep_serve(files); ...load...; privsep_serve(NULL);
 *
 * privsep_open() always adds O_NOFOLLOW, O_CLOEXEC and O_NOCTTY: a
 * symbolic link planted where a file is expected is refused (ELOOP), and
 * callers check and change the file through the descriptor (fstat, fchown,
 * fchmod), never by path again.  What it does depends on the calling
 * thread's mode:
 *   direct   (default) open(2) as the process is (root at start);
 *   record   open(2), and keep a duplicate of the result (or the errno) in
 *            a set: the helper does this while it runs the loader as root;
 *   serve    open nothing: hand out a duplicate of the descriptor recorded
 *            for the same path and flags, or fail with a clear reason.  The
 *            unprivileged daemon reloads so, with the helper's set.
 * So a reload opens exactly what a start opens, as root, and the files a
 * reload uses are those the root-owned configuration names: the helper
 * re-reads the configuration itself (and refuses one that anybody but
 * root could change: privsep_check_root_file) and never opens a path the
 * daemon asks for (its only request is "reload").
 *
 * Security: the helper keeps root and nothing else (all descriptors but its
 * socket are closed, signals meant for the daemon are ignored); it exits
 * when the daemon closes the socket or exits.
 */
#ifndef SM_PRIVSEP_H
#define SM_PRIVSEP_H

#include <stddef.h>
#include <sys/types.h>

typedef struct privsep_files privsep_files;

/* privsep_loader - run the start's loader (configuration + files needing root), free it */
typedef int (*privsep_loader)(void *arg, char *err, size_t errlen);

/* privsep_init - remember the effective uid the daemon started with */
void privsep_init(void);
/* privsep_start_euid - that uid (the current euid when privsep_init was not called) */
uid_t privsep_start_euid(void);

/*
 * privsep_open - open a file the configuration names (see above); the fd,
 * or -1 with "PATH: reason" in err and errno set
 */
int privsep_open(const char *path, int flags, mode_t mode, char *err, size_t errlen);

/*
 * privsep_check_root_file - path is a plain file of root's that only root
 * may write, in a directory only root may write (or sticky and root's):
 * what the helper demands of the configuration file before it opens as
 * root what that file names.  0, or -1 with a reason.
 */
int privsep_check_root_file(const char *path, char *err, size_t errlen);

/*
 * privsep_socket_perms - owner ((uid_t)-1: keep) and mode of the unix
 * socket at path, changed on that socket only: a symbolic link or anything
 * but a socket found there is refused.  0, or -1 with a reason.
 */
int privsep_socket_perms(const char *path, uid_t uid, gid_t gid, long mode, char *err,
                         size_t errlen);

/* sets of opened files */
privsep_files *privsep_files_new(void);
/* privsep_files_add - keep fd (owned from now on; -1 with err_no for a failed open) */
void privsep_files_add(privsep_files *set, const char *path, int flags, int fd, int err_no);
size_t privsep_files_count(const privsep_files *set);
/* privsep_files_get - entry i; 0, or -1 past the end */
int privsep_files_get(const privsep_files *set, size_t i, const char **path_r, int *flags_r,
                      int *fd_r, int *err_no_r);
/* privsep_files_free - close every descriptor; returns NULL */
privsep_files *privsep_files_free(privsep_files *set);

/* privsep_record - this thread's opens are also recorded into set (NULL: stop) */
void privsep_record(privsep_files *set);
/* privsep_serve - this thread's opens are served only from set (NULL: open directly) */
void privsep_serve(privsep_files *set);

/*
 * privsep_helper_start - fork the helper (as root, before the privilege
 * drop, while no other thread runs); child_init runs once in the child.
 * 0, or -1 with a reason.
 */
int privsep_helper_start(privsep_loader load, void (*child_init)(void), void *arg, char *err,
                         size_t errlen);
/*
 * privsep_helper_cleanup - before privsep_helper_start: what the helper removes
 * when the daemon is gone (stopped or died), because the run user may not: the
 * unix socket (NULL: none) and the PID file ("" or NULL: none), the socket and
 * the file only while the file still names the daemon's process
 */
void privsep_helper_cleanup(const char *socket_path, const char *pid_file);
/* privsep_helper_running - 1 when a helper was started */
int privsep_helper_running(void);
/*
 * privsep_helper_fetch - ask the helper to run the loader as root; *files_r
 * gets what it opened.  -1 with the helper's reason when its load failed
 * (or the helper is gone).
 */
int privsep_helper_fetch(privsep_files **files_r, char *err, size_t errlen);
/* privsep_helper_stop - close the socket (the helper exits) and reap it */
void privsep_helper_stop(void);

#endif
