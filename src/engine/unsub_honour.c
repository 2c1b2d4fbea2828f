/*
 * unsub_honour.c - the milter honours the unsubscribe store (unsub_honour.h)
 *
 * Purpose: one lookup per recipient in the store (the file store's
 * in-memory set, refreshed from the file at most every store_refresh_ms;
 * or Redis, within the message's deadline), then one change to the
 * verdict.  Only mail a rule matched is looked at; a verdict that already
 * refuses or defers the message is left alone.  A store that cannot
 * answer gets unsubscribe.store_unavailable: the message deferred (451),
 * or accepted unchecked (the audit record says "unchecked").
 *
 * Diagnostics: one log line per message with unsubscribed recipients (or
 * a store that cannot answer, when deferred), keyed by queue id; with
 * store_unavailable = "accept", one line when the store stops answering
 * and one when it answers again (per process), never one per message.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "engine/unsub_honour.h"
#include "unsub/unsub_store.h"
#include "lib/util.h"

/* 1 while the store cannot answer and mail is accepted unchecked (for one log line) */
static int unsub_honour_unchecked;

/* unsub_honour_health - log the change of the store's answering state once */
static void
unsub_honour_health(const unsub_conf *c, const char *qid, int unavailable)
{
    if (__atomic_exchange_n(&unsub_honour_unchecked, unavailable, __ATOMIC_ACQ_REL) == unavailable)
        return;
    if (unavailable)
        log_msg(LOG_WARNING, qid,
                "unsubscribe store %s cannot answer: mail of the unsubscribe rules is accepted "
                "unchecked (store_unavailable = \"accept\") until it answers again",
                unsub_conf_store_name(c));
    else
        log_msg(LOG_NOTICE, qid, "unsubscribe store %s answers again", unsub_conf_store_name(c));
}

const char *
unsub_honour_action_name(unsub_store_action a)
{
    switch (a) {
    case UNSUB_STORE_REJECT:
        return "reject";
    case UNSUB_STORE_TAG:
        return "tag";
    default:
        return "drop";
    }
}

/* unsub_honour_apply - the configured action for r->rcpts */
static void
unsub_honour_apply(const unsub_conf *c, sm_msg *m, unsub_honour_result *r)
{
    const char *tag_header = NULL;
    char text[800], list[256], first[256];

    r->action = unsub_conf_store_action(c, &tag_header, NULL);
    log_sanitize(r->list_id, list, sizeof(list));
    log_sanitize(r->rcpts[0], first, sizeof(first));
    log_msg(LOG_NOTICE, m->qid,
            "unsubscribe store: %zu of %zu recipient(s) unsubscribed from "
            "list %s (first <%s>): %s",
            r->n_rcpts, m->nrcpts, list, first, unsub_honour_action_name(r->action));
    switch (r->action) {
    case UNSUB_STORE_REJECT:
        snprintf(text, sizeof(text),
                 "Recipient <%s> unsubscribed from list %s (RFC 8058 one-click)", first, list);
        verdict_set(&m->verdict, VERDICT_REJECT, "550", "5.7.1", text);
        break;
    case UNSUB_STORE_TAG:
        snprintf(text, sizeof(text), "list=%s; recipients=%zu", list, r->n_rcpts);
        verdict_add_header(&m->verdict, tag_header, text);
        break;
    default:
        if (r->n_rcpts == m->nrcpts) {
            free(m->verdict.reason);
            m->verdict.action = VERDICT_DISCARD;
            m->verdict.reason = xasprintf("every recipient unsubscribed from list %s", list);
            break;
        }
        for (size_t i = 0; i < r->n_rcpts; i++)
            verdict_del_rcpt(&m->verdict, r->rcpts[i]);
        break;
    }
}

void
unsub_honour(const unsub_conf *c, sm_msg *m, const char *list_id, uint64_t deadline_ms,
             unsub_honour_result *r)
{
    struct unsub_store *s = unsub_conf_store(c);
    char list[256];

    memset(r, 0, sizeof(*r));
    if (s == NULL || list_id == NULL || m->verdict.action == VERDICT_REJECT ||
        m->verdict.action == VERDICT_TEMPFAIL)
        return;
    r->done = 1;
    r->list_id = list_id;
    r->action = unsub_conf_store_action(c, NULL, NULL);
    for (size_t i = 0; i < m->nrcpts; i++) {
        int has = unsub_store_has_by(s, list_id, m->rcpts[i], deadline_ms);
        if (has < 0 && unsub_conf_store_unavailable(c) == UNSUB_UNAVAILABLE_ACCEPT) {
            r->unchecked = 1;
            unsub_honour_health(c, m->qid, 1);
            for (size_t j = 0; j < r->n_rcpts; j++)
                free(r->rcpts[j]);
            free(r->rcpts);
            r->rcpts = NULL;
            r->n_rcpts = 0;
            return;
        }
        if (has < 0) {
            r->unavailable = 1;
            log_msg(LOG_WARNING, m->qid, "unsubscribe store %s %s: list %s deferred",
                    unsub_conf_store_name(c),
                    unsub_conf_store_file(c) != NULL
                        ? "cannot be read (missing rights, not a regular file, a symbolic link?)"
                        : "cannot answer (Redis down or slow)",
                    log_sanitize(list_id, list, sizeof(list)));
            verdict_set(&m->verdict, VERDICT_TEMPFAIL, "451", "4.3.0",
                        "The unsubscribe list cannot be checked now; try again later");
            return;
        }
        if (has) {
            r->rcpts = xrealloc(r->rcpts, (r->n_rcpts + 1) * sizeof(char *));
            r->rcpts[r->n_rcpts++] = xstrdup(m->rcpts[i]);
        }
    }
    if (unsub_conf_store_unavailable(c) == UNSUB_UNAVAILABLE_ACCEPT)
        unsub_honour_health(c, m->qid, 0);
    if (r->n_rcpts > 0)
        unsub_honour_apply(c, m, r);
}

void
unsub_honour_clear(unsub_honour_result *r)
{
    for (size_t i = 0; i < r->n_rcpts; i++)
        free(r->rcpts[i]);
    free(r->rcpts);
    memset(r, 0, sizeof(*r));
}
