/* fuzz_frame: a client byte stream split into frames (jute_frame_peek), each body decoded as
 * a request, re-encoded and decoded again: the second encoding must equal the first and have
 * the body's length (every jute field re-encodes to the same size). Each body is also decoded
 * as a multi response with the same round-trip check, decoded paths go through
 * jute_path_validate, and requests that decode are decoded again with an allocation failing,
 * so every decoder and its -ENOMEM path sees hostile bytes. */
#include <errno.h>
#include <string.h>

#include "common/zk_alloc.h"
#include "common/zk_buf.h"
#include "proto/jute.h"
#include "tests/fuzz/fuzz.h"

#define FUZZ_MAX_FRAME (1024 * 1024)

static void fuzz_same(const struct zk_buf *a, const struct zk_buf *b, const char *what)
{
	if (a->len != b->len || (a->len > 0 && memcmp(a->data, b->data, a->len) != 0))
		fuzz_fail(what);
}

/* Decoding a request that decodes, with allocation number 1, 2 or 3 failing: -ENOMEM and no
 * leak (LeakSanitizer checks), or success when it needs fewer allocations. */
static void fuzz_request_nomem(const uint8_t *body, size_t len)
{
	struct jute_request r;

	for (int k = 1; k <= 3; k++) {
		int rc;

		zk_alloc_fault_set(k, 0);
		rc = jute_decode_request(body, len, &r);
		zk_alloc_fault_set(0, 0);
		if (rc != 0 && rc != -ENOMEM)
			fuzz_fail("decode under allocation failure: neither 0 nor -ENOMEM");
		jute_request_free(&r);
		if (rc == 0)
			return;
	}
}

static void fuzz_request(const uint8_t *body, size_t len)
{
	struct jute_request r1;
	struct jute_request r2;
	struct zk_buf e1;
	struct zk_buf e2;

	if (jute_decode_request(body, len, &r1) != 0)
		return;
	if (r1.hdr.type == ZK_OP_CREATE && r1.u.create.path.len >= 0)
		jute_path_validate(r1.u.create.path.p, (size_t)r1.u.create.path.len, false);
	zk_buf_init(&e1);
	zk_buf_init(&e2);
	if (jute_encode_request(&e1, &r1) != 0)
		fuzz_fail("encoding a decoded request failed");
	if (e1.len != len)
		fuzz_fail("re-encoded request has another length");
	if (jute_decode_request(e1.data, e1.len, &r2) != 0)
		fuzz_fail("re-encoded request does not decode");
	if (jute_encode_request(&e2, &r2) != 0)
		fuzz_fail("encoding the second decode failed");
	fuzz_same(&e1, &e2, "request round trip differs");
	jute_request_free(&r2);
	jute_request_free(&r1);
	zk_buf_close(&e1);
	zk_buf_close(&e2);
	fuzz_request_nomem(body, len);
}

static void fuzz_multi_response(const uint8_t *body, size_t len)
{
	struct jute_multi_result *res;
	struct jute_multi_result *res2;
	struct zk_buf e1;
	struct zk_buf e2;
	struct jute_in in;
	int32_t n;
	int32_t n2;

	jute_in_init(&in, body, len);
	if (jute_decode_multi_response(&in, &res, &n) != 0)
		return;
	zk_buf_init(&e1);
	zk_buf_init(&e2);
	if (jute_encode_multi_response(&e1, res, n) != 0)
		fuzz_fail("encoding a decoded multi response failed");
	jute_in_init(&in, e1.data, e1.len);
	if (jute_decode_multi_response(&in, &res2, &n2) != 0 || n2 != n)
		fuzz_fail("re-encoded multi response does not decode");
	if (jute_encode_multi_response(&e2, res2, n2) != 0)
		fuzz_fail("encoding the second multi response failed");
	fuzz_same(&e1, &e2, "multi response round trip differs");
	jute_multi_response_free(res2, n2);
	jute_multi_response_free(res, n);
	zk_buf_close(&e1);
	zk_buf_close(&e2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0;
	size_t body;

	fuzz_quiet();
	while (jute_frame_peek(data + off, size - off, FUZZ_MAX_FRAME, &body) == 0) {
		fuzz_request(data + off + 4, body);
		fuzz_multi_response(data + off + 4, body);
		off += 4 + body;
	}
	return 0;
}
