/*
 * test_unsub_token.c - HMAC-signed unsubscribe tokens and their key files
 *
 * Proves: a token round-trips recipient, list id and issue time; any
 * changed character, another key, a foreign version or a bad encoding is
 * refused, and malformed / tampered / expired are told apart; base64url is
 * strict; key files that are short, missing or readable by others are
 * refused.
 */
#include "config.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "unsub/unsub_token.h"

int main(void);

#define NOW 1800000000LL

static const unsigned char key1[32] = "0123456789abcdef0123456789abcdef";
static const unsigned char key2[32] = "0123456789abcdef0123456789abcdeF";

/* verify with key1 at NOW; returns the status and frees info */
static unsub_token_status
check(const char *tok, long max_age, char *err, size_t errlen)
{
    unsub_token_info info;
    unsub_token_status st =
        unsub_token_verify(key1, sizeof(key1), tok, NOW, max_age, &info, err, errlen);
    unsub_token_info_clear(&info);
    return st;
}

static void
test_unsub_token_round_trip_carries_fields(void **state)
{
    static const struct {
        const char *rcpt, *list;
    } cases[] = {
        {"alice@example.org", "news.example.com"},
        {"Bob.Smith+tag@Example.ORG", "a"},
        {"\"quoted local\"@example.org", "list id with spaces & symbols <>"},
        {"x@y.example", ""},
        {"", "list-only"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char err[256];
        unsub_token_info info;
        char *tok = unsub_token_create(key1, sizeof(key1), cases[i].rcpt, cases[i].list, NOW - 5,
                                       err, sizeof(err));
        assert_non_null(tok);
        assert_true(unsub_token_looks_like(tok, strlen(tok)));
        assert_null(strpbrk(tok, "+/=%<>\r\n "));
        assert_int_equal(
            unsub_token_verify(key1, sizeof(key1), tok, NOW, 0, &info, err, sizeof(err)),
            UNSUB_TOKEN_OK);
        assert_string_equal(info.recipient, cases[i].rcpt);
        assert_string_equal(info.list_id, cases[i].list);
        assert_int_equal(info.issued, NOW - 5);
        unsub_token_info_clear(&info);
        assert_null(info.recipient);
        free(tok);
    }
}

static void
test_unsub_token_every_changed_char_is_refused(void **state)
{
    char err[256], *tok = unsub_token_create(key1, sizeof(key1), "alice@example.org", "news", NOW,
                                             err, sizeof(err));
    size_t n = strlen(tok), dot = (size_t)(strchr(tok, '.') - tok);
    int tampered = 0;

    (void)state;
    for (size_t i = 0; i < n; i++) {
        char saved = tok[i];
        unsub_token_status st;
        if (i == dot)
            continue;
        tok[i] = saved == 'B' ? 'C' : 'B';
        st = check(tok, 0, err, sizeof(err));
        if (st == UNSUB_TOKEN_OK)
            fail_msg("changing char %zu ('%c') still verifies", i, saved);
        tampered += st == UNSUB_TOKEN_TAMPERED;
        tok[i] = saved;
    }
    /* nearly all single-char changes decode fine and fail the MAC */
    if (tampered < (int)n - 5)
        fail_msg("only %d of %zu changes were reported as tampered", tampered, n - 1);
    assert_int_equal(check(tok, 0, err, sizeof(err)), UNSUB_TOKEN_OK);
    free(tok);
}

static void
test_unsub_token_other_key_is_tampered(void **state)
{
    char err[256], *tok = unsub_token_create(key2, sizeof(key2), "alice@example.org", "news", NOW,
                                             err, sizeof(err));
    (void)state;
    assert_int_equal(check(tok, 0, err, sizeof(err)), UNSUB_TOKEN_TAMPERED);
    assert_non_null(strstr(err, "MAC does not match"));
    free(tok);
}

static void
test_unsub_token_expiry_boundaries(void **state)
{
    static const struct {
        long long issued;
        long max_age;
        unsub_token_status want;
    } cases[] = {
        {NOW - 1000, 999, UNSUB_TOKEN_EXPIRED},
        {NOW - 1000, 1000, UNSUB_TOKEN_OK},
        {NOW - 1000, 0, UNSUB_TOKEN_OK},
        {NOW - 15552001, 15552000, UNSUB_TOKEN_EXPIRED},
        {NOW + 60, 100, UNSUB_TOKEN_OK},
        {NOW + 2 * 86400, 0, UNSUB_TOKEN_MALFORMED},
        {NOW + 2 * 86400, 100, UNSUB_TOKEN_MALFORMED},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char err[256], *tok = unsub_token_create(key1, sizeof(key1), "a@b.example", "l",
                                                 cases[i].issued, err, sizeof(err));
        unsub_token_status st = check(tok, cases[i].max_age, err, sizeof(err));
        if (st != cases[i].want)
            fail_msg("case %zu: got %s (%s), want %s", i, unsub_token_status_name(st), err,
                     unsub_token_status_name(cases[i].want));
        free(tok);
    }
}

static void
test_unsub_token_expired_still_names_recipient(void **state)
{
    char err[256], *tok = unsub_token_create(key1, sizeof(key1), "old@example.org", "news",
                                             NOW - 100, err, sizeof(err));
    unsub_token_info info;

    (void)state;
    assert_int_equal(unsub_token_verify(key1, sizeof(key1), tok, NOW, 10, &info, err, sizeof(err)),
                     UNSUB_TOKEN_EXPIRED);
    assert_string_equal(info.recipient, "old@example.org");
    assert_non_null(strstr(err, "issued 100 seconds ago"));
    unsub_token_info_clear(&info);
    free(tok);
}

static const char *const malformed[] = {
    "",
    "abc",
    "no-dot-at-all-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    "AQAAAABrSdIAAAthQGIuZXhhbXBsZQABbA.short",
    "AQAAAABrSdIAAAthQGIuZXhhbXBsZQABbA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+",
    "AQAAAABrSdIAAAthQGIuZXhhbXBsZQABbA==.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    "AQAAAABrSdIAAAthQGIuZXhhbXBsZQABbA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB",
    "AQAAAABrSdIAAAthQGIuZXhhbXBsZQABbA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.x",
    "AQAAAABrSdIAAAthQGIuZXhhbXBsZQABbA..AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    "AQAAAABrSdIAAAthQGIuZXhhbXBsZQAB\nA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
};

static void
test_unsub_token_malformed_inputs(void **state)
{
    char err[256];

    (void)state;
    for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
        unsub_token_status st = check(malformed[i], 0, err, sizeof(err));
        if (st != UNSUB_TOKEN_MALFORMED)
            fail_msg("case %zu: got %s, want malformed", i, unsub_token_status_name(st));
    }
    assert_int_equal(check(NULL, 0, err, sizeof(err)), UNSUB_TOKEN_MALFORMED);
}

static void
test_unsub_token_random_input_never_verifies(void **state)
{
    static const char alpha[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/";
    unsigned seed = 12345;
    char tok[128], err[256];

    (void)state;
    for (int i = 0; i < 20000; i++) {
        size_t n = (size_t)(rand_r(&seed) % (sizeof(tok) - 1));
        for (size_t k = 0; k < n; k++)
            tok[k] = alpha[rand_r(&seed) % (sizeof(alpha) - 1)];
        tok[n] = '\0';
        if (n > 50 && i % 2) /* often give it the right shape */
            tok[n - 44] = '.';
        assert_int_not_equal(check(tok, 0, err, sizeof(err)), UNSUB_TOKEN_OK);
    }
}

/* sign an arbitrary payload with key1 the way the token format does */
static char *
forge(const unsigned char *pl, size_t plen)
{
    unsigned char mac[32];
    unsigned int maclen = 0;
    char *a, *b, *tok;

    HMAC(EVP_sha256(), key1, sizeof(key1), pl, plen, mac, &maclen);
    a = unsub_token_b64url_enc(pl, plen);
    b = unsub_token_b64url_enc(mac, maclen);
    tok = malloc(strlen(a) + strlen(b) + 2);
    sprintf(tok, "%s.%s", a, b);
    free(a);
    free(b);
    return tok;
}

static void
test_unsub_token_authentic_but_bad_payload_is_malformed(void **state)
{
    /* version | time (8) | len 2 | rcpt | len 2 | list */
    static const struct {
        unsigned char pl[40];
        size_t len;
        const char *why;
    } cases[] = {
        {{2, 0, 0, 0, 0, 0x6b, 0x49, 0xd2, 0, 0, 1, 'a', 0, 1, 'l'}, 15, "version"},
        {{1, 0, 0, 0, 0, 0x6b, 0x49, 0xd2, 0, 0, 9, 'a', 0, 1, 'l'}, 15, "fields"},
        {{1, 0, 0, 0, 0, 0x6b, 0x49, 0xd2, 0, 0, 1, 'a', 0, 1, 'l', 'x'}, 16, "fields"},
        {{1, 0, 0, 0, 0, 0x6b, 0x49, 0xd2, 0, 0, 3, 'a', 0, 'b', 0, 1, 'l'}, 17, "fields"},
        {{1, 0, 0, 0, 0, 0x6b, 0x49, 0xd2, 0, 0, 3, 'a', '\r', 'b', 0, 1, 'l'}, 17, "fields"},
        {{1, 0, 0, 0, 0, 0x6b, 0x49, 0xd2, 0, 0, 1, 'a', 0}, 13, "fields"},
        {{1, 0, 0, 0, 0, 0x6b, 0x49, 0xd2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 12, "PAYLOAD.MAC"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char err[256] = "", *tok = forge(cases[i].pl, cases[i].len);
        unsub_token_status st = check(tok, 0, err, sizeof(err));
        if (st != UNSUB_TOKEN_MALFORMED || strstr(err, cases[i].why) == NULL)
            fail_msg("case %zu: got %s (%s), want malformed (%s)", i, unsub_token_status_name(st),
                     err, cases[i].why);
        free(tok);
    }
}

static void
test_unsub_token_create_refuses_unsafe_fields(void **state)
{
    char err[256], big[600];

    (void)state;
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_null(
        unsub_token_create(key1, sizeof(key1), "a@b\r\nBcc: x", "l", NOW, err, sizeof(err)));
    assert_null(unsub_token_create(key1, sizeof(key1), "a@b", "l\n", NOW, err, sizeof(err)));
    assert_null(unsub_token_create(key1, sizeof(key1), big, "l", NOW, err, sizeof(err)));
    assert_null(unsub_token_create(key1, 16, "a@b", "l", NOW, err, sizeof(err)));
    assert_null(unsub_token_create(NULL, 0, "a@b", "l", NOW, err, sizeof(err)));
}

static void
test_unsub_token_b64url_is_strict(void **state)
{
    static const struct {
        const char *in;
        int ok;
    } cases[] = {
        {"", 1},    {"AA", 1},   {"AAA", 1},  {"AAAA", 1}, {"A", 0},    {"AB", 0},
        {"AAB", 0}, {"AA==", 0}, {"A+A/", 0}, {"-_-_", 1}, {"AA A", 0},
    };
    unsigned char buf[256];
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n = 0;
        unsigned char *out = unsub_token_b64url_dec(cases[i].in, strlen(cases[i].in), &n);
        if ((out != NULL) != cases[i].ok)
            fail_msg("case %zu \"%s\": decode %s", i, cases[i].in, out ? "accepted" : "refused");
        free(out);
    }
    for (size_t len = 0; len < sizeof(buf); len++) {
        size_t n = 0;
        char *enc;
        unsigned char *dec;
        for (size_t i = 0; i < len; i++)
            buf[i] = (unsigned char)(i * 37 + len);
        enc = unsub_token_b64url_enc(buf, len);
        assert_int_equal(strlen(enc), (len * 4 + 2) / 3);
        dec = unsub_token_b64url_dec(enc, strlen(enc), &n);
        assert_non_null(dec);
        assert_int_equal(n, len);
        assert_memory_equal(dec, buf, len);
        free(enc);
        free(dec);
    }
}

/* write a key file with mode and size; returns its path (static buffer) */
static const char *
keyfile(mode_t mode, size_t size)
{
    static char path[64];
    unsigned char data[64];
    int fd;

    snprintf(path, sizeof(path), "/tmp/test_unsub_token.XXXXXX");
    fd = mkstemp(path);
    assert_true(fd >= 0);
    memset(data, 'k', sizeof(data));
    assert_int_equal(write(fd, data, size), (ssize_t)size);
    assert_int_equal(fchmod(fd, mode), 0);
    close(fd);
    return path;
}

static void
test_unsub_token_key_file_checks(void **state)
{
    static const struct {
        mode_t mode;
        size_t size;
        const char *err; /* NULL: loads */
    } cases[] = {
        {0600, 32, NULL},
        {0400, 64, NULL},
        {0600, 31, "holds 31 bytes"},
        {0600, 0, "holds 0 bytes"},
        {0640, 32, "group or others"},
        {0604, 32, "group or others"},
        {0620, 32, "group or others"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        unsigned char *key = NULL;
        size_t len = 0;
        char err[512] = "";
        const char *p = keyfile(cases[i].mode, cases[i].size);
        int rc = unsub_token_key_load(p, &key, &len, err, sizeof(err));
        unlink(p);
        if (cases[i].err == NULL) {
            if (rc != 0)
                fail_msg("case %zu: %s", i, err);
            assert_int_equal(len, cases[i].size);
        } else if (rc == 0 || strstr(err, cases[i].err) == NULL) {
            fail_msg("case %zu: rc %d err '%s', want '%s'", i, rc, err, cases[i].err);
        }
        free(key);
    }
}

static void
test_unsub_token_key_file_missing_or_symlink(void **state)
{
    unsigned char *key = NULL;
    size_t len = 0;
    char err[512], link[80];
    const char *p;

    (void)state;
    assert_int_equal(unsub_token_key_load("/nonexistent/key", &key, &len, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "cannot open"));
    p = keyfile(0600, 32);
    snprintf(link, sizeof(link), "%s.lnk", p);
    assert_int_equal(symlink(p, link), 0);
    assert_int_equal(unsub_token_key_load(link, &key, &len, err, sizeof(err)), -1);
    unlink(link);
    unlink(p);
    assert_null(key);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unsub_token_round_trip_carries_fields),
        cmocka_unit_test(test_unsub_token_every_changed_char_is_refused),
        cmocka_unit_test(test_unsub_token_other_key_is_tampered),
        cmocka_unit_test(test_unsub_token_expiry_boundaries),
        cmocka_unit_test(test_unsub_token_expired_still_names_recipient),
        cmocka_unit_test(test_unsub_token_malformed_inputs),
        cmocka_unit_test(test_unsub_token_random_input_never_verifies),
        cmocka_unit_test(test_unsub_token_authentic_but_bad_payload_is_malformed),
        cmocka_unit_test(test_unsub_token_create_refuses_unsafe_fields),
        cmocka_unit_test(test_unsub_token_b64url_is_strict),
        cmocka_unit_test(test_unsub_token_key_file_checks),
        cmocka_unit_test(test_unsub_token_key_file_missing_or_symlink),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
