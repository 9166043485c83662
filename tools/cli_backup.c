/* cli_backup: `zkfs-cli backup HOSTS FILE`: an online backup from the first of HOSTS (the
 * AdminServer's host:port, comma-separated) that answers GET
 * /commands/snapshot?streaming=true, written to FILE.part, checked (zkfsd/backup_format.h:
 * block CRCs, sizes) and renamed to FILE only when whole. A damaged answer is refused with
 * the byte offset of the damage and leaves no FILE. HTTP/1.0 by hand: one GET, the answer is
 * read to its end. */
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/zk_buf.h"
#include "tools/cli.h"
#include "zkfsd/backup_format.h"

/* "host:port" -> a connected socket, or -1 with errno-ish text in @why. */
static int backup_connect(const char *hostport, char *why, size_t len)
{
	char host[256];
	const char *colon = strrchr(hostport, ':');
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res, *ai;
	int fd = -1, rv;

	if (colon == NULL || (size_t)(colon - hostport) >= sizeof(host)) {
		snprintf(why, len, "expected host:port");
		return -1;
	}
	memcpy(host, hostport, (size_t)(colon - hostport));
	host[colon - hostport] = '\0';
	rv = getaddrinfo(host, colon + 1, &hints, &res);
	if (rv != 0) {
		snprintf(why, len, "%s", gai_strerror(rv));
		return -1;
	}
	for (ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
			snprintf(why, len, "%s", strerror(errno));
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	return fd;
}

/* The whole answer of GET @path on @hostport into @out. */
static int backup_get(const char *hostport, struct zk_buf *out, char *why, size_t len)
{
	char req[512], chunk[65536];
	int fd = backup_connect(hostport, why, len);
	ssize_t n;

	if (fd < 0)
		return -1;
	snprintf(req, sizeof(req), "GET /commands/snapshot?streaming=true HTTP/1.0\r\n"
				   "Host: %s\r\nConnection: close\r\n\r\n", hostport);
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
		snprintf(why, len, "%s", strerror(errno));
		close(fd);
		return -1;
	}
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		if (zk_buf_append(out, chunk, (size_t)n) != 0) {
			snprintf(why, len, "out of memory");
			n = -1;
			break;
		}
	if (n < 0 && why[0] == '\0')
		snprintf(why, len, "%s", strerror(errno));
	close(fd);
	return n < 0 ? -1 : 0;
}

/* Split the answer: 0 with *@body at the body when the status is 200; else the status line
 * and the body (the server's JSON error) in @why. */
static int backup_body(const struct zk_buf *ans, const uint8_t **body, size_t *blen, char *why,
		       size_t len)
{
	const char *p = (const char *)ans->data;
	const uint8_t *end = ans->len ? memmem(ans->data, ans->len, "\r\n\r\n", 4) : NULL;

	if (end == NULL) {
		snprintf(why, len, "no HTTP answer");
		return -1;
	}
	*body = end + 4;
	*blen = ans->len - (size_t)(*body - ans->data);
	if (ans->len > 12 && memcmp(p + 8, " 200", 4) == 0)
		return 0;
	snprintf(why, len, "%.*s: %.*s", (int)strcspn(p, "\r\n"), p,
		 (int)(*blen < 300 ? *blen : 300), (const char *)*body);
	return -1;
}

static int backup_save(const char *file, const uint8_t *body, size_t len)
{
	char part[4096];
	FILE *f;
	int ok;

	snprintf(part, sizeof(part), "%s.part", file);
	f = fopen(part, "wb");
	if (f == NULL) {
		fprintf(stderr, "zkfs-cli backup: %s: %s\n", part, strerror(errno));
		return CLI_EXIT_IO;
	}
	ok = fwrite(body, 1, len, f) == len && fflush(f) == 0 && fsync(fileno(f)) == 0;
	ok = fclose(f) == 0 && ok;
	if (ok && rename(part, file) == 0)
		return CLI_EXIT_OK;
	fprintf(stderr, "zkfs-cli backup: %s: %s\n", file, strerror(errno));
	unlink(part);
	return CLI_EXIT_IO;
}

/* One host: fetch, check, save. */
static int backup_from(const char *host, const char *file)
{
	struct zk_buf ans;
	const uint8_t *body = NULL;
	size_t blen = 0;
	uint64_t zxid, image;
	char why[512] = "";
	int rc = CLI_EXIT_CONNECTION;

	zk_buf_init(&ans);
	if (backup_get(host, &ans, why, sizeof(why)) != 0 ||
	    backup_body(&ans, &body, &blen, why, sizeof(why)) != 0) {
		fprintf(stderr, "zkfs-cli backup: %s: %s\n", host, why);
	} else if (backup_check(body, blen, &zxid, &image, why, sizeof(why)) != 0) {
		fprintf(stderr, "zkfs-cli backup: %s: damaged backup refused: %s\n", host, why);
		rc = CLI_EXIT_ERROR;
	} else {
		rc = backup_save(file, body, blen);
		if (rc == CLI_EXIT_OK)
			printf("backup of zxid 0x%" PRIx64 " from %s: %zu bytes, CRCs verified, in %s\n",
			       zxid, host, blen, file);
	}
	zk_buf_close(&ans);
	return rc;
}

int cli_backup(int argc, char **argv)
{
	char *hosts, *save = NULL;
	int rc = CLI_EXIT_CONNECTION;

	if (argc != 3) {
		fprintf(stderr, "usage: zkfs-cli backup HOST:ADMINPORT[,HOST:ADMINPORT...] FILE\n");
		return CLI_EXIT_USAGE;
	}
	hosts = strdup(argv[1]);
	if (hosts == NULL)
		return CLI_EXIT_IO;
	for (char *h = strtok_r(hosts, ",", &save); h != NULL && rc == CLI_EXIT_CONNECTION;
	     h = strtok_r(NULL, ",", &save))
		rc = backup_from(h, argv[2]);
	free(hosts);
	return rc;
}
