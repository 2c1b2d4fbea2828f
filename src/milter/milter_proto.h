/*
 * milter_proto.h - the milter protocol options ses-milter negotiates (milter_proto.c)
 */
#ifndef SM_MILTER_PROTO_H
#define SM_MILTER_PROTO_H

#include <libmilter/mfapi.h>

/* the steps ses-milter never answers once the MTA agreed (SMFIS_NOREPLY there) */
#define MILTER_PROTO_NR_STEPS                                                                      \
    (SMFIP_NR_CONN | SMFIP_NR_RCPT | SMFIP_NR_HDR | SMFIP_NR_EOH | SMFIP_NR_BODY)

/*
 * milter_proto_negotiate - from the MTA's offer (f0 actions, f1 protocol steps) choose
 * ours (*pf0, *pf1) and ask for the macro lists; call from xxfi_negotiate
 */
void milter_proto_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long *pf0,
                            unsigned long *pf1);

#endif
