/* expect: per-writer expected versions (see expect.h). */
#include "fuse/expect.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct expect {
	pid_t owner;	  /* The process that will write: setfattr's parent. */
	int32_t version;
	int64_t deadline; /* CLOCK_MONOTONIC ms. */
	struct expect *next;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The process of thread @tid and that process's parent, from /proc. Returns 0 or -ESRCH. */
static int proc_ids(pid_t tid, pid_t *pid, pid_t *ppid)
{
	char path[64], line[128];
	int found = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	f = fopen(path, "r");
	if (!f)
		return -ESRCH;
	while (found < 2 && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "Tgid: %d", pid) == 1 || sscanf(line, "PPid: %d", ppid) == 1)
			found++;
	}
	fclose(f);
	return found == 2 ? 0 : -ESRCH;
}

/* Unlink and free every expired entry and, when @owner > 0, that owner's. */
static void prune(struct expect **list, pid_t owner)
{
	int64_t now = now_ms();
	struct expect **p = list, *e;

	while ((e = *p)) {
		if (e->deadline <= now || e->owner == owner) {
			*p = e->next;
			free(e);
		} else {
			p = &e->next;
		}
	}
}

int expect_set(struct expect **list, pid_t tid, int32_t version)
{
	struct expect *e;
	pid_t pid, ppid;

	if (proc_ids(tid, &pid, &ppid))
		return -ESRCH;
	prune(list, ppid);
	e = malloc(sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->owner = ppid;
	e->version = version;
	e->deadline = now_ms() + EXPECT_TTL_MS;
	e->next = *list;
	*list = e;
	return 0;
}

/* The entry of @list owned by process @pid, or NULL. */
static struct expect **owned_by(struct expect **list, pid_t pid)
{
	struct expect **p;

	for (p = list; *p; p = &(*p)->next) {
		if ((*p)->owner == pid)
			return p;
	}
	return NULL;
}

bool expect_take(struct expect **list, pid_t tid, int32_t *version)
{
	struct expect **p = NULL, *e;
	pid_t pid, ppid;
	int depth;

	prune(list, 0);
	if (!*list || proc_ids(tid, &pid, &ppid))
		return false;
	/* The writer, or one of its ancestors (a subshell, `$(...)`, `bash -c`) below the shell. */
	for (depth = 0; depth < EXPECT_MAX_DEPTH && pid > 1 && !p; depth++) {
		p = owned_by(list, pid);
		if (!p && proc_ids(ppid, &pid, &ppid))
			break;
	}
	if (!p)
		return false;
	e = *p;
	*version = e->version;
	*p = e->next;
	free(e);
	return true;
}

void expect_clear(struct expect **list)
{
	struct expect *e;

	while ((e = *list)) {
		*list = e->next;
		free(e);
	}
}
