/*
 * rfc2047.h - RFC 2047 encoded words and UTF-8 checks for header text
 *
 * Purpose: decode one "=?charset?B|Q?text?=" word into UTF-8 (RFC 2047,
 * with the RFC 2231 "charset*language" form), and check or repair UTF-8
 * (RFC 3629) text taken raw from a header (RFC 6532).
 *
 * Charsets: UTF-8, US-ASCII and ISO-8859-1 are handled here; every other
 * name goes through iconv(3).  A word that cannot be decoded (bad syntax,
 * unknown charset, bytes invalid in the charset, a decoded control
 * character) is reported as such, and the caller keeps the raw text, as
 * RFC 2047 section 6.3 suggests.
 *
 * Security: the decoded text never contains NUL or other C0/DEL control
 * characters (TAB becomes a space), and is always valid UTF-8.
 */
#ifndef SM_RFC2047_H
#define SM_RFC2047_H

#include <stddef.h>

/* rfc2047_is_word - whether s[0..len) is exactly one encoded word (syntax only) */
int rfc2047_is_word(const char *s, size_t len);
/* rfc2047_word_len - length of the encoded word starting at s (also allowing '.' in its
 * text), or 0 if s does not start with one; n is the number of bytes available */
size_t rfc2047_word_len(const char *s, size_t n);
/* rfc2047_decode_word - decode one encoded word; new UTF-8 string, or NULL if it cannot */
char *rfc2047_decode_word(const char *s, size_t len);
/* rfc2047_utf8_valid - whether s[0..len) is well-formed UTF-8 (no overlongs/surrogates) */
int rfc2047_utf8_valid(const char *s, size_t len);
/* rfc2047_utf8_repair - copy of s[0..len) with every ill-formed byte replaced by U+FFFD */
char *rfc2047_utf8_repair(const char *s, size_t len);

#endif
