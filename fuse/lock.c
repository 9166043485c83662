/* lock: ZooKeeper's lock recipe ("Locks" and "Shared Locks" in ZooKeeper's Recipes and
 * Solutions) in the layout of kazoo's Lock, ReadLock and WriteLock, for the mount's flock and
 * fcntl locks (see lock.h for the contract and the states). */
#include "fuse/lock.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "common/zk_log.h"
#include "fuse/names.h"

/* A waiter looks again this often even without a watch event: a bound on a missed wake-up, not
 * the mechanism (the predecessor's watch is). */
#define LOCK_RECHECK_MS 5000

enum lock_state { LOCK_WAITING, LOCK_HELD };

struct lock_entry {
	struct lock_entry *next;
	struct lock_want want;	   /* Copied; want.nonblock is not used after acquisition. */
	enum lock_state state;
	char *node;		   /* The contender's full path (owned). */
	int64_t token;		   /* Its czxid. */
	uint64_t gen;		   /* Session generation that created it (invariant 2). */
	bool lost_told;		   /* The loss was logged. */
	bool woken;		   /* The watched predecessor changed (or the session did). */
	char pred[NAMES_PATH_MAX + 1]; /* The predecessor watched while WAITING. */
	struct zkconn_cancel *cancel;  /* The waiter's (borrowed) while WAITING. */
};

struct lock_table {
	struct zkconn_node_watch nw; /* First: the watch callback finds the table from it. */
	struct zkconn *zk;
	pthread_mutex_t mu;	     /* Guards the list and every entry's fields. */
	pthread_cond_t cv;	     /* Broadcast on watch events and interrupts. */
	struct lock_entry *head;
	atomic_uint_fast64_t serial; /* Makes each contender's prefix unique. */
};

/* One contender as listed: its name, sequence number and mode. */
struct contender {
	const char *name;
	int64_t seq;
	bool shared;
};

/* ---- names ---- */

/* The sequence number and mode of a contender named @name (lock_child_name must be true). */
static struct contender contender_of(const char *name)
{
	size_t len = strlen(name);
	const char *digits = name + len - LOCK_SEQ_DIGITS;
	struct contender c = {.name = name, .seq = strtoll(digits, NULL, 10)};

	if (digits > name && digits[-1] == '-') {
		c.seq = -c.seq;
		digits--;
	}
	c.shared = (size_t)(digits - name) >= strlen(LOCK_MARK_SHARED) &&
		   strncmp(digits - strlen(LOCK_MARK_SHARED), LOCK_MARK_SHARED,
			   strlen(LOCK_MARK_SHARED)) == 0;
	return c;
}

static int cmp_contender(const void *a, const void *b)
{
	const struct contender *x = a, *y = b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* The contenders among @kids, sorted by sequence. Returns the count (*out owned) or -ENOMEM. */
static int contenders_of(const struct String_vector *kids, struct contender **out)
{
	struct contender *c = calloc((size_t)kids->count + 1, sizeof(*c));
	int i, n = 0;

	if (!c)
		return -ENOMEM;
	for (i = 0; i < kids->count; i++) {
		if (lock_child_name(kids->data[i]))
			c[n++] = contender_of(kids->data[i]);
	}
	qsort(c, (size_t)n, sizeof(*c), cmp_contender);
	*out = c;
	return n;
}

/* Whether a contender of mode @shared must wait for @other ahead of it. */
static bool conflicts(bool shared, const struct contender *other)
{
	return !shared || !other->shared;
}

/* ---- the table ---- */

static void on_watch_event(struct zkconn_node_watch *nw, int type, const char *path)
{
	struct lock_table *t = (struct lock_table *)nw;
	struct lock_entry *e;

	pthread_mutex_lock(&t->mu);
	for (e = t->head; e; e = e->next) {
		if (e->state == LOCK_WAITING && (type == ZOO_SESSION_EVENT || !strcmp(e->pred, path)))
			e->woken = true;
	}
	pthread_cond_broadcast(&t->cv);
	pthread_mutex_unlock(&t->mu);
}

int lock_table_create(struct zkconn *zk, struct lock_table **out)
{
	pthread_condattr_t attr;
	struct lock_table *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	t->nw.fn = on_watch_event;
	t->zk = zk;
	pthread_mutex_init(&t->mu, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&t->cv, &attr);
	pthread_condattr_destroy(&attr);
	*out = t;
	return 0;
}

static void entry_free(struct lock_entry *e)
{
	free(e->node);
	free(e);
}

void lock_table_destroy(struct lock_table *t)
{
	struct lock_entry *e;

	if (!t)
		return;
	while ((e = t->head)) {
		t->head = e->next;
		entry_free(e);
	}
	pthread_cond_destroy(&t->cv);
	pthread_mutex_destroy(&t->mu);
	free(t);
}

/* The entry of (ino, owner, style). Must hold t->mu. */
static struct lock_entry *entry_find(struct lock_table *t, uint64_t ino, uint64_t owner,
				     bool posix)
{
	struct lock_entry *e;

	for (e = t->head; e; e = e->next) {
		if (e->want.ino == ino && e->want.owner == owner && e->want.posix == posix)
			return e;
	}
	return NULL;
}

/* Take @e out of the list. Must hold t->mu. */
static void entry_unlink(struct lock_table *t, struct lock_entry *e)
{
	struct lock_entry **p;

	for (p = &t->head; *p; p = &(*p)->next) {
		if (*p == e) {
			*p = e->next;
			return;
		}
	}
	assert(!"entry not in its table");
}

/* Delete @e's contender (if it was made by the current session: an older one is gone with
 * it) and free @e, which is out of the list. */
static int entry_drop(struct lock_table *t, struct lock_entry *e)
{
	int rc = 0;

	if (e->node && e->gen == zkconn_generation(t->zk)) {
		rc = zkconn_delete(t->zk, NULL, e->node, -1);
		if (rc == -ENOENT)
			rc = 0;
		if (rc)
			zk_log_warn("releasing lock %s: %s (the server removes it with the session)",
				    e->node, strerror(-rc));
	}
	entry_free(e);
	return rc;
}

/* ---- acquiring ---- */

/* Delete the children of @path whose name starts with @prefix: a create whose outcome is
 * unknown (connection lost, interrupted) may have made one. */
static void delete_prefixed(struct zkconn *zk, const char *path, const char *prefix)
{
	struct String_vector kids = {0, NULL};
	char node[NAMES_PATH_MAX + 1];
	int32_t i;

	if (zkconn_children(zk, NULL, path, false, &kids, NULL) != 0)
		return;
	for (i = 0; i < kids.count; i++) {
		if (strncmp(kids.data[i], prefix, strlen(prefix)) == 0 &&
		    names_join(path, kids.data[i], node, sizeof(node)) == 0) {
			zk_log_info("lock %s: removing %s, left by an interrupted create", path,
				    kids.data[i]);
			zkconn_delete(zk, NULL, node, -1);
		}
	}
	deallocate_String_vector(&kids);
}

/* Create @e's contender under @path. On a connection loss the create may have happened: look
 * for our unique prefix and delete what is there. Returns 0 or -errno. */
static int create_contender(struct lock_table *t, const char *path, struct lock_entry *e)
{
	char node[NAMES_PATH_MAX + 1], prefix[64];
	uint64_t serial = atomic_fetch_add(&t->serial, 1);
	struct Stat st;
	int rc;

	snprintf(prefix, sizeof(prefix), "%016" PRIx64 "%016" PRIx64 "%s",
		 (uint64_t)zkconn_session_id(t->zk), serial,
		 e->want.shared ? LOCK_MARK_SHARED : LOCK_MARK_EXCLUSIVE);
	if (names_join(path, prefix, node, sizeof(node)))
		return -ENAMETOOLONG;
	e->gen = zkconn_generation(t->zk);
	rc = zkconn_create_node(t->zk, e->cancel, node, NULL, -1, ZOO_EPHEMERAL_SEQUENTIAL,
				&e->node, &st);
	if (rc == 0) {
		e->token = st.czxid;
		return 0;
	}
	if (rc != -ENOENT)
		zk_log_warn("lock %s: creating the contender: %s", path, strerror(-rc));
	if (rc == -EIO || rc == -ETIMEDOUT || rc == -EINTR)
		delete_prefixed(t->zk, path, prefix);
	return rc;
}

/* Where @e stands among @c[0..n): -1 when its contender is missing, otherwise the index of
 * the closest conflicting predecessor, or n when there is none (the lock is @e's). */
static int predecessor(const struct lock_entry *e, const struct contender *c, int n)
{
	const char *mine = names_basename(e->node);
	int i, pred = n;

	for (i = 0; i < n; i++) {
		if (strcmp(c[i].name, mine) == 0)
			return pred;
		if (conflicts(e->want.shared, &c[i]))
			pred = i;
	}
	return -1;
}

/* Wait for a wake-up of @e (watch event, interrupt) or the recheck period. Must hold t->mu. */
static void wait_woken(struct lock_table *t, struct lock_entry *e)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += LOCK_RECHECK_MS / 1000;
	while (!e->woken && !(e->cancel && e->cancel->cancelled)) {
		if (pthread_cond_timedwait(&t->cv, &t->mu, &ts) == ETIMEDOUT)
			break;
	}
}

/* What one look at the contenders found (or a negative errno). */
enum look_result {
	LOOK_HELD = 0,	/* No conflicting predecessor: the lock is @e's. */
	LOOK_WAIT = 1,	/* The predecessor's watch is set (e->pred names it). */
	LOOK_AGAIN = 2, /* The predecessor went before its watch was set. */
};

/* One look at the contenders for @e: an enum look_result or -errno. */
static int look(struct lock_table *t, const char *path, struct lock_entry *e)
{
	struct String_vector kids = {0, NULL};
	struct contender *c = NULL;
	char pred[NAMES_PATH_MAX + 1];
	int rc, n, i;

	rc = zkconn_children(t->zk, e->cancel, path, false, &kids, NULL);
	if (rc)
		return rc;
	n = contenders_of(&kids, &c);
	i = n < 0 ? n : predecessor(e, c, n);
	zk_log_debug("lock %s: %s sees %d contender(s), first %s: %s", path,
		     names_basename(e->node), n, n > 0 ? c[0].name : "-",
		     i == n ? "held" : i == -1 ? "gone" : "waits");
	if (i == -1) {
		zk_log_warn("lock %s: contender %s is gone (session lost?)", path, e->node);
		rc = -EIO;
	} else if (i < 0) {
		rc = i;
	} else if (i == n) {
		rc = LOOK_HELD;
	} else if (e->want.nonblock) {
		rc = -EWOULDBLOCK;
	} else if (names_join(path, c[i].name, pred, sizeof(pred)) != 0) {
		rc = -ENAMETOOLONG;
	} else {
		pthread_mutex_lock(&t->mu);
		strcpy(e->pred, pred);
		e->woken = false;
		pthread_mutex_unlock(&t->mu);
		rc = zkconn_watch_exists(t->zk, e->cancel, pred, &t->nw);
		rc = rc == 0 ? LOOK_WAIT : rc == -ENOENT ? LOOK_AGAIN : rc;
	}
	free(c);
	deallocate_String_vector(&kids);
	return rc;
}

/* Wait until @e holds the lock on @path. Returns 0 or -errno. */
static int wait_held(struct lock_table *t, const char *path, struct lock_entry *e)
{
	int rc;

	for (;;) {
		if (e->cancel && e->cancel->cancelled)
			return -EINTR;
		rc = look(t, path, e);
		if (rc <= 0) /* LOOK_HELD or an error. */
			return rc;
		if (rc == LOOK_AGAIN)
			continue;
		pthread_mutex_lock(&t->mu);
		wait_woken(t, e);
		pthread_mutex_unlock(&t->mu);
	}
}

/* A new WAITING entry for @w, in the table. Returns NULL when out of memory. */
static struct lock_entry *entry_add(struct lock_table *t, const struct lock_want *w,
				    struct zkconn_cancel *cancel)
{
	struct lock_entry *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->want = *w;
	e->state = LOCK_WAITING;
	e->cancel = cancel;
	pthread_mutex_lock(&t->mu);
	e->next = t->head;
	t->head = e;
	pthread_mutex_unlock(&t->mu);
	return e;
}

/* Whether @w's owner holds the lock already: 1 in the same mode (nothing to do), 0 otherwise
 * (a lock of the other mode is released first). */
static int already_held(struct lock_table *t, const struct lock_want *w)
{
	uint64_t gen = zkconn_generation(t->zk); /* Not under t->mu: see the lock order. */
	struct lock_entry *e;
	bool same;

	pthread_mutex_lock(&t->mu);
	e = entry_find(t, w->ino, w->owner, w->posix);
	same = e && e->state == LOCK_HELD && e->want.shared == w->shared && e->gen == gen;
	pthread_mutex_unlock(&t->mu);
	if (same)
		return 1;
	if (e)
		lock_release(t, w->ino, w->owner, w->posix);
	return 0;
}

int lock_acquire(struct lock_table *t, const char *path, const struct lock_want *w,
		 struct zkconn_cancel *cancel)
{
	struct lock_entry *e;
	int rc;

	if (already_held(t, w))
		return 0;
	e = entry_add(t, w, cancel);
	if (!e)
		return -ENOMEM;
	rc = create_contender(t, path, e);
	if (rc == 0)
		rc = wait_held(t, path, e);
	pthread_mutex_lock(&t->mu);
	e->cancel = NULL;
	if (rc == 0)
		e->state = LOCK_HELD;
	else
		entry_unlink(t, e);
	pthread_mutex_unlock(&t->mu);
	if (rc == 0) {
		zk_log_debug("lock %s held (token %" PRId64 ")", e->node, e->token);
		return 0;
	}
	if (rc == -EINTR)
		zk_log_info("lock %s: wait interrupted; contender removed", path);
	entry_drop(t, e);
	return rc;
}

void lock_interrupt(struct lock_table *t, struct zkconn_cancel *cancel)
{
	zkconn_cancel(t->zk, cancel);
	pthread_mutex_lock(&t->mu);
	pthread_cond_broadcast(&t->cv);
	pthread_mutex_unlock(&t->mu);
}

/* ---- releasing and checking ---- */

int lock_release(struct lock_table *t, uint64_t ino, uint64_t owner, bool posix)
{
	struct lock_entry *e;

	pthread_mutex_lock(&t->mu);
	e = entry_find(t, ino, owner, posix);
	if (e && e->state == LOCK_HELD)
		entry_unlink(t, e);
	else
		e = NULL; /* A WAITING entry belongs to its waiter, which ends it. */
	pthread_mutex_unlock(&t->mu);
	return e ? entry_drop(t, e) : 0;
}

/* Take out one HELD entry of @handle. Must hold t->mu. */
static struct lock_entry *take_handle_entry(struct lock_table *t, uint64_t handle)
{
	struct lock_entry *e;

	for (e = t->head; e; e = e->next) {
		if (e->want.handle == handle && e->state == LOCK_HELD) {
			entry_unlink(t, e);
			return e;
		}
	}
	return NULL;
}

void lock_release_handle(struct lock_table *t, uint64_t handle)
{
	struct lock_entry *e;

	for (;;) {
		pthread_mutex_lock(&t->mu);
		e = take_handle_entry(t, handle);
		pthread_mutex_unlock(&t->mu);
		if (!e)
			return;
		entry_drop(t, e);
	}
}

int lock_check_handle(struct lock_table *t, uint64_t handle)
{
	uint64_t gen = zkconn_generation(t->zk);
	struct lock_entry *e;
	int rc = 0;

	pthread_mutex_lock(&t->mu);
	for (e = t->head; e; e = e->next) {
		if (e->want.handle != handle || e->state != LOCK_HELD || e->gen == gen)
			continue;
		if (!e->lost_told)
			zk_log_error("lock %s lost with its session: the holder gets EIO", e->node);
		e->lost_told = true;
		rc = -EIO;
	}
	pthread_mutex_unlock(&t->mu);
	return rc;
}

int lock_token(struct lock_table *t, uint64_t ino, int64_t *token)
{
	struct lock_entry *e;
	int rc = -ENODATA;

	pthread_mutex_lock(&t->mu);
	for (e = t->head; e; e = e->next) {
		if (e->want.ino == ino && e->state == LOCK_HELD && (rc || e->token > *token)) {
			*token = e->token;
			rc = 0;
		}
	}
	pthread_mutex_unlock(&t->mu);
	return rc;
}

/* The pid of this mount's contender named @name other than @w's own, or -1 when the contender
 * is @w's owner's or not ours (then *pid is 0). Must hold t->mu. */
static int own_pid(struct lock_table *t, const char *name, const struct lock_want *w, pid_t *pid)
{
	struct lock_entry *e;

	*pid = 0;
	for (e = t->head; e; e = e->next) {
		if (!e->node || strcmp(names_basename(e->node), name) != 0)
			continue;
		if (e->want.owner == w->owner && e->want.posix == w->posix)
			return -1;
		*pid = e->want.pid;
	}
	return 0;
}

int lock_conflict(struct lock_table *t, const char *path, const struct lock_want *w,
		  bool *shared, pid_t *pid)
{
	struct String_vector kids = {0, NULL};
	struct contender *c = NULL;
	int rc, n, i, found = 0;

	rc = zkconn_children(t->zk, NULL, path, false, &kids, NULL);
	if (rc)
		return rc;
	n = contenders_of(&kids, &c);
	pthread_mutex_lock(&t->mu);
	for (i = 0; i < n && !found; i++) {
		if (!conflicts(w->shared, &c[i]) || own_pid(t, c[i].name, w, pid) < 0)
			continue;
		*shared = c[i].shared;
		found = 1;
	}
	pthread_mutex_unlock(&t->mu);
	free(c);
	deallocate_String_vector(&kids);
	return n < 0 ? n : found;
}

/* ---- what the mount shows ---- */

int lock_holders(struct lock_table *t, struct zkconn_cancel *cancel, const char *path,
		 char *out, size_t size)
{
	struct String_vector kids = {0, NULL};
	struct contender *c = NULL;
	size_t used = 0, len;
	int rc, n, i;

	rc = zkconn_children(t->zk, cancel, path, false, &kids, NULL);
	if (rc)
		return rc;
	n = rc = contenders_of(&kids, &c);
	for (i = 0; i < n && rc >= 0; i++) {
		len = strlen(c[i].name);
		if (used + len + 1 > size)
			rc = -ERANGE;
		else {
			memcpy(out + used, c[i].name, len);
			out[used + len] = '\n';
			used += len + 1;
		}
	}
	free(c);
	deallocate_String_vector(&kids);
	return rc < 0 ? rc : (int)used;
}

int lock_children(struct zkconn *zk, struct zkconn_cancel *cancel, const char *path, bool watch,
		  struct String_vector *kids, struct Stat *st)
{
	int rc = zkconn_children(zk, cancel, path, watch, kids, st);
	int32_t i, kept = 0;

	if (rc)
		return rc;
	for (i = 0; i < kids->count; i++) {
		if (lock_child_name(kids->data[i]))
			free(kids->data[i]);
		else
			kids->data[kept++] = kids->data[i];
	}
	kids->count = kept;
	if (st)
		st->numChildren = kept;
	return 0;
}

bool lock_busy(struct zkconn *zk, const char *path)
{
	struct String_vector kids = {0, NULL};
	bool busy = false;
	int32_t i;

	if (zkconn_children(zk, NULL, path, false, &kids, NULL) != 0)
		return false;
	for (i = 0; i < kids.count && !busy; i++)
		busy = lock_child_name(kids.data[i]);
	deallocate_String_vector(&kids);
	return busy;
}
