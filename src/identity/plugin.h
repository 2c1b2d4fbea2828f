/*
 * plugin.h - identity-source plugins: loader, instances, chain
 *
 * A plugin is DIR/NAME.so in the configured plugin directory, exporting
 * SM_PLUGIN_SYMBOL (include/ses-milter/plugin.h).  The loader refuses
 * names with '/' or "..", files and directories not owned by root or the
 * running user or writable by group/others, descriptors of another ABI
 * version or a smaller size.  One .so is opened once per chain and shared
 * by all its instances.
 *
 * An instance is one configured source ({ name = "ses-us"; plugin = "ses";
 * ... }).  The chain keeps them in configuration order and offers the host
 * services (log, conf_*, cache_put, instance_name) to each.
 *
 * Lifecycle: plugin_chain_load() (dlopen + init, may run as root, while
 * the libconfig settings are alive) -> plugin_chain_start() (after the
 * privilege drop) -> lookups from any thread -> plugin_chain_free() when
 * the configuration that owns the chain is released.
 */
#ifndef SM_PLUGIN_H
#define SM_PLUGIN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <libconfig.h>

#include <ses-milter/plugin.h>

#include "identity/cache.h"

typedef struct plugin_chain plugin_chain;
typedef struct plugin_instance plugin_instance;

/* one configured source; setting is only valid while its config_t is alive */
typedef struct plugin_source {
    char *name;                      /* instance name, unique */
    char *plugin;                    /* plugin name: DIR/plugin.so */
    const config_setting_t *setting; /* the source's group (NULL: empty settings) */
} plugin_source;

/* plugin_name_check - 0 when name is a safe plugin or instance name, else -1 and why */
int plugin_name_check(const char *name, char *err, size_t errlen);
/*
 * plugin_path_check - 0 when path (not a symbolic link) is owned by root or
 * the user we started as and not group/other-writable; for a directory,
 * every directory above it too (a sticky one of root's may be writable)
 */
int plugin_path_check(const char *path, int want_dir, char *err, size_t errlen);
/*
 * plugin_chain_load - load and init every source in order; the cache may
 * be NULL (cache_put then does nothing).  Returns 0, or -1 with a reason
 * naming the source, the path or the file:line.
 */
int plugin_chain_load(const char *dir, const plugin_source *src, size_t n, cache *c,
                      plugin_chain **chain_r, char *err, size_t errlen);
/* plugin_chain_start - start() every instance (after the privilege drop) */
int plugin_chain_start(plugin_chain *chain, char *err, size_t errlen);
/* plugin_chain_free - close every instance and unload; returns NULL */
plugin_chain *plugin_chain_free(plugin_chain *chain);
/* plugin_chain_count - number of instances */
size_t plugin_chain_count(const plugin_chain *chain);
/* plugin_chain_module_count - number of distinct .so files the chain opened */
size_t plugin_chain_module_count(const plugin_chain *chain);
/* plugin_chain_get - instance i in configuration order */
plugin_instance *plugin_chain_get(plugin_chain *chain, size_t i);
/* plugin_chain_dump - effective settings of every instance ("ses-milter -n") */
void plugin_chain_dump(FILE *fp, const plugin_chain *chain);
/* plugin_instance_name - the configured instance name */
const char *plugin_instance_name(const plugin_instance *inst);
/*
 * plugin_instance_abi_minor - the ABI minor the plugin was built for (0: before 1.3).
 * A newer minor than SM_PLUGIN_ABI_MINOR is loaded; the host uses only what it knows.
 */
size_t plugin_instance_abi_minor(const plugin_instance *inst);
/* plugin_instance_plugin - the plugin's descriptor name and version ("file 1.0") */
const char *plugin_instance_plugin(const plugin_instance *inst);
/*
 * plugin_instance_lookup - ask about one normalised identity through the
 * cache (c may be NULL: no caching).  Fills *out; returns out->answer.
 */
sm_id_answer plugin_instance_lookup(plugin_instance *inst, cache *c, const char *identity,
                                    sm_id_kind kind, uint64_t deadline_ms, const char *queue_id,
                                    cache_answer *out);
/*
 * plugin_instance_describe - ABI 1.2 (sm_plugin.doctor): the source's whole
 * state of one identity for "ses-milter doctor", uncached; a plugin without
 * describe() is asked through lookup() (only d->attrs is then filled)
 */
sm_id_answer plugin_instance_describe(plugin_instance *inst, const char *identity, sm_id_kind kind,
                                      uint64_t deadline_ms, sm_id_description *d);
/* plugin_instance_can_describe - 1 when the instance's plugin has describe() */
int plugin_instance_can_describe(const plugin_instance *inst);
/* plugin_instance_list - every identity the source knows (ABI 1.2 list()); 0, or -1 and why */
int plugin_instance_list(plugin_instance *inst, uint64_t deadline_ms, sm_id_list_fn fn, void *arg,
                         char *err, size_t errlen);
/*
 * plugin_instance_ask - ABI 1.2: a question about the source's account (suppression
 * list, tenant resources: ses-milter/plugin.h); SM_ASK_UNKNOWN when the plugin has none
 */
sm_ask_answer plugin_instance_ask(plugin_instance *inst, sm_ask_question question,
                                  const char *subject, const char *tenant, uint64_t deadline_ms,
                                  const char *queue_id, sm_ask_attrs *attrs);

/*
 * plugin_instance_account - the sending account behind an instance (ABI 1.2): fills *st
 * (st->size set here) and returns 0, or -1 when the plugin offers no account state
 */
int plugin_instance_account(plugin_instance *inst, sm_acct_state *st);
/* plugin_chain_any_account - whether some instance offers account state */
int plugin_chain_any_account(plugin_chain *chain);

#endif
