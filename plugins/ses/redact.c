/*
 * redact.c - credentials out of text that is about to be logged
 *
 * Purpose: see redact.h.  One pass over the text in words (runs of
 * letters, digits, '_' and '-'); a word that names a secret and is
 * followed by a separator has its value replaced, a word that looks like
 * an access key id or a long hex string is replaced itself.  Nothing here
 * logs or fails.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "redact.h"
#include "sesutil.h"

#define REDACT_MARK "[redacted]"

/* key names (suffixes, case-insensitive) whose values are secret; keep = characters kept */
static const struct {
    const char *suffix;
    size_t keep;
    int slash_ends; /* '/' ends the value (Credential=AKID/DATE/REGION/...) */
} redact_keys[] = {
    {"token", 0, 0},           {"secret", 0, 0},
    {"secretaccesskey", 0, 0}, {"secret_access_key", 0, 0},
    {"signature", 0, 0},       {"password", 0, 0},
    {"credential", 4, 1},      {"accesskeyid", 4, 0},
    {"access_key_id", 4, 0},
};

static int
redact_word_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

/* redact_value_char - what a key id, token, signature or base64 secret is made of */
static int
redact_value_char(char c, int slash_ends)
{
    return redact_word_char(c) || c == '+' || c == '=' || c == '.' || c == '%' || c == '~' ||
           (c == '/' && !slash_ends);
}

/* redact_key - index in redact_keys of the suffix word[0..n) ends with, or -1 */
static int
redact_key(const char *word, size_t n)
{
    for (size_t i = 0; i < sizeof(redact_keys) / sizeof(redact_keys[0]); i++) {
        size_t sl = strlen(redact_keys[i].suffix);
        if (n >= sl && strncasecmp(word + n - sl, redact_keys[i].suffix, sl) == 0)
            return (int)i;
    }
    return -1;
}

/* redact_separator - length of a key/value separator at s (": ", "=", "\":\"", ">"), or 0 */
static size_t
redact_separator(const char *s)
{
    size_t n = 0;
    int seen = 0;

    while (n < 8 && s[n] != '\0' && strchr(" \t\"':=>", s[n]) != NULL) {
        seen |= s[n] == ':' || s[n] == '=' || s[n] == '>';
        n++;
    }
    return seen ? n : 0;
}

/* redact_key_id - an AWS access key id (AKIA..., ASIA...): upper-case letters and digits */
static int
redact_key_id(const char *w, size_t n)
{
    if (n < 12 || (strncmp(w, "AKIA", 4) != 0 && strncmp(w, "ASIA", 4) != 0))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((w[i] >= 'A' && w[i] <= 'Z') || (w[i] >= '0' && w[i] <= '9')))
            return 0;
    return 1;
}

static int
redact_long_hex(const char *w, size_t n)
{
    if (n < 40)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((w[i] >= '0' && w[i] <= '9') || (w[i] >= 'a' && w[i] <= 'f') ||
              (w[i] >= 'A' && w[i] <= 'F')))
            return 0;
    return 1;
}

/* redact_emit_kept - keep the first keep bytes of v[0..n), mark the rest */
static void
redact_emit_kept(sesutil_buf *b, const char *v, size_t n, size_t keep)
{
    if (n == 0)
        return;
    sesutil_buf_add(b, v, n < keep ? n : keep);
    if (n > keep)
        sesutil_buf_puts(b, REDACT_MARK);
}

char *
redact_text(const char *s)
{
    sesutil_buf b = {0};
    size_t i = 0;

    sesutil_buf_add(&b, "", 0);
    if (s == NULL)
        return sesutil_buf_steal(&b);
    while (s[i] != '\0') {
        size_t j = i, sep, v;
        int k;

        if (!redact_word_char(s[i]) || (i > 0 && redact_word_char(s[i - 1]))) {
            sesutil_buf_putc(&b, s[i++]);
            continue;
        }
        while (redact_word_char(s[j]))
            j++;
        if ((k = redact_key(s + i, j - i)) >= 0 && (sep = redact_separator(s + j)) > 0) {
            sesutil_buf_add(&b, s + i, j + sep - i);
            for (v = j + sep; s[v] != '\0' && redact_value_char(s[v], redact_keys[k].slash_ends);)
                v++;
            redact_emit_kept(&b, s + j + sep, v - (j + sep), redact_keys[k].keep);
            i = v;
            continue;
        }
        if (redact_key_id(s + i, j - i))
            redact_emit_kept(&b, s + i, j - i, 4);
        else if (redact_long_hex(s + i, j - i))
            sesutil_buf_puts(&b, REDACT_MARK);
        else
            sesutil_buf_add(&b, s + i, j - i);
        i = j;
    }
    return sesutil_buf_steal(&b);
}
