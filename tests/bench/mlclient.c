/*
 * mlclient.c - a minimal MTA side of the milter protocol, for the load driver
 *
 * See mlclient.h.  Wire format (libmilter/mfdef.h): every packet is a
 * 32-bit length in network order (command byte included), the command
 * byte, then its data; strings are NUL-terminated.  Postfix's behaviour is
 * the model: body lines end in CRLF, folded header values keep their "\n"
 * plus continuation whitespace, values keep their leading space only when
 * the milter negotiated SMFIP_HDR_LEADSPC.  Every read has a deadline; a
 * malformed or oversized reply is a protocol error, never a crash.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmilter/mfdef.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "mlclient.h"
#include "lib/util.h"

#define ML_MAX_REPLY (1024 * 1024)
#define ML_CHUNK 65535
/* what we offer: every step flag except "send rejected recipients" */
#define ML_OFFER_PROT (SMFI_CURR_PROT & ~(uint32_t)SMFIP_RCPT_REJ)

/* mlclient_now_us - monotonic clock in microseconds */
uint64_t
mlclient_now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void ml_err(ml_conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
ml_err(ml_conn *c, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(c->err, sizeof(c->err), fmt, ap);
    va_end(ap);
}

/* ml_write_all - write LEN bytes */
static int
ml_write_all(ml_conn *c, const void *buf, size_t len)
{
    const char *p = buf;

    while (len > 0) {
        ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            ml_err(c, "write: %s", strerror(errno));
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* ml_send - one packet: CMD plus up to three data pieces */
static int
ml_send(ml_conn *c, char cmd, const void *a, size_t alen, const void *b, size_t blen)
{
    char stackbuf[4096], *buf = stackbuf;
    size_t total = 5 + alen + blen;
    uint32_t nlen = htonl((uint32_t)(1 + alen + blen));
    int rc;

    if (total > sizeof(stackbuf))
        buf = xmalloc(total);
    memcpy(buf, &nlen, 4);
    buf[4] = cmd;
    if (alen)
        memcpy(buf + 5, a, alen);
    if (blen)
        memcpy(buf + 5 + alen, b, blen);
    rc = ml_write_all(c, buf, total);
    if (buf != stackbuf)
        free(buf);
    return rc;
}

/* ml_read_full - read LEN bytes before the deadline */
static int
ml_read_full(ml_conn *c, void *buf, size_t len)
{
    char *p = buf;
    uint64_t deadline = mlclient_now_us() + (uint64_t)c->timeout_ms * 1000u;

    while (len > 0) {
        struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
        uint64_t now = mlclient_now_us();
        int left = now >= deadline ? 0 : (int)((deadline - now) / 1000u) + 1;
        int pr = poll(&pfd, 1, left);
        ssize_t n;

        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0) {
            ml_err(c, "read: %s", pr == 0 ? "timeout" : strerror(errno));
            return -1;
        }
        n = read(c->fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            ml_err(c, "read: %s", n == 0 ? "milter closed the connection" : strerror(errno));
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* ml_recv - one reply packet; *data is malloc'ed (NUL-terminated), *len its size */
static int
ml_recv(ml_conn *c, char *cmd, char **data, size_t *len)
{
    uint32_t nlen;
    size_t n;

    *data = NULL;
    if (ml_read_full(c, &nlen, 4) < 0)
        return -1;
    n = ntohl(nlen);
    if (n < 1 || n > ML_MAX_REPLY) {
        ml_err(c, "reply length %zu out of range", n);
        return -1;
    }
    if (ml_read_full(c, cmd, 1) < 0)
        return -1;
    *len = n - 1;
    *data = xmalloc(n);
    if (*len > 0 && ml_read_full(c, *data, *len) < 0) {
        free(*data);
        *data = NULL;
        return -1;
    }
    (*data)[*len] = '\0';
    return 0;
}

/* ml_code_outcome - outcome of an SMFIR_REPLYCODE text ("550 5.7.1 ...") */
static int
ml_code_outcome(const char *data)
{
    if (data[0] == '4')
        return ML_OUT_TEMPFAIL;
    if (data[0] == '5')
        return ML_OUT_REJECT;
    return ML_OUT_ERROR;
}

/*
 * ml_reply - read the reply to a non-EOM stage.  Returns 0 continue,
 * 1 transaction ended (*out set), 2 skip (body), -1 error.
 */
static int
ml_reply(ml_conn *c, int *out)
{
    for (;;) {
        char cmd, *data;
        size_t len;
        int rc = 1;

        if (ml_recv(c, &cmd, &data, &len) < 0)
            return -1;
        switch (cmd) {
        case SMFIR_PROGRESS:
            free(data);
            continue;
        case SMFIR_CONTINUE:
            rc = 0;
            break;
        case SMFIR_SKIP:
            rc = 2;
            break;
        case SMFIR_ACCEPT:
            *out = ML_OUT_ACCEPT;
            break;
        case SMFIR_REJECT:
            *out = ML_OUT_REJECT;
            break;
        case SMFIR_TEMPFAIL:
            *out = ML_OUT_TEMPFAIL;
            break;
        case SMFIR_DISCARD:
            *out = ML_OUT_DISCARD;
            break;
        case SMFIR_REPLYCODE:
            *out = ml_code_outcome(data);
            break;
        default:
            ml_err(c, "unexpected reply '%c' before end of message", cmd);
            rc = -1;
        }
        free(data);
        return rc;
    }
}

/* ml_parse_sock - fill a sockaddr from unix:/path, /path or inet:PORT@HOST */
static int
ml_connect_sock(ml_conn *c, const char *sock)
{
    if (strncmp(sock, "inet:", 5) == 0) {
        char host[256], *at;
        struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *ai;
        int one = 1;

        util_strlcpy(host, sock + 5, sizeof(host));
        if ((at = strchr(host, '@')) == NULL) {
            ml_err(c, "inet socket needs PORT@HOST");
            return -1;
        }
        *at = '\0';
        if (getaddrinfo(at + 1, host, &hints, &ai) != 0) {
            ml_err(c, "cannot resolve %s", at + 1);
            return -1;
        }
        c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (c->fd >= 0)
            setsockopt(c->fd, IPPROTO_TCP, 1 /* TCP_NODELAY */, &one, sizeof(one));
        if (c->fd < 0 || connect(c->fd, ai->ai_addr, ai->ai_addrlen) < 0) {
            ml_err(c, "connect %s: %s", sock, strerror(errno));
            freeaddrinfo(ai);
            return -1;
        }
        freeaddrinfo(ai);
        return 0;
    }
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    const char *path = strncmp(sock, "unix:", 5) == 0    ? sock + 5
                       : strncmp(sock, "local:", 6) == 0 ? sock + 6
                                                         : sock;
    if (strlen(path) >= sizeof(sun.sun_path)) {
        ml_err(c, "socket path too long");
        return -1;
    }
    strcpy(sun.sun_path, path);
    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
        ml_err(c, "connect %s: %s", sock, strerror(errno));
        return -1;
    }
    return 0;
}

/* mlclient_open - connect to SOCK (unix:/path, /path, inet:PORT@HOST) and negotiate */
int
mlclient_open(ml_conn *c, const char *sock, int timeout_ms)
{
    uint32_t neg[3] = {htonl(SMFI_PROT_VERSION), htonl(SMFI_CURR_ACTS), htonl(ML_OFFER_PROT)};
    char cmd, *data = NULL;
    size_t len;

    memset(c, 0, sizeof(*c));
    c->fd = -1;
    c->timeout_ms = timeout_ms;
    if (ml_connect_sock(c, sock) < 0)
        goto fail;
    if (ml_send(c, SMFIC_OPTNEG, neg, sizeof(neg), NULL, 0) < 0 ||
        ml_recv(c, &cmd, &data, &len) < 0)
        goto fail;
    if (cmd != SMFIC_OPTNEG || len < 12) {
        ml_err(c, "bad option negotiation reply '%c' (%zu bytes)", cmd, len);
        goto fail;
    }
    memcpy(neg, data, 12);
    c->actions = ntohl(neg[1]);
    c->protocol = ntohl(neg[2]);
    free(data);
    return 0;
fail:
    free(data);
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    return -1;
}

/* mlclient_close - send QUIT and close */
void
mlclient_close(ml_conn *c)
{
    if (c->fd < 0)
        return;
    (void)ml_send(c, SMFIC_QUIT, NULL, 0, NULL, 0);
    close(c->fd);
    c->fd = -1;
}

/* ml_stage - send one command and, unless NR_FLAG was negotiated, read its reply */
static int
ml_stage(ml_conn *c, char cmd, const void *a, size_t alen, const void *b, size_t blen,
         uint32_t nr_flag, int *out)
{
    if (ml_send(c, cmd, a, alen, b, blen) < 0)
        return -1;
    if (c->protocol & nr_flag)
        return 0;
    return ml_reply(c, out);
}

/* ml_macro - SMFIC_MACRO for stage CMD from NUL-separated pairs */
static int
ml_macro(ml_conn *c, char cmd, const char *pairs, size_t len)
{
    return ml_send(c, SMFIC_MACRO, &cmd, 1, pairs, len);
}

/* mlclient_connect - CONNECT (+ HELO) for a new SMTP session; <0 on error, else outcome */
int
mlclient_connect(ml_conn *c, const ml_msg *m, const char *client_ip, const char *jname)
{
    char buf[512];
    const char *ip = m->ip ? m->ip : client_ip;
    const char *helo = m->helo ? m->helo : "client.bench.example";
    uint16_t port = htons(41000);
    int n, out = ML_OUT_ACCEPT, rc;

    n = snprintf(buf, sizeof(buf), "j%c%s%c{daemon_name}%cbench%c", 0, jname, 0, 0, 0);
    if (ml_macro(c, SMFIC_CONNECT, buf, (size_t)n) < 0)
        return -1;
    if (!(c->protocol & SMFIP_NOCONNECT)) {
        n = snprintf(buf, sizeof(buf), "[%s]%c4__%s", ip, 0, ip);
        memcpy(buf + strlen(ip) + 4, &port, 2);
        rc = ml_stage(c, SMFIC_CONNECT, buf, (size_t)n + 1, NULL, 0, SMFIP_NR_CONN, &out);
        if (rc != 0)
            return rc < 0 ? -1 : out;
    }
    if (!(c->protocol & SMFIP_NOHELO)) {
        rc = ml_stage(c, SMFIC_HELO, helo, strlen(helo) + 1, NULL, 0, SMFIP_NR_HELO, &out);
        if (rc != 0)
            return rc < 0 ? -1 : out;
    }
    return ML_OUT_N; /* session open, no verdict */
}

/* mlclient_abort - SMFIC_ABORT after a transaction that ended before EOM */
int
mlclient_abort(ml_conn *c)
{
    return ml_send(c, SMFIC_ABORT, NULL, 0, NULL, 0);
}

/* ml_envelope - MAIL and RCPT; 0 continue, 1 ended (*out), -1 error */
static int
ml_envelope(ml_conn *c, const ml_msg *m, const char *qid, uint32_t st[ML_ST_N], int *out)
{
    char buf[1024];
    uint64_t t0 = mlclient_now_us();
    size_t i, ok = 0;
    int n, rc;

    n = snprintf(buf, sizeof(buf), "{i}%c%s%c{mail_addr}%c%s%c", 0, qid, 0, 0, m->from, 0);
    if (m->auth && n > 0 && (size_t)n < sizeof(buf))
        n += snprintf(buf + n, sizeof(buf) - (size_t)n, "{auth_authen}%c%s%c", 0, m->auth, 0);
    if (n < 0 || (size_t)n >= sizeof(buf) || ml_macro(c, SMFIC_MAIL, buf, (size_t)n) < 0)
        return -1;
    if (!(c->protocol & SMFIP_NOMAIL)) {
        n = snprintf(buf, sizeof(buf), "<%s>", m->from);
        rc = ml_stage(c, SMFIC_MAIL, buf, (size_t)n + 1, NULL, 0, SMFIP_NR_MAIL, out);
        if (rc != 0)
            return rc < 0 ? -1 : 1;
    }
    st[ML_ST_MAIL] = (uint32_t)(mlclient_now_us() - t0);
    t0 = mlclient_now_us();
    for (i = 0; i < m->nrcpt; i++) {
        int o = ML_OUT_ACCEPT;
        if (c->protocol & SMFIP_NORCPT) {
            ok++;
            continue;
        }
        n = snprintf(buf, sizeof(buf), "<%s>", m->rcpt[i]);
        rc = ml_stage(c, SMFIC_RCPT, buf, (size_t)n + 1, NULL, 0, SMFIP_NR_RCPT, &o);
        if (rc < 0)
            return -1;
        if (rc == 1 && o == ML_OUT_ACCEPT) {
            *out = o;
            return 1;
        }
        if (rc == 1)
            *out = o; /* this recipient refused */
        else
            ok++;
    }
    st[ML_ST_RCPT] = (uint32_t)(mlclient_now_us() - t0);
    return ok > 0 ? 0 : 1;
}

/* ml_headers - DATA, HEADER..., EOH; 0 continue, 1 ended, -1 error */
static int
ml_headers(ml_conn *c, const ml_msg *m, int *out)
{
    size_t i;
    int rc;

    if (!(c->protocol & SMFIP_NODATA) &&
        (rc = ml_stage(c, SMFIC_DATA, NULL, 0, NULL, 0, SMFIP_NR_DATA, out)) != 0)
        return rc < 0 ? -1 : 1;
    for (i = 0; i < m->nhdr && !(c->protocol & SMFIP_NOHDRS); i++) {
        const char *v = m->hdr[i].value;
        if (!(c->protocol & SMFIP_HDR_LEADSPC))
            v += strspn(v, " \t");
        rc = ml_stage(c, SMFIC_HEADER, m->hdr[i].name, strlen(m->hdr[i].name) + 1, v, strlen(v) + 1,
                      SMFIP_NR_HDR, out);
        if (rc != 0)
            return rc < 0 ? -1 : 1;
    }
    if (!(c->protocol & SMFIP_NOEOH) &&
        (rc = ml_stage(c, SMFIC_EOH, NULL, 0, NULL, 0, SMFIP_NR_EOH, out)) != 0)
        return rc < 0 ? -1 : 1;
    return 0;
}

/* ml_body - BODY chunks; 0 continue (or skipped), 1 ended, -1 error */
static int
ml_body(ml_conn *c, const ml_msg *m, int *out)
{
    size_t off = 0;

    while (off < m->bodylen && !(c->protocol & SMFIP_NOBODY)) {
        size_t n = m->bodylen - off > ML_CHUNK ? ML_CHUNK : m->bodylen - off;
        int rc = ml_stage(c, SMFIC_BODY, m->body + off, n, NULL, 0, SMFIP_NR_BODY, out);
        if (rc == 2)
            return 0;
        if (rc != 0)
            return rc < 0 ? -1 : 1;
        off += n;
    }
    return 0;
}

/* ml_mod_hdr - record an added/inserted header from reply data */
static void
ml_mod_hdr(ml_hdr **v, size_t *n, const char *data, size_t len)
{
    size_t nl = strnlen(data, len);

    if (nl >= len)
        return;
    *v = xrealloc(*v, (*n + 1) * sizeof(**v));
    (*v)[*n].name = xstrdup(data);
    (*v)[*n].value = xstrdup(data + nl + 1);
    (*n)++;
}

/* ml_eom - EOM and its replies until the final one; returns ML_OUT_* or -1 */
static int
ml_eom(ml_conn *c, ml_mods *mods)
{
    if (ml_send(c, SMFIC_BODYEOB, NULL, 0, NULL, 0) < 0)
        return -1;
    for (;;) {
        char cmd, *data;
        size_t len;
        int out = -1;

        if (ml_recv(c, &cmd, &data, &len) < 0)
            return -1;
        switch (cmd) {
        case SMFIR_ADDHEADER:
            if (mods)
                ml_mod_hdr(&mods->add, &mods->nadd, data, len);
            break;
        case SMFIR_INSHEADER:
            if (mods && len > 4)
                ml_mod_hdr(&mods->ins, &mods->nins, data + 4, len - 4);
            break;
        case SMFIR_CHGHEADER:
        case SMFIR_ADDRCPT:
        case SMFIR_DELRCPT:
        case SMFIR_ADDRCPT_PAR:
        case SMFIR_REPLBODY:
        case SMFIR_CHGFROM:
        case SMFIR_QUARANTINE:
            if (mods)
                mods->changes++;
            break;
        case SMFIR_PROGRESS:
            break;
        case SMFIR_CONTINUE:
        case SMFIR_ACCEPT:
            out = ML_OUT_ACCEPT;
            break;
        case SMFIR_REJECT:
            out = ML_OUT_REJECT;
            break;
        case SMFIR_TEMPFAIL:
            out = ML_OUT_TEMPFAIL;
            break;
        case SMFIR_DISCARD:
            out = ML_OUT_DISCARD;
            break;
        case SMFIR_REPLYCODE:
            out = ml_code_outcome(data);
            break;
        default:
            ml_err(c, "unexpected reply '%c' at end of message", cmd);
            free(data);
            return -1;
        }
        free(data);
        if (out >= 0)
            return out;
    }
}

/* mlclient_txn - one transaction; fills stage times (us); returns ML_OUT_* */
int
mlclient_txn(ml_conn *c, const ml_msg *m, const char *qid, uint32_t st[ML_ST_N], ml_mods *mods)
{
    int out = ML_OUT_ACCEPT, rc;
    uint64_t t0;

    rc = ml_envelope(c, m, qid, st, &out);
    if (rc != 0)
        return rc < 0 ? ML_OUT_ERROR : out;
    t0 = mlclient_now_us();
    if ((rc = ml_headers(c, m, &out)) != 0)
        return rc < 0 ? ML_OUT_ERROR : out;
    st[ML_ST_HDR] = (uint32_t)(mlclient_now_us() - t0);
    t0 = mlclient_now_us();
    if ((rc = ml_body(c, m, &out)) != 0)
        return rc < 0 ? ML_OUT_ERROR : out;
    st[ML_ST_BODY] = (uint32_t)(mlclient_now_us() - t0);
    t0 = mlclient_now_us();
    rc = ml_eom(c, mods);
    st[ML_ST_EOM] = (uint32_t)(mlclient_now_us() - t0);
    return rc < 0 ? ML_OUT_ERROR : rc;
}
