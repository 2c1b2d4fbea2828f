/*
 * plugin_dir.c - test helper: a private plugin directory and inline configs
 */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plugin_dir.h"
#include "lib/util.h"

static const char *const plugin_dir_files[][2] = {
    {"plugins/file/.libs/file.so", "file.so"},
    {"tests/unit/.libs/plugin_test.so", "plugin_test.so"},
    {"tests/unit/.libs/plugin_badabi.so", "plugin_badabi.so"},
    {"tests/unit/.libs/plugin_small.so", "plugin_small.so"},
    {"tests/unit/.libs/plugin_newer.so", "plugin_newer.so"},
    {"tests/unit/.libs/plugin_nosym.so", "plugin_nosym.so"},
};

static int
plugin_copy(const char *from, const char *to)
{
    char buf[65536];
    ssize_t n;
    int in = open(from, O_RDONLY), out;

    if (in < 0)
        return -1;
    out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out < 0) {
        close(in);
        return -1;
    }
    while ((n = read(in, buf, sizeof(buf))) > 0)
        if (write(out, buf, (size_t)n) != n)
            n = -1;
    close(in);
    close(out);
    chmod(to, 0644);
    return n < 0 ? -1 : 0;
}

char *
plugin_dir_make(void)
{
    char *dir = xstrdup("/tmp/sm-plugins.XXXXXX");

    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        abort();
    }
    chmod(dir, 0755);
    for (size_t i = 0; i < SM_ARRAY_LEN(plugin_dir_files); i++) {
        char *from = xasprintf("%s/%s", BUILDDIR, plugin_dir_files[i][0]);
        char *to = xasprintf("%s/%s", dir, plugin_dir_files[i][1]);
        if (plugin_copy(from, to) < 0) {
            fprintf(stderr, "cannot copy %s to %s\n", from, to);
            abort();
        }
        free(from);
        free(to);
    }
    return dir;
}

void
plugin_dir_remove(char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;

    while (d != NULL && (e = readdir(d)) != NULL) {
        char *p;
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        p = xasprintf("%s/%s", dir, e->d_name);
        unlink(p);
        free(p);
    }
    if (d != NULL)
        closedir(d);
    rmdir(dir);
    free(dir);
}

int
plugin_conf_read(config_t *cfg, const char *text)
{
    config_init(cfg);
    if (!config_read_string(cfg, text)) {
        fprintf(stderr, "config: line %d: %s\n", config_error_line(cfg), config_error_text(cfg));
        return -1;
    }
    return 0;
}

int
plugin_write_file(const char *path, const char *text, int mode)
{
    FILE *fp = fopen(path, "w");

    if (fp == NULL)
        return -1;
    fputs(text, fp);
    fclose(fp);
    return chmod(path, (mode_t)mode);
}
