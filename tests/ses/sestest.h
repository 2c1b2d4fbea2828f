/*
 * sestest.h - shared helpers of the SES plugin host test
 *
 * A minimal sm_plugin_host over a libconfig group built from a string (log
 * lines recorded, cache_put counted), plugin instances opened and closed
 * through the dlopened descriptor, and the Python test endpoint
 * (tests/ses/ses_endpoint.py) started, controlled and stopped by PID.
 */
#ifndef SES_TEST_SESTEST_H
#define SES_TEST_SESTEST_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>
#include <libconfig.h>

#include <ses-milter/plugin.h>

#define MAX_LINES 20000
#define SECRET_MARK "s3cr3t"
#define STATIC_AK "AKIDSTATICTEST"
#define STATIC_SK "static/" SECRET_MARK "/Key+1"
#define TOKEN_AK "ASIASTATICTOKEN"
#define TOKEN_SK "sess-" SECRET_MARK "-key"
#define TOKEN_TOK "sess-token-" SECRET_MARK "-value/+="
#define FIXTURE_IDENTITIES 6

typedef struct test_host {
    config_t cfg;
    sm_plugin_host h;
    int puts;
    char put_ids[64][256];
    int put_answers[64];
} test_host;

typedef struct inst {
    test_host th;
    void *pi;
    char err[512];
} inst;

/* a plain-HTTP instance on the shared endpoint; extra settings appended */
#define BASE_CONF                                                                                  \
    "region = \"us-east-1\"; endpoint = \"http://127.0.0.1:%d\"; insecure_http = true; "

extern const sm_plugin *sestest_plugin;
/* sestest_fixture - set before sestest_setup_group for another fixture (NULL: the default) */
extern const char *sestest_fixture;
extern char *sestest_log_lines[MAX_LINES];
extern int sestest_nlines;
extern pthread_mutex_t sestest_put_lock;
extern char sestest_tmpdir[256];
extern int sestest_port;

/* sestest_now_ms - CLOCK_MONOTONIC milliseconds */
uint64_t sestest_now_ms(void);
/* sestest_log_mark / logged_since_mark / count_since_mark - look at lines logged since the mark */
void sestest_log_mark(void);
int sestest_logged_since_mark(const char *needle);
int sestest_count_since_mark(const char *needle);
/* sestest_inst_open - config from a printf format; init (and start); 0 or -1 with in->err */
int sestest_inst_open(inst *in, int start, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* sestest_inst_close - close the instance and free its config */
void sestest_inst_close(inst *in);
/* sestest_lookup - one lookup with a deadline timeout_ms from now */
sm_id_answer sestest_lookup(inst *in, const char *id, uint64_t timeout_ms, sm_id_attrs *at);
/* sestest_lookup_until - retry while TEMPFAIL, for at most within_ms */
sm_id_answer sestest_lookup_until(inst *in, const char *id, uint64_t within_ms);
/* sestest_endpoint_start / stop - the Python endpoint, plain or TLS, by PID */
pid_t sestest_endpoint_start(const char *tag, const char *cert, const char *key, int *port_r);
void sestest_endpoint_stop(pid_t pid);
/* sestest_control - call a control URL of the shared endpoint; parsed JSON answer */
json_t *sestest_control(const char *method, const char *path);
/* sestest_api_count - requests the endpoint saw for one API (or event) */
long sestest_api_count(const char *api);
/* sestest_set_mode - "ses=429", "creds=500", ... */
void sestest_set_mode(const char *query);
/* sestest_env_clear / env_static - no AWS variables / the fixture's static keys */
void sestest_env_clear(void);
void sestest_env_static(void);
/* sestest_write_file - a file in the test's directory */
void sestest_write_file(const char *name, const char *text, mode_t mode, char *path_r, size_t len);
/* cmocka fixtures: group (directory, endpoint) and per test (modes, env, instance) */
int sestest_setup_group(void **state);
int sestest_teardown_group(void **state);
int sestest_setup_test(void **state);
int sestest_teardown_test(void **state);
/* sestest_load_plugin - dlopen the built module; NULL on failure (message on stderr) */
const sm_plugin *sestest_load_plugin(void);
/* sestest_unload - free log lines, dlclose */
void sestest_unload(void);

#endif
