/*
 * plugin.c - identity-source plugins: the loader and the chain
 *
 * Purpose: load DIR/NAME.so from a safe path, check its descriptor (ABI
 * version, size, mandatory entries, declared name), and keep the chain: the
 * configured sources in order, each an instance (plugin_instance.c) of a
 * module opened once and shared by all its instances.
 *
 * Security: plugin and instance names may only contain [A-Za-z0-9_.-]
 * and never "..", so a name cannot leave the plugin directory; the
 * directory, every directory above it and the file must be owned by root
 * or the user ses-milter started as (root for a daemon that dropped its
 * privileges: a plugin of the run user is refused, at a reload too) and
 * must not be writable by group or others (Postfix's dict_open rule; a
 * parent may be a sticky directory of root's such as /tmp).  The file is
 * opened without following a symbolic link, checked through its
 * descriptor, and that descriptor is what is loaded.
 *
 * Diagnostics: every refusal names the instance, the path and the reason;
 * configuration errors from a plugin read "file:line: reason".
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/cfg.h"
#include "lib/log.h"
#include "identity/plugin.h"
#include "identity/plugin_int.h"
#include "lib/privsep.h"
#include "lib/util.h"

struct plugin_chain {
    plugin_module **mods;
    size_t nmods;
    plugin_instance **inst;
    size_t ninst;
};

int
plugin_name_check(const char *name, char *err, size_t errlen)
{
    if (name == NULL || *name == '\0')
        return util_errf(err, errlen, "empty name");
    if (strchr(name, '/') != NULL || strstr(name, "..") != NULL)
        return util_errf(err, errlen, "name \"%.64s\" contains '/' or '..'", name);
    if (strlen(name) > 63)
        return util_errf(err, errlen, "name \"%.64s...\" is longer than 63 characters", name);
    for (const char *p = name; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '-' || ch == '.'))
            return util_errf(err, errlen,
                             "name \"%.64s\" may only contain letters, digits, "
                             "'_', '-' and '.'",
                             name);
    }
    return 0;
}

/* plugin_stat_check - owner root or the starting user; writable by nobody else */
static int
plugin_stat_check(const struct stat *st, const char *path, int want_dir, char *err, size_t errlen)
{
    uid_t me = privsep_start_euid();

    if (want_dir && !S_ISDIR(st->st_mode))
        return util_errf(err, errlen, "%s: not a directory", path);
    if (!want_dir && !S_ISREG(st->st_mode))
        return util_errf(err, errlen, "%s: not a regular file", path);
    if (st->st_uid != 0 && st->st_uid != me)
        return util_errf(err, errlen, "%s: unsafe: owned by uid %lu, not by root or uid %lu", path,
                         (unsigned long)st->st_uid, (unsigned long)me);
    if (st->st_mode & (S_IWGRP | S_IWOTH))
        return util_errf(err, errlen, "%s: unsafe: writable by %s (mode %04o)", path,
                         (st->st_mode & S_IWOTH) ? "others" : "group",
                         (unsigned)(st->st_mode & 07777));
    return 0;
}

/*
 * plugin_dir_check - the directory and every directory above it (symbolic
 * links resolved first, so that what is checked is what the kernel walks):
 * owned by root or the starting user, writable by nobody else; a parent
 * writable by others passes only when it is root's and sticky (/tmp)
 */
static int
plugin_dir_check(const char *dir, char *err, size_t errlen)
{
    char *real = realpath(dir, NULL), *p;
    struct stat st;
    int rc = 0;

    if (real == NULL)
        return util_errf(err, errlen, "%s: %s", dir, strerror(errno));
    if (lstat(real, &st) < 0)
        rc = util_errf(err, errlen, "%s: %s", dir, strerror(errno));
    else
        rc = plugin_stat_check(&st, dir, 1, err, errlen);
    for (p = strrchr(real, '/'); rc == 0 && p != NULL; p = strrchr(real, '/')) {
        int sticky_root;

        *p = '\0';
        if (lstat(*real ? real : "/", &st) < 0) {
            rc = util_errf(err, errlen, "%s: %s", *real ? real : "/", strerror(errno));
            break;
        }
        sticky_root = (st.st_mode & S_ISVTX) && st.st_uid == 0;
        if (!sticky_root || !S_ISDIR(st.st_mode))
            rc = plugin_stat_check(&st, *real ? real : "/", 1, err, errlen);
        if (*real == '\0')
            break;
    }
    free(real);
    return rc;
}

int
plugin_path_check(const char *path, int want_dir, char *err, size_t errlen)
{
    struct stat st;

    if (want_dir)
        return plugin_dir_check(path, err, errlen);
    if (lstat(path, &st) < 0)
        return util_errf(err, errlen, "%s: %s", path, strerror(errno));
    return plugin_stat_check(&st, path, 0, err, errlen);
}

/* ---- loading ---- */

/*
 * plugin_module_open - open DIR/NAME.so (no symbolic link, through
 * privsep_open: served by the privileged helper on a reload), check the
 * descriptor, load that very descriptor, check the plugin's descriptor.
 * The file stays open while the module is loaded, so that no other module
 * gets the same /proc/self/fd name (the dynamic loader matches names).
 */
static plugin_module *
plugin_module_open(const char *dir, const char *name, char *err, size_t errlen)
{
    char *path = xasprintf("%s/%s.so", dir, name), proc[64];
    struct stat st;
    void *h;
    const sm_plugin *d;
    plugin_module *m;
    int fd;

    if ((fd = privsep_open(path, O_RDONLY, 0, err, errlen)) < 0)
        goto fail;
    if (fstat(fd, &st) < 0) {
        util_errf(err, errlen, "%s: %s", path, strerror(errno));
        goto fail;
    }
    if (plugin_stat_check(&st, path, 0, err, errlen) < 0)
        goto fail;
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
    if ((h = dlopen(proc, RTLD_NOW | RTLD_LOCAL)) == NULL) {
        util_errf(err, errlen, "%s: cannot load: %s", path, dlerror());
        goto fail;
    }
    d = dlsym(h, SM_PLUGIN_SYMBOL);
    if (d == NULL) {
        util_errf(err, errlen, "%s: no symbol %s: not a ses-milter plugin", path, SM_PLUGIN_SYMBOL);
    } else if (d->abi_version != SM_PLUGIN_ABI_VERSION) {
        util_errf(err, errlen, "%s: plugin ABI version %u, this ses-milter needs %u", path,
                  d->abi_version, SM_PLUGIN_ABI_VERSION);
    } else if (d->size < sizeof(sm_plugin)) {
        util_errf(err, errlen, "%s: plugin descriptor size %zu is smaller than %zu", path, d->size,
                  sizeof(sm_plugin));
    } else if (d->init == NULL || d->lookup == NULL || d->close == NULL) {
        util_errf(err, errlen, "%s: plugin lacks init, lookup or close", path);
    } else if (d->name == NULL || strcmp(d->name, name) != 0) {
        /* the file name is the plugin's name: a renamed copy would load a second,
         * indistinguishable module under the same name in every log line and record */
        util_errf(err, errlen, "%s: declares plugin name \"%.64s\", not \"%s\" (a renamed copy?)",
                  path, d->name ? d->name : "", name);
    } else {
        m = xcalloc(1, sizeof(*m));
        m->path = path;
        m->handle = h;
        m->desc = d;
        m->fd = fd;
        return m;
    }
    dlclose(h);
fail:
    if (fd >= 0)
        close(fd);
    free(path);
    return NULL;
}

/* plugin_chain_module - the chain's module for name, loading it on first use */
static plugin_module *
plugin_chain_module(plugin_chain *ch, const char *dir, const char *name, char *err, size_t errlen)
{
    char *path = xasprintf("%s/%s.so", dir, name);
    plugin_module *m;

    for (size_t i = 0; i < ch->nmods; i++)
        if (strcmp(ch->mods[i]->path, path) == 0) {
            free(path);
            return ch->mods[i];
        }
    free(path);
    if ((m = plugin_module_open(dir, name, err, errlen)) == NULL)
        return NULL;
    ch->mods = xrealloc(ch->mods, (ch->nmods + 1) * sizeof(*ch->mods));
    ch->mods[ch->nmods++] = m;
    return m;
}

/* plugin_source_member - the source's setting named name (else its group, else NULL) */
static const config_setting_t *
plugin_source_member(const plugin_source *src, const char *name)
{
    const config_setting_t *s;

    if (src->setting == NULL)
        return NULL;
    s = config_setting_get_member(src->setting, name);
    return s != NULL ? s : src->setting;
}

/*
 * plugin_init_error - a refused init() as "file:line: reason (identity source NAME,
 * plugin P)": the plugin's own "file:line: " (host conf_* services, its data files)
 * stays in front of its reason, else the line of the source's plugin setting is used;
 * the source is named once
 */
static void
plugin_init_error(const plugin_source *src, const config_setting_t *s, const char *why, char *err,
                  size_t errlen)
{
    char self[128], where[512], tail[256];
    size_t k = 0, n = 0;

    /* a location is "path:digits: " with no space in the path */
    while (why[k] && why[k] != ' ' && !(why[k] == ':' && why[k + 1] >= '0' && why[k + 1] <= '9'))
        k++;
    if (k > 0 && why[k] == ':') {
        n = k + 1 + strspn(why + k + 1, "0123456789");
        n = why[n] == ':' && why[n + 1] == ' ' ? n + 2 : 0;
    }
    if (n > 0)
        snprintf(where, sizeof(where), "%.*s", (int)(n - 2), why);
    else
        cfg_where(s, where, sizeof(where));
    why += n;
    snprintf(self, sizeof(self), "identity source %s", src->name);
    if (strstr(why, self) != NULL)
        snprintf(tail, sizeof(tail), "plugin %s", src->plugin);
    else
        snprintf(tail, sizeof(tail), "identity source %s, plugin %s", src->name, src->plugin);
    util_errf(err, errlen, "%s: %s (%s)", where, why, tail);
}

static int
plugin_chain_add(plugin_chain *ch, const char *dir, const plugin_source *src, cache *c, char *err,
                 size_t errlen)
{
    char why[512];
    plugin_module *m;
    plugin_instance *inst;
    /* refusals name the line of the setting at fault, like every configuration error */
    const config_setting_t *s_name = plugin_source_member(src, "name");
    const config_setting_t *s_plugin = plugin_source_member(src, "plugin");

    if (plugin_name_check(src->name, why, sizeof(why)) < 0)
        return cfg_errf(err, errlen, s_name, "identity source: %s", why);
    if (plugin_name_check(src->plugin, why, sizeof(why)) < 0)
        return cfg_errf(err, errlen, s_plugin, "identity source %s: plugin %s", src->name, why);
    if ((m = plugin_chain_module(ch, dir, src->plugin, why, sizeof(why))) == NULL)
        return cfg_errf(err, errlen, s_plugin, "identity source %s: %s", src->name, why);
    inst = plugin_instance_new(src, m, c);
    if (plugin_instance_init(inst, why, sizeof(why)) != 0) {
        plugin_init_error(src, s_plugin, why[0] ? why : "init failed", err, errlen);
        plugin_instance_free(inst);
        return -1;
    }
    ch->inst = xrealloc(ch->inst, (ch->ninst + 1) * sizeof(*ch->inst));
    ch->inst[ch->ninst++] = inst;
    return 0;
}

/*
 * plugin_names_unique - no two sources share a name (the name keys the cache, the
 * metrics and the audit record): else -1 with "file:line: reason" at the second,
 * naming the line of the first; checked before any module is opened
 */
static int
plugin_names_unique(const plugin_source *src, size_t n, char *err, size_t errlen)
{
    char first[512];

    for (size_t i = 1; i < n; i++)
        for (size_t j = 0; j < i; j++) {
            if (src[i].name == NULL || src[j].name == NULL || strcmp(src[i].name, src[j].name) != 0)
                continue;
            cfg_where(plugin_source_member(&src[j], "name"), first, sizeof(first));
            return cfg_errf(err, errlen, plugin_source_member(&src[i], "name"),
                            "identity source name \"%s\" is used twice (first at %s)", src[i].name,
                            first);
        }
    return 0;
}

/*
 * plugin_dir_setting - for messages: the plugin_dir setting of the group the
 * sources are listed in (identity.sources), else that group, else NULL
 */
static const config_setting_t *
plugin_dir_setting(const plugin_source *src, size_t n)
{
    const config_setting_t *g =
        n > 0 && src[0].setting != NULL ? config_setting_parent(src[0].setting) : NULL;
    const config_setting_t *d;

    if (g == NULL || (g = config_setting_parent(g)) == NULL)
        return NULL;
    d = config_setting_get_member(g, "plugin_dir");
    return d != NULL ? d : g;
}

int
plugin_chain_load(const char *dir, const plugin_source *src, size_t n, cache *c,
                  plugin_chain **chain_r, char *err, size_t errlen)
{
    plugin_chain *ch;
    char why[512];

    *chain_r = NULL;
    if (plugin_names_unique(src, n, err, errlen) < 0)
        return -1;
    if (dir == NULL || *dir == '\0')
        return cfg_errf(err, errlen, plugin_dir_setting(src, n), "no plugin directory");
    if (n > 0 && plugin_path_check(dir, 1, why, sizeof(why)) < 0)
        return cfg_errf(err, errlen, plugin_dir_setting(src, n), "identity.plugin_dir: %s", why);
    ch = xcalloc(1, sizeof(*ch));
    for (size_t i = 0; i < n; i++) {
        if (plugin_chain_add(ch, dir, &src[i], c, err, errlen) < 0) {
            plugin_chain_free(ch);
            return -1;
        }
    }
    *chain_r = ch;
    return 0;
}

int
plugin_chain_start(plugin_chain *chain, char *err, size_t errlen)
{
    for (size_t i = 0; chain != NULL && i < chain->ninst; i++)
        if (plugin_instance_start(chain->inst[i], err, errlen) < 0)
            return -1;
    return 0;
}

plugin_chain *
plugin_chain_free(plugin_chain *chain)
{
    if (chain == NULL)
        return NULL;
    for (size_t i = chain->ninst; i-- > 0;)
        plugin_instance_free(chain->inst[i]);
    for (size_t i = 0; i < chain->nmods; i++) {
        dlclose(chain->mods[i]->handle);
        close(chain->mods[i]->fd);
        free(chain->mods[i]->path);
        free(chain->mods[i]);
    }
    free(chain->inst);
    free(chain->mods);
    free(chain);
    return NULL;
}

size_t
plugin_chain_count(const plugin_chain *chain)
{
    return chain != NULL ? chain->ninst : 0;
}

size_t
plugin_chain_module_count(const plugin_chain *chain)
{
    return chain != NULL ? chain->nmods : 0;
}

plugin_instance *
plugin_chain_get(plugin_chain *chain, size_t i)
{
    return chain != NULL && i < chain->ninst ? chain->inst[i] : NULL;
}

void
plugin_chain_dump(FILE *fp, const plugin_chain *chain)
{
    for (size_t i = 0; chain != NULL && i < chain->ninst; i++)
        plugin_instance_dump(fp, chain->inst[i]);
}

/* plugin_chain_any_account - any instance whose plugin has the account entry */
int
plugin_chain_any_account(plugin_chain *chain)
{
    for (size_t i = 0; chain != NULL && i < chain->ninst; i++)
        if (plugin_instance_has_account(chain->inst[i]))
            return 1;
    return 0;
}
