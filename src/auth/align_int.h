/*
 * align_int.h - what the alignment engine (align.c) and its configuration
 * section (align_conf.c) share
 *
 * Not part of the API: everything outside these two files goes through
 * align.h.
 */
#ifndef SM_ALIGN_INT_H
#define SM_ALIGN_INT_H

#include "auth/align.h"

/* align_action_names - "monitor", "tag", ... indexed by align_action, NULL-terminated */
extern const char *const align_action_names[];

/* align_check_method - align_check by one specification (align.c) */
align_decision align_check_method(const align_conf *conf, dns_cache *c, const align_facts *f,
                                  align_result *r, dmarc_method method);
/* align_strictness - how strict a result is, for "strictest" choices (align.c) */
int align_strictness(const align_result *r);
/*
 * align_aligned - whether domain aligns with r->from_domain in mode, by r->method
 * (RFC 9989: the walked org domains in r->walked; one that could not be walked
 * sets r->walk_tempfail and counts as not aligned) (align_bis.c)
 */
int align_aligned(align_result *r, const char *domain, dmarc_align_mode mode);
/* align_bis_walk - RFC 9989: walk the org domains of the names facts f compare (align_bis.c) */
void align_bis_walk(dns_cache *c, const align_facts *f, align_result *r);

#endif
