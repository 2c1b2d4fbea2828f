/*
 * spf_dns.h - the adapter's libspf2 DNS layers (internal to spf.c)
 *
 * spf_dns_lib_new() returns the bottom SPF_dns_server_t, which answers every
 * query through lib/dns.c (its cache, its metrics observer) under the
 * deadline of the check in progress.
 * spf_dns_layer_new() returns an SPF_dns_server_t to put on top of a
 * libspf2 DNS stack; spf_check() fills an spf_dns_req for each check and
 * brackets the libspf2 query with spf_dns_enter()/spf_dns_leave().  The
 * hooks fetch and check records, count RFC 7208 lookup limits and fix
 * explanations (see spf_dns.c).
 */
#ifndef SM_SPF_DNS_H
#define SM_SPF_DNS_H

#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdint.h>

#include <spf2/spf.h>
#include <spf2/spf_dns.h>

#include "auth/spf.h"
#include "lib/dns.h"

#define SPF_DNS_MAX_FOLLOW 10

/* the state of one check, reached by the hooks through a thread-local pointer */
typedef struct spf_dns_req {
    SPF_dns_server_t *layer; /* our layer: lookups through other servers pass by */
    SPF_request_t *req;
    int af;
    long max_terms, max_voids;
    uint64_t deadline; /* absolute, util_now_ms(); 0 = none */
    /* filled while the check runs */
    int in_exp; /* expanding a macro (explanation, %{p}): lookups are not counted */
    int terms, voids, fetches;
    int ptr_mechs, ptr_counted; /* ptr mechanisms in the records fetched / PTR terms counted */
    int dns_error;
    char *follow[SPF_DNS_MAX_FOLLOW];
    size_t nfollow, ifollow;
    int forced; /* an adapter check decided the result */
    spf_result forced_result;
    char forced_reason[200];
} spf_dns_req;

/* spf_dns_lib_new - the bottom layer: every query through dns (not owned); NULL when dns is */
SPF_dns_server_t *spf_dns_lib_new(dns_cache *dns);
/* spf_dns_layer_new - our layer on top of below (NULL when below is NULL) */
SPF_dns_server_t *spf_dns_layer_new(SPF_dns_server_t *below);
/* spf_dns_enter - make rq the state of this thread's check; returns the previous one */
spf_dns_req *spf_dns_enter(spf_dns_req *rq);
/* spf_dns_leave - restore prev and release what rq collected */
void spf_dns_leave(spf_dns_req *rq, spf_dns_req *prev);
/* spf_dns_name_prepare - left-truncate to 253 octets; -1 for an empty or > 63 octet label */
int spf_dns_name_prepare(const char *in, char *out, size_t outlen);

#endif
