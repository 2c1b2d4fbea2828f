/*
 * sesdoctor.c - the SES plugin's diagnostics for "ses-milter doctor" (ABI 1.2)
 *
 * Purpose: what the doctor needs beyond lookup()'s attributes.
 *   describe()  one GetEmailIdentity (ses_get, uncached, like a lookup),
 *               the whole answer kept: VerifiedForSendingStatus,
 *               VerificationStatus, VerificationInfo.ErrorType and
 *               LastCheckedTimestamp, DkimAttributes.Tokens (Easy DKIM's
 *               three tokens, BYODKIM's selector) and CurrentSigningKeyLength.
 *   list()      ListEmailIdentities, every page (NextToken percent-encoded),
 *               each item's IdentityName handed to the host.
 * Never on the mail path: the milter calls lookup() only.
 *
 * Security: answers are untrusted text: every field is copied with
 * ses_copy() (bounded, printable ASCII).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ses.h"

#define SESDOCTOR_MAX_PAGES 10000

static const char *
sesdoctor_jstr(json_t *o, const char *name)
{
    json_t *v = json_object_get(o, name);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* sesdoctor_fill - the fields of a GetEmailIdentity answer lookup() does not keep */
static void
sesdoctor_fill(const char *body, sm_id_description *d)
{
    json_t *root = json_loads(body, 0, NULL), *v, *info, *dkim, *tokens;

    if (!json_is_object(root)) {
        json_decref(root);
        return;
    }
    v = json_object_get(root, "VerifiedForSendingStatus");
    d->verified_for_sending = json_is_boolean(v) ? json_is_true(v) : SM_TRI_UNKNOWN;
    ses_copy(d->verification_status, sizeof(d->verification_status),
             sesdoctor_jstr(root, "VerificationStatus"));
    info = json_object_get(root, "VerificationInfo");
    if (json_is_object(info)) {
        ses_copy(d->error_type, sizeof(d->error_type), sesdoctor_jstr(info, "ErrorType"));
        ses_copy(d->last_checked, sizeof(d->last_checked),
                 sesdoctor_jstr(info, "LastCheckedTimestamp"));
    }
    dkim = json_object_get(root, "DkimAttributes");
    if (json_is_object(dkim)) {
        ses_copy(d->dkim_key_length, sizeof(d->dkim_key_length),
                 sesdoctor_jstr(dkim, "CurrentSigningKeyLength"));
        tokens = json_object_get(dkim, "Tokens");
        for (size_t i = 0; json_is_array(tokens) && i < json_array_size(tokens) &&
                           d->n_dkim_tokens < SM_ID_DKIM_TOKENS_MAX;
             i++) {
            json_t *t = json_array_get(tokens, i);
            if (json_is_string(t))
                ses_copy(d->dkim_tokens[d->n_dkim_tokens++], sizeof(d->dkim_tokens[0]),
                         json_string_value(t));
        }
    }
    json_decref(root);
}

/* sesdoctor_describe - GetEmailIdentity, the whole answer */
static sm_id_answer
sesdoctor_describe(void *instance, const sm_id_query *q, sm_id_description *d)
{
    ses_instance *in = instance;
    char *body = NULL;
    sm_id_answer a;

    if (d == NULL || d->size < sizeof(sm_id_description))
        return SM_ID_TEMPFAIL;
    a = ses_get(in, q, &d->attrs, &body);
    if (body != NULL)
        sesdoctor_fill(body, d);
    free(body);
    return a;
}

/* sesdoctor_page - one ListEmailIdentities page; the next token ("" at the end), NULL on failure */
static char *
sesdoctor_page(ses_instance *in, const char *token, uint64_t deadline_ms, sm_id_list_fn fn,
               void *arg, char *err, size_t errlen)
{
    sesutil_buf q = {0};
    sesapi_result r;
    json_t *root, *items, *next;
    char *ret;

    sesutil_buf_puts(&q, "PageSize=1000");
    if (*token != '\0') {
        sesutil_buf_puts(&q, "&NextToken=");
        sesutil_uri_encode(&q, token, strlen(token), 0);
    }
    sesapi_call(&in->api, "/v2/email/identities", q.data, deadline_ms, &r);
    sesutil_buf_reset(&q);
    if (r.status != SESAPI_OK) {
        sesapi_explain(&in->api, &r, "ListEmailIdentities", "ses:ListEmailIdentities", err, errlen);
        sesapi_result_clear(&r);
        return NULL;
    }
    root = json_loads(r.body, 0, NULL);
    sesapi_result_clear(&r);
    if (!json_is_object(root)) {
        snprintf(err, errlen, "SES ListEmailIdentities: malformed JSON answer");
        json_decref(root);
        return NULL;
    }
    items = json_object_get(root, "EmailIdentities");
    for (size_t i = 0; json_is_array(items) && i < json_array_size(items); i++) {
        json_t *it = json_array_get(items, i);
        const char *name = sesdoctor_jstr(it, "IdentityName");
        const char *type = sesdoctor_jstr(it, "IdentityType");
        char shown[256];

        if (name == NULL || *name == '\0')
            continue;
        ses_copy(shown, sizeof(shown), name);
        fn(arg, shown,
           type == NULL                          ? SM_IDTYPE_NONE
           : strcmp(type, "EMAIL_ADDRESS") == 0  ? SM_IDTYPE_EMAIL_ADDRESS
           : strcmp(type, "MANAGED_DOMAIN") == 0 ? SM_IDTYPE_MANAGED_DOMAIN
                                                 : SM_IDTYPE_DOMAIN);
    }
    next = json_object_get(root, "NextToken");
    ret = sesutil_strdup(json_is_string(next) ? json_string_value(next) : "");
    json_decref(root);
    return ret;
}

/* sesdoctor_list - every page of ListEmailIdentities */
static int
sesdoctor_list(void *instance, uint64_t deadline_ms, sm_id_list_fn fn, void *arg, char *err,
               size_t errlen)
{
    ses_instance *in = instance;
    char *token = sesutil_strdup("");
    int pages = 0;

    do {
        char *next = sesdoctor_page(in, token, deadline_ms, fn, arg, err, errlen);
        free(token);
        if (next == NULL)
            return -1;
        token = next;
    } while (*token != '\0' && ++pages < SESDOCTOR_MAX_PAGES);
    free(token);
    return 0;
}

const sm_plugin_doctor ses_doctor = {
    .size = sizeof(sm_plugin_doctor),
    .describe = sesdoctor_describe,
    .list = sesdoctor_list,
};
