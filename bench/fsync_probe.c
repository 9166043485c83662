/* fsync_probe: the disk's own durable-write latency, the floor under any server that syncs its
 * log before answering a write (ZooKeeper's FileTxnLog does FileChannel.force(false), i.e.
 * fdatasync, per batch). Two loops of N 100-byte records, each followed by fdatasync(), in a file
 * in DIR:
 *   fsync_*   overwriting a file whose blocks were written and synced beforehand, as a log with
 *             preallocated segments does: no metadata to commit, the physical floor;
 *   append_*  appending, so each sync also commits the new file size (a journal write).
 * Prints one key=value line: fsync_n, fsync_p50_us, fsync_p99_us, append_p50_us, append_p99_us.
 *
 * usage: fsync_probe DIR [N]     (built and run by bench/run; not part of the build) */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double probe_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int probe_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* N timed write+fdatasync of 100 bytes at the file's offset; sorted into @lat. */
static int probe_loop(int fd, int n, double *lat)
{
	char rec[100];

	memset(rec, 'r', sizeof(rec));
	for (int i = 0; i < n; i++) {
		double t0 = probe_now_us();

		if (write(fd, rec, sizeof(rec)) != (ssize_t)sizeof(rec) || fdatasync(fd) != 0)
			return -1;
		lat[i] = probe_now_us() - t0;
	}
	qsort(lat, (size_t)n, sizeof(*lat), probe_cmp);
	return 0;
}

/* Write real zero blocks for @bytes and sync, then rewind: later writes change no metadata. */
static int probe_preallocate(int fd, size_t bytes)
{
	static char zero[65536];

	for (size_t done = 0; done < bytes; done += sizeof(zero)) {
		if (write(fd, zero, sizeof(zero)) != (ssize_t)sizeof(zero))
			return -1;
	}
	return fsync(fd) == 0 && lseek(fd, 0, SEEK_SET) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	char path[4096];
	int n = argc > 2 ? atoi(argv[2]) : 1000, fd = -1, rc = 1;
	double *pre, *app;

	if (argc < 2 || n <= 0) {
		fprintf(stderr, "usage: fsync_probe DIR [N]\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/fsync-probe.%d", argv[1], (int)getpid());
	pre = calloc((size_t)n, sizeof(*pre));
	app = calloc((size_t)n, sizeof(*app));
	if (pre == NULL || app == NULL)
		goto out;
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || probe_preallocate(fd, (size_t)n * 100 + 65536) != 0 ||
	    probe_loop(fd, n, pre) != 0 || ftruncate(fd, 0) != 0 || fsync(fd) != 0 ||
	    lseek(fd, 0, SEEK_SET) != 0 || probe_loop(fd, n, app) != 0)
		goto out;
	printf("fsync_n=%d fsync_p50_us=%.1f fsync_p99_us=%.1f append_p50_us=%.1f "
	       "append_p99_us=%.1f\n",
	       n, pre[n / 2], pre[(int)((double)n * 0.99)], app[n / 2],
	       app[(int)((double)n * 0.99)]);
	rc = 0;
out:
	if (rc != 0)
		fprintf(stderr, "fsync_probe: %s: %s\n", path, strerror(errno));
	if (fd >= 0) {
		close(fd);
		unlink(path);
	}
	free(pre);
	free(app);
	return rc;
}
