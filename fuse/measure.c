/* zkfs-measure: small measuring programs for the mount; each prints figures (not a test).
 *
 *   zkfs-measure cat FILE SECONDS            open/read/close per second of FILE
 *   zkfs-measure mount-create DIR SECONDS    new files per second (one create each)
 *   zkfs-measure mount-set FILE SECONDS      overwrites per second (one setData each)
 *   zkfs-measure zk-create HOSTS PATH SECONDS   the same through the C client directly
 *   zkfs-measure zk-set HOSTS PATH SECONDS
 *   zkfs-measure latency FILE_ON_A DIR_ON_B COUNT  write on mount A -> IN_MODIFY on mount B
 * Run by fuse/measure.sh, which starts a server and two mounts. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>
#include <zookeeper/zookeeper.h>

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int write_file(const char *path, const char *data, int flags)
{
	int fd = open(path, O_WRONLY | O_CREAT | flags, 0644);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, data, strlen(data));
	return close(fd) == 0 && n == (ssize_t)strlen(data) ? 0 : -1;
}

static int measure_cat(const char *file, double secs)
{
	double t0 = now_s(), t;
	char buf[4096];
	long ops = 0;
	int fd;

	do {
		fd = open(file, O_RDONLY);
		if (fd < 0 || read(fd, buf, sizeof(buf)) < 0) {
			perror(file);
			return 1;
		}
		close(fd);
		ops++;
		t = now_s() - t0;
	} while (t < secs);
	printf("cat %s: %.0f open/read/close per second\n", file, (double)ops / t);
	return 0;
}

static int measure_mount_writes(const char *path, double secs, int create)
{
	double t0 = now_s(), t;
	char name[4096];
	long ops = 0;

	do {
		if (create)
			snprintf(name, sizeof(name), "%s/n%ld", path, ops);
		else
			snprintf(name, sizeof(name), "%s", path);
		if (write_file(name, "0123456789", O_TRUNC) != 0) {
			perror(name);
			return 1;
		}
		ops++;
		t = now_s() - t0;
	} while (t < secs);
	printf("mount %s: %.0f per second\n", create ? "creates" : "setData", (double)ops / t);
	return 0;
}

static int measure_zk(const char *hosts, const char *path, double secs, int create)
{
	zhandle_t *zh;
	char name[4096];
	double t0, t;
	long ops = 0;
	int rc;

	zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
	zh = zookeeper_init(hosts, NULL, 10000, NULL, NULL, 0);
	if (!zh)
		return 1;
	zoo_create(zh, path, NULL, -1, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0);
	t0 = now_s();
	do {
		if (create) {
			snprintf(name, sizeof(name), "%s/n%ld", path, ops);
			rc = zoo_create(zh, name, "0123456789", 10, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0);
		} else {
			rc = zoo_set(zh, path, "0123456789", 10, -1);
		}
		if (rc != ZOK) {
			fprintf(stderr, "%s: %s\n", path, zerror(rc));
			return 1;
		}
		ops++;
		t = now_s() - t0;
	} while (t < secs);
	printf("C client %s: %.0f per second\n", create ? "creates" : "setData", (double)ops / t);
	zookeeper_close(zh);
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Wait for IN_MODIFY of @name on @ifd (5 s at most). Returns 0 or -1. */
static int wait_modify(int ifd, const char *name)
{
	char buf[4096] __attribute__((aligned(8)));
	double deadline = now_s() + 5;
	ssize_t n, off;

	while (now_s() < deadline) {
		n = read(ifd, buf, sizeof(buf));
		if (n < 0 && errno == EAGAIN) {
			usleep(50);
			continue;
		}
		for (off = 0; off < n;) {
			struct inotify_event *e = (struct inotify_event *)(buf + off);

			if ((e->mask & IN_MODIFY) && e->len && strcmp(e->name, name) == 0)
				return 0;
			off += (ssize_t)sizeof(*e) + e->len;
		}
	}
	return -1;
}

static int measure_latency(const char *file_a, const char *dir_b, int count)
{
	const char *name = strrchr(file_a, '/') ? strrchr(file_a, '/') + 1 : file_a;
	double *lat = calloc((size_t)count, sizeof(double)), t0;
	int ifd = inotify_init1(IN_NONBLOCK), i, got = 0;
	char value[64];

	if (!lat || ifd < 0 || inotify_add_watch(ifd, dir_b, IN_MODIFY) < 0) {
		perror(dir_b);
		return 1;
	}
	for (i = 0; i < count; i++) {
		snprintf(value, sizeof(value), "%d\n", i);
		t0 = now_s();
		if (write_file(file_a, value, O_TRUNC) != 0) {
			perror(file_a);
			return 1;
		}
		if (wait_modify(ifd, name) == 0)
			lat[got++] = (now_s() - t0) * 1000;
	}
	qsort(lat, (size_t)got, sizeof(double), cmp_double);
	if (got)
		printf("write on A -> IN_MODIFY on B: %d/%d events, p50 %.2f ms, p99 %.2f ms\n", got,
		       count, lat[got / 2], lat[(got * 99) / 100 < got ? (got * 99) / 100 : got - 1]);
	else
		printf("write on A -> IN_MODIFY on B: no event arrived\n");
	free(lat);
	return got == count ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "cat") == 0)
		return measure_cat(argv[2], atof(argv[3]));
	if (argc == 4 && strcmp(argv[1], "mount-create") == 0)
		return measure_mount_writes(argv[2], atof(argv[3]), 1);
	if (argc == 4 && strcmp(argv[1], "mount-set") == 0)
		return measure_mount_writes(argv[2], atof(argv[3]), 0);
	if (argc == 5 && strcmp(argv[1], "zk-create") == 0)
		return measure_zk(argv[2], argv[3], atof(argv[4]), 1);
	if (argc == 5 && strcmp(argv[1], "zk-set") == 0)
		return measure_zk(argv[2], argv[3], atof(argv[4]), 0);
	if (argc == 5 && strcmp(argv[1], "latency") == 0)
		return measure_latency(argv[2], argv[3], atoi(argv[4]));
	fprintf(stderr, "usage: see the comment at the top of fuse/measure.c\n");
	return 2;
}
