/*
 * fuzz_config.c - libFuzzer target for the configuration loader
 *
 * Purpose: the input is a configuration file.  It goes through what
 * "ses-milter -n" runs: conf_load() (libconfig, then every concern's
 * directive table and checks: daemon, log, scope, identity, alignment,
 * dkim, spf, unsubscribe, audit), conf_dump() and the concerns' warnings,
 * and conf_free().  Errors are fine; crashes, leaks and undefined
 * behaviour are not, and a refused file must come with "file:line: reason".
 *
 * Sandbox: the loader opens every file through privsep_open(); the harness
 * puts this thread in the privsep "serve" mode a reload uses, with a set
 * that holds only memory files: the configuration as /fuzz/ses-milter.conf
 * and a 32-byte unsubscribe key as /fuzz/unsub.key (mode 0600).  Any other
 * path the input names is refused without touching the filesystem, so
 * plugins are never loaded (their directory is only stat'ed).  Inputs with
 * libconfig's "@include" are skipped (the loader refuses them, conf.c); the
 * opendkim.conf check reads through privsep_open as well, so it runs for
 * every input.  The seeds (scripts/fuzz-long.sh) are conf/ses-milter.conf and
 * the miltertest configurations, their @WORK@ paths mapped to /fuzz.
 * Built only with ./configure --enable-fuzzing CC=clang (mk/fuzz.am).
 */
#include "config.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf/conf.h"
#include "engine/services.h"
#include "lib/log.h"
#include "lib/privsep.h"
#include "unsub/unsub.h"
#include "lib/util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CONF "/fuzz/ses-milter.conf"
#define FUZZ_KEY "/fuzz/unsub.key"

static int fuzz_conf_fd = -1;
static privsep_files *fuzz_files;
static FILE *fuzz_null;

/* fuzz_check - abort unless cond holds */
static void
fuzz_check(int cond)
{
    if (!cond)
        abort();
}

/* fuzz_memfile - a memory file holding len bytes of data, with mode */
static int
fuzz_memfile(const char *name, const void *data, size_t len, mode_t mode)
{
    int fd = memfd_create(name, MFD_CLOEXEC);

    fuzz_check(fd >= 0 && fchmod(fd, mode) == 0);
    fuzz_check(len == 0 || write(fd, data, len) == (ssize_t)len);
    return fd;
}

/* fuzz_quiet - log lines are formatted and sanitised, then dropped */
static void
fuzz_quiet(int level, const char *line, void *arg)
{
    (void)level;
    (void)line;
    (void)arg;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static const char key[] = "0123456789abcdef0123456789abcdef";

    (void)argc;
    (void)argv;
    privsep_init();
    log_capture(fuzz_quiet, NULL);
    log_set_level(LOG_DEBUG);
    fuzz_conf_fd = fuzz_memfile("fuzz-conf", NULL, 0, 0600);
    fuzz_files = privsep_files_new();
    /* the set owns its descriptors; the harness keeps the conf one to rewrite it */
    privsep_files_add(fuzz_files, FUZZ_CONF, O_RDONLY, fuzz_conf_fd, 0);
    privsep_files_add(fuzz_files, FUZZ_KEY, O_RDONLY,
                      fuzz_memfile("fuzz-key", key, sizeof(key) - 1, 0600), 0);
    privsep_serve(fuzz_files);
    fuzz_null = fopen("/dev/null", "w");
    fuzz_check(fuzz_null != NULL);
    return 0;
}

/* fuzz_has_include - libconfig's @include would open a file itself */
static int
fuzz_has_include(const uint8_t *data, size_t size)
{
    for (size_t i = 0; i + 8 <= size; i++)
        if (data[i] == '@' && strncasecmp((const char *)data + i, "@include", 8) == 0)
            return 1;
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[1024] = "";
    sm_conf *c;

    if (size > 65536 || fuzz_has_include(data, size))
        return -1;
    fuzz_check(ftruncate(fuzz_conf_fd, 0) == 0);
    fuzz_check(size == 0 || pwrite(fuzz_conf_fd, data, size, 0) == (ssize_t)size);
    c = conf_load(FUZZ_CONF, &services_conf_hooks, err, sizeof(err));
    if (c == NULL) {
        /* every refusal names the file (and for all but I/O, the line) */
        if (strncmp(err, FUZZ_CONF ":", sizeof(FUZZ_CONF)) != 0) {
            fprintf(stderr, "refusal without file:line: %s\n", err);
            abort();
        }
        return 0;
    }
    conf_dump(fuzz_null, c);
    /* the opendkim.conf check opens through privsep_open too: served, never the disk */
    (void)services_warnings(fuzz_null, services_of(c), c->path);
    (void)conf_log_facility(c);
    (void)conf_log_level(c);
    conf_free(c);
    return 0;
}
