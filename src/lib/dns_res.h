/*
 * dns_res.h - the wire side of lib/dns.c: one query with res_nsend, its answer parsed
 *
 * Internal to src/lib (dns.c and its tests): the cache (dns.h) is the API.
 * dns_res_query() sends one query on this thread's resolver state, bounded
 * by an absolute deadline, and reads the answer into a dns_txt record set
 * (see dns_res_parse for what a record of each type holds).
 */
#ifndef SM_DNS_RES_H
#define SM_DNS_RES_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/dns.h"

#define DNS_ANSWER_MAX 65536

/*
 * dns_res_parse - read a DNS response (wire format) to a query of qtype.
 * With rr_r: the records of qtype into *rr_r, each as dns_lookup_rr()
 * describes (dns.h); without: only their presence counts.  DNS_OK: *ttl_r
 * the smallest TTL of the answer; NXDOMAIN / NODATA: the negative TTL of
 * the SOA (RFC 2308), 0 when there is none; anything else DNS_TEMPFAIL.
 */
dns_status dns_res_parse(const unsigned char *msg, size_t len, int qtype, dns_txt **rr_r,
                         uint32_t *ttl_r);
/*
 * dns_res_send - one query of type for name with res_nsend on this thread's
 * state; server, when not NULL, is asked instead of the configured servers.
 * Returns the answer's length in answer[DNS_ANSWER_MAX], 0 for a name that
 * is not a valid DNS name, -1 when no answer came by the deadline.
 */
int dns_res_send(const struct sockaddr_in *server, const char *name, int type, uint64_t deadline_ms,
                 unsigned char *answer);
/*
 * dns_res_query - dns_res_send + dns_res_parse; server may be NULL (the
 * configured servers); rr_r NULL: presence only
 */
dns_status dns_res_query(const struct sockaddr_in *server, const char *name, int qtype,
                         uint64_t deadline_ms, dns_txt **rr_r, uint32_t *ttl_r);

#endif
