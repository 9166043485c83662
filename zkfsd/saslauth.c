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
 * `zkfsd.saslDb` (made with `saslpasswd2 -f FILE -u zk-sasl-md5 -c USER`); without that key
 * "sasl" requests are answered AuthFailed. Loop thread only. */
#include <errno.h>
#include <string.h>

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
		*result = "DIGEST-MD5";
	else
		return SASL_FAIL;
	if (len != NULL)
		*len = (unsigned)strlen(*result);
	return SASL_OK;
}

int saslauth_init(struct zkfsd *srv)
{
	int rv;

	if (srv->cfg->sasl_db == NULL)
		return 0;
	srv->sasl_cbs[0] = (sasl_callback_t){SASL_CB_GETOPT, (int (*)(void))(void (*)(void))saslauth_getopt,
					     (void *)srv->cfg};
	srv->sasl_cbs[1] = (sasl_callback_t){SASL_CB_LIST_END, NULL, NULL};
	rv = sasl_server_init(srv->sasl_cbs, "zkfsd");
	if (rv != SASL_OK) {
		zk_log_error("SASL: cannot initialise Cyrus SASL: %s", sasl_errstring(rv, NULL, NULL));
		return -EINVAL;
	}
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
	rv = sasl_server_new(SASLAUTH_SERVICE, SASLAUTH_SERVER, NULL, NULL, NULL,
			     conn->srv->sasl_cbs, SASL_SUCCESS_DATA, &conn->sasl);
	if (rv != SASL_OK)
		return rv;
	return sasl_server_start(conn->sasl, "DIGEST-MD5", inlen > 0 ? in : NULL, inlen, out,
				 outlen);
}

/* The exchange completed: the "sasl" id of the user it authenticated. */
static int saslauth_done(struct conn *conn)
{
	const void *user = NULL;

	if (sasl_getprop(conn->sasl, SASL_USERNAME, &user) != SASL_OK || user == NULL)
		return SASL_FAIL;
	zk_log_info("%s:%d authenticated by SASL as %s", conn->ip, conn->port,
		    (const char *)user);
	return acl_auth_id(conn, "sasl", user) == 0 ? SASL_OK : SASL_NOMEM;
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
	int rv = conn->srv->cfg->sasl_db == NULL ? SASL_NOMECH
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
