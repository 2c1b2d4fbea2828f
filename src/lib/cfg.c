/*
 * cfg.c - directive tables over libconfig
 *
 * Purpose: turn one libconfig group into a validated C struct, with every
 * diagnostic naming the file and line it is about.  Configuration is data:
 * no concern writes its own type checks.
 */
#include "config.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/cfg.h"
#include "lib/util.h"

static __thread const char *cfg_source_name;

const char *
cfg_where(const config_setting_t *s, char *buf, size_t len)
{
    const config_setting_t *p = s;
    const char *file = NULL;
    unsigned line = 0;

    for (; p != NULL; p = config_setting_parent(p)) {
        line = config_setting_source_line(p);
        file = config_setting_source_file(p);
        if (line > 0)
            break;
    }
    if (file == NULL)
        file = cfg_source_name != NULL ? cfg_source_name : "(config)";
    snprintf(buf, len, "%s:%u", file, line);
    return buf;
}

void
cfg_set_source(const char *path)
{
    cfg_source_name = path;
}

int
cfg_errf(char *err, size_t errlen, const config_setting_t *s, const char *fmt, ...)
{
    char where[512], text[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    return util_errf(err, errlen, "%s: %s", cfg_where(s, where, sizeof(where)), text);
}

/* cfg_path - dotted path of a setting for messages ("audit.fsync") */
static void
cfg_path(const config_setting_t *s, char *buf, size_t len)
{
    const char *names[16];
    int n = 0;

    buf[0] = '\0';
    for (; s != NULL && n < 16; s = config_setting_parent(s))
        if (config_setting_name(s) != NULL)
            names[n++] = config_setting_name(s);
    while (n-- > 0) {
        strncat(buf, names[n], len - strlen(buf) - 1);
        if (n > 0)
            strncat(buf, ".", len - strlen(buf) - 1);
    }
}

static const char *
cfg_type_name(int t)
{
    switch (t) {
    case CONFIG_TYPE_GROUP:
        return "a group";
    case CONFIG_TYPE_INT:
        return "an integer";
    case CONFIG_TYPE_INT64:
        return "an integer";
    case CONFIG_TYPE_FLOAT:
        return "a number";
    case CONFIG_TYPE_STRING:
        return "a string";
    case CONFIG_TYPE_BOOL:
        return "true or false";
    case CONFIG_TYPE_ARRAY:
        return "an array";
    case CONFIG_TYPE_LIST:
        return "a list";
    default:
        return "something else";
    }
}

static int
cfg_parse_one(const config_setting_t *s, const cfg_directive *d, void *target, char *err,
              size_t errlen)
{
    char path[256];
    char *field = (char *)target + d->offset;
    int t = config_setting_type(s);

    cfg_path(s, path, sizeof(path));
    switch (d->type) {
    case CFG_BOOL:
        if (t != CONFIG_TYPE_BOOL)
            return cfg_errf(err, errlen, s, "'%s' must be true or false, not %s", path,
                            cfg_type_name(t));
        *(int *)field = config_setting_get_bool(s);
        return 0;
    case CFG_INT: {
        long long v;
        if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64)
            return cfg_errf(err, errlen, s, "'%s' must be an integer, not %s", path,
                            cfg_type_name(t));
        v = config_setting_get_int64(s);
        if (v < d->min || v > d->max)
            return cfg_errf(err, errlen, s, "'%s' = %lld is out of range [%ld, %ld]", path, v,
                            d->min, d->max);
        *(long *)field = (long)v;
        return 0;
    }
    case CFG_STR:
        if (t != CONFIG_TYPE_STRING)
            return cfg_errf(err, errlen, s, "'%s' must be a string, not %s", path,
                            cfg_type_name(t));
        free(*(char **)field);
        *(char **)field = xstrdup(config_setting_get_string(s));
        return 0;
    case CFG_ENUM: {
        const char *v;
        char allowed[256] = "";
        if (t != CONFIG_TYPE_STRING)
            return cfg_errf(err, errlen, s, "'%s' must be a string, not %s", path,
                            cfg_type_name(t));
        v = config_setting_get_string(s);
        for (int i = 0; d->names[i] != NULL; i++) {
            if (strcasecmp(d->names[i], v) == 0) {
                *(int *)field = i;
                return 0;
            }
            if (i > 0)
                strncat(allowed, ", ", sizeof(allowed) - strlen(allowed) - 1);
            strncat(allowed, d->names[i], sizeof(allowed) - strlen(allowed) - 1);
        }
        return cfg_errf(err, errlen, s, "'%s' = \"%s\" is not one of: %s", path, v, allowed);
    }
    case CFG_STRLIST: {
        cfg_strlist *l = (cfg_strlist *)field;
        cfg_strlist_free(l);
        if (t == CONFIG_TYPE_STRING) {
            l->v = xcalloc(1, sizeof(char *));
            l->v[0] = xstrdup(config_setting_get_string(s));
            l->n = 1;
            return 0;
        }
        if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST)
            return cfg_errf(err, errlen, s, "'%s' must be a list of strings, not %s", path,
                            cfg_type_name(t));
        l->n = (size_t)config_setting_length(s);
        l->v = xcalloc(l->n + 1, sizeof(char *));
        for (size_t i = 0; i < l->n; i++) {
            const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
            if (config_setting_type(e) != CONFIG_TYPE_STRING) {
                l->n = i;
                return cfg_errf(err, errlen, e, "'%s' element %zu must be a string, not %s", path,
                                i + 1, cfg_type_name(config_setting_type(e)));
            }
            l->v[i] = xstrdup(config_setting_get_string(e));
        }
        return 0;
    }
    }
    return cfg_errf(err, errlen, s, "'%s': internal error: bad directive type", path);
}

void
cfg_defaults(const cfg_directive *tab, void *target)
{
    for (const cfg_directive *d = tab; d->name != NULL; d++) {
        char *field = (char *)target + d->offset;
        switch (d->type) {
        case CFG_BOOL:
            *(int *)field = (int)d->def_int;
            break;
        case CFG_INT:
            *(long *)field = d->def_int;
            break;
        case CFG_STR:
            *(char **)field = d->def_str ? xstrdup(d->def_str) : NULL;
            break;
        case CFG_ENUM: {
            *(int *)field = 0;
            for (int i = 0; d->def_str && d->names[i]; i++)
                if (strcasecmp(d->names[i], d->def_str) == 0)
                    *(int *)field = i;
            break;
        }
        case CFG_STRLIST: {
            cfg_strlist *l = (cfg_strlist *)field;
            l->v = NULL;
            l->n = 0;
            if (d->def_str != NULL && *d->def_str) {
                /* default list: comma-separated */
                char *copy = xstrdup(d->def_str), *save = NULL;
                for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                    l->v = xrealloc(l->v, (l->n + 2) * sizeof(char *));
                    l->v[l->n++] = xstrdup(t);
                    l->v[l->n] = NULL;
                }
                free(copy);
            }
            break;
        }
        }
    }
}

int
cfg_parse_table(const config_setting_t *group, const cfg_directive *tab, void *target,
                const char *const *extra, char *err, size_t errlen)
{
    char path[256];

    cfg_defaults(tab, target);
    if (group == NULL)
        return 0;
    if (config_setting_type(group) != CONFIG_TYPE_GROUP) {
        cfg_path(group, path, sizeof(path));
        return cfg_errf(err, errlen, group, "'%s' must be a group { ... }, not %s", path,
                        cfg_type_name(config_setting_type(group)));
    }
    for (int i = 0; i < config_setting_length(group); i++) {
        const config_setting_t *s = config_setting_get_elem(group, (unsigned)i);
        const char *name = config_setting_name(s);
        const cfg_directive *d;
        int known = 0;

        for (d = tab; d->name != NULL; d++)
            if (strcmp(d->name, name) == 0)
                break;
        if (d->name != NULL) {
            if (cfg_parse_one(s, d, target, err, errlen) < 0)
                return -1;
            continue;
        }
        for (int j = 0; extra != NULL && extra[j] != NULL; j++)
            if (strcmp(extra[j], name) == 0)
                known = 1;
        if (!known) {
            cfg_path(s, path, sizeof(path));
            return cfg_errf(err, errlen, s, "unknown setting '%s'", path);
        }
    }
    return 0;
}

/* cfg_dump_str - print a string value quoted the libconfig way */
static void
cfg_dump_str(FILE *fp, const char *v)
{
    fputc('"', fp);
    for (const char *p = v; *p; p++) {
        if (*p == '"' || *p == '\\')
            fputc('\\', fp);
        fputc(*p, fp);
    }
    fputc('"', fp);
}

void
cfg_dump_table(FILE *fp, const char *prefix, const cfg_directive *tab, const void *target)
{
    for (const cfg_directive *d = tab; d->name != NULL; d++) {
        const char *field = (const char *)target + d->offset;
        fprintf(fp, "%s%s%s = ", prefix ? prefix : "", prefix && *prefix ? "." : "", d->name);
        switch (d->type) {
        case CFG_BOOL:
            fputs(*(const int *)field ? "true" : "false", fp);
            break;
        case CFG_INT:
            fprintf(fp, "%ld", *(const long *)field);
            break;
        case CFG_STR:
            if (*(char *const *)field)
                cfg_dump_str(fp, *(char *const *)field);
            else
                fputs("\"\"", fp);
            break;
        case CFG_ENUM:
            cfg_dump_str(fp, d->names[*(const int *)field]);
            break;
        case CFG_STRLIST: {
            const cfg_strlist *l = (const cfg_strlist *)field;
            fputc('[', fp);
            for (size_t i = 0; i < l->n; i++) {
                fputs(i ? ", " : " ", fp);
                cfg_dump_str(fp, l->v[i]);
            }
            fputs(l->n ? " ]" : "]", fp);
            break;
        }
        }
        fputs(";\n", fp);
    }
}

void
cfg_strlist_free(cfg_strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

int
cfg_strlist_has(const cfg_strlist *l, const char *s)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcasecmp(l->v[i], s) == 0)
            return 1;
    return 0;
}

void
cfg_free_table(const cfg_directive *tab, void *target)
{
    for (const cfg_directive *d = tab; d->name != NULL; d++) {
        char *field = (char *)target + d->offset;
        if (d->type == CFG_STR) {
            free(*(char **)field);
            *(char **)field = NULL;
        } else if (d->type == CFG_STRLIST) {
            cfg_strlist_free((cfg_strlist *)field);
        }
    }
}
