// Bench workloads (compiled by scripts/bench.mjs):
//   storm PATH N          open(2)+close(2) PATH N times as fast as possible; prints opens/s on stderr
//   ticker PATH MS        open PATH every MS milliseconds until killed
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: storm PATH N | ticker PATH MS\n");
		return 2;
	}
	const char *path = argv[1];
	if (strstr(argv[0], "ticker")) {
		struct timespec ts = { 0, atoi(argv[2]) * 1000000L };
		for (;;) {
			int fd = open(path, O_RDONLY);
			if (fd >= 0)
				close(fd);
			nanosleep(&ts, NULL);
		}
	}
	long n = atol(argv[2]);
	double t0 = now();
	for (long i = 0; i < n; i++) {
		int fd = open(path, O_RDONLY);
		if (fd >= 0)
			close(fd);
	}
	fprintf(stderr, "%.0f\n", n / (now() - t0));
	return 0;
}
