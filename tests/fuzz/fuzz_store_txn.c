/* fuzz_store_txn: store_txn_decode on arbitrary bytes (the Raft log entry decoder). A decoded
 * txn must re-encode, decode again to the same encoding, and apply to a store without breaking
 * store_check; store_apply may only fail with -ENOMEM (never here).
 * Input: the bytes of one txn; or, when the first byte is 0xA5, a log of several txns, each
 * preceded by a 1-byte length, applied in order to one store (sessions, ephemerals, multis and
 * rollbacks then interact). */
#include <stdlib.h>
#include <string.h>

#include "common/zk_buf.h"
#include "store/store.h"
#include "tests/fuzz/fuzz.h"

#define FUZZ_LOG_MAGIC 0xA5

/* Encode @txn, decode that, encode again: both encodings must be equal. */
static void fuzz_reencode(const struct store_txn *txn)
{
	struct zk_buf a, b;
	struct store_txn *again;

	zk_buf_init(&a);
	zk_buf_init(&b);
	if (store_txn_encode(txn, &a) != 0)
		fuzz_fail("a decoded txn does not encode");
	if (store_txn_decode(a.data, a.len, &again) != 0)
		fuzz_fail("an encoded txn does not decode");
	if (store_txn_encode(again, &b) != 0 || a.len != b.len ||
	    (a.len > 0 && memcmp(a.data, b.data, a.len) != 0))
		fuzz_fail("encode(decode(encode(txn))) differs");
	store_txn_free(again);
	zk_buf_close(&a);
	zk_buf_close(&b);
}

/* Decode and apply one entry at @zxid; undecodable bytes are skipped (refused by the log). */
static void fuzz_apply(struct store *s, int64_t zxid, const uint8_t *p, size_t len)
{
	struct store_txn *txn;
	struct store_result res;
	uint64_t before = store_digest(s);

	if (store_txn_decode(p, len, &txn) != 0)
		return;
	fuzz_reencode(txn);
	if (store_apply(s, zxid, txn, &res) != 0)
		fuzz_fail("store_apply failed without an allocation failure");
	if (res.err != 0 && store_digest(s) != before)
		fuzz_fail("a failed txn changed the store");
	store_result_free(&res);
	if (store_check(s) != 0)
		fuzz_fail("store_check after applying a decoded txn");
	store_txn_free(txn);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct store *s;
	int64_t zxid = 0;
	size_t pos = 1, len;

	fuzz_quiet();
	if (store_create(NULL, NULL, NULL, &s) != 0)
		fuzz_fail("store_create");
	if (size == 0 || data[0] != FUZZ_LOG_MAGIC) {
		fuzz_apply(s, 1, data, size);
		store_destroy(s);
		return 0;
	}
	while (pos < size) {
		len = data[pos++];
		if (len > size - pos)
			len = size - pos;
		fuzz_apply(s, ++zxid, data + pos, len);
		pos += len;
	}
	store_destroy(s);
	return 0;
}
