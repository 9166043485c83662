/* fs_rename: rename of a leaf node as one multi -- delete the target (at its version) when it
 * is replaced, create the new name with the data and mode, delete the old name at its version
 * -- so another client sees both names change at once or not at all. A directory (a node with
 * children, or never written) is answered EXDEV: `mv` then copies and deletes, visibly, node
 * by node. An ephemeral stays one of this session; another session's is refused (EPERM). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/zk_log.h"
#include "fuse/events.h"
#include "fuse/fs_int.h"
#include "fuse/names.h"

/* The create mode that keeps @st's node what it is, or -EPERM (another session's ephemeral). */
static int rename_mode(const char *from, const struct Stat *st)
{
	if (!st->ephemeralOwner)
		return ZOO_PERSISTENT;
	if (st->ephemeralOwner == zkconn_session_id(zkfs->zk))
		return ZOO_EPHEMERAL;
	zk_log_info("rename %s refused: an ephemeral node of another session", from);
	return -EPERM;
}

/* The operation deleting the target @to when it exists (*count grows), or -errno. */
static int rename_target(const char *to, bool noreplace, struct call *call,
			 struct zkconn_op *ops, int *count)
{
	struct Stat st;
	int rc = zkconn_exists(zkfs->zk, &call->cancel, to, &st);

	if (rc == -ENOENT)
		return 0;
	if (rc)
		return rc;
	if (noreplace)
		return -EEXIST;
	if (inode_kind_of(&st) == S_IFDIR)
		return -EISDIR;
	ops[(*count)++] = (struct zkconn_op){ZKCONN_OP_DELETE, to, NULL, 0, st.version};
	return 0;
}

/* After the multi: the kernel moved its dentry to @to, so the node it names moves there too;
 * a node cached at @to is replaced. */
static void renamed(const char *from, const char *to)
{
	struct node *n;

	inode_lock();
	n = inode_find(to, false);
	if (n)
		inode_mark_stale(n);
	fs_parent_child_update(from, false);
	fs_parent_child_update(to, true);
	n = inode_find(from, false);
	if (n && inode_realize(n, to) == 0)
		inode_drop_cache(n, true); /* A new znode: its Stat is read again. */
	else if (n)
		inode_mark_stale(n);
	inode_unlock();
}

/* One attempt: read the source, build the multi, send it. */
static int rename_once(const char *from, const char *to, bool noreplace, struct call *call)
{
	struct zkconn_op ops[ZKCONN_MULTI_MAX];
	char *data = NULL;
	struct Stat st;
	int len = 0, count = 0, mode, rc;

	rc = zkconn_get(zkfs->zk, &call->cancel, from, false, &data, &len, &st);
	if (rc)
		return rc;
	if (inode_kind_of(&st) == S_IFDIR) {
		zk_log_info("rename %s: a directory is not renamed (EXDEV: mv copies and deletes)",
			    from);
		rc = -EXDEV;
		goto out;
	}
	mode = rename_mode(from, &st);
	rc = mode < 0 ? mode : rename_target(to, noreplace, call, ops, &count);
	if (rc)
		goto out;
	ops[count++] = (struct zkconn_op){ZKCONN_OP_CREATE, to, data ? data : "", len, mode};
	if (len == 0) /* Still a file: written once (version 1), see inode_kind_of. */
		ops[count++] = (struct zkconn_op){ZKCONN_OP_SET, to, "", 0, 0};
	ops[count++] = (struct zkconn_op){ZKCONN_OP_DELETE, from, NULL, 0, st.version};
	fs_inflight(from, 1);
	fs_inflight(to, 1);
	rc = zkconn_multi(zkfs->zk, &call->cancel, ops, count, NULL, NULL);
	if (rc == 0)
		renamed(from, to);
	fs_inflight(to, -1);
	fs_inflight(from, -1);
out:
	free(data);
	return rc;
}

void fs_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
	       const char *newname, unsigned int flags)
{
	char from[NAMES_PATH_MAX + 1], to[NAMES_PATH_MAX + 1];
	struct names_parsed np;
	struct call call;
	int rc, attempt;

	if (fs_read_only(req))
		return;
	rc = names_parse(newname, &np);
	if (rc == 0 && (strcmp(np.base, newname) != 0 || (flags & RENAME_EXCHANGE)))
		rc = -EINVAL; /* No suffix creates here, and no exchange. */
	if (rc == 0 && (!strcmp(name, NAMES_DATA_FILE) || !strcmp(newname, NAMES_DATA_FILE)))
		rc = -EPERM; /* A directory's own data is not a node. */
	if (rc) {
		zk_log_info("rename %s -> %s: %s", name, newname, strerror(-rc));
		fuse_reply_err(req, -rc);
		return;
	}
	if (fs_child_path(req, parent, name, from, sizeof(from)) ||
	    fs_child_path(req, newparent, newname, to, sizeof(to)))
		return;
	fs_call_begin(req, &call);
	/* A version that moved between the read and the multi: read again. */
	for (attempt = 0; attempt < FS_SEND_ATTEMPTS; attempt++) {
		rc = rename_once(from, to, (flags & RENAME_NOREPLACE) != 0, &call);
		if (rc != -ESTALE)
			break;
	}
	if (rc)
		zk_log_info("rename %s -> %s: %s", from, to, strerror(-rc));
	fuse_reply_err(req, -rc);
}
