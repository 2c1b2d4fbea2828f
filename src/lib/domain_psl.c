/*
 * domain_psl.c - registrable and organisational domains over the Public Suffix List
 *
 * Purpose: relaxed DMARC alignment and DMARC policy discovery both need
 * the Organizational Domain (RFC 7489 section 3.2), which is the PSL's
 * "registrable domain": the longest matching public-suffix rule (with
 * wildcards, exceptions and the implicit "*" rule for unlisted TLDs) plus
 * one label.  libpsl does the matching; names are normalised first
 * (domain_normalize(DOMAIN_LOOSE): ASCII lower-case, trailing dot, IDN to
 * A-labels) so that Unicode and punycode spellings of one name give one
 * answer.
 *
 * The list: domain_psl_load(NULL) takes psl_latest() over the system file,
 * i.e. the newer of /usr/share/publicsuffix and libpsl's built-in copy.
 * Tests load a fixed file so that their score is reproducible.
 *
 * A message asks for the same few names many times (relaxed alignment of
 * each DKIM d= and the MAIL FROM domain with the From domain, policy
 * discovery), and libpsl's lookup is a large part of a message's cost: each
 * thread keeps its last DOMAIN_PSL_MEMO answers, keyed by the normalised name
 * and the list's generation (a new list forgets them).
 *
 * Diagnostics: none; functions return -1 for names that are not domains.
 */
#include "config.h"

#include <libpsl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/domain.h"
#include "lib/domain_psl.h"
#include "lib/util.h"

static psl_ctx_t *domain_psl_list;
static int domain_psl_builtin; /* psl_builtin() must not be freed */
static pthread_once_t domain_psl_once = PTHREAD_ONCE_INIT;
static unsigned domain_psl_gen = 1; /* atomic; bumped when the list changes */

#define DOMAIN_PSL_MEMO 8 /* answers remembered per thread */

typedef struct domain_psl_memo {
    unsigned gen; /* 0: empty */
    int ok;       /* psl_registrable_domain() gave a name */
    char name[DOMAIN_MAX];
    char reg[DOMAIN_MAX];
} domain_psl_memo;

static __thread domain_psl_memo domain_psl_memos[DOMAIN_PSL_MEMO];
static __thread unsigned domain_psl_memo_next;

/* domain_psl_default - lazy default loader for pthread_once */
static void
domain_psl_default(void)
{
    if (__atomic_load_n(&domain_psl_list, __ATOMIC_ACQUIRE) == NULL)
        domain_psl_load(NULL, NULL, 0);
}

int
domain_psl_load(const char *file, char *err, size_t errlen)
{
    psl_ctx_t *p;
    int builtin = 0;

    if (file != NULL) {
        p = psl_load_file(file);
        if (p == NULL)
            return util_errf(err, errlen, "%s: cannot load the public suffix list", file);
    } else {
        p = access(DOMAIN_PSL_SYSTEM_FILE, R_OK) == 0 ? psl_latest(DOMAIN_PSL_SYSTEM_FILE) : NULL;
        if (p == NULL) {
            p = (psl_ctx_t *)psl_builtin();
            builtin = 1;
        }
        if (p == NULL)
            return util_errf(err, errlen, "no public suffix list (install publicsuffix)");
    }
    domain_psl_unload();
    domain_psl_builtin = builtin;
    __atomic_store_n(&domain_psl_list, p, __ATOMIC_RELEASE);
    return 0;
}

void
domain_psl_unload(void)
{
    if (domain_psl_list != NULL && !domain_psl_builtin)
        psl_free(domain_psl_list);
    domain_psl_list = NULL;
    domain_psl_builtin = 0;
    __atomic_add_fetch(&domain_psl_gen, 1, __ATOMIC_RELAXED);
}

/*
 * domain_psl_ctx - the loaded list (loading the default on first use)
 *
 * Every caller goes through pthread_once, which orders the lazy load before
 * any reader on any thread (a plain test of the pointer first would race
 * with the loading thread's store).  domain_psl_load() and _unload() are for
 * start-up and the tests, before or after the threads that read.
 */
static const psl_ctx_t *
domain_psl_ctx(void)
{
    pthread_once(&domain_psl_once, domain_psl_default);
    return __atomic_load_n(&domain_psl_list, __ATOMIC_ACQUIRE);
}

int
domain_psl_registrable(const char *name, char *out, size_t outlen)
{
    char norm[DOMAIN_MAX];
    const psl_ctx_t *p = domain_psl_ctx();
    const char *reg;

    unsigned gen = __atomic_load_n(&domain_psl_gen, __ATOMIC_RELAXED);
    domain_psl_memo *m = NULL;

    if (p == NULL || domain_normalize(name, DOMAIN_LOOSE, norm, sizeof(norm), NULL, 0) < 0)
        return -1;
    for (size_t i = 0; i < DOMAIN_PSL_MEMO && m == NULL; i++)
        if (domain_psl_memos[i].gen == gen && strcmp(domain_psl_memos[i].name, norm) == 0)
            m = &domain_psl_memos[i];
    if (m == NULL) {
        m = &domain_psl_memos[domain_psl_memo_next++ % DOMAIN_PSL_MEMO];
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
domain_psl_org(const char *name, char *out, size_t outlen)
{
    char norm[DOMAIN_MAX];

    if (domain_psl_registrable(name, out, outlen) == 0)
        return 0;
    if (domain_normalize(name, DOMAIN_LOOSE, norm, sizeof(norm), NULL, 0) < 0 ||
        strlen(norm) >= outlen)
        return -1;
    memcpy(out, norm, strlen(norm) + 1);
    return 0;
}

int
domain_psl_is_public_suffix(const char *name)
{
    char norm[DOMAIN_MAX];
    const psl_ctx_t *p = domain_psl_ctx();

    if (p == NULL || domain_normalize(name, DOMAIN_LOOSE, norm, sizeof(norm), NULL, 0) < 0)
        return 1;
    return psl_is_public_suffix(p, norm) ? 1 : 0;
}

int
domain_psl_same_org(const char *a, const char *b)
{
    char oa[DOMAIN_MAX], ob[DOMAIN_MAX];

    if (domain_psl_org(a, oa, sizeof(oa)) < 0 || domain_psl_org(b, ob, sizeof(ob)) < 0)
        return 0;
    return strcmp(oa, ob) == 0;
}
