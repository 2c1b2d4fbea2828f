/*
 * dkim.c - DKIM verification over libopendkim, fed as the milter streams
 *
 * SYNOPSIS
 *   e = dkim_engine_new(dns, &opts, err, len);          once per process
 *   v = dkim_verify_new(e, qid, err, len);               per message
 *   dkim_verify_header(v, name, value) ... dkim_verify_eoh(v)
 *   dkim_verify_body(v, chunk, len) ... dkim_verify_eom(v, &sigs, &n)
 *   v = dkim_verify_free(v);
 *
 * DESCRIPTION
 *   libopendkim parses the signatures, canonicalises and hashes the header
 *   fields and does the cryptography.  The body hashes are ours
 *   (dkim_bodyhash.c, several times faster than libopendkim's byte-at-a-time
 *   canonicalisation): at end of headers dkim_bodyplan_new() picks one hasher per
 *   canonicalisation and digest the signatures need, libopendkim is given no
 *   body, and dkim_classify() takes its verdict on the header signature
 *   (DKIM_SIGFLAG_PASSED) with our comparison against bh=.  A message with an
 *   l= signature, or one whose body canonicalisation or algorithm only
 *   libopendkim knows, is left to libopendkim whole.  Its key
 *   lookups are routed to our TXT cache through its DNS service hooks
 *   (dkim_wire.c: the cached lookup is answered in DNS wire format, as if it
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
 *   SubjectPublicKeyInfo libopendkim can load (dkim_key_fixup(), in
 *   dkim_key.c with the rest of the key-record code: dkim_key_published()).
 *
 * DIAGNOSTICS
 *   No logging: results carry a short reason, errors go to err/errlen or to
 *   dkim_verify_error().
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

/* libopendkim's function dkim_verify() would clash with our type dkim_verify */
#define dkim_verify sm_opendkim_verify_unused
#include <opendkim/dkim.h>
#undef dkim_verify
extern DKIM *sm_opendkim_verify(DKIM_LIB *lib, const unsigned char *id, void *closure,
                                DKIM_STAT *statp) __asm__("dkim_verify");

#include "auth/dkim_int.h"
#include "lib/util.h"

enum dkim_vstate { VS_HEADERS, VS_BODY, VS_SKIP, VS_DONE, VS_BROKEN };

struct dkim_verify {
    dkim_engine *e;
    DKIM *dk;
    dkim_bodyplan *plan; /* body hashes ours (dkim_bodyplan.c); libopendkim sees no body */
    enum dkim_vstate state;
    uint64_t deadline;  /* for all key lookups of this message */
    size_t sig_headers; /* DKIM-Signature headers seen */
    int lib_nosig;      /* libopendkim saw no usable signature at end of headers */
    dkim_sig_result *res;
    size_t n_res;
    char *hbuf; /* "Name: value" assembly */
    size_t hcap;
    char err[256];
};

#define DKIM_DEF_TIMEOUT_MS 5000

const cfg_directive dkim_cfg_directives[] = {
    {"timeout_ms", CFG_INT, offsetof(dkim_opts, timeout_ms), NULL, DKIM_DEF_TIMEOUT_MS, 1, 600000,
     NULL},
    {"min_key_bits", CFG_INT, offsetof(dkim_opts, min_key_bits), NULL, 1024, 512, 16384, NULL},
    {"allow_rsa_sha1", CFG_BOOL, offsetof(dkim_opts, allow_rsa_sha1), NULL, 1, 0, 1, NULL},
    {"clock_drift", CFG_INT, offsetof(dkim_opts, clock_drift), NULL, 300, 0, 86400, NULL},
    {"max_signatures", CFG_INT, offsetof(dkim_opts, max_signatures), NULL, 10, 1, 100, NULL},
    CFG_END,
};

/* dkim_opts_defaults - the defaults documented in dkim.h */
void
dkim_opts_defaults(dkim_opts *opts)
{
    memset(opts, 0, sizeof(*opts));
    cfg_defaults(dkim_cfg_directives, opts);
}

/* ---- engine ---- */

/* dkim_keyname_long - whether s=._domainkey.d= would not fit libopendkim's query name buffer */
static int
dkim_keyname_long(DKIM_SIGINFO *sig)
{
    const unsigned char *sel = dkim_sig_getselector(sig), *dom = dkim_sig_getdomain(sig);

    return sel != NULL && dom != NULL &&
           strlen((const char *)sel) + strlen((const char *)dom) + 12 > 253;
}

/*
 * dkim_prescreen - ignore the signatures beyond max_signatures (no key lookups for
 * them), and those whose key name is too long: libopendkim would abort dkim_eoh()
 */
static DKIM_CBSTAT
dkim_prescreen(DKIM *dk, DKIM_SIGINFO **sigs, int nsigs)
{
    dkim_verify *v = dkim_get_user_context(dk);
    int i;

    for (i = 0; v != NULL && i < nsigs; i++)
        if (i >= v->e->opts.max_signatures || dkim_keyname_long(sigs[i]))
            dkim_sig_ignore(sigs[i]);
    return DKIM_CBSTAT_CONTINUE;
}

/* dkim_engine_setopt - one dkim_options() call with a message on failure */
static int
dkim_engine_setopt(dkim_engine *e, int opt, void *val, size_t len, const char *what, char *err,
                   size_t errlen)
{
    if (dkim_options(e->lib, DKIM_OP_SETOPT, opt, val, len) != DKIM_STAT_OK)
        return util_errf(err, errlen, "libopendkim refused option %s", what);
    return 0;
}

/* dkim_min_key_bits - the smallest RSA key accepted (libopendkim is told the same) */
static int
dkim_min_key_bits(const dkim_engine *e)
{
    return e->opts.min_key_bits > 0 ? e->opts.min_key_bits : 1024;
}

/* dkim_engine_new - wrap one libopendkim library handle, DNS routed to our cache */
dkim_engine *
dkim_engine_new(dns_cache *dns, const dkim_opts *opts, char *err, size_t errlen)
{
    dkim_engine *e;
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
        dkim_opts_defaults(&e->opts);
    if (e->opts.timeout_ms <= 0)
        e->opts.timeout_ms = DKIM_DEF_TIMEOUT_MS;
    if (e->opts.max_signatures <= 0)
        e->opts.max_signatures = 10;
    e->lib = dkim_init(NULL, NULL);
    if (e->lib == NULL) {
        util_errf(err, errlen, "dkim_init() failed");
        return dkim_engine_free(e);
    }
    if (!dkim_libfeature(e->lib, DKIM_FEATURE_SHA256) ||
        !dkim_libfeature(e->lib, DKIM_FEATURE_ED25519)) {
        util_errf(err, errlen, "libopendkim lacks SHA-256 or Ed25519 support");
        return dkim_engine_free(e);
    }
    flags = DKIM_LIBFLAGS_BADSIGHANDLES;
    u = (unsigned int)((e->opts.timeout_ms + 999) / 1000);
    if (dkim_engine_setopt(e, DKIM_OPTS_FLAGS, &flags, sizeof(flags), "flags", err, errlen) < 0 ||
        dkim_engine_setopt(e, DKIM_OPTS_TIMEOUT, &u, sizeof(u), "timeout", err, errlen) < 0)
        return dkim_engine_free(e);
    u = (unsigned int)dkim_min_key_bits(e);
    u64 = (uint64_t)(e->opts.clock_drift > 0 ? e->opts.clock_drift : 0);
    if (dkim_engine_setopt(e, DKIM_OPTS_MINKEYBITS, &u, sizeof(u), "min_key_bits", err, errlen) <
            0 ||
        dkim_engine_setopt(e, DKIM_OPTS_CLOCKDRIFT, &u64, sizeof(u64), "clock_drift", err, errlen) <
            0)
        return dkim_engine_free(e);
    dkim_wire_install(e);
    dkim_set_prescreen(e->lib, dkim_prescreen);
    return e;
}

/* dkim_engine_free - close the library handle; returns NULL */
dkim_engine *
dkim_engine_free(dkim_engine *e)
{
    if (e == NULL)
        return NULL;
    if (e->lib != NULL)
        dkim_close(e->lib);
    free(e);
    /* decoded keys are shared by every engine; dropping them only costs a decode */
    dkim_pkey_flush();
    return NULL;
}

/* ---- results ---- */

static const struct dkim_errmap {
    int code;
    dkim_result r;
    const char *reason;
} dkim_errmap[] = {
    {DKIM_SIGERROR_VERSION, DKIM_R_NEUTRAL, "unsupported signature version"},
    {DKIM_SIGERROR_DOMAIN, DKIM_R_PERMERROR, "i= not within d="},
    {DKIM_SIGERROR_EXPIRED, DKIM_R_PERMERROR, "signature expired"},
    {DKIM_SIGERROR_FUTURE, DKIM_R_PERMERROR, "signature in the future"},
    {DKIM_SIGERROR_TIMESTAMPS, DKIM_R_PERMERROR, "x= before t="},
    {DKIM_SIGERROR_INVALID_HC, DKIM_R_NEUTRAL, "unsupported header canonicalization"},
    {DKIM_SIGERROR_INVALID_BC, DKIM_R_NEUTRAL, "unsupported body canonicalization"},
    {DKIM_SIGERROR_MISSING_A, DKIM_R_PERMERROR, "a= missing"},
    {DKIM_SIGERROR_INVALID_A, DKIM_R_NEUTRAL, "unsupported algorithm"},
    {DKIM_SIGERROR_MISSING_H, DKIM_R_PERMERROR, "h= missing"},
    {DKIM_SIGERROR_INVALID_L, DKIM_R_PERMERROR, "l= invalid"},
    {DKIM_SIGERROR_INVALID_Q, DKIM_R_NEUTRAL, "unsupported query method"},
    {DKIM_SIGERROR_INVALID_QO, DKIM_R_NEUTRAL, "unsupported query option"},
    {DKIM_SIGERROR_MISSING_D, DKIM_R_PERMERROR, "d= missing"},
    {DKIM_SIGERROR_EMPTY_D, DKIM_R_PERMERROR, "d= empty"},
    {DKIM_SIGERROR_MISSING_S, DKIM_R_PERMERROR, "s= missing"},
    {DKIM_SIGERROR_EMPTY_S, DKIM_R_PERMERROR, "s= empty"},
    {DKIM_SIGERROR_MISSING_B, DKIM_R_PERMERROR, "b= missing"},
    {DKIM_SIGERROR_EMPTY_B, DKIM_R_PERMERROR, "b= empty"},
    {DKIM_SIGERROR_CORRUPT_B, DKIM_R_PERMERROR, "b= corrupt"},
    {DKIM_SIGERROR_NOKEY, DKIM_R_PERMERROR, "no key"},
    {DKIM_SIGERROR_DNSSYNTAX, DKIM_R_PERMERROR, "key record syntax error"},
    {DKIM_SIGERROR_KEYFAIL, DKIM_R_TEMPERROR, "key lookup failed"},
    {DKIM_SIGERROR_MISSING_BH, DKIM_R_PERMERROR, "bh= missing"},
    {DKIM_SIGERROR_EMPTY_BH, DKIM_R_PERMERROR, "bh= empty"},
    {DKIM_SIGERROR_CORRUPT_BH, DKIM_R_PERMERROR, "bh= corrupt"},
    {DKIM_SIGERROR_BADSIG, DKIM_R_FAIL, "signature mismatch"},
    {DKIM_SIGERROR_SUBDOMAIN, DKIM_R_PERMERROR, "key t=s forbids i= subdomain"},
    {DKIM_SIGERROR_MULTIREPLY, DKIM_R_PERMERROR, "several key records"},
    {DKIM_SIGERROR_EMPTY_H, DKIM_R_PERMERROR, "h= empty"},
    {DKIM_SIGERROR_INVALID_H, DKIM_R_PERMERROR, "h= does not cover From"},
    {DKIM_SIGERROR_TOOLARGE_L, DKIM_R_PERMERROR, "l= exceeds body length"},
    {DKIM_SIGERROR_MBSFAILED, DKIM_R_PERMERROR, "required header not signed"},
    {DKIM_SIGERROR_KEYVERSION, DKIM_R_PERMERROR, "key v= invalid"},
    {DKIM_SIGERROR_KEYUNKNOWNHASH, DKIM_R_PERMERROR, "key h= unknown"},
    {DKIM_SIGERROR_KEYHASHMISMATCH, DKIM_R_PERMERROR, "key h= excludes signature hash"},
    {DKIM_SIGERROR_NOTEMAILKEY, DKIM_R_PERMERROR, "key s= not for email"},
    {DKIM_SIGERROR_KEYTYPEMISSING, DKIM_R_PERMERROR, "key k= missing"},
    {DKIM_SIGERROR_KEYTYPEUNKNOWN, DKIM_R_PERMERROR, "key k= unknown"},
    {DKIM_SIGERROR_KEYREVOKED, DKIM_R_PERMERROR, "key revoked"},
    {DKIM_SIGERROR_KEYDECODE, DKIM_R_PERMERROR, "key cannot be decoded"},
    {DKIM_SIGERROR_MISSING_V, DKIM_R_PERMERROR, "v= missing"},
    {DKIM_SIGERROR_EMPTY_V, DKIM_R_PERMERROR, "v= empty"},
    {DKIM_SIGERROR_KEYTOOSMALL, DKIM_R_PERMERROR, "key too small"},
};

/* dkim_result_name - RFC 8601 name of a result */
const char *
dkim_result_name(dkim_result r)
{
    switch (r) {
    case DKIM_R_PASS:
        return "pass";
    case DKIM_R_FAIL:
        return "fail";
    case DKIM_R_NEUTRAL:
        return "neutral";
    case DKIM_R_TEMPERROR:
        return "temperror";
    case DKIM_R_PERMERROR:
        return "permerror";
    }
    return "none";
}

/* dkim_tag - a signature tag's value copied (lower-cased when asked), "" when absent */
static char *
dkim_tag(DKIM_SIGINFO *sig, const char *tag, int lower)
{
    const unsigned char *val = dkim_sig_gettagvalue(sig, 0, (u_char *)tag);
    char *s = xstrdup(val != NULL ? (const char *)val : "");

    return lower ? util_lower(s) : s;
}

/* dkim_split_h - the h= list as lower-case names, whitespace removed */
static void
dkim_split_h(dkim_sig_result *r, const char *h)
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

/* dkim_b64_tag_ok - whether a signature tag is absent or plain base64 (FWS allowed) */
static int
dkim_b64_tag_ok(DKIM_SIGINFO *sig, const char *tag)
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

/* dkim_classify - result and reason of one processed signature; own_bh: -1 when
 * libopendkim hashed the body, else whether our body hash matched bh= (1) or not (0) */
static void
dkim_classify(dkim_engine *e, DKIM_SIGINFO *sig, dkim_sig_result *r, int own_bh)
{
    int serr = dkim_sig_geterror(sig);
    unsigned int flags = dkim_sig_getflags(sig);
    size_t i;

    if ((flags & DKIM_SIGFLAG_IGNORE) != 0 && dkim_keyname_long(sig)) {
        r->result = DKIM_R_PERMERROR;
        r->reason = "key name too long";
        return;
    }
    if ((flags & DKIM_SIGFLAG_IGNORE) != 0) {
        r->result = DKIM_R_NEUTRAL;
        r->reason = "too many signatures, not checked";
        return;
    }
    if ((serr == DKIM_SIGERROR_OK || serr == DKIM_SIGERROR_UNKNOWN ||
         serr == DKIM_SIGERROR_BADSIG) &&
        (!dkim_b64_tag_ok(sig, "b") || !dkim_b64_tag_ok(sig, "bh"))) {
        r->result = DKIM_R_PERMERROR;
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
            r->result = DKIM_R_FAIL;
            r->reason = "body hash mismatch";
        } else if (strcmp(r->algorithm, "ed25519-sha256") != 0 &&
                   r->key_bits < (unsigned int)dkim_min_key_bits(e)) {
            r->result = DKIM_R_PERMERROR;
            r->reason = "key too small";
        } else if (!e->opts.allow_rsa_sha1 && strcmp(r->algorithm, "rsa-sha1") == 0) {
            r->result = DKIM_R_NEUTRAL;
            r->reason = "rsa-sha1 not accepted";
        } else {
            r->result = DKIM_R_PASS;
            r->reason = "signature verified";
        }
        return;
    }
    if (serr == DKIM_SIGERROR_OK || serr == DKIM_SIGERROR_UNKNOWN) {
        if (DKIM_SIG_CHECK(sig) && !e->opts.allow_rsa_sha1 &&
            strcmp(r->algorithm, "rsa-sha1") == 0) {
            r->result = DKIM_R_NEUTRAL;
            r->reason = "rsa-sha1 not accepted";
        } else if (DKIM_SIG_CHECK(sig)) {
            r->result = DKIM_R_PASS;
            r->reason = "signature verified";
        } else if ((flags & DKIM_SIGFLAG_PROCESSED) == 0) {
            r->result = DKIM_R_TEMPERROR;
            r->reason = "not verified (internal error)";
        } else {
            r->result = DKIM_R_FAIL;
            r->reason = "signature mismatch";
        }
        return;
    }
    if (serr == DKIM_SIGERROR_BADSIG && dkim_sig_getbh(sig) == DKIM_SIGBH_MISMATCH) {
        r->result = DKIM_R_FAIL;
        r->reason = "body hash mismatch";
        return;
    }
    for (i = 0; i < SM_ARRAY_LEN(dkim_errmap); i++) {
        if (dkim_errmap[i].code == serr) {
            r->result = dkim_errmap[i].r;
            r->reason = dkim_errmap[i].reason;
            return;
        }
    }
    r->result = DKIM_R_PERMERROR;
    r->reason = "signature not usable";
}

/* dkim_collect - one result per signature libopendkim saw, plus the refused ones */
static void
dkim_collect(dkim_verify *v)
{
    DKIM_SIGINFO **sigs = NULL;
    int nsigs = 0, i;
    size_t k, bad;

    if (v->dk != NULL && dkim_getsiglist(v->dk, &sigs, &nsigs) != DKIM_STAT_OK)
        nsigs = 0;
    bad = v->sig_headers > (size_t)nsigs ? v->sig_headers - (size_t)nsigs : 0;
    v->res = xcalloc((size_t)nsigs + bad + 1, sizeof(*v->res));
    for (i = 0; i < nsigs; i++) {
        dkim_sig_result *r = &v->res[v->n_res++];
        char *h = dkim_tag(sigs[i], "h", 0);
        unsigned int bits = 0;

        r->domain = dkim_tag(sigs[i], "d", 1);
        r->selector = dkim_tag(sigs[i], "s", 0);
        r->identity = dkim_tag(sigs[i], "i", 0);
        r->algorithm = dkim_tag(sigs[i], "a", 1);
        dkim_split_h(r, h);
        free(h);
        if (dkim_sig_getkeysize(sigs[i], &bits) == DKIM_STAT_OK)
            r->key_bits = bits;
        r->testing = (dkim_sig_getflags(sigs[i]) & DKIM_SIGFLAG_TESTKEY) != 0;
        dkim_classify(v->e, sigs[i], r,
                      v->plan != NULL ? dkim_bodyplan_match(v->plan, sigs[i]) : -1);
    }
    for (k = 0; k < bad; k++) {
        dkim_sig_result *r = &v->res[v->n_res++];

        r->domain = xstrdup("");
        r->selector = xstrdup("");
        r->identity = xstrdup("");
        r->algorithm = xstrdup("");
        r->result = DKIM_R_PERMERROR;
        r->reason = "malformed signature header";
    }
}

/* ---- per-message verifier ---- */

/* dkim_verify_new - a libopendkim verifying handle for one message */
dkim_verify *
dkim_verify_new(dkim_engine *e, const char *queue_id, char *err, size_t errlen)
{
    dkim_verify *v;
    DKIM_STAT st = DKIM_STAT_OK;

    if (e == NULL) {
        util_errf(err, errlen, "dkim: no engine");
        return NULL;
    }
    v = xcalloc(1, sizeof(*v));
    v->e = e;
    v->dk = sm_opendkim_verify(e->lib, (const unsigned char *)(queue_id ? queue_id : "NOQUEUE"),
                               NULL, &st);
    if (v->dk == NULL) {
        util_errf(err, errlen, "dkim_verify(): %s", dkim_getresultstr(st));
        return dkim_verify_free(v);
    }
    dkim_set_user_context(v->dk, v);
    return v;
}

/* dkim_verify_fail - remember an error; returns DKIM_VERIFY_ERROR */
static int
dkim_verify_fail(dkim_verify *v, const char *what, DKIM_STAT st)
{
    const char *detail = v->dk != NULL ? dkim_geterror(v->dk) : NULL;

    util_errf(v->err, sizeof(v->err), "%s: %s%s%s", what, dkim_getresultstr(st),
              detail != NULL ? ": " : "", detail != NULL ? detail : "");
    v->state = VS_BROKEN;
    return DKIM_VERIFY_ERROR;
}

/* dkim_verify_hdr - hand "name" sep "value" to libopendkim */
static int
dkim_verify_hdr(dkim_verify *v, const char *name, const char *sep, const char *value)
{
    size_t nl, sl, vl;
    DKIM_STAT st;

    if (v == NULL || name == NULL)
        return DKIM_VERIFY_ERROR;
    if (v->state != VS_HEADERS)
        return v->state == VS_BROKEN ? DKIM_VERIFY_ERROR : DKIM_VERIFY_OK;
    if (value == NULL)
        value = "";
    nl = strlen(name);
    sl = strlen(sep);
    vl = strlen(value);
    if (nl == 0)
        return DKIM_VERIFY_OK;
    if (nl + sl + vl + 1 > v->hcap) {
        v->hcap = nl + sl + vl + 1 + 256;
        v->hbuf = xrealloc(v->hbuf, v->hcap);
    }
    memcpy(v->hbuf, name, nl);
    memcpy(v->hbuf + nl, sep, sl);
    memcpy(v->hbuf + nl + sl, value, vl + 1);
    st = dkim_header(v->dk, (u_char *)v->hbuf, nl + sl + vl);
    if (st == DKIM_STAT_NORESOURCE || st == DKIM_STAT_INTERNAL || st == DKIM_STAT_INVALID)
        return dkim_verify_fail(v, "dkim_header()", st);
    if (strcasecmp(name, "DKIM-Signature") == 0)
        v->sig_headers++; /* those libopendkim refused outright are reported as permerror */
    return DKIM_VERIFY_OK;
}

/* dkim_verify_header - "name: value" (libmilter strips the space after the colon) */
int
dkim_verify_header(dkim_verify *v, const char *name, const char *value)
{
    return dkim_verify_hdr(v, name, ": ", value);
}

/* dkim_verify_header_raw - "name:value", value with its leading whitespace (SMFIP_HDR_LEADSPC) */
int
dkim_verify_header_raw(dkim_verify *v, const char *name, const char *value)
{
    return dkim_verify_hdr(v, name, ":", value);
}

/* dkim_verify_eoh - end of headers; key lookups run here */
int
dkim_verify_eoh(dkim_verify *v)
{
    DKIM_STAT st;

    if (v == NULL || v->state == VS_BROKEN)
        return DKIM_VERIFY_ERROR;
    if (v->state != VS_HEADERS)
        return v->state == VS_SKIP ? DKIM_VERIFY_SKIP : DKIM_VERIFY_OK;
    v->deadline = util_now_ms() + (uint64_t)v->e->opts.timeout_ms;
    dkim_wire_deadline = v->deadline;
    st = dkim_eoh(v->dk);
    dkim_wire_deadline = 0;
    if (st == DKIM_STAT_NOSIG) {
        v->lib_nosig = 1;
        v->state = v->sig_headers > 0 ? VS_BODY : VS_SKIP;
        return v->state == VS_SKIP ? DKIM_VERIFY_SKIP : DKIM_VERIFY_OK;
    }
    if (st != DKIM_STAT_OK)
        return dkim_verify_fail(v, "dkim_eoh()", st);
    v->plan = dkim_bodyplan_new(v->dk);
    v->state = VS_BODY;
    return DKIM_VERIFY_OK;
}

/* dkim_verify_body - one body chunk */
int
dkim_verify_body(dkim_verify *v, const unsigned char *chunk, size_t len)
{
    DKIM_STAT st;

    if (v == NULL || v->state == VS_BROKEN)
        return DKIM_VERIFY_ERROR;
    if (v->state == VS_HEADERS && dkim_verify_eoh(v) == DKIM_VERIFY_ERROR)
        return DKIM_VERIFY_ERROR;
    if (v->state == VS_SKIP)
        return DKIM_VERIFY_SKIP;
    if (v->state != VS_BODY || chunk == NULL || len == 0)
        return DKIM_VERIFY_OK;
    if (v->plan != NULL) {
        dkim_bodyplan_update(v->plan, chunk, len);
        return DKIM_VERIFY_OK;
    }
    st = dkim_body(v->dk, (u_char *)chunk, len);
    if (st != DKIM_STAT_OK)
        return dkim_verify_fail(v, "dkim_body()", st);
    return DKIM_VERIFY_OK;
}

/* dkim_verify_eom - finish verification and report every signature */
int
dkim_verify_eom(dkim_verify *v, const dkim_sig_result **sigs_r, size_t *n_r)
{
    DKIM_STAT st = DKIM_STAT_OK;

    if (sigs_r != NULL)
        *sigs_r = NULL;
    if (n_r != NULL)
        *n_r = 0;
    if (v == NULL || v->state == VS_BROKEN)
        return DKIM_VERIFY_ERROR;
    if (v->state == VS_HEADERS && dkim_verify_eoh(v) == DKIM_VERIFY_ERROR)
        return DKIM_VERIFY_ERROR;
    if (v->state == VS_BODY && v->plan != NULL)
        dkim_bodyplan_final(v->plan);
    if (v->state == VS_BODY && !v->lib_nosig) {
        dkim_wire_deadline = v->deadline;
        st = dkim_eom(v->dk, NULL);
        dkim_wire_deadline = 0;
        if (st == DKIM_STAT_NORESOURCE || st == DKIM_STAT_INTERNAL || st == DKIM_STAT_INVALID)
            return dkim_verify_fail(v, "dkim_eom()", st);
    }
    if (v->state != VS_DONE) {
        if (v->state == VS_BODY)
            dkim_collect(v);
        v->state = VS_DONE;
    }
    if (sigs_r != NULL)
        *sigs_r = v->res;
    if (n_r != NULL)
        *n_r = v->n_res;
    return DKIM_VERIFY_OK;
}

/* dkim_verify_error - last error text */
const char *
dkim_verify_error(const dkim_verify *v)
{
    return v != NULL ? v->err : "";
}

/* dkim_verify_free - free the libopendkim handle and the results; returns NULL */
dkim_verify *
dkim_verify_free(dkim_verify *v)
{
    size_t i, k;

    if (v == NULL)
        return NULL;
    if (v->dk != NULL)
        dkim_free(v->dk);
    dkim_bodyplan_free(v->plan);
    for (i = 0; i < v->n_res; i++) {
        dkim_sig_result *r = &v->res[i];

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

/* dkim_sig_covers - whether h= lists header_name */
int
dkim_sig_covers(const dkim_sig_result *sig, const char *header_name)
{
    size_t i;

    if (sig == NULL || header_name == NULL)
        return 0;
    for (i = 0; i < sig->n_signed; i++)
        if (strcasecmp(sig->signed_headers[i], header_name) == 0)
            return 1;
    return 0;
}
