/* acl: who a client connection is, for ZooKeeper's ACLs (ZooKeeper 3.8's ProviderRegistry with
 * its default providers, plus the super user and skipACL).
 *
 * A connection's ids (ZooKeeper's authInfo) are ("ip", its address), added implicitly, then one
 * per successful `auth` packet: ("digest", "user:base64(sha1(user:password))") from
 * DigestAuthenticationProvider, preceded by ("super", "") when that digest is the configured
 * superDigest. skipACL=yes adds ("super", "") to every list handed to a check. Reads are judged
 * here against the local tree (acl_check); writes carry the same list in their txn and are
 * judged at apply (store_acl_permits), so every replica decides alike.
 *
 * Secrets: the auth data (a password) is never logged, not even when malformed; a connection
 * holds at most ACL_MAX_AUTH ids of at most ACL_MAX_AUTH_LEN bytes of auth data each (more is
 * AuthFailed and a closed connection, as for an unknown scheme). */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "common/zk_log.h"
#include "zkfsd/zkfsd_int.h"

/* Auth packets a connection may add, and the longest auth data accepted. ZooKeeper has no cap;
 * a client never needs more than a few (kazoo sends one per auth_data entry). */
#define ACL_MAX_AUTH 16
#define ACL_MAX_AUTH_LEN 1024

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

/* Prepend (scheme, user, id) to @conn's ids. 0 or -ENOMEM (nothing added). */
static int acl_push(struct conn *conn, const char *scheme, const char *user, size_t ulen,
		    char *id)
{
	struct conn_auth *ca = calloc(1, sizeof(*ca));

	if (ca == NULL || id == NULL)
		goto err;
	ca->scheme = strdup(scheme);
	ca->user = strndup(user, ulen);
	ca->id = id;
	if (ca->scheme == NULL || ca->user == NULL)
		goto err;
	ca->next = conn->auth;
	conn->auth = ca;
	return 0;
err:
	if (ca != NULL) {
		free(ca->scheme);
		free(ca->user);
	}
	free(ca);
	free(id);
	return -ENOMEM;
}

static int acl_count(const struct conn *conn)
{
	int n = 0;

	for (const struct conn_auth *a = conn->auth; a != NULL; a = a->next)
		n++;
	return n;
}

/* DigestAuthenticationProvider.handleAuthentication: the digest id, and "super" first when it
 * is the superDigest (ZooKeeper adds both). */
static int acl_auth_digest(struct conn *conn, const uint8_t *auth, size_t len)
{
	const uint8_t *colon = memchr(auth, ':', len);
	size_t ulen = colon ? (size_t)(colon - auth) : len;
	char *id = acl_digest_id(auth, len);
	const char *super = conn->srv->cfg->super_digest;
	bool is_super = id != NULL && super != NULL && strcmp(id, super) == 0;

	if (acl_push(conn, "digest", (const char *)auth, ulen, id) != 0)
		return -ENOMEM;
	if (is_super && acl_push(conn, "super", "super", 5, strdup("")) != 0)
		return -ENOMEM;
	if (is_super)
		zk_log_info("%s:%d authenticated as the super user", conn->ip, conn->port);
	return 0;
}

int acl_auth_id(struct conn *conn, const char *scheme, const char *user)
{
	return acl_push(conn, scheme, user, strlen(user), strdup(user));
}

int acl_auth_x509(struct conn *conn)
{
	char *dn = tls_peer_dn(conn->tls);
	int rv;

	if (dn == NULL)
		return 0; /* No (verified) client certificate: ssl.clientAuth want or none. */
	zk_log_info("%s:%d authenticated by its certificate as %s", conn->ip, conn->port, dn);
	rv = acl_auth_id(conn, "x509", dn);
	free(dn);
	return rv;
}

int acl_auth(struct conn *conn, const struct jute_auth_packet *a)
{
	bool digest = jute_str_eq(&a->scheme, "digest");

	if (!digest && !jute_str_eq(&a->scheme, "ip")) {
		zk_log_warn("auth with unknown scheme from %s:%d: AuthFailed, closing", conn->ip,
			    conn->port);
		return ZK_ERR_AUTHFAILED;
	}
	if (!digest || a->auth.len <= 0)
		return ZK_ERR_OK; /* "ip" adds nothing: the address is an id already. */
	if (a->auth.len > ACL_MAX_AUTH_LEN || acl_count(conn) >= ACL_MAX_AUTH) {
		zk_log_warn("auth from %s:%d refused: more than %d ids or %d bytes of auth data "
			    "(AuthFailed, closing)", conn->ip, conn->port, ACL_MAX_AUTH,
			    ACL_MAX_AUTH_LEN);
		return ZK_ERR_AUTHFAILED;
	}
	if (acl_auth_digest(conn, a->auth.p, (size_t)a->auth.len) != 0) {
		/* Refuse rather than let the client believe it is authenticated. */
		zk_log_error("out of memory recording auth from %s:%d: AuthFailed, closing",
			     conn->ip, conn->port);
		return ZK_ERR_AUTHFAILED;
	}
	return ZK_ERR_OK;
}

int acl_conn_ids(const struct conn *conn, struct store_acl *out, int max)
{
	int n = 0;

	assert(max >= ACL_MAX_IDS);
	out[n++] = (struct store_acl){0, "ip", (char *)conn->ip};
	if (conn->srv->cfg->skip_acl)
		out[n++] = (struct store_acl){0, "super", ""};
	for (const struct conn_auth *a = conn->auth; a != NULL && n < max; a = a->next)
		out[n++] = (struct store_acl){0, a->scheme, a->id};
	return n;
}

bool acl_permits(const struct conn *conn, const struct store_acl *acl, int32_t n, int32_t perm)
{
	struct store_acl ids[ACL_MAX_IDS];
	int n_ids = acl_conn_ids(conn, ids, ACL_MAX_IDS);

	return store_acl_permits(acl, n, ids, n_ids, perm);
}

int acl_check(const struct conn *conn, const char *path, int32_t perm)
{
	const struct store_acl *acl;
	int32_t n;
	int rc = store_get_acl(conn->srv->store, path, &acl, &n, NULL);

	if (rc != ZK_ERR_OK)
		return rc;
	return acl_permits(conn, acl, n, perm) ? ZK_ERR_OK : ZK_ERR_NOAUTH;
}
