/* inode: the node table of the mount (see inode.h for the states and invariants).
 * Two binary trees (tsearch): node id -> node, and key -> LIVE/PENDING node. */
#include "fuse/inode.h"

#include "fuse/expect.h"

#include <errno.h>
#include <pthread.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuse/names.h"

static pthread_mutex_t table_mu = PTHREAD_MUTEX_INITIALIZER;
static void *by_id;	    /* tsearch tree of struct node *, ordered by id. */
static void *by_key;	    /* tsearch tree of LIVE/PENDING nodes, ordered by key. */
static fuse_ino_t next_id = FUSE_ROOT_ID;

void inode_lock(void)
{
	pthread_mutex_lock(&table_mu);
}

void inode_unlock(void)
{
	pthread_mutex_unlock(&table_mu);
}

static int cmp_id(const void *a, const void *b)
{
	fuse_ino_t x = ((const struct node *)a)->id, y = ((const struct node *)b)->id;

	return x < y ? -1 : x > y;
}

static int cmp_key(const void *a, const void *b)
{
	return strcmp(((const struct node *)a)->key, ((const struct node *)b)->key);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_children(struct node *n)
{
	int i;

	for (i = 0; i < n->nchildren; i++)
		free(n->children[i]);
	free(n->children);
	n->children = NULL;
	n->nchildren = 0;
	n->have_children = false;
	n->children_fresh = false;
}

static void node_free(struct node *n)
{
	int i;

	tdelete(n, &by_id, cmp_id);
	free_children(n);
	for (i = 0; i < n->npolls; i++)
		fuse_pollhandle_destroy(n->polls[i]);
	free(n->polls);
	expect_clear(&n->expects);
	free(n->data);
	free(n->key);
	free(n->path);
	free(n);
}

/* Free @n when no kernel reference, open handle or path map entry holds it. */
static void maybe_free(struct node *n)
{
	if (n->id != FUSE_ROOT_ID && n->nlookup == 0 && n->opens == 0 && n->state == NODE_STALE)
		node_free(n);
}

static char *make_key(const char *path, bool data_file)
{
	size_t len = strlen(path) + sizeof("/" NAMES_DATA_FILE);
	char *key = malloc(len);

	if (key)
		snprintf(key, len, "%s%s", path, data_file ? "/" NAMES_DATA_FILE : "");
	return key;
}

struct node *inode_get(fuse_ino_t id)
{
	struct node probe = {.id = id};
	void **hit = tfind(&probe, &by_id, cmp_id);

	return hit ? *(struct node **)hit : NULL;
}

struct node *inode_find(const char *path, bool data_file)
{
	char *key = make_key(path, data_file);
	struct node probe;
	void **hit;

	if (!key)
		return NULL;
	probe.key = key;
	hit = tfind(&probe, &by_key, cmp_key);
	free(key);
	return hit ? *(struct node **)hit : NULL;
}

struct node *inode_find_parent(const char *path)
{
	char dir[NAMES_PATH_MAX + 1];

	if (names_dirname(path, dir, sizeof(dir)) != 0)
		return NULL;
	return inode_find(dir, false);
}

static void unmap(struct node *n)
{
	void **hit = tfind(n, &by_key, cmp_key);

	if (hit && *(struct node **)hit == n)
		tdelete(n, &by_key, cmp_key);
}

/* Put @n in the path map, marking stale whatever held its key. */
static int map(struct node *n)
{
	void **slot = tsearch(n, &by_key, cmp_key);
	struct node *old;

	if (!slot)
		return -ENOMEM;
	old = *(struct node **)slot;
	if (old != n) {
		tdelete(old, &by_key, cmp_key);
		old->state = NODE_STALE;
		maybe_free(old);
		if (!tsearch(n, &by_key, cmp_key))
			return -ENOMEM;
	}
	return 0;
}

struct node *inode_new(const char *path, mode_t kind, bool data_file, enum node_state state,
		       bool map_it)
{
	struct node *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->path = strdup(path);
	n->key = make_key(path, data_file);
	if (!n->path || !n->key)
		goto err_after_alloc;
	n->id = next_id++;
	n->told_mzxid = -1;
	n->kind = kind;
	n->data_file = data_file;
	n->state = state;
	if (!tsearch(n, &by_id, cmp_id))
		goto err_after_alloc;
	if (state != NODE_STALE && map_it && map(n) != 0) {
		tdelete(n, &by_id, cmp_id);
		goto err_after_alloc;
	}
	return n;

err_after_alloc:
	free(n->key);
	free(n->path);
	free(n);
	return NULL;
}

int inode_init(void)
{
	struct node *root;

	inode_lock();
	root = inode_new("/", S_IFDIR, false, NODE_LIVE, true);
	inode_unlock();
	return root ? 0 : -ENOMEM;
}

static void keep_node(void *node)
{
	(void)node; /* The path map does not own its nodes; by_id's walk frees them. */
}

void inode_shutdown(void)
{
	inode_lock();
	tdestroy(by_key, keep_node);
	by_key = NULL;
	while (by_id)
		node_free(*(struct node **)by_id);
	next_id = FUSE_ROOT_ID; /* A new table starts with the root again. */
	inode_unlock();
}

void inode_mark_stale(struct node *n)
{
	if (n->state == NODE_STALE)
		return;
	unmap(n);
	n->state = NODE_STALE;
	maybe_free(n);
}

int inode_realize(struct node *n, const char *real_path)
{
	char *path = strdup(real_path);
	char *key = make_key(real_path, n->data_file);

	if (!path || !key) {
		free(path);
		free(key);
		return -ENOMEM;
	}
	unmap(n);
	free(n->path);
	free(n->key);
	n->path = path;
	n->key = key;
	n->state = NODE_LIVE;
	return map(n);
}

int inode_set_stat(struct node *n, const struct Stat *st, const char *data, int len, uint64_t gen)
{
	/* Reads answered before a write may complete after it: never go back in time. */
	if (n->told_mzxid >= 0 && n->stat.czxid == st->czxid && st->mzxid < n->stat.mzxid &&
	    n->cache_gen == gen)
		return 0;
	if (data || len == 0) {
		char *copy = NULL;

		if (len > 0) {
			copy = malloc((size_t)len);
			if (!copy)
				return -ENOMEM;
			memcpy(copy, data, (size_t)len);
		}
		free(n->data);
		n->data = copy;
		n->data_len = len;
	}
	n->stat = *st;
	if (n->told_mzxid < 0)
		n->told_mzxid = st->mzxid;
	n->have_stat = true;
	n->cache_gen = gen;
	return 0;
}

int inode_set_children(struct node *n, const struct String_vector *kids, uint64_t gen)
{
	char **names = calloc((size_t)kids->count + 1, sizeof(*names));
	int32_t i;

	if (!names)
		return -ENOMEM;
	for (i = 0; i < kids->count; i++) {
		names[i] = strdup(kids->data[i]);
		if (!names[i]) {
			while (i-- > 0)
				free(names[i]);
			free(names);
			return -ENOMEM;
		}
	}
	qsort(names, (size_t)kids->count, sizeof(*names), cmp_str);
	free_children(n);
	n->children = names;
	n->nchildren = kids->count;
	n->have_children = true;
	n->children_fresh = true;
	n->cache_gen = gen;
	return 0;
}

void inode_drop_cache(struct node *n, bool children)
{
	n->have_stat = false;
	if (children)
		free_children(n);
}

bool inode_child_has(const struct node *n, const char *name)
{
	return n->have_children && n->nchildren > 0 &&
	       bsearch(&name, n->children, (size_t)n->nchildren, sizeof(char *), cmp_str) != NULL;
}

void inode_child_add(struct node *n, const char *name)
{
	char **grown;
	char *copy;

	if (!n->have_children || inode_child_has(n, name))
		return;
	copy = strdup(name);
	grown = realloc(n->children, ((size_t)n->nchildren + 2) * sizeof(char *));
	if (!copy || !grown) {
		/* Out of memory: forget the list; the next reader fetches it again. */
		free(copy);
		if (grown)
			n->children = grown;
		free_children(n);
		return;
	}
	n->children = grown;
	n->children[n->nchildren++] = copy;
	qsort(n->children, (size_t)n->nchildren, sizeof(char *), cmp_str);
}

void inode_child_remove(struct node *n, const char *name)
{
	char **hit;
	size_t at;

	if (!n->have_children || n->nchildren == 0)
		return;
	hit = bsearch(&name, n->children, (size_t)n->nchildren, sizeof(char *), cmp_str);
	if (!hit)
		return;
	at = (size_t)(hit - n->children);
	free(*hit);
	memmove(hit, hit + 1, ((size_t)n->nchildren - at - 1) * sizeof(char *));
	n->nchildren--;
}

void inode_release_unused(struct node *n)
{
	maybe_free(n);
}

void inode_ref(struct node *n)
{
	n->nlookup++;
}

void inode_forget(struct node *n, uint64_t count)
{
	n->nlookup = count > n->nlookup ? 0 : n->nlookup - count;
	maybe_free(n);
}

void inode_close(struct node *n)
{
	n->opens--;
	maybe_free(n);
}

void inode_add_poll(struct node *n, struct fuse_pollhandle *ph)
{
	struct fuse_pollhandle **grown = realloc(n->polls, ((size_t)n->npolls + 1) * sizeof(*grown));

	if (!grown) {
		fuse_pollhandle_destroy(ph);
		return;
	}
	n->polls = grown;
	n->polls[n->npolls++] = ph;
}

void inode_wake_polls(struct node *n)
{
	int i;

	for (i = 0; i < n->npolls; i++) {
		fuse_lowlevel_notify_poll(n->polls[i]);
		fuse_pollhandle_destroy(n->polls[i]);
	}
	free(n->polls);
	n->polls = NULL;
	n->npolls = 0;
}

mode_t inode_kind_of(const struct Stat *st)
{
	if (st->numChildren > 0)
		return S_IFDIR;
	if (st->ephemeralOwner != 0 || st->dataLength > 0 || st->version > 0)
		return S_IFREG;
	return S_IFDIR; /* Never written and empty: made by mkdir or as a parent. */
}

uint64_t inode_number(const char *path, int64_t czxid, bool data_file)
{
	/* FNV-1a over the path, mixed with the czxid (nodes of one multi share a czxid). */
	uint64_t h = 1469598103934665603ULL;
	const unsigned char *p;

	for (p = (const unsigned char *)path; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	h ^= (uint64_t)czxid * 0x9E3779B97F4A7C15ULL;
	h ^= data_file ? 0x5bd1e995ULL : 0;
	return h ? h : 1;
}

static void (*each_fn)(struct node *n, void *arg);
static void *each_arg;

static void each_action(const void *nodep, VISIT which, int depth)
{
	(void)depth;
	if (which == postorder || which == leaf)
		each_fn(*(struct node *const *)nodep, each_arg);
}

void inode_each_live(void (*fn)(struct node *n, void *arg), void *arg)
{
	each_fn = fn;
	each_arg = arg;
	twalk(by_key, each_action);
}
