/*
 * domain.h - domain names: IDN to A-label, case folding, the trailing dot,
 * label validation (lib; includes nothing above lib)
 *
 * One normaliser for every caller, two forms of it:
 *   DOMAIN_STRICT (0)  the form identities are kept in: LDH plus '_' labels
 *                      not beginning or ending with '-', every xn-- label
 *                      round-tripping (identity, the gate).
 *   DOMAIN_LOOSE       the form names from messages are compared in (DMARC,
 *                      alignment, the PSL, the tree walk, doctor): non-NFC
 *                      Unicode accepted, any printable label byte but '@',
 *                      '/' and '\\'.
 * The PSL and organisational domains are lib/domain_psl.h, the RFC 9989
 * tree walk lib/domain_walk.h.
 */
#ifndef SM_DOMAIN_H
#define SM_DOMAIN_H

#include <stddef.h>

#define DOMAIN_MAX 256 /* buffer size that holds any normalised name */

#define DOMAIN_STRICT 0x0u
/* DOMAIN_NFC: Unicode input need not be in NFC (libidn2's IDN2_NFC_INPUT; libidn2 2.x's
 * UTS #46 mapping composes such input under either form) */
#define DOMAIN_NFC 0x1u
/* DOMAIN_PRINTABLE: a label may hold any printable ASCII byte but '@', '/' and '\\',
 * with no rule on '-' and no A-label round trip (what libpsl and DNS look up) */
#define DOMAIN_PRINTABLE 0x2u
#define DOMAIN_LOOSE (DOMAIN_NFC | DOMAIN_PRINTABLE)

/*
 * domain_normalize - lower-case A-label form of name (one trailing dot
 * removed, at most 253 octets) into out; 0, or -1 with a reason in err
 * (err may be NULL).  flags: DOMAIN_STRICT, DOMAIN_LOOSE or DOMAIN_NFC |
 * DOMAIN_PRINTABLE one by one.  An out of DOMAIN_MAX always suffices.
 */
int domain_normalize(const char *name, unsigned flags, char *out, size_t outlen, char *err,
                     size_t errlen);

#endif
