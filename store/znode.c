/* znode.c: the node tree (hash table keyed by parent and name, sibling lists), node paths and
 * stats, and the interned ACL table. See store_int.h for the layout and the counters. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/zk_alloc.h"
#include "store/store_int.h"

/* 64-bit mix (splitmix64 finaliser): spreads the parent pointer and the name hash. */
uint64_t store_mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

static uint64_t fnv(uint64_t h, const char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (uint8_t)p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* FNV-1a over the name (given in two pieces, so a sequential name is hashed before it is
 * built), mixed with the parent's address. */
static uint32_t hash2(const struct znode *parent, const char *a, size_t alen, const char *b,
		      size_t blen)
{
	uint64_t h = fnv(fnv(0xcbf29ce484222325ULL, a, alen), b, blen);

	return (uint32_t)store_mix64(h ^ (uint64_t)(uintptr_t)parent);
}

uint32_t znode_hash(const struct znode *parent, const char *name, size_t len)
{
	return hash2(parent, name, len, "", 0);
}

struct znode *znode_lookup_child2(const struct store *s, const struct znode *parent, const char *a,
				  size_t alen, const char *b, size_t blen)
{
	uint32_t h = hash2(parent, a, alen, b, blen);
	struct znode *n;

	for (n = s->buckets[h & (s->n_buckets - 1)]; n != NULL; n = n->hnext)
		if (n->hash == h && n->parent == parent && n->name_len == alen + blen &&
		    memcmp(n->name, a, alen) == 0 && memcmp(n->name + alen, b, blen) == 0)
			return n;
	return NULL;
}

struct znode *znode_lookup_child(const struct store *s, const struct znode *parent, const char *name,
				 size_t len)
{
	return znode_lookup_child2(s, parent, name, len, "", 0);
}

struct znode *znode_lookup(const struct store *s, const char *path)
{
	struct znode *n = s->root;
	const char *p = path, *end;

	if (path == NULL || path[0] != '/')
		return NULL;
	p++;
	while (*p != '\0' && n != NULL) {
		end = strchr(p, '/');
		if (end == NULL)
			end = p + strlen(p);
		if (end == p)
			return NULL; /* Empty component: "//" or a trailing '/'. */
		n = znode_lookup_child(s, n, p, (size_t)(end - p));
		p = *end == '/' ? end + 1 : end;
		if (*end == '/' && *p == '\0')
			return NULL;
	}
	return n;
}

struct znode *znode_lookup_parent(const struct store *s, const char *path, const char **name)
{
	const char *slash = strrchr(path, '/');
	struct znode *n = s->root;
	const char *p = path + 1, *end;

	if (path[0] != '/' || slash == NULL)
		return NULL;
	*name = slash + 1;
	while (p < slash && n != NULL) {
		end = memchr(p, '/', (size_t)(slash - p));
		if (end == NULL)
			end = slash;
		if (end == p)
			return NULL;
		n = znode_lookup_child(s, n, p, (size_t)(end - p));
		p = end + 1;
	}
	return n;
}

struct znode *znode_new(const char *name, size_t len)
{
	struct znode *n = zk_malloc(sizeof(*n) + len + 1);

	if (n == NULL)
		return NULL;
	memset(n, 0, sizeof(*n));
	n->name_len = (uint32_t)len;
	memcpy(n->name, name, len);
	n->name[len] = '\0';
	return n;
}

void znode_free(struct znode *n)
{
	if (n == NULL)
		return;
	zk_free(n->data);
	zk_free(n);
}

/* Make room for @extra more nodes without growing later (keeps the load factor <= 1). Growing
 * is invisible to readers, so a failure here changes nothing. */
int znode_reserve(struct store *s, uint64_t extra)
{
	uint64_t want = s->n_nodes + extra;
	uint32_t nb = s->n_buckets, i;
	struct znode **b, *n, *next;

	if (want <= nb)
		return 0;
	while (nb < want) {
		if (nb >= (1U << 31))
			return -ENOMEM;
		nb *= 2;
	}
	b = zk_calloc(nb, sizeof(*b));
	if (b == NULL)
		return -ENOMEM;
	for (i = 0; i < s->n_buckets; i++) {
		for (n = s->buckets[i]; n != NULL; n = next) {
			next = n->hnext;
			n->hnext = b[n->hash & (nb - 1)];
			b[n->hash & (nb - 1)] = n;
		}
	}
	zk_free(s->buckets);
	s->buckets = b;
	s->n_buckets = nb;
	return 0;
}

static bool znode_expirable(const struct znode *n)
{
	enum store_kind kind = znode_kind_of_owner(n->owner);

	return kind == STORE_KIND_CONTAINER || kind == STORE_KIND_TTL;
}

/* Link @n under @parent (its owner already set); the caller reserved room (znode_reserve). */
void znode_link(struct store *s, struct znode *parent, struct znode *n)
{
	struct znode **bucket;

	n->parent = parent;
	n->hash = znode_hash(parent, n->name, n->name_len);
	bucket = &s->buckets[n->hash & (s->n_buckets - 1)];
	n->hnext = *bucket;
	*bucket = n;
	if (parent != NULL) {
		n->prev = NULL;
		n->next = parent->child;
		if (parent->child != NULL)
			parent->child->prev = n;
		parent->child = n;
		parent->num_children++;
	}
	s->n_nodes++;
	s->n_expirable += znode_expirable(n);
}

/* Unlink @n (a leaf) from its sibling list and the hash table; @n itself is not freed and
 * keeps its parent pointer (an undo relinks it there). */
void znode_unlink(struct store *s, struct znode *n)
{
	struct znode **pp = &s->buckets[n->hash & (s->n_buckets - 1)];

	while (*pp != n)
		pp = &(*pp)->hnext;
	*pp = n->hnext;
	n->hnext = NULL;
	if (n->prev != NULL)
		n->prev->next = n->next;
	else if (n->parent != NULL)
		n->parent->child = n->next;
	if (n->next != NULL)
		n->next->prev = n->prev;
	if (n->parent != NULL)
		n->parent->num_children--;
	n->next = n->prev = NULL;
	s->n_nodes--;
	s->n_expirable -= znode_expirable(n);
}

enum store_kind znode_kind_of_owner(int64_t owner)
{
	if (owner == 0)
		return STORE_KIND_PERSISTENT;
	if (owner == STORE_OWNER_CONTAINER)
		return STORE_KIND_CONTAINER;
	if ((owner & STORE_OWNER_TTL_BITS) == STORE_OWNER_TTL_BITS)
		return STORE_KIND_TTL;
	return STORE_KIND_EPHEMERAL;
}

/* ContainerManager's test for a TTL node: now - mtime > ttl, without signed overflow for
 * any clock values a txn or snapshot may carry. */
bool znode_ttl_expired(const struct znode *n, int64_t now_ms)
{
	int64_t elapsed;

	if (__builtin_sub_overflow(now_ms, n->mtime, &elapsed))
		return now_ms > n->mtime;
	return elapsed > (n->owner & STORE_OWNER_TTL_MASK);
}

enum store_kind znode_kind(const struct znode *n)
{
	return znode_kind_of_owner(n->owner);
}

/* The Stat a client sees (DataNode.copyStat): cversion = 2 * creates - numChildren (wrapping as
 * Java's int does), ephemeralOwner 0 for containers and TTL nodes. */
void znode_stat(const struct znode *n, struct zk_stat *st)
{
	st->czxid = n->czxid;
	st->mzxid = n->mzxid;
	st->pzxid = n->pzxid;
	st->ctime = n->ctime;
	st->mtime = n->mtime;
	st->version = n->version;
	st->cversion = (int32_t)((uint32_t)n->cversion * 2U - (uint32_t)n->num_children);
	st->aversion = n->aversion;
	st->ephemeral_owner = znode_kind(n) == STORE_KIND_EPHEMERAL ? n->owner : 0;
	st->data_length = n->data_len < 0 ? 0 : n->data_len;
	st->num_children = n->num_children;
}

/* Append @n's full path and a NUL to @out ("/" for the root). Iterative: a tree can be deeper
 * than the stack (a 1 MB path has up to 512k components). */
int znode_path(const struct znode *n, struct zk_buf *out)
{
	const struct znode *p;
	size_t len = 0, at;
	int rc;

	for (p = n; p->parent != NULL; p = p->parent)
		len += 1 + p->name_len;
	if (len == 0)
		len = 1;
	rc = zk_buf_reserve(out, len + 1);
	if (rc != 0)
		return rc;
	at = out->len + len;
	out->data[at] = '\0';
	out->data[out->len] = '/';
	for (p = n; p->parent != NULL; p = p->parent) {
		at -= p->name_len;
		memcpy(out->data + at, p->name, p->name_len);
		out->data[--at] = '/';
	}
	out->len += len + 1;
	return 0;
}

/* Depth-first, parents before children, without recursion (trees can be deep). Stops at the
 * first non-zero return of @cb and returns it. */
int znode_foreach_preorder(const struct store *s, int (*cb)(void *ctx, const struct znode *n),
			   void *ctx)
{
	const struct znode *n = s->root;
	int rc;

	while (n != NULL) {
		rc = cb(ctx, n);
		if (rc != 0)
			return rc;
		if (n->child != NULL) {
			n = n->child;
			continue;
		}
		while (n != NULL && n->next == NULL)
			n = n->parent;
		if (n != NULL)
			n = n->next;
	}
	return 0;
}

/* Free every node, leaves first, without recursion. */
void znode_free_tree(struct store *s)
{
	struct znode *n = s->root, *parent;

	while (n != NULL) {
		if (n->child != NULL) {
			n = n->child;
			continue;
		}
		parent = n->parent;
		if (parent != NULL)
			parent->child = n->next;
		znode_free(n);
		n = parent;
	}
	s->root = NULL;
	zk_free(s->buckets);
	s->buckets = NULL;
	s->n_buckets = 0;
	s->n_nodes = 0;
	s->n_expirable = 0;
}

/* ---- ACL table ------------------------------------------------------------------------- */

static uint64_t acl_hash(const struct store_acl *acl, int32_t n)
{
	uint64_t h = (uint64_t)n;
	int32_t i;
	const char *p;

	for (i = 0; i < n; i++) {
		h = store_mix64(h ^ (uint32_t)acl[i].perms);
		for (p = acl[i].scheme; *p != '\0'; p++)
			h = (h ^ (uint8_t)*p) * 0x100000001b3ULL;
		h = store_mix64(h ^ 0x3a);
		for (p = acl[i].id; *p != '\0'; p++)
			h = (h ^ (uint8_t)*p) * 0x100000001b3ULL;
	}
	return h;
}

static bool acl_equal(const struct store_acl_entry *e, const struct store_acl *acl, int32_t n)
{
	int32_t i;

	if (e->n != n)
		return false;
	for (i = 0; i < n; i++)
		if (e->acl[i].perms != acl[i].perms || strcmp(e->acl[i].scheme, acl[i].scheme) != 0 ||
		    strcmp(e->acl[i].id, acl[i].id) != 0)
			return false;
	return true;
}

static void acl_list_free(struct store_acl *acl, int32_t n)
{
	int32_t i;

	for (i = 0; i < n; i++) {
		zk_free(acl[i].scheme);
		zk_free(acl[i].id);
	}
	zk_free(acl);
}

static struct store_acl *acl_list_dup(const struct store_acl *acl, int32_t n)
{
	struct store_acl *copy = zk_calloc((size_t)n, sizeof(*copy));
	int32_t i;

	if (copy == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		copy[i].perms = acl[i].perms;
		copy[i].scheme = zk_strdup(acl[i].scheme);
		copy[i].id = zk_strdup(acl[i].id);
		if (copy[i].scheme == NULL || copy[i].id == NULL) {
			acl_list_free(copy, i + 1);
			return NULL;
		}
	}
	return copy;
}

/* Find or add @acl (n >= 1 entries) and take one reference on it. The table is small (distinct
 * ACL lists), so a linear scan by hash is enough. */
int store_acl_intern(struct store *s, const struct store_acl *acl, int32_t n, uint32_t *idx)
{
	uint64_t h = acl_hash(acl, n);
	uint32_t i, free_slot = UINT32_MAX;
	struct store_acl_entry *grown;

	for (i = 0; i < s->n_acls; i++) {
		if (s->acls[i].acl == NULL) {
			if (free_slot == UINT32_MAX)
				free_slot = i;
			continue;
		}
		if (s->acls[i].hash == h && acl_equal(&s->acls[i], acl, n)) {
			s->acls[i].refs++;
			*idx = i;
			return 0;
		}
	}
	if (free_slot == UINT32_MAX) {
		if (s->n_acls == s->cap_acls) {
			uint32_t cap = s->cap_acls ? s->cap_acls * 2 : 8;

			grown = zk_realloc(s->acls, cap * sizeof(*grown));
			if (grown == NULL)
				return -ENOMEM;
			s->acls = grown;
			s->cap_acls = cap;
		}
		free_slot = s->n_acls;
		s->acls[free_slot].acl = NULL;
	}
	s->acls[free_slot].acl = acl_list_dup(acl, n);
	if (s->acls[free_slot].acl == NULL)
		return -ENOMEM;
	if (free_slot == s->n_acls)
		s->n_acls++;
	s->acls[free_slot].n = n;
	s->acls[free_slot].refs = 1;
	s->acls[free_slot].hash = h;
	*idx = free_slot;
	return 0;
}

void store_acl_ref(struct store *s, uint32_t idx)
{
	s->acls[idx].refs++;
}

void store_acl_unref(struct store *s, uint32_t idx)
{
	struct store_acl_entry *e = &s->acls[idx];

	if (--e->refs > 0)
		return;
	acl_list_free(e->acl, e->n);
	e->acl = NULL;
	e->n = 0;
}

void store_acl_free_all(struct store *s)
{
	uint32_t i;

	for (i = 0; i < s->n_acls; i++)
		if (s->acls[i].acl != NULL)
			acl_list_free(s->acls[i].acl, s->acls[i].n);
	zk_free(s->acls);
	s->acls = NULL;
	s->n_acls = s->cap_acls = 0;
}
