/*
 * unsub_post.h - the parts of an RFC 8058 one-click POST: the token in the
 * request target and the "List-Unsubscribe=One-Click" form body
 *
 * Shared by ses-milter-token check-post and ses-milter-unsubscribe, so both
 * read a request the same way.
 */
#ifndef SM_UNSUB_POST_H
#define SM_UNSUB_POST_H

#include <stddef.h>

/* unsub_post_find_token - the first query value, else path segment, shaped like a token
 * (unsub_token_looks_like), percent-decoded; target is "/path[?query][#fragment]"; new
 * string or NULL */
char *unsub_post_find_token(const char *target);
/* unsub_post_form_ok - an application/x-www-form-urlencoded body of len bytes holds the pair
 * List-Unsubscribe=One-Click (trailing CR/LF ignored) */
int unsub_post_form_ok(const char *body, size_t len);

#endif
