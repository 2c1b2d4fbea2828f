/*
 * test_msg.c - per-message state: the header bounds
 *
 * Past MSG_MAX_HEADERS fields or MSG_MAX_HEADER_BYTES, other fields are dropped
 * and the overflow is remembered; every From and Sender is counted and kept, and so
 * is a field the caller needs, so that padding cannot hide what the gate checks.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "engine/msg.h"

static void
test_msg_header_bounds_keep_from_sender_and_needed_fields(void **state)
{
    static const struct {
        const char *what;
        size_t pad_fields, pad_size;
        int overflow;
        size_t n_other; /* a small field after the padding: kept while it still fits */
    } pads[] = {
        {"within the bounds", 10, 10, 0, 1},
        {"over the field count", MSG_MAX_HEADERS, 1, 1, 0},
        {"over the byte count (a small field still fits)", 40, 8000, 1, 1},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(pads) / sizeof(pads[0]); i++) {
        sm_msg *m = msg_new();
        char *pad = calloc(1, pads[i].pad_size + 1);

        memset(pad, 'p', pads[i].pad_size);
        assert_int_equal(msg_add_header(m, "From", "a@example.com", 0), 0);
        for (size_t k = 0; k < pads[i].pad_fields; k++)
            msg_add_header(m, "X-Pad", pad, 0);
        msg_add_header(m, "From", "b@junk.example", 0);
        msg_add_header(m, "sender", "c@junk.example", 0);
        msg_add_header(m, "List-Unsubscribe", "<mailto:u@example.com>", 1);
        msg_add_header(m, "X-Other", "dropped when over", 0);
        if (m->hdr_overflow != pads[i].overflow)
            fail_msg("%s: hdr_overflow %d", pads[i].what, m->hdr_overflow);
        assert_int_equal(m->n_from_seen, 2);
        assert_int_equal(m->n_sender_seen, 1);
        assert_int_equal(msg_header_count(m, "From"), 2);
        assert_string_equal(msg_header_get(m, "From", 1), "b@junk.example");
        assert_string_equal(msg_header_get(m, "Sender", 0), "c@junk.example");
        assert_non_null(msg_header_get(m, "List-Unsubscribe", 0));
        assert_int_equal(msg_header_count(m, "X-Other"), pads[i].n_other);
        /* the next message starts clean */
        msg_reset(m);
        assert_int_equal(m->hdr_overflow + (int)m->n_from_seen + (int)m->n_kept_over, 0);
        free(pad);
        msg_free(m);
    }
}

/* the fields kept past the bounds are bounded too: still counted when dropped */
static void
test_msg_header_bounds_are_bounded_past_the_limit(void **state)
{
    sm_msg *m = msg_new();
    (void)state;
    for (size_t k = 0; k < MSG_MAX_HEADERS; k++)
        msg_add_header(m, "X-Pad", "p", 0);
    for (size_t k = 0; k < MSG_MAX_KEPT_OVER + 10; k++)
        msg_add_header(m, "From", "a@example.com", 0);
    assert_int_equal(m->n_from_seen, MSG_MAX_KEPT_OVER + 10);
    assert_int_equal(msg_header_count(m, "From"), MSG_MAX_KEPT_OVER);
    assert_int_equal(m->nhdrs, MSG_MAX_HEADERS + MSG_MAX_KEPT_OVER);
    msg_free(m);
}

static void
test_msg_mail_args_smtputf8(void **state)
{
    static char *with[] = {"BODY=8BITMIME", "smtputf8", NULL};
    static char *without[] = {"BODY=8BITMIME", "SMTPUTF8X", NULL};
    sm_msg *m = msg_new();
    (void)state;
    msg_set_mail_args(m, with);
    assert_int_equal(m->smtputf8, 1);
    msg_set_mail_args(m, without);
    assert_int_equal(m->smtputf8, 0);
    msg_set_mail_args(m, with);
    msg_reset(m);
    assert_int_equal(m->smtputf8, 0);
    msg_set_mail_args(m, NULL);
    assert_int_equal(m->smtputf8, 0);
    msg_free(m);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_msg_header_bounds_keep_from_sender_and_needed_fields),
        cmocka_unit_test(test_msg_header_bounds_are_bounded_past_the_limit),
        cmocka_unit_test(test_msg_mail_args_smtputf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
