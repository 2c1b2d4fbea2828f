/*
 * gate.c - the identity gate: "identity" configuration and the decision
 *
 * Purpose: given the parsed sender identities of one message, ask the
 * identity sources (through identity_resolve and the shared cache) and
 * turn the answers into a verdict (pass / not verified / tempfail /
 * malformed) and an action after policy (accept / reject / tempfail /
 * quarantine / tag / monitor), with the SMTP reply or header to use.
 *
 * Fields the gate cannot check have a configured outcome each (default:
 * refuse with a text of their own): no From, several From fields, a From
 * without a usable mailbox or naming none (an empty group; a group with
 * mailboxes is a list, RFC 6854), a Sender that is not exactly one mailbox
 * or a second Sender, and a header over the limits of msg.c (which may hide
 * either).  A malformed Sender is kept in the result as a not-verified
 * identity so that the audit record shows it.
 *
 * Policy defaults: action "enforce" (refuse unverified senders: this is
 * what the gate is for; "monitor" is the rollout mode that only logs),
 * on_tempfail "tempfail" (fail closed; "accept" is fail-open).  Monitor
 * mode never refuses or delays a message for a not-verified or tempfail
 * verdict; the malformed-From and null-sender settings are separate and
 * apply in every mode.
 *
 * Security: reply templates are checked at load time (printable ASCII
 * only, known macros only); an identity substituted into a reply or a
 * header keeps only characters that are safe in both, so a crafted
 * address cannot inject CR/LF, a second reply line or a header.  Non-ASCII
 * characters of an identity stay readable: UTF-8 when the client negotiated
 * SMTPUTF8, "\u{N}" otherwise; bidi controls and ill-formed bytes never pass.
 *
 * Diagnostics: configuration errors read "file:line: reason"; gate_check
 * logs nothing and returns everything in gate_result.
 */
#include "config.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/cfg.h"
#include "engine/gate.h"
#include "engine/msg.h"
#include "lib/utf8.h"
#include "lib/util.h"

#ifndef PLUGINDIR
#define PLUGINDIR "/usr/local/lib/ses-milter/plugins"
#endif

#define GATE_TEXT_MAX 400       /* longest reply template */
#define GATE_ID_IN_TEXT_MAX 256 /* longest identity substituted into a reply */

static const char *const gate_combine_names[] = {"first", "all", NULL};
static const char *const gate_action_names[] = {"enforce", "quarantine", "tag", "monitor", NULL};
static const char *const gate_tempfail_names[] = {"tempfail", "accept", NULL};
static const char *const gate_mf_names[] = {"reject", "tempfail", "quarantine",
                                            "tag",    "accept",   NULL};
static const char *const gate_null_names[] = {"check_from", "accept", "reject", NULL};

#define GF(f) offsetof(gate_conf, f)
static const cfg_directive gate_table[] = {
    {"plugin_dir", CFG_STR, GF(plugin_dir), PLUGINDIR, 0, 0, 0, NULL},
    {"combine", CFG_ENUM, GF(combine), "first", 0, 0, 0, gate_combine_names},
    {"check_from", CFG_BOOL, GF(check_from), NULL, 1, 0, 0, NULL},
    {"check_sender", CFG_BOOL, GF(check_sender), NULL, 1, 0, 0, NULL},
    {"check_envelope_from", CFG_BOOL, GF(check_envelope_from), NULL, 1, 0, 0, NULL},
    {"label_separator", CFG_STR, GF(label_separator), "+", 0, 0, 0, NULL},
    {"lookup_timeout_ms", CFG_INT, GF(lookup_timeout_ms), NULL, 5000, 1, 600000, NULL},
    {"action", CFG_ENUM, GF(action), "enforce", 0, 0, 0, gate_action_names},
    {"on_tempfail", CFG_ENUM, GF(on_tempfail), "tempfail", 0, 0, 0, gate_tempfail_names},
    {"reject_text", CFG_STR, GF(reject_text),
     "5.7.1 Sender identity <%{identity}> is not verified for sending", 0, 0, 0, NULL},
    {"tempfail_text", CFG_STR, GF(tempfail_text),
     "4.7.1 Sender identity <%{identity}> could not be verified now, try again later", 0, 0, 0,
     NULL},
    {"tag_header", CFG_STR, GF(tag_header), "X-SES-Milter-Identity", 0, 0, 0, NULL},
    {"no_from", CFG_ENUM, GF(no_from), "reject", 0, 0, 0, gate_mf_names},
    {"multiple_from", CFG_ENUM, GF(multiple_from), "reject", 0, 0, 0, gate_mf_names},
    {"unparseable_from", CFG_ENUM, GF(unparseable_from), "reject", 0, 0, 0, gate_mf_names},
    {"no_from_text", CFG_STR, GF(no_from_text),
     "5.7.1 Message has no From header field, the sender cannot be verified", 0, 0, 0, NULL},
    {"multiple_from_text", CFG_STR, GF(multiple_from_text),
     "5.7.1 Message has more than one From header field", 0, 0, 0, NULL},
    {"unparseable_from_text", CFG_STR, GF(unparseable_from_text),
     "5.7.1 The From header field has no valid address", 0, 0, 0, NULL},
    {"empty_from_text", CFG_STR, GF(empty_from_text),
     "5.7.1 The From header field names no mailbox, only an empty group", 0, 0, 0, NULL},
    {"unparseable_sender", CFG_ENUM, GF(unparseable_sender), "reject", 0, 0, 0, gate_mf_names},
    {"unparseable_sender_text", CFG_STR, GF(unparseable_sender_text),
     "5.7.1 The Sender header field is not one valid address", 0, 0, 0, NULL},
    {"header_overflow", CFG_ENUM, GF(header_overflow), "reject", 0, 0, 0, gate_mf_names},
    {"header_overflow_text", CFG_STR, GF(header_overflow_text),
     "5.7.1 Message header exceeds the limit of 1000 fields or 262144 bytes; the sender "
     "cannot be verified",
     0, 0, 0, NULL},
    {"null_sender", CFG_ENUM, GF(null_sender), "check_from", 0, 0, 0, gate_null_names},
    {"null_sender_text", CFG_STR, GF(null_sender_text),
     "5.7.1 Mail from the null sender is not accepted here", 0, 0, 0, NULL},
    CFG_END,
};

static const cfg_directive gate_cache_table[] = {
    {"positive_ttl", CFG_INT, GF(cache.positive_ttl), NULL, 300, 0, 604800, NULL},
    {"negative_ttl", CFG_INT, GF(cache.negative_ttl), NULL, 60, 0, 604800, NULL},
    {"max_entries", CFG_INT, GF(cache.max_entries), NULL, 100000, 1, 100000000, NULL},
    {"stale_max", CFG_INT, GF(cache.stale_max), NULL, 3600, 0, 604800, NULL},
    CFG_END,
};
#undef GF

/* text settings checked as reply templates */
static const size_t gate_text_fields[] = {
    offsetof(gate_conf, reject_text),           offsetof(gate_conf, tempfail_text),
    offsetof(gate_conf, no_from_text),          offsetof(gate_conf, multiple_from_text),
    offsetof(gate_conf, unparseable_from_text), offsetof(gate_conf, null_sender_text),
    offsetof(gate_conf, empty_from_text),       offsetof(gate_conf, unparseable_sender_text),
    offsetof(gate_conf, header_overflow_text),
};
static const char *const gate_text_names[] = {
    "reject_text",        "tempfail_text",           "no_from_text",
    "multiple_from_text", "unparseable_from_text",   "null_sender_text",
    "empty_from_text",    "unparseable_sender_text", "header_overflow_text",
};
/* the default header_overflow_text names the limits of msg.c */
_Static_assert(MSG_MAX_HEADERS == 1000 && MSG_MAX_HEADER_BYTES == 262144,
               "identity.header_overflow_text names the header limits");

/* gate_text_check - printable ASCII, known macros only, bounded */
static int
gate_text_check(const char *t, char *why, size_t whylen)
{
    if (strlen(t) > GATE_TEXT_MAX)
        return util_errf(why, whylen, "longer than %d characters", GATE_TEXT_MAX);
    for (const char *p = t; *p; p++) {
        if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
            return util_errf(why, whylen, "contains the non-printable character 0x%02x",
                             (unsigned char)*p);
        if (*p != '%')
            continue;
        if (p[1] == '%')
            p++;
        else if (strncmp(p, "%{identity}", 11) == 0)
            p += 10;
        else if (strncmp(p, "%{role}", 7) == 0)
            p += 6;
        else if (strncmp(p, "%{region}", 9) == 0) /* kept by gate_expand, set by gate_region */
            p += 8;
        else
            return util_errf(why, whylen,
                             "unknown macro at \"%.12s\" (known: %%{identity}, "
                             "%%{role}, %%{region}, %%%%)",
                             p);
    }
    return 0;
}

/* gate_header_check - a header field name: printable ASCII without ':' or space */
static int
gate_header_check(const char *h)
{
    if (*h == '\0' || strlen(h) > 64)
        return -1;
    for (const char *p = h; *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p > 0x7e || *p == ':')
            return -1;
    return 0;
}

static int
gate_parse_sources(const config_setting_t *group, gate_conf *gc, char *err, size_t errlen)
{
    const config_setting_t *l = config_setting_get_member(group, "sources");
    char why[256];

    if (l == NULL || config_setting_length(l) == 0)
        return cfg_errf(err, errlen, l ? l : group,
                        "identity.sources: at least one identity source is required");
    if (!config_setting_is_list(l) && !config_setting_is_array(l))
        return cfg_errf(err, errlen, l, "identity.sources must be a list ( { ... }, ... )");
    gc->sources = xcalloc((size_t)config_setting_length(l), sizeof(*gc->sources));
    for (int i = 0; i < config_setting_length(l); i++) {
        const config_setting_t *e = config_setting_get_elem(l, (unsigned)i);
        const char *name = NULL, *plugin = NULL;

        if (!config_setting_is_group(e))
            return cfg_errf(err, errlen, e, "identity.sources element %d must be a group", i + 1);
        if (!config_setting_lookup_string(e, "name", &name))
            return cfg_errf(err, errlen, e, "identity source %d: 'name' (a string) is required",
                            i + 1);
        if (!config_setting_lookup_string(e, "plugin", &plugin))
            return cfg_errf(err, errlen, e, "identity source %s: 'plugin' (a string) is required",
                            name);
        if (plugin_name_check(name, why, sizeof(why)) < 0)
            return cfg_errf(err, errlen, config_setting_get_member(e, "name"),
                            "identity source: %s", why);
        if (plugin_name_check(plugin, why, sizeof(why)) < 0)
            return cfg_errf(err, errlen, config_setting_get_member(e, "plugin"),
                            "identity source %s: plugin %s", name, why);
        for (size_t j = 0; j < gc->n_sources; j++)
            if (strcmp(gc->sources[j].name, name) == 0) {
                char first[512];

                cfg_where(config_setting_get_member(gc->sources[j].setting, "name"), first,
                          sizeof(first));
                return cfg_errf(err, errlen, config_setting_get_member(e, "name"),
                                "identity source name \"%s\" is used twice (first at %s)", name,
                                first);
            }
        gc->sources[gc->n_sources].name = xstrdup(name);
        gc->sources[gc->n_sources].plugin = xstrdup(plugin);
        gc->sources[gc->n_sources].setting = e;
        gc->n_sources++;
    }
    return 0;
}

static int
gate_parse_overrides(const config_setting_t *group, gate_conf *gc, char *err, size_t errlen)
{
    const config_setting_t *l = config_setting_get_member(group, "overrides");
    char why[256];

    if (l == NULL)
        return 0;
    if (!config_setting_is_list(l))
        return cfg_errf(err, errlen, l, "identity.overrides must be a list ( { ... }, ... )");
    gc->overrides = xcalloc((size_t)config_setting_length(l) + 1, sizeof(*gc->overrides));
    for (int i = 0; i < config_setting_length(l); i++) {
        const config_setting_t *e = config_setting_get_elem(l, (unsigned)i), *m;
        gate_override *o = &gc->overrides[gc->n_overrides];
        const char *dom = NULL, *s;
        int k;

        if (!config_setting_is_group(e) || !config_setting_lookup_string(e, "domain", &dom))
            return cfg_errf(err, errlen, e, "identity.overrides element %d needs domain = \"...\"",
                            i + 1);
        if (identity_domain_normalize(dom, &o->domain, why, sizeof(why)) < 0)
            return cfg_errf(err, errlen, e, "identity.overrides: domain \"%s\": %s", dom, why);
        gc->n_overrides++;
        o->action = gc->action;
        o->on_tempfail = -1;
        for (k = 0; k < config_setting_length(e); k++) {
            m = config_setting_get_elem(e, (unsigned)k);
            s = config_setting_name(m);
            if (strcmp(s, "domain") != 0 && strcmp(s, "action") != 0 &&
                strcmp(s, "on_tempfail") != 0)
                return cfg_errf(err, errlen, m, "unknown setting '%s' in identity.overrides", s);
        }
        if (config_setting_lookup_string(e, "action", &s)) {
            for (k = 0; gate_action_names[k] && strcasecmp(gate_action_names[k], s); k++)
                ;
            if (gate_action_names[k] == NULL)
                return cfg_errf(err, errlen, config_setting_get_member(e, "action"),
                                "override action \"%s\" is not one of: enforce, quarantine, "
                                "tag, monitor",
                                s);
            o->action = k;
        }
        if (config_setting_lookup_string(e, "on_tempfail", &s)) {
            for (k = 0; gate_tempfail_names[k] && strcasecmp(gate_tempfail_names[k], s); k++)
                ;
            if (gate_tempfail_names[k] == NULL)
                return cfg_errf(err, errlen, config_setting_get_member(e, "on_tempfail"),
                                "override on_tempfail \"%s\" is not one of: tempfail, accept", s);
            o->on_tempfail = k;
        }
    }
    return 0;
}

/* gate_parse_checks - validate texts, header name, separator */
static int
gate_parse_checks(const config_setting_t *group, gate_conf *gc, char *err, size_t errlen)
{
    char why[256];
    const char *sep = gc->label_separator;

    for (size_t i = 0; i < SM_ARRAY_LEN(gate_text_fields); i++) {
        const char *t = *(char **)((char *)gc + gate_text_fields[i]);
        if (gate_text_check(t, why, sizeof(why)) < 0) {
            const config_setting_t *s = config_setting_get_member(group, gate_text_names[i]);
            return cfg_errf(err, errlen, s ? s : group, "identity.%s: %s", gate_text_names[i], why);
        }
    }
    if (gate_header_check(gc->tag_header) < 0)
        return cfg_errf(err, errlen, config_setting_get_member(group, "tag_header"),
                        "identity.tag_header \"%s\" is not a valid header field name",
                        gc->tag_header);
    if (strlen(sep) > 1 ||
        (*sep && ((unsigned char)*sep <= 0x20 || (unsigned char)*sep > 0x7e || *sep == '@')))
        return cfg_errf(err, errlen, config_setting_get_member(group, "label_separator"),
                        "identity.label_separator must be one printable character other than "
                        "'@', or \"\"");
    return 0;
}

int
gate_conf_parse(const config_setting_t *group, gate_conf **out, char *err, size_t errlen)
{
    static const char *const extra[] = {"sources", "cache", "overrides", NULL};
    gate_conf *gc = xcalloc(1, sizeof(*gc));
    const config_setting_t *cg;

    *out = NULL;
    if (cfg_parse_table(group, gate_table, gc, extra, err, errlen) < 0)
        goto fail;
    cg = group != NULL ? config_setting_get_member(group, "cache") : NULL;
    if (cfg_parse_table(cg, gate_cache_table, gc, NULL, err, errlen) < 0)
        goto fail;
    if (group != NULL) {
        gc->present = 1;
        if (gate_parse_checks(group, gc, err, errlen) < 0 ||
            gate_parse_sources(group, gc, err, errlen) < 0 ||
            gate_parse_overrides(group, gc, err, errlen) < 0)
            goto fail;
    }
    *out = gc;
    return 0;
fail:
    gate_conf_free(gc);
    return -1;
}

void
gate_conf_dump(FILE *fp, const gate_conf *gc)
{
    if (!gc->present)
        fputs("# identity: no section, the identity gate is off\n", fp);
    cfg_dump_table(fp, "identity", gate_table, gc);
    cfg_dump_table(fp, "identity.cache", gate_cache_table, gc);
    for (size_t i = 0; i < gc->n_sources; i++)
        fprintf(fp, "identity.sources.[%zu] = { name = \"%s\"; plugin = \"%s\"; };\n", i,
                gc->sources[i].name, gc->sources[i].plugin);
    for (size_t i = 0; i < gc->n_overrides; i++) {
        fprintf(fp, "identity.overrides.[%zu] = { domain = \"%s\"; action = \"%s\";", i,
                gc->overrides[i].domain, gate_action_names[gc->overrides[i].action]);
        if (gc->overrides[i].on_tempfail >= 0)
            fprintf(fp, " on_tempfail = \"%s\";",
                    gate_tempfail_names[gc->overrides[i].on_tempfail]);
        fputs(" };\n", fp);
    }
}

gate_conf *
gate_conf_free(gate_conf *gc)
{
    if (gc == NULL)
        return NULL;
    cfg_free_table(gate_table, gc);
    for (size_t i = 0; i < gc->n_sources; i++) {
        free(gc->sources[i].name);
        free(gc->sources[i].plugin);
    }
    free(gc->sources);
    for (size_t i = 0; i < gc->n_overrides; i++)
        free(gc->overrides[i].domain);
    free(gc->overrides);
    free(gc);
    return NULL;
}

int
gate_chain_load(const gate_conf *gc, cache *c, plugin_chain **chain_r, char *err, size_t errlen)
{
    return plugin_chain_load(gc->plugin_dir, gc->sources, gc->n_sources, c, chain_r, err, errlen);
}

/* ---- the decision ---- */

/* gate_safe_char - characters an identity keeps in a reply or a header */
static int
gate_safe_char(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           (ch != '\0' && strchr("!#$&'*+-/=?^_`{|}~.@", ch) != NULL);
}

/* gate_expand_id - append identity to out at *o: safe ASCII as is, well-formed UTF-8 as is
 * (utf8) or as "\u{N}", anything else '?'; never a partial character or escape */
static void
gate_expand_id(const char *sub, size_t max, int utf8, char *out, size_t outlen, size_t *o)
{
    const unsigned char *p = (const unsigned char *)sub;

    for (size_t i = 0; p[i] && i < max && *o + 1 < outlen;) {
        char esc[16];
        uint32_t cp;
        size_t n = p[i] >= 0x80 ? utf8_decode(p + i, &cp) : 0, el;

        if (n == 0) {
            out[(*o)++] = gate_safe_char(p[i]) ? (char)p[i] : '?';
            i++;
            continue;
        }
        if (utf8 && !utf8_hidden(cp)) {
            if (*o + n >= outlen)
                break;
            memcpy(out + *o, p + i, n);
            *o += n;
        } else {
            el = (size_t)snprintf(esc, sizeof(esc), "\\u{%x}", (unsigned)cp);
            if (*o + el >= outlen)
                break;
            memcpy(out + *o, esc, el);
            *o += el;
        }
        i += n;
    }
}

void
gate_expand(const char *tmpl, const char *identity, const char *role, int utf8, char *out,
            size_t outlen)
{
    size_t o = 0;
    const char *p = tmpl;

    if (outlen == 0)
        return;
    /* the codes are fixed: a leading enhanced status code in the template is dropped */
    if ((p[0] == '2' || p[0] == '4' || p[0] == '5') && p[1] == '.') {
        size_t n = 2 + strspn(p + 2, "0123456789.");
        if (p[n] == ' ')
            p += n + 1;
    }
    for (; *p && o + 1 < outlen; p++) {
        const char *sub = NULL;
        size_t max = 0;

        if (p[0] == '%' && p[1] == '%') {
            out[o++] = '%';
            p++;
            continue;
        }
        if (strncmp(p, "%{identity}", 11) == 0) {
            sub = identity;
            max = GATE_ID_IN_TEXT_MAX;
            p += 10;
        } else if (strncmp(p, "%{role}", 7) == 0) {
            sub = role;
            max = 16;
            p += 6;
        }
        if (sub == NULL) {
            if ((unsigned char)*p >= 0x20 && (unsigned char)*p <= 0x7e)
                out[o++] = *p;
            continue;
        }
        gate_expand_id(sub, max, utf8 && sub == identity, out, outlen, &o);
    }
    out[o] = '\0';
}

const char *
gate_verdict_name(gate_verdict v)
{
    static const char *const n[] = {"pass", "not-verified", "tempfail", "malformed"};
    return (unsigned)v < SM_ARRAY_LEN(n) ? n[v] : "invalid";
}

const char *
gate_action_name(gate_action a)
{
    static const char *const n[] = {"accept", "reject", "tempfail", "quarantine", "tag", "monitor"};
    return (unsigned)a < SM_ARRAY_LEN(n) ? n[a] : "invalid";
}

const char *
gate_role_name(gate_role r)
{
    static const char *const n[] = {"from", "sender", "envelope"};
    return (unsigned)r < SM_ARRAY_LEN(n) ? n[r] : "invalid";
}

void
gate_result_clear(gate_result *res)
{
    free(res->ids);
    memset(res, 0, sizeof(*res));
    res->decisive = -1;
}

/* gate_reply - fill the SMTP reply for a reject (550) or tempfail (451) */
static void
gate_reply(gate_result *res, int temp, const char *tmpl, const char *identity, const char *role,
           int utf8)
{
    util_strlcpy(res->smtp_code, temp ? "451" : "550", sizeof(res->smtp_code));
    util_strlcpy(res->smtp_xcode, temp ? "4.7.1" : "5.7.1", sizeof(res->smtp_xcode));
    gate_expand(tmpl, identity, role, utf8, res->smtp_text, sizeof(res->smtp_text));
}

/*
 * gate_region - the region whose source refused (SES: "failed the check in region R"):
 * %{region} in the reply is replaced, else " in SES region R" is appended (reply and
 * reason); nothing when the source names no region
 */
static void
gate_region(gate_result *res, const char *region)
{
    char *p, tail[64], safe[40];
    size_t i;

    if (region == NULL || *region == '\0')
        return;
    for (i = 0; region[i] && i + 1 < sizeof(safe); i++)
        safe[i] =
            (unsigned char)region[i] > 0x20 && (unsigned char)region[i] < 0x7f ? region[i] : '?';
    safe[i] = '\0';
    snprintf(tail, sizeof(tail), " in SES region %s", safe);
    if (strlen(res->reason) + strlen(tail) < sizeof(res->reason))
        strcat(res->reason, tail);
    if (res->smtp_code[0] == '\0')
        return;
    if ((p = strstr(res->smtp_text, "%{region}")) != NULL) {
        char rest[sizeof(res->smtp_text)];
        util_strlcpy(rest, p + 9, sizeof(rest));
        snprintf(p, sizeof(res->smtp_text) - (size_t)(p - res->smtp_text), "%s%s", safe, rest);
    } else if (strlen(res->smtp_text) + strlen(tail) < sizeof(res->smtp_text)) {
        strcat(res->smtp_text, tail);
    }
}

/* gate_tag - the header to add when tagging */
static void
gate_tag(const gate_conf *gc, gate_result *res, const char *identity, const char *role, int utf8)
{
    char id[400]; /* leaves room in header_value: never a cut character */

    gate_expand("%{identity}", identity, role, utf8, id, sizeof(id));
    util_strlcpy(res->header_name, gc->tag_header, sizeof(res->header_name));
    snprintf(res->header_value, sizeof(res->header_value), "%s; role=%s; identity=<%s>",
             gate_verdict_name(res->verdict), role, id);
}

/* gate_malformed - apply a malformed-From/Sender, header-overflow or null-sender action */
static void
gate_malformed(const gate_conf *gc, gate_result *res, int how, const char *tmpl, const char *role,
               const char *what)
{
    res->verdict = GATE_MALFORMED;
    snprintf(res->reason, sizeof(res->reason), "%s", what);
    switch (how) {
    case GATE_MF_REJECT:
        res->action = GATE_REJECT;
        gate_reply(res, 0, tmpl, "", role, 0);
        break;
    case GATE_MF_TEMPFAIL:
        res->action = GATE_TEMPFAIL_ACT;
        gate_reply(res, 1, tmpl, "", role, 0);
        break;
    case GATE_MF_QUARANTINE:
        res->action = GATE_QUARANTINE;
        break;
    case GATE_MF_TAG:
        res->action = GATE_TAG;
        gate_tag(gc, res, "", role, 0);
        break;
    default:
        res->action = GATE_ACCEPT;
        break;
    }
}

/* gate_override_for - the most specific override covering domain, or NULL */
static const gate_override *
gate_override_for(const gate_conf *gc, const char *domain)
{
    const gate_override *best = NULL;
    char *d = NULL;

    if (domain == NULL || gc->n_overrides == 0 ||
        identity_domain_normalize(domain, &d, NULL, 0) < 0)
        return NULL;
    for (size_t i = 0; i < gc->n_overrides; i++) {
        const gate_override *o = &gc->overrides[i];
        size_t dl = strlen(d), ol = strlen(o->domain);
        int match = dl == ol
                        ? strcmp(d, o->domain) == 0
                        : dl > ol && d[dl - ol - 1] == '.' && strcmp(d + dl - ol, o->domain) == 0;
        if (match && (best == NULL || ol > strlen(best->domain)))
            best = o;
    }
    free(d);
    return best;
}

/* gate_add - resolve one mailbox and append its result */
static void
gate_add(const gate_conf *gc, plugin_chain *chain, cache *c, const gate_input *in,
         uint64_t deadline, gate_role role, const gate_mailbox *mb, gate_result *res)
{
    gate_idres *r;
    char why[256];

    res->ids = xrealloc(res->ids, (res->n_ids + 1) * sizeof(*res->ids));
    r = &res->ids[res->n_ids++];
    memset(r, 0, sizeof(*r));
    r->role = role;
    if (identity_resolve_in(chain, in->source, c, (identity_combine)gc->combine,
                            mb->local ? mb->local : "", mb->domain ? mb->domain : "",
                            gc->label_separator[0], deadline, in->queue_id, &r->r, why,
                            sizeof(why)) < 0) {
        r->invalid = 1;
        r->r.answer = SM_ID_NOT_VERIFIED;
        r->r.attrs.size = sizeof(r->r.attrs);
        snprintf(r->r.address, sizeof(r->r.address), "%.200s@%.200s", mb->local ? mb->local : "",
                 mb->domain ? mb->domain : "");
        snprintf(r->r.attrs.detail, sizeof(r->r.attrs.detail), "invalid address: %.200s", why);
    }
}

/* gate_verdict_of - combine the per-identity answers; sets decisive */
static void
gate_verdict_of(gate_result *res)
{
    int tf = -1, nv = -1;

    for (size_t i = 0; i < res->n_ids; i++) {
        if (res->ids[i].r.answer == SM_ID_NOT_VERIFIED && nv < 0)
            nv = (int)i;
        if (res->ids[i].r.answer == SM_ID_TEMPFAIL && tf < 0)
            tf = (int)i;
    }
    if (nv >= 0) {
        res->verdict = GATE_NOT_VERIFIED;
        res->decisive = nv;
    } else if (tf >= 0) {
        res->verdict = GATE_TEMPFAIL;
        res->decisive = tf;
    } else {
        res->verdict = GATE_PASS;
        res->decisive = res->n_ids > 0 ? 0 : -1;
    }
}

/* gate_policy - the action after policy for a checked message */
static void
gate_policy(const gate_conf *gc, const gate_input *in, gate_result *res)
{
    const gate_override *o;
    const char *pd = in->policy_domain;
    const gate_idres *d;
    const char *role;
    int act = gc->action, ontf = gc->on_tempfail;

    if (pd == NULL && in->from_status == GATE_FROM_OK && in->n_from > 0)
        pd = in->from[0].domain;
    if (pd == NULL && in->envelope != NULL)
        pd = in->envelope->domain;
    if ((o = gate_override_for(gc, pd)) != NULL) {
        act = o->action;
        ontf = o->on_tempfail >= 0 ? o->on_tempfail : ontf;
    }
    res->action = GATE_ACCEPT;
    if (res->verdict == GATE_PASS || res->decisive < 0)
        return;
    d = &res->ids[res->decisive];
    role = gate_role_name(d->role);
    gate_expand("sender identity <%{identity}> (%{role})", d->r.address, role, 0, res->reason,
                sizeof(res->reason));
    strncat(res->reason,
            res->verdict == GATE_TEMPFAIL ? " could not be verified" : " is not verified",
            sizeof(res->reason) - strlen(res->reason) - 1);
    if (act == GATE_CONF_MONITOR) {
        res->action = GATE_MONITOR;
    } else if (res->verdict == GATE_TEMPFAIL) {
        res->action = ontf ? GATE_ACCEPT : GATE_TEMPFAIL_ACT;
        if (!ontf)
            gate_reply(res, 1, gc->tempfail_text, d->r.address, role, in->utf8);
    } else if (act == GATE_CONF_ENFORCE) {
        res->action = GATE_REJECT;
        gate_reply(res, 0, gc->reject_text, d->r.address, role, in->utf8);
    } else if (act == GATE_CONF_QUARANTINE) {
        res->action = GATE_QUARANTINE;
    } else {
        res->action = GATE_TAG;
        gate_tag(gc, res, d->r.address, role, in->utf8);
    }
    gate_region(res, d->r.attrs.region);
}

/*
 * gate_sender_malformed - a Sender that is not one mailbox, or a second Sender field:
 * the identity cannot be checked.  Unless unparseable_sender is "accept", the field is
 * recorded as a not-verified identity (for the audit record) and the configured action
 * applies; returns 1 then, 0 when the gate goes on.
 */
static int
gate_sender_malformed(const gate_conf *gc, const gate_input *in, gate_result *res)
{
    int multiple = in->sender_status == GATE_FROM_MULTIPLE;
    gate_idres *r;

    if ((!multiple && in->sender_status != GATE_FROM_UNPARSEABLE) ||
        gc->unparseable_sender == GATE_MF_ACCEPT)
        return 0;
    res->ids = xrealloc(res->ids, (res->n_ids + 1) * sizeof(*res->ids));
    r = &res->ids[res->n_ids];
    memset(r, 0, sizeof(*r));
    r->role = GATE_ROLE_SENDER;
    r->invalid = 1;
    r->r.answer = SM_ID_NOT_VERIFIED;
    r->r.attrs.size = sizeof(r->r.attrs);
    gate_expand("%{identity}", in->sender_field ? in->sender_field : "", "sender", 0, r->r.address,
                sizeof(r->r.address));
    snprintf(r->r.attrs.detail, sizeof(r->r.attrs.detail), "%s",
             multiple ? "more than one Sender header field" : "unparseable Sender header field");
    gate_malformed(gc, res, gc->unparseable_sender, gc->unparseable_sender_text, "sender",
                   multiple ? "more than one Sender header field"
                            : "Sender header field without a valid address");
    res->decisive = (int)res->n_ids++;
    return 1;
}

int
gate_check(const gate_conf *gc, plugin_chain *chain, cache *c, const gate_input *in,
           gate_result *res, char *err, size_t errlen)
{
    uint64_t deadline;

    memset(res, 0, sizeof(*res));
    res->decisive = -1;
    if (gc == NULL || in == NULL)
        return util_errf(err, errlen, "gate_check: no configuration or no input");
    if (!gc->present || gc->n_sources == 0)
        return 0; /* gate off: pass, accept */
    if (plugin_chain_count(chain) == 0)
        return util_errf(err, errlen, "identity gate: no identity source is loaded");
    deadline = in->deadline_ms ? in->deadline_ms : util_now_ms() + (uint64_t)gc->lookup_timeout_ms;
    if (in->envelope == NULL && gc->null_sender == GATE_NULL_ACCEPT)
        return 0;
    if (in->envelope == NULL && gc->null_sender == GATE_NULL_REJECT) {
        gate_malformed(gc, res, GATE_MF_REJECT, gc->null_sender_text, "envelope",
                       "null envelope sender");
        return 0;
    }
    /* a header not kept whole may hide a From or a Sender: nothing below can be trusted */
    if (in->hdr_overflow != NULL && gc->header_overflow != GATE_MF_ACCEPT) {
        gate_malformed(gc, res, gc->header_overflow, gc->header_overflow_text, "from",
                       in->hdr_overflow);
        return 0;
    }
    if (gc->check_from && in->from_status != GATE_FROM_OK) {
        if (in->from_status == GATE_FROM_NONE)
            gate_malformed(gc, res, gc->no_from, gc->no_from_text, "from", "no From header field");
        else if (in->from_status == GATE_FROM_MULTIPLE)
            gate_malformed(gc, res, gc->multiple_from, gc->multiple_from_text, "from",
                           "more than one From header field");
        else if (in->from_status == GATE_FROM_EMPTY)
            gate_malformed(gc, res, gc->unparseable_from, gc->empty_from_text, "from",
                           "From header field names no mailbox, only an empty group");
        else
            gate_malformed(gc, res, gc->unparseable_from, gc->unparseable_from_text, "from",
                           "From header field without a valid address");
        return 0;
    }
    if (gc->check_from && in->n_from == 0) {
        gate_malformed(gc, res, gc->unparseable_from, gc->unparseable_from_text, "from",
                       "From header field without a valid address");
        return 0;
    }
    if (gc->check_sender && gate_sender_malformed(gc, in, res))
        return 0;
    for (size_t i = 0; gc->check_from && i < in->n_from; i++)
        gate_add(gc, chain, c, in, deadline, GATE_ROLE_FROM, &in->from[i], res);
    if (gc->check_sender && in->sender != NULL)
        gate_add(gc, chain, c, in, deadline, GATE_ROLE_SENDER, in->sender, res);
    if (gc->check_envelope_from && in->envelope != NULL)
        gate_add(gc, chain, c, in, deadline, GATE_ROLE_ENVELOPE, in->envelope, res);
    gate_verdict_of(res);
    gate_policy(gc, in, res);
    return 0;
}
