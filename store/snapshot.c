/* snapshot.c: store_snapshot_write / store_snapshot_load.
 *
 * The image (format 1, all integers big-endian):
 *   "ZKFSSNP1"                          8 bytes of magic
 *   { u32 length, SnapHeader }          proto/store.proto messages, each preceded by its length,
 *   { u32 length, SnapAcl } x n_acls    in this order
 *   { u32 length, SnapSession } x n_sessions
 *   { u32 length, SnapNode } x n_nodes  parents before children, "/" first
 *   u32 CRC32C of every byte before it
 * is written compressed, in snapshot_zstd.c's envelope (with its own CRC32C, checked before
 * decompressing): the image goes through a small staging buffer into the compressor, so the
 * writer never holds the raw image whole. A snapshot written before compression (the bare
 * image, stored by older zkfsd) still loads. Loading checks the CRC first, then builds a whole
 * new store and only swaps it in when every record was valid, so a failed load leaves the store
 * as it was. */
#include <errno.h>
#include <string.h>

#include "common/zk_alloc.h"
#include "common/zk_buf.h"
#include "common/zk_log.h"
#include "proto/store.pb-c.h"
#include "store/store_int.h"

#define SNAP_MAGIC "ZKFSSNP1"
#define SNAP_MAGIC_LEN 8
#define SNAP_FORMAT 1

/* ---- write ------------------------------------------------------------------------------- */

/* Append one length-prefixed message whose encoding takes at most @max bytes: packed straight
 * into the room reserved for it, then its length written in front. */
static int put_packed(struct zk_buf *out, const ProtobufCMessage *m, size_t max)
{
	size_t size;
	int rc;

	if (max > UINT32_MAX)
		return -ENOMEM;
	rc = zk_buf_reserve(out, 4 + max);
	if (rc != 0)
		return rc;
	size = protobuf_c_message_pack(m, out->data + out->len + 4);
	zk_buf_append_be32(out, (uint32_t)size);
	out->len += size;
	return 0;
}

static int put_msg(struct zk_buf *out, const ProtobufCMessage *m)
{
	return put_packed(out, m, protobuf_c_message_get_packed_size(m));
}

/* Most bytes a SnapNode takes beyond its path and data: two length-delimited fields (tag and
 * a length varint of at most 5 bytes each), acl (1 + 5), six int64 (1 + 10 each), three
 * sint32 (1 + 5 each) and data_null (1 + 1). Nodes are most of a snapshot, which is written
 * on the loop thread: this bound spares them protobuf_c_message_get_packed_size's second
 * walk of each message. */
#define SNAP_NODE_FIXED_MAX (2 * 6 + 6 + 6 * 11 + 3 * 6 + 2)

/* The image is handed to the compressor in pieces of about this size. */
#define SNAP_CHUNK (256 * 1024)

struct write_ctx {
	const struct store *s;
	struct zk_buf stage;	 /* The image's next bytes, not compressed yet. */
	struct store_snapz z;
	uint32_t crc;		 /* CRC32C of the image bytes already compressed. */
	struct zk_buf path;
	uint32_t *acl_map; /* Store ACL index -> snapshot ACL index. */
};

/* Compress what is staged once it is a chunk (@last: all of it, ending the image). */
static int stage_flush(struct write_ctx *w, bool last)
{
	int rc;

	if (!last && w->stage.len < SNAP_CHUNK)
		return 0;
	w->crc = store_crc32c(w->crc, w->stage.data, w->stage.len);
	rc = store_snapz_feed(&w->z, w->stage.data, w->stage.len, last);
	zk_buf_reset(&w->stage);
	return rc;
}

static int write_node(void *ctx, const struct znode *n)
{
	struct write_ctx *w = ctx;
	SnapNode m = SNAP_NODE__INIT;
	struct znode_rare r;
	int rc;

	zk_buf_reset(&w->path);
	rc = znode_path(n, &w->path);
	if (rc != 0)
		return rc;
	m.path = (char *)w->path.data;
	m.data.len = n->data_len > 0 ? (size_t)n->data_len : 0;
	m.data.data = (uint8_t *)znode_data(n);
	m.data_null = n->data_len < 0;
	m.acl = w->acl_map[n->acl];
	znode_rare_get(n, &r);
	m.czxid = n->czxid;
	m.mzxid = r.mzxid;
	m.pzxid = r.pzxid;
	m.ctime = n->ctime;
	m.mtime = r.mtime;
	m.version = n->version;
	m.cversion = r.cversion;
	m.aversion = r.aversion;
	m.owner = znode_owner(n);
	rc = put_packed(&w->stage, &m.base, w->path.len + m.data.len + SNAP_NODE_FIXED_MAX);
	return rc == 0 ? stage_flush(w, false) : rc;
}

static int write_acls(struct write_ctx *w, uint32_t *n_live)
{
	const struct store *s = w->s;
	SnapAcl m;
	StoreAcl *entries, **ptrs;
	uint32_t i;
	int32_t j;
	int rc = 0;

	for (i = 0; i < s->n_acls && rc == 0; i++) {
		const struct store_acl_entry *e = &s->acls[i];

		if (e->acl == NULL)
			continue;
		entries = zk_calloc((size_t)e->n, sizeof(*entries));
		ptrs = zk_calloc((size_t)e->n, sizeof(*ptrs));
		if (entries == NULL || ptrs == NULL)
			rc = -ENOMEM;
		for (j = 0; rc == 0 && j < e->n; j++) {
			store_acl__init(&entries[j]);
			entries[j].perms = e->acl[j].perms;
			entries[j].scheme = e->acl[j].scheme;
			entries[j].id = e->acl[j].id;
			ptrs[j] = &entries[j];
		}
		if (rc == 0) {
			snap_acl__init(&m);
			m.n_entries = (size_t)e->n;
			m.entries = ptrs;
			rc = put_msg(&w->stage, &m.base);
			w->acl_map[i] = (*n_live)++;
		}
		zk_free(entries);
		zk_free(ptrs);
	}
	return rc;
}

static int write_sessions(struct write_ctx *w)
{
	const struct store *s = w->s;
	const struct store_session *ss;
	SnapSession m;
	uint32_t i;
	int rc = 0;

	for (i = 0; i < s->n_sbuckets && rc == 0; i++) {
		for (ss = s->sbuckets[i]; ss != NULL && rc == 0; ss = ss->hnext) {
			snap_session__init(&m);
			m.id = ss->id;
			m.timeout_ms = ss->timeout_ms;
			m.passwd.len = ZK_SESSION_PASSWD_LEN;
			m.passwd.data = (uint8_t *)ss->passwd;
			rc = put_msg(&w->stage, &m.base);
		}
	}
	return rc;
}

static uint32_t live_acls(const struct store *s)
{
	uint32_t i, n = 0;

	for (i = 0; i < s->n_acls; i++)
		n += s->acls[i].acl != NULL;
	return n;
}

/* The image, through the staging buffer, ended by its CRC. */
static int write_image(struct write_ctx *w)
{
	const struct store *s = w->s;
	SnapHeader h = SNAP_HEADER__INIT;
	uint32_t n_live = 0;
	int rc;

	h.format = SNAP_FORMAT;
	h.last_zxid = s->last_zxid;
	h.n_nodes = s->n_nodes;
	h.n_acls = live_acls(s);
	h.n_sessions = s->n_sessions;
	rc = zk_buf_append(&w->stage, SNAP_MAGIC, SNAP_MAGIC_LEN);
	if (rc == 0)
		rc = put_msg(&w->stage, &h.base);
	if (rc == 0)
		rc = write_acls(w, &n_live);
	if (rc == 0)
		rc = write_sessions(w);
	if (rc == 0)
		rc = znode_foreach_preorder(s, write_node, w);
	if (rc == 0)
		rc = zk_buf_append_be32(&w->stage, store_crc32c(w->crc, w->stage.data, w->stage.len));
	return rc == 0 ? stage_flush(w, true) : rc;
}

int store_snapshot_write(const struct store *s, struct zk_buf *out)
{
	struct write_ctx w = {.s = s};
	size_t start = out->len;
	int rc;

	w.acl_map = zk_calloc(s->n_acls + 1, sizeof(*w.acl_map));
	if (w.acl_map == NULL)
		return -ENOMEM;
	zk_buf_init(&w.path);
	zk_buf_init(&w.stage);
	rc = store_snapz_begin(&w.z, out);
	if (rc == 0) {
		rc = write_image(&w);
		store_snapz_end(&w.z);
	}
	if (rc != 0)
		out->len = start;
	zk_buf_close(&w.stage);
	zk_buf_close(&w.path);
	zk_free(w.acl_map);
	return rc;
}

/* ---- load -------------------------------------------------------------------------------- */

struct reader {
	const uint8_t *p;
	size_t len, pos;
	struct store_pb_allocator pa;
};

/* Unpack the next length-prefixed message of @desc. */
static int get_msg(struct reader *r, const ProtobufCMessageDescriptor *desc, ProtobufCMessage **m)
{
	uint32_t size;

	if (r->len - r->pos < 4)
		return ZK_CORRUPT();
	size = zk_get_be32(r->p + r->pos);
	if (size > r->len - r->pos - 4)
		return ZK_CORRUPT();
	*m = protobuf_c_message_unpack(desc, store_pb_allocator_init(&r->pa), size,
				       r->p + r->pos + 4);
	if (*m == NULL)
		return r->pa.failed ? -ENOMEM : ZK_CORRUPT();
	r->pos += 4 + size;
	return 0;
}

static void free_msg(struct reader *r, ProtobufCMessage *m)
{
	protobuf_c_message_free_unpacked(m, &r->pa.a);
}

static int load_acl(struct reader *r, struct store *t, uint32_t expect)
{
	ProtobufCMessage *pm;
	SnapAcl *m;
	struct store_acl *acl;
	uint32_t idx;
	size_t i;
	int rc = get_msg(r, &snap_acl__descriptor, &pm);

	if (rc != 0)
		return rc;
	m = (SnapAcl *)pm;
	acl = zk_calloc(m->n_entries + 1, sizeof(*acl));
	if (acl == NULL) {
		free_msg(r, pm);
		return -ENOMEM;
	}
	for (i = 0; i < m->n_entries; i++) {
		acl[i].perms = m->entries[i]->perms;
		acl[i].scheme = m->entries[i]->scheme;
		acl[i].id = m->entries[i]->id;
	}
	if (m->n_entries == 0 || m->n_entries > INT32_MAX)
		rc = ZK_CORRUPT();
	else
		rc = store_acl_intern(t, acl, (int32_t)m->n_entries, &idx);
	/* Two equal lists in one snapshot were interned once: the writer never does that. */
	if (rc == 0 && idx != expect)
		rc = ZK_CORRUPT();
	if (rc == 0)
		t->acls[idx].refs = 0;
	zk_free(acl);
	free_msg(r, pm);
	return rc;
}

static int load_session(struct reader *r, struct store *t)
{
	ProtobufCMessage *pm;
	SnapSession *m;
	struct store_session *ss = NULL;
	int rc = get_msg(r, &snap_session__descriptor, &pm);

	if (rc != 0)
		return rc;
	m = (SnapSession *)pm;
	if (m->id == 0 || m->passwd.len != ZK_SESSION_PASSWD_LEN || store_sess_find(t, m->id) != NULL)
		rc = ZK_CORRUPT();
	else if (store_sess_reserve(t) != 0 || (ss = store_sess_new(m->id)) == NULL)
		rc = -ENOMEM;
	if (rc == 0) {
		ss->timeout_ms = m->timeout_ms;
		memcpy(ss->passwd, m->passwd.data, ZK_SESSION_PASSWD_LEN);
		store_sess_insert(t, ss);
	}
	free_msg(r, pm);
	return rc;
}

/* Does @m need a data block (store_int.h): mzxid, mtime or aversion not the implicit ones? */
static bool msg_needs_ext(const SnapNode *m)
{
	return m->mzxid != m->czxid || m->mtime != m->ctime || m->aversion != 0;
}

/* The parts of @n that the compact layout keeps apart (store_int.h): the children's counters
 * when they are not the implicit ones, the data with mzxid, mtime and aversion when they are
 * not. @n's czxid and ctime are set. Returns 0 or -ENOMEM (the caller frees @n). */
static int node_set_rare(struct znode *n, const SnapNode *m)
{
	int32_t len = m->data_null ? -1 : (int32_t)m->data.len;
	struct znode_ext *ext;
	struct znode_kids *k;
	struct znode_saved empty;

	if (msg_needs_ext(m)) {
		ext = znode_ext_new(m->mzxid, m->mtime, m->aversion, m->data.data, len);
		if (ext == NULL)
			return -ENOMEM;
		znode_ext_swap(n, ext, &empty); /* Replaces an empty room: nothing to release. */
	}
	if ((m->pzxid != m->czxid || m->cversion != 0) && znode_reserve(n) != 0)
		return -ENOMEM;
	k = znode_kids(n);
	if (k != NULL) {
		k->pzxid = m->pzxid;
		k->cversion = m->cversion;
	}
	return 0;
}

/* Fill a new node from @m; its parent must already be loaded. */
static int node_from_msg(struct store *t, const SnapNode *m, struct znode **out)
{
	const char *name;
	struct znode *parent = NULL, *n;
	bool root = strcmp(m->path, "/") == 0, inline_data = !msg_needs_ext(m);

	if (root != (t->root == NULL) || m->acl >= t->n_acls || m->data.len > INT32_MAX ||
	    (m->data_null && m->data.len > 0))
		return ZK_CORRUPT();
	if (!root) {
		parent = znode_lookup_parent(t, m->path, &name);
		if (parent == NULL || *name == '\0' ||
		    znode_lookup_child(parent, name, strlen(name)) != NULL ||
		    znode_kind(parent) == STORE_KIND_EPHEMERAL)
			return ZK_CORRUPT();
	} else {
		name = "";
	}
	n = znode_new(name, strlen(name), m->owner, inline_data ? m->data.data : NULL,
		      inline_data ? (int32_t)m->data.len : 0);
	if (n != NULL) {
		n->czxid = m->czxid;
		n->ctime = m->ctime;
	}
	if (n == NULL || node_set_rare(n, m) != 0 || znode_reserve(parent) != 0) {
		znode_free(n);
		return -ENOMEM;
	}
	n->data_len = m->data_null ? -1 : (int32_t)m->data.len;
	n->parent = parent;
	*out = n;
	return 0;
}

static int load_node(struct reader *r, struct store *t)
{
	ProtobufCMessage *pm;
	SnapNode *m;
	struct znode *n = NULL;
	struct store_session *ss = NULL;
	int rc = get_msg(r, &snap_node__descriptor, &pm);

	if (rc != 0)
		return rc;
	m = (SnapNode *)pm;
	rc = node_from_msg(t, m, &n);
	if (rc == 0 && znode_kind_of_owner(m->owner) == STORE_KIND_EPHEMERAL) {
		ss = store_sess_find(t, m->owner);
		rc = ss == NULL ? ZK_CORRUPT() : store_sess_eph_reserve(ss);
	}
	if (rc == 0 && (m->czxid > m->mzxid || m->czxid > m->pzxid))
		rc = ZK_CORRUPT();
	if (rc != 0) {
		znode_free(n);
		free_msg(r, pm);
		return rc;
	}
	n->version = m->version;
	n->acl = m->acl;
	t->acls[m->acl].refs++;
	znode_link(t, n->parent, n);
	if (n->parent == NULL)
		t->root = n;
	if (ss != NULL)
		store_sess_eph_add(ss, n);
	free_msg(r, pm);
	return 0;
}

static int load_header(struct reader *r, SnapHeader **h)
{
	ProtobufCMessage *pm;
	int rc;

	if (r->len < SNAP_MAGIC_LEN + 4 || memcmp(r->p, SNAP_MAGIC, SNAP_MAGIC_LEN) != 0 ||
	    zk_get_be32(r->p + r->len - 4) != store_crc32c(0, r->p, r->len - 4))
		return ZK_CORRUPT();
	r->len -= 4;
	r->pos = SNAP_MAGIC_LEN;
	rc = get_msg(r, &snap_header__descriptor, &pm);
	if (rc != 0)
		return rc;
	*h = (SnapHeader *)pm;
	if ((*h)->format != SNAP_FORMAT || (*h)->n_nodes < 1) {
		free_msg(r, pm);
		return ZK_CORRUPT();
	}
	return 0;
}

/* Build the snapshot's content into @t (an empty store). */
static int load_into(struct reader *r, struct store *t)
{
	SnapHeader *h = NULL;
	uint64_t i;
	int rc = load_header(r, &h);

	if (rc != 0)
		return rc;
	t->last_zxid = h->last_zxid;
	for (i = 0; rc == 0 && i < h->n_acls; i++)
		rc = load_acl(r, t, (uint32_t)i);
	for (i = 0; rc == 0 && i < h->n_sessions; i++)
		rc = load_session(r, t);
	for (i = 0; rc == 0 && i < h->n_nodes; i++)
		rc = load_node(r, t);
	if (rc == 0 && r->pos != r->len)
		rc = ZK_CORRUPT();
	free_msg(r, &h->base);
	/* Every ACL list must be used (the writer only writes live ones). */
	for (i = 0; rc == 0 && i < t->n_acls; i++)
		if (t->acls[i].refs == 0)
			rc = ZK_CORRUPT();
	/* DataTree.deserialize ends with setupQuota: the stats are recomputed. */
	if (rc == 0)
		rc = store_quota_rebuild(t);
	if (rc == 0)
		t->digest_sum = store_digest_sum(t);
	return rc == 0 ? store_check_invariants(t, false) : rc;
}

/* Empty the tree, ACL table and sessions of @s (before a load swaps new ones in). */
static void store_clear(struct store *s)
{
	znode_free_tree(s);
	store_acl_free_all(s);
	store_sess_free_all(s);
	store_quota_free_all(s);
}

/* Load the bare image (format 1) at @p. */
static int load_image(struct store *s, const void *p, size_t len)
{
	struct reader r = {.p = p, .len = len};
	struct store *t = zk_calloc(1, sizeof(*t));
	int rc;

	if (t == NULL)
		return -ENOMEM;
	rc = load_into(&r, t);
	if (rc != 0) {
		store_clear(t);
		zk_free(t);
		return rc;
	}
	store_clear(s);
	t->cfg = s->cfg;
	t->cb = s->cb;
	t->cb_ctx = s->cb_ctx;
	*s = *t;
	zk_free(t);
	return 0;
}

int store_snapshot_load(struct store *s, const void *p, size_t len)
{
	uint8_t *raw;
	size_t raw_len;
	int rc;

	if (!store_snapz_is(p, len))
		return load_image(s, p, len); /* Written before compression. */
	rc = store_snapz_open(p, len, &raw, &raw_len);
	if (rc != 0)
		return rc;
	rc = load_image(s, raw, raw_len);
	zk_free(raw);
	return rc;
}
