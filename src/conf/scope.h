/*
 * scope.h - which mail is outgoing
 *
 * Only outgoing mail is gated and changed: clients that authenticated
 * (the {auth_authen} macro), clients in the configured internal networks
 * (IPv4 and IPv6 CIDR lists) and locally submitted mail (Postfix
 * non_smtpd_milters: cleanup(8) presents it as a simulated connection from
 * "localhost" [127.0.0.1] port 0, or with no address at all).  Everything
 * else passes.
 *
 * System mail (scope.system_mail = "accept", the default) is outgoing mail
 * that is accepted without the identity gate, so that the host's own mail is
 * never refused or looped: a message whose every recipient the MTA delivers
 * on this host ({rcpt_mailer} in scope.local_mailers, default "local": cron
 * mail to root; where the MTA sends no {rcpt_mailer}, as Postfix's cleanup
 * for sendmail(1) mail, a recipient at the MTA's own name j or without a
 * domain), and an MTA bounce (MAIL FROM:<> from one From mailbox at the MTA's
 * own name j whose local part is in scope.bounce_senders, default
 * "MAILER-DAEMON": refusing it makes the MTA bounce the bounce, then give up).  "check" gates such
 * mail like any other.
 */
#ifndef SM_SCOPE_H
#define SM_SCOPE_H

#include <stdio.h>
#include <sys/socket.h>
#include <libconfig.h>

#include "lib/cfg.h"

typedef struct scope_net {
    int family;             /* AF_INET or AF_INET6 */
    unsigned char addr[16]; /* network address, host bits cleared */
    int prefix;             /* prefix length */
} scope_net;

typedef struct scope_conf {
    int authenticated;          /* SASL-authenticated clients are outgoing */
    cfg_strlist networks_text;  /* internal_networks as written */
    int local_submission;       /* non-SMTP (sendmail(1)/pickup) mail is outgoing */
    int everything;             /* treat all mail as outgoing (a submission-only MTA) */
    int system_mail;            /* scope_sysmail_conf */
    cfg_strlist local_mailers;  /* {rcpt_mailer} values that deliver on this host */
    cfg_strlist bounce_senders; /* From local parts of the MTA's own bounces */
    scope_net *nets;
    size_t nnets;
} scope_conf;

typedef enum scope_why {
    SCOPE_EXTERNAL = 0,
    SCOPE_AUTHENTICATED,
    SCOPE_INTERNAL_NETWORK,
    SCOPE_LOCAL_SUBMISSION,
    SCOPE_ALL,
} scope_why;

typedef enum scope_sysmail_conf {
    SCOPE_SYSMAIL_ACCEPT = 0,
    SCOPE_SYSMAIL_CHECK
} scope_sysmail_conf;

typedef enum scope_sysmail {
    SCOPE_SYS_NONE = 0, /* not system mail: the gate decides */
    SCOPE_SYS_LOCAL,    /* every recipient is delivered on this host */
    SCOPE_SYS_BOUNCE,   /* a bounce from the MTA itself */
} scope_sysmail;

typedef struct scope_client {
    const struct sockaddr *addr; /* NULL when the MTA gave none (local submission) */
    const char *hostname;        /* as the MTA gave it */
    const char *auth_authen;     /* {auth_authen}, NULL or "" when not authenticated */
    int port;                    /* client port; 0 for Postfix's simulated local connection */
} scope_client;

/* scope_conf_parse - the "scope" section; returns 0 or -1 with file:line in err */
int scope_conf_parse(const config_setting_t *group, scope_conf **out, char *err, size_t errlen);
void scope_conf_dump(FILE *fp, const scope_conf *c);
scope_conf *scope_conf_free(scope_conf *c);

/* scope_parse_cidr - "192.0.2.0/24", "2001:db8::/32", "10.1.2.3"; 0 or -1 */
int scope_parse_cidr(const char *text, scope_net *out);
/* scope_net_match - whether addr falls inside net (IPv4-mapped IPv6 matches IPv4 nets) */
int scope_net_match(const scope_net *net, const struct sockaddr *addr);
/* scope_decide - whether this client's mail is outgoing, and why */
scope_why scope_decide(const scope_conf *c, const scope_client *client);
const char *scope_why_name(scope_why w);
/* scope_local_mailer - whether the MTA's {rcpt_mailer} delivers on this host (NULL: no) */
int scope_local_mailer(const scope_conf *c, const char *mailer);
/*
 * scope_local_rcpt - whether the MTA delivers rcpt (without <>) on this host: by its
 * {rcpt_mailer} when the MTA gave one, else when its domain is mta_name (the MTA's j)
 * or it has none
 */
int scope_local_rcpt(const scope_conf *c, const char *rcpt, const char *mailer,
                     const char *mta_name);
/*
 * scope_system_mail - whether a message is system mail: n_local of its n_rcpts
 * recipients are delivered on this host; for a bounce, null_sender and the single
 * From mailbox (from_local, from_domain; NULL when there is not exactly one) at
 * mta_name (the MTA's j)
 */
scope_sysmail scope_system_mail(const scope_conf *c, size_t n_rcpts, size_t n_local,
                                int null_sender, const char *from_local, const char *from_domain,
                                const char *mta_name);
/* scope_sysmail_name - why a message is system mail, for the log */
const char *scope_sysmail_name(scope_sysmail s);

#endif
