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

/* Schemes without a default provider (and "auth", expanded elsewhere) are invalid here. */
static void test_unknown_schemes(void **state)
{
	(void)state;
	assert_false(store_acl_id_valid("nosuch", "x"));
	assert_false(store_acl_id_valid("x509", "CN=a"));
	assert_false(store_acl_id_valid("auth", ""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_digest_id), cmocka_unit_test(test_world),
		cmocka_unit_test(test_digest), cmocka_unit_test(test_ip),
		cmocka_unit_test(test_unknown_schemes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
