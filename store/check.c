/* check.c: store_check, the invariants every other file keeps (SQLite's integrity_check):
 *  1. every node is found by a hash lookup of (parent, name) and its stored hash is right;
 *  2. a node's numChildren is the length of its sibling list, whose links are consistent;
 *  3. the node count (and the count of containers and TTL nodes) is the number of nodes reached
 *     from "/";
 *  4. every node's ACL index names a live list whose reference count is its number of users;
 *  5. an ephemeral's session exists and lists it at eph_idx; sessions list only ephemerals
 *     they own, each once;
 *  6. czxid <= mzxid, czxid <= pzxid, data_len and data agree;
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
	const struct znode *c, *prev = NULL;
	int32_t count = 0;

	for (c = n->child; c != NULL; prev = c, c = c->next) {
		if (c->parent != n || c->prev != prev)
			return ZK_CORRUPT();
		count++;
	}
	return count == n->num_children ? 0 : ZK_CORRUPT();
}

static int check_ephemeral(struct check_ctx *cc, const struct znode *n)
{
	const struct store_session *ss;

	if (znode_kind(n) != STORE_KIND_EPHEMERAL)
		return 0;
	ss = store_sess_find(cc->s, n->owner);
	if (ss == NULL || n->eph_idx >= ss->n_eph || ss->eph[n->eph_idx] != n || n->child != NULL)
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
	    (n->hash != znode_hash(n->parent, n->name, n->name_len) ||
	     znode_lookup_child(s, n->parent, n->name, n->name_len) != n || n->name_len == 0))
		return ZK_CORRUPT();
	if (n->acl >= s->n_acls || s->acls[n->acl].acl == NULL)
		return ZK_CORRUPT();
	cc->acl_refs[n->acl]++;
	if (n->czxid > n->mzxid || n->czxid > n->pzxid || n->data_len < -1 ||
	    (n->data_len > 0) != (n->data != NULL))
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
				if (ss->eph[j]->owner != ss->id || ss->eph[j]->eph_idx != j)
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
