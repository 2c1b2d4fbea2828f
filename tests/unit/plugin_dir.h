/*
 * plugin_dir.h - test helper: a private plugin directory and inline configs
 *
 * plugin_dir_make() copies the built plugins (file.so, plugin_test.so and
 * the bad builds) from BUILDDIR into a fresh directory under /tmp with
 * safe permissions (0755 directory, 0644 files, owned by us);
 * plugin_dir_remove() deletes it.  plugin_conf_read() parses libconfig
 * text; its settings live until config_destroy().
 */
#ifndef SM_TEST_PLUGIN_DIR_H
#define SM_TEST_PLUGIN_DIR_H

#include <libconfig.h>

/* plugin_dir_make - new directory with the test plugins; aborts the test on failure */
char *plugin_dir_make(void);
/* plugin_dir_remove - delete the directory and its files; frees dir */
void plugin_dir_remove(char *dir);
/* plugin_conf_read - parse text into cfg (config_init done here); 0 or -1 */
int plugin_conf_read(config_t *cfg, const char *text);
/* plugin_write_file - write text to path with mode; 0 or -1 */
int plugin_write_file(const char *path, const char *text, int mode);

#endif
