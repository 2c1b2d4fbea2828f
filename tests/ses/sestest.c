/*
 * sestest.c - host, instances and endpoint control for the SES host test
 *
 * Purpose: everything ses_host_test.c needs that is not a test: the
 * sm_plugin_host callbacks (conf_* over libconfig, a recording log, a
 * counting cache_put), opening instances of the dlopened plugin, and the
 * life cycle of tests/ses/ses_endpoint.py (fork/exec, port file, control
 * URLs, kill by PID).
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

#include "sestest.h"

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
char *sestest_log_lines[MAX_LINES];
int sestest_nlines;
static int mark_line;
pthread_mutex_t sestest_put_lock = PTHREAD_MUTEX_INITIALIZER;

const sm_plugin *sestest_plugin;
static inst *cur_inst; /* closed by the per-test teardown if a test failed midway */
static void *dl;
char sestest_tmpdir[256];
static char fixture[300];
const char *sestest_fixture; /* a test program's own fixture; NULL: fixture_json */
static pid_t ep_pid;
int sestest_port;

/* sestest_now_ms - CLOCK_MONOTONIC milliseconds */
uint64_t
sestest_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void host_log(void *ctx, int level, const char *qid, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* host_log - the host's log callback: keep each line for the checks below */
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
    if (sestest_nlines < MAX_LINES)
        sestest_log_lines[sestest_nlines++] = strdup(buf);
    pthread_mutex_unlock(&log_lock);
    if (getenv("SES_TEST_VERBOSE"))
        fprintf(stderr, "log<%d> %s: %s\n", level, qid ? qid : "-", buf);
}

/* sestest_logged_since_mark - a line containing needle was logged since the last mark */
int
sestest_logged_since_mark(const char *needle)
{
    int i, found = 0;

    pthread_mutex_lock(&log_lock);
    for (i = mark_line; i < sestest_nlines && !found; i++)
        found = strstr(sestest_log_lines[i], needle) != NULL;
    pthread_mutex_unlock(&log_lock);
    return found;
}

/* sestest_count_since_mark - how many lines since the mark contain needle */
int
sestest_count_since_mark(const char *needle)
{
    int i, n = 0;

    pthread_mutex_lock(&log_lock);
    for (i = mark_line; i < sestest_nlines; i++)
        n += strstr(sestest_log_lines[i], needle) != NULL;
    pthread_mutex_unlock(&log_lock);
    return n;
}

/* sestest_log_mark - later *_since_mark calls look only at lines logged from now on */
void
sestest_log_mark(void)
{
    pthread_mutex_lock(&log_lock);
    mark_line = sestest_nlines;
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
    pthread_mutex_lock(&sestest_put_lock);
    if (th->puts < 64) {
        snprintf(th->put_ids[th->puts], sizeof(th->put_ids[0]), "%s", identity);
        th->put_answers[th->puts] = answer;
    }
    th->puts++;
    pthread_mutex_unlock(&sestest_put_lock);
}

/* ------------------------------------------------------------- instances */

/* sestest_inst_open - parse conf (printf format), init, and start if asked */
int
sestest_inst_open(inst *in, int start, const char *fmt, ...)
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
    in->th.h = (sm_plugin_host){SM_PLUGIN_ABI_VERSION,
                                sizeof(sm_plugin_host),
                                &in->th,
                                host_log,
                                host_check,
                                host_string,
                                host_int,
                                host_bool,
                                host_where,
                                host_put,
                                "ses-test",
                                NULL, /* open_file: a 1.0 host */
                                NULL,
                                NULL, /* budget_take, metric (1.2): none */
                                NULL,
                                NULL, /* shared_get, shared_put (1.3): none */
                                {0}};
    rc = sestest_plugin->init(&in->th.h, &in->pi, in->err, sizeof(in->err));
    if (rc == 0 && start)
        rc = sestest_plugin->start(in->pi, in->err, sizeof(in->err));
    if (rc != 0 && in->pi == NULL)
        config_destroy(&in->th.cfg);
    else
        cur_inst = in;
    return rc;
}

/* sestest_inst_close - close the instance and free its config */
void
sestest_inst_close(inst *in)
{
    if (in->pi != NULL)
        sestest_plugin->close(in->pi);
    in->pi = NULL;
    config_destroy(&in->th.cfg);
    cur_inst = NULL;
}

/* sestest_lookup - one lookup, deadline timeout_ms from now */
sm_id_answer
sestest_lookup(inst *in, const char *id, uint64_t timeout_ms, sm_id_attrs *at)
{
    sm_id_query q = {sizeof(q), id, strchr(id, '@') ? SM_IDKIND_ADDRESS : SM_IDKIND_DOMAIN,
                     sestest_now_ms() + timeout_ms, "QTEST"};
    sm_id_attrs scratch;

    if (at == NULL)
        at = &scratch;
    memset(at, 0, sizeof(*at));
    at->size = sizeof(*at);
    return sestest_plugin->lookup(in->pi, &q, at);
}

/* sestest_lookup_until - retry while TEMPFAIL (credentials arriving in the background) */
sm_id_answer
sestest_lookup_until(inst *in, const char *id, uint64_t within_ms)
{
    uint64_t until = sestest_now_ms() + within_ms;
    sm_id_answer a;

    while ((a = sestest_lookup(in, id, 1500, NULL)) == SM_ID_TEMPFAIL && sestest_now_ms() < until)
        usleep(100 * 1000);
    return a;
}

/* --------------------------------------------------------------- endpoint */

static const char *fixture_json =
    "{\"region\": \"us-east-1\", \"temp_ttl\": 4, \"silent_s\": 4,\n"
    " \"container_token\": \"container-" SECRET_MARK "-token\",\n"
    " \"web_identity_token\": \"jwt-" SECRET_MARK "-token\",\n"
    " \"credentials\": [{\"access_key_id\": \"" STATIC_AK "\", \"secret_access_key\": \"" STATIC_SK
    "\"},\n"
    "   {\"access_key_id\": \"" TOKEN_AK "\", \"secret_access_key\": \"" TOKEN_SK "\",\n"
    "    \"session_token\": \"" TOKEN_TOK "\"}],\n"
    " \"account\": {\"ProductionAccessEnabled\": false, \"SendingEnabled\": true,\n"
    "   \"EnforcementStatus\": \"HEALTHY\"},\n"
    " \"identities\": {\n"
    "  \"verified@example.com\": {\"IdentityType\": \"EMAIL_ADDRESS\", "
    "\"VerifiedForSendingStatus\": true,\n"
    "    \"VerificationStatus\": \"SUCCESS\", \"DkimAttributes\": null},\n"
    "  \"a+b@example.com\": {\"IdentityType\": \"EMAIL_ADDRESS\", \"VerifiedForSendingStatus\": "
    "true},\n"
    "  \"example.com\": {\"IdentityType\": \"DOMAIN\", \"VerifiedForSendingStatus\": true,\n"
    "    \"VerificationStatus\": \"SUCCESS\",\n"
    "    \"DkimAttributes\": {\"SigningEnabled\": true, \"Status\": \"SUCCESS\",\n"
    "      \"SigningAttributesOrigin\": \"AWS_SES\", \"Tokens\": [\"a\", \"b\", \"c\"]},\n"
    "    \"MailFromAttributes\": {\"MailFromDomain\": \"bounce.example.com\",\n"
    "      \"MailFromDomainStatus\": \"SUCCESS\", \"BehaviorOnMxFailure\": "
    "\"USE_DEFAULT_VALUE\"}},\n"
    "  \"sub.example.org\": {\"IdentityType\": \"DOMAIN\", \"VerifiedForSendingStatus\": true,\n"
    "    \"MailFromAttributes\": null},\n"
    "  \"pending.example.net\": {\"IdentityType\": \"DOMAIN\", \"VerifiedForSendingStatus\": "
    "false,\n"
    "    \"VerificationStatus\": \"PENDING\", \"DkimAttributes\": {\"SigningEnabled\": null}},\n"
    "  \"nulls.example\": {\"IdentityType\": null, \"VerifiedForSendingStatus\": null,\n"
    "    \"VerificationStatus\": \"SUCCESS\", \"DkimAttributes\": null, \"MailFromAttributes\": "
    "null}\n"
    " }}\n";

/* sestest_endpoint_start - fork/exec the Python endpoint, wait for its port file */
pid_t
sestest_endpoint_start(const char *tag, const char *cert, const char *key, int *port_r)
{
    char portfile[512], script[512], buf[32];
    uint64_t until = sestest_now_ms() + 15000;
    pid_t pid;
    FILE *fp;

    snprintf(portfile, sizeof(portfile), "%s/port-%s", sestest_tmpdir, tag);
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
    while (sestest_now_ms() < until) {
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

/* sestest_endpoint_stop - SIGTERM, then SIGKILL, always reaped */
void
sestest_endpoint_stop(pid_t pid)
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

/* sestest_control - POST/GET a control URL of the endpoint; returns parsed JSON */
json_t *
sestest_control(const char *method, const char *path)
{
    static char body[1 << 20];
    char url[256];
    CURL *h = curl_easy_init();
    json_t *j;

    body[0] = '\0';
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", sestest_port, path);
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

/* sestest_api_count - requests the endpoint counted for api */
long
sestest_api_count(const char *api)
{
    json_t *s = sestest_control("GET", "/__stats");
    long n = (long)json_integer_value(json_object_get(json_object_get(s, "counts"), api));

    json_decref(s);
    return n;
}

/* sestest_set_mode - switch the endpoint's failure injection */
void
sestest_set_mode(const char *query)
{
    char path[128];

    snprintf(path, sizeof(path), "/__mode?%s", query);
    json_decref(sestest_control("POST", path));
}

/* sestest_env_clear - no AWS variables, HOME in the test directory */
void
sestest_env_clear(void)
{
    static const char *const vars[] = {"AWS_ACCESS_KEY_ID",
                                       "AWS_SECRET_ACCESS_KEY",
                                       "AWS_SESSION_TOKEN",
                                       "AWS_PROFILE",
                                       "AWS_SHARED_CREDENTIALS_FILE",
                                       "AWS_CONFIG_FILE",
                                       "AWS_WEB_IDENTITY_TOKEN_FILE",
                                       "AWS_ROLE_ARN",
                                       "AWS_ROLE_SESSION_NAME",
                                       "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                                       "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                                       "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
                                       "AWS_CONTAINER_AUTHORIZATION_TOKEN",
                                       "AWS_EC2_METADATA_SERVICE_ENDPOINT",
                                       "AWS_EC2_METADATA_DISABLED",
                                       "AWS_REGION",
                                       "AWS_DEFAULT_REGION",
                                       "AWS_ENDPOINT_URL",
                                       "AWS_ENDPOINT_URL_SESV2",
                                       "AWS_ENDPOINT_URL_STS",
                                       NULL};
    size_t i;

    for (i = 0; vars[i] != NULL; i++)
        unsetenv(vars[i]);
    setenv("HOME", sestest_tmpdir, 1); /* no ~/.aws of the machine running the test */
}

/* sestest_env_static - the fixture's long-term keys in the environment */
void
sestest_env_static(void)
{
    sestest_env_clear();
    setenv("AWS_ACCESS_KEY_ID", STATIC_AK, 1);
    setenv("AWS_SECRET_ACCESS_KEY", STATIC_SK, 1);
}

/* sestest_write_file - a file with the given mode in the test directory */
void
sestest_write_file(const char *name, const char *text, mode_t mode, char *path_r, size_t len)
{
    FILE *fp;

    snprintf(path_r, len, "%s/%s", sestest_tmpdir, name);
    fp = fopen(path_r, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
    chmod(path_r, mode);
}

/* sestest_setup_group - test directory, fixture, shared plain-HTTP endpoint */
int
sestest_setup_group(void **state)
{
    char *d;

    (void)state;
    snprintf(sestest_tmpdir, sizeof(sestest_tmpdir), "/tmp/ses-host-test-XXXXXX");
    d = mkdtemp(sestest_tmpdir);
    assert_non_null(d);
    snprintf(fixture, sizeof(fixture), "%s/fixture.json", sestest_tmpdir);
    {
        FILE *fp = fopen(fixture, "w");
        assert_non_null(fp);
        fputs(sestest_fixture != NULL ? sestest_fixture : fixture_json, fp);
        fclose(fp);
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    ep_pid = sestest_endpoint_start("plain", NULL, NULL, &sestest_port);
    return 0;
}

/* sestest_teardown_group - stop the endpoint, remove the directory */
int
sestest_teardown_group(void **state)
{
    char cmd[400];

    (void)state;
    sestest_endpoint_stop(ep_pid);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", sestest_tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", sestest_tmpdir);
    return 0;
}

/* sestest_setup_test - every test starts with a healthy endpoint and a clean environment */
int
sestest_setup_test(void **state)
{
    (void)state;
    sestest_set_mode("ses=ok&creds=ok");
    sestest_env_clear();
    return 0;
}

/* sestest_teardown_test - close an instance a failed test left open */
int
sestest_teardown_test(void **state)
{
    (void)state;
    if (cur_inst != NULL)
        sestest_inst_close(cur_inst);
    return 0;
}

/* sestest_load_plugin - $SES_PLUGIN_SO or the module of this build tree */
const sm_plugin *
sestest_load_plugin(void)
{
    const char *so = getenv("SES_PLUGIN_SO");
    const sm_plugin *p;
    char path[600];

    snprintf(path, sizeof(path), "%s", so ? so : BUILDDIR "/plugins/ses/.libs/ses.so");
    if ((dl = dlopen(path, RTLD_NOW | RTLD_LOCAL)) == NULL) {
        fprintf(stderr, "cannot load %s: %s\n", path, dlerror());
        return NULL;
    }
    p = dlsym(dl, SM_PLUGIN_SYMBOL);
    if (p == NULL || p->abi_version != SM_PLUGIN_ABI_VERSION || p->size < sizeof(sm_plugin)) {
        fprintf(stderr, "%s: bad plugin descriptor\n", path);
        return NULL;
    }
    return p;
}

/* sestest_unload - free the recorded lines and the module */
void
sestest_unload(void)
{
    int i;

    for (i = 0; i < sestest_nlines; i++)
        free(sestest_log_lines[i]);
    if (dl != NULL)
        dlclose(dl);
    curl_global_cleanup();
}
