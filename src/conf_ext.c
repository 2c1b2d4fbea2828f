/*
 * conf_ext.c - the concerns' configuration groups of one snapshot
 *
 * Purpose: hand each concern its group and keep what it returns together.
 */
#include "config.h"

#include <stdlib.h>

#include "conf_ext.h"
#include "util.h"

struct sm_conf_ext {
    int unused;
};

int
conf_ext_parse(const config_setting_t *root, sm_conf_ext **out, char *err, size_t errlen)
{
    (void)root;
    (void)err;
    (void)errlen;
    *out = xcalloc(1, sizeof(**out));
    return 0;
}

void
conf_ext_dump(FILE *fp, const sm_conf_ext *x)
{
    (void)fp;
    (void)x;
}

int
conf_ext_warnings(FILE *fp, const sm_conf_ext *x, const char *path)
{
    (void)fp;
    (void)x;
    (void)path;
    return 0;
}

int
conf_ext_start(sm_conf_ext *x, char *err, size_t errlen)
{
    (void)x;
    (void)err;
    (void)errlen;
    return 0;
}

sm_conf_ext *
conf_ext_free(sm_conf_ext *x)
{
    free(x);
    return NULL;
}

void
conf_ext_reopen(sm_conf_ext *x)
{
    (void)x;
}
