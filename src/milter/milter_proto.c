/*
 * milter_proto.c - the milter protocol options ses-milter negotiates
 *
 * Purpose: one place for what ses-milter asks of the MTA when a connection
 * opens: the actions it may take, the steps the MTA need not wait for or
 * need not send at all, and the macros the engine reads.  milter.c applies
 * it to every connection; the benchmarks' null milter
 * (tests/bench/null_milter.c) applies the same, so that the floor it
 * measures is that of ses-milter's own protocol.
 *
 * No reply where ses-milter never decides anything, so that the MTA need
 * not wait for a round trip: connect (a stopping milter refuses at MAIL FROM
 * instead), recipients, header fields, end of headers and body chunks.  HELO
 * is not sent at all: nothing uses it.  No reply to body chunks gives up
 * SMFIS_SKIP, which would spare sending the rest of a large unsigned body;
 * a reply per 64 KiB chunk costs a round trip on every message.  Postfix
 * then waits four times per message: negotiation, MAIL FROM, DATA, end of
 * message.
 *
 * The macro lists (SMFIF_SETSYMLIST) name what the engine reads, so that
 * the MTA sends those instead of its whole default lists.  Postfix reads an
 * empty list as "my default list", so a stage that needs nothing asks for
 * "j" (the MTA's name), the one macro every MTA defines.  The
 * end-of-header list is the one Postfix sends before every header field.
 * {rcpt_mailer} at RCPT tells mail for this host's own recipients (system
 * mail, scope.h); j, asked for at connect, is the MTA's own name.
 */
#include "config.h"

#include "lib/log.h"
#include "milter/milter_proto.h"
#include "lib/util.h"

static const struct milter_proto_symlist {
    int stage;
    const char *names;
} milter_proto_symlists[] = {
    {SMFIM_CONNECT, "j"},
    {SMFIM_HELO, "j"},
    {SMFIM_ENVFROM, "i {auth_authen}"},
    {SMFIM_ENVRCPT, "{rcpt_mailer}"},
    {SMFIM_DATA, "i"},
    {SMFIM_EOH, "j"},
    {SMFIM_EOM, "i"},
};

void
milter_proto_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long *pf0,
                       unsigned long *pf1)
{
    *pf0 =
        f0 & (SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE | SMFIF_DELRCPT | SMFIF_SETSYMLIST);
    *pf1 = f1 & (SMFIP_HDR_LEADSPC | SMFIP_SKIP | SMFIP_NOUNKNOWN | SMFIP_NOHELO |
                 MILTER_PROTO_NR_STEPS);
    if (*pf1 & SMFIP_NR_BODY)
        *pf1 &= ~(unsigned long)SMFIP_SKIP;
    for (size_t i = 0; (*pf0 & SMFIF_SETSYMLIST) && i < SM_ARRAY_LEN(milter_proto_symlists); i++)
        if (smfi_setsymlist(ctx, milter_proto_symlists[i].stage,
                            (char *)milter_proto_symlists[i].names) != MI_SUCCESS)
            /* the MTA's own lists apply: everything still works, only more is sent */
            log_msg(LOG_DEBUG, NULL, "could not ask for the macros of stage %d",
                    milter_proto_symlists[i].stage);
}
