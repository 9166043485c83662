/* acl: the digest ids of `addauth digest user:password` (ZooKeeper's
 * DigestAuthenticationProvider), which whoAmI reports and "auth" ACLs expand to. The id checks
 * of a create or setACL are store_acl_id_valid (store/), shared with apply. Authentication is
 * not enforced yet (see the README): that belongs to the security issue. */
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
