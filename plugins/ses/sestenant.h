/*
 * sestenant.h - tenant resources of one SES instance (sestenant.c)
 *
 * sestenant_check() answers SM_ASK_TENANT_IDENTITY: whether an identity is
 * one of a tenant's EMAIL_IDENTITY resources (ListTenantResources), from a
 * per-tenant list kept tenant_ttl seconds, one walk per tenant in flight.
 */
#ifndef SES_SESTENANT_H
#define SES_SESTENANT_H

#include <ses-milter/plugin.h>

struct ses_instance;
typedef struct sestenant sestenant;

/* sestenant_new - the table of an instance with tenants = true */
sestenant *sestenant_new(struct ses_instance *in);
/* sestenant_free - returns NULL */
sestenant *sestenant_free(sestenant *t);
/* sestenant_check - SM_ASK_TENANT_IDENTITY; SM_ASK_UNKNOWN when tenants are off */
sm_ask_answer sestenant_check(struct ses_instance *in, const sm_ask_query *q, sm_ask_attrs *a);

#endif
