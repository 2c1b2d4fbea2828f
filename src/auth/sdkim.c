/*
 * sdkim.c - DKIM verification over libopendkim, fed as the milter streams
 *
 * SYNOPSIS
 *   e = sdkim_engine_new(dns, &opts, err, len);          once per process
 *   v = sdkim_verify_new(e, qid, err, len);               per message
 *   sdkim_verify_header(v, name, value) ... sdkim_verify_eoh(v)
 *   sdkim_verify_body(v, chunk, len) ... sdkim_verify_eom(v, &sigs, &n)
 *   v = sdkim_verify_free(v);
 *
 * DESCRIPTION
 *   libopendkim parses the signatures, canonicalises and hashes the header
 *   fields and does the cryptography.  The body hashes are ours
 *   (sdkim_bodyhash.c, several times faster than libopendkim's byte-at-a-time
 *   canonicalisation): at end of headers sdkim_bodyplan_new() picks one hasher per
 *   canonicalisation and digest the signatures need, libopendkim is given no
 *   body, and sdkim_classify() takes its verdict on the header signature
 *   (DKIM_SIGFLAG_PASSED) with our comparison against bh=.  A message with an
 *   l= signature, or one whose body canonicalisation or algorithm only
 *   libopendkim knows, is left to libopendkim whole.  Its key
 *   lookups are routed to our TXT cache through its DNS service hooks
 *   (sdkim_wire.c: the cached lookup is answered in DNS wire format, as if it
 *   came from res_query()).  This keeps libopendkim's own per-signature error handling
 *   (NXDOMAIN/NODATA = no key, failure = key lookup failed, several records =
 *   multiple replies) so that a temporary failure for one signature never
 *   stops the others from being checked -- which the key-lookup callback
 *   (dkim_set_key_lookup) cannot do: its "try again" aborts dkim_eoh() for
 *   every signature of the message.
 *
 *   Malformed signatures are kept (DKIM_LIBFLAGS_BADSIGHANDLES) so that
 *   they are reported as permerror/neutral instead of silently ignored;
 *   signatures whose key name would overflow libopendkim's query buffer are
 *   set aside before the lookup (libopendkim would abort the whole message)
 *   and reported as permerror.  A key record whose p= is a bare PKCS#1
 *   RSAPublicKey (RFC 6376 3.6.1 taken literally) is rewritten as the
 *   SubjectPublicKeyInfo libopendkim can load (sdkim_key_fixup(), in
 *   sdkim_key.c with the rest of the key-record code: sdkim_key_published()).
 *
 * DIAGNOSTICS
 *   No logging: results carry a short reason, errors go to err/errlen or to
 *   sdkim_verify_error().
 *
 * SECURITY
 *   Header and signature text is untrusted; libopendkim parses it.  Key
 *   lookups of one message share one deadline (opts.timeout_ms) and at most
 *   opts.max_signatures signatures are checked.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <ctype.h>

#include <opendkim/dkim.h>

#include "auth/sdkim_int.h"
#include "lib/util.h"

enum sdkim_vstate { VS_HEADERS, VS_BODY, VS_SKIP, VS_DONE, VS_BROKEN };

struct sdkim_verify {
    sdkim_engine *e;
    DKIM *dk;
    sdkim_bodyplan *plan; /* body hashes ours (sdkim_bodyplan.c); libopendkim sees no body */
    enum sdkim_vstate state;
    uint64_t deadline;  /* for all key lookups of this message */
    size_t sig_headers; /* DKIM-Signature headers seen */
    int lib_nosig;      /* libopendkim saw no usable signature at end of headers */
    sdkim_sig_result *res;
    size_t n_res;
    char *hbuf; /* "Name: value" assembly */
    size_t hcap;
    char err[256];
};

#define SDKIM_DEF_TIMEOUT_MS 5000

const cfg_directive sdkim_cfg_directives[] = {
    {"timeout_ms", CFG_INT, offsetof(sdkim_opts, timeout_ms), NULL, SDKIM_DEF_TIMEOUT_MS, 1, 600000,
     NULL},
    {"min_key_bits", CFG_INT, offsetof(sdkim_opts, min_key_bits), NULL, 1024, 512, 16384, NULL},
    {"allow_rsa_sha1", CFG_BOOL, offsetof(sdkim_opts, allow_rsa_sha1), NULL, 1, 0, 1, NULL},
    {"clock_drift", CFG_INT, offsetof(sdkim_opts, clock_drift), NULL, 300, 0, 86400, NULL},
    {"max_signatures", CFG_INT, offsetof(sdkim_opts, max_signatures), NULL, 10, 1, 100, NULL},
    CFG_END,
};

/* sdkim_opts_defaults - the defaults documented in sdkim.h */
void
sdkim_opts_defaults(sdkim_opts *opts)
{
    memset(opts, 0, sizeof(*opts));
    cfg_defaults(sdkim_cfg_directives, opts);
}

/* ---- engine ---- */

/* sdkim_keyname_long - whether s=._domainkey.d= would not fit libopendkim's query name buffer */
static int
sdkim_keyname_long(DKIM_SIGINFO *sig)
{
    const unsigned char *sel = dkim_sig_getselector(sig), *dom = dkim_sig_getdomain(sig);

    return sel != NULL && dom != NULL &&
           strlen((const char *)sel) + strlen((const char *)dom) + 12 > 253;
}

/*
 * sdkim_prescreen - ignore the signatures beyond max_signatures (no key lookups for
 * them), and those whose key name is too long: libopendkim would abort dkim_eoh()
 */
static DKIM_CBSTAT
sdkim_prescreen(DKIM *dk, DKIM_SIGINFO **sigs, int nsigs)
{
    sdkim_verify *v = dkim_get_user_context(dk);
    int i;

    for (i = 0; v != NULL && i < nsigs; i++)
        if (i >= v->e->opts.max_signatures || sdkim_keyname_long(sigs[i]))
            dkim_sig_ignore(sigs[i]);
    return DKIM_CBSTAT_CONTINUE;
}

/* sdkim_engine_setopt - one dkim_options() call with a message on failure */
static int
sdkim_engine_setopt(sdkim_engine *e, int opt, void *val, size_t len, const char *what, char *err,
                    size_t errlen)
{
    if (dkim_options(e->lib, DKIM_OP_SETOPT, opt, val, len) != DKIM_STAT_OK)
        return util_errf(err, errlen, "libopendkim refused option %s", what);
    return 0;
}

/* sdkim_min_key_bits - the smallest RSA key accepted (libopendkim is told the same) */
static int
sdkim_min_key_bits(const sdkim_engine *e)
{
    return e->opts.min_key_bits > 0 ? e->opts.min_key_bits : 1024;
}

/* sdkim_engine_new - wrap one libopendkim library handle, DNS routed to our cache */
sdkim_engine *
sdkim_engine_new(dns_cache *dns, const sdkim_opts *opts, char *err, size_t errlen)
{
    sdkim_engine *e;
    unsigned int flags, u;
    uint64_t u64;

    if (dns == NULL) {
        util_errf(err, errlen, "dkim: no DNS cache");
        return NULL;
    }
    e = xcalloc(1, sizeof(*e));
    e->dns = dns;
    if (opts != NULL)
        e->opts = *opts;
    else
        sdkim_opts_defaults(&e->opts);
    if (e->opts.timeout_ms <= 0)
        e->opts.timeout_ms = SDKIM_DEF_TIMEOUT_MS;
    if (e->opts.max_signatures <= 0)
        e->opts.max_signatures = 10;
    e->lib = dkim_init(NULL, NULL);
    if (e->lib == NULL) {
        util_errf(err, errlen, "dkim_init() failed");
        return sdkim_engine_free(e);
    }
    if (!dkim_libfeature(e->lib, DKIM_FEATURE_SHA256) ||
        !dkim_libfeature(e->lib, DKIM_FEATURE_ED25519)) {
        util_errf(err, errlen, "libopendkim lacks SHA-256 or Ed25519 support");
        return sdkim_engine_free(e);
    }
    flags = DKIM_LIBFLAGS_BADSIGHANDLES;
    u = (unsigned int)((e->opts.timeout_ms + 999) / 1000);
    if (sdkim_engine_setopt(e, DKIM_OPTS_FLAGS, &flags, sizeof(flags), "flags", err, errlen) < 0 ||
        sdkim_engine_setopt(e, DKIM_OPTS_TIMEOUT, &u, sizeof(u), "timeout", err, errlen) < 0)
        return sdkim_engine_free(e);
    u = (unsigned int)sdkim_min_key_bits(e);
    u64 = (uint64_t)(e->opts.clock_drift > 0 ? e->opts.clock_drift : 0);
    if (sdkim_engine_setopt(e, DKIM_OPTS_MINKEYBITS, &u, sizeof(u), "min_key_bits", err, errlen) <
            0 ||
        sdkim_engine_setopt(e, DKIM_OPTS_CLOCKDRIFT, &u64, sizeof(u64), "clock_drift", err,
                            errlen) < 0)
        return sdkim_engine_free(e);
    sdkim_wire_install(e);
    dkim_set_prescreen(e->lib, sdkim_prescreen);
    return e;
}

/* sdkim_engine_free - close the library handle; returns NULL */
sdkim_engine *
sdkim_engine_free(sdkim_engine *e)
{
    if (e == NULL)
        return NULL;
    if (e->lib != NULL)
        dkim_close(e->lib);
    free(e);
    /* decoded keys are shared by every engine; dropping them only costs a decode */
    sdkim_pkey_flush();
    return NULL;
}

/* ---- results ---- */

static const struct sdkim_errmap {
    int code;
    sdkim_result r;
    const char *reason;
} sdkim_errmap[] = {
    {DKIM_SIGERROR_VERSION, SDKIM_R_NEUTRAL, "unsupported signature version"},
    {DKIM_SIGERROR_DOMAIN, SDKIM_R_PERMERROR, "i= not within d="},
    {DKIM_SIGERROR_EXPIRED, SDKIM_R_PERMERROR, "signature expired"},
    {DKIM_SIGERROR_FUTURE, SDKIM_R_PERMERROR, "signature in the future"},
    {DKIM_SIGERROR_TIMESTAMPS, SDKIM_R_PERMERROR, "x= before t="},
    {DKIM_SIGERROR_INVALID_HC, SDKIM_R_NEUTRAL, "unsupported header canonicalization"},
    {DKIM_SIGERROR_INVALID_BC, SDKIM_R_NEUTRAL, "unsupported body canonicalization"},
    {DKIM_SIGERROR_MISSING_A, SDKIM_R_PERMERROR, "a= missing"},
    {DKIM_SIGERROR_INVALID_A, SDKIM_R_NEUTRAL, "unsupported algorithm"},
    {DKIM_SIGERROR_MISSING_H, SDKIM_R_PERMERROR, "h= missing"},
    {DKIM_SIGERROR_INVALID_L, SDKIM_R_PERMERROR, "l= invalid"},
    {DKIM_SIGERROR_INVALID_Q, SDKIM_R_NEUTRAL, "unsupported query method"},
    {DKIM_SIGERROR_INVALID_QO, SDKIM_R_NEUTRAL, "unsupported query option"},
    {DKIM_SIGERROR_MISSING_D, SDKIM_R_PERMERROR, "d= missing"},
    {DKIM_SIGERROR_EMPTY_D, SDKIM_R_PERMERROR, "d= empty"},
    {DKIM_SIGERROR_MISSING_S, SDKIM_R_PERMERROR, "s= missing"},
    {DKIM_SIGERROR_EMPTY_S, SDKIM_R_PERMERROR, "s= empty"},
    {DKIM_SIGERROR_MISSING_B, SDKIM_R_PERMERROR, "b= missing"},
    {DKIM_SIGERROR_EMPTY_B, SDKIM_R_PERMERROR, "b= empty"},
    {DKIM_SIGERROR_CORRUPT_B, SDKIM_R_PERMERROR, "b= corrupt"},
    {DKIM_SIGERROR_NOKEY, SDKIM_R_PERMERROR, "no key"},
    {DKIM_SIGERROR_DNSSYNTAX, SDKIM_R_PERMERROR, "key record syntax error"},
    {DKIM_SIGERROR_KEYFAIL, SDKIM_R_TEMPERROR, "key lookup failed"},
    {DKIM_SIGERROR_MISSING_BH, SDKIM_R_PERMERROR, "bh= missing"},
    {DKIM_SIGERROR_EMPTY_BH, SDKIM_R_PERMERROR, "bh= empty"},
    {DKIM_SIGERROR_CORRUPT_BH, SDKIM_R_PERMERROR, "bh= corrupt"},
    {DKIM_SIGERROR_BADSIG, SDKIM_R_FAIL, "signature mismatch"},
    {DKIM_SIGERROR_SUBDOMAIN, SDKIM_R_PERMERROR, "key t=s forbids i= subdomain"},
    {DKIM_SIGERROR_MULTIREPLY, SDKIM_R_PERMERROR, "several key records"},
    {DKIM_SIGERROR_EMPTY_H, SDKIM_R_PERMERROR, "h= empty"},
    {DKIM_SIGERROR_INVALID_H, SDKIM_R_PERMERROR, "h= does not cover From"},
    {DKIM_SIGERROR_TOOLARGE_L, SDKIM_R_PERMERROR, "l= exceeds body length"},
    {DKIM_SIGERROR_MBSFAILED, SDKIM_R_PERMERROR, "required header not signed"},
    {DKIM_SIGERROR_KEYVERSION, SDKIM_R_PERMERROR, "key v= invalid"},
    {DKIM_SIGERROR_KEYUNKNOWNHASH, SDKIM_R_PERMERROR, "key h= unknown"},
    {DKIM_SIGERROR_KEYHASHMISMATCH, SDKIM_R_PERMERROR, "key h= excludes signature hash"},
    {DKIM_SIGERROR_NOTEMAILKEY, SDKIM_R_PERMERROR, "key s= not for email"},
    {DKIM_SIGERROR_KEYTYPEMISSING, SDKIM_R_PERMERROR, "key k= missing"},
    {DKIM_SIGERROR_KEYTYPEUNKNOWN, SDKIM_R_PERMERROR, "key k= unknown"},
    {DKIM_SIGERROR_KEYREVOKED, SDKIM_R_PERMERROR, "key revoked"},
    {DKIM_SIGERROR_KEYDECODE, SDKIM_R_PERMERROR, "key cannot be decoded"},
    {DKIM_SIGERROR_MISSING_V, SDKIM_R_PERMERROR, "v= missing"},
    {DKIM_SIGERROR_EMPTY_V, SDKIM_R_PERMERROR, "v= empty"},
    {DKIM_SIGERROR_KEYTOOSMALL, SDKIM_R_PERMERROR, "key too small"},
};

/* sdkim_result_name - RFC 8601 name of a result */
const char *
sdkim_result_name(sdkim_result r)
{
    switch (r) {
    case SDKIM_R_PASS:
        return "pass";
    case SDKIM_R_FAIL:
        return "fail";
    case SDKIM_R_NEUTRAL:
        return "neutral";
    case SDKIM_R_TEMPERROR:
        return "temperror";
    case SDKIM_R_PERMERROR:
        return "permerror";
    }
    return "none";
}

/* sdkim_tag - a signature tag's value copied (lower-cased when asked), "" when absent */
static char *
sdkim_tag(DKIM_SIGINFO *sig, const char *tag, int lower)
{
    const unsigned char *val = dkim_sig_gettagvalue(sig, 0, (u_char *)tag);
    char *s = xstrdup(val != NULL ? (const char *)val : "");

    return lower ? util_lower(s) : s;
}

/* sdkim_split_h - the h= list as lower-case names, whitespace removed */
static void
sdkim_split_h(sdkim_sig_result *r, const char *h)
{
    char **v = NULL;
    size_t n = 0;
    const char *p = h;

    while (*p != '\0') {
        const char *end = strchr(p, ':');
        size_t l = end != NULL ? (size_t)(end - p) : strlen(p);
        char *name = xmalloc(l + 1);
        size_t i, o = 0;

        for (i = 0; i < l; i++)
            if (!isspace((unsigned char)p[i]))
                name[o++] = (char)tolower((unsigned char)p[i]);
        name[o] = '\0';
        if (o > 0) {
            v = xrealloc(v, (n + 1) * sizeof(*v));
            v[n++] = name;
        } else {
            free(name);
        }
        p += l;
        if (*p == ':')
            p++;
    }
    r->signed_headers = (const char *const *)v;
    r->n_signed = n;
}

/* sdkim_b64_tag_ok - whether a signature tag is absent or plain base64 (FWS allowed) */
static int
sdkim_b64_tag_ok(DKIM_SIGINFO *sig, const char *tag)
{
    const unsigned char *p = dkim_sig_gettagvalue(sig, 0, (u_char *)tag);
    size_t pad = 0;

    for (; p != NULL && *p != '\0'; p++) {
        if (*p == '=')
            pad++;
        else if (isspace(*p))
            continue;
        else if (pad > 0 || !(isalnum(*p) || *p == '+' || *p == '/'))
            return 0;
    }
    return pad <= 2;
}

/* sdkim_classify - result and reason of one processed signature; own_bh: -1 when
 * libopendkim hashed the body, else whether our body hash matched bh= (1) or not (0) */
static void
sdkim_classify(sdkim_engine *e, DKIM_SIGINFO *sig, sdkim_sig_result *r, int own_bh)
{
    int serr = dkim_sig_geterror(sig);
    unsigned int flags = dkim_sig_getflags(sig);
    size_t i;

    if ((flags & DKIM_SIGFLAG_IGNORE) != 0 && sdkim_keyname_long(sig)) {
        r->result = SDKIM_R_PERMERROR;
        r->reason = "key name too long";
        return;
    }
    if ((flags & DKIM_SIGFLAG_IGNORE) != 0) {
        r->result = SDKIM_R_NEUTRAL;
        r->reason = "too many signatures, not checked";
        return;
    }
    if ((serr == DKIM_SIGERROR_OK || serr == DKIM_SIGERROR_UNKNOWN ||
         serr == DKIM_SIGERROR_BADSIG) &&
        (!sdkim_b64_tag_ok(sig, "b") || !sdkim_b64_tag_ok(sig, "bh"))) {
        r->result = SDKIM_R_PERMERROR;
        r->reason = "b= or bh= is not base64";
        return;
    }
    /*
     * Our body hash: libopendkim verified the header signature (PASSED) and then found
     * the empty body it was given not to match bh=, or it matched (an empty body).  That
     * mismatch kept it from its key-size check, which only runs on an error-free
     * signature: it is done here as libopendkim does it (not for Ed25519).
     */
    if (own_bh >= 0 && (flags & DKIM_SIGFLAG_PASSED) != 0 &&
        (serr == DKIM_SIGERROR_OK || serr == DKIM_SIGERROR_UNKNOWN ||
         (serr == DKIM_SIGERROR_BADSIG && dkim_sig_getbh(sig) != DKIM_SIGBH_UNTESTED))) {
        if (!own_bh) {
            r->result = SDKIM_R_FAIL;
            r->reason = "body hash mismatch";
        } else if (strcmp(r->algorithm, "ed25519-sha256") != 0 &&
                   r->key_bits < (unsigned int)sdkim_min_key_bits(e)) {
            r->result = SDKIM_R_PERMERROR;
            r->reason = "key too small";
        } else if (!e->opts.allow_rsa_sha1 && strcmp(r->algorithm, "rsa-sha1") == 0) {
            r->result = SDKIM_R_NEUTRAL;
            r->reason = "rsa-sha1 not accepted";
        } else {
            r->result = SDKIM_R_PASS;
            r->reason = "signature verified";
        }
        return;
    }
    if (serr == DKIM_SIGERROR_OK || serr == DKIM_SIGERROR_UNKNOWN) {
        if (DKIM_SIG_CHECK(sig) && !e->opts.allow_rsa_sha1 &&
            strcmp(r->algorithm, "rsa-sha1") == 0) {
            r->result = SDKIM_R_NEUTRAL;
            r->reason = "rsa-sha1 not accepted";
        } else if (DKIM_SIG_CHECK(sig)) {
            r->result = SDKIM_R_PASS;
            r->reason = "signature verified";
        } else if ((flags & DKIM_SIGFLAG_PROCESSED) == 0) {
            r->result = SDKIM_R_TEMPERROR;
            r->reason = "not verified (internal error)";
        } else {
            r->result = SDKIM_R_FAIL;
            r->reason = "signature mismatch";
        }
        return;
    }
    if (serr == DKIM_SIGERROR_BADSIG && dkim_sig_getbh(sig) == DKIM_SIGBH_MISMATCH) {
        r->result = SDKIM_R_FAIL;
        r->reason = "body hash mismatch";
        return;
    }
    for (i = 0; i < SM_ARRAY_LEN(sdkim_errmap); i++) {
        if (sdkim_errmap[i].code == serr) {
            r->result = sdkim_errmap[i].r;
            r->reason = sdkim_errmap[i].reason;
            return;
        }
    }
    r->result = SDKIM_R_PERMERROR;
    r->reason = "signature not usable";
}

/* sdkim_collect - one result per signature libopendkim saw, plus the refused ones */
static void
sdkim_collect(sdkim_verify *v)
{
    DKIM_SIGINFO **sigs = NULL;
    int nsigs = 0, i;
    size_t k, bad;

    if (v->dk != NULL && dkim_getsiglist(v->dk, &sigs, &nsigs) != DKIM_STAT_OK)
        nsigs = 0;
    bad = v->sig_headers > (size_t)nsigs ? v->sig_headers - (size_t)nsigs : 0;
    v->res = xcalloc((size_t)nsigs + bad + 1, sizeof(*v->res));
    for (i = 0; i < nsigs; i++) {
        sdkim_sig_result *r = &v->res[v->n_res++];
        char *h = sdkim_tag(sigs[i], "h", 0);
        unsigned int bits = 0;

        r->domain = sdkim_tag(sigs[i], "d", 1);
        r->selector = sdkim_tag(sigs[i], "s", 0);
        r->identity = sdkim_tag(sigs[i], "i", 0);
        r->algorithm = sdkim_tag(sigs[i], "a", 1);
        sdkim_split_h(r, h);
        free(h);
        if (dkim_sig_getkeysize(sigs[i], &bits) == DKIM_STAT_OK)
            r->key_bits = bits;
        r->testing = (dkim_sig_getflags(sigs[i]) & DKIM_SIGFLAG_TESTKEY) != 0;
        sdkim_classify(v->e, sigs[i], r,
                       v->plan != NULL ? sdkim_bodyplan_match(v->plan, sigs[i]) : -1);
    }
    for (k = 0; k < bad; k++) {
        sdkim_sig_result *r = &v->res[v->n_res++];

        r->domain = xstrdup("");
        r->selector = xstrdup("");
        r->identity = xstrdup("");
        r->algorithm = xstrdup("");
        r->result = SDKIM_R_PERMERROR;
        r->reason = "malformed signature header";
    }
}

/* ---- per-message verifier ---- */

/* sdkim_verify_new - a libopendkim verifying handle for one message */
sdkim_verify *
sdkim_verify_new(sdkim_engine *e, const char *queue_id, char *err, size_t errlen)
{
    sdkim_verify *v;
    DKIM_STAT st = DKIM_STAT_OK;

    if (e == NULL) {
        util_errf(err, errlen, "dkim: no engine");
        return NULL;
    }
    v = xcalloc(1, sizeof(*v));
    v->e = e;
    v->dk =
        dkim_verify(e->lib, (const unsigned char *)(queue_id ? queue_id : "NOQUEUE"), NULL, &st);
    if (v->dk == NULL) {
        util_errf(err, errlen, "dkim_verify(): %s", dkim_getresultstr(st));
        return sdkim_verify_free(v);
    }
    dkim_set_user_context(v->dk, v);
    return v;
}

/* sdkim_verify_fail - remember an error; returns SDKIM_VERIFY_ERROR */
static int
sdkim_verify_fail(sdkim_verify *v, const char *what, DKIM_STAT st)
{
    const char *detail = v->dk != NULL ? dkim_geterror(v->dk) : NULL;

    util_errf(v->err, sizeof(v->err), "%s: %s%s%s", what, dkim_getresultstr(st),
              detail != NULL ? ": " : "", detail != NULL ? detail : "");
    v->state = VS_BROKEN;
    return SDKIM_VERIFY_ERROR;
}

/* sdkim_verify_hdr - hand "name" sep "value" to libopendkim */
static int
sdkim_verify_hdr(sdkim_verify *v, const char *name, const char *sep, const char *value)
{
    size_t nl, sl, vl;
    DKIM_STAT st;

    if (v == NULL || name == NULL)
        return SDKIM_VERIFY_ERROR;
    if (v->state != VS_HEADERS)
        return v->state == VS_BROKEN ? SDKIM_VERIFY_ERROR : SDKIM_VERIFY_OK;
    if (value == NULL)
        value = "";
    nl = strlen(name);
    sl = strlen(sep);
    vl = strlen(value);
    if (nl == 0)
        return SDKIM_VERIFY_OK;
    if (nl + sl + vl + 1 > v->hcap) {
        v->hcap = nl + sl + vl + 1 + 256;
        v->hbuf = xrealloc(v->hbuf, v->hcap);
    }
    memcpy(v->hbuf, name, nl);
    memcpy(v->hbuf + nl, sep, sl);
    memcpy(v->hbuf + nl + sl, value, vl + 1);
    st = dkim_header(v->dk, (u_char *)v->hbuf, nl + sl + vl);
    if (st == DKIM_STAT_NORESOURCE || st == DKIM_STAT_INTERNAL || st == DKIM_STAT_INVALID)
        return sdkim_verify_fail(v, "dkim_header()", st);
    if (strcasecmp(name, "DKIM-Signature") == 0)
        v->sig_headers++; /* those libopendkim refused outright are reported as permerror */
    return SDKIM_VERIFY_OK;
}

/* sdkim_verify_header - "name: value" (libmilter strips the space after the colon) */
int
sdkim_verify_header(sdkim_verify *v, const char *name, const char *value)
{
    return sdkim_verify_hdr(v, name, ": ", value);
}

/* sdkim_verify_header_raw - "name:value", value with its leading whitespace (SMFIP_HDR_LEADSPC) */
int
sdkim_verify_header_raw(sdkim_verify *v, const char *name, const char *value)
{
    return sdkim_verify_hdr(v, name, ":", value);
}

/* sdkim_verify_eoh - end of headers; key lookups run here */
int
sdkim_verify_eoh(sdkim_verify *v)
{
    DKIM_STAT st;

    if (v == NULL || v->state == VS_BROKEN)
        return SDKIM_VERIFY_ERROR;
    if (v->state != VS_HEADERS)
        return v->state == VS_SKIP ? SDKIM_VERIFY_SKIP : SDKIM_VERIFY_OK;
    v->deadline = util_now_ms() + (uint64_t)v->e->opts.timeout_ms;
    sdkim_wire_deadline = v->deadline;
    st = dkim_eoh(v->dk);
    sdkim_wire_deadline = 0;
    if (st == DKIM_STAT_NOSIG) {
        v->lib_nosig = 1;
        v->state = v->sig_headers > 0 ? VS_BODY : VS_SKIP;
        return v->state == VS_SKIP ? SDKIM_VERIFY_SKIP : SDKIM_VERIFY_OK;
    }
    if (st != DKIM_STAT_OK)
        return sdkim_verify_fail(v, "dkim_eoh()", st);
    v->plan = sdkim_bodyplan_new(v->dk);
    v->state = VS_BODY;
    return SDKIM_VERIFY_OK;
}

/* sdkim_verify_body - one body chunk */
int
sdkim_verify_body(sdkim_verify *v, const unsigned char *chunk, size_t len)
{
    DKIM_STAT st;

    if (v == NULL || v->state == VS_BROKEN)
        return SDKIM_VERIFY_ERROR;
    if (v->state == VS_HEADERS && sdkim_verify_eoh(v) == SDKIM_VERIFY_ERROR)
        return SDKIM_VERIFY_ERROR;
    if (v->state == VS_SKIP)
        return SDKIM_VERIFY_SKIP;
    if (v->state != VS_BODY || chunk == NULL || len == 0)
        return SDKIM_VERIFY_OK;
    if (v->plan != NULL) {
        sdkim_bodyplan_update(v->plan, chunk, len);
        return SDKIM_VERIFY_OK;
    }
    st = dkim_body(v->dk, (u_char *)chunk, len);
    if (st != DKIM_STAT_OK)
        return sdkim_verify_fail(v, "dkim_body()", st);
    return SDKIM_VERIFY_OK;
}

/* sdkim_verify_eom - finish verification and report every signature */
int
sdkim_verify_eom(sdkim_verify *v, const sdkim_sig_result **sigs_r, size_t *n_r)
{
    DKIM_STAT st = DKIM_STAT_OK;

    if (sigs_r != NULL)
        *sigs_r = NULL;
    if (n_r != NULL)
        *n_r = 0;
    if (v == NULL || v->state == VS_BROKEN)
        return SDKIM_VERIFY_ERROR;
    if (v->state == VS_HEADERS && sdkim_verify_eoh(v) == SDKIM_VERIFY_ERROR)
        return SDKIM_VERIFY_ERROR;
    if (v->state == VS_BODY && v->plan != NULL)
        sdkim_bodyplan_final(v->plan);
    if (v->state == VS_BODY && !v->lib_nosig) {
        sdkim_wire_deadline = v->deadline;
        st = dkim_eom(v->dk, NULL);
        sdkim_wire_deadline = 0;
        if (st == DKIM_STAT_NORESOURCE || st == DKIM_STAT_INTERNAL || st == DKIM_STAT_INVALID)
            return sdkim_verify_fail(v, "dkim_eom()", st);
    }
    if (v->state != VS_DONE) {
        if (v->state == VS_BODY)
            sdkim_collect(v);
        v->state = VS_DONE;
    }
    if (sigs_r != NULL)
        *sigs_r = v->res;
    if (n_r != NULL)
        *n_r = v->n_res;
    return SDKIM_VERIFY_OK;
}

/* sdkim_verify_error - last error text */
const char *
sdkim_verify_error(const sdkim_verify *v)
{
    return v != NULL ? v->err : "";
}

/* sdkim_verify_free - free the libopendkim handle and the results; returns NULL */
sdkim_verify *
sdkim_verify_free(sdkim_verify *v)
{
    size_t i, k;

    if (v == NULL)
        return NULL;
    if (v->dk != NULL)
        dkim_free(v->dk);
    sdkim_bodyplan_free(v->plan);
    for (i = 0; i < v->n_res; i++) {
        sdkim_sig_result *r = &v->res[i];

        free((void *)r->domain);
        free((void *)r->selector);
        free((void *)r->identity);
        free((void *)r->algorithm);
        for (k = 0; k < r->n_signed; k++)
            free((void *)r->signed_headers[k]);
        free((void *)r->signed_headers);
    }
    free(v->res);
    free(v->hbuf);
    free(v);
    return NULL;
}

/* sdkim_sig_covers - whether h= lists header_name */
int
sdkim_sig_covers(const sdkim_sig_result *sig, const char *header_name)
{
    size_t i;

    if (sig == NULL || header_name == NULL)
        return 0;
    for (i = 0; i < sig->n_signed; i++)
        if (strcasecmp(sig->signed_headers[i], header_name) == 0)
            return 1;
    return 0;
}
