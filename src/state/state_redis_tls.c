/*
 * state_redis_tls.c - TLS to Redis with OpenSSL under hiredis 0.14
 *
 * Purpose: hiredis 0.14.1 (Debian 12) has no hiredis_ssl.  This file
 * connects the TCP socket itself, does the TLS handshake with OpenSSL
 * (verification always on: the configured CA file or the system's store,
 * the server name or IP address checked in the certificate, an optional
 * client certificate for mutual TLS), and gives hiredis one end of a local
 * socket pair (redisConnectFd).  A detached pump thread per connection
 * carries the bytes between the other end and the TLS connection.  So
 * state_redis.c is the same for plaintext and TLS: hiredis' timeouts
 * (SO_RCVTIMEO on its end), errors and end-of-file behave as on TCP.
 *
 * Lifetime: the pump owns the SSL object, the TCP socket and its end of
 * the pair; it ends when either side closes or fails (redisFree closes
 * hiredis' end; Redis closing the TLS connection closes the pump's end, so
 * hiredis reads end-of-file and state_redis.c reconnects).  The SSL_CTX is
 * reference-counted: freeing the state leaves open connections working
 * until they close.
 *
 * Files: the CA, certificate and key were read by state_conf.c (as root,
 * privsep_open); here they are parsed from memory.  The key is never
 * logged.  Errors are returned in why; state_redis.c logs them once.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "lib/util.h"
#include "state/state_redis.h"

#define STATE_REDIS_TLS_BUF 16384

struct state_redis_tls {
    SSL_CTX *ctx; /* NULL: why says what is wrong with the settings */
    char *name;   /* checked in the certificate; NULL: the host connected to */
    char why[256];
};

typedef struct state_redis_tls_pump {
    SSL *ssl;
    int net; /* the TCP socket, non-blocking */
    int loc; /* the pump's end of the socket pair */
} state_redis_tls_pump;

int
state_redis_tls_available(void)
{
    return 1;
}

/* state_redis_tls_sslerr - OpenSSL's reason (the first queued error), or what */
static int
state_redis_tls_sslerr(char *why, size_t whylen, const char *what)
{
    unsigned long e = ERR_get_error();
    char buf[256];

    if (e == 0)
        return util_errf(why, whylen, "%s", what);
    ERR_error_string_n(e, buf, sizeof(buf));
    ERR_clear_error();
    return util_errf(why, whylen, "%s: %s", what, buf);
}

/* state_redis_tls_bio - a read-only memory BIO on pem */
static BIO *
state_redis_tls_bio(const char *pem)
{
    return BIO_new_mem_buf(pem, (int)strlen(pem));
}

/* state_redis_tls_load_ca - every certificate of pem into ctx's store; 0, or -1 with why */
static int
state_redis_tls_load_ca(SSL_CTX *ctx, const char *pem, char *why, size_t whylen)
{
    BIO *b = state_redis_tls_bio(pem);
    X509_STORE *store = SSL_CTX_get_cert_store(ctx);
    X509 *x;
    int n = 0;

    if (b == NULL)
        return state_redis_tls_sslerr(why, whylen, "out of memory");
    while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
        if (X509_STORE_add_cert(store, x) == 1)
            n++;
        X509_free(x);
    }
    ERR_clear_error(); /* the end of the PEM data */
    BIO_free(b);
    if (n == 0)
        return util_errf(why, whylen, "no PEM certificate in the file");
    return 0;
}

/* state_redis_tls_load_cert - the client certificate, its chain and key; 0, or -1 with why */
static int
state_redis_tls_load_cert(SSL_CTX *ctx, const char *cert_pem, const char *key_pem,
                          const char **setting_r, char *why, size_t whylen)
{
    BIO *b = state_redis_tls_bio(cert_pem);
    X509 *x;
    EVP_PKEY *k;
    int rc = -1;

    *setting_r = "tls_cert_file";
    if (b == NULL)
        return state_redis_tls_sslerr(why, whylen, "out of memory");
    if ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) == NULL) {
        BIO_free(b);
        ERR_clear_error();
        return util_errf(why, whylen, "no PEM certificate in the file");
    }
    if (SSL_CTX_use_certificate(ctx, x) != 1) {
        X509_free(x);
        BIO_free(b);
        return state_redis_tls_sslerr(why, whylen, "the certificate");
    }
    X509_free(x);
    while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) { /* the chain */
        SSL_CTX_add1_chain_cert(ctx, x);
        X509_free(x);
    }
    ERR_clear_error();
    BIO_free(b);
    *setting_r = "tls_key_file";
    if ((b = state_redis_tls_bio(key_pem)) == NULL)
        return state_redis_tls_sslerr(why, whylen, "out of memory");
    k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL); /* no passphrase: none to prompt for */
    BIO_free(b);
    if (k == NULL) {
        ERR_clear_error(); /* OpenSSL's reason might quote the file: not logged */
        return util_errf(why, whylen, "no unencrypted PEM private key in the file");
    }
    if (SSL_CTX_use_PrivateKey(ctx, k) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
        ERR_clear_error();
        util_errf(why, whylen, "the key does not match the certificate of tls_cert_file");
    } else {
        rc = 0;
    }
    EVP_PKEY_free(k);
    return rc;
}

/* state_redis_tls_ctx - a client context for sc; NULL with why and the setting to blame */
static SSL_CTX *
state_redis_tls_ctx(const state_conf *sc, const char **setting_r, char *why, size_t whylen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

    *setting_r = "tls";
    if (ctx == NULL) {
        state_redis_tls_sslerr(why, whylen, "TLS context");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL); /* always: there is no setting to turn it off */
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_clear_mode(ctx, SSL_MODE_AUTO_RETRY);
    *setting_r = "tls_ca_file";
    if (sc->tls_ca_pem != NULL) {
        if (state_redis_tls_load_ca(ctx, sc->tls_ca_pem, why, whylen) < 0)
            goto fail;
    } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
        state_redis_tls_sslerr(why, whylen, "the system's CA store");
        goto fail;
    }
    if (sc->tls_cert_pem != NULL && sc->tls_key_pem != NULL &&
        state_redis_tls_load_cert(ctx, sc->tls_cert_pem, sc->tls_key_pem, setting_r, why, whylen) <
            0)
        goto fail;
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}

int
state_tls_check(const state_conf *sc, const char **setting_r, char *why, size_t whylen)
{
    SSL_CTX *ctx;

    if (sc->tls_server_name != NULL &&
        (sc->tls_server_name[0] == '\0' || strpbrk(sc->tls_server_name, " \t\r\n/") != NULL)) {
        *setting_r = "tls_server_name";
        return util_errf(why, whylen, "tls_server_name '%s': expected a host name or address",
                         sc->tls_server_name);
    }
    if ((ctx = state_redis_tls_ctx(sc, setting_r, why, whylen)) == NULL)
        return -1;
    SSL_CTX_free(ctx);
    return 0;
}

state_redis_tls *
state_redis_tls_new(const state_conf *sc)
{
    state_redis_tls *t = xcalloc(1, sizeof(*t));
    const char *setting;

    t->ctx = state_redis_tls_ctx(sc, &setting, t->why, sizeof(t->why));
    t->name = sc->tls_server_name ? xstrdup(sc->tls_server_name) : NULL;
    return t;
}

state_redis_tls *
state_redis_tls_free(state_redis_tls *t)
{
    if (t == NULL)
        return NULL;
    SSL_CTX_free(t->ctx);
    free(t->name);
    free(t);
    return NULL;
}

/* state_redis_tls_wait - poll fd for events until deadline; 1 ready, 0 timed out, -1 error */
static int
state_redis_tls_wait(int fd, short events, uint64_t deadline)
{
    struct pollfd p = {.fd = fd, .events = events};
    uint64_t now;
    int r;

    for (;;) {
        now = util_now_ms();
        if (now >= deadline)
            return 0;
        r = poll(&p, 1, (int)(deadline - now));
        if (r < 0 && errno == EINTR)
            continue;
        return r;
    }
}

/* state_redis_tls_tcp - a connected non-blocking TCP socket to host:port by deadline */
static int
state_redis_tls_tcp(const char *host, int port, uint64_t deadline, char *why, size_t whylen)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV}, *res, *ai;
    char serv[16];
    int fd = -1, rc, err = 0;

    snprintf(serv, sizeof(serv), "%d", port);
    if ((rc = getaddrinfo(host, serv, &hints, &res)) != 0) {
        util_errf(why, whylen, "connect: %s: %s", host, gai_strerror(rc));
        return -1;
    }
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        socklen_t sl = sizeof(err);
        int one = 1;

        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        err = errno;
        if (err == EINPROGRESS) {
            rc = state_redis_tls_wait(fd, POLLOUT, deadline);
            if (rc > 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl) == 0 && err == 0)
                break;
            if (rc == 0)
                err = ETIMEDOUT;
        }
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        util_errf(why, whylen, "connect: %s", strerror(err ? err : ECONNREFUSED));
    return fd;
}

/* state_redis_tls_handshake - TLS on fd, the certificate verified for name, by deadline */
static SSL *
state_redis_tls_handshake(SSL_CTX *ctx, int fd, const char *name, uint64_t deadline, char *why,
                          size_t whylen)
{
    unsigned char ip[16];
    int is_ip = inet_pton(AF_INET, name, ip) == 1 || inet_pton(AF_INET6, name, ip) == 1;
    SSL *ssl = SSL_new(ctx);

    ERR_clear_error();
    if (ssl == NULL || SSL_set_fd(ssl, fd) != 1) {
        state_redis_tls_sslerr(why, whylen, "TLS");
        SSL_free(ssl);
        return NULL;
    }
    if (is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name) != 1
              : (SSL_set_tlsext_host_name(ssl, name) != 1 || SSL_set1_host(ssl, name) != 1)) {
        state_redis_tls_sslerr(why, whylen, "TLS: the server name");
        SSL_free(ssl);
        return NULL;
    }
    for (;;) {
        int r = SSL_connect(ssl), e, w;
        long v;

        if (r == 1)
            return ssl;
        e = SSL_get_error(ssl, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            w = state_redis_tls_wait(fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline);
            if (w > 0)
                continue;
            util_errf(why, whylen, "TLS handshake: %s", w == 0 ? "timed out" : strerror(errno));
        } else if ((v = SSL_get_verify_result(ssl)) != X509_V_OK) {
            ERR_clear_error();
            util_errf(why, whylen, "TLS: the server's certificate (name %s) is refused: %s", name,
                      X509_verify_cert_error_string(v));
        } else if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
            util_errf(why, whylen, "TLS handshake: %s",
                      errno != 0 ? strerror(errno) : "connection closed by the server");
        } else {
            state_redis_tls_sslerr(why, whylen, "TLS handshake");
        }
        SSL_free(ssl);
        return NULL;
    }
}

/* state_redis_tls_send - all of buf to the local end; 0, or -1 (hiredis gone) */
static int
state_redis_tls_send(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* state_redis_tls_pump_main - carry bytes both ways until either side closes or fails */
static void *
state_redis_tls_pump_main(void *arg)
{
    state_redis_tls_pump *p = arg;
    char out[STATE_REDIS_TLS_BUF], in[STATE_REDIS_TLS_BUF];
    size_t olen = 0, ooff = 0;

    for (;;) {
        struct pollfd pf[2];
        short net_events = POLLIN;
        int n, e;

        int partial = 0;

        if (ooff < olen) { /* hiredis' bytes not yet written to TLS */
            ERR_clear_error();
            n = SSL_write(p->ssl, out + ooff, (int)(olen - ooff));
            if (n > 0) {
                ooff += (size_t)n;
                if (ooff == olen)
                    ooff = olen = 0;
                else
                    partial = 1;
            } else if ((e = SSL_get_error(p->ssl, n)) == SSL_ERROR_WANT_WRITE) {
                net_events |= POLLOUT;
            } else if (e != SSL_ERROR_WANT_READ) {
                break;
            }
        }
        for (;;) { /* everything TLS has for hiredis */
            ERR_clear_error();
            n = SSL_read(p->ssl, in, sizeof(in));
            if (n > 0) {
                if (state_redis_tls_send(p->loc, in, (size_t)n) < 0)
                    goto done;
                continue;
            }
            e = SSL_get_error(p->ssl, n);
            if (e == SSL_ERROR_WANT_READ)
                break;
            if (e == SSL_ERROR_WANT_WRITE) {
                net_events |= POLLOUT;
                break;
            }
            goto done; /* closed by Redis, or failed */
        }
        if (partial)
            continue; /* write on */
        pf[0].fd = p->loc;
        pf[0].events = olen == 0 ? POLLIN : 0;
        pf[1].fd = p->net;
        pf[1].events = net_events;
        if (poll(pf, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (pf[1].revents & (POLLERR | POLLNVAL))
            break;
        if (pf[0].revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL)) {
            ssize_t r = recv(p->loc, out, sizeof(out), MSG_DONTWAIT);
            if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
                break; /* hiredis closed its end (redisFree) */
            if (r > 0) {
                olen = (size_t)r;
                ooff = 0;
            }
        }
    }
done:
    close(p->loc);
    SSL_shutdown(p->ssl); /* one try: the socket does not block */
    SSL_free(p->ssl);
    close(p->net);
    free(p);
    ERR_clear_error();
    return NULL;
}

redisContext *
state_redis_tls_connect(state_redis_tls *t, const char *host, int port, uint64_t tmo_ms, char *why,
                        size_t whylen)
{
    uint64_t deadline = util_now_ms() + tmo_ms;
    state_redis_tls_pump *p;
    pthread_attr_t attr;
    pthread_t tid;
    sigset_t all, old;
    redisContext *c;
    SSL *ssl;
    int net, sv[2], rc;

    if (t->ctx == NULL) {
        util_errf(why, whylen, "TLS: %s", t->why);
        return NULL;
    }
    if ((net = state_redis_tls_tcp(host, port, deadline, why, whylen)) < 0)
        return NULL;
    if ((ssl = state_redis_tls_handshake(t->ctx, net, t->name ? t->name : host, deadline, why,
                                         whylen)) == NULL) {
        close(net);
        return NULL;
    }
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        util_errf(why, whylen, "TLS: socketpair: %s", strerror(errno));
        SSL_free(ssl);
        close(net);
        return NULL;
    }
    p = xcalloc(1, sizeof(*p));
    p->ssl = ssl;
    p->net = net;
    p->loc = sv[1];
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 256u * 1024u);
    sigfillset(&all); /* signals go to the threads that handle them, not to a pump */
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&tid, &attr, state_redis_tls_pump_main, p);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    if (rc == 0)
        pthread_setname_np(tid, "sm-redis-tls"); /* seen in ps -L and by the tests */
    if (rc != 0) {
        util_errf(why, whylen, "TLS: thread: %s", strerror(rc));
        close(sv[0]);
        close(sv[1]);
        SSL_free(ssl);
        close(net);
        free(p);
        return NULL;
    }
    if ((c = redisConnectFd(sv[0])) == NULL || c->err) { /* the pump ends at the close */
        util_errf(why, whylen, "connect: %s", c ? c->errstr : "out of memory");
        if (c != NULL)
            redisFree(c);
        else
            close(sv[0]);
        return NULL;
    }
    return c;
}
