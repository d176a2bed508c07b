// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * tcpstream: one TCP stream between the guest and the host, checked.
 *
 *   tcpstream send ADDR PORT BYTES   connect to ADDR:PORT, send BYTES
 *   tcpstream recv PORT BYTES [nocheck]
 *                                    accept one connection on PORT and
 *                                    receive BYTES (nocheck: as iperf3,
 *                                    without looking at them)
 *
 * The stream is the pattern below, so the receiver checks every byte and
 * its place (tests/guest/tcphost.py makes and checks the same on the
 * host).  Prints one machine-readable line:
 *
 *   TCPSTREAM mode=send|recv bytes=N intact=yes|no|unchecked secs=S mbps=M
 *
 * and exits 0 only when all BYTES went through (and, receiving, arrived
 * intact).  A receiver says "TCPSTREAM-LISTEN port=PORT" once it listens.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/*
 * The pattern: a block of PERIOD bytes from xorshift32 seeded with SEED,
 * repeated.  PERIOD is prime, so a chunk in the wrong place shows.
 */
#define PERIOD  1048573u
#define SEED    0x6d646576u
#define CHUNK   (256 * 1024)

static uint8_t *pattern(void)
{
    uint8_t *p = malloc(PERIOD + CHUNK);
    uint32_t x = SEED;

    if (!p) {
        perror("malloc");
        exit(2);
    }
    for (unsigned i = 0; i < PERIOD; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = x;
    }
    memcpy(p + PERIOD, p, CHUNK);   /* a chunk never wraps */
    return p;
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void report(const char *mode, unsigned long long bytes,
                   const char *intact, double secs)
{
    printf("TCPSTREAM mode=%s bytes=%llu intact=%s secs=%.3f mbps=%.1f\n",
           mode, bytes, intact, secs,
           secs > 0 ? bytes * 8 / secs / 1e6 : 0.0);
    fflush(stdout);
}

static int do_send(int fd, unsigned long long total)
{
    uint8_t *p = pattern();
    unsigned long long done = 0;
    double t0 = now();

    while (done < total) {
        size_t off = done % PERIOD;
        size_t len = total - done < CHUNK ? total - done : CHUNK;
        ssize_t n = send(fd, p + off, len, 0);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            perror("send");
            break;
        }
        done += n;
    }
    shutdown(fd, SHUT_WR);
    /* The receiver closes once it has it all: then it was delivered. */
    while (done == total && recv(fd, p, 1, 0) > 0) {
    }
    report("send", done, done == total ? "yes" : "no", now() - t0);
    return done == total ? 0 : 1;
}

static int do_recv(int fd, unsigned long long total, int check)
{
    uint8_t *p = pattern(), *buf = malloc(CHUNK);
    unsigned long long done = 0;
    int intact = 1;
    double t0 = now();

    while (buf && done < total) {
        ssize_t n = recv(fd, buf, CHUNK, 0);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            fprintf(stderr, "recv: %s\n", n ? strerror(errno) : "closed");
            break;
        }
        if (check && intact && memcmp(buf, p + done % PERIOD, n)) {
            intact = 0;
            fprintf(stderr, "tcpstream: bytes differ after %llu\n", done);
        }
        done += n;
    }
    report("recv", done, !check ? "unchecked" : intact ? "yes" : "no",
           now() - t0);
    return done == total && intact ? 0 : 1;
}

static int usage(void)
{
    fprintf(stderr, "usage: tcpstream send ADDR PORT BYTES\n"
                    "       tcpstream recv PORT BYTES [nocheck]\n");
    return 2;
}

int main(int argc, char **argv)
{
    struct sockaddr_in sa = { .sin_family = AF_INET };
    int fd, one = 1;

    if (argc == 5 && !strcmp(argv[1], "send")) {
        if (inet_pton(AF_INET, argv[2], &sa.sin_addr) != 1) {
            return usage();
        }
        sa.sin_port = htons(atoi(argv[3]));
        fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
            perror("connect");
            return 1;
        }
        return do_send(fd, strtoull(argv[4], NULL, 0));
    }
    if ((argc == 4 || (argc == 5 && !strcmp(argv[4], "nocheck"))) &&
        !strcmp(argv[1], "recv")) {
        int lfd = socket(AF_INET, SOCK_STREAM, 0);

        sa.sin_port = htons(atoi(argv[2]));
        setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) ||
            listen(lfd, 1)) {
            perror("listen");
            return 1;
        }
        printf("TCPSTREAM-LISTEN port=%s\n", argv[2]);
        fflush(stdout);
        fd = accept(lfd, NULL, NULL);
        if (fd < 0) {
            perror("accept");
            return 1;
        }
        return do_recv(fd, strtoull(argv[3], NULL, 0), argc == 4);
    }
    return usage();
}
