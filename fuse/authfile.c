/* authfile: read and check the credentials file (see authfile.h). */
#include "fuse/authfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The whole file is read at once: AUTHFILE_MAX_IDS full lines plus comments fit. */
#define AUTHFILE_MAX_BYTES (64 * 1024)

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* A scheme is what ZooKeeper's providers are named with: letters, digits, '-', '_', '.'. */
static bool scheme_ok(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (!(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') && !(c >= '0' && c <= '9') &&
		    c != '-' && c != '_' && c != '.')
			return false;
	}
	return len > 0;
}

/* Check one trimmed line @s (@len bytes, line @no) and append it to @out (@used bytes so far;
 * room for it is there: @out is as large as the text). */
static int take_line(const char *s, size_t len, int no, char *out, size_t *used, int *ids,
		     char *err, size_t errlen)
{
	const char *colon = memchr(s, ':', len);

	if (len > AUTHFILE_MAX_LINE)
		return fail(err, errlen, "line %d: longer than %d bytes", no, AUTHFILE_MAX_LINE);
	if (!colon || !scheme_ok(s, (size_t)(colon - s)) || colon + 1 == s + len)
		return fail(err, errlen, "line %d: not SCHEME:CREDENTIAL (e.g. digest:alice:secret)",
			    no);
	if (++*ids > AUTHFILE_MAX_IDS)
		return fail(err, errlen, "more than %d identities", AUTHFILE_MAX_IDS);
	memcpy(out + *used, s, len);
	*used += len;
	out[(*used)++] = '\n';
	return 0;
}

int authfile_parse(const char *text, char **out, char *err, size_t errlen)
{
	size_t used = 0, len;
	const char *line = text, *end;
	char *buf = malloc(strlen(text) + 2);
	int no = 0, ids = 0;

	if (!buf)
		return fail(err, errlen, "out of memory");
	for (; *line; line = *end ? end + 1 : end) {
		end = strchr(line, '\n');
		if (!end)
			end = line + strlen(line);
		no++;
		len = (size_t)(end - line);
		while (len > 0 && is_blank(*line)) {
			line++;
			len--;
		}
		while (len > 0 && is_blank(line[len - 1]))
			len--;
		if (len == 0 || *line == '#')
			continue;
		if (take_line(line, len, no, buf, &used, &ids, err, errlen) != 0) {
			free(buf);
			return -1;
		}
	}
	if (ids == 0) {
		free(buf);
		return fail(err, errlen, "no SCHEME:CREDENTIAL line");
	}
	buf[used] = '\0';
	*out = buf;
	return 0;
}

/* Refuse a file that is not root's own and private. */
static int check_file(int fd, char *err, size_t errlen)
{
	struct stat st;

	if (fstat(fd, &st) != 0)
		return fail(err, errlen, "%s", strerror(errno));
	if (!S_ISREG(st.st_mode))
		return fail(err, errlen, "not a regular file");
	if (st.st_uid != 0 || (st.st_mode & 077) != 0)
		return fail(err, errlen,
			    "must be owned by root with mode 0600 or stricter (it is owner %u, "
			    "mode %04o): chown root: FILE; chmod 600 FILE",
			    (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
	if (st.st_size > AUTHFILE_MAX_BYTES)
		return fail(err, errlen, "larger than %d bytes", AUTHFILE_MAX_BYTES);
	return 0;
}

int authfile_read(const char *path, char **out, char *err, size_t errlen)
{
	char *text = malloc(AUTHFILE_MAX_BYTES + 1);
	size_t got = 0;
	ssize_t n;
	int fd, rc;

	if (!text)
		return fail(err, errlen, "out of memory");
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		rc = fail(err, errlen, "%s%s", strerror(errno),
			  errno == ELOOP ? " (a symbolic link is refused)" : "");
		free(text);
		return rc;
	}
	rc = check_file(fd, err, errlen);
	while (rc == 0 && got < AUTHFILE_MAX_BYTES &&
	       (n = read(fd, text + got, AUTHFILE_MAX_BYTES - got)) != 0) {
		if (n < 0 && errno != EINTR)
			rc = fail(err, errlen, "%s", strerror(errno));
		else if (n > 0)
			got += (size_t)n;
	}
	close(fd);
	text[got] = '\0';
	if (rc == 0 && strlen(text) != got)
		rc = fail(err, errlen, "contains a NUL byte");
	if (rc == 0)
		rc = authfile_parse(text, out, err, errlen);
	explicit_bzero(text, AUTHFILE_MAX_BYTES + 1);
	free(text);
	return rc;
}
