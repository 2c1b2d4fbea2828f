/*
 * token_tool.c - ses-milter-token: create, verify and check unsubscribe tokens
 *
 * Synopsis:
 *     ses-milter-token genkey FILE
 *     ses-milter-token create -k KEYFILE -r RECIPIENT -l LISTID [-t TIME]
 *     ses-milter-token verify -k KEYFILE [--max-age SECONDS] TOKEN
 *     ses-milter-token check-post -k KEYFILE [--max-age SECONDS] URL BODY
 *
 * Purpose: let whoever runs the unsubscribe endpoint mint and check the
 * tokens ses-milter puts into List-Unsubscribe URLs (see unsub_token.h),
 * and check an RFC 8058 one-click POST (https URL, body
 * "List-Unsubscribe=One-Click", token in the URL's query or path).
 *
 * Diagnostics: on success verify and check-post print "recipient:",
 * "list_id:" and "issued:" lines and exit 0; a refused token prints
 * "tampered: ...", "expired: ..." or "malformed: ..." and exits 1; usage
 * and key file errors exit 2.  --max-age defaults to 15552000 (180 days,
 * the default unsubscribe.token_ttl); 0 disables the expiry check.
 *
 * Security: genkey creates the file with O_EXCL and mode 0600; keys are
 * only read from files that group and others cannot access.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "unsub/unsub_post.h"
#include "unsub/unsub_token.h"
#include "lib/util.h"

#define TOKEN_TOOL_DEFAULT_AGE 15552000L

int main(int argc, char **argv);

typedef struct token_tool_opts {
    const char *keyfile, *recipient, *list_id;
    long long t;
    int have_t;
    long max_age;
    int first_arg; /* index of the first operand in argv */
} token_tool_opts;

/* token_tool_usage - print usage and return 2 */
static int
token_tool_usage(void)
{
    fputs("usage: ses-milter-token genkey FILE\n"
          "       ses-milter-token create -k KEYFILE -r RECIPIENT -l LISTID [-t TIME]\n"
          "       ses-milter-token verify -k KEYFILE [--max-age SECONDS] TOKEN\n"
          "       ses-milter-token check-post -k KEYFILE [--max-age SECONDS] URL BODY\n",
          stderr);
    return 2;
}

/* token_tool_num - parse a non-negative integer option */
static int
token_tool_num(const char *s, long long *v)
{
    char *end;

    errno = 0;
    *v = strtoll(s, &end, 10);
    return errno == 0 && end != s && *end == '\0' && *v >= 0 ? 0 : -1;
}

/* token_tool_getopts - options shared by the subcommands; -1 on a usage error */
static int
token_tool_getopts(int argc, char **argv, token_tool_opts *o)
{
    static const struct option longopts[] = {
        {"key", required_argument, NULL, 'k'},     {"recipient", required_argument, NULL, 'r'},
        {"list-id", required_argument, NULL, 'l'}, {"time", required_argument, NULL, 't'},
        {"max-age", required_argument, NULL, 'm'}, {NULL, 0, NULL, 0},
    };
    long long v;
    int ch;

    memset(o, 0, sizeof(*o));
    o->max_age = TOKEN_TOOL_DEFAULT_AGE;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "k:r:l:t:", longopts, NULL)) != -1) {
        switch (ch) {
        case 'k':
            o->keyfile = optarg;
            break;
        case 'r':
            o->recipient = optarg;
            break;
        case 'l':
            o->list_id = optarg;
            break;
        case 't':
        case 'm':
            if (token_tool_num(optarg, &v) < 0) {
                fprintf(stderr, "ses-milter-token: bad number '%s'\n", optarg);
                return -1;
            }
            if (ch == 't') {
                o->t = v;
                o->have_t = 1;
            } else {
                o->max_age = (long)v;
            }
            break;
        default:
            return -1;
        }
    }
    o->first_arg = optind;
    return 0;
}

/* token_tool_key - load the key named by -k; exits the process on failure */
static unsigned char *
token_tool_key(const token_tool_opts *o, size_t *len)
{
    unsigned char *key;
    char err[512];

    if (o->keyfile == NULL) {
        fprintf(stderr, "ses-milter-token: -k KEYFILE is required\n");
        exit(2);
    }
    if (unsub_token_key_load(o->keyfile, &key, len, err, sizeof(err)) < 0) {
        fprintf(stderr, "ses-milter-token: %s\n", err);
        exit(2);
    }
    return key;
}

/* token_tool_genkey - write 32 random bytes to a new file with mode 0600 */
static int
token_tool_genkey(const char *path)
{
    unsigned char key[32];
    int fd;

    if (RAND_bytes(key, sizeof(key)) != 1) {
        fprintf(stderr, "ses-milter-token: no random bytes available\n");
        return 2;
    }
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        fprintf(stderr, "ses-milter-token: cannot create %s: %s\n", path, strerror(errno));
        return 2;
    }
    if (fchmod(fd, 0600) < 0 || write(fd, key, sizeof(key)) != (ssize_t)sizeof(key) ||
        fsync(fd) < 0 || close(fd) < 0) {
        fprintf(stderr, "ses-milter-token: cannot write %s: %s\n", path, strerror(errno));
        OPENSSL_cleanse(key, sizeof(key));
        unlink(path);
        return 2;
    }
    OPENSSL_cleanse(key, sizeof(key));
    return 0;
}

/* token_tool_create - print a new token */
static int
token_tool_create(const token_tool_opts *o)
{
    unsigned char *key;
    size_t len;
    char err[256], *tok;

    if (o->recipient == NULL || o->list_id == NULL)
        return token_tool_usage();
    key = token_tool_key(o, &len);
    tok = unsub_token_create(key, len, o->recipient, o->list_id,
                             o->have_t ? (int64_t)o->t : (int64_t)time(NULL), err, sizeof(err));
    OPENSSL_cleanse(key, len);
    free(key);
    if (tok == NULL) {
        fprintf(stderr, "ses-milter-token: %s\n", err);
        return 2;
    }
    puts(tok);
    free(tok);
    return 0;
}

/* token_tool_check - verify one token and print the outcome; 0 or 1 */
static int
token_tool_check(const token_tool_opts *o, const char *token)
{
    unsub_token_info info;
    unsub_token_status st;
    unsigned char *key;
    size_t len;
    char err[256], when[64];
    time_t t;
    struct tm tm;

    key = token_tool_key(o, &len);
    st = unsub_token_verify(key, len, token, (int64_t)time(NULL), o->max_age, &info, err,
                            sizeof(err));
    OPENSSL_cleanse(key, len);
    free(key);
    if (st != UNSUB_TOKEN_OK) {
        printf("%s: %s\n", unsub_token_status_name(st), err);
        unsub_token_info_clear(&info);
        return 1;
    }
    t = (time_t)info.issued;
    if (gmtime_r(&t, &tm) == NULL || strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        util_strlcpy(when, "?", sizeof(when));
    printf("recipient: %s\nlist_id: %s\nissued: %lld (%s)\n", info.recipient, info.list_id,
           (long long)info.issued, when);
    unsub_token_info_clear(&info);
    return 0;
}

/* token_tool_post - check an RFC 8058 one-click POST */
static int
token_tool_post(const token_tool_opts *o, const char *url, const char *body)
{
    char *tok;
    int rc;

    if (strncasecmp(url, "https://", 8) != 0) {
        printf("malformed: URL is not https (RFC 8058 requires an https URI)\n");
        return 1;
    }
    if (!unsub_post_form_ok(body, strlen(body))) {
        printf("malformed: POST body lacks List-Unsubscribe=One-Click (RFC 8058 section 3.2)\n");
        return 1;
    }
    if ((tok = unsub_post_find_token(strchr(url + 8, '/'))) == NULL) {
        printf("malformed: no token in the URL's query or path\n");
        return 1;
    }
    rc = token_tool_check(o, tok);
    if (rc == 0)
        printf("one-click: ok\n");
    free(tok);
    return rc;
}

int
main(int argc, char **argv)
{
    token_tool_opts o;
    const char *cmd;
    int nargs;

    if (argc < 2)
        return token_tool_usage();
    cmd = argv[1];
    if (strcmp(cmd, "genkey") == 0)
        return argc == 3 ? token_tool_genkey(argv[2]) : token_tool_usage();
    if (token_tool_getopts(argc - 1, argv + 1, &o) < 0)
        return token_tool_usage();
    nargs = argc - 1 - o.first_arg;
    if (strcmp(cmd, "create") == 0 && nargs == 0)
        return token_tool_create(&o);
    if (strcmp(cmd, "verify") == 0 && nargs == 1)
        return token_tool_check(&o, argv[1 + o.first_arg]);
    if (strcmp(cmd, "check-post") == 0 && nargs == 2)
        return token_tool_post(&o, argv[1 + o.first_arg], argv[2 + o.first_arg]);
    return token_tool_usage();
}
