/*
 * domain_walk.h - organisational domains by the RFC 9989 DNS tree walk
 *
 * RFC 9989 section 4.10 replaced the Public Suffix List with a walk up the
 * DNS tree: _dmarc.<name>, then (a name of eight or more labels is first
 * shortened to its last seven) one label less at a time, at most eight
 * queries; a single DMARC record with psd=y or psd=n stops the walk.  The
 * Organizational Domain is then chosen from the records found (section
 * 4.10.2): a psd=n record's domain; else, for a psd=y record other than at
 * the start, the domain one label below it; else the record with the fewest
 * labels; else the name itself.  Queries go through the DNS cache (dns.h)
 * with the caller's deadline.  The walk knows no DMARC syntax: the caller
 * passes a domain_walk_reader that tells a DMARC record from other TXT
 * and reads its psd= (auth/dmarc.c's dmarc_walk_reader), so lib does not
 * depend on auth.
 */
#ifndef SM_DOMAIN_WALK_H
#define SM_DOMAIN_WALK_H

#include <stddef.h>
#include <stdint.h>

#include "lib/dns.h"
#include "lib/domain.h"

#define DOMAIN_WALK_MAX 8 /* queries per walk (RFC 9989 4.10) */

typedef enum domain_walk_status {
    DOMAIN_WALK_OK = 0,
    DOMAIN_WALK_TEMPFAIL, /* a query failed: the walk stopped there */
    DOMAIN_WALK_BAD_NAME, /* not a domain name */
} domain_walk_status;

/* psd= of a record as the walk needs it (same order as auth's dmarc_psd) */
typedef enum domain_walk_psd {
    DOMAIN_WALK_PSD_U = 0, /* unknown or absent: keep walking */
    DOMAIN_WALK_PSD_Y,
    DOMAIN_WALK_PSD_N,
} domain_walk_psd;

/* domain_walk_reader - -1 if txt is no DMARC record, else its psd= (a record that
 * does not parse: DOMAIN_WALK_PSD_U) */
typedef int (*domain_walk_reader)(const char *txt, size_t len);

typedef struct domain_walk_step {
    char name[DOMAIN_MAX]; /* the domain asked: the query is _dmarc.<name> */
    dns_status dns;
    size_t ndmarc; /* v=DMARC1 records there; more than one are all discarded */
    char *record;  /* the single record (owned), else NULL */
    size_t len;
    domain_walk_psd psd; /* its psd= */
} domain_walk_step;

typedef struct domain_walk {
    domain_walk_status status;
    char start[DOMAIN_MAX];  /* normalised */
    char org[DOMAIN_MAX];    /* the Organizational Domain when OK; after a TEMPFAIL the
                              * choice over the steps below the failure */
    char failed[DOMAIN_MAX]; /* TEMPFAIL: the name whose _dmarc query failed */
    int org_step;            /* the step whose record is the org domain's, -1: none */
    int psd_step;            /* the psd=y step that decided the org domain, -1: none */
    size_t nsteps;
    domain_walk_step step[DOMAIN_WALK_MAX];
    char detail[300]; /* why, when not OK */
} domain_walk;

/* domain_walk_run - walk from name, records read by rd (always fills w;
 * domain_walk_clear() after) */
domain_walk_status domain_walk_run(dns_cache *c, const char *name, uint64_t deadline_ms,
                                   domain_walk_reader rd, domain_walk *w);
/* domain_walk_clear - free the records a walk holds */
void domain_walk_clear(domain_walk *w);
/* domain_walk_labels - number of labels of a normalised name */
size_t domain_walk_labels(const char *name);
/* domain_walk_suffix - the last n labels of name (a pointer into it) */
const char *domain_walk_suffix(const char *name, size_t n);

#endif
