/*
 * fuzz_ses_json.c - libFuzzer target for the SES plugin's answer parsers
 *
 * Purpose: the input is a list of HTTP answer bodies separated by NUL
 * bytes.  Each body is handed, as SES's 200 answer, to the plugin's own
 * code: GetEmailIdentity (ses_lookup -> ses_parse_identity), GetAccount
 * (seswarm_account), and all of them in turn as the pages of one
 * ListEmailIdentities walk (seswarm_list -> seswarm_page -> seswarm_put,
 * which pushes into the host cache); each body is also parsed as an AWS
 * error answer (http_parse_aws_error; a body of several lines gives its
 * first line as the x-amzn-ErrorType header), as IMDS/container credentials
 * (credsrc_parse_json) and as an STS answer (credsrc_parse_sts_xml), and
 * redacted (redact_text).
 *
 * The plugin's ses.c and seswarm.c are compiled into this file (their
 * parsers are static); sesapi_call() is replaced by one that serves the
 * next body, or a 500 when there is none, so nothing leaves the process
 * and no thread is started.  Checked invariants (abort otherwise, so that
 * libFuzzer records the input): every answer is one of the four the ABI
 * defines; attrs fields stay NUL-terminated and printable; what reaches
 * the host cache is a non-empty identity of the right kind with a
 * lower-case domain; redaction is idempotent; the walk counts as complete
 * only when a well-formed page ends it (a malformed page is a failure, to
 * be retried, not the end of the list).
 * Built only with ./configure --enable-fuzzing CC=clang (mk/fuzz.am).
 */
#include "../../plugins/ses/ses.c"
#include "../../plugins/ses/seswarm.c"

#include <stdint.h>

#include "credsrc.h"
#include "redact.h"

const char *__asan_default_options(void);
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_BODIES 64

static ses_instance fuzz_in;
static const char *fuzz_body[FUZZ_MAX_BODIES];
static size_t fuzz_nbody, fuzz_next, fuzz_end;

/* fuzz_check - abort unless cond holds */
static void
fuzz_check(int cond)
{
    if (!cond)
        abort();
}

/* fuzz_field - a fixed attrs field: NUL-terminated, printable ASCII */
static void
fuzz_field(const char *f, size_t size)
{
    const char *nul = memchr(f, '\0', size);

    fuzz_check(nul != NULL);
    for (const char *p = f; p < nul; p++)
        fuzz_check(*p >= 0x20 && *p <= 0x7e);
}

/* fuzz_attrs - every text field of attrs */
static void
fuzz_attrs(const sm_id_attrs *at)
{
    fuzz_field(at->identity, sizeof(at->identity));
    fuzz_field(at->region, sizeof(at->region));
    fuzz_field(at->detail, sizeof(at->detail));
    fuzz_field(at->dkim_status, sizeof(at->dkim_status));
    fuzz_field(at->dkim_origin, sizeof(at->dkim_origin));
    fuzz_field(at->mail_from_domain, sizeof(at->mail_from_domain));
    fuzz_field(at->mail_from_status, sizeof(at->mail_from_status));
    fuzz_field(at->mail_from_behavior, sizeof(at->mail_from_behavior));
}

/* ---- the host's side ---- */

static void fuzz_host_log(void *ctx, int level, const char *qid, const char *fmt, ...)
    SESUTIL_PRINTF(4, 5);

static void
fuzz_host_log(void *ctx, int level, const char *qid, const char *fmt, ...)
{
    char line[2048];
    va_list ap;

    (void)ctx;
    (void)level;
    (void)qid;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
}

static void
fuzz_host_cache_put(void *ctx, const char *identity, sm_id_kind kind, sm_id_answer answer,
                    const sm_id_attrs *attrs)
{
    const char *at = strrchr(identity, '@');

    (void)ctx;
    fuzz_check(*identity != '\0' && strlen(identity) < 256);
    fuzz_check(kind == (at != NULL ? SM_IDKIND_ADDRESS : SM_IDKIND_DOMAIN));
    for (const char *p = at != NULL ? at : identity; *p; p++)
        fuzz_check(!(*p >= 'A' && *p <= 'Z'));
    fuzz_check(answer == SM_ID_VERIFIED || answer == SM_ID_NOT_VERIFIED);
    fuzz_check(attrs != NULL && attrs->size == sizeof(*attrs));
    fuzz_attrs(attrs);
}

/* ---- sesapi.c, replaced: the next body is SES's answer ---- */

int
sesapi_init(sesapi *a, const char *endpoint, const char *region, int allow_http, char *err,
            size_t errlen)
{
    (void)err;
    (void)errlen;
    memset(a, 0, sizeof(*a));
    a->endpoint = sesutil_strdup(endpoint);
    a->region = sesutil_strdup(region);
    a->allow_http = allow_http;
    return 0;
}

void
sesapi_clear(sesapi *a)
{
    free(a->endpoint);
    free(a->host);
    free(a->region);
    memset(a, 0, sizeof(*a));
}

void
sesapi_call(sesapi *a, const char *path, const char *query, uint64_t deadline_ms, sesapi_result *r)
{
    (void)a;
    (void)path;
    (void)query;
    (void)deadline_ms;
    memset(r, 0, sizeof(*r));
    if (fuzz_next >= fuzz_end) {
        r->status = SESAPI_SERVER;
        r->http_status = 500;
        r->code = sesutil_strdup("InternalFailure");
        return;
    }
    r->status = SESAPI_OK;
    r->http_status = 200;
    r->body = sesutil_strdup(fuzz_body[fuzz_next++]);
}

/* sesapi_post - the POSTs (ListTenantResources) are served the same bodies */
void
sesapi_post(sesapi *a, const char *path, const char *json_body, uint64_t deadline_ms,
            sesapi_result *r)
{
    (void)json_body;
    sesapi_call(a, path, NULL, deadline_ms, r);
}

void
sesapi_result_clear(sesapi_result *r)
{
    free(r->body);
    free(r->code);
    free(r->message);
    memset(r, 0, sizeof(*r));
}

void
sesapi_explain(const sesapi *a, const sesapi_result *r, const char *api, const char *permission,
               char *out, size_t outlen)
{
    (void)a;
    snprintf(out, outlen, "SES %s (%s): HTTP %ld %s", api, permission, r->http_status,
             r->code != NULL ? r->code : "");
}

const char *
sesapi_status_name(sesapi_status s)
{
    return s == SESAPI_OK ? "ok" : "error";
}

/* ---- the target ---- */

/* __asan_default_options - a 16 MiB quarantine: see fuzz_audit_chain.c (1.5 times faster) */
const char *
__asan_default_options(void)
{
    return "quarantine_size_mb=16";
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_in.host.abi_version = SM_PLUGIN_ABI_VERSION;
    fuzz_in.host.size = sizeof(fuzz_in.host);
    fuzz_in.host.log = fuzz_host_log;
    fuzz_in.host.cache_put = fuzz_host_cache_put;
    fuzz_in.name = sesutil_strdup("fuzz");
    fuzz_in.set.region = sesutil_strdup("us-east-1");
    fuzz_in.set.timeout_ms = 3000;
    fuzz_in.set.warmup_page_size = 1000;
    fuzz_in.set.verified_ttl = 3600;
    fuzz_in.set.not_verified_ttl = 300;
    /* the loader's defaults (sesconf.c): GetAccount answers meet real settings */
    fuzz_in.set.sandbox_recipients = 1;
    fuzz_in.set.send_quota = 1;
    fuzz_in.set.on_probation_bulk = sesutil_strdup("tempfail");
    fuzz_in.set.on_probation_transactional = sesutil_strdup("accept");
    fuzz_in.set.on_shutdown = sesutil_strdup("reject");
    fuzz_in.set.on_sending_disabled = sesutil_strdup("tempfail");
    sesapi_init(&fuzz_in.api, "https://email.us-east-1.amazonaws.com", "us-east-1", 0, NULL, 0);
    pthread_mutex_init(&fuzz_in.lock, NULL);
    pthread_cond_init(&fuzz_in.cond, NULL);
    return 0;
}

/* fuzz_lookup - GetEmailIdentity for one identity, answered by body i */
static void
fuzz_lookup(size_t i, const char *identity)
{
    sm_id_query q = {sizeof(q), identity, SM_IDKIND_DOMAIN, 0, "FUZZQID"};
    sm_id_attrs at;
    sm_id_answer ans;

    memset(&at, 0, sizeof(at));
    at.size = sizeof(at);
    fuzz_next = i;
    fuzz_end = i + 1;
    ans = ses_lookup(&fuzz_in, &q, &at);
    fuzz_check(ans >= SM_ID_VERIFIED && ans <= SM_ID_TEMPFAIL);
    fuzz_attrs(&at);
}

/* fuzz_other_parsers - the body as an error answer, credentials, STS XML; redaction */
static void
fuzz_other_parsers(const char *body)
{
    http_response hr;
    creds_value cv;
    size_t eol = strcspn(body, "\r\n");
    /* x-amzn-ErrorType: the first line of a body that has more than one, else none */
    char err[256], *hdr = body[eol] != '\0' ? sesutil_strndup(body, eol) : NULL, *r1, *r2;

    memset(&hr, 0, sizeof(hr));
    http_parse_aws_error(hdr, body, &hr);
    free(hr.error_code);
    free(hr.error_message);
    free(hdr);
    if (credsrc_parse_json(body, &cv, err, sizeof(err)) == 0)
        creds_value_clear(&cv);
    if (credsrc_parse_sts_xml(body, &cv, err, sizeof(err)) == 0)
        creds_value_clear(&cv);
    r1 = redact_text(body);
    r2 = redact_text(r1);
    fuzz_check(strcmp(r1, r2) == 0);
    free(r1);
    free(r2);
}

/*
 * fuzz_list_expect - what seswarm_list must return for these pages: 0 when a page
 * that is a JSON object ends the list (no NextToken, or not a string, or ""), -1
 * when a page is malformed or the list goes on past the last answer
 */
static int
fuzz_list_expect(void)
{
    for (size_t k = 0; k < fuzz_nbody; k++) {
        json_t *root = json_loads(fuzz_body[k], 0, NULL), *next;
        int more;

        if (!json_is_object(root)) {
            json_decref(root);
            return -1;
        }
        next = json_object_get(root, "NextToken");
        more = json_is_string(next) && *json_string_value(next) != '\0';
        json_decref(root);
        if (!more)
            return 0;
    }
    return -1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf;

    if (size > 65536)
        return 0;
    buf = sesutil_malloc(size + 1);
    memcpy(buf, data, size);
    buf[size] = '\0';
    fuzz_nbody = 0;
    for (size_t off = 0; off <= size && fuzz_nbody < FUZZ_MAX_BODIES; off += strlen(buf + off) + 1)
        fuzz_body[fuzz_nbody++] = buf + off;
    for (size_t i = 0; i < fuzz_nbody; i++) {
        fuzz_lookup(i, i % 2 ? "someone@example.com" : "example.com");
        fuzz_next = i;
        fuzz_end = i + 1;
        (void)sesacct_refresh(&fuzz_in); /* GetAccount: sesacct_parse */
        fuzz_other_parsers(fuzz_body[i]);
    }
    fuzz_next = 0;
    fuzz_end = fuzz_nbody;
    fuzz_check(seswarm_list(&fuzz_in) == fuzz_list_expect());
    /* the failure log is rate-limited per kind: forget it, so each input logs alike */
    memset(fuzz_in.last_log_ms, 0, sizeof(fuzz_in.last_log_ms));
    free(buf);
    return 0;
}
