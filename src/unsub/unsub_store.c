/*
 * unsub_store.c - the store interface: key normalisation and dispatch to a
 * backend (unsub_store.h)
 *
 * Diagnostics: none here; backends return their errors in err.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "unsub/unsub_store.h"
#include "lib/util.h"

/* unsub_store_field_ok - non-empty, no TAB/CR/LF (the file backend's separators) */
static int
unsub_store_field_ok(const char *s)
{
    return s != NULL && *s != '\0' && strpbrk(s, "\t\r\n") == NULL;
}

char *
unsub_store_key(const char *list_id, const char *rcpt)
{
    char *k, *r;

    if (!unsub_store_field_ok(list_id) || !unsub_store_field_ok(rcpt))
        return NULL;
    k = xasprintf("%s\t%s", list_id, rcpt);
    r = k + strlen(list_id) + 1;
    util_lower(r);
    return k;
}

int
unsub_store_has(unsub_store *s, const char *list_id, const char *rcpt)
{
    return unsub_store_has_by(s, list_id, rcpt, 0);
}

int
unsub_store_has_by(unsub_store *s, const char *list_id, const char *rcpt, uint64_t deadline_ms)
{
    char *k;
    int rc;

    if (s == NULL)
        return 0;
    if ((k = unsub_store_key(list_id, rcpt)) == NULL)
        return 0;
    rc = s->ops->has(s, k, deadline_ms);
    free(k);
    return rc;
}

int
unsub_store_add(unsub_store *s, const char *list_id, const char *rcpt, int64_t when, int *already_r,
                char *err, size_t errlen)
{
    char *k;
    int rc;

    *already_r = 0;
    if (s == NULL || s->ops->add == NULL)
        return util_errf(err, errlen, "the store is not open for writing");
    if ((k = unsub_store_key(list_id, rcpt)) == NULL)
        return util_errf(err, errlen, "empty list id or recipient, or one with TAB/CR/LF");
    rc = s->ops->add(s, k, list_id, rcpt, when, already_r, err, errlen);
    free(k);
    return rc;
}

unsub_store *
unsub_store_free(unsub_store *s)
{
    if (s != NULL)
        s->ops->free(s);
    return NULL;
}
