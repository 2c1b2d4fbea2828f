/* main.c - placeholder, replaced by the daemon */
#include "config.h"
#include <stdio.h>
int main(void);
int
main(void)
{
    puts(PACKAGE_STRING);
    return 0;
}
