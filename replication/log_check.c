/* log_check.c: the pre-start check of libraft 0.15's log segments (see log_check.h for the
 * format and the rules). Written from libraft v0.15.0's src/uv_segment.c (uvLoadEntriesBatch,
 * uvSegmentLoadOpen, uvSegmentLoadClosed), src/uv_encoding.c (uvEncodeBatchHeader) and
 * src/byte.c (byteCrc32); the checks follow the loader's order so that what passes here loads
 * there, and what libraft would mishandle never reaches it. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <raft.h>

#include "common/zk_alloc.h"
#include "common/zk_log.h"
#include "replication/log_check.h"

/* libraft's bound on the entry count of a batch (UV__MAX_SEGMENT_SIZE / 32). */
#define LOG_MAX_BATCH_ENTRIES ((8u << 20) / 32)
#define LOG_CRC_POLY 0x04c11db7u

enum { BATCH_OK, BATCH_SHORT, BATCH_BAD };

/* One batch as batch_at decoded it. */
struct batch {
	uint64_t n;	/* Entry count of the header. */
	size_t end;	/* Offset after the batch (when the header passed its checksum). */
	bool header_ok; /* The header passed its checksum. */
	const char *why;
};

/* crc_table[0] is the byte-at-a-time table; crc_table[k][i] is the effect of byte i followed
 * by k zero bytes, so that four bytes are folded in at once ("slicing by 4": a start-up
 * check of 64 MiB of log takes about a third of the time of the byte loop). */
static uint32_t crc_table[4][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
	uint32_t c;
	int i, k;

	for (i = 0; i < 256; i++) {
		c = (uint32_t)i << 24;
		for (k = 0; k < 8; k++)
			c = (c & 0x80000000u) ? (c << 1) ^ LOG_CRC_POLY : c << 1;
		crc_table[0][i] = c;
	}
	for (k = 1; k < 4; k++)
		for (i = 0; i < 256; i++)
			crc_table[k][i] = (crc_table[k - 1][i] << 8) ^
					  crc_table[0][crc_table[k - 1][i] >> 24];
}

/* libiberty's crc32 of @len bytes at @p (MSB first, init 0, no final xor), as libraft's. */
static uint32_t crc32_msb(const uint8_t *p, size_t len)
{
	uint32_t crc = 0;

	for (; len >= 4; len -= 4, p += 4) {
		crc ^= (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
		crc = crc_table[3][crc >> 24] ^ crc_table[2][(crc >> 16) & 0xff] ^
		      crc_table[1][(crc >> 8) & 0xff] ^ crc_table[0][crc & 0xff];
	}
	while (len-- > 0)
		crc = (crc << 8) ^ crc_table[0][((crc >> 24) ^ *p++) & 0xff];
	return crc;
}

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int batch_fail(struct batch *b, int rv, const char *why)
{
	b->why = why;
	return rv;
}

/* Entry types of the header (RAFT_COMMAND, RAFT_BARRIER, RAFT_CHANGE); libraft refuses the
 * others with RAFT_MALFORMED, a path of its loader that double-frees as well. */
static bool types_ok(const uint8_t *hdr, uint64_t n)
{
	uint64_t i;

	for (i = 0; i < n; i++) {
		uint8_t t = hdr[8 + 16 * i + 8];
		if (t != RAFT_COMMAND && t != RAFT_BARRIER && t != RAFT_CHANGE)
			return false;
	}
	return true;
}

/* Decode the batch at @off of the @len bytes at @buf. @quick: skip the header checksum when
 * the types are already wrong (resync search; the reason text is then less precise).
 * Returns BATCH_OK (b->end set), BATCH_SHORT (the file ends inside it) or BATCH_BAD. */
static int batch_at(const uint8_t *buf, size_t len, size_t off, struct batch *b, bool quick)
{
	const uint8_t *hdr = buf + off + 8;
	size_t hdr_len, data_len = 0, i;
	bool types;

	b->header_ok = false;
	if (len - off < 16)
		return batch_fail(b, BATCH_SHORT, "the file ends inside a batch preamble");
	b->n = le64(hdr);
	if (b->n == 0)
		return batch_fail(b, BATCH_BAD, "entry count is zero");
	if (b->n > LOG_MAX_BATCH_ENTRIES)
		return batch_fail(b, BATCH_BAD, "entry count is too high");
	hdr_len = 8 + 16 * (size_t)b->n;
	if (len - off - 8 < hdr_len)
		return batch_fail(b, BATCH_SHORT, "the file ends inside a batch header");
	types = types_ok(hdr, b->n);
	if (!types && quick)
		return batch_fail(b, BATCH_BAD, "unknown entry type");
	if (crc32_msb(hdr, hdr_len) != le32(buf + off))
		return batch_fail(b, BATCH_BAD, "header checksum mismatch");
	if (!types)
		return batch_fail(b, BATCH_BAD, "unknown entry type (header checksum right)");
	b->header_ok = true;
	for (i = 0; i < b->n; i++)
		data_len += le32(hdr + 8 + 16 * i + 12);
	b->end = off + 8 + hdr_len + data_len;
	if (len - off - 8 - hdr_len < data_len)
		return batch_fail(b, BATCH_SHORT, "the file ends inside a batch's data");
	if (crc32_msb(hdr + hdr_len, data_len) != le32(buf + off + 4))
		return batch_fail(b, BATCH_BAD, "data checksum mismatch");
	return BATCH_OK;
}

/* First offset after the damaged batch at @off where a whole valid batch starts, 0 if none.
 * Batches start 8-byte aligned (entry data is padded to 8). When the damaged batch's header
 * passed its checksum its extent is known and the search starts after it, so that bytes of
 * its own entries are never taken for a batch. */
static size_t find_resync(const uint8_t *buf, size_t len, size_t data_end, size_t off,
			  const struct batch *bad)
{
	struct batch b;
	size_t s = bad->header_ok ? bad->end : off + 8;

	for (; s < data_end && s + 16 <= len; s += 8)
		if (batch_at(buf, len, s, &b, true) == BATCH_OK)
			return s;
	return 0;
}

/* Offset after the last non-zero byte of the @len bytes at @buf (8 at a time: open segments
 * are mostly zero-filled preallocation). */
static size_t nonzero_end(const uint8_t *buf, size_t len)
{
	uint64_t w;

	for (; len >= 8; len -= 8) {
		memcpy(&w, buf + len - 8, 8);
		if (w != 0)
			break;
	}
	while (len > 0 && buf[len - 1] == 0)
		len--;
	return len;
}

void repl_log_scan(const uint8_t *buf, size_t len, struct repl_log_scan *out)
{
	struct batch b;
	size_t off;
	int rv;

	pthread_once(&crc_once, crc_init);
	memset(out, 0, sizeof(*out));
	out->why = "";
	out->bad_entries = -1;
	out->data_end = nonzero_end(buf, len);
	if (out->data_end == 0)
		return;
	if (len < 8) {
		out->end = REPL_LOG_TORN;
		out->why = "the file ends inside the format version";
		return;
	}
	out->format = le64(buf);
	if (out->format != REPL_LOG_FORMAT) {
		out->end = REPL_LOG_FORMAT_BAD;
		out->why = "unknown format version";
		return;
	}
	for (off = 8; off < out->data_end; off = b.end) {
		rv = batch_at(buf, len, off, &b, false);
		if (rv != BATCH_OK) {
			out->end = rv == BATCH_SHORT ? REPL_LOG_TORN : REPL_LOG_BAD;
			out->why = b.why;
			out->bad_entries = b.header_ok ? (long)b.n : -1;
			out->resync = find_resync(buf, len, out->data_end, off, &b);
			break;
		}
		out->n_batches++;
		out->n_entries += b.n;
	}
	out->valid_end = off;
}

/* A segment file of the data dir. */
struct seg {
	char name[64];
	bool open;
	unsigned long long first, last; /* Closed: index range; open: counter in first. */
	struct repl_log_scan sc;	/* Open: what the scan found. */
	size_t len;			/* Open: file length. */
};

/* libraft's file names (src/uv_segment.c uvSegmentInfoMatch): the whole name must match. */
static bool seg_parse(const char *name, struct seg *s)
{
	int used = 0;

	if (strlen(name) >= sizeof(s->name))
		return false;
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->open = false;
	if (sscanf(name, "%016llu-%016llu%n", &s->first, &s->last, &used) == 2 &&
	    name[used] == '\0')
		return true;
	used = 0;
	s->open = true;
	return sscanf(name, "open-%llu%n", &s->first, &used) == 1 && name[used] == '\0';
}

/* Closed segments by first index, then open ones by counter (libraft's load order). */
static int seg_cmp(const void *a, const void *b)
{
	const struct seg *x = a, *y = b;

	if (x->open != y->open)
		return x->open ? 1 : -1;
	return x->first < y->first ? -1 : x->first > y->first;
}

static int list_segments(const char *dir, struct seg **out, size_t *n)
{
	struct seg *v = NULL, *grown, s;
	size_t cap = 0;
	struct dirent *e;
	DIR *d = opendir(dir);

	*n = 0;
	if (d == NULL)
		return errno == ENOENT ? 0 : -errno;
	while ((e = readdir(d)) != NULL) {
		if (!seg_parse(e->d_name, &s))
			continue;
		if (*n == cap) {
			cap = cap ? 2 * cap : 16;
			grown = zk_realloc(v, cap * sizeof(*v));
			if (grown == NULL) {
				zk_free(v);
				closedir(d);
				return -ENOMEM;
			}
			v = grown;
		}
		v[(*n)++] = s;
	}
	closedir(d);
	if (*n > 0)
		qsort(v, *n, sizeof(*v), seg_cmp);
	*out = v;
	return 0;
}

/* A reusable read buffer. */
struct rbuf {
	uint8_t *p;
	size_t len, cap;
};

static int read_whole(const char *dir, const char *name, struct rbuf *b)
{
	char path[4096];
	struct stat st;
	uint8_t *grown;
	ssize_t got;
	int fd, rv = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0) {
		rv = -errno;
		goto out;
	}
	if ((size_t)st.st_size > b->cap) {
		grown = zk_realloc(b->p, (size_t)st.st_size);
		if (grown == NULL) {
			rv = -ENOMEM;
			goto out;
		}
		b->p = grown;
		b->cap = (size_t)st.st_size;
	}
	for (b->len = 0; b->len < (size_t)st.st_size; b->len += (size_t)got) {
		got = pread(fd, b->p + b->len, (size_t)st.st_size - b->len, (off_t)b->len);
		if (got <= 0) {
			rv = got < 0 ? -errno : 0;
			break;
		}
	}
out:
	if (rv != 0)
		zk_log_error("replication: cannot read log segment %s: %s", path, strerror(-rv));
	if (fd >= 0)
		close(fd);
	return rv;
}

static int cut_file(const char *dir, const char *name, size_t len)
{
	char path[4096];
	int fd, rv = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || ftruncate(fd, (off_t)len) != 0 || fsync(fd) != 0)
		rv = -errno;
	if (fd >= 0)
		close(fd);
	if (rv != 0)
		zk_log_error("replication: cannot cut log segment %s to %zu bytes: %s", path, len,
			     strerror(-rv));
	return rv;
}

/* A closed segment must decode whole with the entry count of its name. */
static int check_closed(const char *dir, const struct seg *s, const struct rbuf *b,
			struct repl_log_check *out)
{
	unsigned long long want = s->last - s->first + 1;
	struct repl_log_scan sc;
	const char *why;
	size_t at;

	repl_log_scan(b->p, b->len, &sc);
	out->n_entries += sc.n_entries;
	at = sc.valid_end;
	if (b->len == 0)
		why = "the file is empty";
	else if (sc.end != REPL_LOG_CLEAN)
		why = sc.why;
	else if (sc.valid_end != b->len)
		why = "zero bytes after the last batch";
	else if (sc.n_entries != want)
		why = "entry count differs from the file name";
	else
		return 0;
	zk_log_error("replication: log segment %s/%s is corrupt at byte %zu (%s; %llu of %llu "
		     "entries readable): entries %llu-%llu were acknowledged, refusing to start "
		     "(restore this data dir from a replica or a backup)",
		     dir, s->name, at, why, (unsigned long long)sc.n_entries, want, s->first,
		     s->last);
	return -EBADMSG;
}

/* The newest open segment ends in a torn write: cut it back to its last valid batch (or to
 * nothing, which libraft then removes: a segment of only a format field does not load). */
static int cut_torn_tail(const char *dir, const struct seg *s, const struct repl_log_scan *sc,
			 struct repl_log_check *out)
{
	size_t at = sc->n_batches > 0 ? sc->valid_end : 0;
	int rv = cut_file(dir, s->name, at);
	char what[64];

	if (rv != 0)
		return rv;
	snprintf(out->cut_file, sizeof(out->cut_file), "%s", s->name);
	out->cut_at = at;
	out->cut_bytes = sc->data_end > sc->valid_end ? sc->data_end - sc->valid_end : 0;
	out->cut_entries = sc->bad_entries;
	if (sc->bad_entries >= 0)
		snprintf(what, sizeof(what), "a batch of %ld entries", sc->bad_entries);
	else
		snprintf(what, sizeof(what), "an unreadable batch");
	/* An open segment is preallocated (posix_fallocate) at creation and written with
	 * O_DSYNC, so a power cut leaves its full length: a file ending inside a batch was
	 * shortened afterwards, and what it lost may have been acknowledged. */
	zk_log_warn("replication: log segment %s/%s: damaged tail at byte %zu (%s) cut, file "
		    "now %zu bytes, %zu bytes dropped with %s: %s",
		    dir, s->name, sc->valid_end, sc->why, at, out->cut_bytes, what,
		    sc->end == REPL_LOG_TORN
			    ? "the file was truncated below libraft's preallocated size after it "
			      "was written, so these entries may have been acknowledged (lost)"
			    : "a torn last write, never acknowledged (a batch is acknowledged only "
			      "once the one write holding it is on disk)");
	return 0;
}

/* Whether open segment @s may be loaded, possibly after a cut (no change made here): @newest
 * says whether it is the newest one holding data, the only place a torn write can be.
 * Returns 0 or -EBADMSG (logged). */
static int judge_open(const char *dir, const struct seg *s, bool newest)
{
	const struct repl_log_scan *sc = &s->sc;

	if (sc->data_end == 0 || sc->end == REPL_LOG_CLEAN)
		return 0; /* All zero (never written: libraft removes it) or whole. */
	if (sc->end == REPL_LOG_FORMAT_BAD)
		zk_log_error("replication: log segment %s/%s is corrupt at byte 0 (unknown format "
			     "version %llu), refusing to start",
			     dir, s->name, (unsigned long long)sc->format);
	else if (sc->resync != 0)
		zk_log_error("replication: log segment %s/%s is corrupt at byte %zu (%s) but a "
			     "valid batch follows at byte %zu: acknowledged entries would be lost, "
			     "refusing to start (restore this data dir from a replica or a backup)",
			     dir, s->name, sc->valid_end, sc->why, sc->resync);
	else if (!newest)
		zk_log_error("replication: log segment %s/%s is corrupt at byte %zu (%s) but a "
			     "newer segment holds data: acknowledged entries would be lost, refusing "
			     "to start (restore this data dir from a replica or a backup)",
			     dir, s->name, sc->valid_end, sc->why);
	else
		return 0;
	return -EBADMSG;
}

/* Make open segment @s (judged loadable) what libraft 0.15 loads safely. */
static int repair_open(const char *dir, const struct seg *s, struct repl_log_check *out)
{
	const struct repl_log_scan *sc = &s->sc;

	if (sc->data_end == 0)
		return 0;
	if (sc->end != REPL_LOG_CLEAN)
		return cut_torn_tail(dir, s, sc, out);
	/* libraft reads a 16-byte preamble after the last batch unless the file ends there: a
	 * shorter zero tail is a short read, its double-free path. */
	if (s->len > sc->valid_end && s->len - sc->valid_end < 16) {
		zk_log_info("replication: log segment %s/%s: zero tail of %zu bytes cut", dir,
			    s->name, s->len - sc->valid_end);
		return cut_file(dir, s->name, sc->valid_end);
	}
	return 0;
}

/* Read and scan every segment; closed ones are judged at once. */
static int scan_all(const char *dir, struct seg *v, size_t n, struct repl_log_check *out)
{
	struct rbuf b = {0};
	size_t i;
	int rv = 0;

	for (i = 0; rv == 0 && i < n; i++) {
		rv = read_whole(dir, v[i].name, &b);
		if (rv != 0)
			break;
		if (v[i].open) {
			out->n_open++;
			repl_log_scan(b.p, b.len, &v[i].sc);
			v[i].len = b.len;
			out->n_entries += v[i].sc.n_entries;
		} else {
			out->n_closed++;
			rv = check_closed(dir, &v[i], &b, out);
		}
	}
	zk_free(b.p);
	return rv;
}

int repl_log_check(const char *dir, struct repl_log_check *out)
{
	struct repl_log_check scratch;
	struct seg *v = NULL;
	size_t n, i, newest;
	int rv;

	if (out == NULL)
		out = &scratch;
	memset(out, 0, sizeof(*out));
	out->cut_entries = -1;
	rv = list_segments(dir, &v, &n);
	if (rv != 0) {
		zk_log_error("replication: cannot list %s: %s", dir, strerror(-rv));
		return rv;
	}
	rv = scan_all(dir, v, n, out);
	for (newest = n, i = n; i-- > 0 && v[i].open;)
		if (v[i].sc.data_end > 0) {
			newest = i;
			break;
		}
	/* Every segment is judged before anything is cut: a refusal changes nothing. */
	for (i = 0; rv == 0 && i < n; i++)
		if (v[i].open)
			rv = judge_open(dir, &v[i], i == newest);
	for (i = 0; rv == 0 && i < n; i++)
		if (v[i].open)
			rv = repair_open(dir, &v[i], out);
	zk_free(v);
	return rv;
}
