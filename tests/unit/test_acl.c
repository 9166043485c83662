/* Unit tests of zkfsd/acl.c (the digest ids of `addauth digest`, checked against
 * `openssl dgst -sha1 | base64`) and of store_acl_id_valid, the id checks for world, digest
 * and ip ACLs that zkfsd applies before it submits a create or setACL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "zkfsd/zkfsd_int.h"

static void assert_digest(const char *auth, const char *want)
{
	char *id = acl_digest_id((const uint8_t *)auth, strlen(auth));

	assert_non_null(id);
	assert_string_equal(id, want);
	free(id);
}

/* The id is "user:" + base64(sha1("user:password")), as DigestAuthenticationProvider makes it;
 * auth data without a ':' is hashed whole and is its own user name. */
static void test_digest_id(void **state)
{
	(void)state;
	assert_digest("alice:secret", "alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E=");
	assert_digest("bob", "bob:SBgazSKz7a68ikR4aKfffOYpkgo=");
}

/* world accepts only "anyone". */
static void test_world(void **state)
{
	(void)state;
	assert_true(store_acl_id_valid("world", "anyone"));
	assert_false(store_acl_id_valid("world", "someone"));
}

/* digest ids need exactly two ':'-separated parts after Java's split drops trailing empty
 * parts: "u:h:" passes, "alice:" does not. */
static void test_digest(void **state)
{
	(void)state;
	assert_true(store_acl_id_valid("digest", "alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E="));
	assert_true(store_acl_id_valid("digest", ":x"));
	assert_false(store_acl_id_valid("digest", "alice"));
	assert_false(store_acl_id_valid("digest", "alice:"));
	assert_false(store_acl_id_valid("digest", "a:b:c"));
	assert_true(store_acl_id_valid("digest", "u:h:"));
}

/* ip ids are IPv4 or IPv6 addresses with an optional prefix length in range. */
static void test_ip(void **state)
{
	(void)state;
	assert_true(store_acl_id_valid("ip", "127.0.0.1"));
	assert_true(store_acl_id_valid("ip", "10.0.0.0/8"));
	assert_true(store_acl_id_valid("ip", "::1"));
	assert_true(store_acl_id_valid("ip", "fe80::/64"));
	assert_false(store_acl_id_valid("ip", "10.0.0.0/33"));
	assert_false(store_acl_id_valid("ip", "10.0.0.0/"));
	assert_false(store_acl_id_valid("ip", "host.example"));
	assert_false(store_acl_id_valid("ip", ""));
}

/* Schemes without a provider (and "auth", expanded elsewhere) are invalid here; x509 (client
 * certificates on the secure client port) takes any non-empty DN. */
static void test_unknown_schemes(void **state)
{
	(void)state;
	assert_false(store_acl_id_valid("nosuch", "x"));
	assert_true(store_acl_id_valid("x509", "CN=a"));
	assert_false(store_acl_id_valid("auth", ""));
}

static bool permits(const char *scheme, const char *id, int32_t perms, const char *id_scheme,
		    const char *id_value, int32_t perm)
{
	struct store_acl acl = {perms, (char *)scheme, (char *)id};
	struct store_acl who = {0, (char *)id_scheme, (char *)id_value};

	return store_acl_permits(&acl, 1, &who, 1, perm);
}

/* checkACL: world:anyone grants its bits to everyone, any one bit of the asked set suffices. */
static void test_permits_world(void **state)
{
	(void)state;
	assert_true(permits("world", "anyone", ZK_PERM_READ, "ip", "10.1.1.1", ZK_PERM_READ));
	assert_false(permits("world", "anyone", ZK_PERM_READ, "ip", "10.1.1.1", ZK_PERM_WRITE));
	assert_true(permits("world", "anyone", ZK_PERM_ADMIN, "ip", "10.1.1.1",
			    ZK_PERM_READ | ZK_PERM_ADMIN));
	assert_false(permits("world", "anyone", 0, "ip", "10.1.1.1", ZK_PERM_READ));
}

/* digest ids match by equality, ip ACLs by address or CIDR prefix (IPv4 and IPv6). */
static void test_permits_schemes(void **state)
{
	(void)state;
	assert_true(permits("digest", "a:h=", ZK_PERM_ALL, "digest", "a:h=", ZK_PERM_WRITE));
	assert_false(permits("digest", "a:h=", ZK_PERM_ALL, "digest", "a:H=", ZK_PERM_WRITE));
	assert_false(permits("digest", "a:h=", ZK_PERM_ALL, "ip", "a:h=", ZK_PERM_WRITE));
	assert_true(permits("ip", "10.0.0.0/8", ZK_PERM_ALL, "ip", "10.200.3.4", ZK_PERM_READ));
	assert_false(permits("ip", "10.0.0.0/8", ZK_PERM_ALL, "ip", "11.0.0.1", ZK_PERM_READ));
	assert_true(permits("ip", "127.0.0.1", ZK_PERM_ALL, "ip", "127.0.0.1", ZK_PERM_READ));
	assert_false(permits("ip", "127.0.0.1", ZK_PERM_ALL, "ip", "127.0.0.2", ZK_PERM_READ));
	assert_true(permits("ip", "192.168.1.128/25", ZK_PERM_ALL, "ip", "192.168.1.200",
			    ZK_PERM_READ));
	assert_false(permits("ip", "192.168.1.128/25", ZK_PERM_ALL, "ip", "192.168.1.100",
			     ZK_PERM_READ));
	assert_true(permits("ip", "fe80::/64", ZK_PERM_ALL, "ip", "fe80::1", ZK_PERM_READ));
	assert_false(permits("ip", "fe80::/64", ZK_PERM_ALL, "ip", "10.0.0.1", ZK_PERM_READ));
	assert_true(permits("ip", "0.0.0.0/0", ZK_PERM_ALL, "ip", "1.2.3.4", ZK_PERM_READ));
}

/* The super id passes every check, even an ACL that grants nothing; an empty ACL allows all. */
static void test_permits_super(void **state)
{
	struct store_acl who = {0, "super", ""};

	(void)state;
	assert_true(permits("digest", "a:h=", 0, "super", "", ZK_PERM_ADMIN));
	assert_true(store_acl_permits(NULL, 0, &who, 0, ZK_PERM_ADMIN));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_digest_id), cmocka_unit_test(test_world),
		cmocka_unit_test(test_digest), cmocka_unit_test(test_ip),
		cmocka_unit_test(test_unknown_schemes), cmocka_unit_test(test_permits_world),
		cmocka_unit_test(test_permits_schemes), cmocka_unit_test(test_permits_super),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
