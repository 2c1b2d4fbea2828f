/*
 * orgdomain.h - organisational (registrable) domains over the Public Suffix List
 *
 * RFC 7489 section 3.2: the Organizational Domain of a name is its public
 * suffix plus one label.  Names are normalised first: ASCII lower-case,
 * one trailing dot removed, Unicode labels converted to A-labels (IDNA2008
 * with UTS #46 non-transitional mapping).  Results are always A-labels.
 * The list is loaded once (orgdomain_load() at start-up, or lazily with
 * the default on first use) and is read-only afterwards, so every lookup
 * is safe from any thread.
 */
#ifndef SM_ORGDOMAIN_H
#define SM_ORGDOMAIN_H

#include <stddef.h>

#define ORGDOMAIN_SYSTEM_PSL "/usr/share/publicsuffix/public_suffix_list.dat"
#define ORGDOMAIN_MAX 256 /* buffer size that holds any normalised name */

/*
 * orgdomain_load - load the list from file; NULL means the default: the
 * newer of the system file (when present) and libpsl's built-in copy.
 * Call before threads start.  Returns 0 or -1 with a reason in err.
 */
int orgdomain_load(const char *file, char *err, size_t errlen);
/* orgdomain_unload - free the loaded list (tests, shutdown) */
void orgdomain_unload(void);
/* orgdomain_normalize - lower-case A-label form of name into out; 0, or -1 if not a domain */
int orgdomain_normalize(const char *name, char *out, size_t outlen);
/* orgdomain_get - registrable domain of name into out; 0, or -1 (public suffix, invalid) */
int orgdomain_get(const char *name, char *out, size_t outlen);
/* orgdomain_org - like orgdomain_get, but a public suffix is its own organisation; 0 or -1 */
int orgdomain_org(const char *name, char *out, size_t outlen);
/* orgdomain_is_public_suffix - 1 if name is a public suffix (or invalid), else 0 */
int orgdomain_is_public_suffix(const char *name);
/* orgdomain_same - 1 if a and b have the same organisational domain (relaxed alignment) */
int orgdomain_same(const char *a, const char *b);

#endif
