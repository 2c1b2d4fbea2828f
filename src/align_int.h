/*
 * align_int.h - what the alignment engine (align.c) and its configuration
 * section (align_conf.c) share
 *
 * Not part of the API: everything outside these two files goes through
 * align.h.
 */
#ifndef SM_ALIGN_INT_H
#define SM_ALIGN_INT_H

#include "align.h"

/* align_action_names - "monitor", "tag", ... indexed by align_action, NULL-terminated */
extern const char *const align_action_names[];

#endif
