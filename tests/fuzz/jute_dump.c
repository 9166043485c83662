/* jute_dump: the C half of tests/fuzz/zk_differential: what proto/jute makes of fuzz corpus
 * files, one line per file in ZkJuteCheck.java's format (see there):
 *   jute_dump frames FILE...   per frame: OK <hex of re-encoding>, OK-MULTI <ops>, UNSUP, ERR
 *   jute_dump paths FILE...    1 or 0 from jute_path_validate(bytes[1..], bytes[0] & 1) */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/zk_buf.h"
#include "common/zk_log.h"
#include "proto/jute.h"

static void dump_request(const uint8_t *body, size_t len)
{
	struct jute_request r;
	struct zk_buf out;
	int rc = jute_decode_request(body, len, &r);

	if (rc != 0) {
		printf(" | %s", rc == -ENOTSUP ? "UNSUP" : "ERR");
		return;
	}
	if (r.hdr.type == ZK_OP_MULTI || r.hdr.type == ZK_OP_MULTI_READ) {
		printf(" | OK-MULTI %d", r.n_ops);
	} else {
		zk_buf_init(&out);
		if (jute_encode_request(&out, &r) != 0)
			printf(" | ENOMEM");
		else
			printf(" | OK ");
		for (size_t i = 0; i < out.len; i++)
			printf("%02x", out.data[i]);
		zk_buf_close(&out);
	}
	jute_request_free(&r);
}

static void dump_file(const char *path, bool paths)
{
	static uint8_t data[1 << 21];
	FILE *fp = fopen(path, "rb");
	size_t len;
	size_t off = 0;
	size_t body;

	if (fp == NULL) {
		fprintf(stderr, "jute_dump: %s: %s\n", path, strerror(errno));
		return;
	}
	len = fread(data, 1, sizeof(data), fp);
	fclose(fp);
	printf("%s", path);
	if (paths && len > 0)
		printf(" %d", jute_path_validate((const char *)data + 1, len - 1, data[0] & 1) == 0);
	while (!paths && jute_frame_peek(data + off, len - off, 1 << 20, &body) == 0) {
		dump_request(data + off + 4, body);
		off += 4 + body;
	}
	printf("\n");
}

int main(int argc, char **argv)
{
	if (argc < 2 || (strcmp(argv[1], "frames") != 0 && strcmp(argv[1], "paths") != 0)) {
		fprintf(stderr, "usage: jute_dump frames|paths FILE...\n");
		return 2;
	}
	zk_log_open("/dev/null", ZK_LOG_LEVEL_ERROR);
	for (int i = 2; i < argc; i++)
		dump_file(argv[i], strcmp(argv[1], "paths") == 0);
	return 0;
}
