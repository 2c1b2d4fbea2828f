/*
 * mlcorpus.c - corpus messages for the load driver: load, free, write back
 *
 * A corpus file is an RFC 5322 message (LF or CRLF line ends) optionally
 * preceded by "#env KEY VALUE" envelope lines (see mlclient.h).  Loading
 * splits it into envelope, unfolded-by-line header fields (continuation
 * lines kept with their "\n") and a CRLF body, the way Postfix hands a
 * message to a milter.  A file that is not a message (a header line
 * without a colon, no header at all) is refused with a reason.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "mlclient.h"
#include "lib/util.h"

/* mc_read - whole file, CRs removed */
static char *
mc_read(const char *path, char *err, size_t errlen)
{
    FILE *fp = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0, cap = 0, n, i, j;

    if (fp == NULL) {
        util_errf(err, errlen, "%s: cannot open", path);
        return NULL;
    }
    do {
        if (cap - len < 65536)
            buf = xrealloc(buf, (cap = cap * 2 + 65536) + 1);
        n = fread(buf + len, 1, cap - len, fp);
        len += n;
    } while (n > 0);
    fclose(fp);
    for (i = j = 0; i < len; i++)
        if (buf[i] != '\r')
            buf[j++] = buf[i];
    buf[j] = '\0';
    return buf;
}

/* mc_addr - the address inside a From: value ("Name <a@b>" or "a@b") */
static char *
mc_addr(const char *v)
{
    const char *lt = strrchr(v, '<'), *gt;
    size_t n;

    if (lt && (gt = strchr(lt, '>')) != NULL)
        return xstrndup(lt + 1, (size_t)(gt - lt - 1));
    v += strspn(v, " \t\n");
    n = strcspn(v, " \t\n");
    return xstrndup(v, n);
}

/* mc_env - one "#env KEY VALUE" line */
static int
mc_env(ml_msg *m, const char *line, char *err, size_t errlen)
{
    const char *v = strchr(line + 5, ' ');
    size_t klen;

    if (v == NULL)
        return util_errf(err, errlen, "%s: bad envelope line", m->path), -1;
    klen = (size_t)(v - (line + 5));
    v++;
    if (klen == 4 && !strncmp(line + 5, "from", 4)) {
        free(m->from);
        m->from = xstrdup(v);
    } else if (klen == 4 && !strncmp(line + 5, "rcpt", 4)) {
        m->rcpt = xrealloc(m->rcpt, (m->nrcpt + 1) * sizeof(*m->rcpt));
        m->rcpt[m->nrcpt++] = xstrdup(v);
    } else if (klen == 2 && !strncmp(line + 5, "ip", 2)) {
        free(m->ip);
        m->ip = xstrdup(v);
    } else if (klen == 4 && !strncmp(line + 5, "auth", 4)) {
        free(m->auth);
        m->auth = xstrdup(v);
    } else if (klen == 4 && !strncmp(line + 5, "helo", 4)) {
        free(m->helo);
        m->helo = xstrdup(v);
    } else {
        return util_errf(err, errlen, "%s: unknown envelope key", m->path), -1;
    }
    return 0;
}

/* mc_header - add a field line or a continuation line */
static int
mc_header(ml_msg *m, const char *line, char *err, size_t errlen)
{
    const char *colon;

    if (line[0] == ' ' || line[0] == '\t') {
        ml_hdr *h;
        if (m->nhdr == 0)
            return util_errf(err, errlen, "%s: continuation before any field", m->path), -1;
        h = &m->hdr[m->nhdr - 1];
        char *nv = xasprintf("%s\n%s", h->value, line);
        free(h->value);
        h->value = nv;
        return 0;
    }
    colon = strchr(line, ':');
    if (colon == NULL || colon == line)
        return util_errf(err, errlen, "%s: header line without a field name", m->path), -1;
    m->hdr = xrealloc(m->hdr, (m->nhdr + 1) * sizeof(*m->hdr));
    m->hdr[m->nhdr].name = xstrndup(line, (size_t)(colon - line));
    m->hdr[m->nhdr].value = xstrdup(colon + 1);
    m->nhdr++;
    return 0;
}

/* mc_body - the rest of the file with CRLF line ends */
static void
mc_body(ml_msg *m, const char *p)
{
    size_t n = strlen(p), nl = 0, i, j;

    for (i = 0; i < n; i++)
        nl += p[i] == '\n';
    m->body = xmalloc(n + nl + 1);
    for (i = j = 0; i < n; i++) {
        if (p[i] == '\n')
            m->body[j++] = '\r';
        m->body[j++] = p[i];
    }
    m->bodylen = j;
}

/* mc_defaults - envelope defaults from the headers */
static int
mc_defaults(ml_msg *m, char *err, size_t errlen)
{
    size_t i;

    if (m->nhdr == 0)
        return util_errf(err, errlen, "%s: no header fields", m->path), -1;
    for (i = 0; i < m->nhdr && m->from == NULL; i++)
        if (strcasecmp(m->hdr[i].name, "From") == 0)
            m->from = mc_addr(m->hdr[i].value);
    if (m->from == NULL)
        m->from = xstrdup("");
    if (m->nrcpt == 0) {
        m->rcpt = xmalloc(sizeof(*m->rcpt));
        m->rcpt[m->nrcpt++] = xstrdup("bench@example.org");
    }
    return 0;
}

/* mlclient_msg_load - parse one corpus file; NULL with err set on failure */
ml_msg *
mlclient_msg_load(const char *path, char *err, size_t errlen)
{
    char *buf = mc_read(path, err, errlen), *p, *nl;
    ml_msg *m;

    if (buf == NULL)
        return NULL;
    m = xcalloc(1, sizeof(*m));
    m->path = xstrdup(path);
    for (p = buf; *p && *p != '\n'; p = *nl ? nl + 1 : nl) {
        char *line;
        int rc;

        nl = p + strcspn(p, "\n");
        line = xstrndup(p, (size_t)(nl - p));
        rc = strncmp(line, "#env ", 5) == 0 && m->nhdr == 0 ? mc_env(m, line, err, errlen)
                                                            : mc_header(m, line, err, errlen);
        free(line);
        if (rc < 0)
            goto fail;
    }
    if (mc_defaults(m, err, errlen) < 0)
        goto fail;
    mc_body(m, *p == '\n' ? p + 1 : "");
    free(buf);
    return m;
fail:
    free(buf);
    return mlclient_msg_free(m);
}

/* mlclient_msg_free - release a message; returns NULL */
ml_msg *
mlclient_msg_free(ml_msg *m)
{
    size_t i;

    if (m == NULL)
        return NULL;
    for (i = 0; i < m->nhdr; i++) {
        free(m->hdr[i].name);
        free(m->hdr[i].value);
    }
    for (i = 0; i < m->nrcpt; i++)
        free(m->rcpt[i]);
    free(m->hdr);
    free(m->rcpt);
    free(m->path);
    free(m->from);
    free(m->ip);
    free(m->auth);
    free(m->helo);
    free(m->body);
    free(m);
    return NULL;
}

/* mc_write_hdr - "Name: value" with CRs dropped */
static void
mc_write_hdr(FILE *fp, const ml_hdr *h)
{
    const char *v = h->value;

    fprintf(fp, "%s:%s", h->name, (*v == ' ' || *v == '\t') ? "" : " ");
    for (; *v; v++)
        if (*v != '\r')
            fputc(*v, fp);
    fputc('\n', fp);
}

/* mlclient_msg_write - write M with MODS applied (envelope lines kept) to FP */
int
mlclient_msg_write(FILE *fp, const ml_msg *m, const ml_mods *mods)
{
    size_t i;

    fprintf(fp, "#env from %s\n", m->from);
    for (i = 0; i < m->nrcpt; i++)
        fprintf(fp, "#env rcpt %s\n", m->rcpt[i]);
    if (m->ip)
        fprintf(fp, "#env ip %s\n", m->ip);
    if (m->auth)
        fprintf(fp, "#env auth %s\n", m->auth);
    if (m->helo)
        fprintf(fp, "#env helo %s\n", m->helo);
    for (i = 0; mods && i < mods->nins; i++)
        mc_write_hdr(fp, &mods->ins[i]);
    for (i = 0; i < m->nhdr; i++)
        mc_write_hdr(fp, &m->hdr[i]);
    for (i = 0; mods && i < mods->nadd; i++)
        mc_write_hdr(fp, &mods->add[i]);
    fputc('\n', fp);
    for (i = 0; i < m->bodylen; i++)
        if (m->body[i] != '\r')
            fputc(m->body[i], fp);
    return ferror(fp) ? -1 : 0;
}

/* mlclient_mods_clear - free collected modifications */
void
mlclient_mods_clear(ml_mods *mods)
{
    size_t i;

    for (i = 0; i < mods->nins; i++) {
        free(mods->ins[i].name);
        free(mods->ins[i].value);
    }
    for (i = 0; i < mods->nadd; i++) {
        free(mods->add[i].name);
        free(mods->add[i].value);
    }
    free(mods->ins);
    free(mods->add);
    memset(mods, 0, sizeof(*mods));
}
