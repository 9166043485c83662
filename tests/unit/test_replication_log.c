/* test_replication_log.c: the pre-start check of libraft's log segments (replication/
 * log_check.h) on segments crafted byte by byte: valid ones, with libraft's zero-filled
 * preallocated tail, torn at every byte of the last batch, a flipped byte in each batch, empty
 * and all-zero open segments, unknown format versions; then whole data dirs: what is cut, what
 * refuses the start. The crafting encoder here is independent of the scanner (bitwise CRC
 * checked against the CRC catalogue); test_replication.c checks the scanner on files libraft
 * itself wrote. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <raft.h>

#include "replication/log_check.h"

#define SEG_MAX (1 << 16)
#define SEG_BATCHES 4

/* A crafted segment: its bytes and where each batch starts. */
struct seg {
	uint8_t b[SEG_MAX];
	size_t len;
	size_t start[SEG_BATCHES + 1]; /* start[n_batches] is the end of the last batch. */
	int n_batches;
	uint64_t n_entries;
};

/* CRC-32 with polynomial 0x04c11db7, MSB first, init 0, no final xor, one bit at a time. */
static uint32_t ref_crc(const uint8_t *p, size_t n)
{
	uint32_t crc = 0;
	int k;

	while (n-- > 0) {
		crc ^= (uint32_t)*p++ << 24;
		for (k = 0; k < 8; k++)
			crc = (crc & 0x80000000u) ? (crc << 1) ^ 0x04c11db7u : crc << 1;
	}
	return crc;
}

static void put_le(uint8_t *p, uint64_t v, int bytes)
{
	int i;

	for (i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void seg_init(struct seg *s, uint64_t format)
{
	memset(s, 0, sizeof(*s));
	put_le(s->b, format, 8);
	s->len = 8;
}

/* Append a batch of @n entries of @type, each @len bytes (a multiple of 8) of @fill. */
static void seg_batch(struct seg *s, unsigned n, uint8_t type, uint32_t len, uint8_t fill)
{
	uint8_t *p = s->b + s->len, *hdr = p + 8, *data;
	size_t hdr_len = 8 + 16 * (size_t)n;
	unsigned i;

	assert_true(s->len + 8 + hdr_len + (size_t)n * len <= SEG_MAX);
	put_le(hdr, n, 8);
	for (i = 0; i < n; i++) {
		put_le(hdr + 8 + 16 * i, 3, 8); /* term */
		hdr[8 + 16 * i + 8] = type;
		put_le(hdr + 8 + 16 * i + 12, len, 4);
	}
	data = hdr + hdr_len;
	memset(data, fill, (size_t)n * len);
	put_le(p, ref_crc(hdr, hdr_len), 4);
	put_le(p + 4, ref_crc(data, (size_t)n * len), 4);
	s->start[s->n_batches++] = s->len;
	s->len += 8 + hdr_len + (size_t)n * len;
	s->start[s->n_batches] = s->len;
	s->n_entries += n;
}

/* Three batches of 1, 2 and 3 entries of 24..40 bytes. */
static void seg_valid(struct seg *s)
{
	seg_init(s, REPL_LOG_FORMAT);
	seg_batch(s, 1, RAFT_CHANGE, 24, 0x11);
	seg_batch(s, 2, RAFT_COMMAND, 32, 0x22);
	seg_batch(s, 3, RAFT_COMMAND, 40, 0x33);
}

/* The reference CRC is the catalogue's CRC-32/POSIX without its final xor (check value
 * 0x765e7680 ^ 0xffffffff for "123456789"): the crafted segments use libraft's checksum. */
static void reference_crc_is_libraft_crc(void **state)
{
	(void)state;
	assert_int_equal(ref_crc((const uint8_t *)"123456789", 9), 0x765e7680u ^ 0xffffffffu);
}

/* A valid segment scans clean, with or without libraft's zero-filled preallocated tail. */
static void valid_segment_is_clean(void **state)
{
	struct repl_log_scan sc;
	static struct seg s;

	(void)state;
	seg_valid(&s);
	repl_log_scan(s.b, s.len, &sc);
	assert_int_equal(sc.end, REPL_LOG_CLEAN);
	assert_int_equal(sc.valid_end, s.len);
	assert_int_equal(sc.n_batches, 3);
	assert_int_equal(sc.n_entries, 6);
	repl_log_scan(s.b, SEG_MAX, &sc); /* zeros after the last batch */
	assert_int_equal(sc.end, REPL_LOG_CLEAN);
	assert_int_equal(sc.valid_end, s.len);
	assert_int_equal(sc.data_end, s.len);
	assert_int_equal(sc.n_entries, 6);
}

/* An empty file and a preallocated, never written one (all zeros) hold nothing, cleanly. */
static void empty_and_zero_segments(void **state)
{
	static uint8_t zeros[4096];
	struct repl_log_scan sc;

	(void)state;
	repl_log_scan(zeros, 0, &sc);
	assert_int_equal(sc.end, REPL_LOG_CLEAN);
	assert_int_equal(sc.data_end, 0);
	repl_log_scan(zeros, sizeof(zeros), &sc);
	assert_int_equal(sc.end, REPL_LOG_CLEAN);
	assert_int_equal(sc.data_end, 0);
	assert_int_equal(sc.valid_end, 0);
	assert_int_equal(sc.n_entries, 0);
}

/* A file cut at any byte inside the last batch, or whose last batch is zeroed from any byte
 * on (a torn write into the preallocated file), ends at the batch before, with nothing valid
 * after it. */
static void torn_at_every_byte_of_last_batch(void **state)
{
	static struct seg s, z;
	struct repl_log_scan sc;
	size_t cut, first = 0, last;

	(void)state;
	seg_valid(&s);
	first = s.start[2];
	last = s.start[3];
	for (cut = first + 1; cut < last; cut++) {
		repl_log_scan(s.b, cut, &sc);
		assert_int_equal(sc.end, REPL_LOG_TORN);
		assert_int_equal(sc.valid_end, first);
		assert_int_equal(sc.n_entries, 3);
		assert_int_equal(sc.resync, 0);
		z = s;
		memset(z.b + cut, 0, SEG_MAX - cut);
		repl_log_scan(z.b, SEG_MAX, &sc);
		if (cut - first >= 16)
			assert_int_equal(sc.end, REPL_LOG_BAD); /* a checksum fails */
		assert_int_not_equal(sc.end, REPL_LOG_TORN);
		assert_int_equal(sc.valid_end, first);
		assert_int_equal(sc.resync, 0);
	}
}

/* One flipped byte anywhere in a batch that is not the last is damage followed by valid
 * data (resync found); in the last batch it looks like a torn write (no resync). The format
 * field is covered by unknown_format_versions. */
static void flipped_byte_in_each_batch(void **state)
{
	static struct seg s, f;
	struct repl_log_scan sc;
	size_t at;
	int i;

	(void)state;
	seg_valid(&s);
	for (i = 0; i < s.n_batches; i++) {
		for (at = s.start[i]; at < s.start[i + 1]; at++) {
			f = s;
			f.b[at] ^= 0x5a;
			repl_log_scan(f.b, SEG_MAX, &sc);
			/* A flipped entry count may run the header past the end: TORN. */
			assert_true(sc.end == REPL_LOG_BAD || sc.end == REPL_LOG_TORN);
			assert_int_equal(sc.valid_end, s.start[i]);
			if (i + 1 < s.n_batches) {
				assert_true(sc.resync > s.start[i]);
				assert_true(sc.resync <= s.start[i + 1]);
			} else {
				assert_int_equal(sc.resync, 0);
			}
		}
	}
}

/* A zero tail shorter than a batch preamble still scans clean (repl_log_check cuts it, since
 * libraft would read past the end there). */
static void short_zero_tail(void **state)
{
	static struct seg s;
	struct repl_log_scan sc;

	(void)state;
	seg_valid(&s);
	repl_log_scan(s.b, s.len + 8, &sc);
	assert_int_equal(sc.end, REPL_LOG_CLEAN);
	assert_int_equal(sc.valid_end, s.len);
}

/* Format versions other than 1 are refused, as libraft refuses them (format 0 is only fine
 * when the whole file is zero). */
static void unknown_format_versions(void **state)
{
	static struct seg s;
	struct repl_log_scan sc;

	(void)state;
	seg_valid(&s);
	put_le(s.b, 2, 8);
	repl_log_scan(s.b, s.len, &sc);
	assert_int_equal(sc.end, REPL_LOG_FORMAT_BAD);
	put_le(s.b, 0, 8);
	repl_log_scan(s.b, s.len, &sc);
	assert_int_equal(sc.end, REPL_LOG_FORMAT_BAD);
	put_le(s.b, 1, 8);
	repl_log_scan(s.b, 5, &sc); /* cut inside the format field */
	assert_int_equal(sc.end, REPL_LOG_TORN);
}

/* An entry type libraft does not know, under a right checksum, is damage (libraft's loader
 * fails it with RAFT_MALFORMED, on its double-free path). */
static void unknown_entry_type(void **state)
{
	static struct seg s;
	struct repl_log_scan sc;

	(void)state;
	seg_init(&s, REPL_LOG_FORMAT);
	seg_batch(&s, 1, RAFT_COMMAND, 8, 1);
	seg_batch(&s, 1, 9, 8, 2);
	repl_log_scan(s.b, s.len, &sc);
	assert_int_equal(sc.end, REPL_LOG_BAD);
	assert_int_equal(sc.valid_end, s.start[1]);
	assert_int_equal(sc.bad_entries, -1);
}

/* Data dir fixture: a temporary directory. */
struct fixture {
	char dir[64];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/zkfs-logcheck-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void write_file(struct fixture *f, const char *name, const uint8_t *p, size_t len)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, p, len), (ssize_t)len);
	close(fd);
}

static off_t file_size(struct fixture *f, const char *name)
{
	char path[128];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

/* A closed segment of entries 1-6 (seg_valid's) plus open segments. */
static void write_closed(struct fixture *f)
{
	static struct seg s;

	seg_valid(&s);
	write_file(f, "0000000000000001-0000000000000006", s.b, s.len);
}

/* A missing data dir (a fresh server) and a dir of whole segments pass unchanged. */
static void whole_dir_passes(void **state)
{
	struct fixture *f = *state;
	struct repl_log_check lc;
	static struct seg s;
	char missing[96];

	snprintf(missing, sizeof(missing), "%s/none", f->dir);
	assert_int_equal(repl_log_check(missing, &lc), 0);
	write_closed(f);
	seg_valid(&s);
	write_file(f, "open-1", s.b, SEG_MAX);
	write_file(f, "open-2", s.b + SEG_MAX / 2, SEG_MAX / 2); /* preallocated, zeros */
	write_file(f, "open-3", s.b, 0);
	assert_int_equal(repl_log_check(f->dir, &lc), 0);
	assert_int_equal(lc.n_closed, 1);
	assert_int_equal(lc.n_open, 3);
	assert_int_equal(lc.n_entries, 12);
	assert_string_equal(lc.cut_file, "");
	assert_int_equal(file_size(f, "open-1"), SEG_MAX);
}

/* The newest open segment torn inside its last batch is cut back to the batch before; one
 * torn inside its first batch is emptied (libraft removes empty open segments). */
static void torn_newest_open_is_cut(void **state)
{
	struct fixture *f = *state;
	struct repl_log_check lc;
	static struct seg s;

	write_closed(f);
	seg_valid(&s);
	write_file(f, "open-1", s.b, s.start[3] - 7);
	assert_int_equal(repl_log_check(f->dir, &lc), 0);
	assert_string_equal(lc.cut_file, "open-1");
	assert_int_equal(lc.cut_at, s.start[2]);
	assert_int_equal(lc.cut_entries, 3);
	assert_int_equal(file_size(f, "open-1"), (off_t)s.start[2]);
	assert_int_equal(repl_log_check(f->dir, &lc), 0); /* idempotent */
	assert_string_equal(lc.cut_file, "");

	write_file(f, "open-2", s.b, s.start[0] + 10);
	assert_int_equal(repl_log_check(f->dir, &lc), 0);
	assert_string_equal(lc.cut_file, "open-2");
	assert_int_equal(file_size(f, "open-2"), 0);
}

/* A zero tail shorter than a batch preamble is cut (libraft would read past the end). */
static void short_zero_tail_is_cut(void **state)
{
	struct fixture *f = *state;
	static struct seg s;

	seg_valid(&s);
	write_file(f, "open-1", s.b, s.len + 8);
	assert_int_equal(repl_log_check(f->dir, NULL), 0);
	assert_int_equal(file_size(f, "open-1"), (off_t)s.len);
}

/* A flipped byte in a batch followed by valid ones refuses the start and changes nothing;
 * in the last batch of the newest open segment it is cut like a torn write. */
static void flipped_open_refuses_unless_last(void **state)
{
	struct fixture *f = *state;
	struct repl_log_check lc;
	static struct seg s;

	seg_valid(&s);
	s.b[s.start[1] + 20] ^= 1;
	write_file(f, "open-1", s.b, SEG_MAX);
	assert_int_equal(repl_log_check(f->dir, &lc), -EBADMSG);
	assert_int_equal(file_size(f, "open-1"), SEG_MAX);

	seg_valid(&s);
	s.b[s.start[2] + 20] ^= 1;
	write_file(f, "open-1", s.b, SEG_MAX);
	assert_int_equal(repl_log_check(f->dir, &lc), 0);
	assert_int_equal(file_size(f, "open-1"), (off_t)s.start[2]);
	assert_int_equal(lc.cut_entries, -1); /* its header was hit: unreadable */
}

/* Damage in an open segment that is not the newest holding data refuses the start, and
 * nothing is cut, not even the newest segment's torn tail. */
static void torn_older_open_refuses(void **state)
{
	struct fixture *f = *state;
	static struct seg s;

	seg_valid(&s);
	write_file(f, "open-1", s.b, s.start[3] - 7);
	write_file(f, "open-2", s.b, s.start[3] - 7);
	assert_int_equal(repl_log_check(f->dir, NULL), -EBADMSG);
	assert_int_equal(file_size(f, "open-1"), (off_t)s.start[3] - 7);
	assert_int_equal(file_size(f, "open-2"), (off_t)s.start[3] - 7);
}

/* Any damage in a closed segment refuses the start: a flipped byte, a cut tail, zero bytes
 * after the last batch, an entry count other than its name's, an empty file. */
static void damaged_closed_refuses(void **state)
{
	struct fixture *f = *state;
	const char *name = "0000000000000001-0000000000000006";
	static struct seg s;

	seg_valid(&s);
	s.b[s.start[2] + 30] ^= 0x80;
	write_file(f, name, s.b, s.len);
	assert_int_equal(repl_log_check(f->dir, NULL), -EBADMSG);
	seg_valid(&s);
	write_file(f, name, s.b, s.len - 8);
	assert_int_equal(repl_log_check(f->dir, NULL), -EBADMSG);
	write_file(f, name, s.b, s.len + 64);
	assert_int_equal(repl_log_check(f->dir, NULL), -EBADMSG);
	write_file(f, name, s.b, 0);
	assert_int_equal(repl_log_check(f->dir, NULL), -EBADMSG);
	write_file(f, name, s.b, s.len);
	assert_int_equal(repl_log_check(f->dir, NULL), 0);
	write_file(f, "0000000000000007-0000000000000013", s.b, s.len);
	assert_int_equal(repl_log_check(f->dir, NULL), -EBADMSG);
}

/* An unknown format version in an open segment with data refuses the start. */
static void unknown_format_refuses(void **state)
{
	struct fixture *f = *state;
	static struct seg s;

	seg_valid(&s);
	put_le(s.b, 2, 8);
	write_file(f, "open-1", s.b, s.len);
	assert_int_equal(repl_log_check(f->dir, NULL), -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(reference_crc_is_libraft_crc),
		cmocka_unit_test(valid_segment_is_clean),
		cmocka_unit_test(empty_and_zero_segments),
		cmocka_unit_test(torn_at_every_byte_of_last_batch),
		cmocka_unit_test(flipped_byte_in_each_batch),
		cmocka_unit_test(short_zero_tail),
		cmocka_unit_test(unknown_format_versions),
		cmocka_unit_test(unknown_entry_type),
		cmocka_unit_test_setup_teardown(whole_dir_passes, setup, teardown),
		cmocka_unit_test_setup_teardown(torn_newest_open_is_cut, setup, teardown),
		cmocka_unit_test_setup_teardown(short_zero_tail_is_cut, setup, teardown),
		cmocka_unit_test_setup_teardown(flipped_open_refuses_unless_last, setup, teardown),
		cmocka_unit_test_setup_teardown(torn_older_open_refuses, setup, teardown),
		cmocka_unit_test_setup_teardown(damaged_closed_refuses, setup, teardown),
		cmocka_unit_test_setup_teardown(unknown_format_refuses, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
