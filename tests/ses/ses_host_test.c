/*
 * ses_host_test.c - the SES plugin, dlopened, against a botocore-checked endpoint
 *
 * A minimal host (conf_* over a libconfig group built from a string, a log
 * callback that records every line, a cache_put that counts) loads the
 * built plugin (plugins/ses/.libs/ses.so) and talks to tests/ses/
 * ses_endpoint.py on 127.0.0.1, which recomputes each request's SigV4
 * signature with botocore.  Shows: verdicts and attributes, 404 → UNKNOWN,
 * warm-up through cache_put with zero GetEmailIdentity calls, a burst of
 * 1,000 lookups staying within the rate limit and the deadlines, 429 /
 * 5xx / silent endpoint → TEMPFAIL in time, every credential source
 * including refresh of expiring temporary credentials, bad credentials,
 * TLS trust, configuration errors, and that no secret reaches a log line.
 * Every server started here is stopped by PID.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>
#include <libconfig.h>

#include <ses-milter/plugin.h>

#ifndef SRCDIR
#define SRCDIR "."
#endif
#ifndef BUILDDIR
#define BUILDDIR "."
#endif

#define MAX_LINES 20000
#define SECRET_MARK "s3cr3t"
#define STATIC_AK "AKIDSTATICTEST"
#define STATIC_SK "static/" SECRET_MARK "/Key+1"
#define TOKEN_AK "ASIASTATICTOKEN"
#define TOKEN_SK "sess-" SECRET_MARK "-key"
#define TOKEN_TOK "sess-token-" SECRET_MARK "-value/+="

/* ------------------------------------------------------------------ host */

typedef struct test_host {
    config_t cfg;
    sm_plugin_host h;
    int puts;
    char put_ids[64][256];
    int put_answers[64];
} test_host;

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char *log_lines[MAX_LINES];
static int nlines, mark_line;
static pthread_mutex_t put_lock = PTHREAD_MUTEX_INITIALIZER;

static const sm_plugin *plugin;
static struct inst *cur_inst; /* closed by the per-test teardown if a test failed midway */
static void *dl;
static char tmpdir[256], fixture[300];
static pid_t ep_pid;
static int ep_port;

static uint64_t
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void
host_log(void *ctx, int level, const char *qid, const char *fmt, ...)
{
    char buf[2048];
    va_list ap;

    (void)ctx;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&log_lock);
    if (nlines < MAX_LINES)
        log_lines[nlines++] = strdup(buf);
    pthread_mutex_unlock(&log_lock);
    if (getenv("SES_TEST_VERBOSE"))
        fprintf(stderr, "log<%d> %s: %s\n", level, qid ? qid : "-", buf);
}

/* logged_since_mark - a line containing needle was logged since the last mark */
static int
logged_since_mark(const char *needle)
{
    int i, found = 0;

    pthread_mutex_lock(&log_lock);
    for (i = mark_line; i < nlines && !found; i++)
        found = strstr(log_lines[i], needle) != NULL;
    pthread_mutex_unlock(&log_lock);
    return found;
}

static int
count_since_mark(const char *needle)
{
    int i, n = 0;

    pthread_mutex_lock(&log_lock);
    for (i = mark_line; i < nlines; i++)
        n += strstr(log_lines[i], needle) != NULL;
    pthread_mutex_unlock(&log_lock);
    return n;
}

static void
log_mark(void)
{
    pthread_mutex_lock(&log_lock);
    mark_line = nlines;
    pthread_mutex_unlock(&log_lock);
}

static config_setting_t *
host_get(test_host *th, const char *name)
{
    return config_setting_get_member(config_root_setting(&th->cfg), name);
}

static const char *
host_where(void *ctx, const char *name, char *buf, size_t len)
{
    test_host *th = ctx;
    config_setting_t *s = name ? host_get(th, name) : NULL;

    snprintf(buf, len, "test.conf:%d", s ? config_setting_source_line(s) : 1);
    return buf;
}

static int
host_errf(test_host *th, const char *name, char *err, size_t errlen, const char *why)
{
    char w[64];

    snprintf(err, errlen, "%s: %s: %s", host_where(th, name, w, sizeof(w)), name, why);
    return -1;
}

static int
host_check(void *ctx, const char *const *known, char *err, size_t errlen)
{
    test_host *th = ctx;
    config_setting_t *root = config_root_setting(&th->cfg);
    int i, n = config_setting_length(root);

    for (i = 0; i < n; i++) {
        const char *name = config_setting_name(config_setting_get_elem(root, (unsigned)i));
        size_t k;
        int ok = 0;
        for (k = 0; known[k] != NULL; k++)
            ok |= strcmp(known[k], name) == 0;
        if (!ok)
            return host_errf(th, name, err, errlen, "unknown setting");
    }
    return 0;
}

static int
host_string(void *ctx, const char *name, const char *def, const char **val_r, char *err,
            size_t errlen)
{
    config_setting_t *s = host_get(ctx, name);

    if (s == NULL) {
        *val_r = def;
        return 0;
    }
    if (config_setting_type(s) != CONFIG_TYPE_STRING)
        return host_errf(ctx, name, err, errlen, "expected a string");
    *val_r = config_setting_get_string(s);
    return 0;
}

static int
host_int(void *ctx, const char *name, long def, long min, long max, long *val_r, char *err,
         size_t errlen)
{
    config_setting_t *s = host_get(ctx, name);

    if (s == NULL) {
        *val_r = def;
        return 0;
    }
    if (config_setting_type(s) != CONFIG_TYPE_INT && config_setting_type(s) != CONFIG_TYPE_INT64)
        return host_errf(ctx, name, err, errlen, "expected an integer");
    *val_r = (long)config_setting_get_int64(s);
    if (config_setting_type(s) == CONFIG_TYPE_INT)
        *val_r = config_setting_get_int(s);
    if (*val_r < min || *val_r > max)
        return host_errf(ctx, name, err, errlen, "out of range");
    return 0;
}

static int
host_bool(void *ctx, const char *name, int def, int *val_r, char *err, size_t errlen)
{
    config_setting_t *s = host_get(ctx, name);

    if (s == NULL) {
        *val_r = def;
        return 0;
    }
    if (config_setting_type(s) != CONFIG_TYPE_BOOL)
        return host_errf(ctx, name, err, errlen, "expected a boolean");
    *val_r = config_setting_get_bool(s);
    return 0;
}

static void
host_put(void *ctx, const char *identity, sm_id_kind kind, sm_id_answer answer,
         const sm_id_attrs *attrs)
{
    test_host *th = ctx;

    (void)kind;
    assert_non_null(attrs);
    assert_string_equal(attrs->detail, "from ListEmailIdentities");
    pthread_mutex_lock(&put_lock);
    if (th->puts < 64) {
        snprintf(th->put_ids[th->puts], sizeof(th->put_ids[0]), "%s", identity);
        th->put_answers[th->puts] = answer;
    }
    th->puts++;
    pthread_mutex_unlock(&put_lock);
}

/* ------------------------------------------------------------- instances */

struct inst;
typedef struct inst {
    test_host th;
    void *pi;
    char err[512];
} inst;

/* inst_open - parse conf (printf format, %d gets the endpoint port), init, start */
static int inst_open(inst *in, int start, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int
inst_open(inst *in, int start, const char *fmt, ...)
{
    char conf[4096];
    va_list ap;
    int rc;

    memset(in, 0, sizeof(*in));
    va_start(ap, fmt);
    vsnprintf(conf, sizeof(conf), fmt, ap);
    va_end(ap);
    config_init(&in->th.cfg);
    if (!config_read_string(&in->th.cfg, conf))
        fail_msg("bad test config: %s at %d", config_error_text(&in->th.cfg),
                 config_error_line(&in->th.cfg));
    in->th.h = (sm_plugin_host){SM_PLUGIN_ABI_VERSION, sizeof(sm_plugin_host), &in->th, host_log,
                                host_check, host_string, host_int, host_bool, host_where,
                                host_put, "ses-test", {0}};
    rc = plugin->init(&in->th.h, &in->pi, in->err, sizeof(in->err));
    if (rc == 0 && start)
        rc = plugin->start(in->pi, in->err, sizeof(in->err));
    if (rc != 0 && in->pi == NULL)
        config_destroy(&in->th.cfg);
    else
        cur_inst = in;
    return rc;
}

static void
inst_close(inst *in)
{
    if (in->pi != NULL)
        plugin->close(in->pi);
    in->pi = NULL;
    config_destroy(&in->th.cfg);
    cur_inst = NULL;
}

static sm_id_answer
lookup(inst *in, const char *id, uint64_t timeout_ms, sm_id_attrs *at)
{
    sm_id_query q = {sizeof(q), id, strchr(id, '@') ? SM_IDKIND_ADDRESS : SM_IDKIND_DOMAIN,
                     now_ms() + timeout_ms, "QTEST"};
    sm_id_attrs scratch;

    if (at == NULL)
        at = &scratch;
    memset(at, 0, sizeof(*at));
    at->size = sizeof(*at);
    return plugin->lookup(in->pi, &q, at);
}

/* lookup_until - retry while TEMPFAIL (credentials arriving in the background) */
static sm_id_answer
lookup_until(inst *in, const char *id, uint64_t within_ms)
{
    uint64_t until = now_ms() + within_ms;
    sm_id_answer a;

    while ((a = lookup(in, id, 1500, NULL)) == SM_ID_TEMPFAIL && now_ms() < until)
        usleep(100 * 1000);
    return a;
}

/* --------------------------------------------------------------- endpoint */

static const char *fixture_json =
    "{\"region\": \"us-east-1\", \"temp_ttl\": 4, \"silent_s\": 4,\n"
    " \"container_token\": \"container-" SECRET_MARK "-token\",\n"
    " \"web_identity_token\": \"jwt-" SECRET_MARK "-token\",\n"
    " \"credentials\": [{\"access_key_id\": \"" STATIC_AK "\", \"secret_access_key\": \"" STATIC_SK "\"},\n"
    "   {\"access_key_id\": \"" TOKEN_AK "\", \"secret_access_key\": \"" TOKEN_SK "\",\n"
    "    \"session_token\": \"" TOKEN_TOK "\"}],\n"
    " \"account\": {\"ProductionAccessEnabled\": false, \"SendingEnabled\": true,\n"
    "   \"EnforcementStatus\": \"HEALTHY\"},\n"
    " \"identities\": {\n"
    "  \"verified@example.com\": {\"IdentityType\": \"EMAIL_ADDRESS\", \"VerifiedForSendingStatus\": true,\n"
    "    \"VerificationStatus\": \"SUCCESS\", \"DkimAttributes\": null},\n"
    "  \"a+b@example.com\": {\"IdentityType\": \"EMAIL_ADDRESS\", \"VerifiedForSendingStatus\": true},\n"
    "  \"example.com\": {\"IdentityType\": \"DOMAIN\", \"VerifiedForSendingStatus\": true,\n"
    "    \"VerificationStatus\": \"SUCCESS\",\n"
    "    \"DkimAttributes\": {\"SigningEnabled\": true, \"Status\": \"SUCCESS\",\n"
    "      \"SigningAttributesOrigin\": \"AWS_SES\", \"Tokens\": [\"a\", \"b\", \"c\"]},\n"
    "    \"MailFromAttributes\": {\"MailFromDomain\": \"bounce.example.com\",\n"
    "      \"MailFromDomainStatus\": \"SUCCESS\", \"BehaviorOnMxFailure\": \"USE_DEFAULT_VALUE\"}},\n"
    "  \"sub.example.org\": {\"IdentityType\": \"DOMAIN\", \"VerifiedForSendingStatus\": true,\n"
    "    \"MailFromAttributes\": null},\n"
    "  \"pending.example.net\": {\"IdentityType\": \"DOMAIN\", \"VerifiedForSendingStatus\": false,\n"
    "    \"VerificationStatus\": \"PENDING\", \"DkimAttributes\": {\"SigningEnabled\": null}},\n"
    "  \"nulls.example\": {\"IdentityType\": null, \"VerifiedForSendingStatus\": null,\n"
    "    \"VerificationStatus\": \"SUCCESS\", \"DkimAttributes\": null, \"MailFromAttributes\": null}\n"
    " }}\n";
#define FIXTURE_IDENTITIES 6

/* endpoint_start - fork/exec the Python endpoint, wait for its port file */
static pid_t
endpoint_start(const char *tag, const char *cert, const char *key, int *port_r)
{
    char portfile[512], script[512], buf[32];
    uint64_t until = now_ms() + 15000;
    pid_t pid;
    FILE *fp;

    snprintf(portfile, sizeof(portfile), "%s/port-%s", tmpdir, tag);
    snprintf(script, sizeof(script), "%s/tests/ses/ses_endpoint.py", SRCDIR);
    unlink(portfile);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (cert != NULL)
            execlp("python3", "python3", script, "--fixture", fixture, "--port-file", portfile,
                   "--tls-cert", cert, "--tls-key", key, (char *)NULL);
        else
            execlp("python3", "python3", script, "--fixture", fixture, "--port-file", portfile,
                   (char *)NULL);
        _exit(127);
    }
    while (now_ms() < until) {
        if ((fp = fopen(portfile, "r")) != NULL) {
            *port_r = fgets(buf, sizeof(buf), fp) != NULL ? atoi(buf) : 0;
            fclose(fp);
            if (*port_r > 0)
                return pid;
        }
        if (waitpid(pid, NULL, WNOHANG) == pid)
            fail_msg("endpoint exited early");
        usleep(50 * 1000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    fail_msg("endpoint did not start");
    return -1;
}

static void
endpoint_stop(pid_t pid)
{
    int i;

    if (pid <= 0)
        return;
    kill(pid, SIGTERM);
    for (i = 0; i < 50; i++) {
        if (waitpid(pid, NULL, WNOHANG) == pid)
            return;
        usleep(50 * 1000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

static size_t
collect(char *p, size_t size, size_t n, void *arg)
{
    size_t len = strlen(arg);

    if (len + size * n < 1 << 20) {
        memcpy((char *)arg + len, p, size * n);
        ((char *)arg)[len + size * n] = '\0';
    }
    return size * n;
}

/* control - POST/GET a control URL of the endpoint; returns parsed JSON */
static json_t *
control(const char *method, const char *path)
{
    static char body[1 << 20];
    char url[256];
    CURL *h = curl_easy_init();
    json_t *j;

    body[0] = '\0';
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", ep_port, path);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
    assert_int_equal(curl_easy_perform(h), CURLE_OK);
    curl_easy_cleanup(h);
    j = json_loads(body, 0, NULL);
    assert_non_null(j);
    return j;
}

static long
api_count(const char *api)
{
    json_t *s = control("GET", "/__stats");
    long n = (long)json_integer_value(json_object_get(json_object_get(s, "counts"), api));

    json_decref(s);
    return n;
}

static void
set_mode(const char *query)
{
    char path[128];

    snprintf(path, sizeof(path), "/__mode?%s", query);
    json_decref(control("POST", path));
}

static void
env_clear(void)
{
    static const char *const vars[] = {
        "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
        "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE", "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_EC2_METADATA_SERVICE_ENDPOINT",
        "AWS_EC2_METADATA_DISABLED", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_SESV2", "AWS_ENDPOINT_URL_STS", NULL};
    size_t i;

    for (i = 0; vars[i] != NULL; i++)
        unsetenv(vars[i]);
    setenv("HOME", tmpdir, 1); /* no ~/.aws of the machine running the test */
}

static void
env_static(void)
{
    env_clear();
    setenv("AWS_ACCESS_KEY_ID", STATIC_AK, 1);
    setenv("AWS_SECRET_ACCESS_KEY", STATIC_SK, 1);
}

static void
write_file(const char *name, const char *text, mode_t mode, char *path_r, size_t len)
{
    FILE *fp;

    snprintf(path_r, len, "%s/%s", tmpdir, name);
    fp = fopen(path_r, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
    chmod(path_r, mode);
}

/* a plain-HTTP instance on the shared endpoint; extra settings appended */
#define BASE_CONF                                                                                 \
    "region = \"us-east-1\"; endpoint = \"http://127.0.0.1:%d\"; insecure_http = true; "

static int
setup_group(void **state)
{
    char *d;

    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/ses-host-test-XXXXXX");
    d = mkdtemp(tmpdir);
    assert_non_null(d);
    snprintf(fixture, sizeof(fixture), "%s/fixture.json", tmpdir);
    {
        FILE *fp = fopen(fixture, "w");
        assert_non_null(fp);
        fputs(fixture_json, fp);
        fclose(fp);
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    ep_pid = endpoint_start("plain", NULL, NULL, &ep_port);
    return 0;
}

static int
teardown_group(void **state)
{
    char cmd[400];

    (void)state;
    endpoint_stop(ep_pid);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
    return 0;
}

/* every test starts with a healthy endpoint and ends with no instance open */
static int
setup_test(void **state)
{
    (void)state;
    set_mode("ses=ok&creds=ok");
    env_clear();
    return 0;
}

static int
teardown_test(void **state)
{
    (void)state;
    if (cur_inst != NULL)
        inst_close(cur_inst);
    return 0;
}

/* ------------------------------------------------------------------ tests */

static void
test_ses_verdicts_for_address_domain_subdomain_and_404(void **state)
{
    static const struct {
        const char *id;
        sm_id_answer want;
        sm_id_type type;
        int dkim;
        const char *dkim_status, *mail_from;
    } t[] = {
        {"verified@example.com", SM_ID_VERIFIED, SM_IDTYPE_EMAIL_ADDRESS, SM_TRI_UNKNOWN, "", ""},
        {"a+b@example.com", SM_ID_VERIFIED, SM_IDTYPE_EMAIL_ADDRESS, SM_TRI_UNKNOWN, "", ""},
        {"example.com", SM_ID_VERIFIED, SM_IDTYPE_DOMAIN, 1, "SUCCESS", "bounce.example.com"},
        {"sub.example.org", SM_ID_VERIFIED, SM_IDTYPE_DOMAIN, SM_TRI_UNKNOWN, "", ""},
        {"pending.example.net", SM_ID_NOT_VERIFIED, SM_IDTYPE_DOMAIN, SM_TRI_UNKNOWN, "", ""},
        {"nulls.example", SM_ID_VERIFIED, SM_IDTYPE_NONE, SM_TRI_UNKNOWN, "", ""},
        {"nobody@example.com", SM_ID_UNKNOWN, SM_IDTYPE_NONE, SM_TRI_UNKNOWN, "", ""},
        {"a.sub.example.org", SM_ID_UNKNOWN, SM_IDTYPE_NONE, SM_TRI_UNKNOWN, "", ""},
        {"odd/slash@example.com", SM_ID_UNKNOWN, SM_IDTYPE_NONE, SM_TRI_UNKNOWN, "", ""},
        {"bad id with spaces", SM_ID_UNKNOWN, SM_IDTYPE_NONE, SM_TRI_UNKNOWN, "", ""},
    };
    sm_id_attrs at;
    size_t i;
    inst in;

    (void)state;
    env_static();
    assert_int_equal(inst_open(&in, 0, BASE_CONF "warmup_interval = 0; rate = 100; burst = 20;",
                               ep_port), 0);
    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        sm_id_answer a = lookup(&in, t[i].id, 3000, &at);
        print_message("%-24s -> %d (%s)\n", t[i].id, a, at.detail);
        assert_int_equal(a, t[i].want);
        assert_int_equal(at.identity_type, t[i].type);
        assert_int_equal(at.dkim_signing_enabled, t[i].dkim);
        assert_string_equal(at.dkim_status, t[i].dkim_status);
        assert_string_equal(at.mail_from_domain, t[i].mail_from);
        if (a != SM_ID_UNKNOWN || strchr(t[i].id, ' ') == NULL)
            assert_string_equal(at.region, "us-east-1");
    }
    lookup(&in, "example.com", 3000, &at);
    assert_string_equal(at.dkim_origin, "AWS_SES");
    assert_string_equal(at.mail_from_status, "SUCCESS");
    assert_string_equal(at.mail_from_behavior, "USE_DEFAULT_VALUE");
    assert_string_equal(at.identity, "example.com");
    assert_int_equal(api_count("BadSignature"), 0);
    inst_close(&in);
}

static void
test_ses_session_token_is_sent_and_signed(void **state)
{
    inst in;

    (void)state;
    env_clear();
    setenv("AWS_ACCESS_KEY_ID", TOKEN_AK, 1);
    setenv("AWS_SECRET_ACCESS_KEY", TOKEN_SK, 1);
    setenv("AWS_SESSION_TOKEN", TOKEN_TOK, 1);
    assert_int_equal(inst_open(&in, 0, BASE_CONF "warmup_interval = 0; rate = 100;", ep_port), 0);
    assert_int_equal(lookup(&in, "verified@example.com", 3000, NULL), SM_ID_VERIFIED);
    inst_close(&in);
}

static void
test_ses_warmup_fills_cache_without_get_calls(void **state)
{
    uint64_t until;
    inst in;
    int i, found_plus = 0;

    (void)state;
    env_static();
    json_decref(control("POST", "/__reset"));
    log_mark();
    assert_int_equal(inst_open(&in, 1, BASE_CONF "warmup_page_size = 2; rate = 50; burst = 5;",
                               ep_port), 0);
    for (until = now_ms() + 8000; now_ms() < until; usleep(50 * 1000)) {
        pthread_mutex_lock(&put_lock);
        i = in.th.puts;
        pthread_mutex_unlock(&put_lock);
        if (i >= FIXTURE_IDENTITIES && logged_since_mark("warm-up:"))
            break;
    }
    pthread_mutex_lock(&put_lock);
    print_message("warm-up: %d cache_put calls, ListEmailIdentities %ld, GetEmailIdentity %ld\n",
                  in.th.puts, api_count("ListEmailIdentities"), api_count("GetEmailIdentity"));
    assert_int_equal(in.th.puts, FIXTURE_IDENTITIES);
    for (i = 0; i < FIXTURE_IDENTITIES; i++) {
        found_plus |= strcmp(in.th.put_ids[i], "a+b@example.com") == 0;
        if (strcmp(in.th.put_ids[i], "pending.example.net") == 0)
            assert_int_equal(in.th.put_answers[i], SM_ID_NOT_VERIFIED);
        if (strcmp(in.th.put_ids[i], "example.com") == 0)
            assert_int_equal(in.th.put_answers[i], SM_ID_VERIFIED);
    }
    pthread_mutex_unlock(&put_lock);
    assert_true(found_plus);
    assert_int_equal(api_count("GetEmailIdentity"), 0);
    assert_int_equal(api_count("ListEmailIdentities"), 3); /* 6 identities, pages of 2 */
    assert_int_equal(api_count("GetAccount"), 1);
    assert_true(logged_since_mark("SANDBOX"));
    inst_close(&in);
}

typedef struct burst_arg {
    inst *in;
    int first;
    uint64_t deadline;
    int unknown, tempfail, other;
    uint64_t max_over, max_latency, t0;
} burst_arg;

static void *
burst_thread(void *p)
{
    burst_arg *b = p;
    char id[64];
    int i;

    for (i = b->first; i < 1000; i += 8) {
        sm_id_query q = {sizeof(q), id, SM_IDKIND_ADDRESS, b->deadline, ""};
        sm_id_attrs at;
        sm_id_answer a;
        uint64_t done;

        snprintf(id, sizeof(id), "nobody%04d@burst.example", i);
        memset(&at, 0, sizeof(at));
        at.size = sizeof(at);
        a = plugin->lookup(b->in->pi, &q, &at);
        done = now_ms();
        if (done > b->deadline && done - b->deadline > b->max_over)
            b->max_over = done - b->deadline;
        if (done - b->t0 > b->max_latency)
            b->max_latency = done - b->t0;
        b->unknown += a == SM_ID_UNKNOWN;
        b->tempfail += a == SM_ID_TEMPFAIL;
        b->other += a != SM_ID_UNKNOWN && a != SM_ID_TEMPFAIL;
    }
    return NULL;
}

/* max number of timestamps within any window of 1 s */
static long
max_per_second(json_t *times)
{
    size_t i, j, n = json_array_size(times);
    long best = 0;

    for (i = 0; i < n; i++) {
        double t0 = json_real_value(json_array_get(times, i));
        long c = 0;
        for (j = i; j < n && json_real_value(json_array_get(times, j)) < t0 + 1.0; j++)
            c++;
        if (c > best)
            best = c;
    }
    return best;
}

static void
test_ses_burst_of_1000_lookups_keeps_rate_and_deadlines(void **state)
{
    enum { RATE = 10, BURST = 5, DEADLINE_MS = 2000, SLACK_MS = 250 };
    burst_arg b[8];
    pthread_t th[8];
    json_t *stats;
    long calls, peak;
    int i, unknown = 0, tempfail = 0, other = 0;
    uint64_t over = 0, lat = 0, t0;
    inst in;

    (void)state;
    env_static();
    assert_int_equal(inst_open(&in, 0, BASE_CONF "warmup_interval = 0; rate = %d; burst = %d;",
                               ep_port, RATE, BURST), 0);
    json_decref(control("POST", "/__reset"));
    t0 = now_ms();
    for (i = 0; i < 8; i++) {
        b[i] = (burst_arg){&in, i, t0 + DEADLINE_MS, 0, 0, 0, 0, 0, t0};
        assert_int_equal(pthread_create(&th[i], NULL, burst_thread, &b[i]), 0);
    }
    for (i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        unknown += b[i].unknown;
        tempfail += b[i].tempfail;
        other += b[i].other;
        over = b[i].max_over > over ? b[i].max_over : over;
        lat = b[i].max_latency > lat ? b[i].max_latency : lat;
    }
    stats = control("GET", "/__stats");
    calls = (long)json_integer_value(
        json_object_get(json_object_get(stats, "counts"), "GetEmailIdentity"));
    peak = max_per_second(json_object_get(json_object_get(stats, "times"), "GetEmailIdentity"));
    json_decref(stats);
    print_message("burst: 1000 lookups from 8 threads, deadline %d ms: %d UNKNOWN (answered), "
                  "%d TEMPFAIL, GetEmailIdentity calls %ld, peak %ld/s (limit rate %d + burst "
                  "%d), max latency %llu ms, max overshoot %llu ms\n",
                  DEADLINE_MS, unknown, tempfail, calls, peak, RATE, BURST,
                  (unsigned long long)lat, (unsigned long long)over);
    assert_int_equal(other, 0);
    assert_int_equal(unknown + tempfail, 1000);
    assert_int_equal(unknown, calls);
    assert_true(calls >= BURST);
    assert_true(calls <= BURST + RATE * DEADLINE_MS / 1000 + 1);
    assert_true(peak <= RATE + BURST);
    assert_true(over <= SLACK_MS);
    inst_close(&in);
}

static void
test_ses_429_backs_off_and_tempfails_within_deadline(void **state)
{
    uint64_t t;
    inst in;

    (void)state;
    env_static();
    assert_int_equal(inst_open(&in, 0, BASE_CONF "warmup_interval = 0; rate = 100; burst = 10;",
                               ep_port), 0);
    json_decref(control("POST", "/__reset"));
    set_mode("ses=429");
    log_mark();
    t = now_ms();
    assert_int_equal(lookup(&in, "verified@example.com", 1000, NULL), SM_ID_TEMPFAIL);
    assert_true(now_ms() - t <= 1000 + 100);
    /* the whole instance backs off: the next lookup does not reach SES */
    t = now_ms();
    assert_int_equal(lookup(&in, "example.com", 200, NULL), SM_ID_TEMPFAIL);
    assert_true(now_ms() - t <= 200 + 100);
    assert_int_equal(api_count("Throttled"), 1);
    assert_true(logged_since_mark("throttled by SES"));
    set_mode("ses=ok");
    assert_int_equal(lookup_until(&in, "verified@example.com", 5000), SM_ID_VERIFIED);
    inst_close(&in);
}

static void
test_ses_5xx_and_silent_endpoint_tempfail_within_deadline(void **state)
{
    static const struct {
        const char *mode, *log;
        uint64_t deadline_ms;
    } t[] = {
        {"ses=500", "answered HTTP 500", 1500},
        {"ses=silent", "cannot reach the SES endpoint", 1500},
    };
    size_t i;
    inst in;

    (void)state;
    env_static();
    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        uint64_t start;
        assert_int_equal(inst_open(&in, 0, BASE_CONF "warmup_interval = 0; rate = 100; "
                                   "timeout_ms = 10000;", ep_port), 0);
        set_mode(t[i].mode);
        log_mark();
        start = now_ms();
        assert_int_equal(lookup(&in, "verified@example.com", t[i].deadline_ms, NULL),
                         SM_ID_TEMPFAIL);
        print_message("%s: TEMPFAIL after %llu ms\n", t[i].mode,
                      (unsigned long long)(now_ms() - start));
        assert_true(now_ms() - start <= t[i].deadline_ms + 150);
        assert_true(logged_since_mark(t[i].log));
        set_mode("ses=ok");
        inst_close(&in);
    }
}

static void
test_ses_imds_credentials_refresh_and_expire(void **state)
{
    char ep[64];
    long before;
    uint64_t until;
    inst in;

    (void)state;
    env_clear();
    snprintf(ep, sizeof(ep), "http://127.0.0.1:%d", ep_port);
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", ep, 1);
    log_mark();
    /* temporary credentials live 4 s (fixture temp_ttl); refresh 2 s before */
    assert_int_equal(inst_open(&in, 1, BASE_CONF "warmup_interval = 0; rate = 100; "
                               "credentials_source = \"imds\"; credentials_refresh_margin = 2;",
                               ep_port), 0);
    assert_int_equal(lookup_until(&in, "verified@example.com", 5000), SM_ID_VERIFIED);
    before = api_count("IMDSCreds");
    sleep(5); /* longer than the credentials' lifetime */
    assert_int_equal(lookup(&in, "verified@example.com", 2000, NULL), SM_ID_VERIFIED);
    print_message("IMDS credential fetches: %ld then %ld\n", before, api_count("IMDSCreds"));
    assert_true(api_count("IMDSCreds") >= before + 2);
    assert_int_equal(api_count("ExpiredToken"), 0);
    /* refresh fails: keep the current credentials until they expire, then TEMPFAIL */
    set_mode("creds=500");
    assert_int_equal(lookup(&in, "verified@example.com", 2000, NULL), SM_ID_VERIFIED);
    for (until = now_ms() + 8000; now_ms() < until; usleep(200 * 1000))
        if (lookup(&in, "verified@example.com", 1000, NULL) == SM_ID_TEMPFAIL)
            break;
    assert_true(now_ms() < until);
    assert_true(logged_since_mark("keeping the current credentials"));
    assert_true(logged_since_mark("expired at"));
    set_mode("creds=ok");
    assert_int_equal(lookup_until(&in, "verified@example.com", 8000), SM_ID_VERIFIED);
    inst_close(&in);
}

static void
test_ses_container_credentials_rules(void **state)
{
    char url[128], tok[400];
    inst in;

    (void)state;
    env_clear();
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/container/creds", ep_port);
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url, 1);
    write_file("container-token", "container-" SECRET_MARK "-token\n", 0600, tok, sizeof(tok));
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", tok, 1);
    assert_int_equal(inst_open(&in, 1, BASE_CONF "warmup_interval = 0; rate = 100;", ep_port), 0);
    assert_int_equal(lookup_until(&in, "example.com", 5000), SM_ID_VERIFIED);
    inst_close(&in);
    /* a token with CR/LF inside is refused (header injection) */
    unsetenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "abc\r\nX-Evil: 1", 1);
    log_mark();
    assert_int_equal(inst_open(&in, 1, BASE_CONF "warmup_interval = 0;", ep_port), 0);
    assert_int_equal(lookup_until(&in, "example.com", 1500), SM_ID_TEMPFAIL);
    assert_true(logged_since_mark("CR or LF"));
    inst_close(&in);
    /* http to anything but loopback / 169.254.170.2 / .23 is refused */
    unsetenv("AWS_CONTAINER_AUTHORIZATION_TOKEN");
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://192.0.2.1/creds", 1);
    log_mark();
    assert_int_equal(inst_open(&in, 1, BASE_CONF "warmup_interval = 0;", ep_port), 0);
    assert_int_equal(lookup_until(&in, "example.com", 1500), SM_ID_TEMPFAIL);
    assert_true(logged_since_mark("refusing credentials URL"));
    inst_close(&in);
}

static void
test_ses_web_identity_through_sts(void **state)
{
    char path[400];
    inst in;

    (void)state;
    env_clear();
    write_file("jwt", "jwt-" SECRET_MARK "-token\n", 0600, path, sizeof(path));
    setenv("AWS_WEB_IDENTITY_TOKEN_FILE", path, 1);
    setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/ses-milter", 1);
    assert_int_equal(inst_open(&in, 1, BASE_CONF "warmup_interval = 0; rate = 100; "
                               "sts_endpoint = \"http://127.0.0.1:%d/sts\";", ep_port, ep_port), 0);
    assert_int_equal(lookup_until(&in, "sub.example.org", 5000), SM_ID_VERIFIED);
    assert_true(api_count("STS") >= 1);
    inst_close(&in);
}

static void
test_ses_shared_files_profiles_and_loose_mode_warning(void **state)
{
    char cpath[400], fpath[400];
    inst in;

    (void)state;
    env_clear();
    write_file("credentials",
               "[default]\naws_access_key_id = AKIDWRONG\naws_secret_access_key = x\n\n"
               "[work]\n# comment\naws_access_key_id = " STATIC_AK "\n"
               "aws_secret_access_key = " STATIC_SK "\n",
               0644, cpath, sizeof(cpath));
    write_file("config", "[default]\nregion = eu-west-1\n[profile cfgonly]\n"
               "aws_access_key_id=" TOKEN_AK "\naws_secret_access_key=" TOKEN_SK "\n"
               "aws_session_token=" TOKEN_TOK "\n", 0600, fpath, sizeof(fpath));
    setenv("AWS_SHARED_CREDENTIALS_FILE", cpath, 1);
    setenv("AWS_CONFIG_FILE", fpath, 1);
    log_mark();
    assert_int_equal(inst_open(&in, 0, BASE_CONF "warmup_interval = 0; rate = 100; "
                               "profile = \"work\"; credentials_source = \"file\";", ep_port), 0);
    assert_int_equal(lookup(&in, "example.com", 3000, NULL), SM_ID_VERIFIED);
    assert_int_equal(count_since_mark("readable by group or others"), 1);
    inst_close(&in);
    setenv("AWS_PROFILE", "cfgonly", 1);
    assert_int_equal(inst_open(&in, 0, BASE_CONF "warmup_interval = 0; rate = 100;", ep_port), 0);
    assert_int_equal(lookup(&in, "example.com", 3000, NULL), SM_ID_VERIFIED);
    inst_close(&in);
}

static void
test_ses_bad_credentials_log_clear_line_and_tempfail(void **state)
{
    static const struct {
        const char *ak, *sk;
    } t[] = {
        {"AKIDUNKNOWN", "whatever-" SECRET_MARK},
        {STATIC_AK, "wrong-" SECRET_MARK "-secret"},
    };
    size_t i;
    inst in;

    (void)state;
    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        env_clear();
        setenv("AWS_ACCESS_KEY_ID", t[i].ak, 1);
        setenv("AWS_SECRET_ACCESS_KEY", t[i].sk, 1);
        log_mark();
        assert_int_equal(inst_open(&in, 0, BASE_CONF "warmup_interval = 0; rate = 100;",
                                   ep_port), 0);
        assert_int_equal(lookup(&in, "example.com", 3000, NULL), SM_ID_TEMPFAIL);
        assert_true(logged_since_mark("AWS rejected the credentials from env"));
        inst_close(&in);
    }
}

static void
test_ses_tls_untrusted_refused_trusted_with_ca_file(void **state)
{
    char cmd[1200], cert[400], key[400];
    int port;
    pid_t pid;
    inst in;

    (void)state;
    env_static();
    snprintf(cert, sizeof(cert), "%s/cert.pem", tmpdir);
    snprintf(key, sizeof(key), "%s/key.pem", tmpdir);
    snprintf(cmd, sizeof(cmd),
             "openssl req -x509 -newkey rsa:2048 -nodes -keyout '%s' -out '%s' -days 2 "
             "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1",
             key, cert);
    assert_int_equal(system(cmd), 0);
    pid = endpoint_start("tls", cert, key, &port);
    log_mark();
    assert_int_equal(inst_open(&in, 0, "region = \"us-east-1\"; endpoint = \"https://127.0.0.1:%d\";"
                               " warmup_interval = 0; rate = 100;", port), 0);
    assert_int_equal(lookup(&in, "example.com", 3000, NULL), SM_ID_TEMPFAIL);
    assert_true(logged_since_mark("cannot reach the SES endpoint https://127.0.0.1"));
    inst_close(&in);
    assert_int_equal(inst_open(&in, 0, "region = \"us-east-1\"; endpoint = \"https://127.0.0.1:%d\";"
                               " warmup_interval = 0; rate = 100; ca_file = \"%s\";", port, cert), 0);
    assert_int_equal(lookup(&in, "example.com", 3000, NULL), SM_ID_VERIFIED);
    inst_close(&in);
    endpoint_stop(pid);
}

static void
test_ses_config_errors_say_file_line(void **state)
{
    static const struct {
        const char *conf, *want;
    } t[] = {
        {"endpoint = \"http://127.0.0.1:1\"; insecure_http = true;", "region is required"},
        {"region = \"us-east-1\";\nbogus = 1;", "test.conf:2: bogus: unknown setting"},
        {"region = \"us-east-1\";\nendpoint = \"http://127.0.0.1:1\";", "test.conf:2: ses: endpoint"},
        {"region = \"us-east-1\";\ncredentials_source = \"magic\";", "test.conf:2: ses: credentials_source"},
        {"region = \"us-east-1\";\nrate = 0;", "test.conf:2: rate: out of range"},
        {"region = \"us east\";", "malformed region"},
    };
    size_t i;
    inst in;

    (void)state;
    env_static();
    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        assert_int_equal(inst_open(&in, 0, "%s", t[i].conf), -1);
        print_message("%s\n", in.err);
        assert_non_null(strstr(in.err, t[i].want));
        assert_null(in.pi);
    }
    setenv("AWS_REGION", "eu-central-1", 1);
    assert_int_equal(inst_open(&in, 0, "endpoint = \"http://127.0.0.1:1\"; insecure_http = true;"),
                     0);
    inst_close(&in);
    env_clear();
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    assert_int_equal(inst_open(&in, 0, BASE_CONF, ep_port), -1);
    assert_non_null(strstr(in.err, "no AWS credentials found"));
}

/* runs last: nothing logged by any test above carried a secret */
static void
test_ses_no_secret_in_any_log_line(void **state)
{
    int i;

    (void)state;
    assert_true(nlines > 10);
    for (i = 0; i < nlines; i++) {
        if (strstr(log_lines[i], SECRET_MARK) != NULL || strstr(log_lines[i], "DONOTLOG") ||
            strstr(log_lines[i], "DO-NOT-LOG") || strstr(log_lines[i], "imds-session-token"))
            fail_msg("secret in log line: %s", log_lines[i]);
    }
    print_message("%d log lines checked, no secret\n", nlines);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ses_verdicts_for_address_domain_subdomain_and_404, setup_test, teardown_test),
        cmocka_unit_test_setup_teardown(test_ses_session_token_is_sent_and_signed, setup_test, teardown_test),
        cmocka_unit_test_setup_teardown(test_ses_warmup_fills_cache_without_get_calls, setup_test, teardown_test),
        cmocka_unit_test_setup_teardown(test_ses_burst_of_1000_lookups_keeps_rate_and_deadlines, setup_test, teardown_test),
        cmocka_unit_test_setup_teardown(test_ses_429_backs_off_and_tempfails_within_deadline, setup_test, teardown_test),
        cmocka_unit_test_setup_teardown(test_ses_5xx_and_silent_endpoint_tempfail_within_deadline, setup_test, teardown_test),
        cmocka_unit_test_setup_teardown(test_ses_imds_credentials_refresh_and_expire, setup_test, teardown_test),
        cmocka_unit_test_setup_teardown(test_ses_container_credentials_rules, setup_test, teardown_test),
        cmocka_unit_test_setup_teardown(test_ses_web_identity_through_sts, setup_test, teardown_test),
        cmocka_unit_test_setup_teardown(test_ses_shared_files_profiles_and_loose_mode_warning, setup_test, teardown_test),
        cmocka_unit_test_setup_teardown(test_ses_bad_credentials_log_clear_line_and_tempfail, setup_test, teardown_test),
        cmocka_unit_test_setup_teardown(test_ses_tls_untrusted_refused_trusted_with_ca_file, setup_test, teardown_test),
        cmocka_unit_test_setup_teardown(test_ses_config_errors_say_file_line, setup_test, teardown_test),
        cmocka_unit_test_setup_teardown(test_ses_no_secret_in_any_log_line, setup_test, teardown_test),
    };
    const char *so = getenv("SES_PLUGIN_SO");
    char path[600];
    int rc, i;

    snprintf(path, sizeof(path), "%s", so ? so : BUILDDIR "/plugins/ses/.libs/ses.so");
    dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (dl == NULL) {
        fprintf(stderr, "cannot load %s: %s\n", path, dlerror());
        return 1;
    }
    plugin = dlsym(dl, SM_PLUGIN_SYMBOL);
    if (plugin == NULL || plugin->abi_version != SM_PLUGIN_ABI_VERSION ||
        plugin->size < sizeof(sm_plugin)) {
        fprintf(stderr, "%s: bad plugin descriptor\n", path);
        return 1;
    }
    rc = cmocka_run_group_tests(tests, setup_group, teardown_group);
    for (i = 0; i < nlines; i++)
        free(log_lines[i]);
    dlclose(dl);
    curl_global_cleanup();
    return rc;
}
