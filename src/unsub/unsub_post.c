/*
 * unsub_post.c - the token and the form body of an RFC 8058 one-click POST
 *
 * Purpose: see unsub_post.h.  The token is looked for where the
 * List-Unsubscribe templates can put it (%{token} in a query value or a
 * path segment); only a decoded value of exactly the token's shape counts,
 * and its MAC is checked by the caller (unsub_token_verify).
 *
 * Diagnostics: none; NULL / 0 mean "not there".
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "unsub/unsub_post.h"
#include "unsub/unsub_tmpl.h"
#include "unsub/unsub_token.h"

int
unsub_post_form_ok(const char *body, size_t n)
{
    const char *p = body;

    while (n > 0 && (body[n - 1] == '\r' || body[n - 1] == '\n'))
        n--;
    while (p < body + n) {
        const char *amp = memchr(p, '&', (size_t)(body + n - p));
        size_t k = amp ? (size_t)(amp - p) : (size_t)(body + n - p);
        char *pair = unsub_tmpl_pctdec(p, k, 1);
        int ok = pair != NULL && strcmp(pair, "List-Unsubscribe=One-Click") == 0;
        free(pair);
        if (ok)
            return 1;
        p += k + 1;
    }
    return 0;
}

char *
unsub_post_find_token(const char *target)
{
    size_t end;
    const char *q;

    if (target == NULL || *target != '/')
        return NULL;
    end = strcspn(target, "#");
    q = memchr(target, '?', end);
    for (const char *p = q ? q + 1 : NULL; p != NULL && p < target + end;) {
        size_t k = strcspn(p, "&#");
        const char *eq = memchr(p, '=', k);
        char *v = eq ? unsub_tmpl_pctdec(eq + 1, k - (size_t)(eq + 1 - p), 1) : NULL;
        if (v != NULL && unsub_token_looks_like(v, strlen(v)))
            return v;
        free(v);
        p += k + 1;
    }
    for (const char *p = target + 1; p < (q ? q : target + end);) {
        size_t k = strcspn(p, "/?#");
        char *v = unsub_tmpl_pctdec(p, k, 0);
        if (v != NULL && unsub_token_looks_like(v, strlen(v)))
            return v;
        free(v);
        p += k + 1;
    }
    return NULL;
}
