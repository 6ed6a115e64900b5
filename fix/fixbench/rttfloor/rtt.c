// rtt: the machine's own floor under a FIX venue's latency, without Go and
// without FIX. `fxmatch bench fix --echo` measures the floor with the
// venue's generator and a FIX echo; this measures it with neither, so
// that what is left is the machine: its loopback, its scheduler, its
// interrupts (and, in a virtual machine, its hypervisor).
//
//   rtt server PORT [poll]           echo fixed 200-byte messages on
//                                    127.0.0.1:PORT (0: any; it prints the
//                                    port) for one client (poll: spin on
//                                    non-blocking reads instead of sleeping)
//   rtt client PORT RATE SECONDS     send RATE messages a second (open loop,
//                                    each at its intended time) and report
//                                    the round trip from the intended send
//                                    time and from the actual write, to the
//                                    answer's arrival as the kernel stamped
//                                    it (SO_TIMESTAMPNS: for TCP, the last
//                                    segment of the read, so answers that
//                                    arrive together share the latest
//                                    time); the first second is warmup
//   rtt jitter SECONDS               spin on the clock and count the gaps:
//                                    the time this CPU was taken away
//
// Build: gcc -O2 -pthread -o rtt rtt.c. Pin each side to a CPU of its own
// (taskset -c 1 ./rtt server 41000 & taskset -c 0 ./rtt client 41000 10000
// 30), optionally under chrt -f 10. Loopback only; it stops by itself
// (the client gives up on a server silent for 5 s).
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define MSG 200

static int poll_mode;

static uint64_t now_ns(clockid_t c) {
	struct timespec t;
	clock_gettime(c, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + t.tv_nsec;
}

static struct sockaddr_in loopback(int port) {
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	a.sin_addr.s_addr = htonl(0x7f000001);
	return a;
}

static int server(int port) {
	int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in a = loopback(port);
	if (bind(l, (void *)&a, sizeof a) || listen(l, 4)) {
		perror("rtt server");
		return 1;
	}
	socklen_t len = sizeof a;
	getsockname(l, (void *)&a, &len);
	printf("%d\n", ntohs(a.sin_port)); // the port, for PORT 0
	fflush(stdout);
	int c = accept(l, 0, 0);
	if (c < 0) {
		perror("rtt server: accept");
		return 1;
	}
	setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	static char buf[1 << 16];
	size_t have = 0;
	for (;;) {
		ssize_t r = recv(c, buf + have, sizeof buf - have, poll_mode ? MSG_DONTWAIT : 0);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (r == 0)
			return 0; // the client is done
		if (r < 0) {
			perror("rtt server: recv");
			return 1;
		}
		have += r;
		size_t n = have / MSG * MSG;
		if (n) {
			if (write(c, buf, n) != (ssize_t)n) {
				perror("rtt server: write");
				return 1;
			}
			memmove(buf, buf + n, have - n);
			have -= n;
		}
	}
}

static int cfd;
static long total;
static uint64_t *intended, *sent, *arrived;

static void *receiver(void *unused) {
	static char b[1 << 16];
	size_t have = 0;
	long got = 0;
	int one = 1;
	setsockopt(cfd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
	while (got < total) {
		struct iovec io = {b + have, sizeof b - have};
		union {
			struct cmsghdr align;
			char b[256];
		} cb;
		struct msghdr mh = {.msg_iov = &io, .msg_iovlen = 1, .msg_control = cb.b, .msg_controllen = sizeof cb.b};
		ssize_t r = recvmsg(cfd, &mh, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			perror("rtt client: recv (a server silent for 5 s ends the run)");
			exit(1);
		}
		if (r == 0) {
			fprintf(stderr, "rtt client: the server closed\n");
			exit(1);
		}
		uint64_t ts = now_ns(CLOCK_REALTIME);
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
				struct timespec t;
				memcpy(&t, CMSG_DATA(c), sizeof t);
				ts = (uint64_t)t.tv_sec * 1000000000ull + t.tv_nsec;
			}
		have += r;
		size_t off = 0;
		for (; have - off >= MSG; off += MSG, got++) {
			long k;
			memcpy(&k, b + off, sizeof k);
			if (k >= 0 && k < total)
				arrived[k] = ts;
		}
		memmove(b, b + off, have - off);
		have -= off;
	}
	return 0;
}

static int cmp(const void *a, const void *b) {
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void report(const char *what, const uint64_t *from, long warm) {
	long n = total - warm, over = 0;
	uint64_t *l = calloc(n, sizeof *l);
	if (!l) {
		perror("rtt client");
		exit(1);
	}
	for (long i = 0; i < n; i++) {
		// The wall clock may be stepped during a run: count such a
		// round trip as 0 rather than as 584 years.
		l[i] = arrived[i + warm] > from[i + warm] ? arrived[i + warm] - from[i + warm] : 0;
		over += l[i] > 100000;
	}
	qsort(l, n, sizeof *l, cmp);
	printf("%s: n=%ld p50=%.1f p99=%.1f p99.9=%.1f max=%.1f us; over 100 us %.3f%%\n", what, n, l[n / 2] / 1e3,
	       l[n * 99 / 100] / 1e3, l[n * 999 / 1000] / 1e3, l[n - 1] / 1e3, 100.0 * over / n);
	free(l);
}

static int client(int port, long rate, long secs) {
	cfd = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	struct sockaddr_in a = loopback(port);
	if (connect(cfd, (void *)&a, sizeof a)) {
		perror("rtt client");
		return 1;
	}
	setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	struct timeval limit = {5, 0}; // a stalled server ends the run
	setsockopt(cfd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
	prctl(PR_SET_TIMERSLACK, 1);
	total = rate * secs;
	intended = calloc(total, 8), sent = calloc(total, 8), arrived = calloc(total, 8);
	if (!intended || !sent || !arrived) {
		perror("rtt client");
		return 1;
	}
	pthread_t t;
	pthread_create(&t, 0, receiver, 0);
	uint64_t start = now_ns(CLOCK_REALTIME) + 100000000ull, step = 1000000000ull / rate;
	char m[MSG];
	memset(m, 'x', MSG);
	for (long i = 0; i < total; i++) {
		// Sleep to 30 us before the intended time, then spin to it.
		uint64_t due = start + i * step, wake = due - 30000, now;
		struct timespec ws = {wake / 1000000000ull, wake % 1000000000ull};
		clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &ws, 0);
		while ((now = now_ns(CLOCK_REALTIME)) < due)
			;
		intended[i] = due, sent[i] = now;
		memcpy(m, &i, sizeof i);
		if (write(cfd, m, MSG) != MSG) {
			perror("rtt client: write");
			return 1;
		}
	}
	pthread_join(t, 0);
	report("from the intended send time", intended, rate);
	report("from the actual write      ", sent, rate);
	return 0;
}

static int jitter(double secs) {
	uint64_t start = now_ns(CLOCK_MONOTONIC), end = start + (uint64_t)(secs * 1e9), prev = start, now, lost = 0, worst = 0;
	const uint64_t thr[] = {10000, 20000, 50000, 100000, 1000000};
	long count[5] = {0};
	while ((now = now_ns(CLOCK_MONOTONIC)) < end) {
		uint64_t g = now - prev;
		prev = now;
		if (g < thr[0])
			continue;
		lost += g;
		worst = g > worst ? g : worst;
		for (int i = 0; i < 5; i++)
			count[i] += g >= thr[i];
	}
	printf("gaps a second: >=10us %.0f, >=20us %.0f, >=50us %.0f, >=100us %.1f, >=1ms %.1f; CPU lost %.2f%%, longest %.1f us\n",
	       count[0] / secs, count[1] / secs, count[2] / secs, count[3] / secs, count[4] / secs, 100.0 * lost / (end - start),
	       worst / 1e3);
	return 0;
}

int main(int argc, char **argv) {
	if (argc >= 3 && !strcmp(argv[1], "server")) {
		poll_mode = argc > 3 && !strcmp(argv[3], "poll");
		return server(atoi(argv[2]));
	}
	if (argc == 5 && !strcmp(argv[1], "client") && atol(argv[3]) > 0 && atol(argv[3]) <= 1000000 && atol(argv[4]) > 1 &&
	    atol(argv[4]) <= 3600)
		return client(atoi(argv[2]), atol(argv[3]), atol(argv[4]));
	if (argc == 3 && !strcmp(argv[1], "jitter") && atof(argv[2]) > 0)
		return jitter(atof(argv[2]));
	fprintf(stderr, "usage: rtt server PORT [poll] | rtt client PORT RATE SECONDS (RATE 1 to 1000000, SECONDS 2 to 3600) | "
	                "rtt jitter SECONDS\n");
	return 2;
}
