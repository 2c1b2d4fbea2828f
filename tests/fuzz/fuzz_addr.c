/*
 * fuzz_addr.c - libFuzzer target for the address parser
 *
 * Purpose: feed arbitrary bytes to addr_parse_field (as a header body) and,
 * NUL-terminated, to addr_parse_path, and check the invariants a caller
 * relies on; any violation aborts so libFuzzer records the input:
 *   - ADDR_OK has mailboxes, ADDR_EMPTY none, ADDR_SYNTAX no list and a reason;
 *   - every mailbox has local, domain and address, all well-formed UTF-8,
 *     and the display and group names are well-formed UTF-8 too;
 *   - an address we print parses back to the same local part and domain
 *     (so the re-quoting never changes which domain a mailbox is at).
 * Built only with ./configure --enable-fuzzing CC=clang (mk/fuzz.am).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/addr.h"
#include "lib/rfc2047.h"
#include "lib/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* fuzz_check - abort unless cond holds */
static void
fuzz_check(int cond)
{
    if (!cond)
        abort();
}

/* fuzz_utf8 - s is NULL or well-formed UTF-8 */
static int
fuzz_utf8(const char *s)
{
    return s == NULL || rfc2047_utf8_valid(s, strlen(s));
}

/* fuzz_roundtrip - the printed address parses back to the same local part and domain */
static void
fuzz_roundtrip(const addr_mailbox *m)
{
    addr_list *l = NULL;
    char err[128];

    fuzz_check(addr_parse_field(m->address, strlen(m->address), &l, err, sizeof(err)) == ADDR_OK);
    fuzz_check(l->n == 1);
    fuzz_check(strcmp(l->v[0].local, m->local) == 0);
    fuzz_check(strcmp(l->v[0].domain, m->domain) == 0);
    fuzz_check(l->v[0].domain_literal == m->domain_literal);
    addr_list_free(l);
}

/* fuzz_field - addr_parse_field invariants */
static void
fuzz_field(const char *in, size_t size)
{
    addr_list *l = (addr_list *)1;
    char err[256] = "";
    addr_status st = addr_parse_field(in, size, &l, err, sizeof(err));
    size_t i;

    if (st == ADDR_SYNTAX) {
        fuzz_check(l == NULL && err[0] != '\0');
        return;
    }
    fuzz_check(l != NULL && (st == ADDR_OK) == (l->n > 0) && st != ADDR_SYNTAX);
    for (i = 0; i < l->n; i++) {
        const addr_mailbox *m = &l->v[i];
        fuzz_check(m->local != NULL && m->local[0] != '\0' && m->domain != NULL &&
                   m->domain[0] != '\0' && m->address != NULL);
        fuzz_check(fuzz_utf8(m->local) && fuzz_utf8(m->domain) && fuzz_utf8(m->address) &&
                   fuzz_utf8(m->display) && fuzz_utf8(m->group));
        fuzz_roundtrip(m);
    }
    addr_list_free(l);
}

/* fuzz_path - addr_parse_path invariants, and the angle form of its result parses back */
static void
fuzz_path(const char *arg)
{
    addr_mailbox m, again;
    char err[256] = "", *angle;
    int is_null = -1, null2 = -1;
    addr_status st = addr_parse_path(arg, &m, &is_null, err, sizeof(err));

    if (st != ADDR_OK) {
        fuzz_check(st == ADDR_SYNTAX && m.address == NULL && is_null == 0 && err[0] != '\0');
        return;
    }
    fuzz_check(m.address != NULL && fuzz_utf8(m.address));
    if (is_null) {
        fuzz_check(m.address[0] == '\0' && m.local == NULL && m.domain == NULL);
    } else if (m.domain != NULL) {
        angle = xasprintf("<%s>", m.address);
        fuzz_check(addr_parse_path(angle, &again, &null2, err, sizeof(err)) == ADDR_OK);
        fuzz_check(null2 == 0 && strcmp(again.local, m.local) == 0 &&
                   strcmp(again.domain, m.domain) == 0);
        addr_mailbox_clear(&again);
        free(angle);
    }
    addr_mailbox_clear(&m);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = xmalloc(size + 1);

    memcpy(s, data, size);
    s[size] = '\0';
    fuzz_field(s, size);
    fuzz_path(s);
    free(s);
    return 0;
}
