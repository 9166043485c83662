/* session.c: the sessions table (ZooKeeper's SessionTracker state that lives in the log:
 * id, timeout, password) and each session's ephemeral nodes (DataTree.ephemerals). Liveness
 * (pings, expiry timers) is zkfsd's; expiry reaches the store as a CLOSE_SESSION txn. */
#include <errno.h>
#include <string.h>

#include "common/zk_alloc.h"
#include "store/store_int.h"

static uint32_t session_bucket(const struct store *s, int64_t id)
{
	uint64_t h = (uint64_t)id * 0x9e3779b97f4a7c15ULL;

	return (uint32_t)(h >> 32) & (s->n_sbuckets - 1);
}

struct store_session *store_sess_find(const struct store *s, int64_t id)
{
	struct store_session *ss;

	if (s->n_sbuckets == 0)
		return NULL;
	for (ss = s->sbuckets[session_bucket(s, id)]; ss != NULL; ss = ss->hnext)
		if (ss->id == id)
			return ss;
	return NULL;
}

/* Make room for one more session so that store_sess_insert cannot fail. */
int store_sess_reserve(struct store *s)
{
	uint32_t nb = s->n_sbuckets ? s->n_sbuckets * 2 : 16, i, old = s->n_sbuckets;
	struct store_session **b, **ob = s->sbuckets, *ss, *next;

	if (s->n_sessions + 1 <= s->n_sbuckets)
		return 0;
	b = zk_calloc(nb, sizeof(*b));
	if (b == NULL)
		return -ENOMEM;
	s->sbuckets = b;
	s->n_sbuckets = nb;
	for (i = 0; i < old; i++) {
		for (ss = ob[i]; ss != NULL; ss = next) {
			next = ss->hnext;
			ss->hnext = b[session_bucket(s, ss->id)];
			b[session_bucket(s, ss->id)] = ss;
		}
	}
	zk_free(ob);
	return 0;
}

struct store_session *store_sess_new(int64_t id)
{
	struct store_session *ss = zk_calloc(1, sizeof(*ss));

	if (ss != NULL)
		ss->id = id;
	return ss;
}

void store_sess_insert(struct store *s, struct store_session *ss)
{
	uint32_t b = session_bucket(s, ss->id);

	ss->hnext = s->sbuckets[b];
	s->sbuckets[b] = ss;
	s->n_sessions++;
}

void store_sess_remove(struct store *s, struct store_session *ss)
{
	struct store_session **pp = &s->sbuckets[session_bucket(s, ss->id)];

	while (*pp != ss)
		pp = &(*pp)->hnext;
	*pp = ss->hnext;
	ss->hnext = NULL;
	s->n_sessions--;
}

void store_sess_free(struct store_session *ss)
{
	if (ss == NULL)
		return;
	zk_free(ss->eph);
	zk_free(ss);
}

/* Make room for one more ephemeral so that store_sess_eph_add cannot fail. */
int store_sess_eph_reserve(struct store_session *ss)
{
	uint32_t cap;
	struct znode **grown;

	if (ss->n_eph < ss->cap_eph)
		return 0;
	cap = ss->cap_eph ? ss->cap_eph * 2 : 4;
	grown = zk_realloc(ss->eph, cap * sizeof(*grown));
	if (grown == NULL)
		return -ENOMEM;
	ss->eph = grown;
	ss->cap_eph = cap;
	return 0;
}

void store_sess_eph_add(struct store_session *ss, struct znode *n)
{
	znode_set_eph_idx(n, ss->n_eph);
	ss->eph[ss->n_eph++] = n;
}

/* Swap-remove: O(1); the order of a session's ephemerals is not meaningful. */
void store_sess_eph_del(struct store_session *ss, struct znode *n)
{
	struct znode *last = ss->eph[--ss->n_eph];

	ss->eph[znode_eph_idx(n)] = last;
	znode_set_eph_idx(last, znode_eph_idx(n));
}

void store_sess_free_all(struct store *s)
{
	uint32_t i;
	struct store_session *ss, *next;

	for (i = 0; i < s->n_sbuckets; i++) {
		for (ss = s->sbuckets[i]; ss != NULL; ss = next) {
			next = ss->hnext;
			store_sess_free(ss);
		}
	}
	zk_free(s->sbuckets);
	s->sbuckets = NULL;
	s->n_sbuckets = s->n_sessions = 0;
}

int store_session_get(const struct store *s, int64_t id, int32_t *timeout_ms,
		      uint8_t passwd[ZK_SESSION_PASSWD_LEN])
{
	const struct store_session *ss = store_sess_find(s, id);

	if (ss == NULL)
		return ZK_ERR_SESSIONEXPIRED;
	if (timeout_ms != NULL)
		*timeout_ms = ss->timeout_ms;
	if (passwd != NULL)
		memcpy(passwd, ss->passwd, ZK_SESSION_PASSWD_LEN);
	return ZK_ERR_OK;
}

void store_session_foreach(const struct store *s,
			   void (*cb)(void *ctx, int64_t id, int32_t timeout_ms), void *ctx)
{
	uint32_t i;
	const struct store_session *ss;

	for (i = 0; i < s->n_sbuckets; i++)
		for (ss = s->sbuckets[i]; ss != NULL; ss = ss->hnext)
			cb(ctx, ss->id, ss->timeout_ms);
}
