/*
 * cfg.h - configuration as data: directive tables over libconfig
 *
 * A concern describes its settings in a table of cfg_directive (name, type,
 * where the value goes, default, range).  cfg_parse_table() fills a struct
 * from one libconfig group, refusing unknown names, wrong types and values
 * out of range with "file:line: reason".  cfg_dump_table() prints the
 * effective values for "ses-milter -n"; cfg_free_table() frees what parsing
 * allocated.  Lists of groups (rules, sources) are walked by their owners,
 * each element parsed with its own table.
 */
#ifndef SM_CFG_H
#define SM_CFG_H

#include <stddef.h>
#include <stdio.h>
#include <libconfig.h>

typedef enum {
    CFG_BOOL,    /* int: 0/1 */
    CFG_INT,     /* long, within [min,max] */
    CFG_STR,     /* char * (owned by the target struct), NULL when no default */
    CFG_ENUM,    /* int: index into names[] */
    CFG_STRLIST, /* cfg_strlist; accepts a single string too */
} cfg_type;

typedef struct cfg_strlist {
    char **v;
    size_t n;
} cfg_strlist;

typedef struct cfg_directive {
    const char *name;
    cfg_type type;
    size_t offset;            /* offsetof(target struct, field) */
    const char *def_str;      /* CFG_STR default; CFG_ENUM default name */
    long def_int;             /* CFG_BOOL / CFG_INT default */
    long min, max;            /* CFG_INT range */
    const char *const *names; /* CFG_ENUM names, NULL-terminated */
} cfg_directive;

#define CFG_END                                                                                    \
    {                                                                                              \
        NULL, CFG_BOOL, 0, NULL, 0, 0, 0, NULL                                                     \
    }

/*
 * cfg_set_source - the file name cfg_where() gives settings that carry none
 * (a configuration parsed from text: conf_load reads it through a descriptor);
 * per thread; NULL: "(config)"
 */
void cfg_set_source(const char *path);
/* cfg_where - "file:line" of a setting (or of its nearest parent with a line) */
const char *cfg_where(const config_setting_t *s, char *buf, size_t len);
/* cfg_errf - format "file:line: reason" about setting s into err; returns -1 */
int cfg_errf(char *err, size_t errlen, const config_setting_t *s, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * cfg_parse_table - fill target from group (NULL: all defaults).
 * Names in 'extra' (NULL-terminated, may be NULL) are allowed but left to
 * the caller (sub-groups and lists it parses itself).  Returns 0 or -1.
 */
int cfg_parse_table(const config_setting_t *group, const cfg_directive *tab, void *target,
                    const char *const *extra, char *err, size_t errlen);
/* cfg_defaults - fill target with the table's defaults only */
void cfg_defaults(const cfg_directive *tab, void *target);
/* cfg_dump_table - print "prefix.name = value;" lines for the effective settings */
void cfg_dump_table(FILE *fp, const char *prefix, const cfg_directive *tab, const void *target);
/* cfg_free_table - free strings and lists the table owns in target */
void cfg_free_table(const cfg_directive *tab, void *target);

void cfg_strlist_free(cfg_strlist *l);
/* cfg_strlist_has - exact, case-insensitive membership */
int cfg_strlist_has(const cfg_strlist *l, const char *s);

#endif
