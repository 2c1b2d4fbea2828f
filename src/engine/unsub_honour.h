/*
 * unsub_honour.h - the milter honours the unsubscribe store
 *
 * After the unsubscribe rules matched a message (unsub_result.list_id set),
 * each recipient found in the store for that list gets
 * unsubscribe.store_action: "drop" removes the recipient (and discards the
 * message when no recipient is left), "reject" refuses the message
 * (550 5.7.1), "tag" delivers it with unsubscribe.store_tag_header added.
 * A store that cannot answer (Redis down or slow, the file unreadable)
 * gets unsubscribe.store_unavailable: "tempfail" (default) defers the
 * message (451 4.3.0), "accept" delivers it unchecked (r->unchecked, the
 * audit record's store_action "unchecked"); the lookups stop at the
 * message's deadline either way.
 *
 * Synopsis (engine, end of message, after the unsubscribe headers):
 *     unsub_honour(services_of(conf)->unsub, m, e->unsub.list_id, e->deadline_ms, &e->optout);
 *     ... audit: e->optout ...
 *     unsub_honour_clear(&e->optout);
 */
#ifndef SM_UNSUB_HONOUR_H
#define SM_UNSUB_HONOUR_H

#include <stddef.h>
#include <stdint.h>

#include "engine/msg.h"
#include "unsub/unsub.h"

typedef struct unsub_honour_result {
    int done;            /* the store was asked */
    const char *list_id; /* borrowed from the unsub_result */
    unsub_store_action action;
    char **rcpts; /* the recipients who unsubscribed from list_id (owned) */
    size_t n_rcpts;
    int unavailable; /* the store could not tell: the message was tempfailed */
    int unchecked;   /* the store could not tell: accepted unchecked (store_unavailable) */
} unsub_honour_result;

/* unsub_honour - look the recipients up and change m->verdict; logs what it decided */
void unsub_honour(const unsub_conf *c, sm_msg *m, const char *list_id, uint64_t deadline_ms,
                  unsub_honour_result *r);
/* unsub_honour_clear - free what unsub_honour put into r and zero it */
void unsub_honour_clear(unsub_honour_result *r);
/* unsub_honour_action_name - "drop", "reject", "tag" */
const char *unsub_honour_action_name(unsub_store_action a);

#endif
