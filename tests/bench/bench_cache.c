/*
 * bench_cache.c - lookups per second through the shared identity cache
 *
 * Not a test: prints numbers for the issue note.  Two threads (argv[1]
 * overrides) for one second each (argv[2]) on three paths:
 *   hit   - 10,000 warm keys, every lookup a fresh hit;
 *   miss  - TTLs of 0, every lookup goes to an in-process stub source;
 *   file  - TTLs of 0, every lookup goes to the file plugin (10,000 lines),
 *           loaded from BUILDDIR/plugins/file/.libs.
 * Usage: tests/bench/bench_cache [threads] [seconds]
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "identity/cache.h"
#include "identity/plugin.h"
#include "lib/util.h"

#define BENCH_KEYS 10000

typedef struct bench_arg {
    cache *c;
    plugin_instance *inst; /* NULL: stub source */
    int id;
    uint64_t until;
    unsigned long done;
} bench_arg;

static char bench_ids[BENCH_KEYS][48];

static sm_id_answer
bench_stub(void *arg, const char *identity, sm_id_kind kind, uint64_t deadline_ms,
           sm_id_attrs *attrs)
{
    (void)arg;
    (void)kind;
    (void)deadline_ms;
    (void)attrs;
    return identity[0] == 'u' ? SM_ID_VERIFIED : SM_ID_UNKNOWN;
}

static void *
bench_run(void *p)
{
    bench_arg *b = p;
    unsigned long i = (unsigned long)b->id * 7919u;
    cache_answer a;

    while (util_now_ms() < b->until) {
        for (int k = 0; k < 1000; k++, i++) {
            const char *id = bench_ids[i % BENCH_KEYS];
            if (b->inst != NULL)
                plugin_instance_lookup(b->inst, b->c, id, SM_IDKIND_ADDRESS, util_now_ms() + 1000,
                                       "", &a);
            else
                cache_lookup(b->c, "bench", id, SM_IDKIND_ADDRESS, util_now_ms() + 1000, bench_stub,
                             NULL, &a);
        }
        b->done += 1000;
    }
    return NULL;
}

static double
bench_path(const char *name, cache *c, plugin_instance *inst, int threads, int seconds)
{
    pthread_t th[64];
    bench_arg args[64];
    unsigned long total = 0;
    uint64_t t0 = util_now_ms();
    double rate;
    cache_stats st;

    for (int i = 0; i < threads; i++) {
        args[i] = (bench_arg){c, inst, i, t0 + (uint64_t)seconds * 1000u, 0};
        pthread_create(&th[i], NULL, bench_run, &args[i]);
    }
    for (int i = 0; i < threads; i++) {
        pthread_join(th[i], NULL);
        total += args[i].done;
    }
    rate = (double)total * 1000.0 / (double)(util_now_ms() - t0);
    cache_get_stats(c, &st);
    printf("%-5s %d threads: %12.0f lookups/s  (hits %llu, misses %llu)\n", name, threads, rate,
           (unsigned long long)st.hits, (unsigned long long)st.misses);
    return rate;
}

/* bench_file_chain - a file plugin instance over a 10,000-line list */
static plugin_chain *
bench_file_chain(const char *listpath)
{
    static char text[256];
    config_t cfg;
    plugin_source src = {"bench-file", "file", NULL};
    plugin_chain *ch = NULL;
    char err[512];
    FILE *fp = fopen(listpath, "w");

    for (int i = 0; fp != NULL && i < BENCH_KEYS; i += 2)
        fprintf(fp, "%s\n", bench_ids[i]);
    if (fp != NULL)
        fclose(fp);
    snprintf(text, sizeof(text), "s = { path = \"%s\"; };", listpath);
    config_init(&cfg);
    if (config_read_string(&cfg, text))
        src.setting = config_lookup(&cfg, "s");
    if (plugin_chain_load(BUILDDIR "/plugins/file/.libs", &src, 1, NULL, &ch, err, sizeof(err)) < 0)
        fprintf(stderr, "file path skipped: %s\n", err);
    config_destroy(&cfg);
    return ch;
}

int
main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 2, seconds = argc > 2 ? atoi(argv[2]) : 1;
    cache_opts o;
    cache *c;
    cache_answer a;
    char listpath[] = "/tmp/bench_cache.XXXXXX";
    plugin_chain *ch;
    int fd;

    if (threads < 1 || threads > 64 || seconds < 1)
        return 2;
    for (int i = 0; i < BENCH_KEYS; i++)
        snprintf(bench_ids[i], sizeof(bench_ids[i]), "%s%d@example%d.com", i % 2 ? "x" : "u", i,
                 i % 97);

    cache_opts_default(&o);
    c = cache_new(&o);
    for (int i = 0; i < BENCH_KEYS; i++)
        cache_lookup(c, "bench", bench_ids[i], SM_IDKIND_ADDRESS, util_now_ms() + 1000, bench_stub,
                     NULL, &a);
    bench_path("hit", c, NULL, threads, seconds);
    cache_free(c);

    o.positive_ttl = o.negative_ttl = 0;
    c = cache_new(&o);
    bench_path("miss", c, NULL, threads, seconds);
    cache_free(c);

    if ((fd = mkstemp(listpath)) >= 0) {
        close(fd);
        if ((ch = bench_file_chain(listpath)) != NULL) {
            c = cache_new(&o);
            bench_path("file", c, plugin_chain_get(ch, 0), threads, seconds);
            cache_free(c);
            plugin_chain_free(ch);
        }
        unlink(listpath);
    }
    return 0;
}
