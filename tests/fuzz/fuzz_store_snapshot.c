/* fuzz_store_snapshot: store_snapshot_load on arbitrary bytes. A refused load must leave the
 * store as it was (same digest); an accepted one must pass store_check and survive a write +
 * load round trip with the same digest, and expiry must work on any clock. The first byte, when 1, makes the input a valid CRC
 * frame (the rest plus its CRC32C appended) so the fuzzer reaches the record parser. */
#include <stdlib.h>
#include <string.h>

#include "common/zk_alloc.h"
#include "common/zk_buf.h"
#include "store/store.h"
#include "store/store_int.h"
#include "tests/fuzz/fuzz.h"

static void fuzz_count_expired(void *ctx, const char *path, int32_t op)
{
	(*(int *)ctx)++;
	(void)path;
	(void)op;
}

static void fuzz_round_trip(struct store *s)
{
	struct zk_buf b;
	struct store *t;

	int n = 0;

	if (store_check(s) != 0)
		fuzz_fail("store_check after an accepted snapshot");
	/* Expiry on any clock (the loaded mtimes are arbitrary): no overflow, no failure. */
	if (store_collect_expired(s, INT64_MIN, fuzz_count_expired, &n) != 0 ||
	    store_collect_expired(s, 0, fuzz_count_expired, &n) != 0 ||
	    store_collect_expired(s, INT64_MAX, fuzz_count_expired, &n) != 0)
		fuzz_fail("store_collect_expired");
	zk_buf_init(&b);
	if (store_snapshot_write(s, &b) != 0 || store_create(NULL, NULL, NULL, &t) != 0)
		fuzz_fail("write/create");
	if (store_snapshot_load(t, b.data, b.len) != 0 || store_digest(t) != store_digest(s))
		fuzz_fail("a written snapshot does not load to the same digest");
	store_destroy(t);
	zk_buf_close(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct store *s;
	struct zk_buf in;
	uint64_t before;
	int rc;

	fuzz_quiet();
	if (size == 0)
		return 0;
	zk_buf_init(&in);
	if (zk_buf_append(&in, data + 1, size - 1) != 0)
		return 0;
	if (data[0] == 1 && zk_buf_append_be32(&in, store_crc32c(0, in.data, in.len)) != 0) {
		zk_buf_close(&in);
		return 0;
	}
	if (store_create(NULL, NULL, NULL, &s) != 0)
		fuzz_fail("store_create");
	before = store_digest(s);
	rc = store_snapshot_load(s, in.data, in.len);
	if (rc == 0)
		fuzz_round_trip(s);
	else if (rc != -EBADMSG || store_digest(s) != before)
		fuzz_fail("a refused snapshot changed the store or gave an unexpected error");
	store_destroy(s);
	zk_buf_close(&in);
	return 0;
}
