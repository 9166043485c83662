/* events: watch events -> kernel invalidations and inotify events (see events.h).
 *
 * One thread, one queue. Each job re-reads what its event covered (re-arming a one-shot watch;
 * the recursive watch needs none, see zkconn.h), diffs with the cache under inode_lock, then --
 * without any lock -- tells the kernel: invalidations first, then the system call that makes
 * the kernel emit the inotify event. The requests that call sends come back to fs.c from this
 * thread's id and are answered as no-ops. */
#include "fuse/events.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/zk_log.h"
#include "fuse/fs.h"
#include "fuse/fs_int.h"
#include "fuse/lock.h"
#include "fuse/names.h"

enum job_kind { JOB_CHILDREN, JOB_DATA, JOB_INVAL_INODE, JOB_INVAL_ENTRY, JOB_RENEW,
		JOB_CREATED, JOB_REVALIDATE };

struct job {
	enum job_kind kind;
	fuse_ino_t id;	  /* JOB_INVAL_*: the inode / the parent. */
	struct job *next;
	char path[];	  /* JOB_CHILDREN/JOB_DATA: the path; JOB_INVAL_ENTRY: the name. */
};

static struct {
	pthread_mutex_t mu;	/* Guards the queue and the intent. */
	pthread_cond_t cv;
	struct job *head, *tail;
	bool stop;
	pthread_t thread;
	atomic_int tid;		/* The thread's id, as FUSE requests carry it. */
	enum events_intent intent;
	fuse_ino_t intent_parent;
	char intent_name[256];
	fuse_ino_t ghost;
} ev = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

/* Queue a job; a CHILDREN/DATA job for a path already waiting is dropped (coalesced). */
static void push(enum job_kind kind, fuse_ino_t id, const char *text)
{
	size_t len = strlen(text) + 1;
	struct job *j, *q;

	pthread_mutex_lock(&ev.mu);
	if (kind == JOB_CHILDREN || kind == JOB_DATA) {
		for (q = ev.head; q; q = q->next) {
			if (q->kind == kind && strcmp(q->path, text) == 0) {
				pthread_mutex_unlock(&ev.mu);
				return;
			}
		}
	}
	j = malloc(sizeof(*j) + len);
	if (!j) {
		pthread_mutex_unlock(&ev.mu);
		zk_log_error("out of memory: an event for %s is lost", text);
		return;
	}
	j->kind = kind;
	j->id = id;
	j->next = NULL;
	memcpy(j->path, text, len);
	if (ev.tail)
		ev.tail->next = j;
	else
		ev.head = j;
	ev.tail = j;
	pthread_cond_signal(&ev.cv);
	pthread_mutex_unlock(&ev.mu);
}

void events_inval_inode(fuse_ino_t id)
{
	push(JOB_INVAL_INODE, id, "");
}

void events_inval_entry(fuse_ino_t parent, const char *name)
{
	push(JOB_INVAL_ENTRY, parent, name);
}

bool events_is_caller(fuse_req_t req)
{
	return fuse_req_ctx(req)->pid == atomic_load(&ev.tid);
}

enum events_intent events_intent(fuse_ino_t parent, const char *name, fuse_ino_t *ghost)
{
	enum events_intent what = EVENTS_NONE;

	pthread_mutex_lock(&ev.mu);
	if (ev.intent != EVENTS_NONE && ev.intent_parent == parent &&
	    strcmp(ev.intent_name, name) == 0) {
		what = ev.intent;
		*ghost = ev.ghost;
	}
	pthread_mutex_unlock(&ev.mu);
	return what;
}

static void set_intent(enum events_intent what, fuse_ino_t parent, const char *name,
		       fuse_ino_t ghost)
{
	pthread_mutex_lock(&ev.mu);
	ev.intent = what;
	ev.intent_parent = parent;
	snprintf(ev.intent_name, sizeof(ev.intent_name), "%s", name);
	ev.ghost = ghost;
	pthread_mutex_unlock(&ev.mu);
}

/* The zkconn_event_seq of the last data (0) / child (1) event per path hash, so a read answered
 * before that event is not trusted (events_settle). Under inode_lock. */
#define EVENT_SLOTS 256
static uint64_t last_event[EVENT_SLOTS][2];

static uint64_t *last_event_of(const char *path, bool children)
{
	uint32_t h = 2166136261u;

	for (; *path; path++)
		h = (h ^ (unsigned char)*path) * 16777619u;
	return &last_event[h % EVENT_SLOTS][children];
}

void events_settle(struct node *n, const struct Stat *st, bool children, uint64_t answer_seq)
{
	/* A Stat newer than @st came from a later answer, settled by its own caller. */
	if (st && n->stat.mzxid == st->mzxid && *last_event_of(n->path, false) > answer_seq)
		n->have_stat = false;
	if (children && *last_event_of(n->path, true) > answer_seq)
		n->children_fresh = false;
}

/* Invalidate @path's cached Stat at once (before the job runs), so no read trusts it. Returns
 * whether anything of @path is cached (else its job has nothing to tell). */
static bool drop_cached(const char *path, bool children)
{
	struct node *n;
	bool cached;

	inode_lock();
	*last_event_of(path, children) = zkconn_event_seq(zkfs->zk);
	n = inode_find(path, false);
	if (n && children)
		n->children_fresh = false;
	else if (n)
		n->have_stat = false;
	cached = n != NULL;
	n = children ? NULL : inode_find(path, true);
	if (n)
		n->have_stat = false;
	cached = cached || n;
	inode_unlock();
	return cached;
}

/* A prefetch read came back: cache the child it read (see events_prefetch). Must hold
 * inode_lock. */
static void cache_prefetched(const char *path, const struct Stat *st, const char *data, int len)
{
	struct Stat bare = *st;
	struct node *n;

	bare.numChildren = 0;
	if (st->numChildren > 0 && inode_kind_of(&bare) == S_IFREG)
		return; /* File or directory depends on whether its children are lock contenders
			 * (lock.h): the lookup that needs it lists them. */
	n = inode_new(path, inode_kind_of(st), false, NODE_LIVE, true);
	zk_log_debug("prefetched %s (mzxid %lld)", path, (long long)st->mzxid);
	if (n && inode_set_stat(n, st, data, len, zkconn_generation(zkfs->zk)) != 0)
		inode_drop_cache(n, false);
}

void events_prefetch(const char *dir, char *const *kids, int count)
{
	char path[NAMES_PATH_MAX + 1];
	int i;

	for (i = 0; i < count; i++) {
		if (names_join(dir, kids[i], path, sizeof(path)) == 0 && !inode_find(path, false))
			zkconn_arm(zkfs->zk, path, false);
	}
}

void events_watch_new(const char *path, bool dir)
{
	if (!zkconn_recursive(zkfs->zk))
		zkconn_arm(zkfs->zk, path, dir);
	else if (dir)
		zkconn_arm_children(zkfs->zk, path);
}

/* An arming read came back: queue a refresh if the node changed since we cached it. */
static void check_armed(int type, const char *path, const struct Stat *st, const char *data,
			int len)
{
	struct node *n;
	bool stale = false;

	inode_lock();
	n = inode_find(path, false);
	if (!n && type == ZKCONN_ARMED_DATA) {
		cache_prefetched(path, st, data, len);
	} else if (n && type == ZKCONN_ARMED_DATA) {
		stale = n->stat.mzxid != st->mzxid;
		if (stale)
			n->have_stat = false;
	} else if (n) {
		stale = n->stat.cversion != st->cversion;
		/* A new directory's (empty) list is trusted once its watch is known to be set
		 * with nothing changed in between (see fs_create_now). */
		n->children_fresh = !stale && n->have_children &&
				    n->cache_gen == zkconn_generation(zkfs->zk);
	}
	inode_unlock();
	if (stale)
		push(type == ZKCONN_ARMED_DATA ? JOB_DATA : JOB_CHILDREN, 0, path);
}

/* NodeCreated of the recursive watch (child lists keep one-shot child watches, see zkconn.h):
 * a cached file given a child that is no lock contender is a directory now (run_created). */
static void child_created(const char *path)
{
	char dir[NAMES_PATH_MAX + 1];
	struct node *p;
	bool file;

	if (names_dirname(path, dir, sizeof(dir)) != 0 || lock_child_name(names_basename(path)))
		return;
	inode_lock();
	p = inode_find(dir, false);
	file = p && p->state == NODE_LIVE && p->kind != S_IFDIR;
	inode_unlock();
	if (file)
		push(JOB_CREATED, 0, path);
}

void events_on_watch(void *ctx, int type, const char *path, const struct Stat *st,
		     const char *data, int len)
{
	if (!path || !*path)
		return;
	if (type == ZOO_CREATED_EVENT)
		child_created(path);
	if (type == ZOO_CHANGED_EVENT || type == ZOO_DELETED_EVENT) {
		/* Under the recursive watch every node's changes come, cached or not. */
		if (drop_cached(path, false) || !zkconn_recursive(zkfs->zk))
			push(JOB_DATA, 0, path);
	} else if (type == ZOO_CHILD_EVENT) {
		drop_cached(path, true);
		push(JOB_CHILDREN, 0, path);
	} else if (type == ZKCONN_ARMED_DATA || type == ZKCONN_ARMED_CHILDREN) {
		check_armed(type, path, st, data, len);
	}
}

void events_on_reconnected(void *ctx)
{
	push(JOB_REVALIDATE, 0, "");
}

void events_on_expired(void *ctx)
{
	push(JOB_RENEW, 0, "");
}

/* Wait (bounded) until no local write on @path is in flight: its completion updates the cache,
 * and the diff must not report our own change as someone else's. */
static void wait_idle(const char *path)
{
	struct timespec pause = {0, 1000000};
	struct node *n;
	int i, busy = 1;

	for (i = 0; i < 2000 && busy; i++) {
		inode_lock();
		n = inode_find(path, false);
		busy = n && n->inflight > 0;
		inode_unlock();
		if (busy)
			nanosleep(&pause, NULL);
	}
}

static int mount_path(const char *path, char *out, size_t size)
{
	int n = snprintf(out, size, "%s%s", zkfs->opt.mountpoint, strcmp(path, "/") ? path : "");

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static fuse_ino_t parent_id(const char *path)
{
	struct node *p = inode_find_parent(path);

	return p ? p->id : 0;
}

/* A name appeared under @dir: make the kernel emit IN_CREATE for it. */
static void emit_create(const char *dir, const char *name)
{
	char path[NAMES_PATH_MAX + 1], full[PATH_MAX];
	uint64_t gen = zkconn_generation(zkfs->zk), seq;
	struct String_vector kids = {0, NULL};
	struct Stat st;
	struct node *n;
	char *data = NULL;
	fuse_ino_t pid;
	mode_t kind;
	int len = 0, rc;

	if (names_join(dir, name, path, sizeof(path)) || mount_path(path, full, sizeof(full)) ||
	    zkconn_get(zkfs->zk, NULL, path, true, &data, &len, &st) != 0)
		return;
	seq = zkconn_answer_seq();
	kind = inode_kind_of(&st);
	if (kind == S_IFDIR && lock_children(zkfs->zk, NULL, path, true, &kids, &st) != 0)
		goto out;
	kind = inode_kind_of(&st); /* A file whose only children are lock contenders. */
	fs_filter_children(path, &kids);
	inode_lock();
	n = inode_find(path, false);
	if (!n || n->kind != kind) /* Open handles keep the old node. */
		n = inode_new(path, kind, false, NODE_LIVE, true);
	if (n) {
		inode_set_stat(n, &st, data, len, gen);
		if (n->kind == S_IFDIR && inode_set_children(n, &kids, gen) == 0)
			events_prefetch(path, kids.data, kids.count);
		events_settle(n, &st, n->kind == S_IFDIR, seq);
		kind = n->kind;
	}
	pid = parent_id(path);
	inode_unlock();
	if (!n || !pid)
		goto out;
	fuse_lowlevel_notify_inval_entry(zkfs->se, pid, name, strlen(name));
	set_intent(EVENTS_CREATE, pid, name, 0);
	rc = kind == S_IFDIR ? mkdir(full, 0755) : mknod(full, S_IFREG | 0644, 0);
	set_intent(EVENTS_NONE, 0, "", 0);
	if (rc != 0)
		zk_log_debug("no IN_CREATE for %s: %s", path, strerror(errno));
	/* A file that already has its value (created with it, or written before this read --
	 * `cp` creates empty at open, then writes): IN_MODIFY too, as a local writer makes. */
	else if (kind == S_IFREG && len > 0 && truncate(full, len) != 0)
		zk_log_debug("no IN_MODIFY for %s: %s", path, strerror(errno));
out:
	free(data);
	deallocate_String_vector(&kids);
}

/* A name vanished from @dir: make the kernel emit IN_DELETE for it. */
static void emit_delete(const char *dir, const char *name)
{
	char path[NAMES_PATH_MAX + 1], full[PATH_MAX];
	struct node *n, *ghost;
	fuse_ino_t pid, gid;
	mode_t kind = S_IFREG;
	int rc;

	if (names_join(dir, name, path, sizeof(path)) || mount_path(path, full, sizeof(full)))
		return;
	inode_lock();
	pid = parent_id(path);
	n = inode_find(path, true);
	if (n)
		inode_mark_stale(n);
	n = inode_find(path, false);
	ghost = n && n->nlookup > 0 ? n : NULL;
	if (n)
		kind = n->kind;
	if (n)
		inode_mark_stale(n);
	if (!ghost)
		ghost = inode_new(path, kind, false, NODE_STALE, false);
	gid = ghost ? ghost->id : 0;
	inode_unlock();
	if (!gid || !pid)
		return;
	set_intent(EVENTS_DELETE, pid, name, gid);
	rc = kind == S_IFDIR ? rmdir(full) : unlink(full);
	if (rc != 0 && (errno == EISDIR || errno == ENOTDIR)) /* The kernel knew its kind better. */
		rc = kind == S_IFDIR ? unlink(full) : rmdir(full);
	set_intent(EVENTS_NONE, 0, "", 0);
	if (rc != 0)
		zk_log_debug("no IN_DELETE for %s: %s", path, strerror(errno));
	inode_lock();
	ghost = inode_get(gid);
	if (ghost)
		inode_release_unused(ghost);
	inode_unlock();
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void qsort_names(char **names, int count)
{
	if (count > 1)
		qsort(names, (size_t)count, sizeof(char *), cmp_name);
}

/* Names in sorted @a missing from sorted @b. */
static void each_missing(char **a, int na, char **b, int nb, const char *dir,
			 void (*fn)(const char *dir, const char *name))
{
	int i = 0, j = 0, c;

	while (i < na) {
		c = j < nb ? strcmp(a[i], b[j]) : -1;
		if (c < 0)
			fn(dir, a[i++]);
		else if (c > 0)
			j++;
		else {
			i++;
			j++;
		}
	}
}

static void free_names(char **names, int n)
{
	while (n-- > 0)
		free(names[n]);
	free(names);
}

/* Take @n's child list (the diff base), leaving it empty. Must hold inode_lock. */
static char **take_children(struct node *n, int *count)
{
	char **old = n->children;

	*count = n->nchildren;
	n->children = NULL;
	n->nchildren = 0;
	return old;
}

static void run_children(const char *path)
{
	uint64_t gen = zkconn_generation(zkfs->zk), seq;
	struct String_vector kids = {0, NULL};
	char **old = NULL;
	struct Stat st;
	struct node *n;
	fuse_ino_t id = 0;
	int nold = 0;
	bool had = false;

	wait_idle(path);
	inode_lock();
	n = inode_find(path, false);
	id = n && n->kind != S_IFDIR ? n->id : 0;
	inode_unlock();
	if (id) /* A file (its only children are lock contenders): its child watch is not renewed,
		 * or every lock taken on it would cost each mount a getChildren. */
		return;
	if (lock_children(zkfs->zk, NULL, path, true, &kids, &st) != 0)
		return;
	seq = zkconn_answer_seq();
	fs_filter_children(path, &kids);
	inode_lock();
	n = inode_find(path, false);
	if (n && n->kind == S_IFDIR && n->state == NODE_LIVE) {
		had = n->have_children;
		old = take_children(n, &nold);
		inode_set_children(n, &kids, gen);
		if (!had)
			events_prefetch(path, kids.data, kids.count);
		n->stat.numChildren = st.numChildren;
		n->stat.cversion = st.cversion;
		n->stat.pzxid = st.pzxid;
		events_settle(n, NULL, true, seq);
		id = n->id;
	}
	inode_unlock();
	if (id) {
		fuse_lowlevel_notify_inval_inode(zkfs->se, id, 0, 0); /* The readdir cache. */
		if (had) {
			char **now = kids.data;

			qsort_names(now, kids.count);
			each_missing(old, nold, now, kids.count, path, emit_delete);
			each_missing(now, kids.count, old, nold, path, emit_create);
		}
	}
	free_names(old, nold);
	deallocate_String_vector(&kids);
}

/* A cached file got a child (child_created): a directory now. Its node drops what it cached and
 * the kernel looks the name up again (issue 16: it stayed a file while only its data was
 * watched). */
static void run_created(const char *path)
{
	char dir[NAMES_PATH_MAX + 1];
	struct node *p;

	if (names_dirname(path, dir, sizeof(dir)) != 0)
		return;
	wait_idle(path);
	inode_lock();
	p = inode_find(dir, false);
	if (p && p->state == NODE_LIVE && p->kind != S_IFDIR) {
		zk_log_info("%s got the child %s: shown as a directory now", dir,
			    names_basename(path));
		fs_server_has_children(dir);
	}
	inode_unlock();
}

/* What run_data found, copied out of the table. */
struct data_change {
	fuse_ino_t id, data_id, parent; /* The node, its ".data" file, its parent directory. */
	mode_t kind;
	bool changed;			/* mzxid moved: emit MODIFY/ATTRIB. */
	bool kind_changed;		/* Now a file where it was a directory, or back. */
};

/* Store the fresh Stat in the node and its ".data" file. Must hold inode_lock. */
static void apply_data(const char *path, int rc, const struct Stat *st, const char *data, int len,
		       uint64_t gen, uint64_t seq, struct data_change *dc)
{
	struct node *n = inode_find(path, false), *dn = inode_find(path, true);

	memset(dc, 0, sizeof(*dc));
	if (n) {
		dc->id = n->id;
		dc->kind = n->kind;
		dc->changed = rc == 0 && n->told_mzxid != st->mzxid;
		dc->kind_changed = rc == 0 && n->kind != inode_kind_of(st);
		if (rc == 0) {
			inode_set_stat(n, st, data, len, gen);
			n->told_mzxid = st->mzxid;
			events_settle(n, st, false, seq);
		}
		if (rc != 0 || dc->changed)
			inode_wake_polls(n);
		if (dc->kind_changed) {
			dc->parent = parent_id(path);
			inode_mark_stale(n);
		}
	}
	if (dn) {
		dc->data_id = dn->id;
		if (rc != 0 || dn->told_mzxid != st->mzxid || dc->changed)
			inode_wake_polls(dn);
		if (rc == 0) {
			inode_set_stat(dn, st, data, len, gen);
			dn->told_mzxid = st->mzxid;
			events_settle(dn, st, false, seq);
		}
	}
}

static void run_data(const char *path)
{
	char full[PATH_MAX], data_full[PATH_MAX];
	uint64_t gen = zkconn_generation(zkfs->zk);
	struct data_change dc;
	struct Stat st;
	char *data = NULL;
	int len = 0, rc;

	wait_idle(path);
	rc = zkconn_get(zkfs->zk, NULL, path, true, &data, &len, &st);
	if (rc != 0 && rc != -ENOENT) {
		free(data);
		return;
	}
	inode_lock();
	apply_data(path, rc, &st, data, len, gen, zkconn_answer_seq(), &dc);
	inode_unlock();
	zk_log_debug("data event %s: rc %d, node %lu, changed %d, kind changed %d", path, rc,
		     (unsigned long)dc.id, dc.changed, dc.kind_changed);
	free(data);
	if (dc.id)
		fuse_lowlevel_notify_inval_inode(zkfs->se, dc.id, 0, 0);
	if (dc.data_id)
		fuse_lowlevel_notify_inval_inode(zkfs->se, dc.data_id, 0, 0);
	if (dc.kind_changed && dc.parent)
		fuse_lowlevel_notify_inval_entry(zkfs->se, dc.parent, names_basename(path),
						 strlen(names_basename(path)));
	if (!dc.changed || dc.kind_changed || mount_path(path, full, sizeof(full)))
		return;
	if (dc.kind == S_IFREG) {
		if (truncate(full, len) != 0) /* IN_MODIFY */
			zk_log_debug("no IN_MODIFY for %s: %s", path, strerror(errno));
		return;
	}
	if (utimensat(AT_FDCWD, full, NULL, 0) != 0) /* IN_ATTRIB on the directory. */
		zk_log_debug("no IN_ATTRIB for %s: %s", path, strerror(errno));
	if (dc.data_id && snprintf(data_full, sizeof(data_full), "%s/" NAMES_DATA_FILE, full) <
				  (int)sizeof(data_full))
		(void)truncate(data_full, len);
}

/* Collect the paths to refresh after a new session. */
struct refresh_list {
	char **paths;
	bool *dirs;
	int count, cap;
};

static void collect(struct node *n, void *arg)
{
	struct refresh_list *l = arg;

	if (n->data_file || n->state != NODE_LIVE)
		return;
	if (l->count == l->cap) {
		int cap = l->cap ? l->cap * 2 : 64;
		char **p = realloc(l->paths, (size_t)cap * sizeof(char *));
		bool *d = p ? realloc(l->dirs, (size_t)cap * sizeof(bool)) : NULL;

		if (p)
			l->paths = p;
		if (!d)
			return;
		l->dirs = d;
		l->cap = cap;
	}
	l->paths[l->count] = strdup(n->path);
	if (l->paths[l->count])
		l->dirs[l->count++] = n->kind == S_IFDIR;
}

/* Re-read what is cached: the values (MODIFY/ATTRIB for what changed unseen) and, with
 * @lists, the child lists of directories instead of their values (the lists are the diff base,
 * so names that came or went unseen show up as CREATE/DELETE). */
static void refresh_all(bool lists)
{
	struct refresh_list l = {NULL, NULL, 0, 0};
	int i;

	inode_lock();
	inode_each_live(collect, &l);
	inode_unlock();
	for (i = 0; i < l.count; i++) {
		push(lists && l.dirs[i] ? JOB_CHILDREN : JOB_DATA, 0, l.paths[i]);
		free(l.paths[i]);
	}
	free(l.paths);
	free(l.dirs);
}

/* The session expired: open a new one, then re-read everything cached; ephemerals the old
 * session owned show up as DELETE events. */
static void run_renew(void)
{
	zk_log_warn("session expired: ephemeral nodes of this mount are gone; opening a new session");
	if (zkconn_renew(zkfs->zk) == 0)
		refresh_all(true);
}


static void run(struct job *j)
{
	switch (j->kind) {
	case JOB_CHILDREN:
		run_children(j->path);
		break;
	case JOB_DATA:
		run_data(j->path);
		break;
	case JOB_INVAL_INODE:
		/* After a local write: the kernel's size (reads bypass its pages, see fs_open). */
		fuse_lowlevel_notify_inval_inode(zkfs->se, j->id, 0, 0);
		break;
	case JOB_INVAL_ENTRY:
		fuse_lowlevel_notify_inval_entry(zkfs->se, j->id, j->path, strlen(j->path));
		break;
	case JOB_RENEW:
		run_renew();
		break;
	case JOB_CREATED:
		run_created(j->path);
		break;
	case JOB_REVALIDATE:
		/* The recursive watch missed the values changed while the connection was down
		 * (the one-shot child watches were replayed by setWatches2). */
		zk_log_info("reconnected: reading the cached values again");
		refresh_all(false);
		break;
	}
}

static void *events_main(void *arg)
{
	struct job *j;

	atomic_store(&ev.tid, (int)gettid());
	push(JOB_CHILDREN, 0, "/"); /* Watch the root's children from the start. */
	for (;;) {
		pthread_mutex_lock(&ev.mu);
		while (!ev.head && !ev.stop)
			pthread_cond_wait(&ev.cv, &ev.mu);
		if (ev.stop) {
			pthread_mutex_unlock(&ev.mu);
			return NULL;
		}
		j = ev.head;
		ev.head = j->next;
		if (!ev.head)
			ev.tail = NULL;
		pthread_mutex_unlock(&ev.mu);
		run(j);
		free(j);
	}
}

int events_start(void)
{
	int rc = pthread_create(&ev.thread, NULL, events_main, NULL);

	return -rc;
}

void events_stop(void)
{
	struct job *j;

	pthread_mutex_lock(&ev.mu);
	ev.stop = true;
	pthread_cond_broadcast(&ev.cv);
	pthread_mutex_unlock(&ev.mu);
	pthread_join(ev.thread, NULL);
	while ((j = ev.head)) {
		ev.head = j->next;
		free(j);
	}
	ev.tail = NULL;
}
