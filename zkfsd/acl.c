/* acl: what zkfsd checks of ACLs before a create or setACL (ZooKeeper 3.8's
 * PrepRequestProcessor.fixupACL and the isValid of its default authentication providers), and
 * the digest ids of `addauth digest user:password`. ACLs are stored, not enforced (see the
 * README): enforcement belongs to the security issue. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "zkfsd/zkfsd_int.h"

char *acl_digest_id(const uint8_t *auth, size_t len)
{
	unsigned char sha[EVP_MAX_MD_SIZE];
	unsigned int sha_len = 0;
	const uint8_t *colon = memchr(auth, ':', len);
	size_t ulen = colon ? (size_t)(colon - auth) : len;
	char b64[64], *id;

	if (EVP_Digest(auth, len, sha, &sha_len, EVP_sha1(), NULL) != 1)
		return NULL;
	EVP_EncodeBlock((unsigned char *)b64, sha, (int)sha_len);
	id = malloc(ulen + 1 + strlen(b64) + 1);
	if (id == NULL)
		return NULL;
	memcpy(id, auth, ulen);
	id[ulen] = ':';
	strcpy(id + ulen + 1, b64);
	return id;
}

/* IPAuthenticationProvider.isValid: an IPv4 or IPv6 address, optionally "/bits". */
static bool acl_valid_ip(const char *id)
{
	char addr[64];
	const char *slash = strchr(id, '/');
	size_t n = slash ? (size_t)(slash - id) : strlen(id);
	unsigned char buf[16];
	int family, max_bits;
	char *end;
	long bits;

	if (n == 0 || n >= sizeof(addr))
		return false;
	memcpy(addr, id, n);
	addr[n] = '\0';
	family = strchr(addr, ':') ? AF_INET6 : AF_INET;
	max_bits = family == AF_INET6 ? 128 : 32;
	if (inet_pton(family, addr, buf) != 1)
		return false;
	if (slash == NULL)
		return true;
	bits = strtol(slash + 1, &end, 10);
	return slash[1] != '\0' && *end == '\0' && bits >= 0 && bits <= max_bits;
}

/* DigestAuthenticationProvider.isValid: Java's id.split(":").length == 2 (trailing empty
 * parts dropped, so "a:" is invalid and ":b" valid). */
static bool acl_valid_digest(const char *id)
{
	const char *colon = strchr(id, ':');

	return colon != NULL && colon[1] != '\0' && strchr(colon + 1, ':') == NULL;
}

bool acl_valid(const char *scheme, const char *id)
{
	if (strcmp(scheme, "world") == 0)
		return strcmp(id, "anyone") == 0;
	if (strcmp(scheme, "digest") == 0)
		return acl_valid_digest(id);
	if (strcmp(scheme, "ip") == 0)
		return acl_valid_ip(id);
	return false;
}
