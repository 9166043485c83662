/* log_check: zkfsd's own reader of libraft 0.15's log segments, run by repl_start before
 * libraft opens the data dir.
 *
 * Why: libraft 0.15 (Debian's) mishandles damaged segments. A torn tail that ends inside a
 * batch after the first one makes src/uv_segment.c uvSegmentLoadOpen return RAFT_IOERR on a
 * path that frees the segment buffer earlier entries still point into, and the caller frees
 * it again (double free, abort at start). Any checksum mismatch in an open segment is taken
 * for a torn tail and everything after it is dropped silently, even when acknowledged
 * batches follow. So zkfsd checks the segments itself first:
 *   - closed segments (NNNNNNNNNNNNNNNN-MMMMMMMMMMMMMMMM) must decode whole, with the entry
 *     count their name says;
 *   - open segments (open-N) must decode up to a zero-filled tail (libraft preallocates them)
 *     or their end; only the newest open segment holding data may end in a damaged batch,
 *     and only when no valid batch follows it: that is a torn last write, never acknowledged
 *     (a batch is acknowledged only after the one write holding it completed with O_DSYNC;
 *     libraft has at most one write in flight). It is cut off with a WARN line. A file
 *     that ends inside a batch is cut the same way (as ZooKeeper takes a log ending inside
 *     a record for its end), but a power cut cannot shorten a preallocated segment, so
 *     there the WARN line says acknowledged entries may have been lost;
 *   - anything else (a damaged batch followed by valid data, damage in a closed or an older
 *     open segment, an unknown format version) refuses the start with an ERROR naming the
 *     file and the byte offset: acknowledged entries would be lost.
 *
 * On-disk format (read from libraft v0.15.0 src/uv_segment.c, uv_encoding.c, byte.c; all
 * integers little endian): a segment is an 8-byte format version (1), then batches. A batch
 * is two 4-byte CRCs (of the header, of the data), the header (8-byte entry count n, then per
 * entry 8-byte term, 1-byte type, 3 unused bytes, 4-byte data length) and the entries' data.
 * The CRC is libiberty's crc32 (polynomial 0x04c11db7, MSB first, initial value 0, no final
 * xor), not zlib's.
 *
 * Threads: any; no state is shared between calls except a read-only CRC table. */
#ifndef REPL_LOG_CHECK_H
#define REPL_LOG_CHECK_H

#include <stddef.h>
#include <stdint.h>

/* Format version libraft 0.15 writes first in every segment (UV__DISK_FORMAT). */
#define REPL_LOG_FORMAT 1

/* How a segment's bytes end after its last valid batch. */
enum repl_log_end {
	REPL_LOG_CLEAN,	 /* At the end of the file, or only zero bytes follow. */
	REPL_LOG_TORN,	 /* The file ends inside a batch (or inside the format field). */
	REPL_LOG_BAD,	 /* A batch fails a checksum or does not decode. */
	REPL_LOG_FORMAT_BAD, /* Non-zero bytes but an unknown format version. */
};

/* What repl_log_scan found in one segment. */
struct repl_log_scan {
	enum repl_log_end end;
	const char *why;     /* Static text for TORN/BAD/FORMAT_BAD; "" when CLEAN. */
	size_t valid_end;    /* Offset just after the last valid batch; 8 when there is none
				but a valid format; 0 for an empty or all-zero file. */
	size_t data_end;     /* Offset just after the last non-zero byte. */
	uint64_t format;     /* The format version field (0 when the file is shorter). */
	uint64_t n_entries;  /* Entries in the valid batches. */
	unsigned n_batches;  /* Valid batches. */
	long bad_entries;    /* TORN/BAD: entries the damaged batch's header declares when that
				header passed its checksum, else -1. */
	size_t resync;	     /* TORN/BAD: offset of the first valid batch found after the
				damaged one, 0 when none (the damage is the tail). */
};

/* Scan the @len bytes at @buf (borrowed) of one segment file as libraft 0.15 loads it. Never
 * fails; the result is in *@out. */
void repl_log_scan(const uint8_t *buf, size_t len, struct repl_log_scan *out);

/* Figures of a repl_log_check run. */
struct repl_log_check {
	unsigned n_closed, n_open;  /* Segment files checked. */
	uint64_t n_entries;	    /* Entries in valid batches, over all segments. */
	char cut_file[64];	    /* Open segment whose torn tail was cut; "" when none. */
	size_t cut_at;		    /* Its new length. */
	size_t cut_bytes;	    /* Non-zero bytes dropped with the tail. */
	long cut_entries;	    /* Entries of the dropped batch when its header was readable,
				       else -1. */
};

/* Check every segment of libraft's data dir @dir (borrowed; a missing dir is fine: a fresh
 * server), cutting a torn tail of the newest open segment (ftruncate + fsync, WARN line).
 * Must be called before libraft opens @dir. @out (may be NULL) gets the figures.
 * Returns 0 (the log is whole, or only an unacknowledged tail was cut), -EBADMSG (damage that
 * would lose acknowledged entries: nothing was changed, an ERROR line names the file and
 * offset; the server must not start), -ENOMEM, or another negative errno of a failed read,
 * truncate or fsync (logged). */
int repl_log_check(const char *dir, struct repl_log_check *out);

#endif
