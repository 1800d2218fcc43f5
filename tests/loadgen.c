/*
 * loadgen.c: many clients at once against one page of understudy serve,
 * on the loopback only, bounded in requests and in time. Each client
 * keeps its connection and asks again as soon as its answer is in; the
 * latency of every request is kept, and p50, p99 and max are printed in
 * ms, with the count (and how many failed).
 * usage: loadgen PORT PATH TOKEN CLIENTS REQUESTS [SECONDS]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CLIENTS_MAX 1000
#define RESPONSE_MAX (4 << 20)

typedef struct Client {
	int fd;
	char *in;                  /* the response so far */
	size_t len;
	double sent;               /* when the request went, ms */
} Client;

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000 + (double)ts.tv_nsec / 1e6;
}

static int connect_to(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		perror("loadgen: connect");
		exit(1);
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
}

/* A whole response in c->in: its headers and Content-Length bytes of body. 1 yes, 0 not yet. */
static int response_complete(const Client *c, int *status)
{
	const char *end = memmem(c->in, c->len, "\r\n\r\n", 4), *cl;
	long body = 0;
	if (!end)
		return 0;
	*status = atoi(c->in + 9);
	cl = memmem(c->in, (size_t)(end - c->in), "Content-Length:", 15);
	if (!cl)
		cl = memmem(c->in, (size_t)(end - c->in), "content-length:", 15);
	if (cl)
		body = atol(cl + 15);
	return (size_t)(end + 4 - c->in) + (size_t)body <= c->len;
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	static Client c[CLIENTS_MAX];
	static struct pollfd p[CLIENTS_MAX];
	char request[1024];
	int port, clients, requests, sent = 0, done = 0, failed = 0;
	double limit_ms, start, *lat;
	if (argc < 6 || argc > 7) {
		fputs("usage: loadgen PORT PATH TOKEN CLIENTS REQUESTS [SECONDS]\n", stderr);
		return 2;
	}
	port = atoi(argv[1]);
	clients = atoi(argv[4]);
	requests = atoi(argv[5]);
	limit_ms = (argc == 7 ? atof(argv[6]) : 60) * 1000;
	if (clients < 1 || clients > CLIENTS_MAX || requests < clients || !(lat = calloc((size_t)requests, sizeof *lat))) {
		fputs("loadgen: 1 to 1000 clients, at least as many requests\n", stderr);
		return 2;
	}
	int n = snprintf(request, sizeof request, "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAuthorization: Bearer %s\r\n\r\n",
	                 argv[2], port, argv[3]);
	start = now_ms();
	for (int i = 0; i < clients; i++) {
		c[i].fd = connect_to(port);
		c[i].in = malloc(RESPONSE_MAX);
		if (!c[i].in)
			return 1;
		p[i].fd = c[i].fd;
		p[i].events = POLLIN;
		c[i].sent = now_ms();
		if (write(c[i].fd, request, (size_t)n) != n)
			return perror("loadgen: write"), 1;
		sent++;
	}
	while (done < sent && now_ms() - start < limit_ms) {
		if (poll(p, (nfds_t)clients, 1000) < 0 && errno != EINTR)
			return perror("loadgen: poll"), 1;
		for (int i = 0; i < clients; i++) {
			int status;
			ssize_t k;
			if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			k = read(c[i].fd, c[i].in + c[i].len, RESPONSE_MAX - c[i].len);
			if (k <= 0) {
				fprintf(stderr, "loadgen: the server closed a connection\n");
				return 1;
			}
			c[i].len += (size_t)k;
			if (!response_complete(&c[i], &status))
				continue;
			lat[done++] = now_ms() - c[i].sent;
			failed += status != 200;
			c[i].len = 0;
			if (sent < requests) {
				c[i].sent = now_ms();
				if (write(c[i].fd, request, (size_t)n) != n)
					return perror("loadgen: write"), 1;
				sent++;
			}
		}
	}
	qsort(lat, (size_t)done, sizeof *lat, by_value);
	printf("%d %d %.3f %.3f %.3f\n", done, failed, lat[done / 2], lat[done ? (size_t)(done * 0.99) : 0],
	       done ? lat[done - 1] : 0.0);
	return done < requests;
}
