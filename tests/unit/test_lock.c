/* Unit tests of fuse/lock.h's name rule: which children of a node are lock contenders (hidden by
 * the mount, counted by the recipe), as kazoo's Lock, ReadLock and WriteLock name them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "fuse/lock.h"

/* kazoo's contenders: a uuid4 hex, the mark, a 10-digit sequence. */
static void test_kazoo_names(void **state)
{
	assert_true(lock_child_name("8d5f0c3e9a6b4c1d8e2f3a4b5c6d7e8f__lock__0000000000"));
	assert_true(lock_child_name("8d5f0c3e9a6b4c1d8e2f3a4b5c6d7e8f__rlock__0000000042"));
	assert_true(lock_child_name("__lock__0000000001")); /* kazoo with an empty identifier. */
}

/* A sequence that overflowed is negative (kazoo's pattern allows the '-'). */
static void test_negative_sequence(void **state)
{
	assert_true(lock_child_name("abc__lock__-2147483648"));
	assert_true(lock_child_name("abc__rlock__-0000000001"));
}

/* Other names are real children: Curator's contenders, plain sequential nodes, short or
 * non-digit sequences, the mark elsewhere in the name. */
static void test_other_names(void **state)
{
	assert_false(lock_child_name("_c_1b2c3d4e-5f60-7182-93a4-b5c6d7e8f901-lock-0000000001"));
	assert_false(lock_child_name("task-0000000001"));
	assert_false(lock_child_name("abc__lock__000000001"));
	assert_false(lock_child_name("abc__lock__000000000x"));
	assert_false(lock_child_name("__lock__0000000001.bak"));
	assert_false(lock_child_name("abc_lock_0000000001"));
	assert_false(lock_child_name("0000000001"));
	assert_false(lock_child_name(""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kazoo_names),
		cmocka_unit_test(test_negative_sequence),
		cmocka_unit_test(test_other_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
