/*
 * milter_load.c - milter-protocol load driver: replay a corpus against any milter
 *
 * Usage: milter_load -s SOCKET [options] CORPUS...   (files or directories)
 *   -s SOCK   unix:/path, /path or inet:PORT@HOST
 *   -c N      concurrent connections (threads), default 1
 *   -n N      messages in all, default 1000 (ignored with -d)
 *   -d SEC    run for SEC seconds instead of a count
 *   -m N      messages per milter connection (Postfix: one per SMTP session), default 1,
 *             0 = keep each connection for the whole run
 *   -r RATE   pace the run at RATE messages/s in all (open loop), default: as fast as
 *             replies come back (closed loop)
 *   -S SEED   seed of the message order (message k is corpus[hash(SEED, k)]), default 1
 *   -p PID    a milter process to measure (CPU time, VmHWM, VmRSS); repeatable
 *   -a IP     client address when a message has no "#env ip" (default 192.0.2.10)
 *   -j NAME   the j macro (default mx.bench.example)
 *   -t MS     reply timeout, default 10000
 *   -l LABEL  label of the RESULT line
 *   -o DIR    write each corpus message once, with the milter's added/inserted
 *             headers, into DIR (used to sign the corpus with opendkim -m s)
 *   -q        print only the RESULT line
 * Prints messages/s, latency percentiles per message and per stage, outcome
 * counts, errors, and the measured processes' CPU seconds and memory, then
 * one "RESULT key=value ..." line for scripts.  Exit status: 0, or 1 when a
 * message ended in a protocol/I-O error, 2 on usage errors.
 * Not a test; built as a noinst program (mk/bench.am), run by scripts/bench.sh.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mlclient.h"
#include "lib/util.h"

#define ML_MAX_PIDS 8
#define ML_NONE UINT32_MAX

typedef struct ml_opts {
    const char *sock, *client_ip, *jname, *label, *outdir;
    int conns, per_conn, timeout_ms, quiet, npids;
    long count;
    double duration, rate;
    uint64_t seed;
    int pids[ML_MAX_PIDS];
} ml_opts;

typedef struct ml_thread {
    pthread_t tid;
    int id;
    uint32_t *lat; /* per message: total, then ML_ST_N stages */
    size_t n, cap;
    unsigned long out[ML_OUT_N];
} ml_thread;

static ml_opts opt = {.client_ip = "192.0.2.10",
                      .jname = "mx.bench.example",
                      .label = "run",
                      .conns = 1,
                      .per_conn = 1,
                      .timeout_ms = 10000,
                      .count = 1000,
                      .seed = 1};
static ml_msg **corpus;
static size_t ncorpus;
static atomic_long next_idx;
static uint64_t run_start, run_end;
static atomic_int errors_printed;

/* ml_hash - splitmix64: message k of the run */
static uint64_t
ml_hash(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* ml_take - claim the next message index; -1 when the run is over */
static long
ml_take(void)
{
    long i = atomic_fetch_add(&next_idx, 1);

    if (opt.duration > 0)
        return mlclient_now_us() < run_end ? i : -1;
    return i < opt.count ? i : -1;
}

/* ml_pace - open loop: wait for message I's start time */
static void
ml_pace(long i)
{
    uint64_t at, now;

    if (opt.rate <= 0)
        return;
    at = run_start + (uint64_t)((double)i * 1e6 / opt.rate);
    now = mlclient_now_us();
    if (at > now) {
        struct timespec ts = {(time_t)((at - now) / 1000000u),
                              (long)((at - now) % 1000000u) * 1000};
        nanosleep(&ts, NULL);
    }
}

/* ml_record - keep one message's times */
static void
ml_record(ml_thread *t, uint32_t total, const uint32_t st[ML_ST_N])
{
    if (t->n == t->cap)
        t->lat = xrealloc(t->lat, (t->cap = t->cap * 2 + 1024) * (ML_ST_N + 1) * sizeof(uint32_t));
    t->lat[t->n * (ML_ST_N + 1)] = total;
    memcpy(&t->lat[t->n * (ML_ST_N + 1) + 1], st, ML_ST_N * sizeof(uint32_t));
    t->n++;
}

/* ml_fail - print the first few errors */
static void
ml_fail(const ml_conn *c, long i)
{
    if (atomic_fetch_add(&errors_printed, 1) < 5)
        fprintf(stderr, "milter_load: message %ld: %s\n", i, c->err[0] ? c->err : "error");
}

/* ml_one - one message on connection C (opened here when needed); returns its outcome */
static int
ml_one(ml_conn *c, const ml_msg *m, long i, uint32_t st[ML_ST_N], ml_mods *mods)
{
    char qid[32];
    int rc;

    for (rc = 0; rc < ML_ST_N; rc++)
        st[rc] = ML_NONE;
    if (c->fd < 0) {
        uint64_t t0 = mlclient_now_us();
        if (mlclient_open(c, opt.sock, opt.timeout_ms) < 0)
            return ML_OUT_ERROR;
        rc = mlclient_connect(c, m, opt.client_ip, opt.jname);
        st[ML_ST_CONN] = (uint32_t)(mlclient_now_us() - t0);
        if (rc != ML_OUT_N) {
            mlclient_close(c);
            return rc < 0 ? ML_OUT_ERROR : rc;
        }
    }
    snprintf(qid, sizeof(qid), "B%08lX", (unsigned long)i);
    rc = mlclient_txn(c, m, qid, st, mods);
    if (rc != ML_OUT_ERROR && st[ML_ST_EOM] == ML_NONE && mlclient_abort(c) < 0)
        rc = ML_OUT_ERROR;
    return rc;
}

/* ml_worker - one connection's loop */
static void *
ml_worker(void *arg)
{
    ml_thread *t = arg;
    ml_conn c = {.fd = -1};
    int on_conn = 0;
    long i;

    while ((i = ml_take()) >= 0) {
        const ml_msg *m = corpus[ml_hash(opt.seed * 0x100000001b3ull + (uint64_t)i) % ncorpus];
        uint32_t st[ML_ST_N];
        uint64_t t0;
        int out;

        ml_pace(i);
        t0 = mlclient_now_us();
        out = ml_one(&c, m, i, st, NULL);
        t->out[out]++;
        if (out == ML_OUT_ERROR) {
            ml_fail(&c, i);
            if (c.fd >= 0)
                close(c.fd);
            c.fd = -1;
            on_conn = 0;
            nanosleep(&(struct timespec){0, 5000000}, NULL); /* no hot loop on a dead milter */
            continue;
        }
        ml_record(t, (uint32_t)(mlclient_now_us() - t0), st);
        if (c.fd >= 0 && opt.per_conn > 0 && ++on_conn >= opt.per_conn) {
            mlclient_close(&c);
            on_conn = 0;
        }
    }
    mlclient_close(&c);
    return NULL;
}

/* ml_cmp - qsort on uint32 */
static int
ml_cmp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return x < y ? -1 : x > y;
}

/* ml_pct - percentiles of column COL over all threads, in ms; *n gets the sample count */
static void
ml_pct(ml_thread *th, int col, double pct[4], size_t *n)
{
    size_t total = 0, k = 0, i;
    int t;
    uint32_t *v;

    for (t = 0; t < opt.conns; t++)
        total += th[t].n;
    v = xmalloc((total + 1) * sizeof(*v));
    for (t = 0; t < opt.conns; t++)
        for (i = 0; i < th[t].n; i++)
            if (th[t].lat[i * (ML_ST_N + 1) + (size_t)col] != ML_NONE)
                v[k++] = th[t].lat[i * (ML_ST_N + 1) + (size_t)col];
    *n = k;
    memset(pct, 0, 4 * sizeof(double));
    if (k > 0) {
        qsort(v, k, sizeof(*v), ml_cmp);
        pct[0] = v[(k - 1) * 50 / 100] / 1000.0;
        pct[1] = v[(k - 1) * 95 / 100] / 1000.0;
        pct[2] = v[(k - 1) * 99 / 100] / 1000.0;
        pct[3] = v[k - 1] / 1000.0;
    }
    free(v);
}

/* ml_proc - CPU seconds (utime+stime) and VmHWM/VmRSS (kB) of PID; -1 if unreadable */
static int
ml_proc(int pid, double *cpu, long *hwm, long *rss)
{
    char path[64], buf[2048], *p;
    unsigned long ut = 0, stt = 0;
    FILE *fp;
    size_t n;

    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    if ((fp = fopen(path, "r")) == NULL)
        return -1;
    n = fread(buf, 1, sizeof(buf) - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    if ((p = strrchr(buf, ')')) == NULL ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &stt) != 2)
        return -1;
    *cpu = (double)(ut + stt) / (double)sysconf(_SC_CLK_TCK);
    snprintf(path, sizeof(path), "/proc/%d/status", pid);
    if ((fp = fopen(path, "r")) == NULL)
        return -1;
    while (fgets(buf, sizeof(buf), fp)) {
        if (!strncmp(buf, "VmHWM:", 6))
            *hwm = atol(buf + 6);
        else if (!strncmp(buf, "VmRSS:", 6))
            *rss = atol(buf + 6);
    }
    fclose(fp);
    return 0;
}

/* ml_proc_sum - summed over all -p processes */
static void
ml_proc_sum(double *cpu, long *hwm, long *rss)
{
    int i;

    *cpu = 0;
    *hwm = *rss = 0;
    for (i = 0; i < opt.npids; i++) {
        double c = 0;
        long h = 0, r = 0;
        if (ml_proc(opt.pids[i], &c, &h, &r) == 0) {
            *cpu += c;
            *hwm += h;
            *rss += r;
        }
    }
}

static const char *const ml_stage_names[ML_ST_N + 1] = {"message", "connect", "mail", "rcpt",
                                                        "header",  "body",    "eom"};

/* ml_report - the human table and the RESULT line */
static void
ml_report(ml_thread *th, double secs, double cpu, long hwm, long rss)
{
    unsigned long out[ML_OUT_N] = {0}, msgs = 0;
    double pct[4], total[4];
    size_t n;
    int t, k;

    for (t = 0; t < opt.conns; t++)
        for (k = 0; k < ML_OUT_N; k++)
            out[k] += th[t].out[k];
    for (k = 0; k < ML_OUT_N; k++)
        msgs += out[k];
    ml_pct(th, 0, total, &n);
    if (!opt.quiet) {
        printf("# %s: %s, %d connection(s), %d message(s) per connection, seed %llu\n", opt.label,
               opt.sock, opt.conns, opt.per_conn, (unsigned long long)opt.seed);
        printf("messages %lu in %.3f s = %.1f msg/s; accept %lu reject %lu tempfail %lu "
               "discard %lu errors %lu\n",
               msgs, secs, msgs / secs, out[ML_OUT_ACCEPT], out[ML_OUT_REJECT],
               out[ML_OUT_TEMPFAIL], out[ML_OUT_DISCARD], out[ML_OUT_ERROR]);
        printf("%-10s %8s %8s %8s %8s %8s\n", "ms", "p50", "p95", "p99", "max", "samples");
        for (k = 0; k <= ML_ST_N; k++) {
            ml_pct(th, k, pct, &n);
            if (n > 0)
                printf("%-10s %8.3f %8.3f %8.3f %8.3f %8zu\n", ml_stage_names[k], pct[0], pct[1],
                       pct[2], pct[3], n);
        }
        if (opt.npids > 0)
            printf("milter: cpu %.2f s (%.1f us/msg), VmHWM %ld kB, VmRSS %ld kB\n", cpu,
                   msgs ? cpu * 1e6 / (double)msgs : 0.0, hwm, rss);
    }
    printf("RESULT label=%s conns=%d msgs=%lu secs=%.3f rate=%.1f p50=%.3f p95=%.3f p99=%.3f "
           "max=%.3f accept=%lu reject=%lu tempfail=%lu discard=%lu errors=%lu cpu_s=%.2f "
           "cpu_us_per_msg=%.1f hwm_kb=%ld rss_kb=%ld\n",
           opt.label, opt.conns, msgs, secs, msgs / secs, total[0], total[1], total[2], total[3],
           out[ML_OUT_ACCEPT], out[ML_OUT_REJECT], out[ML_OUT_TEMPFAIL], out[ML_OUT_DISCARD],
           out[ML_OUT_ERROR], cpu, msgs ? cpu * 1e6 / (double)msgs : 0.0, hwm, rss);
}

/* ml_add_file - load one corpus file; 0 or -1 */
static int
ml_add_file(const char *path)
{
    char err[256];
    ml_msg *m = mlclient_msg_load(path, err, sizeof(err));

    if (m == NULL) {
        fprintf(stderr, "milter_load: %s\n", err);
        return -1;
    }
    corpus = xrealloc(corpus, (ncorpus + 1) * sizeof(*corpus));
    corpus[ncorpus++] = m;
    return 0;
}

/* ml_namecmp - qsort on names */
static int
ml_namecmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ml_add_path - a file, or every regular file of a directory in name order */
static int
ml_add_path(const char *path)
{
    struct stat sb;
    DIR *d;
    struct dirent *de;
    char **names = NULL;
    size_t n = 0, i;
    int rc = 0;

    if (stat(path, &sb) < 0 || !S_ISDIR(sb.st_mode))
        return ml_add_file(path);
    if ((d = opendir(path)) == NULL)
        return -1;
    while ((de = readdir(d)) != NULL) {
        char *full = xasprintf("%s/%s", path, de->d_name);
        if (de->d_name[0] != '.' && stat(full, &sb) == 0 && S_ISREG(sb.st_mode)) {
            names = xrealloc(names, (n + 1) * sizeof(*names));
            names[n++] = full;
        } else {
            free(full);
        }
    }
    closedir(d);
    qsort(names, n, sizeof(*names), ml_namecmp);
    for (i = 0; i < n; i++) {
        if (rc == 0 && ml_add_file(names[i]) < 0)
            rc = -1;
        free(names[i]);
    }
    free(names);
    return rc;
}

/* ml_write_out - -o: every corpus message once, written with the milter's header changes */
static int
ml_write_out(void)
{
    ml_conn c = {.fd = -1};
    size_t i;
    int bad = 0;

    for (i = 0; i < ncorpus; i++) {
        const char *base = strrchr(corpus[i]->path, '/');
        char *out = xasprintf("%s/%s", opt.outdir, base ? base + 1 : corpus[i]->path);
        ml_mods mods = {0};
        uint32_t st[ML_ST_N];
        FILE *fp;
        int rc = ml_one(&c, corpus[i], (long)i, st, &mods);

        if (rc != ML_OUT_ACCEPT) {
            fprintf(stderr, "milter_load: %s: outcome %d %s\n", corpus[i]->path, rc, c.err);
            bad = 1;
        }
        if ((fp = fopen(out, "w")) == NULL || mlclient_msg_write(fp, corpus[i], &mods) < 0) {
            fprintf(stderr, "milter_load: cannot write %s\n", out);
            bad = 1;
        }
        if (fp)
            fclose(fp);
        free(out);
        mlclient_mods_clear(&mods);
        mlclient_close(&c);
    }
    return bad;
}

/* ml_usage - print usage, exit 2 */
static void
ml_usage(void)
{
    fprintf(stderr,
            "usage: milter_load -s SOCKET [-c CONNS] [-n COUNT | -d SECONDS] [-m PER_CONN]\n"
            "       [-r RATE] [-S SEED] [-p PID]... [-a IP] [-j NAME] [-t MS] [-l LABEL]\n"
            "       [-o OUTDIR] [-q] CORPUS...\n");
    exit(2);
}

/* ml_options - parse argv into opt; returns optind */
static int
ml_options(int argc, char **argv)
{
    int ch;

    while ((ch = getopt(argc, argv, "s:c:n:d:m:r:S:p:a:j:t:l:o:q")) != -1) {
        switch (ch) {
        case 's':
            opt.sock = optarg;
            break;
        case 'c':
            opt.conns = atoi(optarg);
            break;
        case 'n':
            opt.count = atol(optarg);
            break;
        case 'd':
            opt.duration = atof(optarg);
            break;
        case 'm':
            opt.per_conn = atoi(optarg);
            break;
        case 'r':
            opt.rate = atof(optarg);
            break;
        case 'S':
            opt.seed = strtoull(optarg, NULL, 10);
            break;
        case 'a':
            opt.client_ip = optarg;
            break;
        case 'j':
            opt.jname = optarg;
            break;
        case 't':
            opt.timeout_ms = atoi(optarg);
            break;
        case 'l':
            opt.label = optarg;
            break;
        case 'o':
            opt.outdir = optarg;
            break;
        case 'q':
            opt.quiet = 1;
            break;
        case 'p':
            if (opt.npids == ML_MAX_PIDS)
                ml_usage();
            opt.pids[opt.npids++] = atoi(optarg);
            break;
        default:
            ml_usage();
        }
    }
    if (opt.sock == NULL || optind >= argc || opt.conns < 1 || opt.conns > 4096 || opt.count < 0 ||
        opt.per_conn < 0 || opt.timeout_ms < 1 || opt.duration > 86400)
        ml_usage();
    return optind;
}

int
main(int argc, char **argv)
{
    ml_thread *th;
    double cpu0, cpu1, secs;
    long hwm, rss;
    int i, rc = 0;

    for (i = ml_options(argc, argv); i < argc; i++)
        if (ml_add_path(argv[i]) < 0)
            return 2;
    if (ncorpus == 0) {
        fprintf(stderr, "milter_load: empty corpus\n");
        return 2;
    }
    if (opt.outdir)
        return ml_write_out();
    th = xcalloc((size_t)opt.conns, sizeof(*th));
    ml_proc_sum(&cpu0, &hwm, &rss);
    run_start = mlclient_now_us();
    run_end = run_start + (uint64_t)(opt.duration * 1e6);
    for (i = 0; i < opt.conns; i++) {
        th[i].id = i;
        if (pthread_create(&th[i].tid, NULL, ml_worker, &th[i]) != 0) {
            fprintf(stderr, "milter_load: cannot start thread %d\n", i);
            opt.conns = i;
            break;
        }
    }
    for (i = 0; i < opt.conns; i++)
        pthread_join(th[i].tid, NULL);
    secs = (double)(mlclient_now_us() - run_start) / 1e6;
    ml_proc_sum(&cpu1, &hwm, &rss);
    ml_report(th, secs, cpu1 - cpu0, hwm, rss);
    for (i = 0; i < opt.conns; i++) {
        if (th[i].out[ML_OUT_ERROR])
            rc = 1;
        free(th[i].lat);
    }
    free(th);
    for (size_t k = 0; k < ncorpus; k++)
        mlclient_msg_free(corpus[k]);
    free(corpus);
    return rc;
}
