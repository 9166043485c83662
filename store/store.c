/* store.c: creating and destroying a store (ZooKeeper's initial tree) and the read calls. */
#include <errno.h>
#include <string.h>

#include "common/zk_alloc.h"
#include "store/store_int.h"

static const struct store_acl acl_open = {ZK_PERM_ALL, "world", "anyone"};
static const struct store_acl acl_read = {ZK_PERM_READ, "world", "anyone"};

void store_config_init(struct store_config *cfg)
{
	cfg->max_data_len = STORE_DEFAULT_MAX_DATA_LEN;
	cfg->max_ttl_ms = STORE_TTL_MAX;
}

/* Add a node of ZooKeeper's initial tree: every stat field 0, empty (not null) data. */
static int store_add_initial(struct store *s, struct znode *parent, const char *name,
			     const struct store_acl *acl, struct znode **out)
{
	struct znode *n = znode_new(name, strlen(name), 0, NULL, 0);
	uint32_t idx;

	if (n == NULL || znode_reserve(parent) != 0 || store_acl_intern(s, acl, 1, &idx) != 0) {
		znode_free(n);
		return -ENOMEM;
	}
	n->acl = idx;
	znode_link(s, parent, n);
	if (parent == NULL)
		s->root = n;
	if (out != NULL)
		*out = n;
	return 0;
}

/* "/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config" as DataTree's constructor makes
 * them. /zookeeper/config is world:anyone READ with aversion -1 (DataTree.addConfigNode calls
 * setACL with version -1), as Apache ZooKeeper 3.8 reports it. */
int store_init_tree(struct store *s)
{
	struct znode *root, *zk, *config;

	if (store_add_initial(s, NULL, "", &acl_open, &root) != 0 ||
	    store_add_initial(s, root, "zookeeper", &acl_open, &zk) != 0 ||
	    store_add_initial(s, zk, "quota", &acl_open, NULL) != 0 ||
	    store_add_initial(s, zk, "config", &acl_read, &config) != 0)
		return -ENOMEM;
	if (znode_ext_ensure(config) != 0)
		return -ENOMEM;
	znode_ext(config)->aversion = -1;
	s->digest_sum = store_digest_sum(s);
	return 0;
}

int store_create(const struct store_config *cfg, store_event_cb cb, void *ctx, struct store **out)
{
	struct store *s = zk_calloc(1, sizeof(*s));

	if (s == NULL)
		return -ENOMEM;
	if (cfg != NULL)
		s->cfg = *cfg;
	else
		store_config_init(&s->cfg);
	s->cb = cb;
	s->cb_ctx = ctx;
	if (store_init_tree(s) != 0) {
		store_destroy(s);
		return -ENOMEM;
	}
	*out = s;
	return 0;
}

void store_destroy(struct store *s)
{
	if (s == NULL)
		return;
	znode_free_tree(s);
	store_acl_free_all(s);
	store_sess_free_all(s);
	store_quota_free_all(s);
	zk_free(s);
}

int64_t store_last_zxid(const struct store *s)
{
	return s->last_zxid;
}

uint64_t store_node_count(const struct store *s)
{
	return s->n_nodes;
}

/* ---- reads ------------------------------------------------------------------------------- */

int store_exists(const struct store *s, const char *path, struct zk_stat *stat)
{
	const struct znode *n = znode_lookup(s, path);

	if (n == NULL)
		return ZK_ERR_NONODE;
	if (stat != NULL)
		znode_stat(n, stat);
	return ZK_ERR_OK;
}

int store_get_data(const struct store *s, const char *path, const uint8_t **data, int32_t *len,
		   struct zk_stat *stat)
{
	const struct znode *n = znode_lookup(s, path);

	if (n == NULL)
		return ZK_ERR_NONODE;
	*data = znode_data(n);
	*len = n->data_len;
	if (stat != NULL)
		znode_stat(n, stat);
	return ZK_ERR_OK;
}

int store_get_children(const struct store *s, const char *path,
		       void (*cb)(void *ctx, const char *name), void *ctx, struct zk_stat *stat)
{
	const struct znode *n = znode_lookup(s, path), *c;
	const struct znode_kids *k;
	uint32_t i;

	if (n == NULL)
		return ZK_ERR_NONODE;
	k = znode_kids(n);
	for (i = 0; k != NULL && k->num_children > 0 && i <= k->mask; i++)
		for (c = k->bucket[i]; c != NULL; c = c->hnext)
			cb(ctx, znode_name(c));
	if (stat != NULL)
		znode_stat(n, stat);
	return ZK_ERR_OK;
}

int store_get_acl(const struct store *s, const char *path, const struct store_acl **acl,
		  int32_t *n_acl, struct zk_stat *stat)
{
	const struct znode *n = znode_lookup(s, path);

	if (n == NULL)
		return ZK_ERR_NONODE;
	*acl = s->acls[n->acl].acl;
	*n_acl = s->acls[n->acl].n;
	if (stat != NULL)
		znode_stat(n, stat);
	return ZK_ERR_OK;
}

/* True when @path is @prefix or below it (ZooKeeper's getEphemerals uses startsWith). */
static bool path_has_prefix(const char *path, const char *prefix)
{
	return prefix == NULL || strcmp(prefix, "/") == 0 ||
	       strncmp(path, prefix, strlen(prefix)) == 0;
}

int store_get_ephemerals(const struct store *s, int64_t session_id, const char *prefix,
			 void (*cb)(void *ctx, const char *path), void *ctx)
{
	const struct store_session *ss = store_sess_find(s, session_id);
	struct zk_buf path;
	uint32_t i;
	int rc = 0;

	if (ss == NULL)
		return ZK_ERR_OK;
	zk_buf_init(&path);
	for (i = 0; i < ss->n_eph && rc == 0; i++) {
		zk_buf_reset(&path);
		rc = znode_path(ss->eph[i], &path);
		if (rc == 0 && path_has_prefix((const char *)path.data, prefix))
			cb(ctx, (const char *)path.data);
	}
	zk_buf_close(&path);
	return rc;
}

int store_count_all_children(const struct store *s, const char *path, int32_t *count)
{
	const struct znode *top = znode_lookup(s, path), *n;
	int32_t total = 0;

	if (top == NULL)
		return ZK_ERR_NONODE;
	for (n = znode_next_preorder(top, top); n != NULL; n = znode_next_preorder(n, top))
		total++;
	*count = total;
	return ZK_ERR_OK;
}

/* ---- expiry ------------------------------------------------------------------------------ */

struct expired_ctx {
	int64_t now_ms;
	void (*cb)(void *ctx, const char *path, int32_t op);
	void *ctx;
	struct zk_buf path;
};

/* ContainerManager.getCandidates: an empty container that once had a child, or an empty TTL
 * node whose last change is more than its TTL ago. */
static int expired_visit(void *ctx, const struct znode *n)
{
	struct expired_ctx *e = ctx;
	enum store_kind kind = znode_kind(n);
	bool expired = false;
	int rc;

	if (znode_num_children(n) != 0)
		return 0;
	if (kind == STORE_KIND_CONTAINER)
		expired = znode_cversion(n) > 0;
	else if (kind == STORE_KIND_TTL)
		expired = znode_ttl_expired(n, e->now_ms);
	if (!expired)
		return 0;
	zk_buf_reset(&e->path);
	rc = znode_path(n, &e->path);
	if (rc == 0)
		e->cb(e->ctx, (const char *)e->path.data, ZK_OP_DELETE_CONTAINER);
	return rc;
}

int store_collect_expired(const struct store *s, int64_t now_ms,
			  void (*cb)(void *ctx, const char *path, int32_t op), void *ctx)
{
	struct expired_ctx e = {.now_ms = now_ms, .cb = cb, .ctx = ctx};
	int rc;

	if (s->n_expirable == 0)
		return 0; /* The common case: no walk over the whole tree. */
	zk_buf_init(&e.path);
	rc = znode_foreach_preorder(s, expired_visit, &e);
	zk_buf_close(&e.path);
	return rc;
}
