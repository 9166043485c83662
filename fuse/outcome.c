/* outcome: resolving a write of unknown outcome by reading the node back (see outcome.h). */
#include "fuse/outcome.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/zk_log.h"

static bool same_value(const struct outcome_write *w, const char *data, int len)
{
	return len == w->len && (len == 0 || memcmp(data, w->data, (size_t)len) == 0);
}

static int judge_create(struct zkconn *zk, const struct outcome_write *w, const struct Stat *st,
			bool same)
{
	if (outcome_sequential(w->mode))
		return -EIO; /* Its name was never learned. */
	if (w->mode == ZOO_EPHEMERAL) /* The owner tells: only this session made it. */
		return st->ephemeralOwner == zkconn_session_id(zk) ? 0 : -EEXIST;
	if (w->exclusive)
		return -EIO; /* Ours, or another writer's that made ours fail: cannot tell. */
	return same ? 0 : -EAGAIN; /* Sending again overwrites, as the first send would have. */
}

static int judge_set(const struct outcome_write *w, const struct Stat *st, bool same)
{
	if (w->version < 0)
		return same ? 0 : -EAGAIN;
	if (st->version == w->version)
		return -EAGAIN;
	if (st->version == w->version + 1 && !same)
		return -ESTALE; /* Another writer took that version. */
	return -EIO;
}

int outcome_resolve(struct zkconn *zk, struct zkconn_cancel *cancel, int wait_ms,
		    const struct outcome_write *w, struct Stat *st)
{
	char *data = NULL;
	int len = 0, rc;

	rc = zkconn_wait_connected(zk, cancel, wait_ms);
	if (rc == 0)
		rc = zkconn_get(zk, cancel, w->path, false, &data, &len, st);
	if (rc == -ENOENT)
		rc = w->create ? -EAGAIN : -ENOENT;
	else if (rc)
		rc = -EIO;
	else if (w->create)
		rc = judge_create(zk, w, st, same_value(w, data, len));
	else
		rc = judge_set(w, st, same_value(w, data, len));
	free(data);
	zk_log_warn("%s %s: outcome was unknown; after reading it back: %s", w->create ?
		    "create" : "setData", w->path, rc == 0 ? "made" : rc == -EAGAIN ?
		    "not made, sending again" : rc == -EIO ? "still unknown (EIO)" :
		    strerror(-rc));
	return rc;
}

int outcome_send(struct zkconn *zk, struct zkconn_cancel *cancel, int wait_ms, int attempts,
		 const struct outcome_write *w, outcome_send_fn send, void *ctx, struct Stat *st)
{
	bool resent = false;
	int rc = -EIO;

	while (attempts-- > 0) {
		rc = send(ctx, st);
		if (rc == 0 || (rc != -EIO && !resent))
			return rc;
		if (rc != -EIO) {
			/* A copy sent again after a read-back said "not made" is refused (BadVersion,
			 * NodeExists): that read may have come before the server applied the first
			 * copy (a restarted server replays its log while it serves), so the refusal
			 * may be the first copy's own doing. Judge again on what the node shows now. */
			zk_log_warn("%s %s: the copy sent again was refused (%s); reading it back again",
				    w->create ? "create" : "setData", w->path, strerror(-rc));
			rc = outcome_resolve(zk, cancel, wait_ms, w, st);
			return rc == -EAGAIN ? -EIO : rc;
		}
		rc = outcome_resolve(zk, cancel, wait_ms, w, st);
		if (rc != -EAGAIN)
			return rc;
		resent = true;
	}
	return rc == -EAGAIN ? -EIO : rc;
}
