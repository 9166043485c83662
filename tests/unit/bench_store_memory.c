/* bench_store_memory: resident bytes per znode for N znodes of 100 bytes (default 1,000,000),
 * plus the time to look them up, to snapshot, load and digest them. A measurement that prints
 * figures, never a pass/fail test. Usage: bench_store_memory [N [random]]. Nodes are
 * /pNNNN/cNNNNNN, 1000 per parent, with world:anyone ACLs, as a typical tree; their values are
 * 100 'x' (as zkfs-bench writes), or with `random` 100 pseudo-random bytes each (what a
 * compressor cannot shrink). Snapshot times are given as wall clock and as this process's CPU
 * time, which a loaded machine barely changes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/zk_buf.h"
#include "store/store.h"

static const struct store_acl acl_open[] = {{ZK_PERM_ALL, "world", "anyone"}};

/* Resident set size in bytes, from /proc/self/statm. */
static long rss_bytes(void)
{
	long pages = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f == NULL)
		return -1;
	if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
		resident = -1;
	fclose(f);
	return resident * sysconf(_SC_PAGESIZE);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* xorshift64: the same pseudo-random values in every run. */
static void fill_random(uint8_t *p, size_t len, uint64_t *state)
{
	for (size_t i = 0; i < len; i++) {
		*state ^= *state << 13;
		*state ^= *state >> 7;
		*state ^= *state << 17;
		p[i] = (uint8_t)*state;
	}
}

static int create(struct store *s, int64_t zxid, const char *path, const uint8_t *data, int len)
{
	struct store_txn txn = {.type = ZK_OP_CREATE, .time_ms = zxid};
	struct store_result res;
	int rc;

	txn.op = (struct store_op){.type = ZK_OP_CREATE, .path = path, .data = data,
				   .data_len = len, .version = -1, .ttl = -1, .acl = acl_open,
				   .n_acl = 1};
	rc = store_apply(s, zxid, &txn, &res);
	if (rc == 0 && res.err != 0)
		rc = res.err;
	store_result_free(&res);
	return rc;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000000, i, j, before, after;
	int rnd = argc > 2 && strcmp(argv[2], "random") == 0;
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	uint8_t data[100];
	char path[64];
	struct store *s, *s2;
	struct zk_buf snap;
	struct zk_stat st;
	int64_t zxid = 0;
	uint64_t digest;
	double t0, t1, c0;
	int rc;

	memset(data, 'x', sizeof(data));
	if (store_create(NULL, NULL, NULL, &s) != 0)
		return 1;
	before = rss_bytes();
	t0 = now_s();
	for (i = 0; i < n; i++) {
		if (i % 1000 == 0) {
			snprintf(path, sizeof(path), "/p%04ld", i / 1000);
			if (create(s, ++zxid, path, NULL, 0) != 0)
				return 1;
		}
		snprintf(path, sizeof(path), "/p%04ld/c%06ld", i / 1000, i);
		if (rnd)
			fill_random(data, sizeof(data), &seed);
		if (create(s, ++zxid, path, data, sizeof(data)) != 0)
			return 1;
	}
	after = rss_bytes();
	t0 = now_s() - t0;
	printf("znodes: %ld of %zu %s bytes, created in %.2f s (%.0f/s)\n", n, sizeof(data), rnd ? "random" : "'x'", t0,
	       (double)n / t0);
	printf("resident: %.1f bytes per znode (Apache ZooKeeper: ~1.7 KB)\n",
	       (double)(after - before) / (double)n);
	t0 = now_s();
	for (i = 0; i < n; i++) {
		j = (i * 7919) % n; /* A stride that visits every node, out of creation order. */
		snprintf(path, sizeof(path), "/p%04ld/c%06ld", j / 1000, j);
		if (store_exists(s, path, &st) != ZK_ERR_OK)
			return 1;
	}
	t1 = now_s();
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "/p%04ld/x%06ld", i / 1000, i);
		if (store_exists(s, path, &st) != ZK_ERR_NONODE)
			return 1;
	}
	printf("lookups: %.0f/s of existing nodes, %.0f/s of missing ones\n",
	       (double)n / (t1 - t0), (double)n / (now_s() - t1));
	t0 = now_s();
	digest = store_digest(s);
	printf("digest %016llx in %.2f s\n", (unsigned long long)digest, now_s() - t0);
	zk_buf_init(&snap);
	t0 = now_s();
	c0 = cpu_s();
	if (store_snapshot_write(s, &snap) != 0)
		return 1;
	printf("snapshot: %zu bytes (%.1f per znode), written in %.2f s (CPU %.2f s)\n", snap.len,
	       (double)snap.len / (double)n, now_s() - t0, cpu_s() - c0);
	if (store_create(NULL, NULL, NULL, &s2) != 0)
		return 1;
	t0 = now_s();
	c0 = cpu_s();
	if (store_snapshot_load(s2, snap.data, snap.len) != 0)
		return 1;
	printf("snapshot loaded in %.2f s (CPU %.2f s), digest %s\n", now_s() - t0, cpu_s() - c0,
	       store_digest(s2) == digest ? "equal" : "DIFFERENT");
	t0 = now_s();
	rc = store_check(s2);
	printf("store_check: %d in %.2f s\n", rc, now_s() - t0);
	zk_buf_close(&snap);
	store_destroy(s2);
	store_destroy(s);
	return 0;
}
