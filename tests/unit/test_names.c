/* Unit tests of fuse/names.c: the suffixes of names written on the mount and path helpers. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "fuse/names.h"

/* Parse @name and check the result in one step. */
static void check_parse(const char *name, const char *base, bool eph, bool seq)
{
	struct names_parsed np;

	assert_int_equal(names_parse(name, &np), 0);
	assert_string_equal(np.base, base);
	assert_int_equal(np.ephemeral, eph);
	assert_int_equal(np.sequential, seq);
}

/* A plain name has no suffix and is its own base. */
static void test_plain(void **state)
{
	check_parse("worker", "worker", false, false);
	check_parse("a.b.c", "a.b.c", false, false);
	assert_false(names_has_suffix("worker"));
}

/* Each suffix and both orders of the pair are recognised and stripped. */
static void test_suffixes(void **state)
{
	check_parse("w1.eph", "w1", true, false);
	check_parse("task-.seq", "task-", false, true);
	check_parse("lock-.eph.seq", "lock-", true, true);
	check_parse("lock-.seq.eph", "lock-", true, true);
	assert_true(names_has_suffix("x.eph"));
	assert_true(names_has_suffix("x.seq"));
}

/* Only the last two suffixes count; an inner ".eph" is part of the name. */
static void test_suffix_only_at_end(void **state)
{
	check_parse("a.eph.b", "a.eph.b", false, false);
	check_parse("a.eph.eph", "a.eph", true, false);
	check_parse("x.seq.seq", "x.seq", false, true);
}

/* A bare ".seq" is a pure sequence number; a bare ".eph" names nothing. */
static void test_bare(void **state)
{
	struct names_parsed np;

	check_parse(".seq", "", false, true);
	check_parse(".eph.seq", "", true, true);
	assert_int_equal(names_parse(".eph", &np), -EINVAL);
}

/* Names the server or the VFS would refuse fail with a clear errno. */
static void test_bad_names(void **state)
{
	char longname[300];
	struct names_parsed np;

	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(names_parse("", &np), -EINVAL);
	assert_int_equal(names_parse("a\tb", &np), -EINVAL);
	assert_int_equal(names_parse("a\nb", &np), -EINVAL);
	assert_int_equal(names_parse("a\xc2\x85", &np), -EINVAL);
	assert_int_equal(names_parse("caf\xc3\xa9", &np), 0);
	assert_int_equal(names_parse(".", &np), -EINVAL);
	assert_int_equal(names_parse("..", &np), -EINVAL);
	assert_int_equal(names_parse("...eph", &np), -EINVAL);
	assert_int_equal(names_parse("a/b", &np), -EINVAL);
	assert_int_equal(names_parse(longname, &np), -ENAMETOOLONG);
}

/* Joining handles the root, and refuses paths past the buffer. */
static void test_join(void **state)
{
	char out[16];

	assert_int_equal(names_join("/", "a", out, sizeof(out)), 0);
	assert_string_equal(out, "/a");
	assert_int_equal(names_join("/a", "b", out, sizeof(out)), 0);
	assert_string_equal(out, "/a/b");
	assert_int_equal(names_join("/abcdefgh", "ijklmnop", out, sizeof(out)), -ENAMETOOLONG);
}

/* dirname/basename agree with the shell's for ZooKeeper paths. */
static void test_dirname_basename(void **state)
{
	char out[32];

	assert_int_equal(names_dirname("/a/b/c", out, sizeof(out)), 0);
	assert_string_equal(out, "/a/b");
	assert_int_equal(names_dirname("/a", out, sizeof(out)), 0);
	assert_string_equal(out, "/");
	assert_int_equal(names_dirname("/", out, sizeof(out)), -EINVAL);
	assert_string_equal(names_basename("/a/b"), "b");
	assert_string_equal(names_basename("/"), "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_suffixes),
		cmocka_unit_test(test_suffix_only_at_end),
		cmocka_unit_test(test_bare),
		cmocka_unit_test(test_bad_names),
		cmocka_unit_test(test_join),
		cmocka_unit_test(test_dirname_basename),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
