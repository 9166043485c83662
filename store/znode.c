/* znode.c: the node tree (each parent hashes its children by name), the data room's blocks,
 * node paths and stats, and the interned ACL table. See store_int.h for the layout and the
 * counters. */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/zk_alloc.h"
#include "common/zk_hash.h"
#include "common/zk_log.h"
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

/* The keyed hash of a name given in two pieces (a sequential name is hashed before it is
 * built). Keyed per process: child names are the client's choice, and with the unkeyed FNV
 * 30,000 names precomputed once landed in one bucket on every server (creates 12.1 s instead
 * of 0.82 s). Bucket order is no replicated state: snapshots, digests and getChildren do not
 * depend on it. */
static uint32_t hash2(const char *a, size_t alen, const char *b, size_t blen)
{
	struct zk_hash h;

	zk_hash_init(&h, zk_hash_process_key());
	zk_hash_update(&h, a, alen);
	zk_hash_update(&h, b, blen);
	return (uint32_t)zk_hash_final(&h);
}

uint32_t znode_name_bucket(const struct znode_kids *k, const char *name)
{
	return hash2(name, strlen(name), "", 0) & k->mask;
}

/* Is @n's name the concatenation of @a and @b? */
static bool name_is(const struct znode *n, const char *a, size_t alen, const char *b, size_t blen)
{
	const char *name = znode_name(n);

	/* strncmp, not memcmp: @name may be shorter than @a and end its allocation. */
	return strncmp(name, a, alen) == 0 && strncmp(name + alen, b, blen) == 0 &&
	       name[alen + blen] == '\0';
}

/* The child named @a @b in the table @k (NULL: no children). */
static struct znode *kids_find(const struct znode_kids *k, const char *a, size_t alen,
			       const char *b, size_t blen)
{
	struct znode *n;

	if (k == NULL || k->num_children == 0)
		return NULL;
	for (n = k->bucket[hash2(a, alen, b, blen) & k->mask]; n != NULL; n = n->hnext)
		if (name_is(n, a, alen, b, blen))
			return n;
	return NULL;
}

struct znode *znode_lookup_child2(const struct znode *parent, const char *a, size_t alen,
				  const char *b, size_t blen)
{
	return kids_find(znode_kids(parent), a, alen, b, blen);
}

/* znode_lookup_child for a @parent whose name a path walk has just matched, so is known to be
 * @parent_len bytes: its room is found without measuring the name again. */
static struct znode *lookup_step(const struct znode *parent, size_t parent_len, const char *name,
				 size_t len)
{
	const struct znode_kids *k = NULL;

	if (parent->flags & ZNODE_KIDS)
		memcpy(&k, znode_name(parent) + parent_len + 1, sizeof(k));
	return kids_find(k, name, len, "", 0);
}

struct znode *znode_lookup_child(const struct znode *parent, const char *name, size_t len)
{
	return znode_lookup_child2(parent, name, len, "", 0);
}

struct znode *znode_lookup(const struct store *s, const char *path)
{
	struct znode *n = s->root;
	const char *p = path, *end;
	size_t len = 0; /* Of n's name. */

	if (path == NULL || path[0] != '/')
		return NULL;
	p++;
	while (*p != '\0' && n != NULL) {
		end = strchr(p, '/');
		if (end == NULL)
			end = p + strlen(p);
		if (end == p)
			return NULL; /* Empty component: "//" or a trailing '/'. */
		n = lookup_step(n, len, p, (size_t)(end - p));
		len = (size_t)(end - p);
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
	size_t len = 0; /* Of n's name. */

	if (path[0] != '/' || slash == NULL)
		return NULL;
	*name = slash + 1;
	while (p < slash && n != NULL) {
		end = memchr(p, '/', (size_t)(slash - p));
		if (end == NULL)
			end = slash;
		if (end == p)
			return NULL;
		n = lookup_step(n, len, p, (size_t)(end - p));
		len = (size_t)(end - p);
		p = end + 1;
	}
	return n;
}

/* A node named @name (@len bytes, no NUL inside) created with @data (@data_len bytes, -1 for
 * null data) by @owner (0: persistent), all in one allocation; every other field is zero.
 * Returns NULL when out of memory. */
struct znode *znode_new(const char *name, size_t len, int64_t owner, const uint8_t *data,
			int32_t data_len)
{
	size_t head = offsetof(struct znode, tail) +
		      (owner != 0 ? sizeof(int64_t) + sizeof(uint32_t) : 0);
	size_t dlen = data_len > 0 ? (size_t)data_len : 0, room = sizeof(struct znode_ext *);
	size_t size = head + len + 1 + (dlen > room ? dlen : room);
	struct znode *n = zk_malloc(size < sizeof(*n) ? sizeof(*n) : size);
	char *name_at;

	if (n == NULL)
		return NULL;
	memset(n, 0, sizeof(*n));
	if (owner != 0) {
		n->flags = ZNODE_OWNED;
		memcpy(n->tail, &owner, sizeof(owner));
	}
	name_at = (char *)n + head;
	memcpy(name_at, name, len);
	name_at[len] = '\0';
	if (dlen > 0)
		memcpy(name_at + len + 1, data, dlen);
	n->data_len = data_len < 0 ? -1 : data_len;
	return n;
}

void znode_free(struct znode *n)
{
	if (n == NULL)
		return;
	zk_free(znode_ext(n));
	zk_free(znode_kids(n));
	zk_free(n);
}

/* A data block holding @len bytes of @data (none when @len <= 0) with @mzxid, @mtime and
 * @aversion. Returns NULL when out of memory. */
struct znode_ext *znode_ext_new(int64_t mzxid, int64_t mtime, int32_t aversion,
				const uint8_t *data, int32_t len)
{
	size_t dlen = len > 0 ? (size_t)len : 0;
	struct znode_ext *e = zk_malloc(offsetof(struct znode_ext, data) + dlen);

	if (e == NULL)
		return NULL;
	e->mzxid = mzxid;
	e->mtime = mtime;
	e->aversion = aversion;
	if (dlen > 0)
		memcpy(e->data, data, dlen);
	return e;
}

/* Make @e (owned, may be NULL for a node with a children's table) where @n's data block goes. */
static void ext_install(struct znode *n, struct znode_ext *e)
{
	if (n->flags & ZNODE_KIDS) {
		znode_kids(n)->ext = e;
		return;
	}
	memcpy(znode_room(n), &e, sizeof(e));
	n->flags |= ZNODE_EXT;
}

/* Give @n a data block with what its implicit fields say (same data, mzxid, mtime, aversion 0),
 * if it has none: invisible to readers and never undone. Returns 0 or -ENOMEM (nothing
 * changed). */
int znode_ext_ensure(struct znode *n)
{
	struct znode_ext *e;

	if (znode_ext(n) != NULL)
		return 0;
	e = znode_ext_new(n->czxid, n->ctime, 0, znode_data(n), n->data_len);
	if (e == NULL)
		return -ENOMEM;
	ext_install(n, e);
	return 0;
}

/* Make @e (owned from now on) @n's data block; *@old keeps what it replaced. */
void znode_ext_swap(struct znode *n, struct znode_ext *e, struct znode_saved *old)
{
	old->kids = (n->flags & ZNODE_KIDS) != 0;
	old->ext = znode_ext(n);
	if (!old->kids && old->ext == NULL)
		memcpy(old->head, znode_room(n), sizeof(old->head));
	ext_install(n, e);
}

/* Undo a znode_ext_swap (and whatever followed it in the same txn, already undone): free the
 * current block, put back what @old kept. A children's table made after the swap is empty
 * again, with its implicit counters: it goes, so the creation data's head can come back. */
void znode_ext_restore(struct znode *n, const struct znode_saved *old)
{
	struct znode_kids *k = znode_kids(n);

	zk_free(znode_ext(n));
	if (k != NULL && (old->kids || old->ext != NULL)) {
		k->ext = old->ext;
		return;
	}
	if (k != NULL) {
		assert(k->num_children == 0);
		zk_free(k);
		n->flags &= ~ZNODE_KIDS;
	}
	if (old->ext != NULL) {
		ext_install(n, old->ext);
		return;
	}
	memcpy(znode_room(n), old->head, sizeof(old->head));
	n->flags &= ~ZNODE_EXT;
}

/* Commit a znode_ext_swap: free the replaced block, if it was one. */
void znode_ext_release(const struct znode_saved *old)
{
	zk_free(old->ext);
}

static struct znode_kids *kids_new(const struct znode *parent)
{
	struct znode_kids *k = zk_calloc(1, sizeof(*k) + 2 * sizeof(k->bucket[0]));

	if (k == NULL)
		return NULL;
	k->ext = znode_ext(parent);
	k->pzxid = parent->czxid;
	k->mask = 1;
	return k;
}

/* Double @k's buckets: each chain splits between bucket i and bucket i + old size. */
static struct znode_kids *kids_grow(struct znode_kids *k)
{
	uint32_t nb = k->mask + 1, i;
	struct znode_kids *g;
	struct znode *n, *next, **stay, **move;

	if (nb >= (1U << 30))
		return k; /* Longer chains from here on; numChildren is an int32 anyway. */
	g = zk_realloc(k, sizeof(*g) + 2 * (size_t)nb * sizeof(g->bucket[0]));
	if (g == NULL)
		return NULL;
	g->mask = 2 * nb - 1;
	for (i = 0; i < nb; i++) {
		n = g->bucket[i];
		stay = &g->bucket[i];
		move = &g->bucket[i + nb];
		*stay = *move = NULL;
		for (; n != NULL; n = next) {
			next = n->hnext;
			n->hnext = NULL;
			if (znode_name_bucket(g, znode_name(n)) == i) {
				*stay = n;
				stay = &n->hnext;
			} else {
				*move = n;
				move = &n->hnext;
			}
		}
	}
	return g;
}

/* Make room under @parent (NULL: the root is coming) for one more child, so that znode_link
 * cannot fail (keeps the load factor <= 1). A first child moves the parent's data block (made
 * from the creation data if need be) into the new children's table, whose pointer takes its
 * place in the room. Invisible to readers: a failure changes nothing they see.
 * Returns 0 or -ENOMEM. */
int znode_reserve(struct znode *parent)
{
	struct znode_kids *k;

	if (parent == NULL)
		return 0;
	k = znode_kids(parent);
	if (k == NULL) {
		if (parent->data_len > 0 && znode_ext_ensure(parent) != 0)
			return -ENOMEM;
		k = kids_new(parent);
		if (k == NULL)
			return -ENOMEM;
		memcpy(znode_room(parent), &k, sizeof(k));
		parent->flags = (parent->flags & ~ZNODE_EXT) | ZNODE_KIDS;
		return 0;
	}
	if ((uint32_t)k->num_children <= k->mask)
		return 0;
	k = kids_grow(k);
	if (k == NULL)
		return -ENOMEM;
	memcpy(znode_room(parent), &k, sizeof(k));
	return 0;
}

static bool znode_expirable(const struct znode *n)
{
	enum store_kind kind = znode_kind(n);

	return kind == STORE_KIND_CONTAINER || kind == STORE_KIND_TTL;
}

/* Link @n under @parent (NULL for the root); the caller reserved room (znode_reserve). */
void znode_link(struct store *s, struct znode *parent, struct znode *n)
{
	struct znode_kids *k;
	struct znode **bucket;

	n->parent = parent;
	if (parent != NULL) {
		k = znode_kids(parent);
		bucket = &k->bucket[znode_name_bucket(k, znode_name(n))];
		n->hnext = *bucket;
		*bucket = n;
		k->num_children++;
	}
	s->n_nodes++;
	s->n_expirable += znode_expirable(n);
}

/* Unlink @n (a leaf) from its parent's table; @n itself is not freed and keeps its parent
 * pointer (an undo relinks it there). */
void znode_unlink(struct store *s, struct znode *n)
{
	struct znode_kids *k;
	struct znode **pp;

	if (n->parent != NULL) {
		k = znode_kids(n->parent);
		pp = &k->bucket[znode_name_bucket(k, znode_name(n))];
		while (*pp != n)
			pp = &(*pp)->hnext;
		*pp = n->hnext;
		k->num_children--;
	}
	n->hnext = NULL;
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
	int64_t elapsed, mtime = znode_mtime(n);

	if (__builtin_sub_overflow(now_ms, mtime, &elapsed))
		return now_ms > mtime;
	return elapsed > (znode_owner(n) & STORE_OWNER_TTL_MASK);
}

enum store_kind znode_kind(const struct znode *n)
{
	return znode_kind_of_owner(znode_owner(n));
}

/* The Stat a client sees (DataNode.copyStat): cversion = 2 * creates - numChildren (wrapping as
 * Java's int does), ephemeralOwner 0 for containers and TTL nodes. */
void znode_stat(const struct znode *n, struct zk_stat *st)
{
	int64_t owner = znode_owner(n);
	struct znode_rare r;

	znode_rare_get(n, &r);
	st->czxid = n->czxid;
	st->mzxid = r.mzxid;
	st->pzxid = r.pzxid;
	st->ctime = n->ctime;
	st->mtime = r.mtime;
	st->version = n->version;
	st->num_children = r.num_children;
	st->cversion = (int32_t)((uint32_t)r.cversion * 2U - (uint32_t)r.num_children);
	st->aversion = r.aversion;
	st->ephemeral_owner = znode_kind_of_owner(owner) == STORE_KIND_EPHEMERAL ? owner : 0;
	st->data_length = n->data_len < 0 ? 0 : n->data_len;
}

/* Append @n's full path and a NUL to @out ("/" for the root). Iterative: a tree can be deeper
 * than the stack (a 1 MB path has up to 512k components). */
int znode_path(const struct znode *n, struct zk_buf *out)
{
	const struct znode *p;
	size_t len = 0, at, name_len;
	int rc;

	for (p = n; p->parent != NULL; p = p->parent)
		len += 1 + strlen(znode_name(p));
	if (len == 0)
		len = 1;
	rc = zk_buf_reserve(out, len + 1);
	if (rc != 0)
		return rc;
	at = out->len + len;
	out->data[at] = '\0';
	out->data[out->len] = '/';
	for (p = n; p->parent != NULL; p = p->parent) {
		name_len = strlen(znode_name(p));
		at -= name_len;
		memcpy(out->data + at, znode_name(p), name_len);
		out->data[--at] = '/';
	}
	out->len += len + 1;
	return 0;
}

/* @n's first child in bucket order, NULL when it has none. */
const struct znode *znode_first_child(const struct znode *n)
{
	const struct znode_kids *k = znode_kids(n);
	uint32_t i;

	if (k == NULL || k->num_children == 0)
		return NULL;
	for (i = 0; i <= k->mask; i++)
		if (k->bucket[i] != NULL)
			return k->bucket[i];
	return NULL;
}

/* The child of @c's parent after @c in bucket order, NULL after the last. */
const struct znode *znode_next_sibling(const struct znode *c)
{
	const struct znode_kids *k = znode_kids(c->parent);
	uint32_t i;

	if (c->hnext != NULL)
		return c->hnext;
	for (i = znode_name_bucket(k, znode_name(c)) + 1; i <= k->mask; i++)
		if (k->bucket[i] != NULL)
			return k->bucket[i];
	return NULL;
}

/* The node after @n in a depth-first walk (parents before children) of the subtree @top, NULL
 * at its end. Iterative: a tree can be deeper than the stack (a 1 MB path has up to 512k
 * components). */
const struct znode *znode_next_preorder(const struct znode *n, const struct znode *top)
{
	const struct znode *next = znode_first_child(n);

	while (next == NULL && n != top) {
		next = znode_next_sibling(n);
		n = n->parent;
	}
	return next;
}

/* One node's share of store_approximate_data_size, its path being @path_len bytes. */
static uint64_t data_size_of(const struct znode *n, size_t path_len)
{
	return (uint64_t)path_len + (uint64_t)(n->data_len > 0 ? n->data_len : 0);
}

/* Depth-first over node pointers, with the path length of each level on a stack (a path walk
 * per node made mntr quadratic in the depth: 11-14 s at depth 16,000). */
int store_approximate_data_size(const struct store *s, uint64_t *out)
{
	size_t depth = 0, cap = 64, *len = zk_malloc(cap * sizeof(*len)), *bigger;
	const struct znode *n = s->root, *next;
	uint64_t total = data_size_of(n, 1);

	if (len == NULL)
		return -ENOMEM;
	len[0] = 0; /* The root's children are "/" + name. */
	for (;;) {
		next = znode_first_child(n);
		if (next != NULL) {
			if (++depth == cap) {
				bigger = zk_realloc(len, 2 * cap * sizeof(*len));
				if (bigger == NULL) {
					zk_free(len);
					return -ENOMEM;
				}
				len = bigger;
				cap *= 2;
			}
		}
		while (next == NULL && depth > 0) {
			next = znode_next_sibling(n);
			if (next == NULL) {
				n = n->parent;
				depth--;
			}
		}
		if (next == NULL)
			break;
		n = next;
		len[depth] = len[depth - 1] + 1 + strlen(znode_name(n));
		total += data_size_of(n, len[depth]);
	}
	zk_free(len);
	*out = total;
	return 0;
}

/* Stops at the first non-zero return of @cb and returns it. */
int znode_foreach_preorder(const struct store *s, int (*cb)(void *ctx, const struct znode *n),
			   void *ctx)
{
	const struct znode *n;
	int rc;

	for (n = s->root; n != NULL; n = znode_next_preorder(n, s->root)) {
		rc = cb(ctx, n);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* Free every node, children first, without recursion: a node is freed once the walk leaves it,
 * and the next sibling is found before (bucket order only looks forward, at live nodes). */
void znode_free_tree(struct store *s)
{
	struct znode *n = s->root, *next, *first;

	while (n != NULL) {
		while ((first = (struct znode *)znode_first_child(n)) != NULL)
			n = first;
		for (;;) {
			next = n->parent != NULL ? (struct znode *)znode_next_sibling(n) : NULL;
			first = n->parent;
			znode_free(n);
			if (next != NULL || first == NULL)
				break;
			n = first; /* Its children are all freed: a leaf now. */
		}
		n = next;
	}
	s->root = NULL;
	s->n_nodes = 0;
	s->n_expirable = 0;
}

/* ---- ACL table ------------------------------------------------------------------------- */

void store_acl_hash_update(struct zk_hash *h, const struct store_acl *a)
{
	zk_hash_update(h, &a->perms, sizeof(a->perms));
	zk_hash_update(h, a->scheme, strlen(a->scheme) + 1);
	zk_hash_update(h, a->id, strlen(a->id) + 1);
}

static uint64_t acl_hash(const struct store_acl *acl, int32_t n)
{
	struct zk_hash h;

	zk_hash_init(&h, zk_hash_process_key());
	for (int32_t i = 0; i < n; i++)
		store_acl_hash_update(&h, &acl[i]);
	return zk_hash_final(&h);
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
 * ACL lists), so a linear scan by hash is enough. -ENOMEM also when the table already holds
 * STORE_ACL_MAX lists (logged). */
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
		if (s->n_acls == STORE_ACL_MAX) {
			zk_log_warn("store: %u distinct ACL lists, as many as a node's index holds",
				    STORE_ACL_MAX);
			return -ENOMEM;
		}
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
