/*
 * utf8.h - one UTF-8 decoder for text shown to people (logs, SMTP replies, headers)
 *
 * utf8_decode() accepts only well-formed sequences (Unicode table 3-7); utf8_hidden()
 * names the valid code points that would hide or reorder what a line shows.  Both the
 * log sanitiser and the identity gate's reply texts escape what these refuse.
 */
#ifndef SM_UTF8_H
#define SM_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* utf8_decode - length (2..4) of the well-formed multi-byte sequence at p, its code
 * point in *cp; 0 for ASCII, an overlong form, a surrogate, a code point above
 * U+10FFFF, a stray continuation byte or a sequence cut short (also by the NUL) */
size_t utf8_decode(const unsigned char *p, uint32_t *cp);
/* utf8_hidden - whether cp is a C1 control, a bidi mark, embedding, override or
 * isolate, or the line/paragraph separator: to be shown escaped */
int utf8_hidden(uint32_t cp);

#endif
