/*
 * plugin_int.h - what the plugin loader (plugin.c) and the instances
 * (plugin_instance.c) share; not part of the API (the rest of ses-milter
 * goes through plugin.h)
 *
 * Ownership: the chain (plugin.c) owns its modules and its instances; an
 * instance borrows its module, which outlives it.
 */
#ifndef SM_PLUGIN_INT_H
#define SM_PLUGIN_INT_H

#include <stddef.h>
#include <stdio.h>

#include <ses-milter/plugin.h>

#include "identity/cache.h"
#include "identity/plugin.h"

/* one opened, checked .so */
typedef struct plugin_module {
    char *path;
    void *handle;
    const sm_plugin *desc;
    int fd; /* what was checked and loaded; open while loaded */
} plugin_module;

/* plugin_instance_new - an instance of m for src (settings readable until init() returns) */
plugin_instance *plugin_instance_new(const plugin_source *src, plugin_module *m, cache *c);
/* plugin_instance_init - the plugin's init(); 0, or -1 with the plugin's reason in why (may be "")
 */
int plugin_instance_init(plugin_instance *inst, char *why, size_t whylen);
/* plugin_instance_start - the plugin's start(), once; 0, or -1 naming the instance */
int plugin_instance_start(plugin_instance *inst, char *err, size_t errlen);
/* plugin_instance_free - close() it when init() succeeded, free it; returns NULL */
plugin_instance *plugin_instance_free(plugin_instance *inst);
/* plugin_instance_dump - its effective settings ("ses-milter -n") */
void plugin_instance_dump(FILE *fp, const plugin_instance *inst);
/* plugin_instance_has_account - 1 when its plugin has the account entry (ABI 1.2) */
int plugin_instance_has_account(const plugin_instance *inst);

#endif
