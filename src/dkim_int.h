/*
 * dkim_int.h - what the DKIM verifier (dkim.c) and the key-record code
 * (dkim_key.c) share: the engine and the PKCS#1 key rewrite
 *
 * Not part of the API: everything outside these two files goes through
 * dkim.h.  This header does not include <opendkim/dkim.h>: the engine
 * names libopendkim's library handle by its struct tag (DKIM_LIB is
 * "struct dkim_lib"), so dkim_key.c needs neither libopendkim nor the
 * dkim_verify() rename described in dkim.h.
 */
#ifndef SM_DKIM_INT_H
#define SM_DKIM_INT_H

#include <stddef.h>

#include "dkim.h"
#include "dns.h"

struct dkim_lib; /* libopendkim's DKIM_LIB */

struct dkim_engine {
    struct dkim_lib *lib; /* DKIM_LIB * */
    dns_cache *dns;       /* borrowed */
    dkim_opts opts;
};

/* dkim_key_fixup - a bare PKCS#1 RSA key record rewritten with an SPKI p=; NULL: keep as is */
char *dkim_key_fixup(const char *rec, size_t len, size_t *newlen);

#endif
