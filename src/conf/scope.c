/*
 * scope.c - which mail is outgoing
 *
 * Purpose: decide, from what the MTA tells us about the client, whether a
 * message is outgoing (and so is gated and changed) or not (and so passes
 * untouched).  The rules are checked in a fixed order: everything,
 * authenticated, internal network, local submission.  CIDR lists accept
 * IPv4 and IPv6; IPv4-mapped IPv6 client addresses match IPv4 entries.
 * At end of message, whether outgoing mail is system mail (scope.h).
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf/scope.h"
#include "lib/util.h"

static const char *const scope_sysmail_names[] = {"accept", "check", NULL};

static const cfg_directive scope_tab[] = {
    {"authenticated", CFG_BOOL, offsetof(scope_conf, authenticated), NULL, 1, 0, 0, NULL},
    {"internal_networks", CFG_STRLIST, offsetof(scope_conf, networks_text), "127.0.0.0/8,::1/128",
     0, 0, 0, NULL},
    {"local_submission", CFG_BOOL, offsetof(scope_conf, local_submission), NULL, 1, 0, 0, NULL},
    {"all_outgoing", CFG_BOOL, offsetof(scope_conf, everything), NULL, 0, 0, 0, NULL},
    {"system_mail", CFG_ENUM, offsetof(scope_conf, system_mail), "accept", 0, 0, 0,
     scope_sysmail_names},
    {"local_mailers", CFG_STRLIST, offsetof(scope_conf, local_mailers), "local", 0, 0, 0, NULL},
    {"bounce_senders", CFG_STRLIST, offsetof(scope_conf, bounce_senders), "MAILER-DAEMON", 0, 0, 0,
     NULL},
    CFG_END,
};

int
scope_parse_cidr(const char *text, scope_net *out)
{
    char buf[64], *slash, *end;
    long prefix;
    int max;

    if (strlen(text) >= sizeof(buf))
        return -1;
    strcpy(buf, text);
    slash = strchr(buf, '/');
    if (slash != NULL)
        *slash++ = '\0';
    memset(out, 0, sizeof(*out));
    if (inet_pton(AF_INET, buf, out->addr) == 1) {
        out->family = AF_INET;
        max = 32;
    } else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
        out->family = AF_INET6;
        max = 128;
    } else {
        return -1;
    }
    prefix = max;
    if (slash != NULL) {
        if (*slash == '\0' || (slash[0] == '0' && slash[1] != '\0'))
            return -1;
        prefix = strtol(slash, &end, 10);
        if (*end != '\0' || prefix < 0 || prefix > max)
            return -1;
    }
    out->prefix = (int)prefix;
    for (int bit = out->prefix; bit < max; bit++)
        out->addr[bit / 8] &= (unsigned char)~(0x80u >> (bit % 8));
    return 0;
}

int
scope_net_match(const scope_net *net, const struct sockaddr *addr)
{
    const unsigned char *a;
    int full, rest;

    if (addr == NULL)
        return 0;
    if (addr->sa_family == AF_INET && net->family == AF_INET) {
        a = (const unsigned char *)&((const struct sockaddr_in *)addr)->sin_addr;
    } else if (addr->sa_family == AF_INET6) {
        const struct in6_addr *a6 = &((const struct sockaddr_in6 *)addr)->sin6_addr;
        if (net->family == AF_INET6)
            a = a6->s6_addr;
        else if (IN6_IS_ADDR_V4MAPPED(a6))
            a = a6->s6_addr + 12;
        else
            return 0;
    } else {
        return 0;
    }
    full = net->prefix / 8;
    rest = net->prefix % 8;
    if (memcmp(a, net->addr, (size_t)full) != 0)
        return 0;
    if (rest == 0)
        return 1;
    return ((a[full] ^ net->addr[full]) & (0xff00u >> rest)) == 0;
}

int
scope_conf_parse(const config_setting_t *group, scope_conf **out, char *err, size_t errlen)
{
    scope_conf *c = xcalloc(1, sizeof(*c));
    const config_setting_t *nets;

    *out = NULL;
    if (cfg_parse_table(group, scope_tab, c, NULL, err, errlen) < 0) {
        scope_conf_free(c);
        return -1;
    }
    c->nets = xcalloc(c->networks_text.n + 1, sizeof(scope_net));
    nets = group ? config_setting_get_member(group, "internal_networks") : NULL;
    for (size_t i = 0; i < c->networks_text.n; i++) {
        if (scope_parse_cidr(c->networks_text.v[i], &c->nets[i]) < 0) {
            const config_setting_t *e = nets;
            if (nets && config_setting_is_aggregate(nets))
                e = config_setting_get_elem(nets, (unsigned)i);
            cfg_errf(err, errlen, e ? e : group,
                     "'scope.internal_networks': \"%s\" is not an IPv4 or IPv6 address or CIDR",
                     c->networks_text.v[i]);
            scope_conf_free(c);
            return -1;
        }
        c->nnets++;
    }
    *out = c;
    return 0;
}

void
scope_conf_dump(FILE *fp, const scope_conf *c)
{
    cfg_dump_table(fp, "scope", scope_tab, c);
}

scope_conf *
scope_conf_free(scope_conf *c)
{
    if (c == NULL)
        return NULL;
    cfg_free_table(scope_tab, c);
    free(c->nets);
    free(c);
    return NULL;
}

/* scope_is_local - Postfix's simulated connection for non-SMTP mail */
static int
scope_is_local(const scope_client *cl)
{
    const struct sockaddr_in *sin = (const struct sockaddr_in *)cl->addr;

    if (cl->addr == NULL)
        return cl->hostname != NULL && strcmp(cl->hostname, "localhost") == 0;
    return cl->addr->sa_family == AF_INET && ntohl(sin->sin_addr.s_addr) == 0x7f000001u &&
           cl->port == 0 && cl->hostname != NULL && strcmp(cl->hostname, "localhost") == 0;
}

scope_why
scope_decide(const scope_conf *c, const scope_client *cl)
{
    if (c->everything)
        return SCOPE_ALL;
    if (c->authenticated && cl->auth_authen != NULL && *cl->auth_authen != '\0')
        return SCOPE_AUTHENTICATED;
    if (c->local_submission && scope_is_local(cl))
        return SCOPE_LOCAL_SUBMISSION;
    for (size_t i = 0; i < c->nnets; i++)
        if (scope_net_match(&c->nets[i], cl->addr))
            return SCOPE_INTERNAL_NETWORK;
    return SCOPE_EXTERNAL;
}

const char *
scope_why_name(scope_why w)
{
    switch (w) {
    case SCOPE_AUTHENTICATED:
        return "authenticated";
    case SCOPE_INTERNAL_NETWORK:
        return "internal-network";
    case SCOPE_LOCAL_SUBMISSION:
        return "local-submission";
    case SCOPE_ALL:
        return "all-outgoing";
    default:
        return "external";
    }
}

int
scope_local_mailer(const scope_conf *c, const char *mailer)
{
    return mailer != NULL && *mailer != '\0' && cfg_strlist_has(&c->local_mailers, mailer);
}

int
scope_local_rcpt(const scope_conf *c, const char *rcpt, const char *mailer, const char *mta_name)
{
    const char *at;

    if (mailer != NULL && *mailer != '\0')
        return scope_local_mailer(c, mailer);
    if (rcpt == NULL || *rcpt == '\0')
        return 0;
    at = strrchr(rcpt, '@');
    if (at == NULL)
        return 1;
    return mta_name != NULL && *mta_name != '\0' && strcasecmp(at + 1, mta_name) == 0;
}

scope_sysmail
scope_system_mail(const scope_conf *c, size_t n_rcpts, size_t n_local, int null_sender,
                  const char *from_local, const char *from_domain, const char *mta_name)
{
    if (c->system_mail != SCOPE_SYSMAIL_ACCEPT)
        return SCOPE_SYS_NONE;
    if (n_rcpts > 0 && n_local == n_rcpts)
        return SCOPE_SYS_LOCAL;
    if (null_sender && from_local != NULL && cfg_strlist_has(&c->bounce_senders, from_local) &&
        from_domain != NULL && mta_name != NULL && strcasecmp(from_domain, mta_name) == 0)
        return SCOPE_SYS_BOUNCE;
    return SCOPE_SYS_NONE;
}

const char *
scope_sysmail_name(scope_sysmail s)
{
    switch (s) {
    case SCOPE_SYS_LOCAL:
        return "every recipient is delivered on this host";
    case SCOPE_SYS_BOUNCE:
        return "a bounce from the MTA";
    default:
        return "not system mail";
    }
}
