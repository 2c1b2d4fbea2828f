/*
 * unsub_int.h - one-click unsubscribe: the parsed rules, shared by
 * unsub_conf.c (which builds them) and unsub.c (which applies them)
 *
 * Not part of the API: everything outside these two files goes through
 * unsub.h.
 */
#ifndef SM_UNSUB_INT_H
#define SM_UNSUB_INT_H

#include <stddef.h>

#include "lib/cfg.h"
#include "unsub/unsub.h"
#include "unsub/unsub_tmpl.h"

#define UNSUB_PH_PERSONAL (UNSUB_PH_RECIPIENT | UNSUB_PH_TOKEN)

enum { UNSUB_SRC_EITHER, UNSUB_SRC_ENVELOPE, UNSUB_SRC_FROM };
enum { UNSUB_BACKEND_FILE, UNSUB_BACKEND_REDIS };

typedef struct unsub_rule {
    char *name;
    cfg_strlist senders;
    int sender_source;
    char *header;
    cfg_strlist header_values;
    int remove_trigger;
    char *url, *mailto, *list_id, *list_url;
    int one_click;
    char *multi_recipient;
    int multi_list_url; /* 1: multi_recipient = "list-url" */
    unsub_tmpl *url_t, *mailto_t, *list_id_t, *list_url_t;
} unsub_rule;

struct unsub_conf {
    char *token_key_file;
    long token_ttl;
    int ses_mode;
    char *opendkim_conf;
    unsigned char *key;
    size_t keylen;
    unsub_rule *rules;
    size_t n_rules;
    /* the store of unsubscribed recipients (unsub_store.h) and what the milter does */
    int store_backend; /* UNSUB_BACKEND_FILE or UNSUB_BACKEND_REDIS */
    char *store_file;
    int store_unavailable;          /* unsub_store_unavailable */
    struct state_conf *store_redis; /* store_backend = "redis": the "state" group, parsed */
    int store_action;               /* unsub_store_action */
    char *store_tag_header;
    long store_refresh_ms;
    /* ses-milter-unsubscribe */
    char *endpoint_listen;
    char *endpoint_tls_cert_file, *endpoint_tls_key_file;
    long endpoint_max_body;
    char *endpoint_user;
    struct unsub_store *store; /* the milter's reader of the store (unsub_store.h), or NULL */
};

#endif
