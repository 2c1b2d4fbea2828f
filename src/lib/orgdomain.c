/*
 * orgdomain.c - registrable domains with libpsl, names normalised with libidn2
 *
 * Purpose: relaxed DMARC alignment and DMARC policy discovery both need
 * the Organizational Domain (RFC 7489 section 3.2), which is the PSL's
 * "registrable domain": the longest matching public-suffix rule (with
 * wildcards, exceptions and the implicit "*" rule for unlisted TLDs) plus
 * one label.  libpsl does the matching; this file normalises names first
 * (ASCII lower-case, trailing dot, IDN to A-labels) so that Unicode and
 * punycode spellings of one name give one answer.
 *
 * The list: orgdomain_load(NULL) takes psl_latest() over the system file,
 * i.e. the newer of /usr/share/publicsuffix and libpsl's built-in copy.
 * Tests load a fixed file so that their score is reproducible.
 *
 * A message asks for the same few names many times (relaxed alignment of
 * each DKIM d= and the MAIL FROM domain with the From domain, policy
 * discovery), and libpsl's lookup is a large part of a message's cost: each
 * thread keeps its last ORGDOMAIN_MEMO answers, keyed by the normalised name
 * and the list's generation (a new list forgets them).
 *
 * Diagnostics: none; functions return -1 for names that are not domains.
 */
#include "config.h"

#include <idn2.h>
#include <libpsl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/orgdomain.h"
#include "lib/util.h"

static psl_ctx_t *orgdomain_psl;
static int orgdomain_psl_builtin; /* psl_builtin() must not be freed */
static pthread_once_t orgdomain_once = PTHREAD_ONCE_INIT;
static unsigned orgdomain_gen = 1; /* atomic; bumped when the list changes */

#define ORGDOMAIN_MEMO 8 /* answers remembered per thread */

typedef struct orgdomain_memo {
    unsigned gen; /* 0: empty */
    int ok;       /* psl_registrable_domain() gave a name */
    char name[ORGDOMAIN_MAX];
    char reg[ORGDOMAIN_MAX];
} orgdomain_memo;

static __thread orgdomain_memo orgdomain_memos[ORGDOMAIN_MEMO];
static __thread unsigned orgdomain_memo_next;

/* orgdomain_default - lazy default loader for pthread_once */
static void
orgdomain_default(void)
{
    if (__atomic_load_n(&orgdomain_psl, __ATOMIC_ACQUIRE) == NULL)
        orgdomain_load(NULL, NULL, 0);
}

int
orgdomain_load(const char *file, char *err, size_t errlen)
{
    psl_ctx_t *p;
    int builtin = 0;

    if (file != NULL) {
        p = psl_load_file(file);
        if (p == NULL)
            return util_errf(err, errlen, "%s: cannot load the public suffix list", file);
    } else {
        p = access(ORGDOMAIN_SYSTEM_PSL, R_OK) == 0 ? psl_latest(ORGDOMAIN_SYSTEM_PSL) : NULL;
        if (p == NULL) {
            p = (psl_ctx_t *)psl_builtin();
            builtin = 1;
        }
        if (p == NULL)
            return util_errf(err, errlen, "no public suffix list (install publicsuffix)");
    }
    orgdomain_unload();
    orgdomain_psl_builtin = builtin;
    __atomic_store_n(&orgdomain_psl, p, __ATOMIC_RELEASE);
    return 0;
}

void
orgdomain_unload(void)
{
    if (orgdomain_psl != NULL && !orgdomain_psl_builtin)
        psl_free(orgdomain_psl);
    orgdomain_psl = NULL;
    orgdomain_psl_builtin = 0;
    __atomic_add_fetch(&orgdomain_gen, 1, __ATOMIC_RELAXED);
}

/*
 * orgdomain_ctx - the loaded list (loading the default on first use)
 *
 * Every caller goes through pthread_once, which orders the lazy load before
 * any reader on any thread (a plain test of the pointer first would race
 * with the loading thread's store).  orgdomain_load() and _unload() are for
 * start-up and the tests, before or after the threads that read.
 */
static const psl_ctx_t *
orgdomain_ctx(void)
{
    pthread_once(&orgdomain_once, orgdomain_default);
    return __atomic_load_n(&orgdomain_psl, __ATOMIC_ACQUIRE);
}

/* orgdomain_ascii_ok - whether an A-label name has only sane bytes and no empty label */
static int
orgdomain_ascii_ok(const char *s)
{
    size_t label = 0;

    for (const char *p = s; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch == '.') {
            if (label == 0 || label > 63)
                return 0;
            label = 0;
            continue;
        }
        if (ch <= 0x20 || ch >= 0x7f || ch == '@' || ch == '/' || ch == '\\')
            return 0;
        label++;
    }
    return label > 0 && label <= 63;
}

int
orgdomain_normalize(const char *name, char *out, size_t outlen)
{
    char buf[ORGDOMAIN_MAX * 4];
    size_t n;
    int ascii = 1;

    if (name == NULL || outlen == 0)
        return -1;
    n = strlen(name);
    if (n == 0 || n >= sizeof(buf))
        return -1;
    memcpy(buf, name, n + 1);
    if (buf[n - 1] == '.')
        buf[--n] = '\0';
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)buf[i] >= 0x80)
            ascii = 0;
    if (ascii) {
        util_lower(buf);
    } else {
        char *a = NULL;
        if (idn2_to_ascii_8z(buf, &a, IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT) != IDN2_OK) {
            idn2_free(a);
            return -1;
        }
        n = strlen(a);
        if (n >= sizeof(buf)) {
            idn2_free(a);
            return -1;
        }
        memcpy(buf, a, n + 1);
        idn2_free(a);
        util_lower(buf);
    }
    if (n > 253 || !orgdomain_ascii_ok(buf) || n >= outlen)
        return -1;
    memcpy(out, buf, n + 1);
    return 0;
}

int
orgdomain_get(const char *name, char *out, size_t outlen)
{
    char norm[ORGDOMAIN_MAX];
    const psl_ctx_t *p = orgdomain_ctx();
    const char *reg;

    unsigned gen = __atomic_load_n(&orgdomain_gen, __ATOMIC_RELAXED);
    orgdomain_memo *m = NULL;

    if (p == NULL || orgdomain_normalize(name, norm, sizeof(norm)) < 0)
        return -1;
    for (size_t i = 0; i < ORGDOMAIN_MEMO && m == NULL; i++)
        if (orgdomain_memos[i].gen == gen && strcmp(orgdomain_memos[i].name, norm) == 0)
            m = &orgdomain_memos[i];
    if (m == NULL) {
        m = &orgdomain_memos[orgdomain_memo_next++ % ORGDOMAIN_MEMO];
        reg = psl_registrable_domain(p, norm);
        m->gen = gen;
        m->ok = reg != NULL && strlen(reg) < sizeof(m->reg);
        memcpy(m->name, norm, strlen(norm) + 1);
        if (m->ok)
            memcpy(m->reg, reg, strlen(reg) + 1);
    }
    if (!m->ok || strlen(m->reg) >= outlen)
        return -1;
    memmove(out, m->reg, strlen(m->reg) + 1);
    return 0;
}

int
orgdomain_org(const char *name, char *out, size_t outlen)
{
    char norm[ORGDOMAIN_MAX];

    if (orgdomain_get(name, out, outlen) == 0)
        return 0;
    if (orgdomain_normalize(name, norm, sizeof(norm)) < 0 || strlen(norm) >= outlen)
        return -1;
    memcpy(out, norm, strlen(norm) + 1);
    return 0;
}

int
orgdomain_is_public_suffix(const char *name)
{
    char norm[ORGDOMAIN_MAX];
    const psl_ctx_t *p = orgdomain_ctx();

    if (p == NULL || orgdomain_normalize(name, norm, sizeof(norm)) < 0)
        return 1;
    return psl_is_public_suffix(p, norm) ? 1 : 0;
}

int
orgdomain_same(const char *a, const char *b)
{
    char oa[ORGDOMAIN_MAX], ob[ORGDOMAIN_MAX];

    if (orgdomain_org(a, oa, sizeof(oa)) < 0 || orgdomain_org(b, ob, sizeof(ob)) < 0)
        return 0;
    return strcmp(oa, ob) == 0;
}
