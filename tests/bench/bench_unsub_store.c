/*
 * bench_unsub_store.c - the cost of one unsubscribe store lookup, file and Redis
 *
 * Not a test: prints numbers for `make bench` (scripts/bench.sh part "unsub").
 * Records ENTRIES (list, recipient) pairs through each backend's writer, then
 * times LOOKUPS lookups through a reader, one thread, half of them hits and
 * half misses, as the milter makes them (unsub_store_has_by, one per
 * recipient of a message a rule matched):
 *   file  - the local file store (the reader's in-memory set, refresh_ms 1000);
 *   redis - the Redis store (HEXISTS on 127.0.0.1:PORT, one round trip each).
 * Prints one line per backend:
 *   RESULT backend=NAME entries=N lookups=N us_per_lookup=X lookups_per_s=Y hits=H
 * Usage: tests/bench/bench_unsub_store DIR [REDIS_PORT] [ENTRIES] [LOOKUPS]
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "state/state.h"
#include "unsub/unsub_store.h"
#include "lib/util.h"

int main(int argc, char **argv);

/* bench_fill - ENTRIES pairs through the writer w; 0 or -1 */
static int
bench_fill(unsub_store *w, long entries)
{
    char rcpt[64], err[256];
    int already;

    for (long i = 0; i < entries; i++) {
        snprintf(rcpt, sizeof(rcpt), "user%ld@example.org", i);
        if (unsub_store_add(w, i % 2 ? "news" : "promo", rcpt, 1700000000, &already, err,
                            sizeof(err)) < 0) {
            fprintf(stderr, "bench_unsub_store: add: %s\n", err);
            return -1;
        }
    }
    return 0;
}

/* bench_us - CLOCK_MONOTONIC in microseconds */
static uint64_t
bench_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* bench_run - LOOKUPS lookups through r; prints the RESULT line */
static int
bench_run(const char *name, unsub_store *r, long entries, long lookups)
{
    char rcpt[64];
    long hits = 0;
    uint64_t t0, t1;
    double us;

    t0 = bench_us();
    for (long i = 0; i < lookups; i++) {
        long k = (i * 7919) % (2 * entries); /* < entries: a hit, else a miss */
        int h;
        snprintf(rcpt, sizeof(rcpt), "user%ld@example.org", k);
        h = unsub_store_has_by(r, k % 2 ? "news" : "promo", rcpt, util_now_ms() + 1000);
        if (h < 0) {
            fprintf(stderr, "bench_unsub_store: %s: the store cannot answer\n", name);
            return -1;
        }
        hits += h;
    }
    t1 = bench_us();
    us = (double)(t1 - t0) / (double)lookups;
    printf("RESULT backend=%s entries=%ld lookups=%ld us_per_lookup=%.2f lookups_per_s=%.0f "
           "hits=%ld\n",
           name, entries, lookups, us, us > 0 ? 1e6 / us : 0.0, hits);
    return 0;
}

int
main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "/tmp";
    long entries = argc > 3 ? atol(argv[3]) : 10000, lookups = argc > 4 ? atol(argv[4]) : 20000;
    char path[4096], err[512];
    unsub_store *w, *r;
    int rc = 0;

    if (entries <= 0 || lookups <= 0)
        return 2;
    snprintf(path, sizeof(path), "%s/bench-unsubscribed", dir);
    unlink(path);
    w = unsub_store_file_open(path, UNSUB_STORE_WRITER, 0, err, sizeof(err));
    r = w != NULL ? unsub_store_file_open(path, UNSUB_STORE_READER, 1000, err, sizeof(err)) : NULL;
    if (r == NULL) {
        fprintf(stderr, "bench_unsub_store: %s\n", err);
        unsub_store_free(w);
        return 1;
    }
    if (bench_fill(w, entries) < 0 || bench_run("file", r, entries, lookups) < 0)
        rc = 1;
    unsub_store_free(r);
    unsub_store_free(w);
    if (argc > 2) {
        state_conf sc;
        char addr[64];
        memset(&sc, 0, sizeof(sc));
        snprintf(addr, sizeof(addr), "127.0.0.1:%s", argv[2]);
        sc.present = 1;
        sc.backend = (char *)"redis";
        sc.address = addr;
        sc.prefix = (char *)"bench";
        sc.timeout_ms = 1000;
        sc.pool = 2;
        w = unsub_store_redis_open(&sc, UNSUB_STORE_WRITER, err, sizeof(err));
        r = w != NULL ? unsub_store_redis_open(&sc, UNSUB_STORE_READER, err, sizeof(err)) : NULL;
        if (r == NULL) {
            fprintf(stderr, "bench_unsub_store: %s\n", err);
            unsub_store_free(w);
            return 1;
        }
        if (bench_fill(w, entries) < 0 || bench_run("redis", r, entries, lookups) < 0)
            rc = 1;
        unsub_store_free(r);
        unsub_store_free(w);
    }
    return rc;
}
