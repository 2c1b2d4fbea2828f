/*
 * unsubd.h - ses-milter-unsubscribe: what its two files share
 *
 * unsubd.c starts the service (configuration, store, listener, privilege
 * drop, signals); unsubd_http.c answers the requests.  Nothing else
 * includes this header.
 */
#ifndef SM_UNSUBD_H
#define SM_UNSUBD_H

#include <stddef.h>

#include <microhttpd.h>

#include "unsub/unsub.h"
#include "unsub/unsub_store.h"

typedef struct unsubd_ctx {
    const unsub_conf *conf;
    const unsigned char *key;
    size_t keylen;
    long max_age; /* unsubscribe.token_ttl */
    size_t max_body;
    unsub_store *store; /* the one writer */
} unsubd_ctx;

/* unsubd_http_uri - MHD_OPTION_URI_LOG_CALLBACK: the raw request target, per request */
void *unsubd_http_uri(void *cls, const char *uri, struct MHD_Connection *con);
/* unsubd_http_done - MHD_OPTION_NOTIFY_COMPLETED: free the per-request state */
void unsubd_http_done(void *cls, struct MHD_Connection *con, void **req_cls,
                      enum MHD_RequestTerminationCode why);
/* unsubd_http_answer - the MHD access handler; cls is the unsubd_ctx */
enum MHD_Result unsubd_http_answer(void *cls, struct MHD_Connection *con, const char *url,
                                   const char *method, const char *version, const char *upload_data,
                                   size_t *upload_data_size, void **req_cls);

#endif
