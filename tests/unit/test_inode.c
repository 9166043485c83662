/* Unit tests of fuse/inode.c: the mount's node table (kinds, path map, states, child lists,
 * reference counting, inode numbers). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "fuse/inode.h"

static int setup(void **state)
{
	assert_int_equal(inode_init(), 0);
	inode_lock();
	return 0;
}

static int teardown(void **state)
{
	inode_unlock();
	inode_shutdown();
	return 0;
}

static struct Stat stat_of(int data_len, int children, long long owner)
{
	struct Stat st;

	memset(&st, 0, sizeof(st));
	st.dataLength = data_len;
	st.numChildren = children;
	st.ephemeralOwner = owner;
	st.czxid = 7;
	st.mzxid = 9;
	return st;
}

/* An ephemeral or a node with data and no children is a file; anything else a directory. */
static void test_kind_rule(void **state)
{
	struct Stat st = stat_of(0, 0, 0);

	assert_int_equal(inode_kind_of(&st), S_IFDIR);
	st = stat_of(3, 0, 0);
	assert_int_equal(inode_kind_of(&st), S_IFREG);
	st = stat_of(3, 2, 0);
	assert_int_equal(inode_kind_of(&st), S_IFDIR);
	st = stat_of(0, 0, 0x1234);
	assert_int_equal(inode_kind_of(&st), S_IFREG);
	st = stat_of(0, 0, 0);
	st.version = 1; /* Written empty: a file (": > f", "touch new"). */
	assert_int_equal(inode_kind_of(&st), S_IFREG);
	st.numChildren = 1; /* Children make any node a directory. */
	assert_int_equal(inode_kind_of(&st), S_IFDIR);
}

/* The root is node 1 at "/" from the start. */
static void test_root(void **state)
{
	struct node *root = inode_get(FUSE_ROOT_ID);

	assert_non_null(root);
	assert_string_equal(root->path, "/");
	assert_ptr_equal(inode_find("/", false), root);
}

/* A new LIVE node for a path replaces the old one, which turns STALE but lives on while the
 * kernel still references it, until its FORGET. */
static void test_replace_and_forget(void **state)
{
	struct node *a = inode_new("/a", S_IFDIR, false, NODE_LIVE, true), *b;
	fuse_ino_t a_id = a->id;

	inode_ref(a);
	b = inode_new("/a", S_IFREG, false, NODE_LIVE, true);
	assert_ptr_equal(inode_find("/a", false), b);
	assert_int_equal(a->state, NODE_STALE);
	assert_ptr_equal(inode_get(a_id), a);
	inode_forget(a, 1);
	assert_null(inode_get(a_id));
	inode_mark_stale(b);
	assert_null(inode_find("/a", false));
}

/* A pending sequential node is not in the path map until it learns its real name. */
static void test_pending_sequential(void **state)
{
	struct node *n = inode_new("/q/item-", S_IFREG, false, NODE_PENDING, false);

	assert_null(inode_find("/q/item-", false));
	assert_int_equal(inode_realize(n, "/q/item-0000000003"), 0);
	assert_ptr_equal(inode_find("/q/item-0000000003", false), n);
	assert_int_equal(n->state, NODE_LIVE);
	inode_mark_stale(n);
}

/* The ".data" file of a directory has its own key next to the directory's. */
static void test_data_file_key(void **state)
{
	struct node *d = inode_new("/d", S_IFDIR, false, NODE_LIVE, true);
	struct node *f = inode_new("/d", S_IFREG, true, NODE_LIVE, true);

	assert_ptr_equal(inode_find("/d", false), d);
	assert_ptr_equal(inode_find("/d", true), f);
	assert_true(inode_number("/d", 7, false) != inode_number("/d", 7, true));
	inode_mark_stale(d);
	inode_mark_stale(f);
}

/* Child lists are kept sorted; add/remove keep them so and ignore duplicates. */
static void test_children(void **state)
{
	struct node *d = inode_new("/c", S_IFDIR, false, NODE_LIVE, true);
	char *names[] = {"b", "a", "c"};
	struct String_vector kids = {3, names};

	assert_false(inode_child_has(d, "a")); /* Not cached yet. */
	assert_int_equal(inode_set_children(d, &kids, 1), 0);
	assert_string_equal(d->children[0], "a");
	assert_string_equal(d->children[2], "c");
	inode_child_add(d, "aa");
	inode_child_add(d, "aa");
	assert_int_equal(d->nchildren, 4);
	assert_string_equal(d->children[1], "aa");
	inode_child_remove(d, "b");
	assert_false(inode_child_has(d, "b"));
	assert_true(inode_child_has(d, "c"));
	inode_mark_stale(d);
}

/* Inode numbers are the same for one znode everywhere, different for another. */
static void test_inode_numbers(void **state)
{
	assert_true(inode_number("/x", 5, false) == inode_number("/x", 5, false));
	assert_true(inode_number("/x", 5, false) != inode_number("/x", 6, false));
	assert_true(inode_number("/x", 5, false) != inode_number("/y", 5, false));
}

/* A Stat stored with its value is a copy; the first one sets what watchers were told. */
static void test_set_stat(void **state)
{
	struct node *n = inode_new("/v", S_IFREG, false, NODE_LIVE, true);
	struct Stat st = stat_of(3, 0, 0);
	char value[] = "abc";

	assert_int_equal(inode_set_stat(n, &st, value, 3, 1), 0);
	value[0] = 'X';
	assert_memory_equal(n->data, "abc", 3);
	assert_int_equal(n->told_mzxid, 9);
	st.mzxid = 11;
	assert_int_equal(inode_set_stat(n, &st, NULL, -1, 1), 0);
	assert_memory_equal(n->data, "abc", 3); /* No value given: kept. */
	assert_int_equal(n->told_mzxid, 9);
	inode_mark_stale(n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_kind_rule, setup, teardown),
		cmocka_unit_test_setup_teardown(test_root, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replace_and_forget, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pending_sequential, setup, teardown),
		cmocka_unit_test_setup_teardown(test_data_file_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_children, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inode_numbers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_stat, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
