/* SPDX-License-Identifier: Apache-2.0
 *
 * The machine's floor for a bot that sleeps between quotes: the echo bot (benchmarks/baselines/echo_bot.py)
 * written in C with no event loop, no Python and no allocation. It opens the market stream and the WS API
 * connection with a plain HTTP upgrade, then sleeps in the kernel until a frame arrives, counts whole market
 * frames, and on every N-th writes one pre-built masked frame ({"id":"e","method":"echo"}) to the WS API
 * connection. Whatever CPU per quote and tick-to-trade this costs is what the kernel (and, in a VM, the
 * hypervisor) charges for one wake-up per quote: no Python bot can go below it without busy-polling.
 *
 *   c_floor_bot --ws-url ws://127.0.0.1:P/ws/x --ws-api-url ws://127.0.0.1:P/ws-api/v3 [--every 10]
 *               [--wait epoll|recv] [--busy-poll]
 *
 * --wait epoll (default): epoll_wait on both connections, as an event loop does; --wait recv: a blocking
 * recv() on the market connection only (the cheapest possible sleep; WS API replies are drained without
 * blocking). --busy-poll: epoll_wait with a zero timeout, never sleeping. Loopback ws:// only (no TLS).
 * On SIGTERM/SIGINT it prints {"orders": N} and exits 0.
 *
 * benchmarks/tick_to_trade.py compiles it with the C compiler Python was built with (configs c-floor,
 * c-floor-recv).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

static volatile sig_atomic_t stop_requested = 0;
static void on_signal(int sig) { (void)sig; stop_requested = 1; }

static void die(const char *what) {
    fprintf(stderr, "c_floor_bot: %s: %s\n", what, errno ? strerror(errno) : "failed");
    exit(2);
}

/* ws://host:port/path -> connected TCP socket after the HTTP upgrade. */
static int ws_connect(const char *url) {
    char host[256], path[1024] = "/";
    int port = 80;
    if (strncmp(url, "ws://", 5) != 0) { errno = 0; die("only ws:// URLs are supported"); }
    const char *h = url + 5, *slash = strchr(h, '/'), *colon = strchr(h, ':');
    size_t hl = (size_t)((colon && (!slash || colon < slash)) ? colon - h : (slash ? slash - h : (long)strlen(h)));
    if (hl == 0 || hl >= sizeof host) { errno = 0; die("bad host in URL"); }
    memcpy(host, h, hl);
    host[hl] = 0;
    if (colon && (!slash || colon < slash)) port = atoi(colon + 1);
    if (slash) snprintf(path, sizeof path, "%s", slash);

    struct addrinfo hints = {0}, *ai;
    char portstr[16];
    snprintf(portstr, sizeof portstr, "%d", port);
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, portstr, &hints, &ai) != 0) { errno = 0; die("cannot resolve host"); }
    int fd = socket(ai->ai_family, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) die("connect");
    freeaddrinfo(ai);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

    char req[2048];
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
                     path, host, port);
    if (send(fd, req, (size_t)n, 0) != n) die("send upgrade");
    /* read the response head byte by byte so no frame bytes after it are consumed here */
    char head[4096];
    size_t got = 0;
    while (got < sizeof head - 1) {
        ssize_t r = recv(fd, head + got, 1, 0);
        if (r <= 0) die("upgrade response");
        got++;
        if (got >= 4 && memcmp(head + got - 4, "\r\n\r\n", 4) == 0) break;
    }
    head[got] = 0;
    if (strncmp(head, "HTTP/1.1 101", 12) != 0) { errno = 0; die("upgrade refused"); }
    return fd;
}

/* Whole frames in buf[0..len): returns bytes consumed, adds text/binary frames to *frames, sets *closed. */
static size_t count_frames(const unsigned char *buf, size_t len, unsigned long *frames, int *closed) {
    size_t at = 0;
    while (len - at >= 2) {
        unsigned op = buf[at] & 0x0F;
        unsigned long long n = buf[at + 1] & 0x7F;
        size_t hdr = 2;
        if (n == 126) {
            if (len - at < 4) break;
            n = ((unsigned long long)buf[at + 2] << 8) | buf[at + 3];
            hdr = 4;
        } else if (n == 127) {
            if (len - at < 10) break;
            n = 0;
            for (int i = 0; i < 8; i++) n = (n << 8) | buf[at + 2 + i];
            hdr = 10;
        }
        if (buf[at + 1] & 0x80) hdr += 4; /* a server never masks, but stay correct */
        if (len - at < hdr + n) break;
        if (op == 0x1 || op == 0x2) (*frames)++;
        if (op == 0x8) *closed = 1;
        at += hdr + (size_t)n;
    }
    return at;
}

int main(int argc, char **argv) {
    const char *ws_url = NULL, *api_url = NULL, *wait = "epoll";
    int every = 10, busy = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--ws-url") && i + 1 < argc) ws_url = argv[++i];
        else if (!strcmp(argv[i], "--ws-api-url") && i + 1 < argc) api_url = argv[++i];
        else if (!strcmp(argv[i], "--rest-url") && i + 1 < argc) ++i; /* accepted, unused */
        else if (!strcmp(argv[i], "--every") && i + 1 < argc) every = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--wait") && i + 1 < argc) wait = argv[++i];
        else if (!strcmp(argv[i], "--busy-poll")) busy = 1;
        else { fprintf(stderr, "c_floor_bot: unknown argument %s\n", argv[i]); return 2; }
    }
    if (!ws_url || !api_url || every < 1 || (strcmp(wait, "epoll") && strcmp(wait, "recv"))) {
        fprintf(stderr, "usage: c_floor_bot --ws-url URL --ws-api-url URL [--every N] [--wait epoll|recv] [--busy-poll]\n");
        return 2;
    }
    int use_recv = !strcmp(wait, "recv") && !busy;
    struct sigaction sa = {0};
    sa.sa_handler = on_signal; /* no SA_RESTART: a blocking call returns EINTR and the loop ends */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    int api = ws_connect(api_url);
    int md = ws_connect(ws_url);

    /* {"id":"e","method":"echo"} as a masked client text frame, built once */
    static const char payload[] = "{\"id\":\"e\",\"method\":\"echo\"}";
    const unsigned char mask[4] = {0x12, 0x34, 0x56, 0x78};
    unsigned char frame[2 + 4 + sizeof payload];
    size_t plen = sizeof payload - 1, flen = 2 + 4 + plen;
    frame[0] = 0x81;
    frame[1] = (unsigned char)(0x80 | plen);
    memcpy(frame + 2, mask, 4);
    for (size_t i = 0; i < plen; i++) frame[6 + i] = (unsigned char)payload[i] ^ mask[i & 3];

    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN};
    ev.data.fd = md;
    epoll_ctl(ep, EPOLL_CTL_ADD, md, &ev);
    ev.data.fd = api;
    epoll_ctl(ep, EPOLL_CTL_ADD, api, &ev);

    static unsigned char buf[1 << 16], drain[1 << 16];
    size_t have = 0;
    unsigned long frames = 0, sent = 0;
    int closed = 0;
    while (!stop_requested && !closed) {
        int md_ready = use_recv;
        if (!use_recv) {
            struct epoll_event evs[2];
            int n = epoll_wait(ep, evs, 2, busy ? 0 : -1);
            if (n < 0) {
                if (errno == EINTR) continue;
                die("epoll_wait");
            }
            for (int i = 0; i < n; i++) {
                if (evs[i].data.fd == md) md_ready = 1;
                else if (recv(api, drain, sizeof drain, MSG_DONTWAIT) == 0) closed = 1; /* replies: not used */
            }
        }
        if (!md_ready) continue;
        ssize_t r = recv(md, buf + have, sizeof buf - have, use_recv ? 0 : MSG_DONTWAIT);
        if (r < 0) {
            if (errno == EINTR || errno == EAGAIN) continue;
            die("recv");
        }
        if (r == 0) break;
        have += (size_t)r;
        unsigned long before = frames;
        size_t used = count_frames(buf, have, &frames, &closed);
        memmove(buf, buf + used, have - used);
        have -= used;
        if (have == sizeof buf) { errno = 0; die("frame larger than the read buffer"); }
        for (unsigned long k = before + 1; k <= frames; k++) {
            if (k % (unsigned long)every == 0) {
                if (send(api, frame, flen, 0) != (ssize_t)flen) die("send order frame");
                sent++;
            }
        }
        if (use_recv) recv(api, drain, sizeof drain, MSG_DONTWAIT);
    }
    printf("{\"orders\": %lu}\n", sent);
    return 0;
}
