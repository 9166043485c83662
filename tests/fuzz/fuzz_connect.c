/* fuzz_connect: the first frame of a connection. A ConnectRequest that decodes must
 * re-encode to exactly as many bytes and decode to the same values; the same bytes are also
 * decoded as a ConnectResponse (what a client reads) with the same check. */
#include <string.h>

#include "common/zk_buf.h"
#include "proto/jute.h"
#include "tests/fuzz/fuzz.h"

static bool fuzz_bytes_eq(struct jute_bytes a, struct jute_bytes b)
{
	return a.len == b.len && (a.len <= 0 || memcmp(a.p, b.p, (size_t)a.len) == 0);
}

static void fuzz_connect_request(const uint8_t *data, size_t size)
{
	struct jute_connect_request r1;
	struct jute_connect_request r2;
	struct zk_buf e;

	if (jute_decode_connect(data, size, &r1) != 0)
		return;
	zk_buf_init(&e);
	if (jute_encode_connect_request(&e, &r1) != 0 || e.len != size)
		fuzz_fail("ConnectRequest re-encoding");
	if (jute_decode_connect(e.data, e.len, &r2) != 0)
		fuzz_fail("re-encoded ConnectRequest does not decode");
	if (r1.protocol_version != r2.protocol_version || r1.last_zxid_seen != r2.last_zxid_seen ||
	    r1.timeout != r2.timeout || r1.session_id != r2.session_id ||
	    r1.read_only != r2.read_only || r1.has_read_only != r2.has_read_only ||
	    !fuzz_bytes_eq(r1.passwd, r2.passwd))
		fuzz_fail("ConnectRequest round trip differs");
	zk_buf_close(&e);
}

static void fuzz_connect_response(const uint8_t *data, size_t size)
{
	struct jute_connect_response r1;
	struct jute_connect_response r2;
	struct jute_in in;
	struct zk_buf e;

	jute_in_init(&in, data, size);
	if (jute_decode_connect_response(&in, &r1) != 0)
		return;
	zk_buf_init(&e);
	if (jute_encode_connect_response(&e, &r1) != 0 || e.len != in.pos)
		fuzz_fail("ConnectResponse re-encoding");
	jute_in_init(&in, e.data, e.len);
	if (jute_decode_connect_response(&in, &r2) != 0)
		fuzz_fail("re-encoded ConnectResponse does not decode");
	if (r1.timeout != r2.timeout || r1.session_id != r2.session_id ||
	    r1.read_only != r2.read_only || r1.omit_read_only != r2.omit_read_only ||
	    !fuzz_bytes_eq(r1.passwd, r2.passwd))
		fuzz_fail("ConnectResponse round trip differs");
	zk_buf_close(&e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_quiet();
	fuzz_connect_request(data, size);
	fuzz_connect_response(data, size);
	return 0;
}
