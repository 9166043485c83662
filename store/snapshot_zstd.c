/* snapshot_zstd.c: the compressed envelope of a snapshot (store_int.h, "snapshot_zstd.c").
 *
 * Format (integers big-endian):
 *   "ZKFSSNZ1"        8 bytes of magic
 *   u64 raw length    bytes of the image inside (snapshot.c's format, its own CRC included)
 *   zstd frame        that image, compressed (libzstd, one frame)
 *   u32 CRC32C        of every byte before it
 * The outer CRC is checked before a byte is decompressed, so a damaged file is refused by the
 * checksum; a frame that passes it but does not decode (a writer bug, a crafted file) is
 * refused by libzstd, whose decoder is bounded by the output room it is given and the input it
 * reads (libraft's LZ4 reader, the reason snapshots were once stored raw, looped forever on
 * some damaged frames). The raw length is checked against ZSTD_decompressBound before anything
 * is allocated, so a crafted length cannot ask for more memory than the frame could fill.
 * libzstd allocates through zk_malloc (ZSTD_customMem), so its allocations fail under the
 * fault hook like every other one of the store. */
#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_customMem, ZSTD_decompressBound (exported by libzstd.so). */
#include <errno.h>
#include <string.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "common/zk_alloc.h"
#include "common/zk_buf.h"
#include "common/zk_log.h"
#include "store/store_int.h"

#define SNAPZ_MAGIC "ZKFSSNZ1"
#define SNAPZ_MAGIC_LEN 8
#define SNAPZ_HEAD_LEN (SNAPZ_MAGIC_LEN + 8)
/* zstd's fastest level: 3-4x smaller at ~0.4 GB/s on this kind of image (measured in
 * docs/ARCHITECTURE.md's performance notes), so the child's time stays near the raw write's. */
#define SNAPZ_LEVEL 1

static void *snapz_alloc(void *opaque, size_t size)
{
	(void)opaque;
	return zk_malloc(size);
}

static void snapz_free(void *opaque, void *p)
{
	(void)opaque;
	zk_free(p);
}

static const ZSTD_customMem snapz_mem = {snapz_alloc, snapz_free, NULL};

int store_snapz_begin(struct store_snapz *z, struct zk_buf *out)
{
	memset(z, 0, sizeof(*z));
	z->out = out;
	z->start = out->len;
	z->cctx = ZSTD_createCCtx_advanced(snapz_mem);
	if (z->cctx == NULL)
		return -ENOMEM;
	if (ZSTD_isError(ZSTD_CCtx_setParameter(z->cctx, ZSTD_c_compressionLevel, SNAPZ_LEVEL)) ||
	    zk_buf_append(out, SNAPZ_MAGIC, SNAPZ_MAGIC_LEN) != 0 ||
	    zk_buf_append_be64(out, 0) != 0) {
		store_snapz_end(z);
		return -ENOMEM;
	}
	return 0;
}

/* libzstd fails only for want of memory here: its input is any bytes. */
static int snapz_error(size_t r)
{
	if (ZSTD_getErrorCode(r) != ZSTD_error_memory_allocation)
		zk_log_error("snapshot compression: %s", ZSTD_getErrorName(r));
	return -ENOMEM;
}

int store_snapz_feed(struct store_snapz *z, const void *p, size_t len, bool last)
{
	ZSTD_inBuffer in = {p, len, 0};
	ZSTD_outBuffer o;
	ZSTD_EndDirective mode = last ? ZSTD_e_end : ZSTD_e_continue;
	size_t left;

	z->raw_len += len;
	do {
		if (zk_buf_reserve(z->out, ZSTD_CStreamOutSize()) != 0)
			return -ENOMEM;
		o = (ZSTD_outBuffer){z->out->data + z->out->len, z->out->cap - z->out->len, 0};
		left = ZSTD_compressStream2(z->cctx, &o, &in, mode);
		if (ZSTD_isError(left))
			return snapz_error(left);
		z->out->len += o.pos;
	} while (last ? left != 0 : in.pos < in.size);
	if (!last)
		return 0;
	zk_buf_put_be32(z->out, z->start + SNAPZ_MAGIC_LEN, (uint32_t)(z->raw_len >> 32));
	zk_buf_put_be32(z->out, z->start + SNAPZ_MAGIC_LEN + 4, (uint32_t)z->raw_len);
	return zk_buf_append_be32(z->out, store_crc32c(0, z->out->data + z->start,
							z->out->len - z->start));
}

void store_snapz_end(struct store_snapz *z)
{
	ZSTD_freeCCtx(z->cctx);
	z->cctx = NULL;
}

bool store_snapz_is(const void *p, size_t len)
{
	return len >= SNAPZ_MAGIC_LEN && memcmp(p, SNAPZ_MAGIC, SNAPZ_MAGIC_LEN) == 0;
}

/* The frame's length and the raw length it announces, once the CRC and the bound agree. */
static int snapz_check(const uint8_t *p, size_t len, size_t *frame_len, size_t *raw_len)
{
	unsigned long long bound;
	uint64_t raw;

	if (len < SNAPZ_HEAD_LEN + 4) {
		zk_log_error("compressed snapshot of %zu bytes: shorter than its header", len);
		return ZK_CORRUPT();
	}
	if (zk_get_be32(p + len - 4) != store_crc32c(0, p, len - 4)) {
		zk_log_error("compressed snapshot of %zu bytes: CRC32C mismatch (damaged file), "
			     "not decompressed", len);
		return ZK_CORRUPT();
	}
	*frame_len = len - SNAPZ_HEAD_LEN - 4;
	raw = zk_get_be64(p + SNAPZ_MAGIC_LEN);
	bound = ZSTD_decompressBound(p + SNAPZ_HEAD_LEN, *frame_len);
	if (bound == ZSTD_CONTENTSIZE_ERROR || raw > bound || raw > SIZE_MAX) {
		zk_log_error("compressed snapshot: raw length %llu does not fit its zstd frame of "
			     "%zu bytes", (unsigned long long)raw, *frame_len);
		return ZK_CORRUPT();
	}
	*raw_len = (size_t)raw;
	return 0;
}

int store_snapz_open(const void *p, size_t len, uint8_t **raw, size_t *raw_len)
{
	ZSTD_DCtx *d;
	size_t frame_len = 0, got;
	int rc = snapz_check(p, len, &frame_len, raw_len);

	if (rc != 0)
		return rc;
	*raw = zk_malloc(*raw_len > 0 ? *raw_len : 1);
	d = ZSTD_createDCtx_advanced(snapz_mem);
	if (*raw == NULL || d == NULL) {
		ZSTD_freeDCtx(d);
		zk_free(*raw);
		return -ENOMEM;
	}
	got = ZSTD_decompressDCtx(d, *raw, *raw_len, (const uint8_t *)p + SNAPZ_HEAD_LEN, frame_len);
	ZSTD_freeDCtx(d);
	if (!ZSTD_isError(got) && got == *raw_len)
		return 0;
	zk_free(*raw);
	if (ZSTD_isError(got) && ZSTD_getErrorCode(got) == ZSTD_error_memory_allocation)
		return -ENOMEM;
	zk_log_error("compressed snapshot: the zstd frame does not decode to %zu bytes: %s",
		     *raw_len, ZSTD_isError(got) ? ZSTD_getErrorName(got) : "wrong length");
	return ZK_CORRUPT();
}
