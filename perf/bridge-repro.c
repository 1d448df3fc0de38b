// Reproducer for the socket driver's lost wake-up (mint src/net/ring.rs), outside mint and glommio:
// an epoll set E of TCP sockets (edge-triggered); a "bridge" ring B with one POLL_ADD on E and an
// eventfd registered; a ring L reading the eventfd; a ring M polling L's fd (as glommio links its
// rings), on which the sleeper waits. A writer thread on the other CPU writes to random sockets in
// bursts, and opens and closes connections to a listener in E. A stall: M's wait times out while E
// has ready sockets and B's poll has not completed.
//
//   apt-get install liburing-dev
//   gcc -O2 -Wall -o /tmp/bridge-repro perf/bridge-repro.c -luring -lpthread
//   /tmp/bridge-repro 180        # seconds; exits 2 and prints STALL lines if it caught one
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <poll.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "liburing.h"

#define N 64
static int wfd[N], rfd[N];
static volatile int stop;
static struct sockaddr_in la;
static int lfd2;
static long accepted;

static void pin(int cpu) {
    cpu_set_t s; CPU_ZERO(&s); CPU_SET(cpu, &s);
    pthread_setaffinity_np(pthread_self(), sizeof s, &s);
}

static void *writer(void *arg) {
    (void)arg;
    pin(0);
    unsigned seed = 1;
    char b = 'x';
    while (!stop) {
        int k = 1 + rand_r(&seed) % 8;
        for (int i = 0; i < k; i++) {
            int j = rand_r(&seed) % N;
            if (write(wfd[j], &b, 1) < 0 && errno != EAGAIN) { perror("write"); exit(1); }
        }
        int r = rand_r(&seed) % 100;
        if (r < 3) {
            int c = socket(AF_INET, SOCK_STREAM, 0);
            if (connect(c, (struct sockaddr *)&la, sizeof la) == 0) close(c); else close(c);
        }
        if (r < 60) continue;
        struct timespec ts = {0, (r < 95 ? rand_r(&seed) % 30000 : 200000 + rand_r(&seed) % 800000)};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

static void pair(int i, int lfd, struct sockaddr_in *a) {
    wfd[i] = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(wfd[i], (struct sockaddr *)a, sizeof *a)) { perror("connect"); exit(1); }
    rfd[i] = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
    int one = 1;
    setsockopt(wfd[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

int main(int argc, char **argv) {
    int seconds = argc > 1 ? atoi(argv[1]) : 60;
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    bind(lfd, (struct sockaddr *)&a, sizeof a);
    listen(lfd, 128);
    getsockname(lfd, (struct sockaddr *)&a, &al);
    int ep = epoll_create1(0);
    for (int i = 0; i < N; i++) {
        pair(i, lfd, &a);
        struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.u32 = i};
        epoll_ctl(ep, EPOLL_CTL_ADD, rfd[i], &ev);
    }
    lfd2 = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    la = (struct sockaddr_in){.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t ll = sizeof la;
    bind(lfd2, (struct sockaddr *)&la, sizeof la);
    listen(lfd2, 1024);
    getsockname(lfd2, (struct sockaddr *)&la, &ll);
    {
        struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.u32 = N};
        epoll_ctl(ep, EPOLL_CTL_ADD, lfd2, &ev);
    }
    pin(1);
    struct io_uring B, L, M;
    io_uring_queue_init(4, &B, 0);
    io_uring_queue_init(16, &L, 0);
    io_uring_queue_init(16, &M, 0);
    int efd = eventfd(0, EFD_CLOEXEC);
    io_uring_register_eventfd(&B, efd);
    int efd2 = dup(efd);
    pthread_t t;
    pthread_create(&t, NULL, writer, NULL);

    int armed = 0, reading = 0, linked = 0, idle = 0;
    uint64_t val;
    long sleeps = 0, stalls = 0, bytes = 0, timeouts = 0;
    time_t end = time(NULL) + seconds;
    struct epoll_event evs[256];
    char buf[4096];
    while (time(NULL) < end) {
        int n = epoll_wait(ep, evs, 256, 0);
        for (int i = 0; i < n; i++) {
            if (evs[i].data.u32 == N) {
                int c;
                while ((c = accept4(lfd2, NULL, NULL, SOCK_NONBLOCK)) >= 0) { close(c); accepted++; }
                continue;
            }
            int fd = rfd[evs[i].data.u32];
            ssize_t r;
            while ((r = read(fd, buf, sizeof buf)) > 0) bytes += r;
        }
        if (n > 0) { idle = 0; continue; }
        if (++idle <= 2) continue;
        idle = 0;
        if (!armed) {
            struct io_uring_sqe *s = io_uring_get_sqe(&B);
            io_uring_prep_poll_add(s, ep, POLLIN);
            io_uring_submit(&B);
            armed = 1;
        }
        if (!reading) {
            struct io_uring_sqe *s = io_uring_get_sqe(&L);
            io_uring_prep_read(s, efd2, &val, 8, 0);
            io_uring_submit(&L);
            reading = 1;
        }
        if (!linked) {
            struct io_uring_sqe *s = io_uring_get_sqe(&M);
            io_uring_prep_poll_add(s, L.ring_fd, POLLIN);
            io_uring_submit(&M);
            linked = 1;
        }
        sleeps++;
        struct io_uring_cqe *c;
        struct __kernel_timespec ts = {0, 200 * 1000 * 1000};
        int e = io_uring_wait_cqe_timeout(&M, &c, &ts);
        if (e == -ETIME) {
            timeouts++;
            struct epoll_event probe[1];
            // A peek: what the set holds now (the events are taken, the next turn reads them).
            int ready = epoll_wait(ep, probe, 1, 0);
            struct io_uring_cqe *bc = NULL;
            int fired = io_uring_peek_cqe(&B, &bc) == 0;
            if (ready > 0 && !fired) {
                stalls++;
                fprintf(stderr, "STALL %ld after %ld sleeps: set ready, bridge poll armed and not completed\n", stalls, sleeps);
                char cmd[128];
                snprintf(cmd, sizeof cmd, "cat /proc/%d/fdinfo/%d | grep -A3 PollList", getpid(), B.ring_fd);
                if (stalls <= 3) system(cmd);
            }
            // The socket set's events: re-read on the next turn (the edge was just taken).
            if (ready > 0 && probe[0].data.u32 == N) {
                int c;
                while ((c = accept4(lfd2, NULL, NULL, SOCK_NONBLOCK)) >= 0) { close(c); accepted++; }
            } else if (ready > 0) {
                int fd = rfd[probe[0].data.u32];
                ssize_t r;
                while ((r = read(fd, buf, sizeof buf)) > 0) bytes += r;
            }
            continue;
        }
        if (e) { fprintf(stderr, "wait: %s\n", strerror(-e)); return 1; }
        io_uring_cqe_seen(&M, c);
        linked = 0;
        struct io_uring_cqe *lc;
        while (io_uring_peek_cqe(&L, &lc) == 0) { io_uring_cqe_seen(&L, lc); reading = 0; }
        struct io_uring_cqe *bc;
        while (io_uring_peek_cqe(&B, &bc) == 0) { io_uring_cqe_seen(&B, bc); armed = 0; }
    }
    stop = 1;
    pthread_join(t, NULL);
    printf("seconds %d sleeps %ld timeouts %ld stalls %ld bytes %ld accepted %ld\n", seconds, sleeps, timeouts, stalls, bytes, accepted);
    return stalls ? 2 : 0;
}
