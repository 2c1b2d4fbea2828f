/*
 * domain_psl.h - organisational (registrable) domains over the Public Suffix List
 *
 * RFC 7489 section 3.2: the Organizational Domain of a name is its public
 * suffix plus one label.  Names are normalised first: ASCII lower-case,
 * one trailing dot removed, Unicode labels converted to A-labels (IDNA2008
 * with UTS #46 non-transitional mapping).  Results are always A-labels.
 * The list is loaded once (domain_psl_load() at start-up, or lazily with
 * the default on first use) and is read-only afterwards, so every lookup
 * is safe from any thread.
 */
#ifndef SM_DOMAIN_PSL_H
#define SM_DOMAIN_PSL_H

#include <stddef.h>

#include "lib/domain.h"

#define DOMAIN_PSL_SYSTEM_FILE "/usr/share/publicsuffix/public_suffix_list.dat"

/*
 * domain_psl_load - load the list from file; NULL means the default: the
 * newer of the system file (when present) and libpsl's built-in copy.
 * Call before threads start.  Returns 0 or -1 with a reason in err.
 */
int domain_psl_load(const char *file, char *err, size_t errlen);
/* domain_psl_unload - free the loaded list (tests, shutdown) */
void domain_psl_unload(void);
/* domain_psl_registrable - registrable domain of name into out; 0, or -1 (public suffix, invalid)
 */
int domain_psl_registrable(const char *name, char *out, size_t outlen);
/* domain_psl_org - like domain_psl_registrable, but a public suffix is its own organisation; 0 or
 * -1 */
int domain_psl_org(const char *name, char *out, size_t outlen);
/* domain_psl_is_public_suffix - 1 if name is a public suffix (or invalid), else 0 */
int domain_psl_is_public_suffix(const char *name);
/* domain_psl_same_org - 1 if a and b have the same organisational domain (relaxed alignment) */
int domain_psl_same_org(const char *a, const char *b);

#endif
