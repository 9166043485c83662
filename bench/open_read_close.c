/* open_read_close: N times open(FILE, O_RDONLY), read until end of file, close -- what `cat` of
 * a small file costs, without the process start. Prints the rate and the CPU time of this
 * process (issue 14, goal 7: the mount's cached reads against /dev/shm's).
 *
 *   open_read_close FILE N */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* One open/read/close; returns the bytes read or -1. */
static long one(const char *path)
{
	char buf[4096];
	long total = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return -1;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		total += n;
	close(fd);
	return n < 0 ? -1 : total;
}

int main(int argc, char **argv)
{
	double t0, c0, secs;
	long i, n, len = 0;

	if (argc != 3 || (n = atol(argv[2])) <= 0) {
		fprintf(stderr, "usage: open_read_close FILE N\n");
		return 2;
	}
	t0 = now_s();
	c0 = cpu_s();
	for (i = 0; i < n; i++) {
		len = one(argv[1]);
		if (len < 0) {
			perror(argv[1]);
			return 1;
		}
	}
	secs = now_s() - t0;
	printf("file=%s ops=%ld bytes=%ld seconds=%.3f ops_per_s=%.0f reader_cpu_us_per_op=%.2f\n",
	       argv[1], n, len, secs, (double)n / secs, (cpu_s() - c0) * 1e6 / (double)n);
	return 0;
}
