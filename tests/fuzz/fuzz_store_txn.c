/* fuzz_store_txn: store_txn_decode on arbitrary bytes (the Raft log entry decoder). A decoded
 * txn must re-encode, decode again to the same encoding, and apply to a fresh store without
 * breaking store_check; a failed apply must be -ENOMEM only. */
#include <stdlib.h>
#include <string.h>

#include "common/zk_buf.h"
#include "store/store.h"
#include "tests/fuzz/fuzz.h"

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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct store_txn *txn;
	struct store_result res;
	struct store *s;

	fuzz_quiet();
	if (store_txn_decode(data, size, &txn) != 0)
		return 0;
	fuzz_reencode(txn);
	if (store_create(NULL, NULL, NULL, &s) != 0)
		fuzz_fail("store_create");
	if (store_apply(s, 1, txn, &res) != 0)
		fuzz_fail("store_apply failed without an allocation failure");
	store_result_free(&res);
	if (store_check(s) != 0)
		fuzz_fail("store_check after applying a decoded txn");
	store_destroy(s);
	store_txn_free(txn);
	return 0;
}
