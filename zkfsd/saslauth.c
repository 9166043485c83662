/* saslauth: SASL authentication of client connections through Cyrus SASL (ZooKeeper's
 * SaslServerCallbackHandler + SASLAuthenticationProvider), DIGEST-MD5 as ZooKeeper's
 * DigestLoginModule offers it.
 *
 * Wire: after the handshake the client sends "sasl" requests (opcode 102, a GetSASLRequest
 * token) and each is answered at once, like an auth packet, with a SetSASLResponse token: the
 * first starts the exchange, the next ones step it. When it completes the connection gets the
 * id ("sasl", user name), which whoAmI shows and "sasl:user" or "auth" ACLs match. A refused
 * exchange is answered AuthFailed, logged (user name and reason, never a token) and the
 * connection closed, as ZooKeeper drops it.
 *
 * Names, as ZooKeeper has them for DIGEST-MD5: service "zookeeper", server name (and so the
 * default realm) "zk-sasl-md5". The users and passwords are a Cyrus sasldb file named by
 * `zkfsd.saslDb` (made with `saslpasswd2 -f FILE -u zk-sasl-md5 -c USER`).
 *
 * GSSAPI (Kerberos) instead, when `zkfsd.saslKeytab` is given, as ZooKeeper's server does when
 * its JAAS Server section logs in with a keytab (the protocol carries no mechanism name: the
 * server offers one). The key is zkfsd.saslPrincipal's (service/host, default
 * zookeeper/<hostname>, and its @REALM); the keytab reaches MIT Kerberos through KRB5_KTNAME.
 * The id is the client's full principal (alice@REALM), as ZooKeeper's by default.
 *
 * Without either key "sasl" requests are answered AuthFailed. Loop thread only. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sasl/sasl.h>

#include "common/zk_log.h"
#include "zkfsd/zkfsd_int.h"

#define SASLAUTH_SERVICE "zookeeper"
#define SASLAUTH_SERVER "zk-sasl-md5"

/* SASL_CB_GETOPT: the options a sasl.conf would give, from zoo.cfg. */
static int saslauth_getopt(void *ctx, const char *plugin, const char *option,
			   const char **result, unsigned *len)
{
	const struct config *cfg = ctx;

	(void)plugin;
	if (strcmp(option, "sasldb_path") == 0)
		*result = cfg->sasl_db;
	else if (strcmp(option, "auxprop_plugin") == 0)
		*result = "sasldb";
	else if (strcmp(option, "mech_list") == 0)
		*result = cfg->sasl_keytab != NULL ? "GSSAPI" : "DIGEST-MD5";
	else
		return SASL_FAIL;
	if (len != NULL)
		*len = (unsigned)strlen(*result);
	return SASL_OK;
}

/* GSSAPI: the keytab for MIT Kerberos, and the service and host of the key into @srv. */
static int saslauth_kerberos(struct zkfsd *srv)
{
	const struct config *cfg = srv->cfg;
	const char *p = cfg->sasl_principal, *slash, *at;
	char host[256];

	if (setenv("KRB5_KTNAME", cfg->sasl_keytab, 1) != 0)
		return -errno;
	if (p == NULL) {
		if (gethostname(host, sizeof(host)) != 0)
			return -errno;
		host[sizeof(host) - 1] = '\0';
		snprintf(srv->sasl_service, sizeof(srv->sasl_service), "%s", SASLAUTH_SERVICE);
		snprintf(srv->sasl_host, sizeof(srv->sasl_host), "%s", host);
		return 0;
	}
	slash = strchr(p, '/');
	at = strchr(slash, '@');
	if (at != NULL)
		snprintf(srv->sasl_realm, sizeof(srv->sasl_realm), "%s", at + 1);
	snprintf(srv->sasl_service, sizeof(srv->sasl_service), "%.*s", (int)(slash - p), p);
	snprintf(srv->sasl_host, sizeof(srv->sasl_host), "%.*s",
		 (int)(at != NULL ? at - slash - 1 : (long)strlen(slash + 1)), slash + 1);
	return 0;
}

/* SASL_CB_PROXY_POLICY: a requested authorization id other than the authenticated one is
 * let through and ignored, as ZooKeeper's SaslServerCallbackHandler authorizes every exchange
 * and takes the id from the authentication id (saslauth_done does the same). */
static int saslauth_proxy(sasl_conn_t *conn, void *ctx, const char *requested, unsigned rlen,
			  const char *auth, unsigned alen, const char *realm, unsigned urlen,
			  struct propctx *props)
{
	(void)conn, (void)ctx, (void)requested, (void)rlen, (void)auth, (void)alen, (void)realm;
	(void)urlen, (void)props;
	return SASL_OK;
}

int saslauth_init(struct zkfsd *srv)
{
	int rv;

	if (srv->cfg->sasl_db == NULL && srv->cfg->sasl_keytab == NULL)
		return 0;
	snprintf(srv->sasl_service, sizeof(srv->sasl_service), "%s", SASLAUTH_SERVICE);
	snprintf(srv->sasl_host, sizeof(srv->sasl_host), "%s", SASLAUTH_SERVER);
	if (srv->cfg->sasl_keytab != NULL && saslauth_kerberos(srv) != 0) {
		zk_log_error("SASL: cannot set up Kerberos: %s", strerror(errno));
		return -EINVAL;
	}
	srv->sasl_cbs[0] = (sasl_callback_t){SASL_CB_GETOPT, (int (*)(void))(void (*)(void))saslauth_getopt,
					     (void *)srv->cfg};
	srv->sasl_cbs[1] = (sasl_callback_t){SASL_CB_PROXY_POLICY,
					     (int (*)(void))(void (*)(void))saslauth_proxy, NULL};
	srv->sasl_cbs[2] = (sasl_callback_t){SASL_CB_LIST_END, NULL, NULL};
	rv = sasl_server_init(srv->sasl_cbs, "zkfsd");
	if (rv != SASL_OK) {
		zk_log_error("SASL: cannot initialise Cyrus SASL: %s", sasl_errstring(rv, NULL, NULL));
		return -EINVAL;
	}
	if (srv->cfg->sasl_keytab != NULL)
		zk_log_info("SASL: GSSAPI as %s/%s with the keytab %s", srv->sasl_service,
			    srv->sasl_host, srv->cfg->sasl_keytab);
	else
		zk_log_info("SASL: DIGEST-MD5 with the users of %s", srv->cfg->sasl_db);
	return 0;
}

void saslauth_conn_free(struct conn *conn)
{
	if (conn->sasl != NULL)
		sasl_dispose(&conn->sasl);
}

/* One step of @conn's exchange with the client's @token; *@out/@outlen: the answer (owned by
 * the SASL connection). SASL_OK, SASL_CONTINUE or an error. */
static int saslauth_step(struct conn *conn, const struct jute_bytes *token, const char **out,
			 unsigned *outlen)
{
	const char *in = (const char *)token->p;
	unsigned inlen = token->len > 0 ? (unsigned)token->len : 0;
	int rv;

	if (conn->sasl != NULL)
		return sasl_server_step(conn->sasl, in, inlen, out, outlen);
	/* SASL_SUCCESS_DATA: DIGEST-MD5's rspauth rides with the success, as Java's SaslServer
	 * completes (kazoo sends nothing after it). */
	rv = sasl_server_new(conn->srv->sasl_service, conn->srv->sasl_host, NULL, NULL, NULL,
			     conn->srv->sasl_cbs, SASL_SUCCESS_DATA, &conn->sasl);
	if (rv != SASL_OK)
		return rv;
	return sasl_server_start(conn->sasl,
				 conn->srv->cfg->sasl_keytab != NULL ? "GSSAPI" : "DIGEST-MD5",
				 inlen > 0 ? in : NULL, inlen, out, outlen);
}

/* The exchange completed: the "sasl" id of the user it authenticated (the authentication id,
 * whatever authorization id the client asked for, as ZooKeeper). */
static int saslauth_done(struct conn *conn)
{
	const char *realm = conn->srv->sasl_realm;
	const void *user = NULL;
	char id[512];

	if (sasl_getprop(conn->sasl, SASL_AUTHUSER, &user) != SASL_OK || user == NULL)
		return SASL_FAIL;
	/* Cyrus drops the default realm from a Kerberos principal; ZooKeeper's id keeps it
	 * (kerberos.removeRealmFromPrincipal is off by default). */
	if (realm[0] != '\0' && strchr(user, '@') == NULL)
		snprintf(id, sizeof(id), "%s@%s", (const char *)user, realm);
	else
		snprintf(id, sizeof(id), "%s", (const char *)user);
	zk_log_info("%s:%d authenticated by SASL as %s", conn->ip, conn->port, id);
	return acl_auth_id(conn, "sasl", id) == 0 ? SASL_OK : SASL_NOMEM;
}

/* Append the answer (header with @err, then the token) to conn->out. */
static void saslauth_reply(struct conn *conn, int32_t xid, int32_t err, const char *tok,
			   unsigned len)
{
	struct jute_set_sasl_response rsp = {.token = {(const uint8_t *)tok, (int32_t)len}};
	size_t start = jute_frame_begin(&conn->out);

	if (start != JUTE_FRAME_NOMEM && conn_reply_header(&conn->out, xid, 0, err) == 0 &&
	    (err != ZK_ERR_OK || jute_encode_set_sasl_response(&conn->out, &rsp) == 0)) {
		jute_frame_end(&conn->out, start);
	} else {
		if (start != JUTE_FRAME_NOMEM)
			conn->out.len = start;
		conn->close_after_flush = true;
	}
	conn->sent++;
	conn->srv->stats.packets_sent++;
	conn_mark_dirty(conn);
}

void saslauth_packet(struct conn *conn, int32_t xid, const struct jute_get_sasl_request *r)
{
	const char *out = NULL;
	unsigned outlen = 0;
	const struct config *cfg = conn->srv->cfg;
	int rv = cfg->sasl_db == NULL && cfg->sasl_keytab == NULL
			 ? SASL_NOMECH
			 : saslauth_step(conn, &r->token, &out, &outlen);

	if (rv == SASL_OK)
		rv = saslauth_done(conn);
	if (rv == SASL_OK || rv == SASL_CONTINUE) {
		saslauth_reply(conn, xid, ZK_ERR_OK, out, out != NULL ? outlen : 0);
		return;
	}
	zk_log_warn("SASL authentication from %s:%d refused: %s (AuthFailed, closing)", conn->ip,
		    conn->port, conn->sasl != NULL ? sasl_errdetail(conn->sasl)
						   : sasl_errstring(rv, NULL, NULL));
	saslauth_reply(conn, xid, ZK_ERR_AUTHFAILED, NULL, 0);
	conn->close_after_flush = true;
}
