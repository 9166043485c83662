/* check.c: store_check, the invariants every other file keeps (SQLite's integrity_check):
 *  1. every node is found by a lookup of (parent, name), in the bucket its name hashes to;
 *  2. a node's numChildren is the number of nodes in its children's table, whose parent it is;
 *  3. the node count (and the count of containers and TTL nodes) is the number of nodes reached
 *     from "/";
 *  4. every node's ACL index names a live list whose reference count is its number of users;
 *  5. an ephemeral's session exists and lists it at eph_idx; sessions list only ephemerals
 *     they own, each once;
 *  6. czxid <= mzxid, czxid <= pzxid, data_len >= -1; a node with a children's table and no
 *     data block has no data (the table's pointer took the creation data's place);
 *  7. the running digest equals one computed from scratch;
 *  8. the quota set holds distinct normalised paths (quota.c). */
#include <errno.h>

#include "common/zk_alloc.h"
#include "common/zk_log.h"
#include "store/store_int.h"

struct check_ctx {
	const struct store *s;
	uint32_t *acl_refs; /* Owned: users counted per ACL index. */
	uint64_t nodes;
	uint64_t expirable; /* Containers and TTL nodes seen. */
	uint64_t ephemerals;
};

static int check_children(const struct znode *n)
{
	const struct znode_kids *k = znode_kids(n);
	const struct znode *c;
	int32_t count = 0;
	uint32_t i;

	for (i = 0; k != NULL && i <= k->mask; i++) {
		for (c = k->bucket[i]; c != NULL; c = c->hnext) {
			if (c->parent != n || znode_name_bucket(k, znode_name(c)) != i)
				return ZK_CORRUPT();
			count++;
		}
	}
	return count == znode_num_children(n) ? 0 : ZK_CORRUPT();
}

static int check_ephemeral(struct check_ctx *cc, const struct znode *n)
{
	const struct store_session *ss;

	if (znode_kind(n) != STORE_KIND_EPHEMERAL)
		return 0;
	ss = store_sess_find(cc->s, znode_owner(n));
	if (ss == NULL || znode_eph_idx(n) >= ss->n_eph || ss->eph[znode_eph_idx(n)] != n ||
	    znode_num_children(n) != 0)
		return ZK_CORRUPT();
	cc->ephemerals++;
	return 0;
}

static int check_node(void *ctx, const struct znode *n)
{
	struct check_ctx *cc = ctx;
	const struct store *s = cc->s;

	cc->nodes++;
	cc->expirable += znode_kind(n) == STORE_KIND_CONTAINER || znode_kind(n) == STORE_KIND_TTL;
	if (n->parent != NULL &&
	    (znode_name(n)[0] == '\0' ||
	     znode_lookup_child(n->parent, znode_name(n), strlen(znode_name(n))) != n))
		return ZK_CORRUPT();
	if (n->acl >= s->n_acls || s->acls[n->acl].acl == NULL)
		return ZK_CORRUPT();
	cc->acl_refs[n->acl]++;
	if (n->czxid > znode_mzxid(n) || n->czxid > znode_pzxid(n) || n->data_len < -1)
		return ZK_CORRUPT();
	if ((n->flags & ZNODE_EXT && n->flags & ZNODE_KIDS) ||
	    (znode_ext(n) == NULL && znode_kids(n) != NULL && n->data_len > 0))
		return ZK_CORRUPT();
	if (check_children(n) != 0)
		return -EBADMSG;
	return check_ephemeral(cc, n);
}

static int check_sessions(const struct check_ctx *cc)
{
	const struct store *s = cc->s;
	const struct store_session *ss;
	uint64_t total = 0, count = 0;
	uint32_t i, j;

	for (i = 0; i < s->n_sbuckets; i++) {
		for (ss = s->sbuckets[i]; ss != NULL; ss = ss->hnext) {
			count++;
			for (j = 0; j < ss->n_eph; j++)
				if (znode_owner(ss->eph[j]) != ss->id || znode_eph_idx(ss->eph[j]) != j)
					return ZK_CORRUPT();
			total += ss->n_eph;
		}
	}
	return count == s->n_sessions && total == cc->ephemerals ? 0 : ZK_CORRUPT();
}

int store_check(const struct store *s)
{
	return store_check_invariants(s, true);
}

int store_check_invariants(const struct store *s, bool digest)
{
	struct check_ctx cc = {.s = s};
	uint32_t i;
	int rc;

	cc.acl_refs = zk_calloc(s->n_acls + 1, sizeof(*cc.acl_refs));
	if (cc.acl_refs == NULL)
		return -ENOMEM;
	rc = s->root == NULL || s->root->parent != NULL ? ZK_CORRUPT() : 0;
	if (rc == 0)
		rc = znode_foreach_preorder(s, check_node, &cc);
	if (rc == 0 && (cc.nodes != s->n_nodes || cc.expirable != s->n_expirable))
		rc = ZK_CORRUPT();
	for (i = 0; rc == 0 && i < s->n_acls; i++)
		if (s->acls[i].acl != NULL && s->acls[i].refs != cc.acl_refs[i])
			rc = ZK_CORRUPT();
	if (rc == 0)
		rc = check_sessions(&cc);
	if (rc == 0)
		rc = store_quota_check(s);
	if (rc == 0 && digest && s->digest_sum != store_digest_sum(s))
		rc = ZK_CORRUPT();
	zk_free(cc.acl_refs);
	return rc;
}
