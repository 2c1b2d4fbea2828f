/*
 * null_milter.c - the floor of any libmilter milter: one that does nothing
 *
 * Usage: null_milter SOCKET
 *   SOCKET   unix:/path (removed first if it exists)
 *
 * Registers every callback ses-milter registers and negotiates the same
 * protocol options, with ses-milter's own code (src/milter/milter_proto.c: no
 * HELO; no reply to connect, RCPT, header fields, end of headers and body
 * chunks; the same macro lists), then answers CONTINUE everywhere and
 * ACCEPT at end of message without looking at anything.  Driven by the same load as the real
 * milters (scripts/bench.sh), it shows what the milter protocol and
 * libmilter's thread per connection cost by themselves: no milter built on
 * libmilter can be cheaper per message.  Stops on SIGTERM or SIGINT (libmilter's
 * own handling).  Not a test; built as a noinst program (mk/bench.am).
 */
#include "config.h"

#include <libmilter/mfapi.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "milter/milter_proto.h"

static sfsistat
null_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2, unsigned long f3,
               unsigned long *pf0, unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
    (void)f2;
    (void)f3;
    milter_proto_negotiate(ctx, f0, f1, pf0, pf1);
    /* the private pointer holds the negotiated SMFIP_NR_* bits, not an allocation */
    (void)smfi_setpriv(ctx, (void *)(uintptr_t)(*pf1 & MILTER_PROTO_NR_STEPS));
    *pf2 = 0;
    *pf3 = 0;
    return SMFIS_CONTINUE;
}

/* null_reply - NOREPLY where that step's reply was negotiated away for this connection */
static sfsistat
null_reply(SMFICTX *ctx, unsigned long nr)
{
    uintptr_t negotiated = (uintptr_t)smfi_getpriv(ctx);

    return (negotiated & nr) ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static sfsistat
null_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *sa)
{
    (void)host;
    (void)sa;
    return null_reply(ctx, SMFIP_NR_CONN);
}

static sfsistat
null_envfrom(SMFICTX *ctx, char **argv)
{
    (void)ctx;
    (void)argv;
    return SMFIS_CONTINUE;
}

static sfsistat
null_envrcpt(SMFICTX *ctx, char **argv)
{
    (void)argv;
    return null_reply(ctx, SMFIP_NR_RCPT);
}

static sfsistat
null_data(SMFICTX *ctx)
{
    (void)ctx;
    return SMFIS_CONTINUE;
}

static sfsistat
null_header(SMFICTX *ctx, char *name, char *value)
{
    (void)name;
    (void)value;
    return null_reply(ctx, SMFIP_NR_HDR);
}

static sfsistat
null_eoh(SMFICTX *ctx)
{
    return null_reply(ctx, SMFIP_NR_EOH);
}

static sfsistat
null_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
    (void)chunk;
    (void)len;
    return null_reply(ctx, SMFIP_NR_BODY);
}

static sfsistat
null_eom(SMFICTX *ctx)
{
    (void)ctx;
    return SMFIS_ACCEPT;
}

static sfsistat
null_abort(SMFICTX *ctx)
{
    (void)ctx;
    return SMFIS_CONTINUE;
}

static sfsistat
null_close(SMFICTX *ctx)
{
    (void)smfi_setpriv(ctx, NULL);
    return SMFIS_CONTINUE;
}

int
main(int argc, char **argv)
{
    struct smfiDesc desc;

    if (argc != 2 || strncmp(argv[1], "unix:", 5) != 0) {
        fprintf(stderr, "usage: %s unix:/path\n", argv[0]);
        return 2;
    }
    (void)unlink(argv[1] + 5);
    memset(&desc, 0, sizeof(desc));
    desc.xxfi_name = (char *)"null-milter";
    desc.xxfi_version = SMFI_VERSION;
    desc.xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE;
    desc.xxfi_connect = null_connect;
    desc.xxfi_envfrom = null_envfrom;
    desc.xxfi_envrcpt = null_envrcpt;
    desc.xxfi_data = null_data;
    desc.xxfi_header = null_header;
    desc.xxfi_eoh = null_eoh;
    desc.xxfi_body = null_body;
    desc.xxfi_eom = null_eom;
    desc.xxfi_abort = null_abort;
    desc.xxfi_close = null_close;
    desc.xxfi_negotiate = null_negotiate;
    if (smfi_register(desc) != MI_SUCCESS || smfi_setconn(argv[1]) != MI_SUCCESS ||
        smfi_setbacklog(128) != MI_SUCCESS) {
        fprintf(stderr, "null_milter: cannot set up libmilter on %s\n", argv[1]);
        return 1;
    }
    return smfi_main() == MI_SUCCESS ? 0 : 1;
}
