/* fuzz_reply: what client/ does with a reply frame from a server. The first byte picks the
 * opcode of the request it answers, the rest is the frame body (ReplyHeader + record). A body
 * that decodes must leave every borrowed string inside the input, the chroot must be removed
 * without leaving it, and the result must free cleanly (ASan, leak checks). */
#include <stdlib.h>
#include <string.h>

#include "client/client_int.h"
#include "tests/fuzz/fuzz.h"

static const int fuzz_ops[] = {
	ZK_OP_CREATE, ZK_OP_CREATE2, ZK_OP_CREATE_CONTAINER, ZK_OP_CREATE_TTL, ZK_OP_DELETE,
	ZK_OP_EXISTS, ZK_OP_GET_DATA, ZK_OP_SET_DATA, ZK_OP_GET_ACL, ZK_OP_SET_ACL,
	ZK_OP_GET_CHILDREN, ZK_OP_GET_CHILDREN2, ZK_OP_SYNC, ZK_OP_MULTI, ZK_OP_MULTI_READ,
	ZK_OP_RECONFIG, ZK_OP_GET_ALL_CHILDREN_NUMBER, ZK_OP_GET_EPHEMERALS, ZK_OP_WHO_AM_I,
	ZK_OP_ADD_WATCH, ZK_OP_REMOVE_WATCHES, ZK_OP_CHECK_WATCHES, ZK_OP_CLOSE_SESSION,
};

static void fuzz_inside(const uint8_t *data, size_t size, const void *p, int32_t len)
{
	const uint8_t *q = p;

	if (len <= 0)
		return;
	if (q < data || q + len > data + size)
		fuzz_fail("borrowed bytes outside the frame");
}

static void fuzz_check(const struct zkclient_result *r, const uint8_t *data, size_t size)
{
	fuzz_inside(data, size, r->data.p, r->data.len);
	for (int32_t i = 0; i < r->names.count; i++) {
		const struct jute_str *s = &r->names.items[i];

		if (s->len == 1 && s->p[0] == '/')
			continue; /* The chroot itself became "/". */
		fuzz_inside(data, size, s->p, s->len);
	}
	for (int32_t i = 0; i < r->n_results; i++)
		fuzz_inside(data, size, r->results[i].data.p, r->results[i].data.len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct zkclient c = {.chroot = "/app", .chroot_len = 4};
	struct jute_reply_header h;
	struct zkclient_result r;
	struct jute_in in;
	int op;

	fuzz_quiet();
	if (size < 1)
		return 0;
	op = fuzz_ops[data[0] % (sizeof(fuzz_ops) / sizeof(fuzz_ops[0]))];
	jute_in_init(&in, data + 1, size - 1);
	if (jute_decode_reply_header(&in, &h) != 0)
		return 0;
	if (zkclient_reply_decode(op, in.p + in.pos, in.len - in.pos, &r) != 0)
		return 0;
	zkclient_reply_unchroot(&c, &r);
	fuzz_check(&r, data, size);
	zkclient_result_free(&r);
	return 0;
}
