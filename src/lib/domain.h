/*
 * domain.h - domain names: IDN to A-label, case folding, the trailing dot,
 * label validation (lib; includes nothing above lib)
 */
#ifndef SM_DOMAIN_H
#define SM_DOMAIN_H

#include <stddef.h>

/*
 * domain_normalize - lower-case A-label form of domain (xstrdup'd into
 * *out_r; one trailing dot removed); 0, or -1 with a reason in err
 */
int domain_normalize(const char *domain, char **out_r, char *err, size_t errlen);

#endif
