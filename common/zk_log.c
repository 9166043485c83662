/* zk_log: see zk_log.h. One process-wide destination, written with one write(2) per line so
 * lines from several threads never interleave. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include "common/zk_log.h"

static int log_fd = STDERR_FILENO;
static enum zk_log_level log_level = ZK_LOG_LEVEL_INFO;
static char log_path[4096]; /* "" = stderr. */

static const char *const level_names[] = {"ERROR", "WARN", "INFO", "DEBUG"};

/* Mode 0640 at most: a log names clients, sessions and paths, not for every local user. A file
 * that exists with wider bits is narrowed. */
static int open_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	struct stat st;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) == 0 && (st.st_mode & 0137) != 0 &&
	    fchmod(fd, st.st_mode & 0640) != 0) {
		int rv = -errno;

		close(fd);
		return rv;
	}
	return fd;
}

int zk_log_open(const char *path, enum zk_log_level level)
{
	int fd = STDERR_FILENO;

	if (path != NULL && strcmp(path, "-") != 0) {
		if (strlen(path) >= sizeof(log_path))
			return -ENAMETOOLONG;
		fd = open_file(path);
		if (fd < 0)
			return fd;
	}
	if (log_fd != STDERR_FILENO)
		close(log_fd);
	log_fd = fd;
	log_level = level;
	snprintf(log_path, sizeof(log_path), "%s", fd == STDERR_FILENO ? "" : path);
	return 0;
}

int zk_log_reopen(void)
{
	int fd, rv = 0;

	if (log_path[0] == '\0')
		return 0;
	fd = open_file(log_path);
	if (fd < 0)
		return fd;
	/* dup2 swaps the file under log_fd atomically: a concurrent write goes to one or the
	 * other, never to a closed descriptor. dup2 clears FD_CLOEXEC on log_fd: set it again. */
	if (dup2(fd, log_fd) < 0 || fcntl(log_fd, F_SETFD, FD_CLOEXEC) != 0)
		rv = -errno;
	close(fd);
	return rv;
}

const char *zk_log_path(void)
{
	return log_path[0] != '\0' ? log_path : NULL;
}

void zk_log_set_level(enum zk_log_level level)
{
	log_level = level;
}

int zk_log_parse_level(const char *name, enum zk_log_level *out)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcasecmp(name, level_names[i]) == 0) {
			*out = (enum zk_log_level)i;
			return 0;
		}
	}
	if (strcasecmp(name, "warning") == 0) {
		*out = ZK_LOG_LEVEL_WARN;
		return 0;
	}
	return -EINVAL;
}

int zk_log_enabled(enum zk_log_level level)
{
	return level <= log_level;
}

static const char *basename_of(const char *file)
{
	const char *slash = strrchr(file, '/');
	return slash ? slash + 1 : file;
}

/* Formats "<time> <LEVEL> <file>:<line> " into @buf; returns its length. */
static size_t format_prefix(char *buf, size_t size, enum zk_log_level level, const char *file,
			    int line)
{
	struct timeval tv;
	struct tm tm;
	int n;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	n = snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s %s:%d ",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
		     tm.tm_sec, (long)(tv.tv_usec / 1000), level_names[level], basename_of(file),
		     line);
	return n < 0 ? 0 : ((size_t)n < size ? (size_t)n : size - 1);
}

static void write_line(char *buf, size_t len, size_t size)
{
	if (len >= size - 1)
		len = size - 2;
	buf[len++] = '\n';
	ssize_t rc = write(log_fd, buf, len);
	(void)rc; /* Nowhere left to report a failed log write. */
}

/* Appends to the line in @buf (@len of @size used) and returns the new length, clamped to
 * @size - 1 so that a truncated line never makes a later append write past @buf. */
static size_t append_vformat(char *buf, size_t len, size_t size, const char *fmt, va_list ap)
{
	int n = vsnprintf(buf + len, size - len, fmt, ap);
	if (n < 0)
		return len;
	return len + (size_t)n < size ? len + (size_t)n : size - 1;
}

__attribute__((format(printf, 4, 5))) static size_t append_format(char *buf, size_t len,
								 size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	len = append_vformat(buf, len, size, fmt, ap);
	va_end(ap);
	return len;
}

/* The prefix and the caller's message: what every log line starts with. */
static size_t format_message(char *buf, size_t size, enum zk_log_level level, const char *file,
			     int line, const char *fmt, va_list ap)
{
	return append_vformat(buf, format_prefix(buf, size, level, file, line), size, fmt, ap);
}

void zk_log_write(enum zk_log_level level, const char *file, int line, const char *fmt, ...)
{
	char buf[2048];
	va_list ap;
	size_t len;

	if (!zk_log_enabled(level))
		return;
	va_start(ap, fmt);
	len = format_message(buf, sizeof(buf), level, file, line, fmt, ap);
	va_end(ap);
	write_line(buf, len, sizeof(buf));
}

void zk_log_hex(enum zk_log_level level, const char *file, int line, const void *data, size_t len,
		const char *fmt, ...)
{
	const unsigned char *bytes = data;
	size_t shown = len < 64 ? len : 64;
	char buf[2048];
	va_list ap;
	size_t n;

	if (!zk_log_enabled(level))
		return;
	va_start(ap, fmt);
	n = format_message(buf, sizeof(buf), level, file, line, fmt, ap);
	va_end(ap);
	n = append_format(buf, n, sizeof(buf), " (%zu bytes:", len);
	for (size_t i = 0; i < shown; i++)
		n = append_format(buf, n, sizeof(buf), " %02x", bytes[i]);
	n = append_format(buf, n, sizeof(buf), "%s)", shown < len ? " ..." : "");
	write_line(buf, n, sizeof(buf));
}

int zk_log_corrupt(const char *file, int line)
{
	zk_log_write(ZK_LOG_LEVEL_WARN, file, line, "corrupt or malformed input");
	return -EBADMSG;
}
