/*
 * test_doctor.c - the doctor's pure parts: misplaced-record names, value
 * comparisons, and answers the test bed's nsd cannot serve
 *
 * nsd refuses a zone with a CNAME beside other data, so the detection of
 * "a CNAME at a name that also has other records" is proved here on
 * hand-built DNS messages, with the alias, TXT-strings and MX cases beside it.
 */
#include "config.h"

#include <arpa/nameser.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "doctor/doctor.h"

/* a message under construction */
typedef struct wire {
    unsigned char b[1024];
    size_t n;
} wire;

static void
wire_name(wire *w, const char *name)
{
    while (*name) {
        size_t l = strcspn(name, ".");
        w->b[w->n++] = (unsigned char)l;
        memcpy(w->b + w->n, name, l);
        w->n += l;
        name += l + (name[l] == '.');
    }
    w->b[w->n++] = 0;
}

static void
wire_u16(wire *w, unsigned v)
{
    w->b[w->n++] = (unsigned char)(v >> 8);
    w->b[w->n++] = (unsigned char)v;
}

/* wire_start - a response header (rcode) and the question */
static void
wire_start(wire *w, const char *qname, int type, unsigned ancount, int rcode)
{
    memset(w, 0, sizeof(*w));
    wire_u16(w, 0x1234);
    wire_u16(w, 0x8180 | (unsigned)rcode); /* QR RD RA */
    wire_u16(w, 1);
    wire_u16(w, ancount);
    wire_u16(w, 0);
    wire_u16(w, 0);
    wire_name(w, qname);
    wire_u16(w, (unsigned)type);
    wire_u16(w, ns_c_in);
}

/* wire_rr - one answer record; rdata is a name (CNAME, MX with pref) or TXT strings */
static void
wire_rr(wire *w, const char *owner, int type, const char *data)
{
    size_t at;

    wire_name(w, owner);
    wire_u16(w, (unsigned)type);
    wire_u16(w, ns_c_in);
    wire_u16(w, 0);
    wire_u16(w, 300);
    at = w->n;
    w->n += 2;
    if (type == ns_t_txt) {
        for (const char *s = data; *s;) { /* strings separated by '|' */
            size_t l = strcspn(s, "|");
            w->b[w->n++] = (unsigned char)l;
            memcpy(w->b + w->n, s, l);
            w->n += l;
            s += l + (s[l] == '|');
        }
    } else {
        if (type == ns_t_mx)
            wire_u16(w, 10);
        wire_name(w, data);
    }
    w->b[at] = (unsigned char)((w->n - at - 2) >> 8);
    w->b[at + 1] = (unsigned char)(w->n - at - 2);
}

static void
test_doctor_dns_cname_beside_other_records(void **state)
{
    wire w;
    doctor_answer a;

    (void)state;
    wire_start(&w, "bounce.example.com", ns_t_mx, 2, 0);
    wire_rr(&w, "bounce.example.com", ns_t_cname, "elsewhere.example.net");
    wire_rr(&w, "bounce.example.com", ns_t_txt, "v=spf1 include:amazonses.com ~all");
    memset(&a, 0, sizeof(a));
    assert_int_equal(doctor_dns_parse(w.b, w.n, "bounce.example.com", ns_t_mx, &a), DNS_NODATA);
    assert_string_equal(a.cname, "elsewhere.example.net");
    assert_int_equal(a.beside_cname, 1);
    doctor_answer_clear(&a);
}

static void
test_doctor_dns_alias_followed(void **state)
{
    wire w;
    doctor_answer a;

    (void)state;
    wire_start(&w, "bounce.example.com", ns_t_mx, 2, 0);
    wire_rr(&w, "bounce.example.com", ns_t_cname, "mx.example.net");
    wire_rr(&w, "mx.example.net", ns_t_mx, "feedback-smtp.us-east-1.amazonses.com");
    memset(&a, 0, sizeof(a));
    assert_int_equal(doctor_dns_parse(w.b, w.n, "bounce.example.com", ns_t_mx, &a), DNS_OK);
    assert_string_equal(a.cname, "mx.example.net");
    assert_int_equal(a.beside_cname, 0);
    assert_int_equal(a.n, 1);
    assert_string_equal(a.rr[0].target, "feedback-smtp.us-east-1.amazonses.com");
    assert_int_equal(a.rr[0].pref, 10);
    doctor_answer_clear(&a);
}

static void
test_doctor_dns_txt_strings_kept(void **state)
{
    wire w;
    doctor_answer a;

    (void)state;
    wire_start(&w, "example.com", ns_t_txt, 1, 0);
    wire_rr(&w, "example.com", ns_t_txt, "v=spf1 include:amazonses.com|-all");
    memset(&a, 0, sizeof(a));
    assert_int_equal(doctor_dns_parse(w.b, w.n, "example.com", ns_t_txt, &a), DNS_OK);
    assert_int_equal(a.rr[0].nstrings, 2);
    assert_string_equal(a.rr[0].txt, "v=spf1 include:amazonses.com-all");
    assert_string_equal(a.rr[0].spaced, "v=spf1 include:amazonses.com -all");
    doctor_answer_clear(&a);
}

static void
test_doctor_dns_nxdomain(void **state)
{
    wire w;
    doctor_answer a;

    (void)state;
    wire_start(&w, "x.example.com", ns_t_txt, 0, ns_r_nxdomain);
    memset(&a, 0, sizeof(a));
    assert_int_equal(doctor_dns_parse(w.b, w.n, "x.example.com", ns_t_txt, &a), DNS_NXDOMAIN);
    assert_int_equal(doctor_dns_parse(w.b, 5, "x.example.com", ns_t_txt, &a), DNS_TEMPFAIL);
    doctor_answer_clear(&a);
}

static void
test_doctor_dns_malformed_answer_keeps_no_records(void **state)
{
    /* found by fuzz_doctor_dns (a TXT answer): records parsed before a malformed one */
    static const unsigned char msg[] = {
        0xd4, 0xd2, 0xe1, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x05,
        0x00, 0x00, 0x04, 0x00, 0x01, 0x00, 0x00, 0x01, 0x2c, 0x00, 0x00, 0x0f, 0x00, 0x01, 0x2c,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x06, 0x62, 0x6f, 0x75, 0x6e, 0x63, 0x65, 0x07, 0x65, 0x78,
        0x61, 0x6d, 0x70, 0x6c, 0x65, 0x03, 0x63, 0x6f, 0x6d, 0x00, 0x00, 0x10, 0x00, 0x01, 0x2c,
        0x00, 0x00, 0x23, 0x00, 0x00, 0xd9, 0x00, 0x00, 0x01, 0x00, 0x01, 0x2c, 0x00, 0x00, 0x46,
        0x00, 0x00, 0x00, 0x00, 0x00, 0xfa, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00};
    doctor_answer a;
    dns_status st;

    (void)state;
    memset(&a, 0, sizeof(a));
    st = doctor_dns_parse(msg, sizeof(msg), "bounce.example.com", ns_t_txt, &a);
    print_message("status %d, %zu records\n", (int)st, a.n);
    assert_true(st == DNS_OK ? a.n > 0 : a.n == 0);
    doctor_answer_clear(&a);
}

static void
test_doctor_probe_value_table(void **state)
{
    static const struct {
        const char *got, *want, *domain;
        int how;
    } t[] = {
        {"tok.dkim.amazonses.com", "tok.dkim.amazonses.com", "example.com", DOCTOR_VALUE_SAME},
        {"tok.dkim.amazonses.com.", "tok.dkim.amazonses.com", "example.com", DOCTOR_VALUE_SAME},
        {"TOK.DKIM.amazonses.com", "tok.dkim.amazonses.com", "example.com", DOCTOR_VALUE_CASE},
        {"tok.dkim.amazonses.com.example.com", "tok.dkim.amazonses.com", "example.com",
         DOCTOR_VALUE_APPENDED},
        {"tok.dkim.example.net", "tok.dkim.amazonses.com", "example.com", DOCTOR_VALUE_OTHER},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        assert_int_equal(doctor_probe_value(t[i].got, t[i].want, t[i].domain), t[i].how);
}

static void
test_doctor_probe_variants_table(void **state)
{
    static const struct {
        const char *prefix, *domain, *asked;
        const char *names[6];
    } t[] = {
        {"tok._domainkey",
         "example.com",
         NULL,
         {"tok._domainkey.example.com.example.com", "tok.domainkey.example.com",
          "tok-domainkey.example.com", NULL}},
        {"_dmarc",
         "mail.example.com",
         NULL,
         {"_dmarc.mail.example.com.mail.example.com", "dmarc.mail.example.com",
          "-dmarc.mail.example.com", "_dmarc.example.com", NULL}},
        {"tok._domainkey",
         "example.com",
         "news.example.com",
         {"tok._domainkey.example.com.example.com", "tok.domainkey.example.com",
          "tok-domainkey.example.com", "tok._domainkey.news.example.com", NULL}},
    };
    doctor_variant v[8];

    (void)state;
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        size_t n = doctor_probe_variants(t[i].prefix, t[i].domain, t[i].asked, v, 8), k;
        for (k = 0; t[i].names[k] != NULL; k++) {
            assert_true(k < n);
            assert_string_equal(v[k].name, t[i].names[k]);
        }
        assert_int_equal(n, k);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_doctor_dns_cname_beside_other_records),
        cmocka_unit_test(test_doctor_dns_alias_followed),
        cmocka_unit_test(test_doctor_dns_txt_strings_kept),
        cmocka_unit_test(test_doctor_dns_nxdomain),
        cmocka_unit_test(test_doctor_dns_malformed_answer_keeps_no_records),
        cmocka_unit_test(test_doctor_probe_value_table),
        cmocka_unit_test(test_doctor_probe_variants_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
