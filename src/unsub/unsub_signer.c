/*
 * unsub_signer.c - will the downstream opendkim sign our unsubscribe headers?
 *
 * Purpose: for "ses-milter -n", read the opendkim.conf named by
 * unsubscribe.opendkim_conf and warn when List-Unsubscribe or
 * List-Unsubscribe-Post would be left out of the signature's h= list.
 * RFC 8058 section 4 requires both to be covered by a valid DKIM signature.
 *
 * Model of opendkim.conf(5): "Name value" lines, names case-insensitive,
 * '#' comments, Include nests up to five levels, a later setting wins.
 * SignHeaders unset means libopendkim's default list (dkim_should_signhdrs,
 * which has List-Unsubscribe but not List-Unsubscribe-Post).  A list with
 * an entry "*" is a delta to that default ("+name" adds, "-name" removes);
 * otherwise it replaces it.  Datasets given as a comma list, "csl:" or a
 * file ("file:" or an absolute path, one entry per line) are checked;
 * other dataset types (db:, refile:, dsn:, lua: ...) cannot be, and say so.
 *
 * Diagnostics: the warning text; nothing is logged.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>
#include <unistd.h>

#include <opendkim/dkim.h>

#include "lib/cfg.h"
#include "lib/privsep.h"
#include "unsub/unsub.h"
#include "lib/util.h"

#define UNSUB_SIGNER_DEPTH 5

typedef struct unsub_signer {
    char *sign;     /* SignHeaders value, or NULL */
    char *oversign; /* OversignHeaders value, or NULL */
    char *problem;  /* first reading problem */
} unsub_signer;

/* unsub_signer_set - replace *slot with a copy of v */
static void
unsub_signer_set(char **slot, const char *v)
{
    free(*slot);
    *slot = xstrdup(v);
}

/* unsub_signer_read - read one opendkim.conf (and its Includes) */
/*
 * unsub_signer_fopen - path for reading the way the daemon opens what its
 * configuration names (privsep_open: no symbolic link followed, "-n" runs as
 * root); NULL with "cannot read PATH: reason" in *why (caller frees)
 */
static FILE *
unsub_signer_fopen(const char *path, char **why)
{
    char err[512];
    FILE *fp;
    int fd = privsep_open(path, O_RDONLY, 0, err, sizeof(err));

    if (fd < 0) {
        *why = xasprintf("cannot read %s", err);
        return NULL;
    }
    if ((fp = fdopen(fd, "r")) == NULL) {
        *why = xasprintf("cannot read %s: %s", path, strerror(errno));
        close(fd);
    }
    return fp;
}

static void
unsub_signer_read(unsub_signer *s, const char *path, int depth)
{
    char line[4096], *why = NULL;
    FILE *fp;

    if (depth > UNSUB_SIGNER_DEPTH) {
        if (s->problem == NULL)
            s->problem = xasprintf("Include nested deeper than %d levels", UNSUB_SIGNER_DEPTH);
        return;
    }
    if ((fp = unsub_signer_fopen(path, &why)) == NULL) {
        if (s->problem == NULL)
            s->problem = why;
        else
            free(why);
        return;
    }
    while (fgets(line, sizeof(line), fp) != NULL) {
        char *p = line, *name, *val, *hash = strchr(line, '#');
        size_t n;
        if (hash != NULL)
            *hash = '\0';
        while (isspace((unsigned char)*p))
            p++;
        name = p;
        while (*p && !isspace((unsigned char)*p))
            p++;
        if (*p)
            *p++ = '\0';
        while (isspace((unsigned char)*p))
            p++;
        val = p;
        n = strlen(val);
        while (n > 0 && isspace((unsigned char)val[n - 1]))
            val[--n] = '\0';
        if (strcasecmp(name, "SignHeaders") == 0)
            unsub_signer_set(&s->sign, val);
        else if (strcasecmp(name, "OversignHeaders") == 0)
            unsub_signer_set(&s->oversign, val);
        else if (strcasecmp(name, "Include") == 0 && *val)
            unsub_signer_read(s, val, depth + 1);
    }
    fclose(fp);
}

/* unsub_signer_push - append a trimmed, non-empty entry to l */
static void
unsub_signer_push(cfg_strlist *l, const char *s, size_t n)
{
    while (n > 0 && isspace((unsigned char)*s))
        s++, n--;
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    if (n == 0)
        return;
    l->v = xrealloc(l->v, (l->n + 2) * sizeof(char *));
    l->v[l->n++] = xstrndup(s, n);
    l->v[l->n] = NULL;
}

/* unsub_signer_dataset - entries of a dataset value; -1 when its type cannot be read */
static int
unsub_signer_dataset(const char *val, cfg_strlist *l, char **why)
{
    const char *colon = strchr(val, ':');

    if (strncasecmp(val, "file:", 5) == 0 || val[0] == '/') {
        const char *path = val[0] == '/' ? val : val + 5;
        char line[1024];
        FILE *fp = unsub_signer_fopen(path, why);
        if (fp == NULL)
            return -1;
        while (fgets(line, sizeof(line), fp) != NULL) {
            size_t n = strcspn(line, "#");
            line[n] = '\0';
            n = strspn(line, " \t");
            unsub_signer_push(l, line + n, strcspn(line + n, " \t\r\n"));
        }
        fclose(fp);
        return 0;
    }
    if (strncasecmp(val, "csl:", 4) == 0)
        val += 4;
    else if (colon != NULL && strchr(val, ',') == NULL) {
        *why = xasprintf("dataset \"%s\" is of a type this check cannot read", val);
        return -1;
    }
    while (*val) {
        size_t n = strcspn(val, ",");
        unsub_signer_push(l, val, n);
        val += n;
        if (*val == ',')
            val++;
    }
    return 0;
}

/* unsub_signer_effective - the header names opendkim will sign, per SignHeaders */
static int
unsub_signer_effective(const char *sign, cfg_strlist *out, char **why)
{
    cfg_strlist l = {NULL, 0};

    if (sign == NULL) {
        for (int i = 0; dkim_should_signhdrs[i] != NULL; i++)
            unsub_signer_push(out, (const char *)dkim_should_signhdrs[i],
                              strlen((const char *)dkim_should_signhdrs[i]));
        return 0;
    }
    if (unsub_signer_dataset(sign, &l, why) < 0)
        return -1;
    if (cfg_strlist_has(&l, "*")) {
        char minus[128];
        for (int i = 0; dkim_should_signhdrs[i] != NULL; i++) {
            snprintf(minus, sizeof(minus), "-%s", (const char *)dkim_should_signhdrs[i]);
            if (!cfg_strlist_has(&l, minus))
                unsub_signer_push(out, minus + 1, strlen(minus + 1));
        }
        for (size_t i = 0; i < l.n; i++)
            if (l.v[i][0] == '+')
                unsub_signer_push(out, l.v[i] + 1, strlen(l.v[i] + 1));
    } else {
        for (size_t i = 0; i < l.n; i++)
            unsub_signer_push(out, l.v[i], strlen(l.v[i]));
    }
    cfg_strlist_free(&l);
    return 0;
}

/* unsub_signer_warn - append "; "-separated text to warn */
static void unsub_signer_warn(char *warn, size_t len, const char *fmt, ...) SM_PRINTF(3, 4);

static void
unsub_signer_warn(char *warn, size_t len, const char *fmt, ...)
{
    size_t used = strlen(warn);
    va_list ap;

    if (used > 0 && used + 2 < len) {
        strcpy(warn + used, "; ");
        used += 2;
    }
    if (used + 1 >= len)
        return;
    va_start(ap, fmt);
    vsnprintf(warn + used, len - used, fmt, ap);
    va_end(ap);
}

/* unsub_signer_judge - compare the effective lists with what we add */
static void
unsub_signer_judge(const char *path, const unsub_signer *s, char *warn, size_t len)
{
    static const char *const ours[] = {"List-Unsubscribe", "List-Unsubscribe-Post"};
    cfg_strlist sign = {NULL, 0}, over = {NULL, 0};
    char *why = NULL;

    if (unsub_signer_effective(s->sign, &sign, &why) < 0) {
        unsub_signer_warn(warn, len, "%s: SignHeaders: %s; make sure it signs %s and %s", path, why,
                          ours[0], ours[1]);
        free(why);
        return;
    }
    if (s->oversign != NULL && unsub_signer_dataset(s->oversign, &over, &why) < 0)
        why = util_free(why);
    for (size_t i = 0; i < SM_ARRAY_LEN(ours); i++) {
        if (cfg_strlist_has(&sign, ours[i]))
            continue;
        if (cfg_strlist_has(&over, ours[i]))
            unsub_signer_warn(warn, len,
                              "%s: %s is in OversignHeaders but not in SignHeaders (likely to "
                              "give invalid signatures)",
                              path, ours[i]);
        else
            unsub_signer_warn(
                warn, len, "%s: opendkim would not sign %s (RFC 8058 needs it signed): %s", path,
                ours[i],
                s->sign ? "add it to SignHeaders" : "add \"SignHeaders *,+List-Unsubscribe-Post\"");
    }
    cfg_strlist_free(&sign);
    cfg_strlist_free(&over);
}

void
unsub_check_signer(const unsub_conf *c, const char *opendkim_conf_path, char *warn, size_t len)
{
    unsub_signer s = {NULL, NULL, NULL};
    const char *path = opendkim_conf_path ? opendkim_conf_path : unsub_conf_opendkim(c);

    if (warn == NULL || len == 0)
        return;
    warn[0] = '\0';
    if (path == NULL || unsub_conf_n_rules(c) == 0)
        return;
    unsub_signer_read(&s, path, 0);
    if (s.problem != NULL)
        unsub_signer_warn(warn, len,
                          "%s: %s; cannot check that opendkim signs List-Unsubscribe "
                          "and List-Unsubscribe-Post",
                          path, s.problem);
    else
        unsub_signer_judge(path, &s, warn, len);
    free(s.sign);
    free(s.oversign);
    free(s.problem);
}
